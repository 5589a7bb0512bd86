/* sg_rules.h - remediate-sg's model of a security group's world-open
 * ingress rules: read from AWS Config's `configuration` (ipPermissions),
 * which of them reach port 22 or 3389, what the runbook
 * (AWS-DisablePublicAccessForSecurityGroup) removes, how a change between
 * two reads is told, and the text, JSON and rollback command made of them.
 *
 * Only rules open to 0.0.0.0/0 or ::/0 are kept, and only those reaching
 * 22 or 3389 (the runbook's two ports): a tcp range covering the port, a
 * tcp rule without ports, or protocol -1 (all traffic). Every value kept
 * is validated (protocol name or number, ports in -1..65535, one of the
 * two constant CIDRs), which is what lets the rollback command be pasted
 * into a shell. Everything here is pure and thread-safe.
 */
#ifndef HEALER_SG_RULES_H
#define HEALER_SG_RULES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "healer/common.h"

#define HL_SG_MAX_RULES 64
#define HL_SG_WORLD_V4 "0.0.0.0/0"
#define HL_SG_WORLD_V6 "::/0"

/* A world-open ingress rule: 0.0.0.0/0, or ::/0 when v6. */
typedef struct hl_sg_rule {
	char proto[8];   /* "-1", "tcp", "udp", "icmp", "icmpv6" or 0..255 */
	int from, to;    /* -1 when the rule has no ports */
	bool v6;
} hl_sg_rule;

/* A set of such rules, each at most once. */
typedef struct hl_sg_rules {
	size_t n;
	hl_sg_rule r[HL_SG_MAX_RULES];
} hl_sg_rules;

/* A group as one AWS Config read saw it. */
typedef struct hl_sg_state {
	hl_sg_rules rules;       /* world-open rules reaching 22 or 3389 */
	double capture_time;     /* configurationItemCaptureTime (epoch s), 0 unknown */
} hl_sg_state;

/* A predicted or observed change; the pointers point into the states it
 * was made from. */
typedef struct hl_sg_change {
	const hl_sg_rule *removed[HL_SG_MAX_RULES];   /* gone (or would go) */
	const hl_sg_rule *remaining[HL_SG_MAX_RULES]; /* still reaching port 22 */
	size_t n_removed, n_remaining;
} hl_sg_change;

/* Whether p is an IP protocol as EC2 reports it: a name above or 0..255. */
bool hl_sg_valid_proto(const char *p);

/* Whether r lets traffic to port reach the group. */
bool hl_sg_rule_covers(const hl_sg_rule *r, int port);

/* Whether the runbook revokes r: tcp exactly 22 or 3389 from a world CIDR. */
bool hl_sg_runbook_removes(const hl_sg_rule *r);

/* Whether some rule of rs covers port. */
bool hl_sg_rules_cover(const hl_sg_rules *rs, int port);

/* Adds r to rs unless it reaches neither 22 nor 3389 or is there already
 * (both HL_OK); HL_ERR_TOO_LARGE when rs is full. */
int hl_sg_rules_add(hl_sg_rules *rs, const hl_sg_rule *r) HL_MUST_CHECK;

/* The world-open rules reaching 22 or 3389 in a Config configuration (the
 * JSON text of a BatchGetResourceConfig item's `configuration`; NULL is
 * refused). HL_OK (no ipPermissions: no rules), else HL_ERR_PARSE or
 * HL_ERR_TOO_LARGE with why filled (bounded, no input echoed). */
int hl_sg_parse_configuration(const char *text, hl_sg_rules *rs, char *why, size_t whysz) HL_MUST_CHECK;

/* The change from before: observed against after, or, after == NULL,
 * predicted from what the runbook removes. */
void hl_sg_change_of(const hl_sg_state *before, const hl_sg_state *after, hl_sg_change *c);

/* [{"ipProtocol", "fromPort", "toPort" (when ported), "cidr",
 * "coversPort22", "rule" (text)}...]. Caller owns the array. */
json_object *hl_sg_rules_json(const hl_sg_rule *const *rs, size_t n);

/* {"groupId", "capturedAt" (when known), "worldOpenRules"}. Caller owns it. */
json_object *hl_sg_state_json(const char *gid, const hl_sg_state *st);

/* Appends "tcp 22 from 0.0.0.0/0, all traffic from ::/0, ..." to b. */
int hl_sg_rules_append_text(hl_buf *b, const hl_sg_rule *const *rs, size_t n) HL_MUST_CHECK;

/* "aws ec2 authorize-security-group-ingress [--region R] --group-id G
 * --ip-permissions '[...]'" re-adding rs. gid and region must be
 * validated; every other value comes from the validated rules. Caller
 * frees it. */
char *hl_sg_rollback_command(const char *gid, const char *region, const hl_sg_rule *const *rs, size_t n);

#endif
