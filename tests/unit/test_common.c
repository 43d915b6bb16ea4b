/*
 * test_common.c: the shared grammars: RFC 3339 times, bare dates in the
 * hub's zone, durations, identifiers and team names; and the escaping of
 * untrusted text for log lines and terminals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dho.h"
#include "dynbuf.h"
#include "escape.h"
#include "expect.h"
#include "ident.h"
#include "strmap.h"
#include "timefmt.h"

#define T_0815Z ((dho_time_t)1795421700)        /* 2026-11-23T08:15:00Z */

struct time_case {
	const char *in;
	int rc;
	dho_time_t out;         /* when DHO_OK */
};

static const struct time_case time_cases[] = {
	{ "2026-11-23T08:15:00Z", DHO_OK, T_0815Z },
	{ "2026-11-23t08:15:00z", DHO_OK, T_0815Z },
	{ "2026-11-23T09:15:00+01:00", DHO_OK, T_0815Z },
	{ "2026-11-23T10:15:00+02:00", DHO_OK, T_0815Z },
	{ "2026-11-23T02:45:00-05:30", DHO_OK, T_0815Z },
	{ "2026-11-23T08:15:00+00:00", DHO_OK, T_0815Z },
	{ "2026-11-23T08:15:00-00:00", DHO_OK, T_0815Z },
	{ "2026-11-23T00:15:00-08:00", DHO_OK, T_0815Z },
	{ "2026-11-23T08:15:00.5Z", DHO_OK, T_0815Z },
	{ "2026-11-23T08:15:00.999999999Z", DHO_OK, T_0815Z },
	{ "2026-11-23T09:15:00.123+01:00", DHO_OK, T_0815Z },
	{ "1970-01-01T00:00:00Z", DHO_OK, 0 },
	{ "2024-02-29T00:00:00Z", DHO_OK, 1709164800 },
	{ "2000-02-29T00:00:00Z", DHO_OK, 951782400 },
	{ "2026-12-31T23:59:59Z", DHO_OK, 1798761599 },
	/* Impossible dates and times. */
	{ "2026-02-29T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-02-30T00:00:00Z", DHO_ERANGE, 0 },
	{ "1900-02-29T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-04-31T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-13-01T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-00-10T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-11-00T00:00:00Z", DHO_ERANGE, 0 },
	{ "2026-11-23T24:00:00Z", DHO_ERANGE, 0 },
	{ "2026-11-23T08:60:00Z", DHO_ERANGE, 0 },
	{ "2026-11-23T08:15:61Z", DHO_ERANGE, 0 },
	{ "2026-11-23T08:15:00+24:00", DHO_ERANGE, 0 },
	{ "2026-11-23T08:15:00+01:60", DHO_ERANGE, 0 },
	{ "1969-12-31T23:59:59Z", DHO_ERANGE, 0 },
	/* Not RFC 3339. */
	{ "", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15Z", DHO_EINVAL, 0 },
	{ "2026-11-23T8:15:00Z", DHO_EINVAL, 0 },
	{ "2026-11-23 08:15:00Z", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00+0100", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00+01", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00.Z", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00Z ", DHO_EINVAL, 0 },
	{ "2026-11-23T08:15:00Zjunk", DHO_EINVAL, 0 },
	{ " 2026-11-23T08:15:00Z", DHO_EINVAL, 0 },
	{ "26-11-23T08:15:00Z", DHO_EINVAL, 0 },
	{ "2026/11/23", DHO_EINVAL, 0 },
	{ "2026-11-23x", DHO_EINVAL, 0 },
	{ "2026-1-23", DHO_EINVAL, 0 },
	{ "yesterday", DHO_EINVAL, 0 },
	{ "1795421700", DHO_EINVAL, 0 },
};

static void
test_parse(void **state)
{
	dho_time_t t;

	(void)state;
	assert_int_equal(timefmt_set_zone("UTC"), DHO_OK);
	for (size_t i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		const struct time_case *c = &time_cases[i];
		int rc;

		t = -12345;
		rc = timefmt_parse(c->in, &t);
		if (rc != c->rc)
			print_error("case \"%s\": rc %d\n", c->in, rc);
		EXPECT(c->in, rc == c->rc);
		if (c->rc == DHO_OK)
			EXPECT(c->in, t == c->out);
	}
	assert_int_equal(timefmt_parse(NULL, &t), DHO_EINVAL);
}

/* A bare date is local midnight in the hub's zone. */
static void
test_bare_date(void **state)
{
	static const struct time_case oslo[] = {
		{ "2026-11-23", DHO_OK, 1795388400 },   /* CET: 2026-11-22T23:00:00Z */
		{ "2026-07-01", DHO_OK, 1782856800 },   /* CEST: 2026-06-30T22:00:00Z */
		{ "2026-03-29", DHO_OK, 1774738800 },   /* the day DST starts, at 02:00 */
		{ "2026-10-25", DHO_OK, 1792879200 },   /* the day DST ends (still CEST at midnight) */
		{ "2026-02-30", DHO_ERANGE, 0 },
		{ "2026-02-29", DHO_ERANGE, 0 },
		{ "2024-02-29", DHO_OK, 1709161200 },
	};
	dho_time_t t;

	(void)state;
	assert_int_equal(timefmt_set_zone("Europe/Oslo"), DHO_OK);
	for (size_t i = 0; i < sizeof(oslo) / sizeof(oslo[0]); i++) {
		t = 0;
		EXPECT(oslo[i].in, timefmt_parse(oslo[i].in, &t) == oslo[i].rc);
		if (oslo[i].rc == DHO_OK)
			EXPECT(oslo[i].in, t == oslo[i].out);
	}
	/* An explicit offset does not depend on the zone. */
	assert_int_equal(timefmt_parse("2026-11-23T08:15:00Z", &t), DHO_OK);
	assert_true(t == T_0815Z);
	/* Local civil times, as BLE Date Time fields carry them. */
	assert_int_equal(timefmt_from_local(2026, 11, 23, 9, 15, 0, &t), DHO_OK);
	assert_true(t == T_0815Z);
	assert_int_equal(timefmt_from_local(2026, 7, 1, 10, 15, 0, &t), DHO_OK);
	assert_true(t == 1782893700);                   /* 2026-07-01T08:15:00Z */
	assert_int_equal(timefmt_from_local(2026, 2, 30, 0, 0, 0, &t), DHO_ERANGE);
	assert_int_equal(timefmt_from_local(2026, 11, 23, 24, 0, 0, &t), DHO_ERANGE);
	assert_int_equal(timefmt_from_local(2026, 11, 23, 8, -1, 0, &t), DHO_ERANGE);

	assert_int_equal(timefmt_set_zone("UTC"), DHO_OK);
	assert_int_equal(timefmt_parse("2026-11-23", &t), DHO_OK);
	assert_true(t == 1795392000);                   /* 2026-11-23T00:00:00Z */
}

static void
test_set_zone(void **state)
{
	static const char *const bad[] = {
		"", "Mars/Olympus_Mons", "../../etc/passwd", "Europe/../Europe/Oslo",
		"Europe", "zone.tab", "CET-1CEST",
	};

	(void)state;
	assert_int_equal(timefmt_set_zone("Europe/Oslo"), DHO_OK);
	assert_int_equal(timefmt_set_zone("UTC"), DHO_OK);
	assert_int_equal(timefmt_set_zone(NULL), DHO_EINVAL);
	/* A directory or a table is no zone: glibc would silently use UTC. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(bad[i], timefmt_set_zone(bad[i]) == DHO_EINVAL);
	{
		char longname[400];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(timefmt_set_zone(longname), DHO_EINVAL);
	}
}

static void
test_format(void **state)
{
	char buf[TIMEFMT_LEN];
	dho_time_t t;

	(void)state;
	timefmt_format(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	timefmt_format(T_0815Z, buf);
	assert_string_equal(buf, "2026-11-23T08:15:00Z");
	assert_int_equal(timefmt_parse(buf, &t), DHO_OK);
	assert_true(t == T_0815Z);
	assert_true(timefmt_now() > T_0815Z - 5 * 365 * 86400);
}

struct dur_case {
	const char *in;
	int rc;
	int64_t secs;
};

static const struct dur_case dur_cases[] = {
	{ "90s", DHO_OK, 90 },
	{ "15m", DHO_OK, 900 },
	{ "26h", DHO_OK, 93600 },
	{ "3d", DHO_OK, 259200 },
	{ "90", DHO_OK, 90 },
	{ "1s", DHO_OK, 1 },
	{ "3650d", DHO_OK, 3650LL * 86400 },
	{ "0s", DHO_ERANGE, 0 },
	{ "0", DHO_ERANGE, 0 },
	{ "3651d", DHO_ERANGE, 0 },
	{ "99999999999999999999s", DHO_ERANGE, 0 },
	{ "", DHO_EINVAL, 0 },
	{ "s", DHO_EINVAL, 0 },
	{ "-5m", DHO_EINVAL, 0 },
	{ "+5m", DHO_EINVAL, 0 },
	{ " 5m", DHO_EINVAL, 0 },
	{ "5 m", DHO_EINVAL, 0 },
	{ "5m ", DHO_EINVAL, 0 },
	{ "1.5h", DHO_EINVAL, 0 },
	{ "15M", DHO_EINVAL, 0 },
	{ "15mm", DHO_EINVAL, 0 },
	{ "1h30m", DHO_EINVAL, 0 },
	{ "3w", DHO_EINVAL, 0 },
	{ "PT15M", DHO_EINVAL, 0 },
};

static void
test_durations(void **state)
{
	char buf[32];
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *c = &dur_cases[i];

		v = -1;
		EXPECT(c->in, timefmt_parse_duration(c->in, &v) == c->rc);
		if (c->rc == DHO_OK)
			EXPECT(c->in, v == c->secs);
	}
	assert_int_equal(timefmt_parse_duration(NULL, &v), DHO_EINVAL);
	timefmt_format_duration(259200, buf, sizeof(buf));
	assert_string_equal(buf, "3d");
	timefmt_format_duration(93600, buf, sizeof(buf));
	assert_string_equal(buf, "26h");
	timefmt_format_duration(900, buf, sizeof(buf));
	assert_string_equal(buf, "15m");
	timefmt_format_duration(90, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
}

static void
test_ident(void **state)
{
	static const char *const good[] = {
		"P1", "a", "0", "oxy-12", "EHR.12345", "dev_1", "AA:BB:CC:DD:EE:FF", "A-Z.a_z:0-9",
	};
	static const char *const bad[] = {
		"", " ", "P 1", "a/b", "a@b", "p\xc3\xa5", "a\tb", "a\nb", "a;b", "a'b", "a\"b",
		"a,b", "a*b", "a#b", "a+b", "a=b", "a\\b", "a%b", "a$b", "a~b", "a!b", "(a)",
	};
	char s[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		EXPECT(good[i], ident_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(bad[i], !ident_valid(bad[i]));
	assert_false(ident_valid(NULL));
	memset(s, 'x', sizeof(s));
	s[64] = '\0';
	assert_true(ident_valid(s));
	s[64] = 'x';
	s[65] = '\0';
	assert_false(ident_valid(s));
}

static void
test_team(void **state)
{
	static const char *const good[] = {
		"home-nursing/vefsn", "hospital-dho/mosjoen", "a/b", "k.1/n:2",
	};
	static const char *const bad[] = {
		"", "home-nursing", "/vefsn", "home-nursing/", "/", "a/b/c", "a//b", "a b/c",
		"a/b c", "a@x/b", "a/b@x", "a\\b", "home nursing/vefsn",
	};
	char s[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		EXPECT(good[i], ident_team_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(bad[i], !ident_team_valid(bad[i]));
	assert_false(ident_team_valid(NULL));
	/* Each part is an identifier of at most 64 characters. */
	memset(s, 'k', 64);
	s[64] = '/';
	memset(s + 65, 'n', 64);
	s[129] = '\0';
	assert_true(ident_team_valid(s));
	assert_true(strlen(s) <= DHO_TEAM_MAX);
	memset(s, 'k', 65);
	s[65] = '/';
	memset(s + 66, 'n', 64);
	s[130] = '\0';
	assert_false(ident_team_valid(s));
	memset(s, 'k', 64);
	s[64] = '/';
	memset(s + 65, 'n', 65);
	s[130] = '\0';
	assert_false(ident_team_valid(s));
}

struct escape_case {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *out;
	bool clean;
};

static const struct escape_case escape_cases[] = {
	{ "called patient", 0, "called patient", true },
	{ "Bjørn Ødegård", 0, "Bjørn Ødegård", true },
	{ "line\nforged", 0, "line\\nforged", false },
	{ "a\r\nb\tc", 0, "a\\r\\nb\\tc", false },
	{ "\x1b[31mred", 0, "\\x1B[31mred", false },
	{ "del\x7f", 0, "del\\x7F", false },
	{ "back\\slash", 0, "back\\\\slash", true },
	{ "nul\0x", 5, "nul\\x00x", false },
	{ "bad \xff\xfe", 0, "bad \\xFF\\xFE", false },
	{ "overlong \xc0\xaf", 0, "overlong \\xC0\\xAF", false },
	{ "surrogate \xed\xa0\x80", 0, "surrogate \\xED\\xA0\\x80", false },
	{ "cut \xe2\x82", 0, "cut \\xE2\\x82", false },
	{ "c1 \xc2\x85", 0, "c1 \\u0085", false },
	{ "ls \xe2\x80\xa8", 0, "ls \\u2028", false },
	{ "rlo \xe2\x80\xae", 0, "rlo \\u202E", false },
	{ "emoji \xf0\x9f\x98\x80", 0, "emoji \xf0\x9f\x98\x80", true },
	{ "", 0, "", true },
};

static void
test_escape(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		const struct escape_case *c = &escape_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);

		escape_text(c->in, len, out, sizeof(out));
		EXPECT(c->out, strcmp(out, c->out) == 0);
		EXPECT(c->out, escape_clean(c->in, len) == c->clean);
		EXPECT(c->out, strchr(out, '\n') == NULL && strchr(out, '\r') == NULL);
	}
	assert_string_equal(escape_str(NULL, out, sizeof(out)), "");
}

/* A result that does not fit is cut at a whole escape and ends in "...". */
static void
test_escape_cut(void **state)
{
	char out[8], big[64];

	(void)state;
	assert_string_equal(escape_str("abcdefg", out, sizeof(out)), "abcdefg");
	assert_string_equal(escape_str("abcdefgh", out, sizeof(out)), "abcd...");
	assert_string_equal(escape_str("ab\ncdefgh", out, sizeof(out)), "ab\\n...");
	assert_string_equal(escape_str("abc\ncdefgh", out, sizeof(out)), "abc...");
	assert_string_equal(escape_str("\x1b\x1b\x1b", out, sizeof(out)), "\\x1B...");
	assert_string_equal(escape_str("\xc3\xa5\xc3\xa5\xc3\xa5\xc3\xa5", out, sizeof(out)),
	                    "\xc3\xa5\xc3\xa5...");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	escape_str(big, out, 4);
	assert_string_equal(out, "...");
}

/* The bounded buffer: appends, the cut at the maximum, both storages. */
static void
test_dynbuf(void **state)
{
	struct dynbuf b;
	char small[8], *p;

	(void)state;
	dynbuf_init(&b, 10);
	assert_string_equal(dynbuf_str(&b), "");
	assert_int_equal(dynbuf_adds(&b, "abc"), DHO_OK);
	assert_int_equal(dynbuf_addf(&b, "-%d-", 42), DHO_OK);
	assert_string_equal(dynbuf_str(&b), "abc-42-");
	assert_false(b.cut);
	/* Past the maximum: what fits is kept, the cut is remembered. */
	assert_int_equal(dynbuf_adds(&b, "wxyz"), DHO_ERANGE);
	assert_string_equal(dynbuf_str(&b), "abc-42-wxy");
	assert_true(b.cut);
	assert_int_equal(dynbuf_adds(&b, "q"), DHO_ERANGE);
	assert_int_equal(dynbuf_len(&b), 10);
	dynbuf_reset(&b);
	assert_false(b.cut);
	assert_string_equal(dynbuf_str(&b), "");
	assert_int_equal(dynbuf_add(&b, "x\0y", 3), DHO_OK);
	assert_int_equal(dynbuf_len(&b), 3);
	p = dynbuf_take(&b);
	assert_non_null(p);
	assert_memory_equal(p, "x\0y", 4);
	free(p);
	assert_string_equal(dynbuf_str(&b), "");
	/* A text longer than the formatter's stack buffer. */
	dynbuf_free(&b);
	dynbuf_init(&b, 1000);
	assert_int_equal(dynbuf_addf(&b, "%0600d", 7), DHO_OK);
	assert_int_equal(dynbuf_len(&b), 600);
	assert_int_equal(dynbuf_str(&b)[599], '7');
	dynbuf_free(&b);
	/* On the caller's array: never past it, always terminated. */
	dynbuf_init_fixed(&b, small, sizeof(small));
	assert_string_equal(small, "");
	assert_int_equal(dynbuf_addf(&b, "%s, %s", "one", "two"), DHO_ERANGE);
	assert_string_equal(small, "one, tw");
	assert_null(dynbuf_take(&b));
	dynbuf_free(&b);
}

/* The map finds what it holds, inserts zero-filled values, never holds
 * more than its maximum (it starts again when full) and grows past its
 * first allocation with every key still found. */
static void
test_strmap(void **state)
{
	struct strmap *m = NULL;
	char key[32], long_key[STRMAP_KEY_MAX + 2];
	int *v;

	(void)state;
	assert_int_equal(strmap_new(0, 10, &m), DHO_EINVAL);
	assert_int_equal(strmap_new(sizeof(int), 1000, &m), DHO_OK);
	assert_null(strmap_get(m, "absent"));
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "P%d", i);
		assert_non_null(v = strmap_put(m, key));
		assert_int_equal(*v, 0);
		*v = i + 1;
	}
	assert_int_equal(strmap_count(m), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "P%d", i);
		assert_non_null(v = strmap_get(m, key));
		assert_int_equal(*v, i + 1);
	}
	/* A key already held keeps its value. */
	assert_int_equal(*(int *)strmap_put(m, "P7"), 8);
	assert_int_equal(strmap_count(m), 1000);
	/* Full: the next new key drops every other entry. */
	assert_non_null(v = strmap_put(m, "new"));
	assert_int_equal(*v, 0);
	assert_int_equal(strmap_count(m), 1);
	assert_null(strmap_get(m, "P7"));
	memset(long_key, 'x', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_null(strmap_put(m, long_key));
	assert_null(strmap_get(m, long_key));
	strmap_clear(m);
	assert_int_equal(strmap_count(m), 0);
	assert_null(strmap_get(m, "new"));
	strmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bare_date),
		cmocka_unit_test(test_set_zone),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_ident),
		cmocka_unit_test(test_team),
		cmocka_unit_test(test_dynbuf),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_escape_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
