/* fuzz_creds_cmd.c - libFuzzer target: the credential_process command-line
 * splitter (shlex.split, POSIX mode, no shell) and the
 * AWS_CONTAINER_CREDENTIALS_FULL_URI check (worker/creds_internal.h).
 *
 * Input: the command line / URI as text (the same bytes go to both).
 *
 * The splitter is compared with a small reference implementation of the
 * documented rules, written independently below: whitespace (shlex's:
 * space, tab, CR, LF) separates words; '...' is literal; inside "..." a
 * backslash escapes only '"' and '\'; outside quotes a backslash escapes
 * any character; unbalanced quotes, a trailing backslash or no word at all
 * are errors, and so is an empty first word (no program). Both must agree on success/failure and on every word.
 * Nothing is executed (hl_creds_run_process is never called).
 *
 * The URI check (curl's URL parser, then the host allow-list) must not
 * crash; a refusal is HL_ERR_CONFIG with a terminated message. (Which
 * hosts pass is unit-tested in tests/unit/test_creds_http.c.)
 * Corpus: tests/fuzz/corpus/creds_cmd/.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "fuzz_common.h"

typedef struct ref_words {
	char **w;
	size_t n;
} ref_words;

static bool ref_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';   /* shlex.whitespace */
}

/* Returns false on a syntax error. */
static bool ref_split(const char *s, ref_words *out)
{
	size_t len = strlen(s);
	char *cur = malloc(len + 1);
	size_t cl = 0;
	bool in_word = false;
	out->w = calloc(len + 2, sizeof(char *));
	out->n = 0;
	if (!cur || !out->w)
		abort();
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (ref_space(c)) {
			if (in_word) {
				out->w[out->n++] = strndup(cur, cl);
				cl = 0;
				in_word = false;
			}
			i++;
		} else if (c == '\'') {
			const char *end = strchr(s + i + 1, '\'');
			if (!end)
				goto bad;
			memcpy(cur + cl, s + i + 1, (size_t)(end - s - i - 1));
			cl += (size_t)(end - s - i - 1);
			in_word = true;
			i = (size_t)(end - s) + 1;
		} else if (c == '"') {
			i++;
			for (;;) {
				if (i >= len)
					goto bad;
				if (s[i] == '"')
					break;
				if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
					cur[cl++] = s[i + 1];
					i += 2;
					continue;
				}
				cur[cl++] = s[i++];
			}
			i++;
			in_word = true;
		} else if (c == '\\') {
			if (i + 1 >= len)
				goto bad;
			cur[cl++] = s[i + 1];
			i += 2;
			in_word = true;
		} else {
			cur[cl++] = c;
			i++;
			in_word = true;
		}
	}
	if (in_word)
		out->w[out->n++] = strndup(cur, cl);
	free(cur);
	return out->n > 0 && out->w[0][0] != '\0';   /* an empty program is no command */
bad:
	free(cur);
	return false;
}

static void ref_free(ref_words *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->w[i]);
	free(r->w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return -1;
	char *line = fuzz_strndup(data, size);
	if (strlen(line) != size) {   /* an environment value has no NUL */
		free(line);
		return 0;
	}
	char **argv = NULL;
	size_t argc = 0;
	hl_err err;
	hl_err_clear(&err);
	int rc = hl_creds_split_command_line(line, &argv, &argc, &err);
	ref_words ref;
	bool ref_ok = ref_split(line, &ref);
	if ((rc == HL_OK) != ref_ok)
		fuzz_fail("command line split disagrees with the reference on success", line);
	if (rc == HL_OK) {
		if (!argv || argc != ref.n || argv[argc] != NULL)
			fuzz_fail("command line split", "wrong word count or no NULL terminator");
		for (size_t i = 0; i < argc; i++)
			if (!argv[i] || strcmp(argv[i], ref.w[i]) != 0)
				fuzz_fail("command line split: word differs from the reference", line);
	} else if (rc != HL_ERR_CONFIG) {
		fuzz_fail("command line split", "failure that is not HL_ERR_CONFIG");
	}
	hl_creds_argv_free(argv);
	ref_free(&ref);

	hl_err_clear(&err);
	rc = hl_creds_check_full_uri(line, &err);
	if (rc < 0 && rc != HL_ERR_CONFIG)
		fuzz_fail("FULL_URI check", "failure that is not HL_ERR_CONFIG");
	if (rc < 0)
		fuzz_check_terminated(err.message, sizeof(err.message), "message");
	free(line);
	return 0;
}
