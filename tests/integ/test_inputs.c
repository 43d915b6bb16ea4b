/*
 * test_inputs.c: inbound messages through the daemon: the three [input:*]
 * bridge formats, attribution across a reassignment by measurement time,
 * unit conversion end to end, BLE device times (device_clock, a zero date),
 * a reading flagged invalid, and Intermediate Cuff Pressure (2A36). Each
 * stored reading is compared with what was sent.
 */
#include <math.h>
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

/* Device times are written in UTC below. */
#define PROGRAMS \
	"[hub]\ntimezone = UTC\n\n[program:copd]\nthreshold.spo2 = red<88 yellow<92\n" \
	"threshold.temp = red>38\n\n" \
	"[input:omg]\ntopic = home/+/BTtoMQTT/+\nformat = openmqttgateway\ntenant = vefsn\n\n" \
	"[input:theengs]\ntopic = theengs/+/+\nformat = theengs\ntenant = vefsn\n\n" \
	"[input:omggatt]\ntopic = gw/+/BTtoMQTT/read\nformat = omg-gatt\ntenant = vefsn\n"

/* The reference's 2A35 vector: 138/88/120 mmHg, pulse 60, user 1, year 0,
 * status: body movement, cuff loose, irregular pulse, improper position. */
#define BP_HEX "1e8a00580078000000041114293b3c00012700"

/* The readings of patient (and metric, unless NULL) as `readings --json`. */
static json_t *
readings(struct env *e, const char *patient, const char *metric)
{
	char args[128];

	if (metric)
		snprintf(args, sizeof(args), "readings --patient %s --metric %s --json", patient, metric);
	else
		snprintf(args, sizeof(args), "readings --patient %s --json", patient);
	return cli_json(e, args);
}

/* The one reading of patient's metric: its value within 1e-9 of want, its
 * unit, its device. */
static json_t *
one_reading(struct env *e, const char *patient, const char *metric, double want,
            const char *unit, const char *device)
{
	json_t *l = readings(e, patient, metric), *r;

	if (json_array_size(l) != 1)
		fail_msg("%s %s: %zu readings, not 1", patient, metric, json_array_size(l));
	r = json_incref(json_array_get(l, 0));
	json_decref(l);
	if (fabs(json_number_value(json_object_get(r, "value")) - want) > 1e-9)
		fail_msg("%s %s: %g, not %g", patient, metric,
		         json_number_value(json_object_get(r, "value")), want);
	assert_string_equal(jstr(r, "unit"), unit);
	assert_string_equal(jstr(r, "device"), device);
	assert_string_equal(jstr(r, "metric"), metric);
	return r;
}

/* The flags of r joined with commas. */
static void
flags_of(const json_t *r, char *buf, size_t len)
{
	const json_t *f = json_object_get(r, "flags"), *x;
	size_t i, o = 0;

	assert_true(json_is_array(f));
	buf[0] = '\0';
	json_array_foreach(f, i, x)
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", i ? "," : "",
		                      json_string_value(x));
}

/*
 * Each bridge format through the daemon: the MAC from the message is the
 * device id (as given, any case, colons kept), the service data or read
 * value is decoded as GATT, and a service that is not a health measurement
 * is quarantined as unsupported.
 */
static void
test_bridge_formats(void **state)
{
	struct env *e = *state;
	json_t *r, *q;
	size_t i;
	int unsupported = 0;

	enroll(e, "P1", "A4:C1:38:0B:5E:6D", 2, "");
	enroll(e, "P2", "00:A0:50:1B:22:33", 2, "");
	enroll(e, "P3", "aa:bb:cc:dd:ee:ff", 2, "");
	hub_start(e);
	pub(e, "home/gw1/BTtoMQTT/A4C1380B5E6D",
	    "{\"id\":\"A4:C1:38:0B:5E:6D\",\"mac_type\":0,\"adv_type\":0,\"name\":\"BPM\","
	    "\"rssi\":-67,\"servicedata\":\"" BP_HEX "\",\"servicedatauuid\":\"0x1810\"}");
	pub(e, "theengs/gw1/00A0501B2233",
	    "{\"servicedatauuid\": \"1822\", \"servicedata\": \"0061004800\", \"name\": \"PO3\", "
	    "\"id\": \"00:A0:50:1B:22:33\", \"rssi\": -58}");
	pub(e, "gw/gw1/BTtoMQTT/read",
	    "{\"id\": \"aa:bb:cc:dd:ee:ff\", \"service\": \"1809\", \"characteristic\": \"2a1c\", "
	    "\"read\": \"06b00e00fedc070c050b321b04\", \"success\": true}");
	/* Battery service and battery level: no health measurement. */
	pub(e, "home/gw1/BTtoMQTT/112233445566",
	    "{\"id\":\"11:22:33:44:55:66\",\"rssi\":-70,\"servicedata\":\"64\",\"servicedatauuid\":\"0x180f\"}");
	pub(e, "theengs/gw1/112233445566",
	    "{\"id\":\"11:22:33:44:55:66\",\"rssi\":-70,\"servicedata\":\"64\",\"servicedatauuid\":\"180f\"}");
	pub(e, "gw/gw1/BTtoMQTT/read",
	    "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"180f\",\"characteristic\":\"2a19\",\"read\":\"64\","
	    "\"success\":true}");
	assert_int_equal(wait_stat(e, "readings", 4 + 2 + 1, 10), 7);
	assert_int_equal(wait_stat(e, "quarantined", 3, 10), 3);

	json_decref(one_reading(e, "P1", "bp_sys", 138, "mm[Hg]", "A4:C1:38:0B:5E:6D"));
	json_decref(one_reading(e, "P1", "bp_dia", 88, "mm[Hg]", "A4:C1:38:0B:5E:6D"));
	json_decref(one_reading(e, "P1", "bp_map", 120, "mm[Hg]", "A4:C1:38:0B:5E:6D"));
	json_decref(one_reading(e, "P1", "pulse", 60, "/min", "A4:C1:38:0B:5E:6D"));
	json_decref(one_reading(e, "P2", "spo2", 97, "%", "00:A0:50:1B:22:33"));
	json_decref(one_reading(e, "P2", "pulse", 72, "/min", "00:A0:50:1B:22:33"));
	/* 37.60 Cel from a device time in 2012, far behind: device_clock. */
	r = one_reading(e, "P3", "temp", 37.6, "Cel", "aa:bb:cc:dd:ee:ff");
	json_decref(r);

	q = cli_json(e, "quarantine --json");
	json_array_foreach(q, i, r) {
		const char *reason = jstr(r, "reason");

		if (strstr(reason, "180f") != NULL || strstr(reason, "2a19") != NULL)
			unsupported++;
	}
	json_decref(q);
	assert_int_equal(unsupported, 3);
}

/* A device passed from P1 to P2: each reading goes to the patient it was
 * assigned to when it was measured, whenever it arrives. */
static void
test_attribution_by_measurement_time(void **state)
{
	struct env *e = *state;
	char t1[32], t2[32], m1[32], m2[32], doc[256], args[160];
	json_t *r;

	utc(t1, sizeof(t1), -7200);
	utc(t2, sizeof(t2), -3600);
	utc(m1, sizeof(m1), -5400);   /* P1's time */
	utc(m2, sizeof(m2), -1800);   /* P2's time */
	assert_int_equal(cli(e, NULL, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01"), 0);
	assert_int_equal(cli(e, NULL, "patient add P2 --tenant vefsn --program copd --discharged 2026-12-01"), 0);
	snprintf(args, sizeof(args), "device assign scale-1 --patient P1 --from %s", t1);
	assert_int_equal(cli(e, NULL, args), 0);
	snprintf(args, sizeof(args), "device assign scale-1 --patient P2 --from %s", t2);
	assert_int_equal(cli(e, NULL, args), 0);
	hub_start(e);
	/* P2's reading first, then P1's, uploaded late from the scale's memory. */
	snprintf(doc, sizeof(doc), "{\"seq\": 2, \"ts\": \"%s\", \"metric\": \"weight\", \"value\": 91.5}", m2);
	pub(e, "dho/v1/vefsn/dev/scale-1/reading", doc);
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"metric\": \"weight\", \"value\": 72.25}", m1);
	pub(e, "dho/v1/vefsn/dev/scale-1/reading", doc);
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	r = one_reading(e, "P1", "weight", 72.25, "kg", "scale-1");
	assert_string_equal(jstr(r, "measured_at"), m1);
	assert_string_equal(jstr(r, "patient"), "P1");
	assert_int_equal(jint(r, "seq"), 1);
	json_decref(r);
	r = one_reading(e, "P2", "weight", 91.5, "kg", "scale-1");
	assert_string_equal(jstr(r, "measured_at"), m2);
	assert_string_equal(jstr(r, "patient"), "P2");
	json_decref(r);
}

/* Known alternative units are converted to the canonical one, with the
 * documented precision, and the rules see the converted value. */
static void
test_unit_conversion(void **state)
{
	struct env *e = *state;
	json_t *ev;

	enroll(e, "P1", "dev-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/dev-1/reading",
	    "{\"seq\": 1, \"readings\": ["
	    "{\"metric\": \"temp\", \"value\": 99.5, \"unit\": \"[degF]\"},"
	    "{\"metric\": \"bp_sys\", \"value\": 18.9, \"unit\": \"kPa\"},"
	    "{\"metric\": \"weight\", \"value\": 176.37, \"unit\": \"[lb_av]\"},"
	    "{\"metric\": \"glucose\", \"value\": 90, \"unit\": \"mg/dL\"},"
	    "{\"metric\": \"on_oxygen\", \"value\": true},"
	    "{\"metric\": \"consciousness\", \"value\": \"V\"}]}");
	pub(e, "dho/v1/vefsn/dev/dev-1/reading",
	    "{\"seq\": 2, \"metric\": \"bp_dia\", \"value\": 80000, \"unit\": \"g\"}");
	pub(e, "dho/v1/vefsn/dev/dev-1/reading",
	    "{\"seq\": 3, \"metric\": \"weight\", \"value\": 80500, \"unit\": \"g\"}");
	assert_int_equal(wait_stat(e, "readings", 7, 10), 7);
	/* (99.5 - 32) * 5 / 9 */
	json_decref(one_reading(e, "P1", "temp", 37.5, "Cel", "dev-1"));
	/* 18.9 / 0.133322387415 = 141.76: one decimal */
	json_decref(one_reading(e, "P1", "bp_sys", 141.8, "mm[Hg]", "dev-1"));
	/* 176.37 * 0.45359237 = 79.99998: three decimals */
	{
		json_t *l = readings(e, "P1", "weight");

		assert_int_equal(json_array_size(l), 2);
		assert_true(fabs(json_number_value(json_object_get(json_array_get(l, 0), "value")) - 80.0) < 1e-9);
		assert_true(fabs(json_number_value(json_object_get(json_array_get(l, 1), "value")) - 80.5) < 1e-9);
		assert_string_equal(jstr(json_array_get(l, 1), "unit"), "kg");
		json_decref(l);
	}
	/* 90 / 18.016 = 4.9956: two decimals */
	json_decref(one_reading(e, "P1", "glucose", 5.0, "mmol/L", "dev-1"));
	json_decref(one_reading(e, "P1", "on_oxygen", 1, "1", "dev-1"));
	{
		/* ACVPU is listed as its letter */
		json_t *l = readings(e, "P1", "consciousness");

		assert_int_equal(json_array_size(l), 1);
		assert_string_equal(jstr(json_array_get(l, 0), "value"), "V");
		json_decref(l);
	}
	/* a unit that does not belong to the metric is quarantined */
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);

	/* 101 [degF] is 38.33 Cel: over the red limit 38, said in Cel. */
	pub(e, "dho/v1/vefsn/dev/dev-1/reading",
	    "{\"seq\": 4, \"metric\": \"temp\", \"value\": 101, \"unit\": \"[degF]\"}");
	ev = wait_event(e, NULL, "opened", 10);
	assert_string_equal(jstr(ev, "rule"), "threshold.temp");
	assert_string_equal(jstr(ev, "unit"), "Cel");
	assert_true(fabs(json_number_value(json_object_get(ev, "value")) - 38.33) < 1e-9);
	assert_non_null(strstr(jstr(ev, "reason"), "38.33"));
	json_decref(ev);
}

/*
 * BLE device times: a device time more than 30 days behind (or 5 minutes
 * ahead of) the envelope's ts is replaced by ts and flagged device_clock;
 * a zero year, month or day takes ts with no flag; a plausible one is kept.
 */
static void
test_device_times(void **state)
{
	struct env *e = *state;
	char ts[32], doc[512], flags[256], hex[64];
	json_t *r;
	time_t t;
	struct tm tm;

	enroll(e, "P1", "cuff-1", 2, "");
	enroll(e, "P2", "therm-1", 2, "");
	enroll(e, "P3", "therm-2", 2, "");
	hub_start(e);
	utc(ts, sizeof(ts), -120);
	/* 2A35 with year 0: the envelope's ts, and the vector's four flags */
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"uuid\": \"2A35\", \"hex\": \"" BP_HEX "\"}", ts);
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt", doc);
	/* 2A1C dated 2012: far behind, replaced and flagged */
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"uuid\": \"2a1c\","
	         " \"hex\": \"06b00e00fedc070c050b321b04\"}", ts);
	pub(e, "dho/v1/vefsn/dev/therm-1/gatt", doc);
	/* 2A1C dated an hour ahead of ts ([hub] timezone is UTC here) */
	t = time(NULL) - 120 + 3600;
	gmtime_r(&t, &tm);
	snprintf(hex, sizeof(hex), "06b00e00fe%02x%02x%02x%02x%02x%02x%02x04",
	         (tm.tm_year + 1900) & 0xff, (tm.tm_year + 1900) >> 8, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(doc, sizeof(doc), "{\"seq\": 2, \"ts\": \"%s\", \"uuid\": \"2a1c\", \"hex\": \"%s\"}",
	         ts, hex);
	pub(e, "dho/v1/vefsn/dev/therm-2/gatt", doc);
	assert_int_equal(wait_stat(e, "readings", 6, 10), 6);

	r = one_reading(e, "P1", "bp_sys", 138, "mm[Hg]", "cuff-1");
	assert_string_equal(jstr(r, "measured_at"), ts);
	flags_of(r, flags, sizeof(flags));
	assert_string_equal(flags, "body_movement,cuff_loose,irregular_pulse,improper_position");
	json_decref(r);
	r = one_reading(e, "P2", "temp", 37.6, "Cel", "therm-1");
	assert_string_equal(jstr(r, "measured_at"), ts);
	flags_of(r, flags, sizeof(flags));
	assert_string_equal(flags, "device_clock");
	json_decref(r);
	r = one_reading(e, "P3", "temp", 37.6, "Cel", "therm-2");
	assert_string_equal(jstr(r, "measured_at"), ts);
	flags_of(r, flags, sizeof(flags));
	assert_string_equal(flags, "device_clock");
	json_decref(r);
}

/* A reading flagged invalid is stored, flag and all, and no rule sees it. */
static void
test_invalid_stored_not_evaluated(void **state)
{
	struct env *e = *state;
	json_t *l, *ev;
	char flags[128];

	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	/* 2A5E: status present, SpO2 80, pulse 72, measurement status b15 invalid */
	pub(e, "dho/v1/vefsn/dev/oxy-1/gatt", "{\"seq\": 1, \"uuid\": \"2A5E\", \"hex\": \"02500048000080\"}");
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	l = readings(e, "P1", "spo2");
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(jint(json_array_get(l, 0), "value"), 80);
	flags_of(json_array_get(l, 0), flags, sizeof(flags));
	assert_string_equal(flags, "invalid");
	json_decref(l);
	feed_sync(e);
	l = feed_events(e, NULL);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	/* The same value without the flag opens the alert. */
	pub(e, "dho/v1/vefsn/dev/oxy-1/gatt", "{\"seq\": 2, \"uuid\": \"2A5E\", \"hex\": \"0050004800\"}");
	ev = wait_event(e, "A1", "opened", 10);
	assert_int_equal(jint(ev, "value"), 80);
	json_decref(ev);
}

/* Intermediate Cuff Pressure (2A36) is accepted and stores nothing: no
 * reading, no quarantine entry, but the message counts as received. From
 * a device that is not assigned it is quarantined like any message. */
static void
test_2a36_accepted_stores_nothing(void **state)
{
	struct env *e = *state;
	json_t *s, *q;
	time_t last, now = time(NULL);

	enroll(e, "P1", "cuff-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt", "{\"seq\": 1, \"uuid\": \"2A36\", \"hex\": \"009600ff07ff07\"}");
	pub(e, "dho/v1/vefsn/dev/cuff-9/gatt", "{\"seq\": 1, \"uuid\": \"2A36\", \"hex\": \"009600ff07ff07\"}");
	/* a reading after them shows both were handled */
	pub(e, "dho/v1/vefsn/dev/cuff-1/gatt", "{\"seq\": 2, \"uuid\": \"2A35\", \"hex\": \"" BP_HEX "\"}");
	assert_int_equal(wait_stat(e, "readings", 4, 10), 4);
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	s = cli_json(e, "stats --json");
	assert_int_equal(jint(s, "readings"), 4);        /* the 2A35's four only */
	assert_int_equal(jint(s, "quarantined"), 1);
	parse_utc(jstr(s, "last_message_at"), &last);
	assert_true(last >= now - 5);
	json_decref(s);
	q = cli_json(e, "quarantine --json");
	assert_string_equal(jstr(json_array_get(q, 0), "topic"), "dho/v1/vefsn/dev/cuff-9/gatt");
	assert_non_null(strstr(jstr(json_array_get(q, 0), "reason"), "cuff-9"));
	json_decref(q);
}

/*
 * Value precision: 38.50 Cel sent as 38.50, and the
 * 2A1C vector's 37.60, print with their decimals in readings --json, in
 * the published event and in alerts --json: one formatter for all three.
 */
static void
test_value_precision(void **state)
{
	struct env *e = *state;
	char *out = NULL, line[64];

	enroll(e, "P1", "therm-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/therm-1/reading", "{\"seq\": 1, \"metric\": \"temp\", \"value\": 38.50}");
	pub(e, "dho/v1/vefsn/dev/therm-1/gatt", "{\"seq\": 2, \"uuid\": \"2A1C\", \"hex\": \"00b00e00fe\"}");
	json_decref(wait_event(e, "A1", "opened", 10));
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	/* the event as published */
	assert_int_equal(alert_lines(e, "\"value\":38.50,", "\"unit\":\"Cel\""), 1);
	assert_int_equal(cli(e, &out, "readings --patient P1 --json"), 0);
	assert_non_null(strstr(out, "\"value\": 38.50,"));
	assert_non_null(strstr(out, "\"value\": 37.60,"));
	free(out);
	assert_int_equal(cli(e, &out, "alerts --patient P1 --json"), 0);
	snprintf(line, sizeof(line), "\"value\": 38.50,");
	assert_non_null(strstr(out, line));
	free(out);
	assert_int_equal(cli(e, &out, "patient show P1 --json"), 0);
	assert_non_null(strstr(out, line));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_bridge_formats, PROGRAMS),
		ENV_TEST(test_attribution_by_measurement_time, PROGRAMS),
		ENV_TEST(test_unit_conversion, PROGRAMS),
		ENV_TEST(test_device_times, PROGRAMS),
		ENV_TEST(test_invalid_stored_not_evaluated, PROGRAMS),
		ENV_TEST(test_2a36_accepted_stores_nothing, PROGRAMS),
		ENV_TEST(test_value_precision, PROGRAMS),
	};

	return INTEG_RUN(tests);
}
