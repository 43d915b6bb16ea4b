/*
 * mono: the monotonic clock, for every interval and every timed wait.
 *
 * Deadlines are measured on CLOCK_MONOTONIC so that a change of the wall
 * clock (NTP stepping it, an operator setting it) neither cuts a wait short
 * nor makes it last hours. A condition variable that is waited on with a
 * deadline must be created with mono_cond_init().
 */
#ifndef MONO_H
#define MONO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (from an arbitrary start). */
int64_t mono_ms(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now, for
 * pthread_cond_timedwait() on a condition from mono_cond_init(). */
void mono_deadline(int64_t ms, struct timespec *out);

/* pthread_cond_init() with CLOCK_MONOTONIC as the clock of timed waits.
 * Returns 0 or the error number of pthread. */
int mono_cond_init(pthread_cond_t *cond);

#endif
