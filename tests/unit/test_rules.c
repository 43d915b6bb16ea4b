/*
 * test_rules.c: the rule grammar (valid specs and their normalized form,
 * every error with its position) and the evaluation of threshold, trend,
 * baseline and missing rules at and around each limit.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

#define H 3600
#define D 86400
/* Some reading time; any will do. */
#define T ((dho_time_t)1795000000)

static struct rule *
parse_ok(const char *key, const char *spec)
{
	struct rule *r = NULL;
	char err[DHO_ERRLEN] = "";

	if (rules_parse(key, spec, &r, err, sizeof(err)) != DHO_OK)
		fail_msg("%s = '%s' was refused: %s", key, spec, err);
	return r;
}

/* ---- valid specs ---- */

struct valid_case {
	const char *key;
	const char *spec;
	const char *normalized;
	enum rule_kind kind;
	int64_t window;
};

static const struct valid_case valid_cases[] = {
	{ "threshold.spo2", "red<88 yellow<92", "red<88 yellow<92", RULE_THRESHOLD, 0 },
	{ "threshold.spo2", "yellow<92 red<88", "red<88 yellow<92", RULE_THRESHOLD, 0 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90",
	  "red<90 yellow<100 yellow>140 red>160", RULE_THRESHOLD, 0 },
	{ "threshold.pulse", "  yellow <= 50,  red < 40 ", "red<40 yellow<=50", RULE_THRESHOLD, 0 },
	{ "threshold.temp", "yellow>=38.0 red>=39.5", "yellow>=38.0 red>=39.5", RULE_THRESHOLD, 0 },
	{ "threshold.spo2", "red<088", "red<88", RULE_THRESHOLD, 0 },
	{ "threshold.spo2", "red<88 yellow<=88", "red<88 yellow<=88", RULE_THRESHOLD, 0 },
	{ "threshold.cat_score", "yellow>=10", "yellow>=10", RULE_THRESHOLD, 0 },
	{ "threshold.spo2", "yellow<90 yellow>90", "yellow<90 yellow>90", RULE_THRESHOLD, 0 },
	{ "trend.weight", "yellow:+2/3d", "yellow:+2/3d", RULE_TREND, 3 * D },
	{ "trend.weight", "red:+3.0/72h yellow:+2/2d yellow:-2/3d",
	  "yellow:-2/3d yellow:+2/2d red:+3.0/3d", RULE_TREND, 3 * D },
	{ "trend.weight", "yellow : + 2 / 3d", "yellow:+2/3d", RULE_TREND, 3 * D },
	{ "trend.weight", "yellow:+2/3d yellow:+2/2d", "yellow:+2/2d yellow:+2/3d", RULE_TREND,
	  3 * D },
	{ "trend.spo2", "red:-4/90m", "red:-4/90m", RULE_TREND, 90 * 60 },
	{ "baseline.spo2", "yellow:-4 red:-8", "red:-8 yellow:-4 over 7d min 5", RULE_BASELINE,
	  7 * D },
	{ "baseline.spo2", "yellow:-4 min 3 over 14d", "yellow:-4 over 14d min 3", RULE_BASELINE,
	  14 * D },
	{ "baseline.weight", "yellow:+2 red:+3.5 over 336h", "yellow:+2 red:+3.5 over 14d min 5",
	  RULE_BASELINE, 14 * D },
	{ "missing.spo2", "26h", "26h", RULE_MISSING, 26 * H },
	{ "missing.any", "1d red:48h", "1d red:2d", RULE_MISSING, 2 * D },
	{ "missing.weight", " 36h  red:3d ", "36h red:3d", RULE_MISSING, 3 * D },
	{ "news2", "scale2", "scale2 window 1h", RULE_NEWS2, H },
	{ "news2", "window 15m scale1", "scale1 window 15m", RULE_NEWS2, 15 * 60 },
	{ "news2", "off", "off", RULE_NEWS2, 0 },
};

static void
test_valid_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		struct rule *r = parse_ok(c->key, c->spec), *again;

		if (strcmp(rules_spec(r), c->normalized) != 0)
			fail_msg("%s = '%s': normalized '%s', want '%s'", c->key, c->spec, rules_spec(r),
			         c->normalized);
		assert_string_equal(rules_key(r), c->key);
		assert_int_equal(rules_kind(r), c->kind);
		if (rules_window(r) != c->window)
			fail_msg("%s = '%s': window %lld, want %lld", c->key, c->spec,
			         (long long)rules_window(r), (long long)c->window);
		/* The normalized spec parses to itself. */
		again = parse_ok(c->key, rules_spec(r));
		assert_string_equal(rules_spec(again), c->normalized);
		rules_free(again);
		rules_free(r);
	}
}

static void
test_accessors(void **state)
{
	struct rule *r;
	enum metric m;
	int64_t y, red;
	int scale;

	(void)state;
	r = parse_ok("threshold.bp_sys", "red>160");
	assert_int_equal(rules_metric(r, &m), DHO_OK);
	assert_int_equal(m, METRIC_BP_SYS);
	assert_int_equal(rules_missing_deadlines(r, &y, &red), DHO_EINVAL);
	assert_int_equal(rules_news2_scale(r, &scale), DHO_EINVAL);
	rules_free(r);

	r = parse_ok("missing.any", "26h red:2d");
	assert_int_equal(rules_metric(r, &m), DHO_ENOTFOUND);
	assert_int_equal(rules_missing_deadlines(r, &y, &red), DHO_OK);
	assert_int_equal(y, 26 * H);
	assert_int_equal(red, 2 * D);
	rules_free(r);

	r = parse_ok("missing.spo2", "26h");
	assert_int_equal(rules_metric(r, &m), DHO_OK);
	assert_int_equal(m, METRIC_SPO2);
	assert_int_equal(rules_missing_deadlines(r, &y, &red), DHO_OK);
	assert_int_equal(y, 26 * H);
	assert_int_equal(red, 0);
	rules_free(r);

	r = parse_ok("news2", "scale2 window 30m");
	assert_int_equal(rules_metric(r, &m), DHO_ENOTFOUND);
	assert_int_equal(rules_news2_scale(r, &scale), DHO_OK);
	assert_int_equal(scale, 2);
	assert_int_equal(rules_window(r), 30 * 60);
	rules_free(r);

	r = parse_ok("news2", "off");
	assert_int_equal(rules_news2_scale(r, &scale), DHO_ENOTFOUND);
	assert_int_equal(scale, 0);
	rules_free(r);

	assert_string_equal(rules_severity_name(RULES_NONE), "none");
	assert_string_equal(rules_severity_name(RULES_YELLOW), "yellow");
	assert_string_equal(rules_severity_name(RULES_RED), "red");
	assert_string_equal(rules_kind_name(RULE_BASELINE), "baseline");
}

/* ---- errors ---- */

struct error_case {
	const char *key;
	const char *spec;
	const char *message;
};

static const struct error_case error_cases[] = {
	/* threshold */
	{ "threshold.spo2", "", "position 1: expected at least one term such as red<88" },
	{ "threshold.spo2", "red<", "position 5: expected a number after 'red<'" },
	{ "threshold.spo2", "red<88 yellow<", "position 15: expected a number after 'yellow<'" },
	{ "threshold.spo2", "red<=x", "position 6: expected a number after 'red<='" },
	{ "threshold.spo2", "red<-5", "position 5: expected a number after 'red<'" },
	{ "threshold.spo2", "red 88", "position 5: expected '<', '<=', '>' or '>=' after 'red'" },
	{ "threshold.spo2", "red=88", "position 4: expected '<', '<=', '>' or '>=' after 'red'" },
	{ "threshold.spo2", "orange<88", "position 1: expected 'red' or 'yellow'" },
	{ "threshold.spo2", "red<88 RED<85",
	  "position 8: expected 'red' or 'yellow' (keywords are lower case)" },
	{ "threshold.spo2", "red<88%",
	  "position 7: unexpected '%' after 'red<88'; terms are separated by spaces" },
	{ "threshold.spo2", "red<88yellow<92",
	  "position 7: unexpected 'y' after 'red<88'; terms are separated by spaces" },
	{ "threshold.spo2", "red<88.", "position 8: expected a digit after the point" },
	{ "threshold.spo2", "red<8.1234567", "position 5: the number has more than 6 decimals" },
	{ "threshold.spo2", "red<1234567890",
	  "position 5: the number has more than 9 digits before the point" },
	{ "threshold.spo2", "red<1e3",
	  "position 6: unexpected 'e' after 'red<1'; terms are separated by spaces" },
	{ "threshold.spo2", ", red<88", "position 1: unexpected ',' before the first term" },
	{ "threshold.spo2", "red<88,", "position 8: expected a term after ','" },
	{ "threshold.spo2", "red<88 red<=85",
	  "position 8: a second red limit below (red< already given)" },
	{ "threshold.spo2", "red<95 yellow<92",
	  "position 8: this yellow term can never fire: the red term at position 1 covers "
	  "every value it meets" },
	{ "threshold.bp_sys", "yellow>=160 red>=160",
	  "position 1: this yellow term can never fire: the red term at position 13 covers "
	  "every value it meets" },
	{ "threshold.spo2", "yellow<100 yellow>90",
	  "position 12: no value would be normal: the limits below and above overlap" },
	{ "threshold.spo2", "yellow<=90 yellow>90",
	  "position 12: no value would be normal: the limits below and above overlap" },
	/* trend */
	{ "trend.weight", "", "position 1: expected at least one term such as yellow:+2/3d" },
	{ "trend.weight", "yellow+2/3d", "position 7: expected ':' after 'yellow'" },
	{ "trend.weight", "yellow:2/3d",
	  "position 8: expected '+' (a rise) or '-' (a fall) after 'yellow:'" },
	{ "trend.weight", "yellow:+/3d", "position 9: expected a number after 'yellow:+'" },
	{ "trend.weight", "yellow:+2", "position 10: expected '/' and a duration after 'yellow:+2'" },
	{ "trend.weight", "yellow:+2/", "position 11: expected a duration such as 15m, 26h or 3d "
	  "after 'yellow:+2/'" },
	{ "trend.weight", "yellow:+2/3", "position 12: a duration needs a unit: s, m, h or d (as in 3d)" },
	{ "trend.weight", "yellow:+2/3w", "position 12: a duration needs a unit: s, m, h or d (as in 3d)" },
	{ "trend.weight", "yellow:+2/0d",
	  "position 11: a duration must be more than 0 and at most 3650 days" },
	{ "trend.weight", "yellow:+2/3651d",
	  "position 11: a duration must be more than 0 and at most 3650 days" },
	{ "trend.weight", "yellow:+2/3days",
	  "position 13: unexpected 'a' after 'yellow:+2/3d'; terms are separated by spaces" },
	{ "trend.weight", "yellow:+2/3d yellow:+1/72h",
	  "position 14: a second yellow rise term with the same duration" },
	{ "trend.weight", "yellow:+3/3d red:+2/3d",
	  "position 1: this yellow term can never fire: the red term at position 14 has a limit "
	  "no larger" },
	/* baseline */
	{ "baseline.spo2", "over 7d", "position 8: expected at least one term such as yellow:-4" },
	{ "baseline.spo2", "yellow:-4 over",
	  "position 15: expected a duration such as 15m, 26h or 3d after 'over'" },
	{ "baseline.spo2", "yellow:-4 over 7", "position 17: a duration needs a unit: s, m, h or d "
	  "(as in 3d)" },
	{ "baseline.spo2", "yellow:-4 min 0", "position 15: 'min' takes a number from 1 to 512" },
	{ "baseline.spo2", "yellow:-4 min 513", "position 15: 'min' takes a number from 1 to 512" },
	{ "baseline.spo2", "yellow:-4 min 2.5", "position 15: 'min' takes a whole number" },
	{ "baseline.spo2", "yellow:-4 min", "position 14: expected a whole number after 'min'" },
	{ "baseline.spo2", "yellow:-4 over 7d over 3d", "position 19: 'over' is given twice" },
	{ "baseline.spo2", "yellow:-4 min 3 min 4", "position 17: 'min' is given twice" },
	{ "baseline.spo2", "yellow:-4/3d",
	  "position 10: unexpected '/' after 'yellow:-4'; terms are separated by spaces" },
	{ "baseline.spo2", "yellow:-4 under 7d",
	  "position 11: expected 'red', 'yellow', 'over' or 'min'" },
	{ "baseline.spo2", "yellow:-4 yellow:-5", "position 11: a second yellow fall term" },
	{ "baseline.spo2", "red:-4 yellow:-4",
	  "position 8: this yellow term can never fire: the red term at position 1 has a limit "
	  "no larger" },
	/* missing */
	{ "missing.spo2", "", "position 1: expected a duration such as 26h" },
	{ "missing.spo2", "red:26h", "position 1: expected a duration such as 26h" },
	{ "missing.spo2", "26", "position 3: a duration needs a unit: s, m, h or d (as in 3d)" },
	{ "missing.spo2", "26h red:12h", "position 5: the red deadline must be later than the "
	  "yellow one" },
	{ "missing.spo2", "26h red:26h", "position 5: the red deadline must be later than the "
	  "yellow one" },
	{ "missing.spo2", "26h yellow:48h", "position 5: expected 'red:' and a later duration" },
	{ "missing.spo2", "26h red48h", "position 5: expected 'red:' and a later duration" },
	{ "missing.spo2", "26h red 48h", "position 9: expected ':' after 'red'" },
	{ "missing.spo2", "26h red:48h red:50h",
	  "position 13: unexpected 'r': a missing rule is 'D' or 'D red:D2'" },
	/* news2 */
	{ "news2", "", "position 1: expected 'off', 'scale1' or 'scale2'" },
	{ "news2", "window 15m", "position 11: expected 'off', 'scale1' or 'scale2'" },
	{ "news2", "scale3", "position 1: expected 'off', 'scale1', 'scale2' or 'window'" },
	{ "news2", "Scale1",
	  "position 1: expected 'off', 'scale1', 'scale2' or 'window' (keywords are lower case)" },
	{ "news2", "off window 15m", "position 5: 'off' takes no window" },
	{ "news2", "scale1 scale2", "position 8: only one of 'off', 'scale1' and 'scale2'" },
	{ "news2", "scale1 window",
	  "position 14: expected a duration such as 15m, 26h or 3d after 'window'" },
	{ "news2", "scale1 window 15m window 1h", "position 19: 'window' is given twice" },
	/* keys */
	{ "threshold.spo3", "red<88", "unknown metric 'spo3' in the rule key 'threshold.spo3'" },
	{ "threshold.", "red<88", "unknown metric '' in the rule key 'threshold.'" },
	{ "limit.spo2", "red<88", "unknown rule key 'limit.spo2': expected threshold.M, trend.M, "
	  "baseline.M, missing.M, missing.any or news2" },
	{ "news2.spo2", "scale1", "unknown rule key 'news2.spo2': expected threshold.M, trend.M, "
	  "baseline.M, missing.M, missing.any or news2" },
	{ "Threshold.spo2", "red<88", "unknown rule key 'Threshold.spo2': expected threshold.M, "
	  "trend.M, baseline.M, missing.M, missing.any or news2" },
	{ "", "red<88", "no rule key" },
};

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct rule *r = (struct rule *)&r;   /* must come back NULL */
		char err[DHO_ERRLEN] = "";
		int rc = rules_parse(c->key, c->spec, &r, err, sizeof(err));

		if (rc != DHO_EINVAL)
			fail_msg("%s = '%s' gave %d, want DHO_EINVAL", c->key, c->spec, rc);
		assert_null(r);
		if (strcmp(err, c->message) != 0)
			fail_msg("%s = '%s':\n  got  '%s'\n  want '%s'", c->key, c->spec, err, c->message);
	}
}

static void
test_too_long(void **state)
{
	char spec[RULES_SPEC_MAX + 8], err[DHO_ERRLEN];
	struct rule *r = NULL;

	(void)state;
	memset(spec, ' ', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	memcpy(spec, "red<88", 6);
	assert_int_equal(rules_parse("threshold.spo2", spec, &r, err, sizeof(err)), DHO_EINVAL);
	assert_null(r);
	assert_string_equal(err, "the spec is longer than 255 characters");
	assert_int_equal(rules_parse("threshold.spo2", NULL, &r, err, sizeof(err)), DHO_EINVAL);
	/* A NULL error buffer is allowed. */
	assert_int_equal(rules_parse("threshold.spo2", "red<", &r, NULL, 0), DHO_EINVAL);
}

struct line_case {
	const char *line;
	int rc;
	const char *key;     /* on success */
	const char *spec;    /* normalized, on success; the message otherwise */
};

static const struct line_case line_cases[] = {
	{ "threshold.spo2 = red<88 yellow<92", DHO_OK, "threshold.spo2", "red<88 yellow<92" },
	{ "threshold.spo2=red<=88", DHO_OK, "threshold.spo2", "red<=88" },
	{ "  missing.any =26h", DHO_OK, "missing.any", "26h" },
	{ "news2 = scale1 window 15m", DHO_OK, "news2", "scale1 window 15m" },
	{ "threshold.spo2 = red<", DHO_EINVAL, NULL,
	  "position 22: expected a number after 'red<'" },
	{ "threshold.spo2 = red<88 yellow<x", DHO_EINVAL, NULL,
	  "position 32: expected a number after 'yellow<'" },
	{ "threshold.spo2 red<88", DHO_EINVAL, NULL,
	  "position 16: expected '=' after the key 'threshold.spo2' (KEY = SPEC)" },
	{ "threshold.spo2", DHO_EINVAL, NULL,
	  "position 15: expected '=' after the key 'threshold.spo2' (KEY = SPEC)" },
	{ "= red<88", DHO_EINVAL, NULL, "position 1: expected a rule key such as threshold.spo2" },
	{ "", DHO_EINVAL, NULL, "position 1: expected a rule key such as threshold.spo2" },
	{ "trend.spo3 = red:-4/1d", DHO_EINVAL, NULL,
	  "unknown metric 'spo3' in the rule key 'trend.spo3'" },
	{ "threshold.spo2 =", DHO_EINVAL, NULL,
	  "position 17: expected at least one term such as red<88" },
};

static void
test_parse_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		struct rule *r = NULL;
		char err[DHO_ERRLEN] = "";
		int rc = rules_parse_line(c->line, &r, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("'%s' gave %d (%s), want %d", c->line, rc, err, c->rc);
		if (rc == DHO_OK) {
			assert_string_equal(rules_key(r), c->key);
			assert_string_equal(rules_spec(r), c->spec);
			rules_free(r);
		} else {
			assert_null(r);
			if (strcmp(err, c->spec) != 0)
				fail_msg("'%s':\n  got  '%s'\n  want '%s'", c->line, err, c->spec);
		}
	}
}

/* ---- threshold ---- */

struct threshold_case {
	const char *key;
	const char *spec;
	double value;
	enum rules_severity sev;
	const char *reason;   /* NULL: not checked */
	double limit;
};

static const struct threshold_case threshold_cases[] = {
	{ "threshold.spo2", "red<88 yellow<92", 86, RULES_RED,
	  "spo2 86 % is below the red limit 88 %", 88 },
	{ "threshold.spo2", "red<88 yellow<92", 87.9, RULES_RED, "spo2 87.9 % is below the red limit 88 %", 88 },
	{ "threshold.spo2", "red<88 yellow<92", 88, RULES_YELLOW,
	  "spo2 88 % is below the yellow limit 92 %", 92 },
	{ "threshold.spo2", "red<88 yellow<92", 91.9, RULES_YELLOW, NULL, 92 },
	{ "threshold.spo2", "red<88 yellow<92", 92, RULES_NONE, "", 0 },
	{ "threshold.spo2", "red<88 yellow<92", 100, RULES_NONE, "", 0 },
	{ "threshold.spo2", "red<=88 yellow<=92", 88, RULES_RED,
	  "spo2 88 % is at or below the red limit 88 %", 88 },
	{ "threshold.spo2", "red<=88 yellow<=92", 88.1, RULES_YELLOW, NULL, 92 },
	{ "threshold.spo2", "red<=88 yellow<=92", 92, RULES_YELLOW,
	  "spo2 92 % is at or below the yellow limit 92 %", 92 },
	{ "threshold.spo2", "red<=88 yellow<=92", 92.1, RULES_NONE, "", 0 },
	/* Both directions: the highest severity met wins. */
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 161, RULES_RED,
	  "bp_sys 161 mmHg is above the red limit 160 mmHg", 160 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 160, RULES_YELLOW,
	  "bp_sys 160 mmHg is above the yellow limit 140 mmHg", 140 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 141, RULES_YELLOW, NULL, 140 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 140, RULES_NONE, "", 0 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 100, RULES_NONE, "", 0 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 99, RULES_YELLOW, NULL, 100 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 90, RULES_YELLOW, NULL, 100 },
	{ "threshold.bp_sys", "red>160 yellow>140 yellow<100 red<90", 89, RULES_RED,
	  "bp_sys 89 mmHg is below the red limit 90 mmHg", 90 },
	{ "threshold.temp", "yellow>=38.0 red>=39.5", 37.9, RULES_NONE, "", 0 },
	{ "threshold.temp", "yellow>=38.0 red>=39.5", 38, RULES_YELLOW,
	  "temp 38.0 \u00b0C is at or above the yellow limit 38.0 \u00b0C", 38 },
	{ "threshold.temp", "yellow>=38.0 red>=39.5", 39.45, RULES_YELLOW,
	  "temp 39.45 \u00b0C is at or above the yellow limit 38.0 \u00b0C", 38 },
	{ "threshold.temp", "yellow>=38.0 red>=39.5", 39.5, RULES_RED, NULL, 39.5 },
	{ "threshold.pulse", "yellow<50 yellow>100", 45, RULES_YELLOW,
	  "pulse 45 /min is below the yellow limit 50 /min", 50 },
	{ "threshold.cat_score", "yellow>=10", 12, RULES_YELLOW,
	  "cat_score 12 is at or above the yellow limit 10", 10 },
	{ "threshold.consciousness", "red>0", 2, RULES_RED,
	  "consciousness V is above the red limit A", 0 },
};

static void
test_threshold(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(threshold_cases) / sizeof(threshold_cases[0]); i++) {
		const struct threshold_case *c = &threshold_cases[i];
		struct rule *r = parse_ok(c->key, c->spec);
		struct rules_finding f;

		assert_int_equal(rules_check_threshold(r, c->value, &f), DHO_OK);
		if (f.severity != c->sev)
			fail_msg("%s '%s' at %g: %s, want %s", c->key, c->spec, c->value,
			         rules_severity_name(f.severity), rules_severity_name(c->sev));
		if (c->reason != NULL && strcmp(f.reason, c->reason) != 0)
			fail_msg("%s '%s' at %g:\n  got  '%s'\n  want '%s'", c->key, c->spec, c->value,
			         f.reason, c->reason);
		if (c->sev != RULES_NONE) {
			assert_true(f.limit == c->limit);
			assert_true(f.observed == c->value);
		}
		rules_free(r);
	}
}

static void
test_wrong_kind(void **state)
{
	struct rule *trend = parse_ok("trend.weight", "yellow:+2/3d");
	struct rule *thr = parse_ok("threshold.spo2", "red<88");
	struct rules_finding f;
	struct rules_sample s[1] = { { 80, 900 } };
	char buf[RULES_REASON_MAX];

	(void)state;
	assert_int_equal(rules_check_threshold(trend, 80, &f), DHO_EINVAL);
	assert_int_equal(rules_check_trend(thr, 80, 1000, s, 1, &f), DHO_EINVAL);
	assert_int_equal(rules_check_baseline(thr, 80, s, 1, &f), DHO_EINVAL);
	assert_int_equal(rules_check_missing(thr, 100, &f), DHO_EINVAL);
	assert_int_equal(rules_missing_reason(thr, 100, RULES_YELLOW, buf, sizeof(buf)), DHO_EINVAL);
	assert_int_equal(rules_check_threshold(thr, NAN, &f), DHO_EINVAL);
	assert_int_equal(rules_check_threshold(thr, INFINITY, &f), DHO_EINVAL);
	rules_free(trend);
	rules_free(thr);
}

/* ---- trend ---- */

struct trend_case {
	const char *spec;
	double value;
	struct rules_sample earlier[4];
	size_t n;
	int rc;
	enum rules_severity sev;
	const char *reason;   /* NULL: not checked */
	int64_t span;
};

static const struct trend_case trend_cases[] = {
	/* A weight gain of 2.1 kg in 3 days and its reason text. */
	{ "yellow:+2.0/3d red:+3.0/3d", 82.1, { { 80.0, T - 3 * D }, { 81.0, T - D } }, 2, DHO_OK,
	  RULES_YELLOW, "weight rose 2.1 kg in 3 days, above the yellow limit 2.0 kg", 3 * D },
	/* Exactly at the limit does not fire, also where binary arithmetic is inexact. */
	{ "yellow:+2.0/3d", 82.0, { { 80.0, T - D } }, 1, DHO_OK, RULES_NONE, "", -1 },
	{ "yellow:+2.0/3d", 82.1, { { 80.1, T - D } }, 1, DHO_OK, RULES_NONE, "", -1 },
	{ "yellow:+2.0/3d", 82.3, { { 80.3, T - D } }, 1, DHO_OK, RULES_NONE, "", -1 },
	{ "yellow:+2.0/3d", 82.01, { { 80.0, T - D } }, 1, DHO_OK, RULES_YELLOW,
	  "weight rose 2.01 kg in 24 hours, above the yellow limit 2.0 kg", D },
	{ "yellow:+2.0/3d red:+3.0/3d", 83.0, { { 80.0, T - D } }, 1, DHO_OK, RULES_YELLOW, NULL, D },
	{ "yellow:+2.0/3d red:+3.0/3d", 83.5, { { 80.0, T - D } }, 1, DHO_OK, RULES_RED,
	  "weight rose 3.5 kg in 24 hours, above the red limit 3.0 kg", D },
	/* The lowest earlier reading counts, not the first. */
	{ "yellow:+2/3d", 82.5, { { 81.0, T - 2 * D }, { 80.0, T - 36 * H }, { 82.0, T - H } }, 3,
	  DHO_OK, RULES_YELLOW, "weight rose 2.5 kg in 36 hours, above the yellow limit 2 kg",
	  36 * H },
	/* A reading exactly D before counts; one older does not. */
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 3 * D } }, 1, DHO_OK, RULES_YELLOW, NULL, 3 * D },
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 3 * D - 1 } }, 1, DHO_ENOTFOUND, RULES_NONE, "", -1 },
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 3 * D - 1 }, { 82.0, T - D } }, 2, DHO_OK, RULES_NONE,
	  "", -1 },
	/* A reading at or after this one is not earlier. */
	{ "yellow:+2/3d", 83.0, { { 80.0, T } }, 1, DHO_ENOTFOUND, RULES_NONE, "", -1 },
	{ "yellow:+2/3d", 83.0, { { 0, 0 } }, 0, DHO_ENOTFOUND, RULES_NONE, "", -1 },
	/* Falls. */
	{ "yellow:-2/2d", 67.5, { { 70.0, T - 2 * D }, { 69.0, T - D } }, 2, DHO_OK, RULES_YELLOW,
	  "weight fell 2.5 kg in 2 days, beyond the yellow limit 2 kg", 2 * D },
	{ "yellow:-2/2d", 68.0, { { 70.0, T - 2 * D } }, 1, DHO_OK, RULES_NONE, "", -1 },
	/* Terms with their own windows. */
	{ "yellow:+2/1d red:+3/3d", 83.1, { { 80.0, T - 2 * D }, { 81.5, T - 12 * H } }, 2, DHO_OK,
	  RULES_RED, "weight rose 3.1 kg in 2 days, above the red limit 3 kg", 2 * D },
	{ "yellow:+2/1d red:+3/3d", 83.6, { { 80.0, T - 4 * D }, { 81.5, T - 12 * H } }, 2, DHO_OK,
	  RULES_YELLOW, "weight rose 2.1 kg in 12 hours, above the yellow limit 2 kg", 12 * H },
	/* Spans. */
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 90 } }, 1, DHO_OK, RULES_YELLOW,
	  "weight rose 3 kg in 90 seconds, above the yellow limit 2 kg", 90 },
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 45 * 60 } }, 1, DHO_OK, RULES_YELLOW,
	  "weight rose 3 kg in 45 minutes, above the yellow limit 2 kg", 45 * 60 },
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 26 * H } }, 1, DHO_OK, RULES_YELLOW,
	  "weight rose 3 kg in 26 hours, above the yellow limit 2 kg", 26 * H },
	{ "yellow:+2/3d", 83.0, { { 80.0, T - 2 * D - 12 * H } }, 1, DHO_OK, RULES_YELLOW,
	  "weight rose 3 kg in 2.5 days, above the yellow limit 2 kg", 2 * D + 12 * H },
	/* A rise and a fall in one rule. */
	{ "yellow:-2/3d yellow:+2/3d", 78.0, { { 80.5, T - D } }, 1, DHO_OK, RULES_YELLOW,
	  "weight fell 2.5 kg in 24 hours, beyond the yellow limit 2 kg", D },
};

static void
test_trend(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(trend_cases) / sizeof(trend_cases[0]); i++) {
		const struct trend_case *c = &trend_cases[i];
		struct rule *r = parse_ok("trend.weight", c->spec);
		struct rules_finding f;
		int rc = rules_check_trend(r, c->value, T, c->earlier, c->n, &f);

		if (rc != c->rc || f.severity != c->sev)
			fail_msg("case %zu '%s' at %g: rc %d %s, want %d %s", i, c->spec, c->value, rc,
			         rules_severity_name(f.severity), c->rc, rules_severity_name(c->sev));
		if (c->reason != NULL && strcmp(f.reason, c->reason) != 0)
			fail_msg("case %zu '%s' at %g:\n  got  '%s'\n  want '%s'", i, c->spec, c->value,
			         f.reason, c->reason);
		if (c->sev != RULES_NONE && f.span != c->span)
			fail_msg("case %zu: span %lld, want %lld", i, (long long)f.span,
			         (long long)c->span);
		rules_free(r);
	}
}

/* ---- baseline ---- */

struct baseline_case {
	const char *key;
	const char *spec;
	double value;
	double earlier[8];
	size_t n;
	int rc;
	enum rules_severity sev;
	double median;
	const char *reason;   /* NULL: not checked */
};

static const struct baseline_case baseline_cases[] = {
	/* A median of 94 over 7 readings, 89 is 5 below it, beyond the limit 4. */
	{ "baseline.spo2", "yellow:-4 red:-8", 89, { 94, 95, 93, 94, 96, 94, 92 }, 7, DHO_OK,
	  RULES_YELLOW, 94,
	  "spo2 89 % is 5 percentage points below the patient's baseline 94 % (median of 7 readings over 7 days), "
	  "beyond the yellow limit 4 percentage points" },
	/* Exactly the limit below does not fire. */
	{ "baseline.spo2", "yellow:-4 red:-8", 90, { 94, 95, 93, 94, 96, 94, 92 }, 7, DHO_OK,
	  RULES_NONE, 94, "" },
	{ "baseline.spo2", "yellow:-4 red:-8", 85.9, { 94, 95, 93, 94, 96, 94, 92 }, 7, DHO_OK,
	  RULES_RED, 94, NULL },
	{ "baseline.spo2", "yellow:-4 red:-8", 86, { 94, 95, 93, 94, 96, 94, 92 }, 7, DHO_OK,
	  RULES_YELLOW, 94, NULL },
	/* A fall rule does not fire on a rise. */
	{ "baseline.spo2", "yellow:-4 red:-8", 100, { 94, 95, 93, 94, 96, 94, 92 }, 7, DHO_OK,
	  RULES_NONE, 94, "" },
	/* Median of an even count: the mean of the middle two (94 and 96). */
	{ "baseline.spo2", "yellow:-4", 90.9, { 100, 90, 98, 92, 96, 94 }, 6, DHO_OK, RULES_YELLOW,
	  95, "spo2 90.9 % is 4.1 percentage points below the patient's baseline 95 % (median of 6 readings over "
	  "7 days), beyond the yellow limit 4 percentage points" },
	{ "baseline.spo2", "yellow:-4", 91, { 100, 90, 98, 92, 96, 94 }, 6, DHO_OK, RULES_NONE, 95,
	  "" },
	/* Too few readings: no evaluation. */
	{ "baseline.spo2", "yellow:-4", 80, { 94, 95, 93, 94 }, 4, DHO_ENOTFOUND, RULES_NONE, 0, "" },
	{ "baseline.spo2", "yellow:-4", 80, { 0 }, 0, DHO_ENOTFOUND, RULES_NONE, 0, "" },
	{ "baseline.spo2", "yellow:-4 min 4", 80, { 94, 95, 93, 94 }, 4, DHO_OK, RULES_YELLOW, 94,
	  NULL },
	/* A rise, with units on the difference. */
	{ "baseline.weight", "yellow:+2 over 14d min 3", 83, { 80, 81, 80.5 }, 3, DHO_OK,
	  RULES_YELLOW, 80.5,
	  "weight 83 kg is 2.5 kg above the patient's baseline 80.5 kg (median of 3 readings "
	  "over 14 days), beyond the yellow limit 2 kg" },
	{ "baseline.weight", "yellow:+2 red:+3 over 14d min 3", 83.6, { 80, 81, 80.5 }, 3, DHO_OK,
	  RULES_RED, 80.5, NULL },
};

static void
test_baseline(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(baseline_cases) / sizeof(baseline_cases[0]); i++) {
		const struct baseline_case *c = &baseline_cases[i];
		struct rule *r = parse_ok(c->key, c->spec);
		struct rules_sample earlier[sizeof(c->earlier) / sizeof(c->earlier[0])];
		struct rules_finding f;
		int rc;

		for (size_t k = 0; k < c->n; k++)
			earlier[k] = (struct rules_sample){ c->earlier[k], (dho_time_t)k };
		rc = rules_check_baseline(r, c->value, earlier, c->n, &f);

		if (rc != c->rc || f.severity != c->sev)
			fail_msg("case %zu '%s' at %g: rc %d %s, want %d %s", i, c->spec, c->value, rc,
			         rules_severity_name(f.severity), c->rc, rules_severity_name(c->sev));
		assert_int_equal(f.used, c->n);
		if (rc == DHO_OK && f.reference != c->median)
			fail_msg("case %zu: median %g, want %g", i, f.reference, c->median);
		if (c->reason != NULL && strcmp(f.reason, c->reason) != 0)
			fail_msg("case %zu '%s' at %g:\n  got  '%s'\n  want '%s'", i, c->spec, c->value,
			         f.reason, c->reason);
		rules_free(r);
	}
}

/* ---- missing ---- */

struct missing_case {
	const char *key;
	const char *spec;
	int64_t silent;
	enum rules_severity sev;
	const char *reason;
};

static const struct missing_case missing_cases[] = {
	{ "missing.spo2", "26h red:48h", 26 * H - 1, RULES_NONE, "" },
	{ "missing.spo2", "26h red:48h", 26 * H, RULES_YELLOW,
	  "no spo2 reading for 26 hours, past the yellow limit 26 hours" },
	{ "missing.spo2", "26h red:48h", 27 * H, RULES_YELLOW,
	  "no spo2 reading for 27 hours, past the yellow limit 26 hours" },
	{ "missing.spo2", "26h red:48h", 48 * H - 1, RULES_YELLOW, NULL },
	{ "missing.spo2", "26h red:48h", 48 * H, RULES_RED,
	  "no spo2 reading for 2 days, past the red limit 2 days" },
	{ "missing.spo2", "26h", 30 * D, RULES_YELLOW,
	  "no spo2 reading for 30 days, past the yellow limit 26 hours" },
	{ "missing.any", "2d", 3 * D + 2 * H, RULES_YELLOW,
	  "no reading of any metric for 3.1 days, past the yellow limit 2 days" },
	{ "missing.weight", "90m red:1d", 100 * 60, RULES_YELLOW,
	  "no weight reading for 100 minutes, past the yellow limit 90 minutes" },
};

static void
test_missing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(missing_cases) / sizeof(missing_cases[0]); i++) {
		const struct missing_case *c = &missing_cases[i];
		struct rule *r = parse_ok(c->key, c->spec);
		struct rules_finding f;
		char buf[RULES_REASON_MAX];

		assert_int_equal(rules_check_missing(r, c->silent, &f), DHO_OK);
		if (f.severity != c->sev)
			fail_msg("case %zu: %s, want %s", i, rules_severity_name(f.severity),
			         rules_severity_name(c->sev));
		if (c->reason != NULL && strcmp(f.reason, c->reason) != 0)
			fail_msg("case %zu:\n  got  '%s'\n  want '%s'", i, f.reason, c->reason);
		if (c->sev != RULES_NONE) {
			assert_int_equal(rules_missing_reason(r, c->silent, c->sev, buf, sizeof(buf)),
			                 DHO_OK);
			assert_string_equal(buf, f.reason);
		}
		rules_free(r);
	}
}

static void
test_missing_reason_errors(void **state)
{
	struct rule *r = parse_ok("missing.spo2", "26h");
	char buf[RULES_REASON_MAX];

	(void)state;
	assert_int_equal(rules_missing_reason(r, 30 * H, RULES_NONE, buf, sizeof(buf)), DHO_EINVAL);
	/* No red deadline: no red reason. */
	assert_int_equal(rules_missing_reason(r, 30 * H, RULES_RED, buf, sizeof(buf)), DHO_EINVAL);
	rules_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_specs),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_missing_reason_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
