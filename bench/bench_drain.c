/*
 * bench_drain: how fast the hub drains a backlog, against what SQLite and
 * MQTT allow, in one run.
 *
 * N QoS-1 readings from P devices (one patient each, on a COPD program:
 * two thresholds, a missing rule and NEWS2) wait at a real Mosquitto for
 * a persistent session; then its client connects and drains them. Three
 * rates are measured on the same machine in the same run:
 *   ceiling  a plain Paho subscriber draining the same backlog (counts and
 *            acknowledges, nothing else);
 *   floor    the storage the guarantee forces, in process: one transaction
 *            per reading with the seq claim and the reading insert (with
 *            its covering index), WAL, synchronous=NORMAL; measured
 *            with SQLite's in-line checkpoints and with the hub's
 *            checkpoint thread, and the faster of the two counts;
 *   hub      `dhohub run` draining the backlog, from its start to the
 *            moment the store holds all N.
 * Paid in series, ceiling and floor allow 1/(1/ceiling + 1/floor) readings
 * a second; the figure of merit is the hub's rate over that.
 *
 * With --days D the hub's database (and the floor's) first gets bench_scale's
 * history: D days of K readings a day for every patient.
 *
 *   bench_drain [--readings N] [--patients P] [--inflight K] [--days D] [--per-day K]
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "bench_db.h"
#include "bench_mqtt.h"
#include "store.h"
#include "timefmt.h"

#ifndef DHOHUB_BIN
#define DHOHUB_BIN "dhohub"
#endif

#define TENANT "t"
#define DAY 86400
#define TOPICS "dho/v1/" TENANT "/dev/+/reading"

static long drain_readings = 60000, drain_days, drain_per_day = 20;
static int drain_patients = 100, drain_inflight = 1000, drain_port;


struct status {
	pthread_mutex_t mu;
	char state[32];
};

static void
die(const char *what, int rc, struct store *st)
{
	fprintf(stderr, "bench_drain: %s failed: %s%s%s\n", what, dho_strerror(rc),
	        st ? ": " : "", st ? store_errmsg(st) : "");
	exit(1);
}

/* Device dev's message in round r: SpO2 and pulse in turn, all normal. */
static int
write_reading(void *ctx, int dev, long r, char *topic, size_t tlen, char *body, size_t len)
{
	(void)ctx;
	snprintf(topic, tlen, "dho/v1/" TENANT "/dev/d%d/reading", dev);
	/* Past the seqs of the history and of the floor. */
	if (r % 2 == 0)
		return snprintf(body, len, "{\"seq\": %ld, \"metric\": \"spo2\", \"value\": %ld}",
		                2000000000L + r, 94 + r % 4);
	return snprintf(body, len, "{\"seq\": %ld, \"metric\": \"pulse\", \"value\": %ld}",
	                2000000000L + r, 62 + r % 13);
}

static int
status_arrived(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	struct status *s = ctx;
	json_t *doc = json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL);
	const char *state = json_string_value(json_object_get(doc, "state"));

	(void)topiclen;
	pthread_mutex_lock(&s->mu);
	snprintf(s->state, sizeof(s->state), "%s", state ? state : "");
	pthread_mutex_unlock(&s->mu);
	json_decref(doc);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static int
status_is(struct status *s, const char *state)
{
	int yes;

	pthread_mutex_lock(&s->mu);
	yes = strcmp(s->state, state) == 0;
	pthread_mutex_unlock(&s->mu);
	return yes;
}

static long
rounds(void)
{
	return drain_readings / drain_patients;
}

/* The ceiling: a plain subscriber's persistent session drains the backlog. */
static double
ceiling(void)
{
	struct bench_mqtt_counter k = { 0 };
	long n = rounds() * drain_patients;
	int64_t t0, waited = 0;
	MQTTAsync c;

	c = bench_mqtt_client(drain_port, "drain-ceiling", false, TOPICS, NULL, NULL);
	bench_mqtt_close(c);
	bench_mqtt_publish(drain_port, 0, drain_patients, rounds(), drain_inflight, 0,
	                   write_reading, NULL, NULL);
	t0 = bench_now_ns();
	c = bench_mqtt_client(drain_port, "drain-ceiling", false, TOPICS, bench_mqtt_count, &k);
	while (atomic_load(&k.received) < n && waited < 300000) {
		usleep(5 * 1000);
		waited += 5;
	}
	bench_mqtt_close(c);
	/* Leave no session behind to take the broker's time later. */
	c = bench_mqtt_client(drain_port, "drain-ceiling", true, NULL, NULL, NULL);
	bench_mqtt_close(c);
	if (atomic_load(&k.received) < n) {
		fprintf(stderr, "bench_drain: the plain subscriber got %ld of %ld\n",
		        (long)atomic_load(&k.received), n);
		exit(1);
	}
	return (double)n / ((double)(atomic_load(&k.last_ns) - t0) / 1e9);
}

/* The storage floor: one transaction per reading, seq claim then insert,
 * into the hub's database before the hub starts (with its history). The
 * claimed seqs start at seq0, so that a second run claims new ones. */
static double
floor_rate(struct store *st, uint64_t seq0)
{
	long n = rounds() * drain_patients;
	dho_time_t now = timefmt_now();
	int64_t t0;
	int rc;

	t0 = bench_now_ns();
	for (long r = 0; r < rounds(); r++) {
		for (int d = 0; d < drain_patients; d++) {
			struct store_reading sr;

			memset(&sr, 0, sizeof(sr));
			snprintf(sr.patient, sizeof(sr.patient), "p%d", d);
			snprintf(sr.device, sizeof(sr.device), "d%d", d);
			sr.r.metric = r % 2 == 0 ? METRIC_SPO2 : METRIC_PULSE;
			sr.r.value = r % 2 == 0 ? 94 + r % 4 : 62 + r % 13;
			sr.r.measured_at = now;
			sr.received_at = now;
			sr.has_seq = true;
			sr.seq = seq0 + (uint64_t)r;
			if ((rc = store_begin(st)) != DHO_OK ||
			    (rc = store_claim_seq(st, sr.device, sr.seq)) != DHO_OK ||
			    (rc = store_reading_add(st, &sr)) != DHO_OK ||
			    (rc = store_commit(st)) != DHO_OK)
				die("the floor's transaction", rc, st);
		}
	}
	t0 = bench_now_ns() - t0;
	return (double)n / ((double)t0 / 1e9);
}

/* The hub's database: the patients, and their history when asked for.
 * Returns it open. */
static struct store *
prepare_db(const char *db)
{
	char err[DHO_ERRLEN];
	struct store *st;
	dho_time_t now = timefmt_now();

	if (store_open(db, STORE_CREATE, &st, err, sizeof(err)) != DHO_OK) {
		fprintf(stderr, "bench_drain: %s\n", err);
		exit(1);
	}
	bench_enroll(st, drain_patients, now - (drain_days + 1) * DAY);
	if (drain_days > 0)
		bench_history(st, drain_patients, drain_days, drain_per_day, now);
	return st;
}

static int
start_hub(const char *conf, const char *log, struct status *s)
{
	char *argv[] = { DHOHUB_BIN, "-c", (char *)conf, "run", NULL };
	int pid;

	pthread_mutex_lock(&s->mu);
	s->state[0] = '\0';
	pthread_mutex_unlock(&s->mu);
	pid = bench_spawn(log, argv);
	return pid;
}

static void
wait_online(struct status *s, const char *log)
{
	for (int i = 0; i < 1000 && !status_is(s, "online"); i++)
		usleep(10 * 1000);
	if (!status_is(s, "online")) {
		fprintf(stderr, "bench_drain: the hub did not come online (see %s)\n", log);
		exit(1);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_drain [--readings N] [--patients P] [--inflight K] [--days D]\n"
	        "                   [--per-day K]\n"
	        "  --readings N  the backlog, QoS-1 readings (default 60000; rounded down to\n"
	        "                a multiple of P)\n"
	        "  --patients P  devices, one patient each, COPD program (default 100)\n"
	        "  --inflight K  the publisher's unacknowledged publishes at most (default 1000)\n"
	        "  --days D      days of history in the hub's and the floor's database first\n"
	        "                (default 0; bench_scale's history is 30)\n"
	        "  --per-day K   readings a day in that history (default 20)\n"
	        "Prints the hub's drain rate, a plain Paho subscriber's drain rate of the same\n"
	        "backlog (ceiling), the storage floor (one transaction per reading), and the\n"
	        "hub's rate over 1/(1/ceiling + 1/floor).\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "readings", required_argument, NULL, 'n' },
		{ "patients", required_argument, NULL, 'p' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "days", required_argument, NULL, 'd' },
		{ "per-day", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[4096], conf[4200], db[4200], log[4200], text[8192], err[DHO_ERRLEN];
	struct status s = { .state = "" };
	struct store_stats ss = { 0 };
	struct store *st;
	double c1, c2, cmax, fl, fl_inline, fl_thread, both, hub_rate;
	int64_t t0, t_end = 0, n, cpu, base;
	long hwm;
	int broker, hub, c;
	MQTTAsync watch;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': drain_readings = (long)bench_count("readings", optarg, 1, 100000000); break;
		case 'p': drain_patients = (int)bench_count("patients", optarg, 1, 1000000); break;
		case 'i': drain_inflight = (int)bench_count("inflight", optarg, 1, 65535); break;
		case 'd': drain_days = (long)bench_count("days", optarg, 0, 365); break;
		case 'k': drain_per_day = (long)bench_count("per-day", optarg, 1, 1440); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (drain_readings < drain_patients || optind != argc) {
		usage(stderr);
		return 2;
	}
	n = rounds() * drain_patients;
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&s.mu, NULL);
	bench_tmpdir("drain", dir, sizeof(dir));
	drain_port = bench_free_port();
	broker = bench_broker(dir, drain_port);

	c1 = ceiling();

	snprintf(db, sizeof(db), "%s/hub.db", dir);
	snprintf(text, sizeof(text),
	         "[hub]\nlog_level = warn\n"
	         "[broker]\nurl = tcp://127.0.0.1:%d\nclient_id = drain\ntenants = " TENANT "\n"
	         "[store]\npath = %s\n"
	         "[tenant:" TENANT "]\nhome_team = home-nursing/" TENANT "\nhospital_days = 0\n"
	         "[team:home-nursing/" TENANT "]\n"
	         "[program:copd]\nthreshold.spo2 = red<88 yellow<90\n"
	         "threshold.pulse = red<=40 yellow>=111 red>=131\n"
	         "missing.spo2 = 26h red:48h\nnews2 = scale1\n",
	         drain_port, db);
	bench_write_file(dir, "hub.conf", text, conf, sizeof(conf));
	st = prepare_db(db);
	/* The floor as SQLite does it by default, each commit that fills the
	 * WAL checkpointing in line; then as the hub does it, the checkpoints
	 * on a thread of their own (store_checkpoint_thread()). The ratio is
	 * taken against the faster of the two, whichever that is in this run. */
	fl_inline = floor_rate(st, 1000000000ULL);
	if (store_checkpoint_thread(st) != DHO_OK) {
		fprintf(stderr, "bench_drain: cannot start the floor's checkpoint thread\n");
		return 1;
	}
	fl_thread = floor_rate(st, 1500000000ULL);
	fl = fl_inline > fl_thread ? fl_inline : fl_thread;
	if (store_stats(st, &ss) != DHO_OK) {
		fprintf(stderr, "bench_drain: cannot count the readings\n");
		return 1;
	}
	base = ss.readings;
	store_close(st);
	snprintf(log, sizeof(log), "%s/hub.log", dir);
	watch = bench_mqtt_client(drain_port, "drain-watch", true, "dho/v1/hub/drain/status",
	                          status_arrived, &s);

	/* The hub's first start makes its persistent session; then the
	 * backlog builds while it is down. */
	hub = start_hub(conf, log, &s);
	wait_online(&s, log);
	bench_stop(hub, SIGTERM);
	bench_mqtt_publish(drain_port, 0, drain_patients, rounds(), drain_inflight, 0,
	                   write_reading, NULL, NULL);

	if (store_open(db, STORE_CREATE, &st, err, sizeof(err)) != DHO_OK) {
		fprintf(stderr, "bench_drain: %s\n", err);
		return 1;
	}
	t0 = bench_now_ns();
	hub = start_hub(conf, log, &s);
	/* Counting the stored readings scans those after the counters' mark:
	 * about 5 ms at 60,000 here. Polled every 2 ms, this loop took most of
	 * a core from the hub it times, and its read snapshots kept the hub's
	 * checkpoints from restarting the WAL. Every 20 ms costs at most 20 ms
	 * of the drain's time (0.3% of a 7 s drain). */
	for (int64_t waited = 0; waited < 600000; waited += 20) {
		if (store_stats(st, &ss) == DHO_OK && ss.readings - base + ss.quarantined >= n) {
			t_end = bench_now_ns();
			break;
		}
		usleep(20 * 1000);
	}
	cpu = bench_proc_cpu_us(hub);
	hwm = bench_proc_hwm_kib(hub);
	store_close(st);
	bench_stop(hub, SIGTERM);
	bench_mqtt_close(watch);
	if (t_end == 0 || ss.readings - base != n) {
		fprintf(stderr, "bench_drain: the hub stored %lld readings and quarantined %lld of "
		        "%lld (see %s)\n", (long long)(ss.readings - base), (long long)ss.quarantined,
		        (long long)n, log);
		return 1;
	}
	hub_rate = (double)n / ((double)(t_end - t0) / 1e9);
	c2 = ceiling();
	bench_stop(broker, SIGTERM);
	cmax = c1 > c2 ? c1 : c2;
	both = 1.0 / (1.0 / cmax + 1.0 / fl);

	printf("bench_drain: a backlog of %lld QoS-1 readings from %d devices (one patient each,\n"
	       "  COPD program: 2 thresholds, missing, NEWS2), Mosquitto on loopback; history: %ld\n"
	       "  days x %ld readings a day per patient\n",
	       (long long)n, drain_patients, drain_days, drain_days ? drain_per_day : 0);
	printf("  ceiling, plain Paho subscriber:   %9.0f readings/s  (runs: %.0f before, %.0f after)\n",
	       cmax, c1, c2);
	printf("  floor, 1 transaction per reading: %9.0f readings/s  (the faster of:)\n", fl);
	printf("    checkpoints in line:            %9.0f readings/s  (SQLite's default)\n",
	       fl_inline);
	printf("    checkpoints on their own thread:%9.0f readings/s  (as the hub does)\n",
	       fl_thread);
	printf("  both in series:                   %9.0f readings/s\n", both);
	printf("  hub drain:                        %9.0f readings/s  (hub CPU %.1f us per reading, "
	       "all %lld stored)\n", hub_rate, (double)cpu / (double)n, (long long)n);
	printf("  ratio hub / both:                 %9.2f  (target >= %.2f)\n", hub_rate / both,
	       drain_days > 0 ? 0.6 : 0.7);
	printf("  hub peak RSS:                     %9.1f MiB\n", (double)hwm / 1024.0);
	bench_rmdir(dir);
	return 0;
}
