/*
 * modbus.c: register decoding and the Modbus poller (see modbus.h).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* <modbus/modbus.h>, not <modbus.h>: hub/modbus.h is this module's own. */
#include <modbus/modbus.h>

#include "log.h"
#include "mono.h"
#include "metric.h"
#include "modbus.h"
#include "timefmt.h"

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

/* ---- the poller ---- */

/* How long one request may take; libmodbus also bounds a TCP connect by it. */
#define MBUS_TIMEOUT_MS 1000
/* The longest wait between attempts at a source that does not answer,
 * unless its own interval is longer. */
#define MBUS_BACKOFF_CAP_S 60
/* The raw text of one poll (the quarantine payload): 16 registers of at
 * most about 90 bytes each. */
#define MBUS_RAW_MAX 2048

struct mbus_source {
	struct cfg_modbus cfg;
	char topic[DHO_ID_MAX + 8];            /* "modbus:NAME" */
	struct mbus_block blocks[CFG_MODBUS_MAX_REGS];
	size_t nblocks;
	size_t block_of[CFG_MODBUS_MAX_REGS];
	modbus_t *mb;                          /* NULL while not connected */
	int64_t due_ms;                        /* next poll, monotonic */
	int failures;                          /* consecutive failed polls */
	int64_t down_since;                    /* wall clock, when failures began */
	bool refused;                          /* a device exception was logged */
};

struct mbus_poller {
	struct mbus_source *src;
	size_t n;
	mbus_sink_fn sink;
	void *ctx;
	pthread_t thread;
	/* mu guards stop and is what the thread sleeps on; polls run without it. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
};

static const char *const mbus_table_names[] = { [CFG_REG_HOLDING] = "holding",
                                                [CFG_REG_INPUT] = "input" };
static const char *const mbus_type_names[] = {
	[CFG_REG_INT16] = "int16", [CFG_REG_UINT16] = "uint16", [CFG_REG_INT32] = "int32",
	[CFG_REG_UINT32] = "uint32", [CFG_REG_FLOAT32] = "float32",
};

/* Copies the span [s, e) into out (cap bytes); DHO_EINVAL when it is empty
 * or does not fit. */
static int
mbus_span(const char *s, const char *e, char *out, size_t cap)
{
	size_t n;

	if (e <= s)
		return DHO_EINVAL;
	n = (size_t)(e - s);
	if (n >= cap)
		return DHO_EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return DHO_OK;
}

int
mbus_parse_url(const char *url, struct mbus_endpoint *out)
{
	const char *p, *colon, *frame, *baud;
	char num[8], *end;
	long v;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "tcp://", 6) == 0) {
		p = url + 6;
		if (*p == '[') {
			const char *close = strchr(p, ']');

			if (close == NULL || close[1] != ':' ||
			    mbus_span(p + 1, close, out->host, sizeof(out->host)) != DHO_OK)
				return DHO_EINVAL;
			colon = close + 1;
		} else {
			colon = strrchr(p, ':');
			if (colon == NULL || mbus_span(p, colon, out->host, sizeof(out->host)) != DHO_OK)
				return DHO_EINVAL;
		}
		if (mbus_span(colon + 1, colon + 1 + strlen(colon + 1), out->port,
		              sizeof(out->port)) != DHO_OK || out->port[0] < '0' || out->port[0] > '9')
			return DHO_EINVAL;
		errno = 0;
		v = strtol(out->port, &end, 10);
		if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
			return DHO_EINVAL;
		return DHO_OK;
	}
	if (strncmp(url, "rtu:", 4) != 0)
		return DHO_EINVAL;
	p = url + 4;
	frame = strrchr(p, ':');
	if (frame == NULL || strlen(frame + 1) != 3)
		return DHO_EINVAL;
	baud = frame;
	while (baud > p && baud[-1] != ':')
		baud--;
	if (baud <= p + 1 || mbus_span(p, baud - 1, out->device, sizeof(out->device)) != DHO_OK ||
	    mbus_span(baud, frame, num, sizeof(num)) != DHO_OK || num[0] < '0' || num[0] > '9')
		return DHO_EINVAL;
	errno = 0;
	v = strtol(num, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1200 || v > 921600)
		return DHO_EINVAL;
	out->baud = (int)v;
	frame++;
	if (frame[0] < '5' || frame[0] > '8' || (frame[1] != 'N' && frame[1] != 'E' &&
	    frame[1] != 'O') || (frame[2] != '1' && frame[2] != '2'))
		return DHO_EINVAL;
	out->data_bits = frame[0] - '0';
	out->parity = frame[1];
	out->stop_bits = frame[2] - '0';
	out->rtu = true;
	return DHO_OK;
}

/* Creates the libmodbus context of a source; nothing is opened yet. */
static modbus_t *
mbus_new_ctx(const struct cfg_modbus *c, char *why, size_t len)
{
	struct mbus_endpoint ep;
	modbus_t *mb;

	if (mbus_parse_url(c->url, &ep) != DHO_OK) {
		snprintf(why, len, "cannot read the url");
		return NULL;
	}
	errno = 0;
	mb = ep.rtu ? modbus_new_rtu(ep.device, ep.baud, ep.parity, ep.data_bits, ep.stop_bits)
	            : modbus_new_tcp_pi(ep.host, ep.port);
	if (mb == NULL) {
		snprintf(why, len, "cannot create a libmodbus context: %s", modbus_strerror(errno));
		return NULL;
	}
	if (modbus_set_slave(mb, c->unit_id) != 0 ||
	    modbus_set_response_timeout(mb, MBUS_TIMEOUT_MS / 1000,
	                                (MBUS_TIMEOUT_MS % 1000) * 1000) != 0) {
		snprintf(why, len, "unit id %d: %s", c->unit_id, modbus_strerror(errno));
		modbus_free(mb);
		return NULL;
	}
	return mb;
}

static void
mbus_disconnect(struct mbus_source *s)
{
	if (s->mb == NULL)
		return;
	modbus_close(s->mb);
	modbus_free(s->mb);
	s->mb = NULL;
}

/* The delay before the next attempt after the failures-th failed poll in a
 * row: interval_s, then doubling, up to the cap. */
static int64_t
mbus_backoff_ms(const struct cfg_modbus *c, int failures)
{
	int64_t cap = c->interval_s > MBUS_BACKOFF_CAP_S ? c->interval_s : MBUS_BACKOFF_CAP_S;
	int64_t d = c->interval_s;

	for (int i = 1; i < failures && d < cap; i++)
		d *= 2;
	return (d < cap ? d : cap) * 1000;
}

/* A poll that could not reach the source: logged once per outage; later
 * failures are debug lines only. */
static void
mbus_failed(struct mbus_source *s, const char *why)
{
	int64_t wait;

	mbus_disconnect(s);
	s->failures++;
	wait = mbus_backoff_ms(&s->cfg, s->failures);
	if (s->failures == 1) {
		s->down_since = timefmt_now();
		log_warnx("modbus source %s (%s) does not answer: %s; retrying with backoff "
		          "(up to every %llds) and logging again when it answers", s->cfg.name,
		          s->cfg.url, why, (long long)(mbus_backoff_ms(&s->cfg, 64) / 1000));
	} else {
		log_debug("modbus source %s: poll %d of the outage failed: %s; next in %llds",
		          s->cfg.name, s->failures, why, (long long)(wait / 1000));
	}
	s->due_ms = mono_ms() + wait;
}

/* A Modbus exception: the device answered, refusing the request. Other
 * errors mean the link cannot be trusted. */
static bool
mbus_is_exception(int err)
{
	return err > MODBUS_ENOBASE && err <= EMBXGTAR;
}

/* Appends to a bounded buffer; the text is cut, never overrun. */
static void
mbus_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
mbus_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < cap - *off ? (size_t)n : cap - *off - 1;
}

/*
 * Reads every block of a source, decodes each register into an item of a
 * reading document and hands them to the sink. A block the device refuses
 * (an exception) leaves its registers out and is logged once until a poll
 * reads everything again; any other failure ends the poll as an outage.
 */
static void
mbus_poll(struct mbus_poller *p, struct mbus_source *s)
{
	uint16_t words[CFG_MODBUS_MAX_REGS][MBUS_MAX_READ];
	bool read_ok[CFG_MODBUS_MAX_REGS];
	struct doc_result *d = NULL;
	char why[DHO_ERRLEN], refused_why[DHO_ERRLEN], raw[MBUS_RAW_MAX];
	const char *refusal = NULL;
	int64_t started = mono_ms();
	dho_time_t now;
	size_t off = 0;
	int rc;

	if (s->mb == NULL) {
		s->mb = mbus_new_ctx(&s->cfg, why, sizeof(why));
		if (s->mb == NULL) {
			mbus_failed(s, why);
			return;
		}
		if (modbus_connect(s->mb) != 0) {
			snprintf(why, sizeof(why), "cannot connect: %s", modbus_strerror(errno));
			mbus_failed(s, why);
			return;
		}
	}
	for (size_t b = 0; b < s->nblocks; b++) {
		const struct mbus_block *blk = &s->blocks[b];

		rc = blk->table == CFG_REG_HOLDING
		     ? modbus_read_registers(s->mb, blk->address, blk->count, words[b])
		     : modbus_read_input_registers(s->mb, blk->address, blk->count, words[b]);
		read_ok[b] = rc == blk->count;
		if (read_ok[b])
			continue;
		if (rc >= 0 || !mbus_is_exception(errno)) {
			snprintf(why, sizeof(why), "reading %s registers %d-%d: %s",
			         mbus_table_names[blk->table], blk->address,
			         blk->address + blk->count - 1,
			         rc >= 0 ? "short answer" : modbus_strerror(errno));
			mbus_failed(s, why);
			return;
		}
		if (refusal == NULL) {
			snprintf(refused_why, sizeof(refused_why), "%s registers %d-%d: %s",
			         mbus_table_names[blk->table], blk->address,
			         blk->address + blk->count - 1, modbus_strerror(errno));
			refusal = refused_why;
		}
	}
	now = timefmt_now();
	if (s->failures > 0) {
		log_info("modbus source %s (%s) answers again after %llds (%d failed polls)",
		         s->cfg.name, s->cfg.url, (long long)(now - s->down_since), s->failures);
		s->failures = 0;
	}
	if (refusal != NULL && !s->refused)
		log_warnx("modbus source %s: the device refuses %s; check the register map "
		          "(logged again only after a poll that reads everything)", s->cfg.name,
		          refusal);
	else if (refusal == NULL && s->refused)
		log_info("modbus source %s: every register reads again", s->cfg.name);
	s->refused = refusal != NULL;
	s->due_ms = started + (int64_t)s->cfg.interval_s * 1000;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		log_error("modbus source %s: out of memory; this poll's values are lost",
		          s->cfg.name);
		return;
	}
	d->measured_at = now;
	mbus_append(raw, sizeof(raw), &off, "{\"source\": \"%s\", \"device\": \"%s\", "
	            "\"registers\": [", s->cfg.name, s->cfg.device);
	for (size_t i = 0; i < s->cfg.nregs; i++) {
		const struct cfg_register *r = &s->cfg.regs[i];
		size_t b = s->block_of[i];
		const uint16_t *w = words[b] + (r->address - s->blocks[b].address);
		size_t nw = (size_t)(s->blocks[b].address + s->blocks[b].count - r->address);
		struct doc_item *it;
		struct mbus_value v;

		if (!read_ok[b])
			continue;
		mbus_append(raw, sizeof(raw), &off, "%s{\"metric\": \"%s\", \"register\": "
		            "\"%d:%s:%s%s:%g\", \"words\": [%u", d->n ? ", " : "",
		            metric_name(r->metric), r->address, mbus_table_names[r->table],
		            mbus_type_names[r->type],
		            mbus_type_words(r->type) == 2 ? (r->order == CFG_WORD_LE ? "_le" : "_be") : "",
		            r->scale, w[0]);
		if (mbus_type_words(r->type) == 2)
			mbus_append(raw, sizeof(raw), &off, ", %u", w[1]);
		mbus_append(raw, sizeof(raw), &off, "]}");
		it = &d->items[d->n++];
		snprintf(it->metric, sizeof(it->metric), "%s", metric_name(r->metric));
		it->r.metric = r->metric;
		it->r.measured_at = now;
		rc = mbus_decode(w, nw, r->type, r->order, r->scale, &v);
		if (rc != DHO_OK) {
			it->code = rc;
			snprintf(it->reason, sizeof(it->reason), "modbus %s register.%s (%s %d, %s): %s",
			         s->cfg.name, metric_name(r->metric), mbus_table_names[r->table],
			         r->address, mbus_type_names[r->type],
			         rc == DHO_ESPECIAL ? "the float is NaN or infinite"
			                            : "the scaled value is out of range");
			continue;
		}
		it->r.value = v.value;
		it->r.decimals = v.decimals;
		/* metric_check() names the metric, the value and the range. */
		if (metric_check(r->metric, v.value, it->reason, sizeof(it->reason)) != DHO_OK) {
			it->code = DHO_ERANGE;
			continue;
		}
		it->ok = true;
	}
	mbus_append(raw, sizeof(raw), &off, "]}");
	if (d->n > 0 && (rc = p->sink(p->ctx, s->topic, s->cfg.device, d, raw, now)) != DHO_OK)
		log_error("modbus source %s: this poll's values could not be stored: %s",
		          s->cfg.name, dho_strerror(rc));
	free(d);
}

static bool
mbus_stopping(struct mbus_poller *p)
{
	bool stop;

	pthread_mutex_lock(&p->mu);
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

/* Polls whatever is due, then sleeps until the next source is due or the
 * poller is stopped. */
static void *
mbus_main(void *arg)
{
	struct mbus_poller *p = arg;

	while (!mbus_stopping(p)) {
		int64_t now = mono_ms(), next = INT64_MAX;
		struct timespec ts;

		for (size_t i = 0; i < p->n && !mbus_stopping(p); i++) {
			if (p->src[i].due_ms <= now) {
				mbus_poll(p, &p->src[i]);
				now = mono_ms();
			}
		}
		for (size_t i = 0; i < p->n; i++)
			if (p->src[i].due_ms < next)
				next = p->src[i].due_ms;
		if (next <= now)
			continue;
		mono_deadline(next - now, &ts);
		pthread_mutex_lock(&p->mu);
		if (!p->stop)
			pthread_cond_timedwait(&p->cond, &p->mu, &ts);
		pthread_mutex_unlock(&p->mu);
	}
	for (size_t i = 0; i < p->n; i++)
		mbus_disconnect(&p->src[i]);
	return NULL;
}

int
mbus_poller_start(const struct cfg_modbus *sources, size_t n, mbus_sink_fn sink, void *ctx,
                  struct mbus_poller **out)
{
	struct mbus_poller *p = NULL;
	int64_t now = mono_ms();
	int rc = DHO_ENOMEM;

	*out = NULL;
	if (n == 0 || sink == NULL)
		return DHO_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto fail;
	p->src = calloc(n, sizeof(*p->src));
	if (p->src == NULL)
		goto fail;
	p->n = n;
	p->sink = sink;
	p->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		struct mbus_source *s = &p->src[i];

		s->cfg = sources[i];
		snprintf(s->topic, sizeof(s->topic), "modbus:%s", s->cfg.name);
		rc = mbus_plan(s->cfg.regs, s->cfg.nregs, s->blocks, CFG_MODBUS_MAX_REGS,
		               &s->nblocks, s->block_of);
		if (rc != DHO_OK)
			goto fail;
		s->due_ms = now;
	}
	rc = DHO_EIO;
	pthread_mutex_init(&p->mu, NULL);
	mono_cond_init(&p->cond);
	if (pthread_create(&p->thread, NULL, mbus_main, p) != 0) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		log_info("modbus source %s: polling %s unit %d every %ds for device %s",
		         p->src[i].cfg.name, p->src[i].cfg.url, p->src[i].cfg.unit_id,
		         p->src[i].cfg.interval_s, p->src[i].cfg.device);
	*out = p;
	return DHO_OK;
fail:
	if (p != NULL)
		free(p->src);
	free(p);
	return rc;
}

void
mbus_poller_stop(struct mbus_poller *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p->src);
	free(p);
}
