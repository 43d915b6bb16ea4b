/*
 * news2.c: NEWS2 scoring per the Royal College of Physicians' chart (see news2.h).
 *
 * Every parameter except SpO2 on scale 2 is a list of bands over whole
 * numbers (temperature in tenths), so the chart is written as data: each
 * band is the highest rounded value it holds and its score. Rounding to the
 * band's precision first means a value can never fall between two bands.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "news2.h"

struct news2_band {
	long max;   /* highest rounded value in the band */
	int score;
};

static const struct news2_band news2_resp_rate[] = {
	{ 8, 3 }, { 11, 1 }, { 20, 0 }, { 24, 2 }, { LONG_MAX, 3 },
};
static const struct news2_band news2_spo2_scale1[] = {
	{ 91, 3 }, { 93, 2 }, { 95, 1 }, { LONG_MAX, 0 },
};
/* Scale 2 below 93 %, whatever the oxygen. */
static const struct news2_band news2_spo2_scale2_low[] = {
	{ 83, 3 }, { 85, 2 }, { 87, 1 }, { 92, 0 },
};
/* Scale 2 from 93 % on oxygen; on air 93 % or more scores 0. */
static const struct news2_band news2_spo2_scale2_oxygen[] = {
	{ 94, 1 }, { 96, 2 }, { LONG_MAX, 3 },
};
static const struct news2_band news2_bp_sys[] = {
	{ 90, 3 }, { 100, 2 }, { 110, 1 }, { 219, 0 }, { LONG_MAX, 3 },
};
static const struct news2_band news2_pulse[] = {
	{ 40, 3 }, { 50, 1 }, { 90, 0 }, { 110, 1 }, { 130, 2 }, { LONG_MAX, 3 },
};
/* Tenths of a degree Celsius. */
static const struct news2_band news2_temp[] = {
	{ 350, 3 }, { 360, 1 }, { 380, 0 }, { 390, 1 }, { LONG_MAX, 2 },
};

#define NEWS2_NBANDS(b) (sizeof(b) / sizeof((b)[0]))

static const enum metric news2_metrics[NEWS2_NPARAMS] = {
	[NEWS2_RESP_RATE] = METRIC_RESP_RATE,
	[NEWS2_SPO2] = METRIC_SPO2,
	[NEWS2_ON_OXYGEN] = METRIC_ON_OXYGEN,
	[NEWS2_BP_SYS] = METRIC_BP_SYS,
	[NEWS2_PULSE] = METRIC_PULSE,
	[NEWS2_CONSCIOUSNESS] = METRIC_CONSCIOUSNESS,
	[NEWS2_TEMP] = METRIC_TEMP,
};

const char *
news2_risk_name(enum news2_risk r)
{
	switch (r) {
	case NEWS2_RISK_LOW: return "low";
	case NEWS2_RISK_LOW_MEDIUM: return "low-medium";
	case NEWS2_RISK_MEDIUM: return "medium";
	case NEWS2_RISK_HIGH: return "high";
	}
	return "?";
}

enum metric
news2_param_metric(enum news2_param p)
{
	return news2_metrics[(unsigned)p < NEWS2_NPARAMS ? p : 0];
}

int
news2_param_of(enum metric m, enum news2_param *out)
{
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		if (news2_metrics[p] == m) {
			*out = (enum news2_param)p;
			return DHO_OK;
		}
	}
	return DHO_ENOTFOUND;
}

int
news2_set_put(struct news2_set *s, enum metric m, double value)
{
	enum news2_param p;

	if (news2_param_of(m, &p) != DHO_OK)
		return DHO_ENOTFOUND;
	s->value[p] = value;
	s->present[p] = true;
	return DHO_OK;
}

/*
 * Rounds half up to a multiple of 1/per (per 1: whole numbers, 10: tenths).
 * The small nudge makes a decimal half that binary cannot hold exactly
 * (35.05 is 35.04999...) round up, as the chart means it to.
 */
static long
news2_round(double v, double per)
{
	return (long)floor(v * per + 0.5 + 1e-7);
}

static int
news2_band_score(const struct news2_band *b, size_t n, long v)
{
	for (size_t i = 0; i < n; i++)
		if (v <= b[i].max)
			return b[i].score;
	return b[n - 1].score;
}

static int
news2_spo2_score(long spo2, bool oxygen, enum news2_scale scale)
{
	if (scale == NEWS2_SCALE1)
		return news2_band_score(news2_spo2_scale1, NEWS2_NBANDS(news2_spo2_scale1), spo2);
	if (spo2 <= 92)
		return news2_band_score(news2_spo2_scale2_low, NEWS2_NBANDS(news2_spo2_scale2_low),
		                        spo2);
	if (!oxygen)
		return 0;
	return news2_band_score(news2_spo2_scale2_oxygen, NEWS2_NBANDS(news2_spo2_scale2_oxygen),
	                        spo2);
}

/* Checks that every value is one the hub would have stored. */
static int
news2_check(const struct news2_set *in)
{
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		double v = in->value[p];

		if (metric_check(news2_metrics[p], v, NULL, 0) != DHO_OK)
			return DHO_ERANGE;
		if (p == NEWS2_ON_OXYGEN && v != 0.0 && v != 1.0)
			return DHO_ERANGE;
		if (p == NEWS2_CONSCIOUSNESS && v != floor(v))
			return DHO_ERANGE;
	}
	return DHO_OK;
}

/* Names the missing parameters: "NEWS2 not scored: no resp_rate, temp". */
static void
news2_missing_reason(const struct news2_set *in, char *buf, size_t len)
{
	size_t used;
	int n = snprintf(buf, len, "NEWS2 not scored: no");
	bool first = true;

	used = n > 0 ? (size_t)n : 0;
	for (int p = 0; p < NEWS2_NPARAMS && used < len; p++) {
		if (in->present[p])
			continue;
		n = snprintf(buf + used, len - used, "%s %s", first ? "" : ",",
		             metric_name(news2_metrics[p]));
		if (n < 0)
			break;
		used += (size_t)n;
		first = false;
	}
}

static void
news2_reason(const struct news2_result *r, enum news2_scale scale, char *buf, size_t len)
{
	size_t used;
	bool first = true;
	int n;

	n = snprintf(buf, len, "NEWS2 total %d (%s):", r->total, news2_risk_name(r->risk));
	used = n > 0 ? (size_t)n : 0;
	for (int p = 0; p < NEWS2_NPARAMS && used < len; p++) {
		enum metric m = news2_metrics[p];
		const char *sep = first ? " " : ", ";

		if (r->score[p] == 0)
			continue;
		first = false;
		switch (p) {
		case NEWS2_ON_OXYGEN:
			n = snprintf(buf + used, len - used, "%son oxygen scores %d", sep, r->score[p]);
			break;
		case NEWS2_CONSCIOUSNESS:
			n = snprintf(buf + used, len - used, "%sconsciousness %c scores %d", sep,
			             metric_acvpu_letter(r->rounded[p]), r->score[p]);
			break;
		case NEWS2_SPO2:
			n = snprintf(buf + used, len - used, "%sspo2 %.0f %% on scale %d scores %d", sep,
			             r->rounded[p], (int)scale, r->score[p]);
			break;
		case NEWS2_TEMP:
			n = snprintf(buf + used, len - used, "%stemp %.1f %s scores %d", sep,
			             r->rounded[p], metric_display_unit(m), r->score[p]);
			break;
		default:
			n = snprintf(buf + used, len - used, "%s%s %.0f %s scores %d", sep, metric_name(m),
			             r->rounded[p], metric_display_unit(m), r->score[p]);
			break;
		}
		if (n < 0)
			return;
		used += (size_t)n;
	}
	if (first && used < len)
		snprintf(buf + used, len - used, " every parameter scores 0");
}

int
news2_score(const struct news2_set *in, enum news2_scale scale, struct news2_result *out)
{
	long v[NEWS2_NPARAMS];
	int rc;

	memset(out, 0, sizeof(*out));
	out->severity = RULES_NONE;
	if (scale != NEWS2_SCALE1 && scale != NEWS2_SCALE2)
		return DHO_EINVAL;
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		if (!in->present[p]) {
			news2_missing_reason(in, out->reason, sizeof(out->reason));
			return DHO_ENOTFOUND;
		}
	}
	if ((rc = news2_check(in)) != DHO_OK)
		return rc;
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		double per = p == NEWS2_TEMP ? 10.0 : 1.0;

		v[p] = news2_round(in->value[p], per);
		out->rounded[p] = (double)v[p] / per;
	}
	out->score[NEWS2_RESP_RATE] =
		news2_band_score(news2_resp_rate, NEWS2_NBANDS(news2_resp_rate), v[NEWS2_RESP_RATE]);
	out->score[NEWS2_SPO2] = news2_spo2_score(v[NEWS2_SPO2], v[NEWS2_ON_OXYGEN] == 1, scale);
	out->score[NEWS2_ON_OXYGEN] = v[NEWS2_ON_OXYGEN] == 1 ? 2 : 0;
	out->score[NEWS2_BP_SYS] =
		news2_band_score(news2_bp_sys, NEWS2_NBANDS(news2_bp_sys), v[NEWS2_BP_SYS]);
	out->score[NEWS2_PULSE] =
		news2_band_score(news2_pulse, NEWS2_NBANDS(news2_pulse), v[NEWS2_PULSE]);
	out->score[NEWS2_CONSCIOUSNESS] = v[NEWS2_CONSCIOUSNESS] == 0 ? 0 : 3;
	out->score[NEWS2_TEMP] = news2_band_score(news2_temp, NEWS2_NBANDS(news2_temp), v[NEWS2_TEMP]);
	for (int p = 0; p < NEWS2_NPARAMS; p++) {
		out->total += out->score[p];
		/* The oxygen point scores 2 at most, so it can never count here. */
		if (out->score[p] == 3 && p != NEWS2_ON_OXYGEN)
			out->single_three = true;
	}
	if (out->total >= 7)
		out->risk = NEWS2_RISK_HIGH;
	else if (out->total >= 5)
		out->risk = NEWS2_RISK_MEDIUM;
	else if (out->single_three)
		out->risk = NEWS2_RISK_LOW_MEDIUM;
	else
		out->risk = NEWS2_RISK_LOW;
	if (out->total >= 5)
		out->severity = RULES_RED;
	else if (out->single_three)
		out->severity = RULES_YELLOW;
	news2_reason(out, scale, out->reason, sizeof(out->reason));
	return DHO_OK;
}
