/* test_settings.c - HEALER_* setting helpers (suite "settings", settings.h).
 *
 * Each Criterion test runs in its own process, so setenv() here does not
 * leak between tests. Errors are asserted by code and exact message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/ids.h"
#include "healer/settings.h"

#define VAR "HEALER_TEST_SETTING"

static void set(const char *v)
{
	cr_assert_eq(setenv(VAR, v, 1), 0);
}

Test(settings, str_default_when_unset_or_empty)
{
	const char *v = NULL;
	unsetenv(VAR);
	cr_assert_eq(hl_setting_str(VAR, "dflt", &v), 0);
	cr_expect_str_eq(v, "dflt");
	set("");
	cr_assert_eq(hl_setting_str(VAR, "dflt", &v), 0);
	cr_expect_str_eq(v, "dflt");
	cr_assert_eq(hl_setting_str(VAR, NULL, &v), 0);
	cr_expect_null(v);
	set(" kept as is ");
	cr_assert_eq(hl_setting_str(VAR, "dflt", &v), 0);
	cr_expect_str_eq(v, " kept as is ");
}

static bool only_https(const char *s)
{
	return strncmp(s, "https://", 8) == 0;
}

Test(settings, str_check_never_quotes_the_value)
{
	const char *v = NULL;
	hl_err err;
	hl_err_clear(&err);
	set("xoxb-secret-token");
	cr_assert_eq(hl_setting_str_check(VAR, NULL, 0, only_https, "must be an https URL", &v, &err),
		     HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": must be an https URL");
	cr_expect_null(strstr(err.message, "secret"));

	set("https://example.com/api");
	cr_assert_eq(hl_setting_str_check(VAR, NULL, 10, NULL, NULL, &v, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": longer than 10 bytes");
	cr_assert_eq(hl_setting_str_check(VAR, NULL, 0, only_https, "x", &v, &err), 0);
	cr_expect_str_eq(v, "https://example.com/api");

	unsetenv(VAR);
	cr_assert_eq(hl_setting_str_check(VAR, "not checked", 0, only_https, "x", &v, &err), 0);
	cr_expect_str_eq(v, "not checked");
}

Test(settings, int_accepts_plain_decimal_in_range)
{
	int v = 0;
	hl_err err;
	unsetenv(VAR);
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), 0);
	cr_expect_eq(v, 3);
	set("42");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), 0);
	cr_expect_eq(v, 42);
	set("-5");
	cr_assert_eq(hl_setting_int(VAR, 0, -10, 10, &v, &err), 0);
	cr_expect_eq(v, -5);
	set("100");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), 0);
	cr_expect_eq(v, 100);
}

Test(settings, int_rejects_everything_else)
{
	static const char *bad[] = { " 3", "3 ", "+3", "0x10", "3.0", "abc", "3abc", "-", "1e3",
				     "99999999999999999999" };
	hl_err err;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int v = 7;
		set(bad[i]);
		cr_expect_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG, "\"%s\"", bad[i]);
		cr_expect_eq(v, 7, "unchanged on error");
		cr_expect_eq(err.code, HL_ERR_CONFIG);
	}
	int v = 0;
	set("abc");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"abc\" is not a decimal integer");
	set("0");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"0\" is out of range 1..100");
	set("101");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"101\" is out of range 1..100");
}

Test(settings, error_message_sanitises_the_value)
{
	int v = 0;
	hl_err err;
	set("1\n\x1b[31mred");
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"1??[31mred\" is not a decimal integer");
	char longv[200];
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	set(longv);
	cr_assert_eq(hl_setting_int(VAR, 3, 1, 100, &v, &err), HL_ERR_CONFIG);
	char want[160];
	snprintf(want, sizeof(want), VAR ": \"%.64s...\" is not a decimal integer", longv);
	cr_expect_str_eq(err.message, want);
}

Test(settings, double_values)
{
	double d = 0;
	hl_err err;
	static const struct {
		const char *s;
		double want;
	} ok[] = { { "0.8", 0.8 }, { ".5", 0.5 }, { "1.", 1.0 }, { "1", 1.0 }, { "-0.25", -0.25 } };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		set(ok[i].s);
		cr_assert_eq(hl_setting_double(VAR, 0, -1, 1, &d, &err), 0, "\"%s\"", ok[i].s);
		cr_expect_float_eq(d, ok[i].want, 1e-12, "\"%s\"", ok[i].s);
	}
	static const char *bad[] = { "1e0", "nan", "inf", ".", "", "0.5 ", "0,5", "--1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!*bad[i])
			continue;   /* empty means default */
		set(bad[i]);
		cr_expect_eq(hl_setting_double(VAR, 0, -1, 1, &d, &err), HL_ERR_CONFIG, "\"%s\"", bad[i]);
	}
	set("1.5");
	cr_assert_eq(hl_setting_double(VAR, 0, 0, 1, &d, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"1.5\" is out of range 0..1");
	unsetenv(VAR);
	cr_assert_eq(hl_setting_double(VAR, 0.8, 0, 1, &d, &err), 0);
	cr_expect_float_eq(d, 0.8, 1e-12);
}

Test(settings, bool_values)
{
	bool b = false;
	hl_err err;
	set("TRUE");
	cr_assert_eq(hl_setting_bool(VAR, false, &b, &err), 0);
	cr_expect(b);
	set("0");
	cr_assert_eq(hl_setting_bool(VAR, true, &b, &err), 0);
	cr_expect_not(b);
	set("yes");
	cr_assert_eq(hl_setting_bool(VAR, true, &b, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"yes\" is not true/false/1/0");
}

Test(settings, list_items_trimmed_and_validated)
{
	hl_strlist l;
	hl_err err;
	set("sg-12345678, sg-0abcd1234ef567890 ,\tsg-87654321");
	cr_assert_eq(hl_setting_list(VAR, NULL, hl_valid_security_group_id, &l, &err), 0);
	cr_assert_eq(l.n, 3);
	cr_expect_str_eq(l.items[0], "sg-12345678");
	cr_expect_str_eq(l.items[1], "sg-0abcd1234ef567890");
	cr_expect_str_eq(l.items[2], "sg-87654321");
	cr_expect(hl_strlist_contains(&l, "sg-0abcd1234ef567890"));
	cr_expect_not(hl_strlist_contains(&l, "sg-0abcd1234ef56789"));
	cr_expect_not(hl_strlist_contains(&l, NULL));
	hl_strlist_free(&l);
	hl_strlist_free(&l);   /* idempotent */
	cr_expect_eq(l.n, 0);
}

Test(settings, list_empty_and_default)
{
	hl_strlist l;
	hl_err err;
	unsetenv(VAR);
	cr_assert_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), 0);
	cr_expect_eq(l.n, 0);
	cr_expect_not(hl_strlist_contains(&l, "x"));
	hl_strlist_free(&l);
	cr_assert_eq(hl_setting_list(VAR, "a,b", NULL, &l, &err), 0);
	cr_expect_eq(l.n, 2);
	hl_strlist_free(&l);
}

Test(settings, list_rejects)
{
	hl_strlist l = { NULL, 0 };
	hl_err err;
	static const char *empty_items[] = { "a,,b", "a,", ",a", " , ", "a, ,b" };
	for (size_t i = 0; i < sizeof(empty_items) / sizeof(empty_items[0]); i++) {
		set(empty_items[i]);
		cr_expect_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), HL_ERR_CONFIG, "\"%s\"",
			     empty_items[i]);
		cr_expect_eq(l.n, 0);
		cr_expect_null(l.items);
	}
	set("a,,b");
	cr_assert_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": \"a,,b\" has an empty item");

	set("123456789012,12345678901");
	cr_assert_eq(hl_setting_list(VAR, NULL, hl_valid_account_id, &l, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": invalid item \"12345678901\"");

	set("sg-12345678,sg-1234;rm -rf /");
	cr_assert_eq(hl_setting_list(VAR, NULL, hl_valid_security_group_id, &l, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": invalid item \"sg-1234;rm -rf /\"");

	set("ok,bad\x01item");
	cr_assert_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, VAR ": invalid item \"bad?item\"");
}

Test(settings, list_item_limit)
{
	hl_strlist l;
	hl_err err;
	char buf[HL_SETTING_MAX_ITEMS * 2 + 8];
	size_t n = 0;
	for (int i = 0; i < HL_SETTING_MAX_ITEMS; i++) {
		buf[n++] = 'a';
		buf[n++] = ',';
	}
	buf[n - 1] = '\0';
	set(buf);
	cr_assert_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), 0);
	cr_expect_eq(l.n, HL_SETTING_MAX_ITEMS);
	hl_strlist_free(&l);
	buf[n - 1] = ',';
	buf[n] = 'a';
	buf[n + 1] = '\0';
	set(buf);
	cr_assert_eq(hl_setting_list(VAR, NULL, NULL, &l, &err), HL_ERR_CONFIG);
	cr_expect_not_null(strstr(err.message, "has more than 256 items"));
}
