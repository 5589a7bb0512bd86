/* aws.h - the AWS JSON 1.0 / 1.1 protocol client.
 *
 * hl_aws is shared by all threads (configuration, credentials provider,
 * retry quota, endpoint table); hl_aws_conn is per thread (curl handle,
 * SigV4 signer, buffers). A call: resolve the endpoint, sign, POST with
 * X-Amz-Target and the protocol's content type, parse the response or the
 * error envelope, retry per the standard mode.
 *
 * Endpoints: AWS_ENDPOINT_URL_<SERVICE_ID> then AWS_ENDPOINT_URL (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else
 * https://<prefix>.<region>.amazonaws.com. Plain http is accepted only for an
 * explicitly configured endpoint URL.
 */
#ifndef HEALER_AWS_H
#define HEALER_AWS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "healer/clock.h"
#include "healer/common.h"
#include "healer/creds.h"
#include "healer/http.h"
#include "healer/retry.h"

typedef struct hl_aws_service {
	const char *service_id;      /* env suffix: "SFN", "SSM", ... */
	const char *endpoint_prefix; /* host prefix: "states", "ssm", ... */
	const char *signing_name;    /* SigV4 service: "states", ... */
	const char *target_prefix;   /* "AWSStepFunctions" */
	const char *json_version;    /* "1.0" or "1.1" */
} hl_aws_service;

extern const hl_aws_service hl_svc_sfn;
extern const hl_aws_service hl_svc_ssm;
extern const hl_aws_service hl_svc_acm;
extern const hl_aws_service hl_svc_dynamodb;
extern const hl_aws_service hl_svc_config;
extern const hl_aws_service hl_svc_tagging;
extern const hl_aws_service hl_svc_secrets;

typedef struct hl_aws_config {
	const char *region;          /* required */
	int max_attempts;            /* 0 = AWS_MAX_ATTEMPTS or 3 */
	const char *ca_file;         /* NULL = AWS_CA_BUNDLE or system store */
	const hl_clock *clock;       /* NULL = system clock */
	hl_creds_provider *creds;    /* required; not owned */
} hl_aws_config;

typedef struct hl_aws hl_aws;
typedef struct hl_aws_conn hl_aws_conn;

/* Reads the endpoint environment once. Returns NULL and fills err on a bad
 * setting (e.g. a malformed AWS_ENDPOINT_URL). */
hl_aws *hl_aws_new(const hl_aws_config *cfg, hl_err *err);
void hl_aws_free(hl_aws *aws);      /* after every conn is freed */

hl_aws_conn *hl_aws_conn_new(hl_aws *aws);
void hl_aws_conn_free(hl_aws_conn *c);

const char *hl_aws_region(const hl_aws *aws);
const hl_clock *hl_aws_clock(const hl_aws *aws);

/* The endpoint URL for svc (owned by aws; stable). */
const char *hl_aws_endpoint(hl_aws *aws, const hl_aws_service *svc);

typedef struct hl_aws_call_opts {
	long timeout_ms;             /* per attempt; 0 = 10 s */
	int max_attempts;            /* 0 = client default; 1 = no retry */
	size_t max_response_bytes;   /* 0 = 1 MiB */
} hl_aws_call_opts;

/* Calls svc.op with the JSON body `input` (not consumed). On success
 * *output is the parsed response object (caller puts it; an empty body
 * gives an empty object). On failure returns a negative status; for a
 * service error err->code == HL_ERR_AWS, err->aws_code the sanitised error
 * name (e.g. "TaskTimedOut") and err->message the service's message.
 * Thread-safe with one conn per thread. */
int hl_aws_call(hl_aws_conn *c, const hl_aws_service *svc, const char *op,
		json_object *input, json_object **output,
		const hl_aws_call_opts *opts, hl_err *err) HL_MUST_CHECK;

/* The same with a raw JSON body (for hot paths that format it directly). */
int hl_aws_call_raw(hl_aws_conn *c, const hl_aws_service *svc, const char *op,
		    const char *body, size_t body_len, json_object **output,
		    const hl_aws_call_opts *opts, hl_err *err) HL_MUST_CHECK;

/* A signed request ready to send by another transport (the poller's curl
 * multi handle). Header strings are owned by `prep`: the lines share one
 * allocation (`block`, wiped on free: it holds the security token). */
#define HL_AWS_PREPARED_MAX_HEADERS 8
typedef struct hl_aws_prepared {
	char url[512];
	char *headers[HL_AWS_PREPARED_MAX_HEADERS];   /* "Name: value" lines */
	size_t n_headers;
	char *block;
	size_t block_len;
} hl_aws_prepared;

int hl_aws_prepare(hl_aws_conn *c, const hl_aws_service *svc, const char *op,
		   const char *body, size_t body_len, hl_aws_prepared *prep,
		   hl_err *err) HL_MUST_CHECK;
void hl_aws_prepared_free(hl_aws_prepared *prep);

/* Turns an HTTP response into the parsed object or a typed error (shared by
 * hl_aws_call and the poller). body may be NULL/empty. */
int hl_aws_parse_response(long status, const char *error_type_header,
			  const char *body, size_t body_len,
			  json_object **output, hl_err *err) HL_MUST_CHECK;

/* Sanitises an error code: text after the last '#', cut at the first ':'
 * ("aws.protocoltests#FooError:http://..." -> "FooError"). */
void hl_aws_sanitize_error_code(const char *raw, char *out, size_t outsz);

/* The retry quota shared by this client's threads (for tests/metrics). */
hl_retry_quota *hl_aws_retry_quota(hl_aws *aws);

#endif
