/*
 * bench_scale: the hub's per-reading cost with a region's worth of history.
 *
 * 100,000 enrolled patients, each with a device, and 30 days of history at
 * 20 messages a day (60 million readings, each message with its seq, as
 * devices send them). The per-reading figure is the hub's whole ingest step
 * for one MQTT message, in process: decode, attribute to the patient,
 * claim the seq, store, evaluate the COPD program's rules, commit. It is
 * timed on the database with the patients but no history ("empty"), then
 * again with the history in place; the ratio is the target (within 2x).
 * Those messages are quiet (one normal reading each); a third run with the
 * history sends whole NEWS2 sets that open alerts, so that the path with
 * alerts firing and NEWS2 scored is timed too. Every run checks that each
 * reading it sent was stored and none quarantined. The store has the
 * daemon's cache (store_cache()).
 * The history is written in bulk through the store, patient by patient
 * (the time that takes is printed too, but it is not the hub's path).
 *
 *   bench_scale [--patients N] [--days D] [--per-day K] [--messages M]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_db.h"
#include "config.h"
#include "engine.h"
#include "ingest.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define DAY 86400

static const char scale_conf[] =
	"[hub]\nlog_level = error\n"
	"[broker]\ntenants = t\n"
	"[tenant:t]\nhome_team = home-nursing/t\nhospital_days = 0\n"
	"[team:home-nursing/t]\n"
	"[program:copd]\n"
	"threshold.spo2 = red<88 yellow<90\n"
	"baseline.spo2 = yellow:-4 red:-6 over 7d min 5\n"
	"threshold.pulse = red<=40 yellow>=111 red>=131\n"
	"trend.weight = yellow:+2/3d red:+2/2d\n"
	"missing.spo2 = 26h red:48h\n"
	"news2 = scale1\n";

static long scale_patients = 100000, scale_days = 30, scale_per_day = 20, scale_messages = 20000;

static void
die(const char *what, int rc, struct store *st)
{
	fprintf(stderr, "bench_scale: %s: %s%s%s\n", what, dho_strerror(rc), st ? ": " : "",
	        st ? store_errmsg(st) : "");
	exit(1);
}

/* A full NEWS2 set in one message, SpO2 86 % on air with a fast breath:
 * the SpO2 threshold and NEWS2 (total 7: high) both fire. */
static const char scale_alerting[] =
	"{\"seq\": %llu, \"readings\": [{\"metric\": \"resp_rate\", \"value\": 25},"
	" {\"metric\": \"spo2\", \"value\": 86}, {\"metric\": \"on_oxygen\", \"value\": 0},"
	" {\"metric\": \"bp_sys\", \"value\": 118}, {\"metric\": \"pulse\", \"value\": 96},"
	" {\"metric\": \"consciousness\", \"value\": \"A\"}, {\"metric\": \"temp\", \"value\": 37.2}]}";

/* The readings and quarantine counts now. */
static void
counts(struct store *st, int64_t *readings, int64_t *quarantined)
{
	struct store_stats ss;
	int rc;

	if ((rc = store_stats(st, &ss)) != DHO_OK)
		die("stats", rc, st);
	*readings = ss.readings;
	*quarantined = ss.quarantined;
}

/*
 * M messages to patients spread over the population, through
 * ingest_message(); returns microseconds per message. Quiet messages hold
 * one normal reading (SpO2 or weight); alerting ones a whole NEWS2 set
 * that fires. Exits unless every reading was stored and none quarantined.
 */
static double
timed(const struct config *cfg, struct store *st, struct engine *eng, dho_time_t now,
      uint64_t seq_base, bool alerting)
{
	uint64_t x = 88172645463325252ULL;
	char topic[96], body[512];
	int64_t t0, r0, q0, r1, q1, per = alerting ? 7 : 1;
	int rc;

	counts(st, &r0, &q0);
	t0 = bench_now_ns();

	for (long i = 0; i < scale_messages; i++) {
		long k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (long)(x % (uint64_t)scale_patients);
		snprintf(topic, sizeof(topic), "dho/v1/t/dev/d%ld/reading", k);
		if (alerting)
			snprintf(body, sizeof(body), scale_alerting,
			         (unsigned long long)(seq_base + (uint64_t)i));
		else
			snprintf(body, sizeof(body), "{\"seq\": %llu, \"metric\": \"%s\", \"value\": %s}",
			         (unsigned long long)(seq_base + (uint64_t)i), i % 2 ? "spo2" : "weight",
			         i % 2 ? "95" : "78.2");
		rc = ingest_message(cfg, st, eng, topic, body, strlen(body), 0, now);
		if (rc != DHO_OK)
			die("ingest_message", rc, st);
	}
	t0 = bench_now_ns() - t0;
	counts(st, &r1, &q1);
	if (r1 - r0 != per * scale_messages || q1 != q0) {
		fprintf(stderr, "bench_scale: %lld readings stored and %lld quarantined of %lld sent\n",
		        (long long)(r1 - r0), (long long)(q1 - q0), (long long)(per * scale_messages));
		exit(1);
	}
	return (double)t0 / 1e3 / (double)scale_messages;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_scale [--patients N] [--days D] [--per-day K] [--messages M]\n"
	        "  --patients N  enrolled patients, one device each (default 100000)\n"
	        "  --days D      days of history (default 30)\n"
	        "  --per-day K   messages per patient and day, one reading each (default 20)\n"
	        "  --messages M  messages timed through the ingest path (default 20000)\n"
	        "Set TMPDIR to put the database (about 5.5 GiB at the defaults) elsewhere.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "patients", required_argument, NULL, 'p' },
		{ "days", required_argument, NULL, 'd' },
		{ "per-day", required_argument, NULL, 'k' },
		{ "messages", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[4096], conf[4200], db[4200], err[DHO_ERRLEN];
	struct config *cfg = NULL;
	struct engine *eng = NULL;
	struct store *st = NULL;
	dho_time_t now = timefmt_now();
	struct store_stats ss;
	double empty_us, full_us, alert_us, build_s;
	int64_t rows, t0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': scale_patients = (long)bench_count("patients", optarg, 1, 10000000); break;
		case 'd': scale_days = (long)bench_count("days", optarg, 1, 365); break;
		case 'k': scale_per_day = (long)bench_count("per-day", optarg, 1, 1440); break;
		case 'm': scale_messages = (long)bench_count("messages", optarg, 1, 100000000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_level(LOG_ERROR);
	bench_tmpdir("scale", dir, sizeof(dir));
	bench_write_file(dir, "hub.conf", scale_conf, conf, sizeof(conf));
	snprintf(db, sizeof(db), "%s/hub.db", dir);
	if ((rc = config_load(conf, engine_config_check, stderr, &cfg)) != DHO_OK)
		die("config", rc, NULL);
	/* The daemon's write connection, cache and all. */
	if (store_open(db, STORE_CREATE, &st, err, sizeof(err)) != DHO_OK ||
	    store_cache(st, 131072) != DHO_OK ||
	    engine_new(cfg, st, &eng, err, sizeof(err)) != DHO_OK) {
		fprintf(stderr, "bench_scale: %s\n", err);
		return 1;
	}
	bench_enroll(st, scale_patients, now - (scale_days + 1) * DAY);
	timed(cfg, st, eng, now, 1000000000ULL, false);   /* warm up */
	empty_us = timed(cfg, st, eng, now, 2000000000ULL, false);

	t0 = bench_now_ns();
	rows = bench_history(st, scale_patients, scale_days, scale_per_day, now);
	build_s = (double)(bench_now_ns() - t0) / 1e9;

	timed(cfg, st, eng, now, 3000000000ULL, false);   /* warm up */
	full_us = timed(cfg, st, eng, now, 4000000000ULL, false);
	alert_us = timed(cfg, st, eng, now, 5000000000ULL, true);
	if (store_stats(st, &ss) != DHO_OK)
		die("stats", DHO_EIO, st);

	printf("bench_scale: %ld patients, %ld days x %ld messages a day = %lld stored readings "
	       "(history written in %.0f s, %.0f rows/s)\n", scale_patients, scale_days,
	       scale_per_day, (long long)rows, build_s, (double)rows / build_s);
	printf("  ingest, one message = decode + attribute + seq + store + rules + commit:\n");
	printf("    empty database (patients only): %8.1f us per reading  (%6.0f readings/s)\n",
	       empty_us, 1e6 / empty_us);
	printf("    with the history:               %8.1f us per reading  (%6.0f readings/s)\n",
	       full_us, 1e6 / full_us);
	printf("    ratio full/empty:               %8.2f  (target <= 2)\n", full_us / empty_us);
	printf("    with the history, alerting:     %8.1f us per message of a NEWS2 set (7 readings;\n"
	       "                                    SpO2 threshold and NEWS2 fire; %lld alerts open)\n",
	       alert_us, (long long)ss.open);
	printf("  every timed reading stored, none quarantined\n");
	printf("  database size:                    %8.0f MiB\n",
	       (double)bench_db_size(db) / (1024.0 * 1024.0));
	printf("  peak RSS:                         %8.1f MiB  (target < 256)\n",
	       (double)bench_peak_rss_kib(0) / 1024.0);
	engine_free(eng);
	store_close(st);
	config_free(cfg);
	bench_rmdir(dir);
	return 0;
}
