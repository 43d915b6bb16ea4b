/*
 * session.c: the MQTT session (see session.h for the guarantees).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "log.h"
#include "mono.h"
#include "net.h"
#include "session.h"
#include "timefmt.h"
#include "tls.h"

#define SESSION_MAX_TOPICS 64
/* Reconnect backoff: 1 s after a failure, doubling to 30 s. */
#define SESSION_RETRY_MIN_S 1
#define SESSION_RETRY_MAX_S 30

struct session {
	MQTTAsync client;
	session_message_fn fn;
	void *ctx;
	char *topics[SESSION_MAX_TOPICS];
	int qos[SESSION_MAX_TOPICS];
	int ntopics;
	char status_topic[256];
	char username[128];
	char password[256];
	atomic_bool connected;
	atomic_bool abandon;
	char url[256];
	/* TLS (ssl:// or mqtts://): the files of [broker], and the reason
	 * OpenSSL gave for the last failed handshake, which the connect
	 * failure callback then logs. */
	bool tls;
	char ca_file[512];
	char cert_file[512];
	char key_file[512];
	pthread_mutex_t tls_mu;
	char tls_why[256];
	/* Reconnecting. Paho's automatic reconnect calls the connect failure
	 * callback for the first failed attempt of a series only (it clears
	 * the callback after calling it), so a broker that began refusing the
	 * hub's login after a restart went unlogged while the hub retried.
	 * The session connects again itself: each failure calls back, is
	 * logged, and sets the next attempt, which session_tick() starts.
	 * conn_mu guards the fields below (the Paho thread's callbacks and the
	 * caller of session_tick() both use them). */
	pthread_mutex_t conn_mu;
	bool attempting;    /* a connect started by session_start() is under way */
	bool online_once;   /* connected at least once since session_start() */
	bool refused;       /* the login was refused before that: give up */
	bool retry_due;     /* a connect is to be started at retry_at */
	int64_t retry_at;   /* mono_ms() */
	int backoff_s;
	/* The one publish session_publish() waits for: its token and result
	 * (0 pending, 1 acknowledged, -1 failed), set by the callbacks. */
	pthread_mutex_t pub_mu;
	pthread_cond_t pub_cv;
	MQTTAsync_token pub_token;
	int pub_result;
};

static void
session_status(struct session *s, const char *state, bool wait)
{
	MQTTAsync_message m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	char body[96];
	char at[TIMEFMT_LEN];

	timefmt_format(timefmt_now(), at);
	snprintf(body, sizeof(body), "{\"state\": \"%s\", \"at\": \"%s\"}", state, at);
	m.payload = body;
	m.payloadlen = (int)strlen(body);
	m.qos = 1;
	m.retained = 1;
	if (MQTTAsync_sendMessage(s->client, s->status_topic, &m, &ro) != MQTTASYNC_SUCCESS)
		return;
	if (wait)
		MQTTAsync_waitForCompletion(s->client, ro.token, 2000);
}

/* Sets the next connect attempt backoff_s from now and doubles the
 * backoff; returns the delay set. The caller holds conn_mu. */
static int
session_retry_later(struct session *s)
{
	int delay = s->backoff_s;

	s->retry_at = mono_ms() + (int64_t)delay * 1000;
	s->retry_due = true;
	s->backoff_s = delay * 2 > SESSION_RETRY_MAX_S ? SESSION_RETRY_MAX_S : delay * 2;
	return delay;
}

/* Called on the first connection and on each reconnection. */
static void
session_on_connected(void *context, char *cause)
{
	struct session *s = context;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	(void)cause;
	pthread_mutex_lock(&s->conn_mu);
	s->attempting = false;
	s->online_once = true;
	s->retry_due = false;
	s->backoff_s = SESSION_RETRY_MIN_S;
	pthread_mutex_unlock(&s->conn_mu);
	atomic_store(&s->connected, true);
	net_nodelay_all();
	log_info("connected to %s", s->url);
	/* The persistent session keeps the subscriptions, but a broker that lost
	 * its state would not: subscribing again is harmless. */
	rc = MQTTAsync_subscribeMany(s->client, s->ntopics, s->topics, s->qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		log_error("subscribe failed: %s", MQTTAsync_strerror(rc));
	session_status(s, "online", false);
}

static void
session_on_lost(void *context, char *cause)
{
	struct session *s = context;
	int delay;

	atomic_store(&s->connected, false);
	pthread_mutex_lock(&s->conn_mu);
	s->backoff_s = SESSION_RETRY_MIN_S;
	delay = session_retry_later(s);
	pthread_mutex_unlock(&s->conn_mu);
	log_warnx("connection to %s lost%s%s; reconnecting in %d s", s->url, cause ? ": " : "",
	          cause ? cause : "", delay);
}

/*
 * Paho hands OpenSSL's error queue here (ERR_print_errors_cb) when a
 * handshake fails, one line per error, e.g. "...:SSL routines:...:
 * certificate verify failed:...". The last line is kept for the connect
 * failure callback, which runs next on the same Paho thread.
 */
static int
session_on_ssl_error(const char *str, size_t len, void *u)
{
	struct session *s = u;

	while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
		len--;
	pthread_mutex_lock(&s->tls_mu);
	snprintf(s->tls_why, sizeof(s->tls_why), "%.*s", (int)len, str);
	pthread_mutex_unlock(&s->tls_mu);
	return 0;
}

/*
 * After a failed attempt over TLS the handshake is repeated by
 * tls_diagnose(), which says what the verification found (wrong CA, wrong
 * host name, expired); Paho itself reports a host-name mismatch only as
 * "TCP/TLS connect failure". It runs on Paho's thread, which has nothing
 * else to do while the hub is not connected.
 */
static void
session_on_connect_failure(void *context, MQTTAsync_failureData *resp)
{
	struct session *s = context;
	char why[512], ssl_line[256];
	bool login = false, give_up = false, attempting;
	int delay = 0;

	/* Paho keeps the failure callback of a connect that succeeded and
	 * calls it again when that connection breaks ("socket error"); the
	 * connection lost callback has that case. */
	pthread_mutex_lock(&s->conn_mu);
	attempting = s->attempting;
	s->attempting = false;
	pthread_mutex_unlock(&s->conn_mu);
	if (!attempting)
		return;
	why[0] = '\0';
	if (s->tls) {
		pthread_mutex_lock(&s->tls_mu);
		memcpy(ssl_line, s->tls_why, sizeof(s->tls_why));
		s->tls_why[0] = '\0';
		pthread_mutex_unlock(&s->tls_mu);
		if (tls_diagnose(s->url, s->ca_file, s->cert_file, s->key_file, 5000, why,
		                 sizeof(why)) == DHO_OK)
			snprintf(why, sizeof(why), "%s", ssl_line);
	}
	/* MQTT 3.1.1 CONNACK codes 4 and 5: the broker does not take the
	 * user name and password. The password itself is never logged. */
	if (why[0] == '\0' && resp != NULL && (resp->code == 4 || resp->code == 5)) {
		login = true;
		snprintf(why, sizeof(why), "the broker refused the login as %s%s%s: %s (check "
		         "[broker] username and password_file against the broker's password_file)",
		         s->username[0] ? "user '" : "an anonymous client", s->username,
		         s->username[0] ? "'" : "",
		         resp->code == 4 ? "bad user name or password" : "not authorized");
	}
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "%s", resp && resp->message ? resp->message
		         : MQTTAsync_strerror(resp ? resp->code : -1));
	/* A login refused before the hub was ever online is a wrong
	 * configuration that no retry mends: the daemon exits 2. Once it has
	 * been online, the broker may have been restarted while its password
	 * file was being changed: the hub keeps running and retries, logging
	 * each refusal as an error. */
	pthread_mutex_lock(&s->conn_mu);
	if (login && !s->online_once) {
		s->refused = true;
		give_up = true;
	} else {
		delay = session_retry_later(s);
	}
	pthread_mutex_unlock(&s->conn_mu);
	if (give_up)
		log_error("cannot connect to %s: %s; not retrying", s->url, why);
	else if (login)
		log_error("cannot connect to %s: %s; retrying in %d s", s->url, why, delay);
	else
		log_warnx("cannot connect to %s: %s; retrying in %d s", s->url, why, delay);
}

static int
session_on_message(void *context, char *topic, int topiclen, MQTTAsync_message *m)
{
	struct session *s = context;
	char name[512];
	size_t n = topiclen > 0 ? (size_t)topiclen : strlen(topic);
	unsigned delay_ms = 100;
	int rc;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, topic, n);
	name[n] = '\0';
	/* Returning from this callback acknowledges the message, so it returns
	 * only when the message is on disk. While the store fails (disk full,
	 * I/O error) the hub holds this message and, with it, the broker's
	 * flow of further messages. */
	for (;;) {
		rc = s->fn(s->ctx, name, m->payload, (size_t)m->payloadlen, m->retained != 0);
		if (rc == DHO_OK)
			break;
		if (atomic_load(&s->abandon)) {
			log_error("exiting without acknowledging a message on %s: it will be redelivered",
			          name);
			_exit(1);
		}
		log_error("cannot store the message on %s (%s); not acknowledging it, retrying in %u ms",
		          name, dho_strerror(rc), delay_ms);
		usleep(delay_ms * 1000);
		if (delay_ms < 5000)
			delay_ms *= 2;
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static int session_add_topic(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Adds the topic filter fmt formats to the subscription. */
static int
session_add_topic(struct session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (s->ntopics >= SESSION_MAX_TOPICS)
		return DHO_ERANGE;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((s->topics[s->ntopics] = strdup(buf)) == NULL)
		return DHO_ENOMEM;
	s->qos[s->ntopics++] = 1;
	return DHO_OK;
}

static int
session_read_password(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		log_warn("cannot read password_file %s", path);
		return DHO_EIO;
	}
	/* The first line only, as documented: a file that also holds a
	 * comment or a second secret must not send it all to the broker. */
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return DHO_OK;
}

bool
session_url_tls(const char *url)
{
	return strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0;
}

int
session_new(const struct config *cfg, session_message_fn fn, void *ctx, struct session **out)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		pthread_mutex_init(&s->pub_mu, NULL);
		mono_cond_init(&s->pub_cv);
		pthread_mutex_init(&s->tls_mu, NULL);
		pthread_mutex_init(&s->conn_mu, NULL);
		s->backoff_s = SESSION_RETRY_MIN_S;
	}
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	int rc = DHO_OK;

	*out = NULL;
	if (s == NULL)
		return DHO_ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	snprintf(s->url, sizeof(s->url), "%s", cfg->broker_url);
	snprintf(s->username, sizeof(s->username), "%s", cfg->username);
	s->tls = session_url_tls(cfg->broker_url);
	snprintf(s->ca_file, sizeof(s->ca_file), "%s", cfg->ca_file);
	snprintf(s->cert_file, sizeof(s->cert_file), "%s", cfg->cert_file);
	snprintf(s->key_file, sizeof(s->key_file), "%s", cfg->key_file);
	if (cfg->password_file[0] != '\0' &&
	    (rc = session_read_password(cfg->password_file, s->password, sizeof(s->password))) != DHO_OK)
		goto fail;
	snprintf(s->status_topic, sizeof(s->status_topic), "%s/hub/%s/status",
	         cfg->topic_prefix, cfg->client_id);
	if (cfg->all_tenants) {
		rc = session_add_topic(s, "%s/+/dev/+/reading", cfg->topic_prefix);
		if (rc == DHO_OK)
			rc = session_add_topic(s, "%s/+/dev/+/gatt", cfg->topic_prefix);
	}
	for (size_t i = 0; rc == DHO_OK && !cfg->all_tenants && i < cfg->ntenants; i++) {
		rc = session_add_topic(s, "%s/%s/dev/+/reading", cfg->topic_prefix, cfg->tenants[i]);
		if (rc == DHO_OK)
			rc = session_add_topic(s, "%s/%s/dev/+/gatt", cfg->topic_prefix, cfg->tenants[i]);
	}
	if (rc == DHO_OK)
		rc = session_add_topic(s, "%s/acks/#", cfg->topic_prefix);
	for (size_t i = 0; rc == DHO_OK && i < cfg->ninputs; i++)
		rc = session_add_topic(s, "%s", cfg->inputs[i].topic);
	if (rc != DHO_OK)
		goto fail;
	/* No Paho persistence: inbound messages are kept by the broker until
	 * acknowledged, outbound events by the outbox in the store. */
	co.sendWhileDisconnected = 0;
	if (MQTTAsync_createWithOptions(&s->client, cfg->broker_url, cfg->client_id,
	                                MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS) {
		rc = DHO_EINVAL;
		goto fail;
	}
	MQTTAsync_setCallbacks(s->client, s, session_on_lost, session_on_message, NULL);
	MQTTAsync_setConnected(s->client, s, session_on_connected);
	*out = s;
	return DHO_OK;
fail:
	session_free(s);
	return rc;
}

/* Starts one connect attempt (the first, and each one session_tick()
 * finds due); its end calls session_on_connected() or
 * session_on_connect_failure(). Paho copies the options. */
int
session_start(struct session *s)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions w = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	int rc;

	o.keepAliveInterval = 20;
	o.cleansession = 0;
	/* Not Paho's: see retry_due. */
	o.automaticReconnect = 0;
	/* 3.1.1 only: Paho's default falls back to 3.1 after any failure,
	 * which made each refused login two attempts. */
	o.MQTTVersion = MQTTVERSION_3_1_1;
	o.connectTimeout = 10;
	o.context = s;
	o.onFailure = session_on_connect_failure;
	if (s->username[0] != '\0')
		o.username = s->username;
	if (s->password[0] != '\0')
		o.password = s->password;
	w.topicName = s->status_topic;
	w.message = "{\"state\": \"offline\"}";
	w.qos = 1;
	w.retained = 1;
	o.will = &w;
	if (s->tls) {
		/* The broker's certificate must chain to ca_file (else the
		 * system's CAs) and name the host of the URL (verify). */
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		ssl.trustStore = s->ca_file[0] ? s->ca_file : NULL;
		ssl.keyStore = s->cert_file[0] ? s->cert_file : NULL;
		ssl.privateKey = s->key_file[0] ? s->key_file : NULL;
		ssl.sslVersion = MQTT_SSL_VERSION_DEFAULT;   /* OpenSSL 3: TLS 1.2 or newer */
		ssl.ssl_error_cb = session_on_ssl_error;
		ssl.ssl_error_context = s;
		o.ssl = &ssl;
	}
	pthread_mutex_lock(&s->conn_mu);
	s->attempting = true;
	pthread_mutex_unlock(&s->conn_mu);
	rc = MQTTAsync_connect(s->client, &o);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&s->conn_mu);
		s->attempting = false;
		pthread_mutex_unlock(&s->conn_mu);
		log_error("cannot start connecting to %s: %s", s->url, MQTTAsync_strerror(rc));
		return DHO_EIO;
	}
	return DHO_OK;
}

void
session_tick(struct session *s)
{
	bool due;

	pthread_mutex_lock(&s->conn_mu);
	due = s->retry_due && mono_ms() >= s->retry_at;
	if (due)
		s->retry_due = false;
	pthread_mutex_unlock(&s->conn_mu);
	if (!due || session_start(s) == DHO_OK)
		return;
	pthread_mutex_lock(&s->conn_mu);
	session_retry_later(s);
	pthread_mutex_unlock(&s->conn_mu);
}

bool
session_refused(struct session *s)
{
	bool refused;

	pthread_mutex_lock(&s->conn_mu);
	refused = s->refused;
	pthread_mutex_unlock(&s->conn_mu);
	return refused;
}

bool
session_connected(struct session *s)
{
	return atomic_load(&s->connected) && MQTTAsync_isConnected(s->client);
}

static void
session_pub_result(struct session *s, MQTTAsync_token token, int result)
{
	pthread_mutex_lock(&s->pub_mu);
	if (token == s->pub_token && s->pub_result == 0) {
		s->pub_result = result;
		pthread_cond_broadcast(&s->pub_cv);
	}
	pthread_mutex_unlock(&s->pub_mu);
}

static void
session_pub_ok(void *context, MQTTAsync_successData *d)
{
	session_pub_result(context, d ? d->token : 0, 1);
}

static void
session_pub_fail(void *context, MQTTAsync_failureData *d)
{
	session_pub_result(context, d ? d->token : 0, -1);
}

/*
 * Waits for the PUBACK through the callbacks: MQTTAsync_waitForCompletion()
 * polls every 100 ms, which capped alert delivery at about ten events a
 * second (bench/ingest measured minutes of delay behind a burst).
 */
int
session_publish(struct session *s, const char *topic, const char *payload, size_t len,
                bool retained, int timeout_ms)
{
	MQTTAsync_message m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct timespec until;
	int rc, result;

	if (!session_connected(s))
		return DHO_EIO;
	m.payload = (void *)payload;
	m.payloadlen = (int)len;
	m.qos = 1;
	m.retained = retained;
	ro.onSuccess = session_pub_ok;
	ro.onFailure = session_pub_fail;
	ro.context = s;
	mono_deadline(timeout_ms, &until);
	/* Held across the send, so that a callback that comes at once finds
	 * the token already recorded. */
	pthread_mutex_lock(&s->pub_mu);
	s->pub_result = 0;
	rc = MQTTAsync_sendMessage(s->client, topic, &m, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_unlock(&s->pub_mu);
		return DHO_EIO;
	}
	s->pub_token = ro.token;
	while (s->pub_result == 0)
		if (pthread_cond_timedwait(&s->pub_cv, &s->pub_mu, &until) != 0)
			break;
	result = s->pub_result;
	s->pub_token = -1;   /* a late callback for it changes nothing */
	pthread_mutex_unlock(&s->pub_mu);
	return result == 1 ? DHO_OK : DHO_EIO;
}

void
session_abandon(struct session *s)
{
	atomic_store(&s->abandon, true);
}

void
session_stop(struct session *s)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	if (s == NULL || s->client == NULL)
		return;
	if (session_connected(s))
		session_status(s, "offline", true);
	d.timeout = 2000;
	MQTTAsync_disconnect(s->client, &d);
	for (int i = 0; i < 40 && MQTTAsync_isConnected(s->client); i++)
		usleep(50 * 1000);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->client)
		MQTTAsync_destroy(&s->client);
	for (int i = 0; i < s->ntopics; i++)
		free(s->topics[i]);
	pthread_mutex_destroy(&s->pub_mu);
	pthread_cond_destroy(&s->pub_cv);
	pthread_mutex_destroy(&s->tls_mu);
	pthread_mutex_destroy(&s->conn_mu);
	free(s);
}
