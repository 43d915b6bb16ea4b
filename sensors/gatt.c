/*
 * gatt.c: BLE GATT health measurement values, decoded per the Bluetooth
 * SIG's GATT Specification Supplement. The decisions it leaves open are
 * listed in gatt.h.
 *
 * Every decoder walks the value with a cursor (struct gatt_cur) whose only
 * way to read is gatt_take(), which checks the remaining length first and,
 * when it is short, writes the one error message format users see for a
 * short value: the field, the bytes needed and the bytes given.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gatt.h"
#include "timefmt.h"

/* metric_format_value() prints at most 6 decimals. */
#define GATT_DECIMALS_MAX 6

/* Weight and body composition masses: "measurement unsuccessful". */
#define GATT_UNSUCCESSFUL 0xFFFF

/* The user id that means "unknown user". */
#define GATT_USER_UNKNOWN 255

/* Glucose type 10 and sample location 4 both mean control solution. */
#define GATT_GLUCOSE_CONTROL_TYPE 10
#define GATT_GLUCOSE_CONTROL_LOCATION 4

/* Precision of a converted value, by source unit. These are the values
 * doc.h documents for reading documents; they must stay the same so that a
 * kPa reading prints alike whether it came as JSON or as GATT. */
static const struct {
	const char *unit;
	int decimals;
} gatt_conv_decimals[] = {
	{ "kPa", 1 },
	{ "[degF]", 2 },
	{ "[lb_av]", 3 },
	{ "mg/dL", 2 },
};

/* A read position in one value. off never exceeds len. */
struct gatt_cur {
	const uint8_t *buf;
	size_t len;
	size_t off;
	char name[5];           /* "2a35", the prefix of every message */
	char *err;
	size_t errlen;
};

struct gatt_special_def {
	uint32_t raw;
	const char *name;
	double value;
};

static void
gatt_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
gatt_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *
gatt_bytes(size_t n)
{
	return n == 1 ? "byte" : "bytes";
}

/*
 * Hands out the next n bytes of the value in *p, or fails with the
 * short-value message. flagged says whether the field is there because a
 * flag announced it ("... flag set but value ends at ...") or always.
 */
static int
gatt_take(struct gatt_cur *c, size_t n, const char *field, bool flagged,
          const uint8_t **p)
{
	size_t need = c->off + n;

	if (c->len - c->off < n) {
		if (flagged)
			gatt_seterr(c->err, c->errlen,
			            "%s: %s flag set but value ends at byte %zu "
			            "(%zu %s needed, %zu given)",
			            c->name, field, c->len, need, gatt_bytes(need), c->len);
		else
			gatt_seterr(c->err, c->errlen,
			            "%s: no %s: value ends at byte %zu (%zu %s needed, %zu given)",
			            c->name, field, c->len, need, gatt_bytes(need), c->len);
		return DHO_EINVAL;
	}
	*p = c->buf + c->off;
	c->off += n;
	return DHO_OK;
}

static int
gatt_u8(struct gatt_cur *c, const char *field, bool flagged, uint8_t *out)
{
	const uint8_t *p;
	int rc = gatt_take(c, 1, field, flagged, &p);

	if (rc == DHO_OK)
		*out = p[0];
	return rc;
}

static int
gatt_u16(struct gatt_cur *c, const char *field, bool flagged, uint16_t *out)
{
	const uint8_t *p;
	int rc = gatt_take(c, 2, field, flagged, &p);

	if (rc == DHO_OK)
		*out = (uint16_t)(p[0] | (p[1] << 8));
	return rc;
}

static int
gatt_u24(struct gatt_cur *c, const char *field, bool flagged, uint32_t *out)
{
	const uint8_t *p;
	int rc = gatt_take(c, 3, field, flagged, &p);

	if (rc == DHO_OK)
		*out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
	return rc;
}

static int
gatt_u32(struct gatt_cur *c, const char *field, bool flagged, uint32_t *out)
{
	const uint8_t *p;
	int rc = gatt_take(c, 4, field, flagged, &p);

	if (rc == DHO_OK)
		*out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
		       ((uint32_t)p[3] << 24);
	return rc;
}

/* Skips a field the hub does not store; its bytes must still be there. */
static int
gatt_skip(struct gatt_cur *c, size_t n, const char *field, bool flagged)
{
	const uint8_t *p;

	return gatt_take(c, n, field, flagged, &p);
}

/* A value must end where its flags say it ends (see gatt.h for why).
 * digits is the width of the flags field in hex digits (2 or 4). */
static int
gatt_end(struct gatt_cur *c, unsigned flags, int digits)
{
	size_t extra = c->len - c->off;

	if (extra == 0)
		return DHO_OK;
	gatt_seterr(c->err, c->errlen,
	            "%s: %zu %s after the last field: the flags 0x%0*x announce "
	            "%zu %s, %zu given",
	            c->name, extra, gatt_bytes(extra), digits, flags, c->off,
	            gatt_bytes(c->off), c->len);
	return DHO_EINVAL;
}

/* Date Time (7 bytes): stored as decoded; the clock rules are the caller's. */
static int
gatt_datetime(struct gatt_cur *c, const char *field, bool flagged, struct gatt_value *v)
{
	const uint8_t *p;
	int rc = gatt_take(c, 7, field, flagged, &p);

	if (rc != DHO_OK)
		return rc;
	v->has_time = true;
	v->year = p[0] | (p[1] << 8);
	v->month = p[2];
	v->day = p[3];
	v->hour = p[4];
	v->minute = p[5];
	v->second = p[6];
	return DHO_OK;
}

static int
gatt_user(struct gatt_cur *c, bool flagged, struct gatt_value *v)
{
	uint8_t u;
	int rc = gatt_u8(c, "user id", flagged, &u);

	if (rc == DHO_OK && u != GATT_USER_UNKNOWN) {
		v->has_user = true;
		v->user = u;
	}
	return rc;
}

static const struct gatt_special_def gatt_sfloat_specials[] = {
	{ 0x07FF, "NaN", NAN },
	{ 0x0800, "NRes", NAN },
	{ 0x07FE, "+INF", INFINITY },
	{ 0x0802, "-INF", -INFINITY },
	{ 0x0801, "reserved", NAN },
};

static const struct gatt_special_def gatt_float_specials[] = {
	{ 0x007FFFFF, "NaN", NAN },
	{ 0x00800000, "NRes", NAN },
	{ 0x007FFFFE, "+INF", INFINITY },
	{ 0x00800002, "-INF", -INFINITY },
	{ 0x00800001, "reserved", NAN },
};

static const struct gatt_special_def *
gatt_find_special(const struct gatt_special_def *defs, size_t n, uint32_t raw)
{
	for (size_t i = 0; i < n; i++)
		if (defs[i].raw == raw)
			return &defs[i];
	return NULL;
}

const char *
gatt_sfloat_special(uint16_t raw)
{
	const struct gatt_special_def *d = gatt_find_special(gatt_sfloat_specials,
	        sizeof(gatt_sfloat_specials) / sizeof(gatt_sfloat_specials[0]), raw);

	return d ? d->name : NULL;
}

const char *
gatt_float_special(uint32_t raw)
{
	const struct gatt_special_def *d = gatt_find_special(gatt_float_specials,
	        sizeof(gatt_float_specials) / sizeof(gatt_float_specials[0]), raw);

	return d ? d->name : NULL;
}

/* mantissa x 10^exponent. A negative exponent divides, because 1/10^k is
 * not exact in binary: 1234567 / 100 is the double nearest 12345.67, while
 * 1234567 * 0.01 need not be. */
static void
gatt_scale(int32_t mantissa, int exponent, double *value, int *decimals)
{
	double v;

	if (exponent < 0)
		v = (double)mantissa / pow(10.0, -exponent);
	else
		v = (double)mantissa * pow(10.0, exponent);
	if (value)
		*value = v;
	if (decimals)
		*decimals = exponent < 0 ? -exponent : 0;
}

int
gatt_sfloat(uint16_t raw, double *value, int *decimals)
{
	const struct gatt_special_def *d = gatt_find_special(gatt_sfloat_specials,
	        sizeof(gatt_sfloat_specials) / sizeof(gatt_sfloat_specials[0]), raw);
	int32_t mantissa = raw & 0x0FFF;
	int exponent = (raw >> 12) & 0x0F;

	if (d != NULL) {
		if (value)
			*value = d->value;
		if (decimals)
			*decimals = 0;
		return DHO_ESPECIAL;
	}
	/* Both parts are two's complement: 12 and 4 bits. */
	if (mantissa >= 0x0800)
		mantissa -= 0x1000;
	if (exponent >= 0x08)
		exponent -= 0x10;
	gatt_scale(mantissa, exponent, value, decimals);
	return DHO_OK;
}

int
gatt_float(uint32_t raw, double *value, int *decimals)
{
	const struct gatt_special_def *d = gatt_find_special(gatt_float_specials,
	        sizeof(gatt_float_specials) / sizeof(gatt_float_specials[0]), raw);
	int32_t mantissa = (int32_t)(raw & 0x00FFFFFF);
	int exponent = (int)((raw >> 24) & 0xFF);

	if (d != NULL) {
		if (value)
			*value = d->value;
		if (decimals)
			*decimals = 0;
		return DHO_ESPECIAL;
	}
	if (mantissa >= 0x00800000)
		mantissa -= 0x01000000;
	if (exponent >= 0x80)
		exponent -= 0x100;
	gatt_scale(mantissa, exponent, value, decimals);
	return DHO_OK;
}

static double
gatt_round(double v, int decimals)
{
	double p = pow(10.0, decimals);

	return round(v * p) / p;
}

static int
gatt_clamp_decimals(int d)
{
	if (d < 0)
		return 0;
	return d > GATT_DECIMALS_MAX ? GATT_DECIMALS_MAX : d;
}

static int
gatt_conv_precision(const char *unit)
{
	for (size_t i = 0; i < sizeof(gatt_conv_decimals) / sizeof(gatt_conv_decimals[0]); i++)
		if (strcmp(unit, gatt_conv_decimals[i].unit) == 0)
			return gatt_conv_decimals[i].decimals;
	return 3;
}

/* Appends a reading; the layouts never yield more than GATT_MAX_READINGS. */
static struct reading *
gatt_add(struct gatt_value *v, enum metric m, double value, int decimals)
{
	struct reading *r;

	if (v->n >= GATT_MAX_READINGS)
		return NULL;
	r = &v->readings[v->n];
	v->mark[v->n] = GATT_MARK_NONE;
	v->reason[v->n][0] = '\0';
	v->n++;
	r->metric = m;
	r->value = value;
	r->decimals = gatt_clamp_decimals(decimals);
	r->measured_at = 0;
	r->flags = 0;
	return r;
}

static void
gatt_mark_last(struct gatt_value *v, enum gatt_mark mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Marks the reading added last as no value, with its reason. */
static void
gatt_mark_last(struct gatt_value *v, enum gatt_mark mark, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (v->n == 0)
		return;
	i = v->n - 1;
	v->mark[i] = mark;
	va_start(ap, fmt);
	vsnprintf(v->reason[i], sizeof(v->reason[i]), fmt, ap);
	va_end(ap);
}

/*
 * Adds value (in unit, NULL for canonical) as metric m, converting and
 * rounding to the conversion's precision.
 */
static int
gatt_add_value(struct gatt_cur *c, struct gatt_value *v, enum metric m,
               double value, int decimals, const char *unit)
{
	double canon = value;
	int rc;

	if (unit != NULL) {
		rc = metric_convert(m, unit, value, &canon);
		if (rc != DHO_OK) {
			gatt_seterr(c->err, c->errlen, "%s: the metric table cannot convert %s to %s",
			            c->name, unit, metric_unit(m));
			return rc;
		}
		decimals = gatt_conv_precision(unit);
		canon = gatt_round(canon, decimals);
	}
	(void)gatt_add(v, m, canon, decimals);
	return DHO_OK;
}

/* Adds an SFLOAT reading, or a marked one for a special value. */
static int
gatt_add_sfloat(struct gatt_cur *c, struct gatt_value *v, enum metric m,
                uint16_t raw, const char *unit)
{
	double value;
	int decimals;

	if (gatt_sfloat(raw, &value, &decimals) == DHO_ESPECIAL) {
		(void)gatt_add(v, m, NAN, 0);
		gatt_mark_last(v, GATT_MARK_SPECIAL, "%s is %s (SFLOAT 0x%04X)",
		               metric_name(m), gatt_sfloat_special(raw), raw);
		return DHO_OK;
	}
	return gatt_add_value(c, v, m, value, decimals, unit);
}

/* Adds a weight from a u16 of 0.005 kg or 0.01 lb. */
static int
gatt_add_weight(struct gatt_cur *c, struct gatt_value *v, uint16_t raw, bool imperial)
{
	if (raw == GATT_UNSUCCESSFUL) {
		(void)gatt_add(v, METRIC_WEIGHT, NAN, 0);
		gatt_mark_last(v, GATT_MARK_UNSUCCESSFUL,
		               "weight measurement unsuccessful (0xFFFF)");
		return DHO_OK;
	}
	if (imperial)
		return gatt_add_value(c, v, METRIC_WEIGHT, raw / 100.0, 2, "[lb_av]");
	/* raw * 5 / 1000 rather than raw * 0.005: exact for whole grams. */
	return gatt_add_value(c, v, METRIC_WEIGHT, (double)raw * 5.0 / 1000.0, 3, NULL);
}

/* Status bits apply to the whole measurement, so to every reading. */
static void
gatt_apply_flags(struct gatt_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		v->readings[i].flags = v->flags;
}

/* The Date Time ranges of the GATT Specification Supplement. */
static bool
gatt_civil_valid(int y, int mo, int d, int h, int mi, int s)
{
	return y >= 1582 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
	       d <= timefmt_month_days(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 &&
	       s >= 0 && s <= 59;
}

/* Floor division: days before 1970 must round down, not toward zero. */
static int64_t
gatt_floordiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Adds minutes to the decoded wall-clock time, when it is a valid one. */
static void
gatt_add_minutes(struct gatt_value *v, int minutes)
{
	int64_t t, days, sod;

	if (!gatt_civil_valid(v->year, v->month, v->day, v->hour, v->minute, v->second))
		return;
	t = timefmt_days_from_civil(v->year, v->month, v->day) * 86400 +
	    v->hour * 3600 + v->minute * 60 + v->second + (int64_t)minutes * 60;
	days = gatt_floordiv(t, 86400);
	sod = t - days * 86400;
	timefmt_civil_from_days(days, &v->year, &v->month, &v->day);
	v->hour = (int)(sod / 3600);
	v->minute = (int)(sod / 60 % 60);
	v->second = (int)(sod % 60);
}

int
gatt_time(const struct gatt_value *v, dho_time_t *out)
{
	if (!v->has_time || v->year == 0 || v->month == 0 || v->day == 0)
		return DHO_ENOTFOUND;
	if (!gatt_civil_valid(v->year, v->month, v->day, v->hour, v->minute, v->second))
		return DHO_ERANGE;
	return timefmt_from_local(v->year, v->month, v->day, v->hour, v->minute,
	                          v->second, out) == DHO_OK ? DHO_OK : DHO_ERANGE;
}

/* 2A35, and 2A36 (cuff true) with the same layout. */
static int
gatt_bp(struct gatt_cur *c, struct gatt_value *v, bool cuff)
{
	uint8_t flags;
	uint16_t sys, dia, map, pulse, status;
	const char *unit;
	int rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)) ||
	    (rc = gatt_u16(c, "systolic pressure", false, &sys)) ||
	    (rc = gatt_u16(c, "diastolic pressure", false, &dia)) ||
	    (rc = gatt_u16(c, "mean arterial pressure", false, &map)))
		return rc;
	if ((flags & 0x02) && (rc = gatt_datetime(c, "time stamp", true, v)))
		return rc;
	if ((flags & 0x04) && (rc = gatt_u16(c, "pulse rate", true, &pulse)))
		return rc;
	if ((flags & 0x08) && (rc = gatt_user(c, true, v)))
		return rc;
	if ((flags & 0x10) && (rc = gatt_u16(c, "measurement status", true, &status)))
		return rc;
	if ((rc = gatt_end(c, flags, 2)))
		return rc;

	if (flags & 0x10) {
		if (status & 0x0001)
			v->flags |= RFLAG_BODY_MOVEMENT;
		if (status & 0x0002)
			v->flags |= RFLAG_CUFF_LOOSE;
		if (status & 0x0004)
			v->flags |= RFLAG_IRREGULAR_PULSE;
		/* Bits 3-4: 0 in range, 1 above, 2 below, 3 reserved. */
		if (((status >> 3) & 0x03) == 1)
			v->flags |= RFLAG_PULSE_HIGH;
		else if (((status >> 3) & 0x03) == 2)
			v->flags |= RFLAG_PULSE_LOW;
		if (status & 0x0020)
			v->flags |= RFLAG_IMPROPER_POS;
	}
	/* 2A36's systolic field is the cuff pressure while inflating and the
	 * others are unused: the hub stores nothing for it. */
	if (cuff)
		return DHO_OK;
	unit = (flags & 0x01) ? "kPa" : NULL;
	if ((rc = gatt_add_sfloat(c, v, METRIC_BP_SYS, sys, unit)) ||
	    (rc = gatt_add_sfloat(c, v, METRIC_BP_DIA, dia, unit)) ||
	    (rc = gatt_add_sfloat(c, v, METRIC_BP_MAP, map, unit)))
		return rc;
	/* The pulse rate is /min whatever the pressure unit. */
	if (flags & 0x04)
		return gatt_add_sfloat(c, v, METRIC_PULSE, pulse, NULL);
	return DHO_OK;
}

/* 2A1C. */
static int
gatt_temp(struct gatt_cur *c, struct gatt_value *v)
{
	uint8_t flags, type;
	uint32_t raw;
	double value;
	int decimals, rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)) ||
	    (rc = gatt_u32(c, "temperature", false, &raw)))
		return rc;
	if ((flags & 0x02) && (rc = gatt_datetime(c, "time stamp", true, v)))
		return rc;
	if (flags & 0x04) {
		if ((rc = gatt_u8(c, "temperature type", true, &type)))
			return rc;
		v->temp_type = type;
	}
	if ((rc = gatt_end(c, flags, 2)))
		return rc;

	if (gatt_float(raw, &value, &decimals) == DHO_ESPECIAL) {
		(void)gatt_add(v, METRIC_TEMP, NAN, 0);
		gatt_mark_last(v, GATT_MARK_SPECIAL, "temp is %s (FLOAT 0x%08X)",
		               gatt_float_special(raw), (unsigned)raw);
		return DHO_OK;
	}
	return gatt_add_value(c, v, METRIC_TEMP, value, decimals,
	                      (flags & 0x01) ? "[degF]" : NULL);
}

/* 2A37. */
static int
gatt_hr(struct gatt_cur *c, struct gatt_value *v)
{
	uint8_t flags, hr8;
	uint16_t hr16 = 0;
	int rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)))
		return rc;
	if (flags & 0x01) {
		/* The format bit is a flag, but the field is mandatory: either
		 * width is "the heart rate". */
		if ((rc = gatt_u16(c, "heart rate (u16)", false, &hr16)))
			return rc;
	} else {
		if ((rc = gatt_u8(c, "heart rate", false, &hr8)))
			return rc;
		hr16 = hr8;
	}
	if ((flags & 0x08) && (rc = gatt_skip(c, 2, "energy expended", true)))
		return rc;
	if (flags & 0x10) {
		/* At least one interval, then whole u16s to the end. */
		if ((rc = gatt_skip(c, 2, "RR interval", true)))
			return rc;
		if ((c->len - c->off) % 2 != 0) {
			gatt_seterr(c->err, c->errlen,
			            "%s: RR interval flag set but value ends at byte %zu inside "
			            "an RR interval (%zu bytes needed, %zu given)",
			            c->name, c->len, c->len + 1, c->len);
			return DHO_EINVAL;
		}
		c->off = c->len;
	}
	if ((rc = gatt_end(c, flags, 2)))
		return rc;

	/* Bits 1-2: 0 or 1 contact not supported, 2 no contact, 3 contact. */
	if (((flags >> 1) & 0x03) == 2)
		v->flags |= RFLAG_NO_CONTACT;
	return gatt_add_value(c, v, METRIC_PULSE, hr16, 0, NULL);
}

/* PLX measurement status (u16) bits to flags; bits 0-4 are reserved and
 * "ongoing", "validated" and "fully qualified" say nothing to worry about. */
static uint32_t
gatt_plx_meas_flags(uint16_t s)
{
	static const struct { uint16_t bit; uint32_t flag; } map[] = {
		{ 1u << 6, RFLAG_EARLY_ESTIMATE },
		{ 1u << 9, RFLAG_FROM_STORAGE },
		{ 1u << 10, RFLAG_DEMO },
		{ 1u << 11, RFLAG_TESTING },
		{ 1u << 12, RFLAG_CALIBRATION },
		{ 1u << 13, RFLAG_UNAVAILABLE },
		{ 1u << 14, RFLAG_QUESTIONABLE },
		{ 1u << 15, RFLAG_INVALID },
	};
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (s & map[i].bit)
			f |= map[i].flag;
	return f;
}

/* PLX device and sensor status (u24, bits 16-23 reserved). The signal
 * problems are folded into poor_signal and the probe problems into
 * sensor_problem: a nurse acts on the group, not the exact bit. */
static uint32_t
gatt_plx_dev_flags(uint32_t s)
{
	static const struct { uint32_t bit; uint32_t flag; } map[] = {
		{ 1u << 1, RFLAG_EQUIPMENT_FAULT },     /* equipment malfunction */
		{ 1u << 2, RFLAG_SIGNAL_POOR },         /* signal processing irregularity */
		{ 1u << 3, RFLAG_SIGNAL_POOR },         /* inadequate signal */
		{ 1u << 4, RFLAG_SIGNAL_POOR },         /* poor signal */
		{ 1u << 5, RFLAG_LOW_PERFUSION },
		{ 1u << 6, RFLAG_SIGNAL_POOR },         /* erratic signal */
		{ 1u << 7, RFLAG_SIGNAL_POOR },         /* nonpulsatile signal */
		{ 1u << 8, RFLAG_QUESTIONABLE },        /* questionable pulse */
		{ 1u << 10, RFLAG_SIGNAL_POOR },        /* sensor interference */
		{ 1u << 11, RFLAG_SENSOR_PROBLEM },     /* sensor unconnected */
		{ 1u << 12, RFLAG_SENSOR_PROBLEM },     /* unknown sensor */
		{ 1u << 13, RFLAG_SENSOR_PROBLEM },     /* sensor displaced */
		{ 1u << 14, RFLAG_SENSOR_PROBLEM },     /* sensor malfunctioning */
		{ 1u << 15, RFLAG_SENSOR_PROBLEM },     /* sensor disconnected */
	};
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (s & map[i].bit)
			f |= map[i].flag;
	return f;
}

/* 2A5E and 2A5F share the readings and status fields; only the optional
 * fields between them differ. */
static int
gatt_plx(struct gatt_cur *c, struct gatt_value *v, bool spot)
{
	uint8_t flags;
	uint16_t spo2, pulse, meas = 0;
	uint32_t dev = 0;
	bool has_meas, has_dev, has_pai;
	int rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)) ||
	    (rc = gatt_u16(c, "SpO2", false, &spo2)) ||
	    (rc = gatt_u16(c, "pulse rate", false, &pulse)))
		return rc;
	if (spot) {
		if ((flags & 0x01) && (rc = gatt_datetime(c, "timestamp", true, v)))
			return rc;
		has_meas = flags & 0x02;
		has_dev = flags & 0x04;
		has_pai = flags & 0x08;
	} else {
		if ((flags & 0x01) && (rc = gatt_skip(c, 4, "SpO2PR-Fast", true)))
			return rc;
		if ((flags & 0x02) && (rc = gatt_skip(c, 4, "SpO2PR-Slow", true)))
			return rc;
		has_meas = flags & 0x04;
		has_dev = flags & 0x08;
		has_pai = flags & 0x10;
	}
	if (has_meas && (rc = gatt_u16(c, "measurement status", true, &meas)))
		return rc;
	if (has_dev && (rc = gatt_u24(c, "device and sensor status", true, &dev)))
		return rc;
	if (has_pai && (rc = gatt_skip(c, 2, "pulse amplitude index", true)))
		return rc;
	if ((rc = gatt_end(c, flags, 2)))
		return rc;

	v->flags |= gatt_plx_meas_flags(meas) | gatt_plx_dev_flags(dev);
	if (spot && (flags & 0x10))
		v->flags |= RFLAG_CLOCK_NOT_SET;
	if ((rc = gatt_add_sfloat(c, v, METRIC_SPO2, spo2, NULL)))
		return rc;
	return gatt_add_sfloat(c, v, METRIC_PULSE, pulse, NULL);
}

/* 2A9D. */
static int
gatt_weight(struct gatt_cur *c, struct gatt_value *v)
{
	uint8_t flags;
	uint16_t weight;
	int rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)) ||
	    (rc = gatt_u16(c, "weight", false, &weight)))
		return rc;
	if ((flags & 0x02) && (rc = gatt_datetime(c, "time stamp", true, v)))
		return rc;
	if ((flags & 0x04) && (rc = gatt_user(c, true, v)))
		return rc;
	if ((flags & 0x08) && (rc = gatt_skip(c, 4, "BMI and height", true)))
		return rc;
	if ((rc = gatt_end(c, flags, 2)))
		return rc;
	return gatt_add_weight(c, v, weight, flags & 0x01);
}

/* 2A9C: only the weight is a metric of the hub; every other field is
 * length-checked and skipped. A multiple-packet measurement is decoded
 * packet by packet, since each packet's flags say what it carries. */
static int
gatt_bodycomp(struct gatt_cur *c, struct gatt_value *v)
{
	static const struct { uint16_t bit; const char *name; } skipped[] = {
		{ 1u << 3, "basal metabolism" },
		{ 1u << 4, "muscle percentage" },
		{ 1u << 5, "muscle mass" },
		{ 1u << 6, "fat-free mass" },
		{ 1u << 7, "soft lean mass" },
		{ 1u << 8, "body water mass" },
		{ 1u << 9, "impedance" },
	};
	uint16_t flags, weight = 0;
	int rc;

	if ((rc = gatt_u16(c, "flags", false, &flags)) ||
	    (rc = gatt_skip(c, 2, "body fat percentage", false)))
		return rc;
	if ((flags & 0x0002) && (rc = gatt_datetime(c, "time stamp", true, v)))
		return rc;
	if ((flags & 0x0004) && (rc = gatt_user(c, true, v)))
		return rc;
	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
		if ((flags & skipped[i].bit) && (rc = gatt_skip(c, 2, skipped[i].name, true)))
			return rc;
	if ((flags & 0x0400) && (rc = gatt_u16(c, "weight", true, &weight)))
		return rc;
	if ((flags & 0x0800) && (rc = gatt_skip(c, 2, "height", true)))
		return rc;
	if ((rc = gatt_end(c, flags, 4)))
		return rc;
	if (flags & 0x0400)
		return gatt_add_weight(c, v, weight, flags & 0x0001);
	return DHO_OK;
}

/* Glucose sensor status annunciation bits to flags. */
static uint32_t
gatt_glucose_flags(uint16_t s)
{
	static const struct { uint16_t bit; uint32_t flag; } map[] = {
		{ 1u << 0, RFLAG_BATTERY_LOW },
		{ 1u << 1, RFLAG_SENSOR_PROBLEM },      /* sensor malfunction */
		{ 1u << 2, RFLAG_SAMPLE_PROBLEM },      /* sample size insufficient */
		{ 1u << 3, RFLAG_SAMPLE_PROBLEM },      /* strip insertion error */
		{ 1u << 4, RFLAG_SAMPLE_PROBLEM },      /* wrong strip type */
		{ 1u << 5, RFLAG_RESULT_HIGH },
		{ 1u << 6, RFLAG_RESULT_LOW },
		{ 1u << 7, RFLAG_TEMP_PROBLEM },        /* temperature too high */
		{ 1u << 8, RFLAG_TEMP_PROBLEM },        /* temperature too low */
		{ 1u << 9, RFLAG_SAMPLE_PROBLEM },      /* strip pulled too soon */
		{ 1u << 10, RFLAG_DEVICE_FAULT },
		{ 1u << 11, RFLAG_CLOCK_NOT_SET },      /* time fault: time may be wrong */
	};
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (s & map[i].bit)
			f |= map[i].flag;
	return f;
}

/* 2A18. */
static int
gatt_glucose(struct gatt_cur *c, struct gatt_value *v)
{
	uint8_t flags, typeloc = 0;
	uint16_t seq, offset = 0, conc = 0, status = 0;
	const uint8_t *p;
	double value;
	int decimals, rc;

	if ((rc = gatt_u8(c, "flags", false, &flags)) ||
	    (rc = gatt_u16(c, "sequence number", false, &seq)) ||
	    (rc = gatt_datetime(c, "base time", false, v)))
		return rc;
	if ((flags & 0x01) && (rc = gatt_u16(c, "time offset", true, &offset)))
		return rc;
	if (flags & 0x02) {
		if ((rc = gatt_take(c, 3, "concentration, type and location", true, &p)))
			return rc;
		conc = (uint16_t)(p[0] | (p[1] << 8));
		typeloc = p[2];
	}
	if ((flags & 0x08) && (rc = gatt_u16(c, "sensor status", true, &status)))
		return rc;
	if ((rc = gatt_end(c, flags, 2)))
		return rc;

	v->sequence = seq;
	if (flags & 0x01) {
		v->has_time_offset = true;
		v->time_offset = (int16_t)offset;
		if (v->year != 0 && v->month != 0 && v->day != 0)
			gatt_add_minutes(v, v->time_offset);
	}
	v->flags |= gatt_glucose_flags(status);
	if (!(flags & 0x02))
		return DHO_OK;
	v->glucose_type = typeloc & 0x0F;
	v->glucose_location = typeloc >> 4;

	if (gatt_sfloat(conc, &value, &decimals) == DHO_ESPECIAL) {
		(void)gatt_add(v, METRIC_GLUCOSE, NAN, 0);
		gatt_mark_last(v, GATT_MARK_SPECIAL, "glucose is %s (SFLOAT 0x%04X)",
		               gatt_sfloat_special(conc), conc);
		return DHO_OK;
	}
	if (flags & 0x04) {
		/* mol/L to mmol/L is exact and not in the metric table: x 1000
		 * moves the decimal point three places. */
		decimals = gatt_clamp_decimals(decimals - 3);
		(void)gatt_add(v, METRIC_GLUCOSE, gatt_round(value * 1000.0, decimals), decimals);
	} else {
		/* kg/L x 100000 is mg/dL, which the metric table converts. */
		if ((rc = gatt_add_value(c, v, METRIC_GLUCOSE, value * 100000.0, 0, "mg/dL")))
			return rc;
	}
	if (v->glucose_type == GATT_GLUCOSE_CONTROL_TYPE)
		gatt_mark_last(v, GATT_MARK_CONTROL, "glucose is a control-solution "
		               "measurement (type 10), not a patient value");
	else if (v->glucose_location == GATT_GLUCOSE_CONTROL_LOCATION)
		gatt_mark_last(v, GATT_MARK_CONTROL, "glucose is a control-solution "
		               "measurement (sample location 4), not a patient value");
	return DHO_OK;
}

int
gatt_decode(uint16_t uuid, const uint8_t *buf, size_t len,
            struct gatt_value *out, char *err, size_t errlen)
{
	struct gatt_cur c;
	int rc;

	memset(out, 0, sizeof(*out));
	out->uuid = uuid;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (buf == NULL)
		len = 0;
	c.buf = buf;
	c.len = len;
	c.off = 0;
	snprintf(c.name, sizeof(c.name), "%04x", uuid);
	c.err = err;
	c.errlen = errlen;

	switch (uuid) {
	case GATT_BP_MEASUREMENT:
		rc = gatt_bp(&c, out, false);
		break;
	case GATT_INTERMEDIATE_CUFF:
		rc = gatt_bp(&c, out, true);
		break;
	case GATT_TEMP_MEASUREMENT:
		rc = gatt_temp(&c, out);
		break;
	case GATT_HR_MEASUREMENT:
		rc = gatt_hr(&c, out);
		break;
	case GATT_PLX_SPOT_CHECK:
		rc = gatt_plx(&c, out, true);
		break;
	case GATT_PLX_CONTINUOUS:
		rc = gatt_plx(&c, out, false);
		break;
	case GATT_WEIGHT_MEASUREMENT:
		rc = gatt_weight(&c, out);
		break;
	case GATT_BODY_COMPOSITION:
		rc = gatt_bodycomp(&c, out);
		break;
	case GATT_GLUCOSE_MEASUREMENT:
		rc = gatt_glucose(&c, out);
		break;
	default:
		gatt_seterr(err, errlen, "%s: not a characteristic the hub decodes", c.name);
		return DHO_EUNSUPP;
	}
	if (rc != DHO_OK) {
		/* Nothing half-decoded may be mistaken for a result. */
		memset(out, 0, sizeof(*out));
		out->uuid = uuid;
		return rc;
	}
	gatt_apply_flags(out);
	return DHO_OK;
}

uint32_t
gatt_reserved_flags(uint16_t uuid, const uint8_t *buf, size_t len)
{
	/* The flags bits each layout leaves reserved, from the GATT Specification Supplement. */
	static const struct { uint16_t uuid; uint16_t mask; bool wide; } rfu[] = {
		{ GATT_BP_MEASUREMENT, 0xE0, false },
		{ GATT_INTERMEDIATE_CUFF, 0xE0, false },
		{ GATT_TEMP_MEASUREMENT, 0xF8, false },
		{ GATT_HR_MEASUREMENT, 0xE0, false },
		{ GATT_PLX_SPOT_CHECK, 0xE0, false },
		{ GATT_PLX_CONTINUOUS, 0xE0, false },
		{ GATT_WEIGHT_MEASUREMENT, 0xF0, false },
		{ GATT_BODY_COMPOSITION, 0xE000, true },
		{ GATT_GLUCOSE_MEASUREMENT, 0xE0, false },
	};

	if (buf == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(rfu) / sizeof(rfu[0]); i++) {
		if (rfu[i].uuid != uuid)
			continue;
		if (len < (rfu[i].wide ? 2u : 1u))
			return 0;
		return (rfu[i].wide ? (uint32_t)(buf[0] | buf[1] << 8) : buf[0]) & rfu[i].mask;
	}
	return 0;
}

static int
gatt_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool
gatt_hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (gatt_hexval((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static unsigned
gatt_hex16(const char *s)
{
	return (unsigned)(gatt_hexval((unsigned char)s[0]) << 12 |
	                  gatt_hexval((unsigned char)s[1]) << 8 |
	                  gatt_hexval((unsigned char)s[2]) << 4 |
	                  gatt_hexval((unsigned char)s[3]));
}

int
gatt_parse_uuid(const char *s, uint16_t *out)
{
	static const char base[] = "-0000-1000-8000-00805f9b34fb";
	size_t n;

	if (s == NULL)
		return DHO_EINVAL;
	n = strlen(s);
	if (n == 6 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n = 4;
	}
	if (n == 4) {
		if (!gatt_hex_run(s, 4))
			return DHO_EINVAL;
		*out = (uint16_t)gatt_hex16(s);
		return DHO_OK;
	}
	if (n != 36)
		return DHO_EINVAL;
	/* 8-4-4-4-12 hex digits. */
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : gatt_hexval((unsigned char)s[i]) < 0)
			return DHO_EINVAL;
	}
	if (strncmp(s, "0000", 4) != 0 || strncasecmp(s + 8, base, sizeof(base) - 1) != 0)
		return DHO_EUNSUPP;
	*out = (uint16_t)gatt_hex16(s + 4);
	return DHO_OK;
}

int
gatt_parse_hex(const char *s, uint8_t *buf, size_t cap, size_t *len,
               char *err, size_t errlen)
{
	size_t n;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL) {
		gatt_seterr(err, errlen, "hex: no value");
		return DHO_EINVAL;
	}
	n = strlen(s);
	/* The first bad character is named before the count is judged: "1e8g"
	 * is better told as a stray 'g' than as a length problem. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (gatt_hexval(ch) >= 0)
			continue;
		if (isprint(ch))
			gatt_seterr(err, errlen, "hex: character %zu ('%c') is not a hex digit",
			            i + 1, ch);
		else
			gatt_seterr(err, errlen, "hex: character %zu (byte 0x%02x) is not a "
			            "hex digit", i + 1, ch);
		return DHO_EINVAL;
	}
	if (n % 2 != 0) {
		gatt_seterr(err, errlen, "hex: %zu digits, an odd number: every byte takes two", n);
		return DHO_EINVAL;
	}
	if (n / 2 > cap) {
		gatt_seterr(err, errlen, "hex: %zu digits make %zu bytes, more than the %zu allowed",
		            n, n / 2, cap);
		return DHO_EINVAL;
	}
	for (size_t i = 0; i < n / 2; i++)
		buf[i] = (uint8_t)(gatt_hexval((unsigned char)s[2 * i]) << 4 |
		                   gatt_hexval((unsigned char)s[2 * i + 1]));
	*len = n / 2;
	return DHO_OK;
}

static int
gatt_json_set(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) == 0 ? DHO_OK : DHO_ENOMEM;
}

/* One element of "readings" (with_value: the value through the shared
 * formatter, metric_json_value()) or of "quarantined". */
static json_t *
gatt_json_reading(const struct gatt_value *v, size_t i, bool with_value)
{
	const struct reading *r = &v->readings[i];
	json_t *o = json_object();

	if (o == NULL ||
	    gatt_json_set(o, "metric", json_string(metric_name(r->metric))) != DHO_OK)
		goto fail;
	if (!with_value) {
		if (gatt_json_set(o, "reason", json_string(v->reason[i])) != DHO_OK)
			goto fail;
	} else if (gatt_json_set(o, "value", metric_json_value(r->value, r->decimals)) != DHO_OK ||
	           gatt_json_set(o, "unit", json_string(metric_unit(r->metric))) != DHO_OK) {
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

int
gatt_to_json(const struct gatt_value *v, char **json_out)
{
	char name[5], tbuf[TIMEFMT_LEN], local[48];
	json_t *root = NULL, *readings = NULL, *flags = NULL, *quar = NULL;
	dho_time_t t;
	int rc = DHO_ENOMEM, trc;

	*json_out = NULL;
	root = json_object();
	if (root == NULL)
		goto done;
	/* Each array is owned by root as soon as it exists, so one decref of
	 * root frees everything on every path. */
	snprintf(name, sizeof(name), "%04x", v->uuid);
	if (gatt_json_set(root, "uuid", json_string(name)) != DHO_OK)
		goto done;
	trc = gatt_time(v, &t);
	if (trc == DHO_OK) {
		timefmt_format(t, tbuf);
		if (gatt_json_set(root, "measured_at", json_string(tbuf)) != DHO_OK)
			goto done;
	}
	readings = json_array();
	if (gatt_json_set(root, "readings", readings) != DHO_OK)
		goto done;
	flags = json_array();
	if (gatt_json_set(root, "flags", flags) != DHO_OK)
		goto done;
	if (v->has_user && gatt_json_set(root, "user", json_integer(v->user)) != DHO_OK)
		goto done;

	for (size_t i = 0; i < v->n && i < GATT_MAX_READINGS; i++) {
		const struct reading *r = &v->readings[i];

		if (v->mark[i] != GATT_MARK_NONE || !isfinite(r->value)) {
			if (quar == NULL) {
				quar = json_array();
				if (gatt_json_set(root, "quarantined", quar) != DHO_OK)
					goto done;
			}
			if (json_array_append_new(quar, gatt_json_reading(v, i, false)) != 0)
				goto done;
			continue;
		}
		if (json_array_append_new(readings, gatt_json_reading(v, i, true)) != 0)
			goto done;
	}
	for (int b = 0; b < RFLAG_COUNT_; b++) {
		const char *fn = metric_flag_name(1u << b);

		if ((v->flags & (1u << b)) && fn != NULL &&
		    json_array_append_new(flags, json_string(fn)) != 0)
			goto done;
	}
	if (trc == DHO_ERANGE) {
		snprintf(local, sizeof(local), "%04d-%02d-%02dT%02d:%02d:%02d", v->year,
		         v->month, v->day, v->hour, v->minute, v->second);
		if (gatt_json_set(root, "device_time", json_string(local)) != DHO_OK)
			goto done;
	}

	*json_out = metric_json_dumps(root, JSON_PRESERVE_ORDER);
	if (*json_out != NULL)
		rc = DHO_OK;
done:
	json_decref(root);
	return rc;
}
