/* test_creds_http.c - the ECS and IMDS sources against the local AWS
 * endpoint's stand-ins (tests/local/server.py), the FULL_URI host rules, and
 * the default chain's order (environment, profile, ECS, IMDS) with them.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "healer/creds.h"
#include "healer/http.h"
#include "../../worker/creds_internal.h"
#include "../support/local_endpoint.h"

static hl_test_endpoint *ep;

static void start(void)
{
	cr_assert_eq(hl_http_global_init(NULL), 0);
	ep = hl_test_endpoint_start();
	cr_assert_not_null(ep, "the local endpoint did not start");
}

static void stop(void)
{
	hl_test_endpoint_stop(ep);
	ep = NULL;
}

static void admin(const char *path, const char *body)
{
	char *resp = NULL;
	int status = hl_test_endpoint_admin(ep, "POST", path, body, &resp);

	cr_assert_eq(status, 200, "%s %s: %d %s", path, body, status, resp ? resp : "");
	free(resp);
}

/* A counter of GET /_admin/summary ("ecs_fetches", "imds_fetches"). */
static long summary_count(const char *key)
{
	char *resp = NULL, *at;
	char quoted[64];
	long n = -1;
	int status = hl_test_endpoint_admin(ep, "GET", "/_admin/summary", NULL, &resp);

	cr_assert_eq(status, 200, "summary: %d", status);
	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	at = resp != NULL ? strstr(resp, quoted) : NULL;
	cr_assert_not_null(at, "%s not in %s", key, resp ? resp : "");
	n = strtol(at + strlen(quoted), NULL, 10);
	free(resp);
	return n;
}

static long imds_fetches(void) { return summary_count("imds_fetches"); }
static long ecs_fetches(void) { return summary_count("ecs_fetches"); }

typedef hl_creds_source (*source_ctor)(const hl_creds_config *, const char *const *);

static int fetch(source_ctor ctor, const hl_creds_config *cfg, const char *const *env,
		 hl_creds **out, hl_err *err)
{
	hl_creds_source s = ctor(cfg, env);
	int rc;

	*out = NULL;
	hl_err_clear(err);
	rc = s.fetch(s.impl, out, err);
	s.destroy(s.impl);
	return rc;
}

static void expect_session_creds(const hl_creds *c, const char *source)
{
	int64_t now_ms = (int64_t)time(NULL) * 1000;

	cr_assert_not_null(c);
	cr_assert_str_eq(c->source, source);
	cr_assert(strncmp(c->access_key_id, "ASIA", 4) == 0, "%s", c->access_key_id);
	cr_assert_gt(strlen(c->secret_access_key), 20);
	cr_assert_not_null(c->session_token);
	cr_assert_gt(c->expiration_ms, now_ms + 800 * 1000, "default lifetime is 900 s");
	cr_assert_lt(c->expiration_ms, now_ms + 1000 * 1000);
}

/* ---- ECS ---------------------------------------------------------------------- */

Test(creds_ecs, relative_uri, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .ecs_host_override = hl_test_endpoint_hostport(ep) };
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials", NULL };
	hl_creds *c = NULL;
	hl_err err;

	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, env, &c, &err), 0, "%s", err.message);
	expect_session_creds(c, "ecs");
	hl_creds_unref(c);
}

Test(creds_ecs, full_uri_on_loopback, .init = start, .fini = stop)
{
	char full[256], local[256];
	const char *env[] = { full, NULL }, *env_localhost[] = { local, NULL };
	hl_creds *c = NULL;
	hl_err err;

	snprintf(full, sizeof(full), "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/_ecs/credentials",
		 hl_test_endpoint_url(ep));
	cr_assert_eq(fetch(hl_creds_source_ecs, NULL, env, &c, &err), 0, "%s", err.message);
	expect_session_creds(c, "ecs");
	hl_creds_unref(c);

	snprintf(local, sizeof(local),
		 "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://localhost:%s/v2/credentials/abc",
		 strchr(hl_test_endpoint_hostport(ep), ':') + 1);
	cr_assert_eq(fetch(hl_creds_source_ecs, NULL, env_localhost, &c, &err), 0, "%s",
		     err.message);
	hl_creds_unref(c);
}

Test(creds_ecs, authorization_token, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .ecs_host_override = hl_test_endpoint_hostport(ep) };
	const char *good[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
			       "AWS_CONTAINER_AUTHORIZATION_TOKEN=Basic tok-123", NULL };
	const char *bad[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
			      "AWS_CONTAINER_AUTHORIZATION_TOKEN=Basic WRONGTOKEN", NULL };
	const char *none[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials", NULL };
	const char *crlf[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
			       "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok\r\nX-Injected: 1", NULL };
	hl_creds *c = NULL;
	hl_err err;

	admin("/_admin/ecs", "{\"auth_token\": \"Basic tok-123\"}");
	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, good, &c, &err), 0, "%s", err.message);
	hl_creds_unref(c);

	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, bad, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert_eq(err.http_status, 403);
	cr_assert(strstr(err.message, "answered HTTP 403") != NULL, "%s", err.message);
	cr_assert_null(strstr(err.message, "WRONGTOKEN"));

	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, none, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert_eq(err.http_status, 401);

	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, crlf, &c, &err), HL_ERR_CONFIG);
	cr_assert_str_eq(err.message, "AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line "
				      "break or NUL byte");
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(creds_ecs, token_file_wins_and_is_read_on_every_fetch, .init = start, .fini = stop)
{
	char path[] = "/tmp/healer-ecs-token-XXXXXX", var[128];
	hl_creds_config cfg = { .ecs_host_override = hl_test_endpoint_hostport(ep) };
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
			      "AWS_CONTAINER_AUTHORIZATION_TOKEN=from-env", var, NULL };
	hl_creds_source s;
	hl_creds *c = NULL;
	hl_err err = { 0 };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(var, sizeof(var), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", path);
	s = hl_creds_source_ecs(&cfg, env);

	write_file(path, "file-token-1\n");
	admin("/_admin/ecs", "{\"auth_token\": \"file-token-1\"}");
	cr_assert_eq(s.fetch(s.impl, &c, &err), 0, "%s", err.message);
	hl_creds_unref(c);

	/* The agent rotates the file: the next fetch sends the new token. */
	write_file(path, "file-token-2\r\n");
	admin("/_admin/ecs", "{\"auth_token\": \"file-token-2\"}");
	cr_assert_eq(s.fetch(s.impl, &c, &err), 0, "%s", err.message);
	hl_creds_unref(c);

	write_file(path, "file-token-2\nX-Injected: yes\n");
	cr_assert_eq(s.fetch(s.impl, &c, &err), HL_ERR_CONFIG);
	cr_assert_str_eq(err.message, "the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
				      "contains a line break or NUL byte");
	cr_assert_null(strstr(err.message, "file-token"));

	unlink(path);
	cr_assert_eq(s.fetch(s.impl, &c, &err), HL_ERR_CONFIG);
	cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
	s.destroy(s.impl);
}

Test(creds_ecs, http_500_and_garbage, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .ecs_host_override = hl_test_endpoint_hostport(ep) };
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials", NULL };
	hl_creds *c = NULL;
	hl_err err;

	admin("/_admin/ecs", "{\"fail\": \"500\"}");
	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, env, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert_eq(err.http_status, 500);
	cr_assert(strstr(err.message, "answered HTTP 500") != NULL, "%s", err.message);

	admin("/_admin/ecs", "{\"fail\": \"garbage\"}");
	cr_assert_eq(fetch(hl_creds_source_ecs, &cfg, env, &c, &err), HL_ERR_PARSE);
	cr_assert_str_eq(err.message, "ecs credentials document: not valid JSON");
	cr_assert_null(c);
}

Test(creds_ecs, not_configured_and_bad_relative_uri)
{
	const char *none[] = { "PATH=/bin", NULL };
	const char *bad[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=evil.com/x", NULL };
	hl_creds *c = NULL;
	hl_err err;

	cr_assert_eq(fetch(hl_creds_source_ecs, NULL, none, &c, &err), HL_ERR_NOT_FOUND);
	cr_assert_eq(fetch(hl_creds_source_ecs, NULL, bad, &c, &err), HL_ERR_CONFIG);
	cr_assert_str_eq(err.message, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
}

Test(creds_ecs, full_uri_host_rules)
{
	static const char *const allowed[] = {
		"http://127.0.0.1/creds",
		"http://127.1.2.3:8080/creds",
		"http://localhost/creds",
		"http://LOCALHOST:51679/creds",
		"http://[::1]:8080/creds",
		"http://169.254.170.2/v2/credentials/x",
		"http://169.254.170.23/v1/credentials",
		"http://[fd00:ec2::23]/v1/credentials",
		"http://[fd00:ec2:0::23]/v1/credentials",
		"https://example.com/creds",
		"HTTPS://anything.internal:8443/creds?x=1",
	};
	static const struct {
		const char *uri;
		const char *msg;
	} denied[] = {
		{ "http://example.com/creds", "host example.com is not allowed over http" },
		{ "http://169.254.169.254/latest", "host 169.254.169.254 is not allowed" },
		{ "http://169.254.170.3/creds", "host 169.254.170.3 is not allowed" },
		{ "http://128.0.0.1/creds", "host 128.0.0.1 is not allowed" },
		{ "http://127.0.0.1.evil.com/", "host 127.0.0.1.evil.com is not allowed" },
		{ "http://localhost.evil.com/", "host localhost.evil.com is not allowed" },
		{ "http://127.0.0.1@evil.com/", "host evil.com is not allowed" },
		{ "http://[::2]/creds", "is not allowed over http" },
		{ "http://[fd00:ec2::24]/creds", "is not allowed over http" },
		{ "ftp://127.0.0.1/creds", "scheme ftp is not allowed" },
		{ "127.0.0.1/creds", "is not a valid URL" },
		{ "http://", "is not a valid URL" },
	};
	hl_err err;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		cr_assert_eq(hl_creds_check_full_uri(allowed[i], &err), 0, "%s: %s",
			     allowed[i], err.message);
	for (size_t i = 0; i < sizeof(denied) / sizeof(*denied); i++) {
		hl_err_clear(&err);
		cr_assert_eq(hl_creds_check_full_uri(denied[i].uri, &err), HL_ERR_CONFIG,
			     "%s", denied[i].uri);
		cr_assert(strstr(err.message, denied[i].msg) != NULL, "%s: %s",
			  denied[i].uri, err.message);
		cr_assert(strncmp(err.message, "AWS_CONTAINER_CREDENTIALS_FULL_URI", 34) == 0);
	}
}

/* ---- IMDS ------------------------------------------------------------------- */

Test(creds_imds, role_credentials, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	hl_creds *c = NULL;
	hl_err err;

	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), 0, "%s", err.message);
	expect_session_creds(c, "imds");
	hl_creds_unref(c);
}

/* The server forgets its session tokens: the cached one now gets 401 and
 * the source fetches a new token once. */
Test(creds_imds, stale_token_is_renewed_once, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	hl_creds_source s = hl_creds_source_imds(&cfg, env);
	hl_creds *c = NULL, *d = NULL;
	hl_err err = { 0 };

	cr_assert_eq(s.fetch(s.impl, &c, &err), 0, "%s", err.message);
	admin("/_admin/reset", "{}");
	admin("/_admin/imds", "{\"rotate\": true}");
	cr_assert_eq(s.fetch(s.impl, &d, &err), 0, "%s", err.message);
	cr_assert_str_neq(c->access_key_id, d->access_key_id);
	hl_creds_unref(c);
	hl_creds_unref(d);
	s.destroy(s.impl);
}

Test(creds_imds, custom_role_name, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	hl_creds *c = NULL;
	hl_err err;

	admin("/_admin/imds", "{\"role_name\": \"my-Role_1.x@y\"}");
	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), 0, "%s", err.message);
	hl_creds_unref(c);
	admin("/_admin/imds", "{\"role_name\": \"../../../latest/user-data\"}");
	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), HL_ERR_PARSE);
	cr_assert_str_eq(err.message, "instance metadata role list does not start with a "
				      "valid IAM role name");
}

Test(creds_imds, http_500_and_garbage, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	hl_creds *c = NULL;
	hl_err err;

	admin("/_admin/imds", "{\"fail\": \"500\"}");
	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert_eq(err.http_status, 500);
	cr_assert_str_eq(err.message, "instance metadata credentials request answered HTTP 500");

	admin("/_admin/imds", "{\"fail\": \"garbage\"}");
	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), HL_ERR_PARSE);
	cr_assert_str_eq(err.message, "imds credentials document: not valid JSON");
}

/* A token PUT answered 403, 404 or 405 before IMDS ever worked: IMDS is
 * turned off or refuses this caller (botocore's _fetch_metadata_token
 * returns None for these). "Not here", and IMDSv1 is never tried: no GET. */
Test(creds_imds, token_refused_before_it_worked_is_not_found, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	static const int statuses[] = { 403, 404, 405 };
	char body[64], want[128];
	hl_creds *c = NULL;
	hl_err err;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(*statuses); i++) {
		snprintf(body, sizeof(body), "{\"token_status\": %d}", statuses[i]);
		admin("/_admin/imds", body);
		cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), HL_ERR_NOT_FOUND,
			     "%d: %s", statuses[i], err.message);
		cr_assert_null(c);
		cr_assert_eq(err.http_status, statuses[i]);
		snprintf(want, sizeof(want), "instance metadata token request answered HTTP %d: "
			 "IMDSv2 is off or refuses this caller (IMDSv1 is never tried)",
			 statuses[i]);
		cr_assert_str_eq(err.message, want);
	}
	cr_assert_eq(imds_fetches(), 0, "no credentials GET without a token");
}

/* The same refusal after IMDS has issued a token to this source is a real
 * failure: the role this worker was using is no longer reachable. */
Test(creds_imds, token_refused_after_it_worked_is_an_error, .init = start, .fini = stop)
{
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	const char *env[] = { NULL };
	hl_creds_source s = hl_creds_source_imds(&cfg, env);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(s.fetch(s.impl, &c, &err), 0, "%s", err.message);
	hl_creds_unref(c);
	c = NULL;
	/* The cached token stops working (401), and a new one is refused. */
	admin("/_admin/imds", "{\"forget_tokens\": true, \"token_status\": 403}");
	cr_assert_eq(s.fetch(s.impl, &c, &err), HL_ERR_CREDENTIALS, "%s", err.message);
	cr_assert_null(c);
	cr_assert_eq(err.http_status, 403);
	cr_assert_str_eq(err.message, "instance metadata token request answered HTTP 403");
	s.destroy(s.impl);
}

Test(creds_imds, nothing_listening_is_not_found)
{
	hl_creds_config cfg = { .imds_endpoint_override = "http://127.0.0.1:1/" };
	const char *env[] = { NULL };
	hl_creds *c = NULL;
	hl_err err;

	cr_assert_eq(fetch(hl_creds_source_imds, &cfg, env, &c, &err), HL_ERR_NOT_FOUND);
	cr_assert(strstr(err.message, "no instance metadata service at http://127.0.0.1:1")
		  != NULL, "%s", err.message);
}

/* ---- chain order with the HTTP sources ----------------------------------------- */

static char profile_path[] = "/tmp/healer-creds-http-profile-XXXXXX";

static void start_with_profile(void)
{
	int fd;

	start();
	fd = mkstemp(profile_path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_file(profile_path, "[default]\naws_access_key_id = AKIDPROFILE\n"
				 "aws_secret_access_key = p\n");
}

static void stop_with_profile(void)
{
	unlink(profile_path);
	stop();
}

/* The default chain (hl_creds_provider_new_chain) with ECS and IMDS on the
 * stand-ins. */
static hl_creds_provider *chain(const char *const *env)
{
	hl_creds_config cfg = { .ecs_host_override = hl_test_endpoint_hostport(ep),
				.imds_endpoint_override = hl_test_endpoint_url(ep) };

	return hl_creds_provider_new_chain(&cfg, env);
}

static const char *chain_source(const char *const *env)
{
	hl_creds_provider *p = chain(env);
	hl_creds *c = NULL;
	hl_err err = { 0 };
	const char *source;

	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	source = c->source;   /* a static string */
	hl_creds_unref(c);
	hl_creds_provider_free(p);
	return source;
}

/* The AWS SDKs' order: environment, profile, ECS, IMDS. The profile wins
 * over a working ECS and IMDS without either being asked; with no shared
 * files (the ECS container: HOME=/nonexistent) ECS answers, then IMDS. */
Test(creds_chain, env_then_profile_then_ecs_then_imds, .init = start_with_profile,
     .fini = stop_with_profile)
{
	char cf[128];
	const char *env_too[] = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=e",
				  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
				  cf, NULL };
	const char *profile_and_ecs[] = {
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials", cf,
		"AWS_CONFIG_FILE=/nonexistent", NULL };
	const char *container[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
				    "HOME=/nonexistent", NULL };
	const char *instance[] = { "HOME=/nonexistent", NULL };

	snprintf(cf, sizeof(cf), "AWS_SHARED_CREDENTIALS_FILE=%s", profile_path);
	cr_assert_str_eq(chain_source(env_too), "environment");
	cr_assert_str_eq(chain_source(profile_and_ecs), "profile");
	cr_assert_eq(ecs_fetches(), 0, "the profile answered: ECS is not asked");
	cr_assert_eq(imds_fetches(), 0, "the profile answered: IMDS is not asked");
	cr_assert_str_eq(chain_source(container), "ecs");
	cr_assert_eq(imds_fetches(), 0);
	cr_assert_str_eq(chain_source(instance), "imds");
}

/* An operator's laptop on a network where something at the metadata
 * address refuses the token PUT: the profile answers (it comes first), and
 * without a profile the chain ends with "no credentials found" naming what
 * each source said -- not "credentials source imds: ... 403". */
Test(creds_chain, imds_refusing_the_token_does_not_stop_the_chain, .init = start_with_profile,
     .fini = stop_with_profile)
{
	char cf[128];
	const char *laptop[] = { cf, "AWS_CONFIG_FILE=/nonexistent", NULL };
	const char *bare[] = { "HOME=/nonexistent", NULL };
	hl_creds_config cfg = { .imds_endpoint_override = hl_test_endpoint_url(ep) };
	hl_creds_source s[2];
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	snprintf(cf, sizeof(cf), "AWS_SHARED_CREDENTIALS_FILE=%s", profile_path);
	admin("/_admin/imds", "{\"token_status\": 403}");
	cr_assert_str_eq(chain_source(laptop), "profile");

	/* IMDS first in a hand-built chain: its refusal moves on to the next. */
	s[0] = hl_creds_source_imds(&cfg, laptop);
	s[1] = hl_creds_source_profile(&cfg, laptop);
	p = hl_creds_provider_new(&cfg, s, 2);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->source, "profile");
	hl_creds_unref(c);
	c = NULL;
	hl_creds_provider_free(p);

	p = chain(bare);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CREDENTIALS, "%s", err.message);
	cr_assert_null(c);
	cr_assert(strncmp(err.message, "no credentials found: ", 22) == 0, "%s", err.message);
	cr_assert(strstr(err.message, "(tried environment: AWS_ACCESS_KEY_ID is not set; "
				      "profile: no shared credentials or config file; ecs: ") != NULL,
		  "%s", err.message);
	cr_assert(strstr(err.message, "; imds: instance metadata token request answered HTTP "
				      "403: IMDSv2 is off or refuses this caller (IMDSv1 is never "
				      "tried))") != NULL, "%s", err.message);
	hl_creds_provider_free(p);
	cr_assert_eq(imds_fetches(), 0);
}

/* Without a profile, a failing ECS endpoint stops the chain: it does not
 * fall through to the instance role. */
Test(creds_chain, failing_ecs_does_not_fall_through, .init = start, .fini = stop)
{
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/_ecs/credentials",
			      "HOME=/nonexistent", NULL };
	hl_creds_provider *p = chain(env);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	admin("/_admin/ecs", "{\"fail\": \"500\"}");
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert_eq(err.http_status, 500);
	cr_assert(strstr(err.message, "credentials source ecs: container credentials "
				      "endpoint 127.0.0.1:") != NULL, "%s", err.message);
	cr_assert_eq(imds_fetches(), 0);
	hl_creds_provider_free(p);
}

/* The default chain, driven by the process environment and the test-only
 * HEALER_TEST_ECS_HOST / HEALER_TEST_IMDS_ENDPOINT overrides. */
Test(creds_chain, default_chain_uses_test_overrides, .init = start, .fini = stop)
{
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_PROFILE");
	/* No shared files: a developer's ~/.aws would answer first. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/_ecs/credentials", 1);
	setenv("HEALER_TEST_ECS_HOST", hl_test_endpoint_hostport(ep), 1);
	p = hl_creds_provider_new_default(NULL);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->source, "ecs");
	hl_creds_unref(c);
	hl_creds_provider_free(p);

	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	setenv("HEALER_TEST_IMDS_ENDPOINT", hl_test_endpoint_url(ep), 1);
	p = hl_creds_provider_new_default(NULL);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->source, "imds");
	hl_creds_unref(c);
	hl_creds_provider_free(p);
}
