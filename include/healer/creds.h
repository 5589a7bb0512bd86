/* creds.h - AWS credentials and the provider chain.
 *
 * hl_creds is immutable and reference-counted: readers take a reference
 * under a short lock and sign with it while a refresh swaps in a new one.
 * Secrets are wiped when the last reference goes.
 *
 * Chain (first that yields), the AWS SDKs' default order: environment ->
 * shared credentials/config file (static keys or credential_process) ->
 * ECS container credentials -> EC2 IMDSv2. Each source is an hl_creds_source
 * (a small struct of function pointers, one file each: worker/creds_env.c,
 * creds_profile.c, creds_ecs.c, creds_imds.c). The caching provider refreshes ahead of
 * Expiration (5-15 min, jittered) and is safe to call from any thread.
 */
#ifndef HEALER_CREDS_H
#define HEALER_CREDS_H

#include <stdatomic.h>
#include <stdint.h>

#include "healer/clock.h"
#include "healer/common.h"

typedef struct hl_creds {
	atomic_int refs;
	char *access_key_id;
	char *secret_access_key;
	char *session_token;      /* NULL when none */
	int64_t expiration_ms;    /* wall-clock ms; 0 = does not expire */
	const char *source;       /* static string: "environment", "ecs", ... */
} hl_creds;

/* Makes a new reference-counted credential set (copies the strings). */
hl_creds *hl_creds_new(const char *akid, const char *secret, const char *token,
		       int64_t expiration_ms, const char *source);
hl_creds *hl_creds_ref(hl_creds *c);
void hl_creds_unref(hl_creds *c);   /* accepts NULL; wipes on last ref */

/* One credential source. fetch returns 0 with *out set, HL_ERR_NOT_FOUND
 * when the source is not configured (the chain moves on), or another
 * negative status when it is configured but failed (the chain stops and
 * reports it: a broken ECS endpoint must not silently fall through to the
 * instance role). */
typedef struct hl_creds_source {
	const char *name;
	int (*fetch)(void *impl, hl_creds **out, hl_err *err);
	void (*destroy)(void *impl);
	void *impl;
} hl_creds_source;

/* Settings read from the environment; tests may fill them directly. */
typedef struct hl_creds_config {
	const hl_clock *clock;
	/* Overrides for the link-local hosts, for tests only (NULL = AWS's):
	 * HEALER_TEST_ECS_HOST, HEALER_TEST_IMDS_ENDPOINT. */
	const char *ecs_host_override;     /* replaces 169.254.170.2 */
	const char *imds_endpoint_override;/* replaces http://169.254.169.254 */
} hl_creds_config;

typedef struct hl_creds_provider hl_creds_provider;

/* Builds the default chain from the process environment (read once, here;
 * call it before starting threads that might setenv). NULL overrides in cfg
 * are filled from HEALER_TEST_ECS_HOST / HEALER_TEST_IMDS_ENDPOINT. */
hl_creds_provider *hl_creds_provider_new_default(const hl_creds_config *cfg);
/* Builds a caching provider over explicit sources, tried in order. The
 * array is copied; each source's impl is owned by the provider from here on
 * (destroy is called by hl_creds_provider_free). cfg may be NULL (system
 * clock). A source's fetch is only ever called by one thread at a time. */
hl_creds_provider *hl_creds_provider_new(const hl_creds_config *cfg,
					 hl_creds_source *sources, size_t n);
/* Accepts NULL. No hl_creds_provider_get may be running or start. References
 * already handed out stay valid. */
void hl_creds_provider_free(hl_creds_provider *p);

/* Current credentials (a new reference the caller unrefs). Refreshes when
 * missing or within the jittered refresh window of expiry; if a refresh
 * fails but the old credentials have not expired, returns the old ones and
 * retries no sooner than 10-30 s later. Thread-safe; only one thread
 * refreshes at a time (others keep the still-valid set, or wait for the
 * refresh and share its outcome) and no lock is held during network I/O.
 * Errors carry the failing source's name: "credentials source ecs: ...". */
int hl_creds_provider_get(hl_creds_provider *p, hl_creds **out,
			  hl_err *err) HL_MUST_CHECK;

#endif
