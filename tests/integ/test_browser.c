/*
 * test_browser.c: the nurses' workspace in a real browser. A real
 * Mosquitto, `dhohub run` and `dhohub web` on one database; patients and
 * readings that give alerts to two teams; then Debian's headless Chromium,
 * driven by puppeteer-core (tests/browser), logs a nurse in,
 * checks her triage list, acks, watches a second session follow without a
 * reload, and draws a patient's chart; and an escalation moves an alert
 * from one nurse's live page to another's. Screenshots go to
 * $DHO_BROWSER_SHOTS (<build>/browser-shots).
 *
 * A missing chromium, node or tests/browser/node_modules (make deps) fails
 * the test: a browser test that cannot run has not passed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "harness.h"

#define PASSWORD "correct horse battery"

#define PROGRAMS \
	"[program:copd]\nthreshold.spo2 = red<88 yellow<92\n" \
	"missing.spo2 = 26h red:48h\nthreshold.pulse = yellow>110 red>130\n"

/* `dhohub web`, stopped by the teardown also when the test fails midway. */
static pid_t web_pid = -1;

static int
teardown(void **state)
{
	stop(&web_pid, SIGTERM);
	return env_teardown(state);
}

static const char *
chromium_bin(void)
{
	const char *c = getenv("CHROMIUM_BIN");

	return c && *c ? c : "/usr/bin/chromium";
}

/* The tools the browser test needs, each named in the failure. */
static void
require_tools(void)
{
	const char *src = getenv("DHO_SOURCE_DIR");
	char path[512];
	int st;
	char *o;

	assert_non_null(src);
	if (access(chromium_bin(), X_OK) != 0)
		fail_msg("%s is missing: run `make deps` (installs Debian's chromium)", chromium_bin());
	o = run(&st, "node --version 2>&1");
	free(o);
	if (st != 0)
		fail_msg("node is missing: run `make deps`");
	snprintf(path, sizeof(path), "%s/tests/browser/node_modules/puppeteer-core/package.json", src);
	if (access(path, R_OK) != 0)
		fail_msg("%s is missing: run `make deps` (npm ci in tests/browser)", path);
}

static void
user_add(struct env *e, const char *name, const char *teams)
{
	char file[160], args[512];
	FILE *f;

	snprintf(file, sizeof(file), "%s/pw-%s", e->dir, name);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(PASSWORD "\n", f);
	fclose(f);
	assert_int_equal(chmod(file, 0600), 0);
	snprintf(args, sizeof(args), "user add %s --team %s --role nurse --password-file %s", name,
	         teams, file);
	assert_int_equal(cli(e, NULL, args), 0);
}

/* A reading of the patient's device, hours_ago before now. */
static void
reading(struct env *e, const char *device, int seq, double hours_ago, const char *metric,
        double value)
{
	char topic[128], doc[256], ts[32];
	time_t at = time(NULL) - (time_t)(hours_ago * 3600);
	struct tm tm;

	gmtime_r(&at, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(topic, sizeof(topic), "dho/v1/vefsn/dev/%s/reading", device);
	snprintf(doc, sizeof(doc), "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"%s\", \"value\": %g}",
	         seq, ts, metric, value);
	pub(e, topic, doc);
}

static void
web_start(struct env *e, int port)
{
	char log[160];
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "web", NULL };

	snprintf(log, sizeof(log), "%s/web.log", e->dir);
	web_pid = spawn(log, argv);
	for (int i = 0; i < 200 && !port_open(port); i++)
		usleep(50 * 1000);
	if (!port_open(port))
		fail_msg("dhohub web did not listen on %d (see %s)", port, log);
}

/*
 * Runs tests/browser/SCRIPT against the workspace on port, with extra
 * (VAR=value words for the shell) in its environment; prints its checks
 * and fails the test, with the web process's log, when any failed.
 */
static void
browser_run(struct env *e, int port, const char *script, const char *extra)
{
	const char *src = getenv("DHO_SOURCE_DIR");
	const char *shots = getenv("DHO_BROWSER_SHOTS");
	int st;
	char *o;

	assert_non_null(src);
	assert_non_null(shots);
	o = run(&st, "cd %s/tests/browser && DHO_URL=http://127.0.0.1:%d DHO_PASSWORD='" PASSWORD "' "
	        "DHO_SHOTS=%s DHO_TMP=%s CHROMIUM_BIN=%s %s node %s >%s/browser.log 2>&1",
	        src, port, shots, e->dir, chromium_bin(), extra, script, e->dir);
	free(o);
	o = run(NULL, "cat %s/browser.log", e->dir);
	fprintf(stderr, "%s", o);
	free(o);
	if (st != 0) {
		o = run(NULL, "tail -n 40 %s/web.log", e->dir);
		fprintf(stderr, "--- web.log ---\n%s", o);
		free(o);
		fail_msg("%s failed (exit %d); screenshots in %s", script, st, shots);
	}
}

/*
 * The scene: Kari and Anne work in the hospital's DHO team; Ola in home
 * nursing. P-1001 has six days of SpO2 with a night and a day without a
 * reading, then falls to 86 (red); P-1002 has a yellow SpO2 and a yellow
 * pulse; P-1003 is home nursing's (red), which Kari must not see. (A
 * missing-measurement alert needs a day of real silence after enrollment,
 * which a test cannot wait for.)
 */
static int
scene(struct env *e)
{
	int seq = 1, sent = 0;

	/* Discharged six days ago, so the follow-up (from that day's
	 * midnight) covers the whole stretch without readings, whatever the
	 * time of day the test runs: with three days the follow-up began
	 * inside the stretch, and after midnight the stretch was too short. */
	enroll(e, "P-1001", "oxy-1", 6, "");
	enroll(e, "P-1002", "oxy-2", 2, "");
	enroll(e, "P-1003", "oxy-3", 20, "");
	user_add(e, "kari", "hospital-dho/mosjoen");
	user_add(e, "anne", "hospital-dho/mosjoen");
	user_add(e, "ola", "home-nursing/vefsn");
	/* Tove has a TOTP secret: the form must ask her for a code. */
	user_add(e, "tove", "hospital-dho/mosjoen");
	assert_int_equal(cli(e, NULL, "user totp tove"), 0);
	hub_start(e);

	for (double h = 6 * 24; h > 2; h -= 4) {
		/* Nothing from 78 to 48 hours ago: a stretch past missing.spo2. */
		if (h < 78 && h > 48)
			continue;
		reading(e, "oxy-1", seq++, h, "spo2",
		        round(h > 60 ? 95 - (144 - h) / 40 : 93 - (48 - h) / 30));
		reading(e, "oxy-1", seq++, h, "pulse", round(78 + (144 - h) / 8));
		sent += 2;
	}
	reading(e, "oxy-1", seq++, 0.75, "spo2", 86);
	reading(e, "oxy-1", seq++, 0.75, "pulse", 104);
	reading(e, "oxy-2", 1, 3, "spo2", 94);
	reading(e, "oxy-2", 2, 2, "spo2", 91);
	reading(e, "oxy-2", 3, 1.5, "pulse", 116);
	reading(e, "oxy-3", 1, 1, "spo2", 85);
	return sent + 6;
}

static void
test_workspace_in_chromium(void **state)
{
	struct env *e = *state;
	int port = free_port();
	char conf[128], expected[160], extra[256];
	json_t *acked, *a;
	size_t i;
	int n;
	char *o;

	require_tools();
	snprintf(conf, sizeof(conf), "[http]\nlisten = 127.0.0.1:%d\n", port);
	env_conf_append(e, conf);

	n = scene(e);
	assert_int_equal(wait_stat(e, "readings", n, 30), n);
	/* Kari's team: P-1001 red, P-1002 two yellow; home nursing: P-1003 red. */
	assert_true(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"P-1002\"", 2, 30) >= 2);
	assert_true(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"red\"", 1, 30) >= 1);
	assert_true(wait_alert_lines(e, "dho/v1/alerts/home-nursing/vefsn ", "\"P-1003\"", 1, 30) >= 1);

	/* Every unresolved alert, for the page test to check scope and order. */
	snprintf(expected, sizeof(expected), "%s/alerts.json", e->dir);
	assert_int_equal(cli(e, &o, "alerts --json"), 0);
	{
		FILE *f = fopen(expected, "w");

		assert_non_null(f);
		fputs(o, f);
		fclose(f);
	}
	free(o);

	web_start(e, port);
	snprintf(extra, sizeof(extra), "DHO_EXPECTED=%s", expected);
	browser_run(e, port, "workspace.js", extra);

	/* The ack the page sent is the hub's: by the logged-in nurse, and out
	 * on the team's MQTT topic. */
	acked = cli_json(e, "alerts --state acked --json");
	n = 0;
	json_array_foreach(acked, i, a) {
		const char *by = json_string_value(json_object_get(a, "by"));

		if (by && strcmp(by, "kari") == 0)
			n++;
	}
	json_decref(acked);
	assert_true(n >= 1);
	assert_true(wait_alert_lines(e, "\"acked\"", "\"kari\"", 1, 10) >= 1);

	stop(&web_pid, SIGTERM);
}

/*
 * An escalation seen from both sides: Ola's home nursing patient gets a
 * yellow alert while Ola's and Kari's pages are open; nobody acks it in
 * ack_s.yellow, it moves to Kari's hospital team, and both pages follow.
 */
static void
test_escalation_in_chromium(void **state)
{
	struct env *e = *state;
	int port = free_port();
	char conf[128], extra[256];
	json_t *l;

	require_tools();
	snprintf(conf, sizeof(conf), "[http]\nlisten = 127.0.0.1:%d\n\n[alerts]\nack_s.yellow = 8\n", port);
	env_conf_append(e, conf);
	enroll(e, "P-2001", "oxy-21", 20, "");          /* home nursing's now */
	user_add(e, "kari", "hospital-dho/mosjoen");
	user_add(e, "ola", "home-nursing/vefsn");
	hub_start(e);
	web_start(e, port);
	snprintf(extra, sizeof(extra), "DHO_MQTT_PORT=%d DHO_READING_TOPIC=dho/v1/vefsn/dev/oxy-21/reading",
	         e->port);
	browser_run(e, port, "escalation.js", extra);

	/* What the pages showed is the hub's state: escalated to the hospital. */
	l = cli_json(e, "alerts --team hospital-dho/mosjoen --json");
	assert_int_equal(json_array_size(l), 1);
	assert_true(json_integer_value(json_object_get(json_array_get(l, 0), "level")) >= 1);
	json_decref(l);
	stop(&web_pid, SIGTERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST_TEARDOWN(test_workspace_in_chromium, PROGRAMS, teardown),
		ENV_TEST_TEARDOWN(test_escalation_in_chromium, PROGRAMS, teardown),
	};

	return INTEG_RUN(tests);
}
