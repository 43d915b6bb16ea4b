/*
 * fuzz_bridge.c: bridge_parse() on any payload in one bridge format,
 * chosen at build time (FUZZ_BRIDGE_FORMAT), so that each format has its
 * own corpus. A decoded value then goes the way `decode gatt` would print
 * it, through gatt_to_json().
 */
#include "bridge.h"
#define FUZZ_WITH_ZONE
#include "fuzz.h"
#include "ident.h"

#ifndef FUZZ_BRIDGE_FORMAT
#error "build with -DFUZZ_BRIDGE_FORMAT=BRIDGE_..."
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN];
	int rc;

	rc = bridge_parse(FUZZ_BRIDGE_FORMAT, (const char *)data, size, dev, sizeof(dev), &v,
	                  err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_EUNSUPP);
	fuzz_check_err(err, sizeof(err), rc);
	FUZZ_CHECK(memchr(dev, '\0', sizeof(dev)) != NULL);
	/* A device id, when there is one, is always a valid one. */
	FUZZ_CHECK(dev[0] == '\0' || ident_valid(dev));
	if (rc == DHO_OK)
		FUZZ_CHECK(dev[0] != '\0');
	fuzz_check_gatt_value(&v, rc);
	return 0;
}
