/* creds_internal.h - pieces of the credentials chain shared between
 * worker/creds*.c and callable directly from unit tests and fuzzers.
 *
 * Not part of the public surface (include/healer/creds.h is). Three kinds of
 * things live here:
 *   - the source constructors the default chain is built from, and the
 *     chain itself (hl_creds_provider_new_chain). Each copies what it needs
 *     from an environment array ("NAME=value" strings, NULL terminated:
 *     `environ` in the worker, a literal array in tests) at construction,
 *     so nothing reads the process environment at fetch time;
 *   - the document parsers (ECS, IMDS, credential_process output, INI files,
 *     profile lookup, command-line splitting): pure functions of their input,
 *     for tests and libFuzzer targets;
 *   - the credential_process runner.
 *
 * Threading: a source's fetch is only ever called by the provider's single
 * refreshing thread (see worker/creds.c), so sources keep per-source state
 * (an hl_http handle, the cached IMDS token) without a lock.
 */
#ifndef HEALER_CREDS_INTERNAL_H
#define HEALER_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/common.h"
#include "healer/creds.h"

/* Largest credentials document or credential_process output accepted. */
#define HL_CREDS_MAX_DOCUMENT_BYTES (64 * 1024)
/* Default time limit for a credential_process run. */
#define HL_CREDS_PROCESS_TIMEOUT_MS 30000

/* Value of NAME in envp, or NULL when unset or empty (the AWS SDKs treat an
 * empty variable as unset). envp may be NULL. */
const char *hl_creds_getenv(const char *const *envp, const char *name);

/* ---- sources (each file's constructor; they cannot fail) ---------------- */

/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
hl_creds_source hl_creds_source_env(const char *const *envp);
/* ECS/EKS container credentials (RELATIVE_URI or FULL_URI). */
hl_creds_source hl_creds_source_ecs(const hl_creds_config *cfg,
				    const char *const *envp);
/* EC2 instance metadata, IMDSv2 only. */
hl_creds_source hl_creds_source_imds(const hl_creds_config *cfg,
				     const char *const *envp);
/* Shared credentials/config files: static keys or credential_process. */
hl_creds_source hl_creds_source_profile(const hl_creds_config *cfg,
					const char *const *envp);

/* The default chain (environment, profile, ECS, IMDS: the AWS SDKs' order,
 * see worker/creds.c) over an explicit environment array and cfg as given
 * (no HEALER_TEST_* lookups). hl_creds_provider_new_default is this over
 * `environ`; tests call it to check the real order. */
hl_creds_provider *hl_creds_provider_new_chain(const hl_creds_config *cfg,
					   const char *const *envp);

/* Checks AWS_CONTAINER_CREDENTIALS_FULL_URI: https to any host, or http to
 * a loopback host (127.0.0.0/8, ::1, localhost) or an ECS/EKS agent address
 * (169.254.170.2, 169.254.170.23, fd00:ec2::23). Anything else, or not a
 * URL, is HL_ERR_CONFIG naming the host. */
int hl_creds_check_full_uri(const char *uri, hl_err *err) HL_MUST_CHECK;

/* ---- document parsers ---------------------------------------------------- */

/* ECS container credentials document:
 * {"AccessKeyId","SecretAccessKey","Token","Expiration"}. A missing, empty or
 * non-string field, or a bad date, is HL_ERR_PARSE naming the field. */
int hl_creds_parse_ecs_document(const char *json, size_t len, hl_creds **out,
				hl_err *err) HL_MUST_CHECK;

/* IMDS security-credentials document: as ECS plus "Code" == "Success"
 * (another Code is HL_ERR_CREDENTIALS naming it). */
int hl_creds_parse_imds_document(const char *json, size_t len, hl_creds **out,
				 hl_err *err) HL_MUST_CHECK;

/* credential_process output: {"Version": 1, "AccessKeyId",
 * "SecretAccessKey", "SessionToken"?, "Expiration"?}. Version other than 1
 * and bad fields are HL_ERR_PARSE naming the field. */
int hl_creds_parse_process_output(const char *json, size_t len, hl_creds **out,
				  hl_err *err) HL_MUST_CHECK;

/* A parsed INI file, read the way the AWS CLI (Python's configparser) reads
 * ~/.aws/credentials and ~/.aws/config: `[section]` headers (the text between
 * the first '[' and the last ']'), `key = value` or `key: value`, keys
 * lowercased, keys and values trimmed, full-line comments starting with '#'
 * or ';', no inline comments, lines indented deeper than the previous key are
 * its continuation (nested settings such as `s3 =`) and are skipped. A line
 * that is none of these, or a key before any section, is HL_ERR_PARSE with
 * the line number. Values are wiped when freed. */
typedef struct hl_ini hl_ini;

int hl_creds_ini_parse(const char *text, size_t len, hl_ini **out,
		       hl_err *err) HL_MUST_CHECK;
void hl_creds_ini_free(hl_ini *ini);   /* accepts NULL */
bool hl_creds_ini_has_section(const hl_ini *ini, const char *section);
/* Value of key (lowercase) in section, or NULL. A section or key that
 * appears twice: the later one wins. */
const char *hl_creds_ini_get(const hl_ini *ini, const char *section,
			     const char *key);

/* What one profile says about credentials, after merging the two files.
 * Pointers borrow from the hl_ini objects. */
typedef struct hl_creds_profile {
	bool found;                    /* in either file */
	/* Static keys, from the credentials file if it has any, else from the
	 * config file (never mixed between files). */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	bool static_from_credentials_file;
	const char *credential_process;/* credentials file wins */
	const char *unsupported;       /* e.g. "role_arn" when only that is set */
} hl_creds_profile;

/* Looks profile up in the credentials file (section NAME) and the config
 * file (section "profile NAME", or "default" for the default profile).
 * Either ini may be NULL. */
void hl_creds_profile_lookup(const hl_ini *credentials, const hl_ini *config,
			     const char *profile, hl_creds_profile *out);

/* Splits a command line the way Python's shlex.split (POSIX mode) does, as
 * the AWS CLI does for credential_process, without a shell: whitespace
 * separates words; '...' is literal; inside "..." a backslash escapes only
 * '"' and '\'; outside quotes a backslash escapes any character. Unbalanced
 * quotes, a trailing backslash or an empty command are HL_ERR_CONFIG.
 * *argv_out is NULL-terminated; free it with hl_creds_argv_free. */
int hl_creds_split_command_line(const char *line, char ***argv_out,
				size_t *argc_out, hl_err *err) HL_MUST_CHECK;
void hl_creds_argv_free(char **argv);  /* accepts NULL */

/* Runs a credential_process command line (split as above, executed with
 * posix_spawnp in its own process group, stdin /dev/null), captures stdout
 * (at most HL_CREDS_MAX_DOCUMENT_BYTES) and parses it. On timeout the process
 * group is killed (HL_ERR_TIMEOUT); a non-zero exit is HL_ERR_CREDENTIALS
 * with the exit status and the first line of stderr. */
int hl_creds_run_process(const char *command_line, int64_t timeout_ms,
			 hl_creds **out, hl_err *err) HL_MUST_CHECK;

#endif
