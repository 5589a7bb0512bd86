/* test_sg_plan.c - remediate-sg's recorded rollback plan (sg_plan.h), suite
 * "sg_plan": the key, the item built for DynamoDB and read back, and every
 * way a stored item is refused instead of trusted. The DynamoDB calls
 * themselves run against dynalite in tests/integration/test_remediate.py.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <string.h>

#include "healer/ddb.h"
#include "healer/sg_plan.h"

#define EXEC "arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-1"
#define GROUP "sg-0abcd1234ef567890"
#define ROLLBACK "aws ec2 authorize-security-group-ingress --group-id " GROUP " --ip-permissions '[]'"

static hl_sg_plan sample(void)
{
	hl_sg_plan p;
	memset(&p, 0, sizeof(p));
	hl_strlcpy(p.group, GROUP, sizeof(p.group));
	hl_strlcpy(p.planned_at, "2026-11-27T09:00:00.123Z", sizeof(p.planned_at));
	p.captured_at = 1795770000.5;
	p.n = 2;
	p.rules[0] = (hl_sg_rule){ .proto = "tcp", .from = 22, .to = 22, .v6 = false };
	p.rules[1] = (hl_sg_rule){ .proto = "tcp", .from = 3389, .to = 3389, .v6 = true };
	return p;
}

static int parse(json_object *item, hl_sg_plan *out, char *why, size_t whysz)
{
	return hl_sg_plan_parse(item, EXEC, GROUP, out, why, whysz);
}

Test(sg_plan, key_is_prefix_and_sha256_of_the_execution)
{
	char key[72];
	hl_sg_plan_key("abc", key);
	cr_assert_str_eq(key, "sgplan#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert_eq(strlen(key), 71);
}

Test(sg_plan, item_round_trips)
{
	hl_sg_plan p = sample(), back;
	char why[96] = "";
	hl_strlcpy(p.automation_id, "0123abcd-0123-4567-89ab-0123456789ab", sizeof(p.automation_id));
	json_object *item = hl_sg_plan_item(&p, EXEC, ROLLBACK, 1797000000);

	cr_assert_str_eq(hl_ddb_get_s(item, "execution"), EXEC);
	cr_assert_str_eq(hl_ddb_get_s(item, "rollback"), ROLLBACK);
	long long ttl = 0;
	cr_assert(hl_ddb_get_n(item, "expires_at", &ttl));
	cr_assert_eq(ttl, 1797000000);
	cr_assert_eq(parse(item, &back, why, sizeof(why)), HL_OK, "%s", why);
	cr_assert_str_eq(back.group, GROUP);
	cr_assert_str_eq(back.planned_at, p.planned_at);
	cr_assert_str_eq(back.automation_id, p.automation_id);
	cr_assert_float_eq(back.captured_at, p.captured_at, 0.001);
	cr_assert_eq(back.n, 2);
	cr_assert_str_eq(back.rules[0].proto, "tcp");
	cr_assert_eq(back.rules[0].from, 22);
	cr_assert_eq(back.rules[0].to, 22);
	cr_assert(!back.rules[0].v6);
	cr_assert_eq(back.rules[1].from, 3389);
	cr_assert(back.rules[1].v6);
	json_object_put(item);
}

Test(sg_plan, rules_are_stored_readably)
{
	hl_sg_plan p = sample();
	json_object *item = hl_sg_plan_item(&p, EXEC, ROLLBACK, 1);
	json_object *plain = hl_ddb_plain(item);
	json_object *r0 = json_object_array_get_idx(json_object_object_get(plain, "rules"), 1);
	cr_assert_str_eq(json_object_to_json_string_ext(r0, JSON_C_TO_STRING_PLAIN),
			 "{\"ipProtocol\":\"tcp\",\"fromPort\":3389,\"toPort\":3389,\"cidr\":\"::\\/0\"}");
	cr_assert_null(json_object_object_get(plain, "automationExecutionId"), "absent until recorded");
	json_object_put(plain);
	json_object_put(item);
}

Test(sg_plan, an_empty_plan_round_trips)
{
	hl_sg_plan p = sample(), back;
	char why[96] = "";
	p.n = 0;
	json_object *item = hl_sg_plan_item(&p, EXEC, "", 1);
	cr_assert_eq(parse(item, &back, why, sizeof(why)), HL_OK, "%s", why);
	cr_assert_eq(back.n, 0);
	json_object_put(item);
}

/* Builds the sample item, lets `edit` spoil it, and expects the parse to
 * refuse it with `expect` in the reason. */
static void refused(void (*edit)(json_object *item), const char *expect)
{
	hl_sg_plan p = sample(), back;
	char why[96] = "";
	json_object *item = hl_sg_plan_item(&p, EXEC, ROLLBACK, 1);
	edit(item);
	cr_assert_eq(parse(item, &back, why, sizeof(why)), HL_ERR_PARSE);
	cr_assert_str_eq(why, expect);
	json_object_put(item);
}

static json_object *rule_map(json_object *item, size_t i)
{
	json_object *l = json_object_object_get(json_object_object_get(item, "rules"), "L");
	return json_object_object_get(json_object_array_get_idx(l, i), "M");
}

static void other_execution(json_object *item)
{
	json_object_object_add(item, "execution", hl_ddb_s(EXEC "-2"));
}

static void other_group(json_object *item)
{
	json_object_object_add(item, "groupId", hl_ddb_s("sg-11111111"));
}

static void bad_planned_at(json_object *item)
{
	json_object_object_add(item, "plannedAt", hl_ddb_s("now; rm -rf"));
}

static void bad_automation(json_object *item)
{
	json_object_object_add(item, "automationExecutionId", hl_ddb_s("x y"));
}

static void rules_not_a_list(json_object *item)
{
	json_object_object_add(item, "rules", hl_ddb_s("tcp 22"));
}

static void bad_proto(json_object *item)
{
	json_object_object_add(rule_map(item, 1), "ipProtocol", hl_ddb_s("tcp' --x"));
}

static void bad_cidr(json_object *item)
{
	json_object_object_add(rule_map(item, 0), "cidr", hl_ddb_s("10.0.0.0/8"));
}

static void bad_port(json_object *item)
{
	json_object_object_add(rule_map(item, 0), "toPort", hl_ddb_n(65536));
}

static void port_as_string(json_object *item)
{
	json_object_object_add(rule_map(item, 0), "fromPort", hl_ddb_s("22"));
}

static void too_many_rules(json_object *item)
{
	json_object *l = json_object_object_get(json_object_object_get(item, "rules"), "L");
	while (json_object_array_length(l) <= HL_SG_MAX_RULES)
		json_object_array_add(l, json_object_get(json_object_array_get_idx(l, 0)));
}

Test(sg_plan, refuses_another_execution)
{
	refused(other_execution, "the plan item belongs to another execution");
}

Test(sg_plan, refuses_another_group)
{
	refused(other_group, "the plan item names another security group");
}

Test(sg_plan, refuses_bad_members)
{
	refused(bad_planned_at, "plannedAt is missing or malformed");
	refused(bad_automation, "automationExecutionId is malformed");
	refused(rules_not_a_list, "rules is missing or has more than 64 members");
	refused(too_many_rules, "rules is missing or has more than 64 members");
	refused(bad_proto, "rule 1 is malformed");
	refused(bad_cidr, "rule 0 is malformed");
	refused(bad_port, "rule 0 is malformed");
	refused(port_as_string, "rule 0 is malformed");
}
