/* settings.c - HEALER_* activity settings with defaults and strict parsing.
 *
 * Each helper looks the variable up with getenv(), treats unset and empty
 * alike (the default), and parses the rest strictly: a value either is
 * exactly of the expected form or is an HL_ERR_CONFIG naming the variable.
 * Error messages quote the offending value through quote(), which cuts it
 * and replaces non-printable bytes, so a hostile environment cannot inject
 * control characters into logs. See settings.h for the contract.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "healer/settings.h"

#define QUOTE_MAX 64

/* A printable copy of s for an error message: at most QUOTE_MAX bytes,
 * non-printable ASCII and non-ASCII bytes replaced by '?'. */
static void quote(const char *s, size_t n, char out[QUOTE_MAX + 4])
{
	size_t i = 0;
	for (; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* The value of name, or NULL when unset or empty. */
static const char *lookup(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int bad_value(hl_err *err, const char *name, const char *v, const char *what)
{
	char q[QUOTE_MAX + 4];
	quote(v, strnlen(v, QUOTE_MAX + 1), q);
	return hl_err_set(err, HL_ERR_CONFIG, "%s: \"%s\" %s", name, q, what);
}

int hl_setting_str(const char *name, const char *def, const char **out)
{
	const char *v = lookup(name);
	*out = v ? v : def;
	return HL_OK;
}

int hl_setting_str_check(const char *name, const char *def, size_t max_len,
			 bool (*valid)(const char *value), const char *what,
			 const char **out, hl_err *err)
{
	const char *v = lookup(name);
	if (!v) {
		*out = def;
		return HL_OK;
	}
	if (max_len == 0 || max_len > HL_SETTING_MAX_LEN)
		max_len = HL_SETTING_MAX_LEN;
	if (strnlen(v, max_len + 1) > max_len)
		return hl_err_set(err, HL_ERR_CONFIG, "%s: longer than %zu bytes", name, max_len);
	if (valid && !valid(v))
		return hl_err_set(err, HL_ERR_CONFIG, "%s: %s", name, what ? what : "invalid value");
	*out = v;
	return HL_OK;
}

int hl_setting_int(const char *name, int def, int min, int max, int *out, hl_err *err)
{
	const char *v = lookup(name);
	if (!v) {
		*out = def;
		return HL_OK;
	}
	const char *p = v;
	if (*p == '-')
		p++;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || p[digits] != '\0' || digits > 12)
		return bad_value(err, name, v, "is not a decimal integer");
	errno = 0;
	long long n = strtoll(v, NULL, 10);
	if (errno != 0 || n < min || n > max) {
		char what[96];
		snprintf(what, sizeof(what), "is out of range %d..%d", min, max);
		return bad_value(err, name, v, what);
	}
	*out = (int)n;
	return HL_OK;
}

int hl_setting_double(const char *name, double def, double min, double max, double *out,
		      hl_err *err)
{
	const char *v = lookup(name);
	if (!v) {
		*out = def;
		return HL_OK;
	}
	const char *p = v;
	if (*p == '-')
		p++;
	size_t ip = strspn(p, "0123456789");
	size_t fp = 0;
	if (p[ip] == '.')
		fp = strspn(p + ip + 1, "0123456789");
	size_t total = ip + (p[ip] == '.' ? 1 + fp : 0);
	if (ip + fp == 0 || p[total] != '\0' || total > 32)
		return bad_value(err, name, v, "is not a decimal number");
	errno = 0;
	double d = strtod(v, NULL);
	if (errno != 0 || !isfinite(d) || d < min || d > max) {
		char what[96];
		snprintf(what, sizeof(what), "is out of range %g..%g", min, max);
		return bad_value(err, name, v, what);
	}
	*out = d;
	return HL_OK;
}

int hl_setting_bool(const char *name, bool def, bool *out, hl_err *err)
{
	const char *v = lookup(name);
	if (!v) {
		*out = def;
		return HL_OK;
	}
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
		*out = true;
		return HL_OK;
	}
	if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = false;
		return HL_OK;
	}
	return bad_value(err, name, v, "is not true/false/1/0");
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void hl_strlist_free(hl_strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

bool hl_strlist_contains(const hl_strlist *l, const char *s)
{
	if (!l || !s)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

int hl_setting_list(const char *name, const char *def, bool (*valid)(const char *item),
		    hl_strlist *out, hl_err *err)
{
	hl_strlist l = { NULL, 0 };
	int rc = HL_OK;
	const char *v = lookup(name);
	if (!v)
		v = def;
	out->items = NULL;
	out->n = 0;
	if (!v || !*v)
		return HL_OK;
	if (strnlen(v, HL_SETTING_MAX_LEN + 1) > HL_SETTING_MAX_LEN) {
		rc = hl_err_set(err, HL_ERR_CONFIG, "%s: longer than %d bytes", name,
				HL_SETTING_MAX_LEN);
		goto out;
	}
	l.items = hl_xcalloc(HL_SETTING_MAX_ITEMS, sizeof(char *));
	const char *p = v;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (len > 0 && is_blank(*s)) {
			s++;
			len--;
		}
		while (len > 0 && is_blank(s[len - 1]))
			len--;
		if (len == 0) {
			rc = bad_value(err, name, v, "has an empty item");
			goto out;
		}
		if (l.n == HL_SETTING_MAX_ITEMS) {
			char what[64];
			snprintf(what, sizeof(what), "has more than %d items", HL_SETTING_MAX_ITEMS);
			rc = bad_value(err, name, v, what);
			goto out;
		}
		char *item = hl_xstrndup(s, len);
		l.items[l.n++] = item;
		bool ctl = false;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)item[i] < 0x20 || item[i] == 0x7f)
				ctl = true;
		if (ctl || (valid && !valid(item))) {
			char q[QUOTE_MAX + 4];
			quote(item, len, q);
			rc = hl_err_set(err, HL_ERR_CONFIG, "%s: invalid item \"%s\"", name, q);
			goto out;
		}
		if (!end)
			break;
		p = end + 1;
	}
	*out = l;
	l.items = NULL;
	l.n = 0;
out:
	hl_strlist_free(&l);
	return rc;
}
