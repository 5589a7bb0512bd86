/* blast.h - the engine-wide blast-radius limit (the guard's last check).
 *
 * Besides the per-resource circuit breaker, the engine counts every
 * remediation it lets through in two rolling windows:
 *   - all classes together, one hour      (HEALER_BLAST_MAX_PER_HOUR, 20)
 *   - each class on its own, ten minutes  (HEALER_BLAST_MAX_PER_CLASS_10M, 5)
 * One more than a limit means something systemic is going on: the engine
 * stops acting on its own (every execution escalates), posts ONE Slack
 * alert saying why, and stays stopped until a person runs `healer enable`.
 *
 * Everything lives in the breaker table (HEALER_BREAKER_TABLE, hash key pk):
 *   pk "blast#state"    stopped (BOOL), epoch (N), reason, stoppedAt,
 *                       stoppedBy (the execution that hit the limit),
 *                       alertSent (BOOL), alertTs, and for the last
 *                       `healer enable`: enabledAt, enabledBy, enableReason.
 *   pk "blast#e<epoch>#all#<YYYY-MM-DDTHH>"          one hour bucket
 *   pk "blast#e<epoch>#<class>#<YYYY-MM-DDTHH:M0>"   one 10-minute bucket
 *                       count (N), executions (SS), expires_at (N, TTL:
 *                       bucket end + 1 h; housekeeping only).
 *
 * Rolling windows from fixed buckets (the sliding-window-counter estimate):
 * a window of W seconds at time t counts the current bucket fully and the
 * previous bucket weighted by the part of it still inside the window,
 * prev * (W - elapsed) / W. A remediation is allowed when the estimate
 * with it stays within the limit:
 *   count_current + 1 + prev * (W - elapsed) / W <= max
 * which for an integer count is count_current < floor(max - prev * (W -
 * elapsed) / W): that floor is the :max of ONE conditional UpdateItem
 * (ADD count 1, executions {execution}; condition count < :max AND NOT
 * contains(executions, :execution)), so concurrent guards can never let
 * more through than the limit. The previous bucket is closed (its hour is
 * over), so reading it first does not race with the update. The estimate
 * assumes the previous bucket's remediations were spread evenly; at worst
 * it under- or over-counts that bucket's share, never the current one.
 *
 * Stopping: the guard whose update fails for a full window (not a retry of
 * an execution already counted: a consistent GetItem tells, as for the
 * breaker) sets the state item with a condition (not stopped, same epoch):
 * exactly one guard wins, even under concurrency; that one posts the Slack
 * alert and writes an audit item (kind "blast"). A retry of the winning
 * execution posts the alert if alertSent is still false. Guards read the
 * state item before the breaker: stopped -> refuse.
 *
 * Resetting (`healer enable`): one conditional UpdateItem on the state item
 * (stopped = true) sets stopped = false and epoch = epoch + 1, so the
 * counters start again from zero under new keys, and records who and why.
 * A guard that read the old epoch cannot stop the engine again (its
 * condition names the old epoch).
 *
 * Dry run: reads only; reports whether a real run would be refused.
 */
#ifndef HEALER_BLAST_H
#define HEALER_BLAST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "healer/activity.h"
#include "healer/aws.h"
#include "healer/common.h"

#define HL_BLAST_DEFAULT_PER_HOUR 20
#define HL_BLAST_DEFAULT_PER_CLASS_10M 5
#define HL_BLAST_LIMIT_MAX 10000
#define HL_BLAST_STATE_KEY "blast#state"

typedef struct hl_blast_settings {
	const char *table;          /* HEALER_BREAKER_TABLE (default healer-breaker) */
	const char *audit_table;    /* HEALER_AUDIT_TABLE (default healer-audit) */
	int max_per_hour;           /* HEALER_BLAST_MAX_PER_HOUR */
	int max_per_class_10m;      /* HEALER_BLAST_MAX_PER_CLASS_10M */
} hl_blast_settings;

/* Reads and checks the settings (HL_ERR_CONFIG naming the variable). */
int hl_blast_settings_load(hl_blast_settings *s, hl_err *err) HL_MUST_CHECK;

typedef struct hl_blast_state {
	bool exists;                /* the item exists */
	bool stopped;
	bool alert_sent;
	long long epoch;            /* 0 when absent */
	char reason[600];
	char stopped_at[32];
	char stopped_by[300];
	char enabled_at[32];
	char enabled_by[300];
	char enable_reason[600];
} hl_blast_state;

/* Consistent GetItem of the state item (absent: zeroed, exists false). */
int hl_blast_state_read(hl_aws_conn *c, const char *table, hl_blast_state *st,
			hl_err *err) HL_MUST_CHECK;
json_object *hl_blast_state_json(const hl_blast_state *st);

/* One window's bucket and what happened to it. */
typedef struct hl_blast_window {
	char key[128];
	int count;                  /* the bucket's count as last seen */
	int previous;               /* the previous bucket's count */
	int max;                    /* the setting */
	int limit;                  /* this bucket's :max (hl_blast_bucket_limit) */
	bool counted;               /* this execution is counted in the bucket */
	bool full;                  /* refused: the window is at its limit */
} hl_blast_window;

typedef struct hl_blast_result {
	hl_blast_window hour, klass;
	bool counted;               /* both windows count this execution */
	bool refused;               /* a window is full (dry run: would be) */
	bool tripped;               /* this execution stopped the engine */
	bool already_stopped;       /* another one stopped it first */
	char reason[1024];          /* why refused ("" when not) */
	json_object *alert;         /* the alert's outcome (owned), or NULL */
	const char *failed_op;      /* on failure: the DynamoDB operation */
} hl_blast_result;

/* Counts `execution` (a remediation of class `klass`, a fixed name such as
 * "disk_pressure") in both windows of epoch `epoch` at now_ms, and stops
 * the engine when a window is full (see above). ctx may be NULL (no
 * cancellation-aware sleep, worker name "unknown"). Returns 0 with r
 * filled (free r->alert with json_object_put, or hl_blast_result_json takes
 * it), or a negative status with err and r->failed_op ("UpdateItem",
 * "GetItem") set. */
int hl_blast_count(hl_activity_ctx *ctx, hl_aws_conn *c, const hl_blast_settings *s,
		   const char *execution, const char *klass, long long epoch, bool dry_run,
		   int64_t now_ms, hl_blast_result *r, hl_err *err) HL_MUST_CHECK;
/* {"hour": {...}, "class": {...}, "counted", "refused", "tripped",
 * "alreadyStopped", "alert"}; takes r->alert. */
json_object *hl_blast_result_json(hl_blast_result *r);

/* The stop's Slack alert, when `execution` stopped the engine and the alert
 * is not marked sent (an earlier attempt of the guard failed to post it):
 * posts it and marks it; returns the outcome (owned), or NULL when no alert
 * is owed. Never fails (outcomes and failures are in the result / log). */
json_object *hl_blast_alert_if_owed(hl_activity_ctx *ctx, hl_aws_conn *c, const char *table,
				    const char *execution, const hl_blast_state *st);

/* `healer enable`: clears a stop (conditional on stopped = true), bumps the
 * epoch, records actor and reason. *was_stopped false (and 0 returned)
 * when the engine was not stopped. */
int hl_blast_reset(hl_aws_conn *c, const char *table, const char *actor, const char *reason,
		   int64_t now_ms, bool *was_stopped, hl_blast_state *after,
		   hl_err *err) HL_MUST_CHECK;

/* For `healer status`: the current buckets' counts of epoch `epoch` for the
 * hour window and each class, as
 * {"hour": {"key", "count", "previous", "max", "limit"}, "classes": {...}}. */
int hl_blast_counts_json(hl_aws_conn *c, const hl_blast_settings *s, long long epoch,
			 int64_t now_ms, json_object **out, hl_err *err) HL_MUST_CHECK;

/* ---- pure helpers (exposed for tests) ---- */

/* floor(max - previous * (window_ms - elapsed_ms) / window_ms), at most
 * max; elapsed_ms is clamped to [0, window_ms]. May be <= 0 (full). */
int hl_blast_bucket_limit(int max, int previous, int64_t elapsed_ms, int64_t window_ms);
/* The start (epoch s) of the bucket of width window_s holding now_s. */
int64_t hl_blast_bucket_start(int64_t now_s, int window_s);
/* "blast#e<epoch>#all#2026-11-27T04" (window 3600) or
 * "blast#e<epoch>#<klass>#2026-11-27T04:50" (window 600) for the bucket
 * starting at start_s. */
void hl_blast_bucket_key(long long epoch, const char *klass, int64_t start_s, int window_s,
			 char *out, size_t outsz);

#endif
