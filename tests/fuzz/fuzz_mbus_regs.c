/*
 * fuzz_mbus_regs.c: the Modbus register decoder and read planner on any
 * bytes. The first byte chooses the type and word order, the second the
 * scale; the rest is decoded as the registers a read returned, and also
 * read as a register map (4 bytes an entry: table, address, type) for
 * mbus_plan(), whose blocks must cover every register and nothing more
 * than a read may hold.
 */
#include "fuzz.h"
#include "mbus.h"

static const double fuzz_scales[] = { 1, 0.1, 0.01, 0.001, 2.5, 10, -1, 1e-300, 1e300,
                                      0, NAN, INFINITY };

#define FUZZ_NSCALES (sizeof(fuzz_scales) / sizeof(fuzz_scales[0]))

static void
fuzz_decode(const uint8_t *data, size_t size)
{
	uint16_t words[MBUS_MAX_READ];
	size_t n = 0;
	struct mbus_value v = { -99, -99 };
	enum mbus_type type;
	enum mbus_order order;
	double scale;
	int rc;

	if (size < 2)
		return;
	type = (enum mbus_type)(data[0] % 6);          /* 5: not a type */
	order = (enum mbus_order)((data[0] >> 3) % 3); /* 2: not an order */
	scale = fuzz_scales[data[1] % FUZZ_NSCALES];
	for (size_t i = 2; i + 1 < size && n < MBUS_MAX_READ; i += 2)
		words[n++] = (uint16_t)(data[i] << 8 | data[i + 1]);
	rc = mbus_decode(words, n, type, order, scale, &v);
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_ESPECIAL || rc == DHO_ERANGE);
	if (rc == DHO_OK) {
		FUZZ_CHECK(isfinite(v.value));
		FUZZ_CHECK(v.decimals >= 0 && v.decimals <= MBUS_MAX_DECIMALS);
		FUZZ_CHECK(!signbit(v.value) || v.value != 0);
		FUZZ_CHECK(n >= mbus_type_words(type));
	} else {
		FUZZ_CHECK(v.value == -99 && v.decimals == -99);
	}
}

static void
fuzz_plan(const uint8_t *data, size_t size)
{
	struct mbus_reg regs[MBUS_MAX_REGS + 1];
	struct mbus_block blocks[MBUS_MAX_REGS + 1];
	size_t block_of[MBUS_MAX_REGS + 1], nregs = 0, nblocks = 0, max;
	int rc;

	if (size < 1)
		return;
	max = (size_t)(data[0] % (MBUS_MAX_REGS + 2));
	for (size_t i = 1; i + 3 < size && nregs < MBUS_MAX_REGS + 1; i += 4) {
		struct mbus_reg *r = &regs[nregs++];

		memset(r, 0, sizeof(*r));
		r->table = (enum mbus_table)(data[i] % 3);     /* 2: not a table */
		r->address = data[i + 1] << 8 | data[i + 2];
		if (data[i] & 0x80)
			r->address = -r->address;
		r->type = (enum mbus_type)(data[i + 3] % 6);
		r->scale = 1;
	}
	rc = mbus_plan(regs, nregs, blocks, max, &nblocks, block_of);
	FUZZ_CHECK(rc == DHO_OK || rc == DHO_EINVAL || rc == DHO_ERANGE);
	if (rc != DHO_OK)
		return;
	FUZZ_CHECK(nblocks <= max && nblocks <= nregs);
	for (size_t b = 0; b < nblocks; b++)
		FUZZ_CHECK(blocks[b].count >= 1 && blocks[b].count <= MBUS_MAX_READ &&
		           blocks[b].address >= 0 && blocks[b].address + blocks[b].count <= 65536);
	for (size_t i = 0; i < nregs; i++) {
		const struct mbus_block *b = &blocks[block_of[i]];

		FUZZ_CHECK(block_of[i] < nblocks);
		FUZZ_CHECK(b->table == regs[i].table);
		FUZZ_CHECK(regs[i].address >= b->address);
		FUZZ_CHECK(regs[i].address + (int)mbus_type_words(regs[i].type) <=
		           b->address + b->count);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(data, size);
	fuzz_plan(data, size);
	return 0;
}
