/* killswitch.h - the engine's kill switch: one SSM String parameter.
 *
 * The parameter named by HEALER_KILL_SWITCH_PARAM (default /healer/enabled)
 * holds "true" or "false". The guard activity reads it before anything
 * else; "false" stops every remediation within the cache period
 * (HEALER_KILL_SWITCH_CACHE_S, 0..10 s, default 10). Operators flip it with
 * `healer disable --reason TEXT` / `healer enable`, which call
 * hl_killswitch_set().
 *
 * Reading (decided here, documented in docs/ACTIVITIES.md):
 *   "true"  (any case)          -> enabled
 *   "false" (any case)          -> disabled
 *   any other value             -> disabled (fail safe), with a warning log
 *   ParameterNotFound           -> enabled, with a warning log (a fresh
 *                                  deployment before Terraform created it)
 *   any other error             -> an error: the guard fails (the state
 *                                  machine retries, then escalates); errors
 *                                  are never cached.
 */
#ifndef HEALER_KILLSWITCH_H
#define HEALER_KILLSWITCH_H

#include <stdbool.h>

#include "healer/aws.h"
#include "healer/common.h"

#define HL_KILLSWITCH_DEFAULT_PARAM "/healer/enabled"
#define HL_KILLSWITCH_CACHE_MAX_S 10
/* Longest operator reason accepted by hl_killswitch_set (bytes). */
#define HL_KILLSWITCH_REASON_MAX 512

typedef enum hl_killswitch_state {
	HL_KILLSWITCH_ENABLED = 0,
	HL_KILLSWITCH_DISABLED,
	HL_KILLSWITCH_NOT_FOUND,     /* treated as enabled */
	HL_KILLSWITCH_UNRECOGNISED,  /* treated as disabled */
} hl_killswitch_state;

/* "enabled" | "disabled" | "not-found" | "unrecognised". */
const char *hl_killswitch_state_name(hl_killswitch_state s);
/* True for ENABLED and NOT_FOUND. */
bool hl_killswitch_allows(hl_killswitch_state s);

/* Reads the switch, through a process-wide cache shared by all threads
 * (mutex-guarded; no I/O under the lock; an expired entry may be fetched by
 * several threads at once, each storing its fresh answer). Reads the
 * settings from the environment on each call. Returns 0 with *state, or a
 * negative status with err (HL_ERR_CONFIG for a bad setting, else the
 * GetParameter failure). */
int hl_killswitch_get(hl_aws_conn *c, hl_killswitch_state *state, hl_err *err) HL_MUST_CHECK;

/* Flips the switch: SSM PutParameter (Type String, Overwrite true, Value
 * "true"/"false", Description "enabled|disabled by operator: REASON").
 * Disabling needs a reason; a reason must be 1..HL_KILLSWITCH_REASON_MAX
 * bytes without control characters (else HL_ERR_INVALID). Enabling takes
 * an optional reason (NULL or ""). Logs the change (with the reason) and
 * drops this process's cached value. Thread-safe. */
int hl_killswitch_set(hl_aws_conn *c, bool enabled, const char *reason, hl_err *err)
	HL_MUST_CHECK;

/* Drops the cached value (tests, and after hl_killswitch_set). */
void hl_killswitch_invalidate(void);

#endif
