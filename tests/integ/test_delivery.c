/*
 * test_delivery.c: the delivery guarantees of alert events
 * (docs/operations.md, docs/architecture.md) on the real parts: a real
 * Mosquitto, the real dhohub binary, and a real HTTP webhook receiver
 * (libmicrohttpd) in this process. Every event must reach its team's topic
 * and its team's webhook, in order per alert and none lost, through a
 * webhook outage, a hanging receiver, a broker restart and a kill -9 of the
 * hub; nurse actions from the CLI must be published within a second; acks
 * over MQTT are handled or quarantined with a reason; listings and actions
 * are in the audit log with the right actor.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "harness.h"

#define HOOK_TEAM "home-nursing/hook"
#define HOOK_TOPIC "dho/v1/alerts/" HOOK_TEAM " "
#define HOOK2_TEAM "hospital-dho/hook"
#define RX_BODY_MAX 65536
#define RX_POSTS_MAX 512

/* ---- the webhook receiver ---- */

enum rx_mode { RX_OK, RX_FAIL };

struct rx_post {
	double at;          /* mono_now() when the whole body had arrived */
	int status;         /* the answer: 200, 503, or 0 for a request held unanswered */
	char method[16];
	char path[64];
	char ctype[64];
	char *body;
};

struct rx {
	int port;
	struct MHD_Daemon *d;       /* started and stopped by the test thread only */
	/* lock guards every field below it; the handler threads take it. */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a new post, or stopping */
	enum rx_mode mode;
	int hold_next;              /* requests still to hold without an answer */
	int hold_s;                 /* for how long */
	bool stopping;
	struct rx_post posts[RX_POSTS_MAX];
	size_t n;
};

/* One request's body as it arrives. */
struct rx_req {
	char *buf;
	size_t len;
	bool too_big;
};

/* Records a complete request and decides its answer; holds it first when
 * the test asked for an unanswered request. */
static int
rx_record(struct rx *rx, struct MHD_Connection *c, const char *url, const char *method,
          const struct rx_req *req)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	struct rx_post *p;
	struct timespec until;
	int status;

	pthread_mutex_lock(&rx->lock);
	status = rx->hold_next > 0 ? 0 : rx->mode == RX_OK ? 200 : 503;
	if (strcmp(method, "POST") != 0)
		status = 405;
	if (rx->n < RX_POSTS_MAX) {
		p = &rx->posts[rx->n++];
		p->at = mono_now();
		p->status = status;
		snprintf(p->method, sizeof(p->method), "%s", method);
		snprintf(p->path, sizeof(p->path), "%s", url);
		snprintf(p->ctype, sizeof(p->ctype), "%s", ct ? ct : "");
		p->body = strndup(req->buf ? req->buf : "", req->too_big ? 0 : req->len);
	}
	pthread_cond_broadcast(&rx->cond);
	if (status == 0) {
		rx->hold_next--;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += rx->hold_s;
		while (!rx->stopping &&
		       pthread_cond_timedwait(&rx->cond, &rx->lock, &until) == 0)
			;
		status = 503;
	}
	pthread_mutex_unlock(&rx->lock);
	return status;
}

static enum MHD_Result
rx_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *data, size_t *size, void **con_cls)
{
	struct rx *rx = cls;
	struct rx_req *req = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status;

	(void)version;
	if (req == NULL) {
		if ((req = calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*size > 0) {
		if (req->too_big || req->len + *size > RX_BODY_MAX) {
			req->too_big = true;
		} else {
			char *nb = realloc(req->buf, req->len + *size + 1);

			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + req->len, data, *size);
			req->buf = nb;
			req->len += *size;
			req->buf[req->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	status = rx_record(rx, c, url, method, req);
	resp = MHD_create_response_from_buffer(status == 200 ? 2 : 4, status == 200 ? "ok" : "busy",
	                                       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
rx_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct rx_req *req = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (req) {
		free(req->buf);
		free(req);
		*con_cls = NULL;
	}
}

/* Listens on 127.0.0.1:rx->port, retrying while the port is still taken. */
static void
rx_start(struct rx *rx)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)rx->port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_null(rx->d);
	for (int i = 0; i < 100 && rx->d == NULL; i++) {
		rx->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
		                         (uint16_t)rx->port, NULL, NULL, rx_handle, rx,
		                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		                         MHD_OPTION_NOTIFY_COMPLETED, rx_done, rx, MHD_OPTION_END);
		if (rx->d == NULL)
			usleep(100 * 1000);
	}
	assert_non_null(rx->d);
}

/* Closes the port and every connection: the receiver is down. */
static void
rx_stop(struct rx *rx)
{
	if (rx->d == NULL)
		return;
	pthread_mutex_lock(&rx->lock);
	rx->stopping = true;
	pthread_cond_broadcast(&rx->cond);
	pthread_mutex_unlock(&rx->lock);
	MHD_stop_daemon(rx->d);
	rx->d = NULL;
	pthread_mutex_lock(&rx->lock);
	rx->stopping = false;
	pthread_mutex_unlock(&rx->lock);
}

static struct rx *
rx_new(void)
{
	struct rx *rx = calloc(1, sizeof(*rx));

	assert_non_null(rx);
	pthread_mutex_init(&rx->lock, NULL);
	pthread_cond_init(&rx->cond, NULL);
	rx->port = free_port();
	rx_start(rx);
	return rx;
}

static void
rx_free(struct rx *rx)
{
	if (rx == NULL)
		return;
	rx_stop(rx);
	for (size_t i = 0; i < rx->n; i++)
		free(rx->posts[i].body);
	pthread_cond_destroy(&rx->cond);
	pthread_mutex_destroy(&rx->lock);
	free(rx);
}

static void
rx_set_mode(struct rx *rx, enum rx_mode mode)
{
	pthread_mutex_lock(&rx->lock);
	rx->mode = mode;
	pthread_mutex_unlock(&rx->lock);
}

static void
rx_hold(struct rx *rx, int count, int secs)
{
	pthread_mutex_lock(&rx->lock);
	rx->hold_next = count;
	rx->hold_s = secs;
	pthread_mutex_unlock(&rx->lock);
}

/* Requests answered with status (any status for -1). */
static int
rx_count(struct rx *rx, int status)
{
	int n = 0;

	pthread_mutex_lock(&rx->lock);
	for (size_t i = 0; i < rx->n; i++)
		if (status < 0 || rx->posts[i].status == status)
			n++;
	pthread_mutex_unlock(&rx->lock);
	return n;
}

static int
rx_wait(struct rx *rx, int status, int want, double secs)
{
	double end = mono_now() + secs;
	int n;

	while ((n = rx_count(rx, status)) < want && mono_now() < end)
		usleep(20 * 1000);
	return n;
}

/* Arrival time of the i-th request answered with status; -1 if none. */
static double
rx_time(struct rx *rx, int status, int i)
{
	double t = -1;

	pthread_mutex_lock(&rx->lock);
	for (size_t k = 0; k < rx->n; k++)
		if (rx->posts[k].status == status && i-- == 0) {
			t = rx->posts[k].at;
			break;
		}
	pthread_mutex_unlock(&rx->lock);
	return t;
}

/* ---- events as a receiver saw them ---- */

struct ev {
	char id[16];
	char event[16];
	char by[64];
	char note[128];
};

/* Distinct events in arrival order; an exact copy of an earlier body is an
 * at-least-once redelivery and is counted, not listed. */
struct evs {
	struct ev v[256];
	char *bodies[256];
	size_t n;
	int dups;
};

static void
evs_add(struct evs *l, const char *body)
{
	json_error_t err;
	json_t *doc;
	struct ev *v;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->bodies[i], body) == 0) {
			l->dups++;
			return;
		}
	doc = json_loads(body, 0, &err);
	if (doc == NULL)
		fail_msg("an event that is not JSON: %s: %s", err.text, body);
	assert_true(l->n < 256);
	v = &l->v[l->n];
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", json_string_value(json_object_get(doc, "id")));
	snprintf(v->event, sizeof(v->event), "%s", json_string_value(json_object_get(doc, "event")));
	if (json_is_string(json_object_get(doc, "by")))
		snprintf(v->by, sizeof(v->by), "%s", json_string_value(json_object_get(doc, "by")));
	if (json_is_string(json_object_get(doc, "note")))
		snprintf(v->note, sizeof(v->note), "%s", json_string_value(json_object_get(doc, "note")));
	/* Every event says when it happened, in RFC 3339 UTC. */
	{
		time_t at;

		parse_utc(jstr(doc, "at"), &at);
	}
	json_decref(doc);
	l->bodies[l->n] = strdup(body);
	assert_non_null(l->bodies[l->n]);
	l->n++;
}

static void
evs_free(struct evs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->bodies[i]);
	free(l);
}

/* The events the webhook accepted (answered 200), in arrival order. */
static struct evs *
evs_webhook(struct rx *rx)
{
	struct evs *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	pthread_mutex_lock(&rx->lock);
	for (size_t i = 0; i < rx->n; i++) {
		assert_string_equal(rx->posts[i].method, "POST");
		assert_string_equal(rx->posts[i].path, "/alerts");
		assert_non_null(strstr(rx->posts[i].ctype, "application/json"));
		if (rx->posts[i].status == 200)
			evs_add(l, rx->posts[i].body);
	}
	pthread_mutex_unlock(&rx->lock);
	return l;
}

/* The events on the hook team's topic, in arrival order. */
static struct evs *
evs_feed(struct env *e)
{
	struct evs *l = calloc(1, sizeof(*l));
	FILE *f = fopen(e->alerts, "r");
	char line[8192];
	size_t plen = strlen(HOOK_TOPIC);

	assert_non_null(l);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, HOOK_TOPIC, plen) == 0)
			evs_add(l, line + plen);
	}
	fclose(f);
	return l;
}

/* Asserts the events of alert id, in order, as a space-separated list. */
static void
evs_expect(const struct evs *l, const char *id, const char *want)
{
	char got[512] = "";

	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].id, id) != 0)
			continue;
		if (got[0])
			strncat(got, " ", sizeof(got) - strlen(got) - 1);
		strncat(got, l->v[i].event, sizeof(got) - strlen(got) - 1);
	}
	if (strcmp(got, want) != 0)
		fail_msg("alert %s: events \"%s\", expected \"%s\"", id, got, want);
}

static const struct ev *
evs_find(const struct evs *l, const char *id, const char *event)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0 && strcmp(l->v[i].event, event) == 0)
			return &l->v[i];
	return NULL;
}

/* ---- fixtures and small helpers ---- */

struct fixture {
	struct env *e;
	struct rx *rx;      /* HOOK_TEAM's webhook */
	struct rx *rx2;     /* HOOK2_TEAM's webhook */
	char hub_log[160];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tail[512];

	assert_non_null(f);
	f->rx = rx_new();
	f->rx2 = rx_new();
	snprintf(tail, sizeof(tail),
	         "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n\n"
	         "[team:" HOOK_TEAM "]\nwebhook = http://127.0.0.1:%d/alerts\n\n"
	         "[team:" HOOK2_TEAM "]\nwebhook = http://127.0.0.1:%d/alerts\n",
	         f->rx->port, f->rx2->port);
	f->e = env_new(tail);
	snprintf(f->hub_log, sizeof(f->hub_log), "%s/hub.log", f->e->dir);
	*state = f;
	return 0;
}

/* env_free() checks the hub's exit and the sanitizer reports. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	env_free(f->e);
	rx_free(f->rx);
	rx_free(f->rx2);
	free(f);
	return 0;
}

/* Enrolls patient with device in the home phase, pinned to the hook team. */
static void
enroll_hook(struct env *e, const char *patient, const char *device)
{
	enroll(e, patient, device, 30, "--team " HOOK_TEAM);
}

static void
spo2(struct env *e, const char *device, int seq, int value)
{
	char topic[128], doc[128];

	snprintf(topic, sizeof(topic), "dho/v1/vefsn/dev/%s/reading", device);
	snprintf(doc, sizeof(doc), "{\"seq\": %d, \"metric\": \"spo2\", \"value\": %d}", seq, value);
	pub(e, topic, doc);
}

static void
cli_ok(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cli_ok(struct env *e, const char *fmt, ...)
{
	char args[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (cli(e, NULL, args) != 0)
		fail_msg("dhohub %s failed", args);
}

/* Waits until the feed shows event of alert id; returns the monotonic time
 * it was seen (polled every 2 ms), or -1 after secs. */
static double
feed_wait_event(struct env *e, const char *id, const char *event, double secs)
{
	char a[48], b[48];
	double end = mono_now() + secs;

	snprintf(a, sizeof(a), "\"id\":\"%s\"", id);
	snprintf(b, sizeof(b), "\"event\":\"%s\"", event);
	do {
		if (alert_lines(e, a, b) > 0)
			return mono_now();
		usleep(2000);
	} while (mono_now() < end);
	return -1;
}

static void
sleep_until(double t)
{
	double now = mono_now();

	if (t > now)
		usleep((useconds_t)((t - now) * 1e6));
}

static json_int_t
wait_pending(struct env *e, json_int_t want, int secs)
{
	json_int_t v = -1;

	for (int i = 0; i < secs * 10; i++) {
		if ((v = stat_int(e, "outbox_pending")) == want)
			return v;
		usleep(100 * 1000);
	}
	return v;
}

/* ---- (3) delivery ---- */

/*
 * The webhook answers 503, then its port closes, for about 13 s: four
 * backoff steps. MQTT delivery goes on meanwhile, the operator sees the
 * failure in the log and in outbox_pending, and once the receiver is back
 * every event arrives, none lost, in order per alert.
 */
static void
test_webhook_outage(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct evs *hook, *feed;
	char a1[16], a2[16], a3[16], line[160];
	double t0, back, gaps[3];

	enroll_hook(e, "P1", "oxy-1");
	enroll_hook(e, "P2", "oxy-2");
	enroll_hook(e, "P3", "oxy-3");
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	assert_int_equal(rx_wait(f->rx, 200, 1, 10), 1);
	alert_id(e, "P1", a1, sizeof(a1));

	/* Down: 503 first. */
	rx_set_mode(f->rx, RX_FAIL);
	spo2(e, "oxy-1", 2, 85);                                   /* A1 raised */
	assert_true(rx_wait(f->rx, 503, 1, 10) >= 1);
	t0 = rx_time(f->rx, 503, 0);
	spo2(e, "oxy-2", 1, 90);                                   /* A2 opened */
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"P2\"", 1, 10), 1);
	alert_id(e, "P2", a2, sizeof(a2));
	cli_ok(e, "ack %s --by nurse.kari --note 'called patient'", a1);
	spo2(e, "oxy-2", 2, 85);                                   /* A2 raised */
	spo2(e, "oxy-3", 1, 91);                                   /* A3 opened */
	spo2(e, "oxy-1", 3, 95);
	spo2(e, "oxy-1", 4, 96);                                   /* A1 cleared, resolved */
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"P3\"", 1, 10), 1);
	alert_id(e, "P3", a3, sizeof(a3));
	cli_ok(e, "resolve %s --by nurse.ola --note 'seen at home'", a2);
	/* MQTT is not held back by the webhook: all nine events are out. */
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, NULL, 9, 10), 9);
	/* What the operator sees: eight events waiting, and the log says why. */
	assert_int_equal(wait_pending(e, 8, 5), 8);
	snprintf(line, sizeof(line), "webhook http://127.0.0.1:%d/alerts failed: HTTP status 503",
	         f->rx->port);
	assert_true(file_lines(f->hub_log, line, "retrying") >= 1);

	/* Down harder: the port closes (connection refused). */
	sleep_until(t0 + 8.5);
	rx_stop(f->rx);
	sleep_until(t0 + 13);
	assert_int_equal(stat_int(e, "outbox_pending"), 8);
	rx_set_mode(f->rx, RX_OK);
	rx_start(f->rx);
	back = mono_now();

	/* Back: the next retry (backoff 16 s at most here) delivers them all. */
	assert_int_equal(rx_wait(f->rx, 200, 9, 25), 9);
	assert_int_equal(wait_pending(e, 0, 5), 0);
	assert_true(rx_time(f->rx, 200, 1) - back < 16.5);
	/* The retries while it answered 503 came at growing intervals. */
	assert_true(rx_count(f->rx, 503) >= 4);
	for (int i = 0; i < 3; i++)
		gaps[i] = rx_time(f->rx, 503, i + 1) - rx_time(f->rx, 503, i);
	print_message("webhook retry intervals while down: %.2f s, %.2f s, %.2f s; "
	              "delivered %.2f s after the receiver came back\n", gaps[0], gaps[1], gaps[2],
	              rx_time(f->rx, 200, 1) - back);
	assert_true(gaps[0] >= 0.8);
	assert_true(gaps[1] >= gaps[0] * 1.5);
	assert_true(gaps[2] >= gaps[1] * 1.5);
	assert_true(file_lines(f->hub_log, "delivers again", NULL) >= 1);

	hook = evs_webhook(f->rx);
	feed = evs_feed(e);
	assert_int_equal(hook->n, 9);
	assert_int_equal(feed->n, 9);
	evs_expect(hook, a1, "opened raised acked cleared resolved");
	evs_expect(hook, a2, "opened raised resolved");
	evs_expect(hook, a3, "opened");
	evs_expect(feed, a1, "opened raised acked cleared resolved");
	evs_expect(feed, a2, "opened raised resolved");
	evs_expect(feed, a3, "opened");
	assert_string_equal(evs_find(hook, a1, "acked")->by, "nurse.kari");
	assert_string_equal(evs_find(hook, a1, "resolved")->by, "auto");
	assert_string_equal(evs_find(hook, a2, "resolved")->note, "seen at home");
	evs_free(hook);
	evs_free(feed);
}

/*
 * A receiver that accepts the connection and never answers: the hub gives
 * up on the request (curl timeout), retries, and meanwhile MQTT delivery
 * goes on; the events arrive in order.
 */
static void
test_webhook_timeout(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct evs *hook;
	char a1[16];
	double held, took;

	enroll_hook(e, "P1", "oxy-1");
	hub_start(e);
	rx_hold(f->rx, 1, 20);
	spo2(e, "oxy-1", 1, 90);
	spo2(e, "oxy-1", 2, 85);
	assert_int_equal(rx_wait(f->rx, 0, 1, 10), 1);
	held = rx_time(f->rx, 0, 0);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"raised\"", 1, 5), 1);
	alert_id(e, "P1", a1, sizeof(a1));
	assert_int_equal(rx_wait(f->rx, 200, 2, 25), 2);
	took = rx_time(f->rx, 200, 0) - held;
	print_message("an unanswered webhook request was retried after %.2f s\n", took);
	assert_true(took > 9.0 && took < 15.0);
	assert_true(file_lines(f->hub_log, "webhook", "failed") >= 1);
	hook = evs_webhook(f->rx);
	evs_expect(hook, a1, "opened raised");
	evs_free(hook);
	assert_int_equal(wait_pending(e, 0, 5), 0);
}

/*
 * One team's receiver is down: another team's webhook still gets its
 * events at once, and the first team's arrive when its receiver is back.
 */
static void
test_webhook_down_other_team_unaffected(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	char line[160];
	double t;

	enroll_hook(e, "P1", "oxy-1");
	enroll(e, "P2", "oxy-2", 30, "--team " HOOK2_TEAM);
	rx_stop(f->rx);
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	snprintf(line, sizeof(line), "webhook http://127.0.0.1:%d/alerts failed", f->rx->port);
	for (int i = 0; i < 50 && file_lines(f->hub_log, line, NULL) == 0; i++)
		usleep(100 * 1000);
	assert_true(file_lines(f->hub_log, line, NULL) >= 1);
	spo2(e, "oxy-2", 1, 90);
	t = mono_now();
	assert_int_equal(rx_wait(f->rx2, 200, 1, 3), 1);
	print_message("the other team's webhook got its event %.2f s after the reading\n",
	              rx_time(f->rx2, 200, 0) - t);
	assert_int_equal(stat_int(e, "outbox_pending"), 1);
	rx_start(f->rx);
	assert_int_equal(rx_wait(f->rx, 200, 1, 20), 1);
	assert_int_equal(wait_pending(e, 0, 5), 0);
	assert_int_equal(rx_count(f->rx2, -1), 1);
}

/*
 * The broker restarts (SIGTERM, persistence on) while events are pending
 * for MQTT: they are published once the hub has reconnected, in order,
 * and the webhook never waited for the broker.
 */
static void
test_broker_restart(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct evs *hook, *feed;
	char a1[16], a2[16];

	broker_persistent(e);
	enroll_hook(e, "P1", "oxy-1");
	enroll_hook(e, "P2", "oxy-2");
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"opened\"", 1, 10), 1);
	alert_id(e, "P1", a1, sizeof(a1));

	stop(&e->broker, SIGTERM);
	cli_ok(e, "ack %s --by nurse.kari", a1);
	cli_ok(e, "resolve %s --by nurse.kari --note done", a1);
	/* The webhook gets them with the broker down. */
	assert_int_equal(rx_wait(f->rx, 200, 3, 10), 3);
	assert_int_equal(wait_pending(e, 2, 5), 2);
	sleep(2);
	broker_start(e);
	assert_true(feed_wait_event(e, a1, "resolved", 40) > 0);
	assert_int_equal(wait_pending(e, 0, 5), 0);
	assert_true(file_lines(f->hub_log, "connection to", "lost") >= 1);
	/* The same process, subscribed again. */
	assert_int_equal(waitpid(e->hub, NULL, WNOHANG), 0);
	spo2(e, "oxy-2", 1, 90);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"P2\"", 1, 10), 1);
	alert_id(e, "P2", a2, sizeof(a2));
	assert_int_equal(rx_wait(f->rx, 200, 4, 10), 4);

	hook = evs_webhook(f->rx);
	feed = evs_feed(e);
	evs_expect(feed, a1, "opened acked resolved");
	evs_expect(feed, a2, "opened");
	evs_expect(hook, a1, "opened acked resolved");
	evs_expect(hook, a2, "opened");
	print_message("duplicates after the broker restart: %d on MQTT, %d on the webhook\n",
	              feed->dups, hook->dups);
	evs_free(hook);
	evs_free(feed);
}

/*
 * kill -9 of the hub with events pending on both channels (broker down,
 * webhook answering 503), and more events written by the CLI while the hub
 * is dead: after restart every one of them arrives, in order per alert.
 */
static void
test_kill9_with_events_pending(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct evs *hook, *feed;
	char a1[16], a2[16];

	broker_persistent(e);
	enroll_hook(e, "P1", "oxy-1");
	enroll_hook(e, "P2", "oxy-2");
	rx_set_mode(f->rx, RX_FAIL);
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	spo2(e, "oxy-2", 1, 91);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"opened\"", 2, 10), 2);
	alert_id(e, "P1", a1, sizeof(a1));
	alert_id(e, "P2", a2, sizeof(a2));
	assert_true(rx_wait(f->rx, 503, 1, 10) >= 1);

	stop(&e->broker, SIGTERM);
	cli_ok(e, "ack %s --by nurse.kari --note 'called patient'", a1);
	cli_ok(e, "ack %s --by nurse.ola", a2);
	cli_ok(e, "resolve %s --by nurse.kari", a1);
	assert_int_equal(stat_int(e, "outbox_pending"), 5);
	usleep(500 * 1000);
	stop(&e->hub, SIGKILL);
	cli_ok(e, "resolve %s --by nurse.ola --note 'back in hospital'", a2);
	assert_int_equal(stat_int(e, "outbox_pending"), 6);

	broker_start(e);
	rx_set_mode(f->rx, RX_OK);
	hub_start(e);
	assert_true(feed_wait_event(e, a2, "resolved", 20) > 0);
	assert_true(rx_wait(f->rx, 200, 6, 20) >= 6);
	assert_int_equal(wait_pending(e, 0, 5), 0);

	hook = evs_webhook(f->rx);
	feed = evs_feed(e);
	assert_int_equal(hook->n, 6);
	assert_int_equal(feed->n, 6);
	evs_expect(hook, a1, "opened acked resolved");
	evs_expect(hook, a2, "opened acked resolved");
	evs_expect(feed, a1, "opened acked resolved");
	evs_expect(feed, a2, "opened acked resolved");
	assert_string_equal(evs_find(feed, a2, "resolved")->note, "back in hospital");
	print_message("duplicates after kill -9: %d on MQTT, %d on the webhook\n", feed->dups,
	              hook->dups);
	evs_free(hook);
	evs_free(feed);
}

/* ---- (4) acks and resolutions ---- */

/* Runs a CLI action and returns the seconds from its return until the
 * event is on the team topic. */
static double
action_latency(struct env *e, const char *action, const char *id, const char *by,
               const char *note, const char *event)
{
	double done, seen;

	cli_ok(e, "%s %s --by %s --note '%s'", action, id, by, note);
	done = mono_now();
	seen = feed_wait_event(e, id, event, 5);
	if (seen < 0)
		fail_msg("no %s event for %s within 5 s", event, id);
	return seen - done;
}

static void
test_cli_actions_within_1s(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	const char *pat[4] = { "P1", "P2", "P3", "P4" }, *dev[4] = { "oxy-1", "oxy-2", "oxy-3", "oxy-4" };
	char id[4][16];
	double lat[8], max = 0, sum = 0;
	int n = 0;
	json_t *a, *doc;
	struct evs *feed;

	for (int i = 0; i < 4; i++)
		enroll_hook(e, pat[i], dev[i]);
	hub_start(e);
	for (int i = 0; i < 4; i++)
		spo2(e, dev[i], 1, 90);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"opened\"", 4, 10), 4);
	for (int i = 0; i < 4; i++)
		alert_id(e, pat[i], id[i], sizeof(id[i]));
	for (int i = 0; i < 4; i++) {
		lat[n++] = action_latency(e, "ack", id[i], "nurse.kari", "called patient", "acked");
		lat[n++] = action_latency(e, "resolve", id[i], "nurse.kari", "stable", "resolved");
	}
	for (int i = 0; i < n; i++) {
		sum += lat[i];
		max = lat[i] > max ? lat[i] : max;
	}
	print_message("CLI ack/resolve to event on the team topic: %d actions, mean %.0f ms, max %.0f ms\n",
	              n, sum / n * 1000, max * 1000);
	for (int i = 0; i < n; i++)
		assert_true(lat[i] < 1.0);

	/* Who, when and the note, in the events and in the alert. */
	feed = evs_feed(e);
	assert_string_equal(evs_find(feed, id[0], "acked")->by, "nurse.kari");
	assert_string_equal(evs_find(feed, id[0], "acked")->note, "called patient");
	assert_string_equal(evs_find(feed, id[0], "resolved")->note, "stable");
	evs_free(feed);
	a = cli_json(e, "alerts --patient P1 --state all --json");
	doc = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "resolved");
	assert_string_equal(json_string_value(json_object_get(doc, "event")), "resolved");
	assert_string_equal(json_string_value(json_object_get(doc, "by")), "nurse.kari");
	assert_string_equal(json_string_value(json_object_get(doc, "note")), "stable");
	assert_true(json_is_string(json_object_get(doc, "at")));
	json_decref(a);
	/* Acting on what does not exist or no longer applies. */
	assert_int_equal(cli(e, NULL, "ack A999 --by nurse.kari"), 3);
	assert_int_equal(cli(e, NULL, "resolve A999 --by nurse.kari"), 3);
	{
		char args[64];
		snprintf(args, sizeof(args), "ack %s --by nurse.kari", id[0]);
		assert_int_equal(cli(e, NULL, args), 1);
	}
}

/* Finds the quarantine entry whose payload is payload. */
static json_t *
quarantined(json_t *q, const char *payload)
{
	for (size_t i = 0; i < json_array_size(q); i++) {
		json_t *o = json_array_get(q, i);
		if (strcmp(json_string_value(json_object_get(o, "payload")), payload) == 0)
			return o;
	}
	fail_msg("not in quarantine: %s", payload);
	return NULL;
}

static void
test_mqtt_acks_and_quarantine(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	char a1[16], a2[16], doc[256];
	struct evs *feed;
	json_t *q, *a;
	static const struct {
		const char *payload;
		const char *reason;
	} bad[] = {
		{ "{\"alert\": \"A404\", \"action\": \"ack\", \"by\": \"nurse.ola\"}", "ack for unknown alert A404" },
		{ "{\"alert\": \"A1\", \"action\": \"ack\", \"by\": ", "not valid JSON" },
		{ "{\"alert\": \"A1\", \"action\": \"ack\"}", "Object item not found: by" },
		{ "{\"alert\": \"A1\", \"action\": \"snooze\", \"by\": \"nurse.ola\"}",
		  "action 'snooze' is not ack or resolve" },
		{ "{\"alert\": 17, \"action\": \"ack\", \"by\": \"nurse.ola\"}", "needs string fields alert, action and by: Expected string" },
		{ "{\"alert\": \"alert-1\", \"action\": \"ack\", \"by\": \"nurse.ola\"}",
		  "alert 'alert-1' is not an alert id" },
		{ "{\"alert\": \"A1\", \"action\": \"ack\", \"by\": \"nurse ola\"}",
		  "by 'nurse ola' is not an identifier" },
		{ "{\"alert\": \"A1\", \"action\": \"ack\", \"by\": \"nurse.ola\", \"note\": \"a\\u001b[2Jb\"}",
		  "note has control characters" },
	};
	size_t nbad = sizeof(bad) / sizeof(bad[0]);

	enroll_hook(e, "P1", "oxy-1");
	enroll_hook(e, "P2", "oxy-2");
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	spo2(e, "oxy-2", 1, 90);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"opened\"", 2, 10), 2);
	alert_id(e, "P1", a1, sizeof(a1));
	alert_id(e, "P2", a2, sizeof(a2));
	assert_string_equal(a1, "A1");

	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": \"nurse.ola\","
	         " \"note\": \"phoned\"}", a1);
	pub(e, "dho/v1/acks/" HOOK_TEAM, doc);
	assert_true(feed_wait_event(e, a1, "acked", 3) > 0);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"resolve\", \"by\": \"nurse.ola\"}", a2);
	pub(e, "dho/v1/acks/" HOOK_TEAM, doc);
	assert_true(feed_wait_event(e, a2, "resolved", 3) > 0);
	feed = evs_feed(e);
	assert_string_equal(evs_find(feed, a1, "acked")->by, "nurse.ola");
	assert_string_equal(evs_find(feed, a1, "acked")->note, "phoned");
	assert_string_equal(evs_find(feed, a2, "resolved")->by, "nurse.ola");
	evs_free(feed);
	assert_int_equal(rx_wait(f->rx, 200, 4, 10), 4);

	/* Unknown, malformed, and no longer applicable: each quarantined. */
	for (size_t i = 0; i < nbad; i++)
		pub(e, "dho/v1/acks/" HOOK_TEAM, bad[i].payload);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"resolve\", \"by\": \"nurse.ola\"}", a2);
	pub(e, "dho/v1/acks/" HOOK_TEAM, doc);
	assert_int_equal(wait_stat(e, "quarantined", (json_int_t)nbad + 1, 10), (json_int_t)nbad + 1);
	q = cli_json(e, "quarantine --json");
	assert_int_equal(json_array_size(q), nbad + 1);
	for (size_t i = 0; i < nbad; i++) {
		json_t *o = quarantined(q, bad[i].payload);
		const char *why = json_string_value(json_object_get(o, "reason"));

		print_message("quarantined ack: %s\n", why);
		assert_string_equal(json_string_value(json_object_get(o, "topic")), "dho/v1/acks/" HOOK_TEAM);
		assert_true(json_is_string(json_object_get(o, "at")));
		if (strstr(why, bad[i].reason) == NULL)
			fail_msg("reason \"%s\" does not say \"%s\"", why, bad[i].reason);
	}
	assert_non_null(strstr(json_string_value(json_object_get(quarantined(q, doc), "reason")),
	                       "already resolved"));
	json_decref(q);
	/* Nothing happened to the alerts, and no event went out for them. */
	a = cli_json(e, "alerts --patient P1 --json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "state")), "acked");
	json_decref(a);
	feed_sync(e);
	assert_int_equal(alert_lines(e, HOOK_TOPIC, NULL), 4);
	assert_int_equal(waitpid(e->hub, NULL, WNOHANG), 0);
}

/* ---- (5) audit ---- */

/* The audit entry for action on object, the n-th (0 first); NULL if none. */
static json_t *
audit_entry(json_t *log, const char *action, const char *object, int n)
{
	for (size_t i = 0; i < json_array_size(log); i++) {
		json_t *o = json_array_get(log, i);
		if (strcmp(json_string_value(json_object_get(o, "action")), action) == 0 &&
		    (object == NULL || strcmp(json_string_value(json_object_get(o, "object")), object) == 0) &&
		    n-- == 0)
			return o;
	}
	return NULL;
}

static void
expect_audit(json_t *log, const char *action, const char *object, const char *actor,
             const char *detail, time_t from, time_t to)
{
	json_t *o = audit_entry(log, action, object, 0);
	time_t t;

	if (o == NULL)
		fail_msg("no audit entry %s %s", action, object ? object : "");
	assert_string_equal(json_string_value(json_object_get(o, "actor")), actor);
	if (detail && strstr(json_string_value(json_object_get(o, "detail")), detail) == NULL)
		fail_msg("audit %s %s: detail \"%s\" lacks \"%s\"", action, object ? object : "",
		         json_string_value(json_object_get(o, "detail")), detail);
	parse_utc(jstr(o, "at"), &t);
	assert_true(t >= from - 1 && t <= to + 1);
}

static void
test_audit_actors(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct passwd *pw = getpwuid(getuid());
	const char *me = pw ? pw->pw_name : "";
	char a1[16], a2[16], doc[256], *out = NULL;
	time_t from = time(NULL), to;
	json_t *log, *r;
	int before;

	assert_non_null(pw);
	enroll_hook(e, "P1", "oxy-1");
	enroll_hook(e, "P2", "oxy-2");
	hub_start(e);
	spo2(e, "oxy-1", 1, 90);
	spo2(e, "oxy-2", 1, 90);
	assert_int_equal(wait_alert_lines(e, HOOK_TOPIC, "\"opened\"", 2, 10), 2);
	alert_id(e, "P1", a1, sizeof(a1));
	alert_id(e, "P2", a2, sizeof(a2));

	r = cli_json(e, "readings --patient P1 --metric spo2 --json");
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	assert_int_equal(cli(e, &out, "readings --patient P2"), 0);
	free(out);
	json_decref(cli_json(e, "alerts --team " HOOK_TEAM " --json"));
	cli_ok(e, "ack %s --by nurse.kari --note 'called patient'", a1);
	cli_ok(e, "resolve %s --by nurse.kari --note stable", a1);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"ack\", \"by\": \"nurse.ola\","
	         " \"note\": \"phoned\"}", a2);
	pub(e, "dho/v1/acks/" HOOK_TEAM, doc);
	assert_true(feed_wait_event(e, a2, "acked", 3) > 0);
	snprintf(doc, sizeof(doc), "{\"alert\": \"%s\", \"action\": \"resolve\", \"by\": \"nurse.ola\"}", a2);
	pub(e, "dho/v1/acks/" HOOK_TEAM, doc);
	assert_true(feed_wait_event(e, a2, "resolved", 3) > 0);
	pub(e, "dho/v1/acks/" HOOK_TEAM, "{\"alert\": \"A404\", \"action\": \"ack\", \"by\": \"nurse.ola\"}");
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	to = time(NULL);

	log = cli_json(e, "audit --json");
	/* Listings from the CLI: the operating-system user. */
	expect_audit(log, "readings.list", "P1", me, "spo2", from, to);
	expect_audit(log, "readings.list", "P2", me, NULL, from, to);
	expect_audit(log, "alerts.list", "*", me, HOOK_TEAM, from, to);
	/* Nurse actions from the CLI: the user who ran it, naming the nurse. */
	expect_audit(log, "alert.ack", a1, me, "nurse.kari", from, to);
	expect_audit(log, "alert.ack", a1, me, "called patient", from, to);
	expect_audit(log, "alert.resolve", a1, me, "stable", from, to);
	/* Nurse actions from a dashboard: the nurse. */
	expect_audit(log, "alert.ack", a2, "nurse.ola", "phoned", from, to);
	expect_audit(log, "alert.resolve", a2, "nurse.ola", NULL, from, to);
	/* A quarantined ack is no action. */
	assert_null(audit_entry(log, "alert.ack", "A404", 0));
	/* Every object/action field is there for every entry. */
	for (size_t i = 0; i < json_array_size(log); i++) {
		json_t *o = json_array_get(log, i);
		assert_true(json_is_string(json_object_get(o, "object")));
		assert_true(json_is_string(json_object_get(o, "detail")));
	}
	/* Each listing is one more entry. */
	for (before = 0; audit_entry(log, "alerts.list", "*", before) != NULL; before++)
		;
	json_decref(log);
	json_decref(cli_json(e, "alerts --json"));
	log = cli_json(e, "audit --json");
	assert_non_null(audit_entry(log, "alerts.list", "*", before));
	assert_null(audit_entry(log, "alerts.list", "*", before + 1));
	json_decref(log);
	assert_int_equal(cli(e, &out, "audit"), 0);
	assert_non_null(strstr(out, "alert.ack"));
	assert_non_null(strstr(out, "nurse.ola"));
	free(out);
	log = cli_json(e, "audit --since 2099-01-01T00:00:00Z --json");
	assert_int_equal(json_array_size(log), 0);
	json_decref(log);
}

/*
 * An escalation from a team with a webhook to another team with one: the
 * `escalated` event is POSTed to both, the same document; the reminder
 * that follows goes to the team it reached only.
 */
static void
test_escalated_to_both_webhooks(void **state)
{
	struct fixture *f = *state;
	struct env *e = f->e;
	struct evs *h1, *h2;
	char *o;
	int st;

	o = run(&st, "sed -i 's|^\\[team:" HOOK_TEAM "\\]$|&\\nescalate_to = " HOOK2_TEAM "|' %s",
	        e->conf);
	assert_int_equal(st, 0);
	free(o);
	env_conf_append(e, "[alerts]\nack_s.red = 2");
	assert_int_equal(file_lines(e->conf, "escalate_to = " HOOK2_TEAM, NULL), 1);
	enroll_hook(e, "P1", "oxy-1");
	hub_start(e);
	spo2(e, "oxy-1", 1, 85);
	assert_true(rx_wait(f->rx2, 200, 2, 20) >= 2);       /* escalated, reminded */
	assert_true(rx_wait(f->rx, 200, 2, 5) >= 2);         /* opened, escalated */
	h1 = evs_webhook(f->rx);
	h2 = evs_webhook(f->rx2);
	evs_expect(h1, "A1", "opened escalated");
	assert_non_null(evs_find(h2, "A1", "escalated"));
	assert_non_null(evs_find(h2, "A1", "reminded"));
	assert_null(evs_find(h2, "A1", "opened"));
	/* one event, one document: the same body reached both */
	for (size_t i = 0; i < h1->n; i++)
		if (strcmp(h1->v[i].event, "escalated") == 0)
			for (size_t j = 0; j < h2->n; j++)
				if (strcmp(h2->v[j].event, "escalated") == 0)
					assert_string_equal(h1->bodies[i], h2->bodies[j]);
	evs_free(h1);
	evs_free(h2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_webhook_outage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_down_other_team_unaffected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_with_events_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_actions_within_1s, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mqtt_acks_and_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_actors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalated_to_both_webhooks, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	/* DHO_TEST_FILTER=test_broker_* runs only the matching tests. */
	if (getenv("DHO_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DHO_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
