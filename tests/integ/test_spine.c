/*
 * test_spine.c: the hub spine on the real parts. Each test starts its own
 * Mosquitto on a free loopback port and drives `dhohub run` only through
 * MQTT and the CLI, as the hub's outside users do.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define PROGRAMS "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n\n" \
	"[program:hf]\nmissing.weight = 3s red:7s\nthreshold.weight = red>120\n"

static void
test_readings_stored(void **state)
{
	struct env *e = *state;
	static const struct { const char *metric; int value; const char *unit; int seq; } want[] = {
		{ "spo2", 95, "%", 1 }, { "bp_sys", 141, "mm[Hg]", 2 }, { "bp_dia", 88, "mm[Hg]", 2 },
		{ "pulse", 77, "/min", 2 },
	};
	json_t *r, *x;
	char ts[32], doc[256];
	time_t t = time(NULL) - 90, got;

	utc_at(ts, sizeof(ts), t);
	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 95,"
	         " \"unit\": \"%%\"}", ts);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", doc);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"seq\": 2, \"readings\": [{\"metric\": \"bp_sys\", \"value\": 141},"
	    " {\"metric\": \"bp_dia\", \"value\": 88}, {\"metric\": \"pulse\", \"value\": 77}]}");
	assert_int_equal(wait_stat(e, "readings", 4, 10), 4);
	r = cli_json(e, "readings --patient P1 --json");
	assert_int_equal(json_array_size(r), 4);
	/* oldest first: the spo2 measured 90 s ago, then the three of seq 2 */
	for (size_t i = 0; i < 4; i++) {
		time_t received;

		x = json_array_get(r, i);
		assert_string_equal(jstr(x, "patient"), "P1");
		assert_string_equal(jstr(x, "device"), "oxy-1");
		assert_string_equal(jstr(x, "metric"), want[i].metric);
		assert_int_equal(jint(x, "value"), want[i].value);
		assert_string_equal(jstr(x, "unit"), want[i].unit);
		assert_int_equal(jint(x, "seq"), want[i].seq);
		assert_int_equal(json_array_size(json_object_get(x, "flags")), 0);
		assert_true(json_is_array(json_object_get(x, "flags")));
		parse_utc(jstr(x, "measured_at"), &got);
		parse_utc(jstr(x, "received_at"), &received);
		assert_true(received >= t && received <= time(NULL));
		if (i == 0)
			assert_string_equal(jstr(x, "measured_at"), ts);
		else    /* no ts: the receive time */
			assert_string_equal(jstr(x, "measured_at"), jstr(x, "received_at"));
	}
	json_decref(r);
}

static void
test_red_alert_on_team_topic(void **state)
{
	struct env *e = *state;
	json_t *a, *doc;

	enroll(e, "P1", "oxy-1", 2, "");                         /* hospital phase */
	enroll(e, "P2", "oxy-2", 30, "");                        /* home phase */
	enroll(e, "P3", "oxy-3", 2, "--team home-nursing/rana"); /* pinned */
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 86}");
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	pub(e, "dho/v1/vefsn/dev/oxy-3/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"P1\"", 1, 10), 1);
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"P2\"", 1, 10), 1);
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/rana ", "\"P3\"", 1, 10), 1);
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	doc = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(doc, "event")), "opened");
	assert_string_equal(json_string_value(json_object_get(doc, "severity")), "red");
	assert_string_equal(json_string_value(json_object_get(doc, "rule")), "threshold.spo2");
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "open");
	assert_string_equal(json_string_value(json_object_get(doc, "team")), "hospital-dho/mosjoen");
	assert_string_equal(json_string_value(json_object_get(doc, "tenant")), "vefsn");
	assert_int_equal(json_integer_value(json_object_get(doc, "level")), 0);
	assert_true(json_is_false(json_object_get(doc, "cleared")));
	assert_int_equal(json_integer_value(json_object_get(doc, "value")), 86);
	assert_string_equal(jstr(doc, "reason"), "spo2 86 % is below the red limit 88 %");
	json_decref(a);
	a = cli_json(e, "alerts --patient P2 --json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "severity")), "yellow");
	assert_string_equal(jstr(json_array_get(a, 0), "reason"), "spo2 90 % is below the yellow limit 92 %");
	json_decref(a);
	a = cli_json(e, "alerts --patient P3 --json");
	assert_string_equal(jstr(json_array_get(a, 0), "reason"), "spo2 80 % is below the red limit 88 %");
	json_decref(a);
}

static void
test_second_low_reading_no_second_alert(void **state)
{
	struct env *e = *state;
	json_t *a;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 86}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 85}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 3, \"metric\": \"spo2\", \"value\": 84}");
	assert_int_equal(wait_stat(e, "readings", 3, 10), 3);
	assert_int_equal(wait_alert_lines(e, "\"opened\"", NULL, 1, 10), 1);
	feed_sync(e);
	assert_int_equal(alert_lines(e, "\"opened\"", NULL), 1);
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
}

static void
test_bad_input_quarantined(void **state)
{
	struct env *e = *state;
	char big[70000], ts_future[160], ts_old[160], when[32];
	json_t *q;
	const char *topic = "dho/v1/vefsn/dev/oxy-1/reading";
	time_t t;
	struct tm tm;
	char *out = NULL;
	char longid[80];

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, topic, "{\"metric\": \"spo2\", \"value\": ");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"metric\": \"spo2\", \"value\": 95}", 31);
	pub(e, topic, big);
	pub(e, topic, "{\"metric\": \"mood\", \"value\": 3}");
	pub(e, topic, "{\"metric\": \"spo2\", \"value\": 95, \"unit\": \"furlong\"}");
	pub(e, topic, "{\"metric\": \"spo2\", \"value\": \"95\"}");
	pub(e, topic, "{\"metric\": \"spo2\", \"value\": 140}");
	t = time(NULL) + 3600;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ts_future, sizeof(ts_future), "{\"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 95}", when);
	pub(e, topic, ts_future);
	t = time(NULL) - 40 * 86400;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ts_old, sizeof(ts_old), "{\"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 95}", when);
	pub(e, topic, ts_old);
	pub(e, "dho/v1/vefsn/dev/stranger/reading", "{\"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/rana/dev/oxy-1/reading", "{\"metric\": \"spo2\", \"value\": 95}");
	assert_int_equal(wait_stat(e, "quarantined", 10, 10), 10);
	q = cli_json(e, "quarantine --json");
	assert_int_equal(json_array_size(q), 10);
	{
		/* Each entry in the order sent, its reason naming what is wrong
		 * with that input. */
		static const struct { const char *topic, *a, *b; } want[] = {
			{ "dho/v1/vefsn/dev/oxy-1/reading", "malformed JSON", "column 28" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "69999 bytes", "65536" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "unknown metric", "mood" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "unknown unit", "furlong" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "\"95\"", "not a number" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "140", "0-100" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "ahead", "5 minutes" },
			{ "dho/v1/vefsn/dev/oxy-1/reading", "30 days", NULL },
			{ "dho/v1/vefsn/dev/stranger/reading", "stranger", "not assigned" },
			{ "dho/v1/rana/dev/oxy-1/reading", "tenant vefsn", "tenant rana" },
		};
		time_t at, t0 = time(NULL) - 60;

		for (size_t i = 0; i < json_array_size(q); i++) {
			json_t *o = json_array_get(q, i);
			const char *reason = jstr(o, "reason");

			assert_string_equal(jstr(o, "topic"), want[i].topic);
			if (strstr(reason, want[i].a) == NULL ||
			    (want[i].b != NULL && strstr(reason, want[i].b) == NULL))
				fail_msg("entry %zu: reason '%s' does not name '%s' and '%s'", i, reason,
				         want[i].a, want[i].b ? want[i].b : "");
			assert_true(json_is_string(json_object_get(o, "payload")));
			parse_utc(jstr(o, "at"), &at);
			assert_true(at >= t0 && at <= time(NULL));
		}
		assert_string_equal(jstr(json_array_get(q, 0), "payload"), "{\"metric\": \"spo2\", \"value\": ");
		assert_string_equal(jstr(json_array_get(q, 2), "payload"), "{\"metric\": \"mood\", \"value\": 3}");
	}
	json_decref(q);
	/* the daemon is still alive and storing */
	pub(e, topic, "{\"seq\": 9, \"metric\": \"spo2\", \"value\": 95}");
	assert_int_equal(wait_stat(e, "readings", 1, 10), 1);
	assert_int_equal(waitpid(e->hub, NULL, WNOHANG), 0);
	/* forbidden identifiers on the command line, and unknown objects */
	assert_int_equal(cli(e, NULL, "patient add 'P 1' --tenant vefsn --program copd --discharged 2026-12-01"), 2);
	assert_int_equal(cli(e, NULL, "patient add 'P/1' --tenant vefsn --program copd --discharged 2026-12-01"), 2);
	memset(longid, 'x', 65);
	longid[65] = '\0';
	{
		char args[256];
		snprintf(args, sizeof(args), "patient add %s --tenant vefsn --program copd --discharged 2026-12-01", longid);
		assert_int_equal(cli(e, NULL, args), 2);
	}
	assert_int_equal(cli(e, &out, "patient show nobody"), 3);
	free(out);
	assert_int_equal(cli(e, NULL, "readings --patient nobody"), 3);
}

static void
test_redelivered_seq_stored_once(void **state)
{
	struct env *e = *state;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 5, \"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 5, \"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 5, \"metric\": \"spo2\", \"value\": 97}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 6, \"metric\": \"spo2\", \"value\": 96}");
	/* A marker after them: once it is stored, every earlier message is
	 * handled (one publisher, one topic: in order). */
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 7, \"metric\": \"spo2\", \"value\": 94}");
	assert_int_equal(wait_stat(e, "readings", 3, 10), 3);
	assert_int_equal(stat_int(e, "readings"), 3);
	{
		json_t *r = cli_json(e, "readings --patient P1 --json");

		assert_int_equal(json_array_size(r), 3);
		assert_int_equal(jint(json_array_get(r, 0), "seq"), 5);
		assert_int_equal(jint(json_array_get(r, 0), "value"), 95);   /* the first copy */
		assert_int_equal(jint(json_array_get(r, 1), "seq"), 6);
		assert_int_equal(jint(json_array_get(r, 2), "seq"), 7);
		json_decref(r);
	}
}

static void
test_kill9_twice_during_stream(void **state)
{
	struct env *e = *state;
	char file[160], *o;
	FILE *f;
	pid_t publisher;
	int st;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	snprintf(file, sizeof(file), "%s/stream", e->dir);
	f = fopen(file, "w");
	for (int i = 1; i <= 2000; i++)
		fprintf(f, "{\"seq\": %d, \"metric\": \"pulse\", \"value\": %d}\n", i, 60 + i % 20);
	fclose(f);
	/* Twenty chunks of 100, a fifth of a second apart: a stream of seconds
	 * that the kills land in. */
	publisher = fork();
	if (publisher == 0) {
		char cmd[512];

		for (int from = 1; from <= 2000; from += 100) {
			snprintf(cmd, sizeof(cmd), "sed -n '%d,%dp' %s | mosquitto_pub -p %d -q 1"
			         " -t dho/v1/vefsn/dev/oxy-1/reading -l", from, from + 99, file, e->port);
			if (system(cmd) != 0)
				_exit(1);
			usleep(200 * 1000);
		}
		_exit(0);
	}
	for (int round = 0; round < 2; round++) {
		json_int_t at_kill, before = wait_stat(e, "readings", 200 + round * 600, 30);

		assert_true(before >= 200 + round * 600);
		stop(&e->hub, SIGKILL);
		/* What the killed hub had stored: part of the stream, not all of
		 * it, so the kill landed while readings were still coming in. */
		at_kill = stat_int(e, "readings");
		print_message("kill -9 number %d with %lld of 2000 readings stored\n", round + 1,
		              (long long)at_kill);
		assert_true(at_kill >= before && at_kill < 2000);
		hub_start(e);
	}
	waitpid(publisher, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(wait_stat(e, "readings", 2000, 60), 2000);
	hub_stop(e);
	o = run(&st, "sqlite3 %s/hub.db 'PRAGMA integrity_check; SELECT count(*) FROM readings;"
	             " SELECT count(DISTINCT seq) FROM readings;'", e->dir);
	assert_string_equal(o, "ok\n2000\n2000\n");
	free(o);
}

static void
test_cli_change_applies_while_running(void **state)
{
	struct env *e = *state;
	json_t *a;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	assert_int_equal(cli(e, NULL, "rule set --patient P1 'threshold.spo2 = red<95'"), 0);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 94}");
	assert_int_equal(wait_alert_lines(e, "\"opened\"", "\"red\"", 1, 10), 1);
	a = cli_json(e, "rule list --patient P1 --json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "origin")), "patient");
	json_decref(a);
	/* an ack from the CLI is published by the daemon */
	assert_int_equal(cli(e, NULL, "ack A1 --by nurse.kari --note 'called patient'"), 0);
	assert_int_equal(wait_alert_lines(e, "\"acked\"", "nurse.kari", 1, 5), 1);
	assert_int_equal(cli(e, NULL, "ack A99 --by nurse.kari"), 3);
	/* SIGTERM: clean exit 0 */
	hub_stop(e);
}

static void
test_missing_across_restart(void **state)
{
	struct env *e = *state;
	char d[16], args[256];
	json_t *a;

	today(d, sizeof(d), 2);
	snprintf(args, sizeof(args), "patient add HF1 --tenant vefsn --program hf --discharged %s", d);
	assert_int_equal(cli(e, NULL, args), 0);
	snprintf(args, sizeof(args), "patient add HF2 --tenant vefsn --program hf --discharged %s", d);
	assert_int_equal(cli(e, NULL, args), 0);
	assert_int_equal(cli(e, NULL, "device assign scale-1 --patient HF1"), 0);
	/* HF2's follow-up ends: its missing rule must never fire. */
	assert_int_equal(cli(e, NULL, "patient end HF2"), 0);
	hub_start(e);
	assert_int_equal(wait_alert_lines(e, "\"opened\"", "missing.weight", 1, 10), 1);
	/* kill -9 between the yellow and the red deadline */
	stop(&e->hub, SIGKILL);
	hub_start(e);
	assert_int_equal(wait_alert_lines(e, "\"raised\"", "missing.weight", 1, 15), 1);
	feed_sync(e);
	assert_int_equal(alert_ids(e, "\"opened\"", "missing.weight"), 1);
	assert_int_equal(alert_ids(e, "\"raised\"", "missing.weight"), 1);
	assert_int_equal(alert_lines(e, "\"HF2\"", NULL), 0);
	a = cli_json(e, "alerts --patient HF1 --json");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "severity")), "red");
	json_decref(a);
	/* readings end the silence: clear_after (2) normal readings clear it */
	pub(e, "dho/v1/vefsn/dev/scale-1/reading", "{\"seq\": 1, \"metric\": \"weight\", \"value\": 80}");
	pub(e, "dho/v1/vefsn/dev/scale-1/reading", "{\"seq\": 2, \"metric\": \"weight\", \"value\": 80.2}");
	assert_int_equal(wait_alert_lines(e, "\"event\":\"cleared\"", "missing.weight", 1, 10), 1);
}

static void
test_gatt_and_acks_over_mqtt(void **state)
{
	struct env *e = *state;
	json_t *r, *q;
	char *out = NULL;

	enroll(e, "P1", "cuff-1", 2, "");
	hub_start(e);
	/* 2A35 from the reference: 138/88 mmHg, MAP 120, pulse 60, status flags */
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt",
	    "{\"seq\": 77, \"uuid\": \"0x2A35\", \"hex\": \"1e8a00580078000000041114293b3c00012700\"}");
	/* a special value (NaN systolic) is quarantined, the rest kept */
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt",
	    "{\"seq\": 78, \"uuid\": \"2a35\", \"hex\": \"00ff0758007800\"}");
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt", "{\"seq\": 79, \"uuid\": \"2a35\", \"hex\": \"1e8a\"}");
	assert_int_equal(wait_stat(e, "readings", 6, 10), 6);
	r = cli_json(e, "readings --patient P1 --metric bp_sys --json");
	assert_int_equal(json_array_size(r), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "value")), 138);
	{
		/* the vector's status 0x0027: its four named flags, in bit order */
		json_t *fl = json_object_get(json_array_get(r, 0), "flags");

		assert_int_equal(json_array_size(fl), 4);
		assert_string_equal(json_string_value(json_array_get(fl, 0)), "body_movement");
		assert_string_equal(json_string_value(json_array_get(fl, 1)), "cuff_loose");
		assert_string_equal(json_string_value(json_array_get(fl, 2)), "irregular_pulse");
		assert_string_equal(json_string_value(json_array_get(fl, 3)), "improper_position");
	}
	json_decref(r);
	assert_int_equal(wait_stat(e, "quarantined", 2, 10), 2);
	/* acks from dashboards: unknown alert and malformed ack are quarantined */
	pub(e, "dho/v1/acks/home-nursing/vefsn", "{\"alert\": \"A404\", \"action\": \"ack\", \"by\": \"nurse.kari\"}");
	pub(e, "dho/v1/acks/home-nursing/vefsn", "{\"alert\": 1}");
	assert_int_equal(wait_stat(e, "quarantined", 4, 10), 4);
	q = cli_json(e, "quarantine --json");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(q, 2), "reason")), "A404"));
	json_decref(q);
	assert_int_equal(cli(e, &out, "decode gatt 2A1C 06B00E00FEDC070C050B321B"), 2);
	free(out);
}

static void
test_escalation_and_reminder(void **state)
{
	struct env *e = *state;
	json_t *a, *doc;
	int before;

	env_conf_append(e, "[alerts]\nack_s.red = 2");
	enroll(e, "P2", "oxy-2", 30, "");   /* home phase: home-nursing/vefsn */
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"opened\"", 1, 10), 1);
	/* unacked for ack_s.red: escalated, and the event goes to both teams */
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"escalated\"", 1, 10), 1);
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"escalated\"", 1, 10), 1);
	a = cli_json(e, "alerts --patient P2 --json");
	doc = json_array_get(a, 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "level")), 1);
	assert_string_equal(json_string_value(json_object_get(doc, "team")), "hospital-dho/mosjoen");
	json_decref(a);
	/* the end of the chain: reminded every ack_s.red until acked */
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"reminded\"", 1, 10), 1);
	assert_int_equal(cli(e, NULL, "ack A1 --by nurse.kari"), 0);
	assert_int_equal(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"acked\"", 1, 5), 1);
	/* Acked: no reminder after it, however long past ack_s.red. The
	 * absence of an event can only be seen after the time it would have
	 * come: three ack_s periods, then everything queued is in the feed. */
	before = alert_lines(e, "\"reminded\"", NULL);
	for (double until = mono_now() + 3 * 2 + 1; mono_now() < until;)
		usleep(100 * 1000);
	feed_sync(e);
	assert_int_equal(alert_lines(e, "\"reminded\"", NULL), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_readings_stored, PROGRAMS),
		ENV_TEST(test_red_alert_on_team_topic, PROGRAMS),
		ENV_TEST(test_second_low_reading_no_second_alert, PROGRAMS),
		ENV_TEST(test_bad_input_quarantined, PROGRAMS),
		ENV_TEST(test_redelivered_seq_stored_once, PROGRAMS),
		ENV_TEST(test_kill9_twice_during_stream, PROGRAMS),
		ENV_TEST(test_cli_change_applies_while_running, PROGRAMS),
		ENV_TEST(test_missing_across_restart, PROGRAMS),
		ENV_TEST(test_gatt_and_acks_over_mqtt, PROGRAMS),
		ENV_TEST(test_escalation_and_reminder, PROGRAMS),
	};
	return INTEG_RUN(tests);
}
