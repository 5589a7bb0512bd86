/* ddb.h - small helpers for DynamoDB's attribute-value wire format.
 *
 * DynamoDB's JSON protocol wraps every value in a one-member object naming
 * its type ({"S": "x"}, {"N": "12"}, {"BOOL": true}, {"SS": [...]},
 * {"M": {...}}, {"L": [...]}, {"NULL": true}). These build such values and
 * read them back from an item (a JSON object of attribute name -> value),
 * accepting only the expected type: a value of another type reads as
 * absent. Shared by the guard's bookkeeping (blast.c, claim.c), the
 * recover activity and the operator commands. No shared state; the
 * conditional updates at the end (hl_ddb_update_if, hl_ddb_count_execution)
 * make one UpdateItem on the caller's connection, nothing else does I/O.
 */
#ifndef HEALER_DDB_H
#define HEALER_DDB_H

#include <json-c/json.h>
#include <stdbool.h>

#include "healer/aws.h"
#include "healer/common.h"

json_object *hl_ddb_s(const char *s);
json_object *hl_ddb_n(long long n);
json_object *hl_ddb_bool(bool b);
/* {"SS": [s]} */
json_object *hl_ddb_ss1(const char *s);

/* item[name].S, or NULL. */
const char *hl_ddb_get_s(json_object *item, const char *name);
/* item[name].N as a whole number; false when absent or not an integer in
 * [-10^15, 10^15]. */
bool hl_ddb_get_n(json_object *item, const char *name, long long *out);
/* item[name].BOOL: 1 / 0, or -1 when absent. */
int hl_ddb_get_bool(json_object *item, const char *name);
/* Whether item[name].SS holds s. */
bool hl_ddb_ss_contains(json_object *item, const char *name, const char *s);
/* The number of members of item[name].SS (0 when absent). */
size_t hl_ddb_ss_len(json_object *item, const char *name);

/* A plain JSON copy of an item: S -> string, N -> number (integer when it
 * is one), BOOL -> boolean, NULL -> null, SS/NS -> array, M/L recursively;
 * B/BS -> "(binary)". NULL item -> NULL. The caller owns the result. */
json_object *hl_ddb_plain(json_object *item);

/* True for a failed condition (ConditionalCheckFailedException). */
bool hl_ddb_condition_failed(int rc, const hl_err *err);

/* A conditional UpdateItem: `update` (UpdateExpression) applied to the item
 * `key` of `table` only when `condition` (ConditionExpression) holds; names
 * and values are the expression attribute maps. The conditional counters
 * and markers of the guard's bookkeeping (breaker, blast radius, claim). */
typedef struct hl_ddb_update {
	const char *table;
	json_object *key;        /* taken: freed by hl_ddb_update_if */
	const char *update;
	const char *condition;
	json_object *names;      /* taken */
	json_object *values;     /* taken */
	bool return_new;         /* ReturnValues ALL_NEW: *attrs gets the item */
} hl_ddb_update;

/* Sends the update. HL_OK with *updated true when the condition held (with
 * return_new, *attrs is the updated item's attributes, caller puts it; else
 * NULL); HL_OK with *updated false when it did not hold (err keeps the
 * ConditionalCheckFailedException detail); else the negative AWS failure.
 * attrs may be NULL. Thread-safe with one conn per thread. */
int hl_ddb_update_if(hl_aws_conn *c, const hl_ddb_update *u, bool *updated, json_object **attrs,
		     hl_err *err) HL_MUST_CHECK;

/* The bounded count of executions the circuit breaker and the blast-radius
 * windows keep: item `key` (taken) of `table` gets count + 1, `execution`
 * in its executions set and expires_at (epoch s) if it has none, only while
 * count < max and the execution is not counted yet. hl_ddb_update_if's
 * answer; *attrs (non-NULL) is the item after the update. Not counted
 * means full, or counted by an earlier attempt: the caller reads the item
 * to tell which. */
int hl_ddb_count_execution(hl_aws_conn *c, const char *table, json_object *key, const char *execution,
			   long long max, long long expires_at, bool *counted, json_object **attrs,
			   hl_err *err) HL_MUST_CHECK;

#endif
