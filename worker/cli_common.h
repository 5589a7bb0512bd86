/* cli_common.h - what the operator commands (cli_status.c, cli_audit.c,
 * cli_replay.c, cli_killswitch.c) share: the AWS client they open with the
 * operator's credentials, argument parsing, error reporting and output.
 * The shared helpers are defined in cli_ops.c, each command in its own
 * file; internal to the healer binary (not a public header).
 * Single-threaded, like the commands.
 */
#ifndef HEALER_CLI_COMMON_H
#define HEALER_CLI_COMMON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "healer/aws.h"
#include "healer/creds.h"

/* Exit codes (their meaning per command: cli_ops.h). */
#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NOT_ACTING 3

/* The AWS client of one command run. */
typedef struct cli_ops {
	hl_creds_provider *provider;
	hl_aws *aws;
	hl_aws_conn *conn;
} cli_ops;

/* The options every command takes. */
typedef struct cli_common_opts {
	bool json;                 /* --json */
	const char *region;        /* --region REGION, or NULL */
} cli_common_opts;

/* One option of a command, for cli_parse. */
typedef enum {
	CLI_FLAG,                  /* --name: out is a bool *, set true */
	CLI_VALUE,                 /* --name VALUE / --name=VALUE: out is a const char ** */
	CLI_INT,                   /* --name N, N in lo..hi: out is an int * */
} cli_opt_kind;

typedef struct cli_opt {
	const char *name;
	cli_opt_kind kind;
	void *out;
	long lo, hi;               /* CLI_INT */
	const char *bad;           /* CLI_INT: the usage message for another N */
} cli_opt;

/* cli_parse's answer when it printed the help: the command exits 0. */
#define CLI_HELP_SHOWN (-1)

/* Prints "healer CMD: MSG" and the --help hint to stderr; returns EXIT_USAGE. */
int cli_fail_usage(const char *cmd, const char *msg);

/* Prints "healer CMD: WHAT failed: <err>" to stderr; returns EXIT_FAILED. */
int cli_aws_failed(const char *cmd, const char *what, const hl_err *err);

/* Parses the command's arguments (argv[2..]) in order: --help / -h prints
 * `help` (CLI_HELP_SHOWN); --json and --region go to *common; then `opts`
 * (ended by a NULL name); with `operand` non-NULL one word that does not
 * start with '-' (or "-") goes to *operand. Anything else: `unknown` as the
 * usage message. EXIT_OK, CLI_HELP_SHOWN, or EXIT_USAGE after printing why. */
int cli_parse(int argc, char **argv, const char *help, const cli_opt *opts, cli_common_opts *common,
	      const char **operand, const char *unknown);

/* Opens the AWS client for `region` (else AWS_REGION, else
 * AWS_DEFAULT_REGION) with the default credentials chain. EXIT_OK, or the
 * exit code after printing why. cli_close frees it (also after a failed
 * open, and more than once). */
int cli_open(cli_ops *o, const char *cmd, const char *region);
void cli_close(cli_ops *o);

/* Pretty-printed JSON on stdout. */
void cli_print_json(json_object *j);

/* A printable rendering of untrusted text (NULL -> "-") for a terminal. */
const char *cli_shown(const char *s, char *buf, size_t bufsz, size_t max);

/* o[key] when it is a string, else NULL. */
const char *cli_plain_str(json_object *o, const char *key);

/* before/after/tickets are stored as JSON text: parses them in place. */
void cli_parse_json_members(json_object *rec);

/* Runs the DynamoDB read `op` ("Scan" or "Query") with request `in`, page
 * after page (at most 20 pages), and appends at most `limit` items to
 * `items`: the wire form, or hl_ddb_plain copies when `plain`. `in` gets
 * each page's ExclusiveStartKey. */
int cli_ddb_collect(hl_aws_conn *c, const char *op, json_object *in, int limit, bool plain, json_object *items,
		    hl_err *err);

/* The commands. */
int cli_status(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_killswitch(int argc, char **argv);

#endif
