/*
 * fuzz_doc.c: doc_parse() on any payload, received at the unit tests' NOW
 * so that the vectors' times fall inside the accepted window. The payload
 * is libFuzzer's buffer itself, which has no terminator after it, as an
 * MQTT payload has none.
 */
#include "doc.h"
#include "fuzz.h"

/* 2026-11-23T08:20:00Z, as in tests/unit/test_doc.c. */
#define FUZZ_NOW ((dho_time_t)1795422000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	int rc;

	rc = doc_parse((const char *)data, size, FUZZ_NOW, &r, err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_ERANGE || rc == DHO_ENOMEM);
	fuzz_check_err(err, sizeof(err), rc);
	if (rc != DHO_OK) {
		FUZZ_CHECK(r.n == 0);
		return 0;
	}
	FUZZ_CHECK(r.n >= 1 && r.n <= DOC_MAX_READINGS);
	for (size_t i = 0; i < r.n; i++) {
		const struct doc_item *it = &r.items[i];

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
		FUZZ_CHECK(it->r.measured_at >= FUZZ_NOW - DOC_MAX_AGE &&
		           it->r.measured_at <= FUZZ_NOW + DOC_MAX_AHEAD);
	}
	return 0;
}
