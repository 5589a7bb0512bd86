/* creds_env.c - credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 * (and optionally AWS_SESSION_TOKEN).
 *
 * The variables are copied when the source is made; fetch hands out a new
 * set that never expires (the provider then never refreshes it). Neither key
 * set means "not configured" (HL_ERR_NOT_FOUND); only one of the pair set is
 * a configuration mistake that stops the chain, naming the missing variable.
 */
#include <stdlib.h>

#include "creds_internal.h"

struct env_source {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
};

static int env_fetch(void *impl, hl_creds **out, hl_err *err)
{
	struct env_source *s = impl;

	*out = NULL;
	if (s->access_key_id == NULL && s->secret_access_key == NULL)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "AWS_ACCESS_KEY_ID is not set");
	if (s->secret_access_key == NULL)
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "AWS_ACCESS_KEY_ID is set but "
				  "AWS_SECRET_ACCESS_KEY is not");
	if (s->access_key_id == NULL)
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "AWS_SECRET_ACCESS_KEY is set but "
				  "AWS_ACCESS_KEY_ID is not");
	*out = hl_creds_new(s->access_key_id, s->secret_access_key,
			    s->session_token, 0, "environment");
	return 0;
}

static void env_destroy(void *impl)
{
	struct env_source *s = impl;

	if (s == NULL)
		return;
	free(s->access_key_id);
	hl_free_secret(s->secret_access_key);
	hl_free_secret(s->session_token);
	free(s);
}

static char *dup_or_null(const char *v)
{
	return v != NULL ? hl_xstrdup(v) : NULL;
}

hl_creds_source hl_creds_source_env(const char *const *envp)
{
	struct env_source *s = hl_xcalloc(1, sizeof(*s));

	s->access_key_id = dup_or_null(hl_creds_getenv(envp, "AWS_ACCESS_KEY_ID"));
	s->secret_access_key =
		dup_or_null(hl_creds_getenv(envp, "AWS_SECRET_ACCESS_KEY"));
	s->session_token = dup_or_null(hl_creds_getenv(envp, "AWS_SESSION_TOKEN"));
	return (hl_creds_source){ .name = "environment",
				  .fetch = env_fetch,
				  .destroy = env_destroy,
				  .impl = s };
}
