/* poller.c - the I/O thread: every open GetActivityTask long poll, driven
 * by one curl multi handle.
 *
 * Each turn: open a poll for every free slot of every activity not in
 * backoff (a slot is free when it is neither polling nor holding a task),
 * let curl move bytes, and handle finished polls. A poll that returns a
 * task turns its slot into a held task and queues it for an executor; an
 * empty poll frees the slot so the next turn re-polls; an error puts the
 * slot, or for some errors the whole activity, in jittered backoff
 * (backoff_for). Executors wake the loop (an eventfd, pool->wake_fd) when
 * they release a slot or hand over an answer.
 *
 * Answers (SendTaskSuccess / SendTaskFailure) go out here too: an executor
 * formats one and hands it over (answer.c); the poller sends it on the same
 * multi handle, retries it after a backoff when answer.c says so, and
 * releases the slot when it is settled. At the drain it stops taking
 * answers (pool->answers_closed) only when none is queued or in flight;
 * later ones are sent by their executors.
 *
 * curl is driven through its socket interface (curl_multi_socket_action)
 * with an epoll set of our own: curl tells on_socket which sockets to
 * watch, and a turn costs work for the sockets that are ready only.
 * curl_multi_perform + curl_multi_poll would walk every open poll on every
 * wakeup, so each task would cost CPU in proportion to the idle polls
 * beside it (measured: 0.24 ms of CPU per task at 4 open polls, 0.8 ms at
 * 256; see docs/SCALING.md).
 *
 * Polls are never aborted on purpose: a task handed to an aborted poll is
 * lost until its state times out. Only hl_pool_finish after the drain
 * deadline sets stop_polls, and then the count is logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "healer/log.h"
#include "healer/retry.h"
#include "pool_internal.h"

/* Step Functions holds a poll up to 60 s; the read timeout must exceed it. */
#define POLL_TIMEOUT_MS 70000L
#define POLL_MAX_RESPONSE (2L * 1024 * 1024)
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS 30000
/* Errors no retry will fix soon (missing activity, denied): retry slowly. */
#define BACKOFF_FATAL_MS 60000
/* A probe poll still open after this was accepted (a refusal or
 * throttling answers at once): the activity is back to normal even if no
 * task comes before the long poll ends. */
#define PROBE_ACCEPTED_MS 2000
/* At most one backoff line per activity and scope in this time. */
#define BACKOFF_LOG_EVERY_MS 10000
/* The longest sleep of a turn, so the health stamp is kept fresh; events
 * handled per epoll_wait. */
#define POLLER_TICK_MS 1000
#define POLLER_MAX_EVENTS 64

typedef struct poll_req {
	CURL *easy;
	hl_pool *pool;
	size_t act;
	hl_aws_prepared prep;
	/* The request's header list: nodes of our own pointing at prep's
	 * lines (curl only reads the list), so a request allocates no list. */
	struct curl_slist headers[HL_AWS_PREPARED_MAX_HEADERS + 2];
	hl_buf body;
	char error_type[160];
	hl_task *task;                  /* an answer being sent; NULL: a poll */
	int streak;                     /* a poll: its slot's failures in a row */
	bool probe;                     /* a poll: the one after an activity backoff */
	int64_t started_ms;
	bool configured;                /* the options every poll shares are set */
	struct poll_req *next_free;     /* free list */
	struct poll_req *prev, *next;   /* open polls */
} poll_req;

/* A slot waiting out its own backoff after its poll failed transiently. */
typedef struct slot_wait {
	int64_t until_ms;
	int streak;
} slot_wait;

/* An activity's backoff state; the poller thread's alone. */
typedef struct act_backoff {
	/* The whole activity (throttling, credentials, refusals). */
	int64_t until_ms;
	int64_t decided_ms;         /* when it was last set; -1: never */
	int streak;
	bool probing;               /* the probe poll is open (streak > 0) */
	int64_t probe_started_ms;
	/* Single slots (5xx, reset, timeout): at most `slots` of them. */
	slot_wait *waits;
	int n_waits;
	/* Log rate limits per scope (0: nothing logged yet). */
	int64_t slot_logged_ms, act_logged_ms;
	long slot_unlogged, act_unlogged;
} act_backoff;

typedef struct poller {
	hl_pool *pool;
	act_backoff backoff[HL_MAX_ACTIVITIES];
	hl_aws_conn *conn;          /* signer + credentials for polls */
	poll_req *free_list;
	poll_req open_list;         /* sentinel of the open polls */
	int open;                   /* polls in open_list (answers are not counted) */
	int answering;              /* answers in open_list */
	hl_task *retry_head;        /* answers waiting for their next attempt */
	int epfd;                   /* the sockets curl asked for, + wake_fd */
	int64_t timer_at_ms;        /* curl's timer (real monotonic ms), -1: none */
} poller;

/* curl's timers run on the real clock, whatever clock the pool injects. */
static int64_t real_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CURLMOPT_SOCKETFUNCTION: which events curl wants on socket s. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	poller *p = userp;
	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		/* ENOENT / EBADF: never added, or closed already (which drops
		 * it from the set): nothing to undo. */
		(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = { .events = 0, .data.fd = s };
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s, &ev) == 0)
		return 0;
	if (errno == EEXIST && epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
		return 0;
	return -1;   /* curl fails the transfer: a poll error, then backoff */
}

/* CURLMOPT_TIMERFUNCTION: when curl next wants CURL_SOCKET_TIMEOUT. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	poller *p = userp;
	(void)multi;
	p->timer_at_ms = timeout_ms < 0 ? -1 : real_mono_ms() + timeout_ms;
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	poll_req *r = userdata;
	size_t n = size * nmemb;
	return hl_buf_append(&r->body, ptr, n) < 0 ? 0 : n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	poll_req *r = userdata;
	size_t n = size * nmemb;
	if (n > 17 && strncasecmp(ptr, "x-amzn-ErrorType:", 17) == 0) {
		size_t vlen = n - 17;
		const char *v = ptr + 17;
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof(r->error_type))
			vlen = sizeof(r->error_type) - 1;
		memcpy(r->error_type, v, vlen);
		r->error_type[vlen] = '\0';
	}
	return n;
}

static poll_req *get_req(poller *p)
{
	poll_req *r = p->free_list;
	if (r) {
		/* No curl_easy_reset: the handle keeps the options every poll
		 * shares (open_poll sets the rest), which saves rebuilding them
		 * and re-parsing the URL on every poll. */
		p->free_list = r->next_free;
	} else {
		r = hl_xcalloc(1, sizeof(*r));
		r->easy = curl_easy_init();
		if (!r->easy)
			abort();
		hl_buf_init(&r->body, POLL_MAX_RESPONSE);
	}
	r->pool = p->pool;
	r->task = NULL;
	r->streak = 0;
	r->probe = false;
	r->error_type[0] = '\0';
	hl_buf_reset(&r->body);
	return r;
}

static void put_req(poller *p, poll_req *r)
{
	hl_aws_prepared_free(&r->prep);   /* wipes the lines: the security token */
	/* Keep small buffers for reuse; give back a large task input. */
	if (r->body.cap > 64 * 1024)
		hl_buf_free(&r->body);
	r->next_free = p->free_list;
	p->free_list = r;
}

static void unlink_open(poller *p, poll_req *r)
{
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->prev = r->next = NULL;
	if (r->task)
		p->answering--;
	else
		p->open--;
}

typedef enum { SCOPE_SLOT, SCOPE_ACTIVITY, SCOPE_REFUSED } backoff_scope;

/* What a failed poll holds back. The AWS SDKs retry per request: a 5xx, a
 * reset or a timeout says nothing about the next request, so only the slot
 * whose poll failed waits and the other slots keep polling (at an 18 %
 * error rate a whole-activity pause cost 4x the throughput). Throttling is
 * about the account's request rate, and credentials, permissions or a
 * missing activity fail every poll alike: they hold back the activity, as
 * does anything not known to be transient. Refusals no retry will fix soon
 * (missing activity, denied) wait BACKOFF_FATAL_MS. */
static backoff_scope classify(const hl_err *err)
{
	static const char *const refused[] = {
		"ActivityDoesNotExist", "InvalidArn", "AccessDeniedException",
		"UnrecognizedClientException", "InvalidSignatureException",
		"KmsAccessDeniedException", "KmsInvalidStateException",
	};
	if (err->code == HL_ERR_AWS)
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strcmp(err->aws_code, refused[i]) == 0)
				return SCOPE_REFUSED;
	hl_retry_kind kind = hl_retry_classify(err);
	return kind == HL_RETRY_TRANSIENT || kind == HL_RETRY_TIMEOUT ? SCOPE_SLOT : SCOPE_ACTIVITY;
}

/* 1-2 s after the first failure, doubling, at most BACKOFF_MAX_MS. */
static int64_t jittered_ms(hl_pool *pool, int streak)
{
	int64_t ceiling = (int64_t)BACKOFF_BASE_MS << (streak < 6 ? streak : 5);
	if (ceiling > BACKOFF_MAX_MS)
		ceiling = BACKOFF_MAX_MS;
	return ceiling / 2 + (int64_t)hl_random_below(pool->clock, (uint64_t)ceiling / 2);
}

/* One line per backoff decision would still flood the log when every poll
 * fails: at most one per activity and scope every BACKOFF_LOG_EVERY_MS,
 * counting the failures it stands for. Refusals always log (they wait
 * 60 s each). */
static void log_backoff(hl_pool *pool, act_state *a, const hl_err *err, backoff_scope scope, int streak,
			int64_t delay, int64_t *logged_ms, long *unlogged, int slots_waiting)
{
	int64_t now = hl_mono_ms(pool->clock);
	++*unlogged;
	if (scope != SCOPE_REFUSED && *logged_ms && now - *logged_ms < BACKOFF_LOG_EVERY_MS)
		return;
	long failed = *unlogged;
	*logged_ms = now ? now : 1;
	*unlogged = 0;
	HL_LOG(scope == SCOPE_REFUSED ? HL_LOG_ERROR : HL_LOG_WARN,
	       scope == SCOPE_REFUSED ? "GetActivityTask refused; check the activity ARN and the task role"
				      : "GetActivityTask failed; backing off",
	       HL_LS("activity", a->cfg->name), HL_LS("activityArn", a->cfg->arn),
	       HL_LS("error", err->aws_code[0] ? err->aws_code : hl_status_name(err->code)),
	       HL_LS("detail", err->message), HL_LS("scope", scope == SCOPE_SLOT ? "poll" : "activity"),
	       HL_LI("streak", streak), HL_LI("backoff_ms", delay), HL_LI("failed_polls", failed),
	       HL_LI("slots_backing_off", slots_waiting));
}

/* After a failed poll of activity `act` (started at started_ms; its slot
 * had failed `streak` times before), or a poll that could not be started
 * (sent false: signing or credentials, which concern every poll), or one
 * that never reached Step Functions (never_reached). The
 * poll's slot is free again. */
static void backoff_for(poller *p, size_t act, const hl_err *err, bool sent, int64_t started_ms, int streak)
{
	hl_pool *pool = p->pool;
	act_state *a = &pool->acts[act];
	act_backoff *b = &p->backoff[act];
	backoff_scope scope = classify(err);
	if (!sent && scope == SCOPE_SLOT)
		scope = SCOPE_ACTIVITY;
	int64_t now = hl_mono_ms(pool->clock);

	atomic_fetch_add(&a->poll_errors, 1);
	if (scope == SCOPE_SLOT && b->n_waits < a->cfg->slots) {
		int64_t delay = jittered_ms(pool, streak + 1);
		b->waits[b->n_waits++] = (slot_wait){ .until_ms = now + delay, .streak = streak + 1 };
		log_backoff(pool, a, err, scope, streak + 1, delay, &b->slot_logged_ms, &b->slot_unlogged,
			    b->n_waits);
		return;
	}
	if (scope == SCOPE_SLOT)   /* cannot happen: a wait is a free slot */
		scope = SCOPE_ACTIVITY;
	/* Polls opened before the last decision fail together (a burst of
	 * throttling answers every open poll alike): one decision, one
	 * step of the streak, for the lot. */
	if (b->decided_ms >= 0 && started_ms <= b->decided_ms && now < b->until_ms) {
		b->act_unlogged++;
		return;
	}
	b->streak++;
	int64_t delay = scope == SCOPE_REFUSED ? BACKOFF_FATAL_MS + (int64_t)hl_random_below(pool->clock, 5000)
					       : jittered_ms(pool, b->streak);
	if (now + delay > b->until_ms)
		b->until_ms = now + delay;
	b->decided_ms = now;
	log_backoff(pool, a, err, scope, b->streak, delay, &b->act_logged_ms, &b->act_unlogged, b->n_waits);
}

/* The options every poll shares, set once per easy handle. The URL is
 * one of them: endpoints are read once at start (hl_aws_new), so every
 * GetActivityTask goes to the same URL for the life of the process. */
static void configure_easy(poll_req *r)
{
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, r->prep.url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 50L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	const char *ca = getenv("AWS_CA_BUNDLE");
	if (ca && *ca) {   /* the file replaces the store, as in http.c */
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	/* Small receive buffer: hundreds of idle polls should cost little. */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 8192L);
	r->configured = true;
}

/* Signs and starts one request on the multi handle: a poll (r->task NULL)
 * or an answer. On failure r is back on the free list. body must live
 * until the request is done. */
static int start_req(poller *p, poll_req *r, const char *op, const char *body, size_t body_len,
		     long timeout_ms, hl_err *err)
{
	hl_pool *pool = p->pool;
	int rc = hl_aws_prepare(p->conn, &hl_svc_sfn, op, body, body_len, &r->prep, err);
	if (rc < 0) {
		put_req(p, r);
		return rc;
	}
	/* curl adds these unless told not to: no 100-continue round trip. */
	static char no_expect[] = "Expect:", no_accept[] = "Accept:";
	size_t n = 0;
	for (size_t i = 0; i < r->prep.n_headers; i++)
		r->headers[n++].data = r->prep.headers[i];
	r->headers[n++].data = no_expect;
	r->headers[n++].data = no_accept;
	for (size_t i = 0; i < n; i++)
		r->headers[i].next = i + 1 < n ? &r->headers[i + 1] : NULL;
	CURL *e = r->easy;
	if (!r->configured)
		configure_easy(r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	r->started_ms = hl_mono_ms(pool->clock);
	if (curl_multi_add_handle(pool->multi, e) != CURLM_OK) {
		put_req(p, r);
		return hl_err_set(err, HL_ERR_INTERNAL, "curl_multi_add_handle failed");
	}
	r->next = &p->open_list;
	r->prev = p->open_list.prev;
	p->open_list.prev->next = r;
	p->open_list.prev = r;
	if (r->task)
		p->answering++;
	else
		p->open++;
	return HL_OK;
}

static int open_poll(poller *p, size_t act_index, int streak, hl_err *err)
{
	act_state *a = &p->pool->acts[act_index];
	act_backoff *b = &p->backoff[act_index];
	poll_req *r = get_req(p);
	r->act = act_index;
	r->streak = streak;
	r->probe = b->streak > 0;
	bool probe = r->probe;   /* r is back on the free list after a failure */
	int rc = start_req(p, r, "GetActivityTask", a->poll_body, a->poll_body_len, POLL_TIMEOUT_MS, err);
	if (rc == HL_OK && probe) {
		b->probing = true;
		b->probe_started_ms = r->started_ms;
	}
	return rc;
}

/* Index of a slot wait of b due at `now`, or -1. */
static int due_wait(const act_backoff *b, int64_t now)
{
	for (int i = 0; i < b->n_waits; i++)
		if (b->waits[i].until_ms <= now)
			return i;
	return -1;
}

/* Opens polls for free slots and for slots whose backoff is over. Slots
 * are reserved under the lock; the signing and curl setup happen outside
 * it. Returns the ms until the next backoff ends (-1: none waits). */
static int64_t open_polls(poller *p)
{
	hl_pool *pool = p->pool;
	int64_t next = -1;
	for (size_t i = 0; i < pool->n_acts; i++) {
		act_state *a = &pool->acts[i];
		act_backoff *b = &p->backoff[i];
		int64_t now = hl_mono_ms(pool->clock);
		if (b->probing && now - b->probe_started_ms >= PROBE_ACCEPTED_MS) {
			b->probing = false;
			b->streak = 0;
		}
		int due = 0;
		for (int k = 0; k < b->n_waits; k++)
			if (b->waits[k].until_ms <= now)
				due++;
		bool held_back = now < b->until_ms;
		int want;
		pthread_mutex_lock(&pool->lock);
		if (pool->draining || held_back)
			want = 0;
		else
			want = a->cfg->slots - a->open_polls - a->held - b->n_waits + due;
		/* After an activity-wide backoff, one probe poll at a time
		 * until a poll succeeds, before opening them all. */
		if (want > 0 && b->streak > 0)
			want = b->probing ? 0 : 1;
		if (want > 0)
			a->open_polls += want;
		bool draining = pool->draining;
		pthread_mutex_unlock(&pool->lock);

		for (int k = 0; k < want; k++) {
			hl_err err;
			hl_err_clear(&err);
			int w = due_wait(b, now);
			if (open_poll(p, i, w >= 0 ? b->waits[w].streak : 0, &err) < 0) {
				pthread_mutex_lock(&pool->lock);
				a->open_polls -= want - k;
				pthread_mutex_unlock(&pool->lock);
				backoff_for(p, i, &err, false, now, 0);
				break;
			}
			if (w >= 0)
				b->waits[w] = b->waits[--b->n_waits];
		}
		if (draining)
			continue;
		/* When to look again: the activity's backoff, else its slots'. */
		int64_t at = -1;
		if (now < b->until_ms) {
			at = b->until_ms;
		} else if (b->probing) {
			at = b->probe_started_ms + PROBE_ACCEPTED_MS;
		} else {
			for (int k = 0; k < b->n_waits; k++)
				if (at < 0 || b->waits[k].until_ms < at)
					at = b->waits[k].until_ms;
		}
		if (at >= 0) {
			int64_t left = at > now ? at - now : 0;
			if (next < 0 || left < next)
				next = left;
		}
	}
	return next;
}

static hl_task *make_task(hl_pool *pool, size_t act, const char *token, const char *input)
{
	hl_task *t = hl_xcalloc(1, sizeof(*t));
	atomic_init(&t->refs, 1);
	t->act = act;
	t->token = hl_xstrdup(token);
	t->input = hl_xstrdup(input ? input : "{}");
	t->input_len = strlen(t->input);
	hl_token_hash(token, t->token_hash);
	t->received_mono_ms = hl_mono_ms(pool->clock);
	t->next_heartbeat_ms = t->received_mono_ms +
			       (int64_t)pool->acts[act].cfg->heartbeat_interval_s * 1000;
	return t;
}

static void enqueue_task(hl_pool *pool, hl_task *t)
{
	pthread_mutex_lock(&pool->lock);
	act_state *a = &pool->acts[t->act];
	a->open_polls--;
	a->held++;
	t->next = &pool->held;
	t->prev = pool->held.prev;
	pool->held.prev->next = t;
	pool->held.prev = t;
	/* Capacity holds: every queued task had a reserved slot. */
	pool->queue[(pool->q_head + pool->q_len) % pool->q_cap] = t;
	pool->q_len++;
	hl_exec_waiter *w = hl_pool_take_idle_executor_locked(pool);
	pthread_mutex_unlock(&pool->lock);
	hl_pool_signal_executor(w);   /* after the unlock: see pool_internal.h */
}

/* Whether a failed transfer never reached Step Functions: name resolution,
 * connection, proxy or TLS failures. Every poll fails alike then (a wrong
 * endpoint or CA bundle, a network down), so they hold back the activity
 * rather than one slot. A connect timeout is not told apart from a read
 * timeout (both CURLE_OPERATION_TIMEDOUT) and stays per slot. */
static bool never_reached(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return true;
	default:
		return false;
	}
}

/* The result of a finished transfer: the parsed response or a typed error. */
static int transfer_result(poll_req *r, CURLcode cc, const char *op, json_object **out, hl_err *err)
{
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	/* on_body refuses data only when it would pass the bound (an append
	 * that does not fit leaves len below max, so len is no test). */
	if (cc == CURLE_WRITE_ERROR)
		return hl_err_set(err, HL_ERR_TOO_LARGE, "%s response exceeds %zu bytes", op, r->body.max);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return hl_err_set(err, HL_ERR_TIMEOUT, "%s: %s", op, curl_easy_strerror(cc));
	if (cc != CURLE_OK)
		return hl_err_set(err, HL_ERR_IO, "%s: %s", op, curl_easy_strerror(cc));
	return hl_aws_parse_response(status, r->error_type, r->body.data, r->body.len, out, err);
}

static void finish_poll(poller *p, poll_req *r, CURLcode cc)
{
	hl_pool *pool = p->pool;
	act_state *a = &pool->acts[r->act];
	hl_err err;
	json_object *out = NULL;
	int rc;

	hl_err_clear(&err);
	atomic_fetch_add(&a->poll_wait_sum_ms, hl_mono_ms(pool->clock) - r->started_ms);
	atomic_fetch_add(&a->polls_done, 1);
	rc = transfer_result(r, cc, "GetActivityTask", &out, &err);

	const char *token = NULL, *input = NULL;
	if (rc == HL_OK) {
		json_object *v = NULL;
		if (json_object_object_get_ex(out, "taskToken", &v) && json_object_is_type(v, json_type_string))
			token = json_object_get_string(v);
		if (json_object_object_get_ex(out, "input", &v) && json_object_is_type(v, json_type_string))
			input = json_object_get_string(v);
	}
	if (r->probe && r->started_ms == p->backoff[r->act].probe_started_ms)
		p->backoff[r->act].probing = false;
	/* Only a poll opened after the last backoff decision says the cause
	 * has passed; a long poll from before it may answer much later. */
	if (rc == HL_OK && r->started_ms > p->backoff[r->act].decided_ms)
		p->backoff[r->act].streak = 0;
	if (token && *token) {
		hl_task *t = make_task(pool, r->act, token, input);
		atomic_fetch_add(&pool->tasks_received, 1);
		atomic_fetch_add(&a->started, 1);
		HL_LOG(HL_LOG_INFO, "task received", HL_LS("activity", a->cfg->name),
		       HL_LS("token", t->token_hash), HL_LI("input_bytes", t->input_len));
		enqueue_task(pool, t);
	} else {
		pthread_mutex_lock(&pool->lock);
		a->open_polls--;
		pthread_cond_broadcast(&pool->idle_cond);
		pthread_mutex_unlock(&pool->lock);
		if (rc < 0)
			backoff_for(p, r->act, &err, !never_reached(cc), r->started_ms, r->streak);
	}
	json_object_put(out);
	curl_multi_remove_handle(pool->multi, r->easy);
	unlink_open(p, r);
	put_req(p, r);
}

/* After one attempt at t's answer: settled (release the slot) or due again. */
static void answer_attempted(poller *p, hl_task *t, int rc, const hl_err *err)
{
	if (hl_answer_after_attempt(p->pool, t, rc, err) == HL_ANSWER_RETRY) {
		t->answer_next = p->retry_head;
		p->retry_head = t;
		return;
	}
	hl_pool_release_task_nowake(p->pool, t);
}

static void send_answer(poller *p, hl_task *t)
{
	hl_err err;
	hl_err_clear(&err);
	poll_req *r = get_req(p);
	r->task = t;
	r->act = t->act;
	int rc = start_req(p, r, t->answer_success ? "SendTaskSuccess" : "SendTaskFailure", t->answer_body,
			   t->answer_len, HL_ANSWER_TIMEOUT_MS, &err);
	if (rc < 0)
		answer_attempted(p, t, rc, &err);
}

static void finish_answer(poller *p, poll_req *r, CURLcode cc)
{
	hl_task *t = r->task;
	hl_err err;
	json_object *out = NULL;
	hl_err_clear(&err);
	int rc = transfer_result(r, cc, t->answer_success ? "SendTaskSuccess" : "SendTaskFailure", &out, &err);
	json_object_put(out);
	curl_multi_remove_handle(p->pool->multi, r->easy);
	unlink_open(p, r);
	put_req(p, r);
	answer_attempted(p, t, rc, &err);
}

/* Starts the answers handed over since the last turn and the retries now
 * due; returns the ms until the next retry is due (-1: none waits). */
static int64_t send_answers(poller *p)
{
	hl_pool *pool = p->pool;
	pthread_mutex_lock(&pool->lock);
	hl_task *fresh = pool->answers_head;
	pool->answers_head = pool->answers_tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	while (fresh) {
		hl_task *t = fresh;
		fresh = t->answer_next;
		send_answer(p, t);
	}
	int64_t now = hl_mono_ms(pool->clock), next = -1;
	hl_task *due = p->retry_head;
	p->retry_head = NULL;
	while (due) {
		hl_task *t = due;
		due = t->answer_next;
		if (t->answer_due_ms <= now) {
			send_answer(p, t);   /* may put it back on retry_head */
			continue;
		}
		t->answer_next = p->retry_head;
		p->retry_head = t;
		if (next < 0 || t->answer_due_ms - now < next)
			next = t->answer_due_ms - now;
	}
	return next;
}

/* At the drain deadline: answers still waiting for a retry are given up. */
static void give_up_retries(poller *p)
{
	while (p->retry_head) {
		hl_task *t = p->retry_head;
		p->retry_head = t->answer_next;
		hl_err err;
		hl_err_clear(&err);
		hl_err_set(&err, HL_ERR_TIMEOUT, "the drain deadline passed before a retry");
		hl_answer_give_up(p->pool, t, &err);
		hl_pool_release_task_nowake(p->pool, t);
	}
}

/* Polls only: answers in flight are let finish (bounded by their timeout). */
static void abort_all(poller *p)
{
	for (poll_req *r = p->open_list.next, *next; r != &p->open_list; r = next) {
		next = r->next;
		if (r->task)
			continue;
		curl_multi_remove_handle(p->pool->multi, r->easy);
		pthread_mutex_lock(&p->pool->lock);
		p->pool->acts[r->act].open_polls--;
		pthread_mutex_unlock(&p->pool->lock);
		atomic_fetch_add(&p->pool->aborted_polls, 1);
		unlink_open(p, r);
		put_req(p, r);
	}
}

void *hl_poller_main(void *arg)
{
	hl_pool *pool = arg;
	poller p = { .pool = pool, .conn = hl_aws_conn_new(pool->aws), .timer_at_ms = -1 };
	p.open_list.next = p.open_list.prev = &p.open_list;

	if (!p.conn)
		abort();
	p.epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event wake = { .events = EPOLLIN, .data.fd = pool->wake_fd };
	if (p.epfd < 0 || epoll_ctl(p.epfd, EPOLL_CTL_ADD, pool->wake_fd, &wake) < 0)
		abort();   /* only at start, for want of memory or descriptors */
	for (size_t i = 0; i < pool->n_acts; i++) {
		p.backoff[i].decided_ms = -1;
		p.backoff[i].waits = hl_xcalloc((size_t)pool->acts[i].cfg->slots, sizeof(slot_wait));
	}
	curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, (long)hl_config_total_slots(&pool->cfg) + 8);
	curl_multi_setopt(pool->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(pool->multi, CURLMOPT_SOCKETDATA, &p);
	curl_multi_setopt(pool->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(pool->multi, CURLMOPT_TIMERDATA, &p);
	for (;;) {
		/* Before reading what wakers publish (hl_pool_wake_poller). */
		atomic_store(&pool->wake_pending, false);
		pthread_mutex_lock(&pool->lock);
		bool stop = pool->stop_polls;
		bool draining = pool->draining;
		/* Leave only with no answer queued or in flight, and close the
		 * queue in the same breath: later answers are sent by their
		 * executors (hl_answer_*_async returns false). */
		bool leave = (stop || (draining && p.open == 0)) && !pool->answers_head &&
			     p.answering == 0 && (stop || !p.retry_head);
		if (leave)
			pool->answers_closed = true;
		pthread_mutex_unlock(&pool->lock);
		if (stop) {
			abort_all(&p);
			give_up_retries(&p);
		}
		if (leave)
			break;
		int64_t backoff_ms = open_polls(&p);
		int64_t retry_ms = send_answers(&p);

		/* Sleep until I/O, a wakeup (slot freed, drain), curl's timer
		 * (a poll just added is due at once) or the tick. */
		int running = 0;
		int64_t wait_ms = POLLER_TICK_MS;
		if (retry_ms >= 0 && retry_ms < wait_ms)
			wait_ms = retry_ms;
		if (backoff_ms >= 0 && backoff_ms < wait_ms)
			wait_ms = backoff_ms;
		if (p.timer_at_ms >= 0) {
			int64_t left = p.timer_at_ms - real_mono_ms();
			if (left < wait_ms)
				wait_ms = left < 0 ? 0 : left;
		}
		struct epoll_event evs[POLLER_MAX_EVENTS];
		int n = epoll_wait(p.epfd, evs, POLLER_MAX_EVENTS, (int)wait_ms);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == pool->wake_fd) {
				eventfd_t v;
				(void)eventfd_read(fd, &v);   /* EAGAIN: read already */
				continue;
			}
			int mask = 0;
			if (evs[i].events & (EPOLLIN | EPOLLHUP))
				mask |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (evs[i].events & EPOLLERR)
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(pool->multi, fd, mask, &running);
		}
		if (p.timer_at_ms >= 0 && p.timer_at_ms <= real_mono_ms()) {
			p.timer_at_ms = -1;   /* curl may set the next one now */
			curl_multi_socket_action(pool->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(pool->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			poll_req *r = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			if (r->task)
				finish_answer(&p, r, msg->data.result);
			else
				finish_poll(&p, r, msg->data.result);
		}
		atomic_store(&pool->last_progress_ms, hl_mono_ms(pool->clock));
	}
	atomic_store(&pool->poller_done, true);
	/* p is going away: curl must not call back into it (curl_multi_cleanup
	 * closes cached connections later). */
	curl_multi_setopt(pool->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(pool->multi, CURLMOPT_TIMERFUNCTION, NULL);
	close(p.epfd);
	while (p.free_list) {
		poll_req *r = p.free_list;
		p.free_list = r->next_free;
		curl_easy_cleanup(r->easy);
		hl_buf_free(&r->body);
		free(r);
	}
	hl_aws_conn_free(p.conn);
	for (size_t i = 0; i < pool->n_acts; i++)
		free(p.backoff[i].waits);
	pthread_mutex_lock(&pool->lock);
	pthread_cond_broadcast(&pool->idle_cond);
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}
