/* sg_rules.c - remediate-sg's rule model (include/healer/sg_rules.h): the
 * world-open rules reaching port 22 or 3389 read out of AWS Config's
 * ipPermissions, the runbook's reach, the change between two reads, and
 * the rule text, JSON and rollback command built from validated values.
 * Pure: no I/O, no shared state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/diagnosis.h"
#include "healer/sg_rules.h"

bool hl_sg_valid_proto(const char *p)
{
	static const char *const names[] = { "-1", "tcp", "udp", "icmp", "icmpv6" };
	if (!p)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(p, names[i]) == 0)
			return true;
	size_t n = strspn(p, "0123456789");
	return n >= 1 && n <= 3 && p[n] == '\0' && strtol(p, NULL, 10) <= 255;
}

static bool is_tcp(const hl_sg_rule *r)
{
	return strcmp(r->proto, "tcp") == 0 || strcmp(r->proto, "6") == 0;
}

bool hl_sg_rule_covers(const hl_sg_rule *r, int port)
{
	if (strcmp(r->proto, "-1") == 0)
		return true;
	if (!is_tcp(r))
		return false;
	if (r->from == -1 && r->to == -1)
		return true;
	return r->from <= port && port <= r->to;
}

bool hl_sg_runbook_removes(const hl_sg_rule *r)
{
	return is_tcp(r) && r->from == r->to && (r->from == 22 || r->from == 3389);
}

static bool rule_eq(const hl_sg_rule *a, const hl_sg_rule *b)
{
	return strcmp(a->proto, b->proto) == 0 && a->from == b->from && a->to == b->to && a->v6 == b->v6;
}

static bool rules_contain(const hl_sg_rules *rs, const hl_sg_rule *r)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rule_eq(&rs->r[i], r))
			return true;
	return false;
}

bool hl_sg_rules_cover(const hl_sg_rules *rs, int port)
{
	for (size_t i = 0; i < rs->n; i++)
		if (hl_sg_rule_covers(&rs->r[i], port))
			return true;
	return false;
}

int hl_sg_rules_add(hl_sg_rules *rs, const hl_sg_rule *r)
{
	if (!(hl_sg_rule_covers(r, 22) || hl_sg_rule_covers(r, 3389)) || rules_contain(rs, r))
		return HL_OK;
	if (rs->n == HL_SG_MAX_RULES)
		return HL_ERR_TOO_LARGE;
	rs->r[rs->n++] = *r;
	return HL_OK;
}

/* ---- reading AWS Config's configuration ---- */

/* A port member of a permission: absent/null -> -1; else an integer in
 * -1..65535. */
static bool get_port(json_object *perm, const char *key, int *out)
{
	json_object *v = NULL;
	*out = -1;
	if (!json_object_object_get_ex(perm, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_int))
		return false;
	int64_t n = json_object_get_int64(v);
	if (n < -1 || n > 65535)
		return false;
	*out = (int)n;
	return true;
}

/* Does the range list hold the world CIDR? Items are objects
 * {member: cidr} (ipv4Ranges/ipv6Ranges) or strings (legacy ipRanges). */
static bool has_world(json_object *ranges, const char *member, const char *world)
{
	size_t n = json_object_is_type(ranges, json_type_array) ? json_object_array_length(ranges) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(ranges, i);
		const char *c = json_object_is_type(it, json_type_string) ? json_object_get_string(it)
									   : hl_json_str(it, member);
		if (c && strcmp(c, world) == 0)
			return true;
	}
	return false;
}

int hl_sg_parse_configuration(const char *text, hl_sg_rules *rs, char *why, size_t whysz)
{
	json_object *cfg = NULL, *perms = NULL;
	int rc = HL_OK;

	rs->n = 0;
	cfg = text ? json_tokener_parse(text) : NULL;
	if (!json_object_is_type(cfg, json_type_object)) {
		snprintf(why, whysz, "configuration is not a JSON object");
		rc = HL_ERR_PARSE;
		goto out;
	}
	if (!json_object_object_get_ex(cfg, "ipPermissions", &perms) || perms == NULL)
		goto out;  /* no ingress rules */
	if (!json_object_is_type(perms, json_type_array)) {
		snprintf(why, whysz, "ipPermissions is not a list");
		rc = HL_ERR_PARSE;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(perms); i++) {
		json_object *p = json_object_array_get_idx(perms, i), *v4 = NULL, *v6 = NULL;
		hl_sg_rule r;
		memset(&r, 0, sizeof(r));
		const char *proto = hl_json_str(p, "ipProtocol");
		if (!proto || strlen(proto) >= sizeof(r.proto) || !hl_sg_valid_proto(proto) ||
		    !get_port(p, "fromPort", &r.from) || !get_port(p, "toPort", &r.to)) {
			snprintf(why, whysz, "ipPermissions[%zu] has an invalid protocol or port", i);
			rc = HL_ERR_PARSE;
			goto out;
		}
		hl_strlcpy(r.proto, proto, sizeof(r.proto));
		if (strcmp(r.proto, "-1") == 0)
			r.from = r.to = -1;
		if (!json_object_object_get_ex(p, "ipv4Ranges", &v4) || v4 == NULL)
			json_object_object_get_ex(p, "ipRanges", &v4);
		json_object_object_get_ex(p, "ipv6Ranges", &v6);
		bool v4_open = has_world(v4, "cidrIp", HL_SG_WORLD_V4);
		bool v6_open = has_world(v6, "cidrIpv6", HL_SG_WORLD_V6);
		r.v6 = false;
		if (v4_open)
			rc = hl_sg_rules_add(rs, &r);
		r.v6 = true;
		if (rc == HL_OK && v6_open)
			rc = hl_sg_rules_add(rs, &r);
		if (rc < 0) {
			snprintf(why, whysz, "more than %d world-open rules", HL_SG_MAX_RULES);
			goto out;
		}
	}
out:
	json_object_put(cfg);
	return rc;
}

void hl_sg_change_of(const hl_sg_state *before, const hl_sg_state *after, hl_sg_change *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < before->rules.n; i++) {
		const hl_sg_rule *r = &before->rules.r[i];
		bool gone = after ? !rules_contain(&after->rules, r) : hl_sg_runbook_removes(r);
		if (gone)
			c->removed[c->n_removed++] = r;
		else if (!after && hl_sg_rule_covers(r, 22))
			c->remaining[c->n_remaining++] = r;
	}
	if (after)
		for (size_t i = 0; i < after->rules.n; i++)
			if (hl_sg_rule_covers(&after->rules.r[i], 22))
				c->remaining[c->n_remaining++] = &after->rules.r[i];
}

/* ---- text, JSON, rollback ---- */

static void rule_text(const hl_sg_rule *r, char *out, size_t outsz)
{
	const char *cidr = r->v6 ? HL_SG_WORLD_V6 : HL_SG_WORLD_V4;
	if (strcmp(r->proto, "-1") == 0)
		snprintf(out, outsz, "all traffic from %s", cidr);
	else if (r->from == -1 && r->to == -1)
		snprintf(out, outsz, "%s all ports from %s", r->proto, cidr);
	else if (r->from == r->to)
		snprintf(out, outsz, "%s %d from %s", r->proto, r->from, cidr);
	else
		snprintf(out, outsz, "%s %d-%d from %s", r->proto, r->from, r->to, cidr);
}

static json_object *rule_json(const hl_sg_rule *r)
{
	char text[96];
	json_object *o = json_object_new_object();
	rule_text(r, text, sizeof(text));
	json_object_object_add(o, "ipProtocol", json_object_new_string(r->proto));
	if (r->from != -1 || r->to != -1) {
		json_object_object_add(o, "fromPort", json_object_new_int(r->from));
		json_object_object_add(o, "toPort", json_object_new_int(r->to));
	}
	json_object_object_add(o, "cidr", json_object_new_string(r->v6 ? HL_SG_WORLD_V6 : HL_SG_WORLD_V4));
	json_object_object_add(o, "coversPort22", json_object_new_boolean(hl_sg_rule_covers(r, 22)));
	json_object_object_add(o, "rule", json_object_new_string(text));
	return o;
}

json_object *hl_sg_rules_json(const hl_sg_rule *const *rs, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, rule_json(rs[i]));
	return a;
}

json_object *hl_sg_state_json(const char *gid, const hl_sg_state *st)
{
	const hl_sg_rule *rs[HL_SG_MAX_RULES];
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < st->rules.n; i++)
		rs[i] = &st->rules.r[i];
	json_object_object_add(o, "groupId", json_object_new_string(gid));
	if (st->capture_time > 0) {
		char at[21];
		hl_format_iso8601((int64_t)st->capture_time, at);
		json_object_object_add(o, "capturedAt", json_object_new_string(at));
	}
	json_object_object_add(o, "worldOpenRules", hl_sg_rules_json(rs, st->rules.n));
	return o;
}

int hl_sg_rules_append_text(hl_buf *b, const hl_sg_rule *const *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char text[96];
		rule_text(rs[i], text, sizeof(text));
		HL_GUARD(hl_buf_appendf(b, "%s%s", i ? ", " : "", text));
	}
	return HL_OK;
}

/* Every value in the command is validated (group id, protocol, integers,
 * constant CIDRs); the buffer's bound is far above 64 rules, so an append
 * cannot fail. */
char *hl_sg_rollback_command(const char *gid, const char *region, const hl_sg_rule *const *rs, size_t n)
{
	hl_buf b;
	hl_buf_init(&b, 65536);
	if (hl_buf_appendf(&b, "aws ec2 authorize-security-group-ingress%s%s --group-id %s --ip-permissions '[",
			   region ? " --region " : "", region ? region : "", gid) < 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		const hl_sg_rule *r = rs[i];
		if (hl_buf_appendf(&b, "%s{\"IpProtocol\":\"%s\"", i ? "," : "", r->proto) < 0)
			abort();
		if (strcmp(r->proto, "-1") != 0 && (r->from != -1 || r->to != -1))
			if (hl_buf_appendf(&b, ",\"FromPort\":%d,\"ToPort\":%d", r->from, r->to) < 0)
				abort();
		if (hl_buf_appendf(&b, r->v6 ? ",\"Ipv6Ranges\":[{\"CidrIpv6\":\"%s\"}]}"
					     : ",\"IpRanges\":[{\"CidrIp\":\"%s\"}]}",
				   r->v6 ? HL_SG_WORLD_V6 : HL_SG_WORLD_V4) < 0)
			abort();
	}
	if (hl_buf_appendf(&b, "]'") < 0)
		abort();
	char *s = hl_xstrdup(b.data);
	hl_buf_free(&b);
	return s;
}
