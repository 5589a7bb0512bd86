/* sg_plan.c - remediate-sg's rollback plan in the breaker table (see
 * include/healer/sg_plan.h): the item built and read back with every
 * member checked, and the three DynamoDB calls that keep it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/ddb.h"
#include "healer/ids.h"
#include "healer/record.h"
#include "healer/sg_plan.h"

void hl_sg_plan_key(const char *execution, char out[72])
{
	hl_sha256_key("sgplan#", execution, 64, out, 72);
}

static json_object *key_json(const char *execution)
{
	char key[72];
	json_object *k = json_object_new_object();
	hl_sg_plan_key(execution, key);
	json_object_object_add(k, "pk", hl_ddb_s(key));
	return k;
}

static json_object *rules_value(const hl_sg_plan *p)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < p->n; i++) {
		const hl_sg_rule *r = &p->rules[i];
		json_object *m = json_object_new_object(), *v = json_object_new_object();
		json_object_object_add(m, "ipProtocol", hl_ddb_s(r->proto));
		json_object_object_add(m, "fromPort", hl_ddb_n(r->from));
		json_object_object_add(m, "toPort", hl_ddb_n(r->to));
		json_object_object_add(m, "cidr", hl_ddb_s(r->v6 ? HL_SG_WORLD_V6 : HL_SG_WORLD_V4));
		json_object_object_add(v, "M", m);
		json_object_array_add(list, v);
	}
	json_object *l = json_object_new_object();
	json_object_object_add(l, "L", list);
	return l;
}

/* capturedAt as a DynamoDB number: whole milliseconds are enough. */
static json_object *captured_value(double t)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%.3f", t > 0 ? t : 0.0);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "N", json_object_new_string(buf));
	return o;
}

json_object *hl_sg_plan_item(const hl_sg_plan *p, const char *execution, const char *rollback,
			     long long expires_at)
{
	char key[72];
	json_object *item = json_object_new_object();
	hl_sg_plan_key(execution, key);
	json_object_object_add(item, "pk", hl_ddb_s(key));
	json_object_object_add(item, "execution", hl_ddb_s(execution));
	json_object_object_add(item, "groupId", hl_ddb_s(p->group));
	json_object_object_add(item, "rules", rules_value(p));
	json_object_object_add(item, "rollback", hl_ddb_s(rollback ? rollback : ""));
	json_object_object_add(item, "plannedAt", hl_ddb_s(p->planned_at));
	json_object_object_add(item, "capturedAt", captured_value(p->captured_at));
	if (p->automation_id[0])
		json_object_object_add(item, "automationExecutionId", hl_ddb_s(p->automation_id));
	json_object_object_add(item, "expires_at", hl_ddb_n(expires_at));
	return item;
}

/* item[name].<type>, or NULL. */
static json_object *typed_member(json_object *item, const char *name, const char *type)
{
	json_object *a = NULL, *v = NULL;
	if (!json_object_is_type(item, json_type_object) || !json_object_object_get_ex(item, name, &a) ||
	    !json_object_is_type(a, json_type_object) || !json_object_object_get_ex(a, type, &v))
		return NULL;
	return v;
}

static bool parse_port(json_object *m, const char *name, int *out)
{
	long long v;
	if (!hl_ddb_get_n(m, name, &v) || v < -1 || v > 65535)
		return false;
	*out = (int)v;
	return true;
}

static bool parse_rule(json_object *av, hl_sg_rule *r)
{
	json_object *map = NULL;
	if (!json_object_is_type(av, json_type_object) || !json_object_object_get_ex(av, "M", &map) ||
	    !json_object_is_type(map, json_type_object))
		return false;
	const char *proto = hl_ddb_get_s(map, "ipProtocol");
	const char *cidr = hl_ddb_get_s(map, "cidr");
	if (!hl_sg_valid_proto(proto) || !cidr || !parse_port(map, "fromPort", &r->from) ||
	    !parse_port(map, "toPort", &r->to))
		return false;
	if (strcmp(cidr, HL_SG_WORLD_V4) == 0)
		r->v6 = false;
	else if (strcmp(cidr, HL_SG_WORLD_V6) == 0)
		r->v6 = true;
	else
		return false;
	hl_strlcpy(r->proto, proto, sizeof(r->proto));
	return true;
}

int hl_sg_plan_parse(json_object *item, const char *execution, const char *gid, hl_sg_plan *p,
		     char *why, size_t whysz)
{
	memset(p, 0, sizeof(*p));
	const char *ex = hl_ddb_get_s(item, "execution");
	const char *g = hl_ddb_get_s(item, "groupId");
	const char *at = hl_ddb_get_s(item, "plannedAt");
	const char *aid = hl_ddb_get_s(item, "automationExecutionId");
	json_object *rules = typed_member(item, "rules", "L"), *cap = typed_member(item, "capturedAt", "N");

	if (!ex || strcmp(ex, execution) != 0) {
		snprintf(why, whysz, "the plan item belongs to another execution");
		return HL_ERR_PARSE;
	}
	if (!g || strcmp(g, gid) != 0 || !hl_valid_security_group_id(g)) {
		snprintf(why, whysz, "the plan item names another security group");
		return HL_ERR_PARSE;
	}
	if (!at || strlen(at) >= sizeof(p->planned_at) || strspn(at, "0123456789-:.TZ") != strlen(at)) {
		snprintf(why, whysz, "plannedAt is missing or malformed");
		return HL_ERR_PARSE;
	}
	if (aid && !hl_valid_ssm_id(aid)) {
		snprintf(why, whysz, "automationExecutionId is malformed");
		return HL_ERR_PARSE;
	}
	if (!json_object_is_type(rules, json_type_array) || json_object_array_length(rules) > HL_SG_MAX_RULES) {
		snprintf(why, whysz, "rules is missing or has more than %d members", HL_SG_MAX_RULES);
		return HL_ERR_PARSE;
	}
	for (size_t i = 0; i < json_object_array_length(rules); i++)
		if (!parse_rule(json_object_array_get_idx(rules, i), &p->rules[p->n++])) {
			snprintf(why, whysz, "rule %zu is malformed", i);
			return HL_ERR_PARSE;
		}
	if (json_object_is_type(cap, json_type_string)) {
		char *end = NULL;
		double t = strtod(json_object_get_string(cap), &end);
		if (end && *end == '\0' && t >= 0 && t < 1e11)
			p->captured_at = t;
	}
	hl_strlcpy(p->group, g, sizeof(p->group));
	hl_strlcpy(p->planned_at, at, sizeof(p->planned_at));
	if (aid)
		hl_strlcpy(p->automation_id, aid, sizeof(p->automation_id));
	return HL_OK;
}

int hl_sg_plan_write(hl_aws_conn *c, const char *table, const hl_sg_plan *p, const char *execution,
		     const char *rollback, int64_t now_ms, hl_err *err)
{
	char at[25];
	bool updated = false;
	hl_format_iso8601_ms(now_ms, at);
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#pk", json_object_new_string("pk"));
	json_object_object_add(names, "#ex", json_object_new_string("execution"));
	json_object_object_add(names, "#g", json_object_new_string("groupId"));
	json_object_object_add(names, "#r", json_object_new_string("rules"));
	json_object_object_add(names, "#rb", json_object_new_string("rollback"));
	json_object_object_add(names, "#at", json_object_new_string("plannedAt"));
	json_object_object_add(names, "#cap", json_object_new_string("capturedAt"));
	json_object_object_add(names, "#ttl", json_object_new_string("expires_at"));
	json_object_object_add(values, ":ex", hl_ddb_s(execution));
	json_object_object_add(values, ":g", hl_ddb_s(p->group));
	json_object_object_add(values, ":r", rules_value(p));
	json_object_object_add(values, ":rb", hl_ddb_s(rollback ? rollback : ""));
	json_object_object_add(values, ":at", hl_ddb_s(at));
	json_object_object_add(values, ":cap", captured_value(p->captured_at));
	json_object_object_add(values, ":ttl", hl_ddb_n(now_ms / 1000 + HL_SG_PLAN_TTL_S));
	hl_ddb_update u = {
		.table = table,
		.key = key_json(execution),
		.update = "SET #ex = :ex, #g = :g, #r = :r, #rb = :rb, #at = if_not_exists(#at, :at), #cap = :cap, "
			  "#ttl = :ttl",
		.condition = "attribute_not_exists(#pk) OR #ex = :ex",
		.names = names,
		.values = values,
	};
	HL_GUARD(hl_ddb_update_if(c, &u, &updated, NULL, err));
	/* Another execution under this key: SHA-256 makes it a broken table,
	 * not a collision; never overwrite it. */
	return updated ? HL_OK : HL_ERR_AWS;
}

int hl_sg_plan_read(hl_aws_conn *c, const char *table, const char *execution, const char *gid,
		    hl_sg_plan *p, bool *found, hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL, *item = NULL;
	char why[96];
	*found = false;
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Key", key_json(execution));
	json_object_object_add(in, "ConsistentRead", json_object_new_boolean(1));
	int rc = hl_aws_call(c, &hl_svc_dynamodb, "GetItem", in, &out, NULL, err);
	if (rc == HL_OK && json_object_object_get_ex(out, "Item", &item) && item) {
		rc = hl_sg_plan_parse(item, execution, gid, p, why, sizeof(why));
		if (rc < 0)
			hl_err_set(err, rc, "%s", why);
		*found = rc == HL_OK;
	}
	json_object_put(in);
	json_object_put(out);
	return rc;
}

int hl_sg_plan_set_automation(hl_aws_conn *c, const char *table, const char *execution,
			      const char *automation_id, hl_err *err)
{
	bool updated = false;
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#ex", json_object_new_string("execution"));
	json_object_object_add(names, "#aid", json_object_new_string("automationExecutionId"));
	json_object_object_add(values, ":ex", hl_ddb_s(execution));
	json_object_object_add(values, ":aid", hl_ddb_s(automation_id));
	hl_ddb_update u = {
		.table = table,
		.key = key_json(execution),
		.update = "SET #aid = :aid",
		.condition = "#ex = :ex",
		.names = names,
		.values = values,
	};
	HL_GUARD(hl_ddb_update_if(c, &u, &updated, NULL, err));
	return updated ? HL_OK : HL_ERR_AWS;
}
