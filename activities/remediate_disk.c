/* remediate_disk.c - activity "remediate-disk": frees disk space on an
 * instance with the project's own SSM command document.
 *
 * Input {"execution", "dryRun", "diagnosis"} with diagnosis.class
 * "disk_pressure" and details {"instanceId", "path", "usedPercent"?}.
 * The document (HEALER_DISK_DOCUMENT, default healer-disk-cleanup; content
 * in activities/disk-cleanup-document.json) runs fixed commands only: it
 * vacuums journald, deletes rotated logs under /var/log and prints
 * machine-readable lines (HEALER_USAGE_BEFORE=91, HEALER_USAGE_AFTER=62,
 * HEALER_FREED_BYTES=..., HEALER_TOP=<bytes> <path>, ...). Its one
 * parameter, mountPath, is checked here with the document's own
 * allowedPattern (^/[A-Za-z0-9._/-]{0,200}$, and no "..") before sending.
 *
 * Run: SendCommand, then GetCommandInvocation every HEALER_SSM_POLL_MS
 * (InvocationDoesNotExist right after sending is normal and retried;
 * Pending/InProgress/Delayed keep polling, with the activity's
 * cancellation-aware sleep, until the command's delivery timeout plus the
 * document's execution timeout has passed). Success -> parse the lines;
 * usage after >= HEALER_DISK_THRESHOLD -> escalate with the largest
 * directories. Failed/TimedOut/Cancelled -> Healer.RemediateDisk.Command*.
 *
 * Idempotency: the command's Comment carries a short id derived from the
 * execution ARN. Before sending, ListCommands (this instance, this
 * document, the last 24 h) looks for a command with that comment; a
 * pending, running or successful one is followed instead of sending a new
 * one. A failed one is sent again: the cleanup itself is idempotent
 * (vacuuming or deleting what is already gone does nothing). SendCommand
 * itself is not retried blindly: after a transient failure ListCommands
 * looks for the command first (the failure may have come after the effect).
 *
 * Dry run: only DescribeInstanceInformation (is the agent registered?);
 * the reason says exactly which command would be sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/clock.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/retry.h"
#include "healer/settings.h"

#define PREFIX "Healer.RemediateDisk"
#define DEFAULT_DOCUMENT "healer-disk-cleanup"
/* SendCommand TimeoutSeconds: how long the command may wait for delivery. */
#define DELIVERY_TIMEOUT_S 120
/* The document's aws:runShellScript timeoutSeconds. */
#define EXECUTION_TIMEOUT_S 600
#define WAIT_MARGIN_S 60
/* Consecutive InvocationDoesNotExist answers tolerated (the botocore
 * CommandExecuted waiter allows 20 attempts). */
#define MAX_MISSING_POLLS 20
#define MAX_TOP 10
#define TOP_PATH_MAX 256
#define MOUNT_PATH_MAX 201
#define LOOKBACK_S (24 * 3600)
#define LIST_PAGES_MAX 5
/* SendCommand attempts, and the pause before looking for a command that a
 * failed attempt may have created (times the attempt number). */
#define SEND_ATTEMPTS 3
#define SEND_RETRY_DELAY_MS 1000

typedef struct disk_settings {
	const char *document;
	double threshold;   /* percent; diagnose reads the same setting */
	int poll_ms;
} disk_settings;

typedef struct top_dir {
	uint64_t bytes;
	char path[TOP_PATH_MAX];
} top_dir;

typedef struct disk_report {
	int before_pct, after_pct;
	uint64_t freed, size, files;
	bool have_before, have_after, have_freed, have_size, have_files;
	size_t n_top;
	top_dir top[MAX_TOP];
} disk_report;

static bool valid_document_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == ':' || c == '/'))
			return false;
	}
	return true;
}

/* The document's allowedPattern ^/[A-Za-z0-9._/-]{0,200}$, and no "..". */
static bool valid_mount_path(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > MOUNT_PATH_MAX || s[0] != '/' || strstr(s, ".."))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '/' || c == '-'))
			return false;
	}
	return true;
}

static int load_settings(disk_settings *s, hl_err *err)
{
	HL_GUARD(hl_setting_str_check("HEALER_DISK_DOCUMENT", DEFAULT_DOCUMENT, 128,
				      valid_document_name,
				      "must be an SSM document name or ARN ([A-Za-z0-9_.:/-], 3..128)",
				      &s->document, err));
	HL_GUARD(hl_setting_double("HEALER_DISK_THRESHOLD", 85, 1, 100, &s->threshold, err));
	HL_GUARD(hl_setting_int("HEALER_SSM_POLL_MS", 3000, 10, 60000, &s->poll_ms, err));
	return HL_OK;
}

static int disk_init(hl_err *err)
{
	disk_settings s;
	return load_settings(&s, err);
}

/* Strict decimal digits (at most 19) into *out. */
static bool parse_u64(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 19 || s[n] != '\0')
		return false;
	*out = strtoull(s, NULL, 10);
	return true;
}

/* Parses the document's HEALER_* lines. The first occurrence of a key
 * counts (the usage lines come before any path is printed). */
static void parse_report(const char *text, const char *mount_path, disk_report *r)
{
	memset(r, 0, sizeof(*r));
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (len > 0 && line[len - 1] == '\r')
				line[len - 1] = '\0';
			uint64_t v = 0;
			char *eq = strchr(line, '=');
			if (eq) {
				*eq = '\0';
				const char *key = line, *val = eq + 1;
				if (strcmp(key, "HEALER_USAGE_BEFORE") == 0 && !r->have_before &&
				    parse_u64(val, &v) && v <= 100) {
					r->before_pct = (int)v;
					r->have_before = true;
				} else if (strcmp(key, "HEALER_USAGE_AFTER") == 0 && !r->have_after &&
					   parse_u64(val, &v) && v <= 100) {
					r->after_pct = (int)v;
					r->have_after = true;
				} else if (strcmp(key, "HEALER_FREED_BYTES") == 0 && !r->have_freed &&
					   parse_u64(val, &v)) {
					r->freed = v;
					r->have_freed = true;
				} else if (strcmp(key, "HEALER_SIZE_BYTES") == 0 && !r->have_size &&
					   parse_u64(val, &v)) {
					r->size = v;
					r->have_size = true;
				} else if (strcmp(key, "HEALER_FILES_REMOVED") == 0 && !r->have_files &&
					   parse_u64(val, &v)) {
					r->files = v;
					r->have_files = true;
				} else if (strcmp(key, "HEALER_TOP") == 0 && r->n_top < MAX_TOP) {
					char *sp = strchr(val, ' ');
					if (sp) {
						*sp = '\0';
						const char *path = sp + 1;
						if (parse_u64(val, &v) && path[0] == '/' &&
						    strcmp(path, mount_path) != 0) {
							top_dir *t = &r->top[r->n_top++];
							t->bytes = v;
							hl_excerpt(path, TOP_PATH_MAX - 4, t->path, sizeof(t->path));
						}
					}
				}
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

static json_object *usage_obj(int pct, const char *path)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "usedPercent", json_object_new_int(pct));
	json_object_object_add(o, "path", json_object_new_string(path));
	return o;
}

/* The SendCommand request. */
static json_object *send_command_body(const disk_settings *set, const char *instance,
				      const char *path, const char *comment)
{
	json_object *body = json_object_new_object();
	json_object *ids = json_object_new_array();
	json_object *params = json_object_new_object();
	json_object *mount = json_object_new_array();
	json_object_object_add(body, "DocumentName", json_object_new_string(set->document));
	json_object_array_add(ids, json_object_new_string(instance));
	json_object_object_add(body, "InstanceIds", ids);
	json_object_array_add(mount, json_object_new_string(path));
	json_object_object_add(params, "mountPath", mount);
	json_object_object_add(body, "Parameters", params);
	json_object_object_add(body, "TimeoutSeconds", json_object_new_int(DELIVERY_TIMEOUT_S));
	json_object_object_add(body, "Comment", json_object_new_string(comment));
	return body;
}

/* DescribeInstanceInformation for one instance: fails with
 * InstanceNotManaged when SSM does not know it; ping gets PingStatus. */
static int check_managed(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *instance,
			 char *ping, size_t pingsz)
{
	json_object *body = json_object_new_object(), *resp = NULL, *list = NULL;
	json_object *filters = json_object_new_array(), *f = json_object_new_object();
	json_object *values = json_object_new_array();
	hl_err err;
	int rc = HL_OK;

	hl_err_clear(&err);
	json_object_object_add(f, "Key", json_object_new_string("InstanceIds"));
	json_object_array_add(values, json_object_new_string(instance));
	json_object_object_add(f, "Values", values);
	json_object_array_add(filters, f);
	json_object_object_add(body, "Filters", filters);
	rc = hl_aws_call(conn, &hl_svc_ssm, "DescribeInstanceInformation", body, &resp, NULL, &err);
	if (rc < 0) {
		if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvalidInstanceId") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".InstanceNotManaged",
					      "%s is not a managed instance: %s", instance, err.message);
		else
			rc = hl_remediation_aws_fail(ctx, PREFIX, "DescribeInstanceInformation", rc, &err);
		goto out;
	}
	json_object_object_get_ex(resp, "InstanceInformationList", &list);
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(list, i);
		const char *id = hl_json_str(it, "InstanceId");
		if (id && strcmp(id, instance) == 0) {
			const char *ps = hl_json_str(it, "PingStatus");
			hl_excerpt(ps ? ps : "unknown", 32, ping, pingsz);
			goto out;
		}
	}
	rc = hl_activity_fail(ctx, PREFIX ".InstanceNotManaged",
			      "%s is not registered with SSM (no running SSM agent, or no instance profile allowing it)",
			      instance);
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

/* Looks for an earlier command of this execution (same comment) on the
 * instance. *found is set when one pending, running or successful exists. */
static int find_command(hl_activity_ctx *ctx, hl_aws_conn *conn, const disk_settings *set,
			const char *instance, const char *comment, char id_out[37], bool *found)
{
	json_object *body = NULL, *resp = NULL;
	char *next = NULL;
	hl_err err;
	int rc = HL_OK;
	char after[21];

	*found = false;
	hl_format_iso8601(hl_wall_ms(hl_clock_system()) / 1000 - LOOKBACK_S, after);
	for (int page = 0; page < LIST_PAGES_MAX; page++) {
		json_object *filters = json_object_new_array(), *f1 = json_object_new_object();
		json_object *f2 = json_object_new_object(), *cmds = NULL;
		body = json_object_new_object();
		json_object_object_add(body, "InstanceId", json_object_new_string(instance));
		json_object_object_add(f1, "key", json_object_new_string("DocumentName"));
		json_object_object_add(f1, "value", json_object_new_string(set->document));
		json_object_object_add(f2, "key", json_object_new_string("InvokedAfter"));
		json_object_object_add(f2, "value", json_object_new_string(after));
		json_object_array_add(filters, f1);
		json_object_array_add(filters, f2);
		json_object_object_add(body, "Filters", filters);
		json_object_object_add(body, "MaxResults", json_object_new_int(50));
		if (next)
			json_object_object_add(body, "NextToken", json_object_new_string(next));
		hl_err_clear(&err);
		rc = hl_aws_call(conn, &hl_svc_ssm, "ListCommands", body, &resp, NULL, &err);
		if (rc < 0) {
			rc = hl_remediation_aws_fail(ctx, PREFIX, "ListCommands", rc, &err);
			goto out;
		}
		json_object_object_get_ex(resp, "Commands", &cmds);
		size_t n = json_object_is_type(cmds, json_type_array) ? json_object_array_length(cmds) : 0;
		for (size_t i = 0; i < n; i++) {
			json_object *c = json_object_array_get_idx(cmds, i);
			const char *cm = hl_json_str(c, "Comment"), *st = hl_json_str(c, "Status");
			const char *id = hl_json_str(c, "CommandId");
			if (!cm || strcmp(cm, comment) != 0 || !hl_valid_ssm_id(id) || !st)
				continue;
			if (strcmp(st, "Pending") == 0 || strcmp(st, "InProgress") == 0 ||
			    strcmp(st, "Success") == 0) {
				hl_strlcpy(id_out, id, 37);
				*found = true;
				goto out;
			}
		}
		free(next);
		next = NULL;
		const char *tok = hl_json_str(resp, "NextToken");
		if (!tok || !*tok || strlen(tok) > 4096)
			break;
		next = hl_xstrdup(tok);
		json_object_put(body);
		json_object_put(resp);
		body = resp = NULL;
	}
out:
	free(next);
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

/* SendCommand has no idempotency token, so it is never retried blindly:
 * after a transient failure (the command may have been created anyway)
 * ListCommands looks for it by its comment before sending again. */
static int send_command(hl_activity_ctx *ctx, hl_aws_conn *conn, const disk_settings *set,
			const char *instance, const char *path, const char *comment, char id_out[37],
			bool *reused)
{
	json_object *body = send_command_body(set, instance, path, comment), *resp = NULL, *cmd = NULL;
	const hl_aws_call_opts once = { .max_attempts = 1 };
	hl_err err;
	int rc = HL_OK;

	for (int attempt = 1;; attempt++) {
		hl_err_clear(&err);
		rc = hl_aws_call(conn, &hl_svc_ssm, "SendCommand", body, &resp, &once, &err);
		if (rc == HL_OK || attempt == SEND_ATTEMPTS || hl_retry_classify(&err) == HL_RETRY_NO)
			break;
		HL_LOG(HL_LOG_WARN, "remediate-disk: SendCommand failed; looking for the command before retrying",
		       HL_LS("instance", instance), HL_LS("error", err.aws_code[0] ? err.aws_code : hl_status_name(rc)));
		if (!hl_activity_sleep(ctx, SEND_RETRY_DELAY_MS * attempt)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		HL_GUARD_GOTO(rc, find_command(ctx, conn, set, instance, comment, id_out, reused), out);
		if (*reused)
			goto out;
	}
	if (rc < 0) {
		if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvalidInstanceId") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".InstanceNotManaged",
					      "SendCommand: %s is not a managed instance in a valid state: %s",
					      instance, err.message);
		else if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvalidDocument") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".DocumentNotFound",
					      "SendCommand: document %s: %s", set->document, err.message);
		else if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvalidParameters") == 0)
			rc = hl_activity_fail(ctx, PREFIX ".InvalidParameters",
					      "SendCommand: document %s refused mountPath: %s",
					      set->document, err.message);
		else
			rc = hl_remediation_aws_fail(ctx, PREFIX, "SendCommand", rc, &err);
		goto out;
	}
	json_object_object_get_ex(resp, "Command", &cmd);
	const char *id = hl_json_str(cmd, "CommandId");
	if (!hl_valid_ssm_id(id)) {
		rc = hl_activity_fail(ctx, PREFIX ".AwsError", "SendCommand: the answer has no valid CommandId");
		goto out;
	}
	hl_strlcpy(id_out, id, 37);
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

/* Polls GetCommandInvocation until the command ends. On Success returns 0
 * with *result the invocation (caller puts it). */
static int wait_command(hl_activity_ctx *ctx, hl_aws_conn *conn, const disk_settings *set,
			const char *command_id, const char *instance, json_object **result)
{
	const hl_clock *clock = hl_clock_system();
	int64_t started = hl_mono_ms(clock);
	int64_t deadline = started + (int64_t)(DELIVERY_TIMEOUT_S + EXECUTION_TIMEOUT_S + WAIT_MARGIN_S) * 1000;
	json_object *body = json_object_new_object(), *resp = NULL;
	int missing = 0, rc = HL_OK;
	hl_err err;
	char last[32] = "Pending";

	*result = NULL;
	json_object_object_add(body, "CommandId", json_object_new_string(command_id));
	json_object_object_add(body, "InstanceId", json_object_new_string(instance));
	for (;;) {
		if (!hl_activity_sleep(ctx, set->poll_ms)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		if (hl_mono_ms(clock) > deadline) {
			rc = hl_activity_fail(ctx, PREFIX ".CommandTimedOut",
					      "command %s on %s still %s after %lld s (delivery timeout %d s + execution timeout %d s)",
					      command_id, instance, last,
					      (long long)((hl_mono_ms(clock) - started) / 1000),
					      DELIVERY_TIMEOUT_S, EXECUTION_TIMEOUT_S);
			goto out;
		}
		json_object_put(resp);
		resp = NULL;
		hl_err_clear(&err);
		rc = hl_aws_call(conn, &hl_svc_ssm, "GetCommandInvocation", body, &resp, NULL, &err);
		if (rc < 0) {
			if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvocationDoesNotExist") == 0 &&
			    ++missing <= MAX_MISSING_POLLS) {
				rc = HL_OK;
				continue;
			}
			if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "InvocationDoesNotExist") == 0)
				rc = hl_activity_fail(ctx, PREFIX ".InvocationNotFound",
						      "GetCommandInvocation: no invocation of command %s on %s after %d polls",
						      command_id, instance, missing - 1);
			else
				rc = hl_remediation_aws_fail(ctx, PREFIX, "GetCommandInvocation", rc, &err);
			goto out;
		}
		missing = 0;
		const char *st = hl_json_str(resp, "Status");
		if (!st)
			st = "";
		hl_excerpt(st, 24, last, sizeof(last));
		if (strcmp(st, "Pending") == 0 || strcmp(st, "InProgress") == 0 || strcmp(st, "Delayed") == 0)
			continue;
		if (strcmp(st, "Success") == 0) {
			*result = resp;
			resp = NULL;
			goto out;
		}
		char details[128], stderr_x[600];
		hl_excerpt(hl_json_str(resp, "StatusDetails"), 100, details, sizeof(details));
		hl_excerpt(hl_json_str(resp, "StandardErrorContent"), 512, stderr_x, sizeof(stderr_x));
		json_object *code = NULL;
		json_object_object_get_ex(resp, "ResponseCode", &code);
		const char *name = PREFIX ".CommandFailed";
		if (strcmp(st, "TimedOut") == 0)
			name = PREFIX ".CommandTimedOut";
		else if (strcmp(st, "Cancelled") == 0 || strcmp(st, "Cancelling") == 0)
			name = PREFIX ".CommandCancelled";
		rc = hl_activity_fail(ctx, name,
				      "command %s on %s ended %s (%s, ResponseCode %d); stderr: %s",
				      command_id, instance, last, details,
				      code ? json_object_get_int(code) : -1, stderr_x);
		goto out;
	}
out:
	json_object_put(body);
	json_object_put(resp);
	return rc;
}

static int dry_run_report(hl_activity_ctx *ctx, hl_aws_conn *conn, const disk_settings *set,
			  const char *instance, const char *path, const char *comment,
			  double used, bool used_present, json_object **output)
{
	char ping[40];
	HL_GUARD(check_managed(ctx, conn, instance, ping, sizeof(ping)));

	json_object *out = hl_remediation_output("disk_cleanup", true);
	json_object *d = hl_remediation_details(out);
	char *reason = hl_xasprintf(
		"dry run: would send SSM command document %s to %s (SSM agent %s) with mountPath=%s: "
		"vacuum journald to 200M, delete rotated logs (*.gz, *.[0-9], *.old) under /var/log, "
		"then report usage of %s before and after and the bytes freed; would escalate if usage "
		"stays at or above %g%%",
		set->document, instance, ping, path, path, set->threshold);
	hl_remediation_set_reason(out, reason);
	free(reason);
	if (used_present)
		json_object_object_add(out, "before", usage_obj((int)(used + 0.5), path));
	json_object_object_add(d, "instanceId", json_object_new_string(instance));
	json_object_object_add(d, "path", json_object_new_string(path));
	json_object_object_add(d, "document", json_object_new_string(set->document));
	json_object_object_add(d, "threshold", json_object_new_double(set->threshold));
	json_object_object_add(d, "pingStatus", json_object_new_string(ping));
	json_object_object_add(d, "wouldSend", send_command_body(set, instance, path, comment));
	*output = out;
	return HL_OK;
}

/* The output of a successful command. */
static json_object *cleanup_output(const disk_settings *set, const char *instance, const char *path,
				   const char *command_id, const char *comment, bool reused,
				   const disk_report *r)
{
	json_object *out = hl_remediation_output("disk_cleanup", false);
	json_object *d = hl_remediation_details(out);
	bool escalate = (double)r->after_pct >= set->threshold;
	char freed[32];
	hl_buf reason;

	hl_format_bytes(r->freed, freed, sizeof(freed));
	hl_buf_init(&reason, 4096);
	if (!escalate) {
		if (hl_buf_appendf(&reason, "usage %d%% -> %d%% on %s of %s, freed %s", r->before_pct,
				   r->after_pct, path, instance, freed) < 0)
			abort();
	} else {
		if (hl_buf_appendf(&reason,
				   "usage still %d%% on %s of %s after cleanup (threshold %g%%, was %d%%, freed %s)",
				   r->after_pct, path, instance, set->threshold, r->before_pct, freed) < 0)
			abort();
		for (size_t i = 0; i < r->n_top && i < 3; i++) {
			char sz[32];
			hl_format_bytes(r->top[i].bytes, sz, sizeof(sz));
			if (hl_buf_appendf(&reason, "%s%s (%s)", i == 0 ? "; largest directories: " : ", ",
					   r->top[i].path, sz) < 0)
				abort();
		}
	}
	hl_remediation_set_reason(out, reason.data);
	hl_buf_free(&reason);
	hl_remediation_set_bool(out, "applied", true);
	hl_remediation_set_bool(out, "verified", !escalate);
	hl_remediation_set_bool(out, "escalate", escalate);
	json_object_object_add(out, "before", usage_obj(r->before_pct, path));
	json_object_object_add(out, "after", usage_obj(r->after_pct, path));
	json_object_object_add(d, "instanceId", json_object_new_string(instance));
	json_object_object_add(d, "path", json_object_new_string(path));
	json_object_object_add(d, "document", json_object_new_string(set->document));
	json_object_object_add(d, "commandId", json_object_new_string(command_id));
	json_object_object_add(d, "comment", json_object_new_string(comment));
	json_object_object_add(d, "reusedCommand", json_object_new_boolean(reused));
	json_object_object_add(d, "threshold", json_object_new_double(set->threshold));
	json_object_object_add(d, "freedBytes", json_object_new_int64((int64_t)r->freed));
	if (r->have_files)
		json_object_object_add(d, "filesRemoved", json_object_new_int64((int64_t)r->files));
	if (r->have_size)
		json_object_object_add(d, "sizeBytes", json_object_new_int64((int64_t)r->size));
	json_object *top = json_object_new_array();
	for (size_t i = 0; i < r->n_top; i++) {
		json_object *t = json_object_new_object();
		json_object_object_add(t, "bytes", json_object_new_int64((int64_t)r->top[i].bytes));
		json_object_object_add(t, "path", json_object_new_string(r->top[i].path));
		json_object_array_add(top, t);
	}
	json_object_object_add(d, "topDirectories", top);
	return out;
}

static int disk_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_remediation_input in;
	disk_settings set;
	hl_err err;
	const char *instance = NULL, *path = NULL;
	double used = 0;
	bool used_present = false, reused = false;
	json_object *inv = NULL;
	char short_id[17], comment[64], command_id[37];
	disk_report report;
	int rc = HL_OK;

	*output = NULL;
	HL_GUARD(hl_remediation_input_parse(ctx, input, "disk_pressure", &in));
	HL_GUARD(hl_diag_string(ctx, in.details, "diagnosis.details", "instanceId", true, 19,
				hl_valid_instance_id, &instance));
	HL_GUARD(hl_diag_string(ctx, in.details, "diagnosis.details", "path", true, MOUNT_PATH_MAX,
				valid_mount_path, &path));
	HL_GUARD(hl_diag_number(ctx, in.details, "diagnosis.details", "usedPercent", false, 0, 100,
				&used, &used_present));
	hl_err_clear(&err);
	if (load_settings(&set, &err) < 0)
		return hl_activity_fail(ctx, "Healer.InvalidConfig", "%s", err.message);
	hl_aws_conn *conn = hl_activity_aws(ctx);
	if (!conn)
		return hl_activity_fail(ctx, "Healer.NotConfigured", "remediate-disk needs AWS (set AWS_REGION)");
	hl_execution_short_id(in.execution, short_id);
	snprintf(comment, sizeof(comment), "healer remediate-disk exec=%s", short_id);

	if (in.dry_run)
		return dry_run_report(ctx, conn, &set, instance, path, comment, used, used_present, output);

	HL_GUARD_GOTO(rc, find_command(ctx, conn, &set, instance, comment, command_id, &reused), out);
	if (!reused)
		HL_GUARD_GOTO(rc, send_command(ctx, conn, &set, instance, path, comment, command_id, &reused),
			      out);
	HL_LOG(HL_LOG_INFO, reused ? "remediate-disk: following the command sent earlier"
				   : "remediate-disk: command sent",
	       HL_LS("execution", in.execution), HL_LS("instance", instance), HL_LS("path", path),
	       HL_LS("command", command_id), HL_LS("document", set.document));
	HL_GUARD_GOTO(rc, wait_command(ctx, conn, &set, command_id, instance, &inv), out);

	parse_report(hl_json_str(inv, "StandardOutputContent"), path, &report);
	if (!report.have_before || !report.have_after || !report.have_freed) {
		char x[600];
		hl_excerpt(hl_json_str(inv, "StandardOutputContent"), 512, x, sizeof(x));
		rc = hl_activity_fail(ctx, PREFIX ".BadOutput",
				      "command %s on %s succeeded without HEALER_USAGE_BEFORE/HEALER_USAGE_AFTER/HEALER_FREED_BYTES lines; stdout: %s",
				      command_id, instance, x);
		goto out;
	}
	*output = cleanup_output(&set, instance, path, command_id, comment, reused, &report);
	HL_LOG(HL_LOG_INFO, "remediate-disk: cleanup finished", HL_LS("execution", in.execution),
	       HL_LS("instance", instance), HL_LI("before_pct", report.before_pct),
	       HL_LI("after_pct", report.after_pct), HL_LI("freed_bytes", (int64_t)report.freed));
out:
	json_object_put(inv);
	return rc;
}

const hl_activity hl_activity_remediate_disk = {
	.name = "remediate-disk",
	.summary = "frees disk space with the project's SSM command document; escalates when usage stays high",
	.run = disk_run,
	.init = disk_init,
};
