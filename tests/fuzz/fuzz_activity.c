/* fuzz_activity.c - libFuzzer target: every registered activity's run() on
 * the same untrusted task input.
 *
 * The input is what GetActivityTask hands the worker; it is parsed the way
 * the executor parses it (one JSON value, nothing but whitespace after it)
 * and, when that succeeds, given to each activity in the registry in turn
 * with a context whose AWS connection is NULL (no region configured) and
 * with every HEALER_* and AWS_* variable removed from the environment, so
 * Slack and Jira are "not configured" too. Nothing may reach the network:
 * fuzz_common.c makes connect(2) abort. Odd-sized inputs run in dry-run.
 *
 * Invariants checked, per the contract in include/healer/activity.h:
 *   - success (0) comes with an output that is a JSON object and
 *     serialises;
 *   - a failure comes with an error name recorded through
 *     hl_activity_fail: "Healer." then printable ASCII, at most 256 bytes,
 *     and a cause of at most 32,768 bytes;
 *   - no crash, no leak, no undefined behaviour (ASan, LSan, UBSan).
 * Corpus: tests/fuzz/corpus/activity/ (inputs of every activity, built from
 * the event fixtures and docs/ACTIVITIES.md).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "healer/activity.h"

extern char **environ;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Unset every HEALER_* / AWS_* variable (restart the scan after each
	 * unsetenv: it edits environ). */
	for (bool again = true; again;) {
		again = false;
		for (char **e = environ; e && *e; e++) {
			if (strncmp(*e, "HEALER_", 7) == 0 || strncmp(*e, "AWS_", 4) == 0) {
				char name[256];
				size_t n = strcspn(*e, "=");
				if (n >= sizeof(name))
					n = sizeof(name) - 1;
				memcpy(name, *e, n);
				name[n] = '\0';
				unsetenv(name);
				again = true;
				break;
			}
		}
	}
	fuzz_quiet_logs();
	return 0;
}

/* The executor's parse_input (worker/executor.c): one JSON value, then
 * only whitespace. */
static json_object *parse_input(const uint8_t *data, size_t size)
{
	json_tokener *tok = json_tokener_new_ex(64);
	if (!tok)
		abort();
	json_object *in = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !in) {
		json_object_put(in);
		return NULL;
	}
	for (size_t i = end; i < size; i++) {
		if (data[i] != ' ' && data[i] != '\n' && data[i] != '\t' && data[i] != '\r') {
			json_object_put(in);
			return NULL;
		}
	}
	return in;
}

static void check_run(const hl_activity *act, hl_activity_ctx *ctx, int rc, json_object *output)
{
	if (rc == HL_OK) {
		if (!output || !json_object_is_type(output, json_type_object))
			fuzz_fail(act->name, "succeeded without an output object");
		size_t len = 0;
		const char *text = json_object_to_json_string_length(
			output, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (!text || len == 0)
			fuzz_fail(act->name, "output does not serialise");
		return;
	}
	if (output)
		fuzz_fail(act->name, "failed but set an output");
	const char *error = hl_activity_ctx_error(ctx);
	const char *cause = hl_activity_ctx_cause(ctx);
	if (!error)
		fuzz_fail(act->name, "failed without naming the error (hl_activity_fail not called)");
	fuzz_check_no_controls(error, HL_TASK_ERROR_MAX + 1, "error name");
	if (strncmp(error, "Healer.", 7) != 0)
		fuzz_fail("error name", error);
	if (cause)
		fuzz_check_terminated(cause, HL_TASK_CAUSE_MAX + 1, "cause");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 300000)
		return -1;   /* Step Functions' 256 KiB state limit, with room */
	json_object *input = parse_input(data, size);
	if (!input)
		return 0;
	bool dry_run = (size & 1) != 0;
	for (const hl_activity *const *a = hl_activity_all(); *a; a++) {
		hl_activity_ctx *ctx = hl_activity_ctx_new(*a, NULL, dry_run, "fuzz-worker");
		json_object *output = NULL;
		int rc = (*a)->run(ctx, input, &output);
		check_run(*a, ctx, rc, output);
		json_object_put(output);
		hl_activity_ctx_free(ctx);
	}
	json_object_put(input);
	return 0;
}
