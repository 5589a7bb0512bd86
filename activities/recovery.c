/* recovery.c - the `recover` activity: a problem went away (the disk alarm
 * is back to OK, the restricted-ssh rule finds the group COMPLIANT again),
 * so the open healer tickets of that resource get a comment and are closed.
 *
 * Input {"execution", "dryRun", "event"}; the guard has recognised the
 * event as a recovery (recovery.h) and routed it here (GuardChoice ->
 * Recover), past the kill switch, the breaker and the blast-radius limit:
 * closing a ticket changes nothing in AWS.
 *
 *  1. The executions that escalated this resource for this class: the
 *     audit table's GSI resource-index (resource = id), newest first
 *     (`at` starts with the execution's or the event's time), items of
 *     kind "action", mode "escalated", this class, recorded within
 *     HEALER_RECOVERY_LOOKBACK_DAYS; at most 20 executions, at most 5
 *     pages of 100 items read. (Resolved executions closed their own
 *     tickets.)
 *  2. Each one's ticket: the ticket activity's memo item (execution, at =
 *     "ticket"), else a Jira search by the execution's label. An issue in
 *     a "done" status is left alone; an open one gets one comment (marker
 *     "[<this execution's label>/recovered]", so a retry adds none) and
 *     the transition to the first "done" status.
 *  3. One audit item for this execution (kind "recovery", at = the event's
 *     time + "#recovered", conditional put: a retry writes nothing new),
 *     written whatever Jira did, with each ticket's outcome.
 * A Jira failure on any ticket fails the task after the audit item is
 * written (Healer.Recover.<Reason>, as for ticket), so the execution
 * escalates and a person learns that a ticket is still open. Without Jira
 * settings the tickets are skipped ("not configured") and only the audit
 * item is written.
 *
 * Dry run: the same. Tickets are records, not remediations (docs: "records
 * are records"); the comment says it was a dry run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/clock.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/jira.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/recovery.h"
#include "healer/settings.h"

#define PREFIX "Healer.Recover"
#define MAX_EXECUTIONS 20
#define QUERY_PAGES 5

/* ---- recognising a recovery ------------------------------------------------------ */

static json_object *path_get(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;
	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return x;
	return json_object_is_type(x, json_type_object) && json_object_object_get_ex(x, b, &y) ? y : NULL;
}

static bool str_is(json_object *v, const char *s)
{
	return v && json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), s) == 0;
}

bool hl_event_recovery(json_object *event, hl_event_info *info, char *what, size_t whatsz)
{
	memset(info, 0, sizeof(*info));
	if (what && whatsz)
		what[0] = '\0';
	if (!event || !json_object_is_type(event, json_type_object))
		return false;
	json_object *detail = path_get(event, "detail", NULL);
	if (!detail || !json_object_is_type(detail, json_type_object))
		return false;
	json_object *copy = NULL;
	hl_event_class want = HL_EVENT_UNKNOWN;
	char name[160] = "";

	if (str_is(path_get(event, "source", NULL), "aws.cloudwatch") &&
	    str_is(path_get(event, "detail-type", NULL), "CloudWatch Alarm State Change") &&
	    str_is(path_get(detail, "state", "value"), "OK")) {
		if (json_object_deep_copy(event, &copy, NULL) != 0)
			return false;
		json_object *d = path_get(copy, "detail", NULL), *st = path_get(d, "state", NULL);
		json_object_object_add(st, "value", json_object_new_string("ALARM"));
		json_object_object_del(d, "muteDetail");
		json_object *an = path_get(detail, "alarmName", NULL);
		hl_excerpt(an && json_object_is_type(an, json_type_string) ? json_object_get_string(an) : "?",
			   120, name, sizeof(name));
		want = HL_EVENT_DISK_PRESSURE;
	} else if (str_is(path_get(event, "source", NULL), "aws.config") &&
		   str_is(path_get(event, "detail-type", NULL), "Config Rules Compliance Change") &&
		   str_is(path_get(detail, "newEvaluationResult", "complianceType"), "COMPLIANT")) {
		if (json_object_deep_copy(event, &copy, NULL) != 0)
			return false;
		json_object *ner = path_get(path_get(copy, "detail", NULL), "newEvaluationResult", NULL);
		json_object_object_add(ner, "complianceType", json_object_new_string("NON_COMPLIANT"));
		want = HL_EVENT_PUBLIC_SSH;
	} else {
		return false;
	}
	hl_event_classify(copy, info);
	json_object_put(copy);
	if (info->cls != want || info->resource.type == HL_RESOURCE_NONE) {
		memset(info, 0, sizeof(*info));
		return false;
	}
	if (what && whatsz) {
		if (want == HL_EVENT_DISK_PRESSURE)
			snprintf(what, whatsz, "alarm %s on %s (path %s) is back to OK", name, info->resource.id,
				 info->path[0] ? info->path : "?");
		else
			snprintf(what, whatsz, "Config rule %s finds %s COMPLIANT again", info->rule_name,
				 info->resource.id);
	}
	return true;
}

/* ---- settings ------------------------------------------------------------------- */

typedef struct recover_settings {
	const char *table;
	int lookback_days;
	const char *url, *email, *token, *project;
	bool jira;
} recover_settings;

static bool one_line(const char *s)
{
	return !strpbrk(s, "\r\n");
}

static bool valid_email_setting(const char *s)
{
	return !strchr(s, ':') && one_line(s) && strchr(s, '@') != NULL;
}

static int read_settings(recover_settings *s, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	HL_GUARD(hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				      "must be a DynamoDB table name (3..255 of A-Za-z0-9_.-)", &s->table, err));
	HL_GUARD(hl_setting_int("HEALER_RECOVERY_LOOKBACK_DAYS", 14, 1, 90, &s->lookback_days, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_URL", NULL, 512, hl_valid_api_base_url,
				      "must be an https URL (http only to 127.0.0.1 or localhost)", &s->url, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_EMAIL", NULL, 254, valid_email_setting,
				      "must be an e-mail address", &s->email, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_API_TOKEN", NULL, 1024, one_line, "must be one line",
				      &s->token, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_PROJECT", NULL, 10, hl_jira_valid_project_key,
				      "must be a Jira project key (e.g. OPS)", &s->project, err));
	s->jira = s->url && s->email && s->token && s->project;
	return HL_OK;
}

static int recover_init(hl_err *err)
{
	recover_settings s;
	const char *ca_bundle;
	HL_GUARD(read_settings(&s, err));
	return hl_webapi_ca_bundle(true, &ca_bundle, err);
}

static bool ctx_sleep(void *arg, long ms)
{
	return hl_activity_sleep(arg, ms);
}

/* ---- the escalated executions of this resource ----------------------------------------- */

static int escalated_executions(hl_activity_ctx *ctx, hl_aws_conn *c, const recover_settings *s,
				const hl_event_info *info, json_object *execs)
{
	char since[25];
	json_object *in = NULL, *out = NULL, *start_key = NULL;
	hl_err err;
	int rc = HL_OK;
	const char *klass = hl_event_class_name(info->cls);

	hl_format_iso8601_ms(hl_wall_ms(hl_clock_system()) - (int64_t)s->lookback_days * 86400000, since);
	for (int page = 0; page < QUERY_PAGES && json_object_array_length(execs) < MAX_EXECUTIONS; page++) {
		in = json_object_new_object();
		json_object_object_add(in, "TableName", json_object_new_string(s->table));
		json_object_object_add(in, "IndexName", json_object_new_string("resource-index"));
		json_object_object_add(in, "KeyConditionExpression", json_object_new_string("#r = :r"));
		json_object_object_add(in, "FilterExpression",
				       json_object_new_string("#k = :action AND #m = :escalated AND #cls = :cls AND "
							      "#ra >= :since"));
		json_object *names = json_object_new_object();
		json_object_object_add(names, "#r", json_object_new_string("resource"));
		json_object_object_add(names, "#ra", json_object_new_string("recordedAt"));
		json_object_object_add(names, "#k", json_object_new_string("kind"));
		json_object_object_add(names, "#m", json_object_new_string("mode"));
		json_object_object_add(names, "#cls", json_object_new_string("class"));
		json_object_object_add(in, "ExpressionAttributeNames", names);
		json_object *values = json_object_new_object();
		json_object_object_add(values, ":r", hl_ddb_s(info->resource.id));
		json_object_object_add(values, ":since", hl_ddb_s(since));
		json_object_object_add(values, ":action", hl_ddb_s("action"));
		json_object_object_add(values, ":escalated", hl_ddb_s("escalated"));
		json_object_object_add(values, ":cls", hl_ddb_s(klass));
		json_object_object_add(in, "ExpressionAttributeValues", values);
		json_object_object_add(in, "ScanIndexForward", json_object_new_boolean(0));
		json_object_object_add(in, "Limit", json_object_new_int(100));
		if (start_key)
			json_object_object_add(in, "ExclusiveStartKey", json_object_get(start_key));
		hl_err_clear(&err);
		rc = hl_aws_call(c, &hl_svc_dynamodb, "Query", in, &out, NULL, &err);
		if (rc < 0) {
			rc = hl_remediation_aws_fail(ctx, PREFIX, "Query", rc, &err);
			goto done;
		}
		json_object *items = NULL;
		json_object_object_get_ex(out, "Items", &items);
		for (size_t i = 0; json_object_is_type(items, json_type_array) && i < json_object_array_length(items) &&
				   json_object_array_length(execs) < MAX_EXECUTIONS; i++) {
			const char *e = hl_ddb_get_s(json_object_array_get_idx(items, i), "execution");
			if (!e || !hl_valid_execution_arn(e))
				continue;
			bool seen = false;
			for (size_t k = 0; k < json_object_array_length(execs); k++)
				seen = seen || strcmp(json_object_get_string(json_object_array_get_idx(execs, k)), e) == 0;
			if (!seen)
				json_object_array_add(execs, json_object_new_string(e));
		}
		json_object *lek = NULL;
		json_object_put(start_key);
		start_key = json_object_object_get_ex(out, "LastEvaluatedKey", &lek) ? json_object_get(lek) : NULL;
		json_object_put(in);
		json_object_put(out);
		in = out = NULL;
		if (!start_key)
			break;
	}
done:
	json_object_put(start_key);
	json_object_put(in);
	json_object_put(out);
	return rc;
}

/* ---- tickets ----------------------------------------------------------------------- */

/* The issue key the ticket activity remembered for `execution`, or "". */
static void memo_key(hl_aws_conn *c, const char *table, const char *execution, char *out, size_t outsz)
{
	json_object *in = json_object_new_object(), *resp = NULL, *item = NULL;
	json_object *key = json_object_new_object();
	hl_err err;
	out[0] = '\0';
	hl_err_clear(&err);
	json_object_object_add(key, "execution", hl_ddb_s(execution));
	json_object_object_add(key, "at", hl_ddb_s("ticket"));
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Key", key);
	json_object_object_add(in, "ConsistentRead", json_object_new_boolean(1));
	if (hl_aws_call(c, &hl_svc_dynamodb, "GetItem", in, &resp, NULL, &err) < 0) {
		HL_LOG(HL_LOG_WARN, "recover: cannot read the ticket memo; searching Jira instead",
		       HL_LS("ticket_execution", execution), HL_LS("error", err.aws_code));
	} else if (json_object_object_get_ex(resp, "Item", &item)) {
		const char *k = hl_ddb_get_s(item, "ticketKey");
		if (k && hl_jira_valid_issue_key(k))
			hl_strlcpy(out, k, outsz);
	}
	json_object_put(in);
	json_object_put(resp);
}

static const char *jira_error_name(const hl_err *err, int rc, char *buf, size_t bufsz)
{
	if (err->code == HL_ERR_AWS && strcmp(err->aws_code, "Throttled") == 0)
		return "Healer.Throttled";
	if (err->code == HL_ERR_AWS) {
		snprintf(buf, bufsz, PREFIX ".%s", err->aws_code);
		return buf;
	}
	if (rc == HL_ERR_IO || rc == HL_ERR_TIMEOUT)
		return PREFIX ".Unreachable";
	if (rc == HL_ERR_PARSE)
		return PREFIX ".BadResponse";
	return PREFIX ".Internal";
}

typedef struct close_ctx {
	hl_activity_ctx *ctx;
	hl_jira *jira;
	const recover_settings *set;
	const char *what;
	const char *execution;    /* this (the recovery) execution */
	const char *console;      /* its console link */
	char marker[64];
	bool dry_run;
	/* the first Jira failure, reported after the audit item */
	int fail_rc;
	hl_err fail_err;
} close_ctx;

static json_object *ticket_outcome(const char *key, const char *execution, const char *result)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "key", key && *key ? json_object_new_string(key) : NULL);
	json_object_object_add(o, "execution", json_object_new_string(execution));
	json_object_object_add(o, "result", json_object_new_string(result));
	return o;
}

static json_object *close_one(close_ctx *cc, hl_aws_conn *c, const char *execution)
{
	char key[72], label[24];
	hl_jira_issue issue;
	bool found = false;
	hl_err err;
	int rc;

	hl_err_clear(&err);
	memo_key(c, cc->set->table, execution, key, sizeof(key));
	if (key[0]) {
		rc = hl_jira_get_issue(cc->jira, key, &issue, &found, &err);
		if (rc < 0)
			goto failed;
	}
	if (!found) {
		hl_execution_label(execution, label);
		rc = hl_jira_find_by_label(cc->jira, cc->set->project, label, &issue, &found, &err);
		if (rc < 0)
			goto failed;
		if (!found)
			return ticket_outcome(NULL, execution, "not found");
	}
	if (strcmp(issue.status_category, "done") == 0)
		return ticket_outcome(issue.key, execution, "already closed");

	bool has = false;
	rc = hl_jira_has_comment(cc->jira, issue.key, cc->marker, &has, &err);
	if (rc < 0)
		goto failed;
	if (!has) {
		json_object *doc = hl_adf_doc();
		char head[700];
		snprintf(head, sizeof(head), "Recovered%s: %s. healer closes this ticket.",
			 cc->dry_run ? " (recorded by a dry-run deployment)" : "", cc->what);
		hl_adf_paragraph(doc, NULL, head);
		hl_adf_link(doc, "Recovery execution: ", cc->execution, cc->console);
		hl_adf_paragraph(doc, NULL, cc->marker);
		rc = hl_jira_add_comment(cc->jira, issue.key, doc, &err);
		json_object_put(doc);
		if (rc < 0)
			goto failed;
	}
	bool moved = false;
	char tname[128];
	rc = hl_jira_transition_done(cc->jira, issue.key, &moved, tname, sizeof(tname), &err);
	if (rc < 0)
		goto failed;
	HL_LOG(HL_LOG_INFO, moved ? "recover: ticket closed" : "recover: ticket has no transition to done",
	       HL_LS("key", issue.key), HL_LS("ticket_execution", execution));
	return ticket_outcome(issue.key, execution, moved ? "closed" : "no done transition");
failed:
	if (rc == HL_ERR_CANCELLED)
		return NULL;
	HL_LOG(HL_LOG_WARN, "recover: Jira failed for a ticket", HL_LS("ticket_execution", execution),
	       HL_LS("error", err.aws_code), HL_LS("detail", err.message));
	if (cc->fail_rc == 0) {
		cc->fail_rc = rc;
		cc->fail_err = err;
	}
	json_object *o = ticket_outcome(key[0] ? key : NULL, execution, "error");
	json_object_object_add(o, "error", json_object_new_string(err.message));
	return o;
}

/* ---- the audit item ------------------------------------------------------------------ */

static int write_audit(hl_activity_ctx *ctx, hl_aws_conn *c, const recover_settings *s,
		       const char *execution, bool dry_run, json_object *event, const hl_event_info *info,
		       const char *what, json_object *tickets, json_object **audit_out)
{
	char at[64], now[25], label[24], evtime[25];
	json_object *in = json_object_new_object(), *out = NULL, *item = json_object_new_object();
	hl_err err;
	int rc;
	bool duplicate = false;

	hl_err_clear(&err);
	hl_format_iso8601_ms(hl_wall_ms(hl_clock_system()), now);
	json_object *t = path_get(event, "time", NULL);
	bool have_time = t && json_object_is_type(t, json_type_string) &&
			 hl_normalize_iso8601_ms(json_object_get_string(t), evtime) == 0;
	snprintf(at, sizeof(at), "%s#recovered", have_time ? evtime : now);
	hl_execution_label(execution, label);
	char *worker = hl_clean_text(hl_activity_worker_name(ctx), 80, false);
	char *actor = hl_xasprintf("healer/%s", worker ? worker : "unknown");

	json_object_object_add(item, "execution", hl_ddb_s(execution));
	json_object_object_add(item, "at", hl_ddb_s(at));
	json_object_object_add(item, "kind", hl_ddb_s("recovery"));
	json_object_object_add(item, "mode", hl_ddb_s("recovered"));
	json_object_object_add(item, "result", hl_ddb_s("recovered"));
	json_object_object_add(item, "reason", hl_ddb_s(what));
	json_object_object_add(item, "dryRun", hl_ddb_bool(dry_run));
	json_object_object_add(item, "actor", hl_ddb_s(actor));
	json_object_object_add(item, "recordedAt", hl_ddb_s(now));
	json_object_object_add(item, "label", hl_ddb_s(label));
	json_object_object_add(item, "resource", hl_ddb_s(info->resource.id));
	json_object_object_add(item, "resourceType", hl_ddb_s(hl_resource_type_name(info->resource.type)));
	json_object_object_add(item, "resourceArn", hl_ddb_s(info->resource.arn));
	json_object_object_add(item, "account", hl_ddb_s(info->resource.account));
	json_object_object_add(item, "region", hl_ddb_s(info->resource.region));
	json_object_object_add(item, "class", hl_ddb_s(hl_event_class_name(info->cls)));
	if (have_time)
		json_object_object_add(item, "eventTime", hl_ddb_s(evtime));
	json_object *id = path_get(event, "id", NULL);
	if (id && json_object_is_type(id, json_type_string)) {
		char *clean = hl_clean_text(json_object_get_string(id), 128, false);
		if (clean && *clean)
			json_object_object_add(item, "eventId", hl_ddb_s(clean));
		free(clean);
	}
	json_object_object_add(item, "eventSource", hl_ddb_s(info->source));
	json_object_object_add(item, "eventDetailType", hl_ddb_s(info->detail_type));
	json_object *closed = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(tickets); i++) {
		json_object *tk = json_object_array_get_idx(tickets, i), *k = NULL, *r = NULL;
		if (json_object_object_get_ex(tk, "key", &k) && k && json_object_object_get_ex(tk, "result", &r) &&
		    strcmp(json_object_get_string(r), "closed") == 0)
			json_object_array_add(closed, json_object_new_string(json_object_get_string(k)));
	}
	if (json_object_array_length(closed) > 0) {
		json_object_object_add(item, "ticket",
				       hl_ddb_s(json_object_get_string(json_object_array_get_idx(closed, 0))));
		json_object *ss = json_object_new_object();
		json_object_object_add(ss, "SS", json_object_get(closed));
		json_object_object_add(item, "closedTickets", ss);
	}
	json_object_object_add(item, "tickets",
			       hl_ddb_s(json_object_to_json_string_ext(tickets, JSON_C_TO_STRING_PLAIN)));
	json_object_put(closed);

	json_object_object_add(in, "TableName", json_object_new_string(s->table));
	json_object_object_add(in, "Item", item);
	json_object_object_add(in, "ConditionExpression", json_object_new_string("attribute_not_exists(#e)"));
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#e", json_object_new_string("execution"));
	json_object_object_add(in, "ExpressionAttributeNames", names);
	rc = hl_aws_call(c, &hl_svc_dynamodb, "PutItem", in, &out, NULL, &err);
	if (hl_ddb_condition_failed(rc, &err)) {
		duplicate = true;
		rc = HL_OK;
	}
	if (rc < 0) {
		rc = hl_remediation_aws_fail(ctx, PREFIX, "PutItem", rc, &err);
	} else {
		json_object *a = json_object_new_object(), *k = json_object_new_object();
		json_object_object_add(k, "execution", json_object_new_string(execution));
		json_object_object_add(k, "at", json_object_new_string(at));
		json_object_object_add(a, "written", json_object_new_boolean(1));
		json_object_object_add(a, "key", k);
		json_object_object_add(a, "duplicate", json_object_new_boolean(duplicate));
		*audit_out = a;
	}
	free(worker);
	free(actor);
	json_object_put(in);
	json_object_put(out);
	return rc;
}

/* ---- the activity ------------------------------------------------------------------- */

static int recover_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	recover_settings set;
	hl_event_info *info = NULL;
	hl_jira *jira = NULL;
	hl_err err;
	hl_buf console;
	json_object *v = NULL, *event = NULL, *execs = NULL, *tickets = NULL, *audit = NULL;
	char what[400];
	const char *execution;
	bool dry_run = hl_activity_dry_run(ctx);
	const char *skipped = NULL;
	int rc = HL_OK;

	hl_err_clear(&err);
	hl_buf_init(&console, 2048);
	if (!json_object_is_type(input, json_type_object) || !json_object_object_get_ex(input, "execution", &v) ||
	    !json_object_is_type(v, json_type_string) || !hl_valid_execution_arn(json_object_get_string(v))) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput",
				      "recover: \"execution\" must be a Step Functions execution ARN");
		goto out;
	}
	execution = json_object_get_string(v);
	if (json_object_object_get_ex(input, "dryRun", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean)) {
			rc = hl_activity_fail(ctx, "Healer.InvalidInput", "recover: \"dryRun\" must be a boolean");
			goto out;
		}
		dry_run = dry_run || json_object_get_boolean(v);
	}
	info = hl_xcalloc(1, sizeof(*info));
	if (!json_object_object_get_ex(input, "event", &event) || !hl_event_recovery(event, info, what, sizeof(what))) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput",
				      "recover: \"event\" is not a recovery event (an OK disk alarm or a "
				      "COMPLIANT restricted-ssh result)");
		goto out;
	}
	if (read_settings(&set, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.InvalidConfig", "%s", err.message);
		goto out;
	}
	hl_aws_conn *c = hl_activity_aws(ctx);
	if (!c) {
		rc = hl_activity_fail(ctx, "Healer.NotConfigured", "recover needs AWS (set AWS_REGION)");
		goto out;
	}
	if (hl_console_execution_url(execution, &console) < 0) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "recover: cannot build the console link");
		goto out;
	}

	execs = json_object_new_array();
	tickets = json_object_new_array();
	HL_GUARD_GOTO(rc, escalated_executions(ctx, c, &set, info, execs), out);
	close_ctx cc = { .ctx = ctx, .set = &set, .what = what, .execution = execution,
			 .console = console.data, .dry_run = dry_run };
	char label[24];
	hl_execution_label(execution, label);
	snprintf(cc.marker, sizeof(cc.marker), "[%s/recovered]", label);
	if (!set.jira) {
		skipped = "not configured";
	} else if (json_object_array_length(execs) > 0) {
		hl_jira_config jcfg = { .base_url = set.url, .email = set.email, .api_token = set.token,
					.sleep = ctx_sleep, .sleep_arg = ctx };
		jira = hl_jira_new(&jcfg, &err);
		if (!jira) {
			rc = hl_activity_fail(ctx, PREFIX ".Config", "%s", err.message);
			goto out;
		}
		cc.jira = jira;
		for (size_t i = 0; i < json_object_array_length(execs); i++) {
			if (hl_activity_cancelled(ctx)) {
				rc = HL_ERR_CANCELLED;
				goto out;
			}
			json_object *o = close_one(&cc, c, json_object_get_string(json_object_array_get_idx(execs, i)));
			if (!o) {
				rc = HL_ERR_CANCELLED;
				goto out;
			}
			json_object_array_add(tickets, o);
		}
	}
	HL_GUARD_GOTO(rc, write_audit(ctx, c, &set, execution, dry_run, event, info, what, tickets, &audit), out);
	if (cc.fail_rc < 0) {
		char name[160];
		rc = hl_activity_fail(ctx, jira_error_name(&cc.fail_err, cc.fail_rc, name, sizeof(name)),
				      "recover: Jira: %s (the audit record is written)", cc.fail_err.message);
		goto out;
	}
	int closed = 0;
	for (size_t i = 0; i < json_object_array_length(tickets); i++) {
		json_object *r = NULL;
		json_object_object_get_ex(json_object_array_get_idx(tickets, i), "result", &r);
		closed += strcmp(json_object_get_string(r), "closed") == 0;
	}
	HL_LOG(HL_LOG_INFO, "recover: done", HL_LS("execution", execution), HL_LS("resource", info->resource.id),
	       HL_LS("class", hl_event_class_name(info->cls)), HL_LI("escalations", json_object_array_length(execs)),
	       HL_LI("closed", closed), HL_LB("dry_run", dry_run));

	json_object *o = json_object_new_object();
	json_object_object_add(o, "recovered", json_object_new_boolean(1));
	json_object_object_add(o, "class", json_object_new_string(hl_event_class_name(info->cls)));
	json_object_object_add(o, "resource", hl_resource_to_json(&info->resource));
	json_object_object_add(o, "reason", json_object_new_string(what));
	json_object_object_add(o, "escalations", json_object_get(execs));
	json_object_object_add(o, "tickets", json_object_get(tickets));
	json_object_object_add(o, "closed", json_object_new_int(closed));
	json_object_object_add(o, "skipped", skipped ? json_object_new_string(skipped) : NULL);
	json_object_object_add(o, "audit", audit);
	audit = NULL;
	json_object_object_add(o, "dryRun", json_object_new_boolean(dry_run));
	*output = o;
	rc = HL_OK;
out:
	hl_jira_free(jira);
	hl_buf_free(&console);
	json_object_put(execs);
	json_object_put(tickets);
	json_object_put(audit);
	free(info);
	return rc;
}

const hl_activity hl_activity_recover = {
	.name = "recover",
	.summary = "closes the open healer tickets of a resource whose alarm or Config rule recovered",
	.run = recover_run,
	.init = recover_init,
};
