/* guard.c - the guard activity and the kill switch (killswitch.h).
 *
 * The guard decides whether the engine may act on an event at all. Checks,
 * cheapest first; the first refusal wins:
 *   1. kill switch   SSM GetParameter through a <= 10 s process-wide cache
 *                    -> "engine disabled"
 *   2. no resource   the event names none (diagnose will call it unknown)
 *                    -> proceed, nothing else to check
 *   3. break-glass   resource account in HEALER_BREAK_GLASS_ACCOUNTS
 *   4. protected     security group in HEALER_PROTECTED_SGS
 *   5. opt-out       tag AutoRemediate=false (any case) via Tagging API
 *   6. duplicate     the event id is claimed by another execution
 *                    (claim.h: EventBridge delivers at least once)
 *   7. blast state   the engine stopped itself (blast.h) -> refuse
 *   8. breaker       one atomic DynamoDB UpdateItem (below)
 *   9. blast radius  the engine-wide windows (blast.h); a full one stops
 *                    the engine (one Slack alert) and refuses
 * Before all of these, a recovery event (recovery.h: an OK disk alarm, a
 * COMPLIANT restricted-ssh result) is only recognised: proceed false,
 * recovery true, and GuardChoice sends it to Recover, which closes
 * tickets and changes nothing in AWS.
 *
 * Circuit breaker. Item key pk = "<resource id>#<UTC hour YYYY-MM-DDTHH>",
 * attributes count (N), executions (SS of execution ARNs counted) and
 * expires_at (N, epoch s = end of the hour + 1 h; housekeeping only: the key
 * changes every hour, so an expired-but-undeleted item is never read).
 *   UpdateItem  ADD #c :one, #ex :execs  SET #ttl = if_not_exists(#ttl, :exp)
 *   Condition   (attribute_not_exists(#c) OR #c < :max)
 *               AND NOT contains(#ex, :exec)
 * Success: this execution is counted (count <= max). Condition failure
 * means either the breaker is full or this execution was counted before (a
 * state-machine retry). A consistent GetItem tells which: both facts only
 * ever grow within the hour (count rises, the set gains members), so the
 * read cannot contradict the failed write. A retry of a counted execution
 * proceeds without counting twice; anything else is "Manual Intervention
 * Required". The set holds at most max ARNs (ADD happens only below max).
 * Dry-run never writes: one GetItem reports the count and what would happen.
 *
 * Kill switch cache: one entry (parameter name, state, fetch time) under a
 * mutex; no I/O under the lock. Errors are not cached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "healer/activity.h"
#include "healer/blast.h"
#include "healer/claim.h"
#include "healer/clock.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/event.h"
#include "healer/ids.h"
#include "healer/killswitch.h"
#include "healer/log.h"
#include "healer/outcome_metrics.h"
#include "healer/record.h"
#include "healer/recovery.h"
#include "healer/settings.h"

#define DEFAULT_BREAKER_TABLE "healer-breaker"
#define DEFAULT_BREAKER_MAX 3
#define BREAKER_MAX_LIMIT 100

/* ---- settings ------------------------------------------------------------- */

/* SSM parameter names: [A-Za-z0-9_.-/], 1..1011 bytes; a path starts
 * with '/'. */
static bool valid_param_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 1011)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || c == '/'))
			return false;
	}
	return !strchr(s, '/') || s[0] == '/';
}

/* DynamoDB table names: [A-Za-z0-9_.-], 3..255. */
static bool valid_table_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

typedef struct guard_settings {
	const char *param;
	int cache_s;
	const char *table;
	int max;
	hl_strlist protected_sgs;
	hl_strlist break_glass;
	hl_blast_settings blast;
} guard_settings;

static void guard_settings_free(guard_settings *s)
{
	hl_strlist_free(&s->protected_sgs);
	hl_strlist_free(&s->break_glass);
}

static int killswitch_settings(const char **param, int *cache_s, hl_err *err)
{
	HL_GUARD(hl_setting_str_check("HEALER_KILL_SWITCH_PARAM", HL_KILLSWITCH_DEFAULT_PARAM, 1011,
				      valid_param_name,
				      "must be an SSM parameter name ([A-Za-z0-9_.-/], a path "
				      "starting with /)",
				      param, err));
	return hl_setting_int("HEALER_KILL_SWITCH_CACHE_S", HL_KILLSWITCH_CACHE_MAX_S, 0,
			      HL_KILLSWITCH_CACHE_MAX_S, cache_s, err);
}

static int guard_settings_load(guard_settings *s, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	int rc = HL_OK;
	HL_GUARD_GOTO(rc, killswitch_settings(&s->param, &s->cache_s, err), fail);
	HL_GUARD_GOTO(rc, hl_setting_str_check("HEALER_BREAKER_TABLE", DEFAULT_BREAKER_TABLE, 255,
					       valid_table_name,
					       "must be a DynamoDB table name ([A-Za-z0-9_.-], 3..255)",
					       &s->table, err),
		      fail);
	HL_GUARD_GOTO(rc, hl_setting_int("HEALER_BREAKER_MAX", DEFAULT_BREAKER_MAX, 1,
					 BREAKER_MAX_LIMIT, &s->max, err),
		      fail);
	HL_GUARD_GOTO(rc, hl_setting_list("HEALER_PROTECTED_SGS", NULL, hl_valid_security_group_id,
					  &s->protected_sgs, err),
		      fail);
	HL_GUARD_GOTO(rc, hl_setting_list("HEALER_BREAK_GLASS_ACCOUNTS", NULL,
					  hl_valid_account_id, &s->break_glass, err),
		      fail);
	HL_GUARD_GOTO(rc, hl_blast_settings_load(&s->blast, err), fail);
	return HL_OK;
fail:
	guard_settings_free(s);
	return rc;
}

static int guard_init(hl_err *err)
{
	guard_settings s;
	const char *ca_bundle;   /* the blast-radius alert goes to Slack */
	int rc = guard_settings_load(&s, err);
	guard_settings_free(&s);
	if (rc == HL_OK)
		rc = hl_webapi_ca_bundle(true, &ca_bundle, err);
	return rc;
}

/* ---- kill switch ------------------------------------------------------------ */

static pthread_mutex_t ks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool valid;
	char param[1012];
	hl_killswitch_state state;
	int64_t fetched_ms;
} ks_cache;

const char *hl_killswitch_state_name(hl_killswitch_state s)
{
	switch (s) {
	case HL_KILLSWITCH_ENABLED: return "enabled";
	case HL_KILLSWITCH_DISABLED: return "disabled";
	case HL_KILLSWITCH_NOT_FOUND: return "not-found";
	default: return "unrecognised";
	}
}

bool hl_killswitch_allows(hl_killswitch_state s)
{
	return s == HL_KILLSWITCH_ENABLED || s == HL_KILLSWITCH_NOT_FOUND;
}

void hl_killswitch_invalidate(void)
{
	pthread_mutex_lock(&ks_lock);
	ks_cache.valid = false;
	pthread_mutex_unlock(&ks_lock);
}

static int killswitch_fetch(hl_aws_conn *c, const char *param, hl_killswitch_state *state,
			    hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL;
	int rc = HL_OK;
	json_object_object_add(in, "Name", json_object_new_string(param));
	rc = hl_aws_call(c, &hl_svc_ssm, "GetParameter", in, &out, NULL, err);
	if (rc < 0) {
		if (err && err->code == HL_ERR_AWS && strcmp(err->aws_code, "ParameterNotFound") == 0) {
			HL_LOG(HL_LOG_WARN, "kill switch parameter not found; treating the engine as enabled",
			       HL_LS("parameter", param));
			*state = HL_KILLSWITCH_NOT_FOUND;
			rc = HL_OK;
		}
		goto cleanup;
	}
	json_object *p = NULL, *v = NULL;
	const char *value = NULL;
	if (json_object_object_get_ex(out, "Parameter", &p) &&
	    json_object_object_get_ex(p, "Value", &v) && json_object_is_type(v, json_type_string))
		value = json_object_get_string(v);
	if (value && strcasecmp(value, "true") == 0) {
		*state = HL_KILLSWITCH_ENABLED;
	} else if (value && strcasecmp(value, "false") == 0) {
		*state = HL_KILLSWITCH_DISABLED;
	} else {
		HL_LOG(HL_LOG_WARN, "kill switch has a value other than true/false; treating the "
				    "engine as disabled",
		       HL_LS("parameter", param));
		*state = HL_KILLSWITCH_UNRECOGNISED;
	}
cleanup:
	json_object_put(in);
	json_object_put(out);
	return rc;
}

int hl_killswitch_get(hl_aws_conn *c, hl_killswitch_state *state, hl_err *err)
{
	const char *param = NULL;
	int cache_s = 0;
	HL_GUARD(killswitch_settings(&param, &cache_s, err));
	const hl_clock *clk = hl_clock_system();
	int64_t now = hl_mono_ms(clk);

	pthread_mutex_lock(&ks_lock);
	bool hit = ks_cache.valid && strcmp(ks_cache.param, param) == 0 &&
		   now - ks_cache.fetched_ms < (int64_t)cache_s * 1000;
	if (hit)
		*state = ks_cache.state;
	pthread_mutex_unlock(&ks_lock);
	if (hit)
		return HL_OK;

	if (!c)
		return hl_err_set(err, HL_ERR_CONFIG, "no AWS connection (is a region set?)");
	hl_killswitch_state fresh = HL_KILLSWITCH_ENABLED;
	HL_GUARD(killswitch_fetch(c, param, &fresh, err));
	pthread_mutex_lock(&ks_lock);
	ks_cache.valid = true;
	hl_strlcpy(ks_cache.param, param, sizeof(ks_cache.param));
	ks_cache.state = fresh;
	ks_cache.fetched_ms = now;
	pthread_mutex_unlock(&ks_lock);
	*state = fresh;
	return HL_OK;
}

int hl_killswitch_set(hl_aws_conn *c, bool enabled, const char *reason, hl_err *err)
{
	const char *param = NULL;
	int cache_s = 0;
	json_object *in = NULL, *out = NULL;
	int rc = HL_OK;

	HL_GUARD(killswitch_settings(&param, &cache_s, err));
	size_t n = reason ? strnlen(reason, HL_KILLSWITCH_REASON_MAX + 1) : 0;
	if (!enabled && n == 0)
		return hl_err_set(err, HL_ERR_INVALID, "disabling the engine needs a reason");
	if (n > HL_KILLSWITCH_REASON_MAX)
		return hl_err_set(err, HL_ERR_INVALID, "the reason is longer than %d bytes",
				  HL_KILLSWITCH_REASON_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return hl_err_set(err, HL_ERR_INVALID,
					  "the reason must not contain control characters");
	if (!c)
		return hl_err_set(err, HL_ERR_CONFIG, "no AWS connection (is a region set?)");

	char *desc = hl_xasprintf("%s by operator%s%s", enabled ? "enabled" : "disabled",
				  n ? ": " : "", n ? reason : "");
	in = json_object_new_object();
	json_object_object_add(in, "Name", json_object_new_string(param));
	json_object_object_add(in, "Value", json_object_new_string(enabled ? "true" : "false"));
	json_object_object_add(in, "Type", json_object_new_string("String"));
	json_object_object_add(in, "Overwrite", json_object_new_boolean(1));
	json_object_object_add(in, "Description", json_object_new_string(desc));
	free(desc);
	HL_GUARD_GOTO(rc, hl_aws_call(c, &hl_svc_ssm, "PutParameter", in, &out, NULL, err), cleanup);
	hl_killswitch_invalidate();
	HL_LOG(HL_LOG_WARN, enabled ? "kill switch set: engine enabled" : "kill switch set: engine disabled",
	       HL_LS("parameter", param), HL_LS("reason", n ? reason : NULL));
cleanup:
	json_object_put(in);
	json_object_put(out);
	return rc;
}

/* ---- circuit breaker -------------------------------------------------------- */

typedef struct breaker {
	char key[sizeof(((hl_resource *)0)->id) + 16];
	int count;
	int max;
	bool open;
	bool counted;     /* this execution is among those counted */
} breaker;

static json_object *breaker_key_json(const breaker *b)
{
	json_object *k = json_object_new_object();
	json_object_object_add(k, "pk", hl_ddb_s(b->key));
	return k;
}

/* count and whether `execution` is in executions, from an item (wire form,
 * may be NULL). */
static void read_item(json_object *item, const char *execution, int *count, bool *has_exec)
{
	long long v = 0;
	/* A count outside 0..10^6 is not one this code wrote: read it as 0. */
	*count = hl_ddb_get_n(item, "count", &v) && v >= 0 && v <= 1000000 ? (int)v : 0;
	*has_exec = hl_ddb_ss_contains(item, "executions", execution);
}

static int breaker_read(hl_aws_conn *c, const char *table, const char *execution, breaker *b,
			hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL, *names = json_object_new_object();
	int rc = HL_OK;
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Key", breaker_key_json(b));
	json_object_object_add(in, "ConsistentRead", json_object_new_boolean(1));
	json_object_object_add(in, "ProjectionExpression", json_object_new_string("#c, #ex"));
	json_object_object_add(names, "#c", json_object_new_string("count"));
	json_object_object_add(names, "#ex", json_object_new_string("executions"));
	json_object_object_add(in, "ExpressionAttributeNames", names);
	HL_GUARD_GOTO(rc, hl_aws_call(c, &hl_svc_dynamodb, "GetItem", in, &out, NULL, err), cleanup);
	json_object *item = NULL;
	json_object_object_get_ex(out, "Item", &item);
	read_item(item, execution, &b->count, &b->counted);
cleanup:
	json_object_put(in);
	json_object_put(out);
	return rc;
}

/* The atomic increment. Returns 0 with b filled, or the AWS failure. */
static int breaker_count(hl_aws_conn *c, const char *table, const char *execution,
			 int64_t expires_at, breaker *b, hl_err *err)
{
	json_object *attrs = NULL;
	bool updated = false;
	HL_GUARD(hl_ddb_count_execution(c, table, breaker_key_json(b), execution, b->max, expires_at, &updated,
					&attrs, err));
	if (!updated) {
		/* Full, or this execution was counted by an earlier attempt. */
		HL_GUARD(breaker_read(c, table, execution, b, err));
		b->open = !b->counted;
		return HL_OK;
	}
	read_item(attrs, execution, &b->count, &b->counted);
	json_object_put(attrs);
	b->counted = true;
	b->open = false;
	return HL_OK;
}

static json_object *breaker_json(const breaker *b, bool dry_run)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(b->key));
	json_object_object_add(o, "count", json_object_new_int(b->count));
	json_object_object_add(o, "max", json_object_new_int(b->max));
	json_object_object_add(o, "open", json_object_new_boolean(b->open));
	json_object_object_add(o, "counted", json_object_new_boolean(b->counted));
	json_object_object_add(o, "dryRun", json_object_new_boolean(dry_run));
	return o;
}

/* ---- the activity ----------------------------------------------------------- */

typedef struct decision {
	bool proceed;
	const char *kind;   /* HL_METRIC_DECISIONS: the check that decided */
	char reason[1024];
} decision;

static int refuse(decision *d, const char *kind, const char *reason)
{
	d->proceed = false;
	d->kind = kind;
	hl_strlcpy(d->reason, reason, sizeof(d->reason));
	return HL_OK;
}

/* Runs the checks in order and fills d (and out's killSwitch, optOut and
 * breaker). Returns 0 once decided, or a negative status after recording
 * the failure with hl_activity_fail. */
static int decide(hl_activity_ctx *ctx, hl_aws_conn *aws, const guard_settings *set,
		  const hl_event_info *info, const char *event_id, const char *execution, bool dry_run,
		  json_object *out, decision *d)
{
	const hl_resource *res = &info->resource;
	hl_err err;
	hl_err_clear(&err);
	d->proceed = true;
	d->kind = "proceed";
	hl_strlcpy(d->reason, "ok", sizeof(d->reason));

	/* 1. kill switch */
	hl_killswitch_state ks = HL_KILLSWITCH_ENABLED;
	int rc = hl_killswitch_get(aws, &ks, &err);
	if (rc < 0)
		return hl_remediation_aws_fail(ctx, "Healer.Guard", "GetParameter", rc, &err);
	json_object_object_add(out, "killSwitch",
			       json_object_new_string(hl_killswitch_state_name(ks)));
	if (!hl_killswitch_allows(ks))
		return refuse(d, "kill-switch", "engine disabled");
	/* 2. nothing to guard */
	if (res->type == HL_RESOURCE_NONE)
		return HL_OK;
	/* 3, 4. static lists */
	if (hl_strlist_contains(&set->break_glass, res->account))
		return refuse(d, "break-glass", "break-glass account");
	if (res->type == HL_RESOURCE_SECURITY_GROUP && hl_strlist_contains(&set->protected_sgs, res->id))
		return refuse(d, "protected", "protected security group");
	if (hl_activity_cancelled(ctx))
		return HL_ERR_CANCELLED;
	/* 5. opt-out tag */
	json_object *tags = NULL, *opt = NULL;
	rc = hl_resource_tags(aws, res, &tags, &err);
	if (rc < 0)
		return hl_remediation_aws_fail(ctx, "Healer.Guard", "GetResources", rc, &err);
	bool opted_out = json_object_object_get_ex(tags, "AutoRemediate", &opt) &&
			 strcasecmp(json_object_get_string(opt), "false") == 0;
	json_object_put(tags);
	if (opted_out) {
		json_object_object_add(out, "optOut", json_object_new_boolean(1));
		return refuse(d, "opted-out", "opted out: AutoRemediate=false");
	}
	if (hl_activity_cancelled(ctx))
		return HL_ERR_CANCELLED;
	/* 6. one remediation per event */
	int64_t now_ms = hl_wall_ms(hl_clock_system());
	const char *op = NULL;
	if (event_id) {
		hl_claim claim;
		rc = hl_claim_event(aws, set->table, event_id, execution, dry_run, now_ms, &claim, &op, &err);
		if (rc < 0)
			return hl_remediation_aws_fail(ctx, "Healer.Guard", op, rc, &err);
		json_object_object_add(out, "claim", hl_claim_json(&claim));
		if (claim.duplicate) {
			json_object_object_add(out, "duplicate", json_object_new_boolean(1));
			d->proceed = false;
			d->kind = "duplicate";
			snprintf(d->reason, sizeof(d->reason),
				 "duplicate event: event %s is already handled by execution %s", claim.event_id,
				 claim.owner);
			return HL_OK;
		}
	}
	/* 7. the engine stopped itself */
	hl_blast_state bst;
	rc = hl_blast_state_read(aws, set->table, &bst, &err);
	if (rc < 0)
		return hl_remediation_aws_fail(ctx, "Healer.Guard", "GetItem", rc, &err);
	if (bst.stopped) {
		json_object *bj = json_object_new_object();
		json_object_object_add(bj, "stopped", json_object_new_boolean(1));
		json_object_object_add(bj, "epoch", json_object_new_int64(bst.epoch));
		json_object_object_add(bj, "state", hl_blast_state_json(&bst));
		/* A retry of the execution that stopped the engine owes the
		 * alert when its first attempt could not post it. */
		if (!dry_run)
			json_object_object_add(bj, "alert", hl_blast_alert_if_owed(ctx, aws, set->table,
										 execution, &bst));
		json_object_object_add(out, "blast", bj);
		d->proceed = false;
		d->kind = "blast-stopped";
		snprintf(d->reason, sizeof(d->reason),
			 "Manual Intervention Required: engine stopped by the blast-radius limit (%.300s) "
			 "at %s; run `healer enable` to resume",
			 bst.reason, bst.stopped_at);
		return HL_OK;
	}
	if (hl_activity_cancelled(ctx))
		return HL_ERR_CANCELLED;
	/* 8. circuit breaker */
	breaker b;
	memset(&b, 0, sizeof(b));
	b.max = set->max;
	int64_t now_s = hl_wall_ms(hl_clock_system()) / 1000;
	int64_t hour = now_s - now_s % 3600;
	char iso[21];
	hl_format_iso8601(hour, iso);
	snprintf(b.key, sizeof(b.key), "%s#%.13s", res->id, iso);
	if (dry_run) {
		rc = breaker_read(aws, set->table, execution, &b, &err);
		if (rc < 0)
			return hl_remediation_aws_fail(ctx, "Healer.Guard", "GetItem", rc, &err);
		b.open = !b.counted && b.count >= b.max;
	} else {
		rc = breaker_count(aws, set->table, execution, hour + 2 * 3600, &b, &err);
		if (rc < 0)
			return hl_remediation_aws_fail(ctx, "Healer.Guard", "UpdateItem", rc, &err);
	}
	json_object_object_add(out, "breaker", breaker_json(&b, dry_run));
	if (b.open) {
		d->proceed = false;
		d->kind = "breaker";
		snprintf(d->reason, sizeof(d->reason),
			 "Manual Intervention Required: circuit breaker open (%d remediations of %s "
			 "this hour)",
			 b.count, res->id);
		return HL_OK;
	}
	/* 9. the engine-wide blast radius */
	hl_blast_result br;
	rc = hl_blast_count(ctx, aws, &set->blast, execution, hl_event_class_name(info->cls), bst.epoch,
			    dry_run, now_ms, &br, &err);
	if (rc < 0)
		return hl_remediation_aws_fail(ctx, "Healer.Guard", br.failed_op, rc, &err);
	json_object *bj = hl_blast_result_json(&br);
	json_object_object_add(bj, "stopped", json_object_new_boolean(0));
	json_object_object_add(bj, "epoch", json_object_new_int64(bst.epoch));
	json_object_object_add(out, "blast", bj);
	if (br.refused) {
		d->proceed = false;
		d->kind = "blast";
		hl_strlcpy(d->reason, br.reason, sizeof(d->reason));
	}
	return HL_OK;
}

static int guard_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	guard_settings set;
	hl_event_info *info = NULL;
	json_object *out = NULL, *v = NULL, *event = NULL;
	hl_err err;
	int rc = HL_OK;
	const char *execution = NULL;
	bool dry_run = hl_activity_dry_run(ctx);
	decision d;

	memset(&set, 0, sizeof(set));
	hl_err_clear(&err);
	if (!json_object_is_type(input, json_type_object)) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "guard: the input must be an object");
		goto cleanup;
	}
	if (!json_object_object_get_ex(input, "execution", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !hl_valid_execution_arn(json_object_get_string(v))) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput",
				      "guard: \"execution\" must be a Step Functions execution ARN");
		goto cleanup;
	}
	execution = json_object_get_string(v);
	if (json_object_object_get_ex(input, "dryRun", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean)) {
			rc = hl_activity_fail(ctx, "Healer.InvalidInput",
					      "guard: \"dryRun\" must be a boolean");
			goto cleanup;
		}
		dry_run = dry_run || json_object_get_boolean(v);
	}
	if (!json_object_object_get_ex(input, "event", &event)) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "guard: \"event\" is required");
		goto cleanup;
	}
	if (guard_settings_load(&set, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Guard.Config", "%s", err.message);
		goto cleanup;
	}
	hl_aws_conn *aws = hl_activity_aws(ctx);
	if (!aws) {
		rc = hl_activity_fail(ctx, "Healer.Guard.Config",
				      "guard needs AWS: no region configured");
		goto cleanup;
	}
	info = hl_xcalloc(1, sizeof(*info));
	hl_event_classify(event, info);
	const char *event_id = NULL;
	if (json_object_object_get_ex(event, "id", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0 && json_object_get_string_len(v) <= 256)
		event_id = json_object_get_string(v);

	out = json_object_new_object();
	json_object_object_add(out, "dryRun", json_object_new_boolean(dry_run));
	json_object_object_add(out, "optOut", json_object_new_boolean(0));
	json_object_object_add(out, "breaker", NULL);
	json_object_object_add(out, "duplicate", json_object_new_boolean(0));
	json_object_object_add(out, "claim", NULL);
	json_object_object_add(out, "blast", NULL);
	char what[400];
	if (info->cls == HL_EVENT_UNKNOWN && hl_event_recovery(event, info, what, sizeof(what))) {
		/* Not a problem: Recover closes its tickets. No check applies. */
		json_object_object_add(out, "recovery", json_object_new_boolean(1));
		json_object_object_add(out, "killSwitch", NULL);
		d.proceed = false;
		d.kind = "recovery";
		snprintf(d.reason, sizeof(d.reason), "recovery: %s", what);
	} else {
		json_object_object_add(out, "recovery", json_object_new_boolean(0));
		rc = decide(ctx, aws, &set, info, event_id, execution, dry_run, out, &d);
		if (rc < 0)
			goto cleanup;
	}
	json_object_object_add(out, "resource", hl_resource_to_json(&info->resource));
	json_object_object_add(out, "proceed", json_object_new_boolean(d.proceed));
	json_object_object_add(out, "reason", json_object_new_string(d.reason));
	HL_LOG(HL_LOG_INFO, "guard decision", HL_LS("execution", execution),
	       HL_LB("proceed", d.proceed), HL_LS("reason", d.reason),
	       HL_LS("resource", info->resource.type ? info->resource.id : NULL),
	       HL_LB("dry_run", dry_run));
	/* Counted per answered decision: a Step Functions retry of the guard
	 * (the answer lost, a heartbeat timeout) decides and counts again. */
	hl_outcome_guard(d.kind, hl_event_class_name(info->cls));
	*output = out;
	out = NULL;
cleanup:
	guard_settings_free(&set);
	json_object_put(out);
	free(info);
	return rc;
}

const hl_activity hl_activity_guard = {
	.name = "guard",
	.summary = "kill switch, opt-out tag, protected groups, break-glass accounts, circuit breaker",
	.run = guard_run,
	.init = guard_init,
};
