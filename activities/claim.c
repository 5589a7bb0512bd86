/* claim.c - the guard's duplicate-event check: one conditional write per
 * event id in the breaker table (see include/healer/claim.h).
 */
#include <string.h>

#include "healer/claim.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/record.h"

#define CLAIM_TTL_S (2 * 24 * 3600)

void hl_claim_key(const char *event_id, char out[71])
{
	hl_sha256_key("event#", event_id, 64, out, 71);
}

static json_object *claim_key_json(const hl_claim *c)
{
	json_object *k = json_object_new_object();
	json_object_object_add(k, "pk", hl_ddb_s(c->key));
	return k;
}

static int read_owner(hl_aws_conn *conn, const char *table, hl_claim *c, hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL, *item = NULL;
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Key", claim_key_json(c));
	json_object_object_add(in, "ConsistentRead", json_object_new_boolean(1));
	int rc = hl_aws_call(conn, &hl_svc_dynamodb, "GetItem", in, &out, NULL, err);
	if (rc == HL_OK) {
		json_object_object_get_ex(out, "Item", &item);
		const char *owner = hl_ddb_get_s(item, "execution");
		hl_excerpt(owner ? owner : "", sizeof(c->owner) - 1, c->owner, sizeof(c->owner));
	}
	json_object_put(in);
	json_object_put(out);
	return rc;
}

int hl_claim_event(hl_aws_conn *conn, const char *table, const char *event_id,
		   const char *execution, bool dry_run, int64_t now_ms, hl_claim *c,
		   const char **op, hl_err *err)
{
	memset(c, 0, sizeof(*c));
	hl_claim_key(event_id, c->key);
	hl_excerpt(event_id, sizeof(c->event_id) - 1, c->event_id, sizeof(c->event_id));
	*op = "GetItem";
	if (dry_run) {
		HL_GUARD(read_owner(conn, table, c, err));
		c->duplicate = c->owner[0] && strcmp(c->owner, execution) != 0;
		return HL_OK;
	}
	char now_iso[25];
	hl_format_iso8601_ms(now_ms, now_iso);
	json_object *names = json_object_new_object();
	json_object_object_add(names, "#ex", json_object_new_string("execution"));
	json_object_object_add(names, "#id", json_object_new_string("eventId"));
	json_object_object_add(names, "#at", json_object_new_string("claimedAt"));
	json_object_object_add(names, "#ttl", json_object_new_string("expires_at"));
	json_object *values = json_object_new_object();
	json_object_object_add(values, ":exec", hl_ddb_s(execution));
	json_object_object_add(values, ":id", hl_ddb_s(c->event_id));
	json_object_object_add(values, ":now", hl_ddb_s(now_iso));
	json_object_object_add(values, ":exp", hl_ddb_n(now_ms / 1000 + CLAIM_TTL_S));
	hl_ddb_update u = {
		.table = table,
		.key = claim_key_json(c),
		.update = "SET #ex = if_not_exists(#ex, :exec), #id = if_not_exists(#id, :id), "
			  "#at = if_not_exists(#at, :now), #ttl = if_not_exists(#ttl, :exp)",
		.condition = "attribute_not_exists(#ex) OR #ex = :exec",
		.names = names,
		.values = values,
	};
	*op = "UpdateItem";
	HL_GUARD(hl_ddb_update_if(conn, &u, &c->claimed, NULL, err));
	if (c->claimed) {
		hl_strlcpy(c->owner, execution, sizeof(c->owner));
		return HL_OK;
	}
	*op = "GetItem";
	int rc = read_owner(conn, table, c, err);
	c->duplicate = rc == HL_OK;
	return rc;
}

json_object *hl_claim_json(const hl_claim *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(c->key));
	json_object_object_add(o, "eventId", json_object_new_string(c->event_id));
	json_object_object_add(o, "claimedBy", c->owner[0] ? json_object_new_string(c->owner) : NULL);
	json_object_object_add(o, "duplicate", json_object_new_boolean(c->duplicate));
	json_object_object_add(o, "claimed", json_object_new_boolean(c->claimed));
	return o;
}
