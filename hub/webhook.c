/*
 * webhook.c: the webhook thread, which delivers alert events to the
 * teams' webhooks (docs/operations.md, "Delivery of alert events").
 *
 * Each team with a webhook is its own queue: its events are POSTed one at
 * a time in outbox order, so a receiver sees an alert's events in order.
 * The queues run side by side (libcurl multi), so a receiver that is slow,
 * hung or down holds back only its own team's events; the other teams'
 * webhooks and MQTT delivery do not wait for it.
 *
 * The outbox keeps no URL: the URL is looked up in the running
 * configuration by team when an event is sent, so credentials in a URL
 * live only in the configuration file, and a reload that changes a URL
 * applies to the events still waiting. In log lines a URL's user
 * information and query are replaced by "***" (hub_redact_url()).
 *
 * A failed POST is retried with backoff (hub_backoff()). A receiver that
 * keeps answering 4xx (other than 408 and 429) will not accept the event
 * however often it is sent: after HOOKS_4XX_ATTEMPTS such answers the
 * event is marked failed (logged, counted in stats as webhook_failed); it
 * has gone out on MQTT all the same. Only http and https are spoken, also
 * after a redirect.
 *
 * One thread drives every transfer through a libcurl multi handle. Each
 * team with pending events has a queue: at most one POST in flight, and a
 * time before which it is not tried again after a failure. A pass reads,
 * under the lock, the teams with pending events and, for each idle queue
 * whose time has come, its oldest event and its team's URL; the POSTs then
 * run without the lock, side by side.
 *
 * Locking: hub.lock is taken for each store call and each read of the
 * configuration, and released before any network wait. Nothing read under
 * it (the body, the URL) is used after the unlock except copies that the
 * queue owns.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "daemon_int.h"
#include "log.h"
#include "mono.h"

/* The longest URL the configuration allows ([team:*] webhook). */
#define WEBHOOK_URL_MAX 512

/* 4xx answers (not 408 or 429) after which an event is given up. */
#define HOOKS_4XX_ATTEMPTS 5

/* With nothing signalled, the thread still looks at the outbox this often:
 * events that another process (the CLI) queued reach their webhooks. */
#define HOOKS_IDLE_MS 1000

struct webhook_queue {
	char team[DHO_TEAM_MAX + 1];
	char url[WEBHOOK_URL_MAX];       /* of the POST in flight */
	char ca[512];                    /* the team's webhook_ca; "": the system's CAs */
	CURL *curl;                      /* non-NULL while a POST is in flight */
	struct curl_slist *hdr;
	char *body;                      /* owned while in flight */
	int64_t event;                   /* the event in flight */
	char err[CURL_ERROR_SIZE];
	int attempts;                    /* failures in a row */
	int rejected;                    /* 4xx answers in a row for event */
	int64_t rejected_event;
	int64_t next_ms;                 /* not tried before (monotonic ms) */
	bool seen;                       /* has pending events in this pass */
};

struct hub_hooks {
	struct hub *h;
	pthread_t thread;
	CURLM *multi;
	/* One per team that had pending events, each allocated on its own:
	 * a transfer in flight points at its queue (CURLOPT_PRIVATE), so a
	 * queue never moves. */
	struct webhook_queue **q;
	size_t nq;
};

void
hub_redact_url(const char *url, char *out, size_t len)
{
	const char *scheme = strstr(url, "://");
	const char *auth = scheme ? scheme + 3 : url;
	const char *end = auth + strcspn(auth, "/?#");
	const char *host = auth, *query;

	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			host = p + 1;
	query = host + strcspn(host, "?#");
	snprintf(out, len, "%.*s%s%.*s%s", (int)(auth - url), url, host != auth ? "***@" : "",
	         (int)(query - host), host, *query == '?' ? "?***" : "");
}

static size_t
webhook_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static struct webhook_queue *
webhook_queue(struct hub_hooks *w, const char *team)
{
	struct webhook_queue **grown, *q;

	for (size_t i = 0; i < w->nq; i++)
		if (strcmp(w->q[i]->team, team) == 0)
			return w->q[i];
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((grown = realloc(w->q, (w->nq + 1) * sizeof(*w->q))) == NULL) {
		free(q);
		return NULL;
	}
	w->q = grown;
	snprintf(q->team, sizeof(q->team), "%s", team);
	w->q[w->nq++] = q;
	return q;
}

static int
webhook_mark_team(void *ctx, const char *team)
{
	struct hub_hooks *w = ctx;
	struct webhook_queue *q = webhook_queue(w, team);

	if (q != NULL)
		q->seen = true;
	return 0;
}

/* Ends q's transfer and frees what it held. */
static void
webhook_finish(struct hub_hooks *w, struct webhook_queue *q)
{
	if (q->curl != NULL) {
		curl_multi_remove_handle(w->multi, q->curl);
		curl_easy_cleanup(q->curl);
	}
	curl_slist_free_all(q->hdr);
	free(q->body);
	q->curl = NULL;
	q->hdr = NULL;
	q->body = NULL;
}

/* Starts the POST of q's event; body is q's from now on. */
static int
webhook_post(struct hub_hooks *w, struct webhook_queue *q, char *body)
{
	q->body = body;
	q->err[0] = '\0';
	q->curl = curl_easy_init();
	q->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (q->curl == NULL || q->hdr == NULL) {
		webhook_finish(w, q);
		return DHO_ENOMEM;
	}
	curl_easy_setopt(q->curl, CURLOPT_URL, q->url);
	curl_easy_setopt(q->curl, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, q->hdr);
	curl_easy_setopt(q->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(q->curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(q->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->curl, CURLOPT_ERRORBUFFER, q->err);
	curl_easy_setopt(q->curl, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(q->curl, CURLOPT_PRIVATE, q);
	/* A receiver, or a redirect it sends, must not make the hub speak
	 * FTP, FILE, GOPHER or anything but HTTP(S). */
	curl_easy_setopt(q->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* An https receiver's certificate and host name are verified
	 * (libcurl's defaults, never turned off), against the team's CA file
	 * when it names one. */
	if (q->ca[0] != '\0')
		curl_easy_setopt(q->curl, CURLOPT_CAINFO, q->ca);
	if (curl_multi_add_handle(w->multi, q->curl) != CURLM_OK) {
		webhook_finish(w, q);
		return DHO_EIO;
	}
	return DHO_OK;
}

/*
 * One pass over the teams with pending events: starts the POST of the
 * oldest event of each idle queue that is due. Events of a team that has
 * no webhook any more (the configuration was reloaded) are marked done:
 * they went out on MQTT.
 */
static void
webhook_start_due(struct hub_hooks *w)
{
	int64_t now = mono_ms();
	struct store_outbox ev;
	int rc;

	for (size_t i = 0; i < w->nq; i++)
		w->q[i]->seen = false;
	pthread_mutex_lock(&w->h->lock);
	rc = store_outbox_hook_teams(w->h->st, webhook_mark_team, w);
	pthread_mutex_unlock(&w->h->lock);
	if (rc != DHO_OK) {
		log_error("cannot read the outbox: %s", dho_strerror(rc));
		return;
	}
	for (size_t i = 0; i < w->nq; i++) {
		struct webhook_queue *q = w->q[i];
		const struct cfg_team *t;
		char *body = NULL;
		bool gone = false;

		if (!q->seen || q->curl != NULL || now < q->next_ms)
			continue;
		pthread_mutex_lock(&w->h->lock);
		rc = store_outbox_next_hook(w->h->st, q->team, &ev);
		t = config_team(w->h->cfg, q->team);
		if (rc == DHO_OK && (t == NULL || t->webhook[0] == '\0')) {
			gone = true;
			rc = store_outbox_done(w->h->st, ev.id, STORE_CH_WEBHOOK);
		} else if (rc == DHO_OK) {
			snprintf(q->url, sizeof(q->url), "%s", t->webhook);
			snprintf(q->ca, sizeof(q->ca), "%s", t->webhook_ca);
			q->event = ev.id;
			if ((body = strdup(ev.body)) == NULL)
				rc = DHO_ENOMEM;
		}
		pthread_mutex_unlock(&w->h->lock);
		if (gone) {
			log_info("team %s has no webhook any more: event %lld went out on MQTT only",
			         q->team, (long long)ev.id);
			continue;
		}
		if (rc == DHO_ENOTFOUND)
			continue;
		if (rc != DHO_OK)
			free(body);
		else
			rc = webhook_post(w, q, body);   /* takes body, also on failure */
		if (rc != DHO_OK) {
			log_error("cannot send event %lld to the webhook of %s: %s", (long long)q->event,
			          q->team, dho_strerror(rc));
			q->next_ms = now + 1000;
		}
	}
}

/* What became of a finished POST. */
static void
webhook_done(struct hub_hooks *w, struct webhook_queue *q, CURLcode res)
{
	char url[WEBHOOK_URL_MAX], err[CURL_ERROR_SIZE + 32];
	long status = 0;
	int64_t wait;
	int rc;

	hub_redact_url(q->url, url, sizeof(url));
	if (res == CURLE_OK)
		curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
	webhook_finish(w, q);
	if (res == CURLE_OK && status >= 200 && status <= 299) {
		if (q->attempts > 0)
			log_info("webhook %s delivers again after %d failed attempts", url, q->attempts);
		q->attempts = 0;
		q->rejected = 0;
		q->next_ms = 0;
		pthread_mutex_lock(&w->h->lock);
		rc = store_outbox_done(w->h->st, q->event, STORE_CH_WEBHOOK);
		pthread_mutex_unlock(&w->h->lock);
		if (rc != DHO_OK)
			log_error("cannot mark event %lld delivered to its webhook: %s",
			          (long long)q->event, dho_strerror(rc));
		return;
	}
	if (res != CURLE_OK)
		snprintf(err, sizeof(err), "%s", q->err[0] ? q->err : curl_easy_strerror(res));
	else
		snprintf(err, sizeof(err), "HTTP status %ld", status);
	/* A 4xx says the request itself is refused (not 408 Request Timeout
	 * or 429 Too Many Requests, which ask to come back later). */
	if (res == CURLE_OK && status >= 400 && status <= 499 && status != 408 && status != 429) {
		if (q->rejected_event != q->event)
			q->rejected = 0;
		q->rejected_event = q->event;
		if (++q->rejected >= HOOKS_4XX_ATTEMPTS) {
			log_error("webhook %s refused event %lld of team %s %d times (%s): giving it up; "
			          "it went out on MQTT", url, (long long)q->event, q->team, q->rejected,
			          err);
			q->rejected = 0;
			q->attempts = 0;
			q->next_ms = 0;
			pthread_mutex_lock(&w->h->lock);
			rc = store_outbox_hook_failed(w->h->st, q->event);
			pthread_mutex_unlock(&w->h->lock);
			if (rc != DHO_OK)
				log_error("cannot mark event %lld failed: %s", (long long)q->event,
				          dho_strerror(rc));
			return;
		}
	}
	wait = hub_backoff(q->attempts++);
	q->next_ms = mono_ms() + wait * 1000;
	if (q->attempts == 1 || log_enabled(LOG_DEBUG))
		log_warnx("webhook %s failed: %s; retrying with backoff (next in %llds)", url, err,
		          (long long)wait);
}

/* How long to wait: until the first queue in backoff is due, at most
 * HOOKS_IDLE_MS. */
static int
webhook_sleep_ms(const struct hub_hooks *w)
{
	int64_t now = mono_ms(), ms = HOOKS_IDLE_MS;

	for (size_t i = 0; i < w->nq; i++)
		if (w->q[i]->curl == NULL && w->q[i]->next_ms > now && w->q[i]->next_ms - now < ms)
			ms = w->q[i]->next_ms - now;
	return (int)ms;
}

static void *
webhook_main(void *arg)
{
	struct hub_hooks *w = arg;
	struct CURLMsg *msg;
	int running, left;

	while (!atomic_load(&w->h->stopping)) {
		webhook_start_due(w);
		curl_multi_perform(w->multi, &running);
		while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
			struct webhook_queue *q = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
			if (q != NULL)
				webhook_done(w, q, msg->data.result);
		}
		/* Wakes for network activity, for hub_webhooks_wake() (new
		 * events), or when a queue's backoff has run out. */
		curl_multi_poll(w->multi, NULL, 0, webhook_sleep_ms(w), NULL);
	}
	return NULL;
}

int
hub_webhooks_start(struct hub *h)
{
	struct hub_hooks *w = calloc(1, sizeof(*w));
	int err;

	if (w == NULL) {
		log_error("cannot start the webhook thread: out of memory");
		return DHO_ENOMEM;
	}
	w->h = h;
	if ((w->multi = curl_multi_init()) == NULL) {
		log_error("cannot start libcurl for the webhook thread");
		free(w);
		return DHO_EIO;
	}
	if ((err = pthread_create(&w->thread, NULL, webhook_main, w)) != 0) {
		log_error("cannot start the webhook thread: %s", strerror(err));
		curl_multi_cleanup(w->multi);
		free(w);
		return DHO_EIO;
	}
	h->hooks = w;
	return DHO_OK;
}

void
hub_webhooks_wake(struct hub *h)
{
	/* Safe from any thread, with or without the lock. */
	if (h->hooks != NULL)
		curl_multi_wakeup(h->hooks->multi);
}

void
hub_webhooks_stop(struct hub *h)
{
	struct hub_hooks *w = h->hooks;

	if (w == NULL)
		return;
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	/* Requests in flight are abandoned: their events stay in the outbox
	 * and are sent again by the next run. */
	for (size_t i = 0; i < w->nq; i++) {
		webhook_finish(w, w->q[i]);
		free(w->q[i]);
	}
	curl_multi_cleanup(w->multi);
	free(w->q);
	free(w);
	h->hooks = NULL;
}
