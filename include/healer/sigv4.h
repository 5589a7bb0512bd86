/* sigv4.h - AWS Signature Version 4 header signing (OpenSSL).
 *
 * An hl_sigv4_signer holds reusable OpenSSL contexts and a one-entry cache of
 * the derived signing key per (secret, date, region, service). A signer is
 * NOT thread-safe: each thread owns one (the worker gives each executor and
 * the I/O thread their own). Secrets in the cache are wiped on change/free.
 */
#ifndef HEALER_SIGV4_H
#define HEALER_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/common.h"

typedef struct hl_header {
	const char *name;
	const char *value;
} hl_header;

typedef struct hl_sigv4_request {
	const char *method;          /* "POST" */
	const char *path;            /* raw path, e.g. "/" or "/a/../b" */
	const char *query;           /* raw query without '?', may be NULL */
	const hl_header *headers;    /* must include host */
	size_t n_headers;
	const void *payload;         /* may be NULL when payload_len == 0 */
	size_t payload_len;
} hl_sigv4_request;

typedef struct hl_sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;   /* NULL or "" when none */
	const char *region;
	const char *service;
	int64_t time_s;              /* signing time, epoch seconds */
	bool normalize_path;         /* true for every service but S3 */
	bool unsigned_payload;       /* hash is "UNSIGNED-PAYLOAD" */
	bool add_content_sha256;     /* sign and emit x-amz-content-sha256 */
} hl_sigv4_params;

/* What to add to the request. Buffers are owned by the signer and valid
 * until its next sign call. The canonical request and string to sign are
 * exposed for tests and debugging (they contain no secret). */
typedef struct hl_sigv4_result {
	const char *authorization;       /* value of the Authorization header */
	const char *amz_date;            /* value of X-Amz-Date */
	const char *security_token;      /* X-Amz-Security-Token value or NULL */
	const char *content_sha256;      /* x-amz-content-sha256 value or NULL */
	const char *canonical_request;
	const char *string_to_sign;
	const char *signature;           /* lowercase hex */
} hl_sigv4_result;

typedef struct hl_sigv4_signer hl_sigv4_signer;

hl_sigv4_signer *hl_sigv4_signer_new(void);
void hl_sigv4_signer_free(hl_sigv4_signer *s);   /* accepts NULL */

/* Signs req with params. X-Amz-Date (and X-Amz-Security-Token when a token
 * is set) are signed as AWS SDKs do; they must not already be in
 * req->headers. Returns 0 or a negative hl_status with err filled. */
int hl_sigv4_sign(hl_sigv4_signer *s, const hl_sigv4_request *req,
		  const hl_sigv4_params *params, hl_sigv4_result *out,
		  hl_err *err) HL_MUST_CHECK;

/* Lowercase hex SHA-256 of data into out (65 bytes with NUL). */
void hl_sha256_hex(const void *data, size_t len, char out[65]);

#endif
