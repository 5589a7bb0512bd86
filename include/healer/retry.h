/* retry.h - the AWS SDKs' "standard" retry mode.
 *
 * Retryable: throttling error codes, transient codes, HTTP 500/502/503/504,
 * transport errors and timeouts. Backoff is full jitter,
 * random(0, 1) * 2^attempt seconds, capped at 20 s. A retry quota shared by
 * all threads of a client (500 tokens; a retry costs 5, a retry after a
 * timeout 10; a success refunds what its retries cost, or 1 when it needed
 * none) stops retry storms when a service is down.
 */
#ifndef HEALER_RETRY_H
#define HEALER_RETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "healer/clock.h"
#include "healer/common.h"

#define HL_RETRY_QUOTA_INITIAL 500
#define HL_RETRY_COST 5
#define HL_RETRY_TIMEOUT_COST 10
#define HL_RETRY_MAX_BACKOFF_MS 20000

typedef enum hl_retry_kind {
	HL_RETRY_NO = 0,
	HL_RETRY_TRANSIENT,    /* 5xx, connection reset, transient codes */
	HL_RETRY_THROTTLE,     /* throttling codes */
	HL_RETRY_TIMEOUT,      /* the transport timed out */
} hl_retry_kind;

/* Classifies a failed attempt (err from hl_aws / hl_http). */
hl_retry_kind hl_retry_classify(const hl_err *err);
bool hl_retry_is_throttle_code(const char *aws_code);

typedef struct hl_retry_quota {
	pthread_mutex_t lock;
	int tokens;
	int max_tokens;
} hl_retry_quota;

void hl_retry_quota_init(hl_retry_quota *q, int tokens);
void hl_retry_quota_destroy(hl_retry_quota *q);
/* Takes the cost of one retry; returns the cost taken (> 0) or 0 when the
 * quota is exhausted (then do not retry). Thread-safe. */
int hl_retry_quota_acquire(hl_retry_quota *q, hl_retry_kind kind);
/* After a success: refund `cost_taken` (sum of this call's retries), or 1
 * when the call succeeded first time (cost_taken == 0). Capped at max. */
void hl_retry_quota_release(hl_retry_quota *q, int cost_taken);
int hl_retry_quota_tokens(hl_retry_quota *q);

/* Backoff before retry number `attempt` (1 = first retry):
 * random in [0, min(2^(attempt-1) s, 20 s)). */
int64_t hl_retry_backoff_ms(const hl_clock *clock, int attempt);

#endif
