/*
 * log.c: leveled logging to stderr. The level is a process-wide setting
 * made once at start-up (a configuration constant in the sense of STYLE.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
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
	/* One fprintf per line keeps lines from threads whole. */
	fprintf(stderr, "%s.%03ldZ dhohub %s: %s%s%s\n", stamp, ts.tv_nsec / 1000000,
	        log_names[level], line, suffix ? ": " : "", suffix ? suffix : "");
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
