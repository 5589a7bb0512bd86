/* poller.c - the I/O thread: every open GetActivityTask long poll, driven
 * by one curl multi handle.
 *
 * Each turn: open a poll for every free slot of every activity not in
 * backoff (a slot is free when it is neither polling nor holding a task),
 * let curl move bytes, and handle finished polls. A poll that returns a
 * task turns its slot into a held task and queues it for an executor; an
 * empty poll frees the slot so the next turn re-polls; an error frees the
 * slot and puts the activity in jittered backoff. Executors wake the loop
 * (curl_multi_wakeup) when they release a slot.
 *
 * Polls are never aborted on purpose: a task handed to an aborted poll is
 * lost until its state times out. Only hl_pool_finish after the drain
 * deadline sets stop_polls, and then the count is logged.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

typedef struct poll_req {
	CURL *easy;
	hl_pool *pool;
	size_t act;
	hl_aws_prepared prep;
	struct curl_slist *headers;
	hl_buf body;
	char error_type[160];
	int64_t started_ms;
	struct poll_req *next_free;     /* free list */
	struct poll_req *prev, *next;   /* open polls */
} poll_req;

typedef struct poller {
	hl_pool *pool;
	hl_aws_conn *conn;          /* signer + credentials for polls */
	poll_req *free_list;
	poll_req open_list;         /* sentinel of the open polls */
	int open;
} poller;

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
		p->free_list = r->next_free;
		curl_easy_reset(r->easy);
	} else {
		r = hl_xcalloc(1, sizeof(*r));
		r->easy = curl_easy_init();
		if (!r->easy)
			abort();
		hl_buf_init(&r->body, POLL_MAX_RESPONSE);
	}
	r->pool = p->pool;
	r->error_type[0] = '\0';
	hl_buf_reset(&r->body);
	return r;
}

static void put_req(poller *p, poll_req *r)
{
	for (struct curl_slist *l = r->headers; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));   /* the security token */
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	hl_aws_prepared_free(&r->prep);
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
	p->open--;
}

static void set_backoff(hl_pool *pool, act_state *a, const hl_err *err)
{
	bool fatal = err->code == HL_ERR_AWS &&
		     (strcmp(err->aws_code, "ActivityDoesNotExist") == 0 ||
		      strcmp(err->aws_code, "AccessDeniedException") == 0 ||
		      strcmp(err->aws_code, "UnrecognizedClientException") == 0 ||
		      strcmp(err->aws_code, "InvalidArn") == 0 ||
		      strcmp(err->aws_code, "InvalidSignatureException") == 0);
	pthread_mutex_lock(&pool->lock);
	a->error_streak++;
	int64_t ceiling = BACKOFF_BASE_MS << (a->error_streak < 6 ? a->error_streak : 5);
	if (ceiling > BACKOFF_MAX_MS)
		ceiling = BACKOFF_MAX_MS;
	int64_t delay = fatal ? BACKOFF_FATAL_MS + (int64_t)hl_random_below(pool->clock, 5000)
			      : ceiling / 2 + (int64_t)hl_random_below(pool->clock, (uint64_t)ceiling / 2);
	int64_t until = hl_mono_ms(pool->clock) + delay;
	if (until > a->backoff_until_ms)
		a->backoff_until_ms = until;
	int streak = a->error_streak;
	pthread_mutex_unlock(&pool->lock);
	atomic_fetch_add(&a->poll_errors, 1);
	/* One line per failed poll would flood the log when every slot fails
	 * at once: log the first of a streak and then every 10th. */
	if (streak == 1 || streak % 10 == 0 || fatal)
		HL_LOG(fatal ? HL_LOG_ERROR : HL_LOG_WARN,
		       fatal ? "GetActivityTask refused; check the activity ARN and the task role"
			     : "GetActivityTask failed; backing off",
		       HL_LS("activity", a->cfg->name), HL_LS("activityArn", a->cfg->arn),
		       HL_LS("error", err->aws_code[0] ? err->aws_code : hl_status_name(err->code)),
		       HL_LS("detail", err->message), HL_LI("streak", streak), HL_LI("backoff_ms", delay));
}

static int open_poll(poller *p, size_t act_index, hl_err *err)
{
	hl_pool *pool = p->pool;
	act_state *a = &pool->acts[act_index];
	poll_req *r = get_req(p);
	r->act = act_index;

	int rc = hl_aws_prepare(p->conn, &hl_svc_sfn, "GetActivityTask", a->poll_body, a->poll_body_len,
				&r->prep, err);
	if (rc < 0) {
		put_req(p, r);
		return rc;
	}
	for (size_t i = 0; i < r->prep.n_headers; i++)
		r->headers = curl_slist_append(r->headers, r->prep.headers[i]);
	r->headers = curl_slist_append(r->headers, "Expect:");
	r->headers = curl_slist_append(r->headers, "Accept:");
	if (!r->headers)
		abort();
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
	if (ca && *ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, POLL_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, a->poll_body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)a->poll_body_len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	/* Small receive buffer: hundreds of idle polls should cost little. */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 8192L);
	r->started_ms = hl_mono_ms(pool->clock);
	if (curl_multi_add_handle(pool->multi, e) != CURLM_OK) {
		put_req(p, r);
		return hl_err_set(err, HL_ERR_INTERNAL, "curl_multi_add_handle failed");
	}
	r->next = &p->open_list;
	r->prev = p->open_list.prev;
	p->open_list.prev->next = r;
	p->open_list.prev = r;
	p->open++;
	return HL_OK;
}

/* Opens polls for free slots. Slots are reserved under the lock; the
 * signing and curl setup happen outside it. */
static void open_polls(poller *p)
{
	hl_pool *pool = p->pool;
	for (size_t i = 0; i < pool->n_acts; i++) {
		act_state *a = &pool->acts[i];
		int want;
		pthread_mutex_lock(&pool->lock);
		int64_t now = hl_mono_ms(pool->clock);
		if (pool->draining || now < a->backoff_until_ms)
			want = 0;
		else
			want = a->cfg->slots - a->open_polls - a->held;
		/* After errors, probe with one poll before opening them all. */
		if (want > 1 && a->error_streak > 0)
			want = 1;
		if (want > 0)
			a->open_polls += want;
		pthread_mutex_unlock(&pool->lock);

		for (int k = 0; k < want; k++) {
			hl_err err;
			hl_err_clear(&err);
			if (open_poll(p, i, &err) < 0) {
				pthread_mutex_lock(&pool->lock);
				a->open_polls -= want - k;
				pthread_mutex_unlock(&pool->lock);
				set_backoff(pool, a, &err);
				break;
			}
		}
	}
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
	a->error_streak = 0;
	t->next = &pool->held;
	t->prev = pool->held.prev;
	pool->held.prev->next = t;
	pool->held.prev = t;
	/* Capacity holds: every queued task had a reserved slot. */
	pool->queue[(pool->q_head + pool->q_len) % pool->q_cap] = t;
	pool->q_len++;
	pthread_cond_signal(&pool->work_cond);
	pthread_mutex_unlock(&pool->lock);
}

static void finish_poll(poller *p, poll_req *r, CURLcode cc)
{
	hl_pool *pool = p->pool;
	act_state *a = &pool->acts[r->act];
	hl_err err;
	json_object *out = NULL;
	long status = 0;
	int rc;

	hl_err_clear(&err);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	atomic_fetch_add(&a->poll_wait_sum_ms, hl_mono_ms(pool->clock) - r->started_ms);
	atomic_fetch_add(&a->polls_done, 1);
	if (cc == CURLE_WRITE_ERROR && r->body.len + 1 >= r->body.max)
		rc = hl_err_set(&err, HL_ERR_TOO_LARGE, "GetActivityTask response exceeds %zu bytes",
				r->body.max);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = hl_err_set(&err, HL_ERR_TIMEOUT, "GetActivityTask: %s", curl_easy_strerror(cc));
	else if (cc != CURLE_OK)
		rc = hl_err_set(&err, HL_ERR_IO, "GetActivityTask: %s", curl_easy_strerror(cc));
	else
		rc = hl_aws_parse_response(status, r->error_type, r->body.data, r->body.len, &out, &err);

	const char *token = NULL, *input = NULL;
	if (rc == HL_OK) {
		json_object *v = NULL;
		if (json_object_object_get_ex(out, "taskToken", &v) && json_object_is_type(v, json_type_string))
			token = json_object_get_string(v);
		if (json_object_object_get_ex(out, "input", &v) && json_object_is_type(v, json_type_string))
			input = json_object_get_string(v);
	}
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
		if (rc == HL_OK)
			a->error_streak = 0;
		pthread_cond_broadcast(&pool->idle_cond);
		pthread_mutex_unlock(&pool->lock);
		if (rc < 0)
			set_backoff(pool, a, &err);
	}
	json_object_put(out);
	curl_multi_remove_handle(pool->multi, r->easy);
	unlink_open(p, r);
	put_req(p, r);
}

static void abort_all(poller *p)
{
	while (p->open_list.next != &p->open_list) {
		poll_req *r = p->open_list.next;
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
	poller p = { .pool = pool, .conn = hl_aws_conn_new(pool->aws) };
	p.open_list.next = p.open_list.prev = &p.open_list;

	if (!p.conn)
		abort();
	curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, (long)hl_config_total_slots(&pool->cfg) + 8);
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		bool stop = pool->stop_polls;
		bool draining = pool->draining;
		pthread_mutex_unlock(&pool->lock);
		if (stop) {
			abort_all(&p);
			break;
		}
		if (draining && p.open == 0)
			break;
		open_polls(&p);

		int running = 0;
		curl_multi_perform(pool->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(pool->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			poll_req *r = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			finish_poll(&p, r, msg->data.result);
		}
		atomic_store(&pool->last_progress_ms, hl_mono_ms(pool->clock));
		/* Sleep until I/O, a wakeup (slot freed, drain) or 1 s, so backoff
		 * expiry and the health stamp are noticed. */
		curl_multi_poll(pool->multi, NULL, 0, 1000, NULL);
	}
	atomic_store(&pool->poller_done, true);
	while (p.free_list) {
		poll_req *r = p.free_list;
		p.free_list = r->next_free;
		curl_easy_cleanup(r->easy);
		hl_buf_free(&r->body);
		free(r);
	}
	hl_aws_conn_free(p.conn);
	pthread_mutex_lock(&pool->lock);
	pthread_cond_broadcast(&pool->idle_cond);
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}
