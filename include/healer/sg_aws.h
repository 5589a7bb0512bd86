/* sg_aws.h - the AWS calls remediate-sg makes to see and change a group:
 * the group as AWS Config records it (BatchGetResourceConfig), and the
 * runbook AWS-DisablePublicAccessForSecurityGroup started and followed
 * through SSM Automation (StartAutomationExecution,
 * GetAutomationExecution).
 *
 * Each call runs on the activity's connection and, when it fails, has
 * already recorded the task failure with hl_activity_fail (errors
 * Healer.RemediateSg.*, or the throttling/AWS errors of
 * hl_remediation_aws_fail) and returns it; HL_ERR_CANCELLED when the task
 * was cancelled while waiting. Called on the executor thread that runs
 * the activity; no shared state.
 */
#ifndef HEALER_SG_AWS_H
#define HEALER_SG_AWS_H

#include <stddef.h>

#include "healer/activity.h"
#include "healer/aws.h"
#include "healer/common.h"
#include "healer/sg_rules.h"

#define HL_SG_ERROR_PREFIX "Healer.RemediateSg"
#define HL_SG_RUNBOOK "AWS-DisablePublicAccessForSecurityGroup"

/* Reads group gid (sg-..., validated) into *st: its world-open rules
 * reaching 22 or 3389 and Config's capture time. A group Config has not
 * recorded (.GroupNotRecorded), records as deleted (.GroupDeleted) or
 * whose configuration does not parse (.BadConfiguration) fails. */
int hl_sg_read_group(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *gid, hl_sg_state *st)
	HL_MUST_CHECK;

/* Starts the runbook on gid, as role_arn when not NULL, with ClientToken
 * token (so a retry of the same execution gets the same automation);
 * id_out gets the AutomationExecutionId. */
int hl_sg_start_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *role_arn, const char *gid,
			   const char *token, char id_out[37]) HL_MUST_CHECK;

/* Waits for automation id to end, polling every poll_ms (cancellation-
 * aware) for at most wait_s (HEALER_AUTOMATION_WAIT_S). status gets its
 * final status, failure its FailureMessage (excerpt, "" if none),
 * *start_time its ExecutionStartTime (epoch s; left alone when the
 * answers had none). */
int hl_sg_wait_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *id, int poll_ms, int wait_s,
			  char *status, size_t statussz, char *failure, size_t failuresz, double *start_time)
	HL_MUST_CHECK;

#endif
