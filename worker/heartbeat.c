/* heartbeat.c - the heartbeat thread: SendTaskHeartbeat for every held task
 * (queued, running, or its answer still being sent) once per its
 * activity's interval.
 *
 * Each turn collects the due tasks under the lock (taking a reference to
 * each), then sends outside it. TaskTimedOut / TaskDoesNotExist /
 * InvalidToken mean Step Functions no longer wants the task: the thread
 * sets the task's cancelled flag (the activity sees it) and claims its
 * answer so nothing is ever sent for it. A task whose answer is claimed
 * but not settled (being sent, or waiting for a retry) is heartbeated
 * too: retries can outlast HeartbeatSeconds. If such a heartbeat is
 * refused, the answer path's own outcome (accepted, or refused as
 * settled) decides what is logged and counted; the heartbeat stops.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healer/log.h"
#include "pool_internal.h"

#define HEARTBEAT_TIMEOUT_MS 5000L
#define HEARTBEAT_TICK_MS 500

static bool gone_code(const char *code)
{
	return strcmp(code, "TaskTimedOut") == 0 || strcmp(code, "TaskDoesNotExist") == 0 ||
	       strcmp(code, "InvalidToken") == 0;
}

static size_t collect_due(hl_pool *pool, hl_task ***list, size_t *cap)
{
	size_t n = 0;
	int64_t now = hl_mono_ms(pool->clock);
	for (hl_task *t = pool->held.next; t != &pool->held; t = t->next) {
		if (t->next_heartbeat_ms > now || atomic_load(&t->settled) || atomic_load(&t->heartbeat_gone))
			continue;
		t->next_heartbeat_ms = now + (int64_t)pool->acts[t->act].cfg->heartbeat_interval_s * 1000;
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*list = hl_xrealloc(*list, *cap * sizeof(**list));
		}
		atomic_fetch_add(&t->refs, 1);
		(*list)[n++] = t;
	}
	return n;
}

static void send_heartbeat(hl_pool *pool, hl_aws_conn *conn, hl_buf *body, hl_task *t)
{
	act_state *a = &pool->acts[t->act];
	hl_err err;
	json_object *out = NULL;
	hl_aws_call_opts opts = { .timeout_ms = HEARTBEAT_TIMEOUT_MS, .max_attempts = 2 };

	hl_buf_reset(body);
	if (hl_buf_append(body, "{\"taskToken\":", 13) < 0 ||
	    hl_json_escape(body, t->token, strlen(t->token)) < 0 || hl_buf_append(body, "}", 1) < 0)
		abort();   /* tokens are at most 2048 bytes */
	hl_err_clear(&err);
	int rc = hl_aws_call_raw(conn, &hl_svc_sfn, "SendTaskHeartbeat", body->data, body->len, &out,
				 &opts, &err);
	json_object_put(out);
	if (rc == HL_OK)
		return;
	if (rc == HL_ERR_AWS && gone_code(err.aws_code)) {
		atomic_store(&t->heartbeat_gone, true);
		atomic_store(&t->cancelled, true);
		if (!atomic_exchange(&t->answered, true)) {
			atomic_store(&t->settled, true);   /* nothing will be sent */
			atomic_fetch_add(&a->cancelled, 1);
			HL_LOG(HL_LOG_WARN, "task cancelled: Step Functions no longer accepts it; no result will be sent",
			       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
			       HL_LS("error", err.aws_code));
			return;
		}
		/* Its answer is being sent: the answer path logs the outcome
		 * (an earlier attempt may have landed between two heartbeats). */
		HL_LOG(HL_LOG_DEBUG, "heartbeat refused while the answer is in flight",
		       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
		       HL_LS("error", err.aws_code));
		return;
	}
	/* A missed heartbeat is not fatal: the next turn tries again, well
	 * within HeartbeatSeconds when the interval is set as documented. */
	HL_LOG(HL_LOG_WARN, "heartbeat failed; will retry", HL_LS("activity", a->cfg->name),
	       HL_LS("token", t->token_hash),
	       HL_LS("error", err.aws_code[0] ? err.aws_code : hl_status_name(err.code)),
	       HL_LS("detail", err.message));
}

void *hl_heartbeat_main(void *arg)
{
	hl_pool *pool = arg;
	hl_aws_conn *conn = NULL;
	hl_task **list = NULL;
	size_t cap = 0;
	hl_buf body;
	hl_buf_init(&body, 8192);

	pthread_mutex_lock(&pool->lock);
	while (!pool->heartbeat_exit) {
		size_t n = collect_due(pool, &list, &cap);
		if (n) {
			pthread_mutex_unlock(&pool->lock);
			if (!conn && !(conn = hl_aws_conn_new(pool->aws)))
				abort();
			for (size_t i = 0; i < n; i++) {
				if (!atomic_load(&list[i]->settled) && !atomic_load(&list[i]->heartbeat_gone))
					send_heartbeat(pool, conn, &body, list[i]);
				hl_task_unref(list[i]);
			}
			pthread_mutex_lock(&pool->lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HEARTBEAT_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&pool->heartbeat_cond, &pool->lock, &ts);
	}
	pthread_mutex_unlock(&pool->lock);
	free(list);
	hl_buf_free(&body);
	hl_aws_conn_free(conn);
	return NULL;
}
