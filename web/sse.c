/*
 * sse.c: GET /api/v1/events, the workspace's live alert events as
 * Server-Sent Events.
 *
 * Every alert event the hub makes is a row of the outbox, whose id only
 * grows: it is the stream's event id. One poller thread, on a store
 * connection of its own, asks SQLite every 100 ms whether another
 * connection committed (PRAGMA data_version, which costs no I/O); only
 * then does it read the outbox rows after the last it saw, and puts them
 * in a ring that every stream reads. So `run` or the CLI making an event
 * reaches each stream within a few hundred milliseconds, and an idle hub
 * costs one pragma per tick, whatever the number of streams.
 *
 * A stream that resumes (Last-Event-ID) from before what the ring holds
 * reads the gap from the store itself, a page at a time.
 *
 * Locking: lock guards every field of struct sse below it; the streams
 * wait on cond, which the poller broadcasts after each batch and sse_stop()
 * at the end.
 */
/* POLLRDHUP: Linux tells a peer's hang-up without a read. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mono.h"
#include "timefmt.h"
#include "web_int.h"

#define SSE_RING 1024
#define SSE_TICK_MS 100
#define SSE_KEEPALIVE_S 10      /* a comment line at least this often */
#define SSE_BATCH 256
#define SSE_DATA_MAX 256

struct sse_event {
	int64_t id;                 /* the outbox row */
	char team[DHO_TEAM_MAX + 1];
	int64_t alert;
	int64_t version;
	char data[SSE_DATA_MAX];    /* the data: line's JSON */
};

struct sse {
	struct web *w;
	struct store *st;           /* the poller's own connection */
	pthread_t poller;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	int streams;                /* open streams */
	struct sse_event ring[SSE_RING];
	size_t head;                /* the next slot to write */
	size_t count;
	int64_t floor;              /* the ring holds every event after this id */
	int64_t last;               /* the newest id read */
};

struct sse_client {
	struct sse *s;
	char teams[STORE_TEAMS_MAX][DHO_TEAM_MAX + 1];
	size_t nteams;
	int64_t last;               /* the last event id this stream passed */
	int64_t sent_alert, sent_version;
	time_t last_write;
	int fd;                     /* the connection's socket, to notice a hang-up */
	char *pending;              /* formatted, not yet written */
	size_t plen, poff;
};

/* Turns an outbox body into the stream's short document. */
static int
sse_event_from(int64_t id, const char *team, const char *body, struct sse_event *ev)
{
	json_t *doc = json_loads(body, 0, NULL), *o;
	const char *aid;
	char *text;
	int64_t alert = 0;

	if (doc == NULL)
		return DHO_EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->id = id;
	snprintf(ev->team, sizeof(ev->team), "%s", team ? team : "");
	aid = json_string_value(json_object_get(doc, "id"));
	if (aid != NULL && alert_parse_id(aid, &alert) == DHO_OK)
		ev->alert = alert;
	ev->version = json_integer_value(json_object_get(doc, "version"));
	o = json_object();
	json_object_set(o, "id", json_object_get(doc, "id"));
	json_object_set(o, "event", json_object_get(doc, "event"));
	json_object_set(o, "severity", json_object_get(doc, "severity"));
	json_object_set(o, "state", json_object_get(doc, "state"));
	json_object_set(o, "version", json_object_get(doc, "version"));
	json_object_set(o, "team", json_object_get(doc, "team"));
	json_decref(doc);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL || strlen(text) >= sizeof(ev->data)) {
		free(text);
		return DHO_EINVAL;
	}
	memcpy(ev->data, text, strlen(text) + 1);
	free(text);
	return DHO_OK;
}

/* Called with lock held, from the poller's batch. */
static int
sse_ring_add(void *ctx, int64_t id, const char *team, const char *body)
{
	struct sse *s = ctx;
	struct sse_event *slot = &s->ring[s->head];

	if (s->count == SSE_RING)
		s->floor = slot->id;          /* the oldest is overwritten */
	if (sse_event_from(id, team, body, slot) != DHO_OK) {
		/* A body that does not parse still moves the stream on. */
		memset(slot, 0, sizeof(*slot));
		slot->id = id;
	}
	s->head = (s->head + 1) % SSE_RING;
	if (s->count < SSE_RING)
		s->count++;
	s->last = id;
	return 0;
}

static void *
sse_poll(void *arg)
{
	struct sse *s = arg;
	int64_t seen = -1, dv = 0, newest = 0;
	struct timespec ts;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->lock);
		/* The store is read outside the lock; only the poller uses s->st. */
		if (store_data_version(s->st, &dv) == DHO_OK && dv != seen &&
		    store_outbox_last(s->st, &newest) == DHO_OK) {
			seen = dv;
			pthread_mutex_lock(&s->lock);
			while (newest > s->last && !s->stopping) {
				int64_t before = s->last;

				/* The batch is small and the callback only copies, so
				 * the streams wait at most one page's read. */
				if (store_outbox_since(s->st, s->last, SSE_BATCH, sse_ring_add, s) != DHO_OK ||
				    s->last == before)
					break;
			}
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_lock(&s->lock);
		mono_deadline(SSE_TICK_MS, &ts);
		while (!s->stopping && pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int
sse_new(struct web *w, struct sse **out)
{
	struct sse *s = calloc(1, sizeof(*s));
	char err[DHO_ERRLEN];

	*out = NULL;
	if (s == NULL)
		return DHO_ENOMEM;
	s->w = w;
	pthread_mutex_init(&s->lock, NULL);
	mono_cond_init(&s->cond);
	if (store_open(w->db_path, false, &s->st, err, sizeof(err)) != DHO_OK ||
	    store_outbox_last(s->st, &s->last) != DHO_OK) {
		log_error("web: event streams: %s", err);
		sse_free(s);
		return DHO_EIO;
	}
	s->floor = s->last;
	if (pthread_create(&s->poller, NULL, sse_poll, s) != 0) {
		sse_free(s);
		return DHO_EIO;
	}
	s->started = true;
	*out = s;
	return DHO_OK;
}

void
sse_stop(struct sse *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->started) {
		pthread_join(s->poller, NULL);
		s->started = false;
	}
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	sse_stop(s);
	store_close(s->st);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static bool
sse_wants(const struct sse_client *c, const struct sse_event *ev)
{
	if (ev->data[0] == '\0')
		return false;
	/* An escalation reaches a nurse of both teams once. */
	if (ev->alert == c->sent_alert && ev->version == c->sent_version)
		return false;
	for (size_t i = 0; i < c->nteams; i++)
		if (strcmp(c->teams[i], ev->team) == 0)
			return true;
	return false;
}

/* Appends one event to c's pending text. */
static int
sse_format(struct sse_client *c, const struct sse_event *ev)
{
	char buf[SSE_DATA_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "event: alert\nid: %" PRId64 "\ndata: %s\n\n", ev->id,
	                 ev->data);
	char *grown;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return DHO_EINVAL;
	grown = realloc(c->pending, c->plen + (size_t)n);
	if (grown == NULL)
		return DHO_ENOMEM;
	c->pending = grown;
	memcpy(c->pending + c->plen, buf, (size_t)n);
	c->plen += (size_t)n;
	c->sent_alert = ev->alert;
	c->sent_version = ev->version;
	return DHO_OK;
}

struct sse_gap {
	struct sse_client *c;
	int64_t last;
};

static int
sse_gap_row(void *ctx, int64_t id, const char *team, const char *body)
{
	struct sse_gap *g = ctx;
	struct sse_event ev;

	g->last = id;
	if (sse_event_from(id, team, body, &ev) == DHO_OK && sse_wants(g->c, &ev))
		sse_format(g->c, &ev);
	return 0;
}

/* Reads one page of events after c->last from the store (a stream that
 * resumed from before the ring). Called without the lock. */
static void
sse_catch_up(struct sse_client *c)
{
	struct web_req r;
	struct sse_gap g = { c, c->last };

	memset(&r, 0, sizeof(r));
	r.w = c->s->w;
	r.slot = -1;
	if (web_borrow(&r) != DHO_OK)
		return;
	if (store_outbox_since(r.st, c->last, SSE_BATCH, sse_gap_row, &g) == DHO_OK)
		c->last = g.last;
	web_give_back(&r);
}

/* Copies pending text into buf; the rest waits for the next call. */
static ssize_t
sse_drain(struct sse_client *c, char *buf, size_t max)
{
	size_t n = c->plen - c->poff;

	if (n > max)
		n = max;
	memcpy(buf, c->pending + c->poff, n);
	c->poff += n;
	if (c->poff == c->plen) {
		free(c->pending);
		c->pending = NULL;
		c->plen = c->poff = 0;
	}
	c->last_write = time(NULL);
	return (ssize_t)n;
}

/* Whether the client hung up. A quiet stream writes only every
 * SSE_KEEPALIVE_S seconds, and only a write would tell libmicrohttpd; a
 * look at the socket frees the stream's place under the cap sooner. */
static bool
sse_gone(const struct sse_client *c)
{
	struct pollfd p = { c->fd, POLLRDHUP, 0 };

	return c->fd >= 0 && poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/*
 * libmicrohttpd's content reader, on the connection's own thread: it may
 * block. It returns what is pending, else waits (a second at a time) for
 * the poller, and writes a comment when the stream has been quiet for
 * SSE_KEEPALIVE_S seconds.
 */
static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_client *c = cls;
	struct sse *s = c->s;
	struct timespec ts;
	int64_t floor = 0, before;
	bool gap;

	(void)pos;
	for (;;) {
		if (c->plen > c->poff)
			return sse_drain(c, buf, max);
		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		gap = c->last < s->floor;
		floor = s->floor;
		if (!gap) {
			/* The ring's events after c->last, oldest first. */
			for (size_t k = s->count; k > 0; k--) {
				const struct sse_event *ev = &s->ring[(s->head + SSE_RING - k) % SSE_RING];

				if (ev->id <= c->last)
					continue;
				c->last = ev->id;
				if (sse_wants(c, ev) && sse_format(c, ev) != DHO_OK)
					break;
			}
		}
		if (!gap && c->plen == 0) {
			if (time(NULL) - c->last_write >= SSE_KEEPALIVE_S) {
				pthread_mutex_unlock(&s->lock);
				c->last_write = time(NULL);
				snprintf(buf, max, ": keep-alive\n\n");
				return (ssize_t)strlen(buf);
			}
			mono_deadline(1000, &ts);
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
		pthread_mutex_unlock(&s->lock);
		if (sse_gone(c))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (gap) {
			before = c->last;
			sse_catch_up(c);
			/* Nothing in the store after c->last (deleted by retention,
			 * or the store failed): go on from the ring. */
			if (c->last == before)
				c->last = floor;
		}
	}
}

static void
sse_client_free(void *cls)
{
	struct sse_client *c = cls;

	pthread_mutex_lock(&c->s->lock);
	c->s->streams--;
	pthread_mutex_unlock(&c->s->lock);
	free(c->pending);
	free(c);
}

void
sse_handle(struct web_req *r)
{
	struct sse *s = r->w->sse;
	const char *lei = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Last-Event-ID");
	struct sse_client *c;
	struct MHD_Response *resp;
	char *end;
	long long v;
	bool full;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
		return;
	}
	c->s = s;
	for (size_t i = 0; i < r->user.nteams; i++)
		snprintf(c->teams[i], sizeof(c->teams[i]), "%s", r->user.teams[i]);
	c->nteams = r->user.nteams;
	c->sent_alert = -1;
	c->last_write = time(NULL);
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CONNECTION_FD);

		c->fd = ci ? ci->connect_fd : -1;
	}
	pthread_mutex_lock(&s->lock);
	full = s->streams >= WEB_STREAMS_MAX || s->stopping;
	if (!full)
		s->streams++;
	c->last = s->last;
	pthread_mutex_unlock(&s->lock);
	if (full) {
		free(c);
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "too many open event streams; try again");
		return;
	}
	/* Resume after the last event the browser saw; an id from the future
	 * or not a number starts from now. */
	if (lei != NULL && lei[0] >= '0' && lei[0] <= '9') {
		v = strtoll(lei, &end, 10);
		if (*end == '\0' && v >= 0 && v < c->last)
			c->last = v;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_client_free);
	if (resp == NULL) {
		sse_client_free(c);
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
		return;
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	web_headers(r->w, resp, false);
	MHD_queue_response(r->c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->queued = true;
	/* The first write goes out at once, so the client knows it is
	 * subscribed before any event. */
	c->pending = strdup(": subscribed\nretry: 2000\n\n");
	c->plen = c->pending ? strlen(c->pending) : 0;
}
