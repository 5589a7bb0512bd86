/* test_sigv4.c - SigV4 signing: the AWS signing test suite, botocore
 * cross-checks, exact errors for invalid input, and the signing-key cache.
 *
 * The suite test walks every case directory of
 * ../shared/testdata/aws-signing-test-suite/v4 (or $HEALER_SIGV4_SUITE),
 * parses context.json and request.txt, signs with the header variant and
 * compares the canonical request, string to sign, signature and
 * Authorization header byte for byte, reporting each failing case with
 * where its output first differs. The case count is asserted so a missing
 * or moved suite cannot pass silently.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/clock.h"
#include "healer/common.h"
#include "healer/sigv4.h"

#define SUITE_DEFAULT "../shared/testdata/aws-signing-test-suite/v4"
#define SUITE_CASES 38
#define MAX_REQ_HEADERS 64

/* ---- suite files ---------------------------------------------------------- */

static char *read_file(const char *dir, const char *name, size_t *len_out)
{
	char *path = hl_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0;

	free(path);
	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 8192;
			data = hl_xrealloc(data, cap);
		}
		size_t got = fread(data + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[len] = '\0';
	if (len_out)
		*len_out = len;
	return data;
}

/* request.txt, parsed: request line, headers (continuation lines folded
 * into the previous value with one space), body after the blank line. */
typedef struct parsed_req {
	char *text;
	char *owned[MAX_REQ_HEADERS];   /* folded values */
	size_t n_owned;
	hl_header headers[MAX_REQ_HEADERS];
	hl_sigv4_request req;
} parsed_req;

static void parsed_req_free(parsed_req *p)
{
	for (size_t i = 0; i < p->n_owned; i++)
		free(p->owned[i]);
	free(p->text);
}

static int parse_request(char *text, size_t len, parsed_req *p, FILE *why)
{
	memset(p, 0, sizeof(*p));
	p->text = text;

	/* Body: everything after the first empty line. */
	char *blank = strstr(text, "\n\n");
	char *head_end = text + len;
	if (blank) {
		p->req.payload = blank + 2;
		p->req.payload_len = len - (size_t)(blank + 2 - text);
		head_end = blank + 1;
	}
	*head_end = '\0';   /* the body keeps its bytes: it starts after this */

	size_t n = 0;
	char *line = text, *next;
	for (int lineno = 0; line && *line; lineno++, line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (lineno == 0) {
			/* METHOD SP target SP version; the target may hold spaces. */
			char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' ');
			if (!sp1 || sp1 == sp2) {
				fprintf(why, "  bad request line: %s\n", line);
				return -1;
			}
			*sp1 = '\0';
			*sp2 = '\0';
			p->req.method = line;
			p->req.path = sp1 + 1;
			char *q = strchr(sp1 + 1, '?');
			if (q) {
				*q = '\0';
				p->req.query = q + 1;
			}
		} else if (line[0] == ' ' || line[0] == '\t') {
			if (n == 0) {
				fprintf(why, "  continuation line before any header\n");
				return -1;
			}
			while (*line == ' ' || *line == '\t')
				line++;
			char *v = hl_xasprintf("%s %s", p->headers[n - 1].value, line);
			p->owned[p->n_owned++] = v;
			p->headers[n - 1].value = v;
		} else {
			char *colon = strchr(line, ':');
			if (!colon || n == MAX_REQ_HEADERS) {
				fprintf(why, "  bad header line: %s\n", line);
				return -1;
			}
			*colon = '\0';
			p->headers[n].name = line;
			p->headers[n].value = colon + 1;
			n++;
		}
	}
	p->req.headers = p->headers;
	p->req.n_headers = n;
	return 0;
}

static const char *ctx_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool ctx_bool(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Prints text with each line prefixed by "| " (keeps empty lines visible). */
static void show_text(FILE *r, const char *label, const char *text)
{
	fprintf(r, "    %s\n", label);
	for (const char *line = text;;) {
		size_t ll = strcspn(line, "\n");
		fprintf(r, "    | %.*s\n", (int)ll, line);
		if (!line[ll])
			break;
		line += ll + 1;
	}
}

/* Prints where expected and actual first differ, then both in full. */
static void show_diff(FILE *r, const char *what, const char *exp, const char *act)
{
	size_t i = 0, line = 1, start = 0;

	while (exp[i] && exp[i] == act[i]) {
		if (exp[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	fprintf(r, "  %s differs at byte %zu (line %zu):\n", what, i, line);
	fprintf(r, "    expected: %.*s\n", (int)strcspn(exp + start, "\n"), exp + start);
	fprintf(r, "    actual:   %.*s\n", (int)strcspn(act + start, "\n"), act + start);
	show_text(r, "--- expected", exp);
	show_text(r, "+++ actual", act);
}

static bool check_eq(FILE *r, const char *what, const char *exp, const char *act)
{
	if (!exp) {
		fprintf(r, "  missing expected file for %s\n", what);
		return false;
	}
	if (!act || strcmp(exp, act) != 0) {
		show_diff(r, what, exp, act ? act : "(null)");
		return false;
	}
	return true;
}

/* The Authorization value from header-signed-request.txt. */
static char *expected_authorization(const char *dir)
{
	char *text = read_file(dir, "header-signed-request.txt", NULL);
	char *out = NULL;
	for (char *line = text; line && *line;) {
		size_t ll = strcspn(line, "\n");
		if (ll > 14 && strncasecmp(line, "Authorization:", 14) == 0) {
			out = hl_xstrndup(line + 14, ll - 14);
			break;
		}
		line += ll + (line[ll] ? 1 : 0);
	}
	free(text);
	return out;
}

/* Runs one case; on failure writes why to r and returns false. */
static bool run_case(hl_sigv4_signer *s, const char *dir, FILE *r)
{
	json_object *ctx = NULL, *creds = NULL;
	parsed_req p = { 0 };
	char *ctx_path = hl_xasprintf("%s/context.json", dir);
	char *req_text = NULL, *exp_creq = NULL, *exp_sts = NULL, *exp_sig = NULL, *exp_auth = NULL;
	size_t req_len = 0;
	bool ok = false;
	hl_sigv4_result out;
	hl_err err = { 0 };

	ctx = json_object_from_file(ctx_path);
	if (!ctx || !json_object_object_get_ex(ctx, "credentials", &creds)) {
		fprintf(r, "  cannot read %s\n", ctx_path);
		goto done;
	}
	req_text = read_file(dir, "request.txt", &req_len);
	if (!req_text) {
		fprintf(r, "  cannot read request.txt\n");
		goto done;
	}
	if (parse_request(req_text, req_len, &p, r) < 0)
		goto done;
	req_text = NULL;   /* owned by p */

	int64_t t = 0;
	if (hl_parse_iso8601(ctx_str(ctx, "timestamp"), &t) < 0) {
		fprintf(r, "  bad timestamp\n");
		goto done;
	}
	hl_sigv4_params params = {
		.access_key_id = ctx_str(creds, "access_key_id"),
		.secret_access_key = ctx_str(creds, "secret_access_key"),
		/* omit_session_token: the token is sent but not signed */
		.session_token = ctx_bool(ctx, "omit_session_token") ? NULL : ctx_str(creds, "token"),
		.region = ctx_str(ctx, "region"),
		.service = ctx_str(ctx, "service"),
		.time_s = t,
		.normalize_path = ctx_bool(ctx, "normalize"),
		.add_content_sha256 = ctx_bool(ctx, "sign_body"),
	};
	int rc = hl_sigv4_sign(s, &p.req, &params, &out, &err);
	if (rc != 0) {
		fprintf(r, "  sign failed: %d %s\n", rc, err.message);
		goto done;
	}
	exp_creq = read_file(dir, "header-canonical-request.txt", NULL);
	exp_sts = read_file(dir, "header-string-to-sign.txt", NULL);
	exp_sig = read_file(dir, "header-signature.txt", NULL);
	exp_auth = expected_authorization(dir);
	ok = check_eq(r, "canonical request", exp_creq, out.canonical_request);
	ok = check_eq(r, "string to sign", exp_sts, out.string_to_sign) && ok;
	ok = check_eq(r, "signature", exp_sig, out.signature) && ok;
	ok = check_eq(r, "authorization", exp_auth, out.authorization) && ok;
done:
	json_object_put(ctx);
	free(ctx_path);
	free(req_text);
	parsed_req_free(&p);
	free(exp_creq);
	free(exp_sts);
	free(exp_sig);
	free(exp_auth);
	return ok;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(sigv4, aws_signing_test_suite)
{
	const char *root = getenv("HEALER_SIGV4_SUITE");
	char **names = NULL, *report = NULL;
	size_t n = 0, cap = 0, failed = 0, report_len = 0;
	struct dirent *de;
	FILE *r = open_memstream(&report, &report_len);
	hl_sigv4_signer *s = hl_sigv4_signer_new();

	if (!root || !*root)
		root = SUITE_DEFAULT;
	cr_assert_not_null(s);
	DIR *d = opendir(root);
	cr_assert_not_null(d, "cannot open the SigV4 suite at %s: %s", root, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *ctx = hl_xasprintf("%s/%s/context.json", root, de->d_name);
		FILE *f = fopen(ctx, "r");
		free(ctx);
		if (!f)
			continue;
		fclose(f);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = hl_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = hl_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), str_cmp);

	for (size_t i = 0; i < n; i++) {
		char *dir = hl_xasprintf("%s/%s", root, names[i]);
		/* One signer for all cases (exercises the key cache across them)
		 * and a fresh one per case must agree. */
		hl_sigv4_signer *fresh = hl_sigv4_signer_new();
		char *why = NULL;
		size_t why_len = 0;
		FILE *w = open_memstream(&why, &why_len);
		bool ok = run_case(s, dir, w) && run_case(fresh, dir, w);
		fclose(w);
		if (!ok) {
			failed++;
			fprintf(r, "case %s:\n%s", names[i], why);
		}
		free(why);
		hl_sigv4_signer_free(fresh);
		free(dir);
	}
	fclose(r);
	fprintf(stderr, "sigv4 suite: %zu of %zu cases passed (%s)\n", n - failed, n, root);

	cr_expect_eq(n, SUITE_CASES, "found %zu cases in %s, expected %d", n, root, SUITE_CASES);
	cr_expect_eq(failed, 0, "%zu of %zu suite cases failed:\n%s", failed, n, report);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(report);
	hl_sigv4_signer_free(s);
}

/* ---- botocore cross-checks ------------------------------------------------ */

/* A Step Functions GetActivityTask as the worker sends it. Expected values
 * come from botocore 1.29 SigV4Auth (Debian python3-botocore), the signer the
 * local test endpoint verifies with. */
static const char sfn_body[] =
	"{\"activityArn\":\"arn:aws:states:us-east-1:123456789012:activity:healer-diagnose\","
	"\"workerName\":\"healer-1\"}";
static const hl_header sfn_headers[] = {
	{ "Host", "states.us-east-1.amazonaws.com" },
	{ "Content-Type", "application/x-amz-json-1.0" },
	{ "X-Amz-Target", "AWSStepFunctions.GetActivityTask" },
};

static hl_sigv4_request sfn_request(void)
{
	return (hl_sigv4_request){
		.method = "POST",
		.path = "/",
		.headers = sfn_headers,
		.n_headers = sizeof(sfn_headers) / sizeof(sfn_headers[0]),
		.payload = sfn_body,
		.payload_len = sizeof(sfn_body) - 1,
	};
}

static hl_sigv4_params sfn_params(void)
{
	return (hl_sigv4_params){
		.access_key_id = "ASIAEXAMPLEKEY123456",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/=",
		.region = "us-east-1",
		.service = "states",
		.time_s = 1714564800,   /* 2024-05-01T12:00:00Z */
		.normalize_path = true,
	};
}

Test(sigv4, step_functions_request_matches_botocore)
{
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_request req = sfn_request();
	hl_sigv4_params params = sfn_params();
	hl_sigv4_result out;
	hl_err err = { 0 };

	cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
	cr_assert_str_eq(out.canonical_request,
			 "POST\n/\n\n"
			 "content-type:application/x-amz-json-1.0\n"
			 "host:states.us-east-1.amazonaws.com\n"
			 "x-amz-date:20240501T120000Z\n"
			 "x-amz-security-token:FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/=\n"
			 "x-amz-target:AWSStepFunctions.GetActivityTask\n\n"
			 "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
			 "625f1dbff04eae52c020cef4932987ac4714ff32db772ec9c449d80c1dd69c0b");
	cr_assert_str_eq(out.authorization,
			 "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY123456/20240501/us-east-1/states/"
			 "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
			 "x-amz-security-token;x-amz-target, Signature="
			 "ffdd10b269d2b1320871d2a21ac18188b93c8d6652c93bb1b2b2ea8570beeffe");
	cr_assert_str_eq(out.amz_date, "20240501T120000Z");
	cr_assert_str_eq(out.security_token, params.session_token);
	cr_assert_null(out.content_sha256);
	hl_sigv4_signer_free(s);
}

/* Secrets longer than an HMAC block (hashed first) and longer than the
 * signer caches (derived on every call). */
Test(sigv4, long_secrets_match_botocore)
{
	static const struct {
		size_t len;
		char c;
		const char *sig;
	} cases[] = {
		{ 100, 'S', "bbd3adcba0b0745c62f7d073deceabd980a20caac0d2bbd436439787d0dc05a3" },
		{ 300, 'x', "716c5cee045a271e74651702b25ac74e7a2eb087f7f7234e6342b2ce4c452f7b" },
	};
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_request req = sfn_request();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char secret[301];
		memset(secret, cases[i].c, cases[i].len);
		secret[cases[i].len] = '\0';
		hl_sigv4_params params = sfn_params();
		params.access_key_id = "AKIDEXAMPLE";
		params.secret_access_key = secret;
		params.session_token = NULL;
		params.region = "eu-west-1";
		for (int round = 0; round < 2; round++) {
			hl_sigv4_result out;
			hl_err err = { 0 };
			cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
			cr_assert_str_eq(out.signature, cases[i].sig, "secret of %zu bytes, round %d",
					 cases[i].len, round);
		}
	}
	hl_sigv4_signer_free(s);
}

/* ---- other behaviour ------------------------------------------------------ */

Test(sigv4, sha256_hex)
{
	char hex[65];
	hl_sha256_hex("", 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hl_sha256_hex(NULL, 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hl_sha256_hex("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sigv4, unsigned_payload_and_content_sha256)
{
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_request req = sfn_request();
	hl_sigv4_params params = sfn_params();
	hl_sigv4_result out;
	hl_err err = { 0 };

	params.unsigned_payload = true;
	params.add_content_sha256 = true;
	cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
	cr_assert_str_eq(out.content_sha256, "UNSIGNED-PAYLOAD");
	cr_assert(strstr(out.canonical_request, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	cr_assert(strstr(out.canonical_request,
			 "\ncontent-type;host;x-amz-content-sha256;x-amz-date;"
			 "x-amz-security-token;x-amz-target\nUNSIGNED-PAYLOAD"));

	params.unsigned_payload = false;
	cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
	char hex[65];
	hl_sha256_hex(sfn_body, sizeof(sfn_body) - 1, hex);
	cr_assert_str_eq(out.content_sha256, hex);
	hl_sigv4_signer_free(s);
}

/* Canonical URI and query rules beyond the suite: double encoding of the
 * wire path, ".." past the root, query decoding and sorting. */
Test(sigv4, canonical_uri_and_query)
{
	static const struct {
		const char *path, *query;
		bool normalize;
		const char *want;   /* first three lines of the canonical request */
	} cases[] = {
		{ "/a%2Fb/c d", NULL, true, "GET\n/a%252Fb/c%20d\n\n" },
		{ "/../../a/./b/../c/", NULL, true, "GET\n/a/c/\n\n" },
		{ "/a/..", NULL, true, "GET\n/\n\n" },
		{ "", "", true, "GET\n/\n\n" },
		{ "/a//b", NULL, false, "GET\n/a//b\n\n" },
		{ "/", "b=2&a=3&a=1&&c", true, "GET\n/\na=1&a=3&b=2&c=\n" },
		{ "/", "k=%7e%2F%zz+x%", true, "GET\n/\nk=~%2F%25zz%2Bx%25\n" },
		{ "/", "a=b=c", true, "GET\n/\na=b%3Dc\n" },
	};
	static const hl_header hdrs[] = { { "host", "example.com" } };
	hl_sigv4_signer *s = hl_sigv4_signer_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hl_sigv4_request req = { .method = "GET", .path = cases[i].path,
					 .query = cases[i].query, .headers = hdrs, .n_headers = 1 };
		hl_sigv4_params params = sfn_params();
		hl_sigv4_result out;
		hl_err err = { 0 };
		params.normalize_path = cases[i].normalize;
		cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
		cr_assert_eq(strncmp(out.canonical_request, cases[i].want, strlen(cases[i].want)), 0,
			     "path %s query %s: got\n%s", cases[i].path, cases[i].query,
			     out.canonical_request);
	}
	hl_sigv4_signer_free(s);
}

Test(sigv4, header_values_trimmed_and_combined)
{
	static const hl_header hdrs[] = {
		{ "Host", "example.com" },
		{ "X-B", " \t two   words\t" },
		{ "x-a", "1" },
		{ "X-B", "" },
		{ "X-A", "0" },
	};
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_request req = { .method = "GET", .path = "/", .headers = hdrs, .n_headers = 5 };
	hl_sigv4_params params = sfn_params();
	hl_sigv4_result out;
	hl_err err = { 0 };

	params.session_token = "";
	cr_assert_eq(hl_sigv4_sign(s, &req, &params, &out, &err), 0, "%s", err.message);
	cr_assert(strstr(out.canonical_request,
			 "\nhost:example.com\nx-a:1,0\nx-amz-date:20240501T120000Z\n"
			 "x-b:two words,\n\nhost;x-a;x-amz-date;x-b\n"),
		  "got\n%s", out.canonical_request);
	cr_assert_null(out.security_token);
	hl_sigv4_signer_free(s);
}

/* ---- the signing-key cache ------------------------------------------------ */

static void sign_copy(hl_sigv4_signer *s, const hl_sigv4_params *params, char sig[65])
{
	hl_sigv4_request req = sfn_request();
	hl_sigv4_result out;
	hl_err err = { 0 };
	cr_assert_eq(hl_sigv4_sign(s, &req, params, &out, &err), 0, "%s", err.message);
	hl_strlcpy(sig, out.signature, 65);
}

/* The reused signer must give what a fresh one gives. */
static void expect_same_as_fresh(hl_sigv4_signer *s, const hl_sigv4_params *params,
				 char sig[65], const char *step)
{
	char fresh_sig[65];
	hl_sigv4_signer *fresh = hl_sigv4_signer_new();
	sign_copy(s, params, sig);
	sign_copy(fresh, params, fresh_sig);
	hl_sigv4_signer_free(fresh);
	cr_assert_str_eq(sig, fresh_sig, "cached and fresh signers differ after %s", step);
}

Test(sigv4, key_cache_matches_fresh_signer_and_is_invalidated)
{
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_params params = sfn_params();
	char first[65], sig[65];

	expect_same_as_fresh(s, &params, first, "first sign");
	expect_same_as_fresh(s, &params, sig, "second sign (cache hit)");
	cr_assert_str_eq(sig, first);
	cr_assert_str_eq(first, "ffdd10b269d2b1320871d2a21ac18188b93c8d6652c93bb1b2b2ea8570beeffe");

	params.time_s += 3600;   /* same day: key reused, new X-Amz-Date */
	expect_same_as_fresh(s, &params, sig, "an hour later");
	cr_assert_str_neq(sig, first);

	params.time_s += 86400;  /* next day: new key */
	expect_same_as_fresh(s, &params, sig, "a date change");
	cr_assert_str_neq(sig, first);

	params = sfn_params();
	params.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";  /* last byte */
	expect_same_as_fresh(s, &params, sig, "a secret change");
	cr_assert_str_neq(sig, first);

	params.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKE";   /* prefix */
	expect_same_as_fresh(s, &params, sig, "a shorter secret");
	cr_assert_str_neq(sig, first);

	params = sfn_params();
	params.region = "eu-west-1";
	expect_same_as_fresh(s, &params, sig, "a region change");
	params.service = "states2";
	expect_same_as_fresh(s, &params, sig, "a service change");

	params = sfn_params();
	expect_same_as_fresh(s, &params, sig, "returning to the first inputs");
	cr_assert_str_eq(sig, first);
	hl_sigv4_signer_free(s);
}

/* ---- invalid input: exact errors ------------------------------------------ */

static void expect_error(const hl_sigv4_request *req, const hl_sigv4_params *params,
			 int code, const char *message)
{
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_result out;
	hl_err err = { 0 };

	memset(&out, 0xa5, sizeof(out));
	int rc = hl_sigv4_sign(s, req, params, &out, &err);
	cr_assert_eq(rc, code, "want %d (%s), got %d: %s", code, message, rc, err.message);
	cr_assert_eq(err.code, code);
	cr_assert_str_eq(err.message, message);
	cr_assert_null(out.authorization, "result not cleared on error");
	cr_assert_null(out.signature);

	/* The signer stays usable after an error. */
	hl_sigv4_request good_req = sfn_request();
	hl_sigv4_params good = sfn_params();
	cr_assert_eq(hl_sigv4_sign(s, &good_req, &good, &out, &err), 0, "%s", err.message);
	cr_assert_str_eq(out.signature,
			 "ffdd10b269d2b1320871d2a21ac18188b93c8d6652c93bb1b2b2ea8570beeffe");
	hl_sigv4_signer_free(s);
}

Test(sigv4, null_arguments)
{
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_request req = sfn_request();
	hl_sigv4_params params = sfn_params();
	hl_sigv4_result out;
	hl_err err = { 0 };

	cr_assert_eq(hl_sigv4_sign(NULL, &req, &params, &out, &err), HL_ERR_INVALID);
	cr_assert_str_eq(err.message, "sigv4: signer is NULL");
	cr_assert_eq(hl_sigv4_sign(s, NULL, &params, &out, &err), HL_ERR_INVALID);
	cr_assert_str_eq(err.message, "sigv4: request is NULL");
	cr_assert_eq(hl_sigv4_sign(s, &req, NULL, &out, &err), HL_ERR_INVALID);
	cr_assert_str_eq(err.message, "sigv4: params is NULL");
	cr_assert_eq(hl_sigv4_sign(s, &req, &params, NULL, &err), HL_ERR_INVALID);
	cr_assert_str_eq(err.message, "sigv4: result is NULL");
	/* err itself may be NULL */
	cr_assert_eq(hl_sigv4_sign(s, NULL, &params, &out, NULL), HL_ERR_INVALID);
	hl_sigv4_signer_free(s);
	hl_sigv4_signer_free(NULL);
}

Test(sigv4, invalid_params)
{
	hl_sigv4_request req = sfn_request();
	hl_sigv4_params p;

	p = sfn_params(), p.access_key_id = NULL;
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: access_key_id is missing");
	p = sfn_params(), p.access_key_id = "AKID/X";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: access_key_id has invalid byte 0x2f");
	p = sfn_params(), p.secret_access_key = "";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: secret_access_key is missing");
	p = sfn_params(), p.secret_access_key = NULL;
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: secret_access_key is missing");
	p = sfn_params(), p.region = "";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: region is missing");
	p = sfn_params(), p.region = "us east-1";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: region has invalid byte 0x20");
	p = sfn_params(), p.region = "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: region is longer than 64 bytes");
	p = sfn_params(), p.service = "states/x";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: service has invalid byte 0x2f");
	p = sfn_params(), p.session_token = "abc\r\nX-Injected: 1";
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: session_token has invalid byte 0x0d");
	p = sfn_params(), p.time_s = -1;
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: time_s -1 is out of range");
	p = sfn_params(), p.time_s = INT64_MAX;
	expect_error(&req, &p, HL_ERR_INVALID, "sigv4: time_s 9223372036854775807 is out of range");
}

Test(sigv4, invalid_request_line)
{
	hl_sigv4_params p = sfn_params();
	hl_sigv4_request r;

	r = sfn_request(), r.method = NULL;
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: method is missing");
	r = sfn_request(), r.method = "PO ST";
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: method has invalid byte 0x20");
	r = sfn_request(), r.path = NULL;
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: path is missing");
	r = sfn_request(), r.path = "relative";
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: path must start with '/'");
	r = sfn_request(), r.path = "/a\r\nb";
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: path has invalid byte 0x0d");
	r = sfn_request(), r.query = "a=1\n";
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: query has invalid byte 0x0a");
	r = sfn_request(), r.payload = NULL;
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: payload is NULL but payload_len is 104");
}

Test(sigv4, invalid_headers)
{
	hl_sigv4_params p = sfn_params();
	hl_sigv4_request r = sfn_request();
	hl_header h[4] = { { "Host", "example.com" } };

	r.headers = h;
	r.n_headers = 2;
	h[1] = (hl_header){ "X-Evil\r\nInjected", "1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 name has invalid byte 0x0d");
	h[1] = (hl_header){ "My Header", "1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 name has invalid byte 0x20");
	h[1] = (hl_header){ "X-Target", "a\r\nX-Injected: 1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 (X-Target) value has invalid byte 0x0d");
	h[1] = (hl_header){ "", "1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 has an empty name");
	h[1] = (hl_header){ NULL, "1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 has a NULL name");
	h[1] = (hl_header){ "X-A", NULL };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 has a NULL value");
	h[1] = (hl_header){ "X-Amz-Date", "20240501T120000Z" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 (X-Amz-Date) is set by the signer");
	h[1] = (hl_header){ "x-amz-security-token", "t" };
	expect_error(&r, &p, HL_ERR_INVALID,
		     "sigv4: header 1 (x-amz-security-token) is set by the signer");
	h[1] = (hl_header){ "Authorization", "AWS4-HMAC-SHA256 x" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: header 1 (Authorization) is set by the signer");

	h[0] = (hl_header){ "X-Host", "example.com" };
	h[1] = (hl_header){ "X-A", "1" };
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: host header is missing");
	r.headers = NULL;
	expect_error(&r, &p, HL_ERR_INVALID, "sigv4: headers is NULL but n_headers is 2");
}

Test(sigv4, bounds)
{
	hl_sigv4_params p = sfn_params();
	hl_sigv4_request r = sfn_request();
	static hl_header many[257];

	for (size_t i = 0; i < 257; i++)
		many[i] = (hl_header){ "Host", "example.com" };
	r.headers = many;
	r.n_headers = 257;
	expect_error(&r, &p, HL_ERR_TOO_LARGE, "sigv4: too many headers (257, max 256)");

	/* 256 headers are fine. */
	hl_sigv4_signer *s = hl_sigv4_signer_new();
	hl_sigv4_result out;
	hl_err err = { 0 };
	r.n_headers = 256;
	cr_assert_eq(hl_sigv4_sign(s, &r, &p, &out, &err), 0, "%s", err.message);
	hl_sigv4_signer_free(s);

	r = sfn_request();
	char *q = hl_xmalloc(2 * 4097 + 1);
	for (size_t i = 0; i < 4097; i++)
		memcpy(q + 2 * i, "a&", 2);
	q[2 * 4097 - 1] = '\0';
	r.query = q;
	expect_error(&r, &p, HL_ERR_TOO_LARGE, "sigv4: query has more than 4096 parameters");
	free(q);

	/* A path that encodes past the canonical request bound. */
	size_t n = 400 * 1024;
	char *path = hl_xmalloc(n + 1);
	memset(path, ' ', n);
	path[0] = '/';
	path[n] = '\0';
	r = sfn_request();
	r.path = path;
	expect_error(&r, &p, HL_ERR_TOO_LARGE, "sigv4: canonical request exceeds 1048576 bytes");
	free(path);
}
