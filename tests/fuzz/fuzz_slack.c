/* fuzz_slack.c - libFuzzer target: the Slack Web API answer parser and the
 * escaping every untrusted value goes through before it is posted
 * (slack.h).
 *
 * Input: one byte of HTTP status (200 for bytes < 200, 429 for 200..219,
 * else 300 + byte), then the answer body; the body (as text) is also
 * escaped and given to the validators.
 *
 * Invariants: ok:true fills channel/ts/user id only with [A-Za-z0-9.];
 * ok:false is HL_ERR_AWS with an error code of [a-z0-9_] that is also the
 * aws_code; a non-2xx status is an error whatever the body; the escaped
 * text contains no '<' or '>' (no mention such as <!channel>, no link) and
 * every '&' starts &amp; &lt; or &gt;; accepted user ids, channels and
 * e-mail addresses have no control character, space, quote or angle
 * bracket.
 * Corpus: tests/fuzz/corpus/slack/.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/slack.h"

static void check_id(const char *s, size_t max, const char *what)
{
	fuzz_check_terminated(s, max, what);
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.'))
			fuzz_fail(what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1100000)
		return -1;
	long status = data[0] < 200 ? 200 : data[0] < 220 ? 429 : 300 + data[0];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	hl_slack_result res;
	hl_err err;

	hl_err_clear(&err);
	int rc = hl_slack_parse_response(status, body, len, &res, &err);
	if (rc == HL_OK) {
		if (!res.ok || status != 200)
			fuzz_fail("slack", "success without ok:true and a 2xx status");
		check_id(res.channel, sizeof(res.channel), "slack channel");
		check_id(res.ts, sizeof(res.ts), "slack ts");
		check_id(res.user_id, sizeof(res.user_id), "slack user id");
	} else {
		if (res.ok)
			fuzz_fail("slack", "failure marked ok");
		if (rc == HL_ERR_AWS) {
			fuzz_check_terminated(res.error, sizeof(res.error), "slack error");
			if (strspn(res.error, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(res.error) ||
			    strcmp(res.error, err.aws_code) != 0)
				fuzz_fail("slack error code", res.error);
		} else if (rc != HL_ERR_PARSE || status != 200) {
			fuzz_fail("slack", "unexpected failure kind");
		}
		fuzz_check_no_controls(err.message, sizeof(err.message), "slack message");
	}

	char *text = fuzz_strndup(data + 1, len);
	hl_buf b;
	hl_buf_init(&b, 1 << 22);
	if (hl_slack_escape(&b, text, 3000) == HL_OK && b.data) {
		if (strpbrk(b.data, "<>"))
			fuzz_fail("slack escape", "an angle bracket survived");
		for (const char *p = strchr(b.data, '&'); p; p = strchr(p + 1, '&'))
			if (strncmp(p, "&amp;", 5) != 0 && strncmp(p, "&lt;", 4) != 0 && strncmp(p, "&gt;", 4) != 0)
				fuzz_fail("slack escape", "a bare '&'");
	}
	hl_buf_free(&b);
	if (hl_slack_valid_user_id(text) || hl_slack_valid_channel(text) || hl_valid_email(text)) {
		fuzz_check_no_controls(text, 300, "slack identifier");
		if (strpbrk(text, " \"'<>"))
			fuzz_fail("slack identifier with an unsafe character", text);
	}
	free(text);
	return 0;
}
