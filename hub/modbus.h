/*
 * modbus: the hub as a Modbus master (contract sections 3 and 4.5).
 *
 * Two parts. The decoder turns registers, as a read returned them, into a
 * value by TYPE, word order and SCALE; it does no I/O, so it is tested on
 * its own. The poller is one thread for all [modbus:*] sources: it reads
 * each source every interval_s over TCP or RTU with libmodbus and hands the
 * values to a sink, which in the daemon is the same ingest path as an MQTT
 * message (attribute, store, evaluate).
 *
 * The functions are named mbus_ because libmodbus owns the modbus_ prefix.
 */
#ifndef MBUS_H
#define MBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "doc.h"

/* A Modbus read returns at most 125 registers (Modbus spec 6.3, 6.4). */
#define MBUS_MAX_READ 125
/* The most decimals a decoded value carries, as for reading documents. */
#define MBUS_MAX_DECIMALS 6

struct mbus_value {
	double value;    /* raw * scale, rounded to decimals */
	int decimals;    /* what the raw value and the scale imply, at most 6 */
};

/* The number of registers a type spans: 1 for the 16-bit types, 2 for the
 * 32-bit ones, 0 for a value that is not a type. */
unsigned mbus_type_words(enum cfg_reg_type type);

/*
 * Decodes one value from the nwords registers at words (host order, as
 * libmodbus returns them; each register is big-endian on the wire, which
 * libmodbus has already undone). A 32-bit type takes two registers: with
 * CFG_WORD_BE the first holds the high half (ABCD), with CFG_WORD_LE the
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
int mbus_decode(const uint16_t *words, size_t nwords, enum cfg_reg_type type,
                enum cfg_word_order order, double scale, struct mbus_value *out);

/* One read request: count registers of table from address. */
struct mbus_block {
	enum cfg_reg_table table;
	int address;
	int count;
};

/*
 * Groups the registers of a source into as few reads as possible without
 * ever reading an address the map does not name: registers of one table
 * whose spans touch or overlap share a read, up to MBUS_MAX_READ
 * registers. blocks has room for max entries (nregs is always enough);
 * block_of[i] (nregs entries) receives the block of regs[i]. DHO_EINVAL
 * for a register outside 0-65535 or an unknown type, DHO_ERANGE when max
 * is too small.
 */
int mbus_plan(const struct cfg_register *regs, size_t nregs, struct mbus_block *blocks,
              size_t max, size_t *nblocks, size_t *block_of);

/* Where a source is, as its url says. */
struct mbus_endpoint {
	bool rtu;
	char host[256];     /* TCP: a host name or address, IPv6 without [] */
	char port[6];       /* TCP */
	char device[256];   /* RTU: the serial device */
	int baud;           /* RTU */
	char parity;        /* RTU: 'N', 'E' or 'O' */
	int data_bits;      /* RTU: 5-8 */
	int stop_bits;      /* RTU: 1 or 2 */
};

/*
 * Splits a source url, tcp://HOST:PORT (HOST may be [IPV6]) or
 * rtu:DEVICE:BAUD:FRAME (FRAME as 8N1). BAUD and FRAME are taken from the
 * right, because a DEVICE under /dev/serial/by-path contains ':'.
 * DHO_EINVAL for anything else; the config has already explained the
 * error to the operator, so this only guards against a url it never saw.
 */
int mbus_parse_url(const char *url, struct mbus_endpoint *out);

/*
 * The poller hands each poll's values to a sink, on the poller's thread:
 * the readings of one source in d (rejected ones with their reason, for
 * quarantine), topic as "modbus:NAME" for quarantine entries, raw a JSON
 * text of the registers read (the quarantine payload), now the poll's
 * time. It returns DHO_OK once the readings are committed.
 */
typedef int (*mbus_sink_fn)(void *ctx, const char *topic, const char *device,
                            const struct doc_result *d, const char *raw, dho_time_t now);

struct mbus_poller;

/*
 * Starts the poller thread for the n sources (n >= 1). The sources are
 * copied: the caller's array may go away, and a configuration reload does
 * not change what is polled. A source that cannot be reached is logged
 * once per outage and retried after interval_s, then twice that, doubling
 * up to 60 s (or interval_s if longer); the first poll that answers again
 * is logged once and the normal interval resumes.
 * DHO_ENOMEM, or DHO_EIO when the thread cannot be started.
 */
int mbus_poller_start(const struct cfg_modbus *sources, size_t n, mbus_sink_fn sink,
                      void *ctx, struct mbus_poller **out);

/* Stops the thread (a poll under way finishes first, which takes at most
 * about a second per source), closes the connections and frees p. NULL is
 * a no-op. */
void mbus_poller_stop(struct mbus_poller *p);

#endif
