/*
 * test_deploy.c: a deployment's promises (docs/operations.md) on the real
 * parts: the broker ACL that `dhohub broker-acl` writes, enforced by a
 * Mosquitto with acl_file and password_file; a wrong password (fatal at
 * the first connect, retried once the hub was online); backups
 * while `run` ingests; private files; retention; logs without patient ids.
 */
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define PROGRAMS "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n"

/* Runs a shell command, failing the test when it fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;
	char *o;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	o = run(&st, "%s", cmd);
	if (st != 0)
		fail_msg("'%s' failed (%d): %s", cmd, st, o);
	free(o);
}

/* The length of the JSON array a CLI listing prints. */
static size_t
cli_len(struct env *e, const char *args)
{
	json_t *r = cli_json(e, args);
	size_t n = json_array_size(r);

	json_decref(r);
	return n;
}

/* Writes the ACL of the current enrollment where the broker reads it. */
static void
acl_write(struct env *e)
{
	char path[160], *out;
	FILE *f;

	assert_int_equal(cli(e, &out, "broker-acl"), 0);
	snprintf(path, sizeof(path), "%s/acl", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
	free(out);
}

static json_int_t
sql_int(struct env *e, const char *db, const char *query)
{
	int st;
	char *o = run(&st, "sqlite3 %s/%s '%s'", e->dir, db, query);
	json_int_t v = strtoll(o, NULL, 10);

	assert_int_equal(st, 0);
	free(o);
	return v;
}

static unsigned
mode_of(const char *dir, const char *name)
{
	char path[256];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 0777);
}

/* ---- the broker ACL ---- */

/*
 * The broker gets a second listener that takes only users of its
 * password_file and applies acl_file; the harness's helpers keep the
 * anonymous one. The hub logs in as hubuser on the second.
 */
static int
acl_broker(struct env *e, const char *hub_password)
{
	struct passwd *pw = getpwuid(getuid());
	int port = free_port();
	char path[160], p[16];
	FILE *f;

	snprintf(p, sizeof(p), "%d", port);
	sh("cd %s && mosquitto_passwd -c -b passwd hubuser hubpw && "
	   "mosquitto_passwd -b passwd d-1 pw1 && mosquitto_passwd -b passwd d-2 pw2 && "
	   "mosquitto_passwd -b passwd hospital-dho/mosjoen pwh && "
	   "mosquitto_passwd -b passwd home-nursing/rana pwr%s%s", e->dir, "", "");
	snprintf(path, sizeof(path), "%s/hub.pw", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", hub_password);
	fclose(f);
	chmod(path, 0600);
	sh("sed -i 's|^url = .*|url = tcp://127.0.0.1:%s\\nusername = hubuser\\n"
	   "password_file = %s/hub.pw|' %s", p, e->dir, e->conf);
	stop(&e->broker, SIGTERM);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "per_listener_settings true\nmax_queued_messages 0\npersistence false\n"
	           "user %s\n"
	           "listener %d 127.0.0.1\nallow_anonymous true\n"
	           "listener %d 127.0.0.1\nallow_anonymous false\n"
	           "password_file %s/passwd\nacl_file %s/acl\n",
	        pw ? pw->pw_name : "root", e->port, port, e->dir, e->dir);
	fclose(f);
	return port;
}

#define AUTH_PUB "mosquitto_pub -p %d -q 1 -u %s -P %s -t %s -m '%s'"

static void
auth_pub(int port, const char *user, const char *password, const char *topic,
         const char *payload)
{
	int st;
	char *o = run(&st, AUTH_PUB, port, user, password, topic, payload);

	free(o);
	assert_int_equal(st, 0);
}

static void
test_broker_acl(void **state)
{
	struct env *e = *state;
	char *out, own[160], other[160], line[512];
	pid_t own_sub = -1, other_sub = -1;
	int port, st;

	/* The hub sends the first line of its password_file only:
	 * a second line must not become part of the password. */
	port = acl_broker(e, "hubpw\nnot-part-of-the-password");
	/* A patient but no device assigned yet: no ACL to write. (Without
	 * any database, broker-acl refuses the missing file instead.) */
	assert_int_equal(cli(e, NULL, "patient add P0 --tenant vefsn --program copd "
	                     "--discharged 2026-01-01"), 0);
	st = cli(e, &out, "broker-acl");
	assert_int_equal(st, 1);
	assert_string_equal(out, "");
	free(out);
	out = run(&st, "%s -c %s broker-acl 2>&1", hub_bin(), e->conf);
	assert_non_null(strstr(out, "no device is assigned to a patient"));
	free(out);

	enroll(e, "P1", "d-1", 2, "");   /* hospital-dho/mosjoen's */
	enroll(e, "P2", "d-2", 2, "");
	acl_write(e);
	assert_int_equal(cli(e, &out, "broker-acl"), 0);
	assert_non_null(strstr(out, "user hubuser\n"));
	assert_non_null(strstr(out, "user d-1\ntopic write dho/v1/vefsn/dev/d-1/reading\n"));
	free(out);
	broker_start(e);
	for (int i = 0; i < 100 && !port_open(port); i++)
		usleep(50 * 1000);
	/* The hub works as its own user: online, and it stores what it reads. */
	hub_start(e);

	/* Each team's user subscribes to the hospital team's alerts. */
	snprintf(own, sizeof(own), "%s/own.txt", e->dir);
	snprintf(other, sizeof(other), "%s/other.txt", e->dir);
	snprintf(line, sizeof(line), "%d", port);
	own_sub = spawn(own, (char *[]){ "mosquitto_sub", "-p", line, "-q", "1", "-u",
	                                 "hospital-dho/mosjoen", "-P", "pwh", "-t",
	                                 "dho/v1/alerts/hospital-dho/mosjoen", NULL });
	/* rana's user asks for its own alerts and the hospital team's in one
	 * SUBSCRIBE: once a probe on its own topic comes through, both are in
	 * place, and Mosquitto filters the other team's on delivery. */
	other_sub = spawn(other, (char *[]){ "mosquitto_sub", "-v", "-p", line, "-q", "1", "-u",
	                                     "home-nursing/rana", "-P", "pwr", "-t",
	                                     "dho/v1/alerts/home-nursing/rana", "-t",
	                                     "dho/v1/alerts/hospital-dho/mosjoen", NULL });
	for (int i = 0; i < 100 && (file_lines(own, "probe", NULL) == 0 ||
	                            file_lines(other, "probe", NULL) == 0); i++) {
		free(run(NULL, "mosquitto_pub -p %d -q 1 -t dho/v1/alerts/hospital-dho/mosjoen -m probe",
		         e->port));
		free(run(NULL, "mosquitto_pub -p %d -q 1 -t dho/v1/alerts/home-nursing/rana -m probe",
		         e->port));
		usleep(100 * 1000);
	}
	assert_true(file_lines(own, "probe", NULL) >= 1);
	assert_true(file_lines(other, "probe", NULL) >= 1);

	auth_pub(port, "d-1", "pw1", "dho/v1/vefsn/dev/d-1/reading",
	         "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 95}");
	/* d-1 publishing as d-2: the broker drops it. */
	auth_pub(port, "d-1", "pw1", "dho/v1/vefsn/dev/d-2/reading",
	         "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	auth_pub(port, "d-1", "pw1", "dho/v1/vefsn/dev/d-1/reading",
	         "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 85}");
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	assert_int_equal(wait_file_lines(own, "\"opened\"", NULL, 1, 10), 1);
	/* Each mosquitto_pub returned on its PUBACK, so the broker had dropped
	 * the forged message before d-1's second reading was stored. */
	assert_int_equal(cli_len(e, "readings --patient P2 --json"), 0);
	assert_int_equal(cli_len(e, "quarantine --json"), 0);
	assert_int_equal(stat_int(e, "readings"), 2);
	/* Another team's user read nothing of it. */
	assert_int_equal(file_lines(other, "\"opened\"", NULL), 0);
	assert_int_equal(file_lines(other, "hospital-dho/mosjoen", NULL), 0);
	assert_int_equal(file_lines(other, "P1", NULL), 0);
	/* Nor can it ack that team's alert: the broker drops its message on
	 * the hospital team's acks topic; the team's own ack goes through. */
	auth_pub(port, "home-nursing/rana", "pwr", "dho/v1/acks/hospital-dho/mosjoen",
	         "{\"alert\": \"A1\", \"action\": \"ack\", \"by\": \"mallory\"}");
	auth_pub(port, "hospital-dho/mosjoen", "pwh", "dho/v1/acks/hospital-dho/mosjoen",
	         "{\"alert\": \"A1\", \"action\": \"ack\", \"by\": \"nurse.kari\"}");
	assert_int_equal(wait_file_lines(own, "\"acked\"", NULL, 1, 10), 1);
	assert_int_equal(file_lines(own, "mallory", NULL), 0);
	assert_int_equal(file_lines(own, "nurse.kari", NULL), 1);
	assert_int_equal(cli_len(e, "quarantine --json"), 0);
	stop(&own_sub, SIGTERM);
	stop(&other_sub, SIGTERM);
}

/* Waits up to secs for pid to exit; returns its exit code, or -1 when it
 * is still running (or did not exit normally). */
static int
wait_exit(pid_t pid, int secs)
{
	int st;

	for (double end = mono_now() + secs; mono_now() < end; usleep(50 * 1000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return -1;
}

/*
 * A wrong password at the first connect: the hub logs that the broker
 * refused its login, names the user but never the password, and exits 2
 * (a configuration error, EXIT STATUS in docs/man/dhohub.8) instead of
 * retrying forever.
 */
static void
test_wrong_password(void **state)
{
	struct env *e = *state;
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "run", NULL };
	char log[160];
	int port;

	port = acl_broker(e, "not-the-password");
	enroll(e, "P1", "d-1", 2, "");
	acl_write(e);
	broker_start(e);
	for (int i = 0; i < 100 && !port_open(port); i++)
		usleep(50 * 1000);
	/* check-config cannot know the broker's password file. */
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	snprintf(log, sizeof(log), "%s/hub.log", e->dir);
	e->hub = spawn(log, argv);
	assert_int_equal(wait_exit(e->hub, 30), 2);
	e->hub = -1;
	assert_int_equal(file_lines(log, "the broker refused the login as user 'hubuser': ",
	                            "(check [broker] username and password_file"), 1);
	assert_int_equal(file_lines(log, "error: cannot connect to", "not retrying"), 1);
	assert_int_equal(file_lines(log, "exit 2 (configuration)", NULL), 1);
	assert_int_equal(file_lines(log, "not-the-password", NULL), 0);
	assert_int_equal(file_lines(log, "connected to", NULL), 0);
}

/*
 * Once the hub has been online, a refused login is not fatal: the broker
 * restarted with a password file being changed. The hub logs each refusal
 * as an error, keeps retrying with backoff, and is back online when the
 * broker takes its password again.
 */
static void
test_password_changed_while_online(void **state)
{
	struct env *e = *state;
	char log[160];

	acl_broker(e, "hubpw");
	enroll(e, "P1", "d-1", 2, "");
	acl_write(e);
	broker_start(e);
	hub_start(e);
	snprintf(log, sizeof(log), "%s/hub.log", e->dir);
	assert_int_equal(file_lines(log, "connected to", NULL), 1);
	sh("cd %s && mosquitto_passwd -b passwd hubuser changed", e->dir);
	stop(&e->broker, SIGTERM);
	broker_start(e);
	/* Two refusals, one after the other: each one is logged. */
	assert_int_equal(wait_file_lines(log, "error: cannot connect to",
	                                 "the broker refused the login as user 'hubuser'", 2, 30), 2);
	assert_int_equal(file_lines(log, "refused the login", "retrying in "), 2);
	assert_int_equal(kill(e->hub, 0), 0);
	assert_int_equal(file_lines(log, "hubpw", NULL), 0);
	/* The password file mended and reread (SIGHUP): online again. */
	sh("cd %s && mosquitto_passwd -b passwd hubuser hubpw && kill -HUP %d", e->dir,
	   (int)e->broker);
	assert_int_equal(wait_file_lines(log, "connected to", NULL, 2, 45), 2);
}

/* ---- backup ---- */

static void
test_backup_while_ingesting(void **state)
{
	struct env *e = *state;
	char *o, port[16], line[512], err[160], query[128];
	json_int_t max0, n0;
	pid_t stream;
	int st;

	enroll(e, "P1", "d-1", 2, "");
	hub_start(e);
	/* 3000 readings, one QoS 1 message each, while the backup runs. */
	snprintf(port, sizeof(port), "%d", e->port);
	snprintf(line, sizeof(line), "for i in $(seq 1 3000); do echo \"{\\\"seq\\\": $i, "
	         "\\\"metric\\\": \\\"pulse\\\", \\\"value\\\": 70}\"; done | mosquitto_pub -p %s "
	         "-q 1 -t dho/v1/vefsn/dev/d-1/reading -l", port);
	snprintf(err, sizeof(err), "%s/stream.log", e->dir);
	stream = spawn(err, (char *[]){ "sh", "-c", line, NULL });
	assert_true(wait_stat(e, "readings", 300, 30) >= 300);
	/* What is committed now must be in the copy. */
	max0 = sql_int(e, "hub.db", "SELECT max(id) FROM readings");
	snprintf(query, sizeof(query), "SELECT count(*) FROM readings WHERE id <= %lld",
	         (long long)max0);
	n0 = sql_int(e, "hub.db", query);
	assert_true(n0 >= 300);
	snprintf(line, sizeof(line), "backup %s/copy.db", e->dir);
	assert_int_equal(cli(e, NULL, line), 0);
	o = run(&st, "sqlite3 %s/copy.db 'PRAGMA integrity_check'", e->dir);
	assert_int_equal(st, 0);
	assert_string_equal(o, "ok\n");
	free(o);
	assert_int_equal(sql_int(e, "copy.db", query), n0);
	assert_true(sql_int(e, "copy.db", "SELECT count(*) FROM readings") >= n0);
	assert_int_equal(mode_of(e->dir, "copy.db"), 0600);
	/* No -wal beside the copy: the file alone is the backup. */
	snprintf(line, sizeof(line), "%s/copy.db-wal", e->dir);
	assert_int_equal(access(line, F_OK), -1);
	/* The daemon's files are private too. */
	assert_int_equal(mode_of(e->dir, "hub.db"), 0600);
	assert_int_equal(mode_of(e->dir, "hub.db-wal"), 0600);
	assert_int_equal(mode_of(e->dir, "hub.db-shm"), 0600);
	assert_int_equal(wait_stat(e, "readings", 3000, 120), 3000);
	stop(&stream, SIGTERM);

	/* A directory that does not exist: exit 1 and a message that says so. */
	o = run(&st, "%s -c %s backup %s/no/such/dir/copy.db 2>&1", hub_bin(), e->conf, e->dir);
	assert_int_equal(st, 1);
	assert_non_null(strstr(o, "its directory does not exist"));
	free(o);
	/* Never over the database itself. */
	o = run(&st, "%s -c %s backup %s/hub.db 2>&1", hub_bin(), e->conf, e->dir);
	assert_int_equal(st, 2);
	free(o);
	/* The backup is in the audit log. */
	o = run(&st, "%s -c %s audit 2>&1", hub_bin(), e->conf);
	assert_non_null(strstr(o, "copy.db"));
	free(o);
}

/* ---- retention ---- */

static void
test_retention(void **state)
{
	struct env *e = *state;
	char at[64], args[128], *o;
	int st;

	enroll(e, "P-old", "d-1", 60, "");
	enroll(e, "P-new", "d-2", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/d-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	pub(e, "dho/v1/vefsn/dev/d-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	pub(e, "dho/v1/vefsn/dev/nobody/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	assert_int_equal(wait_alert_lines(e, "\"opened\"", NULL, 2, 10), 2);
	stop(&e->hub, SIGTERM);
	/* P-old's follow-up ended 40 days ago, P-new's goes on. */
	today(at, sizeof(at), 40);
	snprintf(args, sizeof(args), "patient end P-old --at %s", at);
	assert_int_equal(cli(e, NULL, args), 0);
	sh("sed -i 's|^path = .*|&\\nretention_days = 30|' %s%s%s", e->conf, "", "");
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	hub_start(e);
	/* The purge runs when the daemon starts, then daily. */
	for (int i = 0; i < 100 && cli_len(e, "readings --patient P-old --json") > 0; i++)
		usleep(100 * 1000);
	assert_int_equal(cli_len(e, "readings --patient P-old --json"), 0);
	assert_int_equal(cli_len(e, "alerts --patient P-old --state all --json"), 0);
	assert_int_equal(cli_len(e, "readings --patient P-new --json"), 1);
	assert_int_equal(cli_len(e, "alerts --patient P-new --json"), 1);
	/* Audited with its counts; the unattributed quarantine entry is recent
	 * and stays. */
	o = run(&st, "%s -c %s audit 2>&1", hub_bin(), e->conf);
	assert_non_null(strstr(o, "purge"));
	assert_non_null(strstr(o, "readings 1, alerts 1, outbox 1, quarantine 0, patients 1;"));
	free(o);
	assert_int_equal(cli_len(e, "quarantine --json"), 1);
}

/* ---- logs ---- */

/*
 * A whole run, with every kind of event the hub logs: alerts opened,
 * raised and acked, quarantine (unknown device, wrong tenant, bad value),
 * a reload, a restart, a patient's end. Not one line of the hub's log
 * carries a patient id.
 */
static void
test_logs_without_patient_ids(void **state)
{
	struct env *e = *state;
	static const char *const ids[] = { "pt-3c9e1a", "pt-77b2f0", "pt-e41d08" };
	char log[160], *o;
	int st;

	enroll(e, ids[0], "d-1", 2, "");
	enroll(e, ids[1], "d-2", 30, "");
	enroll(e, ids[2], "d-3", 2, "--team home-nursing/rana");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/d-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	pub(e, "dho/v1/vefsn/dev/d-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 85}");
	pub(e, "dho/v1/vefsn/dev/d-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 84}");
	pub(e, "dho/v1/vefsn/dev/d-3/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 83}");
	pub(e, "dho/v1/rana/dev/d-1/reading", "{\"seq\": 3, \"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/d-9/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/d-2/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 900}");
	assert_int_equal(wait_alert_lines(e, "\"opened\"", NULL, 3, 10), 3);
	assert_int_equal(wait_alert_lines(e, "\"raised\"", NULL, 1, 10), 1);
	assert_int_equal(cli(e, NULL, "ack A1 --by nurse.kari --note 'called'"), 0);
	assert_int_equal(wait_alert_lines(e, "\"acked\"", NULL, 1, 10), 1);
	kill(e->hub, SIGHUP);
	snprintf(log, sizeof(log), "%s/hub.log", e->dir);
	assert_int_equal(wait_file_lines(log, "SIGHUP", NULL, 1, 10), 1);
	stop(&e->hub, SIGTERM);
	assert_int_equal(cli(e, NULL, "patient end pt-77b2f0"), 0);
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/d-2/reading", "{\"seq\": 3, \"metric\": \"spo2\", \"value\": 80}");
	assert_true(wait_stat(e, "quarantined", 4, 10) >= 4);
	stop(&e->hub, SIGTERM);
	/* The log is not empty: it tells of alerts, by alert id. */
	assert_true(file_lines(log, "alert A1 opened", NULL) >= 1);
	assert_true(file_lines(log, "quarantined", NULL) >= 1);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (file_lines(log, ids[i], NULL) != 0) {
			o = run(&st, "grep -n '%s' %s", ids[i], log);
			fail_msg("the hub's log names patient %s:\n%s", ids[i], o);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_broker_acl, PROGRAMS),
		ENV_TEST(test_wrong_password, PROGRAMS),
		ENV_TEST(test_password_changed_while_online, PROGRAMS),
		ENV_TEST(test_backup_while_ingesting, PROGRAMS),
		ENV_TEST(test_retention, PROGRAMS),
		ENV_TEST(test_logs_without_patient_ids, PROGRAMS),
	};

	return INTEG_RUN(tests);
}
