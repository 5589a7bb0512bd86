/* test_creds.c - hl_creds, the environment source and the caching provider
 * (chain order, refresh ahead of expiry on a fake clock, failed refreshes,
 * concurrent callers during a refresh).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "healer/creds.h"
#include "../../worker/creds_internal.h"

#define MIN_MS (60 * 1000LL)
#define T0_MS 1700000000000LL

/* ---- fake clock ------------------------------------------------------------ */

struct fake_clock {
	_Atomic int64_t wall_ms;
	_Atomic int64_t mono_ms;
	_Atomic uint64_t random;
};

static int64_t fc_wall(void *ctx) { return atomic_load(&((struct fake_clock *)ctx)->wall_ms); }
static int64_t fc_mono(void *ctx) { return atomic_load(&((struct fake_clock *)ctx)->mono_ms); }
static uint64_t fc_random(void *ctx) { return atomic_load(&((struct fake_clock *)ctx)->random); }
static void fc_sleep(void *ctx, int64_t ms)
{
	struct fake_clock *fc = ctx;
	atomic_fetch_add(&fc->mono_ms, ms);
	atomic_fetch_add(&fc->wall_ms, ms);
}

static struct fake_clock fclock;
static hl_clock test_clock = { fc_wall, fc_mono, fc_sleep, fc_random, &fclock };

static void advance(int64_t ms)
{
	atomic_fetch_add(&fclock.wall_ms, ms);
	atomic_fetch_add(&fclock.mono_ms, ms);
}

static void set_wall(int64_t ms) { atomic_store(&fclock.wall_ms, ms); }

static void reset_clock(void)
{
	atomic_store(&fclock.wall_ms, T0_MS);
	atomic_store(&fclock.mono_ms, 1000000);
	atomic_store(&fclock.random, 0);
}

/* ---- scripted source --------------------------------------------------------- */

struct fake_source {
	const char *name;
	atomic_int calls;
	_Atomic int fail_rc;          /* 0 = succeed */
	_Atomic int64_t lifetime_ms;  /* from the fake wall clock; 0 = never */
	_Atomic int64_t delay_ms;     /* real sleep inside fetch */
	atomic_int in_fetch;          /* concurrent fetches seen (must stay <= 1) */
	atomic_int max_in_fetch;
};

static void real_sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int fake_fetch(void *impl, hl_creds **out, hl_err *err)
{
	struct fake_source *s = impl;
	int n = atomic_fetch_add(&s->calls, 1) + 1;
	int inside = atomic_fetch_add(&s->in_fetch, 1) + 1;
	int rc = atomic_load(&s->fail_rc);
	int64_t life = atomic_load(&s->lifetime_ms);
	char akid[32];

	if (inside > atomic_load(&s->max_in_fetch))
		atomic_store(&s->max_in_fetch, inside);
	if (atomic_load(&s->delay_ms) > 0)
		real_sleep_ms(atomic_load(&s->delay_ms));
	atomic_fetch_sub(&s->in_fetch, 1);
	*out = NULL;
	if (rc != 0)
		return hl_err_set(err, rc, "scripted failure %d", n);
	snprintf(akid, sizeof(akid), "AKID%d", n);
	*out = hl_creds_new(akid, "secret", "token",
			    life ? hl_wall_ms(&test_clock) + life : 0, s->name);
	return 0;
}

static hl_creds_source fake(struct fake_source *s)
{
	return (hl_creds_source){ s->name, fake_fetch, NULL, s };
}

static hl_creds_provider *provider_over(struct fake_source *s)
{
	hl_creds_config cfg = { .clock = &test_clock };
	hl_creds_source src = fake(s);
	return hl_creds_provider_new(&cfg, &src, 1);
}

/* get() that must succeed; returns the access key id's number. */
static int get_n(hl_creds_provider *p)
{
	hl_creds *c = NULL;
	hl_err err = { 0 };
	int rc = hl_creds_provider_get(p, &c, &err), n;

	cr_assert_eq(rc, 0, "get failed: %d %s", rc, err.message);
	cr_assert_not_null(c);
	n = (int)strtol(c->access_key_id + 4, NULL, 10);
	hl_creds_unref(c);
	return n;
}

/* ---- hl_creds ----------------------------------------------------------------- */

Test(creds, new_copies_and_refcounts)
{
	char akid[] = "AKID", secret[] = "SECRET";
	hl_creds *c = hl_creds_new(akid, secret, "", 0, "test");

	akid[0] = 'X';
	secret[0] = 'X';
	cr_assert_str_eq(c->access_key_id, "AKID");
	cr_assert_str_eq(c->secret_access_key, "SECRET");
	cr_assert_null(c->session_token, "empty token is stored as none");
	cr_assert_str_eq(c->source, "test");
	cr_assert_eq(hl_creds_ref(c), c);
	cr_assert_eq(atomic_load(&c->refs), 2);
	hl_creds_unref(c);
	cr_assert_eq(atomic_load(&c->refs), 1);
	hl_creds_unref(c);
	hl_creds_unref(NULL);
	cr_assert_null(hl_creds_ref(NULL));
}

/* ---- environment source ------------------------------------------------------- */

static int fetch_env(const char *const *envp, hl_creds **out, hl_err *err)
{
	hl_creds_source s = hl_creds_source_env(envp);
	int rc = s.fetch(s.impl, out, err);

	s.destroy(s.impl);
	return rc;
}

Test(creds_env, full_set)
{
	const char *env[] = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=sek",
			      "AWS_SESSION_TOKEN=tok", NULL };
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(fetch_env(env, &c, &err), 0);
	cr_assert_str_eq(c->access_key_id, "AKIDENV");
	cr_assert_str_eq(c->secret_access_key, "sek");
	cr_assert_str_eq(c->session_token, "tok");
	cr_assert_eq(c->expiration_ms, 0);
	cr_assert_str_eq(c->source, "environment");
	hl_creds_unref(c);
}

Test(creds_env, without_token)
{
	const char *env[] = { "AWS_SECRET_ACCESS_KEY=sek", "PATH=/bin",
			      "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SESSION_TOKEN=", NULL };
	hl_creds *c = NULL;

	cr_assert_eq(fetch_env(env, &c, NULL), 0);
	cr_assert_null(c->session_token);
	hl_creds_unref(c);
}

Test(creds_env, unset_is_not_found)
{
	const char *env[] = { "AWS_ACCESS_KEY_ID=", "AWS_SESSION_TOKEN=tok", NULL };
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(fetch_env(env, &c, &err), HL_ERR_NOT_FOUND);
	cr_assert_null(c);
	cr_assert_eq(fetch_env(NULL, &c, &err), HL_ERR_NOT_FOUND);
}

Test(creds_env, partial_names_the_missing_variable)
{
	const char *only_id[] = { "AWS_ACCESS_KEY_ID=AKIDENV", NULL };
	const char *only_secret[] = { "AWS_SECRET_ACCESS_KEY=TOPSECRETVALUE", NULL };
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(fetch_env(only_id, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert(strstr(err.message, "AWS_SECRET_ACCESS_KEY is not") != NULL,
		  "%s", err.message);
	cr_assert_eq(fetch_env(only_secret, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert(strstr(err.message, "AWS_ACCESS_KEY_ID is not") != NULL,
		  "%s", err.message);
	cr_assert_null(strstr(err.message, "TOPSECRETVALUE"));
}

/* ---- the chain ----------------------------------------------------------------- */

Test(creds_chain, not_found_moves_on_other_errors_stop, .init = reset_clock)
{
	struct fake_source a = { .name = "first", .fail_rc = HL_ERR_NOT_FOUND };
	struct fake_source b = { .name = "second", .fail_rc = HL_ERR_IO };
	struct fake_source c = { .name = "third" };
	hl_creds_config cfg = { .clock = &test_clock };
	hl_creds_source srcs[] = { fake(&a), fake(&b), fake(&c) };
	hl_creds_provider *p = hl_creds_provider_new(&cfg, srcs, 3);
	hl_creds *cr = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_provider_get(p, &cr, &err), HL_ERR_IO);
	cr_assert_null(cr);
	cr_assert_eq(err.code, HL_ERR_IO);
	cr_assert(strstr(err.message, "second") != NULL, "%s", err.message);
	cr_assert(strstr(err.message, "scripted failure") != NULL, "%s", err.message);
	cr_assert_eq(atomic_load(&c.calls), 0, "a broken source must stop the chain");

	atomic_store(&b.fail_rc, HL_ERR_NOT_FOUND);
	cr_assert_eq(hl_creds_provider_get(p, &cr, &err), 0);
	cr_assert_str_eq(cr->source, "third");
	cr_assert_eq(atomic_load(&a.calls), 2);
	hl_creds_unref(cr);
	hl_creds_provider_free(p);
}

Test(creds_chain, nothing_configured, .init = reset_clock)
{
	struct fake_source a = { .name = "first", .fail_rc = HL_ERR_NOT_FOUND };
	hl_creds_config cfg = { .clock = &test_clock };
	hl_creds_source src = fake(&a);
	hl_creds_provider *p = hl_creds_provider_new(&cfg, &src, 1);
	hl_creds_provider *empty = hl_creds_provider_new(&cfg, NULL, 0);
	hl_creds *cr = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_provider_get(p, &cr, &err), HL_ERR_CREDENTIALS);
	cr_assert(strncmp(err.message, "no credentials found: ", 22) == 0, "%s", err.message);
	cr_assert(strstr(err.message, "(tried first: scripted failure 1)") != NULL, "%s",
		  err.message);
	cr_assert_eq(hl_creds_provider_get(empty, &cr, &err), HL_ERR_CREDENTIALS);
	cr_assert(strstr(err.message, "(tried no source)") != NULL, "%s", err.message);
	hl_creds_provider_free(p);
	hl_creds_provider_free(empty);
	hl_creds_provider_free(NULL);
}

/* The real default chain (hl_creds_provider_new_chain), no network: ECS and
 * IMDS point at a closed port. Env beats everything; then the profile, even
 * with a (broken) ECS configured, as in the AWS SDKs; without a profile a
 * broken ECS stops the chain; with nothing configured the error lists what
 * each source said. */
static const char *profile_file;

static void write_profile(void)
{
	static char path[] = "/tmp/healer-creds-profile-XXXXXX";
	const char *text = "[default]\naws_access_key_id = AKIDPROFILE\n"
			   "aws_secret_access_key = psecret\n";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	profile_file = path;
	reset_clock();
}

static void remove_profile(void) { unlink(profile_file); }

static hl_creds_provider *real_chain(const char **env)
{
	hl_creds_config cfg = { .clock = &test_clock,
				.ecs_host_override = "127.0.0.1:1",
				.imds_endpoint_override = "http://127.0.0.1:1" };

	return hl_creds_provider_new_chain(&cfg, env);
}

Test(creds_chain, env_beats_profile_ecs_imds, .init = write_profile, .fini = remove_profile)
{
	char cf[128];
	const char *env[] = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s",
			      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/creds", cf,
			      "AWS_CONFIG_FILE=/nonexistent", NULL };
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	snprintf(cf, sizeof(cf), "AWS_SHARED_CREDENTIALS_FILE=%s", profile_file);
	p = real_chain(env);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->source, "environment");
	hl_creds_unref(c);
	hl_creds_provider_free(p);
}

Test(creds_chain, profile_beats_ecs_and_imds, .init = write_profile, .fini = remove_profile)
{
	char cf[128];
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/creds", cf,
			      "AWS_CONFIG_FILE=/nonexistent", NULL };
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	snprintf(cf, sizeof(cf), "AWS_SHARED_CREDENTIALS_FILE=%s", profile_file);
	p = real_chain(env);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->source, "profile");
	cr_assert_str_eq(c->access_key_id, "AKIDPROFILE");
	hl_creds_unref(c);
	hl_creds_provider_free(p);
}

/* No shared files (as in the ECS container, HOME=/nonexistent): the profile
 * is "not configured" and a broken ECS stops the chain before IMDS. */
Test(creds_chain, broken_ecs_stops_the_chain, .init = reset_clock)
{
	const char *env[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/creds",
			      "HOME=/nonexistent", NULL };
	hl_creds_provider *p = real_chain(env);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_IO, "%s", err.message);
	cr_assert(strncmp(err.message, "credentials source ecs: ", 24) == 0, "%s",
		  err.message);
	hl_creds_provider_free(p);
}

/* A profile that is asked for by name and is missing is a mistake: the
 * chain stops there (botocore raises ProfileNotFound) instead of quietly
 * using the task or instance role. */
Test(creds_chain, missing_named_profile_stops_the_chain, .init = write_profile,
     .fini = remove_profile)
{
	char cf[128];
	const char *env[] = { "AWS_PROFILE=prod", cf, "AWS_CONFIG_FILE=/nonexistent",
			      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/creds", NULL };
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	snprintf(cf, sizeof(cf), "AWS_SHARED_CREDENTIALS_FILE=%s", profile_file);
	p = real_chain(env);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CONFIG, "%s", err.message);
	cr_assert(strncmp(err.message, "credentials source profile: profile prod (AWS_PROFILE)",
			  54) == 0, "%s", err.message);
	hl_creds_provider_free(p);
}

Test(creds_chain, bad_full_uri_stops_the_chain, .init = reset_clock)
{
	const char *env[] = {
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://evil.example.com/creds",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_CONFIG_FILE=/nonexistent", NULL
	};
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	p = real_chain(env);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CONFIG, "%s", err.message);
	cr_assert(strstr(err.message, "credentials source ecs: ") != NULL, "%s", err.message);
	cr_assert(strstr(err.message, "evil.example.com") != NULL, "%s", err.message);
	hl_creds_provider_free(p);
}

Test(creds_chain, nothing_anywhere_lists_what_was_tried, .init = reset_clock)
{
	const char *env[] = { "HOME=/nonexistent", NULL };
	hl_creds_provider *p = real_chain(env);
	hl_creds *c = NULL;
	hl_err err = { 0 };
	static const char want[] =
		"no credentials found: set AWS_ACCESS_KEY_ID, configure a profile, or run "
		"with a task or instance role (tried environment: AWS_ACCESS_KEY_ID is not "
		"set; profile: no shared credentials or config file; ecs: "
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set; imds: no "
		"instance metadata service at http://127.0.0.1:1 (";

	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CREDENTIALS, "%s", err.message);
	cr_assert_null(c);
	cr_assert(strncmp(err.message, want, strlen(want)) == 0, "%s", err.message);
	cr_assert_eq(err.message[strlen(err.message) - 1], ')');
	hl_creds_provider_free(p);
}

Test(creds_chain, imds_disabled_is_not_found)
{
	const char *env[] = { "AWS_EC2_METADATA_DISABLED=TRUE", NULL };
	hl_creds_config cfg = { .clock = &test_clock,
				.imds_endpoint_override = "http://127.0.0.1:1" };
	hl_creds_source s = hl_creds_source_imds(&cfg, env);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(s.fetch(s.impl, &c, &err), HL_ERR_NOT_FOUND);
	cr_assert(strstr(err.message, "AWS_EC2_METADATA_DISABLED") != NULL, "%s", err.message);
	s.destroy(s.impl);
}

Test(creds_chain, default_chain_reads_the_process_environment)
{
	hl_creds_provider *p;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	p = hl_creds_provider_new_default(NULL);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDFROMENV");
	hl_creds_unref(c);
	hl_creds_provider_free(p);
}

/* ---- refresh ahead of expiry ---------------------------------------------------- */

Test(creds_provider, static_creds_are_fetched_once, .init = reset_clock)
{
	struct fake_source s = { .name = "fake" };
	hl_creds_provider *p = provider_over(&s);

	cr_assert_eq(get_n(p), 1);
	advance(365 * 24 * 60 * MIN_MS);
	cr_assert_eq(get_n(p), 1);
	cr_assert_eq(atomic_load(&s.calls), 1);
	hl_creds_provider_free(p);
}

/* With the largest lead (15 min) the refresh starts exactly at
 * expiration - 15 min; with the smallest (5 min) exactly at - 5 min. */
Test(creds_provider, refresh_window_edges, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .lifetime_ms = 60 * MIN_MS };
	hl_creds_provider *p;
	int64_t exp = T0_MS + 60 * MIN_MS;

	atomic_store(&fclock.random, UINT64_MAX);   /* lead = 5 min + 10 min */
	p = provider_over(&s);
	cr_assert_eq(get_n(p), 1);
	set_wall(exp - 15 * MIN_MS - 1);
	cr_assert_eq(get_n(p), 1, "no refresh before expiration - 15 min");
	set_wall(exp - 15 * MIN_MS);
	cr_assert_eq(get_n(p), 2, "refresh at expiration - 15 min");
	cr_assert_eq(atomic_load(&s.calls), 2);
	hl_creds_provider_free(p);

	reset_clock();
	atomic_store(&s.calls, 0);
	atomic_store(&fclock.random, 0);        /* lead = 5 min */
	p = provider_over(&s);
	cr_assert_eq(get_n(p), 1);
	set_wall(exp - 5 * MIN_MS - 1);
	cr_assert_eq(get_n(p), 1);
	set_wall(exp - 5 * MIN_MS);
	cr_assert_eq(get_n(p), 2);
	hl_creds_provider_free(p);
}

/* Whatever the random draw, nothing refreshes before expiration - 15 min and
 * everything has refreshed by expiration - 5 min; the draws spread. */
Test(creds_provider, refresh_lead_is_jittered_within_5_to_15_min, .init = reset_clock)
{
	static const uint64_t draws[] = { 0, 1, 12345, 299999, 300000, 599999,
					  600000, 600001, 0x9e3779b97f4a7c15ULL,
					  UINT64_MAX };
	int64_t min_seen = INT64_MAX, max_seen = 0;

	for (size_t i = 0; i < sizeof(draws) / sizeof(*draws); i++) {
		struct fake_source s = { .name = "fake", .lifetime_ms = 60 * MIN_MS };
		hl_creds_provider *p;
		int64_t exp = T0_MS + 60 * MIN_MS, t;

		reset_clock();
		atomic_store(&fclock.random, draws[i]);
		p = provider_over(&s);
		cr_assert_eq(get_n(p), 1);
		for (t = exp - 15 * MIN_MS - 1000; t <= exp - 5 * MIN_MS; t += 1000) {
			set_wall(t);
			if (get_n(p) == 2)
				break;
		}
		cr_assert_geq(t, exp - 15 * MIN_MS, "draw %zu refreshed too early", i);
		cr_assert_leq(t, exp - 5 * MIN_MS, "draw %zu never refreshed", i);
		min_seen = t < min_seen ? t : min_seen;
		max_seen = t > max_seen ? t : max_seen;
		hl_creds_provider_free(p);
	}
	cr_assert_geq(max_seen - min_seen, 9 * MIN_MS, "leads do not spread");
}

Test(creds_provider, short_lived_creds_refresh_at_half_life, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .lifetime_ms = 2 * MIN_MS };
	hl_creds_provider *p = provider_over(&s);

	cr_assert_eq(get_n(p), 1);
	cr_assert_eq(get_n(p), 1, "a 2-minute credential is not refetched on every call");
	advance(MIN_MS - 1);
	cr_assert_eq(get_n(p), 1);
	advance(1);
	cr_assert_eq(get_n(p), 2);
	hl_creds_provider_free(p);
}

Test(creds_provider, failed_refresh_keeps_valid_creds_then_backs_off, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .lifetime_ms = 60 * MIN_MS };
	hl_creds_provider *p = provider_over(&s);
	int64_t exp = T0_MS + 60 * MIN_MS;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(get_n(p), 1);
	atomic_store(&s.fail_rc, HL_ERR_IO);
	set_wall(exp - 4 * MIN_MS);
	cr_assert_eq(get_n(p), 1, "old creds kept while still valid");
	cr_assert_eq(atomic_load(&s.calls), 2);
	cr_assert_eq(get_n(p), 1);
	cr_assert_eq(atomic_load(&s.calls), 2, "no retry inside the backoff");
	advance(9999);
	cr_assert_eq(get_n(p), 1);
	cr_assert_eq(atomic_load(&s.calls), 2, "backoff is at least 10 s");
	advance(30 * 1000 - 9999);
	cr_assert_eq(get_n(p), 1);
	cr_assert_eq(atomic_load(&s.calls), 3, "retried after at most 30 s");

	/* Expired and the source still fails: the error comes through. */
	set_wall(exp);
	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_IO);
	cr_assert_null(c);
	cr_assert(strstr(err.message, "credentials source fake: scripted failure") != NULL,
		  "%s", err.message);

	atomic_store(&s.fail_rc, 0);
	cr_assert_eq(get_n(p), 5, "recovers as soon as the source does");
	hl_creds_provider_free(p);
}

static int expired_fetch(void *impl, hl_creds **out, hl_err *err)
{
	(void)impl;
	(void)err;
	*out = hl_creds_new("AKIDOLD", "s", NULL, hl_wall_ms(&test_clock) - 1, "stale");
	return 0;
}

Test(creds_provider, already_expired_creds_are_rejected, .init = reset_clock)
{
	hl_creds_config cfg = { .clock = &test_clock };
	hl_creds_source src = { "stale", expired_fetch, NULL, NULL };
	hl_creds_provider *p = hl_creds_provider_new(&cfg, &src, 1);
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_provider_get(p, &c, &err), HL_ERR_CREDENTIALS);
	cr_assert(strstr(err.message, "already expired") != NULL, "%s", err.message);
	hl_creds_provider_free(p);
}

/* ---- concurrency ---------------------------------------------------------------- */

#define THREADS 16

struct worker_arg {
	hl_creds_provider *p;
	int rc;
	int n;
	bool valid;
};

static void *worker(void *argp)
{
	struct worker_arg *a = argp;
	hl_creds *c = NULL;
	hl_err err = { 0 };

	a->rc = hl_creds_provider_get(a->p, &c, &err);
	if (a->rc == 0) {
		a->n = (int)strtol(c->access_key_id + 4, NULL, 10);
		a->valid = c->expiration_ms == 0 ||
			   hl_wall_ms(&test_clock) < c->expiration_ms;
		hl_creds_unref(c);
	}
	return NULL;
}

static void run_threads(hl_creds_provider *p, struct worker_arg *args)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ .p = p };
		cr_assert_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

Test(creds_provider, concurrent_first_get_fetches_once, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .lifetime_ms = 60 * MIN_MS,
				 .delay_ms = 200 };
	hl_creds_provider *p = provider_over(&s);
	struct worker_arg args[THREADS];

	run_threads(p, args);
	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(args[i].rc, 0);
		cr_assert_eq(args[i].n, 1);
		cr_assert(args[i].valid);
	}
	cr_assert_eq(atomic_load(&s.calls), 1);
	cr_assert_eq(atomic_load(&s.max_in_fetch), 1);
	hl_creds_provider_free(p);
}

Test(creds_provider, concurrent_gets_during_refresh_keep_valid_creds, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .lifetime_ms = 60 * MIN_MS };
	hl_creds_provider *p = provider_over(&s);
	struct worker_arg args[THREADS];

	cr_assert_eq(get_n(p), 1);
	atomic_store(&s.delay_ms, 300);
	set_wall(T0_MS + 57 * MIN_MS);   /* inside every refresh window */
	run_threads(p, args);
	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(args[i].rc, 0);
		cr_assert(args[i].n == 1 || args[i].n == 2);
		cr_assert(args[i].valid);
	}
	cr_assert_eq(atomic_load(&s.calls), 2, "exactly one refresh");
	cr_assert_eq(atomic_load(&s.max_in_fetch), 1);
	cr_assert_eq(get_n(p), 2);
	hl_creds_provider_free(p);
}

Test(creds_provider, concurrent_waiters_share_a_failed_fetch, .init = reset_clock)
{
	struct fake_source s = { .name = "fake", .fail_rc = HL_ERR_TIMEOUT,
				 .delay_ms = 300 };
	hl_creds_provider *p = provider_over(&s);
	struct worker_arg args[THREADS];

	run_threads(p, args);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(args[i].rc, HL_ERR_TIMEOUT);
	cr_assert_lt(atomic_load(&s.calls), THREADS,
		     "waiters report the fetch they waited for");
	cr_assert_eq(atomic_load(&s.max_in_fetch), 1);
	hl_creds_provider_free(p);
}
