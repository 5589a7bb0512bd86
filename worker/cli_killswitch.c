/* cli_killswitch.c - `healer disable` / `healer enable`: the kill switch.
 *
 * Sets the kill switch (SSM PutParameter); enable also clears a
 * blast-radius stop (blast.h). Both write an audit record: execution
 * "operator", at "<time>#<action>", kind "operator", actor (--actor, else
 * HEALER_OPERATOR, else USER@host) and the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "healer/blast.h"
#include "healer/clock.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/killswitch.h"
#include "healer/log.h"
#include "healer/record.h"

/* The operator's name: --actor, HEALER_OPERATOR, USER@host. Cleaned. */
static char *actor_name(const char *flag)
{
	const char *a = flag && *flag ? flag : getenv("HEALER_OPERATOR");
	char raw[300];
	if (a && *a) {
		snprintf(raw, sizeof(raw), "%s", a);
	} else {
		const char *user = getenv("USER");
		if (!user || !*user)
			user = getenv("LOGNAME");
		char host[128] = "";
		if (gethostname(host, sizeof(host) - 1) != 0)
			host[0] = '\0';
		snprintf(raw, sizeof(raw), "%s@%s", user && *user ? user : "unknown", host[0] ? host : "unknown");
	}
	char out[200];
	hl_excerpt(raw, 128, out, sizeof(out));
	return hl_xstrdup(out);
}

static const char KILLSWITCH_HELP[] =
	"Usage: healer disable --reason TEXT [--actor NAME] [--json] [--region REGION]\n"
	"       healer enable [--reason TEXT] [--actor NAME] [--json] [--region REGION]\n"
	"\n"
	"disable sets the kill switch (HEALER_KILL_SWITCH_PARAM, default /healer/enabled)\n"
	"to false: within the guard's cache period (at most 10 s) every execution\n"
	"escalates as \"engine disabled\". enable sets it to true and also clears a\n"
	"stop by the blast-radius limit (the counters start again from zero).\n"
	"Both write an audit record (execution \"operator\") naming who (--actor, else\n"
	"HEALER_OPERATOR, else USER@host) and why.\n"
	"\n"
	"Settings: HEALER_KILL_SWITCH_PARAM, HEALER_BREAKER_TABLE, HEALER_AUDIT_TABLE,\n"
	"AWS_REGION, credentials (ssm:PutParameter, dynamodb:UpdateItem on the breaker\n"
	"table, dynamodb:PutItem on the audit table).\n"
	"\n"
	"Exit status: 0 done; 1 an AWS call failed (the message says which steps were\n"
	"done); 2 bad usage (disable needs --reason) or settings.\n";

static int audit_operator(hl_aws_conn *c, const char *table, const char *action, const char *actor,
			  const char *reason, bool blast_reset, char at_out[64], hl_err *err)
{
	char now[25];
	hl_format_iso8601_ms(hl_wall_ms(hl_clock_system()), now);
	snprintf(at_out, 64, "%s#%s", now, action);
	json_object *in = json_object_new_object(), *out = NULL, *item = json_object_new_object();
	json_object_object_add(item, "execution", hl_ddb_s("operator"));
	json_object_object_add(item, "at", hl_ddb_s(at_out));
	json_object_object_add(item, "kind", hl_ddb_s("operator"));
	json_object_object_add(item, "mode", hl_ddb_s(action));
	json_object_object_add(item, "action", hl_ddb_s(action));
	json_object_object_add(item, "result", hl_ddb_s(strcmp(action, "enable") == 0 ? "enabled" : "disabled"));
	json_object_object_add(item, "reason", hl_ddb_s(reason && *reason ? reason : "(none given)"));
	json_object_object_add(item, "actor", hl_ddb_s(actor));
	json_object_object_add(item, "recordedAt", hl_ddb_s(now));
	if (strcmp(action, "enable") == 0)
		json_object_object_add(item, "blastReset", hl_ddb_bool(blast_reset));
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "Item", item);
	int rc = hl_aws_call(c, &hl_svc_dynamodb, "PutItem", in, &out, NULL, err);
	json_object_put(in);
	json_object_put(out);
	return rc;
}

int cli_killswitch(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *cmd = argv[1];
	bool enable = strcmp(cmd, "enable") == 0;
	const char *reason = NULL, *actor_flag = NULL;
	cli_common_opts opt = { 0 };
	const cli_opt opts[] = {
		{ "--reason", CLI_VALUE, &reason, 0, 0, NULL },
		{ "--actor", CLI_VALUE, &actor_flag, 0, 0, NULL },
		{ 0 },
	};
	int args = cli_parse(argc, argv, KILLSWITCH_HELP, opts, &opt, NULL,
			       "usage: healer disable --reason TEXT | healer enable [--reason TEXT]");
	if (args != EXIT_OK)
		return args == CLI_HELP_SHOWN ? EXIT_OK : args;
	if (!enable && (!reason || !*reason))
		return cli_fail_usage(cmd, "healer disable needs --reason TEXT (it is recorded with the change)");
	hl_blast_settings bs;
	hl_err err;
	hl_err_clear(&err);
	if (hl_blast_settings_load(&bs, &err) < 0)
		return cli_fail_usage(cmd, err.message);
	cli_ops o = { 0 };
	int code = cli_open(&o, cmd, opt.region);
	if (code != EXIT_OK)
		return code;
	char *actor = actor_name(actor_flag);
	json_object *out = json_object_new_object();
	json_object_object_add(out, "action", json_object_new_string(cmd));
	json_object_object_add(out, "actor", json_object_new_string(actor));
	json_object_object_add(out, "reason", reason ? json_object_new_string(reason) : NULL);

	int rc = hl_killswitch_set(o.conn, enable, reason, &err);
	if (rc < 0) {
		fprintf(stderr, "healer %s: could not %s the engine: %s\n", cmd, enable ? "enable" : "disable", err.message);
		code = rc == HL_ERR_INVALID ? EXIT_USAGE : EXIT_FAILED;
		goto done;
	}
	json_object_object_add(out, "killSwitch", json_object_new_string(enable ? "enabled" : "disabled"));
	bool was_stopped = false;
	if (enable) {
		hl_blast_state after;
		rc = hl_blast_reset(o.conn, bs.table, actor, reason, hl_wall_ms(hl_clock_system()), &was_stopped,
				    &after, &err);
		if (rc < 0) {
			fprintf(stderr, "healer enable: the kill switch is on, but the blast-radius state could not "
					"be cleared: %s\n", err.message);
			code = EXIT_FAILED;
		} else {
			json_object *b = hl_blast_state_json(&after);
			json_object_object_add(b, "reset", json_object_new_boolean(was_stopped));
			json_object_object_add(out, "blastRadius", b);
		}
	}
	char at[64];
	if (audit_operator(o.conn, bs.audit_table, cmd, actor, reason, was_stopped, at, &err) < 0) {
		fprintf(stderr, "healer %s: the engine is %s, but the audit record could not be written: %s\n", cmd,
			enable ? "enabled" : "disabled", err.message);
		code = EXIT_FAILED;
	} else {
		json_object *a = json_object_new_object();
		json_object_object_add(a, "execution", json_object_new_string("operator"));
		json_object_object_add(a, "at", json_object_new_string(at));
		json_object_object_add(out, "audit", a);
	}
	if (opt.json)
		cli_print_json(out);
	else
		printf("engine %s%s\n", enable ? "enabled" : "disabled",
		       was_stopped ? " (the blast-radius stop is cleared)" : "");
done:
	free(actor);
	json_object_put(out);
	cli_close(&o);
	return code;
}

