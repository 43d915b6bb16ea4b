/*
 * Fault injection: the hub killed with SIGKILL again and again
 * during a stream, the broker stopped and restarted during a stream, and
 * the disk filling up under the database. Each test ends with every reading
 * stored exactly once and PRAGMA integrity_check ok.
 *
 * DHO_SOAK=1 makes each one longer (`make soak`): 200 kills instead of 20,
 * longer streams.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define PROGRAMS "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n"

#define DEVICES 3

static bool
soak(void)
{
	const char *s = getenv("DHO_SOAK");

	return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char disk[128];

	/* The disk-full test's tmpfs, also when the test failed half-way. A
	 * test that got to its end stopped the hub itself with hub_stop(),
	 * which checks its exit; a hub still running here is that of a test
	 * that failed already. */
	snprintf(disk, sizeof(disk), "%s/disk", e->dir);
	stop(&e->hub, SIGKILL);
	umount2(disk, MNT_DETACH);
	return env_teardown(state);
}

/* Enrolls P1..P3 with oxy-1..oxy-3. */
static void
enroll_all(struct env *e)
{
	char p[16], d[16];

	for (int i = 1; i <= DEVICES; i++) {
		snprintf(p, sizeof(p), "P%d", i);
		snprintf(d, sizeof(d), "oxy-%d", i);
		enroll(e, p, d, 2, "");
	}
}

/*
 * A child that publishes n readings per device, seq 1..n, QoS 1, in chunks
 * of 100 with a pause of pause_ms between chunks. A chunk whose
 * mosquitto_pub fails (the broker is down) is published again until it
 * goes through: the broker may then hold some readings twice, which the
 * hub must store once (their seq).
 */
static pid_t
publisher(struct env *e, int n, int pause_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	for (int from = 1; from <= n; from += 100) {
		for (int d = 1; d <= DEVICES; d++) {
			char file[160], cmd[512];
			FILE *f;

			snprintf(file, sizeof(file), "%s/chunk-%d", e->dir, d);
			f = fopen(file, "w");
			if (f == NULL)
				_exit(2);
			for (int s = from; s < from + 100 && s <= n; s++)
				fprintf(f, "{\"seq\": %d, \"metric\": \"spo2\", \"value\": %d}\n", s,
				        93 + s % 5);
			fclose(f);
			snprintf(cmd, sizeof(cmd),
			         "mosquitto_pub -p %d -q 1 -i itest-pub-%d -t dho/v1/vefsn/dev/oxy-%d/reading"
			         " -l < %s 2>/dev/null", e->port, d, d, file);
			for (int tries = 0; system(cmd) != 0; tries++) {
				if (tries > 600)
					_exit(3);
				usleep(100 * 1000);
			}
		}
		usleep((useconds_t)pause_ms * 1000);
	}
	_exit(0);
}

static void
publisher_done(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Every reading of every device stored once, and the database sound. Run
 * after the hub has stopped. */
static void
check_exactly_once(struct env *e, int n)
{
	char want[64], *o;
	int st;

	o = run(&st, "sqlite3 -readonly %s/hub.db 'PRAGMA integrity_check;"
	             " SELECT count(*) FROM readings;"
	             " SELECT count(*) FROM (SELECT DISTINCT device, seq FROM readings);'", e->dir);
	assert_int_equal(st, 0);
	snprintf(want, sizeof(want), "ok\n%d\n%d\n", n * DEVICES, n * DEVICES);
	assert_string_equal(o, want);
	free(o);
}

static void
test_kill9_many_times_during_stream(void **state)
{
	struct env *e = *state;
	int kills = soak() ? 200 : 20, n = soak() ? 20000 : 3000;
	unsigned seed = (unsigned)time(NULL);
	pid_t pub;

	print_message("kill -9 %d times during a stream of %d readings (seed %u)\n", kills,
	              n * DEVICES, seed);
	srand(seed);
	enroll_all(e);
	hub_start(e);
	pub = publisher(e, n, soak() ? 50 : 60);
	for (int k = 0; k < kills; k++) {
		usleep((useconds_t)(50 + rand() % 400) * 1000);
		stop(&e->hub, SIGKILL);
		hub_start(e);
	}
	publisher_done(pub);
	assert_int_equal(wait_stat(e, "readings", n * DEVICES, 120), n * DEVICES);
	hub_stop(e);
	check_exactly_once(e, n);
}

static void
test_broker_restart_during_stream(void **state)
{
	struct env *e = *state;
	int restarts = soak() ? 10 : 2, n = soak() ? 10000 : 2000;
	pid_t pub;

	broker_persistent(e);   /* the broker keeps the hub's queue across SIGTERM */
	enroll_all(e);
	hub_start(e);
	pub = publisher(e, n, 100);
	for (int r = 0; r < restarts; r++) {
		sleep(2);
		/* SIGTERM: Mosquitto writes its queue (the hub's session) to disk. */
		stop(&e->broker, SIGTERM);
		sleep(1);
		broker_start(e);
	}
	publisher_done(pub);
	assert_int_equal(wait_stat(e, "readings", n * DEVICES, 120), n * DEVICES);
	/* no more than that either: counted in the database once it stopped */
	hub_stop(e);
	check_exactly_once(e, n);
}

static void
test_disk_full_stops_acks_and_recovers(void **state)
{
	struct env *e = *state;
	char disk[128], cmd[512], *o;
	int n = soak() ? 20000 : 4000, st;
	json_int_t held;
	pid_t pub;

	/* The database on a 16 MiB tmpfs, through a symlink from the path the
	 * configuration names (SQLite follows it, and keeps -wal and -shm
	 * beside the real file). */
	snprintf(disk, sizeof(disk), "%s/disk", e->dir);
	o = run(&st, "mkdir -p %s", disk);
	free(o);
	/* main() made sure we are root; a mount that fails now is a failure. */
	if (mount("dho-itest", disk, "tmpfs", 0, "size=16m") != 0)
		fail_msg("cannot mount a tmpfs: %s", strerror(errno));
	o = run(&st, "ln -s %s/hub.db %s/hub.db", disk, e->dir);
	free(o);
	assert_int_equal(st, 0);
	enroll_all(e);
	hub_start(e);
	pub = publisher(e, 200, 0);
	publisher_done(pub);
	assert_int_equal(wait_stat(e, "readings", 200 * DEVICES, 30), 200 * DEVICES);

	/* Fill the disk, then stream: the hub cannot commit, so it does not
	 * acknowledge, and the broker keeps the readings. */
	o = run(&st, "dd if=/dev/zero of=%s/filler bs=64k 2>/dev/null; sync", disk);
	free(o);
	pub = publisher(e, n, 20);
	for (int i = 0; i < 60 && hub_log_lines(e, "cannot store the message", NULL) == 0; i++)
		sleep(1);
	assert_true(hub_log_lines(e, "cannot store the message", NULL) > 0);
	held = stat_int(e, "readings");
	sleep(3);
	/* It stopped: nothing more is committed while the disk is full, and
	 * the daemon is still running. */
	assert_int_equal(stat_int(e, "readings"), held);
	assert_true(held < n * DEVICES);
	assert_int_equal(kill(e->hub, 0), 0);

	/* Space returns: the hub goes on by itself. */
	snprintf(cmd, sizeof(cmd), "%s/filler", disk);
	assert_int_equal(unlink(cmd), 0);
	publisher_done(pub);
	assert_int_equal(wait_stat(e, "readings", n * DEVICES, 180), n * DEVICES);
	hub_stop(e);
	check_exactly_once(e, n);
}

/*
 * Without arguments: the tests that run as any user. With "disk": the
 * disk-full test alone, which mounts a tmpfs and so needs root; CTest runs
 * it as integ_faults_disk, which reports it as skipped (SKIP_CODE) only
 * when DHO_ALLOW_SKIP=1 and otherwise fails it without root.
 */
int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST_TEARDOWN(test_kill9_many_times_during_stream, PROGRAMS, teardown),
		ENV_TEST_TEARDOWN(test_broker_restart_during_stream, PROGRAMS, teardown),
	};
	const struct CMUnitTest disk_tests[] = {
		ENV_TEST_TEARDOWN(test_disk_full_stops_acks_and_recovers, PROGRAMS, teardown),
	};

	if (argc > 1 && strcmp(argv[1], "disk") == 0) {
		require_root("the disk-full test (a tmpfs mount)");
		return INTEG_RUN(disk_tests);
	}
	return INTEG_RUN(tests);
}
