/*
 * bench_mqtt.c: see bench_mqtt.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "bench_mqtt.h"
#include "net.h"

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, failed;
};

struct publisher {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	long failed;
};

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s failed (%d)\n", what, rc);
	exit(1);
}

static void
waiter_init(struct waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = w->failed = 0;
}

static void
waiter_signal(struct waiter *w, int failed)
{
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	w->failed = failed;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void on_ok(void *ctx, MQTTAsync_successData *d) { (void)d; waiter_signal(ctx, 0); }
static void on_fail(void *ctx, MQTTAsync_failureData *d) { (void)d; waiter_signal(ctx, 1); }

static int
waiter_wait(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return w->failed;
}

MQTTAsync
bench_mqtt_client(int port, const char *id, bool clean, const char *topic,
                  MQTTAsync_messageArrived *arrived, void *ctx)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct waiter w;
	char uri[64];
	MQTTAsync c;
	int rc;

	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
	if ((rc = MQTTAsync_create(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL)) != MQTTASYNC_SUCCESS)
		die("MQTTAsync_create", rc);
	if (arrived != NULL &&
	    (rc = MQTTAsync_setCallbacks(c, ctx, NULL, arrived, NULL)) != MQTTASYNC_SUCCESS)
		die("MQTTAsync_setCallbacks", rc);
	waiter_init(&w);
	co.keepAliveInterval = 30;
	co.cleansession = clean;
	co.onSuccess = on_ok;
	co.onFailure = on_fail;
	co.context = &w;
	if ((rc = MQTTAsync_connect(c, &co)) != MQTTASYNC_SUCCESS || waiter_wait(&w))
		die("connect", rc);
	net_nodelay_all();   /* as the hub does (net.h) */
	if (topic != NULL) {
		waiter_init(&w);
		ro.onSuccess = on_ok;
		ro.onFailure = on_fail;
		ro.context = &w;
		if ((rc = MQTTAsync_subscribe(c, topic, 1, &ro)) != MQTTASYNC_SUCCESS || waiter_wait(&w))
			die("subscribe", rc);
	}
	return c;
}

int
bench_mqtt_count(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	struct bench_mqtt_counter *k = ctx;

	(void)topiclen;
	atomic_fetch_add(&k->received, 1);
	atomic_store(&k->last_ns, bench_now_ns());
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

void
bench_mqtt_close(MQTTAsync c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	d.timeout = 1000;
	MQTTAsync_disconnect(c, &d);
	usleep(100 * 1000);
	MQTTAsync_destroy(&c);
}

static void
pub_done(struct publisher *p, int failed)
{
	pthread_mutex_lock(&p->mu);
	p->inflight--;
	p->failed += failed;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void pub_ok(void *ctx, MQTTAsync_successData *d) { (void)d; pub_done(ctx, 0); }
static void pub_fail(void *ctx, MQTTAsync_failureData *d) { (void)d; pub_done(ctx, 1); }

int64_t
bench_mqtt_publish(int port, int base, int n, long rounds, int inflight, double rate,
                   bench_mqtt_writer write, bench_mqtt_sent sent, void *ctx)
{
	struct publisher p = { .inflight = 0 };
	int64_t t0 = 0, count = 0;
	char topic[128], body[512];
	MQTTAsync c;

	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	c = bench_mqtt_client(port, "bench-pub", true, NULL, NULL, NULL);
	for (long r = 0; r < rounds; r++) {
		for (int d = base; d < base + n; d++) {
			MQTTAsync_message m = MQTTAsync_message_initializer;
			MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
			int rc;

			m.payloadlen = write(ctx, d, r, topic, sizeof(topic), body, sizeof(body));
			m.payload = body;
			m.qos = 1;
			ro.onSuccess = pub_ok;
			ro.onFailure = pub_fail;
			ro.context = &p;
			pthread_mutex_lock(&p.mu);
			while (p.inflight >= inflight)
				pthread_cond_wait(&p.cv, &p.mu);
			p.inflight++;
			pthread_mutex_unlock(&p.mu);
			if (t0 == 0)
				t0 = bench_now_ns();
			if (rate > 0) {
				int64_t due = t0 + (int64_t)((double)count * 1e9 / rate), now;

				while ((now = bench_now_ns()) < due)
					usleep((useconds_t)((due - now) / 1000));
			}
			count++;
			if (sent != NULL)
				sent(ctx, d, r);
			if ((rc = MQTTAsync_sendMessage(c, topic, &m, &ro)) != MQTTASYNC_SUCCESS)
				die("MQTTAsync_sendMessage", rc);
		}
	}
	pthread_mutex_lock(&p.mu);
	while (p.inflight > 0)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	if (p.failed > 0) {
		fprintf(stderr, "bench: %ld publishes failed\n", p.failed);
		exit(1);
	}
	bench_mqtt_close(c);
	return t0;
}
