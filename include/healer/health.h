/* health.h - the health file the worker keeps and `healer health` checks.
 *
 * The main thread rewrites a small JSON file every few seconds (atomically:
 * temp file + rename) with its pid, a timestamp and the pool's state.
 * `healer health` (the ECS container health check) exits 0 when the file is
 * fresh, its process is alive and the pool is not stuck.
 */
#ifndef HEALER_HEALTH_H
#define HEALER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "healer/common.h"
#include "healer/pool.h"

/* status: "ok", "draining" or "stuck". */
int hl_health_write(const char *path, const char *status, const hl_pool_stats *st,
		    int64_t wall_ms, hl_err *err) HL_MUST_CHECK;

/* Checks the file: returns 0 when healthy, else a negative status with err
 * saying why (missing, stale, dead pid, stuck). */
int hl_health_check(const char *path, int max_age_s, int64_t wall_ms, hl_err *err) HL_MUST_CHECK;

#endif
