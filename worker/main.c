/* main.c - the healer command line.
 *
 *   healer [run] [flags]                  serve the configured activities
 *   healer run-activity NAME --input FILE [--dry-run]
 *   healer health [--health-file F]       the container health check
 *   healer disable --reason TEXT | enable  flip the engine's kill switch
 *   healer status | audit | replay         operator commands (cli_ops.c)
 *   healer --help | --version
 *
 * The serving process blocks SIGTERM/SIGINT in every thread and takes them
 * with sigtimedwait on the main thread, so it behaves the same as PID 1 in
 * a container (where default signal actions do not apply). First signal:
 * drain. Second: stop now, still answering every held task.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_ops.h"
#include "healer/activity.h"
#include "healer/aws.h"
#include "healer/config.h"
#include "healer/creds.h"
#include "healer/health.h"
#include "healer/http.h"
#include "healer/log.h"
#include "healer/metrics.h"
#include "healer/outcome_metrics.h"
#include "healer/pool.h"

#define EXIT_USAGE 2
#define HEALTH_WRITE_EVERY_MS 5000
/* The poll loop turns at least once a second; this long without a turn
 * means it is stuck. */
#define STUCK_AFTER_MS 15000

static int usage_error(const char *msg)
{
	fprintf(stderr, "healer: %s\nRun 'healer --help' for the settings.\n", msg);
	return EXIT_USAGE;
}

static const char *region_from_env(void)
{
	const char *r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	return r && *r ? r : NULL;
}

/* The AWS client, when a region is set. *provider and *aws are NULL when
 * no region is configured (run-activity of an activity without AWS). */
static int make_aws(const char *region, hl_creds_provider **provider, hl_aws **aws, hl_err *err)
{
	*provider = NULL;
	*aws = NULL;
	if (!region)
		return HL_OK;
	hl_creds_config ccfg = { .clock = hl_clock_system() };
	*provider = hl_creds_provider_new_default(&ccfg);
	if (!*provider)
		return hl_err_set(err, HL_ERR_CREDENTIALS, "cannot set up the credentials chain");
	hl_aws_config acfg = { .region = region, .creds = *provider, .clock = hl_clock_system() };
	*aws = hl_aws_new(&acfg, err);
	if (!*aws) {
		hl_creds_provider_free(*provider);
		*provider = NULL;
		return err->code ? err->code : HL_ERR_CONFIG;
	}
	return HL_OK;
}

static int read_file(const char *path, size_t max, hl_buf *out, hl_err *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f)
		return hl_err_set(err, HL_ERR_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
	hl_buf_init(out, max);
	char chunk[8192];
	size_t n;
	int rc = HL_OK;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (hl_buf_append(out, chunk, n) < 0) {
			rc = hl_err_set(err, HL_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
			break;
		}
	}
	if (rc == HL_OK && hl_buf_append(out, "", 0) < 0)
		rc = HL_ERR_TOO_LARGE;
	if (f != stdin)
		fclose(f);
	return rc;
}

static int cmd_run_activity(int argc, char **argv)
{
	const char *name = NULL, *input_path = NULL;
	bool dry_run = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
			input_path = argv[++i];
		else if (strncmp(argv[i], "--input=", 8) == 0)
			input_path = argv[i] + 8;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return usage_error("usage: healer run-activity NAME --input FILE [--dry-run]");
	}
	if (!name || !input_path)
		return usage_error("usage: healer run-activity NAME --input FILE [--dry-run]");
	const hl_activity *act = hl_activity_find(name);
	if (!act) {
		fprintf(stderr, "healer: unknown activity \"%.64s\"; known:", name);
		for (const hl_activity *const *a = hl_activity_all(); *a; a++)
			fprintf(stderr, " %s", (*a)->name);
		fputc('\n', stderr);
		return EXIT_USAGE;
	}
	hl_err ierr;
	hl_err_clear(&ierr);
	if (act->init && act->init(&ierr) < 0) {
		fprintf(stderr, "healer: configuration error: %s: %s\n", act->name, ierr.message);
		return EXIT_USAGE;
	}
	const char *env_dry = getenv("HEALER_DRY_RUN");
	if (env_dry && (strcmp(env_dry, "true") == 0 || strcmp(env_dry, "1") == 0))
		dry_run = true;

	hl_err err;
	hl_buf input;
	hl_err_clear(&err);
	if (read_file(input_path, 1024 * 1024, &input, &err) < 0) {
		fprintf(stderr, "healer: %s\n", err.message);
		hl_buf_free(&input);
		return 1;
	}
	hl_creds_provider *provider = NULL;
	hl_aws *aws = NULL;
	if (make_aws(region_from_env(), &provider, &aws, &err) < 0) {
		fprintf(stderr, "healer: %s\n", err.message);
		hl_buf_free(&input);
		return EXIT_USAGE;
	}
	hl_aws_conn *conn = aws ? hl_aws_conn_new(aws) : NULL;
	char host[64] = "local";
	gethostname(host, sizeof(host) - 1);
	hl_activity_ctx *ctx = hl_activity_ctx_new(act, conn, dry_run, host);

	json_object *in = NULL, *out = NULL;
	json_tokener *tok = json_tokener_new();
	in = json_tokener_parse_ex(tok, input.data, (int)input.len);
	bool parsed = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	int rc;
	if (!parsed)
		rc = hl_activity_fail(ctx, "Healer.InvalidInput", "%s is not valid JSON", input_path);
	else
		rc = act->run(ctx, in, &out);
	int exit_code = 0;
	if (rc == HL_OK && out) {
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		json_object *e = json_object_new_object();
		const char *error = hl_activity_ctx_error(ctx);
		const char *cause = hl_activity_ctx_cause(ctx);
		json_object_object_add(e, "error", json_object_new_string(error ? error : "Healer.Internal"));
		json_object_object_add(e, "cause", json_object_new_string(cause ? cause : hl_status_name(rc)));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PRETTY));
		json_object_put(e);
		exit_code = 1;
	}
	json_object_put(in);
	json_object_put(out);
	hl_activity_ctx_free(ctx);
	hl_aws_conn_free(conn);
	hl_aws_free(aws);
	hl_creds_provider_free(provider);
	hl_buf_free(&input);
	return exit_code;
}

static int cmd_health(int argc, char **argv)
{
	const char *path = getenv("HEALER_HEALTH_FILE");
	int max_age = 30;
	const char *age = getenv("HEALER_HEALTH_MAX_AGE_S");
	if (age && *age)
		max_age = (int)strtol(age, NULL, 10);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--health-file") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--health-file=", 14) == 0)
			path = argv[i] + 14;
		else
			return usage_error("usage: healer health [--health-file FILE]");
	}
	if (!path || !*path)
		path = "/tmp/healer-health.json";
	if (max_age <= 0)
		max_age = 30;
	hl_err err;
	hl_err_clear(&err);
	if (hl_health_check(path, max_age, hl_wall_ms(hl_clock_system()), &err) < 0) {
		fprintf(stderr, "unhealthy: %s\n", err.message);
		return 1;
	}
	puts("healthy");
	return 0;
}

static void write_health(const hl_config *cfg, hl_pool *pool, bool draining)
{
	hl_pool_stats st;
	hl_err err;
	hl_pool_get_stats(pool, &st);
	const hl_clock *clock = hl_clock_system();
	/* While draining the poll loop ends by design: not stuck. */
	bool stuck = !draining && hl_mono_ms(clock) - st.last_progress_mono_ms > STUCK_AFTER_MS;
	const char *status = stuck ? "stuck" : draining ? "draining" : "ok";
	if (stuck)
		HL_LOG(HL_LOG_ERROR, "poll loop has not turned; reporting unhealthy",
		       HL_LI("since_ms", hl_mono_ms(clock) - st.last_progress_mono_ms));
	hl_err_clear(&err);
	if (hl_health_write(cfg->health_file, status, &st, hl_wall_ms(clock), &err) < 0)
		HL_LOG(HL_LOG_WARN, "cannot write the health file", HL_LS("detail", err.message));
}

static int cmd_serve(int argc, char **argv, sigset_t *signals)
{
	hl_config cfg;
	hl_err err;
	bool help = false, version = false;
	hl_err_clear(&err);
	if (hl_config_load(&cfg, argc, argv, &help, &version, &err) < 0) {
		fprintf(stderr, "healer: configuration error: %s\n", err.message);
		return EXIT_USAGE;
	}
	if (help) {
		hl_config_usage(stdout);
		return 0;
	}
	if (version) {
		printf("healer %s\n", HEALER_VERSION);
		return 0;
	}
	hl_log_set_level(cfg.log_level);
	hl_log_set_worker(cfg.worker_name);
	hl_outcome_metrics_enable(cfg.metrics_interval_s > 0);   /* before any thread */
	for (size_t i = 0; i < cfg.n_activities; i++) {
		const hl_activity *act = cfg.activities[i].activity;
		if (act->init && act->init(&err) < 0) {
			fprintf(stderr, "healer: configuration error: %s: %s\n", act->name, err.message);
			return EXIT_USAGE;
		}
	}

	hl_creds_provider *provider = NULL;
	hl_aws *aws = NULL;
	if (make_aws(cfg.region, &provider, &aws, &err) < 0) {
		fprintf(stderr, "healer: configuration error: %s\n", err.message);
		return EXIT_USAGE;
	}
	const hl_clock *clock = hl_clock_system();
	hl_pool *pool = hl_pool_start(&cfg, aws, &err);
	if (!pool) {
		HL_LOG(HL_LOG_ERROR, "cannot start the worker pool", HL_LS("detail", err.message));
		return 1;
	}
	for (size_t i = 0; i < cfg.n_activities; i++)
		HL_LOG(HL_LOG_INFO, "serving activity", HL_LS("activity", cfg.activities[i].name), HL_LS("implementation", cfg.activities[i].activity->name),
		       HL_LS("activityArn", cfg.activities[i].arn), HL_LI("slots", cfg.activities[i].slots),
		       HL_LI("heartbeat_s", cfg.activities[i].heartbeat_interval_s));
	HL_LOG(HL_LOG_INFO, "worker started", HL_LS("version", HEALER_VERSION), HL_LS("region", cfg.region),
	       HL_LB("dry_run", cfg.dry_run), HL_LI("slots", hl_config_total_slots(&cfg)),
	       HL_LI("drain_deadline_s", cfg.drain_deadline_s), HL_LI("pid", getpid()));

	bool draining = false;
	int64_t deadline = 0, next_health = 0;
	int64_t next_metrics = hl_mono_ms(clock) + (int64_t)cfg.metrics_interval_s * 1000;
	for (;;) {
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 200 * 1000000L };
		int sig = sigtimedwait(signals, NULL, &tick);
		int64_t now = hl_mono_ms(clock);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!draining) {
				draining = true;
				deadline = now + (int64_t)cfg.drain_deadline_s * 1000;
				HL_LOG(HL_LOG_INFO, "draining: no new polls; finishing held tasks",
				       HL_LS("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
				       HL_LI("deadline_s", cfg.drain_deadline_s));
				hl_pool_drain(pool);
			} else {
				HL_LOG0(HL_LOG_WARN, "second signal: stopping now; held tasks are answered Healer.WorkerShutdown");
				hl_pool_drain_now(pool);
				break;
			}
		}
		if (now >= next_health) {
			write_health(&cfg, pool, draining);
			next_health = now + HEALTH_WRITE_EVERY_MS;
		}
		if (cfg.metrics_interval_s > 0 && now >= next_metrics) {
			hl_metrics_flush(pool);
			next_metrics = now + (int64_t)cfg.metrics_interval_s * 1000;
		}
		if (draining && (hl_pool_idle(pool) || now >= deadline))
			break;
	}
	hl_pool_stats st;
	hl_pool_get_stats(pool, &st);
	if (cfg.metrics_interval_s > 0)
		hl_metrics_flush(pool);   /* what happened since the last flush */
	int shutdown = hl_pool_finish(pool);
	HL_LOG(HL_LOG_INFO, "worker stopped", HL_LI("tasks_received", st.tasks_received),
	       HL_LI("answered_worker_shutdown", shutdown), HL_LI("results_undelivered", st.results_undelivered));
	unlink(cfg.health_file);
	/* The pool may have left a thread behind (an activity that ignored
	 * cancellation): exit without tearing down what it may still use. */
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	sigset_t signals;
	hl_err err;

	/* Before any thread: curl's global state, SIGPIPE ignored, and the
	 * stop signals blocked so only the main thread takes them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	hl_err_clear(&err);
	if (hl_http_global_init(&err) < 0) {
		fprintf(stderr, "healer: %s\n", err.message);
		return 1;
	}

	if (argc > 1 && strcmp(argv[1], "run-activity") == 0)
		return cmd_run_activity(argc, argv);
	if (argc > 1 && strcmp(argv[1], "health") == 0)
		return cmd_health(argc, argv);
	hl_cli_command ops = argc > 1 ? hl_cli_find(argv[1]) : NULL;
	if (ops)
		return ops(argc, argv);
	if (argc > 1 && strcmp(argv[1], "run") == 0) {
		argv[1] = argv[0];
		return cmd_serve(argc - 1, argv + 1, &signals);
	}
	return cmd_serve(argc, argv, &signals);
}
