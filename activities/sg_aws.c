/* sg_aws.c - remediate-sg's AWS calls (include/healer/sg_aws.h): reading
 * a security group from AWS Config, and starting and following the runbook
 * through SSM Automation. Each failure is named for the operator
 * (Healer.RemediateSg.*) here, so the activity's flow stays a flow.
 */
#include <string.h>

#include "healer/clock.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/sg_aws.h"

#define PREFIX HL_SG_ERROR_PREFIX
#define RUNBOOK HL_SG_RUNBOOK
/* "not found" answers of GetAutomationExecution waited through (it may
 * not know an execution its start just returned) before giving up. */
#define MAX_MISSING_POLLS 10

int hl_sg_read_group(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *gid, hl_sg_state *st)
{
	json_object *body = json_object_new_object(), *keys = json_object_new_array();
	json_object *key = json_object_new_object(), *resp = NULL, *items = NULL;
	hl_err err;
	int rc = HL_OK;

	memset(st, 0, sizeof(*st));
	json_object_object_add(key, "resourceType", json_object_new_string("AWS::EC2::SecurityGroup"));
	json_object_object_add(key, "resourceId", json_object_new_string(gid));
	json_object_array_add(keys, key);
	json_object_object_add(body, "resourceKeys", keys);
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_config, "BatchGetResourceConfig", body, &resp, NULL, &err);
	if (rc < 0) {
		rc = hl_remediation_aws_fail(ctx, PREFIX, "BatchGetResourceConfig", rc, &err);
		goto out;
	}
	json_object_object_get_ex(resp, "baseConfigurationItems", &items);
	size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
	json_object *item = NULL;
	for (size_t i = 0; i < n && !item; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *id = hl_json_str(it, "resourceId");
		if (id && strcmp(id, gid) == 0)
			item = it;
	}
	const char *status = item ? hl_json_str(item, "configurationItemStatus") : NULL;
	if (!item || (status && strcmp(status, "ResourceNotRecorded") == 0)) {
		rc = hl_activity_fail(ctx, PREFIX ".GroupNotRecorded",
				      "AWS Config has no configuration for %s: cannot record its rules before changing them",
				      gid);
		goto out;
	}
	if (status && strncmp(status, "ResourceDeleted", 15) == 0) {
		rc = hl_activity_fail(ctx, PREFIX ".GroupDeleted", "AWS Config records %s as deleted", gid);
		goto out;
	}
	json_object *ct = NULL;
	if (json_object_object_get_ex(item, "configurationItemCaptureTime", &ct) &&
	    (json_object_is_type(ct, json_type_double) || json_object_is_type(ct, json_type_int)))
		st->capture_time = json_object_get_double(ct);
	char why[128];
	if (hl_sg_parse_configuration(hl_json_str(item, "configuration"), &st->rules, why, sizeof(why)) < 0) {
		rc = hl_activity_fail(ctx, PREFIX ".BadConfiguration",
				      "AWS Config configuration of %s: %s", gid, why);
		goto out;
	}
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

int hl_sg_start_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *role_arn, const char *gid,
			   const char *token, char id_out[37])
{
	json_object *body = json_object_new_object(), *params = json_object_new_object();
	json_object *g = json_object_new_array(), *resp = NULL;
	hl_err err;
	int rc = HL_OK;

	json_object_object_add(body, "DocumentName", json_object_new_string(RUNBOOK));
	json_object_array_add(g, json_object_new_string(gid));
	json_object_object_add(params, "GroupId", g);
	if (role_arn) {
		json_object *role = json_object_new_array();
		json_object_array_add(role, json_object_new_string(role_arn));
		json_object_object_add(params, "AutomationAssumeRole", role);
	}
	json_object_object_add(body, "Parameters", params);
	json_object_object_add(body, "ClientToken", json_object_new_string(token));
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_ssm, "StartAutomationExecution", body, &resp, NULL, &err);
	if (rc < 0) {
		if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "IdempotentParameterMismatch") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".IdempotencyConflict",
					      "StartAutomationExecution: ClientToken %s was used with other parameters: %s",
					      token, err.message);
		else if (err.code == HL_ERR_AWS &&
			 strcmp(err.aws_code, "AutomationDefinitionNotFoundException") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".RunbookNotFound",
					      "StartAutomationExecution: %s: %s", RUNBOOK, err.message);
		else
			rc = hl_remediation_aws_fail(ctx, PREFIX, "StartAutomationExecution", rc, &err);
		goto out;
	}
	const char *id = hl_json_str(resp, "AutomationExecutionId");
	if (!hl_valid_ssm_id(id)) {
		rc = hl_activity_fail(ctx, PREFIX ".AwsError",
				      "StartAutomationExecution: the answer has no valid AutomationExecutionId");
		goto out;
	}
	hl_strlcpy(id_out, id, 37);
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

static bool status_in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

int hl_sg_wait_automation(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *id, int poll_ms, int wait_s,
			  char *status, size_t statussz, char *failure, size_t failuresz, double *start_time)
{
	static const char *const terminal[] = {
		"Success", "CompletedWithSuccess", "Failed", "TimedOut", "Cancelled",
		"CompletedWithFailure", "Rejected", "Exited", "ChangeCalendarOverrideRejected",
	};
	const hl_clock *clock = hl_clock_system();
	int64_t started = hl_mono_ms(clock);
	int64_t deadline = started + (int64_t)wait_s * 1000;
	json_object *body = json_object_new_object(), *resp = NULL;
	int missing = 0, rc = HL_OK;
	hl_err err;

	hl_strlcpy(status, "Pending", statussz);
	failure[0] = '\0';
	json_object_object_add(body, "AutomationExecutionId", json_object_new_string(id));
	for (;;) {
		if (!hl_activity_sleep(ctx, poll_ms)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		json_object_put(resp);
		resp = NULL;
		hl_err_clear(&err);
		rc = hl_aws_call(conn, &hl_svc_ssm, "GetAutomationExecution", body, &resp, NULL, &err);
		if (rc < 0) {
			bool nf = err.code == HL_ERR_AWS &&
				  strcmp(err.aws_code, "AutomationExecutionNotFoundException") == 0;
			if (nf && ++missing <= MAX_MISSING_POLLS) {
				rc = HL_OK;
				continue;
			}
			rc = nf ? hl_activity_fail(ctx, PREFIX ".AutomationNotFound",
						   "GetAutomationExecution: %s not found after %d polls", id,
						   missing - 1)
				: hl_remediation_aws_fail(ctx, PREFIX, "GetAutomationExecution", rc, &err);
			goto out;
		}
		missing = 0;
		json_object *ae = NULL, *t = NULL;
		json_object_object_get_ex(resp, "AutomationExecution", &ae);
		hl_excerpt(hl_json_str(ae, "AutomationExecutionStatus"), 40, status, statussz);
		if (json_object_object_get_ex(ae, "ExecutionStartTime", &t) &&
		    (json_object_is_type(t, json_type_double) || json_object_is_type(t, json_type_int)))
			*start_time = json_object_get_double(t);
		if (status_in(status, terminal, sizeof(terminal) / sizeof(terminal[0]))) {
			hl_excerpt(hl_json_str(ae, "FailureMessage"), 512, failure, failuresz);
			goto out;
		}
		if (hl_mono_ms(clock) > deadline) {
			rc = hl_activity_fail(ctx, PREFIX ".AutomationTimedOut",
					      "automation %s of %s still %s after %d s (HEALER_AUTOMATION_WAIT_S)",
					      id, RUNBOOK, status, wait_s);
			goto out;
		}
	}
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}
