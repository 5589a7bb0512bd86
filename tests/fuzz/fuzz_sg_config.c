/* fuzz_sg_config.c - libFuzzer target: the security group configuration
 * AWS Config returns (BatchGetResourceConfig's `configuration`, a JSON
 * string with ipPermissions), as remediate-sg reads it, and the rollback
 * command it writes from the rules it finds.
 *
 * The rollback command is meant to be pasted into a shell by a person, so
 * whatever the configuration says, it must not carry anything a shell
 * would interpret beyond the one single-quoted JSON argument. The parser
 * and builders are static in activities/remediate_sg.c: this file includes
 * it to reach them (the archive's remediate_sg.o is then not linked).
 *
 * Input: the configuration text.
 * Invariants: at most MAX_RULES rules, each a world-open rule (0.0.0.0/0 or
 * ::/0) reaching 22 or 3389 with a valid protocol and ports in -1..65535;
 * the rollback command is exactly
 *   aws ec2 authorize-security-group-ingress --region R --group-id G
 *   --ip-permissions '<JSON>'
 * with a JSON array that parses back, no other single quote, and no byte
 * outside [A-Za-z0-9 space -_.,:/"[]{}'] (no $, `, ;, |, &, \, newline ...).
 * Corpus: tests/fuzz/corpus/sg_config/.
 */
#include "../../activities/remediate_sg.c"

#include "fuzz_common.h"

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
	sg_rules rs;
	char why[128];
	why[0] = '\0';
	int rc = parse_configuration(text, &rs, why, sizeof(why));
	if (rc == HL_OK) {
		if (rs.n > MAX_RULES)
			fuzz_fail("sg config", "too many rules");
		const sg_rule *ptrs[MAX_RULES];
		for (size_t i = 0; i < rs.n; i++) {
			const sg_rule *r = &rs.r[i];
			if (!hl_sg_valid_proto(r->proto) || r->from < -1 || r->from > 65535 || r->to < -1 || r->to > 65535)
				fuzz_fail("sg config", "a rule with an invalid protocol or port");
			if (!rule_covers(r, 22) && !rule_covers(r, 3389))
				fuzz_fail("sg config", "a rule reaching neither 22 nor 3389");
			ptrs[i] = r;
		}
		json_object *j = rules_json(ptrs, rs.n);
		json_object_put(j);
		if (rs.n) {
			char *cmd = rollback_command("sg-0abcd1234ef567890", "us-east-1", ptrs, rs.n);
			check_rollback(cmd);
			free(cmd);
		}
		sg_state before = { .rules = rs, .capture_time = 0 };
		sg_plan plan;
		make_plan(&before, NULL, &plan);
		json_object *out = base_output(true, "sg-0abcd1234ef567890", NULL);
		add_plan(out, "sg-0abcd1234ef567890", "us-east-1", &plan);
		json_object_object_add(out, "before", state_json("sg-0abcd1234ef567890", &before));
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
