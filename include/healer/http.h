/* http.h - a thin, bounded HTTP client over one reused curl easy handle.
 *
 * One hl_http per thread (curl easy handles are not shared). Keep-alive,
 * TCP keepalive, CURLOPT_NOSIGNAL, CURLOPT_MAXAGE_CONN below typical load
 * balancer idle timeouts, TLS peer and host verification always on
 * (a CA bundle may be given; verification cannot be switched off).
 * Response bodies are bounded: a larger body fails with HL_ERR_TOO_LARGE.
 * hl_http_global_init() must run once before any thread starts.
 */
#ifndef HEALER_HTTP_H
#define HEALER_HTTP_H

#include <stddef.h>

#include "healer/common.h"
#include "healer/sigv4.h"   /* hl_header */

int hl_http_global_init(hl_err *err) HL_MUST_CHECK;
void hl_http_global_cleanup(void);

typedef struct hl_http_request {
	const char *method;            /* "GET", "PUT", "POST" */
	const char *url;
	const hl_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
	long timeout_ms;               /* whole request; 0 = 10 s */
	long connect_timeout_ms;       /* 0 = 3 s */
	size_t max_response_bytes;     /* 0 = 1 MiB */
} hl_http_request;

typedef struct hl_http_response {
	long status;                   /* HTTP status, 0 if none */
	hl_buf body;                   /* owned; free with hl_http_response_free */
	char error_type[160];          /* x-amzn-ErrorType header, if any */
	char request_id[80];           /* x-amzn-RequestId header, if any */
	long retry_after_s;            /* Retry-After header, -1 if absent */
} hl_http_response;

typedef struct hl_http hl_http;

/* ca_file: a PEM bundle to trust instead of the system store (set as
 * CURLOPT_CAINFO with CURLOPT_CAPATH cleared, so no built-in CA directory
 * is trusted beside it), or NULL for the system store. */
hl_http *hl_http_new(const char *ca_file);
void hl_http_free(hl_http *h);     /* accepts NULL */

/* Performs one request. Transport failures return HL_ERR_IO or
 * HL_ERR_TIMEOUT with err->message naming the cause; any HTTP status is a
 * success at this layer (resp->status tells). resp must be zeroed or
 * previously freed by the caller; it is filled on return. */
int hl_http_perform(hl_http *h, const hl_http_request *req,
		    hl_http_response *resp, hl_err *err) HL_MUST_CHECK;
void hl_http_response_free(hl_http_response *resp);

#endif
