/* creds_imds.c - EC2 instance role credentials from the instance metadata
 * service, IMDSv2 only (session tokens; IMDSv1 is never tried).
 *
 * A fetch is three requests to http://169.254.169.254:
 *   PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds: 21600)
 *       -> a session token, cached (monotonic clock) until 5 min before its
 *          TTL ends;
 *   GET /latest/meta-data/iam/security-credentials/  -> the role name (first
 *       line);
 *   GET /latest/meta-data/iam/security-credentials/<role> -> the JSON
 *       document read by hl_creds_parse_imds_document.
 * A 401 on either GET means the session token went stale: it is fetched
 * again once. Timeouts are short (1 s connect, 2 s total): off EC2 nothing
 * answers.
 *
 * "Not here" (HL_ERR_NOT_FOUND: the chain ends with "no credentials found"
 * listing what was tried) until the service has worked once, i.e. issued a
 * session token: a transport failure (not on EC2), and a token PUT answered
 * 403, 404 or 405 -- botocore's _fetch_metadata_token returns None for those
 * (IMDS turned off on the instance, or the caller not allowed, e.g. a
 * request that went through a proxy, or something else at that address on
 * an operator's network). botocore then falls back to IMDSv1; we never do.
 * Once a token has been issued, the same answers are real failures (IMDS
 * served this process and now refuses or is unreachable): HL_ERR_CREDENTIALS
 * or the transport error, reported by the chain, while the provider keeps
 * serving the still-valid set.
 * AWS_EC2_METADATA_DISABLED=true turns the source off; a 404 on the role
 * list (no role attached) is "not configured" too.
 *
 * The base URL can be replaced by cfg->imds_endpoint_override
 * (HEALER_TEST_IMDS_ENDPOINT): for tests only, to reach the local stand-in.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "healer/clock.h"
#include "healer/http.h"
#include "creds_internal.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_TOKEN_TTL_HEADER "21600"
#define IMDS_TOKEN_MARGIN_MS (5 * 60 * 1000LL)
#define IMDS_CONNECT_TIMEOUT_MS 1000L
#define IMDS_TIMEOUT_MS 2000L
#define IMDS_MAX_TOKEN_BYTES 4096
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct imds_source {
	const hl_clock *clock;
	char *endpoint;              /* base URL without a trailing '/' */
	bool disabled;
	bool worked;                 /* the service has issued a token once */
	hl_http *http;               /* made on first fetch */
	char *token;                 /* secret; NULL when none cached */
	int64_t token_renew_mono_ms; /* fetch a new token at or after this */
};

static void drop_token(struct imds_source *s)
{
	hl_free_secret(s->token);
	s->token = NULL;
}

/* One request; transport failures before the service ever worked mean
 * there is no metadata service here. */
static int imds_request(struct imds_source *s, const char *method,
			const char *path, const hl_header *headers,
			size_t n_headers, hl_http_response *resp, hl_err *err)
{
	hl_http_request req = { 0 };
	char *url = hl_xasprintf("%s%s", s->endpoint, path);
	hl_err e;
	int rc;

	req.method = method;
	req.url = url;
	req.headers = headers;
	req.n_headers = n_headers;
	req.timeout_ms = IMDS_TIMEOUT_MS;
	req.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
	req.max_response_bytes = HL_CREDS_MAX_DOCUMENT_BYTES;
	hl_buf_free_secret(&resp->body);
	hl_err_clear(&e);
	rc = hl_http_perform(s->http, &req, resp, &e);
	free(url);
	if ((rc == HL_ERR_IO || rc == HL_ERR_TIMEOUT) && !s->worked)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "no instance metadata service at %.200s (%s)",
				  s->endpoint, e.message);
	if (rc < 0 && err != NULL)
		*err = e;
	return rc < 0 ? rc : 0;
}

static int http_error(const char *what, long status, hl_err *err)
{
	int rc = hl_err_set(err, HL_ERR_CREDENTIALS,
			    "instance metadata %s answered HTTP %ld", what,
			    status);
	if (err != NULL)
		err->http_status = (int)status;
	return rc;
}

static int get_token(struct imds_source *s, hl_err *err)
{
	static const hl_header ttl = { "X-aws-ec2-metadata-token-ttl-seconds",
				       IMDS_TOKEN_TTL_HEADER };
	hl_http_response resp = { 0 };
	int64_t now = hl_mono_ms(s->clock);
	size_t n;
	int rc;

	if (s->token != NULL && now < s->token_renew_mono_ms)
		return 0;
	drop_token(s);
	HL_GUARD_GOTO(rc, imds_request(s, "PUT", "/latest/api/token", &ttl, 1,
				       &resp, err),
		      out);
	if ((resp.status == 403 || resp.status == 404 || resp.status == 405) &&
	    !s->worked) {
		rc = hl_err_set(err, HL_ERR_NOT_FOUND,
				"instance metadata token request answered HTTP "
				"%ld: IMDSv2 is off or refuses this caller "
				"(IMDSv1 is never tried)",
				resp.status);
		if (err != NULL)
			err->http_status = (int)resp.status;
		goto out;
	}
	if (resp.status != 200) {
		rc = http_error("token request", resp.status, err);
		goto out;
	}
	n = resp.body.len;
	while (n > 0 && (resp.body.data[n - 1] == '\n' ||
			 resp.body.data[n - 1] == '\r'))
		n--;
	if (n == 0 || n > IMDS_MAX_TOKEN_BYTES ||
	    strcspn(resp.body.data, "\r\n") < n ||
	    memchr(resp.body.data, '\0', n) != NULL) {
		rc = hl_err_set(err, HL_ERR_PARSE,
				"instance metadata token is empty, too long or "
				"has line breaks");
		goto out;
	}
	s->token = hl_xstrndup(resp.body.data, n);
	s->worked = true;
	s->token_renew_mono_ms =
		now + IMDS_TOKEN_TTL_S * 1000LL - IMDS_TOKEN_MARGIN_MS;
out:
	hl_buf_free_secret(&resp.body);
	return rc;
}

/* GET with the session token; on 401 renews the token once per fetch. */
static int get_with_token(struct imds_source *s, const char *path,
			  bool *renewed, hl_http_response *resp, hl_err *err)
{
	hl_header h;

	for (;;) {
		HL_GUARD(get_token(s, err));
		h = (hl_header){ "X-aws-ec2-metadata-token", s->token };
		HL_GUARD(imds_request(s, "GET", path, &h, 1, resp, err));
		if (resp->status != 401 || *renewed)
			return 0;
		*renewed = true;
		drop_token(s);
	}
}

/* IAM role names: 1-64 of [A-Za-z0-9+=,.@_-]. Checked so the name cannot
 * change the path it is put into. */
static bool valid_role_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("+=,.@_-", c) != NULL))
			return false;
	}
	return !(n <= 2 && strspn(s, ".") == n);   /* not "." or ".." */
}

static int get_role(struct imds_source *s, bool *renewed, char **role,
		    hl_err *err)
{
	hl_http_response resp = { 0 };
	const char *line;
	size_t n;
	int rc;

	*role = NULL;
	HL_GUARD_GOTO(rc, get_with_token(s, IMDS_CREDS_PATH, renewed, &resp,
					 err),
		      out);
	if (resp.status == 404) {
		rc = hl_err_set(err, HL_ERR_NOT_FOUND,
				"no IAM role is attached to this instance");
		goto out;
	}
	if (resp.status != 200) {
		rc = http_error("role list", resp.status, err);
		goto out;
	}
	line = resp.body.data;
	line += strspn(line, " \t\r\n");
	n = strcspn(line, "\r\n");
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (!valid_role_name(line, n)) {
		rc = hl_err_set(err, HL_ERR_PARSE,
				"instance metadata role list does not start "
				"with a valid IAM role name");
		goto out;
	}
	*role = hl_xstrndup(line, n);
	rc = 0;
out:
	hl_http_response_free(&resp);
	return rc;
}

static int imds_fetch(void *impl, hl_creds **out, hl_err *err)
{
	struct imds_source *s = impl;
	hl_http_response resp = { 0 };
	bool renewed = false;
	char *role = NULL, *path = NULL;
	int rc;

	*out = NULL;
	if (s->disabled)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "AWS_EC2_METADATA_DISABLED is true");
	if (s->http == NULL && (s->http = hl_http_new(NULL)) == NULL)
		return hl_err_set(err, HL_ERR_INTERNAL,
				  "cannot make a curl handle");
	HL_GUARD_GOTO(rc, get_role(s, &renewed, &role, err), out);
	path = hl_xasprintf("%s%s", IMDS_CREDS_PATH, role);
	HL_GUARD_GOTO(rc, get_with_token(s, path, &renewed, &resp, err), out);
	if (resp.status == 404) {
		rc = hl_err_set(err, HL_ERR_CREDENTIALS,
				"instance metadata has no credentials for role %s",
				role);
		goto out;
	}
	if (resp.status != 200) {
		rc = http_error("credentials request", resp.status, err);
		goto out;
	}
	rc = hl_creds_parse_imds_document(resp.body.data, resp.body.len, out,
					  err);
out:
	hl_buf_free_secret(&resp.body);
	free(role);
	free(path);
	return rc;
}

static void imds_destroy(void *impl)
{
	struct imds_source *s = impl;

	if (s == NULL)
		return;
	hl_http_free(s->http);
	drop_token(s);
	free(s->endpoint);
	free(s);
}

hl_creds_source hl_creds_source_imds(const hl_creds_config *cfg,
				     const char *const *envp)
{
	struct imds_source *s = hl_xcalloc(1, sizeof(*s));
	const char *base = (cfg != NULL && cfg->imds_endpoint_override != NULL) ?
				   cfg->imds_endpoint_override :
				   IMDS_DEFAULT_ENDPOINT;
	const char *disabled = hl_creds_getenv(envp, "AWS_EC2_METADATA_DISABLED");
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	s->endpoint = hl_xstrndup(base, n);
	s->disabled = disabled != NULL && strcasecmp(disabled, "true") == 0;
	s->clock = (cfg != NULL && cfg->clock != NULL) ? cfg->clock :
							  hl_clock_system();
	return (hl_creds_source){ .name = "imds",
				  .fetch = imds_fetch,
				  .destroy = imds_destroy,
				  .impl = s };
}
