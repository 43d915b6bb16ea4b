/*
 * doc: the JSON documents devices and BLE bridges publish: reading
 * documents on <prefix>/<tenant>/dev/<device>/reading and GATT envelopes
 * on .../gatt.
 *
 * doc_parse() turns one payload into a struct doc_result: the message's seq
 * and time, and one item per reading, each either accepted (a struct reading
 * in canonical units) or rejected with the reason the caller stores in
 * quarantine. It never touches the store; attribution is the caller's job.
 *
 * Two kinds of failure, because the hub answers them differently:
 *  - message level: the whole message cannot be trusted (not JSON, too big,
 *    too many readings, bad seq or ts, no reading at all). doc_parse()
 *    returns an error and the whole payload goes to quarantine;
 *  - item level: one reading is bad (unknown metric or unit, not a number,
 *    out of range). doc_parse() returns DHO_OK, that item has ok == false,
 *    and "the other readings of the same message are still stored".
 *
 * In detail, doc_parse() does this:
 *  - "seq" must be a JSON integer literal 0..2^64-1 (read from the raw text,
 *    since jansson stops at 2^63-1); negative, fractional, exponent forms,
 *    strings and null are message-level errors.
 *  - "ts" must be RFC 3339 with a time of day (a bare date is rejected: the
 *    device's zone is unknown). It may be exactly 5 minutes ahead of or
 *    exactly 30 days behind now; one second more is a message-level
 *    DHO_ERANGE. Fractional seconds are dropped.
 *  - Each object in "readings" may carry its own "ts" (same rules, but a bad
 *    one rejects only that item) and its own "unit". A top-level "unit" is
 *    only for the single "metric"/"value" form; next to "readings" it is a
 *    message-level error, because guessing which readings it meant could
 *    store a kPa value as mmHg. Mixing both forms is an error as well.
 *  - An empty "readings" array is a message-level error (the message would
 *    otherwise vanish without a trace).
 *  - Duplicate keys in any object are a message-level error: jansson would
 *    keep the last one silently, and a clinical value must not be a guess.
 *  - An integer too big for 64 bits or a real that overflows a double
 *    anywhere but in "seq" makes the JSON unreadable for jansson, so the
 *    message is quarantined as malformed JSON.
 *  - on_oxygen takes true, false or a number (0 or 1 after the range
 *    check); consciousness takes only the strings "A" "C" "V" "P" "U"
 *    (stored 0..4), never a number, because numeric ACVPU codes are not
 *    standard. Any other metric takes only JSON numbers: "93", "NaN", null
 *    and true are rejected as not numbers. A "unit" of "" means canonical.
 *  - decimals: the number of decimals written in the JSON text ("36.60"
 *    has 2; an exponent shifts it: "3.66e1" has 1), at most 6; integers
 *    have 0. Converted values are rounded to a fixed precision and carry
 *    it: [degF] -> Cel 2, kPa -> mm[Hg] 1, [lb_av] and g -> kg 3,
 *    mg/dL -> mmol/L 2. The range check applies to the rounded value, so
 *    113 [degF] is exactly 45 Cel and accepted.
 *  - Unknown keys are ignored at both levels.
 */
#ifndef DOC_H
#define DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dho.h"
#include "metric.h"

/* Limits of a reading document: its size and its number of readings. */
#define DOC_MAX_BYTES 65536
#define DOC_MAX_READINGS 32
#define DOC_MAX_AHEAD (5 * 60)          /* seconds a ts may be in the future */
#define DOC_MAX_AGE (30 * 86400)        /* seconds a ts may be in the past */

/* Room for the metric name as sent; longer names are cut (at a UTF-8
 * character boundary) and are unknown metrics anyway. */
#define DOC_METRIC_TEXT (DHO_ID_MAX + 1)

struct doc_item {
	bool ok;                        /* true: r is a reading to store */
	int code;                       /* DHO_OK, or why it was rejected: */
	                                /*  DHO_ENOTFOUND unknown metric */
	                                /*  DHO_EUNSUPP unknown unit */
	                                /*  DHO_EINVAL not a number, missing value, bad ts */
	                                /*  DHO_ERANGE out of range, ts too far off */
	                                /*  DHO_ESPECIAL a GATT special value */
	struct reading r;               /* when ok: canonical value, flags 0 */
	char metric[DOC_METRIC_TEXT];   /* the metric name as sent, "" if none */
	char reason[DHO_ERRLEN];        /* when !ok: a sentence for quarantine */
};

struct doc_result {
	bool has_seq;
	uint64_t seq;
	dho_time_t measured_at;         /* the message's ts, or now without one */
	uint16_t uuid;                  /* an envelope's characteristic; 0 for a reading document */
	size_t n;                       /* items used, 1..DOC_MAX_READINGS */
	struct doc_item items[DOC_MAX_READINGS];
};

/*
 * Parses one reading document of len bytes (not NUL-terminated) received at
 * now. On DHO_OK, *out holds at least one item, some of which may be
 * rejected. Otherwise the whole message is to be quarantined, err (errlen
 * bytes, DHO_ERRLEN is enough) says why, and out->n is 0:
 *   DHO_EINVAL  not JSON, not an object, no metric/value or readings, bad
 *               seq or ts, a top-level unit beside readings
 *   DHO_ERANGE  more than DOC_MAX_BYTES bytes or DOC_MAX_READINGS readings,
 *               ts more than 5 minutes ahead or 30 days behind now
 *   DHO_ENOMEM  an allocation failed (the message may be retried)
 */
int doc_parse(const char *payload, size_t len, dho_time_t now, struct doc_result *out,
              char *err, size_t errlen);

struct gatt_value;

/*
 * Parses a bridge's GATT envelope, {"seq": 77, "ts": "...", "uuid": "2A35",
 * "hex": "1e8a..."}, and decodes its value (gatt.h). seq and ts follow the
 * rules of doc_parse() above, so one seq range holds for every document.
 * On DHO_OK, out holds the value's readings as doc_from_gatt() gives them.
 * Otherwise out->n is 0 and err says why:
 *   DHO_EINVAL  as doc_parse(), or uuid or hex missing, not strings or
 *               malformed, or a value gatt_decode() refuses
 *   DHO_EUNSUPP a characteristic gatt_decode() does not decode
 *   DHO_ERANGE, DHO_ENOMEM  as doc_parse()
 */
int doc_parse_gatt(const char *payload, size_t len, dho_time_t now, struct doc_result *out,
                   char *err, size_t errlen);

/*
 * Turns a decoded GATT value into items, as a reading document gives them,
 * so that both take one way into the hub. base is the message's time (its
 * ts, or the time it was received): the device's own clock is used when it
 * is within 5 minutes ahead and 30 days behind base, else base with the
 * flag RFLAG_DEVICE_CLOCK. Values gatt_decode() marked, and values out of
 * the metric's range, are rejected items with their reason.
 */
void doc_from_gatt(const struct gatt_value *v, dho_time_t base, struct doc_result *out);

#endif
