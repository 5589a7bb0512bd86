/* blast.c - the engine-wide blast-radius limit: two rolling windows of
 * remediations counted atomically in DynamoDB, the one-time stop with its
 * single Slack alert and audit item, and the reset by `healer enable`.
 * The design (keys, the window estimate, who may stop the engine) is in
 * include/healer/blast.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/blast.h"
#include "healer/clock.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/settings.h"
#include "healer/slack.h"

#define HOUR_S 3600
#define TEN_MIN_S 600

static const char *const CLASSES[] = { "disk_pressure", "public_ssh", "cert_expiry", NULL };

/* ---- settings --------------------------------------------------------------- */

int hl_blast_settings_load(hl_blast_settings *s, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	HL_GUARD(hl_setting_str_check("HEALER_BREAKER_TABLE", "healer-breaker", 255, hl_valid_table_name,
				      "must be a DynamoDB table name ([A-Za-z0-9_.-], 3..255)", &s->table, err));
	HL_GUARD(hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				      "must be a DynamoDB table name ([A-Za-z0-9_.-], 3..255)", &s->audit_table,
				      err));
	HL_GUARD(hl_setting_int("HEALER_BLAST_MAX_PER_HOUR", HL_BLAST_DEFAULT_PER_HOUR, 1, HL_BLAST_LIMIT_MAX,
				&s->max_per_hour, err));
	return hl_setting_int("HEALER_BLAST_MAX_PER_CLASS_10M", HL_BLAST_DEFAULT_PER_CLASS_10M, 1,
			      HL_BLAST_LIMIT_MAX, &s->max_per_class_10m, err);
}

/* ---- pure helpers ------------------------------------------------------------ */

int hl_blast_bucket_limit(int max, int previous, int64_t elapsed_ms, int64_t window_ms)
{
	if (window_ms <= 0)
		return max;
	if (elapsed_ms < 0)
		elapsed_ms = 0;
	if (elapsed_ms > window_ms)
		elapsed_ms = window_ms;
	if (previous < 0)
		previous = 0;
	/* floor((max * W - prev * (W - elapsed)) / W), exactly. */
	int64_t num = (int64_t)max * window_ms - (int64_t)previous * (window_ms - elapsed_ms);
	int64_t lim = num >= 0 ? num / window_ms : -((-num + window_ms - 1) / window_ms);
	return lim > max ? max : (int)lim;
}

int64_t hl_blast_bucket_start(int64_t now_s, int window_s)
{
	int64_t r = now_s % window_s;
	return now_s - (r < 0 ? r + window_s : r);
}

void hl_blast_bucket_key(long long epoch, const char *klass, int64_t start_s, int window_s,
			 char *out, size_t outsz)
{
	char iso[21];
	hl_format_iso8601(start_s, iso);
	if (window_s == HOUR_S)
		snprintf(out, outsz, "blast#e%lld#all#%.13s", epoch, iso);
	else
		snprintf(out, outsz, "blast#e%lld#%s#%.16s", epoch, klass, iso);
}

/* ---- DynamoDB calls ------------------------------------------------------------ */

static json_object *key_of(const char *pk)
{
	json_object *k = json_object_new_object();
	json_object_object_add(k, "pk", hl_ddb_s(pk));
	return k;
}

/* Consistent GetItem; *item is the Item (owned) or NULL. */
static int get_item(hl_aws_conn *c, const char *table, const char *pk, json_object **item,
		    hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL, *it = NULL;
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Key", key_of(pk));
	json_object_object_add(in, "ConsistentRead", json_object_new_boolean(1));
	*item = NULL;
	int rc = hl_aws_call(c, &hl_svc_dynamodb, "GetItem", in, &out, NULL, err);
	if (rc == HL_OK && json_object_object_get_ex(out, "Item", &it) &&
	    json_object_is_type(it, json_type_object))
		*item = json_object_get(it);
	json_object_put(in);
	json_object_put(out);
	return rc;
}

static void copy_s(json_object *item, const char *name, char *out, size_t outsz)
{
	const char *v = hl_ddb_get_s(item, name);
	hl_excerpt(v ? v : "", outsz - 1, out, outsz);
}

static void state_from_item(json_object *item, hl_blast_state *st)
{
	memset(st, 0, sizeof(*st));
	if (!item)
		return;
	st->exists = true;
	st->stopped = hl_ddb_get_bool(item, "stopped") == 1;
	st->alert_sent = hl_ddb_get_bool(item, "alertSent") == 1;
	if (!hl_ddb_get_n(item, "epoch", &st->epoch) || st->epoch < 0)
		st->epoch = 0;
	copy_s(item, "reason", st->reason, sizeof(st->reason));
	copy_s(item, "stoppedAt", st->stopped_at, sizeof(st->stopped_at));
	copy_s(item, "stoppedBy", st->stopped_by, sizeof(st->stopped_by));
	copy_s(item, "enabledAt", st->enabled_at, sizeof(st->enabled_at));
	copy_s(item, "enabledBy", st->enabled_by, sizeof(st->enabled_by));
	copy_s(item, "enableReason", st->enable_reason, sizeof(st->enable_reason));
}

int hl_blast_state_read(hl_aws_conn *c, const char *table, hl_blast_state *st, hl_err *err)
{
	json_object *item = NULL;
	memset(st, 0, sizeof(*st));
	HL_GUARD(get_item(c, table, HL_BLAST_STATE_KEY, &item, err));
	state_from_item(item, st);
	json_object_put(item);
	return HL_OK;
}

static void add_str_or_null(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v && *v ? json_object_new_string(v) : NULL);
}

json_object *hl_blast_state_json(const hl_blast_state *st)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "stopped", json_object_new_boolean(st->stopped));
	json_object_object_add(o, "epoch", json_object_new_int64(st->epoch));
	add_str_or_null(o, "reason", st->reason);
	add_str_or_null(o, "stoppedAt", st->stopped_at);
	add_str_or_null(o, "stoppedBy", st->stopped_by);
	json_object_object_add(o, "alertSent", json_object_new_boolean(st->alert_sent));
	add_str_or_null(o, "enabledAt", st->enabled_at);
	add_str_or_null(o, "enabledBy", st->enabled_by);
	add_str_or_null(o, "enableReason", st->enable_reason);
	return o;
}

static int bucket_count(json_object *item)
{
	long long n = 0;
	return hl_ddb_get_n(item, "count", &n) && n >= 0 && n <= 1000000 ? (int)n : 0;
}

/* ---- counting one window ---------------------------------------------------------- */

typedef struct window_spec {
	const char *klass;       /* NULL for the all-classes hour */
	int window_s;
	int max;
} window_spec;

static int count_window(hl_aws_conn *c, const char *table, const window_spec *ws, long long epoch,
			const char *execution, bool dry_run, int64_t now_ms, hl_blast_window *w,
			const char **op, hl_err *err)
{
	json_object *prev = NULL, *cur = NULL, *out = NULL;
	int rc = HL_OK;
	int64_t start = hl_blast_bucket_start(now_ms / 1000, ws->window_s);
	char prev_key[128];

	memset(w, 0, sizeof(*w));
	w->max = ws->max;
	hl_blast_bucket_key(epoch, ws->klass, start, ws->window_s, w->key, sizeof(w->key));
	hl_blast_bucket_key(epoch, ws->klass, start - ws->window_s, ws->window_s, prev_key, sizeof(prev_key));
	*op = "GetItem";
	HL_GUARD_GOTO(rc, get_item(c, table, prev_key, &prev, err), out);
	w->previous = bucket_count(prev);
	w->limit = hl_blast_bucket_limit(ws->max, w->previous, now_ms - start * 1000,
					 (int64_t)ws->window_s * 1000);
	if (dry_run || w->limit <= 0) {
		HL_GUARD_GOTO(rc, get_item(c, table, w->key, &cur, err), out);
		w->count = bucket_count(cur);
		w->counted = hl_ddb_ss_contains(cur, "executions", execution);
		w->full = !w->counted && w->count >= w->limit;
		goto out;
	}
	bool updated = false;
	*op = "UpdateItem";
	HL_GUARD_GOTO(rc, hl_ddb_count_execution(c, table, key_of(w->key), execution, w->limit,
						 start + ws->window_s + HOUR_S, &updated, &out, err), out);
	if (updated) {
		w->count = bucket_count(out);
		w->counted = true;
	} else {
		/* Full, or this execution was counted by an earlier attempt:
		 * both only grow within the bucket, so the read is decisive. */
		*op = "GetItem";
		HL_GUARD_GOTO(rc, get_item(c, table, w->key, &cur, err), out);
		w->count = bucket_count(cur);
		w->counted = hl_ddb_ss_contains(cur, "executions", execution);
		w->full = !w->counted;
	}
out:
	json_object_put(prev);
	json_object_put(cur);
	json_object_put(out);
	return rc;
}

static json_object *window_json(const hl_blast_window *w)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(w->key));
	json_object_object_add(o, "count", json_object_new_int(w->count));
	json_object_object_add(o, "previous", json_object_new_int(w->previous));
	json_object_object_add(o, "max", json_object_new_int(w->max));
	json_object_object_add(o, "limit", json_object_new_int(w->limit));
	json_object_object_add(o, "counted", json_object_new_boolean(w->counted));
	json_object_object_add(o, "full", json_object_new_boolean(w->full));
	return o;
}

/* ---- stopping the engine ------------------------------------------------------------ */

/* Sets the stop; *won when this execution's condition held (or it had
 * already won on an earlier attempt). */
static int trip(hl_aws_conn *c, const char *table, const char *execution, long long epoch,
		const char *reason, const char *now_iso, bool *won, hl_blast_state *st,
		const char **op, hl_err *err)
{
	bool updated = false;
	*won = false;
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#st", json_object_new_string("stopped"));
	json_object_object_add(names, "#r", json_object_new_string("reason"));
	json_object_object_add(names, "#sa", json_object_new_string("stoppedAt"));
	json_object_object_add(names, "#sb", json_object_new_string("stoppedBy"));
	json_object_object_add(names, "#as", json_object_new_string("alertSent"));
	json_object_object_add(names, "#ep", json_object_new_string("epoch"));
	json_object *values = json_object_new_object();
	json_object_object_add(values, ":t", hl_ddb_bool(true));
	json_object_object_add(values, ":f", hl_ddb_bool(false));
	json_object_object_add(values, ":reason", hl_ddb_s(reason));
	json_object_object_add(values, ":now", hl_ddb_s(now_iso));
	json_object_object_add(values, ":exec", hl_ddb_s(execution));
	json_object_object_add(values, ":zero", hl_ddb_n(0));
	json_object_object_add(values, ":epoch", hl_ddb_n(epoch));
	hl_ddb_update u = {
		.table = table,
		.key = key_of(HL_BLAST_STATE_KEY),
		.update = "SET #st = :t, #r = :reason, #sa = :now, #sb = :exec, #as = :f, "
			  "#ep = if_not_exists(#ep, :zero)",
		.condition = "(attribute_not_exists(#st) OR #st = :f) AND (attribute_not_exists(#ep) OR #ep = :epoch)",
		.names = names,
		.values = values,
	};
	*op = "UpdateItem";
	/* Whether this update or an earlier one (of this execution or another)
	 * set the stop, the read says who holds it. */
	HL_GUARD(hl_ddb_update_if(c, &u, &updated, NULL, err));
	*op = "GetItem";
	HL_GUARD(hl_blast_state_read(c, table, st, err));
	*won = st->stopped && strcmp(st->stopped_by, execution) == 0;
	return HL_OK;
}

static bool valid_token_setting(const char *s)
{
	return !strpbrk(s, "\r\n");
}

static bool ctx_sleep(void *arg, long ms)
{
	return hl_activity_sleep(arg, ms);
}

static json_object *alert_outcome(bool posted, const char *k, const char *v)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "posted", json_object_new_boolean(posted));
	if (k)
		json_object_object_add(o, k, json_object_new_string(v));
	return o;
}

/* The one Slack alert; never fails the guard (its outcome is reported). */
static json_object *post_alert(hl_activity_ctx *ctx, const char *execution, const hl_blast_state *st)
{
	const char *url = NULL, *token = NULL, *channel = NULL;
	hl_err err;
	hl_slack *slack = NULL;
	hl_buf text, console;
	json_object *res = NULL;

	hl_err_clear(&err);
	hl_buf_init(&text, 8192);
	hl_buf_init(&console, 2048);
	if (hl_setting_str_check("HEALER_SLACK_API_URL", "https://slack.com/api", 512, hl_valid_api_base_url,
				 "must be an https URL", &url, &err) < 0 ||
	    hl_setting_str_check("HEALER_SLACK_TOKEN", NULL, 512, valid_token_setting, "must be one line",
				 &token, &err) < 0 ||
	    hl_setting_str_check("HEALER_SLACK_CHANNEL", NULL, 81, hl_slack_valid_channel,
				 "must be a channel id or name", &channel, &err) < 0) {
		res = alert_outcome(false, "error", err.message);
		goto out;
	}
	if (!token || !channel) {
		res = alert_outcome(false, "skipped", "not configured");
		goto out;
	}
	hl_slack_config cfg = { .base_url = url, .token = token, .sleep = ctx ? ctx_sleep : NULL,
				.sleep_arg = ctx };
	slack = hl_slack_new(&cfg, &err);
	if (!slack) {
		res = alert_outcome(false, "error", err.message);
		goto out;
	}
	const char *name = strrchr(execution, ':');
	int rc = hl_buf_appendf(&text, ":octagonal_sign: *healer stopped itself: blast-radius limit*\n*Why:* ");
	if (rc == HL_OK)
		rc = hl_slack_escape(&text, st->reason, 600);
	if (rc == HL_OK)
		rc = hl_buf_appendf(&text, "\nFrom now on every execution escalates to a person; nothing is "
					   "remediated automatically.\n*Stopped by:* ");
	if (rc == HL_OK && hl_console_execution_url(execution, &console) == HL_OK &&
	    hl_valid_link_url(console.data))
		rc = hl_buf_appendf(&text, "<%s|%s>", console.data, name ? name + 1 : execution);
	else if (rc == HL_OK)
		rc = hl_buf_appendf(&text, "`%s`", execution);
	if (rc == HL_OK)
		rc = hl_buf_appendf(&text, " at ");
	if (rc == HL_OK)
		rc = hl_slack_escape(&text, st->stopped_at, 40);
	if (rc == HL_OK)
		rc = hl_buf_appendf(&text, "\n*To resume:* find out what is going on, then run "
					   "`healer enable --reason \"...\"`.");
	if (rc < 0) {
		res = alert_outcome(false, "error", "the alert text does not fit");
		goto out;
	}
	hl_slack_result sr;
	rc = hl_slack_post_message(slack, channel, text.data, &sr, &err);
	if (rc < 0) {
		HL_LOG(HL_LOG_ERROR, "blast radius: the Slack alert failed", HL_LS("execution", execution),
		       HL_LS("error", err.aws_code), HL_LS("detail", err.message));
		res = alert_outcome(false, "error", err.aws_code[0] ? err.aws_code : hl_status_name(rc));
		goto out;
	}
	res = alert_outcome(true, "channel", sr.channel[0] ? sr.channel : channel);
	json_object_object_add(res, "ts", json_object_new_string(sr.ts));
out:
	hl_slack_free(slack);
	hl_buf_free(&text);
	hl_buf_free(&console);
	return res;
}

/* Marks the alert as sent (only the winner's item; failures are logged). */
static void mark_alert_sent(hl_aws_conn *c, const char *table, const char *execution, json_object *alert)
{
	json_object *ts = NULL;
	hl_err err;
	bool updated = false;
	hl_err_clear(&err);
	json_object_object_get_ex(alert, "ts", &ts);
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#as", json_object_new_string("alertSent"));
	json_object_object_add(names, "#ts", json_object_new_string("alertTs"));
	json_object_object_add(names, "#sb", json_object_new_string("stoppedBy"));
	json_object *values = json_object_new_object();
	json_object_object_add(values, ":t", hl_ddb_bool(true));
	json_object_object_add(values, ":ts", hl_ddb_s(ts ? json_object_get_string(ts) : ""));
	json_object_object_add(values, ":exec", hl_ddb_s(execution));
	hl_ddb_update u = {
		.table = table,
		.key = key_of(HL_BLAST_STATE_KEY),
		.update = "SET #as = :t, #ts = :ts",
		.condition = "#sb = :exec",
		.names = names,
		.values = values,
	};
	/* A failed condition too: the stop is no longer this execution's. */
	if (hl_ddb_update_if(c, &u, &updated, NULL, &err) < 0 || !updated)
		HL_LOG(HL_LOG_WARN, "blast radius: cannot mark the alert as sent (a retry may post it again)",
		       HL_LS("execution", execution), HL_LS("error", err.aws_code), HL_LS("detail", err.message));
}

/* The audit item of the stop (key stable across retries: stoppedAt). */
static void audit_stop(hl_activity_ctx *ctx, hl_aws_conn *c, const hl_blast_settings *s,
		       const char *execution, const hl_blast_state *st)
{
	json_object *in = json_object_new_object(), *out = NULL, *item = json_object_new_object();
	char at[64];
	hl_err err;
	hl_err_clear(&err);
	snprintf(at, sizeof(at), "%s#blast-stop", st->stopped_at);
	char *worker = hl_clean_text(ctx ? hl_activity_worker_name(ctx) : "unknown", 80, false);
	char *actor = hl_xasprintf("healer/%s", worker ? worker : "unknown");
	json_object_object_add(item, "execution", hl_ddb_s(execution));
	json_object_object_add(item, "at", hl_ddb_s(at));
	json_object_object_add(item, "kind", hl_ddb_s("blast"));
	json_object_object_add(item, "mode", hl_ddb_s("blast-stop"));
	json_object_object_add(item, "action", hl_ddb_s("stop"));
	json_object_object_add(item, "result", hl_ddb_s("stopped"));
	json_object_object_add(item, "reason", hl_ddb_s(st->reason));
	json_object_object_add(item, "actor", hl_ddb_s(actor));
	json_object_object_add(item, "recordedAt", hl_ddb_s(st->stopped_at));
	json_object_object_add(in, "TableName", json_object_new_string(s->audit_table));
	json_object_object_add(in, "Item", item);
	json_object_object_add(in, "ConditionExpression", json_object_new_string("attribute_not_exists(#e)"));
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#e", json_object_new_string("execution"));
	json_object_object_add(in, "ExpressionAttributeNames", names);
	int rc = hl_aws_call(c, &hl_svc_dynamodb, "PutItem", in, &out, NULL, &err);
	if (rc < 0 && !hl_ddb_condition_failed(rc, &err))
		HL_LOG(HL_LOG_WARN, "blast radius: cannot write the audit item of the stop",
		       HL_LS("execution", execution), HL_LS("error", err.aws_code), HL_LS("detail", err.message));
	free(worker);
	free(actor);
	json_object_put(in);
	json_object_put(out);
}

json_object *hl_blast_alert_if_owed(hl_activity_ctx *ctx, hl_aws_conn *c, const char *table,
				    const char *execution, const hl_blast_state *st)
{
	if (!st->stopped || st->alert_sent || strcmp(st->stopped_by, execution) != 0)
		return NULL;
	json_object *alert = post_alert(ctx, execution, st), *posted = NULL;
	if (json_object_object_get_ex(alert, "posted", &posted) && json_object_get_boolean(posted))
		mark_alert_sent(c, table, execution, alert);
	return alert;
}

int hl_blast_count(hl_activity_ctx *ctx, hl_aws_conn *c, const hl_blast_settings *s,
		   const char *execution, const char *klass, long long epoch, bool dry_run,
		   int64_t now_ms, hl_blast_result *r, hl_err *err)
{
	memset(r, 0, sizeof(*r));
	r->failed_op = "GetItem";
	const window_spec cls = { .klass = klass, .window_s = TEN_MIN_S, .max = s->max_per_class_10m };
	const window_spec all = { .klass = NULL, .window_s = HOUR_S, .max = s->max_per_hour };

	/* The class window first: when it is full the hour is not touched. */
	HL_GUARD(count_window(c, s->table, &cls, epoch, execution, dry_run, now_ms, &r->klass,
			      &r->failed_op, err));
	if (!r->klass.full)
		HL_GUARD(count_window(c, s->table, &all, epoch, execution, dry_run, now_ms, &r->hour,
				      &r->failed_op, err));
	r->counted = r->klass.counted && r->hour.counted;
	const hl_blast_window *full = r->klass.full ? &r->klass : r->hour.full ? &r->hour : NULL;
	if (!full)
		return HL_OK;

	r->refused = true;
	char why[400];
	if (full == &r->klass)
		snprintf(why, sizeof(why),
			 "blast-radius limit: more than %d %s remediations within 10 minutes "
			 "(%d in this 10-minute bucket, %d in the previous one)",
			 s->max_per_class_10m, klass, full->count, full->previous);
	else
		snprintf(why, sizeof(why),
			 "blast-radius limit: more than %d remediations across all resources within an "
			 "hour (%d this hour, %d the hour before)",
			 s->max_per_hour, full->count, full->previous);
	if (dry_run) {
		snprintf(r->reason, sizeof(r->reason),
			 "Manual Intervention Required: %s; a real run would stop the engine", why);
		return HL_OK;
	}

	char now_iso[25];
	hl_format_iso8601_ms(now_ms, now_iso);
	bool won = false;
	hl_blast_state st;
	HL_GUARD(trip(c, s->table, execution, epoch, why, now_iso, &won, &st, &r->failed_op, err));
	if (won) {
		r->tripped = true;
		snprintf(r->reason, sizeof(r->reason),
			 "Manual Intervention Required: %s. healer stopped itself: every execution escalates "
			 "until a person runs `healer enable`", why);
		HL_LOG(HL_LOG_ERROR, "blast radius: the engine stopped itself", HL_LS("execution", execution),
		       HL_LS("reason", why), HL_LB("alert_sent_before", st.alert_sent));
		r->alert = hl_blast_alert_if_owed(ctx, c, s->table, execution, &st);
		if (!r->alert)
			r->alert = alert_outcome(false, "skipped", "already posted by an earlier attempt");
		audit_stop(ctx, c, s, execution, &st);
	} else {
		r->already_stopped = true;
		snprintf(r->reason, sizeof(r->reason),
			 "Manual Intervention Required: engine stopped by the blast-radius limit (%.500s); "
			 "run `healer enable` to resume",
			 st.stopped ? st.reason : why);
	}
	return HL_OK;
}

json_object *hl_blast_result_json(hl_blast_result *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "class", window_json(&r->klass));
	json_object_object_add(o, "hour", r->hour.key[0] ? window_json(&r->hour) : NULL);
	json_object_object_add(o, "counted", json_object_new_boolean(r->counted));
	json_object_object_add(o, "refused", json_object_new_boolean(r->refused));
	json_object_object_add(o, "tripped", json_object_new_boolean(r->tripped));
	json_object_object_add(o, "alreadyStopped", json_object_new_boolean(r->already_stopped));
	json_object_object_add(o, "alert", r->alert);
	r->alert = NULL;
	return o;
}

/* ---- operators ---------------------------------------------------------------------- */

int hl_blast_reset(hl_aws_conn *c, const char *table, const char *actor, const char *reason,
		   int64_t now_ms, bool *was_stopped, hl_blast_state *after, hl_err *err)
{
	json_object *attrs = NULL;
	char now_iso[25];
	*was_stopped = false;
	memset(after, 0, sizeof(*after));
	hl_format_iso8601_ms(now_ms, now_iso);
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#st", json_object_new_string("stopped"));
	json_object_object_add(names, "#ep", json_object_new_string("epoch"));
	json_object_object_add(names, "#ea", json_object_new_string("enabledAt"));
	json_object_object_add(names, "#eb", json_object_new_string("enabledBy"));
	json_object_object_add(names, "#er", json_object_new_string("enableReason"));
	json_object *values = json_object_new_object();
	json_object_object_add(values, ":t", hl_ddb_bool(true));
	json_object_object_add(values, ":f", hl_ddb_bool(false));
	json_object_object_add(values, ":zero", hl_ddb_n(0));
	json_object_object_add(values, ":one", hl_ddb_n(1));
	json_object_object_add(values, ":now", hl_ddb_s(now_iso));
	json_object_object_add(values, ":actor", hl_ddb_s(actor));
	json_object_object_add(values, ":reason", hl_ddb_s(reason && *reason ? reason : "(none given)"));
	hl_ddb_update u = {
		.table = table,
		.key = key_of(HL_BLAST_STATE_KEY),
		.update = "SET #st = :f, #ep = if_not_exists(#ep, :zero) + :one, #ea = :now, #eb = :actor, "
			  "#er = :reason",
		.condition = "#st = :t",
		.names = names,
		.values = values,
		.return_new = true,
	};
	HL_GUARD(hl_ddb_update_if(c, &u, was_stopped, &attrs, err));
	if (!*was_stopped)
		return hl_blast_state_read(c, table, after, err);   /* not stopped: nothing to clear */
	state_from_item(attrs, after);
	json_object_put(attrs);
	return HL_OK;
}

/* One window's current standing, for `healer status`. */
static int window_status(hl_aws_conn *c, const hl_blast_settings *s, const char *klass, long long epoch,
			 int64_t now_ms, json_object **out, hl_err *err)
{
	int window_s = klass ? TEN_MIN_S : HOUR_S;
	int64_t start = hl_blast_bucket_start(now_ms / 1000, window_s);
	hl_blast_window w;
	char prev_key[128];
	json_object *cur = NULL, *prev = NULL;
	int rc;

	memset(&w, 0, sizeof(w));
	w.max = klass ? s->max_per_class_10m : s->max_per_hour;
	hl_blast_bucket_key(epoch, klass, start, window_s, w.key, sizeof(w.key));
	hl_blast_bucket_key(epoch, klass, start - window_s, window_s, prev_key, sizeof(prev_key));
	rc = get_item(c, s->table, w.key, &cur, err);
	if (rc == HL_OK)
		rc = get_item(c, s->table, prev_key, &prev, err);
	w.count = bucket_count(cur);
	w.previous = bucket_count(prev);
	w.limit = hl_blast_bucket_limit(w.max, w.previous, now_ms - start * 1000, (int64_t)window_s * 1000);
	json_object_put(cur);
	json_object_put(prev);
	if (rc < 0)
		return rc;
	*out = window_json(&w);
	json_object_object_del(*out, "counted");
	json_object_object_del(*out, "full");
	json_object_object_add(*out, "remaining", json_object_new_int(w.limit > w.count ? w.limit - w.count : 0));
	return HL_OK;
}

int hl_blast_counts_json(hl_aws_conn *c, const hl_blast_settings *s, long long epoch, int64_t now_ms,
			 json_object **out, hl_err *err)
{
	json_object *o = json_object_new_object(), *classes = json_object_new_object(), *w = NULL;
	int rc;
	*out = NULL;
	json_object_object_add(o, "classes", classes);
	HL_GUARD_GOTO(rc, window_status(c, s, NULL, epoch, now_ms, &w, err), fail);
	json_object_object_add(o, "hour", w);
	for (size_t i = 0; CLASSES[i]; i++) {
		HL_GUARD_GOTO(rc, window_status(c, s, CLASSES[i], epoch, now_ms, &w, err), fail);
		json_object_object_add(classes, CLASSES[i], w);
	}
	*out = o;
	return HL_OK;
fail:
	json_object_put(o);
	return rc;
}
