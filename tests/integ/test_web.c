/*
 * test_web.c: the nurses' workspace API (docs/api.md) on
 * the real parts: a real Mosquitto, the real `dhohub run` and `dhohub web`
 * on one SQLite file, HTTP through libcurl and the event stream through a
 * plain socket. Log-in, throttling, scope before and after an escalation,
 * CSRF and Origin, ack and resolve with their MQTT events, If-Match, body
 * limits, bad input, audit rows, the event stream's delivery and resume,
 * and SIGTERM with streams open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>

#include "harness.h"

#define PASSWORD "correct horse battery"
#define HOME "home-nursing/vefsn"
#define HOSPITAL "hospital-dho/mosjoen"

struct web {
	struct env *e;
	int port;
	pid_t pid;
	char log[160];
};

/* A logged-in user: the cookie and the CSRF token of the session. */
struct who {
	char cookie[192];
	char csrf[96];
};

struct reply {
	long status;
	json_t *json;             /* NULL when the body is not JSON */
	char body[4096];          /* the start of it, for messages */
	char set_cookie[160];
	char retry_after[32];
	char etag[32];
	char csp[256];
	char cache[64];
	char hsts[64];
};

/* ---- the web process ---- */

/* The running test's processes, for the teardown after a failure (a
 * failed assertion leaves the test before its env_free()). */
static struct web *live_web;
static struct env *live_env;

static int
teardown(void **state)
{
	(void)state;
	if (live_web != NULL && live_web->pid > 0) {
		kill(live_web->pid, SIGKILL);
		waitpid(live_web->pid, NULL, 0);
		live_web->pid = -1;
	}
	if (live_env != NULL) {
		stop(&live_env->hub, SIGKILL);
		stop(&live_env->sub, SIGTERM);
		stop(&live_env->broker, SIGTERM);
		fprintf(stderr, "kept %s\n", live_env->dir);
	}
	live_web = NULL;
	live_env = NULL;
	return 0;
}

static void
web_start(struct web *w, struct env *e)
{
	char listen[64];
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "web", NULL };

	w->e = e;
	live_web = w;
	live_env = e;
	w->port = free_port();
	snprintf(listen, sizeof(listen), "[http]\nlisten = 127.0.0.1:%d\n", w->port);
	env_conf_append(e, listen);
	snprintf(w->log, sizeof(w->log), "%s/web.log", e->dir);
	w->pid = spawn(w->log, argv);
	for (int i = 0; i < 200 && !port_open(w->port); i++)
		usleep(50 * 1000);
	if (!port_open(w->port))
		fail_msg("dhohub web did not listen on %d; see %s", w->port, w->log);
}

/* SIGTERM: the process must exit 0 (docs/man/dhohub.8, SIGNALS), and
 * within 2 s, so that a service stop never waits for a stream. */
static double
web_stop(struct web *w)
{
	double t0 = mono_now();
	int st = 0;
	pid_t got = 0;

	if (w->pid <= 0)
		return 0;
	kill(w->pid, SIGTERM);
	while (mono_now() - t0 < 10 && (got = waitpid(w->pid, &st, WNOHANG)) == 0)
		usleep(10 * 1000);
	if (got == 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &st, 0);
		w->pid = -1;
		fail_msg("dhohub web did not exit within 10 s of SIGTERM");
	}
	w->pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("dhohub web did not exit 0 on SIGTERM (status 0x%x); see %s", st, w->log);
	return mono_now() - t0;
}

/* ---- HTTP ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t have = strlen(r->body), add = size * n;

	if (have + add >= sizeof(r->body))
		add = sizeof(r->body) - have - 1;
	memcpy(r->body + have, p, add);
	r->body[have + add] = '\0';
	return size * n;
}

static void
header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
		const char *v = line + nl + 1;
		size_t vl = len - nl - 1;

		while (vl > 0 && *v == ' ') {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		if (vl >= cap)
			vl = cap - 1;
		memcpy(out, v, vl);
		out[vl] = '\0';
	}
}

static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;

	header_value(p, size * n, "Set-Cookie", r->set_cookie, sizeof(r->set_cookie));
	header_value(p, size * n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(p, size * n, "ETag", r->etag, sizeof(r->etag));
	header_value(p, size * n, "Content-Security-Policy", r->csp, sizeof(r->csp));
	header_value(p, size * n, "Cache-Control", r->cache, sizeof(r->cache));
	header_value(p, size * n, "Strict-Transport-Security", r->hsts, sizeof(r->hsts));
	return size * n;
}

/*
 * One request. extra is a NUL-separated list of headers ending in an empty
 * one, or NULL. The reply is static: valid until the next call.
 */
/* The source address of the next requests (throttling counts per address). */
static const char *http_from = "127.0.0.1";
/* "https" for the TLS test (its certificate is self-signed). */
static const char *http_scheme = "http";

static struct reply *
http(struct web *w, const struct who *u, const char *method, const char *path,
     const char *body, ...)
{
	static struct reply r;
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[512], line[512];
	va_list ap;
	const char *h;

	json_decref(r.json);
	memset(&r, 0, sizeof(r));
	assert_non_null(c);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", http_scheme, w->port, path);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_INTERFACE, http_from);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	}
	/* No "Expect: 100-continue": the server answers a large body itself. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (u != NULL) {
		snprintf(line, sizeof(line), "Cookie: %s", u->cookie);
		hdrs = curl_slist_append(hdrs, line);
	}
	va_start(ap, body);
	while ((h = va_arg(ap, const char *)) != NULL)
		hdrs = curl_slist_append(hdrs, h);
	va_end(ap);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("%s %s: no answer", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	r.json = json_loads(r.body, 0, NULL);
	/* Every answer carries the security headers. */
	if (strcmp(r.cache, "no-store") != 0 || strstr(r.csp, "frame-ancestors 'none'") == NULL)
		fail_msg("%s %s: Cache-Control '%s', CSP '%s'", method, path, r.cache, r.csp);
	return &r;
}

static void
expect(struct reply *r, long status, const char *what)
{
	if (r->status != status)
		fail_msg("%s: status %ld, want %ld: %s", what, r->status, status, r->body);
	if (status >= 400 && (r->json == NULL || !json_is_string(json_object_get(r->json, "error"))))
		fail_msg("%s: an error without {\"error\": ...}: %s", what, r->body);
}

static void
user_add(struct web *w, const char *name, const char *role, const char *teams)
{
	char args[512], pw[160];
	FILE *f;

	snprintf(pw, sizeof(pw), "%s/pw", w->e->dir);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs(PASSWORD "\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "user add %s --role %s %s%s --password-file %s", name, role,
	         teams ? "--team " : "", teams ? teams : "", pw);
	assert_int_equal(cli(w->e, NULL, args), 0);
}

static void
login(struct web *w, const char *name, struct who *u)
{
	char body[256];
	struct reply *r;
	char *semi;

	snprintf(body, sizeof(body), "{\"user\": \"%s\", \"password\": \"" PASSWORD "\"}", name);
	r = http(w, NULL, "POST", "/api/v1/session", body, NULL);
	expect(r, 200, "log-in");
	assert_string_equal(jstr(r->json, "user"), name);
	snprintf(u->csrf, sizeof(u->csrf), "%s", jstr(r->json, "csrf"));
	assert_non_null(strstr(r->set_cookie, "HttpOnly"));
	assert_non_null(strstr(r->set_cookie, "SameSite=Strict"));
	assert_non_null(strstr(r->set_cookie, "Secure"));
	snprintf(u->cookie, sizeof(u->cookie), "%s", r->set_cookie);
	if ((semi = strchr(u->cookie, ';')) != NULL)
		*semi = '\0';
}

/* The id ("A7") of patient's only unresolved alert, from the CLI. */
static void
alert_of(struct env *e, const char *patient, char *id, size_t len)
{
	char args[128];
	json_t *all;

	snprintf(args, sizeof(args), "alerts --patient %s --json", patient);
	for (int i = 0; i < 100; i++) {
		all = cli_json(e, args);
		if (json_array_size(all) == 1) {
			snprintf(id, len, "%s", jstr(json_array_get(all, 0), "id"));
			json_decref(all);
			return;
		}
		json_decref(all);
		usleep(100 * 1000);
	}
	fail_msg("no alert of %s", patient);
}

/* Whether the audit log has a row actor/action/object. */
static bool
audited(struct env *e, const char *actor, const char *action, const char *object)
{
	json_t *all = cli_json(e, "audit --json"), *row;
	size_t i;
	bool found = false;

	json_array_foreach(all, i, row) {
		if (strcmp(jstr(row, "actor"), actor) == 0 && strcmp(jstr(row, "action"), action) == 0 &&
		    (object == NULL || strcmp(jstr(row, "object"), object) == 0))
			found = true;
	}
	json_decref(all);
	return found;
}

/* ---- the event stream, over a plain socket ---- */

struct stream {
	int fd;
	char buf[65536];
	size_t len;
	size_t seen;              /* what stream_wait() has already looked at */
};

static void
stream_open_from(struct web *w, const struct who *u, const char *last_id, struct stream *s,
                 const char *from)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)w->port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	char req[512];
	int n;

	memset(s, 0, sizeof(*s));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	n = snprintf(req, sizeof(req),
	             "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
	             "Accept: text/event-stream\r\n%s%s%s\r\n",
	             w->port, u->cookie, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
	             last_id ? "\r\n" : "");
	assert_int_equal(write(s->fd, req, (size_t)n), n);
}

static void
stream_open(struct web *w, const struct who *u, const char *last_id, struct stream *s)
{
	stream_open_from(w, u, last_id, s, "127.0.0.1");
}

/* Reads until the stream holds needle after what was seen before, or
 * secs pass; returns whether it came. */
static bool
stream_wait(struct stream *s, const char *needle, double secs)
{
	double until = mono_now() + secs;

	for (;;) {
		char *hit;
		struct pollfd p = { s->fd, POLLIN, 0 };
		ssize_t got;

		s->buf[s->len] = '\0';
		if ((hit = strstr(s->buf + s->seen, needle)) != NULL) {
			s->seen = (size_t)(hit - s->buf) + strlen(needle);
			return true;
		}
		if (mono_now() >= until || s->len + 1 >= sizeof(s->buf))
			return false;
		if (poll(&p, 1, 50) <= 0)
			continue;
		got = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len - 1);
		if (got <= 0)
			return false;
		s->len += (size_t)got;
	}
}

/* Opens a stream and waits until it is subscribed; a 503 (closed streams
 * whose hang-up the server has not noticed yet still count) is tried again
 * for up to 10 s. */
static void
stream_subscribe(struct web *w, const struct who *u, const char *last_id, struct stream *s)
{
	double until = mono_now() + 10;

	for (;;) {
		stream_open(w, u, last_id, s);
		if (!stream_wait(s, "HTTP/1.1 ", 10))
			fail_msg("no answer to a stream");
		if (strstr(s->buf, "HTTP/1.1 200") != NULL && stream_wait(s, ": subscribed", 10))
			return;
		close(s->fd);
		if (mono_now() > until)
			fail_msg("a stream was not subscribed: %.300s", s->buf);
		usleep(200 * 1000);
	}
}

/* The id: of the last event the stream has shown. */
static void
stream_last_id(struct stream *s, char *out, size_t len)
{
	char *p = s->buf, *last = NULL;

	s->buf[s->len] = '\0';
	while ((p = strstr(p, "\nid: ")) != NULL)
		last = p += 5;
	assert_non_null(last);
	snprintf(out, len, "%.*s", (int)strcspn(last, "\r\n"), last);
}

static void
stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* ---- the tests ---- */

static void
test_login_and_throttling(void **state)
{
	struct env *e = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	struct web w = { 0 };
	struct who u;
	struct reply *r;

	(void)state;
	/* user add creates the database; web serves only an existing one. */
	w.e = e;
	user_add(&w, "kari", "nurse", HOME);
	user_add(&w, "revisor", "auditor", NULL);
	web_start(&w, e);

	expect(http(&w, NULL, "GET", "/healthz", NULL, NULL), 200, "healthz");
	expect(http(&w, NULL, "GET", "/api/v1/alerts", NULL, NULL), 401, "no session");
	login(&w, "kari", &u);
	r = http(&w, &u, "GET", "/api/v1/session", NULL, NULL);
	expect(r, 200, "who am I");
	assert_string_equal(jstr(r->json, "role"), "nurse");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r->json, "teams"), 0)), HOME);

	/* A wrong password and an unknown user answer alike (the unknown
	 * user from another address, so that the counts below are kari's). */
	r = http(&w, NULL, "POST", "/api/v1/session", "{\"user\": \"kari\", \"password\": \"wrong one!!!\"}",
	         NULL);
	expect(r, 401, "wrong password");
	char wrong_pw[4096];
	snprintf(wrong_pw, sizeof(wrong_pw), "%s", r->body);
	http_from = "127.0.0.2";
	r = http(&w, NULL, "POST", "/api/v1/session", "{\"user\": \"nobody\", \"password\": \"x\"}", NULL);
	http_from = "127.0.0.1";
	expect(r, 401, "unknown user");
	assert_string_equal(r->body, wrong_pw);
	assert_true(audited(e, "kari", "login.failed", "kari"));

	/* Bad bodies are 400, never a 500, and count as no failure. */
	expect(http(&w, NULL, "POST", "/api/v1/session", "{\"user\": ", NULL), 400, "malformed JSON");
	expect(http(&w, NULL, "POST", "/api/v1/session", "[1]", NULL), 400, "not an object");
	expect(http(&w, NULL, "POST", "/api/v1/session",
	            "{\"user\": \"kari\", \"password\": \"x\", \"admin\": true}", NULL), 400,
	       "unknown field");
	expect(http(&w, NULL, "POST", "/api/v1/session", "{\"user\": 7, \"password\": \"x\"}", NULL),
	       400, "wrong type");

	/* Four more failures make five for kari and for 127.0.0.1 within 15
	 * minutes: the next try, even with the right password, is 429 with
	 * Retry-After; so is kari from another address (the user's count),
	 * and another user from 127.0.0.1 (the address's count). */
	for (int i = 0; i < 4; i++)
		expect(http(&w, NULL, "POST", "/api/v1/session",
		            "{\"user\": \"kari\", \"password\": \"wrong again!\"}", NULL), 401, "failure");
	r = http(&w, NULL, "POST", "/api/v1/session",
	         "{\"user\": \"kari\", \"password\": \"" PASSWORD "\"}", NULL);
	expect(r, 429, "throttled");
	assert_true(strtol(r->retry_after, NULL, 10) > 0 && strtol(r->retry_after, NULL, 10) <= 900);
	assert_true(audited(e, "kari", "login.throttled", "kari"));
	http_from = "127.0.0.3";
	expect(http(&w, NULL, "POST", "/api/v1/session",
	            "{\"user\": \"kari\", \"password\": \"" PASSWORD "\"}", NULL), 429,
	       "throttled user, another address");
	http_from = "127.0.0.1";
	expect(http(&w, NULL, "POST", "/api/v1/session",
	            "{\"user\": \"revisor\", \"password\": \"" PASSWORD "\"}", NULL), 429,
	       "throttled address, another user");
	/* The session made before still works; so does another user. */
	expect(http(&w, &u, "GET", "/api/v1/session", NULL, NULL), 200, "old session");

	/* An auditor sees the audit log and no patient data. */
	struct who a;
	http_from = "127.0.0.4";
	login(&w, "revisor", &a);
	http_from = "127.0.0.1";
	r = http(&w, &a, "GET", "/api/v1/audit", NULL, NULL);
	expect(r, 200, "audit");
	assert_true(json_array_size(json_object_get(r->json, "items")) > 0);
	expect(http(&w, &a, "GET", "/api/v1/alerts", NULL, NULL), 403, "auditor and alerts");
	expect(http(&w, &a, "GET", "/api/v1/patients", NULL, NULL), 403, "auditor and patients");
	expect(http(&w, &u, "GET", "/api/v1/audit", NULL, NULL), 403, "nurse and audit");

	/* TOTP: once a user has a secret, a log-in needs its code, and a code
	 * is good once. */
	{
		char *uri = NULL, *raw = NULL, code[8], body[256];
		const char *sec;
		size_t rawlen = 0;
		struct who t;

		user_add(&w, "tove", "nurse", HOME);
		assert_int_equal(cli(e, &uri, "user totp tove"), 0);
		assert_non_null(strstr(uri, "otpauth://totp/dhohub:tove?secret="));
		sec = strstr(uri, "secret=") + 7;
		assert_int_equal(oath_init(), OATH_OK);
		assert_int_equal(oath_base32_decode(sec, strcspn(sec, "&"), &raw, &rawlen), OATH_OK);
		assert_int_equal(oath_totp_generate(raw, rawlen, time(NULL), 30, 0, 6, code), OATH_OK);
		free(raw);
		free(uri);
		http_from = "127.0.0.5";
		r = http(&w, NULL, "POST", "/api/v1/session",
		         "{\"user\": \"tove\", \"password\": \"" PASSWORD "\"}", NULL);
		expect(r, 401, "no one-time code");
		assert_true(json_is_true(json_object_get(r->json, "otp")));
		snprintf(body, sizeof(body),
		         "{\"user\": \"tove\", \"password\": \"" PASSWORD "\", \"otp\": \"%s\"}", code);
		r = http(&w, NULL, "POST", "/api/v1/session", body, NULL);
		expect(r, 200, "log-in with a one-time code");
		snprintf(t.cookie, sizeof(t.cookie), "%.*s", (int)strcspn(r->set_cookie, ";"),
		         r->set_cookie);
		expect(http(&w, &t, "GET", "/api/v1/session", NULL, NULL), 200, "TOTP session");
		expect(http(&w, NULL, "POST", "/api/v1/session", body, NULL), 401, "a code used twice");
		assert_true(audited(e, "tove", "login.failed", "tove"));
		http_from = "127.0.0.1";
	}

	/* A session unused for session_idle (30 minutes by default) has
	 * expired: 401 with a JSON error, whatever the cookie. The database is
	 * aged by hand rather than the test waiting half an hour. */
	{
		struct who old;
		char *out;
		int st;

		http_from = "127.0.0.6";
		login(&w, "revisor", &old);
		http_from = "127.0.0.1";
		out = run(&st, "sqlite3 %s/hub.db \"UPDATE sessions SET last_at = last_at - 1801,"
		          " created_at = created_at - 1801 WHERE user = 'revisor'\"", e->dir);
		free(out);
		assert_int_equal(st, 0);
		r = http(&w, &old, "GET", "/api/v1/session", NULL, NULL);
		expect(r, 401, "an expired session");
		assert_non_null(strstr(jstr(r->json, "error"), "expired"));
		expect(http(&w, &old, "GET", "/api/v1/session", NULL, NULL), 401, "after expiry");
	}

	/* Log-out needs the CSRF token and ends the session. */
	expect(http(&w, &u, "DELETE", "/api/v1/session", NULL, NULL), 403, "log-out without CSRF");
	char hdr[160];
	snprintf(hdr, sizeof(hdr), "X-CSRF-Token: %s", u.csrf);
	expect(http(&w, &u, "DELETE", "/api/v1/session", NULL, hdr, NULL), 200, "log-out");
	expect(http(&w, &u, "GET", "/api/v1/session", NULL, NULL), 401, "after log-out");

	web_stop(&w);
	live_web = NULL;
	live_env = NULL;
	env_free(e);
}

static void
test_scope_actions_audit(void **state)
{
	struct env *e = env_new("[alerts]\nack_s.red = 4\n\n"
	                        "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	struct web w = { 0 };
	struct who kari, hans;
	struct reply *r;
	char a1[16], a2[16], a3[16], path[128], csrf[160], ifm[64], big[20001];
	json_t *ev;

	(void)state;
	hub_start(e);
	web_start(&w, e);
	user_add(&w, "kari", "nurse", HOME);
	user_add(&w, "hans", "nurse", HOSPITAL);
	enroll(e, "P1", "d1", 30, "");            /* home nursing is responsible */
	enroll(e, "P2", "d2", 0, "");             /* the hospital is responsible */
	enroll(e, "P3", "d3", 30, "");
	pub(e, "dho/v1/vefsn/dev/d2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	pub(e, "dho/v1/vefsn/dev/d3/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	/* Written with two decimals: the API gives it back so. */
	pub(e, "dho/v1/vefsn/dev/d2/reading", "{\"seq\": 2, \"metric\": \"temp\", "
	    "\"value\": 36.60}");
	alert_of(e, "P2", a2, sizeof(a2));
	alert_of(e, "P3", a3, sizeof(a3));
	login(&w, "kari", &kari);
	login(&w, "hans", &hans);

	/* A home nurse gets 404 for a hospital alert and its patient, exactly
	 * as for one that does not exist. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%s", a2);
	r = http(&w, &kari, "GET", path, NULL, NULL);
	expect(r, 404, "home nurse, hospital alert");
	char notfound[4096];
	snprintf(notfound, sizeof(notfound), "%s", r->body);
	expect(http(&w, &kari, "GET", "/api/v1/alerts/A9999", NULL, NULL), 404, "no such alert");
	assert_string_equal(r->body, notfound);
	expect(http(&w, &kari, "GET", "/api/v1/alerts/garbage", NULL, NULL), 404, "not an id");
	expect(http(&w, &kari, "GET", "/api/v1/patients/P2", NULL, NULL), 404, "home nurse, P2");
	expect(http(&w, &hans, "GET", "/api/v1/patients/P3", NULL, NULL), 404, "hospital nurse, P3");
	assert_true(audited(e, "kari", "refused", a2));
	r = http(&w, &kari, "GET", "/api/v1/alerts", NULL, NULL);
	expect(r, 200, "kari's alerts");
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r->json, "items"), 0), "id"), a3);

	/* A red alert of P1 escalates from home nursing to the hospital: then
	 * the hospital nurse sees it and the patient, the home nurse not the
	 * alert (she is still responsible for the patient). */
	pub(e, "dho/v1/vefsn/dev/d1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 85}");
	alert_of(e, "P1", a1, sizeof(a1));
	json_decref(wait_event(e, a1, "escalated", 60));
	snprintf(path, sizeof(path), "/api/v1/alerts/%s", a1);
	r = http(&w, &hans, "GET", path, NULL, NULL);
	expect(r, 200, "hospital nurse, escalated alert");
	assert_string_equal(jstr(r->json, "team"), HOSPITAL);
	assert_true(json_array_size(json_object_get(r->json, "events")) >= 2);
	assert_string_equal(jstr(json_array_get(json_object_get(r->json, "events"), 0), "event"),
	                    "opened");
	expect(http(&w, &hans, "GET", "/api/v1/patients/P1", NULL, NULL), 200,
	       "hospital nurse, patient after escalation");
	expect(http(&w, &kari, "GET", path, NULL, NULL), 404, "home nurse, escalated alert");
	expect(http(&w, &kari, "GET", "/api/v1/patients/P1", NULL, NULL), 200, "home nurse, P1");

	/* The triage order: hans has the red P1 alert before the yellow P2. */
	r = http(&w, &hans, "GET", "/api/v1/alerts?limit=1", NULL, NULL);
	expect(r, 200, "first page");
	assert_string_equal(jstr(json_array_get(json_object_get(r->json, "items"), 0), "id"), a1);
	snprintf(path, sizeof(path), "/api/v1/alerts?limit=1&cursor=%s", jstr(r->json, "next"));
	r = http(&w, &hans, "GET", path, NULL, NULL);
	expect(r, 200, "second page");
	assert_string_equal(jstr(json_array_get(json_object_get(r->json, "items"), 0), "id"), a2);
	assert_true(json_is_null(json_object_get(r->json, "next")));
	expect(http(&w, &hans, "GET", "/api/v1/alerts?cursor=1.2.x", NULL, NULL), 400, "bad cursor");
	expect(http(&w, &hans, "GET", "/api/v1/alerts?limit=0", NULL, NULL), 400, "bad limit");
	expect(http(&w, &hans, "GET", "/api/v1/alerts?state=gone", NULL, NULL), 400, "bad state");
	expect(http(&w, &hans, "DELETE", "/api/v1/alerts", NULL, NULL), 405, "wrong method");
	expect(http(&w, &hans, "GET", "/api/v1/nothing", NULL, NULL), 404, "unknown path");

	/* Ack: without the CSRF token, or from another origin, refused. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", a3);
	snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", kari.csrf);
	expect(http(&w, &kari, "POST", path, "{}", NULL), 403, "ack without CSRF");
	expect(http(&w, &kari, "POST", path, "{}", "X-CSRF-Token: forged", NULL), 403,
	       "ack with a wrong token");
	expect(http(&w, &kari, "POST", path, "{}", csrf, "Origin: http://evil.example", NULL), 403,
	       "ack from another origin");
	assert_true(audited(e, "kari", "refused", "kari"));
	/* A stale version is 412; a large body 413; a bad body 400. */
	expect(http(&w, &kari, "POST", path, "{}", csrf, "If-Match: 99", NULL), 412, "stale version");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect(http(&w, &kari, "POST", path, big, csrf, NULL), 413, "a 20 KB body");
	expect(http(&w, &kari, "POST", path, "{\"note\": 5}", csrf, NULL), 400, "note not a string");
	expect(http(&w, &kari, "POST", path, "{\"notes\": \"x\"}", csrf, NULL), 400, "unknown field");
	snprintf(path, sizeof(path), "/api/v1/alerts/%s", a3);
	r = http(&w, &kari, "GET", path, NULL, NULL);
	expect(r, 200, "the alert before the ack");
	snprintf(ifm, sizeof(ifm), "If-Match: %s", r->etag);
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", a3);
	r = http(&w, &kari, "POST", path, "{\"note\": \"called the patient\"}", csrf, ifm,
	         "Origin: http://127.0.0.1", NULL);
	/* The Origin above is not this server's (no port): refused. */
	expect(r, 403, "an Origin without the port");
	char origin[96];
	snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%d", w.port);
	r = http(&w, &kari, "POST", path, "{\"note\": \"called the patient\"}", csrf, ifm, origin, NULL);
	expect(r, 200, "ack");
	assert_string_equal(jstr(r->json, "state"), "acked");
	ev = wait_event(e, a3, "acked", 10);
	assert_string_equal(jstr(ev, "by"), "kari");
	assert_string_equal(jstr(ev, "note"), "called the patient");
	json_decref(ev);
	expect(http(&w, &kari, "POST", path, "{}", csrf, NULL), 409, "ack twice");
	assert_true(audited(e, "kari", "alert.ack", a3));

	/* Resolve needs a note. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/resolve", a3);
	expect(http(&w, &kari, "POST", path, "{}", csrf, NULL), 400, "resolve without a note");
	expect(http(&w, &kari, "POST", path, "{\"note\": \"  \"}", csrf, NULL), 400, "blank note");
	r = http(&w, &kari, "POST", path, "{\"note\": \"better today\"}", csrf, NULL);
	expect(r, 200, "resolve");
	ev = wait_event(e, a3, "resolved", 10);
	assert_string_equal(jstr(ev, "by"), "kari");
	json_decref(ev);
	/* A nurse cannot act on another team's alert: 404 as if missing. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", a2);
	expect(http(&w, &kari, "POST", path, "{}", csrf, NULL), 404, "ack of a hospital alert");

	/* Reads of patient data are audited, by the user, per object. */
	r = http(&w, &hans, "GET", "/api/v1/patients/P2/readings?metric=spo2", NULL, NULL);
	expect(r, 200, "readings");
	assert_int_equal(json_array_size(r->json), 1);
	for (int i = 0; i < 100; i++) {
		r = http(&w, &hans, "GET", "/api/v1/patients/P2/readings?metric=temp", NULL,
		         NULL);
		expect(r, 200, "temp readings");
		if (json_array_size(r->json) == 1)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(json_array_size(r->json), 1);
	assert_non_null(strstr(r->body, "\"value\":36.60"));
	expect(http(&w, &hans, "GET", "/api/v1/patients/P2/readings?since=yesterday", NULL, NULL),
	       400, "bad since");
	expect(http(&w, &hans, "GET", "/api/v1/patients/P2/readings?metric=mood", NULL, NULL), 400,
	       "bad metric");
	r = http(&w, &hans, "GET", "/api/v1/patients/P2", NULL, NULL);
	expect(r, 200, "patient");
	assert_true(json_array_size(json_object_get(r->json, "rules")) >= 1);
	assert_true(audited(e, "hans", "read", "P2"));
	assert_true(audited(e, "hans", "read", a1));
	assert_true(audited(e, "kari", "read", a3));
	r = http(&w, &hans, "GET", "/api/v1/patients", NULL, NULL);
	expect(r, 200, "patients");
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 2);

	web_stop(&w);
	live_web = NULL;
	live_env = NULL;
	env_free(e);
}

static void
test_events(void **state)
{
	struct env *e = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	struct web w = { 0 };
	struct who kari;
	struct stream s, s2, s3;
	char a1[16], a2[16], args[128], last[32], want[64];
	double t0, late = 0, took;
	bool fast = false;

	(void)state;
	hub_start(e);
	web_start(&w, e);
	user_add(&w, "kari", "nurse", HOME);
	enroll(e, "P1", "d1", 30, "");
	enroll(e, "P2", "d2", 30, "");
	login(&w, "kari", &kari);
	stream_open(&w, &kari, NULL, &s);
	assert_true(stream_wait(&s, ": subscribed", 10));

	/* An alert opened by `run` reaches the stream. */
	pub(e, "dho/v1/vefsn/dev/d1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 90}");
	alert_of(e, "P1", a1, sizeof(a1));
	snprintf(want, sizeof(want), "\"id\":\"%s\",\"event\":\"opened\"", a1);
	assert_true(stream_wait(&s, want, 10));
	assert_non_null(strstr(s.buf, "event: alert\nid: "));

	/* A change by the CLI reaches it within a second of its commit (the
	 * promised bound; three tries, so that one stall of this loaded
	 * machine does not decide). */
	pub(e, "dho/v1/vefsn/dev/d2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 91}");
	alert_of(e, "P2", a2, sizeof(a2));
	snprintf(want, sizeof(want), "\"id\":\"%s\",\"event\":\"opened\"", a2);
	assert_true(stream_wait(&s, want, 10));
	{
		const char *acts[3][2] = { { "ack", a1 }, { "ack", a2 }, { "resolve", a1 } };

		for (int i = 0; i < 3 && !fast; i++) {
			snprintf(args, sizeof(args), "%s %s --by nurse.cli --note test", acts[i][0],
			         acts[i][1]);
			assert_int_equal(cli(e, NULL, args), 0);
			t0 = mono_now();
			snprintf(want, sizeof(want), "\"id\":\"%s\",\"event\":\"%s\"", acts[i][1],
			         i == 2 ? "resolved" : "acked");
			assert_true(stream_wait(&s, want, 10));
			late = mono_now() - t0;
			fast = late <= 1.0;
		}
	}
	if (!fast)
		fail_msg("a CLI change took %.2f s to reach the event stream (bound: 1 s)", late);
	stream_last_id(&s, last, sizeof(last));
	stream_close(&s);

	/* An event made while the stream was away comes first on resume. */
	snprintf(args, sizeof(args), "resolve %s --by nurse.cli --note away", a2);
	assert_int_equal(cli(e, NULL, args), 0);
	stream_open(&w, &kari, last, &s);
	snprintf(want, sizeof(want), "\"id\":\"%s\",\"event\":\"resolved\"", a2);
	assert_true(stream_wait(&s, want, 10));
	{
		char got[32];

		stream_last_id(&s, got, sizeof(got));
		assert_true(strtoll(got, NULL, 10) > strtoll(last, NULL, 10));
	}

	/* At most 100 streams at once (over two addresses: one address may
	 * hold 64 connections); then 503. Up to two streams of this test may
	 * still be open, so the refusal comes at the 99th to 101st. */
	{
		static struct stream many[110];
		int n = 0;
		bool refused = false;

		while (n < 110 && !refused) {
			struct stream *m = &many[n++];

			stream_open_from(&w, &kari, NULL, m, n <= 55 ? "127.0.0.2" : "127.0.0.3");
			if (!stream_wait(m, "HTTP/1.1 ", 10))
				fail_msg("no answer to stream %d", n);
			refused = strstr(m->buf, "HTTP/1.1 503") != NULL;
			if (!refused && !stream_wait(m, ": subscribed", 10))
				fail_msg("stream %d: %.300s", n, m->buf);
		}
		if (!refused || n < 99)
			fail_msg("the cap of 100 streams: refused %d at stream %d", refused, n);
		for (int i = 0; i < n; i++)
			stream_close(&many[i]);
	}

	/* SIGTERM with streams open: exit 0 within 2 s. */
	stream_subscribe(&w, &kari, NULL, &s2);
	stream_subscribe(&w, &kari, "0", &s3);
	took = web_stop(&w);
	if (took > 2.0)
		fail_msg("dhohub web took %.2f s to exit on SIGTERM with streams open", took);
	stream_close(&s);
	stream_close(&s2);
	stream_close(&s3);
	live_web = NULL;
	live_env = NULL;
	env_free(e);
}

/* With tls_cert and tls_key the workspace speaks HTTPS only. */
static void
test_tls(void **state)
{
	struct env *e = env_new(NULL);
	struct web w = { 0 };
	struct reply *r;
	char conf[512], *out;
	int st;

	(void)state;
	out = run(&st, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
	          " -keyout %s/key.pem -out %s/cert.pem 2>&1", e->dir, e->dir);
	if (st != 0)
		fail_msg("openssl could not make a certificate: %s", out);
	free(out);
	snprintf(conf, sizeof(conf), "[http]\ntls_cert = %s/cert.pem\ntls_key = %s/key.pem\n", e->dir,
	         e->dir);
	/* web_start() appends [http] listen: the keys must share the section. */
	w.e = e;
	live_web = &w;
	live_env = e;
	/* web serves only an existing database; user add creates it. */
	user_add(&w, "kari", "nurse", HOME);
	w.port = free_port();
	snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "listen = 127.0.0.1:%d\n", w.port);
	env_conf_append(e, conf);
	{
		char *argv[] = { (char *)hub_bin(), "-c", e->conf, "web", NULL };

		snprintf(w.log, sizeof(w.log), "%s/web.log", e->dir);
		w.pid = spawn(w.log, argv);
	}
	for (int i = 0; i < 200 && !port_open(w.port); i++)
		usleep(50 * 1000);
	http_scheme = "https";
	r = http(&w, NULL, "GET", "/healthz", NULL, NULL);
	expect(r, 200, "HTTPS /healthz");
	if (r->hsts[0] == '\0')
		fail_msg("no Strict-Transport-Security over HTTPS");
	http_scheme = "http";
	{
		CURL *c = curl_easy_init();
		char url[64];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", w.port);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
		r->body[0] = '\0';
		curl_easy_perform(c);
		curl_easy_cleanup(c);
		if (strstr(r->body, "\"ok\"") != NULL)
			fail_msg("plain HTTP answered on the HTTPS port");
	}
	web_stop(&w);
	live_web = NULL;
	live_env = NULL;
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_login_and_throttling, teardown),
		cmocka_unit_test_teardown(test_scope_actions_audit, teardown),
		cmocka_unit_test_teardown(test_events, teardown),
		cmocka_unit_test_teardown(test_tls, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
