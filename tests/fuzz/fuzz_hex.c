/*
 * fuzz_hex.c: the way of `dhohub decode gatt UUID HEX`. The input is the
 * two arguments separated by the first newline; each is parsed as the CLI
 * parses it (gatt_parse_uuid(), gatt_parse_hex() into a buffer of
 * GATT_MAX_VALUE bytes), then decoded and printed with gatt_to_json().
 */
#define FUZZ_WITH_ZONE
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *uuid_text, *hex_text, err[DHO_ERRLEN];
	uint8_t *buf;
	struct gatt_value v;
	uint16_t uuid = 0;
	size_t len = 0, ulen;
	int rc, urc;

	ulen = nl != NULL ? (size_t)(nl - data) : size;
	uuid_text = fuzz_strndup(data, ulen);
	hex_text = nl != NULL ? fuzz_strndup(nl + 1, size - ulen - 1) : fuzz_strndup(data, 0);
	/* On the heap, so that a write past the cap is caught. */
	buf = malloc(GATT_MAX_VALUE);
	FUZZ_CHECK(buf != NULL);

	urc = gatt_parse_uuid(uuid_text, &uuid);
	FUZZ_CHECK(urc == DHO_OK || urc == DHO_EINVAL || urc == DHO_EUNSUPP);
	rc = gatt_parse_hex(hex_text, buf, GATT_MAX_VALUE, &len, err, sizeof(err));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL);
	fuzz_check_err(err, sizeof(err), rc);
	/* The CLI stops at the first argument it cannot parse. */
	if (urc == DHO_OK && rc == DHO_OK) {
		FUZZ_CHECK(len <= GATT_MAX_VALUE && len * 2 == strlen(hex_text));
		rc = gatt_decode(uuid, buf, len, &v, err, sizeof(err));
		FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_EUNSUPP);
		fuzz_check_err(err, sizeof(err), rc);
		fuzz_check_gatt_value(&v, rc);
	}
	free(buf);
	free(hex_text);
	free(uuid_text);
	return 0;
}
