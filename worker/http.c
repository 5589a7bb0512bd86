/* http.c - one reused curl easy handle per thread, bounded responses.
 *
 * The handle keeps its connection cache between requests (keep-alive), so a
 * thread that calls the same endpoint again pays no new TCP or TLS
 * handshake. TLS verification is always on; only the trusted CA bundle can
 * be changed, and a given bundle is the whole trust store (no CA
 * directory). The response body is collected into an hl_buf whose max is
 * the request's bound: a larger body aborts the transfer with HL_ERR_TOO_LARGE.
 */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "healer/http.h"

/* Connections idle longer than this are not reused: below the 60 s idle
 * timeout of AWS load balancers, so we never write into a closing socket. */
#define HL_HTTP_MAXAGE_CONN_S 50L

struct hl_http {
	CURL *curl;
	char *ca_file;
	char errbuf[CURL_ERROR_SIZE];
};

int hl_http_global_init(hl_err *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return hl_err_set(err, HL_ERR_INTERNAL, "curl_global_init: %s", curl_easy_strerror(rc));
	return HL_OK;
}

void hl_http_global_cleanup(void)
{
	curl_global_cleanup();
}

hl_http *hl_http_new(const char *ca_file)
{
	hl_http *h = hl_xcalloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	if (ca_file && *ca_file)
		h->ca_file = hl_xstrdup(ca_file);
	return h;
}

void hl_http_free(hl_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h);
}

typedef struct body_sink {
	hl_buf *buf;
	bool too_large;
} body_sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	body_sink *sink = userdata;
	size_t n = size * nmemb;
	if (hl_buf_append(sink->buf, ptr, n) < 0) {
		sink->too_large = true;
		return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	return n;
}

static void copy_header_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	hl_http_response *resp = userdata;
	size_t n = size * nmemb;
	const char *colon = memchr(ptr, ':', n);
	if (!colon)
		return n;
	size_t name_len = (size_t)(colon - ptr);
	const char *v = colon + 1;
	size_t vlen = n - name_len - 1;
	if (name_len == 16 && strncasecmp(ptr, "x-amzn-ErrorType", 16) == 0) {
		copy_header_value(resp->error_type, sizeof(resp->error_type), v, vlen);
	} else if (name_len == 16 && strncasecmp(ptr, "x-amzn-RequestId", 16) == 0) {
		copy_header_value(resp->request_id, sizeof(resp->request_id), v, vlen);
	} else if (name_len == 11 && strncasecmp(ptr, "Retry-After", 11) == 0) {
		char tmp[32];
		copy_header_value(tmp, sizeof(tmp), v, vlen);
		char *end = NULL;
		long secs = strtol(tmp, &end, 10);
		if (end != tmp && *end == '\0' && secs >= 0)
			resp->retry_after_s = secs;
	}
	return n;
}

static int map_curl_error(CURLcode rc, const char *errbuf, const char *url, hl_err *err)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return hl_err_set(err, HL_ERR_TIMEOUT, "timeout calling %s: %s", url, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		return hl_err_set(err, HL_ERR_IO, "TLS failure calling %s: %s", url, detail);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return hl_err_set(err, HL_ERR_INVALID, "bad URL %s: %s", url, detail);
	default:
		return hl_err_set(err, HL_ERR_IO, "transport error calling %s: %s", url, detail);
	}
}

/* Wipes header lines (credentials, tokens) before freeing them. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

/* Builds the curl header list; rejects CR/LF so no value can inject a
 * header of its own. */
static int build_headers(const hl_http_request *req, struct curl_slist **out, hl_err *err)
{
	struct curl_slist *list = NULL;
	hl_buf line;
	hl_buf_init(&line, 64 * 1024);
	int rc = HL_OK;

	for (size_t i = 0; i < req->n_headers; i++) {
		const hl_header *hd = &req->headers[i];
		if (strpbrk(hd->name, "\r\n:") || strpbrk(hd->value, "\r\n")) {
			rc = hl_err_set(err, HL_ERR_INVALID, "header %s contains a line break", hd->name);
			goto out;
		}
		hl_buf_reset(&line);
		if (hl_buf_appendf(&line, "%s: %s", hd->name, hd->value) < 0) {
			rc = hl_err_set(err, HL_ERR_TOO_LARGE, "header %s is too long", hd->name);
			goto out;
		}
		struct curl_slist *next = curl_slist_append(list, line.data);
		if (!next)
			abort();
		list = next;
	}
	/* libcurl adds these by default; AWS does not want them. */
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, "Accept:");
	if (!list)
		abort();
out:
	hl_buf_free_secret(&line);   /* it held Authorization values */
	if (rc < 0) {
		free_headers(list);
		list = NULL;
	}
	*out = list;
	return rc;
}

int hl_http_perform(hl_http *h, const hl_http_request *req, hl_http_response *resp, hl_err *err)
{
	struct curl_slist *headers = NULL;
	CURL *c = h->curl;
	int rc;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	hl_buf_init(&resp->body, req->max_response_bytes ? req->max_response_bytes : 1024 * 1024);
	HL_GUARD(build_headers(req, &headers, err));

	body_sink sink = { .buf = &resp->body, .too_large = false };
	curl_easy_reset(c);   /* keeps the connection cache */
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 15L);
	curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, HL_HTTP_MAXAGE_CONN_S);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file) {
		/* The bundle replaces the system store: CAINFO alone would leave a
		 * CA directory built into libcurl (Debian's /etc/ssl/certs) trusted. */
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 3000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body_len) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		}
	}

	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (sink.too_large) {
		rc = hl_err_set(err, HL_ERR_TOO_LARGE, "response from %s exceeds %zu bytes",
				req->url, resp->body.max);
	} else if (cc != CURLE_OK) {
		rc = map_curl_error(cc, h->errbuf, req->url, err);
	} else {
		rc = HL_OK;
		if (!resp->body.data)
			HL_GUARD_GOTO(rc, hl_buf_append(&resp->body, "", 0), out);
	}
out:
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	free_headers(headers);
	return rc;
}

void hl_http_response_free(hl_http_response *resp)
{
	if (resp)
		hl_buf_free(&resp->body);
}
