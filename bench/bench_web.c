/*
 * bench_web: the nurses' workspace under load (the workspace's performance
 * targets), on the real parts: Mosquitto, `dhohub run`, `dhohub web`, one
 * SQLite file.
 *
 * The database gets P patients (default 100,000) in ten home-nursing teams,
 * D days (default 30) of SpO2 history at K readings a day each, and open
 * alerts for 3 % of the patients. Then, for S seconds (default 30), while
 * devices publish R readings a second (default 1,000) through the broker
 * to `run`, N nurses (default 50) each loop over their triage list
 * (GET /api/v1/alerts) and a 30-day chart of one of their patients
 * (GET /api/v1/patients/ID/readings?metric=spo2&since=...), with T ms
 * (default 1,000) between one pair and the next; --think-ms 0 makes every
 * nurse ask again at once, the machine's saturation point. Every two
 * seconds a reading below the red limit is published for a patient of the
 * first nurse's team, and the time until that nurse's event stream shows
 * the opened alert is the event latency.
 *
 * It prints p50 and p99 of both requests, the event latencies, and the
 * ingest rate reached; docs/performance.md keeps the figures.
 *
 *   bench_web [--patients P] [--days D] [--per-day K] [--nurses N]
 *             [--seconds S] [--rate R] [--think-ms T]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth.h"
#include "bench.h"
#include "bench_mqtt.h"
#include "store.h"
#include "timefmt.h"

#define DAY 86400
#define TEAMS 10
#define PASSWORD "bench-password-123"
#define LAT_MAX 200000

static long opt_patients = 100000, opt_days = 30, opt_per_day = 4, opt_nurses = 50;
static long opt_seconds = 30, opt_rate = 1000, opt_think_ms = 1000;
static int web_port, mqtt_port;
static volatile int stop_now;

static void
die(const char *what, int rc, struct store *st)
{
	fprintf(stderr, "bench_web: %s: %s%s%s\n", what, dho_strerror(rc), st ? ": " : "",
	        st ? store_errmsg(st) : "");
	exit(1);
}

static double
secs(int64_t ns)
{
	return (double)ns / 1e9;
}

/* ---- the database ---- */

static void
fill(const char *db)
{
	struct store *st = NULL;
	char err[DHO_ERRLEN], hash[STORE_HASH_MAX];
	dho_time_t now = timefmt_now(), start = now - opt_days * DAY;
	int64_t t0 = bench_now_ns(), rows = 0;
	int rc;

	if ((rc = store_open(db, STORE_CREATE, &st, err, sizeof(err))) != DHO_OK) {
		fprintf(stderr, "bench_web: %s\n", err);
		exit(1);
	}
	if (auth_init() != DHO_OK || auth_hash(PASSWORD, hash, sizeof(hash)) != DHO_OK)
		die("hash", DHO_ENOMEM, NULL);
	for (long i = 0; i < opt_patients; i++) {
		struct store_patient p = { 0 };
		char dev[DHO_ID_MAX + 1];

		if (i % 2000 == 0 && (rc = store_begin(st)) != DHO_OK)
			die("begin", rc, st);
		snprintf(p.id, sizeof(p.id), "P%06ld", i);
		snprintf(p.tenant, sizeof(p.tenant), "t");
		snprintf(p.program, sizeof(p.program), "copd");
		snprintf(p.team, sizeof(p.team), "home-nursing/t%ld", i % TEAMS);
		p.discharged = start - DAY;
		p.hospital_days = 0;
		p.enrolled_at = start - DAY;
		snprintf(dev, sizeof(dev), "D%06ld", i);
		if ((rc = store_patient_add(st, &p)) != DHO_OK ||
		    (rc = store_device_assign(st, dev, p.id, 0)) != DHO_OK)
			die("patient", rc, st);
		for (long k = 0; k < opt_days * opt_per_day; k++) {
			struct store_reading r = { 0 };

			memcpy(r.patient, p.id, sizeof(r.patient));
			memcpy(r.device, dev, sizeof(r.device));
			r.r.metric = METRIC_SPO2;
			r.r.value = 93 + (double)((i + k) % 6);
			r.r.measured_at = start + k * (DAY / opt_per_day) + i % 600;
			r.received_at = r.r.measured_at;
			if ((rc = store_reading_add(st, &r)) != DHO_OK)
				die("reading", rc, st);
			rows++;
		}
		/* 3 % of the patients have an open alert, two thirds of them
		 * yellow; patients 0-999 send the background readings and get
		 * none, so that the probes' are the only alerts opened. */
		if (i >= 1000 && i % 33 == 0) {
			struct alert a = { 0 };
			char *body = NULL;

			memcpy(a.patient, p.id, sizeof(a.patient));
			snprintf(a.tenant, sizeof(a.tenant), "t");
			snprintf(a.rule, sizeof(a.rule), "threshold.spo2");
			memcpy(a.team, p.team, sizeof(a.team));
			a.severity = i % 3 ? ALERT_SEV_YELLOW : ALERT_SEV_RED;
			a.state = ALERT_OPEN;
			snprintf(a.metric, sizeof(a.metric), "spo2");
			a.value = a.severity == ALERT_SEV_RED ? 86 : 90;
			snprintf(a.unit, sizeof(a.unit), "%%");
			a.measured_at = a.opened_at = a.updated_at = now - i % DAY;
			snprintf(a.reason, sizeof(a.reason), "spo2 %.0f %% is below the limit", a.value);
			snprintf(a.last_event, sizeof(a.last_event), "opened");
			a.version = 1;
			if ((rc = store_alert_save(st, &a)) != DHO_OK ||
			    (rc = alert_event_json(&a, "opened", a.opened_at, &body)) != DHO_OK ||
			    (rc = store_outbox_add(st, a.id, a.team, "", body, a.opened_at)) != DHO_OK)
				die("alert", rc, st);
			free(body);
		}
		if ((i % 2000 == 1999 || i == opt_patients - 1) && (rc = store_commit(st)) != DHO_OK)
			die("commit", rc, st);
	}
	if ((rc = store_begin(st)) != DHO_OK)
		die("begin", rc, st);
	for (long n = 0; n < opt_nurses; n++) {
		struct store_user u = { 0 };

		snprintf(u.name, sizeof(u.name), "nurse%02ld", n);
		snprintf(u.role, sizeof(u.role), "nurse");
		snprintf(u.teams[0], sizeof(u.teams[0]), "home-nursing/t%ld", n % TEAMS);
		u.nteams = 1;
		memcpy(u.hash, hash, sizeof(u.hash));
		u.created_at = now;
		if ((rc = store_user_add(st, &u)) != DHO_OK)
			die("user", rc, st);
	}
	if ((rc = store_commit(st)) != DHO_OK)
		die("commit", rc, st);
	store_close(st);
	printf("database: %ld patients, %lld readings over %ld days, written in %.1f s\n",
	       opt_patients, (long long)rows, opt_days, secs(bench_now_ns() - t0));
	fflush(stdout);
}

/* ---- HTTP ---- */

struct nurse {
	int n;
	char cookie[128];
	CURL *c;
	double triage[LAT_MAX / 50];
	size_t ntriage;
	double chart[LAT_MAX / 50];
	size_t nchart;
	long errors;
};

static size_t
sink(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static size_t
cookie_of(char *p, size_t size, size_t n, void *ctx)
{
	struct nurse *u = ctx;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Set-Cookie: ", 12) == 0)
		snprintf(u->cookie, sizeof(u->cookie), "%.*s", (int)strcspn(p + 12, ";\r\n"), p + 12);
	return len;
}

/* GET path as u; the seconds it took, or -1 for anything but 200. */
static double
get(struct nurse *u, const char *path)
{
	char url[256];
	long status = 0;
	int64_t t0 = bench_now_ns();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", web_port, path);
	curl_easy_setopt(u->c, CURLOPT_URL, url);
	curl_easy_setopt(u->c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(u->c, CURLOPT_COOKIE, u->cookie);
	curl_easy_setopt(u->c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(u->c, CURLOPT_HEADERFUNCTION, NULL);
	if (curl_easy_perform(u->c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(u->c, CURLINFO_RESPONSE_CODE, &status);
	return status == 200 ? secs(bench_now_ns() - t0) : -1;
}

static void
login(struct nurse *u)
{
	char url[128], body[128];
	long status = 0;

	u->c = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/session", web_port);
	snprintf(body, sizeof(body), "{\"user\": \"nurse%02d\", \"password\": \"" PASSWORD "\"}", u->n);
	curl_easy_setopt(u->c, CURLOPT_URL, url);
	curl_easy_setopt(u->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(u->c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(u->c, CURLOPT_HEADERFUNCTION, cookie_of);
	curl_easy_setopt(u->c, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(u->c, CURLOPT_TIMEOUT, 60L);
	/* The log-ins come while `run` starts on a large database: a 503
	 * (the database busy) is tried again. */
	for (int tries = 0; tries < 5; tries++) {
		status = 0;
		if (curl_easy_perform(u->c) == CURLE_OK)
			curl_easy_getinfo(u->c, CURLINFO_RESPONSE_CODE, &status);
		if (status != 503)
			break;
		sleep(1);
	}
	if (status != 200) {
		fprintf(stderr, "bench_web: nurse%02d cannot log in (%ld)\n", u->n, status);
		exit(1);
	}
	curl_easy_setopt(u->c, CURLOPT_POSTFIELDS, NULL);
}

static void *
nurse_loop(void *arg)
{
	struct nurse *u = arg;
	char path[160], since[TIMEFMT_LEN];
	long k = 0;

	timefmt_format(timefmt_now() - 30 * DAY, since);
	/* Nurses do not march in step: each starts at her own point of the
	 * pause, spread evenly over it. (Before, all fifty first requests
	 * came in the same millisecond, on cold connections; that one burst
	 * made the p99 of a 30 s run.) */
	if (opt_think_ms > 0)
		usleep((useconds_t)((opt_think_ms * 1000 * u->n) / opt_nurses));
	while (!stop_now) {
		/* A patient of her team (patient number = team modulo TEAMS). */
		long p = ((k * 7919 + u->n * 104729) % (opt_patients / TEAMS)) * TEAMS + u->n % TEAMS;
		double t;

		if ((t = get(u, "/api/v1/alerts?limit=50")) < 0)
			u->errors++;
		else if (u->ntriage < sizeof(u->triage) / sizeof(u->triage[0]))
			u->triage[u->ntriage++] = t;
		snprintf(path, sizeof(path), "/api/v1/patients/P%06ld/readings?metric=spo2&since=%s", p,
		         since);
		if ((t = get(u, path)) < 0)
			u->errors++;
		else if (u->nchart < sizeof(u->chart) / sizeof(u->chart[0]))
			u->chart[u->nchart++] = t;
		k++;
		/* A nurse reads what she fetched before she fetches again. */
		if (opt_think_ms > 0)
			usleep((useconds_t)(opt_think_ms * 1000));
	}
	return NULL;
}

/* ---- the event stream and its probes ---- */

struct probe {
	int64_t sent[256];
	int64_t seen[256];
	int nsent, nseen;
	pthread_mutex_t lock;
	const struct nurse *u;
};

static void *
sse_loop(void *arg)
{
	struct probe *pr = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)web_port) };
	char buf[65536], req[512];
	size_t len = 0, scanned = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return NULL;
	n = snprintf(req, sizeof(req), "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	             "Cookie: %s\r\n\r\n", pr->u->cookie);
	if (write(fd, req, (size_t)n) != n)
		return NULL;
	while (!stop_now) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;
		char *hit;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (len + 1 >= sizeof(buf)) {
			memmove(buf, buf + scanned, len - scanned);
			len -= scanned;
			scanned = 0;
		}
		if ((got = read(fd, buf + len, sizeof(buf) - len - 1)) <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		while ((hit = strstr(buf + scanned, "\"event\":\"opened\"")) != NULL) {
			scanned = (size_t)(hit - buf) + 16;
			pthread_mutex_lock(&pr->lock);
			if (pr->nseen < 256)
				pr->seen[pr->nseen++] = bench_now_ns();
			pthread_mutex_unlock(&pr->lock);
		}
	}
	close(fd);
	return NULL;
}

static void
probe_once(struct probe *pr, int k)
{
	/* Patients of team 0 from 2,000 on, without an alert (i % 33 != 0). */
	long i = 2000 + (long)k * TEAMS * 3 + TEAMS;
	char topic[128], body[128], port[16];
	int st;
	pid_t pid;

	while (i % 33 == 0)
		i += TEAMS;
	snprintf(topic, sizeof(topic), "dho/v1/t/dev/D%06ld/reading", i);
	snprintf(body, sizeof(body), "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	snprintf(port, sizeof(port), "%d", mqtt_port);
	pthread_mutex_lock(&pr->lock);
	if (pr->nsent < 256)
		pr->sent[pr->nsent++] = bench_now_ns();
	pthread_mutex_unlock(&pr->lock);
	pid = fork();
	if (pid == 0) {
		execlp("mosquitto_pub", "mosquitto_pub", "-p", port, "-q", "1", "-t", topic, "-m", body,
		       (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

/* ---- background ingest ---- */

static int
ingest_msg(void *ctx, int dev, long r, char *topic, size_t tlen, char *body, size_t len)
{
	(void)ctx;
	snprintf(topic, tlen, "dho/v1/t/dev/D%06d/reading", dev);
	return snprintf(body, len, "{\"seq\": %ld, \"metric\": \"spo2\", \"value\": %d}", 1000 + r,
	                94 + (int)(r % 4));
}

static void *
ingest_loop(void *arg)
{
	long *rounds = arg;

	bench_mqtt_publish(mqtt_port, 0, 1000, *rounds, 200, (double)opt_rate, ingest_msg, NULL,
	                   NULL);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	return bench_cmp_double(a, b);
}

static void
report(const char *what, struct nurse *us, long n, bool chart)
{
	size_t total = 0, k = 0;
	double *all;

	for (long i = 0; i < n; i++)
		total += chart ? us[i].nchart : us[i].ntriage;
	if ((all = malloc(sizeof(*all) * (total ? total : 1))) == NULL)
		exit(1);
	for (long i = 0; i < n; i++) {
		memcpy(all + k, chart ? us[i].chart : us[i].triage,
		       sizeof(*all) * (chart ? us[i].nchart : us[i].ntriage));
		k += chart ? us[i].nchart : us[i].ntriage;
	}
	qsort(all, total, sizeof(*all), cmp);
	printf("%-34s %7zu requests  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", what, total,
	       1000 * bench_quantile(all, total, 0.5), 1000 * bench_quantile(all, total, 0.99),
	       total ? 1000 * all[total - 1] : 0.0);
	free(all);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: bench_web [--patients P] [--days D] [--per-day K] [--nurses N]\n"
	           "                 [--seconds S] [--rate R] [--think-ms T]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "patients", 1, NULL, 'p' }, { "days", 1, NULL, 'd' }, { "per-day", 1, NULL, 'k' },
		{ "nurses", 1, NULL, 'n' }, { "seconds", 1, NULL, 's' }, { "rate", 1, NULL, 'r' },
		{ "think-ms", 1, NULL, 't' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char dir[256], conf[512], db[600], text[2048], log[700];
	struct nurse *us;
	struct probe pr = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t *threads, sse, ing;
	long rounds;
	int broker, hub, web, c;
	int64_t t0, ingest_t0;
	double lat[256];
	int nlat = 0;
	long errors = 0, before, after;
	struct store *st = NULL;
	struct store_stats stats;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': opt_patients = (long)bench_count("--patients", optarg, 2000, 10000000); break;
		case 'd': opt_days = (long)bench_count("--days", optarg, 1, 365); break;
		case 'k': opt_per_day = (long)bench_count("--per-day", optarg, 1, 1440); break;
		case 'n': opt_nurses = (long)bench_count("--nurses", optarg, 1, 60); break;
		case 's': opt_seconds = (long)bench_count("--seconds", optarg, 5, 3600); break;
		case 'r': opt_rate = (long)bench_count("--rate", optarg, 1, 100000); break;
		case 't': opt_think_ms = (long)bench_count("--think-ms", optarg, 0, 60000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	timefmt_set_zone("UTC");
	bench_tmpdir("web", dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/hub.db", dir);
	fill(db);
	mqtt_port = bench_free_port();
	web_port = bench_free_port();
	snprintf(text, sizeof(text),
	         "[hub]\nlog_level = warn\ntimezone = UTC\n[broker]\nurl = tcp://127.0.0.1:%d\n"
	         "client_id = bench-web\ntenants = t\n[store]\npath = %s\n"
	         "[http]\nlisten = 127.0.0.1:%d\n"
	         "[tenant:t]\nhome_team = home-nursing/t0\nhospital_days = 0\n"
	         "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n",
	         mqtt_port, db, web_port);
	bench_write_file(dir, "hub.conf", text, conf, sizeof(conf));
	broker = bench_broker(dir, mqtt_port);
	{
		char *hargv[] = { DHOHUB_BIN, "-c", conf, "run", NULL };
		char *wargv[] = { DHOHUB_BIN, "-c", conf, "web", NULL };

		snprintf(log, sizeof(log), "%s/hub.log", dir);
		hub = bench_spawn(log, hargv);
		snprintf(log, sizeof(log), "%s/web.log", dir);
		web = bench_spawn(log, wargv);
	}
	if (bench_wait_port(web_port, 20000) != 0) {
		fprintf(stderr, "bench_web: dhohub web did not start; see %s/web.log\n", dir);
		return 1;
	}
	sleep(2);  /* the hub's broker session */
	us = calloc((size_t)opt_nurses, sizeof(*us));
	threads = calloc((size_t)opt_nurses, sizeof(*threads));
	if (us == NULL || threads == NULL)
		return 1;
	t0 = bench_now_ns();
	for (long n = 0; n < opt_nurses; n++) {
		us[n].n = (int)n;
		login(&us[n]);
	}
	printf("%ld nurses logged in in %.1f s (argon2id, two at a time)\n", opt_nurses,
	       secs(bench_now_ns() - t0));
	if (store_open(db, false, &st, text, sizeof(text)) != DHO_OK || store_stats(st, &stats) != DHO_OK)
		return 1;
	before = (long)stats.readings;
	pr.u = &us[0];
	pthread_create(&sse, NULL, sse_loop, &pr);
	rounds = opt_rate * opt_seconds / 1000;
	ingest_t0 = bench_now_ns();
	pthread_create(&ing, NULL, ingest_loop, &rounds);
	for (long n = 0; n < opt_nurses; n++)
		pthread_create(&threads[n], NULL, nurse_loop, &us[n]);
	for (int k = 0; k < opt_seconds / 2 && k < 256; k++) {
		probe_once(&pr, k);
		sleep(2);
	}
	stop_now = 1;
	for (long n = 0; n < opt_nurses; n++) {
		pthread_join(threads[n], NULL);
		errors += us[n].errors;
		curl_easy_cleanup(us[n].c);
	}
	pthread_join(ing, NULL);
	pthread_join(sse, NULL);
	if (store_stats(st, &stats) == DHO_OK)
		after = (long)stats.readings;
	else
		after = before;
	store_close(st);
	printf("\nload for %ld s: %ld nurses (%ld ms between requests), background ingest at "
	       "%ld readings/s (%.0f/s stored)\n", opt_seconds, opt_nurses, opt_think_ms, opt_rate,
	       (double)(after - before) / secs(bench_now_ns() - ingest_t0));
	report("triage list (GET /alerts)", us, opt_nurses, false);
	report("30-day chart (GET .../readings)", us, opt_nurses, true);
	printf("%-34s %ld\n", "requests that failed", errors);
	for (int i = 0; i < pr.nsent && i < pr.nseen; i++)
		lat[nlat++] = secs(pr.seen[i] - pr.sent[i]);
	qsort(lat, (size_t)nlat, sizeof(lat[0]), cmp);
	printf("%-34s %d of %d probes  p50 %7.1f ms  max %7.1f ms\n",
	       "event stream (publish -> SSE)", nlat, pr.nsent, 1000 * bench_quantile(lat, (size_t)nlat, 0.5),
	       nlat ? 1000 * lat[nlat - 1] : 0.0);
	bench_stop(web, SIGTERM);
	bench_stop(hub, SIGTERM);
	bench_stop(broker, SIGTERM);
	free(us);
	free(threads);
	bench_rmdir(dir);
	return 0;
}
