/*
 * test_metric.c: the metric table (names, units, conversions, ranges),
 * ACVPU letters and the flag names readings carry.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expect.h"
#include <jansson.h>

#include "metric.h"

/* The table written out again, independently of sensors/metric.c. */
static const struct {
	enum metric m;
	const char *name;
	const char *unit;
	double min, max;
} table[] = {
	{ METRIC_SPO2, "spo2", "%", 0, 100 },
	{ METRIC_PULSE, "pulse", "/min", 0, 350 },
	{ METRIC_RESP_RATE, "resp_rate", "/min", 0, 150 },
	{ METRIC_TEMP, "temp", "Cel", 20, 45 },
	{ METRIC_BP_SYS, "bp_sys", "mm[Hg]", 0, 400 },
	{ METRIC_BP_DIA, "bp_dia", "mm[Hg]", 0, 400 },
	{ METRIC_BP_MAP, "bp_map", "mm[Hg]", 0, 400 },
	{ METRIC_WEIGHT, "weight", "kg", 0.5, 500 },
	{ METRIC_GLUCOSE, "glucose", "mmol/L", 0, 100 },
	{ METRIC_ON_OXYGEN, "on_oxygen", "1", 0, 1 },
	{ METRIC_CONSCIOUSNESS, "consciousness", "ACVPU", 0, 4 },
	{ METRIC_CAT_SCORE, "cat_score", "{score}", 0, 40 },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static void
test_names_units(void **state)
{
	enum metric m;

	(void)state;
	assert_int_equal(NTABLE, METRIC_COUNT);
	for (size_t i = 0; i < NTABLE; i++) {
		EXPECT(table[i].name, strcmp(metric_name(table[i].m), table[i].name) == 0);
		EXPECT(table[i].name, strcmp(metric_unit(table[i].m), table[i].unit) == 0);
		EXPECT(table[i].name, metric_lookup(table[i].name, &m) == DHO_OK);
		EXPECT(table[i].name, m == table[i].m);
	}
	assert_int_equal(metric_lookup("SPO2", &m), DHO_ENOTFOUND);
	assert_int_equal(metric_lookup("spo2 ", &m), DHO_ENOTFOUND);
	assert_int_equal(metric_lookup("", &m), DHO_ENOTFOUND);
	assert_int_equal(metric_lookup("heart_rate", &m), DHO_ENOTFOUND);
	assert_int_equal(metric_lookup(NULL, &m), DHO_ENOTFOUND);
	assert_string_equal(metric_name(METRIC_COUNT), "?");
	assert_string_equal(metric_unit(METRIC_COUNT), "?");
}

/* Each end of each range is accepted; a step outside is not. */
static void
test_ranges(void **state)
{
	char why[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < NTABLE; i++) {
		const char *n = table[i].name;

		EXPECT(n, metric_check(table[i].m, table[i].min, why, sizeof(why)) == DHO_OK);
		EXPECT(n, metric_check(table[i].m, table[i].max, why, sizeof(why)) == DHO_OK);
		EXPECT(n, metric_check(table[i].m, table[i].min - 0.01, why, sizeof(why)) == DHO_ERANGE);
		EXPECT(n, strstr(why, "is outside the accepted range") != NULL);
		EXPECT(n, metric_check(table[i].m, table[i].max + 0.01, why, sizeof(why)) == DHO_ERANGE);
		EXPECT(n, metric_check(table[i].m, NAN, why, sizeof(why)) == DHO_ERANGE);
		EXPECT(n, strstr(why, "is NaN") != NULL);
		EXPECT(n, metric_check(table[i].m, INFINITY, why, sizeof(why)) == DHO_ERANGE);
		EXPECT(n, strstr(why, "is infinite") != NULL);
		EXPECT(n, metric_check(table[i].m, -INFINITY, NULL, 0) == DHO_ERANGE);
	}
	assert_int_equal(metric_check(METRIC_COUNT, 1, why, sizeof(why)), DHO_ERANGE);
}

static void
test_range_reasons(void **state)
{
	char why[DHO_ERRLEN];

	(void)state;
	assert_int_equal(metric_check(METRIC_SPO2, 101, why, sizeof(why)), DHO_ERANGE);
	assert_string_equal(why, "spo2 101 % is outside the accepted range 0-100 %");
	assert_int_equal(metric_check(METRIC_WEIGHT, 0.25, why, sizeof(why)), DHO_ERANGE);
	assert_string_equal(why, "weight 0.25 kg is outside the accepted range 0.5-500 kg");
	/* Printed in full, not as "45". */
	assert_int_equal(metric_check(METRIC_TEMP, 45.00001, why, sizeof(why)), DHO_ERANGE);
	assert_string_equal(why, "temp 45.00001 Cel is outside the accepted range 20-45 Cel");
	/* A short buffer is cut, not overrun. */
	assert_int_equal(metric_check(METRIC_SPO2, 101, why, 5), DHO_ERANGE);
	assert_string_equal(why, "spo2");
}

/* on_oxygen and consciousness are codes: only whole values are codes. */
static void
test_whole_values(void **state)
{
	char why[DHO_ERRLEN];

	(void)state;
	assert_int_equal(metric_check(METRIC_ON_OXYGEN, 0.5, why, sizeof(why)), DHO_ERANGE);
	assert_string_equal(why, "on_oxygen 0.5 is not one of the whole values 0-1");
	assert_int_equal(metric_check(METRIC_CONSCIOUSNESS, 2.5, why, sizeof(why)), DHO_ERANGE);
	assert_int_equal(metric_check(METRIC_CONSCIOUSNESS, 3, why, sizeof(why)), DHO_OK);
	/* Measurements keep their fractions. */
	assert_int_equal(metric_check(METRIC_CAT_SCORE, 12.5, why, sizeof(why)), DHO_OK);
	assert_int_equal(metric_check(METRIC_PULSE, 72.5, why, sizeof(why)), DHO_OK);
}

struct conv_case {
	const char *name;
	enum metric m;
	const char *unit;
	double in, out;
};

static const struct conv_case conv_cases[] = {
	{ "canonical NULL", METRIC_SPO2, NULL, 93, 93 },
	{ "canonical empty", METRIC_SPO2, "", 93, 93 },
	{ "canonical spelled", METRIC_TEMP, "Cel", 37.2, 37.2 },
	{ "ACVPU", METRIC_CONSCIOUSNESS, "ACVPU", 2, 2 },
	{ "degF freezing", METRIC_TEMP, "[degF]", 32, 0 },
	{ "degF body", METRIC_TEMP, "[degF]", 98.6, 37 },
	{ "degF boiling", METRIC_TEMP, "[degF]", 212, 100 },
	{ "degF -40", METRIC_TEMP, "[degF]", -40, -40 },
	{ "kPa sys", METRIC_BP_SYS, "kPa", 1, 7.500615758456563 },
	{ "kPa dia", METRIC_BP_DIA, "kPa", 10.67, 80.03157014273153 },
	{ "kPa map", METRIC_BP_MAP, "kPa", 13.332238741, 99.99999999 },
	{ "lb", METRIC_WEIGHT, "[lb_av]", 1, 0.45359237 },
	{ "lb 160", METRIC_WEIGHT, "[lb_av]", 160, 72.5747792 },
	{ "g", METRIC_WEIGHT, "g", 72500, 72.5 },
	{ "mg/dL", METRIC_GLUCOSE, "mg/dL", 18.016, 1 },
	{ "mg/dL 90", METRIC_GLUCOSE, "mg/dL", 90, 4.995559502664298 },
};

static void
test_convert(void **state)
{
	double out;

	(void)state;
	for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
		const struct conv_case *c = &conv_cases[i];

		out = -1;
		EXPECT(c->name, metric_convert(c->m, c->unit, c->in, &out) == DHO_OK);
		if (fabs(out - c->out) > 1e-7)
			print_error("case \"%s\": %.17g\n", c->name, out);
		EXPECT(c->name, fabs(out - c->out) <= 1e-7);
	}
}

static void
test_convert_unknown(void **state)
{
	static const struct {
		enum metric m;
		const char *unit;
	} bad[] = {
		{ METRIC_SPO2, "kPa" }, { METRIC_TEMP, "K" }, { METRIC_TEMP, "degF" },
		{ METRIC_TEMP, "[degf]" }, { METRIC_WEIGHT, "lb" }, { METRIC_WEIGHT, "mg" },
		{ METRIC_BP_SYS, "mmHg" }, { METRIC_BP_SYS, "g" }, { METRIC_GLUCOSE, "mg/dl" },
		{ METRIC_PULSE, "bpm" }, { METRIC_ON_OXYGEN, "%" }, { METRIC_CAT_SCORE, "score" },
	};
	double out = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(bad[i].unit, metric_convert(bad[i].m, bad[i].unit, 1, &out) == DHO_EUNSUPP);
		EXPECT(bad[i].unit, out == 7);
	}
	assert_int_equal(metric_convert(METRIC_COUNT, NULL, 1, &out), DHO_EUNSUPP);
}

static void
test_acvpu(void **state)
{
	static const char letters[] = "ACVPU";
	double v;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(metric_acvpu_value(letters[i], &v), DHO_OK);
		assert_true(v == i);
		assert_int_equal(metric_acvpu_letter(v), letters[i]);
	}
	assert_int_equal(metric_acvpu_value('a', &v), DHO_EINVAL);
	assert_int_equal(metric_acvpu_value('X', &v), DHO_EINVAL);
	assert_int_equal(metric_acvpu_value('\0', &v), DHO_EINVAL);
	assert_int_equal(metric_acvpu_letter(-1), '?');
	assert_int_equal(metric_acvpu_letter(5), '?');
	assert_int_equal(metric_acvpu_letter(2.5), '?');
	assert_int_equal(metric_acvpu_letter(-0.5), '?');
	assert_int_equal(metric_acvpu_letter(NAN), '?');
	assert_int_equal(metric_acvpu_letter(1e300), '?');
}

static void
test_flag_names(void **state)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} named[] = {
		{ RFLAG_BODY_MOVEMENT, "body_movement" },
		{ RFLAG_CUFF_LOOSE, "cuff_loose" },
		{ RFLAG_IRREGULAR_PULSE, "irregular_pulse" },
		{ RFLAG_IMPROPER_POS, "improper_position" },
		{ RFLAG_QUESTIONABLE, "questionable" },
		{ RFLAG_INVALID, "invalid" },
		{ RFLAG_LOW_PERFUSION, "low_perfusion" },
		{ RFLAG_DEVICE_CLOCK, "device_clock" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		EXPECT(named[i].name, metric_flag_name(named[i].bit) != NULL &&
		                      strcmp(metric_flag_name(named[i].bit), named[i].name) == 0);
	/* Every used bit has a name of its own, in the reading-flag alphabet. */
	for (int i = 0; i < RFLAG_COUNT_; i++) {
		const char *a = metric_flag_name(1u << i);

		assert_non_null(a);
		assert_true(strspn(a, "abcdefghijklmnopqrstuvwxyz_") == strlen(a));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, metric_flag_name(1u << j));
	}
	assert_null(metric_flag_name(0));
	assert_null(metric_flag_name(1u << RFLAG_COUNT_));
	assert_null(metric_flag_name(1u << 31));
	assert_null(metric_flag_name(RFLAG_INVALID | RFLAG_CUFF_LOOSE));
}

static void
test_format_value(void **state)
{
	char buf[32];

	(void)state;
	metric_format_value(2, 2, buf, sizeof(buf));
	assert_string_equal(buf, "2.00");
	metric_format_value(141.0115, 1, buf, sizeof(buf));
	assert_string_equal(buf, "141.0");
	metric_format_value(93, 0, buf, sizeof(buf));
	assert_string_equal(buf, "93");
	metric_format_value(36.6, -1, buf, sizeof(buf));
	assert_string_equal(buf, "36.6");
	metric_format_value(1.5, 9, buf, sizeof(buf));
	assert_string_equal(buf, "1.500000");
}

/* The shared JSON formatter: values keep their precision, and only a
 * stand-in is printed as a number, never text that merely looks like one. */
static void
test_json_values(void **state)
{
	json_t *o = json_object();
	char *text;

	(void)state;
	json_object_set_new(o, "temp", metric_json_value(37.6, 2));
	json_object_set_new(o, "spo2", metric_json_value(86, 0));
	json_object_set_new(o, "bp", metric_json_value(2, 2));
	json_object_set_new(o, "big", metric_json_value(8.2158e29, 0));
	json_object_set_new(o, "neg", metric_json_value(-1234, 0));
	/* Text that holds an escaped quote and the control character itself. */
	json_object_set_new(o, "note", json_string("say \"\x1f" "12\" twice"));
	json_object_set_new(o, "s", json_string("\x1f" "x"));
	text = metric_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	assert_string_equal(text, "{\"temp\":37.60,\"spo2\":86,\"bp\":2.00,\"big\":8.2158e+29,"
	                          "\"neg\":-1234,\"note\":\"say \\\"\\u001F12\\\" twice\","
	                          "\"s\":\"\\u001Fx\"}");
	free(text);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_units),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_range_reasons),
		cmocka_unit_test(test_whole_values),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_convert_unknown),
		cmocka_unit_test(test_acvpu),
		cmocka_unit_test(test_flag_names),
		cmocka_unit_test(test_format_value),
		cmocka_unit_test(test_json_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
