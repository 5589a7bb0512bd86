/* slack.c - Slack Web API client: chat.postMessage, users.lookupByEmail.
 *
 * Requests carry the bot token in the Authorization header only (never in
 * a URL or body, so it cannot end up in a proxy log or an error message).
 * Message text is built by the caller from fixed words and values passed
 * through hl_slack_escape, which neutralises Slack's control characters:
 * an event field holding "<!channel>" arrives as "&lt;!channel&gt;" and is
 * shown, not executed. The JSON body itself is written by json-c. See
 * slack.h for the error contract.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/record.h"
#include "healer/slack.h"

#define SLACK_MAX_RESPONSE (512 * 1024)

struct hl_slack {
	hl_webapi w;
	char *base;          /* without a trailing '/' */
	char *auth;          /* "Bearer <token>": secret */
};

hl_slack *hl_slack_new(const hl_slack_config *cfg, hl_err *err)
{
	if (!cfg->base_url || !hl_valid_api_base_url(cfg->base_url)) {
		hl_err_set(err, HL_ERR_CONFIG, "the Slack API URL must be https (http only to a loopback address)");
		return NULL;
	}
	if (!cfg->token || !*cfg->token || strlen(cfg->token) > 512 || strpbrk(cfg->token, "\r\n")) {
		hl_err_set(err, HL_ERR_CONFIG, "the Slack token is required (at most 512 bytes, one line)");
		return NULL;
	}
	hl_slack *s = hl_xcalloc(1, sizeof(*s));
	if (hl_webapi_init_opts(&s->w, &HL_WEBAPI_OPTS_OF(cfg), err) < 0) {
		free(s);
		return NULL;
	}
	s->base = hl_webapi_base_url(cfg->base_url);
	s->auth = hl_xasprintf("Bearer %s", cfg->token);
	return s;
}

void hl_slack_free(hl_slack *s)
{
	if (!s)
		return;
	hl_free_secret(s->auth);
	free(s->base);
	hl_webapi_free(&s->w);
	free(s);
}

/* ---- validation and escaping ---------------------------------------------- */

static bool id_tail(const char *s, size_t min, size_t max)
{
	size_t n = 0;
	for (; *s; s++, n++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')) || n >= max)
			return false;
	return n >= min;
}

bool hl_slack_valid_user_id(const char *s)
{
	return s && (*s == 'U' || *s == 'W') && id_tail(s + 1, 2, 20);
}

bool hl_slack_valid_channel(const char *s)
{
	if (!s || !*s)
		return false;
	if ((*s == 'C' || *s == 'G' || *s == 'D') && id_tail(s + 1, 2, 20))
		return true;
	const char *name = *s == '#' ? s + 1 : s;
	size_t n = 0;
	for (const char *q = name; *q; q++, n++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-') ||
		    n >= 80)
			return false;
	return n >= 1;
}

bool hl_valid_email(const char *s)
{
	if (!s)
		return false;
	size_t n = strnlen(s, 255);
	if (n < 3 || n > 254)
		return false;
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !at[1] || !strchr(at + 1, '.'))
		return false;
	const char *last_dot = strrchr(at + 1, '.');
	if (last_dot == at + 1 || last_dot[1] == '\0')
		return false;
	for (const char *q = s; *q; q++) {
		unsigned char c = (unsigned char)*q;
		if (c <= 0x20 || c >= 0x7f || strchr("\"'<>,;\\()[]:", c))
			return false;
	}
	return true;
}

int hl_slack_escape(hl_buf *b, const char *s, size_t max)
{
	char *clean = hl_clean_text(s ? s : "", max, true);
	int rc = HL_OK;
	for (const char *p = clean; *p && rc == HL_OK; p++) {
		switch (*p) {
		case '&': rc = hl_buf_append(b, "&amp;", 5); break;
		case '<': rc = hl_buf_append(b, "&lt;", 4); break;
		case '>': rc = hl_buf_append(b, "&gt;", 4); break;
		default: rc = hl_buf_append(b, p, 1); break;
		}
	}
	free(clean);
	return rc;
}

/* ---- answers --------------------------------------------------------------- */

static void copy_code(char *dst, size_t dstsz, const char *src)
{
	/* Slack's codes are [a-z0-9_]; anything else is replaced, so a
	 * hostile answer cannot put arbitrary text in our error names. */
	size_t i = 0;
	for (; src && src[i] && i + 1 < dstsz; i++) {
		char c = src[i];
		dst[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ? c : '_';
	}
	dst[i] = '\0';
}

static void copy_id(char *dst, size_t dstsz, json_object *o, const char *key)
{
	json_object *v = NULL;
	dst[0] = '\0';
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return;
	const char *s = json_object_get_string(v);
	if (strlen(s) >= dstsz)
		return;
	for (const char *q = s; *q; q++)
		if (!(isalnum((unsigned char)*q) || *q == '.'))
			return;
	hl_strlcpy(dst, s, dstsz);
}

int hl_slack_parse_response(long status, const char *body, size_t len, hl_slack_result *res,
			    hl_err *err)
{
	memset(res, 0, sizeof(*res));
	if (status == 429) {
		hl_strlcpy(res->error, "ratelimited", sizeof(res->error));
		hl_err_set(err, HL_ERR_AWS, "Slack rate limit: still limited after waiting");
		if (err) {
			err->http_status = 429;
			hl_strlcpy(err->aws_code, "ratelimited", sizeof(err->aws_code));
		}
		return HL_ERR_AWS;
	}
	if (status < 200 || status > 299) {
		hl_strlcpy(res->error, "http_error", sizeof(res->error));
		hl_err_set(err, HL_ERR_AWS, "Slack answered HTTP %ld", status);
		if (err) {
			err->http_status = (int)status;
			hl_strlcpy(err->aws_code, "http_error", sizeof(err->aws_code));
		}
		return HL_ERR_AWS;
	}
	json_object *o = NULL, *ok = NULL, *v = NULL;
	int rc = HL_OK;
	if (body && len > 0 && len <= SLACK_MAX_RESPONSE) {
		json_tokener *tok = json_tokener_new();
		o = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "Slack answer has no boolean \"ok\"");
		goto out;
	}
	if (!json_object_get_boolean(ok)) {
		const char *code = "unknown_error";
		if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
			code = json_object_get_string(v);
		copy_code(res->error, sizeof(res->error), code);
		rc = hl_err_set(err, HL_ERR_AWS, "Slack said %s", res->error);
		if (err) {
			err->http_status = (int)status;
			hl_strlcpy(err->aws_code, res->error, sizeof(err->aws_code));
		}
		goto out;
	}
	res->ok = true;
	copy_id(res->channel, sizeof(res->channel), o, "channel");
	copy_id(res->ts, sizeof(res->ts), o, "ts");
	if (json_object_object_get_ex(o, "user", &v) && json_object_is_type(v, json_type_object))
		copy_id(res->user_id, sizeof(res->user_id), v, "id");
out:
	json_object_put(o);
	return rc;
}

/* ---- requests -------------------------------------------------------------- */

static int slack_call(hl_slack *s, const char *method, const char *content_type, const char *body,
		      hl_slack_result *res, hl_err *err)
{
	char *url = hl_xasprintf("%s/%s", s->base, method);
	hl_header headers[3] = {
		{ "Authorization", s->auth },
		{ "Content-Type", content_type },
		{ "Accept", "application/json" },
	};
	hl_http_request req = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.n_headers = 3,
		.body = body,
		.body_len = strlen(body),
		.max_response_bytes = SLACK_MAX_RESPONSE,
	};
	hl_http_response resp = { 0 };
	memset(res, 0, sizeof(*res));
	int rc = hl_webapi_perform(&s->w, &req, true, &resp, err);
	if (rc == HL_OK)
		rc = hl_slack_parse_response(resp.status, resp.body.data, resp.body.len, res, err);
	hl_http_response_free(&resp);
	free(url);
	return rc;
}

int hl_slack_post_message(hl_slack *s, const char *channel, const char *text, hl_slack_result *res,
			  hl_err *err)
{
	memset(res, 0, sizeof(*res));
	if (!hl_slack_valid_channel(channel) && !hl_slack_valid_user_id(channel))
		return hl_err_set(err, HL_ERR_INVALID, "invalid Slack channel");
	json_object *body = json_object_new_object();
	json_object_object_add(body, "channel", json_object_new_string(channel));
	json_object_object_add(body, "text", json_object_new_string(text));
	json_object_object_add(body, "unfurl_links", json_object_new_boolean(0));
	json_object_object_add(body, "unfurl_media", json_object_new_boolean(0));
	int rc = slack_call(s, "chat.postMessage", "application/json; charset=utf-8",
			    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
			    res, err);
	json_object_put(body);
	return rc;
}

int hl_slack_lookup_by_email(hl_slack *s, const char *email, hl_slack_result *res, hl_err *err)
{
	memset(res, 0, sizeof(*res));
	if (!hl_valid_email(email))
		return hl_err_set(err, HL_ERR_INVALID, "invalid e-mail address");
	/* application/x-www-form-urlencoded: percent-encode all but unreserved. */
	hl_buf body;
	hl_buf_init(&body, 4096);
	static const char hex[] = "0123456789ABCDEF";
	int rc = hl_buf_append(&body, "email=", 6);
	for (const unsigned char *p = (const unsigned char *)email; *p && rc == HL_OK; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			rc = hl_buf_append(&body, p, 1);
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 0xf] };
			rc = hl_buf_append(&body, enc, 3);
		}
	}
	if (rc == HL_OK)
		rc = slack_call(s, "users.lookupByEmail", "application/x-www-form-urlencoded", body.data,
				res, err);
	if (rc == HL_OK && !hl_slack_valid_user_id(res->user_id))
		rc = hl_err_set(err, HL_ERR_PARSE, "Slack users.lookupByEmail answer has no valid user id");
	hl_buf_free(&body);
	return rc;
}
