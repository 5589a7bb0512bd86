/* outcome_metrics.h - EMF lines saying what the engine did.
 *
 * worker/metrics.c reports how the pool runs (tasks, polls, slots) once per
 * interval; these say what the activities decided, one CloudWatch Embedded
 * Metric Format line per outcome, written at the moment it is known
 * (namespace "Healer", unit Count, value 1):
 *
 *   Remediations        [Class, Result]  audit: once per remediation
 *   Escalations         [Class]          audit (escalated): once per execution
 *                                        (hl_outcome_record, below)
 *   GuardDecisions      [Decision]       guard: every decision it answers
 *   BreakerTrips        [Class]          guard: refused, breaker open
 *   BlastRadiusStopped  []               guard: refused by the blast-radius
 *                                        limit (tripped it or found it tripped)
 *
 * Dimension values come only from the fixed sets below: a value outside a
 * set is reported as "unknown" (class) or "other" (decision), so no event
 * text ever becomes a dimension (which would also create a metric per
 * value). Each line is built outside any lock and written in one call to
 * hl_log_write_line(), so it never interleaves with another thread's line.
 *
 * Lines are written only once a worker has enabled them
 * (hl_outcome_metrics_enable, from HEALER_METRICS_INTERVAL_S > 0): the
 * one-shot commands (`healer run-activity`) keep their stdout for the
 * activity's output.
 */
#ifndef HEALER_OUTCOME_METRICS_H
#define HEALER_OUTCOME_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/common.h"

/* The classes (event.h's hl_event_class_name) and the other fixed sets. */
#define HL_METRIC_CLASSES "disk_pressure", "public_ssh", "cert_expiry", "unknown"
#define HL_METRIC_DECISIONS                                                          \
	"proceed", "recovery", "kill-switch", "break-glass", "protected", "opted-out", \
		"duplicate", "blast-stopped", "breaker", "blast"

typedef enum hl_remediation_result {
	HL_REMEDIATION_APPLIED = 0, /* the engine changed something */
	HL_REMEDIATION_DRY_RUN,     /* dry run: what a real run would do */
	HL_REMEDIATION_SKIPPED,     /* nothing to do (already fixed) */
	HL_REMEDIATION_ESCALATED,   /* the activity left it to a person */
	HL_REMEDIATION_FAILED,      /* the activity failed (after retries) */
} hl_remediation_result;

/* "applied" | "dry-run" | "skipped" | "escalated" | "failed". */
const char *hl_remediation_result_name(hl_remediation_result r);

/* The static name of cls when it is one of HL_METRIC_CLASSES, else
 * "unknown" (also for NULL). */
const char *hl_metric_class(const char *cls);
/* The static name of decision when it is one of HL_METRIC_DECISIONS, else
 * "other". */
const char *hl_metric_decision(const char *decision);

typedef struct hl_metric_dim {
	const char *name;   /* a fixed name chosen by the code */
	const char *value;  /* JSON-escaped when written */
} hl_metric_dim;

#define HL_METRIC_DIMS_MAX 4

/* Resets b and formats one EMF line (with its '\n'): metric (unit Count)
 * with `value`, declared in namespace "Healer" under the one dimension set
 * dims[0..n_dims) (n_dims may be 0: no dimension), timestamp ts_ms (epoch
 * ms). Names and values are JSON-escaped. HL_ERR_INVALID for a NULL or
 * empty name or more than HL_METRIC_DIMS_MAX dimensions; HL_ERR_TOO_LARGE
 * past b's bound. Pure: no I/O. */
int hl_emf_format(hl_buf *b, int64_t ts_ms, const char *metric, const hl_metric_dim *dims,
		  size_t n_dims, long value) HL_MUST_CHECK;

/* Process-wide switch (an atomic; default off). */
void hl_outcome_metrics_enable(bool on);
bool hl_outcome_metrics_enabled(void);

/* Formats and writes one line when enabled; errors are dropped (a metric
 * is never worth failing a task for). Thread-safe. */
void hl_outcome_metric(const char *metric, const hl_metric_dim *dims, size_t n_dims);

/* Remediations{Class, Result}. */
void hl_outcome_remediation(const char *cls, hl_remediation_result r);
/* Escalations{Class}. */
void hl_outcome_escalation(const char *cls);
/* GuardDecisions{Decision}; plus BreakerTrips{Class} for "breaker" and
 * BlastRadiusStopped for "blast" and "blast-stopped". */
void hl_outcome_guard(const char *decision, const char *cls);

/* What the audit of one execution outcome counts (audit calls
 * hl_outcome_record once per record it writes). Each remediation takes
 * exactly one path through the state machine: RemediationChoice sends it
 * to Record (mode resolved) or, when it escalates, to Escalate without an
 * error; a failed remediate task reaches Escalate through its Catch with
 * an error, a diagnosis of a remediable class and no remediation. Escalate
 * with both a remediation and an error means the Record state itself
 * failed after its audit ran: not counted again. */
struct hl_record;
typedef struct hl_record_outcome {
	const char *cls;               /* HL_METRIC_CLASSES (static) */
	bool remediation;              /* a Remediations line is due */
	hl_remediation_result result;  /* its Result */
	bool escalation;               /* an Escalations line is due */
} hl_record_outcome;

/* Fills out from rec. Class: diagnosis.class, else the class of the
 * guard's resource type (an execution refused before Diagnose), else
 * "unknown". Result: failed, else dry-run, else applied (the activity
 * changed something), else escalated (it left the problem to a person),
 * else skipped (nothing to do). */
void hl_record_outcome_of(const struct hl_record *rec, hl_record_outcome *out);
/* Emits the lines hl_record_outcome_of says are due. */
void hl_outcome_record(const struct hl_record *rec);

#endif
