/*
 * session: the hub's MQTT session with the broker (Paho MQTTAsync).
 *
 * A fixed client id and a persistent session (MQTT 3.1.1, clean session
 * off) make the broker keep the hub's QoS 1 messages while it is down.
 * Paho calls the message handler on its own receive thread and sends the
 * PUBACK only when the handler returns, so the handler commits first: a
 * message that is acknowledged is on disk.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct session;

/*
 * Handles one inbound message; retained is set when the broker sent it
 * from its retained store (because the hub subscribed), not because it
 * was just published. Returns DHO_OK once it is stored (as readings or in
 * quarantine). Any other return means nothing could be stored: the session
 * retries the same message and never acknowledges it until the handler
 * succeeds.
 */
typedef int (*session_message_fn)(void *ctx, const char *topic, const void *payload,
                                  size_t len, bool retained);

/* True for a broker URL that asks for TLS (ssl:// or mqtts://). */
bool session_url_tls(const char *url);

/* Creates a session for cfg's broker and topics; nothing is sent yet. */
int session_new(const struct config *cfg, session_message_fn fn, void *ctx,
                struct session **out);

/*
 * Starts connecting. A failed attempt, or a lost connection, sets the next
 * attempt (1 s, doubling to 30 s; each failure is logged with its reason),
 * which session_tick() starts when it is due.
 */
int session_start(struct session *s);

/* Starts the connect attempt that is due, if one is. Call it often (the
 * daemon's main loop does, at least every 200 ms), from one thread. */
void session_tick(struct session *s);

/*
 * True when the broker refused the hub's user name and password (or
 * anonymous login) before the session was ever connected: a wrong
 * configuration, which the session does not retry. A refusal after the
 * session was once online is retried and logged as an error each time.
 */
bool session_refused(struct session *s);

bool session_connected(struct session *s);

/*
 * Publishes payload QoS 1 and waits up to timeout_ms for the broker's
 * PUBACK. DHO_EIO when not connected or not acknowledged in time.
 * Called from one thread only (the daemon's main loop).
 */
int session_publish(struct session *s, const char *topic, const char *payload,
                    size_t len, bool retained, int timeout_ms);

/* Tells the receive thread to give up retrying a failing message: the
 * process exits without acknowledging it, so the broker redelivers it. */
void session_abandon(struct session *s);

/* Publishes the offline status and disconnects. */
void session_stop(struct session *s);
void session_free(struct session *s);

#endif
