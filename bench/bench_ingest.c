/*
 * bench_ingest: the hub's ingest rate against the broker's, in one run.
 *
 * A Mosquitto on a free loopback port; one Paho publisher sends N QoS-1
 * reading documents from D devices (one patient each) as fast as the broker
 * takes them, with at most INFLIGHT unacknowledged. The same stream is
 * consumed twice:
 *   (a) the ceiling: a plain Paho QoS-1 subscriber that only counts, timed
 *       from the first publish to the last message received (run before and
 *       after the hub, the faster of the two is the ceiling);
 *   (b) the hub: `dhohub run` with storage and a COPD program's rules,
 *       timed from the first publish to the moment the store holds all N.
 * It prints both rates and their ratio, the hub's CPU time per reading and
 * its peak RSS, and the latency from publishing a red reading to receiving
 * its alert's `opened` event (one probe per patient, spread over the
 * stream), twice: in the flat-out stream above, where it includes the
 * backlog at the broker whenever the publisher is faster than the hub, and
 * in a second stream paced at half the hub's measured rate (to another D
 * patients), which is the latency a reading sees when the hub keeps up.
 *
 *   bench_ingest [--readings N] [--devices D] [--inflight K] [--paced R]
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <jansson.h>

#include "bench.h"
#include "bench_mqtt.h"
#include "store.h"
#include "timefmt.h"

#ifndef DHOHUB_BIN
#define DHOHUB_BIN "dhohub"
#endif

#define TENANT "b"


struct probes {
	int n;                 /* devices */
	int64_t *published;    /* per patient: when its red reading was sent */
	int64_t *alerted;      /* when its first `opened` event arrived; 0 until */
	atomic_int seen;
	char hub_status[32];
	pthread_mutex_t mu;
};

static int bench_devices = 1000, bench_inflight = 1000;
static long bench_readings = 200000;
static int bench_port;
static double bench_paced;   /* 0: half the hub's measured rate */

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench_ingest: %s failed (%d)\n", what, rc);
	exit(1);
}

/* Alert events and the hub's status: the first `opened` per patient. */
static int
alert_arrived(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	struct probes *pr = ctx;
	int64_t now = bench_now_ns();
	json_t *doc = json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL);

	(void)topiclen;
	if (doc != NULL && strstr(topic, "/status") != NULL) {
		const char *s = json_string_value(json_object_get(doc, "state"));

		pthread_mutex_lock(&pr->mu);
		snprintf(pr->hub_status, sizeof(pr->hub_status), "%s", s ? s : "");
		pthread_mutex_unlock(&pr->mu);
	} else if (doc != NULL) {
		const char *ev = json_string_value(json_object_get(doc, "event"));
		const char *p = json_string_value(json_object_get(doc, "patient"));
		int k;

		if (ev && p && strcmp(ev, "opened") == 0 && sscanf(p, "P%d", &k) == 1 && k >= 0 &&
		    k < pr->n) {
			pthread_mutex_lock(&pr->mu);
			if (pr->alerted[k] == 0) {
				pr->alerted[k] = now;
				atomic_fetch_add(&pr->seen, 1);
			}
			pthread_mutex_unlock(&pr->mu);
		}
	}
	json_decref(doc);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* The round at which device d's reading is red: spread over the stream,
 * after the five readings its baseline needs. */
static long
probe_round(int d, long rounds)
{
	return rounds <= 6 ? rounds - 1 : 5 + (long)d * (rounds - 6) / bench_devices;
}

struct stream {
	struct probes *pr;     /* NULL: nothing recorded */
	int base;
	long rounds;
};

static int
write_reading(void *ctx, int dev, long r, char *topic, size_t tlen, char *body, size_t len)
{
	struct stream *s = ctx;
	int red = probe_round(dev - s->base, s->rounds) == r;

	snprintf(topic, tlen, "dho/v1/" TENANT "/dev/dev-%05d/reading", dev);
	return snprintf(body, len, "{\"seq\": %ld, \"metric\": \"spo2\", \"value\": %d}", r + 1,
	                red ? 85 : 95 + (int)(r % 3));
}

static void
note_sent(void *ctx, int dev, long r)
{
	struct stream *s = ctx;

	if (s->pr != NULL && probe_round(dev - s->base, s->rounds) == r)
		s->pr->published[dev] = bench_now_ns();
}

/* Publishes rounds readings from each of the devices base .. base+D-1, at
 * rate readings a second (0: as fast as the broker takes them); returns
 * the time of the first publish. probes may be NULL (nothing recorded). */
static int64_t
publish_stream(struct probes *pr, int base, long rounds, double rate)
{
	struct stream s = { pr, base, rounds };

	return bench_mqtt_publish(bench_port, base, bench_devices, rounds, bench_inflight, rate,
	                          write_reading, note_sent, &s);
}

/* (a): messages per second to a subscriber that only counts. */
static double
ceiling(void)
{
	struct bench_mqtt_counter k = { 0 };
	long n = bench_readings / bench_devices * bench_devices;
	MQTTAsync sub = bench_mqtt_client(bench_port, "bench-ceiling", true, "dho/v1/+/dev/+/reading",
	                                  bench_mqtt_count, &k);
	int64_t t0 = publish_stream(NULL, 0, bench_readings / bench_devices, 0), waited = 0;

	while (atomic_load(&k.received) < n && waited < 120000) {
		usleep(10 * 1000);
		waited += 10;
	}
	bench_mqtt_close(sub);
	if (atomic_load(&k.received) < n) {
		fprintf(stderr, "bench_ingest: the ceiling subscriber got %ld of %ld\n",
		        (long)atomic_load(&k.received), n);
		exit(1);
	}
	return (double)n / ((double)(atomic_load(&k.last_ns) - t0) / 1e9);
}

static void
prepare_db(const char *db)
{
	char err[DHO_ERRLEN];
	struct store *st;
	dho_time_t now = timefmt_now();
	int rc;

	if ((rc = store_open(db, STORE_CREATE, &st, err, sizeof(err))) != DHO_OK) {
		fprintf(stderr, "bench_ingest: %s\n", err);
		exit(1);
	}
	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc);
	for (int d = 0; d < 2 * bench_devices; d++) {
		struct store_patient p = { .hospital_days = 0 };
		char dev[32];

		snprintf(p.id, sizeof(p.id), "P%d", d);
		snprintf(p.tenant, sizeof(p.tenant), TENANT);
		snprintf(p.program, sizeof(p.program), "copd");
		p.discharged = now - 86400;
		p.enrolled_at = now - 86400;
		snprintf(dev, sizeof(dev), "dev-%05d", d);
		if ((rc = store_patient_add(st, &p)) != DHO_OK ||
		    (rc = store_device_assign(st, dev, p.id, now - 86400)) != DHO_OK)
			die("enrolling", rc);
	}
	if ((rc = store_commit(st)) != DHO_OK)
		die("commit", rc);
	store_close(st);
}

static int64_t
stored(struct store *st)
{
	struct store_stats s;

	return store_stats(st, &s) == DHO_OK ? s.readings : -1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_ingest [--readings N] [--devices D] [--inflight K] [--paced R]\n"
	        "  --readings N  QoS-1 readings to publish (default 200000; rounded down to\n"
	        "                a multiple of D)\n"
	        "  --devices D   devices, one patient each (default 1000)\n"
	        "  --inflight K  unacknowledged publishes at most (default 1000)\n"
	        "  --paced R     rate of the latency stream, readings/s (default: half the\n"
	        "                hub's measured rate)\n"
	        "Prints the ceiling (a plain Paho subscriber's rate on the same broker), the\n"
	        "hub's rate with storage and rules, their ratio, publish-to-alert latency\n"
	        "and the hub's peak RSS.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "readings", required_argument, NULL, 'n' },
		{ "devices", required_argument, NULL, 'd' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "paced", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[4096], conf[4200], db[4200], log[4200], text[8192];
	struct probes pr = { 0 };
	struct store *st;
	double c1, c2, cmax, hub_rate, paced_rate, *lat;
	int64_t t0, t_end = 0, waited = 0, n, cpu0, cpu1, b0, b1, b2, b3;
	long hwm = -1;
	int broker, hub, c, missing = 0;
	MQTTAsync watch;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': bench_readings = (long)bench_count("readings", optarg, 1, 100000000); break;
		case 'd': bench_devices = (int)bench_count("devices", optarg, 1, 99999); break;
		case 'i': bench_inflight = (int)bench_count("inflight", optarg, 1, 65535); break;
		case 'r': bench_paced = bench_number("paced", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (bench_readings < bench_devices || optind != argc) {
		usage(stderr);
		return 2;
	}
	n = bench_readings / bench_devices * bench_devices;
	signal(SIGPIPE, SIG_IGN);
	bench_tmpdir("ingest", dir, sizeof(dir));
	bench_port = bench_free_port();
	broker = bench_broker(dir, bench_port);

	b0 = bench_proc_cpu_us(broker);
	c1 = ceiling();
	b1 = bench_proc_cpu_us(broker);

	snprintf(db, sizeof(db), "%s/hub.db", dir);
	snprintf(text, sizeof(text),
	         "[hub]\nlog_level = warn\n"
	         "[broker]\nurl = tcp://127.0.0.1:%d\nclient_id = bench\ntenants = " TENANT "\n"
	         "[store]\npath = %s\n"
	         "[tenant:" TENANT "]\nhome_team = home-nursing/" TENANT "\nhospital_days = 0\n"
	         "[team:home-nursing/" TENANT "]\n"
	         "[program:copd]\nthreshold.spo2 = red<88 yellow<90\n"
	         "baseline.spo2 = yellow:-4 red:-6 over 7d min 5\n"
	         "missing.spo2 = 26h red:48h\nnews2 = scale1\n",
	         bench_port, db);
	bench_write_file(dir, "hub.conf", text, conf, sizeof(conf));
	prepare_db(db);
	pr.n = 2 * bench_devices;
	pr.published = calloc((size_t)pr.n, sizeof(*pr.published));
	pr.alerted = calloc((size_t)pr.n, sizeof(*pr.alerted));
	lat = calloc((size_t)pr.n, sizeof(*lat));
	pthread_mutex_init(&pr.mu, NULL);
	watch = bench_mqtt_client(bench_port, "bench-watch", true, "dho/v1/alerts/#", alert_arrived,
	                          &pr);
	{
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

		MQTTAsync_subscribe(watch, "dho/v1/hub/bench/status", 1, &ro);
	}
	snprintf(log, sizeof(log), "%s/hub.log", dir);
	{
		char *hargv[] = { DHOHUB_BIN, "-c", conf, "run", NULL };

		hub = bench_spawn(log, hargv);
	}
	for (int i = 0; i < 500; i++) {
		int up;

		pthread_mutex_lock(&pr.mu);
		up = strcmp(pr.hub_status, "online") == 0;
		pthread_mutex_unlock(&pr.mu);
		if (up)
			break;
		usleep(20 * 1000);
	}
	if (strcmp(pr.hub_status, "online") != 0) {
		fprintf(stderr, "bench_ingest: the hub did not come online (see %s)\n", log);
		return 1;
	}
	{
		char err[DHO_ERRLEN];

		if (store_open(db, STORE_CREATE, &st, err, sizeof(err)) != DHO_OK) {
			fprintf(stderr, "bench_ingest: %s\n", err);
			return 1;
		}
	}
	cpu0 = bench_proc_cpu_us(hub);
	b2 = bench_proc_cpu_us(broker);
	t0 = publish_stream(&pr, 0, n / bench_devices, 0);
	while (waited < 300000) {
		if (stored(st) >= n) {
			t_end = bench_now_ns();
			break;
		}
		usleep(5 * 1000);
		waited += 5;
	}
	for (int i = 0; i < 200 && atomic_load(&pr.seen) < bench_devices; i++)
		usleep(10 * 1000);
	cpu1 = bench_proc_cpu_us(hub);
	b3 = bench_proc_cpu_us(broker);
	if (t_end == 0) {
		fprintf(stderr, "bench_ingest: the hub stored %lld of %lld (see %s)\n",
		        (long long)stored(st), (long long)n, log);
		return 1;
	}
	hub_rate = (double)n / ((double)(t_end - t0) / 1e9);

	/* The paced stream, to the second D patients: 20 readings each. */
	paced_rate = bench_paced > 0 ? bench_paced : hub_rate / 2;
	publish_stream(&pr, bench_devices, 20, paced_rate);
	for (waited = 0; waited < 60000 && stored(st) < n + 20 * bench_devices; waited += 10)
		usleep(10 * 1000);
	for (int i = 0; i < 300 && atomic_load(&pr.seen) < pr.n; i++)
		usleep(10 * 1000);
	hwm = bench_proc_hwm_kib(hub);
	store_close(st);
	bench_stop(hub, SIGTERM);
	bench_mqtt_close(watch);

	c2 = ceiling();
	cmax = c1 > c2 ? c1 : c2;
	bench_stop(broker, SIGTERM);


	printf("bench_ingest: %lld QoS-1 readings from %d devices (one patient each), "
	       "%d in flight, Mosquitto on loopback\n", (long long)n, bench_devices, bench_inflight);
	printf("  ceiling, plain Paho subscriber:  %9.0f msg/s  (runs: %.0f before, %.0f after)\n",
	       cmax, c1, c2);
	printf("  hub, storage and rules on:       %9.0f msg/s  (hub CPU %.1f us per reading)\n",
	       hub_rate, (double)(cpu1 - cpu0) / (double)n);
	printf("  broker CPU per message:          %9.1f us with the plain subscriber, %.1f us with "
	       "the hub\n", (double)(b1 - b0) / (double)n, (double)(b3 - b2) / (double)n);
	printf("  ratio hub/ceiling:               %9.2f  (target >= 0.90)\n", hub_rate / cmax);
	for (int phase = 0; phase < 2; phase++) {
		int nl = 0;

		for (int k = phase * bench_devices; k < (phase + 1) * bench_devices; k++)
			if (pr.alerted[k] > 0 && pr.published[k] > 0)
				lat[nl++] = (double)(pr.alerted[k] - pr.published[k]) / 1e6;
		qsort(lat, (size_t)nl, sizeof(*lat), bench_cmp_double);
		if (phase == 0)
			printf("  publish -> alert event, flat out:       ");
		else
			printf("  publish -> alert event, at %6.0f msg/s: ", paced_rate);
		printf("p50 %.1f ms, p99 %.1f ms (%d of %d alerts)\n",
		       bench_quantile(lat, (size_t)nl, 0.5), bench_quantile(lat, (size_t)nl, 0.99), nl,
		       bench_devices);
		missing += bench_devices - nl;
	}
	printf("  hub peak RSS:                    %9.1f MiB\n", (double)hwm / 1024.0);
	free(pr.published);
	free(pr.alerted);
	free(lat);
	bench_rmdir(dir);
	if (missing > 0)
		fprintf(stderr, "bench_ingest: %d alert events did not arrive\n", missing);
	return missing == 0 ? 0 : 1;
}
