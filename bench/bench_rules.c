/*
 * bench_rules: the cost of evaluating a reading's rules against 1 thousand,
 * 100 thousand and 10 million stored readings, side by side.
 *
 * One patient holds every stored reading (the worst case for "the cost
 * does not grow with a patient's history"): the same last 7 days in every
 * run (hourly weight and SpO2, and a full NEWS2 set minutes ago), then as
 * much older history as the size asks for, a reading a minute further back.
 * The program evaluates the heart-failure and COPD kinds of rule: thresholds,
 * a weight trend over 3 days, an SpO2 baseline over 7 days and NEWS2.
 *
 * For each size it times engine_reading() alone ("eval") and
 * store_reading_add() alone ("store"), each pass in a transaction that is
 * rolled back so that every pass sees the same database. (Storing the
 * evaluated readings would fill the next evaluations' windows with a pass's
 * thousands of readings, which no patient measures.)
 * It prints the medians of PASSES passes and their ratio to the first size.
 *
 *   bench_rules [--sizes 1000,100k,10M] [--evals N] [--passes N]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define MAX_SIZES 8
#define MAX_PASSES 31
#define DAY 86400

static const char bench_conf[] =
	"[hub]\nlog_level = error\n"
	"[tenant:t]\nhome_team = home-nursing/t\n"
	"[team:home-nursing/t]\n"
	"[program:bench]\n"
	"threshold.spo2 = red<88 yellow<90\n"
	"baseline.spo2 = yellow:-4 red:-6 over 7d min 5\n"
	"threshold.weight = red>200\n"
	"trend.weight = yellow:+2/3d red:+2/2d\n"
	"threshold.pulse = red<=40 yellow>=111 red>=131\n"
	"news2 = scale1\n";

/* NEWS2's seven parameters at values that score 0. */
static const struct { enum metric m; double v; } news2_normal[] = {
	{ METRIC_RESP_RATE, 16 }, { METRIC_SPO2, 97 }, { METRIC_ON_OXYGEN, 0 },
	{ METRIC_BP_SYS, 125 }, { METRIC_PULSE, 70 }, { METRIC_CONSCIOUSNESS, 0 },
	{ METRIC_TEMP, 36.8 },
};

/* Older history cycles through these. */
static const enum metric history_metrics[] = {
	METRIC_WEIGHT, METRIC_SPO2, METRIC_PULSE, METRIC_BP_SYS, METRIC_BP_DIA, METRIC_TEMP,
};

struct run {
	int64_t size;
	double build_s;
	double db_mib;
	double eval_us;
	double store_us;
};

static void
die(const char *what, int rc, struct store *st)
{
	fprintf(stderr, "bench_rules: %s: %s%s%s\n", what, dho_strerror(rc), st ? ": " : "",
	        st ? store_errmsg(st) : "");
	exit(1);
}

static void
reading_at(struct store_reading *sr, enum metric m, double v, dho_time_t at)
{
	memset(sr, 0, sizeof(*sr));
	snprintf(sr->patient, sizeof(sr->patient), "P1");
	snprintf(sr->device, sizeof(sr->device), "dev-1");
	sr->r.metric = m;
	sr->r.value = v;
	sr->r.decimals = 1;
	sr->r.measured_at = at;
	sr->received_at = at;
}

static double
history_value(enum metric m, int64_t i)
{
	switch (m) {
	case METRIC_WEIGHT: return 80.0 + (double)(i % 7) * 0.1;
	case METRIC_SPO2: return 95.0 + (double)(i % 3);
	case METRIC_PULSE: return 68.0 + (double)(i % 9);
	case METRIC_BP_SYS: return 124.0 + (double)(i % 11);
	case METRIC_BP_DIA: return 78.0 + (double)(i % 5);
	default: return 36.6 + (double)(i % 4) * 0.1;
	}
}

/* Fills st with size readings of patient P1 ending just before now. */
static void
build_history(struct store *st, int64_t size, dho_time_t now)
{
	struct store_reading sr;
	int64_t stored = 0, batch = 0;
	int rc;

	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc, st);
	/* The recent week, the same in every run. */
	for (int h = 7 * 24; h >= 1 && stored < size; h--) {
		reading_at(&sr, METRIC_WEIGHT, 80.0 + (h % 5) * 0.1, now - h * 3600);
		if ((rc = store_reading_add(st, &sr)) != DHO_OK)
			die("add", rc, st);
		reading_at(&sr, METRIC_SPO2, 95.0 + h % 3, now - h * 3600 + 60);
		if ((rc = store_reading_add(st, &sr)) != DHO_OK)
			die("add", rc, st);
		stored += 2;
	}
	for (size_t i = 0; i < sizeof(news2_normal) / sizeof(news2_normal[0]) && stored < size;
	     i++, stored++) {
		reading_at(&sr, news2_normal[i].m, news2_normal[i].v, now - 600 + (dho_time_t)i);
		if ((rc = store_reading_add(st, &sr)) != DHO_OK)
			die("add", rc, st);
	}
	/* Older history, a minute apart, going back from a week ago. */
	for (int64_t i = 0; stored < size; i++, stored++) {
		enum metric m = history_metrics[i % (int64_t)(sizeof(history_metrics) /
		                                               sizeof(history_metrics[0]))];

		reading_at(&sr, m, history_value(m, i), now - 7 * DAY - 60 * (i + 1));
		if ((rc = store_reading_add(st, &sr)) != DHO_OK)
			die("add", rc, st);
		if (++batch == 200000) {
			if ((rc = store_commit(st)) != DHO_OK || (rc = store_begin(st)) != DHO_OK)
				die("commit", rc, st);
			batch = 0;
		}
	}
	if ((rc = store_commit(st)) != DHO_OK)
		die("commit", rc, st);
}

/* One pass of evals readings, evaluated (eval) or stored; returns
 * microseconds per reading. */
static double
pass(struct engine *eng, struct store *st, const struct store_patient *p, int evals,
     dho_time_t now, int eval)
{
	struct store_reading sr;
	int64_t t0;
	int rc;

	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc, st);
	t0 = bench_now_ns();
	for (int i = 0; i < evals; i++) {
		/* Weight and SpO2 in turn, inside the NEWS2 window. */
		if (i % 2 == 0)
			reading_at(&sr, METRIC_WEIGHT, 80.2, now + i % 240);
		else
			reading_at(&sr, METRIC_SPO2, 96, now + i % 240);
		if (!eval && (rc = store_reading_add(st, &sr)) != DHO_OK)
			die("add", rc, st);
		if (eval && (rc = engine_reading(eng, p, &sr, now + i % 240)) != DHO_OK)
			die("engine_reading", rc, st);
	}
	t0 = bench_now_ns() - t0;
	store_rollback(st);
	return (double)t0 / 1e3 / evals;
}

static double
median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

static void
run_size(struct run *out, int evals, int passes)
{
	char dir[4096], conf[4200], db[4200], err[DHO_ERRLEN];
	struct config *cfg = NULL;
	struct engine *eng = NULL;
	struct store *st = NULL;
	struct store_patient p;
	dho_time_t now = timefmt_now();
	double ev[MAX_PASSES], se[MAX_PASSES];
	int64_t t0;
	int rc;

	bench_tmpdir("rules", dir, sizeof(dir));
	bench_write_file(dir, "bench.conf", bench_conf, conf, sizeof(conf));
	snprintf(db, sizeof(db), "%s/bench.db", dir);
	if ((rc = config_load(conf, engine_config_check, stderr, &cfg)) != DHO_OK)
		die("config", rc, NULL);
	if ((rc = store_open(db, STORE_CREATE, &st, err, sizeof(err))) != DHO_OK) {
		fprintf(stderr, "bench_rules: %s\n", err);
		exit(1);
	}
	if ((rc = engine_new(cfg, st, &eng, err, sizeof(err))) != DHO_OK) {
		fprintf(stderr, "bench_rules: %s\n", err);
		exit(1);
	}
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "P1");
	snprintf(p.tenant, sizeof(p.tenant), "t");
	snprintf(p.program, sizeof(p.program), "bench");
	p.discharged = now - 30 * DAY;
	p.hospital_days = 0;
	p.enrolled_at = p.discharged;
	if ((rc = store_begin(st)) != DHO_OK || (rc = store_patient_add(st, &p)) != DHO_OK ||
	    (rc = store_commit(st)) != DHO_OK)
		die("patient", rc, st);

	t0 = bench_now_ns();
	build_history(st, out->size, now);
	out->build_s = (double)(bench_now_ns() - t0) / 1e9;
	out->db_mib = (double)bench_db_size(db) / (1024.0 * 1024.0);
	pass(eng, st, &p, evals, now, 1);   /* warm the page cache and statements */
	for (int i = 0; i < passes; i++) {
		ev[i] = pass(eng, st, &p, evals, now, 1);
		se[i] = pass(eng, st, &p, evals, now, 0);
	}
	out->eval_us = median_of(ev, passes);
	out->store_us = median_of(se, passes);
	engine_free(eng);
	store_close(st);
	config_free(cfg);
	bench_rmdir(dir);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_rules [--sizes LIST] [--evals N] [--passes N]\n"
	        "  --sizes LIST  stored readings per run, e.g. 1000,100k,10M (the default)\n"
	        "  --evals N     evaluations per pass (default 4000)\n"
	        "  --passes N    passes per size; the median is printed (default 5, at most %d)\n"
	        "Prints, per size, the time to evaluate one reading's rules and to store\n"
	        "one reading, and both as ratios to the first size.\n",
	        MAX_PASSES);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "evals", required_argument, NULL, 'e' },
		{ "passes", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t sizes[MAX_SIZES];
	struct run runs[MAX_SIZES];
	size_t nsizes = bench_parse_counts("1000,100k,10M", sizes, MAX_SIZES);
	int evals = 4000, passes = 5, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': nsizes = bench_parse_counts(optarg, sizes, MAX_SIZES); break;
		case 'e': evals = (int)bench_count("evals", optarg, 1, 10000000); break;
		case 'p': passes = (int)bench_count("passes", optarg, 1, MAX_PASSES); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_level(LOG_ERROR);
	printf("bench_rules: one patient holds every stored reading; %d evaluations x %d passes "
	       "(median)\n", evals, passes);
	printf("%12s %9s %9s %14s %7s %14s %7s\n", "readings", "db MiB", "build s", "eval us/read",
	       "ratio", "store us/read", "ratio");
	for (size_t i = 0; i < nsizes; i++) {
		runs[i].size = sizes[i];
		run_size(&runs[i], evals, passes);
		printf("%12lld %9.1f %9.1f %14.2f %7.2f %14.2f %7.2f\n", (long long)runs[i].size,
		       runs[i].db_mib, runs[i].build_s, runs[i].eval_us,
		       runs[i].eval_us / runs[0].eval_us, runs[i].store_us,
		       runs[i].store_us / runs[0].store_us);
		fflush(stdout);
	}
	printf("peak RSS %ld KiB\n", bench_peak_rss_kib(0));
	return 0;
}
