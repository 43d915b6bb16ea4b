/*
 * timefmt: parsing and printing of times and durations as the command
 * line, the configuration and the documents write them.
 *
 * Bare dates and BLE Date Time fields are local time in the hub's timezone.
 * The timezone is a process-wide configuration constant: timefmt_set_zone()
 * sets TZ once at start-up, before any thread exists.
 */
#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include "dho.h"

/* Room for "2026-11-23T08:15:00Z" and its terminator. */
#define TIMEFMT_LEN 21

/* The one check of a zone name: "UTC", or the name of a compiled zone file
 * under /usr/share/zoneinfo ("Europe/Oslo"). DHO_EINVAL with a sentence in
 * why (whylen bytes) otherwise. */
int timefmt_check_zone(const char *zone, char *why, size_t whylen);

/* Sets the zone used for local times ("Europe/Oslo"). Returns DHO_EINVAL for
 * a name timefmt_check_zone() refuses. */
int timefmt_set_zone(const char *zone);

/* Parses RFC 3339 (fractional seconds are dropped) or a bare YYYY-MM-DD
 * (local midnight). */
int timefmt_parse(const char *s, dho_time_t *out);

/* Parses "90s", "15m", "26h", "3d" (a bare number is seconds) into seconds. */
int timefmt_parse_duration(const char *s, int64_t *out);

/* Writes t as RFC 3339 UTC with Z into buf (at least TIMEFMT_LEN bytes). */
void timefmt_format(dho_time_t t, char buf[TIMEFMT_LEN]);

/* Converts a local civil time in the hub's zone to UTC seconds. */
int timefmt_from_local(int year, int mon, int day, int hour, int min, int sec,
                       dho_time_t *out);

/* Writes a duration as the shortest exact form ("3d", "26h", "90s"). */
void timefmt_format_duration(int64_t secs, char *buf, size_t len);

/*
 * The calendar, proleptic Gregorian, in one place (the BLE Date Time
 * arithmetic uses it too). timefmt_month_days() is the days of month mon
 * (1-12) of year y, 0 for another mon; timefmt_days_from_civil() the days
 * since 1970-01-01 of a date, negative before it (H. Hinnant's algorithm,
 * exact for every year of an int); timefmt_civil_from_days() its inverse.
 */
int timefmt_month_days(int y, int mon);
int64_t timefmt_days_from_civil(int y, int m, int d);
void timefmt_civil_from_days(int64_t days, int *y, int *m, int *d);

/* The current time. */
dho_time_t timefmt_now(void);

#endif
