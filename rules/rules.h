/*
 * rules: the rule grammar of the rule keys ([program:*] and `rule set`) and
 * the pure evaluation of threshold, trend, baseline and missing rules.
 *
 * One grammar serves both the [program:*] lines of the config and
 * `dhohub rule set --patient ID 'KEY = SPEC'`. A rule is parsed once into an
 * opaque struct rule; the engine asks it for its kind, metric and the length
 * of history it needs, fetches that history from the store, and hands the
 * values to an evaluation function here. Nothing in this module touches SQL,
 * the clock or any global state. The engine calls the rules_check_*
 * forms and takes the severity and reason from their finding.
 *
 * Keys and specs (normalized forms in brackets are what rules_spec() gives):
 *
 *   threshold.M  terms SEV OP X, OP one of < <= > >=, e.g. "red<88 yellow<92"
 *                [red-low, yellow-low, yellow-high, red-high order]
 *   trend.M      terms SEV:+X/D (rise) or SEV:-X/D (fall), e.g. "yellow:+2/3d"
 *   baseline.M   terms SEV:+X or SEV:-X, then "over D" (default 7d) and
 *                "min N" (default 5) [always written out]
 *   missing.M    "D" or "D red:D2" (D2 later than D); missing.any for any metric
 *   news2        "off", "scale1" or "scale2", then "window D" (default 1h)
 *                [window written out unless off]
 *
 * SEV is "yellow" or "red"; X is a plain decimal number ("88", "2.0");
 * D is a duration with a unit ("90s", "15m", "26h", "3d"; a bare number is
 * refused so that "over 7" cannot silently mean seven seconds). Terms are
 * separated by spaces (a comma is accepted too); spaces around the
 * operators are allowed. Keywords and keys are lower case. A spec may hold
 * at most one term per severity and direction, and a yellow term that the
 * red term of the same direction always covers is refused, since it could
 * never fire.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dho.h"
#include "metric.h"

/* Longest spec accepted, and room for any normalized spec. */
#define RULES_SPEC_MAX 256
/* Longest key ("threshold.consciousness" and its terminator fit easily). */
#define RULES_KEY_MAX 32
/* Room for any reason text written by this module and news2. */
#define RULES_REASON_MAX 256
/* The largest "min N" of a baseline rule. */
#define RULES_MIN_READINGS_MAX 512
/* The window of a news2 rule without "window D": one hour. */
#define RULES_NEWS2_DEFAULT_WINDOW 3600
/* Defaults of a baseline rule. */
#define RULES_BASELINE_DEFAULT_OVER (7 * 86400)
#define RULES_BASELINE_DEFAULT_MIN 5

enum rule_kind { RULE_THRESHOLD, RULE_TREND, RULE_BASELINE, RULE_MISSING, RULE_NEWS2 };

enum rules_severity { RULES_NONE, RULES_YELLOW, RULES_RED };

struct rule;

/*
 * What one evaluation found, for the alert document. For RULES_NONE only
 * severity and (for baseline) used are meaningful and reason is "".
 */
struct rules_finding {
	enum rules_severity severity;
	double limit;      /* the limit crossed: X in the metric's unit; missing: seconds */
	double observed;   /* threshold: the value; trend: the change; baseline: the
	                    * deviation; missing: seconds of silence */
	double reference;  /* trend: the earlier reading compared; baseline: the median */
	size_t used;       /* baseline: earlier readings the median came from */
	int64_t span;      /* trend: seconds from that earlier reading to this one,
	                    * -1 when the caller gave no times */
	char reason[RULES_REASON_MAX];
};

/* One earlier reading with its measurement time, for rules_check_trend(). */
struct rules_sample {
	double value;
	dho_time_t at;
};

/* "none", "yellow", "red". */
const char *rules_severity_name(enum rules_severity s);
/* "threshold", "trend", "baseline", "missing", "news2". */
const char *rules_kind_name(enum rule_kind k);

/*
 * Parses one rule. On success *out is a new rule the caller frees with
 * rules_free(). Errors: DHO_EINVAL with a message in err that names an
 * unknown key or metric, or the 1-based column in spec of the first problem
 * ("position 7: expected a number after 'red<'"); DHO_ENOMEM. *out is NULL
 * after a failure. err may be NULL.
 */
int rules_parse(const char *key, const char *spec, struct rule **out, char *err,
                size_t errlen);

/*
 * Parses the CLI form "KEY = SPEC". Positions in err are columns of line,
 * as the user typed it. Errors as rules_parse().
 */
int rules_parse_line(const char *line, struct rule **out, char *err, size_t errlen);

void rules_free(struct rule *r);

enum rule_kind rules_kind(const struct rule *r);
/* The key as parsed ("threshold.spo2"). */
const char *rules_key(const struct rule *r);
/* The normalized spec; parsing it again gives the same rule. */
const char *rules_spec(const struct rule *r);

/* The rule's metric; DHO_ENOTFOUND for missing.any and news2. */
int rules_metric(const struct rule *r, enum metric *out);

/*
 * Seconds of history the rule needs before a reading: the longest trend D,
 * the baseline's "over D", the news2 window (0 when off), the missing rule's
 * last deadline (D2, or D); 0 for a threshold.
 */
int64_t rules_window(const struct rule *r);

/* A missing rule's deadlines in seconds: yellow D, red D2 or 0 when none.
 * DHO_EINVAL for a rule of another kind. */
int rules_missing_deadlines(const struct rule *r, int64_t *yellow, int64_t *red);

/*
 * A news2 rule's scale: *scale is 1 or 2 (the values of enum news2_scale in
 * news2.h) and DHO_OK; DHO_ENOTFOUND with *scale 0 for "off"; DHO_EINVAL for
 * a rule of another kind.
 */
int rules_news2_scale(const struct rule *r, int *scale);

/*
 * Threshold: the highest severity among the terms value meets. DHO_EINVAL
 * for a rule of another kind or a value that is not finite.
 */
/* A rule's limits as terms, for a display that draws them (the workspace's
 * bands): severity, direction (-1 below or fall, +1 above or rise), whether
 * the limit itself counts, the limit, and for trend terms the window in
 * seconds (0 otherwise). Returns how many terms were written (at most cap). */
struct rules_limit {
	enum rules_severity severity;
	int dir;
	bool inclusive;
	double limit;
	int64_t window;
};
size_t rules_limits(const struct rule *r, struct rules_limit *out, size_t cap);

int rules_check_threshold(const struct rule *r, double value, struct rules_finding *out);

/*
 * Trend: value was measured at `at`; earlier holds the readings of the
 * metric before it (any order; those older than a term's D or not before
 * `at` are ignored by that term). A rise term fires when value minus the
 * lowest earlier reading within its D is greater than X, a fall term when
 * the highest earlier reading minus value is; exactly X does not fire. The
 * highest severity wins. DHO_ENOTFOUND (severity RULES_NONE) when no earlier
 * reading lies within any term's D; DHO_EINVAL for another kind of rule.
 */
int rules_check_trend(const struct rule *r, double value, dho_time_t at,
                      const struct rules_sample *earlier, size_t n,
                      struct rules_finding *out);

/*
 * Baseline: earlier holds the readings within the rule's "over D" before
 * value (rules_window()). Fires when value lies more than X below (SEV:-X)
 * or above (SEV:+X) their median; exactly X does not fire. DHO_ENOTFOUND
 * (severity RULES_NONE, used = n) with fewer than "min N" readings;
 * DHO_ENOMEM; DHO_EINVAL for another kind of rule.
 */
int rules_check_baseline(const struct rule *r, double value,
                         const struct rules_sample *earlier, size_t n,
                         struct rules_finding *out);

/*
 * Missing: the severity after `silent` seconds without a reading (since the
 * last one, or since enrollment): RULES_RED from D2, RULES_YELLOW from D,
 * else RULES_NONE. DHO_EINVAL for another kind of rule.
 */
int rules_check_missing(const struct rule *r, int64_t silent, struct rules_finding *out);

/*
 * The reason of a missing alert of severity sev after `silent` seconds:
 * "no spo2 reading for 27 hours, past the yellow limit 26 hours" (for
 * missing.any: "no reading of any metric for ..."). DHO_EINVAL for a rule
 * of another kind or sev RULES_NONE.
 */
int rules_missing_reason(const struct rule *r, int64_t silent, enum rules_severity sev,
                         char *buf, size_t len);

#endif
