/* echo.c - a diagnostic activity: returns its input with the worker name.
 *
 * Used by tests, benchmarks and operators checking that a deployment's
 * plumbing works. Optional knobs in an object input (all bounded):
 *   "sleep_ms": N      work for N ms (<= 600000), noticing cancellation
 *   "fail": "Reason"   fail with Healer.Echo.<Reason> ([A-Za-z0-9] only)
 *   "output_bytes": N  pad the output with N bytes (<= 1 MiB; tests the
 *                      output size limit)
 * Output: {"echo": <input>, "worker": "<worker name>"} (+ "padding").
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "healer/activity.h"

static int get_bounded_int(hl_activity_ctx *ctx, json_object *input, const char *key,
			   int64_t max, int64_t *out)
{
	json_object *v = NULL;
	*out = 0;
	if (!json_object_object_get_ex(input, key, &v))
		return HL_OK;
	if (!json_object_is_type(v, json_type_int))
		return hl_activity_fail(ctx, "Healer.InvalidInput", "echo: \"%s\" must be an integer", key);
	int64_t n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return hl_activity_fail(ctx, "Healer.InvalidInput",
					"echo: \"%s\" must be 0..%lld", key, (long long)max);
	*out = n;
	return HL_OK;
}

static int echo_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	int64_t sleep_ms = 0, pad = 0;

	if (json_object_is_type(input, json_type_object)) {
		HL_GUARD(get_bounded_int(ctx, input, "sleep_ms", 600000, &sleep_ms));
		HL_GUARD(get_bounded_int(ctx, input, "output_bytes", 1024 * 1024, &pad));
		json_object *fail = NULL;
		if (json_object_object_get_ex(input, "fail", &fail)) {
			const char *reason = json_object_get_string(fail);
			size_t n = strlen(reason);
			if (!json_object_is_type(fail, json_type_string) || n == 0 || n > 64)
				return hl_activity_fail(ctx, "Healer.InvalidInput",
							"echo: \"fail\" must be a string of 1..64 characters");
			for (size_t i = 0; i < n; i++)
				if (!isalnum((unsigned char)reason[i]))
					return hl_activity_fail(ctx, "Healer.InvalidInput",
								"echo: \"fail\" must be alphanumeric");
			char name[96];
			snprintf(name, sizeof(name), "Healer.Echo.%s", reason);
			return hl_activity_fail(ctx, name, "echo was asked to fail");
		}
	}
	if (sleep_ms > 0 && !hl_activity_sleep(ctx, (long)sleep_ms))
		return HL_ERR_CANCELLED;

	json_object *out = json_object_new_object();
	json_object_object_add(out, "echo", json_object_get(input));
	json_object_object_add(out, "worker", json_object_new_string(hl_activity_worker_name(ctx)));
	if (pad > 0) {
		char *padding = hl_xmalloc((size_t)pad + 1);
		memset(padding, 'x', (size_t)pad);
		padding[pad] = '\0';
		json_object_object_add(out, "padding", json_object_new_string_len(padding, (int)pad));
		free(padding);
	}
	*output = out;
	return HL_OK;
}

const hl_activity hl_activity_echo = {
	.name = "echo",
	.summary = "diagnostic: returns its input and the worker name",
	.run = echo_run,
};
