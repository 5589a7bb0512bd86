/* cli_ops.c - the operator commands: status, audit, replay, disable, enable.
 *
 * This file finds the command (hl_cli_find) and holds what the commands share
 * (cli_common.h): the AWS client, argument parsing, error messages, output,
 * paged DynamoDB reads. Each command is a file of its own: cli_status.c,
 * cli_audit.c, cli_replay.c, cli_killswitch.c (disable / enable).
 *
 * They run with the operator's own AWS credentials (the same chain as the
 * worker: environment, profile, credential_process, ...) and read the same
 * HEALER_* settings as the workers (HEALER_KILL_SWITCH_PARAM,
 * HEALER_BREAKER_TABLE, HEALER_AUDIT_TABLE, HEALER_BREAKER_MAX,
 * HEALER_BLAST_MAX_*), plus HEALER_STATE_MACHINE_ARN for replay. The calls
 * only operators make (states:StartExecution, states:DescribeExecution,
 * dynamodb:Scan, ssm:PutParameter) are not granted to the workers; the
 * Terraform module outputs a policy with exactly what these commands need
 * (operator_policy_json).
 *
 *   status   the kill switch; the blast-radius state and the current window
 *            counts; the circuit breakers of this hour (open = at
 *            HEALER_BREAKER_MAX); the last N records of the audit table
 *            (a Scan, newest first by recordedAt).
 *   audit    every record of one resource (GSI resource-index, newest
 *            first) or of one execution (the table's hash key), in full;
 *            before/after/tickets (JSON text in the table) are parsed.
 *   replay   StartExecution of a saved EventBridge event with the input
 *            EventBridge would give ({"event", "dryRun"}), named
 *            "evt-<event id>" ("dry-evt-<event id>" for --dry-run), so Step
 *            Functions itself refuses a second replay of one event
 *            (ExecutionAlreadyExists, exit 3). --new-id gives the event a
 *            fresh random id first (a drill with a saved event that the
 *            engine has seen: the guard would call it a duplicate).
 *            --wait follows the execution with DescribeExecution.
 *   disable / enable
 *            the kill switch (SSM PutParameter, as before); enable also
 *            clears a blast-radius stop (blast.h). Both write an audit
 *            record: execution "operator", at "<time>#<action>", kind
 *            "operator", actor (--actor, else HEALER_OPERATOR, else
 *            USER@host) and the reason.
 *
 * Text from the tables is untrusted (it came from events): text output
 * shows it as printable ASCII only (hl_excerpt), JSON output escapes it.
 * Exit codes: see cli_ops.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_ops.h"
#include "healer/clock.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"

#define DDB_PAGES_MAX 20

/* ---- arguments and messages ----------------------------------------------------- */

int cli_fail_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "healer %s: %s\nRun 'healer %s --help'.\n", cmd, msg, cmd);
	return EXIT_USAGE;
}

int cli_aws_failed(const char *cmd, const char *what, const hl_err *err)
{
	fprintf(stderr, "healer %s: %s failed: %s\n", cmd, what, err->message);
	return EXIT_FAILED;
}

/* --name VALUE or --name=VALUE at argv[*i] (advances *i past VALUE). */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return false;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		*out = argv[++*i];
		return true;
	}
	return false;
}

/* argv[*i] as one of opts: 1 taken, 0 not one of them, EXIT_USAGE after
 * printing why (a CLI_INT out of range). */
static int own_opt(int argc, char **argv, int *i, const char *cmd, const cli_opt *opts)
{
	for (const cli_opt *o = opts; o && o->name; o++) {
		const char *v = NULL;
		if (o->kind == CLI_FLAG && strcmp(argv[*i], o->name) == 0) {
			*(bool *)o->out = true;
			return 1;
		}
		if (o->kind == CLI_FLAG || !opt_value(argc, argv, i, o->name, &v))
			continue;
		if (o->kind == CLI_VALUE) {
			*(const char **)o->out = v;
			return 1;
		}
		char *end = NULL;
		long n = strtol(v, &end, 10);
		if (!end || *end || n < o->lo || n > o->hi) {
			cli_fail_usage(cmd, o->bad);
			return -1;
		}
		*(int *)o->out = (int)n;
		return 1;
	}
	return 0;
}

int cli_parse(int argc, char **argv, const char *help, const cli_opt *opts, cli_common_opts *common,
	      const char **operand, const char *unknown)
{
	const char *cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(help, stdout);
			return CLI_HELP_SHOWN;
		}
		if (strcmp(a, "--json") == 0) {
			common->json = true;
			continue;
		}
		if (opt_value(argc, argv, &i, "--region", &common->region))
			continue;
		int got = own_opt(argc, argv, &i, cmd, opts);
		if (got < 0)
			return EXIT_USAGE;
		if (got > 0)
			continue;
		if (operand && !*operand && (a[0] != '-' || strcmp(a, "-") == 0)) {
			*operand = a;
			continue;
		}
		return cli_fail_usage(cmd, unknown);
	}
	return EXIT_OK;
}

/* ---- the AWS client ------------------------------------------------------------- */

int cli_open(cli_ops *o, const char *cmd, const char *region)
{
	hl_err err;
	hl_err_clear(&err);
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		return cli_fail_usage(cmd, "no AWS region: set AWS_REGION or give --region");
	if (!hl_valid_region(region))
		return cli_fail_usage(cmd, "the region is not a valid AWS region name");
	hl_creds_config ccfg = { .clock = hl_clock_system() };
	o->provider = hl_creds_provider_new_default(&ccfg);
	if (!o->provider) {
		fprintf(stderr, "healer %s: cannot set up the credentials chain\n", cmd);
		return EXIT_USAGE;
	}
	hl_aws_config acfg = { .region = region, .creds = o->provider, .clock = hl_clock_system() };
	o->aws = hl_aws_new(&acfg, &err);
	if (!o->aws) {
		fprintf(stderr, "healer %s: configuration error: %s\n", cmd, err.message);
		return EXIT_USAGE;
	}
	o->conn = hl_aws_conn_new(o->aws);
	return EXIT_OK;
}

void cli_close(cli_ops *o)
{
	hl_aws_conn_free(o->conn);
	hl_aws_free(o->aws);
	hl_creds_provider_free(o->provider);
	memset(o, 0, sizeof(*o));
}

/* ---- output ---------------------------------------------------------------------- */

void cli_print_json(json_object *j)
{
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

const char *cli_shown(const char *s, char *buf, size_t bufsz, size_t max)
{
	hl_excerpt(s ? s : "-", max, buf, bufsz);
	return buf;
}

const char *cli_plain_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

void cli_parse_json_members(json_object *rec)
{
	static const char *const members[] = { "before", "after", "tickets", NULL };
	for (size_t i = 0; members[i]; i++) {
		const char *t = cli_plain_str(rec, members[i]);
		if (!t)
			continue;
		json_object *v = json_tokener_parse(t);
		if (v)
			json_object_object_add(rec, members[i], v);
	}
}

/* ---- DynamoDB reads -------------------------------------------------------------- */

int cli_ddb_collect(hl_aws_conn *c, const char *op, json_object *in, int limit, bool plain, json_object *items,
		    hl_err *err)
{
	int rc = HL_OK;
	for (int page = 0; page < DDB_PAGES_MAX && (int)json_object_array_length(items) < limit; page++) {
		json_object *out = NULL, *got = NULL, *lek = NULL;
		rc = hl_aws_call(c, &hl_svc_dynamodb, op, in, &out, NULL, err);
		if (rc == HL_OK && json_object_object_get_ex(out, "Items", &got) &&
		    json_object_is_type(got, json_type_array))
			for (size_t i = 0; i < json_object_array_length(got) && (int)json_object_array_length(items) < limit; i++) {
				json_object *it = json_object_array_get_idx(got, i);
				json_object_array_add(items, plain ? hl_ddb_plain(it) : json_object_get(it));
			}
		bool more = rc == HL_OK && json_object_object_get_ex(out, "LastEvaluatedKey", &lek);
		if (more)
			json_object_object_add(in, "ExclusiveStartKey", json_object_get(lek));
		json_object_put(out);
		if (!more)
			break;
	}
	return rc;
}

/* ---- dispatch -------------------------------------------------------------------- */

hl_cli_command hl_cli_find(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "status") == 0)
		return cli_status;
	if (strcmp(name, "audit") == 0)
		return cli_audit;
	if (strcmp(name, "replay") == 0)
		return cli_replay;
	if (strcmp(name, "disable") == 0 || strcmp(name, "enable") == 0)
		return cli_killswitch;
	return NULL;
}
