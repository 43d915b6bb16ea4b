/*
 * daemon.c: the main loop of `dhohub run` (see daemon.h for the threads).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "daemon.h"
#include "engine.h"
#include "ingest.h"
#include "log.h"
#include "modbus.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

struct hub {
	const char *config_path;
	/* lock guards cfg, eng and st: the one write connection and the
	 * configuration that the ingest path reads. */
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* signalled when the outbox may have work */
	bool work;                 /* set with wake: so that no signal is missed */
	struct config *cfg;        /* the caller's at start, ours after a reload */
	bool cfg_owned;
	struct engine *eng;
	struct store *st;
	struct session *sess;
	atomic_bool stopping;
	pthread_t hook_thread;
	bool hook_started;
	struct mbus_poller *poller;  /* NULL without [modbus:*] sources */
	int64_t folded_at;         /* daemon_fold(), monotonic ms; main thread only */
};

/* Patients (and as many devices) whose ingest reads the store keeps in
 * memory (store_cache()): a region's 100,000 with room, in a few tens of
 * MiB. */
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
	}
}

static int
daemon_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct hub *h = ctx;
	uint64_t before;
	int rc;

	pthread_mutex_lock(&h->lock);
	before = engine_events(h->eng);
	rc = ingest_message(h->cfg, h->st, h->eng, topic, payload, len, timefmt_now());
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

/* Backoff for a failing delivery: 1 s doubling to 5 minutes. */
static dho_time_t
daemon_backoff(int attempts)
{
	int shift = attempts < 9 ? attempts : 9;
	dho_time_t d = (dho_time_t)1 << shift;

	return d > 300 ? 300 : d;
}

/*
 * Publishes every undelivered event, oldest first, to its team's topic.
 * Stops at the first failure so that the order per alert is kept; the
 * event stays in the outbox and is sent again later.
 */
static void
daemon_deliver_mqtt(struct hub *h)
{
	struct store_outbox ev;
	char topic[512];
	char *body;
	int rc;

	for (;;) {
		if (!session_connected(h->sess))
			return;
		pthread_mutex_lock(&h->lock);
		rc = store_outbox_next(h->st, STORE_CH_MQTT, 0, &ev);
		body = rc == DHO_OK ? strdup(ev.body) : NULL;
		/* ev is filled only when there is an event. */
		snprintf(topic, sizeof(topic), "%s/alerts/%s", h->cfg->topic_prefix,
		         rc == DHO_OK ? ev.topic_team : "");
		pthread_mutex_unlock(&h->lock);
		if (rc != DHO_OK || body == NULL) {
			free(body);
			if (rc != DHO_ENOTFOUND)
				log_error("cannot read the outbox: %s", dho_strerror(rc));
			return;
		}
		rc = session_publish(h->sess, topic, body, strlen(body), false, 5000);
		free(body);
		if (rc != DHO_OK) {
			log_warnx("event %lld to %s not acknowledged by the broker; will retry",
			          (long long)ev.id, topic);
			return;
		}
		pthread_mutex_lock(&h->lock);
		rc = store_outbox_done(h->st, ev.id, STORE_CH_MQTT);
		pthread_mutex_unlock(&h->lock);
		if (rc != DHO_OK) {
			/* Published but not marked: it will be published again,
			 * which is at-least-once delivery, never a loss. */
			log_error("cannot mark event %lld delivered: %s", (long long)ev.id,
			          dho_strerror(rc));
			return;
		}
		log_debug("event %lld delivered to %s", (long long)ev.id, topic);
	}
}

static size_t
daemon_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* POSTs body to url; DHO_OK on a 2xx answer. */
static int
daemon_post(CURL *curl, const char *url, const char *body, char *err, size_t errlen)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode res;

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, daemon_discard);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	res = curl_easy_perform(curl);
	curl_slist_free_all(hdr);
	if (res != CURLE_OK) {
		snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(res));
		return DHO_EIO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "HTTP status %ld", status);
		return DHO_EIO;
	}
	return DHO_OK;
}

/* The most webhook URLs that can be failing at once; teams are few. */
#define DAEMON_HOOKS_MAX 64

/* A webhook URL whose last POST failed, and when to try it again. */
struct daemon_hook_wait {
	char url[512];
	int attempts;
	int64_t next_ms;    /* CLOCK_MONOTONIC milliseconds */
};

static int64_t
daemon_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct daemon_hook_wait *
daemon_hook_find(struct daemon_hook_wait *w, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i].url, url) == 0)
			return &w[i];
	return NULL;
}

/*
 * The webhook thread: POSTs each event with a webhook in outbox order. A
 * failing receiver holds back the later events for the same URL (so the
 * order per alert is kept at each receiver) and is retried with backoff;
 * neither the other teams' webhooks nor MQTT delivery wait for it.
 */
static void *
daemon_hook_main(void *arg)
{
	struct hub *h = arg;
	CURL *curl = curl_easy_init();
	struct daemon_hook_wait waits[DAEMON_HOOKS_MAX];
	size_t nwaits = 0;
	struct store_outbox ev;
	char url[512], err[CURL_ERROR_SIZE + 32];
	char *body;
	int rc;

	if (curl == NULL) {
		log_error("cannot start libcurl: webhooks will not be delivered");
		return NULL;
	}
	while (!atomic_load(&h->stopping)) {
		int64_t after = 0;
		bool sent = false;

		/* One pass over the undelivered events, oldest first. */
		while (!atomic_load(&h->stopping)) {
			struct daemon_hook_wait *w;
			dho_time_t wait;

			pthread_mutex_lock(&h->lock);
			rc = store_outbox_next(h->st, STORE_CH_WEBHOOK, after, &ev);
			body = rc == DHO_OK ? strdup(ev.body) : NULL;
			snprintf(url, sizeof(url), "%s", rc == DHO_OK ? ev.webhook : "");
			pthread_mutex_unlock(&h->lock);
			if (rc != DHO_OK || body == NULL) {
				if (rc != DHO_OK && rc != DHO_ENOTFOUND)
					log_error("cannot read the outbox: %s", dho_strerror(rc));
				free(body);
				break;
			}
			after = ev.id;
			w = daemon_hook_find(waits, nwaits, url);
			if (w && daemon_mono_ms() < w->next_ms) {
				free(body);
				continue;
			}
			rc = daemon_post(curl, url, body, err, sizeof(err));
			free(body);
			if (rc != DHO_OK) {
				if (w == NULL && nwaits == DAEMON_HOOKS_MAX) {
					/* No room to track it: hold everything back
					 * rather than lose the order. */
					log_warnx("webhook %s failed: %s; more than %d webhooks failing",
					          url, err, DAEMON_HOOKS_MAX);
					break;
				}
				if (w == NULL) {
					w = &waits[nwaits++];
					memset(w, 0, sizeof(*w));
					snprintf(w->url, sizeof(w->url), "%s", url);
				}
				wait = daemon_backoff(w->attempts++);
				w->next_ms = daemon_mono_ms() + wait * 1000;
				if (w->attempts == 1 || log_enabled(LOG_DEBUG))
					log_warnx("webhook %s failed: %s; retrying with backoff (next in %llds)",
					          url, err, (long long)wait);
				continue;
			}
			if (w) {
				log_info("webhook %s delivers again after %d failed attempts", url,
				         w->attempts);
				*w = waits[--nwaits];
			}
			sent = true;
			pthread_mutex_lock(&h->lock);
			rc = store_outbox_done(h->st, ev.id, STORE_CH_WEBHOOK);
			pthread_mutex_unlock(&h->lock);
			if (rc != DHO_OK)
				log_error("cannot mark event %lld delivered to its webhook: %s",
				          (long long)ev.id, dho_strerror(rc));
		}
		if (!sent)
			usleep(200 * 1000);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

/*
 * Moves the store's readings mark on, once a minute, so that `stats` counts
 * a short range of readings; off the ingest path, where no counter is
 * written.
 */
static void
daemon_fold(struct hub *h)
{
	int64_t now = daemon_mono_ms();
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

int
daemon_run(const char *config_path, const char *db_override, struct config *cfg)
{
	struct hub h = { 0 };
	char err[DHO_ERRLEN];
	const char *db = db_override ? db_override : cfg->store_path;
	enum log_level lvl;
	struct timespec ts;
	int rc = 1;

	h.config_path = config_path;
	h.cfg = cfg;
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.wake, NULL);
	if (log_parse_level(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	daemon_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (store_open(db, cfg->durability == CFG_DURABILITY_FULL, &h.st, err, sizeof(err)) != DHO_OK) {
		log_error("%s", err);
		goto out;
	}
	if (store_cache(h.st, DAEMON_CACHE_PATIENTS) != DHO_OK) {
		log_error("out of memory for the store's cache");
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
	if (pthread_create(&h.hook_thread, NULL, daemon_hook_main, &h) == 0)
		h.hook_started = true;
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
		if (daemon_reload_flag) {
			daemon_reload_flag = 0;
			daemon_reload(&h);
		}
		daemon_timers(&h);
		daemon_fold(&h);
		daemon_deliver_mqtt(&h);
		/* Woken by new events, or every 200 ms to pick up changes made by
		 * the CLI in another process (acks, outbox rows). */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&h.lock);
		while (!h.work && !daemon_stop_flag && !daemon_reload_flag)
			if (pthread_cond_timedwait(&h.wake, &h.lock, &ts) != 0)
				break;
		h.work = false;
		pthread_mutex_unlock(&h.lock);
	}
	log_info("stopping: finishing in-flight work");
	daemon_deliver_mqtt(&h);
	rc = 0;
out:
	atomic_store(&h.stopping, true);
	/* The poller stores under the lock: it goes before the store does. */
	mbus_poller_stop(h.poller);
	if (h.hook_started)
		pthread_join(h.hook_thread, NULL);
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
	log_info("stopped");
	return rc;
}
