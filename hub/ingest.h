/*
 * ingest: one inbound MQTT message, from topic and bytes to stored readings.
 *
 * The way of a message: classify the topic (device reading, GATT envelope,
 * bridge input, ack) -> decode the payload (sensors/) -> attribute it to the
 * patient the device belongs to at the reading's time -> store it -> hand
 * each reading to the engine (rules and alerts). Whatever cannot be
 * accepted goes to quarantine with its reason. All of it happens in one
 * transaction, so a message is stored whole or not at all.
 *
 * Readings that the hub decodes itself (Modbus polls) join that way after
 * the decoding: attribute -> store -> engine, through ingest_decoded().
 */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>

#include "config.h"
#include "doc.h"
#include "engine.h"
#include "store.h"

/* ingest_message() flags. */
enum {
	/* The broker sent the message from its retained store, as it does at
	 * every subscription: it is not news. A reading without seq then goes
	 * to quarantine (stored, it would be stored again at each reconnect),
	 * and so does an ack (it was meant for an earlier moment). */
	INGEST_RETAINED = 1
};

/*
 * Stores one message. Returns DHO_OK when the message is committed (as
 * readings, in quarantine, or recognised as a redelivery); anything else
 * means nothing was committed and the message must not be acknowledged.
 * The caller holds the write lock of st.
 */
int ingest_message(const struct config *cfg, struct store *st, struct engine *eng,
                   const char *topic, const void *payload, size_t len, unsigned flags,
                   dho_time_t now);

/*
 * Stores readings that the hub has decoded itself, from a source that is
 * not a topic (a Modbus poll): the items of d, measured by device and
 * received at now. They take exactly the way of a message's readings: an
 * accepted item is attributed to the patient the device belongs to at its
 * time, stored and evaluated; a rejected item, or one that cannot be
 * attributed, goes to quarantine with its reason, under topic (for
 * example "modbus:oxy-12") with raw (rawlen bytes) as its payload. With no
 * topic to name a tenant, the patient's tenant must be one the hub serves.
 * A d with no items stores nothing. Returns as ingest_message(); the
 * caller holds the write lock of st.
 */
int ingest_decoded(const struct config *cfg, struct store *st, struct engine *eng,
                   const char *topic, const char *device, const struct doc_result *d,
                   const char *raw, size_t rawlen, dho_time_t now);

#endif
