/* test_aws.c - the AWS JSON client: error parsing, retry decisions,
 * backoff and quota with an injected clock, endpoint resolution, and calls
 * against the local endpoint (signatures accepted, faults retried,
 * non-retryable errors surfaced unchanged). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/aws.h"
#include "healer/retry.h"
#include "../support/local_endpoint.h"

/* ---- a fake clock: real wall time (signatures need it), virtual sleeps ---- */
typedef struct fake_clock {
	int64_t slept_ms;
	int sleeps;
	uint64_t next_random;
	bool fixed_random;
} fake_clock;

static int64_t fake_wall(void *ctx)
{
	(void)ctx;
	return hl_wall_ms(hl_clock_system());
}
static int64_t fake_mono(void *ctx)
{
	fake_clock *f = ctx;
	return 1000000 + f->slept_ms;
}
static void fake_sleep(void *ctx, int64_t ms)
{
	fake_clock *f = ctx;
	f->slept_ms += ms;
	f->sleeps++;
}
static uint64_t fake_random(void *ctx)
{
	fake_clock *f = ctx;
	return f->fixed_random ? f->next_random : 12345;
}

static fake_clock fc;
static const hl_clock fake = { fake_wall, fake_mono, fake_sleep, fake_random, &fc };

/* ---- error codes and responses ---- */

Test(aws, sanitize_error_code)
{
	char out[128];
	hl_aws_sanitize_error_code("aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/", out, sizeof(out));
	cr_assert_str_eq(out, "FooError");
	hl_aws_sanitize_error_code("com.amazonaws.swf.service.v2.model#TaskTimedOut", out, sizeof(out));
	cr_assert_str_eq(out, "TaskTimedOut");
	hl_aws_sanitize_error_code("ValidationException", out, sizeof(out));
	cr_assert_str_eq(out, "ValidationException");
	hl_aws_sanitize_error_code("  Throttling  ", out, sizeof(out));
	cr_assert_str_eq(out, "Throttling");
	hl_aws_sanitize_error_code("Bad\nCode", out, sizeof(out));
	cr_assert_str_eq(out, "BadCode");
	hl_aws_sanitize_error_code(NULL, out, sizeof(out));
	cr_assert_str_eq(out, "");
}

Test(aws, parse_success_bodies)
{
	json_object *out = NULL;
	hl_err err;
	cr_assert_eq(hl_aws_parse_response(200, NULL, "", 0, &out, &err), HL_OK);
	cr_assert(json_object_is_type(out, json_type_object));
	cr_assert_eq(json_object_object_length(out), 0);
	json_object_put(out);
	const char *b = "{\"taskToken\":\"t\",\"input\":\"{}\"}\n";
	cr_assert_eq(hl_aws_parse_response(200, NULL, b, strlen(b), &out, &err), HL_OK);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(out, "taskToken")), "t");
	json_object_put(out);
}

Test(aws, parse_bad_success_bodies_are_typed)
{
	json_object *out = NULL;
	hl_err err;
	const char *bodies[] = { "{\"taskToken\":\"t\"", "[1,2]", "<html>", "{} trailing", "\"str\"" };
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		hl_err_clear(&err);
		cr_assert_eq(hl_aws_parse_response(200, NULL, bodies[i], strlen(bodies[i]), &out, &err),
			     HL_ERR_PARSE, "body %s", bodies[i]);
		cr_assert_null(out);
		cr_assert_eq(err.code, HL_ERR_PARSE);
		cr_assert(strstr(err.message, "not a JSON object"), "%s", err.message);
	}
}

Test(aws, parse_error_envelopes)
{
	json_object *out = NULL;
	hl_err err;
	const char *b1 = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
			 "\"message\":\"The conditional request failed\"}";
	cr_assert_eq(hl_aws_parse_response(400, NULL, b1, strlen(b1), &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "ConditionalCheckFailedException");
	cr_assert_eq(err.http_status, 400);
	cr_assert(strstr(err.message, "The conditional request failed"));

	const char *b2 = "{\"__type\":\"Other\",\"Message\":\"capital M\"}";
	cr_assert_eq(hl_aws_parse_response(400, "TaskTimedOut:http://x", b2, strlen(b2), &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "TaskTimedOut", "the x-amzn-ErrorType header wins");
	cr_assert(strstr(err.message, "capital M"));

	const char *b3 = "{\"code\":\"ThrottlingException\"}";
	cr_assert_eq(hl_aws_parse_response(400, NULL, b3, strlen(b3), &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "ThrottlingException");
	cr_assert(strstr(err.message, "(no message)"));

	cr_assert_eq(hl_aws_parse_response(403, NULL, "{}", 2, &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "");
	cr_assert(strstr(err.message, "HTTP 403 with no error code"), "%s", err.message);

	const char *html = "<html>502 Bad Gateway</html>";
	cr_assert_eq(hl_aws_parse_response(502, NULL, html, strlen(html), &out, &err), HL_ERR_PARSE);
	cr_assert_eq(err.http_status, 502);
	cr_assert_eq(hl_retry_classify(&err), HL_RETRY_TRANSIENT, "a 502 page is retryable");
	cr_assert_null(out);
}

/* ---- retry decisions ---- */

static hl_err aws_err(int status, const char *code)
{
	hl_err e;
	hl_err_clear(&e);
	hl_err_set(&e, HL_ERR_AWS, "x");
	e.http_status = status;
	hl_strlcpy(e.aws_code, code, sizeof(e.aws_code));
	return e;
}

Test(retry, classify)
{
	hl_err e;
	const char *throttles[] = { "Throttling", "ThrottlingException", "ThrottledException",
				    "RequestThrottledException", "TooManyRequestsException",
				    "ProvisionedThroughputExceededException", "RequestLimitExceeded",
				    "SlowDown", "LimitExceededException" };
	for (size_t i = 0; i < sizeof(throttles) / sizeof(throttles[0]); i++) {
		e = aws_err(400, throttles[i]);
		cr_assert_eq(hl_retry_classify(&e), HL_RETRY_THROTTLE, "%s", throttles[i]);
	}
	int transient[] = { 500, 502, 503, 504 };
	for (size_t i = 0; i < 4; i++) {
		e = aws_err(transient[i], "SomethingOdd");
		cr_assert_eq(hl_retry_classify(&e), HL_RETRY_TRANSIENT, "%d", transient[i]);
	}
	e = aws_err(400, "RequestTimeout");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_TRANSIENT);
	e = aws_err(501, "NotImplemented");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_NO);
	e = aws_err(400, "ValidationException");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_NO);
	e = aws_err(400, "TaskTimedOut");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_NO);
	e = aws_err(403, "InvalidSignatureException");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_NO);
	hl_err_set(&e, HL_ERR_TIMEOUT, "t");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_TIMEOUT);
	hl_err_set(&e, HL_ERR_IO, "reset");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_TRANSIENT);
	hl_err_set(&e, HL_ERR_TOO_LARGE, "big");
	cr_assert_eq(hl_retry_classify(&e), HL_RETRY_NO);
}

Test(retry, backoff_full_jitter_capped)
{
	fc = (fake_clock){ .fixed_random = true, .next_random = UINT64_MAX };
	/* The largest draw approaches the ceiling: 2^(n-1) s, capped at 20 s. */
	int64_t expect_max[] = { 1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000 };
	for (int attempt = 1; attempt <= 8; attempt++) {
		int64_t ms = hl_retry_backoff_ms(&fake, attempt);
		cr_assert(ms < expect_max[attempt - 1] && ms >= expect_max[attempt - 1] - 1000,
			  "attempt %d: %lld", attempt, (long long)ms);
	}
	fc.next_random = 0;
	cr_assert_eq(hl_retry_backoff_ms(&fake, 3), 0, "full jitter reaches zero");
	cr_assert(hl_retry_backoff_ms(&fake, 100) < 20000, "huge attempts stay capped");
}

Test(retry, quota_exhausts_and_refunds)
{
	hl_retry_quota q;
	hl_retry_quota_init(&q, HL_RETRY_QUOTA_INITIAL);
	int n = 0;
	while (hl_retry_quota_acquire(&q, HL_RETRY_TRANSIENT) == HL_RETRY_COST)
		n++;
	cr_assert_eq(n, 100, "500 tokens / 5 per retry");
	cr_assert_eq(hl_retry_quota_acquire(&q, HL_RETRY_TIMEOUT), 0);
	hl_retry_quota_release(&q, 10);
	cr_assert_eq(hl_retry_quota_tokens(&q), 10);
	cr_assert_eq(hl_retry_quota_acquire(&q, HL_RETRY_TIMEOUT), HL_RETRY_TIMEOUT_COST);
	cr_assert_eq(hl_retry_quota_tokens(&q), 0);
	hl_retry_quota_release(&q, 0);
	cr_assert_eq(hl_retry_quota_tokens(&q), 1, "a first-try success adds one token");
	for (int i = 0; i < 1000; i++)
		hl_retry_quota_release(&q, 5);
	cr_assert_eq(hl_retry_quota_tokens(&q), HL_RETRY_QUOTA_INITIAL, "capped at the maximum");
	hl_retry_quota_destroy(&q);
}

/* ---- endpoint resolution ---- */

static hl_creds_provider *env_provider(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	hl_creds_config cc = { .clock = hl_clock_system() };
	hl_creds_provider *p = hl_creds_provider_new_default(&cc);
	cr_assert_not_null(p);
	return p;
}

static void clear_endpoint_env(void)
{
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_SFN");
	unsetenv("AWS_ENDPOINT_URL_SSM");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_MAX_ATTEMPTS");
}

Test(aws, endpoint_resolution)
{
	clear_endpoint_env();
	hl_creds_provider *p = env_provider();
	hl_err err;
	hl_aws_config cfg = { .region = "eu-west-2", .creds = p };
	hl_aws *aws = hl_aws_new(&cfg, &err);
	cr_assert_not_null(aws, "%s", err.message);
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_sfn), "https://states.eu-west-2.amazonaws.com");
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_dynamodb), "https://dynamodb.eu-west-2.amazonaws.com");
	hl_aws_free(aws);

	cfg.region = "cn-north-1";
	aws = hl_aws_new(&cfg, &err);
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_ssm), "https://ssm.cn-north-1.amazonaws.com.cn");
	hl_aws_free(aws);

	cfg.region = "us-east-1";
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
	setenv("AWS_ENDPOINT_URL_SFN", "http://localhost:9999/", 1);
	aws = hl_aws_new(&cfg, &err);
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_sfn), "http://localhost:9999", "service-specific wins");
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_ssm), "http://127.0.0.1:4566");
	hl_aws_free(aws);

	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	aws = hl_aws_new(&cfg, &err);
	cr_assert_str_eq(hl_aws_endpoint(aws, &hl_svc_sfn), "https://states.us-east-1.amazonaws.com");
	hl_aws_free(aws);
	hl_creds_provider_free(p);
}

Test(aws, bad_settings_are_config_errors)
{
	clear_endpoint_env();
	hl_creds_provider *p = env_provider();
	hl_err err;
	hl_aws_config cfg = { .region = NULL, .creds = p };
	cr_assert_null(hl_aws_new(&cfg, &err));
	cr_assert_eq(err.code, HL_ERR_CONFIG);
	cr_assert(strstr(err.message, "AWS_REGION"), "%s", err.message);

	cfg.region = "us-east-1; rm -rf /";
	cr_assert_null(hl_aws_new(&cfg, &err));
	cr_assert(strstr(err.message, "invalid AWS region"), "%s", err.message);

	cfg.region = "us-east-1";
	const char *bad[] = { "ftp://x", "http://", "http://a b", "https://user@host", "http://h?q=1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AWS_ENDPOINT_URL_SFN", bad[i], 1);
		hl_err_clear(&err);
		cr_assert_null(hl_aws_new(&cfg, &err), "%s accepted", bad[i]);
		cr_assert_eq(err.code, HL_ERR_CONFIG, "%s", bad[i]);
	}
	unsetenv("AWS_ENDPOINT_URL_SFN");
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	cr_assert_null(hl_aws_new(&cfg, &err));
	cr_assert(strstr(err.message, "AWS_MAX_ATTEMPTS"));
	hl_creds_provider_free(p);
}

/* ---- against the local endpoint ---- */

typedef struct live {
	hl_test_endpoint *ep;
	hl_creds_provider *creds;
	hl_aws *aws;
	hl_aws_conn *conn;
} live;

static live start_live(int max_attempts)
{
	live l = { 0 };
	hl_err err;
	clear_endpoint_env();
	l.ep = hl_test_endpoint_start();
	cr_assert_not_null(l.ep, "local endpoint did not start");
	setenv("AWS_ENDPOINT_URL", hl_test_endpoint_url(l.ep), 1);
	l.creds = env_provider();
	fc = (fake_clock){ 0 };
	hl_aws_config cfg = { .region = "us-east-1", .creds = l.creds, .clock = &fake,
			      .max_attempts = max_attempts };
	l.aws = hl_aws_new(&cfg, &err);
	cr_assert_not_null(l.aws, "%s", err.message);
	l.conn = hl_aws_conn_new(l.aws);
	return l;
}

static void stop_live(live *l)
{
	hl_aws_conn_free(l->conn);
	hl_aws_free(l->aws);
	hl_creds_provider_free(l->creds);
	hl_test_endpoint_stop(l->ep);
}

static long requests_for(live *l, const char *op)
{
	char *body = NULL;
	cr_assert_eq(hl_test_endpoint_admin(l->ep, "GET", "/_admin/summary", NULL, &body), 200);
	json_object *s = json_tokener_parse(body);
	free(body);
	json_object *by = NULL, *n = NULL;
	long v = 0;
	if (json_object_object_get_ex(s, "requests_by_op", &by) && json_object_object_get_ex(by, op, &n))
		v = (long)json_object_get_int64(n);
	json_object_put(s);
	return v;
}

static int call_json(live *l, const char *op, const char *body, json_object **out, hl_err *err)
{
	return hl_aws_call_raw(l->conn, &hl_svc_sfn, op, body, strlen(body), out, NULL, err);
}

Test(aws_live, signed_calls_are_accepted)
{
	live l = start_live(3);
	json_object *out = NULL;
	hl_err err;
	json_object *in = json_object_new_object();
	json_object_object_add(in, "name", json_object_new_string("healer-test"));
	cr_assert_eq(hl_aws_call(l.conn, &hl_svc_sfn, "CreateActivity", in, &out, NULL, &err), HL_OK, "%s", err.message);
	json_object_put(in);
	const char *arn = json_object_get_string(json_object_object_get(out, "activityArn"));
	cr_assert_str_eq(arn, "arn:aws:states:us-east-1:123456789012:activity:healer-test");
	char body[256];
	snprintf(body, sizeof(body), "{\"activityArn\":\"%s\"}", arn);
	json_object_put(out);
	/* Many calls on one keep-alive connection. */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(call_json(&l, "DescribeActivity", body, &out, &err), HL_OK, "%s", err.message);
		json_object_put(out);
	}
	cr_assert_eq(fc.sleeps, 0, "no retries needed");
	stop_live(&l);
}

Test(aws_live, non_retryable_errors_surface_unchanged)
{
	live l = start_live(3);
	json_object *out = NULL;
	hl_err err;
	cr_assert_eq(call_json(&l, "DescribeActivity",
			       "{\"activityArn\":\"arn:aws:states:us-east-1:123456789012:activity:nope\"}",
			       &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "ActivityDoesNotExist");
	cr_assert_eq(requests_for(&l, "DescribeActivity"), 1, "not retried");

	char name[200];
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	char body[300];
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	cr_assert_eq(call_json(&l, "CreateActivity", body, &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "ValidationException");
	cr_assert(strstr(err.message, "name"), "%s", err.message);

	cr_assert_eq(call_json(&l, "NoSuchOperation", "{}", &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "UnknownOperationException");
	cr_assert_eq(fc.sleeps, 0);
	stop_live(&l);
}

Test(aws_live, wrong_secret_is_rejected_not_retried)
{
	live l = start_live(3);
	hl_aws_conn_free(l.conn);
	hl_aws_free(l.aws);
	hl_creds_provider_free(l.creds);
	setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
	hl_creds_config cc = { .clock = hl_clock_system() };
	l.creds = hl_creds_provider_new_default(&cc);
	hl_err err;
	hl_aws_config cfg = { .region = "us-east-1", .creds = l.creds, .clock = &fake };
	l.aws = hl_aws_new(&cfg, &err);
	l.conn = hl_aws_conn_new(l.aws);
	json_object *out = NULL;
	cr_assert_eq(call_json(&l, "ListActivities", "{}", &out, &err), HL_ERR_AWS);
	cr_assert_str_eq(err.aws_code, "InvalidSignatureException");
	cr_assert(err.http_status == 400 || err.http_status == 403, "status %d", err.http_status);
	cr_assert_eq(fc.sleeps, 0);
	stop_live(&l);
}

static void set_faults(live *l, const char *json)
{
	cr_assert_eq(hl_test_endpoint_admin(l->ep, "POST", "/_admin/faults", json, NULL), 200);
}

Test(aws_live, transient_faults_are_retried)
{
	live l = start_live(10);
	set_faults(&l, "{\"rate_503\":0.15,\"rate_500\":0.05,\"rate_throttle\":0.1,\"rate_reset\":0.05,\"seed\":3}");
	json_object *out = NULL;
	hl_err err;
	for (int i = 0; i < 30; i++) {
		cr_assert_eq(call_json(&l, "ListActivities", "{}", &out, &err), HL_OK, "call %d: %s", i, err.message);
		json_object_put(out);
	}
	cr_assert_gt(fc.sleeps, 5, "faults were retried with backoff");
	cr_assert_gt(requests_for(&l, "ListActivities"), 30);
	stop_live(&l);
}

Test(aws_live, attempts_are_bounded)
{
	live l = start_live(3);
	set_faults(&l, "{\"rate_500\":1.0}");
	json_object *out = NULL;
	hl_err err;
	cr_assert_eq(call_json(&l, "ListActivities", "{}", &out, &err), HL_ERR_AWS);
	cr_assert_eq(err.http_status, 500);
	cr_assert_eq(requests_for(&l, "ListActivities"), 3, "AWS_MAX_ATTEMPTS bounds the tries");
	cr_assert_eq(fc.sleeps, 2);
	stop_live(&l);
}

Test(aws_live, quota_stops_retry_storms)
{
	live l = start_live(3);
	set_faults(&l, "{\"rate_503\":1.0}");
	json_object *out = NULL;
	hl_err err;
	/* 500 tokens, 5 per retry: 100 retries, then calls fail at once. */
	int calls = 0;
	while (calls < 200) {
		calls++;
		cr_assert_eq(call_json(&l, "ListActivities", "{}", &out, &err), HL_ERR_AWS);
		if (strstr(err.message, "retry quota exhausted"))
			break;
	}
	cr_assert_eq(hl_retry_quota_tokens(hl_aws_retry_quota(l.aws)) < HL_RETRY_COST, true);
	cr_assert_eq(calls, 51, "50 calls x 2 retries drain the quota; got %d", calls);
	set_faults(&l, "{}");
	cr_assert_eq(call_json(&l, "ListActivities", "{}", &out, &err), HL_OK);
	json_object_put(out);
	stop_live(&l);
}

Test(aws_live, response_bodies_are_bounded)
{
	live l = start_live(1);
	json_object *out = NULL;
	hl_err err;
	char body[128];
	for (int i = 0; i < 30; i++) {
		snprintf(body, sizeof(body), "{\"name\":\"bounded-%02d\"}", i);
		cr_assert_eq(call_json(&l, "CreateActivity", body, &out, &err), HL_OK);
		json_object_put(out);
	}
	hl_aws_call_opts opts = { .max_response_bytes = 512 };
	cr_assert_eq(hl_aws_call_raw(l.conn, &hl_svc_sfn, "ListActivities", "{}", 2, &out, &opts, &err),
		     HL_ERR_TOO_LARGE);
	cr_assert(strstr(err.message, "exceeds 512 bytes"), "%s", err.message);
	stop_live(&l);
}
