/* cli_status.c - `healer status`: what the engine is doing.
 *
 * The kill switch; the blast-radius state and the current window counts;
 * the circuit breakers of this hour (open = at HEALER_BREAKER_MAX); the last
 * N records of the audit table (a Scan, newest first by recordedAt). Text
 * output shows table text as printable ASCII only; --json escapes it.
 */
#include <limits.h>
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
#include "healer/settings.h"

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

/* The items (the wire form) of a Scan of `table` with `filter`; takes
 * `names` and `values`. *items is NULL after an error. */
static int scan(hl_aws_conn *c, const char *table, const char *filter, json_object *names, json_object *values,
		json_object **items, hl_err *err)
{
	json_object *in = json_object_new_object();
	json_object_object_add(in, "TableName", json_object_new_string(table));
	json_object_object_add(in, "FilterExpression", json_object_new_string(filter));
	json_object_object_add(in, "ExpressionAttributeNames", names);
	json_object_object_add(in, "ExpressionAttributeValues", values);
	*items = json_object_new_array();
	int rc = cli_ddb_collect(c, "Scan", in, INT_MAX, false, *items, err);
	json_object_put(in);
	if (rc < 0) {
		json_object_put(*items);
		*items = NULL;
	}
	return rc;
}

/* This hour's breaker items (not the blast or claim bookkeeping). */
static int breakers(hl_aws_conn *c, const char *table, int max, int64_t now_s, json_object **out, hl_err *err)
{
	json_object *items = NULL;
	char iso[21], hour[16];
	hl_format_iso8601(now_s - now_s % 3600, iso);
	snprintf(hour, sizeof(hour), "#%.13s", iso);
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#pk", json_object_new_string("pk"));
	json_object_object_add(values, ":h", hl_ddb_s(hour));
	json_object_object_add(values, ":b", hl_ddb_s("blast#"));
	json_object_object_add(values, ":e", hl_ddb_s("event#"));
	int rc = scan(c, table, "contains(#pk, :h) AND NOT begins_with(#pk, :b) AND NOT begins_with(#pk, :e)", names,
		      values, &items, err);
	if (rc < 0)
		return rc;
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
	const char *sx = cli_plain_str(x, "recordedAt"), *sy = cli_plain_str(y, "recordedAt");
	return strcmp(sy ? sy : "", sx ? sx : "");
}

/* The newest `limit` records (actions, recoveries, blast stops, operator
 * actions; not the ticket memos). */
static int recent(hl_aws_conn *c, const char *table, int limit, json_object **out, hl_err *err)
{
	json_object *items = NULL;
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object_object_add(names, "#k", json_object_new_string("kind"));
	json_object_object_add(values, ":a", hl_ddb_s("action"));
	json_object_object_add(values, ":r", hl_ddb_s("recovery"));
	json_object_object_add(values, ":b", hl_ddb_s("blast"));
	json_object_object_add(values, ":o", hl_ddb_s("operator"));
	int rc = scan(c, table, "#k IN (:a, :r, :b, :o)", names, values, &items, err);
	if (rc < 0)
		return rc;
	size_t n = json_object_array_length(items);
	json_object **plain = hl_xcalloc(n ? n : 1, sizeof(*plain));
	for (size_t i = 0; i < n; i++)
		plain[i] = hl_ddb_plain(json_object_array_get_idx(items, i));
	qsort(plain, n, sizeof(*plain), by_recorded_desc);
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if ((int)i < limit) {
			cli_parse_json_members(plain[i]);
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
	const char *kind = cli_plain_str(r, "kind");
	const char *exe = cli_plain_str(r, "execution");
	const char *name = exe ? strrchr(exe, ':') : NULL;
	printf("  %-24s %-10s %-13s %-21s %s  [%s]\n", cli_shown(cli_plain_str(r, "recordedAt"), t, sizeof(t), 30),
	       cli_shown(cli_plain_str(r, "result"), k, sizeof(k), 12), cli_shown(cli_plain_str(r, "class"), cls, sizeof(cls), 16),
	       cli_shown(cli_plain_str(r, "resource"), res, sizeof(res), 21), cli_shown(cli_plain_str(r, "reason"), reason, sizeof(reason), 110),
	       kind && strcmp(kind, "operator") == 0 ? cli_shown(cli_plain_str(r, "actor"), who, sizeof(who), 60)
						       : cli_shown(name ? name + 1 : exe, who, sizeof(who), 80));
}

int cli_status(int argc, char **argv)
{
	hl_log_set_fd(STDERR_FILENO);   /* stdout is the command's output */
	cli_common_opts opt = { 0 };
	int limit = 10;
	const cli_opt opts[] = {
		{ "--limit", CLI_INT, &limit, 1, 200, "--limit must be 1..200" },
		{ 0 },
	};
	int args = cli_parse(argc, argv, STATUS_HELP, opts, &opt, NULL, "unknown argument");
	if (args != EXIT_OK)
		return args == CLI_HELP_SHOWN ? EXIT_OK : args;
	hl_blast_settings bs;
	hl_err err;
	int breaker_max = 3;
	hl_err_clear(&err);
	if (hl_blast_settings_load(&bs, &err) < 0 ||
	    hl_setting_int("HEALER_BREAKER_MAX", 3, 1, 100, &breaker_max, &err) < 0)
		return cli_fail_usage("status", err.message);
	cli_ops o = { 0 };
	int code = cli_open(&o, "status", opt.region);
	if (code != EXIT_OK)
		return code;

	json_object *out = json_object_new_object(), *part = NULL;
	int64_t now_ms = hl_wall_ms(hl_clock_system());
	hl_killswitch_state ks;
	hl_blast_state st;
	const char *param = NULL;
	(void)hl_setting_str("HEALER_KILL_SWITCH_PARAM", HL_KILLSWITCH_DEFAULT_PARAM, &param);
	if (hl_killswitch_get(o.conn, &ks, &err) < 0) {
		code = cli_aws_failed("status", "reading the kill switch", &err);
		goto done;
	}
	json_object *k = json_object_new_object();
	json_object_object_add(k, "parameter", json_object_new_string(param));
	json_object_object_add(k, "state", json_object_new_string(hl_killswitch_state_name(ks)));
	json_object_object_add(k, "allows", json_object_new_boolean(hl_killswitch_allows(ks)));
	json_object_object_add(out, "killSwitch", k);
	if (hl_blast_state_read(o.conn, bs.table, &st, &err) < 0) {
		code = cli_aws_failed("status", "reading the blast-radius state", &err);
		goto done;
	}
	json_object *b = hl_blast_state_json(&st);
	json_object *limits = json_object_new_object();
	json_object_object_add(limits, "perHour", json_object_new_int(bs.max_per_hour));
	json_object_object_add(limits, "perClass10m", json_object_new_int(bs.max_per_class_10m));
	json_object_object_add(b, "limits", limits);
	if (hl_blast_counts_json(o.conn, &bs, st.epoch, now_ms, &part, &err) < 0) {
		json_object_put(b);
		code = cli_aws_failed("status", "reading the blast-radius counts", &err);
		goto done;
	}
	json_object_object_add(b, "windows", part);
	json_object_object_add(out, "blastRadius", b);
	if (breakers(o.conn, bs.table, breaker_max, now_ms / 1000, &part, &err) < 0) {
		code = cli_aws_failed("status", "scanning the breaker table", &err);
		goto done;
	}
	json_object_object_add(out, "breakers", part);
	if (recent(o.conn, bs.audit_table, limit, &part, &err) < 0) {
		code = cli_aws_failed("status", "scanning the audit table", &err);
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

	if (opt.json) {
		cli_print_json(out);
		goto done;
	}
	char buf[700];
	printf("engine:        %s%s%s\n", acting ? "acting on its own" : "NOT ACTING", why ? " - " : "", why ? why : "");
	printf("kill switch:   %s (%s)\n", hl_killswitch_state_name(ks), cli_shown(param, buf, sizeof(buf), 200));
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
		printf("               stopped at %s by %s: %s\n", cli_shown(st.stopped_at, buf, sizeof(buf), 40),
		       cli_shown(st.stopped_by, by, sizeof(by), 256), st.reason);
		printf("               run 'healer enable --reason TEXT' to resume\n");
	}
	json_object *bl = NULL;
	json_object_object_get_ex(out, "breakers", &bl);
	printf("breakers:      %zu resource(s) remediated this hour\n", json_object_array_length(bl));
	for (size_t i = 0; i < json_object_array_length(bl); i++) {
		json_object *x = json_object_array_get_idx(bl, i), *cnt = NULL, *opn = NULL;
		json_object_object_get_ex(x, "count", &cnt);
		json_object_object_get_ex(x, "open", &opn);
		printf("  %-40s %d/%d%s\n", cli_shown(cli_plain_str(x, "resource"), buf, sizeof(buf), 200), json_object_get_int(cnt),
		       breaker_max, json_object_get_boolean(opn) ? "  OPEN" : "");
	}
	json_object *ra = NULL;
	json_object_object_get_ex(out, "recentActions", &ra);
	printf("last actions:  %zu\n", json_object_array_length(ra));
	for (size_t i = 0; i < json_object_array_length(ra); i++)
		print_record_line(json_object_array_get_idx(ra, i));
done:
	json_object_put(out);
	cli_close(&o);
	return code;
}

