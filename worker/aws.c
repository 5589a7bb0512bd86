/* aws.c - AWS JSON 1.0 / 1.1 protocol client.
 *
 * A call is: resolve the service endpoint (once, at hl_aws_new), take a
 * reference to the current credentials, sign a POST with SigV4, send it on
 * the thread's keep-alive connection, then parse either the JSON result or
 * the error envelope into a typed hl_err. Failed attempts are retried per
 * the standard retry mode (retry.h) with the client-wide retry quota.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "healer/aws.h"
#include "healer/sigv4.h"

#define HL_AWS_DEFAULT_TIMEOUT_MS 10000L
#define HL_AWS_MAX_SERVICES 16

const hl_aws_service hl_svc_sfn = { "SFN", "states", "states", "AWSStepFunctions", "1.0" };
const hl_aws_service hl_svc_ssm = { "SSM", "ssm", "ssm", "AmazonSSM", "1.1" };
const hl_aws_service hl_svc_acm = { "ACM", "acm", "acm", "CertificateManager", "1.1" };
const hl_aws_service hl_svc_dynamodb = { "DYNAMODB", "dynamodb", "dynamodb", "DynamoDB_20120810", "1.0" };
const hl_aws_service hl_svc_config = { "CONFIG_SERVICE", "config", "config", "StarlingDoveService", "1.1" };
const hl_aws_service hl_svc_tagging = { "RESOURCE_GROUPS_TAGGING_API", "tagging", "tagging",
					"ResourceGroupsTaggingAPI_20170126", "1.1" };
const hl_aws_service hl_svc_secrets = { "SECRETS_MANAGER", "secretsmanager", "secretsmanager",
					"secretsmanager", "1.1" };

typedef struct endpoint {
	const hl_aws_service *svc;
	char url[256];        /* scheme://host[:port] with no trailing path */
	char host[200];       /* Host header value */
	char path[128];       /* request path, "/" unless the URL had one */
} endpoint;

struct hl_aws {
	char *region;
	int max_attempts;
	char *ca_file;
	const hl_clock *clock;
	hl_creds_provider *creds;
	hl_retry_quota quota;
	pthread_mutex_t lock;           /* guards endpoints[] growth */
	endpoint endpoints[HL_AWS_MAX_SERVICES];
	size_t n_endpoints;
	char *endpoint_url_global;      /* AWS_ENDPOINT_URL, may be NULL */
	bool ignore_configured;
};

struct hl_aws_conn {
	hl_aws *aws;
	hl_http *http;
	hl_sigv4_signer *signer;
	hl_buf body;                    /* serialised request body */
};

/* ---- configuration ------------------------------------------------------ */

static int parse_url(const char *url, endpoint *ep, bool explicit_url, hl_err *err)
{
	const char *rest;
	if (strncmp(url, "https://", 8) == 0) {
		rest = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		if (!explicit_url)
			return hl_err_set(err, HL_ERR_CONFIG, "refusing plain http for %s", url);
		rest = url + 7;
	} else {
		return hl_err_set(err, HL_ERR_CONFIG,
				  "endpoint URL must start with https:// or http://: %s", url);
	}
	for (const char *p = url; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL contains whitespace: %s", url);
	size_t host_len = strcspn(rest, "/?#");
	if (host_len == 0 || host_len >= sizeof(ep->host))
		return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL has no valid host: %s", url);
	if (memchr(rest, '@', host_len))
		return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL must not carry user info: %s", url);
	const char *path = rest + host_len;
	if (*path == '?' || *path == '#')
		return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL must not have a query: %s", url);
	size_t scheme_len = (size_t)(rest - url);
	if (scheme_len + host_len >= sizeof(ep->url))
		return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL too long: %s", url);
	memcpy(ep->url, url, scheme_len + host_len);
	ep->url[scheme_len + host_len] = '\0';
	/* The Host header omits the scheme's default port, as SDKs do. */
	size_t hlen = host_len;
	if (scheme_len == 8 && hlen > 4 && strncmp(rest + hlen - 4, ":443", 4) == 0)
		hlen -= 4;
	if (scheme_len == 7 && hlen > 3 && strncmp(rest + hlen - 3, ":80", 3) == 0)
		hlen -= 3;
	memcpy(ep->host, rest, hlen);
	ep->host[hlen] = '\0';
	if (*path == '\0')
		path = "/";
	if (hl_strlcpy(ep->path, path, sizeof(ep->path)) >= sizeof(ep->path))
		return hl_err_set(err, HL_ERR_CONFIG, "endpoint URL path too long: %s", url);
	return HL_OK;
}

static bool valid_region(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
			return false;
	return true;
}

static int resolve_endpoint(hl_aws *aws, const hl_aws_service *svc, endpoint *ep, hl_err *err)
{
	char name[96];
	memset(ep, 0, sizeof(*ep));
	ep->svc = svc;
	if (!aws->ignore_configured) {
		snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", svc->service_id);
		const char *url = getenv(name);
		if (url && *url)
			return parse_url(url, ep, true, err);
		if (aws->endpoint_url_global)
			return parse_url(aws->endpoint_url_global, ep, true, err);
	}
	const char *suffix = strncmp(aws->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
	char url[256];
	snprintf(url, sizeof(url), "https://%s.%s.%s", svc->endpoint_prefix, aws->region, suffix);
	return parse_url(url, ep, false, err);
}

static const hl_aws_service *const known_services[] = {
	&hl_svc_sfn, &hl_svc_ssm, &hl_svc_acm, &hl_svc_dynamodb,
	&hl_svc_config, &hl_svc_tagging, &hl_svc_secrets,
};

hl_aws *hl_aws_new(const hl_aws_config *cfg, hl_err *err)
{
	if (!cfg->region || !*cfg->region) {
		hl_err_set(err, HL_ERR_CONFIG, "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)");
		return NULL;
	}
	if (!valid_region(cfg->region)) {
		hl_err_set(err, HL_ERR_CONFIG, "invalid AWS region \"%.40s\"", cfg->region);
		return NULL;
	}
	if (!cfg->creds) {
		hl_err_set(err, HL_ERR_CONFIG, "no credentials provider");
		return NULL;
	}
	hl_aws *aws = hl_xcalloc(1, sizeof(*aws));
	aws->region = hl_xstrdup(cfg->region);
	aws->clock = cfg->clock ? cfg->clock : hl_clock_system();
	aws->creds = cfg->creds;
	aws->max_attempts = cfg->max_attempts;
	if (aws->max_attempts <= 0) {
		const char *s = getenv("AWS_MAX_ATTEMPTS");
		aws->max_attempts = 3;
		if (s && *s) {
			char *end = NULL;
			long v = strtol(s, &end, 10);
			if (*end != '\0' || v < 1 || v > 20) {
				hl_err_set(err, HL_ERR_CONFIG, "AWS_MAX_ATTEMPTS must be 1..20, got \"%.20s\"", s);
				goto fail;
			}
			aws->max_attempts = (int)v;
		}
	}
	const char *ca = cfg->ca_file ? cfg->ca_file : getenv("AWS_CA_BUNDLE");
	if (ca && *ca)
		aws->ca_file = hl_xstrdup(ca);
	const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	aws->ignore_configured = ignore && strcasecmp(ignore, "true") == 0;
	const char *global = getenv("AWS_ENDPOINT_URL");
	if (global && *global)
		aws->endpoint_url_global = hl_xstrdup(global);
	hl_retry_quota_init(&aws->quota, HL_RETRY_QUOTA_INITIAL);
	pthread_mutex_init(&aws->lock, NULL);
	/* Resolve every known service now: a bad URL stops the worker at start. */
	for (size_t i = 0; i < sizeof(known_services) / sizeof(known_services[0]); i++) {
		if (resolve_endpoint(aws, known_services[i], &aws->endpoints[i], err) < 0) {
			hl_aws_free(aws);
			return NULL;
		}
		aws->n_endpoints++;
	}
	return aws;
fail:
	free(aws->region);
	free(aws);
	return NULL;
}

void hl_aws_free(hl_aws *aws)
{
	if (!aws)
		return;
	hl_retry_quota_destroy(&aws->quota);
	pthread_mutex_destroy(&aws->lock);
	free(aws->region);
	free(aws->ca_file);
	free(aws->endpoint_url_global);
	free(aws);
}

const char *hl_aws_region(const hl_aws *aws) { return aws->region; }
const hl_clock *hl_aws_clock(const hl_aws *aws) { return aws->clock; }
hl_retry_quota *hl_aws_retry_quota(hl_aws *aws) { return &aws->quota; }

static const endpoint *find_endpoint(hl_aws *aws, const hl_aws_service *svc, hl_err *err)
{
	for (size_t i = 0; i < aws->n_endpoints; i++)
		if (aws->endpoints[i].svc == svc)
			return &aws->endpoints[i];
	/* A service not in known_services: resolve once, under the lock. */
	pthread_mutex_lock(&aws->lock);
	const endpoint *found = NULL;
	for (size_t i = 0; i < aws->n_endpoints && !found; i++)
		if (aws->endpoints[i].svc == svc)
			found = &aws->endpoints[i];
	if (!found && aws->n_endpoints < HL_AWS_MAX_SERVICES &&
	    resolve_endpoint(aws, svc, &aws->endpoints[aws->n_endpoints], err) == HL_OK)
		found = &aws->endpoints[aws->n_endpoints++];
	pthread_mutex_unlock(&aws->lock);
	if (!found && err && err->code == 0)
		hl_err_set(err, HL_ERR_CONFIG, "no endpoint for service %s", svc->service_id);
	return found;
}

const char *hl_aws_endpoint(hl_aws *aws, const hl_aws_service *svc)
{
	const endpoint *ep = find_endpoint(aws, svc, NULL);
	return ep ? ep->url : NULL;
}

hl_aws_conn *hl_aws_conn_new(hl_aws *aws)
{
	hl_aws_conn *c = hl_xcalloc(1, sizeof(*c));
	c->aws = aws;
	c->http = hl_http_new(aws->ca_file);
	c->signer = hl_sigv4_signer_new();
	if (!c->http || !c->signer) {
		hl_aws_conn_free(c);
		return NULL;
	}
	hl_buf_init(&c->body, 1024 * 1024);
	return c;
}

void hl_aws_conn_free(hl_aws_conn *c)
{
	if (!c)
		return;
	hl_http_free(c->http);
	hl_sigv4_signer_free(c->signer);
	hl_buf_free(&c->body);
	free(c);
}

/* ---- signing -------------------------------------------------------------- */

static bool valid_operation(const char *op)
{
	size_t n = strlen(op);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)op[i]))
			return false;
	return true;
}

/* Signs one request; fills prep (url + header lines). */
static int sign_request(hl_aws_conn *c, const endpoint *ep, const char *op,
			const char *body, size_t body_len, hl_aws_prepared *prep, hl_err *err)
{
	const hl_aws_service *svc = ep->svc;
	hl_creds *creds = NULL;
	char content_type[40], target[160];
	int rc;

	if (!valid_operation(op))
		return hl_err_set(err, HL_ERR_INVALID, "invalid operation name \"%.64s\"", op);
	snprintf(content_type, sizeof(content_type), "application/x-amz-json-%s", svc->json_version);
	snprintf(target, sizeof(target), "%s.%s", svc->target_prefix, op);
	HL_GUARD(hl_creds_provider_get(c->aws->creds, &creds, err));

	hl_header headers[3] = {
		{ "host", ep->host },
		{ "content-type", content_type },
		{ "x-amz-target", target },
	};
	hl_sigv4_request req = {
		.method = "POST", .path = ep->path, .query = NULL,
		.headers = headers, .n_headers = 3,
		.payload = body, .payload_len = body_len,
	};
	hl_sigv4_params params = {
		.access_key_id = creds->access_key_id,
		.secret_access_key = creds->secret_access_key,
		.session_token = creds->session_token,
		.region = c->aws->region,
		.service = svc->signing_name,
		.time_s = hl_wall_ms(c->aws->clock) / 1000,
		.normalize_path = true,
	};
	hl_sigv4_result res;
	HL_GUARD_GOTO(rc, hl_sigv4_sign(c->signer, &req, &params, &res, err), out);

	memset(prep, 0, sizeof(*prep));
	snprintf(prep->url, sizeof(prep->url), "%s%s", ep->url, ep->path);
	/* Every line in one allocation: two requests per task, five lines
	 * each, would otherwise be ten formatted allocations per task. */
	const char *lines[][2] = {
		{ "Content-Type", content_type },
		{ "X-Amz-Target", target },
		{ "X-Amz-Date", res.amz_date },
		{ "Authorization", res.authorization },
		{ "X-Amz-Security-Token", res.security_token },
	};
	size_t n_lines = res.security_token ? 5 : 4, total = 0;
	for (size_t i = 0; i < n_lines; i++)
		total += strlen(lines[i][0]) + 2 + strlen(lines[i][1]) + 1;
	prep->block = hl_xmalloc(total);
	prep->block_len = total;
	char *w = prep->block;
	for (size_t i = 0; i < n_lines; i++) {
		size_t nl = strlen(lines[i][0]), vl = strlen(lines[i][1]);
		prep->headers[prep->n_headers++] = w;
		memcpy(w, lines[i][0], nl);
		memcpy(w + nl, ": ", 2);
		memcpy(w + nl + 2, lines[i][1], vl + 1);
		w += nl + 2 + vl + 1;
	}
	rc = HL_OK;
out:
	hl_creds_unref(creds);
	return rc;
}

int hl_aws_prepare(hl_aws_conn *c, const hl_aws_service *svc, const char *op,
		   const char *body, size_t body_len, hl_aws_prepared *prep, hl_err *err)
{
	const endpoint *ep = find_endpoint(c->aws, svc, err);
	if (!ep)
		return HL_ERR_CONFIG;
	return sign_request(c, ep, op, body, body_len, prep, err);
}

void hl_aws_prepared_free(hl_aws_prepared *prep)
{
	if (!prep)
		return;
	if (prep->block) {
		/* The security token is a secret too: wipe it. */
		OPENSSL_cleanse(prep->block, prep->block_len);
		free(prep->block);
	}
	for (size_t i = 0; i < prep->n_headers; i++)
		prep->headers[i] = NULL;
	prep->n_headers = 0;
	prep->block = NULL;
	prep->block_len = 0;
}

/* ---- responses -------------------------------------------------------------- */

void hl_aws_sanitize_error_code(const char *raw, char *out, size_t outsz)
{
	if (!outsz)
		return;
	out[0] = '\0';
	if (!raw)
		return;
	size_t n = strcspn(raw, ":");
	const char *start = raw;
	for (size_t i = 0; i < n; i++)
		if (raw[i] == '#')
			start = raw + i + 1;
	size_t len = n - (size_t)(start - raw);
	/* Trim spaces; keep only printable ASCII so a code is safe to log. */
	while (len && isspace((unsigned char)*start)) {
		start++;
		len--;
	}
	while (len && isspace((unsigned char)start[len - 1]))
		len--;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < outsz; i++)
		if (isgraph((unsigned char)start[i]))
			out[o++] = start[i];
	out[o] = '\0';
}

static const char *json_string_member(json_object *obj, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object *v = NULL;
		if (json_object_object_get_ex(obj, names[i], &v) && json_object_is_type(v, json_type_string))
			return json_object_get_string(v);
	}
	return NULL;
}

/* Parses body as a JSON object; NULL when it is not one. */
static json_object *parse_object(const char *body, size_t len)
{
	if (!body || len == 0)
		return NULL;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		abort();
	json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success &&
			(size_t)json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	/* Trailing whitespace is fine; anything else after the object is not. */
	if (obj && !complete) {
		json_object_put(obj);
		obj = NULL;
	}
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

static size_t trim_len(const char *body, size_t len)
{
	while (len && isspace((unsigned char)body[len - 1]))
		len--;
	return len;
}

int hl_aws_parse_response(long status, const char *error_type_header, const char *body,
			  size_t body_len, json_object **output, hl_err *err)
{
	if (output)
		*output = NULL;
	body_len = body ? trim_len(body, body_len) : 0;
	json_object *obj = parse_object(body, body_len);

	if (status >= 200 && status < 300) {
		if (body_len == 0) {
			if (output)
				*output = json_object_new_object();
			return HL_OK;
		}
		if (!obj) {
			int rc = hl_err_set(err, HL_ERR_PARSE,
					    "HTTP %ld response is not a JSON object (%zu bytes)",
					    status, body_len);
			if (err)
				err->http_status = (int)status;
			return rc;
		}
		if (output)
			*output = obj;
		else
			json_object_put(obj);
		return HL_OK;
	}

	/* An error: the header wins, then code, then __type (smithy order). */
	static const char *const code_names[] = { "code", "__type", "Code" };
	static const char *const msg_names[] = { "message", "Message", "errorMessage" };
	const char *raw_code = (error_type_header && *error_type_header) ? error_type_header : NULL;
	const char *msg = NULL;
	if (obj) {
		if (!raw_code)
			raw_code = json_string_member(obj, code_names, 3);
		msg = json_string_member(obj, msg_names, 3);
	}
	char code[sizeof(err->aws_code)];
	hl_aws_sanitize_error_code(raw_code, code, sizeof(code));
	int rc;
	if (code[0]) {
		rc = hl_err_set(err, HL_ERR_AWS, "%s: %.600s", code, msg ? msg : "(no message)");
		if (err)
			hl_strlcpy(err->aws_code, code, sizeof(err->aws_code));
	} else if (obj || body_len == 0) {
		rc = hl_err_set(err, HL_ERR_AWS, "HTTP %ld with no error code%s%.600s", status,
				msg ? ": " : "", msg ? msg : "");
	} else {
		rc = hl_err_set(err, HL_ERR_PARSE, "HTTP %ld with a body that is not JSON (%zu bytes)",
				status, body_len);
	}
	if (err)
		err->http_status = (int)status;
	json_object_put(obj);
	return rc;
}

/* ---- calls ---------------------------------------------------------------- */

static int attempt_once(hl_aws_conn *c, const endpoint *ep, const char *op, const char *body,
			size_t body_len, json_object **output, const hl_aws_call_opts *opts,
			hl_err *err)
{
	hl_aws_prepared prep;
	hl_http_response resp;
	hl_header headers[8];
	int rc;

	memset(&resp, 0, sizeof(resp));
	HL_GUARD(sign_request(c, ep, op, body, body_len, &prep, err));
	for (size_t i = 0; i < prep.n_headers; i++) {
		char *colon = strchr(prep.headers[i], ':');
		*colon = '\0';
		headers[i].name = prep.headers[i];
		headers[i].value = colon + 2;
	}
	hl_http_request req = {
		.method = "POST",
		.url = prep.url,
		.headers = headers,
		.n_headers = prep.n_headers,
		.body = body,
		.body_len = body_len,
		.timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : HL_AWS_DEFAULT_TIMEOUT_MS,
		.max_response_bytes = opts ? opts->max_response_bytes : 0,
	};
	rc = hl_http_perform(c->http, &req, &resp, err);
	hl_aws_prepared_free(&prep);   /* wipes the whole block, cut lines too */
	if (rc == HL_OK)
		rc = hl_aws_parse_response(resp.status, resp.error_type, resp.body.data,
					   resp.body.len, output, err);
	hl_http_response_free(&resp);
	return rc;
}

int hl_aws_call_raw(hl_aws_conn *c, const hl_aws_service *svc, const char *op,
		    const char *body, size_t body_len, json_object **output,
		    const hl_aws_call_opts *opts, hl_err *err)
{
	hl_aws *aws = c->aws;
	const endpoint *ep = find_endpoint(aws, svc, err);
	int max_attempts = opts && opts->max_attempts > 0 ? opts->max_attempts : aws->max_attempts;
	int cost_taken = 0;
	int rc;

	if (output)
		*output = NULL;
	if (!ep)
		return HL_ERR_CONFIG;
	for (int attempt = 1;; attempt++) {
		hl_err_clear(err);
		rc = attempt_once(c, ep, op, body, body_len, output, opts, err);
		if (rc == HL_OK) {
			hl_retry_quota_release(&aws->quota, cost_taken);
			return HL_OK;
		}
		hl_err attempt_err;
		if (err)
			attempt_err = *err;
		else
			hl_err_set(&attempt_err, rc, "call failed");
		hl_retry_kind kind = hl_retry_classify(err ? err : &attempt_err);
		if (kind == HL_RETRY_NO || attempt >= max_attempts)
			return rc;
		int cost = hl_retry_quota_acquire(&aws->quota, kind);
		if (cost == 0) {
			if (err) {
				size_t n = strlen(err->message);
				snprintf(err->message + n, sizeof(err->message) - n,
					 " (not retried: retry quota exhausted)");
			}
			return rc;
		}
		cost_taken += cost;
		hl_sleep_ms(aws->clock, hl_retry_backoff_ms(aws->clock, attempt));
	}
}

int hl_aws_call(hl_aws_conn *c, const hl_aws_service *svc, const char *op, json_object *input,
		json_object **output, const hl_aws_call_opts *opts, hl_err *err)
{
	size_t len = 0;
	const char *body = json_object_to_json_string_length(
		input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	hl_buf_reset(&c->body);
	if (hl_buf_append(&c->body, body, len) < 0)
		return hl_err_set(err, HL_ERR_TOO_LARGE, "%s request body exceeds %zu bytes", op, c->body.max);
	return hl_aws_call_raw(c, svc, op, c->body.data, c->body.len, output, opts, err);
}
