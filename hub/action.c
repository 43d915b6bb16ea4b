/*
 * action.c: one path for a nurse's ack or resolve (see action.h).
 */
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "alert.h"
#include "escape.h"
#include "ident.h"

static const char *
action_channel_name(enum action_channel ch)
{
	switch (ch) {
	case ACTION_CLI: return "cli";
	case ACTION_MQTT: return "mqtt";
	case ACTION_WEB: return "web";
	}
	return "?";
}

const char *
action_name(enum action_kind kind)
{
	return kind == ACTION_ACK ? "ack" : "resolve";
}

int
action_apply(struct store *st, struct engine *e, const struct action *a,
             char *why, size_t whylen)
{
	const char *name = action_name(a->kind);
	const char *note = a->note ? a->note : "";
	struct alert cur;
	struct store_audit row;
	char id[24], detail[DHO_ID_MAX + ACTION_NOTE_MAX + 32];
	int rc;

	why[0] = '\0';
	if (!ident_valid(a->by)) {
		snprintf(why, whylen, "by '%.64s' is not an identifier "
		         "(1-64 characters of A-Z a-z 0-9 . _ - :)", a->by ? a->by : "");
		return DHO_EINVAL;
	}
	if (strlen(note) > ACTION_NOTE_MAX) {
		snprintf(why, whylen, "note is longer than %d bytes", ACTION_NOTE_MAX);
		return DHO_EINVAL;
	}
	if (!escape_clean(note, strlen(note))) {
		snprintf(why, whylen, "note has control characters or is not valid UTF-8");
		return DHO_EINVAL;
	}
	alert_format_id(a->alert_id, id, sizeof(id));
	rc = store_alert_get(st, a->alert_id, &cur);
	if (rc == DHO_OK && a->team != NULL && strcmp(cur.team, a->team) != 0)
		rc = DHO_ENOTFOUND;
	if (rc == DHO_ENOTFOUND) {
		snprintf(why, whylen, "%s for unknown alert %s", name, id);
		return rc;
	}
	if (rc != DHO_OK)
		goto store_failed;
	if (a->version >= 0 && cur.version != a->version) {
		snprintf(why, whylen, "alert %s changed meanwhile: version %lld, not %lld", id,
		         (long long)cur.version, (long long)a->version);
		return DHO_ECONFLICT;
	}
	rc = a->kind == ACTION_ACK ? engine_ack(e, a->alert_id, a->by, a->note, a->now)
	                           : engine_resolve(e, a->alert_id, a->by, a->note, a->now);
	if (rc == DHO_EINVAL) {
		/* by and note are valid: the engine refused the alert's state. */
		snprintf(why, whylen, "%s does not apply: alert %s is already %s", name, id,
		         a->kind == ACTION_ACK ? "acked or resolved" : "resolved");
		return DHO_ESTATE;
	}
	if (rc != DHO_OK)
		goto store_failed;
	snprintf(detail, sizeof(detail), "via=%s by=%s note=%s", action_channel_name(a->channel),
	         a->by, note);
	row = (struct store_audit){ a->now, a->actor,
	                            a->kind == ACTION_ACK ? "alert.ack" : "alert.resolve", id, detail };
	if ((rc = store_audit_add(st, &row)) != DHO_OK)
		goto store_failed;
	return DHO_OK;
store_failed:
	snprintf(why, whylen, "%s of alert %s: %s (%s)", name, id, dho_strerror(rc),
	         store_errmsg(st));
	return rc;
}
