/*
 * test_config_keys.c: the configuration keys (docs/man/dhohub.conf.5.in) that
 * change what the running hub does, each through the daemon: a broker
 * that requires a username and password, another topic prefix, tenants =
 * *, log_level, timezone for bare dates and BLE times, and durability =
 * full (seen as one fsync per commit under strace).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define COPD "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n"

/*
 * username and password_file: the hub logs in to a listener that refuses
 * anonymous clients. The test's own clients use the harness's anonymous
 * listener; both share one topic space.
 */
static void
test_username_and_password_file(void **state)
{
	char head[256], tail[512], extra[512], path[160], *o;
	struct env *e;
	int st, port = free_port();
	FILE *f;
	json_t *ev;

	e = env_new(COPD);
	*state = e;
	/* The hub's password, readable by its owner only. */
	snprintf(path, sizeof(path), "%s/hub.pass", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("s3cret-hub-pass\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	o = run(&st, "mosquitto_passwd -b -c %s/broker.passwd hub s3cret-hub-pass 2>&1", e->dir);
	assert_int_equal(st, 0);
	free(o);
	o = run(&st, "chmod 0600 %s/broker.passwd", e->dir);
	free(o);
	/* Run as root, Mosquitto would become its own user, which cannot read
	 * the test's directory. */
	o = run(&st, "id -un");
	o[strcspn(o, "\n")] = '\0';
	snprintf(head, sizeof(head), "per_listener_settings true\nuser %s", o);
	free(o);
	snprintf(tail, sizeof(tail), "listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s/broker.passwd\n",
	         port, e->dir);
	broker_reconfigure(e, head, tail);
	/* The broker requires them: an anonymous client is refused there. */
	for (int i = 0; i < 50 && !port_open(port); i++)
		usleep(100 * 1000);
	o = run(&st, "mosquitto_pub -p %d -q 1 -t x -m y 2>&1", port);
	assert_int_not_equal(st, 0);
	free(o);
	/* The hub's [broker] now names that listener and its credentials. */
	snprintf(extra, sizeof(extra), "sed -i 's|^url = .*|url = tcp://127.0.0.1:%d\\n"
	         "username = hub\\npassword_file = %s|' %s", port, path, e->conf);
	o = run(&st, "%s", extra);
	assert_int_equal(st, 0);
	free(o);
	assert_int_equal(file_lines(e->conf, "username = hub", NULL), 1);
	assert_int_equal(file_lines(e->conf, "password_file = ", "hub.pass"), 1);
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	ev = wait_event(e, "A1", "opened", 10);
	json_decref(ev);
	/* It is the password-protected listener that the hub logged in to. */
	snprintf(extra, sizeof(extra), "connected to tcp://127.0.0.1:%d", port);
	assert_true(hub_log_lines(e, extra, NULL) >= 1);
}

/* Another topic_prefix: the hub reads and writes under it, and not under
 * the default dho/v1. */
static void
test_topic_prefix(void **state)
{
	struct env *e = env_new_broker("topic_prefix = clinic/north/v1", COPD);
	json_t *ev;

	*state = e;
	assert_string_equal(e->prefix, "clinic/north/v1");
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	pub(e, "clinic/north/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 86}");
	ev = wait_event(e, "A1", "opened", 10);
	assert_string_equal(jstr(ev, "_topic"), "clinic/north/v1/alerts/home-nursing/vefsn");
	assert_int_equal(jint(ev, "value"), 86);
	json_decref(ev);
	/* Only the reading under the configured prefix was consumed. */
	assert_int_equal(stat_int(e, "readings"), 1);
	assert_int_equal(stat_int(e, "quarantined"), 0);
}

/* tenants = *: every tenant's devices are read, and a tenant the hub has
 * no section for still gets each message accounted for (quarantined). */
static void
test_tenants_star(void **state)
{
	struct env *e = env_new_broker("tenants = *", COPD);
	char d[16], args[256];
	json_t *q;

	*state = e;
	enroll(e, "P1", "oxy-1", 30, "");
	today(d, sizeof(d), 30);
	snprintf(args, sizeof(args), "patient add R1 --tenant rana --program copd --discharged %s", d);
	assert_int_equal(cli(e, NULL, args), 0);
	assert_int_equal(cli(e, NULL, "device assign oxy-r --patient R1"), 0);
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/rana/dev/oxy-r/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 96}");
	pub(e, "dho/v1/bodo/dev/oxy-b/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 97}");
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	assert_int_equal(wait_stat(e, "quarantined", 1, 10), 1);
	q = cli_json(e, "quarantine --json");
	assert_string_equal(jstr(json_array_get(q, 0), "topic"), "dho/v1/bodo/dev/oxy-b/reading");
	json_decref(q);
	q = cli_json(e, "readings --patient R1 --json");
	assert_int_equal(json_array_size(q), 1);
	assert_int_equal(jint(json_array_get(q, 0), "value"), 96);
	json_decref(q);
}

/* log_level = warn keeps info lines out of the log; debug adds debug lines. */
static void
test_log_level(void **state)
{
	struct env *e = env_new("[hub]\nlog_level = warn\n\n" COPD);
	char *o;
	int st;

	*state = e;
	enroll(e, "P1", "oxy-1", 30, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	json_decref(wait_event(e, "A1", "opened", 10));
	hub_stop(e);
	assert_int_equal(hub_log_lines(e, " info: ", NULL), 0);
	assert_int_equal(hub_log_lines(e, " debug: ", NULL), 0);
	o = run(&st, "sed -i 's|^log_level = warn|log_level = debug|' %s; : > %s/hub.log", e->conf, e->dir);
	free(o);
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 84}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 2, \"metric\": \"spo2\", \"value\": 84}");
	assert_int_equal(wait_stat(e, "readings", 2, 10), 2);
	for (int i = 0; i < 50 && hub_log_lines(e, " debug: ", "seen before") == 0; i++)
		usleep(100 * 1000);
	assert_true(hub_log_lines(e, " debug: ", "seen before") >= 1);
	assert_true(hub_log_lines(e, " info: ", "dhohub starting") == 1);
}

/* timezone: a bare date is local midnight there, and so is a BLE Date Time. */
static void
test_timezone(void **state)
{
	struct env *e = env_new("[hub]\ntimezone = America/New_York\n\n" COPD);
	json_t *l, *d;
	char *out = NULL;

	*state = e;
	assert_int_equal(cli(e, NULL, "patient add S1 --tenant vefsn --program copd --discharged 2026-06-15"), 0);
	assert_int_equal(cli(e, NULL, "patient add W1 --tenant vefsn --program copd --discharged 2026-01-15"), 0);
	assert_int_equal(cli(e, NULL, "device assign oxy-1 --patient S1 --from 2026-06-16"), 0);
	l = cli_json(e, "patient show S1 --json");
	assert_string_equal(jstr(l, "discharged"), "2026-06-15T04:00:00Z");    /* EDT */
	assert_string_equal(jstr(json_array_get(json_object_get(l, "devices"), 0), "from"),
	                    "2026-06-16T04:00:00Z");
	json_decref(l);
	l = cli_json(e, "patient show W1 --json");
	assert_string_equal(jstr(l, "discharged"), "2026-01-15T05:00:00Z");    /* EST */
	json_decref(l);
	/* 2A1C's 2012-12-05 11:50:27 is New York time: 16:50:27Z. */
	assert_int_equal(cli(e, &out, "decode gatt 2A1C 06B00E00FEDC070C050B321B04"), 0);
	d = json_loads(out, 0, NULL);
	assert_non_null(d);
	assert_string_equal(jstr(d, "measured_at"), "2012-12-05T16:50:27Z");
	json_decref(d);
	free(out);
}

/* The pids of the children of pid (the hub under strace). */
static pid_t
child_of(pid_t pid)
{
	char *o;
	int st;
	long c = 0;

	for (int i = 0; i < 50 && c <= 0; i++) {
		o = run(&st, "pgrep -P %d", (int)pid);
		c = strtol(o, NULL, 10);
		free(o);
		if (c <= 0)
			usleep(100 * 1000);
	}
	assert_true(c > 0);
	return (pid_t)c;
}

/*
 * The fsync-family calls of a hub under strace while it stores n readings,
 * one message each. The hub is stopped with SIGTERM (through strace, which
 * exits with the hub's status) and must exit 0.
 */
static int
syncs_for_readings(struct env *e, int n)
{
	char trace[160], doc[128];
	pid_t hub;
	int st, count;

	snprintf(trace, sizeof(trace), "%s/strace.txt", e->dir);
	unlink(trace);
	/* LeakSanitizer (the ASan build) stops the world with ptrace at exit,
	 * which strace holds already: no leak check for this one run of the
	 * hub, which every other test does check. */
	{
		const char *asan = getenv("ASAN_OPTIONS");

		snprintf(e->wrap, sizeof(e->wrap),
		         "env ASAN_OPTIONS=%s%sdetect_leaks=0 strace -f -qq -e trace=fsync,fdatasync -o %s",
		         asan ? asan : "", asan && *asan ? ":" : "", trace);
	}
	hub_start(e);
	for (int i = 1; i <= n; i++) {
		snprintf(doc, sizeof(doc), "{\"seq\": %d, \"metric\": \"pulse\", \"value\": %d}", i, 60 + i);
		pub(e, "dho/v1/vefsn/dev/oxy-1/reading", doc);
	}
	assert_int_equal(wait_stat(e, "readings", n, 30), n);
	count = file_lines(trace, "sync(", NULL);
	hub = child_of(e->hub);
	kill(hub, SIGTERM);
	assert_int_equal(waitpid(e->hub, &st, 0), e->hub);
	e->hub = -1;
	e->wrap[0] = '\0';
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return count;
}

/* durability = full: SQLite syncs the WAL at each commit (one message, one
 * commit); normal does not. */
static void
test_durability_full(void **state)
{
	struct env *e = env_new(COPD);
	int normal, full, n = 20;
	char *o;
	int st;

	*state = e;
	enroll(e, "P1", "oxy-1", 30, "");
	normal = syncs_for_readings(e, n);
	o = run(&st, "sqlite3 %s/hub.db 'DELETE FROM readings; DELETE FROM seen;'", e->dir);
	free(o);
	o = run(&st, "sed -i 's|^\\(path = .*/hub.db\\)$|\\1\\ndurability = full|' %s", e->conf);
	assert_int_equal(st, 0);
	free(o);
	assert_int_equal(file_lines(e->conf, "durability = full", NULL), 1);
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	full = syncs_for_readings(e, n);
	print_message("fsync/fdatasync while storing %d readings: normal %d, full %d\n", n, normal,
	              full);
	assert_true(full >= n);
	assert_true(normal < n / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_username_and_password_file, env_teardown),
		cmocka_unit_test_teardown(test_topic_prefix, env_teardown),
		cmocka_unit_test_teardown(test_tenants_star, env_teardown),
		cmocka_unit_test_teardown(test_log_level, env_teardown),
		cmocka_unit_test_teardown(test_timezone, env_teardown),
		cmocka_unit_test_teardown(test_durability_full, env_teardown),
	};

	return INTEG_RUN(tests);
}
