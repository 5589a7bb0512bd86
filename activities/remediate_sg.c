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
 *
 * This file is the activity's flow: its settings, the steps above and its
 * output. The rule model (reading ipPermissions, which rules reach port
 * 22/3389, what the runbook removes, rule text, the rollback command) is
 * sg_rules.c; the Config and SSM Automation calls are sg_aws.c; the
 * recorded plan is sg_plan.c.
 */
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
#include "healer/sg_aws.h"
#include "healer/sg_plan.h"
#include "healer/sg_rules.h"

#define PREFIX HL_SG_ERROR_PREFIX
#define RUNBOOK HL_SG_RUNBOOK
#define OWNER_MESSAGE "I closed port 22 for you. Please use the VPN."
#define MAX_RULES HL_SG_MAX_RULES

typedef struct sg_settings {
	hl_strlist protected_sgs;
	const char *role_arn;     /* NULL when unset */
	const char *table;        /* HEALER_BREAKER_TABLE: where the plan is kept */
	int poll_ms;
	int wait_s;
	int config_wait_s;
} sg_settings;

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

/* ---- output ---- */

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

static void add_change(json_object *out, const char *gid, const char *region, const hl_sg_change *c)
{
	json_object *d = hl_remediation_details(out);
	json_object_object_add(d, "removed", hl_sg_rules_json(c->removed, c->n_removed));
	json_object_object_add(d, "remaining", hl_sg_rules_json(c->remaining, c->n_remaining));
	if (c->n_removed) {
		char *cmd = hl_sg_rollback_command(gid, region, c->removed, c->n_removed);
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

static json_object *nothing_output(const sg_job *j, const hl_sg_state *before)
{
	json_object *out = base_output(j->dry_run, j->gid, j->token);
	char *r = hl_xasprintf("no rule of %s is open to the world on port 22 (AWS Config): nothing to do", j->gid);
	hl_remediation_set_bool(out, "verified", true);
	json_object_object_add(out, "before", hl_sg_state_json(j->gid, before));
	hl_remediation_set_reason(out, r);
	free(r);
	return out;
}

static json_object *dry_run_output(const sg_job *j, const hl_sg_state *before)
{
	hl_sg_change change;
	hl_buf reason;
	json_object *out = base_output(true, j->gid, j->token);

	hl_sg_change_of(before, NULL, &change);
	json_object_object_add(out, "before", hl_sg_state_json(j->gid, before));
	add_change(out, j->gid, j->region, &change);
	hl_remediation_set_bool(out, "escalate", change.n_remaining > 0);
	hl_buf_init(&reason, 32768);
	if (hl_buf_appendf(&reason, "dry run: would start SSM Automation %s on %s (ClientToken %s)", RUNBOOK,
			   j->gid, j->token) < 0 ||
	    (j->set->role_arn && hl_buf_appendf(&reason, " as %s", j->set->role_arn) < 0))
		abort();
	if (change.n_removed && (hl_buf_appendf(&reason, " to remove: ") < 0 ||
			       hl_sg_rules_append_text(&reason, change.removed, change.n_removed) < 0))
		abort();
	if (change.n_remaining && (hl_buf_appendf(&reason, "%s the runbook would leave open on port 22: ",
						change.n_removed ? ";" : ", but") < 0 ||
				 hl_sg_rules_append_text(&reason, change.remaining, change.n_remaining) < 0 ||
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
static int reread_group(const sg_job *j, const hl_sg_state *before, double auto_start, hl_sg_state *after,
			bool *known)
{
	const hl_clock *clock = hl_clock_system();
	int64_t deadline = hl_mono_ms(clock) + (int64_t)j->set->config_wait_s * 1000;
	bool expect_change = false, fresh = false;

	for (size_t i = 0; i < before->rules.n; i++)
		if (hl_sg_runbook_removes(&before->rules.r[i]))
			expect_change = true;
	for (;;) {
		HL_GUARD(hl_sg_read_group(j->ctx, j->conn, j->gid, after));
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
static void applied_reason(hl_buf *b, const sg_job *j, const hl_sg_change *change, const char *auto_id,
			   const char *status, const char *failure, bool known, bool ok_status)
{
	int rc = HL_OK;
	if (known && change->n_remaining == 0 && ok_status) {
		if (hl_buf_appendf(b, "closed port 22 on %s: removed ", j->gid) < 0 ||
		    hl_sg_rules_append_text(b, change->removed, change->n_removed) < 0 ||
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
	if (rc == HL_OK && change->n_remaining) {
		rc = hl_buf_appendf(b, "%s %s still open to the world on port 22: ", j->gid,
				    known ? "is" : "was last recorded");
		if (rc == HL_OK)
			rc = hl_sg_rules_append_text(b, change->remaining, change->n_remaining);
		if (rc == HL_OK)
			rc = hl_buf_appendf(b, " (%s removes only tcp 22/3389 rules from 0.0.0.0/0 and ::/0)",
					    RUNBOOK);
	} else if (rc == HL_OK) {
		rc = hl_buf_appendf(b, "no rule of %s is open to the world on port 22 now", j->gid);
	}
	if (rc == HL_OK && change->n_removed) {
		rc = hl_buf_appendf(b, "; removed: ");
		if (rc == HL_OK)
			rc = hl_sg_rules_append_text(b, change->removed, change->n_removed);
	}
	if (rc < 0)
		abort();   /* cannot happen: the buffer's bound is far above this */
}

/* The run's reason when a retry found the earlier attempt's work done. */
static void recovered_reason(hl_buf *b, const sg_job *j, const hl_sg_change *change, const hl_sg_plan *earlier,
			     const char *auto_id, const char *status)
{
	if (hl_buf_appendf(b, "an earlier attempt of this execution removed ") < 0 ||
	    hl_sg_rules_append_text(b, change->removed, change->n_removed) < 0 ||
	    hl_buf_appendf(b, " from %s (automation %s %s); recovered from the plan recorded at %s",
			   j->gid, auto_id, status, earlier->planned_at) < 0)
		abort();
}

/* Follows the automation (started here, or by an earlier attempt of this
 * execution), reads the group again and reports. earlier: this
 * execution's plan as found before this run wrote its own (NULL if none);
 * current: the group as this run read it when nothing was open on port 22
 * any more (the retry that recovers from the plan), else NULL. */
static int follow_runbook(const sg_job *j, const hl_sg_state *before, const hl_sg_plan *earlier,
			  const hl_sg_state *current, json_object **output)
{
	hl_sg_state after;
	hl_sg_change change;
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
		HL_GUARD(hl_sg_start_automation(j->ctx, j->conn, j->set->role_arn, j->gid, j->token, auto_id));
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
	HL_GUARD(hl_sg_wait_automation(j->ctx, j->conn, auto_id, j->set->poll_ms, j->set->wait_s, status,
				       sizeof(status), failure, sizeof(failure), &auto_start));
	if (current && auto_start > 0 && current->capture_time >= auto_start) {
		after = *current;
		known = true;
	} else {
		HL_GUARD(reread_group(j, before, auto_start, &after, &known));
	}

	bool ok_status = strcmp(status, "Success") == 0 || strcmp(status, "CompletedWithSuccess") == 0;
	hl_sg_change_of(before, &after, &change);
	bool closed = known && change.n_remaining == 0;
	json_object *out = base_output(false, j->gid, j->token);
	json_object *d = hl_remediation_details(out);
	hl_remediation_set_bool(out, "applied", true);
	hl_remediation_set_bool(out, "verified", closed && ok_status);
	hl_remediation_set_bool(out, "escalate", !(closed && ok_status));
	json_object_object_add(out, "before", hl_sg_state_json(j->gid, before));
	json_object_object_add(out, "after", hl_sg_state_json(j->gid, &after));
	add_change(out, j->gid, j->region, &change);
	json_object_object_add(d, "automationExecutionId", json_object_new_string(auto_id));
	json_object_object_add(d, "automationStatus", json_object_new_string(status));
	if (failure[0])
		json_object_object_add(d, "failureMessage", json_object_new_string(failure));
	json_object_object_add(d, "configFresh", json_object_new_boolean(known));
	if (closed && change.n_removed)
		json_object_object_add(d, "ownerMessage", json_object_new_string(OWNER_MESSAGE));
	if (earlier)
		json_object_object_add(d, "planRecordedAt", json_object_new_string(earlier->planned_at));
	json_object_object_add(d, "recoveredFromPlan", json_object_new_boolean(recovered));
	hl_buf_init(&reason, 32768);
	if (recovered && closed && ok_status && change.n_removed) {
		recovered_reason(&reason, j, &change, earlier, auto_id, status);
	} else {
		applied_reason(&reason, j, &change, auto_id, status, failure, known, ok_status);
		if (earlier && hl_buf_appendf(&reason, " (retry: an earlier attempt of this execution recorded its plan at %s)",
					      earlier->planned_at) < 0)
			abort();
	}
	hl_remediation_set_reason(out, reason.data);
	hl_buf_free(&reason);
	HL_LOG(HL_LOG_INFO, "remediate-sg: automation finished", HL_LS("execution", j->execution),
	       HL_LS("group", j->gid), HL_LS("automation", auto_id), HL_LS("status", status),
	       HL_LI("removed", change.n_removed), HL_LI("remaining", change.n_remaining),
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
static void plan_of(const sg_job *j, const hl_sg_state *before, hl_sg_plan *rec)
{
	memset(rec, 0, sizeof(*rec));
	hl_strlcpy(rec->group, j->gid, sizeof(rec->group));
	rec->captured_at = before->capture_time;
	for (size_t i = 0; i < before->rules.n; i++)
		if (hl_sg_runbook_removes(&before->rules.r[i]))
			rec->rules[rec->n++] = before->rules.r[i];
}

/* The state a recorded plan describes: its rules at its Config time. */
static void plan_state(const hl_sg_plan *p, hl_sg_state *st)
{
	memset(st, 0, sizeof(*st));
	st->capture_time = p->captured_at;
	for (size_t i = 0; i < p->n; i++)
		if (hl_sg_rules_add(&st->rules, &p->rules[i]) < 0)
			break;   /* cannot happen: a plan holds at most MAX_RULES */
}

/* Records the plan for `state` (the rules the runbook removes from it and
 * their rollback) before anything is changed: no plan on record, no action. */
static int record_plan(const sg_job *j, const hl_sg_state *state)
{
	hl_sg_plan rec;
	hl_err err;
	plan_of(j, state, &rec);
	const hl_sg_rule *rs[MAX_RULES];
	for (size_t i = 0; i < rec.n; i++)
		rs[i] = &rec.rules[i];
	char *rollback = hl_sg_rollback_command(j->gid, j->region, rs, rec.n);
	hl_err_clear(&err);
	int rc = hl_sg_plan_write(j->conn, j->set->table, &rec, j->execution, rec.n ? rollback : NULL,
				  hl_wall_ms(hl_clock_system()), &err);
	free(rollback);
	if (rc < 0)
		return plan_fail(j, "recording the rollback plan (UpdateItem)", rc, &err);
	return HL_OK;
}

/* Not a dry run: look up this execution's plan, then either recover from
 * it (nothing open on port 22 any more, but an earlier attempt planned a
 * change), answer nothing to do, or record the plan and run the runbook. */
static int remediate(const sg_job *j, hl_sg_state *before, json_object **output)
{
	hl_sg_plan earlier;
	bool found = false;
	hl_err err;
	int rc;

	*output = NULL;
	hl_err_clear(&err);
	rc = hl_sg_plan_read(j->conn, j->set->table, j->execution, j->gid, &earlier, &found, &err);
	if (rc < 0)
		return plan_fail(j, "reading the rollback plan (GetItem)", rc, &err);
	if (!hl_sg_rules_cover(&before->rules, 22)) {
		if (!found || earlier.n == 0) {
			*output = nothing_output(j, before);
			return HL_OK;
		}
		hl_sg_state planned;
		plan_state(&earlier, &planned);
		HL_LOG(HL_LOG_INFO, "remediate-sg: retry found the plan of an earlier attempt",
		       HL_LS("execution", j->execution), HL_LS("group", j->gid),
		       HL_LS("planned_at", earlier.planned_at), HL_LI("rules", earlier.n));
		if (!earlier.automation_id[0]) {
			/* The runbook will be started now and removes what is open
			 * now (a 3389 rule the earlier read did not see, say): that
			 * must be on record with the earlier plan's rules first. */
			for (size_t i = 0; i < before->rules.n; i++)
				if (hl_sg_rules_add(&planned.rules, &before->rules.r[i]) < 0)
					return hl_activity_fail(j->ctx, PREFIX ".BadConfiguration",
								"%s: more than %d world-open rules with the earlier plan's",
								j->gid, MAX_RULES);
			HL_GUARD(record_plan(j, &planned));
		}
		return follow_runbook(j, &planned, &earlier, before, output);
	}
	/* A retry that still sees rules open (Config lags, or the group was
	 * opened again) keeps what the earlier attempt planned: those rules
	 * may be gone already, and their rollback must not be lost. */
	for (size_t i = 0; found && i < earlier.n; i++)
		if (hl_sg_rules_add(&before->rules, &earlier.rules[i]) < 0)
			return hl_activity_fail(j->ctx, PREFIX ".BadConfiguration",
						"%s: more than %d world-open rules with the earlier plan's", j->gid,
						MAX_RULES);
	HL_GUARD(record_plan(j, before));
	return follow_runbook(j, before, found ? &earlier : NULL, NULL, output);
}

static int sg_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_remediation_input in;
	sg_settings set;
	sg_job j;
	hl_sg_state before;
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
		HL_GUARD_GOTO(rc, hl_sg_read_group(ctx, j.conn, j.gid, &before), out);
		if (in.dry_run && !hl_sg_rules_cover(&before.rules, 22))
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
