/* test_outcome_metrics.c - the EMF lines of outcome_metrics.h (suite
 * "outcome_metrics").
 *
 * Every line is parsed back with json-c and held to what CloudWatch needs
 * to turn it into a metric: _aws.Timestamp, one CloudWatchMetrics
 * directive in namespace Healer whose dimension set names root members and
 * whose Metrics declare every numeric member. Lines written through the
 * switch are captured with hl_log_set_fd on a temporary file.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/common.h"
#include "healer/log.h"
#include "healer/outcome_metrics.h"
#include "healer/record.h"

/* Parses one line (ending in exactly one '\n') and checks the EMF shape:
 * the declared metric is `metric` with unit Count, the dimension set is
 * `dims` (n names), each a string member of the root, and the root's
 * numeric members are exactly the declared metric. Returns the object. */
static json_object *check_emf(const char *line, size_t len, const char *metric,
			      const char *const *dims, size_t n)
{
	cr_assert_gt(len, 1);
	cr_assert_eq(line[len - 1], '\n', "a line ends with a newline");
	cr_assert_null(memchr(line, '\n', len - 1), "exactly one line");
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, line, (int)len - 1);
	cr_assert_eq(json_tokener_get_error(tok), json_tokener_success, "valid JSON: %s", line);
	cr_assert_eq(json_tokener_get_parse_end(tok), len - 1, "nothing after the object");
	json_tokener_free(tok);

	json_object *aws, *ts, *cwm, *dir, *ns, *dsets, *mets;
	cr_assert(json_object_object_get_ex(o, "_aws", &aws));
	cr_assert(json_object_object_get_ex(aws, "Timestamp", &ts));
	cr_assert(json_object_is_type(ts, json_type_int));
	cr_assert(json_object_object_get_ex(aws, "CloudWatchMetrics", &cwm));
	cr_assert_eq(json_object_array_length(cwm), 1);
	dir = json_object_array_get_idx(cwm, 0);
	cr_assert(json_object_object_get_ex(dir, "Namespace", &ns));
	cr_assert_str_eq(json_object_get_string(ns), "Healer");
	cr_assert(json_object_object_get_ex(dir, "Dimensions", &dsets));
	cr_assert_eq(json_object_array_length(dsets), 1);
	json_object *set = json_object_array_get_idx(dsets, 0);
	cr_assert_eq(json_object_array_length(set), n);
	for (size_t i = 0; i < n; i++) {
		json_object *dn = json_object_array_get_idx(set, i), *dv;
		cr_assert_str_eq(json_object_get_string(dn), dims[i]);
		cr_assert(json_object_object_get_ex(o, dims[i], &dv), "dimension %s is a member", dims[i]);
		cr_assert(json_object_is_type(dv, json_type_string));
	}
	cr_assert(json_object_object_get_ex(dir, "Metrics", &mets));
	cr_assert_eq(json_object_array_length(mets), 1);
	json_object *m = json_object_array_get_idx(mets, 0), *mn, *mu, *mv;
	cr_assert(json_object_object_get_ex(m, "Name", &mn));
	cr_assert_str_eq(json_object_get_string(mn), metric);
	cr_assert(json_object_object_get_ex(m, "Unit", &mu));
	cr_assert_str_eq(json_object_get_string(mu), "Count");
	cr_assert(json_object_object_get_ex(o, metric, &mv));
	cr_assert(json_object_is_type(mv, json_type_int));
	json_object_object_foreach(o, key, val) {
		if (json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double))
			cr_assert_str_eq(key, metric, "numeric member %s is declared", key);
	}
	return o;
}

static const char *str_member(json_object *o, const char *k)
{
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, k, &v), "member %s", k);
	return json_object_get_string(v);
}

Test(outcome_metrics, formats_one_metric_with_two_dimensions)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	const hl_metric_dim d[] = { { "Class", "disk_pressure" }, { "Result", "applied" } };
	cr_assert_eq(hl_emf_format(&b, 1764219000123LL, "Remediations", d, 2, 1), HL_OK);
	const char *names[] = { "Class", "Result" };
	json_object *o = check_emf(b.data, b.len, "Remediations", names, 2);
	json_object *aws, *ts, *v;
	json_object_object_get_ex(o, "_aws", &aws);
	json_object_object_get_ex(aws, "Timestamp", &ts);
	cr_assert_eq(json_object_get_int64(ts), 1764219000123LL);
	cr_assert_str_eq(str_member(o, "Class"), "disk_pressure");
	cr_assert_str_eq(str_member(o, "Result"), "applied");
	json_object_object_get_ex(o, "Remediations", &v);
	cr_assert_eq(json_object_get_int(v), 1);
	json_object_put(o);
	hl_buf_free(&b);
}

Test(outcome_metrics, no_dimension_is_an_empty_set)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	cr_assert_eq(hl_emf_format(&b, 1, "BlastRadiusStopped", NULL, 0, 1), HL_OK);
	cr_assert_not_null(strstr(b.data, "\"Dimensions\":[[]]"), "%s", b.data);
	json_object *o = check_emf(b.data, b.len, "BlastRadiusStopped", NULL, 0);
	json_object_put(o);
	hl_buf_free(&b);
}

Test(outcome_metrics, escapes_names_and_values)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	/* Only fixed values reach the helpers, but the formatter must still
	 * never let a value end the string, the object or the line. */
	const char *hostile = "x\",\"Remediations\":99,\"y\":\"\n\\\x01\xff";
	const hl_metric_dim d[] = { { "Class", hostile } };
	cr_assert_eq(hl_emf_format(&b, 5, "Escalations", d, 1, 1), HL_OK);
	const char *names[] = { "Class" };
	json_object *o = check_emf(b.data, b.len, "Escalations", names, 1);
	cr_assert_str_eq(str_member(o, "Class"), "x\",\"Remediations\":99,\"y\":\"\n\\\x01\xef\xbf\xbd");
	cr_assert(!json_object_object_get_ex(o, "Remediations", NULL), "no injected member");
	cr_assert(!json_object_object_get_ex(o, "y", NULL), "no injected member");
	json_object_put(o);
	hl_buf_free(&b);
}

Test(outcome_metrics, refuses_bad_arguments)
{
	hl_buf b;
	hl_buf_init(&b, 4096);
	const hl_metric_dim d[] = { { "A", "1" }, { "B", "2" }, { "C", "3" }, { "D", "4" }, { "E", "5" } };
	cr_assert_eq(hl_emf_format(&b, 1, NULL, NULL, 0, 1), HL_ERR_INVALID);
	cr_assert_eq(hl_emf_format(&b, 1, "", NULL, 0, 1), HL_ERR_INVALID);
	cr_assert_eq(hl_emf_format(&b, 1, "M", d, HL_METRIC_DIMS_MAX + 1, 1), HL_ERR_INVALID);
	cr_assert_eq(hl_emf_format(&b, 1, "M", NULL, 1, 1), HL_ERR_INVALID);
	const hl_metric_dim nullv[] = { { "A", NULL } };
	cr_assert_eq(hl_emf_format(&b, 1, "M", nullv, 1, 1), HL_ERR_INVALID);
	cr_assert_eq(hl_emf_format(&b, 1, "M", d, HL_METRIC_DIMS_MAX, 1), HL_OK);
	hl_buf_free(&b);

	hl_buf small;
	hl_buf_init(&small, 64);
	cr_assert_eq(hl_emf_format(&small, 1, "Remediations", d, 2, 1), HL_ERR_TOO_LARGE);
	hl_buf_free(&small);
}

Test(outcome_metrics, dimension_values_come_from_fixed_sets)
{
	cr_assert_str_eq(hl_metric_class("disk_pressure"), "disk_pressure");
	cr_assert_str_eq(hl_metric_class("cert_expiry"), "cert_expiry");
	cr_assert_str_eq(hl_metric_class("public_ssh"), "public_ssh");
	cr_assert_str_eq(hl_metric_class("disk_pressure "), "unknown");
	cr_assert_str_eq(hl_metric_class("<script>"), "unknown");
	cr_assert_str_eq(hl_metric_class(NULL), "unknown");
	cr_assert_str_eq(hl_metric_decision("breaker"), "breaker");
	cr_assert_str_eq(hl_metric_decision("blast-stopped"), "blast-stopped");
	cr_assert_str_eq(hl_metric_decision("engine disabled"), "other");
	cr_assert_str_eq(hl_metric_decision(NULL), "other");
	cr_assert_str_eq(hl_remediation_result_name(HL_REMEDIATION_APPLIED), "applied");
	cr_assert_str_eq(hl_remediation_result_name(HL_REMEDIATION_DRY_RUN), "dry-run");
	cr_assert_str_eq(hl_remediation_result_name(HL_REMEDIATION_SKIPPED), "skipped");
	cr_assert_str_eq(hl_remediation_result_name(HL_REMEDIATION_ESCALATED), "escalated");
	cr_assert_str_eq(hl_remediation_result_name(HL_REMEDIATION_FAILED), "failed");
}

/* ---- written lines ---- */

static FILE *cap;

static void cap_setup(void)
{
	cap = tmpfile();
	cr_assert_not_null(cap);
	hl_log_set_fd(fileno(cap));
}

static void cap_teardown(void)
{
	hl_log_set_fd(1);
	hl_outcome_metrics_enable(false);
	if (cap)
		fclose(cap);
}

/* The captured lines, NULL-terminated (caller frees each and the array). */
static char **captured_lines(size_t *n)
{
	int fd = fileno(cap);
	off_t end = lseek(fd, 0, SEEK_END);
	cr_assert_geq(end, 0);
	char *data = calloc(1, (size_t)end + 1);
	cr_assert_eq(pread(fd, data, (size_t)end, 0), end);
	size_t count = 0, cap_n = 8;
	char **lines = calloc(cap_n, sizeof(*lines));
	for (char *p = data; *p;) {
		char *nl = strchr(p, '\n');
		cr_assert_not_null(nl, "every line ends with a newline");
		if (count + 2 > cap_n) {
			cap_n *= 2;
			lines = realloc(lines, cap_n * sizeof(*lines));
		}
		lines[count++] = strndup(p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
	lines[count] = NULL;
	free(data);
	*n = count;
	return lines;
}

static void free_lines(char **lines)
{
	for (size_t i = 0; lines[i]; i++)
		free(lines[i]);
	free(lines);
}

Test(outcome_metrics, nothing_is_written_until_enabled, .init = cap_setup, .fini = cap_teardown)
{
	hl_outcome_remediation("disk_pressure", HL_REMEDIATION_APPLIED);
	size_t n;
	char **lines = captured_lines(&n);
	cr_assert_eq(n, 0);
	free_lines(lines);
}

Test(outcome_metrics, helpers_write_the_declared_lines, .init = cap_setup, .fini = cap_teardown)
{
	hl_outcome_metrics_enable(true);
	hl_outcome_remediation("public_ssh", HL_REMEDIATION_DRY_RUN);
	hl_outcome_escalation("not a class");
	hl_outcome_guard("breaker", "disk_pressure");
	hl_outcome_guard("blast", "cert_expiry");
	hl_outcome_guard("proceed", "cert_expiry");
	size_t n;
	char **lines = captured_lines(&n);
	cr_assert_eq(n, 7, "remediation, escalation, 2+2+1 guard lines; got %zu", n);
	const char *cr[] = { "Class", "Result" }, *c[] = { "Class" }, *dd[] = { "Decision" };
	struct { const char *metric; const char *const *dims; size_t nd; const char *k, *v; } want[] = {
		{ "Remediations", cr, 2, "Result", "dry-run" },
		{ "Escalations", c, 1, "Class", "unknown" },
		{ "GuardDecisions", dd, 1, "Decision", "breaker" },
		{ "BreakerTrips", c, 1, "Class", "disk_pressure" },
		{ "GuardDecisions", dd, 1, "Decision", "blast" },
		{ "BlastRadiusStopped", NULL, 0, NULL, NULL },
		{ "GuardDecisions", dd, 1, "Decision", "proceed" },
	};
	for (size_t i = 0; i < n; i++) {
		json_object *o = check_emf(lines[i], strlen(lines[i]), want[i].metric, want[i].dims,
					   want[i].nd);
		if (want[i].k)
			cr_assert_str_eq(str_member(o, want[i].k), want[i].v);
		json_object_put(o);
	}
	free_lines(lines);
}

static void *emit_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++)
		hl_outcome_remediation("cert_expiry", HL_REMEDIATION_APPLIED);
	return NULL;
}

static void *log_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++)
		HL_LOG(HL_LOG_INFO, "a log line between metric lines", HL_LI("i", i));
	return NULL;
}

Test(outcome_metrics, concurrent_lines_never_interleave, .init = cap_setup, .fini = cap_teardown)
{
	hl_outcome_metrics_enable(true);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, i % 2 ? log_many : emit_many, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	size_t n, metrics = 0;
	char **lines = captured_lines(&n);
	cr_assert_eq(n, 800);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_tokener_parse(lines[i]);
		cr_assert_not_null(o, "line %zu is whole JSON: %s", i, lines[i]);
		if (json_object_object_get_ex(o, "_aws", NULL))
			metrics++;
		json_object_put(o);
	}
	cr_assert_eq(metrics, 400);
	free_lines(lines);
}

/* ---- what audit counts (hl_record_outcome_of) ---- */

#define EXEC "\"execution\":\"arn:aws:states:us-east-1:123456789012:execution:healer-engine:evt-1\""
#define DIAG(cls) "\"diagnosis\":{\"class\":\"" cls "\",\"confidence\":0.95}"
#define GUARD_INSTANCE \
	"\"guard\":{\"proceed\":false,\"reason\":\"Manual Intervention Required: circuit breaker open\"," \
	"\"resource\":{\"type\":\"instance\",\"id\":\"i-0abcd1234ef567890\"}}"
#define ERROR "\"error\":{\"Error\":\"Healer.RemediateSg.AwsError\",\"Cause\":\"boom\"}"

static const struct outcome_case {
	const char *what, *input;
	bool remediation;
	hl_remediation_result result;
	bool escalation;
	const char *cls;
} outcome_cases[] = {
	{ "resolved, applied",
	  "{" EXEC ",\"mode\":\"resolved\"," DIAG("disk_pressure") ",\"remediation\":{\"applied\":true,\"escalate\":false}}",
	  true, HL_REMEDIATION_APPLIED, false, "disk_pressure" },
	{ "resolved, dry run",
	  "{" EXEC ",\"mode\":\"resolved\",\"dryRun\":true," DIAG("cert_expiry") ",\"remediation\":{\"applied\":false,\"escalate\":false}}",
	  true, HL_REMEDIATION_DRY_RUN, false, "cert_expiry" },
	{ "resolved, nothing to do",
	  "{" EXEC ",\"mode\":\"resolved\"," DIAG("public_ssh") ",\"remediation\":{\"applied\":false,\"escalate\":false}}",
	  true, HL_REMEDIATION_SKIPPED, false, "public_ssh" },
	{ "the remediation escalated without acting",
	  "{" EXEC ",\"mode\":\"escalated\"," DIAG("public_ssh") ",\"remediation\":{\"applied\":false,\"escalate\":true}}",
	  true, HL_REMEDIATION_ESCALATED, true, "public_ssh" },
	{ "applied, then escalated (not verified)",
	  "{" EXEC ",\"mode\":\"escalated\"," DIAG("disk_pressure") ",\"remediation\":{\"applied\":true,\"escalate\":true}}",
	  true, HL_REMEDIATION_APPLIED, true, "disk_pressure" },
	{ "the remediate task failed",
	  "{" EXEC ",\"mode\":\"escalated\"," DIAG("public_ssh") "," ERROR "}",
	  true, HL_REMEDIATION_FAILED, true, "public_ssh" },
	{ "the remediate task failed in a dry run",
	  "{" EXEC ",\"mode\":\"escalated\",\"dryRun\":true," DIAG("public_ssh") "," ERROR "}",
	  true, HL_REMEDIATION_FAILED, true, "public_ssh" },
	{ "Record failed after its audit: counted there",
	  "{" EXEC ",\"mode\":\"escalated\"," DIAG("disk_pressure") ",\"remediation\":{\"applied\":true,\"escalate\":false}," ERROR "}",
	  false, HL_REMEDIATION_APPLIED, true, "disk_pressure" },
	{ "refused by the guard: class from its resource",
	  "{" EXEC ",\"mode\":\"escalated\"," GUARD_INSTANCE "}",
	  false, HL_REMEDIATION_APPLIED, true, "disk_pressure" },
	{ "unclassifiable event",
	  "{" EXEC ",\"mode\":\"escalated\"," DIAG("unknown") "}",
	  false, HL_REMEDIATION_APPLIED, true, "unknown" },
	{ "Diagnose failed, no resource",
	  "{" EXEC ",\"mode\":\"escalated\"," ERROR "}",
	  false, HL_REMEDIATION_APPLIED, true, "unknown" },
	{ "confidence too low: no remediation ran",
	  "{" EXEC ",\"mode\":\"escalated\",\"diagnosis\":{\"class\":\"disk_pressure\",\"confidence\":0.5}}",
	  false, HL_REMEDIATION_APPLIED, true, "disk_pressure" },
	{ "a class outside the set",
	  "{" EXEC ",\"mode\":\"escalated\",\"diagnosis\":{\"class\":\"x\\\"y\"}}",
	  false, HL_REMEDIATION_APPLIED, true, "unknown" },
};

Test(outcome_metrics, audit_counts_each_path_once)
{
	for (size_t i = 0; i < sizeof(outcome_cases) / sizeof(outcome_cases[0]); i++) {
		const struct outcome_case *c = &outcome_cases[i];
		json_object *in = json_tokener_parse(c->input);
		cr_assert_not_null(in, "%s: test input is JSON", c->what);
		hl_record rec;
		cr_assert_eq(hl_record_parse(NULL, in, &rec), HL_OK, "%s", c->what);
		hl_record_outcome o;
		hl_record_outcome_of(&rec, &o);
		cr_expect_eq(o.remediation, c->remediation, "%s: remediation counted", c->what);
		if (c->remediation)
			cr_expect_str_eq(hl_remediation_result_name(o.result),
					 hl_remediation_result_name(c->result), "%s: result", c->what);
		cr_expect_eq(o.escalation, c->escalation, "%s: escalation counted", c->what);
		cr_expect_str_eq(o.cls, c->cls, "%s: class", c->what);
		hl_record_free(&rec);
		json_object_put(in);
	}
}
