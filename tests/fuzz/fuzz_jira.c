/* fuzz_jira.c - libFuzzer target: the Jira Cloud answer parsers (jira.h):
 * error bodies, search/jql answers, transitions, and the key/label/type
 * validators the ticket activity builds paths and JQL from.
 *
 * Input: one byte of HTTP status (400 + byte % 200, so 4xx and 5xx), then
 * the answer body. The body goes to every parser.
 *
 * Invariants: an error answer is HL_ERR_AWS with the status, the reason
 * hl_jira_reason names and a message without control characters (Jira's
 * messages are cleaned); a search hit has a valid issue key, a numeric id,
 * a cleaned status and a known status category; a chosen transition has a
 * numeric id of at most 18 digits; a string accepted as issue key, project
 * key or label cannot break out of a URL path or a quoted JQL string.
 * Corpus: tests/fuzz/corpus/jira/.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/jira.h"

static void check_digits(const char *s, size_t max, const char *what)
{
	fuzz_check_terminated(s, max + 1, what);
	if (strspn(s, "0123456789") != strlen(s))
		fuzz_fail(what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1100000)
		return -1;
	long status = 400 + data[0] % 200;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char *copy = fuzz_strndup(data + 1, len);
	hl_err err;

	hl_err_clear(&err);
	if (hl_jira_error(status, copy, len, &err) != HL_ERR_AWS || err.code != HL_ERR_AWS ||
	    err.http_status != status || strcmp(err.aws_code, hl_jira_reason(status)) != 0)
		fuzz_fail("jira error", "wrong code, status or reason");
	fuzz_check_no_controls(err.message, sizeof(err.message), "jira error message");

	hl_jira_issue issue;
	bool found = false;
	hl_err_clear(&err);
	if (hl_jira_parse_search(body, len, &issue, &found, &err) == HL_OK && found) {
		if (!hl_jira_valid_issue_key(issue.key))
			fuzz_fail("jira search: invalid key accepted", issue.key);
		check_digits(issue.id, sizeof(issue.id) - 1, "jira issue id");
		fuzz_check_no_controls(issue.status, sizeof(issue.status), "jira status");
		if (issue.status_category[0] && strcmp(issue.status_category, "new") != 0 &&
		    strcmp(issue.status_category, "indeterminate") != 0 &&
		    strcmp(issue.status_category, "done") != 0)
			fuzz_fail("jira status category", issue.status_category);
	}

	char id[32], name[64], small_id[4];
	hl_err_clear(&err);
	if (hl_jira_pick_done_transition(body, len, id, sizeof(id), name, sizeof(name), &found, &err) ==
		    HL_OK && found) {
		if (!id[0] || strlen(id) > 18)
			fuzz_fail("jira transition id", id);
		check_digits(id, sizeof(id) - 1, "jira transition id");
		fuzz_check_no_controls(name, sizeof(name), "jira transition name");
	}
	if (hl_jira_pick_done_transition(body, len, small_id, sizeof(small_id), NULL, 0, &found, &err) ==
		    HL_OK && found)
		check_digits(small_id, sizeof(small_id) - 1, "jira transition id (small buffer)");

	/* Validators: what they accept is safe in a path and in "..." JQL. */
	if (hl_jira_valid_issue_key(copy) || hl_jira_valid_project_key(copy)) {
		if (strspn(copy, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(copy))
			fuzz_fail("jira key with a character unsafe in a path", copy);
	}
	if (hl_jira_valid_label(copy)) {
		fuzz_check_no_controls(copy, 256, "jira label");
		if (strpbrk(copy, " \"'\\"))
			fuzz_fail("jira label with a character unsafe in JQL", copy);
	}
	if (hl_jira_valid_issue_type(copy) &&
	    strspn(copy, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-") != strlen(copy))
		fuzz_fail("jira issue type", copy);
	free(copy);
	return 0;
}
