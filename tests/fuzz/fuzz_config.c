/* fuzz_config.c - libFuzzer target: the worker's settings, from the
 * environment and from flags (hl_config_load, include/healer/config.h).
 *
 * Input: NUL-separated pieces (at most 64). A piece that looks like
 * "HEALER_...=value", "AWS_...=value" or "ECS_CONTAINER_METADATA_URI_V4=..."
 * is put in the environment; every other piece is the next argv entry
 * (argv[0] is "healer"). Each run sees the process environment without
 * any HEALER_* / AWS_* variable, plus its own pieces.
 *
 * Invariants: help/version short-cut with 0; otherwise 0 means a complete,
 * valid configuration (1..16 activities, each with an implementation,
 * 1..1000 slots, an activity ARN, a region, a printable 1..80-byte worker
 * name, argi within argv) and a failure is HL_ERR_CONFIG with a message free
 * of control bytes (offending values are shown sanitised).
 * Corpus: tests/fuzz/corpus/config/.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/config.h"

extern char **environ;

/* The process environment without HEALER_* / AWS_* / the ECS metadata URI;
 * each run gets a copy of it plus its own pieces, installed by pointing
 * `environ` at an array (setenv would leak every fuzzed value). */
static char **base_env;
static size_t n_base;

static bool ours(const char *e)
{
	return strncmp(e, "HEALER_", 7) == 0 || strncmp(e, "AWS_", 4) == 0 ||
	       strncmp(e, "ECS_CONTAINER_METADATA_URI_V4=", 30) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	base_env = calloc(n + 1, sizeof(char *));
	if (!base_env)
		abort();
	for (char **e = environ; e && *e; e++)
		if (!ours(*e))
			base_env[n_base++] = *e;
	return 0;
}

static bool env_piece(const char *s)
{
	const char *eq = strchr(s, '=');
	return eq && eq != s && ours(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **p = NULL;
	size_t n = fuzz_split(data, size, '\0', 64, &p);
	char **argv = calloc(n + 2, sizeof(char *));
	char **envp = calloc(n_base + n + 1, sizeof(char *));
	int argc = 0;
	size_t envc = n_base;
	if (!argv || !envp)
		abort();
	memcpy(envp, base_env, n_base * sizeof(char *));
	argv[argc++] = (char *)"healer";
	for (size_t i = 0; i < n; i++) {
		if (env_piece(p[i]))
			envp[envc++] = p[i];
		else
			argv[argc++] = p[i];
	}
	argv[argc] = NULL;
	envp[envc] = NULL;
	char **saved = environ;
	environ = envp;

	hl_config cfg;
	bool help = false, version = false;
	hl_err err;
	hl_err_clear(&err);
	int rc = hl_config_load(&cfg, argc, argv, &help, &version, &err);
	if (rc == HL_OK && !help && !version) {
		if (cfg.n_activities < 1 || cfg.n_activities > HL_MAX_ACTIVITIES)
			fuzz_fail("config", "activity count out of range");
		for (size_t i = 0; i < cfg.n_activities; i++) {
			const hl_activity_config *a = &cfg.activities[i];
			if (!a->activity || a->slots < 1 || a->slots > HL_MAX_SLOTS_PER_ACTIVITY)
				fuzz_fail("config", "activity without implementation or slots");
			fuzz_check_no_controls(a->name, sizeof(a->name), "activity name");
			fuzz_check_no_controls(a->arn, sizeof(a->arn), "activity ARN");
			if (strncmp(a->arn, "arn:", 4) != 0)
				fuzz_fail("config: activity ARN", a->arn);
		}
		fuzz_check_no_controls(cfg.region, sizeof(cfg.region), "region");
		if (!cfg.region[0])
			fuzz_fail("config", "no region");
		fuzz_check_no_controls(cfg.worker_name, sizeof(cfg.worker_name), "worker name");
		if (!cfg.worker_name[0])
			fuzz_fail("config", "empty worker name");
		fuzz_check_terminated(cfg.health_file, sizeof(cfg.health_file), "health file");
		if (cfg.argi < 1 || cfg.argi > argc)
			fuzz_fail("config", "argi out of range");
		(void)hl_config_total_slots(&cfg);
	} else if (rc < 0) {
		if (rc != HL_ERR_CONFIG)
			fuzz_fail("config", "failure that is not HL_ERR_CONFIG");
		fuzz_check_no_controls(err.message, sizeof(err.message), "config error message");
	}
	environ = saved;
	free(envp);
	free(argv);
	fuzz_pieces_free(p, n);
	return 0;
}
