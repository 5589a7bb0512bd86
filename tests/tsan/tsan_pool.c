/* tsan_pool.c - a ThreadSanitizer driver for the worker's threaded parts.
 *
 * Criterion cannot run under TSan on this machine (Criterion bug #274,
 * "Could not initialize inheritable arena"), so the threaded code gets
 * this standalone program instead (make test-tsan builds it and the
 * library with SANITIZE=thread and runs it with halt_on_error=1: any race
 * report fails the run).
 *
 * It starts the local AWS endpoint (tests/support/local_endpoint.c; 1 s
 * long polls), takes its credentials from the endpoint's ECS stand-in
 * (rotating every second, 10 s lifetime, so the provider refreshes every
 * few seconds while every thread signs with it: the refresh/swap path),
 * and runs real worker pools on the echo activity through four phases:
 *   1. load: 240 tasks on 8 slots, a third of them long enough to be
 *      heartbeated (1 s heartbeat interval), some failing on purpose, while
 *      this thread reads stats, flushes metrics and writes the health file
 *      as the worker's main loop does;
 *   2. cancellation: tasks whose state times out while they run: the
 *      heartbeat answer (TaskTimedOut) cancels them and nothing is sent;
 *   3. drain: short and long tasks running when the drain starts: the
 *      short ones finish, the long ones are answered Healer.WorkerShutdown
 *      at the deadline (2 s), open polls end by themselves;
 *   4. drain now: a second pool stopped with hl_pool_drain_now while tasks
 *      run.
 * After each phase the endpoint's records are checked: every task settled
 * as expected, none answered twice, none lost. Exit 0 when all held.
 *
 *   make test-tsan          (or: make SANITIZE=thread build/san-thread/tsan/tsan_pool
 *                            && build/san-thread/tsan/tsan_pool, from the repo root)
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "healer/aws.h"
#include "healer/clock.h"
#include "healer/config.h"
#include "healer/creds.h"
#include "healer/health.h"
#include "healer/http.h"
#include "healer/log.h"
#include "healer/metrics.h"
#include "healer/pool.h"
#include "local_endpoint.h"

#define ACTIVITY "tsan-echo"
#define PREFIX "arn:aws:states:us-east-1:123456789012:activity:"
#define PHASE_TIMEOUT_MS 180000

static hl_test_endpoint *ep;
static int failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, ok ? "tsan_pool: ok: " : "tsan_pool: FAILED: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (!ok)
		failures++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static json_object *admin(const char *method, const char *path, const char *body)
{
	char *resp = NULL;
	int status = hl_test_endpoint_admin(ep, method, path, body, &resp);
	json_object *o = resp ? json_tokener_parse(resp) : NULL;
	if (status != 200 || !o) {
		fprintf(stderr, "tsan_pool: admin %s %s -> %d %s\n", method, path, status, resp ? resp : "");
		free(resp);
		json_object_put(o);
		exit(2);
	}
	free(resp);
	return o;
}

static void admin_void(const char *method, const char *path, const char *body)
{
	json_object_put(admin(method, path, body));
}

static long summary_int(const char *key)
{
	json_object *s = admin("GET", "/_admin/summary", NULL), *v = NULL;
	long n = json_object_object_get_ex(s, key, &v) ? (long)json_object_get_int64(v) : -1;
	json_object_put(s);
	return n;
}

/* Enqueues `count` copies of input (a JSON text) with the given timeouts. */
static void enqueue(int count, const char *input, int heartbeat_s, int timeout_s)
{
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"activityArn\": \"%s%s\", \"count\": %d, \"input\": %s, \"heartbeatSeconds\": %d, "
		 "\"timeoutSeconds\": %d}",
		 PREFIX, ACTIVITY, count, input, heartbeat_s, timeout_s);
	admin_void("POST", "/_admin/tasks", body);
}

/* What the main loop of `healer serve` does while the pool works. */
static void main_loop_tick(hl_pool *pool, const char *health_path, bool draining)
{
	hl_pool_stats st;
	hl_err err;
	hl_pool_get_stats(pool, &st);
	hl_err_clear(&err);
	if (hl_health_write(health_path, draining ? "draining" : "ok", &st, hl_wall_ms(hl_clock_system()),
			    &err) < 0)
		fprintf(stderr, "tsan_pool: health write: %s\n", err.message);
	hl_metrics_flush(pool);
}

/* Waits until summary[key] >= want (while ticking the main loop). */
static bool wait_summary(hl_pool *pool, const char *health, const char *key, long want)
{
	int64_t deadline = hl_mono_ms(hl_clock_system()) + PHASE_TIMEOUT_MS;
	while (hl_mono_ms(hl_clock_system()) < deadline) {
		if (summary_int(key) >= want)
			return true;
		main_loop_tick(pool, health, false);
		sleep_ms(200);
	}
	return false;
}

static hl_pool *start_pool(hl_aws *aws, hl_config *cfg, int slots)
{
	char acts[64];
	snprintf(acts, sizeof(acts), "%s=echo:%d", ACTIVITY, slots);
	char *argv[] = { (char *)"healer", (char *)"--activities", acts, (char *)"--activity-arn-prefix",
			 (char *)PREFIX, (char *)"--heartbeat-interval", (char *)"1", (char *)"--drain-deadline",
			 (char *)"2", (char *)"--metrics-interval", (char *)"1", (char *)"--worker-name",
			 (char *)"tsan-worker", NULL };
	hl_err err;
	bool help = false, version = false;
	hl_err_clear(&err);
	if (hl_config_load(cfg, 13, argv, &help, &version, &err) < 0) {
		fprintf(stderr, "tsan_pool: config: %s\n", err.message);
		exit(2);
	}
	hl_pool *pool = hl_pool_start(cfg, aws, &err);
	if (!pool) {
		fprintf(stderr, "tsan_pool: pool: %s\n", err.message);
		exit(2);
	}
	return pool;
}

/* Drains like `healer serve` on SIGTERM: ticks until idle or deadline,
 * then finishes. Returns hl_pool_finish's count. */
static int drain(hl_pool *pool, const hl_config *cfg, const char *health, bool now)
{
	hl_pool_drain(pool);
	if (now) {
		sleep_ms(300);
		hl_pool_drain_now(pool);
	} else {
		int64_t deadline = hl_mono_ms(hl_clock_system()) + (int64_t)cfg->drain_deadline_s * 1000;
		while (!hl_pool_idle(pool) && hl_mono_ms(hl_clock_system()) < deadline) {
			main_loop_tick(pool, health, true);
			sleep_ms(100);
		}
	}
	return hl_pool_finish(pool);
}

/* Counts the endpoint's tasks in `state` whose accepted result has `what`
 * in its error (or any, when what is NULL). */
static int count_tasks(const char *state, const char *what)
{
	char path[128];
	snprintf(path, sizeof(path), "/_admin/tasks?state=%s", state);
	json_object *o = admin("GET", path, NULL), *tasks = NULL;
	int n = 0;
	if (json_object_object_get_ex(o, "tasks", &tasks)) {
		for (size_t i = 0; i < json_object_array_length(tasks); i++) {
			json_object *t = json_object_array_get_idx(tasks, i), *sends = NULL;
			if (!what) {
				n++;
				continue;
			}
			json_object_object_get_ex(t, "sends", &sends);
			for (size_t k = 0; sends && k < json_object_array_length(sends); k++) {
				json_object *s = json_object_array_get_idx(sends, k), *e = NULL, *acc = NULL;
				if (json_object_object_get_ex(s, "accepted", &acc) && json_object_get_boolean(acc) &&
				    json_object_object_get_ex(s, "error", &e) &&
				    strstr(json_object_get_string(e), what)) {
					n++;
					break;
				}
			}
		}
	}
	json_object_put(o);
	return n;
}

static void check_no_duplicates(const char *phase)
{
	check(summary_int("duplicate_results") == 0, "%s: no task answered twice", phase);
	check(summary_int("lost") == 0, "%s: no task lost", phase);
}

int main(void)
{
	char health[] = "/tmp/healer-tsan-health-XXXXXX";
	hl_err err;

	signal(SIGPIPE, SIG_IGN);
	int hfd = mkstemp(health);
	if (hfd < 0)
		return 2;
	close(hfd);
	/* Before any thread: the endpoint (fork + exec) and curl. */
	setenv("HEALER_TEST_ENDPOINT_ARGS", "--poll-timeout 1", 1);
	ep = hl_test_endpoint_start();
	if (!ep)
		return 2;
	hl_err_clear(&err);
	if (hl_http_global_init(&err) < 0) {
		fprintf(stderr, "tsan_pool: %s\n", err.message);
		return 2;
	}
	admin_void("POST", "/_admin/ecs", "{\"rotate_every_s\": 1, \"lifetime_s\": 10}");
	/* Credentials only from the ECS stand-in; AWS calls to the endpoint. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/healer-tsan", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/healer-tsan", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/_ecs/credentials", 1);
	setenv("HEALER_TEST_ECS_HOST", hl_test_endpoint_hostport(ep), 1);
	setenv("AWS_ENDPOINT_URL", hl_test_endpoint_url(ep), 1);
	setenv("AWS_REGION", "us-east-1", 1);
	/* Log and metric lines (stdout) go nowhere; this driver reports on
	 * stderr. */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fflush(stdout);
	dup2(devnull, STDOUT_FILENO);
	hl_log_set_fd(devnull);
	hl_log_set_level(HL_LOG_DEBUG);   /* log formatting runs on every thread */

	hl_creds_config ccfg = { .clock = hl_clock_system() };
	hl_creds_provider *provider = hl_creds_provider_new_default(&ccfg);
	hl_aws_config acfg = { .region = "us-east-1", .creds = provider, .clock = hl_clock_system() };
	hl_aws *aws = hl_aws_new(&acfg, &err);
	if (!provider || !aws) {
		fprintf(stderr, "tsan_pool: AWS client: %s\n", err.message);
		return 2;
	}
	admin_void("POST", "/_admin/tasks",
		   "{\"activityArn\": \"" PREFIX ACTIVITY "\", \"inputs\": []}");

	/* 1. load, heartbeats, failures, credential refreshes */
	hl_config cfg;
	hl_pool *pool = start_pool(aws, &cfg, 8);
	enqueue(150, "{\"n\": 1}", 10, 120);
	enqueue(80, "{\"sleep_ms\": 1500}", 3, 120);
	enqueue(10, "{\"fail\": \"OnPurpose\"}", 10, 120);
	bool done = wait_summary(pool, health, "succeeded", 230);
	check(done, "load: 230 tasks succeeded");
	done = done && wait_summary(pool, health, "failed", 10);
	check(done && count_tasks("failed", "Healer.Echo.OnPurpose") == 10, "load: 10 failed as asked");
	json_object *ecs = admin("GET", "/_admin/ecs", NULL), *v = NULL;
	long fetches = json_object_object_get_ex(ecs, "fetches", &v) ? (long)json_object_get_int64(v) : 0;
	json_object_put(ecs);
	check(fetches >= 2, "load: credentials refreshed while running (%ld ECS fetches)", fetches);
	check(summary_int("auth_failures") == 0, "load: no request refused for its credentials");
	check_no_duplicates("load");

	/* 2. cancellation through a heartbeat's TaskTimedOut */
	hl_pool_stats st;
	hl_pool_get_stats(pool, &st);
	long cancelled_before = st.tasks_cancelled;
	enqueue(2, "{\"sleep_ms\": 60000}", 30, 2);
	int64_t deadline = hl_mono_ms(hl_clock_system()) + PHASE_TIMEOUT_MS;
	do {
		main_loop_tick(pool, health, false);
		sleep_ms(200);
		hl_pool_get_stats(pool, &st);
	} while (st.tasks_cancelled < cancelled_before + 2 && hl_mono_ms(hl_clock_system()) < deadline);
	check(st.tasks_cancelled == cancelled_before + 2, "cancel: 2 tasks cancelled by their heartbeat");
	check(count_tasks("timed_out", NULL) == 2, "cancel: both timed out at the endpoint, unanswered");
	check_no_duplicates("cancel");

	/* 3. drain: 4 short tasks finish, 4 long ones get Healer.WorkerShutdown */
	enqueue(4, "{\"sleep_ms\": 300}", 30, 120);
	enqueue(4, "{\"sleep_ms\": 60000}", 30, 120);
	deadline = hl_mono_ms(hl_clock_system()) + PHASE_TIMEOUT_MS;
	while (summary_int("queued") > 0 && hl_mono_ms(hl_clock_system()) < deadline)
		sleep_ms(50);
	int shut = drain(pool, &cfg, health, false);
	check(shut == 4, "drain: 4 long tasks answered Healer.WorkerShutdown (%d)", shut);
	check(count_tasks("failed", "Healer.WorkerShutdown") == 4, "drain: the endpoint got those 4 answers");
	check(summary_int("succeeded") == 234, "drain: the 4 short tasks finished");
	check(summary_int("assigned") == 0, "drain: nothing left unanswered");
	check_no_duplicates("drain");

	/* 4. a second pool stopped at once */
	pool = start_pool(aws, &cfg, 4);
	enqueue(4, "{\"sleep_ms\": 60000}", 30, 120);
	deadline = hl_mono_ms(hl_clock_system()) + PHASE_TIMEOUT_MS;
	while (summary_int("queued") > 0 && hl_mono_ms(hl_clock_system()) < deadline)
		sleep_ms(50);
	shut = drain(pool, &cfg, health, true);
	check(shut == 4, "drain now: 4 held tasks answered Healer.WorkerShutdown (%d)", shut);
	check(summary_int("assigned") == 0, "drain now: nothing left unanswered");
	check_no_duplicates("drain now");

	hl_aws_free(aws);
	hl_creds_provider_free(provider);
	hl_http_global_cleanup();
	hl_test_endpoint_stop(ep);
	unlink(health);
	close(devnull);
	fprintf(stderr, "tsan_pool: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
