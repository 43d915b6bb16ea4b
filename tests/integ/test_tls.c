/*
 * test_tls.c: the hub's session to a real Mosquitto over TLS
 * (docs/operations.md, "TLS"). openssl makes, inside the test's directory, a
 * CA, a server certificate for localhost and 127.0.0.1, one for another
 * name, a client certificate and a second, unrelated CA. The broker has a
 * plain listener for the harness's own helpers and a TLS listener that
 * requires a client certificate; the hub, the device and the alert feed use
 * the TLS one.
 */
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

#include "harness.h"

/* Makes the certificates in dir. Each leaf is signed by ca; other is a CA
 * the broker's certificate does not chain to. */
static const char mkcerts[] =
	"set -e; cd %s; "
	"key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }; "
	"key ca; openssl req -x509 -new -key ca.key -days 2 -subj /CN=dho-test-ca -out ca.crt; "
	"key other; openssl req -x509 -new -key other.key -days 2 -subj /CN=other-ca -out other.crt; "
	"for n in server:DNS:localhost,IP:127.0.0.1 wrong:DNS:wrong.example client:DNS:itest; do "
	"  name=${n%%%%:*}; key $name; "
	"  openssl req -new -key $name.key -subj /CN=$name -out $name.csr; "
	"  printf 'subjectAltName=%%s\\n' ${n#*:} > $name.ext; "
	"  openssl x509 -req -in $name.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	"    -extfile $name.ext -out $name.crt; "
	"done 2>/dev/null; chmod 600 *.key";

struct tls_env {
	struct env *e;
	int tls_port;
	pid_t feed;
	char feed_log[160];
	char hub_log[160];
};

static int
setup(void **state)
{
	struct tls_env *t = calloc(1, sizeof(*t));
	char *o;
	int st;

	assert_non_null(t);
	t->e = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	t->tls_port = free_port();
	o = run(&st, mkcerts, t->e->dir);
	free(o);
	assert_int_equal(st, 0);
	snprintf(t->feed_log, sizeof(t->feed_log), "%s/tls-feed.txt", t->e->dir);
	snprintf(t->hub_log, sizeof(t->hub_log), "%s/hub.log", t->e->dir);
	t->feed = -1;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tls_env *t = *state;

	stop(&t->feed, SIGTERM);
	env_free(t->e);
	free(t);
	return 0;
}

/* Restarts the broker with the plain listener and a TLS one that presents
 * server_cert (server or wrong) and requires a certificate from ca. Run as
 * root, Mosquitto would drop to its own user, which cannot read the test's
 * directory: it stays the user who runs us. */
static void
tls_broker(struct tls_env *t, const char *server_cert)
{
	struct env *e = t->e;
	struct passwd *pw = getpwuid(getuid());
	char path[160];
	FILE *f;

	stop(&e->broker, SIGTERM);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "per_listener_settings false\nallow_anonymous true\nmax_queued_messages 0\n"
	           "persistence false\nuser %s\n"
	           "listener %d 127.0.0.1\n"
	           "listener %d 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/%s.crt\nkeyfile %s/%s.key\n"
	           "require_certificate true\n",
	        pw ? pw->pw_name : "root", e->port, t->tls_port, e->dir, e->dir, server_cert,
	        e->dir, server_cert);
	fclose(f);
	broker_start(e);
	for (int i = 0; i < 100 && !port_open(t->tls_port); i++)
		usleep(50 * 1000);
	assert_true(port_open(t->tls_port));
}

/* Rewrites the hub's [broker] url to ssl://host:tls_port with the given
 * ca_file and the client certificate. */
static void
tls_hub_conf(struct tls_env *t, const char *host, const char *ca)
{
	struct env *e = t->e;
	char *o;
	int st;

	o = run(&st, "sed -i -e 's|^url = .*|url = ssl://%s:%d\\nca_file = %s/%s.crt\\n"
	        "cert_file = %s/client.crt\\nkey_file = %s/client.key|' %s",
	        host, t->tls_port, e->dir, ca, e->dir, e->dir, e->conf);
	free(o);
	assert_int_equal(st, 0);
}

/* The TLS options of mosquitto_pub/sub as the client certificate's owner. */
#define CLIENT_TLS "--cafile %s/ca.crt --cert %s/client.crt --key %s/client.key -h localhost -p %d"

/* Starts a mosquitto_sub on the alert topics over TLS and waits until a
 * probe published over TLS comes through. */
static void
tls_feed(struct tls_env *t)
{
	struct env *e = t->e;
	char line[1024];

	snprintf(line, sizeof(line), "exec mosquitto_sub " CLIENT_TLS " -v -q 1 -t 'dho/v1/alerts/#'",
	         e->dir, e->dir, e->dir, t->tls_port);
	t->feed = spawn(t->feed_log, (char *[]){ "sh", "-c", line, NULL });
	for (int i = 0; i < 100; i++) {
		int st;
		char *o = run(&st, "mosquitto_pub " CLIENT_TLS " -q 1 -t dho/v1/alerts/_probe -m probe",
		              e->dir, e->dir, e->dir, t->tls_port);

		free(o);
		if (file_lines(t->feed_log, "dho/v1/alerts/_probe", NULL) > 0)
			return;
		usleep(100 * 1000);
	}
	fail_msg("the TLS alert feed did not subscribe");
}

/* Readings come in and alerts go out over TLS; the broker requires a
 * client certificate, so the hub got in with its own. */
static void
test_tls_readings_and_alerts(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *o;
	int st;

	tls_broker(t, "server");
	tls_hub_conf(t, "localhost", "ca");
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	enroll(e, "P1", "oxy-1", 2, "");
	tls_feed(t);
	hub_start(e);
	o = run(&st, "mosquitto_pub " CLIENT_TLS " -q 1 -t dho/v1/vefsn/dev/oxy-1/reading "
	        "-m '{\"seq\": 1, \"metric\": \"spo2\", \"value\": 86}'",
	        e->dir, e->dir, e->dir, t->tls_port);
	free(o);
	assert_int_equal(st, 0);
	assert_int_equal(wait_stat(e, "readings", 1, 10), 1);
	assert_int_equal(wait_file_lines(t->feed_log, "dho/v1/alerts/hospital-dho/mosjoen ",
	                                 "\"opened\"", 1, 10), 1);
	assert_int_equal(file_lines(t->hub_log, "connected to ssl://localhost:", NULL), 1);
}

/* A broker certificate for another name is refused with a line that says
 * so; the hub keeps retrying and connects once the broker presents the
 * right certificate. The IP address of the URL is checked the same way.
 * Each failed attempt is logged, not only the first of a series. */
static void
test_tls_wrong_host_name(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "run", NULL };

	tls_broker(t, "wrong");
	tls_hub_conf(t, "127.0.0.1", "ca");
	e->hub = spawn(t->hub_log, argv);
	assert_true(wait_file_lines(t->hub_log, "the broker's certificate is not for 127.0.0.1 "
	                            "(it is for DNS:wrong.example); retrying in ", NULL, 2, 30) >= 2);
	assert_int_equal(file_lines(t->hub_log, "connected to", NULL), 0);
	tls_broker(t, "server");
	assert_int_equal(wait_file_lines(t->hub_log, "connected to ssl://127.0.0.1:", NULL, 1, 40), 1);
}

/* A broker certificate that does not chain to ca_file is refused, with
 * OpenSSL's reason and the file named. */
static void
test_tls_wrong_ca(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "run", NULL };

	tls_broker(t, "server");
	tls_hub_conf(t, "localhost", "other");
	e->hub = spawn(t->hub_log, argv);
	assert_true(wait_file_lines(t->hub_log, "the broker's certificate does not verify against ",
	                            "other.crt", 1, 30) >= 1);
	assert_int_equal(file_lines(t->hub_log, "connected to", NULL), 0);
	stop(&e->hub, SIGTERM);
}

/* Without a client certificate the broker refuses the session, and the
 * hub says that it may need one. */
static void
test_tls_client_certificate_required(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *argv[] = { (char *)hub_bin(), "-c", e->conf, "run", NULL };
	char *o;
	int st;

	tls_broker(t, "server");
	tls_hub_conf(t, "localhost", "ca");
	o = run(&st, "sed -i -e '/^cert_file/d' -e '/^key_file/d' %s", e->conf);
	free(o);
	e->hub = spawn(t->hub_log, argv);
	assert_true(wait_file_lines(t->hub_log, "the broker refused the TLS session: ",
	                            "set cert_file and key_file", 1, 30) >= 1);
	assert_int_equal(file_lines(t->hub_log, "connected to", NULL), 0);
}

/* check-config reads every file [broker] names: a missing or unreadable
 * one is FILE:LINE: and exit 2, as is a password_file others can read. */
static void
test_check_config_files(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *o, pw[160];
	int st;
	FILE *f;

	tls_hub_conf(t, "localhost", "ca");
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	o = run(&st, "sed -i 's|^cert_file = .*|cert_file = %s/missing.crt|' %s", e->dir, e->conf);
	free(o);
	o = run(&st, "%s -c %s check-config 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	assert_non_null(strstr(o, "hub.conf:4: [broker] cert_file = "));
	assert_non_null(strstr(o, "missing.crt: cannot read: No such file or directory"));
	free(o);
	/* A directory opens, but cannot be read. */
	o = run(&st, "sed -i 's|^cert_file = .*|cert_file = %s|' %s", e->dir, e->conf);
	free(o);
	o = run(&st, "%s -c %s check-config 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	assert_non_null(strstr(o, "cannot read: Is a directory"));
	free(o);
	/* run refuses it the same way, before it connects (timeout: a run
	 * that started would not end by itself). */
	o = run(&st, "timeout 30 %s -c %s run 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	assert_non_null(strstr(o, "cannot read: Is a directory"));
	free(o);
	o = run(&st, "sed -i 's|^cert_file = .*|cert_file = %s/client.crt|' %s", e->dir, e->conf);
	free(o);
	snprintf(pw, sizeof(pw), "%s/password", e->dir);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	chmod(pw, 0640);
	o = run(&st, "sed -i 's|^key_file = .*|&\\npassword_file = %s|' %s", pw, e->conf);
	free(o);
	o = run(&st, "%s -c %s check-config 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	assert_non_null(strstr(o, "hub.conf:6: [broker] password_file = "));
	assert_non_null(strstr(o, "readable by group or others (mode 640)"));
	free(o);
	/* run refuses it the same way, before it connects. */
	o = run(&st, "%s -c %s run 2>&1", hub_bin(), e->conf);
	assert_int_equal(st, 2);
	free(o);
	chmod(pw, 0600);
	assert_int_equal(cli(e, NULL, "check-config"), 0);
}

/* ---- webhooks over https ---- */

/* Counts POSTs that reached the handler: only those that passed TLS. */
static atomic_int https_posts;

static enum MHD_Result
https_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
             const char *version, const char *data, size_t *size, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)data;
	if (*con_cls == NULL) {
		*con_cls = c;
		return MHD_YES;
	}
	if (*size != 0) {
		*size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&https_posts, 1);
	resp = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static char *
slurp(const char *dir, const char *name)
{
	char path[160], *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/*
 * A team's https webhook is verified: with webhook_ca = the CA that signed
 * the receiver's certificate the event is delivered; a team whose
 * webhook_ca is another CA gets nothing, and the log says why.
 */
static void
test_https_webhook_ca(void **state)
{
	struct tls_env *t = *state;
	struct env *e = t->e;
	char *key = slurp(e->dir, "server.key"), *crt = slurp(e->dir, "server.crt");
	char conf[1024];
	int port = free_port();
	struct MHD_Daemon *d;
	json_t *r;

	atomic_store(&https_posts, 0);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, (uint16_t)port, NULL,
	                     NULL, https_handle, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
	                     MHD_OPTION_HTTPS_MEM_CERT, crt, MHD_OPTION_END);
	assert_non_null(d);
	/* P1 is the hospital team's (trusted CA), P2 rana's (another CA). */
	snprintf(conf, sizeof(conf), "sed -i -e 's|^\\[team:hospital-dho/mosjoen\\]$|&\\n"
	         "webhook = https://localhost:%d/h\\nwebhook_ca = %s/ca.crt|' "
	         "-e 's|^\\[team:home-nursing/rana\\]$|&\\nwebhook = https://localhost:%d/r\\n"
	         "webhook_ca = %s/other.crt|' %s", port, e->dir, port, e->dir, e->conf);
	free(run(NULL, "%s", conf));
	assert_int_equal(cli(e, NULL, "check-config"), 0);
	enroll(e, "P1", "oxy-1", 2, "");
	enroll(e, "P2", "oxy-2", 2, "--team home-nursing/rana");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-2/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	assert_true(wait_file_lines(t->hub_log, "webhook https://localhost:", "/r failed", 1, 20) >= 1);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading", "{\"seq\": 1, \"metric\": \"spo2\", \"value\": 80}");
	for (int i = 0; i < 200 && atomic_load(&https_posts) < 1; i++)
		usleep(100 * 1000);
	assert_int_equal(atomic_load(&https_posts), 1);
	assert_true(file_lines(t->hub_log, "/r failed: SSL certificate problem", NULL) >= 1);
	/* The MQTT side of both went out all the same. */
	r = cli_json(e, "stats --json");
	assert_true(json_integer_value(json_object_get(r, "outbox_pending")) >= 1);
	json_decref(r);
	stop(&e->hub, SIGTERM);
	MHD_stop_daemon(d);
	free(key);
	free(crt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tls_readings_and_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_wrong_host_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_wrong_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_client_certificate_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_config_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_webhook_ca, setup, teardown),
	};

	return INTEG_RUN(tests);
}
