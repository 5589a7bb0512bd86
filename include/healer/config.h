/* config.h - the worker's settings: environment variables, each with a
 * matching command-line flag that overrides it.
 *
 * Parsing is strict: an unknown activity, zero slots, a malformed ARN or a
 * missing region is an error naming the setting, and the worker exits 2
 * before it opens a single poll.
 */
#ifndef HEALER_CONFIG_H
#define HEALER_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "healer/activity.h"
#include "healer/common.h"
#include "healer/log.h"

#define HL_MAX_ACTIVITIES 16
#define HL_MAX_SLOTS_PER_ACTIVITY 1000   /* Step Functions' open-poll cap */
#define HL_MAX_ARN 256

typedef struct hl_activity_config {
	/* The name this process serves it under: the ARN suffix, the log and
	 * metric label. Usually the implementation's name; `label=impl:slots`
	 * serves one implementation under another name (e.g. a second state
	 * machine version's activity). */
	char name[65];
	const hl_activity *activity;
	int slots;
	char arn[HL_MAX_ARN];
	int heartbeat_interval_s;
} hl_activity_config;

typedef struct hl_config {
	hl_activity_config activities[HL_MAX_ACTIVITIES];
	size_t n_activities;
	char region[64];
	char worker_name[81];          /* GetActivityTask workerName: 1..80 */
	bool dry_run;
	hl_log_level log_level;
	int drain_deadline_s;
	int executors;                 /* 0 = one per slot */
	int metrics_interval_s;        /* EMF flush period; 0 = off */
	char health_file[256];
	int health_max_age_s;
	int argi;                      /* argv index of the first non-flag
					* argument (the subcommand), argc if
					* none; "--" ends the flags too */
} hl_config;

/* Fills cfg from the environment (envp-style lookup through getenv) and
 * then argv flags (argv[0] is the program; parsing stops at the first
 * non-flag, whose index goes to cfg->argi). Flags take `--flag value` or
 * `--flag=value`; --dry-run takes no separate value (`--dry-run=false` and
 * --no-dry-run exist). An empty environment variable counts as unset.
 * Returns 0, or HL_ERR_CONFIG with err naming the variable, the flag and
 * the offending value (sanitised). *help / *version are set when those
 * flags were given; the rest is then not validated and 0 is returned.
 * Not thread-safe (reads the environment): call it before threads. */
int hl_config_load(hl_config *cfg, int argc, char **argv, bool *help, bool *version,
		   hl_err *err) HL_MUST_CHECK;

/* Prints the --help text (every setting, its variable, flag and default). */
void hl_config_usage(FILE *out);

/* Total slots across activities. */
int hl_config_total_slots(const hl_config *cfg);

#endif
