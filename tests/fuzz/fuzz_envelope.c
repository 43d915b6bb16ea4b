/*
 * fuzz_envelope.c: doc_parse_gatt() on any payload: a bridge's GATT
 * envelope with its seq and ts, the hex of the value and the value itself,
 * received at the unit tests' NOW. The payload is libFuzzer's buffer
 * itself, with no terminator after it, as an MQTT payload has none.
 */
#include "doc.h"
#define FUZZ_WITH_ZONE
#include "fuzz.h"

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
	fuzz_check_doc_result(&r, rc);
	if (rc != DHO_OK)
		return 0;
	FUZZ_CHECK(r.measured_at >= FUZZ_NOW - DOC_MAX_AGE &&
	           r.measured_at <= FUZZ_NOW + DOC_MAX_AHEAD);
	/* At the device's time or the message's. */
	for (size_t i = 0; i < r.n; i++)
		if (r.items[i].ok)
			FUZZ_CHECK(r.items[i].r.measured_at >= r.measured_at - DOC_MAX_AGE &&
			           r.items[i].r.measured_at <= r.measured_at + DOC_MAX_AHEAD);
	return 0;
}
