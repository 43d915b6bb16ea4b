/*
 * test_hostile.c: the findings of the security probe, each
 * under the name the probe gave it, on the real parts: a Mosquitto of its
 * own, the real dhohub binary, driven only through MQTT and the CLI.
 */
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define PROGRAMS "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n"

/* Writes len bytes of c to path. */
static void
write_fill(const char *path, char c, size_t len)
{
	FILE *f = fopen(path, "w");
	char buf[65536];

	assert_non_null(f);
	memset(buf, c, sizeof(buf));
	for (size_t n = 0; n < len; n += sizeof(buf))
		assert_int_equal(fwrite(buf, 1, len - n < sizeof(buf) ? len - n : sizeof(buf), f) > 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Every line of the hub's log starts with the hub's own time stamp and
 * level; returns how many lines contain needle. */
static int
log_lines_own(struct env *e, const char *needle)
{
	char path[160], line[16384];
	regex_t re;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/hub.log", e->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	                         "dhohub (error|warn|info|debug): ", REG_EXTENDED | REG_NOSUB), 0);
	while (fgets(line, sizeof(line), f)) {
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("a log line that is not the hub's own: %s", line);
		if (strstr(line, needle))
			n++;
	}
	regfree(&re);
	fclose(f);
	return n;
}

/*
 * -c /dev/zero: a configuration "file" without a newline, ever. It was read
 * at 100 % CPU for ever; now it is an error at FILE:LINE, also through
 * $DHOHUB_CONFIG.
 */
static void
test_c_dev_zero(void **state)
{
	struct env *e = *state;
	char *out;
	int st;

	out = run(&st, "timeout 20 %s -c /dev/zero stats 2>&1", hub_bin());
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "/dev/zero:1: line longer than 4096 bytes"));
	free(out);
	out = run(&st, "DHOHUB_CONFIG=/dev/zero timeout 20 %s check-config 2>&1", hub_bin());
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "/dev/zero:1: "));
	free(out);
	/* A file over 1 MiB of comments. */
	out = run(&st, "yes '; comment' | head -c 1100000 > %s/big.conf && timeout 20 %s -c %s/big.conf "
	          "check-config 2>&1", e->dir, hub_bin(), e->dir);
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "big.conf:"));
	assert_non_null(strstr(out, "larger than 1048576 bytes"));
	free(out);
}

/*
 * Forged log line: a ts holding a newline, and a topic holding one, made
 * the quarantine's log line end early and the rest of it look like a line
 * of the hub's own. Every line of the log must be the hub's, and the
 * attempt shows up escaped inside one.
 */
static void
test_forged_log_line(void **state)
{
	struct env *e = *state;
	char forged[256];

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"metric\": \"spo2\", \"value\": 95, \"ts\": \"x\\n2026-12-07T20:00:00.000Z dhohub "
	    "info: FORGED\"}");
	/* Brokers refuse C0 controls in topics, but not the Unicode line
	 * separator or a right-to-left override. */
	snprintf(forged, sizeof(forged), "dho/v1/vefsn/dev/oxy\xe2\x80\xa8" "FORGED2\xe2\x80\xae" "/reading");
	pub(e, forged, "{\"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"metric\": \"spo2\", \"value\": 96, \"ts\": \"\\u001b[2J\\r\\u2028\"}");
	assert_int_equal(wait_stat(e, "quarantined", 3, 10), 3);
	/* The log line is written before the commit that stats counts. */
	assert_int_equal(log_lines_own(e, "\\n2026-12-07T20:00:00.000Z dhohub info: FORGED"), 1);
	assert_int_equal(log_lines_own(e, "oxy\\u2028FORGED2\\u202E/reading"), 1);
	assert_int_equal(log_lines_own(e, "\\x1B[2J\\r\\u2028"), 1);
	assert_int_equal(log_lines_own(e, "\x1b"), 0);
}

/*
 * 10 MB payload: ten of them added 100 MB to the database. Now each
 * quarantine entry keeps 64 KiB with the payload's length and SHA-256, and
 * the log says so once a second per reason, not once per message.
 */
static void
test_payload_10mb(void **state)
{
	struct env *e = *state;
	char path[160];
	struct stat sb;
	json_t *q, *one;
	double t0, took;
	char *o;
	int st, lines;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	t0 = mono_now();
	snprintf(path, sizeof(path), "%s/big", e->dir);
	write_fill(path, 'z', 10u * 1000 * 1000);
	for (int i = 0; i < 10; i++) {
		o = run(&st, "mosquitto_pub -p %d -q 1 -t dho/v1/vefsn/dev/oxy-1/reading -f %s", e->port,
		        path);
		free(o);
		assert_int_equal(st, 0);
	}
	assert_int_equal(wait_stat(e, "quarantined", 10, 60), 10);
	snprintf(path, sizeof(path), "%s/hub.db", e->dir);
	assert_int_equal(stat(path, &sb), 0);
	/* Ten times 64 KiB and the schema, far from 100 MB; the WAL holds
	 * what has not been checkpointed yet. */
	{
		struct stat wal;
		char wpath[170];
		off_t total = sb.st_size;

		snprintf(wpath, sizeof(wpath), "%s-wal", path);
		if (stat(wpath, &wal) == 0)
			total += wal.st_size;
		assert_true(total < 8 * 1024 * 1024);
	}
	q = cli_json(e, "quarantine --json");
	assert_int_equal(json_array_size(q), 10);
	one = json_array_get(q, 0);
	assert_int_equal(strlen(json_string_value(json_object_get(one, "payload"))), 65536);
	assert_int_equal(json_integer_value(json_object_get(one, "length")), 10000000);
	assert_true(json_is_true(json_object_get(one, "truncated")));
	/* sha256sum of 10,000,000 bytes of 'z'. */
	o = run(&st, "head -c 10000000 /dev/zero | tr '\\0' z | sha256sum | cut -c1-64");
	o[64] = '\0';
	assert_string_equal(json_string_value(json_object_get(one, "sha256")), o);
	free(o);
	json_decref(q);
	/* One log line a second at most for the one reason. */
	took = mono_now() - t0;
	assert_true(log_lines_own(e, "quarantined a message") <= (int)took + 2);

	/* A flood of small bad messages: 500 lines, 500 messages. */
	t0 = mono_now();
	o = run(&st, "yes 'not json' | head -n 500 | mosquitto_pub -p %d -q 1 "
	        "-t dho/v1/vefsn/dev/oxy-1/reading -l", e->port);
	free(o);
	assert_int_equal(st, 0);
	assert_int_equal(wait_stat(e, "quarantined", 510, 60), 510);
	took = mono_now() - t0;
	lines = log_lines_own(e, "malformed JSON");
	print_message("500 bad messages in %.1f s: %d log lines\n", took, lines);
	assert_true(lines <= (int)took + 2);
	/* The count of those held back comes with the next line of the
	 * reason, a second later. */
	usleep(1100 * 1000);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "not json");
	assert_int_equal(wait_stat(e, "quarantined", 511, 10), 511);
	assert_true(log_lines_own(e, "more like it not logged") >= 1);
}

static const char *
alert_state(struct env *e, const char *patient)
{
	static char state[16];
	char args[96];
	json_t *a;

	snprintf(args, sizeof(args), "alerts --patient %s --state all --json", patient);
	a = cli_json(e, args);
	snprintf(state, sizeof(state), "%s",
	         json_string_value(json_object_get(json_array_get(a, 0), "state")));
	json_decref(a);
	return state;
}

/* The reason of the latest quarantine entry on topic; "" if none. */
static const char *
last_reason(struct env *e, const char *topic)
{
	static char why[512];
	json_t *q = cli_json(e, "quarantine --json");

	why[0] = '\0';
	for (size_t i = 0; i < json_array_size(q); i++) {
		json_t *o = json_array_get(q, i);

		if (strcmp(json_string_value(json_object_get(o, "topic")), topic) == 0)
			snprintf(why, sizeof(why), "%s", json_string_value(json_object_get(o, "reason")));
	}
	json_decref(q);
	return why;
}

static void
pub_retained(struct env *e, const char *topic, const char *payload)
{
	int st;
	char *o = run(&st, "mosquitto_pub -p %d -q 1 -r -t '%s' -m '%s'", e->port, topic, payload);

	free(o);
	assert_int_equal(st, 0);
}

/*
 * Retained reading: a device that publishes with the retain flag and no
 * seq had its reading stored again at every restart of the hub (each
 * connect subscribes, and the broker re-sends what it retains). Now it
 * goes to quarantine as retained; a retained reading with seq is stored
 * once, as any redelivery with seq.
 */
static void
test_retained_reading(void **state)
{
	struct env *e = *state;

	enroll(e, "P1", "oxy-1", 2, "");
	pub_retained(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"metric\": \"spo2\", \"value\": 95}");
	pub_retained(e, "dho/v1/vefsn/dev/oxy-1/gatt",
	             "{\"seq\": 5, \"uuid\": \"2A35\", \"hex\": \"1e8a00580078000000041114293b3c00012700\"}");
	for (int i = 0; i < 3; i++) {
		hub_start(e);
		assert_int_equal(wait_stat(e, "quarantined", i + 1, 10), i + 1);
		assert_int_equal(wait_stat(e, "readings", 4, 10), 4);
		stop(&e->hub, SIGTERM);
	}
	assert_int_equal(stat_int(e, "readings"), 4);
	assert_int_equal(stat_int(e, "quarantined"), 3);
	assert_non_null(strstr(last_reason(e, "dho/v1/vefsn/dev/oxy-1/reading"), "retained"));
	/* The same reading published live is stored. */
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"metric\": \"spo2\", \"value\": 95}");
	assert_int_equal(wait_stat(e, "readings", 5, 10), 5);
	pub_retained(e, "dho/v1/vefsn/dev/oxy-1/reading", "");
	pub_retained(e, "dho/v1/vefsn/dev/oxy-1/gatt", "");
}

/*
 * Cross-team ack: anyone who could publish on the one acks topic could
 * ack or resolve any team's alert. Acks now come on <prefix>/acks/<team>
 * and apply only to an alert of that team; the old topic, another team's
 * alert, and control characters or invalid UTF-8 in note or by are
 * quarantined with their reason and change nothing.
 */
static void
test_cross_team_ack(void **state)
{
	struct env *e = *state;
	char a1[16], doc[512];

	enroll(e, "P1", "oxy-1", 30, "");                 /* home-nursing/vefsn */
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"opened\"", 1, 10), 1);
	alert_id(e, "P1", a1, sizeof(a1));

	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"resolve\", \"by\": \"mallory\"}", a1);
	pub(e, "dho/v1/acks", doc);
	pub(e, "dho/v1/acks/home-nursing/rana", doc);
	pub(e, "dho/v1/acks/not-a-team", doc);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": \"nurse.kari\", "
	         "\"note\": \"ok\\r\\n2026-12-07T20:00:00Z root alert.resolve A1\"}", a1);
	pub(e, "dho/v1/acks/home-nursing/vefsn", doc);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": \"nurse.kari\", "
	         "\"note\": \"\\u001b[31mred\"}", a1);
	pub(e, "dho/v1/acks/home-nursing/vefsn", doc);
	{
		/* Invalid UTF-8 cannot be written as JSON text escapes; the raw
		 * byte goes in the payload. */
		char raw[256];

		snprintf(raw, sizeof(raw), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": "
		         "\"nurse.kari\", \"note\": \"caf\xe9\"}", a1);
		pub(e, "dho/v1/acks/home-nursing/vefsn", raw);
	}
	assert_int_equal(wait_stat(e, "quarantined", 6, 10), 6);
	assert_string_equal(alert_state(e, "P1"), "open");
	assert_non_null(strstr(last_reason(e, "dho/v1/acks"), "dho/v1/acks/<team>"));
	assert_non_null(strstr(last_reason(e, "dho/v1/acks/not-a-team"), "dho/v1/acks/<team>"));
	assert_true(strlen(last_reason(e, "dho/v1/acks/home-nursing/rana")) > 0);
	assert_int_equal(alert_lines(e, "\"acked\"", NULL) + alert_lines(e, "\"resolved\"", NULL), 0);

	/* Its own team's topic: applied. */
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": \"nurse.kari\", "
	         "\"note\": \"ringte pasienten\"}", a1);
	pub(e, "dho/v1/acks/home-nursing/vefsn", doc);
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"acked\"", 1, 10), 1);
	assert_string_equal(alert_state(e, "P1"), "acked");
}

/*
 * Retained ack: an ack planted with the retain flag before the alert
 * existed acked it at the hub's next reconnect. A retained ack is
 * quarantined and changes nothing.
 */
static void
test_retained_ack(void **state)
{
	struct env *e = *state;

	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	/* Planted before the alert exists: the live copy finds no alert. */
	pub_retained(e, "dho/v1/acks/home-nursing/vefsn",
	             "{\"alert\": \"A1\", \"action\": \"resolve\", \"by\": \"mallory\"}");
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"opened\"", 1, 10), 1);
	/* The reconnect subscribes again, and the broker sends the retained
	 * copy: quarantined as retained, the alert stays open. */
	stop(&e->hub, SIGTERM);
	hub_start(e);
	assert_int_equal(wait_stat(e, "quarantined", 2, 10), 2);
	assert_non_null(strstr(last_reason(e, "dho/v1/acks/home-nursing/vefsn"), "retained"));
	assert_string_equal(alert_state(e, "P1"), "open");
	pub_retained(e, "dho/v1/acks/home-nursing/vefsn", "");
}

/*
 * Audit injection: a note with \r\n forged a row in `dhohub audit`, and an
 * ESC sequence reached `dhohub quarantine` raw. The CLI refuses such a
 * note (exit 2); text from elsewhere is escaped in every text listing.
 */
static void
test_audit_injection(void **state)
{
	struct env *e = *state;
	char a1[16], args[256], *out = NULL;

	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"opened\"", 1, 10), 1);
	alert_id(e, "P1", a1, sizeof(a1));
	snprintf(args, sizeof(args), "ack %s --by nurse.kari --note \"$(printf 'ok\\r\\n2026-12-07T20:00:00Z "
	         "root alert.resolve A1')\"", a1);
	assert_int_equal(cli(e, NULL, args), 2);
	snprintf(args, sizeof(args), "ack %s --by nurse.kari --note \"$(printf 'caf\\351')\"", a1);
	assert_int_equal(cli(e, NULL, args), 2);
	snprintf(args, sizeof(args), "ack %s --by \"$(printf 'nurse\\033[2J')\"", a1);
	assert_int_equal(cli(e, NULL, args), 2);
	assert_string_equal(alert_state(e, "P1"), "open");

	/* Untrusted text from devices: ESC and CR in a payload and a reason. */
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"metric\": \"spo2\", \"value\": \"\\u001b]0;owned\\u0007\\r\\nFAKE ROW\"}");
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	assert_int_equal(cli(e, &out, "quarantine"), 0);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\r'));
	assert_null(strstr(out, "\nFAKE ROW"));
	assert_non_null(strstr(out, "\\x1B]0;owned"));
	free(out);
	assert_int_equal(cli(e, &out, "audit"), 0);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\r'));
	free(out);
	assert_int_equal(cli(e, &out, "alerts"), 0);
	assert_null(strchr(out, '\x1b'));
	free(out);
}

/*
 * --db typo: a listing on a path with a typo created an empty database and
 * said "no alerts", exit 0, which a nurse could read as all clear; on
 * another application's SQLite file dhohub added its tables and switched
 * it to WAL. Now only run, patient add and user add create a database, and
 * no command touches a file without dhohub's schema: exit 1, naming the
 * path.
 */
static void
test_db_typo(void **state)
{
	struct env *e = *state;
	char path[160], args[256], *out = NULL;
	static const char *const listings[] = { "alerts", "stats", "patient list", "quarantine",
	                                        "audit", "device list", "readings --patient P1" };
	int st;

	snprintf(path, sizeof(path), "%s/hub-typo.db", e->dir);
	for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		snprintf(args, sizeof(args), "--db %s %s", path, listings[i]);
		assert_int_equal(cli(e, &out, args), 1);
		free(out);
		assert_int_not_equal(access(path, F_OK), 0);
	}
	out = run(&st, "%s -c %s --db %s alerts 2>&1 >/dev/null", hub_bin(), e->conf, path);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, path));
	free(out);

	/* Another application's database: refused, and left as it was. */
	snprintf(path, sizeof(path), "%s/other.db", e->dir);
	out = run(&st, "sqlite3 %s 'CREATE TABLE notes (body TEXT)'", path);
	free(out);
	assert_int_equal(st, 0);
	snprintf(args, sizeof(args), "--db %s alerts", path);
	assert_int_equal(cli(e, NULL, args), 1);
	snprintf(args, sizeof(args), "--db %s patient add P9 --tenant vefsn --program copd "
	         "--discharged 2026-01-01", path);
	assert_int_equal(cli(e, NULL, args), 1);
	out = run(&st, "sqlite3 %s 'PRAGMA journal_mode; SELECT count(*) FROM sqlite_master'", path);
	assert_string_equal(out, "delete\n1\n");
	free(out);

	/* patient add creates one; a listing then works. */
	snprintf(path, sizeof(path), "%s/new.db", e->dir);
	snprintf(args, sizeof(args), "--db %s patient add P9 --tenant vefsn --program copd "
	         "--discharged 2026-01-01", path);
	assert_int_equal(cli(e, NULL, args), 0);
	snprintf(args, sizeof(args), "--db %s patient list", path);
	assert_int_equal(cli(e, NULL, args), 0);
}

/* --hospital-days had 0-3650 on the CLI and 0-365 in the config: one range. */
static void
test_hospital_days_range(void **state)
{
	struct env *e = *state;
	char *out;
	int st;

	assert_int_equal(cli(e, NULL, "patient add P1 --tenant vefsn --program copd "
	                     "--discharged 2026-01-01 --hospital-days 366"), 2);
	assert_int_equal(cli(e, NULL, "patient add P1 --tenant vefsn --program copd "
	                     "--discharged 2026-01-01 --hospital-days 365"), 0);
	env_conf_append(e, "[tenant:x]\nhome_team = home-nursing/x\nhospital_days = 366\n");
	out = run(&st, "%s -c %s check-config 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "hospital_days = 366: must be a whole number from 0 to 365"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_c_dev_zero, PROGRAMS),
		ENV_TEST(test_forged_log_line, PROGRAMS),
		ENV_TEST(test_payload_10mb, PROGRAMS),
		ENV_TEST(test_retained_reading, PROGRAMS),
		ENV_TEST(test_cross_team_ack, PROGRAMS),
		ENV_TEST(test_retained_ack, PROGRAMS),
		ENV_TEST(test_audit_injection, PROGRAMS),
		ENV_TEST(test_db_typo, PROGRAMS),
		ENV_TEST(test_hospital_days_range, PROGRAMS),
	};

	return INTEG_RUN(tests);
}
