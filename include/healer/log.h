/* log.h - JSON log lines on stdout, one per event.
 *
 * Every line is one write(2) of a complete JSON object, so lines from many
 * threads never interleave. Messages are fixed strings chosen by the code;
 * values from events or AWS go only into escaped fields, never into a
 * format string. Task tokens are never logged: use hl_token_hash().
 */
#ifndef HEALER_LOG_H
#define HEALER_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum hl_log_level {
	HL_LOG_DEBUG = 0,
	HL_LOG_INFO,
	HL_LOG_WARN,
	HL_LOG_ERROR,
	HL_LOG_OFF,
} hl_log_level;

typedef enum hl_field_type { HL_F_STR, HL_F_INT, HL_F_BOOL, HL_F_RAW_JSON } hl_field_type;

typedef struct hl_log_field {
	const char *key;
	hl_field_type type;
	const char *s;      /* HL_F_STR (escaped) or HL_F_RAW_JSON (trusted JSON) */
	int64_t i;          /* HL_F_INT, HL_F_BOOL */
} hl_log_field;

#define HL_LS(k, v) ((hl_log_field){ .key = (k), .type = HL_F_STR, .s = (v) })
#define HL_LI(k, v) ((hl_log_field){ .key = (k), .type = HL_F_INT, .i = (int64_t)(v) })
#define HL_LB(k, v) ((hl_log_field){ .key = (k), .type = HL_F_BOOL, .i = (v) ? 1 : 0 })

/* Process-wide settings. Level and fd are atomics: safe to read (and
 * change) while threads log. The worker name must be set once at start,
 * before threads are created (it is not synchronised). hl_log is not
 * async-signal-safe. */
void hl_log_set_level(hl_log_level level);
hl_log_level hl_log_get_level(void);
void hl_log_set_fd(int fd);                  /* default 1 (stdout) */
void hl_log_set_worker(const char *worker);  /* added to every line */
/* Parses "debug|info|warn|warning|error|off", case-insensitive; returns 0,
 * or -1 leaving *out unchanged. */
int hl_log_parse_level(const char *s, hl_log_level *out);

static inline int hl_log_enabled(hl_log_level level) { return level >= hl_log_get_level(); }

/* Writes {"ts":...,"level":...,"msg":msg,"worker":...,<fields>}. NULL
 * string fields are skipped ("worker" too when none is set). A string value
 * longer than 8 KiB is cut and marked "...(truncated, N bytes)"; fields
 * that would take the line past 64 KiB are dropped and
 * "log_truncated":true is added. Thread-safe; errno is preserved. */
void hl_log(hl_log_level level, const char *msg, const hl_log_field *fields, size_t n);

/* Writes one complete, already formatted line (ending in '\n') to the log
 * fd under the same lock as hl_log's lines, so it never interleaves with
 * them: for the EMF metric lines (metrics.h, outcome_metrics.h). The
 * caller builds the line outside the lock. Thread-safe; errno is
 * preserved. */
void hl_log_write_line(const char *line, size_t n);

/* A line with one or more fields: HL_LOG(HL_LOG_INFO, "msg", HL_LS("k", v)). */
#define HL_LOG(level, msg, ...)                                                   \
	do {                                                                      \
		if (hl_log_enabled(level)) {                                      \
			const hl_log_field hl_log_f_[] = { { .key = NULL }, __VA_ARGS__ }; \
			hl_log((level), (msg), hl_log_f_ + 1,                    \
			       sizeof(hl_log_f_) / sizeof(hl_log_f_[0]) - 1);   \
		}                                                                 \
	} while (0)
/* A line with no fields (ISO C needs at least one variadic argument). */
#define HL_LOG0(level, msg)                                                       \
	do {                                                                      \
		if (hl_log_enabled(level))                                        \
			hl_log((level), (msg), NULL, 0);                          \
	} while (0)

/* First 12 hex digits of SHA-256(token): enough to correlate log lines,
 * useless to an attacker. out must hold 13 bytes. */
void hl_token_hash(const char *token, char out[13]);

/* Appends s to buf as a JSON string literal (quotes included), escaping
 * control characters and invalid UTF-8 (replaced by U+FFFD). */
struct hl_buf;
int hl_json_escape(struct hl_buf *buf, const char *s, size_t len);

#endif
