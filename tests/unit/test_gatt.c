/*
 * test_gatt.c: BLE GATT values through gatt_decode(), the IEEE 11073 number
 * helpers, the text parsers and gatt_to_json().
 *
 * Every example value of the GATT Specification Supplement is here, followed by vectors of
 * our own for each flag, unit and status bit. Every value is decoded from a
 * heap buffer of exactly its length so that AddressSanitizer catches a read
 * past the end, and every valid vector is also decoded cut short at each
 * shorter length and with one byte too many, each of which must fail.
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

#include "expect.h"
#include <jansson.h>

#include "gatt.h"
#include "timefmt.h"

#define NO_USER (-1)

/* Hex with optional spaces, as the reference writes it, into bytes. */
static size_t
unhex(const char *spaced, uint8_t *out, size_t cap)
{
	char digits[2 * GATT_MAX_VALUE + 1];
	char err[DHO_ERRLEN];
	size_t n = 0, len = 0;

	for (const char *p = spaced; *p != '\0'; p++)
		if (*p != ' ') {
			assert_true(n + 1 < sizeof(digits));
			digits[n++] = *p;
		}
	digits[n] = '\0';
	assert_int_equal(gatt_parse_hex(digits, out, cap, &len, err, sizeof(err)), DHO_OK);
	return len;
}

/* Decodes bytes[0..len) from a heap copy of exactly len bytes. */
static int
decode_bytes(uint16_t uuid, const uint8_t *bytes, size_t len, struct gatt_value *v,
             char *err)
{
	uint8_t *buf = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, bytes, len);
	rc = gatt_decode(uuid, len > 0 ? buf : NULL, len, v, err, DHO_ERRLEN);
	free(buf);
	return rc;
}

static int
decode(uint16_t uuid, const char *hex, struct gatt_value *v, char *err)
{
	uint8_t bytes[GATT_MAX_VALUE];
	size_t len = unhex(hex, bytes, sizeof(bytes));

	return decode_bytes(uuid, bytes, len, v, err);
}

static bool
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

struct exp_reading {
	enum metric metric;
	double value;           /* ignored when marked */
	int decimals;
	enum gatt_mark mark;
	const char *reason;     /* for marked readings */
};

struct vec {
	const char *name;
	uint16_t uuid;
	const char *hex;
	size_t n;
	struct exp_reading r[4];
	uint32_t flags;
	bool has_time;
	int y, mo, d, h, mi, s;
	int user;               /* NO_USER: has_user false */
	bool rr_tail;           /* 2A37 with RR intervals: one more byte is an
	                           odd tail, two more are another interval */
};

#define R(m, v, d) { (m), (v), (d), GATT_MARK_NONE, NULL }
#define RM(m, mark, why) { (m), 0, 0, (mark), (why) }

static const struct vec vectors[] = {
	/* Every example value of the GATT Specification Supplement. */
	{ "ref 2a35 mmHg", 0x2A35,
	  "1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00", 4,
	  { R(METRIC_BP_SYS, 138, 0), R(METRIC_BP_DIA, 88, 0), R(METRIC_BP_MAP, 120, 0),
	    R(METRIC_PULSE, 60, 0) },
	  RFLAG_BODY_MOVEMENT | RFLAG_CUFF_LOOSE | RFLAG_IRREGULAR_PULSE | RFLAG_IMPROPER_POS,
	  true, 0, 4, 17, 20, 41, 59, 1, false },
	{ "ref 2a35 kPa", 0x2A35, "15 BD F0 0B 00 9F F0 3C 00 12 00", 4,
	  { R(METRIC_BP_SYS, 141.8, 1), R(METRIC_BP_DIA, 82.5, 1), R(METRIC_BP_MAP, 119.3, 1),
	    R(METRIC_PULSE, 60, 0) },
	  RFLAG_CUFF_LOOSE | RFLAG_PULSE_LOW, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "ref 2a1c", 0x2A1C, "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04", 1,
	  { R(METRIC_TEMP, 37.60, 2) }, 0, true, 2012, 12, 5, 11, 50, 27, NO_USER, false },
	{ "ref 2a37 u8", 0x2A37, "00 55", 1, { R(METRIC_PULSE, 85, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "ref 2a37 energy rr", 0x2A37, "1E 55 32 00 21 00", 1, { R(METRIC_PULSE, 85, 0) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, true },
	{ "ref 2a37 u16 3rr", 0x2A37, "1F 01 01 32 01 01 00 02 01 FF FF", 1,
	  { R(METRIC_PULSE, 257, 0) }, 0, false, 0, 0, 0, 0, 0, 0, NO_USER, true },
	{ "ref 2a9d kg", 0x2A9D, "00 B0 36", 1, { R(METRIC_WEIGHT, 70.0, 3) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "ref 2a9d lb", 0x2A9D, "01 54 3D", 1, { R(METRIC_WEIGHT, 71.214, 3) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "ref 2a9d time", 0x2A9D, "02 B0 36 E7 07 0C 19 0E 1E 2D", 1,
	  { R(METRIC_WEIGHT, 70.0, 3) }, 0, true, 2023, 12, 25, 14, 30, 45, NO_USER, false },
	{ "ref 2a9d user bmi", 0x2A9D, "0C B0 36 05 F5 00 D6 06", 1,
	  { R(METRIC_WEIGHT, 70.0, 3) }, 0, false, 0, 0, 0, 0, 0, 0, 5, false },
	{ "ref 2a9c no weight", 0x2A9C, "30 00 64 00 C8 00 B8 0B", 0, { R(0, 0, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "ref 2a18", 0x2A18, "1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01", 1,
	  { R(METRIC_GLUCOSE, 166518.65, 2) },
	  RFLAG_BATTERY_LOW | RFLAG_SAMPLE_PROBLEM | RFLAG_TEMP_PROBLEM,
	  true, 2019, 2, 27, 11, 5, 30, NO_USER, false },

	/* Our own, for each flag, unit and status bit: 2A35 and 2A36. */
	{ "2a35 bare", 0x2A35, "00 72 00 50 00 5A 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 time only", 0x2A35, "02 72 00 50 00 5A 00 EA 07 0B 17 09 0F 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) }, 0,
	  true, 2026, 11, 23, 9, 15, 0, NO_USER, false },
	{ "2a35 user 255 unknown", 0x2A35, "08 72 00 50 00 5A 00 FF", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status body movement", 0x2A35, "10 72 00 50 00 5A 00 01 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_BODY_MOVEMENT, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status cuff loose", 0x2A35, "10 72 00 50 00 5A 00 02 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_CUFF_LOOSE, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status irregular", 0x2A35, "10 72 00 50 00 5A 00 04 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_IRREGULAR_PULSE, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status pulse above", 0x2A35, "10 72 00 50 00 5A 00 08 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_PULSE_HIGH, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status pulse below", 0x2A35, "10 72 00 50 00 5A 00 10 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_PULSE_LOW, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status pulse range reserved", 0x2A35, "10 72 00 50 00 5A 00 18 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status improper position", 0x2A35, "10 72 00 50 00 5A 00 20 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  RFLAG_IMPROPER_POS, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 status reserved bits", 0x2A35, "10 72 00 50 00 5A 00 C0 FF", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 reserved flag bits ignored", 0x2A35, "E0 72 00 50 00 5A 00", 3,
	  { R(METRIC_BP_SYS, 114, 0), R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 kPa decimals", 0x2A35, "01 C8 E0 0B 00 9F F0", 3,
	  { R(METRIC_BP_SYS, 15.0, 1), R(METRIC_BP_DIA, 82.5, 1), R(METRIC_BP_MAP, 119.3, 1) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 sys NaN", 0x2A35, "04 FF 07 50 00 5A 00 48 00", 4,
	  { RM(METRIC_BP_SYS, GATT_MARK_SPECIAL, "bp_sys is NaN (SFLOAT 0x07FF)"),
	    R(METRIC_BP_DIA, 80, 0), R(METRIC_BP_MAP, 90, 0), R(METRIC_PULSE, 72, 0) },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 specials", 0x2A35, "04 00 08 FE 07 02 08 01 08", 4,
	  { RM(METRIC_BP_SYS, GATT_MARK_SPECIAL, "bp_sys is NRes (SFLOAT 0x0800)"),
	    RM(METRIC_BP_DIA, GATT_MARK_SPECIAL, "bp_dia is +INF (SFLOAT 0x07FE)"),
	    RM(METRIC_BP_MAP, GATT_MARK_SPECIAL, "bp_map is -INF (SFLOAT 0x0802)"),
	    RM(METRIC_PULSE, GATT_MARK_SPECIAL, "pulse is reserved (SFLOAT 0x0801)") },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a35 kPa NaN map", 0x2A35, "01 BD F0 0B 00 FF 07", 3,
	  { R(METRIC_BP_SYS, 141.8, 1), R(METRIC_BP_DIA, 82.5, 1),
	    RM(METRIC_BP_MAP, GATT_MARK_SPECIAL, "bp_map is NaN (SFLOAT 0x07FF)") },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a36 cuff stores nothing", 0x2A36, "1E 96 00 FF 07 FF 07 E2 07 04 11 0F 33 00 48 00 02 01 00",
	  0, { R(0, 0, 0) }, RFLAG_BODY_MOVEMENT, true, 2018, 4, 17, 15, 51, 0, 2, false },
	{ "2a36 bare", 0x2A36, "00 96 00 FF 07 FF 07", 0, { R(0, 0, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },

	/* 2A1C. */
	{ "2a1c Cel bare", 0x2A1C, "00 72 01 00 FF", 1, { R(METRIC_TEMP, 37.0, 1) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c degF", 0x2A1C, "01 DA 03 00 FF", 1, { R(METRIC_TEMP, 37.0, 2) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c degF time type", 0x2A1C, "07 DA 03 00 FF E2 07 04 11 0F 33 00 02", 1,
	  { R(METRIC_TEMP, 37.0, 2) }, 0, true, 2018, 4, 17, 15, 51, 0, NO_USER, false },
	{ "2a1c type only", 0x2A1C, "04 B0 0E 00 FE 09", 1, { R(METRIC_TEMP, 37.6, 2) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c NaN", 0x2A1C, "00 FF FF 7F 00", 1,
	  { RM(METRIC_TEMP, GATT_MARK_SPECIAL, "temp is NaN (FLOAT 0x007FFFFF)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c NRes degF", 0x2A1C, "01 00 00 80 00", 1,
	  { RM(METRIC_TEMP, GATT_MARK_SPECIAL, "temp is NRes (FLOAT 0x00800000)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c +INF", 0x2A1C, "00 FE FF 7F 00", 1,
	  { RM(METRIC_TEMP, GATT_MARK_SPECIAL, "temp is +INF (FLOAT 0x007FFFFE)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c -INF", 0x2A1C, "00 02 00 80 00", 1,
	  { RM(METRIC_TEMP, GATT_MARK_SPECIAL, "temp is -INF (FLOAT 0x00800002)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a1c reserved", 0x2A1C, "00 01 00 80 00", 1,
	  { RM(METRIC_TEMP, GATT_MARK_SPECIAL, "temp is reserved (FLOAT 0x00800001)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },

	/* 2A37. */
	{ "2a37 contact unsupported", 0x2A37, "02 48", 1, { R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a37 no contact", 0x2A37, "04 48", 1, { R(METRIC_PULSE, 72, 0) }, RFLAG_NO_CONTACT,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a37 contact", 0x2A37, "06 48", 1, { R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a37 u16 energy", 0x2A37, "09 48 00 10 27", 1, { R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a37 rr only", 0x2A37, "10 48 00 04", 1, { R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, true },

	/* 2A5E. */
	{ "2a5e bare", 0x2A5E, "00 61 00 48 00", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5e all fields", 0x2A5E, "1F C8 E0 48 00 EA 07 0B 17 09 0F 00 00 C0 30 00 00 2C 00", 2,
	  { R(METRIC_SPO2, 2.00, 2), R(METRIC_PULSE, 72, 0) },
	  RFLAG_QUESTIONABLE | RFLAG_INVALID | RFLAG_SIGNAL_POOR | RFLAG_LOW_PERFUSION |
	  RFLAG_CLOCK_NOT_SET, true, 2026, 11, 23, 9, 15, 0, NO_USER, false },
	{ "2a5e spo2 NRes", 0x2A5E, "00 00 08 48 00", 2,
	  { RM(METRIC_SPO2, GATT_MARK_SPECIAL, "spo2 is NRes (SFLOAT 0x0800)"),
	    R(METRIC_PULSE, 72, 0) }, 0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5e decimals", 0x2A5E, "00 65 F0 02 20", 2,
	  { R(METRIC_SPO2, 10.1, 1), R(METRIC_PULSE, 200, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5e pai", 0x2A5E, "08 61 00 48 00 32 F0", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },

	/* 2A5F. */
	{ "2a5f bare", 0x2A5F, "00 61 00 48 00", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5f all fields", 0x2A5F, "1F 61 00 48 00 60 00 49 00 5F 00 47 00 40 00 20 08 00 32 F0", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) },
	  RFLAG_EARLY_ESTIMATE | RFLAG_LOW_PERFUSION | RFLAG_SENSOR_PROBLEM,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5f fast only", 0x2A5F, "01 61 00 48 00 60 00 49 00", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5f slow only", 0x2A5F, "02 61 00 48 00 60 00 49 00", 2,
	  { R(METRIC_SPO2, 97, 0), R(METRIC_PULSE, 72, 0) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a5f pulse NaN", 0x2A5F, "00 61 00 FF 07", 2,
	  { R(METRIC_SPO2, 97, 0),
	    RM(METRIC_PULSE, GATT_MARK_SPECIAL, "pulse is NaN (SFLOAT 0x07FF)") }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },

	/* 2A9D. */
	{ "2a9d unsuccessful", 0x2A9D, "02 FF FF E7 07 0C 19 0E 1E 2D", 1,
	  { RM(METRIC_WEIGHT, GATT_MARK_UNSUCCESSFUL, "weight measurement unsuccessful (0xFFFF)") },
	  0, true, 2023, 12, 25, 14, 30, 45, NO_USER, false },
	{ "2a9d lb all", 0x2A9D, "0F 54 3D E7 07 0C 19 0E 1E 2D 02 F5 00 D6 02", 1,
	  { R(METRIC_WEIGHT, 71.214, 3) }, 0, true, 2023, 12, 25, 14, 30, 45, 2, false },
	{ "2a9d odd raw", 0x2A9D, "00 01 00", 1, { R(METRIC_WEIGHT, 0.005, 3) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },

	/* 2A9C. */
	{ "2a9c weight kg", 0x2A9C, "00 04 64 00 B0 36", 1, { R(METRIC_WEIGHT, 70.0, 3) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a9c weight lb", 0x2A9C, "01 04 64 00 54 3D", 1, { R(METRIC_WEIGHT, 71.214, 3) }, 0,
	  false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a9c every field", 0x2A9C,
	  "FE 1F 64 00 E7 07 0C 19 0E 1E 2D 03 10 1B C8 00 B8 0B 10 27 20 4E 30 75 "
	  "88 13 B0 36 D6 06", 1,
	  { R(METRIC_WEIGHT, 70.0, 3) }, 0, true, 2023, 12, 25, 14, 30, 45, 3, false },
	{ "2a9c weight unsuccessful", 0x2A9C, "00 04 FF FF FF FF", 1,
	  { RM(METRIC_WEIGHT, GATT_MARK_UNSUCCESSFUL, "weight measurement unsuccessful (0xFFFF)") },
	  0, false, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a9c multi-packet no weight", 0x2A9C, "06 10 64 00 E7 07 0C 19 0E 1E 2D 01", 0,
	  { R(0, 0, 0) }, 0, true, 2023, 12, 25, 14, 30, 45, 1, false },

	/* 2A18. */
	{ "2a18 no concentration", 0x2A18, "00 07 00 E3 07 02 1B 0B 0A 1E", 0, { R(0, 0, 0) }, 0,
	  true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 kg/L", 0x2A18, "02 08 00 E3 07 02 1B 0B 0A 1E 64 B0 11", 1,
	  { R(METRIC_GLUCOSE, 5.55, 2) }, 0, true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 mol/L", 0x2A18, "06 09 00 E3 07 02 1B 0B 0A 1E 37 C0 11", 1,
	  { R(METRIC_GLUCOSE, 5.5, 1) }, 0, true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 mol/L fine", 0x2A18, "06 09 00 E3 07 02 1B 0B 0A 1E 26 B2 11", 1,
	  { R(METRIC_GLUCOSE, 5.50, 2) }, 0, true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 control type", 0x2A18, "02 0A 00 E3 07 02 1B 0B 0A 1E 64 B0 4A", 1,
	  { RM(METRIC_GLUCOSE, GATT_MARK_CONTROL, "glucose is a control-solution measurement "
	       "(type 10), not a patient value") }, 0,
	  true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 control location", 0x2A18, "02 0A 00 E3 07 02 1B 0B 0A 1E 64 B0 41", 1,
	  { RM(METRIC_GLUCOSE, GATT_MARK_CONTROL, "glucose is a control-solution measurement "
	       "(sample location 4), not a patient value") }, 0,
	  true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 NaN", 0x2A18, "02 0B 00 E3 07 02 1B 0B 0A 1E FF 07 11", 1,
	  { RM(METRIC_GLUCOSE, GATT_MARK_SPECIAL, "glucose is NaN (SFLOAT 0x07FF)") }, 0,
	  true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 all status bits", 0x2A18, "0A 0C 00 E3 07 02 1B 0B 0A 1E 64 B0 11 FF FF", 1,
	  { R(METRIC_GLUCOSE, 5.55, 2) },
	  RFLAG_BATTERY_LOW | RFLAG_SENSOR_PROBLEM | RFLAG_SAMPLE_PROBLEM | RFLAG_RESULT_HIGH |
	  RFLAG_RESULT_LOW | RFLAG_TEMP_PROBLEM | RFLAG_DEVICE_FAULT | RFLAG_CLOCK_NOT_SET,
	  true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
	{ "2a18 offset over leap day", 0x2A18, "01 0D 00 E8 07 02 1D 17 3A 00 05 00", 0,
	  { R(0, 0, 0) }, 0, true, 2024, 3, 1, 0, 3, 0, NO_USER, false },
	{ "2a18 offset back over new year", 0x2A18, "01 0E 00 E9 07 01 01 00 02 00 FB FF", 0,
	  { R(0, 0, 0) }, 0, true, 2024, 12, 31, 23, 57, 0, NO_USER, false },
	{ "2a18 offset on unknown time", 0x2A18, "01 0F 00 00 00 00 00 00 00 00 3C 00", 0,
	  { R(0, 0, 0) }, 0, true, 0, 0, 0, 0, 0, 0, NO_USER, false },
	{ "2a18 context follows", 0x2A18, "12 10 00 E3 07 02 1B 0B 0A 1E 64 B0 11", 1,
	  { R(METRIC_GLUCOSE, 5.55, 2) }, 0, true, 2019, 2, 27, 11, 10, 30, NO_USER, false },
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static void
check_vector(const struct vec *t, const struct gatt_value *v)
{
	EXPECT(t->name, v->uuid == t->uuid);
	EXPECT(t->name, v->n == t->n);
	for (size_t i = 0; i < t->n && i < v->n; i++) {
		const struct exp_reading *e = &t->r[i];
		const struct reading *r = &v->readings[i];

		EXPECT(t->name, r->metric == e->metric);
		EXPECT(t->name, v->mark[i] == e->mark);
		EXPECT(t->name, r->flags == t->flags);
		EXPECT(t->name, r->measured_at == 0);
		if (e->mark == GATT_MARK_NONE) {
			if (!near(r->value, e->value))
				print_error("case \"%s\" reading %zu: %.17g != %.17g\n", t->name,
				            i, r->value, e->value);
			EXPECT(t->name, near(r->value, e->value));
			EXPECT(t->name, r->decimals == e->decimals);
			EXPECT(t->name, v->reason[i][0] == '\0');
		} else {
			if (strcmp(v->reason[i], e->reason) != 0)
				print_error("case \"%s\": reason \"%s\"\n", t->name, v->reason[i]);
			EXPECT(t->name, strcmp(v->reason[i], e->reason) == 0);
			if (e->mark == GATT_MARK_SPECIAL || e->mark == GATT_MARK_UNSUCCESSFUL)
				EXPECT(t->name, !isfinite(r->value));
		}
	}
	if (v->flags != t->flags)
		print_error("case \"%s\": flags 0x%x\n", t->name, (unsigned)v->flags);
	EXPECT(t->name, v->flags == t->flags);
	EXPECT(t->name, v->has_time == t->has_time);
	if (t->has_time) {
		EXPECT(t->name, v->year == t->y);
		EXPECT(t->name, v->month == t->mo);
		EXPECT(t->name, v->day == t->d);
		EXPECT(t->name, v->hour == t->h);
		EXPECT(t->name, v->minute == t->mi);
		EXPECT(t->name, v->second == t->s);
	}
	EXPECT(t->name, v->has_user == (t->user != NO_USER));
	if (t->user != NO_USER)
		EXPECT(t->name, v->user == t->user);
}

static void
test_vectors(void **state)
{
	struct gatt_value v;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		int rc = decode(vectors[i].uuid, vectors[i].hex, &v, err);

		if (rc != DHO_OK)
			print_error("case \"%s\": %s\n", vectors[i].name, err);
		EXPECT(vectors[i].name, rc == DHO_OK);
		EXPECT(vectors[i].name, err[0] == '\0');
		check_vector(&vectors[i], &v);
	}
}

/* Every valid vector cut at every shorter length is malformed, and the
 * message says where the value ends and how many bytes were given. */
static void
test_truncated(void **state)
{
	uint8_t bytes[GATT_MAX_VALUE];
	struct gatt_value v;
	char err[DHO_ERRLEN], want[64], prefix[8];
	size_t checked = 0;

	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vec *t = &vectors[i];
		size_t len = unhex(t->hex, bytes, sizeof(bytes));

		snprintf(prefix, sizeof(prefix), "%04x: ", t->uuid);
		for (size_t cut = 0; cut < len; cut++) {
			/* An RR interval list may lose whole intervals and stay
			 * valid, as long as one is left. */
			if (t->rr_tail && cut >= 2 && (len - cut) % 2 == 0) {
				int rc = decode_bytes(t->uuid, bytes, cut, &v, err);
				size_t base = (bytes[0] & 0x01 ? 3 : 2) + (bytes[0] & 0x08 ? 2 : 0);

				EXPECT(t->name, rc == (cut >= base + 2 ? DHO_OK : DHO_EINVAL));
				continue;
			}
			memset(err, 0, sizeof(err));
			EXPECT(t->name, decode_bytes(t->uuid, bytes, cut, &v, err) == DHO_EINVAL);
			EXPECT(t->name, strncmp(err, prefix, strlen(prefix)) == 0);
			snprintf(want, sizeof(want), "value ends at byte %zu", cut);
			if (strstr(err, want) == NULL)
				print_error("case \"%s\" cut %zu: \"%s\"\n", t->name, cut, err);
			EXPECT(t->name, strstr(err, want) != NULL);
			snprintf(want, sizeof(want), ", %zu given)", cut);
			EXPECT(t->name, strstr(err, want) != NULL);
			EXPECT(t->name, v.n == 0);
			checked++;
		}
	}
	assert_true(checked > 500);
}

/* One byte more than the flags announce is malformed too. */
static void
test_trailing(void **state)
{
	uint8_t bytes[GATT_MAX_VALUE];
	struct gatt_value v;
	char err[DHO_ERRLEN], want[64];

	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vec *t = &vectors[i];
		size_t len = unhex(t->hex, bytes, sizeof(bytes));

		bytes[len] = 0x00;
		EXPECT(t->name, decode_bytes(t->uuid, bytes, len + 1, &v, err) == DHO_EINVAL);
		if (t->rr_tail) {
			EXPECT(t->name, strstr(err, "inside an RR interval") != NULL);
			/* Two more bytes are one more interval. */
			bytes[len + 1] = 0x00;
			EXPECT(t->name, decode_bytes(t->uuid, bytes, len + 2, &v, err) == DHO_OK);
			continue;
		}
		snprintf(want, sizeof(want), "1 byte after the last field");
		EXPECT(t->name, strstr(err, want) != NULL);
		snprintf(want, sizeof(want), "announce %zu bytes, %zu given", len, len + 1);
		if (strstr(err, want) == NULL)
			print_error("case \"%s\": \"%s\"\n", t->name, err);
		EXPECT(t->name, strstr(err, want) != NULL);
	}
}

static const struct {
	uint16_t uuid;
	const char *hex;
	const char *err;
} messages[] = {
	{ 0x2A1C, "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B",
	  "2a1c: temperature type flag set but value ends at byte 12 (13 bytes needed, 12 given)" },
	{ 0x2A1C, "", "2a1c: no flags: value ends at byte 0 (1 byte needed, 0 given)" },
	{ 0x2A1C, "00 B0 0E", "2a1c: no temperature: value ends at byte 3 (5 bytes needed, 3 given)" },
	{ 0x2A1C, "02 B0 0E 00 FE DC 07",
	  "2a1c: time stamp flag set but value ends at byte 7 (12 bytes needed, 7 given)" },
	{ 0x2A37, "17 01 01",
	  "2a37: RR interval flag set but value ends at byte 3 (5 bytes needed, 3 given)" },
	{ 0x2A37, "10 48 00 04 01",
	  "2a37: RR interval flag set but value ends at byte 5 inside an RR interval "
	  "(6 bytes needed, 5 given)" },
	{ 0x2A37, "01 48", "2a37: no heart rate (u16): value ends at byte 2 (3 bytes needed, 2 given)" },
	{ 0x2A37, "08 48 01", "2a37: energy expended flag set but value ends at byte 3 "
	  "(4 bytes needed, 3 given)" },
	{ 0x2A35, "1E 8A 00 58", "2a35: no diastolic pressure: value ends at byte 4 "
	  "(5 bytes needed, 4 given)" },
	{ 0x2A35, "04 8A 00 58 00 78 00",
	  "2a35: pulse rate flag set but value ends at byte 7 (9 bytes needed, 7 given)" },
	{ 0x2A35, "08 8A 00 58 00 78 00",
	  "2a35: user id flag set but value ends at byte 7 (8 bytes needed, 7 given)" },
	{ 0x2A35, "10 8A 00 58 00 78 00 27",
	  "2a35: measurement status flag set but value ends at byte 8 (9 bytes needed, 8 given)" },
	{ 0x2A35, "00 8A 00 58 00 78 00 00 00",
	  "2a35: 2 bytes after the last field: the flags 0x00 announce 7 bytes, 9 given" },
	{ 0x2A5E, "04 61 00 48 00 00",
	  "2a5e: device and sensor status flag set but value ends at byte 6 "
	  "(8 bytes needed, 6 given)" },
	{ 0x2A5F, "03 61 00 48 00 60 00 49 00 5F",
	  "2a5f: SpO2PR-Slow flag set but value ends at byte 10 (13 bytes needed, 10 given)" },
	{ 0x2A9D, "08 B0 36 F5 00 D6",
	  "2a9d: BMI and height flag set but value ends at byte 6 (7 bytes needed, 6 given)" },
	{ 0x2A9C, "00 04 64 00 B0",
	  "2a9c: weight flag set but value ends at byte 5 (6 bytes needed, 5 given)" },
	{ 0x2A9C, "30", "2a9c: no flags: value ends at byte 1 (2 bytes needed, 1 given)" },
	{ 0x2A9C, "00 00 64 00 00",
	  "2a9c: 1 byte after the last field: the flags 0x0000 announce 4 bytes, 5 given" },
	{ 0x2A18, "00 01 00 E3 07 02 1B 0B 0A",
	  "2a18: no base time: value ends at byte 9 (10 bytes needed, 9 given)" },
	{ 0x2A18, "02 01 00 E3 07 02 1B 0B 0A 1E 1E 00",
	  "2a18: concentration, type and location flag set but value ends at byte 12 "
	  "(13 bytes needed, 12 given)" },
	{ 0x2A19, "64", "2a19: not a characteristic the hub decodes" },
};

static void
test_messages(void **state)
{
	struct gatt_value v;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		int rc = decode(messages[i].uuid, messages[i].hex, &v, err);

		EXPECT(messages[i].err, rc == (messages[i].uuid == 0x2A19 ? DHO_EUNSUPP : DHO_EINVAL));
		if (strcmp(err, messages[i].err) != 0)
			print_error("got \"%s\"\n", err);
		EXPECT(messages[i].err, strcmp(err, messages[i].err) == 0);
	}
}

static void
test_unknown_characteristic(void **state)
{
	static const uint16_t unknown[] = { 0x2A19, 0x2A00, 0x2A1E, 0x2A21, 0x2A49, 0x2AA7, 0x0000,
	                                    0xFFFF };
	struct gatt_value v;
	char err[DHO_ERRLEN];
	const uint8_t byte = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(gatt_decode(unknown[i], &byte, 1, &v, err, sizeof(err)), DHO_EUNSUPP);
		assert_non_null(strstr(err, "not a characteristic the hub decodes"));
		assert_int_equal(v.n, 0);
	}
	/* A NULL buffer is an empty value, never a crash. */
	assert_int_equal(gatt_decode(0x2A35, NULL, 0, &v, err, sizeof(err)), DHO_EINVAL);
	/* A short error buffer is cut, not overrun. */
	assert_int_equal(gatt_decode(0x2A35, NULL, 0, &v, err, 8), DHO_EINVAL);
	assert_string_equal(err, "2a35: n");
	assert_int_equal(gatt_decode(0x2A35, NULL, 0, &v, NULL, 0), DHO_EINVAL);
}

static void
test_sfloat_vectors(void **state)
{
	static const struct { uint8_t b[2]; double value; int decimals; } t[] = {
		{ { 0x72, 0x00 }, 114, 0 },
		{ { 0x65, 0xF0 }, 10.1, 1 },
		{ { 0xC8, 0xE0 }, 2.00, 2 },
		{ { 0x02, 0x20 }, 200, 0 },
		{ { 0x2E, 0x0B }, -1234, 0 },
		{ { 0xFF, 0x17 }, 20470, 0 },     /* 0x07FF with exponent 1: a number */
		{ { 0x00, 0xF8 }, -204.8, 1 },    /* 0x0800 with exponent -1 */
		{ { 0x00, 0x00 }, 0, 0 },
		{ { 0xFF, 0x87 }, 2047e-8, 8 },   /* most negative exponent */
		{ { 0x01, 0x70 }, 1e7, 0 },       /* most positive exponent */
	};
	double value;
	int decimals;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint16_t raw = (uint16_t)(t[i].b[0] | t[i].b[1] << 8);

		assert_int_equal(gatt_sfloat(raw, &value, &decimals), DHO_OK);
		assert_true(value == t[i].value);
		assert_int_equal(decimals, t[i].decimals);
		assert_null(gatt_sfloat_special(raw));
	}
	/* The out-pointers are optional. */
	assert_int_equal(gatt_sfloat(0x0072, NULL, NULL), DHO_OK);
	assert_int_equal(gatt_sfloat(0x07FF, NULL, NULL), DHO_ESPECIAL);
}

static void
test_float_vectors(void **state)
{
	/* The reference's vectors must be the nearest double exactly; 10^-128
	 * is not exact in binary, so that one may be off by an ulp. */
	static const struct { uint8_t b[4]; double value; int decimals; bool exact; } t[] = {
		{ { 0xB0, 0x0E, 0x00, 0xFE }, 37.60, 2, true },
		{ { 0x87, 0xD6, 0x12, 0xFE }, 12345.67, 2, true },
		{ { 0x2E, 0xFB, 0xFF, 0x00 }, -1234, 0, true },
		{ { 0xFF, 0xFF, 0x7F, 0x01 }, 83886070, 0, true }, /* NaN's mantissa, exponent 1 */
		{ { 0x01, 0x00, 0x00, 0x80 }, 1e-128, 128, false },
	};
	double value;
	int decimals;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t raw = (uint32_t)t[i].b[0] | (uint32_t)t[i].b[1] << 8 |
		               (uint32_t)t[i].b[2] << 16 | (uint32_t)t[i].b[3] << 24;

		assert_int_equal(gatt_float(raw, &value, &decimals), DHO_OK);
		if (t[i].exact)
			assert_true(value == t[i].value);
		else
			assert_true(fabs(value - t[i].value) <= 1e-15 * fabs(t[i].value));
		assert_int_equal(decimals, t[i].decimals);
		assert_null(gatt_float_special(raw));
	}
}

static void
test_specials(void **state)
{
	static const struct { uint16_t s; uint32_t f; const char *name; int sign; } t[] = {
		{ 0x07FF, 0x007FFFFF, "NaN", 0 },
		{ 0x0800, 0x00800000, "NRes", 0 },
		{ 0x07FE, 0x007FFFFE, "+INF", 1 },
		{ 0x0802, 0x00800002, "-INF", -1 },
		{ 0x0801, 0x00800001, "reserved", 0 },
	};
	double value;
	int decimals;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		decimals = 9;
		assert_int_equal(gatt_sfloat(t[i].s, &value, &decimals), DHO_ESPECIAL);
		assert_string_equal(gatt_sfloat_special(t[i].s), t[i].name);
		assert_int_equal(decimals, 0);
		if (t[i].sign == 0)
			assert_true(isnan(value));
		else
			assert_true(isinf(value) && (value > 0) == (t[i].sign > 0));

		decimals = 9;
		assert_int_equal(gatt_float(t[i].f, &value, &decimals), DHO_ESPECIAL);
		assert_string_equal(gatt_float_special(t[i].f), t[i].name);
		assert_int_equal(decimals, 0);
		if (t[i].sign == 0)
			assert_true(isnan(value));
		else
			assert_true(isinf(value) && (value > 0) == (t[i].sign > 0));
	}
}

/* Every one of the 65536 SFLOATs: exactly the five specials, and every
 * other raw value a finite number whose decimals match its exponent. */
static void
test_sfloat_exhaustive(void **state)
{
	int specials = 0;

	(void)state;
	for (uint32_t raw = 0; raw <= 0xFFFF; raw++) {
		double value;
		int decimals, exp = (int)(raw >> 12);
		int rc = gatt_sfloat((uint16_t)raw, &value, &decimals);

		if (exp >= 8)
			exp -= 16;
		if (rc == DHO_ESPECIAL) {
			specials++;
			assert_true(exp == 0);
			continue;
		}
		assert_int_equal(rc, DHO_OK);
		assert_true(isfinite(value));
		assert_int_equal(decimals, exp < 0 ? -exp : 0);
	}
	assert_int_equal(specials, 5);
}

static void
test_parse_uuid(void **state)
{
	static const struct { const char *s; int rc; uint16_t uuid; } t[] = {
		{ "2A35", DHO_OK, 0x2A35 },
		{ "2a35", DHO_OK, 0x2A35 },
		{ "0x2a35", DHO_OK, 0x2A35 },
		{ "0X2A35", DHO_OK, 0x2A35 },
		{ "0x181d", DHO_OK, 0x181D },
		{ "181D", DHO_OK, 0x181D },
		{ "00002A35-0000-1000-8000-00805F9B34FB", DHO_OK, 0x2A35 },
		{ "00002a35-0000-1000-8000-00805f9b34fb", DHO_OK, 0x2A35 },
		{ "00001810-0000-1000-8000-00805f9B34Fb", DHO_OK, 0x1810 },
		{ "", DHO_EINVAL, 0 },
		{ "2A3", DHO_EINVAL, 0 },
		{ "2A355", DHO_EINVAL, 0 },
		{ "0x", DHO_EINVAL, 0 },
		{ "0x2a3", DHO_EINVAL, 0 },
		{ "x2a35", DHO_EINVAL, 0 },
		{ "2a3g", DHO_EINVAL, 0 },
		{ " 2a35", DHO_EINVAL, 0 },
		{ "2a35 ", DHO_EINVAL, 0 },
		{ "0x0x2a35", DHO_EINVAL, 0 },
		{ "+2a3", DHO_EINVAL, 0 },
		{ "00002A35-0000-1000-8000-00805F9B34F", DHO_EINVAL, 0 },
		{ "00002A35-0000-1000-8000-00805F9B34FBB", DHO_EINVAL, 0 },
		{ "00002A35_0000-1000-8000-00805F9B34FB", DHO_EINVAL, 0 },
		{ "00002A35-0000-1000-8000-00805F9B34FG", DHO_EINVAL, 0 },
		{ "{00002A35-0000-1000-8000-00805F9B34FB}", DHO_EINVAL, 0 },
		{ "12342A35-0000-1000-8000-00805F9B34FB", DHO_EUNSUPP, 0 },
		{ "00002A35-0000-1000-8000-00805F9B34FC", DHO_EUNSUPP, 0 },
		{ "cba20d00-224d-11e6-9fb8-0002a5d5c51b", DHO_EUNSUPP, 0 },
	};
	uint16_t out;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		out = 0;
		EXPECT(t[i].s, gatt_parse_uuid(t[i].s, &out) == t[i].rc);
		if (t[i].rc == DHO_OK)
			EXPECT(t[i].s, out == t[i].uuid);
	}
	assert_int_equal(gatt_parse_uuid(NULL, &out), DHO_EINVAL);
}

static void
test_parse_hex(void **state)
{
	static const struct { const char *s; size_t cap; int rc; const char *err; } t[] = {
		{ "", 8, DHO_OK, "" },
		{ "1e8A", 8, DHO_OK, "" },
		{ "ABCDEF", 3, DHO_OK, "" },
		{ "1e8", 8, DHO_EINVAL, "hex: 3 digits, an odd number: every byte takes two" },
		{ "1e8g", 8, DHO_EINVAL, "hex: character 4 ('g') is not a hex digit" },
		{ "1e 8a", 8, DHO_EINVAL, "hex: character 3 (' ') is not a hex digit" },
		{ "0x1e", 8, DHO_EINVAL, "hex: character 2 ('x') is not a hex digit" },
		{ "1e\n", 8, DHO_EINVAL, "hex: character 3 (byte 0x0a) is not a hex digit" },
		{ "1e8", 0, DHO_EINVAL, "hex: 3 digits, an odd number: every byte takes two" },
		{ "aabbcc", 2, DHO_EINVAL, "hex: 6 digits make 3 bytes, more than the 2 allowed" },
		{ "-1", 8, DHO_EINVAL, "hex: character 1 ('-') is not a hex digit" },
	};
	uint8_t buf[8];
	size_t len;
	char err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = 99;
		EXPECT(t[i].s, gatt_parse_hex(t[i].s, buf, t[i].cap, &len, err, sizeof(err)) ==
		       t[i].rc);
		if (strcmp(err, t[i].err) != 0)
			print_error("got \"%s\"\n", err);
		EXPECT(t[i].s, strcmp(err, t[i].err) == 0);
		if (t[i].rc == DHO_OK)
			EXPECT(t[i].s, len == strlen(t[i].s) / 2);
	}
	assert_int_equal(gatt_parse_hex("1e8A", buf, sizeof(buf), &len, err, sizeof(err)), DHO_OK);
	assert_int_equal(len, 2);
	assert_int_equal(buf[0], 0x1E);
	assert_int_equal(buf[1], 0x8A);
	assert_int_equal(gatt_parse_hex(NULL, buf, sizeof(buf), &len, err, sizeof(err)),
	                 DHO_EINVAL);
}

static void
test_time(void **state)
{
	struct gatt_value v;
	char err[DHO_ERRLEN], buf[TIMEFMT_LEN];
	dho_time_t t;

	(void)state;
	assert_int_equal(timefmt_set_zone("Europe/Oslo"), DHO_OK);

	/* Winter: CET, UTC+1. */
	assert_int_equal(decode(0x2A1C, "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04", &v, err), DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_OK);
	timefmt_format(t, buf);
	assert_string_equal(buf, "2012-12-05T10:50:27Z");

	/* Summer: CEST, UTC+2. */
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 EA 07 07 01 0C 00 00", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_OK);
	timefmt_format(t, buf);
	assert_string_equal(buf, "2026-07-01T10:00:00Z");

	/* No time stamp, or year/month/day unknown. */
	assert_int_equal(decode(0x2A35, "00 72 00 50 00 5A 00", &v, err), DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ENOTFOUND);
	assert_int_equal(decode(0x2A35, "1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00",
	                        &v, err), DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ENOTFOUND);
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 EA 07 00 11 14 29 3B", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ENOTFOUND);
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 EA 07 04 00 14 29 3B", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ENOTFOUND);

	/* A clock that is no clock: decoded, not convertible. */
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 E2 07 0D 28 19 00 00", &v, err),
	                 DHO_OK);
	assert_int_equal(v.month, 13);
	assert_int_equal(gatt_time(&v, &t), DHO_ERANGE);
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 E2 07 02 1E 0A 00 00", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ERANGE);      /* 30 February */
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 E2 07 02 1C 0A 00 3C", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ERANGE);      /* second 60 */
	assert_int_equal(decode(0x2A35, "02 72 00 50 00 5A 00 B1 07 0C 1F 17 00 00", &v, err),
	                 DHO_OK);
	assert_int_equal(gatt_time(&v, &t), DHO_ERANGE);      /* 1969: before the hub's epoch */
}

static char *
to_json(uint16_t uuid, const char *hex)
{
	struct gatt_value v;
	char err[DHO_ERRLEN];
	char *json = NULL;

	assert_int_equal(decode(uuid, hex, &v, err), DHO_OK);
	assert_int_equal(gatt_to_json(&v, &json), DHO_OK);
	assert_non_null(json);
	return json;
}

static const struct {
	uint16_t uuid;
	const char *hex;
	const char *json;
} documents[] = {
	{ 0x2A35, "1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00",
	  "{\"uuid\": \"2a35\", \"readings\": ["
	  "{\"metric\": \"bp_sys\", \"value\": 138, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_dia\", \"value\": 88, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_map\", \"value\": 120, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"pulse\", \"value\": 60, \"unit\": \"/min\"}], "
	  "\"flags\": [\"body_movement\", \"cuff_loose\", \"irregular_pulse\", "
	  "\"improper_position\"], \"user\": 1}" },
	{ 0x2A35, "15 BD F0 0B 00 9F F0 3C 00 12 00",
	  "{\"uuid\": \"2a35\", \"readings\": ["
	  "{\"metric\": \"bp_sys\", \"value\": 141.8, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_dia\", \"value\": 82.5, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_map\", \"value\": 119.3, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"pulse\", \"value\": 60, \"unit\": \"/min\"}], "
	  "\"flags\": [\"cuff_loose\", \"pulse_below_range\"]}" },
	{ 0x2A1C, "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04",
	  "{\"uuid\": \"2a1c\", \"measured_at\": \"2012-12-05T10:50:27Z\", \"readings\": ["
	  "{\"metric\": \"temp\", \"value\": 37.60, \"unit\": \"Cel\"}], \"flags\": []}" },
	{ 0x2A9D, "02 B0 36 E7 07 0C 19 0E 1E 2D",
	  "{\"uuid\": \"2a9d\", \"measured_at\": \"2023-12-25T13:30:45Z\", \"readings\": ["
	  "{\"metric\": \"weight\", \"value\": 70.000, \"unit\": \"kg\"}], \"flags\": []}" },
	{ 0x2A9D, "0C B0 36 05 F5 00 D6 06",
	  "{\"uuid\": \"2a9d\", \"readings\": ["
	  "{\"metric\": \"weight\", \"value\": 70.000, \"unit\": \"kg\"}], \"flags\": [], "
	  "\"user\": 5}" },
	{ 0x2A9C, "30 00 64 00 C8 00 B8 0B",
	  "{\"uuid\": \"2a9c\", \"readings\": [], \"flags\": []}" },
	{ 0x2A36, "00 96 00 FF 07 FF 07",
	  "{\"uuid\": \"2a36\", \"readings\": [], \"flags\": []}" },
	{ 0x2A37, "04 48",
	  "{\"uuid\": \"2a37\", \"readings\": ["
	  "{\"metric\": \"pulse\", \"value\": 72, \"unit\": \"/min\"}], "
	  "\"flags\": [\"no_skin_contact\"]}" },
	{ 0x2A5E, "00 C8 E0 02 20",
	  "{\"uuid\": \"2a5e\", \"readings\": ["
	  "{\"metric\": \"spo2\", \"value\": 2.00, \"unit\": \"%\"}, "
	  "{\"metric\": \"pulse\", \"value\": 200, \"unit\": \"/min\"}], \"flags\": []}" },
	{ 0x2A18, "1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01",
	  "{\"uuid\": \"2a18\", \"measured_at\": \"2019-02-27T10:05:30Z\", \"readings\": ["
	  "{\"metric\": \"glucose\", \"value\": 166518.65, \"unit\": \"mmol/L\"}], "
	  "\"flags\": [\"battery_low\", \"sample_problem\", \"temperature_problem\"]}" },
	{ 0x2A35, "04 FF 07 50 00 5A 00 48 00",
	  "{\"uuid\": \"2a35\", \"readings\": ["
	  "{\"metric\": \"bp_dia\", \"value\": 80, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_map\", \"value\": 90, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"pulse\", \"value\": 72, \"unit\": \"/min\"}], \"flags\": [], "
	  "\"quarantined\": [{\"metric\": \"bp_sys\", \"reason\": "
	  "\"bp_sys is NaN (SFLOAT 0x07FF)\"}]}" },
	{ 0x2A18, "02 0A 00 E3 07 02 1B 0B 0A 1E 64 B0 4A",
	  "{\"uuid\": \"2a18\", \"measured_at\": \"2019-02-27T10:10:30Z\", \"readings\": [], "
	  "\"flags\": [], \"quarantined\": [{\"metric\": \"glucose\", \"reason\": "
	  "\"glucose is a control-solution measurement (type 10), not a patient value\"}]}" },
	{ 0x2A35, "02 72 00 50 00 5A 00 E2 07 0D 28 19 00 00",
	  "{\"uuid\": \"2a35\", \"readings\": ["
	  "{\"metric\": \"bp_sys\", \"value\": 114, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_dia\", \"value\": 80, \"unit\": \"mm[Hg]\"}, "
	  "{\"metric\": \"bp_map\", \"value\": 90, \"unit\": \"mm[Hg]\"}], \"flags\": [], "
	  "\"device_time\": \"2018-13-40T25:00:00\"}" },
	{ 0x2A5E, "10 61 00 48 00",
	  "{\"uuid\": \"2a5e\", \"readings\": ["
	  "{\"metric\": \"spo2\", \"value\": 97, \"unit\": \"%\"}, "
	  "{\"metric\": \"pulse\", \"value\": 72, \"unit\": \"/min\"}], "
	  "\"flags\": [\"device_clock_not_set\"]}" },
};

static void
test_json_documents(void **state)
{
	(void)state;
	assert_int_equal(timefmt_set_zone("Europe/Oslo"), DHO_OK);
	for (size_t i = 0; i < sizeof(documents) / sizeof(documents[0]); i++) {
		char *json = to_json(documents[i].uuid, documents[i].hex);
		json_error_t jerr;
		json_t *back;

		if (strcmp(json, documents[i].json) != 0)
			print_error("got      %s\nexpected %s\n", json, documents[i].json);
		EXPECT(documents[i].hex, strcmp(json, documents[i].json) == 0);
		/* The spliced numbers leave valid JSON behind. */
		back = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
		EXPECT(documents[i].hex, back != NULL);
		json_decref(back);
		free(json);
	}
}

/* The printed numbers read back as the decoded values. */
static void
test_json_values(void **state)
{
	char *json;
	json_t *doc, *r;
	json_error_t jerr;

	(void)state;
	json = to_json(0x2A35, "15 BD F0 0B 00 9F F0 3C 00 12 00");
	doc = json_loads(json, 0, &jerr);
	assert_non_null(doc);
	r = json_array_get(json_object_get(doc, "readings"), 0);
	assert_true(json_is_real(json_object_get(r, "value")));
	assert_true(json_real_value(json_object_get(r, "value")) == 141.8);
	r = json_array_get(json_object_get(doc, "readings"), 3);
	assert_true(json_is_integer(json_object_get(r, "value")));
	assert_int_equal(json_integer_value(json_object_get(r, "value")), 60);
	assert_null(json_object_get(doc, "measured_at"));
	assert_null(json_object_get(doc, "user"));
	json_decref(doc);
	free(json);

	/* A negative value, and one with many digits. */
	json = to_json(0x2A1C, "00 2E FB FF 00");
	assert_non_null(strstr(json, "\"value\": -1234,"));
	free(json);
	json = to_json(0x2A1C, "00 87 D6 12 FE");
	assert_non_null(strstr(json, "\"value\": 12345.67,"));
	free(json);
}

/*
 * Found by fuzzing (tests/fuzz/regress/gatt): a FLOAT with a large positive
 * exponent was printed as an integer literal of 30 to 134 digits, which
 * jansson refuses ("too big integer"). Beyond 2^53 the value is printed in
 * its shortest exact form instead; below, as before.
 */
static void
test_json_huge_values(void **state)
{
	static const struct {
		const char *hex;
		const char *text;
		double value;
	} cases[] = {
		{ "00 00 5D 7D 17", "\"value\": 8.215808e+29,", 8.215808e29 },
		{ "00 FD FF 7F 7F", "\"value\": 8.388605e+133,", 8.388605e133 },
		{ "00 03 00 80 7F", "\"value\": -8.388605e+133,", -8.388605e133 },
		{ "00 FF FF 7F 08", "\"value\": 838860700000000,", 838860700000000.0 },
	};
	json_error_t jerr;
	json_t *doc, *r;
	char *json;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json = to_json(0x2A1C, cases[i].hex);
		EXPECT(cases[i].hex, strstr(json, cases[i].text) != NULL);
		doc = json_loads(json, 0, &jerr);
		EXPECT(cases[i].hex, doc != NULL);
		r = json_array_get(json_object_get(doc, "readings"), 0);
		EXPECT(cases[i].hex, json_number_value(json_object_get(r, "value")) == cases[i].value);
		json_decref(doc);
		free(json);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_unknown_characteristic),
		cmocka_unit_test(test_sfloat_vectors),
		cmocka_unit_test(test_float_vectors),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_sfloat_exhaustive),
		cmocka_unit_test(test_parse_uuid),
		cmocka_unit_test(test_parse_hex),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_json_documents),
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_huge_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
