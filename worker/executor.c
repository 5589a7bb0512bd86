/* executor.c - executor threads: take a queued task, run its activity,
 * answer it once. The answer is handed to the poller thread, which sends it
 * and frees the slot (answer.c), so the executor is free for the next task
 * at once.
 *
 * Each executor owns an AWS connection (created on its first task, so an
 * idle pool stays small) and an activity context reused for every task.
 * Order of checks after the run: a cancelled task (heartbeat said
 * TaskTimedOut / TaskDoesNotExist) gets no answer; a task already claimed by
 * the drain deadline gets none from here; otherwise the executor claims the
 * answer and sends it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "activity_ctx.h"
#include "healer/log.h"
#include "pool_internal.h"

typedef struct executor {
	hl_pool *pool;
	hl_aws_conn *conn;
	hl_activity_ctx *ctx;
	hl_buf cause;
	hl_exec_waiter waiter;
} executor;

/* Waits for a queued task (NULL when the pool exits). While idle, the
 * executor sits on the pool's idle stack; whoever queues a task pops the
 * top of it (the executor idle for the shortest time) and wakes it. */
static hl_task *next_task(hl_pool *pool, hl_exec_waiter *w)
{
	pthread_mutex_lock(&pool->lock);
	while (pool->q_len == 0 && !pool->executors_exit) {
		w->woken = false;
		w->next = pool->idle_execs;
		pool->idle_execs = w;
		while (!w->woken)
			pthread_cond_wait(&w->cond, &pool->lock);
	}
	hl_task *t = NULL;
	if (pool->q_len) {
		t = pool->queue[pool->q_head];
		pool->q_head = (pool->q_head + 1) % pool->q_cap;
		pool->q_len--;
		t->running = true;
		pool->executors_busy++;
	}
	pthread_mutex_unlock(&pool->lock);
	return t;
}

/* Parses the task input; NULL with `why` filled when it is not JSON. */
static json_object *parse_input(const hl_task *t, char *why, size_t whysz)
{
	json_tokener *tok = json_tokener_new_ex(64);
	if (!tok)
		abort();
	json_object *in = json_tokener_parse_ex(tok, t->input, (int)t->input_len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !in) {
		snprintf(why, whysz, "task input is not valid JSON (%s at byte %zu)",
			 json_tokener_error_desc(jerr), end);
		json_object_put(in);
		return NULL;
	}
	for (size_t i = end; i < t->input_len; i++) {
		if (!isspace((unsigned char)t->input[i])) {
			snprintf(why, whysz, "task input has trailing data after the JSON value at byte %zu", i);
			json_object_put(in);
			return NULL;
		}
	}
	return in;
}

static void record_duration(act_state *a, int64_t ms)
{
	atomic_fetch_add(&a->duration_sum_ms, ms);
	atomic_fetch_add(&a->duration_count, 1);
	long prev = atomic_load(&a->duration_max_ms);
	while (ms > prev && !atomic_compare_exchange_weak(&a->duration_max_ms, &prev, ms))
		;
}

static void run_task(executor *ex, hl_task *t)
{
	hl_pool *pool = ex->pool;
	act_state *a = &pool->acts[t->act];
	const hl_activity *act = a->cfg->activity;
	json_object *input = NULL, *output = NULL;
	char why[256];
	int rc;

	if (!ex->conn) {
		ex->conn = hl_aws_conn_new(pool->aws);
		if (!ex->conn)
			abort();
		ex->ctx = hl_activity_ctx_new(act, ex->conn, pool->cfg.dry_run, pool->cfg.worker_name);
	}
	input = parse_input(t, why, sizeof(why));
	hl_activity_ctx_begin(ex->ctx, act, &t->cancelled);
	int64_t started = hl_mono_ms(pool->clock);
	if (!input)
		rc = hl_activity_fail(ex->ctx, "Healer.InvalidInput", "%s", why);
	else
		rc = act->run(ex->ctx, input, &output);
	int64_t elapsed = hl_mono_ms(pool->clock) - started;
	record_duration(a, elapsed);

	/* Done with the task as an executor; after a hand-over the poller
	 * owns it, so this bookkeeping comes first. */
	int64_t deadline = 0;
	bool handed = false;
	pthread_mutex_lock(&pool->lock);
	if (pool->draining)
		deadline = pool->deadline_ms;
	t->running = false;
	pool->executors_busy--;
	pthread_mutex_unlock(&pool->lock);

	if (atomic_load(&t->cancelled) || atomic_exchange(&t->answered, true)) {
		/* Cancelled by a heartbeat (counted there) or answered by the
		 * drain deadline: nothing to send from here. */
		HL_LOG(HL_LOG_INFO, "task result discarded: cancelled", HL_LS("activity", a->cfg->name),
		       HL_LS("token", t->token_hash), HL_LI("duration_ms", elapsed));
		goto out;
	}
	if (rc == HL_OK && output) {
		size_t len = 0;
		const char *text = json_object_to_json_string_length(
			output, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (len <= HL_TASK_OUTPUT_MAX) {
			atomic_fetch_add(&a->succeeded, 1);
			handed = hl_answer_success_async(pool, ex->conn, t, text, len, deadline);
			goto out;
		}
		atomic_fetch_add(&a->failed, 1);
		hl_buf_reset(&ex->cause);
		if (hl_buf_appendf(&ex->cause, "%s produced %zu bytes of output; Step Functions accepts at most %d",
				   act->name, len, HL_TASK_OUTPUT_MAX) < 0)
			abort();
		handed = hl_answer_failure_async(pool, ex->conn, t, "Healer.OutputTooLarge", ex->cause.data,
						 deadline);
		goto out;
	}
	atomic_fetch_add(&a->failed, 1);
	const char *error = hl_activity_ctx_error(ex->ctx);
	const char *cause = hl_activity_ctx_cause(ex->ctx);
	char internal[128];
	if (!error) {
		snprintf(internal, sizeof(internal), "%s.Internal", a->error_prefix);
		error = internal;
		if (!cause)
			cause = rc == HL_OK ? "the activity returned no output" : hl_status_name(rc);
	}
	handed = hl_answer_failure_async(pool, ex->conn, t, error, cause, deadline);
out:
	json_object_put(input);
	json_object_put(output);
	if (!handed)
		hl_pool_release_task(pool, t);
}

void *hl_executor_main(void *arg)
{
	hl_pool *pool = arg;
	executor ex = { .pool = pool };
	hl_buf_init(&ex.cause, 4096);
	pthread_cond_init(&ex.waiter.cond, NULL);

	hl_task *t;
	while ((t = next_task(pool, &ex.waiter)))
		run_task(&ex, t);
	pthread_cond_destroy(&ex.waiter.cond);   /* popped by its waker: unused */

	hl_activity_ctx_free(ex.ctx);
	hl_aws_conn_free(ex.conn);
	hl_buf_free(&ex.cause);
	hl_answer_thread_cleanup();
	return NULL;
}
