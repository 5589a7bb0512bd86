/* renew_cert.c - activity "renew-cert": renews an ACM certificate where
 * ACM lets the engine do it, and otherwise escalates with the exact
 * dependency path a person has to follow.
 *
 * Input {"execution", "dryRun", "diagnosis"} with diagnosis.class
 * "cert_expiry" and details.certificateArn.
 *
 * DescribeCertificate, then (aws-api-notes section 4):
 *   - ISSUED and expiring later than HEALER_CERT_RENEW_WITHIN_DAYS: already
 *     renewed (e.g. by a previous run of this execution) - nothing to do;
 *   - ManagedBy set (e.g. CLOUDFRONT), IMPORTED, PENDING_VALIDATION or any
 *     status other than ISSUED: escalate (ACM cannot renew these here);
 *   - PRIVATE, or AMAZON_ISSUED with Options.Export ENABLED, and
 *     RenewalEligibility ELIGIBLE: RenewCertificate (RequestInProgress
 *     means an earlier attempt is running: fine), then read the
 *     certificate back every HEALER_ACM_POLL_MS, up to 10 times, until
 *     NotAfter moves (verified) or RenewalSummary says FAILED (escalate);
 *   - every other case (managed renewal of AMAZON_ISSUED certificates,
 *     INELIGIBLE private ones): escalate naming why - EMAIL validation,
 *     DNS validation pending (with the CNAME to create), renewal FAILED
 *     and its reason, not in use, or renewal not done in time.
 * The output's details.dependencyPath reads InUseBy -> certificate ->
 * validation -> renewal status. Values from ACM are copied as bounded
 * printable text. Dry run: only DescribeCertificate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/clock.h"
#include "healer/diagnosis.h"
#include "healer/ids.h"
#include "healer/log.h"
#include "healer/retry.h"
#include "healer/settings.h"

#define PREFIX "Healer.RenewCert"
#define VERIFY_READS 10
#define MAX_LIST 50
#define TEXT_MAX 256

typedef struct cert_settings {
	int renew_within_days;
	int poll_ms;
} cert_settings;

typedef enum cert_action { CERT_NOTHING, CERT_RENEW, CERT_ESCALATE } cert_action;

static int load_settings(cert_settings *s, hl_err *err)
{
	HL_GUARD(hl_setting_int("HEALER_CERT_RENEW_WITHIN_DAYS", 60, 1, 397, &s->renew_within_days, err));
	HL_GUARD(hl_setting_int("HEALER_ACM_POLL_MS", 3000, 10, 60000, &s->poll_ms, err));
	return HL_OK;
}

static int cert_init(hl_err *err)
{
	cert_settings s;
	return load_settings(&s, err);
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* Printable excerpt of obj[key] ("" when absent or not a string). */
static void text_of(json_object *obj, const char *key, char *out, size_t outsz)
{
	json_object *v = member(obj, key);
	hl_excerpt(json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "", outsz, out, outsz);
}

static bool text_is(json_object *obj, const char *key, const char *want)
{
	json_object *v = member(obj, key);
	return json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), want) == 0;
}

/* A timestamp member (epoch seconds). A value outside 1970..9999 (or not
 * finite) counts as absent: converting it to an integer would be undefined. */
static bool number_of(json_object *obj, const char *key, double *out)
{
	json_object *v = member(obj, key);
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return false;
	double d = json_object_get_double(v);
	if (!(d >= 0 && d <= 253402300799.0))
		return false;
	*out = d;
	return true;
}

static json_object *text_json(json_object *obj, const char *key)
{
	char t[TEXT_MAX];
	text_of(obj, key, t, sizeof(t));
	return t[0] ? json_object_new_string(t) : NULL;
}

/* A JSON array of the strings in obj[key] (bounded, printable). */
static json_object *string_list(json_object *obj, const char *key, size_t max_len)
{
	json_object *in = member(obj, key), *out = json_object_new_array();
	size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;
	for (size_t i = 0; i < n && i < MAX_LIST; i++) {
		json_object *it = json_object_array_get_idx(in, i);
		if (!json_object_is_type(it, json_type_string))
			continue;
		const char *s = json_object_get_string(it);
		char *c = hl_xmalloc(max_len + 1);
		hl_excerpt(s, max_len, c, max_len + 1);
		json_object_array_add(out, json_object_new_string(c));
		free(c);
	}
	return out;
}

/* The validation options that matter now: the renewal's when there is a
 * renewal summary, else the certificate's. */
static json_object *validations(json_object *cert)
{
	json_object *rs = member(cert, "RenewalSummary");
	json_object *v = member(rs, "DomainValidationOptions");
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return v;
	v = member(cert, "DomainValidationOptions");
	return json_object_is_type(v, json_type_array) ? v : NULL;
}

static json_object *validation_json(json_object *cert)
{
	json_object *vs = validations(cert), *out = json_object_new_array();
	size_t n = vs ? json_object_array_length(vs) : 0;
	for (size_t i = 0; i < n && i < MAX_LIST; i++) {
		json_object *v = json_object_array_get_idx(vs, i), *o = json_object_new_object();
		json_object_object_add(o, "domainName", text_json(v, "DomainName"));
		json_object_object_add(o, "method", text_json(v, "ValidationMethod"));
		json_object_object_add(o, "status", text_json(v, "ValidationStatus"));
		json_object *rr = member(v, "ResourceRecord");
		if (json_object_is_type(rr, json_type_object)) {
			json_object *r = json_object_new_object();
			json_object_object_add(r, "name", text_json(rr, "Name"));
			json_object_object_add(r, "type", text_json(rr, "Type"));
			json_object_object_add(r, "value", text_json(rr, "Value"));
			json_object_object_add(o, "resourceRecord", r);
		}
		if (member(v, "ValidationEmails"))
			json_object_object_add(o, "validationEmails", string_list(v, "ValidationEmails", 254));
		json_object_array_add(out, o);
	}
	return out;
}

/* Appends "A, B" for the InUseBy ARNs. */
static int append_in_use(hl_buf *b, json_object *cert)
{
	json_object *in = member(cert, "InUseBy");
	size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;
	if (n == 0)
		return hl_buf_appendf(b, "(not in use by any AWS resource)");
	for (size_t i = 0; i < n && i < MAX_LIST; i++) {
		char arn[TEXT_MAX * 2];
		json_object *it = json_object_array_get_idx(in, i);
		hl_excerpt(json_object_is_type(it, json_type_string) ? json_object_get_string(it) : "?",
			   sizeof(arn), arn, sizeof(arn));
		HL_GUARD(hl_buf_appendf(b, "%s%s", i ? ", " : "", arn));
	}
	return HL_OK;
}

/* InUseBy -> certificate (domain, type) -> validation per domain ->
 * renewal status and reason. */
static char *dependency_path(const char *arn, json_object *cert)
{
	hl_buf b;
	char dom[TEXT_MAX], type[32], rstat[40], rreason[64];
	json_object *rs = member(cert, "RenewalSummary"), *vs = validations(cert);

	hl_buf_init(&b, 16384);
	text_of(cert, "DomainName", dom, sizeof(dom));
	text_of(cert, "Type", type, sizeof(type));
	if (append_in_use(&b, cert) < 0 ||
	    hl_buf_appendf(&b, " -> certificate %s (%s, %s)", arn, dom, type[0] ? type : "unknown type") < 0)
		goto out;
	size_t n = vs ? json_object_array_length(vs) : 0;
	for (size_t i = 0; i < n && i < MAX_LIST; i++) {
		json_object *v = json_object_array_get_idx(vs, i), *rr = member(v, "ResourceRecord");
		char d[TEXT_MAX], m[16], s[32];
		text_of(v, "DomainName", d, sizeof(d));
		text_of(v, "ValidationMethod", m, sizeof(m));
		text_of(v, "ValidationStatus", s, sizeof(s));
		if (hl_buf_appendf(&b, " -> %s validation of %s: %s", m[0] ? m : "unknown", d,
				   s[0] ? s : "unknown") < 0)
			goto out;
		if (strcmp(m, "DNS") == 0 && json_object_is_type(rr, json_type_object)) {
			char rn[TEXT_MAX], rv[TEXT_MAX], rt[16];
			text_of(rr, "Name", rn, sizeof(rn));
			text_of(rr, "Type", rt, sizeof(rt));
			text_of(rr, "Value", rv, sizeof(rv));
			if (hl_buf_appendf(&b, " (%s %s -> %s)", rt, rn, rv) < 0)
				goto out;
		}
	}
	text_of(rs, "RenewalStatus", rstat, sizeof(rstat));
	text_of(rs, "RenewalStatusReason", rreason, sizeof(rreason));
	if (rstat[0] && hl_buf_appendf(&b, " -> renewal %s%s%s", rstat, rreason[0] ? ": " : "", rreason) < 0)
		goto out;   /* a path this long is cut: what fits is kept */
out:;
	char *s = hl_xstrdup(b.data ? b.data : "");
	hl_buf_free(&b);
	return s;
}

static int describe(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *arn, json_object **resp,
		    json_object **cert)
{
	json_object *body = json_object_new_object();
	hl_err err;
	int rc;

	*resp = *cert = NULL;
	json_object_object_add(body, "CertificateArn", json_object_new_string(arn));
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_acm, "DescribeCertificate", body, resp, NULL, &err);
	json_object_put(body);
	if (rc < 0) {
		if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "ResourceNotFoundException") == 0)
			return hl_activity_fail(ctx, PREFIX ".CertificateNotFound",
						"DescribeCertificate: %s: %s", arn, err.message);
		return hl_remediation_aws_fail(ctx, PREFIX, "DescribeCertificate", rc, &err);
	}
	*cert = member(*resp, "Certificate");
	if (!json_object_is_type(*cert, json_type_object)) {
		json_object_put(*resp);
		*resp = *cert = NULL;
		return hl_activity_fail(ctx, PREFIX ".AwsError", "DescribeCertificate: no Certificate in the answer");
	}
	return HL_OK;
}

static json_object *state_json(json_object *cert, int64_t now_s)
{
	json_object *o = json_object_new_object();
	double na = 0;
	json_object_object_add(o, "status", text_json(cert, "Status"));
	if (number_of(cert, "NotAfter", &na)) {
		char at[21];
		hl_format_iso8601((int64_t)na, at);
		json_object_object_add(o, "notAfter", json_object_new_string(at));
		json_object_object_add(o, "daysToExpiry",
				       json_object_new_int64(((int64_t)na - now_s) / 86400));
	}
	json_object_object_add(o, "renewalStatus", text_json(member(cert, "RenewalSummary"), "RenewalStatus"));
	return o;
}

/* The first validation option with method m (NULL if none). */
static json_object *validation_with(json_object *cert, const char *key, const char *value)
{
	json_object *vs = validations(cert);
	size_t n = vs ? json_object_array_length(vs) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(vs, i);
		if (text_is(v, key, value))
			return v;
	}
	return NULL;
}

/* Appends to a reason buffer; the buffer's bound (32 KiB) is far above
 * any reason built from the bounded texts here, so failure is a bug. */
static void say(hl_buf *b, const char *fmt, ...) HL_PRINTF(2, 3);
static void say(hl_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || hl_buf_append(b, s, (size_t)n) < 0)
		abort();
	free(s);
}

/* Decides what to do; reason gets the why. */
static cert_action decide(json_object *cert, const cert_settings *set, int64_t now_s, hl_buf *reason)
{
	char type[32], status[40], elig[16], managed[40], rstat[40], rreason[64], exp_at[21] = "unknown";
	double na = 0;
	bool has_na = number_of(cert, "NotAfter", &na);
	int64_t days = has_na ? ((int64_t)na - now_s) / 86400 : 0;
	json_object *rs = member(cert, "RenewalSummary");

	text_of(cert, "Type", type, sizeof(type));
	text_of(cert, "Status", status, sizeof(status));
	text_of(cert, "RenewalEligibility", elig, sizeof(elig));
	text_of(cert, "ManagedBy", managed, sizeof(managed));
	text_of(rs, "RenewalStatus", rstat, sizeof(rstat));
	text_of(rs, "RenewalStatusReason", rreason, sizeof(rreason));
	if (has_na)
		hl_format_iso8601((int64_t)na, exp_at);

	if (strcmp(status, "ISSUED") == 0 && has_na && days > set->renew_within_days) {
		say(reason, "nothing to do: the certificate is ISSUED and expires %s (in %lld days, more than %d): already renewed",
		    exp_at, (long long)days, set->renew_within_days);
		return CERT_NOTHING;
	}
	if (managed[0]) {
		say(reason, "the certificate is managed by %s: renew it through that service", managed);
		return CERT_ESCALATE;
	}
	if (strcmp(type, "IMPORTED") == 0) {
		char issuer[TEXT_MAX];
		text_of(cert, "Issuer", issuer, sizeof(issuer));
		say(reason,
		    "IMPORTED certificate (issuer %s): ACM does not renew imported certificates; import a renewed certificate from its issuer before %s",
		    issuer[0] ? issuer : "unknown", exp_at);
		return CERT_ESCALATE;
	}
	if (strcmp(status, "PENDING_VALIDATION") == 0) {
		say(reason, "the certificate is PENDING_VALIDATION: its domain validation was never completed");
		return CERT_ESCALATE;
	}
	if (strcmp(status, "ISSUED") != 0) {
		char fr[64];
		text_of(cert, "FailureReason", fr, sizeof(fr));
		say(reason, "the certificate is %s%s%s: request or import a new certificate",
		    status[0] ? status : "in an unknown status", fr[0] ? " " : "", fr);
		return CERT_ESCALATE;
	}
	bool exportable = text_is(member(cert, "Options"), "Export", "ENABLED");
	bool eligible = strcmp(elig, "ELIGIBLE") == 0;
	if (eligible && (strcmp(type, "PRIVATE") == 0 || (strcmp(type, "AMAZON_ISSUED") == 0 && exportable))) {
		say(reason, "%s%s certificate, RenewalEligibility ELIGIBLE, expires %s (in %lld days)",
		    type, exportable ? " exportable" : "", exp_at, (long long)days);
		return CERT_RENEW;
	}
	if (strcmp(type, "PRIVATE") == 0) {
		say(reason,
		    "PRIVATE certificate is %s for renewal (ACM renews private certificates only when exported or in use; certificates issued with the PCA IssueCertificate API are not renewable): issue a new certificate before %s",
		    elig[0] ? elig : "not eligible", exp_at);
		return CERT_ESCALATE;
	}
	/* AMAZON_ISSUED without export: ACM's managed renewal, which only a
	 * person can unblock. Name what blocks it. */
	json_object *email = validation_with(cert, "ValidationMethod", "EMAIL");
	json_object *pending = validation_with(cert, "ValidationStatus", "PENDING_VALIDATION");
	json_object *failed = validation_with(cert, "ValidationStatus", "FAILED");
	if (email) {
		char d[TEXT_MAX];
		text_of(email, "DomainName", d, sizeof(d));
		say(reason,
		    "EMAIL validation: ACM's managed renewal of %s waits for someone to approve the validation email (expires %s, in %lld days)",
		    d, exp_at, (long long)days);
	} else if (pending || strcmp(rstat, "PENDING_VALIDATION") == 0) {
		char d[TEXT_MAX] = "", rn[TEXT_MAX] = "", rv[TEXT_MAX] = "";
		json_object *rr = member(pending, "ResourceRecord");
		text_of(pending, "DomainName", d, sizeof(d));
		text_of(rr, "Name", rn, sizeof(rn));
		text_of(rr, "Value", rv, sizeof(rv));
		if (rn[0])
			say(reason,
			    "external DNS validation pending for %s: create the CNAME %s -> %s in the domain's DNS so ACM can renew (expires %s, in %lld days)",
			    d, rn, rv, exp_at, (long long)days);
		else
			say(reason,
			    "DNS validation pending%s%s: ACM cannot renew until the domain validates (expires %s, in %lld days)",
			    d[0] ? " for " : "", d, exp_at, (long long)days);
	} else if (failed || strcmp(rstat, "FAILED") == 0) {
		say(reason, "ACM managed renewal FAILED%s%s (expires %s, in %lld days)",
		    rreason[0] ? ": " : "", rreason, exp_at, (long long)days);
	} else if (!eligible) {
		json_object *in = member(cert, "InUseBy");
		bool used = json_object_is_type(in, json_type_array) && json_object_array_length(in) > 0;
		say(reason, "the certificate is %s for managed renewal%s (expires %s, in %lld days)",
		    elig[0] ? elig : "not eligible",
		    used ? "" : ": it is not in use by any AWS resource", exp_at, (long long)days);
	} else {
		say(reason,
		    "ACM managed renewal has not completed %lld days before expiry (RenewalStatus %s); RenewCertificate applies only to exported certificates",
		    (long long)days, rstat[0] ? rstat : "none");
	}
	return CERT_ESCALATE;
}

static void fill_details(json_object *out, const char *arn, json_object *cert)
{
	json_object *d = hl_remediation_details(out), *rs = member(cert, "RenewalSummary");
	json_object_object_add(d, "certificateArn", json_object_new_string(arn));
	json_object_object_add(d, "type", text_json(cert, "Type"));
	json_object_object_add(d, "domainName", text_json(cert, "DomainName"));
	json_object_object_add(d, "subjectAlternativeNames", string_list(cert, "SubjectAlternativeNames", 253));
	json_object_object_add(d, "inUseBy", string_list(cert, "InUseBy", 2048));
	json_object_object_add(d, "renewalEligibility", text_json(cert, "RenewalEligibility"));
	json_object_object_add(d, "validation", validation_json(cert));
	if (json_object_is_type(rs, json_type_object)) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "status", text_json(rs, "RenewalStatus"));
		json_object_object_add(o, "reason", text_json(rs, "RenewalStatusReason"));
		json_object_object_add(d, "renewalSummary", o);
	} else {
		json_object_object_add(d, "renewalSummary", NULL);
	}
	char *path = dependency_path(arn, cert);
	json_object_object_add(d, "dependencyPath", json_object_new_string(path));
	free(path);
}

/* RenewCertificate; *refused gets ACM's refusal (then escalate). */
static int renew(hl_activity_ctx *ctx, hl_aws_conn *conn, const char *arn, char *refused, size_t refusedsz,
		 bool *in_progress)
{
	json_object *body = json_object_new_object(), *resp = NULL;
	hl_err err;
	int rc;

	refused[0] = '\0';
	*in_progress = false;
	json_object_object_add(body, "CertificateArn", json_object_new_string(arn));
	hl_err_clear(&err);
	rc = hl_aws_call(conn, &hl_svc_acm, "RenewCertificate", body, &resp, NULL, &err);
	json_object_put(body);
	json_object_put(resp);
	if (rc == HL_OK)
		return HL_OK;
	if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "RequestInProgressException") == 0) {
		*in_progress = true;
		return HL_OK;
	}
	if (err.code == HL_ERR_AWS && strcmp(err.aws_code, "ResourceNotFoundException") == 0)
		return hl_activity_fail(ctx, PREFIX ".CertificateNotFound", "RenewCertificate: %s: %s", arn,
					err.message);
	if (err.code == HL_ERR_AWS && !hl_retry_is_throttle_code(err.aws_code) && err.http_status < 500) {
		char raw[600];
		snprintf(raw, sizeof(raw), "%.500s", err.message);
		hl_excerpt(raw, refusedsz, refused, refusedsz);
		return HL_OK;
	}
	return hl_remediation_aws_fail(ctx, PREFIX, "RenewCertificate", rc, &err);
}

/* RenewCertificate, then reads the certificate back until NotAfter moves
 * or the renewal fails; fills out (applied, verified, after, reason). */
static int renew_and_verify(hl_activity_ctx *ctx, hl_aws_conn *conn, const cert_settings *set,
			    const char *execution, const char *arn, json_object *cert, const char *why,
			    int64_t now_s, json_object *out)
{
	json_object *resp = NULL, *latest = NULL;
	char refused[512], was[21] = "unknown", now_at[21] = "unknown";
	double old_na = 0, new_na = 0;
	bool in_progress = false, verified = false, failed = false;
	bool has_old = number_of(cert, "NotAfter", &old_na);
	char *r = NULL;
	int rc = HL_OK;

	HL_GUARD(renew(ctx, conn, arn, refused, sizeof(refused), &in_progress));
	if (refused[0]) {
		hl_remediation_set_bool(out, "escalate", true);
		r = hl_xasprintf("ACM refused RenewCertificate (%s): %s", why, refused);
		goto out;
	}
	HL_LOG(HL_LOG_INFO, "renew-cert: renewal requested", HL_LS("execution", execution),
	       HL_LS("certificate", arn), HL_LB("already_in_progress", in_progress));
	hl_remediation_set_bool(out, "applied", true);
	json_object_object_add(hl_remediation_details(out), "renewalAlreadyInProgress",
			       json_object_new_boolean(in_progress));
	for (int i = 0; i < VERIFY_READS && !verified && !failed; i++) {
		if (!hl_activity_sleep(ctx, set->poll_ms)) {
			rc = HL_ERR_CANCELLED;
			goto out;
		}
		json_object_put(resp);
		HL_GUARD_GOTO(rc, describe(ctx, conn, arn, &resp, &latest), out);
		verified = text_is(latest, "Status", "ISSUED") && number_of(latest, "NotAfter", &new_na) &&
			   (!has_old || new_na > old_na);
		failed = text_is(member(latest, "RenewalSummary"), "RenewalStatus", "FAILED");
	}
	json_object_object_add(out, "after", state_json(latest, now_s));
	fill_details(out, arn, latest);
	hl_remediation_set_bool(out, "verified", verified);
	if (has_old)
		hl_format_iso8601((int64_t)old_na, was);
	if (verified) {
		hl_format_iso8601((int64_t)new_na, now_at);
		r = hl_xasprintf("renewed %s: NotAfter %s -> %s", arn, was, now_at);
	} else if (failed) {
		char rr[64];
		text_of(member(latest, "RenewalSummary"), "RenewalStatusReason", rr, sizeof(rr));
		hl_remediation_set_bool(out, "escalate", true);
		r = hl_xasprintf("RenewCertificate was accepted but the renewal FAILED%s%s; NotAfter still %s",
				 rr[0] ? ": " : "", rr, was);
	} else {
		char rs[40];
		text_of(member(latest, "RenewalSummary"), "RenewalStatus", rs, sizeof(rs));
		r = hl_xasprintf("renewal requested for %s; not yet visible after %d reads (RenewalStatus %s, NotAfter still %s)",
				 arn, VERIFY_READS, rs[0] ? rs : "none", was);
	}
out:
	if (r)
		hl_remediation_set_reason(out, r);
	free(r);
	json_object_put(resp);
	return rc;
}

static int cert_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_remediation_input in;
	cert_settings set;
	hl_err err;
	const char *arn = NULL;
	json_object *resp = NULL, *cert = NULL, *out = NULL;
	hl_buf reason;
	int rc = HL_OK;
	int64_t now_s = hl_wall_ms(hl_clock_system()) / 1000;

	*output = NULL;
	hl_buf_init(&reason, 32768);
	HL_GUARD_GOTO(rc, hl_remediation_input_parse(ctx, input, "cert_expiry", &in), out);
	HL_GUARD_GOTO(rc, hl_diag_string(ctx, in.details, "diagnosis.details", "certificateArn", true, 2048,
					 hl_valid_certificate_arn, &arn), out);
	hl_err_clear(&err);
	if (load_settings(&set, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.InvalidConfig", "%s", err.message);
		goto out;
	}
	hl_aws_conn *conn = hl_activity_aws(ctx);
	if (!conn) {
		rc = hl_activity_fail(ctx, "Healer.NotConfigured", "renew-cert needs AWS (set AWS_REGION)");
		goto out;
	}
	HL_GUARD_GOTO(rc, describe(ctx, conn, arn, &resp, &cert), out);
	cert_action act = decide(cert, &set, now_s, &reason);

	out = hl_remediation_output("renew_certificate", in.dry_run);
	json_object_object_add(out, "before", state_json(cert, now_s));
	fill_details(out, arn, cert);
	if (act == CERT_NOTHING) {
		hl_remediation_set_bool(out, "verified", true);
		hl_remediation_set_reason(out, reason.data);
	} else if (act == CERT_ESCALATE) {
		hl_remediation_set_bool(out, "escalate", true);
		hl_remediation_set_reason(out, reason.data);
		HL_LOG(HL_LOG_INFO, "renew-cert: escalating", HL_LS("execution", in.execution),
		       HL_LS("certificate", arn));
	} else if (in.dry_run) {
		char *r = hl_xasprintf("dry run: would call ACM RenewCertificate for %s (%s) and read it back until NotAfter moves",
				       arn, reason.data);
		hl_remediation_set_reason(out, r);
		free(r);
	} else {
		HL_GUARD_GOTO(rc, renew_and_verify(ctx, conn, &set, in.execution, arn, cert, reason.data, now_s,
						   out), out);
	}
	*output = out;
	out = NULL;
out:
	json_object_put(out);
	json_object_put(resp);
	hl_buf_free(&reason);
	return rc;
}

const hl_activity hl_activity_renew_cert = {
	.name = "renew-cert",
	.summary = "renews an ACM certificate where ACM allows it; escalates with the dependency path otherwise",
	.run = cert_run,
	.init = cert_init,
};
