/*
 * test_alerts.c: the alert life (docs/operations.md) end to end, read
 * from the alert feed (every event document as published): recurred on a
 * cleared alert, the version of each event, severities that raise and do
 * not lower, the keys of the event document with their values.
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

#define PROGRAMS \
	"[program:copd]\nthreshold.spo2 = red<88 yellow<92\nthreshold.pulse = red>120\n"

/* One spo2 reading of device, measured ago seconds before now. */
static void
spo2(struct env *e, const char *device, int seq, int value, int ago)
{
	char topic[128], doc[256], ts[32];

	utc(ts, sizeof(ts), -ago);
	snprintf(topic, sizeof(topic), "dho/v1/vefsn/dev/%s/reading", device);
	snprintf(doc, sizeof(doc), "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"spo2\", \"value\": %d}",
	         seq, ts, value);
	pub(e, topic, doc);
}

/* The events of alert id, by name, in the order published: "opened,cleared,...". */
static void
event_names(struct env *e, const char *id, char *buf, size_t len)
{
	json_t *all = feed_events(e, id), *doc;
	size_t i, o = 0;

	buf[0] = '\0';
	json_array_foreach(all, i, doc)
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", i ? "," : "",
		                      jstr(doc, "event"));
	json_decref(all);
}

/* The versions of alert id's events count up by one from 1. */
static void
versions_count_up(struct env *e, const char *id)
{
	json_t *all = feed_events(e, id), *doc;
	size_t i;

	assert_true(json_array_size(all) > 0);
	json_array_foreach(all, i, doc)
		assert_int_equal(jint(doc, "version"), (json_int_t)i + 1);
	json_decref(all);
}

/*
 * Cleared but not resolved, the condition returns: `recurred` with the new
 * reading and reason, the alert no longer cleared, the version one up. At
 * a higher severity the same return is `raised` instead.
 */
static void
test_recurred_after_cleared(void **state)
{
	struct env *e = *state;
	json_t *ev, *a;
	char names[256];

	enroll(e, "P1", "oxy-1", 30, "");
	enroll(e, "P2", "oxy-2", 30, "");
	hub_start(e);
	spo2(e, "oxy-1", 1, 86, 50);                      /* red: opened */
	ev = wait_event(e, "A1", "opened", 10);
	json_decref(ev);
	spo2(e, "oxy-2", 1, 90, 50);                      /* yellow: opened */
	ev = wait_event(e, "A2", "opened", 10);
	json_decref(ev);
	spo2(e, "oxy-1", 2, 95, 40);
	spo2(e, "oxy-1", 3, 96, 30);                      /* clear_after 2: cleared */
	spo2(e, "oxy-2", 2, 95, 40);
	spo2(e, "oxy-2", 3, 96, 30);
	ev = wait_event(e, "A1", "cleared", 10);
	assert_true(json_is_true(json_object_get(ev, "cleared")));
	json_decref(ev);
	ev = wait_event(e, "A2", "cleared", 10);
	json_decref(ev);

	/* The same severity comes back on A1: recurred, with 87 and its reason. */
	spo2(e, "oxy-1", 4, 87, 20);
	ev = wait_event(e, "A1", "recurred", 10);
	assert_int_equal(jint(ev, "value"), 87);
	assert_string_equal(jstr(ev, "reason"), "spo2 87 % is below the red limit 88 %");
	assert_string_equal(jstr(ev, "severity"), "red");
	assert_string_equal(jstr(ev, "state"), "open");
	assert_true(json_is_false(json_object_get(ev, "cleared")));
	assert_int_equal(jint(ev, "version"), 3);
	json_decref(ev);

	/* A higher severity on A2 (yellow, cleared): raised, not recurred. */
	spo2(e, "oxy-2", 4, 85, 20);
	ev = wait_event(e, "A2", "raised", 10);
	assert_int_equal(jint(ev, "value"), 85);
	assert_string_equal(jstr(ev, "reason"), "spo2 85 % is below the red limit 88 %");
	assert_string_equal(jstr(ev, "severity"), "red");
	assert_true(json_is_false(json_object_get(ev, "cleared")));
	assert_int_equal(jint(ev, "version"), 3);
	json_decref(ev);

	/* A second low reading on a recurred alert is no new event; a normal
	 * one after it only counts. Then the nurse acks: version 4. */
	spo2(e, "oxy-1", 5, 86, 10);
	assert_int_equal(wait_stat(e, "readings", 9, 10), 9);
	assert_int_equal(cli(e, NULL, "ack A1 --by nurse.kari --note 'called'"), 0);
	ev = wait_event(e, "A1", "acked", 10);
	assert_int_equal(jint(ev, "version"), 4);
	json_decref(ev);
	event_names(e, "A1", names, sizeof(names));
	assert_string_equal(names, "opened,cleared,recurred,acked");
	event_names(e, "A2", names, sizeof(names));
	assert_string_equal(names, "opened,cleared,raised");
	versions_count_up(e, "A1");
	versions_count_up(e, "A2");

	/* alerts --json shows the latest event with its version. */
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(jstr(json_array_get(a, 0), "event"), "acked");
	assert_int_equal(jint(json_array_get(a, 0), "version"), 4);
	json_decref(a);
}

static time_t
at_of(const json_t *ev, const char *key)
{
	time_t t;

	parse_utc(jstr(ev, key), &t);
	return t;
}

/* A lower severity does not lower an open alert, and is no event. */
static void
test_lower_severity_does_not_lower(void **state)
{
	struct env *e = *state;
	json_t *a, *l;

	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	spo2(e, "oxy-1", 1, 85, 30);
	json_decref(wait_event(e, "A1", "opened", 10));
	spo2(e, "oxy-1", 2, 90, 20);                      /* yellow */
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	feed_sync(e);
	l = feed_events(e, "A1");
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(jstr(json_array_get(a, 0), "severity"), "red");
	assert_int_equal(jint(json_array_get(a, 0), "value"), 85);
	assert_int_equal(jint(json_array_get(a, 0), "version"), 1);
	json_decref(a);
}

/* Every key of the event document, with its value, for opened, acked and
 * the automatic resolution. */
static void
test_event_keys_with_values(void **state)
{
	struct env *e = *state;
	json_t *ev;
	char ts[32], doc[160];
	time_t t0 = time(NULL), t;

	utc(ts, sizeof(ts), -40);
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 85}", ts);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", doc);
	ev = wait_event(e, "A1", "opened", 10);
	assert_string_equal(jstr(ev, "_topic"), "dho/v1/alerts/home-nursing/vefsn");
	assert_string_equal(jstr(ev, "id"), "A1");
	assert_string_equal(jstr(ev, "event"), "opened");
	assert_string_equal(jstr(ev, "patient"), "P1");
	assert_string_equal(jstr(ev, "tenant"), "vefsn");
	assert_string_equal(jstr(ev, "team"), "home-nursing/vefsn");
	assert_string_equal(jstr(ev, "severity"), "red");
	assert_string_equal(jstr(ev, "rule"), "threshold.spo2");
	assert_string_equal(jstr(ev, "state"), "open");
	assert_int_equal(jint(ev, "level"), 0);
	assert_true(json_is_false(json_object_get(ev, "cleared")));
	assert_string_equal(jstr(ev, "metric"), "spo2");
	assert_int_equal(jint(ev, "value"), 85);
	assert_string_equal(jstr(ev, "unit"), "%");
	assert_string_equal(jstr(ev, "measured_at"), ts);
	t = at_of(ev, "opened_at");
	assert_true(t >= t0 && t <= time(NULL));
	assert_string_equal(jstr(ev, "at"), jstr(ev, "opened_at"));
	assert_string_equal(jstr(ev, "reason"), "spo2 85 % is below the red limit 88 %");
	assert_int_equal(jint(ev, "version"), 1);
	assert_null(json_object_get(ev, "by"));
	assert_null(json_object_get(ev, "news2"));
	json_decref(ev);

	assert_int_equal(cli(e, NULL, "ack A1 --by nurse.kari --note 'called patient'"), 0);
	ev = wait_event(e, "A1", "acked", 10);
	assert_string_equal(jstr(ev, "state"), "acked");
	assert_string_equal(jstr(ev, "by"), "nurse.kari");
	assert_string_equal(jstr(ev, "note"), "called patient");
	assert_int_equal(jint(ev, "version"), 2);
	assert_true(at_of(ev, "at") >= at_of(ev, "opened_at"));
	json_decref(ev);
	/* acked and then cleared: resolved by "auto" */
	spo2(e, "oxy-1", 2, 95, 20);
	spo2(e, "oxy-1", 3, 96, 10);
	ev = wait_event(e, "A1", "resolved", 10);
	assert_string_equal(jstr(ev, "state"), "resolved");
	assert_string_equal(jstr(ev, "by"), "auto");
	assert_true(json_is_true(json_object_get(ev, "cleared")));
	assert_int_equal(jint(ev, "version"), 4);
	json_decref(ev);
	ev = wait_event(e, "A1", "cleared", 10);
	assert_int_equal(jint(ev, "version"), 3);
	json_decref(ev);
}

/* clear_after other than 2: three normal readings clear, two do not. */
static void
test_clear_after_3(void **state)
{
	struct env *e = *state;
	json_t *l;

	env_conf_append(e, "[alerts]\nclear_after = 3");
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	spo2(e, "oxy-1", 1, 85, 40);
	spo2(e, "oxy-1", 2, 95, 30);
	spo2(e, "oxy-1", 3, 95, 20);
	assert_int_equal(wait_stat(e, "readings", 3, 10), 3);
	feed_sync(e);
	l = feed_events(e, "A1");
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	spo2(e, "oxy-1", 4, 95, 10);
	json_decref(wait_event(e, "A1", "cleared", 10));
}

/*
 * ack_s.yellow: a yellow alert not acked for that long escalates (level 1,
 * to both teams); the ack timer restarts there, so the first reminder
 * comes ack_s after the escalation, and reminders repeat every ack_s.
 */
static void
test_escalation_by_ack_s_yellow(void **state)
{
	struct env *e = *state;
	json_t *op, *esc, *r1, *r2, *all, *ev;
	size_t i;
	int esc_home = 0, esc_hospital = 0;

	env_conf_append(e, "[alerts]\nack_s.yellow = 3\nack_s.red = 3600");
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	spo2(e, "oxy-1", 1, 90, 10);                      /* yellow */
	op = wait_event(e, "A1", "opened", 10);
	assert_string_equal(jstr(op, "severity"), "yellow");
	esc = wait_event(e, "A1", "escalated", 15);
	assert_int_equal(jint(esc, "level"), 1);
	assert_string_equal(jstr(esc, "team"), "hospital-dho/mosjoen");
	assert_true(at_of(esc, "at") - at_of(op, "at") >= 3);
	/* the reminders: the first ack_s after the escalation, then every ack_s */
	for (double until = mono_now() + 20; mono_now() < until;) {
		all = feed_events(e, "A1");
		r1 = NULL;
		i = 0;
		json_array_foreach(all, i, ev)
			if (strcmp(jstr(ev, "event"), "reminded") == 0)
				r1 = ev;
		if (r1 != NULL && jint(r1, "version") >= 4) {
			json_decref(all);
			break;
		}
		json_decref(all);
		usleep(200 * 1000);
	}
	all = feed_events(e, "A1");
	r1 = r2 = NULL;
	json_array_foreach(all, i, ev) {
		if (strcmp(jstr(ev, "event"), "reminded") == 0) {
			if (r1 == NULL)
				r1 = ev;
			else if (r2 == NULL)
				r2 = ev;
		}
		if (strcmp(jstr(ev, "event"), "escalated") == 0) {
			esc_home += strcmp(jstr(ev, "_topic"), "dho/v1/alerts/home-nursing/vefsn") == 0;
			esc_hospital += strcmp(jstr(ev, "_topic"), "dho/v1/alerts/hospital-dho/mosjoen") == 0;
		}
	}
	assert_non_null(r1);
	assert_non_null(r2);
	assert_int_equal(esc_home, 1);
	assert_int_equal(esc_hospital, 1);
	assert_string_equal(jstr(r1, "_topic"), "dho/v1/alerts/hospital-dho/mosjoen");
	assert_true(at_of(r1, "at") - at_of(esc, "at") >= 3);
	assert_true(at_of(r2, "at") - at_of(r1, "at") >= 3);
	assert_int_equal(jint(esc, "version"), 2);
	assert_int_equal(jint(r1, "version"), 3);
	assert_int_equal(jint(r2, "version"), 4);
	json_decref(all);
	json_decref(op);
	json_decref(esc);
}

/*
 * The responsible team changes from hospital to home when hospital_days
 * have passed since discharge: discharged 14 days minus a few seconds ago,
 * the first alert goes to the hospital team and keeps it; an alert opened
 * after the boundary goes to the home team.
 */
static void
test_team_changes_at_hospital_days(void **state)
{
	struct env *e = *state;
	char when[32], args[160];
	time_t boundary = time(NULL) + 6;
	json_t *ev, *p;
	bool home = false;

	utc_at(when, sizeof(when), boundary - 14 * 86400);
	snprintf(args, sizeof(args), "patient add P1 --tenant vefsn --program copd --discharged %s", when);
	assert_int_equal(cli(e, NULL, args), 0);
	assert_int_equal(cli(e, NULL, "device assign oxy-1 --patient P1"), 0);
	hub_start(e);
	spo2(e, "oxy-1", 1, 85, 0);
	ev = wait_event(e, "A1", "opened", 10);
	if (time(NULL) >= boundary)
		fail_msg("the machine was too slow to open the alert before the boundary");
	assert_string_equal(jstr(ev, "team"), "hospital-dho/mosjoen");
	json_decref(ev);
	/* Wait for the boundary as patient show sees it. */
	for (double until = mono_now() + 30; !home && mono_now() < until;) {
		p = cli_json(e, "patient show P1 --json");
		home = strcmp(jstr(p, "team"), "home-nursing/vefsn") == 0;
		json_decref(p);
		if (!home)
			usleep(200 * 1000);
	}
	assert_true(home);
	assert_true(time(NULL) >= boundary);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"pulse\", \"value\": 130}");
	ev = wait_event(e, "A2", "opened", 10);
	assert_string_equal(jstr(ev, "rule"), "threshold.pulse");
	assert_string_equal(jstr(ev, "team"), "home-nursing/vefsn");
	assert_string_equal(jstr(ev, "_topic"), "dho/v1/alerts/home-nursing/vefsn");
	json_decref(ev);
	p = cli_json(e, "alerts --patient P1 --json");
	assert_string_equal(jstr(json_array_get(p, 0), "team"), "hospital-dho/mosjoen");
	json_decref(p);
}

/* Events reach the broker at QoS 1: a QoS 1 subscriber receives them at 1. */
static void
test_events_at_qos1(void **state)
{
	struct env *e = *state;
	char port[16], path[160];
	char *argv[] = { "mosquitto_sub", "-p", port, "-q", "1", "-F", "%q %t", "-t", "dho/v1/alerts/#", NULL };
	pid_t sub;

	snprintf(port, sizeof(port), "%d", e->port);
	snprintf(path, sizeof(path), "%s/qos.txt", e->dir);
	sub = spawn(path, argv);
	enroll(e, "P1", "oxy-1", 30, "");
	/* The probe of feed_sync() is published at QoS 1 too: wait for the
	 * subscriber to have it before the hub publishes anything. */
	for (int i = 0; i < 100 && file_lines(path, "_probe", NULL) == 0; i++)
		feed_sync(e);
	assert_true(file_lines(path, "_probe", NULL) >= 1);
	hub_start(e);
	spo2(e, "oxy-1", 1, 85, 10);
	json_decref(wait_event(e, "A1", "opened", 10));
	feed_sync(e);
	stop(&sub, SIGTERM);
	assert_int_equal(file_lines(path, "1 dho/v1/alerts/home-nursing/vefsn", NULL), 1);
	assert_int_equal(file_lines(path, "0 dho/v1/alerts/home-nursing/vefsn", NULL), 0);
}

/* The retained status says online with `at`; a kill -9 lets the broker
 * publish the will, {"state":"offline"}. */
static void
test_status_and_will(void **state)
{
	struct env *e = *state;
	char port[16], path[160], *o;
	char *argv[] = { "mosquitto_sub", "-p", port, "-q", "1", "-t", "dho/v1/hub/itest/status", NULL };
	json_t *s;
	time_t at, t0 = time(NULL);
	pid_t sub;
	int st;

	hub_start(e);
	o = run(&st, "mosquitto_sub -p %d -t dho/v1/hub/itest/status -C 1 -W 5 -F '%%r %%p'", e->port);
	assert_int_equal(st, 0);
	/* retained flag 1, then the document */
	assert_int_equal(strncmp(o, "1 ", 2), 0);
	s = json_loads(o + 2, 0, NULL);
	assert_non_null(s);
	assert_string_equal(jstr(s, "state"), "online");
	parse_utc(jstr(s, "at"), &at);
	assert_true(at >= t0 - 1 && at <= time(NULL));
	json_decref(s);
	free(o);

	snprintf(port, sizeof(port), "%d", e->port);
	snprintf(path, sizeof(path), "%s/status.txt", e->dir);
	sub = spawn(path, argv);
	for (int i = 0; i < 100 && file_lines(path, "online", NULL) == 0; i++)
		usleep(50 * 1000);
	assert_int_equal(file_lines(path, "online", NULL), 1);
	stop(&e->hub, SIGKILL);
	for (int i = 0; i < 100 && file_lines(path, "offline", NULL) == 0; i++)
		usleep(100 * 1000);
	stop(&sub, SIGTERM);
	assert_int_equal(file_lines(path, "{\"state\":\"offline\"}", NULL) +
	                 file_lines(path, "{\"state\": \"offline\"}", NULL), 1);
	/* The retained message is now the will; a restart says online again. */
	o = run(&st, "mosquitto_sub -p %d -t dho/v1/hub/itest/status -C 1 -W 5", e->port);
	assert_non_null(strstr(o, "offline"));
	free(o);
	hub_start(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_recurred_after_cleared, PROGRAMS),
		ENV_TEST(test_lower_severity_does_not_lower, PROGRAMS),
		ENV_TEST(test_event_keys_with_values, PROGRAMS),
		ENV_TEST(test_clear_after_3, PROGRAMS),
		ENV_TEST(test_escalation_by_ack_s_yellow, PROGRAMS),
		ENV_TEST(test_team_changes_at_hospital_days, PROGRAMS),
		ENV_TEST(test_events_at_qos1, PROGRAMS),
		ENV_TEST(test_status_and_will, PROGRAMS),
	};

	return INTEG_RUN(tests);
}
