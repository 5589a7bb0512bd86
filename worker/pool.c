/* pool.c - the pool's life cycle: start, slot accounting, drain, finish.
 *
 * Start builds per-activity state (prebuilt poll bodies, error prefixes)
 * and starts the threads. Drain stops new polls and sets a deadline. Finish
 * waits for the pool to empty or the deadline, then answers everything
 * still held with Healer.WorkerShutdown so Step Functions retries it
 * elsewhere at once, and joins the threads.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "healer/log.h"
#include "pool_internal.h"

#define HL_EXECUTOR_STACK (512 * 1024)
/* After the deadline, how long to wait for activities to notice their
 * cancellation before the process exits without them. */
#define HL_JOIN_GRACE_MS 3000

void hl_task_unref(hl_task *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	hl_free_secret(t->token);
	free(t->input);
	free(t->answer_body);
	free(t);
}

void hl_pool_wake_poller(hl_pool *pool)
{
	/* Counts up; the poller reads it back to 0. Cannot block: the count
	 * would have to reach 2^64 - 2 first. One write per poller turn is
	 * enough: with a backlog, several answers arrive while the poller
	 * works, and each write would cost a syscall and an extra turn. */
	if (pool->wake_fd >= 0 && !atomic_load(&pool->poller_done) &&
	    !atomic_exchange(&pool->wake_pending, true))
		(void)eventfd_write(pool->wake_fd, 1);
}

hl_exec_waiter *hl_pool_take_idle_executor_locked(hl_pool *pool)
{
	hl_exec_waiter *w = pool->idle_execs;
	if (w) {
		pool->idle_execs = w->next;
		w->next = NULL;
		w->woken = true;
	}
	return w;
}

void hl_pool_signal_executor(hl_exec_waiter *w)
{
	/* A signal after the unlock may find the executor awake already (a
	 * spurious wake-up saw `woken`): it then wakes it once for nothing,
	 * and the executor, seeing woken false, waits again. */
	if (w)
		pthread_cond_signal(&w->cond);
}

/* Wakes every idle executor (lock held): they exit. Signalled under the
 * lock: an executor that sees executors_exit returns and its waiter is
 * gone, so no signal may come after the unlock. */
static void wake_all_executors_locked(hl_pool *pool)
{
	hl_exec_waiter *w;
	while ((w = hl_pool_take_idle_executor_locked(pool)))
		pthread_cond_signal(&w->cond);
}

static void release_task(hl_pool *pool, hl_task *t, bool wake)
{
	pthread_mutex_lock(&pool->lock);
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->prev = t->next = NULL;
	pool->acts[t->act].held--;
	pthread_cond_broadcast(&pool->idle_cond);
	pthread_mutex_unlock(&pool->lock);
	if (wake)
		hl_pool_wake_poller(pool);
	hl_task_unref(t);
}

void hl_pool_release_task(hl_pool *pool, hl_task *t)
{
	release_task(pool, t, true);
}

void hl_pool_release_task_nowake(hl_pool *pool, hl_task *t)
{
	release_task(pool, t, false);
}

/* "remediate-disk" -> "Healer.RemediateDisk" */
static void make_error_prefix(const char *name, char *out, size_t outsz)
{
	size_t o = (size_t)snprintf(out, outsz, "Healer.");
	bool upper = true;
	for (const char *p = name; *p && o + 1 < outsz; p++) {
		if (*p == '-' || *p == '_') {
			upper = true;
			continue;
		}
		out[o++] = upper ? (char)toupper((unsigned char)*p) : *p;
		upper = false;
	}
	out[o] = '\0';
}

static char *make_poll_body(const char *arn, const char *worker, size_t *len)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	if (hl_buf_append(&b, "{\"activityArn\":", 15) < 0 || hl_json_escape(&b, arn, strlen(arn)) < 0 ||
	    hl_buf_append(&b, ",\"workerName\":", 14) < 0 ||
	    hl_json_escape(&b, worker, strlen(worker)) < 0 || hl_buf_append(&b, "}", 1) < 0)
		abort();   /* bounded inputs: cannot exceed 4 KiB */
	*len = b.len;
	return b.data;
}

static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg, size_t stack, hl_err *err)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	int rc = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return hl_err_set(err, HL_ERR_INTERNAL, "cannot start a thread: %s", strerror(rc));
	return HL_OK;
}

static void free_pool(hl_pool *pool)
{
	for (size_t i = 0; i < pool->n_acts; i++)
		free(pool->acts[i].poll_body);
	if (pool->multi)
		curl_multi_cleanup(pool->multi);
	if (pool->wake_fd >= 0)
		close(pool->wake_fd);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->idle_cond);
	pthread_cond_destroy(&pool->heartbeat_cond);
	free(pool->queue);
	free(pool->executor_threads);
	free(pool);
}

hl_pool *hl_pool_start(const hl_config *cfg, hl_aws *aws, hl_err *err)
{
	hl_pool *pool = hl_xcalloc(1, sizeof(*pool));
	pool->wake_fd = -1;
	pool->cfg = *cfg;
	pool->aws = aws;
	pool->clock = hl_aws_clock(aws);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->idle_cond, NULL);
	pthread_cond_init(&pool->heartbeat_cond, NULL);
	pool->held.next = pool->held.prev = &pool->held;
	pool->n_acts = cfg->n_activities;
	for (size_t i = 0; i < pool->n_acts; i++) {
		act_state *a = &pool->acts[i];
		a->cfg = &pool->cfg.activities[i];
		make_error_prefix(a->cfg->activity->name, a->error_prefix, sizeof(a->error_prefix));
		a->poll_body = make_poll_body(a->cfg->arn, cfg->worker_name, &a->poll_body_len);
	}
	pool->q_cap = (size_t)hl_config_total_slots(cfg);
	pool->queue = hl_xcalloc(pool->q_cap, sizeof(*pool->queue));
	pool->n_executors = cfg->executors > 0 ? cfg->executors : hl_config_total_slots(cfg);
	pool->executor_threads = hl_xcalloc((size_t)pool->n_executors, sizeof(pthread_t));
	atomic_store(&pool->last_progress_ms, hl_mono_ms(pool->clock));

	pool->multi = curl_multi_init();
	if (!pool->multi) {
		hl_err_set(err, HL_ERR_INTERNAL, "curl_multi_init failed");
		free_pool(pool);
		return NULL;
	}
	pool->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->wake_fd < 0) {
		hl_err_set(err, HL_ERR_INTERNAL, "eventfd: %s", strerror(errno));
		free_pool(pool);
		return NULL;
	}
	/* Threads start last; a failure here is fatal for the process anyway,
	 * so the worker exits rather than unwinding half a pool. */
	for (int i = 0; i < pool->n_executors; i++)
		if (start_thread(&pool->executor_threads[i], hl_executor_main, pool, HL_EXECUTOR_STACK, err) < 0)
			return NULL;
	if (start_thread(&pool->heartbeat_thread, hl_heartbeat_main, pool, HL_EXECUTOR_STACK, err) < 0 ||
	    start_thread(&pool->poller_thread, hl_poller_main, pool, HL_EXECUTOR_STACK, err) < 0)
		return NULL;
	return pool;
}

void hl_pool_drain(hl_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	if (!pool->draining) {
		pool->draining = true;
		pool->deadline_ms = hl_mono_ms(pool->clock) + (int64_t)pool->cfg.drain_deadline_s * 1000;
	}
	pthread_cond_broadcast(&pool->idle_cond);
	pthread_mutex_unlock(&pool->lock);
	hl_pool_wake_poller(pool);
}

void hl_pool_drain_now(hl_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->draining = true;
	pool->deadline_ms = hl_mono_ms(pool->clock);
	pthread_cond_broadcast(&pool->idle_cond);
	pthread_mutex_unlock(&pool->lock);
	hl_pool_wake_poller(pool);
}

static bool idle_locked(hl_pool *pool)
{
	if (pool->held.next != &pool->held)
		return false;
	for (size_t i = 0; i < pool->n_acts; i++)
		if (pool->acts[i].open_polls > 0)
			return false;
	return true;
}

bool hl_pool_idle(hl_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	bool idle = idle_locked(pool);
	pthread_mutex_unlock(&pool->lock);
	return idle;
}

/* Claims every held task that is not answered yet (a reference each). */
static size_t claim_held(hl_pool *pool, hl_task ***out)
{
	pthread_mutex_lock(&pool->lock);
	size_t n = 0, cap = 0;
	for (hl_task *t = pool->held.next; t != &pool->held; t = t->next)
		cap++;
	hl_task **list = hl_xcalloc(cap ? cap : 1, sizeof(*list));
	for (hl_task *t = pool->held.next; t != &pool->held; t = t->next) {
		atomic_store(&t->cancelled, true);
		if (!atomic_exchange(&t->answered, true)) {
			atomic_fetch_add(&t->refs, 1);
			list[n++] = t;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	*out = list;
	return n;
}

static void wait_deadline(hl_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	while (!idle_locked(pool)) {
		int64_t now = hl_mono_ms(pool->clock);
		if (now >= pool->deadline_ms)
			break;
		int64_t wait_ms = pool->deadline_ms - now;
		if (wait_ms > 200)
			wait_ms = 200;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		ts.tv_sec += wait_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&pool->idle_cond, &pool->lock, &ts);
	}
	pthread_mutex_unlock(&pool->lock);
}

static bool join_with_grace(pthread_t t, int64_t until_ms, const hl_clock *clock)
{
	for (;;) {
		if (pthread_tryjoin_np(t, NULL) == 0)
			return true;
		if (hl_mono_ms(clock) >= until_ms)
			return false;
		hl_sleep_ms(clock, 10);
	}
}

int hl_pool_finish(hl_pool *pool)
{
	wait_deadline(pool);

	/* Past the deadline (or drained): stop polling for good. Open polls
	 * are aborted only now, when the drain deadline forces it. */
	pthread_mutex_lock(&pool->lock);
	pool->draining = true;
	pool->stop_polls = true;
	pthread_mutex_unlock(&pool->lock);
	hl_pool_wake_poller(pool);
	pthread_join(pool->poller_thread, NULL);
	if (atomic_load(&pool->aborted_polls) > 0)
		HL_LOG(HL_LOG_WARN, "open polls aborted at the drain deadline",
		       HL_LI("polls", atomic_load(&pool->aborted_polls)));

	/* Answer what is still held: queued tasks and activities that did not
	 * finish in time. Their executors see `answered` and send nothing. */
	hl_task **list = NULL;
	size_t n = claim_held(pool, &list);
	hl_aws_conn *conn = n ? hl_aws_conn_new(pool->aws) : NULL;
	for (size_t i = 0; i < n; i++) {
		hl_task *t = list[i];
		atomic_fetch_add(&pool->acts[t->act].shutdown, 1);
		if (conn)
			hl_answer_failure(pool, conn, t, "Healer.WorkerShutdown",
					  "the worker was stopped (drain deadline reached) before this task finished; "
					  "Step Functions may retry it on another worker", 0);
		hl_task_unref(t);
	}
	free(list);
	hl_aws_conn_free(conn);

	/* Queued tasks no executor will take: drop them from the queue. */
	pthread_mutex_lock(&pool->lock);
	while (pool->q_len) {
		hl_task *t = pool->queue[pool->q_head];
		pool->q_head = (pool->q_head + 1) % pool->q_cap;
		pool->q_len--;
		pthread_mutex_unlock(&pool->lock);
		hl_pool_release_task(pool, t);
		pthread_mutex_lock(&pool->lock);
	}
	pool->executors_exit = true;
	pool->heartbeat_exit = true;
	wake_all_executors_locked(pool);
	pthread_cond_broadcast(&pool->heartbeat_cond);
	pthread_mutex_unlock(&pool->lock);

	int64_t until = hl_mono_ms(pool->clock) + HL_JOIN_GRACE_MS;
	bool all_joined = join_with_grace(pool->heartbeat_thread, until, pool->clock);
	for (int i = 0; i < pool->n_executors; i++)
		all_joined &= join_with_grace(pool->executor_threads[i], until, pool->clock);
	if (all_joined) {
		free_pool(pool);
	} else {
		/* An activity ignored cancellation; its answer is already sent.
		 * Leave its memory to the process exit rather than free it under
		 * a running thread. */
		HL_LOG0(HL_LOG_WARN, "an activity did not stop after cancellation; exiting without it");
	}
	return (int)n;
}

void hl_pool_get_stats(hl_pool *pool, hl_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&pool->lock);
	for (size_t i = 0; i < pool->n_acts; i++) {
		act_state *a = &pool->acts[i];
		out->open_polls += a->open_polls;
		out->busy_slots += a->held;
		out->tasks_succeeded += atomic_load(&a->succeeded);
		out->tasks_failed += atomic_load(&a->failed);
		out->tasks_cancelled += atomic_load(&a->cancelled);
		out->tasks_shutdown += atomic_load(&a->shutdown);
		out->poll_errors += atomic_load(&a->poll_errors);
	}
	pthread_mutex_unlock(&pool->lock);
	out->tasks_received = atomic_load(&pool->tasks_received);
	out->results_undelivered = atomic_load(&pool->results_undelivered);
	out->last_progress_mono_ms = atomic_load(&pool->last_progress_ms);
}
