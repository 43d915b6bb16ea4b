/*
 * delivery.c: events out of the outbox, and their MQTT delivery.
 *
 * Every event leaves the store as an owned copy (hub_event_take()), so the
 * store's buffers stay under the hub's lock, and the slow part (a publish
 * waiting for the broker, a POST) runs without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "log.h"

int
hub_event_take(struct hub *h, enum store_channel ch, int64_t after_id, struct hub_event *ev)
{
	struct store_outbox row;
	int rc;

	memset(ev, 0, sizeof(*ev));
	pthread_mutex_lock(&h->lock);
	rc = store_outbox_next(h->st, ch, after_id, &row);
	if (rc == DHO_OK) {
		ev->id = row.id;
		snprintf(ev->topic, sizeof(ev->topic), "%s/alerts/%s", h->cfg->topic_prefix,
		         row.topic_team);
		if ((ev->body = strdup(row.body)) == NULL)
			rc = DHO_ENOMEM;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void
hub_event_free(struct hub_event *ev)
{
	free(ev->body);
	ev->body = NULL;
}

int
hub_event_done(struct hub *h, int64_t id, enum store_channel ch)
{
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = store_outbox_done(h->st, id, ch);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int64_t
hub_backoff(int attempts)
{
	int shift = attempts < 9 ? attempts : 9;
	int64_t d = (int64_t)1 << shift;

	return d > 300 ? 300 : d;
}

int
hub_deliver_mqtt(struct hub *h)
{
	struct hub_event ev;
	int n = 0, rc;

	while (session_connected(h->sess)) {
		rc = hub_event_take(h, STORE_CH_MQTT, 0, &ev);
		if (rc != DHO_OK) {
			if (rc != DHO_ENOTFOUND)
				log_error("cannot read the outbox: %s", dho_strerror(rc));
			break;
		}
		rc = session_publish(h->sess, ev.topic, ev.body, strlen(ev.body), false, 5000);
		hub_event_free(&ev);
		if (rc != DHO_OK) {
			log_warnx("event %lld to %s not acknowledged by the broker; will retry",
			          (long long)ev.id, ev.topic);
			break;
		}
		n++;
		if ((rc = hub_event_done(h, ev.id, STORE_CH_MQTT)) != DHO_OK) {
			/* Published but not marked: it will be published again,
			 * which is at-least-once delivery, never a loss. */
			log_error("cannot mark event %lld delivered: %s", (long long)ev.id,
			          dho_strerror(rc));
			break;
		}
		log_debug("event %lld delivered to %s", (long long)ev.id, ev.topic);
	}
	return n;
}
