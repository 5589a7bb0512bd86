/* activity.h - the interface every activity implements, and the registry.
 *
 * An activity takes the task's JSON input and returns JSON output. It runs
 * on an executor thread with a context that carries the thread's AWS
 * connection, the dry-run flag, cancellation and the worker's identity.
 * Activities must be idempotent (a state-machine retry may run one twice for
 * the same execution) and must check hl_activity_cancelled() between steps.
 */
#ifndef HEALER_ACTIVITY_H
#define HEALER_ACTIVITY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "healer/aws.h"
#include "healer/common.h"

/* Limits of SendTaskFailure (bytes). */
#define HL_TASK_ERROR_MAX 256
#define HL_TASK_CAUSE_MAX 32768
/* Limit of SendTaskSuccess output (bytes). */
#define HL_TASK_OUTPUT_MAX 262144

typedef struct hl_activity_ctx hl_activity_ctx;

typedef struct hl_activity {
	const char *name;          /* "echo", "diagnose", ... [a-z0-9-] */
	const char *summary;       /* one line for --help */
	/* Runs the activity. On success returns 0 and sets *output (owned by
	 * the caller). On failure returns a negative status after calling
	 * hl_activity_fail() (else the pool reports Healer.<Name>.Internal). */
	int (*run)(hl_activity_ctx *ctx, json_object *input, json_object **output);
	/* Optional: validates this activity's settings (HEALER_* variables)
	 * once at worker start; a failure stops the worker with exit 2 and
	 * err naming the setting. NULL when there is nothing to check. */
	int (*init)(hl_err *err);
} hl_activity;

/* The registry: every compiled-in activity, by name (NULL if unknown). */
const hl_activity *hl_activity_find(const char *name);
/* All activities, NULL-terminated. */
const hl_activity *const *hl_activity_all(void);

/* ---- what an activity may use from its context ---- */

/* The executor thread's AWS connection; NULL when running without AWS
 * (e.g. `healer run-activity echo` with no region configured). */
hl_aws_conn *hl_activity_aws(hl_activity_ctx *ctx);
bool hl_activity_dry_run(const hl_activity_ctx *ctx);
/* True once the task was cancelled (heartbeat said TaskTimedOut or
 * TaskDoesNotExist) or the worker's drain deadline passed. Stop work and
 * return HL_ERR_CANCELLED; the result is not sent. */
bool hl_activity_cancelled(const hl_activity_ctx *ctx);
const char *hl_activity_worker_name(const hl_activity_ctx *ctx);
const char *hl_activity_name(const hl_activity_ctx *ctx);
/* Sleeps up to ms, waking early on cancellation; returns false if
 * cancelled. */
bool hl_activity_sleep(hl_activity_ctx *ctx, long ms);

/* Records the failure to send: error is a stable name
 * ("Healer.InvalidInput", "Healer.Diagnose.NoInstanceId"), cause a
 * human-readable detail (formatted; values from events go in as %s
 * arguments, never as the format). Returns HL_ERR_INVALID for chaining. */
int hl_activity_fail(hl_activity_ctx *ctx, const char *error, const char *cause_fmt, ...)
	HL_PRINTF(3, 4);

/* Creates a context for running an activity outside the pool
 * (run-activity, tests). aws may be NULL. */
hl_activity_ctx *hl_activity_ctx_new(const hl_activity *act, hl_aws_conn *aws,
				     bool dry_run, const char *worker_name);
void hl_activity_ctx_free(hl_activity_ctx *ctx);
/* After a failed run: the error name and cause recorded by
 * hl_activity_fail (NULL if none). */
const char *hl_activity_ctx_error(const hl_activity_ctx *ctx);
const char *hl_activity_ctx_cause(const hl_activity_ctx *ctx);

#endif
