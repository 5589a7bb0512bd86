/* cli_replay.c - `healer replay`: start the engine for a saved event.
 *
 * StartExecution of a saved EventBridge event with the input EventBridge
 * would give ({"event", "dryRun"}), named "evt-<event id>" ("dry-evt-<event
 * id>" for --dry-run), so Step Functions itself refuses a second replay of
 * one event (ExecutionAlreadyExists, exit 3). --new-id gives the event a
 * fresh random id first (a drill with a saved event that the engine has
 * seen: the guard would call it a duplicate). --wait follows the execution
 * with DescribeExecution. Runs with HEALER_STATE_MACHINE_ARN (or
 * --state-machine).
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "healer/clock.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"

#define EVENT_MAX (256 * 1024)
#define EVENT_ID_MAX 72           /* "dry-evt-" + id <= 80 characters */
#define WAIT_DEFAULT_S 600

static const char REPLAY_HELP[] =
	"Usage: healer replay EVENT.json [--dry-run] [--new-id] [--wait] [--timeout S]\n"
	"                     [--state-machine ARN] [--json] [--region REGION]\n"
	"\n"
	"Starts an execution of the engine for a saved EventBridge event (a file\n"
	"holding the event, or {\"event\": ..., \"dryRun\": ...}; - reads standard\n"
	"input), with the input EventBridge gives it: {\"event\": EVENT, \"dryRun\": B}\n"
	"where B is true with --dry-run, else false (a dryRun in the file is ignored).\n"
	"\n"
	"The execution is named evt-<event id> (dry-evt-<event id> with --dry-run), so\n"
	"Step Functions refuses a second replay of the same event: exit 3. The event\n"
	"id must be 1..72 of [A-Za-z0-9_-] (EventBridge ids are UUIDs). --new-id gives\n"
	"the event a fresh random id first: use it for drills with an event the engine\n"
	"has already handled (the guard would end that one as a duplicate).\n"
	"\n"
	"--wait follows the execution (DescribeExecution every second, at most\n"
	"--timeout seconds, default 600) and prints its status and output.\n"
	"\n"
	"Settings: HEALER_STATE_MACHINE_ARN (or --state-machine), AWS_REGION,\n"
	"credentials (states:StartExecution, and states:DescribeExecution for --wait).\n"
	"\n"
	"Exit status: 0 started (with --wait: SUCCEEDED); 3 an execution of this\n"
	"event already exists; 1 an AWS call failed (with --wait: the execution did\n"
	"not succeed); 2 bad usage, settings or event file.\n";

static bool valid_state_machine_arn(const char *s)
{
	hl_arn a;
	if (!hl_parse_arn(s, &a) || strcmp(a.service, "states") != 0 || !*a.region || !*a.account ||
	    strncmp(a.resource, "stateMachine:", 13) != 0)
		return false;
	const char *name = a.resource + 13;
	size_t n = strlen(name);
	if (n < 1 || n > 80)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_'))
			return false;
	return true;
}

static bool valid_event_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > EVENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* A random (version 4) UUID. out: 37 bytes. */
static int random_uuid(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return HL_ERR_INTERNAL;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return HL_OK;
}

static int read_event(const char *path, json_object **event, hl_err *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	hl_buf b;
	char chunk[8192];
	size_t n;
	int rc = HL_OK;
	*event = NULL;
	if (!f)
		return hl_err_set(err, HL_ERR_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
	hl_buf_init(&b, EVENT_MAX + 1024);
	while (rc == HL_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (hl_buf_append(&b, chunk, n) < 0)
			rc = hl_err_set(err, HL_ERR_TOO_LARGE, "%s is larger than %d bytes", path, EVENT_MAX + 1024);
	if (f != stdin)
		fclose(f);
	if (rc == HL_OK) {
		json_tokener *tok = json_tokener_new();
		json_object *j = b.len ? json_tokener_parse_ex(tok, b.data, (int)b.len) : NULL;
		bool ok = j && json_tokener_get_error(tok) == json_tokener_success &&
			  json_object_is_type(j, json_type_object);
		json_tokener_free(tok);
		if (!ok) {
			json_object_put(j);
			rc = hl_err_set(err, HL_ERR_PARSE, "%s does not hold a JSON object", path);
		} else {
			*event = j;
		}
	}
	hl_buf_free(&b);
	return rc;
}

static int wait_execution(cli_ops *o, const char *arn, int timeout_s, json_object **desc, hl_err *err)
{
	const hl_clock *clk = hl_clock_system();
	int64_t deadline = hl_mono_ms(clk) + (int64_t)timeout_s * 1000;
	json_object *in = json_object_new_object();
	int rc = HL_OK;
	json_object_object_add(in, "executionArn", json_object_new_string(arn));
	*desc = NULL;
	for (;;) {
		json_object *out = NULL;
		rc = hl_aws_call(o->conn, &hl_svc_sfn, "DescribeExecution", in, &out, NULL, err);
		if (rc < 0)
			break;
		const char *status = cli_plain_str(out, "status");
		if (!status || strcmp(status, "RUNNING") != 0 || hl_mono_ms(clk) >= deadline) {
			*desc = out;
			break;
		}
		json_object_put(out);
		hl_sleep_ms(clk, 1000);
	}
	json_object_put(in);
	return rc;
}

int cli_replay(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *path = NULL, *machine = NULL;
	cli_common_opts opt = { 0 };
	bool dry_run = false, new_id = false, wait = false;
	int timeout_s = WAIT_DEFAULT_S;
	const cli_opt opts[] = {
		{ "--dry-run", CLI_FLAG, &dry_run, 0, 0, NULL },
		{ "--new-id", CLI_FLAG, &new_id, 0, 0, NULL },
		{ "--wait", CLI_FLAG, &wait, 0, 0, NULL },
		{ "--timeout", CLI_INT, &timeout_s, 1, 86400, "--timeout must be 1..86400 seconds" },
		{ "--state-machine", CLI_VALUE, &machine, 0, 0, NULL },
		{ 0 },
	};
	int args = cli_parse(argc, argv, REPLAY_HELP, opts, &opt, &path, "unknown argument");
	if (args != EXIT_OK)
		return args == CLI_HELP_SHOWN ? EXIT_OK : args;
	if (!path)
		return cli_fail_usage("replay", "give the event file (EVENT.json, or - for standard input)");
	if (!machine || !*machine)
		machine = getenv("HEALER_STATE_MACHINE_ARN");
	if (!machine || !*machine)
		return cli_fail_usage("replay", "no state machine: set HEALER_STATE_MACHINE_ARN or give --state-machine ARN");
	if (!valid_state_machine_arn(machine))
		return cli_fail_usage("replay", "the state machine must be a Step Functions state machine ARN");

	hl_err err;
	json_object *file = NULL, *event = NULL, *idv = NULL;
	hl_err_clear(&err);
	if (read_event(path, &file, &err) < 0) {
		fprintf(stderr, "healer replay: %s\n", err.message);
		return EXIT_USAGE;
	}
	json_object *inner = NULL;
	if (!json_object_object_get_ex(file, "detail-type", NULL) && json_object_object_get_ex(file, "event", &inner) &&
	    json_object_is_type(inner, json_type_object))
		event = json_object_get(inner);
	else
		event = json_object_get(file);
	json_object_put(file);
	char uuid[37];
	if (new_id) {
		if (random_uuid(uuid) < 0) {
			json_object_put(event);
			fprintf(stderr, "healer replay: no randomness for a new event id\n");
			return EXIT_FAILED;
		}
		json_object_object_add(event, "id", json_object_new_string(uuid));
	}
	if (!json_object_object_get_ex(event, "id", &idv) || !json_object_is_type(idv, json_type_string) ||
	    !valid_event_id(json_object_get_string(idv))) {
		json_object_put(event);
		return cli_fail_usage("replay", "the event's \"id\" must be 1..72 of [A-Za-z0-9_-] (or give --new-id)");
	}
	char name[96];
	snprintf(name, sizeof(name), "%sevt-%s", dry_run ? "dry-" : "", json_object_get_string(idv));
	json_object *input = json_object_new_object();
	json_object_object_add(input, "event", event);
	json_object_object_add(input, "dryRun", json_object_new_boolean(dry_run));
	const char *input_text = json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strlen(input_text) > EVENT_MAX) {
		json_object_put(input);
		return cli_fail_usage("replay", "the execution input would exceed 256 KiB");
	}

	cli_ops o = { 0 };
	int code = cli_open(&o, "replay", opt.region);
	if (code != EXIT_OK) {
		json_object_put(input);
		return code;
	}
	json_object *req = json_object_new_object(), *resp = NULL, *desc = NULL, *out = json_object_new_object();
	json_object_object_add(req, "stateMachineArn", json_object_new_string(machine));
	json_object_object_add(req, "name", json_object_new_string(name));
	json_object_object_add(req, "input", json_object_new_string(input_text));
	/* Retrying is safe: a second StartExecution with this name and input
	 * returns the running execution. */
	int rc = hl_aws_call(o.conn, &hl_svc_sfn, "StartExecution", req, &resp, NULL, &err);
	json_object_object_add(out, "name", json_object_new_string(name));
	json_object_object_add(out, "dryRun", json_object_new_boolean(dry_run));
	json_object_object_add(out, "eventId", json_object_new_string(json_object_get_string(idv)));
	if (rc < 0 && err.code == HL_ERR_AWS && strcmp(err.aws_code, "ExecutionAlreadyExists") == 0) {
		char arn[300];
		const char *sm = strstr(machine, ":stateMachine:");   /* validated above */
		snprintf(arn, sizeof(arn), "%.*s:execution:%s:%s", (int)(sm - machine), machine,
			 sm + strlen(":stateMachine:"), name);
		json_object_object_add(out, "duplicate", json_object_new_boolean(1));
		json_object_object_add(out, "executionArn", json_object_new_string(arn));
		if (opt.json)
			cli_print_json(out);
		else
			printf("already started: an execution named %s exists (this event was replayed before)\n%s\n", name, arn);
		code = EXIT_NOT_ACTING;
		goto done;
	}
	if (rc < 0) {
		code = cli_aws_failed("replay", "StartExecution", &err);
		goto done;
	}
	const char *arn = cli_plain_str(resp, "executionArn");
	json_object_object_add(out, "duplicate", json_object_new_boolean(0));
	json_object_object_add(out, "executionArn", arn ? json_object_new_string(arn) : NULL);
	if (!opt.json)
		printf("started %s\n", arn ? arn : name);
	if (wait && arn) {
		if (wait_execution(&o, arn, timeout_s, &desc, &err) < 0) {
			code = cli_aws_failed("replay", "DescribeExecution", &err);
			goto done;
		}
		const char *status = cli_plain_str(desc, "status");
		json_object_object_add(out, "status", json_object_new_string(status ? status : "UNKNOWN"));
		const char *output = cli_plain_str(desc, "output");
		json_object *parsed = output ? json_tokener_parse(output) : NULL;
		json_object_object_add(out, "output", parsed);
		const char *e = cli_plain_str(desc, "error"), *c = cli_plain_str(desc, "cause");
		json_object_object_add(out, "error", e ? json_object_new_string(e) : NULL);
		json_object_object_add(out, "cause", c ? json_object_new_string(c) : NULL);
		code = status && strcmp(status, "SUCCEEDED") == 0 ? EXIT_OK : EXIT_FAILED;
		if (!opt.json) {
			char buf[600];
			printf("status %s%s%s\n", status ? status : "UNKNOWN", e ? ": " : "", e ? cli_shown(e, buf, sizeof(buf), 256) : "");
		}
	}
	if (opt.json)
		cli_print_json(out);
done:
	json_object_put(req);
	json_object_put(resp);
	json_object_put(desc);
	json_object_put(out);
	json_object_put(input);
	cli_close(&o);
	return code;
}

