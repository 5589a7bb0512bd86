/* sg_plan.h - remediate-sg's rollback plan, recorded before it acts.
 *
 * Step Functions retries a task whose answer was lost (worker killed after
 * the automation ran, heartbeat timeout, failed answer). The retry reads
 * the group again and finds nothing open on port 22: without a record it
 * could not tell "nothing to do" from "an earlier attempt of this
 * execution did it", and the rollback command would be lost. So before
 * StartAutomationExecution remediate-sg writes the plan into the breaker
 * table (HEALER_BREAKER_TABLE, hash key pk), one item per execution:
 *   pk "sgplan#<64 hex of SHA-256(execution ARN)>", execution (S),
 *   groupId (S), rules (L of M {ipProtocol S, fromPort N, toPort N, cidr S}:
 *   the world-open rules the runbook removes), rollback (S, the command
 *   that re-authorizes them), plannedAt (S, ISO 8601 ms, when first
 *   recorded), capturedAt (N,
 *   the AWS Config capture time of the state the plan was made from, epoch
 *   s), automationExecutionId (S, once the start answered), expires_at (N,
 *   TTL, housekeeping only).
 * A retry that finds the plan answers as the first attempt would have. The
 * item building and parsing below are pure (unit-tested); the three calls
 * at the end make one DynamoDB request each on the caller's connection.
 */
#ifndef HEALER_SG_PLAN_H
#define HEALER_SG_PLAN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/aws.h"
#include "healer/common.h"
#include "healer/sg_rules.h"

/* How long a plan is kept (the TTL attribute): far beyond any retry. */
#define HL_SG_PLAN_TTL_S (14 * 24 * 3600)

typedef struct hl_sg_plan {
	char group[24];              /* sg-... */
	char planned_at[25];         /* ISO 8601 with ms, UTC */
	double captured_at;          /* epoch s; 0 when unknown */
	char automation_id[37];      /* "" when not recorded */
	size_t n;
	hl_sg_rule rules[HL_SG_MAX_RULES];
} hl_sg_plan;

/* "sgplan#" + 64 hex of SHA-256(execution). out: 72 bytes. */
void hl_sg_plan_key(const char *execution, char out[72]);

/* The item (attribute map, key included) for plan p of execution with
 * the rollback command; expires_at in epoch s. Caller puts it. */
json_object *hl_sg_plan_item(const hl_sg_plan *p, const char *execution, const char *rollback,
			     long long expires_at);

/* Reads an item back into *p. HL_OK, or HL_ERR_PARSE with why filled
 * (bounded): an item of another execution or group, or a malformed
 * member, is refused rather than trusted. */
int hl_sg_plan_parse(json_object *item, const char *execution, const char *gid, hl_sg_plan *p,
		     char *why, size_t whysz) HL_MUST_CHECK;

/* Writes the plan (one UpdateItem, the whole plan SET; only when the item
 * is absent or already this execution's; plannedAt and an
 * automationExecutionId already recorded stay). A failed condition is a
 * failure here (HL_ERR_AWS with ConditionalCheckFailedException in err). */
int hl_sg_plan_write(hl_aws_conn *c, const char *table, const hl_sg_plan *p, const char *execution,
		     const char *rollback, int64_t now_ms, hl_err *err) HL_MUST_CHECK;

/* Looks the plan of execution up (strongly consistent GetItem). HL_OK with
 * *found false when there is none; HL_ERR_PARSE (err says why) for an
 * item that does not parse. */
int hl_sg_plan_read(hl_aws_conn *c, const char *table, const char *execution, const char *gid,
		    hl_sg_plan *p, bool *found, hl_err *err) HL_MUST_CHECK;

/* Records the automation the plan's start got (one UpdateItem, only on
 * this execution's existing plan). */
int hl_sg_plan_set_automation(hl_aws_conn *c, const char *table, const char *execution,
			      const char *automation_id, hl_err *err) HL_MUST_CHECK;

#endif
