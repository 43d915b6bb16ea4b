/*
 * mbus: Modbus registers as the hub reads them (docs/operations.md, "Modbus
 * sources"): the register map's grammar, the source url's grammar, the plan
 * of reads for a map, and the decoding of the registers a read returned into
 * values. It does no I/O: the poller (hub/modbus.c) reads with libmodbus and
 * calls this module, and the configuration parses with it.
 *
 * The functions are named mbus_ because libmodbus owns the modbus_ prefix.
 */
#ifndef MBUS_H
#define MBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dho.h"
#include "metric.h"
#include "net.h"

/* A Modbus read returns at most 125 registers (Modbus spec 6.3, 6.4). */
#define MBUS_MAX_READ 125
/* The most decimals a decoded value carries, as for reading documents. */
#define MBUS_MAX_DECIMALS 6
/* The most registers one source's map names. */
#define MBUS_MAX_REGS 16

enum mbus_table { MBUS_HOLDING, MBUS_INPUT };
enum mbus_type { MBUS_INT16, MBUS_UINT16, MBUS_INT32, MBUS_UINT32, MBUS_FLOAT32 };
enum mbus_order { MBUS_WORD_BE, MBUS_WORD_LE };  /* high word first is BE, the default */

/* One entry of a register map: register.METRIC = ADDRESS:TABLE:TYPE:SCALE. */
struct mbus_reg {
	enum metric metric;
	int address;
	enum mbus_table table;
	enum mbus_type type;
	enum mbus_order order;
	double scale;
	int line;         /* where the map named it, for messages; 0 if nowhere */
};

struct mbus_value {
	double value;    /* raw * scale, rounded to decimals */
	int decimals;    /* what the raw value and the scale imply, at most 6 */
};

/* The number of registers a type spans: 1 for the 16-bit types, 2 for the
 * 32-bit ones, 0 for a value that is not a type. */
unsigned mbus_type_words(enum mbus_type type);

/* "holding", "input"; "int16", ..., "float32"; "?" for anything else. */
const char *mbus_table_name(enum mbus_table table);
const char *mbus_type_name(enum mbus_type type);

/*
 * Parses the ADDRESS:TABLE:TYPE[_be|_le]:SCALE of a register map entry into
 * r's address, table, type, order and scale (r->metric and r->line are the
 * caller's). ADDRESS is decimal or 0x hex, 0-65535 (at most 65534 for the
 * 32-bit types); the word order suffix applies only to 32-bit types; SCALE
 * is a non-zero finite number. DHO_EINVAL with a sentence in why that names
 * the part that is wrong.
 */
int mbus_parse_reg(const char *v, struct mbus_reg *r, char *why, size_t whylen);

/*
 * Decodes one value from the nwords registers at words (host order, as
 * libmodbus returns them; each register is big-endian on the wire, which
 * libmodbus has already undone). A 32-bit type takes two registers: with
 * MBUS_WORD_BE the first holds the high half (ABCD), with MBUS_WORD_LE the
 * first holds the low half (CDAB). The word order does not apply to the
 * 16-bit types. Registers after the ones the type needs are ignored.
 *
 * decimals come from the scale (0.1 gives 1) and, for float32, from the
 * shortest decimal that reads back as the same float (36.6f gives 1); the
 * value is rounded to them, so 950 * 0.1 is exactly 95.0.
 *
 * Returns DHO_OK with *out set, or:
 *   DHO_EINVAL    fewer registers than the type needs, an unknown type or
 *                 word order, a zero or non-finite scale
 *   DHO_ESPECIAL  a float32 that is NaN or infinite
 *   DHO_ERANGE    raw * scale is not a finite double
 */
int mbus_decode(const uint16_t *words, size_t nwords, enum mbus_type type,
                enum mbus_order order, double scale, struct mbus_value *out);

/* One read request: count registers of table from address. */
struct mbus_block {
	enum mbus_table table;
	int address;
	int count;
};

/*
 * Groups the registers of a source into as few reads as possible without
 * ever reading an address the map does not name: registers of one table
 * whose spans touch or overlap share a read, up to MBUS_MAX_READ
 * registers. blocks has room for max entries (nregs is always enough);
 * block_of[i] (nregs entries) receives the block of regs[i]. DHO_EINVAL
 * for a register outside 0-65535 or an unknown type or table, DHO_ERANGE
 * when max is too small or nregs is over MBUS_MAX_REGS.
 */
int mbus_plan(const struct mbus_reg *regs, size_t nregs, struct mbus_block *blocks,
              size_t max, size_t *nblocks, size_t *block_of);

/* Where a source is, as its url says. */
struct mbus_endpoint {
	bool rtu;
	char host[NET_HOST_MAX];  /* TCP: a host name or address, IPv6 without [] */
	char port[NET_PORT_MAX];  /* TCP */
	char device[256];         /* RTU: the serial device, an absolute path */
	int baud;                 /* RTU: one of the standard rates 1200-921600 */
	char parity;              /* RTU: 'N', 'E' or 'O' */
	int data_bits;            /* RTU: 5-8 */
	int stop_bits;            /* RTU: 1 or 2 */
};

/*
 * The one parser of a source url: tcp://HOST:PORT (HOST may be [IPV6]) or
 * rtu:DEVICE:BAUD:FRAME (FRAME as 8N1). BAUD and FRAME are taken from the
 * right, because a DEVICE under /dev/serial/by-path contains ':'. out may
 * be NULL to only check. DHO_EINVAL with a sentence in why for anything
 * else.
 */
int mbus_parse_url(const char *url, struct mbus_endpoint *out, char *why, size_t whylen);

#endif
