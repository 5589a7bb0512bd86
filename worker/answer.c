/* answer.c - sending a task's one answer: SendTaskSuccess / SendTaskFailure.
 *
 * Bodies are formatted directly into a per-thread buffer (no json-c tree on
 * the hot path). Failures are truncated to the API limits at a UTF-8
 * boundary rather than rejected. Transient errors are retried with jittered
 * backoff until the deadline; TaskDoesNotExist / InvalidToken / TaskTimedOut
 * mean the task is settled already (by an earlier attempt whose response
 * was lost, or by a timeout): logged, never retried, never sent again.
 */
#include <string.h>

#include "healer/activity.h"
#include "healer/log.h"
#include "healer/retry.h"
#include "pool_internal.h"

#define ANSWER_MAX_ATTEMPTS 8
#define ANSWER_DEFAULT_BUDGET_MS 120000
#define ANSWER_TIMEOUT_MS 10000L

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

static void send_answer(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *op,
			const char *what, int64_t deadline_ms)
{
	act_state *a = &pool->acts[t->act];
	const hl_clock *clock = pool->clock;
	int64_t start = hl_mono_ms(clock);
	if (deadline_ms == 0)
		deadline_ms = start + ANSWER_DEFAULT_BUDGET_MS;
	hl_aws_call_opts opts = { .timeout_ms = ANSWER_TIMEOUT_MS, .max_attempts = 1 };

	for (int attempt = 1;; attempt++) {
		hl_err err;
		json_object *out = NULL;
		hl_err_clear(&err);
		int rc = hl_aws_call_raw(conn, &hl_svc_sfn, op, body.data, body.len, &out, &opts, &err);
		json_object_put(out);
		if (rc == HL_OK) {
			HL_LOG(HL_LOG_INFO, "task answered", HL_LS("activity", a->cfg->name),
			       HL_LS("token", t->token_hash), HL_LS("result", what),
			       HL_LI("duration_ms", hl_mono_ms(clock) - t->received_mono_ms),
			       HL_LI("attempts", attempt));
			return;
		}
		if (rc == HL_ERR_AWS && settled_code(err.aws_code)) {
			/* After a retry: our earlier attempt most likely landed. On
			 * the first attempt: Step Functions gave up on the task. */
			HL_LOG(attempt > 1 ? HL_LOG_INFO : HL_LOG_WARN,
			       attempt > 1 ? "task already settled by an earlier attempt"
					   : "task no longer accepts an answer (timed out or cancelled)",
			       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
			       HL_LS("op", op), HL_LS("error", err.aws_code), HL_LI("attempts", attempt));
			return;
		}
		hl_retry_kind kind = hl_retry_classify(&err);
		int64_t now = hl_mono_ms(clock);
		int64_t backoff = hl_retry_backoff_ms(clock, attempt);
		if (kind == HL_RETRY_NO || attempt >= ANSWER_MAX_ATTEMPTS || now + backoff >= deadline_ms) {
			atomic_fetch_add(&pool->results_undelivered, 1);
			HL_LOG(HL_LOG_ERROR, "could not deliver the task's answer; the state will time out and retry",
			       HL_LS("activity", a->cfg->name), HL_LS("token", t->token_hash),
			       HL_LS("op", op), HL_LS("error", err.aws_code[0] ? err.aws_code : hl_status_name(err.code)),
			       HL_LS("detail", err.message), HL_LI("attempts", attempt));
			return;
		}
		hl_sleep_ms(clock, backoff);
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

void hl_answer_success(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *output,
		       size_t output_len, int64_t deadline_ms)
{
	begin_body(t->token);
	if (hl_buf_append(&body, ",\"output\":", 10) < 0 || hl_json_escape(&body, output, output_len) < 0 ||
	    hl_buf_append(&body, "}", 1) < 0) {
		/* Escaping cannot grow 256 KiB of output past 2 MiB. */
		abort();
	}
	send_answer(pool, conn, t, "SendTaskSuccess", "success", deadline_ms);
}

void hl_answer_failure(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *error,
		       const char *cause, int64_t deadline_ms)
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
	send_answer(pool, conn, t, "SendTaskFailure", error, deadline_ms);
}
