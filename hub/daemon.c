/*
 * daemon.c: `dhohub run`: the wiring of the hub's threads and the main loop.
 *
 * Threads, and what each owns:
 *   - the main thread (this file): signals, reloads, the alert timers and
 *     MQTT delivery (delivery.c);
 *   - Paho's receive thread: runs ingest for each message (daemon_on_message)
 *     and returns only after the commit, so the broker redelivers anything
 *     not stored;
 *   - the webhook thread (webhook.c): its libcurl handle and failing URLs;
 *   - the Modbus thread (modbus.c), with [modbus:*] sources: its
 *     connections; it stores each poll through daemon_on_modbus.
 *   - the store's checkpoint thread (store.c, store_checkpoint_thread()):
 *     a second SQLite connection that copies the WAL into the database,
 *     so no commit on the receive thread waits for a checkpoint; it takes
 *     no hub lock and touches nothing of the others.
 *
 * The locking rule: hub.lock guards the configuration (cfg), the engine
 * (eng), the store's one write connection (st) and the wake-up flags. Every
 * store call and every read of cfg happens with the lock held. No pointer
 * into the store or into cfg survives an unlock: what a thread needs after
 * the unlock it copies first (hub_event_take() hands out owned copies of
 * events). Nothing slow (a publish, a POST, a Modbus poll) runs under the
 * lock. Timed waits use CLOCK_MONOTONIC (mono.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon.h"
#include "daemon_int.h"
#include "ingest.h"
#include "log.h"
#include "mono.h"
#include "retention.h"
#include "timefmt.h"

/* The main loop looks at the outbox at least this often, for events that
 * another process (the CLI) queued. */
#define DAEMON_IDLE_MS 200

/* Patients (and as many devices) whose ingest reads the store keeps in
 * memory (store_cache()): a region's 100,000 with room. */
#define DAEMON_CACHE_PATIENTS 131072

static volatile sig_atomic_t daemon_stop_flag;
static volatile sig_atomic_t daemon_reload_flag;

static void
daemon_on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_reload_flag = 1;
	else
		daemon_stop_flag = 1;
}

/* After an ingest under h->lock: wakes the main loop when it wrote events.
 * Waking it for every reading cost a transaction of timers and an outbox
 * read each. */
static void
daemon_ingested(struct hub *h, uint64_t events_before)
{
	if (engine_events(h->eng) != events_before) {
		h->work = true;
		pthread_cond_signal(&h->wake);
		hub_webhooks_wake(h);
	}
}

static int
daemon_on_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained)
{
	struct hub *h = ctx;
	uint64_t before;
	int rc;

	pthread_mutex_lock(&h->lock);
	before = engine_events(h->eng);
	rc = ingest_message(h->cfg, h->st, h->eng, topic, payload, len,
	                    retained ? INGEST_RETAINED : 0, timefmt_now());
	daemon_ingested(h, before);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* The Modbus poller's readings take the way of an MQTT message's, under
 * the same lock. */
static int
daemon_on_modbus(void *ctx, const char *topic, const char *device, const struct doc_result *d,
                 const char *raw, dho_time_t now)
{
	struct hub *h = ctx;
	uint64_t before;
	int rc;

	pthread_mutex_lock(&h->lock);
	before = engine_events(h->eng);
	rc = ingest_decoded(h->cfg, h->st, h->eng, topic, device, d, raw, strlen(raw), now);
	daemon_ingested(h, before);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/*
 * Moves the store's readings mark on, once a minute, so that `stats` counts
 * a short range of readings; off the ingest path, where no counter is
 * written.
 */
static void
daemon_fold(struct hub *h)
{
	int64_t now = mono_ms();
	int rc;

	if (h->folded_at != 0 && now - h->folded_at < 60 * 1000)
		return;
	h->folded_at = now;
	pthread_mutex_lock(&h->lock);
	rc = store_begin(h->st);
	if (rc == DHO_OK)
		rc = store_counters_fold(h->st);
	if (rc == DHO_OK)
		rc = store_commit(h->st);
	if (rc != DHO_OK)
		store_rollback(h->st);
	pthread_mutex_unlock(&h->lock);
	if (rc != DHO_OK)
		log_error("counting readings: %s; will retry", dho_strerror(rc));
}

/* Runs the alert timers (escalation, reminders) in short transactions. */
static void
daemon_timers(struct hub *h)
{
	int work = 1, rc;

	while (work > 0) {
		pthread_mutex_lock(&h->lock);
		rc = store_begin(h->st);
		if (rc == DHO_OK)
			rc = engine_tick(h->eng, timefmt_now(), &work);
		if (rc == DHO_OK)
			rc = store_commit(h->st);
		if (rc != DHO_OK) {
			store_rollback(h->st);
			work = 0;
		}
		pthread_mutex_unlock(&h->lock);
		if (rc != DHO_OK)
			log_error("alert timers: %s; will retry", dho_strerror(rc));
	}
}

/* Reads the configuration again; on any error the old one stays. */
static void
daemon_reload(struct hub *h)
{
	struct config *cfg = NULL;
	struct engine *eng = NULL;
	char err[DHO_ERRLEN];

	if (h->config_path == NULL) {
		log_info("SIGHUP: no configuration file to reload");
		return;
	}
	if (config_load(h->config_path, engine_config_check, stderr, &cfg) != DHO_OK) {
		log_error("SIGHUP: %s has errors; keeping the running configuration", h->config_path);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (engine_new(cfg, h->st, &eng, err, sizeof(err)) != DHO_OK) {
		pthread_mutex_unlock(&h->lock);
		log_error("SIGHUP: %s; keeping the running configuration", err);
		config_free(cfg);
		return;
	}
	/* Topics, broker, store settings and Modbus sources need a restart;
	 * rules, teams and routing apply to the next message. */
	engine_free(h->eng);
	h->eng = eng;
	if (h->cfg_owned)
		config_free(h->cfg);
	h->cfg = cfg;
	h->cfg_owned = true;
	/* New programs may hold missing rules due now: every patient's timers
	 * are looked at again (otherwise only at their next deadline). */
	if (store_begin(h->st) != DHO_OK ||
	    store_patient_check_at(h->st, NULL, timefmt_now()) != DHO_OK ||
	    store_commit(h->st) != DHO_OK) {
		store_rollback(h->st);
		log_error("SIGHUP: cannot bring the missing-measurement checks forward: %s",
		          store_errmsg(h->st));
	}
	pthread_mutex_unlock(&h->lock);
	log_info("SIGHUP: reloaded rules, teams and routing from %s", h->config_path);
}

static void
daemon_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Initializes the lock and the conditions; false after logging why. */
static bool
daemon_sync_init(struct hub *h)
{
	int err;

	if ((err = pthread_mutex_init(&h->lock, NULL)) != 0 || (err = mono_cond_init(&h->wake)) != 0) {
		log_error("cannot set up the hub's lock: %s", strerror(err));
		return false;
	}
	return true;
}

/* Sleeps until an ingest signals work, a signal flag is set, or
 * DAEMON_IDLE_MS passed. */
static void
daemon_wait(struct hub *h)
{
	struct timespec until;

	mono_deadline(DAEMON_IDLE_MS, &until);
	pthread_mutex_lock(&h->lock);
	while (!h->work && !daemon_stop_flag && !daemon_reload_flag)
		if (pthread_cond_timedwait(&h->wake, &h->lock, &until) != 0)
			break;
	h->work = false;
	pthread_mutex_unlock(&h->lock);
}

int
daemon_run(const char *config_path, const char *db_override, struct config *cfg)
{
	struct hub h = { 0 };
	char err[DHO_ERRLEN];
	const char *db = db_override ? db_override : cfg->store_path;
	enum log_level lvl;
	int rc = 1;

	h.config_path = config_path;
	h.cfg = cfg;
	if (log_parse_level(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	if (!daemon_sync_init(&h))
		return 1;
	daemon_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (store_open(db, STORE_CREATE | (cfg->durability == CFG_DURABILITY_FULL ? STORE_FULL_SYNC : 0),
	               &h.st, err, sizeof(err)) != DHO_OK) {
		log_error("%s", err);
		goto out;
	}
	if (store_cache(h.st, DAEMON_CACHE_PATIENTS) != DHO_OK) {
		log_error("out of memory for the store's cache");
		goto out;
	}
	if (store_checkpoint_thread(h.st) != DHO_OK) {
		log_error("cannot start the store's checkpoint thread on %s", db);
		goto out;
	}
	if (engine_new(cfg, h.st, &h.eng, err, sizeof(err)) != DHO_OK) {
		log_error("%s", err);
		goto out;
	}
	if (session_new(cfg, daemon_on_message, &h, &h.sess) != DHO_OK) {
		log_error("cannot set up the MQTT client for %s", cfg->broker_url);
		goto out;
	}
	if (hub_webhooks_start(&h) != DHO_OK)
		goto out;
	log_info("dhohub starting: broker %s, client id %s, store %s", cfg->broker_url,
	         cfg->client_id, db);
	if (session_start(h.sess) != DHO_OK)
		goto out;
	if (cfg->nmodbus > 0 &&
	    mbus_poller_start(cfg->modbus, cfg->nmodbus, daemon_on_modbus, &h, &h.poller) != DHO_OK) {
		log_error("cannot start the Modbus poller");
		goto out;
	}
	while (!daemon_stop_flag) {
		session_tick(h.sess);
		if (session_refused(h.sess)) {
			/* The session logged the refusal, naming the user. */
			log_error("stopping: the broker refused the hub's login at its first connect; "
			          "exit 2 (configuration)");
			rc = 2;
			goto out;
		}
		if (daemon_reload_flag) {
			daemon_reload_flag = 0;
			daemon_reload(&h);
		}
		daemon_timers(&h);
		daemon_fold(&h);
		pthread_mutex_lock(&h.lock);
		retention_tick(h.st, h.cfg, timefmt_now(), &h.purge_at);
		pthread_mutex_unlock(&h.lock);
		if (hub_deliver_mqtt(&h) > 0) {
			/* Events this loop found (the timers', the CLI's) may
			 * have webhooks too. */
			pthread_mutex_lock(&h.lock);
			hub_webhooks_wake(&h);
			pthread_mutex_unlock(&h.lock);
		}
		daemon_wait(&h);
	}
	log_info("stopping: finishing in-flight work");
	hub_deliver_mqtt(&h);
	rc = 0;
out:
	atomic_store(&h.stopping, true);
	/* The poller stores under the lock: it goes before the store does. */
	mbus_poller_stop(h.poller);
	hub_webhooks_stop(&h);
	if (h.sess) {
		/* A message being stored when the signal came finishes under the
		 * lock before the session goes. */
		pthread_mutex_lock(&h.lock);
		session_abandon(h.sess);
		pthread_mutex_unlock(&h.lock);
		session_stop(h.sess);
		session_free(h.sess);
	}
	engine_free(h.eng);
	store_close(h.st);
	if (h.cfg_owned)
		config_free(h.cfg);
	curl_global_cleanup();
	pthread_cond_destroy(&h.wake);
	pthread_mutex_destroy(&h.lock);
	log_info("stopped");
	return rc;
}
