/* clock.c - the real clock behind hl_clock, and date helpers.
 *
 * Randomness for jitter comes from a per-thread xorshift generator seeded
 * from getrandom(): jitter needs spread, not secrecy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "healer/clock.h"

static int64_t ts_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_wall_ms(void *ctx)
{
	(void)ctx;
	return ts_ms(CLOCK_REALTIME);
}

static int64_t sys_mono_ms(void *ctx)
{
	(void)ctx;
	return ts_ms(CLOCK_MONOTONIC);
}

static void sys_sleep_ms(void *ctx, int64_t ms)
{
	(void)ctx;
	if (ms <= 0)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t sys_random(void *ctx)
{
	static _Thread_local uint64_t state;
	(void)ctx;
	if (state == 0) {
		if (getrandom(&state, sizeof(state), 0) != sizeof(state))
			state = (uint64_t)ts_ms(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)&state;
		state |= 1;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static const hl_clock system_clock = {
	.wall_ms = sys_wall_ms,
	.mono_ms = sys_mono_ms,
	.sleep_ms = sys_sleep_ms,
	.random = sys_random,
	.ctx = NULL,
};

const hl_clock *hl_clock_system(void)
{
	return &system_clock;
}

uint64_t hl_random_below(const hl_clock *c, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Scale the top 53 bits: monotonic in the draw, so a test's fixed
	 * draw of 0 or UINT64_MAX gives the interval's ends. */
	double unit = (double)(c->random(c->ctx) >> 11) / 9007199254740992.0;
	uint64_t v = (uint64_t)(unit * (double)bound);
	return v < bound ? v : bound - 1;
}

void hl_format_amz_date(int64_t epoch_s, char out[17], char date_out[9])
{
	struct tm tm;
	time_t t = (time_t)epoch_s;
	gmtime_r(&t, &tm);
	if (out)
		strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
	if (date_out)
		strftime(date_out, 9, "%Y%m%d", &tm);
}

/* Days since the epoch for a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int hl_parse_iso8601(const char *s, int64_t *epoch_s)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    h < 0 || mi < 0 || sec < 0)
		return -1;
	const char *p = s + n;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
			return -1;
		offset_s = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
		p += 1 + m;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	*epoch_s = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	return 0;
}
