/* audit.c - the `audit` activity: one DynamoDB item per execution outcome.
 *
 * Input: the record input (record.h), optionally with "startedAt"
 * ($$.Execution.StartTime) and "ticket" (the ticket activity's output).
 * Output: {"written": true, "key": {"execution", "at"}, "duplicate": bool}.
 *
 * Table HEALER_AUDIT_TABLE (default healer-audit): hash key `execution`
 * (S), range key `at` (S) = "<ISO-8601 UTC with ms>#<mode>", GSI
 * `resource-index` (`resource` S, `at` S; items without a resource are
 * simply not in it). The time in `at` is deterministic per execution so a
 * retry of the same step writes the same key: the execution's start
 * (startedAt) when the state machine passes it, else the event's own
 * `time`. The put is conditional (attribute_not_exists(execution)): a
 * retry finds the item and reports it as a duplicate instead of writing a
 * second one. With neither time available (a malformed event), the
 * activity first queries the execution's items for one with this mode and
 * reuses it; only when there is none does it use the current time.
 *
 * Item: execution, at, kind "action", mode, result, reason, dryRun, actor
 * ("healer/<worker>"), recordedAt, resource, resourceType, resourceArn,
 * account, region, class, confidence, owner, action, applied, verified,
 * before / after (JSON text, at most 64 KiB each, else a marker),
 * rollback, ticket, ticketUrl, error, errorCause, eventId, eventSource,
 * eventDetailType, eventTime, label. No TTL attribute: audit records stay.
 * (The ticket activity keeps its memo in the same table under at =
 * "ticket", kind "ticket".)
 *
 * Each record is also one JSON log line ("audit record"), without secrets.
 * In dry run the record is still written (it records the dry run) with
 * dryRun true. Failures: Healer.Audit.NotConfigured (no AWS client),
 * Healer.Audit.TableNotFound, Healer.Throttled (DynamoDB throttling after
 * the client's retries), Healer.Audit.DynamoDB (other service errors),
 * Healer.Audit.Unreachable (transport). Slack or Jira trouble never
 * reaches here: the state machine runs the three as separate states.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/log.h"
#include "healer/outcome_metrics.h"
#include "healer/record.h"
#include "healer/settings.h"

#define JSON_ATTR_MAX (64 * 1024)

static int read_table(const char **table, hl_err *err)
{
	return hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				    "must be a DynamoDB table name (3..255 of A-Za-z0-9_.-)", table, err);
}

static int audit_init(hl_err *err)
{
	const char *table;
	return read_table(&table, err);
}

/* ---- attribute values ---------------------------------------------------------- */

static void put_s(json_object *item, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	json_object *v = json_object_new_object();
	json_object_object_add(v, "S", json_object_new_string(value));
	json_object_object_add(item, name, v);
}

static void put_bool(json_object *item, const char *name, int value)
{
	if (value < 0)
		return;
	json_object *v = json_object_new_object();
	json_object_object_add(v, "BOOL", json_object_new_boolean(value));
	json_object_object_add(item, name, v);
}

/* A JSON member of `from` as text (bounded), e.g. before/after. */
static void put_json(json_object *item, const char *name, json_object *from, const char *member)
{
	json_object *v = NULL;
	if (!from || !json_object_object_get_ex(from, member, &v) || !v)
		return;
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	if (len > JSON_ATTR_MAX) {
		char marker[96];
		snprintf(marker, sizeof(marker), "{\"truncated\":true,\"bytes\":%zu}", len);
		put_s(item, name, marker);
		return;
	}
	char *clean = hl_clean_text(text, JSON_ATTR_MAX, true);
	put_s(item, name, clean);
	free(clean);
}

static json_object *build_item(const hl_record *rec, const char *at, const char *actor, const char *now)
{
	json_object *item = json_object_new_object();
	put_s(item, "execution", rec->execution);
	put_s(item, "at", at);
	put_s(item, "kind", "action");
	put_s(item, "mode", rec->mode);
	put_s(item, "result", hl_record_result(rec));
	put_s(item, "reason", rec->reason);
	put_bool(item, "dryRun", rec->dry_run);
	put_s(item, "actor", actor);
	put_s(item, "recordedAt", now);
	put_s(item, "label", rec->label);
	put_s(item, "resource", rec->resource_id);
	put_s(item, "resourceType", rec->resource_type);
	put_s(item, "resourceArn", rec->resource_arn);
	put_s(item, "account", rec->account);
	put_s(item, "region", rec->resource_region);
	put_bool(item, "resourceInvalid", rec->resource_invalid ? 1 : -1);
	put_s(item, "class", rec->klass);
	if (rec->confidence >= 0) {
		char n[32];
		snprintf(n, sizeof(n), "%.4f", rec->confidence);
		json_object *v = json_object_new_object();
		json_object_object_add(v, "N", json_object_new_string(n));
		json_object_object_add(item, "confidence", v);
	}
	put_s(item, "owner", rec->owner);
	put_s(item, "action", rec->action);
	put_bool(item, "applied", rec->applied);
	put_bool(item, "verified", rec->verified);
	put_json(item, "before", rec->remediation, "before");
	put_json(item, "after", rec->remediation, "after");
	put_s(item, "rollback", rec->rollback);
	put_s(item, "ticket", rec->ticket_key);
	put_s(item, "ticketUrl", rec->ticket_url);
	put_s(item, "error", rec->error_name);
	put_s(item, "errorCause", rec->error_cause);
	put_s(item, "eventId", rec->event_id);
	put_s(item, "eventSource", rec->event_source);
	put_s(item, "eventDetailType", rec->event_detail_type);
	put_s(item, "eventTime", rec->event_time);
	return item;
}

/* ---- DynamoDB -------------------------------------------------------------------- */

static int fail_from(hl_activity_ctx *ctx, const hl_err *err, int rc, const char *op)
{
	if (rc == HL_ERR_CANCELLED)
		return rc;
	if (err->code == HL_ERR_AWS) {
		const char *c = err->aws_code;
		if (strcmp(c, "ResourceNotFoundException") == 0)
			return hl_activity_fail(ctx, "Healer.Audit.TableNotFound", "DynamoDB %s: %s", op, err->message);
		if (strcmp(c, "ProvisionedThroughputExceededException") == 0 ||
		    strcmp(c, "ThrottlingException") == 0 || strcmp(c, "RequestLimitExceeded") == 0)
			return hl_activity_fail(ctx, "Healer.Throttled", "DynamoDB %s: %s: %s", op, c, err->message);
		return hl_activity_fail(ctx, "Healer.Audit.DynamoDB", "DynamoDB %s: %s: %s", op, c, err->message);
	}
	if (err->code == HL_ERR_IO || err->code == HL_ERR_TIMEOUT)
		return hl_activity_fail(ctx, "Healer.Audit.Unreachable", "DynamoDB %s: %s", op, err->message);
	return hl_activity_fail(ctx, "Healer.Audit.Internal", "DynamoDB %s: %s", op, err->message);
}

/* Without a deterministic time: the `at` of an existing item of this
 * execution and mode, or "" when there is none. */
static int find_existing(hl_aws_conn *conn, const char *table, const hl_record *rec, char *at_out,
			 size_t at_sz, hl_err *err)
{
	at_out[0] = '\0';
	json_object *req = json_object_new_object(), *out = NULL;
	json_object_object_add(req, "TableName", json_object_new_string(table));
	json_object_object_add(req, "KeyConditionExpression", json_object_new_string("#e = :e"));
	json_object_object_add(req, "FilterExpression", json_object_new_string("#m = :m AND #k = :k"));
	json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#e", json_object_new_string("execution"));
	json_object_object_add(names, "#m", json_object_new_string("mode"));
	json_object_object_add(names, "#k", json_object_new_string("kind"));
	json_object_object_add(req, "ExpressionAttributeNames", names);
	json_object *values = json_object_new_object();
	put_s(values, ":e", rec->execution);
	put_s(values, ":m", rec->mode);
	put_s(values, ":k", "action");
	json_object_object_add(req, "ExpressionAttributeValues", values);
	int rc = hl_aws_call(conn, &hl_svc_dynamodb, "Query", req, &out, NULL, err);
	json_object *items = NULL, *v = NULL;
	if (rc == HL_OK && json_object_object_get_ex(out, "Items", &items) &&
	    json_object_is_type(items, json_type_array) && json_object_array_length(items) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(items, 0), "at", &v) &&
	    json_object_object_get_ex(v, "S", &v) && json_object_is_type(v, json_type_string))
		hl_strlcpy(at_out, json_object_get_string(v), at_sz);
	json_object_put(req);
	json_object_put(out);
	return rc;
}

static int audit_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_record rec;
	const char *table = NULL;
	hl_err err;
	json_object *req = NULL, *resp = NULL;
	char *actor = NULL;
	int rc;

	hl_err_clear(&err);
	HL_GUARD_GOTO(rc, hl_record_parse(ctx, input, &rec), out);
	if (read_table(&table, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Audit.Config", "%s", err.message);
		goto out;
	}
	hl_aws_conn *conn = hl_activity_aws(ctx);
	if (!conn) {
		rc = hl_activity_fail(ctx, "Healer.Audit.NotConfigured",
				      "no AWS client (set AWS_REGION): the audit record cannot be written");
		goto out;
	}
	char now[25], at[64];
	hl_format_iso8601_ms(hl_wall_ms(hl_clock_system()), now);
	const char *base = rec.started_at ? rec.started_at : rec.event_time;
	bool duplicate = false;
	if (base) {
		snprintf(at, sizeof(at), "%s#%s", base, rec.mode);
	} else {
		rc = find_existing(conn, table, &rec, at, sizeof(at), &err);
		if (rc < 0) {
			rc = fail_from(ctx, &err, rc, "Query");
			goto out;
		}
		duplicate = at[0] != '\0';
		if (!duplicate)
			snprintf(at, sizeof(at), "%s#%s", now, rec.mode);
	}
	char *worker = hl_clean_text(hl_activity_worker_name(ctx), 80, false);
	actor = hl_xasprintf("healer/%s", worker ? worker : "unknown");
	free(worker);

	if (!duplicate) {
		req = json_object_new_object();
		json_object_object_add(req, "TableName", json_object_new_string(table));
		json_object_object_add(req, "Item", build_item(&rec, at, actor, now));
		json_object_object_add(req, "ConditionExpression",
				       json_object_new_string("attribute_not_exists(#e)"));
		json_object *names = json_object_new_object();
		json_object_object_add(names, "#e", json_object_new_string("execution"));
		json_object_object_add(req, "ExpressionAttributeNames", names);
		rc = hl_aws_call(conn, &hl_svc_dynamodb, "PutItem", req, &resp, NULL, &err);
		if (rc == HL_ERR_AWS && strcmp(err.aws_code, "ConditionalCheckFailedException") == 0) {
			duplicate = true;   /* a retry of this step: the record is there */
			rc = HL_OK;
		}
		if (rc < 0) {
			rc = fail_from(ctx, &err, rc, "PutItem");
			goto out;
		}
	}
	/* Remediations and Escalations are counted here, and only when this
	 * call wrote the record, because audit is the one step that sees every
	 * outcome and knows whether it already saw this one: its conditional
	 * put is keyed per execution and mode, so a Step Functions retry of
	 * audit (or of anything before it) counts nothing twice. The remediate
	 * activities could not tell a retried attempt from the final one.
	 * The price: when a PutItem's response is lost and the client's own
	 * retry finds the record, nothing is counted, so the metrics can
	 * undercount by one then, never overcount (the audit table is the
	 * record of truth). hl_outcome_record() says which path counts what. */
	if (!duplicate)
		hl_outcome_record(&rec);
	HL_LOG(HL_LOG_INFO, "audit record", HL_LS("execution", rec.execution), HL_LS("at", at),
	       HL_LS("mode", rec.mode), HL_LS("result", hl_record_result(&rec)),
	       HL_LB("dryRun", rec.dry_run), HL_LS("resource", rec.resource_id),
	       HL_LS("class", rec.klass), HL_LS("action", rec.action), HL_LS("reason", rec.reason),
	       HL_LS("rollback", rec.rollback), HL_LS("ticket", rec.ticket_key),
	       HL_LS("error", rec.error_name), HL_LS("actor", actor), HL_LS("table", table),
	       HL_LB("duplicate", duplicate));

	json_object *o = json_object_new_object();
	json_object_object_add(o, "written", json_object_new_boolean(1));
	json_object *key = json_object_new_object();
	json_object_object_add(key, "execution", json_object_new_string(rec.execution));
	json_object_object_add(key, "at", json_object_new_string(at));
	json_object_object_add(o, "key", key);
	json_object_object_add(o, "duplicate", json_object_new_boolean(duplicate));
	json_object_object_add(o, "dryRun", json_object_new_boolean(rec.dry_run));
	*output = o;
	rc = HL_OK;
out:
	free(actor);
	json_object_put(req);
	json_object_put(resp);
	hl_record_free(&rec);
	return rc;
}

const hl_activity hl_activity_audit = {
	.name = "audit",
	.summary = "writes the execution's audit record to DynamoDB (once per mode)",
	.run = audit_run,
	.init = audit_init,
};
