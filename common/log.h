/*
 * log: the daemon's one logging module. Lines go to stderr with a UTC time
 * stamp and level. The level is checked before anything is formatted.
 * log_warn() appends strerror(errno) as captured at the call; log_warnx()
 * does not.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
int log_parse_level(const char *s, enum log_level *out);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A line of a kind that a flood of bad input can repeat (a quarantine
 * reason): at most one a second for each key, and at most ten a second
 * over all keys. A line held back is counted, and the count is added to
 * the next line of its key that is written ("and 41 more like it not
 * logged").
 */
void log_limited(enum log_level level, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
