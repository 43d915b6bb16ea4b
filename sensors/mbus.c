/*
 * mbus.c: Modbus register maps, source urls, read plans and register
 * decoding (see mbus.h).
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "mbus.h"

/* float32 is read by copying its 32 bits into a float. */
_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "float must be IEEE 754 binary32");

#define MBUS_N(a) (sizeof(a) / sizeof((a)[0]))

static const double mbus_pow10[MBUS_MAX_DECIMALS + 1] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

unsigned
mbus_type_words(enum mbus_type type)
{
	switch (type) {
	case MBUS_INT16:
	case MBUS_UINT16:
		return 1;
	case MBUS_INT32:
	case MBUS_UINT32:
	case MBUS_FLOAT32:
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
mbus_decode(const uint16_t *words, size_t nwords, enum mbus_type type,
            enum mbus_order order, double scale, struct mbus_value *out)
{
	unsigned need = mbus_type_words(type);
	uint32_t u = 0;
	double raw, v;
	int dec;
	float f;

	if (need == 0 || words == NULL || nwords < need || !isfinite(scale) || scale == 0 ||
	    (order != MBUS_WORD_BE && order != MBUS_WORD_LE))
		return DHO_EINVAL;
	if (need == 2) {
		uint32_t hi = order == MBUS_WORD_BE ? words[0] : words[1];
		uint32_t lo = order == MBUS_WORD_BE ? words[1] : words[0];

		u = hi << 16 | lo;
	}
	switch (type) {
	case MBUS_INT16:
		raw = words[0] >= 0x8000 ? (double)words[0] - 65536.0 : (double)words[0];
		dec = 0;
		break;
	case MBUS_UINT16:
		raw = words[0];
		dec = 0;
		break;
	case MBUS_INT32:
		raw = u >= 0x80000000u ? (double)u - 4294967296.0 : (double)u;
		dec = 0;
		break;
	case MBUS_UINT32:
		raw = u;
		dec = 0;
		break;
	case MBUS_FLOAT32:
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
mbus_plan(const struct mbus_reg *regs, size_t nregs, struct mbus_block *blocks,
          size_t max, size_t *nblocks, size_t *block_of)
{
	size_t order[MBUS_MAX_REGS];
	size_t n = 0;

	*nblocks = 0;
	if (nregs > MBUS_MAX_REGS)
		return DHO_ERANGE;
	for (size_t i = 0; i < nregs; i++) {
		unsigned span = mbus_type_words(regs[i].type);
		size_t j = i;

		if (span == 0 || regs[i].address < 0 || regs[i].address + (int)span - 1 > 65535 ||
		    (regs[i].table != MBUS_HOLDING && regs[i].table != MBUS_INPUT))
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
		const struct mbus_reg *r = &regs[order[k]];
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

const char *
mbus_table_name(enum mbus_table table)
{
	return table == MBUS_HOLDING ? "holding" : table == MBUS_INPUT ? "input" : "?";
}

static const struct {
	const char *name;
	enum mbus_type type;
	bool wide;
} mbus_types[] = {
	{ "int16", MBUS_INT16, false },
	{ "uint16", MBUS_UINT16, false },
	{ "int32", MBUS_INT32, true },
	{ "uint32", MBUS_UINT32, true },
	{ "float32", MBUS_FLOAT32, true },
};

/* ADDRESS:TABLE:TYPE[_be|_le]:SCALE, each part checked on its own so the
 * message says which one is wrong. */
int
mbus_parse_reg(const char *v, struct mbus_reg *r, char *why, size_t len)
{
	char part[4][64], type[64];
	const char *p = v;
	const char *suffix, *digits;
	char *end;
	long addr;
	bool wide = false, found = false, hex;

	if (len > 0)
		why[0] = '\0';
	for (int i = 0; i < 4; i++) {
		const char *colon = strchr(p, ':');
		const char *e = colon ? colon : p + strlen(p);

		if ((i < 3 && colon == NULL) || (i == 3 && colon != NULL))
			return dho_fail(why, len, DHO_EINVAL,
			                "expected ADDRESS:TABLE:TYPE:SCALE, e.g. "
			                "0:input:uint16:0.1");
		if (!ident_trim_copy(p, e, part[i], sizeof(part[i])))
			return dho_fail(why, len, DHO_EINVAL,
			                "expected ADDRESS:TABLE:TYPE:SCALE with no empty "
			                "part, e.g. 0:input:uint16:0.1");
		p = e + 1;
	}
	/* Decimal or 0x hex, as register maps print them; strtol(base 0) would
	 * also read a leading 0 as octal, which no register map means. */
	hex = part[0][0] == '0' && (part[0][1] == 'x' || part[0][1] == 'X');
	digits = hex ? part[0] + 2 : part[0];
	errno = 0;
	addr = strtol(digits, &end, hex ? 16 : 10);
	if (!(hex ? isxdigit((unsigned char)*digits) : isdigit((unsigned char)*digits)) ||
	    *end != '\0' || errno != 0 || addr < 0 || addr > 65535)
		return dho_fail(why, len, DHO_EINVAL,
		                "the address must be a register number from 0 to 65535 "
		                "(decimal or 0x hex)");
	if (strcmp(part[1], "holding") == 0)
		r->table = MBUS_HOLDING;
	else if (strcmp(part[1], "input") == 0)
		r->table = MBUS_INPUT;
	else
		return dho_fail(why, len, DHO_EINVAL, "the table must be holding or input");
	snprintf(type, sizeof(type), "%s", part[2]);
	r->order = MBUS_WORD_BE;
	suffix = strrchr(type, '_');
	if (suffix != NULL) {
		if (strcmp(suffix, "_be") == 0)
			r->order = MBUS_WORD_BE;
		else if (strcmp(suffix, "_le") == 0)
			r->order = MBUS_WORD_LE;
		else
			return dho_fail(why, len, DHO_EINVAL,
			                "the word order suffix must be _be or _le");
		type[suffix - type] = '\0';
	}
	for (size_t i = 0; i < MBUS_N(mbus_types); i++) {
		if (strcmp(type, mbus_types[i].name) == 0) {
			r->type = mbus_types[i].type;
			wide = mbus_types[i].wide;
			found = true;
		}
	}
	if (!found)
		return dho_fail(why, len, DHO_EINVAL,
		                "the type must be int16, uint16, int32, uint32 or float32 "
		                "(32-bit types may end in _be or _le)");
	if (suffix != NULL && !wide)
		return dho_fail(why, len, DHO_EINVAL,
		                "a word order (_be, _le) applies only to the 32-bit types, "
		                "which span two registers");
	if (wide && addr == 65535)
		return dho_fail(why, len, DHO_EINVAL,
		                "a 32-bit type needs two registers: its address can be "
		                "at most 65534");
	errno = 0;
	r->scale = strtod(part[3], &end);
	if (*end != '\0' || errno != 0 || !isfinite(r->scale) || r->scale == 0)
		return dho_fail(why, len, DHO_EINVAL,
		                "the scale must be a non-zero number (the reading is "
		                "raw * SCALE, e.g. 0.1)");
	r->address = (int)addr;
	return DHO_OK;
}

const char *
mbus_type_name(enum mbus_type type)
{
	for (size_t i = 0; i < MBUS_N(mbus_types); i++)
		if (mbus_types[i].type == type)
			return mbus_types[i].name;
	return "?";
}

/* rtu:DEVICE:BAUD:FRAME. The device path may itself contain ':' (the
 * /dev/serial/by-path names do), so BAUD and FRAME are taken from the right. */
static int
mbus_parse_rtu(const char *s, struct mbus_endpoint *out, char *why, size_t len)
{
	static const long bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600,
	                              115200, 230400, 460800, 921600 };
	const char *frame, *baud;
	char *end;
	long b;
	bool known = false;

	frame = strrchr(s, ':');
	if (frame == NULL || frame == s)
		return dho_fail(why, len, DHO_EINVAL, "expected rtu:DEVICE:BAUD:8N1");
	baud = frame - 1;
	while (baud > s && *baud != ':')
		baud--;
	if (*baud != ':' || baud == s)
		return dho_fail(why, len, DHO_EINVAL, "expected rtu:DEVICE:BAUD:8N1");
	if (s[0] != '/')
		return dho_fail(why, len, DHO_EINVAL,
		                "the serial device must be an absolute path (/dev/ttyUSB0)");
	if ((size_t)(baud - s) >= sizeof(out->device))
		return dho_fail(why, len, DHO_EINVAL, "the serial device's path is too long");
	errno = 0;
	b = strtol(baud + 1, &end, 10);
	if (end == baud + 1 || end != frame || errno != 0 || !isdigit((unsigned char)baud[1]))
		return dho_fail(why, len, DHO_EINVAL, "the baud rate must be a number (e.g. 9600)");
	for (size_t i = 0; i < MBUS_N(bauds); i++)
		known = known || bauds[i] == b;
	if (!known)
		return dho_fail(why, len, DHO_EINVAL,
		                "the baud rate must be one of 1200, 2400, 4800, 9600, "
		                "19200, 38400, 57600, 115200, 230400, 460800, 921600");
	frame++;
	if (strlen(frame) != 3 || frame[0] < '5' || frame[0] > '8' ||
	    (frame[1] != 'N' && frame[1] != 'E' && frame[1] != 'O') ||
	    (frame[2] != '1' && frame[2] != '2'))
		return dho_fail(why, len, DHO_EINVAL,
		                "the frame must be DATA PARITY STOP, e.g. 8N1 (data bits "
		                "5-8, parity N, E or O, stop bits 1 or 2)");
	memcpy(out->device, s, (size_t)(baud - s));
	out->device[baud - s] = '\0';
	out->baud = (int)b;
	out->data_bits = frame[0] - '0';
	out->parity = frame[1];
	out->stop_bits = frame[2] - '0';
	out->rtu = true;
	return DHO_OK;
}

int
mbus_parse_url(const char *url, struct mbus_endpoint *out, char *why, size_t whylen)
{
	struct mbus_endpoint ep;

	if (whylen > 0)
		why[0] = '\0';
	memset(&ep, 0, sizeof(ep));
	if (out == NULL)
		out = &ep;
	else
		memset(out, 0, sizeof(*out));
	if (strncmp(url, "tcp://", 6) == 0)
		return net_parse_hostport(url + 6, true, out->host, out->port, why, whylen);
	if (strncmp(url, "rtu:", 4) == 0)
		return mbus_parse_rtu(url + 4, out, why, whylen);
	return dho_fail(why, whylen, DHO_EINVAL, "must be tcp://HOST:PORT or rtu:DEVICE:BAUD:8N1");
}
