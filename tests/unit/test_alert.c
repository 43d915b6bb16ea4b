/*
 * test_alert.c: the alert state machine as a table of state x event, and
 * the event document (docs/operations.md, "Alert events").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "alert.h"
#include "metric.h"

struct finding_case {
	enum alert_state state;
	enum alert_severity sev;      /* current severity */
	int normal_count;
	bool cleared;
	enum alert_severity finding;  /* what the reading said */
	/* expected */
	enum alert_state state_after;
	enum alert_severity sev_after;
	bool raised, recurred, cleared_ev, resolved;
	int normal_after;
};

/* clear_after is 2 throughout. */
static const struct finding_case finding_cases[] = {
	/* higher severity raises, lower or equal does not lower */
	{ ALERT_OPEN, ALERT_SEV_YELLOW, 0, false, ALERT_SEV_RED, ALERT_OPEN, ALERT_SEV_RED, true, false, false, false, 0 },
	{ ALERT_OPEN, ALERT_SEV_RED, 0, false, ALERT_SEV_YELLOW, ALERT_OPEN, ALERT_SEV_RED, false, false, false, false, 0 },
	{ ALERT_OPEN, ALERT_SEV_RED, 0, false, ALERT_SEV_RED, ALERT_OPEN, ALERT_SEV_RED, false, false, false, false, 0 },
	{ ALERT_ACKED, ALERT_SEV_YELLOW, 0, false, ALERT_SEV_RED, ALERT_ACKED, ALERT_SEV_RED, true, false, false, false, 0 },
	/* normal readings count up to clear_after */
	{ ALERT_OPEN, ALERT_SEV_RED, 0, false, ALERT_SEV_NONE, ALERT_OPEN, ALERT_SEV_RED, false, false, false, false, 1 },
	{ ALERT_OPEN, ALERT_SEV_RED, 1, false, ALERT_SEV_NONE, ALERT_OPEN, ALERT_SEV_RED, false, false, true, false, 2 },
	/* cleared and acked resolves itself */
	{ ALERT_ACKED, ALERT_SEV_RED, 1, false, ALERT_SEV_NONE, ALERT_RESOLVED, ALERT_SEV_RED, false, false, true, true, 2 },
	/* already cleared: no second cleared event */
	{ ALERT_OPEN, ALERT_SEV_RED, 2, true, ALERT_SEV_NONE, ALERT_OPEN, ALERT_SEV_RED, false, false, false, false, 3 },
	/* an abnormal reading breaks the run of normal ones, without an event
	 * while the alert is not cleared yet */
	{ ALERT_OPEN, ALERT_SEV_RED, 1, false, ALERT_SEV_YELLOW, ALERT_OPEN, ALERT_SEV_RED, false, false, false, false, 0 },
	/* the condition comes back on a cleared alert: recurred, at the same
	 * or a lower severity (which does not lower it) */
	{ ALERT_OPEN, ALERT_SEV_YELLOW, 3, true, ALERT_SEV_YELLOW, ALERT_OPEN, ALERT_SEV_YELLOW, false, true, false, false, 0 },
	{ ALERT_OPEN, ALERT_SEV_RED, 2, true, ALERT_SEV_RED, ALERT_OPEN, ALERT_SEV_RED, false, true, false, false, 0 },
	{ ALERT_OPEN, ALERT_SEV_RED, 2, true, ALERT_SEV_YELLOW, ALERT_OPEN, ALERT_SEV_RED, false, true, false, false, 0 },
	/* ... and at a higher severity it is raised instead, not both */
	{ ALERT_OPEN, ALERT_SEV_YELLOW, 2, true, ALERT_SEV_RED, ALERT_OPEN, ALERT_SEV_RED, true, false, false, false, 0 },
};

static void
test_finding_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(finding_cases) / sizeof(finding_cases[0]); i++) {
		const struct finding_case *c = &finding_cases[i];
		struct alert a = { .id = 1, .state = c->state, .severity = c->sev,
		                   .normal_count = c->normal_count, .cleared = c->cleared };
		struct alert_step s;

		alert_on_finding(&a, c->finding, 2, &s);
		if (a.state != c->state_after || a.severity != c->sev_after || s.raised != c->raised ||
		    s.recurred != c->recurred || s.cleared != c->cleared_ev ||
		    s.resolved != c->resolved || a.normal_count != c->normal_after || s.opened)
			fail_msg("case %zu: state %d sev %d raised %d recurred %d cleared %d resolved %d"
			         " count %d", i, a.state, a.severity, s.raised, s.recurred, s.cleared,
			         s.resolved, a.normal_count);
		/* The condition is back: the alert is no longer cleared. */
		if (c->finding != ALERT_SEV_NONE)
			assert_false(a.cleared);
		if (c->resolved)
			assert_string_equal(a.by, "auto");
	}
}

/* The events of one step, in the order they are published. */
static void
test_step_events(void **state)
{
	const char *ev[4];
	struct alert_step s = { .opened = true };

	(void)state;
	assert_int_equal(alert_step_events(&s, ev), 1);
	assert_string_equal(ev[0], "opened");
	s = (struct alert_step){ .recurred = true };
	assert_int_equal(alert_step_events(&s, ev), 1);
	assert_string_equal(ev[0], "recurred");
	s = (struct alert_step){ .raised = true, .recurred = true };
	assert_int_equal(alert_step_events(&s, ev), 1);
	assert_string_equal(ev[0], "raised");
	s = (struct alert_step){ .cleared = true, .resolved = true };
	assert_int_equal(alert_step_events(&s, ev), 2);
	assert_string_equal(ev[0], "cleared");
	assert_string_equal(ev[1], "resolved");
	s = (struct alert_step){ .changed = true };
	assert_int_equal(alert_step_events(&s, ev), 0);
}

static void
test_no_alert(void **state)
{
	struct alert_step s;

	(void)state;
	alert_on_finding(NULL, ALERT_SEV_YELLOW, 2, &s);
	assert_true(s.opened);
	alert_on_finding(NULL, ALERT_SEV_NONE, 2, &s);
	assert_false(s.opened);
	assert_false(s.changed);
}

static void
test_ack_and_resolve(void **state)
{
	struct alert a = { .id = 1, .state = ALERT_OPEN, .severity = ALERT_SEV_RED };
	struct alert_step s;
	bool acked;

	(void)state;
	assert_int_equal(alert_on_ack(&a, "nurse.kari", "called", &s, &acked), DHO_OK);
	assert_true(acked);
	assert_int_equal(a.state, ALERT_ACKED);
	assert_string_equal(a.by, "nurse.kari");
	assert_string_equal(a.note, "called");
	/* acking twice is refused */
	assert_int_equal(alert_on_ack(&a, "nurse.kari", "", &s, &acked), DHO_EINVAL);
	assert_int_equal(alert_on_resolve(&a, "nurse.ola", NULL), DHO_OK);
	assert_int_equal(a.state, ALERT_RESOLVED);
	assert_int_equal(alert_on_resolve(&a, "nurse.ola", NULL), DHO_EINVAL);
	/* acking a cleared alert resolves it */
	a = (struct alert){ .id = 2, .state = ALERT_OPEN, .cleared = true };
	assert_int_equal(alert_on_ack(&a, "nurse.kari", NULL, &s, &acked), DHO_OK);
	assert_true(s.resolved);
	assert_int_equal(a.state, ALERT_RESOLVED);
}

static void
test_event_document(void **state)
{
	struct alert a = { .id = 17, .patient = "P1", .tenant = "vefsn",
	                   .team = "hospital-dho/mosjoen", .severity = ALERT_SEV_RED,
	                   .rule = "threshold.spo2", .state = ALERT_OPEN, .metric = "spo2",
	                   .value = 86, .unit = "%", .measured_at = 1795421700,
	                   .opened_at = 1795421701,
	                   .reason = "spo2 86 % is below the red limit 88 %", .version = 3 };
	char *text = NULL;
	json_t *doc;

	(void)state;
	assert_int_equal(alert_event_json(&a, "opened", 1795421701, &text), DHO_OK);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "id")), "A17");
	assert_string_equal(json_string_value(json_object_get(doc, "event")), "opened");
	assert_string_equal(json_string_value(json_object_get(doc, "team")), "hospital-dho/mosjoen");
	assert_string_equal(json_string_value(json_object_get(doc, "severity")), "red");
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "open");
	assert_int_equal(json_integer_value(json_object_get(doc, "level")), 0);
	assert_true(json_is_false(json_object_get(doc, "cleared")));
	assert_int_equal(json_integer_value(json_object_get(doc, "value")), 86);
	assert_string_equal(json_string_value(json_object_get(doc, "measured_at")), "2026-11-23T08:15:00Z");
	assert_string_equal(json_string_value(json_object_get(doc, "at")), "2026-11-23T08:15:01Z");
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 3);
	assert_string_equal(json_string_value(json_object_get(doc, "patient")), "P1");
	assert_string_equal(json_string_value(json_object_get(doc, "unit")), "%");
	assert_string_equal(json_string_value(json_object_get(doc, "opened_at")), "2026-11-23T08:15:01Z");
	assert_null(json_object_get(doc, "news2"));
	assert_null(json_object_get(doc, "by"));
	json_decref(doc);
	free(text);
}

/* 37.60 stays "37.60" in the event's text, as decode gatt prints it. */
static void
test_event_value_precision(void **state)
{
	struct alert a = { .id = 3, .patient = "P1", .tenant = "vefsn", .team = "home-nursing/vefsn",
	                   .severity = ALERT_SEV_YELLOW, .rule = "threshold.temp",
	                   .state = ALERT_OPEN, .metric = "temp", .value = 37.6, .decimals = 2,
	                   .unit = "Cel", .version = 1 };
	char *text = NULL;
	json_t *o;

	(void)state;
	assert_int_equal(alert_event_json(&a, "opened", 1795421701, &text), DHO_OK);
	assert_non_null(strstr(text, "\"value\":37.60,"));
	free(text);
	a.value = 86;
	a.decimals = 0;
	assert_int_equal(alert_event_json(&a, "opened", 1795421701, &text), DHO_OK);
	assert_non_null(strstr(text, "\"value\":86,"));
	free(text);
	/* The object for callers that put it into a larger document prints
	 * the same number once dumped with metric_json_dumps(). */
	a.value = 37.6;
	a.decimals = 2;
	o = alert_event_exact(&a, "opened", 1795421701);
	text = metric_json_dumps(o, JSON_COMPACT);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"value\":37.60,"));
	free(text);
	json_decref(o);
}

static void
test_ids(void **state)
{
	int64_t id;
	char buf[16];

	(void)state;
	alert_format_id(17, buf, sizeof(buf));
	assert_string_equal(buf, "A17");
	assert_int_equal(alert_parse_id("A17", &id), DHO_OK);
	assert_int_equal(id, 17);
	assert_int_equal(alert_parse_id("17", &id), DHO_OK);
	assert_int_equal(alert_parse_id("A", &id), DHO_EINVAL);
	assert_int_equal(alert_parse_id("A1x", &id), DHO_EINVAL);
	assert_int_equal(alert_parse_id("A-3", &id), DHO_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finding_table),
		cmocka_unit_test(test_step_events),
		cmocka_unit_test(test_no_alert),
		cmocka_unit_test(test_ack_and_resolve),
		cmocka_unit_test(test_event_document),
		cmocka_unit_test(test_event_value_precision),
		cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
