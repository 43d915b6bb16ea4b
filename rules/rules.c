/*
 * rules.c: the rule grammar (see rules.h) and the pure evaluation of
 * threshold, trend, baseline and missing rules.
 *
 * The parser is a small hand-written scanner over the spec text with one
 * function per rule kind. It keeps the column of every term so that both a
 * syntax error and a semantic one (a duplicate or unreachable term) can
 * name where it is. A parsed rule keeps its normalized spec, which is what
 * the store records and `rule list` prints; parsing it again gives the same
 * rule.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "rules.h"
#include "timefmt.h"

/* Enough for one term per severity and direction with two trend windows. */
#define RULES_TERMS_MAX 8
/* Digits before and after the point of a limit. */
#define RULES_INT_DIGITS 9
#define RULES_FRAC_DIGITS 6

struct rules_term {
	enum rules_severity sev;
	int dir;           /* threshold: -1 below, +1 above; trend, baseline: -1 fall, +1 rise */
	bool inclusive;    /* threshold <= and >= */
	double limit;
	int decimals;      /* as written, for the normalized spec and reasons */
	int64_t window;    /* trend: D */
	size_t at;         /* 0-based column of the term in the spec */
};

struct rule {
	enum rule_kind kind;
	bool has_metric;
	enum metric metric;
	char key[RULES_KEY_MAX];
	char spec[RULES_SPEC_MAX];
	struct rules_term terms[RULES_TERMS_MAX];
	size_t nterms;
	int64_t over;          /* baseline */
	unsigned min_n;        /* baseline */
	int64_t miss_yellow;   /* missing */
	int64_t miss_red;      /* missing; 0 when none */
	int news2_scale;       /* news2: 0 off, 1, 2 */
	int64_t news2_window;  /* news2 */
};

struct rules_parser {
	const char *s;     /* the spec */
	size_t i;          /* the scanner's place in s */
	size_t base;       /* columns before s in what the user typed */
	char *err;
	size_t errlen;
	struct rule *r;
};

/* ---- names ---- */

const char *
rules_severity_name(enum rules_severity s)
{
	switch (s) {
	case RULES_NONE: return "none";
	case RULES_YELLOW: return "yellow";
	case RULES_RED: return "red";
	}
	return "?";
}

const char *
rules_kind_name(enum rule_kind k)
{
	switch (k) {
	case RULE_THRESHOLD: return "threshold";
	case RULE_TREND: return "trend";
	case RULE_BASELINE: return "baseline";
	case RULE_MISSING: return "missing";
	case RULE_NEWS2: return "news2";
	}
	return "?";
}

static int rules_fail(struct rules_parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes "position N: ..." for the 0-based column at of the spec. */
static int
rules_fail(struct rules_parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return DHO_EINVAL;
	n = snprintf(p->err, p->errlen, "position %zu: ", p->base + at + 1);
	if (n > 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return DHO_EINVAL;
}

/* Describes the character at the scanner for "unexpected ..." messages. */
static void
rules_describe_char(char c, char *buf, size_t len)
{
	if (c == '\0')
		snprintf(buf, len, "the end of the spec");
	else if (isprint((unsigned char)c))
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", (unsigned)(unsigned char)c);
}

/* ---- scanning ---- */

static char
rules_peek(const struct rules_parser *p)
{
	return p->s[p->i];
}

static void
rules_skip_space(struct rules_parser *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
		p->i++;
}

static bool
rules_at_end(struct rules_parser *p)
{
	rules_skip_space(p);
	return p->s[p->i] == '\0';
}

static bool
rules_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The length of the word at the scanner, without consuming it. */
static size_t
rules_word_len(const struct rules_parser *p)
{
	size_t n = 0;

	while (rules_word_char(p->s[p->i + n]))
		n++;
	return n;
}

static bool
rules_word_is(const struct rules_parser *p, size_t n, const char *w)
{
	return strlen(w) == n && strncmp(p->s + p->i, w, n) == 0;
}

/* A hint for a keyword typed in capitals. */
static const char *
rules_case_hint(const struct rules_parser *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (isupper((unsigned char)p->s[p->i + k]))
			return " (keywords are lower case)";
	return "";
}

/*
 * Between terms: spaces, or one comma with spaces around it. At the start
 * of the spec nothing is needed; a comma there or at the end is an error.
 */
static int
rules_separator(struct rules_parser *p, bool first)
{
	rules_skip_space(p);
	if (rules_peek(p) != ',')
		return DHO_OK;
	if (first)
		return rules_fail(p, p->i, "unexpected ',' before the first term");
	p->i++;
	rules_skip_space(p);
	if (rules_peek(p) == '\0' || rules_peek(p) == ',')
		return rules_fail(p, p->i, "expected a term after ','");
	return DHO_OK;
}

/* After a term that began at column start: the spec ends, or a separator follows. */
static int
rules_term_end(struct rules_parser *p, size_t start)
{
	char c = rules_peek(p), what[24];

	if (c == '\0' || c == ' ' || c == '\t' || c == ',')
		return DHO_OK;
	rules_describe_char(c, what, sizeof(what));
	return rules_fail(p, p->i, "unexpected %s after '%.*s'; terms are separated by spaces",
	                  what, (int)(p->i - start), p->s + start);
}

/*
 * A limit: digits, optionally a point and more digits. No sign, exponent,
 * hex or "inf": strtod() would take them all, so the text is checked first.
 */
static int
rules_number(struct rules_parser *p, const char *after, double *out, int *decimals)
{
	size_t start = p->i, n = 0, frac = 0;
	char buf[RULES_INT_DIGITS + RULES_FRAC_DIGITS + 2];
	char *end;

	while (isdigit((unsigned char)p->s[start + n]))
		n++;
	if (n == 0)
		return rules_fail(p, start, "expected a number after '%s'", after);
	if (n > RULES_INT_DIGITS)
		return rules_fail(p, start, "the number has more than %d digits before the point",
		                  RULES_INT_DIGITS);
	if (p->s[start + n] == '.') {
		while (isdigit((unsigned char)p->s[start + n + 1 + frac]))
			frac++;
		if (frac == 0)
			return rules_fail(p, start + n + 1, "expected a digit after the point");
		if (frac > RULES_FRAC_DIGITS)
			return rules_fail(p, start, "the number has more than %d decimals",
			                  RULES_FRAC_DIGITS);
		n += 1 + frac;
	}
	memcpy(buf, p->s + start, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	if (*end != '\0')
		return rules_fail(p, start, "expected a number after '%s'", after);
	*decimals = (int)frac;
	p->i = start + n;
	return DHO_OK;
}

/* A whole number for "min N". */
static int
rules_integer(struct rules_parser *p, const char *after, long long lo, long long hi,
              long long *out)
{
	size_t start = p->i, n = 0;
	char buf[8];
	char *end;

	while (isdigit((unsigned char)p->s[start + n]))
		n++;
	if (n == 0)
		return rules_fail(p, start, "expected a whole number after '%s'", after);
	if (p->s[start + n] == '.')
		return rules_fail(p, start, "'%s' takes a whole number", after);
	if (n >= sizeof(buf))
		return rules_fail(p, start, "'%s' takes a number from %lld to %lld", after, lo, hi);
	memcpy(buf, p->s + start, n);
	buf[n] = '\0';
	*out = strtoll(buf, &end, 10);
	if (*end != '\0' || *out < lo || *out > hi)
		return rules_fail(p, start, "'%s' takes a number from %lld to %lld", after, lo, hi);
	p->i = start + n;
	return DHO_OK;
}

/* A duration with its unit: "90s", "15m", "26h", "3d". */
static int
rules_duration(struct rules_parser *p, const char *after, int64_t *out)
{
	size_t start = p->i, n = 0;
	char buf[16];
	int rc;

	while (isdigit((unsigned char)p->s[start + n]))
		n++;
	if (n == 0)
		return rules_fail(p, start, "expected a duration such as 15m, 26h or 3d after '%s'",
		                  after);
	if (strchr("smhd", p->s[start + n]) == NULL || p->s[start + n] == '\0')
		return rules_fail(p, start + n, "a duration needs a unit: s, m, h or d (as in 3d)");
	n++;
	if (n >= sizeof(buf))
		return rules_fail(p, start, "the duration is longer than 3650 days");
	memcpy(buf, p->s + start, n);
	buf[n] = '\0';
	rc = timefmt_parse_duration(buf, out);
	if (rc == DHO_ERANGE)
		return rules_fail(p, start, "a duration must be more than 0 and at most 3650 days");
	if (rc != DHO_OK)
		return rules_fail(p, start, "expected a duration such as 15m, 26h or 3d after '%s'",
		                  after);
	p->i = start + n;
	return DHO_OK;
}

/* "red" or "yellow"; other words get a message naming what else fits. */
static int
rules_severity_word(struct rules_parser *p, const char *expected, enum rules_severity *out)
{
	size_t n = rules_word_len(p);

	if (rules_word_is(p, n, "red"))
		*out = RULES_RED;
	else if (rules_word_is(p, n, "yellow"))
		*out = RULES_YELLOW;
	else
		return rules_fail(p, p->i, "expected %s%s", expected, rules_case_hint(p, n));
	p->i += n;
	return DHO_OK;
}

static int
rules_expect_char(struct rules_parser *p, char c, const char *what, const char *after)
{
	rules_skip_space(p);
	if (rules_peek(p) != c)
		return rules_fail(p, p->i, "expected %s after '%s'", what, after);
	p->i++;
	rules_skip_space(p);
	return DHO_OK;
}

static int
rules_add_term(struct rules_parser *p, const struct rules_term *t)
{
	if (p->r->nterms >= RULES_TERMS_MAX)
		return rules_fail(p, t->at, "more than %d terms", RULES_TERMS_MAX);
	p->r->terms[p->r->nterms++] = *t;
	return DHO_OK;
}

/* ---- the kinds ---- */

static const char *
rules_op_text(const struct rules_term *t)
{
	if (t->dir < 0)
		return t->inclusive ? "<=" : "<";
	return t->inclusive ? ">=" : ">";
}

/*
 * Whether yellow term y can ever fire beside red term r of the same side:
 * some value must meet y and not r.
 */
static bool
rules_threshold_reachable(const struct rules_term *y, const struct rules_term *r)
{
	if (y->limit == r->limit)
		return y->inclusive && !r->inclusive;
	return y->dir < 0 ? y->limit > r->limit : y->limit < r->limit;
}

static int
rules_check_threshold_terms(struct rules_parser *p)
{
	const struct rule *r = p->r;
	const struct rules_term *lo = NULL, *hi = NULL;

	for (size_t a = 0; a < r->nterms; a++) {
		const struct rules_term *x = &r->terms[a];

		for (size_t b = 0; b < a; b++) {
			const struct rules_term *y = &r->terms[b];

			if (x->dir != y->dir)
				continue;
			if (x->sev == y->sev)
				return rules_fail(p, x->at, "a second %s limit %s (%s%s already given)",
				                  rules_severity_name(x->sev),
				                  x->dir < 0 ? "below" : "above",
				                  rules_severity_name(y->sev), rules_op_text(y));
			{
				const struct rules_term *yel = x->sev == RULES_YELLOW ? x : y;
				const struct rules_term *red = x->sev == RULES_RED ? x : y;

				if (!rules_threshold_reachable(yel, red))
					return rules_fail(p, yel->at,
					                  "this yellow term can never fire: the red term at "
					                  "position %zu covers every value it meets",
					                  p->base + red->at + 1);
			}
		}
		/* The most permissive limit of each side decides what is normal. */
		if (x->dir < 0 && (lo == NULL || x->limit > lo->limit ||
		                   (x->limit == lo->limit && x->inclusive)))
			lo = x;
		if (x->dir > 0 && (hi == NULL || x->limit < hi->limit ||
		                   (x->limit == hi->limit && x->inclusive)))
			hi = x;
	}
	if (lo != NULL && hi != NULL &&
	    (lo->limit > hi->limit || (lo->limit == hi->limit && (lo->inclusive || hi->inclusive))))
		return rules_fail(p, lo->at > hi->at ? lo->at : hi->at,
		                  "no value would be normal: the limits below and above overlap");
	return DHO_OK;
}

/* threshold.M: SEV OP X ... */
static int
rules_parse_threshold(struct rules_parser *p)
{
	struct rules_term t;
	char ctx[24];
	int rc;

	for (bool first = true; !rules_at_end(p); first = false) {
		if ((rc = rules_separator(p, first)) != DHO_OK)
			return rc;
		memset(&t, 0, sizeof(t));
		t.at = p->i;
		if ((rc = rules_severity_word(p, "'red' or 'yellow'", &t.sev)) != DHO_OK)
			return rc;
		rules_skip_space(p);
		if (rules_peek(p) == '<' || rules_peek(p) == '>') {
			t.dir = rules_peek(p) == '<' ? -1 : 1;
			p->i++;
			if (rules_peek(p) == '=') {
				t.inclusive = true;
				p->i++;
			}
		} else {
			return rules_fail(p, p->i, "expected '<', '<=', '>' or '>=' after '%s'",
			                  rules_severity_name(t.sev));
		}
		snprintf(ctx, sizeof(ctx), "%s%s", rules_severity_name(t.sev), rules_op_text(&t));
		rules_skip_space(p);
		if ((rc = rules_number(p, ctx, &t.limit, &t.decimals)) != DHO_OK)
			return rc;
		if ((rc = rules_term_end(p, t.at)) != DHO_OK)
			return rc;
		if ((rc = rules_add_term(p, &t)) != DHO_OK)
			return rc;
	}
	if (p->r->nterms == 0)
		return rules_fail(p, p->i, "expected at least one term such as red<88");
	return rules_check_threshold_terms(p);
}

/*
 * Trend and baseline terms: duplicates (same severity and direction, and for
 * a trend the same D) and yellow terms a red one always covers.
 */
static int
rules_check_change_terms(struct rules_parser *p)
{
	const struct rule *r = p->r;

	for (size_t a = 0; a < r->nterms; a++) {
		const struct rules_term *x = &r->terms[a];

		for (size_t b = 0; b < a; b++) {
			const struct rules_term *y = &r->terms[b];

			if (x->dir != y->dir || x->window != y->window)
				continue;
			if (x->sev == y->sev)
				return rules_fail(p, x->at, "a second %s %s term%s", rules_severity_name(x->sev),
				                  x->dir < 0 ? "fall" : "rise",
				                  r->kind == RULE_TREND ? " with the same duration" : "");
			{
				const struct rules_term *yel = x->sev == RULES_YELLOW ? x : y;
				const struct rules_term *red = x->sev == RULES_RED ? x : y;

				if (yel->limit >= red->limit)
					return rules_fail(p, yel->at,
					                  "this yellow term can never fire: the red term at "
					                  "position %zu has a limit no larger",
					                  p->base + red->at + 1);
			}
		}
	}
	return DHO_OK;
}

/* The common head of trend and baseline terms: SEV : SIGN X. */
static int
rules_change_head(struct rules_parser *p, struct rules_term *t, char *ctx, size_t ctxlen,
                  const char *expected)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->at = p->i;
	if ((rc = rules_severity_word(p, expected, &t->sev)) != DHO_OK)
		return rc;
	if ((rc = rules_expect_char(p, ':', "':'", rules_severity_name(t->sev))) != DHO_OK)
		return rc;
	snprintf(ctx, ctxlen, "%s:", rules_severity_name(t->sev));
	if (rules_peek(p) != '+' && rules_peek(p) != '-')
		return rules_fail(p, p->i, "expected '+' (a rise) or '-' (a fall) after '%s'", ctx);
	t->dir = rules_peek(p) == '-' ? -1 : 1;
	p->i++;
	rules_skip_space(p);
	snprintf(ctx, ctxlen, "%s:%c", rules_severity_name(t->sev), t->dir < 0 ? '-' : '+');
	if ((rc = rules_number(p, ctx, &t->limit, &t->decimals)) != DHO_OK)
		return rc;
	snprintf(ctx, ctxlen, "%s:%c%.*f", rules_severity_name(t->sev), t->dir < 0 ? '-' : '+',
	         t->decimals, t->limit);
	return DHO_OK;
}

/* trend.M: SEV:+X/D SEV:-X/D ... */
static int
rules_parse_trend(struct rules_parser *p)
{
	struct rules_term t;
	char ctx[48];
	size_t len;
	int rc;

	for (bool first = true; !rules_at_end(p); first = false) {
		if ((rc = rules_separator(p, first)) != DHO_OK)
			return rc;
		if ((rc = rules_change_head(p, &t, ctx, sizeof(ctx), "'red' or 'yellow'")) != DHO_OK)
			return rc;
		if ((rc = rules_expect_char(p, '/', "'/' and a duration", ctx)) != DHO_OK)
			return rc;
		len = strlen(ctx);
		snprintf(ctx + len, sizeof(ctx) - len, "/");
		if ((rc = rules_duration(p, ctx, &t.window)) != DHO_OK)
			return rc;
		if ((rc = rules_term_end(p, t.at)) != DHO_OK)
			return rc;
		if ((rc = rules_add_term(p, &t)) != DHO_OK)
			return rc;
		if (p->r->over < t.window)
			p->r->over = t.window;
	}
	if (p->r->nterms == 0)
		return rules_fail(p, p->i, "expected at least one term such as yellow:+2/3d");
	return rules_check_change_terms(p);
}

/* baseline.M: SEV:-X SEV:+X ... [over D] [min N], options in any order. */
static int
rules_parse_baseline(struct rules_parser *p)
{
	struct rules_term t;
	bool have_over = false, have_min = false;
	long long n = 0;
	char ctx[48];
	size_t w;
	int rc;

	p->r->over = RULES_BASELINE_DEFAULT_OVER;
	p->r->min_n = RULES_BASELINE_DEFAULT_MIN;
	for (bool first = true; !rules_at_end(p); first = false) {
		if ((rc = rules_separator(p, first)) != DHO_OK)
			return rc;
		w = rules_word_len(p);
		if (rules_word_is(p, w, "over")) {
			size_t start = p->i;

			if (have_over)
				return rules_fail(p, p->i, "'over' is given twice");
			have_over = true;
			p->i += w;
			rules_skip_space(p);
			if ((rc = rules_duration(p, "over", &p->r->over)) != DHO_OK)
				return rc;
			if ((rc = rules_term_end(p, start)) != DHO_OK)
				return rc;
			continue;
		}
		if (rules_word_is(p, w, "min")) {
			size_t start = p->i;

			if (have_min)
				return rules_fail(p, p->i, "'min' is given twice");
			have_min = true;
			p->i += w;
			rules_skip_space(p);
			if ((rc = rules_integer(p, "min", 1, RULES_MIN_READINGS_MAX, &n)) != DHO_OK)
				return rc;
			p->r->min_n = (unsigned)n;
			if ((rc = rules_term_end(p, start)) != DHO_OK)
				return rc;
			continue;
		}
		if ((rc = rules_change_head(p, &t, ctx, sizeof(ctx),
		                            "'red', 'yellow', 'over' or 'min'")) != DHO_OK)
			return rc;
		if ((rc = rules_term_end(p, t.at)) != DHO_OK)
			return rc;
		if ((rc = rules_add_term(p, &t)) != DHO_OK)
			return rc;
	}
	if (p->r->nterms == 0)
		return rules_fail(p, p->i, "expected at least one term such as yellow:-4");
	return rules_check_change_terms(p);
}

/* missing.M: D [red:D2] */
static int
rules_parse_missing(struct rules_parser *p)
{
	size_t at;
	int rc;

	rules_skip_space(p);
	at = p->i;
	if (!isdigit((unsigned char)rules_peek(p)))
		return rules_fail(p, p->i, "expected a duration such as 26h");
	if ((rc = rules_duration(p, "the key", &p->r->miss_yellow)) != DHO_OK)
		return rc;
	if ((rc = rules_term_end(p, at)) != DHO_OK)
		return rc;
	if (rules_at_end(p))
		return DHO_OK;
	if ((rc = rules_separator(p, false)) != DHO_OK)
		return rc;
	at = p->i;
	{
		size_t w = rules_word_len(p);

		if (!rules_word_is(p, w, "red"))
			return rules_fail(p, p->i, "expected 'red:' and a later duration%s",
			                  rules_case_hint(p, w));
		p->i += w;
	}
	if ((rc = rules_expect_char(p, ':', "':'", "red")) != DHO_OK)
		return rc;
	if ((rc = rules_duration(p, "red:", &p->r->miss_red)) != DHO_OK)
		return rc;
	if ((rc = rules_term_end(p, at)) != DHO_OK)
		return rc;
	if (p->r->miss_red <= p->r->miss_yellow)
		return rules_fail(p, at, "the red deadline must be later than the yellow one");
	if (!rules_at_end(p)) {
		char what[24];

		rules_describe_char(rules_peek(p), what, sizeof(what));
		return rules_fail(p, p->i, "unexpected %s: a missing rule is 'D' or 'D red:D2'", what);
	}
	return DHO_OK;
}

/* news2: off | scale1 | scale2, and window D, in any order. */
static int
rules_parse_news2(struct rules_parser *p)
{
	bool have_mode = false, have_window = false;
	size_t window_at = 0;
	int rc;

	p->r->news2_window = RULES_NEWS2_DEFAULT_WINDOW;
	for (bool first = true; !rules_at_end(p); first = false) {
		size_t w;

		if ((rc = rules_separator(p, first)) != DHO_OK)
			return rc;
		w = rules_word_len(p);
		if (rules_word_is(p, w, "window")) {
			if (have_window)
				return rules_fail(p, p->i, "'window' is given twice");
			have_window = true;
			window_at = p->i;
			p->i += w;
			rules_skip_space(p);
			if ((rc = rules_duration(p, "window", &p->r->news2_window)) != DHO_OK)
				return rc;
			if ((rc = rules_term_end(p, window_at)) != DHO_OK)
				return rc;
			continue;
		}
		if (have_mode && (rules_word_is(p, w, "off") || rules_word_is(p, w, "scale1") ||
		                  rules_word_is(p, w, "scale2")))
			return rules_fail(p, p->i, "only one of 'off', 'scale1' and 'scale2'");
		if (rules_word_is(p, w, "off"))
			p->r->news2_scale = 0;
		else if (rules_word_is(p, w, "scale1"))
			p->r->news2_scale = 1;
		else if (rules_word_is(p, w, "scale2"))
			p->r->news2_scale = 2;
		else
			return rules_fail(p, p->i, "expected 'off', 'scale1', 'scale2' or 'window'%s",
			                  rules_case_hint(p, w));
		have_mode = true;
		p->i += w;
		if ((rc = rules_term_end(p, p->i - w)) != DHO_OK)
			return rc;
	}
	if (!have_mode)
		return rules_fail(p, p->i, "expected 'off', 'scale1' or 'scale2'");
	if (p->r->news2_scale == 0 && have_window)
		return rules_fail(p, window_at, "'off' takes no window");
	if (p->r->news2_scale == 0)
		p->r->news2_window = 0;
	return DHO_OK;
}

/* ---- normalized text ---- */

/* fall red, fall yellow, rise yellow, rise red: the order of the value axis. */
static int
rules_term_rank(const struct rules_term *t)
{
	if (t->dir < 0)
		return t->sev == RULES_RED ? 0 : 1;
	return t->sev == RULES_YELLOW ? 2 : 3;
}

static int
rules_term_cmp(const void *a, const void *b)
{
	const struct rules_term *x = a, *y = b;
	int rx = rules_term_rank(x), ry = rules_term_rank(y);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->window != y->window)
		return x->window < y->window ? -1 : 1;
	if (x->limit != y->limit)
		return x->limit < y->limit ? -1 : 1;
	return 0;
}

static int
rules_normalize(struct rule *r)
{
	char d1[16], d2[16];
	struct dynbuf spec;
	int rc = DHO_OK;

	dynbuf_init_fixed(&spec, r->spec, sizeof(r->spec));
	qsort(r->terms, r->nterms, sizeof(r->terms[0]), rules_term_cmp);
	for (size_t i = 0; i < r->nterms && rc == DHO_OK; i++) {
		const struct rules_term *t = &r->terms[i];
		const char *sep = i ? " " : "";

		switch (r->kind) {
		case RULE_THRESHOLD:
			rc = dynbuf_addf(&spec, "%s%s%s%.*f", sep,
			                 rules_severity_name(t->sev), rules_op_text(t), t->decimals,
			                 t->limit);
			break;
		case RULE_TREND:
			timefmt_format_duration(t->window, d1, sizeof(d1));
			rc = dynbuf_addf(&spec, "%s%s:%c%.*f/%s", sep,
			                 rules_severity_name(t->sev), t->dir < 0 ? '-' : '+',
			                 t->decimals, t->limit, d1);
			break;
		default:
			rc = dynbuf_addf(&spec, "%s%s:%c%.*f", sep,
			                 rules_severity_name(t->sev), t->dir < 0 ? '-' : '+',
			                 t->decimals, t->limit);
			break;
		}
	}
	if (rc != DHO_OK)
		return rc;
	switch (r->kind) {
	case RULE_BASELINE:
		timefmt_format_duration(r->over, d1, sizeof(d1));
		rc = dynbuf_addf(&spec, " over %s min %u", d1, r->min_n);
		break;
	case RULE_MISSING:
		timefmt_format_duration(r->miss_yellow, d1, sizeof(d1));
		timefmt_format_duration(r->miss_red, d2, sizeof(d2));
		if (r->miss_red > 0)
			rc = dynbuf_addf(&spec, "%s red:%s", d1, d2);
		else
			rc = dynbuf_addf(&spec, "%s", d1);
		break;
	case RULE_NEWS2:
		timefmt_format_duration(r->news2_window, d1, sizeof(d1));
		if (r->news2_scale == 0)
			rc = dynbuf_addf(&spec, "off");
		else
			rc = dynbuf_addf(&spec, "scale%d window %s",
			                 r->news2_scale, d1);
		break;
	default:
		break;
	}
	return rc;
}

/* ---- keys and the entry points ---- */

static int
rules_parse_key(struct rule *r, const char *key, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum rule_kind kind;
	} kinds[] = {
		{ "threshold.", RULE_THRESHOLD },
		{ "trend.", RULE_TREND },
		{ "baseline.", RULE_BASELINE },
		{ "missing.", RULE_MISSING },
	};
	size_t len = strlen(key);

	if (len >= sizeof(r->key))
		goto unknown;
	snprintf(r->key, sizeof(r->key), "%s", key);
	if (strcmp(key, "news2") == 0) {
		r->kind = RULE_NEWS2;
		return DHO_OK;
	}
	if (strcmp(key, "missing.any") == 0) {
		r->kind = RULE_MISSING;
		return DHO_OK;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t plen = strlen(kinds[i].prefix);

		if (strncmp(key, kinds[i].prefix, plen) != 0)
			continue;
		r->kind = kinds[i].kind;
		if (metric_lookup(key + plen, &r->metric) != DHO_OK)
			return dho_fail(err, errlen, DHO_EINVAL, "unknown metric '%s' in the rule key '%s'",
			                key + plen, key);
		r->has_metric = true;
		return DHO_OK;
	}
unknown:
	return dho_fail(err, errlen, DHO_EINVAL,
	                "unknown rule key '%.40s%s': expected threshold.M, trend.M, "
	                "baseline.M, missing.M, missing.any or news2", key,
	                len > 40 ? "..." : "");
}

static int
rules_parse_at(const char *key, const char *spec, size_t base, struct rule **out,
               char *err, size_t errlen)
{
	struct rules_parser p = { .s = spec, .base = base, .err = err, .errlen = errlen };
	struct rule *r = NULL;
	int rc;

	*out = NULL;
	if (key == NULL || *key == '\0')
		return dho_fail(err, errlen, DHO_EINVAL, "no rule key");
	if (spec == NULL)
		return dho_fail(err, errlen, DHO_EINVAL, "no spec for the rule '%s'", key);
	if (strlen(spec) >= RULES_SPEC_MAX)
		return dho_fail(err, errlen, DHO_EINVAL, "the spec is longer than %d characters",
		                RULES_SPEC_MAX - 1);
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		dho_fail(err, errlen, DHO_EINVAL, "out of memory");
		return DHO_ENOMEM;
	}
	p.r = r;
	if ((rc = rules_parse_key(r, key, err, errlen)) != DHO_OK)
		goto fail;
	switch (r->kind) {
	case RULE_THRESHOLD: rc = rules_parse_threshold(&p); break;
	case RULE_TREND: rc = rules_parse_trend(&p); break;
	case RULE_BASELINE: rc = rules_parse_baseline(&p); break;
	case RULE_MISSING: rc = rules_parse_missing(&p); break;
	case RULE_NEWS2: rc = rules_parse_news2(&p); break;
	}
	if (rc != DHO_OK)
		goto fail;
	if (rules_normalize(r) != DHO_OK) {
		rc = dho_fail(err, errlen, DHO_EINVAL, "the spec is too long once normalized");
		goto fail;
	}
	*out = r;
	return DHO_OK;
fail:
	free(r);
	return rc;
}

int
rules_parse(const char *key, const char *spec, struct rule **out, char *err, size_t errlen)
{
	return rules_parse_at(key, spec, 0, out, err, errlen);
}

int
rules_parse_line(const char *line, struct rule **out, char *err, size_t errlen)
{
	char key[RULES_KEY_MAX + 16];
	size_t i = 0, start, n;

	*out = NULL;
	if (line == NULL)
		return dho_fail(err, errlen, DHO_EINVAL, "no rule");
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	start = i;
	while (line[i] != '\0' && line[i] != '=' && line[i] != ' ' && line[i] != '\t')
		i++;
	n = i - start;
	if (n == 0)
		return dho_fail(err, errlen, DHO_EINVAL,
		                "position %zu: expected a rule key such as threshold.spo2", start + 1);
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	memcpy(key, line + start, n);
	key[n] = '\0';
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	if (line[i] != '=')
		return dho_fail(err, errlen, DHO_EINVAL,
		                "position %zu: expected '=' after the key '%s' (KEY = SPEC)", i + 1,
		                key);
	i++;
	return rules_parse_at(key, line + i, i, out, err, errlen);
}

void
rules_free(struct rule *r)
{
	free(r);
}

enum rule_kind
rules_kind(const struct rule *r)
{
	return r->kind;
}

const char *
rules_key(const struct rule *r)
{
	return r->key;
}

const char *
rules_spec(const struct rule *r)
{
	return r->spec;
}

int
rules_metric(const struct rule *r, enum metric *out)
{
	if (!r->has_metric)
		return DHO_ENOTFOUND;
	*out = r->metric;
	return DHO_OK;
}

int64_t
rules_window(const struct rule *r)
{
	switch (r->kind) {
	case RULE_TREND:
	case RULE_BASELINE:
		return r->over;
	case RULE_MISSING:
		return r->miss_red > 0 ? r->miss_red : r->miss_yellow;
	case RULE_NEWS2:
		return r->news2_window;
	default:
		return 0;
	}
}

int
rules_missing_deadlines(const struct rule *r, int64_t *yellow, int64_t *red)
{
	if (r->kind != RULE_MISSING)
		return DHO_EINVAL;
	*yellow = r->miss_yellow;
	*red = r->miss_red;
	return DHO_OK;
}

int
rules_news2_scale(const struct rule *r, int *scale)
{
	if (r->kind != RULE_NEWS2)
		return DHO_EINVAL;
	*scale = r->news2_scale;
	return r->news2_scale == 0 ? DHO_ENOTFOUND : DHO_OK;
}

/* ---- reason text ---- */

static void rules_say(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Writes a reason. Reasons are bounded by RULES_REASON_MAX; the parts that
 * vary (numbers, units, spans) are short, so a cut is not expected, and a
 * cut sentence would still be a usable reason.
 */
static void
rules_say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * A number with at least mindec decimals and as many more (up to 2) as it
 * needs: 2.1 beside a limit of 2.0 is "2.1", 3 is "3.0".
 */
static void
rules_format_number(double v, int mindec, char *buf, size_t len)
{
	int maxdec = mindec > 2 ? mindec : 2, d = mindec;

	for (; d < maxdec; d++) {
		double scale = pow(10.0, d);

		if (fabs(round(v * scale) / scale - v) < 1e-9 * fmax(1.0, fabs(v)))
			break;
	}
	if (fabs(v) < 0.5 * pow(10.0, -d))
		v = 0.0;   /* never "-0" */
	snprintf(buf, len, "%.*f", d, v);
}

/* "86 %", "120 mmHg", "2.0 kg"; consciousness as its ACVPU letter. */
static void
rules_format_quantity(enum metric m, double v, int mindec, char *buf, size_t len)
{
	char num[40];
	const char *unit = metric_display_unit(m);

	if (m == METRIC_CONSCIOUSNESS && v == floor(v) && v >= 0 && v <= 4) {
		snprintf(buf, len, "%c", metric_acvpu_letter(v));
		return;
	}
	rules_format_number(v, mindec, num, sizeof(num));
	rules_say(buf, len, "%s%s%s", num, *unit ? " " : "", unit);
}

/* A difference: the unit, except for %, where it is percentage points. */
static void
rules_format_difference(enum metric m, double v, int mindec, char *buf, size_t len)
{
	char num[40];
	const char *unit = metric_display_unit(m);

	/* A difference of percentages is in percentage points: "5 % below 96 %"
	 * could be read as 5 per cent of 96. */
	if (strcmp(unit, "%") == 0)
		unit = fabs(v) == 1.0 ? "percentage point" : "percentage points";
	rules_format_number(v, mindec, num, sizeof(num));
	rules_say(buf, len, "%s%s%s", num, *unit ? " " : "", unit);
}

/* A span that was seen: "90 seconds", "45 minutes", "26 hours", "2.9 days". */
static void
rules_format_span(int64_t secs, char *buf, size_t len)
{
	char num[32];

	if (secs < 120) {
		snprintf(buf, len, "%lld second%s", (long long)secs, secs == 1 ? "" : "s");
	} else if (secs < 7200) {
		snprintf(buf, len, "%lld minutes", (long long)((secs + 30) / 60));
	} else if (secs < 2 * 86400) {
		rules_format_number(round(secs / 360.0) / 10.0, 0, num, sizeof(num));
		rules_say(buf, len, "%s hours", num);
	} else {
		rules_format_number(round(secs / 8640.0) / 10.0, 0, num, sizeof(num));
		rules_say(buf, len, "%s days", num);
	}
}

/* A duration from the spec, in the unit it was written in: "3 days", "26 hours". */
static void
rules_format_limit_duration(int64_t secs, char *buf, size_t len)
{
	static const struct {
		int64_t size;
		const char *name;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs % units[i].size == 0) {
			long long n = (long long)(secs / units[i].size);

			snprintf(buf, len, "%lld %s%s", n, units[i].name, n == 1 ? "" : "s");
			return;
		}
	}
}

/* ---- evaluation ---- */

static bool
rules_exceeds(double change, double limit)
{
	/* Readings are decimal; 82.1 - 80.1 must not exceed 2 by binary noise. */
	return change > limit + 1e-9 * fmax(1.0, fabs(limit));
}

static void
rules_finding_clear(struct rules_finding *out)
{
	memset(out, 0, sizeof(*out));
	out->severity = RULES_NONE;
	out->span = -1;
}

static bool
rules_term_met(const struct rules_term *t, double value)
{
	if (t->dir < 0)
		return t->inclusive ? value <= t->limit : value < t->limit;
	return t->inclusive ? value >= t->limit : value > t->limit;
}

int
rules_check_threshold(const struct rule *r, double value, struct rules_finding *out)
{
	const struct rules_term *best = NULL;
	static const char *const verbs[2][2] = { { "below", "at or below" },
	                                         { "above", "at or above" } };
	char v[48], l[48];

	rules_finding_clear(out);
	if (r->kind != RULE_THRESHOLD || !isfinite(value))
		return DHO_EINVAL;
	for (size_t i = 0; i < r->nterms; i++) {
		const struct rules_term *t = &r->terms[i];

		if (rules_term_met(t, value) && (best == NULL || t->sev > best->sev))
			best = t;
	}
	if (best == NULL)
		return DHO_OK;
	out->severity = best->sev;
	out->limit = best->limit;
	out->observed = value;
	out->reference = best->limit;
	rules_format_quantity(r->metric, value, best->decimals, v, sizeof(v));
	rules_format_quantity(r->metric, best->limit, best->decimals, l, sizeof(l));
	rules_say(out->reason, sizeof(out->reason), "%s %s is %s the %s limit %s",
	         metric_name(r->metric), v, verbs[best->dir > 0][best->inclusive],
	         rules_severity_name(best->sev), l);
	return DHO_OK;
}

int
rules_check_trend(const struct rule *r, double value, dho_time_t at,
                  const struct rules_sample *earlier, size_t n, struct rules_finding *out)
{
	const struct rules_term *best = NULL;
	double best_change = 0, best_ref = 0;
	int64_t best_span = -1;
	bool any = false;
	char c[48], l[48], span[32];

	rules_finding_clear(out);
	if (r->kind != RULE_TREND || !isfinite(value))
		return DHO_EINVAL;
	for (size_t i = 0; i < r->nterms; i++) {
		const struct rules_term *t = &r->terms[i];
		bool found = false;
		double ref = 0;
		int64_t ref_span = -1;

		for (size_t k = 0; k < n; k++) {
			const struct rules_sample *e = &earlier[k];

			if (!isfinite(e->value) || e->at >= at || e->at < at - t->window)
				continue;
			/* The lowest (rise) or highest (fall); among equals the latest. */
			if (!found || (t->dir > 0 ? e->value < ref : e->value > ref) ||
			    (e->value == ref && at - e->at < ref_span)) {
				ref = e->value;
				ref_span = at - e->at;
				found = true;
			}
		}
		if (!found)
			continue;
		any = true;
		{
			double change = t->dir > 0 ? value - ref : ref - value;

			if (rules_exceeds(change, t->limit) && (best == NULL || t->sev > best->sev)) {
				best = t;
				best_change = change;
				best_ref = ref;
				best_span = ref_span;
			}
		}
	}
	if (!any)
		return DHO_ENOTFOUND;
	if (best == NULL)
		return DHO_OK;
	out->severity = best->sev;
	out->limit = best->limit;
	out->observed = best_change;
	out->reference = best_ref;
	out->span = best_span;
	rules_format_difference(r->metric, best_change, best->decimals, c, sizeof(c));
	rules_format_difference(r->metric, best->limit, best->decimals, l, sizeof(l));
	rules_format_span(best_span, span, sizeof(span));
	rules_say(out->reason, sizeof(out->reason), "%s %s %s in %s, %s the %s limit %s",
	         metric_name(r->metric), best->dir > 0 ? "rose" : "fell", c, span,
	         best->dir > 0 ? "above" : "beyond", rules_severity_name(best->sev), l);
	return DHO_OK;
}


static int
rules_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
rules_check_baseline(const struct rule *r, double value, const struct rules_sample *earlier,
                     size_t n, struct rules_finding *out)
{
	const struct rules_term *best = NULL;
	double *sorted = NULL, median, best_dev = 0;
	size_t m = 0;
	char v[48], dev[48], med[48], l[48], over[32];
	int rc = DHO_OK;

	rules_finding_clear(out);
	if (r->kind != RULE_BASELINE || !isfinite(value))
		return DHO_EINVAL;
	if (n > 0) {
		sorted = malloc(n * sizeof(*sorted));
		if (sorted == NULL)
			return DHO_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (isfinite(earlier[i].value))
			sorted[m++] = earlier[i].value;
	out->used = m;
	if (m < r->min_n) {
		rc = DHO_ENOTFOUND;
		goto done;
	}
	qsort(sorted, m, sizeof(*sorted), rules_double_cmp);
	median = m % 2 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2.0;
	out->reference = median;
	for (size_t i = 0; i < r->nterms; i++) {
		const struct rules_term *t = &r->terms[i];
		double d = t->dir > 0 ? value - median : median - value;

		if (rules_exceeds(d, t->limit) && (best == NULL || t->sev > best->sev)) {
			best = t;
			best_dev = d;
		}
	}
	if (best == NULL)
		goto done;
	out->severity = best->sev;
	out->limit = best->limit;
	out->observed = best_dev;
	rules_format_quantity(r->metric, value, best->decimals, v, sizeof(v));
	rules_format_difference(r->metric, best_dev, best->decimals, dev, sizeof(dev));
	rules_format_quantity(r->metric, median, best->decimals, med, sizeof(med));
	rules_format_difference(r->metric, best->limit, best->decimals, l, sizeof(l));
	rules_format_limit_duration(r->over, over, sizeof(over));
	rules_say(out->reason, sizeof(out->reason),
	         "%s %s is %s %s the patient's baseline %s (median of %zu readings over %s), "
	         "beyond the %s limit %s",
	         metric_name(r->metric), v, dev, best->dir > 0 ? "above" : "below", med, m, over,
	         rules_severity_name(best->sev), l);
done:
	free(sorted);
	return rc;
}

int
rules_check_missing(const struct rule *r, int64_t silent, struct rules_finding *out)
{
	rules_finding_clear(out);
	if (r->kind != RULE_MISSING)
		return DHO_EINVAL;
	out->observed = (double)silent;
	if (r->miss_red > 0 && silent >= r->miss_red)
		out->severity = RULES_RED;
	else if (silent >= r->miss_yellow)
		out->severity = RULES_YELLOW;
	else
		return DHO_OK;
	out->limit = (double)(out->severity == RULES_RED ? r->miss_red : r->miss_yellow);
	return rules_missing_reason(r, silent, out->severity, out->reason, sizeof(out->reason));
}

int
rules_missing_reason(const struct rule *r, int64_t silent, enum rules_severity sev, char *buf,
                     size_t len)
{
	char what[48], span[32], limit[32];

	if (r->kind != RULE_MISSING || sev == RULES_NONE ||
	    (sev == RULES_RED && r->miss_red == 0))
		return DHO_EINVAL;
	if (r->has_metric)
		snprintf(what, sizeof(what), "no %s reading", metric_name(r->metric));
	else
		snprintf(what, sizeof(what), "no reading of any metric");
	rules_format_span(silent < 0 ? 0 : silent, span, sizeof(span));
	rules_format_limit_duration(sev == RULES_RED ? r->miss_red : r->miss_yellow, limit,
	                            sizeof(limit));
	rules_say(buf, len, "%s for %s, past the %s limit %s", what, span, rules_severity_name(sev),
	         limit);
	return DHO_OK;
}

size_t
rules_limits(const struct rule *r, struct rules_limit *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nterms && n < cap; i++, n++) {
		out[n].severity = r->terms[i].sev;
		out[n].dir = r->terms[i].dir;
		out[n].inclusive = r->terms[i].inclusive;
		out[n].limit = r->terms[i].limit;
		out[n].window = r->kind == RULE_TREND ? r->terms[i].window : 0;
	}
	return n;
}
