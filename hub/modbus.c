/*
 * modbus.c: the Modbus thread, which polls every [modbus:*] source (see
 * modbus.h); the registers' grammar and decoding are sensors/mbus.c's.
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

#include "dynbuf.h"
#include "log.h"
#include "mono.h"
#include "metric.h"
#include "modbus.h"
#include "timefmt.h"

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
	struct mbus_block blocks[MBUS_MAX_REGS];
	size_t nblocks;
	size_t block_of[MBUS_MAX_REGS];
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

/* Creates the libmodbus context of a source; nothing is opened yet. */
static modbus_t *
mbus_new_ctx(const struct cfg_modbus *c, char *why, size_t len)
{
	struct mbus_endpoint ep;
	modbus_t *mb;

	if (mbus_parse_url(c->url, &ep, why, len) != DHO_OK)
		return NULL;
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

/*
 * Reads every block of a source, decodes each register into an item of a
 * reading document and hands them to the sink. A block the device refuses
 * (an exception) leaves its registers out and is logged once until a poll
 * reads everything again; any other failure ends the poll as an outage.
 */
static void
mbus_poll(struct mbus_poller *p, struct mbus_source *s)
{
	uint16_t words[MBUS_MAX_REGS][MBUS_MAX_READ];
	bool read_ok[MBUS_MAX_REGS];
	struct doc_result *d = NULL;
	char why[DHO_ERRLEN], refused_why[DHO_ERRLEN], rawmem[MBUS_RAW_MAX];
	struct dynbuf raw;
	const char *refusal = NULL;
	int64_t started = mono_ms();
	dho_time_t now;
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

		rc = blk->table == MBUS_HOLDING
		     ? modbus_read_registers(s->mb, blk->address, blk->count, words[b])
		     : modbus_read_input_registers(s->mb, blk->address, blk->count, words[b]);
		read_ok[b] = rc == blk->count;
		if (read_ok[b])
			continue;
		if (rc >= 0 || !mbus_is_exception(errno)) {
			snprintf(why, sizeof(why), "reading %s registers %d-%d: %s",
			         mbus_table_name(blk->table), blk->address,
			         blk->address + blk->count - 1,
			         rc >= 0 ? "short answer" : modbus_strerror(errno));
			mbus_failed(s, why);
			return;
		}
		if (refusal == NULL) {
			snprintf(refused_why, sizeof(refused_why), "%s registers %d-%d: %s",
			         mbus_table_name(blk->table), blk->address,
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
	dynbuf_init_fixed(&raw, rawmem, sizeof(rawmem));
	dynbuf_addf(&raw, "{\"source\": \"%s\", \"device\": \"%s\", "
	            "\"registers\": [", s->cfg.name, s->cfg.device);
	for (size_t i = 0; i < s->cfg.nregs; i++) {
		const struct mbus_reg *r = &s->cfg.regs[i];
		size_t b = s->block_of[i];
		const uint16_t *w = words[b] + (r->address - s->blocks[b].address);
		size_t nw = (size_t)(s->blocks[b].address + s->blocks[b].count - r->address);
		struct doc_item *it;
		struct mbus_value v;

		if (!read_ok[b])
			continue;
		dynbuf_addf(&raw, "%s{\"metric\": \"%s\", \"register\": "
		            "\"%d:%s:%s%s:%g\", \"words\": [%u", d->n ? ", " : "",
		            metric_name(r->metric), r->address, mbus_table_name(r->table),
		            mbus_type_name(r->type),
		            mbus_type_words(r->type) == 2 ? (r->order == MBUS_WORD_LE ? "_le" : "_be") : "",
		            r->scale, w[0]);
		if (mbus_type_words(r->type) == 2)
			dynbuf_addf(&raw, ", %u", w[1]);
		dynbuf_addf(&raw, "]}");
		it = &d->items[d->n++];
		snprintf(it->metric, sizeof(it->metric), "%s", metric_name(r->metric));
		it->r.metric = r->metric;
		it->r.measured_at = now;
		rc = mbus_decode(w, nw, r->type, r->order, r->scale, &v);
		if (rc != DHO_OK) {
			it->code = rc;
			snprintf(it->reason, sizeof(it->reason), "modbus %s register.%s (%s %d, %s): %s",
			         s->cfg.name, metric_name(r->metric), mbus_table_name(r->table),
			         r->address, mbus_type_name(r->type),
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
	dynbuf_addf(&raw, "]}");
	rc = d->n > 0 ? p->sink(p->ctx, s->topic, s->cfg.device, d, dynbuf_str(&raw), now) : DHO_OK;
	if (rc != DHO_OK)
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
		rc = mbus_plan(s->cfg.regs, s->cfg.nregs, s->blocks, MBUS_MAX_REGS,
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
