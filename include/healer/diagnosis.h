/* diagnosis.h - what the remediation activities share: reading their input
 * (the `diagnosis` produced by diagnose), building their output, deriving
 * idempotency keys from the execution ARN and naming AWS failures.
 *
 * Input of remediate-disk, remediate-sg and renew-cert (docs/ACTIVITIES.md):
 *   {"execution": "<execution ARN>", "dryRun": bool,
 *    "diagnosis": {"class": "...", "details": {...}, "resource": {...}, ...}}
 * Every reader here validates what it returns and, on a bad value, records
 * Healer.InvalidInput naming the field (e.g. "diagnosis.details.instanceId")
 * with hl_activity_fail and returns HL_ERR_INVALID. Values from the input
 * are never echoed into a cause unless they passed validation.
 *
 * Output ($.remediation):
 *   {"action", "dryRun", "applied", "verified", "escalate", "reason",
 *    "before", "after", "rollback", "details"}
 *
 * All functions are thread-safe (no shared state).
 */
#ifndef HEALER_DIAGNOSIS_H
#define HEALER_DIAGNOSIS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "healer/activity.h"
#include "healer/common.h"

/* Largest whole input a remediation accepts (bytes of its JSON text): a
 * Step Functions state payload is at most 256 KiB. */
#define HL_REMEDIATION_INPUT_MAX 262144
/* Largest `diagnosis` object accepted (bytes of its JSON text). */
#define HL_DIAGNOSIS_MAX 65536

typedef struct hl_remediation_input {
	const char *execution;   /* validated execution ARN (borrowed) */
	bool dry_run;            /* input dryRun OR the worker's dry-run */
	json_object *diagnosis;  /* borrowed */
	json_object *details;    /* diagnosis.details, an object (borrowed) */
} hl_remediation_input;

/* Validates the common shape: input an object of at most
 * HL_REMEDIATION_INPUT_MAX bytes; "execution" a valid execution ARN;
 * "dryRun" a boolean; "diagnosis" an object of at most HL_DIAGNOSIS_MAX
 * bytes whose "class" equals want_class and whose "details" is an object.
 * Fills *in (pointers into input). */
int hl_remediation_input_parse(hl_activity_ctx *ctx, json_object *input,
			       const char *want_class, hl_remediation_input *in)
	HL_MUST_CHECK;

/* obj[key] as a string. `path` names obj in errors ("diagnosis.details").
 * Absent or null: *out = NULL, and an error when required. Present: must
 * be a string of 1..max_len bytes, without control characters, and
 * accepted by valid (may be NULL). */
int hl_diag_string(hl_activity_ctx *ctx, json_object *obj, const char *path,
		   const char *key, bool required, size_t max_len,
		   bool (*valid)(const char *), const char **out) HL_MUST_CHECK;

/* obj[key] as a number (integer or double) in [min, max]. Absent or null:
 * *present = false (an error when required). */
int hl_diag_number(hl_activity_ctx *ctx, json_object *obj, const char *path,
		   const char *key, bool required, double min, double max,
		   double *out, bool *present) HL_MUST_CHECK;

/* A name-based UUID (RFC 9562 version 8 layout) from
 * SHA-256(purpose "\n" execution): the same execution and purpose always
 * give the same lowercase UUID (e.g. an SSM ClientToken). out: 37 bytes. */
void hl_execution_uuid(const char *execution, const char *purpose, char out[37]);

/* The first 16 hex digits of SHA-256(execution): a short key for places
 * with little room (an SSM command Comment). out: 17 bytes. */
void hl_execution_short_id(const char *execution, char out[17]);

/* A new output object: action, dryRun as given; applied, verified,
 * escalate false; reason ""; before, after, rollback null; details {}.
 * Set the rest with hl_remediation_set* or json_object_object_add. */
json_object *hl_remediation_output(const char *action, bool dry_run);
void hl_remediation_set_bool(json_object *out, const char *key, bool v);
void hl_remediation_set_reason(json_object *out, const char *reason);
/* out.details (never NULL for an object made by hl_remediation_output). */
json_object *hl_remediation_details(json_object *out);

/* Records the failure of an AWS call `op` that returned rc with err:
 *   cancelled            -> returns HL_ERR_CANCELLED, records nothing;
 *   throttling codes     -> "Healer.Throttled" (the state machine retries);
 *   any other failure    -> "<prefix>.AwsError".
 * The cause names the operation, the AWS error code and its message.
 * Returns a negative status for chaining. */
int hl_remediation_aws_fail(hl_activity_ctx *ctx, const char *prefix, const char *op,
			    int rc, const hl_err *err);

/* obj[key] when it is a JSON string, else NULL (for AWS responses). */
const char *hl_json_str(json_object *obj, const char *key);

/* A printable excerpt of s (NULL = ""): at most max bytes of s, printable
 * ASCII kept, other bytes '?', line breaks "; ", CR dropped; always
 * NUL-terminated within outsz. For AWS-provided text in causes/outputs. */
void hl_excerpt(const char *s, size_t max, char *out, size_t outsz);

/* Formats a byte count for people: "512 B", "12.3 KiB", "4.0 GiB". */
void hl_format_bytes(uint64_t bytes, char *out, size_t outsz);

/* Formats epoch seconds as "2026-11-27T04:33:00Z" (UTC). out: 21 bytes. */
void hl_format_iso8601(int64_t epoch_s, char out[21]);

#endif
