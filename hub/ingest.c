/*
 * ingest.c: the way of one inbound message (see ingest.h).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "action.h"
#include "alert.h"
#include "bridge.h"
#include "doc.h"
#include "gatt.h"
#include "ident.h"
#include "ingest.h"
#include "log.h"
#include "timefmt.h"

enum ingest_kind {
	INGEST_READING, INGEST_GATT, INGEST_ACK, INGEST_INPUT, INGEST_UNKNOWN,
	INGEST_ACK_NOTEAM      /* <prefix>/acks, or acks/ without a valid team */
};

struct ingest_msg {
	const struct config *cfg;
	struct store *st;
	struct engine *eng;
	const char *topic;
	const void *payload;
	size_t len;
	dho_time_t now;
	bool retained;             /* INGEST_RETAINED */
	enum ingest_kind kind;
	char tenant[DHO_ID_MAX + 1];
	char device[DHO_ID_MAX + 1];
	char team[DHO_TEAM_MAX + 1];   /* INGEST_ACK: the team of <prefix>/acks/<team> */
	const struct cfg_input *input;
};

/* MQTT topic filter matching with + and # (MQTT 3.1.1, 4.7). */
static bool
ingest_topic_match(const char *filter, const char *topic)
{
	while (*filter != '\0') {
		if (*filter == '#')
			return true;
		if (*filter == '+') {
			while (*topic != '\0' && *topic != '/')
				topic++;
			filter++;
			continue;
		}
		if (*filter != *topic)
			return false;
		filter++;
		topic++;
	}
	return *topic == '\0';
}

/* Copies one topic level of at most cap - 1 bytes; false when longer. */
static bool
ingest_level(const char **p, char *out, size_t cap)
{
	const char *end = strchr(*p, '/');
	size_t n = end ? (size_t)(end - *p) : strlen(*p);

	if (n == 0 || n >= cap)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n + (end != NULL);
	return true;
}

static void
ingest_classify(struct ingest_msg *m)
{
	const char *prefix = m->cfg->topic_prefix;
	size_t plen = strlen(prefix);
	const char *p = m->topic;
	char dev[8], leaf[16];

	m->kind = INGEST_UNKNOWN;
	for (size_t i = 0; i < m->cfg->ninputs; i++) {
		if (ingest_topic_match(m->cfg->inputs[i].topic, m->topic)) {
			m->kind = INGEST_INPUT;
			m->input = &m->cfg->inputs[i];
			snprintf(m->tenant, sizeof(m->tenant), "%s", m->input->tenant);
			return;
		}
	}
	if (strncmp(p, prefix, plen) != 0 || p[plen] != '/')
		return;
	p += plen + 1;
	/* Acks name their team in the topic (<prefix>/acks/<team>), so that the
	 * broker's ACL can let each team write only its own. */
	if (strcmp(p, "acks") == 0 || strncmp(p, "acks/", 5) == 0) {
		m->kind = INGEST_ACK_NOTEAM;
		if (strncmp(p, "acks/", 5) == 0 && strlen(p + 5) < sizeof(m->team) &&
		    ident_team_valid(p + 5)) {
			snprintf(m->team, sizeof(m->team), "%s", p + 5);
			m->kind = INGEST_ACK;
		}
		return;
	}
	if (!ingest_level(&p, m->tenant, sizeof(m->tenant)) || !ingest_level(&p, dev, sizeof(dev)) ||
	    strcmp(dev, "dev") != 0 || !ingest_level(&p, m->device, sizeof(m->device)) ||
	    !ingest_level(&p, leaf, sizeof(leaf)) || *p != '\0')
		return;
	if (strcmp(leaf, "reading") == 0)
		m->kind = INGEST_READING;
	else if (strcmp(leaf, "gatt") == 0)
		m->kind = INGEST_GATT;
}

static int
ingest_quarantine(struct ingest_msg *m, const char *reason)
{
	struct store_quarantine q = { .at = m->now, .topic = m->topic, .reason = reason,
	                              .payload = m->payload, .len = m->len,
	                              .keep_rows = m->cfg->quarantine_max };

	/* A flood of bad messages must not become a flood of log lines. */
	log_limited(LOG_INFO, reason, "quarantined a message on %s: %s", m->topic, reason);
	return store_quarantine_add(m->st, &q);
}

/*
 * Finds the patient that device belongs to at time at, and checks that the
 * patient is of the topic's tenant. On DHO_ENOTFOUND or DHO_EINVAL, why
 * holds the reason for the quarantine.
 */
static int
ingest_attribute(struct ingest_msg *m, dho_time_t at, struct store_patient *p,
                 char *why, size_t len)
{
	struct store_assignment a;
	char t[TIMEFMT_LEN];
	int rc;

	rc = store_device_lookup(m->st, m->device, at, &a);
	if (rc == DHO_ENOTFOUND) {
		timefmt_format(at, t);
		snprintf(why, len, "device %s is not assigned to a patient at %s", m->device, t);
		return rc;
	}
	if (rc != DHO_OK)
		return rc;
	rc = store_patient_get(m->st, a.patient, p);
	if (rc == DHO_ENOTFOUND) {
		snprintf(why, len, "device %s is assigned to %s, who is not enrolled", m->device,
		         a.patient);
		return rc;
	}
	if (rc != DHO_OK)
		return rc;
	if (m->tenant[0] == '\0') {
		/* A hub-side source (Modbus) names no tenant; the assignment
		 * decides, within the tenants this hub serves. */
		if (!config_serves_tenant(m->cfg, p->tenant)) {
			snprintf(why, len, "device %s belongs to a patient of tenant %s, which this "
			         "hub does not serve", m->device, p->tenant);
			return DHO_EINVAL;
		}
		return DHO_OK;
	}
	if (strcmp(p->tenant, m->tenant) != 0) {
		snprintf(why, len, "device %s belongs to a patient of tenant %s but published under tenant %s",
		         m->device, p->tenant, m->tenant);
		return DHO_EINVAL;
	}
	return DHO_OK;
}

/* Stores accepted readings and quarantines rejected ones, then runs the
 * engine on each reading that is not flagged invalid. */
static int
ingest_readings(struct ingest_msg *m, const struct doc_result *d)
{
	struct store_patient p;
	struct store_reading sr;
	char why[DHO_ERRLEN + 64];
	int rc;

	if (m->retained && !d->has_seq)
		return ingest_quarantine(m, "retained message without seq: the broker sends it "
		                         "again at every subscription, so it is not stored as a reading");
	if (d->has_seq) {
		rc = store_claim_seq(m->st, m->device, d->seq);
		if (rc == DHO_EEXIST) {
			log_debug("%s seq %llu seen before: redelivery, not stored again", m->device,
			          (unsigned long long)d->seq);
			return DHO_OK;
		}
		if (rc != DHO_OK)
			return rc;
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct doc_item *it = &d->items[i];

		if (!it->ok) {
			snprintf(why, sizeof(why), "%s", it->reason);
			if ((rc = ingest_quarantine(m, why)) != DHO_OK)
				return rc;
			continue;
		}
		rc = ingest_attribute(m, it->r.measured_at, &p, why, sizeof(why));
		if (rc == DHO_ENOTFOUND || rc == DHO_EINVAL) {
			if ((rc = ingest_quarantine(m, why)) != DHO_OK)
				return rc;
			continue;
		}
		if (rc != DHO_OK)
			return rc;
		memset(&sr, 0, sizeof(sr));
		snprintf(sr.patient, sizeof(sr.patient), "%s", p.id);
		snprintf(sr.device, sizeof(sr.device), "%s", m->device);
		sr.r = it->r;
		sr.received_at = m->now;
		sr.has_seq = d->has_seq;
		sr.seq = d->seq;
		if ((rc = store_reading_add(m->st, &sr)) != DHO_OK)
			return rc;
		if (sr.r.flags & RFLAG_INVALID)
			continue;
		if ((rc = engine_reading(m->eng, &p, &sr, m->now)) != DHO_OK)
			return rc;
	}
	return DHO_OK;
}

/*
 * A dashboard's ack or resolve on <prefix>/acks/<team>:
 * {"alert": "A17", "action": "ack" | "resolve", "by": "nurse.kari", "note": "..."}
 * A malformed message, an unknown alert and an action that does not apply
 * are quarantined with the reason.
 */
static int
ingest_ack(struct ingest_msg *m)
{
	json_t *doc = NULL;
	json_error_t jerr;
	const char *alert_s = NULL, *action = NULL, *by = NULL, *note = NULL;
	struct action act = { .version = -1, .channel = ACTION_MQTT, .now = m->now };
	char why[DHO_ERRLEN + 8], reason[DHO_ERRLEN];
	int rc;

	if (m->retained)
		return ingest_quarantine(m, "retained ack: an ack is applied when it is published, "
		                         "never from the broker's retained store");
	if (m->len > 65536)
		return ingest_quarantine(m, "ack message is larger than 64 KiB");
	doc = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(why, sizeof(why), "ack is not valid JSON: %s", jerr.text);
		return ingest_quarantine(m, why);
	}
	if (json_unpack_ex(doc, &jerr, 0, "{s:s, s:s, s:s, s?s}", "alert", &alert_s, "action",
	                   &action, "by", &by, "note", &note) != 0) {
		snprintf(why, sizeof(why), "ack needs string fields alert, action and by: %s", jerr.text);
		rc = ingest_quarantine(m, why);
		goto out;
	}
	if (alert_parse_id(alert_s, &act.alert_id) != DHO_OK) {
		snprintf(why, sizeof(why), "ack's alert '%.64s' is not an alert id like A17", alert_s);
		rc = ingest_quarantine(m, why);
		goto out;
	}
	if (strcmp(action, "ack") != 0 && strcmp(action, "resolve") != 0) {
		snprintf(why, sizeof(why), "ack's action '%.64s' is not ack or resolve", action);
		rc = ingest_quarantine(m, why);
		goto out;
	}
	act.kind = strcmp(action, "ack") == 0 ? ACTION_ACK : ACTION_RESOLVE;
	act.by = by;
	act.note = note;
	act.actor = by;
	/* Only an alert that belongs to the topic's team now: the broker lets
	 * each team write only its own acks topic (broker-acl). */
	act.team = m->team;
	rc = action_apply(m->st, m->eng, &act, reason, sizeof(reason));
	if (rc == DHO_EINVAL) {
		snprintf(why, sizeof(why), "ack's %s", reason);
		rc = ingest_quarantine(m, why);
	} else if (rc == DHO_ENOTFOUND || rc == DHO_ESTATE || rc == DHO_ECONFLICT) {
		rc = ingest_quarantine(m, reason);
	}
out:
	json_decref(doc);
	return rc;
}

/* A third-party bridge message from an [input:*] topic. */
static int
ingest_bridge(struct ingest_msg *m, struct doc_result *d, char *why, size_t len)
{
	struct gatt_value v;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = bridge_parse(m->input->format, m->payload, m->len, m->device,
	                  sizeof(m->device), &v, why, len);
	if (rc != DHO_OK)
		return rc;
	doc_from_gatt(&v, m->now, d);
	return DHO_OK;
}

/*
 * Intermediate Cuff Pressure (2A36) is the cuff's pressure while it
 * inflates, no measurement: it is accepted and stored as nothing
 * (docs/operations.md). It is not quarantined, since nothing is wrong with
 * it, but it is not silent either: an unattributable device is still
 * quarantined, the seq is claimed, the message counts for last_message_at,
 * and the log says so at debug level.
 */
static int
ingest_cuff(struct ingest_msg *m, const struct doc_result *d)
{
	struct store_patient p;
	char why[DHO_ERRLEN + 64];
	int rc = ingest_attribute(m, d->measured_at, &p, why, sizeof(why));

	if (rc == DHO_ENOTFOUND || rc == DHO_EINVAL)
		return ingest_quarantine(m, why);
	if (rc != DHO_OK)
		return rc;
	if (d->has_seq) {
		rc = store_claim_seq(m->st, m->device, d->seq);
		if (rc == DHO_EEXIST)
			return DHO_OK;
		if (rc != DHO_OK)
			return rc;
	}
	log_debug("%s: intermediate cuff pressure (2A36) accepted, nothing to store", m->device);
	return store_message_seen(m->st, m->now);
}

static int
ingest_dispatch(struct ingest_msg *m)
{
	struct doc_result d;
	char err[DHO_ERRLEN], why[DHO_ERRLEN + 64];
	int rc;

	switch (m->kind) {
	case INGEST_UNKNOWN:
		return ingest_quarantine(m, "topic is not a dhohub topic");
	case INGEST_ACK:
		return ingest_ack(m);
	case INGEST_ACK_NOTEAM:
		snprintf(why, sizeof(why), "an ack must be published on %s/acks/<team> (KIND/NAME), "
		         "the topic of the team whose alert it acks", m->cfg->topic_prefix);
		return ingest_quarantine(m, why);
	case INGEST_INPUT:
		rc = ingest_bridge(m, &d, why, sizeof(why));
		if (rc == DHO_ENOMEM)
			return rc;
		if (rc != DHO_OK)
			return ingest_quarantine(m, why);
		if (!ident_valid(m->device))
			return ingest_quarantine(m, "the bridge's device id has forbidden characters");
		return ingest_readings(m, &d);
	case INGEST_GATT:
	case INGEST_READING:
		break;
	}
	if (!ident_valid(m->device))
		return ingest_quarantine(m, "the device id in the topic has forbidden characters");
	if (!config_serves_tenant(m->cfg, m->tenant)) {
		snprintf(why, sizeof(why), "tenant %s is not served by this hub", m->tenant);
		return ingest_quarantine(m, why);
	}
	if (m->kind == INGEST_GATT)
		rc = doc_parse_gatt(m->payload, m->len, m->now, &d, err, sizeof(err));
	else
		rc = doc_parse(m->payload, m->len, m->now, &d, err, sizeof(err));
	if (rc == DHO_ENOMEM)
		return rc;
	if (rc != DHO_OK)
		return ingest_quarantine(m, err);
	/* Intermediate cuff pressure is accepted and stores nothing. */
	if (d.n == 0 && d.uuid == GATT_INTERMEDIATE_CUFF)
		return ingest_cuff(m, &d);
	if (d.n == 0) {
		/* Body composition without weight carries nothing to store;
		 * the message is still accounted for. */
		return ingest_quarantine(m, "the GATT value carries no reading the hub stores");
	}
	return ingest_readings(m, &d);
}

/* Runs one message in one transaction: the decoded readings d when the
 * hub decoded them itself, else whatever the topic and payload hold. */
static int
ingest_transact(struct ingest_msg *m, const struct doc_result *d)
{
	int rc;

	if ((rc = store_begin(m->st)) != DHO_OK)
		return rc;
	rc = d != NULL ? ingest_readings(m, d) : ingest_dispatch(m);
	if (rc == DHO_OK)
		rc = store_commit(m->st);
	if (rc != DHO_OK) {
		log_error("cannot store a message on %s: %s (%s)", m->topic, dho_strerror(rc),
		          store_errmsg(m->st));
		store_rollback(m->st);
	}
	return rc;
}

int
ingest_message(const struct config *cfg, struct store *st, struct engine *eng,
               const char *topic, const void *payload, size_t len, unsigned flags,
               dho_time_t now)
{
	struct ingest_msg m = { cfg, st, eng, topic, payload, len, now,
	                        (flags & INGEST_RETAINED) != 0, INGEST_UNKNOWN, "", "", "", NULL };

	ingest_classify(&m);
	return ingest_transact(&m, NULL);
}

int
ingest_decoded(const struct config *cfg, struct store *st, struct engine *eng,
               const char *topic, const char *device, const struct doc_result *d,
               const char *raw, size_t rawlen, dho_time_t now)
{
	struct ingest_msg m = { cfg, st, eng, topic, raw, rawlen, now, false, INGEST_UNKNOWN,
	                        "", "", "", NULL };

	if (d->n == 0)
		return DHO_OK;
	if (!ident_valid(device))
		return DHO_EINVAL;
	snprintf(m.device, sizeof(m.device), "%s", device);
	return ingest_transact(&m, d);
}
