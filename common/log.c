/*
 * log.c: leveled logging to stderr. The level is a process-wide setting
 * made once at start-up (a configuration constant in the sense of STYLE.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "log.h"

static enum log_level log_threshold = LOG_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return 1;
}

static void log_vwrite(enum log_level level, const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024], safe[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* Messages carry untrusted text (topics, reasons that quote a
	 * payload's fields, ids): escaped as a whole, no message can end its
	 * line early and forge one that starts with our time stamp. */
	escape_str(line, safe, sizeof(safe));
	/* One fprintf per line keeps lines from threads whole. */
	fprintf(stderr, "%s.%03ldZ dhohub %s: %s%s%s\n", stamp, ts.tv_nsec / 1000000,
	        log_names[level], safe, suffix ? ": " : "", suffix ? suffix : "");
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vwrite(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	char err[128];
	va_list ap;

	if (!log_enabled(LOG_WARN))
		return;
	if (strerror_r(saved, err, sizeof(err)) != 0)
		snprintf(err, sizeof(err), "errno %d", saved);
	va_start(ap, fmt);
	log_vwrite(LOG_WARN, err, fmt, ap);
	va_end(ap);
	errno = saved;
}

/*
 * The state of log_limited(): one slot per recent key, and the lines of the
 * current second across all keys. Process-wide like the threshold, since
 * stderr is; lock guards every field of it.
 */
#define LOG_KEYS 64
#define LOG_KEY_LEN 96
#define LOG_BURST 10

static struct {
	pthread_mutex_t lock;
	struct {
		char key[LOG_KEY_LEN];
		time_t sec;             /* when the key last wrote a line */
		unsigned long held;     /* lines not written since */
	} slot[LOG_KEYS];
	time_t sec;                     /* the second all_lines counts */
	unsigned all_lines;
} log_rate = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
log_limited(enum log_level level, const char *key, const char *fmt, ...)
{
	struct timespec ts;
	char count[96];
	size_t i, pick = 0;
	unsigned long held = 0;
	bool write = false;
	va_list ap;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log_rate.lock);
	for (i = 0; i < LOG_KEYS; i++) {
		if (strncmp(log_rate.slot[i].key, key, LOG_KEY_LEN - 1) == 0 &&
		    log_rate.slot[i].key[0] != '\0')
			break;
		if (log_rate.slot[i].sec < log_rate.slot[pick].sec)
			pick = i;
	}
	if (i == LOG_KEYS) {
		/* A new key takes the slot unused longest. */
		i = pick;
		snprintf(log_rate.slot[i].key, LOG_KEY_LEN, "%s", key);
		log_rate.slot[i].sec = 0;
		log_rate.slot[i].held = 0;
	}
	if (log_rate.sec != ts.tv_sec) {
		log_rate.sec = ts.tv_sec;
		log_rate.all_lines = 0;
	}
	if (log_rate.slot[i].sec != ts.tv_sec && log_rate.all_lines < LOG_BURST) {
		write = true;
		held = log_rate.slot[i].held;
		log_rate.slot[i].held = 0;
		log_rate.slot[i].sec = ts.tv_sec;
		log_rate.all_lines++;
	} else {
		log_rate.slot[i].held++;
	}
	pthread_mutex_unlock(&log_rate.lock);
	if (!write)
		return;
	if (held > 0)
		snprintf(count, sizeof(count), "and %lu more like it not logged", held);
	va_start(ap, fmt);
	log_vwrite(level, held > 0 ? count : NULL, fmt, ap);
	va_end(ap);
}
