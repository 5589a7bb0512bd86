/* fuzz_aws_response.c - libFuzzer target: AWS JSON responses and error
 * bodies (hl_aws_parse_response, hl_aws_sanitize_error_code), as the AWS
 * client and the poller see them.
 *
 * Input layout: two bytes choose the HTTP status (mapped onto the
 * statuses that matter: 200, 204, 400, 403, 404, 413, 429, 500, 502, 503,
 * or 100 + the byte value), then the X-Amzn-ErrorType header value up to
 * the first '\n' (empty = no header), then the body.
 *
 * Invariants: a 2xx answer parses to an object or fails with
 * HL_ERR_PARSE; an error answer fills err with the returned code, an
 * aws_code that is a sanitised name (no '#', ':' or control bytes,
 * NUL-terminated) and a NUL-terminated message; err->http_status is the
 * status. Also the GetActivityTask reading of a 200 answer (taskToken and
 * input strings) as poller.c does it.
 * Corpus: tests/fuzz/corpus/aws_response/.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/aws.h"

static const long statuses[] = { 200, 204, 400, 403, 404, 413, 429, 500, 502, 503 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	long status = data[0] < 10 * 20 ? statuses[data[0] % 10] : 100 + data[1];
	data += 2;
	size -= 2;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : 0;
	char *header = fuzz_strndup(data, hlen);
	const uint8_t *body = nl ? nl + 1 : data;
	size_t body_len = nl ? size - hlen - 1 : size;
	/* The body as the HTTP client hands it over: an hl_buf, NUL after it. */
	char *body_copy = fuzz_strndup(body, body_len);

	hl_err err;
	json_object *out = NULL;
	hl_err_clear(&err);
	int rc = hl_aws_parse_response(status, header[0] ? header : NULL, body_copy, body_len, &out, &err);
	if (rc == HL_OK) {
		if (!out || !json_object_is_type(out, json_type_object))
			fuzz_fail("aws response", "success without an object");
		if (status < 200 || status > 299)
			fuzz_fail("aws response", "an error status parsed as success");
		json_object *v = NULL;
		const char *token = NULL, *input = NULL;
		if (json_object_object_get_ex(out, "taskToken", &v) && json_object_is_type(v, json_type_string))
			token = json_object_get_string(v);
		if (json_object_object_get_ex(out, "input", &v) && json_object_is_type(v, json_type_string))
			input = json_object_get_string(v);
		if (token)
			fuzz_check_terminated(token, (size_t)-1, "taskToken");
		if (input)
			fuzz_check_terminated(input, (size_t)-1, "input");
	} else {
		if (out)
			fuzz_fail("aws response", "failure with an output");
		if (err.code != rc || err.http_status != (int)status)
			fuzz_fail("aws response", "err does not match the returned status");
		if (status >= 200 && status <= 299 && rc != HL_ERR_PARSE)
			fuzz_fail("aws response", "a 2xx failure that is not a parse error");
		fuzz_check_no_controls(err.aws_code, sizeof(err.aws_code), "aws_code");
		if (strpbrk(err.aws_code, "#:"))
			fuzz_fail("aws_code not sanitised", err.aws_code);
		fuzz_check_terminated(err.message, sizeof(err.message), "message");
	}
	json_object_put(out);

	/* The sanitiser on its own, with a small output buffer too. */
	char code[128], tiny[4];
	hl_aws_sanitize_error_code(header, code, sizeof(code));
	hl_aws_sanitize_error_code(header, tiny, sizeof(tiny));
	fuzz_check_no_controls(code, sizeof(code), "sanitised code");
	fuzz_check_terminated(tiny, sizeof(tiny), "sanitised code (small buffer)");
	if (strpbrk(code, "#:"))
		fuzz_fail("sanitised code", code);

	free(header);
	free(body_copy);
	return 0;
}
