/* record.c - shared by ticket, notify and audit: reading an execution's
 * outcome, cleaning untrusted text, URL rules, timestamps, and a bounded
 * retrying HTTP call for the Jira and Slack web APIs.
 *
 * hl_record_parse reads the record activities' common input once. Only the
 * execution ARN and the mode are required (a record of a broken execution
 * must still be written); every other field is optional, identifiers are
 * validated with ids.h and dropped (with resource_invalid set) when they do
 * not validate, and free text is cleaned (valid UTF-8, no control or bidi
 * override characters) and bounded. The one-line `reason` is chosen by a
 * fixed precedence (see pick_reason).
 *
 * hl_webapi_perform wraps hl_http_perform: a 429 waits its Retry-After
 * (bounded) and tries again; 5xx and transport failures of idempotent
 * requests back off exponentially with full jitter; waits go through the
 * caller's sleep function so a cancelled task stops promptly.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healer/clock.h"
#include "healer/ids.h"
#include "healer/record.h"

#define TRUNC_MARK "...(truncated)"

/* ---- URLs ---------------------------------------------------------------- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool hl_valid_api_base_url(const char *url)
{
	if (!url)
		return false;
	size_t len = strnlen(url, 513);
	if (len == 0 || len > 512)
		return false;
	bool https = strncmp(url, "https://", 8) == 0;
	if (!https && strncmp(url, "http://", 7) != 0)
		return false;
	const char *host = url + (https ? 8 : 7);
	const char *end = host;
	if (*host == '[') {   /* IPv6 literal: only [::1] is useful here */
		const char *close = strchr(host, ']');
		if (!close)
			return false;
		for (const char *q = host + 1; q < close; q++)
			if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
			      (*q >= 'A' && *q <= 'F') || *q == ':'))
				return false;
		end = close + 1;
	} else {
		while (is_alnum(*end) || *end == '.' || *end == '-')
			end++;
	}
	size_t host_len = (size_t)(end - host);
	if (host_len == 0 || host_len > 253)
		return false;
	if (!https) {
		bool loopback = (host_len == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
				(host_len == 9 && strncmp(host, "localhost", 9) == 0) ||
				(host_len == 5 && strncmp(host, "[::1]", 5) == 0);
		if (!loopback)
			return false;
	}
	const char *p = end;
	if (*p == ':') {
		p++;
		size_t digits = 0;
		long port = 0;
		while (*p >= '0' && *p <= '9' && digits < 6) {
			port = port * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0 || port < 1 || port > 65535)
			return false;
	}
	if (*p != '\0' && *p != '/')
		return false;
	for (; *p; p++)
		if (!(is_alnum(*p) || strchr("/-._~%", *p)))
			return false;
	return true;
}

bool hl_valid_link_url(const char *url)
{
	if (!url)
		return false;
	size_t len = strnlen(url, 1025);
	if (len > 1024)
		return false;
	size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
	if (scheme == 0 || len == scheme)
		return false;
	for (const char *p = url; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("\"'<>|\\`", c))
			return false;
	}
	return true;
}

bool hl_valid_table_name(const char *s)
{
	if (!s)
		return false;
	size_t n = 0;
	for (const char *q = s; *q; q++, n++)
		if (!(is_alnum(*q) || *q == '_' || *q == '.' || *q == '-') || n >= 255)
			return false;
	return n >= 3;
}

/* ---- text ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if
 * invalid; *cp is the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Bidirectional overrides and isolates can make text read differently from
 * what it is (a ticket summary that hides part of an id): replaced. */
static bool is_bidi_control(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

char *hl_clean_text(const char *s, size_t max, bool keep_newlines)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	hl_buf b;
	hl_buf_init(&b, SIZE_MAX / 2);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	bool cut = false;
	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_seq(p + i, n - i, &cp);
		char tmp[4];
		const char *out = tmp;
		size_t out_len = 1;
		if (len == 0) {
			out = "\xef\xbf\xbd";
			out_len = 3;
			len = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (keep_newlines && (cp == '\n' || cp == '\t'))
				tmp[0] = (char)cp;
			else if (keep_newlines && cp == '\r')
				out_len = 0;
			else
				tmp[0] = ' ';
		} else if (is_bidi_control(cp)) {
			out = "\xef\xbf\xbd";
			out_len = 3;
		} else {
			out = (const char *)p + i;
			out_len = len;
		}
		if (b.len + out_len > max) {
			cut = true;
			break;
		}
		if (out_len && hl_buf_append(&b, out, out_len) < 0)
			abort();
		i += len;
	}
	if (cut) {
		/* Make room for the marker, backing off to a character boundary. */
		size_t keep = max > sizeof(TRUNC_MARK) - 1 ? max - (sizeof(TRUNC_MARK) - 1) : 0;
		if (keep > b.len)
			keep = b.len;
		while (keep > 0 && ((unsigned char)b.data[keep] & 0xc0) == 0x80)
			keep--;
		b.len = keep;
		if (hl_buf_append(&b, TRUNC_MARK, sizeof(TRUNC_MARK) - 1) < 0)
			abort();
	}
	if (hl_buf_append(&b, "", 0) < 0)
		abort();
	return b.data;
}

void hl_sha256_key(const char *prefix, const char *s, size_t hex_digits, char *out, size_t outsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	static const char hex[] = "0123456789abcdef";
	size_t plen = strlen(prefix);
	if (hex_digits > 64 || plen + hex_digits + 1 > outsz ||
	    EVP_Digest(s, strlen(s), md, &md_len, EVP_sha256(), NULL) != 1)
		abort();   /* callers pass fixed sizes that fit */
	memcpy(out, prefix, plen);
	for (size_t i = 0; i < hex_digits; i++)
		out[plen + i] = hex[i % 2 ? md[i / 2] & 0xf : md[i / 2] >> 4];
	out[plen + hex_digits] = '\0';
}

void hl_execution_label(const char *execution_arn, char out[24])
{
	hl_sha256_key("healer-", execution_arn, 16, out, 24);
}

int hl_console_execution_url(const char *execution_arn, hl_buf *out)
{
	hl_arn arn;
	if (!hl_valid_execution_arn(execution_arn) || !hl_parse_arn(execution_arn, &arn))
		return HL_ERR_INVALID;
	const char *domain = "console.aws.amazon.com";
	if (strcmp(arn.partition, "aws-us-gov") == 0)
		domain = "console.amazonaws-us-gov.com";
	else if (strcmp(arn.partition, "aws-cn") == 0)
		domain = "console.amazonaws.cn";
	return hl_buf_appendf(out, "https://%s.%s/states/home?region=%s#/v2/executions/details/%s",
			      arn.region, domain, arn.region, execution_arn);
}

/* Writes v as exactly n decimal digits (the low ones). */
static char *put_digits(char *p, int v, int n)
{
	if (v < 0)
		v = 0;
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void hl_format_iso8601_ms(int64_t epoch_ms, char out[25])
{
	time_t secs = (time_t)(epoch_ms / 1000);
	int ms = (int)(epoch_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		secs -= 1;
	}
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		hl_strlcpy(out, "1970-01-01T00:00:00.000Z", 25);
		return;
	}
	char *p = out;
	p = put_digits(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, ms, 3);
	*p++ = 'Z';
	*p = '\0';
}

int hl_normalize_iso8601_ms(const char *s, char out[25])
{
	int64_t epoch = 0;
	if (!s || strnlen(s, 64) >= 64 || hl_parse_iso8601(s, &epoch) < 0)
		return -1;
	/* hl_parse_iso8601 checked the shape "YYYY-MM-DDTHH:MM:SS[.f+](Z|±hh:mm)". */
	const char *p = s + 19;
	int ms = 0, digits = 0;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
				digits++;
			}
	}
	for (; digits < 3; digits++)
		ms *= 10;
	if (*p != 'Z' && *p != 'z' && strcmp(p, "+00:00") != 0 && strcmp(p, "-00:00") != 0)
		return -1;
	hl_format_iso8601_ms(epoch * 1000 + ms, out);
	return 0;
}

/* ---- the record ------------------------------------------------------------ */

static json_object *get_obj(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* 1/0 for a JSON boolean, -1 otherwise. */
static int get_bool(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

/* The static string from `allowed` equal to s, or NULL. */
static const char *one_of(const char *s, const char *const *allowed)
{
	if (!s)
		return NULL;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(s, allowed[i]) == 0)
			return allowed[i];
	return NULL;
}

static const char *const CLASSES[] = { "disk_pressure", "public_ssh", "cert_expiry", "unknown", NULL };
static const char *const RESOURCE_TYPES[] = { "instance", "security-group", "certificate", NULL };
static const char *const ACTIONS[] = { "disk_cleanup", "close_public_ssh", "renew_certificate", NULL };

static bool valid_jira_key(const char *s)
{
	/* PROJECT-123: an uppercase letter, [A-Z0-9_]{1,..}, '-', digits. */
	if (!s || !(*s >= 'A' && *s <= 'Z'))
		return false;
	size_t n = strnlen(s, 65);
	if (n > 64)
		return false;
	const char *dash = strrchr(s, '-');
	if (!dash || dash == s || dash[1] == '\0')
		return false;
	for (const char *q = s; q < dash; q++)
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_'))
			return false;
	for (const char *q = dash + 1; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	return true;
}

/* The resource named by diagnosis.resource, else guard.resource. */
static void read_resource(hl_record *rec)
{
	json_object *res = get_obj(rec->diagnosis, "resource");
	if (!res)
		res = get_obj(rec->guard, "resource");
	if (!res)
		return;
	const char *type = one_of(get_str(res, "type"), RESOURCE_TYPES);
	const char *id = get_str(res, "id");
	bool ok = type && id;
	if (ok && strcmp(type, "instance") == 0)
		ok = hl_valid_instance_id(id);
	else if (ok && strcmp(type, "security-group") == 0)
		ok = hl_valid_security_group_id(id);
	else if (ok)
		ok = hl_valid_certificate_arn(id);
	if (!ok) {
		rec->resource_invalid = true;
		return;
	}
	rec->resource_type = type;
	rec->resource_id = hl_xstrdup(id);
	hl_arn arn;
	const char *s = get_str(res, "arn");
	if (s && hl_parse_arn(s, &arn))
		rec->resource_arn = hl_xstrdup(s);
	s = get_str(res, "account");
	if (s && hl_valid_account_id(s))
		rec->account = hl_xstrdup(s);
	s = get_str(res, "region");
	if (s && hl_valid_region(s))
		rec->resource_region = hl_xstrdup(s);
}

/* The one-line outcome, by precedence. Escalated: the caught error, then a
 * guard refusal, then the remediation's own escalation, then diagnosis
 * (unknown event, low confidence). Resolved: the remediation's reason. */
static char *pick_reason(const hl_record *rec)
{
	char buf[1200];
	const char *text = NULL;
	if (rec->escalated) {
		if (rec->error_name) {
			snprintf(buf, sizeof(buf), "%s: %.1000s", rec->error_name,
				 rec->error_cause ? rec->error_cause : "(no cause)");
			text = buf;
		} else if (get_bool(rec->guard, "proceed") == 0 && get_str(rec->guard, "reason")) {
			text = get_str(rec->guard, "reason");
		} else if (get_bool(rec->remediation, "escalate") == 1 &&
			   get_str(rec->remediation, "reason")) {
			text = get_str(rec->remediation, "reason");
		} else if (rec->klass && strcmp(rec->klass, "unknown") == 0) {
			const char *why = get_str(get_obj(rec->diagnosis, "details"), "why");
			text = why ? why : get_str(rec->diagnosis, "reason");
			if (!text)
				text = "the event could not be classified";
		} else if (rec->diagnosis && get_str(rec->diagnosis, "reason")) {
			if (rec->confidence >= 0)
				snprintf(buf, sizeof(buf), "%.1000s (confidence %.2f, too low for automatic remediation)",
					 get_str(rec->diagnosis, "reason"), rec->confidence);
			else
				snprintf(buf, sizeof(buf), "%.1000s", get_str(rec->diagnosis, "reason"));
			text = buf;
		} else if (get_str(rec->remediation, "reason")) {
			text = get_str(rec->remediation, "reason");
		}
		if (!text)
			text = "escalated for a person to decide";
	} else {
		text = get_str(rec->remediation, "reason");
		if (!text)
			text = "remediated";
	}
	return hl_clean_text(text, 1000, false);
}

static int invalid(hl_activity_ctx *ctx, const char *what)
{
	if (ctx)
		return hl_activity_fail(ctx, "Healer.InvalidInput", "%s", what);
	return HL_ERR_INVALID;
}

int hl_record_parse(hl_activity_ctx *ctx, json_object *input, hl_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->confidence = -1;
	rec->applied = rec->verified = -1;
	if (!input || !json_object_is_type(input, json_type_object))
		return invalid(ctx, "input must be a JSON object");
	const char *exec = get_str(input, "execution");
	if (!exec || strlen(exec) >= sizeof(rec->execution) || !hl_valid_execution_arn(exec))
		return invalid(ctx, "\"execution\" must be a Step Functions execution ARN");
	hl_strlcpy(rec->execution, exec, sizeof(rec->execution));
	hl_execution_label(exec, rec->label);
	hl_arn arn;
	if (hl_parse_arn(exec, &arn))
		hl_strlcpy(rec->region, arn.region, sizeof(rec->region));
	const char *mode = get_str(input, "mode");
	if (mode && strcmp(mode, "resolved") == 0)
		rec->mode = "resolved";
	else if (mode && strcmp(mode, "escalated") == 0)
		rec->mode = "escalated";
	else
		return invalid(ctx, "\"mode\" must be \"resolved\" or \"escalated\"");
	rec->escalated = rec->mode[0] == 'e';
	rec->dry_run = get_bool(input, "dryRun") == 1 || (ctx && hl_activity_dry_run(ctx));

	rec->event = get_obj(input, "event");
	rec->guard = get_obj(input, "guard");
	rec->diagnosis = get_obj(input, "diagnosis");
	rec->remediation = get_obj(input, "remediation");
	rec->error = get_obj(input, "error");

	rec->klass = one_of(get_str(rec->diagnosis, "class"), CLASSES);
	json_object *conf = NULL;
	if (rec->diagnosis && json_object_object_get_ex(rec->diagnosis, "confidence", &conf) &&
	    (json_object_is_type(conf, json_type_double) || json_object_is_type(conf, json_type_int))) {
		double c = json_object_get_double(conf);
		if (c >= 0 && c <= 1)
			rec->confidence = c;
	}
	read_resource(rec);
	rec->owner = hl_clean_text(get_str(rec->diagnosis, "owner"), 256, false);
	rec->action = one_of(get_str(rec->remediation, "action"), ACTIONS);
	rec->applied = get_bool(rec->remediation, "applied");
	rec->verified = get_bool(rec->remediation, "verified");
	rec->rollback = hl_clean_text(get_str(rec->remediation, "rollback"), 4000, true);
	rec->owner_message = hl_clean_text(get_str(get_obj(rec->remediation, "details"), "ownerMessage"),
					   1000, false);
	rec->error_name = hl_clean_text(get_str(rec->error, "Error"), 256, false);
	rec->error_cause = hl_clean_text(get_str(rec->error, "Cause"), 4000, true);

	/* The ticket's output: given directly, or under "record" when the
	 * execution escalates after the Record step. */
	json_object *ticket = get_obj(input, "ticket");
	if (!ticket)
		ticket = get_obj(get_obj(input, "record"), "ticket");
	const char *key = get_str(ticket, "key");
	if (valid_jira_key(key))
		rec->ticket_key = hl_xstrdup(key);
	const char *url = get_str(ticket, "url");
	if (hl_valid_link_url(url))
		rec->ticket_url = hl_xstrdup(url);

	rec->event_id = hl_clean_text(get_str(rec->event, "id"), 128, false);
	rec->event_source = hl_clean_text(get_str(rec->event, "source"), 128, false);
	rec->event_detail_type = hl_clean_text(get_str(rec->event, "detail-type"), 128, false);
	char ts[25];
	if (hl_normalize_iso8601_ms(get_str(rec->event, "time"), ts) == 0)
		rec->event_time = hl_xstrdup(ts);
	if (hl_normalize_iso8601_ms(get_str(input, "startedAt"), ts) == 0)
		rec->started_at = hl_xstrdup(ts);
	rec->reason = pick_reason(rec);
	return HL_OK;
}

void hl_record_free(hl_record *rec)
{
	if (!rec)
		return;
	char **owned[] = { &rec->resource_id, &rec->resource_arn, &rec->account, &rec->resource_region,
			   &rec->owner, &rec->reason, &rec->error_name, &rec->error_cause,
			   &rec->rollback, &rec->owner_message, &rec->ticket_key, &rec->ticket_url,
			   &rec->event_id, &rec->event_time, &rec->started_at, &rec->event_source,
			   &rec->event_detail_type };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		free(*owned[i]);
		*owned[i] = NULL;
	}
}

const char *hl_record_result(const hl_record *rec)
{
	if (rec->escalated)
		return "escalated";
	return rec->dry_run ? "dry-run" : "remediated";
}

void hl_record_resource_text(const hl_record *rec, char *out, size_t outsz)
{
	if (!rec->resource_id) {
		snprintf(out, outsz, "%s", rec->resource_invalid ? "(an identifier that failed validation)" : "(none)");
		return;
	}
	snprintf(out, outsz, "%s (%s%s%s%s%s)", rec->resource_id, rec->resource_type,
		 rec->account ? ", " : "", rec->account ? rec->account : "",
		 rec->resource_region ? ", " : "", rec->resource_region ? rec->resource_region : "");
}

/* ---- web API calls --------------------------------------------------------- */

static bool default_sleep(void *arg, long ms)
{
	(void)arg;
	if (ms > 0) {
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	return true;
}

int hl_webapi_init(hl_webapi *w, const char *ca_file, hl_err *err)
{
	memset(w, 0, sizeof(*w));
	w->http = hl_http_new(ca_file);
	if (!w->http)
		return hl_err_set(err, HL_ERR_INTERNAL, "cannot create an HTTP handle");
	w->max_attempts = 3;
	w->backoff_base_ms = 250;
	w->max_retry_after_ms = 30000;
	w->max_throttle_waits = 3;
	w->timeout_ms = 10000;
	w->sleep = default_sleep;
	return HL_OK;
}

int hl_webapi_init_opts(hl_webapi *w, const hl_webapi_opts *opts, hl_err *err)
{
	const char *ca_file = opts->ca_file;
	if (!ca_file)
		HL_GUARD(hl_webapi_ca_bundle(false, &ca_file, err));
	HL_GUARD(hl_webapi_init(w, ca_file, err));
	if (opts->timeout_ms > 0)
		w->timeout_ms = opts->timeout_ms;
	if (opts->max_attempts > 0)
		w->max_attempts = opts->max_attempts;
	if (opts->backoff_base_ms > 0)
		w->backoff_base_ms = opts->backoff_base_ms;
	if (opts->max_retry_after_ms > 0)
		w->max_retry_after_ms = opts->max_retry_after_ms;
	if (opts->sleep) {
		w->sleep = opts->sleep;
		w->sleep_arg = opts->sleep_arg;
	}
	return HL_OK;
}

char *hl_webapi_base_url(const char *url)
{
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	return hl_xstrndup(url, n);
}

void hl_webapi_free(hl_webapi *w)
{
	if (!w)
		return;
	hl_http_free(w->http);
	w->http = NULL;
}

static long backoff_ms(const hl_webapi *w, int attempt)
{
	long cap = w->backoff_base_ms;
	for (int i = 1; i < attempt && cap < 5000; i++)
		cap *= 2;
	if (cap > 5000)
		cap = 5000;
	if (cap <= 0)
		return 0;
	/* Full jitter, but never less than half: keeps tests predictable. */
	return cap / 2 + (long)hl_random_below(hl_clock_system(), (uint64_t)(cap / 2 + 1));
}

int hl_webapi_perform(hl_webapi *w, const hl_http_request *req, bool idempotent,
		      hl_http_response *resp, hl_err *err)
{
	hl_http_request r = *req;
	if (r.timeout_ms <= 0)
		r.timeout_ms = w->timeout_ms;
	int attempts = 0, throttled = 0;
	memset(resp, 0, sizeof(*resp));
	for (;;) {
		hl_http_response_free(resp);
		attempts++;
		int rc = hl_http_perform(w->http, &r, resp, err);
		long wait_ms;
		if (rc < 0) {
			/* Transport failure: no response to hand back. A request that
			 * is not idempotent may have been processed: not retried. */
			if (!idempotent || attempts >= w->max_attempts || rc == HL_ERR_INVALID ||
			    rc == HL_ERR_TOO_LARGE)
				return rc;
			wait_ms = backoff_ms(w, attempts);
		} else if (resp->status == 429) {
			wait_ms = resp->retry_after_s >= 0 ? resp->retry_after_s * 1000L : 1000L;
			if (throttled >= w->max_throttle_waits || wait_ms > w->max_retry_after_ms)
				return HL_OK;
			throttled++;
			w->throttle_waits++;
			attempts--;   /* a refusal is not a failed attempt */
		} else if (resp->status >= 500 && idempotent && attempts < w->max_attempts) {
			wait_ms = resp->retry_after_s >= 0 && resp->retry_after_s * 1000L <= w->max_retry_after_ms
					  ? resp->retry_after_s * 1000L
					  : backoff_ms(w, attempts);
		} else {
			return HL_OK;
		}
		w->retries++;
		if (!w->sleep(w->sleep_arg, wait_ms)) {
			hl_http_response_free(resp);
			memset(resp, 0, sizeof(*resp));
			return hl_err_set(err, HL_ERR_CANCELLED, "cancelled while waiting to retry");
		}
	}
}

json_object *hl_webapi_json(const hl_http_response *resp)
{
	if (!resp->body.data || resp->body.len == 0 || resp->body.len > INT32_MAX)
		return NULL;
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, resp->body.data, (int)resp->body.len);
	bool ok = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	if (!ok || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
