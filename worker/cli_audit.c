/* cli_audit.c - `healer audit`: every record of one resource or execution.
 *
 * A Query of the audit table: through the GSI resource-index for a resource
 * (newest first), or by the table's hash key for an execution. Records are
 * shown in full; before/after/tickets (JSON text in the table) are parsed.
 * Text output shows table text as printable ASCII only; --json escapes it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/settings.h"

static const char AUDIT_HELP[] =
	"Usage: healer audit (--resource ID | --execution ARN) [--json] [--limit N]\n"
	"                    [--region REGION]\n"
	"\n"
	"The full audit records of one resource (an instance id, a security group id\n"
	"or a certificate ARN; through the GSI resource-index, newest first) or of one\n"
	"Step Functions execution (every record it wrote, the ticket memo included).\n"
	"At most N records (default 50, 1..1000).\n"
	"\n"
	"Settings: HEALER_AUDIT_TABLE (default healer-audit), AWS_REGION, credentials.\n"
	"\n"
	"Exit status: 0 records found; 3 none; 1 an AWS call failed; 2 bad usage.\n";

static bool valid_resource_id(const char *s)
{
	return hl_valid_instance_id(s) || hl_valid_security_group_id(s) || hl_valid_certificate_arn(s);
}

static void print_record(json_object *r)
{
	char buf[4200];
	printf("--- %s  %s\n", cli_shown(cli_plain_str(r, "at"), buf, sizeof(buf), 80),
	       cli_shown(cli_plain_str(r, "execution"), buf + 2100, 2000, 1900));
	json_object_object_foreach(r, key, val) {
		if (strcmp(key, "at") == 0 || strcmp(key, "execution") == 0)
			continue;
		const char *text = json_object_is_type(val, json_type_string)
					   ? json_object_get_string(val)
					   : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		printf("  %-16s %s\n", key, cli_shown(text, buf, sizeof(buf), 4000));
	}
}

/* Items of a Query (newest first), at most `limit`, as plain objects. */
static int query(hl_aws_conn *c, const char *table, const char *index, const char *key_name, const char *key_value,
		 int limit, json_object *items, hl_err *err)
{
	json_object *in = json_object_new_object();
	json_object_object_add(in, "TableName", json_object_new_string(table));
	if (index)
		json_object_object_add(in, "IndexName", json_object_new_string(index));
	json_object_object_add(in, "KeyConditionExpression", json_object_new_string("#k = :v"));
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#k", json_object_new_string(key_name));
	json_object_object_add(values, ":v", hl_ddb_s(key_value));
	json_object_object_add(in, "ExpressionAttributeNames", names);
	json_object_object_add(in, "ExpressionAttributeValues", values);
	json_object_object_add(in, "ScanIndexForward", json_object_new_boolean(0));
	json_object_object_add(in, "Limit", json_object_new_int(limit));
	int rc = cli_ddb_collect(c, "Query", in, limit, true, items, err);
	json_object_put(in);
	return rc;
}

int cli_audit(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *resource = NULL, *execution = NULL;
	cli_common_opts opt = { 0 };
	int limit = 50;
	const cli_opt opts[] = {
		{ "--resource", CLI_VALUE, &resource, 0, 0, NULL },
		{ "--execution", CLI_VALUE, &execution, 0, 0, NULL },
		{ "--limit", CLI_INT, &limit, 1, 1000, "--limit must be 1..1000" },
		{ 0 },
	};
	int args = cli_parse(argc, argv, AUDIT_HELP, opts, &opt, NULL, "unknown argument");
	if (args != EXIT_OK)
		return args == CLI_HELP_SHOWN ? EXIT_OK : args;
	if (!!resource == !!execution)
		return cli_fail_usage("audit", "give exactly one of --resource ID or --execution ARN");
	if (resource && !valid_resource_id(resource))
		return cli_fail_usage("audit", "--resource must be an instance id (i-...), a security group id (sg-...) "
					   "or an ACM certificate ARN");
	if (execution && !hl_valid_execution_arn(execution))
		return cli_fail_usage("audit", "--execution must be a Step Functions execution ARN");
	const char *table = NULL;
	hl_err err;
	hl_err_clear(&err);
	if (hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				 "must be a DynamoDB table name", &table, &err) < 0)
		return cli_fail_usage("audit", err.message);
	cli_ops o = { 0 };
	int code = cli_open(&o, "audit", opt.region);
	if (code != EXIT_OK)
		return code;
	json_object *items = json_object_new_array();
	int rc = resource ? query(o.conn, table, "resource-index", "resource", resource, limit, items, &err)
			  : query(o.conn, table, NULL, "execution", execution, limit, items, &err);
	if (rc < 0) {
		code = cli_aws_failed("audit", "the audit table query", &err);
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++)
		cli_parse_json_members(json_object_array_get_idx(items, i));
	code = json_object_array_length(items) ? EXIT_OK : EXIT_NOT_ACTING;
	if (opt.json) {
		json_object *out = json_object_new_object();
		json_object_object_add(out, resource ? "resource" : "execution",
				       json_object_new_string(resource ? resource : execution));
		json_object_object_add(out, "records", json_object_get(items));
		cli_print_json(out);
		json_object_put(out);
	} else if (code == EXIT_NOT_ACTING) {
		printf("no audit record for %s\n", resource ? resource : execution);
	} else {
		for (size_t i = 0; i < json_object_array_length(items); i++)
			print_record(json_object_array_get_idx(items, i));
	}
done:
	json_object_put(items);
	cli_close(&o);
	return code;
}

