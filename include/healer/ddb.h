/* ddb.h - small helpers for DynamoDB's attribute-value wire format.
 *
 * DynamoDB's JSON protocol wraps every value in a one-member object naming
 * its type ({"S": "x"}, {"N": "12"}, {"BOOL": true}, {"SS": [...]},
 * {"M": {...}}, {"L": [...]}, {"NULL": true}). These build such values and
 * read them back from an item (a JSON object of attribute name -> value),
 * accepting only the expected type: a value of another type reads as
 * absent. Shared by the guard's bookkeeping (blast.c, claim.c), the
 * recover activity and the operator commands. No I/O, no shared state.
 */
#ifndef HEALER_DDB_H
#define HEALER_DDB_H

#include <json-c/json.h>
#include <stdbool.h>

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

#endif
