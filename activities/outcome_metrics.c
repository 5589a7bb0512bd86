/* outcome_metrics.c - EMF lines for what the activities decided
 * (outcome_metrics.h).
 *
 * One line per outcome, declaring exactly the one metric it carries:
 *
 *   {"_aws":{"Timestamp":1764219000000,"CloudWatchMetrics":[{"Namespace":
 *   "Healer","Dimensions":[["Class","Result"]],"Metrics":[{"Name":
 *   "Remediations","Unit":"Count"}]}]},"Class":"disk_pressure",
 *   "Result":"applied","Remediations":1}
 *
 * CloudWatch drops a member that no directive declares, and a dimension
 * named in a set must be a member of the line: both hold by construction
 * here. The line is built in a bounded hl_buf on the calling
 * (executor) thread and handed whole to hl_log_write_line(), which writes
 * it under the log's lock.
 *
 * hl_record_outcome_of() is the table of what audit counts for each way an
 * execution can end (outcome_metrics.h); audit.c says why audit counts.
 */
#include <stdatomic.h>
#include <string.h>

#include "healer/clock.h"
#include "healer/log.h"
#include "healer/outcome_metrics.h"
#include "healer/record.h"

#define EMF_LINE_MAX 2048   /* names and values are short fixed strings */
#define APPEND_LIT(b, lit) hl_buf_append((b), (lit), sizeof(lit) - 1)

static atomic_bool g_enabled;

static const char *const classes[] = { HL_METRIC_CLASSES, NULL };
static const char *const decisions[] = { HL_METRIC_DECISIONS, NULL };

void hl_outcome_metrics_enable(bool on)
{
	atomic_store_explicit(&g_enabled, on, memory_order_relaxed);
}

bool hl_outcome_metrics_enabled(void)
{
	return atomic_load_explicit(&g_enabled, memory_order_relaxed);
}

static const char *member(const char *const *set, const char *s, const char *otherwise)
{
	for (size_t i = 0; s && set[i]; i++)
		if (strcmp(set[i], s) == 0)
			return set[i];
	return otherwise;
}

const char *hl_metric_class(const char *cls)
{
	return member(classes, cls, "unknown");
}

const char *hl_metric_decision(const char *decision)
{
	return member(decisions, decision, "other");
}

const char *hl_remediation_result_name(hl_remediation_result r)
{
	switch (r) {
	case HL_REMEDIATION_APPLIED: return "applied";
	case HL_REMEDIATION_DRY_RUN: return "dry-run";
	case HL_REMEDIATION_SKIPPED: return "skipped";
	case HL_REMEDIATION_ESCALATED: return "escalated";
	default: return "failed";
	}
}

static int escaped(hl_buf *b, const char *s)
{
	return hl_json_escape(b, s, s ? strlen(s) : 0);
}

int hl_emf_format(hl_buf *b, int64_t ts_ms, const char *metric, const hl_metric_dim *dims,
		  size_t n_dims, long value)
{
	hl_buf_reset(b);
	if (!metric || !*metric || n_dims > HL_METRIC_DIMS_MAX || (n_dims && !dims))
		return HL_ERR_INVALID;
	for (size_t i = 0; i < n_dims; i++)
		if (!dims[i].name || !*dims[i].name || !dims[i].value)
			return HL_ERR_INVALID;

	HL_GUARD(hl_buf_appendf(b, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{"
				   "\"Namespace\":\"Healer\",\"Dimensions\":[[",
				(long long)ts_ms));
	for (size_t i = 0; i < n_dims; i++) {
		if (i)
			HL_GUARD(hl_buf_append(b, ",", 1));
		HL_GUARD(escaped(b, dims[i].name));
	}
	HL_GUARD(APPEND_LIT(b, "]],\"Metrics\":[{\"Name\":"));
	HL_GUARD(escaped(b, metric));
	HL_GUARD(APPEND_LIT(b, ",\"Unit\":\"Count\"}]}]}"));
	for (size_t i = 0; i < n_dims; i++) {
		HL_GUARD(hl_buf_append(b, ",", 1));
		HL_GUARD(escaped(b, dims[i].name));
		HL_GUARD(hl_buf_append(b, ":", 1));
		HL_GUARD(escaped(b, dims[i].value));
	}
	HL_GUARD(hl_buf_append(b, ",", 1));
	HL_GUARD(escaped(b, metric));
	return hl_buf_appendf(b, ":%ld}\n", value);
}

void hl_outcome_metric(const char *metric, const hl_metric_dim *dims, size_t n_dims)
{
	if (!hl_outcome_metrics_enabled())
		return;
	hl_buf b;
	hl_buf_init(&b, EMF_LINE_MAX);
	if (hl_emf_format(&b, hl_wall_ms(hl_clock_system()), metric, dims, n_dims, 1) == HL_OK)
		hl_log_write_line(b.data, b.len);
	hl_buf_free(&b);
}

void hl_outcome_remediation(const char *cls, hl_remediation_result r)
{
	const hl_metric_dim d[] = { { "Class", hl_metric_class(cls) },
				    { "Result", hl_remediation_result_name(r) } };
	hl_outcome_metric("Remediations", d, 2);
}

void hl_outcome_escalation(const char *cls)
{
	const hl_metric_dim d[] = { { "Class", hl_metric_class(cls) } };
	hl_outcome_metric("Escalations", d, 1);
}

void hl_outcome_guard(const char *decision, const char *cls)
{
	const char *name = hl_metric_decision(decision);
	const hl_metric_dim d[] = { { "Decision", name } };
	hl_outcome_metric("GuardDecisions", d, 1);
	if (strcmp(name, "breaker") == 0) {
		const hl_metric_dim c[] = { { "Class", hl_metric_class(cls) } };
		hl_outcome_metric("BreakerTrips", c, 1);
	} else if (strcmp(name, "blast") == 0 || strcmp(name, "blast-stopped") == 0) {
		hl_outcome_metric("BlastRadiusStopped", NULL, 0);
	}
}

/* The guard's resource type maps one to one onto a class. */
static const char *class_of_type(const char *type)
{
	static const struct { const char *type, *cls; } by_type[] = {
		{ "instance", "disk_pressure" },
		{ "security-group", "public_ssh" },
		{ "certificate", "cert_expiry" },
	};
	for (size_t i = 0; type && i < sizeof(by_type) / sizeof(by_type[0]); i++)
		if (strcmp(type, by_type[i].type) == 0)
			return by_type[i].cls;
	return "unknown";
}

void hl_record_outcome_of(const hl_record *rec, hl_record_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->cls = hl_metric_class(rec->klass ? rec->klass : class_of_type(rec->resource_type));
	out->escalation = rec->escalated;
	if (rec->remediation && (!rec->escalated || !rec->error)) {
		out->remediation = true;
		if (rec->dry_run)
			out->result = HL_REMEDIATION_DRY_RUN;
		else if (rec->applied == 1)
			out->result = HL_REMEDIATION_APPLIED;
		else if (rec->escalated)
			out->result = HL_REMEDIATION_ESCALATED;
		else
			out->result = HL_REMEDIATION_SKIPPED;
	} else if (rec->escalated && !rec->remediation && rec->error && rec->diagnosis &&
		   rec->klass && strcmp(rec->klass, "unknown") != 0) {
		/* Failed wins over dry-run: nothing says what a real run would
		 * have done. */
		out->remediation = true;
		out->result = HL_REMEDIATION_FAILED;
	}
}

void hl_outcome_record(const hl_record *rec)
{
	hl_record_outcome o;
	hl_record_outcome_of(rec, &o);
	if (o.remediation)
		hl_outcome_remediation(o.cls, o.result);
	if (o.escalation)
		hl_outcome_escalation(o.cls);
}
