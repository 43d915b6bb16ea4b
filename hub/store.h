/*
 * store: everything the hub keeps, behind one interface. Every SQL statement
 * of the project is in store.c; SQLite is the embedded backend, and another
 * (PostgreSQL) would implement this same header.
 *
 * A struct store is one connection. The daemon opens one for writing and
 * guards it with its own lock; each CLI invocation opens its own. Writers
 * wrap their changes in store_begin()/store_commit() (BEGIN IMMEDIATE), so
 * a reading, its alert and the alert's outbox event commit together.
 *
 * Return codes. Every int function below returns, unless its comment says
 * more:
 *   DHO_OK        done;
 *   DHO_EBUSY     another connection held the database past the busy
 *                 timeout: the caller rolls back and may try again;
 *   DHO_ENOMEM    SQLite ran out of memory;
 *   DHO_EIO       any other SQLite failure; store_errmsg() says what.
 * A function that reads one row (a get, a lookup, find_open, next_due,
 * outbox_next, last_reading) returns DHO_ENOTFOUND when no row matches,
 * and *out is then undefined. A write that breaks a key (adding what
 * exists) returns DHO_EEXIST. A listing calls its callback once per row and
 * returns DHO_OK after the last row or when the callback stopped it by
 * returning non-zero (store_patient_due() returns that value instead).
 *
 * Ownership. The store copies what it is given before it returns; the
 * caller's strings and structs stay the caller's. Results go into the
 * caller's structs (fixed arrays, no pointers), except: a row handed to a
 * callback (its strings, a quarantine payload) is valid only during the
 * call; struct store_outbox's body belongs to the store until the next call
 * on the same connection. None of it may be used after the lock that
 * guards the connection is released. store_close(NULL) does nothing.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "dho.h"
#include "metric.h"
#include "rules.h"

struct store;

struct store_patient {
	char id[DHO_ID_MAX + 1];
	char tenant[DHO_ID_MAX + 1];
	char program[DHO_ID_MAX + 1];
	dho_time_t discharged;
	int hospital_days;               /* -1: the tenant's setting */
	char team[DHO_TEAM_MAX + 1];     /* "" unless pinned with --team */
	dho_time_t enrolled_at;
	dho_time_t ended_at;             /* 0 while the follow-up runs */
};

struct store_assignment {
	char device[DHO_ID_MAX + 1];
	char patient[DHO_ID_MAX + 1];
	dho_time_t from;
	dho_time_t to;                   /* 0 while assigned */
};

struct store_reading {
	char patient[DHO_ID_MAX + 1];
	char device[DHO_ID_MAX + 1];
	struct reading r;
	dho_time_t received_at;
	bool has_seq;
	uint64_t seq;
};

/* The most bytes of a quarantined payload that are kept; the rest is
 * known by its length and SHA-256. */
#define STORE_QUARANTINE_KEEP 65536

struct store_quarantine {
	dho_time_t at;
	const char *topic;
	const char *reason;
	const void *payload;
	size_t len;                      /* of payload (as kept, when listed) */
	/* Adding: at most this many entries are kept, the oldest pruned
	 * first; 0 keeps all. */
	int64_t keep_rows;
	/* Listing: the payload's length when it arrived, and its SHA-256
	 * (has_sha256 false for entries older than the hash). */
	int64_t length;
	uint8_t sha256[32];
	bool has_sha256;
};

struct store_audit {
	dho_time_t at;
	const char *actor;
	const char *action;
	const char *object;
	const char *detail;
};

struct store_outbox {
	int64_t id;
	int64_t alert_id;
	char topic_team[DHO_TEAM_MAX + 1];
	char *body;                      /* owned by the store until the next call */
	bool mqtt_done;
	bool webhook_done;
	int attempts;
	dho_time_t next_at;
};

struct store_stats {
	int64_t readings;
	int64_t quarantined;
	int64_t quarantine_pruned;       /* entries removed by the row cap */
	int64_t webhook_failed;          /* events a webhook refused for good */
	int64_t open, acked, resolved;
	int64_t outbox_pending;
	dho_time_t last_message_at;      /* 0 when none */
};

struct store_alert_filter {
	const char *team;                /* NULL: any */
	const char *patient;             /* NULL: any */
	int state;                       /* -1: open and acked; -2: all; else one */
};

/* Each listing calls back once per row; a non-zero return stops it. */
typedef int (*store_patient_cb)(void *ctx, const struct store_patient *p);
typedef int (*store_assignment_cb)(void *ctx, const struct store_assignment *a);
typedef int (*store_rule_cb)(void *ctx, const char *key, const char *spec);
typedef int (*store_reading_cb)(void *ctx, const struct store_reading *r);
typedef int (*store_quarantine_cb)(void *ctx, const struct store_quarantine *q);
typedef int (*store_alert_cb)(void *ctx, const struct alert *a);
typedef int (*store_audit_cb)(void *ctx, const struct store_audit *a);

/* store_open() flags. A caller that passes a bool (the first milestone's
 * full_sync) gets synchronous=FULL for true and never creates a file. */
enum {
	STORE_FULL_SYNC = 1,   /* synchronous=FULL (power-loss durable), else NORMAL */
	STORE_CREATE = 2,      /* a missing or empty file becomes a new database */
	/* Commits through this connection never checkpoint the WAL: another
	 * connection of the process does (store_checkpoint_thread()). */
	STORE_NO_CHECKPOINT = 4
};

/*
 * Opens (and migrates) the dhohub database at path; with STORE_CREATE a
 * missing or empty file becomes a new one. Nothing is written to a file
 * that is not dhohub's. Returns, with a message naming path in err:
 *   DHO_ENOTFOUND  no file at path, or an empty one, without STORE_CREATE;
 *   DHO_EINVAL     an SQLite file without dhohub's schema (left untouched);
 *   DHO_EIO        a file that cannot be opened, read or migrated.
 */
int store_open(const char *path, unsigned flags, struct store **out,
               char *err, size_t errlen);
void store_close(struct store *st);

/*
 * From now on this connection's commits no longer checkpoint the WAL
 * themselves: a thread of the store's own, on a connection of its own,
 * copies the WAL into the database whenever a commit leaves it at 1,000
 * pages or more, while the next transactions go on. store_close() stops
 * it. For the daemon's write connection, so that no message waits for a
 * checkpoint. Returns DHO_OK (also when already started), DHO_EIO when
 * the second connection cannot be opened, DHO_ENOMEM when the thread
 * cannot be started.
 */
int store_checkpoint_thread(struct store *st);

/* The last SQLite error text of this connection. */
const char *store_errmsg(struct store *st);

/*
 * Keeps what the ingest path reads for every message (a device's open
 * assignment, a patient's row, that a patient has no rule overrides or no
 * unresolved alert of a rule, the newest reading of each metric) in memory
 * for at most `patients` patients and as many devices (0 turns the cache
 * off; a full cache starts again empty). Only for the connection that
 * does all its reads inside store_begin()/store_commit(): a commit by
 * another connection is noticed at store_begin() (PRAGMA data_version) and
 * drops the whole cache, as does a rollback. DHO_ENOMEM.
 */
int store_cache(struct store *st, size_t patients);

/* BEGIN IMMEDIATE: takes the write lock now (DHO_EBUSY past the busy
 * timeout), so that a transaction never fails half-way for the lock. */
int store_begin(struct store *st);
int store_commit(struct store *st);
/* Rolls back the open transaction, if any; never fails. */
void store_rollback(struct store *st);

/* Changes whenever another connection commits (PRAGMA data_version). */
int store_data_version(struct store *st, int64_t *out);

/* DHO_EEXIST when a patient of that id is enrolled. */
int store_patient_add(struct store *st, const struct store_patient *p);
/* DHO_ENOTFOUND for an unknown id. */
int store_patient_get(struct store *st, const char *id, struct store_patient *out);
/* Ends patient id's follow-up at at; DHO_ENOTFOUND for an unknown id. */
int store_patient_end(struct store *st, const char *id, dho_time_t at);
int store_patient_list(struct store *st, store_patient_cb cb, void *ctx);

/*
 * Calls cb for at most limit (<= 64) patients in follow-up whose next
 * timer check (missing measurements) is due at now. A non-zero return of
 * cb stops the listing and is returned.
 */
int store_patient_due(struct store *st, dho_time_t now, int limit, store_patient_cb cb,
                      void *ctx);
/* Sets when patient id's timers are next looked at; id NULL brings every
 * patient's check forward to at (after a reload). */
int store_patient_check_at(struct store *st, const char *id, dho_time_t at);
/* The time of patient's latest reading of metric m; DHO_ENOTFOUND if none.
 * One seek on the (patient, metric, measured_at) index. */
int store_last_reading(struct store *st, const char *patient, enum metric m, dho_time_t *at);

/* Assigns device to patient from time from; the device's open assignment,
 * if any, ends at from. */
int store_device_assign(struct store *st, const char *device, const char *patient,
                        dho_time_t from);
/* Ends device's open assignment at at; DHO_ENOTFOUND when it has none. */
int store_device_unassign(struct store *st, const char *device, dho_time_t at);
/* The assignment of device covering time at; DHO_ENOTFOUND when none. */
int store_device_lookup(struct store *st, const char *device, dho_time_t at,
                        struct store_assignment *out);
/* patient NULL lists every assignment. */
int store_device_list(struct store *st, const char *patient, store_assignment_cb cb,
                      void *ctx);
/* Ends every open assignment of patient at time at. */
int store_device_release_all(struct store *st, const char *patient, dho_time_t at);

/* Sets (or replaces) patient's rule key; spec is already normalized. A
 * change of an override (set or removed) also brings the patient's timer
 * check forward (store_patient_due()), so that a new missing rule is
 * looked at at once. */
int store_rule_set(struct store *st, const char *patient, const char *key,
                   const char *spec);
/* DHO_ENOTFOUND when patient has no rule key of its own. */
int store_rule_unset(struct store *st, const char *patient, const char *key);
int store_rule_list(struct store *st, const char *patient, store_rule_cb cb, void *ctx);

/* Records (device, seq) as seen. DHO_EEXIST when it was seen before: the
 * message is a redelivery and must not be stored again. */
int store_claim_seq(struct store *st, const char *device, uint64_t seq);

int store_reading_add(struct store *st, const struct store_reading *r);
/* Accepted messages that store nothing (2A36): counts a message received
 * at for stats' last_message_at, as a reading or quarantine entry does. */
int store_message_seen(struct store *st, dho_time_t at);
/* metric < 0: every metric; since 0: from the start. Oldest first. */
int store_reading_list(struct store *st, const char *patient, int metric,
                       dho_time_t since, store_reading_cb cb, void *ctx);
/*
 * Patient's readings of metric m measured in [from, to), not flagged
 * invalid, as value and measurement time, oldest first, at most cap of them
 * (the newest cap when there are more). Reads through the (patient, metric,
 * measured_at) index, so the cost is that of the window, not the history.
 */
int store_reading_window(struct store *st, const char *patient, enum metric m,
                         dho_time_t from, dho_time_t to, struct rules_sample *out,
                         size_t cap, size_t *n);

/* ---- quarantine ---- */
/* Keeps at most STORE_QUARANTINE_KEEP bytes of q's payload with its length
 * and SHA-256, then prunes the oldest entries beyond q->keep_rows (counted
 * as quarantine_pruned in store_stats()). */
int store_quarantine_add(struct store *st, const struct store_quarantine *q);
/* Entries quarantined at since or later, oldest first, at most limit of
 * them (0: all). */
int store_quarantine_list(struct store *st, dho_time_t since, int64_t limit,
                          store_quarantine_cb cb, void *ctx);

/* The unresolved alert of (patient, rule); DHO_ENOTFOUND when none. */
int store_alert_find_open(struct store *st, const char *patient, const char *rule,
                          struct alert *out);
/* DHO_ENOTFOUND for an unknown id. */
int store_alert_get(struct store *st, int64_t id, struct alert *out);
/* Inserts a (id 0, which is then set) or updates it. */
int store_alert_save(struct store *st, struct alert *a);
/* The open alert whose ack deadline passed longest ago; DHO_ENOTFOUND. */
int store_alert_next_due(struct store *st, dho_time_t now, struct alert *out);
int store_alert_list(struct store *st, const struct store_alert_filter *f,
                     store_alert_cb cb, void *ctx);

/* Queues an event for delivery to team's topic and, when the team has a
 * webhook, to it. The URL is not stored: the delivery looks it up. */
int store_outbox_add(struct store *st, int64_t alert_id, const char *team,
                     bool webhook, const char *body, dho_time_t at);
/* Each event is delivered on two channels, each in the order of the outbox. */
enum store_channel { STORE_CH_MQTT, STORE_CH_WEBHOOK };

/* The oldest event after after_id not yet delivered on channel ch;
 * DHO_ENOTFOUND when there is none. */
int store_outbox_next(struct store *st, enum store_channel ch, int64_t after_id,
                      struct store_outbox *out);
/* Marks event id delivered on ch. */
int store_outbox_done(struct store *st, int64_t id, enum store_channel ch);
/* ---- webhook delivery by team ---- */
typedef int (*store_team_cb)(void *ctx, const char *team);
/* Calls cb for each team with events not yet delivered to its webhook. */
int store_outbox_hook_teams(struct store *st, store_team_cb cb, void *ctx);
/* The oldest event of team not yet delivered to its webhook; DHO_ENOTFOUND. */
int store_outbox_next_hook(struct store *st, const char *team, struct store_outbox *out);
/* Gives event id up on the webhook channel (its receiver refused it for
 * good), counted as webhook_failed in store_stats(); its own transaction. */
int store_outbox_hook_failed(struct store *st, int64_t id);

/* Counts a failed attempt on ch and sets when to try again. */
int store_outbox_retry(struct store *st, int64_t id, dho_time_t next_at);

int store_audit_add(struct store *st, const struct store_audit *a);
int store_audit_list(struct store *st, dho_time_t since, store_audit_cb cb, void *ctx);

/*
 * The counts of stats. Readings are counted from the table (those up to a
 * mark kept in the counters, plus those after it), so that storing a
 * reading writes no counter. DHO_EIO when the database fails.
 */
int store_stats(struct store *st, struct store_stats *out);

/*
 * Moves the readings mark to the newest reading, adding those it passes to
 * the counters, inside the caller's transaction; keeps store_stats() to a
 * short range. The daemon calls it off the ingest path, now and then.
 * DHO_EIO when the database fails.
 */
int store_counters_fold(struct store *st);

/* ---- deploy: backup and retention ---- */

/*
 * Writes a consistent copy of the database to path (mode 0600) with
 * SQLite's online backup API while other connections go on writing: the
 * copy holds every transaction committed before it began. The copy is a
 * single file (rollback journal), renamed into place when complete.
 * DHO_EIO with the reason in err (e.g. the directory does not exist).
 */
int store_backup(struct store *st, const char *path, char *err, size_t errlen);

/* What one retention purge deleted. */
struct store_purge {
	dho_time_t cutoff;               /* now - days */
	int64_t patients;                /* ended follow-ups that had data */
	int64_t readings, alerts, outbox, quarantine;
};

/*
 * Retention (contract 9): deletes the readings, alerts, outbox rows and
 * quarantine entries of patients whose follow-up ended days or more before
 * now, and every quarantine entry that old, and audits the counts as
 * actor's "purge" of "retention"; all in one transaction. The audit log
 * and the patients' rows are kept.
 */
int store_purge(struct store *st, dho_time_t now, int days, const char *actor,
                struct store_purge *out);

/* ---- the nurses' workspace (store_web.c) ---- */

#define STORE_TEAMS_MAX 8            /* teams one user may belong to */
#define STORE_HASH_MAX 128           /* crypto_pwhash_STRBYTES */

struct store_user {
	char name[DHO_ID_MAX + 1];
	char role[16];                   /* "nurse" | "auditor" */
	char teams[STORE_TEAMS_MAX][DHO_TEAM_MAX + 1];
	size_t nteams;
	char hash[STORE_HASH_MAX];       /* argon2id, crypto_pwhash_str() form */
	char totp_secret[64];            /* base32; "" without TOTP */
	int64_t totp_last;               /* the last TOTP time step accepted */
	bool disabled;
	dho_time_t created_at;
};

struct store_session {
	char user[DHO_ID_MAX + 1];
	char csrf[64];
	dho_time_t created_at;
	dho_time_t last_at;
};

typedef int (*store_user_cb)(void *ctx, const struct store_user *u);
/* An alert event as delivered: its outbox row id, team and JSON body. */
typedef int (*store_event_cb)(void *ctx, int64_t id, const char *team, const char *body);

/* DHO_EEXIST when the name is taken. */
int store_user_add(struct store *st, const struct store_user *u);
int store_user_get(struct store *st, const char *name, struct store_user *out);
int store_user_list(struct store *st, store_user_cb cb, void *ctx);
/* Each DHO_ENOTFOUND for an unknown user. */
int store_user_disable(struct store *st, const char *name);
int store_user_set_hash(struct store *st, const char *name, const char *hash);
int store_user_set_totp(struct store *st, const char *name, const char *secret);
/* Records TOTP time step step as used by name; DHO_EEXIST when it, or a
 * later one, was used already (a replayed code). */
int store_user_totp_use(struct store *st, const char *name, int64_t step);

/* Sessions are found by the hash of their token, never the token. */
int store_session_add(struct store *st, const char *hash, const struct store_session *s);
int store_session_get(struct store *st, const char *hash, struct store_session *out);
int store_session_touch(struct store *st, const char *hash, dho_time_t at);
int store_session_delete(struct store *st, const char *hash);
/* Ends every session of user (disabled, new password). */
int store_session_delete_user(struct store *st, const char *user);
/* Deletes sessions last used before idle_before or started before max_before. */
int store_session_purge(struct store *st, dho_time_t idle_before, dho_time_t max_before);

/* Failed log-ins, for throttling. */
int store_login_fail_add(struct store *st, const char *user, const char *addr, dho_time_t at);
/* Failures since since for user and for addr, and the oldest of each
 * (0 when none). */
int store_login_fail_count(struct store *st, const char *user, const char *addr,
                           dho_time_t since, int *n_user, dho_time_t *oldest_user,
                           int *n_addr, dho_time_t *oldest_addr);
/* Forgets user's failures (after a successful log-in) and those before
 * before of everyone. */
int store_login_fail_clear(struct store *st, const char *user, dho_time_t before);

/* The triage order: red before yellow, open before acked, then oldest
 * opened_at, then id. A position in it, for paging. */
struct store_triage_pos {
	int severity;
	int state;
	dho_time_t opened_at;
	int64_t id;
};

struct store_triage_filter {
	const char *const *teams;        /* the alerts of these teams */
	size_t nteams;
	const char *patient;             /* NULL: any */
	int state;                       /* -1: open and acked; -2: all; else one */
	const struct store_triage_pos *after;  /* NULL: from the start */
	int limit;
};

/* Calls cb with each alert of f in triage order. */
int store_alert_triage(struct store *st, const struct store_triage_filter *f,
                       store_alert_cb cb, void *ctx);
/* Whether patient has an unresolved alert of one of teams. */
int store_alert_held(struct store *st, const char *patient, const char *const *teams,
                     size_t nteams, bool *out);
/* Unresolved alerts of patient by severity. */
int store_alert_counts(struct store *st, const char *patient, int *yellow, int *red);
/* Patients that may be in the scope of teams: in follow-up in one of
 * tenants, pinned to one of teams, or holding an unresolved alert of one of
 * teams. The caller decides with care_team(). */
int store_patient_candidates(struct store *st, const char *const *tenants, size_t ntenants,
                             const char *const *teams, size_t nteams,
                             store_patient_cb cb, void *ctx);
/* The events of alert_id as delivered, oldest first (an escalation, sent to
 * two teams, comes once per team). */
int store_alert_events(struct store *st, int64_t alert_id, store_event_cb cb, void *ctx);
/* The newest outbox id (0 when empty): a change sequence of alert events. */
int store_outbox_last(struct store *st, int64_t *out);
/* Events after after_id, oldest first, at most limit. */
int store_outbox_since(struct store *st, int64_t after_id, int limit, store_event_cb cb,
                       void *ctx);

#endif
