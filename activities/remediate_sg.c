/* remediate_sg.c - activity "remediate-sg": closes SSH (port 22) opened to
 * the world on a security group, with the AWS runbook
 * AWS-DisablePublicAccessForSecurityGroup, and proves what changed.
 *
 * Input {"execution", "dryRun", "diagnosis"} with diagnosis.class
 * "public_ssh", details.groupId (sg-...) and optionally resource.region.
 *
 * 1. Refuse (escalate, nothing touched) when the group is listed in
 *    HEALER_PROTECTED_SGS: guard already does this; this is defence in
 *    depth.
 * 2. Read the group from AWS Config (BatchGetResourceConfig; the item's
 *    `configuration` is a JSON string with ipPermissions). The rules open
 *    to 0.0.0.0/0 or ::/0 that reach port 22 or 3389 (the runbook's two
 *    ports) - tcp ranges covering the port, or protocol -1 - are `before`.
 *    Then this execution's rollback plan is looked up (sg_plan.h: one
 *    item per execution in the breaker table). No rule reaching port 22
 *    and no plan: nothing to do. No rule reaching port 22 but a plan: an
 *    earlier attempt of this execution acted and its answer was lost
 *    (Step Functions retried the task): follow its automation (the id
 *    the plan recorded, else StartAutomationExecution with the same
 *    ClientToken) and answer as that attempt would have, from the plan's
 *    rules (steps 3-4 with the plan as `before`).
 * 3. Record the plan first - the rules of `before` the runbook removes
 *    (with those of an earlier plan of this execution: they may be gone
 *    already) and their rollback command; if DynamoDB refuses, fail with
 *    Healer.RemediateSg.PlanUnavailable (the state machine retries it)
 *    and change nothing. Then StartAutomationExecution (GroupId,
 *    AutomationAssumeRole from HEALER_SG_AUTOMATION_ROLE_ARN when set)
 *    with a ClientToken derived from the execution ARN, so a retry of the
 *    same execution gets the same automation back instead of a second
 *    one; its id goes into the plan. Wait on GetAutomationExecution
 *    (HEALER_AUTOMATION_POLL_MS, at most HEALER_AUTOMATION_WAIT_S,
 *    cancellation-aware).
 * 4. Read the group again, until Config has recorded it at or after the
 *    automation's start (at most HEALER_CONFIG_WAIT_S; Config records
 *    changes with a delay). Rules gone = removed (the rollback command
 *    re-authorizes exactly those); a rule still reaching port 22 (the
 *    runbook leaves all-traffic rules and wide port ranges alone) ->
 *    escalate naming it.
 * The rollback command is built from validated values only: the group id,
 * protocol names/numbers, integer ports and the two constant CIDRs.
 * Dry run: only the Config read (no plan read or written); the reason
 * says which rules the runbook would remove and which it would leave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/clock.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/retry.h"
#include "healer/settings.h"
#include "healer/sg_plan.h"

#define PREFIX "Healer.RemediateSg"
#define RUNBOOK "AWS-DisablePublicAccessForSecurityGroup"
#define OWNER_MESSAGE "I closed port 22 for you. Please use the VPN."
#define MAX_RULES HL_SG_MAX_RULES
#define MAX_MISSING_POLLS 10
#define WORLD_V4 "0.0.0.0/0"
#define WORLD_V6 "::/0"

typedef struct sg_settings {
	hl_strlist protected_sgs;
	const char *role_arn;     /* NULL when unset */
	const char *table;        /* HEALER_BREAKER_TABLE: where the plan is kept */
	int poll_ms;
	int wait_s;
	int config_wait_s;
} sg_settings;

typedef hl_sg_rule sg_rule;     /* sg_plan.h: shared with the recorded plan */

typedef struct sg_rules {
	size_t n;
	sg_rule r[MAX_RULES];
} sg_rules;

typedef struct sg_state {
	sg_rules rules;          /* world-open rules reaching 22 or 3389 */
	double capture_time;     /* configurationItemCaptureTime (epoch s) */
} sg_state;

static bool valid_role_arn(const char *s)
{
	hl_arn a;
	return hl_parse_arn(s, &a) && strcmp(a.service, "iam") == 0 && !*a.region && *a.account &&
	       strncmp(a.resource, "role/", 5) == 0 && strlen(a.resource) > 5;
}

static void free_settings(sg_settings *s)
{
	hl_strlist_free(&s->protected_sgs);
}

static int load_settings(sg_settings *s, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	HL_GUARD(hl_setting_list("HEALER_PROTECTED_SGS", NULL, hl_valid_security_group_id,
				 &s->protected_sgs, err));
	int rc = hl_setting_str_check("HEALER_SG_AUTOMATION_ROLE_ARN", NULL, 2048, valid_role_arn,
				      "must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
				      &s->role_arn, err);
	if (rc == HL_OK)
		rc = hl_setting_str_check("HEALER_BREAKER_TABLE", "healer-breaker", 255, hl_valid_table_name,
					  "must be a DynamoDB table name ([A-Za-z0-9_.-], 3..255)", &s->table, err);
	if (rc == HL_OK)
		rc = hl_setting_int("HEALER_AUTOMATION_POLL_MS", 5000, 10, 60000, &s->poll_ms, err);
	if (rc == HL_OK)
		rc = hl_setting_int("HEALER_AUTOMATION_WAIT_S", 600, 1, 3600, &s->wait_s, err);
	if (rc == HL_OK)
		rc = hl_setting_int("HEALER_CONFIG_WAIT_S", 300, 0, 3600, &s->config_wait_s, err);
	if (rc < 0)
		free_settings(s);
	return rc;
}

static int sg_init(hl_err *err)
{
	sg_settings s;
	HL_GUARD(load_settings(&s, err));
	free_settings(&s);
	return HL_OK;
}

/* ---- rules ---- */

static bool is_tcp(const sg_rule *r)
{
	return strcmp(r->proto, "tcp") == 0 || strcmp(r->proto, "6") == 0;
}

static bool rule_covers(const sg_rule *r, int port)
{
	if (strcmp(r->proto, "-1") == 0)
		return true;
	if (!is_tcp(r))
		return false;
	if (r->from == -1 && r->to == -1)
		return true;
	return r->from <= port && port <= r->to;
}

/* What the runbook revokes: tcp exactly 22 or 3389 from a world CIDR. */
static bool runbook_removes(const sg_rule *r)
{
	return is_tcp(r) && r->from == r->to && (r->from == 22 || r->from == 3389);
}

static bool rule_eq(const sg_rule *a, const sg_rule *b)
{
	return strcmp(a->proto, b->proto) == 0 && a->from == b->from && a->to == b->to && a->v6 == b->v6;
}

static bool rules_contain(const sg_rules *rs, const sg_rule *r)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rule_eq(&rs->r[i], r))
			return true;
	return false;
}

static void rule_text(const sg_rule *r, char *out, size_t outsz)
{
	const char *cidr = r->v6 ? WORLD_V6 : WORLD_V4;
	if (strcmp(r->proto, "-1") == 0)
		snprintf(out, outsz, "all traffic from %s", cidr);
	else if (r->from == -1 && r->to == -1)
		snprintf(out, outsz, "%s all ports from %s", r->proto, cidr);
	else if (r->from == r->to)
		snprintf(out, outsz, "%s %d from %s", r->proto, r->from, cidr);
	else
		snprintf(out, outsz, "%s %d-%d from %s", r->proto, r->from, r->to, cidr);
}

static json_object *rule_json(const sg_rule *r)
{
	char text[96];
	json_object *o = json_object_new_object();
	rule_text(r, text, sizeof(text));
	json_object_object_add(o, "ipProtocol", json_object_new_string(r->proto));
	if (r->from != -1 || r->to != -1) {
		json_object_object_add(o, "fromPort", json_object_new_int(r->from));
		json_object_object_add(o, "toPort", json_object_new_int(r->to));
	}
	json_object_object_add(o, "cidr", json_object_new_string(r->v6 ? WORLD_V6 : WORLD_V4));
	json_object_object_add(o, "coversPort22", json_object_new_boolean(rule_covers(r, 22)));
	json_object_object_add(o, "rule", json_object_new_string(text));
	return o;
}

static json_object *rules_json(const sg_rule *const *rs, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, rule_json(rs[i]));
	return a;
}

/* "rule, rule, rule" into buf. */
static int append_rules_text(hl_buf *b, const sg_rule *const *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char text[96];
		rule_text(rs[i], text, sizeof(text));
		HL_GUARD(hl_buf_appendf(b, "%s%s", i ? ", " : "", text));
	}
	return HL_OK;
}

/* aws ec2 authorize-security-group-ingress ... re-adding rs; every value
 * in it is validated (group id, protocol, integers, constant CIDRs). */
static char *rollback_command(const char *gid, const char *region, const sg_rule *const *rs, size_t n)
{
	hl_buf b;
	hl_buf_init(&b, 65536);
	if (hl_buf_appendf(&b, "aws ec2 authorize-security-group-ingress%s%s --group-id %s --ip-permissions '[",
			   region ? " --region " : "", region ? region : "", gid) < 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		const sg_rule *r = rs[i];
		if (hl_buf_appendf(&b, "%s{\"IpProtocol\":\"%s\"", i ? "," : "", r->proto) < 0)
			abort();
		if (strcmp(r->proto, "-1") != 0 && (r->from != -1 || r->to != -1))
			if (hl_buf_appendf(&b, ",\"FromPort\":%d,\"ToPort\":%d", r->from, r->to) < 0)
				abort();
		if (hl_buf_appendf(&b, r->v6 ? ",\"Ipv6Ranges\":[{\"CidrIpv6\":\"%s\"}]}"
					     : ",\"IpRanges\":[{\"CidrIp\":\"%s\"}]}",
				   r->v6 ? WORLD_V6 : WORLD_V4) < 0)
			abort();
	}
	if (hl_buf_appendf(&b, "]'") < 0)
		abort();
	char *s = hl_xstrdup(b.data);
	hl_buf_free(&b);
	return s;
}

/* A port member of a permission: absent/null -> -1; else an integer in
 * -1..65535. */
static bool get_port(json_object *perm, const char *key, int *out)
{
	json_object *v = NULL;
	*out = -1;
	if (!json_object_object_get_ex(perm, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_int))
		return false;
	int64_t n = json_object_get_int64(v);
	if (n < -1 || n > 65535)
		return false;
	*out = (int)n;
	return true;
}

/* Does the range list hold the world CIDR? Items are objects
 * {member: cidr} (ipv4Ranges/ipv6Ranges) or strings (legacy ipRanges). */
static bool has_world(json_object *ranges, const char *member, const char *world)
{
	size_t n = json_object_is_type(ranges, json_type_array) ? json_object_array_length(ranges) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(ranges, i);
		const char *c = json_object_is_type(it, json_type_string) ? json_object_get_string(it)
									   : hl_json_str(it, member);
		if (c && strcmp(c, world) == 0)
			return true;
	}
	return false;
}

static int add_rule(sg_rules *rs, const sg_rule *r)
{
	if (!(rule_covers(r, 22) || rule_covers(r, 3389)) || rules_contain(rs, r))
		return HL_OK;
	if (rs->n == MAX_RULES)
		return HL_ERR_TOO_LARGE;
	rs->r[rs->n++] = *r;
	return HL_OK;
}

/* The world-open rules reaching 22 or 3389 in a Config configuration. */
static int parse_configuration(const char *text, sg_rules *rs, char *why, size_t whysz)
{
	json_object *cfg = NULL, *perms = NULL;
	int rc = HL_OK;

	rs->n = 0;
	cfg = text ? json_tokener_parse(text) : NULL;
	if (!json_object_is_type(cfg, json_type_object)) {
		snprintf(why, whysz, "configuration is not a JSON object");
		rc = HL_ERR_PARSE;
		goto out;
	}
	if (!json_object_object_get_ex(cfg, "ipPermissions", &perms) || perms == NULL)
		goto out;  /* no ingress rules */
	if (!json_object_is_type(perms, json_type_array)) {
		snprintf(why, whysz, "ipPermissions is not a list");
		rc = HL_ERR_PARSE;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(perms); i++) {
		json_object *p = json_object_array_get_idx(perms, i), *v4 = NULL, *v6 = NULL;
		sg_rule r;
		memset(&r, 0, sizeof(r));
		const char *proto = hl_json_str(p, "ipProtocol");
		if (!proto || strlen(proto) >= sizeof(r.proto) || !hl_sg_valid_proto(proto) ||
		    !get_port(p, "fromPort", &r.from) || !get_port(p, "toPort", &r.to)) {
			snprintf(why, whysz, "ipPermissions[%zu] has an invalid protocol or port", i);
			rc = HL_ERR_PARSE;
			goto out;
		}
		hl_strlcpy(r.proto, proto, sizeof(r.proto));
		if (strcmp(r.proto, "-1") == 0)
			r.from = r.to = -1;
		if (!json_object_object_get_ex(p, "ipv4Ranges", &v4) || v4 == NULL)
			json_object_object_get_ex(p, "ipRanges", &v4);
		json_object_object_get_ex(p, "ipv6Ranges", &v6);
		bool v4_open = has_world(v4, "cidrIp", WORLD_V4), v6_open = has_world(v6, "cidrIpv6", WORLD_V6);
		r.v6 = false;
		if (v4_open)
			rc = add_rule(rs, &r);
		r.v6 = true;
		if (rc == HL_OK && v6_open)
			rc = add_rule(rs, &r);
		if (rc < 0) {
			snprintf(why, whysz, "more than %d world-open rules", MAX_RULES);
			goto out;
		}
	}
out:
	json_object_put(cfg);
	return rc;
}

/* ---- AWS calls ---- */

static int read_group(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *gid, sg_state *st)
{
	json_object *body = json_object_new_object(), *keys = json_object_new_array();
	json_object *key = json_object_new_object(), *resp = NULL, *items = NULL;
	hl_err err;
	int rc = HL_OK;

	memset(st, 0, sizeof(*st));
	json_object_object_add(key, "resourceType", json_object_new_string("AWS::EC2::SecurityGroup"));
	json_object_object_add(key, "resourceId", json_object_new_string(gid));
	json_object_array_add(keys, key);
	json_object_object_add(body, "resourceKeys", keys);
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_config, "BatchGetResourceConfig", body, &resp, NULL, &err);
	if (rc < 0) {
		rc = hl_remediation_aws_fail(ctx, PREFIX, "BatchGetResourceConfig", rc, &err);
		goto out;
	}
	json_object_object_get_ex(resp, "baseConfigurationItems", &items);
	size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
	json_object *item = NULL;
	for (size_t i = 0; i < n && !item; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *id = hl_json_str(it, "resourceId");
		if (id && strcmp(id, gid) == 0)
			item = it;
	}
	const char *status = item ? hl_json_str(item, "configurationItemStatus") : NULL;
	if (!item || (status && strcmp(status, "ResourceNotRecorded") == 0)) {
		rc = hl_activity_fail(ctx, PREFIX ".GroupNotRecorded",
				      "AWS Config has no configuration for %s: cannot record its rules before changing them",
				      gid);
		goto out;
	}
	if (status && strncmp(status, "ResourceDeleted", 15) == 0) {
		rc = hl_activity_fail(ctx, PREFIX ".GroupDeleted", "AWS Config records %s as deleted", gid);
		goto out;
	}
	json_object *ct = NULL;
	if (json_object_object_get_ex(item, "configurationItemCaptureTime", &ct) &&
	    (json_object_is_type(ct, json_type_double) || json_object_is_type(ct, json_type_int)))
		st->capture_time = json_object_get_double(ct);
	char why[128];
	if (parse_configuration(hl_json_str(item, "configuration"), &st->rules, why, sizeof(why)) < 0) {
		rc = hl_activity_fail(ctx, PREFIX ".BadConfiguration",
				      "AWS Config configuration of %s: %s", gid, why);
		goto out;
	}
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

static int start_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const sg_settings *set,
			    const char *gid, const char *token, char id_out[37])
{
	json_object *body = json_object_new_object(), *params = json_object_new_object();
	json_object *g = json_object_new_array(), *resp = NULL;
	hl_err err;
	int rc = HL_OK;

	json_object_object_add(body, "DocumentName", json_object_new_string(RUNBOOK));
	json_object_array_add(g, json_object_new_string(gid));
	json_object_object_add(params, "GroupId", g);
	if (set->role_arn) {
		json_object *role = json_object_new_array();
		json_object_array_add(role, json_object_new_string(set->role_arn));
		json_object_object_add(params, "AutomationAssumeRole", role);
	}
	json_object_object_add(body, "Parameters", params);
	json_object_object_add(body, "ClientToken", json_object_new_string(token));
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_ssm, "StartAutomationExecution", body, &resp, NULL, &err);
	if (rc < 0) {
		if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "IdempotentParameterMismatch") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".IdempotencyConflict",
					      "StartAutomationExecution: ClientToken %s was used with other parameters: %s",
					      token, err.message);
		else if (err.code == HL_ERR_AWS &&
			 strcmp(err.aws_code, "AutomationDefinitionNotFoundException") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".RunbookNotFound",
					      "StartAutomationExecution: %s: %s", RUNBOOK, err.message);
		else
			rc = hl_remediation_aws_fail(ctx, PREFIX, "StartAutomationExecution", rc, &err);
		goto out;
	}
	const char *id = hl_json_str(resp, "AutomationExecutionId");
	if (!hl_valid_ssm_id(id)) {
		rc = hl_activity_fail(ctx, PREFIX ".AwsError",
				      "StartAutomationExecution: the answer has no valid AutomationExecutionId");
		goto out;
	}
	hl_strlcpy(id_out, id, 37);
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

static bool status_in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* Waits for the automation to end. status gets its final status, failure
 * its FailureMessage (excerpt), *start_time its ExecutionStartTime. */
static int wait_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const sg_settings *set,
			   const char *id, char *status, size_t statussz, char *failure,
			   size_t failuresz, double *start_time)
{
	static const char *const terminal[] = {
		"Success", "CompletedWithSuccess", "Failed", "TimedOut", "Cancelled",
		"CompletedWithFailure", "Rejected", "Exited", "ChangeCalendarOverrideRejected",
	};
	const hl_clock *clock = hl_clock_system();
	int64_t started = hl_mono_ms(clock);
	int64_t deadline = started + (int64_t)set->wait_s * 1000;
	json_object *body = json_object_new_object(), *resp = NULL;
	int missing = 0, rc = HL_OK;
	hl_err err;

	hl_strlcpy(status, "Pending", statussz);
	failure[0] = '\0';
	json_object_object_add(body, "AutomationExecutionId", json_object_new_string(id));
	for (;;) {
		if (!hl_activity_sleep(ctx, set->poll_ms)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		json_object_put(resp);
		resp = NULL;
		hl_err_clear(&err);
		rc = hl_aws_call(conn, &hl_svc_ssm, "GetAutomationExecution", body, &resp, NULL, &err);
		if (rc < 0) {
			bool nf = err.code == HL_ERR_AWS &&
				  strcmp(err.aws_code, "AutomationExecutionNotFoundException") == 0;
			if (nf && ++missing <= MAX_MISSING_POLLS) {
				rc = HL_OK;
				continue;
			}
			rc = nf ? hl_activity_fail(ctx, PREFIX ".AutomationNotFound",
						   "GetAutomationExecution: %s not found after %d polls", id,
						   missing - 1)
				: hl_remediation_aws_fail(ctx, PREFIX, "GetAutomationExecution", rc, &err);
			goto out;
		}
		missing = 0;
		json_object *ae = NULL, *t = NULL;
		json_object_object_get_ex(resp, "AutomationExecution", &ae);
		hl_excerpt(hl_json_str(ae, "AutomationExecutionStatus"), 40, status, statussz);
		if (json_object_object_get_ex(ae, "ExecutionStartTime", &t) &&
		    (json_object_is_type(t, json_type_double) || json_object_is_type(t, json_type_int)))
			*start_time = json_object_get_double(t);
		if (status_in(status, terminal, sizeof(terminal) / sizeof(terminal[0]))) {
			hl_excerpt(hl_json_str(ae, "FailureMessage"), 512, failure, failuresz);
			goto out;
		}
		if (hl_mono_ms(clock) > deadline) {
			rc = hl_activity_fail(ctx, PREFIX ".AutomationTimedOut",
					      "automation %s of %s still %s after %d s (HEALER_AUTOMATION_WAIT_S)",
					      id, RUNBOOK, status, set->wait_s);
			goto out;
		}
	}
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

/* ---- output ---- */

static json_object *state_json(const char *gid, const sg_state *st)
{
	const sg_rule *rs[MAX_RULES];
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < st->rules.n; i++)
		rs[i] = &st->rules.r[i];
	json_object_object_add(o, "groupId", json_object_new_string(gid));
	if (st->capture_time > 0) {
		char at[21];
		hl_format_iso8601((int64_t)st->capture_time, at);
		json_object_object_add(o, "capturedAt", json_object_new_string(at));
	}
	json_object_object_add(o, "worldOpenRules", rules_json(rs, st->rules.n));
	return o;
}

typedef struct sg_plan {
	const sg_rule *removed[MAX_RULES];   /* gone (or would go) */
	const sg_rule *remaining[MAX_RULES]; /* still reaching port 22 */
	size_t n_removed, n_remaining;
} sg_plan;

/* Predicted (dry run, after == NULL) or observed change. */
static void make_plan(const sg_state *before, const sg_state *after, sg_plan *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < before->rules.n; i++) {
		const sg_rule *r = &before->rules.r[i];
		bool gone = after ? !rules_contain(&after->rules, r) : runbook_removes(r);
		if (gone)
			p->removed[p->n_removed++] = r;
		else if (!after && rule_covers(r, 22))
			p->remaining[p->n_remaining++] = r;
	}
	if (after)
		for (size_t i = 0; i < after->rules.n; i++)
			if (rule_covers(&after->rules.r[i], 22))
				p->remaining[p->n_remaining++] = &after->rules.r[i];
}

static bool any_covers22(const sg_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rule_covers(&rs->r[i], 22))
			return true;
	return false;
}

static json_object *base_output(bool dry_run, const char *gid, const char *token)
{
	json_object *out = hl_remediation_output("close_public_ssh", dry_run);
	json_object *d = hl_remediation_details(out);
	json_object_object_add(d, "groupId", json_object_new_string(gid));
	json_object_object_add(d, "runbook", json_object_new_string(RUNBOOK));
	if (token)
		json_object_object_add(d, "clientToken", json_object_new_string(token));
	return out;
}

static void add_plan(json_object *out, const char *gid, const char *region, const sg_plan *p)
{
	json_object *d = hl_remediation_details(out);
	json_object_object_add(d, "removed", rules_json(p->removed, p->n_removed));
	json_object_object_add(d, "remaining", rules_json(p->remaining, p->n_remaining));
	if (p->n_removed) {
		char *cmd = rollback_command(gid, region, p->removed, p->n_removed);
		json_object_object_add(out, "rollback", json_object_new_string(cmd));
		free(cmd);
	}
}

/* What every step of one run needs. */
typedef struct sg_job {
	hl_activity_ctx *ctx;
	hl_aws_conn *conn;
	const sg_settings *set;
	const char *execution, *gid, *region;
	char token[37];
	bool dry_run;
} sg_job;

static json_object *protected_output(const sg_job *j)
{
	json_object *out = base_output(j->dry_run, j->gid, NULL);
	char *r = hl_xasprintf("%s is a protected security group (HEALER_PROTECTED_SGS): not modified", j->gid);
	hl_remediation_set_bool(out, "escalate", true);
	hl_remediation_set_reason(out, r);
	free(r);
	return out;
}

static json_object *nothing_output(const sg_job *j, const sg_state *before)
{
	json_object *out = base_output(j->dry_run, j->gid, j->token);
	char *r = hl_xasprintf("no rule of %s is open to the world on port 22 (AWS Config): nothing to do", j->gid);
	hl_remediation_set_bool(out, "verified", true);
	json_object_object_add(out, "before", state_json(j->gid, before));
	hl_remediation_set_reason(out, r);
	free(r);
	return out;
}

static json_object *dry_run_output(const sg_job *j, const sg_state *before)
{
	sg_plan plan;
	hl_buf reason;
	json_object *out = base_output(true, j->gid, j->token);

	make_plan(before, NULL, &plan);
	json_object_object_add(out, "before", state_json(j->gid, before));
	add_plan(out, j->gid, j->region, &plan);
	hl_remediation_set_bool(out, "escalate", plan.n_remaining > 0);
	hl_buf_init(&reason, 32768);
	if (hl_buf_appendf(&reason, "dry run: would start SSM Automation %s on %s (ClientToken %s)", RUNBOOK,
			   j->gid, j->token) < 0 ||
	    (j->set->role_arn && hl_buf_appendf(&reason, " as %s", j->set->role_arn) < 0))
		abort();
	if (plan.n_removed && (hl_buf_appendf(&reason, " to remove: ") < 0 ||
			       append_rules_text(&reason, plan.removed, plan.n_removed) < 0))
		abort();
	if (plan.n_remaining && (hl_buf_appendf(&reason, "%s the runbook would leave open on port 22: ",
						plan.n_removed ? ";" : ", but") < 0 ||
				 append_rules_text(&reason, plan.remaining, plan.n_remaining) < 0 ||
				 hl_buf_appendf(&reason, " (would escalate)") < 0))
		abort();
	hl_remediation_set_reason(out, reason.data);
	hl_buf_free(&reason);
	return out;
}

/* Reads the group again until AWS Config has recorded it at or after the
 * automation's start, or HEALER_CONFIG_WAIT_S passed. A runbook that
 * could remove nothing changes nothing, so there is nothing newer to wait
 * for then. *known: the read reflects the group after the automation. */
static int reread_group(const sg_job *j, const sg_state *before, double auto_start, sg_state *after,
			bool *known)
{
	const hl_clock *clock = hl_clock_system();
	int64_t deadline = hl_mono_ms(clock) + (int64_t)j->set->config_wait_s * 1000;
	bool expect_change = false, fresh = false;

	for (size_t i = 0; i < before->rules.n; i++)
		if (runbook_removes(&before->rules.r[i]))
			expect_change = true;
	for (;;) {
		HL_GUARD(read_group(j->ctx, j->conn, j->gid, after));
		fresh = auto_start > 0 && after->capture_time >= auto_start;
		if (fresh || !expect_change || hl_mono_ms(clock) >= deadline)
			break;
		if (!hl_activity_sleep(j->ctx, j->set->poll_ms))
			return HL_ERR_CANCELLED;
	}
	*known = fresh || !expect_change;
	return HL_OK;
}

/* The reason of a finished run. */
static void applied_reason(hl_buf *b, const sg_job *j, const sg_plan *plan, const char *auto_id,
			   const char *status, const char *failure, bool known, bool ok_status)
{
	int rc = HL_OK;
	if (known && plan->n_remaining == 0 && ok_status) {
		if (hl_buf_appendf(b, "closed port 22 on %s: removed ", j->gid) < 0 ||
		    append_rules_text(b, plan->removed, plan->n_removed) < 0 ||
		    hl_buf_appendf(b, " (automation %s %s)", auto_id, status) < 0)
			abort();
		return;
	}
	if (!ok_status)
		rc = hl_buf_appendf(b, "automation %s of %s ended %s%s%s; ", auto_id, RUNBOOK, status,
				    failure[0] ? ": " : "", failure);
	if (rc == HL_OK && !known)
		rc = hl_buf_appendf(b, "AWS Config has not recorded %s since the automation started (waited %d s): cannot verify; ",
				    j->gid, j->set->config_wait_s);
	if (rc == HL_OK && plan->n_remaining) {
		rc = hl_buf_appendf(b, "%s %s still open to the world on port 22: ", j->gid,
				    known ? "is" : "was last recorded");
		if (rc == HL_OK)
			rc = append_rules_text(b, plan->remaining, plan->n_remaining);
		if (rc == HL_OK)
			rc = hl_buf_appendf(b, " (%s removes only tcp 22/3389 rules from 0.0.0.0/0 and ::/0)",
					    RUNBOOK);
	} else if (rc == HL_OK) {
		rc = hl_buf_appendf(b, "no rule of %s is open to the world on port 22 now", j->gid);
	}
	if (rc == HL_OK && plan->n_removed) {
		rc = hl_buf_appendf(b, "; removed: ");
		if (rc == HL_OK)
			rc = append_rules_text(b, plan->removed, plan->n_removed);
	}
	if (rc < 0)
		abort();   /* cannot happen: the buffer's bound is far above this */
}

/* The run's reason when a retry found the earlier attempt's work done. */
static void recovered_reason(hl_buf *b, const sg_job *j, const sg_plan *plan, const hl_sg_plan *earlier,
			     const char *auto_id, const char *status)
{
	if (hl_buf_appendf(b, "an earlier attempt of this execution removed ") < 0 ||
	    append_rules_text(b, plan->removed, plan->n_removed) < 0 ||
	    hl_buf_appendf(b, " from %s (automation %s %s); recovered from the plan recorded at %s",
			   j->gid, auto_id, status, earlier->planned_at) < 0)
		abort();
}

/* Follows the automation (started here, or by an earlier attempt of this
 * execution), reads the group again and reports. earlier: this
 * execution's plan as found before this run wrote its own (NULL if none);
 * current: the group as this run read it when nothing was open on port 22
 * any more (the retry that recovers from the plan), else NULL. */
static int follow_runbook(const sg_job *j, const sg_state *before, const hl_sg_plan *earlier,
			  const sg_state *current, json_object **output)
{
	sg_state after;
	sg_plan plan;
	char auto_id[37] = "", status[48] = "", failure[600] = "";
	double auto_start = 0;
	bool known = false, recovered = current != NULL;
	hl_buf reason;
	hl_err err;

	*output = NULL;
	if (recovered && earlier->automation_id[0]) {
		/* Known: follow it; a start could run the runbook anew once the
		 * token's idempotency window (undocumented) has passed. */
		hl_strlcpy(auto_id, earlier->automation_id, sizeof(auto_id));
	} else {
		HL_GUARD(start_automation(j->ctx, j->conn, j->set, j->gid, j->token, auto_id));
		HL_LOG(HL_LOG_INFO, "remediate-sg: automation started", HL_LS("execution", j->execution),
		       HL_LS("group", j->gid), HL_LS("automation", auto_id));
		hl_err_clear(&err);
		if ((!earlier || strcmp(earlier->automation_id, auto_id) != 0) &&
		    hl_sg_plan_set_automation(j->conn, j->set->table, j->execution, auto_id, &err) < 0)
			/* The plan (the rollback) is on record; the id only spares a
			 * retry the start call. */
			HL_LOG(HL_LOG_WARN, "remediate-sg: could not record the automation in the plan",
			       HL_LS("execution", j->execution), HL_LS("automation", auto_id),
			       HL_LS("error", err.message));
	}
	HL_GUARD(wait_automation(j->ctx, j->conn, j->set, auto_id, status, sizeof(status), failure,
				 sizeof(failure), &auto_start));
	if (current && auto_start > 0 && current->capture_time >= auto_start) {
		after = *current;
		known = true;
	} else {
		HL_GUARD(reread_group(j, before, auto_start, &after, &known));
	}

	bool ok_status = strcmp(status, "Success") == 0 || strcmp(status, "CompletedWithSuccess") == 0;
	make_plan(before, &after, &plan);
	bool closed = known && plan.n_remaining == 0;
	json_object *out = base_output(false, j->gid, j->token);
	json_object *d = hl_remediation_details(out);
	hl_remediation_set_bool(out, "applied", true);
	hl_remediation_set_bool(out, "verified", closed && ok_status);
	hl_remediation_set_bool(out, "escalate", !(closed && ok_status));
	json_object_object_add(out, "before", state_json(j->gid, before));
	json_object_object_add(out, "after", state_json(j->gid, &after));
	add_plan(out, j->gid, j->region, &plan);
	json_object_object_add(d, "automationExecutionId", json_object_new_string(auto_id));
	json_object_object_add(d, "automationStatus", json_object_new_string(status));
	if (failure[0])
		json_object_object_add(d, "failureMessage", json_object_new_string(failure));
	json_object_object_add(d, "configFresh", json_object_new_boolean(known));
	if (closed && plan.n_removed)
		json_object_object_add(d, "ownerMessage", json_object_new_string(OWNER_MESSAGE));
	if (earlier)
		json_object_object_add(d, "planRecordedAt", json_object_new_string(earlier->planned_at));
	json_object_object_add(d, "recoveredFromPlan", json_object_new_boolean(recovered));
	hl_buf_init(&reason, 32768);
	if (recovered && closed && ok_status && plan.n_removed) {
		recovered_reason(&reason, j, &plan, earlier, auto_id, status);
	} else {
		applied_reason(&reason, j, &plan, auto_id, status, failure, known, ok_status);
		if (earlier && hl_buf_appendf(&reason, " (retry: an earlier attempt of this execution recorded its plan at %s)",
					      earlier->planned_at) < 0)
			abort();
	}
	hl_remediation_set_reason(out, reason.data);
	hl_buf_free(&reason);
	HL_LOG(HL_LOG_INFO, "remediate-sg: automation finished", HL_LS("execution", j->execution),
	       HL_LS("group", j->gid), HL_LS("automation", auto_id), HL_LS("status", status),
	       HL_LI("removed", plan.n_removed), HL_LI("remaining", plan.n_remaining),
	       HL_LB("config_fresh", known), HL_LB("recovered", recovered));
	*output = out;
	return HL_OK;
}

/* A plan read or write that failed: nothing was changed, and Step
 * Functions retries (Healer.Throttled, or this error in the state's
 * Retry): never act without the rollback on record. */
static int plan_fail(const sg_job *j, const char *what, int rc, const hl_err *err)
{
	if (rc == HL_ERR_CANCELLED || hl_activity_cancelled(j->ctx))
		return HL_ERR_CANCELLED;
	if (err->code == HL_ERR_AWS && hl_retry_is_throttle_code(err->aws_code))
		return hl_remediation_aws_fail(j->ctx, PREFIX, what, rc, err);
	return hl_activity_fail(j->ctx, PREFIX ".PlanUnavailable",
				"%s (DynamoDB table %s): %s: %s; %s not changed", what, j->set->table,
				hl_status_name(rc), err->message, j->gid);
}

/* The plan this run records: the rules of `before` the runbook removes. */
static void plan_of(const sg_job *j, const sg_state *before, hl_sg_plan *rec)
{
	memset(rec, 0, sizeof(*rec));
	hl_strlcpy(rec->group, j->gid, sizeof(rec->group));
	rec->captured_at = before->capture_time;
	for (size_t i = 0; i < before->rules.n; i++)
		if (runbook_removes(&before->rules.r[i]))
			rec->rules[rec->n++] = before->rules.r[i];
}

/* The state a recorded plan describes: its rules at its Config time. */
static void plan_state(const hl_sg_plan *p, sg_state *st)
{
	memset(st, 0, sizeof(*st));
	st->capture_time = p->captured_at;
	for (size_t i = 0; i < p->n; i++)
		(void)add_rule(&st->rules, &p->rules[i]);   /* <= MAX_RULES: cannot fail */
}

/* Not a dry run: look up this execution's plan, then either recover from
 * it (nothing open on port 22 any more, but an earlier attempt planned a
 * change), answer nothing to do, or record the plan and run the runbook. */
static int remediate(const sg_job *j, sg_state *before, json_object **output)
{
	hl_sg_plan earlier, rec;
	bool found = false;
	hl_err err;
	int rc;

	*output = NULL;
	hl_err_clear(&err);
	rc = hl_sg_plan_read(j->conn, j->set->table, j->execution, j->gid, &earlier, &found, &err);
	if (rc < 0)
		return plan_fail(j, "reading the rollback plan (GetItem)", rc, &err);
	if (!any_covers22(&before->rules)) {
		if (!found || earlier.n == 0) {
			*output = nothing_output(j, before);
			return HL_OK;
		}
		sg_state planned;
		plan_state(&earlier, &planned);
		HL_LOG(HL_LOG_INFO, "remediate-sg: retry found the plan of an earlier attempt",
		       HL_LS("execution", j->execution), HL_LS("group", j->gid),
		       HL_LS("planned_at", earlier.planned_at), HL_LI("rules", earlier.n));
		return follow_runbook(j, &planned, &earlier, before, output);
	}
	/* A retry that still sees rules open (Config lags, or the group was
	 * opened again) keeps what the earlier attempt planned: those rules
	 * may be gone already, and their rollback must not be lost. */
	for (size_t i = 0; found && i < earlier.n; i++)
		if (add_rule(&before->rules, &earlier.rules[i]) < 0)
			return hl_activity_fail(j->ctx, PREFIX ".BadConfiguration",
						"%s: more than %d world-open rules with the earlier plan's", j->gid,
						MAX_RULES);
	plan_of(j, before, &rec);
	const sg_rule *rs[MAX_RULES];
	for (size_t i = 0; i < rec.n; i++)
		rs[i] = &rec.rules[i];
	char *rollback = rollback_command(j->gid, j->region, rs, rec.n);
	hl_err_clear(&err);
	rc = hl_sg_plan_write(j->conn, j->set->table, &rec, j->execution, rec.n ? rollback : NULL,
			      hl_wall_ms(hl_clock_system()), &err);
	free(rollback);
	if (rc < 0)
		return plan_fail(j, "recording the rollback plan (UpdateItem)", rc, &err);
	return follow_runbook(j, before, found ? &earlier : NULL, NULL, output);
}

static int sg_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_remediation_input in;
	sg_settings set;
	sg_job j;
	sg_state before;
	hl_err err;
	json_object *resource = NULL, *result = NULL;
	int rc = HL_OK;

	*output = NULL;
	memset(&set, 0, sizeof(set));
	memset(&j, 0, sizeof(j));
	j.ctx = ctx;
	j.set = &set;
	HL_GUARD_GOTO(rc, hl_remediation_input_parse(ctx, input, "public_ssh", &in), out);
	j.execution = in.execution;
	j.dry_run = in.dry_run;
	HL_GUARD_GOTO(rc, hl_diag_string(ctx, in.details, "diagnosis.details", "groupId", true, 20,
					 hl_valid_security_group_id, &j.gid), out);
	if (json_object_object_get_ex(in.diagnosis, "resource", &resource) && resource != NULL) {
		if (!json_object_is_type(resource, json_type_object)) {
			rc = hl_activity_fail(ctx, "Healer.InvalidInput", "diagnosis.resource must be an object or null");
			goto out;
		}
		HL_GUARD_GOTO(rc, hl_diag_string(ctx, resource, "diagnosis.resource", "region", false, 25,
						 hl_valid_region, &j.region), out);
	}
	hl_err_clear(&err);
	if (load_settings(&set, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.InvalidConfig", "%s", err.message);
		goto out;
	}
	hl_execution_uuid(in.execution, "remediate-sg", j.token);
	j.conn = hl_activity_aws(ctx);

	if (hl_strlist_contains(&set.protected_sgs, j.gid)) {
		HL_LOG(HL_LOG_WARN, "remediate-sg: protected group refused", HL_LS("execution", in.execution),
		       HL_LS("group", j.gid));
		result = protected_output(&j);
	} else if (!j.conn) {
		rc = hl_activity_fail(ctx, "Healer.NotConfigured", "remediate-sg needs AWS (set AWS_REGION)");
		goto out;
	} else {
		HL_GUARD_GOTO(rc, read_group(ctx, j.conn, j.gid, &before), out);
		if (in.dry_run && !any_covers22(&before.rules))
			result = nothing_output(&j, &before);
		else if (in.dry_run)
			result = dry_run_output(&j, &before);
		else
			HL_GUARD_GOTO(rc, remediate(&j, &before, &result), out);
	}
	*output = result;
	result = NULL;
out:
	json_object_put(result);
	free_settings(&set);
	return rc;
}

const hl_activity hl_activity_remediate_sg = {
	.name = "remediate-sg",
	.summary = "closes SSH open to the world with AWS-DisablePublicAccessForSecurityGroup; escalates what it leaves open",
	.run = sg_run,
	.init = sg_init,
};
