/*
 * bench.c: see bench.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int64_t
bench_proc_cpu_us(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime), counted after the ")" that ends
	 * the command name. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2 ||
	    hz <= 0)
		return -1;
	return (int64_t)((ut + st) * 1000000ULL / (unsigned long long)hz);
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

int64_t
bench_count(const char *name, const char *text, int64_t min, int64_t max)
{
	int64_t v;

	bench_parse_counts(text, &v, 1);
	if (v < min || v > max) {
		fprintf(stderr, "bench: --%s takes %lld to %lld, not %s\n", name, (long long)min,
		        (long long)max, text);
		exit(2);
	}
	return v;
}

double
bench_number(const char *name, const char *text)
{
	char *end;
	double v = strtod(text, &end);

	if (end == text || *end != '\0' || !(v > 0) || v > 1e12) {
		fprintf(stderr, "bench: --%s takes a positive number, not '%s'\n", name, text);
		exit(2);
	}
	return v;
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
bench_spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return (int)pid;
}

int
bench_stop(int pid, int sig)
{
	int st = 0;

	if (pid <= 0)
		return 0;
	kill(pid, sig);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

static int
bench_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int
bench_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	if (port < 0) {
		fprintf(stderr, "bench: no free port: %s\n", strerror(errno));
		exit(1);
	}
	return port;
}

int
bench_wait_port(int port, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (bench_connect(port))
			return 0;
		usleep(20 * 1000);
	}
	return bench_connect(port) ? 0 : -1;
}

int
bench_broker(const char *dir, int port)
{
	char text[256], conf[4200], log[4200];
	const char *bin = getenv("MOSQUITTO_BIN");
	int pid;

	snprintf(text, sizeof(text),
	         "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
	         "max_queued_messages 0\nset_tcp_nodelay true\n", port);
	bench_write_file(dir, "mosquitto.conf", text, conf, sizeof(conf));
	snprintf(log, sizeof(log), "%s/mosquitto.log", dir);
	{
		char *argv[] = { (char *)(bin && *bin ? bin : "/usr/sbin/mosquitto"), "-c", conf,
		                 NULL };

		pid = bench_spawn(log, argv);
	}
	if (bench_wait_port(port, 5000) != 0) {
		fprintf(stderr, "bench: mosquitto did not start (see %s)\n", log);
		exit(1);
	}
	return pid;
}

double
bench_quantile(const double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}
