/*
 * test_doc.c: reading documents through doc_parse().
 *
 * Every payload is copied into a buffer of exactly its length, without a
 * terminator, so that AddressSanitizer catches any read past the end: MQTT
 * payloads are not NUL-terminated.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doc.h"
#include "expect.h"
#include "timefmt.h"

/* 2026-11-23T08:20:00Z: five minutes after the example documents' ts. */
#define NOW ((dho_time_t)1795422000)
#define TS_EXAMPLE ((dho_time_t)1795421700)     /* 2026-11-23T08:15:00Z */

#define ONE(m, v) "{\"metric\":\"" m "\",\"value\":" v "}"
#define ONEU(m, v, u) "{\"metric\":\"" m "\",\"value\":" v ",\"unit\":\"" u "\"}"

static int
parse_len(const char *text, size_t len, struct doc_result *r, char *err)
{
	char *buf = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, text, len);
	rc = doc_parse(len > 0 ? buf : NULL, len, NOW, r, err, DHO_ERRLEN);
	free(buf);
	return rc;
}

static int
parse(const char *text, struct doc_result *r, char *err)
{
	return parse_len(text, strlen(text), r, err);
}

static void
test_example_single(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	const char *p = "{\"seq\": 1017, \"ts\": \"2026-11-23T08:15:00Z\", \"metric\": \"spo2\", "
	                "\"value\": 93, \"unit\": \"%\"}";

	(void)state;
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_string_equal(err, "");
	assert_true(r.has_seq);
	assert_true(r.seq == 1017);
	assert_true(r.measured_at == TS_EXAMPLE);
	assert_int_equal(r.n, 1);
	assert_true(r.items[0].ok);
	assert_int_equal(r.items[0].code, DHO_OK);
	assert_string_equal(r.items[0].metric, "spo2");
	assert_int_equal(r.items[0].r.metric, METRIC_SPO2);
	assert_true(r.items[0].r.value == 93.0);
	assert_int_equal(r.items[0].r.decimals, 0);
	assert_true(r.items[0].r.measured_at == TS_EXAMPLE);
	assert_int_equal(r.items[0].r.flags, 0);
}

static void
test_example_readings(void **state)
{
	static const struct {
		enum metric m;
		double v;
	} want[] = { { METRIC_BP_SYS, 141 }, { METRIC_BP_DIA, 88 }, { METRIC_PULSE, 77 } };
	struct doc_result r;
	char err[DHO_ERRLEN];
	const char *p = "{\"seq\": 1018, \"ts\": \"2026-11-23T08:16:00Z\",\n"
	                " \"readings\": [{\"metric\": \"bp_sys\", \"value\": 141}, "
	                "{\"metric\": \"bp_dia\", \"value\": 88},\n"
	                "              {\"metric\": \"pulse\", \"value\": 77}]}";

	(void)state;
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_true(r.has_seq && r.seq == 1018);
	assert_true(r.measured_at == TS_EXAMPLE + 60);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(r.items[i].ok);
		assert_int_equal(r.items[i].r.metric, want[i].m);
		assert_true(r.items[i].r.value == want[i].v);
		assert_true(r.items[i].r.measured_at == TS_EXAMPLE + 60);
	}
}

/* Without seq and ts: no idempotency key, and the receive time. */
static void
test_defaults(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	assert_int_equal(parse(ONE("pulse", "77"), &r, err), DHO_OK);
	assert_false(r.has_seq);
	assert_true(r.measured_at == NOW);
	assert_true(r.items[0].r.measured_at == NOW);
	/* Unknown keys are ignored at both levels. */
	assert_int_equal(parse("{\"fw\":\"1.2\",\"battery\":{\"pct\":80},\"readings\":"
	                       "[{\"metric\":\"spo2\",\"value\":95,\"quality\":[1,2]}]}",
	                       &r, err), DHO_OK);
	assert_true(r.items[0].ok);
	/* A NULL error buffer is allowed. */
	assert_int_equal(doc_parse("{", 1, NOW, &r, NULL, 0), DHO_EINVAL);
}

struct msg_case {
	const char *name;
	const char *payload;
	int rc;
	const char *reason;     /* a part of err */
};

static const struct msg_case msg_cases[] = {
	{ "empty", "", DHO_EINVAL, "empty" },
	{ "truncated", "{\"metric\":\"spo2\",\"value\":93", DHO_EINVAL, "malformed JSON" },
	{ "not json", "spo2=93", DHO_EINVAL, "malformed JSON" },
	{ "single quotes", "{'metric':'spo2','value':93}", DHO_EINVAL, "malformed JSON" },
	{ "trailing garbage", ONE("spo2", "93") " x", DHO_EINVAL, "malformed JSON" },
	{ "two documents", ONE("spo2", "93") ONE("spo2", "94"), DHO_EINVAL, "malformed JSON" },
	{ "array", "[{\"metric\":\"spo2\",\"value\":93}]", DHO_EINVAL, "JSON array, not an object" },
	{ "number", "93", DHO_EINVAL, "JSON number, not an object" },
	{ "string", "\"spo2\"", DHO_EINVAL, "JSON string, not an object" },
	{ "null", "null", DHO_EINVAL, "not an object" },
	{ "empty object", "{}", DHO_EINVAL, "neither metric and value nor a readings array" },
	{ "only seq", "{\"seq\":1}", DHO_EINVAL, "neither" },
	{ "metric, no value", "{\"metric\":\"spo2\"}", DHO_EINVAL, "a metric but no value" },
	{ "value, no metric", "{\"value\":93}", DHO_EINVAL, "a value but no metric" },
	{ "readings object", "{\"readings\":{\"metric\":\"spo2\",\"value\":93}}", DHO_EINVAL,
	  "readings is an object, not an array" },
	{ "readings null", "{\"readings\":null}", DHO_EINVAL, "not an array" },
	{ "readings empty", "{\"readings\":[]}", DHO_EINVAL, "readings is empty" },
	{ "both forms", "{\"metric\":\"spo2\",\"value\":93,\"readings\":[" ONE("pulse", "70") "]}",
	  DHO_EINVAL, "both metric/value and readings" },
	{ "unit beside readings", "{\"unit\":\"kPa\",\"readings\":[" ONE("bp_sys", "18.8") "]}",
	  DHO_EINVAL, "top-level unit" },
	{ "duplicate value", "{\"metric\":\"spo2\",\"value\":93,\"value\":85}", DHO_EINVAL,
	  "duplicate" },
	{ "duplicate in reading", "{\"readings\":[{\"metric\":\"spo2\",\"metric\":\"pulse\","
	  "\"value\":93}]}", DHO_EINVAL, "duplicate" },
	{ "real overflow", ONE("spo2", "1e400"), DHO_EINVAL, "malformed JSON" },
	{ "integer overflow", ONE("spo2", "99999999999999999999"), DHO_EINVAL, "malformed JSON" },
	{ "bare NaN", ONE("spo2", "NaN"), DHO_EINVAL, "malformed JSON" },
	{ "bare Infinity", ONE("spo2", "Infinity"), DHO_EINVAL, "malformed JSON" },
	{ "leading zero", ONE("spo2", "093"), DHO_EINVAL, "malformed JSON" },
	{ "escaped NUL", "{\"metric\":\"sp\\u0000o2\",\"value\":93}", DHO_EINVAL, "malformed JSON" },
	{ "invalid UTF-8", "{\"metric\":\"sp\xff" "o2\",\"value\":93}", DHO_EINVAL, "malformed JSON" },
	{ "ts number", "{\"ts\":1795421700,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  "ts 1795421700 is not an RFC 3339 time string" },
	{ "ts null", "{\"ts\":null,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  "ts null is not" },
	{ "ts words", "{\"ts\":\"yesterday\",\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  "ts \"yesterday\" is not an RFC 3339 time" },
	{ "ts bare date", "{\"ts\":\"2026-11-23\",\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  "not an RFC 3339 time" },
	{ "ts no zone", "{\"ts\":\"2026-11-23T08:15:00\",\"metric\":\"spo2\",\"value\":93}",
	  DHO_EINVAL, "not an RFC 3339 time" },
	{ "ts space", "{\"ts\":\"2026-11-23 08:15:00Z\",\"metric\":\"spo2\",\"value\":93}",
	  DHO_EINVAL, "not an RFC 3339 time" },
	{ "ts Feb 30", "{\"ts\":\"2026-02-30T08:15:00Z\",\"metric\":\"spo2\",\"value\":93}",
	  DHO_EINVAL, "not an RFC 3339 time" },
	{ "ts epoch string", "{\"ts\":\"1795421700\",\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  "not an RFC 3339 time" },
};

static void
test_message_errors(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		int rc = parse(c->payload, &r, err);

		if (rc != c->rc || strstr(err, c->reason) == NULL)
			print_error("case \"%s\": rc %d, err \"%s\"\n", c->name, rc, err);
		EXPECT(c->name, rc == c->rc);
		EXPECT(c->name, strstr(err, c->reason) != NULL);
		EXPECT(c->name, r.n == 0);
	}
}

/* A NUL byte inside the payload (not an escape) is not JSON. */
static void
test_raw_nul(void **state)
{
	static const char p[] = "{\"metric\":\"spo2\",\"value\":93}\0garbage";
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	assert_int_equal(parse_len(p, sizeof(p) - 1, &r, err), DHO_EINVAL);
	assert_non_null(strstr(err, "malformed JSON"));
}

/* Builds {"metric":"spo2","value":93,"pad":"xxx..."} of exactly len bytes. */
static char *
padded(size_t len)
{
	static const char head[] = "{\"metric\":\"spo2\",\"value\":93,\"pad\":\"";
	char *p = malloc(len);
	size_t h = sizeof(head) - 1;

	assert_non_null(p);
	memcpy(p, head, h);
	memset(p + h, 'x', len - h - 2);
	p[len - 2] = '"';
	p[len - 1] = '}';
	return p;
}

static void
test_size_limit(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	char *p;

	(void)state;
	p = padded(DOC_MAX_BYTES);
	assert_int_equal(doc_parse(p, DOC_MAX_BYTES, NOW, &r, err, sizeof(err)), DHO_OK);
	assert_true(r.items[0].ok);
	free(p);
	p = padded(DOC_MAX_BYTES + 1);
	assert_int_equal(doc_parse(p, DOC_MAX_BYTES + 1, NOW, &r, err, sizeof(err)), DHO_ERANGE);
	assert_string_equal(err, "the payload is 65537 bytes, more than 65536");
	assert_int_equal(r.n, 0);
	free(p);
}

/* {"readings":[{"metric":"pulse","value":60}, ...]} with n readings. */
static char *
many(size_t n)
{
	size_t cap = 64 + n * 64, off = 0;
	char *p = malloc(cap);

	assert_non_null(p);
	off += (size_t)snprintf(p + off, cap - off, "{\"seq\":5,\"readings\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(p + off, cap - off, "%s{\"metric\":\"pulse\",\"value\":%zu.5}",
		                        i ? "," : "", 60 + i);
	snprintf(p + off, cap - off, "]}");
	return p;
}

static void
test_reading_count(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	char *p;

	(void)state;
	p = many(DOC_MAX_READINGS);
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_int_equal(r.n, DOC_MAX_READINGS);
	for (size_t i = 0; i < DOC_MAX_READINGS; i++) {
		assert_true(r.items[i].ok);
		assert_true(r.items[i].r.value == 60.5 + (double)i);
		assert_int_equal(r.items[i].r.decimals, 1);
	}
	free(p);
	p = many(DOC_MAX_READINGS + 1);
	assert_int_equal(parse(p, &r, err), DHO_ERANGE);
	assert_string_equal(err, "33 readings, more than 32 per message");
	assert_int_equal(r.n, 0);
	free(p);
}

struct item_case {
	const char *name;
	const char *payload;
	bool ok;
	double value;           /* when ok */
	int decimals;           /* when ok */
	int code;               /* when not ok */
	const char *reason;     /* when not ok: a part of the reason */
};

#define OK(name, p, v, d) { name, p, true, v, d, DHO_OK, NULL }
#define BAD(name, p, code, why) { name, p, false, 0, 0, code, why }

static const struct item_case item_cases[] = {
	/* Canonical units, and the decimals of the text. */
	OK("spo2 integer", ONE("spo2", "93"), 93, 0),
	OK("spo2 real", ONE("spo2", "93.5"), 93.5, 1),
	OK("spo2 93.0", ONE("spo2", "93.0"), 93, 1),
	OK("temp 36.60", ONE("temp", "36.60"), 36.6, 2),
	OK("temp 3.66e1", ONE("temp", "3.66e1"), 36.6, 1),
	OK("temp 366e-1", ONE("temp", "366e-1"), 36.6, 1),
	OK("temp 0.366E+2", ONE("temp", "0.366E+2"), 36.6, 1),
	OK("spo2 1e2", ONE("spo2", "1e2"), 100, 0),
	OK("weight 7 decimals", ONE("weight", "72.1234567"), 72.1234567, 6),
	OK("spo2 with %", ONEU("spo2", "93", "%"), 93, 0),
	OK("spo2 empty unit", ONEU("spo2", "93", ""), 93, 0),
	OK("pulse /min", ONEU("pulse", "77", "/min"), 77, 0),
	OK("resp_rate /min", ONEU("resp_rate", "18", "/min"), 18, 0),
	OK("temp Cel", ONEU("temp", "37.2", "Cel"), 37.2, 1),
	OK("bp_sys mm[Hg]", ONEU("bp_sys", "141", "mm[Hg]"), 141, 0),
	OK("weight kg", ONEU("weight", "80.4", "kg"), 80.4, 1),
	OK("glucose mmol/L", ONEU("glucose", "6.2", "mmol/L"), 6.2, 1),
	OK("on_oxygen 1", ONEU("on_oxygen", "1", "1"), 1, 0),
	OK("consciousness ACVPU", ONEU("consciousness", "\"V\"", "ACVPU"), 2, 0),
	OK("cat_score {score}", ONEU("cat_score", "12", "{score}"), 12, 0),

	/* Each end of each range is accepted. */
	OK("spo2 0", ONE("spo2", "0"), 0, 0),
	OK("spo2 100", ONE("spo2", "100"), 100, 0),
	OK("pulse 0", ONE("pulse", "0"), 0, 0),
	OK("pulse 350", ONE("pulse", "350"), 350, 0),
	OK("resp_rate 0", ONE("resp_rate", "0"), 0, 0),
	OK("resp_rate 150", ONE("resp_rate", "150"), 150, 0),
	OK("temp 20", ONE("temp", "20"), 20, 0),
	OK("temp 45.0", ONE("temp", "45.0"), 45, 1),
	OK("bp_sys 0", ONE("bp_sys", "0"), 0, 0),
	OK("bp_sys 400", ONE("bp_sys", "400"), 400, 0),
	OK("bp_dia 400", ONE("bp_dia", "400"), 400, 0),
	OK("bp_map 400", ONE("bp_map", "400"), 400, 0),
	OK("weight 0.5", ONE("weight", "0.5"), 0.5, 1),
	OK("weight 500", ONE("weight", "500"), 500, 0),
	OK("glucose 0", ONE("glucose", "0"), 0, 0),
	OK("glucose 100", ONE("glucose", "100"), 100, 0),
	OK("cat_score 0", ONE("cat_score", "0"), 0, 0),
	OK("cat_score 40", ONE("cat_score", "40"), 40, 0),
	OK("on_oxygen 0", ONE("on_oxygen", "0"), 0, 0),
	OK("on_oxygen true", ONE("on_oxygen", "true"), 1, 0),
	OK("on_oxygen false", ONE("on_oxygen", "false"), 0, 0),
	OK("on_oxygen 1.0", ONE("on_oxygen", "1.0"), 1, 0),
	OK("consciousness A", ONE("consciousness", "\"A\""), 0, 0),
	OK("consciousness C", ONE("consciousness", "\"C\""), 1, 0),
	OK("consciousness P", ONE("consciousness", "\"P\""), 3, 0),
	OK("consciousness U", ONE("consciousness", "\"U\""), 4, 0),

	/* Just outside each range. */
	BAD("spo2 -1", ONE("spo2", "-1"), DHO_ERANGE, "spo2 -1 % is outside the accepted range 0-100 %"),
	BAD("spo2 100.1", ONE("spo2", "100.1"), DHO_ERANGE, "spo2 100.1 % is outside"),
	BAD("pulse -0.1", ONE("pulse", "-0.1"), DHO_ERANGE, "pulse -0.1 /min is outside"),
	BAD("pulse 350.5", ONE("pulse", "350.5"), DHO_ERANGE, "range 0-350 /min"),
	BAD("resp_rate 151", ONE("resp_rate", "151"), DHO_ERANGE, "range 0-150 /min"),
	BAD("temp 19.99", ONE("temp", "19.99"), DHO_ERANGE, "temp 19.99 Cel is outside the accepted range 20-45 Cel"),
	BAD("temp 45.01", ONE("temp", "45.01"), DHO_ERANGE, "temp 45.01 Cel"),
	BAD("bp_sys -0.1", ONE("bp_sys", "-0.1"), DHO_ERANGE, "0-400 mm[Hg]"),
	BAD("bp_sys 400.1", ONE("bp_sys", "400.1"), DHO_ERANGE, "bp_sys 400.1 mm[Hg]"),
	BAD("bp_dia 401", ONE("bp_dia", "401"), DHO_ERANGE, "bp_dia 401"),
	BAD("bp_map -1", ONE("bp_map", "-1"), DHO_ERANGE, "bp_map -1"),
	BAD("weight 0.49", ONE("weight", "0.49"), DHO_ERANGE, "range 0.5-500 kg"),
	BAD("weight 500.01", ONE("weight", "500.01"), DHO_ERANGE, "weight 500.01 kg"),
	BAD("glucose -0.1", ONE("glucose", "-0.1"), DHO_ERANGE, "0-100 mmol/L"),
	BAD("glucose 100.01", ONE("glucose", "100.01"), DHO_ERANGE, "glucose 100.01"),
	BAD("cat_score 41", ONE("cat_score", "41"), DHO_ERANGE, "0-40 {score}"),
	BAD("cat_score -1", ONE("cat_score", "-1"), DHO_ERANGE, "cat_score -1"),
	BAD("on_oxygen 2", ONE("on_oxygen", "2"), DHO_ERANGE, "on_oxygen 2 1 is outside"),
	BAD("on_oxygen -1", ONE("on_oxygen", "-1"), DHO_ERANGE, "outside"),
	BAD("on_oxygen 0.5", ONE("on_oxygen", "0.5"), DHO_ERANGE, "on_oxygen 0.5 is not one of the whole values 0-1"),

	/* Not numbers. */
	BAD("spo2 string", ONE("spo2", "\"93\""), DHO_EINVAL, "spo2 value \"93\" (a string) is not a number"),
	BAD("spo2 null", ONE("spo2", "null"), DHO_EINVAL, "spo2 value null is not a number"),
	/* jansson reads these as 0; the device sent no such value. */
	BAD("spo2 underflow", ONE("spo2", "1e-999"), DHO_ERANGE,
	    "spo2 value 1e-999 is too small to be represented (underflow)"),
	BAD("temp underflow", ONE("temp", "-2.5E-400"), DHO_ERANGE,
	    "temp value -2.5E-400 is too small to be represented (underflow)"),
	BAD("spo2 true", ONE("spo2", "true"), DHO_EINVAL, "spo2 value true is not a number"),
	BAD("spo2 false", ONE("spo2", "false"), DHO_EINVAL, "spo2 value false is not a number"),
	BAD("spo2 object", ONE("spo2", "{\"v\":93}"), DHO_EINVAL, "spo2 value an object is not a number"),
	BAD("spo2 array", ONE("spo2", "[93]"), DHO_EINVAL, "an array is not a number"),
	BAD("spo2 NaN string", ONE("spo2", "\"NaN\""), DHO_EINVAL, "\"NaN\" (a string) is not a number"),
	BAD("spo2 nan string", ONE("spo2", "\"nan\""), DHO_EINVAL, "is not a number"),
	BAD("temp Infinity string", ONE("temp", "\"Infinity\""), DHO_EINVAL, "\"Infinity\" (a string) is not a number"),
	BAD("temp -inf string", ONE("temp", "\"-inf\""), DHO_EINVAL, "is not a number"),
	BAD("pulse long string", ONE("pulse", "\"0123456789012345678901234567890123456789\""),
	    DHO_EINVAL, "\"01234567890123456789012345678901\"... (a string)"),
	BAD("on_oxygen string", ONE("on_oxygen", "\"true\""), DHO_EINVAL, "on_oxygen value \"true\""),
	BAD("on_oxygen null", ONE("on_oxygen", "null"), DHO_EINVAL, "not a number"),
	BAD("consciousness X", ONE("consciousness", "\"X\""), DHO_EINVAL,
	    "consciousness value \"X\" (a string) is not one of \"A\", \"C\", \"V\", \"P\", \"U\""),
	BAD("consciousness lowercase", ONE("consciousness", "\"a\""), DHO_EINVAL, "is not one of"),
	BAD("consciousness two letters", ONE("consciousness", "\"AC\""), DHO_EINVAL, "is not one of"),
	BAD("consciousness empty", ONE("consciousness", "\"\""), DHO_EINVAL, "is not one of"),
	BAD("consciousness number", ONE("consciousness", "0"), DHO_EINVAL, "consciousness value 0 is not one of"),
	BAD("consciousness null", ONE("consciousness", "null"), DHO_EINVAL, "value null is not one of"),

	/* Unknown metrics. */
	BAD("metric case", ONE("SpO2", "93"), DHO_ENOTFOUND, "unknown metric \"SpO2\""),
	BAD("metric heart_rate", ONE("heart_rate", "70"), DHO_ENOTFOUND, "unknown metric \"heart_rate\""),
	BAD("metric empty", ONE("", "70"), DHO_ENOTFOUND, "unknown metric \"\""),
	BAD("metric number", "{\"metric\":5,\"value\":70}", DHO_EINVAL, "metric 5 is not a string"),
	BAD("metric null", "{\"metric\":null,\"value\":70}", DHO_EINVAL, "metric null is not a string"),

	/* Unknown units. */
	BAD("spo2 percent", ONEU("spo2", "93", "percent"), DHO_EUNSUPP,
	    "unknown unit \"percent\" for spo2 (canonical %)"),
	BAD("temp degC", ONEU("temp", "37", "degC"), DHO_EUNSUPP, "unknown unit \"degC\" for temp"),
	BAD("temp K", ONEU("temp", "310", "K"), DHO_EUNSUPP, "unknown unit \"K\""),
	BAD("temp cel", ONEU("temp", "37", "cel"), DHO_EUNSUPP, "unknown unit \"cel\""),
	BAD("weight lb", ONEU("weight", "160", "lb"), DHO_EUNSUPP, "unknown unit \"lb\" for weight"),
	BAD("bp_sys mmHg", ONEU("bp_sys", "141", "mmHg"), DHO_EUNSUPP, "(canonical mm[Hg])"),
	BAD("glucose mg/dl", ONEU("glucose", "90", "mg/dl"), DHO_EUNSUPP, "unknown unit \"mg/dl\""),
	BAD("pulse bpm", ONEU("pulse", "77", "bpm"), DHO_EUNSUPP, "unknown unit \"bpm\""),
	BAD("spo2 kPa", ONEU("spo2", "93", "kPa"), DHO_EUNSUPP, "unknown unit \"kPa\" for spo2"),
	BAD("on_oxygen %", ONEU("on_oxygen", "1", "%"), DHO_EUNSUPP, "for on_oxygen"),
	BAD("unit number", "{\"metric\":\"spo2\",\"value\":93,\"unit\":1}", DHO_EINVAL,
	    "spo2 unit 1 is not a string"),
	/* The unit is judged before the value. */
	BAD("bad unit and value", ONEU("spo2", "\"x\"", "ppm"), DHO_EUNSUPP, "unknown unit"),

	/* Conversions, rounded to the precision of doc.h. */
	OK("98.6 degF", ONEU("temp", "98.6", "[degF]"), 37, 2),
	OK("99.5 degF", ONEU("temp", "99.5", "[degF]"), 37.5, 2),
	OK("100 degF", ONEU("temp", "100", "[degF]"), 37.78, 2),
	OK("113 degF is 45", ONEU("temp", "113", "[degF]"), 45, 2),
	OK("68 degF is 20", ONEU("temp", "68", "[degF]"), 20, 2),
	BAD("113.1 degF", ONEU("temp", "113.1", "[degF]"), DHO_ERANGE,
	    "temp 45.06 Cel is outside the accepted range 20-45 Cel (sent as 113.1 [degF])"),
	BAD("67.9 degF", ONEU("temp", "67.9", "[degF]"), DHO_ERANGE, "(sent as 67.9 [degF])"),
	OK("18.8 kPa", ONEU("bp_sys", "18.8", "kPa"), 141, 1),
	OK("10.67 kPa", ONEU("bp_dia", "10.67", "kPa"), 80, 1),
	OK("12 kPa", ONEU("bp_map", "12", "kPa"), 90, 1),
	OK("0 kPa", ONEU("bp_sys", "0", "kPa"), 0, 1),
	BAD("53.4 kPa", ONEU("bp_sys", "53.4", "kPa"), DHO_ERANGE, "bp_sys 400.5 mm[Hg] is outside"),
	OK("160 lb", ONEU("weight", "160", "[lb_av]"), 72.575, 3),
	OK("1.2 lb", ONEU("weight", "1.2", "[lb_av]"), 0.544, 3),
	BAD("1.1 lb", ONEU("weight", "1.1", "[lb_av]"), DHO_ERANGE, "weight 0.499 kg is outside"),
	BAD("1200 lb", ONEU("weight", "1200", "[lb_av]"), DHO_ERANGE, "(sent as 1200 [lb_av])"),
	OK("72500 g", ONEU("weight", "72500", "g"), 72.5, 3),
	OK("500 g", ONEU("weight", "500", "g"), 0.5, 3),
	OK("500000 g", ONEU("weight", "500000", "g"), 500, 3),
	BAD("499 g", ONEU("weight", "499", "g"), DHO_ERANGE, "weight 0.499 kg"),
	BAD("500001 g", ONEU("weight", "500001", "g"), DHO_ERANGE, "weight 500.001 kg"),
	OK("90 mg/dL", ONEU("glucose", "90", "mg/dL"), 5, 2),
	OK("126 mg/dL", ONEU("glucose", "126", "mg/dL"), 6.99, 2),
	OK("1801.6 mg/dL", ONEU("glucose", "1801.6", "mg/dL"), 100, 2),
	BAD("1802 mg/dL", ONEU("glucose", "1802", "mg/dL"), DHO_ERANGE, "glucose 100.02 mmol/L"),
	BAD("-1 mg/dL", ONEU("glucose", "-1", "mg/dL"), DHO_ERANGE, "glucose -0.06 mmol/L"),
};

static void
test_items(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(item_cases) / sizeof(item_cases[0]); i++) {
		const struct item_case *c = &item_cases[i];
		const struct doc_item *it = &r.items[0];
		int rc = parse(c->payload, &r, err);

		if (rc != DHO_OK)
			print_error("case \"%s\": rc %d, err \"%s\"\n", c->name, rc, err);
		EXPECT(c->name, rc == DHO_OK);
		EXPECT(c->name, r.n == 1);
		if (it->ok != c->ok || (c->ok && fabs(it->r.value - c->value) > 1e-9) ||
		    (!c->ok && strstr(it->reason, c->reason) == NULL))
			print_error("case \"%s\": ok %d value %.17g decimals %d reason \"%s\"\n",
			            c->name, it->ok, it->r.value, it->r.decimals, it->reason);
		EXPECT(c->name, it->ok == c->ok);
		if (c->ok) {
			EXPECT(c->name, it->code == DHO_OK);
			EXPECT(c->name, fabs(it->r.value - c->value) <= 1e-9);
			EXPECT(c->name, it->r.decimals == c->decimals);
			EXPECT(c->name, it->r.measured_at == NOW);
			EXPECT(c->name, it->r.flags == 0);
			EXPECT(c->name, it->reason[0] == '\0');
		} else {
			EXPECT(c->name, it->code == c->code);
			EXPECT(c->name, strstr(it->reason, c->reason) != NULL);
		}
		/* The same reading inside a readings array is judged alike. */
		{
			char wrapped[512];
			struct doc_result w;

			snprintf(wrapped, sizeof(wrapped), "{\"readings\":[%s]}", c->payload);
			EXPECT(c->name, parse(wrapped, &w, err) == DHO_OK);
			EXPECT(c->name, w.items[0].ok == c->ok);
			EXPECT(c->name, w.items[0].code == it->code);
			if (c->ok) {
				EXPECT(c->name, w.items[0].r.value == it->r.value);
				EXPECT(c->name, w.items[0].r.decimals == it->r.decimals);
			} else {
				EXPECT(c->name, strncmp(w.items[0].reason, "readings[0]: ", 13) == 0);
				EXPECT(c->name, strcmp(w.items[0].reason + 13, it->reason) == 0);
			}
		}
	}
}

/* One bad reading does not stop the others. */
static void
test_mixed_readings(void **state)
{
	static const struct {
		bool ok;
		int code;
		const char *metric;
		const char *reason;
	} want[] = {
		{ true, DHO_OK, "spo2", "" },
		{ false, DHO_ENOTFOUND, "heart_rate", "readings[1]: unknown metric \"heart_rate\"" },
		{ false, DHO_EINVAL, "pulse", "readings[2]: pulse value \"77\" (a string) is not a number" },
		{ false, DHO_ERANGE, "temp", "readings[3]: temp 50 Cel is outside" },
		{ false, DHO_EINVAL, "", "readings[4]: 42 is not an object" },
		{ false, DHO_EINVAL, "bp_sys", "readings[5]: bp_sys value is missing" },
		{ false, DHO_EINVAL, "", "readings[6]: metric is missing" },
		{ false, DHO_EUNSUPP, "weight", "readings[7]: unknown unit \"stone\" for weight" },
		{ true, DHO_OK, "weight", "" },
	};
	struct doc_result r;
	char err[DHO_ERRLEN];
	const char *p = "{\"seq\":9,\"readings\":["
	                "{\"metric\":\"spo2\",\"value\":91},"
	                "{\"metric\":\"heart_rate\",\"value\":70},"
	                "{\"metric\":\"pulse\",\"value\":\"77\"},"
	                "{\"metric\":\"temp\",\"value\":50},"
	                "42,"
	                "{\"metric\":\"bp_sys\"},"
	                "{\"value\":3},"
	                "{\"metric\":\"weight\",\"value\":12,\"unit\":\"stone\"},"
	                "{\"metric\":\"weight\",\"value\":176.4,\"unit\":\"[lb_av]\"}]}";

	(void)state;
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_int_equal(r.n, 9);
	for (size_t i = 0; i < r.n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "item %zu", i);
		EXPECT(name, r.items[i].ok == want[i].ok);
		EXPECT(name, r.items[i].code == want[i].code);
		EXPECT(name, strcmp(r.items[i].metric, want[i].metric) == 0);
		EXPECT(name, strncmp(r.items[i].reason, want[i].reason, strlen(want[i].reason)) == 0);
	}
	assert_true(r.items[0].r.value == 91);
	assert_true(fabs(r.items[8].r.value - 80.014) < 1e-9);
	assert_int_equal(r.items[8].r.decimals, 3);
}

/* The metric as sent is kept for quarantine, cut to fit. */
static void
test_metric_text(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN], p[512], name[128];

	(void)state;
	memset(name, 'm', 100);
	name[100] = '\0';
	snprintf(p, sizeof(p), "{\"metric\":\"%s\",\"value\":1}", name);
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_false(r.items[0].ok);
	assert_int_equal(strlen(r.items[0].metric), DOC_METRIC_TEXT - 1);
	/* 63 ASCII bytes and a two-byte character: the character is dropped
	 * whole, never cut in half. */
	memset(name, 'a', 63);
	memcpy(name + 63, "\xc3\xa9", 3);
	snprintf(p, sizeof(p), "{\"metric\":\"%s\",\"value\":1}", name);
	assert_int_equal(parse(p, &r, err), DHO_OK);
	assert_int_equal(strlen(r.items[0].metric), 63);
	/* A name that fits is kept whole, UTF-8 included. */
	assert_int_equal(parse(ONE("p\xc3\xa5ls", "70"), &r, err), DHO_OK);
	assert_string_equal(r.items[0].metric, "p\xc3\xa5ls");
	assert_string_equal(r.items[0].reason, "unknown metric \"p\xc3\xa5ls\"");
}

struct time_case {
	const char *name;
	dho_time_t offset;      /* ts - NOW */
	int rc;
};

static const struct time_case time_cases[] = {
	{ "now", 0, DHO_OK },
	{ "1 s ahead", 1, DHO_OK },
	{ "5 min ahead", 300, DHO_OK },
	{ "5 min 1 s ahead", 301, DHO_ERANGE },
	{ "1 h ahead", 3600, DHO_ERANGE },
	{ "1 year ahead", 366 * 86400, DHO_ERANGE },
	{ "1 s old", -1, DHO_OK },
	{ "29 days old", -29 * 86400, DHO_OK },
	{ "30 days old", -30 * 86400, DHO_OK },
	{ "30 days 1 s old", -30 * 86400 - 1, DHO_ERANGE },
	{ "1 year old", -365 * 86400, DHO_ERANGE },
};

static void
test_time_window(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN], ts[TIMEFMT_LEN], p[256];

	(void)state;
	for (size_t i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		const struct time_case *c = &time_cases[i];
		int rc;

		timefmt_format(NOW + c->offset, ts);
		snprintf(p, sizeof(p), "{\"ts\":\"%s\",\"metric\":\"spo2\",\"value\":93}", ts);
		rc = parse(p, &r, err);
		EXPECT(c->name, rc == c->rc);
		if (c->rc == DHO_OK) {
			EXPECT(c->name, r.measured_at == NOW + c->offset);
			EXPECT(c->name, r.items[0].r.measured_at == NOW + c->offset);
		} else {
			EXPECT(c->name, strstr(err, ts) != NULL);
			EXPECT(c->name, strstr(err, c->offset > 0 ? "in the future" : "30 days old") != NULL);
		}
		/* A per-reading ts rejects only its own reading. */
		snprintf(p, sizeof(p), "{\"readings\":[{\"ts\":\"%s\",\"metric\":\"spo2\",\"value\":93},"
		         "{\"metric\":\"pulse\",\"value\":60}]}", ts);
		EXPECT(c->name, parse(p, &r, err) == DHO_OK);
		EXPECT(c->name, r.items[0].ok == (c->rc == DHO_OK));
		EXPECT(c->name, r.items[0].code == c->rc);
		EXPECT(c->name, r.items[1].ok);
		EXPECT(c->name, r.items[1].r.measured_at == NOW);
	}
}

static void
test_time_forms(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	assert_int_equal(parse("{\"ts\":\"2026-11-23T09:15:00+01:00\",\"metric\":\"spo2\",\"value\":93}",
	                       &r, err), DHO_OK);
	assert_true(r.measured_at == TS_EXAMPLE);
	assert_int_equal(parse("{\"ts\":\"2026-11-23T03:15:00-05:00\",\"metric\":\"spo2\",\"value\":93}",
	                       &r, err), DHO_OK);
	assert_true(r.measured_at == TS_EXAMPLE);
	/* Fractional seconds are dropped, not rounded. */
	assert_int_equal(parse("{\"ts\":\"2026-11-23t08:15:00.999z\",\"metric\":\"spo2\",\"value\":93}",
	                       &r, err), DHO_OK);
	assert_true(r.measured_at == TS_EXAMPLE);
	/* 08:25:00+01:00 is 07:25Z, inside the window; 09:25:01+01:00 is not. */
	assert_int_equal(parse("{\"ts\":\"2026-11-23T09:25:01+01:00\",\"metric\":\"spo2\",\"value\":93}",
	                       &r, err), DHO_ERANGE);
	assert_non_null(strstr(err, "301 s ahead"));
	/* A reading's own ts wins over the message's. */
	assert_int_equal(parse("{\"ts\":\"2026-11-23T08:15:00Z\",\"readings\":["
	                       "{\"metric\":\"spo2\",\"value\":93,\"ts\":\"2026-11-23T08:10:00Z\"},"
	                       "{\"metric\":\"pulse\",\"value\":60}]}", &r, err), DHO_OK);
	assert_true(r.items[0].r.measured_at == TS_EXAMPLE - 300);
	assert_true(r.items[1].r.measured_at == TS_EXAMPLE);
	/* A malformed per-reading ts rejects that reading only. */
	assert_int_equal(parse("{\"readings\":[{\"metric\":\"spo2\",\"value\":93,\"ts\":\"noon\"},"
	                       "{\"metric\":\"pulse\",\"value\":60}]}", &r, err), DHO_OK);
	assert_false(r.items[0].ok);
	assert_int_equal(r.items[0].code, DHO_EINVAL);
	assert_string_equal(r.items[0].reason,
	                    "readings[0]: ts \"noon\" is not an RFC 3339 time such as 2026-11-23T08:15:00Z");
	assert_true(r.items[1].ok);
}

struct seq_case {
	const char *name;
	const char *payload;
	int rc;
	uint64_t seq;
	const char *reason;
};

#define SEQ(v) "{\"seq\":" v ",\"metric\":\"spo2\",\"value\":93}"

static const struct seq_case seq_cases[] = {
	{ "zero", SEQ("0"), DHO_OK, 0, NULL },
	{ "small", SEQ("1017"), DHO_OK, 1017, NULL },
	{ "int64 max", SEQ("9223372036854775807"), DHO_OK, 9223372036854775807ULL, NULL },
	{ "int64 max + 1", SEQ("9223372036854775808"), DHO_OK, 9223372036854775808ULL, NULL },
	{ "uint64 max", SEQ("18446744073709551615"), DHO_OK, UINT64_MAX, NULL },
	{ "uint64 max + 1", SEQ("18446744073709551616"), DHO_EINVAL, 0,
	  "seq 18446744073709551616 is larger than 18446744073709551615" },
	{ "huge", SEQ("123456789012345678901234567890123456789012345678901234567890"), DHO_EINVAL, 0,
	  "is larger than" },
	{ "negative", SEQ("-1"), DHO_EINVAL, 0, "seq -1 is negative" },
	{ "minus zero", SEQ("-0"), DHO_EINVAL, 0, "negative" },
	{ "very negative", SEQ("-99999999999999999999"), DHO_EINVAL, 0, "negative" },
	{ "fraction", SEQ("1017.5"), DHO_EINVAL, 0, "seq 1017.5 is not an integer" },
	{ "point zero", SEQ("1017.0"), DHO_EINVAL, 0, "not an integer" },
	{ "exponent", SEQ("1e3"), DHO_EINVAL, 0, "seq 1e3 is not an integer" },
	{ "string", SEQ("\"1017\""), DHO_EINVAL, 0, "seq \"1017\" (a string) is not an unsigned 64-bit integer" },
	{ "null", SEQ("null"), DHO_EINVAL, 0, "seq null is not" },
	{ "true", SEQ("true"), DHO_EINVAL, 0, "seq true is not" },
	{ "object", SEQ("{\"n\":1}"), DHO_EINVAL, 0, "seq an object is not" },
	{ "leading zero", SEQ("01"), DHO_EINVAL, 0, "malformed JSON" },
	{ "spaces", "{ \"seq\" :\t42 ,\"metric\":\"spo2\",\"value\":93}", DHO_OK, 42, NULL },
	{ "last key", "{\"metric\":\"spo2\",\"value\":93,\"seq\":18446744073709551615}", DHO_OK,
	  UINT64_MAX, NULL },
	/* Only the top-level seq counts. */
	{ "nested seq", "{\"x\":{\"seq\":-1},\"seq\":7,\"metric\":\"spo2\",\"value\":93}", DHO_OK, 7,
	  NULL },
	{ "seq in a string", "{\"note\":\"\\\"seq\\\": -1\",\"seq\":3,\"metric\":\"spo2\",\"value\":93}",
	  DHO_OK, 3, NULL },
	{ "seq in a reading", "{\"seq\":4,\"readings\":[{\"seq\":-1,\"metric\":\"spo2\",\"value\":93}]}",
	  DHO_OK, 4, NULL },
	/* Written with an escape, the key escapes the skimmer; jansson reads it. */
	{ "escaped key", "{\"\\u0073eq\":5,\"metric\":\"spo2\",\"value\":93}", DHO_OK, 5, NULL },
	{ "escaped key, negative", "{\"\\u0073eq\":-5,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL, 0,
	  "seq -5 is not an unsigned 64-bit integer" },
	{ "escaped key, real", "{\"\\u0073eq\":5.5,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL, 0,
	  "seq 5.5 is not" },
	{ "escaped duplicate", "{\"\\u0073eq\":5,\"seq\":6,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL,
	  0, "duplicate" },
	{ "duplicate seq", "{\"seq\":5,\"seq\":6,\"metric\":\"spo2\",\"value\":93}", DHO_EINVAL, 0,
	  "duplicate" },
};

static void
test_seq(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		int rc = parse(c->payload, &r, err);

		if (rc != c->rc || (c->reason != NULL && strstr(err, c->reason) == NULL))
			print_error("case \"%s\": rc %d, err \"%s\"\n", c->name, rc, err);
		EXPECT(c->name, rc == c->rc);
		if (c->rc == DHO_OK) {
			EXPECT(c->name, r.has_seq);
			EXPECT(c->name, r.seq == c->seq);
			EXPECT(c->name, r.items[0].ok);
		} else {
			EXPECT(c->name, strstr(err, c->reason) != NULL);
			EXPECT(c->name, !r.has_seq && r.n == 0);
		}
	}
}

/* When the skimmer cannot see a value's text, its decimals are estimated. */
static void
test_decimals_fallback(void **state)
{
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	assert_int_equal(parse("{\"metric\":\"temp\",\"\\u0076alue\":36.60}", &r, err), DHO_OK);
	assert_true(r.items[0].ok);
	assert_true(r.items[0].r.value == 36.6);
	assert_int_equal(r.items[0].r.decimals, 1);
	assert_int_equal(parse("{\"readings\":[{\"metric\":\"temp\",\"\\u0076alue\":36.25}]}",
	                       &r, err), DHO_OK);
	assert_int_equal(r.items[0].r.decimals, 2);
}

/* Small error buffers are filled, never overrun. */
static void
test_short_err(void **state)
{
	struct doc_result r;
	char err[8];

	(void)state;
	memset(err, 'z', sizeof(err));
	assert_int_equal(doc_parse("[]", 2, NOW, &r, err, sizeof(err)), DHO_EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

/*
 * A bridge's GATT envelope: its seq and ts take the rules
 * of a reading document, so a seq up to 2^64-1 is one seq everywhere, and
 * the value's readings come out as items.
 */
static void
test_gatt_envelope(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		int rc;
		const char *reason;     /* in err, for a failure */
	} bad[] = {
		{ "not JSON", "{\"uuid\": ", DHO_EINVAL, "malformed JSON" },
		{ "no hex", "{\"uuid\": \"2a35\"}", DHO_EINVAL, "needs string fields uuid and hex" },
		{ "uuid a number", "{\"uuid\": 10805, \"hex\": \"1e\"}", DHO_EINVAL, "uuid and hex" },
		{ "uuid not 16-bit", "{\"uuid\": \"12345\", \"hex\": \"1e\"}", DHO_EINVAL,
		  "is not a 16-bit Bluetooth UUID" },
		{ "hex odd", "{\"uuid\": \"2a35\", \"hex\": \"1e8\"}", DHO_EINVAL, "hex: 3 digits" },
		{ "value short", "{\"uuid\": \"2a35\", \"hex\": \"1e8a\"}", DHO_EINVAL, "" },
		{ "seq negative", "{\"seq\": -1, \"uuid\": \"2a35\", \"hex\": \"1e\"}", DHO_EINVAL,
		  "is negative" },
		{ "seq over 2^64-1", "{\"seq\": 18446744073709551616, \"uuid\": \"2a35\", \"hex\": \"1e\"}",
		  DHO_EINVAL, "larger than 18446744073709551615" },
		{ "bare date", "{\"ts\": \"2026-11-23\", \"uuid\": \"2a35\", \"hex\": \"1e\"}",
		  DHO_EINVAL, "is not an RFC 3339 time" },
		{ "ts ahead", "{\"ts\": \"2026-11-23T09:00:00Z\", \"uuid\": \"2a35\", \"hex\": \"1e\"}",
		  DHO_ERANGE, "ahead of the hub's clock" },
	};
	/* 2A35 as in the reference, without the optional fields: 138/88 mmHg, MAP 120. */
	static const char good[] = "{\"seq\": 18446744073709551615, \"ts\": \"2026-11-23T08:15:00Z\","
	                           " \"uuid\": \"0x2A35\", \"hex\": \"008a0058007800\"}";
	struct doc_result r;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = doc_parse_gatt(bad[i].text, strlen(bad[i].text), NOW, &r, err, sizeof(err));

		EXPECT(bad[i].name, rc == bad[i].rc);
		EXPECT(bad[i].name, err[0] != '\0' && strstr(err, bad[i].reason) != NULL);
		EXPECT(bad[i].name, r.n == 0);
	}
	assert_int_equal(doc_parse_gatt(good, strlen(good), NOW, &r, err, sizeof(err)), DHO_OK);
	assert_string_equal(err, "");
	assert_true(r.has_seq);
	assert_true(r.seq == UINT64_MAX);
	assert_int_equal(r.measured_at, TS_EXAMPLE);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < r.n; i++) {
		assert_true(r.items[i].ok);
		assert_int_equal(r.items[i].r.measured_at, TS_EXAMPLE);
	}
	assert_string_equal(r.items[0].metric, "bp_sys");
	assert_true(r.items[0].r.value == 138);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_single),
		cmocka_unit_test(test_example_readings),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_message_errors),
		cmocka_unit_test(test_raw_nul),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_reading_count),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_mixed_readings),
		cmocka_unit_test(test_metric_text),
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_time_forms),
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_decimals_fallback),
		cmocka_unit_test(test_short_err),
		cmocka_unit_test(test_gatt_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
