/*
 * modbus: the hub as a Modbus master ([modbus:*] sections, docs/operations.md
 * "Modbus sources"): the Modbus thread.
 *
 * The poller is one thread for all [modbus:*] sources: it reads each source
 * every interval_s over TCP or RTU with libmodbus, decodes the registers
 * with sensors/mbus.h and hands the values to a sink, which in the daemon
 * is the same ingest path as an MQTT message (attribute, store, evaluate).
 */
/* Not MODBUS_H: libmodbus's <modbus/modbus.h> guards itself with that. */
#ifndef HUB_MODBUS_H
#define HUB_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "doc.h"
#include "mbus.h"

/*
 * The poller hands each poll's values to a sink, on the poller's thread:
 * the readings of one source in d (rejected ones with their reason, for
 * quarantine), topic as "modbus:NAME" for quarantine entries, raw a JSON
 * text of the registers read (the quarantine payload), now the poll's
 * time. It returns DHO_OK once the readings are committed.
 */
typedef int (*mbus_sink_fn)(void *ctx, const char *topic, const char *device,
                            const struct doc_result *d, const char *raw, dho_time_t now);

struct mbus_poller;

/*
 * Starts the poller thread for the n sources (n >= 1). The sources are
 * copied: the caller's array may go away, and a configuration reload does
 * not change what is polled. A source that cannot be reached is logged
 * once per outage and retried after interval_s, then twice that, doubling
 * up to 60 s (or interval_s if longer); the first poll that answers again
 * is logged once and the normal interval resumes.
 * DHO_ENOMEM, or DHO_EIO when the thread cannot be started.
 */
int mbus_poller_start(const struct cfg_modbus *sources, size_t n, mbus_sink_fn sink,
                      void *ctx, struct mbus_poller **out);

/* Stops the thread (a poll under way finishes first, which takes at most
 * about a second per source), closes the connections and frees p. NULL is
 * a no-op. */
void mbus_poller_stop(struct mbus_poller *p);

#endif
