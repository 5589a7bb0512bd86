/* diagnose.c - the diagnose activity: classify, validate, find the owner,
 * rate the confidence, propose a plan.
 *
 * Classification and identifier validation are event.c's (hl_event_classify);
 * this file turns the result into the `$.diagnosis` object of
 * docs/ACTIVITIES.md. An unknown or malformed event is not an error: it is
 * class "unknown" with confidence 0 and details.why, so the state machine
 * opens a ticket for a person. Only a malformed activity input (not an
 * object, no "event", a bad "execution" or "dryRun") is Healer.InvalidInput.
 *
 * Owner: the resource's `Owner` tag through the Tagging API (null when the
 * resource has no such tag, or the lookup fails: a failed lookup is logged
 * and does not fail the diagnosis).
 *
 * Confidence (0..1, two decimals; the Route state compares it with the
 * deployment's threshold):
 *   unknown                                                      0
 *   any handled class, complete and well-formed                  0.95
 *   disk_pressure   - 0.10  no `path` dimension
 *                   - 0.10  no usable threshold / datapoint in reasonData
 *                   - 0.25  latest datapoint below HEALER_DISK_THRESHOLD
 *   public_ssh      - 0.10  rule name carries a prefix/suffix
 *                   - 0.10  evaluation qualifier missing or incomplete
 *   cert_expiry     - 0.10  no CommonName
 *                   - 0.10  approaching-expiration without DaysToExpiry
 * Plans are fixed strings per class; no event text goes into them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/event.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/settings.h"

#define DEFAULT_DISK_THRESHOLD 85.0
#define OWNER_MAX 256

static int diagnose_settings(double *disk_threshold, hl_err *err)
{
	return hl_setting_double("HEALER_DISK_THRESHOLD", DEFAULT_DISK_THRESHOLD, 1, 100,
				 disk_threshold, err);
}

static int diagnose_init(hl_err *err)
{
	double t = 0;
	return diagnose_settings(&t, err);
}

static const char *const plan_disk[] = {
	"vacuum journald to 200M",
	"remove rotated logs under /var/log",
	"report bytes freed and usage before and after (df)",
	"escalate if usage stays above the threshold",
	NULL,
};
static const char *const plan_ssh[] = {
	"record the group's current rules from AWS Config (rollback plan)",
	"run AWS-DisablePublicAccessForSecurityGroup (closes 22 and 3389 from 0.0.0.0/0 and ::/0)",
	"verify no rule still opens SSH to the internet; escalate if one does",
	"tell the owner on Slack",
	NULL,
};
static const char *const plan_cert[] = {
	"describe the certificate (type, renewal eligibility, validation method, in-use resources)",
	"renew it if ACM can",
	"otherwise open a ticket naming the dependency path",
	NULL,
};
static const char *const plan_unknown[] = {
	"open a ticket with the raw event and the reason, for a person",
	NULL,
};

static json_object *plan_json(hl_event_class cls)
{
	const char *const *p = cls == HL_EVENT_DISK_PRESSURE ? plan_disk
			       : cls == HL_EVENT_PUBLIC_SSH  ? plan_ssh
			       : cls == HL_EVENT_CERT_EXPIRY ? plan_cert
							     : plan_unknown;
	json_object *a = json_object_new_array();
	for (; *p; p++)
		json_object_array_add(a, json_object_new_string(*p));
	return a;
}

static json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *num(double d)
{
	/* Two decimals, printed without float noise. */
	char buf[32];
	double r = (double)(long long)(d * 100.0 + (d < 0 ? -0.5 : 0.5)) / 100.0;
	int n = snprintf(buf, sizeof(buf), "%.2f", r);
	while (n > 0 && n < (int)sizeof(buf) && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return json_object_new_double_s(r, buf);
}

static double confidence(const hl_event_info *i, double disk_threshold)
{
	double c = 0.95;
	switch (i->cls) {
	case HL_EVENT_DISK_PRESSURE:
		if (!i->path[0])
			c -= 0.10;
		if (!i->has_threshold || !i->has_used_percent)
			c -= 0.10;
		if (i->has_used_percent && i->used_percent < disk_threshold)
			c -= 0.25;
		break;
	case HL_EVENT_PUBLIC_SSH:
		if (!i->rule_name_exact)
			c -= 0.10;
		if (!i->rule_cross_checked)
			c -= 0.10;
		break;
	case HL_EVENT_CERT_EXPIRY:
		if (!i->common_name[0])
			c -= 0.10;
		if (strcmp(i->event_type, "approaching-expiration") == 0 && !i->has_days_to_expiry)
			c -= 0.10;
		break;
	default:
		return 0;
	}
	return c < 0 ? 0 : c;
}

/* reason and details for the class. */
static void describe(const hl_event_info *i, double disk_threshold, char *reason, size_t rsz,
		     json_object *details)
{
	switch (i->cls) {
	case HL_EVENT_DISK_PRESSURE: {
		double t = i->has_threshold ? i->threshold : disk_threshold;
		char used[48] = "";
		if (i->has_used_percent)
			snprintf(used, sizeof(used), " (latest %.1f%%)", i->used_percent);
		snprintf(reason, rsz, "CloudWatch alarm disk_used_percent >= %g on %s path %s%s", t,
			 i->resource.id, i->path[0] ? i->path : "(unknown)", used);
		json_object_object_add(details, "instanceId", json_object_new_string(i->resource.id));
		json_object_object_add(details, "path", str_or_null(i->path));
		json_object_object_add(details, "device", str_or_null(i->device));
		json_object_object_add(details, "fstype", str_or_null(i->fstype));
		json_object_object_add(details, "threshold", i->has_threshold ? num(i->threshold) : NULL);
		json_object_object_add(details, "usedPercent",
				       i->has_used_percent ? num(i->used_percent) : NULL);
		break;
	}
	case HL_EVENT_PUBLIC_SSH:
		snprintf(reason, rsz, "AWS Config rule %s: security group %s is NON_COMPLIANT (SSH "
			 "open to the internet)", i->rule_name, i->resource.id);
		json_object_object_add(details, "groupId", json_object_new_string(i->resource.id));
		json_object_object_add(details, "configRuleName", json_object_new_string(i->rule_name));
		json_object_object_add(details, "complianceType",
				       json_object_new_string(i->compliance_type));
		break;
	case HL_EVENT_CERT_EXPIRY: {
		char when[48] = "";
		if (i->has_days_to_expiry)
			snprintf(when, sizeof(when), ", %d days to expiry", i->days_to_expiry);
		snprintf(reason, rsz, "ACM certificate %s%s%s: %s%s", i->resource.id,
			 i->common_name[0] ? " for " : "", i->common_name, i->event_type, when);
		json_object_object_add(details, "certificateArn", json_object_new_string(i->resource.id));
		json_object_object_add(details, "commonName", str_or_null(i->common_name));
		json_object_object_add(details, "daysToExpiry",
				       i->has_days_to_expiry ? json_object_new_int(i->days_to_expiry)
							     : NULL);
		json_object_object_add(details, "eventType", json_object_new_string(i->event_type));
		if (i->renewal_status_reason[0])
			json_object_object_add(details, "renewalStatusReason",
					       json_object_new_string(i->renewal_status_reason));
		break;
	}
	default:
		snprintf(reason, rsz, "unclassified: %s", i->why);
		json_object_object_add(details, "why", json_object_new_string(i->why));
		json_object_object_add(details, "source", str_or_null(i->source));
		json_object_object_add(details, "detailType", str_or_null(i->detail_type));
		break;
	}
}

/* The Owner tag, or NULL (logged when the lookup fails or the value is
 * unusable). */
static json_object *find_owner(hl_activity_ctx *ctx, const hl_event_info *i, const char *execution)
{
	json_object *tags = NULL, *owner = NULL, *v = NULL;
	hl_err err;
	hl_aws_conn *aws = hl_activity_aws(ctx);

	hl_err_clear(&err);
	if (i->resource.type == HL_RESOURCE_NONE)
		return NULL;
	if (!aws) {
		HL_LOG(HL_LOG_WARN, "owner lookup skipped: no AWS connection",
		       HL_LS("execution", execution), HL_LS("resource", i->resource.id));
		return NULL;
	}
	if (hl_resource_tags(aws, &i->resource, &tags, &err) < 0) {
		HL_LOG(HL_LOG_WARN, "owner lookup failed", HL_LS("execution", execution),
		       HL_LS("resource", i->resource.id), HL_LS("error", hl_status_name(err.code)),
		       HL_LS("aws_code", err.aws_code[0] ? err.aws_code : NULL));
		return NULL;
	}
	if (json_object_object_get_ex(tags, "Owner", &v)) {
		const char *s = json_object_get_string(v);
		size_t n = strlen(s);
		bool ok = n > 0 && n <= OWNER_MAX;
		for (size_t k = 0; ok && k < n; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				ok = false;
		if (ok)
			owner = json_object_new_string(s);
		else
			HL_LOG(HL_LOG_WARN, "Owner tag ignored: empty, too long or with control characters",
			       HL_LS("execution", execution), HL_LS("resource", i->resource.id));
	}
	json_object_put(tags);
	return owner;
}

static int diagnose_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_event_info *info = NULL;
	json_object *out = NULL, *v = NULL, *event = NULL;
	const char *execution = NULL;
	double disk_threshold = DEFAULT_DISK_THRESHOLD;
	hl_err err;
	int rc = HL_OK;

	hl_err_clear(&err);
	if (!json_object_is_type(input, json_type_object)) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "diagnose: the input must be an object");
		goto cleanup;
	}
	if (json_object_object_get_ex(input, "execution", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    !hl_valid_execution_arn(json_object_get_string(v))) {
			rc = hl_activity_fail(ctx, "Healer.InvalidInput",
					      "diagnose: \"execution\" must be a Step Functions "
					      "execution ARN");
			goto cleanup;
		}
		execution = json_object_get_string(v);
	}
	if (json_object_object_get_ex(input, "dryRun", &v) && v &&
	    !json_object_is_type(v, json_type_boolean)) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "diagnose: \"dryRun\" must be a boolean");
		goto cleanup;
	}
	if (!json_object_object_get_ex(input, "event", &event)) {
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "diagnose: \"event\" is required");
		goto cleanup;
	}
	if (diagnose_settings(&disk_threshold, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Diagnose.Config", "%s", err.message);
		goto cleanup;
	}
	info = hl_xcalloc(1, sizeof(*info));
	hl_event_classify(event, info);

	out = json_object_new_object();
	json_object *details = json_object_new_object();
	char reason[1024];
	describe(info, disk_threshold, reason, sizeof(reason), details);
	double conf = confidence(info, disk_threshold);
	json_object_object_add(out, "class", json_object_new_string(hl_event_class_name(info->cls)));
	json_object_object_add(out, "confidence", num(conf));
	json_object_object_add(out, "reason", json_object_new_string(reason));
	json_object_object_add(out, "resource", hl_resource_to_json(&info->resource));
	if (hl_activity_cancelled(ctx)) {
		json_object_put(details);
		rc = HL_ERR_CANCELLED;
		goto cleanup;
	}
	json_object_object_add(out, "owner", find_owner(ctx, info, execution));
	json_object_object_add(out, "plan", plan_json(info->cls));
	json_object_object_add(out, "details", details);

	HL_LOG(HL_LOG_INFO, "diagnosis", HL_LS("execution", execution),
	       HL_LS("class", hl_event_class_name(info->cls)), HL_LI("confidence_pct", (long)(conf * 100 + 0.5)),
	       HL_LS("resource", info->resource.type ? info->resource.id : NULL),
	       HL_LS("why", info->why[0] ? info->why : NULL));
	*output = out;
	out = NULL;
cleanup:
	json_object_put(out);
	free(info);
	return rc;
}

const hl_activity hl_activity_diagnose = {
	.name = "diagnose",
	.summary = "classify the event (disk_pressure, public_ssh, cert_expiry, unknown), owner, plan",
	.run = diagnose_run,
	.init = diagnose_init,
};
