/* retry.c - classification, backoff and the retry quota of the AWS SDKs'
 * "standard" retry mode (see retry.h for the rules).
 */
#include <string.h>

#include "healer/retry.h"

static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError",
	"InternalFailure", "InternalServerError", "ServiceUnavailable",
	"IDPCommunicationError",
};

static bool in_list(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

bool hl_retry_is_throttle_code(const char *aws_code)
{
	return aws_code && in_list(aws_code, throttle_codes,
				   sizeof(throttle_codes) / sizeof(throttle_codes[0]));
}

hl_retry_kind hl_retry_classify(const hl_err *err)
{
	switch (err->code) {
	case HL_ERR_TIMEOUT:
		return HL_RETRY_TIMEOUT;
	case HL_ERR_IO:
		return HL_RETRY_TRANSIENT;
	case HL_ERR_AWS:
		if (hl_retry_is_throttle_code(err->aws_code) || err->http_status == 429)
			return HL_RETRY_THROTTLE;
		if (in_list(err->aws_code, transient_codes,
			    sizeof(transient_codes) / sizeof(transient_codes[0])))
			return HL_RETRY_TRANSIENT;
		switch (err->http_status) {
		case 500: case 502: case 503: case 504:
			return HL_RETRY_TRANSIENT;
		default:
			return HL_RETRY_NO;
		}
	case HL_ERR_PARSE:
		/* A 5xx with a garbled body (e.g. a proxy's HTML page). */
		if (err->http_status >= 500 && err->http_status <= 504 && err->http_status != 501)
			return HL_RETRY_TRANSIENT;
		return HL_RETRY_NO;
	default:
		return HL_RETRY_NO;
	}
}

void hl_retry_quota_init(hl_retry_quota *q, int tokens)
{
	pthread_mutex_init(&q->lock, NULL);
	q->tokens = tokens;
	q->max_tokens = tokens;
}

void hl_retry_quota_destroy(hl_retry_quota *q)
{
	pthread_mutex_destroy(&q->lock);
}

int hl_retry_quota_acquire(hl_retry_quota *q, hl_retry_kind kind)
{
	int cost = kind == HL_RETRY_TIMEOUT ? HL_RETRY_TIMEOUT_COST : HL_RETRY_COST;
	int taken = 0;
	pthread_mutex_lock(&q->lock);
	if (q->tokens >= cost) {
		q->tokens -= cost;
		taken = cost;
	}
	pthread_mutex_unlock(&q->lock);
	return taken;
}

void hl_retry_quota_release(hl_retry_quota *q, int cost_taken)
{
	int refund = cost_taken > 0 ? cost_taken : 1;
	pthread_mutex_lock(&q->lock);
	q->tokens += refund;
	if (q->tokens > q->max_tokens)
		q->tokens = q->max_tokens;
	pthread_mutex_unlock(&q->lock);
}

int hl_retry_quota_tokens(hl_retry_quota *q)
{
	pthread_mutex_lock(&q->lock);
	int t = q->tokens;
	pthread_mutex_unlock(&q->lock);
	return t;
}

int64_t hl_retry_backoff_ms(const hl_clock *clock, int attempt)
{
	int64_t ceiling = HL_RETRY_MAX_BACKOFF_MS;
	if (attempt < 1)
		attempt = 1;
	if (attempt <= 15) {
		int64_t exp = (int64_t)1000 << (attempt - 1);
		if (exp < ceiling)
			ceiling = exp;
	}
	return (int64_t)hl_random_below(clock, (uint64_t)ceiling);
}
