/*
 * test_rules.c: the clinical rules through MQTT on the real parts. Each test
 * builds a patient's history with "ts" in the past, as a device that
 * uploads its memory would, and reads the outcome back with `alerts --json`:
 * trends just over and exactly at their limit, baselines with too few and
 * with enough readings, NEWS2 over complete and incomplete sets on both
 * SpO2 scales, on air and on oxygen.
 */
#include <setjmp.h>
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

#define MIN 60
#define HOUR 3600
#define DAY 86400

#define PROGRAMS \
	"[program:hf]\n" \
	"trend.weight = yellow:+2.0/3d red:+3.0/3d\n\n" \
	"[program:copd-baseline]\n" \
	"baseline.spo2 = yellow:-4 red:-6 over 7d min 5\n\n" \
	"[program:news2-scale1]\n" \
	"news2 = scale1\n\n" \
	"[program:news2-scale2]\n" \
	"news2 = scale2 window 1h\n\n" \
	"[program:falling]\n" \
	"trend.weight = yellow:-2.0/3d red:-3.0/3d\n\n" \
	"[program:news2-off]\n" \
	"news2 = off\n\n" \
	"[program:silent]\n" \
	"missing.any = 3s red:6s\n"

/* Every measurement time is relative to the test's start. */
static time_t T;

/* env_setup() with the test's start in T. */
static int
setup(void **state)
{
	T = time(NULL);
	return env_setup(state);
}

/* A test of this file: PROGRAMS, and T set at its start. */
#define RULES_TEST(f) \
	cmocka_unit_test_prestate_setup_teardown(f, setup, env_teardown, (void *)PROGRAMS)

/* "2026-12-06T08:15:00Z" for T - ago. */
static void
iso(char *buf, size_t len, long ago)
{
	time_t t = T - ago;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One reading of device, measured ago seconds before T. */
static void
reading(struct env *e, const char *device, int seq, long ago, const char *metric,
        const char *value)
{
	char topic[128], doc[256], ts[32];

	iso(ts, sizeof(ts), ago);
	snprintf(topic, sizeof(topic), "dho/v1/vefsn/dev/%s/reading", device);
	snprintf(doc, sizeof(doc), "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"%s\", \"value\": %s}",
	         seq, ts, metric, value);
	pub(e, topic, doc);
}

/*
 * A set of vital signs in one message, as a monitoring kit uploads it. A
 * NULL parameter is left out of the set.
 */
struct vitals {
	const char *resp_rate, *spo2, *on_oxygen, *bp_sys, *pulse, *consciousness, *temp;
};

/* Publishes v; returns how many readings the message carries. */
static int
vitals(struct env *e, const char *device, int seq, long ago, const struct vitals *v)
{
	const char *names[] = { "resp_rate", "spo2", "on_oxygen", "bp_sys", "pulse",
	                        "consciousness", "temp" };
	const char *vals[] = { v->resp_rate, v->spo2, v->on_oxygen, v->bp_sys, v->pulse,
	                       v->consciousness, v->temp };
	char topic[128], doc[1024], ts[32];
	size_t used;
	int n = 0;

	iso(ts, sizeof(ts), ago);
	snprintf(topic, sizeof(topic), "dho/v1/vefsn/dev/%s/reading", device);
	used = (size_t)snprintf(doc, sizeof(doc), "{\"seq\": %d, \"ts\": \"%s\", \"readings\": [",
	                        seq, ts);
	for (int i = 0; i < 7; i++) {
		if (vals[i] == NULL)
			continue;
		used += (size_t)snprintf(doc + used, sizeof(doc) - used,
		                         "%s{\"metric\": \"%s\", \"value\": %s}", n ? ", " : "",
		                         names[i], vals[i]);
		n++;
	}
	snprintf(doc + used, sizeof(doc) - used, "]}");
	pub(e, topic, doc);
	return n;
}

static void
enroll_in(struct env *e, const char *patient, const char *device, const char *program)
{
	char extra[64];

	snprintf(extra, sizeof(extra), "--program %s", program);
	enroll(e, patient, device, 30, extra);
}

/* The patient's alerts (a JSON array the caller frees). */
static json_t *
alerts_of(struct env *e, const char *patient)
{
	char args[128];

	snprintf(args, sizeof(args), "alerts --patient %s --json", patient);
	return cli_json(e, args);
}

static const char *
field(json_t *alert, const char *key)
{
	json_t *v = json_object_get(alert, key);

	if (!json_is_string(v))
		fail_msg("alert has no string %s", key);
	return json_string_value(v);
}

/* Waits until n readings are stored, so every rule has seen them. */
static void
stored(struct env *e, int n)
{
	assert_int_equal(wait_stat(e, "readings", n, 15), n);
}

/* The patient has no alert at all. */
static void
no_alert(struct env *e, const char *patient)
{
	json_t *a = alerts_of(e, patient);

	if (json_array_size(a) != 0)
		fail_msg("%s has %zu alerts, want none; first: %s", patient, json_array_size(a),
		         json_dumps(json_array_get(a, 0), 0));
	json_decref(a);
}

/* The patient's one alert; fails unless there is exactly one. */
static json_t *
one_alert(struct env *e, const char *patient)
{
	json_t *a = alerts_of(e, patient);
	json_t *first;

	if (json_array_size(a) != 1)
		fail_msg("%s has %zu alerts, want 1", patient, json_array_size(a));
	first = json_incref(json_array_get(a, 0));
	json_decref(a);
	return first;
}

static void
test_trend_at_and_over_the_limit(void **state)
{
	struct env *e = *state;
	json_t *a;

	enroll_in(e, "HF1", "scale-1", "hf");
	enroll_in(e, "HF2", "scale-2", "hf");
	hub_start(e);
	reading(e, "scale-1", 1, 3 * DAY, "weight", "80.0");
	reading(e, "scale-1", 2, 2 * DAY, "weight", "81.0");
	/* 2.0 kg above the lowest reading of the last 3 days: at the limit, quiet */
	reading(e, "scale-1", 3, HOUR, "weight", "82.0");
	stored(e, 3);
	no_alert(e, "HF1");
	/* 2.1 kg: just over it */
	reading(e, "scale-1", 4, 0, "weight", "82.1");
	stored(e, 4);
	a = one_alert(e, "HF1");
	assert_string_equal(field(a, "rule"), "trend.weight");
	assert_string_equal(field(a, "severity"), "yellow");
	assert_string_equal(field(a, "reason"),
	                    "weight rose 2.1 kg in 3 days, above the yellow limit 2.0 kg");
	json_decref(a);

	/* A reading older than 3 days does not count; a newer one does. */
	reading(e, "scale-2", 1, 4 * DAY, "weight", "70.0");
	reading(e, "scale-2", 2, 36 * HOUR, "weight", "71.0");
	reading(e, "scale-2", 3, 0, "weight", "74.5");
	stored(e, 7);
	a = one_alert(e, "HF2");
	assert_string_equal(field(a, "severity"), "red");
	assert_string_equal(field(a, "reason"),
	                    "weight rose 3.5 kg in 36 hours, above the red limit 3.0 kg");
	json_decref(a);
}

static void
test_baseline_needs_enough_readings(void **state)
{
	struct env *e = *state;
	json_t *a;
	int seq = 0;

	enroll_in(e, "C1", "oxy-1", "copd-baseline");
	hub_start(e);
	for (int d = 4; d >= 1; d--)
		reading(e, "oxy-1", ++seq, d * DAY, "spo2", "96");
	/* 7 below the usual 96, but only 4 earlier readings: min 5 not met */
	reading(e, "oxy-1", ++seq, HOUR, "spo2", "89");
	stored(e, 5);
	no_alert(e, "C1");
	/* earlier 96 96 96 96 89 96: median 96; 92 is exactly 4 below, quiet */
	reading(e, "oxy-1", ++seq, 50 * MIN, "spo2", "96");
	reading(e, "oxy-1", ++seq, 40 * MIN, "spo2", "92");
	stored(e, 7);
	no_alert(e, "C1");
	/* 91 is 5 below: yellow */
	reading(e, "oxy-1", ++seq, 30 * MIN, "spo2", "91");
	stored(e, 8);
	a = one_alert(e, "C1");
	assert_string_equal(field(a, "rule"), "baseline.spo2");
	assert_string_equal(field(a, "severity"), "yellow");
	assert_string_equal(field(a, "reason"),
	                    "spo2 91 % is 5 percentage points below the patient's baseline 96 % (median of 7 readings "
	                    "over 7 days), beyond the yellow limit 4 percentage points");
	json_decref(a);
	/* 89 is 7 below: the same alert is raised to red */
	reading(e, "oxy-1", ++seq, 20 * MIN, "spo2", "89");
	stored(e, 9);
	a = one_alert(e, "C1");
	assert_string_equal(field(a, "severity"), "red");
	assert_string_equal(field(a, "event"), "raised");
	json_decref(a);
}

/* Checks the patient's one NEWS2 alert. */
static void
news2_alert(struct env *e, const char *patient, const char *severity, int total,
            const char *risk)
{
	json_t *a = one_alert(e, patient);
	json_t *n2 = json_object_get(a, "news2");

	assert_string_equal(field(a, "rule"), "news2");
	assert_string_equal(field(a, "severity"), severity);
	if (!json_is_object(n2))
		fail_msg("%s's alert has no news2 object: %s", patient, json_dumps(a, 0));
	assert_int_equal(json_integer_value(json_object_get(n2, "total")), total);
	assert_string_equal(json_string_value(json_object_get(n2, "risk")), risk);
	json_decref(a);
}

/* One patient with one kit and one set of vitals; severity NULL: no alert. */
struct news2_case {
	const char *patient;
	struct vitals v;
	const char *severity;
	int total;
	const char *risk;
};

/* Enrolls each case in program, sends its set ago seconds back, checks. */
static void
news2_cases(struct env *e, const char *program, long ago, const struct news2_case *c,
            size_t n)
{
	char kit[32];
	int stored_n = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(kit, sizeof(kit), "kit-%zu", i + 1);
		enroll_in(e, c[i].patient, kit, program);
	}
	hub_start(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(kit, sizeof(kit), "kit-%zu", i + 1);
		stored_n += vitals(e, kit, 1, ago, &c[i].v);
	}
	stored(e, stored_n);
	for (size_t i = 0; i < n; i++) {
		if (c[i].severity == NULL)
			no_alert(e, c[i].patient);
		else
			news2_alert(e, c[i].patient, c[i].severity, c[i].total, c[i].risk);
	}
}

static void
test_news2_scale1_air_and_oxygen(void **state)
{
	static const struct news2_case cases[] = {
		/* RCP worked example: rr 11, SpO2 95, bp 110, pulse 91, A, 37.0 -> 4, low */
		{ "N1", { "11", "95", "0", "110", "91", "\"A\"", "37.0" }, NULL, 0, NULL },
		/* 93 % scores 2, 38.5 scores 1: on air 3 (low), on oxygen 5 (medium) */
		{ "N2", { "16", "93", "false", "120", "60", "\"A\"", "38.5" }, NULL, 0, NULL },
		{ "N3", { "16", "93", "true", "120", "60", "\"A\"", "38.5" }, "red", 5, "medium" },
		/* rr 25 alone scores 3: total 3, low-medium, yellow */
		{ "N4", { "25", "97", "0", "120", "60", "\"A\"", "37.0" }, "yellow", 3, "low-medium" },
	};

	news2_cases(*state, "news2-scale1", 10 * MIN, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_news2_scale2_air_and_oxygen(void **state)
{
	static const struct news2_case cases[] = {
		/* RCP worked example: rr 9, SpO2 86 on oxygen, bp 105, pulse 100, A, 38.5 -> 7 */
		{ "S1", { "9", "86", "1", "105", "100", "\"A\"", "38.5" }, "red", 7, "high" },
		/* 97 % on scale 2: 0 on air, 3 on oxygen (plus 2 for the oxygen) */
		{ "S2", { "16", "97", "0", "120", "60", "\"A\"", "37.0" }, NULL, 0, NULL },
		{ "S3", { "16", "97", "1", "120", "60", "\"A\"", "37.0" }, "red", 5, "medium" },
		/* 88 % is the target range of scale 2: 0, where scale 1 would give 3 */
		{ "S4", { "16", "88", "0", "120", "60", "\"A\"", "37.0" }, NULL, 0, NULL },
	};

	news2_cases(*state, "news2-scale2", 5 * MIN, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_news2_only_complete_sets(void **state)
{
	struct env *e = *state;
	/* Every parameter that is present scores 3, but temp is missing. */
	const struct vitals six = { "30", "80", "1", "85", "140", "\"U\"", NULL };
	const struct vitals temp = { NULL, NULL, NULL, NULL, NULL, NULL, "39.5" };
	int n = 0;

	enroll_in(e, "I1", "kit-1", "news2-scale2");
	enroll_in(e, "I2", "kit-2", "news2-scale2");
	hub_start(e);
	n += vitals(e, "kit-1", 1, 3 * HOUR, &six);
	n += vitals(e, "kit-2", 1, 20 * MIN, &six);
	stored(e, n);
	no_alert(e, "I1");
	no_alert(e, "I2");
	/* I1's temperature comes 3 hours later: the rest lies outside the 1 h
	 * window, still no set. I2's comes within it: the set is complete. */
	n += vitals(e, "kit-1", 2, 0, &temp);
	n += vitals(e, "kit-2", 2, 0, &temp);
	stored(e, n);
	no_alert(e, "I1");
	/* 3+3+2+3+3+3+2 = 19 */
	news2_alert(e, "I2", "red", 19, "high");
}

/* Falling trends: the highest earlier reading within D minus the value
 * beyond X; exactly X is not beyond. */
static void
test_falling_trend(void **state)
{
	struct env *e = *state;
	json_t *a;

	enroll_in(e, "F1", "scale-1", "falling");
	enroll_in(e, "F2", "scale-2", "falling");
	enroll_in(e, "F3", "scale-3", "falling");
	hub_start(e);
	/* F1: 80.0, 79.0, then 77.5: 80.0 - 77.5 = 2.5 > 2.0, yellow */
	reading(e, "scale-1", 1, 2 * DAY, "weight", "80.0");
	reading(e, "scale-1", 2, 1 * DAY, "weight", "79.0");
	reading(e, "scale-1", 3, 0, "weight", "77.5");
	/* F2: 80.0 then 76.9: 3.1 > 3.0, red */
	reading(e, "scale-2", 1, 2 * DAY, "weight", "80.0");
	reading(e, "scale-2", 2, 0, "weight", "76.9");
	/* F3: 80.0 then 78.0: exactly 2.0, nothing; a rise is no fall either */
	reading(e, "scale-3", 1, 2 * DAY, "weight", "80.0");
	reading(e, "scale-3", 2, 1 * DAY, "weight", "78.0");
	reading(e, "scale-3", 3, 0, "weight", "85.0");
	stored(e, 8);
	a = one_alert(e, "F1");
	assert_string_equal(field(a, "rule"), "trend.weight");
	assert_string_equal(field(a, "severity"), "yellow");
	assert_true(json_real_value(json_object_get(a, "value")) == 77.5);
	json_decref(a);
	a = one_alert(e, "F2");
	assert_string_equal(field(a, "severity"), "red");
	assert_true(json_real_value(json_object_get(a, "value")) == 76.9);
	json_decref(a);
	no_alert(e, "F3");
}

/* news2 = off, in a program and as a patient's override: a set that would
 * score 19 raises nothing. */
static void
test_news2_off(void **state)
{
	struct env *e = *state;
	const struct vitals all3 = { "30", "80", "1", "85", "140", "\"U\"", "39.5" };
	int n = 0;

	enroll_in(e, "O1", "kit-1", "news2-off");
	enroll_in(e, "O2", "kit-2", "news2-scale1");
	enroll_in(e, "O3", "kit-3", "news2-scale1");
	assert_int_equal(cli(e, NULL, "rule set --patient O2 'news2 = off'"), 0);
	hub_start(e);
	n += vitals(e, "kit-1", 1, 5 * MIN, &all3);
	n += vitals(e, "kit-2", 1, 5 * MIN, &all3);
	n += vitals(e, "kit-3", 1, 5 * MIN, &all3);
	stored(e, n);
	no_alert(e, "O1");
	no_alert(e, "O2");
	news2_alert(e, "O3", "red", 19, "high");
}

/* news2 without a window: the default 1 h. A set whose first six
 * parameters are 70 minutes older than the seventh is no set; 50 minutes
 * is one. */
static void
test_news2_default_window(void **state)
{
	struct env *e = *state;
	const struct vitals six = { "30", "80", "1", "85", "140", "\"U\"", NULL };
	const struct vitals temp = { NULL, NULL, NULL, NULL, NULL, NULL, "39.5" };
	int n = 0;

	enroll_in(e, "W1", "kit-1", "news2-scale1");
	enroll_in(e, "W2", "kit-2", "news2-scale1");
	hub_start(e);
	n += vitals(e, "kit-1", 1, 70 * MIN, &six);
	n += vitals(e, "kit-2", 1, 50 * MIN, &six);
	n += vitals(e, "kit-1", 2, 0, &temp);
	n += vitals(e, "kit-2", 2, 0, &temp);
	stored(e, n);
	no_alert(e, "W1");
	news2_alert(e, "W2", "red", 19, "high");
}

/*
 * missing.any: silence of every metric since enrollment opens it (yellow
 * after D, red after D2); a reading of any metric is a normal one for it,
 * and clear_after of them, of two different metrics, clear it.
 */
static void
test_missing_any(void **state)
{
	struct env *e = *state;
	json_t *a, *ev;
	char id[16];

	enroll_in(e, "M1", "any-1", "silent");
	hub_start(e);
	a = NULL;
	for (double until = mono_now() + 15; mono_now() < until; usleep(200 * 1000)) {
		a = alerts_of(e, "M1");
		if (json_array_size(a) > 0)
			break;
		json_decref(a);
		a = NULL;
	}
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(json_array_get(a, 0), "rule"), "missing.any");
	snprintf(id, sizeof(id), "%s", field(json_array_get(a, 0), "id"));
	json_decref(a);
	ev = wait_event(e, id, "opened", 10);
	assert_string_equal(jstr(ev, "severity"), "yellow");
	json_decref(ev);
	ev = wait_event(e, id, "raised", 10);
	assert_string_equal(jstr(ev, "severity"), "red");
	json_decref(ev);
	/* Two readings of two different metrics, measured now, clear it. */
	reading(e, "any-1", 1, -(long)(time(NULL) - T), "temp", "37.0");
	reading(e, "any-1", 2, -(long)(time(NULL) - T), "weight", "70.0");
	ev = wait_event(e, id, "cleared", 10);
	assert_true(json_is_true(json_object_get(ev, "cleared")));
	json_decref(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		RULES_TEST(test_trend_at_and_over_the_limit),
		RULES_TEST(test_baseline_needs_enough_readings),
		RULES_TEST(test_news2_scale1_air_and_oxygen),
		RULES_TEST(test_news2_scale2_air_and_oxygen),
		RULES_TEST(test_news2_only_complete_sets),
		RULES_TEST(test_falling_trend),
		RULES_TEST(test_news2_off),
		RULES_TEST(test_news2_default_window),
		RULES_TEST(test_missing_any),
	};
	return INTEG_RUN(tests);
}
