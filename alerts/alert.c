/*
 * alert.c: alert records and their event documents (docs/operations.md,
 * "Alert events").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "metric.h"
#include "timefmt.h"

static const char *const alert_sev_names[] = { "none", "yellow", "red" };
static const char *const alert_state_names[] = { "open", "acked", "resolved" };

const char *
alert_severity_name(enum alert_severity s)
{
	return (unsigned)s <= ALERT_SEV_RED ? alert_sev_names[s] : "?";
}

const char *
alert_state_name(enum alert_state s)
{
	return (unsigned)s <= ALERT_RESOLVED ? alert_state_names[s] : "?";
}

int
alert_parse_severity(const char *s, enum alert_severity *out)
{
	for (int i = 0; i <= ALERT_SEV_RED; i++) {
		if (strcmp(s, alert_sev_names[i]) == 0) {
			*out = (enum alert_severity)i;
			return DHO_OK;
		}
	}
	return DHO_EINVAL;
}

int
alert_parse_state(const char *s, enum alert_state *out)
{
	for (int i = 0; i <= ALERT_RESOLVED; i++) {
		if (strcmp(s, alert_state_names[i]) == 0) {
			*out = (enum alert_state)i;
			return DHO_OK;
		}
	}
	return DHO_EINVAL;
}

void
alert_format_id(int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "A%" PRId64, id);
}

int
alert_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == 'A' || *s == 'a')
		s++;
	if (*s < '0' || *s > '9')
		return DHO_EINVAL;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		return DHO_EINVAL;
	*out = v;
	return DHO_OK;
}

/* Sets key to v, taking v. false when v is NULL (an allocation failed, or
 * a text is not UTF-8) or the set failed: the caller drops the whole
 * document, so that no event leaves without one of its fields. */
static bool
alert_set(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

static bool
alert_set_time(json_t *o, const char *key, dho_time_t t)
{
	char buf[TIMEFMT_LEN];

	timefmt_format(t, buf);
	return alert_set(o, key, json_string(buf));
}

static json_t *
alert_news2_object(const struct alert *a)
{
	json_t *n = json_object();

	if (n != NULL && (!alert_set(n, "total", json_integer(a->news2_total)) ||
	                  !alert_set(n, "risk", json_string(a->news2_risk)))) {
		json_decref(n);
		return NULL;
	}
	return n;
}

/* The event document, its value a stand-in of metric_json_value(): the
 * precision it was measured with, once dumped by metric_json_dumps(). */
static json_t *
alert_event_build(const struct alert *a, const char *event, dho_time_t at)
{
	char id[32];
	json_t *o = json_object();
	bool ok;

	if (o == NULL)
		return NULL;
	alert_format_id(a->id, id, sizeof(id));
	ok = alert_set(o, "id", json_string(id)) &&
	     alert_set(o, "event", json_string(event)) &&
	     alert_set(o, "patient", json_string(a->patient)) &&
	     alert_set(o, "tenant", json_string(a->tenant)) &&
	     alert_set(o, "team", json_string(a->team)) &&
	     alert_set(o, "severity", json_string(alert_severity_name(a->severity))) &&
	     alert_set(o, "rule", json_string(a->rule)) &&
	     alert_set(o, "state", json_string(alert_state_name(a->state))) &&
	     alert_set(o, "level", json_integer(a->level)) &&
	     alert_set(o, "cleared", json_boolean(a->cleared));
	if (ok && a->metric[0] != '\0')
		ok = alert_set(o, "metric", json_string(a->metric)) &&
		     alert_set(o, "value", metric_json_value(a->value, a->decimals)) &&
		     alert_set(o, "unit", json_string(a->unit)) &&
		     alert_set_time(o, "measured_at", a->measured_at);
	ok = ok && alert_set_time(o, "opened_at", a->opened_at) && alert_set_time(o, "at", at) &&
	     alert_set(o, "reason", json_string(a->reason)) &&
	     alert_set(o, "version", json_integer(a->version));
	if (ok && a->has_news2)
		ok = alert_set(o, "news2", alert_news2_object(a));
	if (ok && a->by[0] != '\0')
		ok = alert_set(o, "by", json_string(a->by)) && alert_set(o, "note", json_string(a->note));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void *
alert_event_exact(const struct alert *a, const char *event, dho_time_t at)
{
	return alert_event_build(a, event, at);
}

int
alert_event_json(const struct alert *a, const char *event, dho_time_t at, char **out)
{
	json_t *o = alert_event_build(a, event, at);
	char *text;

	if (o == NULL)
		return DHO_ENOMEM;
	text = metric_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return DHO_ENOMEM;
	*out = text;
	return DHO_OK;
}

void
alert_on_finding(struct alert *a, enum alert_severity finding, int clear_after,
                 struct alert_step *out)
{
	memset(out, 0, sizeof(*out));
	if (a == NULL) {
		out->opened = finding != ALERT_SEV_NONE;
		return;
	}
	if (finding != ALERT_SEV_NONE) {
		bool was_cleared = a->cleared;

		/* An abnormal reading breaks the run of normal ones. */
		if (a->normal_count != 0 || a->cleared) {
			a->normal_count = 0;
			a->cleared = false;
			out->changed = true;
		}
		if (finding > a->severity) {
			a->severity = finding;
			out->raised = true;
			out->changed = true;
		} else if (was_cleared) {
			/* A nurse who saw `cleared` must learn that the condition
			 * came back; a higher severity says so as `raised`. */
			out->recurred = true;
		}
		return;
	}
	a->normal_count++;
	out->changed = true;
	if (!a->cleared && a->normal_count >= clear_after) {
		a->cleared = true;
		out->cleared = true;
		if (a->state == ALERT_ACKED) {
			a->state = ALERT_RESOLVED;
			snprintf(a->by, sizeof(a->by), "auto");
			a->note[0] = '\0';
			out->resolved = true;
		}
	}
}

size_t
alert_step_events(const struct alert_step *step, const char *events[4])
{
	size_t n = 0;

	if (step->opened)
		events[n++] = "opened";
	if (step->raised)
		events[n++] = "raised";
	else if (step->recurred)
		events[n++] = "recurred";
	if (step->cleared)
		events[n++] = "cleared";
	if (step->resolved)
		events[n++] = "resolved";
	return n;
}

int
alert_on_ack(struct alert *a, const char *by, const char *note, struct alert_step *out,
             bool *acked)
{
	memset(out, 0, sizeof(*out));
	*acked = false;
	if (a->state != ALERT_OPEN)
		return DHO_EINVAL;
	a->state = ALERT_ACKED;
	snprintf(a->by, sizeof(a->by), "%s", by);
	snprintf(a->note, sizeof(a->note), "%s", note ? note : "");
	*acked = true;
	out->changed = true;
	/* Acked and already cleared: nothing is left to watch. */
	if (a->cleared) {
		a->state = ALERT_RESOLVED;
		out->resolved = true;
	}
	return DHO_OK;
}

int
alert_on_resolve(struct alert *a, const char *by, const char *note)
{
	if (a->state == ALERT_RESOLVED)
		return DHO_EINVAL;
	a->state = ALERT_RESOLVED;
	snprintf(a->by, sizeof(a->by), "%s", by);
	snprintf(a->note, sizeof(a->note), "%s", note ? note : "");
	return DHO_OK;
}
