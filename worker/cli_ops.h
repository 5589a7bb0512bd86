/* cli_ops.h - the operator commands of the healer binary (cli_ops.c).
 *
 *   healer status  [--json] [--limit N]
 *   healer audit   (--resource ID | --execution ARN) [--json] [--limit N]
 *   healer replay  EVENT.json [--dry-run] [--new-id] [--wait] [--json] ...
 *   healer disable --reason TEXT [--actor NAME] [--json]
 *   healer enable  [--reason TEXT] [--actor NAME] [--json]
 *
 * Each takes --help. Exit codes (the same meaning for every command):
 *   0  done (status: the engine is acting on its own)
 *   1  an AWS call failed (replay --wait: the execution did not succeed)
 *   2  usage or configuration error
 *   3  status: the engine is NOT acting (kill switch off or stopped by the
 *      blast-radius limit); audit: no record; replay: an execution of this
 *      event already exists (ExecutionAlreadyExists)
 */
#ifndef HEALER_CLI_OPS_H
#define HEALER_CLI_OPS_H

/* The command named argv[1], or NULL when it is not an operator command.
 * A command takes the whole argv (argv[1] is its name) and returns the
 * process exit code. Call after hl_http_global_init. */
typedef int (*hl_cli_command)(int argc, char **argv);
hl_cli_command hl_cli_find(const char *name);

#endif
