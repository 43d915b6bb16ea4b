/*
 * daemon_int.h: what the files of `dhohub run` share (not a public header:
 * only daemon.c, delivery.c and webhook.c include it).
 *
 * The hub is cut by thread; each file is one thread's code:
 *   daemon.c    the main thread: wiring, signals, timers, the main loop;
 *               and the callbacks through which Paho's receive thread and
 *               the Modbus thread (modbus.c) store what they receive;
 *   delivery.c  events handed out of the outbox, and their MQTT delivery
 *               (run by the main thread);
 *   webhook.c   the webhook thread.
 * The locking rule is written at the top of daemon.c.
 */
#ifndef DAEMON_INT_H
#define DAEMON_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "engine.h"
#include "modbus.h"
#include "session.h"
#include "store.h"

struct hub_hooks;

struct hub {
	const char *config_path;
	/* lock guards cfg, cfg_owned, eng, st (the one write connection)
	 * and work. */
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* main loop: the outbox may have work */
	bool work;                 /* set with wake: so that no signal is missed */
	struct config *cfg;        /* the caller's at start, ours after a reload */
	bool cfg_owned;
	struct engine *eng;
	struct store *st;
	struct session *sess;      /* thread-safe itself; not guarded by lock */
	atomic_bool stopping;
	struct hub_hooks *hooks;   /* the webhook thread; NULL when not started */
	struct mbus_poller *poller;  /* NULL without [modbus:*] sources */
	dho_time_t purge_at;       /* next retention purge; 0: at start */
	int64_t folded_at;         /* last daemon_fold(), mono_ms(); main thread only */
};

/*
 * An outbox event copied out of the store under the lock. The thread that
 * took it owns it and uses it without the lock; hub_event_free() releases
 * it. No pointer into the store's buffers crosses a thread.
 */
struct hub_event {
	int64_t id;
	char topic[512];           /* <prefix>/alerts/<team> */
	char *body;                /* the JSON document; owned */
};

/*
 * Takes lock, copies the oldest event after after_id not yet delivered on
 * ch into ev, and releases lock. DHO_OK; DHO_ENOTFOUND when there is none;
 * DHO_ENOMEM; or the store's code. On DHO_OK the caller must call
 * hub_event_free(ev).
 */
int hub_event_take(struct hub *h, enum store_channel ch, int64_t after_id,
                   struct hub_event *ev);
void hub_event_free(struct hub_event *ev);
/* Marks event id delivered on ch, under lock; the store's code. */
int hub_event_done(struct hub *h, int64_t id, enum store_channel ch);

/* Seconds to wait after attempts failed deliveries: 1 doubling to 300. */
int64_t hub_backoff(int attempts);

/* Publishes every undelivered event over MQTT, oldest first; stops at the
 * first failure to keep the order. Returns how many it published. */
int hub_deliver_mqtt(struct hub *h);

/* Writes url to out for a log line: its user information and query become
 * "***", so that credentials in a webhook URL never reach the log. */
void hub_redact_url(const char *url, char *out, size_t len);

/* Starts the webhook thread. DHO_OK; DHO_ENOMEM or DHO_EIO (libcurl or
 * pthread_create failed) after logging why. */
int hub_webhooks_start(struct hub *h);
/* Wakes the webhook thread: called with lock held. */
void hub_webhooks_wake(struct hub *h);
/* Stops and joins the webhook thread (after h->stopping is set). */
void hub_webhooks_stop(struct hub *h);

#endif
