/* test_killswitch.c - the kill switch against the local endpoint (suite
 * "killswitch", killswitch.h).
 *
 * Each test starts tests/local/server.py (its SSM parameter store comes from
 * services/ssm_parameters.py), points AWS_ENDPOINT_URL at it and uses the
 * real AWS client. The parameter is set through the endpoint's admin API so
 * only the code under test makes SSM requests, and the endpoint's request
 * counters prove what the cache did.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/aws.h"
#include "healer/creds.h"
#include "healer/http.h"
#include "healer/killswitch.h"
#include "healer/log.h"
#include "../support/local_endpoint.h"

#define PARAM "/healer/enabled"

typedef struct live {
	hl_test_endpoint *ep;
	hl_creds_provider *creds;
	hl_aws *aws;
	hl_aws_conn *conn;
} live;

static live L;

static void start(void)
{
	hl_err err;
	hl_log_set_level(HL_LOG_OFF);
	cr_assert_eq(hl_http_global_init(NULL), 0);
	unsetenv("AWS_ENDPOINT_URL_SSM");
	unsetenv("HEALER_KILL_SWITCH_PARAM");
	unsetenv("HEALER_KILL_SWITCH_CACHE_S");
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	L.ep = hl_test_endpoint_start();
	cr_assert_not_null(L.ep, "local endpoint did not start");
	setenv("AWS_ENDPOINT_URL", hl_test_endpoint_url(L.ep), 1);
	hl_creds_config cc = { .clock = hl_clock_system() };
	L.creds = hl_creds_provider_new_default(&cc);
	cr_assert_not_null(L.creds);
	hl_aws_config cfg = { .region = "us-east-1", .creds = L.creds, .clock = hl_clock_system(),
			      .max_attempts = 1 };
	L.aws = hl_aws_new(&cfg, &err);
	cr_assert_not_null(L.aws, "%s", err.message);
	L.conn = hl_aws_conn_new(L.aws);
	hl_killswitch_invalidate();
}

static void stop(void)
{
	hl_aws_conn_free(L.conn);
	hl_aws_free(L.aws);
	hl_creds_provider_free(L.creds);
	hl_test_endpoint_stop(L.ep);
}

TestSuite(killswitch, .init = start, .fini = stop, .timeout = 60);

static void admin_set(const char *value)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"" PARAM "\",\"value\":\"%s\"}", value);
	cr_assert_eq(hl_test_endpoint_admin(L.ep, "POST", "/_admin/ssm/parameters", body, NULL), 200);
}

static long requests_for(const char *op)
{
	char *body = NULL;
	cr_assert_eq(hl_test_endpoint_admin(L.ep, "GET", "/_admin/summary", NULL, &body), 200);
	json_object *s = json_tokener_parse(body);
	free(body);
	json_object *by = NULL, *n = NULL;
	long v = 0;
	if (json_object_object_get_ex(s, "requests_by_op", &by) && json_object_object_get_ex(by, op, &n))
		v = (long)json_object_get_int64(n);
	json_object_put(s);
	return v;
}

/* The stored parameter as the admin API lists it (caller puts). */
static json_object *stored(void)
{
	char *body = NULL;
	cr_assert_eq(hl_test_endpoint_admin(L.ep, "GET", "/_admin/ssm/parameters", NULL, &body), 200);
	json_object *s = json_tokener_parse(body);
	free(body);
	json_object *list = NULL;
	cr_assert(json_object_object_get_ex(s, "parameters", &list));
	cr_assert_eq(json_object_array_length(list), 1);
	json_object *p = json_object_get(json_object_array_get_idx(list, 0));
	json_object_put(s);
	return p;
}

static const char *field(json_object *o, const char *k)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static hl_killswitch_state get_state(void)
{
	hl_killswitch_state s = HL_KILLSWITCH_UNRECOGNISED;
	hl_err err;
	hl_err_clear(&err);
	cr_assert_eq(hl_killswitch_get(L.conn, &s, &err), 0, "%s", err.message);
	return s;
}

Test(killswitch, missing_parameter_counts_as_enabled)
{
	cr_expect_eq(get_state(), HL_KILLSWITCH_NOT_FOUND);
	cr_expect(hl_killswitch_allows(HL_KILLSWITCH_NOT_FOUND));
	cr_expect_str_eq(hl_killswitch_state_name(HL_KILLSWITCH_NOT_FOUND), "not-found");
}

Test(killswitch, values)
{
	setenv("HEALER_KILL_SWITCH_CACHE_S", "0", 1);
	static const struct {
		const char *value;
		hl_killswitch_state want;
	} c[] = {
		{ "true", HL_KILLSWITCH_ENABLED },   { "TRUE", HL_KILLSWITCH_ENABLED },
		{ "false", HL_KILLSWITCH_DISABLED }, { "False", HL_KILLSWITCH_DISABLED },
		{ "off", HL_KILLSWITCH_UNRECOGNISED }, { "true ", HL_KILLSWITCH_UNRECOGNISED },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		admin_set(c[i].value);
		cr_expect_eq(get_state(), c[i].want, "value \"%s\"", c[i].value);
	}
	cr_expect_not(hl_killswitch_allows(HL_KILLSWITCH_UNRECOGNISED), "fail safe");
	cr_expect_not(hl_killswitch_allows(HL_KILLSWITCH_DISABLED));
	cr_expect_eq(requests_for("GetParameter"), 6, "cache 0 s: one call per read");
}

Test(killswitch, set_disable_and_enable)
{
	hl_err err;
	hl_err_clear(&err);
	cr_expect_eq(get_state(), HL_KILLSWITCH_NOT_FOUND);
	cr_assert_eq(hl_killswitch_set(L.conn, false, "database migration, ticket OPS-12", &err), 0,
		     "%s", err.message);
	json_object *p = stored();
	cr_expect_str_eq(field(p, "Value"), "false");
	cr_expect_str_eq(field(p, "Type"), "String");
	cr_expect_str_eq(field(p, "Description"), "disabled by operator: database migration, ticket OPS-12");
	json_object_put(p);
	/* The set dropped this process's cached "not-found". */
	cr_expect_eq(get_state(), HL_KILLSWITCH_DISABLED);

	cr_assert_eq(hl_killswitch_set(L.conn, true, NULL, &err), 0, "%s", err.message);
	p = stored();
	cr_expect_str_eq(field(p, "Value"), "true");
	cr_expect_str_eq(field(p, "Description"), "enabled by operator");
	cr_expect_str_eq(field(p, "Version"), "2");
	json_object_put(p);
	cr_expect_eq(get_state(), HL_KILLSWITCH_ENABLED);
	cr_expect_eq(requests_for("PutParameter"), 2);
}

Test(killswitch, set_rejects_bad_reasons)
{
	hl_err err;
	cr_expect_eq(hl_killswitch_set(L.conn, false, NULL, &err), HL_ERR_INVALID);
	cr_expect_str_eq(err.message, "disabling the engine needs a reason");
	cr_expect_eq(hl_killswitch_set(L.conn, false, "", &err), HL_ERR_INVALID);
	cr_expect_eq(hl_killswitch_set(L.conn, false, "line\nbreak", &err), HL_ERR_INVALID);
	cr_expect_str_eq(err.message, "the reason must not contain control characters");
	char big[HL_KILLSWITCH_REASON_MAX + 2];
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(hl_killswitch_set(L.conn, false, big, &err), HL_ERR_INVALID);
	cr_expect_str_eq(err.message, "the reason is longer than 512 bytes");
	cr_expect_eq(requests_for("PutParameter"), 0, "nothing was sent");
}

Test(killswitch, cache_serves_stale_value_until_ttl)
{
	setenv("HEALER_KILL_SWITCH_CACHE_S", "1", 1);
	admin_set("true");
	cr_expect_eq(get_state(), HL_KILLSWITCH_ENABLED);
	admin_set("false");
	cr_expect_eq(get_state(), HL_KILLSWITCH_ENABLED, "within the TTL the cached value is served");
	cr_expect_eq(requests_for("GetParameter"), 1);
	usleep(1100 * 1000);
	cr_expect_eq(get_state(), HL_KILLSWITCH_DISABLED, "after the TTL the flip is seen");
	cr_expect_eq(requests_for("GetParameter"), 2);
}

Test(killswitch, bad_setting_is_an_error)
{
	hl_killswitch_state s;
	hl_err err;
	setenv("HEALER_KILL_SWITCH_CACHE_S", "30", 1);
	cr_expect_eq(hl_killswitch_get(L.conn, &s, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_KILL_SWITCH_CACHE_S: \"30\" is out of range 0..10");
}

typedef struct reader {
	hl_aws_conn *conn;
	int disabled_seen;
	int failures;
} reader;

static void *read_many(void *arg)
{
	reader *r = arg;
	for (int i = 0; i < 50; i++) {
		hl_killswitch_state s;
		hl_err err;
		if (hl_killswitch_get(r->conn, &s, &err) < 0)
			r->failures++;
		else if (s == HL_KILLSWITCH_DISABLED)
			r->disabled_seen++;
	}
	return NULL;
}

Test(killswitch, shared_cache_across_threads)
{
	enum { THREADS = 8 };
	setenv("HEALER_KILL_SWITCH_CACHE_S", "10", 1);
	admin_set("false");
	pthread_t t[THREADS];
	reader r[THREADS];
	for (int i = 0; i < THREADS; i++) {
		r[i] = (reader){ .conn = hl_aws_conn_new(L.aws) };
		cr_assert_eq(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].failures, 0);
		cr_expect_eq(r[i].disabled_seen, 50);
		hl_aws_conn_free(r[i].conn);
	}
	long calls = requests_for("GetParameter");
	cr_expect(calls >= 1 && calls <= THREADS, "400 reads cost %ld GetParameter calls", calls);
}
