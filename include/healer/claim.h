/* claim.h - one remediation per event: the guard's duplicate check.
 *
 * EventBridge delivers at least once, and its targets cannot name the
 * executions they start, so a duplicate delivery starts a second execution
 * of the same event. Before the guard lets an execution remediate (right
 * before the circuit breaker), it claims the event's id in the breaker
 * table (HEALER_BREAKER_TABLE):
 *   pk "event#<64 hex of SHA-256(event id)>", execution (S, the claimant),
 *   eventId (S, the id when it is printable and short), claimedAt (S),
 *   expires_at (N, TTL: two days; housekeeping only)
 * with ONE conditional UpdateItem (attribute_not_exists(execution) OR
 * execution = :me): the first execution of an event wins; a retry of that
 * same execution finds its own claim and goes on; any other execution of
 * the event is a duplicate and ends quietly (GuardChoice -> Duplicate)
 * without a ticket, an alert or an audit record of its own. `healer
 * replay` names its executions from the event id, so Step Functions
 * refuses a duplicate replay before any of this runs.
 *
 * Dry run: a read only (GetItem): a duplicate of a claimed event is
 * reported as such; a dry run claims nothing, so it never blocks a later
 * real run of the same event.
 */
#ifndef HEALER_CLAIM_H
#define HEALER_CLAIM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "healer/aws.h"
#include "healer/common.h"

typedef struct hl_claim {
	char key[80];               /* "event#<64 hex>" */
	char event_id[129];         /* the id (cleaned), for the output */
	char owner[300];            /* the execution holding the claim ("" if none) */
	bool duplicate;             /* another execution holds it */
	bool claimed;               /* this execution holds it (false in dry run) */
} hl_claim;

/* Claims (or, dry run, looks up) `event_id` for `execution` in `table`.
 * Returns 0 with c filled, or a negative status with err; *op names the
 * DynamoDB call that failed ("UpdateItem" / "GetItem"). */
int hl_claim_event(hl_aws_conn *conn, const char *table, const char *event_id,
		   const char *execution, bool dry_run, int64_t now_ms, hl_claim *c,
		   const char **op, hl_err *err) HL_MUST_CHECK;

/* {"key", "eventId", "claimedBy", "duplicate", "claimed"} */
json_object *hl_claim_json(const hl_claim *c);

/* "event#" + 64 hex of SHA-256(event_id). out: 71 bytes. */
void hl_claim_key(const char *event_id, char out[71]);

#endif
