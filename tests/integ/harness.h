/*
 * harness: what every integration test needs to drive the real parts. A
 * test gets its own directory, a Mosquitto on a free loopback port, a hub
 * configuration and a mosquitto_sub recording the alert feed; it runs the
 * real dhohub binary and talks to it only through MQTT and the CLI, as the
 * hub's outside users do.
 *
 * The helpers fail the running cmocka test on any surprise.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

struct env {
	char dir[64];
	char conf[128];
	int port;
	pid_t broker;
	pid_t hub;
	pid_t sub;
	char alerts[128];   /* mosquitto_sub -v output of <prefix>/alerts/# */
	char prefix[64];    /* [broker] topic_prefix, "dho/v1" unless the test set one */
	char wrap[256];     /* words run before `dhohub run` (strace ...), or "" */
};

/* The base configuration: client id itest, prefix dho/v1, tenants vefsn
 * (home-nursing/vefsn escalating to hospital-dho/mosjoen, hospital phase
 * 14 days) and rana (home-nursing/rana), followed by tail (programs and
 * anything else the test needs). */
struct env *env_new(const char *tail);
/* As env_new(), with broker_extra lines added to [broker] (e.g.
 * "topic_prefix = x/y" or "tenants = *", which replaces the default). */
struct env *env_new_broker(const char *broker_extra, const char *tail);
/*
 * Rewrites the broker's configuration as head, the harness's listener on
 * e->port (anonymous) and tail, restarts it and the alert feed. With
 * per_listener_settings in head, tail can add a listener with its own
 * rules (a password file) beside the test's anonymous one.
 */
void broker_reconfigure(struct env *e, const char *head, const char *tail);
/*
 * Ends the test's processes and removes its directory. Every integration
 * test goes through here, so this is where the hub's end is checked once
 * for all: a running hub is stopped with SIGTERM and must exit 0, and
 * neither the hub's log nor the CLI's stderr (cli.err) may hold a
 * sanitizer report (the ASan build). A failed check fails the running test
 * and keeps the directory. Every *.log and *.err file of the test's
 * directory is scanned, so a test that starts another dhohub process
 * (dhohub web) gives it a log there and needs no check of its own.
 */
void env_free(struct env *e);
/*
 * The fixture most integration tests share, as cmocka setup and teardown:
 * env_setup() replaces the test's initial state, a configuration tail, by
 * env_new(tail); env_teardown() ends it with env_free(). ENV_TEST(test,
 * tail) is such a test; ENV_TEST_TEARDOWN(test, tail, teardown) is one
 * whose program has more to end, in a teardown that finishes with
 * env_teardown().
 */
int env_setup(void **state);
int env_teardown(void **state);
#define ENV_TEST_TEARDOWN(f, tail, teardown) \
	cmocka_unit_test_prestate_setup_teardown(f, env_setup, teardown, (void *)(tail))
#define ENV_TEST(f, tail) ENV_TEST_TEARDOWN(f, tail, env_teardown)
/* Stops the running hub with SIGTERM and fails the test unless it exits 0. */
void hub_stop(struct env *e);
/*
 * For a test program that cannot run without root: returns when the
 * process runs as root. Otherwise the program ends: as skipped (exit
 * SKIP_CODE, which CMake's SKIP_RETURN_CODE reports as skipped) when
 * DHO_ALLOW_SKIP=1, else as failed.
 */
#define SKIP_CODE 77
void require_root(const char *why);
/* Appends text to the configuration (before the hub starts). */
void env_conf_append(struct env *e, const char *text);

const char *hub_bin(void);
int free_port(void);
bool port_open(int port);
/* Starts argv with stdout and stderr appended to log. */
pid_t spawn(const char *log, char *const argv[]);
/* Sends sig to *pid, reaps it and sets *pid to -1. */
void stop(pid_t *pid, int sig);

/* Runs a shell command line; returns its stdout (malloc'd), *status the exit code. */
char *run(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A CLI command against the test's config; returns the exit code. */
int cli(struct env *e, char **out, const char *args);
/* A CLI command with its stderr in *err (malloc'd; also appended to
 * cli.err for the sanitizer check); returns the exit code. */
int cli_stderr(struct env *e, char **out, char **err, const char *args);
/* A CLI command that must succeed and print JSON. */
json_t *cli_json(struct env *e, const char *args);
/* Publishes payload QoS 1 on topic. */
void pub(struct env *e, const char *topic, const char *payload);
/* Publishes len bytes (binary allowed) QoS 1 on topic. */
void pub_bytes(struct env *e, const char *topic, const void *bytes, size_t len);

/* Starts (or restarts) Mosquitto on e->port and waits for its port. */
void broker_start(struct env *e);
/* Starts `dhohub run` and waits for its retained status to say online. */
void hub_start(struct env *e);
/*
 * Makes the broker keep its state across a restart with SIGTERM
 * (persistence in the test's directory) and the alert feed a persistent
 * session (fixed client id, clean session off), then restarts both and
 * waits until the feed is subscribed. From then on no event published
 * while the feed or the broker restarts is missing from the feed.
 */
void broker_persistent(struct env *e);

/* Seconds on the monotonic clock. */
double mono_now(void);
/* Lines of the file at path that contain a and (unless NULL) b. */
int file_lines(const char *path, const char *a, const char *b);

/* RFC 3339 UTC ("2026-11-23T08:15:00Z") of time t, and of now + delta s. */
void utc_at(char *buf, size_t len, time_t t);
void utc(char *buf, size_t len, long delta);
/* Lines of the hub's log (hub.log) that contain a and (unless NULL) b. */
int hub_log_lines(struct env *e, const char *a, const char *b);

/*
 * An integration test program's main(): SIGPIPE ignored (a receiver may
 * close early), DHO_TEST_FILTER honoured, then the group run.
 */
struct CMUnitTest;
int integ_run(const char *name, const struct CMUnitTest *tests, size_t n);
#define INTEG_RUN(tests) integ_run(#tests, tests, sizeof(tests) / sizeof((tests)[0]))

/* YYYY-MM-DD of days_ago days before today, local time. */
void today(char *buf, size_t len, int days_ago);
/* patient add PATIENT --tenant vefsn --program copd --discharged (days ago)
 * EXTRA, then device assign DEVICE. EXTRA may hold another --program. */
void enroll(struct env *e, const char *patient, const char *device, int discharged_days_ago,
            const char *extra);

json_int_t stat_int(struct env *e, const char *key);
/* Waits until stats key reaches want, up to secs seconds; returns the last value. */
json_int_t wait_stat(struct env *e, const char *key, json_int_t want, int secs);

/* The id ("A7") of patient's alert, in any state, into id; fails unless
 * patient has exactly one. */
void alert_id(struct env *e, const char *patient, char *id, size_t len);
/* Lines of the alert feed that contain a and (unless NULL) b. */
int alert_lines(struct env *e, const char *a, const char *b);
/* Distinct alert ids among those lines. */
int alert_ids(struct env *e, const char *a, const char *b);
int wait_alert_lines(struct env *e, const char *a, const char *b, int want, int secs);
/* Waits until the file at path has want lines with a and (unless NULL) b,
 * up to secs seconds; returns the last count. */
int wait_file_lines(const char *path, const char *a, const char *b, int want, int secs);

/*
 * The alert feed parsed: an array of the event documents of alert id (all
 * alerts when id is NULL) in the order they arrived, each with the topic it
 * came on added as "_topic". The caller json_decref()s it.
 */
json_t *feed_events(struct env *e, const char *id);
/*
 * Returns once every event the hub has queued so far is in the feed file:
 * the outbox is empty (the broker acknowledged each), then a probe
 * published after them has reached the feed, which the broker delivers in
 * order. A check that an event did NOT happen comes after this.
 */
void feed_sync(struct env *e);
/* Waits up to secs for the feed to hold event (e.g. "recurred") of alert id
 * and returns the first such document (a new reference); fails otherwise. */
json_t *wait_event(struct env *e, const char *id, const char *event, int secs);
/* json_string_value() of key that must be a string: fails otherwise. */
const char *jstr(const json_t *o, const char *key);
/* The integer at key that must be one: fails otherwise. */
json_int_t jint(const json_t *o, const char *key);
/* Parses RFC 3339 UTC with Z ("2026-11-23T08:15:00Z") into *t; fails the
 * test on anything else. */
void parse_utc(const char *s, time_t *t);

#endif
