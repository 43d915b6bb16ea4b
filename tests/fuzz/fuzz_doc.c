/*
 * fuzz_doc.c: doc_parse() on any payload, received at the unit tests' NOW
 * so that the vectors' times fall inside the accepted window. The payload
 * is libFuzzer's buffer itself, which has no terminator after it, as an
 * MQTT payload has none.
 */
#include "doc.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_result r;
	char err[DHO_ERRLEN];
	int rc;

	rc = doc_parse((const char *)data, size, FUZZ_NOW, &r, err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_ERANGE || rc == DHO_ENOMEM);
	fuzz_check_err(err, sizeof(err), rc);
	fuzz_check_doc_result(&r, rc);
	if (rc != DHO_OK)
		return 0;
	FUZZ_CHECK(r.n >= 1);
	for (size_t i = 0; i < r.n; i++)
		if (r.items[i].ok)
			FUZZ_CHECK(r.items[i].r.measured_at >= FUZZ_NOW - DOC_MAX_AGE &&
			           r.items[i].r.measured_at <= FUZZ_NOW + DOC_MAX_AHEAD);
	return 0;
}
