/* pool_internal.h - shared state of the pool's threads (pool.c, poller.c,
 * executor.c, heartbeat.c, answer.c). Not a public interface.
 *
 * Locking: pool->lock guards the slot counters, the run queue, the held
 * list and every task's next_heartbeat_ms / running fields. No I/O is done
 * while holding it. A task's `answered` flag is the single claim on its one
 * answer: whoever flips it from false to true sends (or deliberately does
 * not send) the result. `settled` comes later, when that answer was sent,
 * refused or given up, or when the heartbeat claimed the answer (the task
 * is gone) and sends nothing: until then the task is still heartbeated, so an
 * answer retried for longer than HeartbeatSeconds still lands.
 */
#ifndef HEALER_POOL_INTERNAL_H
#define HEALER_POOL_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "healer/pool.h"

typedef struct hl_task {
	atomic_int refs;
	size_t act;                     /* index into pool->acts */
	char *token;
	char *input;
	size_t input_len;
	char token_hash[13];
	atomic_bool cancelled;          /* the activity should stop */
	atomic_bool answered;           /* the one answer has been claimed */
	atomic_bool settled;            /* ... and is done with: no more heartbeats */
	atomic_bool heartbeat_gone;     /* a heartbeat was refused: stop sending them */
	int64_t received_mono_ms;
	int64_t next_heartbeat_ms;      /* lock */
	bool running;                   /* lock: an executor has it */
	/* The one answer, set by whoever claimed `answered` (answer.c). */
	bool answer_success;            /* SendTaskSuccess, else SendTaskFailure */
	char answer_what[96];           /* "success" or the error name, for logs */
	char *answer_body;              /* handed to the poller: the body to send */
	size_t answer_len;
	int answer_attempts;
	int64_t answer_deadline_ms;     /* monotonic (pool clock) */
	int64_t answer_due_ms;          /* next attempt after a retryable error */
	struct hl_task *answer_next;    /* pool->answers_head (lock), then the poller's */
	struct hl_task *prev, *next;    /* lock: the held list */
} hl_task;

/* An idle executor waiting for work. Idle executors form a stack
 * (pool->idle_execs) and a queued task wakes the one that went idle last:
 * under a steady trickle the same few threads run every task, with warm
 * caches and malloc thread caches, while the rest of a large pool stays
 * asleep and never grows its stack, heap or connection. A shared condition
 * variable would wake them in turn (glibc's are roughly FIFO), so every
 * thread of a 64-slot pool would be touched and keep memory of its own. */
typedef struct hl_exec_waiter {
	pthread_cond_t cond;
	bool woken;                     /* lock */
	struct hl_exec_waiter *next;    /* lock: the idle stack */
} hl_exec_waiter;

typedef struct act_state {
	const hl_activity_config *cfg;
	char error_prefix[96];          /* "Healer.RemediateDisk" */
	char *poll_body;                /* GetActivityTask JSON, prebuilt */
	size_t poll_body_len;
	/* lock */
	int open_polls;
	int held;                       /* queued + running */
	/* counters, atomics (metrics) */
	atomic_long started, succeeded, failed, cancelled, shutdown;
	atomic_long duration_sum_ms, duration_max_ms, duration_count;
	atomic_long poll_wait_sum_ms, polls_done, poll_errors;
} act_state;

struct hl_pool {
	hl_config cfg;
	hl_aws *aws;
	const hl_clock *clock;
	act_state acts[HL_MAX_ACTIVITIES];
	size_t n_acts;

	pthread_mutex_t lock;
	hl_exec_waiter *idle_execs;     /* idle executors, most recent first */
	pthread_cond_t idle_cond;       /* a task or poll finished */
	hl_task **queue;                /* ring of tasks waiting for an executor */
	size_t q_head, q_len, q_cap;
	hl_task held;                   /* sentinel of the held list */
	bool draining;
	bool stop_polls;                /* abort open polls now (drain_now) */
	bool executors_exit;
	bool heartbeat_exit;
	int64_t deadline_ms;            /* monotonic; valid when draining */
	int executors_busy;

	CURLM *multi;                   /* owned by the poller thread */
	hl_task *answers_head, *answers_tail;   /* lock: answers for the poller to send */
	bool answers_closed;            /* lock: the poller is gone; send yourself */
	int wake_fd;                    /* eventfd: wakes the poller's epoll_wait */
	/* A wake-up is written and the poller has not begun its next turn:
	 * later wakers skip the eventfd write (hl_pool_wake_poller). */
	atomic_bool wake_pending;
	atomic_bool poller_done;
	atomic_llong last_progress_ms;

	pthread_t poller_thread, heartbeat_thread;
	pthread_t *executor_threads;
	int n_executors;
	pthread_cond_t heartbeat_cond;

	atomic_long tasks_received, results_undelivered, aborted_polls;
};

/* pool.c */
void hl_task_unref(hl_task *t);
/* Returns a finished task's slot (lock not held) and wakes the poller. */
void hl_pool_release_task(hl_pool *pool, hl_task *t);
/* The same from the poller thread itself: no wake-up needed. */
void hl_pool_release_task_nowake(hl_pool *pool, hl_task *t);
/* Wakes the poller, unless a wake-up is already pending: the poller clears
 * wake_pending at the top of each turn, before it reads what wakers
 * publish, so a change made before a skipped write is seen in that turn. */
void hl_pool_wake_poller(hl_pool *pool);
/* For a task just queued (lock held): takes the most recently idle
 * executor off the idle stack and marks it woken; NULL when none is idle (a
 * busy executor takes queued work before it idles). The caller signals it
 * with hl_pool_signal_executor after unlocking, so the executor does not
 * wake only to block on the lock the waker still holds. Only for threads
 * that finish before executors may exit (the poller, joined first in
 * hl_pool_finish): the waiter lives on the executor's stack. */
hl_exec_waiter *hl_pool_take_idle_executor_locked(hl_pool *pool);
void hl_pool_signal_executor(hl_exec_waiter *w);

/* poller.c */
void *hl_poller_main(void *arg);

/* executor.c */
void *hl_executor_main(void *arg);

/* heartbeat.c */
void *hl_heartbeat_main(void *arg);

/* answer.c: sending the one answer. The caller must have claimed
 * t->answered. Retries transient failures until deadline_ms (monotonic;
 * 0 = the default budget). Never sends twice: TaskDoesNotExist,
 * InvalidToken and TaskTimedOut after a retry mean it was already settled.
 * hl_answer_success / _failure send now from the calling thread. */
#define HL_ANSWER_TIMEOUT_MS 10000L
void hl_answer_success(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *output,
		       size_t output_len, int64_t deadline_ms);
void hl_answer_failure(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *error,
		       const char *cause, int64_t deadline_ms);
/* Frees the calling thread's answer buffer (at thread exit). */
void hl_answer_thread_cleanup(void);
/* The same answers handed to the poller thread, which sends them on its
 * multi handle and releases the task when done: true. False when the
 * poller has stopped taking answers (drain): then the answer was sent from
 * the calling thread with conn, and the caller releases the task. Either
 * way the caller must not touch t after a true. */
bool hl_answer_success_async(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *output,
			     size_t output_len, int64_t deadline_ms);
bool hl_answer_failure_async(hl_pool *pool, hl_aws_conn *conn, hl_task *t, const char *error,
			     const char *cause, int64_t deadline_ms);
/* For the poller: what one attempt's result means (logged here). RETRY
 * sets t->answer_due_ms. */
typedef enum { HL_ANSWER_DONE, HL_ANSWER_RETRY } hl_answer_next;
hl_answer_next hl_answer_after_attempt(hl_pool *pool, hl_task *t, int rc, const hl_err *err);
/* Counts and logs an answer given up on. */
void hl_answer_give_up(hl_pool *pool, hl_task *t, const hl_err *err);

#endif
