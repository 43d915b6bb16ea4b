/*
 * doc.c: reading documents and GATT envelopes (see doc.h), parsed with jansson.
 *
 * jansson keeps neither the text of a number nor integers above 2^63-1, yet
 * the hub needs both: seq is unsigned 64-bit, and the decimals a device
 * wrote ("36.60") are kept for printing. A small skimmer therefore walks the
 * raw text first and notes where the number literals of the top-level "seq"
 * and "value" and of each readings[i].value are. jansson then does the real
 * parsing, on a copy in which the seq literal is replaced by 0 so that a
 * large seq cannot make it fail. The skimmer never decides whether the text
 * is valid: when it cannot follow the text it stops, notes nothing more,
 * and jansson reports the error. Keys written with escapes ("\u0073eq") are
 * not recognised by the skimmer; jansson still reads them, and the values
 * then come from jansson alone (seq within 2^63-1, decimals estimated).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "doc.h"
#include "gatt.h"
#include "timefmt.h"

/* metric_format_value() prints at most 6 decimals. */
#define DOC_DECIMALS_MAX 6

/* A number literal in the raw payload; len 0 means none was found. */
struct doc_span {
	size_t off;
	size_t len;
};

struct doc_scan {
	struct doc_span seq;
	struct doc_span value;
	struct doc_span item_value[DOC_MAX_READINGS];
};

/* A cursor over the raw payload. i may pass len; every read checks it. */
struct doc_text {
	const char *b;
	size_t len;
	size_t i;
};

/* Precision of a converted value, by source unit (see doc.h). */
static const struct {
	const char *unit;
	int decimals;
} doc_conv_decimals[] = {
	{ "[degF]", 2 },
	{ "kPa", 1 },
	{ "[lb_av]", 3 },
	{ "g", 3 },
	{ "mg/dL", 2 },
};

/* Room for doc_describe(): a quoted string of up to 32 bytes and a note. */
#define DOC_DESCRIBE_LEN 64

/* A unit metric.c learns later without an entry above. */
#define DOC_CONV_DECIMALS_DEFAULT 3

static bool
doc_peek(const struct doc_text *t, char c)
{
	return t->i < t->len && t->b[t->i] == c;
}

static bool
doc_peek_digit(const struct doc_text *t)
{
	return t->i < t->len && t->b[t->i] >= '0' && t->b[t->i] <= '9';
}

static void
doc_ws(struct doc_text *t)
{
	while (doc_peek(t, ' ') || doc_peek(t, '\t') || doc_peek(t, '\n') || doc_peek(t, '\r'))
		t->i++;
}

/* Skips the string at the cursor; *s and *n get its raw (escaped) text. */
static bool
doc_skip_string(struct doc_text *t, const char **s, size_t *n)
{
	size_t start;

	if (!doc_peek(t, '"'))
		return false;
	start = ++t->i;
	while (t->i < t->len) {
		if (t->b[t->i] == '\\') {
			t->i += 2;
			continue;
		}
		if (t->b[t->i] == '"') {
			*s = t->b + start;
			*n = t->i - start;
			t->i++;
			return true;
		}
		t->i++;
	}
	return false;
}

static bool
doc_skip_digits(struct doc_text *t)
{
	size_t start = t->i;

	while (doc_peek_digit(t))
		t->i++;
	return t->i > start;
}

/* Skips a number following the JSON grammar exactly (RFC 8259, 6). */
static bool
doc_skip_number(struct doc_text *t, struct doc_span *sp)
{
	size_t start = t->i;

	if (doc_peek(t, '-'))
		t->i++;
	if (doc_peek(t, '0'))
		t->i++;
	else if (!doc_skip_digits(t))
		return false;
	if (doc_peek(t, '.')) {
		t->i++;
		if (!doc_skip_digits(t))
			return false;
	}
	if (doc_peek(t, 'e') || doc_peek(t, 'E')) {
		t->i++;
		if (doc_peek(t, '+') || doc_peek(t, '-'))
			t->i++;
		if (!doc_skip_digits(t))
			return false;
	}
	sp->off = start;
	sp->len = t->i - start;
	return true;
}

/* Skips one value of any kind. Brackets are counted, not matched: the
 * skimmer only has to follow valid JSON, and jansson judges the rest. */
static bool
doc_skip_value(struct doc_text *t)
{
	const char *s;
	size_t n, depth = 0, start = t->i;

	if (doc_peek(t, '"'))
		return doc_skip_string(t, &s, &n);
	if (!doc_peek(t, '{') && !doc_peek(t, '[')) {
		while (t->i < t->len && strchr(",}] \t\r\n", t->b[t->i]) == NULL)
			t->i++;
		return t->i > start;
	}
	do {
		char c = t->b[t->i];

		if (c == '"') {
			if (!doc_skip_string(t, &s, &n))
				return false;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		t->i++;
	} while (depth > 0 && t->i < t->len);
	return depth == 0;
}

/* Notes the span of a number literal, or skips whatever value is there. */
static bool
doc_skim_number(struct doc_text *t, struct doc_span *sp)
{
	if (doc_peek(t, '-') || doc_peek_digit(t))
		return doc_skip_number(t, sp);
	return doc_skip_value(t);
}

static bool
doc_key_is(const char *k, size_t n, const char *key)
{
	return n == strlen(key) && memcmp(k, key, n) == 0;
}

/* Walks the members of the object at the cursor, calling visit for each
 * with the cursor on the member's value; visit must move past it. */
static bool
doc_skim_object(struct doc_text *t,
                bool (*visit)(struct doc_text *t, const char *k, size_t n, void *ctx), void *ctx)
{
	const char *k;
	size_t n;

	t->i++;
	doc_ws(t);
	if (doc_peek(t, '}')) {
		t->i++;
		return true;
	}
	for (;;) {
		doc_ws(t);
		if (!doc_skip_string(t, &k, &n))
			return false;
		doc_ws(t);
		if (!doc_peek(t, ':'))
			return false;
		t->i++;
		doc_ws(t);
		if (!visit(t, k, n, ctx))
			return false;
		doc_ws(t);
		if (doc_peek(t, ',')) {
			t->i++;
			continue;
		}
		if (!doc_peek(t, '}'))
			return false;
		t->i++;
		return true;
	}
}

static bool
doc_visit_item(struct doc_text *t, const char *k, size_t n, void *ctx)
{
	if (doc_key_is(k, n, "value"))
		return doc_skim_number(t, ctx);
	return doc_skip_value(t);
}

static bool
doc_skim_readings(struct doc_text *t, struct doc_scan *sc)
{
	t->i++;
	doc_ws(t);
	if (doc_peek(t, ']')) {
		t->i++;
		return true;
	}
	for (size_t idx = 0; idx < DOC_MAX_READINGS; idx++) {
		doc_ws(t);
		if (doc_peek(t, '{')) {
			if (!doc_skim_object(t, doc_visit_item, &sc->item_value[idx]))
				return false;
		} else if (!doc_skip_value(t)) {
			return false;
		}
		doc_ws(t);
		if (doc_peek(t, ',')) {
			t->i++;
			continue;
		}
		if (!doc_peek(t, ']'))
			return false;
		t->i++;
		return true;
	}
	/* More readings than allowed: the message is refused anyway, and the
	 * spans noted so far are never used. */
	return false;
}

static bool
doc_visit_top(struct doc_text *t, const char *k, size_t n, void *ctx)
{
	struct doc_scan *sc = ctx;

	if (doc_key_is(k, n, "seq"))
		return doc_skim_number(t, &sc->seq);
	if (doc_key_is(k, n, "value"))
		return doc_skim_number(t, &sc->value);
	if (doc_key_is(k, n, "readings") && doc_peek(t, '['))
		return doc_skim_readings(t, sc);
	return doc_skip_value(t);
}

static void
doc_skim(const char *b, size_t len, struct doc_scan *sc)
{
	struct doc_text t = { b, len, 0 };

	memset(sc, 0, sizeof(*sc));
	doc_ws(&t);
	if (doc_peek(&t, '{'))
		(void)doc_skim_object(&t, doc_visit_top, sc);
}

/* The decimals a literal was written with: "36.60" 2, "3.66e1" 1, "1e2" 0. */
static int
doc_span_decimals(const char *s, size_t n)
{
	size_t i = 0;
	long frac = 0, exp = 0, d;
	bool neg = false;

	while (i < n && s[i] != '.' && s[i] != 'e' && s[i] != 'E')
		i++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			frac++;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			neg = s[i++] == '-';
		/* Capped: beyond this the result is clamped anyway. */
		for (; i < n && s[i] >= '0' && s[i] <= '9' && exp < 100000; i++)
			exp = exp * 10 + (s[i] - '0');
	}
	d = frac + (neg ? exp : -exp);
	if (d < 0)
		return 0;
	return d > DOC_DECIMALS_MAX ? DOC_DECIMALS_MAX : (int)d;
}

/* Whether the number literal at p (n bytes) is not zero but strtod() finds
 * it below the smallest double (ERANGE with a result of zero or subnormal). */
static bool
doc_span_underflows(const char *p, size_t n)
{
	char buf[128];
	double d;

	if (n >= sizeof(buf)) {
		/* Longer than any sane literal: still exact, on the heap. */
		char *copy = strndup(p, n);
		bool under;

		if (copy == NULL)
			return false;
		errno = 0;
		d = strtod(copy, NULL);
		under = errno == ERANGE && fabs(d) < 1.0;
		free(copy);
		return under;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	return errno == ERANGE && fabs(d) < 1.0;
}

/* Without the text: the fewest decimals that print v back exactly. */
static int
doc_value_decimals(double v)
{
	char buf[64];

	for (int d = 0; d < DOC_DECIMALS_MAX; d++) {
		snprintf(buf, sizeof(buf), "%.*f", d, v);
		if (strtod(buf, NULL) == v)
			return d;
	}
	return DOC_DECIMALS_MAX;
}

static double
doc_round(double v, int decimals)
{
	double p = pow(10.0, decimals);

	return round(v * p) / p;
}

/* Copies src into dst[cap], cutting at a UTF-8 character boundary. */
static void
doc_copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Describes a JSON value that is not what was wanted, for a reason. */
static void
doc_describe(const json_t *v, char buf[DOC_DESCRIBE_LEN])
{
	char text[33];

	switch (json_typeof(v)) {
	case JSON_STRING:
		doc_copy_text(text, sizeof(text), json_string_value(v));
		snprintf(buf, DOC_DESCRIBE_LEN, "\"%s\"%s (a string)", text,
		         strlen(json_string_value(v)) >= sizeof(text) ? "..." : "");
		break;
	case JSON_OBJECT: snprintf(buf, DOC_DESCRIBE_LEN, "an object"); break;
	case JSON_ARRAY: snprintf(buf, DOC_DESCRIBE_LEN, "an array"); break;
	case JSON_INTEGER:
		snprintf(buf, DOC_DESCRIBE_LEN, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL: snprintf(buf, DOC_DESCRIBE_LEN, "%.15g", json_real_value(v)); break;
	case JSON_TRUE: snprintf(buf, DOC_DESCRIBE_LEN, "true"); break;
	case JSON_FALSE: snprintf(buf, DOC_DESCRIBE_LEN, "false"); break;
	case JSON_NULL: snprintf(buf, DOC_DESCRIBE_LEN, "null"); break;
	}
}

static void doc_reject(struct doc_item *it, int code, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Marks an item rejected; prefix names the reading in a readings array. */
static void
doc_reject(struct doc_item *it, int code, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	int n;

	it->ok = false;
	it->code = code;
	n = snprintf(it->reason, sizeof(it->reason), "%s", prefix);
	if (n < 0 || (size_t)n >= sizeof(it->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(it->reason + n, sizeof(it->reason) - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Reads a ts value and checks it against the window around now. On failure
 * why holds the reason; DHO_EINVAL for a malformed time, DHO_ERANGE for one
 * outside the window.
 */
static int
doc_time(const json_t *ts, dho_time_t now, dho_time_t *out, char *why, size_t len)
{
	char text[DOC_DESCRIBE_LEN];
	const char *s;
	dho_time_t t;

	if (!json_is_string(ts)) {
		doc_describe(ts, text);
		snprintf(why, len, "ts %s is not an RFC 3339 time string", text);
		return DHO_EINVAL;
	}
	s = json_string_value(ts);
	doc_copy_text(text, sizeof(text), s);
	/* A bare date parses as local midnight, but a device's local zone is
	 * not the hub's: a measurement time must carry its time of day. */
	if (strlen(s) <= 10 || (s[10] != 'T' && s[10] != 't') || timefmt_parse(s, &t) != DHO_OK) {
		snprintf(why, len, "ts \"%s\" is not an RFC 3339 time such as 2026-11-23T08:15:00Z",
		         text);
		return DHO_EINVAL;
	}
	if (t > now + DOC_MAX_AHEAD) {
		snprintf(why, len, "ts %s is %lld s ahead of the hub's clock, more than 5 minutes in the future",
		         text, (long long)(t - now));
		return DHO_ERANGE;
	}
	if (t < now - DOC_MAX_AGE) {
		snprintf(why, len, "ts %s is more than 30 days old", text);
		return DHO_ERANGE;
	}
	*out = t;
	return DHO_OK;
}

/*
 * Reads the value of one reading of metric m. sp is the literal's place in
 * the raw text (len 0 when unknown), for its decimals.
 */
static int
doc_value(enum metric m, const json_t *v, const char *raw, const struct doc_span *sp,
          double *out, int *decimals, char *why, size_t len)
{
	char text[DOC_DESCRIBE_LEN];

	*decimals = 0;
	if (m == METRIC_CONSCIOUSNESS) {
		const char *s = json_string_value(v);

		if (s != NULL && strlen(s) == 1 && metric_acvpu_value(s[0], out) == DHO_OK)
			return DHO_OK;
		doc_describe(v, text);
		snprintf(why, len, "consciousness value %s is not one of \"A\", \"C\", \"V\", \"P\", \"U\"",
		         text);
		return DHO_EINVAL;
	}
	if (m == METRIC_ON_OXYGEN && json_is_boolean(v)) {
		*out = json_is_true(v) ? 1 : 0;
		return DHO_OK;
	}
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return DHO_OK;
	}
	if (json_is_real(v)) {
		*out = json_real_value(v);
		/* jansson reads a literal too small for a double (1e-999) as 0
		 * without a word: a value the device did not send. */
		if (sp->len > 0 && doc_span_underflows(raw + sp->off, sp->len)) {
			snprintf(why, len, "%s value %.*s is too small to be represented (underflow)",
			         metric_name(m), sp->len < 40 ? (int)sp->len : 40, raw + sp->off);
			return DHO_ERANGE;
		}
		/* A flag has no precision to keep. */
		if (m != METRIC_ON_OXYGEN)
			*decimals = sp->len > 0 ? doc_span_decimals(raw + sp->off, sp->len)
			                        : doc_value_decimals(*out);
		return DHO_OK;
	}
	doc_describe(v, text);
	snprintf(why, len, "%s value %s is not a number", metric_name(m), text);
	return DHO_EINVAL;
}

static int
doc_conv_precision(const char *unit)
{
	for (size_t i = 0; i < sizeof(doc_conv_decimals) / sizeof(doc_conv_decimals[0]); i++)
		if (strcmp(unit, doc_conv_decimals[i].unit) == 0)
			return doc_conv_decimals[i].decimals;
	return DOC_CONV_DECIMALS_DEFAULT;
}

/* What one reading is made of; any member may be NULL when absent. */
struct doc_parts {
	const json_t *metric;
	const json_t *value;
	const json_t *unit;
	const json_t *ts;       /* a per-reading ts; NULL in the single form */
	const struct doc_span *span;
	const char *prefix;     /* "readings[3]: " or "" */
};

/* Fills it from the parts of one reading, accepted or rejected. */
static void
doc_item(const struct doc_parts *p, const char *raw, dho_time_t now, dho_time_t at,
         struct doc_item *it)
{
	char why[DHO_ERRLEN], sent[DOC_DESCRIBE_LEN];
	const char *unit = NULL;
	enum metric m;
	double v, canon;
	int decimals, rc;
	bool convert;

	if (p->metric == NULL) {
		doc_reject(it, DHO_EINVAL, p->prefix, "metric is missing");
		return;
	}
	if (!json_is_string(p->metric)) {
		doc_describe(p->metric, sent);
		doc_reject(it, DHO_EINVAL, p->prefix, "metric %s is not a string", sent);
		return;
	}
	doc_copy_text(it->metric, sizeof(it->metric), json_string_value(p->metric));
	if (metric_lookup(json_string_value(p->metric), &m) != DHO_OK) {
		doc_reject(it, DHO_ENOTFOUND, p->prefix, "unknown metric \"%s\"", it->metric);
		return;
	}
	if (p->unit != NULL) {
		if (!json_is_string(p->unit)) {
			doc_describe(p->unit, sent);
			doc_reject(it, DHO_EINVAL, p->prefix, "%s unit %s is not a string",
			           metric_name(m), sent);
			return;
		}
		unit = json_string_value(p->unit);
		if (metric_convert(m, unit, 0, &canon) != DHO_OK) {
			doc_copy_text(sent, sizeof(sent), unit);
			doc_reject(it, DHO_EUNSUPP, p->prefix, "unknown unit \"%s\" for %s (canonical %s)",
			           sent, metric_name(m), metric_unit(m));
			return;
		}
	}
	convert = unit != NULL && *unit != '\0' && strcmp(unit, metric_unit(m)) != 0;
	if (p->ts != NULL && (rc = doc_time(p->ts, now, &at, why, sizeof(why))) != DHO_OK) {
		doc_reject(it, rc, p->prefix, "%s", why);
		return;
	}
	if (p->value == NULL) {
		doc_reject(it, DHO_EINVAL, p->prefix, "%s value is missing", metric_name(m));
		return;
	}
	rc = doc_value(m, p->value, raw, p->span, &v, &decimals, why, sizeof(why));
	if (rc != DHO_OK) {
		doc_reject(it, rc, p->prefix, "%s", why);
		return;
	}
	canon = v;
	if (convert) {
		/* Checked above: the unit is one the metric accepts. */
		(void)metric_convert(m, unit, v, &canon);
		decimals = doc_conv_precision(unit);
		/* Rounded before the range check, so that an exact boundary in
		 * the source unit (113 [degF]) stays on the boundary. */
		if (isfinite(canon))
			canon = doc_round(canon, decimals);
	}
	if (metric_check(m, canon, why, sizeof(why)) != DHO_OK) {
		if (convert) {
			metric_format_value(v, -1, sent, sizeof(sent));
			doc_reject(it, DHO_ERANGE, p->prefix, "%s (sent as %s %s)", why, sent, unit);
		} else {
			doc_reject(it, DHO_ERANGE, p->prefix, "%s", why);
		}
		return;
	}
	it->ok = true;
	it->code = DHO_OK;
	it->r.metric = m;
	it->r.value = canon;
	it->r.decimals = decimals;
	it->r.measured_at = at;
	it->r.flags = 0;
}

/*
 * Reads seq from its literal in the raw text. jansson has seen 0 in its
 * place, so this is the only judge of the literal.
 */
static int
doc_seq_text(const char *s, size_t n, uint64_t *out, char *err, size_t errlen)
{
	int shown = n > 40 ? 40 : (int)n;
	uint64_t v = 0;

	if (s[0] == '-')
		return dho_fail(err, errlen, DHO_EINVAL,
		                "seq %.*s is negative; it must be an unsigned 64-bit integer", shown, s);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return dho_fail(err, errlen, DHO_EINVAL,
			                "seq %.*s is not an integer; it must be an unsigned 64-bit integer",
			                shown, s);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return dho_fail(err, errlen, DHO_EINVAL,
			                "seq %.*s%s is larger than 18446744073709551615 (2^64-1)", shown, s,
			                n > 40 ? "..." : "");
		v = v * 10 + d;
	}
	*out = v;
	return DHO_OK;
}

/* Reads seq from jansson's value, when the skimmer did not see it. */
static int
doc_seq_json(const json_t *seq, uint64_t *out, char *err, size_t errlen)
{
	char text[DOC_DESCRIBE_LEN];

	if (json_is_integer(seq) && json_integer_value(seq) >= 0) {
		*out = (uint64_t)json_integer_value(seq);
		return DHO_OK;
	}
	doc_describe(seq, text);
	return dho_fail(err, errlen, DHO_EINVAL, "seq %s is not an unsigned 64-bit integer", text);
}

static const char *
doc_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "value";
}

/* Parses the readings array into out->items. */
static int
doc_readings(const json_t *arr, const char *raw, const struct doc_scan *sc, dho_time_t now,
             struct doc_result *out, char *err, size_t errlen)
{
	char prefix[32], text[DOC_DESCRIBE_LEN];
	size_t n;

	if (!json_is_array(arr)) {
		doc_describe(arr, text);
		return dho_fail(err, errlen, DHO_EINVAL, "readings is %s, not an array", text);
	}
	n = json_array_size(arr);
	if (n == 0)
		return dho_fail(err, errlen, DHO_EINVAL, "readings is empty");
	if (n > DOC_MAX_READINGS)
		return dho_fail(err, errlen, DHO_ERANGE, "%zu readings, more than %d per message", n,
		                DOC_MAX_READINGS);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		struct doc_parts p = { NULL, NULL, NULL, NULL, &sc->item_value[i], prefix };

		snprintf(prefix, sizeof(prefix), "readings[%zu]: ", i);
		if (!json_is_object(e)) {
			doc_describe(e, text);
			doc_reject(&out->items[i], DHO_EINVAL, prefix, "%s is not an object", text);
			continue;
		}
		p.metric = json_object_get(e, "metric");
		p.value = json_object_get(e, "value");
		p.unit = json_object_get(e, "unit");
		p.ts = json_object_get(e, "ts");
		doc_item(&p, raw, now, out->measured_at, &out->items[i]);
	}
	out->n = n;
	return DHO_OK;
}

/* What a reading document and a GATT envelope share: the parsed object,
 * the skimmer's spans, and the copy jansson read (seq blanked). */
struct doc_head {
	struct doc_scan sc;
	json_t *root;
	char *copy;
};

/*
 * The part of every document of devices and bridges that is read the same
 * way: the size limit, the JSON object, "seq" (one range for all: 0 to
 * 2^64-1, from the raw text) and "ts" (RFC 3339, within 5 minutes ahead and
 * 30 days behind now). Sets out's seq and measured_at (now without ts). The
 * caller frees h with doc_head_free() whatever this returns.
 */
static int
doc_head(const char *payload, size_t len, dho_time_t now, struct doc_head *h,
         struct doc_result *out, char *err, size_t errlen)
{
	json_error_t jerr;
	const json_t *seq, *ts;
	const char *text = payload;
	int rc;

	memset(h, 0, sizeof(*h));
	memset(out, 0, sizeof(*out));
	out->measured_at = now;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (payload == NULL || len == 0)
		return dho_fail(err, errlen, DHO_EINVAL, "the payload is empty");
	if (len > DOC_MAX_BYTES)
		return dho_fail(err, errlen, DHO_ERANGE, "the payload is %zu bytes, more than %d", len,
		                DOC_MAX_BYTES);
	doc_skim(payload, len, &h->sc);
	if (h->sc.seq.len > 0) {
		h->copy = malloc(len);
		if (h->copy == NULL)
			return dho_fail(err, errlen, DHO_ENOMEM, "out of memory reading the payload");
		memcpy(h->copy, payload, len);
		memset(h->copy + h->sc.seq.off, ' ', h->sc.seq.len);
		h->copy[h->sc.seq.off] = '0';
		text = h->copy;
	}
	h->root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (h->root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return dho_fail(err, errlen, DHO_ENOMEM, "out of memory parsing the payload");
		return dho_fail(err, errlen, DHO_EINVAL, "malformed JSON at line %d column %d: %s",
		                jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(h->root))
		return dho_fail(err, errlen, DHO_EINVAL, "the payload is a JSON %s, not an object",
		                doc_type_name(h->root));
	if ((seq = json_object_get(h->root, "seq")) != NULL) {
		if (h->sc.seq.len > 0)
			rc = doc_seq_text(payload + h->sc.seq.off, h->sc.seq.len, &out->seq, err, errlen);
		else
			rc = doc_seq_json(seq, &out->seq, err, errlen);
		if (rc != DHO_OK)
			return rc;
		out->has_seq = true;
	}
	if ((ts = json_object_get(h->root, "ts")) != NULL) {
		char why[DHO_ERRLEN];

		rc = doc_time(ts, now, &out->measured_at, why, sizeof(why));
		if (rc != DHO_OK)
			return dho_fail(err, errlen, rc, "%s", why);
	}
	return DHO_OK;
}

static void
doc_head_free(struct doc_head *h)
{
	json_decref(h->root);
	free(h->copy);
}

/* A failed parse leaves out as the header promises. */
static int
doc_done(struct doc_head *h, struct doc_result *out, dho_time_t now, int rc)
{
	doc_head_free(h);
	if (rc != DHO_OK) {
		memset(out, 0, sizeof(*out));
		out->measured_at = now;
	}
	return rc;
}

int
doc_parse(const char *payload, size_t len, dho_time_t now, struct doc_result *out,
          char *err, size_t errlen)
{
	struct doc_head h;
	struct doc_parts p = { NULL, NULL, NULL, NULL, NULL, "" };
	const json_t *readings;
	int rc;

	if ((rc = doc_head(payload, len, now, &h, out, err, errlen)) != DHO_OK)
		return doc_done(&h, out, now, rc);
	p.metric = json_object_get(h.root, "metric");
	p.value = json_object_get(h.root, "value");
	p.unit = json_object_get(h.root, "unit");
	readings = json_object_get(h.root, "readings");
	if (readings != NULL) {
		if (p.metric != NULL || p.value != NULL)
			rc = dho_fail(err, errlen, DHO_EINVAL,
			              "the message has both metric/value and readings");
		else if (p.unit != NULL)
			rc = dho_fail(err, errlen, DHO_EINVAL,
			              "a top-level unit beside readings is ambiguous; give unit in each reading");
		else
			rc = doc_readings(readings, payload, &h.sc, now, out, err, errlen);
		return doc_done(&h, out, now, rc);
	}
	if (p.metric == NULL && p.value == NULL)
		rc = dho_fail(err, errlen, DHO_EINVAL,
		              "the message has neither metric and value nor a readings array");
	else if (p.value == NULL)
		rc = dho_fail(err, errlen, DHO_EINVAL, "the message has a metric but no value");
	else if (p.metric == NULL)
		rc = dho_fail(err, errlen, DHO_EINVAL, "the message has a value but no metric");
	if (rc != DHO_OK)
		return doc_done(&h, out, now, rc);
	p.span = &h.sc.value;
	doc_item(&p, payload, now, out->measured_at, &out->items[0]);
	out->n = 1;
	return doc_done(&h, out, now, DHO_OK);
}

void
doc_from_gatt(const struct gatt_value *v, dho_time_t base, struct doc_result *d)
{
	dho_time_t t = base;
	uint32_t clock = 0;
	int rc = gatt_time(v, &t);

	/* The device's own clock is used when it is plausible. */
	if (rc == DHO_OK && (t > base + DOC_MAX_AHEAD || t < base - DOC_MAX_AGE)) {
		t = base;
		clock = RFLAG_DEVICE_CLOCK;
	} else if (rc == DHO_ERANGE) {
		t = base;
		clock = RFLAG_DEVICE_CLOCK;
	} else if (rc != DHO_OK) {
		t = base;
	}
	d->measured_at = base;
	d->n = 0;
	for (size_t i = 0; i < v->n && d->n < DOC_MAX_READINGS; i++) {
		struct doc_item *it = &d->items[d->n++];

		memset(it, 0, sizeof(*it));
		snprintf(it->metric, sizeof(it->metric), "%s", metric_name(v->readings[i].metric));
		if (v->mark[i] != GATT_MARK_NONE) {
			it->code = v->mark[i] == GATT_MARK_SPECIAL ? DHO_ESPECIAL : DHO_EINVAL;
			snprintf(it->reason, sizeof(it->reason), "%s", v->reason[i]);
			continue;
		}
		it->r = v->readings[i];
		it->r.measured_at = t;
		it->r.flags |= clock;
		it->code = metric_check(it->r.metric, it->r.value, it->reason, sizeof(it->reason));
		it->ok = it->code == DHO_OK;
	}
}

int
doc_parse_gatt(const char *payload, size_t len, dho_time_t now, struct doc_result *out,
               char *err, size_t errlen)
{
	struct doc_head h;
	json_error_t jerr;
	const char *uuid_s = NULL, *hex = NULL;
	uint8_t buf[GATT_MAX_VALUE];
	struct gatt_value v;
	char why[DHO_ERRLEN];
	uint16_t uuid;
	size_t n;
	int rc;

	if ((rc = doc_head(payload, len, now, &h, out, err, errlen)) != DHO_OK)
		return doc_done(&h, out, now, rc);
	if (json_unpack_ex(h.root, &jerr, 0, "{s:s, s:s}", "uuid", &uuid_s, "hex", &hex) != 0)
		rc = dho_fail(err, errlen, DHO_EINVAL,
		              "GATT envelope needs string fields uuid and hex: %s", jerr.text);
	else if (gatt_parse_uuid(uuid_s, &uuid) != DHO_OK)
		rc = dho_fail(err, errlen, DHO_EINVAL, "uuid '%.40s' is not a 16-bit Bluetooth UUID",
		              uuid_s);
	else if (gatt_parse_hex(hex, buf, sizeof(buf), &n, why, sizeof(why)) != DHO_OK)
		rc = dho_fail(err, errlen, DHO_EINVAL, "hex: %s", why);
	else if ((rc = gatt_decode(uuid, buf, n, &v, why, sizeof(why))) != DHO_OK)
		rc = dho_fail(err, errlen, rc, "%s", why);
	if (rc == DHO_OK) {
		doc_from_gatt(&v, out->measured_at, out);
		out->uuid = uuid;
	}
	return doc_done(&h, out, now, rc);
}
