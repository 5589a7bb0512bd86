/* fuzz_sg_plan.c - libFuzzer target: remediate-sg's rollback plan as read
 * back from DynamoDB (GetItem's Item, wire form), hl_sg_plan_parse.
 *
 * Input: the item as JSON. The execution and group it must name are fixed
 * (those of the seeds).
 * Invariants: a plan that parses has at most HL_SG_MAX_RULES rules, each
 * with a valid protocol, ports in -1..65535 and one of the two world
 * CIDRs; bounded, control-free strings; building the item again from it
 * and parsing that gives the same plan. A refusal says why, without
 * control bytes.
 * Corpus: tests/fuzz/corpus/sg_plan/.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/sg_plan.h"

#define EXEC "arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f"
#define GROUP "sg-0abcd1234ef567890"

static bool same(const hl_sg_plan *a, const hl_sg_plan *b)
{
	if (a->n != b->n || strcmp(a->group, b->group) != 0 || strcmp(a->planned_at, b->planned_at) != 0 ||
	    strcmp(a->automation_id, b->automation_id) != 0)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->rules[i].proto, b->rules[i].proto) != 0 || a->rules[i].from != b->rules[i].from ||
		    a->rules[i].to != b->rules[i].to || a->rules[i].v6 != b->rules[i].v6)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200000)
		return -1;
	char *text = fuzz_strndup(data, size);
	json_object *item = json_tokener_parse(text);
	hl_sg_plan p, back;
	char why[96] = "";
	int rc = hl_sg_plan_parse(item, EXEC, GROUP, &p, why, sizeof(why));
	if (rc == HL_OK) {
		if (p.n > HL_SG_MAX_RULES)
			fuzz_fail("sg plan", "too many rules");
		for (size_t i = 0; i < p.n; i++) {
			const hl_sg_rule *r = &p.rules[i];
			if (!hl_sg_valid_proto(r->proto) || r->from < -1 || r->from > 65535 || r->to < -1 ||
			    r->to > 65535)
				fuzz_fail("sg plan", "a rule with an invalid protocol or port");
		}
		fuzz_check_no_controls(p.planned_at, sizeof(p.planned_at), "plannedAt");
		fuzz_check_no_controls(p.automation_id, sizeof(p.automation_id), "automationExecutionId");
		json_object *again = hl_sg_plan_item(&p, EXEC, "rollback", 1);
		char why2[96] = "";
		if (hl_sg_plan_parse(again, EXEC, GROUP, &back, why2, sizeof(why2)) != HL_OK || !same(&p, &back))
			fuzz_fail("sg plan", "the rebuilt item does not read back the same");
		json_object_put(again);
	} else {
		fuzz_check_no_controls(why, sizeof(why), "why");
		if (!why[0])
			fuzz_fail("sg plan", "refused without saying why");
	}
	json_object_put(item);
	free(text);
	return 0;
}
