/* ids.c - strict validation of AWS identifiers (see ids.h). */
#include <string.h>

#include "healer/common.h"
#include "healer/ids.h"

static bool all_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool prefixed_hex(const char *s, const char *prefix)
{
	if (!s)
		return false;
	size_t p = strlen(prefix);
	if (strncmp(s, prefix, p) != 0)
		return false;
	size_t n = strlen(s + p);
	return (n == 8 || n == 17) && all_lower_hex(s + p, n);
}

bool hl_valid_instance_id(const char *s) { return prefixed_hex(s, "i-"); }
bool hl_valid_security_group_id(const char *s) { return prefixed_hex(s, "sg-"); }

bool hl_valid_account_id(const char *s)
{
	if (!s || strlen(s) != 12)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool hl_valid_partition(const char *s)
{
	return s && (strcmp(s, "aws") == 0 || strcmp(s, "aws-cn") == 0 || strcmp(s, "aws-us-gov") == 0);
}

bool hl_valid_ssm_id(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
			return false;
	return true;
}

/* <area>-[<area2>-]<direction>-<digit>: lowercase words, a digit last. */
bool hl_valid_region(const char *s)
{
	if (!s)
		return false;
	size_t n = strlen(s), parts = 0, i = 0;
	if (n < 4 || n > 25)
		return false;
	while (i < n) {
		size_t start = i;
		while (i < n && s[i] >= 'a' && s[i] <= 'z')
			i++;
		if (i == start) {
			/* The last part is a number. */
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			return i == n && i > start && parts >= 2;
		}
		parts++;
		if (i == n || s[i] != '-')
			return false;
		i++;
	}
	return false;
}

static bool service_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool hl_parse_arn(const char *s, hl_arn *out)
{
	if (!s || hl_strlcpy(out->buf, s, sizeof(out->buf)) >= sizeof(out->buf))
		return false;
	char *f[6];
	char *p = out->buf;
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, ':');
		if (!p)
			return false;
		*p++ = '\0';
	}
	f[5] = p;
	if (strcmp(f[0], "arn") != 0 || !hl_valid_partition(f[1]) || !service_name_ok(f[2]))
		return false;
	if (*f[3] && !hl_valid_region(f[3]))
		return false;
	if (*f[4] && !hl_valid_account_id(f[4]))
		return false;
	size_t rn = strlen(f[5]);
	if (rn == 0)
		return false;
	for (size_t i = 0; i < rn; i++)
		if ((unsigned char)f[5][i] <= 0x20 || (unsigned char)f[5][i] >= 0x7f)
			return false;
	out->partition = f[1];
	out->service = f[2];
	out->region = f[3];
	out->account = f[4];
	out->resource = f[5];
	return true;
}

static bool valid_uuid(const char *s)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };
	for (size_t g = 0; g < 5; g++) {
		if (!all_lower_hex(s, groups[g]) || strnlen(s, groups[g]) != groups[g])
			return false;
		s += groups[g];
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

bool hl_valid_certificate_arn(const char *s)
{
	hl_arn a;
	return hl_parse_arn(s, &a) && strcmp(a.service, "acm") == 0 && *a.region && *a.account &&
	       strncmp(a.resource, "certificate/", 12) == 0 && valid_uuid(a.resource + 12);
}

bool hl_valid_execution_arn(const char *s)
{
	hl_arn a;
	if (!hl_parse_arn(s, &a) || strcmp(a.service, "states") != 0 || !*a.region || !*a.account)
		return false;
	if (strncmp(a.resource, "execution:", 10) != 0)
		return false;
	/* execution:<machine>:<name>; names are 1..80 of [A-Za-z0-9_-] here. */
	const char *machine = a.resource + 10;
	const char *colon = strchr(machine, ':');
	if (!colon || colon == machine)
		return false;
	for (const char *q = machine; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '-' || *q == '_' || *q == ':'))
			return false;
	return strlen(colon + 1) >= 1 && strlen(colon + 1) <= 80 && !strchr(colon + 1, ':');
}
