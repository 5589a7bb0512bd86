/* test_ids.c - strict identifier validation (suite "ids", ids.h).
 *
 * Table-driven: every accepted form and, for each, the near misses an event
 * or an attacker could send (case, length, separators, whitespace, shell
 * metacharacters, control bytes, non-ASCII). Each table row names what it
 * checks so a failure says which case broke.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "healer/ids.h"

typedef struct {
	const char *s;
	bool ok;
} id_case;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void run_cases(bool (*fn)(const char *), const id_case *c, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(fn(c[i].s), c[i].ok, "%s(\"%s\") should be %s", what,
			     c[i].s ? c[i].s : "(null)", c[i].ok ? "valid" : "invalid");
}

Test(ids, instance_ids)
{
	static const id_case c[] = {
		{ "i-0abcd1234ef567890", true },   /* 17 hex, current form */
		{ "i-1234abcd", true },            /* 8 hex, legacy form */
		{ "i-0000000000000000f", true },
		{ "i-0ABCD1234EF567890", false },  /* uppercase hex */
		{ "i-0Abcd1234ef567890", false },
		{ "i-0abcd1234", false },          /* 9 hex */
		{ "i-1234abc", false },            /* 7 hex */
		{ "i-0abcd1234ef56789", false },   /* 16 hex */
		{ "i-0abcd1234ef5678901", false }, /* 18 hex */
		{ "i-0abcd1234ef56789g", false },  /* non-hex letter */
		{ "i-", false },
		{ "", false },
		{ NULL, false },
		{ "I-0abcd1234ef567890", false },
		{ "i_0abcd1234ef567890", false },
		{ "0abcd1234ef567890", false },
		{ "mi-0abcd1234ef567890", false },
		{ " i-0abcd1234ef567890", false },
		{ "i-0abcd1234ef567890 ", false },
		{ "i-0abcd1234ef567890\n", false },
		{ "i-0abc; rm -rf /", false },
		{ "i-0abcd1234ef567890;", false },
		{ "i-$(reboot)", false },
		{ "i-`id`abcd", false },
		{ "i-0abcd1234ef56789\xc3\xa9", false },
		{ "sg-0abcd1234ef567890", false },
	};
	run_cases(hl_valid_instance_id, c, N(c), "hl_valid_instance_id");
}

Test(ids, security_group_ids)
{
	static const id_case c[] = {
		{ "sg-0abcd1234ef567890", true },
		{ "sg-12345678", true },
		{ "sg-0ABCD1234EF567890", false },
		{ "sg-123456789", false },
		{ "sg-1234567", false },
		{ "sg-", false },
		{ "SG-12345678", false },
		{ "sg_12345678", false },
		{ "i-12345678", false },
		{ "sg-12345678 ", false },
		{ "sg-12345678\r", false },
		{ "sg-1234|cat", false },
		{ "", false },
		{ NULL, false },
	};
	run_cases(hl_valid_security_group_id, c, N(c), "hl_valid_security_group_id");
}

Test(ids, account_ids)
{
	static const id_case c[] = {
		{ "123456789012", true },
		{ "000000000000", true },
		{ "12345678901", false },
		{ "1234567890123", false },
		{ "12345678901a", false },
		{ "-12345678901", false },
		{ "123456789012\n", false },
		{ " 123456789012", false },
		{ "１２３４５６７８９０１２", false }, /* full-width digits */
		{ "", false },
		{ NULL, false },
	};
	run_cases(hl_valid_account_id, c, N(c), "hl_valid_account_id");
}

Test(ids, regions)
{
	static const id_case c[] = {
		{ "us-east-1", true },
		{ "eu-central-2", true },
		{ "us-gov-west-1", true },
		{ "cn-north-1", true },
		{ "cn-northwest-1", true },
		{ "ap-southeast-4", true },
		{ "il-central-1", true },
		{ "us-east", false },
		{ "US-EAST-1", false },
		{ "us-east-1a", false },        /* an availability zone */
		{ "us_east_1", false },
		{ "-us-east-1", false },
		{ "us-east-1-", false },
		{ "us--east-1", false },
		{ "us-east-", false },
		{ "useast1", false },
		{ "us-east-1 ", false },
		{ "us-east-1;id", false },
		{ "us-1", false },              /* one word only */
		{ "aaaaaaaaaa-bbbbbbbbbb-cccc-1", false }, /* longer than 25 */
		{ "", false },
		{ NULL, false },
	};
	run_cases(hl_valid_region, c, N(c), "hl_valid_region");
}

Test(ids, partitions)
{
	static const id_case c[] = {
		{ "aws", true }, { "aws-cn", true }, { "aws-us-gov", true },
		{ "AWS", false }, { "aws-iso", false }, { "aws ", false }, { "", false }, { NULL, false },
	};
	run_cases(hl_valid_partition, c, N(c), "hl_valid_partition");
}

Test(ids, arn_fields)
{
	hl_arn a;
	cr_assert(hl_parse_arn("arn:aws:ec2:us-east-1:123456789012:instance/i-0abcd1234ef567890", &a));
	cr_expect_str_eq(a.partition, "aws");
	cr_expect_str_eq(a.service, "ec2");
	cr_expect_str_eq(a.region, "us-east-1");
	cr_expect_str_eq(a.account, "123456789012");
	cr_expect_str_eq(a.resource, "instance/i-0abcd1234ef567890");

	/* Colons in the resource part stay there. */
	cr_assert(hl_parse_arn("arn:aws:states:us-east-1:123456789012:execution:engine:evt-1", &a));
	cr_expect_str_eq(a.resource, "execution:engine:evt-1");

	/* Global services: empty region, empty account. */
	cr_assert(hl_parse_arn("arn:aws:iam::123456789012:role/healer", &a));
	cr_expect_str_eq(a.region, "");
	cr_assert(hl_parse_arn("arn:aws-cn:s3:::bucket", &a));
	cr_expect_str_eq(a.account, "");
	cr_expect_str_eq(a.partition, "aws-cn");
}

Test(ids, arn_rejects)
{
	static const char *bad[] = {
		"",
		"arn",
		"arn:aws:ec2:us-east-1:123456789012",           /* no resource field */
		"arn:aws:ec2:us-east-1:123456789012:",          /* empty resource */
		"ARN:aws:ec2:us-east-1:123456789012:instance/i-1",
		"arn:amazon:ec2:us-east-1:123456789012:instance/i-1",
		"arn:aws:EC2:us-east-1:123456789012:instance/i-1",
		"arn:aws::us-east-1:123456789012:instance/i-1", /* empty service */
		"arn:aws:ec2:us-east-1a:123456789012:instance/i-1",
		"arn:aws:ec2:us-east-1:12345678901:instance/i-1",
		"arn:aws:ec2:us-east-1:123456789012:instance/i-1 ",
		"arn:aws:ec2:us-east-1:123456789012:instance/i 1",
		"arn:aws:ec2:us-east-1:123456789012:instance/i-1\n",
		"arn:aws:ec2:us-east-1:123456789012:instance/\x7f",
		"arn:aws:ec2:us-east-1:123456789012:instance/caf\xc3\xa9",
		" arn:aws:ec2:us-east-1:123456789012:instance/i-1",
	};
	hl_arn a;
	for (size_t i = 0; i < N(bad); i++)
		cr_expect_not(hl_parse_arn(bad[i], &a), "hl_parse_arn(\"%s\") should fail", bad[i]);
	cr_expect_not(hl_parse_arn(NULL, &a));
}

Test(ids, arn_length_limit)
{
	/* The private copy holds 511 bytes: 511 parses, 512 does not. */
	char s[600];
	const char *prefix = "arn:aws:s3:::";
	size_t p = strlen(prefix);
	memcpy(s, prefix, p);
	memset(s + p, 'b', 511 - p);
	s[511] = '\0';
	hl_arn a;
	cr_expect(hl_parse_arn(s, &a));
	memset(s + p, 'b', 512 - p);
	s[512] = '\0';
	cr_expect_not(hl_parse_arn(s, &a));
}

Test(ids, certificate_arns)
{
	static const id_case c[] = {
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", true },
		{ "arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", true },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1A2B3C4D-5E6F-7A8B-9C0D-1E2F3A4B5C6D", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6dd", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d5e6f-7a8b-9c0d-1e2f3a4b5c6d", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/x", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/not-a-uuid", false },
		{ "arn:aws:acm::123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", false },
		{ "arn:aws:acm:us-east-1::certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", false },
		{ "arn:aws:acm-pca:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", false },
		{ "arn:aws:acm:us-east-1:123456789012:cert/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", false },
		{ "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d;ls", false },
		{ NULL, false },
	};
	run_cases(hl_valid_certificate_arn, c, N(c), "hl_valid_certificate_arn");
}

Test(ids, execution_arns)
{
	char name80[81], long_arn[256];
	memset(name80, 'a', 80);
	name80[80] = '\0';
	snprintf(long_arn, sizeof(long_arn), "arn:aws:states:us-east-1:123456789012:execution:engine:%s",
		 name80);
	cr_expect(hl_valid_execution_arn(long_arn), "an 80-character name is valid");
	snprintf(long_arn, sizeof(long_arn), "arn:aws:states:us-east-1:123456789012:execution:engine:%sa",
		 name80);
	cr_expect_not(hl_valid_execution_arn(long_arn), "an 81-character name is not");

	static const id_case c[] = {
		{ "arn:aws:states:us-east-1:123456789012:execution:engine:evt-5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f", true },
		{ "arn:aws:states:us-east-1:123456789012:execution:healer_engine-v2:run_1", true },
		{ "arn:aws:states:us-east-1:123456789012:execution:engine:", false },
		{ "arn:aws:states:us-east-1:123456789012:execution::evt-1", false },
		{ "arn:aws:states:us-east-1:123456789012:execution:engine", false },
		{ "arn:aws:states:us-east-1:123456789012:execution:engine:evt-1:extra", false },
		{ "arn:aws:states:us-east-1:123456789012:stateMachine:engine", false },
		{ "arn:aws:states:us-east-1:123456789012:activity:guard", false },
		{ "arn:aws:lambda:us-east-1:123456789012:execution:engine:evt-1", false },
		{ "arn:aws:states::123456789012:execution:engine:evt-1", false },
		{ "arn:aws:states:us-east-1::execution:engine:evt-1", false },
		{ "arn:aws:states:us-east-1:123456789012:execution:engine:evt 1", false },
		{ "arn:aws:states:us-east-1:123456789012:execution:engine:evt-1;rm", false },
		{ "arn:aws:states:us-east-1:123456789012:execution:eng/ine:evt-1", false },
		{ "", false },
		{ NULL, false },
	};
	run_cases(hl_valid_execution_arn, c, N(c), "hl_valid_execution_arn");
}

Test(ids, ssm_ids)
{
	static const id_case c[] = {
		{ "5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f", true },
		{ "00000000-0000-0000-0000-000000000000", true },
		{ "5E1F8C2A-7D3B-4C6E-9F10-2A3B4C5D6E7F", false },       /* upper case */
		{ "5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7", false },        /* 35 characters */
		{ "5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7f0", false },      /* 37 characters */
		{ "5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e7g", false },       /* not hex */
		{ "5e1f8c2a-7d3b-4c6e-9f10-2a3b4c5d6e;f", false },       /* metacharacter */
		{ "5e1f8c2a 7d3b-4c6e-9f10-2a3b4c5d6e7f", false },       /* space */
		{ "", false },
		{ NULL, false },
	};
	run_cases(hl_valid_ssm_id, c, N(c), "hl_valid_ssm_id");
}
