/* creds.c - reference-counted credentials and the caching provider.
 *
 * An hl_creds is immutable once made; readers hold a reference while they
 * sign, so a refresh can swap in a new set at any time. The last unref wipes
 * the secret and the session token.
 *
 * The provider walks its sources in order (a source answering
 * HL_ERR_NOT_FOUND is "not configured here": the chain moves on; any other
 * failure stops the chain and is reported with the source's name) and caches
 * what it finds. When every source says "not configured", the error lists
 * what each one said, so an operator sees what was tried.
 *
 * The default order is the AWS SDKs' default chain: environment -> shared
 * config/credentials files (the profile, static keys or credential_process)
 * -> container (ECS) credentials -> EC2 instance metadata. botocore builds
 * it that way (botocore/credentials.py, create_credential_resolver:
 * env, assume-role, the profile providers, then container and IMDS), as do
 * the other SDKs (AWS SDKs and Tools Reference Guide, "Understand the
 * credential provider chain" and the SDK-specific chains it links, e.g. the
 * SDK for PHP's defaultProvider and the Rust SDK's DefaultCredentialsChain:
 * env, shared config, web identity, ECS, IMDSv2). Profile before the
 * link-local services means an operator's laptop uses its profile even on a
 * network where something answers at 169.254.169.254; in the ECS container
 * there are no shared files (HOME is /nonexistent), so the profile source
 * answers "not configured" and the chain reaches the task role.
 *
 * State, all under one mutex:
 *
 *   current       the credentials handed out (a reference is taken under the
 *                 lock, so the swap is atomic for readers);
 *   refresh_at    wall-clock ms at which a refresh is due: Expiration minus a
 *                 lead drawn uniformly from [5, 15] min per fetched set, so a
 *                 fleet does not refresh in step (never earlier than half way
 *                 through the set's remaining life, so short-lived sets do
 *                 not cause a refresh on every call);
 *   refreshing    one thread is fetching. The fetch runs WITHOUT the lock;
 *                 other callers keep getting `current` while it is still
 *                 valid, or wait on `cond` when there is nothing valid;
 *   retry_at      after a failed refresh with `current` still valid, the
 *                 next attempt waits a jittered 10-30 s backoff (monotonic);
 *   generation    bumped when a fetch ends, so waiters can tell that the
 *                 refresh they waited for failed and report its error
 *                 instead of starting another fetch each.
 *
 * Sources are only ever called by the refreshing thread, one at a time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/creds.h"
#include "creds_internal.h"

#define REFRESH_LEAD_MIN_MS (5 * 60 * 1000LL)
#define REFRESH_LEAD_MAX_MS (15 * 60 * 1000LL)
#define RETRY_BACKOFF_MIN_MS (10 * 1000LL)
#define RETRY_BACKOFF_MAX_MS (30 * 1000LL)

/* ---- hl_creds -------------------------------------------------------------- */

hl_creds *hl_creds_new(const char *akid, const char *secret, const char *token,
		       int64_t expiration_ms, const char *source)
{
	hl_creds *c;

	if (akid == NULL || secret == NULL)
		return NULL;
	c = hl_xcalloc(1, sizeof(*c));
	atomic_init(&c->refs, 1);
	c->access_key_id = hl_xstrdup(akid);
	c->secret_access_key = hl_xstrdup(secret);
	c->session_token = (token != NULL && token[0] != '\0') ?
				   hl_xstrdup(token) : NULL;
	c->expiration_ms = expiration_ms;
	c->source = source != NULL ? source : "unknown";
	return c;
}

hl_creds *hl_creds_ref(hl_creds *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void hl_creds_unref(hl_creds *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(c->access_key_id);
	hl_free_secret(c->secret_access_key);
	hl_free_secret(c->session_token);
	free(c);
}

/* ---- environment lookup --------------------------------------------------- */

const char *hl_creds_getenv(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return (*envp)[n + 1] != '\0' ? *envp + n + 1 : NULL;
	}
	return NULL;
}

/* ---- the caching provider ------------------------------------------------- */

struct hl_creds_provider {
	const hl_clock *clock;
	hl_creds_source *sources;   /* owned, n entries */
	size_t n;

	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t cond;        /* signalled when a fetch ends */
	hl_creds *current;
	int64_t refresh_at_ms;      /* wall clock */
	int64_t retry_at_ms;        /* monotonic; 0 = no backoff */
	bool refreshing;
	uint64_t generation;
	int last_rc;                /* outcome of the last fetch */
	hl_err last_err;
};

hl_creds_provider *hl_creds_provider_new(const hl_creds_config *cfg,
					 hl_creds_source *sources, size_t n)
{
	hl_creds_provider *p = hl_xcalloc(1, sizeof(*p));

	p->clock = (cfg != NULL && cfg->clock != NULL) ? cfg->clock :
							  hl_clock_system();
	if (n > 0) {
		p->sources = hl_xcalloc(n, sizeof(*sources));
		memcpy(p->sources, sources, n * sizeof(*sources));
	}
	p->n = n;
	if (pthread_mutex_init(&p->lock, NULL) != 0 ||
	    pthread_cond_init(&p->cond, NULL) != 0)
		abort();
	return p;
}

hl_creds_provider *hl_creds_provider_new_chain(const hl_creds_config *cfg,
					   const char *const *envp)
{
	hl_creds_source sources[4];

	/* The SDKs' order (see the top of this file). */
	sources[0] = hl_creds_source_env(envp);
	sources[1] = hl_creds_source_profile(cfg, envp);
	sources[2] = hl_creds_source_ecs(cfg, envp);
	sources[3] = hl_creds_source_imds(cfg, envp);
	return hl_creds_provider_new(cfg, sources, 4);
}

hl_creds_provider *hl_creds_provider_new_default(const hl_creds_config *cfg)
{
	const char *const *envp = (const char *const *)environ;
	hl_creds_config c = { 0 };

	if (cfg != NULL)
		c = *cfg;
	/* Test-only redirections of the link-local endpoints (see creds.h). */
	if (c.ecs_host_override == NULL)
		c.ecs_host_override = hl_creds_getenv(envp, "HEALER_TEST_ECS_HOST");
	if (c.imds_endpoint_override == NULL)
		c.imds_endpoint_override =
			hl_creds_getenv(envp, "HEALER_TEST_IMDS_ENDPOINT");
	return hl_creds_provider_new_chain(&c, envp);
}

void hl_creds_provider_free(hl_creds_provider *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (p->sources[i].destroy != NULL)
			p->sources[i].destroy(p->sources[i].impl);
	}
	free(p->sources);
	hl_creds_unref(p->current);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static bool creds_valid(const hl_creds *c, int64_t now_ms)
{
	return c != NULL && (c->expiration_ms == 0 || now_ms < c->expiration_ms);
}

/* Appends "name: why" to the list of sources tried (truncated to fit). */
static void note_tried(char *tried, size_t cap, size_t *used,
		       const char *name, const char *why)
{
	int n;

	if (*used >= cap - 1)
		return;
	n = snprintf(tried + *used, cap - *used, "%s%s: %.200s",
		     *used > 0 ? "; " : "", name, why);
	if (n > 0)
		*used += (size_t)n < cap - *used ? (size_t)n : cap - 1 - *used;
}

/* Walks the chain. Runs without the provider lock held. */
static int fetch_chain(hl_creds_provider *p, hl_creds **out, hl_err *err)
{
	char tried[600];
	size_t used = 0;
	hl_err e;
	int rc;

	*out = NULL;
	tried[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		hl_creds_source *s = &p->sources[i];

		hl_err_clear(&e);
		rc = s->fetch(s->impl, out, &e);
		if (rc == 0 && *out != NULL)
			return 0;
		if (rc == 0)   /* a source that says yes must give credentials */
			rc = hl_err_set(&e, HL_ERR_INTERNAL, "returned nothing");
		hl_creds_unref(*out);
		*out = NULL;
		if (rc == HL_ERR_NOT_FOUND) {
			note_tried(tried, sizeof(tried), &used, s->name,
				   e.message);
			continue;
		}
		hl_err_set(err, rc, "credentials source %s: %s", s->name,
			   e.message);
		if (err != NULL)
			err->http_status = e.http_status;
		return rc;
	}
	return hl_err_set(err, HL_ERR_CREDENTIALS,
			  "no credentials found: set AWS_ACCESS_KEY_ID, "
			  "configure a profile, or run with a task or instance "
			  "role (tried %s)",
			  used > 0 ? tried : "no source");
}

/* Accepts freshly fetched credentials; called with the lock held. */
static int install(hl_creds_provider *p, hl_creds *fresh, int64_t now_ms,
		   hl_creds **old, hl_err *err)
{
	int64_t exp = fresh->expiration_ms, lead, half;

	if (exp != 0 && exp <= now_ms)
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "credentials source %s returned credentials "
				  "that have already expired",
				  fresh->source);
	if (exp == 0) {
		p->refresh_at_ms = INT64_MAX;
	} else {
		lead = REFRESH_LEAD_MIN_MS +
		       (int64_t)hl_random_below(p->clock,
						REFRESH_LEAD_MAX_MS -
							REFRESH_LEAD_MIN_MS + 1);
		half = now_ms + (exp - now_ms) / 2;
		p->refresh_at_ms = exp - lead > half ? exp - lead : half;
	}
	*old = p->current;
	p->current = fresh;
	p->retry_at_ms = 0;
	return 0;
}

int hl_creds_provider_get(hl_creds_provider *p, hl_creds **out, hl_err *err)
{
	hl_creds *fresh = NULL, *old = NULL, *cur;
	int64_t now;
	uint64_t gen;
	hl_err e;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		now = hl_wall_ms(p->clock);
		cur = p->current;
		if (cur != NULL && now < p->refresh_at_ms &&
		    creds_valid(cur, now)) {
			*out = hl_creds_ref(cur);
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		if (!p->refreshing)
			break;
		if (creds_valid(cur, now)) {   /* someone is refreshing */
			*out = hl_creds_ref(cur);
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		gen = p->generation;
		while (p->refreshing && p->generation == gen)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->generation != gen && p->last_rc < 0 &&
		    !creds_valid(p->current, hl_wall_ms(p->clock))) {
			/* The fetch we waited for failed: report it. */
			rc = p->last_rc;
			if (err != NULL)
				*err = p->last_err;
			pthread_mutex_unlock(&p->lock);
			return rc;
		}
	}
	/* Due for a refresh and nobody is fetching. Within the backoff after a
	 * failed attempt, keep the still-valid credentials. */
	if (creds_valid(cur, now) && p->retry_at_ms != 0 &&
	    hl_mono_ms(p->clock) < p->retry_at_ms) {
		*out = hl_creds_ref(cur);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	p->refreshing = true;
	pthread_mutex_unlock(&p->lock);

	hl_err_clear(&e);
	rc = fetch_chain(p, &fresh, &e);

	pthread_mutex_lock(&p->lock);
	now = hl_wall_ms(p->clock);
	if (rc == 0)
		rc = install(p, fresh, now, &old, &e);
	if (rc == 0) {
		*out = hl_creds_ref(fresh);
	} else {
		hl_creds_unref(fresh);
		p->retry_at_ms = hl_mono_ms(p->clock) + RETRY_BACKOFF_MIN_MS +
				 (int64_t)hl_random_below(
					 p->clock, RETRY_BACKOFF_MAX_MS -
							   RETRY_BACKOFF_MIN_MS + 1);
		if (creds_valid(p->current, now)) {
			/* Keep serving what still works; retry later. */
			*out = hl_creds_ref(p->current);
			rc = 0;
		} else if (err != NULL) {
			*err = e;
		}
	}
	p->refreshing = false;
	p->generation++;
	p->last_rc = rc;
	p->last_err = e;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	hl_creds_unref(old);   /* wiping happens outside the lock */
	return rc;
}
