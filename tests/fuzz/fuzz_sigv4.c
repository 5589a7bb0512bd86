/* fuzz_sigv4.c - libFuzzer target: SigV4 canonicalisation and signing of
 * odd URIs, queries, headers and tokens (hl_sigv4_sign, sigv4.h).
 *
 * Input: an HTTP request in the AWS signing test suite's request.txt form
 * (the suite's requests are the seed corpus):
 *   METHOD URI HTTP/1.1          (URI = path[?query]; " HTTP/1.1" optional)
 *   Name:value                   (headers; lines starting with a space or
 *     more value                  tab continue the previous value)
 *   @token:VALUE                 (optional: the session token to sign with)
 *
 *   body
 *
 * Each request is signed with path normalisation on and off.
 *
 * Invariants: a refusal is HL_ERR_INVALID or HL_ERR_TOO_LARGE and leaves
 * the result zeroed; a signature is 64 lowercase hex digits; the
 * Authorization, X-Amz-Date and X-Amz-Security-Token values carry no
 * control byte (no header injection, whatever the input); the secret key
 * never appears in the canonical request or string to sign (unless the
 * input itself carries it), nor the session token in the string to sign; the signer's key cache is transparent (signing with
 * another secret in between does not change the signature).
 * Corpus: tests/fuzz/corpus/sigv4/.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/sigv4.h"

#define MAX_HEADERS 300

static hl_sigv4_signer *signer;
static const char SECRET[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const char OTHER_SECRET[] = "AnotherSecretKeyForTheCacheCheck00000000";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signer = hl_sigv4_signer_new();
	return signer ? 0 : 1;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static void check_result(const hl_sigv4_result *r, const char *token, bool input_has_secret)
{
	fuzz_check_no_controls(r->authorization, (size_t)-1, "Authorization");
	fuzz_check_no_controls(r->amz_date, 32, "X-Amz-Date");
	if (r->security_token)
		fuzz_check_no_controls(r->security_token, (size_t)-1, "X-Amz-Security-Token");
	if (!is_hex64(r->signature))
		fuzz_fail("sigv4", "signature is not 64 lowercase hex digits");
	if (strncmp(r->authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) != 0)
		fuzz_fail("sigv4 Authorization", r->authorization);
	if (!input_has_secret && (strstr(r->canonical_request, SECRET) || strstr(r->string_to_sign, SECRET)))
		fuzz_fail("sigv4", "the secret key is in the canonical request or string to sign");
	/* (A token short enough to be a piece of the scope line proves nothing.) */
	if (token && strlen(token) >= 20 && strspn(token, "0123456789abcdef") != strlen(token) &&
	    !strstr("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n", token) &&
	    strstr(r->string_to_sign, token))
		fuzz_fail("sigv4", "the session token is in the string to sign");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return -1;
	char *text = fuzz_strndup(data, size);
	char *body = strstr(text, "\n\n");
	size_t body_len = 0;
	if (body) {
		*body = '\0';
		body += 2;
		body_len = size - (size_t)(body - text);
	}
	/* Request line. */
	char *line_end = strchr(text, '\n');
	if (line_end)
		*line_end = '\0';
	char *method = text, *uri = strchr(text, ' ');
	if (uri) {
		*uri++ = '\0';
		char *proto = strstr(uri, " HTTP/");
		if (proto)
			*proto = '\0';
	} else {
		uri = (char *)"/";
	}
	char *query = strchr(uri, '?');
	if (query)
		*query++ = '\0';

	/* Headers, folding continuation lines in place (joined with a
	 * space, as the suite's multi-line values are). */
	hl_header *headers = calloc(MAX_HEADERS, sizeof(*headers));
	size_t nh = 0;
	const char *token = NULL;
	char *p = line_end ? line_end + 1 : NULL;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if ((*p == ' ' || *p == '\t') && nh > 0) {
			/* continuation: rejoin with the previous value */
			p[-1] = ' ';
		} else if (strncmp(p, "@token:", 7) == 0) {
			token = p + 7;
		} else if (nh < MAX_HEADERS) {
			char *colon = strchr(p, ':');
			if (colon) {
				*colon = '\0';
				headers[nh].name = p;
				headers[nh].value = colon + 1;
			} else {
				headers[nh].name = p;
				headers[nh].value = "";
			}
			nh++;
		}
		p = nl ? nl + 1 : NULL;
	}

	for (int norm = 0; norm < 2; norm++) {
		hl_sigv4_request req = { .method = method, .path = uri, .query = query,
					 .headers = headers, .n_headers = nh,
					 .payload = body, .payload_len = body_len };
		hl_sigv4_params prm = { .access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET,
					.session_token = token, .region = "us-east-1",
					.service = "service", .time_s = 1440938160,
					.normalize_path = norm != 0, .add_content_sha256 = norm == 0 };
		hl_sigv4_result r, r2;
		hl_err err;
		int rc = hl_sigv4_sign(signer, &req, &prm, &r, &err);
		if (rc < 0) {
			if (rc != HL_ERR_INVALID && rc != HL_ERR_TOO_LARGE)
				fuzz_fail("sigv4 refusal", err.message);
			if (r.authorization || r.signature)
				fuzz_fail("sigv4", "refusal left a result behind");
			fuzz_check_terminated(err.message, sizeof(err.message), "sigv4 message");
			continue;
		}
		check_result(&r, token, memmem(data, size, SECRET, sizeof(SECRET) - 1) != NULL);
		char sig[65];
		memcpy(sig, r.signature, sizeof(sig));
		/* The cached signing key must not leak into another secret's
		 * signature, nor the other way round. */
		hl_sigv4_params other = prm;
		other.secret_access_key = OTHER_SECRET;
		if (hl_sigv4_sign(signer, &req, &other, &r2, &err) < 0)
			fuzz_fail("sigv4", "signing failed with another secret only");
		if (strcmp(r2.signature, sig) == 0)
			fuzz_fail("sigv4", "two secrets gave the same signature");
		if (hl_sigv4_sign(signer, &req, &prm, &r2, &err) < 0 || strcmp(r2.signature, sig) != 0)
			fuzz_fail("sigv4", "signing again gave another signature");
	}
	free(headers);
	free(text);
	return 0;
}
