/* fuzz_disk_report.c - libFuzzer target: the report the disk cleanup
 * document prints on the instance (HEALER_USAGE_BEFORE=..., HEALER_TOP=...
 * lines in SSM's StandardOutputContent), as remediate-disk reads it.
 *
 * That text comes from the instance being repaired, which may be the very
 * machine an attacker controls, so it is untrusted. The parser and the
 * output builder are static in activities/remediate_disk.c: this file
 * includes it to reach them (the archive's copy of remediate_disk.o is
 * then not linked).
 *
 * Input: the command's standard output.
 * Invariants: usage percentages are 0..100; every reported directory is an
 * absolute path of bounded, printable text; the activity output built from the report serialises to JSON
 * that parses back, and its reason has no control character.
 * Corpus: tests/fuzz/corpus/disk_report/.
 */
#include "../../activities/remediate_disk.c"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 100000)
		return -1;
	char *text = fuzz_strndup(data, size);
	disk_report r;
	parse_report(text, "/var", &r);
	if ((r.have_before && (r.before_pct < 0 || r.before_pct > 100)) ||
	    (r.have_after && (r.after_pct < 0 || r.after_pct > 100)))
		fuzz_fail("disk report", "usage out of range");
	if (r.n_top > MAX_TOP)
		fuzz_fail("disk report", "too many directories");
	for (size_t i = 0; i < r.n_top; i++) {
		fuzz_check_no_controls(r.top[i].path, sizeof(r.top[i].path), "top directory");
		if (r.top[i].path[0] != '/')
			fuzz_fail("top directory", r.top[i].path);
	}
	if (r.have_before && r.have_after && r.have_freed) {
		disk_settings set = { .document = DEFAULT_DOCUMENT, .threshold = 85, .poll_ms = 10 };
		json_object *out = cleanup_output(&set, "i-0abcd1234ef567890", "/var",
						  "0b7c8f1e-1111-2222-3333-444455556666",
						  "healer remediate-disk exec=0123456789abcdef", false, &r);
		const char *s = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
		json_object *back = json_tokener_parse(s), *reason = NULL;
		if (!back)
			fuzz_fail("disk report", "output does not serialise");
		if (!json_object_object_get_ex(back, "reason", &reason))
			fuzz_fail("disk report", "output without reason");
		fuzz_check_no_controls(json_object_get_string(reason), (size_t)-1, "reason");
		json_object_put(back);
		json_object_put(out);
	}
	free(text);
	return 0;
}
