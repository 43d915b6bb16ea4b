/*
 * engine.c: rules evaluation and alert transitions for stored readings
 * (see engine.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "engine.h"
#include "log.h"
#include "news2.h"
#include "rules.h"
#include "timefmt.h"

/* The most earlier readings a trend or baseline rule looks at. */
#define ENGINE_WINDOW_MAX 512
#define ENGINE_MAX_RULES 64

struct engine_program {
	const struct cfg_program *def;
	struct rule **rules;
	size_t nrules;
};

struct engine {
	const struct config *cfg;
	struct store *st;
	struct engine_program *programs;
	size_t nprograms;
	/* The earlier readings of the current reading's metric, read once
	 * for all its trend and baseline rules (engine_reading() sets from
	 * to the widest of their windows; n is valid once read is set). */
	struct rules_sample window[ENGINE_WINDOW_MAX];
	struct {
		bool read;
		dho_time_t from;
		size_t n;
	} win;
	uint64_t events;        /* events written to the outbox, ever */
};

/* One effective rule: the program's, or the patient's override. */
struct engine_rule {
	struct rule *rule;
	bool owned;             /* parsed from the store: freed after use */
	const char *origin;
};

struct engine_rules {
	struct engine_rule r[ENGINE_MAX_RULES];
	size_t n;
};

int
engine_check_rule(const char *key, const char *spec, char *nkey, size_t nkeylen,
                  char *nspec, size_t nspeclen, char *err, size_t errlen)
{
	struct rule *r = NULL;
	int rc;

	if (spec == NULL)
		rc = rules_parse_line(key, &r, err, errlen);
	else
		rc = rules_parse(key, spec, &r, err, errlen);
	if (rc != DHO_OK)
		return rc;
	if (nkey)
		snprintf(nkey, nkeylen, "%s", rules_key(r));
	if (nspec)
		snprintf(nspec, nspeclen, "%s", rules_spec(r));
	rules_free(r);
	return DHO_OK;
}

int
engine_config_check(const char *key, const char *spec, char *err, size_t errlen)
{
	return engine_check_rule(key, spec, NULL, 0, NULL, 0, err, errlen);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nprograms; i++) {
		for (size_t j = 0; j < e->programs[i].nrules; j++)
			rules_free(e->programs[i].rules[j]);
		free(e->programs[i].rules);
	}
	free(e->programs);
	free(e);
}

int
engine_new(const struct config *cfg, struct store *st, struct engine **out, char *err,
           size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (e == NULL)
		return DHO_ENOMEM;
	e->cfg = cfg;
	e->st = st;
	e->programs = calloc(cfg->nprograms ? cfg->nprograms : 1, sizeof(*e->programs));
	if (e->programs == NULL)
		goto nomem;
	e->nprograms = cfg->nprograms;
	for (size_t i = 0; i < cfg->nprograms; i++) {
		struct engine_program *p = &e->programs[i];
		const struct cfg_program *d = &cfg->programs[i];

		p->def = d;
		p->rules = calloc(d->nrules ? d->nrules : 1, sizeof(*p->rules));
		if (p->rules == NULL)
			goto nomem;
		for (size_t j = 0; j < d->nrules; j++) {
			char why[DHO_ERRLEN];

			if (rules_parse(d->rules[j].key, d->rules[j].spec, &p->rules[j], why,
			                sizeof(why)) != DHO_OK) {
				snprintf(err, errlen, "%s:%d: %s", cfg->file, d->rules[j].line, why);
				engine_free(e);
				return DHO_EINVAL;
			}
			p->nrules++;
		}
	}
	*out = e;
	return DHO_OK;
nomem:
	snprintf(err, errlen, "out of memory");
	engine_free(e);
	return DHO_ENOMEM;
}

static const struct engine_program *
engine_program(const struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nprograms; i++)
		if (strcmp(e->programs[i].def->name, name) == 0)
			return &e->programs[i];
	return NULL;
}

static int
engine_collect_override(void *ctx, const char *key, const char *spec)
{
	struct engine_rules *set = ctx;
	struct rule *r = NULL;
	char why[DHO_ERRLEN];

	if (rules_parse(key, spec, &r, why, sizeof(why)) != DHO_OK) {
		/* rule set validated it; a newer grammar may have changed. */
		log_warnx("ignoring the stored rule %s = %s: %s", key, spec, why);
		return 0;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(rules_key(set->r[i].rule), rules_key(r)) == 0) {
			if (set->r[i].owned)
				rules_free(set->r[i].rule);
			set->r[i] = (struct engine_rule){ r, true, "patient" };
			return 0;
		}
	}
	if (set->n >= ENGINE_MAX_RULES) {
		log_warnx("more than %d rules for one patient; ignoring %s", ENGINE_MAX_RULES, key);
		rules_free(r);
		return 0;
	}
	set->r[set->n++] = (struct engine_rule){ r, true, "patient" };
	return 0;
}

static void
engine_rules_release(struct engine_rules *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->r[i].owned)
			rules_free(set->r[i].rule);
	set->n = 0;
}

/* The program's rules with the patient's overrides in place. */
static int
engine_effective(struct engine *e, const struct store_patient *p, struct engine_rules *set)
{
	const struct engine_program *prog = engine_program(e, p->program);
	int rc;

	set->n = 0;
	for (size_t i = 0; prog && i < prog->nrules && set->n < ENGINE_MAX_RULES; i++)
		set->r[set->n++] = (struct engine_rule){ prog->rules[i], false, "program" };
	rc = store_rule_list(e->st, p->id, engine_collect_override, set);
	if (rc != DHO_OK)
		engine_rules_release(set);
	return rc;
}

static int
engine_cmp_rule(const void *a, const void *b)
{
	const struct engine_rule *x = a, *y = b;

	return strcmp(rules_key(x->rule), rules_key(y->rule));
}

int
engine_rules(struct engine *e, const struct store_patient *p, engine_rule_cb cb, void *ctx)
{
	struct engine_rules set;
	int rc = engine_effective(e, p, &set);

	if (rc != DHO_OK)
		return rc;
	qsort(set.r, set.n, sizeof(set.r[0]), engine_cmp_rule);
	for (size_t i = 0; i < set.n; i++)
		if (cb(ctx, rules_key(set.r[i].rule), rules_spec(set.r[i].rule), set.r[i].origin) != 0)
			break;
	engine_rules_release(&set);
	return DHO_OK;
}

/* The one mapping of severities: what a rule finds (rules.h) to the
 * severity of its alert (alert.h). Both scales are none, yellow, red; the
 * rules module does not know alerts, so the engine, which uses both, maps
 * them here and nowhere else. */
static enum alert_severity
engine_severity(enum rules_severity s)
{
	return s == RULES_RED ? ALERT_SEV_RED : s == RULES_YELLOW ? ALERT_SEV_YELLOW : ALERT_SEV_NONE;
}

static int64_t
engine_ack_s(const struct engine *e, enum alert_severity sev)
{
	return sev == ALERT_SEV_RED ? e->cfg->ack_s_red : e->cfg->ack_s_yellow;
}

/* Queues one event of alert a for its team. */
static int
engine_emit(struct engine *e, const struct alert *a, const char *event, const char *team,
            dho_time_t now)
{
	const struct cfg_team *t = config_team(e->cfg, team);
	char *body = NULL;
	int rc = alert_event_json(a, event, now, &body);

	if (rc != DHO_OK)
		return rc;
	rc = store_outbox_add(e->st, a->id, team, t != NULL && t->webhook[0] != '\0', body, now);
	if (rc == DHO_OK)
		e->events++;
	if (rc == DHO_OK)
		/* No patient id: logs travel further than the database
		 * (docs/security.md); the alert id leads to the patient for those
		 * who may see it. */
		log_info("alert A%lld %s: %s %s (%s) -> %s", (long long)a->id, event, a->rule,
		         alert_severity_name(a->severity), a->reason, team);
	free(body);
	return rc;
}

/* Fills a's reading fields from r. */
static void
engine_alert_reading(struct alert *a, const struct store_reading *r, const char *reason)
{
	snprintf(a->metric, sizeof(a->metric), "%s", metric_name(r->r.metric));
	snprintf(a->unit, sizeof(a->unit), "%s", metric_unit(r->r.metric));
	a->value = r->r.value;
	a->decimals = r->r.decimals;
	a->measured_at = r->r.measured_at;
	snprintf(a->reason, sizeof(a->reason), "%s", reason);
}

/*
 * Applies what one rule found for a reading to the rule's alert. A new
 * alert goes to the patient's responsible team now; an open one keeps
 * its team.
 */
static int
engine_apply(struct engine *e, const struct store_patient *p, const char *key,
             enum alert_severity sev, const struct store_reading *r, const char *reason,
             const struct news2_result *n2, dho_time_t now)
{
	struct alert a, *cur = &a;
	struct alert_step step;
	const char *events[4];
	size_t n;
	int64_t base;
	int rc = store_alert_find_open(e->st, p->id, key, &a);

	if (rc == DHO_ENOTFOUND)
		cur = NULL;
	else if (rc != DHO_OK)
		return rc;
	alert_on_finding(cur, sev, e->cfg->clear_after, &step);
	if (step.opened) {
		memset(&a, 0, sizeof(a));
		snprintf(a.patient, sizeof(a.patient), "%s", p->id);
		snprintf(a.tenant, sizeof(a.tenant), "%s", p->tenant);
		snprintf(a.rule, sizeof(a.rule), "%s", key);
		care_team(e->cfg, p, now, a.team, sizeof(a.team));
		a.severity = sev;
		a.state = ALERT_OPEN;
		a.opened_at = now;
	}
	/* Opening, raising and recurring carry the reading that did it. */
	if (step.opened || step.raised || step.recurred) {
		if (r != NULL)
			engine_alert_reading(&a, r, reason);
		else
			snprintf(a.reason, sizeof(a.reason), "%s", reason);
		if (n2) {
			a.has_news2 = true;
			a.news2_total = n2->total;
			snprintf(a.news2_risk, sizeof(a.news2_risk), "%s", news2_risk_name(n2->risk));
		}
	}
	if (!step.opened && !step.changed && !step.raised)
		return DHO_OK;
	/* Opening or raising starts the ack timer of the (new) severity. */
	if ((step.opened || step.raised) && a.state == ALERT_OPEN)
		a.due_at = now + engine_ack_s(e, a.severity);
	a.updated_at = now;
	n = alert_step_events(&step, events);
	if (n > 0)
		snprintf(a.last_event, sizeof(a.last_event), "%s", events[n - 1]);
	/* The record is saved with its last event's version (an opened alert
	 * needs its id before its first event); each event then carries its
	 * own. */
	base = a.version;
	a.version += (int64_t)n;
	if ((rc = store_alert_save(e->st, &a)) != DHO_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		a.version = base + (int64_t)i + 1;
		if ((rc = engine_emit(e, &a, events[i], a.team, now)) != DHO_OK)
			return rc;
	}
	return DHO_OK;
}

int
engine_ack(struct engine *e, int64_t id, const char *by, const char *note, dho_time_t now)
{
	struct alert a;
	struct alert_step step;
	bool acked;
	int rc = store_alert_get(e->st, id, &a);

	if (rc != DHO_OK)
		return rc;
	if ((rc = alert_on_ack(&a, by, note, &step, &acked)) != DHO_OK)
		return rc;
	a.updated_at = now;
	a.due_at = 0;
	snprintf(a.last_event, sizeof(a.last_event), "%s", step.resolved ? "resolved" : "acked");
	a.version++;
	if (step.resolved) {
		/* The acked event names the nurse; the resolution that follows
		 * from ack and clear is the hub's own. */
		a.state = ALERT_ACKED;
		if ((rc = engine_emit(e, &a, "acked", a.team, now)) != DHO_OK)
			return rc;
		a.state = ALERT_RESOLVED;
		snprintf(a.by, sizeof(a.by), "auto");
		a.note[0] = '\0';
		a.version++;
		if ((rc = store_alert_save(e->st, &a)) != DHO_OK)
			return rc;
		return engine_emit(e, &a, "resolved", a.team, now);
	}
	if ((rc = store_alert_save(e->st, &a)) != DHO_OK)
		return rc;
	return engine_emit(e, &a, "acked", a.team, now);
}

int
engine_resolve(struct engine *e, int64_t id, const char *by, const char *note, dho_time_t now)
{
	struct alert a;
	int rc = store_alert_get(e->st, id, &a);

	if (rc != DHO_OK)
		return rc;
	if ((rc = alert_on_resolve(&a, by, note)) != DHO_OK)
		return rc;
	a.updated_at = now;
	snprintf(a.last_event, sizeof(a.last_event), "resolved");
	a.version++;
	if ((rc = store_alert_save(e->st, &a)) != DHO_OK)
		return rc;
	return engine_emit(e, &a, "resolved", a.team, now);
}

/*
 * One overdue alert: escalates it along its team's escalate_to (level + 1,
 * the alert moves to the new team, the event goes to both), or at the end
 * of the chain reminds its team. Either way the ack timer restarts.
 */
static int
engine_overdue(struct engine *e, struct alert *a, dho_time_t now)
{
	const struct cfg_team *t = config_team(e->cfg, a->team);
	char from[DHO_TEAM_MAX + 1];
	int rc;

	a->updated_at = now;
	a->due_at = now + engine_ack_s(e, a->severity);
	/* One event, even when it goes to two teams. */
	a->version++;
	if (t == NULL || t->escalate_to[0] == '\0' || strcmp(t->escalate_to, a->team) == 0) {
		snprintf(a->last_event, sizeof(a->last_event), "reminded");
		if ((rc = store_alert_save(e->st, a)) != DHO_OK)
			return rc;
		return engine_emit(e, a, "reminded", a->team, now);
	}
	snprintf(from, sizeof(from), "%s", a->team);
	snprintf(a->team, sizeof(a->team), "%s", t->escalate_to);
	a->level++;
	snprintf(a->last_event, sizeof(a->last_event), "escalated");
	if ((rc = store_alert_save(e->st, a)) != DHO_OK)
		return rc;
	if ((rc = engine_emit(e, a, "escalated", from, now)) != DHO_OK)
		return rc;
	return engine_emit(e, a, "escalated", a->team, now);
}

/* The newest reading of patient p of metric m, or of any metric when
 * any is set; 0 when there is none. */
static int
engine_last(struct engine *e, const struct store_patient *p, bool any, enum metric m,
            dho_time_t *last)
{
	dho_time_t t;
	int rc;

	*last = 0;
	for (int i = any ? 0 : (int)m; i < (any ? METRIC_COUNT : (int)m + 1); i++) {
		rc = store_last_reading(e->st, p->id, (enum metric)i, &t);
		if (rc == DHO_OK && t > *last)
			*last = t;
		else if (rc != DHO_OK && rc != DHO_ENOTFOUND)
			return rc;
	}
	return DHO_OK;
}

struct engine_due {
	struct engine *e;
	dho_time_t now;
	int count;
	int rc;
};

/*
 * The missing-measurement rules of one patient: silence since the last
 * reading (or since enrollment) past D opens a yellow alert, past D2 a red
 * one. The patient's next check is set to its earliest deadline still to
 * come, so the daemon looks again at the right moment and after a restart;
 * to a minute on while the silence has passed a deadline (an alert resolved
 * meanwhile opens again); and to a day on when nothing is due. Nothing
 * else needs a look sooner: a reading only moves deadlines later, and a
 * change of the patient's rules (store_rule_set()) or of the programs
 * (a reload) brings the check forward.
 */
static int
engine_missing_patient(void *ctx, const struct store_patient *p)
{
	struct engine_due *d = ctx;
	struct engine *e = d->e;
	struct engine_rules set;
	dho_time_t next = d->now + 86400;
	int rc;

	d->count++;
	if ((rc = engine_effective(e, p, &set)) != DHO_OK)
		return d->rc = rc;
	for (size_t i = 0; i < set.n && rc == DHO_OK; i++) {
		const struct rule *rule = set.r[i].rule;
		struct rules_finding f;
		int64_t yellow, red;
		dho_time_t last, since;
		enum metric m = METRIC_SPO2;
		bool any;

		if (rules_kind(rule) != RULE_MISSING)
			continue;
		any = rules_metric(rule, &m) != DHO_OK;
		if ((rc = engine_last(e, p, any, m, &last)) != DHO_OK)
			break;
		since = last > p->enrolled_at ? last : p->enrolled_at;
		rules_missing_deadlines(rule, &yellow, &red);
		if (since + yellow > d->now && since + yellow < next)
			next = since + yellow;
		if (red > 0 && since + red > d->now && since + red < next)
			next = since + red;
		if (since + yellow > d->now)
			continue;
		if (d->now + 60 < next)
			next = d->now + 60;
		rc = rules_check_missing(rule, d->now - since, &f);
		if (rc == DHO_OK && f.severity != RULES_NONE)
			rc = engine_apply(e, p, rules_key(rule), engine_severity(f.severity), NULL,
			                  f.reason, NULL, d->now);
	}
	engine_rules_release(&set);
	if (rc == DHO_OK)
		rc = store_patient_check_at(e->st, p->id, next);
	return d->rc = rc;
}

int
engine_tick(struct engine *e, dho_time_t now, int *work)
{
	struct engine_due due = { e, now, 0, DHO_OK };
	struct alert a;
	int rc;

	*work = 0;
	rc = store_patient_due(e->st, now, 64, engine_missing_patient, &due);
	if (rc != DHO_OK)
		return due.rc != DHO_OK ? due.rc : rc;
	*work += due.count;
	/* A bounded batch per call keeps the write lock short. */
	while (*work < 64) {
		rc = store_alert_next_due(e->st, now, &a);
		if (rc == DHO_ENOTFOUND)
			return DHO_OK;
		if (rc != DHO_OK)
			return rc;
		if ((rc = engine_overdue(e, &a, now)) != DHO_OK)
			return rc;
		(*work)++;
	}
	return DHO_OK;
}

/*
 * NEWS2 for the reading r of patient p: the latest reading of each of the
 * seven parameters measured within the rule's window up to r (r included),
 * scored only when the set is complete. *applies is false for an incomplete
 * set or a rule that is off, so neither opens nor clears an alert.
 */
static int
engine_news2(struct engine *e, const struct store_patient *p, const struct rule *rule,
             const struct store_reading *r, struct news2_result *out, bool *applies)
{
	int64_t window = rules_window(rule);
	struct news2_set set = { 0 };
	struct rules_sample last;
	int scale, rc;

	*applies = false;
	if (rules_news2_scale(rule, &scale) != DHO_OK)
		return DHO_OK;
	for (int i = 0; i < NEWS2_NPARAMS; i++) {
		enum metric m = news2_param_metric((enum news2_param)i);
		size_t n = 0;

		rc = store_reading_window(e->st, p->id, m, r->r.measured_at - window,
		                          r->r.measured_at + 1, &last, 1, &n);
		if (rc != DHO_OK)
			return rc;
		if (n == 0)
			return DHO_OK;   /* incomplete: no partial score */
		news2_set_put(&set, m, last.value);
	}
	rc = news2_score(&set, (enum news2_scale)scale, out);
	if (rc == DHO_ERANGE || rc == DHO_ENOTFOUND) {
		log_warnx("a reading of device %s: NEWS2 not scored: %s", r->device, out->reason);
		return DHO_OK;
	}
	if (rc != DHO_OK)
		return rc;
	*applies = true;
	return DHO_OK;
}

/*
 * Evaluates one rule for the reading r: f holds the severity (NONE when the
 * reading is normal for it) and the reason. *applies is false when the rule
 * has nothing to say about r (another kind, too little history), so that r
 * neither opens nor clears its alert.
 */
static int
engine_eval(struct engine *e, const struct store_patient *p, const struct rule *rule,
            const struct store_reading *r, struct rules_finding *f, bool *applies)
{
	int64_t window = rules_window(rule);
	size_t n = 0;
	int rc;

	*applies = true;
	switch (rules_kind(rule)) {
	case RULE_THRESHOLD:
		return rules_check_threshold(rule, r->r.value, f);
	case RULE_TREND:
	case RULE_BASELINE:
		if (!e->win.read) {
			rc = store_reading_window(e->st, p->id, r->r.metric, e->win.from,
			                          r->r.measured_at, e->window, ENGINE_WINDOW_MAX,
			                          &e->win.n);
			if (rc != DHO_OK)
				return rc;
			e->win.read = true;
		}
		/* This rule's window is the end of the widest one (oldest first;
		 * capped to the newest readings the same way). */
		while (n < e->win.n && e->window[n].at < r->r.measured_at - window)
			n++;
		if (rules_kind(rule) == RULE_TREND) {
			rc = rules_check_trend(rule, r->r.value, r->r.measured_at, e->window + n,
			                       e->win.n - n, f);
		} else {
			rc = rules_check_baseline(rule, r->r.value, e->window + n, e->win.n - n, f);
		}
		/* Too little history is no finding either way. */
		if (rc == DHO_ENOTFOUND) {
			*applies = false;
			return DHO_OK;
		}
		return rc;
	default:
		*applies = false;
		return DHO_OK;
	}
}

uint64_t
engine_events(const struct engine *e)
{
	return e->events;
}

int
engine_reading(struct engine *e, const struct store_patient *p, const struct store_reading *r,
               dho_time_t now)
{
	struct engine_rules set;
	struct rules_finding f;
	struct news2_result n2;
	enum news2_param param;
	enum metric m;
	bool applies;
	int rc;

	if (p->ended_at != 0 && p->ended_at <= now)
		return DHO_OK;
	if ((rc = engine_effective(e, p, &set)) != DHO_OK)
		return rc;
	e->win.read = false;
	e->win.from = r->r.measured_at;
	for (size_t i = 0; i < set.n; i++) {
		const struct rule *rule = set.r[i].rule;

		if ((rules_kind(rule) == RULE_TREND || rules_kind(rule) == RULE_BASELINE) &&
		    rules_metric(rule, &m) == DHO_OK && m == r->r.metric &&
		    r->r.measured_at - rules_window(rule) < e->win.from)
			e->win.from = r->r.measured_at - rules_window(rule);
	}
	for (size_t i = 0; i < set.n && rc == DHO_OK; i++) {
		const struct rule *rule = set.r[i].rule;

		if (rules_kind(rule) == RULE_MISSING) {
			/* A reading ends the silence: a normal reading for the
			 * missing rule of its metric and for missing.any. */
			if (rules_metric(rule, &m) == DHO_OK && m != r->r.metric)
				continue;
			rc = engine_apply(e, p, rules_key(rule), ALERT_SEV_NONE, r, "", NULL, now);
			continue;
		}
		if (rules_kind(rule) == RULE_NEWS2) {
			if (news2_param_of(r->r.metric, &param) != DHO_OK)
				continue;
			rc = engine_news2(e, p, rule, r, &n2, &applies);
			if (rc == DHO_OK && applies)
				rc = engine_apply(e, p, rules_key(rule), engine_severity(n2.severity), r,
				                  n2.reason, &n2, now);
			continue;
		}
		if (rules_metric(rule, &m) != DHO_OK || m != r->r.metric)
			continue;
		rc = engine_eval(e, p, rule, r, &f, &applies);
		if (rc == DHO_OK && applies)
			rc = engine_apply(e, p, rules_key(rule), engine_severity(f.severity), r,
			                  f.reason, NULL, now);
	}
	engine_rules_release(&set);
	return rc;
}
