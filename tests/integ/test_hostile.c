/*
 * test_hostile.c: the findings of the security probe, each
 * under the name the probe gave it, on the real parts: a Mosquitto of its
 * own, the real dhohub binary, driven only through MQTT and the CLI.
 */
#include <regex.h>
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

#include "harness.h"

static int
setup(void **state)
{
	*state = env_new("[program:copd]\nthreshold.spo2 = red<88 yellow<92\n");
	return 0;
}

static int
teardown(void **state)
{
	env_free(*state);
	return 0;
}

/* Every line of the hub's log starts with the hub's own time stamp and
 * level; returns how many lines contain needle. */
static int
log_lines_own(struct env *e, const char *needle)
{
	char path[160], line[16384];
	regex_t re;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/hub.log", e->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	                         "dhohub (error|warn|info|debug): ", REG_EXTENDED | REG_NOSUB), 0);
	while (fgets(line, sizeof(line), f)) {
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("a log line that is not the hub's own: %s", line);
		if (strstr(line, needle))
			n++;
	}
	regfree(&re);
	fclose(f);
	return n;
}

/*
 * -c /dev/zero: a configuration "file" without a newline, ever. It was read
 * at 100 % CPU for ever; now it is an error at FILE:LINE, also through
 * $DHOHUB_CONFIG.
 */
static void
test_c_dev_zero(void **state)
{
	struct env *e = *state;
	char *out;
	int st;

	out = run(&st, "timeout 20 %s -c /dev/zero stats 2>&1", hub_bin());
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "/dev/zero:1: line longer than 4096 bytes"));
	free(out);
	out = run(&st, "DHOHUB_CONFIG=/dev/zero timeout 20 %s check-config 2>&1", hub_bin());
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "/dev/zero:1: "));
	free(out);
	/* A file over 1 MiB of comments. */
	out = run(&st, "yes '; comment' | head -c 1100000 > %s/big.conf && timeout 20 %s -c %s/big.conf "
	          "check-config 2>&1", e->dir, hub_bin(), e->dir);
	assert_int_equal(st, 2);
	assert_non_null(strstr(out, "big.conf:"));
	assert_non_null(strstr(out, "larger than 1048576 bytes"));
	free(out);
}

/*
 * Forged log line: a ts holding a newline, and a topic holding one, made
 * the quarantine's log line end early and the rest of it look like a line
 * of the hub's own. Every line of the log must be the hub's, and the
 * attempt shows up escaped inside one.
 */
static void
test_forged_log_line(void **state)
{
	struct env *e = *state;
	char forged[256];

	enroll(e, "P1", "oxy-1", 2, "");
	hub_start(e);
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"metric\": \"spo2\", \"value\": 95, \"ts\": \"x\\n2026-12-07T20:00:00.000Z dhohub "
	    "info: FORGED\"}");
	/* Brokers refuse C0 controls in topics, but not the Unicode line
	 * separator or a right-to-left override. */
	snprintf(forged, sizeof(forged), "dho/v1/vefsn/dev/oxy\xe2\x80\xa8" "FORGED2\xe2\x80\xae" "/reading");
	pub(e, forged, "{\"metric\": \"spo2\", \"value\": 95}");
	pub(e, "dho/v1/vefsn/dev/oxy-1/reading",
	    "{\"metric\": \"spo2\", \"value\": 96, \"ts\": \"\\u001b[2J\\r\\u2028\"}");
	assert_int_equal(wait_stat(e, "quarantined", 3, 10), 3);
	/* The log line is written before the commit that stats counts. */
	assert_int_equal(log_lines_own(e, "\\n2026-12-07T20:00:00.000Z dhohub info: FORGED"), 1);
	assert_int_equal(log_lines_own(e, "oxy\\u2028FORGED2\\u202E/reading"), 1);
	assert_int_equal(log_lines_own(e, "\\x1B[2J\\r\\u2028"), 1);
	assert_int_equal(log_lines_own(e, "\x1b"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_c_dev_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_log_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
