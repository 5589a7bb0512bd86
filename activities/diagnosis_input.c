/* diagnosis_input.c - input, output and idempotency helpers shared by the
 * remediation activities (see diagnosis.h).
 *
 * Input readers check type, size and form of each field before handing out
 * a pointer into the input; a failure is recorded as Healer.InvalidInput
 * naming the field's path. Idempotency keys are SHA-256 of the execution
 * ARN, so a state-machine retry of the same execution derives the same
 * ClientToken / command comment and finds its earlier work.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/retry.h"
#include "healer/sigv4.h"

static int invalid(hl_activity_ctx *ctx, const char *path, const char *key, const char *what)
{
	return hl_activity_fail(ctx, "Healer.InvalidInput", "%s%s%s %s", path ? path : "",
				path && *path ? "." : "", key, what);
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

int hl_diag_string(hl_activity_ctx *ctx, json_object *obj, const char *path, const char *key,
		   bool required, size_t max_len, bool (*valid)(const char *), const char **out)
{
	json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (required)
			return invalid(ctx, path, key, "is required");
		return HL_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return invalid(ctx, path, key, "must be a string");
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n == 0)
		return invalid(ctx, path, key, "must not be empty");
	if (n > max_len || strlen(s) != n) {
		char what[64];
		snprintf(what, sizeof(what), "must be at most %zu bytes without NUL", max_len);
		return invalid(ctx, path, key, what);
	}
	if (has_control(s, n))
		return invalid(ctx, path, key, "must not contain control characters");
	if (valid && !valid(s))
		return invalid(ctx, path, key, "is not a valid value");
	*out = s;
	return HL_OK;
}

int hl_diag_number(hl_activity_ctx *ctx, json_object *obj, const char *path, const char *key,
		   bool required, double min, double max, double *out, bool *present)
{
	json_object *v = NULL;
	*present = false;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (required)
			return invalid(ctx, path, key, "is required");
		return HL_OK;
	}
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return invalid(ctx, path, key, "must be a number");
	double d = json_object_get_double(v);
	if (!isfinite(d) || d < min || d > max) {
		char what[96];
		snprintf(what, sizeof(what), "must be a number in %g..%g", min, max);
		return invalid(ctx, path, key, what);
	}
	*out = d;
	*present = true;
	return HL_OK;
}

/* The length of obj's JSON text (json-c keeps the text with the object;
 * it is bounded by the input, which is already in memory). */
static size_t json_size(json_object *obj)
{
	size_t len = 0;
	json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	return len;
}

int hl_remediation_input_parse(hl_activity_ctx *ctx, json_object *input, const char *want_class,
			       hl_remediation_input *in)
{
	json_object *v = NULL, *diag = NULL, *details = NULL;
	const char *cls = NULL;

	memset(in, 0, sizeof(*in));
	if (!json_object_is_type(input, json_type_object))
		return hl_activity_fail(ctx, "Healer.InvalidInput", "input must be a JSON object");
	if (json_size(input) > HL_REMEDIATION_INPUT_MAX)
		return hl_activity_fail(ctx, "Healer.InvalidInput", "input is larger than %d bytes",
					HL_REMEDIATION_INPUT_MAX);
	HL_GUARD(hl_diag_string(ctx, input, "", "execution", true, 2048, hl_valid_execution_arn,
				&in->execution));
	if (!json_object_object_get_ex(input, "dryRun", &v) || v == NULL)
		return invalid(ctx, "", "dryRun", "is required");
	if (!json_object_is_type(v, json_type_boolean))
		return invalid(ctx, "", "dryRun", "must be a boolean");
	in->dry_run = json_object_get_boolean(v) || hl_activity_dry_run(ctx);

	if (!json_object_object_get_ex(input, "diagnosis", &diag) || diag == NULL)
		return invalid(ctx, "", "diagnosis", "is required");
	if (!json_object_is_type(diag, json_type_object))
		return invalid(ctx, "", "diagnosis", "must be an object");
	if (json_size(diag) > HL_DIAGNOSIS_MAX)
		return hl_activity_fail(ctx, "Healer.InvalidInput", "diagnosis is larger than %d bytes",
					HL_DIAGNOSIS_MAX);
	HL_GUARD(hl_diag_string(ctx, diag, "diagnosis", "class", true, 32, NULL, &cls));
	if (strcmp(cls, want_class) != 0)
		return hl_activity_fail(ctx, "Healer.InvalidInput",
					"diagnosis.class must be \"%s\" for %s", want_class,
					hl_activity_name(ctx));
	if (!json_object_object_get_ex(diag, "details", &details) || details == NULL)
		return invalid(ctx, "diagnosis", "details", "is required");
	if (!json_object_is_type(details, json_type_object))
		return invalid(ctx, "diagnosis", "details", "must be an object");
	in->diagnosis = diag;
	in->details = details;
	return HL_OK;
}

void hl_execution_uuid(const char *execution, const char *purpose, char out[37])
{
	char hex[65];
	char *msg = hl_xasprintf("%s\n%s", purpose, execution);
	hl_sha256_hex(msg, strlen(msg), hex);
	free(msg);
	/* 8-4-4-4-12 from the first 32 hex digits; version 8, variant 10xx. */
	static const char variant[] = "89ab";
	hex[12] = '8';
	unsigned nibble = (unsigned)(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0');
	hex[16] = variant[nibble & 3];
	size_t o = 0;
	for (size_t i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hex[i];
	}
	out[o] = '\0';
}

void hl_execution_short_id(const char *execution, char out[17])
{
	char hex[65];
	hl_sha256_hex(execution, strlen(execution), hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

json_object *hl_remediation_output(const char *action, bool dry_run)
{
	json_object *out = json_object_new_object();
	json_object_object_add(out, "action", json_object_new_string(action));
	json_object_object_add(out, "dryRun", json_object_new_boolean(dry_run));
	json_object_object_add(out, "applied", json_object_new_boolean(false));
	json_object_object_add(out, "verified", json_object_new_boolean(false));
	json_object_object_add(out, "escalate", json_object_new_boolean(false));
	json_object_object_add(out, "reason", json_object_new_string(""));
	json_object_object_add(out, "before", NULL);
	json_object_object_add(out, "after", NULL);
	json_object_object_add(out, "rollback", NULL);
	json_object_object_add(out, "details", json_object_new_object());
	return out;
}

void hl_remediation_set_bool(json_object *out, const char *key, bool v)
{
	json_object_object_add(out, key, json_object_new_boolean(v));
}

void hl_remediation_set_reason(json_object *out, const char *reason)
{
	json_object_object_add(out, "reason", json_object_new_string(reason));
}

json_object *hl_remediation_details(json_object *out)
{
	json_object *d = NULL;
	json_object_object_get_ex(out, "details", &d);
	return d;
}

int hl_remediation_aws_fail(hl_activity_ctx *ctx, const char *prefix, const char *op, int rc,
			    const hl_err *err)
{
	if (rc == HL_ERR_CANCELLED || hl_activity_cancelled(ctx))
		return HL_ERR_CANCELLED;
	/* err->message reads "<AwsCode>: <message>" for service errors. */
	if (err->code == HL_ERR_AWS && hl_retry_is_throttle_code(err->aws_code))
		return hl_activity_fail(ctx, "Healer.Throttled", "%s: %s", op, err->message);
	char name[128];
	snprintf(name, sizeof(name), "%s.AwsError", prefix);
	if (err->code == HL_ERR_AWS)
		return hl_activity_fail(ctx, name, "%s: HTTP %d: %s", op, err->http_status, err->message);
	return hl_activity_fail(ctx, name, "%s: %s: %s", op, hl_status_name(rc), err->message);
}

const char *hl_json_str(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void hl_excerpt(const char *s, size_t max, char *out, size_t outsz)
{
	size_t o = 0;
	if (outsz == 0)
		return;
	for (size_t i = 0; s && s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r')
			continue;
		size_t need = c == '\n' ? 2 : 1;
		if (o + need >= outsz)
			break;
		if (c == '\n') {
			out[o++] = ';';
			out[o++] = ' ';
		} else {
			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
	}
	out[o] = '\0';
}

void hl_format_bytes(uint64_t bytes, char *out, size_t outsz)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (bytes < 1024) {
		snprintf(out, outsz, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes / 1024.0;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, outsz, "%.1f %s", v, units[u]);
}

void hl_format_iso8601(int64_t epoch_s, char out[21])
{
	struct tm tm;
	time_t t = (time_t)epoch_s;
	if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		hl_strlcpy(out, "1970-01-01T00:00:00Z", 21);
}
