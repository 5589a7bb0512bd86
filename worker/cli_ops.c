/* cli_ops.c - the operator commands: status, audit, replay, disable, enable.
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
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_ops.h"
#include "healer/aws.h"
#include "healer/blast.h"
#include "healer/clock.h"
#include "healer/creds.h"
#include "healer/ddb.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/killswitch.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/settings.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NOT_ACTING 3
#define SCAN_PAGES_MAX 20
#define EVENT_MAX (256 * 1024)
#define EVENT_ID_MAX 72           /* "dry-evt-" + id <= 80 characters */
#define WAIT_DEFAULT_S 600

/* ---- plumbing ---------------------------------------------------------------- */

typedef struct ops {
	hl_creds_provider *provider;
	hl_aws *aws;
	hl_aws_conn *conn;
	bool json;
} ops;

static int fail_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "healer %s: %s\nRun 'healer %s --help'.\n", cmd, msg, cmd);
	return EXIT_USAGE;
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

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int ops_open(ops *o, const char *cmd, const char *region)
{
	hl_err err;
	hl_err_clear(&err);
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		return fail_usage(cmd, "no AWS region: set AWS_REGION or give --region");
	if (!hl_valid_region(region))
		return fail_usage(cmd, "the region is not a valid AWS region name");
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

static void ops_close(ops *o)
{
	hl_aws_conn_free(o->conn);
	hl_aws_free(o->aws);
	hl_creds_provider_free(o->provider);
	memset(o, 0, sizeof(*o));
}

static void print_json(json_object *j)
{
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int aws_failed(const char *cmd, const char *what, const hl_err *err)
{
	fprintf(stderr, "healer %s: %s failed: %s\n", cmd, what, err->message);
	return EXIT_FAILED;
}

/* A printable rendering of untrusted text for a terminal. */
static const char *shown(const char *s, char *buf, size_t bufsz, size_t max)
{
	hl_excerpt(s ? s : "-", max, buf, bufsz);
	return buf;
}

static const char *plain_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

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

/* All items of a Scan (bounded pages), as the wire form, into `items`. */
static int scan_items(hl_aws_conn *c, const char *table, const char *filter, json_object *names,
		      json_object *values, json_object *items, hl_err *err)
{
	json_object *start = NULL;
	int rc = HL_OK;
	for (int page = 0; page < SCAN_PAGES_MAX; page++) {
		json_object *in = json_object_new_object(), *out = NULL, *got = NULL, *lek = NULL;
		json_object_object_add(in, "TableName", json_object_new_string(table));
		if (filter) {
			json_object_object_add(in, "FilterExpression", json_object_new_string(filter));
			json_object_object_add(in, "ExpressionAttributeNames", json_object_get(names));
			if (values)
				json_object_object_add(in, "ExpressionAttributeValues", json_object_get(values));
		}
		if (start)
			json_object_object_add(in, "ExclusiveStartKey", json_object_get(start));
		rc = hl_aws_call(c, &hl_svc_dynamodb, "Scan", in, &out, NULL, err);
		if (rc == HL_OK && json_object_object_get_ex(out, "Items", &got) &&
		    json_object_is_type(got, json_type_array))
			for (size_t i = 0; i < json_object_array_length(got); i++)
				json_object_array_add(items, json_object_get(json_object_array_get_idx(got, i)));
		json_object_put(start);
		start = rc == HL_OK && json_object_object_get_ex(out, "LastEvaluatedKey", &lek) ? json_object_get(lek) : NULL;
		json_object_put(in);
		json_object_put(out);
		if (rc < 0 || !start)
			break;
	}
	json_object_put(start);
	return rc;
}

/* Items of a Query (newest first), at most `limit`, as plain objects. */
static int query_items(hl_aws_conn *c, const char *table, const char *index, const char *key_name,
		       const char *key_value, int limit, json_object *items, hl_err *err)
{
	json_object *start = NULL;
	int rc = HL_OK;
	for (int page = 0; page < SCAN_PAGES_MAX && (int)json_object_array_length(items) < limit; page++) {
		json_object *in = json_object_new_object(), *out = NULL, *got = NULL, *lek = NULL;
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
		if (start)
			json_object_object_add(in, "ExclusiveStartKey", json_object_get(start));
		rc = hl_aws_call(c, &hl_svc_dynamodb, "Query", in, &out, NULL, err);
		if (rc == HL_OK && json_object_object_get_ex(out, "Items", &got) &&
		    json_object_is_type(got, json_type_array))
			for (size_t i = 0; i < json_object_array_length(got) && (int)json_object_array_length(items) < limit; i++)
				json_object_array_add(items, hl_ddb_plain(json_object_array_get_idx(got, i)));
		json_object_put(start);
		start = rc == HL_OK && json_object_object_get_ex(out, "LastEvaluatedKey", &lek) ? json_object_get(lek) : NULL;
		json_object_put(in);
		json_object_put(out);
		if (rc < 0 || !start)
			break;
	}
	json_object_put(start);
	return rc;
}

/* before/after/tickets are stored as JSON text: give them back as JSON. */
static void parse_json_members(json_object *rec)
{
	static const char *const members[] = { "before", "after", "tickets", NULL };
	for (size_t i = 0; members[i]; i++) {
		const char *t = plain_str(rec, members[i]);
		if (!t)
			continue;
		json_object *v = json_tokener_parse(t);
		if (v)
			json_object_object_add(rec, members[i], v);
	}
}

/* ---- status ------------------------------------------------------------------- */

static const char STATUS_HELP[] =
	"Usage: healer status [--json] [--limit N] [--region REGION]\n"
	"\n"
	"What the engine is doing: the kill switch, the blast-radius state and this\n"
	"hour's / ten minutes' remediation counts, the circuit breakers of this hour\n"
	"(open ones reached HEALER_BREAKER_MAX), and the last N (default 10, 1..200)\n"
	"records of the audit table (a Scan of the table).\n"
	"\n"
	"Settings: HEALER_KILL_SWITCH_PARAM, HEALER_BREAKER_TABLE, HEALER_AUDIT_TABLE,\n"
	"HEALER_BREAKER_MAX, HEALER_BLAST_MAX_PER_HOUR, HEALER_BLAST_MAX_PER_CLASS_10M,\n"
	"AWS_REGION and the usual AWS credentials.\n"
	"\n"
	"Exit status: 0 the engine acts on its own; 3 it does not (kill switch off,\n"
	"or stopped by the blast-radius limit); 1 an AWS call failed; 2 bad usage or\n"
	"settings.\n";

/* This hour's breaker items (not the blast or claim bookkeeping). */
static int breakers(hl_aws_conn *c, const char *table, int max, int64_t now_s, json_object **out, hl_err *err)
{
	json_object *items = json_object_new_array();
	char iso[21], hour[16];
	hl_format_iso8601(now_s - now_s % 3600, iso);
	snprintf(hour, sizeof(hour), "#%.13s", iso);
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#pk", json_object_new_string("pk"));
	json_object_object_add(values, ":h", hl_ddb_s(hour));
	json_object_object_add(values, ":b", hl_ddb_s("blast#"));
	json_object_object_add(values, ":e", hl_ddb_s("event#"));
	int rc = scan_items(c, table, "contains(#pk, :h) AND NOT begins_with(#pk, :b) AND NOT begins_with(#pk, :e)",
			    names, values, items, err);
	json_object_put(names);
	json_object_put(values);
	if (rc < 0) {
		json_object_put(items);
		return rc;
	}
	json_object *list = json_object_new_array();
	size_t hl = strlen(hour);
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *pk = hl_ddb_get_s(it, "pk");
		long long count = 0;
		size_t n = pk ? strlen(pk) : 0;
		if (n <= hl || strcmp(pk + n - hl, hour) != 0 || !hl_ddb_get_n(it, "count", &count))
			continue;
		json_object *b = json_object_new_object();
		char id[300];
		snprintf(id, sizeof(id), "%.*s", (int)(n - hl), pk);
		json_object_object_add(b, "resource", json_object_new_string(id));
		json_object_object_add(b, "hour", json_object_new_string(hour + 1));
		json_object_object_add(b, "count", json_object_new_int64(count));
		json_object_object_add(b, "max", json_object_new_int(max));
		json_object_object_add(b, "open", json_object_new_boolean(count >= max));
		json_object_array_add(list, b);
	}
	json_object_put(items);
	*out = list;
	return HL_OK;
}

static int by_recorded_desc(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	const char *sx = plain_str(x, "recordedAt"), *sy = plain_str(y, "recordedAt");
	return strcmp(sy ? sy : "", sx ? sx : "");
}

/* The newest `limit` records (actions, recoveries, blast stops, operator
 * actions; not the ticket memos). */
static int recent(hl_aws_conn *c, const char *table, int limit, json_object **out, hl_err *err)
{
	json_object *items = json_object_new_array();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#k", json_object_new_string("kind"));
	json_object_object_add(values, ":a", hl_ddb_s("action"));
	json_object_object_add(values, ":r", hl_ddb_s("recovery"));
	json_object_object_add(values, ":b", hl_ddb_s("blast"));
	json_object_object_add(values, ":o", hl_ddb_s("operator"));
	int rc = scan_items(c, table, "#k IN (:a, :r, :b, :o)", names, values, items, err);
	json_object_put(names);
	json_object_put(values);
	if (rc < 0) {
		json_object_put(items);
		return rc;
	}
	size_t n = json_object_array_length(items);
	json_object **plain = hl_xcalloc(n ? n : 1, sizeof(*plain));
	for (size_t i = 0; i < n; i++)
		plain[i] = hl_ddb_plain(json_object_array_get_idx(items, i));
	qsort(plain, n, sizeof(*plain), by_recorded_desc);
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if ((int)i < limit) {
			parse_json_members(plain[i]);
			json_object_array_add(list, plain[i]);
		} else {
			json_object_put(plain[i]);
		}
	}
	free(plain);
	json_object_put(items);
	*out = list;
	return HL_OK;
}

static void print_record_line(json_object *r)
{
	char t[40], res[40], k[24], cls[24], who[300], reason[140];
	const char *kind = plain_str(r, "kind");
	const char *exe = plain_str(r, "execution");
	const char *name = exe ? strrchr(exe, ':') : NULL;
	printf("  %-24s %-10s %-13s %-21s %s  [%s]\n", shown(plain_str(r, "recordedAt"), t, sizeof(t), 30),
	       shown(plain_str(r, "result"), k, sizeof(k), 12), shown(plain_str(r, "class"), cls, sizeof(cls), 16),
	       shown(plain_str(r, "resource"), res, sizeof(res), 21), shown(plain_str(r, "reason"), reason, sizeof(reason), 110),
	       kind && strcmp(kind, "operator") == 0 ? shown(plain_str(r, "actor"), who, sizeof(who), 60)
						       : shown(name ? name + 1 : exe, who, sizeof(who), 80));
}

static int cmd_status(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *region = NULL, *v = NULL;
	bool json = false;
	int limit = 10;
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(STATUS_HELP, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opt_value(argc, argv, &i, "--limit", &v)) {
			char *end = NULL;
			long n = strtol(v, &end, 10);
			if (!end || *end || n < 1 || n > 200)
				return fail_usage("status", "--limit must be 1..200");
			limit = (int)n;
		} else if (opt_value(argc, argv, &i, "--region", &region)) {
			continue;
		} else {
			return fail_usage("status", "unknown argument");
		}
	}
	hl_blast_settings bs;
	hl_err err;
	int breaker_max = 3;
	hl_err_clear(&err);
	if (hl_blast_settings_load(&bs, &err) < 0 ||
	    hl_setting_int("HEALER_BREAKER_MAX", 3, 1, 100, &breaker_max, &err) < 0)
		return fail_usage("status", err.message);
	ops o = { 0 };
	int code = ops_open(&o, "status", region);
	if (code != EXIT_OK)
		return code;

	json_object *out = json_object_new_object(), *part = NULL;
	int64_t now_ms = hl_wall_ms(hl_clock_system());
	hl_killswitch_state ks;
	hl_blast_state st;
	const char *param = NULL;
	(void)hl_setting_str("HEALER_KILL_SWITCH_PARAM", HL_KILLSWITCH_DEFAULT_PARAM, &param);
	if (hl_killswitch_get(o.conn, &ks, &err) < 0) {
		code = aws_failed("status", "reading the kill switch", &err);
		goto done;
	}
	json_object *k = json_object_new_object();
	json_object_object_add(k, "parameter", json_object_new_string(param));
	json_object_object_add(k, "state", json_object_new_string(hl_killswitch_state_name(ks)));
	json_object_object_add(k, "allows", json_object_new_boolean(hl_killswitch_allows(ks)));
	json_object_object_add(out, "killSwitch", k);
	if (hl_blast_state_read(o.conn, bs.table, &st, &err) < 0) {
		code = aws_failed("status", "reading the blast-radius state", &err);
		goto done;
	}
	json_object *b = hl_blast_state_json(&st);
	json_object *limits = json_object_new_object();
	json_object_object_add(limits, "perHour", json_object_new_int(bs.max_per_hour));
	json_object_object_add(limits, "perClass10m", json_object_new_int(bs.max_per_class_10m));
	json_object_object_add(b, "limits", limits);
	if (hl_blast_counts_json(o.conn, &bs, st.epoch, now_ms, &part, &err) < 0) {
		json_object_put(b);
		code = aws_failed("status", "reading the blast-radius counts", &err);
		goto done;
	}
	json_object_object_add(b, "windows", part);
	json_object_object_add(out, "blastRadius", b);
	if (breakers(o.conn, bs.table, breaker_max, now_ms / 1000, &part, &err) < 0) {
		code = aws_failed("status", "scanning the breaker table", &err);
		goto done;
	}
	json_object_object_add(out, "breakers", part);
	if (recent(o.conn, bs.audit_table, limit, &part, &err) < 0) {
		code = aws_failed("status", "scanning the audit table", &err);
		goto done;
	}
	json_object_object_add(out, "recentActions", part);

	bool acting = hl_killswitch_allows(ks) && !st.stopped;
	const char *why = !hl_killswitch_allows(ks) ? "kill switch off" : st.stopped ? "stopped by the blast-radius limit" : NULL;
	json_object *e = json_object_new_object();
	json_object_object_add(e, "acting", json_object_new_boolean(acting));
	json_object_object_add(e, "why", why ? json_object_new_string(why) : NULL);
	json_object_object_add(out, "engine", e);
	code = acting ? EXIT_OK : EXIT_NOT_ACTING;

	if (json) {
		print_json(out);
		goto done;
	}
	char buf[700];
	printf("engine:        %s%s%s\n", acting ? "acting on its own" : "NOT ACTING", why ? " - " : "", why ? why : "");
	printf("kill switch:   %s (%s)\n", hl_killswitch_state_name(ks), shown(param, buf, sizeof(buf), 200));
	json_object *w = NULL, *hour = NULL, *classes = NULL;
	json_object_object_get_ex(b, "windows", &w);
	json_object_object_get_ex(w, "hour", &hour);
	json_object_object_get_ex(w, "classes", &classes);
	json_object *hc = NULL, *hl = NULL;
	json_object_object_get_ex(hour, "count", &hc);
	json_object_object_get_ex(hour, "limit", &hl);
	printf("blast radius:  %s; this hour %d (limit now %d of %d); per class, 10 min:",
	       st.stopped ? "STOPPED" : "ok", json_object_get_int(hc), json_object_get_int(hl), bs.max_per_hour);
	json_object_object_foreach(classes, cname, cw) {
		json_object *cc = NULL;
		json_object_object_get_ex(cw, "count", &cc);
		printf(" %s %d/%d", cname, json_object_get_int(cc), bs.max_per_class_10m);
	}
	putchar('\n');
	if (st.stopped) {
		char by[300];
		printf("               stopped at %s by %s: %s\n", shown(st.stopped_at, buf, sizeof(buf), 40),
		       shown(st.stopped_by, by, sizeof(by), 256), st.reason);
		printf("               run 'healer enable --reason TEXT' to resume\n");
	}
	json_object *bl = NULL;
	json_object_object_get_ex(out, "breakers", &bl);
	printf("breakers:      %zu resource(s) remediated this hour\n", json_object_array_length(bl));
	for (size_t i = 0; i < json_object_array_length(bl); i++) {
		json_object *x = json_object_array_get_idx(bl, i), *cnt = NULL, *opn = NULL;
		json_object_object_get_ex(x, "count", &cnt);
		json_object_object_get_ex(x, "open", &opn);
		printf("  %-40s %d/%d%s\n", shown(plain_str(x, "resource"), buf, sizeof(buf), 200), json_object_get_int(cnt),
		       breaker_max, json_object_get_boolean(opn) ? "  OPEN" : "");
	}
	json_object *ra = NULL;
	json_object_object_get_ex(out, "recentActions", &ra);
	printf("last actions:  %zu\n", json_object_array_length(ra));
	for (size_t i = 0; i < json_object_array_length(ra); i++)
		print_record_line(json_object_array_get_idx(ra, i));
done:
	json_object_put(out);
	ops_close(&o);
	return code;
}

/* ---- audit -------------------------------------------------------------------- */

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
	printf("--- %s  %s\n", shown(plain_str(r, "at"), buf, sizeof(buf), 80),
	       shown(plain_str(r, "execution"), buf + 2100, 2000, 1900));
	json_object_object_foreach(r, key, val) {
		if (strcmp(key, "at") == 0 || strcmp(key, "execution") == 0)
			continue;
		const char *text = json_object_is_type(val, json_type_string)
					   ? json_object_get_string(val)
					   : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		printf("  %-16s %s\n", key, shown(text, buf, sizeof(buf), 4000));
	}
}

static int cmd_audit(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *resource = NULL, *execution = NULL, *region = NULL, *v = NULL;
	bool json = false;
	int limit = 50;
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(AUDIT_HELP, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opt_value(argc, argv, &i, "--resource", &resource) ||
			   opt_value(argc, argv, &i, "--execution", &execution) ||
			   opt_value(argc, argv, &i, "--region", &region)) {
			continue;
		} else if (opt_value(argc, argv, &i, "--limit", &v)) {
			char *end = NULL;
			long n = strtol(v, &end, 10);
			if (!end || *end || n < 1 || n > 1000)
				return fail_usage("audit", "--limit must be 1..1000");
			limit = (int)n;
		} else {
			return fail_usage("audit", "unknown argument");
		}
	}
	if (!!resource == !!execution)
		return fail_usage("audit", "give exactly one of --resource ID or --execution ARN");
	if (resource && !valid_resource_id(resource))
		return fail_usage("audit", "--resource must be an instance id (i-...), a security group id (sg-...) "
					   "or an ACM certificate ARN");
	if (execution && !hl_valid_execution_arn(execution))
		return fail_usage("audit", "--execution must be a Step Functions execution ARN");
	const char *table = NULL;
	hl_err err;
	hl_err_clear(&err);
	if (hl_setting_str_check("HEALER_AUDIT_TABLE", "healer-audit", 255, hl_valid_table_name,
				 "must be a DynamoDB table name", &table, &err) < 0)
		return fail_usage("audit", err.message);
	ops o = { 0 };
	int code = ops_open(&o, "audit", region);
	if (code != EXIT_OK)
		return code;
	json_object *items = json_object_new_array();
	int rc = resource ? query_items(o.conn, table, "resource-index", "resource", resource, limit, items, &err)
			  : query_items(o.conn, table, NULL, "execution", execution, limit, items, &err);
	if (rc < 0) {
		code = aws_failed("audit", "the audit table query", &err);
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++)
		parse_json_members(json_object_array_get_idx(items, i));
	code = json_object_array_length(items) ? EXIT_OK : EXIT_NOT_ACTING;
	if (json) {
		json_object *out = json_object_new_object();
		json_object_object_add(out, resource ? "resource" : "execution",
				       json_object_new_string(resource ? resource : execution));
		json_object_object_add(out, "records", json_object_get(items));
		print_json(out);
		json_object_put(out);
	} else if (code == EXIT_NOT_ACTING) {
		printf("no audit record for %s\n", resource ? resource : execution);
	} else {
		for (size_t i = 0; i < json_object_array_length(items); i++)
			print_record(json_object_array_get_idx(items, i));
	}
done:
	json_object_put(items);
	ops_close(&o);
	return code;
}

/* ---- replay ------------------------------------------------------------------- */

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

static int wait_execution(ops *o, const char *arn, int timeout_s, json_object **desc, hl_err *err)
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
		const char *status = plain_str(out, "status");
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

static int cmd_replay(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *path = NULL, *machine = NULL, *region = NULL, *v = NULL;
	bool json = false, dry_run = false, new_id = false, wait = false;
	int timeout_s = WAIT_DEFAULT_S;
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(REPLAY_HELP, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
		} else if (strcmp(argv[i], "--new-id") == 0) {
			new_id = true;
		} else if (strcmp(argv[i], "--wait") == 0) {
			wait = true;
		} else if (opt_value(argc, argv, &i, "--timeout", &v)) {
			char *end = NULL;
			long n = strtol(v, &end, 10);
			if (!end || *end || n < 1 || n > 86400)
				return fail_usage("replay", "--timeout must be 1..86400 seconds");
			timeout_s = (int)n;
		} else if (opt_value(argc, argv, &i, "--state-machine", &machine) ||
			   opt_value(argc, argv, &i, "--region", &region)) {
			continue;
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !path) {
			path = argv[i];
		} else {
			return fail_usage("replay", "unknown argument");
		}
	}
	if (!path)
		return fail_usage("replay", "give the event file (EVENT.json, or - for standard input)");
	if (!machine || !*machine)
		machine = getenv("HEALER_STATE_MACHINE_ARN");
	if (!machine || !*machine)
		return fail_usage("replay", "no state machine: set HEALER_STATE_MACHINE_ARN or give --state-machine ARN");
	if (!valid_state_machine_arn(machine))
		return fail_usage("replay", "the state machine must be a Step Functions state machine ARN");

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
		return fail_usage("replay", "the event's \"id\" must be 1..72 of [A-Za-z0-9_-] (or give --new-id)");
	}
	char name[96];
	snprintf(name, sizeof(name), "%sevt-%s", dry_run ? "dry-" : "", json_object_get_string(idv));
	json_object *input = json_object_new_object();
	json_object_object_add(input, "event", event);
	json_object_object_add(input, "dryRun", json_object_new_boolean(dry_run));
	const char *input_text = json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strlen(input_text) > EVENT_MAX) {
		json_object_put(input);
		return fail_usage("replay", "the execution input would exceed 256 KiB");
	}

	ops o = { 0 };
	int code = ops_open(&o, "replay", region);
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
		if (json)
			print_json(out);
		else
			printf("already started: an execution named %s exists (this event was replayed before)\n%s\n", name, arn);
		code = EXIT_NOT_ACTING;
		goto done;
	}
	if (rc < 0) {
		code = aws_failed("replay", "StartExecution", &err);
		goto done;
	}
	const char *arn = plain_str(resp, "executionArn");
	json_object_object_add(out, "duplicate", json_object_new_boolean(0));
	json_object_object_add(out, "executionArn", arn ? json_object_new_string(arn) : NULL);
	if (!json)
		printf("started %s\n", arn ? arn : name);
	if (wait && arn) {
		if (wait_execution(&o, arn, timeout_s, &desc, &err) < 0) {
			code = aws_failed("replay", "DescribeExecution", &err);
			goto done;
		}
		const char *status = plain_str(desc, "status");
		json_object_object_add(out, "status", json_object_new_string(status ? status : "UNKNOWN"));
		const char *output = plain_str(desc, "output");
		json_object *parsed = output ? json_tokener_parse(output) : NULL;
		json_object_object_add(out, "output", parsed);
		const char *e = plain_str(desc, "error"), *c = plain_str(desc, "cause");
		json_object_object_add(out, "error", e ? json_object_new_string(e) : NULL);
		json_object_object_add(out, "cause", c ? json_object_new_string(c) : NULL);
		code = status && strcmp(status, "SUCCEEDED") == 0 ? EXIT_OK : EXIT_FAILED;
		if (!json) {
			char buf[600];
			printf("status %s%s%s\n", status ? status : "UNKNOWN", e ? ": " : "", e ? shown(e, buf, sizeof(buf), 256) : "");
		}
	}
	if (json)
		print_json(out);
done:
	json_object_put(req);
	json_object_put(resp);
	json_object_put(desc);
	json_object_put(out);
	json_object_put(input);
	ops_close(&o);
	return code;
}

/* ---- disable / enable ---------------------------------------------------------- */

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

static int cmd_killswitch(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	const char *cmd = argv[1];
	bool enable = strcmp(cmd, "enable") == 0, json = false;
	const char *reason = NULL, *actor_flag = NULL, *region = NULL;
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(KILLSWITCH_HELP, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opt_value(argc, argv, &i, "--reason", &reason) ||
			   opt_value(argc, argv, &i, "--actor", &actor_flag) ||
			   opt_value(argc, argv, &i, "--region", &region)) {
			continue;
		} else {
			return fail_usage(cmd, "usage: healer disable --reason TEXT | healer enable [--reason TEXT]");
		}
	}
	if (!enable && (!reason || !*reason))
		return fail_usage(cmd, "healer disable needs --reason TEXT (it is recorded with the change)");
	hl_blast_settings bs;
	hl_err err;
	hl_err_clear(&err);
	if (hl_blast_settings_load(&bs, &err) < 0)
		return fail_usage(cmd, err.message);
	ops o = { 0 };
	int code = ops_open(&o, cmd, region);
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
	if (json)
		print_json(out);
	else
		printf("engine %s%s\n", enable ? "enabled" : "disabled",
		       was_stopped ? " (the blast-radius stop is cleared)" : "");
done:
	free(actor);
	json_object_put(out);
	ops_close(&o);
	return code;
}

/* ---- dispatch -------------------------------------------------------------------- */

hl_cli_command hl_cli_find(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "status") == 0)
		return cmd_status;
	if (strcmp(name, "audit") == 0)
		return cmd_audit;
	if (strcmp(name, "replay") == 0)
		return cmd_replay;
	if (strcmp(name, "disable") == 0 || strcmp(name, "enable") == 0)
		return cmd_killswitch;
	return NULL;
}
