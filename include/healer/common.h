/* common.h - error convention, out-of-memory policy and bounded buffers.
 *
 * Every fallible function returns int: 0 (HL_OK) on success, a negative
 * hl_status on failure, and fills an optional hl_err with a readable detail.
 * Memory: the worker aborts on out-of-memory (hl_xmalloc and friends); there
 * is no partial-allocation recovery path anywhere.
 */
#ifndef HEALER_COMMON_H
#define HEALER_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_MUST_CHECK __attribute__((warn_unused_result))
#define HL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

typedef enum hl_status {
	HL_OK = 0,
	HL_ERR_INVALID = -1,     /* bad argument or input (names what) */
	HL_ERR_PARSE = -2,       /* malformed document */
	HL_ERR_IO = -3,          /* transport: connect, reset, DNS, TLS */
	HL_ERR_TIMEOUT = -4,     /* transport timeout */
	HL_ERR_AWS = -5,         /* the service answered with an error */
	HL_ERR_TOO_LARGE = -6,   /* a bound was exceeded */
	HL_ERR_NOT_FOUND = -7,
	HL_ERR_CANCELLED = -8,   /* the task was cancelled (heartbeat said so) */
	HL_ERR_CONFIG = -9,      /* bad configuration */
	HL_ERR_CREDENTIALS = -10,/* no usable credentials */
	HL_ERR_INTERNAL = -11,
} hl_status;

/* Detail of the last failure. `code` is the hl_status; `aws_code` the
 * sanitised AWS error name when code == HL_ERR_AWS (else empty). */
typedef struct hl_err {
	int code;
	int http_status;
	char aws_code[128];
	char message[768];
} hl_err;

/* Sets err (if non-NULL) and returns code, so callers can
 * `return hl_err_set(err, HL_ERR_INVALID, "...")`. */
int hl_err_set(hl_err *err, int code, const char *fmt, ...) HL_PRINTF(3, 4);
void hl_err_clear(hl_err *err);
/* A stable lowercase name for an hl_status ("invalid", "io", ...). */
const char *hl_status_name(int code);

/* Return early on a negative result: keeps call sites flat. */
#define HL_GUARD(expr)                         \
	do {                                   \
		int hl_guard_rc_ = (expr);     \
		if (hl_guard_rc_ < 0)          \
			return hl_guard_rc_;   \
	} while (0)

/* Jump to the function's single cleanup label on a negative result. */
#define HL_GUARD_GOTO(rc, expr, label)         \
	do {                                   \
		(rc) = (expr);                 \
		if ((rc) < 0)                  \
			goto label;            \
	} while (0)

/* Allocation that aborts the process on out-of-memory. */
void *hl_xmalloc(size_t n);
void *hl_xcalloc(size_t count, size_t size);
void *hl_xrealloc(void *p, size_t n);
char *hl_xstrdup(const char *s);
char *hl_xstrndup(const char *s, size_t n);
/* asprintf that aborts on OOM. */
char *hl_xasprintf(const char *fmt, ...) HL_PRINTF(1, 2);

/* Bounded, growable byte buffer (always NUL-terminated when data != NULL).
 * `max` is the largest len allowed; appends beyond it fail with
 * HL_ERR_TOO_LARGE and leave the buffer unchanged. */
typedef struct hl_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
} hl_buf;

void hl_buf_init(hl_buf *b, size_t max);
int hl_buf_append(hl_buf *b, const void *data, size_t n) HL_MUST_CHECK;
int hl_buf_appendf(hl_buf *b, const char *fmt, ...) HL_PRINTF(2, 3) HL_MUST_CHECK;
void hl_buf_reset(hl_buf *b);   /* len = 0, keeps memory */
void hl_buf_free(hl_buf *b);    /* frees; safe on a zeroed or freed buf */
/* Wipes the contents (OPENSSL_cleanse) before freeing: for secrets. */
void hl_buf_free_secret(hl_buf *b);

/* Copies src into dst (size dstsz), always NUL-terminates; returns the
 * length of src (truncation when >= dstsz). */
size_t hl_strlcpy(char *dst, const char *src, size_t dstsz);

/* Wipes and frees a NUL-terminated secret string; accepts NULL. */
void hl_free_secret(char *s);

#endif
