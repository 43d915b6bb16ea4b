/*
 * test_news2.c: NEWS2 against the Royal College of Physicians' chart (2017): every band boundary (the
 * polaris-foundation/dhos-scoring-engine checks), both SpO2 scales on air
 * and on oxygen, rounding to each band's precision, the worked examples,
 * the hub's severity mapping and the refusal of incomplete sets.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "news2.h"

/* A set that scores 0 everywhere: rr 16, SpO2 97 on air, bp 120, pulse 60, A, 37.0. */
static struct news2_set
normal_set(void)
{
	struct news2_set s;

	memset(&s, 0, sizeof(s));
	news2_set_put(&s, METRIC_RESP_RATE, 16);
	news2_set_put(&s, METRIC_SPO2, 97);
	news2_set_put(&s, METRIC_ON_OXYGEN, 0);
	news2_set_put(&s, METRIC_BP_SYS, 120);
	news2_set_put(&s, METRIC_PULSE, 60);
	news2_set_put(&s, METRIC_CONSCIOUSNESS, 0);
	news2_set_put(&s, METRIC_TEMP, 37.0);
	return s;
}

/* One parameter's value and the score it must get, everything else normal. */
struct band_case {
	enum news2_param param;
	double value;
	enum news2_scale scale;
	double oxygen;     /* on_oxygen for the case */
	int score;
};

#define S1 NEWS2_SCALE1
#define S2 NEWS2_SCALE2

static const struct band_case band_cases[] = {
	/* resp_rate 8/9/11/12/20/21/24/25 -> 3/1/1/0/0/2/2/3 */
	{ NEWS2_RESP_RATE, 8, S1, 0, 3 }, { NEWS2_RESP_RATE, 9, S1, 0, 1 },
	{ NEWS2_RESP_RATE, 11, S1, 0, 1 }, { NEWS2_RESP_RATE, 12, S1, 0, 0 },
	{ NEWS2_RESP_RATE, 20, S1, 0, 0 }, { NEWS2_RESP_RATE, 21, S1, 0, 2 },
	{ NEWS2_RESP_RATE, 24, S1, 0, 2 }, { NEWS2_RESP_RATE, 25, S1, 0, 3 },
	{ NEWS2_RESP_RATE, 0, S1, 0, 3 }, { NEWS2_RESP_RATE, 60, S1, 0, 3 },
	/* pulse 40/41/50/51/90/91/110/111/130/131 -> 3/1/1/0/0/1/1/2/2/3 */
	{ NEWS2_PULSE, 40, S1, 0, 3 }, { NEWS2_PULSE, 41, S1, 0, 1 },
	{ NEWS2_PULSE, 50, S1, 0, 1 }, { NEWS2_PULSE, 51, S1, 0, 0 },
	{ NEWS2_PULSE, 90, S1, 0, 0 }, { NEWS2_PULSE, 91, S1, 0, 1 },
	{ NEWS2_PULSE, 110, S1, 0, 1 }, { NEWS2_PULSE, 111, S1, 0, 2 },
	{ NEWS2_PULSE, 130, S1, 0, 2 }, { NEWS2_PULSE, 131, S1, 0, 3 },
	/* bp_sys 90/91/100/101/110/111/219/220 -> 3/2/2/1/1/0/0/3 */
	{ NEWS2_BP_SYS, 90, S1, 0, 3 }, { NEWS2_BP_SYS, 91, S1, 0, 2 },
	{ NEWS2_BP_SYS, 100, S1, 0, 2 }, { NEWS2_BP_SYS, 101, S1, 0, 1 },
	{ NEWS2_BP_SYS, 110, S1, 0, 1 }, { NEWS2_BP_SYS, 111, S1, 0, 0 },
	{ NEWS2_BP_SYS, 219, S1, 0, 0 }, { NEWS2_BP_SYS, 220, S1, 0, 3 },
	/* temp 35.0/35.1/36.0/36.1/38.0/38.1/39.0/39.1 -> 3/1/1/0/0/1/1/2 */
	{ NEWS2_TEMP, 35.0, S1, 0, 3 }, { NEWS2_TEMP, 35.1, S1, 0, 1 },
	{ NEWS2_TEMP, 36.0, S1, 0, 1 }, { NEWS2_TEMP, 36.1, S1, 0, 0 },
	{ NEWS2_TEMP, 38.0, S1, 0, 0 }, { NEWS2_TEMP, 38.1, S1, 0, 1 },
	{ NEWS2_TEMP, 39.0, S1, 0, 1 }, { NEWS2_TEMP, 39.1, S1, 0, 2 },
	{ NEWS2_TEMP, 42.0, S1, 0, 2 }, { NEWS2_TEMP, 30.0, S1, 0, 3 },
	/* SpO2 scale 1, the same on air and on oxygen. */
	{ NEWS2_SPO2, 91, S1, 0, 3 }, { NEWS2_SPO2, 92, S1, 0, 2 }, { NEWS2_SPO2, 93, S1, 0, 2 },
	{ NEWS2_SPO2, 94, S1, 0, 1 }, { NEWS2_SPO2, 95, S1, 0, 1 }, { NEWS2_SPO2, 96, S1, 0, 0 },
	{ NEWS2_SPO2, 100, S1, 0, 0 },
	{ NEWS2_SPO2, 91, S1, 1, 3 }, { NEWS2_SPO2, 92, S1, 1, 2 }, { NEWS2_SPO2, 93, S1, 1, 2 },
	{ NEWS2_SPO2, 94, S1, 1, 1 }, { NEWS2_SPO2, 95, S1, 1, 1 }, { NEWS2_SPO2, 96, S1, 1, 0 },
	{ NEWS2_SPO2, 100, S1, 1, 0 },
	/* Scale 2: 83/84/85/86/87/88/92 -> 3/2/2/1/1/0/0 on air and on oxygen. */
	{ NEWS2_SPO2, 83, S2, 0, 3 }, { NEWS2_SPO2, 84, S2, 0, 2 }, { NEWS2_SPO2, 85, S2, 0, 2 },
	{ NEWS2_SPO2, 86, S2, 0, 1 }, { NEWS2_SPO2, 87, S2, 0, 1 }, { NEWS2_SPO2, 88, S2, 0, 0 },
	{ NEWS2_SPO2, 92, S2, 0, 0 },
	{ NEWS2_SPO2, 83, S2, 1, 3 }, { NEWS2_SPO2, 84, S2, 1, 2 }, { NEWS2_SPO2, 85, S2, 1, 2 },
	{ NEWS2_SPO2, 86, S2, 1, 1 }, { NEWS2_SPO2, 87, S2, 1, 1 }, { NEWS2_SPO2, 88, S2, 1, 0 },
	{ NEWS2_SPO2, 92, S2, 1, 0 },
	/* Scale 2 at 93 or more: 0 on air; 93/94/95/96/97 -> 1/1/2/2/3 on oxygen. */
	{ NEWS2_SPO2, 93, S2, 0, 0 }, { NEWS2_SPO2, 97, S2, 0, 0 }, { NEWS2_SPO2, 100, S2, 0, 0 },
	{ NEWS2_SPO2, 93, S2, 1, 1 }, { NEWS2_SPO2, 94, S2, 1, 1 }, { NEWS2_SPO2, 95, S2, 1, 2 },
	{ NEWS2_SPO2, 96, S2, 1, 2 }, { NEWS2_SPO2, 97, S2, 1, 3 }, { NEWS2_SPO2, 100, S2, 1, 3 },
	/* Air or oxygen. */
	{ NEWS2_ON_OXYGEN, 0, S1, 0, 0 }, { NEWS2_ON_OXYGEN, 1, S1, 1, 2 },
	/* ACVPU: A scores 0, C, V, P and U score 3. */
	{ NEWS2_CONSCIOUSNESS, 0, S1, 0, 0 }, { NEWS2_CONSCIOUSNESS, 1, S1, 0, 3 },
	{ NEWS2_CONSCIOUSNESS, 2, S1, 0, 3 }, { NEWS2_CONSCIOUSNESS, 3, S1, 0, 3 },
	{ NEWS2_CONSCIOUSNESS, 4, S1, 0, 3 },
	/* Rounding half up to the band's precision before banding. */
	{ NEWS2_TEMP, 35.05, S1, 0, 1 }, { NEWS2_TEMP, 35.04, S1, 0, 3 },
	{ NEWS2_TEMP, 36.05, S1, 0, 0 }, { NEWS2_TEMP, 36.04, S1, 0, 1 },
	{ NEWS2_TEMP, 38.05, S1, 0, 1 }, { NEWS2_TEMP, 38.04, S1, 0, 0 },
	{ NEWS2_TEMP, 39.05, S1, 0, 2 }, { NEWS2_TEMP, 39.04, S1, 0, 1 },
	{ NEWS2_RESP_RATE, 8.5, S1, 0, 1 }, { NEWS2_RESP_RATE, 8.49, S1, 0, 3 },
	{ NEWS2_RESP_RATE, 20.5, S1, 0, 2 }, { NEWS2_RESP_RATE, 24.5, S1, 0, 3 },
	{ NEWS2_PULSE, 90.5, S1, 0, 1 }, { NEWS2_PULSE, 90.4, S1, 0, 0 },
	{ NEWS2_PULSE, 40.5, S1, 0, 1 }, { NEWS2_PULSE, 130.5, S1, 0, 3 },
	{ NEWS2_BP_SYS, 110.5, S1, 0, 0 }, { NEWS2_BP_SYS, 90.5, S1, 0, 2 },
	{ NEWS2_BP_SYS, 219.5, S1, 0, 3 },
	{ NEWS2_SPO2, 95.5, S1, 0, 0 }, { NEWS2_SPO2, 91.5, S1, 0, 2 },
	{ NEWS2_SPO2, 87.5, S2, 0, 0 }, { NEWS2_SPO2, 92.5, S2, 1, 1 },
	{ NEWS2_SPO2, 96.5, S2, 1, 3 },
};

static void
test_bands(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(band_cases) / sizeof(band_cases[0]); i++) {
		const struct band_case *c = &band_cases[i];
		struct news2_set s = normal_set();
		struct news2_result r;
		int rc, others = 0;

		news2_set_put(&s, METRIC_ON_OXYGEN, c->oxygen);
		news2_set_put(&s, news2_param_metric(c->param), c->value);
		rc = news2_score(&s, c->scale, &r);
		if (rc != DHO_OK)
			fail_msg("case %zu: %s %g gave %d", i, metric_name(news2_param_metric(c->param)),
			         c->value, rc);
		if (r.score[c->param] != c->score)
			fail_msg("case %zu: %s %g (scale %d, %s) scores %d, want %d", i,
			         metric_name(news2_param_metric(c->param)), c->value, (int)c->scale,
			         c->oxygen ? "oxygen" : "air", r.score[c->param], c->score);
		/* Everything else is normal, so the total is this score (plus oxygen). */
		if (c->param != NEWS2_ON_OXYGEN && c->oxygen == 1)
			others = 2;
		if (c->param != NEWS2_SPO2 && c->param != NEWS2_ON_OXYGEN)
			assert_int_equal(r.total, c->score + others);
	}
}

struct rounding_case {
	enum news2_param param;
	double value;
	double rounded;
};

static const struct rounding_case rounding_cases[] = {
	{ NEWS2_TEMP, 35.05, 35.1 }, { NEWS2_TEMP, 35.04, 35.0 }, { NEWS2_TEMP, 37.25, 37.3 },
	{ NEWS2_TEMP, 36.95, 37.0 }, { NEWS2_RESP_RATE, 11.5, 12 }, { NEWS2_RESP_RATE, 11.4, 11 },
	{ NEWS2_PULSE, 50.5, 51 }, { NEWS2_SPO2, 93.5, 94 }, { NEWS2_BP_SYS, 100.49, 100 },
};

static void
test_rounded_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rounding_cases) / sizeof(rounding_cases[0]); i++) {
		const struct rounding_case *c = &rounding_cases[i];
		struct news2_set s = normal_set();
		struct news2_result r;

		news2_set_put(&s, news2_param_metric(c->param), c->value);
		assert_int_equal(news2_score(&s, NEWS2_SCALE1, &r), DHO_OK);
		if (fabs(r.rounded[c->param] - c->rounded) > 1e-9)
			fail_msg("case %zu: %g rounds to %g, want %g", i, c->value, r.rounded[c->param],
			         c->rounded);
	}
}

/* The worked examples of news2.md, and a few to cover each risk band. */
struct example_case {
	double rr, spo2, oxygen, bp, pulse, acvpu, temp;
	enum news2_scale scale;
	int total;
	bool single_three;
	enum news2_risk risk;
	enum rules_severity sev;
	const char *reason;   /* NULL: not checked */
};

static const struct example_case example_cases[] = {
	{ 16, 97, 0, 120, 60, 0, 37.0, S1, 0, false, NEWS2_RISK_LOW, RULES_NONE,
	  "NEWS2 total 0 (low): every parameter scores 0" },
	{ 11, 95, 0, 110, 91, 0, 37.0, S1, 4, false, NEWS2_RISK_LOW, RULES_NONE,
	  "NEWS2 total 4 (low): resp_rate 11 /min scores 1, spo2 95 % on scale 1 scores 1, "
	  "bp_sys 110 mmHg scores 1, pulse 91 /min scores 1" },
	{ 25, 97, 0, 120, 60, 0, 37.0, S1, 3, true, NEWS2_RISK_LOW_MEDIUM, RULES_YELLOW,
	  "NEWS2 total 3 (low-medium): resp_rate 25 /min scores 3" },
	{ 9, 86, 1, 105, 100, 0, 38.5, S2, 7, false, NEWS2_RISK_HIGH, RULES_RED,
	  "NEWS2 total 7 (high): resp_rate 9 /min scores 1, spo2 86 % on scale 2 scores 1, "
	  "on oxygen scores 2, bp_sys 105 mmHg scores 1, pulse 100 /min scores 1, "
	  "temp 38.5 \u00b0C scores 1" },
	/* A single 3 within a total of 5-6 is medium, red. */
	{ 25, 97, 0, 120, 91, 0, 38.1, S1, 5, true, NEWS2_RISK_MEDIUM, RULES_RED, NULL },
	{ 22, 94, 0, 105, 60, 0, 37.0, S1, 4, false, NEWS2_RISK_LOW, RULES_NONE, NULL },
	{ 22, 94, 0, 105, 95, 0, 37.0, S1, 5, false, NEWS2_RISK_MEDIUM, RULES_RED, NULL },
	{ 22, 94, 0, 105, 115, 0, 37.0, S1, 6, false, NEWS2_RISK_MEDIUM, RULES_RED, NULL },
	/* Oxygen alone scores 2 and never counts as a single 3. */
	{ 16, 97, 1, 120, 60, 0, 37.0, S1, 2, false, NEWS2_RISK_LOW, RULES_NONE,
	  "NEWS2 total 2 (low): on oxygen scores 2" },
	/* Consciousness other than A: a single 3. */
	{ 16, 97, 0, 120, 60, 2, 37.0, S1, 3, true, NEWS2_RISK_LOW_MEDIUM, RULES_YELLOW,
	  "NEWS2 total 3 (low-medium): consciousness V scores 3" },
	/* Scale 2 on oxygen at a high saturation scores, on air it does not. */
	{ 16, 97, 1, 120, 60, 0, 37.0, S2, 5, true, NEWS2_RISK_MEDIUM, RULES_RED, NULL },
	{ 16, 97, 0, 120, 60, 0, 37.0, S2, 0, false, NEWS2_RISK_LOW, RULES_NONE, NULL },
	{ 8, 85, 1, 90, 131, 3, 34.0, S1, 20, true, NEWS2_RISK_HIGH, RULES_RED, NULL },
};

static void
test_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(example_cases) / sizeof(example_cases[0]); i++) {
		const struct example_case *c = &example_cases[i];
		struct news2_set s;
		struct news2_result r;

		memset(&s, 0, sizeof(s));
		news2_set_put(&s, METRIC_RESP_RATE, c->rr);
		news2_set_put(&s, METRIC_SPO2, c->spo2);
		news2_set_put(&s, METRIC_ON_OXYGEN, c->oxygen);
		news2_set_put(&s, METRIC_BP_SYS, c->bp);
		news2_set_put(&s, METRIC_PULSE, c->pulse);
		news2_set_put(&s, METRIC_CONSCIOUSNESS, c->acvpu);
		news2_set_put(&s, METRIC_TEMP, c->temp);
		assert_int_equal(news2_score(&s, c->scale, &r), DHO_OK);
		if (r.total != c->total || r.risk != c->risk || r.severity != c->sev ||
		    r.single_three != c->single_three)
			fail_msg("case %zu: total %d %s %s single3 %d, want %d %s %s %d", i, r.total,
			         news2_risk_name(r.risk), rules_severity_name(r.severity), r.single_three,
			         c->total, news2_risk_name(c->risk), rules_severity_name(c->sev),
			         c->single_three);
		if (c->reason != NULL && strcmp(r.reason, c->reason) != 0)
			fail_msg("case %zu:\n  got  '%s'\n  want '%s'", i, r.reason, c->reason);
	}
}

static void
test_incomplete(void **state)
{
	static const char *const want[NEWS2_NPARAMS] = {
		"NEWS2 not scored: no resp_rate", "NEWS2 not scored: no spo2",
		"NEWS2 not scored: no on_oxygen", "NEWS2 not scored: no bp_sys",
		"NEWS2 not scored: no pulse", "NEWS2 not scored: no consciousness",
		"NEWS2 not scored: no temp",
	};
	struct news2_set s;
	struct news2_result r;

	(void)state;
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		s = normal_set();
		s.present[p] = false;
		assert_int_equal(news2_score(&s, NEWS2_SCALE1, &r), DHO_ENOTFOUND);
		assert_int_equal(r.total, 0);
		assert_int_equal(r.severity, RULES_NONE);
		assert_string_equal(r.reason, want[p]);
	}
	memset(&s, 0, sizeof(s));
	news2_set_put(&s, METRIC_SPO2, 85);
	news2_set_put(&s, METRIC_PULSE, 140);
	assert_int_equal(news2_score(&s, NEWS2_SCALE1, &r), DHO_ENOTFOUND);
	assert_string_equal(r.reason,
	                    "NEWS2 not scored: no resp_rate, on_oxygen, bp_sys, consciousness, temp");
}

struct range_case {
	enum metric metric;
	double value;
};

static const struct range_case range_cases[] = {
	{ METRIC_ON_OXYGEN, 0.5 }, { METRIC_ON_OXYGEN, 2 }, { METRIC_CONSCIOUSNESS, 5 },
	{ METRIC_CONSCIOUSNESS, 1.5 }, { METRIC_CONSCIOUSNESS, -1 }, { METRIC_SPO2, NAN },
	{ METRIC_SPO2, 101 }, { METRIC_TEMP, INFINITY }, { METRIC_TEMP, 50 },
	{ METRIC_RESP_RATE, -1 }, { METRIC_PULSE, 400 }, { METRIC_BP_SYS, 500 },
};

static void
test_out_of_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
		struct news2_set s = normal_set();
		struct news2_result r;

		news2_set_put(&s, range_cases[i].metric, range_cases[i].value);
		if (news2_score(&s, NEWS2_SCALE1, &r) != DHO_ERANGE)
			fail_msg("case %zu: %s %g was scored", i, metric_name(range_cases[i].metric),
			         range_cases[i].value);
	}
}

static void
test_api(void **state)
{
	struct news2_set s = normal_set();
	struct news2_result r;
	enum news2_param p;

	(void)state;
	assert_int_equal(news2_score(&s, (enum news2_scale)3, &r), DHO_EINVAL);
	assert_int_equal(news2_set_put(&s, METRIC_BP_DIA, 80), DHO_ENOTFOUND);
	assert_int_equal(news2_set_put(&s, METRIC_WEIGHT, 80), DHO_ENOTFOUND);
	assert_int_equal(news2_param_of(METRIC_TEMP, &p), DHO_OK);
	assert_int_equal(p, NEWS2_TEMP);
	assert_int_equal(news2_param_of(METRIC_GLUCOSE, &p), DHO_ENOTFOUND);
	for (int i = 0; i < NEWS2_NPARAMS; i++) {
		assert_int_equal(news2_param_of(news2_param_metric((enum news2_param)i), &p), DHO_OK);
		assert_int_equal(p, i);
	}
	assert_string_equal(news2_risk_name(NEWS2_RISK_LOW), "low");
	assert_string_equal(news2_risk_name(NEWS2_RISK_LOW_MEDIUM), "low-medium");
	assert_string_equal(news2_risk_name(NEWS2_RISK_MEDIUM), "medium");
	assert_string_equal(news2_risk_name(NEWS2_RISK_HIGH), "high");
	/* The rule's scale number is the enum's value. */
	assert_int_equal(NEWS2_SCALE1, 1);
	assert_int_equal(NEWS2_SCALE2, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bands),
		cmocka_unit_test(test_rounded_values),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
