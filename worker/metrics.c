/* metrics.c - CloudWatch Embedded Metric Format lines for the pool.
 *
 * Once per interval the main thread prints, per activity, one EMF JSON line
 * with the deltas since the last flush (tasks started / succeeded / failed /
 * cancelled / shut down, poll errors), average and maximum task duration
 * and average poll wait, plus a pool-wide line with busy slots, open
 * polls, slots and Workers = 1 (its SUM over one interval counts the live
 * workers). CloudWatch Logs turns these into metrics in namespace "Healer"
 * without any PutMetricData call. Main thread only.
 */
#include <stdio.h>
#include <string.h>

#include "healer/log.h"
#include "healer/metrics.h"
#include "pool_internal.h"

typedef struct act_snapshot {
	long started, succeeded, failed, cancelled, shutdown, poll_errors;
	long duration_sum_ms, duration_count, poll_wait_sum_ms, polls_done;
} act_snapshot;

static act_snapshot last[HL_MAX_ACTIVITIES];

/* Through the log's lock: executors write log and outcome-metric lines
 * (outcome_metrics.h) to the same fd at the same time. */
static void write_line(const hl_buf *b)
{
	hl_log_write_line(b->data, b->len);
}

static int emit_activity(hl_buf *b, int64_t ts, const char *worker, act_state *a, act_snapshot *prev)
{
	act_snapshot now = {
		.started = atomic_load(&a->started), .succeeded = atomic_load(&a->succeeded),
		.failed = atomic_load(&a->failed), .cancelled = atomic_load(&a->cancelled),
		.shutdown = atomic_load(&a->shutdown), .poll_errors = atomic_load(&a->poll_errors),
		.duration_sum_ms = atomic_load(&a->duration_sum_ms),
		.duration_count = atomic_load(&a->duration_count),
		.poll_wait_sum_ms = atomic_load(&a->poll_wait_sum_ms),
		.polls_done = atomic_load(&a->polls_done),
	};
	long dcount = now.duration_count - prev->duration_count;
	long pcount = now.polls_done - prev->polls_done;
	long max_ms = atomic_exchange(&a->duration_max_ms, 0);
	hl_buf_reset(b);
	int rc = hl_buf_appendf(b,
		"{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":\"Healer\","
		"\"Dimensions\":[[\"Activity\"]],\"Metrics\":["
		"{\"Name\":\"TasksStarted\",\"Unit\":\"Count\"},{\"Name\":\"TasksSucceeded\",\"Unit\":\"Count\"},"
		"{\"Name\":\"TasksFailed\",\"Unit\":\"Count\"},{\"Name\":\"TasksCancelled\",\"Unit\":\"Count\"},"
		"{\"Name\":\"TasksShutdown\",\"Unit\":\"Count\"},{\"Name\":\"PollErrors\",\"Unit\":\"Count\"},"
		"{\"Name\":\"TaskDurationAvg\",\"Unit\":\"Milliseconds\"},"
		"{\"Name\":\"TaskDurationMax\",\"Unit\":\"Milliseconds\"},"
		"{\"Name\":\"PollWaitAvg\",\"Unit\":\"Milliseconds\"}]}]},"
		"\"Activity\":\"%s\",\"worker\":",
		(long long)ts, a->cfg->name);
	if (rc == 0)
		rc = hl_json_escape(b, worker, strlen(worker));
	if (rc == 0)
		rc = hl_buf_appendf(b,
			",\"TasksStarted\":%ld,\"TasksSucceeded\":%ld,\"TasksFailed\":%ld,"
			"\"TasksCancelled\":%ld,\"TasksShutdown\":%ld,\"PollErrors\":%ld,"
			"\"TaskDurationAvg\":%ld,\"TaskDurationMax\":%ld,\"PollWaitAvg\":%ld}\n",
			now.started - prev->started, now.succeeded - prev->succeeded,
			now.failed - prev->failed, now.cancelled - prev->cancelled,
			now.shutdown - prev->shutdown, now.poll_errors - prev->poll_errors,
			dcount ? (now.duration_sum_ms - prev->duration_sum_ms) / dcount : 0, max_ms,
			pcount ? (now.poll_wait_sum_ms - prev->poll_wait_sum_ms) / pcount : 0);
	*prev = now;
	return rc;
}

void hl_metrics_flush(hl_pool *pool)
{
	hl_buf b;
	hl_buf_init(&b, 8192);
	const hl_clock *clock = pool->clock;
	int64_t ts = hl_wall_ms(clock);
	for (size_t i = 0; i < pool->n_acts; i++)
		if (emit_activity(&b, ts, pool->cfg.worker_name, &pool->acts[i], &last[i]) == 0)
			write_line(&b);

	hl_pool_stats st;
	hl_pool_get_stats(pool, &st);
	hl_buf_reset(&b);
	if (hl_buf_appendf(&b,
		"{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":\"Healer\","
		"\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"BusySlots\",\"Unit\":\"Count\"},"
		"{\"Name\":\"OpenPolls\",\"Unit\":\"Count\"},{\"Name\":\"Slots\",\"Unit\":\"Count\"},"
		"{\"Name\":\"Workers\",\"Unit\":\"Count\"}]}]},"
		"\"BusySlots\":%ld,\"OpenPolls\":%ld,\"Slots\":%d,\"Workers\":1}\n",
		(long long)ts, st.busy_slots, st.open_polls, hl_config_total_slots(&pool->cfg)) == 0)
		write_line(&b);
	hl_buf_free(&b);
}
