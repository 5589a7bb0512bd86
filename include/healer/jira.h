/* jira.h - a small Jira Cloud REST v3 client (the ticket activity's).
 *
 * Basic auth (email + API token; the header is built once and wiped on
 * free), JSON bodies, Atlassian Document Format (ADF) builders for
 * descriptions and comments. Searching uses POST /rest/api/3/search/jql,
 * the endpoint Jira Cloud documents since the legacy /rest/api/3/search was
 * removed (it answers 410 Gone). Its results are eventually consistent: a
 * just-created issue may be missing, so callers keep their own record of
 * what they created and use the search as the fallback.
 *
 * Calls go through hl_webapi (record.h): 429 waits Retry-After, 5xx and
 * transport failures are retried for reads and idempotent writes; creating
 * an issue and adding a comment are tried once (the caller decides, after
 * looking again, whether to try again).
 *
 * Errors: a non-2xx answer returns HL_ERR_AWS ("the service answered with
 * an error") with err->http_status, err->aws_code = hl_jira_reason(status)
 * ("BadRequest", "Unauthorized", "Throttled", "Unavailable", ...) and
 * err->message = Jira's errorMessages and errors; transport failures
 * HL_ERR_IO / HL_ERR_TIMEOUT; an unreadable answer HL_ERR_PARSE; a
 * cancelled wait HL_ERR_CANCELLED. One hl_jira per thread.
 */
#ifndef HEALER_JIRA_H
#define HEALER_JIRA_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "healer/common.h"

typedef struct hl_jira_config {
	const char *base_url;       /* hl_valid_api_base_url; trailing '/' ignored */
	const char *email;
	const char *api_token;      /* secret: only its base64 form is kept, wiped on free */
	const char *ca_file;        /* NULL = HEALER_CA_BUNDLE, else system store */
	long timeout_ms;            /* per attempt; 0 = 10 s */
	int max_attempts;           /* 0 = 3 */
	long backoff_base_ms;       /* 0 = 250 */
	long max_retry_after_ms;    /* 0 = 30 s */
	bool (*sleep)(void *arg, long ms);   /* NULL = nanosleep */
	void *sleep_arg;
} hl_jira_config;

typedef struct hl_jira hl_jira;

typedef struct hl_jira_issue {
	char id[32];
	char key[72];
	char status[128];           /* status name, "" if not returned */
	char status_category[32];   /* "new" | "indeterminate" | "done" | "" */
} hl_jira_issue;

hl_jira *hl_jira_new(const hl_jira_config *cfg, hl_err *err);
void hl_jira_free(hl_jira *j);    /* accepts NULL */

/* The oldest issue of `project` carrying `label` (JQL `project = "P" AND
 * labels = "L" ORDER BY created ASC`). *found false when none. */
int hl_jira_find_by_label(hl_jira *j, const char *project, const char *label,
			  hl_jira_issue *out, bool *found, hl_err *err) HL_MUST_CHECK;
/* GET /rest/api/3/issue/{key}?fields=status. *found false on 404. */
int hl_jira_get_issue(hl_jira *j, const char *key, hl_jira_issue *out, bool *found,
		      hl_err *err) HL_MUST_CHECK;
/* POST /rest/api/3/issue with {"fields": fields} (not consumed). Tried
 * once: a 5xx or transport failure may still have created it. */
int hl_jira_create_issue(hl_jira *j, json_object *fields, hl_jira_issue *out,
			 hl_err *err) HL_MUST_CHECK;
/* Whether one of the issue's latest 100 comments contains `marker`. */
int hl_jira_has_comment(hl_jira *j, const char *key, const char *marker, bool *found,
			hl_err *err) HL_MUST_CHECK;
/* POST /rest/api/3/issue/{key}/comment with {"body": adf} (not consumed). */
int hl_jira_add_comment(hl_jira *j, const char *key, json_object *adf, hl_err *err) HL_MUST_CHECK;
/* Moves the issue to a status of category "done": GET transitions, pick the
 * first whose to.statusCategory.key is "done", POST it. *moved false (and
 * 0 returned) when the workflow offers no such transition; name_out gets
 * the transition's name. */
int hl_jira_transition_done(hl_jira *j, const char *key, bool *moved, char *name_out,
			    size_t name_sz, hl_err *err) HL_MUST_CHECK;

/* ---- parsing and validation (exposed for tests) ---- */

/* A project key: an uppercase letter then 1..9 of [A-Z0-9_]. */
bool hl_jira_valid_project_key(const char *s);
/* An issue key: project key, '-', 1..18 digits. */
bool hl_jira_valid_issue_key(const char *s);
/* A label: 1..255 printable ASCII, no spaces, quotes or backslashes. */
bool hl_jira_valid_label(const char *s);
/* An issue type name: 1..60 of [A-Za-z0-9 _-]. */
bool hl_jira_valid_issue_type(const char *s);

/* "BadRequest" (400), "Unauthorized" (401), "Forbidden" (403),
 * "NotFound" (404), "Conflict" (409), "Gone" (410), "TooLarge" (413),
 * "Throttled" (429), "Unavailable" (5xx), "HttpError" (other). */
const char *hl_jira_reason(long status);
/* Fills err (HL_ERR_AWS) from an error answer: status, reason, and the
 * body's errorMessages[] and errors{field: message} joined with "; "
 * (cleaned, bounded), or the status line when the body says nothing. */
int hl_jira_error(long status, const char *body, size_t len, hl_err *err);
/* Reads one issue object ({"id","key","fields":{"status":{...}}}). */
int hl_jira_parse_issue(json_object *issue, hl_jira_issue *out, hl_err *err) HL_MUST_CHECK;
/* Reads a search/jql answer ({"issues":[...]}): the first issue. */
int hl_jira_parse_search(const char *body, size_t len, hl_jira_issue *out, bool *found,
			 hl_err *err) HL_MUST_CHECK;
/* Reads a transitions answer: the first transition to a "done" category. */
int hl_jira_pick_done_transition(const char *body, size_t len, char *id_out, size_t id_sz,
				 char *name_out, size_t name_sz, bool *found,
				 hl_err *err) HL_MUST_CHECK;

/* ---- Atlassian Document Format ---- */

/* {"type":"doc","version":1,"content":[]} */
json_object *hl_adf_doc(void);
/* Appends a paragraph: an optional bold label ("Reason: ") then the text
 * (cleaned, newlines become hard breaks). Empty text adds nothing. */
void hl_adf_paragraph(json_object *doc, const char *label, const char *text);
/* Appends a paragraph whose text links to href (an hl_valid_link_url). */
void hl_adf_link(json_object *doc, const char *label, const char *text, const char *href);
/* Appends a code block (language may be NULL). Empty text adds nothing. */
void hl_adf_code_block(json_object *doc, const char *text, const char *language);

#endif
