/* fuzz_record.c - libFuzzer target: what the record activities (ticket,
 * notify, audit) read from an execution (hl_record_parse, record.h) and the
 * text, time and URL helpers they format untrusted values with.
 *
 * Input: a JSON document (the record activities' input). The same bytes,
 * as a string, also go through hl_clean_text, hl_normalize_iso8601_ms,
 * hl_valid_api_base_url, hl_valid_link_url and the ADF builders.
 *
 * Invariants: the record's identifiers are valid (execution ARN, resource
 * id for its type, account, region, Jira key, link URL); every cleaned
 * text is valid UTF-8, within its bound, and free of control characters
 * (cause and rollback may keep newlines and tabs) and of bidirectional
 * overrides; the label is "healer-" + 16 hex digits; normalised times have
 * the form YYYY-MM-DDTHH:MM:SS.mmmZ; an accepted base URL is https (or
 * http to a loopback host) without spaces, quotes, userinfo or query; an
 * ADF document built from the text serialises to JSON that parses back.
 * Corpus: tests/fuzz/corpus/record/.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "healer/ids.h"
#include "healer/jira.h"
#include "healer/record.h"

/* Valid UTF-8 without C0/C1 controls (optionally keeping \n and \t) and
 * without bidi overrides/isolates; at most max bytes. */
static void check_clean(const char *s, size_t max, bool newlines, const char *what)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > max)
		fuzz_fail(what, "longer than its bound");
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t len;
		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			len = 2;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			len = 3;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			len = 4;
		} else {
			fuzz_fail(what, "invalid UTF-8 lead byte");
		}
		if (i + len > n)
			fuzz_fail(what, "truncated UTF-8 sequence");
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				fuzz_fail(what, "invalid UTF-8 continuation");
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		bool control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
		if (control && !(newlines && (cp == '\n' || cp == '\t')))
			fuzz_fail(what, "control character survived cleaning");
		if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			fuzz_fail(what, "bidi override survived cleaning");
		i += len;
	}
}

static void check_time(const char *t, const char *what)
{
	if (!t)
		return;
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (strlen(t) != 24)
		fuzz_fail(what, t);
	for (size_t i = 0; i < 24; i++)
		if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != shape[i])
			fuzz_fail(what, t);
}

static void check_record(const hl_record *r)
{
	if (!hl_valid_execution_arn(r->execution))
		fuzz_fail("record", "invalid execution ARN accepted");
	if (strncmp(r->label, "healer-", 7) != 0 || strlen(r->label) != 23 ||
	    strspn(r->label + 7, "0123456789abcdef") != 16)
		fuzz_fail("record label", r->label);
	if (!r->mode || (strcmp(r->mode, "resolved") != 0 && strcmp(r->mode, "escalated") != 0))
		fuzz_fail("record", "bad mode");
	if (r->resource_id) {
		bool ok = strcmp(r->resource_type, "instance") == 0 ? hl_valid_instance_id(r->resource_id)
			: strcmp(r->resource_type, "security-group") == 0
				? hl_valid_security_group_id(r->resource_id)
				: hl_valid_certificate_arn(r->resource_id);
		if (!ok)
			fuzz_fail("record resource id", r->resource_id);
	}
	if (r->account && !hl_valid_account_id(r->account))
		fuzz_fail("record account", r->account);
	if (r->resource_region && !hl_valid_region(r->resource_region))
		fuzz_fail("record region", r->resource_region);
	if (r->ticket_key && strspn(r->ticket_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(r->ticket_key))
		fuzz_fail("record ticket key", r->ticket_key);
	if (r->ticket_url && !hl_valid_link_url(r->ticket_url))
		fuzz_fail("record ticket url", r->ticket_url);
	if (r->confidence != -1 && !(r->confidence >= 0 && r->confidence <= 1))
		fuzz_fail("record", "confidence out of range");
	if (!r->reason)
		fuzz_fail("record", "no reason");
	check_clean(r->reason, 1000, false, "reason");
	check_clean(r->owner, 256, false, "owner");
	check_clean(r->error_name, 256, false, "error name");
	check_clean(r->error_cause, 4000, true, "error cause");
	check_clean(r->rollback, 4000, true, "rollback");
	check_clean(r->owner_message, 1000, false, "owner message");
	check_clean(r->event_id, 128, false, "event id");
	check_clean(r->event_source, 128, false, "event source");
	check_clean(r->event_detail_type, 128, false, "event detail-type");
	check_time(r->event_time, "event time");
	check_time(r->started_at, "startedAt");
	const char *result = hl_record_result(r);
	if (strcmp(result, "remediated") != 0 && strcmp(result, "dry-run") != 0 &&
	    strcmp(result, "escalated") != 0)
		fuzz_fail("record result", result);
	char text[400];
	hl_record_resource_text(r, text, sizeof(text));
	fuzz_check_no_controls(text, sizeof(text), "resource text");
}

static void check_urls(const char *s)
{
	if (hl_valid_api_base_url(s)) {
		bool https = strncmp(s, "https://", 8) == 0;
		if (!https && strncmp(s, "http://127.0.0.1", 16) != 0 &&
		    strncmp(s, "http://localhost", 16) != 0 && strncmp(s, "http://[::1]", 12) != 0)
			fuzz_fail("plain http base URL to a host that is not loopback", s);
		if (strpbrk(s, " \"'<>\\?#@`|") || strlen(s) > 512)
			fuzz_fail("base URL with a forbidden character", s);
		fuzz_check_no_controls(s, 513, "base URL");
	}
	if (hl_valid_link_url(s)) {
		if (strpbrk(s, " \"'<>\\|`") || strlen(s) > 1024)
			fuzz_fail("link URL with a forbidden character", s);
		fuzz_check_no_controls(s, 1025, "link URL");
	}
}

static void check_adf(const char *s)
{
	json_object *doc = hl_adf_doc();
	hl_adf_paragraph(doc, "Reason: ", s);
	hl_adf_code_block(doc, s, NULL);
	if (hl_valid_link_url(s))
		hl_adf_link(doc, "Link: ", s, s);
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	json_object *back = json_tokener_parse(text);
	if (!back)
		fuzz_fail("ADF", "the document does not serialise to JSON");
	json_object_put(back);
	json_object_put(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 300000)
		return -1;
	char *s = fuzz_strndup(data, size);

	json_object *input = json_tokener_parse(s);
	hl_record rec;
	if (hl_record_parse(NULL, input, &rec) == HL_OK)
		check_record(&rec);
	hl_record_free(&rec);
	hl_record_free(&rec);   /* idempotent */
	json_object_put(input);

	static const size_t maxes[] = { 0, 1, 13, 14, 15, 64, 256 };
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		char *c = hl_clean_text(s, maxes[i], i & 1);
		/* A bound below the marker's length is only ever the marker. */
		check_clean(c, maxes[i] < 14 ? 14 : maxes[i], i & 1, "hl_clean_text");
		free(c);
	}
	char ts[25];
	if (hl_normalize_iso8601_ms(s, ts) == 0)
		check_time(ts, "hl_normalize_iso8601_ms");
	check_urls(s);
	check_adf(s);
	if (hl_valid_execution_arn(s)) {
		hl_buf url;
		hl_buf_init(&url, 4096);
		if (hl_console_execution_url(s, &url) < 0 || !hl_valid_link_url(url.data))
			fuzz_fail("console URL of a valid execution ARN", s);
		hl_buf_free(&url);
	}
	free(s);
	return 0;
}
