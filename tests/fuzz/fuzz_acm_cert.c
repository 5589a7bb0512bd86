/* fuzz_acm_cert.c - libFuzzer target: ACM's DescribeCertificate answer as
 * renew-cert reads it: the decision (nothing / renew / escalate and why),
 * the before/after state and the details with the dependency path.
 *
 * These readers are static in activities/renew_cert.c: this file includes
 * it to reach them (the archive's renew_cert.o is then not linked).
 *
 * Input: the DescribeCertificate response ({"Certificate": {...}}; a bare
 * certificate object is read as the certificate too).
 * Invariants: a decision is one of the three with a reason (escalate and
 * nothing say why); the reason and the dependency path are printable
 * text; the output object serialises to JSON that parses back; no
 * undefined behaviour on any number (NotAfter far outside the time range,
 * NaN, huge integers).
 * Corpus: tests/fuzz/corpus/acm_cert/.
 */
#include "../../activities/renew_cert.c"

#include "fuzz_common.h"

#define ARN "arn:aws:acm:us-east-1:123456789012:certificate/3f0c6a0e-8b1d-4a52-9d7e-2b1f0c9e7a11"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200000)
		return -1;
	char *text = fuzz_strndup(data, size);
	json_object *resp = json_tokener_parse(text);
	json_object *cert = member(resp, "Certificate");
	if (!json_object_is_type(cert, json_type_object))
		cert = resp;
	if (json_object_is_type(cert, json_type_object)) {
		cert_settings set = { .renew_within_days = 60 };
		int64_t now_s = 1795750000;   /* 2026-11-27 */
		hl_buf reason;
		hl_buf_init(&reason, 32768);
		cert_action act = decide(cert, &set, now_s, &reason);
		if (act != CERT_NOTHING && act != CERT_RENEW && act != CERT_ESCALATE)
			fuzz_fail("acm", "unknown decision");
		if (act != CERT_RENEW && (!reason.data || !reason.len))
			fuzz_fail("acm", "a decision without a reason");
		if (reason.data)
			fuzz_check_no_controls(reason.data, reason.len + 1, "acm reason");
		json_object *out = hl_remediation_output("renew_certificate", true);
		json_object_object_add(out, "before", state_json(cert, now_s));
		fill_details(out, ARN, cert);
		json_object *d = hl_remediation_details(out), *path = NULL;
		if (!json_object_object_get_ex(d, "dependencyPath", &path))
			fuzz_fail("acm", "no dependency path");
		fuzz_check_no_controls(json_object_get_string(path), (size_t)-1, "dependency path");
		json_object *back = json_tokener_parse(json_object_to_json_string(out));
		if (!back)
			fuzz_fail("acm", "output does not serialise");
		json_object_put(back);
		json_object_put(out);
		hl_buf_free(&reason);
	}
	json_object_put(resp);
	free(text);
	return 0;
}
