/*
 * fuzz_envelope.c: doc_parse_gatt() on any payload: a bridge's GATT
 * envelope with its seq and ts, the hex of the value and the value itself,
 * received at the unit tests' NOW. The payload is libFuzzer's buffer
 * itself, with no terminator after it, as an MQTT payload has none.
 */
#include "doc.h"
#include "fuzz.h"

/* 2026-11-23T08:20:00Z, as in tests/unit/test_doc.c. */
#define FUZZ_NOW ((dho_time_t)1795422000)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_set_zone();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	int rc;

	rc = doc_parse_gatt((const char *)data, size, FUZZ_NOW, &r, err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_EUNSUPP || rc == DHO_ERANGE ||
	           rc == DHO_ENOMEM);
	fuzz_check_err(err, sizeof(err), rc);
	if (rc != DHO_OK) {
		FUZZ_CHECK(r.n == 0);
		return 0;
	}
	FUZZ_CHECK(r.n <= DOC_MAX_READINGS);
	FUZZ_CHECK(r.measured_at >= FUZZ_NOW - DOC_MAX_AGE &&
	           r.measured_at <= FUZZ_NOW + DOC_MAX_AHEAD);
	for (size_t i = 0; i < r.n; i++) {
		const struct doc_item *it = &r.items[i];

		FUZZ_CHECK(memchr(it->metric, '\0', sizeof(it->metric)) != NULL);
		FUZZ_CHECK(memchr(it->reason, '\0', sizeof(it->reason)) != NULL);
		if (!it->ok) {
			FUZZ_CHECK(it->code != DHO_OK && it->reason[0] != '\0');
			continue;
		}
		/* An accepted reading is what the store may keep as it is, at
		 * the device's time or the message's. */
		FUZZ_CHECK(metric_check(it->r.metric, it->r.value, NULL, 0) == DHO_OK);
		FUZZ_CHECK(it->r.measured_at >= r.measured_at - DOC_MAX_AGE &&
		           it->r.measured_at <= r.measured_at + DOC_MAX_AHEAD);
	}
	return 0;
}
