/*
 * alert: the alert record and the event documents built from it
 * (docs/operations.md, "Alert events"). This module decides what an alert
 * looks like and how its state moves; the store keeps it and the outbox
 * delivers its events.
 */
#ifndef ALERT_H
#define ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dho.h"

enum alert_severity { ALERT_SEV_NONE, ALERT_SEV_YELLOW, ALERT_SEV_RED };
enum alert_state { ALERT_OPEN, ALERT_ACKED, ALERT_RESOLVED };

struct alert {
	int64_t id;                        /* 0 until stored; printed "A<id>" */
	char patient[DHO_ID_MAX + 1];
	char tenant[DHO_ID_MAX + 1];
	char rule[80];                     /* the rule key, e.g. "threshold.spo2" */
	char team[DHO_TEAM_MAX + 1];       /* the team the alert belongs to now */
	enum alert_severity severity;
	enum alert_state state;
	int level;                         /* escalation level, 0 at opening */
	bool cleared;
	int normal_count;                  /* consecutive normal readings */
	char metric[24];                   /* "" for rules without one */
	double value;
	int decimals;
	char unit[16];
	dho_time_t measured_at;
	dho_time_t opened_at;
	dho_time_t updated_at;
	char reason[256];
	char last_event[16];
	int64_t version;                   /* events so far; each event adds one */
	bool has_news2;
	int news2_total;
	char news2_risk[16];
	dho_time_t due_at;                 /* unacked past this: escalate or remind; 0 = none */
	char by[DHO_ID_MAX + 1];           /* who acked or resolved, "auto" */
	char note[256];
};

const char *alert_severity_name(enum alert_severity s);
const char *alert_state_name(enum alert_state s);
int alert_parse_severity(const char *s, enum alert_severity *out);
int alert_parse_state(const char *s, enum alert_state *out);

/* Formats the alert id users see ("A17") into buf. */
void alert_format_id(int64_t id, char *buf, size_t len);
/* Parses "A17" (or "17"); DHO_EINVAL otherwise. */
int alert_parse_id(const char *s, int64_t *out);

/*
 * Builds the event document (docs/operations.md) for alert a and event name,
 * at time at. *out is a NUL-terminated JSON text the caller frees with
 * free(). DHO_ENOMEM when any field cannot be set (an allocation failed, or
 * a text is not UTF-8): an event is whole or it is not built, so none is
 * ever queued without its patient.
 */
int alert_event_json(const struct alert *a, const char *event, dho_time_t at,
                     char **out);

/* The same document as a jansson object (a json_t *, returned as void * so
 * this header does not pull in jansson), for a caller that puts it into a
 * larger document (the CLI's listings, the workspace's API). Its value is
 * metric_json_value()'s stand-in: dump the document with
 * metric_json_dumps() and 37.60 stays 37.60, as in alert_event_json(). The
 * caller json_decref()s it. NULL, as alert_event_json() fails, when any
 * field cannot be set. */
void *alert_event_exact(const struct alert *a, const char *event, dho_time_t at);

/*
 * The alert state machine for what a reading says about a rule.
 * finding is the severity the rule found (ALERT_SEV_NONE: a normal
 * reading). a is the rule's unresolved alert, or NULL when there is none.
 * The result says which events happened, in order; a new alert is
 * described by opened == true and its fields are for the caller to fill
 * from the reading.
 */
struct alert_step {
	bool opened;
	bool raised;
	bool recurred;  /* the condition is back on a cleared alert, no higher */
	bool cleared;
	bool resolved;
	bool changed;   /* the record must be saved, with or without events */
};

void alert_on_finding(struct alert *a, enum alert_severity finding, int clear_after,
                      struct alert_step *out);

/* The names of the events of step, in the order they happen (opened,
 * raised or recurred, cleared, resolved); returns how many, at most 4. */
size_t alert_step_events(const struct alert_step *step, const char *events[4]);

/* A nurse's action. DHO_EINVAL when the action does not apply to a's state
 * (acking a resolved alert); the step tells which events follow. */
int alert_on_ack(struct alert *a, const char *by, const char *note, struct alert_step *out,
                 bool *acked);
int alert_on_resolve(struct alert *a, const char *by, const char *note);

#endif
