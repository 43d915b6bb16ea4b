/*
 * timefmt.c: RFC 3339 times, bare dates and durations.
 *
 * Local civil times are converted with mktime() under TZ, which
 * timefmt_set_zone() sets once at start-up; that is the only process-wide
 * state here and it is configuration.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

int
timefmt_check_zone(const char *zone, char *why, size_t whylen)
{
	char path[256], magic[4];
	FILE *f;
	size_t got;
	int n;

	if (whylen > 0)
		why[0] = '\0';
	if (zone != NULL && strcmp(zone, "UTC") == 0)
		return DHO_OK;
	if (zone == NULL || *zone == '\0' || strstr(zone, "..") != NULL || zone[0] == '/') {
		snprintf(why, whylen, "must be a zone name such as Europe/Oslo or UTC");
		return DHO_EINVAL;
	}
	n = snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(why, whylen, "too long for a zone name");
		return DHO_EINVAL;
	}
	/* Only a compiled zone file will do: fopen() also opens a directory
	 * ("Europe") or a table ("zone.tab"), which glibc then fails to load
	 * and silently replaces by UTC. */
	f = fopen(path, "rb");
	got = f != NULL ? fread(magic, 1, sizeof(magic), f) : 0;
	if (f != NULL)
		fclose(f);
	if (got != sizeof(magic) || memcmp(magic, "TZif", sizeof(magic)) != 0) {
		snprintf(why, whylen, "not a time zone known to this system (see /usr/share/zoneinfo)");
		return DHO_EINVAL;
	}
	return DHO_OK;
}

int
timefmt_set_zone(const char *zone)
{
	char why[DHO_ERRLEN];

	if (timefmt_check_zone(zone, why, sizeof(why)) != DHO_OK)
		return DHO_EINVAL;
	if (setenv("TZ", zone, 1) != 0)
		return DHO_ENOMEM;
	tzset();
	return DHO_OK;
}

/* Reads exactly n digits at *p. */
static int
timefmt_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return DHO_EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return DHO_OK;
}

static int
timefmt_expect(const char **p, char c)
{
	if (**p != c)
		return DHO_EINVAL;
	(*p)++;
	return DHO_OK;
}

int
timefmt_month_days(int y, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (mon < 1 || mon > 12)
		return 0;
	return days[mon - 1] + (mon == 2 && leap);
}

int64_t
timefmt_days_from_civil(int y, int m, int d)
{
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
timefmt_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int
timefmt_valid_date(int y, int mon, int d)
{
	if (y < 1970 || y > 9999 || mon < 1 || mon > 12 || d < 1)
		return DHO_ERANGE;
	return d <= timefmt_month_days(y, mon) ? DHO_OK : DHO_ERANGE;
}

int
timefmt_from_local(int year, int mon, int day, int hour, int min, int sec,
                   dho_time_t *out)
{
	struct tm tm = { 0 };
	time_t t;

	if (timefmt_valid_date(year, mon, day) != DHO_OK || hour > 23 || min > 59 ||
	    sec > 60 || hour < 0 || min < 0 || sec < 0)
		return DHO_ERANGE;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return DHO_ERANGE;
	*out = (dho_time_t)t;
	return DHO_OK;
}

int
timefmt_parse(const char *s, dho_time_t *out)
{
	const char *p = s;
	int y, mon, d, h, mi, sec, oh, om, sign;
	struct tm tm = { 0 };
	dho_time_t t;

	if (s == NULL)
		return DHO_EINVAL;
	if (timefmt_digits(&p, 4, &y) || timefmt_expect(&p, '-') ||
	    timefmt_digits(&p, 2, &mon) || timefmt_expect(&p, '-') ||
	    timefmt_digits(&p, 2, &d))
		return DHO_EINVAL;
	if (timefmt_valid_date(y, mon, d) != DHO_OK)
		return DHO_ERANGE;
	if (*p == '\0')
		return timefmt_from_local(y, mon, d, 0, 0, 0, out);
	if (*p != 'T' && *p != 't')
		return DHO_EINVAL;
	p++;
	if (timefmt_digits(&p, 2, &h) || timefmt_expect(&p, ':') ||
	    timefmt_digits(&p, 2, &mi) || timefmt_expect(&p, ':') ||
	    timefmt_digits(&p, 2, &sec))
		return DHO_EINVAL;
	if (h > 23 || mi > 59 || sec > 60)
		return DHO_ERANGE;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return DHO_EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		oh = om = 0;
		sign = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (timefmt_digits(&p, 2, &oh) || timefmt_expect(&p, ':') ||
		    timefmt_digits(&p, 2, &om))
			return DHO_EINVAL;
		if (oh > 23 || om > 59)
			return DHO_ERANGE;
	} else {
		return DHO_EINVAL;
	}
	if (*p != '\0')
		return DHO_EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (dho_time_t)timegm(&tm);
	*out = t - sign * (oh * 3600 + om * 60);
	return DHO_OK;
}

int
timefmt_parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return DHO_EINVAL;
	v = strtoll(s, &end, 10);
	switch (*end) {
	case '\0': break;
	case 's': mult = 1; end++; break;
	case 'm': mult = 60; end++; break;
	case 'h': mult = 3600; end++; break;
	case 'd': mult = 86400; end++; break;
	default: return DHO_EINVAL;
	}
	if (*end != '\0')
		return DHO_EINVAL;
	if (v <= 0 || v > 3650LL * 86400 / mult)
		return DHO_ERANGE;
	*out = (int64_t)v * mult;
	return DHO_OK;
}

void
timefmt_format_duration(int64_t secs, char *buf, size_t len)
{
	if (secs > 0 && secs % 86400 == 0)
		snprintf(buf, len, "%lldd", (long long)(secs / 86400));
	else if (secs > 0 && secs % 3600 == 0)
		snprintf(buf, len, "%lldh", (long long)(secs / 3600));
	else if (secs > 0 && secs % 60 == 0)
		snprintf(buf, len, "%lldm", (long long)(secs / 60));
	else
		snprintf(buf, len, "%llds", (long long)secs);
}

void
timefmt_format(dho_time_t t, char buf[TIMEFMT_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, TIMEFMT_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

dho_time_t
timefmt_now(void)
{
	return (dho_time_t)time(NULL);
}
