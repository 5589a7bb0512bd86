/* creds_profile.c - credentials from the shared AWS files, the way the AWS
 * CLI reads them.
 *
 * Files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections
 * named after the profile) and AWS_CONFIG_FILE (default ~/.aws/config,
 * sections `[profile NAME]`, except `[default]`); a leading "~/" is expanded.
 * The profile is AWS_PROFILE, else "default". Both files are read afresh on
 * every fetch (an expiring credential_process result is refetched through
 * here) and wiped after parsing.
 *
 * What the profile yields, in botocore's order:
 *   1. aws_access_key_id / aws_secret_access_key (/ aws_session_token) from
 *      the credentials file;
 *   2. credential_process (credentials file first, then config file), run
 *      by worker/creds_process.c;
 *   3. the static keys from the config file.
 * Outcomes: no file at all, or no `default` profile when none was asked for
 * (or one without credentials) -> HL_ERR_NOT_FOUND: the chain moves on to
 * ECS and IMDS (this source comes second, as in the AWS SDKs; in the ECS
 * container there are no files). Configured but wrong stops the chain
 * there, as botocore does: AWS_PROFILE naming a profile found
 * in neither file -> HL_ERR_CONFIG naming it; half a key pair ->
 * HL_ERR_CREDENTIALS naming the missing key; a profile that relies on a
 * feature this chain does not support (role_arn, SSO, web identity) ->
 * HL_ERR_CONFIG naming the feature.
 *
 * The INI reader follows Python's configparser as botocore uses it; see
 * hl_creds_ini_parse in creds_internal.h for the exact rules.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "creds_internal.h"

#define PROFILE_MAX_FILE_BYTES (1024 * 1024)

/* ---- INI ------------------------------------------------------------------ */

struct ini_entry {
	char *key;
	char *value;   /* may be a secret: wiped on free */
};

struct ini_section {
	char *name;
	struct ini_entry *entries;
	size_t n, cap;
};

struct hl_ini {
	struct ini_section *sections;
	size_t n, cap;
};

void hl_creds_ini_free(hl_ini *ini)
{
	if (ini == NULL)
		return;
	for (size_t i = 0; i < ini->n; i++) {
		struct ini_section *s = &ini->sections[i];
		for (size_t j = 0; j < s->n; j++) {
			free(s->entries[j].key);
			hl_free_secret(s->entries[j].value);
		}
		free(s->entries);
		free(s->name);
	}
	free(ini->sections);
	free(ini);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* Trims [*s, *s + *n) of blanks on both sides. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static void add_section(hl_ini *ini, const char *name, size_t n)
{
	if (ini->n == ini->cap) {
		ini->cap = ini->cap != 0 ? ini->cap * 2 : 8;
		ini->sections = hl_xrealloc(ini->sections,
					    ini->cap * sizeof(*ini->sections));
	}
	ini->sections[ini->n++] = (struct ini_section){
		.name = hl_xstrndup(name, n),
	};
}

static void add_entry(struct ini_section *s, const char *key, size_t kn,
		      const char *value, size_t vn)
{
	char *k;

	if (s->n == s->cap) {
		s->cap = s->cap != 0 ? s->cap * 2 : 8;
		s->entries = hl_xrealloc(s->entries,
					 s->cap * sizeof(*s->entries));
	}
	k = hl_xstrndup(key, kn);
	for (char *p = k; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	s->entries[s->n++] = (struct ini_entry){
		.key = k,
		.value = hl_xstrndup(value, vn),
	};
}

/* One line (without its terminator). *key_indent is the indentation of the
 * last key line, or -1 when a continuation is not possible. */
static int parse_line(hl_ini *ini, const char *line, size_t n, int lineno,
		      long *key_indent, hl_err *err)
{
	const char *s = line, *close, *delim;
	size_t indent = 0, len = n;

	while (indent < n && is_blank(line[indent]))
		indent++;
	trim(&s, &len);
	if (len == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (*key_indent >= 0 && (long)indent > *key_indent)
		return 0;   /* continuation of the previous value */
	if (s[0] == '[') {
		close = NULL;
		for (size_t i = len; i > 1; i--) {
			if (s[i - 1] == ']') {
				close = s + i - 1;
				break;
			}
		}
		if (close != NULL) {
			const char *name = s + 1;
			size_t nn = (size_t)(close - name);
			trim(&name, &nn);
			if (nn > 0 && memchr(name, '\0', nn) == NULL) {
				add_section(ini, name, nn);
				*key_indent = -1;
				return 0;
			}
		}
	}
	delim = NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=' || s[i] == ':') {
			delim = s + i;
			break;
		}
	}
	if (delim == NULL || delim == s || memchr(s, '\0', len) != NULL)
		return hl_err_set(err, HL_ERR_PARSE,
				  "line %d: expected [section] or key = value",
				  lineno);
	if (ini->n == 0)
		return hl_err_set(err, HL_ERR_PARSE,
				  "line %d: key before any [section]", lineno);
	{
		const char *key = s, *value = delim + 1;
		size_t kn = (size_t)(delim - s), vn = len - kn - 1;

		trim(&key, &kn);
		trim(&value, &vn);
		if (kn == 0)
			return hl_err_set(err, HL_ERR_PARSE,
					  "line %d: empty key", lineno);
		add_entry(&ini->sections[ini->n - 1], key, kn, value, vn);
	}
	*key_indent = (long)indent;
	return 0;
}

int hl_creds_ini_parse(const char *text, size_t len, hl_ini **out, hl_err *err)
{
	hl_ini *ini = hl_xcalloc(1, sizeof(*ini));
	const char *p = text, *end = text + len, *eol;
	long key_indent = -1;
	int lineno = 0, rc = 0;
	size_t n;

	*out = NULL;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;   /* UTF-8 byte order mark */
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		HL_GUARD_GOTO(rc, parse_line(ini, p, n, lineno, &key_indent, err),
			      out);
		p = eol != NULL ? eol + 1 : end;
	}
out:
	if (rc < 0) {
		hl_creds_ini_free(ini);
		return rc;
	}
	*out = ini;
	return 0;
}

bool hl_creds_ini_has_section(const hl_ini *ini, const char *section)
{
	for (size_t i = 0; ini != NULL && i < ini->n; i++) {
		if (strcmp(ini->sections[i].name, section) == 0)
			return true;
	}
	return false;
}

/* Latest value of key in any section for which match() holds. */
static const char *ini_find(const hl_ini *ini,
			    bool (*match)(const char *section, const char *arg),
			    const char *arg, const char *key)
{
	for (size_t i = ini != NULL ? ini->n : 0; i > 0; i--) {
		const struct ini_section *s = &ini->sections[i - 1];

		if (!match(s->name, arg))
			continue;
		for (size_t j = s->n; j > 0; j--) {
			if (strcmp(s->entries[j - 1].key, key) == 0)
				return s->entries[j - 1].value;
		}
	}
	return NULL;
}

static bool match_exact(const char *section, const char *name)
{
	return strcmp(section, name) == 0;
}

/* Config-file sections: "profile NAME" (botocore shlex-splits it, so the
 * name may be quoted and the separator any run of blanks), and "default". */
static bool match_config(const char *section, const char *profile)
{
	const char *name;
	size_t n;

	if (strcmp(profile, "default") == 0 && strcmp(section, "default") == 0)
		return true;
	if (strncmp(section, "profile", 7) != 0 || !is_blank(section[7]))
		return false;
	name = section + 8;
	n = strlen(name);
	trim(&name, &n);
	if (n >= 2 && (name[0] == '"' || name[0] == '\'') &&
	    name[n - 1] == name[0]) {
		name++;
		n -= 2;
	}
	return n == strlen(profile) && memcmp(name, profile, n) == 0;
}

const char *hl_creds_ini_get(const hl_ini *ini, const char *section,
			     const char *key)
{
	return ini_find(ini, match_exact, section, key);
}

static bool any_section(const hl_ini *ini,
			bool (*match)(const char *section, const char *arg),
			const char *arg)
{
	for (size_t i = 0; ini != NULL && i < ini->n; i++) {
		if (match(ini->sections[i].name, arg))
			return true;
	}
	return false;
}

void hl_creds_profile_lookup(const hl_ini *credentials, const hl_ini *config,
			     const char *profile, hl_creds_profile *out)
{
	static const char *const unsupported[] = {
		"role_arn", "sso_session", "sso_start_url",
		"web_identity_token_file", "credential_source",
	};
	const char *akid, *secret;

	memset(out, 0, sizeof(*out));
	out->found = any_section(credentials, match_exact, profile) ||
		     any_section(config, match_config, profile);
	akid = ini_find(credentials, match_exact, profile, "aws_access_key_id");
	secret = ini_find(credentials, match_exact, profile,
			  "aws_secret_access_key");
	if (akid != NULL || secret != NULL) {
		out->access_key_id = akid;
		out->secret_access_key = secret;
		out->session_token = ini_find(credentials, match_exact, profile,
					      "aws_session_token");
		out->static_from_credentials_file = true;
	} else {
		out->access_key_id = ini_find(config, match_config, profile,
					      "aws_access_key_id");
		out->secret_access_key = ini_find(config, match_config, profile,
						  "aws_secret_access_key");
		out->session_token = ini_find(config, match_config, profile,
					      "aws_session_token");
	}
	out->credential_process = ini_find(credentials, match_exact, profile,
					   "credential_process");
	if (out->credential_process == NULL)
		out->credential_process = ini_find(config, match_config, profile,
						   "credential_process");
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++) {
		if (ini_find(credentials, match_exact, profile, unsupported[i]) ||
		    ini_find(config, match_config, profile, unsupported[i])) {
			out->unsupported = unsupported[i];
			break;
		}
	}
}

/* ---- the source ----------------------------------------------------------- */

struct profile_source {
	char *credentials_path;   /* NULL when no home directory is known */
	char *config_path;
	char *profile;
	bool profile_named;       /* AWS_PROFILE was set */
	int64_t process_timeout_ms;
};

/* Reads a whole file. A missing file leaves *ini NULL and is no error. */
static int load_ini(const char *path, hl_ini **ini, hl_err *err)
{
	hl_buf b;
	char chunk[4096];
	ssize_t n;
	int fd, rc = 0;
	hl_err e;

	*ini = NULL;
	if (path == NULL)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (fd < 0)
		return hl_err_set(err, HL_ERR_CONFIG, "cannot read %.300s: %s",
				  path, strerror(errno));
	hl_buf_init(&b, PROFILE_MAX_FILE_BYTES);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG,
					"cannot read %.300s: %s", path,
					strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (hl_buf_append(&b, chunk, (size_t)n) < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG,
					"%.300s is larger than %d bytes", path,
					PROFILE_MAX_FILE_BYTES);
			break;
		}
	}
	close(fd);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc == 0) {
		hl_err_clear(&e);
		rc = hl_creds_ini_parse(b.data != NULL ? b.data : "", b.len, ini,
					&e);
		if (rc < 0)
			hl_err_set(err, rc, "%.300s: %s", path, e.message);
	}
	hl_buf_free_secret(&b);
	return rc;
}

static const char *shown_path(const char *path)
{
	return path != NULL ? path : "(no file)";
}

static int static_creds(const struct profile_source *s,
			const hl_creds_profile *pr, const char *file,
			hl_creds **out, hl_err *err)
{
	if (pr->access_key_id == NULL)
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "profile %s in %.300s sets "
				  "aws_secret_access_key but not "
				  "aws_access_key_id",
				  s->profile, file);
	if (pr->secret_access_key == NULL)
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "profile %s in %.300s sets aws_access_key_id "
				  "but not aws_secret_access_key",
				  s->profile, file);
	*out = hl_creds_new(pr->access_key_id, pr->secret_access_key,
			    pr->session_token, 0, "profile");
	return 0;
}

static int resolve(const struct profile_source *s, const hl_ini *cred,
		   const hl_ini *conf, hl_creds **out, hl_err *err)
{
	hl_creds_profile pr;
	hl_err e;
	int rc;

	hl_creds_profile_lookup(cred, conf, s->profile, &pr);
	if (!pr.found && s->profile_named)
		return hl_err_set(err, HL_ERR_CONFIG,
				  "profile %s (AWS_PROFILE) is in neither "
				  "%.300s nor %.300s",
				  s->profile, shown_path(s->credentials_path),
				  shown_path(s->config_path));
	if (!pr.found)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "no [default] profile in the shared files");
	if (pr.static_from_credentials_file)
		return static_creds(s, &pr, shown_path(s->credentials_path),
				    out, err);
	if (pr.credential_process != NULL) {
		hl_err_clear(&e);
		rc = hl_creds_run_process(pr.credential_process,
					  s->process_timeout_ms, out, &e);
		if (rc < 0)
			hl_err_set(err, rc, "profile %s: %s", s->profile,
				   e.message);
		return rc;
	}
	if (pr.access_key_id != NULL || pr.secret_access_key != NULL)
		return static_creds(s, &pr, shown_path(s->config_path), out,
				    err);
	if (pr.unsupported != NULL)
		return hl_err_set(err, HL_ERR_CONFIG,
				  "profile %s uses %s, which healer does not "
				  "support: use static keys or credential_process",
				  s->profile, pr.unsupported);
	if (!s->profile_named)
		return hl_err_set(err, HL_ERR_NOT_FOUND,
				  "profile default has no credentials");
	return hl_err_set(err, HL_ERR_CREDENTIALS,
			  "profile %s has no credentials", s->profile);
}

static int profile_fetch(void *impl, hl_creds **out, hl_err *err)
{
	struct profile_source *s = impl;
	hl_ini *cred = NULL, *conf = NULL;
	int rc;

	*out = NULL;
	HL_GUARD_GOTO(rc, load_ini(s->credentials_path, &cred, err), out);
	HL_GUARD_GOTO(rc, load_ini(s->config_path, &conf, err), out);
	if (cred == NULL && conf == NULL) {
		rc = hl_err_set(err, HL_ERR_NOT_FOUND,
				"no shared credentials or config file");
		goto out;
	}
	rc = resolve(s, cred, conf, out, err);
out:
	hl_creds_ini_free(cred);
	hl_creds_ini_free(conf);
	return rc;
}

static void profile_destroy(void *impl)
{
	struct profile_source *s = impl;

	if (s == NULL)
		return;
	free(s->credentials_path);
	free(s->config_path);
	free(s->profile);
	free(s);
}

/* $HOME, else the password database; NULL if neither knows. */
static char *home_dir(const char *const *envp)
{
	const char *home = hl_creds_getenv(envp, "HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (home != NULL)
		return hl_xstrdup(home);
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && pw.pw_dir != NULL && pw.pw_dir[0] != '\0')
		return hl_xstrdup(pw.pw_dir);
	return NULL;
}

static char *file_path(const char *const *envp, const char *var,
		       const char *default_rel, const char *home)
{
	const char *v = hl_creds_getenv(envp, var);

	if (v == NULL)
		return home != NULL ? hl_xasprintf("%s/%s", home, default_rel) :
				      NULL;
	if (v[0] == '~' && (v[1] == '/' || v[1] == '\0'))
		return home != NULL ? hl_xasprintf("%s%s", home, v + 1) : NULL;
	return hl_xstrdup(v);
}

hl_creds_source hl_creds_source_profile(const hl_creds_config *cfg,
					const char *const *envp)
{
	struct profile_source *s = hl_xcalloc(1, sizeof(*s));
	const char *profile = hl_creds_getenv(envp, "AWS_PROFILE");
	char *home = home_dir(envp);

	(void)cfg;
	s->credentials_path = file_path(envp, "AWS_SHARED_CREDENTIALS_FILE",
					".aws/credentials", home);
	s->config_path = file_path(envp, "AWS_CONFIG_FILE", ".aws/config", home);
	s->profile = hl_xstrdup(profile != NULL ? profile : "default");
	s->profile_named = profile != NULL;
	s->process_timeout_ms = HL_CREDS_PROCESS_TIMEOUT_MS;
	free(home);
	return (hl_creds_source){ .name = "profile",
				  .fetch = profile_fetch,
				  .destroy = profile_destroy,
				  .impl = s };
}
