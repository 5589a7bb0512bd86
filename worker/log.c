/* log.c - JSON log lines, one write(2) per line.
 *
 * How it works: hl_log() checks the level first (nothing is formatted for a
 * disabled level), then builds the whole line in a per-thread hl_buf that is
 * kept between calls, so the hot path does not allocate once the buffer has
 * grown to the size of a typical line. The finished line goes out in one
 * write(2) (looping on partial writes and EINTR) under a small mutex that
 * guards nothing but the write itself: lines longer than PIPE_BUF, or a
 * write cut short by a signal, still never interleave with another thread's
 * line. Formatting happens outside the mutex.
 *
 * Every string from the outside goes through hl_json_escape(): quotes,
 * backslashes and control characters are escaped and invalid UTF-8 becomes
 * \ufffd, so a hostile value can neither end the line nor add a field.
 * String values longer than HL_LOG_VALUE_MAX bytes are cut (at a character
 * boundary) and marked; a line longer than HL_LOG_LINE_MAX drops its
 * remaining fields and says so with "log_truncated":true.
 *
 * Process-wide settings: the level and fd are atomics (they may be read
 * and even changed while threads log). The worker name is set once at start,
 * before any thread is created (thread creation orders that write before
 * every read); it is not changed afterwards.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "healer/common.h"
#include "healer/log.h"
#include "healer/sigv4.h"

#define HL_LOG_LINE_MAX  (64 * 1024)  /* fields beyond this are dropped */
#define HL_LOG_LINE_SLACK 128         /* room for the closing tail */
#define HL_LOG_VALUE_MAX (8 * 1024)   /* bytes of one string value */
#define HL_LOG_WORKER_MAX 512         /* escaped ,"worker":"..." fragment */

static atomic_int g_level = HL_LOG_INFO;
static atomic_int g_fd = 1;
/* ,"worker":"<escaped>" or "" when no worker is set. Set before threads. */
static char g_worker_json[HL_LOG_WORKER_MAX];
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- settings -------------------------------------------------------- */

void hl_log_set_level(hl_log_level level)
{
	atomic_store_explicit(&g_level, (int)level, memory_order_relaxed);
}

hl_log_level hl_log_get_level(void)
{
	return (hl_log_level)atomic_load_explicit(&g_level, memory_order_relaxed);
}

void hl_log_set_fd(int fd)
{
	atomic_store_explicit(&g_fd, fd, memory_order_relaxed);
}

void hl_log_set_worker(const char *worker)
{
	hl_buf b;

	g_worker_json[0] = '\0';
	if (!worker || !*worker)
		return;
	hl_buf_init(&b, sizeof(g_worker_json) - 1);
	if (hl_buf_append(&b, ",\"worker\":", 10) == HL_OK &&
	    hl_json_escape(&b, worker, strnlen(worker, 80)) == HL_OK)
		memcpy(g_worker_json, b.data, b.len + 1);
	hl_buf_free(&b);
}

int hl_log_parse_level(const char *s, hl_log_level *out)
{
	static const struct {
		const char *name;
		hl_log_level level;
	} names[] = {
		{ "debug", HL_LOG_DEBUG }, { "info", HL_LOG_INFO },
		{ "warn", HL_LOG_WARN },   { "warning", HL_LOG_WARN },
		{ "error", HL_LOG_ERROR }, { "off", HL_LOG_OFF },
	};

	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			if (out)
				*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

static const char *level_name(hl_log_level level)
{
	switch (level) {
	case HL_LOG_DEBUG: return "debug";
	case HL_LOG_INFO: return "info";
	case HL_LOG_WARN: return "warn";
	case HL_LOG_ERROR: return "error";
	default: return "off";
	}
}

/* ---- escaping -------------------------------------------------------- */

/* Bytes that can be copied as they are: printable ASCII except the quote
 * and the backslash. */
static inline int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at p (n bytes available), or 0 when
 * it is invalid; *consumed then holds the length of its maximal valid
 * prefix (at least 1), which becomes one U+FFFD (Unicode's recommended
 * practice for replacement). */
static size_t utf8_seq(const unsigned char *p, size_t n, size_t *consumed)
{
	unsigned char c = p[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;   /* range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;      /* no UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;      /* nothing above U+10FFFF */
	} else {
		*consumed = 1;
		return 0;
	}
	size_t i = 1;
	for (; i < need && i < n; i++) {
		unsigned char b = p[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			break;
	}
	*consumed = i;
	return i == need ? need : 0;
}

/* Appends the escaped body of s (no quotes). */
static int escape_body(hl_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;

	while (p < end) {
		const unsigned char *run = p;
		while (p < end && plain(*p))
			p++;
		if (p > run)
			HL_GUARD(hl_buf_append(b, run, (size_t)(p - run)));
		if (p == end)
			break;

		unsigned char c = *p;
		char esc[6];
		if (c >= 0x80) {
			size_t used;
			size_t n = utf8_seq(p, (size_t)(end - p), &used);
			if (n) {
				HL_GUARD(hl_buf_append(b, p, n));
			} else {
				HL_GUARD(hl_buf_append(b, "\\ufffd", 6));
			}
			p += n ? n : used;
			continue;
		}
		switch (c) {
		case '"': HL_GUARD(hl_buf_append(b, "\\\"", 2)); break;
		case '\\': HL_GUARD(hl_buf_append(b, "\\\\", 2)); break;
		case '\n': HL_GUARD(hl_buf_append(b, "\\n", 2)); break;
		case '\r': HL_GUARD(hl_buf_append(b, "\\r", 2)); break;
		case '\t': HL_GUARD(hl_buf_append(b, "\\t", 2)); break;
		case '\b': HL_GUARD(hl_buf_append(b, "\\b", 2)); break;
		case '\f': HL_GUARD(hl_buf_append(b, "\\f", 2)); break;
		default:   /* other C0 controls and DEL */
			memcpy(esc, "\\u00", 4);
			esc[4] = hexdig[c >> 4];
			esc[5] = hexdig[c & 0xf];
			HL_GUARD(hl_buf_append(b, esc, 6));
			break;
		}
		p++;
	}
	return HL_OK;
}

static void buf_truncate(hl_buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

int hl_json_escape(hl_buf *buf, const char *s, size_t len)
{
	size_t start = buf->len;
	int rc;

	if (!s)
		len = 0;
	HL_GUARD_GOTO(rc, hl_buf_append(buf, "\"", 1), fail);
	if (len)
		HL_GUARD_GOTO(rc, escape_body(buf, s, len), fail);
	HL_GUARD_GOTO(rc, hl_buf_append(buf, "\"", 1), fail);
	return HL_OK;
fail:
	buf_truncate(buf, start);   /* all or nothing, as hl_buf_append */
	return rc;
}

/* A string value, cut to HL_LOG_VALUE_MAX bytes at a character boundary
 * with a marker saying how long it was. */
static int append_value(hl_buf *b, const char *s)
{
	size_t len = strlen(s);
	if (len <= HL_LOG_VALUE_MAX)
		return hl_json_escape(b, s, len);

	size_t cut = HL_LOG_VALUE_MAX;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;   /* do not split a character (at most 3 steps if valid) */
	HL_GUARD(hl_buf_append(b, "\"", 1));
	HL_GUARD(escape_body(b, s, cut));
	HL_GUARD(hl_buf_appendf(b, "...(truncated, %zu bytes)\"", len));
	return HL_OK;
}

/* ---- line building ---------------------------------------------------- */

typedef struct tl_state {
	hl_buf line;
	time_t ts_sec;          /* second that ts_prefix was made for */
	char ts_prefix[24];     /* "2026-11-27T04:40:39." */
} tl_state;

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static _Thread_local tl_state *tl;

static void tl_free(void *p)
{
	tl_state *st = p;
	if (st) {
		hl_buf_free(&st->line);
		free(st);
	}
	tl = NULL;
}

static void tl_key_create(void)
{
	if (pthread_key_create(&tl_key, tl_free) != 0)
		abort();
}

/* The calling thread's state; the key's destructor frees it when the
 * thread exits. */
static tl_state *tl_get(void)
{
	if (!tl) {
		pthread_once(&tl_once, tl_key_create);
		tl = hl_xcalloc(1, sizeof(*tl));
		hl_buf_init(&tl->line, HL_LOG_LINE_MAX + HL_LOG_LINE_SLACK);
		tl->ts_sec = (time_t)-1;
		(void)pthread_setspecific(tl_key, tl);
	}
	return tl;
}

static char *put2(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) from CLOCK_REALTIME. The
 * date part is formatted once per second per thread. */
static void format_ts(tl_state *st, char out[25])
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != st->ts_sec) {
		struct tm tm;
		char *p = st->ts_prefix;
		if (!gmtime_r(&now.tv_sec, &tm))
			memset(&tm, 0, sizeof(tm));
		int year = tm.tm_year + 1900;
		if (year < 0 || year > 9999)
			year = 0;
		p = put2(p, year / 100);
		p = put2(p, year % 100);
		*p++ = '-';
		p = put2(p, tm.tm_mon + 1);
		*p++ = '-';
		p = put2(p, tm.tm_mday);
		*p++ = 'T';
		p = put2(p, tm.tm_hour);
		*p++ = ':';
		p = put2(p, tm.tm_min);
		*p++ = ':';
		p = put2(p, tm.tm_sec);
		*p++ = '.';
		*p = '\0';
		st->ts_sec = now.tv_sec;
	}
	int ms = (int)(now.tv_nsec / 1000000);
	memcpy(out, st->ts_prefix, 20);
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

static int append_field(hl_buf *b, const hl_log_field *f)
{
	HL_GUARD(hl_buf_append(b, ",", 1));
	HL_GUARD(hl_json_escape(b, f->key, strlen(f->key)));
	HL_GUARD(hl_buf_append(b, ":", 1));
	switch (f->type) {
	case HL_F_STR:
		return append_value(b, f->s);
	case HL_F_INT:
		return hl_buf_appendf(b, "%lld", (long long)f->i);
	case HL_F_BOOL:
		return f->i ? hl_buf_append(b, "true", 4) : hl_buf_append(b, "false", 5);
	case HL_F_RAW_JSON:
		return hl_buf_append(b, f->s, strlen(f->s));
	}
	return HL_ERR_INVALID;
}

static void write_all(int fd, const char *p, size_t n)
{
	pthread_mutex_lock(&g_write_lock);
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, 1000) <= 0)
				break;   /* stuck reader: drop the rest of the line */
		} else {
			break;   /* nowhere to report a failed log write */
		}
	}
	pthread_mutex_unlock(&g_write_lock);
}

void hl_log_write_line(const char *line, size_t n)
{
	if (!line || n == 0)
		return;
	int saved_errno = errno;
	write_all(atomic_load_explicit(&g_fd, memory_order_relaxed), line, n);
	errno = saved_errno;
}

void hl_log(hl_log_level level, const char *msg, const hl_log_field *fields, size_t n)
{
	if ((unsigned)level >= HL_LOG_OFF || !hl_log_enabled(level))
		return;

	int saved_errno = errno;
	tl_state *st = tl_get();
	hl_buf *b = &st->line;
	char ts[25];
	bool truncated = false;

	hl_buf_reset(b);
	format_ts(st, ts);
	/* These fit: the line buffer is far larger than their bounds. */
	if (hl_buf_appendf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
			   level_name(level)) < 0 ||
	    hl_json_escape(b, msg ? msg : "", msg ? strnlen(msg, 1024) : 0) < 0 ||
	    hl_buf_append(b, g_worker_json, strlen(g_worker_json)) < 0)
		goto out;

	for (size_t i = 0; i < n; i++) {
		const hl_log_field *f = &fields[i];
		if (!f->key || ((f->type == HL_F_STR || f->type == HL_F_RAW_JSON) && !f->s))
			continue;
		size_t mark = b->len;
		if (append_field(b, f) < 0 || b->len > HL_LOG_LINE_MAX) {
			buf_truncate(b, mark);
			truncated = true;
			break;
		}
	}
	if (truncated && hl_buf_append(b, ",\"log_truncated\":true", 21) < 0)
		goto out;
	if (hl_buf_append(b, "}\n", 2) < 0)
		goto out;
	write_all(atomic_load_explicit(&g_fd, memory_order_relaxed), b->data, b->len);
out:
	errno = saved_errno;
}

/* ---- token hash ------------------------------------------------------- */

void hl_token_hash(const char *token, char out[13])
{
	char hex[65];

	if (!token)
		token = "";
	hl_sha256_hex(token, strlen(token), hex);
	memcpy(out, hex, 12);
	out[12] = '\0';
}
