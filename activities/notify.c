/* notify.c - the `notify` activity: a Slack alert for every execution, and
 * a direct message to the resource's owner when the remediation left one.
 *
 * Input: the record input (record.h). Output: {"channel": {"ok", "ts",
 * "channel"}, "dm": {...} | null, "skipped": null}; without
 * HEALER_SLACK_TOKEN or HEALER_SLACK_CHANNEL: {"channel": null, "dm": null,
 * "skipped": "not configured"}.
 *
 * The channel alert (HEALER_SLACK_CHANNEL) names the outcome, the class,
 * the resource, the action or the reason, the ticket link and the
 * execution's console link. The state machine runs ticket, notify and
 * audit in parallel, so the issue key is usually unknown here: the ticket
 * link is then a Jira search for the execution's label (HEALER_JIRA_URL +
 * /issues/?jql=labels = healer-...), which finds the issue whenever the
 * ticket activity files it; a "ticket" in the input ({"key", "url"}) is
 * linked directly. Every value that came from the event or an
 * earlier step goes through hl_slack_escape, so "<!channel>" or
 * "<https://evil|click>" in an event is shown as text, never as a mention
 * or a link; links we add are our own validated URLs.
 *
 * The owner DM (remediation.details.ownerMessage + diagnosis.owner): a
 * Slack user id (U…/W…) is posted to directly; an e-mail address is
 * resolved with users.lookupByEmail first; anything else, an unknown
 * address, a user Slack cannot DM, or a dry run (the message would claim
 * a change that did not happen) skips the DM with a reason. A DM failure
 * never fails the activity once the channel alert is posted, so a
 * state-machine retry never repeats the alert for the DM's sake.
 *
 * Failures (the channel alert only): invalid_auth and friends ->
 * Healer.Notify.Unauthorized; channel_not_found -> .ChannelNotFound;
 * not_in_channel -> .NotInChannel; is_archived -> .ChannelArchived;
 * missing_scope -> .MissingScope; other Slack errors -> .SlackError; rate
 * limited beyond the wait we allow -> Healer.Throttled; 5xx after retries
 * -> .Unavailable; transport -> .Unreachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/activity.h"
#include "healer/log.h"
#include "healer/record.h"
#include "healer/settings.h"
#include "healer/slack.h"

#define TEXT_MAX (32 * 1024)

typedef struct notify_settings {
	const char *url, *token, *channel;
} notify_settings;

static bool valid_token_setting(const char *s)
{
	return !strpbrk(s, "\r\n");
}

static int read_settings(notify_settings *s, hl_err *err)
{
	memset(s, 0, sizeof(*s));
	HL_GUARD(hl_setting_str_check("HEALER_SLACK_API_URL", "https://slack.com/api", 512,
				      hl_valid_api_base_url,
				      "must be an https URL (http only to 127.0.0.1 or localhost)", &s->url, err));
	HL_GUARD(hl_setting_str_check("HEALER_SLACK_TOKEN", NULL, 512, valid_token_setting,
				      "must be one line", &s->token, err));
	HL_GUARD(hl_setting_str_check("HEALER_SLACK_CHANNEL", NULL, 81, hl_slack_valid_channel,
				      "must be a channel id (C...) or name", &s->channel, err));
	return HL_OK;
}

static int notify_init(hl_err *err)
{
	notify_settings s;
	const char *ca_bundle;
	HL_GUARD(read_settings(&s, err));
	HL_GUARD(hl_webapi_ca_bundle(true, &ca_bundle, err));
	if ((s.token != NULL) != (s.channel != NULL))
		HL_LOG(HL_LOG_WARN, "notify: Slack is partly configured; alerts will be skipped",
		       HL_LB("token", s.token != NULL), HL_LB("channel", s.channel != NULL));
	return HL_OK;
}

static bool ctx_sleep(void *arg, long ms)
{
	return hl_activity_sleep(arg, ms);
}

/* ---- the messages ------------------------------------------------------------- */

/* <url|text> with the text escaped; url must be one of ours (validated). */
static int append_link(hl_buf *b, const char *url, const char *text)
{
	if (!hl_valid_link_url(url))
		return hl_slack_escape(b, text, 256);
	HL_GUARD(hl_buf_append(b, "<", 1));
	for (const char *p = url; *p; p++)
		HL_GUARD(*p == '&' ? hl_buf_append(b, "&amp;", 5) : hl_buf_append(b, p, 1));
	HL_GUARD(hl_buf_append(b, "|", 1));
	HL_GUARD(hl_slack_escape(b, text, 256));
	return hl_buf_append(b, ">", 1);
}

static int channel_text(const hl_record *rec, const char *console, const char *jira_url, hl_buf *b)
{
	const char *head;
	if (rec->escalated)
		head = ":rotating_light: *healer escalated*";
	else if (rec->dry_run)
		head = ":test_tube: *healer would remediate* (dry run, nothing changed)";
	else
		head = ":white_check_mark: *healer remediated*";
	HL_GUARD(hl_buf_appendf(b, "%s%s `%s` on ", rec->dry_run && rec->escalated ? "[dry run] " : "",
				head, rec->klass ? rec->klass : "event"));
	if (rec->resource_id) {
		/* Validated identifiers: safe inside a code span. */
		HL_GUARD(hl_buf_appendf(b, "`%s`", rec->resource_id));
		if (rec->account)
			HL_GUARD(hl_buf_appendf(b, " (account %s%s%s)", rec->account,
						rec->resource_region ? ", " : "",
						rec->resource_region ? rec->resource_region : ""));
	} else {
		HL_GUARD(hl_buf_appendf(b, "%s", rec->resource_invalid ? "an invalid resource id" : "no resource"));
	}
	if (rec->action && !rec->escalated)
		HL_GUARD(hl_buf_appendf(b, "\n*Action:* `%s`", rec->action));
	HL_GUARD(hl_buf_appendf(b, "\n*%s:* ", rec->escalated ? "Reason" : "Result"));
	HL_GUARD(hl_slack_escape(b, rec->reason, 1000));
	if (rec->owner) {
		HL_GUARD(hl_buf_append(b, "\n*Owner:* ", 10));
		HL_GUARD(hl_slack_escape(b, rec->owner, 256));
	}
	if (rec->ticket_key) {
		HL_GUARD(hl_buf_append(b, "\n*Ticket:* ", 11));
		HL_GUARD(append_link(b, rec->ticket_url, rec->ticket_key));
	} else if (jira_url) {
		/* Ticket and notify run in parallel, so the issue key is not
		 * known here; a search for the execution's label always finds
		 * the issue, whenever it gets created. */
		size_t n = strlen(jira_url);
		while (n > 0 && jira_url[n - 1] == '/')
			n--;
		char *link = hl_xasprintf("%.*s/issues/?jql=labels%%20%%3D%%20%s", (int)n, jira_url,
					  rec->label);
		int rc = hl_buf_append(b, "\n*Ticket:* ", 11);
		if (rc == HL_OK)
			rc = append_link(b, link, rec->label);
		free(link);
		HL_GUARD(rc);
	}
	HL_GUARD(hl_buf_append(b, "\n*Execution:* ", 14));
	const char *name = strrchr(rec->execution, ':');
	return append_link(b, console, name ? name + 1 : rec->execution);
}

static int dm_text(const hl_record *rec, hl_buf *b)
{
	HL_GUARD(hl_slack_escape(b, rec->owner_message, 1000));
	if (rec->resource_id)
		HL_GUARD(hl_buf_appendf(b, "\n(resource `%s`)", rec->resource_id));
	if (rec->ticket_key) {
		HL_GUARD(hl_buf_append(b, "\nTicket: ", 9));
		HL_GUARD(append_link(b, rec->ticket_url, rec->ticket_key));
	}
	return HL_OK;
}

/* ---- failures ----------------------------------------------------------------- */

static const struct {
	const char *code, *name;
} SLACK_ERRORS[] = {
	{ "invalid_auth", "Unauthorized" },   { "not_authed", "Unauthorized" },
	{ "account_inactive", "Unauthorized" }, { "token_revoked", "Unauthorized" },
	{ "token_expired", "Unauthorized" },  { "no_permission", "Unauthorized" },
	{ "channel_not_found", "ChannelNotFound" }, { "not_in_channel", "NotInChannel" },
	{ "is_archived", "ChannelArchived" }, { "missing_scope", "MissingScope" },
	{ "http_error", "Unavailable" },
};

static int fail_from(hl_activity_ctx *ctx, const hl_err *err, int rc, const char *step)
{
	if (rc == HL_ERR_CANCELLED)
		return rc;
	if (err->code == HL_ERR_AWS && strcmp(err->aws_code, "ratelimited") == 0)
		return hl_activity_fail(ctx, "Healer.Throttled", "Slack %s: %s", step, err->message);
	if (err->code == HL_ERR_AWS) {
		const char *name = "SlackError";
		for (size_t i = 0; i < sizeof(SLACK_ERRORS) / sizeof(SLACK_ERRORS[0]); i++)
			if (strcmp(err->aws_code, SLACK_ERRORS[i].code) == 0)
				name = SLACK_ERRORS[i].name;
		char full[96];
		snprintf(full, sizeof(full), "Healer.Notify.%s", name);
		return hl_activity_fail(ctx, full, "Slack %s: %s", step, err->message);
	}
	if (err->code == HL_ERR_IO || err->code == HL_ERR_TIMEOUT)
		return hl_activity_fail(ctx, "Healer.Notify.Unreachable", "Slack %s: %s", step, err->message);
	if (err->code == HL_ERR_PARSE)
		return hl_activity_fail(ctx, "Healer.Notify.BadResponse", "Slack %s: %s", step, err->message);
	return hl_activity_fail(ctx, "Healer.Notify.Internal", "Slack %s: %s", step, err->message);
}

/* ---- the owner DM --------------------------------------------------------------- */

static json_object *dm_skipped(const char *why)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "skipped", json_object_new_string(why));
	return o;
}

/* The DM's outcome as JSON, or NULL when there is nothing to send. Returns
 * HL_ERR_CANCELLED only; every other problem is reported in the object. */
static int send_dm(hl_slack *slack, const hl_record *rec, json_object **dm)
{
	*dm = NULL;
	if (!rec->owner_message)
		return HL_OK;
	if (!rec->owner) {
		*dm = dm_skipped("the diagnosis names no owner");
		return HL_OK;
	}
	if (rec->dry_run) {
		*dm = dm_skipped("dry run: the owner message describes a change that was not made");
		return HL_OK;
	}
	hl_err err;
	hl_err_clear(&err);
	hl_slack_result res;
	char user[32];
	const char *via = "user id";
	if (hl_slack_valid_user_id(rec->owner)) {
		hl_strlcpy(user, rec->owner, sizeof(user));
	} else if (hl_valid_email(rec->owner)) {
		via = "email";
		int rc = hl_slack_lookup_by_email(slack, rec->owner, &res, &err);
		if (rc == HL_ERR_CANCELLED)
			return rc;
		if (rc < 0) {
			bool unknown = err.code == HL_ERR_AWS && strcmp(err.aws_code, "users_not_found") == 0;
			*dm = dm_skipped(unknown ? "the owner's e-mail address has no Slack account"
						 : "the owner's e-mail address could not be looked up");
			if (!unknown)
				json_object_object_add(*dm, "error", json_object_new_string(
								       err.aws_code[0] ? err.aws_code : hl_status_name(rc)));
			return HL_OK;
		}
		hl_strlcpy(user, res.user_id, sizeof(user));
	} else {
		*dm = dm_skipped("the owner is neither a Slack user id nor an e-mail address");
		return HL_OK;
	}
	hl_buf text;
	hl_buf_init(&text, TEXT_MAX);
	int rc = dm_text(rec, &text);
	if (rc == HL_OK)
		rc = hl_slack_post_message(slack, user, text.data, &res, &err);
	hl_buf_free(&text);
	if (rc == HL_ERR_CANCELLED)
		return rc;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(rc == HL_OK));
	json_object_object_add(o, "user", json_object_new_string(user));
	json_object_object_add(o, "via", json_object_new_string(via));
	if (rc == HL_OK) {
		json_object_object_add(o, "channel", json_object_new_string(res.channel));
		json_object_object_add(o, "ts", json_object_new_string(res.ts));
		HL_LOG(HL_LOG_INFO, "notify: owner DM sent", HL_LS("execution", rec->execution),
		       HL_LS("user", user), HL_LS("via", via));
	} else {
		json_object_object_add(o, "error", json_object_new_string(err.aws_code[0] ? err.aws_code
											: hl_status_name(rc)));
		HL_LOG(HL_LOG_WARN, "notify: owner DM failed", HL_LS("execution", rec->execution),
		       HL_LS("user", user), HL_LS("error", err.aws_code), HL_LS("detail", err.message));
	}
	*dm = o;
	return HL_OK;
}

/* ---- the activity --------------------------------------------------------------- */

static int notify_run(hl_activity_ctx *ctx, json_object *input, json_object **output)
{
	hl_record rec;
	notify_settings s;
	hl_err err;
	hl_slack *slack = NULL;
	hl_buf console, text;
	json_object *dm = NULL;
	int rc;

	hl_err_clear(&err);
	hl_buf_init(&console, 2048);
	hl_buf_init(&text, TEXT_MAX);
	HL_GUARD_GOTO(rc, hl_record_parse(ctx, input, &rec), out);
	if (read_settings(&s, &err) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Notify.Config", "%s", err.message);
		goto out;
	}
	if (!s.token || !s.channel) {
		HL_LOG(HL_LOG_INFO, "notify: Slack not configured; skipped", HL_LS("execution", rec.execution));
		json_object *o = json_object_new_object();
		json_object_object_add(o, "channel", NULL);
		json_object_object_add(o, "dm", NULL);
		json_object_object_add(o, "skipped", json_object_new_string("not configured"));
		*output = o;
		rc = HL_OK;
		goto out;
	}
	hl_slack_config scfg = { .base_url = s.url, .token = s.token, .sleep = ctx_sleep, .sleep_arg = ctx };
	slack = hl_slack_new(&scfg, &err);
	if (!slack) {
		rc = hl_activity_fail(ctx, "Healer.Notify.Config", "%s", err.message);
		goto out;
	}
	/* The Jira site, only to link the ticket (ticket.c validates it too). */
	const char *jira_url = NULL;
	if (hl_setting_str_check("HEALER_JIRA_URL", NULL, 512, hl_valid_api_base_url, "", &jira_url, &err) < 0)
		jira_url = NULL;
	if (hl_console_execution_url(rec.execution, &console) < 0 ||
	    channel_text(&rec, console.data, jira_url, &text) < 0) {
		rc = hl_activity_fail(ctx, "Healer.Notify.Internal", "the alert text does not fit");
		goto out;
	}
	hl_slack_result res;
	rc = hl_slack_post_message(slack, s.channel, text.data, &res, &err);
	if (rc < 0) {
		HL_LOG(HL_LOG_WARN, "notify: channel alert failed", HL_LS("execution", rec.execution),
		       HL_LS("error", err.aws_code), HL_LS("detail", err.message));
		rc = fail_from(ctx, &err, rc, "chat.postMessage");
		goto out;
	}
	HL_LOG(HL_LOG_INFO, "notify: channel alert posted", HL_LS("execution", rec.execution),
	       HL_LS("channel", res.channel), HL_LS("ts", res.ts), HL_LS("mode", rec.mode));
	if (hl_activity_cancelled(ctx)) {
		rc = HL_ERR_CANCELLED;
		goto out;
	}
	HL_GUARD_GOTO(rc, send_dm(slack, &rec, &dm), out);

	json_object *o = json_object_new_object();
	json_object *ch = json_object_new_object();
	json_object_object_add(ch, "ok", json_object_new_boolean(1));
	json_object_object_add(ch, "channel", json_object_new_string(res.channel[0] ? res.channel : s.channel));
	json_object_object_add(ch, "ts", json_object_new_string(res.ts));
	json_object_object_add(o, "channel", ch);
	json_object_object_add(o, "dm", dm);
	dm = NULL;
	json_object_object_add(o, "skipped", NULL);
	json_object_object_add(o, "dryRun", json_object_new_boolean(rec.dry_run));
	*output = o;
	rc = HL_OK;
out:
	json_object_put(dm);
	hl_slack_free(slack);
	hl_buf_free(&console);
	hl_buf_free(&text);
	hl_record_free(&rec);
	return rc;
}

const hl_activity hl_activity_notify = {
	.name = "notify",
	.summary = "posts the execution's Slack alert and the owner's direct message",
	.run = notify_run,
	.init = notify_init,
};
