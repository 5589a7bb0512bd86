/* creds_process.c - runs a profile's credential_process and reads what it
 * prints.
 *
 * The command line is split like Python's shlex.split (what the AWS CLI
 * does) and executed directly with posix_spawnp: no shell ever sees it. The
 * child gets stdin from /dev/null, default signal dispositions (the worker
 * ignores SIGPIPE, and ignored signals would otherwise survive exec) and its
 * own process group, so a timeout can kill whatever it started as well.
 * stdout (bounded) and stderr (first KiB kept, the rest drained) are read
 * with poll() against a deadline on CLOCK_MONOTONIC: this is a wait on the
 * operating system, not on the application's notion of time, so the
 * injectable clock (which tests move by hand) is deliberately not used here.
 * stdout holds secrets and is wiped after parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "creds_internal.h"

#define STDERR_KEEP_BYTES 1024
#define STDERR_SHOWN_BYTES 200

/* ---- command-line splitting (shlex.split, POSIX mode) -------------------- */

struct argv_builder {
	char **argv;
	size_t argc, cap;
};

static void argv_push(struct argv_builder *a, const char *word, size_t n)
{
	if (a->argc + 2 > a->cap) {
		a->cap = a->cap != 0 ? a->cap * 2 : 8;
		a->argv = hl_xrealloc(a->argv, a->cap * sizeof(*a->argv));
	}
	a->argv[a->argc++] = hl_xstrndup(word, n);
	a->argv[a->argc] = NULL;
}

static bool is_shlex_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int hl_creds_split_command_line(const char *line, char ***argv_out,
				size_t *argc_out, hl_err *err)
{
	struct argv_builder a = { 0 };
	hl_buf word;
	bool in_word = false;
	const char *p = line;
	int rc = 0;

	*argv_out = NULL;
	if (argc_out != NULL)
		*argc_out = 0;
	hl_buf_init(&word, strlen(line) + 1);
	HL_GUARD_GOTO(rc, hl_buf_append(&word, "", 0), out);
	for (; *p != '\0'; p++) {
		char c = *p;

		if (is_shlex_space(c)) {
			if (in_word)
				argv_push(&a, word.data, word.len);
			hl_buf_reset(&word);
			in_word = false;
			continue;
		}
		in_word = true;
		if (c == '\\') {
			if (p[1] == '\0') {
				rc = hl_err_set(err, HL_ERR_CONFIG,
						"credential_process: command "
						"line ends with a backslash");
				goto out;
			}
			p++;
			HL_GUARD_GOTO(rc, hl_buf_append(&word, p, 1), out);
		} else if (c == '\'' || c == '"') {
			const char quote = c;

			for (p++; *p != quote; p++) {
				if (*p == '\0') {
					rc = hl_err_set(err, HL_ERR_CONFIG,
							"credential_process: "
							"unbalanced %c quote",
							quote);
					goto out;
				}
				/* In "...", \" and \\ escape; other \ stay. */
				if (quote == '"' && *p == '\\' &&
				    (p[1] == '"' || p[1] == '\\'))
					p++;
				HL_GUARD_GOTO(rc, hl_buf_append(&word, p, 1),
					      out);
			}
		} else {
			HL_GUARD_GOTO(rc, hl_buf_append(&word, p, 1), out);
		}
	}
	if (in_word)
		argv_push(&a, word.data, word.len);
	if (a.argc == 0 || a.argv[0][0] == '\0') {
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"credential_process: empty command");
		goto out;
	}
	*argv_out = a.argv;
	a.argv = NULL;
	if (argc_out != NULL)
		*argc_out = a.argc;
out:
	hl_buf_free_secret(&word);
	hl_creds_argv_free(a.argv);
	return rc;
}

void hl_creds_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		hl_free_secret(*p);   /* arguments may carry secrets */
	free(argv);
}

/* ---- running the process -------------------------------------------------- */

static int64_t now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct child {
	pid_t pid;
	int out_fd, err_fd;        /* -1 once at EOF */
	hl_buf out;                /* stdout, bounded */
	char err[STDERR_KEEP_BYTES + 1];
	size_t err_len;
};

/* Whether prog can be executed (searching PATH when it has no '/'), so a
 * typo is reported the same way whatever posix_spawnp's implementation
 * does with exec failures (glibc reports them; some emulations exit 127). */
static int check_executable(const char *prog, hl_err *err)
{
	const char *path, *p, *end;
	char candidate[4096];
	int e = ENOENT;

	if (strchr(prog, '/') != NULL) {
		if (access(prog, X_OK) == 0)
			return 0;
		e = errno;
	} else {
		path = getenv("PATH");
		for (p = path != NULL ? path : "/usr/bin:/bin"; ; p = end + 1) {
			end = strchr(p, ':');
			if (end == NULL)
				end = p + strlen(p);
			/* An empty PATH entry is the current directory. */
			int dir_len = end == p ? 1 : (int)(end - p);
			const char *dir = end == p ? "." : p;

			if ((size_t)snprintf(candidate, sizeof(candidate),
					     "%.*s/%s", dir_len, dir, prog) <
				    sizeof(candidate) &&
			    access(candidate, X_OK) == 0)
				return 0;
			if (*end == '\0')
				break;
		}
	}
	return hl_err_set(err, HL_ERR_CONFIG,
			  "credential_process: cannot run %.200s: %s", prog,
			  strerror(e));
}

static int spawn(char **argv, struct child *ch, hl_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	int rc = 0, e;

	HL_GUARD(check_executable(argv[0], err));
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = hl_err_set(err, HL_ERR_INTERNAL,
				"credential_process: pipe: %s",
				strerror(errno));
		goto close_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
						POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	e = posix_spawnp(&ch->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"credential_process: cannot run %.200s: %s",
				argv[0], strerror(e));
		goto close_pipes;
	}
	ch->out_fd = out_pipe[0];
	ch->err_fd = err_pipe[0];
	out_pipe[0] = err_pipe[0] = -1;
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	return rc;
}

/* Reads what is ready on one pipe; returns HL_ERR_TOO_LARGE when stdout
 * outgrows its bound. */
static int drain(struct child *ch, int *fd, bool is_stdout)
{
	char chunk[4096];
	ssize_t n;
	int rc = 0;

	n = read(*fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (is_stdout) {
		rc = hl_buf_append(&ch->out, chunk, (size_t)n);
		OPENSSL_cleanse(chunk, sizeof(chunk));
	} else if (ch->err_len < STDERR_KEEP_BYTES) {
		size_t keep = (size_t)n;
		if (keep > STDERR_KEEP_BYTES - ch->err_len)
			keep = STDERR_KEEP_BYTES - ch->err_len;
		memcpy(ch->err + ch->err_len, chunk, keep);
		ch->err_len += keep;
	}
	return rc;
}

static void kill_group(struct child *ch)
{
	int status;

	kill(-ch->pid, SIGKILL);
	while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
		;
	ch->pid = -1;
}

/* Waits for both pipes to close and the child to exit, within deadline. */
static int wait_child(struct child *ch, int64_t timeout_ms, int *status,
		      hl_err *err)
{
	int64_t deadline_ms = now_mono_ms() + timeout_ms;
	struct pollfd pfd[2];
	int64_t left;
	pid_t r;
	nfds_t n;

	while (ch->out_fd >= 0 || ch->err_fd >= 0) {
		n = 0;
		if (ch->out_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ch->out_fd, .events = POLLIN };
		if (ch->err_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ch->err_fd, .events = POLLIN };
		left = deadline_ms - now_mono_ms();
		if (left <= 0)
			goto timeout;
		if (poll(pfd, n, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			return hl_err_set(err, HL_ERR_INTERNAL,
					  "credential_process: poll: %s",
					  strerror(errno));
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == ch->out_fd &&
			    drain(ch, &ch->out_fd, true) < 0) {
				kill_group(ch);
				return hl_err_set(err, HL_ERR_TOO_LARGE,
						  "credential_process printed "
						  "more than %d bytes",
						  HL_CREDS_MAX_DOCUMENT_BYTES);
			}
			if (pfd[i].fd == ch->err_fd)
				(void)drain(ch, &ch->err_fd, false);
		}
	}
	for (;;) {   /* pipes closed; the process may still be running */
		r = waitpid(ch->pid, status, WNOHANG);
		if (r == ch->pid) {
			ch->pid = -1;
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			ch->pid = -1;
			return hl_err_set(err, HL_ERR_INTERNAL,
					  "credential_process: waitpid: %s",
					  strerror(errno));
		}
		if (now_mono_ms() >= deadline_ms)
			goto timeout;
		nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000000 }, NULL);
	}
timeout:
	kill_group(ch);
	return hl_err_set(err, HL_ERR_TIMEOUT,
			  "credential_process did not finish within %lld ms",
			  (long long)timeout_ms);
}

/* "exited with status 3: <first line of stderr>", control bytes masked. */
static int exit_error(const struct child *ch, int status, hl_err *err)
{
	char line[STDERR_SHOWN_BYTES + 1];
	size_t n = 0;

	for (size_t i = 0; i < ch->err_len && ch->err[i] != '\n' &&
			   n < STDERR_SHOWN_BYTES; i++) {
		unsigned char c = (unsigned char)ch->err[i];
		if (c == '\r')
			continue;
		line[n++] = (c >= 0x20 && c != 0x7f) ? (char)c : '?';
	}
	line[n] = '\0';
	if (WIFSIGNALED(status))
		return hl_err_set(err, HL_ERR_CREDENTIALS,
				  "credential_process was killed by signal %d%s%s",
				  WTERMSIG(status), n ? ": " : "", line);
	return hl_err_set(err, HL_ERR_CREDENTIALS,
			  "credential_process exited with status %d%s%s",
			  WEXITSTATUS(status), n ? ": " : "", line);
}

int hl_creds_run_process(const char *command_line, int64_t timeout_ms,
			 hl_creds **out, hl_err *err)
{
	struct child ch = { .pid = -1, .out_fd = -1, .err_fd = -1 };
	char **argv = NULL;
	int status = 0, rc;

	*out = NULL;
	hl_buf_init(&ch.out, HL_CREDS_MAX_DOCUMENT_BYTES);
	if (timeout_ms <= 0)
		timeout_ms = HL_CREDS_PROCESS_TIMEOUT_MS;
	HL_GUARD_GOTO(rc, hl_creds_split_command_line(command_line, &argv,
						      NULL, err),
		      out);
	HL_GUARD_GOTO(rc, spawn(argv, &ch, err), out);
	HL_GUARD_GOTO(rc, wait_child(&ch, timeout_ms, &status, err), out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = exit_error(&ch, status, err);
		goto out;
	}
	rc = hl_creds_parse_process_output(ch.out.data, ch.out.len, out, err);
out:
	if (ch.out_fd >= 0)
		close(ch.out_fd);
	if (ch.err_fd >= 0)
		close(ch.err_fd);
	if (ch.pid > 0)
		kill_group(&ch);
	hl_buf_free_secret(&ch.out);
	hl_creds_argv_free(argv);
	return rc;
}
