/* ticket.c - the `ticket` activity: one Jira issue per execution.
 *
 * Input: the record input (record.h). Output: {"key", "url", "status":
 * "closed"|"open"|"skipped", "created", "label", "dryRun"}; with a Jira
 * setting missing, {"status": "skipped", "skipped": "not configured"}.
 *
 * Idempotent by construction. The issue carries the label
 * healer-<16 hex of SHA-256(execution ARN)>. To find it again:
 *   1. the memo item {execution, at: "ticket"} in HEALER_AUDIT_TABLE, which
 *      this activity writes right after creating the issue (Jira's search is
 *      eventually consistent: a retry seconds after a create may not find
 *      the new issue by label); DynamoDB trouble only costs a warning;
 *   2. POST /rest/api/3/search/jql for the label (covers a lost memo);
 *   3. only then create. A create that fails ambiguously (5xx, transport)
 *      is followed by another search before any new attempt.
 * Then one comment per mode (skipped when a comment with the marker
 * "[<label>/<mode>]" already exists), and for "resolved" the transition to
 * the workflow's "done" category. "escalated" leaves the issue open.
 *
 * Dry run: a ticket is a record, not a remediation, so it is still filed,
 * labelled "dry-run", with "[dry-run]" in the summary and a first line
 * saying nothing was changed.
 *
 * Failures: Jira 4xx -> Healer.Ticket.<Reason> (BadRequest, Unauthorized,
 * Forbidden, NotFound, ...) with Jira's messages as the cause; 429 beyond
 * the wait we allow -> Healer.Throttled; 5xx after retries ->
 * Healer.Ticket.Unavailable; transport -> Healer.Ticket.Unreachable.
 * Nothing from Slack or the audit record can fail this activity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/jira.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/settings.h"

#define RAW_EVENT_MAX 16000
#define CREATE_TRIES 3   /* also for the comment */

typedef struct ticket_settings {
	const char *url, *email, *token, *project, *issue_type, *table;
} ticket_settings;

static bool valid_email_setting(const char *s)
{
	return !strchr(s, ':') && !strpbrk(s, "\r\n") && strchr(s, '@') != NULL;
}

static bool valid_token_setting(const char *s)
{
	return !strpbrk(s, "\r\n");
}

/* Reads and checks the settings. *configured is false when any of the four
 * Jira settings is missing (not an error: the activity skips). */
static int read_settings(ticket_settings *s, bool *configured, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_URL", NULL, 512, hl_valid_api_base_url,
				      "must be an https URL (http only to 127.0.0.1 or localhost)", &s->url, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_EMAIL", NULL, 254, valid_email_setting,
				      "must be an e-mail address", &s->email, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_API_TOKEN", NULL, 1024, valid_token_setting,
				      "must be one line", &s->token, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_PROJECT", NULL, 10, hl_jira_valid_project_key,
				      "must be a Jira project key (e.g. OPS)", &s->project, err));
	HL_GUARD(hl_setting_str_check("HEALER_JIRA_ISSUE_TYPE", "Task", 60, hl_jira_valid_issue_type,
				      "must be an issue type name of [A-Za-z0-9 _-]", &s->issue_type, err));
	HL_GUARD(hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				      "must be a DynamoDB table name", &s->table, err));
	*configured = s->url && s->email && s->token && s->project;
	return HL_OK;
}

static int ticket_init(hl_err *err)
{
	ticket_settings s;
	bool configured;
	const char *ca_bundle;
	HL_GUARD(read_settings(&s, &configured, err));
	HL_GUARD(hl_webapi_ca_bundle(true, &ca_bundle, err));
	if (!configured && (s.url || s.email || s.token || s.project))
		HL_LOG(HL_LOG_WARN, "ticket: Jira is partly configured; tickets will be skipped",
		       HL_LB("url", s.url != NULL), HL_LB("email", s.email != NULL),
		       HL_LB("token", s.token != NULL), HL_LB("project", s.project != NULL));
	return HL_OK;
}

static bool ctx_sleep(void *arg, long ms)
{
	return hl_activity_sleep(arg, ms);
}

/* Fails the task from a client error; step names what we were doing. */
static int fail_from(hl_activity_ctx *ctx, const hl_err *err, int rc, const char *step)
{
	if (rc == HL_ERR_CANCELLED)
		return rc;
	if (err->code == HL_ERR_AWS && strcmp(err->aws_code, "Throttled") == 0)
		return hl_activity_fail(ctx, "Healer.Throttled", "Jira %s: %s", step, err->message);
	if (err->code == HL_ERR_AWS) {
		char name[160];
		snprintf(name, sizeof(name), "Healer.Ticket.%s", err->aws_code);
		return hl_activity_fail(ctx, name, "Jira %s: %s", step, err->message);
	}
	if (err->code == HL_ERR_IO || err->code == HL_ERR_TIMEOUT)
		return hl_activity_fail(ctx, "Healer.Ticket.Unreachable", "Jira %s: %s", step, err->message);
	if (err->code == HL_ERR_PARSE)
		return hl_activity_fail(ctx, "Healer.Ticket.BadResponse", "Jira %s: %s", step, err->message);
	return hl_activity_fail(ctx, "Healer.Ticket.Internal", "Jira %s: %s", step, err->message);
}

/* True for a failure after which the request may or may not have taken
 * effect (so: look before trying again). */
static bool ambiguous(const hl_err *err, int rc)
{
	return rc == HL_ERR_IO || rc == HL_ERR_TIMEOUT ||
	       (rc == HL_ERR_AWS && err->http_status >= 500 && err->http_status <= 599);
}

/* ---- the DynamoDB memo ------------------------------------------------------ */

static json_object *memo_key(const hl_record *rec, const char *table)
{
	json_object *req = json_object_new_object();
	json_object_object_add(req, "TableName", json_object_new_string(table));
	json_object *key = json_object_new_object();
	json_object *e = json_object_new_object(), *a = json_object_new_object();
	json_object_object_add(e, "S", json_object_new_string(rec->execution));
	json_object_object_add(a, "S", json_object_new_string("ticket"));
	json_object_object_add(key, "execution", e);
	json_object_object_add(key, "at", a);
	json_object_object_add(req, "Key", key);
	return req;
}

static const hl_aws_call_opts MEMO_OPTS = { .timeout_ms = 5000, .max_attempts = 2 };

/* The issue key remembered for this execution, or "" (errors are logged). */
static void memo_get(hl_activity_ctx *ctx, const hl_record *rec, const char *table, char *key_out,
		     size_t key_sz)
{
	key_out[0] = '\0';
	hl_aws_conn *conn = hl_activity_aws(ctx);
	if (!conn)
		return;
	json_object *req = memo_key(rec, table), *out = NULL, *v = NULL;
	json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
	hl_err err;
	hl_err_clear(&err);
	if (hl_aws_call(conn, &hl_svc_dynamodb, "GetItem", req, &out, &MEMO_OPTS, &err) < 0) {
		HL_LOG(HL_LOG_WARN, "ticket: cannot read the ticket memo; searching Jira instead",
		       HL_LS("execution", rec->execution), HL_LS("error", err.aws_code),
		       HL_LS("detail", err.message));
	} else if (json_object_object_get_ex(out, "Item", &v) &&
		   json_object_object_get_ex(v, "ticketKey", &v) && json_object_object_get_ex(v, "S", &v) &&
		   hl_jira_valid_issue_key(json_object_get_string(v))) {
		hl_strlcpy(key_out, json_object_get_string(v), key_sz);
	}
	json_object_put(req);
	json_object_put(out);
}

static void add_s(json_object *item, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	json_object *v = json_object_new_object();
	json_object_object_add(v, "S", json_object_new_string(value));
	json_object_object_add(item, name, v);
}

static void memo_put(hl_activity_ctx *ctx, const hl_record *rec, const char *table,
		     const hl_jira_issue *issue, const char *url)
{
	hl_aws_conn *conn = hl_activity_aws(ctx);
	if (!conn)
		return;
	json_object *req = memo_key(rec, table), *out = NULL, *key = NULL;
	json_object_object_get_ex(req, "Key", &key);
	json_object *item = json_object_get(key);
	json_object_object_del(req, "Key");
	char now[25];
	hl_format_iso8601_ms(hl_wall_ms(hl_clock_system()), now);
	add_s(item, "kind", "ticket");
	add_s(item, "ticketKey", issue->key);
	add_s(item, "ticketId", issue->id);
	add_s(item, "ticketUrl", url);
	add_s(item, "label", rec->label);
	add_s(item, "mode", rec->mode);
	add_s(item, "recordedAt", now);
	json_object_object_add(req, "Item", item);
	json_object_object_add(req, "ConditionExpression",
			       json_object_new_string("attribute_not_exists(#e)"));
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#e", json_object_new_string("execution"));
	json_object_object_add(req, "ExpressionAttributeNames", names);
	hl_err err;
	hl_err_clear(&err);
	if (hl_aws_call(conn, &hl_svc_dynamodb, "PutItem", req, &out, &MEMO_OPTS, &err) < 0)
		HL_LOG(HL_LOG_WARN, "ticket: cannot write the ticket memo",
		       HL_LS("execution", rec->execution), HL_LS("key", issue->key),
		       HL_LS("error", err.aws_code), HL_LS("detail", err.message));
	json_object_put(req);
	json_object_put(out);
}

/* ---- content ---------------------------------------------------------------- */

static void summary_text(const hl_record *rec, char *out, size_t outsz)
{
	const char *verb = rec->escalated ? "Escalated" : rec->dry_run ? "Would remediate" : "Remediated";
	char raw[1400];
	snprintf(raw, sizeof(raw), "[healer]%s %s %s on %s: %s", rec->dry_run ? "[dry-run]" : "", verb,
		 rec->klass ? rec->klass : "event", rec->resource_id ? rec->resource_id : "no resource",
		 rec->reason);
	char *clean = hl_clean_text(raw, 255, false);
	hl_strlcpy(out, clean, outsz);
	free(clean);
}

/* The raw event, pretty-printed and bounded, for a person to read. */
static void add_raw_event(json_object *doc, const hl_record *rec)
{
	if (!rec->event)
		return;
	const char *text = json_object_to_json_string_ext(rec->event, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE);
	hl_adf_paragraph(doc, "Raw event:", " ");
	hl_adf_code_block(doc, text, "json");
	if (strlen(text) > RAW_EVENT_MAX)
		hl_adf_paragraph(doc, NULL, "(the event was cut to fit the ticket)");
}

static bool wants_raw_event(const hl_record *rec)
{
	return rec->escalated && (!rec->klass || strcmp(rec->klass, "unknown") == 0 || rec->resource_invalid);
}

static void add_context(json_object *doc, const hl_record *rec, const char *console)
{
	char buf[1024];
	hl_adf_paragraph(doc, "Outcome: ", hl_record_result(rec));
	hl_adf_paragraph(doc, "Reason: ", rec->reason);
	if (rec->klass) {
		if (rec->confidence >= 0)
			snprintf(buf, sizeof(buf), "%s (confidence %.2f)", rec->klass, rec->confidence);
		else
			snprintf(buf, sizeof(buf), "%s", rec->klass);
		hl_adf_paragraph(doc, "Class: ", buf);
	}
	hl_record_resource_text(rec, buf, sizeof(buf));
	hl_adf_paragraph(doc, "Resource: ", buf);
	if (rec->resource_arn)
		hl_adf_paragraph(doc, "ARN: ", rec->resource_arn);
	if (rec->owner)
		hl_adf_paragraph(doc, "Owner: ", rec->owner);
	if (rec->action) {
		snprintf(buf, sizeof(buf), "%s (applied: %s, verified: %s)", rec->action,
			 rec->applied == 1 ? "yes" : rec->applied == 0 ? "no" : "unknown",
			 rec->verified == 1 ? "yes" : rec->verified == 0 ? "no" : "unknown");
		hl_adf_paragraph(doc, "Action: ", buf);
	}
	if (rec->rollback) {
		hl_adf_paragraph(doc, "Rollback:", " ");
		hl_adf_code_block(doc, rec->rollback, "shell");
	}
	if (rec->error_name) {
		hl_adf_paragraph(doc, "Error: ", rec->error_name);
		if (rec->error_cause)
			hl_adf_code_block(doc, rec->error_cause, NULL);
	}
	if (rec->event_source || rec->event_detail_type) {
		snprintf(buf, sizeof(buf), "%s / %s%s%s%s%s", rec->event_source ? rec->event_source : "?",
			 rec->event_detail_type ? rec->event_detail_type : "?",
			 rec->event_id ? ", id " : "", rec->event_id ? rec->event_id : "",
			 rec->event_time ? ", at " : "", rec->event_time ? rec->event_time : "");
		hl_adf_paragraph(doc, "Event: ", buf);
	}
	hl_adf_link(doc, "Execution: ", rec->execution, console);
}

static json_object *description(const hl_record *rec, const char *console)
{
	json_object *doc = hl_adf_doc();
	if (rec->dry_run)
		hl_adf_paragraph(doc, NULL, "This ticket records a DRY RUN: healer changed nothing.");
	hl_adf_paragraph(doc, NULL, rec->escalated
					    ? "healer could not resolve this on its own and needs a person."
					    : "healer resolved this automatically; this ticket is the record.");
	add_context(doc, rec, console);
	if (wants_raw_event(rec))
		add_raw_event(doc, rec);
	hl_adf_paragraph(doc, "healer label: ", rec->label);
	return doc;
}

static json_object *comment(const hl_record *rec, const char *console, const char *marker)
{
	json_object *doc = hl_adf_doc();
	char head[1200];
	if (rec->escalated)
		snprintf(head, sizeof(head), "Escalated%s: %s", rec->dry_run ? " (dry run)" : "", rec->reason);
	else if (rec->dry_run)
		snprintf(head, sizeof(head), "Dry run, nothing changed. Would have: %s", rec->reason);
	else
		snprintf(head, sizeof(head), "Resolved by healer: %s", rec->reason);
	hl_adf_paragraph(doc, NULL, head);
	if (rec->escalated && rec->error_name) {
		hl_adf_paragraph(doc, "Error: ", rec->error_name);
		if (rec->error_cause)
			hl_adf_code_block(doc, rec->error_cause, NULL);
	}
	if (!rec->escalated && rec->rollback) {
		hl_adf_paragraph(doc, "Rollback:", " ");
		hl_adf_code_block(doc, rec->rollback, "shell");
	}
	if (wants_raw_event(rec))
		add_raw_event(doc, rec);
	hl_adf_link(doc, "Execution: ", rec->execution, console);
	hl_adf_paragraph(doc, NULL, marker);
	return doc;
}

static json_object *issue_fields(const hl_record *rec, const ticket_settings *s, const char *console)
{
	json_object *f = json_object_new_object();
	json_object *project = json_object_new_object();
	json_object_object_add(project, "key", json_object_new_string(s->project));
	json_object_object_add(f, "project", project);
	json_object *type = json_object_new_object();
	json_object_object_add(type, "name", json_object_new_string(s->issue_type));
	json_object_object_add(f, "issuetype", type);
	char summary[256];
	summary_text(rec, summary, sizeof(summary));
	json_object_object_add(f, "summary", json_object_new_string(summary));
	json_object *labels = json_object_new_array();
	json_object_array_add(labels, json_object_new_string("healer"));
	json_object_array_add(labels, json_object_new_string(rec->label));
	if (rec->klass)
		json_object_array_add(labels, json_object_new_string(rec->klass));
	json_object_array_add(labels, json_object_new_string(rec->escalated ? "escalated" : "resolved"));
	if (rec->dry_run)
		json_object_array_add(labels, json_object_new_string("dry-run"));
	json_object_object_add(f, "labels", labels);
	json_object_object_add(f, "description", description(rec, console));
	return f;
}

/* ---- the activity ------------------------------------------------------------ */

static json_object *skipped_output(const char *why)
{
	json_object *out = json_object_new_object();
	json_object_object_add(out, "key", NULL);
	json_object_object_add(out, "url", NULL);
	json_object_object_add(out, "status", json_object_new_string("skipped"));
	json_object_object_add(out, "created", json_object_new_boolean(0));
	json_object_object_add(out, "skipped", json_object_new_string(why));
	return out;
}

/* Finds the execution's issue or creates it. */
static int find_or_create(hl_activity_ctx *ctx, hl_jira *jira, const hl_record *rec,
			  const ticket_settings *s, const char *console, hl_jira_issue *issue,
			  bool *created, hl_err *err)
{
	char memo[72];
	bool found = false;
	int rc = HL_OK;
	json_object *fields = NULL;
	*created = false;

	memo_get(ctx, rec, s->table, memo, sizeof(memo));
	if (memo[0]) {
		HL_GUARD_GOTO(rc, hl_jira_get_issue(jira, memo, issue, &found, err), out);
		if (!found)
			HL_LOG(HL_LOG_WARN, "ticket: the remembered issue is gone; searching by label",
			       HL_LS("execution", rec->execution), HL_LS("key", memo));
	}
	for (int attempt = 1; !found; attempt++) {
		if (hl_activity_cancelled(ctx)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		HL_GUARD_GOTO(rc, hl_jira_find_by_label(jira, s->project, rec->label, issue, &found, err), out);
		if (found)
			break;
		if (!fields)
			fields = issue_fields(rec, s, console);
		rc = hl_jira_create_issue(jira, fields, issue, err);
		if (rc == HL_OK) {
			*created = true;
			break;
		}
		if (!ambiguous(err, rc) || attempt >= CREATE_TRIES)
			goto out;
		HL_LOG(HL_LOG_WARN, "ticket: create failed ambiguously; looking again before retrying",
		       HL_LS("execution", rec->execution), HL_LI("attempt", attempt),
		       HL_LS("detail", err->message));
		if (!hl_activity_sleep(ctx, 500L * attempt)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
	}
	if (*created) {
		/* The create answer carries no status: a new issue is open. */
		hl_strlcpy(issue->status_category, "new", sizeof(issue->status_category));
	}
	rc = HL_OK;
out:
	json_object_put(fields);
	return rc;
}

/* One comment per mode: a retry (ours or the state machine's) finds the
 * marker and adds nothing; an ambiguous failure looks again first. */
static int comment_once(hl_activity_ctx *ctx, hl_jira *jira, const hl_record *rec, const char *key,
			const char *console, hl_err *err)
{
	char marker[64];
	snprintf(marker, sizeof(marker), "[%s/%s]", rec->label, rec->mode);
	json_object *body = NULL;
	int rc = HL_OK;
	for (int attempt = 1;; attempt++) {
		bool found = false;
		HL_GUARD_GOTO(rc, hl_jira_has_comment(jira, key, marker, &found, err), out);
		if (found)
			break;
		if (!body)
			body = comment(rec, console, marker);
		rc = hl_jira_add_comment(jira, key, body, err);
		if (rc == HL_OK || !ambiguous(err, rc) || attempt >= CREATE_TRIES)
			goto out;
		if (!hl_activity_sleep(ctx, 500L * attempt)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
	}
out:
	json_object_put(body);
	return rc;
}

static int ticket_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_record rec;
	ticket_settings s;
	bool configured = false;
	hl_err err;
	hl_jira *jira = NULL;
	hl_buf console, url;
	json_object *note = NULL;
	int rc;

	hl_err_clear(&err);
	hl_buf_init(&console, 2048);
	hl_buf_init(&url, 1024);
	HL_GUARD_GOTO(rc, hl_record_parse(ctx, input, &rec), out);
	if (read_settings(&s, &configured, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Ticket.Config", "%s", err.message);
		goto out;
	}
	if (!configured) {
		HL_LOG(HL_LOG_INFO, "ticket: Jira not configured; skipped", HL_LS("execution", rec.execution));
		*output = skipped_output("not configured");
		rc = HL_OK;
		goto out;
	}
	hl_jira_config jcfg = {
		.base_url = s.url, .email = s.email, .api_token = s.token,
		.sleep = ctx_sleep, .sleep_arg = ctx,
	};
	jira = hl_jira_new(&jcfg, &err);
	if (!jira) {
		rc = hl_activity_fail(ctx, "Healer.Ticket.Config", "%s", err.message);
		goto out;
	}
	if (hl_console_execution_url(rec.execution, &console) < 0) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "cannot build the console link");
		goto out;
	}

	hl_jira_issue issue;
	bool created = false;
	rc = find_or_create(ctx, jira, &rec, &s, console.data, &issue, &created, &err);
	if (rc < 0) {
		rc = fail_from(ctx, &err, rc, "find or create issue");
		goto out;
	}
	size_t base_len = strlen(s.url);
	while (base_len > 0 && s.url[base_len - 1] == '/')
		base_len--;
	HL_GUARD_GOTO(rc, hl_buf_appendf(&url, "%.*s/browse/%s", (int)base_len, s.url, issue.key), out);
	if (created) {
		memo_put(ctx, &rec, s.table, &issue, url.data);
		HL_LOG(HL_LOG_INFO, "ticket created", HL_LS("execution", rec.execution),
		       HL_LS("key", issue.key), HL_LS("label", rec.label), HL_LS("mode", rec.mode),
		       HL_LB("dryRun", rec.dry_run));
	} else {
		HL_LOG(HL_LOG_INFO, "ticket found", HL_LS("execution", rec.execution),
		       HL_LS("key", issue.key), HL_LS("label", rec.label), HL_LS("mode", rec.mode));
	}

	rc = comment_once(ctx, jira, &rec, issue.key, console.data, &err);
	if (rc < 0) {
		rc = fail_from(ctx, &err, rc, "comment");
		goto out;
	}
	if (hl_activity_cancelled(ctx)) {
		rc = HL_ERR_CANCELLED;
		goto out;
	}

	bool closed = strcmp(issue.status_category, "done") == 0;
	if (!rec.escalated && !closed) {
		char tname[128];
		bool moved = false;
		rc = hl_jira_transition_done(jira, issue.key, &moved, tname, sizeof(tname), &err);
		if (rc < 0) {
			rc = fail_from(ctx, &err, rc, "transition to done");
			goto out;
		}
		closed = moved;
		if (moved)
			HL_LOG(HL_LOG_INFO, "ticket closed", HL_LS("execution", rec.execution),
			       HL_LS("key", issue.key), HL_LS("transition", tname));
		else
			note = json_object_new_string("the workflow offers no transition to a done status");
	}

	json_object *o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(issue.key));
	json_object_object_add(o, "url", json_object_new_string(url.data));
	json_object_object_add(o, "status", json_object_new_string(closed ? "closed" : "open"));
	json_object_object_add(o, "created", json_object_new_boolean(created));
	json_object_object_add(o, "label", json_object_new_string(rec.label));
	json_object_object_add(o, "dryRun", json_object_new_boolean(rec.dry_run));
	json_object_object_add(o, "skipped", NULL);
	if (note) {
		json_object_object_add(o, "note", note);
		note = NULL;
	}
	*output = o;
	rc = HL_OK;
out:
	json_object_put(note);
	hl_jira_free(jira);
	hl_buf_free(&console);
	hl_buf_free(&url);
	hl_record_free(&rec);
	return rc;
}

const hl_activity hl_activity_ticket = {
	.name = "ticket",
	.summary = "files or updates the execution's Jira issue (closed when resolved)",
	.run = ticket_run,
	.init = ticket_init,
};
