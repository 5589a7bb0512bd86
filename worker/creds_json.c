/* creds_json.c - the JSON credential documents: ECS container credentials,
 * the IMDS security-credentials document and credential_process output.
 *
 * The three differ only in a few fields, so one table-driven parser reads
 * them all: a document is a JSON object (strict json-c, depth-limited, no
 * trailing bytes) whose string fields are checked one by one; the first bad
 * field is reported as HL_ERR_PARSE naming the field, never its value.
 * Secret fields are wiped inside the json-c tree before it is freed (best
 * effort: json-c's own scratch buffers are not reachable to wipe).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "healer/clock.h"
#include "creds_internal.h"

struct doc_spec {
	const char *what;         /* "ecs credentials document" */
	const char *source;       /* hl_creds.source */
	const char *token_field;  /* "Token" or "SessionToken" */
	bool token_required;
	bool expiration_required;
	bool check_code;          /* IMDS: Code must be "Success" */
	bool check_version;       /* credential_process: Version must be 1 */
};

static const struct doc_spec ecs_spec = {
	"ecs credentials document", "ecs", "Token", true, true, false, false,
};
static const struct doc_spec imds_spec = {
	"imds credentials document", "imds", "Token", true, true, true, false,
};
static const struct doc_spec process_spec = {
	"credential_process output", "process", "SessionToken", false, false,
	false, true,
};

/* Overwrites a json-c string value in place (json-c owns writable memory). */
static void wipe_json_string(json_object *root, const char *field)
{
	json_object *v = NULL;

	if (root == NULL || !json_object_object_get_ex(root, field, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	OPENSSL_cleanse((char *)json_object_get_string(v),
			(size_t)json_object_get_string_len(v));
}

/* *value = the field's string; missing is fine only when !required. */
static int get_string(json_object *root, const struct doc_spec *spec,
		      const char *field, bool required, const char **value,
		      hl_err *err)
{
	json_object *v = NULL;
	const char *s;
	int n;

	*value = NULL;
	if (!json_object_object_get_ex(root, field, &v) || v == NULL) {
		if (!required)
			return 0;
		return hl_err_set(err, HL_ERR_PARSE, "%s: missing field %s",
				  spec->what, field);
	}
	if (!json_object_is_type(v, json_type_string))
		return hl_err_set(err, HL_ERR_PARSE,
				  "%s: field %s is not a string", spec->what,
				  field);
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n == 0)
		return hl_err_set(err, HL_ERR_PARSE, "%s: field %s is empty",
				  spec->what, field);
	if (memchr(s, '\0', (size_t)n) != NULL)
		return hl_err_set(err, HL_ERR_PARSE,
				  "%s: field %s contains a NUL byte",
				  spec->what, field);
	*value = s;
	return 0;
}

/* Copies at most 64 printable ASCII bytes of a non-secret value for a message. */
static void printable_copy(char *dst, size_t dstsz, const char *src)
{
	size_t i = 0;

	for (; src[i] != '\0' && i + 1 < dstsz && i < 64; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int check_code(json_object *root, const struct doc_spec *spec,
		      hl_err *err)
{
	const char *code = NULL;
	char shown[80];

	HL_GUARD(get_string(root, spec, "Code", true, &code, err));
	if (strcmp(code, "Success") == 0)
		return 0;
	printable_copy(shown, sizeof(shown), code);
	return hl_err_set(err, HL_ERR_CREDENTIALS, "%s: Code is \"%s\", not Success",
			  spec->what, shown);
}

static int check_version(json_object *root, const struct doc_spec *spec,
			 hl_err *err)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(root, "Version", &v) || v == NULL)
		return hl_err_set(err, HL_ERR_PARSE, "%s: missing field Version",
				  spec->what);
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		return hl_err_set(err, HL_ERR_PARSE,
				  "%s: field Version must be 1", spec->what);
	return 0;
}

static int parse_fields(json_object *root, const struct doc_spec *spec,
			hl_creds **out, hl_err *err)
{
	const char *akid = NULL, *secret = NULL, *token = NULL, *exp = NULL;
	int64_t exp_s = 0;

	if (spec->check_version)
		HL_GUARD(check_version(root, spec, err));
	if (spec->check_code)
		HL_GUARD(check_code(root, spec, err));
	HL_GUARD(get_string(root, spec, "AccessKeyId", true, &akid, err));
	HL_GUARD(get_string(root, spec, "SecretAccessKey", true, &secret, err));
	HL_GUARD(get_string(root, spec, spec->token_field, spec->token_required,
			    &token, err));
	HL_GUARD(get_string(root, spec, "Expiration", spec->expiration_required,
			    &exp, err));
	if (exp != NULL && (hl_parse_iso8601(exp, &exp_s) != 0 || exp_s <= 0 ||
			    exp_s > INT64_MAX / 1000))
		return hl_err_set(err, HL_ERR_PARSE,
				  "%s: field Expiration is not an ISO 8601 date",
				  spec->what);
	*out = hl_creds_new(akid, secret, token, exp_s * 1000, spec->source);
	return 0;
}

static int parse_document(const char *json, size_t len,
			  const struct doc_spec *spec, hl_creds **out,
			  hl_err *err)
{
	json_tokener *tok = NULL;
	json_object *root = NULL;
	size_t end;
	int rc;

	*out = NULL;
	if (json == NULL)
		return hl_err_set(err, HL_ERR_PARSE, "%s: empty", spec->what);
	if (len > HL_CREDS_MAX_DOCUMENT_BYTES)
		return hl_err_set(err, HL_ERR_TOO_LARGE,
				  "%s: larger than %d bytes", spec->what,
				  HL_CREDS_MAX_DOCUMENT_BYTES);
	tok = json_tokener_new_ex(16);
	if (tok == NULL)
		abort();   /* the OOM policy: json-c only fails to allocate */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, json, (int)len);
	end = json_tokener_get_parse_end(tok);
	while (root != NULL && end < len &&
	       (json[end] == ' ' || json[end] == '\t' || json[end] == '\r' ||
		json[end] == '\n'))
		end++;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    end != len) {
		rc = hl_err_set(err, HL_ERR_PARSE, "%s: not valid JSON",
				spec->what);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "%s: not a JSON object",
				spec->what);
		goto out;
	}
	rc = parse_fields(root, spec, out, err);
out:
	wipe_json_string(root, "SecretAccessKey");
	wipe_json_string(root, spec->token_field);
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

int hl_creds_parse_ecs_document(const char *json, size_t len, hl_creds **out,
				hl_err *err)
{
	return parse_document(json, len, &ecs_spec, out, err);
}

int hl_creds_parse_imds_document(const char *json, size_t len, hl_creds **out,
				 hl_err *err)
{
	return parse_document(json, len, &imds_spec, out, err);
}

int hl_creds_parse_process_output(const char *json, size_t len, hl_creds **out,
				  hl_err *err)
{
	return parse_document(json, len, &process_spec, out, err);
}
