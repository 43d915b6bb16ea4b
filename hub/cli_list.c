/*
 * cli_list.c: the listings: readings, quarantine, stats and the audit log.
 * Listings of patient data are themselves audited.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "escape.h"
#include "metric.h"

static json_t *
cli_flags_json(uint32_t flags)
{
	json_t *arr = json_array();

	for (int i = 0; i < 32; i++) {
		const char *n = (flags & (1u << i)) ? metric_flag_name(1u << i) : NULL;
		if (n)
			json_array_append_new(arr, json_string(n));
	}
	return arr;
}

static int
cli_reading_row(void *ctx, const struct store_reading *r)
{
	struct cli_list *l = ctx;
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN], v[32];
	json_t *o;

	if (!l->json) {
		if (r->r.metric == METRIC_CONSCIOUSNESS)
			snprintf(v, sizeof(v), "%c", metric_acvpu_letter(r->r.value));
		else
			metric_format_value(r->r.value, r->r.decimals, v, sizeof(v));
		printf("%-20s %-14s %8s %-8s %-16s %s\n", cli_fmt_time(r->r.measured_at, t1),
		       metric_name(r->r.metric), v, metric_unit(r->r.metric), r->device,
		       cli_fmt_time(r->received_at, t2));
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "patient", json_string(r->patient));
	json_object_set_new(o, "device", json_string(r->device));
	json_object_set_new(o, "metric", json_string(metric_name(r->r.metric)));
	if (r->r.metric == METRIC_CONSCIOUSNESS) {
		snprintf(v, sizeof(v), "%c", metric_acvpu_letter(r->r.value));
		json_object_set_new(o, "value", json_string(v));
	} else {
		json_object_set_new(o, "value", metric_json_value(r->r.value, r->r.decimals));
	}
	json_object_set_new(o, "unit", json_string(metric_unit(r->r.metric)));
	json_object_set_new(o, "measured_at", cli_json_time(r->r.measured_at));
	json_object_set_new(o, "received_at", cli_json_time(r->received_at));
	json_object_set_new(o, "flags", cli_flags_json(r->r.flags));
	json_object_set_new(o, "seq", r->has_seq ? json_integer((json_int_t)r->seq) : json_null());
	json_array_append_new(l->arr, o);
	return 0;
}

static int
cmd_readings(struct cli *c, int argc, char **argv)
{
	const char *patient = NULL, *metric_s = NULL, *since_s = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--patient", true, &patient, NULL }, { "--metric", true, &metric_s, NULL },
		{ "--since", true, &since_s, NULL }, { "--json", false, NULL, &json },
		{ NULL, 0, 0, 0 } };
	struct store_patient p;
	struct cli_list l = { c, false, NULL, 0 };
	enum metric m;
	dho_time_t since = 0;
	char detail[128];
	int rc = cli_parse("readings", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("readings: --patient is required");
		return CLI_USAGE;
	}
	if (metric_s && metric_lookup(metric_s, &m) != DHO_OK) {
		cli_err("readings: --metric '%s' is not a known metric", metric_s);
		return CLI_USAGE;
	}
	if (since_s && (rc = cli_time("--since", since_s, &since)) != CLI_OK)
		return rc;
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK)
		return rc;
	snprintf(detail, sizeof(detail), "metric=%s since=%s", metric_s ? metric_s : "*",
	         since_s ? since_s : "-");
	if ((rc = cli_audit(c, "readings.list", p.id, detail)) != CLI_OK)
		return rc;
	l.json = json;
	if (json)
		l.arr = json_array();
	else
		printf("%-20s %-14s %8s %-8s %-16s %s\n", "MEASURED", "METRIC", "VALUE", "UNIT",
		       "DEVICE", "RECEIVED");
	rc = store_reading_list(c->st, p.id, metric_s ? (int)m : -1, since, cli_reading_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "readings");
	}
	if (json)
		cli_print_json(l.arr);
	return CLI_OK;
}

/* Text when the payload is printable UTF-8-ish text, else hex. */
static json_t *
cli_payload_json(const void *payload, size_t len, bool *hex)
{
	const unsigned char *b = payload;
	json_t *s;
	char *buf;

	*hex = false;
	for (size_t i = 0; i < len; i++)
		if (b[i] == 0 || (b[i] < 0x20 && b[i] != '\n' && b[i] != '\r' && b[i] != '\t'))
			*hex = true;
	if (!*hex && (s = json_stringn((const char *)b, len)) != NULL)
		return s;
	*hex = true;
	if ((buf = malloc(len * 2 + 1)) == NULL)
		return json_null();
	for (size_t i = 0; i < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	buf[len * 2] = '\0';
	s = json_string(buf);
	free(buf);
	return s;
}

static int
cli_quarantine_row(void *ctx, const struct store_quarantine *q)
{
	struct cli_list *l = ctx;
	char t[TIMEFMT_LEN], sha[2 * sizeof(q->sha256) + 1] = "";
	char topic[1024], reason[2048], payload[1024];
	bool hex, cut = q->length > (int64_t)q->len;
	json_t *o;

	for (size_t i = 0; q->has_sha256 && i < sizeof(q->sha256); i++)
		snprintf(sha + 2 * i, 3, "%02x", q->sha256[i]);
	if (!l->json) {
		/* Everything here came from outside: one escaped line each. */
		printf("%s  %s\n  reason:  %s\n  payload: %s", cli_fmt_time(q->at, t),
		       escape_str(q->topic, topic, sizeof(topic)),
		       escape_str(q->reason, reason, sizeof(reason)),
		       escape_text(q->payload, q->len < 300 ? q->len : 300, payload, sizeof(payload)));
		if (cut || q->len > 300)
			printf(" ... (%" PRId64 " bytes%s%s)", q->length, sha[0] ? ", sha256 " : "", sha);
		putchar('\n');
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "at", cli_json_time(q->at));
	json_object_set_new(o, "topic", json_string(q->topic));
	json_object_set_new(o, "reason", json_string(q->reason));
	json_object_set_new(o, "payload", cli_payload_json(q->payload, q->len, &hex));
	json_object_set_new(o, "encoding", json_string(hex ? "hex" : "text"));
	json_object_set_new(o, "length", json_integer(q->length));
	json_object_set_new(o, "truncated", json_boolean(cut));
	if (sha[0] != '\0')
		json_object_set_new(o, "sha256", json_string(sha));
	json_array_append_new(l->arr, o);
	return 0;
}

static int
cmd_quarantine(struct cli *c, int argc, char **argv)
{
	const char *since_s = NULL, *limit_s = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--since", true, &since_s, NULL }, { "--limit", true, &limit_s, NULL },
		{ "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct cli_list l = { c, false, NULL, 0 };
	dho_time_t since = 0;
	long long limit = 0;
	char *end = NULL;
	int rc = cli_parse("quarantine", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK || (since_s && (rc = cli_time("--since", since_s, &since)) != CLI_OK))
		return rc;
	if (limit_s != NULL) {
		errno = 0;
		limit = strtoll(limit_s, &end, 10);
		if (*limit_s == '\0' || *end != '\0' || errno != 0 || limit < 1) {
			cli_err("quarantine: --limit '%s' is not a positive whole number", limit_s);
			return CLI_USAGE;
		}
	}
	l.json = json;
	if (json)
		l.arr = json_array();
	rc = store_quarantine_list(c->st, since, (int64_t)limit, cli_quarantine_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "quarantine");
	}
	if (json)
		cli_print_json(l.arr);
	return CLI_OK;
}

static int
cmd_stats(struct cli *c, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct store_stats s;
	char t[TIMEFMT_LEN];
	json_t *o, *a;
	int rc = cli_parse("stats", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if ((rc = store_stats(c->st, &s)) != DHO_OK)
		return cli_store_rc(c, rc, "stats");
	if (!json) {
		printf("readings:        %" PRId64 "\nquarantined:     %" PRId64 "\n"
		       "alerts:          %" PRId64 " open, %" PRId64 " acked, %" PRId64 " resolved\n"
		       "outbox pending:  %" PRId64 "\nlast message:    %s\n"
		       "quarantine pruned: %" PRId64 " (oldest entries over [store] quarantine_max)\n"
		       "webhook failed:  %" PRId64 " (events a webhook refused for good)\n",
		       s.readings, s.quarantined, s.open, s.acked, s.resolved, s.outbox_pending,
		       cli_fmt_time(s.last_message_at, t), s.quarantine_pruned, s.webhook_failed);
		return CLI_OK;
	}
	o = json_object();
	json_object_set_new(o, "readings", json_integer(s.readings));
	json_object_set_new(o, "quarantined", json_integer(s.quarantined));
	a = json_object();
	json_object_set_new(a, "open", json_integer(s.open));
	json_object_set_new(a, "acked", json_integer(s.acked));
	json_object_set_new(a, "resolved", json_integer(s.resolved));
	json_object_set_new(o, "alerts", a);
	json_object_set_new(o, "outbox_pending", json_integer(s.outbox_pending));
	json_object_set_new(o, "last_message_at", cli_json_time(s.last_message_at));
	json_object_set_new(o, "quarantine_pruned", json_integer(s.quarantine_pruned));
	json_object_set_new(o, "webhook_failed", json_integer(s.webhook_failed));
	cli_print_json(o);
	return CLI_OK;
}

static int
cli_audit_row(void *ctx, const struct store_audit *a)
{
	struct cli_list *l = ctx;
	char t[TIMEFMT_LEN];
	json_t *o;

	if (!l->json) {
		char actor[400], action[400], object[400], detail[2048];

		/* A note in detail, or a name, must not start a row of its own. */
		printf("%-20s %-16s %-16s %-16s %s\n", cli_fmt_time(a->at, t),
		       escape_str(a->actor, actor, sizeof(actor)),
		       escape_str(a->action, action, sizeof(action)),
		       escape_str(a->object, object, sizeof(object)),
		       escape_str(a->detail, detail, sizeof(detail)));
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "at", cli_json_time(a->at));
	json_object_set_new(o, "actor", json_string(a->actor));
	json_object_set_new(o, "action", json_string(a->action));
	json_object_set_new(o, "object", json_string(a->object));
	json_object_set_new(o, "detail", json_string(a->detail));
	json_array_append_new(l->arr, o);
	return 0;
}

static int
cmd_audit(struct cli *c, int argc, char **argv)
{
	const char *since_s = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--since", true, &since_s, NULL }, { "--json", false, NULL, &json },
		{ NULL, 0, 0, 0 } };
	struct cli_list l = { c, false, NULL, 0 };
	dho_time_t since = 0;
	int rc = cli_parse("audit", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK || (since_s && (rc = cli_time("--since", since_s, &since)) != CLI_OK))
		return rc;
	l.json = json;
	if (json)
		l.arr = json_array();
	else
		printf("%-20s %-16s %-16s %-16s %s\n", "AT", "ACTOR", "ACTION", "OBJECT", "DETAIL");
	rc = store_audit_list(c->st, since, cli_audit_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "audit");
	}
	if (json)
		cli_print_json(l.arr);
	return CLI_OK;
}

const struct cli_command cli_list_commands[] = {
	{ "readings", NULL, cmd_readings,
	  "readings --patient ID [--metric M] [--since TIME] [--json]",
	  "List stored readings, oldest first.", true, false },
	{ "quarantine", NULL, cmd_quarantine, "quarantine [--since TIME] [--limit N] [--json]",
	  "List messages and values the hub kept but could not accept, with reasons.", true, false },
	{ "stats", NULL, cmd_stats, "stats [--json]",
	  "Counts: readings, quarantined, alerts by state, outbox pending, last message.", true,
	  false },
	{ "audit", NULL, cmd_audit, "audit [--since TIME] [--json]",
	  "The access and action log: who listed or changed what, and when.", true, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};
