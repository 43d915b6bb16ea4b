/*
 * modbus.c: register decoding and the Modbus poller (see modbus.h).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "modbus.h"

/* float32 is read by copying its 32 bits into a float. */
_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "float must be IEEE 754 binary32");

static const double mbus_pow10[MBUS_MAX_DECIMALS + 1] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

unsigned
mbus_type_words(enum cfg_reg_type type)
{
	switch (type) {
	case CFG_REG_INT16:
	case CFG_REG_UINT16:
		return 1;
	case CFG_REG_INT32:
	case CFG_REG_UINT32:
	case CFG_REG_FLOAT32:
		return 2;
	}
	return 0;
}

/* The fewest decimals (at most 6) that write x exactly, as parsed from the
 * configuration: 0.1 gives 1, 2.5 gives 1, 10 gives 0. */
static int
mbus_scale_decimals(double x)
{
	for (int d = 0; d < MBUS_MAX_DECIMALS; d++)
		if (round(x * mbus_pow10[d]) / mbus_pow10[d] == x)
			return d;
	return MBUS_MAX_DECIMALS;
}

/* The fewest decimals (at most 6) of a decimal that reads back as f: a
 * device that stores 36.6 as a float32 means 36.6, not 36.59999847. */
static int
mbus_float_decimals(float f)
{
	for (int d = 0; d < MBUS_MAX_DECIMALS; d++)
		if ((float)(round((double)f * mbus_pow10[d]) / mbus_pow10[d]) == f)
			return d;
	return MBUS_MAX_DECIMALS;
}

int
mbus_decode(const uint16_t *words, size_t nwords, enum cfg_reg_type type,
            enum cfg_word_order order, double scale, struct mbus_value *out)
{
	unsigned need = mbus_type_words(type);
	uint32_t u = 0;
	double raw, v;
	int dec;
	float f;

	if (need == 0 || words == NULL || nwords < need || !isfinite(scale) || scale == 0 ||
	    (order != CFG_WORD_BE && order != CFG_WORD_LE))
		return DHO_EINVAL;
	if (need == 2) {
		uint32_t hi = order == CFG_WORD_BE ? words[0] : words[1];
		uint32_t lo = order == CFG_WORD_BE ? words[1] : words[0];

		u = hi << 16 | lo;
	}
	switch (type) {
	case CFG_REG_INT16:
		raw = words[0] >= 0x8000 ? (double)words[0] - 65536.0 : (double)words[0];
		dec = 0;
		break;
	case CFG_REG_UINT16:
		raw = words[0];
		dec = 0;
		break;
	case CFG_REG_INT32:
		raw = u >= 0x80000000u ? (double)u - 4294967296.0 : (double)u;
		dec = 0;
		break;
	case CFG_REG_UINT32:
		raw = u;
		dec = 0;
		break;
	case CFG_REG_FLOAT32:
		memcpy(&f, &u, sizeof(f));
		if (!isfinite(f))
			return DHO_ESPECIAL;
		raw = f;
		dec = mbus_float_decimals(f);
		break;
	default:
		return DHO_EINVAL;
	}
	dec += mbus_scale_decimals(scale);
	if (dec > MBUS_MAX_DECIMALS)
		dec = MBUS_MAX_DECIMALS;
	v = raw * scale;
	if (!isfinite(v) || !isfinite(v * mbus_pow10[dec]))
		return DHO_ERANGE;
	v = round(v * mbus_pow10[dec]) / mbus_pow10[dec];
	/* round() keeps the sign of a tiny negative value: -0.0 would print
	 * as "-0". */
	out->value = v == 0 ? 0 : v;
	out->decimals = dec;
	return DHO_OK;
}

int
mbus_plan(const struct cfg_register *regs, size_t nregs, struct mbus_block *blocks,
          size_t max, size_t *nblocks, size_t *block_of)
{
	size_t order[CFG_MODBUS_MAX_REGS];
	size_t n = 0;

	*nblocks = 0;
	if (nregs > CFG_MODBUS_MAX_REGS)
		return DHO_ERANGE;
	for (size_t i = 0; i < nregs; i++) {
		unsigned span = mbus_type_words(regs[i].type);
		size_t j = i;

		if (span == 0 || regs[i].address < 0 || regs[i].address + (int)span - 1 > 65535 ||
		    (regs[i].table != CFG_REG_HOLDING && regs[i].table != CFG_REG_INPUT))
			return DHO_EINVAL;
		/* Insertion sort by (table, address): at most 16 entries. */
		while (j > 0 && (regs[order[j - 1]].table > regs[i].table ||
		                 (regs[order[j - 1]].table == regs[i].table &&
		                  regs[order[j - 1]].address > regs[i].address))) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t k = 0; k < nregs; k++) {
		const struct cfg_register *r = &regs[order[k]];
		int end = r->address + (int)mbus_type_words(r->type);
		struct mbus_block *b = n > 0 ? &blocks[n - 1] : NULL;

		if (b != NULL && b->table == r->table && r->address <= b->address + b->count &&
		    end - b->address <= MBUS_MAX_READ) {
			if (end - b->address > b->count)
				b->count = end - b->address;
		} else {
			if (n == max)
				return DHO_ERANGE;
			b = &blocks[n++];
			b->table = r->table;
			b->address = r->address;
			b->count = end - r->address;
		}
		block_of[order[k]] = n - 1;
	}
	*nblocks = n;
	return DHO_OK;
}
