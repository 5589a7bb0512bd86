/* creds_ecs.c - ECS / EKS Pod Identity container credentials.
 *
 * Configured by the container agent through the environment:
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  a path on the ECS agent,
 *       fetched from http://169.254.170.2<path>;
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI      a whole URL (EKS Pod Identity,
 *       ECS Anywhere, Greengrass). Allowed only over https, or over http to
 *       a loopback host (127.0.0.0/8, ::1, localhost) or the ECS/EKS
 *       link-local agents (169.254.170.2, 169.254.170.23, fd00:ec2::23):
 *       anything else could send the request, and its authorization token,
 *       to whoever controls the URL. Checked once, when the source is made,
 *       with curl's own URL parser so the host checked is the host dialled;
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  (read on every fetch, since the
 *       agent rotates it; trailing newline stripped) or
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN       sent as the Authorization header.
 * RELATIVE_URI wins over FULL_URI, the token file over the token.
 *
 * The host of the relative form can be replaced by cfg->ecs_host_override
 * (HEALER_TEST_ECS_HOST): that is for tests only, to point the source at the
 * local stand-in; nothing in production sets it.
 *
 * A fetch is one GET (bounded to 64 KiB, two quick retries on transport
 * errors) whose body is parsed by hl_creds_parse_ecs_document. The response
 * body and the token are wiped after use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "healer/clock.h"
#include "healer/http.h"
#include "creds_internal.h"

#define ECS_DEFAULT_HOST "169.254.170.2"
#define ECS_ATTEMPTS 3
#define ECS_RETRY_SLEEP_MS 200
#define ECS_CONNECT_TIMEOUT_MS 2000L
#define ECS_TIMEOUT_MS 5000L
#define ECS_MAX_TOKEN_BYTES (16 * 1024)

struct ecs_source {
	const hl_clock *clock;
	bool configured;
	char *url;               /* NULL when configured with an error */
	char *host;              /* for messages */
	char *config_error;      /* why the configuration is unusable */
	char *token_file;
	char *token;             /* secret */
	hl_http *http;           /* made on first fetch */
};

/* ---- FULL_URI host rules ------------------------------------------------ */

static bool host_allowed_over_http(const char *host_in)
{
	static const uint8_t ecs_v4[2][4] = { { 169, 254, 170, 2 },
					      { 169, 254, 170, 23 } };
	char host[256];
	size_t n = strlen(host_in);
	struct in_addr a4;
	struct in6_addr a6, want;

	/* curl reports IPv6 literals in brackets. */
	if (n >= 2 && host_in[0] == '[' && host_in[n - 1] == ']') {
		host_in++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, host_in, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		const uint8_t *b = (const uint8_t *)&a4.s_addr;
		return b[0] == 127 || memcmp(b, ecs_v4[0], 4) == 0 ||
		       memcmp(b, ecs_v4[1], 4) == 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return a6.s6_addr[12] == 127;
		return inet_pton(AF_INET6, "fd00:ec2::23", &want) == 1 &&
		       memcmp(&a6, &want, sizeof(want)) == 0;
	}
	return false;
}

/* Checks FULL_URI; on success *host_out is its host (malloc'd). */
static int check_full_uri(const char *uri, char **host_out, hl_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	*host_out = NULL;
	if (u == NULL)
		abort();
	if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI is not a "
				"valid URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0) {
		*host_out = hl_xstrdup(host);
	} else if (strcasecmp(scheme, "http") != 0) {
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI: scheme "
				"%.16s is not allowed (use https)",
				scheme);
	} else if (!host_allowed_over_http(host)) {
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI: host %.200s "
				"is not allowed over http (only https, loopback "
				"or the ECS/EKS agent addresses)",
				host);
	} else {
		*host_out = hl_xstrdup(host);
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

int hl_creds_check_full_uri(const char *uri, hl_err *err)
{
	char *host = NULL;
	int rc = check_full_uri(uri, &host, err);

	free(host);
	return rc;
}

/* ---- authorization token ------------------------------------------------ */

static int check_token(const char *token, size_t len, const char *what,
		       hl_err *err)
{
	if (len == 0)
		return hl_err_set(err, HL_ERR_CONFIG, "%s is empty", what);
	if (memchr(token, '\r', len) != NULL ||
	    memchr(token, '\n', len) != NULL ||
	    memchr(token, '\0', len) != NULL)
		return hl_err_set(err, HL_ERR_CONFIG,
				  "%s contains a line break or NUL byte", what);
	return 0;
}

/* Reads the token file afresh: the agent rotates it. */
static int read_token_file(const char *path, char **out, hl_err *err)
{
	hl_buf b;
	char chunk[4096];
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	hl_buf_init(&b, ECS_MAX_TOKEN_BYTES);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hl_err_set(err, HL_ERR_CONFIG,
				  "cannot read AWS_CONTAINER_AUTHORIZATION_"
				  "TOKEN_FILE %.300s: %s",
				  path, strerror(errno));
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG,
					"cannot read AWS_CONTAINER_AUTHORIZATION"
					"_TOKEN_FILE %.300s: %s",
					path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (hl_buf_append(&b, chunk, (size_t)n) < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG,
					"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
					"%.300s is larger than %d bytes",
					path, ECS_MAX_TOKEN_BYTES);
			break;
		}
	}
	close(fd);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc == 0) {
		while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
				     b.data[b.len - 1] == '\r'))
			b.len--;
		rc = check_token(b.data != NULL ? b.data : "", b.len,
				 "the token in AWS_CONTAINER_AUTHORIZATION_"
				 "TOKEN_FILE",
				 err);
	}
	if (rc == 0)
		*out = hl_xstrndup(b.data, b.len);
	hl_buf_free_secret(&b);
	return rc;
}

static int load_token(const struct ecs_source *s, char **out, hl_err *err)
{
	*out = NULL;
	if (s->token_file != NULL)
		return read_token_file(s->token_file, out, err);
	if (s->token != NULL) {
		HL_GUARD(check_token(s->token, strlen(s->token),
				     "AWS_CONTAINER_AUTHORIZATION_TOKEN", err));
		*out = hl_xstrdup(s->token);
	}
	return 0;
}

/* ---- fetch ---------------------------------------------------------------- */

static int ecs_get(struct ecs_source *s, const char *token,
		   hl_http_response *resp, hl_err *err)
{
	hl_header headers[2];
	hl_http_request req = { 0 };
	size_t n = 0;
	int rc = 0;

	headers[n++] = (hl_header){ "Accept", "application/json" };
	if (token != NULL)
		headers[n++] = (hl_header){ "Authorization", token };
	req.method = "GET";
	req.url = s->url;
	req.headers = headers;
	req.n_headers = n;
	req.timeout_ms = ECS_TIMEOUT_MS;
	req.connect_timeout_ms = ECS_CONNECT_TIMEOUT_MS;
	req.max_response_bytes = HL_CREDS_MAX_DOCUMENT_BYTES;
	for (int attempt = 1; attempt <= ECS_ATTEMPTS; attempt++) {
		hl_buf_free_secret(&resp->body);
		rc = hl_http_perform(s->http, &req, resp, err);
		if (rc != HL_ERR_IO && rc != HL_ERR_TIMEOUT)
			break;
		if (attempt < ECS_ATTEMPTS)
			hl_sleep_ms(s->clock, ECS_RETRY_SLEEP_MS * attempt);
	}
	return rc;
}

static int ecs_fetch(void *impl, hl_creds **out, hl_err *err)
{
	struct ecs_source *s = impl;
	hl_http_response resp = { 0 };
	char *token = NULL;
	int rc;

	*out = NULL;
	if (!s->configured)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
				  "_FULL_URI are not set");
	if (s->config_error != NULL)
		return hl_err_set(err, HL_ERR_CONFIG, "%s", s->config_error);
	HL_GUARD(load_token(s, &token, err));
	if (s->http == NULL && (s->http = hl_http_new(NULL)) == NULL) {
		rc = hl_err_set(err, HL_ERR_INTERNAL, "cannot make a curl handle");
		goto out;
	}
	rc = ecs_get(s, token, &resp, err);
	if (rc < 0)
		goto out;
	if (resp.status != 200) {
		rc = hl_err_set(err, HL_ERR_CREDENTIALS,
				"container credentials endpoint %.200s "
				"answered HTTP %ld",
				s->host, resp.status);
		if (err != NULL)
			err->http_status = (int)resp.status;
		goto out;
	}
	rc = hl_creds_parse_ecs_document(resp.body.data, resp.body.len, out,
					 err);
out:
	hl_buf_free_secret(&resp.body);
	hl_free_secret(token);
	return rc;
}

static void ecs_destroy(void *impl)
{
	struct ecs_source *s = impl;

	if (s == NULL)
		return;
	hl_http_free(s->http);
	free(s->url);
	free(s->host);
	free(s->config_error);
	free(s->token_file);
	hl_free_secret(s->token);
	free(s);
}

static void configure(struct ecs_source *s, const hl_creds_config *cfg,
		      const char *const *envp)
{
	const char *rel = hl_creds_getenv(envp,
					  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = hl_creds_getenv(envp,
					   "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *host;
	hl_err e;

	s->configured = rel != NULL || full != NULL;
	if (rel != NULL) {
		host = (cfg != NULL && cfg->ecs_host_override != NULL) ?
			       cfg->ecs_host_override :
			       ECS_DEFAULT_HOST;
		if (rel[0] != '/') {
			s->config_error = hl_xstrdup(
				"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must "
				"start with '/'");
			return;
		}
		s->url = hl_xasprintf("http://%s%s", host, rel);
		s->host = hl_xstrdup(host);
	} else if (full != NULL) {
		if (check_full_uri(full, &s->host, &e) < 0) {
			s->config_error = hl_xstrdup(e.message);
			return;
		}
		s->url = hl_xstrdup(full);
	}
}

hl_creds_source hl_creds_source_ecs(const hl_creds_config *cfg,
				    const char *const *envp)
{
	struct ecs_source *s = hl_xcalloc(1, sizeof(*s));
	const char *v;

	s->clock = (cfg != NULL && cfg->clock != NULL) ? cfg->clock :
							  hl_clock_system();
	configure(s, cfg, envp);
	v = hl_creds_getenv(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	s->token_file = v != NULL ? hl_xstrdup(v) : NULL;
	v = hl_creds_getenv(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	s->token = v != NULL ? hl_xstrdup(v) : NULL;
	return (hl_creds_source){ .name = "ecs",
				  .fetch = ecs_fetch,
				  .destroy = ecs_destroy,
				  .impl = s };
}
