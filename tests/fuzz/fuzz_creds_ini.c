/* fuzz_creds_ini.c - libFuzzer target: the shared credentials and config
 * files (INI parsing the AWS CLI's way) and the profile lookup that merges
 * them (worker/creds_internal.h).
 *
 * Input layout: up to three pieces separated by NUL bytes: the credentials
 * file, the config file, the profile name (absent: "default"). Each file
 * is parsed on its own; the lookup then runs on whatever parsed (a file
 * that did not parse counts as absent, as the chain treats it).
 *
 * Invariants: a parse failure is HL_ERR_PARSE with a message naming the
 * line and never the line's text (values may be secret keys); after a
 * lookup every borrowed string is NUL-terminated, static keys said to come
 * from the credentials file come from one that parsed, and a profile that
 * was not found says nothing else. Lookups of sections and keys taken from the input itself
 * must not crash either.
 * Corpus: tests/fuzz/corpus/creds_ini/.
 */
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "fuzz_common.h"

static hl_ini *parse(const char *text, size_t len)
{
	hl_ini *ini = NULL;
	hl_err err;
	hl_err_clear(&err);
	int rc = hl_creds_ini_parse(text, len, &ini, &err);
	if (rc == HL_OK) {
		if (!ini)
			fuzz_fail("ini", "success without a result");
		return ini;
	}
	if (ini)
		fuzz_fail("ini", "failure with a result");
	if (rc != HL_ERR_PARSE)
		fuzz_fail("ini", "failure that is not a parse error");
	fuzz_check_no_controls(err.message, sizeof(err.message), "ini error message");
	/* "line N: <fixed text>": nothing from the file itself. */
	static const char *const fixed[] = { "expected [section] or key = value",
					     "key before any [section]", "empty key" };
	const char *colon = strchr(err.message, ':');
	bool known = strncmp(err.message, "line ", 5) == 0 && colon && colon[1] == ' ';
	bool matched = false;
	for (size_t i = 0; known && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		matched |= strcmp(colon + 2, fixed[i]) == 0;
	if (!matched)
		fuzz_fail("ini error message is not line number + fixed text", err.message);
	return NULL;
}

static void check_opt(const char *s, const char *what)
{
	if (s)
		fuzz_check_terminated(s, (size_t)-1, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **p = NULL;
	size_t n = fuzz_split(data, size, '\0', 3, &p);
	hl_ini *cred = parse(p[0], strlen(p[0]));
	hl_ini *conf = n > 1 ? parse(p[1], strlen(p[1])) : NULL;
	const char *profile = n > 2 && p[2][0] ? p[2] : "default";

	hl_creds_profile prof;
	memset(&prof, 0xa5, sizeof(prof));
	hl_creds_profile_lookup(cred, conf, profile, &prof);
	check_opt(prof.access_key_id, "access_key_id");
	check_opt(prof.secret_access_key, "secret_access_key");
	check_opt(prof.session_token, "session_token");
	check_opt(prof.credential_process, "credential_process");
	check_opt(prof.unsupported, "unsupported");
	/* (Half a key pair is reported as such by the profile source.) */
	if (prof.static_from_credentials_file && !cred)
		fuzz_fail("profile", "static keys from a credentials file that did not parse");
	if (!prof.found && (prof.access_key_id || prof.credential_process || prof.unsupported))
		fuzz_fail("profile", "not found but with settings");

	/* Arbitrary section / key names from the input. */
	if (cred) {
		(void)hl_creds_ini_has_section(cred, profile);
		check_opt(hl_creds_ini_get(cred, profile, profile), "ini value");
		check_opt(hl_creds_ini_get(cred, "default", "aws_access_key_id"), "ini value");
	}
	if (conf)
		check_opt(hl_creds_ini_get(conf, profile, "credential_process"), "ini value");

	hl_creds_ini_free(cred);
	hl_creds_ini_free(conf);
	fuzz_pieces_free(p, n);
	return 0;
}
