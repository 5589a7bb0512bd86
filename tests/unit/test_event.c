/* test_event.c - event classification (suite "event", event.h) and the
 * diagnose / guard activities' input handling (suites "diagnose", "guard").
 *
 * Every fixture in tests/fixtures/events maps to its expected class.
 * Hostile variants are made by loading a good fixture and changing one
 * field through a dotted path ("detail.configuration.metrics.0.metricStat"),
 * so each test says exactly which field it attacks; each must end as
 * unknown with a `why` naming that field, never as a crash or a guess.
 * Tests run from the repository root (make test-unit does).
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/event.h"
#include "healer/log.h"

#define FIXTURES "tests/fixtures/events/"
#define INSTANCE "i-0abcd1234ef567890"
#define GROUP "sg-0abcd1234ef567890"
#define CERT "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
#define EXECUTION "arn:aws:states:us-east-1:123456789012:execution:engine:evt-1"
#define DIMS "detail.configuration.metrics.0.metricStat.metric.dimensions"

extern const hl_activity hl_activity_diagnose;
extern const hl_activity hl_activity_guard;

static json_object *fixture(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	json_object *o = json_object_from_file(path);
	cr_assert_not_null(o, "cannot load %s (run from the repository root)", path);
	return o;
}

/* The parent object/array of a dotted path and its last component. */
static json_object *parent_of(json_object *root, const char *path, char *last, size_t lastsz)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *dot = strrchr(buf, '.');
	json_object *cur = root;
	if (dot) {
		*dot = '\0';
		snprintf(last, lastsz, "%s", dot + 1);
		char *save = NULL;
		for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
			json_object *next = NULL;
			if (json_object_is_type(cur, json_type_array))
				next = json_object_array_get_idx(cur, (size_t)strtoul(tok, NULL, 10));
			else
				json_object_object_get_ex(cur, tok, &next);
			cr_assert_not_null(next, "path %s: no %s", path, tok);
			cur = next;
		}
	} else {
		snprintf(last, lastsz, "%s", buf);
	}
	return cur;
}

/* Sets (value non-NULL... or JSON null) the field at path; takes value. */
static void set_path(json_object *root, const char *path, json_object *value)
{
	char last[256];
	json_object *p = parent_of(root, path, last, sizeof(last));
	if (json_object_is_type(p, json_type_array))
		json_object_array_put_idx(p, (size_t)strtoul(last, NULL, 10), value);
	else
		json_object_object_add(p, last, value);
}

static void del_path(json_object *root, const char *path)
{
	char last[256];
	json_object_object_del(parent_of(root, path, last, sizeof(last)), last);
}

static void set_str(json_object *root, const char *path, const char *s)
{
	set_path(root, path, json_object_new_string(s));
}

static hl_event_info classify(json_object *ev)
{
	hl_event_info info;
	hl_event_classify(ev, &info);
	return info;
}

/* Asserts unknown, a why containing `want`, no resource, and a why of
 * printable ASCII only (nothing raw from the event). */
static void expect_unknown(const hl_event_info *i, const char *want)
{
	cr_expect_eq(i->cls, HL_EVENT_UNKNOWN, "class %s, expected unknown (why: %s)",
		     hl_event_class_name(i->cls), i->why);
	cr_expect_not_null(strstr(i->why, want), "why \"%s\" does not contain \"%s\"", i->why, want);
	cr_expect_eq(i->resource.type, HL_RESOURCE_NONE);
	for (const char *p = i->why; *p; p++)
		cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "why has a non-printable byte 0x%02x", (unsigned char)*p);
}

static void expect_unknown_after(const char *fixture_name, const char *path, json_object *value,
				 const char *want)
{
	json_object *ev = fixture(fixture_name);
	if (value)
		set_path(ev, path, value);
	else
		del_path(ev, path);
	hl_event_info i = classify(ev);
	expect_unknown(&i, want);
	json_object_put(ev);
}

/* ---- every fixture ----------------------------------------------------------- */

Test(event, fixture_disk_alarm)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent.json");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_DISK_PRESSURE, "why: %s", i.why);
	cr_expect_eq(i.resource.type, HL_RESOURCE_INSTANCE);
	cr_expect_str_eq(i.resource.id, INSTANCE);
	cr_expect_str_eq(i.resource.arn, "arn:aws:ec2:us-east-1:123456789012:instance/" INSTANCE);
	cr_expect_str_eq(i.resource.account, "123456789012");
	cr_expect_str_eq(i.resource.region, "us-east-1");
	cr_expect_str_eq(i.path, "/");
	cr_expect_str_eq(i.device, "nvme0n1p1");
	cr_expect_str_eq(i.fstype, "xfs");
	cr_expect(i.has_threshold);
	cr_expect_float_eq(i.threshold, 85.0, 1e-9);
	cr_expect(i.has_used_percent);
	cr_expect_float_eq(i.used_percent, 91.27044677734375, 1e-9);
	cr_expect_str_eq(i.why, "");
	json_object_put(ev);
}

Test(event, fixture_disk_alarm_ok_state)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent-ok.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "alarm state is OK, not ALARM: nothing to remediate");
	cr_expect_str_eq(i.source, "aws.cloudwatch");
	cr_expect_str_eq(i.detail_type, "CloudWatch Alarm State Change");
	json_object_put(ev);
}

Test(event, fixture_disk_alarm_muted)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent-muted.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "alarm is muted (detail.muteDetail by "
			   "arn:aws:cloudwatch:us-east-1:123456789012:alarm-mute-rule:weekly-patching)");
	expect_unknown(&i, "not remediated");
	json_object_put(ev);
}

Test(event, fixture_metric_math)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-metric-math.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "metric math alarm (detail.configuration.metrics[0] has an expression)");
	json_object_put(ev);
}

Test(event, fixture_composite)
{
	json_object *ev = fixture("cloudwatch-alarm-composite.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "composite alarm (detail.configuration.alarmRule)");
	json_object_put(ev);
}

Test(event, fixture_config_noncompliant)
{
	json_object *ev = fixture("config-restricted-ssh-noncompliant.json");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_PUBLIC_SSH, "why: %s", i.why);
	cr_expect_eq(i.resource.type, HL_RESOURCE_SECURITY_GROUP);
	cr_expect_str_eq(i.resource.id, GROUP);
	cr_expect_str_eq(i.resource.arn, "arn:aws:ec2:us-east-1:123456789012:security-group/" GROUP);
	cr_expect_str_eq(i.rule_name, "restricted-ssh");
	cr_expect(i.rule_name_exact);
	cr_expect(i.rule_cross_checked);
	cr_expect_str_eq(i.compliance_type, "NON_COMPLIANT");
	json_object_put(ev);
}

Test(event, fixture_config_compliant)
{
	json_object *ev = fixture("config-restricted-ssh-compliant.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "compliance is COMPLIANT, not NON_COMPLIANT: nothing to remediate");
	json_object_put(ev);
}

static void expect_cert(const char *name, const char *event_type, bool has_days, int days)
{
	json_object *ev = fixture(name);
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_CERT_EXPIRY, "%s: why: %s", name, i.why);
	cr_expect_eq(i.resource.type, HL_RESOURCE_CERTIFICATE);
	cr_expect_str_eq(i.resource.id, CERT);
	cr_expect_str_eq(i.resource.arn, CERT);
	cr_expect_str_eq(i.resource.partition, "aws");
	cr_expect_str_eq(i.common_name, "www.example.com");
	cr_expect_str_eq(i.event_type, event_type);
	cr_expect_eq(i.has_days_to_expiry, has_days, "%s", name);
	if (has_days)
		cr_expect_eq(i.days_to_expiry, days);
	json_object_put(ev);
}

Test(event, fixtures_acm)
{
	expect_cert("acm-certificate-approaching-expiration.json", "approaching-expiration", true, 31);
	expect_cert("acm-certificate-approaching-expiration-extended.json", "approaching-expiration",
		    true, 31);
	expect_cert("acm-certificate-expired.json", "expired", false, 0);
	expect_cert("acm-certificate-renewal-action-required.json", "renewal-action-required", true, 30);
	json_object *ev = fixture("acm-certificate-renewal-action-required.json");
	hl_event_info i = classify(ev);
	cr_expect_str_eq(i.renewal_status_reason, "CAA_ERROR");
	json_object_put(ev);
}

Test(event, fixture_ec2_unclassifiable)
{
	json_object *ev = fixture("ec2-instance-state-change-unclassifiable.json");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "source \"aws.ec2\" with detail-type \"EC2 Instance State-change "
			   "Notification\" is not an event the engine handles");
	json_object_put(ev);
}

/* ---- hostile alarm events ------------------------------------------------------ */

#define ALARM "cloudwatch-alarm-disk-used-percent.json"

Test(event, alarm_instance_id_attacks)
{
	static const char *bad[] = {
		"i-0abc; rm -rf /",
		"i-0ABCD1234EF567890",     /* uppercase hex */
		"i-0abcd1234",             /* 9 hex digits */
		"i-0abcd1234ef567890\n",
		"i-0abcd1234ef567890 && curl evil",
		"$(reboot)",
		"i-0abcd1234ef56789\xc3\xa9", /* non-ASCII */
		"",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		expect_unknown_after(ALARM, DIMS ".InstanceId", json_object_new_string(bad[k]),
				     "dimensions.InstanceId: not a valid instance id");
}

Test(event, alarm_instance_id_with_nul_is_not_truncated)
{
	static const char v[] = INSTANCE "\0; rm -rf /";
	expect_unknown_after(ALARM, DIMS ".InstanceId",
			     json_object_new_string_len(v, (int)sizeof(v) - 1),
			     "dimensions.InstanceId: contains a NUL byte");
}

Test(event, alarm_instance_id_types)
{
	expect_unknown_after(ALARM, DIMS ".InstanceId", json_object_new_int(12345678),
			     "dimensions.InstanceId: not a string");
	expect_unknown_after(ALARM, DIMS ".InstanceId", json_object_new_array(),
			     "dimensions.InstanceId: not a string");
	expect_unknown_after(ALARM, DIMS ".InstanceId", NULL, "dimensions.InstanceId: missing");
}

Test(event, alarm_dimensions_as_list)
{
	/* The SNS notification's shape, not EventBridge's. */
	json_object *list = json_tokener_parse("[{\"name\":\"InstanceId\",\"value\":\"" INSTANCE "\"}]");
	expect_unknown_after(ALARM, DIMS, list, "dimensions: a list, expected the EventBridge object map");
	expect_unknown_after(ALARM, DIMS, json_object_new_string("InstanceId=" INSTANCE),
			     "dimensions: not an object");
}

Test(event, alarm_dimension_values_checked)
{
	expect_unknown_after(ALARM, DIMS ".path", json_object_new_string("/; rm -rf /"),
			     "dimensions.path: contains characters outside the safe set");
	expect_unknown_after(ALARM, DIMS ".path", json_object_new_string("var/log"),
			     "dimensions.path: contains characters outside the safe set");
	expect_unknown_after(ALARM, DIMS ".path", json_object_new_string("/d\xc3\xa4t\xc3\xa4"),
			     "dimensions.path: contains characters outside the safe set");
	expect_unknown_after(ALARM, DIMS ".device", json_object_new_string("nvme0n1p1`id`"),
			     "dimensions.device: contains characters outside the safe set");
	expect_unknown_after(ALARM, DIMS ".fstype", json_object_new_int(4),
			     "dimensions.fstype: not a string");
}

Test(event, alarm_optional_dimensions_absent)
{
	json_object *ev = fixture(ALARM);
	del_path(ev, DIMS ".device");   /* agent option drop_device */
	del_path(ev, DIMS ".path");
	del_path(ev, DIMS ".fstype");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_DISK_PRESSURE, "why: %s", i.why);
	cr_expect_str_eq(i.path, "");
	cr_expect_str_eq(i.device, "");
	json_object_put(ev);
}

Test(event, alarm_reason_data_is_optional)
{
	json_object *ev = fixture(ALARM);
	set_str(ev, "detail.state.reasonData", "{not json");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_DISK_PRESSURE, "why: %s", i.why);
	cr_expect_not(i.has_threshold);
	cr_expect_not(i.has_used_percent);
	set_str(ev, "detail.state.reasonData", "{\"threshold\":\"85\",\"recentDatapoints\":[\"x\"]}");
	i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_DISK_PRESSURE);
	cr_expect_not(i.has_threshold);
	cr_expect_not(i.has_used_percent);
	set_str(ev, "detail.state.reasonData", "{\"threshold\":85,\"recentDatapoints\":[1,2,150]}");
	i = classify(ev);
	cr_expect(i.has_threshold);
	cr_expect_not(i.has_used_percent, "150%% is not a percentage");
	del_path(ev, "detail.state.reasonData");
	i = classify(ev);
	cr_expect_eq(i.cls, HL_EVENT_DISK_PRESSURE);
	json_object_put(ev);
}

Test(event, alarm_other_fields)
{
	expect_unknown_after(ALARM, "detail.state.value", json_object_new_string("INSUFFICIENT_DATA"),
			     "alarm state is INSUFFICIENT_DATA, not ALARM");
	expect_unknown_after(ALARM, "detail.state.value", json_object_new_string("ALARM; reboot"),
			     "detail.state.value: not ALARM, OK or INSUFFICIENT_DATA");
	expect_unknown_after(ALARM, "detail.state.value", json_object_new_boolean(1),
			     "detail.state.value: not a string");
	expect_unknown_after(ALARM, "detail.state", NULL, "detail.state: not an object");
	expect_unknown_after(ALARM, "detail.configuration.metrics.0.metricStat.metric.name",
			     json_object_new_string("mem_used_percent"),
			     "metric.name: not disk_used_percent");
	expect_unknown_after(ALARM, "detail.configuration.metrics.0.metricStat.metric.namespace",
			     json_object_new_string("AWS/EC2"), "metric.namespace: not CWAgent");
	expect_unknown_after(ALARM, "detail.configuration.metrics", json_object_new_array(),
			     "detail.configuration.metrics: not a non-empty list");
	expect_unknown_after(ALARM, "detail.configuration.metrics", NULL,
			     "detail.configuration.metrics: missing (not a single-metric alarm)");
	expect_unknown_after(ALARM, "detail", json_object_new_string("{}"), "detail: not an object");
	expect_unknown_after(ALARM, "account", json_object_new_string("12345678901"),
			     "account: not a 12-digit account id");
	expect_unknown_after(ALARM, "account", json_object_new_int64(123456789012),
			     "account: not a string");
	expect_unknown_after(ALARM, "region", json_object_new_string("us-east-1; ls"),
			     "region: not a valid region");
	expect_unknown_after(ALARM, "source", json_object_new_int(1), "source: not a string");
	expect_unknown_after(ALARM, "detail-type", NULL, "detail-type: missing");
}

Test(event, alarm_muted_with_hostile_arn_omits_it)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent-muted.json");
	set_str(ev, "detail.muteDetail.mutedByArn", "arn:aws:x:us-east-1:123456789012:a\n; rm -rf /");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "alarm is muted (detail.muteDetail): its actions are suppressed");
	json_object_put(ev);
}

Test(event, unicode_and_control_bytes_in_source_are_sanitised)
{
	json_object *ev = fixture("ec2-instance-state-change-unclassifiable.json");
	set_str(ev, "source", "aws.ec2\xe2\x80\xa8\n\x1b[2J");
	hl_event_info i = classify(ev);
	expect_unknown(&i, "source \"aws.ec2?????[2J\" with detail-type");
	cr_expect_str_eq(i.source, "aws.ec2?????[2J");
	json_object_put(ev);
}

Test(event, huge_inputs)
{
	/* 1 MB inside the event: larger than any EventBridge event. */
	json_object *ev = fixture(ALARM);
	size_t n = 1024 * 1024;
	char *pad = malloc(n + 1);
	memset(pad, 'A', n);
	pad[n] = '\0';
	set_str(ev, "detail.padding", pad);
	hl_event_info i = classify(ev);
	expect_unknown(&i, "bytes, more than EventBridge's 262144");
	json_object_put(ev);

	/* A 1 MB instance id is rejected by size, not copied. */
	expect_unknown_after(ALARM, DIMS ".InstanceId", json_object_new_string(pad),
			     "the event is");
	pad[300] = '\0';
	expect_unknown_after(ALARM, DIMS ".InstanceId", json_object_new_string(pad),
			     "dimensions.InstanceId: too long");
	expect_unknown_after(ALARM, "source", json_object_new_string(pad), "source: too long");
	free(pad);
}

Test(event, not_an_object)
{
	hl_event_info i;
	hl_event_classify(NULL, &i);
	expect_unknown(&i, "the event is not a JSON object");
	json_object *a = json_object_new_array();
	hl_event_classify(a, &i);
	expect_unknown(&i, "the event is not a JSON object");
	json_object_put(a);
}

/* ---- hostile Config events ------------------------------------------------------- */

#define CONFIG "config-restricted-ssh-noncompliant.json"
#define QUALIFIER "detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier"

Test(event, config_group_id_attacks)
{
	static const char *bad[] = { GROUP " ; curl x", "sg-0ABCD1234EF567890", "sg-123456789",
				     "sg-0abcd1234ef567890\n", "i-0abcd1234ef567890" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		expect_unknown_after(CONFIG, "detail.resourceId", json_object_new_string(bad[k]),
				     "detail.resourceId: not a valid security group id");
	expect_unknown_after(CONFIG, "detail.resourceId", NULL, "detail.resourceId: missing");
}

Test(event, config_rule_names)
{
	cr_expect(hl_event_is_restricted_ssh_rule("restricted-ssh"));
	cr_expect(hl_event_is_restricted_ssh_rule("restricted-ssh-conformance-pack-x1y2z3"));
	cr_expect(hl_event_is_restricted_ssh_rule("securityhub-restricted-ssh-a1b2c3"));
	cr_expect(hl_event_is_restricted_ssh_rule("org_restricted-ssh"));
	cr_expect_not(hl_event_is_restricted_ssh_rule("unrestricted-ssh"));
	cr_expect_not(hl_event_is_restricted_ssh_rule("restricted-sshd"));
	cr_expect_not(hl_event_is_restricted_ssh_rule("restricted-common-ports"));
	cr_expect_not(hl_event_is_restricted_ssh_rule("RESTRICTED-SSH"));
	cr_expect_not(hl_event_is_restricted_ssh_rule("restricted-ssh; rm"));
	cr_expect_not(hl_event_is_restricted_ssh_rule(""));
	cr_expect_not(hl_event_is_restricted_ssh_rule(NULL));
	/* A later occurrence with good boundaries counts. */
	cr_expect(hl_event_is_restricted_ssh_rule("unrestricted-ssh-restricted-ssh"));

	json_object *ev = fixture(CONFIG);
	set_str(ev, "detail.configRuleName", "restricted-ssh-conformance-pack-x1y2z3");
	set_str(ev, QUALIFIER ".configRuleName", "restricted-ssh-conformance-pack-x1y2z3");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_PUBLIC_SSH, "why: %s", i.why);
	cr_expect_not(i.rule_name_exact);
	cr_expect(i.rule_cross_checked);
	json_object_put(ev);

	expect_unknown_after(CONFIG, "detail.configRuleName", json_object_new_string("unrestricted-ssh"),
			     "Config rule \"unrestricted-ssh\" is not restricted-ssh");
	expect_unknown_after(CONFIG, "detail.configRuleName", json_object_new_string("$(id)"),
			     "detail.configRuleName: not a rule name");
}

Test(event, config_cross_checks)
{
	expect_unknown_after(CONFIG, QUALIFIER ".resourceId", json_object_new_string("sg-12345678"),
			     "evaluationResultQualifier: disagrees with detail");
	expect_unknown_after(CONFIG, QUALIFIER ".configRuleName", json_object_new_string("other"),
			     "evaluationResultQualifier: disagrees with detail");
	expect_unknown_after(CONFIG, "detail.awsAccountId", json_object_new_string("210987654321"),
			     "detail.awsAccountId: disagrees with the event's account");
	expect_unknown_after(CONFIG, "detail.awsRegion", json_object_new_string("eu-west-1"),
			     "detail.awsRegion: disagrees with the event's region");
	expect_unknown_after(CONFIG, "detail.resourceType", json_object_new_string("AWS::EC2::Instance"),
			     "detail.resourceType: not AWS::EC2::SecurityGroup");
	expect_unknown_after(CONFIG, "detail.newEvaluationResult.complianceType",
			     json_object_new_string("NOT_APPLICABLE"),
			     "compliance is NOT_APPLICABLE, not NON_COMPLIANT");
	expect_unknown_after(CONFIG, "detail.newEvaluationResult.complianceType",
			     json_object_new_string("non_compliant"),
			     "complianceType: unexpected value");
	expect_unknown_after(CONFIG, "detail.messageType", json_object_new_string("OversizedConfigurationItemChangeNotification"),
			     "detail.messageType: not ComplianceChangeNotification");

	/* Without the qualifier the event still classifies, unchecked. */
	json_object *ev = fixture(CONFIG);
	del_path(ev, "detail.newEvaluationResult.evaluationResultIdentifier");
	hl_event_info i = classify(ev);
	cr_assert_eq(i.cls, HL_EVENT_PUBLIC_SSH, "why: %s", i.why);
	cr_expect_not(i.rule_cross_checked);
	json_object_put(ev);
}

/* ---- hostile ACM events ---------------------------------------------------------- */

#define ACM "acm-certificate-approaching-expiration.json"

Test(event, acm_attacks)
{
	expect_unknown_after(ACM, "resources", json_object_new_array(), "resources: not a non-empty list");
	expect_unknown_after(ACM, "resources.0", json_object_new_int(1),
			     "resources[0]: not an ACM certificate ARN");
	expect_unknown_after(ACM, "resources.0",
			     json_object_new_string("arn:aws:acm:us-east-1:123456789012:certificate/x; rm"),
			     "resources[0]: not an ACM certificate ARN");
	expect_unknown_after(ACM, "resources.0",
			     json_object_new_string("arn:aws:acm:eu-west-1:123456789012:certificate/"
						    "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"),
			     "resources[0]: the certificate's account or region disagrees");
	expect_unknown_after(ACM, "detail.CommonName", json_object_new_string("www.example.com; rm -rf /"),
			     "detail.CommonName: not a domain name");
	expect_unknown_after(ACM, "detail.DaysToExpiry", json_object_new_string("31"),
			     "detail.DaysToExpiry: not an integer 0..3650");
	expect_unknown_after(ACM, "detail.DaysToExpiry", json_object_new_int(-1),
			     "detail.DaysToExpiry: not an integer 0..3650");
	expect_unknown_after(ACM, "detail.DaysToExpiry", json_object_new_double(31.5),
			     "detail.DaysToExpiry: not an integer 0..3650");
	expect_unknown_after(ACM, "detail-type", json_object_new_string("ACM Certificate Available"),
			     "is not an event the engine handles");
}

/* ---- raw text (the fuzzing entry point) ---------------------------------------------- */

static hl_event_info classify_text(const char *s)
{
	hl_event_info i;
	hl_event_classify_text(s, strlen(s), &i);
	return i;
}

Test(event, text_entry_point)
{
	hl_event_info i = classify_text("{");
	expect_unknown(&i, "the event is not valid JSON");
	i = classify_text("{} trailing");
	expect_unknown(&i, "the event has data after the JSON value (byte 3)");
	i = classify_text("");
	expect_unknown(&i, "the event is empty");
	i = classify_text("\"just a string\"");
	expect_unknown(&i, "the event is not a JSON object");
	i = classify_text("{\"source\":\"aws.acm\"}\n");
	expect_unknown(&i, "detail-type: missing");

	char deep[256];
	memset(deep, '[', 100);
	deep[100] = '\0';
	i = classify_text(deep);
	expect_unknown(&i, "the event is not valid JSON");

	size_t n = HL_EVENT_MAX_BYTES + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	hl_event_classify_text(big, n, &i);
	expect_unknown(&i, "bytes, more than EventBridge's");
	free(big);

	/* A NUL byte in the middle ends the JSON early: trailing data. */
	static const char nul[] = "{}\0{}";
	hl_event_classify_text(nul, sizeof(nul) - 1, &i);
	cr_expect_eq(i.cls, HL_EVENT_UNKNOWN);

	/* And every fixture classifies the same through text. */
	FILE *f = fopen(FIXTURES "config-restricted-ssh-noncompliant.json", "rb");
	cr_assert_not_null(f);
	char buf[8192];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	hl_event_classify_text(buf, len, &i);
	cr_expect_eq(i.cls, HL_EVENT_PUBLIC_SSH, "why: %s", i.why);
}

/* ---- the diagnose activity without AWS (owner null) -------------------------------- */

static void quiet(void)
{
	hl_log_set_level(HL_LOG_OFF);
}

TestSuite(diagnose, .init = quiet);
TestSuite(guard, .init = quiet);

static json_object *run_activity(const hl_activity *act, json_object *input, int *rc,
				 char *error, size_t errsz, char *cause, size_t causesz)
{
	hl_activity_ctx *ctx = hl_activity_ctx_new(act, NULL, false, "unit");
	json_object *out = NULL;
	*rc = act->run(ctx, input, &out);
	snprintf(error, errsz, "%s", hl_activity_ctx_error(ctx) ? hl_activity_ctx_error(ctx) : "");
	snprintf(cause, causesz, "%s", hl_activity_ctx_cause(ctx) ? hl_activity_ctx_cause(ctx) : "");
	hl_activity_ctx_free(ctx);
	return out;
}

static json_object *diagnose_event(json_object *ev)
{
	json_object *in = json_object_new_object();
	json_object_object_add(in, "execution", json_object_new_string(EXECUTION));
	json_object_object_add(in, "dryRun", json_object_new_boolean(1));
	json_object_object_add(in, "event", ev);
	int rc;
	char error[300], cause[1024];
	json_object *out = run_activity(&hl_activity_diagnose, in, &rc, error, sizeof(error), cause,
					sizeof(cause));
	cr_assert_eq(rc, 0, "diagnose failed: %s: %s", error, cause);
	json_object_put(in);
	return out;
}

static double get_double(json_object *o, const char *key)
{
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_double(v);
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return v ? json_object_get_string(v) : NULL;
}

static json_object *get_obj(json_object *o, const char *key)
{
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return v;
}

Test(diagnose, disk_output_shape_and_confidence)
{
	json_object *out = diagnose_event(fixture(ALARM));
	cr_expect_str_eq(get_string(out, "class"), "disk_pressure");
	cr_expect_float_eq(get_double(out, "confidence"), 0.95, 1e-9);
	cr_expect_str_eq(get_string(out, "reason"),
			 "CloudWatch alarm disk_used_percent >= 85 on " INSTANCE " path / (latest 91.3%)");
	cr_expect_null(get_obj(out, "owner"), "no AWS: owner is null");
	json_object *res = get_obj(out, "resource");
	cr_expect_str_eq(get_string(res, "type"), "instance");
	cr_expect_str_eq(get_string(res, "id"), INSTANCE);
	json_object *d = get_obj(out, "details");
	cr_expect_str_eq(get_string(d, "instanceId"), INSTANCE);
	cr_expect_str_eq(get_string(d, "path"), "/");
	cr_expect_float_eq(get_double(d, "threshold"), 85, 1e-9);
	cr_expect_float_eq(get_double(d, "usedPercent"), 91.27, 1e-9);
	cr_expect_gt(json_object_array_length(get_obj(out, "plan")), 2);
	json_object_put(out);
}

Test(diagnose, confidence_rules)
{
	/* No path: -0.10. */
	json_object *ev = fixture(ALARM);
	del_path(ev, DIMS ".path");
	json_object *out = diagnose_event(ev);
	cr_expect_float_eq(get_double(out, "confidence"), 0.85, 1e-9);
	cr_expect_null(get_obj(get_obj(out, "details"), "path"));
	json_object_put(out);

	/* No reasonData and no path: -0.20. */
	ev = fixture(ALARM);
	del_path(ev, DIMS ".path");
	del_path(ev, "detail.state.reasonData");
	out = diagnose_event(ev);
	cr_expect_float_eq(get_double(out, "confidence"), 0.75, 1e-9);
	json_object_put(out);

	/* Latest datapoint below HEALER_DISK_THRESHOLD: -0.25. */
	cr_assert_eq(setenv("HEALER_DISK_THRESHOLD", "95", 1), 0);
	out = diagnose_event(fixture(ALARM));
	cr_expect_float_eq(get_double(out, "confidence"), 0.70, 1e-9);
	json_object_put(out);
	unsetenv("HEALER_DISK_THRESHOLD");

	/* Rule with a suffix and no qualifier: -0.20. */
	ev = fixture(CONFIG);
	set_str(ev, "detail.configRuleName", "restricted-ssh-conformance-pack-x1y2z3");
	del_path(ev, "detail.newEvaluationResult.evaluationResultIdentifier");
	out = diagnose_event(ev);
	cr_expect_str_eq(get_string(out, "class"), "public_ssh");
	cr_expect_float_eq(get_double(out, "confidence"), 0.75, 1e-9);
	json_object_put(out);

	/* Certificate without CommonName or DaysToExpiry: -0.20. */
	ev = fixture(ACM);
	del_path(ev, "detail.CommonName");
	del_path(ev, "detail.DaysToExpiry");
	out = diagnose_event(ev);
	cr_expect_float_eq(get_double(out, "confidence"), 0.75, 1e-9);
	cr_expect_null(get_obj(get_obj(out, "details"), "daysToExpiry"));
	json_object_put(out);
}

Test(diagnose, unknown_output)
{
	json_object *out = diagnose_event(fixture("cloudwatch-alarm-composite.json"));
	cr_expect_str_eq(get_string(out, "class"), "unknown");
	cr_expect_float_eq(get_double(out, "confidence"), 0, 1e-12);
	cr_expect_null(get_obj(out, "resource"));
	json_object *d = get_obj(out, "details");
	cr_expect_not_null(strstr(get_string(d, "why"), "composite alarm"));
	cr_expect_str_eq(get_string(d, "source"), "aws.cloudwatch");
	cr_expect_str_eq(get_string(d, "detailType"), "CloudWatch Alarm State Change");
	cr_expect_eq(strncmp(get_string(out, "reason"), "unclassified: composite alarm", 29), 0);
	json_object_put(out);

	/* A non-object event is unknown, not an activity failure. */
	out = diagnose_event(json_object_new_string("i-0abc; rm -rf /"));
	cr_expect_str_eq(get_string(out, "class"), "unknown");
	cr_expect_str_eq(get_string(get_obj(out, "details"), "why"), "the event is not a JSON object");
	json_object_put(out);
}

static void expect_invalid_input(const hl_activity *act, const char *input_json, const char *cause)
{
	json_object *in = json_tokener_parse(input_json);
	cr_assert_not_null(in, "bad test JSON: %s", input_json);
	int rc;
	char error[300], got[1024];
	json_object *out = run_activity(act, in, &rc, error, sizeof(error), got, sizeof(got));
	cr_expect_lt(rc, 0, "%s should fail", input_json);
	cr_expect_null(out);
	cr_expect_str_eq(error, "Healer.InvalidInput");
	cr_expect_str_eq(got, cause);
	json_object_put(in);
	json_object_put(out);
}

Test(diagnose, invalid_input)
{
	expect_invalid_input(&hl_activity_diagnose, "[]", "diagnose: the input must be an object");
	expect_invalid_input(&hl_activity_diagnose, "{\"execution\":\"" EXECUTION "\"}",
			     "diagnose: \"event\" is required");
	expect_invalid_input(&hl_activity_diagnose, "{\"execution\":\"evt-1; rm\",\"event\":{}}",
			     "diagnose: \"execution\" must be a Step Functions execution ARN");
	expect_invalid_input(&hl_activity_diagnose, "{\"dryRun\":\"yes\",\"event\":{}}",
			     "diagnose: \"dryRun\" must be a boolean");
}

Test(guard, invalid_input)
{
	expect_invalid_input(&hl_activity_guard, "7", "guard: the input must be an object");
	expect_invalid_input(&hl_activity_guard, "{\"event\":{}}",
			     "guard: \"execution\" must be a Step Functions execution ARN");
	expect_invalid_input(&hl_activity_guard,
			     "{\"execution\":\"arn:aws:states:us-east-1:123456789012:execution:e:a b\","
			     "\"event\":{}}",
			     "guard: \"execution\" must be a Step Functions execution ARN");
	expect_invalid_input(&hl_activity_guard,
			     "{\"execution\":\"" EXECUTION "\",\"dryRun\":1,\"event\":{}}",
			     "guard: \"dryRun\" must be a boolean");
	expect_invalid_input(&hl_activity_guard, "{\"execution\":\"" EXECUTION "\"}",
			     "guard: \"event\" is required");
}

Test(guard, settings_are_validated_at_init)
{
	hl_err err;
	hl_err_clear(&err);
	cr_assert_eq(hl_activity_guard.init(&err), 0, "defaults are valid: %s", err.message);
	cr_assert_eq(setenv("HEALER_PROTECTED_SGS", "sg-12345678,sg-nothex00", 1), 0);
	cr_assert_eq(hl_activity_guard.init(&err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_PROTECTED_SGS: invalid item \"sg-nothex00\"");
	unsetenv("HEALER_PROTECTED_SGS");
	cr_assert_eq(setenv("HEALER_KILL_SWITCH_CACHE_S", "11", 1), 0);
	cr_assert_eq(hl_activity_guard.init(&err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_KILL_SWITCH_CACHE_S: \"11\" is out of range 0..10");
	unsetenv("HEALER_KILL_SWITCH_CACHE_S");
	cr_assert_eq(setenv("HEALER_KILL_SWITCH_PARAM", "healer/enabled", 1), 0);
	cr_assert_eq(hl_activity_guard.init(&err), HL_ERR_CONFIG);
	cr_expect_not_null(strstr(err.message, "HEALER_KILL_SWITCH_PARAM: must be an SSM parameter name"));
	unsetenv("HEALER_KILL_SWITCH_PARAM");
	cr_assert_eq(setenv("HEALER_BREAK_GLASS_ACCOUNTS", "123456789012", 1), 0);
	cr_assert_eq(setenv("HEALER_BREAKER_MAX", "0", 1), 0);
	cr_assert_eq(hl_activity_guard.init(&err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_BREAKER_MAX: \"0\" is out of range 1..100");
}

Test(guard, needs_aws)
{
	json_object *in = json_object_new_object();
	json_object_object_add(in, "execution", json_object_new_string(EXECUTION));
	json_object_object_add(in, "event", fixture(ALARM));
	int rc;
	char error[300], cause[1024];
	json_object *out = run_activity(&hl_activity_guard, in, &rc, error, sizeof(error), cause,
					sizeof(cause));
	cr_expect_lt(rc, 0);
	cr_expect_null(out);
	cr_expect_str_eq(error, "Healer.Guard.Config");
	cr_expect_str_eq(cause, "guard needs AWS: no region configured");
	json_object_put(in);
}
