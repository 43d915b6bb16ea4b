/*
 * test_alerts.c: the alert life of contract section 6 end to end, read
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static int
setup(void **state)
{
	*state = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	return 0;
}

static int
teardown(void **state)
{
	env_free(*state);
	return 0;
}

/* One spo2 reading of device, measured ago seconds before now. */
static void
spo2(struct env *e, const char *device, int seq, int value, int ago)
{
	char topic[128], doc[256], ts[32];
	time_t t = time(NULL) - ago;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recurred_after_cleared, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("DHO_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("DHO_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
