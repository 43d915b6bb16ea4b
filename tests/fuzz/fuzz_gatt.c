/*
 * fuzz_gatt.c: gatt_decode() on any bytes. The first byte chooses the
 * characteristic among those the hub decodes; the rest is the value, in a
 * buffer of exactly its length so that a read past it is caught.
 */
#define FUZZ_WITH_ZONE
#include "fuzz.h"

static const uint16_t fuzz_uuids[] = {
	GATT_BP_MEASUREMENT, GATT_INTERMEDIATE_CUFF, GATT_TEMP_MEASUREMENT,
	GATT_HR_MEASUREMENT, GATT_PLX_SPOT_CHECK, GATT_PLX_CONTINUOUS,
	GATT_WEIGHT_MEASUREMENT, GATT_BODY_COMPOSITION, GATT_GLUCOSE_MEASUREMENT,
};

#define FUZZ_NUUIDS (sizeof(fuzz_uuids) / sizeof(fuzz_uuids[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gatt_value v;
	char err[DHO_ERRLEN];
	uint16_t uuid;
	int rc;

	if (size < 1)
		return 0;
	uuid = fuzz_uuids[data[0] % FUZZ_NUUIDS];
	/* The value is data + 1 itself: libFuzzer's copy ends exactly there. */
	rc = gatt_decode(uuid, size > 1 ? data + 1 : NULL, size - 1, &v, err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL);
	FUZZ_CHECK(v.uuid == uuid);
	fuzz_check_err(err, sizeof(err), rc);
	fuzz_check_gatt_value(&v, rc);
	(void)gatt_reserved_flags(uuid, data + 1, size - 1);
	return 0;
}
