/* test_sg_rules.c - remediate-sg's rule model (sg_rules.h), suite
 * "sg_rules": which rules of an AWS Config configuration are kept, what
 * reaches port 22 and what the runbook removes, the change between two
 * reads, and the rollback command. The activity's flow around them runs
 * in tests/integration/test_remediate.py; tests/fuzz/fuzz_sg_config.c
 * holds the rollback command to its shape on any input.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "healer/sg_rules.h"

#define GROUP "sg-0abcd1234ef567890"

static hl_sg_rule rule(const char *proto, int from, int to, bool v6)
{
	hl_sg_rule r;
	memset(&r, 0, sizeof(r));
	hl_strlcpy(r.proto, proto, sizeof(r.proto));
	r.from = from;
	r.to = to;
	r.v6 = v6;
	return r;
}

Test(sg_rules, valid_proto)
{
	const char *ok[] = { "-1", "tcp", "udp", "icmp", "icmpv6", "6", "255", "0" };
	const char *bad[] = { "", "TCP", "256", "1234", "-2", "tcp ", "6a", NULL };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(hl_sg_valid_proto(ok[i]), "%s", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!hl_sg_valid_proto(bad[i]), "%s", bad[i] ? bad[i] : "(null)");
}

Test(sg_rules, keeps_world_open_rules_reaching_22_or_3389)
{
	const char *cfg =
		"{\"ipPermissions\": ["
		"{\"ipProtocol\": \"tcp\", \"fromPort\": 22, \"toPort\": 22,"
		" \"ipv4Ranges\": [{\"cidrIp\": \"0.0.0.0/0\"}], \"ipv6Ranges\": [{\"cidrIpv6\": \"::/0\"}]},"
		"{\"ipProtocol\": \"tcp\", \"fromPort\": 22, \"toPort\": 22, \"ipv4Ranges\": [{\"cidrIp\": \"10.0.0.0/8\"}]},"
		"{\"ipProtocol\": \"tcp\", \"fromPort\": 443, \"toPort\": 443, \"ipv4Ranges\": [{\"cidrIp\": \"0.0.0.0/0\"}]},"
		"{\"ipProtocol\": \"tcp\", \"fromPort\": 0, \"toPort\": 1024, \"ipRanges\": [\"0.0.0.0/0\"]},"
		"{\"ipProtocol\": \"-1\", \"ipv6Ranges\": [{\"cidrIpv6\": \"::/0\"}]},"
		"{\"ipProtocol\": \"udp\", \"fromPort\": 22, \"toPort\": 22, \"ipv4Ranges\": [{\"cidrIp\": \"0.0.0.0/0\"}]}"
		"]}";
	hl_sg_rules rs;
	char why[128] = "";

	cr_assert_eq(hl_sg_parse_configuration(cfg, &rs, why, sizeof(why)), HL_OK, "%s", why);
	cr_assert_eq(rs.n, 4);
	hl_sg_rule want[] = { rule("tcp", 22, 22, false), rule("tcp", 22, 22, true), rule("tcp", 0, 1024, false),
			      rule("-1", -1, -1, true) };
	for (size_t i = 0; i < 4; i++) {
		cr_assert_str_eq(rs.r[i].proto, want[i].proto, "rule %zu", i);
		cr_assert(rs.r[i].from == want[i].from && rs.r[i].to == want[i].to && rs.r[i].v6 == want[i].v6,
			  "rule %zu", i);
	}
	cr_assert(hl_sg_rules_cover(&rs, 22));
}

Test(sg_rules, refuses_a_malformed_configuration_saying_why)
{
	hl_sg_rules rs;
	char why[128];

	cr_assert_eq(hl_sg_parse_configuration("[1]", &rs, why, sizeof(why)), HL_ERR_PARSE);
	cr_assert_str_eq(why, "configuration is not a JSON object");
	cr_assert_eq(hl_sg_parse_configuration("{\"ipPermissions\": {}}", &rs, why, sizeof(why)), HL_ERR_PARSE);
	cr_assert_str_eq(why, "ipPermissions is not a list");
	cr_assert_eq(hl_sg_parse_configuration("{\"ipPermissions\": [{\"ipProtocol\": \"tcp\", \"fromPort\": 70000}]}",
					       &rs, why, sizeof(why)),
		     HL_ERR_PARSE);
	cr_assert_str_eq(why, "ipPermissions[0] has an invalid protocol or port");
	cr_assert_eq(hl_sg_parse_configuration("{}", &rs, why, sizeof(why)), HL_OK);
	cr_assert_eq(rs.n, 0);
}

Test(sg_rules, the_runbook_removes_only_exact_tcp_22_and_3389)
{
	hl_sg_rule r22 = rule("tcp", 22, 22, false), r3389 = rule("6", 3389, 3389, true);
	hl_sg_rule wide = rule("tcp", 0, 1024, false), all = rule("-1", -1, -1, false);
	cr_assert(hl_sg_runbook_removes(&r22) && hl_sg_runbook_removes(&r3389));
	cr_assert(!hl_sg_runbook_removes(&wide) && !hl_sg_runbook_removes(&all));
	cr_assert(hl_sg_rule_covers(&wide, 22) && hl_sg_rule_covers(&all, 22));
	cr_assert(!hl_sg_rule_covers(&r3389, 22));
}

Test(sg_rules, change_predicted_and_observed)
{
	hl_sg_state before, after;
	hl_sg_change c;
	hl_sg_rule r22 = rule("tcp", 22, 22, false), wide = rule("tcp", 0, 1024, false);

	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	cr_assert_eq(hl_sg_rules_add(&before.rules, &r22), HL_OK);
	cr_assert_eq(hl_sg_rules_add(&before.rules, &wide), HL_OK);
	cr_assert_eq(hl_sg_rules_add(&before.rules, &r22), HL_OK);   /* once only */
	cr_assert_eq(before.rules.n, 2);

	hl_sg_change_of(&before, NULL, &c);
	cr_assert(c.n_removed == 1 && c.removed[0] == &before.rules.r[0]);
	cr_assert(c.n_remaining == 1 && c.remaining[0] == &before.rules.r[1]);

	cr_assert_eq(hl_sg_rules_add(&after.rules, &wide), HL_OK);
	hl_sg_change_of(&before, &after, &c);
	cr_assert(c.n_removed == 1 && c.removed[0] == &before.rules.r[0]);
	cr_assert(c.n_remaining == 1 && c.remaining[0] == &after.rules.r[0]);
}

Test(sg_rules, rollback_command_and_text)
{
	hl_sg_rule r22 = rule("tcp", 22, 22, false), all = rule("-1", -1, -1, true);
	const hl_sg_rule *rs[] = { &r22, &all };
	char *cmd = hl_sg_rollback_command(GROUP, "eu-west-1", rs, 2);
	cr_assert_str_eq(cmd, "aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id " GROUP
			      " --ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":22,\"ToPort\":22,"
			      "\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/0\"}]},"
			      "{\"IpProtocol\":\"-1\",\"Ipv6Ranges\":[{\"CidrIpv6\":\"::/0\"}]}]'");
	free(cmd);

	hl_buf b;
	hl_buf_init(&b, 1024);
	cr_assert_eq(hl_sg_rules_append_text(&b, rs, 2), HL_OK);
	cr_assert_str_eq(b.data, "tcp 22 from 0.0.0.0/0, all traffic from ::/0");
	hl_buf_free(&b);
}

Test(sg_rules, the_set_is_bounded)
{
	hl_sg_rules rs;
	memset(&rs, 0, sizeof(rs));
	for (int i = 0; i < HL_SG_MAX_RULES; i++) {
		hl_sg_rule r = rule("tcp", 22, 22 + i, false);
		cr_assert_eq(hl_sg_rules_add(&rs, &r), HL_OK);
	}
	hl_sg_rule one_more = rule("tcp", 0, 22, false);
	cr_assert_eq(hl_sg_rules_add(&rs, &one_more), HL_ERR_TOO_LARGE);
	cr_assert_eq(rs.n, HL_SG_MAX_RULES);
}
