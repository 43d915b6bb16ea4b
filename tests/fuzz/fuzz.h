/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz share: a check that
 * aborts (so libFuzzer keeps the input as a crash), a NUL-terminated copy
 * of the input for the text parsers, the hub's zone, and the checks every
 * decoder's output must pass whatever the input was.
 *
 * Only the harnesses include it; nothing here is part of the hub.
 */
#ifndef DHO_FUZZ_H
#define DHO_FUZZ_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "doc.h"
#include "gatt.h"
#include "timefmt.h"

/* 2026-11-23T08:20:00Z, the unit tests' NOW (tests/unit/test_doc.c): the
 * vectors' times fall inside the accepted window. */
#define FUZZ_NOW ((dho_time_t)1795422000)

/* A broken promise of a decoder's header is a finding like a crash. */
#define FUZZ_CHECK(cond)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,  \
			        __LINE__, #cond);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

/* The zone the unit tests use, so that Date Time fields go through a real
 * zone with summer time; UTC if the zone database lacks it. */
static inline void
fuzz_set_zone(void)
{
	if (timefmt_set_zone("Europe/Oslo") != DHO_OK)
		FUZZ_CHECK(timefmt_set_zone("UTC") == DHO_OK);
}

/* libFuzzer's entry points: each harness defines LLVMFuzzerTestOneInput().
 * One whose decoder reads local times defines FUZZ_WITH_ZONE before it
 * includes this header, and gets the initializer that sets the zone. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_WITH_ZONE
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_set_zone();
	return 0;
}
#endif

/* A heap copy of data[size] with a terminator; the caller frees it. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An error buffer must hold a terminated string, and a sentence on failure. */
static inline void
fuzz_check_err(const char *err, size_t errlen, int rc)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FUZZ_CHECK(rc == DHO_OK ? err[0] == '\0' : err[0] != '\0');
}

/*
 * What doc.h promises about a result, whichever document gave it: nothing
 * after a failure; terminated texts; a rejected item with its reason and
 * code; an accepted one inside its metric's range.
 */
static inline void
fuzz_check_doc_result(const struct doc_result *r, int rc)
{
	if (rc != DHO_OK) {
		FUZZ_CHECK(r->n == 0);
		return;
	}
	FUZZ_CHECK(r->n <= DOC_MAX_READINGS);
	for (size_t i = 0; i < r->n; i++) {
		const struct doc_item *it = &r->items[i];

		FUZZ_CHECK(memchr(it->metric, '\0', sizeof(it->metric)) != NULL);
		FUZZ_CHECK(memchr(it->reason, '\0', sizeof(it->reason)) != NULL);
		if (!it->ok) {
			FUZZ_CHECK(it->code != DHO_OK && it->reason[0] != '\0');
			continue;
		}
		/* An accepted reading is what the store may keep as it is. */
		FUZZ_CHECK(it->code == DHO_OK);
		FUZZ_CHECK(metric_check(it->r.metric, it->r.value, NULL, 0) == DHO_OK);
		FUZZ_CHECK(it->r.decimals >= 0 && it->r.decimals <= 6);
	}
}

/*
 * What gatt.h promises about a decoded value, and that `decode gatt` turns
 * it into a JSON document jansson can read back. v is the result of a
 * gatt_decode() that returned rc.
 */
static inline void
fuzz_check_gatt_value(const struct gatt_value *v, int rc)
{
	char *json = NULL;
	json_t *back;
	json_error_t jerr;
	dho_time_t t;

	if (rc != DHO_OK) {
		FUZZ_CHECK(v->n == 0);
		return;
	}
	FUZZ_CHECK(v->n <= GATT_MAX_READINGS);
	for (size_t i = 0; i < v->n; i++) {
		const struct reading *r = &v->readings[i];

		FUZZ_CHECK((unsigned)r->metric < METRIC_COUNT);
		FUZZ_CHECK(r->decimals >= 0 && r->decimals <= 6);
		FUZZ_CHECK(r->flags == v->flags);
		FUZZ_CHECK(memchr(v->reason[i], '\0', GATT_REASON_LEN) != NULL);
		/* An unmarked reading is a value to store: a number. */
		if (v->mark[i] == GATT_MARK_NONE)
			FUZZ_CHECK(v->reason[i][0] == '\0' && isfinite(r->value));
		else
			FUZZ_CHECK(v->reason[i][0] != '\0');
	}
	(void)gatt_time(v, &t);
	FUZZ_CHECK(gatt_to_json(v, &json) == DHO_OK);
	back = json_loads(json, 0, &jerr);
	if (back == NULL)
		fprintf(stderr, "gatt_to_json wrote no JSON (%s): %s\n", jerr.text, json);
	FUZZ_CHECK(back != NULL);
	json_decref(back);
	free(json);
}

#endif
