/* common.c - error details, abort-on-OOM allocation, bounded buffers.
 *
 * The worker's out-of-memory policy is decided here once: an allocation
 * failure prints one line and aborts. Everything else builds on hl_buf,
 * which refuses to grow beyond its `max`, so nothing read from the network
 * is unbounded.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/common.h"

static void oom(size_t n)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
	abort();
}

void *hl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *hl_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		oom(count * size);
	return p;
}

void *hl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *hl_xstrdup(const char *s)
{
	return hl_xstrndup(s, strlen(s));
}

char *hl_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = hl_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *hl_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;

	va_start(ap, fmt);
	int n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return out;
}

int hl_err_set(hl_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->http_status = 0;
		err->aws_code[0] = '\0';
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

void hl_err_clear(hl_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

const char *hl_status_name(int code)
{
	switch (code) {
	case HL_OK: return "ok";
	case HL_ERR_INVALID: return "invalid";
	case HL_ERR_PARSE: return "parse";
	case HL_ERR_IO: return "io";
	case HL_ERR_TIMEOUT: return "timeout";
	case HL_ERR_AWS: return "aws";
	case HL_ERR_TOO_LARGE: return "too_large";
	case HL_ERR_NOT_FOUND: return "not_found";
	case HL_ERR_CANCELLED: return "cancelled";
	case HL_ERR_CONFIG: return "config";
	case HL_ERR_CREDENTIALS: return "credentials";
	case HL_ERR_INTERNAL: return "internal";
	default: return "unknown";
	}
}

void hl_buf_init(hl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int buf_reserve(hl_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return HL_ERR_TOO_LARGE;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return HL_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = hl_xrealloc(b->data, cap);
	b->cap = cap;
	return HL_OK;
}

int hl_buf_append(hl_buf *b, const void *data, size_t n)
{
	HL_GUARD(buf_reserve(b, n));
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HL_OK;
}

int hl_buf_appendf(hl_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return HL_ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return hl_buf_append(b, small, (size_t)n);
	HL_GUARD(buf_reserve(b, (size_t)n));
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return HL_OK;
}

void hl_buf_reset(hl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void hl_buf_free(hl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void hl_buf_free_secret(hl_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	hl_buf_free(b);
}

size_t hl_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t len = strlen(src);
	if (dstsz) {
		size_t n = len < dstsz - 1 ? len : dstsz - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void hl_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}
