/* local_endpoint.c - runs tests/local/server.py for the duration of a test.
 *
 * fork + execv of /usr/bin/python3 (not a shim, so the pid we hold is the
 * server's), stdout/stderr to a log file in a private temp directory, and
 * PR_SET_PDEATHSIG so a crashed test does not leave a server behind. The
 * server writes its port to a file once it listens; we poll for it. Admin
 * calls use their own curl handle so they do not depend on the code under
 * test.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local_endpoint.h"

#define PYTHON "/usr/bin/python3"
#define SERVER "tests/local/server.py"
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define MAX_ARGS 32
#define MAX_RESPONSE (4 * 1024 * 1024)

struct hl_test_endpoint {
	pid_t pid;
	int port;
	char dir[64];
	char port_file[96];
	char log_file[96];
	char url[64];
	char hostport[64];
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void print_log(const hl_test_endpoint *ep)
{
	char buf[4096];
	FILE *f = fopen(ep->log_file, "r");
	size_t n;

	if (f == NULL)
		return;
	fprintf(stderr, "---- %s output ----\n", SERVER);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end ----\n");
	fclose(f);
}

static int read_port(const char *path)
{
	char buf[32];
	ssize_t n;
	long port;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	port = strtol(buf, &end, 10);
	if (end == buf || (*end != '\0' && *end != '\n') || port <= 0 ||
	    port > 65535)
		return 0;
	return (int)port;
}

/* Child side: never returns. */
static void exec_server(const hl_test_endpoint *ep, char *extra)
{
	char *argv[MAX_ARGS + 8];
	int argc = 0, fd;
	char *save = NULL;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(ep->log_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	argv[argc++] = (char *)PYTHON;
	argv[argc++] = (char *)SERVER;
	argv[argc++] = (char *)"--port";
	argv[argc++] = (char *)"0";
	argv[argc++] = (char *)"--port-file";
	argv[argc++] = (char *)ep->port_file;
	for (char *w = extra ? strtok_r(extra, " \t", &save) : NULL;
	     w != NULL && argc < MAX_ARGS; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	execv(PYTHON, argv);
	fprintf(stderr, "exec %s: %s\n", PYTHON, strerror(errno));
	_exit(127);
}

static void remove_files(hl_test_endpoint *ep)
{
	unlink(ep->port_file);
	unlink(ep->log_file);
	rmdir(ep->dir);
}

hl_test_endpoint *hl_test_endpoint_start(void)
{
	hl_test_endpoint *ep = calloc(1, sizeof(*ep));
	const char *extra_env = getenv("HEALER_TEST_ENDPOINT_ARGS");
	char *extra = extra_env ? strdup(extra_env) : NULL;
	long deadline;
	int status;

	if (ep == NULL)
		abort();
	if (access(SERVER, R_OK) != 0) {
		fprintf(stderr, "local endpoint: %s not found (run from the "
				"repository root)\n", SERVER);
		goto fail_nodir;
	}
	snprintf(ep->dir, sizeof(ep->dir), "/tmp/healer-ep-XXXXXX");
	if (mkdtemp(ep->dir) == NULL) {
		fprintf(stderr, "local endpoint: mkdtemp: %s\n", strerror(errno));
		goto fail_nodir;
	}
	snprintf(ep->port_file, sizeof(ep->port_file), "%s/port", ep->dir);
	snprintf(ep->log_file, sizeof(ep->log_file), "%s/server.log", ep->dir);
	fflush(NULL);
	ep->pid = fork();
	if (ep->pid < 0) {
		fprintf(stderr, "local endpoint: fork: %s\n", strerror(errno));
		goto fail;
	}
	if (ep->pid == 0)
		exec_server(ep, extra);
	deadline = now_ms() + START_TIMEOUT_MS;
	while ((ep->port = read_port(ep->port_file)) == 0) {
		if (waitpid(ep->pid, &status, WNOHANG) == ep->pid) {
			fprintf(stderr, "local endpoint: server exited "
					"(status %d) before listening\n", status);
			ep->pid = 0;
			print_log(ep);
			goto fail;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "local endpoint: no port file after "
					"%d ms\n", START_TIMEOUT_MS);
			print_log(ep);
			goto fail;
		}
		sleep_ms(20);
	}
	snprintf(ep->hostport, sizeof(ep->hostport), "127.0.0.1:%d", ep->port);
	snprintf(ep->url, sizeof(ep->url), "http://127.0.0.1:%d", ep->port);
	free(extra);
	return ep;
fail:
	hl_test_endpoint_stop(ep);
	free(extra);
	return NULL;
fail_nodir:
	free(extra);
	free(ep);
	return NULL;
}

const char *hl_test_endpoint_url(const hl_test_endpoint *ep)
{
	return ep->url;
}

const char *hl_test_endpoint_hostport(const hl_test_endpoint *ep)
{
	return ep->hostport;
}

struct sink {
	char *data;
	size_t len;
	bool too_large;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	char *grown;

	if (s->len + n > MAX_RESPONSE) {
		s->too_large = true;
		return 0;
	}
	grown = realloc(s->data, s->len + n + 1);
	if (grown == NULL)
		abort();
	s->data = grown;
	memcpy(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = '\0';
	return n;
}

int hl_test_endpoint_admin(hl_test_endpoint *ep, const char *method,
			   const char *path, const char *json_body,
			   char **response_out)
{
	struct sink s = { 0 };
	struct curl_slist *headers = NULL;
	char url[1024];
	long status = -1;
	CURL *c = curl_easy_init();

	if (response_out != NULL)
		*response_out = NULL;
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", ep->url, path);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (json_body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(json_body));
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		status = -1;
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (response_out != NULL && status >= 0)
		*response_out = s.data;
	else
		free(s.data);
	return (int)status;
}

void hl_test_endpoint_stop(hl_test_endpoint *ep)
{
	long deadline;
	int status;

	if (ep == NULL)
		return;
	if (ep->pid > 0) {
		kill(ep->pid, SIGTERM);
		deadline = now_ms() + STOP_TIMEOUT_MS;
		while (waitpid(ep->pid, &status, WNOHANG) == 0) {
			if (now_ms() >= deadline) {
				kill(ep->pid, SIGKILL);
				waitpid(ep->pid, &status, 0);
				break;
			}
			sleep_ms(10);
		}
	}
	remove_files(ep);
	free(ep);
}
