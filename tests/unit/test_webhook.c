/*
 * test_webhook.c: how a webhook URL appears in a log line. A URL may carry
 * credentials (user information, a token in the query); neither may reach
 * the log (docs/security.md, "Hostile input").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon_int.h"

static const struct {
	const char *url;
	const char *logged;
} redact_cases[] = {
	{ "http://127.0.0.1:9000/alerts", "http://127.0.0.1:9000/alerts" },
	{ "https://user:s3cret@hooks.example.org/a/b", "https://***@hooks.example.org/a/b" },
	{ "https://token@hooks.example.org", "https://***@hooks.example.org" },
	{ "https://hooks.example.org/hook?team=vefsn&key=s3cret", "https://hooks.example.org/hook?***" },
	{ "http://u:p@h:1/x?k=v#frag", "http://***@h:1/x?***" },
	{ "http://h/path@not-userinfo", "http://h/path@not-userinfo" },
	{ "http://a:b@c@h/x", "http://***@h/x" },
};

static void
test_redact(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(redact_cases) / sizeof(redact_cases[0]); i++) {
		hub_redact_url(redact_cases[i].url, out, sizeof(out));
		if (strcmp(out, redact_cases[i].logged) != 0)
			fail_msg("%s: logged as %s, expected %s", redact_cases[i].url, out,
			         redact_cases[i].logged);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
