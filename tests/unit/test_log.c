/* test_log.c - JSON log lines and escaping (suite "log").
 *
 * Lines are captured by pointing hl_log_set_fd at a temporary file and
 * parsed back with json-c. Each test runs in its own process (Criterion's
 * default), so the process-wide level/fd/worker settings do not leak.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/common.h"
#include "healer/log.h"

static FILE *cap;

static void setup(void)
{
	cap = tmpfile();
	cr_assert_not_null(cap);
	hl_log_set_fd(fileno(cap));
	hl_log_set_level(HL_LOG_DEBUG);
	hl_log_set_worker("test-worker");
}

static void teardown(void)
{
	hl_log_set_fd(1);
	if (cap)
		fclose(cap);
}

TestSuite(log, .init = setup, .fini = teardown);

/* Everything written so far (caller frees). */
static char *captured(size_t *len)
{
	int fd = fileno(cap);
	off_t end = lseek(fd, 0, SEEK_END);
	cr_assert_geq(end, 0);
	char *data = malloc((size_t)end + 1);
	cr_assert_eq(pread(fd, data, (size_t)end, 0), end);
	data[end] = '\0';
	if (len)
		*len = (size_t)end;
	return data;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The single captured line, parsed (caller puts). */
static json_object *only_line(void)
{
	size_t len;
	char *text = captured(&len);
	cr_assert_gt(len, 0, "nothing logged");
	cr_assert_eq(count_lines(text), 1, "want one line, got: %s", text);
	cr_assert_eq(text[len - 1], '\n');
	json_object *obj = json_tokener_parse(text);
	cr_assert_not_null(obj, "not JSON: %s", text);
	free(text);
	return obj;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no key %s", key);
	cr_assert(json_object_is_type(v, json_type_string), "%s not a string", key);
	return json_object_get_string(v);
}

/* Escapes s (len bytes) and returns the JSON literal (caller frees). */
static char *escaped(const char *s, size_t len)
{
	hl_buf b;
	hl_buf_init(&b, 1 << 20);
	cr_assert_eq(hl_json_escape(&b, s, len), HL_OK);
	return b.data;
}

static void expect_escape(const char *s, size_t len, const char *want)
{
	char *got = escaped(s, len);
	cr_assert_str_eq(got, want);
	json_object *o = json_tokener_parse(got);
	cr_assert_not_null(o, "not a JSON string: %s", got);
	cr_assert(json_object_is_type(o, json_type_string));
	json_object_put(o);
	free(got);
}

#define EXPECT_ESCAPE(lit, want) expect_escape((lit), sizeof(lit) - 1, (want))

/* ---- escaping --------------------------------------------------------- */

Test(log, escape_plain_and_specials)
{
	EXPECT_ESCAPE("", "\"\"");
	EXPECT_ESCAPE("plain ascii 123", "\"plain ascii 123\"");
	EXPECT_ESCAPE("a\"b", "\"a\\\"b\"");
	EXPECT_ESCAPE("a\\b", "\"a\\\\b\"");
	EXPECT_ESCAPE("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
	EXPECT_ESCAPE("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	EXPECT_ESCAPE("a\0b", "\"a\\u0000b\"");
	EXPECT_ESCAPE("/</script>", "\"/</script>\"");
}

Test(log, escape_valid_utf8_is_kept)
{
	EXPECT_ESCAPE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
}

Test(log, escape_invalid_utf8_is_replaced)
{
	EXPECT_ESCAPE("a\xff" "b", "\"a\\ufffdb\"");
	EXPECT_ESCAPE("\x80", "\"\\ufffd\"");
	/* overlong '/' */
	EXPECT_ESCAPE("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	/* truncated 3-byte sequence: one replacement for the maximal prefix */
	EXPECT_ESCAPE("\xe2\x82" "x", "\"\\ufffdx\"");
	EXPECT_ESCAPE("\xe2\x82", "\"\\ufffd\"");
	/* UTF-16 surrogate encoded in UTF-8 */
	EXPECT_ESCAPE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	/* above U+10FFFF */
	EXPECT_ESCAPE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	EXPECT_ESCAPE("\xf5", "\"\\ufffd\"");
	/* a quote right after a broken lead byte is still escaped */
	EXPECT_ESCAPE("\xc3\"", "\"\\ufffd\\\"\"");
}

Test(log, escape_is_all_or_nothing)
{
	hl_buf b;
	hl_buf_init(&b, 16);
	cr_assert_eq(hl_buf_append(&b, "ab", 2), HL_OK);
	cr_assert_eq(hl_json_escape(&b, "\n\n\n\n\n\n\n\n", 8), HL_ERR_TOO_LARGE);
	cr_assert_eq(b.len, 2);
	cr_assert_str_eq(b.data, "ab");
	hl_buf_free(&b);
}

Test(log, escape_random_bytes_always_valid_json)
{
	unsigned char s[257];
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 256);
		for (size_t i = 0; i < n; i++)
			s[i] = (unsigned char)rand_r(&seed);
		char *got = escaped((const char *)s, n);
		json_object *o = json_tokener_parse(got);
		cr_assert_not_null(o, "round %d: not JSON: %s", round, got);
		json_object_put(o);
		cr_assert_null(strchr(got, '\n'));
		free(got);
	}
}

/* ---- lines -------------------------------------------------------------- */

Test(log, line_is_valid_json_with_fields)
{
	HL_LOG(HL_LOG_INFO, "task started", HL_LS("activity", "echo"), HL_LI("slots", -42),
	       HL_LB("dry_run", 1), HL_LS("skipped", NULL),
	       ((hl_log_field){ .key = "raw", .type = HL_F_RAW_JSON, .s = "{\"a\":[1,2]}" }));
	json_object *o = only_line();

	cr_assert_str_eq(get_str(o, "level"), "info");
	cr_assert_str_eq(get_str(o, "msg"), "task started");
	cr_assert_str_eq(get_str(o, "worker"), "test-worker");
	cr_assert_str_eq(get_str(o, "activity"), "echo");
	json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, "slots", &v));
	cr_assert(json_object_is_type(v, json_type_int));
	cr_assert_eq(json_object_get_int64(v), -42);
	cr_assert(json_object_object_get_ex(o, "dry_run", &v));
	cr_assert(json_object_is_type(v, json_type_boolean));
	cr_assert(json_object_get_boolean(v));
	cr_assert_not(json_object_object_get_ex(o, "skipped", NULL));
	cr_assert(json_object_object_get_ex(o, "raw", &v));
	cr_assert(json_object_is_type(v, json_type_object));

	/* "2026-11-27T04:40:39.123Z" */
	const char *ts = get_str(o, "ts");
	cr_assert_eq(strlen(ts), 24, "%s", ts);
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	for (size_t i = 0; i < 24; i++) {
		if (shape[i] == 'd')
			cr_assert(ts[i] >= '0' && ts[i] <= '9', "%s", ts);
		else
			cr_assert_eq(ts[i], shape[i], "%s", ts);
	}
	json_object_put(o);
}

Test(log, key_order)
{
	size_t len;
	hl_log(HL_LOG_WARN, "m", NULL, 0);
	char *text = captured(&len);
	cr_assert_eq(strncmp(text, "{\"ts\":\"", 7), 0, "%s", text);
	cr_assert(strstr(text, "\",\"level\":\"warn\",\"msg\":\"m\",\"worker\":\"test-worker\"}\n"),
		  "%s", text);
	free(text);
}

Test(log, hostile_value_cannot_inject)
{
	const char *evil = "x\",\"level\":\"error\",\"admin\":true}\n{\"msg\":\"forged";
	HL_LOG(HL_LOG_INFO, "event", HL_LS("detail", evil), HL_LS("bad", "\xff\xfe\x01"));
	json_object *o = only_line();
	cr_assert_str_eq(get_str(o, "level"), "info");
	cr_assert_str_eq(get_str(o, "msg"), "event");
	cr_assert_str_eq(get_str(o, "detail"), evil);
	cr_assert_str_eq(get_str(o, "bad"), "\xef\xbf\xbd\xef\xbf\xbd\x01");
	cr_assert_not(json_object_object_get_ex(o, "admin", NULL));
	json_object_put(o);
}

Test(log, long_value_is_cut_and_marked)
{
	size_t n = 100000;
	char *big = malloc(n + 1);
	memset(big, 'v', n);
	big[n] = '\0';
	HL_LOG(HL_LOG_INFO, "big", HL_LS("value", big), HL_LS("after", "kept"));
	json_object *o = only_line();
	const char *v = get_str(o, "value");
	cr_assert_lt(strlen(v), 9000);
	cr_assert(strstr(v, "truncated, 100000 bytes"), "%.60s", v + strlen(v) - 60);
	cr_assert_str_eq(get_str(o, "after"), "kept");
	json_object_put(o);
	free(big);
}

Test(log, long_value_cut_on_character_boundary)
{
	size_t n = 20000;
	char *big = malloc(n + 1);
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);   /* é */
	big[n] = '\0';
	/* shift by one so a naive cut would split a character */
	HL_LOG(HL_LOG_INFO, "big", HL_LS("value", big + 1));
	json_object *o = only_line();
	const char *v = get_str(o, "value");
	/* one replacement for the stray leading continuation byte, none else */
	cr_assert_eq(strncmp(v, "\xef\xbf\xbd\xc3\xa9", 5), 0);
	cr_assert_null(strstr(v + 3, "\xef\xbf\xbd"));
	json_object_put(o);
	free(big);
}

Test(log, too_many_fields_truncate_the_line)
{
	size_t n = 8000;
	char *val = malloc(n + 1);
	memset(val, 'q', n);
	val[n] = '\0';
	hl_log_field f[20];
	char keys[20][8];
	for (int i = 0; i < 20; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		f[i] = HL_LS(keys[i], val);
	}
	hl_log(HL_LOG_ERROR, "many", f, 20);
	json_object *o = only_line();
	json_object *t = NULL;
	cr_assert(json_object_object_get_ex(o, "log_truncated", &t));
	cr_assert(json_object_get_boolean(t));
	cr_assert(json_object_object_get_ex(o, "k0", NULL));
	cr_assert_not(json_object_object_get_ex(o, "k19", NULL));
	json_object_put(o);
	free(val);
}

Test(log, no_worker_when_unset)
{
	hl_log_set_worker(NULL);
	hl_log(HL_LOG_INFO, "m", NULL, 0);
	json_object *o = only_line();
	cr_assert_not(json_object_object_get_ex(o, "worker", NULL));
	json_object_put(o);
}

Test(log, errno_is_preserved)
{
	errno = EBADF;
	hl_log(HL_LOG_INFO, "m", NULL, 0);
	cr_assert_eq(errno, EBADF);
}

/* ---- levels ------------------------------------------------------------- */

static int evaluated;

static const char *side_effect(void)
{
	evaluated++;
	return "x";
}

Test(log, level_filtering)
{
	hl_log_set_level(HL_LOG_WARN);
	cr_assert_eq(hl_log_get_level(), HL_LOG_WARN);
	cr_assert_not(hl_log_enabled(HL_LOG_INFO));
	cr_assert(hl_log_enabled(HL_LOG_ERROR));

	HL_LOG(HL_LOG_DEBUG, "d", HL_LS("v", side_effect()));
	HL_LOG(HL_LOG_INFO, "i", HL_LS("v", side_effect()));
	cr_assert_eq(evaluated, 0, "fields of a disabled level were evaluated");
	hl_log(HL_LOG_INFO, "i2", NULL, 0);
	HL_LOG(HL_LOG_WARN, "w", HL_LI("n", 1));
	hl_log(HL_LOG_ERROR, "e", NULL, 0);
	hl_log(HL_LOG_OFF, "never", NULL, 0);

	char *text = captured(NULL);
	cr_assert_eq(count_lines(text), 2, "%s", text);
	cr_assert(strstr(text, "\"msg\":\"w\""));
	cr_assert(strstr(text, "\"msg\":\"e\""));
	cr_assert_null(strstr(text, "never"));
	free(text);

	hl_log_set_level(HL_LOG_OFF);
	hl_log(HL_LOG_ERROR, "e2", NULL, 0);
	text = captured(NULL);
	cr_assert_eq(count_lines(text), 2);
	free(text);
}

Test(log, parse_level)
{
	static const struct {
		const char *s;
		hl_log_level want;
	} ok[] = {
		{ "debug", HL_LOG_DEBUG }, { "INFO", HL_LOG_INFO },   { "Warn", HL_LOG_WARN },
		{ "warning", HL_LOG_WARN }, { "ERROR", HL_LOG_ERROR }, { "off", HL_LOG_OFF },
	};
	hl_log_level l;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		l = (hl_log_level)99;
		cr_assert_eq(hl_log_parse_level(ok[i].s, &l), 0, "%s", ok[i].s);
		cr_assert_eq(l, ok[i].want, "%s", ok[i].s);
	}
	l = HL_LOG_ERROR;
	cr_assert_eq(hl_log_parse_level("verbose", &l), -1);
	cr_assert_eq(hl_log_parse_level("", &l), -1);
	cr_assert_eq(hl_log_parse_level("info ", &l), -1);
	cr_assert_eq(hl_log_parse_level(NULL, &l), -1);
	cr_assert_eq(l, HL_LOG_ERROR, "output changed on failure");
}

/* ---- token hash ------------------------------------------------------------ */

Test(log, token_hash)
{
	char a[13], b[13], c[13];

	hl_token_hash("abc", a);
	/* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223... */
	cr_assert_str_eq(a, "ba7816bf8f01");
	hl_token_hash("abc", b);
	cr_assert_str_eq(a, b);
	hl_token_hash("AAAAKgAAAAIAAAAAAAAAAf+long+task+token==", c);
	cr_assert_eq(strlen(c), 12);
	for (int i = 0; i < 12; i++)
		cr_assert((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f'), "%s", c);
	cr_assert_str_neq(a, c);
}

/* ---- threads -------------------------------------------------------------- */

#define N_THREADS 8
#define N_LINES 1500

static void *logger(void *arg)
{
	long id = (long)(intptr_t)arg;
	char *pad = malloc(6001);
	memset(pad, 'a' + (int)id, 6000);
	pad[6000] = '\0';
	for (int i = 0; i < N_LINES; i++) {
		/* sizes from tiny to above PIPE_BUF */
		size_t len = (size_t)((i * 37 + id * 101) % 6000);
		pad[len] = '\0';
		HL_LOG(HL_LOG_INFO, "tick", HL_LI("thread", id), HL_LI("seq", i),
		       HL_LS("pad", pad));
		pad[len] = (char)('a' + id);
	}
	free(pad);
	return NULL;
}

Test(log, concurrent_lines_stay_whole)
{
	pthread_t th[N_THREADS];
	int next[N_THREADS] = { 0 };

	for (long i = 0; i < N_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, logger, (void *)(intptr_t)i), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);

	size_t len;
	char *text = captured(&len);
	size_t lines = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);
		cr_assert_not_null(o, "line %zu is not JSON: %.120s", lines, line);
		json_object *t = NULL, *s = NULL, *p = NULL;
		cr_assert(json_object_object_get_ex(o, "thread", &t));
		cr_assert(json_object_object_get_ex(o, "seq", &s));
		cr_assert(json_object_object_get_ex(o, "pad", &p));
		int id = json_object_get_int(t);
		cr_assert(id >= 0 && id < N_THREADS);
		/* each thread's lines appear complete and in its own order */
		cr_assert_eq(json_object_get_int(s), next[id]);
		next[id]++;
		const char *pad = json_object_get_string(p);
		for (const char *q = pad; *q; q++)
			cr_assert_eq(*q, 'a' + id);
		json_object_put(o);
		lines++;
	}
	cr_assert_eq(lines, (size_t)N_THREADS * N_LINES);
	free(text);
}
