/* slack.h - a small Slack Web API client (the notify activity's).
 *
 * Bot token as `Authorization: Bearer` (copied once, wiped on free, never
 * logged). chat.postMessage takes a JSON body; users.lookupByEmail a form
 * body. Slack answers most failures with HTTP 200 and {"ok": false,
 * "error": "<code>"}, so every answer's "ok" is checked.
 *
 * Calls go through hl_webapi (record.h): HTTP 429 waits Retry-After
 * (bounded), 5xx and transport failures are retried with backoff. A retried
 * chat.postMessage can post twice when the first attempt was processed but
 * its answer lost; for an alert a rare duplicate is better than none.
 *
 * Errors: {"ok": false} returns HL_ERR_AWS with err->aws_code = Slack's
 * error code ([a-z0-9_], e.g. "channel_not_found", "invalid_auth") and
 * err->http_status 200; a 429 not waited out gives aws_code "ratelimited"
 * and http_status 429; another non-2xx status "http_error" with its
 * status; transport failures HL_ERR_IO / HL_ERR_TIMEOUT; an unreadable
 * answer HL_ERR_PARSE. One hl_slack per thread.
 */
#ifndef HEALER_SLACK_H
#define HEALER_SLACK_H

#include <stdbool.h>
#include <stddef.h>

#include "healer/common.h"

typedef struct hl_slack_config {
	const char *base_url;       /* e.g. https://slack.com/api (hl_valid_api_base_url) */
	const char *token;          /* secret */
	const char *ca_file;        /* NULL = HEALER_CA_BUNDLE, else system store */
	long timeout_ms;            /* per attempt; 0 = 10 s */
	int max_attempts;           /* 0 = 3 */
	long backoff_base_ms;       /* 0 = 250 */
	long max_retry_after_ms;    /* 0 = 30 s */
	bool (*sleep)(void *arg, long ms);   /* NULL = nanosleep */
	void *sleep_arg;
} hl_slack_config;

typedef struct hl_slack hl_slack;

typedef struct hl_slack_result {
	bool ok;
	char error[64];             /* Slack's error code when !ok */
	char channel[32];           /* chat.postMessage: the channel posted to */
	char ts[32];                /* chat.postMessage: the message timestamp */
	char user_id[32];           /* users.lookupByEmail: the user's id */
} hl_slack_result;

hl_slack *hl_slack_new(const hl_slack_config *cfg, hl_err *err);
void hl_slack_free(hl_slack *s);   /* accepts NULL */

/* chat.postMessage {"channel", "text", "unfurl_links": false,
 * "unfurl_media": false}. `text` must already be escaped
 * (hl_slack_escape for every untrusted piece). */
int hl_slack_post_message(hl_slack *s, const char *channel, const char *text,
			  hl_slack_result *res, hl_err *err) HL_MUST_CHECK;
/* users.lookupByEmail: res->user_id. Slack says "users_not_found" for an
 * unknown address (HL_ERR_AWS). */
int hl_slack_lookup_by_email(hl_slack *s, const char *email, hl_slack_result *res,
			     hl_err *err) HL_MUST_CHECK;

/* ---- helpers (exposed for tests) ---- */

/* Appends s with Slack's three control characters escaped (& -> &amp;,
 * < -> &lt;, > -> &gt;), so no value can form a mention (<!channel>,
 * <@U...>) or a link; the text is first cleaned (hl_clean_text, max
 * bytes). */
int hl_slack_escape(hl_buf *b, const char *s, size_t max) HL_MUST_CHECK;
/* Reads an answer: status 2xx with "ok": true -> 0; else the error above. */
int hl_slack_parse_response(long status, const char *body, size_t len, hl_slack_result *res,
			    hl_err *err) HL_MUST_CHECK;
/* A user id: U or W then 2..20 of [A-Z0-9]. */
bool hl_slack_valid_user_id(const char *s);
/* A channel: an id (C/G/D then [A-Z0-9]{2,20}) or a name ("#" optional,
 * 1..80 of [a-z0-9_-]). */
bool hl_slack_valid_channel(const char *s);
/* A plain e-mail address: 3..254 bytes, one '@', printable ASCII without
 * spaces, quotes, '<', '>', ',', ';' or '\\'; a dot in the domain. */
bool hl_valid_email(const char *s);

#endif
