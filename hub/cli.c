/*
 * cli.c: the command table and the commands that work on the store.
 *
 * Each command is a row of cli_commands with its usage and help; options are
 * parsed by one small table-driven parser, so every command rejects unknown
 * flags and missing values the same way (exit 2, naming the flag).
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "care.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "gatt.h"
#include "ident.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define CLI_MAX_POS 4

struct cli {
	const char *config_path;     /* NULL: built-in defaults */
	const char *db_override;
	struct config *cfg;
	struct store *st;
	char actor[DHO_ID_MAX + 1];  /* the operating-system user */
};

/* One option of a command: a flag with a value, or a boolean switch. */
struct cli_opt {
	const char *name;
	bool has_value;
	const char **value;          /* for options with a value */
	bool *flag;                  /* for switches */
};

struct cli_command {
	const char *name;
	const char *sub;             /* NULL for one-word commands */
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;
	const char *help;
	bool needs_store;
};

static void
cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dhohub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Parses argv against opts; positional arguments go to pos (at most npos,
 * exactly need of them). Returns CLI_OK or CLI_USAGE after a message that
 * names the flag.
 */
static int
cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
          const char **pos, int need, int npos)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;

		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			for (const struct cli_opt *p = opts; p && p->name; p++)
				if (strcmp(p->name, a) == 0)
					o = p;
			if (o == NULL) {
				cli_err("%s: unknown option %s", cmd, a);
				return CLI_USAGE;
			}
			if (!o->has_value) {
				*o->flag = true;
				continue;
			}
			if (i + 1 >= argc) {
				cli_err("%s: %s needs a value", cmd, a);
				return CLI_USAGE;
			}
			*o->value = argv[++i];
			continue;
		}
		if (n >= npos) {
			cli_err("%s: unexpected argument '%s'", cmd, a);
			return CLI_USAGE;
		}
		pos[n++] = a;
	}
	if (n < need) {
		cli_err("%s: missing argument (see dhohub %s --help)", cmd, cmd);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int
cli_check_id(const char *what, const char *id)
{
	if (!ident_valid(id)) {
		cli_err("%s '%s' is not a valid identifier (1-64 of A-Z a-z 0-9 . _ - :)", what, id);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int
cli_time(const char *flag, const char *s, dho_time_t *out)
{
	if (timefmt_parse(s, out) != DHO_OK) {
		cli_err("%s: '%s' is not an RFC 3339 time or YYYY-MM-DD date", flag, s);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Maps a store result to an exit code, with a message for failures. */
static int
cli_store_rc(struct cli *c, int rc, const char *what)
{
	if (rc == DHO_OK)
		return CLI_OK;
	if (rc == DHO_ENOTFOUND) {
		cli_err("%s does not exist", what);
		return CLI_NOTFOUND;
	}
	cli_err("%s: %s (%s)", what, dho_strerror(rc), store_errmsg(c->st));
	return CLI_FAIL;
}

static void
cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(doc);
}

static json_t *
cli_json_time(dho_time_t t)
{
	char buf[TIMEFMT_LEN];

	if (t == 0)
		return json_null();
	timefmt_format(t, buf);
	return json_string(buf);
}

static const char *
cli_fmt_time(dho_time_t t, char buf[TIMEFMT_LEN])
{
	if (t == 0)
		return "-";
	timefmt_format(t, buf);
	return buf;
}

static json_t *
cli_json_value(double v, int decimals)
{
	char buf[64];

	if (decimals <= 0 && v == (double)(int64_t)v)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%.*f", decimals > 0 ? decimals : 3, v);
	return json_real(strtod(buf, NULL));
}

/* Records a listing or action; the command fails if it cannot be audited,
 * since the audit log is a guarantee (contract section 7). */
static int
cli_audit(struct cli *c, const char *action, const char *object, const char *detail)
{
	struct store_audit a = { timefmt_now(), c->actor, action, object, detail };
	int rc = store_audit_add(c->st, &a);

	if (rc != DHO_OK) {
		cli_err("cannot write the audit log: %s", store_errmsg(c->st));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int
cli_get_patient(struct cli *c, const char *id, struct store_patient *p)
{
	int rc = cli_check_id("patient", id);

	if (rc != CLI_OK)
		return rc;
	rc = store_patient_get(c->st, id, p);
	if (rc == DHO_ENOTFOUND) {
		cli_err("patient %s does not exist", id);
		return CLI_NOTFOUND;
	}
	return cli_store_rc(c, rc, "patient");
}

/* ---- check-config ---- */

static int
cmd_check_config(struct cli *c, int argc, char **argv)
{
	int rc = cli_parse("check-config", argc, argv, NULL, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	printf("%s: ok\n", c->cfg->file[0] ? c->cfg->file : "built-in defaults");
	return CLI_OK;
}

/* ---- run, demo ---- */

static int
cmd_run(struct cli *c, int argc, char **argv)
{
	int rc = cli_parse("run", argc, argv, NULL, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	return daemon_run(c->config_path, c->db_override, c->cfg);
}

static int
cmd_demo(struct cli *c, int argc, char **argv)
{
	const char *duration = NULL;
	const struct cli_opt opts[] = { { "--duration", true, &duration, NULL }, { NULL, 0, 0, 0 } };
	int64_t secs = 0;
	int rc = cli_parse("demo", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if (duration && timefmt_parse_duration(duration, &secs) != DHO_OK) {
		cli_err("demo: --duration '%s' is not a duration like 20s, 15m, 2h", duration);
		return CLI_USAGE;
	}
	return demo_run(c->config_path, (int)secs);
}

/* ---- patients ---- */

static int
cmd_patient_add(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *tenant = NULL, *program = NULL, *discharged = NULL;
	const char *days = NULL, *team = NULL;
	const struct cli_opt opts[] = {
		{ "--tenant", true, &tenant, NULL }, { "--program", true, &program, NULL },
		{ "--discharged", true, &discharged, NULL }, { "--hospital-days", true, &days, NULL },
		{ "--team", true, &team, NULL }, { NULL, 0, 0, 0 } };
	struct store_patient p = { .hospital_days = -1 };
	char *end;
	int rc = cli_parse("patient add", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	if ((rc = cli_check_id("patient", pos[0])) != CLI_OK)
		return rc;
	if (tenant == NULL || program == NULL || discharged == NULL) {
		cli_err("patient add: --tenant, --program and --discharged are required");
		return CLI_USAGE;
	}
	if ((rc = cli_check_id("--tenant", tenant)) != CLI_OK ||
	    (rc = cli_check_id("--program", program)) != CLI_OK)
		return rc;
	if (c->cfg->ntenant_defs > 0 && config_tenant(c->cfg, tenant) == NULL) {
		cli_err("patient add: --tenant %s has no [tenant:%s] section in the configuration",
		        tenant, tenant);
		return CLI_USAGE;
	}
	if (config_program(c->cfg, program) == NULL) {
		cli_err("patient add: --program %s has no [program:%s] section in the configuration",
		        program, program);
		return CLI_USAGE;
	}
	if ((rc = cli_time("--discharged", discharged, &p.discharged)) != CLI_OK)
		return rc;
	if (days) {
		errno = 0;
		long v = strtol(days, &end, 10);
		if (*days == '\0' || *end != '\0' || errno || v < 0 || v > 3650) {
			cli_err("patient add: --hospital-days '%s' is not a number of days 0-3650", days);
			return CLI_USAGE;
		}
		p.hospital_days = (int)v;
	}
	if (team) {
		if (!ident_team_valid(team)) {
			cli_err("patient add: --team '%s' is not a team name KIND/NAME", team);
			return CLI_USAGE;
		}
		snprintf(p.team, sizeof(p.team), "%s", team);
	}
	snprintf(p.id, sizeof(p.id), "%s", pos[0]);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant);
	snprintf(p.program, sizeof(p.program), "%s", program);
	p.enrolled_at = timefmt_now();
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "patient add");
	rc = store_patient_add(c->st, &p);
	if (rc == DHO_EEXIST) {
		store_rollback(c->st);
		cli_err("patient %s is already enrolled", p.id);
		return CLI_FAIL;
	}
	if (rc == DHO_OK)
		rc = cli_audit(c, "patient.add", p.id, p.program) == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK) {
		store_rollback(c->st);
		return cli_store_rc(c, rc, "patient add");
	}
	return CLI_OK;
}

static json_t *
cli_patient_json(struct cli *c, const struct store_patient *p)
{
	json_t *o = json_object();
	char team[DHO_TEAM_MAX + 1];

	care_team(c->cfg, p, timefmt_now(), team, sizeof(team));
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "tenant", json_string(p->tenant));
	json_object_set_new(o, "program", json_string(p->program));
	json_object_set_new(o, "discharged", cli_json_time(p->discharged));
	json_object_set_new(o, "team", json_string(team));
	json_object_set_new(o, "team_pinned", json_boolean(p->team[0] != '\0'));
	if (p->hospital_days >= 0)
		json_object_set_new(o, "hospital_days", json_integer(p->hospital_days));
	json_object_set_new(o, "enrolled_at", cli_json_time(p->enrolled_at));
	json_object_set_new(o, "ended", cli_json_time(p->ended_at));
	return o;
}

struct cli_list {
	struct cli *c;
	bool json;
	json_t *arr;
	int count;
};

static int
cli_patient_row(void *ctx, const struct store_patient *p)
{
	struct cli_list *l = ctx;
	char team[DHO_TEAM_MAX + 1], t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	if (l->json) {
		json_array_append_new(l->arr, cli_patient_json(l->c, p));
	} else {
		care_team(l->c->cfg, p, timefmt_now(), team, sizeof(team));
		printf("%-16s %-10s %-14s %-20s %-24s %s\n", p->id, p->tenant, p->program,
		       cli_fmt_time(p->discharged, t1), team, p->ended_at ? cli_fmt_time(p->ended_at, t2) : "");
	}
	l->count++;
	return 0;
}

static int
cmd_patient_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct cli_list l = { c, false, NULL, 0 };
	int rc = cli_parse("patient list", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	l.json = json;
	l.arr = json_array();
	if (!json)
		printf("%-16s %-10s %-14s %-20s %-24s %s\n", "PATIENT", "TENANT", "PROGRAM",
		       "DISCHARGED", "TEAM", "ENDED");
	rc = store_patient_list(c->st, cli_patient_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "patient list");
	}
	if (json)
		cli_print_json(l.arr);
	else
		json_decref(l.arr);
	return CLI_OK;
}

static json_t *
cli_assignment_json(const struct store_assignment *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "device", json_string(a->device));
	json_object_set_new(o, "patient", json_string(a->patient));
	json_object_set_new(o, "from", cli_json_time(a->from));
	json_object_set_new(o, "to", cli_json_time(a->to));
	return o;
}

static int
cli_collect_assignment(void *ctx, const struct store_assignment *a)
{
	json_array_append_new(ctx, cli_assignment_json(a));
	return 0;
}

static int
cli_collect_rule(void *ctx, const char *key, const char *spec, const char *origin)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "spec", json_string(spec));
	json_object_set_new(o, "origin", json_string(origin));
	json_array_append_new(ctx, o);
	return 0;
}

static int
cli_collect_alert(void *ctx, const struct alert *a)
{
	json_array_append_new(ctx, alert_event_object(a, a->last_event, a->updated_at));
	return 0;
}

static int
cli_engine(struct cli *c, struct engine **e)
{
	char err[DHO_ERRLEN];

	if (engine_new(c->cfg, c->st, e, err, sizeof(err)) != DHO_OK) {
		cli_err("%s", err);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int
cmd_patient_show(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct store_patient p;
	struct store_alert_filter f = { NULL, NULL, -1 };
	struct engine *e = NULL;
	json_t *o = NULL, *devs, *rules, *alerts;
	int rc = cli_parse("patient show", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK || (rc = cli_get_patient(c, pos[0], &p)) != CLI_OK)
		return rc;
	if ((rc = cli_engine(c, &e)) != CLI_OK)
		return rc;
	o = cli_patient_json(c, &p);
	json_object_set_new(o, "devices", devs = json_array());
	json_object_set_new(o, "rules", rules = json_array());
	json_object_set_new(o, "alerts", alerts = json_array());
	f.patient = p.id;
	if (store_device_list(c->st, p.id, cli_collect_assignment, devs) != DHO_OK ||
	    engine_rules(e, &p, cli_collect_rule, rules) != DHO_OK ||
	    store_alert_list(c->st, &f, cli_collect_alert, alerts) != DHO_OK) {
		rc = cli_store_rc(c, DHO_EIO, "patient show");
		goto out;
	}
	if ((rc = cli_audit(c, "patient.show", p.id, "")) != CLI_OK)
		goto out;
	if (json) {
		cli_print_json(o);
		o = NULL;
	} else {
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		/* The human form is the same document, indented: every field is
		 * named, which suits a record with nested lists. */
		if (text)
			puts(text);
		free(text);
	}
out:
	json_decref(o);
	engine_free(e);
	return rc;
}

static int
cmd_patient_end(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *at_s = NULL;
	const struct cli_opt opts[] = { { "--at", true, &at_s, NULL }, { NULL, 0, 0, 0 } };
	struct store_patient p;
	dho_time_t at = timefmt_now();
	int rc = cli_parse("patient end", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK || (at_s && (rc = cli_time("--at", at_s, &at)) != CLI_OK))
		return rc;
	if ((rc = cli_get_patient(c, pos[0], &p)) != CLI_OK)
		return rc;
	if (p.ended_at) {
		cli_err("the follow-up of patient %s ended already", p.id);
		return CLI_FAIL;
	}
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "patient end");
	rc = store_patient_end(c->st, p.id, at);
	if (rc == DHO_OK)
		rc = store_device_release_all(c->st, p.id, at);
	if (rc == DHO_OK)
		rc = cli_audit(c, "patient.end", p.id, "") == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	return cli_store_rc(c, rc, "patient end");
}

/* ---- devices ---- */

static int
cmd_device_assign(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL, *from_s = NULL;
	const struct cli_opt opts[] = {
		{ "--patient", true, &patient, NULL }, { "--from", true, &from_s, NULL },
		{ NULL, 0, 0, 0 } };
	struct store_patient p;
	struct store_assignment cur;
	dho_time_t from = 0;
	int rc = cli_parse("device assign", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK || (rc = cli_check_id("device", pos[0])) != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("device assign: --patient is required");
		return CLI_USAGE;
	}
	if (from_s && (rc = cli_time("--from", from_s, &from)) != CLI_OK)
		return rc;
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK)
		return rc;
	if (p.ended_at) {
		cli_err("the follow-up of patient %s has ended", p.id);
		return CLI_FAIL;
	}
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "device assign");
	/* Without --from, a device that belongs to nobody covers all its
	 * readings, and one moving from another patient starts now. */
	rc = store_device_lookup(c->st, pos[0], timefmt_now(), &cur);
	if (from_s == NULL && rc == DHO_OK)
		from = strcmp(cur.patient, p.id) == 0 ? cur.from : timefmt_now();
	if (rc == DHO_OK || rc == DHO_ENOTFOUND)
		rc = store_device_assign(c->st, pos[0], p.id, from);
	if (rc == DHO_OK)
		rc = cli_audit(c, "device.assign", pos[0], p.id) == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	return cli_store_rc(c, rc, "device assign");
}

static int
cmd_device_unassign(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	int rc = cli_parse("device unassign", argc, argv, NULL, pos, 1, 1);
	char what[128];

	if (rc != CLI_OK || (rc = cli_check_id("device", pos[0])) != CLI_OK)
		return rc;
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "device unassign");
	rc = store_device_unassign(c->st, pos[0], timefmt_now());
	if (rc == DHO_OK)
		rc = cli_audit(c, "device.unassign", pos[0], "") == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	snprintf(what, sizeof(what), "an assignment of device %s", pos[0]);
	return cli_store_rc(c, rc, what);
}

static int
cli_device_row(void *ctx, const struct store_assignment *a)
{
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	(void)ctx;
	printf("%-20s %-16s %-20s %s\n", a->device, a->patient, cli_fmt_time(a->from, t1),
	       a->to ? cli_fmt_time(a->to, t2) : "");
	return 0;
}

static int
cmd_device_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	json_t *arr;
	int rc = cli_parse("device list", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if (!json) {
		printf("%-20s %-16s %-20s %s\n", "DEVICE", "PATIENT", "FROM", "TO");
		return cli_store_rc(c, store_device_list(c->st, NULL, cli_device_row, NULL), "device list");
	}
	arr = json_array();
	rc = store_device_list(c->st, NULL, cli_collect_assignment, arr);
	if (rc != DHO_OK) {
		json_decref(arr);
		return cli_store_rc(c, rc, "device list");
	}
	cli_print_json(arr);
	return CLI_OK;
}

/* ---- rules ---- */

static int
cmd_rule_set(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL;
	const struct cli_opt opts[] = { { "--patient", true, &patient, NULL }, { NULL, 0, 0, 0 } };
	struct store_patient p;
	char key[80], spec[256], err[DHO_ERRLEN];
	int rc = cli_parse("rule set", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("rule set: --patient is required");
		return CLI_USAGE;
	}
	if (engine_check_rule(pos[0], NULL, key, sizeof(key), spec, sizeof(spec), err,
	                      sizeof(err)) != DHO_OK) {
		cli_err("rule set: %s", err);
		return CLI_USAGE;
	}
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK)
		return rc;
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "rule set");
	rc = store_rule_set(c->st, p.id, key, spec);
	if (rc == DHO_OK)
		rc = cli_audit(c, "rule.set", p.id, pos[0]) == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	return cli_store_rc(c, rc, "rule set");
}

static int
cmd_rule_unset(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL;
	const struct cli_opt opts[] = { { "--patient", true, &patient, NULL }, { NULL, 0, 0, 0 } };
	struct store_patient p;
	char what[160];
	int rc = cli_parse("rule unset", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("rule unset: --patient is required");
		return CLI_USAGE;
	}
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK)
		return rc;
	if (store_begin(c->st) != DHO_OK)
		return cli_store_rc(c, DHO_EIO, "rule unset");
	rc = store_rule_unset(c->st, p.id, pos[0]);
	if (rc == DHO_OK)
		rc = cli_audit(c, "rule.unset", p.id, pos[0]) == CLI_OK ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	snprintf(what, sizeof(what), "a patient rule %s for %s", pos[0], p.id);
	return cli_store_rc(c, rc, what);
}

static int
cmd_rule_list(struct cli *c, int argc, char **argv)
{
	const char *patient = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--patient", true, &patient, NULL }, { "--json", false, NULL, &json },
		{ NULL, 0, 0, 0 } };
	struct store_patient p;
	struct engine *e = NULL;
	json_t *arr;
	size_t i;
	json_t *r;
	int rc = cli_parse("rule list", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("rule list: --patient is required");
		return CLI_USAGE;
	}
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK || (rc = cli_engine(c, &e)) != CLI_OK)
		return rc;
	arr = json_array();
	rc = engine_rules(e, &p, cli_collect_rule, arr);
	engine_free(e);
	if (rc != DHO_OK) {
		json_decref(arr);
		return cli_store_rc(c, rc, "rule list");
	}
	if (json) {
		cli_print_json(arr);
		return CLI_OK;
	}
	printf("%-20s %-40s %s\n", "KEY", "SPEC", "ORIGIN");
	json_array_foreach(arr, i, r)
		printf("%-20s %-40s %s\n", json_string_value(json_object_get(r, "key")),
		       json_string_value(json_object_get(r, "spec")),
		       json_string_value(json_object_get(r, "origin")));
	json_decref(arr);
	return CLI_OK;
}

/* ---- readings, quarantine, alerts, stats, audit ---- */

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
		json_object_set_new(o, "value", cli_json_value(r->r.value, r->r.decimals));
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
	char t[TIMEFMT_LEN];
	bool hex;
	json_t *o, *payload = cli_payload_json(q->payload, q->len, &hex);

	if (!l->json) {
		printf("%s  %s\n  reason:  %s\n  payload: %s%.200s\n", cli_fmt_time(q->at, t), q->topic,
		       q->reason, hex ? "(hex) " : "", json_string_value(payload));
		json_decref(payload);
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "at", cli_json_time(q->at));
	json_object_set_new(o, "topic", json_string(q->topic));
	json_object_set_new(o, "reason", json_string(q->reason));
	json_object_set_new(o, "payload", payload);
	json_object_set_new(o, "encoding", json_string(hex ? "hex" : "text"));
	json_array_append_new(l->arr, o);
	return 0;
}

static int
cmd_quarantine(struct cli *c, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct cli_list l = { c, false, NULL, 0 };
	int rc = cli_parse("quarantine", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	l.json = json;
	if (json)
		l.arr = json_array();
	rc = store_quarantine_list(c->st, 0, 0, cli_quarantine_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "quarantine");
	}
	if (json)
		cli_print_json(l.arr);
	return CLI_OK;
}

static int
cli_alert_row(void *ctx, const struct alert *a)
{
	char id[32], t[TIMEFMT_LEN];

	(void)ctx;
	alert_format_id(a->id, id, sizeof(id));
	printf("%-6s %-6s %-8s %-10s %-12s %-20s %-24s %s\n", id, alert_severity_name(a->severity),
	       alert_state_name(a->state), a->last_event, a->patient, a->rule, a->team,
	       cli_fmt_time(a->opened_at, t));
	printf("       %s\n", a->reason);
	return 0;
}

static int
cmd_alerts(struct cli *c, int argc, char **argv)
{
	const char *team = NULL, *patient = NULL, *state = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--team", true, &team, NULL }, { "--patient", true, &patient, NULL },
		{ "--state", true, &state, NULL }, { "--json", false, NULL, &json },
		{ NULL, 0, 0, 0 } };
	struct store_alert_filter f = { NULL, NULL, -1 };
	enum alert_state s;
	json_t *arr;
	char detail[256];
	int rc = cli_parse("alerts", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	if (team && !ident_team_valid(team)) {
		cli_err("alerts: --team '%s' is not a team name KIND/NAME", team);
		return CLI_USAGE;
	}
	if (patient && (rc = cli_check_id("--patient", patient)) != CLI_OK)
		return rc;
	if (state) {
		if (strcmp(state, "all") == 0) {
			f.state = -2;
		} else if (alert_parse_state(state, &s) == DHO_OK) {
			f.state = (int)s;
		} else {
			cli_err("alerts: --state must be open, acked, resolved or all, not '%s'", state);
			return CLI_USAGE;
		}
	}
	f.team = team;
	f.patient = patient;
	snprintf(detail, sizeof(detail), "team=%s patient=%s state=%s", team ? team : "*",
	         patient ? patient : "*", state ? state : "unresolved");
	if ((rc = cli_audit(c, "alerts.list", patient ? patient : "*", detail)) != CLI_OK)
		return rc;
	if (!json) {
		printf("%-6s %-6s %-8s %-10s %-12s %-20s %-24s %s\n", "ALERT", "SEV", "STATE",
		       "EVENT", "PATIENT", "RULE", "TEAM", "OPENED");
		return cli_store_rc(c, store_alert_list(c->st, &f, cli_alert_row, NULL), "alerts");
	}
	arr = json_array();
	rc = store_alert_list(c->st, &f, cli_collect_alert, arr);
	if (rc != DHO_OK) {
		json_decref(arr);
		return cli_store_rc(c, rc, "alerts");
	}
	cli_print_json(arr);
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
		       "outbox pending:  %" PRId64 "\nlast message:    %s\n",
		       s.readings, s.quarantined, s.open, s.acked, s.resolved, s.outbox_pending,
		       cli_fmt_time(s.last_message_at, t));
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
		printf("%-20s %-16s %-16s %-16s %s\n", cli_fmt_time(a->at, t), a->actor, a->action,
		       a->object, a->detail);
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

/* ---- decode gatt ---- */

static int
cmd_decode_gatt(struct cli *c, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL };
	uint8_t buf[GATT_MAX_VALUE];
	struct gatt_value v;
	char err[DHO_ERRLEN];
	char *json = NULL;
	uint16_t uuid;
	size_t n;
	int rc = cli_parse("decode gatt", argc, argv, NULL, pos, 2, 2);

	(void)c;
	if (rc != CLI_OK)
		return rc;
	if (gatt_parse_uuid(pos[0], &uuid) != DHO_OK) {
		cli_err("decode gatt: UUID '%s' is not a 16-bit Bluetooth UUID (2A35, 0x2a35) or its 128-bit base form",
		        pos[0]);
		return CLI_USAGE;
	}
	if (gatt_parse_hex(pos[1], buf, sizeof(buf), &n, err, sizeof(err)) != DHO_OK) {
		cli_err("decode gatt: HEX: %s", err);
		return CLI_USAGE;
	}
	if (gatt_decode(uuid, buf, n, &v, err, sizeof(err)) != DHO_OK) {
		cli_err("decode gatt: %s", err);
		return CLI_USAGE;
	}
	if (gatt_to_json(&v, &json) != DHO_OK) {
		cli_err("decode gatt: out of memory");
		return CLI_FAIL;
	}
	puts(json);
	free(json);
	return CLI_OK;
}

/* ---- nurse actions ---- */

static int
cli_action(struct cli *c, const char *name, int argc, char **argv, bool ack)
{
	const char *pos[1] = { NULL }, *by = NULL, *note = NULL;
	const struct cli_opt opts[] = {
		{ "--by", true, &by, NULL }, { "--note", true, &note, NULL }, { NULL, 0, 0, 0 } };
	struct engine *e = NULL;
	char detail[320];
	int64_t id;
	int rc = cli_parse(name, argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	if (alert_parse_id(pos[0], &id) != DHO_OK) {
		cli_err("%s: '%s' is not an alert id like A17", name, pos[0]);
		return CLI_USAGE;
	}
	if (by == NULL) {
		cli_err("%s: --by is required (the nurse who acts)", name);
		return CLI_USAGE;
	}
	if ((rc = cli_check_id("--by", by)) != CLI_OK)
		return rc;
	if (note && strlen(note) > 255) {
		cli_err("%s: --note is longer than 255 bytes", name);
		return CLI_USAGE;
	}
	if ((rc = cli_engine(c, &e)) != CLI_OK)
		return rc;
	if (store_begin(c->st) != DHO_OK) {
		engine_free(e);
		return cli_store_rc(c, DHO_EIO, name);
	}
	rc = ack ? engine_ack(e, id, by, note, timefmt_now())
	         : engine_resolve(e, id, by, note, timefmt_now());
	snprintf(detail, sizeof(detail), "by=%s note=%s", by, note ? note : "");
	if (rc == DHO_OK)
		rc = cli_audit(c, ack ? "alert.ack" : "alert.resolve", pos[0], detail) == CLI_OK
		     ? DHO_OK : DHO_EIO;
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	engine_free(e);
	if (rc == DHO_EINVAL) {
		cli_err("%s: alert %s is not %s", name, pos[0], ack ? "open" : "unresolved");
		return CLI_FAIL;
	}
	snprintf(detail, sizeof(detail), "alert %s", pos[0]);
	return cli_store_rc(c, rc, detail);
}

static int
cmd_ack(struct cli *c, int argc, char **argv)
{
	return cli_action(c, "ack", argc, argv, true);
}

static int
cmd_resolve(struct cli *c, int argc, char **argv)
{
	return cli_action(c, "resolve", argc, argv, false);
}

/* ---- the table ---- */

static const struct cli_command cli_commands[] = {
	{ "run", NULL, cmd_run, "run",
	  "Run the daemon: broker session, rules, alert delivery. Logs to stderr;\n"
	  "SIGTERM/SIGINT finish in-flight work and exit 0; SIGHUP reloads rules and teams.", false },
	{ "check-config", NULL, cmd_check_config, "check-config",
	  "Validate the configuration: exit 0, or 2 with FILE:LINE: message per error.", false },
	{ "demo", NULL, cmd_demo, "demo [--duration D]",
	  "Run a self-contained demo: a private Mosquitto, demo patients, simulated\n"
	  "devices and the hub, with a live alert feed. Stops after D (default: Ctrl-C).", false },
	{ "patient", "add", cmd_patient_add,
	  "patient add ID --tenant T --program P --discharged DATE [--hospital-days N] [--team TEAM]",
	  "Enroll a patient after discharge.", true },
	{ "patient", "list", cmd_patient_list, "patient list [--json]", "List enrolled patients.", true },
	{ "patient", "show", cmd_patient_show, "patient show ID [--json]",
	  "Show a patient with devices, effective rules and open alerts.", true },
	{ "patient", "end", cmd_patient_end, "patient end ID [--at TIME]",
	  "End the follow-up: no more rules, devices released.", true },
	{ "device", "assign", cmd_device_assign, "device assign DEV --patient ID [--from TIME]",
	  "Assign a device to a patient. Without --from a device new to the hub covers\n"
	  "all its readings; a device moving from another patient starts now.", true },
	{ "device", "unassign", cmd_device_unassign, "device unassign DEV",
	  "Release a device from its patient now.", true },
	{ "device", "list", cmd_device_list, "device list [--json]", "List device assignments.", true },
	{ "rule", "set", cmd_rule_set, "rule set --patient ID 'KEY = SPEC'",
	  "Set a per-patient rule; it replaces the program's rule of the same key.", true },
	{ "rule", "unset", cmd_rule_unset, "rule unset --patient ID KEY",
	  "Remove a per-patient rule.", true },
	{ "rule", "list", cmd_rule_list, "rule list --patient ID [--json]",
	  "List a patient's effective rules with their origin (program or patient).", true },
	{ "readings", NULL, cmd_readings,
	  "readings --patient ID [--metric M] [--since TIME] [--json]",
	  "List stored readings, oldest first.", true },
	{ "quarantine", NULL, cmd_quarantine, "quarantine [--json]",
	  "List messages and values the hub kept but could not accept, with reasons.", true },
	{ "alerts", NULL, cmd_alerts,
	  "alerts [--team TEAM] [--patient ID] [--state open|acked|resolved|all] [--json]",
	  "List alerts; without --state, those not yet resolved.", true },
	{ "ack", NULL, cmd_ack, "ack ALERT --by USER [--note TEXT]",
	  "Acknowledge an alert; the running daemon publishes the acked event.", true },
	{ "resolve", NULL, cmd_resolve, "resolve ALERT --by USER [--note TEXT]",
	  "Resolve an alert; the running daemon publishes the resolved event.", true },
	{ "decode", "gatt", cmd_decode_gatt, "decode gatt UUID HEX",
	  "Decode one BLE GATT characteristic value and print it as JSON.", false },
	{ "stats", NULL, cmd_stats, "stats [--json]",
	  "Counts: readings, quarantined, alerts by state, outbox pending, last message.", true },
	{ "audit", NULL, cmd_audit, "audit [--since TIME] [--json]",
	  "The access and action log: who listed or changed what, and when.", true },
	{ NULL, NULL, NULL, NULL, NULL, false },
};

static void
cli_usage(FILE *out)
{
	fputs("usage: dhohub [-c FILE] [--db PATH] COMMAND [ARGS...]\n\n"
	      "dhohub: telemetry hub for digital home follow-up after hospital discharge.\n"
	      "It is not an emergency service: patients in acute need call 113.\n\n"
	      "Global options:\n"
	      "  -c FILE      configuration file (default: $DHOHUB_CONFIG, then\n"
	      "               /etc/dhohub/dhohub.conf if it exists, else built-in defaults)\n"
	      "  --db PATH    database file, overriding [store] path\n"
	      "  --help       this text; 'dhohub COMMAND --help' for one command\n\n"
	      "Commands:\n", out);
	for (const struct cli_command *k = cli_commands; k->name; k++)
		fprintf(out, "  %s\n", k->usage);
	fputs("\nExit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,\n"
	      "3 the named patient, device, rule or alert does not exist.\n", out);
}

static bool
cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static void
cli_actor(struct cli *c)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(c->actor, sizeof(c->actor), "%s", res->pw_name);
	else
		snprintf(c->actor, sizeof(c->actor), "uid:%u", (unsigned)getuid());
}

int
cli_main(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct cli_command *cmd = NULL;
	char err[DHO_ERRLEN];
	const char *db;
	int i = 1, rc, first;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			c.config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			c.db_override = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_usage(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			puts("dhohub 0.1.0");
			return CLI_OK;
		} else {
			cli_err("unknown or incomplete option %s", argv[i]);
			cli_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		cli_usage(stderr);
		return CLI_USAGE;
	}
	for (const struct cli_command *k = cli_commands; k->name; k++) {
		if (strcmp(k->name, argv[i]) != 0)
			continue;
		if (k->sub == NULL || (i + 1 < argc && strcmp(k->sub, argv[i + 1]) == 0)) {
			cmd = k;
			break;
		}
	}
	if (cmd == NULL) {
		cli_err("unknown command '%s%s%s'", argv[i], i + 1 < argc ? " " : "",
		        i + 1 < argc ? argv[i + 1] : "");
		cli_usage(stderr);
		return CLI_USAGE;
	}
	first = i + (cmd->sub ? 2 : 1);
	if (cli_wants_help(argc - first, argv + first)) {
		printf("usage: dhohub %s\n\n%s\n", cmd->usage, cmd->help);
		return CLI_OK;
	}
	if (c.config_path == NULL)
		c.config_path = getenv("DHOHUB_CONFIG");
	if (c.config_path == NULL && access("/etc/dhohub/dhohub.conf", F_OK) == 0)
		c.config_path = "/etc/dhohub/dhohub.conf";
	/* Warnings are for check-config and the daemon's log; the other
	 * commands keep stderr for their own errors. */
	if (config_load_flags(c.config_path, engine_config_check, stderr,
	                      (cmd->fn == cmd_check_config || cmd->fn == cmd_run) ? 0 : CONFIG_NO_WARNINGS,
	                      &c.cfg) != DHO_OK)
		return CLI_USAGE;
	if (timefmt_set_zone(c.cfg->timezone) != DHO_OK) {
		cli_err("[hub] timezone '%s' is not a known time zone", c.cfg->timezone);
		config_free(c.cfg);
		return CLI_USAGE;
	}
	cli_actor(&c);
	rc = CLI_OK;
	if (cmd->needs_store) {
		db = c.db_override ? c.db_override : c.cfg->store_path;
		if (store_open(db, c.cfg->durability == CFG_DURABILITY_FULL, &c.st, err,
		               sizeof(err)) != DHO_OK) {
			cli_err("%s", err);
			rc = CLI_FAIL;
		}
	}
	if (rc == CLI_OK)
		rc = cmd->fn(&c, argc - first, argv + first);
	store_close(c.st);
	config_free(c.cfg);
	return rc;
}
