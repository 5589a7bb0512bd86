/* fuzz_creds_doc.c - libFuzzer target: the JSON credential documents
 * (worker/creds_internal.h): the ECS container credentials document, the
 * IMDS security-credentials document and credential_process output.
 *
 * Input layout: the first byte picks the parser (byte % 3: ECS, IMDS,
 * credential_process), the rest is the document.
 *
 * Invariants: success gives credentials with a non-empty access key id and
 * secret, the source the parser names, a non-negative expiration; those
 * credentials either sign a request with no control byte in any header
 * value (no header injection through a credentials document) or are
 * refused by the signer with HL_ERR_INVALID; a failure never repeats the
 * document's SecretAccessKey or session token in its message.
 * Corpus: tests/fuzz/corpus/creds_doc/.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "fuzz_common.h"
#include "healer/sigv4.h"

static hl_sigv4_signer *signer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signer = hl_sigv4_signer_new();
	return signer ? 0 : 1;
}

/* A string member of the document, or NULL. */
static char *member_copy(const char *doc, size_t len, const char *name)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, doc, (int)len), *v = NULL;
	char *out = NULL;
	json_tokener_free(tok);
	if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, &v) &&
	    json_object_is_type(v, json_type_string))
		out = strdup(json_object_get_string(v));
	json_object_put(o);
	return out;
}

/* A secret worth looking for in a message: 20+ bytes without spaces (no
 * run of the messages' fixed text is that long). */
static bool secret_like(const char *s)
{
	return s && strlen(s) >= 20 && !strchr(s, ' ');
}

static void check_signing(const hl_creds *c)
{
	hl_header headers[] = { { "host", "states.us-east-1.amazonaws.com" },
				{ "content-type", "application/x-amz-json-1.0" } };
	hl_sigv4_request req = { .method = "POST", .path = "/", .headers = headers,
				 .n_headers = 2, .payload = "{}", .payload_len = 2 };
	hl_sigv4_params p = { .access_key_id = c->access_key_id,
			      .secret_access_key = c->secret_access_key,
			      .session_token = c->session_token, .region = "us-east-1",
			      .service = "states", .time_s = 1700000000, .normalize_path = true };
	hl_sigv4_result res;
	hl_err err;
	int rc = hl_sigv4_sign(signer, &req, &p, &res, &err);
	if (rc < 0) {
		if (rc != HL_ERR_INVALID && rc != HL_ERR_TOO_LARGE)
			fuzz_fail("signing with parsed credentials", err.message);
		return;
	}
	fuzz_check_no_controls(res.authorization, (size_t)-1, "Authorization header");
	if (res.security_token)
		fuzz_check_no_controls(res.security_token, (size_t)-1, "X-Amz-Security-Token header");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int kind = data[0] % 3;
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	hl_creds *c = NULL;
	hl_err err;
	int rc;

	hl_err_clear(&err);
	if (kind == 0)
		rc = hl_creds_parse_ecs_document(doc, len, &c, &err);
	else if (kind == 1)
		rc = hl_creds_parse_imds_document(doc, len, &c, &err);
	else
		rc = hl_creds_parse_process_output(doc, len, &c, &err);

	if (rc == HL_OK) {
		static const char *const sources[] = { "ecs", "imds", "process" };
		if (!c || !c->access_key_id || !*c->access_key_id || !c->secret_access_key ||
		    !*c->secret_access_key || c->expiration_ms < 0)
			fuzz_fail("credentials document", "success with unusable credentials");
		if (c->session_token && !*c->session_token)
			fuzz_fail("credentials document", "empty session token kept");
		if (!c->source || strcmp(c->source, sources[kind]) != 0)
			fuzz_fail("credentials document", "wrong source name");
		check_signing(c);
		hl_creds_unref(c);
	} else {
		if (c)
			fuzz_fail("credentials document", "failure with credentials set");
		fuzz_check_terminated(err.message, sizeof(err.message), "message");
		/* The IMDS Code is echoed on purpose (not a secret): a secret
		 * equal to it proves nothing. */
		static const char *const secret_fields[] = { "SecretAccessKey", "Token", "SessionToken" };
		char *code = member_copy(doc, len, "Code");
		for (size_t i = 0; i < 3; i++) {
			char *secret = member_copy(doc, len, secret_fields[i]);
			if (secret_like(secret) && strstr(err.message, secret) &&
			    !(code && strstr(code, secret)))
				fuzz_fail("credentials document", "a secret is repeated in the error message");
			free(secret);
		}
		free(code);
	}
	return 0;
}
