/* ids.h - strict validation of AWS identifiers before any use.
 *
 * Every identifier taken from an event or an activity input goes through
 * one of these before it reaches an API call, a log line or a ticket. They
 * accept exactly the documented forms and nothing else (no trimming, no
 * case folding), so a value with shell metacharacters, spaces, newlines or
 * extra characters is rejected rather than cleaned.
 */
#ifndef HEALER_IDS_H
#define HEALER_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* i- followed by exactly 8 or 17 lowercase hex digits. */
bool hl_valid_instance_id(const char *s);
/* sg- followed by exactly 8 or 17 lowercase hex digits. */
bool hl_valid_security_group_id(const char *s);
/* 12 decimal digits. */
bool hl_valid_account_id(const char *s);
/* e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4. */
bool hl_valid_region(const char *s);
/* aws | aws-cn | aws-us-gov */
bool hl_valid_partition(const char *s);
/* An SSM command id or Automation execution id: a UUID's 36 characters of
 * [0-9a-f-] (shape only; what AWS answers, checked before it is used). */
bool hl_valid_ssm_id(const char *s);

/* A parsed ARN: arn:partition:service:region:account:resource. Fields point
 * into `buf` (a private copy). */
typedef struct hl_arn {
	char buf[512];
	const char *partition, *service, *region, *account, *resource;
} hl_arn;

/* Parses and validates the general ARN shape (partition, service
 * [a-z0-9-]+, region empty or valid, account empty or 12 digits, resource
 * of printable non-space ASCII). Returns false on any deviation. */
bool hl_parse_arn(const char *s, hl_arn *out);

/* An ACM certificate ARN:
 * arn:<partition>:acm:<region>:<account>:certificate/<uuid> */
bool hl_valid_certificate_arn(const char *s);

/* A Step Functions execution ARN (for labels, keys, audit). */
bool hl_valid_execution_arn(const char *s);

#endif
