/*
 * metric: the table of metrics the hub accepts: their canonical UCUM units,
 * the alternative units converted on input, and the accepted ranges. Every
 * decoder produces readings in canonical units through this table, so a
 * conversion factor exists in one place only.
 */
#ifndef METRIC_H
#define METRIC_H

#include <stdbool.h>
#include <stdint.h>
#include "dho.h"

enum metric {
	METRIC_SPO2,
	METRIC_PULSE,
	METRIC_RESP_RATE,
	METRIC_TEMP,
	METRIC_BP_SYS,
	METRIC_BP_DIA,
	METRIC_BP_MAP,
	METRIC_WEIGHT,
	METRIC_GLUCOSE,
	METRIC_ON_OXYGEN,
	METRIC_CONSCIOUSNESS,
	METRIC_CAT_SCORE,
	METRIC_COUNT
};

/* Reading flags: what is known about a measurement besides its value,
 * most of them status bits of a BLE GATT value (gatt.h says which bit
 * sets which flag). */
enum reading_flag {
	RFLAG_BODY_MOVEMENT   = 1u << 0,
	RFLAG_CUFF_LOOSE      = 1u << 1,
	RFLAG_IRREGULAR_PULSE = 1u << 2,
	RFLAG_PULSE_HIGH      = 1u << 3,  /* pulse above range */
	RFLAG_PULSE_LOW       = 1u << 4,  /* pulse below range */
	RFLAG_IMPROPER_POS    = 1u << 5,
	RFLAG_QUESTIONABLE    = 1u << 6,
	RFLAG_INVALID         = 1u << 7,  /* stored, never evaluated by rules */
	RFLAG_LOW_PERFUSION   = 1u << 8,
	RFLAG_DEVICE_CLOCK    = 1u << 9,  /* device time replaced by receive time */
	RFLAG_EARLY_ESTIMATE  = 1u << 10,
	RFLAG_FROM_STORAGE    = 1u << 11,
	RFLAG_DEMO            = 1u << 12,
	RFLAG_TESTING         = 1u << 13,
	RFLAG_CALIBRATION     = 1u << 14,
	RFLAG_UNAVAILABLE     = 1u << 15,
	RFLAG_EQUIPMENT_FAULT = 1u << 16,
	RFLAG_SIGNAL_POOR     = 1u << 17, /* inadequate, poor or erratic signal */
	RFLAG_SENSOR_PROBLEM  = 1u << 18, /* unconnected, displaced, disconnected */
	RFLAG_NO_CONTACT      = 1u << 19, /* heart rate sensor without skin contact */
	RFLAG_BATTERY_LOW     = 1u << 20,
	RFLAG_SAMPLE_PROBLEM  = 1u << 21, /* glucose sample or strip problem */
	RFLAG_RESULT_HIGH     = 1u << 22,
	RFLAG_RESULT_LOW      = 1u << 23,
	RFLAG_TEMP_PROBLEM    = 1u << 24,
	RFLAG_DEVICE_FAULT    = 1u << 25,
	RFLAG_CLOCK_NOT_SET   = 1u << 26,
	RFLAG_COUNT_          = 27
};

/* One value in canonical units. decimals is the precision the source
 * implied (2.00 has 2), kept for printing. */
struct reading {
	enum metric metric;
	double value;
	int decimals;
	dho_time_t measured_at;
	uint32_t flags;
};

const char *metric_name(enum metric m);
const char *metric_unit(enum metric m);
/* The unit as people read it in alert reasons: "mmHg", "\u00b0C", "/min";
 * "" for unitless metrics (scores, flags, ACVPU). */
const char *metric_display_unit(enum metric m);

/* Looks a metric up by name; DHO_ENOTFOUND when unknown. */
int metric_lookup(const char *name, enum metric *out);

/* Converts value from unit (NULL or "" = canonical) to the canonical unit.
 * DHO_EUNSUPP for a unit the metric does not accept. */
int metric_convert(enum metric m, const char *unit, double value, double *out);

/* DHO_OK when value is finite and inside the metric's accepted range,
 * DHO_ERANGE otherwise; the range is written into why (if not NULL). */
int metric_check(enum metric m, double value, char *why, size_t len);

/* Consciousness letters (ACVPU) are stored as 0..4 in this order. */
int metric_acvpu_value(char letter, double *out);
char metric_acvpu_letter(double value);

/* The name of one flag bit ("irregular_pulse"), NULL for an unused bit. */
const char *metric_flag_name(uint32_t bit);

/* Writes a value with the given decimals, trimming nothing ("2.00"). */
void metric_format_value(double value, int decimals, char *buf, size_t len);

/*
 * The one way a value goes into a JSON document that people read (decode
 * gatt, readings, alert events): with the precision it was measured with,
 * so 37.60 prints as 37.60 and 86 as 86. jansson prints a real with %.17g
 * (37.6 or 37.600000000000001), so metric_json_value() returns a stand-in,
 * the string "\x1f" followed by the formatted number, and
 * metric_json_dumps() dumps the document and prints each stand-in as the
 * bare number. Beyond 2^53 the shortest exact form ("8.2158e+29") is used,
 * since JSON readers with 64-bit integers refuse a longer integer literal.
 * A document holding stand-ins must be dumped with metric_json_dumps();
 * json_dumps() would print them as strings. NULL when out of memory.
 */
struct json_t *metric_json_value(double value, int decimals);
/* json_dumps(doc, flags) with the stand-ins printed as numbers; the caller
 * frees the text. No other string may start with the control character
 * 0x1f (the hub's own strings never hold control characters). */
char *metric_json_dumps(const struct json_t *doc, size_t flags);

#endif
