/*
 * test_assets.c: the page compiled into the binary (web/). Every file the
 * page refers to is served from the binary itself, never from another host,
 * and nothing outside the generated table answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assets.h"
#include "dho.h"

static const char *
page(size_t *len)
{
	const unsigned char *data = NULL;
	const char *type = NULL;

	assert_int_equal(asset_find("/", &data, len, &type), DHO_OK);
	assert_string_equal(type, "text/html; charset=utf-8");
	/* The generator ends each file with a NUL that len does not count. */
	assert_int_equal(data[*len], '\0');
	return (const char *)data;
}

static void
test_page_is_served(void **state)
{
	size_t len = 0;
	const char *html = page(&len);

	(void)state;
	assert_true(len > 200);
	assert_int_equal(strlen(html), len);
	assert_non_null(strstr(html, "<!doctype html>"));
	assert_non_null(strstr(html, "lang=\"nb\""));
}

/* Each src="..." and href="..." of the page is one of ours: a path on this
 * host that asset_find() answers, and never a URL of another host. */
static void
test_page_refers_only_to_itself(void **state)
{
	static const char *const attrs[] = { " src=\"", " href=\"" };
	size_t len = 0;
	const char *html = page(&len);
	int seen = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		const char *p = html;

		while ((p = strstr(p, attrs[i])) != NULL) {
			char path[256];
			const char *start = p + strlen(attrs[i]);
			const char *end = strchr(start, '"');
			const unsigned char *data;
			const char *type;
			size_t n;

			assert_non_null(end);
			assert_true((size_t)(end - start) < sizeof(path));
			memcpy(path, start, (size_t)(end - start));
			path[end - start] = '\0';
			p = end;
			if (path[0] == '#')
				continue;       /* the skip link */
			if (strncmp(path, "/", 1) != 0 || strncmp(path, "//", 2) == 0)
				fail_msg("the page refers to %s, not a path of its own", path);
			if (asset_find(path, &data, &n, &type) != DHO_OK)
				fail_msg("the page refers to %s, which is not compiled in", path);
			assert_true(n > 0);
			seen++;
		}
	}
	/* uPlot's script and style, ours, the icon. */
	assert_true(seen >= 7);
}

static void
test_types(void **state)
{
	static const struct {
		const char *path;
		const char *type;
	} cases[] = {
		{ "/app.js", "text/javascript; charset=utf-8" },
		{ "/app.css", "text/css; charset=utf-8" },
		{ "/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8" },
		{ "/vendor/uPlot.LICENSE.txt", "text/plain; charset=utf-8" },
		{ "/favicon.svg", "image/svg+xml" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *data = NULL;
		const char *type = NULL;
		size_t len = 0;

		assert_int_equal(asset_find(cases[i].path, &data, &len, &type), DHO_OK);
		assert_string_equal(type, cases[i].type);
		assert_true(len > 0);
	}
}

static void
test_unknown_paths(void **state)
{
	static const char *const paths[] = {
		"", "/index.html", "/app.js/", "/../CMakeLists.txt", "/vendor/../app.js",
		"app.js", "/APP.JS", "/api/v1/session", "/static/app.js",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const unsigned char *data = NULL;
		const char *type = NULL;
		size_t len = 0;

		if (asset_find(paths[i], &data, &len, &type) != DHO_ENOTFOUND)
			fail_msg("path \"%s\" was found", paths[i]);
		assert_null(data);
	}
	{
		const unsigned char *data = NULL;
		const char *type = NULL;
		size_t len = 0;

		assert_int_equal(asset_find(NULL, &data, &len, &type), DHO_ENOTFOUND);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_is_served),
		cmocka_unit_test(test_page_refers_only_to_itself),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_unknown_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
