/*
 * bench_db.h: the enrolled population and the history that bench_scale and
 * bench_drain share, written in bulk through the store.
 *
 * Patient k is "p<k>" of tenant "t" on program "copd", with device "d<k>";
 * every function exits the benchmark with a message when the store fails.
 */
#ifndef BENCH_DB_H
#define BENCH_DB_H

#include <stdint.h>

#include "store.h"

/* Enrolls patients p0 .. p<n-1>, discharged (and their devices assigned)
 * at from. */
void bench_enroll(struct store *st, long n, dho_time_t from);

/*
 * days x per_day readings for each of the n patients, ending an hour
 * before now, each message with its seq (1, 2, ...) as devices send them:
 * SpO2, pulse, weight, blood pressure and temperature in turn, all normal.
 * Returns the number of readings written.
 */
int64_t bench_history(struct store *st, long n, long days, long per_day, dho_time_t now);

#endif
