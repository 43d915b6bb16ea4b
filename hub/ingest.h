/*
 * ingest: one inbound MQTT message, from topic and bytes to stored readings.
 *
 * The way of a message: classify the topic (device reading, GATT envelope,
 * bridge input, ack) -> decode the payload (sensors/) -> attribute it to the
 * patient the device belongs to at the reading's time -> store it -> hand
 * each reading to the engine (rules and alerts). Whatever cannot be
 * accepted goes to quarantine with its reason. All of it happens in one
 * transaction, so a message is stored whole or not at all.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "store.h"

/*
 * Stores one message. Returns DHO_OK when the message is committed (as
 * readings, in quarantine, or recognised as a redelivery); anything else
 * means nothing was committed and the message must not be acknowledged.
 * The caller holds the write lock of st.
 */
int ingest_message(const struct config *cfg, struct store *st, struct engine *eng,
                   const char *topic, const void *payload, size_t len, dho_time_t now);

#endif
