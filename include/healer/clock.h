/* clock.h - injectable time and randomness.
 *
 * Everything that waits, backs off, expires or stamps a date reads time
 * through an hl_clock so tests can move it. hl_clock_system() is the real
 * clock (CLOCK_REALTIME / CLOCK_MONOTONIC, nanosleep, a per-thread PRNG).
 */
#ifndef HEALER_CLOCK_H
#define HEALER_CLOCK_H

#include <stdint.h>

typedef struct hl_clock {
	int64_t (*wall_ms)(void *ctx);          /* ms since the Unix epoch */
	int64_t (*mono_ms)(void *ctx);          /* monotonic ms */
	void (*sleep_ms)(void *ctx, int64_t ms);
	uint64_t (*random)(void *ctx);          /* uniform 64-bit */
	void *ctx;
} hl_clock;

/* The process-wide real clock (thread-safe, never freed). */
const hl_clock *hl_clock_system(void);

static inline int64_t hl_wall_ms(const hl_clock *c) { return c->wall_ms(c->ctx); }
static inline int64_t hl_mono_ms(const hl_clock *c) { return c->mono_ms(c->ctx); }
static inline void hl_sleep_ms(const hl_clock *c, int64_t ms) { c->sleep_ms(c->ctx, ms); }
/* Uniform in [0, bound) (bound > 0). */
uint64_t hl_random_below(const hl_clock *c, uint64_t bound);

/* Formats epoch seconds as ISO 8601 basic ("20150830T123600Z", 17 bytes
 * with NUL) and the date part ("20150830", 9 bytes). Thread-safe. */
void hl_format_amz_date(int64_t epoch_s, char out[17], char date_out[9]);
/* Parses "2015-08-30T12:36:00Z" (optionally with fractional seconds or a
 * +00:00 offset) to epoch seconds; returns 0 or -1. */
int hl_parse_iso8601(const char *s, int64_t *epoch_s);

#endif
