/* test_config.c - settings from environment and flags (suite "config").
 *
 * Criterion runs each test in its own process, and every test starts from
 * an environment with all of healer's variables removed, so setenv() in one
 * test cannot leak into another.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/config.h"

#define PREFIX_USE1 "arn:aws:states:us-east-1:123456789012:activity:healer-"
#define ARN_USE1 PREFIX_USE1 "echo"

static const char *const all_vars[] = {
	"HEALER_ACTIVITIES", "HEALER_ACTIVITY_ARN_PREFIX", "HEALER_ACTIVITY_ARNS",
	"AWS_REGION", "AWS_DEFAULT_REGION", "HEALER_WORKER_NAME", "HEALER_DRY_RUN",
	"HEALER_LOG_LEVEL", "HEALER_DRAIN_DEADLINE_S", "HEALER_HEARTBEAT_S",
	"HEALER_EXECUTORS", "HEALER_METRICS_INTERVAL_S", "HEALER_HEALTH_FILE",
	"HEALER_HEALTH_MAX_AGE_S", "ECS_CONTAINER_METADATA_URI_V4",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
}

/* A minimal valid environment. */
static void base_env(void)
{
	setenv("HEALER_ACTIVITIES", "echo:8", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("HEALER_ACTIVITY_ARN_PREFIX", PREFIX_USE1, 1);
}

TestSuite(config, .init = clean_env);

#define ARGV(...) ((const char *[]){ "healer", __VA_ARGS__ NULL })

static int load(hl_config *cfg, hl_err *err, const char **argv)
{
	int argc = 0;
	bool help = false, version = false;

	while (argv[argc])
		argc++;
	hl_err_clear(err);
	return hl_config_load(cfg, argc, (char **)argv, &help, &version, err);
}

/* Loads and expects HL_ERR_CONFIG with a message containing every given
 * fragment. */
static void expect_fail(const char **argv, const char *const *frags, size_t n)
{
	hl_config cfg;
	hl_err err;
	int rc = load(&cfg, &err, argv);
	cr_assert_eq(rc, HL_ERR_CONFIG, "rc %d (%s) for argv[1] %s, want \"%s\"", rc,
		     err.message, argv[1] ? argv[1] : "-", n ? frags[n - 1] : "");
	cr_assert_eq(err.code, HL_ERR_CONFIG);
	for (size_t i = 0; i < n; i++)
		cr_assert(strstr(err.message, frags[i]), "message \"%s\" lacks \"%s\"",
			  err.message, frags[i]);
}

#define EXPECT_FAIL(argv, ...)                                                    \
	do {                                                                      \
		const char *const frags_[] = { __VA_ARGS__ };                     \
		expect_fail((argv), frags_, sizeof(frags_) / sizeof(frags_[0])); \
	} while (0)

/* Loads with argv and expects exactly `message`. */
static void expect_message(const char **argv, const char *message)
{
	hl_config cfg;
	hl_err err;
	int rc = load(&cfg, &err, argv);
	cr_assert_eq(rc, HL_ERR_CONFIG, "rc %d", rc);
	cr_assert_str_eq(err.message, message);
}

/* ---- valid configurations ------------------------------------------------ */

Test(config, env_only_defaults)
{
	hl_config cfg;
	hl_err err;

	base_env();
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.n_activities, 1);
	cr_assert_str_eq(cfg.activities[0].activity->name, "echo");
	cr_assert_eq(cfg.activities[0].slots, 8);
	cr_assert_str_eq(cfg.activities[0].arn, ARN_USE1);
	cr_assert_eq(cfg.activities[0].heartbeat_interval_s, 20);
	cr_assert_str_eq(cfg.region, "us-east-1");
	cr_assert_eq(cfg.dry_run, false);
	cr_assert_eq(cfg.log_level, HL_LOG_INFO);
	cr_assert_eq(cfg.drain_deadline_s, 100);
	cr_assert_eq(cfg.executors, 0);
	cr_assert_eq(cfg.metrics_interval_s, 60);
	cr_assert_str_eq(cfg.health_file, "/tmp/healer-health.json");
	cr_assert_eq(cfg.health_max_age_s, 30);
	cr_assert_eq(cfg.argi, 1);
	cr_assert_eq(hl_config_total_slots(&cfg), 8);
	size_t n = strlen(cfg.worker_name);
	cr_assert(n >= 1 && n <= 80);
}

Test(config, env_and_flags)
{
	hl_config cfg;
	hl_err err;

	base_env();
	setenv("HEALER_LOG_LEVEL", "error", 1);
	const char **argv = ARGV("--log-level=DEBUG", "--dry-run", "--drain-deadline", "50",
				 "--heartbeat-interval", "echo=15", "--executors", "4",
				 "--metrics-interval=0", "--health-file", "/run/h.json",
				 "--health-max-age", "10", "--worker-name", "w-1", "run", "--bogus",);
	cr_assert_eq(load(&cfg, &err, argv), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.log_level, HL_LOG_DEBUG);
	cr_assert_eq(cfg.dry_run, true);
	cr_assert_eq(cfg.drain_deadline_s, 50);
	cr_assert_eq(cfg.activities[0].heartbeat_interval_s, 15);
	cr_assert_eq(cfg.executors, 4);
	cr_assert_eq(cfg.metrics_interval_s, 0);
	cr_assert_str_eq(cfg.health_file, "/run/h.json");
	cr_assert_eq(cfg.health_max_age_s, 10);
	cr_assert_str_eq(cfg.worker_name, "w-1");
	/* parsing stopped at the subcommand; "--bogus" after it is not ours */
	cr_assert_str_eq(argv[cfg.argi], "run");
}

Test(config, flag_overrides_env)
{
	hl_config cfg;
	hl_err err;

	base_env();
	setenv("HEALER_DRY_RUN", "true", 1);
	setenv("HEALER_DRAIN_DEADLINE_S", "not-a-number", 1);   /* overridden */
	setenv("HEALER_WORKER_NAME", "from-env", 1);
	const char **argv = ARGV("--activities", "echo:3", "--region=eu-west-1",
				 "--activity-arn-prefix",
				 "arn:aws:states:eu-west-1:123456789012:activity:x-",
				 "--no-dry-run", "--drain-deadline=7", "--worker-name", "from-flag",);
	cr_assert_eq(load(&cfg, &err, argv), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.activities[0].slots, 3);
	cr_assert_str_eq(cfg.region, "eu-west-1");
	cr_assert_str_eq(cfg.activities[0].arn,
			 "arn:aws:states:eu-west-1:123456789012:activity:x-echo");
	cr_assert_eq(cfg.dry_run, false);
	cr_assert_eq(cfg.drain_deadline_s, 7);
	cr_assert_str_eq(cfg.worker_name, "from-flag");
}

Test(config, default_region_and_full_arns)
{
	hl_config cfg;
	hl_err err;

	setenv("HEALER_ACTIVITIES", " echo:2 ", 1);
	setenv("AWS_DEFAULT_REGION", "us-gov-west-1", 1);
	setenv("HEALER_ACTIVITY_ARN_PREFIX", "arn:aws:states:us-east-1:123456789012:activity:p-",
	       1);   /* ignored: the full ARN wins */
	setenv("HEALER_ACTIVITY_ARNS",
	       "echo=arn:aws-us-gov:states:us-gov-west-1:210987654321:activity:My_Echo-1", 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_str_eq(cfg.region, "us-gov-west-1");
	cr_assert_str_eq(cfg.activities[0].arn,
			 "arn:aws-us-gov:states:us-gov-west-1:210987654321:activity:My_Echo-1");
	cr_assert_eq(cfg.activities[0].slots, 2);

	/* AWS_REGION wins over AWS_DEFAULT_REGION */
	setenv("AWS_REGION", "us-east-1", 1);
	unsetenv("HEALER_ACTIVITY_ARNS");
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_str_eq(cfg.region, "us-east-1");
}

Test(config, heartbeat_forms)
{
	hl_config cfg;
	hl_err err;

	base_env();
	setenv("HEALER_HEARTBEAT_S", "45", 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.activities[0].heartbeat_interval_s, 45);
	setenv("HEALER_HEARTBEAT_S", "30, echo=5", 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.activities[0].heartbeat_interval_s, 5);
}

Test(config, dry_run_words)
{
	static const struct {
		const char *v;
		bool want;
	} cases[] = { { "true", true }, { "TRUE", true }, { "1", true }, { "yes", true },
		      { "false", false }, { "0", false }, { "No", false } };
	hl_config cfg;
	hl_err err;

	base_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("HEALER_DRY_RUN", cases[i].v, 1);
		cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s: %s", cases[i].v, err.message);
		cr_assert_eq(cfg.dry_run, cases[i].want, "%s", cases[i].v);
	}
	cr_assert_eq(load(&cfg, &err, ARGV("--dry-run=no",)), HL_OK);
	cr_assert_eq(cfg.dry_run, false);
	unsetenv("HEALER_DRY_RUN");
	cr_assert_eq(load(&cfg, &err, ARGV("--dry-run",)), HL_OK);
	cr_assert_eq(cfg.dry_run, true);
}

Test(config, worker_name_from_ecs_and_cut)
{
	hl_config cfg;
	hl_err err;
	char long_name[200];

	base_env();
	setenv("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/0f5f1d0cba8a43a6-1234/",
	       1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_str_eq(cfg.worker_name, "0f5f1d0cba8a43a6-1234");

	memset(long_name, 'w', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	setenv("HEALER_WORKER_NAME", long_name, 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_eq(strlen(cfg.worker_name), 80);
}

Test(config, help_and_version_skip_validation)
{
	hl_config cfg;
	hl_err err;
	bool help = false, version = false;
	const char **argv = ARGV("--bogus", "-h",);

	/* nothing set at all, and an unknown flag before --help */
	cr_assert_eq(hl_config_load(&cfg, 3, (char **)argv, &help, &version, &err), HL_OK);
	cr_assert(help);
	cr_assert_not(version);
	argv = ARGV("--version",);
	help = false;
	cr_assert_eq(hl_config_load(&cfg, 2, (char **)argv, &help, &version, &err), HL_OK);
	cr_assert(version);
	cr_assert_not(help);
}

Test(config, double_dash_ends_flags)
{
	hl_config cfg;
	hl_err err;
	const char **argv = ARGV("--", "--not-a-flag",);

	base_env();
	cr_assert_eq(load(&cfg, &err, argv), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.argi, 2);
}

Test(config, usage_lists_every_setting)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	hl_config_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]) - 1; i++)
		cr_expect(strstr(text, all_vars[i]), "usage lacks %s", all_vars[i]);
	static const char *const must[] = {
		"--activities", "--activity-arn-prefix", "--activity-arns", "--region",
		"--worker-name", "--dry-run", "--log-level", "--drain-deadline",
		"--heartbeat-interval", "--executors", "--metrics-interval", "--health-file",
		"--health-max-age", "run-activity NAME --input FILE", "healer health",
		"--version", "--help", "echo", "/tmp/healer-health.json",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		cr_expect(strstr(text, must[i]), "usage lacks %s", must[i]);
	free(text);
}

/* ---- errors ------------------------------------------------------------------ */

Test(config, missing_region)
{
	setenv("HEALER_ACTIVITIES", "echo:1", 1);
	setenv("HEALER_ACTIVITY_ARN_PREFIX", PREFIX_USE1, 1);
	expect_message(ARGV(), "AWS_REGION (--region) is not set");
}

Test(config, missing_activities)
{
	setenv("AWS_REGION", "us-east-1", 1);
	expect_message(ARGV(), "HEALER_ACTIVITIES (--activities) is not set");
}

Test(config, bad_region)
{
	base_env();
	EXPECT_FAIL(ARGV("--region", "US_EAST_1",), "AWS_REGION (--region)", "\"US_EAST_1\"");
}

Test(config, unknown_activity)
{
	base_env();
	setenv("HEALER_ACTIVITIES", "diagnoze:8", 1);
	EXPECT_FAIL(ARGV(),
		    "HEALER_ACTIVITIES (--activities): unknown activity \"diagnoze\"; known: ",
		    "echo");
}

Test(config, slots_zero)
{
	base_env();
	setenv("HEALER_ACTIVITIES", "echo:0", 1);
	expect_message(ARGV(), "HEALER_ACTIVITIES (--activities): slots for \"echo\" must be "
			       "1..1000, got 0");
}

Test(config, slots_too_many)
{
	base_env();
	expect_message(ARGV("--activities=echo:1001",),
		       "HEALER_ACTIVITIES (--activities): slots for \"echo\" must be 1..1000, "
		       "got 1001");
}

Test(config, slots_not_a_number)
{
	static const char *const bad[] = { "echo:10x", "echo:", "echo:-", "echo: ",
					   "echo:99999999999999999999", "echo:+5", "echo:0x10" };
	base_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("HEALER_ACTIVITIES", bad[i], 1);
		EXPECT_FAIL(ARGV(), "HEALER_ACTIVITIES (--activities)", "slots for \"echo\"");
	}
	setenv("HEALER_ACTIVITIES", "echo:-1", 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITIES (--activities)", "must be 1..1000, got -1");
}

Test(config, activities_duplicate)
{
	base_env();
	setenv("HEALER_ACTIVITIES", "echo:1,echo:2", 1);
	expect_message(ARGV(), "HEALER_ACTIVITIES (--activities): activity \"echo\" is listed "
			       "twice");
}

Test(config, activities_malformed_items)
{
	static const char *const bad[] = { "echo", ":3", "echo:1,", ",echo:1", "echo=1" };
	base_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("HEALER_ACTIVITIES", bad[i], 1);
		EXPECT_FAIL(ARGV(), "HEALER_ACTIVITIES (--activities)");
	}
}

Test(config, hostile_value_is_sanitised_in_message)
{
	hl_config cfg;
	hl_err err;
	char big[600];

	base_env();
	setenv("HEALER_ACTIVITIES", "\x1b[31mecho\n\":1", 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_ERR_CONFIG);
	for (const char *p = err.message; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "control char in \"%s\"", err.message);
	cr_assert(strstr(err.message, "\\x1b[31mecho\\x0a\\\""), "%s", err.message);

	memset(big, 'a', sizeof(big) - 3);
	memcpy(big + sizeof(big) - 3, ":1", 3);
	setenv("HEALER_ACTIVITIES", big, 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_ERR_CONFIG);
	cr_assert(strstr(err.message, "...\""), "%s", err.message);
	cr_assert_lt(strlen(err.message), 400);
}

Test(config, malformed_arns)
{
	static const struct {
		const char *arn;
		const char *why;
	} bad[] = {
		{ "arn:aws:states:us-east-1:123456789012:activity", "must be arn:" },
		{ "arn:aws:states:us-east-1:123456789012:activity:a:b", "must be arn:" },
		{ "ARN:aws:states:us-east-1:123456789012:activity:a", "must be arn:" },
		{ "urn:aws:states:us-east-1:123456789012:activity:a", "must be arn:" },
		{ "arn:aws-xx:states:us-east-1:123456789012:activity:a", "partition" },
		{ "arn::states:us-east-1:123456789012:activity:a", "partition" },
		{ "arn:aws:lambda:us-east-1:123456789012:activity:a", "service" },
		{ "arn:aws:states::123456789012:activity:a", "region" },
		{ "arn:aws:states:US-EAST-1:123456789012:activity:a", "region" },
		{ "arn:aws:states:us-east-1:12345678901:activity:a", "account" },
		{ "arn:aws:states:us-east-1:1234567890123:activity:a", "account" },
		{ "arn:aws:states:us-east-1:12345678901x:activity:a", "account" },
		{ "arn:aws:states:us-east-1:123456789012:stateMachine:a", "resource type" },
		{ "arn:aws:states:us-east-1:123456789012:activity:", "activity name" },
		{ "arn:aws:states:us-east-1:123456789012:activity:a.b", "activity name" },
		{ "arn:aws:states:us-east-1:123456789012:activity:a b", "activity name" },
		{ "arn:aws:states:us-east-1:123456789012:activity:"
		  "a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789x",
		  "activity name" },
	};
	char v[512];

	base_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(v, sizeof(v), "echo=%s", bad[i].arn);
		setenv("HEALER_ACTIVITY_ARNS", v, 1);
		EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARNS (--activity-arns)", "\"echo\"",
			    bad[i].why);
	}

	/* the longest name allowed */
	hl_config cfg;
	hl_err err;
	setenv("HEALER_ACTIVITY_ARNS",
	       "echo=arn:aws-cn:states:us-east-1:123456789012:activity:"
	       "a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789",
	       1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
}

Test(config, malformed_prefix_and_long_arn)
{
	char prefix[300];

	base_env();
	setenv("HEALER_ACTIVITY_ARN_PREFIX", "arn:aws:states:us-east-1:123:activity:h-", 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARN_PREFIX (--activity-arn-prefix)", "account",
		    "arn:aws:states:us-east-1:123:activity:h-echo");

	snprintf(prefix, sizeof(prefix), "%s%0250d", "arn:aws:states:us-east-1:123456789012:activity:", 0);
	setenv("HEALER_ACTIVITY_ARN_PREFIX", prefix, 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARN_PREFIX (--activity-arn-prefix)", "longer than");
}

Test(config, arns_entries)
{
	base_env();
	setenv("HEALER_ACTIVITY_ARNS", "nope=" ARN_USE1, 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARNS (--activity-arns)",
		    "unknown activity \"nope\"");
	setenv("HEALER_ACTIVITY_ARNS", "echo=" ARN_USE1 ",echo=" ARN_USE1, 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARNS (--activity-arns)", "listed twice");
	setenv("HEALER_ACTIVITY_ARNS", ARN_USE1, 1);
	EXPECT_FAIL(ARGV(), "HEALER_ACTIVITY_ARNS (--activity-arns)", "expected NAME=ARN");
}

Test(config, no_arn_source)
{
	setenv("HEALER_ACTIVITIES", "echo:1", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	EXPECT_FAIL(ARGV(), "no ARN for activity \"echo\"", "HEALER_ACTIVITY_ARN_PREFIX",
		    "--activity-arn-prefix", "HEALER_ACTIVITY_ARNS", "--activity-arns");
}

Test(config, region_mismatch)
{
	base_env();
	EXPECT_FAIL(ARGV("--region", "eu-west-1",),
		    "HEALER_ACTIVITY_ARN_PREFIX (--activity-arn-prefix)", "\"us-east-1\"",
		    "AWS_REGION (--region) is \"eu-west-1\"");
	setenv("HEALER_ACTIVITY_ARNS", "echo=arn:aws:states:eu-west-2:123456789012:activity:e",
	       1);
	EXPECT_FAIL(ARGV("--region", "eu-west-1",), "HEALER_ACTIVITY_ARNS (--activity-arns)",
		    "\"eu-west-2\"", "AWS_REGION (--region)");
}

Test(config, bad_numbers)
{
	static const struct {
		const char *var;
		const char *flag;
		const char *value;
	} bad[] = {
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "10x" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "-1" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "0" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "3601" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "99999999999999999999" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", " 5" },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "5 " },
		{ "HEALER_DRAIN_DEADLINE_S", "--drain-deadline", "1e3" },
		{ "HEALER_EXECUTORS", "--executors", "-1" },
		{ "HEALER_EXECUTORS", "--executors", "4097" },
		{ "HEALER_METRICS_INTERVAL_S", "--metrics-interval", "-1" },
		{ "HEALER_METRICS_INTERVAL_S", "--metrics-interval", "abc" },
		{ "HEALER_HEALTH_MAX_AGE_S", "--health-max-age", "0" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "0" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "10x" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "echo=abc" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "echo=3601" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "diagnoze=10" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "echo=1,echo=2" },
		{ "HEALER_HEARTBEAT_S", "--heartbeat-interval", "10,20" },
	};
	char name[64];

	base_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "%s (%s)", bad[i].var, bad[i].flag);
		/* through the environment ... */
		setenv(bad[i].var, bad[i].value, 1);
		EXPECT_FAIL(ARGV(), name);
		unsetenv(bad[i].var);
		/* ... and through the flag */
		EXPECT_FAIL(ARGV(bad[i].flag, bad[i].value,), name);
	}
}

Test(config, exact_number_messages)
{
	base_env();
	expect_message(ARGV("--drain-deadline", "10x",),
		       "HEALER_DRAIN_DEADLINE_S (--drain-deadline): must be an integer 1..3600, "
		       "got \"10x\"");
	expect_message(ARGV("--drain-deadline=-1",),
		       "HEALER_DRAIN_DEADLINE_S (--drain-deadline): must be 1..3600, got -1");
	expect_message(ARGV("--executors", "99999999999999999999",),
		       "HEALER_EXECUTORS (--executors): must be an integer 0..4096, got "
		       "\"99999999999999999999\"");
}

Test(config, other_bad_values)
{
	base_env();
	EXPECT_FAIL(ARGV("--log-level", "verbose",), "HEALER_LOG_LEVEL (--log-level)",
		    "\"verbose\"");
	EXPECT_FAIL(ARGV("--dry-run=maybe",), "HEALER_DRY_RUN (--dry-run)", "\"maybe\"");
	EXPECT_FAIL(ARGV("--worker-name", "a\tb",), "HEALER_WORKER_NAME (--worker-name)");
	EXPECT_FAIL(ARGV("--worker-name=",), "HEALER_WORKER_NAME (--worker-name)");
	EXPECT_FAIL(ARGV("--health-file=",), "HEALER_HEALTH_FILE (--health-file)");
}

Test(config, unknown_flags)
{
	base_env();
	expect_message(ARGV("--bogus",), "unknown flag \"--bogus\" (see --help)");
	EXPECT_FAIL(ARGV("--bogus=1",), "unknown flag \"--bogus=1\"");
	EXPECT_FAIL(ARGV("-x",), "unknown flag \"-x\"");
	EXPECT_FAIL(ARGV("--no-dry-run=1",), "unknown flag");
	EXPECT_FAIL(ARGV("--region",), "AWS_REGION (--region)", "needs a value");
}

/* LABEL=IMPL:SLOTS serves one implementation under another name. */
Test(config, labels_serve_an_implementation_twice)
{
	hl_config cfg;
	hl_err err;
	base_env();
	setenv("HEALER_ACTIVITIES", "echo:2,echo-b=echo:3", 1);
	setenv("HEALER_HEARTBEAT_S", "30,echo-b=5", 1);
	cr_assert_eq(load(&cfg, &err, ARGV()), HL_OK, "%s", err.message);
	cr_assert_eq(cfg.n_activities, 2);
	cr_assert_str_eq(cfg.activities[1].name, "echo-b");
	cr_assert_str_eq(cfg.activities[1].activity->name, "echo");
	cr_assert_str_eq(cfg.activities[1].arn, PREFIX_USE1 "echo-b");
	cr_assert_eq(cfg.activities[1].heartbeat_interval_s, 5);
	cr_assert_eq(cfg.activities[0].heartbeat_interval_s, 30);
	cr_assert_eq(hl_config_total_slots(&cfg), 5);
}

Test(config, bad_labels)
{
	base_env();
	setenv("HEALER_ACTIVITIES", "Echo_B=echo:2", 1);
	expect_message(ARGV(), "HEALER_ACTIVITIES (--activities): label \"Echo_B\" must be 1..64 of a-z, 0-9 and '-'");
	setenv("HEALER_ACTIVITIES", "x=nope:2", 1);
	const char *frags[] = { "HEALER_ACTIVITIES", "unknown activity \"nope\"" };
	expect_fail(ARGV(), frags, 2);
	setenv("HEALER_ACTIVITIES", "echo:1,echo=echo:2", 1);
	expect_message(ARGV(), "HEALER_ACTIVITIES (--activities): activity \"echo\" is listed twice");
}
