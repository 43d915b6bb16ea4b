/*
 * test_spine.c: the hub spine on the real parts. Each test starts its own
 * Mosquitto on a free loopback port and drives `dhohub run` only through
 * MQTT and the CLI, as the contract's outside users do.
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

static int
setup(void **state)
{
	*state = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n\n"
	                 "[program:hf]\nmissing.weight = 3s red:7s\nthreshold.weight = red>120\n");
	return 0;
}

static int
teardown(void **state)
{
	env_free(*state);
	return 0;
}

static void
test_readings_stored(void **state)
{
	struct env *e = *state;
	json_t *r, *first;

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 95, \"unit\": \"%\"}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"seq\": 2, \"readings\": [{\"metric\": \"bp_sys\", \"value\": 141},"
	    " {\"metric\": \"bp_dia\", \"value\": 88}, {\"metric\": \"pulse\", \"value\": 77}]}");
	assert_int_equal(wait_stat(e, "readings", 4, 10), 4);
	r = cli_json(e, "readings --patient P1 --json");
	assert_int_equal(json_array_size(r), 4);
	first = json_array_get(r, 0);
	assert_string_equal(json_string_value(json_object_get(first, "patient")), "P1");
	assert_string_equal(json_string_value(json_object_get(first, "device")), "oxy-1");
	assert_non_null(json_object_get(first, "metric"));
	assert_non_null(json_object_get(first, "value"));
	assert_non_null(json_object_get(first, "unit"));
	assert_non_null(json_object_get(first, "measured_at"));
	assert_non_null(json_object_get(first, "received_at"));
	assert_true(json_is_array(json_object_get(first, "flags")));
	assert_true(json_is_integer(json_object_get(first, "seq")));
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
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")), "88"));
	json_decref(a);
	a = cli_json(e, "alerts --patient P2 --json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "severity")), "yellow");
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
	sleep(2);
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
	for (size_t i = 0; i < json_array_size(q); i++) {
		json_t *o = json_array_get(q, i);
		assert_true(strlen(json_string_value(json_object_get(o, "reason"))) > 5);
		assert_non_null(json_object_get(o, "topic"));
		assert_non_null(json_object_get(o, "payload"));
		assert_non_null(json_object_get(o, "at"));
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
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	sleep(1);
	assert_int_equal(stat_int(e, "readings"), 2);
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
	publisher = fork();
	if (publisher == 0) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "mosquitto_pub -p %d -q 1 -t dho/v1/vefsn/dev/oxy-1/reading -l < %s",
		         e->port, file);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (int round = 0; round < 2; round++) {
		json_int_t before = wait_stat(e, "readings", 200 + round * 600, 30);
		assert_true(before > 0);
		stop(&e->hub, SIGKILL);
		hub_start(e);
	}
	waitpid(publisher, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(wait_stat(e, "readings", 2000, 60), 2000);
	sleep(1);
	assert_int_equal(stat_int(e, "readings"), 2000);
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
	sleep(1);
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
	assert_true(json_array_size(json_object_get(json_array_get(r, 0), "flags")) >= 3);
	json_decref(r);
	assert_int_equal(wait_stat(e, "quarantined", 2, 10), 2);
	/* acks from dashboards: unknown alert and malformed ack are quarantined */
	pub(e, "dho/v1/acks", "{\"alert\": \"A404\", \"action\": \"ack\", \"by\": \"nurse.kari\"}");
	pub(e, "dho/v1/acks", "{\"alert\": 1}");
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
	before = alert_lines(e, "\"reminded\"", NULL);
	sleep(5);
	assert_int_equal(alert_lines(e, "\"reminded\"", NULL), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_readings_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_red_alert_on_team_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_low_reading_no_second_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redelivered_seq_stored_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_twice_during_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_change_applies_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gatt_and_acks_over_mqtt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation_and_reminder, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
