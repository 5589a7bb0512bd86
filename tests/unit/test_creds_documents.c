/* test_creds_documents.c - the credential document parsers: ECS, IMDS and
 * credential_process JSON, the INI reader and profile lookup, and the
 * credential_process command-line splitter. Every negative case checks the
 * exact error code, that the message names the field, and that no secret
 * leaks into it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "healer/creds.h"
#include "../../worker/creds_internal.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRET"

typedef int (*parse_fn)(const char *, size_t, hl_creds **, hl_err *);

static void expect_error(parse_fn parse, const char *doc, int code,
			 const char *needle)
{
	hl_creds *c = NULL;
	hl_err err = { 0 };
	int rc = parse(doc, strlen(doc), &c, &err);

	cr_assert_eq(rc, code, "rc %d (%s) for %s", rc, err.message, doc);
	cr_assert_eq(err.code, code);
	cr_assert_null(c);
	cr_assert(strstr(err.message, needle) != NULL, "'%s' not in '%s'",
		  needle, err.message);
	cr_assert_null(strstr(err.message, SECRET), "secret leaked: %s",
		       err.message);
	cr_assert_null(strstr(err.message, "SESSIONTOKEN"), "token leaked");
}

/* ---- ECS ------------------------------------------------------------------ */

#define ECS_OK "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"" SECRET \
	       "\",\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"," \
	       "\"RoleArn\":\"arn:aws:iam::1:role/x\"}"

Test(creds_json, ecs_document)
{
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_parse_ecs_document(ECS_OK, strlen(ECS_OK), &c, &err), 0,
		     "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "ASIAECS");
	cr_assert_str_eq(c->secret_access_key, SECRET);
	cr_assert_str_eq(c->session_token, "SESSIONTOKEN");
	cr_assert_eq(c->expiration_ms, 1893553445000LL);
	cr_assert_str_eq(c->source, "ecs");
	hl_creds_unref(c);
}

Test(creds_json, ecs_document_with_fraction_and_whitespace)
{
	const char *doc = "\n {\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\","
			  " \"Token\": \"T\", \"Expiration\": \"2030-01-02T03:04:05.123Z\"}\r\n";
	hl_creds *c = NULL;

	cr_assert_eq(hl_creds_parse_ecs_document(doc, strlen(doc), &c, NULL), 0);
	cr_assert_eq(c->expiration_ms / 1000, 1893553445LL);
	hl_creds_unref(c);
}

Test(creds_json, ecs_bad_documents)
{
	parse_fn p = hl_creds_parse_ecs_document;

	expect_error(p, "{\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"SESSIONTOKEN\","
		     "\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "missing field AccessKeyId");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"Token\":\"SESSIONTOKEN\","
		     "\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "missing field SecretAccessKey");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "missing field Token");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":\"SESSIONTOKEN\"}",
		     HL_ERR_PARSE, "missing field Expiration");
	expect_error(p, "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "field AccessKeyId is empty");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\","
		     "\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "field SecretAccessKey is empty");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":42,\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "field Token is not a string");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"tomorrow\"}",
		     HL_ERR_PARSE, "field Expiration is not an ISO 8601 date");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":\"SESSIONTOKEN\",\"Expiration\":null}",
		     HL_ERR_PARSE, "missing field Expiration");
	expect_error(p, "{\"AccessKeyId\":\"A\\u0000B\",\"SecretAccessKey\":\"" SECRET
		     "\",\"Token\":\"T\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "field AccessKeyId contains a NUL byte");
	expect_error(p, "", HL_ERR_PARSE, "not valid JSON");
	expect_error(p, "garbage", HL_ERR_PARSE, "not valid JSON");
	expect_error(p, "{\"AccessKeyId\":\"A\"", HL_ERR_PARSE, "not valid JSON");
	expect_error(p, ECS_OK " trailing", HL_ERR_PARSE, "not valid JSON");
	expect_error(p, "[1,2]", HL_ERR_PARSE, "not a JSON object");
	expect_error(p, "\"" SECRET "\"", HL_ERR_PARSE, "not a JSON object");
}

Test(creds_json, ecs_too_large_and_null)
{
	size_t n = HL_CREDS_MAX_DOCUMENT_BYTES + 1;
	char *big = malloc(n);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	memset(big, ' ', n);
	cr_assert_eq(hl_creds_parse_ecs_document(big, n, &c, &err), HL_ERR_TOO_LARGE);
	free(big);
	cr_assert_eq(hl_creds_parse_ecs_document(NULL, 0, &c, &err), HL_ERR_PARSE);
}

Test(creds_json, nesting_is_bounded)
{
	char doc[4096];
	size_t n = 0;

	for (int i = 0; i < 1000; i++)
		doc[n++] = '[';
	doc[n] = '\0';
	expect_error(hl_creds_parse_ecs_document, doc, HL_ERR_PARSE, "not valid JSON");
}

/* ---- IMDS ----------------------------------------------------------------- */

#define IMDS_DOC(code) "{\"Code\":" code ",\"LastUpdated\":\"2030-01-01T00:00:00Z\"," \
	"\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"" \
	SECRET "\",\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}"

Test(creds_json, imds_document)
{
	const char *doc = IMDS_DOC("\"Success\"");
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_parse_imds_document(doc, strlen(doc), &c, &err), 0,
		     "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "ASIAIMDS");
	cr_assert_str_eq(c->session_token, "SESSIONTOKEN");
	cr_assert_str_eq(c->source, "imds");
	cr_assert_eq(c->expiration_ms, 1893553445000LL);
	hl_creds_unref(c);
}

Test(creds_json, imds_bad_documents)
{
	parse_fn p = hl_creds_parse_imds_document;

	expect_error(p, IMDS_DOC("\"AssumeRoleUnauthorizedAccess\""),
		     HL_ERR_CREDENTIALS, "Code is \"AssumeRoleUnauthorizedAccess\"");
	expect_error(p, IMDS_DOC("\"\\u0007bad\\nline\""), HL_ERR_CREDENTIALS,
		     "Code is \"?bad?line\"");
	expect_error(p, IMDS_DOC("7"), HL_ERR_PARSE, "field Code is not a string");
	expect_error(p, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		     "\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "missing field Code");
	expect_error(p, "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\""
		     SECRET "\",\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-13-02T03:04:05Z\"}",
		     HL_ERR_PARSE, "field Expiration");
}

/* ---- credential_process --------------------------------------------------- */

Test(creds_json, process_output)
{
	const char *full = "{\"Version\": 1, \"AccessKeyId\": \"AKIDP\", \"SecretAccessKey\": \""
			   SECRET "\", \"SessionToken\": \"SESSIONTOKEN\", "
			   "\"Expiration\": \"2030-01-02T03:04:05+00:00\"}";
	const char *minimal = "{\"Version\": 1, \"AccessKeyId\": \"AKIDP\", "
			      "\"SecretAccessKey\": \"s\"}";
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_parse_process_output(full, strlen(full), &c, &err), 0,
		     "%s", err.message);
	cr_assert_str_eq(c->session_token, "SESSIONTOKEN");
	cr_assert_eq(c->expiration_ms, 1893553445000LL);
	cr_assert_str_eq(c->source, "process");
	hl_creds_unref(c);
	cr_assert_eq(hl_creds_parse_process_output(minimal, strlen(minimal), &c, &err), 0);
	cr_assert_null(c->session_token);
	cr_assert_eq(c->expiration_ms, 0, "no Expiration: never expires");
	hl_creds_unref(c);
}

Test(creds_json, process_bad_output)
{
	parse_fn p = hl_creds_parse_process_output;

	expect_error(p, "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \""
		     SECRET "\"}", HL_ERR_PARSE, "field Version must be 1");
	expect_error(p, "{\"Version\": \"1\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \""
		     SECRET "\"}", HL_ERR_PARSE, "field Version must be 1");
	expect_error(p, "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET "\"}",
		     HL_ERR_PARSE, "missing field Version");
	expect_error(p, "{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\"}",
		     HL_ERR_PARSE, "missing field AccessKeyId");
	expect_error(p, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \""
		     SECRET "\", \"SessionToken\": \"\"}", HL_ERR_PARSE,
		     "field SessionToken is empty");
	expect_error(p, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \""
		     SECRET "\", \"Expiration\": \"soon\"}", HL_ERR_PARSE,
		     "field Expiration is not an ISO 8601 date");
	expect_error(p, "not json at all", HL_ERR_PARSE, "credential_process output: not valid JSON");
}

/* ---- INI ---------------------------------------------------------------------- */

static hl_ini *parse_ini(const char *text)
{
	hl_ini *ini = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_ini_parse(text, strlen(text), &ini, &err), 0, "%s",
		     err.message);
	return ini;
}

Test(creds_ini, configparser_rules)
{
	const char *text =
		"\xEF\xBB\xBF# a comment\r\n"
		"; another\n"
		"[default]\n"
		"AWS_Access_Key_ID=AKIDDEF   \r\n"
		"  continued = not a key\n"
		"aws_secret_access_key   :   sek = with : delims  \n"
		"\n"
		"s3 =\n"
		"    max_concurrent_requests = 10\n"
		"    aws_session_token = not-a-top-level-key\n"
		"region = us-east-1 # not a comment\n"
		"[ spaced ]  trailing\n"
		"empty =\n"
		"[default]\n"
		"region = eu-west-1\n";
	hl_ini *ini = parse_ini(text);

	cr_assert(hl_creds_ini_has_section(ini, "default"));
	cr_assert(hl_creds_ini_has_section(ini, "spaced"));
	cr_assert_not(hl_creds_ini_has_section(ini, "Default"), "sections are case-sensitive");
	cr_assert_str_eq(hl_creds_ini_get(ini, "default", "aws_access_key_id"), "AKIDDEF");
	cr_assert_str_eq(hl_creds_ini_get(ini, "default", "aws_secret_access_key"),
			 "sek = with : delims");
	cr_assert_null(hl_creds_ini_get(ini, "default", "aws_session_token"),
		       "indented lines continue the previous value");
	cr_assert_null(hl_creds_ini_get(ini, "default", "continued"));
	cr_assert_str_eq(hl_creds_ini_get(ini, "default", "s3"), "");
	cr_assert_str_eq(hl_creds_ini_get(ini, "default", "region"), "eu-west-1",
			 "a repeated section: later wins");
	cr_assert_str_eq(hl_creds_ini_get(ini, "spaced", "empty"), "");
	cr_assert_null(hl_creds_ini_get(ini, "nosuch", "region"));
	hl_creds_ini_free(ini);
	hl_creds_ini_free(NULL);
}

Test(creds_ini, indented_key_after_section_is_a_key)
{
	hl_ini *ini = parse_ini("[a]\n  x = 1\n  y = 2\n[b]\nz=3");

	cr_assert_str_eq(hl_creds_ini_get(ini, "a", "x"), "1");
	cr_assert_str_eq(hl_creds_ini_get(ini, "a", "y"), "2");
	cr_assert_str_eq(hl_creds_ini_get(ini, "b", "z"), "3");
	hl_creds_ini_free(ini);
}

Test(creds_ini, parse_errors_name_the_line_not_the_content)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[a]\nx = 1\n" SECRET "\n", "line 3: expected [section] or key = value" },
		{ "x = " SECRET "\n[a]\n", "line 1: key before any [section]" },
		{ "[a]\n = " SECRET "\n", "line 2: expected [section] or key = value" },
		{ "[]\n", "line 1: expected [section] or key = value" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		hl_ini *ini = NULL;
		hl_err err = { 0 };

		cr_assert_eq(hl_creds_ini_parse(cases[i].text, strlen(cases[i].text),
						&ini, &err), HL_ERR_PARSE, "case %zu", i);
		cr_assert_null(ini);
		cr_assert_str_eq(err.message, cases[i].msg);
	}
}

Test(creds_ini, profile_lookup)
{
	hl_ini *cred = parse_ini("[default]\naws_access_key_id = AKIDCRED\n"
				 "aws_secret_access_key = s1\n"
				 "[proc]\ncredential_process = /bin/cred-a\n"
				 "[profile notinconfig]\naws_access_key_id = X\n");
	hl_ini *conf = parse_ini("[default]\naws_access_key_id = AKIDCONF\n"
				 "aws_secret_access_key = s2\nregion = x\n"
				 "[profile proc]\ncredential_process = /bin/cred-b\n"
				 "aws_access_key_id = AKIDCONFPROC\naws_secret_access_key = s\n"
				 "[profile   \"quoted name\"]\naws_access_key_id = AKIDQ\n"
				 "aws_secret_access_key = q\n"
				 "[profile cfgonly]\ncredential_process = /bin/cred-c\n"
				 "[plain]\naws_access_key_id = NOTAPROFILE\n"
				 "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
				 "source_profile = default\n");
	hl_creds_profile pr;

	hl_creds_profile_lookup(cred, conf, "default", &pr);
	cr_assert(pr.found);
	cr_assert(pr.static_from_credentials_file);
	cr_assert_str_eq(pr.access_key_id, "AKIDCRED", "credentials file wins");

	hl_creds_profile_lookup(cred, conf, "proc", &pr);
	cr_assert(pr.found);
	cr_assert_not(pr.static_from_credentials_file);
	cr_assert_str_eq(pr.credential_process, "/bin/cred-a", "credentials file wins");
	cr_assert_str_eq(pr.access_key_id, "AKIDCONFPROC");

	hl_creds_profile_lookup(cred, conf, "quoted name", &pr);
	cr_assert(pr.found);
	cr_assert_str_eq(pr.access_key_id, "AKIDQ");

	hl_creds_profile_lookup(cred, conf, "cfgonly", &pr);
	cr_assert_str_eq(pr.credential_process, "/bin/cred-c");

	hl_creds_profile_lookup(cred, conf, "plain", &pr);
	cr_assert_not(pr.found, "config sections need the 'profile ' prefix");

	hl_creds_profile_lookup(cred, conf, "notinconfig", &pr);
	cr_assert_not(pr.found, "credentials sections have no prefix");

	hl_creds_profile_lookup(cred, conf, "role", &pr);
	cr_assert(pr.found);
	cr_assert_str_eq(pr.unsupported, "role_arn");

	hl_creds_profile_lookup(NULL, conf, "default", &pr);
	cr_assert_str_eq(pr.access_key_id, "AKIDCONF");
	hl_creds_profile_lookup(NULL, NULL, "default", &pr);
	cr_assert_not(pr.found);
	hl_creds_ini_free(cred);
	hl_creds_ini_free(conf);
}

/* ---- command-line splitting --------------------------------------------------- */

static void expect_split(const char *line, const char *const *want)
{
	char **argv = NULL;
	size_t argc = 0, n = 0;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_split_command_line(line, &argv, &argc, &err), 0,
		     "%s: %s", line, err.message);
	while (want[n] != NULL)
		n++;
	cr_assert_eq(argc, n, "%s: %zu words", line, argc);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(argv[i], want[i], "%s: word %zu", line, i);
	cr_assert_null(argv[argc]);
	hl_creds_argv_free(argv);
}

Test(creds_split, shlex_rules)
{
	expect_split("/usr/bin/cred --profile  prod\t-v",
		     (const char *[]){ "/usr/bin/cred", "--profile", "prod", "-v", NULL });
	expect_split("  cmd 'single $quoted \\ text' \"double \\\"q\\\" \\\\ \\n\"",
		     (const char *[]){ "cmd", "single $quoted \\ text", "double \"q\" \\ \\n", NULL });
	expect_split("a\\ b c\\\"d \\'e",
		     (const char *[]){ "a b", "c\"d", "'e", NULL });
	expect_split("pre'fix 'mid\"dle\"post ''",
		     (const char *[]){ "prefix middlepost", "", NULL });
	expect_split("cmd # not a comment",
		     (const char *[]){ "cmd", "#", "not", "a", "comment", NULL });
	expect_split("cmd;rm -rf $HOME|x",
		     (const char *[]){ "cmd;rm", "-rf", "$HOME|x", NULL });
}

Test(creds_split, errors)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "cmd 'open", "credential_process: unbalanced ' quote" },
		{ "cmd \"open \\\"", "credential_process: unbalanced \" quote" },
		{ "cmd trailing\\", "credential_process: command line ends with a backslash" },
		{ "", "credential_process: empty command" },
		{ "   \t ", "credential_process: empty command" },
		{ "'' arg", "credential_process: empty command" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char **argv = NULL;
		hl_err err = { 0 };

		cr_assert_eq(hl_creds_split_command_line(cases[i].line, &argv, NULL, &err),
			     HL_ERR_CONFIG, "case %zu", i);
		cr_assert_null(argv);
		cr_assert_str_eq(err.message, cases[i].msg);
	}
}
