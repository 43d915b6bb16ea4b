/*
 * bench.h: what the benchmarks under bench/ share: a monotonic clock, the
 * peak RSS, a scratch directory and a config file written into it.
 *
 * Every benchmark prints its figures as ratios to a baseline measured in the
 * same run, since the machine is shared and its absolute speed varies.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Nanoseconds on the monotonic clock. */
int64_t bench_now_ns(void);

/* Peak resident set size of this process (or of its waited-for children,
 * children != 0), in KiB. */
long bench_peak_rss_kib(int children);

/* Peak RSS of process pid from /proc/PID/status (VmHWM), in KiB; -1 when it
 * cannot be read. */
long bench_proc_hwm_kib(int pid);

/* CPU time (user + system) of process pid so far, in microseconds; -1
 * when it cannot be read. */
int64_t bench_proc_cpu_us(int pid);

/* Makes a fresh directory under $TMPDIR (or /tmp) named dhobench-TAG-XXXXXX
 * into dir; exits with a message on failure. */
void bench_tmpdir(const char *tag, char *dir, size_t len);

/* Removes dir and everything in it, unless DHO_KEEP_BENCH_DIR is set. */
void bench_rmdir(const char *dir);

/* Writes text to dir/name and the path into path; exits on failure. */
void bench_write_file(const char *dir, const char *name, const char *text, char *path,
                      size_t len);

/* The size of file path in bytes, or -1. */
int64_t bench_file_size(const char *path);

/* The size of SQLite database path with its -wal file, in bytes. */
int64_t bench_db_size(const char *path);

/* Parses "1000,100k,10M" into at most cap counts; returns how many. Exits
 * with a message on a bad list. */
size_t bench_parse_counts(const char *list, int64_t *out, size_t cap);

/* Starts argv with stdout and stderr appended to log; exits on failure. */
int bench_spawn(const char *log, char *const argv[]);

/* Sends sig to pid and waits for it; returns its wait status. */
int bench_stop(int pid, int sig);

/* A TCP port on 127.0.0.1 that nothing listens on now. */
int bench_free_port(void);

/* Waits up to ms for something to listen on 127.0.0.1:port; 0 when it does. */
int bench_wait_port(int port, int ms);

/* Starts Mosquitto on 127.0.0.1:port with its config and log in dir, as a
 * hub deployment must run it (max_queued_messages 0); returns its pid. */
int bench_broker(const char *dir, int port);

/* The value at fraction q (0-1) of the n sorted values v. */
double bench_quantile(const double *v, size_t n, double q);

/* One count for option name ("20000", "100k", "10M") between min and max;
 * exits with a message (status 2) otherwise. */
int64_t bench_count(const char *name, const char *text, int64_t min, int64_t max);

/* A positive finite number for option name; exits with a message otherwise. */
double bench_number(const char *name, const char *text);

/* Compares doubles, for qsort. */
int bench_cmp_double(const void *a, const void *b);

#endif
