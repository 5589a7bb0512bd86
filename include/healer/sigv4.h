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

/* Every header given is signed (names compared case-insensitively, values
 * trimmed and inner runs of spaces/tabs collapsed, duplicates joined with
 * ',' in order): leave out headers a proxy may change (User-Agent, Expect).
 * Limits: 256 headers, 4,096 query parameters, 1 MiB canonical request
 * (HL_ERR_TOO_LARGE beyond). */
typedef struct hl_sigv4_request {
	const char *method;          /* "POST" */
	const char *path;            /* path as sent on the wire, e.g. "/" or
	                              * "/a/../b"; must start with '/' ("" is
	                              * "/"). Each segment is URI-encoded once
	                              * more ("%" -> "%25"): AWS's double
	                              * encoding for every service but S3 (S3's
	                              * single encoding is not supported). */
	const char *query;           /* query without '?', may be NULL; pairs
	                              * are percent-decoded, re-encoded and
	                              * sorted */
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
	bool normalize_path;         /* drop "." / empty segments, resolve "..";
	                              * true for every service but S3 */
	bool unsigned_payload;       /* hash is "UNSIGNED-PAYLOAD" */
	bool add_content_sha256;     /* sign and emit x-amz-content-sha256 */
} hl_sigv4_params;

/* What to add to the request. Buffers are owned by the signer and valid
 * until its next sign call. The canonical request and string to sign are
 * exposed for tests and debugging (they contain no secret). */
typedef struct hl_sigv4_result {
	const char *authorization;       /* value of the Authorization header */
	const char *amz_date;            /* value of X-Amz-Date */
	const char *security_token;      /* X-Amz-Security-Token value (the
	                                  * params' session_token) or NULL */
	const char *content_sha256;      /* x-amz-content-sha256 value or NULL */
	const char *canonical_request;
	const char *string_to_sign;
	const char *signature;           /* lowercase hex */
} hl_sigv4_result;

typedef struct hl_sigv4_signer hl_sigv4_signer;

/* Returns NULL only when OpenSSL cannot provide SHA-256. */
hl_sigv4_signer *hl_sigv4_signer_new(void);
void hl_sigv4_signer_free(hl_sigv4_signer *s);   /* accepts NULL */

/* Signs req with params. X-Amz-Date (and X-Amz-Security-Token when a token
 * is set, x-amz-content-sha256 when add_content_sha256) are signed as AWS
 * SDKs do; they and Authorization must not already be in req->headers.
 * Returns 0, or a negative hl_status with err filled and *out zeroed:
 * HL_ERR_INVALID for missing or malformed input (names what: CR/LF or other
 * control bytes in a header, path or token, a bad header name, no host...),
 * HL_ERR_TOO_LARGE past a limit, HL_ERR_INTERNAL if OpenSSL fails. */
int hl_sigv4_sign(hl_sigv4_signer *s, const hl_sigv4_request *req,
		  const hl_sigv4_params *params, hl_sigv4_result *out,
		  hl_err *err) HL_MUST_CHECK;

/* Lowercase hex SHA-256 of data into out (65 bytes with NUL). Thread-safe
 * (one reused digest context per thread); data may be NULL when len is 0. */
void hl_sha256_hex(const void *data, size_t len, char out[65]);

#endif
