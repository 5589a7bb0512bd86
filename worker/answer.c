/* answer.c - sending a task's one answer: SendTaskSuccess / SendTaskFailure.
 *
 * Two ways to send, one set of rules. Executors hand the formatted answer
 * to the poller thread (hl_answer_*_async): it goes out on the poller's
 * curl multi handle like a poll, so an executor never blocks on the round
 * trip and a task costs one hand-off between threads instead of three (see
 * docs/SCALING.md). The poller calls hl_answer_after_attempt() with each
 * attempt's result. hl_pool_finish answers what is left at the drain
 * deadline synchronously (hl_answer_success / hl_answer_failure, with a
 * connection of its own), after the poller has stopped.
 *
 * Bodies are formatted directly into a buffer (no json-c tree on the hot
 * path). Failures are truncated to the API limits at a UTF-8 boundary rather
 * than rejected. Transient errors are retried with jittered backoff until
 * the deadline; TaskDoesNotExist / InvalidToken / TaskTimedOut mean the task
 * is settled already (by an earlier attempt whose response was lost, or by
 * a timeout): logged, never retried, never sent again.
 */
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/log.h"
#include "healer/retry.h"
#include "pool_internal.h"

#define ANSWER_MAX_ATTEMPTS 8
#define ANSWER_DEFAULT_BUDGET_MS 120000

static _Thread_local hl_buf body;

static bool settled_code(const char *code)
{
	return strcmp(code, "TaskDoesNotExist") == 0 || strcmp(code, "InvalidToken") == 0 ||
	       strcmp(code, "TaskTimedOut") == 0;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* The operation a task's answer uses (a literal each way, which the IAM
 * check in tests/infra can follow). */
static const char *answer_op(const hl_task *t)
{
	return t->answer_success ? "SendTaskSuccess" : "SendTaskFailure";
}

hl_answer_next hl_answer_after_attempt(hl_pool *pool, hl_task *t, int rc, const hl_err *err)
{
	act_state *a = &pool->acts[t->act];
	const hl_clock *clock = pool->clock;
	int attempt = ++t->answer_attempts;

	if (rc == HL_OK) {
		atomic_store(&t->settled, true);
		HL_LOG(HL_LOG_INFO, "task answered", HL_LS("activity", a->cfg->name),
		       HL_LS("token", t->token_hash), HL_LS("result", t->answer_what),
		       HL_LI("duration_ms", hl_mono_ms(clock) - t->received_mono_ms),
		       HL_LI("attempts", attempt));
		return HL_ANSWER_DONE;
	}
	if (rc == HL_ERR_AWS && settled_code(err->aws_code)) {
		atomic_store(&t->settled, true);
		/* After a retry: our earlier attempt most likely landed. On
		 * the first attempt: Step Functions gave up on the task. */
		HL_LOG(attempt > 1 ? HL_LOG_INFO : HL_LOG_WARN,
		       attempt > 1 ? "task already settled by an earlier attempt"
				   : "task no longer accepts an answer (timed out or cancelled)",
		       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
		       HL_LS("op", answer_op(t)), HL_LS("error", err->aws_code), HL_LI("attempts", attempt));
		return HL_ANSWER_DONE;
	}
	hl_retry_kind kind = hl_retry_classify(err);
	int64_t now = hl_mono_ms(clock);
	int64_t backoff = hl_retry_backoff_ms(clock, attempt);
	if (kind == HL_RETRY_NO || attempt >= ANSWER_MAX_ATTEMPTS || now + backoff >= t->answer_deadline_ms) {
		hl_answer_give_up(pool, t, err);
		return HL_ANSWER_DONE;
	}
	t->answer_due_ms = now + backoff;
	return HL_ANSWER_RETRY;
}

void hl_answer_give_up(hl_pool *pool, hl_task *t, const hl_err *err)
{
	act_state *a = &pool->acts[t->act];
	atomic_store(&t->settled, true);
	atomic_fetch_add(&pool->results_undelivered, 1);
	HL_LOG(HL_LOG_ERROR, "could not deliver the task's answer; the state will time out and retry",
	       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
	       HL_LS("op", answer_op(t)), HL_LS("error", err->aws_code[0] ? err->aws_code : hl_status_name(err->code)),
	       HL_LS("detail", err->message), HL_LI("attempts", t->answer_attempts));
}

/* Sends the body in `body` now, retrying in this thread (hl_pool_finish). */
static void send_answer(hl_pool *pool, hl_aws_conn *conn, hl_task *t)
{
	hl_aws_call_opts opts = { .timeout_ms = HL_ANSWER_TIMEOUT_MS, .max_attempts = 1 };

	for (;;) {
		hl_err err;
		json_object *out = NULL;
		hl_err_clear(&err);
		int rc = hl_aws_call_raw(conn, &hl_svc_sfn,
					 t->answer_success ? "SendTaskSuccess" : "SendTaskFailure",
					 body.data, body.len, &out, &opts, &err);
		json_object_put(out);
		if (hl_answer_after_attempt(pool, t, rc, &err) == HL_ANSWER_DONE)
			return;
		int64_t wait = t->answer_due_ms - hl_mono_ms(pool->clock);
		if (wait > 0)
			hl_sleep_ms(pool->clock, wait);
	}
}

static void begin_body(const char *token)
{
	if (!body.max)
		hl_buf_init(&body, 2 * 1024 * 1024);
	hl_buf_reset(&body);
	if (hl_buf_append(&body, "{\"taskToken\":", 13) < 0 || hl_json_escape(&body, token, strlen(token)) < 0)
		abort();   /* a token is at most 2048 bytes */
}

void hl_answer_thread_cleanup(void)
{
	hl_buf_free(&body);
	body.max = 0;
}

/* Formats a success into `body`. */
static void format_success(hl_task *t, const char *output, size_t output_len)
{
	begin_body(t->token);
	if (hl_buf_append(&body, ",\"output\":", 10) < 0 || hl_json_escape(&body, output, output_len) < 0 ||
	    hl_buf_append(&body, "}", 1) < 0) {
		/* Escaping cannot grow 256 KiB of output past 2 MiB. */
		abort();
	}
	t->answer_success = true;
	hl_strlcpy(t->answer_what, "success", sizeof(t->answer_what));
}

/* Formats a failure into `body` (and logs it). */
static void format_failure(hl_pool *pool, hl_task *t, const char *error, const char *cause)
{
	begin_body(t->token);
	size_t elen = utf8_cut(error, strlen(error), HL_TASK_ERROR_MAX);
	size_t clen = cause ? utf8_cut(cause, strlen(cause), HL_TASK_CAUSE_MAX) : 0;
	if (hl_buf_append(&body, ",\"error\":", 9) < 0 || hl_json_escape(&body, error, elen) < 0)
		abort();
	if (cause && (hl_buf_append(&body, ",\"cause\":", 9) < 0 || hl_json_escape(&body, cause, clen) < 0))
		abort();
	if (hl_buf_append(&body, "}", 1) < 0)
		abort();
	HL_LOG(HL_LOG_INFO, "task failed", HL_LS("activity", pool->acts[t->act].cfg->name),
	       HL_LS("token", t->token_hash), HL_LS("error", error));
	t->answer_success = false;
	hl_strlcpy(t->answer_what, error, sizeof(t->answer_what));
}

static void set_deadline(hl_pool *pool, hl_task *t, int64_t deadline_ms)
{
	t->answer_attempts = 0;
	t->answer_due_ms = 0;
	t->answer_deadline_ms = deadline_ms ? deadline_ms : hl_mono_ms(pool->clock) + ANSWER_DEFAULT_BUDGET_MS;
}

/* Hands the formatted body to the poller, which owns the task from then
 * on; false when the poller takes no more answers (it has stopped). */
static bool hand_over(hl_pool *pool, hl_task *t)
{
	char *copy = hl_xmalloc(body.len + 1);
	memcpy(copy, body.data, body.len + 1);
	pthread_mutex_lock(&pool->lock);
	bool open = !pool->answers_closed;
	if (open) {
		t->answer_body = copy;
		t->answer_len = body.len;
		t->answer_next = NULL;
		if (pool->answers_tail)
			pool->answers_tail->answer_next = t;
		else
			pool->answers_head = t;
		pool->answers_tail = t;
	}
	pthread_mutex_unlock(&pool->lock);
	if (!open) {
		free(copy);
		return false;
	}
	hl_pool_wake_poller(pool);
	return true;
}

void hl_answer_success(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *output,
		       size_t output_len, int64_t deadline_ms)
{
	format_success(t, output, output_len);
	set_deadline(pool, t, deadline_ms);
	send_answer(pool, conn, t);
}

void hl_answer_failure(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *error,
		       const char *cause, int64_t deadline_ms)
{
	format_failure(pool, t, error, cause);
	set_deadline(pool, t, deadline_ms);
	send_answer(pool, conn, t);
}

bool hl_answer_success_async(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *output,
			     size_t output_len, int64_t deadline_ms)
{
	format_success(t, output, output_len);
	set_deadline(pool, t, deadline_ms);
	if (hand_over(pool, t))
		return true;
	send_answer(pool, conn, t);
	return false;
}

bool hl_answer_failure_async(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *error,
			     const char *cause, int64_t deadline_ms)
{
	format_failure(pool, t, error, cause);
	set_deadline(pool, t, deadline_ms);
	if (hand_over(pool, t))
		return true;
	send_answer(pool, conn, t);
	return false;
}
