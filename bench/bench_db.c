/*
 * bench_db.c: see bench_db.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_db.h"

#define DAY 86400

static const enum metric bench_metrics[] = {
	METRIC_SPO2, METRIC_PULSE, METRIC_SPO2, METRIC_PULSE, METRIC_WEIGHT,
	METRIC_BP_SYS, METRIC_BP_DIA, METRIC_TEMP,
};
#define NMETRICS (sizeof(bench_metrics) / sizeof(bench_metrics[0]))

static void
die(const char *what, int rc, struct store *st)
{
	fprintf(stderr, "bench: %s: %s: %s\n", what, dho_strerror(rc), store_errmsg(st));
	exit(1);
}

static double
value_of(enum metric m, long i)
{
	switch (m) {
	case METRIC_SPO2: return 94.0 + (double)(i % 4);
	case METRIC_PULSE: return 64.0 + (double)(i % 13);
	case METRIC_WEIGHT: return 78.0 + (double)(i % 5) * 0.1;
	case METRIC_BP_SYS: return 120.0 + (double)(i % 15);
	case METRIC_BP_DIA: return 75.0 + (double)(i % 9);
	default: return 36.5 + (double)(i % 5) * 0.1;
	}
}

void
bench_enroll(struct store *st, long n, dho_time_t from)
{
	int rc;

	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc, st);
	for (long k = 0; k < n; k++) {
		struct store_patient p = { .hospital_days = 0 };
		char dev[32];

		snprintf(p.id, sizeof(p.id), "p%ld", k);
		snprintf(p.tenant, sizeof(p.tenant), "t");
		snprintf(p.program, sizeof(p.program), "copd");
		p.discharged = from;
		p.enrolled_at = from;
		snprintf(dev, sizeof(dev), "d%ld", k);
		if ((rc = store_patient_add(st, &p)) != DHO_OK ||
		    (rc = store_device_assign(st, dev, p.id, from)) != DHO_OK)
			die("enrolling", rc, st);
	}
	if ((rc = store_commit(st)) != DHO_OK)
		die("commit", rc, st);
}

int64_t
bench_history(struct store *st, long n, long days, long per_day, dho_time_t now)
{
	dho_time_t start = now - days * DAY - 3600;
	long step = DAY / per_day;
	int64_t rows = 0, batch = 0;
	int rc;

	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc, st);
	for (long k = 0; k < n; k++) {
		struct store_reading sr;

		memset(&sr, 0, sizeof(sr));
		snprintf(sr.patient, sizeof(sr.patient), "p%ld", k);
		snprintf(sr.device, sizeof(sr.device), "d%ld", k);
		for (long j = 0; j < days * per_day; j++) {
			enum metric m = bench_metrics[(size_t)j % NMETRICS];

			sr.r.metric = m;
			sr.r.value = value_of(m, j + k);
			sr.r.decimals = m == METRIC_WEIGHT || m == METRIC_TEMP ? 1 : 0;
			sr.r.measured_at = start + j * step + (k % 600);
			sr.received_at = sr.r.measured_at;
			sr.has_seq = true;
			sr.seq = (uint64_t)j + 1;
			if ((rc = store_claim_seq(st, sr.device, sr.seq)) != DHO_OK ||
			    (rc = store_reading_add(st, &sr)) != DHO_OK)
				die("history", rc, st);
			rows++;
			if (++batch == 500000) {
				if ((rc = store_commit(st)) != DHO_OK || (rc = store_begin(st)) != DHO_OK)
					die("commit", rc, st);
				batch = 0;
			}
		}
		if ((k + 1) % 10000 == 0)
			fprintf(stderr, "bench: history of %ld patients written\n", k + 1);
	}
	if ((rc = store_commit(st)) != DHO_OK)
		die("commit", rc, st);
	return rows;
}
