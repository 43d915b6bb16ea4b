/*
 * metric.c: the metric table and the flag names readings carry. Unit
 * conversion factors live here and nowhere else.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metric.h"

struct metric_unit_alt {
	const char *unit;
	double factor;   /* canonical = value * factor + offset */
	double offset;
};

struct metric_def {
	const char *name;
	const char *unit;
	double min, max;
	struct metric_unit_alt alt[3];
	bool whole;      /* a code, not a measurement: only whole values */
};

/* mmHg per kPa is 1 / 0.133322387415; degF is converted by its formula. */
static const struct metric_def metric_table[METRIC_COUNT] = {
	[METRIC_SPO2] = { "spo2", "%", 0, 100, { { NULL, 0, 0 } }, false },
	[METRIC_PULSE] = { "pulse", "/min", 0, 350, { { NULL, 0, 0 } }, false },
	[METRIC_RESP_RATE] = { "resp_rate", "/min", 0, 150, { { NULL, 0, 0 } }, false },
	[METRIC_TEMP] = { "temp", "Cel", 20, 45,
		{ { "[degF]", 5.0 / 9.0, -32.0 * 5.0 / 9.0 }, { NULL, 0, 0 } }, false },
	[METRIC_BP_SYS] = { "bp_sys", "mm[Hg]", 0, 400,
		{ { "kPa", 1.0 / 0.133322387415, 0 }, { NULL, 0, 0 } }, false },
	[METRIC_BP_DIA] = { "bp_dia", "mm[Hg]", 0, 400,
		{ { "kPa", 1.0 / 0.133322387415, 0 }, { NULL, 0, 0 } }, false },
	[METRIC_BP_MAP] = { "bp_map", "mm[Hg]", 0, 400,
		{ { "kPa", 1.0 / 0.133322387415, 0 }, { NULL, 0, 0 } }, false },
	[METRIC_WEIGHT] = { "weight", "kg", 0.5, 500,
		{ { "[lb_av]", 0.45359237, 0 }, { "g", 0.001, 0 }, { NULL, 0, 0 } }, false },
	[METRIC_GLUCOSE] = { "glucose", "mmol/L", 0, 100,
		{ { "mg/dL", 1.0 / 18.016, 0 }, { NULL, 0, 0 } }, false },
	[METRIC_ON_OXYGEN] = { "on_oxygen", "1", 0, 1, { { NULL, 0, 0 } }, true },
	[METRIC_CONSCIOUSNESS] = { "consciousness", "ACVPU", 0, 4, { { NULL, 0, 0 } }, true },
	[METRIC_CAT_SCORE] = { "cat_score", "{score}", 0, 40, { { NULL, 0, 0 } }, false },
};

static const char *const metric_flag_names[RFLAG_COUNT_] = {
	"body_movement", "cuff_loose", "irregular_pulse", "pulse_above_range",
	"pulse_below_range", "improper_position", "questionable", "invalid",
	"low_perfusion", "device_clock", "early_estimate", "from_storage",
	"demo", "testing", "calibration", "unavailable", "equipment_malfunction",
	"poor_signal", "sensor_problem", "no_skin_contact", "battery_low",
	"sample_problem", "result_too_high", "result_too_low",
	"temperature_problem", "device_fault", "device_clock_not_set",
};

const char *
metric_name(enum metric m)
{
	return (unsigned)m < METRIC_COUNT ? metric_table[m].name : "?";
}

const char *
metric_unit(enum metric m)
{
	return (unsigned)m < METRIC_COUNT ? metric_table[m].unit : "?";
}

const char *
metric_display_unit(enum metric m)
{
	const char *u = metric_unit(m);

	if (strcmp(u, "1") == 0 || u[0] == '{' || m == METRIC_CONSCIOUSNESS)
		return "";
	if (strcmp(u, "mm[Hg]") == 0)
		return "mmHg";
	if (strcmp(u, "Cel") == 0)
		return "\u00b0C";
	return u;
}

int
metric_lookup(const char *name, enum metric *out)
{
	if (name == NULL)
		return DHO_ENOTFOUND;
	for (int i = 0; i < METRIC_COUNT; i++) {
		if (strcmp(name, metric_table[i].name) == 0) {
			*out = (enum metric)i;
			return DHO_OK;
		}
	}
	return DHO_ENOTFOUND;
}

int
metric_convert(enum metric m, const char *unit, double value, double *out)
{
	const struct metric_def *def;

	if ((unsigned)m >= METRIC_COUNT)
		return DHO_EUNSUPP;
	def = &metric_table[m];
	if (unit == NULL || *unit == '\0' || strcmp(unit, def->unit) == 0) {
		*out = value;
		return DHO_OK;
	}
	for (const struct metric_unit_alt *a = def->alt; a->unit != NULL; a++) {
		if (strcmp(unit, a->unit) == 0) {
			*out = value * a->factor + a->offset;
			return DHO_OK;
		}
	}
	return DHO_EUNSUPP;
}

int
metric_check(enum metric m, double value, char *why, size_t len)
{
	const struct metric_def *def;
	char v[32], lo[32], hi[32];

	if ((unsigned)m >= METRIC_COUNT) {
		if (why)
			snprintf(why, len, "metric %d does not exist", (int)m);
		return DHO_ERANGE;
	}
	def = &metric_table[m];
	if (isnan(value) || isinf(value)) {
		if (why)
			snprintf(why, len, "%s is %s", def->name, isnan(value) ? "NaN" : "infinite");
		return DHO_ERANGE;
	}
	if (value >= def->min && value <= def->max && (!def->whole || value == floor(value)))
		return DHO_OK;
	if (why) {
		/* The value is printed in full: %g would print 45.00001 as "45"
		 * and give "temp 45 Cel is outside the accepted range 20-45". */
		metric_format_value(value, -1, v, sizeof(v));
		metric_format_value(def->min, -1, lo, sizeof(lo));
		metric_format_value(def->max, -1, hi, sizeof(hi));
		if (value < def->min || value > def->max)
			snprintf(why, len, "%s %s %s is outside the accepted range %s-%s %s",
			         def->name, v, def->unit, lo, hi, def->unit);
		else
			snprintf(why, len, "%s %s is not one of the whole values %s-%s",
			         def->name, v, lo, hi);
	}
	return DHO_ERANGE;
}

int
metric_acvpu_value(char letter, double *out)
{
	static const char order[] = "ACVPU";
	const char *p = strchr(order, letter);

	if (letter == '\0' || p == NULL)
		return DHO_EINVAL;
	*out = (double)(p - order);
	return DHO_OK;
}

char
metric_acvpu_letter(double value)
{
	static const char order[] = "ACVPU";

	/* Checked before the cast: converting NaN or a huge double to int is
	 * undefined behaviour, and 2.5 is no letter. */
	if (!(value >= 0 && value <= 4) || value != floor(value))
		return '?';
	return order[(int)value];
}

const char *
metric_flag_name(uint32_t bit)
{
	for (int i = 0; i < RFLAG_COUNT_; i++)
		if (bit == (1u << i))
			return metric_flag_names[i];
	return NULL;
}

void
metric_format_value(double value, int decimals, char *buf, size_t len)
{
	/* decimals < 0 asks for the shortest form that round-trips. */
	if (decimals < 0)
		snprintf(buf, len, "%.15g", value);
	else
		snprintf(buf, len, "%.*f", decimals > 6 ? 6 : decimals, value);
}

/* 2^53: the largest integer JSON readers agree on (RFC 8259, section 6). */
#define METRIC_JSON_INT_MAX 9007199254740992.0
/* Room for one number: %.6f of the largest FLOAT (about 8e133). */
#define METRIC_NUMBER_LEN 160

json_t *
metric_json_value(double value, int decimals)
{
	char buf[METRIC_NUMBER_LEN + 1];

	buf[0] = '\x1f';
	if (!isfinite(value))
		return json_null();
	metric_format_value(value, fabs(value) >= METRIC_JSON_INT_MAX ? -1 : decimals, buf + 1,
	                    sizeof(buf) - 1);
	return json_string(buf);
}

/* The length of a stand-in's number at p, just after its opening quote
 * ("\u001F37.60"), or 0 when p does not start one. */
static size_t
metric_standin(const char *p, const char **digits)
{
	const char *d;

	if (strncmp(p, "\\u001F", 6) != 0 && strncmp(p, "\\u001f", 6) != 0)
		return 0;
	for (d = p + 6; (*d >= '0' && *d <= '9') || *d == '.' || *d == '-' || *d == '+' ||
	                *d == 'e'; d++)
		;
	if (*d != '"' || d == p + 6)
		return 0;
	*digits = p + 6;
	return (size_t)(d - (p + 6));
}

char *
metric_json_dumps(const json_t *doc, size_t flags)
{
	char *text = json_dumps(doc, flags), *out = NULL;
	size_t o = 0;
	bool in_string = false;

	if (text == NULL)
		return NULL;
	/* Every stand-in is longer than its number: the text's size is enough. */
	out = malloc(strlen(text) + 1);
	if (out == NULL)
		goto done;
	for (const char *p = text; *p != '\0'; p++) {
		const char *digits;
		size_t n;

		if (in_string) {
			if (*p == '\\' && p[1] != '\0')
				out[o++] = *p++;
			else if (*p == '"')
				in_string = false;
			out[o++] = *p;
			continue;
		}
		if (*p == '"' && (n = metric_standin(p + 1, &digits)) > 0) {
			memcpy(out + o, digits, n);
			o += n;
			p = digits + n;      /* the closing quote */
			continue;
		}
		if (*p == '"')
			in_string = true;
		out[o++] = *p;
	}
	out[o] = '\0';
done:
	free(text);
	return out;
}
