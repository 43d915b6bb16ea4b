/*
 * harness.c: the integration tests' helpers (see harness.h).
 */
/* strptime(), an independent parser of the times the hub prints. */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "net.h"

const char *
hub_bin(void)
{
	const char *b = getenv("DHOHUB_BIN");
	return b ? b : "dhohub";
}

int
free_port(void)
{
	return net_free_port();
}

bool
port_open(int port)
{
	return net_port_open(port);
}

pid_t
spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = fopen(log, "a");
		if (f) {
			dup2(fileno(f), 1);
			dup2(fileno(f), 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

void
stop(pid_t *pid, int sig)
{
	int st;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, &st, 0);
	*pid = -1;
}

/* Runs a shell command line and returns its stdout (malloc'd) and status. */
char *
run(int *status, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	char *out = NULL;
	size_t n = 0, cap = 0;
	char buf[4096];
	size_t got;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((got = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (n + got + 1 > cap) {
			cap = (n + got + 1) * 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + n, buf, got);
		n += got;
	}
	st = pclose(p);
	if (out == NULL)
		out = calloc(1, 1);
	out[n] = '\0';
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

/* A CLI command against the test's config; returns the exit code. */
/* DHO_VALGRIND set (make valgrind): the hub and the CLI run under
 * valgrind, each process writing its errors to DIR/valgrind-*.log, which
 * env_free() requires to be empty. */
static bool
valgrind_on(void)
{
	const char *v = getenv("DHO_VALGRIND");

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

#define VALGRIND_ARGS "--error-exitcode=99", "--leak-check=full", \
	"--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "-q"
#define VALGRIND_SHELL "--error-exitcode=99 --leak-check=full " \
	"--errors-for-leak-kinds=definite --show-leak-kinds=definite -q"

/* A CLI command with its stderr appended to errpath. */
static int
cli_run(struct env *e, char **out, const char *args, const char *errpath)
{
	int st;
	char *o = valgrind_on()
		? run(&st, "valgrind " VALGRIND_SHELL " --log-file=%s/valgrind-cli-%%p.log %s -c %s %s 2>>%s",
		      e->dir, hub_bin(), e->conf, args, errpath)
		: run(&st, "%s -c %s %s 2>>%s", hub_bin(), e->conf, args, errpath);

	if (out)
		*out = o;
	else
		free(o);
	return st;
}

int
cli(struct env *e, char **out, const char *args)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/cli.err", e->dir);
	return cli_run(e, out, args, path);
}

int
cli_stderr(struct env *e, char **out, char **err, const char *args)
{
	char path[160];
	int st;
	char *o;

	snprintf(path, sizeof(path), "%s/cli.last.err", e->dir);
	unlink(path);
	st = cli_run(e, &o, args, path);
	if (out)
		*out = o;
	else
		free(o);
	o = run(NULL, "cat %s; cat %s >> %s/cli.err", path, path, e->dir);
	if (err)
		*err = o;
	else
		free(o);
	return st;
}

void
pub_bytes(struct env *e, const char *topic, const void *bytes, size_t len)
{
	int st;
	char *o;
	char file[160];
	FILE *f;

	snprintf(file, sizeof(file), "%s/payload", e->dir);
	f = fopen(file, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	o = run(&st, "mosquitto_pub -p %d -q 1 -t '%s' -f %s", e->port, topic, file);
	free(o);
	assert_int_equal(st, 0);
}

void
pub(struct env *e, const char *topic, const char *payload)
{
	int st;
	char *o;
	char file[160];
	FILE *f;

	snprintf(file, sizeof(file), "%s/payload", e->dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(payload, f);
	fclose(f);
	o = run(&st, "mosquitto_pub -p %d -q 1 -t '%s' -f %s", e->port, topic, file);
	free(o);
	assert_int_equal(st, 0);
}

void
hub_start(struct env *e)
{
	char log[160], vlog[192];
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "run", NULL };
	char *vargv[] = { "valgrind", VALGRIND_ARGS, vlog, (char *)hub_bin(), "-c", e->conf, "run",
	                  NULL };
	char wrapped[512], *wargv[64];
	int n = 0;

	snprintf(log, sizeof(log), "%s/hub.log", e->dir);
	snprintf(vlog, sizeof(vlog), "--log-file=%s/valgrind-hub-%%p.log", e->dir);
	if (e->wrap[0] != '\0') {
		/* The test's words, then the hub: split at spaces. */
		snprintf(wrapped, sizeof(wrapped), "%s", e->wrap);
		for (char *w = wrapped; w != NULL && *w != '\0' && n < 59;) {
			char *sp = strchr(w, ' ');

			wargv[n++] = w;
			if (sp != NULL)
				*sp++ = '\0';
			w = sp;
		}
		for (int i = 0; argv[i]; i++)
			wargv[n++] = argv[i];
		wargv[n] = NULL;
	}
	e->hub = spawn(log, e->wrap[0] != '\0' ? wargv : valgrind_on() ? vargv : argv);
	/* The retained status says online once the session is up. */
	for (int i = 0; i < (valgrind_on() ? 300 : 100); i++) {
		int st;
		char *o = run(&st, "mosquitto_sub -p %d -t '%s/hub/%s/status' -C 1 -W 1 2>/dev/null",
		              e->port, e->prefix, "itest");
		bool up = strstr(o, "online") != NULL;
		free(o);
		if (up)
			return;
		usleep(100 * 1000);
	}
	fail_msg("hub did not come online");
}

void
broker_start(struct env *e)
{
	char path[160], log[160];
	const char *m = getenv("MOSQUITTO_BIN");
	char *argv[] = { (char *)(m ? m : "/usr/sbin/mosquitto"), "-c", path, NULL };

	snprintf(path, sizeof(path), "%s/mosquitto.conf", e->dir);
	snprintf(log, sizeof(log), "%s/mosquitto.log", e->dir);
	e->broker = spawn(log, argv);
	for (int i = 0; i < 100 && !port_open(e->port); i++)
		usleep(50 * 1000);
	assert_true(port_open(e->port));
}

static void
broker_conf(struct env *e, bool persistent)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/mosquitto.conf", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n", e->port);
	if (persistent) {
		/* Run as root, Mosquitto would drop to its own user, which cannot
		 * write the test's directory: keep it as the user who runs us. */
		struct passwd *pw = getpwuid(getuid());

		fprintf(f, "persistence true\npersistence_location %s/\nuser %s\n", e->dir,
		        pw ? pw->pw_name : "mosquitto");
	}
	else
		fprintf(f, "persistence false\n");
	fclose(f);
}

static void feed_probe(struct env *e, const char *what);
static json_int_t wait_stat_down(struct env *e, const char *key, json_int_t want, int secs);

/* Starts the alert feed's mosquitto_sub: a clean session, or with
 * client_id a persistent one that the broker keeps while it is away. */
static void
feed_start(struct env *e, const char *client_id)
{
	char port[16], topic[96];
	char *clean[] = { "mosquitto_sub", "-p", port, "-v", "-q", "1", "-t", topic, NULL };
	char *durable[] = { "mosquitto_sub", "-p", port, "-v", "-q", "1", "-c", "-i",
	                    (char *)client_id, "-t", topic, NULL };

	snprintf(port, sizeof(port), "%d", e->port);
	snprintf(topic, sizeof(topic), "%s/alerts/#", e->prefix);
	e->sub = spawn(e->alerts, client_id ? durable : clean);
}

void
broker_persistent(struct env *e)
{
	stop(&e->sub, SIGTERM);
	stop(&e->broker, SIGTERM);
	broker_conf(e, true);
	broker_start(e);
	feed_start(e, "itest-feed");
	feed_probe(e, "the persistent alert feed did not subscribe");
}

/* Tells a feed that is subscribed, and has everything before the probe,
 * from one that is not: a probe on a topic no team has, each with its own
 * number, until one arrives. */
static void
feed_probe(struct env *e, const char *what)
{
	static int probes;
	char topic[96], msg[32];

	snprintf(topic, sizeof(topic), "%s/alerts/_probe", e->prefix);
	for (int i = 0; i < 100; i++) {
		int st;
		char *o;

		snprintf(msg, sizeof(msg), "probe-%d", ++probes);
		o = run(&st, "mosquitto_pub -p %d -q 1 -t %s -m %s", e->port, topic, msg);
		free(o);
		for (int j = 0; j < 10; j++) {
			if (file_lines(e->alerts, topic, msg) > 0)
				return;
			usleep(20 * 1000);
		}
	}
	fail_msg("%s", what);
}

void
feed_sync(struct env *e)
{
	assert_int_equal(wait_stat_down(e, "outbox_pending", 0, 30), 0);
	feed_probe(e, "the alert feed did not catch up");
}

void
broker_reconfigure(struct env *e, const char *head, const char *tail)
{
	char path[160];
	FILE *f;

	stop(&e->sub, SIGTERM);
	stop(&e->broker, SIGTERM);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\nlistener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
	           "persistence false\n%s\n", head, e->port, tail);
	fclose(f);
	broker_start(e);
	feed_start(e, NULL);
	feed_probe(e, "the alert feed did not subscribe");
}

double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
file_lines(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && (b == NULL || strstr(line, b)))
			n++;
	fclose(f);
	return n;
}

struct env *
env_new(const char *tail)
{
	return env_new_broker(NULL, tail);
}

struct env *
env_new_broker(const char *broker_extra, const char *tail)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *p;
	FILE *f;

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/dho-itest.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->port = free_port();
	broker_conf(e, false);
	broker_start(e);
	snprintf(e->conf, sizeof(e->conf), "%s/hub.conf", e->dir);
	f = fopen(e->conf, "w");
	assert_non_null(f);
	snprintf(e->prefix, sizeof(e->prefix), "dho/v1");
	if (broker_extra && (p = strstr(broker_extra, "topic_prefix = ")) != NULL)
		sscanf(p + 15, "%63[^\n ]", e->prefix);
	fprintf(f, "[broker]\nurl = tcp://127.0.0.1:%d\nclient_id = itest\n%s%s\n\n"
	           "[store]\npath = %s/hub.db\n\n"
	           "[tenant:vefsn]\nhome_team = home-nursing/vefsn\nhospital_team = hospital-dho/mosjoen\n"
	           "hospital_days = 14\n\n[tenant:rana]\nhome_team = home-nursing/rana\n\n"
	           "[team:home-nursing/vefsn]\nescalate_to = hospital-dho/mosjoen\n\n"
	           "[team:hospital-dho/mosjoen]\n\n[team:home-nursing/rana]\n\n%s\n",
	        e->port,
	        broker_extra && strstr(broker_extra, "tenants") ? "" : "tenants = vefsn, rana\n",
	        broker_extra ? broker_extra : "", e->dir, tail ? tail : "");
	fclose(f);
	snprintf(e->alerts, sizeof(e->alerts), "%s/alerts.txt", e->dir);
	feed_start(e, NULL);
	return e;
}

void
env_conf_append(struct env *e, const char *text)
{
	FILE *f = fopen(e->conf, "a");

	assert_non_null(f);
	fprintf(f, "\n%s\n", text);
	fclose(f);
}

void
hub_stop(struct env *e)
{
	int st = 0;
	pid_t hub = e->hub;

	if (hub <= 0)
		return;
	e->hub = -1;
	kill(hub, SIGTERM);
	assert_int_equal(waitpid(hub, &st, 0), hub);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("the hub did not exit 0 on SIGTERM (status 0x%x); see %s/hub.log", st, e->dir);
}

/*
 * The files of the test's directory that hold a sanitizer's report: the
 * stderr of every dhohub process the tests start is there (hub.log,
 * cli.err, web.log, ...). "" when there is none; the caller frees it.
 */
static char *
sanitizer_files(const struct env *e)
{
	return run(NULL, "grep -lE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' %s/*.log %s/*.err"
	                 " 2>/dev/null | grep -v /valgrind- | tr '\\n' ' '", e->dir, e->dir);
}

void
env_free(struct env *e)
{
	char *o, why[256] = "";
	int st = 0;

	if (e == NULL)
		return;
	/* Everything is stopped before a failure is reported, so that no
	 * process outlives a failed test. */
	if (e->hub > 0) {
		kill(e->hub, SIGTERM);
		waitpid(e->hub, &st, 0);
		e->hub = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			snprintf(why, sizeof(why), "the hub did not exit 0 on SIGTERM (status 0x%x)", st);
	}
	stop(&e->sub, SIGTERM);
	stop(&e->broker, SIGTERM);
	if (why[0] == '\0') {
		o = sanitizer_files(e);
		if (*o != '\0')
			snprintf(why, sizeof(why), "a sanitizer report in %.200s", o);
		free(o);
	}
	if (why[0] == '\0' && valgrind_on()) {
		/* Valgrind writes a log only when it has something to say (-q). */
		o = run(&st, "find %s -maxdepth 1 -name 'valgrind-*.log' -size +0c", e->dir);
		if (*o != '\0')
			snprintf(why, sizeof(why), "valgrind reported errors: %.200s", o);
		free(o);
	}
	if (why[0] != '\0') {
		fprintf(stderr, "%s; kept %s\n", why, e->dir);
		free(e);
		fail_msg("%s", why);
	}
	if (getenv("DHO_KEEP_TEST_DIR") == NULL) {
		o = run(NULL, "rm -rf %s", e->dir);
		free(o);
	} else {
		fprintf(stderr, "kept %s\n", e->dir);
	}
	free(e);
}

void
require_root(const char *why)
{
	const char *allow = getenv("DHO_ALLOW_SKIP");

	if (geteuid() == 0)
		return;
	if (allow != NULL && strcmp(allow, "1") == 0) {
		fprintf(stderr, "skipped: %s needs root (DHO_ALLOW_SKIP=1)\n", why);
		exit(SKIP_CODE);
	}
	fprintf(stderr, "%s needs root; run as root, or set DHO_ALLOW_SKIP=1 to skip it\n", why);
	exit(1);
}

void
utc_at(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
utc(char *buf, size_t len, long delta)
{
	utc_at(buf, len, time(NULL) + delta);
}

int
hub_log_lines(struct env *e, const char *a, const char *b)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/hub.log", e->dir);
	return file_lines(path, a, b);
}

int
env_setup(void **state)
{
	*state = env_new(*state);
	return 0;
}

int
env_teardown(void **state)
{
	env_free(*state);
	return 0;
}

int
integ_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("DHO_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("DHO_TEST_FILTER"));
	return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

void
today(char *buf, size_t len, int days_ago)
{
	time_t t = time(NULL) - (time_t)days_ago * 86400;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

void
enroll(struct env *e, const char *patient, const char *device, int discharged_days_ago,
       const char *extra)
{
	char d[16], args[512];

	today(d, sizeof(d), discharged_days_ago);
	snprintf(args, sizeof(args), "patient add %s --tenant vefsn --program copd --discharged %s %s",
	         patient, d, extra);
	assert_int_equal(cli(e, NULL, args), 0);
	snprintf(args, sizeof(args), "device assign %s --patient %s", device, patient);
	assert_int_equal(cli(e, NULL, args), 0);
}

json_t *
cli_json(struct env *e, const char *args)
{
	char *out = NULL;
	json_error_t err;
	json_t *doc;
	int st = cli(e, &out, args);

	assert_int_equal(st, 0);
	doc = json_loads(out, 0, &err);
	if (doc == NULL)
		fail_msg("not JSON from '%s': %s\n%s", args, err.text, out);
	free(out);
	return doc;
}

json_int_t
stat_int(struct env *e, const char *key)
{
	json_t *s = cli_json(e, "stats --json");
	json_int_t v = json_integer_value(json_object_get(s, key));

	assert_true(json_is_integer(json_object_get(s, key)));
	json_decref(s);
	return v;
}

/* Waits until stats key reaches want, up to secs seconds. */
json_int_t
wait_stat(struct env *e, const char *key, json_int_t want, int secs)
{
	json_int_t v = -1;

	for (int i = 0; i < secs * 10; i++) {
		if ((v = stat_int(e, key)) >= want)
			return v;
		usleep(100 * 1000);
	}
	return v;
}

/* Waits until stats key falls to want or below, up to secs seconds. */
static json_int_t
wait_stat_down(struct env *e, const char *key, json_int_t want, int secs)
{
	double until = mono_now() + secs;
	json_int_t v;

	while ((v = stat_int(e, key)) > want && mono_now() < until)
		usleep(50 * 1000);
	return v;
}

void
alert_id(struct env *e, const char *patient, char *id, size_t len)
{
	char args[128];
	json_t *a;

	snprintf(args, sizeof(args), "alerts --patient %s --state all --json", patient);
	a = cli_json(e, args);
	assert_int_equal(json_array_size(a), 1);
	snprintf(id, len, "%s", json_string_value(json_object_get(json_array_get(a, 0), "id")));
	json_decref(a);
}

/* Counts lines of the alert feed that contain all of the given strings. */
int
alert_lines(struct env *e, const char *a, const char *b)
{
	return file_lines(e->alerts, a, b);
}

/*
 * Distinct alert ids among the feed's lines containing a and b. Events are
 * delivered at least once: a kill -9 between the broker's PUBACK and the
 * outbox mark publishes an event again, with the same id, event and at.
 * A duplicated alert would have a second id.
 */
int
alert_ids(struct env *e, const char *a, const char *b)
{
	FILE *f = fopen(e->alerts, "r");
	char line[4096], ids[32][16];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "\"id\":\"");
		char id[16] = "";
		bool seen = false;

		if (!strstr(line, a) || (b && !strstr(line, b)) || p == NULL)
			continue;
		sscanf(p + 6, "%15[^\"]", id);
		for (int i = 0; i < n; i++)
			seen = seen || strcmp(ids[i], id) == 0;
		if (!seen && n < 32)
			snprintf(ids[n++], sizeof(ids[0]), "%s", id);
	}
	fclose(f);
	return n;
}

int
wait_alert_lines(struct env *e, const char *a, const char *b, int want, int secs)
{
	return wait_file_lines(e->alerts, a, b, want, secs);
}

int
wait_file_lines(const char *path, const char *a, const char *b, int want, int secs)
{
	int n = 0;

	for (int i = 0; i < secs * 10; i++) {
		if ((n = file_lines(path, a, b)) >= want)
			return n;
		usleep(100 * 1000);
	}
	return n;
}

json_t *
feed_events(struct env *e, const char *id)
{
	FILE *f = fopen(e->alerts, "r");
	json_t *all = json_array();
	char line[16384];

	assert_non_null(all);
	if (f == NULL)
		return all;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		json_t *doc;

		/* mosquitto_sub -v: "TOPIC PAYLOAD"; team names have no space. */
		if (sp == NULL || strncmp(line, e->prefix, strlen(e->prefix)) != 0 ||
		    strstr(line, "/alerts/_probe ") != NULL)
			continue;
		*sp = '\0';
		doc = json_loads(sp + 1, 0, NULL);
		if (doc == NULL)
			fail_msg("not JSON on %s: %s", line, sp + 1);
		if (id != NULL && strcmp(jstr(doc, "id"), id) != 0) {
			json_decref(doc);
			continue;
		}
		json_object_set_new(doc, "_topic", json_string(line));
		json_array_append_new(all, doc);
	}
	fclose(f);
	return all;
}

json_t *
wait_event(struct env *e, const char *id, const char *event, int secs)
{
	double until = mono_now() + secs;

	do {
		json_t *all = feed_events(e, id);
		size_t i;
		json_t *doc;

		json_array_foreach(all, i, doc) {
			if (strcmp(jstr(doc, "event"), event) == 0) {
				json_incref(doc);
				json_decref(all);
				return doc;
			}
		}
		json_decref(all);
		usleep(100 * 1000);
	} while (mono_now() < until);
	fail_msg("no %s event of %s within %d s", event, id ? id : "any alert", secs);
	return NULL;
}

const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

json_int_t
jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

void
parse_utc(const char *s, time_t *t)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (end == NULL || *end != '\0' || strlen(s) != 20)
		fail_msg("'%s' is not RFC 3339 UTC with Z", s);
	*t = timegm(&tm);
}
