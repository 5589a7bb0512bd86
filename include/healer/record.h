/* record.h - what the three record activities (ticket, notify, audit) and
 * their web API clients (jira.h, slack.h) share.
 *
 *  - hl_record: one execution's outcome, read once from the activity input
 *    ({"execution", "dryRun", "mode", "event", "guard", "diagnosis",
 *    "remediation", "error", "ticket"}) with every identifier validated and
 *    every free-text value cleaned and bounded, so each activity formats the
 *    same facts the same way.
 *  - text and time helpers: cleaning untrusted text, the execution label,
 *    the console link, ISO-8601 timestamps with milliseconds.
 *  - hl_webapi: a bounded HTTP call with retries for non-AWS web APIs
 *    (Retry-After on 429, backoff on 5xx and transport failures), waiting
 *    through a caller-supplied sleep so a cancelled task stops waiting.
 *
 * Nothing here is thread-shared: an hl_record or hl_webapi belongs to the
 * executor thread running the activity.
 */
#ifndef HEALER_RECORD_H
#define HEALER_RECORD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/activity.h"
#include "healer/common.h"
#include "healer/http.h"

/* ---- URLs ---- */

/* A base URL for a web API (Jira site, Slack API): "https://host[:port][/path]"
 * or, for tests only, "http://" to 127.0.0.1, localhost or [::1]. No
 * userinfo, query, fragment, spaces or control characters; at most 512
 * bytes. The same rule as AWS endpoint URLs: plain http only for an
 * explicitly configured loopback address. */
bool hl_valid_api_base_url(const char *url);

/* A link we may put in a message: http(s)://, printable ASCII without
 * spaces, quotes, '<', '>', '|' or '\\'; at most 1024 bytes. */
bool hl_valid_link_url(const char *url);

/* A DynamoDB table name: 3..255 of [A-Za-z0-9_.-]. */
bool hl_valid_table_name(const char *s);

/* ---- text ---- */

/* A clean copy of untrusted text (caller frees): invalid UTF-8 becomes
 * U+FFFD, control characters become spaces (newlines and tabs are kept when
 * keep_newlines), and text longer than max bytes is cut at a character
 * boundary and ends with "...(truncated)". NULL s gives NULL. */
char *hl_clean_text(const char *s, size_t max, bool keep_newlines);

/* prefix + the first hex_digits (at most 64) lowercase hex digits of
 * SHA-256(s), NUL-terminated in out (outsz bytes, which must fit): the
 * fixed-size keys derived from ids (labels, table keys). */
void hl_sha256_key(const char *prefix, const char *s, size_t hex_digits, char *out, size_t outsz);

/* "healer-" + the first 16 hex digits of SHA-256(execution_arn): the label
 * (Jira) and idempotency key derived from an execution. out: 24 bytes. */
void hl_execution_label(const char *execution_arn, char out[24]);

/* The Step Functions console link of an execution (validated ARN):
 * https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<arn>
 * (console.amazonaws-us-gov.com / console.amazonaws.cn for those
 * partitions). Returns HL_ERR_INVALID for an invalid ARN. */
int hl_console_execution_url(const char *execution_arn, hl_buf *out) HL_MUST_CHECK;

/* Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with
 * NUL). Thread-safe. */
void hl_format_iso8601_ms(int64_t epoch_ms, char out[25]);
/* Normalises an ISO-8601 UTC timestamp ("2026-11-27T04:50:00Z",
 * "...:00.1234Z", "...+00:00") to the form above (fraction cut or padded to
 * 3 digits; only a zero offset accepted). Returns 0 or -1. */
int hl_normalize_iso8601_ms(const char *s, char out[25]);

/* ---- the execution's outcome ---- */

typedef struct hl_record {
	/* always set */
	char execution[257];       /* validated execution ARN */
	char label[24];            /* hl_execution_label(execution) */
	char region[32];           /* of the execution */
	bool escalated;            /* mode == "escalated" */
	const char *mode;          /* "resolved" | "escalated" (static) */
	bool dry_run;              /* input dryRun OR the worker's dry-run */

	/* NULL when absent (or, for identifiers, when invalid: then
	 * resource_invalid says so) */
	const char *klass;         /* disk_pressure|public_ssh|cert_expiry|unknown (static) */
	double confidence;         /* -1 when absent */
	const char *resource_type; /* instance|security-group|certificate (static) */
	char *resource_id;         /* validated for its type */
	char *resource_arn;        /* validated ARN shape */
	char *account;             /* 12 digits */
	char *resource_region;     /* valid region */
	bool resource_invalid;     /* a resource was given but failed validation */
	char *owner;               /* diagnosis.owner, cleaned (<= 256) */
	const char *action;        /* disk_cleanup|close_public_ssh|renew_certificate (static) */
	int applied, verified;     /* -1 absent, 0/1 */
	char *reason;              /* the outcome in one line (always set, <= 1000) */
	char *error_name;          /* error.Error, cleaned (<= 256) */
	char *error_cause;         /* error.Cause, cleaned (<= 4000, newlines kept) */
	char *rollback;            /* remediation.rollback (<= 4000, newlines kept) */
	char *owner_message;       /* remediation.details.ownerMessage (<= 1000) */
	char *ticket_key;          /* ticket.key (or record.ticket.key), a valid Jira key */
	char *ticket_url;          /* ticket.url (or record.ticket.url), a valid link */
	char *event_id;            /* event.id, cleaned (<= 128) */
	char *event_time;          /* event.time normalised (hl_normalize_iso8601_ms) */
	char *started_at;          /* startedAt normalised */
	char *event_source;        /* event.source, cleaned (<= 128) */
	char *event_detail_type;   /* event["detail-type"], cleaned (<= 128) */

	/* borrowed from the input (valid while the input lives) */
	json_object *event, *guard, *diagnosis, *remediation, *error;
} hl_record;

/* Reads the input. A missing or invalid "execution" or "mode" (or a
 * non-object input) fails the task with Healer.InvalidInput through
 * hl_activity_fail and returns HL_ERR_INVALID; anything else that is
 * missing or malformed is left out (a record of a broken execution must
 * still be written). ctx may be NULL (tests): then only the input's
 * dryRun counts and failures are only returned. */
int hl_record_parse(hl_activity_ctx *ctx, json_object *input, hl_record *rec) HL_MUST_CHECK;
void hl_record_free(hl_record *rec);   /* safe on a zeroed or freed record */

/* "remediated" | "dry-run" (resolved in dry-run) | "escalated". */
const char *hl_record_result(const hl_record *rec);
/* "i-0abc... (instance, 123456789012, us-east-1)" or "(none)" into out. */
void hl_record_resource_text(const hl_record *rec, char *out, size_t outsz);

/* ---- web API calls ---- */

typedef struct hl_webapi {
	hl_http *http;              /* owned (hl_webapi_init/free) */
	int max_attempts;           /* 5xx / transport: total tries; >= 1 */
	long backoff_base_ms;       /* first backoff; doubles, capped at 5 s */
	long max_retry_after_ms;    /* a longer Retry-After is not waited out */
	int max_throttle_waits;     /* 429s waited out per call */
	long timeout_ms;            /* per attempt */
	/* Waits ms; returns false when the task was cancelled. */
	bool (*sleep)(void *arg, long ms);
	void *sleep_arg;
	/* counters for tests and logs */
	int retries, throttle_waits;
} hl_webapi;

/* Defaults: 3 attempts, 250 ms backoff, Retry-After up to 30 s, 3 throttle
 * waits, 10 s per attempt, nanosleep. Returns HL_ERR_INTERNAL if curl
 * cannot make a handle. */
int hl_webapi_init(hl_webapi *w, const char *ca_file, hl_err *err) HL_MUST_CHECK;
void hl_webapi_free(hl_webapi *w);

/* What a web API client's config (hl_jira_config, hl_slack_config) sets of
 * its hl_webapi; a 0 / NULL member keeps hl_webapi_init's default. */
typedef struct hl_webapi_opts {
	const char *ca_file;        /* NULL = HEALER_CA_BUNDLE, else system store */
	long timeout_ms;
	int max_attempts;
	long backoff_base_ms;
	long max_retry_after_ms;
	bool (*sleep)(void *arg, long ms);
	void *sleep_arg;            /* with sleep */
} hl_webapi_opts;

/* The hl_webapi_opts of a config that has those members by those names. */
#define HL_WEBAPI_OPTS_OF(cfg)                                                                    \
	((hl_webapi_opts){ .ca_file = (cfg)->ca_file, .timeout_ms = (cfg)->timeout_ms,                 \
			   .max_attempts = (cfg)->max_attempts, .backoff_base_ms = (cfg)->backoff_base_ms, \
			   .max_retry_after_ms = (cfg)->max_retry_after_ms, .sleep = (cfg)->sleep,       \
			   .sleep_arg = (cfg)->sleep_arg })

/* hl_webapi_init with opts->ca_file (when NULL, the HEALER_CA_BUNDLE
 * setting: hl_webapi_ca_bundle without the file check), then the other
 * members that are set. The Jira and Slack clients are made here, so both
 * trust the same CAs. */
int hl_webapi_init_opts(hl_webapi *w, const hl_webapi_opts *opts, hl_err *err) HL_MUST_CHECK;

/* HEALER_CA_BUNDLE: a PEM file of CA certificates the Jira and Slack
 * clients trust INSTEAD OF the system store (hl_http: CURLOPT_CAINFO with
 * no CA directory); AWS_CA_BUNDLE does not apply to them. *path = the value,
 * or NULL when unset or empty (the system store). With check_file, the
 * file must also be a readable regular file of at most 4 MiB holding at
 * least one PEM certificate and nothing OpenSSL cannot read: the check the
 * init hooks of the activities calling Jira or Slack make at worker start.
 * Errors: HL_ERR_CONFIG, the message starting "HEALER_CA_BUNDLE: " and
 * naming the path and the reason. Reads the environment and the file only:
 * safe from any thread. */
int hl_webapi_ca_bundle(bool check_file, const char **path, hl_err *err) HL_MUST_CHECK;

/* A copy of a base URL without its trailing '/'s (the caller frees it). */
char *hl_webapi_base_url(const char *url);

/* Performs req. A 429 is retried after its Retry-After (1 s when absent)
 * up to max_throttle_waits times while Retry-After <= max_retry_after_ms;
 * when `idempotent`, 5xx and transport failures are retried up to
 * max_attempts with backoff. Returns 0 with the final response in resp
 * (whatever its status: the caller maps it), or the transport error of the
 * last attempt, or HL_ERR_CANCELLED when a wait was cut short. resp is
 * zeroed first and must be freed with hl_http_response_free. */
int hl_webapi_perform(hl_webapi *w, const hl_http_request *req, bool idempotent,
		      hl_http_response *resp, hl_err *err) HL_MUST_CHECK;

/* Parses a response body as a JSON object (NULL when not an object). */
json_object *hl_webapi_json(const hl_http_response *resp);

#endif
