/*
 * gatt: BLE GATT health measurement values, decoded exactly per the layouts
 * of the Bluetooth SIG's GATT Specification Supplement and the profiles it
 * names.
 *
 * gatt_decode() turns one characteristic value into a struct gatt_value:
 * readings in canonical units (through metric_convert()), the status bits
 * as RFLAG_* flags, and the device's own clock and user as decoded. It does
 * not apply the hub's clock rules or range checks and never touches
 * the store: the caller decides what is stored and what is quarantined.
 *
 * Decisions where the reference leaves room:
 *  - Lengths. Every field is checked against len before it is read. A value
 *    shorter than its flags announce is DHO_EINVAL, with a message naming
 *    the missing field and both lengths. A value longer than its flags
 *    announce is DHO_EINVAL as well: every optional field is announced by a
 *    flag, so extra bytes mean the flags were misread or the value is
 *    corrupt, and a misaligned decode could turn bytes into a plausible
 *    clinical value. The raw value is kept in quarantine, so nothing is lost.
 *    (2A37's RR intervals take the rest of the value, in whole u16s.)
 *    Reserved flag bits are ignored, as the Bluetooth specifications ask.
 *  - Special values. An SFLOAT/FLOAT special value (the exact raw values of
 *    the reference table, exponent 0) never becomes a value: the reading is
 *    kept in readings[] with mark[i] = GATT_MARK_SPECIAL, value NaN, and
 *    reason[i] such as "bp_sys is NaN (SFLOAT 0x07FF)". The other readings
 *    of the same value are unaffected. The same mechanism carries two other
 *    non-values: weight 0xFFFF, which the Weight Scale and Body Composition
 *    specifications define as "measurement unsuccessful" (decoded naively it
 *    would be 327.675 kg, inside the accepted range), and a glucose
 *    control-solution result (next item).
 *  - Glucose control solution (type 10). Not an error: the value is well
 *    formed and `decode gatt` shows it. The glucose reading is decoded and
 *    marked GATT_MARK_CONTROL with the reason "glucose is a control-solution
 *    measurement (type 10), not a patient value", so the caller quarantines
 *    it with that reason like any marked reading and the message still does
 *    not vanish. Sample location 4, which the SIG defines as "control
 *    solution" too, is treated the same way.
 *  - 2A36 Intermediate Cuff Pressure is decoded and length-checked as 2A35
 *    (time, user and status included) but yields zero readings. 2A9C
 *    without weight yields zero readings too; neither is an error.
 *  - Time. has_time is the time stamp flag; the fields are as decoded
 *    (year, month or day 0 = unknown). Fields out of their ranges (month 13,
 *    hour 25) are not a decoding error: the device's clock is wrong, which
 *    the hub answers by replacing the time and flagging device_clock,
 *    not by losing the reading. gatt_time() tells the three cases apart.
 *    The glucose time offset is added to the base time as civil time
 *    (minutes on the device's wall clock), before the zone is applied.
 *  - User 255 means "unknown user" in every layout that has one, so
 *    has_user is false for it.
 *  - Decimals. An SFLOAT/FLOAT in the canonical unit keeps the precision its
 *    exponent implies (C8 E0 = 2.00 has 2; a positive exponent gives 0; at
 *    most 6). Fixed-point fields keep their resolution (weight 0.005 kg: 3).
 *    Converted values are rounded to, and carry, the precision doc.h uses
 *    for the same conversion, so a value prints the same whichever way it
 *    arrived: kPa -> mm[Hg] 1, [degF] -> Cel 2, [lb_av] -> kg 3, kg/L (via
 *    mg/dL) -> mmol/L 2; mol/L -> mmol/L is exact (x 1000, not in the metric
 *    table) and keeps the SFLOAT's decimals minus 3.
 *  - Flags are set on v->flags and on every reading of the value: a status
 *    describes the whole measurement. Status bits map one to one where
 *    metric.h has a flag; groups of related bits share one, because a nurse
 *    acts on the group: PLX inadequate/poor/erratic/nonpulsatile signal,
 *    signal processing irregularity and sensor interference -> poor_signal;
 *    PLX sensor unconnected/unknown/displaced/malfunctioning/disconnected and
 *    glucose sensor malfunction -> sensor_problem; PLX questionable pulse ->
 *    questionable; glucose sample size, strip insertion, strip type and
 *    strip pulled too soon -> sample_problem; glucose temperature too high
 *    or low -> temperature_problem; glucose time fault and the PLX "device
 *    clock not set" flag -> device_clock_not_set. PLX "ongoing", "validated",
 *    "fully qualified", "extended display update" and "signal analysis
 *    ongoing" are not problems and set nothing; reserved bits set nothing.
 *    Only the PLX "invalid" bit sets invalid (stored, not evaluated).
 */
#ifndef GATT_H
#define GATT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dho.h"
#include "metric.h"

/* The most readings one value yields (2A35: sys, dia, map, pulse). */
#define GATT_MAX_READINGS 8

/* The longest attribute value ATT allows; a sensible cap for hex input. */
#define GATT_MAX_VALUE 512

/* Room for one reading's reason ("bp_sys is NaN (SFLOAT 0x07FF)"). */
#define GATT_REASON_LEN 96

/* The characteristics gatt_decode() knows. */
#define GATT_BP_MEASUREMENT      0x2A35
#define GATT_INTERMEDIATE_CUFF   0x2A36
#define GATT_TEMP_MEASUREMENT    0x2A1C
#define GATT_HR_MEASUREMENT      0x2A37
#define GATT_PLX_SPOT_CHECK      0x2A5E
#define GATT_PLX_CONTINUOUS      0x2A5F
#define GATT_WEIGHT_MEASUREMENT  0x2A9D
#define GATT_BODY_COMPOSITION    0x2A9C
#define GATT_GLUCOSE_MEASUREMENT 0x2A18

/* Why a decoded reading is not a value to store. */
enum gatt_mark {
	GATT_MARK_NONE = 0,      /* a value */
	GATT_MARK_SPECIAL,       /* SFLOAT/FLOAT NaN, NRes, +INF, -INF, reserved */
	GATT_MARK_UNSUCCESSFUL,  /* weight 0xFFFF: measurement unsuccessful */
	GATT_MARK_CONTROL        /* glucose control solution, not the patient */
};

struct gatt_value {
	uint16_t uuid;                  /* the characteristic decoded */

	/* readings[i] is in canonical units with measured_at 0 (the caller
	 * applies the clock rules) and flags equal to the value's flags. When
	 * mark[i] is not GATT_MARK_NONE the reading must not be stored as a
	 * value: reason[i] says why, for quarantine. */
	size_t n;
	struct reading readings[GATT_MAX_READINGS];
	enum gatt_mark mark[GATT_MAX_READINGS];
	char reason[GATT_MAX_READINGS][GATT_REASON_LEN];

	uint32_t flags;                 /* RFLAG_* from the status fields */

	/* The device's Date Time as decoded (local time in the hub's zone). */
	bool has_time;
	int year, month, day;           /* 0 = unknown */
	int hour, minute, second;

	bool has_user;                  /* false also for 255, unknown user */
	uint8_t user;

	/* 2A1C: 0 = not given, else 1 armpit .. 9 tympanum. */
	int temp_type;

	/* 2A18. glucose_type 0 = concentration not given. */
	uint16_t sequence;
	bool has_time_offset;
	int time_offset;                /* minutes, already added to the time */
	int glucose_type;               /* 1 capillary whole blood .. 10 control */
	int glucose_location;           /* 1 finger, 2 AST, 3 earlobe, 4 control, 15 n/a */
};

/*
 * Parses a 16-bit UUID: "2A35", "2a35", "0x2A35", "0X2a35" (exactly four
 * hex digits) or its 128-bit Bluetooth base form
 * "00002A35-0000-1000-8000-00805F9B34FB" in any case. Returns DHO_OK,
 * DHO_EINVAL for anything else, or DHO_EUNSUPP for a well-formed 128-bit
 * UUID that is not in the Bluetooth base (a vendor's own).
 */
int gatt_parse_uuid(const char *s, uint16_t *out);

/*
 * Parses hex digits (any case, even count, nothing else) into buf[cap] and
 * sets *len. Returns DHO_EINVAL, with a sentence in err, for an odd count,
 * a character that is not a hex digit (naming its 1-based position) or
 * more bytes than cap. An empty string gives *len 0 and DHO_OK.
 */
int gatt_parse_hex(const char *s, uint8_t *buf, size_t cap, size_t *len,
                   char *err, size_t errlen);

/*
 * Decodes buf[len] as characteristic uuid into *out, never reading past
 * len. Returns DHO_OK (err set to ""), DHO_EINVAL for a malformed value
 * (err names the field, the bytes needed and the bytes given, e.g. "2a1c:
 * temperature type flag set but value ends at byte 12 (13 bytes needed, 12
 * given)"), or DHO_EUNSUPP for a characteristic it does not decode. *out
 * is zeroed first and is meaningful only on DHO_OK.
 */
int gatt_decode(uint16_t uuid, const uint8_t *buf, size_t len,
                struct gatt_value *out, char *err, size_t errlen);

/*
 * The reserved (RFU) bits set in the flags field at the start of buf[len]
 * for characteristic uuid; 0 when none are, when the flags are cut short or
 * for a characteristic gatt_decode() does not know. gatt_decode() ignores
 * these bits as the specifications ask; bridge.c uses them to tell a
 * vendor's own layout in a health service's advertisement data from the
 * GATT layout it does not follow.
 */
uint32_t gatt_reserved_flags(uint16_t uuid, const uint8_t *buf, size_t len);

/*
 * IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit). On DHO_OK *value is
 * mantissa x 10^exponent and *decimals the precision the exponent implies
 * (-exponent, or 0). On DHO_ESPECIAL (the exact raw values NaN, NRes,
 * +INF, -INF, reserved) *value is NaN or an infinity, *decimals 0, and
 * gatt_sfloat_special()/gatt_float_special() name it. Either out-pointer
 * may be NULL.
 */
int gatt_sfloat(uint16_t raw, double *value, int *decimals);
int gatt_float(uint32_t raw, double *value, int *decimals);

/* "NaN", "NRes", "+INF", "-INF", "reserved", or NULL for a number. */
const char *gatt_sfloat_special(uint16_t raw);
const char *gatt_float_special(uint32_t raw);

/*
 * The device's time as UTC, reading its fields as local time in the hub's
 * zone (timefmt_set_zone()). Returns DHO_OK; DHO_ENOTFOUND when the value
 * has no time stamp or its year, month or day is 0 (use the envelope's ts
 * or the receive time); DHO_ERANGE when the fields are no valid time
 * (treat as a wrong device clock). A value flagged RFLAG_CLOCK_NOT_SET
 * still converts: the caller should treat its clock as wrong too.
 */
int gatt_time(const struct gatt_value *v, dho_time_t *out);

/*
 * Writes the `decode gatt` document (docs/man/dhohub.8) into a new string,
 * *json_out, which the caller frees with free():
 *   {"uuid": "2a35", "measured_at": "2026-11-23T07:15:00Z",
 *    "readings": [{"metric": "bp_sys", "value": 120, "unit": "mm[Hg]"}],
 *    "flags": ["irregular_pulse"], "user": 1}
 * measured_at (gatt_time() == DHO_OK) and user only when present. Values
 * are printed with their decimals ("2.00"). Two keys are added only when
 * they apply: "quarantined": [{"metric", "reason"}] for marked readings,
 * which are not in "readings"; and "device_time" ("2018-13-40T25:00:00",
 * local, as decoded) when the device sent a time that is no valid time.
 * Returns DHO_OK or DHO_ENOMEM.
 */
int gatt_to_json(const struct gatt_value *v, char **json_out);

#endif
