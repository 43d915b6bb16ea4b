/*
 * bench.c: see bench.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

long
bench_peak_rss_kib(int children)
{
	struct rusage ru;

	if (getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}

long
bench_proc_hwm_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

void
bench_tmpdir(const char *tag, char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/dhobench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench: cannot make %s: %s\n", dir, strerror(errno));
		exit(1);
	}
}

void
bench_rmdir(const char *dir)
{
	char cmd[4200];

	if (getenv("DHO_KEEP_BENCH_DIR") != NULL) {
		fprintf(stderr, "bench: kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

void
bench_write_file(const char *dir, const char *name, const char *text, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int64_t
bench_file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

int64_t
bench_db_size(const char *path)
{
	char wal[4200];
	int64_t db = bench_file_size(path), w;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	w = bench_file_size(wal);
	return db < 0 ? -1 : db + (w > 0 ? w : 0);
}

size_t
bench_parse_counts(const char *list, int64_t *out, size_t cap)
{
	const char *p = list;
	size_t n = 0;

	while (*p != '\0') {
		char *end;
		double v = strtod(p, &end);

		if (end == p || n == cap)
			goto bad;
		if (*end == 'k' || *end == 'K')
			v *= 1e3, end++;
		else if (*end == 'M' || *end == 'm')
			v *= 1e6, end++;
		if (v < 1 || v > 1e10 || (*end != ',' && *end != '\0'))
			goto bad;
		out[n++] = (int64_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (n > 0)
		return n;
bad:
	fprintf(stderr, "bench: bad count list '%s' (e.g. 1000,100k,10M; at most %zu)\n", list,
	        cap);
	exit(2);
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}
