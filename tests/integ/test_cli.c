/*
 * test_cli.c: the binary's options and commands (docs/man/dhohub.8) as a
 * script or an operator uses them: where the configuration comes
 * from, --db, the JSON listings with their values, exit codes and the
 * messages that name the flag, and the commands' effects, read back through
 * the CLI and, where the daemon is involved, through MQTT. Signals to the
 * daemon (SIGINT, SIGHUP) and the demo are here too.
 *
 * `integ_cli etc` runs the test of the /etc/dhohub/dhohub.conf fallback
 * alone, in a private mount namespace: it needs root (see require_root()).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define PROGRAMS "[program:copd]\nthreshold.spo2 = red<88 yellow<92\nmissing.spo2 = 26h\n"

static void
cli_ok(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cli_ok(struct env *e, const char *fmt, ...)
{
	char args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (cli(e, NULL, args) != 0)
		fail_msg("dhohub %s failed; see %s/cli.err", args, e->dir);
}

/* The exit code of args, which must be want, with stderr naming each of
 * the NULL-terminated strings. */
static void
cli_fails(struct env *e, int want, const char *args, ...)
{
	char *err = NULL;
	int st = cli_stderr(e, NULL, &err, args);
	va_list ap;
	const char *s;

	if (st != want)
		fail_msg("dhohub %s: exit %d, not %d: %s", args, st, want, err);
	va_start(ap, args);
	while ((s = va_arg(ap, const char *)) != NULL)
		if (strstr(err, s) == NULL)
			fail_msg("dhohub %s: stderr does not name '%s': %s", args, s, err);
	va_end(ap);
	free(err);
}

static json_t *
one_patient(json_t *list, const char *id)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p)
		if (strcmp(jstr(p, "id"), id) == 0)
			return p;
	fail_msg("no patient %s in the list", id);
	return NULL;
}

/* Rule i of a rule list has key, spec (unless NULL) and origin. */
static void
expect_rule(const json_t *l, size_t i, const char *key, const char *spec, const char *origin)
{
	const json_t *r = json_array_get(l, i);

	assert_string_equal(jstr(r, "key"), key);
	if (spec != NULL)
		assert_string_equal(jstr(r, "spec"), spec);
	assert_string_equal(jstr(r, "origin"), origin);
}

/* ---- where the configuration comes from ---- */

/* Without -c, $DHOHUB_CONFIG names the file; -c wins over it. */
static void
test_config_from_environment(void **state)
{
	struct env *e = *state;
	char *out;
	int st;
	json_t *l;

	out = run(&st, "DHOHUB_CONFIG=%s %s patient add P1 --tenant vefsn --program copd"
	               " --discharged 2026-12-01 2>>%s/cli.err", e->conf, hub_bin(), e->dir);
	assert_int_equal(st, 0);
	free(out);
	out = run(&st, "DHOHUB_CONFIG=%s/none.conf %s -c %s patient list --json 2>>%s/cli.err",
	          e->dir, hub_bin(), e->conf, e->dir);
	assert_int_equal(st, 0);
	l = json_loads(out, 0, NULL);
	assert_non_null(l);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "id"), "P1");
	json_decref(l);
	free(out);
	/* A named file that does not exist is a configuration error. */
	out = run(&st, "DHOHUB_CONFIG=%s/none.conf %s patient list --json 2>>%s/cli.err", e->dir,
	          hub_bin(), e->dir);
	assert_int_equal(st, 2);
	free(out);
}

/*
 * Without -c and $DHOHUB_CONFIG: /etc/dhohub/dhohub.conf when it exists,
 * else the built-in defaults. /etc is overlaid in a private mount
 * namespace, so the machine's own /etc is never touched.
 */
static void
test_config_from_etc(void **state)
{
	struct env *e = *state;
	char *out;
	int st;
	json_t *l;

	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01");
	out = run(&st, "mkdir -p %s/up %s/work", e->dir, e->dir);
	free(out);
	out = run(&st, "unshare -m sh -c 'mount --make-rprivate / &&"
	               " mount -t overlay overlay -o lowerdir=/etc,upperdir=%s/up,workdir=%s/work /etc &&"
	               " rm -rf /etc/dhohub && mkdir /etc/dhohub && cp %s /etc/dhohub/dhohub.conf &&"
	               " env -u DHOHUB_CONFIG %s patient list --json' 2>>%s/cli.err",
	          e->dir, e->dir, e->conf, hub_bin(), e->dir);
	assert_int_equal(st, 0);
	l = json_loads(out, 0, NULL);
	if (l == NULL)
		fail_msg("not JSON: %s", out);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "id"), "P1");
	json_decref(l);
	free(out);
	/* No file there: the built-in defaults, which are valid. */
	out = run(&st, "cd %s && unshare -m sh -c 'mount --make-rprivate / &&"
	               " mount -t overlay overlay -o lowerdir=/etc,upperdir=%s/up,workdir=%s/work /etc &&"
	               " rm -rf /etc/dhohub && env -u DHOHUB_CONFIG %s check-config' 2>>%s/cli.err",
	          e->dir, e->dir, e->dir, hub_bin(), e->dir);
	assert_int_equal(st, 0);
	free(out);
}

/* --db overrides [store] path. */
static void
test_db_override(void **state)
{
	struct env *e = *state;
	char args[256];
	json_t *l;

	snprintf(args, sizeof(args), "--db %s/other.db patient add P9 --tenant vefsn --program copd"
	         " --discharged 2026-12-01", e->dir);
	assert_int_equal(cli(e, NULL, args), 0);
	snprintf(args, sizeof(args), "--db %s/other.db patient list --json", e->dir);
	l = cli_json(e, args);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "id"), "P9");
	json_decref(l);
	snprintf(args, sizeof(args), "%s/other.db", e->dir);
	assert_int_equal(access(args, F_OK), 0);
	/* The configured database was never created: a listing refuses it
	 * (exit 1) rather than create an empty one. */
	assert_int_equal(cli(e, NULL, "patient list --json"), 1);
	snprintf(args, sizeof(args), "%s/hub.db", e->dir);
	assert_int_not_equal(access(args, F_OK), 0);
}

/* --json on patient list, patient show and device list: one document each,
 * with the documented keys and the values given. */
static void
test_json_listings(void **state)
{
	struct env *e = *state;
	json_t *l, *p, *d, *r;
	char from[32];
	time_t t;

	utc(from, sizeof(from), -3600);
	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-11-20T08:00:00Z");
	cli_ok(e, "patient add P2 --tenant rana --program copd --discharged 2026-11-20T08:00:00Z"
	          " --team home-nursing/rana");
	cli_ok(e, "device assign oxy-1 --patient P1 --from %s", from);
	cli_ok(e, "rule set --patient P1 'threshold.spo2 = red<85'");

	l = cli_json(e, "patient list --json");
	assert_int_equal(json_array_size(l), 2);
	p = one_patient(l, "P1");
	assert_string_equal(jstr(p, "tenant"), "vefsn");
	assert_string_equal(jstr(p, "program"), "copd");
	assert_string_equal(jstr(p, "discharged"), "2026-11-20T08:00:00Z");
	/* more than 14 days after discharge: the home team */
	assert_string_equal(jstr(p, "team"), "home-nursing/vefsn");
	assert_true(json_is_null(json_object_get(p, "ended")));
	p = one_patient(l, "P2");
	assert_string_equal(jstr(p, "tenant"), "rana");
	assert_string_equal(jstr(p, "team"), "home-nursing/rana");
	json_decref(l);

	p = cli_json(e, "patient show P1 --json");
	assert_true(json_is_object(p));
	assert_string_equal(jstr(p, "id"), "P1");
	d = json_object_get(p, "devices");
	assert_int_equal(json_array_size(d), 1);
	assert_string_equal(jstr(json_array_get(d, 0), "device"), "oxy-1");
	assert_string_equal(jstr(json_array_get(d, 0), "from"), from);
	r = json_object_get(p, "rules");
	assert_int_equal(json_array_size(r), 2);
	expect_rule(r, 0, "missing.spo2", "26h", "program");
	expect_rule(r, 1, "threshold.spo2", "red<85", "patient");
	assert_true(json_is_array(json_object_get(p, "alerts")));
	json_decref(p);

	l = cli_json(e, "device list --json");
	assert_int_equal(json_array_size(l), 1);
	d = json_array_get(l, 0);
	assert_string_equal(jstr(d, "device"), "oxy-1");
	assert_string_equal(jstr(d, "patient"), "P1");
	parse_utc(jstr(d, "from"), &t);
	assert_string_equal(jstr(d, "from"), from);
	assert_true(json_is_null(json_object_get(d, "to")));
	json_decref(l);
}

/* Usage errors exit 2 naming the flag; unknown objects exit 3. */
static void
test_exit_codes(void **state)
{
	struct env *e = *state;

	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01");
	cli_fails(e, 2, "patient add P2 --tenant vefsn --program copd --discharged someday",
	          "--discharged", "someday", NULL);
	cli_fails(e, 2, "patient add P2 --tenant vefsn --program copd --discharged 2026-12-01"
	                " --hospital-days many", "--hospital-days", NULL);
	cli_fails(e, 2, "patient add P2 --tenant vefsn --program copd --discharged 2026-12-01"
	                " --team nurses", "--team", NULL);
	cli_fails(e, 2, "patient add P2 --tenant vefsn --program copd", "--discharged", NULL);
	cli_fails(e, 2, "readings --patient P1 --since yesterday", "--since", NULL);
	cli_fails(e, 2, "alerts --state closed", "--state", NULL);
	cli_fails(e, 2, "device assign oxy-1 --patient P1 --from noon", "--from", NULL);
	cli_fails(e, 2, "patient end P1 --at later", "--at", NULL);
	cli_fails(e, 2, "audit --since 1d", "--since", NULL);
	/* the named object does not exist */
	cli_fails(e, 3, "device unassign oxy-404", "oxy-404", NULL);
	cli_fails(e, 3, "device assign oxy-1 --patient P404", "P404", NULL);
	cli_fails(e, 3, "rule unset --patient P1 threshold.pulse", "threshold.pulse", NULL);
	cli_fails(e, 3, "rule list --patient P404", "P404", NULL);
	cli_fails(e, 3, "patient show P404", "P404", NULL);
	cli_fails(e, 3, "ack A404 --by nurse.kari", "A404", NULL);
	cli_fails(e, 3, "resolve A404 --by nurse.kari", "A404", NULL);
}

/* check-config: 0 on a valid file (the tests' and the shipped example),
 * 2 with FILE:LINE: on a bad one. */
static void
test_check_config(void **state)
{
	struct env *e = *state;
	char args[512], *out, *err;
	const char *src = getenv("DHO_SOURCE_DIR");

	assert_int_equal(cli(e, NULL, "check-config"), 0);
	if (src != NULL) {
		int st;

		out = run(&st, "%s -c %s/dhohub.conf.example check-config 2>>%s/cli.err", hub_bin(), src,
		          e->dir);
		assert_int_equal(st, 0);
		free(out);
	}
	env_conf_append(e, "[alerts]\nclear_after = many");
	snprintf(args, sizeof(args), "check-config");
	assert_int_equal(cli_stderr(e, &out, &err, args), 2);
	snprintf(args, sizeof(args), "%s:", e->conf);
	assert_non_null(strstr(err, args));
	assert_non_null(strstr(err, "clear_after"));
	free(out);
	free(err);
}

/* patient add --hospital-days N: the hospital team for N days after
 * discharge, then the home team; the tenant's hospital_days otherwise. */
static void
test_hospital_days_flag(void **state)
{
	struct env *e = *state;
	char d[16];
	json_t *l;

	today(d, sizeof(d), 5);
	cli_ok(e, "patient add P3 --tenant vefsn --program copd --discharged %s --hospital-days 3", d);
	cli_ok(e, "patient add P10 --tenant vefsn --program copd --discharged %s --hospital-days 10", d);
	cli_ok(e, "patient add P14 --tenant vefsn --program copd --discharged %s", d);
	l = cli_json(e, "patient list --json");
	assert_string_equal(jstr(one_patient(l, "P3"), "team"), "home-nursing/vefsn");
	assert_string_equal(jstr(one_patient(l, "P10"), "team"), "hospital-dho/mosjoen");
	assert_string_equal(jstr(one_patient(l, "P14"), "team"), "hospital-dho/mosjoen");
	json_decref(l);
	/* The alert of P3 goes to the home team. */
	cli_ok(e, "device assign oxy-3 --patient P3");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-3/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	l = wait_event(e, "A1", "opened", 10);
	assert_string_equal(jstr(l, "team"), "home-nursing/vefsn");
	assert_string_equal(jstr(l, "_topic"), "dho/v1/alerts/home-nursing/vefsn");
	json_decref(l);
}

/*
 * patient end --at T: the device's assignment ends at T (device list
 * shows it), a reading measured before T is still the patient's, one after
 * it is quarantined as unassigned, and no rule runs for the patient any
 * more.
 */
static void
test_patient_end_releases_devices(void **state)
{
	struct env *e = *state;
	char from[32], at[32], before[32], doc[256], *out;
	json_t *l, *q;

	utc(from, sizeof(from), -3600);
	utc(at, sizeof(at), -600);
	utc(before, sizeof(before), -1200);
	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01");
	cli_ok(e, "device assign oxy-1 --patient P1 --from %s", from);
	cli_ok(e, "patient end P1 --at %s", at);
	l = cli_json(e, "device list --json");
	assert_string_equal(jstr(json_array_get(l, 0), "from"), from);
	assert_string_equal(jstr(json_array_get(l, 0), "to"), at);
	json_decref(l);
	l = cli_json(e, "patient show P1 --json");
	assert_string_equal(jstr(l, "ended"), at);
	json_decref(l);
	hub_start(e);
	snprintf(doc, sizeof(doc), "{\"seq\": 1, \"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 80}",
	         before);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", doc);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 81}");
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	assert_int_equal(wait_stat(e, "readings", 1, 10), 1);
	l = cli_json(e, "readings --patient P1 --json");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "measured_at"), before);
	assert_int_equal(jint(json_array_get(l, 0), "value"), 80);
	json_decref(l);
	q = cli_json(e, "quarantine --json");
	assert_int_equal(json_array_size(q), 1);
	assert_non_null(strstr(jstr(json_array_get(q, 0), "reason"), "oxy-1"));
	assert_non_null(strstr(jstr(json_array_get(q, 0), "payload"), "\"seq\": 2"));
	json_decref(q);
	/* The ended follow-up runs no rule: an 80 % opened nothing. */
	feed_sync(e);
	l = feed_events(e, NULL);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	out = NULL;
	assert_int_equal(cli(e, &out, "alerts --patient P1 --state all --json"), 0);
	assert_string_equal(out, "[]\n");
	free(out);
}

/* device assign --from T, a reassignment that closes the previous one, and
 * device unassign: the keys device, patient, from and to with the times. */
static void
test_device_assign_and_unassign(void **state)
{
	struct env *e = *state;
	char t1[32], t2[32];
	json_t *l, *d;
	time_t to, now = time(NULL);

	utc(t1, sizeof(t1), -7200);
	utc(t2, sizeof(t2), -3600);
	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01");
	cli_ok(e, "patient add P2 --tenant vefsn --program copd --discharged 2026-12-01");
	cli_ok(e, "device assign scale-1 --patient P1 --from %s", t1);
	cli_ok(e, "device assign scale-1 --patient P2 --from %s", t2);
	l = cli_json(e, "device list --json");
	assert_int_equal(json_array_size(l), 2);
	d = json_array_get(l, 0);
	assert_string_equal(jstr(d, "device"), "scale-1");
	assert_string_equal(jstr(d, "patient"), "P1");
	assert_string_equal(jstr(d, "from"), t1);
	assert_string_equal(jstr(d, "to"), t2);
	d = json_array_get(l, 1);
	assert_string_equal(jstr(d, "patient"), "P2");
	assert_string_equal(jstr(d, "from"), t2);
	assert_true(json_is_null(json_object_get(d, "to")));
	json_decref(l);
	cli_ok(e, "device unassign scale-1");
	l = cli_json(e, "device list --json");
	d = json_array_get(l, 1);
	parse_utc(jstr(d, "to"), &to);
	assert_true(to >= now - 5 && to <= time(NULL) + 5);
	json_decref(l);
	/* Nothing left to unassign. */
	cli_fails(e, 3, "device unassign scale-1", "scale-1", NULL);
}

/* rule set / list / unset, and a syntax error naming its position. */
static void
test_rules_set_list_unset(void **state)
{
	struct env *e = *state;
	json_t *l;

	cli_ok(e, "patient add P1 --tenant vefsn --program copd --discharged 2026-12-01");
	l = cli_json(e, "rule list --patient P1 --json");
	assert_int_equal(json_array_size(l), 2);
	expect_rule(l, 0, "missing.spo2", "26h", "program");
	expect_rule(l, 1, "threshold.spo2", "red<88 yellow<92", "program");
	json_decref(l);
	cli_ok(e, "rule set --patient P1 'threshold.spo2 = red<90'");
	cli_ok(e, "rule set --patient P1 'trend.weight = yellow:+2/3d'");
	l = cli_json(e, "rule list --patient P1 --json");
	assert_int_equal(json_array_size(l), 3);
	expect_rule(l, 1, "threshold.spo2", "red<90", "patient");
	expect_rule(l, 2, "trend.weight", NULL, "patient");
	json_decref(l);
	/* unset: the program's rule is back; a rule only the patient had is gone */
	cli_ok(e, "rule unset --patient P1 threshold.spo2");
	cli_ok(e, "rule unset --patient P1 trend.weight");
	l = cli_json(e, "rule list --patient P1 --json");
	assert_int_equal(json_array_size(l), 2);
	expect_rule(l, 1, "threshold.spo2", "red<88 yellow<92", "program");
	json_decref(l);
	/* "threshold.spo2 = red<88 yelow<92": the bad term starts at 25 */
	cli_fails(e, 2, "rule set --patient P1 'threshold.spo2 = red<88 yelow<92'", "position 25",
	          NULL);
	cli_fails(e, 2, "rule set --patient P1 'missing.spo2 = 26x'", "position", NULL);
	l = cli_json(e, "rule list --patient P1 --json");
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
}

/* readings --since T: the readings measured at or after T, oldest first,
 * with the values, units and times sent, whatever order they came in. */
static void
test_readings_since_oldest_first(void **state)
{
	struct env *e = *state;
	static const long ago[] = { 300, 100, 200, 50, 400 };
	static const char *const values[] = { "91", "93.5", "92", "94", "90" };
	char ts[5][32], since[32], doc[256];
	json_t *l, *r;
	const int want[] = { 2, 1, 3 };   /* by index into ago[], oldest first */

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	for (int i = 0; i < 5; i++) {
		utc(ts[i], sizeof(ts[i]), -ago[i]);
		snprintf(doc, sizeof(doc), "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"spo2\","
		         " \"value\": %s, \"unit\": \"%%\"}", i + 1, ts[i], values[i]);
		pub(e, "dho/v1/vefsn/dev/oxy-1/reading", doc);
	}
	assert_int_equal(wait_stat(e, "readings", 5, 10), 5);
	utc(since, sizeof(since), -250);
	/* utc() is relative to now: 250 s back still falls between 300 and 200 */
	{
		char args[128];

		snprintf(args, sizeof(args), "readings --patient P1 --since %s --json", since);
		l = cli_json(e, args);
	}
	assert_int_equal(json_array_size(l), 3);
	for (int i = 0; i < 3; i++) {
		char text[64];

		r = json_array_get(l, (size_t)i);
		assert_string_equal(jstr(r, "measured_at"), ts[want[i]]);
		assert_string_equal(jstr(r, "metric"), "spo2");
		assert_string_equal(jstr(r, "unit"), "%");
		assert_string_equal(jstr(r, "device"), "oxy-1");
		assert_int_equal(jint(r, "seq"), want[i] + 1);
		snprintf(text, sizeof(text), "%g", json_number_value(json_object_get(r, "value")));
		assert_string_equal(text, values[want[i]]);
	}
	json_decref(l);
}

/* A binary payload is listed as hex, a text one as its text. */
static void
test_quarantine_binary_as_hex(void **state)
{
	struct env *e = *state;
	static const unsigned char bin[] = { 0x00, 0x01, 0x7b, 0xfe, 0xff };
	json_t *q;

	hub_start(e);
	pub_bytes(e, "dho/v1/vefsn/dev/oxy-9/reading", bin, sizeof(bin));
	pub(e, "dho/v1/vefsn/dev/oxy-9/reading", "{\"metric\": \"spo2\"");
	assert_int_equal(wait_stat(e, "quarantined", 2, 10), 2);
	q = cli_json(e, "quarantine --json");
	assert_int_equal(json_array_size(q), 2);
	assert_string_equal(jstr(json_array_get(q, 0), "payload"), "00017bfeff");
	assert_string_equal(jstr(json_array_get(q, 0), "topic"), "dho/v1/vefsn/dev/oxy-9/reading");
	assert_string_equal(jstr(json_array_get(q, 1), "payload"), "{\"metric\": \"spo2\"");
	json_decref(q);
}

/* Three alerts, one open, one acked, one resolved; alerts --state for each
 * value and without it; the stats keys with the same counts. */
static void
test_alert_states_and_stats(void **state)
{
	struct env *e = *state;
	json_t *l, *s, *a;
	const char *ids[3] = { NULL };
	time_t last, now = time(NULL);

	enroll(e, "P1", "oxy-1", 30, "");
	enroll(e, "P2", "oxy-2", 30, "");
	enroll(e, "P3", "oxy-3", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	l = wait_event(e, "A1", "opened", 10);
	json_decref(l);
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	l = wait_event(e, "A2", "opened", 10);
	json_decref(l);
	pub(e, "dho/v1/vefsn/dev/oxy-3/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	l = wait_event(e, "A3", "opened", 10);
	json_decref(l);
	cli_ok(e, "ack A2 --by nurse.kari");
	cli_ok(e, "resolve A3 --by nurse.kari --note 'sensor off'");
	struct { const char *args; size_t n; const char *ids; } cases[] = {
		{ "alerts --json", 2, "A1 A2" },
		{ "alerts --state open --json", 1, "A1" },
		{ "alerts --state acked --json", 1, "A2" },
		{ "alerts --state resolved --json", 1, "A3" },
		{ "alerts --state all --json", 3, "A1 A2 A3" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char got[64] = "";
		size_t i;

		l = cli_json(e, cases[c].args);
		json_array_foreach(l, i, a)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			         jstr(a, "id"));
		if (strcmp(got, cases[c].ids) != 0)
			fail_msg("%s: %s, not %s", cases[c].args, got, cases[c].ids);
		json_array_foreach(l, i, a) {
			ids[0] = jstr(a, "state");
			if (strcmp(jstr(a, "id"), "A1") == 0)
				assert_string_equal(ids[0], "open");
			if (strcmp(jstr(a, "id"), "A2") == 0)
				assert_string_equal(ids[0], "acked");
			if (strcmp(jstr(a, "id"), "A3") == 0)
				assert_string_equal(ids[0], "resolved");
		}
		json_decref(l);
	}
	s = cli_json(e, "stats --json");
	a = json_object_get(s, "alerts");
	assert_int_equal(jint(a, "open"), 1);
	assert_int_equal(jint(a, "acked"), 1);
	assert_int_equal(jint(a, "resolved"), 1);
	assert_int_equal(jint(s, "readings"), 3);
	assert_int_equal(jint(s, "quarantined"), 0);
	assert_true(json_is_integer(json_object_get(s, "outbox_pending")));
	parse_utc(jstr(s, "last_message_at"), &last);
	assert_true(last >= now - 5 && last <= time(NULL) + 1);
	json_decref(s);
}

/* An alert whose event document cannot be built (here a reason that is
 * not UTF-8, written into the database behind the hub's back) fails the
 * JSON listings that need it with exit 1 and a message naming the alert,
 * rather than leaving it out of the list as if it were gone. */
static void
test_alert_document_unbuildable(void **state)
{
	struct env *e = *state;
	char *out;
	int st;

	enroll(e, "P1", "oxy-1", 30, "");
	enroll(e, "P2", "oxy-2", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	json_decref(wait_event(e, "A1", "opened", 10));
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	json_decref(wait_event(e, "A2", "opened", 10));
	out = run(&st, "sqlite3 -cmd '.timeout 5000' %s/hub.db "
	          "\"UPDATE alerts SET reason = CAST(X'FF' AS TEXT) WHERE id = 2\"", e->dir);
	free(out);
	assert_int_equal(st, 0);
	cli_fails(e, 1, "alerts --json", "alerts: cannot build the event document of alert A2",
	          NULL);
	cli_fails(e, 1, "patient show P2 --json",
	          "patient show: cannot build the event document of alert A2", NULL);
	cli_fails(e, 1, "patient show P2", "alert A2", NULL);
	/* The text listing needs no document: it shows the byte escaped. */
	assert_int_equal(cli(e, &out, "alerts"), 0);
	assert_non_null(strstr(out, "\\xFF"));
	free(out);
	json_decref(cli_json(e, "patient show P1 --json"));
}

/* decode gatt, the success path: exit 0, one JSON document with the
 * reference's values, the user and the device's own time as decoded. */
static void
test_decode_gatt_success(void **state)
{
	struct env *e = *state;
	char *out = NULL;
	json_t *d, *r, *f;

	/* 2A1C: 37.60 Cel, 2012-12-05 11:50:27 local (Europe/Oslo, UTC+1), finger */
	assert_int_equal(cli(e, &out, "decode gatt 2A1C 06B00E00FEDC070C050B321B04"), 0);
	assert_non_null(strstr(out, "37.60"));
	d = json_loads(out, 0, NULL);
	assert_non_null(d);
	assert_string_equal(jstr(d, "uuid"), "2a1c");
	assert_string_equal(jstr(d, "measured_at"), "2012-12-05T10:50:27Z");
	r = json_array_get(json_object_get(d, "readings"), 0);
	assert_string_equal(jstr(r, "metric"), "temp");
	assert_string_equal(jstr(r, "unit"), "Cel");
	assert_true(json_real_value(json_object_get(r, "value")) == 37.6);
	json_decref(d);
	free(out);
	/* 2A35 of the reference: 138/88, MAP 120, pulse 60, user 1, four flags;
	 * its year is 0, so there is no device time to print. */
	assert_int_equal(cli(e, &out, "decode gatt 0x2a35 1e8a00580078000000041114293b3c00012700"), 0);
	d = json_loads(out, 0, NULL);
	assert_non_null(d);
	assert_int_equal(jint(d, "user"), 1);
	assert_null(json_object_get(d, "measured_at"));
	r = json_object_get(d, "readings");
	assert_int_equal(json_array_size(r), 4);
	assert_string_equal(jstr(json_array_get(r, 0), "metric"), "bp_sys");
	assert_int_equal(jint(json_array_get(r, 0), "value"), 138);
	assert_string_equal(jstr(json_array_get(r, 1), "metric"), "bp_dia");
	assert_int_equal(jint(json_array_get(r, 1), "value"), 88);
	assert_string_equal(jstr(json_array_get(r, 2), "metric"), "bp_map");
	assert_int_equal(jint(json_array_get(r, 2), "value"), 120);
	assert_string_equal(jstr(json_array_get(r, 3), "metric"), "pulse");
	assert_int_equal(jint(json_array_get(r, 3), "value"), 60);
	f = json_object_get(d, "flags");
	assert_int_equal(json_array_size(f), 4);
	assert_string_equal(json_string_value(json_array_get(f, 0)), "body_movement");
	assert_string_equal(json_string_value(json_array_get(f, 1)), "cuff_loose");
	assert_string_equal(json_string_value(json_array_get(f, 2)), "irregular_pulse");
	assert_string_equal(json_string_value(json_array_get(f, 3)), "improper_position");
	json_decref(d);
	free(out);
}

/* ---- the daemon's signals and the demo ---- */

/* SIGINT ends the daemon like SIGTERM: exit 0. */
static void
test_sigint_exits_0(void **state)
{
	struct env *e = *state;
	int st;

	hub_start(e);
	kill(e->hub, SIGINT);
	assert_int_equal(waitpid(e->hub, &st, 0), e->hub);
	e->hub = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Replaces every occurrence of from by to in the test's configuration. */
static void
conf_replace(struct env *e, const char *from, const char *to)
{
	char *o;
	int st;

	o = run(&st, "sed -i 's|%s|%s|' %s", from, to, e->conf);
	assert_int_equal(st, 0);
	free(o);
}

/*
 * SIGHUP: new rules and routing apply to the next reading, and the broker
 * sees no second connection of the hub. A configuration that no longer
 * loads is logged with its FILE:LINE and the old one stays in force.
 */
static void
test_sighup_reloads_without_reconnect(void **state)
{
	struct env *e = *state;
	char path[160], where[192];
	json_t *ev;
	int connects;

	snprintf(path, sizeof(path), "%s/mosquitto.log", e->dir);
	enroll(e, "P1", "oxy-1", 5, "");         /* hospital phase: 5 of 14 days */
	enroll(e, "P2", "oxy-2", 5, "");
	hub_start(e);
	connects = file_lines(path, "as itest", NULL);
	assert_true(connects >= 1);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 93}");
	assert_int_equal(wait_stat(e, "readings", 1, 10), 1);

	/* New limits and a shorter hospital phase: the home team now. */
	conf_replace(e, "threshold.spo2 = red<88 yellow<92", "threshold.spo2 = red<94");
	conf_replace(e, "hospital_days = 14", "hospital_days = 3");
	kill(e->hub, SIGHUP);
	for (int i = 0; i < 100 && hub_log_lines(e, "SIGHUP: reloaded", NULL) == 0; i++)
		usleep(100 * 1000);
	assert_int_equal(hub_log_lines(e, "SIGHUP: reloaded", NULL), 1);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 93}");
	ev = wait_event(e, "A1", "opened", 10);
	assert_string_equal(jstr(ev, "severity"), "red");
	assert_string_equal(jstr(ev, "team"), "home-nursing/vefsn");
	assert_string_equal(jstr(ev, "reason"), "spo2 93 % is below the red limit 94 %");
	json_decref(ev);

	/* A bad configuration: logged with FILE:LINE, the old one stays. */
	env_conf_append(e, "[alerts]\nclear_after = sometimes");
	conf_replace(e, "threshold.spo2 = red<94", "threshold.spo2 = red<80");
	kill(e->hub, SIGHUP);
	snprintf(where, sizeof(where), "%s:", e->conf);
	for (int i = 0; i < 100 && hub_log_lines(e, where, "clear_after") == 0; i++)
		usleep(100 * 1000);
	assert_true(hub_log_lines(e, where, "clear_after") >= 1);
	assert_int_equal(hub_log_lines(e, "SIGHUP: reloaded", NULL), 1);
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	ev = wait_event(e, "A2", "opened", 10);           /* red<94 still */
	assert_string_equal(jstr(ev, "reason"), "spo2 90 % is below the red limit 94 %");
	json_decref(ev);
	assert_int_equal(kill(e->hub, 0), 0);

	/* One session all along: the broker logged no second connection. */
	assert_int_equal(file_lines(path, "as itest", NULL), connects);
	/* The good file again, so that the end of the test is a clean stop. */
	conf_replace(e, "clear_after = sometimes", "clear_after = 2");
}

/* demo --duration: runs, shows its alert feed, stops by itself with exit 0
 * and removes its directory and broker. */
static void
test_demo_duration(void **state)
{
	struct env *e = *state;
	char *out, dir[128] = "", url[64] = "";
	const char *p;
	int st, port = 0;

	out = run(&st, "cd %s && timeout 120 %s demo --duration 12s 2>>%s/cli.err", e->dir,
	          hub_bin(), e->dir);
	assert_int_equal(st, 0);
	p = strstr(out, "dhohub demo: broker ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "dhohub demo: broker %63[^,], hub log %127[^ \n]", url, dir), 2);
	assert_int_equal(sscanf(url, "tcp://127.0.0.1:%d", &port), 1);
	*strrchr(dir, '/') = '\0';
	/* The desaturating COPD patient raised at least one alert in the feed. */
	assert_non_null(strstr(out, "spo2"));
	assert_non_null(strstr(out, "removed"));
	assert_int_equal(access(dir, F_OK), -1);
	assert_false(port_open(port));
	free(out);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_config_from_environment, PROGRAMS),
		ENV_TEST(test_db_override, PROGRAMS),
		ENV_TEST(test_json_listings, PROGRAMS),
		ENV_TEST(test_exit_codes, PROGRAMS),
		ENV_TEST(test_check_config, PROGRAMS),
		ENV_TEST(test_hospital_days_flag, PROGRAMS),
		ENV_TEST(test_patient_end_releases_devices, PROGRAMS),
		ENV_TEST(test_device_assign_and_unassign, PROGRAMS),
		ENV_TEST(test_rules_set_list_unset, PROGRAMS),
		ENV_TEST(test_readings_since_oldest_first, PROGRAMS),
		ENV_TEST(test_quarantine_binary_as_hex, PROGRAMS),
		ENV_TEST(test_alert_states_and_stats, PROGRAMS),
		ENV_TEST(test_alert_document_unbuildable, PROGRAMS),
		ENV_TEST(test_decode_gatt_success, PROGRAMS),
		ENV_TEST(test_sigint_exits_0, PROGRAMS),
		ENV_TEST(test_sighup_reloads_without_reconnect, PROGRAMS),
		ENV_TEST(test_demo_duration, PROGRAMS),
	};
	const struct CMUnitTest etc_tests[] = {
		ENV_TEST(test_config_from_etc, PROGRAMS),
	};

	if (argc > 1 && strcmp(argv[1], "etc") == 0) {
		require_root("the /etc/dhohub/dhohub.conf test (a private mount namespace)");
		return INTEG_RUN(etc_tests);
	}
	return INTEG_RUN(tests);
}
