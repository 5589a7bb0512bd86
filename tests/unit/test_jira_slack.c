/* test_jira_slack.c - the record activities' helpers and their Jira and
 * Slack clients (suites "record", "jira", "slack", "webapi").
 *
 * Parsing, validation, escaping and document building are tested on fixed
 * inputs. The retry behaviour (Retry-After, backoff, cancellation) is
 * tested against the Jira and Slack stand-ins of the local endpoint with an
 * injected sleep function that records the waits instead of sleeping, so
 * the tests are exact and fast.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/jira.h"
#include "healer/record.h"
#include "healer/slack.h"

#include "../support/local_endpoint.h"

#define EXEC "arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-1234"

static json_object *parse(const char *s)
{
	json_object *o = json_tokener_parse(s);
	cr_assert_not_null(o, "bad test JSON: %s", s);
	return o;
}

/* ---- record.h ------------------------------------------------------------------ */

Test(record, base_url_rule)
{
	cr_expect(hl_valid_api_base_url("https://example.atlassian.net"));
	cr_expect(hl_valid_api_base_url("https://slack.com/api"));
	cr_expect(hl_valid_api_base_url("https://jira.example.com:8443/jira/"));
	cr_expect(hl_valid_api_base_url("http://127.0.0.1:8080/_jira"));
	cr_expect(hl_valid_api_base_url("http://localhost:1/x"));
	cr_expect(hl_valid_api_base_url("http://[::1]:80"));
	cr_expect_not(hl_valid_api_base_url("http://jira.example.com"), "plain http off loopback");
	cr_expect_not(hl_valid_api_base_url("http://127.0.0.1.evil.com/"));
	cr_expect_not(hl_valid_api_base_url("http://localhost.evil.com"));
	cr_expect_not(hl_valid_api_base_url("https://user:pw@example.com"));
	cr_expect_not(hl_valid_api_base_url("https://example.com/?x=1"));
	cr_expect_not(hl_valid_api_base_url("https://example.com/#frag"));
	cr_expect_not(hl_valid_api_base_url("https://example.com:0"));
	cr_expect_not(hl_valid_api_base_url("https://example.com:65536"));
	cr_expect_not(hl_valid_api_base_url("https://exa mple.com"));
	cr_expect_not(hl_valid_api_base_url("https://"));
	cr_expect_not(hl_valid_api_base_url("ftp://example.com"));
	cr_expect_not(hl_valid_api_base_url("https://example.com/a\nb"));
	cr_expect_not(hl_valid_api_base_url(NULL));
}

Test(record, link_rule)
{
	cr_expect(hl_valid_link_url("https://x.atlassian.net/browse/OPS-1"));
	cr_expect_not(hl_valid_link_url("https://x/a|b"));
	cr_expect_not(hl_valid_link_url("https://x/<!channel>"));
	cr_expect_not(hl_valid_link_url("javascript:alert(1)"));
	cr_expect_not(hl_valid_link_url("https://x/a b"));
	cr_expect_not(hl_valid_link_url("https://"));
}

Test(record, clean_text)
{
	char *s = hl_clean_text("a\x01" "b\nc\td", 100, false);
	cr_expect_str_eq(s, "a b c d");
	free(s);
	s = hl_clean_text("a\r\nb\tc", 100, true);
	cr_expect_str_eq(s, "a\nb\tc");
	free(s);
	s = hl_clean_text("bad \xff\xfe utf8 \xc0\xaf", 100, false);
	cr_expect_str_eq(s, "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	/* U+202E (right-to-left override) hides text: replaced. */
	s = hl_clean_text("i-0abc\xe2\x80\xae" "evil", 100, false);
	cr_expect_str_eq(s, "i-0abc\xef\xbf\xbd" "evil");
	free(s);
	/* Cut at a character boundary, marker included in the bound. */
	s = hl_clean_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 19,
			  false);
	cr_expect_str_eq(s, "\xc3\xa9\xc3\xa9...(truncated)");
	cr_expect_leq(strlen(s), 19);
	free(s);
	cr_expect_null(hl_clean_text(NULL, 10, false));
}

Test(record, execution_label_and_console_link)
{
	char label[24];
	hl_execution_label(EXEC, label);
	cr_expect_str_eq(label, "healer-656f5b57c1af965f");

	hl_buf b;
	hl_buf_init(&b, 4096);
	cr_assert_eq(hl_console_execution_url(EXEC, &b), HL_OK);
	cr_expect_str_eq(b.data, "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
				 "#/v2/executions/details/" EXEC);
	hl_buf_reset(&b);
	cr_assert_eq(hl_console_execution_url(
			     "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:m:n", &b), HL_OK);
	cr_expect_str_eq(b.data, "https://us-gov-west-1.console.amazonaws-us-gov.com/states/home?region="
				 "us-gov-west-1#/v2/executions/details/"
				 "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:m:n");
	hl_buf_reset(&b);
	cr_expect_eq(hl_console_execution_url("arn:aws:states:us-east-1:123456789012:execution:m", &b),
		     HL_ERR_INVALID);
	hl_buf_free(&b);
}

Test(record, iso8601_ms)
{
	char out[25];
	cr_assert_eq(hl_normalize_iso8601_ms("2024-05-14T09:12:40Z", out), 0);
	cr_expect_str_eq(out, "2024-05-14T09:12:40.000Z");
	cr_assert_eq(hl_normalize_iso8601_ms("2019-03-26T20:14:13.192Z", out), 0);
	cr_expect_str_eq(out, "2019-03-26T20:14:13.192Z");
	cr_assert_eq(hl_normalize_iso8601_ms("2019-03-26T20:14:13.1929999Z", out), 0);
	cr_expect_str_eq(out, "2019-03-26T20:14:13.192Z");
	cr_assert_eq(hl_normalize_iso8601_ms("2019-03-26T20:14:13.5+00:00", out), 0);
	cr_expect_str_eq(out, "2019-03-26T20:14:13.500Z");
	cr_expect_eq(hl_normalize_iso8601_ms("2019-03-26T20:14:13+02:00", out), -1);
	cr_expect_eq(hl_normalize_iso8601_ms("2019-03-26 20:14:13Z", out), -1);
	cr_expect_eq(hl_normalize_iso8601_ms("yesterday", out), -1);
	cr_expect_eq(hl_normalize_iso8601_ms(NULL, out), -1);
	hl_format_iso8601_ms(0, out);
	cr_expect_str_eq(out, "1970-01-01T00:00:00.000Z");
	hl_format_iso8601_ms(1715677960123LL, out);
	cr_expect_str_eq(out, "2024-05-14T09:12:40.123Z");
}

Test(record, parse_requires_execution_and_mode)
{
	hl_record rec;
	json_object *in = parse("{\"mode\":\"resolved\"}");
	cr_expect_eq(hl_record_parse(NULL, in, &rec), HL_ERR_INVALID);
	hl_record_free(&rec);
	json_object_put(in);
	in = parse("{\"execution\":\"" EXEC "\",\"mode\":\"done\"}");
	cr_expect_eq(hl_record_parse(NULL, in, &rec), HL_ERR_INVALID);
	hl_record_free(&rec);
	json_object_put(in);
	in = parse("{\"execution\":\"" EXEC "; touch /tmp/x\",\"mode\":\"resolved\"}");
	cr_expect_eq(hl_record_parse(NULL, in, &rec), HL_ERR_INVALID);
	hl_record_free(&rec);
	json_object_put(in);
	in = parse("[]");
	cr_expect_eq(hl_record_parse(NULL, in, &rec), HL_ERR_INVALID);
	hl_record_free(&rec);
	json_object_put(in);
}

Test(record, parse_validates_and_picks_the_reason)
{
	hl_record rec;
	json_object *in = parse(
		"{\"execution\":\"" EXEC "\",\"mode\":\"escalated\",\"dryRun\":true,"
		"\"event\":{\"id\":\"e-1\",\"time\":\"2024-05-14T21:29:54Z\",\"source\":\"aws.ec2\"},"
		"\"guard\":{\"proceed\":false,\"reason\":\"protected security group\"},"
		"\"diagnosis\":{\"class\":\"public_ssh\",\"confidence\":0.9,"
		"  \"resource\":{\"type\":\"security-group\",\"id\":\"sg-0abcd1234ef567890; rm\"},"
		"  \"owner\":\"ops\\u0007@example.com\"},"
		"\"remediation\":{\"action\":\"format_disk\",\"escalate\":true,\"reason\":\"r\"},"
		"\"ticket\":{\"key\":\"OPS-12\",\"url\":\"https://x/<bad>\"}}");
	cr_assert_eq(hl_record_parse(NULL, in, &rec), HL_OK);
	cr_expect(rec.escalated);
	cr_expect(rec.dry_run);
	cr_expect_str_eq(rec.mode, "escalated");
	cr_expect_str_eq(rec.label, "healer-656f5b57c1af965f");
	cr_expect_str_eq(rec.region, "us-east-1");
	cr_expect_str_eq(rec.klass, "public_ssh");
	cr_expect_null(rec.resource_id, "an id that fails validation is dropped");
	cr_expect(rec.resource_invalid);
	cr_expect_null(rec.action, "an unknown action is dropped");
	cr_expect_str_eq(rec.owner, "ops @example.com");
	cr_expect_str_eq(rec.reason, "protected security group", "a guard refusal comes first");
	cr_expect_str_eq(rec.ticket_key, "OPS-12");
	cr_expect_null(rec.ticket_url);
	cr_expect_str_eq(rec.event_time, "2024-05-14T21:29:54.000Z");
	cr_expect_str_eq(hl_record_result(&rec), "escalated");
	hl_record_free(&rec);
	json_object_put(in);

	/* The caught error outranks everything. */
	in = parse("{\"execution\":\"" EXEC "\",\"mode\":\"escalated\","
		   "\"guard\":{\"proceed\":false,\"reason\":\"x\"},"
		   "\"error\":{\"Error\":\"States.Timeout\",\"Cause\":\"took too long\"}}");
	cr_assert_eq(hl_record_parse(NULL, in, &rec), HL_OK);
	cr_expect_str_eq(rec.reason, "States.Timeout: took too long");
	hl_record_free(&rec);
	json_object_put(in);

	/* Low confidence. */
	in = parse("{\"execution\":\"" EXEC "\",\"mode\":\"escalated\","
		   "\"diagnosis\":{\"class\":\"disk_pressure\",\"confidence\":0.4,\"reason\":\"maybe\"}}");
	cr_assert_eq(hl_record_parse(NULL, in, &rec), HL_OK);
	cr_expect_str_eq(rec.reason, "maybe (confidence 0.40, too low for automatic remediation)");
	hl_record_free(&rec);
	json_object_put(in);

	/* Resolved in dry run. */
	in = parse("{\"execution\":\"" EXEC "\",\"mode\":\"resolved\",\"dryRun\":true,"
		   "\"diagnosis\":{\"resource\":{\"type\":\"instance\",\"id\":\"i-0abcd1234ef567890\","
		   "  \"account\":\"123456789012\",\"region\":\"us-east-1\"}},"
		   "\"remediation\":{\"action\":\"disk_cleanup\",\"applied\":false,\"reason\":\"would vacuum\"}}");
	cr_assert_eq(hl_record_parse(NULL, in, &rec), HL_OK);
	cr_expect_str_eq(rec.reason, "would vacuum");
	cr_expect_str_eq(rec.action, "disk_cleanup");
	cr_expect_eq(rec.applied, 0);
	cr_expect_eq(rec.verified, -1);
	cr_expect_str_eq(hl_record_result(&rec), "dry-run");
	char text[128];
	hl_record_resource_text(&rec, text, sizeof(text));
	cr_expect_str_eq(text, "i-0abcd1234ef567890 (instance, 123456789012, us-east-1)");
	hl_record_free(&rec);
	json_object_put(in);
}

/* ---- jira.h --------------------------------------------------------------------- */

Test(jira, keys_and_labels)
{
	cr_expect(hl_jira_valid_project_key("OPS"));
	cr_expect(hl_jira_valid_project_key("A1_B"));
	cr_expect(hl_jira_valid_project_key("ABCDEFGHIJ"));
	cr_expect_not(hl_jira_valid_project_key("ABCDEFGHIJK"));
	cr_expect_not(hl_jira_valid_project_key("O"));
	cr_expect_not(hl_jira_valid_project_key("ops"));
	cr_expect_not(hl_jira_valid_project_key("1OPS"));
	cr_expect_not(hl_jira_valid_project_key("OPS\" OR 1=1"));
	cr_expect(hl_jira_valid_issue_key("OPS-1"));
	cr_expect(hl_jira_valid_issue_key("A1_B-123456"));
	cr_expect_not(hl_jira_valid_issue_key("OPS-"));
	cr_expect_not(hl_jira_valid_issue_key("OPS-1/../../admin"));
	cr_expect_not(hl_jira_valid_issue_key("-1"));
	cr_expect_not(hl_jira_valid_issue_key("OPS-1234567890123456789"));
	cr_expect(hl_jira_valid_label("healer-656f5b57c1af965f"));
	cr_expect_not(hl_jira_valid_label("two words"));
	cr_expect_not(hl_jira_valid_label("a\"b"));
	cr_expect_not(hl_jira_valid_label(""));
	cr_expect(hl_jira_valid_issue_type("Task"));
	cr_expect(hl_jira_valid_issue_type("Service Request"));
	cr_expect_not(hl_jira_valid_issue_type("Task\"}"));
}

Test(jira, error_messages)
{
	hl_err err;
	const char *body = "{\"errorMessages\":[\"Field is bad.\",\"Second.\"],"
			   "\"errors\":{\"summary\":\"Too long.\"}}";
	cr_expect_eq(hl_jira_error(400, body, strlen(body), &err), HL_ERR_AWS);
	cr_expect_eq(err.code, HL_ERR_AWS);
	cr_expect_eq(err.http_status, 400);
	cr_expect_str_eq(err.aws_code, "BadRequest");
	cr_expect_str_eq(err.message, "Jira answered HTTP 400: Field is bad.; Second.; summary: Too long.");
	cr_expect_eq(hl_jira_error(503, "<html>", 6, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "Unavailable");
	cr_expect_str_eq(err.message, "Jira answered HTTP 503");
	cr_expect_str_eq(hl_jira_reason(401), "Unauthorized");
	cr_expect_str_eq(hl_jira_reason(403), "Forbidden");
	cr_expect_str_eq(hl_jira_reason(404), "NotFound");
	cr_expect_str_eq(hl_jira_reason(410), "Gone");
	cr_expect_str_eq(hl_jira_reason(429), "Throttled");
	cr_expect_str_eq(hl_jira_reason(418), "HttpError");
	/* Control characters in Jira's messages do not reach ours. */
	const char *evil = "{\"errorMessages\":[\"a\\nb\\u001b[31m\"]}";
	hl_jira_error(400, evil, strlen(evil), &err);
	cr_expect_str_eq(err.message, "Jira answered HTTP 400: a b [31m");
}

Test(jira, parse_search_and_transitions)
{
	hl_jira_issue issue;
	bool found = true;
	hl_err err;
	const char *empty = "{\"issues\":[],\"isLast\":true}";
	cr_assert_eq(hl_jira_parse_search(empty, strlen(empty), &issue, &found, &err), HL_OK);
	cr_expect_not(found);
	const char *one = "{\"issues\":[{\"id\":\"10001\",\"key\":\"OPS-7\",\"fields\":{\"status\":"
			  "{\"name\":\"Done\",\"statusCategory\":{\"key\":\"done\"}}}}]}";
	cr_assert_eq(hl_jira_parse_search(one, strlen(one), &issue, &found, &err), HL_OK);
	cr_expect(found);
	cr_expect_str_eq(issue.key, "OPS-7");
	cr_expect_str_eq(issue.id, "10001");
	cr_expect_str_eq(issue.status, "Done");
	cr_expect_str_eq(issue.status_category, "done");
	const char *bad_key = "{\"issues\":[{\"id\":\"1\",\"key\":\"../admin\"}]}";
	cr_expect_eq(hl_jira_parse_search(bad_key, strlen(bad_key), &issue, &found, &err), HL_ERR_PARSE);
	cr_expect_str_eq(err.message, "Jira issue has no valid key");
	cr_expect_eq(hl_jira_parse_search("{}", 2, &issue, &found, &err), HL_ERR_PARSE);
	cr_expect_str_eq(err.message, "Jira search answer has no \"issues\" array");

	char id[24], name[64];
	const char *tr = "{\"transitions\":["
			 "{\"id\":\"11\",\"name\":\"Start\",\"to\":{\"statusCategory\":{\"key\":\"indeterminate\"}}},"
			 "{\"id\":\"x1\",\"name\":\"Bad id\",\"to\":{\"statusCategory\":{\"key\":\"done\"}}},"
			 "{\"id\":\"31\",\"name\":\"Close it\",\"to\":{\"statusCategory\":{\"key\":\"done\"}}}]}";
	cr_assert_eq(hl_jira_pick_done_transition(tr, strlen(tr), id, sizeof(id), name, sizeof(name),
						  &found, &err), HL_OK);
	cr_expect(found);
	cr_expect_str_eq(id, "31");
	cr_expect_str_eq(name, "Close it");
	const char *none = "{\"transitions\":[{\"id\":\"11\",\"to\":{\"statusCategory\":{\"key\":\"new\"}}}]}";
	cr_assert_eq(hl_jira_pick_done_transition(none, strlen(none), id, sizeof(id), name, sizeof(name),
						  &found, &err), HL_OK);
	cr_expect_not(found);
}

Test(jira, adf_documents)
{
	json_object *doc = hl_adf_doc();
	hl_adf_paragraph(doc, "Reason: ", "line one\nline two");
	hl_adf_paragraph(doc, NULL, "");     /* nothing: ADF text may not be empty */
	hl_adf_link(doc, "Execution: ", "evt-1", "https://example.com/x");
	hl_adf_link(doc, NULL, "not a link", "javascript:alert(1)");
	hl_adf_code_block(doc, "{\"a\": 1}", "json");
	const char *got = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	cr_expect_str_eq(got,
		"{\"type\":\"doc\",\"version\":1,\"content\":["
		"{\"type\":\"paragraph\",\"content\":["
		"{\"type\":\"text\",\"text\":\"Reason: \",\"marks\":[{\"type\":\"strong\"}]},"
		"{\"type\":\"text\",\"text\":\"line one\"},{\"type\":\"hardBreak\"},"
		"{\"type\":\"text\",\"text\":\"line two\"}]},"
		"{\"type\":\"paragraph\",\"content\":["
		"{\"type\":\"text\",\"text\":\"Execution: \",\"marks\":[{\"type\":\"strong\"}]},"
		"{\"type\":\"text\",\"text\":\"evt-1\",\"marks\":[{\"type\":\"link\",\"attrs\":{\"href\":\"https://example.com/x\"}}]}]},"
		"{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"not a link\"}]},"
		"{\"type\":\"codeBlock\",\"attrs\":{\"language\":\"json\"},\"content\":["
		"{\"type\":\"text\",\"text\":\"{\\\"a\\\": 1}\"}]}]}");
	json_object_put(doc);
}

Test(jira, config_is_checked)
{
	hl_err err;
	hl_jira_config cfg = { .base_url = "http://jira.example.com", .email = "a@b.c", .api_token = "t" };
	cr_expect_null(hl_jira_new(&cfg, &err));
	cr_expect_eq(err.code, HL_ERR_CONFIG);
	cfg.base_url = "https://jira.example.com";
	cfg.email = "a:b@c.d";
	cr_expect_null(hl_jira_new(&cfg, &err));
	cr_expect_str_eq(err.message, "the Jira email and API token are required (email without ':')");
	cfg.email = "a@b.c";
	hl_jira *j = hl_jira_new(&cfg, &err);
	cr_expect_not_null(j);
	hl_jira_free(j);
}

/* ---- slack.h -------------------------------------------------------------------- */

Test(slack, escape)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	cr_assert_eq(hl_slack_escape(&b, "<!channel> & <@U123|x> > \x01", 1000), HL_OK);
	cr_expect_str_eq(b.data, "&lt;!channel&gt; &amp; &lt;@U123|x&gt; &gt;  ");
	hl_buf_reset(&b);
	cr_assert_eq(hl_slack_escape(&b, "already &amp;", 1000), HL_OK);
	cr_expect_str_eq(b.data, "already &amp;amp;", "escaping is not undone by pre-escaped input");
	hl_buf_free(&b);
}

Test(slack, identities)
{
	cr_expect(hl_slack_valid_user_id("U0OWNER001"));
	cr_expect(hl_slack_valid_user_id("W012ABC"));
	cr_expect_not(hl_slack_valid_user_id("u0owner"));
	cr_expect_not(hl_slack_valid_user_id("U"));
	cr_expect_not(hl_slack_valid_user_id("U12>"));
	cr_expect(hl_slack_valid_channel("C0HEALER01"));
	cr_expect(hl_slack_valid_channel("#healer-alerts"));
	cr_expect(hl_slack_valid_channel("healer_alerts"));
	cr_expect_not(hl_slack_valid_channel("#Healer Alerts"));
	cr_expect_not(hl_slack_valid_channel("#"));
	cr_expect(hl_valid_email("owner@example.com"));
	cr_expect(hl_valid_email("first.last+tag@sub.example.co.uk"));
	cr_expect_not(hl_valid_email("team-storage"));
	cr_expect_not(hl_valid_email("a@b"));
	cr_expect_not(hl_valid_email("a@@b.c"));
	cr_expect_not(hl_valid_email("<a@b.c>"));
	cr_expect_not(hl_valid_email("a b@c.d"));
	cr_expect_not(hl_valid_email("a@b.c\n"));
}

Test(slack, responses)
{
	hl_slack_result res;
	hl_err err;
	const char *ok = "{\"ok\":true,\"channel\":\"C0HEALER01\",\"ts\":\"1715677960.000100\"}";
	cr_assert_eq(hl_slack_parse_response(200, ok, strlen(ok), &res, &err), HL_OK);
	cr_expect(res.ok);
	cr_expect_str_eq(res.channel, "C0HEALER01");
	cr_expect_str_eq(res.ts, "1715677960.000100");
	const char *user = "{\"ok\":true,\"user\":{\"id\":\"U0OWNER001\"}}";
	cr_assert_eq(hl_slack_parse_response(200, user, strlen(user), &res, &err), HL_OK);
	cr_expect_str_eq(res.user_id, "U0OWNER001");
	const char *nf = "{\"ok\":false,\"error\":\"channel_not_found\"}";
	cr_expect_eq(hl_slack_parse_response(200, nf, strlen(nf), &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "channel_not_found");
	cr_expect_str_eq(err.message, "Slack said channel_not_found");
	cr_expect_str_eq(res.error, "channel_not_found");
	const char *odd = "{\"ok\":false,\"error\":\"We're <b>down</b>\"}";
	cr_expect_eq(hl_slack_parse_response(200, odd, strlen(odd), &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "_e_re__b_down__b_");
	cr_expect_eq(hl_slack_parse_response(429, "", 0, &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "ratelimited");
	cr_expect_eq(err.http_status, 429);
	cr_expect_eq(hl_slack_parse_response(502, "bad gateway", 11, &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "http_error");
	cr_expect_eq(err.http_status, 502);
	cr_expect_eq(hl_slack_parse_response(200, "ok", 2, &res, &err), HL_ERR_PARSE);
	cr_expect_str_eq(err.message, "Slack answer has no boolean \"ok\"");
}

/* ---- retries against the stand-ins -------------------------------------------- */

typedef struct sleeps {
	long ms[16];
	int n;
	bool cancel;
} sleeps;

static bool record_sleep(void *arg, long ms)
{
	sleeps *s = arg;
	if (s->n < 16)
		s->ms[s->n++] = ms;
	return !s->cancel;
}

static hl_test_endpoint *ep;

static void start_endpoint(void)
{
	hl_err err;
	cr_assert_eq(hl_http_global_init(&err), HL_OK);
	ep = hl_test_endpoint_start();
	cr_assert_not_null(ep);
}

static void stop_endpoint(void)
{
	hl_test_endpoint_stop(ep);
	hl_http_global_cleanup();
}

TestSuite(webapi, .init = start_endpoint, .fini = stop_endpoint, .timeout = 60);

static hl_jira *test_jira(sleeps *s, const char *token)
{
	char url[256];
	snprintf(url, sizeof(url), "%s/_jira", hl_test_endpoint_url(ep));
	hl_jira_config cfg = { .base_url = url, .email = "healer-bot@example.com",
			       .api_token = token, .sleep = record_sleep, .sleep_arg = s };
	hl_err err;
	hl_jira *j = hl_jira_new(&cfg, &err);
	cr_assert_not_null(j, "%s", err.message);
	return j;
}

static void admin(const char *path, const char *body)
{
	int st = hl_test_endpoint_admin(ep, "POST", path, body, NULL);
	cr_assert_eq(st, 200, "admin %s -> %d", path, st);
}

Test(webapi, jira_retry_after_and_backoff)
{
	sleeps s = { 0 };
	hl_jira *j = test_jira(&s, "jira-test-token-0000");
	admin("/_admin/jira/fail", "{\"route\":\"search\",\"status\":429,\"retry_after\":2}");
	admin("/_admin/jira/fail", "{\"route\":\"search\",\"status\":500}");
	hl_jira_issue issue;
	bool found = true;
	hl_err err;
	cr_assert_eq(hl_jira_find_by_label(j, "OPS", "healer-x", &issue, &found, &err), HL_OK, "%s",
		     err.message);
	cr_expect_not(found);
	cr_assert_eq(s.n, 2);
	cr_expect_eq(s.ms[0], 2000, "Retry-After: 2 -> 2000 ms, got %ld", s.ms[0]);
	cr_expect(s.ms[1] >= 125 && s.ms[1] <= 250, "first backoff in [125, 250], got %ld", s.ms[1]);
	hl_jira_free(j);
}

Test(webapi, jira_create_is_not_retried_on_5xx)
{
	sleeps s = { 0 };
	hl_jira *j = test_jira(&s, "jira-test-token-0000");
	admin("/_admin/jira/fail", "{\"route\":\"create\",\"status\":500}");
	json_object *fields = parse("{\"project\":{\"key\":\"OPS\"},\"issuetype\":{\"name\":\"Task\"},"
				    "\"summary\":\"s\",\"labels\":[\"healer\"]}");
	hl_jira_issue issue;
	hl_err err;
	cr_expect_eq(hl_jira_create_issue(j, fields, &issue, &err), HL_ERR_AWS);
	cr_expect_eq(err.http_status, 500);
	cr_expect_str_eq(err.aws_code, "Unavailable");
	cr_expect_eq(s.n, 0, "no retry of a create");
	/* Next one goes through. */
	cr_assert_eq(hl_jira_create_issue(j, fields, &issue, &err), HL_OK, "%s", err.message);
	cr_expect_str_eq(issue.key, "OPS-1");
	json_object_put(fields);
	hl_jira_free(j);
}

Test(webapi, jira_cancelled_wait)
{
	sleeps s = { .cancel = true };
	hl_jira *j = test_jira(&s, "jira-test-token-0000");
	admin("/_admin/jira/fail", "{\"route\":\"search\",\"status\":503}");
	hl_jira_issue issue;
	bool found;
	hl_err err;
	cr_expect_eq(hl_jira_find_by_label(j, "OPS", "healer-x", &issue, &found, &err), HL_ERR_CANCELLED);
	cr_expect_eq(s.n, 1);
	hl_jira_free(j);
}

Test(webapi, jira_unauthorized)
{
	sleeps s = { 0 };
	hl_jira *j = test_jira(&s, "wrong");
	hl_jira_issue issue;
	bool found;
	hl_err err;
	cr_expect_eq(hl_jira_get_issue(j, "OPS-1", &issue, &found, &err), HL_ERR_AWS);
	cr_expect_eq(err.http_status, 401);
	cr_expect_str_eq(err.aws_code, "Unauthorized");
	cr_expect_eq(s.n, 0, "4xx is final");
	hl_jira_free(j);
}

Test(webapi, slack_throttle_limit)
{
	sleeps s = { 0 };
	char url[256];
	snprintf(url, sizeof(url), "%s/_slack/api", hl_test_endpoint_url(ep));
	hl_slack_config cfg = { .base_url = url, .token = "xoxb-test-0000-healer-token",
				.sleep = record_sleep, .sleep_arg = &s, .max_retry_after_ms = 5000 };
	hl_err err;
	hl_slack *sl = hl_slack_new(&cfg, &err);
	cr_assert_not_null(sl);
	admin("/_admin/slack/fail", "{\"method\":\"chat.postMessage\",\"status\":429,\"retry_after\":1}");
	hl_slack_result res;
	cr_assert_eq(hl_slack_post_message(sl, "C0HEALER01", "hi", &res, &err), HL_OK, "%s", err.message);
	cr_expect_eq(s.n, 1);
	cr_expect_eq(s.ms[0], 1000);
	/* A Retry-After above the limit is not waited out. */
	admin("/_admin/slack/fail", "{\"method\":\"chat.postMessage\",\"status\":429,\"retry_after\":6}");
	cr_expect_eq(hl_slack_post_message(sl, "C0HEALER01", "hi", &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "ratelimited");
	cr_expect_eq(s.n, 1);
	/* Four 429s in a row: three waits, then give up. */
	admin("/_admin/slack/fail", "{\"method\":\"chat.postMessage\",\"status\":429,\"retry_after\":0,\"count\":4}");
	cr_expect_eq(hl_slack_post_message(sl, "C0HEALER01", "hi", &res, &err), HL_ERR_AWS);
	cr_expect_str_eq(err.aws_code, "ratelimited");
	cr_expect_eq(s.n, 4);
	hl_slack_free(sl);
}

/* ---- the clients' shared web API settings (no endpoint) ---- */

static bool no_sleep(void *arg, long ms)
{
	(void)arg;
	(void)ms;
	return true;
}

Test(webapi_opts, zero_members_keep_the_defaults)
{
	hl_webapi w;
	hl_err err;
	hl_slack_config cfg = { .base_url = "https://slack.example" };
	cr_assert_eq(hl_webapi_init_opts(&w, &HL_WEBAPI_OPTS_OF(&cfg), &err), 0);
	cr_expect_eq(w.max_attempts, 3);
	cr_expect_eq(w.backoff_base_ms, 250);
	cr_expect_eq(w.max_retry_after_ms, 30000);
	cr_expect_eq(w.timeout_ms, 10000);
	cr_expect_eq(w.max_throttle_waits, 3);
	cr_expect_not_null(w.sleep);
	cr_expect_neq(w.sleep, no_sleep);
	hl_webapi_free(&w);
}

Test(webapi_opts, set_members_override)
{
	hl_webapi w;
	hl_err err;
	int arg = 0;
	hl_jira_config cfg = { .base_url = "https://jira.example", .timeout_ms = 1500, .max_attempts = 5,
			       .backoff_base_ms = 10, .max_retry_after_ms = 2000, .sleep = no_sleep,
			       .sleep_arg = &arg };
	cr_assert_eq(hl_webapi_init_opts(&w, &HL_WEBAPI_OPTS_OF(&cfg), &err), 0);
	cr_expect_eq(w.timeout_ms, 1500);
	cr_expect_eq(w.max_attempts, 5);
	cr_expect_eq(w.backoff_base_ms, 10);
	cr_expect_eq(w.max_retry_after_ms, 2000);
	cr_expect_eq(w.sleep, no_sleep);
	cr_expect_eq(w.sleep_arg, &arg);
	cr_expect_eq(w.max_throttle_waits, 3, "not a config member: the default");
	hl_webapi_free(&w);
}

Test(webapi_opts, base_url_loses_trailing_slashes_only)
{
	static const char *const cases[][2] = {
		{ "https://x.example/api", "https://x.example/api" },
		{ "https://x.example/api/", "https://x.example/api" },
		{ "https://x.example//", "https://x.example" },
		{ "https://x.example/a/b", "https://x.example/a/b" },
		{ "/", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = hl_webapi_base_url(cases[i][0]);
		cr_expect_str_eq(got, cases[i][1], "%s", cases[i][0]);
		free(got);
	}
}
