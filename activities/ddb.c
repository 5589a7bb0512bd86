/* ddb.c - DynamoDB attribute values: building them and reading them back
 * with their type checked (ddb.h); the conditional UpdateItem the guard's
 * bookkeeping makes in several places, built in one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/ddb.h"

#define N_LIMIT 1000000000000000LL

static json_object *typed(const char *type, json_object *v)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, type, v);
	return o;
}

json_object *hl_ddb_s(const char *s)
{
	return typed("S", json_object_new_string(s ? s : ""));
}

json_object *hl_ddb_n(long long n)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", n);
	return typed("N", json_object_new_string(buf));
}

json_object *hl_ddb_bool(bool b)
{
	return typed("BOOL", json_object_new_boolean(b));
}

json_object *hl_ddb_ss1(const char *s)
{
	json_object *list = json_object_new_array();
	json_object_array_add(list, json_object_new_string(s));
	return typed("SS", list);
}

static json_object *member(json_object *item, const char *name, const char *type)
{
	json_object *a = NULL, *v = NULL;
	if (!item || !json_object_is_type(item, json_type_object) ||
	    !json_object_object_get_ex(item, name, &a) || !json_object_is_type(a, json_type_object) ||
	    !json_object_object_get_ex(a, type, &v))
		return NULL;
	return v;
}

const char *hl_ddb_get_s(json_object *item, const char *name)
{
	json_object *v = member(item, name, "S");
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool parse_whole(const char *s, long long *out)
{
	if (!s || !*s)
		return false;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (!end || *end != '\0' || v < -N_LIMIT || v > N_LIMIT)
		return false;
	*out = v;
	return true;
}

bool hl_ddb_get_n(json_object *item, const char *name, long long *out)
{
	json_object *v = member(item, name, "N");
	return v && json_object_is_type(v, json_type_string) &&
	       parse_whole(json_object_get_string(v), out);
}

int hl_ddb_get_bool(json_object *item, const char *name)
{
	json_object *v = member(item, name, "BOOL");
	if (!v || !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

bool hl_ddb_ss_contains(json_object *item, const char *name, const char *s)
{
	json_object *v = member(item, name, "SS");
	if (!v || !s || !json_object_is_type(v, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
			return true;
	}
	return false;
}

size_t hl_ddb_ss_len(json_object *item, const char *name)
{
	json_object *v = member(item, name, "SS");
	return v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

static json_object *number(const char *s)
{
	long long v;
	if (parse_whole(s, &v))
		return json_object_new_int64(v);
	char *end = NULL;
	double d = strtod(s, &end);
	if (end && *end == '\0' && end != s)
		return json_object_new_double(d);
	return json_object_new_string(s);
}

static json_object *plain_value(json_object *av)
{
	if (!av || !json_object_is_type(av, json_type_object))
		return NULL;
	json_object_object_foreach(av, type, v) {
		if (strcmp(type, "S") == 0)
			return json_object_new_string(json_object_get_string(v));
		if (strcmp(type, "N") == 0)
			return number(json_object_get_string(v));
		if (strcmp(type, "BOOL") == 0)
			return json_object_new_boolean(json_object_get_boolean(v));
		if (strcmp(type, "NULL") == 0)
			return NULL;
		if (strcmp(type, "SS") == 0 || strcmp(type, "NS") == 0) {
			json_object *arr = json_object_new_array();
			for (size_t i = 0; json_object_is_type(v, json_type_array) &&
					   i < json_object_array_length(v); i++) {
				const char *e = json_object_get_string(json_object_array_get_idx(v, i));
				json_object_array_add(arr, type[0] == 'N' ? number(e) : json_object_new_string(e));
			}
			return arr;
		}
		if (strcmp(type, "L") == 0) {
			json_object *arr = json_object_new_array();
			for (size_t i = 0; json_object_is_type(v, json_type_array) &&
					   i < json_object_array_length(v); i++)
				json_object_array_add(arr, plain_value(json_object_array_get_idx(v, i)));
			return arr;
		}
		if (strcmp(type, "M") == 0)
			return hl_ddb_plain(v);
		return json_object_new_string("(binary)");
	}
	return NULL;
}

json_object *hl_ddb_plain(json_object *item)
{
	if (!item || !json_object_is_type(item, json_type_object))
		return NULL;
	json_object *out = json_object_new_object();
	json_object_object_foreach(item, name, av)
		json_object_object_add(out, name, plain_value(av));
	return out;
}

bool hl_ddb_condition_failed(int rc, const hl_err *err)
{
	return rc == HL_ERR_AWS && err && strcmp(err->aws_code, "ConditionalCheckFailedException") == 0;
}

int hl_ddb_update_if(hl_aws_conn *c, const hl_ddb_update *u, bool *updated, json_object **attrs, hl_err *err)
{
	json_object *in = json_object_new_object(), *out = NULL, *got = NULL;
	*updated = false;
	if (attrs)
		*attrs = NULL;
	json_object_object_add(in, "TableName", json_object_new_string(u->table));
	json_object_object_add(in, "Key", u->key);
	json_object_object_add(in, "UpdateExpression", json_object_new_string(u->update));
	json_object_object_add(in, "ConditionExpression", json_object_new_string(u->condition));
	json_object_object_add(in, "ExpressionAttributeNames", u->names);
	json_object_object_add(in, "ExpressionAttributeValues", u->values);
	if (u->return_new)
		json_object_object_add(in, "ReturnValues", json_object_new_string("ALL_NEW"));
	/* A failed condition is told apart by its error code, so one is kept
	 * even for a caller that passes no err. */
	hl_err local;
	if (err == NULL) {
		hl_err_clear(&local);
		err = &local;
	}
	int rc = hl_aws_call(c, &hl_svc_dynamodb, "UpdateItem", in, &out, NULL, err);
	if (rc == HL_OK) {
		*updated = true;
		if (attrs && u->return_new && json_object_object_get_ex(out, "Attributes", &got))
			*attrs = json_object_get(got);
	} else if (hl_ddb_condition_failed(rc, err)) {
		rc = HL_OK;   /* the condition's answer, not a failure: err says which */
	}
	json_object_put(in);
	json_object_put(out);
	return rc;
}

int hl_ddb_count_execution(hl_aws_conn *c, const char *table, json_object *key, const char *execution,
			   long long max, long long expires_at, bool *counted, json_object **attrs, hl_err *err)
{
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#c", json_object_new_string("count"));
	json_object_object_add(names, "#ex", json_object_new_string("executions"));
	json_object_object_add(names, "#ttl", json_object_new_string("expires_at"));
	json_object_object_add(values, ":one", hl_ddb_n(1));
	json_object_object_add(values, ":max", hl_ddb_n(max));
	json_object_object_add(values, ":exp", hl_ddb_n(expires_at));
	json_object_object_add(values, ":exec", hl_ddb_s(execution));
	json_object_object_add(values, ":execs", hl_ddb_ss1(execution));
	hl_ddb_update u = {
		.table = table,
		.key = key,
		.update = "ADD #c :one, #ex :execs SET #ttl = if_not_exists(#ttl, :exp)",
		.condition = "(attribute_not_exists(#c) OR #c < :max) AND NOT contains(#ex, :exec)",
		.names = names,
		.values = values,
		.return_new = true,
	};
	return hl_ddb_update_if(c, &u, counted, attrs, err);
}
