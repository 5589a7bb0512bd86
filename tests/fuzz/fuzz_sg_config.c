/* fuzz_sg_config.c - libFuzzer target: the security group configuration
 * AWS Config returns (BatchGetResourceConfig's `configuration`, a JSON
 * string with ipPermissions), as remediate-sg reads it, and the rollback
 * command it writes from the rules it finds.
 *
 * The rollback command is meant to be pasted into a shell by a person, so
 * whatever the configuration says, it must not carry anything a shell
 * would interpret beyond the one single-quoted JSON argument. The parser
 * and builders are remediate-sg's rule model (include/healer/sg_rules.h).
 *
 * Input: the configuration text.
 * Invariants: at most HL_SG_MAX_RULES rules, each a world-open rule (0.0.0.0/0 or
 * ::/0) reaching 22 or 3389 with a valid protocol and ports in -1..65535;
 * the rollback command is exactly
 *   aws ec2 authorize-security-group-ingress --region R --group-id G
 *   --ip-permissions '<JSON>'
 * with a JSON array that parses back, no other single quote, and no byte
 * outside [A-Za-z0-9 space -_.,:/"[]{}'] (no $, `, ;, |, &, \, newline ...).
 * Corpus: tests/fuzz/corpus/sg_config/.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/sg_rules.h"

#define GROUP "sg-0abcd1234ef567890"

static void check_rollback(const char *cmd)
{
	static const char head[] = "aws ec2 authorize-security-group-ingress --region us-east-1 "
				   "--group-id sg-0abcd1234ef567890 --ip-permissions '";
	size_t n = strlen(cmd);
	if (strncmp(cmd, head, sizeof(head) - 1) != 0 || n < sizeof(head) + 1 || cmd[n - 1] != '\'')
		fuzz_fail("rollback command shape", cmd);
	for (const char *p = cmd; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  strchr(" -_.,:/\"[]{}'", c);
		if (!ok || (c == '\'' && p != cmd + sizeof(head) - 2 && p != cmd + n - 1))
			fuzz_fail("rollback command with a shell-sensitive byte", cmd);
	}
	char *json = strndup(cmd + sizeof(head) - 1, n - sizeof(head));
	json_object *o = json_tokener_parse(json);
	if (!json_object_is_type(o, json_type_array))
		fuzz_fail("rollback command: the permissions are not a JSON array", json);
	json_object_put(o);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200000)
		return -1;
	char *text = fuzz_strndup(data, size);
	hl_sg_rules rs;
	char why[128];
	why[0] = '\0';
	int rc = hl_sg_parse_configuration(text, &rs, why, sizeof(why));
	if (rc == HL_OK) {
		if (rs.n > HL_SG_MAX_RULES)
			fuzz_fail("sg config", "too many rules");
		const hl_sg_rule *ptrs[HL_SG_MAX_RULES];
		for (size_t i = 0; i < rs.n; i++) {
			const hl_sg_rule *r = &rs.r[i];
			if (!hl_sg_valid_proto(r->proto) || r->from < -1 || r->from > 65535 || r->to < -1 || r->to > 65535)
				fuzz_fail("sg config", "a rule with an invalid protocol or port");
			if (!hl_sg_rule_covers(r, 22) && !hl_sg_rule_covers(r, 3389))
				fuzz_fail("sg config", "a rule reaching neither 22 nor 3389");
			ptrs[i] = r;
		}
		json_object *j = hl_sg_rules_json(ptrs, rs.n);
		json_object_put(j);
		if (rs.n) {
			char *cmd = hl_sg_rollback_command(GROUP, "us-east-1", ptrs, rs.n);
			check_rollback(cmd);
			free(cmd);
		}
		/* What the dry run's output is made of (remediate_sg.c). */
		hl_sg_state before = { .rules = rs, .capture_time = 0 };
		hl_sg_change change;
		hl_sg_change_of(&before, NULL, &change);
		json_object *out = json_object_new_object();
		json_object_object_add(out, "removed", hl_sg_rules_json(change.removed, change.n_removed));
		json_object_object_add(out, "remaining", hl_sg_rules_json(change.remaining, change.n_remaining));
		if (change.n_removed) {
			char *cmd = hl_sg_rollback_command(GROUP, "us-east-1", change.removed, change.n_removed);
			check_rollback(cmd);
			json_object_object_add(out, "rollback", json_object_new_string(cmd));
			free(cmd);
		}
		json_object_object_add(out, "before", hl_sg_state_json(GROUP, &before));
		json_object *back = json_tokener_parse(json_object_to_json_string(out));
		if (!back)
			fuzz_fail("sg config", "output does not serialise");
		json_object_put(back);
		json_object_put(out);
	} else {
		fuzz_check_no_controls(why, sizeof(why), "why");
		if (!why[0])
			fuzz_fail("sg config", "refused without saying why");
	}
	free(text);
	return 0;
}
