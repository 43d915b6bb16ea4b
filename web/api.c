/*
 * api.c: the JSON API under /api/v1 (docs/api.md). Each handler
 * runs after the gate of http.c: its session, role, CSRF token and the
 * scope of the object in its path have been checked, and that object is
 * loaded in r->alert or r->patient. Listings filter through scope.c.
 *
 * Every answer that carries patient data is audited as `read` by its user,
 * one row per alert or patient it shows; the answer is not sent when the
 * audit row cannot be written.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "auth.h"
#include "care.h"
#include "ident.h"
#include "log.h"
#include "metric.h"
#include "rules.h"
#include "timefmt.h"
#include "web_int.h"

#define API_LIMIT_DEFAULT 50
#define API_LIMIT_MAX 200
#define API_READINGS_MAX 100000
#define API_AUDIT_MAX 10000
#define API_THROTTLE_WINDOW (15 * 60)
#define API_THROTTLE_FAILS 5

/* ---- small pieces ---- */

static json_t *
api_time(dho_time_t t)
{
	char buf[TIMEFMT_LEN];

	if (t == 0)
		return json_null();
	timefmt_format(t, buf);
	return json_string(buf);
}

static void
api_db_error(struct web_req *r)
{
	log_warnx("web: %s %s: the store failed: %s", r->method, r->route->path,
	          r->st ? store_errmsg(r->st) : "no connection");
	web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the database is not answering; try again");
}

/*
 * Parses r's body as a JSON object whose keys are all in allowed
 * (NULL-terminated). An empty body is an empty object when empty_ok.
 * Answers 400 and returns NULL for anything else.
 */
static json_t *
api_body(struct web_req *r, const char *const *allowed, bool empty_ok)
{
	json_error_t jerr;
	json_t *doc;
	const char *key;
	json_t *v;
	char msg[160];

	if (r->len == 0 && empty_ok)
		return json_object();
	doc = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "malformed JSON at position %d: %.100s", jerr.position, jerr.text);
		web_error(r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		web_error(r, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(doc, key, v) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok = ok || strcmp(*a, key) == 0;
		if (!ok) {
			snprintf(msg, sizeof(msg), "unknown field '%.64s'", key);
			json_decref(doc);
			web_error(r, MHD_HTTP_BAD_REQUEST, msg);
			return NULL;
		}
	}
	return doc;
}

/* A string field of doc: NULL when absent; *bad when present but not a
 * string. */
static const char *
api_str(json_t *doc, const char *key, bool *bad)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

json_t *
api_me(struct web_req *r)
{
	json_t *o = json_object(), *teams = json_array();

	for (size_t i = 0; i < r->user.nteams; i++)
		json_array_append_new(teams, json_string(r->user.teams[i]));
	json_object_set_new(o, "user", json_string(r->user.name));
	json_object_set_new(o, "role", json_string(r->user.role));
	json_object_set_new(o, "teams", teams);
	json_object_set_new(o, "csrf", json_string(r->sess.csrf));
	json_object_set_new(o, "expires_at",
	                    api_time(r->sess.created_at + r->w->cfg->http_session_max));
	return o;
}

/* ---- session ---- */

static void
api_login_failed(struct web_req *r, const char *user, const char *why)
{
	char detail[200];

	/* The name is the client's: only a valid identifier goes into the
	 * audit log as it is. */
	const char *who = ident_valid(user) ? user : "-";

	snprintf(detail, sizeof(detail), "addr=%s reason=%s", r->addr, why);
	if (store_login_fail_add(r->st, user, r->addr, r->now) != DHO_OK ||
	    web_audit(r, who, "login.failed", who, detail) != DHO_OK) {
		api_db_error(r);
		return;
	}
	web_error(r, MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
}

/* 429 when user or r's address had API_THROTTLE_FAILS failed log-ins in
 * the last 15 minutes; Retry-After says when the oldest of them ages out. */
static bool
api_throttled(struct web_req *r, const char *user)
{
	int nu = 0, na = 0;
	dho_time_t ou = 0, oa = 0, oldest = 0;
	char detail[160], retry[24];
	json_t *o;

	if (store_login_fail_count(r->st, user, r->addr, r->now - API_THROTTLE_WINDOW, &nu, &ou,
	                           &na, &oa) != DHO_OK) {
		api_db_error(r);
		return true;
	}
	if (nu < API_THROTTLE_FAILS && na < API_THROTTLE_FAILS)
		return false;
	oldest = nu >= API_THROTTLE_FAILS ? ou : oa;
	if (na >= API_THROTTLE_FAILS && nu >= API_THROTTLE_FAILS && oa > ou)
		oldest = oa;
	snprintf(retry, sizeof(retry), "%" PRId64,
	         oldest + API_THROTTLE_WINDOW - r->now > 0 ? oldest + API_THROTTLE_WINDOW - r->now : 1);
	snprintf(detail, sizeof(detail), "addr=%s failures user=%d addr=%d", r->addr, nu, na);
	web_audit(r, ident_valid(user) ? user : "-", "login.throttled",
	          ident_valid(user) ? user : "-", detail);
	o = json_object();
	json_object_set_new(o, "error", json_string("too many failed log-ins; try again later"));
	web_json_h(r, MHD_HTTP_TOO_MANY_REQUESTS, o, "Retry-After", retry, NULL, NULL);
	return true;
}

static void
api_session_post(struct web_req *r)
{
	static const char *const keys[] = { "user", "password", "otp", NULL };
	json_t *doc = api_body(r, keys, false);
	const char *user, *pw, *otp;
	bool bad = false, need_otp;
	char token[AUTH_TOKEN_LEN], cookie[160], detail[160];
	struct store_session se;
	int64_t step = 0;
	int rc;

	if (doc == NULL)
		return;
	user = api_str(doc, "user", &bad);
	pw = api_str(doc, "password", &bad);
	otp = api_str(doc, "otp", &bad);
	if (bad || user == NULL || pw == NULL) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "user and password are required strings");
		goto out;
	}
	if (strlen(user) > DHO_ID_MAX || strlen(pw) > AUTH_PASSWORD_MAX) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "user or password is too long");
		goto out;
	}
	if (web_borrow(r) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	if (api_throttled(r, user))
		goto out;
	rc = store_user_get(r->st, user, &r->user);
	if (rc != DHO_OK && rc != DHO_ENOTFOUND) {
		api_db_error(r);
		goto out;
	}
	/* The store connection goes back while the hash runs: a log-in must
	 * not hold one of the few connections for a quarter of a second. */
	web_give_back(r);
	if (!auth_verify(rc == DHO_OK ? r->user.hash : NULL, pw) || r->user.disabled) {
		if (web_borrow(r) == DHO_OK)
			api_login_failed(r, user, rc != DHO_OK ? "unknown user" :
			                 r->user.disabled ? "disabled" : "wrong password");
		goto out;
	}
	if (web_borrow(r) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	need_otp = r->w->cfg->http_require_2fa == CFG_2FA_ALWAYS || r->user.totp_secret[0] != '\0';
	if (need_otp) {
		if (r->user.totp_secret[0] == '\0') {
			api_login_failed(r, user, "2fa required but no TOTP secret (dhohub user totp)");
			goto out;
		}
		if (otp == NULL || otp[0] == '\0') {
			json_t *o = json_object();

			json_object_set_new(o, "error", json_string("a one-time code is needed"));
			json_object_set_new(o, "otp", json_true());
			web_json(r, MHD_HTTP_UNAUTHORIZED, o);
			goto out;
		}
		if (auth_totp_check(r->user.totp_secret, otp, r->now, &step) != DHO_OK) {
			api_login_failed(r, user, "wrong one-time code");
			goto out;
		}
		rc = store_user_totp_use(r->st, user, step);
		if (rc == DHO_EEXIST) {
			api_login_failed(r, user, "one-time code used before");
			goto out;
		}
		if (rc != DHO_OK) {
			api_db_error(r);
			goto out;
		}
	}
	memset(&se, 0, sizeof(se));
	snprintf(se.user, sizeof(se.user), "%s", r->user.name);
	auth_token(se.csrf);
	se.created_at = se.last_at = r->now;
	auth_token(token);
	auth_token_hash(token, r->sess_hash);
	snprintf(detail, sizeof(detail), "addr=%s", r->addr);
	if (store_begin(r->st) != DHO_OK ||
	    store_session_add(r->st, r->sess_hash, &se) != DHO_OK ||
	    store_login_fail_clear(r->st, user, r->now - API_THROTTLE_WINDOW) != DHO_OK ||
	    store_session_purge(r->st, r->now - r->w->cfg->http_session_idle,
	                        r->now - r->w->cfg->http_session_max) != DHO_OK ||
	    store_commit(r->st) != DHO_OK) {
		store_rollback(r->st);
		api_db_error(r);
		goto out;
	}
	/* No cookie leaves before the log-in is in the audit log. */
	if (web_audit(r, r->user.name, "login", r->user.name, detail) != DHO_OK) {
		store_session_delete(r->st, r->sess_hash);
		api_db_error(r);
		goto out;
	}
	r->sess = se;
	r->authed = true;
	/* Secure is set on plain HTTP too: browsers keep such a cookie for
	 * http://localhost and 127.0.0.1, and anywhere else the workspace must
	 * run behind HTTPS anyway. */
	snprintf(cookie, sizeof(cookie), WEB_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Secure",
	         token);
	web_json_h(r, MHD_HTTP_OK, api_me(r), "Set-Cookie", cookie, NULL, NULL);
out:
	json_decref(doc);
}

static void
api_session_get(struct web_req *r)
{
	web_json(r, MHD_HTTP_OK, api_me(r));
}

static void
api_session_delete(struct web_req *r)
{
	json_t *o;

	if (store_session_delete(r->st, r->sess_hash) != DHO_OK ||
	    web_audit(r, NULL, "logout", r->user.name, "") != DHO_OK) {
		api_db_error(r);
		return;
	}
	o = json_object();
	json_object_set_new(o, "status", json_string("logged out"));
	web_json_h(r, MHD_HTTP_OK, o, "Set-Cookie",
	           WEB_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0", NULL, NULL);
}

/* ---- alerts ---- */

/* The alert's event document (docs/operations.md, "Alert events"), as its
 * latest event. */
static json_t *
api_alert_doc(const struct alert *a)
{
	return alert_event_exact(a, a->last_event, a->updated_at);
}

/* Audits the reads of ids (alert ids "A17" or patient ids) by r's user,
 * one row each, committed before the answer leaves. The handler's reads
 * are done by then: its store connection goes back to the pool first,
 * rather than sit idle while the journal's batch commits. */
static int
api_audit_reads(struct web_req *r, json_t *ids)
{
	size_t n = json_array_size(ids), i;
	struct store_audit *rows = calloc(n ? n : 1, sizeof(*rows));
	json_t *v;
	int rc;

	if (rows == NULL)
		return DHO_ENOMEM;
	json_array_foreach(ids, i, v) {
		rows[i].at = r->now;
		rows[i].actor = r->user.name;
		rows[i].action = "read";
		rows[i].object = json_string_value(v);
		rows[i].detail = r->url;
	}
	web_give_back(r);
	rc = journal_write(r->w->journal, rows, n);
	free(rows);
	return rc;
}

static int
api_state_arg(struct web_req *r, int *state)
{
	const char *s = web_arg(r, "state");
	enum alert_state st;

	*state = -1;
	if (s == NULL || s[0] == '\0')
		return DHO_OK;
	if (strcmp(s, "all") == 0) {
		*state = -2;
		return DHO_OK;
	}
	if (alert_parse_state(s, &st) != DHO_OK)
		return DHO_EINVAL;
	*state = (int)st;
	return DHO_OK;
}

static int
api_int_arg(struct web_req *r, const char *name, long min, long max, long def, long *out)
{
	const char *s = web_arg(r, name);
	char *end;
	long v;

	*out = def;
	if (s == NULL || s[0] == '\0')
		return DHO_OK;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max || strlen(s) > 9)
		return DHO_EINVAL;
	*out = v;
	return DHO_OK;
}

/* A cursor is the triage position of the last alert of a page, written
 * "SEVERITY.STATE.OPENED_AT.ID"; anything else is a bad cursor. */
static int
api_cursor_parse(const char *s, struct store_triage_pos *p)
{
	long long v[4];
	int n = 0;
	char *end;

	for (const char *q = s; n < 4; n++) {
		if (*q < '0' || *q > '9')
			return DHO_EINVAL;
		v[n] = strtoll(q, &end, 10);
		if (end - q > 18)
			return DHO_EINVAL;
		if (n < 3 && *end != '.')
			return DHO_EINVAL;
		q = end + 1;
		if (n == 3 && *end != '\0')
			return DHO_EINVAL;
	}
	if (v[0] > 2 || v[1] > 2)
		return DHO_EINVAL;
	p->severity = (int)v[0];
	p->state = (int)v[1];
	p->opened_at = v[2];
	p->id = v[3];
	return DHO_OK;
}

struct api_list {
	struct web_req *r;
	json_t *items;
	json_t *read;           /* the ids to audit */
	size_t n;
	size_t limit;
	struct alert last;
	bool more;
};

static int
api_alert_row(void *ctx, const struct alert *a)
{
	struct api_list *l = ctx;
	char id[24];

	if (!scope_alert(l->r, a))
		return 0;
	if (l->n == l->limit) {
		l->more = true;
		return 1;
	}
	alert_format_id(a->id, id, sizeof(id));
	json_array_append_new(l->items, api_alert_doc(a));
	json_array_append_new(l->read, json_string(id));
	l->last = *a;
	l->n++;
	return 0;
}

static void
api_alerts(struct web_req *r)
{
	const char *teams[STORE_TEAMS_MAX], *team = web_arg(r, "team");
	const char *patient = web_arg(r, "patient"), *cursor = web_arg(r, "cursor");
	struct store_triage_filter f = { 0 };
	struct store_triage_pos after;
	struct api_list l = { r, NULL, NULL, 0, 0, { 0 }, false };
	char next[96];
	long limit;
	json_t *o;

	if (api_state_arg(r, &f.state) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "state must be open, acked, resolved or all");
		return;
	}
	if (api_int_arg(r, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT, &limit) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "limit must be a number from 1 to 200");
		return;
	}
	if (cursor != NULL && api_cursor_parse(cursor, &after) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "bad cursor");
		return;
	}
	if (team != NULL && !ident_team_valid(team)) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "team must be KIND/NAME");
		return;
	}
	if (patient != NULL && !ident_valid(patient)) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "patient is not a valid identifier");
		return;
	}
	/* team narrows the user's own teams; a team not hers selects nothing. */
	if (team != NULL) {
		teams[0] = team;
		f.nteams = 0;
		for (size_t i = 0; i < r->user.nteams; i++)
			if (strcmp(r->user.teams[i], team) == 0)
				f.nteams = 1;
	} else {
		f.nteams = scope_teams(r, teams, STORE_TEAMS_MAX);
	}
	f.teams = teams;
	f.patient = patient;
	f.after = cursor ? &after : NULL;
	f.limit = (int)limit + 1;
	l.limit = (size_t)limit;
	l.items = json_array();
	l.read = json_array();
	if (store_alert_triage(r->st, &f, api_alert_row, &l) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	if (api_audit_reads(r, l.read) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	o = json_object();
	json_object_set(o, "items", l.items);
	if (l.more) {
		snprintf(next, sizeof(next), "%d.%d.%" PRId64 ".%" PRId64, (int)l.last.severity,
		         (int)l.last.state, l.last.opened_at, l.last.id);
		json_object_set_new(o, "next", json_string(next));
	} else {
		json_object_set_new(o, "next", json_null());
	}
	web_json(r, MHD_HTTP_OK, o);
out:
	json_decref(l.items);
	json_decref(l.read);
}

struct api_events {
	json_t *arr;
	char last[1024];       /* the previous body, to show an escalation once */
};

static int
api_event_row(void *ctx, int64_t id, const char *team, const char *body)
{
	struct api_events *ev = ctx;
	json_t *doc;

	(void)id;
	(void)team;
	/* An escalation is one event sent to two teams: two outbox rows with
	 * one body. */
	if (strncmp(ev->last, body, sizeof(ev->last) - 1) == 0 && strlen(body) < sizeof(ev->last))
		return 0;
	snprintf(ev->last, sizeof(ev->last), "%s", body);
	if ((doc = json_loads(body, 0, NULL)) != NULL)
		json_array_append_new(ev->arr, doc);
	return 0;
}

static void
api_alert_send(struct web_req *r, unsigned status, const struct alert *a, bool events)
{
	struct api_events ev = { NULL, "" };
	json_t *o = api_alert_doc(a), *ids = json_array();
	char id[24], etag[32];

	alert_format_id(a->id, id, sizeof(id));
	json_array_append_new(ids, json_string(id));
	if (events) {
		ev.arr = json_array();
		if (store_alert_events(r->st, a->id, api_event_row, &ev) != DHO_OK) {
			json_decref(ev.arr);
			goto fail;
		}
		json_object_set_new(o, "events", ev.arr);
	}
	if (api_audit_reads(r, ids) != DHO_OK)
		goto fail;
	json_decref(ids);
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", a->version);
	web_json_h(r, status, o, "ETag", etag, NULL, NULL);
	return;
fail:
	json_decref(o);
	json_decref(ids);
	api_db_error(r);
}

static void
api_alert(struct web_req *r)
{
	api_alert_send(r, MHD_HTTP_OK, &r->alert, true);
}

/* If-Match: VERSION, bare or as the quoted ETag this API sends; -1 when
 * absent. */
static int
api_if_match(struct web_req *r, int64_t *version)
{
	const char *h = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "If-Match");
	char buf[32], *end;
	size_t n;
	long long v;

	*version = -1;
	if (h == NULL)
		return DHO_OK;
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return DHO_EINVAL;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return DHO_EINVAL;
	v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return DHO_EINVAL;
	*version = v;
	return DHO_OK;
}

static void
api_act(struct web_req *r, enum action_kind kind)
{
	static const char *const keys[] = { "note", NULL };
	json_t *doc = api_body(r, keys, true);
	struct action a;
	struct alert now;
	const char *note;
	bool bad = false;
	char why[DHO_ERRLEN];
	int rc;

	if (doc == NULL)
		return;
	note = api_str(doc, "note", &bad);
	if (bad) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "note must be a string");
		goto out;
	}
	if (kind == ACTION_RESOLVE && (note == NULL || note[strspn(note, " \t")] == '\0')) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "resolve needs a note");
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.alert_id = r->alert.id;
	a.by = r->user.name;
	a.note = note;
	a.team = r->alert.team;          /* the team the gate found in scope */
	a.actor = r->user.name;
	a.channel = ACTION_WEB;
	a.now = r->now;
	if (api_if_match(r, &a.version) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "If-Match must be the alert's version");
		goto out;
	}
	if (store_begin(r->st) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	rc = action_apply(r->st, r->e, &a, why, sizeof(why));
	if (rc == DHO_OK)
		rc = store_commit(r->st);
	if (rc != DHO_OK)
		store_rollback(r->st);
	switch (rc) {
	case DHO_OK:
		if (store_alert_get(r->st, r->alert.id, &now) != DHO_OK)
			api_db_error(r);
		else
			api_alert_send(r, MHD_HTTP_OK, &now, false);
		break;
	case DHO_EINVAL:
		web_error(r, MHD_HTTP_BAD_REQUEST, why);
		break;
	case DHO_ENOTFOUND:
		web_error(r, MHD_HTTP_NOT_FOUND, "no such alert");
		break;
	case DHO_ECONFLICT:
		web_error(r, MHD_HTTP_PRECONDITION_FAILED, why);
		break;
	case DHO_ESTATE:
		web_error(r, MHD_HTTP_CONFLICT, why);
		break;
	default:
		api_db_error(r);
		break;
	}
out:
	json_decref(doc);
}

static void
api_ack(struct web_req *r)
{
	api_act(r, ACTION_ACK);
}

static void
api_resolve(struct web_req *r)
{
	api_act(r, ACTION_RESOLVE);
}


/* ---- patients ---- */

static json_t *
api_patient_doc(struct web_req *r, const struct store_patient *p, bool counts)
{
	json_t *o = json_object();
	char team[DHO_TEAM_MAX + 1];
	int yellow = 0, red = 0;

	care_team(r->w->cfg, p, r->now, team, sizeof(team));
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "tenant", json_string(p->tenant));
	json_object_set_new(o, "program", json_string(p->program));
	json_object_set_new(o, "team", json_string(team));
	json_object_set_new(o, "discharged", api_time(p->discharged));
	json_object_set_new(o, "ended", api_time(p->ended_at));
	if (counts) {
		json_t *c = json_object();

		store_alert_counts(r->st, p->id, &yellow, &red);
		json_object_set_new(c, "red", json_integer(red));
		json_object_set_new(c, "yellow", json_integer(yellow));
		json_object_set_new(o, "alerts", c);
	}
	return o;
}

static int
api_patient_row(void *ctx, const struct store_patient *p)
{
	struct api_list *l = ctx;

	if (!scope_patient(l->r, p))
		return 0;
	json_array_append_new(l->items, api_patient_doc(l->r, p, true));
	json_array_append_new(l->read, json_string(p->id));
	return 0;
}

static void
api_patients(struct web_req *r)
{
	const char *tenants[64], *teams[STORE_TEAMS_MAX];
	size_t nt = scope_tenants(r, tenants, 64), nm = scope_teams(r, teams, STORE_TEAMS_MAX);
	struct api_list l = { r, json_array(), json_array(), 0, 0, { 0 }, false };
	json_t *o;

	if (store_patient_candidates(r->st, tenants, nt, teams, nm, api_patient_row, &l) != DHO_OK ||
	    api_audit_reads(r, l.read) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	o = json_object();
	json_object_set(o, "items", l.items);
	web_json(r, MHD_HTTP_OK, o);
out:
	json_decref(l.items);
	json_decref(l.read);
}

/* One effective rule with its limits, as terms a chart can draw. */
static int
api_rule_row(void *ctx, const char *key, const char *spec, const char *origin)
{
	json_t *arr = ctx, *o = json_object(), *limits = json_array();
	struct rule *rule = NULL;
	struct rules_limit lim[16];
	char err[DHO_ERRLEN];
	enum metric m;
	int64_t y = 0, red = 0;

	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "spec", json_string(spec));
	json_object_set_new(o, "origin", json_string(origin));
	if (rules_parse(key, spec, &rule, err, sizeof(err)) == DHO_OK) {
		size_t n = rules_limits(rule, lim, 16);

		json_object_set_new(o, "kind", json_string(rules_kind_name(rules_kind(rule))));
		if (rules_metric(rule, &m) == DHO_OK) {
			json_object_set_new(o, "metric", json_string(metric_name(m)));
			json_object_set_new(o, "unit", json_string(metric_unit(m)));
		}
		for (size_t i = 0; i < n; i++) {
			json_t *t = json_object();

			json_object_set_new(t, "severity", json_string(rules_severity_name(lim[i].severity)));
			json_object_set_new(t, "op", json_string(
				lim[i].dir < 0 ? (lim[i].inclusive ? "<=" : "<")
				               : (lim[i].inclusive ? ">=" : ">")));
			json_object_set_new(t, "value", json_real(lim[i].limit));
			if (lim[i].window > 0)
				json_object_set_new(t, "window_s", json_integer(lim[i].window));
			json_array_append_new(limits, t);
		}
		if (rules_kind(rule) == RULE_MISSING &&
		    rules_missing_deadlines(rule, &y, &red) == DHO_OK) {
			json_t *t = json_object();

			json_object_set_new(t, "severity", json_string("yellow"));
			json_object_set_new(t, "op", json_string("silent>"));
			json_object_set_new(t, "value", json_integer(y));
			json_array_append_new(limits, t);
			if (red > 0) {
				t = json_object();
				json_object_set_new(t, "severity", json_string("red"));
				json_object_set_new(t, "op", json_string("silent>"));
				json_object_set_new(t, "value", json_integer(red));
				json_array_append_new(limits, t);
			}
		}
		rules_free(rule);
	}
	json_object_set_new(o, "limits", limits);
	json_array_append_new(arr, o);
	return 0;
}

static int
api_device_row(void *ctx, const struct store_assignment *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "device", json_string(a->device));
	json_object_set_new(o, "patient", json_string(a->patient));
	json_object_set_new(o, "from", api_time(a->from));
	json_object_set_new(o, "to", api_time(a->to));
	json_array_append_new(ctx, o);
	return 0;
}

static int
api_patient_alert_row(void *ctx, const struct alert *a)
{
	struct api_list *l = ctx;

	if (scope_alert(l->r, a))
		json_array_append_new(l->items, api_alert_doc(a));
	return 0;
}

static void
api_patient(struct web_req *r)
{
	json_t *o = api_patient_doc(r, &r->patient, false), *devs = json_array(), *rules = json_array();
	struct api_list l = { r, json_array(), json_array(), 0, 0, { 0 }, false };
	struct store_alert_filter f = { NULL, r->patient.id, -1 };

	json_object_set_new(o, "devices", devs);
	json_object_set_new(o, "rules", rules);
	json_array_append_new(l.read, json_string(r->patient.id));
	if (store_device_list(r->st, r->patient.id, api_device_row, devs) != DHO_OK ||
	    engine_rules(r->e, &r->patient, api_rule_row, rules) != DHO_OK ||
	    store_alert_list(r->st, &f, api_patient_alert_row, &l) != DHO_OK ||
	    api_audit_reads(r, l.read) != DHO_OK) {
		json_decref(o);
		api_db_error(r);
		goto out;
	}
	json_object_set(o, "alerts", l.items);
	web_json(r, MHD_HTTP_OK, o);
out:
	json_decref(l.items);
	json_decref(l.read);
}

struct api_readings {
	json_t *arr;
	dho_time_t until;
	size_t n;
	bool truncated;
};

static int
api_reading_row(void *ctx, const struct store_reading *rd)
{
	struct api_readings *l = ctx;
	json_t *o, *flags;
	char v[8];

	if (l->until && rd->r.measured_at >= l->until)
		return 1;
	if (l->n++ >= API_READINGS_MAX) {
		l->truncated = true;
		return 1;
	}
	o = json_object();
	flags = json_array();
	for (int i = 0; i < 32; i++) {
		const char *n = (rd->r.flags & (1u << i)) ? metric_flag_name(1u << i) : NULL;

		if (n)
			json_array_append_new(flags, json_string(n));
	}
	json_object_set_new(o, "patient", json_string(rd->patient));
	json_object_set_new(o, "device", json_string(rd->device));
	json_object_set_new(o, "metric", json_string(metric_name(rd->r.metric)));
	if (rd->r.metric == METRIC_CONSCIOUSNESS) {
		snprintf(v, sizeof(v), "%c", metric_acvpu_letter(rd->r.value));
		json_object_set_new(o, "value", json_string(v));
	} else {
		json_object_set_new(o, "value", metric_json_value(rd->r.value, rd->r.decimals));
	}
	json_object_set_new(o, "unit", json_string(metric_unit(rd->r.metric)));
	json_object_set_new(o, "measured_at", api_time(rd->r.measured_at));
	json_object_set_new(o, "received_at", api_time(rd->received_at));
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "seq", rd->has_seq ? json_integer((json_int_t)rd->seq) : json_null());
	json_array_append_new(l->arr, o);
	return 0;
}

static int
api_time_arg(struct web_req *r, const char *name, dho_time_t *out)
{
	const char *s = web_arg(r, name);

	*out = 0;
	if (s == NULL || s[0] == '\0')
		return DHO_OK;
	return timefmt_parse(s, out);
}

static void
api_readings(struct web_req *r)
{
	const char *ms = web_arg(r, "metric");
	struct api_readings l = { json_array(), 0, 0, false };
	json_t *ids = json_array();
	dho_time_t since;
	enum metric m;
	int metric = -1;

	if (ms != NULL && ms[0] != '\0') {
		if (metric_lookup(ms, &m) != DHO_OK) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "unknown metric");
			goto out;
		}
		metric = (int)m;
	}
	if (api_time_arg(r, "since", &since) != DHO_OK || api_time_arg(r, "until", &l.until) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "since and until must be RFC 3339 times or YYYY-MM-DD");
		goto out;
	}
	json_array_append_new(ids, json_string(r->patient.id));
	if (store_reading_list(r->st, r->patient.id, metric, since, api_reading_row, &l) != DHO_OK ||
	    api_audit_reads(r, ids) != DHO_OK) {
		api_db_error(r);
		goto out;
	}
	web_json(r, MHD_HTTP_OK, json_incref(l.arr));
out:
	json_decref(ids);
	json_decref(l.arr);
}

/* ---- audit, health ---- */

struct api_audit {
	json_t *arr;
	size_t n;
};

static int
api_audit_row(void *ctx, const struct store_audit *a)
{
	struct api_audit *l = ctx;
	json_t *o;

	if (l->n++ >= API_AUDIT_MAX)
		return 1;
	o = json_object();
	json_object_set_new(o, "at", api_time(a->at));
	json_object_set_new(o, "actor", json_string(a->actor ? a->actor : ""));
	json_object_set_new(o, "action", json_string(a->action ? a->action : ""));
	json_object_set_new(o, "object", json_string(a->object ? a->object : ""));
	json_object_set_new(o, "detail", json_string(a->detail ? a->detail : ""));
	json_array_append_new(l->arr, o);
	return 0;
}

static void
api_audit(struct web_req *r)
{
	struct api_audit l = { json_array(), 0 };
	dho_time_t since;
	json_t *o;

	if (api_time_arg(r, "since", &since) != DHO_OK) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "since must be an RFC 3339 time or YYYY-MM-DD");
		json_decref(l.arr);
		return;
	}
	if (store_audit_list(r->st, since, api_audit_row, &l) != DHO_OK ||
	    web_audit(r, NULL, "audit.list", "*", r->url) != DHO_OK) {
		json_decref(l.arr);
		api_db_error(r);
		return;
	}
	o = json_object();
	json_object_set_new(o, "items", l.arr);
	json_object_set_new(o, "truncated", json_boolean(l.n > API_AUDIT_MAX));
	web_json(r, MHD_HTTP_OK, o);
}

static void
api_healthz(struct web_req *r)
{
	json_t *o = json_object();
	int64_t last;

	if (web_borrow(r) != DHO_OK || store_outbox_last(r->st, &last) != DHO_OK) {
		json_object_set_new(o, "status", json_string("unavailable"));
		web_json(r, MHD_HTTP_SERVICE_UNAVAILABLE, o);
		return;
	}
	json_object_set_new(o, "status", json_string("ok"));
	web_json(r, MHD_HTTP_OK, o);
}

#define S ROUTE_SESSION
#define N (ROUTE_SESSION | ROUTE_NURSE)
#define C ROUTE_CHANGE

const struct web_route api_routes[] = {
	{ "POST", "/api/v1/session", NULL, RES_NONE, C, api_session_post },
	{ "GET", "/api/v1/session", NULL, RES_NONE, S, api_session_get },
	{ "DELETE", "/api/v1/session", NULL, RES_NONE, S | C, api_session_delete },
	{ "GET", "/api/v1/alerts", NULL, RES_NONE, N, api_alerts },
	{ "GET", "/api/v1/alerts/*", NULL, RES_ALERT, N, api_alert },
	{ "POST", "/api/v1/alerts/*", "/ack", RES_ALERT, N | C, api_ack },
	{ "POST", "/api/v1/alerts/*", "/resolve", RES_ALERT, N | C, api_resolve },
	{ "GET", "/api/v1/patients", NULL, RES_NONE, N, api_patients },
	{ "GET", "/api/v1/patients/*", NULL, RES_PATIENT, N, api_patient },
	{ "GET", "/api/v1/patients/*", "/readings", RES_PATIENT, N, api_readings },
	{ "GET", "/api/v1/events", NULL, RES_NONE, N | ROUTE_STREAM, sse_handle },
	{ "GET", "/api/v1/audit", NULL, RES_NONE, S | ROUTE_AUDITOR, api_audit },
	{ "GET", "/healthz", NULL, RES_NONE, 0, api_healthz },
	{ NULL, NULL, NULL, RES_NONE, 0, NULL },
};
