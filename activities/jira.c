/* jira.c - Jira Cloud REST v3 client: search, create, comment, transition.
 *
 * Every request is built from validated pieces only: issue keys and
 * project keys are checked against their documented shapes before they
 * reach a URL path or a JQL string, and labels may not hold quotes or
 * backslashes, so no value can change a query or a path. Free text travels
 * in JSON built with json-c (escaped) inside ADF text nodes, never as
 * markup. The Authorization header is the only place the API token lives
 * (base64 of "email:token"); it is wiped when the client is freed and
 * never logged. See jira.h for the error contract.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/jira.h"
#include "healer/record.h"

#define JIRA_MAX_RESPONSE (2 * 1024 * 1024)
#define ADF_TEXT_MAX 16000

struct hl_jira {
	hl_webapi w;
	char *base;          /* without a trailing '/' */
	char *auth;          /* "Basic <base64(email:token)>": secret */
};

hl_jira *hl_jira_new(const hl_jira_config *cfg, hl_err *err)
{
	if (!cfg->base_url || !hl_valid_api_base_url(cfg->base_url)) {
		hl_err_set(err, HL_ERR_CONFIG, "the Jira URL must be https (http only to a loopback address)");
		return NULL;
	}
	if (!cfg->email || !*cfg->email || !cfg->api_token || !*cfg->api_token ||
	    strchr(cfg->email, ':') || strlen(cfg->email) > 254 || strlen(cfg->api_token) > 1024) {
		hl_err_set(err, HL_ERR_CONFIG, "the Jira email and API token are required (email without ':')");
		return NULL;
	}
	hl_jira *j = hl_xcalloc(1, sizeof(*j));
	if (hl_webapi_init_opts(&j->w, &HL_WEBAPI_OPTS_OF(cfg), err) < 0) {
		free(j);
		return NULL;
	}
	j->base = hl_webapi_base_url(cfg->base_url);

	/* "email:token" -> base64; both plain forms are wiped at once. */
	size_t elen = strlen(cfg->email), tlen = strlen(cfg->api_token);
	size_t plain_len = elen + 1 + tlen;
	unsigned char *plain = hl_xmalloc(plain_len);
	memcpy(plain, cfg->email, elen);
	plain[elen] = ':';
	memcpy(plain + elen + 1, cfg->api_token, tlen);
	size_t b64_cap = 4 * ((plain_len + 2) / 3) + 1;
	j->auth = hl_xmalloc(6 + b64_cap);
	memcpy(j->auth, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)j->auth + 6, plain, (int)plain_len);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return j;
}

void hl_jira_free(hl_jira *j)
{
	if (!j)
		return;
	hl_free_secret(j->auth);
	free(j->base);
	hl_webapi_free(&j->w);
	free(j);
}

/* ---- validation ------------------------------------------------------------ */

static bool upper_or_digit(char c, bool underscore)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (underscore && c == '_');
}

bool hl_jira_valid_project_key(const char *s)
{
	if (!s || !(*s >= 'A' && *s <= 'Z'))
		return false;
	size_t n = 1;
	for (const char *q = s + 1; *q; q++, n++)
		if (!upper_or_digit(*q, true) || n >= 10)
			return false;
	return n >= 2;
}

bool hl_jira_valid_issue_key(const char *s)
{
	if (!s)
		return false;
	const char *dash = strrchr(s, '-');
	if (!dash || (size_t)(dash - s) > 10)
		return false;
	char project[11];
	memcpy(project, s, (size_t)(dash - s));
	project[dash - s] = '\0';
	if (!hl_jira_valid_project_key(project))
		return false;
	size_t digits = 0;
	for (const char *q = dash + 1; *q; q++, digits++)
		if (*q < '0' || *q > '9' || digits >= 18)
			return false;
	return digits >= 1;
}

bool hl_jira_valid_label(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = 0;
	for (const char *q = s; *q; q++, n++) {
		unsigned char c = (unsigned char)*q;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\' || n >= 255)
			return false;
	}
	return true;
}

bool hl_jira_valid_issue_type(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = 0;
	for (const char *q = s; *q; q++, n++)
		if (!(upper_or_digit(*q, true) || (*q >= 'a' && *q <= 'z') || *q == ' ' || *q == '-') ||
		    n >= 60)
			return false;
	return true;
}

/* ---- errors ---------------------------------------------------------------- */

const char *hl_jira_reason(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "TooLarge";
	case 429: return "Throttled";
	default: return status >= 500 && status <= 599 ? "Unavailable" : "HttpError";
	}
}

static json_object *parse_json(const char *body, size_t len)
{
	if (!body || len == 0 || len > JIRA_MAX_RESPONSE)
		return NULL;
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, body, (int)len);
	bool ok = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	if (!ok || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void append_msg(hl_buf *b, const char *field, const char *msg)
{
	char *clean = hl_clean_text(msg, 300, false);
	int rc = hl_buf_appendf(b, "%s%s%s%s", b->len ? "; " : "", field ? field : "",
				field ? ": " : "", clean ? clean : "");
	(void)rc;   /* a full buffer just drops the rest */
	free(clean);
}

int hl_jira_error(long status, const char *body, size_t len, hl_err *err)
{
	hl_buf msg;
	hl_buf_init(&msg, 600);
	json_object *o = parse_json(body, len);
	json_object *v = NULL;
	if (o && json_object_object_get_ex(o, "errorMessages", &v) && json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n && i < 10; i++) {
			json_object *m = json_object_array_get_idx(v, i);
			if (json_object_is_type(m, json_type_string))
				append_msg(&msg, NULL, json_object_get_string(m));
		}
	}
	if (o && json_object_object_get_ex(o, "errors", &v) && json_object_is_type(v, json_type_object)) {
		int count = 0;
		json_object_object_foreach(v, field, m) {
			if (count++ >= 10)
				break;
			if (json_object_is_type(m, json_type_string)) {
				char *f = hl_clean_text(field, 64, false);
				append_msg(&msg, f, json_object_get_string(m));
				free(f);
			}
		}
	}
	json_object_put(o);
	int code = HL_ERR_AWS;
	hl_err_set(err, code, "Jira answered HTTP %ld%s%s", status, msg.len ? ": " : "",
		   msg.len ? msg.data : "");
	if (err) {
		err->http_status = (int)status;
		hl_strlcpy(err->aws_code, hl_jira_reason(status), sizeof(err->aws_code));
	}
	hl_buf_free(&msg);
	return code;
}

/* ---- parsing --------------------------------------------------------------- */

static const char *str_at(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *obj_at(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

int hl_jira_parse_issue(json_object *issue, hl_jira_issue *out, hl_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!issue || !json_object_is_type(issue, json_type_object))
		return hl_err_set(err, HL_ERR_PARSE, "Jira issue is not an object");
	const char *key = str_at(issue, "key");
	if (!key || strlen(key) >= sizeof(out->key) || !hl_jira_valid_issue_key(key))
		return hl_err_set(err, HL_ERR_PARSE, "Jira issue has no valid key");
	hl_strlcpy(out->key, key, sizeof(out->key));
	json_object *id = NULL;
	if (json_object_object_get_ex(issue, "id", &id)) {
		if (json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int)) {
			const char *s = json_object_get_string(id);
			bool digits = *s != '\0' && strlen(s) < sizeof(out->id);
			for (const char *q = s; digits && *q; q++)
				digits = *q >= '0' && *q <= '9';
			if (digits)
				hl_strlcpy(out->id, s, sizeof(out->id));
		}
	}
	json_object *status = obj_at(obj_at(issue, "fields"), "status");
	const char *name = str_at(status, "name");
	if (name) {
		char *clean = hl_clean_text(name, sizeof(out->status) - 1, false);
		hl_strlcpy(out->status, clean, sizeof(out->status));
		free(clean);
	}
	const char *cat = str_at(obj_at(status, "statusCategory"), "key");
	if (cat && (strcmp(cat, "new") == 0 || strcmp(cat, "indeterminate") == 0 || strcmp(cat, "done") == 0))
		hl_strlcpy(out->status_category, cat, sizeof(out->status_category));
	return HL_OK;
}

int hl_jira_parse_search(const char *body, size_t len, hl_jira_issue *out, bool *found, hl_err *err)
{
	*found = false;
	memset(out, 0, sizeof(*out));
	json_object *o = parse_json(body, len);
	json_object *issues = NULL;
	int rc = HL_OK;
	if (!o || !json_object_object_get_ex(o, "issues", &issues) ||
	    !json_object_is_type(issues, json_type_array)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "Jira search answer has no \"issues\" array");
		goto out;
	}
	if (json_object_array_length(issues) > 0) {
		HL_GUARD_GOTO(rc, hl_jira_parse_issue(json_object_array_get_idx(issues, 0), out, err), out);
		*found = true;
	}
out:
	json_object_put(o);
	return rc;
}

int hl_jira_pick_done_transition(const char *body, size_t len, char *id_out, size_t id_sz,
				 char *name_out, size_t name_sz, bool *found, hl_err *err)
{
	*found = false;
	json_object *o = parse_json(body, len);
	json_object *list = NULL;
	int rc = HL_OK;
	if (!o || !json_object_object_get_ex(o, "transitions", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "Jira transitions answer has no \"transitions\" array");
		goto out;
	}
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(list, i);
		const char *cat = str_at(obj_at(obj_at(t, "to"), "statusCategory"), "key");
		const char *id = str_at(t, "id");
		if (!cat || strcmp(cat, "done") != 0 || !id || !*id || strlen(id) >= id_sz ||
		    strlen(id) > 18 || strspn(id, "0123456789") != strlen(id))
			continue;
		hl_strlcpy(id_out, id, id_sz);
		if (name_out && name_sz) {
			char *clean = hl_clean_text(str_at(t, "name") ? str_at(t, "name") : "", name_sz - 1, false);
			hl_strlcpy(name_out, clean, name_sz);
			free(clean);
		}
		*found = true;
		break;
	}
out:
	json_object_put(o);
	return rc;
}

/* ---- requests -------------------------------------------------------------- */

/* One call: path is built by the caller from validated pieces. body may be
 * NULL. Returns 0 with *resp_out for a 2xx answer (and for a 404 when
 * allow_404); else the mapped error. */
static int jira_call(hl_jira *j, const char *method, const char *path, json_object *body,
		     bool idempotent, bool allow_404, hl_http_response *resp, hl_err *err)
{
	char *url = hl_xasprintf("%s%s", j->base, path);
	const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
								     JSON_C_TO_STRING_NOSLASHESCAPE)
				: NULL;
	hl_header headers[3] = {
		{ "Authorization", j->auth },
		{ "Accept", "application/json" },
		{ "Content-Type", "application/json" },
	};
	hl_http_request req = {
		.method = method,
		.url = url,
		.headers = headers,
		.n_headers = body ? 3 : 2,
		.body = text,
		.body_len = text ? strlen(text) : 0,
		.max_response_bytes = JIRA_MAX_RESPONSE,
	};
	int rc = hl_webapi_perform(&j->w, &req, idempotent, resp, err);
	if (rc < 0)
		goto out;
	if (resp->status >= 200 && resp->status <= 299)
		goto out;
	if (allow_404 && resp->status == 404)
		goto out;
	rc = hl_jira_error(resp->status, resp->body.data, resp->body.len, err);
out:
	free(url);
	return rc;
}

int hl_jira_find_by_label(hl_jira *j, const char *project, const char *label, hl_jira_issue *out,
			  bool *found, hl_err *err)
{
	*found = false;
	if (!hl_jira_valid_project_key(project) || !hl_jira_valid_label(label))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Jira project key or label");
	hl_http_response resp = { 0 };
	json_object *body = json_object_new_object();
	char *jql = hl_xasprintf("project = \"%s\" AND labels = \"%s\" ORDER BY created ASC", project, label);
	json_object_object_add(body, "jql", json_object_new_string(jql));
	json_object *fields = json_object_new_array();
	json_object_array_add(fields, json_object_new_string("status"));
	json_object_array_add(fields, json_object_new_string("summary"));
	json_object_object_add(body, "fields", fields);
	json_object_object_add(body, "maxResults", json_object_new_int(10));
	/* A search changes nothing: safe to retry. */
	int rc = jira_call(j, "POST", "/rest/api/3/search/jql", body, true, false, &resp, err);
	if (rc == HL_OK)
		rc = hl_jira_parse_search(resp.body.data, resp.body.len, out, found, err);
	free(jql);
	json_object_put(body);
	hl_http_response_free(&resp);
	return rc;
}

int hl_jira_get_issue(hl_jira *j, const char *key, hl_jira_issue *out, bool *found, hl_err *err)
{
	*found = false;
	if (!hl_jira_valid_issue_key(key))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Jira issue key");
	hl_http_response resp = { 0 };
	char *path = hl_xasprintf("/rest/api/3/issue/%s?fields=status,summary", key);
	int rc = jira_call(j, "GET", path, NULL, true, true, &resp, err);
	if (rc == HL_OK && resp.status != 404) {
		json_object *o = parse_json(resp.body.data, resp.body.len);
		rc = hl_jira_parse_issue(o, out, err);
		json_object_put(o);
		*found = rc == HL_OK;
	}
	free(path);
	hl_http_response_free(&resp);
	return rc;
}

int hl_jira_create_issue(hl_jira *j, json_object *fields, hl_jira_issue *out, hl_err *err)
{
	memset(out, 0, sizeof(*out));
	hl_http_response resp = { 0 };
	json_object *body = json_object_new_object();
	json_object_object_add(body, "fields", json_object_get(fields));
	int rc = jira_call(j, "POST", "/rest/api/3/issue", body, false, false, &resp, err);
	if (rc == HL_OK) {
		json_object *o = parse_json(resp.body.data, resp.body.len);
		rc = hl_jira_parse_issue(o, out, err);
		json_object_put(o);
	}
	json_object_put(body);
	hl_http_response_free(&resp);
	return rc;
}

int hl_jira_has_comment(hl_jira *j, const char *key, const char *marker, bool *found, hl_err *err)
{
	*found = false;
	if (!hl_jira_valid_issue_key(key))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Jira issue key");
	hl_http_response resp = { 0 };
	char *path = hl_xasprintf("/rest/api/3/issue/%s/comment?orderBy=-created&maxResults=100", key);
	int rc = jira_call(j, "GET", path, NULL, true, false, &resp, err);
	json_object *o = NULL, *list = NULL;
	if (rc < 0)
		goto out;
	o = parse_json(resp.body.data, resp.body.len);
	if (!o || !json_object_object_get_ex(o, "comments", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "Jira comments answer has no \"comments\" array");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(list) && !*found; i++) {
		json_object *body = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(list, i), "body", &body))
			*found = strstr(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
									    JSON_C_TO_STRING_NOSLASHESCAPE),
					marker) != NULL;
	}
out:
	json_object_put(o);
	free(path);
	hl_http_response_free(&resp);
	return rc;
}

int hl_jira_add_comment(hl_jira *j, const char *key, json_object *adf, hl_err *err)
{
	if (!hl_jira_valid_issue_key(key))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Jira issue key");
	hl_http_response resp = { 0 };
	json_object *body = json_object_new_object();
	json_object_object_add(body, "body", json_object_get(adf));
	char *path = hl_xasprintf("/rest/api/3/issue/%s/comment", key);
	int rc = jira_call(j, "POST", path, body, false, false, &resp, err);
	free(path);
	json_object_put(body);
	hl_http_response_free(&resp);
	return rc;
}

int hl_jira_transition_done(hl_jira *j, const char *key, bool *moved, char *name_out, size_t name_sz,
			    hl_err *err)
{
	*moved = false;
	if (name_out && name_sz)
		name_out[0] = '\0';
	if (!hl_jira_valid_issue_key(key))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Jira issue key");
	hl_http_response resp = { 0 };
	char *path = hl_xasprintf("/rest/api/3/issue/%s/transitions", key);
	char id[24];
	bool found = false;
	json_object *body = NULL;
	int rc;
	HL_GUARD_GOTO(rc, jira_call(j, "GET", path, NULL, true, false, &resp, err), out);
	HL_GUARD_GOTO(rc, hl_jira_pick_done_transition(resp.body.data, resp.body.len, id, sizeof(id),
						      name_out, name_sz, &found, err), out);
	if (!found)
		goto out;
	hl_http_response_free(&resp);
	body = json_object_new_object();
	json_object *t = json_object_new_object();
	json_object_object_add(t, "id", json_object_new_string(id));
	json_object_object_add(body, "transition", t);
	/* Applying the same transition twice fails harmlessly (the issue is no
	 * longer in a status that offers it), so a retry is safe. */
	HL_GUARD_GOTO(rc, jira_call(j, "POST", path, body, true, false, &resp, err), out);
	*moved = true;
out:
	json_object_put(body);
	free(path);
	hl_http_response_free(&resp);
	return rc;
}

/* ---- ADF ------------------------------------------------------------------- */

json_object *hl_adf_doc(void)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "type", json_object_new_string("doc"));
	json_object_object_add(doc, "version", json_object_new_int(1));
	json_object_object_add(doc, "content", json_object_new_array());
	return doc;
}

static json_object *adf_node(const char *type)
{
	json_object *n = json_object_new_object();
	json_object_object_add(n, "type", json_object_new_string(type));
	return n;
}

static json_object *adf_text(const char *text, size_t len, const char *mark, const char *href)
{
	json_object *n = adf_node("text");
	json_object_object_add(n, "text", json_object_new_string_len(text, (int)len));
	if (mark) {
		json_object *marks = json_object_new_array();
		json_object *m = adf_node(mark);
		if (href) {
			json_object *attrs = json_object_new_object();
			json_object_object_add(attrs, "href", json_object_new_string(href));
			json_object_object_add(m, "attrs", attrs);
		}
		json_object_array_add(marks, m);
		json_object_object_add(n, "marks", marks);
	}
	return n;
}

static void adf_append(json_object *doc, json_object *node)
{
	json_object *content = NULL;
	if (json_object_object_get_ex(doc, "content", &content))
		json_object_array_add(content, node);
	else
		json_object_put(node);
}

void hl_adf_paragraph(json_object *doc, const char *label, const char *text)
{
	char *clean = hl_clean_text(text, ADF_TEXT_MAX, true);
	if (!clean || !*clean) {
		free(clean);
		return;
	}
	json_object *p = adf_node("paragraph");
	json_object *content = json_object_new_array();
	if (label && *label)
		json_object_array_add(content, adf_text(label, strlen(label), "strong", NULL));
	/* Lines become text nodes separated by hard breaks (ADF text nodes
	 * must not be empty). */
	const char *line = clean;
	for (;;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len)
			json_object_array_add(content, adf_text(line, len, NULL, NULL));
		if (!nl)
			break;
		json_object_array_add(content, adf_node("hardBreak"));
		line = nl + 1;
	}
	json_object_object_add(p, "content", content);
	adf_append(doc, p);
	free(clean);
}

void hl_adf_link(json_object *doc, const char *label, const char *text, const char *href)
{
	if (!hl_valid_link_url(href)) {
		hl_adf_paragraph(doc, label, text);
		return;
	}
	char *clean = hl_clean_text(text && *text ? text : href, ADF_TEXT_MAX, false);
	json_object *p = adf_node("paragraph");
	json_object *content = json_object_new_array();
	if (label && *label)
		json_object_array_add(content, adf_text(label, strlen(label), "strong", NULL));
	json_object_array_add(content, adf_text(clean, strlen(clean), "link", href));
	json_object_object_add(p, "content", content);
	adf_append(doc, p);
	free(clean);
}

void hl_adf_code_block(json_object *doc, const char *text, const char *language)
{
	char *clean = hl_clean_text(text, ADF_TEXT_MAX, true);
	if (!clean || !*clean) {
		free(clean);
		return;
	}
	json_object *cb = adf_node("codeBlock");
	if (language) {
		json_object *attrs = json_object_new_object();
		json_object_object_add(attrs, "language", json_object_new_string(language));
		json_object_object_add(cb, "attrs", attrs);
	}
	json_object *content = json_object_new_array();
	json_object_array_add(content, adf_text(clean, strlen(clean), NULL, NULL));
	json_object_object_add(cb, "content", content);
	adf_append(doc, cb);
	free(clean);
}
