/* config.c - the worker's settings from environment variables and flags.
 *
 * How it works: one table (`settings`) names every setting once: its
 * variable, its flag, its default and its line of --help. Loading happens
 * in three steps: (1) each setting's raw string is taken from the
 * environment, (2) argv flags replace those strings, (3) every string is
 * parsed and checked, and an error names the variable, the flag and the
 * value (cut and made printable, so a hostile value cannot mangle the
 * message or the log line it ends up in). Nothing is allocated: lists are
 * walked in place as (pointer, length) spans.
 *
 * Activity ARNs have the form
 *   arn:<aws|aws-cn|aws-us-gov>:states:<region>:<12 digits>:activity:<name>
 * and every one must be in the configured region.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "healer/config.h"

enum setting_id {
	S_ACTIVITIES,
	S_ARN_PREFIX,
	S_ARNS,
	S_REGION,
	S_WORKER_NAME,
	S_DRY_RUN,
	S_LOG_LEVEL,
	S_DRAIN,
	S_HEARTBEAT,
	S_EXECUTORS,
	S_METRICS,
	S_HEALTH_FILE,
	S_HEALTH_MAX_AGE,
	S_COUNT
};

typedef struct setting {
	const char *env;
	const char *env_alt;    /* read when env is unset (or NULL) */
	const char *flag;       /* without the leading "--" */
	const char *metavar;    /* for --help */
	const char *def;        /* default as a string; NULL when none */
	const char *def_help;   /* default as shown by --help */
	const char *help;
} setting;

static const setting settings[S_COUNT] = {
	[S_ACTIVITIES] = { "HEALER_ACTIVITIES", NULL, "activities", "[LABEL=]NAME:SLOTS[,...]", NULL,
			   "required",
			   "activities to serve and their slots (open polls, 1..1000) each;\n"
			   "      LABEL=NAME serves activity NAME under the ARN name LABEL" },
	[S_ARN_PREFIX] = { "HEALER_ACTIVITY_ARN_PREFIX", NULL, "activity-arn-prefix", "PREFIX",
			   NULL, "none",
			   "activity ARN = PREFIX + NAME, e.g. "
			   "arn:aws:states:us-east-1:123456789012:activity:healer-" },
	[S_ARNS] = { "HEALER_ACTIVITY_ARNS", NULL, "activity-arns", "NAME=ARN[,...]", NULL, "none",
		     "full activity ARNs by name; win over the prefix" },
	[S_REGION] = { "AWS_REGION", "AWS_DEFAULT_REGION", "region", "REGION", NULL,
		       "required",
		       "AWS region; every activity ARN must be in it" },
	[S_WORKER_NAME] = { "HEALER_WORKER_NAME", NULL, "worker-name", "NAME", NULL,
			    "ECS task id, else hostname",
			    "workerName given to Step Functions and in every log line (1..80)" },
	[S_DRY_RUN] = { "HEALER_DRY_RUN", NULL, "dry-run", "", "false", "false",
			"report what would change, change nothing (--no-dry-run or --dry-run=false: off)" },
	[S_LOG_LEVEL] = { "HEALER_LOG_LEVEL", NULL, "log-level", "LEVEL", "info", "info",
			  "debug, info, warn, error or off" },
	[S_DRAIN] = { "HEALER_DRAIN_DEADLINE_S", NULL, "drain-deadline", "SECONDS", "100", "100",
		      "time to finish work after SIGTERM (1..3600; below ECS stopTimeout)" },
	[S_HEARTBEAT] = { "HEALER_HEARTBEAT_S", NULL, "heartbeat-interval", "N|NAME=N[,...]",
			  "20", "20",
			  "seconds between task heartbeats, for all or per activity (1..3600)" },
	[S_EXECUTORS] = { "HEALER_EXECUTORS", NULL, "executors", "N", "0", "0",
			  "executor threads; 0 = one per slot, else 1..4096" },
	[S_METRICS] = { "HEALER_METRICS_INTERVAL_S", NULL, "metrics-interval", "SECONDS", "60",
			"60", "seconds between CloudWatch EMF metric lines (0..3600); 0 = off" },
	[S_HEALTH_FILE] = { "HEALER_HEALTH_FILE", NULL, "health-file", "PATH",
			    "/tmp/healer-health.json", "/tmp/healer-health.json",
			    "file the worker refreshes and `healer health` checks" },
	[S_HEALTH_MAX_AGE] = { "HEALER_HEALTH_MAX_AGE_S", NULL, "health-max-age", "SECONDS", "30",
			       "30", "`healer health` fails when the file is older (1..3600)" },
};

#define SHOWN_MAX 64          /* bytes of a bad value quoted in a message */
#define SHOWN_BUF (SHOWN_MAX * 4 + 8)
#define HEARTBEAT_MAX_S 3600

/* ---- small helpers ----------------------------------------------------- */

typedef struct span {
	const char *p;
	size_t n;
} span;

static span span_of(const char *s)
{
	return (span){ s, s ? strlen(s) : 0 };
}

static span span_trim(span s)
{
	while (s.n && isspace((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && isspace((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Splits the next comma-separated item (trimmed) off *rest; false once the
 * list is used up. An empty string has no items. */
static bool next_item(span *rest, span *item)
{
	if (!rest->p)
		return false;
	const char *comma = memchr(rest->p, ',', rest->n);
	if (comma) {
		*item = span_trim((span){ rest->p, (size_t)(comma - rest->p) });
		rest->n -= (size_t)(comma - rest->p) + 1;
		rest->p = comma + 1;
	} else {
		*item = span_trim(*rest);
		rest->p = NULL;
		rest->n = 0;
	}
	return true;
}

/* Splits s at the first `sep` into key and value (both trimmed). */
static bool span_split(span s, char sep, span *key, span *val)
{
	const char *at = memchr(s.p, sep, s.n);
	if (!at)
		return false;
	*key = span_trim((span){ s.p, (size_t)(at - s.p) });
	*val = span_trim((span){ at + 1, s.n - (size_t)(at - s.p) - 1 });
	return true;
}

/* Copies s into out as a C string; false when it does not fit. */
static bool span_cstr(span s, char *out, size_t outsz)
{
	if (s.n >= outsz)
		return false;
	memcpy(out, s.p, s.n);
	out[s.n] = '\0';
	return true;
}

/* A value made safe to quote in a message: at most SHOWN_MAX bytes,
 * printable ASCII kept, everything else as \xNN, quote and backslash
 * escaped, "..." when cut. Returns out. */
static const char *shown_span(span s, char out[SHOWN_BUF])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t n = s.n < SHOWN_MAX ? s.n : SHOWN_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	if (s.n > n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static const char *shown(const char *s, char out[SHOWN_BUF])
{
	return shown_span(span_of(s), out);
}

/* Fails with "VAR (--flag): <detail>". */
static int fail(hl_err *err, enum setting_id id, const char *fmt, ...) HL_PRINTF(3, 4);
static int fail(hl_err *err, enum setting_id id, const char *fmt, ...)
{
	char detail[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return hl_err_set(err, HL_ERR_CONFIG, "%s (--%s): %s", settings[id].env,
			  settings[id].flag, detail);
}

static int fail_unset(hl_err *err, enum setting_id id)
{
	return hl_err_set(err, HL_ERR_CONFIG, "%s (--%s) is not set", settings[id].env,
			  settings[id].flag);
}

enum { INT_OK = 0, INT_SYNTAX = -1, INT_RANGE = -2 };

/* Strict decimal integer in [min, max]: optional '-', digits, nothing
 * else (no spaces, no '+', no trailing junk, no overflow). On INT_RANGE,
 * *out holds the parsed value. */
static int parse_int_span(span s, long min, long max, long *out)
{
	char buf[32];
	char *end = NULL;

	if (!span_cstr(s, buf, sizeof(buf)))
		return INT_SYNTAX;
	const char *digits = buf[0] == '-' ? buf + 1 : buf;
	if (!isdigit((unsigned char)digits[0]))
		return INT_SYNTAX;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return INT_SYNTAX;
	*out = v;
	return v < min || v > max ? INT_RANGE : INT_OK;
}

/* An integer setting; `what` prefixes the message ("" or `slots for "x" `). */
static int int_span(hl_err *err, enum setting_id id, const char *what, span s, long min,
		    long max, int *out)
{
	char b[SHOWN_BUF];
	long v = 0;

	switch (parse_int_span(s, min, max, &v)) {
	case INT_OK:
		*out = (int)v;
		return HL_OK;
	case INT_RANGE:
		return fail(err, id, "%smust be %ld..%ld, got %ld", what, min, max, v);
	default:
		return fail(err, id, "%smust be an integer %ld..%ld, got \"%s\"", what, min, max,
			    shown_span(s, b));
	}
}

static int int_setting(hl_err *err, enum setting_id id, const char *s, long min, long max,
		       int *out)
{
	return int_span(err, id, "", span_of(s), min, max, out);
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes" };
	static const char *const no[] = { "false", "0", "no" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* ---- activities ------------------------------------------------------ */

/* "echo, diagnose, ..." for messages. */
static const char *known_activities(char *out, size_t outsz)
{
	const hl_activity *const *all = hl_activity_all();
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; all[i] && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? ", " : "", all[i]->name);
	return out;
}

/* Looks name up in the registry, failing with the list of known ones. */
static int find_activity(hl_err *err, enum setting_id id, span name, const hl_activity **out)
{
	char cname[96];
	char b[SHOWN_BUF];
	char known[400];

	*out = span_cstr(name, cname, sizeof(cname)) ? hl_activity_find(cname) : NULL;
	if (*out)
		return HL_OK;
	return fail(err, id, "unknown activity \"%s\"; known: %s", shown_span(name, b),
		    known_activities(known, sizeof(known)));
}

static bool valid_label(span s)
{
	if (s.n == 0 || s.n > 64)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '-'))
			return false;
	return true;
}

/* The index of the served activity called `name`, or -1. */
static int served_by_label(const hl_config *cfg, span name)
{
	for (size_t i = 0; i < cfg->n_activities; i++)
		if (strlen(cfg->activities[i].name) == name.n &&
		    memcmp(cfg->activities[i].name, name.p, name.n) == 0)
			return (int)i;
	return -1;
}

/* For NAME=VALUE maps: the served index of NAME, -1 for a known activity
 * this process does not serve (ignored), or an error for an unknown name. */
static int map_target(const hl_config *cfg, enum setting_id id, span name, int *index, hl_err *err)
{
	const hl_activity *act = NULL;
	*index = served_by_label(cfg, name);
	if (*index >= 0)
		return HL_OK;
	return find_activity(err, id, name, &act);
}

/* NAME:SLOTS or LABEL=NAME:SLOTS, comma-separated. */
static int load_activities(hl_config *cfg, const char *list, hl_err *err)
{
	span rest = span_of(list), item, name, slots, label, impl;
	char b[SHOWN_BUF];

	if (!list || !*list)
		return fail_unset(err, S_ACTIVITIES);
	while (next_item(&rest, &item)) {
		const hl_activity *act = NULL;
		hl_activity_config *ac;
		char what[160];

		if (!span_split(item, ':', &name, &slots) || name.n == 0)
			return fail(err, S_ACTIVITIES, "expected NAME:SLOTS or LABEL=NAME:SLOTS, got \"%s\"",
				    shown_span(item, b));
		if (span_split(name, '=', &label, &impl)) {
			if (!valid_label(label))
				return fail(err, S_ACTIVITIES, "label \"%s\" must be 1..64 of a-z, 0-9 and '-'",
					    shown_span(label, b));
		} else {
			label = name;
			impl = name;
		}
		HL_GUARD(find_activity(err, S_ACTIVITIES, impl, &act));
		if (served_by_label(cfg, label) >= 0)
			return fail(err, S_ACTIVITIES, "activity \"%s\" is listed twice",
				    shown_span(label, b));
		if (cfg->n_activities == HL_MAX_ACTIVITIES)
			return fail(err, S_ACTIVITIES, "at most %d activities", HL_MAX_ACTIVITIES);
		ac = &cfg->activities[cfg->n_activities];
		span_cstr(label, ac->name, sizeof(ac->name));
		snprintf(what, sizeof(what), "slots for \"%s\" ", ac->name);
		HL_GUARD(int_span(err, S_ACTIVITIES, what, slots, 1, HL_MAX_SLOTS_PER_ACTIVITY,
				  &ac->slots));
		ac->activity = act;
		cfg->n_activities++;
	}
	return HL_OK;
}

static bool is_region_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* NULL when arn is a well-formed activity ARN (its region copied to
 * region_out), else what is wrong with it. */
static const char *arn_problem(const char *arn, char region_out[64])
{
	span f[7];
	size_t nf = 0;
	const char *p = arn;

	if (strlen(arn) >= HL_MAX_ARN)
		return "is longer than 255 characters";
	for (;;) {
		const char *colon = strchr(p, ':');
		if (nf == 7)
			return "must be arn:PARTITION:states:REGION:ACCOUNT:activity:NAME";
		f[nf++] = (span){ p, colon ? (size_t)(colon - p) : strlen(p) };
		if (!colon)
			break;
		p = colon + 1;
	}
	if (nf != 7 || f[0].n != 3 || memcmp(f[0].p, "arn", 3) != 0)
		return "must be arn:PARTITION:states:REGION:ACCOUNT:activity:NAME";
	if (!((f[1].n == 3 && memcmp(f[1].p, "aws", 3) == 0) ||
	      (f[1].n == 6 && memcmp(f[1].p, "aws-cn", 6) == 0) ||
	      (f[1].n == 10 && memcmp(f[1].p, "aws-us-gov", 10) == 0)))
		return "partition must be aws, aws-cn or aws-us-gov";
	if (f[2].n != 6 || memcmp(f[2].p, "states", 6) != 0)
		return "service must be states";
	if (f[3].n == 0 || f[3].n >= 64)
		return "region is missing or too long";
	for (size_t i = 0; i < f[3].n; i++)
		if (!is_region_char(f[3].p[i]))
			return "region must be lowercase letters, digits and '-'";
	if (f[4].n != 12)
		return "account must be 12 digits";
	for (size_t i = 0; i < 12; i++)
		if (!isdigit((unsigned char)f[4].p[i]))
			return "account must be 12 digits";
	if (f[5].n != 8 || memcmp(f[5].p, "activity", 8) != 0)
		return "resource type must be activity";
	if (f[6].n == 0 || f[6].n > 80)
		return "activity name must be 1..80 characters";
	for (size_t i = 0; i < f[6].n; i++) {
		char c = f[6].p[i];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return "activity name must be letters, digits, '-' and '_'";
	}
	memcpy(region_out, f[3].p, f[3].n);
	region_out[f[3].n] = '\0';
	return NULL;
}

static int check_arn(const hl_config *cfg, const hl_activity_config *ac, enum setting_id id,
		     hl_err *err)
{
	char region[64];
	char b[SHOWN_BUF];
	const char *problem = arn_problem(ac->arn, region);

	if (problem)
		return fail(err, id, "ARN \"%s\" for activity \"%s\" %s%s", shown(ac->arn, b),
			    ac->name,
			    strncmp(problem, "is ", 3) == 0 ? "" : "is malformed: ", problem);
	if (strcmp(region, cfg->region) != 0)
		return fail(err, id,
			    "ARN for activity \"%s\" is in region \"%s\" but "
			    "AWS_REGION (--region) is \"%s\"",
			    ac->name, region, cfg->region);
	return HL_OK;
}

static int load_arns(hl_config *cfg, const char *prefix, const char *arns, hl_err *err)
{
	bool from_map[HL_MAX_ACTIVITIES] = { false };
	span rest = span_of(arns), item, name, arn;
	char b[SHOWN_BUF];

	while (arns && *arns && next_item(&rest, &item)) {
		int i;

		if (!span_split(item, '=', &name, &arn) || name.n == 0 || arn.n == 0)
			return fail(err, S_ARNS, "expected NAME=ARN, got \"%s\"",
				    shown_span(item, b));
		HL_GUARD(map_target(cfg, S_ARNS, name, &i, err));
		if (i < 0)
			continue;   /* an ARN for an activity not served here */
		if (from_map[i])
			return fail(err, S_ARNS, "activity \"%s\" is listed twice",
				    cfg->activities[i].name);
		if (!span_cstr(arn, cfg->activities[i].arn, HL_MAX_ARN))
			return fail(err, S_ARNS, "ARN for activity \"%s\" is longer than %d "
				    "characters", cfg->activities[i].name, HL_MAX_ARN - 1);
		from_map[i] = true;
		HL_GUARD(check_arn(cfg, &cfg->activities[i], S_ARNS, err));
	}
	for (size_t i = 0; i < cfg->n_activities; i++) {
		hl_activity_config *ac = &cfg->activities[i];
		if (from_map[i])
			continue;
		if (!prefix || !*prefix)
			return hl_err_set(err, HL_ERR_CONFIG,
					  "no ARN for activity \"%s\": set %s (--%s) or %s (--%s)",
					  ac->name, settings[S_ARN_PREFIX].env,
					  settings[S_ARN_PREFIX].flag, settings[S_ARNS].env,
					  settings[S_ARNS].flag);
		int n = snprintf(ac->arn, HL_MAX_ARN, "%s%s", prefix, ac->name);
		if (n < 0 || n >= HL_MAX_ARN)
			return fail(err, S_ARN_PREFIX, "ARN \"%s\" for activity \"%s\" is longer "
				    "than %d characters", shown(prefix, b), ac->name,
				    HL_MAX_ARN - 1);
		HL_GUARD(check_arn(cfg, ac, S_ARN_PREFIX, err));
	}
	return HL_OK;
}

/* "N" for every activity, or "NAME=N" for one; both may be mixed
 * ("30,diagnose=10"). */
static int load_heartbeats(hl_config *cfg, const char *list, hl_err *err)
{
	bool set[HL_MAX_ACTIVITIES] = { false };
	bool have_default = false;
	int def = 20;
	span rest = span_of(list), item, name, num;
	char b[SHOWN_BUF];

	while (next_item(&rest, &item)) {
		char what[160];
		int v = 0;

		if (!span_split(item, '=', &name, &num)) {
			if (have_default)
				return fail(err, S_HEARTBEAT, "more than one default interval in "
					    "\"%s\"", shown(list, b));
			HL_GUARD(int_span(err, S_HEARTBEAT, "", item, 1, HEARTBEAT_MAX_S, &def));
			have_default = true;
			continue;
		}
		int i;
		HL_GUARD(map_target(cfg, S_HEARTBEAT, name, &i, err));
		if (i >= 0 && set[i])
			return fail(err, S_HEARTBEAT, "activity \"%s\" is listed twice",
				    cfg->activities[i].name);
		snprintf(what, sizeof(what), "interval for \"%s\" ", shown_span(name, b));
		HL_GUARD(int_span(err, S_HEARTBEAT, what, num, 1, HEARTBEAT_MAX_S, &v));
		if (i >= 0) {
			cfg->activities[i].heartbeat_interval_s = v;
			set[i] = true;
		}
	}
	for (size_t i = 0; i < cfg->n_activities; i++)
		if (!set[i])
			cfg->activities[i].heartbeat_interval_s = def;
	return HL_OK;
}

/* ---- other settings -------------------------------------------------- */

static int load_region(hl_config *cfg, const char *region, hl_err *err)
{
	char b[SHOWN_BUF];
	size_t n = region ? strlen(region) : 0;

	if (n == 0)
		return fail_unset(err, S_REGION);
	bool ok = n < sizeof(cfg->region) && islower((unsigned char)region[0]);
	for (size_t i = 0; ok && i < n; i++)
		ok = is_region_char(region[i]);
	if (!ok)
		return fail(err, S_REGION, "must be a region name like us-east-1, got \"%s\"",
			    shown(region, b));
	memcpy(cfg->region, region, n + 1);
	return HL_OK;
}

/* Copies s into the worker name, non-printable characters as '-', cut to
 * 80 characters. */
static void set_worker_name(hl_config *cfg, span s)
{
	size_t n = s.n < sizeof(cfg->worker_name) - 1 ? s.n : sizeof(cfg->worker_name) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		cfg->worker_name[i] = c >= 0x20 && c < 0x7f ? (char)c : '-';
	}
	cfg->worker_name[n] = '\0';
}

/* The ECS task id (last path segment of the v4 metadata URI), else the
 * host name, else "healer". */
static void default_worker_name(hl_config *cfg)
{
	const char *uri = getenv("ECS_CONTAINER_METADATA_URI_V4");
	char host[256];

	if (uri && *uri) {
		span s = span_of(uri);
		while (s.n && s.p[s.n - 1] == '/')
			s.n--;
		const char *slash = s.n ? memrchr(s.p, '/', s.n) : NULL;
		/* "http://host" has no path: its last '/' belongs to "//" */
		if (slash && slash > s.p && slash[-1] != '/' && slash + 1 < s.p + s.n) {
			set_worker_name(cfg, (span){ slash + 1, (size_t)(s.p + s.n - slash - 1) });
			return;
		}
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (host[0]) {
			set_worker_name(cfg, span_of(host));
			return;
		}
	}
	set_worker_name(cfg, span_of("healer"));
}

static int load_worker_name(hl_config *cfg, const char *name, hl_err *err)
{
	char b[SHOWN_BUF];

	if (!name) {
		default_worker_name(cfg);
		return HL_OK;
	}
	if (!*name)
		return fail(err, S_WORKER_NAME, "must be 1..80 printable characters, got \"\"");
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x7f)
			return fail(err, S_WORKER_NAME, "must be printable characters, got \"%s\"",
				    shown(name, b));
	}
	set_worker_name(cfg, span_of(name));   /* cut to 80 */
	return HL_OK;
}

/* ---- sources: environment, then flags ----------------------------------- */

static void read_env(const char *raw[S_COUNT])
{
	for (int i = 0; i < S_COUNT; i++) {
		const char *v = getenv(settings[i].env);
		if ((!v || !*v) && settings[i].env_alt)
			v = getenv(settings[i].env_alt);
		raw[i] = v && *v ? v : NULL;
	}
}

static int find_flag(const char *name, size_t len)
{
	for (int i = 0; i < S_COUNT; i++)
		if (strlen(settings[i].flag) == len && memcmp(settings[i].flag, name, len) == 0)
			return i;
	return -1;
}

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Applies argv flags over raw. On a bad flag, err is filled and the rest
 * of argv is only searched for --help / --version (which win). */
static int read_flags(const char *raw[S_COUNT], int argc, char **argv, int *argi, bool *help,
		      bool *version, hl_err *err)
{
	char b[SHOWN_BUF];
	int rc = HL_OK;
	int i = 1;

	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;   /* the subcommand */
		if (is_help(a)) {
			*help = true;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			*version = true;
			continue;
		}
		if (strcmp(a, "--no-dry-run") == 0) {
			raw[S_DRY_RUN] = "false";
			continue;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		int id = a[1] == '-' ? find_flag(name, eq ? (size_t)(eq - name) : strlen(name)) : -1;
		if (id < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG, "unknown flag \"%s\" (see --help)",
					shown(a, b));
			break;
		}
		if (eq) {
			raw[id] = eq + 1;
		} else if (id == S_DRY_RUN) {
			raw[id] = "true";
		} else if (i + 1 < argc) {
			raw[id] = argv[++i];
		} else {
			rc = fail(err, id, "the flag needs a value");
			break;
		}
	}
	*argi = i;
	if (rc < 0) {
		for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
			*help |= is_help(argv[i]);
			*version |= strcmp(argv[i], "--version") == 0;
		}
	}
	return rc;
}

/* ---- public ------------------------------------------------------------ */

int hl_config_load(hl_config *cfg, int argc, char **argv, bool *help, bool *version,
		   hl_err *err)
{
	const char *raw[S_COUNT];
	bool help_ = false, version_ = false;
	char b[SHOWN_BUF];
	int argi = argc;

	memset(cfg, 0, sizeof(*cfg));
	read_env(raw);
	int rc = read_flags(raw, argc, argv, &argi, &help_, &version_, err);
	cfg->argi = argi;
	if (help)
		*help = help_;
	if (version)
		*version = version_;
	if (help_ || version_) {
		hl_err_clear(err);
		return HL_OK;
	}
	HL_GUARD(rc);
	for (int i = 0; i < S_COUNT; i++)
		if (!raw[i])
			raw[i] = settings[i].def;

	if (hl_log_parse_level(raw[S_LOG_LEVEL], &cfg->log_level) < 0)
		return fail(err, S_LOG_LEVEL, "must be debug, info, warn, error or off, got \"%s\"",
			    shown(raw[S_LOG_LEVEL], b));
	if (parse_bool(raw[S_DRY_RUN], &cfg->dry_run) < 0)
		return fail(err, S_DRY_RUN, "must be true, false, 1, 0, yes or no, got \"%s\"",
			    shown(raw[S_DRY_RUN], b));
	HL_GUARD(int_setting(err, S_DRAIN, raw[S_DRAIN], 1, 3600, &cfg->drain_deadline_s));
	HL_GUARD(int_setting(err, S_EXECUTORS, raw[S_EXECUTORS], 0, 4096, &cfg->executors));
	HL_GUARD(int_setting(err, S_METRICS, raw[S_METRICS], 0, 3600, &cfg->metrics_interval_s));
	HL_GUARD(int_setting(err, S_HEALTH_MAX_AGE, raw[S_HEALTH_MAX_AGE], 1, 3600,
			     &cfg->health_max_age_s));
	if (!*raw[S_HEALTH_FILE] ||
	    hl_strlcpy(cfg->health_file, raw[S_HEALTH_FILE], sizeof(cfg->health_file)) >=
		    sizeof(cfg->health_file))
		return fail(err, S_HEALTH_FILE, "must be a path of 1..%zu bytes, got \"%s\"",
			    sizeof(cfg->health_file) - 1, shown(raw[S_HEALTH_FILE], b));
	HL_GUARD(load_worker_name(cfg, raw[S_WORKER_NAME], err));
	HL_GUARD(load_region(cfg, raw[S_REGION], err));
	HL_GUARD(load_activities(cfg, raw[S_ACTIVITIES], err));
	HL_GUARD(load_arns(cfg, raw[S_ARN_PREFIX], raw[S_ARNS], err));
	HL_GUARD(load_heartbeats(cfg, raw[S_HEARTBEAT], err));
	return HL_OK;
}

void hl_config_usage(FILE *out)
{
	const hl_activity *const *all = hl_activity_all();

	fputs("Usage:\n"
	      "  healer [FLAGS] [run]      serve the configured activities (the default)\n"
	      "  healer run-activity NAME --input FILE [--dry-run]\n"
	      "                            run one activity on a JSON input file, print its output\n"
	      "  healer health             exit 0 if the health file is fresh (ECS health check)\n"
	      "  healer disable --reason TEXT\n"
	      "                            flip the kill switch off: every execution escalates\n"
	      "  healer enable [--reason TEXT]\n"
	      "                            flip the kill switch back on (clears a blast-radius stop)\n"
	      "  healer status [--json]    kill switch, blast radius, breakers, last actions\n"
	      "  healer audit --resource ID | --execution ARN [--json]\n"
	      "                            the full audit records of a resource or an execution\n"
	      "  healer replay EVENT.json [--dry-run] [--wait]\n"
	      "                            start an execution for a saved event (evt-<event id>)\n"
	      "                            (each operator command takes --help: exit codes, settings)\n"
	      "  healer --version          print the version\n"
	      "  healer --help, -h         print this text\n"
	      "\n"
	      "Settings: each is read from an environment variable; its flag overrides it\n"
	      "(--flag VALUE or --flag=VALUE).\n",
	      out);
	for (int i = 0; i < S_COUNT; i++) {
		const setting *s = &settings[i];
		fprintf(out, "\n  --%s%s%s\n", s->flag, *s->metavar ? " " : "", s->metavar);
		fprintf(out, "      %s%s%s  (default: %s)\n", s->env,
			s->env_alt ? ", else " : "", s->env_alt ? s->env_alt : "", s->def_help);
		fprintf(out, "      %s\n", s->help);
	}
	fputs("\nActivities:\n", out);
	for (size_t i = 0; all[i]; i++)
		fprintf(out, "  %-22s %s\n", all[i]->name, all[i]->summary ? all[i]->summary : "");
}

int hl_config_total_slots(const hl_config *cfg)
{
	int total = 0;
	for (size_t i = 0; i < cfg->n_activities; i++)
		total += cfg->activities[i].slots;
	return total;
}
