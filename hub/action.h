/*
 * action: a nurse's ack or resolve of an alert, whichever way it arrives.
 *
 * The CLI (ack, resolve), a dashboard's message on MQTT and the web
 * workspace all call action_apply(): it checks who acts and the note,
 * scopes the alert to the caller's team, compares the caller's version of
 * the alert, applies the action through the engine and writes the one audit
 * row. It runs inside the caller's transaction: on any error the caller
 * rolls back, and nothing of the action remains.
 */
#ifndef ACTION_H
#define ACTION_H

#include <stdint.h>

#include "dho.h"
#include "engine.h"
#include "store.h"

/* The longest note a nurse may attach, in bytes. */
#define ACTION_NOTE_MAX 255

enum action_kind { ACTION_ACK, ACTION_RESOLVE };

/* Where the action came from; named in the audit row. */
enum action_channel { ACTION_CLI, ACTION_MQTT, ACTION_WEB };

struct action {
	enum action_kind kind;
	int64_t alert_id;
	const char *by;          /* the nurse who acts: an identifier */
	const char *note;        /* may be NULL: no note */
	const char *team;        /* NULL: any team; else only an alert of this team now */
	int64_t version;         /* -1: any; else the version the caller saw */
	const char *actor;       /* who the audit row names (the OS user, the web user) */
	enum action_channel channel;
	dho_time_t now;
};

/* "ack" or "resolve". */
const char *action_name(enum action_kind kind);

/*
 * Applies action a to its alert inside the caller's transaction: writes
 * the alert, its events and the audit row "alert.ack" or "alert.resolve"
 * (object "A<id>", detail "via=CHANNEL by=BY note=NOTE").
 *
 * Returns
 *   DHO_OK         applied;
 *   DHO_EINVAL     a->by is not an identifier, or the note is longer than
 *                  ACTION_NOTE_MAX bytes, has control characters or is not
 *                  valid UTF-8; nothing was read or written;
 *   DHO_ENOTFOUND  no such alert, or (with a->team) an alert of another
 *                  team: both answer alike, so a team learns nothing of
 *                  another's alerts;
 *   DHO_ECONFLICT  a->version is not -1 and differs from the alert's;
 *   DHO_ESTATE     the action does not apply (acking an alert that is
 *                  acked or resolved, resolving a resolved one);
 *   DHO_EIO, DHO_EBUSY, DHO_ENOMEM  the store failed (store_errmsg()).
 * why (at least DHO_ERRLEN bytes) gets one sentence for every code but
 * DHO_OK, naming the field or the alert.
 */
int action_apply(struct store *st, struct engine *e, const struct action *a,
                 char *why, size_t whylen);

#endif
