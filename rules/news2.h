/*
 * news2: the National Early Warning Score 2 (Royal College of Physicians,
 * 2017) exactly as its chart gives it, and the hub's severity for a score.
 *
 * The scorer is pure: the engine collects the latest reading of each of the
 * seven parameters within the rule's window into a struct news2_set and asks
 * for the score. A set that lacks any parameter has no score: NEWS2 is never
 * reported from part of a set.
 */
#ifndef NEWS2_H
#define NEWS2_H

#include <stdbool.h>
#include <stddef.h>

#include "dho.h"
#include "metric.h"
#include "rules.h"

/* Scale 2 is for hypercapnic respiratory failure with a target of 88-92 %.
 * The values equal the scale rules_news2_scale() reports. */
enum news2_scale { NEWS2_SCALE1 = 1, NEWS2_SCALE2 = 2 };

enum news2_risk { NEWS2_RISK_LOW, NEWS2_RISK_LOW_MEDIUM, NEWS2_RISK_MEDIUM, NEWS2_RISK_HIGH };

/* The seven parameters, in the order of the NEWS2 chart. */
enum news2_param {
	NEWS2_RESP_RATE,
	NEWS2_SPO2,
	NEWS2_ON_OXYGEN,
	NEWS2_BP_SYS,
	NEWS2_PULSE,
	NEWS2_CONSCIOUSNESS,
	NEWS2_TEMP,
	NEWS2_NPARAMS
};

/*
 * One set of observations in canonical units (sensors/metric.h): on_oxygen 0
 * (air) or 1 (oxygen), consciousness 0..4 for A, C, V, P, U. present[p] says
 * whether value[p] was observed.
 */
struct news2_set {
	double value[NEWS2_NPARAMS];
	bool present[NEWS2_NPARAMS];
};

struct news2_result {
	int total;
	int score[NEWS2_NPARAMS];       /* per parameter */
	double rounded[NEWS2_NPARAMS];  /* each value at its band's precision */
	bool single_three;              /* some parameter scores 3 (oxygen never can) */
	enum news2_risk risk;
	enum rules_severity severity;   /* single 3 -> yellow; total >= 5 -> red */
	char reason[RULES_REASON_MAX];
};

/* "low", "low-medium", "medium", "high". */
const char *news2_risk_name(enum news2_risk r);

/* The metric of a parameter, and the parameter of a metric (DHO_ENOTFOUND
 * for a metric NEWS2 does not use). */
enum metric news2_param_metric(enum news2_param p);
int news2_param_of(enum metric m, enum news2_param *out);

/* Records value as the set's reading of metric m; DHO_ENOTFOUND for a metric
 * NEWS2 does not use (the set is unchanged). */
int news2_set_put(struct news2_set *s, enum metric m, double value);

/*
 * Scores a complete set on the given scale. Each value is first rounded
 * half up to its band's precision (temperature 0.1, the rest whole
 * numbers). Returns DHO_OK; DHO_ENOTFOUND when a parameter is missing (out
 * then has no score, and out->reason names what is missing); DHO_ERANGE for
 * a value that is not finite or outside its metric's accepted range, an
 * on_oxygen other than 0 or 1, or a consciousness other than 0..4;
 * DHO_EINVAL for an unknown scale.
 */
int news2_score(const struct news2_set *in, enum news2_scale scale, struct news2_result *out);

#endif
