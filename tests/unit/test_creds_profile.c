/* test_creds_profile.c - the shared-file source and credential_process, on
 * files and small shell scripts written to a temporary directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "healer/creds.h"
#include "../../worker/creds_internal.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRET"

static char dir[64];
static char files[16][256];
static int n_files;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/healer-creds-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	n_files = 0;
}

static void teardown(void)
{
	for (int i = n_files - 1; i >= 0; i--) {
		if (unlink(files[i]) != 0)
			rmdir(files[i]);
	}
	rmdir(dir);
}

/* Writes dir/name (creating dir/.aws if name starts with it). */
static const char *put(const char *name, const char *text, mode_t mode)
{
	char *path = files[n_files];
	int fd;

	cr_assert_lt(n_files, 15);
	if (strncmp(name, ".aws/", 5) == 0) {
		snprintf(files[n_files++], sizeof(files[0]), "%s/.aws", dir);
		mkdir(files[n_files - 1], 0700);
		path = files[n_files];
	}
	snprintf(path, sizeof(files[0]), "%s/%s", dir, name);
	n_files++;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Runs the profile source with the given variables (NAME=value, NULL-ended;
 * "%D" in a value is replaced by the temp dir). */
static int fetch(const char *const *vars, hl_creds **out, hl_err *err)
{
	char buf[8][512];
	const char *envp[9];
	size_t i;
	hl_creds_source s;
	int rc;

	for (i = 0; vars[i] != NULL && i < 8; i++) {
		const char *d = strstr(vars[i], "%D");
		if (d != NULL)
			snprintf(buf[i], sizeof(buf[i]), "%.*s%s%s", (int)(d - vars[i]),
				 vars[i], dir, d + 2);
		else
			snprintf(buf[i], sizeof(buf[i]), "%s", vars[i]);
		envp[i] = buf[i];
	}
	envp[i] = NULL;
	s = hl_creds_source_profile(NULL, envp);
	*out = NULL;
	hl_err_clear(err);
	rc = s.fetch(s.impl, out, err);
	s.destroy(s.impl);
	return rc;
}

#define ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define FILES "AWS_SHARED_CREDENTIALS_FILE=%D/credentials", "AWS_CONFIG_FILE=%D/config"

static void expect_fail(const char *const *vars, int code, const char *needle)
{
	hl_creds *c = NULL;
	hl_err err;
	int rc = fetch(vars, &c, &err);

	cr_assert_eq(rc, code, "rc %d: %s", rc, err.message);
	cr_assert_null(c);
	cr_assert(strstr(err.message, needle) != NULL, "'%s' not in '%s'", needle,
		  err.message);
	cr_assert_null(strstr(err.message, SECRET), "secret leaked: %s", err.message);
}

/* ---- static keys ------------------------------------------------------------ */

Test(creds_profile, default_profile_from_credentials_file, .init = setup, .fini = teardown)
{
	hl_creds *c = NULL;
	hl_err err;

	put("credentials", "[default]\naws_access_key_id = AKIDDEF\n"
			   "aws_secret_access_key = " SECRET "\naws_session_token = tok\n", 0600);
	put("config", "[default]\naws_access_key_id = AKIDCONFIG\n"
		      "aws_secret_access_key = other\nregion = eu-west-1\n", 0600);
	cr_assert_eq(fetch(ENV(FILES), &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDDEF");
	cr_assert_str_eq(c->secret_access_key, SECRET);
	cr_assert_str_eq(c->session_token, "tok");
	cr_assert_eq(c->expiration_ms, 0);
	cr_assert_str_eq(c->source, "profile");
	hl_creds_unref(c);
}

Test(creds_profile, named_profile_from_config_file, .init = setup, .fini = teardown)
{
	hl_creds *c = NULL;
	hl_err err;

	put("config", "[default]\nregion = x\n[profile work]\n"
		      "aws_access_key_id=AKIDWORK\naws_secret_access_key=w\n", 0600);
	cr_assert_eq(fetch(ENV(FILES, "AWS_PROFILE=work"), &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDWORK");
	cr_assert_null(c->session_token);
	hl_creds_unref(c);
}

Test(creds_profile, default_paths_under_home, .init = setup, .fini = teardown)
{
	hl_creds *c = NULL;
	hl_err err;

	put(".aws/credentials", "[default]\naws_access_key_id = AKIDHOME\n"
				"aws_secret_access_key = h\n", 0600);
	cr_assert_eq(fetch(ENV("HOME=%D"), &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDHOME");
	hl_creds_unref(c);
	cr_assert_eq(fetch(ENV("HOME=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=~/x"),
			   &c, &err), HL_ERR_NOT_FOUND);
}

Test(creds_profile, tilde_is_expanded, .init = setup, .fini = teardown)
{
	hl_creds *c = NULL;
	hl_err err;

	put("mycreds", "[p]\naws_access_key_id = AKIDTILDE\naws_secret_access_key = t\n", 0600);
	cr_assert_eq(fetch(ENV("HOME=%D", "AWS_SHARED_CREDENTIALS_FILE=~/mycreds",
			       "AWS_CONFIG_FILE=~/none", "AWS_PROFILE=p"), &c, &err),
		     0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDTILDE");
	hl_creds_unref(c);
}

Test(creds_profile, no_files_is_not_found, .init = setup, .fini = teardown)
{
	expect_fail(ENV(FILES), HL_ERR_NOT_FOUND, "no shared credentials or config file");
	expect_fail(ENV(FILES, "AWS_PROFILE=prod"), HL_ERR_NOT_FOUND,
		    "no shared credentials or config file");
}

Test(creds_profile, missing_default_is_not_found, .init = setup, .fini = teardown)
{
	put("credentials", "[other]\naws_access_key_id = A\naws_secret_access_key = B\n", 0600);
	expect_fail(ENV(FILES), HL_ERR_NOT_FOUND, "no [default] profile");
	put("config", "[default]\nregion = us-east-1\n", 0600);
	expect_fail(ENV(FILES), HL_ERR_NOT_FOUND, "profile default has no credentials");
}

Test(creds_profile, named_profile_missing_is_config_error, .init = setup, .fini = teardown)
{
	put("credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = B\n", 0600);
	expect_fail(ENV(FILES, "AWS_PROFILE=prod"), HL_ERR_CONFIG,
		    "profile prod (AWS_PROFILE) is in neither");
}

Test(creds_profile, named_profile_without_keys, .init = setup, .fini = teardown)
{
	put("config", "[profile prod]\nregion = us-east-1\n", 0600);
	expect_fail(ENV(FILES, "AWS_PROFILE=prod"), HL_ERR_CREDENTIALS,
		    "profile prod has no credentials");
}

Test(creds_profile, half_a_key_pair_names_the_missing_key, .init = setup, .fini = teardown)
{
	put("credentials", "[default]\naws_access_key_id = AKIDHALF\n"
			   "[secretonly]\naws_secret_access_key = " SECRET "\n", 0600);
	put("config", "[default]\naws_secret_access_key = fromconfig\n", 0600);
	expect_fail(ENV(FILES), HL_ERR_CREDENTIALS,
		    "sets aws_access_key_id but not aws_secret_access_key");
	expect_fail(ENV(FILES, "AWS_PROFILE=secretonly"), HL_ERR_CREDENTIALS,
		    "sets aws_secret_access_key but not aws_access_key_id");
}

Test(creds_profile, unsupported_features_are_named, .init = setup, .fini = teardown)
{
	put("config", "[profile assumed]\nrole_arn = arn:aws:iam::1:role/r\n"
		      "source_profile = default\n[profile sso]\nsso_session = corp\n", 0600);
	expect_fail(ENV(FILES, "AWS_PROFILE=assumed"), HL_ERR_CONFIG, "uses role_arn");
	expect_fail(ENV(FILES, "AWS_PROFILE=sso"), HL_ERR_CONFIG, "uses sso_session");
}

Test(creds_profile, unparsable_file_names_path_and_line, .init = setup, .fini = teardown)
{
	const char *path = put("credentials", "[default]\naws_access_key_id = A\n"
					      SECRET "\n", 0600);
	char want[300];

	snprintf(want, sizeof(want), "%s: line 3: expected [section] or key = value", path);
	expect_fail(ENV(FILES), HL_ERR_PARSE, want);
}

Test(creds_profile, unreadable_file_is_config_error, .init = setup, .fini = teardown)
{
	put("credentials", "", 0600);
	/* A directory where the file should be: open works, read fails. */
	expect_fail(ENV("AWS_SHARED_CREDENTIALS_FILE=%D", "AWS_CONFIG_FILE=%D/none"),
		    HL_ERR_CONFIG, "cannot read");
}

/* ---- credential_process --------------------------------------------------------- */

#define SCRIPT_OK                                                                   \
	"#!/bin/sh\n"                                                               \
	"printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": "   \
	"\"psecret\", \"SessionToken\": \"ptoken\", "                              \
	"\"Expiration\": \"2099-01-01T00:00:00Z\"}\\n' \"$1\"\n"

Test(creds_process, success_with_quoted_arguments, .init = setup, .fini = teardown)
{
	hl_creds *c = NULL;
	hl_err err;

	put("cred script.sh", SCRIPT_OK, 0700);
	{
		char text[512];
		snprintf(text, sizeof(text),
			 "[default]\ncredential_process = \"%s/cred script.sh\" 'AKID PROC'\n"
			 "aws_session_token = ignored\n", dir);
		put("credentials", text, 0600);
	}
	cr_assert_eq(fetch(ENV(FILES), &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKID PROC");
	cr_assert_str_eq(c->secret_access_key, "psecret");
	cr_assert_str_eq(c->session_token, "ptoken");
	cr_assert_eq(c->expiration_ms, 4070908800000LL);
	cr_assert_str_eq(c->source, "process");
	hl_creds_unref(c);
}

static void profile_with_process(const char *script_body)
{
	char text[512];

	put("cred.sh", script_body, 0700);
	snprintf(text, sizeof(text), "[profile proc]\ncredential_process = %s/cred.sh\n", dir);
	put("config", text, 0600);
}

Test(creds_process, non_zero_exit_reports_status_and_first_stderr_line,
     .init = setup, .fini = teardown)
{
	profile_with_process("#!/bin/sh\necho 'token expired: run login' >&2\n"
			     "echo 'second line' >&2\nexit 3\n");
	expect_fail(ENV(FILES, "AWS_PROFILE=proc"), HL_ERR_CREDENTIALS,
		    "profile proc: credential_process exited with status 3: token expired: run login");
	{
		hl_creds *c = NULL;
		hl_err err;
		(void)fetch(ENV(FILES, "AWS_PROFILE=proc"), &c, &err);
		cr_assert_null(strstr(err.message, "second line"));
	}
}

Test(creds_process, killed_by_signal, .init = setup, .fini = teardown)
{
	profile_with_process("#!/bin/sh\nkill -TERM $$\nsleep 5\n");
	expect_fail(ENV(FILES, "AWS_PROFILE=proc"), HL_ERR_CREDENTIALS,
		    "credential_process was killed by signal 15");
}

Test(creds_process, bad_json, .init = setup, .fini = teardown)
{
	profile_with_process("#!/bin/sh\necho 'Version: 1'\n");
	expect_fail(ENV(FILES, "AWS_PROFILE=proc"), HL_ERR_PARSE,
		    "profile proc: credential_process output: not valid JSON");
}

Test(creds_process, version_2, .init = setup, .fini = teardown)
{
	profile_with_process("#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", "
			     "\"SecretAccessKey\": \"" SECRET "\"}'\n");
	expect_fail(ENV(FILES, "AWS_PROFILE=proc"), HL_ERR_PARSE,
		    "credential_process output: field Version must be 1");
}

Test(creds_process, missing_field_never_shows_the_secret, .init = setup, .fini = teardown)
{
	profile_with_process("#!/bin/sh\necho '{\"Version\": 1, "
			     "\"SecretAccessKey\": \"" SECRET "\"}'\n");
	expect_fail(ENV(FILES, "AWS_PROFILE=proc"), HL_ERR_PARSE,
		    "credential_process output: missing field AccessKeyId");
}

Test(creds_process, command_not_found, .init = setup, .fini = teardown)
{
	put("config", "[default]\ncredential_process = /nonexistent/healer-cred --x\n", 0600);
	expect_fail(ENV(FILES), HL_ERR_CONFIG,
		    "credential_process: cannot run /nonexistent/healer-cred");
}

Test(creds_process, unbalanced_quote, .init = setup, .fini = teardown)
{
	put("config", "[default]\ncredential_process = /bin/echo 'oops\n", 0600);
	expect_fail(ENV(FILES), HL_ERR_CONFIG, "unbalanced ' quote");
}

static bool process_gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	const char *state;

	if (kill(pid, 0) != 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	buf[0] = '\0';
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	state = strrchr(buf, ')');
	return state != NULL && state[1] == ' ' && state[2] == 'Z';   /* zombie */
}

Test(creds_process, timeout_kills_the_process_group, .init = setup, .fini = teardown)
{
	char cmd[256], bgpid_path[128];
	struct timespec t0, t1;
	hl_creds *c = NULL;
	hl_err err = { 0 };
	FILE *f;
	int pid = 0;
	long elapsed_ms;

	put("slow.sh", "#!/bin/sh\nsleep 30 &\necho $! > \"$1\"\nexec sleep 30\n", 0700);
	snprintf(bgpid_path, sizeof(bgpid_path), "%s/bgpid", dir);
	snprintf(files[n_files++], sizeof(files[0]), "%s", bgpid_path);
	snprintf(cmd, sizeof(cmd), "%s/slow.sh %s", dir, bgpid_path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(hl_creds_run_process(cmd, 1000, &c, &err), HL_ERR_TIMEOUT, "%s",
		     err.message);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert_null(c);
	cr_assert_str_eq(err.message, "credential_process did not finish within 1000 ms");
	cr_assert_geq(elapsed_ms, 1000);
	cr_assert_lt(elapsed_ms, 5000);

	f = fopen(bgpid_path, "r");
	if (f == NULL) {   /* a slow start (valgrind) killed it before it wrote */
		cr_log_warn("the script did not start within 1 s; group kill not checked");
		return;
	}
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	for (int i = 0; i < 200 && !process_gone(pid); i++)
		usleep(10000);
	cr_assert(process_gone(pid), "background child %d survived", pid);
}

Test(creds_process, output_is_bounded, .init = setup, .fini = teardown)
{
	char cmd[256];
	hl_creds *c = NULL;
	hl_err err = { 0 };

	put("big.sh", "#!/bin/sh\nhead -c 70000 /dev/zero | tr '\\000' ' '\nsleep 30\n", 0700);
	snprintf(cmd, sizeof(cmd), "%s/big.sh", dir);
	cr_assert_eq(hl_creds_run_process(cmd, 10000, &c, &err), HL_ERR_TOO_LARGE, "%s",
		     err.message);
	cr_assert_str_eq(err.message, "credential_process printed more than 65536 bytes");
}

Test(creds_process, stdin_is_empty_and_sigpipe_is_default, .init = setup, .fini = teardown)
{
	char cmd[256];
	hl_creds *c = NULL;
	hl_err err = { 0 };

	signal(SIGPIPE, SIG_IGN);   /* as the worker does */
	put("in.sh", "#!/bin/sh\n"
		     "grep -q . && exit 9\n"   /* stdin must be empty */
		     "sig=$(grep SigIgn /proc/$$/status | awk '{print $2}')\n"
		     "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"s\"}' \"$sig\"\n",
	    0700);
	snprintf(cmd, sizeof(cmd), "%s/in.sh", dir);
	cr_assert_eq(hl_creds_run_process(cmd, 10000, &c, &err), 0, "%s", err.message);
	/* SIGPIPE is signal 13: bit 0x1000 of the ignored mask must be clear. */
	cr_assert_eq(strtoull(c->access_key_id, NULL, 16) & 0x1000ULL, 0,
		     "SIGPIPE still ignored in the child: %s", c->access_key_id);
	hl_creds_unref(c);
}

Test(creds_process, bare_names_are_found_on_path)
{
	hl_creds *c = NULL;
	hl_err err = { 0 };

	cr_assert_eq(hl_creds_run_process("printf '{\"Version\": 1, \"AccessKeyId\": "
					  "\"AKIDPATH\", \"SecretAccessKey\": \"s\"}'",
					  10000, &c, &err), 0, "%s", err.message);
	cr_assert_str_eq(c->access_key_id, "AKIDPATH");
	hl_creds_unref(c);
	cr_assert_eq(hl_creds_run_process("healer-no-such-command --x", 10000, &c, &err),
		     HL_ERR_CONFIG);
	cr_assert_str_eq(err.message, "credential_process: cannot run "
				      "healer-no-such-command: No such file or directory");
}
