/*
 * demo.c: `dhohub demo`, the whole way of a reading on the real parts.
 *
 * It starts a private Mosquitto on a free loopback port, writes a
 * configuration and a database into a temporary directory, enrolls demo
 * patients, starts the hub (this binary, `run`) and simulated devices, and
 * prints the alert events the nurses' teams receive. At the end (after
 * --duration, or Ctrl-C) it stops the hub and the broker and removes the
 * directory.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <MQTTAsync.h>

#include "auth.h"
#include "daemon.h"
#include "net.h"
#include "store.h"
#include "timefmt.h"

#define DEMO_PREFIX "dho/v1"
/* The workspace's demo nurses: one of both teams, one of home nursing only
 * (who does not see the hospital's alerts). A demo password, printed. */
#define DEMO_NURSE "sykepleier"
#define DEMO_HOME_NURSE "hjemmesykepleier"
#define DEMO_PASSWORD "demo-passord-123"

static volatile sig_atomic_t demo_stop;

static void
demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

static pid_t
demo_spawn(char *const argv[], const char *logpath)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
demo_reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static int
demo_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
demo_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return DHO_EIO;
	fputs(text, f);
	return fclose(f) == 0 ? DHO_OK : DHO_EIO;
}

/* Prints one alert event as a nurse would want to read it. */
static int
demo_on_event(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	json_t *doc = json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL);
	const char *team = topic + strlen(DEMO_PREFIX "/alerts/");
	char now[TIMEFMT_LEN];

	(void)ctx;
	(void)topiclen;
	timefmt_format(timefmt_now(), now);
	if (doc) {
		printf("%s  %-22s %-4s %-9s %-6s %-4s %-18s %s\n", now + 11, team,
		       json_string_value(json_object_get(doc, "id")),
		       json_string_value(json_object_get(doc, "event")),
		       json_string_value(json_object_get(doc, "severity")),
		       json_string_value(json_object_get(doc, "patient")),
		       json_string_value(json_object_get(doc, "rule")),
		       json_string_value(json_object_get(doc, "reason")));
		fflush(stdout);
		json_decref(doc);
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void
demo_publish(MQTTAsync c, const char *device, const char *body)
{
	MQTTAsync_message m = MQTTAsync_message_initializer;
	char topic[128];

	snprintf(topic, sizeof(topic), DEMO_PREFIX "/vefsn/dev/%s/reading", device);
	m.payload = (void *)body;
	m.payloadlen = (int)strlen(body);
	m.qos = 1;
	MQTTAsync_sendMessage(c, topic, &m, NULL);
}

static int
demo_connect(MQTTAsync *c, const char *url, const char *id, bool subscribe)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	if (MQTTAsync_create(c, url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTASYNC_SUCCESS)
		return DHO_EIO;
	if (subscribe)
		MQTTAsync_setCallbacks(*c, NULL, NULL, demo_on_event, NULL);
	o.cleansession = 1;
	if (MQTTAsync_connect(*c, &o) != MQTTASYNC_SUCCESS)
		return DHO_EIO;
	for (int i = 0; i < 100 && !MQTTAsync_isConnected(*c); i++)
		usleep(50 * 1000);
	if (!MQTTAsync_isConnected(*c))
		return DHO_EIO;
	if (subscribe &&
	    MQTTAsync_subscribe(*c, DEMO_PREFIX "/alerts/#", 1, &ro) != MQTTASYNC_SUCCESS)
		return DHO_EIO;
	return DHO_OK;
}

static int
demo_users(struct store *st, dho_time_t now)
{
	struct store_user u;
	int rc = auth_init();

	memset(&u, 0, sizeof(u));
	if (rc == DHO_OK)
		rc = auth_hash(DEMO_PASSWORD, u.hash, sizeof(u.hash));
	snprintf(u.role, sizeof(u.role), "nurse");
	u.created_at = now;
	snprintf(u.name, sizeof(u.name), DEMO_NURSE);
	snprintf(u.teams[0], sizeof(u.teams[0]), "home-nursing/vefsn");
	snprintf(u.teams[1], sizeof(u.teams[1]), "hospital-dho/mosjoen");
	u.nteams = 2;
	if (rc == DHO_OK)
		rc = store_user_add(st, &u);
	snprintf(u.name, sizeof(u.name), DEMO_HOME_NURSE);
	u.nteams = 1;
	if (rc == DHO_OK)
		rc = store_user_add(st, &u);
	return rc;
}

static int
demo_enroll(const char *db)
{
	struct store *st = NULL;
	char err[DHO_ERRLEN];
	dho_time_t now = timefmt_now();
	struct store_patient p[] = {
		{ "kols-ola", "vefsn", "copd", now - 3 * 86400, -1, "", now, 0 },
		{ "hjerte-kari", "vefsn", "heart-failure", now - 20 * 86400, -1, "", now, 0 },
		{ "kols-per", "vefsn", "copd", now - 2 * 86400, -1, "", now, 0 },
	};
	const char *dev[][2] = { { "oxy-ola", "kols-ola" }, { "scale-kari", "hjerte-kari" },
	                         { "oxy-per", "kols-per" } };
	int rc;

	if ((rc = store_open(db, STORE_CREATE, &st, err, sizeof(err))) != DHO_OK) {
		fprintf(stderr, "demo: %s\n", err);
		return rc;
	}
	for (size_t i = 0; i < 3 && rc == DHO_OK; i++) {
		rc = store_patient_add(st, &p[i]);
		if (rc == DHO_OK)
			rc = store_device_assign(st, dev[i][0], dev[i][1], 0);
	}
	if (rc == DHO_OK)
		rc = demo_users(st, now);
	store_close(st);
	return rc;
}

int
demo_run(const char *config_path, int duration_s)
{
	char dir[] = "/tmp/dhohub-demo.XXXXXX";
	char path[256], conf[256], db[256], url[64], text[4096], body[256], ts[TIMEFMT_LEN];
	pid_t broker = -1, hub = -1, web = -1;
	MQTTAsync feed = NULL, devices = NULL;
	int port, web_port, rc = 1, tick = 0;
	time_t start = time(NULL);
	struct sigaction sa;

	(void)config_path;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = demo_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (mkdtemp(dir) == NULL || (port = net_free_port()) < 0 ||
	    (web_port = net_free_port()) < 0) {
		perror("demo: cannot set up a temporary directory and port");
		return 1;
	}
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", dir);
	snprintf(text, sizeof(text),
	         "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
	         "max_queued_messages 0\n", port);
	if (demo_write(path, text) != DHO_OK)
		goto out;
	{
		char *argv[] = { "/usr/sbin/mosquitto", "-c", path, NULL };
		char log[256];

		snprintf(log, sizeof(log), "%s/mosquitto.log", dir);
		broker = demo_spawn(argv, log);
	}
	for (int i = 0; i < 100 && !net_port_open(port); i++)
		usleep(50 * 1000);
	if (!net_port_open(port)) {
		fprintf(stderr, "demo: mosquitto did not start (is the mosquitto package installed?)\n");
		goto out;
	}
	snprintf(conf, sizeof(conf), "%s/dhohub.conf", dir);
	snprintf(db, sizeof(db), "%s/demo.db", dir);
	snprintf(text, sizeof(text),
	         "[hub]\ntimezone = Europe/Oslo\n\n[broker]\nurl = %s\nclient_id = dhohub-demo\n"
	         "tenants = vefsn\n\n[store]\npath = %s\n\n"
	         "[tenant:vefsn]\nhome_team = home-nursing/vefsn\nhospital_team = hospital-dho/mosjoen\n"
	         "hospital_days = 14\n\n[team:home-nursing/vefsn]\nescalate_to = hospital-dho/mosjoen\n\n"
	         "[team:hospital-dho/mosjoen]\n\n[http]\nlisten = 127.0.0.1:%d\n\n"
	         "[program:copd]\nthreshold.spo2 = red<88 yellow<92\nthreshold.pulse = red>130 yellow>110\n"
	         "missing.spo2 = 6s red:12s\n\n"
	         "[program:heart-failure]\nthreshold.weight = red>86 yellow>84\n"
	         "threshold.bp_sys = red<90 yellow<100 yellow>160\n",
	         url, db, web_port);
	if (demo_write(conf, text) != DHO_OK || demo_enroll(db) != DHO_OK)
		goto out;
	{
		char *argv[] = { "/proc/self/exe", "-c", conf, "run", NULL };
		char log[256];

		snprintf(log, sizeof(log), "%s/hub.log", dir);
		hub = demo_spawn(argv, log);
	}
	{
		char *argv[] = { "/proc/self/exe", "-c", conf, "web", NULL };
		char log[256];

		snprintf(log, sizeof(log), "%s/web.log", dir);
		web = demo_spawn(argv, log);
	}
	for (int i = 0; i < 100 && !net_port_open(web_port); i++)
		usleep(50 * 1000);
	if (!net_port_open(web_port))
		fprintf(stderr, "demo: the workspace did not start; see %s/web.log\n", dir);
	if (demo_connect(&feed, url, "demo-feed", true) != DHO_OK ||
	    demo_connect(&devices, url, "demo-devices", false) != DHO_OK) {
		fprintf(stderr, "demo: cannot connect to the demo broker\n");
		goto out;
	}
	printf("dhohub demo: broker %s, hub log %s/hub.log\n"
	       "workspace: http://127.0.0.1:%d/  log in as " DEMO_NURSE " (both teams) or "
	       DEMO_HOME_NURSE " (home nursing only), password " DEMO_PASSWORD "\n"
	       "patients: kols-ola (COPD, desaturating), hjerte-kari (heart failure, gaining weight),\n"
	       "          kols-per (COPD, device goes silent)\n\n"
	       "TIME      TEAM                   ID   EVENT     SEV    PATIENT / RULE / REASON\n",
	       url, dir, web_port);
	fflush(stdout);
	while (!demo_stop && (duration_s == 0 || time(NULL) - start < duration_s)) {
		/* One simulated round every second: Ola's saturation falls a
		 * point a round, Kari's weight rises, Per's oximeter stops. */
		timefmt_format(timefmt_now(), ts);
		snprintf(body, sizeof(body),
		         "{\"seq\": %d, \"ts\": \"%s\", \"readings\": [{\"metric\": \"spo2\", \"value\": %d},"
		         " {\"metric\": \"pulse\", \"value\": %d}]}",
		         tick, ts, 96 - 2 * (tick % 8), 80 + tick % 12);
		demo_publish(devices, "oxy-ola", body);
		snprintf(body, sizeof(body),
		         "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"weight\", \"value\": %.1f, \"unit\": \"kg\"}",
		         tick, ts, 82.0 + 0.4 * (tick % 15));
		demo_publish(devices, "scale-kari", body);
		if (tick < 3) {
			snprintf(body, sizeof(body),
			         "{\"seq\": %d, \"ts\": \"%s\", \"metric\": \"spo2\", \"value\": 95}", tick, ts);
			demo_publish(devices, "oxy-per", body);
		}
		tick++;
		for (int i = 0; i < 10 && !demo_stop; i++)
			usleep(100 * 1000);
	}
	rc = 0;
out:
	if (devices) {
		MQTTAsync_disconnect(devices, NULL);
		MQTTAsync_destroy(&devices);
	}
	if (feed) {
		MQTTAsync_disconnect(feed, NULL);
		MQTTAsync_destroy(&feed);
	}
	demo_reap(web);
	demo_reap(hub);
	demo_reap(broker);
	nftw(dir, demo_rm, 8, FTW_DEPTH | FTW_PHYS);
	printf("\ndhohub demo: stopped; removed %s\n", dir);
	return rc;
}
