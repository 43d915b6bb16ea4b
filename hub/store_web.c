/*
 * store_web.c: the store's part for the nurses' workspace (`dhohub web`,
 * docs/api.md): its users, their sessions and failed log-ins, and
 * the views of alerts and patients that a nurse's scope needs.
 *
 * A list of teams or tenants is bound as one JSON array and read with
 * json_each(), so one prepared statement serves any number of them.
 * Alerts and patients are read back through store_alert_get() and
 * store_patient_get(), so that their columns stay defined in store.c only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "dynbuf.h"
#include "store.h"
#include "store_int.h"

enum web_sql {
	W_USER_ADD, W_USER_GET, W_USER_LIST, W_USER_DISABLE, W_USER_HASH, W_USER_TOTP,
	W_USER_TOTP_USE,
	W_SESS_ADD, W_SESS_GET, W_SESS_TOUCH, W_SESS_DEL, W_SESS_DEL_USER, W_SESS_PURGE,
	W_FAIL_ADD, W_FAIL_USER, W_FAIL_ADDR, W_FAIL_CLEAR,
	W_TRIAGE, W_TRIAGE_ANY, W_HELD, W_COUNTS, W_CANDIDATES, W_EVENTS, W_OUTBOX_LAST,
	W_OUTBOX_SINCE,
	W_COUNT_
};
_Static_assert(W_COUNT_ <= 32, "store_web.c has slots 0-31 (store_int.h)");

#define USER_COLS "name, role, teams, hash, totp_secret, totp_last, disabled, created_at"

/* The triage order of docs/api.md (GET /api/v1/alerts), and the same as a row
 * value for the cursor: severity descending, then state, opened_at and id
 * ascending. */
#define TRIAGE_WHERE "team IN (SELECT value FROM json_each(?1))" \
	" AND (?2 IS NULL OR patient = ?2)" \
	" AND (?5 IS NULL OR (-severity, state, opened_at, id) > (-?5, ?6, ?7, ?8))"
#define TRIAGE_ORDER " ORDER BY severity DESC, state, opened_at, id LIMIT ?4"

static const char *const web_sql_text[W_COUNT_] = {
	[W_USER_ADD] = "INSERT INTO users (" USER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[W_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
	[W_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY name",
	[W_USER_DISABLE] = "UPDATE users SET disabled = 1 WHERE name = ?1",
	[W_USER_HASH] = "UPDATE users SET hash = ?2 WHERE name = ?1",
	[W_USER_TOTP] = "UPDATE users SET totp_secret = ?2, totp_last = 0 WHERE name = ?1",
	[W_USER_TOTP_USE] = "UPDATE users SET totp_last = ?2 WHERE name = ?1 AND totp_last < ?2",
	[W_SESS_ADD] = "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4, ?4)",
	[W_SESS_GET] = "SELECT user, csrf, created_at, last_at FROM sessions WHERE hash = ?1",
	[W_SESS_TOUCH] = "UPDATE sessions SET last_at = ?2 WHERE hash = ?1",
	[W_SESS_DEL] = "DELETE FROM sessions WHERE hash = ?1",
	[W_SESS_DEL_USER] = "DELETE FROM sessions WHERE user = ?1",
	[W_SESS_PURGE] = "DELETE FROM sessions WHERE last_at < ?1 OR created_at < ?2",
	[W_FAIL_ADD] = "INSERT INTO login_failures (at, user, addr) VALUES (?1, ?2, ?3)",
	[W_FAIL_USER] = "SELECT count(*), min(at) FROM login_failures WHERE user = ?1 AND at >= ?2",
	[W_FAIL_ADDR] = "SELECT count(*), min(at) FROM login_failures WHERE addr = ?1 AND at >= ?2",
	[W_FAIL_CLEAR] = "DELETE FROM login_failures WHERE user = ?1 OR at < ?2",
	/* The literal state != 2 lets SQLite use the partial index
	 * alerts_triage: the unresolved alerts of each team, in triage order. */
	[W_TRIAGE] = "SELECT id FROM alerts WHERE state != 2 AND " TRIAGE_WHERE TRIAGE_ORDER,
	[W_TRIAGE_ANY] = "SELECT id FROM alerts WHERE (?3 = -2 OR state = ?3) AND " TRIAGE_WHERE
		TRIAGE_ORDER,
	[W_HELD] = "SELECT 1 FROM alerts WHERE patient = ?1 AND state != 2"
		" AND team IN (SELECT value FROM json_each(?2)) LIMIT 1",
	[W_COUNTS] = "SELECT severity, count(*) FROM alerts WHERE patient = ?1 AND state != 2"
		" GROUP BY severity",
	[W_CANDIDATES] = "SELECT id FROM patients WHERE (ended_at IS NULL"
		"   AND tenant IN (SELECT value FROM json_each(?1)))"
		" OR team IN (SELECT value FROM json_each(?2))"
		" UNION SELECT patient FROM alerts WHERE state != 2"
		"   AND team IN (SELECT value FROM json_each(?2))"
		" ORDER BY 1",
	[W_EVENTS] = "SELECT id, team, body FROM outbox WHERE alert_id = ?1 ORDER BY id",
	[W_OUTBOX_LAST] = "SELECT coalesce(max(id), 0) FROM outbox",
	[W_OUTBOX_SINCE] = "SELECT id, team, body FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
};

static sqlite3_stmt *
web_stmt(struct store *st, enum web_sql id)
{
	return store__stmt(st, (int)id, web_sql_text[id]);
}

/* A change of exactly one row, or DHO_ENOTFOUND. */
static int
web_one_change(struct store *st, sqlite3_stmt *s)
{
	int rc = store__step_done(s);

	if (rc == DHO_OK && sqlite3_changes(store__db(st)) == 0)
		rc = DHO_ENOTFOUND;
	return rc;
}

/* A JSON array text of list (malloc'd), bound for json_each(). */
static char *
web_json_list(const char *const *list, size_t n)
{
	json_t *a = json_array();
	char *text;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* ---- users ---- */

/* Teams are kept as one comma-separated column: a user has a handful, and
 * they are read with the user, never searched. */
static void
web_teams_join(const struct store_user *u, char *buf, size_t len)
{
	struct dynbuf b;

	dynbuf_init_fixed(&b, buf, len);
	for (size_t i = 0; i < u->nteams; i++)
		dynbuf_addf(&b, "%s%s", i ? "," : "", u->teams[i]);
}

static void
web_teams_split(const char *s, struct store_user *u)
{
	u->nteams = 0;
	while (s != NULL && *s && u->nteams < STORE_TEAMS_MAX) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n > 0 && n <= DHO_TEAM_MAX) {
			memcpy(u->teams[u->nteams], s, n);
			u->teams[u->nteams][n] = '\0';
			u->nteams++;
		}
		s = e ? e + 1 : NULL;
	}
}

static void
web_row_user(sqlite3_stmt *s, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	store__col_text(s, 0, u->name, sizeof(u->name));
	store__col_text(s, 1, u->role, sizeof(u->role));
	web_teams_split((const char *)sqlite3_column_text(s, 2), u);
	store__col_text(s, 3, u->hash, sizeof(u->hash));
	store__col_text(s, 4, u->totp_secret, sizeof(u->totp_secret));
	u->totp_last = sqlite3_column_int64(s, 5);
	u->disabled = sqlite3_column_int(s, 6) != 0;
	u->created_at = sqlite3_column_int64(s, 7);
}

int
store_user_add(struct store *st, const struct store_user *u)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_ADD);
	char teams[STORE_TEAMS_MAX * (DHO_TEAM_MAX + 1)];

	if (s == NULL)
		return DHO_EIO;
	web_teams_join(u, teams, sizeof(teams));
	sqlite3_bind_text(s, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, u->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, teams, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, u->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, u->totp_secret, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, u->totp_last);
	sqlite3_bind_int(s, 7, u->disabled);
	sqlite3_bind_int64(s, 8, u->created_at);
	return store__step_done(s);
}

int
store_user_get(struct store *st, const char *name, struct store_user *out)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_GET);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		web_row_user(s, out);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store__rc(rc);
}

int
store_user_list(struct store *st, store_user_cb cb, void *ctx)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_LIST);
	struct store_user u;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		web_row_user(s, &u);
		if (cb(ctx, &u) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store__rc(rc);
}

int
store_user_disable(struct store *st, const char *name)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_DISABLE);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return web_one_change(st, s);
}

int
store_user_set_hash(struct store *st, const char *name, const char *hash)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_HASH);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
	return web_one_change(st, s);
}

int
store_user_set_totp(struct store *st, const char *name, const char *secret)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_TOTP);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, secret, -1, SQLITE_STATIC);
	return web_one_change(st, s);
}

int
store_user_totp_use(struct store *st, const char *name, int64_t step)
{
	sqlite3_stmt *s = web_stmt(st, W_USER_TOTP_USE);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, step);
	/* One UPDATE decides, so two log-ins racing with one code cannot both
	 * win. */
	rc = web_one_change(st, s);
	return rc == DHO_ENOTFOUND ? DHO_EEXIST : rc;
}

/* ---- sessions ---- */

int
store_session_add(struct store *st, const char *hash, const struct store_session *se)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_ADD);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, se->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, se->csrf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, se->created_at);
	return store__step_done(s);
}

int
store_session_get(struct store *st, const char *hash, struct store_session *out)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_GET);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		store__col_text(s, 0, out->user, sizeof(out->user));
		store__col_text(s, 1, out->csrf, sizeof(out->csrf));
		out->created_at = sqlite3_column_int64(s, 2);
		out->last_at = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store__rc(rc);
}

int
store_session_touch(struct store *st, const char *hash, dho_time_t at)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_TOUCH);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	return store__step_done(s);
}

int
store_session_delete(struct store *st, const char *hash)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_DEL);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	return store__step_done(s);
}

int
store_session_delete_user(struct store *st, const char *user)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_DEL_USER);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	return store__step_done(s);
}

int
store_session_purge(struct store *st, dho_time_t idle_before, dho_time_t max_before)
{
	sqlite3_stmt *s = web_stmt(st, W_SESS_PURGE);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, idle_before);
	sqlite3_bind_int64(s, 2, max_before);
	return store__step_done(s);
}

/* ---- failed log-ins ---- */

int
store_login_fail_add(struct store *st, const char *user, const char *addr, dho_time_t at)
{
	sqlite3_stmt *s = web_stmt(st, W_FAIL_ADD);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, addr, -1, SQLITE_STATIC);
	return store__step_done(s);
}

static int
web_fail_count(struct store *st, enum web_sql id, const char *key, dho_time_t since, int *n,
               dho_time_t *oldest)
{
	sqlite3_stmt *s = web_stmt(st, id);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int(s, 0);
		*oldest = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : store__rc(rc);
}

int
store_login_fail_count(struct store *st, const char *user, const char *addr, dho_time_t since,
                       int *n_user, dho_time_t *oldest_user, int *n_addr,
                       dho_time_t *oldest_addr)
{
	int rc = web_fail_count(st, W_FAIL_USER, user, since, n_user, oldest_user);

	if (rc == DHO_OK)
		rc = web_fail_count(st, W_FAIL_ADDR, addr, since, n_addr, oldest_addr);
	return rc;
}

int
store_login_fail_clear(struct store *st, const char *user, dho_time_t before)
{
	sqlite3_stmt *s = web_stmt(st, W_FAIL_CLEAR);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, before);
	return store__step_done(s);
}

/* ---- the views of a nurse's scope ---- */

/* Steps s, which selects ids, into ids (at most cap); *n is how many. The
 * rows are read to the end before any is looked at again, so no statement
 * is left half-stepped while the caller's callback runs. */
static int
web_ids(sqlite3_stmt *s, int64_t *ids, size_t cap, size_t *n)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store__rc(rc);
}

#define WEB_PAGE_MAX 1000

int
store_alert_triage(struct store *st, const struct store_triage_filter *f, store_alert_cb cb,
                   void *ctx)
{
	sqlite3_stmt *s = web_stmt(st, f->state == -1 ? W_TRIAGE : W_TRIAGE_ANY);
	char *teams = web_json_list(f->teams, f->nteams);
	int64_t *ids = NULL;
	size_t n = 0;
	struct alert a;
	int limit = f->limit > 0 && f->limit <= WEB_PAGE_MAX ? f->limit : WEB_PAGE_MAX;
	int rc = DHO_ENOMEM;

	if (s == NULL) {
		rc = DHO_EIO;
		goto out;
	}
	if (teams == NULL || (ids = malloc(sizeof(*ids) * (size_t)limit)) == NULL)
		goto out;
	sqlite3_bind_text(s, 1, teams, -1, SQLITE_STATIC);
	if (f->patient)
		sqlite3_bind_text(s, 2, f->patient, -1, SQLITE_STATIC);
	if (f->state != -1)
		sqlite3_bind_int(s, 3, f->state);
	sqlite3_bind_int(s, 4, limit);
	if (f->after) {
		sqlite3_bind_int(s, 5, f->after->severity);
		sqlite3_bind_int(s, 6, f->after->state);
		sqlite3_bind_int64(s, 7, f->after->opened_at);
		sqlite3_bind_int64(s, 8, f->after->id);
	}
	if ((rc = web_ids(s, ids, (size_t)limit, &n)) != DHO_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = store_alert_get(st, ids[i], &a);
		if (rc == DHO_ENOTFOUND)
			continue;
		if (rc != DHO_OK || cb(ctx, &a) != 0)
			break;
	}
	if (rc == DHO_ENOTFOUND)
		rc = DHO_OK;
out:
	free(ids);
	free(teams);
	return rc;
}

int
store_alert_held(struct store *st, const char *patient, const char *const *teams, size_t nteams,
                 bool *out)
{
	sqlite3_stmt *s = web_stmt(st, W_HELD);
	char *list = web_json_list(teams, nteams);
	int rc;

	*out = false;
	if (s == NULL || list == NULL) {
		free(list);
		return s == NULL ? DHO_EIO : DHO_ENOMEM;
	}
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW;
	sqlite3_reset(s);
	free(list);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store__rc(rc);
}

int
store_alert_counts(struct store *st, const char *patient, int *yellow, int *red)
{
	sqlite3_stmt *s = web_stmt(st, W_COUNTS);
	int rc;

	*yellow = *red = 0;
	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_int(s, 0) == ALERT_SEV_RED)
			*red += sqlite3_column_int(s, 1);
		else if (sqlite3_column_int(s, 0) == ALERT_SEV_YELLOW)
			*yellow += sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? DHO_OK : store__rc(rc);
}

int
store_patient_candidates(struct store *st, const char *const *tenants, size_t ntenants,
                         const char *const *teams, size_t nteams, store_patient_cb cb,
                         void *ctx)
{
	sqlite3_stmt *s = web_stmt(st, W_CANDIDATES);
	char *tl = web_json_list(tenants, ntenants), *ml = web_json_list(teams, nteams);
	char (*ids)[DHO_ID_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	struct store_patient p;
	int rc = DHO_ENOMEM;

	if (s == NULL) {
		rc = DHO_EIO;
		goto out;
	}
	if (tl == NULL || ml == NULL)
		goto out;
	sqlite3_bind_text(s, 1, tl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ml, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *grown = realloc(ids, ncap * sizeof(*ids));

			if (grown == NULL) {
				sqlite3_reset(s);
				rc = DHO_ENOMEM;
				goto out;
			}
			ids = grown;
			cap = ncap;
		}
		store__col_text(s, 0, ids[n++], sizeof(ids[0]));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		rc = store__rc(rc);
		goto out;
	}
	rc = DHO_OK;
	for (size_t i = 0; i < n; i++) {
		rc = store_patient_get(st, ids[i], &p);
		if (rc == DHO_ENOTFOUND) {
			rc = DHO_OK;
			continue;
		}
		if (rc != DHO_OK || cb(ctx, &p) != 0)
			break;
	}
out:
	free(ids);
	free(tl);
	free(ml);
	return rc;
}

static int
web_events(sqlite3_stmt *s, store_event_cb cb, void *ctx)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		       (const char *)sqlite3_column_text(s, 2)) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store__rc(rc);
}

int
store_alert_events(struct store *st, int64_t alert_id, store_event_cb cb, void *ctx)
{
	sqlite3_stmt *s = web_stmt(st, W_EVENTS);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, alert_id);
	return web_events(s, cb, ctx);
}

int
store_outbox_last(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = web_stmt(st, W_OUTBOX_LAST);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : store__rc(rc);
}

int
store_outbox_since(struct store *st, int64_t after_id, int limit, store_event_cb cb, void *ctx)
{
	sqlite3_stmt *s = web_stmt(st, W_OUTBOX_SINCE);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int(s, 2, limit);
	return web_events(s, cb, ctx);
}
