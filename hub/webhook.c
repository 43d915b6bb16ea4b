/*
 * webhook.c: the webhook thread. It POSTs each event whose team has a
 * webhook, in outbox order, and sleeps on hub.hook_wake until the main
 * loop or an ingest signals new events, or a failing URL is due again.
 *
 * It owns its libcurl handle and the list of failing URLs; it touches the
 * store only through hub_event_take() and hub_event_done(), under the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon_int.h"
#include "log.h"
#include "mono.h"

/* The most webhook URLs that can be failing at once; teams are few. */
#define HOOKS_FAILING_MAX 64

/* With nothing signalled, the thread still looks at the outbox this often:
 * events that another process (the CLI) queued while the broker was away
 * reach their webhooks. */
#define HOOKS_IDLE_MS 1000

/* A webhook URL whose last POST failed, and when to try it again. */
struct hook_wait {
	char url[512];
	int attempts;
	int64_t next_ms;    /* mono_ms() */
};

struct hub_hooks {
	struct hub *h;
	pthread_t thread;
	CURL *curl;
	struct hook_wait waits[HOOKS_FAILING_MAX];
	size_t nwaits;
};

static size_t
hook_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* POSTs body to url; DHO_OK on a 2xx answer. */
static int
hook_post(CURL *curl, const char *url, const char *body, char *err, size_t errlen)
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
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hook_discard);
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

static struct hook_wait *
hook_find(struct hub_hooks *k, const char *url)
{
	for (size_t i = 0; i < k->nwaits; i++)
		if (strcmp(k->waits[i].url, url) == 0)
			return &k->waits[i];
	return NULL;
}

/*
 * One pass over the undelivered events, oldest first. A failing receiver
 * holds back the later events for the same URL (so the order per alert is
 * kept at each receiver) and is retried with backoff; neither the other
 * teams' webhooks nor MQTT delivery wait for it.
 */
static void
hook_pass(struct hub_hooks *k)
{
	struct hub *h = k->h;
	struct hub_event ev;
	char err[CURL_ERROR_SIZE + 32];
	int64_t after = 0;
	int rc;

	while (!atomic_load(&h->stopping)) {
		struct hook_wait *w;
		int64_t wait;

		rc = hub_event_take(h, STORE_CH_WEBHOOK, after, &ev);
		if (rc != DHO_OK) {
			if (rc != DHO_ENOTFOUND)
				log_error("cannot read the outbox: %s", dho_strerror(rc));
			return;
		}
		after = ev.id;
		w = hook_find(k, ev.webhook);
		if (w && mono_ms() < w->next_ms) {
			hub_event_free(&ev);
			continue;
		}
		rc = hook_post(k->curl, ev.webhook, ev.body, err, sizeof(err));
		hub_event_free(&ev);
		if (rc != DHO_OK) {
			if (w == NULL && k->nwaits == HOOKS_FAILING_MAX) {
				/* No room to track it: hold everything back
				 * rather than lose the order. */
				log_warnx("webhook %s failed: %s; more than %d webhooks failing",
				          ev.webhook, err, HOOKS_FAILING_MAX);
				return;
			}
			if (w == NULL) {
				w = &k->waits[k->nwaits++];
				memset(w, 0, sizeof(*w));
				snprintf(w->url, sizeof(w->url), "%s", ev.webhook);
			}
			wait = hub_backoff(w->attempts++);
			w->next_ms = mono_ms() + wait * 1000;
			if (w->attempts == 1 || log_enabled(LOG_DEBUG))
				log_warnx("webhook %s failed: %s; retrying with backoff (next in %llds)",
				          ev.webhook, err, (long long)wait);
			continue;
		}
		if (w) {
			log_info("webhook %s delivers again after %d failed attempts", ev.webhook,
			         w->attempts);
			*w = k->waits[--k->nwaits];
		}
		if ((rc = hub_event_done(h, ev.id, STORE_CH_WEBHOOK)) != DHO_OK)
			log_error("cannot mark event %lld delivered to its webhook: %s",
			          (long long)ev.id, dho_strerror(rc));
	}
}

/* How long to sleep: until the first failing URL is due, at most
 * HOOKS_IDLE_MS. */
static int64_t
hook_sleep_ms(const struct hub_hooks *k)
{
	int64_t now = mono_ms(), ms = HOOKS_IDLE_MS;

	for (size_t i = 0; i < k->nwaits; i++)
		if (k->waits[i].next_ms - now < ms)
			ms = k->waits[i].next_ms - now;
	return ms > 0 ? ms : 0;
}

static void *
hook_main(void *arg)
{
	struct hub_hooks *k = arg;
	struct hub *h = k->h;
	struct timespec until;

	while (!atomic_load(&h->stopping)) {
		hook_pass(k);
		mono_deadline(hook_sleep_ms(k), &until);
		pthread_mutex_lock(&h->lock);
		while (!h->hook_work && !atomic_load(&h->stopping))
			if (pthread_cond_timedwait(&h->hook_wake, &h->lock, &until) != 0)
				break;
		h->hook_work = false;
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

int
hub_webhooks_start(struct hub *h)
{
	struct hub_hooks *k = calloc(1, sizeof(*k));
	int err;

	if (k == NULL) {
		log_error("cannot start the webhook thread: out of memory");
		return DHO_ENOMEM;
	}
	k->h = h;
	if ((k->curl = curl_easy_init()) == NULL) {
		log_error("cannot start libcurl for the webhook thread");
		free(k);
		return DHO_EIO;
	}
	if ((err = pthread_create(&k->thread, NULL, hook_main, k)) != 0) {
		log_error("cannot start the webhook thread: %s", strerror(err));
		curl_easy_cleanup(k->curl);
		free(k);
		return DHO_EIO;
	}
	h->hooks = k;
	return DHO_OK;
}

void
hub_webhooks_wake(struct hub *h)
{
	h->hook_work = true;
	pthread_cond_signal(&h->hook_wake);
}

void
hub_webhooks_stop(struct hub *h)
{
	struct hub_hooks *k = h->hooks;

	if (k == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	pthread_cond_signal(&h->hook_wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(k->thread, NULL);
	curl_easy_cleanup(k->curl);
	free(k);
	h->hooks = NULL;
}
