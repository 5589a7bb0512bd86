/* test_blast.c - the pure parts of the guard's engine-wide checks: the
 * rolling-window estimate and bucket keys of the blast-radius limit
 * (blast.h), the event claim key (claim.h), recovery recognition
 * (recovery.h) and the DynamoDB attribute helpers (ddb.h). The DynamoDB
 * side is tested against dynalite in tests/integration/test_blast.py.
 * Tests run from the repository root (make test-unit does).
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "healer/blast.h"
#include "healer/claim.h"
#include "healer/ddb.h"
#include "healer/recovery.h"

#define FIXTURES "tests/fixtures/events/"
#define HOUR_MS 3600000LL

static json_object *fixture(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	json_object *o = json_object_from_file(path);
	cr_assert_not_null(o, "cannot load %s (run from the repository root)", path);
	return o;
}

/* ---- the window estimate ---- */

Test(blast, empty_previous_bucket_leaves_the_whole_limit)
{
	cr_assert_eq(hl_blast_bucket_limit(20, 0, 0, HOUR_MS), 20);
	cr_assert_eq(hl_blast_bucket_limit(20, 0, HOUR_MS / 2, HOUR_MS), 20);
	cr_assert_eq(hl_blast_bucket_limit(5, 0, 599999, 600000), 5);
}

Test(blast, previous_bucket_weighted_by_its_part_still_in_the_window)
{
	/* At the start of the bucket the whole previous bucket counts. */
	cr_assert_eq(hl_blast_bucket_limit(20, 20, 0, HOUR_MS), 0);
	cr_assert_eq(hl_blast_bucket_limit(20, 8, 0, HOUR_MS), 12);
	/* Half way: half of it. 20 - 10 * 0.5 = 15. */
	cr_assert_eq(hl_blast_bucket_limit(20, 10, HOUR_MS / 2, HOUR_MS), 15);
	/* Floor: 20 - 10 * 0.75 = 12.5 -> at most 12 here (12 + 7.5 <= 20;
	 * a 13th would make the estimate 20.5). */
	cr_assert_eq(hl_blast_bucket_limit(20, 10, HOUR_MS / 4, HOUR_MS), 12);
	/* Just after a busy hour: 10 then, so 10 now (not 11: 11 + 9.99 > 20). */
	cr_assert_eq(hl_blast_bucket_limit(20, 10, 1000, HOUR_MS), 10);
	/* One millisecond before the end: a tiny share still counts. */
	cr_assert_eq(hl_blast_bucket_limit(20, 20, HOUR_MS - 1, HOUR_MS), 19);
	/* At the very end nothing of it is left. */
	cr_assert_eq(hl_blast_bucket_limit(20, 1000, HOUR_MS, HOUR_MS), 20);
}

Test(blast, overfull_previous_bucket_gives_a_non_positive_limit)
{
	cr_assert_leq(hl_blast_bucket_limit(20, 100, 0, HOUR_MS), -80);
	cr_assert_leq(hl_blast_bucket_limit(5, 1000000, 300000, 600000), 0);
}

Test(blast, elapsed_out_of_range_is_clamped)
{
	cr_assert_eq(hl_blast_bucket_limit(20, 10, -5, HOUR_MS), 10);
	/* Exact integer arithmetic: 20 - 3 * 2/3 = 18. */
	cr_assert_eq(hl_blast_bucket_limit(20, 3, 1, 3), 18);
	/* A negative estimate rounds down: 1 - 7 * 1/2 = -2.5 -> -3. */
	cr_assert_eq(hl_blast_bucket_limit(1, 7, 1, 2), -3);
	cr_assert_eq(hl_blast_bucket_limit(20, 10, 2 * HOUR_MS, HOUR_MS), 20);
	cr_assert_eq(hl_blast_bucket_limit(20, -3, 0, HOUR_MS), 20);
	cr_assert_eq(hl_blast_bucket_limit(7, 3, 0, 0), 7);
}

Test(blast, buckets_and_keys)
{
	/* 2026-11-27T04:53:20Z */
	int64_t t = 1795755200;
	cr_assert_eq(hl_blast_bucket_start(t, 3600), 1795755200 - 3200);
	cr_assert_eq(hl_blast_bucket_start(t, 600), 1795755200 - 200);
	char key[128];
	hl_blast_bucket_key(0, NULL, hl_blast_bucket_start(t, 3600), 3600, key, sizeof(key));
	cr_assert_str_eq(key, "blast#e0#all#2026-11-27T04");
	hl_blast_bucket_key(12, "disk_pressure", hl_blast_bucket_start(t, 600), 600, key, sizeof(key));
	cr_assert_str_eq(key, "blast#e12#disk_pressure#2026-11-27T04:50");
	hl_blast_bucket_key(1, "public_ssh", hl_blast_bucket_start(t, 600) - 600, 600, key, sizeof(key));
	cr_assert_str_eq(key, "blast#e1#public_ssh#2026-11-27T04:40");
}

/* ---- the event claim ---- */

Test(claim, key_is_the_sha256_of_the_event_id)
{
	char key[71];
	hl_claim_key("abc", key);
	cr_assert_str_eq(key, "event#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* Whatever the id holds, the key is fixed-size hex. */
	hl_claim_key("id with spaces; $(rm -rf /)\n", key);
	cr_assert_eq(strlen(key), 70);
	cr_assert_eq(strspn(key + 6, "0123456789abcdef"), 64);
}

/* ---- recovery events ---- */

Test(recovery, ok_disk_alarm_is_a_disk_pressure_recovery)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent-ok.json");
	hl_event_info info;
	char what[400];
	cr_assert(hl_event_recovery(ev, &info, what, sizeof(what)));
	cr_assert_eq(info.cls, HL_EVENT_DISK_PRESSURE);
	cr_assert_eq(info.resource.type, HL_RESOURCE_INSTANCE);
	cr_assert_str_eq(info.resource.id, "i-0abcd1234ef567890");
	cr_assert_str_eq(what, "alarm DiskUsedPercentHigh-i-0abcd1234ef567890-root on i-0abcd1234ef567890 "
			       "(path /) is back to OK");
	/* The event itself is left untouched (the check works on a copy). */
	json_object *st = NULL, *v = NULL;
	json_object_object_get_ex(json_object_object_get(ev, "detail"), "state", &st);
	json_object_object_get_ex(st, "value", &v);
	cr_assert_str_eq(json_object_get_string(v), "OK");
	json_object_put(ev);
}

Test(recovery, compliant_restricted_ssh_is_a_public_ssh_recovery)
{
	json_object *ev = fixture("config-restricted-ssh-compliant.json");
	hl_event_info info;
	char what[400];
	cr_assert(hl_event_recovery(ev, &info, what, sizeof(what)));
	cr_assert_eq(info.cls, HL_EVENT_PUBLIC_SSH);
	cr_assert_str_eq(info.resource.id, "sg-0abcd1234ef567890");
	cr_assert_str_eq(what, "Config rule restricted-ssh finds sg-0abcd1234ef567890 COMPLIANT again");
	json_object_put(ev);
}

Test(recovery, problems_and_strangers_are_not_recoveries)
{
	static const char *const not_recovery[] = {
		"cloudwatch-alarm-disk-used-percent.json", "cloudwatch-alarm-disk-used-percent-muted.json",
		"config-restricted-ssh-noncompliant.json", "cloudwatch-alarm-composite.json",
		"cloudwatch-alarm-disk-metric-math.json", "acm-certificate-expired.json",
		"ec2-instance-state-change-unclassifiable.json",
	};
	for (size_t i = 0; i < sizeof(not_recovery) / sizeof(not_recovery[0]); i++) {
		json_object *ev = fixture(not_recovery[i]);
		hl_event_info info;
		cr_assert_not(hl_event_recovery(ev, &info, NULL, 0), "%s", not_recovery[i]);
		cr_assert_eq(info.cls, HL_EVENT_UNKNOWN);
		json_object_put(ev);
	}
	hl_event_info info;
	cr_assert_not(hl_event_recovery(NULL, &info, NULL, 0));
}

Test(recovery, an_ok_event_with_a_bad_instance_id_is_not_a_recovery)
{
	json_object *ev = fixture("cloudwatch-alarm-disk-used-percent-ok.json");
	json_object *d = json_object_object_get(ev, "detail");
	json_object *m = json_object_array_get_idx(json_object_object_get(json_object_object_get(d, "configuration"),
									   "metrics"), 0);
	json_object *dims = json_object_object_get(json_object_object_get(json_object_object_get(m, "metricStat"),
									  "metric"), "dimensions");
	json_object_object_add(dims, "InstanceId", json_object_new_string("i-0abc; reboot"));
	hl_event_info info;
	cr_assert_not(hl_event_recovery(ev, &info, NULL, 0));
	json_object_put(ev);
}

/* ---- ddb.h ---- */

Test(ddb, typed_reads_refuse_other_types)
{
	json_object *item = json_tokener_parse(
		"{\"s\":{\"S\":\"x\"},\"n\":{\"N\":\"42\"},\"f\":{\"N\":\"1.5\"},\"b\":{\"BOOL\":true},"
		"\"ss\":{\"SS\":[\"a\",\"b\"]},\"wrong\":{\"N\":\"7\"}}");
	long long n = 0;
	cr_assert_str_eq(hl_ddb_get_s(item, "s"), "x");
	cr_assert_null(hl_ddb_get_s(item, "wrong"));
	cr_assert(hl_ddb_get_n(item, "n", &n) && n == 42);
	cr_assert_not(hl_ddb_get_n(item, "f", &n));
	cr_assert_not(hl_ddb_get_n(item, "s", &n));
	cr_assert_eq(hl_ddb_get_bool(item, "b"), 1);
	cr_assert_eq(hl_ddb_get_bool(item, "s"), -1);
	cr_assert(hl_ddb_ss_contains(item, "ss", "b"));
	cr_assert_not(hl_ddb_ss_contains(item, "ss", "c"));
	cr_assert_eq(hl_ddb_ss_len(item, "ss"), 2);
	cr_assert_eq(hl_ddb_ss_len(item, "none"), 0);
	json_object_put(item);
}

Test(ddb, plain_copy)
{
	json_object *item = json_tokener_parse(
		"{\"s\":{\"S\":\"x\"},\"n\":{\"N\":\"42\"},\"f\":{\"N\":\"1.5\"},\"b\":{\"BOOL\":false},"
		"\"z\":{\"NULL\":true},\"ss\":{\"SS\":[\"a\"]},\"m\":{\"M\":{\"k\":{\"N\":\"1\"}}},"
		"\"l\":{\"L\":[{\"S\":\"q\"},{\"N\":\"2\"}]}}");
	json_object *p = hl_ddb_plain(item);
	cr_assert_str_eq(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN),
			 "{\"s\":\"x\",\"n\":42,\"f\":1.5,\"b\":false,\"z\":null,\"ss\":[\"a\"],"
			 "\"m\":{\"k\":1},\"l\":[\"q\",2]}");
	json_object_put(p);
	json_object_put(item);
	cr_assert_null(hl_ddb_plain(NULL));
}
