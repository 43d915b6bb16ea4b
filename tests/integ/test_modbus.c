/*
 * test_modbus.c: [modbus:*] sources on the real parts. Each test starts its
 * own Mosquitto, a real libmodbus TCP server (modbus_server.c, found through
 * $MODBUS_SERVER_BIN) on a free loopback port and `dhohub run`, and looks at
 * the hub only through the CLI, MQTT and its log.
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

/* The test's Modbus server, stopped by teardown whatever happened. */
static pid_t srv = -1;

/* Under valgrind (make valgrind) the hub starts and polls several times
 * slower: the missing rule gets a deadline it can keep. */
#define PROGRAMS(missing) \
	"[program:copd]\nthreshold.spo2 = red<88 yellow<92\n\n" \
	"[program:mb]\nthreshold.spo2 = red<88 yellow<92\nmissing.spo2 = " missing "\n"

static int
teardown(void **state)
{
	stop(&srv, SIGTERM);
	return env_teardown(state);
}

static const char *
server_bin(void)
{
	const char *b = getenv("MODBUS_SERVER_BIN");
	return b ? b : "modbus_server";
}

/* Starts the Modbus server on port with up to four registers
 * (TABLE:ADDRESS=VALUE) and waits for it to listen. */
static pid_t
server_start(struct env *e, int port, const char *r0, const char *r1, const char *r2,
             const char *r3)
{
	char log[160], p[16];
	char *argv[] = { (char *)server_bin(), p, (char *)r0, (char *)r1, (char *)r2, (char *)r3,
	                 NULL };
	pid_t pid;

	snprintf(p, sizeof(p), "%d", port);
	snprintf(log, sizeof(log), "%s/modbus.log", e->dir);
	pid = spawn(log, argv);
	for (int i = 0; i < 100 && !port_open(port); i++)
		usleep(50 * 1000);
	assert_true(port_open(port));
	return pid;
}

/* The source of every test: spo2 and pulse from input registers 0 and 1,
 * the temperature as a float32 in holding registers 10-11, low word first. */
static void
modbus_conf(struct env *e, int port)
{
	char text[512];

	snprintf(text, sizeof(text),
	         "[modbus:oxy-12]\nurl = tcp://127.0.0.1:%d\nunit_id = 1\ninterval_s = 1\n"
	         "device = oxy-12\nregister.spo2 = 0:input:uint16:0.1\n"
	         "register.pulse = 1:input:uint16:1\nregister.temp = 10:holding:float32_le:1\n",
	         port);
	env_conf_append(e, text);
}

/* Lines of the hub's log that contain s. */
static int
log_lines(struct env *e, const char *s)
{
	char path[160], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/hub.log", e->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, s))
			n++;
	fclose(f);
	return n;
}

static int
wait_log(struct env *e, const char *s, int want, int secs)
{
	int n = 0;

	for (int i = 0; i < secs * 10; i++) {
		if ((n = log_lines(e, s)) >= want)
			return n;
		usleep(100 * 1000);
	}
	return n;
}

/* The number of P's readings of metric with value (within 0.001). */
static size_t
readings_with(struct env *e, const char *patient, const char *metric, double value)
{
	char args[128];
	json_t *r, *it;
	size_t i, n = 0;

	snprintf(args, sizeof(args), "readings --patient %s --metric %s --json", patient, metric);
	r = cli_json(e, args);
	json_array_foreach(r, i, it) {
		double v = json_number_value(json_object_get(it, "value"));

		if (v > value - 0.001 && v < value + 0.001)
			n++;
	}
	json_decref(r);
	return n;
}

static size_t
wait_reading(struct env *e, const char *patient, const char *metric, double value, int secs)
{
	size_t n = 0;

	for (int i = 0; i < secs * 5; i++) {
		if ((n = readings_with(e, patient, metric, value)) > 0)
			return n;
		usleep(200 * 1000);
	}
	return n;
}

/* Waits until P has at least want readings of metric with value, up to
 * secs seconds; returns the last count. */
static size_t
wait_readings(struct env *e, const char *patient, const char *metric, double value, size_t want,
              double secs)
{
	double until = mono_now() + secs;
	size_t n;

	while ((n = readings_with(e, patient, metric, value)) < want && mono_now() < until)
		usleep(100 * 1000);
	return n;
}

static void
test_values_arrive_and_alert(void **state)
{
	struct env *e = *state;
	int port = free_port();
	json_t *r, *it, *a, *doc;
	size_t i;
	bool spo2 = false, pulse = false, temp = false;

	/* spo2 86.0 % (860 * 0.1), pulse 72, temp 36.6 (0x42126666, low word first). */
	srv = server_start(e, port, "input:0=860", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	modbus_conf(e, port);
	enroll(e, "P1", "oxy-12", 2, "");
	hub_start(e);
	assert_true(wait_stat(e, "readings", 3, 10) >= 3);
	r = cli_json(e, "readings --patient P1 --json");
	json_array_foreach(r, i, it) {
		const char *m = json_string_value(json_object_get(it, "metric"));
		double v = json_number_value(json_object_get(it, "value"));

		assert_string_equal(json_string_value(json_object_get(it, "patient")), "P1");
		assert_string_equal(json_string_value(json_object_get(it, "device")), "oxy-12");
		assert_non_null(json_object_get(it, "measured_at"));
		if (strcmp(m, "spo2") == 0) {
			assert_true(v > 85.999 && v < 86.001);
			assert_string_equal(json_string_value(json_object_get(it, "unit")), "%");
			spo2 = true;
		} else if (strcmp(m, "pulse") == 0) {
			assert_true(v > 71.999 && v < 72.001);
			pulse = true;
		} else if (strcmp(m, "temp") == 0) {
			assert_true(v > 36.599 && v < 36.601);
			temp = true;
		}
	}
	json_decref(r);
	assert_true(spo2 && pulse && temp);

	/* Red below 88: the hospital team's topic, as for an MQTT reading. */
	assert_true(wait_alert_lines(e, "dho/v1/alerts/hospital-dho/mosjoen ", "\"P1\"", 1, 10) >= 1);
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	doc = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(doc, "severity")), "red");
	assert_string_equal(json_string_value(json_object_get(doc, "rule")), "threshold.spo2");
	assert_string_equal(json_string_value(json_object_get(doc, "metric")), "spo2");
	assert_true(json_number_value(json_object_get(doc, "value")) > 85.999);
	assert_true(json_number_value(json_object_get(doc, "value")) < 86.001);
	json_decref(a);
	/* Polled every second, the low value stays one alert: two more polls,
	 * then every event the hub made is in the feed. */
	{
		size_t n = readings_with(e, "P1", "spo2", 86);

		assert_true(wait_readings(e, "P1", "spo2", 86, n + 2, 15) >= n + 2);
	}
	feed_sync(e);
	assert_int_equal(alert_lines(e, "\"opened\"", NULL), 1);
	a = cli_json(e, "alerts --patient P1 --json");
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	stop(&srv, SIGTERM);
}

/* An unassigned Modbus device is quarantined, never dropped. */
static void
test_unassigned_device_quarantined(void **state)
{
	struct env *e = *state;
	int port = free_port();
	json_t *q, *it;
	size_t i;
	bool found = false;

	srv = server_start(e, port, "input:0=950", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	modbus_conf(e, port);
	hub_start(e);
	assert_true(wait_stat(e, "quarantined", 3, 10) >= 3);
	q = cli_json(e, "quarantine --json");
	json_array_foreach(q, i, it) {
		const char *topic = json_string_value(json_object_get(it, "topic"));
		const char *reason = json_string_value(json_object_get(it, "reason"));
		const char *payload = json_string_value(json_object_get(it, "payload"));

		if (topic && strcmp(topic, "modbus:oxy-12") == 0 && reason &&
		    strstr(reason, "oxy-12 is not assigned") && payload && strstr(payload, "950")) {
			found = true;
		}
	}
	json_decref(q);
	assert_true(found);
	assert_int_equal(stat_int(e, "readings"), 0);
	stop(&srv, SIGTERM);
}

static void
test_server_stops_hub_keeps_running(void **state)
{
	struct env *e = *state;
	int port = free_port(), st;
	pid_t hub;
	json_int_t before;
	time_t t0;

	srv = server_start(e, port, "input:0=950", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	modbus_conf(e, port);
	enroll(e, "P1", "oxy-12", 2, "");
	enroll(e, "P2", "oxy-1", 2, "");
	hub_start(e);
	assert_true(wait_stat(e, "readings", 3, 10) >= 3);

	stop(&srv, SIGTERM);
	assert_int_equal(wait_log(e, "does not answer", 1, 10), 1);
	before = stat_int(e, "readings");
	/* Polls at 1, 2 and 4 s into the outage all fail; it is one log line. */
	sleep(5);
	assert_int_equal(log_lines(e, "does not answer"), 1);
	assert_int_equal(log_lines(e, "answers again"), 0);
	assert_int_equal(kill(e->hub, 0), 0);
	assert_int_equal(stat_int(e, "readings"), before);

	/* MQTT readings are stored as ever. */
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 97}");
	assert_int_equal(wait_stat(e, "readings", before + 1, 10), before + 1);
	assert_int_equal(readings_with(e, "P2", "spo2", 97), 1);

	/* SIGTERM while the source is down: a clean, prompt exit. */
	hub = e->hub;
	e->hub = -1;
	t0 = time(NULL);
	kill(hub, SIGTERM);
	assert_int_equal(waitpid(hub, &st, 0), hub);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(time(NULL) - t0 <= 5);
	assert_int_equal(log_lines(e, "does not answer"), 1);
}

static void
test_server_comes_back_polling_resumes(void **state)
{
	struct env *e = *state;
	int port = free_port();
	size_t n;

	srv = server_start(e, port, "input:0=950", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	modbus_conf(e, port);
	enroll(e, "P1", "oxy-12", 2, "");
	hub_start(e);
	assert_true(wait_reading(e, "P1", "spo2", 95, 10) >= 1);

	stop(&srv, SIGTERM);
	assert_int_equal(wait_log(e, "does not answer", 1, 10), 1);
	sleep(3);   /* let the backoff grow past the interval */

	/* The same port, a new value: the hub finds it by itself. */
	srv = server_start(e, port, "input:0=930", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	assert_true(wait_reading(e, "P1", "spo2", 93, 30) >= 1);
	assert_int_equal(wait_log(e, "answers again", 1, 5), 1);
	assert_int_equal(log_lines(e, "does not answer"), 1);
	/* Back at the normal interval, not the backoff's. */
	n = readings_with(e, "P1", "spo2", 93);
	assert_true(wait_readings(e, "P1", "spo2", 93, n + 2, 4) >= n + 2);
	stop(&srv, SIGTERM);
}

/* A source that stops answering raises its missing rule in
 * the normal way, and its readings clear it when it is back. */
static void
test_outage_raises_missing_rule(void **state)
{
	struct env *e = *state;
	int port = free_port();
	char d[16], args[256];

	srv = server_start(e, port, "input:0=950", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	modbus_conf(e, port);
	today(d, sizeof(d), 2);
	snprintf(args, sizeof(args), "patient add P1 --tenant vefsn --program mb --discharged %s", d);
	assert_int_equal(cli(e, NULL, args), 0);
	assert_int_equal(cli(e, NULL, "device assign oxy-12 --patient P1"), 0);
	hub_start(e);
	assert_true(wait_reading(e, "P1", "spo2", 95, 10) >= 1);
	/* Polled every second: never 3 s without spo2. Only the time can
	 * show that; then every event the hub made is in the feed. */
	sleep(4);
	feed_sync(e);
	assert_int_equal(alert_lines(e, "missing.spo2", NULL), 0);

	stop(&srv, SIGTERM);
	assert_int_equal(wait_alert_lines(e, "\"opened\"", "missing.spo2", 1, 45), 1);
	srv = server_start(e, port, "input:0=950", "input:1=72", "holding:10=0x6666",
	                   "holding:11=0x4212");
	assert_int_equal(wait_alert_lines(e, "\"event\":\"cleared\"", "missing.spo2", 1, 30), 1);
	assert_int_equal(wait_log(e, "answers again", 1, 5), 1);
	assert_int_equal(alert_ids(e, "\"opened\"", "missing.spo2"), 1);
}

/* A register the device does not have: it answers with an exception. That
 * is logged once, not per poll, and the other registers are still read. */
static void
test_device_exception_logged_once(void **state)
{
	struct env *e = *state;
	int port = free_port();
	char text[512];
	size_t n;

	srv = server_start(e, port, "input:0=950", "input:1=72", NULL, NULL);
	snprintf(text, sizeof(text),
	         "[modbus:oxy-12]\nurl = tcp://127.0.0.1:%d\ninterval_s = 1\ndevice = oxy-12\n"
	         "register.spo2 = 0:input:uint16:0.1\nregister.pulse = 1:input:uint16:1\n"
	         "register.weight = 50:input:uint32:0.001\n", port);
	env_conf_append(e, text);
	enroll(e, "P1", "oxy-12", 2, "");
	hub_start(e);
	assert_true(wait_reading(e, "P1", "spo2", 95, 10) >= 1);
	n = readings_with(e, "P1", "spo2", 95);
	assert_true(wait_readings(e, "P1", "spo2", 95, n + 2, 3) >= n + 2);
	assert_true(readings_with(e, "P1", "pulse", 72) >= 3);
	assert_int_equal(log_lines(e, "the device refuses input registers 50-51"), 1);
	assert_int_equal(log_lines(e, "does not answer"), 0);
	assert_int_equal(stat_int(e, "quarantined"), 0);
}

/* Bad register maps: FILE:LINE: and exit 2, from check-config and from run. */
static void
test_bad_register_map(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *section;   /* lines after [modbus:bad] */
		int line;              /* of the error, counted from the [modbus:bad] line */
		const char *msg;
	} cases[] = {
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint8:1\n", 3,
		  "[modbus:bad] register.spo2 = 0:input:uint8:1: the type must be int16, uint16, "
		  "int32, uint32 or float32" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint32_xy:1\n", 3,
		  "the word order suffix must be _be or _le" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint16_le:1\n", 3,
		  "a word order (_be, _le) applies only to the 32-bit types" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 65536:input:uint16:1\n", 3,
		  "the address must be a register number from 0 to 65535" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.temp = 65535:holding:float32:1\n", 3,
		  "its address can be at most 65534" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:coil:uint16:1\n", 3,
		  "the table must be holding or input" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint16\n", 3,
		  "expected ADDRESS:TABLE:TYPE:SCALE" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint16:0\n", 3,
		  "the scale must be a non-zero number" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.mood = 0:input:uint16:1\n", 3,
		  "unknown metric 'mood'" },
		{ "url = tcp://127.0.0.1:1502\nregister.spo2 = 0:input:uint16:1\n", 0,
		  "[modbus:bad] has no device" },
		{ "device = d\nregister.spo2 = 0:input:uint16:1\n", 0, "[modbus:bad] has no url" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\n", 0, "has no register.METRIC keys" },
		{ "url = tcp://127.0.0.1\ndevice = d\nregister.spo2 = 0:input:uint16:1\n", 1,
		  "the port is missing" },
		{ "url = rtu:/dev/ttyUSB0:9600:8N1\nunit_id = 0\ndevice = d\n"
		  "register.spo2 = 0:input:uint16:1\n", 2,
		  "on an RTU line the unit id must be from 1 to 247" },
		{ "url = rtu:/dev/ttyUSB0:9601:8N1\ndevice = d\nregister.spo2 = 0:input:uint16:1\n", 1,
		  "the baud rate must be one of" },
		{ "url = tcp://127.0.0.1:1502\ndevice = d\nregister.spo2 = 0:input:uint16:1\n"
		  "register.spo2 = 1:input:uint16:1\n", 4,
		  "duplicate key 'register.spo2' (first at line" },
	};
	char *base, *out, path[160], want[512];
	FILE *f;
	int st, lines = 0;

	base = run(&st, "cat %s", e->conf);
	for (const char *p = base; *p; p++)
		lines += *p == '\n';
	snprintf(path, sizeof(path), "%s/bad.conf", e->dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%s[modbus:bad]\n%s", base, cases[i].section);
		fclose(f);
		out = run(&st, "%s -c %s check-config 2>&1", hub_bin(), path);
		snprintf(want, sizeof(want), "%s:%d: ", path, lines + 1 + cases[i].line);
		if (st != 2 || strstr(out, want) == NULL || strstr(out, cases[i].msg) == NULL)
			fail_msg("case %zu: want exit 2 and '%s...%s', got exit %d:\n%s", i, want,
			         cases[i].msg, st, out);
		free(out);
	}
	/* The last map at start: the daemon does not start. */
	out = run(&st, "%s -c %s run 2>&1", hub_bin(), path);
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "duplicate key 'register.spo2'"));
	assert_null(strstr(out, "dhohub starting"));
	free(out);
	free(base);
}

int
main(void)
{
	const char *tail = getenv("DHO_VALGRIND") != NULL ? PROGRAMS("15s") : PROGRAMS("3s");
	const struct CMUnitTest tests[] = {
		ENV_TEST_TEARDOWN(test_values_arrive_and_alert, tail, teardown),
		ENV_TEST_TEARDOWN(test_unassigned_device_quarantined, tail, teardown),
		ENV_TEST_TEARDOWN(test_server_stops_hub_keeps_running, tail, teardown),
		ENV_TEST_TEARDOWN(test_server_comes_back_polling_resumes, tail, teardown),
		ENV_TEST_TEARDOWN(test_outage_raises_missing_rule, tail, teardown),
		ENV_TEST_TEARDOWN(test_device_exception_logged_once, tail, teardown),
		ENV_TEST_TEARDOWN(test_bad_register_map, tail, teardown),
	};
	return INTEG_RUN(tests);
}
