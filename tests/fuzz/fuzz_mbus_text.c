/*
 * fuzz_mbus_text.c: the two Modbus grammars of the configuration, a
 * source's url and a register map entry, on any text.
 */
#include "fuzz.h"
#include "mbus.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char why[DHO_ERRLEN];
	struct mbus_endpoint ep;
	struct mbus_reg r;
	int rc;

	rc = mbus_parse_url(s, &ep, why, sizeof(why));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL);
	fuzz_check_err(why, sizeof(why), rc);
	if (rc == DHO_OK && ep.rtu) {
		FUZZ_CHECK(ep.device[0] == '/');
		FUZZ_CHECK(ep.baud >= 1200 && ep.baud <= 921600);
		FUZZ_CHECK(ep.data_bits >= 5 && ep.data_bits <= 8);
		FUZZ_CHECK(ep.stop_bits == 1 || ep.stop_bits == 2);
		FUZZ_CHECK(strchr("NEO", ep.parity) != NULL && ep.parity != '\0');
	} else if (rc == DHO_OK) {
		FUZZ_CHECK(ep.host[0] != '\0');
		FUZZ_CHECK(strtol(ep.port, NULL, 10) >= 1 && strtol(ep.port, NULL, 10) <= 65535);
	}
	FUZZ_CHECK(mbus_parse_url(s, NULL, why, sizeof(why)) == rc);

	memset(&r, 0, sizeof(r));
	rc = mbus_parse_reg(s, &r, why, sizeof(why));
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL);
	fuzz_check_err(why, sizeof(why), rc);
	if (rc == DHO_OK) {
		unsigned words = mbus_type_words(r.type);

		FUZZ_CHECK(words == 1 || words == 2);
		FUZZ_CHECK(r.address >= 0 && r.address + (int)words - 1 <= 65535);
		FUZZ_CHECK(r.table == MBUS_HOLDING || r.table == MBUS_INPUT);
		FUZZ_CHECK(r.order == MBUS_WORD_BE || r.order == MBUS_WORD_LE);
		FUZZ_CHECK(isfinite(r.scale) && r.scale != 0);
	}
	free(s);
	return 0;
}
