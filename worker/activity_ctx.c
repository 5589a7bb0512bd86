/* activity_ctx.c - the context an activity runs with.
 *
 * One context per executor thread, reused for every task it runs. The
 * cancellation flag belongs to the task (set by the heartbeat thread or the
 * drain deadline); the context only reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity_ctx.h"

struct hl_activity_ctx {
	const hl_activity *act;
	hl_aws_conn *aws;
	bool dry_run;
	char *worker_name;
	const atomic_bool *cancelled;
	char error[HL_TASK_ERROR_MAX + 1];
	hl_buf cause;
};

hl_activity_ctx *hl_activity_ctx_new(const hl_activity *act, hl_aws_conn *aws, bool dry_run,
				     const char *worker_name)
{
	hl_activity_ctx *ctx = hl_xcalloc(1, sizeof(*ctx));
	ctx->act = act;
	ctx->aws = aws;
	ctx->dry_run = dry_run;
	ctx->worker_name = hl_xstrdup(worker_name ? worker_name : "healer");
	hl_buf_init(&ctx->cause, HL_TASK_CAUSE_MAX);
	return ctx;
}

void hl_activity_ctx_free(hl_activity_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->worker_name);
	hl_buf_free(&ctx->cause);
	free(ctx);
}

void hl_activity_ctx_begin(hl_activity_ctx *ctx, const hl_activity *act, const atomic_bool *cancelled)
{
	ctx->act = act;
	ctx->cancelled = cancelled;
	ctx->error[0] = '\0';
	hl_buf_reset(&ctx->cause);
}

hl_aws_conn *hl_activity_aws(hl_activity_ctx *ctx) { return ctx->aws; }
bool hl_activity_dry_run(const hl_activity_ctx *ctx) { return ctx->dry_run; }
const char *hl_activity_worker_name(const hl_activity_ctx *ctx) { return ctx->worker_name; }
const char *hl_activity_name(const hl_activity_ctx *ctx) { return ctx->act ? ctx->act->name : ""; }

bool hl_activity_cancelled(const hl_activity_ctx *ctx)
{
	return ctx->cancelled && atomic_load(ctx->cancelled);
}

bool hl_activity_sleep(hl_activity_ctx *ctx, long ms)
{
	/* Short naps: cancellation is noticed within 20 ms. */
	while (ms > 0) {
		if (hl_activity_cancelled(ctx))
			return false;
		long step = ms < 20 ? ms : 20;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !hl_activity_cancelled(ctx);
}

int hl_activity_fail(hl_activity_ctx *ctx, const char *error, const char *cause_fmt, ...)
{
	va_list ap;
	char *cause = NULL;

	hl_strlcpy(ctx->error, error, sizeof(ctx->error));
	va_start(ap, cause_fmt);
	if (vasprintf(&cause, cause_fmt, ap) < 0)
		abort();
	va_end(ap);
	hl_buf_reset(&ctx->cause);
	size_t len = strlen(cause);
	if (len > ctx->cause.max)
		len = ctx->cause.max;
	if (hl_buf_append(&ctx->cause, cause, len) < 0)
		abort();   /* cannot happen: len is within max */
	free(cause);
	return HL_ERR_INVALID;
}

const char *hl_activity_ctx_error(const hl_activity_ctx *ctx)
{
	return ctx->error[0] ? ctx->error : NULL;
}

const char *hl_activity_ctx_cause(const hl_activity_ctx *ctx)
{
	return ctx->cause.len ? ctx->cause.data : NULL;
}
