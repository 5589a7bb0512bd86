/* event.c - EventBridge event classification for guard and diagnose.
 *
 * How it works: hl_event_classify() checks the envelope (object, bounded
 * size, string source / detail-type), picks the one handler whose source and
 * detail-type match, and that handler walks the fields it needs with typed
 * getters. The first field that is missing, of the wrong type, fails ids.h
 * or fails a character check ends classification as HL_EVENT_UNKNOWN with a
 * `why` that names the field (see event.h for the shapes accepted).
 *
 * Untrusted text never reaches a format string: every message here is a
 * fixed format, and event values appear only as %s arguments after
 * validation or sanitize() (printable ASCII, bounded). Strings containing a
 * NUL byte ("\u0000") are rejected, so a validated prefix cannot smuggle a
 * tail past the checks.
 *
 * hl_resource_tags() is the one AWS call here: Resource Groups Tagging API
 * GetResources for one ARN, shared by the guard (AutoRemediate opt-out) and
 * diagnose (Owner).
 */
#include <stdio.h>
#include <string.h>

#include "healer/event.h"
#include "healer/ids.h"

#define REASON_DATA_MAX 16384
#define NAME_MAX_LEN 128

/* ---- small helpers ------------------------------------------------------- */

/* Printable-ASCII copy of s (bytes outside 0x20..0x7e become '?'), cut to
 * fit out with a "..." marker. */
static void sanitize(const char *s, size_t len, char *out, size_t outsz)
{
	size_t i = 0;
	if (outsz == 0)
		return;
	for (; i < len && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && outsz >= 4) {
		i = outsz - 4 < i ? outsz - 4 : i;
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static void set_unknown(hl_event_info *info, const char *fmt, ...) HL_PRINTF(2, 3);

static void set_unknown(hl_event_info *info, const char *fmt, ...)
{
	va_list ap;
	info->cls = HL_EVENT_UNKNOWN;
	memset(&info->resource, 0, sizeof(info->resource));
	va_start(ap, fmt);
	vsnprintf(info->why, sizeof(info->why), fmt, ap);
	va_end(ap);
}

/* The member `key` of object o, or NULL (o not an object, key absent, or
 * the value is JSON null). */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

enum { GOT = 0, ABSENT = -1, WRONG_TYPE = -2, TOO_LONG = -3, HAS_NUL = -4 };

/* A string value of at most max bytes without NUL bytes. */
static int str_value(json_object *v, size_t max, const char **out)
{
	*out = NULL;
	if (!v)
		return ABSENT;
	if (!json_object_is_type(v, json_type_string))
		return WRONG_TYPE;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n)
		return HAS_NUL;
	if (n > max)
		return TOO_LONG;
	*out = s;
	return GOT;
}

/* A string member (see str_value). */
static int get_str(json_object *o, const char *key, size_t max, const char **out)
{
	return str_value(member(o, key), max, out);
}

static const char *str_problem(int rc)
{
	switch (rc) {
	case ABSENT: return "missing";
	case WRONG_TYPE: return "not a string";
	case TOO_LONG: return "too long";
	case HAS_NUL: return "contains a NUL byte";
	default: return "invalid";
	}
}

/* Every byte of s in [A-Za-z0-9] or in `extra`; length 1..max. */
static bool charset_ok(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(extra, c)))
			return false;
	}
	return true;
}

static bool is_number(json_object *v)
{
	return v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
}

static const char *partition_of(const char *region)
{
	if (strncmp(region, "cn-", 3) == 0)
		return "aws-cn";
	if (strncmp(region, "us-gov-", 7) == 0)
		return "aws-us-gov";
	return "aws";
}

static void set_resource(hl_event_info *info, hl_resource_type type, const char *id,
			 const char *arn, const char *account, const char *region,
			 const char *partition)
{
	hl_resource *r = &info->resource;
	r->type = type;
	hl_strlcpy(r->id, id, sizeof(r->id));
	hl_strlcpy(r->arn, arn, sizeof(r->arn));
	hl_strlcpy(r->account, account, sizeof(r->account));
	hl_strlcpy(r->region, region, sizeof(r->region));
	hl_strlcpy(r->partition, partition, sizeof(r->partition));
}

/* ---- public names --------------------------------------------------------- */

const char *hl_event_class_name(hl_event_class c)
{
	switch (c) {
	case HL_EVENT_DISK_PRESSURE: return "disk_pressure";
	case HL_EVENT_PUBLIC_SSH: return "public_ssh";
	case HL_EVENT_CERT_EXPIRY: return "cert_expiry";
	default: return "unknown";
	}
}

const char *hl_resource_type_name(hl_resource_type t)
{
	switch (t) {
	case HL_RESOURCE_INSTANCE: return "instance";
	case HL_RESOURCE_SECURITY_GROUP: return "security-group";
	case HL_RESOURCE_CERTIFICATE: return "certificate";
	default: return NULL;
	}
}

json_object *hl_resource_to_json(const hl_resource *r)
{
	if (!r || r->type == HL_RESOURCE_NONE)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(hl_resource_type_name(r->type)));
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "arn", json_object_new_string(r->arn));
	json_object_object_add(o, "account", json_object_new_string(r->account));
	json_object_object_add(o, "region", json_object_new_string(r->region));
	return o;
}

bool hl_event_is_restricted_ssh_rule(const char *name)
{
	static const char core[] = "restricted-ssh";
	const size_t cn = sizeof(core) - 1;
	if (!name || !charset_ok(name, "-_", NAME_MAX_LEN))
		return false;
	size_t n = strlen(name);
	for (const char *p = strstr(name, core); p; p = strstr(p + 1, core)) {
		size_t at = (size_t)(p - name);
		bool left = at == 0 || name[at - 1] == '-' || name[at - 1] == '_';
		bool right = at + cn == n || name[at + cn] == '-' || name[at + cn] == '_';
		if (left && right)
			return true;
	}
	return false;
}

/* ---- CloudWatch alarm: disk_pressure -------------------------------------- */

/* threshold and the latest datapoint from state.reasonData (a JSON document
 * in a string). Missing or malformed reasonData only leaves them unset. */
static void read_reason_data(json_object *state, hl_event_info *info)
{
	const char *text = NULL;
	if (get_str(state, "reasonData", REASON_DATA_MAX, &text) != GOT)
		return;
	json_tokener *tok = json_tokener_new_ex(8);
	if (!tok)
		return;
	size_t n = strlen(text);
	json_object *rd = json_tokener_parse_ex(tok, text, (int)n);
	if (!rd || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || !json_object_is_type(rd, json_type_object))
		goto out;
	json_object *t = member(rd, "threshold");
	if (is_number(t)) {
		double d = json_object_get_double(t);
		if (d >= 0 && d <= 100) {
			info->has_threshold = true;
			info->threshold = d;
		}
	}
	json_object *pts = member(rd, "recentDatapoints");
	if (pts && json_object_is_type(pts, json_type_array) && json_object_array_length(pts) > 0) {
		json_object *last = json_object_array_get_idx(pts, json_object_array_length(pts) - 1);
		if (is_number(last)) {
			double d = json_object_get_double(last);
			if (d >= 0 && d <= 100) {
				info->has_used_percent = true;
				info->used_percent = d;
			}
		}
	}
out:
	json_object_put(rd);
	json_tokener_free(tok);
}

/* An optional dimension: absent is fine, present must pass the check. */
static bool optional_dim(hl_event_info *info, json_object *dims, const char *key,
			 const char *extra, size_t max, bool leading_slash, char *out,
			 size_t outsz)
{
	const char *v = NULL;
	int rc = get_str(dims, key, max, &v);
	if (rc == ABSENT)
		return true;
	if (rc == GOT && charset_ok(v, extra, max) && (!leading_slash || v[0] == '/')) {
		hl_strlcpy(out, v, outsz);
		return true;
	}
	set_unknown(info, "detail.configuration.metrics[0].metricStat.metric.dimensions.%s: %s",
		    key, rc == GOT ? "contains characters outside the safe set" : str_problem(rc));
	return false;
}

static void classify_alarm(json_object *detail, const char *account, const char *region,
			   hl_event_info *info)
{
	const char *s = NULL;
	int rc;
	json_object *state = member(detail, "state");
	if (!state || !json_object_is_type(state, json_type_object)) {
		set_unknown(info, "detail.state: not an object");
		return;
	}
	rc = get_str(state, "value", 32, &s);
	if (rc != GOT) {
		set_unknown(info, "detail.state.value: %s", str_problem(rc));
		return;
	}
	if (strcmp(s, "ALARM") != 0) {
		if (strcmp(s, "OK") == 0 || strcmp(s, "INSUFFICIENT_DATA") == 0)
			set_unknown(info, "alarm state is %s, not ALARM: nothing to remediate", s);
		else
			set_unknown(info, "detail.state.value: not ALARM, OK or INSUFFICIENT_DATA");
		return;
	}
	if (member(detail, "muteDetail")) {
		const char *by = NULL;
		hl_arn arn;
		if (get_str(member(detail, "muteDetail"), "mutedByArn", 511, &by) != GOT ||
		    !hl_parse_arn(by, &arn))
			by = NULL;
		set_unknown(info, "alarm is muted (detail.muteDetail%s%s): its actions are "
			    "suppressed, so it is not remediated", by ? " by " : "", by ? by : "");
		return;
	}
	json_object *cfg = member(detail, "configuration");
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		set_unknown(info, "detail.configuration: not an object");
		return;
	}
	if (member(cfg, "alarmRule")) {
		set_unknown(info, "composite alarm (detail.configuration.alarmRule): it names no "
			    "single instance and filesystem, so it is not remediated");
		return;
	}
	json_object *metrics = member(cfg, "metrics");
	if (!metrics) {
		set_unknown(info, "detail.configuration.metrics: missing (not a single-metric alarm)");
		return;
	}
	if (!json_object_is_type(metrics, json_type_array) || json_object_array_length(metrics) == 0) {
		set_unknown(info, "detail.configuration.metrics: not a non-empty list");
		return;
	}
	size_t nm = json_object_array_length(metrics);
	for (size_t i = 0; i < nm; i++) {
		if (member(json_object_array_get_idx(metrics, i), "expression")) {
			set_unknown(info, "metric math alarm (detail.configuration.metrics[%zu] has "
				    "an expression): which filesystem crossed the threshold is not "
				    "known, so it is not remediated", i);
			return;
		}
	}
	if (nm != 1) {
		set_unknown(info, "detail.configuration.metrics: %zu entries, expected one metric", nm);
		return;
	}
	json_object *metric = member(member(json_object_array_get_idx(metrics, 0), "metricStat"),
				     "metric");
	if (!metric || !json_object_is_type(metric, json_type_object)) {
		set_unknown(info, "detail.configuration.metrics[0].metricStat.metric: not an object");
		return;
	}
	rc = get_str(metric, "namespace", 256, &s);
	if (rc != GOT || strcmp(s, "CWAgent") != 0) {
		set_unknown(info, "detail.configuration.metrics[0].metricStat.metric.namespace: %s",
			    rc == GOT ? "not CWAgent" : str_problem(rc));
		return;
	}
	rc = get_str(metric, "name", 256, &s);
	if (rc != GOT || strcmp(s, "disk_used_percent") != 0) {
		set_unknown(info, "detail.configuration.metrics[0].metricStat.metric.name: %s",
			    rc == GOT ? "not disk_used_percent" : str_problem(rc));
		return;
	}
	json_object *dims = member(metric, "dimensions");
	if (!dims || !json_object_is_type(dims, json_type_object)) {
		set_unknown(info, "detail.configuration.metrics[0].metricStat.metric.dimensions: %s",
			    dims && json_object_is_type(dims, json_type_array)
				    ? "a list, expected the EventBridge object map"
				    : "not an object");
		return;
	}
	const char *instance = NULL;
	rc = get_str(dims, "InstanceId", 64, &instance);
	if (rc != GOT || !hl_valid_instance_id(instance)) {
		set_unknown(info, "detail.configuration.metrics[0].metricStat.metric.dimensions."
			    "InstanceId: %s",
			    rc == GOT ? "not a valid instance id (i- and 8 or 17 lowercase hex digits)"
				      : str_problem(rc));
		return;
	}
	if (!optional_dim(info, dims, "path", "/._+@:-", 255, true, info->path, sizeof(info->path)) ||
	    !optional_dim(info, dims, "device", "/._-", 63, false, info->device,
			  sizeof(info->device)) ||
	    !optional_dim(info, dims, "fstype", "._-", 31, false, info->fstype,
			  sizeof(info->fstype)))
		return;
	read_reason_data(state, info);

	char arn[sizeof(info->resource.arn)];
	const char *partition = partition_of(region);
	snprintf(arn, sizeof(arn), "arn:%s:ec2:%s:%s:instance/%s", partition, region, account,
		 instance);
	info->cls = HL_EVENT_DISK_PRESSURE;
	set_resource(info, HL_RESOURCE_INSTANCE, instance, arn, account, region, partition);
}

/* ---- Config rule compliance change: public_ssh ------------------------------ */

/* An optional detail field that, when present, must equal `want`. */
static bool agrees(json_object *o, const char *key, const char *want, bool *seen)
{
	const char *v = NULL;
	int rc = get_str(o, key, 512, &v);
	if (rc == ABSENT)
		return true;
	*seen = true;
	return rc == GOT && strcmp(v, want) == 0;
}

static void classify_config(json_object *detail, const char *account, const char *region,
			    hl_event_info *info)
{
	const char *s = NULL, *rule = NULL, *group = NULL;
	int rc = get_str(detail, "messageType", 64, &s);
	if (rc == GOT && strcmp(s, "ComplianceChangeNotification") != 0) {
		set_unknown(info, "detail.messageType: not ComplianceChangeNotification");
		return;
	}
	if (rc != GOT && rc != ABSENT) {
		set_unknown(info, "detail.messageType: %s", str_problem(rc));
		return;
	}
	rc = get_str(detail, "configRuleName", NAME_MAX_LEN, &rule);
	if (rc != GOT || !charset_ok(rule, "-_", NAME_MAX_LEN)) {
		set_unknown(info, "detail.configRuleName: %s",
			    rc == GOT ? "not a rule name ([A-Za-z0-9_-], 1..128)" : str_problem(rc));
		return;
	}
	if (!hl_event_is_restricted_ssh_rule(rule)) {
		set_unknown(info, "Config rule \"%s\" is not restricted-ssh", rule);
		return;
	}
	rc = get_str(detail, "resourceType", 128, &s);
	if (rc != GOT || strcmp(s, "AWS::EC2::SecurityGroup") != 0) {
		set_unknown(info, "detail.resourceType: %s",
			    rc == GOT ? "not AWS::EC2::SecurityGroup" : str_problem(rc));
		return;
	}
	json_object *result = member(detail, "newEvaluationResult");
	if (!result || !json_object_is_type(result, json_type_object)) {
		set_unknown(info, "detail.newEvaluationResult: not an object");
		return;
	}
	rc = get_str(result, "complianceType", 32, &s);
	if (rc != GOT) {
		set_unknown(info, "detail.newEvaluationResult.complianceType: %s", str_problem(rc));
		return;
	}
	if (strcmp(s, "NON_COMPLIANT") != 0) {
		if (strcmp(s, "COMPLIANT") == 0 || strcmp(s, "NOT_APPLICABLE") == 0 ||
		    strcmp(s, "INSUFFICIENT_DATA") == 0)
			set_unknown(info, "compliance is %s, not NON_COMPLIANT: nothing to remediate",
				    s);
		else
			set_unknown(info, "detail.newEvaluationResult.complianceType: unexpected value");
		return;
	}
	rc = get_str(detail, "resourceId", 64, &group);
	if (rc != GOT || !hl_valid_security_group_id(group)) {
		set_unknown(info, "detail.resourceId: %s",
			    rc == GOT ? "not a valid security group id (sg- and 8 or 17 lowercase "
					"hex digits)"
				      : str_problem(rc));
		return;
	}
	bool seen_acct = false, seen_region = false;
	if (!agrees(detail, "awsAccountId", account, &seen_acct)) {
		set_unknown(info, "detail.awsAccountId: disagrees with the event's account");
		return;
	}
	if (!agrees(detail, "awsRegion", region, &seen_region)) {
		set_unknown(info, "detail.awsRegion: disagrees with the event's region");
		return;
	}
	json_object *q = member(member(result, "evaluationResultIdentifier"),
				"evaluationResultQualifier");
	bool seen_rule = false, seen_type = false, seen_id = false;
	if (q) {
		if (!agrees(q, "configRuleName", rule, &seen_rule) ||
		    !agrees(q, "resourceType", "AWS::EC2::SecurityGroup", &seen_type) ||
		    !agrees(q, "resourceId", group, &seen_id)) {
			set_unknown(info, "detail.newEvaluationResult.evaluationResultIdentifier."
				    "evaluationResultQualifier: disagrees with detail (rule, "
				    "resource type or resource id)");
			return;
		}
	}
	char arn[sizeof(info->resource.arn)];
	const char *partition = partition_of(region);
	snprintf(arn, sizeof(arn), "arn:%s:ec2:%s:%s:security-group/%s", partition, region, account,
		 group);
	info->cls = HL_EVENT_PUBLIC_SSH;
	hl_strlcpy(info->rule_name, rule, sizeof(info->rule_name));
	info->rule_name_exact = strcmp(rule, "restricted-ssh") == 0;
	info->rule_cross_checked = seen_rule && seen_type && seen_id;
	hl_strlcpy(info->compliance_type, "NON_COMPLIANT", sizeof(info->compliance_type));
	set_resource(info, HL_RESOURCE_SECURITY_GROUP, group, arn, account, region, partition);
}

/* ---- ACM: cert_expiry ------------------------------------------------------ */

static void classify_acm(json_object *event, json_object *detail, const char *event_type,
			 const char *account, const char *region, hl_event_info *info)
{
	json_object *res = member(event, "resources");
	if (!res || !json_object_is_type(res, json_type_array) || json_object_array_length(res) == 0) {
		set_unknown(info, "resources: not a non-empty list (the certificate ARN is "
			    "resources[0])");
		return;
	}
	const char *cert = NULL;
	if (str_value(json_object_array_get_idx(res, 0), 511, &cert) != GOT ||
	    !hl_valid_certificate_arn(cert)) {
		set_unknown(info, "resources[0]: not an ACM certificate ARN");
		return;
	}
	hl_arn arn;
	if (!hl_parse_arn(cert, &arn) || strcmp(arn.account, account) != 0 ||
	    strcmp(arn.region, region) != 0) {
		set_unknown(info, "resources[0]: the certificate's account or region disagrees with "
			    "the event's");
		return;
	}
	const char *s = NULL;
	int rc = get_str(detail, "CommonName", 253, &s);
	if (rc == GOT && charset_ok(s, ".*-_", 253))
		hl_strlcpy(info->common_name, s, sizeof(info->common_name));
	else if (rc != ABSENT) {
		set_unknown(info, "detail.CommonName: %s",
			    rc == GOT ? "not a domain name" : str_problem(rc));
		return;
	}
	json_object *days = member(detail, "DaysToExpiry");
	if (days) {
		int64_t d = json_object_get_int64(days);
		if (!json_object_is_type(days, json_type_int) || d < 0 || d > 3650) {
			set_unknown(info, "detail.DaysToExpiry: not an integer 0..3650");
			return;
		}
		info->has_days_to_expiry = true;
		info->days_to_expiry = (int)d;
	}
	rc = get_str(detail, "RenewalStatusReason", 64, &s);
	if (rc == GOT && charset_ok(s, "_", 64))
		hl_strlcpy(info->renewal_status_reason, s, sizeof(info->renewal_status_reason));
	else if (rc != ABSENT) {
		set_unknown(info, "detail.RenewalStatusReason: %s",
			    rc == GOT ? "not an ACM failure reason" : str_problem(rc));
		return;
	}
	info->cls = HL_EVENT_CERT_EXPIRY;
	hl_strlcpy(info->event_type, event_type, sizeof(info->event_type));
	set_resource(info, HL_RESOURCE_CERTIFICATE, cert, cert, arn.account, arn.region,
		     arn.partition);
}

/* ---- the envelope --------------------------------------------------------- */

static const struct {
	const char *detail_type, *event_type;
} acm_types[] = {
	{ "ACM Certificate Approaching Expiration", "approaching-expiration" },
	{ "ACM Certificate Expired", "expired" },
	{ "ACM Certificate Renewal Action Required", "renewal-action-required" },
};

void hl_event_classify(json_object *event, hl_event_info *info)
{
	memset(info, 0, sizeof(*info));
	info->cls = HL_EVENT_UNKNOWN;
	if (!event || !json_object_is_type(event, json_type_object)) {
		set_unknown(info, "the event is not a JSON object");
		return;
	}
	size_t size = 0;
	json_object_to_json_string_length(event, JSON_C_TO_STRING_PLAIN, &size);
	if (size > HL_EVENT_MAX_BYTES) {
		set_unknown(info, "the event is %zu bytes, more than EventBridge's %d", size,
			    HL_EVENT_MAX_BYTES);
		return;
	}
	const char *source = NULL, *dtype = NULL;
	int rc_s = get_str(event, "source", 256, &source);
	int rc_d = get_str(event, "detail-type", 256, &dtype);
	if (source)
		sanitize(source, strlen(source), info->source, sizeof(info->source));
	if (dtype)
		sanitize(dtype, strlen(dtype), info->detail_type, sizeof(info->detail_type));
	if (rc_s != GOT) {
		set_unknown(info, "source: %s", str_problem(rc_s));
		return;
	}
	if (rc_d != GOT) {
		set_unknown(info, "detail-type: %s", str_problem(rc_d));
		return;
	}

	enum { NONE, ALARM, CONFIG, ACM } kind = NONE;
	const char *acm_event_type = NULL;
	if (strcmp(source, "aws.cloudwatch") == 0 &&
	    strcmp(dtype, "CloudWatch Alarm State Change") == 0)
		kind = ALARM;
	else if (strcmp(source, "aws.config") == 0 &&
		 strcmp(dtype, "Config Rules Compliance Change") == 0)
		kind = CONFIG;
	else if (strcmp(source, "aws.acm") == 0) {
		for (size_t i = 0; i < sizeof(acm_types) / sizeof(acm_types[0]); i++)
			if (strcmp(dtype, acm_types[i].detail_type) == 0) {
				kind = ACM;
				acm_event_type = acm_types[i].event_type;
			}
	}
	if (kind == NONE) {
		set_unknown(info, "source \"%s\" with detail-type \"%s\" is not an event the engine "
			    "handles", info->source, info->detail_type);
		return;
	}

	const char *account = NULL, *region = NULL;
	int rc = get_str(event, "account", 32, &account);
	if (rc != GOT || !hl_valid_account_id(account)) {
		set_unknown(info, "account: %s",
			    rc == GOT ? "not a 12-digit account id" : str_problem(rc));
		return;
	}
	rc = get_str(event, "region", 32, &region);
	if (rc != GOT || !hl_valid_region(region)) {
		set_unknown(info, "region: %s", rc == GOT ? "not a valid region" : str_problem(rc));
		return;
	}
	json_object *detail = member(event, "detail");
	if (!detail || !json_object_is_type(detail, json_type_object)) {
		set_unknown(info, "detail: not an object");
		return;
	}
	switch (kind) {
	case ALARM:
		classify_alarm(detail, account, region, info);
		break;
	case CONFIG:
		classify_config(detail, account, region, info);
		break;
	case ACM:
		classify_acm(event, detail, acm_event_type, account, region, info);
		break;
	default:
		break;
	}
}

void hl_event_classify_text(const char *data, size_t len, hl_event_info *info)
{
	json_tokener *tok = NULL;
	json_object *event = NULL;

	memset(info, 0, sizeof(*info));
	if (len > HL_EVENT_MAX_BYTES) {
		set_unknown(info, "the event is %zu bytes, more than EventBridge's %d", len,
			    HL_EVENT_MAX_BYTES);
		return;
	}
	if (!data || len == 0) {
		set_unknown(info, "the event is empty");
		return;
	}
	tok = json_tokener_new_ex(HL_EVENT_MAX_DEPTH);
	if (!tok) {
		set_unknown(info, "cannot parse the event (out of memory)");
		return;
	}
	event = json_tokener_parse_ex(tok, data, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (!event && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (jerr != json_tokener_success) {
		set_unknown(info, "the event is not valid JSON (%s at byte %zu)",
			    json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		goto out;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", data[i]) || data[i] == '\0') {
			set_unknown(info, "the event has data after the JSON value (byte %zu)", i);
			goto out;
		}
	}
	hl_event_classify(event, info);
out:
	json_object_put(event);
	json_tokener_free(tok);
}

/* ---- tags ----------------------------------------------------------------- */

int hl_resource_tags(hl_aws_conn *c, const hl_resource *r, json_object **tags, hl_err *err)
{
	json_object *in = NULL, *out = NULL, *result = NULL;
	int rc = HL_OK;

	*tags = NULL;
	if (!c)
		return hl_err_set(err, HL_ERR_CONFIG, "no AWS connection (is a region set?)");
	if (!r || r->type == HL_RESOURCE_NONE || !r->arn[0])
		return hl_err_set(err, HL_ERR_INVALID, "no resource to read tags of");
	in = json_object_new_object();
	json_object *list = json_object_new_array();
	json_object_array_add(list, json_object_new_string(r->arn));
	json_object_object_add(in, "ResourceARNList", list);
	HL_GUARD_GOTO(rc, hl_aws_call(c, &hl_svc_tagging, "GetResources", in, &out, NULL, err),
		      cleanup);
	result = json_object_new_object();
	json_object *mappings = member(out, "ResourceTagMappingList");
	size_t n = mappings && json_object_is_type(mappings, json_type_array)
			   ? json_object_array_length(mappings)
			   : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mappings, i);
		const char *arn = NULL;
		if (get_str(m, "ResourceARN", 2048, &arn) != GOT || strcmp(arn, r->arn) != 0)
			continue;
		json_object *tl = member(m, "Tags");
		size_t nt = tl && json_object_is_type(tl, json_type_array) ? json_object_array_length(tl)
									  : 0;
		for (size_t j = 0; j < nt; j++) {
			json_object *t = json_object_array_get_idx(tl, j);
			const char *k = NULL, *v = NULL;
			if (get_str(t, "Key", 128, &k) != GOT || get_str(t, "Value", 256, &v) != GOT)
				continue;
			json_object_object_add(result, k, json_object_new_string(v));
		}
	}
	*tags = result;
	result = NULL;
cleanup:
	json_object_put(in);
	json_object_put(out);
	json_object_put(result);
	return rc;
}
