/*
 * test_modbus.c: the Modbus register map and url grammars, the read planner
 * and the register decoder (sensors/mbus.h) against the types, word orders
 * and scales a [modbus:*] register map names, spelled as the map spells
 * them; and the poller (hub/modbus.h) with a source it cannot reach.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <modbus/modbus.h>

#include "expect.h"
#include "mbus.h"
#include "modbus.h"

/*
 * Each row is one register map entry's TYPE and SCALE as an operator writes
 * it, the registers a device returns, and what the hub must make of them.
 * The rows go through the register map's parser, the one the configuration
 * uses, so the spelling of a register map (uint16, int32_le, float32_be, ...)
 * is what is tested.
 */
static const struct {
	const char *type;     /* TYPE of ADDRESS:TABLE:TYPE:SCALE */
	const char *scale;
	uint16_t words[2];
	size_t nwords;
	int rc;
	double value;
	int decimals;
} rows[] = {
	/* 16-bit types: one register; 32-bit words after it are ignored. */
	{ "uint16", "1", { 0, 0 }, 1, DHO_OK, 0, 0 },
	{ "uint16", "1", { 77, 0 }, 1, DHO_OK, 77, 0 },
	{ "uint16", "1", { 0xFFFF, 0 }, 1, DHO_OK, 65535, 0 },
	{ "uint16", "0.1", { 950, 0 }, 1, DHO_OK, 95.0, 1 },
	{ "uint16", "0.1", { 951, 1234 }, 2, DHO_OK, 95.1, 1 },
	{ "uint16", "0.01", { 3650, 0 }, 1, DHO_OK, 36.5, 2 },
	{ "uint16", "2.5", { 3, 0 }, 1, DHO_OK, 7.5, 1 },
	{ "uint16", "10", { 7, 0 }, 1, DHO_OK, 70, 0 },
	{ "uint16", "-1", { 5, 0 }, 1, DHO_OK, -5, 0 },
	{ "uint16", "0.001", { 6964, 0 }, 1, DHO_OK, 6.964, 3 },
	{ "int16", "1", { 0x7FFF, 0 }, 1, DHO_OK, 32767, 0 },
	{ "int16", "1", { 0x8000, 0 }, 1, DHO_OK, -32768, 0 },
	{ "int16", "1", { 0xFFFF, 0 }, 1, DHO_OK, -1, 0 },
	{ "int16", "0.1", { 0xFE0C, 0 }, 1, DHO_OK, -50.0, 1 },
	{ "int16", "0.1", { 366, 0 }, 1, DHO_OK, 36.6, 1 },
	/* 32-bit integers: _be (the default) is high word first, _le low word first. */
	{ "uint32", "1", { 0x0001, 0x0002 }, 2, DHO_OK, 65538, 0 },
	{ "uint32_be", "1", { 0x0001, 0x0002 }, 2, DHO_OK, 65538, 0 },
	{ "uint32_le", "1", { 0x0002, 0x0001 }, 2, DHO_OK, 65538, 0 },
	{ "uint32_le", "1", { 0x0001, 0x0002 }, 2, DHO_OK, 131073, 0 },
	{ "uint32", "1", { 0xFFFF, 0xFFFF }, 2, DHO_OK, 4294967295.0, 0 },
	{ "uint32", "0.001", { 0x0001, 0x11D0 }, 2, DHO_OK, 70.096, 3 },  /* 70096 */
	{ "int32", "1", { 0xFFFF, 0xFFFE }, 2, DHO_OK, -2, 0 },
	{ "int32_le", "1", { 0xFFFE, 0xFFFF }, 2, DHO_OK, -2, 0 },
	{ "int32", "1", { 0x8000, 0x0000 }, 2, DHO_OK, -2147483648.0, 0 },
	{ "int32", "1", { 0x7FFF, 0xFFFF }, 2, DHO_OK, 2147483647.0, 0 },
	{ "int32_be", "0.01", { 0xFFFF, 0xF060 }, 2, DHO_OK, -40.0, 2 },  /* -4000 */
	/* float32: IEEE 754 binary32, decimals of the shortest decimal form. */
	{ "float32", "1", { 0x4212, 0x6666 }, 2, DHO_OK, 36.6, 1 },
	{ "float32_be", "1", { 0x4212, 0x6666 }, 2, DHO_OK, 36.6, 1 },
	{ "float32_le", "1", { 0x6666, 0x4212 }, 2, DHO_OK, 36.6, 1 },
	{ "float32", "1", { 0x3F80, 0x0000 }, 2, DHO_OK, 1, 0 },
	{ "float32", "1", { 0xBF00, 0x0000 }, 2, DHO_OK, -0.5, 1 },
	{ "float32", "1", { 0x0000, 0x0000 }, 2, DHO_OK, 0, 0 },
	{ "float32", "1", { 0x8000, 0x0000 }, 2, DHO_OK, 0, 0 },         /* -0.0 is 0 */
	{ "float32", "0.1", { 0x446D, 0x8000 }, 2, DHO_OK, 95.0, 1 },    /* 950.0 */
	{ "float32", "1", { 0x0000, 0x0001 }, 2, DHO_OK, 0, 6 },         /* denormal */
	{ "float32", "1", { 0x7FC0, 0x0000 }, 2, DHO_ESPECIAL, 0, 0 },   /* NaN */
	{ "float32", "1", { 0x7F80, 0x0000 }, 2, DHO_ESPECIAL, 0, 0 },   /* +inf */
	{ "float32_le", "1", { 0x0000, 0xFF80 }, 2, DHO_ESPECIAL, 0, 0 }, /* -inf */
	{ "float32", "1e300", { 0x7F7F, 0xFFFF }, 2, DHO_ERANGE, 0, 0 }, /* FLT_MAX * 1e300 */
	/* A 32-bit type with only one register read is never half decoded. */
	{ "uint32", "1", { 1, 0 }, 1, DHO_EINVAL, 0, 0 },
	{ "float32_le", "1", { 1, 0 }, 1, DHO_EINVAL, 0, 0 },
	{ "int16", "1", { 1, 0 }, 0, DHO_EINVAL, 0, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void
test_decode_table(void **state)
{
	char map[128];

	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		struct mbus_reg reg, *r = &reg;
		struct mbus_value v = { -99, -99 };
		char why[DHO_ERRLEN];
		int rc;

		snprintf(map, sizeof(map), "0:input:%s:%s", rows[i].type, rows[i].scale);
		if (mbus_parse_reg(map, r, why, sizeof(why)) != DHO_OK)
			fail_msg("case \"%s\": %s", map, why);
		rc = mbus_decode(rows[i].words, rows[i].nwords, r->type, r->order, r->scale, &v);
		EXPECT(map, rc == rows[i].rc);
		if (rows[i].rc == DHO_OK) {
			if (v.value != rows[i].value || v.decimals != rows[i].decimals)
				print_error("case \"%s\" %04x %04x: got %.9g (%d decimals)\n", map,
				            rows[i].words[0], rows[i].words[1], v.value, v.decimals);
			EXPECT(map, v.value == rows[i].value);
			EXPECT(map, v.decimals == rows[i].decimals);
			EXPECT(map, !signbit(v.value) || v.value != 0);
		} else {
			EXPECT(map, v.value == -99);   /* *out untouched on failure */
		}
	}
}

/*
 * The word order names follow libmodbus's readers: _be is what
 * modbus_get_float_abcd() reads, _le what modbus_get_float_cdab() reads.
 * (The writers are not used as a reference: libmodbus 3.1.6's
 * modbus_set_float_abcd() writes 36.6f as 1242 6666, with the bytes of each
 * register swapped, which its own modbus_get_float_abcd() does not read back.)
 */
static void
test_float_orders_match_libmodbus(void **state)
{
	static const float values[] = { 36.6f, -0.5f, 95.0f, 1e-3f, 123456.0f, 88.25f };
	struct mbus_value v;
	uint16_t w[2];
	uint32_t u;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		memcpy(&u, &values[i], sizeof(u));
		w[0] = (uint16_t)(u >> 16);
		w[1] = (uint16_t)u;
		assert_true(modbus_get_float_abcd(w) == values[i]);
		assert_int_equal(mbus_decode(w, 2, MBUS_FLOAT32, MBUS_WORD_BE, 1, &v), DHO_OK);
		assert_true((float)v.value == values[i]);
		w[0] = (uint16_t)u;
		w[1] = (uint16_t)(u >> 16);
		assert_true(modbus_get_float_cdab(w) == values[i]);
		assert_int_equal(mbus_decode(w, 2, MBUS_FLOAT32, MBUS_WORD_LE, 1, &v), DHO_OK);
		assert_true((float)v.value == values[i]);
	}
}

/* Arguments the register map parser never produces are still refused. */
static void
test_decode_bad_arguments(void **state)
{
	static const uint16_t w[2] = { 1, 2 };
	struct mbus_value v;

	(void)state;
	assert_int_equal(mbus_decode(NULL, 2, MBUS_UINT16, MBUS_WORD_BE, 1, &v), DHO_EINVAL);
	assert_int_equal(mbus_decode(w, 2, (enum mbus_type)99, MBUS_WORD_BE, 1, &v), DHO_EINVAL);
	assert_int_equal(mbus_decode(w, 2, MBUS_UINT32, (enum mbus_order)7, 1, &v), DHO_EINVAL);
	assert_int_equal(mbus_decode(w, 2, MBUS_UINT16, MBUS_WORD_BE, 0, &v), DHO_EINVAL);
	assert_int_equal(mbus_decode(w, 2, MBUS_UINT16, MBUS_WORD_BE, NAN, &v), DHO_EINVAL);
	assert_int_equal(mbus_decode(w, 2, MBUS_UINT16, MBUS_WORD_BE, INFINITY, &v), DHO_EINVAL);
	assert_int_equal(mbus_type_words(MBUS_INT16), 1);
	assert_int_equal(mbus_type_words(MBUS_UINT16), 1);
	assert_int_equal(mbus_type_words(MBUS_INT32), 2);
	assert_int_equal(mbus_type_words(MBUS_UINT32), 2);
	assert_int_equal(mbus_type_words(MBUS_FLOAT32), 2);
	assert_int_equal(mbus_type_words((enum mbus_type)99), 0);
}

#define REG(tbl, addr, ty) { .table = (tbl), .address = (addr), .type = (ty), .scale = 1 }

static void
test_plan(void **state)
{
	struct mbus_block b[MBUS_MAX_REGS];
	size_t nb, of[MBUS_MAX_REGS];

	(void)state;
	{
		/* An oximeter's map: spo2 at 0 and pulse at 1 are one read. */
		const struct mbus_reg r[] = { REG(MBUS_INPUT, 0, MBUS_UINT16),
		                                  REG(MBUS_INPUT, 1, MBUS_UINT16) };
		assert_int_equal(mbus_plan(r, 2, b, 16, &nb, of), DHO_OK);
		assert_int_equal(nb, 1);
		assert_int_equal(b[0].table, MBUS_INPUT);
		assert_int_equal(b[0].address, 0);
		assert_int_equal(b[0].count, 2);
		assert_int_equal(of[0], 0);
		assert_int_equal(of[1], 0);
	}
	{
		/* Out of order, a gap (never read), another table, a 32-bit
		 * value touching a 16-bit one, and two metrics of one register. */
		const struct mbus_reg r[] = {
			REG(MBUS_INPUT, 12, MBUS_FLOAT32),    /* 12-13 */
			REG(MBUS_INPUT, 10, MBUS_UINT16),     /* 10, a gap at 11 */
			REG(MBUS_HOLDING, 10, MBUS_INT16),    /* another table */
			REG(MBUS_INPUT, 14, MBUS_INT16),      /* touches 12-13 */
			REG(MBUS_INPUT, 13, MBUS_UINT16),     /* inside 12-13 */
			REG(MBUS_INPUT, 65534, MBUS_UINT32),  /* the last two */
		};
		assert_int_equal(mbus_plan(r, 6, b, 16, &nb, of), DHO_OK);
		assert_int_equal(nb, 4);
		assert_int_equal(b[0].table, MBUS_HOLDING);
		assert_int_equal(b[0].address, 10);
		assert_int_equal(b[0].count, 1);
		assert_int_equal(b[1].table, MBUS_INPUT);
		assert_int_equal(b[1].address, 10);
		assert_int_equal(b[1].count, 1);
		assert_int_equal(b[2].address, 12);
		assert_int_equal(b[2].count, 3);
		assert_int_equal(b[3].address, 65534);
		assert_int_equal(b[3].count, 2);
		assert_int_equal(of[0], 2);
		assert_int_equal(of[1], 1);
		assert_int_equal(of[2], 0);
		assert_int_equal(of[3], 2);
		assert_int_equal(of[4], 2);
		assert_int_equal(of[5], 3);
		/* Too little room for the blocks. */
		assert_int_equal(mbus_plan(r, 6, b, 3, &nb, of), DHO_ERANGE);
	}
	{
		/* Reads never cover an address the map does not name. */
		const struct mbus_reg r[] = {
			REG(MBUS_HOLDING, 0, MBUS_UINT16),
			REG(MBUS_HOLDING, 1, MBUS_UINT16),
			REG(MBUS_HOLDING, 123, MBUS_UINT32),  /* 123-124 */
			REG(MBUS_HOLDING, 125, MBUS_UINT16),
			REG(MBUS_HOLDING, 2, MBUS_INT32),     /* 2-3 */
		};
		assert_int_equal(mbus_plan(r, 5, b, 16, &nb, of), DHO_OK);
		/* 0-3 is one read, 123-125 another: 4-122 are never read. */
		assert_int_equal(nb, 2);
		assert_int_equal(b[0].address, 0);
		assert_int_equal(b[0].count, 4);
		assert_int_equal(b[1].address, 123);
		assert_int_equal(b[1].count, 3);
	}
	{
		/* The most registers a source may have. With at most 16 of at
		 * most two registers, no contiguous run reaches the 125 of one
		 * read; the limit in mbus_plan() is a guard. */
		struct mbus_reg r[MBUS_MAX_REGS];

		for (int i = 0; i < MBUS_MAX_REGS; i++)
			r[i] = (struct mbus_reg)REG(MBUS_INPUT, i * 8, MBUS_UINT32);
		/* 0-1, 8-9, ...: gaps everywhere, one read each. */
		assert_int_equal(mbus_plan(r, MBUS_MAX_REGS, b, 16, &nb, of), DHO_OK);
		assert_int_equal(nb, MBUS_MAX_REGS);
		for (int i = 0; i < MBUS_MAX_REGS; i++)
			r[i] = (struct mbus_reg)REG(MBUS_INPUT, 100 + i * 2, MBUS_UINT32);
		/* 100-131 contiguous: one read of 32. */
		assert_int_equal(mbus_plan(r, MBUS_MAX_REGS, b, 16, &nb, of), DHO_OK);
		assert_int_equal(nb, 1);
		assert_int_equal(b[0].count, 32);
	}
	{
		const struct mbus_reg bad[] = { REG(MBUS_INPUT, 65535, MBUS_UINT32) };
		const struct mbus_reg neg[] = { REG(MBUS_INPUT, -1, MBUS_UINT16) };
		const struct mbus_reg ty[] = { REG(MBUS_INPUT, 0, (enum mbus_type)99) };

		assert_int_equal(mbus_plan(bad, 1, b, 16, &nb, of), DHO_EINVAL);
		assert_int_equal(mbus_plan(neg, 1, b, 16, &nb, of), DHO_EINVAL);
		assert_int_equal(mbus_plan(ty, 1, b, 16, &nb, of), DHO_EINVAL);
		/* More registers than a source may have: refused before any is read. */
		assert_int_equal(mbus_plan(bad, MBUS_MAX_REGS + 1, b, 16, &nb, of), DHO_ERANGE);
	}
}

static void
test_parse_url(void **state)
{
	static const struct {
		const char *url;
		bool rtu;
		const char *host, *port, *device;
		int baud;
		char parity;
		int data, stop;
	} good[] = {
		{ "tcp://127.0.0.1:1502", false, "127.0.0.1", "1502", "", 0, 0, 0, 0 },
		{ "tcp://plc.local:502", false, "plc.local", "502", "", 0, 0, 0, 0 },
		{ "tcp://[::1]:502", false, "::1", "502", "", 0, 0, 0, 0 },
		{ "tcp://[fe80::1:2]:65535", false, "fe80::1:2", "65535", "", 0, 0, 0, 0 },
		{ "rtu:/dev/ttyUSB0:9600:8N1", true, "", "", "/dev/ttyUSB0", 9600, 'N', 8, 1 },
		{ "rtu:/dev/ttyS1:115200:7E2", true, "", "", "/dev/ttyS1", 115200, 'E', 7, 2 },
		{ "rtu:/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0:19200:8O1", true, "",
		  "", "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0", 19200, 'O', 8, 1 },
	};
	static const char *const bad[] = {
		"", "tcp://", "tcp://h", "tcp://h:", "tcp://:502", "tcp://h:0", "tcp://h:65536",
		"tcp://h:-1", "tcp://h:+5", "tcp://h:5x", "tcp://[::1]", "tcp://[::1]502",
		"tcp://[]:502", "udp://h:502", "rtu:", "rtu:/dev/ttyUSB0", "rtu:/dev/ttyUSB0:9600",
		"rtu::9600:8N1", "rtu:/dev/ttyUSB0::8N1", "rtu:/dev/ttyUSB0:fast:8N1",
		"rtu:/dev/ttyUSB0:9600:8N", "rtu:/dev/ttyUSB0:9600:8X1", "rtu:/dev/ttyUSB0:9600:9N1",
		"rtu:/dev/ttyUSB0:9600:8N3", "rtu:/dev/ttyUSB0:99999999:8N1",
	};
	struct mbus_endpoint ep;
	char why[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		EXPECT(good[i].url, mbus_parse_url(good[i].url, &ep, why, sizeof(why)) == DHO_OK);
		EXPECT(good[i].url, ep.rtu == good[i].rtu);
		EXPECT(good[i].url, strcmp(ep.host, good[i].host) == 0);
		EXPECT(good[i].url, strcmp(ep.port, good[i].port) == 0);
		EXPECT(good[i].url, strcmp(ep.device, good[i].device) == 0);
		EXPECT(good[i].url, ep.baud == good[i].baud);
		EXPECT(good[i].url, ep.parity == good[i].parity);
		EXPECT(good[i].url, ep.data_bits == good[i].data);
		EXPECT(good[i].url, ep.stop_bits == good[i].stop);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(bad[i], mbus_parse_url(bad[i], &ep, why, sizeof(why)) == DHO_EINVAL);
}

static int sink_calls;

static int
count_sink(void *ctx, const char *topic, const char *device, const struct doc_result *d,
           const char *raw, dho_time_t now)
{
	(void)ctx;
	(void)topic;
	(void)device;
	(void)d;
	(void)raw;
	(void)now;
	sink_calls++;
	return DHO_OK;
}

/* A source that cannot be opened: the poller keeps trying, hands nothing
 * on, and stops at once when asked. (The TCP way, with a real server, is
 * in tests/integ/test_modbus.c.) */
static void
test_poller_unreachable_source(void **state)
{
	struct cfg_modbus src;
	struct mbus_poller *p = NULL;

	(void)state;
	memset(&src, 0, sizeof(src));
	snprintf(src.name, sizeof(src.name), "gone");
	snprintf(src.url, sizeof(src.url), "rtu:/dev/dhohub-test-no-such-tty:9600:8N1");
	snprintf(src.device, sizeof(src.device), "d");
	src.unit_id = 1;
	src.interval_s = 1;
	src.nregs = 1;
	src.regs[0] = (struct mbus_reg)REG(MBUS_INPUT, 0, MBUS_UINT16);
	assert_int_equal(mbus_poller_start(&src, 0, count_sink, NULL, &p), DHO_EINVAL);
	assert_null(p);
	assert_int_equal(mbus_poller_start(&src, 1, count_sink, NULL, &p), DHO_OK);
	assert_non_null(p);
	usleep(300 * 1000);
	mbus_poller_stop(p);
	assert_int_equal(sink_calls, 0);
	mbus_poller_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_float_orders_match_libmodbus),
		cmocka_unit_test(test_decode_bad_arguments),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_parse_url),
		cmocka_unit_test(test_poller_unreachable_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
