/*
 * store.c: the SQLite backend of the store interface.
 *
 * The database runs in WAL mode so the CLI can read while the daemon writes.
 * The schema is versioned with PRAGMA user_version; store_open() applies the
 * migrations the file has not seen yet, each in its own transaction.
 * Statements are prepared once per connection and reused.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "store.h"
#include "timefmt.h"
#include "store_int.h"
#include "strmap.h"

/* PRAGMA application_id of a dhohub database: "dhoh" in ASCII. */
#define STORE_APP_ID 0x64686F68
#define STORE_APP_ID_S "1684565864"

/* Schema migrations, in order; never edit one that has shipped. */
static const char *const store_migrations[] = {
	/* 1: the hub spine */
	"CREATE TABLE patients ("
	"  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, program TEXT NOT NULL,"
	"  discharged INTEGER NOT NULL, hospital_days INTEGER, team TEXT,"
	"  enrolled_at INTEGER NOT NULL, ended_at INTEGER,"
	"  check_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX patients_check ON patients(check_at) WHERE ended_at IS NULL;"
	"CREATE TABLE assignments ("
	"  id INTEGER PRIMARY KEY, device TEXT NOT NULL, patient TEXT NOT NULL,"
	"  from_ts INTEGER NOT NULL, to_ts INTEGER);"
	"CREATE INDEX assignments_device ON assignments(device, from_ts);"
	"CREATE INDEX assignments_patient ON assignments(patient);"
	"CREATE TABLE rules ("
	"  patient TEXT NOT NULL, key TEXT NOT NULL, spec TEXT NOT NULL,"
	"  PRIMARY KEY (patient, key)) WITHOUT ROWID;"
	"CREATE TABLE seen ("
	"  device TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  PRIMARY KEY (device, seq)) WITHOUT ROWID;"
	"CREATE TABLE readings ("
	"  id INTEGER PRIMARY KEY, patient TEXT NOT NULL, device TEXT NOT NULL,"
	"  metric INTEGER NOT NULL, value REAL NOT NULL, decimals INTEGER NOT NULL,"
	"  measured_at INTEGER NOT NULL, received_at INTEGER NOT NULL,"
	"  flags INTEGER NOT NULL, seq INTEGER);"
	"CREATE INDEX readings_window ON readings(patient, metric, measured_at);"
	"CREATE TABLE quarantine ("
	"  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, topic TEXT NOT NULL,"
	"  reason TEXT NOT NULL, payload BLOB NOT NULL);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY, patient TEXT NOT NULL, tenant TEXT NOT NULL,"
	"  rule TEXT NOT NULL, team TEXT NOT NULL, severity INTEGER NOT NULL,"
	"  state INTEGER NOT NULL, level INTEGER NOT NULL, cleared INTEGER NOT NULL,"
	"  normal_count INTEGER NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,"
	"  decimals INTEGER NOT NULL, unit TEXT NOT NULL, measured_at INTEGER NOT NULL,"
	"  opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  reason TEXT NOT NULL, last_event TEXT NOT NULL, news2_total INTEGER,"
	"  news2_risk TEXT, by TEXT NOT NULL, note TEXT NOT NULL, due_at INTEGER NOT NULL);"
	/* The database itself guarantees one unresolved alert per rule. */
	"CREATE UNIQUE INDEX alerts_one_open ON alerts(patient, rule) WHERE state != 2;"
	"CREATE INDEX alerts_state ON alerts(state, team);"
	"CREATE INDEX alerts_due ON alerts(due_at) WHERE state = 0 AND due_at > 0;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, team TEXT NOT NULL,"
	"  webhook TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,"
	"  mqtt_done INTEGER NOT NULL DEFAULT 0, webhook_done INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX outbox_mqtt ON outbox(id) WHERE mqtt_done = 0;"
	"CREATE INDEX outbox_hook ON outbox(id) WHERE webhook_done = 0;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
	"  action TEXT NOT NULL, object TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counters VALUES ('readings', 0), ('quarantined', 0), ('last_message_at', 0);",
	/* 2: the rules' window reads come from the index alone (no lookup
	 * of each row in the table) */
	"DROP INDEX readings_window;"
	"CREATE INDEX readings_window ON readings(patient, metric, measured_at, id, flags, value);",
	/* 3: a bounded quarantine: at most STORE_QUARANTINE_KEEP bytes of each
	 * payload, with the original length and its SHA-256; a count of the
	 * entries pruned by the row cap; listing by time */
	"ALTER TABLE quarantine ADD COLUMN length INTEGER;"
	"ALTER TABLE quarantine ADD COLUMN sha256 BLOB;"
	"CREATE INDEX quarantine_at ON quarantine(at);"
	"INSERT INTO counters VALUES ('quarantine_pruned', 0);",
	/* 4: recurred and version (contract 6, v2): each event adds one to the
	 * alert's version. An alert from before has had at least its opened
	 * event; its count of events is not worth reconstructing. */
	"ALTER TABLE alerts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
	/* 5: the readings counter is no longer written with each reading:
	 * it holds the readings up to readings_mark, and store_stats() adds
	 * those after the mark (store_counters_fold() moves it on). */
	"INSERT INTO counters VALUES ('readings_mark', (SELECT coalesce(max(id), 0) FROM readings));",
	/* 6: the nurses' workspace: its users, their sessions and failed
	 * log-ins; the triage order of a team's alerts and an alert's events
	 * come from indexes */
	"CREATE TABLE users ("
	"  name TEXT PRIMARY KEY, role TEXT NOT NULL, teams TEXT NOT NULL,"
	"  hash TEXT NOT NULL, totp_secret TEXT NOT NULL DEFAULT '',"
	"  totp_last INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE sessions ("
	"  hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL, last_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions(user);"
	"CREATE TABLE login_failures ("
	"  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, user TEXT NOT NULL, addr TEXT NOT NULL);"
	"CREATE INDEX login_failures_user ON login_failures(user, at);"
	"CREATE INDEX login_failures_addr ON login_failures(addr, at);"
	"CREATE INDEX alerts_triage ON alerts(team, severity DESC, state, opened_at, id)"
	"  WHERE state != 2;"
	"CREATE INDEX outbox_alert ON outbox(alert_id, id);",
	/* 7: webhooks by team: the outbox keeps no URL (a URL may carry
	 * credentials; it is looked up in the configuration when sent), each
	 * team's pending events are found by an index, events given up after
	 * repeated 4xx answers are counted. The file says it is dhohub's (see
	 * store_check_schema()). */
	"UPDATE outbox SET webhook = '' WHERE webhook != '';"
	"CREATE INDEX outbox_hook_team ON outbox(team, id) WHERE webhook_done = 0;"
	"INSERT INTO counters VALUES ('webhook_failed', 0);"
	"PRAGMA application_id = " STORE_APP_ID_S ";",
};

enum store_sql {
	SQL_PATIENT_ADD, SQL_PATIENT_GET, SQL_PATIENT_END, SQL_PATIENT_LIST,
	SQL_PATIENT_DUE, SQL_PATIENT_CHECK, SQL_PATIENT_CHECK_ALL, SQL_LAST_READING,
	SQL_DEV_CLOSE, SQL_DEV_ADD, SQL_DEV_LOOKUP, SQL_DEV_LIST, SQL_DEV_LIST_P,
	SQL_DEV_RELEASE,
	SQL_RULE_SET, SQL_RULE_UNSET, SQL_RULE_LIST,
	SQL_SEEN, SQL_READING_ADD, SQL_READING_LIST, SQL_READING_WINDOW,
	SQL_COUNT_BUMP, SQL_LAST_MSG,
	SQL_QUAR_ADD, SQL_QUAR_LIST, SQL_QUAR_PRUNE,
	SQL_ALERT_OPEN, SQL_ALERT_GET, SQL_ALERT_INSERT, SQL_ALERT_UPDATE, SQL_ALERT_LIST,
	SQL_ALERT_DUE,
	SQL_OUTBOX_ADD, SQL_OUTBOX_NEXT_MQTT, SQL_OUTBOX_NEXT_HOOK, SQL_OUTBOX_DONE_MQTT,
	SQL_OUTBOX_DONE_HOOK, SQL_OUTBOX_RETRY,
	SQL_HOOK_TEAMS, SQL_HOOK_NEXT, SQL_HOOK_FAILED,
	SQL_AUDIT_ADD, SQL_AUDIT_LIST,
	SQL_READING_LATEST, SQL_DATA_VERSION, SQL_ALERT_OPEN_RULES,
	SQL_STATS_COUNTERS, SQL_STATS_READINGS, SQL_STATS_ALERTS, SQL_STATS_OUTBOX,
	SQL_FOLD_READINGS, SQL_FOLD_MARK, SQL_FOLD_LAST,
	SQL_COUNT_
};

#define ALERT_COLS "id, patient, tenant, rule, team, severity, state, level, cleared," \
	" normal_count, metric, value, decimals, unit, measured_at, opened_at, updated_at," \
	" reason, last_event, news2_total, news2_risk, by, note, due_at, version"
#define OUTBOX_COLS "id, alert_id, team, body, mqtt_done, webhook_done," \
	" attempts, next_at"
#define READING_COLS "patient, device, metric, value, decimals, measured_at," \
	" received_at, flags, seq"

static const char *const store_sql_text[SQL_COUNT_] = {
	[SQL_PATIENT_ADD] = "INSERT INTO patients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 0)",
	[SQL_PATIENT_DUE] = "SELECT id, tenant, program, discharged, hospital_days, team,"
		" enrolled_at, ended_at FROM patients WHERE ended_at IS NULL AND check_at <= ?1"
		" ORDER BY check_at LIMIT ?2",
	[SQL_PATIENT_CHECK] = "UPDATE patients SET check_at = ?2 WHERE id = ?1",
	[SQL_PATIENT_CHECK_ALL] = "UPDATE patients SET check_at = min(check_at, ?1) WHERE ended_at IS NULL",
	[SQL_LAST_READING] = "SELECT max(measured_at) FROM readings WHERE patient = ?1 AND metric = ?2",
	[SQL_PATIENT_GET] = "SELECT id, tenant, program, discharged, hospital_days, team,"
		" enrolled_at, ended_at FROM patients WHERE id = ?1",
	[SQL_PATIENT_END] = "UPDATE patients SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
	[SQL_PATIENT_LIST] = "SELECT id, tenant, program, discharged, hospital_days, team,"
		" enrolled_at, ended_at FROM patients ORDER BY id",
	[SQL_DEV_CLOSE] = "UPDATE assignments SET to_ts = ?2 WHERE device = ?1 AND to_ts IS NULL",
	[SQL_DEV_ADD] = "INSERT INTO assignments (device, patient, from_ts) VALUES (?1, ?2, ?3)",
	[SQL_DEV_LOOKUP] = "SELECT device, patient, from_ts, to_ts FROM assignments"
		" WHERE device = ?1 AND from_ts <= ?2 AND (to_ts IS NULL OR to_ts > ?2)"
		" ORDER BY from_ts DESC LIMIT 1",
	[SQL_DEV_LIST] = "SELECT device, patient, from_ts, to_ts FROM assignments ORDER BY device, from_ts",
	[SQL_DEV_LIST_P] = "SELECT device, patient, from_ts, to_ts FROM assignments"
		" WHERE patient = ?1 ORDER BY device, from_ts",
	[SQL_DEV_RELEASE] = "UPDATE assignments SET to_ts = ?2 WHERE patient = ?1 AND to_ts IS NULL",
	[SQL_RULE_SET] = "INSERT OR REPLACE INTO rules VALUES (?1, ?2, ?3)",
	[SQL_RULE_UNSET] = "DELETE FROM rules WHERE patient = ?1 AND key = ?2",
	[SQL_RULE_LIST] = "SELECT key, spec FROM rules WHERE patient = ?1 ORDER BY key",
	[SQL_SEEN] = "INSERT OR IGNORE INTO seen VALUES (?1, ?2)",
	[SQL_READING_ADD] = "INSERT INTO readings (" READING_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQL_READING_LIST] = "SELECT " READING_COLS " FROM readings WHERE patient = ?1"
		" AND (?2 < 0 OR metric = ?2) AND measured_at >= ?3 ORDER BY measured_at, id",
	/* Newest first, in the index's order; store_reading_window() turns it
	 * round in place rather than have SQLite sort it again. */
	[SQL_READING_WINDOW] = "SELECT value, measured_at FROM readings"
		" WHERE patient = ?1 AND metric = ?2 AND measured_at >= ?3 AND measured_at < ?4"
		" AND (flags & ?5) = 0 ORDER BY measured_at DESC, id DESC LIMIT ?6",
	[SQL_COUNT_BUMP] = "UPDATE counters SET value = value + ?2 WHERE name = ?1",
	[SQL_LAST_MSG] = "UPDATE counters SET value = max(value, ?1) WHERE name = 'last_message_at'",
	[SQL_QUAR_ADD] = "INSERT INTO quarantine (at, topic, reason, payload, length, sha256)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* The newest ?2 entries by id are kept: a range delete on the rowid,
	 * so a flood prunes one old row per new one at the cost of one. */
	[SQL_QUAR_PRUNE] = "DELETE FROM quarantine WHERE id <= ?1 - ?2",
	[SQL_QUAR_LIST] = "SELECT at, topic, reason, payload, coalesce(length, length(payload)),"
		" sha256 FROM quarantine WHERE at >= ?1 ORDER BY id LIMIT ?2",
	[SQL_ALERT_OPEN] = "SELECT " ALERT_COLS " FROM alerts WHERE patient = ?1 AND rule = ?2 AND state != 2",
	[SQL_ALERT_GET] = "SELECT " ALERT_COLS " FROM alerts WHERE id = ?1",
	[SQL_ALERT_INSERT] = "INSERT INTO alerts (" ALERT_COLS ") VALUES (NULL, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
	[SQL_ALERT_UPDATE] = "UPDATE alerts SET patient = ?2, tenant = ?3, rule = ?4, team = ?5,"
		" severity = ?6, state = ?7, level = ?8, cleared = ?9, normal_count = ?10,"
		" metric = ?11, value = ?12, decimals = ?13, unit = ?14, measured_at = ?15,"
		" opened_at = ?16, updated_at = ?17, reason = ?18, last_event = ?19,"
		" news2_total = ?20, news2_risk = ?21, by = ?22, note = ?23, due_at = ?24,"
		" version = ?25 WHERE id = ?1",
	[SQL_ALERT_LIST] = "SELECT " ALERT_COLS " FROM alerts WHERE (?1 IS NULL OR team = ?1)"
		" AND (?2 IS NULL OR patient = ?2)"
		" AND (?3 = -2 OR (?3 = -1 AND state != 2) OR state = ?3) ORDER BY id",
	[SQL_ALERT_DUE] = "SELECT " ALERT_COLS " FROM alerts WHERE state = 0 AND due_at > 0"
		" AND due_at <= ?1 ORDER BY due_at LIMIT 1",
	[SQL_OUTBOX_ADD] = "INSERT INTO outbox (alert_id, team, webhook, body, created_at, webhook_done)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_OUTBOX_NEXT_MQTT] = "SELECT " OUTBOX_COLS " FROM outbox WHERE mqtt_done = 0 AND id > ?1"
		" ORDER BY id LIMIT 1",
	[SQL_OUTBOX_NEXT_HOOK] = "SELECT " OUTBOX_COLS " FROM outbox WHERE webhook_done = 0 AND id > ?1"
		" ORDER BY id LIMIT 1",
	[SQL_OUTBOX_DONE_MQTT] = "UPDATE outbox SET mqtt_done = 1 WHERE id = ?1",
	[SQL_OUTBOX_DONE_HOOK] = "UPDATE outbox SET webhook_done = 1 WHERE id = ?1",
	[SQL_HOOK_TEAMS] = "SELECT DISTINCT team FROM outbox WHERE webhook_done = 0",
	[SQL_HOOK_NEXT] = "SELECT " OUTBOX_COLS " FROM outbox WHERE webhook_done = 0 AND team = ?1"
		" ORDER BY id LIMIT 1",
	[SQL_HOOK_FAILED] = "UPDATE outbox SET webhook_done = 1 WHERE id = ?1 AND webhook_done = 0",
	[SQL_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1",
	[SQL_AUDIT_ADD] = "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_AUDIT_LIST] = "SELECT at, actor, action, object, detail FROM audit WHERE at >= ?1 ORDER BY id",
	[SQL_READING_LATEST] = "SELECT value, measured_at FROM readings"
		" WHERE patient = ?1 AND metric = ?2 AND (flags & ?3) = 0"
		" ORDER BY measured_at DESC, id DESC LIMIT 1",
	[SQL_DATA_VERSION] = "PRAGMA data_version",
	[SQL_ALERT_OPEN_RULES] = "SELECT rule FROM alerts WHERE patient = ?1 AND state != 2",
	[SQL_STATS_COUNTERS] = "SELECT name, value FROM counters",
	/* The readings after the mark, and the newest one's receive time: a
	 * range of the rowid and one seek, whatever the history. */
	[SQL_STATS_READINGS] = "SELECT count(*), max(received_at) FROM readings WHERE id >"
		" (SELECT value FROM counters WHERE name = 'readings_mark')",
	[SQL_FOLD_READINGS] = "UPDATE counters SET value = value + (SELECT count(*) FROM readings"
		" WHERE id > (SELECT value FROM counters WHERE name = 'readings_mark'))"
		" WHERE name = 'readings'",
	[SQL_FOLD_LAST] = "UPDATE counters SET value = max(value, coalesce((SELECT max(received_at)"
		" FROM readings WHERE id > (SELECT value FROM counters WHERE name = 'readings_mark')),"
		" 0)) WHERE name = 'last_message_at'",
	[SQL_FOLD_MARK] = "UPDATE counters SET value = max(value, coalesce((SELECT max(id) FROM readings),"
		" 0)) WHERE name = 'readings_mark'",
	[SQL_STATS_ALERTS] = "SELECT state, count(*) FROM alerts GROUP BY state",
	[SQL_STATS_OUTBOX] = "SELECT count(*) FROM outbox WHERE mqtt_done = 0 OR webhook_done = 0",
};

/*
 * The cache of the daemon's write connection (store_cache()): what the
 * ingest path would otherwise read again for every message. Each entry is
 * exact or absent: writes through this connection update or drop it, and
 * a commit by any other connection (PRAGMA data_version, read at each
 * store_begin()) or a rollback drops everything.
 */
#define STORE_CACHE_RULE_KEYS 128

enum store_cache_state { SC_UNKNOWN, SC_NONE, SC_SOME };

struct store_cpatient {
	bool have;                       /* p is the patient's row */
	struct store_patient p;
	uint8_t overrides;               /* enum store_cache_state of rule overrides */
	bool alerts_known;               /* open_alert holds every unresolved alert */
	/* Bit k: an unresolved alert of the k-th interned rule key. */
	uint64_t open_alert[STORE_CACHE_RULE_KEYS / 64];
	/* The newest reading of each metric that is not flagged invalid. */
	struct {
		uint8_t state;           /* enum store_cache_state */
		dho_time_t at;
		double value;
	} latest[METRIC_COUNT];
};

struct store_cdevice {
	struct store_assignment a;       /* an open assignment (a.to == 0) */
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_COUNT_];
	sqlite3_stmt *ext[STORE_EXT_MAX];  /* the store_<area>.c files' statements */
	char *outbox_body;   /* the body handed out by store_outbox_next() */
	struct strmap *c_patients;       /* NULL: no cache */
	struct strmap *c_devices;
	int64_t c_version;               /* data_version when last looked at */
	char c_rules[STORE_CACHE_RULE_KEYS][DHO_ID_MAX + 1];
	size_t c_nrules;
	struct store_ckpt *ckpt;         /* NULL: commits checkpoint in line */
};

/* The statement in *slot, prepared from sql on first use and reset for
 * reuse after. */
static sqlite3_stmt *
store_prepared(struct store *st, sqlite3_stmt **slot, const char *sql)
{
	if (*slot == NULL) {
		if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
		    SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
	}
	return *slot;
}

/* The statement for id. */
static sqlite3_stmt *
store_stmt(struct store *st, enum store_sql id)
{
	return store_prepared(st, &st->stmt[id], store_sql_text[id]);
}

/* store_stmt() for the statements of the store_<area>.c files. */
sqlite3_stmt *
store__stmt(struct store *st, int slot, const char *sql)
{
	if (slot < 0 || slot >= STORE_EXT_MAX)
		return NULL;
	return store_prepared(st, &st->ext[slot], sql);
}

sqlite3 *
store__db(struct store *st)
{
	return st->db;
}

static int
store_rc(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return DHO_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DHO_EBUSY;
	case SQLITE_CONSTRAINT:
		return DHO_EEXIST;
	case SQLITE_NOMEM:
		return DHO_ENOMEM;
	default:
		return DHO_EIO;
	}
}

int
store__rc(int rc)
{
	return store_rc(rc);
}

/* Runs a statement that returns no rows; the statement is reset after. */
static int
store_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

static void
store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL || *v == '\0')
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
store_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int
store__step_done(sqlite3_stmt *s)
{
	return store_step_done(s);
}

void
store__col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	store_col_text(s, i, dst, cap);
}

static int
store_exec(struct store *st, const char *sql)
{
	return store_rc(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version = 0;
	int n = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
	char pragma[64];

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > n) {
		snprintf(err, errlen, "database schema version %d is newer than this dhohub (%d)",
		         version, n);
		return DHO_EIO;
	}
	for (int v = version; v < n; v++) {
		if (store_exec(st, "BEGIN IMMEDIATE") != DHO_OK)
			goto fail;
		/* Another process may have migrated while we waited for the lock. */
		if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
			goto fail_tx;
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > v) {
			sqlite3_finalize(s);
			store_exec(st, "COMMIT");
			continue;
		}
		sqlite3_finalize(s);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (store_exec(st, store_migrations[v]) != DHO_OK ||
		    store_exec(st, pragma) != DHO_OK)
			goto fail_tx;
		if (store_exec(st, "COMMIT") != DHO_OK)
			goto fail_tx;
	}
	return DHO_OK;
fail_tx:
	snprintf(err, errlen, "migration failed: %s", sqlite3_errmsg(st->db));
	store_exec(st, "ROLLBACK");
	return DHO_EIO;
fail:
	snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
	return DHO_EIO;
}

/*
 * Decides whether the file st has open is dhohub's before anything is
 * written to it: a file of another application must not get our tables
 * or be switched to WAL, and a new file is created only where the caller
 * allows it. dhohub's files carry STORE_APP_ID; those of the first
 * milestone, from before it, are known by their schema version and tables.
 */
static int
store_check_schema(struct store *st, const char *path, unsigned flags, char *err,
                   size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int64_t app = 0, version = 0, objects = 0, ours = 0;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT (SELECT application_id FROM pragma_application_id),"
	                        " (SELECT user_version FROM pragma_user_version),"
	                        " (SELECT count(*) FROM sqlite_master),"
	                        " (SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                        "  AND name IN ('patients', 'alerts', 'outbox', 'counters'))",
	                        -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		app = sqlite3_column_int64(s, 0);
		version = sqlite3_column_int64(s, 1);
		objects = sqlite3_column_int64(s, 2);
		ours = sqlite3_column_int64(s, 3);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "cannot read %s as a dhohub database: %s", path,
		         sqlite3_errmsg(st->db));
		return DHO_EIO;
	}
	if (app == 0 && version == 0 && objects == 0) {
		if (flags & STORE_CREATE)
			return DHO_OK;
		snprintf(err, errlen, "%s is an empty file, not a dhohub database (only run, "
		         "patient add and user add create one)", path);
		return DHO_ENOTFOUND;
	}
	if (app == STORE_APP_ID || (app == 0 && version >= 1 && ours == 4))
		return DHO_OK;
	snprintf(err, errlen, "%s is an SQLite database without dhohub's schema (another "
	         "application's?); leaving it untouched", path);
	return DHO_EINVAL;
}

/* How long a connection waits for SQLite's one write lock (or a lock a
 * reader needs) before it gives up with SQLITE_BUSY, in microseconds. */
#define STORE_BUSY_US 5000000L

/*
 * The busy handler: SQLite's own (sqlite3_busy_timeout()) sleeps 1, 2,
 * 5, 10, ... 100 ms between tries, while the writers here (a reading's
 * commit, the workspace's audit batch) hold the lock for about 0.1 ms: a
 * writer that found the lock taken waited ten times longer than needed,
 * and one unlucky twice in a row tens of times. This one tries again
 * after 0.1 ms, doubling to at most 1 ms, for STORE_BUSY_US in all.
 */
static int
store_busy(void *arg, int tries)
{
	long waited, sleep_us;

	(void)arg;
	if (tries < 4) {
		waited = 100L * ((1L << tries) - 1);
		sleep_us = 100L << tries;
	} else {
		waited = 1500L + 1000L * (tries - 4);
		sleep_us = 1000;
	}
	if (waited >= STORE_BUSY_US)
		return 0;
	usleep((useconds_t)sleep_us);
	return 1;
}

int
store_open(const char *path, unsigned flags, struct store **out, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	mode_t mask;
	int rc;

	*out = NULL;
	if (st == NULL)
		return DHO_ENOMEM;
	/* A new database is readable by its owner only (contract 9). SQLite
	 * gives the -wal and -shm files the mode of the database file itself,
	 * whatever the umask, so this one file decides for all three. The
	 * umask is the process's: the daemon and the CLI open their store
	 * before they start any other thread. */
	mask = umask(077);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
	                     ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0), NULL);
	umask(mask);
	if (rc == SQLITE_CANTOPEN && !(flags & STORE_CREATE) && access(path, F_OK) != 0) {
		snprintf(err, errlen, "no database at %s (a typo? only run, patient add and user add "
		         "create one)", path);
		rc = DHO_ENOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		rc = DHO_EIO;
		goto fail;
	}
	sqlite3_busy_handler(st->db, store_busy, NULL);
	sqlite3_extended_result_codes(st->db, 0);
	if ((rc = store_check_schema(st, path, flags, err, errlen)) != DHO_OK)
		goto fail;
	rc = DHO_EIO;
	if (store_exec(st, "PRAGMA journal_mode = WAL") != DHO_OK ||
	    store_exec(st, (flags & STORE_FULL_SYNC) ? "PRAGMA synchronous = FULL"
	                                             : "PRAGMA synchronous = NORMAL") != DHO_OK ||
	    store_exec(st, "PRAGMA foreign_keys = ON") != DHO_OK) {
		snprintf(err, errlen, "cannot set up %s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (store_migrate(st, err, errlen) != DHO_OK)
		goto fail;
	if (flags & STORE_NO_CHECKPOINT)
		sqlite3_wal_autocheckpoint(st->db, 0);
	*out = st;
	return DHO_OK;
fail:
	store_close(st);
	return rc;
}

/* ---- checkpoints off the committing thread ---- */

/*
 * A checkpoint copies the WAL's pages into the database and syncs it; the
 * WAL starts over only when a writer begins while every page has been
 * copied. Done in line (SQLite's default), the commit that crosses 1,000
 * pages pays for all of it, syncs included. Done only on another
 * connection, it never ends: the writer has committed more by the time a
 * pass is over, and the WAL grows without bound. So the work is split:
 * the thread copies and syncs the bulk while commits go on, and the next
 * commit after its pass copies the few pages committed meanwhile, in line,
 * which lets the WAL start over. Past STORE_CKPT_PAGES_MAX pages (the
 * thread cannot keep up), commits checkpoint in line as by default.
 */
#define STORE_CKPT_PAGES 1000
#define STORE_CKPT_PAGES_MAX 4000

enum store_ckpt_state {
	CK_IDLE,                         /* nothing asked */
	CK_ASKED,                        /* the thread has a pass to do, or is doing it */
	CK_DONE                          /* its pass is over: the next commit finishes */
};

struct store_ckpt {
	sqlite3 *db;                     /* its own connection to the same file */
	pthread_t thread;
	pthread_mutex_t mu;              /* guards state and stop */
	pthread_cond_t cv;
	enum store_ckpt_state state;
	bool stop;
};

/* The write connection's WAL hook, called after each commit with the
 * WAL's size in pages. */
static int
store_ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *c = arg;
	bool in_line;

	if (pages < STORE_CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	in_line = c->state == CK_DONE || pages >= STORE_CKPT_PAGES_MAX;
	if (c->state == CK_IDLE) {
		c->state = CK_ASKED;
		pthread_cond_signal(&c->cv);
	} else if (c->state == CK_DONE) {
		c->state = CK_IDLE;
	}
	pthread_mutex_unlock(&c->mu);
	/* SQLITE_BUSY while the thread is at it (past the maximum): the next
	 * commit tries again. */
	if (in_line)
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* The checkpoint thread: a PASSIVE checkpoint for each request. It never
 * waits for a reader or a writer; a failure (SQLITE_BUSY while the CLI
 * checkpoints, say) leaves the pages to the commit that finishes. */
static void *
store_ckpt_main(void *arg)
{
	struct store_ckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		if (c->state != CK_ASKED) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		(void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		c->state = CK_DONE;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void
store_ckpt_stop(struct store *st)
{
	struct store_ckpt *c = st->ckpt;

	if (c == NULL)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	st->ckpt = NULL;
}

int
store_checkpoint_thread(struct store *st)
{
	struct store_ckpt *c;
	const char *path = sqlite3_db_filename(st->db, "main");

	if (st->ckpt != NULL)
		return DHO_OK;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DHO_ENOMEM;
	/* A connection opens its files lazily: until it has read the
	 * database it does not know the WAL, and a checkpoint through it
	 * does nothing (and says so only by a log size of -1). The pragma
	 * reads it. */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(c->db);
		free(c);
		return DHO_EIO;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, store_ckpt_main, c) != 0) {
		sqlite3_close(c->db);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return DHO_ENOMEM;
	}
	st->ckpt = c;
	/* Replaces the connection's wal_autocheckpoint (SQLite keeps one WAL
	 * hook per connection). */
	sqlite3_wal_hook(st->db, store_ckpt_hook, c);
	return DHO_OK;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/* First, so that this connection's close is the last one and
	 * checkpoints the whole WAL as before. */
	store_ckpt_stop(st);
	for (int i = 0; i < SQL_COUNT_; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < STORE_EXT_MAX; i++)
		sqlite3_finalize(st->ext[i]);
	sqlite3_close(st->db);
	free(st->outbox_body);
	strmap_free(st->c_patients);
	strmap_free(st->c_devices);
	free(st);
}

const char *
store_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

/* ---- the cache ---- */

static void
store_cache_drop(struct store *st)
{
	if (st->c_patients != NULL) {
		strmap_clear(st->c_patients);
		strmap_clear(st->c_devices);
	}
}

int
store_cache(struct store *st, size_t patients)
{
	strmap_free(st->c_patients);
	strmap_free(st->c_devices);
	st->c_patients = st->c_devices = NULL;
	if (patients == 0)
		return DHO_OK;
	if (strmap_new(sizeof(struct store_cpatient), patients, &st->c_patients) != DHO_OK ||
	    strmap_new(sizeof(struct store_cdevice), patients, &st->c_devices) != DHO_OK) {
		strmap_free(st->c_patients);
		st->c_patients = NULL;
		return DHO_ENOMEM;
	}
	st->c_version = -1;
	return DHO_OK;
}

/* The cache entry of patient, created (all unknown) when create is set;
 * NULL without a cache. */
static struct store_cpatient *
store_cpatient(struct store *st, const char *patient, bool create)
{
	if (st->c_patients == NULL)
		return NULL;
	return create ? strmap_put(st->c_patients, patient) : strmap_get(st->c_patients, patient);
}

/* The number of rule key `key` in the cache's bitsets; -1 when they are
 * all taken (that key is then never cached). */
static int
store_cache_rule(struct store *st, const char *key)
{
	for (size_t i = 0; i < st->c_nrules; i++)
		if (strcmp(st->c_rules[i], key) == 0)
			return (int)i;
	if (st->c_nrules == STORE_CACHE_RULE_KEYS || strlen(key) > DHO_ID_MAX)
		return -1;
	snprintf(st->c_rules[st->c_nrules], sizeof(st->c_rules[0]), "%s", key);
	return (int)st->c_nrules++;
}

/* Drops the cache when another connection has committed since the last
 * look: whatever it wrote may be in any entry. */
static int
store_cache_check(struct store *st)
{
	sqlite3_stmt *s;
	int64_t v;
	int rc;

	if (st->c_patients == NULL)
		return DHO_OK;
	if ((s = store_stmt(st, SQL_DATA_VERSION)) == NULL)
		return DHO_EIO;
	rc = sqlite3_step(s);
	v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return store_rc(rc);
	if (v != st->c_version)
		store_cache_drop(st);
	st->c_version = v;
	return DHO_OK;
}

int
store_begin(struct store *st)
{
	int rc = store_exec(st, "BEGIN IMMEDIATE");

	if (rc == DHO_OK && (rc = store_cache_check(st)) != DHO_OK)
		store_rollback(st);
	return rc;
}

int
store_commit(struct store *st)
{
	return store_exec(st, "COMMIT");
}

void
store_rollback(struct store *st)
{
	/* A cached statement left on a row after an error keeps a read
	 * transaction open, and after a disk-full or I/O error SQLite's pager
	 * stays in its error state until no statement is active: every later
	 * write would fail with the old error although space has returned. */
	for (int i = 0; i < SQL_COUNT_; i++)
		if (st->stmt[i] != NULL)
			sqlite3_reset(st->stmt[i]);
	for (int i = 0; i < STORE_EXT_MAX; i++)
		if (st->ext[i] != NULL)
			sqlite3_reset(st->ext[i]);
	if (!sqlite3_get_autocommit(st->db))
		store_exec(st, "ROLLBACK");
	/* The cache may hold what was just undone. */
	store_cache_drop(st);
}

int
store_data_version(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &s, NULL) != SQLITE_OK)
		return DHO_EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? DHO_OK : store_rc(rc);
}

/* ---- patients ---- */

int
store_patient_add(struct store *st, const struct store_patient *p)
{
	sqlite3_stmt *s = store_stmt(st, SQL_PATIENT_ADD);
	struct store_cpatient *c;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, p->program, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, p->discharged);
	if (p->hospital_days >= 0)
		sqlite3_bind_int(s, 5, p->hospital_days);
	store_bind_text_or_null(s, 6, p->team);
	sqlite3_bind_int64(s, 7, p->enrolled_at);
	if ((c = store_cpatient(st, p->id, false)) != NULL)
		c->have = false;
	return store_step_done(s);
}

static void
store_row_patient(sqlite3_stmt *s, struct store_patient *p)
{
	memset(p, 0, sizeof(*p));
	store_col_text(s, 0, p->id, sizeof(p->id));
	store_col_text(s, 1, p->tenant, sizeof(p->tenant));
	store_col_text(s, 2, p->program, sizeof(p->program));
	p->discharged = sqlite3_column_int64(s, 3);
	p->hospital_days = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 4);
	store_col_text(s, 5, p->team, sizeof(p->team));
	p->enrolled_at = sqlite3_column_int64(s, 6);
	p->ended_at = sqlite3_column_int64(s, 7);
}

int
store_patient_get(struct store *st, const char *id, struct store_patient *out)
{
	struct store_cpatient *c = store_cpatient(st, id, false);
	sqlite3_stmt *s;
	int rc;

	if (c != NULL && c->have) {
		*out = c->p;
		return DHO_OK;
	}
	if ((s = store_stmt(st, SQL_PATIENT_GET)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_row_patient(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW && (c = store_cpatient(st, id, true)) != NULL) {
		c->have = true;
		c->p = *out;
	}
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store_rc(rc);
}

int
store_patient_end(struct store *st, const char *id, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_PATIENT_END);
	struct store_cpatient *c = store_cpatient(st, id, false);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if (c != NULL)
		c->have = false;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	rc = store_step_done(s);
	if (rc == DHO_OK && sqlite3_changes(st->db) == 0)
		return DHO_ENOTFOUND;
	return rc;
}

int
store_patient_list(struct store *st, store_patient_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_PATIENT_LIST);
	struct store_patient p;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row_patient(s, &p);
		if (cb(ctx, &p) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

int
store_patient_due(struct store *st, dho_time_t now, int limit, store_patient_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_PATIENT_DUE);
	struct store_patient p[64];
	int rc, n = 0;

	if (s == NULL)
		return DHO_EIO;
	if (limit > 64)
		limit = 64;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	/* Collected first: the callback writes to the same table. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < limit)
		store_row_patient(s, &p[n++]);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_rc(rc);
	for (int i = 0; i < n; i++)
		if ((rc = cb(ctx, &p[i])) != 0)
			return rc;
	return DHO_OK;
}

int
store_patient_check_at(struct store *st, const char *id, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, id ? SQL_PATIENT_CHECK : SQL_PATIENT_CHECK_ALL);

	if (s == NULL)
		return DHO_EIO;
	if (id) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, at);
	} else {
		sqlite3_bind_int64(s, 1, at);
	}
	return store_step_done(s);
}

int
store_last_reading(struct store *st, const char *patient, enum metric m, dho_time_t *at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_LAST_READING);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)m);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_NULL)
		rc = SQLITE_DONE;
	else if (rc == SQLITE_ROW)
		*at = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store_rc(rc);
}

/* ---- devices ---- */

int
store_device_assign(struct store *st, const char *device, const char *patient,
                    dho_time_t from)
{
	sqlite3_stmt *s = store_stmt(st, SQL_DEV_CLOSE);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if (st->c_devices != NULL)
		strmap_clear(st->c_devices);
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from);
	if ((rc = store_step_done(s)) != DHO_OK)
		return rc;
	if ((s = store_stmt(st, SQL_DEV_ADD)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, from);
	return store_step_done(s);
}

int
store_device_unassign(struct store *st, const char *device, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_DEV_CLOSE);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if (st->c_devices != NULL)
		strmap_clear(st->c_devices);
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	rc = store_step_done(s);
	if (rc == DHO_OK && sqlite3_changes(st->db) == 0)
		return DHO_ENOTFOUND;
	return rc;
}

int
store_device_release_all(struct store *st, const char *patient, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_DEV_RELEASE);

	if (s == NULL)
		return DHO_EIO;
	if (st->c_devices != NULL)
		strmap_clear(st->c_devices);
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	return store_step_done(s);
}

static void
store_row_assignment(sqlite3_stmt *s, struct store_assignment *a)
{
	store_col_text(s, 0, a->device, sizeof(a->device));
	store_col_text(s, 1, a->patient, sizeof(a->patient));
	a->from = sqlite3_column_int64(s, 2);
	a->to = sqlite3_column_int64(s, 3);
}

int
store_device_lookup(struct store *st, const char *device, dho_time_t at,
                    struct store_assignment *out)
{
	struct store_cdevice *c = st->c_devices ? strmap_get(st->c_devices, device) : NULL;
	sqlite3_stmt *s;
	int rc;

	/* An open assignment covers every time from its start on: no
	 * later one can exist without a write that dropped it from here. */
	if (c != NULL && c->a.from <= at) {
		*out = c->a;
		return DHO_OK;
	}
	if ((s = store_stmt(st, SQL_DEV_LOOKUP)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_row_assignment(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW && out->to == 0 && st->c_devices != NULL &&
	    (c = strmap_put(st->c_devices, device)) != NULL)
		c->a = *out;
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store_rc(rc);
}

int
store_device_list(struct store *st, const char *patient, store_assignment_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, patient ? SQL_DEV_LIST_P : SQL_DEV_LIST);
	struct store_assignment a;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if (patient)
		sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row_assignment(s, &a);
		if (cb(ctx, &a) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- rules ---- */

int
store_rule_set(struct store *st, const char *patient, const char *key, const char *spec)
{
	sqlite3_stmt *s = store_stmt(st, SQL_RULE_SET);
	struct store_cpatient *c = store_cpatient(st, patient, false);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, spec, -1, SQLITE_STATIC);
	if (c != NULL)
		c->overrides = SC_UNKNOWN;
	if ((rc = store_step_done(s)) != DHO_OK)
		return rc;
	return store_patient_check_at(st, patient, 0);
}

int
store_rule_unset(struct store *st, const char *patient, const char *key)
{
	sqlite3_stmt *s = store_stmt(st, SQL_RULE_UNSET);
	struct store_cpatient *c = store_cpatient(st, patient, false);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	if (c != NULL)
		c->overrides = SC_UNKNOWN;
	rc = store_step_done(s);
	if (rc == DHO_OK && sqlite3_changes(st->db) == 0)
		return DHO_ENOTFOUND;
	if (rc != DHO_OK)
		return rc;
	return store_patient_check_at(st, patient, 0);
}

int
store_rule_list(struct store *st, const char *patient, store_rule_cb cb, void *ctx)
{
	struct store_cpatient *c = store_cpatient(st, patient, false);
	sqlite3_stmt *s;
	int rc, rows = 0;

	/* Most patients follow their program: no override to read. */
	if (c != NULL && c->overrides == SC_NONE)
		return DHO_OK;
	if ((s = store_stmt(st, SQL_RULE_LIST)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows++;
		if (cb(ctx, (const char *)sqlite3_column_text(s, 0),
		       (const char *)sqlite3_column_text(s, 1)) != 0)
			break;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE && (c = store_cpatient(st, patient, true)) != NULL)
		c->overrides = rows == 0 ? SC_NONE : SC_SOME;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- readings ---- */

int
store_claim_seq(struct store *st, const char *device, uint64_t seq)
{
	sqlite3_stmt *s = store_stmt(st, SQL_SEEN);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	/* SQLite integers are signed 64-bit: keep the bit pattern. */
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	rc = store_step_done(s);
	if (rc == DHO_OK && sqlite3_changes(st->db) == 0)
		return DHO_EEXIST;
	return rc;
}

static int
store_bump(struct store *st, const char *counter, int64_t by)
{
	sqlite3_stmt *s = store_stmt(st, SQL_COUNT_BUMP);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, counter, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, by);
	return store_step_done(s);
}

int
store_message_seen(struct store *st, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_LAST_MSG);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, at);
	return store_step_done(s);
}

int
store_reading_add(struct store *st, const struct store_reading *r)
{
	sqlite3_stmt *s = store_stmt(st, SQL_READING_ADD);
	struct store_cpatient *c;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, r->patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->device, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)r->r.metric);
	sqlite3_bind_double(s, 4, r->r.value);
	sqlite3_bind_int(s, 5, r->r.decimals);
	sqlite3_bind_int64(s, 6, r->r.measured_at);
	sqlite3_bind_int64(s, 7, r->received_at);
	sqlite3_bind_int64(s, 8, r->r.flags);
	if (r->has_seq)
		sqlite3_bind_int64(s, 9, (sqlite3_int64)r->seq);
	/* No counter is written here: a reading's transaction touches only
	 * the pages of its row and its index (store_stats() counts). */
	if ((rc = store_step_done(s)) != DHO_OK)
		return rc;
	/* A known newest reading of its metric is this one if it is not
	 * older (a later row wins a tie, as in the window's order). */
	if ((c = store_cpatient(st, r->patient, false)) != NULL && !(r->r.flags & RFLAG_INVALID) &&
	    c->latest[r->r.metric].state != SC_UNKNOWN &&
	    (c->latest[r->r.metric].state == SC_NONE || r->r.measured_at >= c->latest[r->r.metric].at)) {
		c->latest[r->r.metric].state = SC_SOME;
		c->latest[r->r.metric].at = r->r.measured_at;
		c->latest[r->r.metric].value = r->r.value;
	}
	return DHO_OK;
}

int
store_reading_list(struct store *st, const char *patient, int metric, dho_time_t since,
                   store_reading_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_READING_LIST);
	struct store_reading r;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, metric);
	sqlite3_bind_int64(s, 3, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		store_col_text(s, 0, r.patient, sizeof(r.patient));
		store_col_text(s, 1, r.device, sizeof(r.device));
		r.r.metric = (enum metric)sqlite3_column_int(s, 2);
		r.r.value = sqlite3_column_double(s, 3);
		r.r.decimals = sqlite3_column_int(s, 4);
		r.r.measured_at = sqlite3_column_int64(s, 5);
		r.received_at = sqlite3_column_int64(s, 6);
		r.r.flags = (uint32_t)sqlite3_column_int64(s, 7);
		r.has_seq = sqlite3_column_type(s, 8) != SQLITE_NULL;
		r.seq = (uint64_t)sqlite3_column_int64(s, 8);
		if (cb(ctx, &r) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* Fills c's newest reading of m from the table when it is not known. */
static int
store_cache_latest(struct store *st, const char *patient, enum metric m,
                   struct store_cpatient *c)
{
	sqlite3_stmt *s;
	int rc;

	if (c->latest[m].state != SC_UNKNOWN)
		return DHO_OK;
	if ((s = store_stmt(st, SQL_READING_LATEST)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)m);
	sqlite3_bind_int64(s, 3, RFLAG_INVALID);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		c->latest[m].state = SC_SOME;
		c->latest[m].value = sqlite3_column_double(s, 0);
		c->latest[m].at = sqlite3_column_int64(s, 1);
	} else if (rc == SQLITE_DONE) {
		c->latest[m].state = SC_NONE;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

int
store_reading_window(struct store *st, const char *patient, enum metric m,
                     dho_time_t from, dho_time_t to, struct rules_sample *out, size_t cap,
                     size_t *n)
{
	sqlite3_stmt *s;
	struct store_cpatient *c;
	int rc;

	*n = 0;
	/* The newest reading alone (NEWS2's question for each parameter)
	 * comes from the cache when it is older than the window's end. */
	if (cap == 1 && (c = store_cpatient(st, patient, true)) != NULL) {
		if ((rc = store_cache_latest(st, patient, m, c)) != DHO_OK)
			return rc;
		if (c->latest[m].state == SC_NONE)
			return DHO_OK;
		if (c->latest[m].at < to) {
			if (c->latest[m].at >= from) {
				out[0] = (struct rules_sample){ c->latest[m].value, c->latest[m].at };
				*n = 1;
			}
			return DHO_OK;
		}
	}
	if ((s = store_stmt(st, SQL_READING_WINDOW)) == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)m);
	sqlite3_bind_int64(s, 3, from);
	sqlite3_bind_int64(s, 4, to);
	sqlite3_bind_int64(s, 5, RFLAG_INVALID);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
		out[*n].value = sqlite3_column_double(s, 0);
		out[*n].at = sqlite3_column_int64(s, 1);
		(*n)++;
	}
	sqlite3_reset(s);
	for (size_t i = 0, j = *n; j > i + 1; i++, j--) {
		struct rules_sample t = out[i];

		out[i] = out[j - 1];
		out[j - 1] = t;
	}
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- quarantine ---- */

int
store_quarantine_add(struct store *st, const struct store_quarantine *q)
{
	sqlite3_stmt *s = store_stmt(st, SQL_QUAR_ADD);
	unsigned char sha[32];
	unsigned int shalen = 0;
	size_t keep = q->len < STORE_QUARANTINE_KEEP ? q->len : STORE_QUARANTINE_KEEP;
	int64_t id;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if (EVP_Digest(q->len ? q->payload : "", q->len, sha, &shalen, EVP_sha256(), NULL) != 1 ||
	    shalen != sizeof(sha))
		return DHO_ENOMEM;
	sqlite3_bind_int64(s, 1, q->at);
	sqlite3_bind_text(s, 2, q->topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, q->reason, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, keep ? q->payload : "", (int)keep, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)q->len);
	sqlite3_bind_blob(s, 6, sha, (int)sizeof(sha), SQLITE_STATIC);
	if ((rc = store_step_done(s)) != DHO_OK)
		return rc;
	id = sqlite3_last_insert_rowid(st->db);
	if ((rc = store_bump(st, "quarantined", 1)) != DHO_OK)
		return rc;
	if (q->keep_rows > 0) {
		if ((s = store_stmt(st, SQL_QUAR_PRUNE)) == NULL)
			return DHO_EIO;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, q->keep_rows);
		if ((rc = store_step_done(s)) != DHO_OK)
			return rc;
		if (sqlite3_changes(st->db) > 0 &&
		    (rc = store_bump(st, "quarantine_pruned", sqlite3_changes(st->db))) != DHO_OK)
			return rc;
	}
	return store_message_seen(st, q->at);
}

int
store_quarantine_list(struct store *st, dho_time_t since, int64_t limit,
                      store_quarantine_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_QUAR_LIST);
	struct store_quarantine q;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&q, 0, sizeof(q));
		q.at = sqlite3_column_int64(s, 0);
		q.topic = (const char *)sqlite3_column_text(s, 1);
		q.reason = (const char *)sqlite3_column_text(s, 2);
		q.payload = sqlite3_column_blob(s, 3);
		q.len = (size_t)sqlite3_column_bytes(s, 3);
		q.length = sqlite3_column_int64(s, 4);
		if (sqlite3_column_bytes(s, 5) == (int)sizeof(q.sha256)) {
			memcpy(q.sha256, sqlite3_column_blob(s, 5), sizeof(q.sha256));
			q.has_sha256 = true;
		}
		if (cb(ctx, &q) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- alerts ---- */

static void
store_row_alert(sqlite3_stmt *s, struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, a->patient, sizeof(a->patient));
	store_col_text(s, 2, a->tenant, sizeof(a->tenant));
	store_col_text(s, 3, a->rule, sizeof(a->rule));
	store_col_text(s, 4, a->team, sizeof(a->team));
	a->severity = (enum alert_severity)sqlite3_column_int(s, 5);
	a->state = (enum alert_state)sqlite3_column_int(s, 6);
	a->level = sqlite3_column_int(s, 7);
	a->cleared = sqlite3_column_int(s, 8) != 0;
	a->normal_count = sqlite3_column_int(s, 9);
	store_col_text(s, 10, a->metric, sizeof(a->metric));
	a->value = sqlite3_column_double(s, 11);
	a->decimals = sqlite3_column_int(s, 12);
	store_col_text(s, 13, a->unit, sizeof(a->unit));
	a->measured_at = sqlite3_column_int64(s, 14);
	a->opened_at = sqlite3_column_int64(s, 15);
	a->updated_at = sqlite3_column_int64(s, 16);
	store_col_text(s, 17, a->reason, sizeof(a->reason));
	store_col_text(s, 18, a->last_event, sizeof(a->last_event));
	a->has_news2 = sqlite3_column_type(s, 19) != SQLITE_NULL;
	a->news2_total = sqlite3_column_int(s, 19);
	store_col_text(s, 20, a->news2_risk, sizeof(a->news2_risk));
	store_col_text(s, 21, a->by, sizeof(a->by));
	store_col_text(s, 22, a->note, sizeof(a->note));
	a->due_at = sqlite3_column_int64(s, 23);
	a->version = sqlite3_column_int64(s, 24);
}

static int
store_alert_one(struct store *st, sqlite3_stmt *s, struct alert *out)
{
	int rc = sqlite3_step(s);

	(void)st;
	if (rc == SQLITE_ROW)
		store_row_alert(s, out);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : rc == SQLITE_DONE ? DHO_ENOTFOUND : store_rc(rc);
}

/* Fills c with the rule keys of patient's unresolved alerts. A key the
 * cache cannot number is never answered from it (store_alert_find_open()
 * reads that rule alone), so it needs no bit. */
static int
store_cache_alerts(struct store *st, const char *patient, struct store_cpatient *c)
{
	sqlite3_stmt *s = store_stmt(st, SQL_ALERT_OPEN_RULES);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	memset(c->open_alert, 0, sizeof(c->open_alert));
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int k = store_cache_rule(st, (const char *)sqlite3_column_text(s, 0));

		if (k >= 0)
			c->open_alert[k / 64] |= (uint64_t)1 << (k % 64);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_rc(rc);
	c->alerts_known = true;
	return DHO_OK;
}

int
store_alert_find_open(struct store *st, const char *patient, const char *rule,
                      struct alert *out)
{
	sqlite3_stmt *s = store_stmt(st, SQL_ALERT_OPEN);
	struct store_cpatient *c = store_cpatient(st, patient, true);
	int k = c != NULL ? store_cache_rule(st, rule) : -1, rc;

	/* Most rules of most patients have no alert: one read of the
	 * patient's unresolved alerts answers for all its rules. */
	if (k >= 0 && !c->alerts_known && (rc = store_cache_alerts(st, patient, c)) != DHO_OK)
		return rc;
	if (k >= 0 && !(c->open_alert[k / 64] >> (k % 64) & 1))
		return DHO_ENOTFOUND;
	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, rule, -1, SQLITE_STATIC);
	return store_alert_one(st, s, out);
}

int
store_alert_get(struct store *st, int64_t id, struct alert *out)
{
	sqlite3_stmt *s = store_stmt(st, SQL_ALERT_GET);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, id);
	return store_alert_one(st, s, out);
}

int
store_alert_save(struct store *st, struct alert *a)
{
	sqlite3_stmt *s = store_stmt(st, a->id ? SQL_ALERT_UPDATE : SQL_ALERT_INSERT);
	struct store_cpatient *c;
	int rc, k;

	if (s == NULL)
		return DHO_EIO;
	if (a->id)
		sqlite3_bind_int64(s, 1, a->id);
	sqlite3_bind_text(s, 2, a->patient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->team, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)a->severity);
	sqlite3_bind_int(s, 7, (int)a->state);
	sqlite3_bind_int(s, 8, a->level);
	sqlite3_bind_int(s, 9, a->cleared);
	sqlite3_bind_int(s, 10, a->normal_count);
	sqlite3_bind_text(s, 11, a->metric, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 12, a->value);
	sqlite3_bind_int(s, 13, a->decimals);
	sqlite3_bind_text(s, 14, a->unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 15, a->measured_at);
	sqlite3_bind_int64(s, 16, a->opened_at);
	sqlite3_bind_int64(s, 17, a->updated_at);
	sqlite3_bind_text(s, 18, a->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 19, a->last_event, -1, SQLITE_STATIC);
	if (a->has_news2) {
		sqlite3_bind_int(s, 20, a->news2_total);
		sqlite3_bind_text(s, 21, a->news2_risk, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(s, 22, a->by, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 23, a->note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 24, a->due_at);
	sqlite3_bind_int64(s, 25, a->version);
	rc = store_step_done(s);
	if (rc == DHO_OK && a->id == 0)
		a->id = sqlite3_last_insert_rowid(st->db);
	if (rc == DHO_OK && (c = store_cpatient(st, a->patient, false)) != NULL &&
	    (k = store_cache_rule(st, a->rule)) >= 0) {
		if (a->state == ALERT_RESOLVED)
			c->open_alert[k / 64] &= ~((uint64_t)1 << (k % 64));
		else
			c->open_alert[k / 64] |= (uint64_t)1 << (k % 64);
	}
	return rc;
}

int
store_alert_next_due(struct store *st, dho_time_t now, struct alert *out)
{
	sqlite3_stmt *s = store_stmt(st, SQL_ALERT_DUE);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, now);
	return store_alert_one(st, s, out);
}

int
store_alert_list(struct store *st, const struct store_alert_filter *f, store_alert_cb cb,
                 void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_ALERT_LIST);
	struct alert a;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	store_bind_text_or_null(s, 1, f->team);
	store_bind_text_or_null(s, 2, f->patient);
	sqlite3_bind_int(s, 3, f->state);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row_alert(s, &a);
		if (cb(ctx, &a) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- outbox ---- */

int
store_outbox_add(struct store *st, int64_t alert_id, const char *team, bool webhook,
                 const char *body, dho_time_t at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_OUTBOX_ADD);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, alert_id);
	sqlite3_bind_text(s, 2, team, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, at);
	sqlite3_bind_int(s, 6, !webhook);
	return store_step_done(s);
}

/* Fills out from a row of OUTBOX_COLS; its body is the store's. */
static int
store_row_outbox(struct store *st, sqlite3_stmt *s, struct store_outbox *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	out->alert_id = sqlite3_column_int64(s, 1);
	store_col_text(s, 2, out->topic_team, sizeof(out->topic_team));
	free(st->outbox_body);
	st->outbox_body = strdup((const char *)sqlite3_column_text(s, 3));
	out->body = st->outbox_body;
	out->mqtt_done = sqlite3_column_int(s, 4) != 0;
	out->webhook_done = sqlite3_column_int(s, 5) != 0;
	out->attempts = sqlite3_column_int(s, 6);
	out->next_at = sqlite3_column_int64(s, 7);
	return out->body == NULL ? DHO_ENOMEM : DHO_OK;
}

/* The outbox row bound statement s selects, into out; DHO_ENOTFOUND when
 * there is none. */
static int
store_outbox_one(struct store *st, sqlite3_stmt *s, struct store_outbox *out)
{
	int rc = sqlite3_step(s), row = DHO_OK;

	if (rc == SQLITE_ROW)
		row = store_row_outbox(st, s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return row;
	return rc == SQLITE_DONE ? DHO_ENOTFOUND : store_rc(rc);
}

int
store_outbox_next(struct store *st, enum store_channel ch, int64_t after_id,
                  struct store_outbox *out)
{
	sqlite3_stmt *s = store_stmt(st, ch == STORE_CH_MQTT ? SQL_OUTBOX_NEXT_MQTT : SQL_OUTBOX_NEXT_HOOK);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, after_id);
	return store_outbox_one(st, s, out);
}

/* ---- webhook delivery by team ---- */

int
store_outbox_hook_teams(struct store *st, store_team_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_HOOK_TEAMS);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(ctx, (const char *)sqlite3_column_text(s, 0)) != 0)
			break;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

int
store_outbox_next_hook(struct store *st, const char *team, struct store_outbox *out)
{
	sqlite3_stmt *s = store_stmt(st, SQL_HOOK_NEXT);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_text(s, 1, team, -1, SQLITE_STATIC);
	return store_outbox_one(st, s, out);
}

int
store_outbox_hook_failed(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store_stmt(st, SQL_HOOK_FAILED);
	int rc;

	if (s == NULL)
		return DHO_EIO;
	if ((rc = store_begin(st)) != DHO_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step_done(s);
	if (rc == DHO_OK && sqlite3_changes(st->db) > 0)
		rc = store_bump(st, "webhook_failed", 1);
	if (rc == DHO_OK)
		return store_commit(st);
	store_rollback(st);
	return rc;
}

int
store_outbox_done(struct store *st, int64_t id, enum store_channel ch)
{
	sqlite3_stmt *s = store_stmt(st, ch == STORE_CH_MQTT ? SQL_OUTBOX_DONE_MQTT : SQL_OUTBOX_DONE_HOOK);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, id);
	return store_step_done(s);
}

int
store_outbox_retry(struct store *st, int64_t id, dho_time_t next_at)
{
	sqlite3_stmt *s = store_stmt(st, SQL_OUTBOX_RETRY);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, next_at);
	return store_step_done(s);
}

/* ---- audit ---- */

int
store_audit_add(struct store *st, const struct store_audit *a)
{
	sqlite3_stmt *s = store_stmt(st, SQL_AUDIT_ADD);

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, a->at);
	sqlite3_bind_text(s, 2, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->object, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->detail ? a->detail : "", -1, SQLITE_STATIC);
	return store_step_done(s);
}

int
store_audit_list(struct store *st, dho_time_t since, store_audit_cb cb, void *ctx)
{
	sqlite3_stmt *s = store_stmt(st, SQL_AUDIT_LIST);
	struct store_audit a;
	int rc;

	if (s == NULL)
		return DHO_EIO;
	sqlite3_bind_int64(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		a.at = sqlite3_column_int64(s, 0);
		a.actor = (const char *)sqlite3_column_text(s, 1);
		a.action = (const char *)sqlite3_column_text(s, 2);
		a.object = (const char *)sqlite3_column_text(s, 3);
		a.detail = (const char *)sqlite3_column_text(s, 4);
		if (cb(ctx, &a) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DHO_OK : store_rc(rc);
}

/* ---- stats ---- */

int
store_counters_fold(struct store *st)
{
	static const enum store_sql steps[] = { SQL_FOLD_READINGS, SQL_FOLD_LAST, SQL_FOLD_MARK };
	int rc = DHO_OK;

	for (size_t i = 0; rc == DHO_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		sqlite3_stmt *s = store_stmt(st, steps[i]);

		rc = s != NULL ? store_step_done(s) : DHO_EIO;
	}
	return rc;
}

int
store_stats(struct store *st, struct store_stats *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((s = store_stmt(st, SQL_STATS_COUNTERS)) == NULL)
		return DHO_EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		int64_t v = sqlite3_column_int64(s, 1);

		if (strcmp(name, "readings") == 0)
			out->readings = v;
		else if (strcmp(name, "quarantined") == 0)
			out->quarantined = v;
		else if (strcmp(name, "quarantine_pruned") == 0)
			out->quarantine_pruned = v;
		else if (strcmp(name, "webhook_failed") == 0)
			out->webhook_failed = v;
		else if (strcmp(name, "last_message_at") == 0)
			out->last_message_at = v;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_rc(rc);
	if ((s = store_stmt(st, SQL_STATS_READINGS)) == NULL)
		return DHO_EIO;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		out->readings += sqlite3_column_int64(s, 0);
		if (sqlite3_column_int64(s, 1) > out->last_message_at)
			out->last_message_at = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return store_rc(rc);
	if ((s = store_stmt(st, SQL_STATS_ALERTS)) == NULL)
		return DHO_EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(s, 1);

		switch (sqlite3_column_int(s, 0)) {
		case ALERT_OPEN: out->open = v; break;
		case ALERT_ACKED: out->acked = v; break;
		case ALERT_RESOLVED: out->resolved = v; break;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_rc(rc);
	if ((s = store_stmt(st, SQL_STATS_OUTBOX)) == NULL)
		return DHO_EIO;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		out->outbox_pending = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DHO_OK : store_rc(rc);
}

/* ---- deploy: backup and retention ---- */

/* Runs one statement with up to three integer parameters and adds the
 * number of rows it changed to *n. */
static int
store_exec_count(struct store *st, const char *sql, int64_t a, int64_t b, int64_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return DHO_EIO;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && n != NULL)
		*n += sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE && n != NULL)
		*n += sqlite3_changes(st->db);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? DHO_OK : store_rc(rc);
}

int
store_backup(struct store *st, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int fd, rc = DHO_EIO, src;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: the path is too long", path);
		return DHO_EINVAL;
	}
	/* The copy is written beside its final name, created 0600 by
	 * mkstemp(), and renamed into place only when complete: no reader
	 * ever finds half a backup under FILE. */
	fd = mkstemp(tmp);
	if (fd < 0 && errno == ENOENT) {
		snprintf(err, errlen, "cannot create %s: its directory does not exist", path);
		return DHO_EIO;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return DHO_EIO;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", tmp,
		         dst ? sqlite3_errmsg(dst) : "out of memory");
		goto done;
	}
	b = sqlite3_backup_init(dst, "main", st->db, "main");
	if (b == NULL) {
		snprintf(err, errlen, "cannot start the backup: %s", sqlite3_errmsg(dst));
		goto done;
	}
	/* All pages in one step: one read transaction, so the copy is the
	 * database as it was when the step began. In WAL mode the daemon goes
	 * on writing meanwhile; copying in slices would start over each time
	 * it commits, and under steady ingest might never end. */
	do {
		src = sqlite3_backup_step(b, -1);
		if (src == SQLITE_BUSY || src == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (src == SQLITE_BUSY || src == SQLITE_LOCKED);
	if (sqlite3_backup_finish(b) != SQLITE_OK || src != SQLITE_DONE) {
		snprintf(err, errlen, "the backup failed: %s", sqlite3_errmsg(dst));
		b = NULL;
		goto done;
	}
	b = NULL;
	/* One self-contained file: no -wal beside it to forget when copying. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot finish %s: %s", tmp, sqlite3_errmsg(dst));
		goto done;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "cannot close %s: %s", tmp, sqlite3_errmsg(dst));
		goto done;
	}
	dst = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto done;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto done;
	}
	rc = DHO_OK;
done:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (dst != NULL)
		sqlite3_close(dst);
	if (rc != DHO_OK)
		unlink(tmp);
	return rc;
}

/* The patients whose follow-up ended at or before ?1. */
#define PURGE_PATIENTS "(SELECT id FROM patients WHERE ended_at IS NOT NULL AND ended_at <= ?1)"

int
store_purge(struct store *st, dho_time_t now, int days, const char *actor,
            struct store_purge *out)
{
	/* The devices' quarantine entries while they were assigned to such a
	 * patient: their topic names the device. */
	static const char quarantine_of_patients[] =
		"DELETE FROM quarantine WHERE id IN (SELECT q.id FROM quarantine q"
		" JOIN assignments a ON a.patient IN " PURGE_PATIENTS
		" AND q.at >= a.from_ts AND (a.to_ts IS NULL OR q.at < a.to_ts)"
		" AND instr(q.topic, '/dev/' || a.device || '/') > 0)";
	char detail[256], cutoff_s[TIMEFMT_LEN];
	struct store_audit a;
	int rc;

	memset(out, 0, sizeof(*out));
	out->cutoff = now - (dho_time_t)days * 86400;
	if ((rc = store_begin(st)) != DHO_OK)
		return rc;
	/* The readings counter covers the rows up to its mark: fold it first,
	 * so that stats goes on counting every reading ever stored. */
	rc = store_counters_fold(st);
	if (rc == DHO_OK)
		rc = store_exec_count(st, "SELECT count(*) FROM patients p WHERE p.id IN " PURGE_PATIENTS
		                      " AND (EXISTS (SELECT 1 FROM readings r WHERE r.patient = p.id)"
		                      " OR EXISTS (SELECT 1 FROM alerts l WHERE l.patient = p.id))",
		                      out->cutoff, 0, &out->patients);
	if (rc == DHO_OK)
		rc = store_exec_count(st, "DELETE FROM readings WHERE patient IN " PURGE_PATIENTS,
		                      out->cutoff, 0, &out->readings);
	if (rc == DHO_OK)
		rc = store_exec_count(st, "DELETE FROM outbox WHERE alert_id IN (SELECT id FROM alerts"
		                      " WHERE patient IN " PURGE_PATIENTS ")", out->cutoff, 0,
		                      &out->outbox);
	if (rc == DHO_OK)
		rc = store_exec_count(st, "DELETE FROM alerts WHERE patient IN " PURGE_PATIENTS,
		                      out->cutoff, 0, &out->alerts);
	if (rc == DHO_OK)
		rc = store_exec_count(st, quarantine_of_patients, out->cutoff, 0, &out->quarantine);
	if (rc == DHO_OK)
		rc = store_exec_count(st, "DELETE FROM quarantine WHERE at <= ?1", out->cutoff, 0,
		                      &out->quarantine);
	if (rc == DHO_OK) {
		timefmt_format(out->cutoff, cutoff_s);
		snprintf(detail, sizeof(detail), "readings %" PRId64 ", alerts %" PRId64 ", outbox %"
		         PRId64 ", quarantine %" PRId64 ", patients %" PRId64 "; follow-ups ended "
		         "and quarantine entries before %s", out->readings, out->alerts, out->outbox,
		         out->quarantine, out->patients, cutoff_s);
		a = (struct store_audit){ .at = now, .actor = actor, .action = "purge",
		                          .object = "retention", .detail = detail };
		rc = store_audit_add(st, &a);
	}
	if (rc == DHO_OK)
		return store_commit(st);
	store_rollback(st);
	return rc;
}
