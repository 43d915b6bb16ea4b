/*
 * test_store.c: the store against a real SQLite file: migrations, the
 * idempotency key, attribution by time, the one-unresolved-alert index and
 * the outbox channels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[DHO_ERRLEN];

	snprintf(f->dir, sizeof(f->dir), "/tmp/dho-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open(f->path, STORE_CREATE, &f->st, err, sizeof(err)), DHO_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	store_close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
add_patient(struct store *st, const char *id, const char *tenant)
{
	struct store_patient p = { .hospital_days = -1, .discharged = 1000, .enrolled_at = 1000 };

	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant);
	snprintf(p.program, sizeof(p.program), "copd");
	assert_int_equal(store_patient_add(st, &p), DHO_OK);
}

static void
test_reopen_keeps_schema(void **state)
{
	struct fixture *f = *state;
	struct store *again = NULL;
	struct store_patient p;
	char err[DHO_ERRLEN];

	add_patient(f->st, "P1", "vefsn");
	assert_int_equal(store_open(f->path, 0, &again, err, sizeof(err)), DHO_OK);
	assert_int_equal(store_patient_get(again, "P1", &p), DHO_OK);
	assert_string_equal(p.tenant, "vefsn");
	assert_int_equal(p.hospital_days, -1);
	assert_int_equal(store_patient_get(again, "P2", &p), DHO_ENOTFOUND);
	store_close(again);
}

static void
test_duplicate_patient(void **state)
{
	struct fixture *f = *state;
	struct store_patient p = { .id = "P1", .tenant = "t", .program = "copd", .hospital_days = -1 };

	assert_int_equal(store_patient_add(f->st, &p), DHO_OK);
	assert_int_equal(store_patient_add(f->st, &p), DHO_EEXIST);
}

static void
test_seq_claimed_once(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_claim_seq(f->st, "oxy-1", 7), DHO_OK);
	assert_int_equal(store_claim_seq(f->st, "oxy-1", 7), DHO_EEXIST);
	assert_int_equal(store_claim_seq(f->st, "oxy-2", 7), DHO_OK);
	/* The whole unsigned range is a key, including values above INT64_MAX. */
	assert_int_equal(store_claim_seq(f->st, "oxy-1", UINT64_MAX), DHO_OK);
	assert_int_equal(store_claim_seq(f->st, "oxy-1", UINT64_MAX), DHO_EEXIST);
	assert_int_equal(store_claim_seq(f->st, "oxy-1", (uint64_t)INT64_MAX + 1), DHO_OK);
}

/* With the checkpoint thread, a stream of small commits keeps the WAL
 * near the 1,000 pages at which it asks for a checkpoint: the WAL starts
 * over again and again instead of growing with every commit. */
static void
test_checkpoint_thread_bounds_wal(void **state)
{
	struct fixture *f = *state;
	char wal[160];
	struct stat sb;

	add_patient(f->st, "P1", "vefsn");
	assert_int_equal(store_checkpoint_thread(f->st), DHO_OK);
	assert_int_equal(store_checkpoint_thread(f->st), DHO_OK);   /* once is enough */
	for (int i = 0; i < 20000; i++) {
		struct store_reading r = { .patient = "P1", .device = "oxy-1", .has_seq = true };

		r.seq = (uint64_t)i;
		r.r.metric = METRIC_SPO2;
		r.r.value = 95;
		r.r.measured_at = r.received_at = 1000 + i;
		assert_int_equal(store_begin(f->st), DHO_OK);
		assert_int_equal(store_claim_seq(f->st, r.device, r.seq), DHO_OK);
		assert_int_equal(store_reading_add(f->st, &r), DHO_OK);
		assert_int_equal(store_commit(f->st), DHO_OK);
	}
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	/* Without restarts the WAL holds every commit's pages: some 60,000
	 * pages, over 250 MiB. Started over, the file keeps the largest size
	 * it reached: about 1,000 to 3,000 pages here, more on a loaded
	 * machine, where the thread's pass takes longer while commits go on. */
	print_message("WAL after 20,000 commits: %lld bytes\n", (long long)sb.st_size);
	assert_true(sb.st_size <= 64LL * 1024 * 1024);
}

static void
test_assignment_by_time(void **state)
{
	struct fixture *f = *state;
	struct store_assignment a;

	add_patient(f->st, "P1", "vefsn");
	add_patient(f->st, "P2", "vefsn");
	assert_int_equal(store_device_assign(f->st, "oxy-1", "P1", 100), DHO_OK);
	assert_int_equal(store_device_assign(f->st, "oxy-1", "P2", 500), DHO_OK);
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 50, &a), DHO_ENOTFOUND);
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 100, &a), DHO_OK);
	assert_string_equal(a.patient, "P1");
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 499, &a), DHO_OK);
	assert_string_equal(a.patient, "P1");
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 500, &a), DHO_OK);
	assert_string_equal(a.patient, "P2");
	assert_int_equal(store_device_unassign(f->st, "oxy-1", 900), DHO_OK);
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 950, &a), DHO_ENOTFOUND);
	assert_int_equal(store_device_unassign(f->st, "oxy-1", 950), DHO_ENOTFOUND);
}

static void
add_reading(struct store *st, const char *patient, enum metric m, double v, dho_time_t at,
            uint32_t flags)
{
	struct store_reading r = { .r = { m, v, 0, at, flags }, .received_at = at };

	snprintf(r.patient, sizeof(r.patient), "%s", patient);
	snprintf(r.device, sizeof(r.device), "dev");
	assert_int_equal(store_reading_add(st, &r), DHO_OK);
}

static void
test_window_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct rules_sample v[4];
	size_t n;

	for (int i = 0; i < 10; i++)
		add_reading(f->st, "P1", METRIC_WEIGHT, 80 + i, 1000 + i * 10, 0);
	add_reading(f->st, "P1", METRIC_WEIGHT, 200, 1055, RFLAG_INVALID);
	add_reading(f->st, "P2", METRIC_WEIGHT, 300, 1050, 0);
	add_reading(f->st, "P1", METRIC_SPO2, 90, 1050, 0);
	/* [1020, 1070): readings 2..6, the invalid one left out. */
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_WEIGHT, 1020, 1070, v, 4, &n), DHO_OK);
	/* Only the newest four fit, oldest first. */
	assert_int_equal(n, 4);
	assert_true(v[0].value == 83 && v[1].value == 84 && v[2].value == 85 && v[3].value == 86);
	assert_int_equal(v[0].at, 1030);
	assert_int_equal(v[3].at, 1060);
}

static void
test_one_unresolved_alert(void **state)
{
	struct fixture *f = *state;
	struct alert a = { .patient = "P1", .tenant = "vefsn", .rule = "threshold.spo2",
	                   .team = "home-nursing/vefsn", .severity = ALERT_SEV_RED,
	                   .state = ALERT_OPEN, .last_event = "opened" };
	struct alert b = a, got;

	assert_int_equal(store_alert_save(f->st, &a), DHO_OK);
	assert_true(a.id > 0);
	/* The database refuses a second unresolved alert for the same rule. */
	assert_int_equal(store_alert_save(f->st, &b), DHO_EEXIST);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &got), DHO_OK);
	assert_int_equal(got.id, a.id);
	a.state = ALERT_RESOLVED;
	assert_int_equal(store_alert_save(f->st, &a), DHO_OK);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &got), DHO_ENOTFOUND);
	b.id = 0;
	assert_int_equal(store_alert_save(f->st, &b), DHO_OK);
}

static void
test_outbox_channels(void **state)
{
	struct fixture *f = *state;
	struct store_outbox ev;
	struct store_stats s;

	assert_int_equal(store_outbox_add(f->st, 1, "a/b", false, "{\"n\":1}", 10), DHO_OK);
	assert_int_equal(store_outbox_add(f->st, 1, "a/b", true, "{\"n\":2}", 11), DHO_OK);
	assert_int_equal(store_outbox_next(f->st, STORE_CH_MQTT, 0, &ev), DHO_OK);
	assert_string_equal(ev.body, "{\"n\":1}");
	assert_int_equal(store_outbox_done(f->st, ev.id, STORE_CH_MQTT), DHO_OK);
	assert_int_equal(store_outbox_next(f->st, STORE_CH_MQTT, 0, &ev), DHO_OK);
	assert_string_equal(ev.body, "{\"n\":2}");
	/* Only the second has a webhook. */
	assert_int_equal(store_outbox_next(f->st, STORE_CH_WEBHOOK, 0, &ev), DHO_OK);
	assert_string_equal(ev.topic_team, "a/b");
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.outbox_pending, 1);
	assert_int_equal(store_outbox_done(f->st, ev.id, STORE_CH_WEBHOOK), DHO_OK);
	assert_int_equal(store_outbox_done(f->st, ev.id, STORE_CH_MQTT), DHO_OK);
	assert_int_equal(store_outbox_next(f->st, STORE_CH_MQTT, 0, &ev), DHO_ENOTFOUND);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.outbox_pending, 0);
}

static void
test_rollback_discards(void **state)
{
	struct fixture *f = *state;
	struct store_stats s;

	assert_int_equal(store_begin(f->st), DHO_OK);
	add_reading(f->st, "P1", METRIC_SPO2, 90, 1000, 0);
	store_rollback(f->st);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.readings, 0);
	assert_int_equal(store_begin(f->st), DHO_OK);
	add_reading(f->st, "P1", METRIC_SPO2, 90, 1000, 0);
	assert_int_equal(store_commit(f->st), DHO_OK);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.readings, 1);
	assert_int_equal(s.last_message_at, 1000);
}

/* Runs sql on the file at path through SQLite alone, as another
 * application would. */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The first text column of the first row of sql on path. */
static void
raw_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * Without STORE_CREATE a missing or empty file is refused and not
 * created; with or without it, another application's SQLite file is
 * refused and left as it was (no tables added, no WAL).
 */
static void
test_open_refuses(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char path[160], err[DHO_ERRLEN], text[64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/typo.db", f->dir);
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), DHO_ENOTFOUND);
	assert_null(st);
	assert_non_null(strstr(err, path));
	assert_int_not_equal(access(path, F_OK), 0);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(store_open(path, STORE_FULL_SYNC, &st, err, sizeof(err)), DHO_ENOTFOUND);
	assert_non_null(strstr(err, path));
	unlink(path);

	raw_sql(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);");
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), DHO_EINVAL);
	assert_non_null(strstr(err, path));
	assert_int_equal(store_open(path, STORE_CREATE, &st, err, sizeof(err)), DHO_EINVAL);
	assert_null(st);
	raw_text(path, "PRAGMA journal_mode", text, sizeof(text));
	assert_string_equal(text, "delete");
	raw_text(path, "SELECT count(*) FROM sqlite_master", text, sizeof(text));
	assert_string_equal(text, "1");
	unlink(path);

	/* A database written before dhohub set application_id. */
	raw_sql(f->path, "PRAGMA application_id = 0;");
	assert_int_equal(store_open(f->path, 0, &st, err, sizeof(err)), DHO_OK);
	store_close(st);
}

struct quar_seen {
	int n;
	int64_t length[8];
	size_t kept[8];
	uint8_t sha0[8];
	char reason[8][32];
};

static int
collect_quar(void *ctx, const struct store_quarantine *q)
{
	struct quar_seen *seen = ctx;

	if (seen->n < 8) {
		seen->length[seen->n] = q->length;
		seen->kept[seen->n] = q->len;
		seen->sha0[seen->n] = q->has_sha256 ? q->sha256[0] : 0;
		snprintf(seen->reason[seen->n], sizeof(seen->reason[0]), "%s", q->reason);
	}
	seen->n++;
	return 0;
}

/*
 * A quarantined payload keeps at most 64 KiB with its full length and
 * SHA-256; beyond keep_rows the oldest entries go, and are counted.
 */
static void
test_quarantine_bounded(void **state)
{
	struct fixture *f = *state;
	size_t big = 1u << 20;
	char *payload = malloc(big);
	struct store_quarantine q = { .at = 1000, .topic = "t", .payload = payload, .len = big,
	                              .keep_rows = 3 };
	struct quar_seen seen = { 0 };
	struct store_stats s;
	char reason[32];

	assert_non_null(payload);
	memset(payload, 'x', big);
	for (int i = 0; i < 5; i++) {
		snprintf(reason, sizeof(reason), "r%d", i);
		q.reason = reason;
		q.at = 1000 + i;
		assert_int_equal(store_quarantine_add(f->st, &q), DHO_OK);
	}
	assert_int_equal(store_quarantine_list(f->st, 0, 0, collect_quar, &seen), DHO_OK);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.reason[0], "r2");
	assert_string_equal(seen.reason[2], "r4");
	assert_int_equal(seen.length[0], (int64_t)big);
	assert_int_equal(seen.kept[0], STORE_QUARANTINE_KEEP);
	/* sha256 of 1 MiB of 'x' begins with 0x8f (sha256sum). */
	assert_int_equal(seen.sha0[0], 0x8f);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.quarantined, 5);
	assert_int_equal(s.quarantine_pruned, 2);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_quarantine_list(f->st, 1003, 1, collect_quar, &seen), DHO_OK);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.reason[0], "r3");
	free(payload);
}

/* The readings counter is derived, not written with each reading: the
 * count stays exact across folds of the mark and new readings after it. */
static void
test_counters_fold(void **state)
{
	struct fixture *f = *state;
	struct store_stats s;

	assert_int_equal(store_begin(f->st), DHO_OK);
	for (int i = 0; i < 3; i++)
		add_reading(f->st, "P1", METRIC_SPO2, 90, 1000 + i, 0);
	assert_int_equal(store_commit(f->st), DHO_OK);
	assert_int_equal(store_begin(f->st), DHO_OK);
	assert_int_equal(store_counters_fold(f->st), DHO_OK);
	assert_int_equal(store_commit(f->st), DHO_OK);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.readings, 3);
	assert_int_equal(s.last_message_at, 1002);
	assert_int_equal(store_begin(f->st), DHO_OK);
	add_reading(f->st, "P1", METRIC_SPO2, 91, 2000, 0);
	add_reading(f->st, "P1", METRIC_SPO2, 92, 2001, 0);
	assert_int_equal(store_commit(f->st), DHO_OK);
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.readings, 5);
	assert_int_equal(s.last_message_at, 2001);
	/* Folding twice counts nothing twice. */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(store_begin(f->st), DHO_OK);
		assert_int_equal(store_counters_fold(f->st), DHO_OK);
		assert_int_equal(store_commit(f->st), DHO_OK);
		assert_int_equal(store_stats(f->st, &s), DHO_OK);
		assert_int_equal(s.readings, 5);
		assert_int_equal(s.last_message_at, 2001);
	}
}


/* ---- deploy: file modes, backup, retention ---- */

static unsigned
file_mode(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 0777);
}

/* The database and its -wal and -shm are the owner's only, whatever the
 * umask of the process that creates them. */
static void
test_file_modes(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char err[DHO_ERRLEN], path[160], p[176];
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/modes.db", f->dir);
	assert_int_equal(store_open(path, STORE_CREATE, &st, err, sizeof(err)), DHO_OK);
	umask(old);
	add_patient(st, "P1", "vefsn");
	assert_int_equal(file_mode(path), 0600);
	snprintf(p, sizeof(p), "%s-wal", path);
	assert_int_equal(file_mode(p), 0600);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	assert_int_equal(file_mode(p), 0600);
	unlink(p);
	store_close(st);
	unlink(path);
}

static int
count_reading(void *ctx, const struct store_reading *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void
test_backup(void **state)
{
	struct fixture *f = *state;
	struct store *copy = NULL;
	char err[DHO_ERRLEN], path[160];
	int n = 0;

	add_patient(f->st, "P1", "vefsn");
	for (int i = 0; i < 100; i++)
		add_reading(f->st, "P1", METRIC_SPO2, 90, 1000 + i, 0);
	snprintf(path, sizeof(path), "%s/copy.db", f->dir);
	assert_int_equal(store_backup(f->st, path, err, sizeof(err)), DHO_OK);
	assert_int_equal(file_mode(path), 0600);
	/* A single file: nothing beside it to copy along. */
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(store_open(path, false, &copy, err, sizeof(err)), DHO_OK);
	assert_int_equal(store_reading_list(copy, "P1", -1, 0, count_reading, &n), DHO_OK);
	assert_int_equal(n, 100);
	store_close(copy);
	unlink(path);
	snprintf(path, sizeof(path), "%s/copy.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/copy.db-shm", f->dir);
	unlink(path);
	/* A directory that does not exist: an error that says so. */
	snprintf(path, sizeof(path), "%s/no/such/dir/copy.db", f->dir);
	assert_int_equal(store_backup(f->st, path, err, sizeof(err)), DHO_EIO);
	assert_non_null(strstr(err, "its directory does not exist"));
	assert_non_null(strstr(err, path));
}

static int
last_audit(void *ctx, const struct store_audit *a)
{
	snprintf(ctx, 512, "%s %s %s %s", a->actor, a->action, a->object, a->detail);
	return 0;
}

static void
test_purge(void **state)
{
	struct fixture *f = *state;
	const dho_time_t day = 86400, now = 1000 * day;
	struct store_quarantine q = { .topic = "dho/v1/vefsn/dev/oxy-1/reading", .reason = "r",
	                              .payload = "x", .len = 1 };
	struct alert a = { .patient = "OLD", .tenant = "vefsn", .rule = "threshold.spo2",
	                   .team = "home-nursing/vefsn", .severity = ALERT_SEV_RED,
	                   .state = ALERT_OPEN, .last_event = "opened" };
	struct store_purge p;
	struct store_stats s;
	char audit[512] = "";
	int n = 0;

	add_patient(f->st, "OLD", "vefsn");     /* ended 40 days ago */
	add_patient(f->st, "RECENT", "vefsn");  /* ended 10 days ago */
	add_patient(f->st, "ACTIVE", "vefsn");
	assert_int_equal(store_device_assign(f->st, "oxy-1", "OLD", now - 100 * day), DHO_OK);
	for (int i = 0; i < 5; i++) {
		add_reading(f->st, "OLD", METRIC_SPO2, 85, now - 50 * day + i, 0);
		add_reading(f->st, "RECENT", METRIC_SPO2, 85, now - 20 * day + i, 0);
		add_reading(f->st, "ACTIVE", METRIC_SPO2, 85, now - 50 * day + i, 0);
	}
	assert_int_equal(store_alert_save(f->st, &a), DHO_OK);
	assert_int_equal(store_outbox_add(f->st, a.id, "home-nursing/vefsn", "", "{}", now - 50 * day),
	                 DHO_OK);
	/* oxy-1's entry while it was OLD's, one of no patient that is old,
	 * and one of no patient that is recent. */
	q.at = now - 45 * day;
	assert_int_equal(store_quarantine_add(f->st, &q), DHO_OK);
	q.topic = "dho/v1/vefsn/dev/unknown/reading";
	q.at = now - 31 * day;
	assert_int_equal(store_quarantine_add(f->st, &q), DHO_OK);
	q.at = now - 29 * day;
	assert_int_equal(store_quarantine_add(f->st, &q), DHO_OK);
	assert_int_equal(store_patient_end(f->st, "OLD", now - 40 * day), DHO_OK);
	assert_int_equal(store_device_release_all(f->st, "OLD", now - 40 * day), DHO_OK);
	assert_int_equal(store_patient_end(f->st, "RECENT", now - 10 * day), DHO_OK);

	assert_int_equal(store_purge(f->st, now, 30, "dhohub", &p), DHO_OK);
	assert_int_equal(p.cutoff, now - 30 * day);
	assert_int_equal(p.patients, 1);
	assert_int_equal(p.readings, 5);
	assert_int_equal(p.alerts, 1);
	assert_int_equal(p.outbox, 1);
	assert_int_equal(p.quarantine, 2);
	assert_int_equal(store_reading_list(f->st, "OLD", -1, 0, count_reading, &n), DHO_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_reading_list(f->st, "RECENT", -1, 0, count_reading, &n), DHO_OK);
	assert_int_equal(store_reading_list(f->st, "ACTIVE", -1, 0, count_reading, &n), DHO_OK);
	assert_int_equal(n, 10);
	/* stats counts every reading ever stored, purged or not. */
	assert_int_equal(store_stats(f->st, &s), DHO_OK);
	assert_int_equal(s.readings, 15);
	assert_int_equal(store_audit_list(f->st, 0, last_audit, audit), DHO_OK);
	assert_non_null(strstr(audit, "dhohub purge retention readings 5, alerts 1, outbox 1, "
	                        "quarantine 2, patients 1;"));
	/* A later purge within the day finds nothing more, and says so. */
	assert_int_equal(store_purge(f->st, now + 3600, 30, "dhohub", &p), DHO_OK);
	assert_int_equal(p.readings + p.alerts + p.outbox + p.patients, 0);
	assert_int_equal(p.quarantine, 0);
	assert_int_equal(store_audit_list(f->st, 0, last_audit, audit), DHO_OK);
	assert_non_null(strstr(audit, "readings 0, alerts 0"));
}

static int
count_rules(void *ctx, const char *key, const char *spec)
{
	(void)key;
	(void)spec;
	(*(int *)ctx)++;
	return 0;
}

/*
 * The daemon's cache answers as the table would: after its own writes,
 * after another connection's commit (noticed at the next begin) and after
 * a rollback.
 */
static void
test_cache_is_exact(void **state)
{
	struct fixture *f = *state;
	struct store *other = NULL;
	struct store_patient p;
	struct store_assignment a;
	struct rules_sample v[1];
	struct alert al;
	char err[DHO_ERRLEN];
	size_t n;
	int rules = 0;

	assert_int_equal(store_cache(f->st, 16), DHO_OK);
	assert_int_equal(store_open(f->path, false, &other, err, sizeof(err)), DHO_OK);
	add_patient(f->st, "P1", "vefsn");
	assert_int_equal(store_device_assign(f->st, "oxy-1", "P1", 100), DHO_OK);

	/* Filled inside a transaction, as the daemon reads. */
	assert_int_equal(store_begin(f->st), DHO_OK);
	assert_int_equal(store_patient_get(f->st, "P1", &p), DHO_OK);
	assert_int_equal(p.ended_at, 0);
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 200, &a), DHO_OK);
	assert_string_equal(a.patient, "P1");
	assert_int_equal(store_rule_list(f->st, "P1", count_rules, &rules), DHO_OK);
	assert_int_equal(rules, 0);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &al), DHO_ENOTFOUND);
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 0, 5000, v, 1, &n), DHO_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_commit(f->st), DHO_OK);

	/* Its own writes: a reading, an alert, then the alert resolved. */
	assert_int_equal(store_begin(f->st), DHO_OK);
	add_reading(f->st, "P1", METRIC_SPO2, 91, 1000, 0);
	add_reading(f->st, "P1", METRIC_SPO2, 60, 1100, RFLAG_INVALID);
	add_reading(f->st, "P1", METRIC_SPO2, 89, 900, 0);
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 0, 5000, v, 1, &n), DHO_OK);
	assert_int_equal(n, 1);
	assert_true(v[0].value == 91 && v[0].at == 1000);
	/* A window that ends before the newest reading asks the table. */
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 0, 1000, v, 1, &n), DHO_OK);
	assert_int_equal(n, 1);
	assert_true(v[0].value == 89 && v[0].at == 900);
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 1001, 5000, v, 1, &n), DHO_OK);
	assert_int_equal(n, 0);
	memset(&al, 0, sizeof(al));
	snprintf(al.patient, sizeof(al.patient), "P1");
	snprintf(al.tenant, sizeof(al.tenant), "vefsn");
	snprintf(al.rule, sizeof(al.rule), "threshold.spo2");
	snprintf(al.team, sizeof(al.team), "home-nursing/vefsn");
	al.state = ALERT_OPEN;
	assert_int_equal(store_alert_save(f->st, &al), DHO_OK);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &al), DHO_OK);
	al.state = ALERT_RESOLVED;
	assert_int_equal(store_alert_save(f->st, &al), DHO_OK);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &al), DHO_ENOTFOUND);
	assert_int_equal(store_commit(f->st), DHO_OK);

	/* Another connection's commits: an override, the device released,
	 * the follow-up ended, an alert opened. */
	assert_int_equal(store_rule_set(other, "P1", "threshold.spo2", "red<85"), DHO_OK);
	assert_int_equal(store_device_unassign(other, "oxy-1", 300), DHO_OK);
	assert_int_equal(store_patient_end(other, "P1", 400), DHO_OK);
	al.id = 0;
	al.state = ALERT_OPEN;
	assert_int_equal(store_alert_save(other, &al), DHO_OK);
	add_reading(other, "P1", METRIC_SPO2, 95, 2000, 0);
	assert_int_equal(store_begin(f->st), DHO_OK);
	rules = 0;
	assert_int_equal(store_rule_list(f->st, "P1", count_rules, &rules), DHO_OK);
	assert_int_equal(rules, 1);
	assert_int_equal(store_device_lookup(f->st, "oxy-1", 350, &a), DHO_ENOTFOUND);
	assert_int_equal(store_patient_get(f->st, "P1", &p), DHO_OK);
	assert_int_equal(p.ended_at, 400);
	assert_int_equal(store_alert_find_open(f->st, "P1", "threshold.spo2", &al), DHO_OK);
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 0, 5000, v, 1, &n), DHO_OK);
	assert_true(n == 1 && v[0].value == 95);
	assert_int_equal(store_commit(f->st), DHO_OK);

	/* A rollback forgets what it undid. */
	assert_int_equal(store_begin(f->st), DHO_OK);
	add_reading(f->st, "P1", METRIC_SPO2, 70, 3000, 0);
	store_rollback(f->st);
	assert_int_equal(store_begin(f->st), DHO_OK);
	assert_int_equal(store_reading_window(f->st, "P1", METRIC_SPO2, 0, 5000, v, 1, &n), DHO_OK);
	assert_true(n == 1 && v[0].value == 95);
	assert_int_equal(store_commit(f->st), DHO_OK);

	/* The rule removed by its own connection is read again. */
	assert_int_equal(store_begin(f->st), DHO_OK);
	assert_int_equal(store_rule_unset(f->st, "P1", "threshold.spo2"), DHO_OK);
	rules = 0;
	assert_int_equal(store_rule_list(f->st, "P1", count_rules, &rules), DHO_OK);
	assert_int_equal(rules, 0);
	assert_int_equal(store_commit(f->st), DHO_OK);
	store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen_keeps_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_patient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_claimed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assignment_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_thread_bounds_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_unresolved_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_fold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
