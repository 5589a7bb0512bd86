/* event.h - EventBridge events: classification, resource extraction, tags.
 *
 * Shared by the guard and diagnose activities. The event is untrusted input:
 * classification never fails and never guesses. An event either matches one
 * of the three handled shapes completely, with every identifier passing
 * ids.h and every other field it reports passing a strict character check,
 * or it is HL_EVENT_UNKNOWN with a `why` naming the first field or rule that
 * did not fit. No event text is ever used as a format string; the `why`,
 * `source` and `detail_type` strings hold only validated values or
 * sanitised copies (printable ASCII, cut to a bound).
 *
 * Handled shapes (see docs/ACTIVITIES.md for the outputs built from them):
 *   disk_pressure  aws.cloudwatch "CloudWatch Alarm State Change", state
 *                  ALARM, not muted, one metric (no metric math, not
 *                  composite): CWAgent disk_used_percent with an InstanceId
 *                  in the dimensions OBJECT MAP.
 *   public_ssh     aws.config "Config Rules Compliance Change" of a rule
 *                  named restricted-ssh (exactly, or with a prefix/suffix
 *                  joined by '-' or '_': see hl_event_is_restricted_ssh_rule),
 *                  NON_COMPLIANT, resourceType AWS::EC2::SecurityGroup.
 *   cert_expiry    aws.acm "ACM Certificate Approaching Expiration" |
 *                  "ACM Certificate Expired" | "ACM Certificate Renewal
 *                  Action Required", resources[0] a certificate ARN.
 */
#ifndef HEALER_EVENT_H
#define HEALER_EVENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "healer/aws.h"
#include "healer/common.h"

/* EventBridge's event size limit; a larger event is unknown. */
#define HL_EVENT_MAX_BYTES (256 * 1024)
/* Nesting accepted by hl_event_classify_text (real events use < 10). */
#define HL_EVENT_MAX_DEPTH 32

typedef enum hl_event_class {
	HL_EVENT_UNKNOWN = 0,
	HL_EVENT_DISK_PRESSURE,
	HL_EVENT_PUBLIC_SSH,
	HL_EVENT_CERT_EXPIRY,
} hl_event_class;

/* "unknown" | "disk_pressure" | "public_ssh" | "cert_expiry". */
const char *hl_event_class_name(hl_event_class c);

typedef enum hl_resource_type {
	HL_RESOURCE_NONE = 0,
	HL_RESOURCE_INSTANCE,
	HL_RESOURCE_SECURITY_GROUP,
	HL_RESOURCE_CERTIFICATE,
} hl_resource_type;

/* A validated resource. id is the instance id, the group id or the
 * certificate ARN; arn the resource's ARN (what the Tagging API takes). */
typedef struct hl_resource {
	hl_resource_type type;
	char id[256];
	char arn[320];
	char account[13];
	char region[32];
	char partition[16];
} hl_resource;

/* "instance" | "security-group" | "certificate" (NULL for NONE). */
const char *hl_resource_type_name(hl_resource_type t);
/* {"type","id","arn","account","region"}, or a JSON null for NONE
 * (json-c represents null as NULL). */
json_object *hl_resource_to_json(const hl_resource *r);

/* What classification found. Strings are always NUL-terminated; fields of
 * other classes are empty/false. */
typedef struct hl_event_info {
	hl_event_class cls;
	char why[320];            /* unknown: the reason (else empty) */
	char source[129];         /* sanitised copies, "" when absent */
	char detail_type[129];
	hl_resource resource;     /* NONE when unknown */

	/* disk_pressure; path/device/fstype are "" when the dimension is
	 * absent. threshold and used_percent come from state.reasonData. */
	char path[256];
	char device[64];
	char fstype[32];
	bool has_threshold;
	double threshold;
	bool has_used_percent;
	double used_percent;

	/* public_ssh */
	char rule_name[129];
	bool rule_name_exact;     /* "restricted-ssh" exactly */
	bool rule_cross_checked;  /* the evaluation qualifier agreed */
	char compliance_type[32];

	/* cert_expiry; event_type is "approaching-expiration" | "expired" |
	 * "renewal-action-required". */
	char event_type[32];
	char common_name[254];
	bool has_days_to_expiry;
	int days_to_expiry;
	char renewal_status_reason[65];
} hl_event_info;

/* Classifies an EventBridge event (any JSON value, NULL allowed). Never
 * fails: anything that is not a complete match is HL_EVENT_UNKNOWN with
 * info->why set. Thread-safe, no I/O. */
void hl_event_classify(json_object *event, hl_event_info *info);

/* The same from raw bytes (the fuzzing entry point): more than
 * HL_EVENT_MAX_BYTES, malformed JSON, trailing garbage or nesting deeper
 * than HL_EVENT_MAX_DEPTH -> unknown with why saying so. */
void hl_event_classify_text(const char *data, size_t len, hl_event_info *info);

/* True for a Config rule name that denotes the restricted-ssh managed
 * rule: "restricted-ssh" itself, or with a prefix and/or suffix attached by
 * '-' or '_' (conformance packs, Security Hub and Control Tower deploy it as
 * e.g. "restricted-ssh-conformance-pack-x1y2z3", "securityhub-restricted-
 * ssh-a1b2c3"). "unrestricted-ssh" or "restricted-sshd" do not match. The
 * name must be 1..128 of [A-Za-z0-9_-]. */
bool hl_event_is_restricted_ssh_rule(const char *name);

/* The resource's tags through the Resource Groups Tagging API
 * (GetResources with ResourceARNList = [r->arn]). *tags is a new JSON object
 * {key: value} (empty when the resource is untagged OR does not exist:
 * the API cannot tell the two apart). Keys or values that are not strings
 * are skipped. Returns 0 or the negative status of the call (err says). */
int hl_resource_tags(hl_aws_conn *c, const hl_resource *r, json_object **tags,
		     hl_err *err) HL_MUST_CHECK;

#endif
