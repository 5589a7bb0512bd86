/* pool.h - the worker pool: poll, run, heartbeat, answer, drain.
 *
 * Threads: one I/O thread drives every open GetActivityTask poll through a
 * curl multi handle; a fixed set of executor threads runs tasks (one AWS
 * connection each); one heartbeat thread keeps running tasks alive; the
 * caller's thread waits for signals and owns shutdown.
 *
 * Slots: each activity has `slots` places. A poll is opened only for a free
 * slot, so every task a poll can return already has a place to run.
 * Answers: each received task is answered exactly once (success, failure,
 * or Healer.WorkerShutdown at the drain deadline) unless a heartbeat showed
 * it was cancelled, in which case nothing is sent.
 */
#ifndef HEALER_POOL_H
#define HEALER_POOL_H

#include "healer/aws.h"
#include "healer/config.h"

typedef struct hl_pool hl_pool;

/* Snapshot of the pool's counters (for health, metrics and tests). */
typedef struct hl_pool_stats {
	long open_polls;
	long busy_slots;            /* running + queued */
	long tasks_received;
	long tasks_succeeded;
	long tasks_failed;
	long tasks_cancelled;
	long tasks_shutdown;        /* answered Healer.WorkerShutdown */
	long results_undelivered;   /* gave up sending (logged) */
	long poll_errors;
	int64_t last_progress_mono_ms; /* I/O loop's last turn */
} hl_pool_stats;

/* Creates the pool and starts its threads. aws must outlive the pool. */
hl_pool *hl_pool_start(const hl_config *cfg, hl_aws *aws, hl_err *err);

/* Begins the drain: no new polls; open polls finish; received tasks run
 * until the deadline (cfg->drain_deadline_s from now). Thread-safe. */
void hl_pool_drain(hl_pool *pool);
/* A second request: stop now, answering every held task with
 * Healer.WorkerShutdown. */
void hl_pool_drain_now(hl_pool *pool);
/* True when drained: no open polls, no queued or running task. */
bool hl_pool_idle(hl_pool *pool);
/* Waits until idle or until the deadline, answers whatever is still held,
 * joins all threads and frees the pool. Returns the number of tasks that
 * had to be answered Healer.WorkerShutdown. */
int hl_pool_finish(hl_pool *pool);

void hl_pool_get_stats(hl_pool *pool, hl_pool_stats *out);

#endif
