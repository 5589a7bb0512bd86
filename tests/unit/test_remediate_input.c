/* test_remediate_input.c - the remediation activities' shared helpers
 * (suite "remediate_input"): input validation with the exact error and
 * cause, idempotency keys derived from the execution ARN, output shape,
 * AWS failure naming and formatting.
 *
 * Expected keys were computed independently (Python hashlib) from the same
 * definition: UUID = first 32 hex digits of SHA-256(purpose "\n"
 * execution), version nibble 8, variant nibble in 8..b.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/diagnosis.h"

#define EXEC "arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-1"

static const hl_activity fake = { .name = "remediate-test", .summary = "test" };
static hl_activity_ctx *ctx;

static void setup(void)
{
	ctx = hl_activity_ctx_new(&fake, NULL, false, "unit");
}

static void teardown(void)
{
	hl_activity_ctx_free(ctx);
}

TestSuite(remediate_input, .init = setup, .fini = teardown);

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);
	cr_assert_not_null(o, "bad test JSON: %s", text);
	return o;
}

/* Parses `text` as the input and expects Healer.InvalidInput with exactly
 * `cause`. */
static void expect_invalid(const char *text, const char *cause)
{
	hl_remediation_input in;
	json_object *input = parse(text);
	int rc = hl_remediation_input_parse(ctx, input, "disk_pressure", &in);
	cr_expect_eq(rc, HL_ERR_INVALID, "input %s", text);
	cr_expect_str_eq(hl_activity_ctx_error(ctx), "Healer.InvalidInput");
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), cause);
	json_object_put(input);
}

#define GOOD_DIAG "{\"class\": \"disk_pressure\", \"details\": {\"instanceId\": \"i-0abcd1234ef567890\"}}"

Test(remediate_input, accepts_a_valid_input)
{
	hl_remediation_input in;
	json_object *input = parse("{\"execution\": \"" EXEC "\", \"dryRun\": false, \"diagnosis\": " GOOD_DIAG "}");
	cr_assert_eq(hl_remediation_input_parse(ctx, input, "disk_pressure", &in), HL_OK);
	cr_expect_str_eq(in.execution, EXEC);
	cr_expect_eq(in.dry_run, false);
	cr_expect(json_object_is_type(in.details, json_type_object));
	cr_expect_null(hl_activity_ctx_error(ctx));
	json_object_put(input);
}

Test(remediate_input, worker_dry_run_wins_over_input)
{
	hl_remediation_input in;
	hl_activity_ctx *dry = hl_activity_ctx_new(&fake, NULL, true, "unit");
	json_object *input = parse("{\"execution\": \"" EXEC "\", \"dryRun\": false, \"diagnosis\": " GOOD_DIAG "}");
	cr_assert_eq(hl_remediation_input_parse(dry, input, "disk_pressure", &in), HL_OK);
	cr_expect_eq(in.dry_run, true);
	json_object_put(input);
	hl_activity_ctx_free(dry);
}

Test(remediate_input, refuses_each_bad_field_by_name)
{
	expect_invalid("[]", "input must be a JSON object");
	expect_invalid("{\"dryRun\": false, \"diagnosis\": " GOOD_DIAG "}", "execution is required");
	expect_invalid("{\"execution\": 7, \"dryRun\": false, \"diagnosis\": " GOOD_DIAG "}",
		       "execution must be a string");
	expect_invalid("{\"execution\": \"arn:aws:states:us-east-1:123456789012:execution:m:a b\", "
		       "\"dryRun\": false, \"diagnosis\": " GOOD_DIAG "}",
		       "execution is not a valid value");
	expect_invalid("{\"execution\": \"" EXEC "\", \"diagnosis\": " GOOD_DIAG "}", "dryRun is required");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": \"no\", \"diagnosis\": " GOOD_DIAG "}",
		       "dryRun must be a boolean");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true}", "diagnosis is required");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true, \"diagnosis\": []}",
		       "diagnosis must be an object");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true, \"diagnosis\": {\"details\": {}}}",
		       "diagnosis.class is required");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true, \"diagnosis\": "
		       "{\"class\": \"public_ssh\", \"details\": {}}}",
		       "diagnosis.class must be \"disk_pressure\" for remediate-test");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true, \"diagnosis\": {\"class\": \"disk_pressure\"}}",
		       "diagnosis.details is required");
	expect_invalid("{\"execution\": \"" EXEC "\", \"dryRun\": true, \"diagnosis\": "
		       "{\"class\": \"disk_pressure\", \"details\": \"x\"}}",
		       "diagnosis.details must be an object");
}

Test(remediate_input, refuses_an_oversized_diagnosis)
{
	size_t n = 70000;
	char *big = hl_xmalloc(n + 256);
	int off = snprintf(big, n + 256, "{\"execution\": \"%s\", \"dryRun\": true, \"diagnosis\": "
			   "{\"class\": \"disk_pressure\", \"details\": {\"pad\": \"", EXEC);
	memset(big + off, 'x', n);
	memcpy(big + off + n, "\"}}}", 5);
	expect_invalid(big, "diagnosis is larger than 65536 bytes");
	free(big);
}

static bool starts_with_i(const char *s)
{
	return s[0] == 'i';
}

Test(remediate_input, diag_string_checks_form_and_length)
{
	json_object *o = parse("{\"a\": \"i-1\", \"b\": \"bad\", \"c\": \"x\\ny\", \"d\": \"\", \"e\": null, "
			       "\"f\": \"toolong\"}");
	const char *out = NULL;
	cr_expect_eq(hl_diag_string(ctx, o, "p", "a", true, 8, starts_with_i, &out), HL_OK);
	cr_expect_str_eq(out, "i-1");
	cr_expect_eq(hl_diag_string(ctx, o, "p", "b", true, 8, starts_with_i, &out), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.b is not a valid value");
	cr_expect_null(out);
	cr_expect_eq(hl_diag_string(ctx, o, "p", "c", true, 8, NULL, &out), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.c must not contain control characters");
	cr_expect_eq(hl_diag_string(ctx, o, "p", "d", true, 8, NULL, &out), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.d must not be empty");
	cr_expect_eq(hl_diag_string(ctx, o, "p", "e", false, 8, NULL, &out), HL_OK);
	cr_expect_null(out);
	cr_expect_eq(hl_diag_string(ctx, o, "p", "f", true, 4, NULL, &out), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.f must be at most 4 bytes without NUL");
	json_object_put(o);
}

Test(remediate_input, diag_number_checks_type_and_range)
{
	json_object *o = parse("{\"a\": 91, \"b\": 91.5, \"c\": \"91\", \"d\": 101}");
	double v = 0;
	bool present = false;
	cr_expect_eq(hl_diag_number(ctx, o, "p", "a", true, 0, 100, &v, &present), HL_OK);
	cr_expect(present && v == 91);
	cr_expect_eq(hl_diag_number(ctx, o, "p", "b", true, 0, 100, &v, &present), HL_OK);
	cr_expect(v == 91.5);
	cr_expect_eq(hl_diag_number(ctx, o, "p", "c", true, 0, 100, &v, &present), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.c must be a number");
	cr_expect_eq(hl_diag_number(ctx, o, "p", "d", true, 0, 100, &v, &present), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "p.d must be a number in 0..100");
	cr_expect_eq(hl_diag_number(ctx, o, "p", "zz", false, 0, 100, &v, &present), HL_OK);
	cr_expect(!present);
	json_object_put(o);
}

Test(remediate_input, execution_uuid_is_deterministic_and_well_formed)
{
	char a[37], b[37], c[37];
	hl_execution_uuid(EXEC, "remediate-sg", a);
	hl_execution_uuid(EXEC, "remediate-sg", b);
	hl_execution_uuid(EXEC, "other", c);
	cr_expect_str_eq(a, "3ec519fd-956f-83ed-a99a-3aae5f7dd62d");
	cr_expect_str_eq(a, b);
	cr_expect_str_neq(a, c);
	cr_expect_eq(strlen(c), 36);
	cr_expect_eq(c[14], '8');
	cr_expect(strchr("89ab", c[19]) != NULL);
	cr_expect(c[8] == '-' && c[13] == '-' && c[18] == '-' && c[23] == '-');
}

Test(remediate_input, execution_short_id)
{
	char s[17];
	hl_execution_short_id(EXEC, s);
	cr_expect_str_eq(s, "de318171a405bc7b");
}

Test(remediate_input, output_has_the_contract_fields)
{
	json_object *out = hl_remediation_output("disk_cleanup", true);
	const char *want =
		"{\"action\":\"disk_cleanup\",\"dryRun\":true,\"applied\":false,\"verified\":false,"
		"\"escalate\":false,\"reason\":\"\",\"before\":null,\"after\":null,\"rollback\":null,"
		"\"details\":{}}";
	cr_expect_str_eq(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN), want);
	cr_expect_not_null(hl_remediation_details(out));
	json_object_put(out);
}

Test(remediate_input, aws_failures_are_named)
{
	hl_err err;
	hl_err_clear(&err);
	err.code = HL_ERR_AWS;
	err.http_status = 400;
	hl_strlcpy(err.aws_code, "ThrottlingException", sizeof(err.aws_code));
	hl_strlcpy(err.message, "ThrottlingException: Rate exceeded", sizeof(err.message));
	cr_expect_eq(hl_remediation_aws_fail(ctx, "Healer.X", "SendCommand", HL_ERR_AWS, &err), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_error(ctx), "Healer.Throttled");
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "SendCommand: ThrottlingException: Rate exceeded");

	hl_strlcpy(err.aws_code, "InvalidDocument", sizeof(err.aws_code));
	hl_strlcpy(err.message, "InvalidDocument: nope", sizeof(err.message));
	cr_expect_eq(hl_remediation_aws_fail(ctx, "Healer.X", "SendCommand", HL_ERR_AWS, &err), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_error(ctx), "Healer.X.AwsError");
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "SendCommand: HTTP 400: InvalidDocument: nope");

	hl_err_clear(&err);
	err.code = HL_ERR_IO;
	hl_strlcpy(err.message, "connection refused", sizeof(err.message));
	cr_expect_eq(hl_remediation_aws_fail(ctx, "Healer.X", "ListCommands", HL_ERR_IO, &err), HL_ERR_INVALID);
	cr_expect_str_eq(hl_activity_ctx_cause(ctx), "ListCommands: io: connection refused");
}

Test(remediate_input, formats)
{
	char b[32], t[21];
	hl_format_bytes(0, b, sizeof(b));
	cr_expect_str_eq(b, "0 B");
	hl_format_bytes(1023, b, sizeof(b));
	cr_expect_str_eq(b, "1023 B");
	hl_format_bytes(1024, b, sizeof(b));
	cr_expect_str_eq(b, "1.0 KiB");
	hl_format_bytes(30ULL * 1024 * 1024 * 1024, b, sizeof(b));
	cr_expect_str_eq(b, "30.0 GiB");
	hl_format_bytes(12884901888ULL + 322122547ULL, b, sizeof(b));
	cr_expect_str_eq(b, "12.3 GiB");
	hl_format_iso8601(0, t);
	cr_expect_str_eq(t, "1970-01-01T00:00:00Z");
	hl_format_iso8601(1795756099, t);
	cr_expect_str_eq(t, "2026-11-27T05:08:19Z");
}

Test(remediate_input, excerpt_is_printable_and_bounded)
{
	char out[8];
	hl_excerpt("ab\ncd\r\x01\xc3\xa9zzzz", 100, out, sizeof(out));
	cr_expect_str_eq(out, "ab; cd?");
	hl_excerpt("abcdefghij", 3, out, sizeof(out));
	cr_expect_str_eq(out, "abc");
	hl_excerpt("abcdefghij", 100, out, sizeof(out));
	cr_expect_str_eq(out, "abcdefg");
	hl_excerpt(NULL, 100, out, sizeof(out));
	cr_expect_str_eq(out, "");
}
