/*
 * cli_patient.c: the commands on patients, their devices and their rules.
 * Each change runs in one transaction with its audit row (cli_transact).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "cli_int.h"
#include "metric.h"
#include "ident.h"

static int
cli_patient_add_tx(struct cli *c, void *arg)
{
	return store_patient_add(c->st, arg);
}

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
		/* One range with [tenant:*] hospital_days. */
		if (*days == '\0' || *end != '\0' || errno || v < 0 || v > CFG_HOSPITAL_DAYS_MAX) {
			cli_err("patient add: --hospital-days '%s' is not a number of days 0-%d", days,
			        CFG_HOSPITAL_DAYS_MAX);
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
	rc = cli_transact(c, cli_patient_add_tx, &p, "patient.add", p.id, p.program);
	if (rc == DHO_EEXIST) {
		cli_err("patient %s is already enrolled", p.id);
		return CLI_FAIL;
	}
	return cli_store_rc(c, rc, "patient add");
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
	f.patient = p.id;
	if (store_device_list(c->st, p.id, cli_collect_assignment, devs) != DHO_OK ||
	    engine_rules(e, &p, cli_collect_rule, rules) != DHO_OK) {
		rc = cli_store_rc(c, DHO_EIO, "patient show");
		goto out;
	}
	if ((rc = cli_alert_docs(c, &f, "patient show", &alerts)) != CLI_OK)
		goto out;
	json_object_set_new(o, "alerts", alerts);
	if ((rc = cli_audit(c, "patient.show", p.id, "")) != CLI_OK)
		goto out;
	if (json) {
		cli_print_json(o);
		o = NULL;
	} else {
		char *text = metric_json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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

/* What a change of a patient's devices or rules writes. */
struct cli_change {
	const char *patient;
	const char *device;
	const char *key;
	const char *spec;
	dho_time_t at;          /* patient end, device assign: when */
	bool at_given;          /* device assign: --from was given */
};

static int
cli_patient_end_tx(struct cli *c, void *arg)
{
	const struct cli_change *ch = arg;
	int rc = store_patient_end(c->st, ch->patient, ch->at);

	if (rc == DHO_OK)
		rc = store_device_release_all(c->st, ch->patient, ch->at);
	return rc;
}

static int
cmd_patient_end(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *at_s = NULL;
	const struct cli_opt opts[] = { { "--at", true, &at_s, NULL }, { NULL, 0, 0, 0 } };
	struct cli_change end = { 0 };
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
	end.patient = p.id;
	end.at = at;
	rc = cli_transact(c, cli_patient_end_tx, &end, "patient.end", p.id, "");
	return cli_store_rc(c, rc, "patient end");
}

static int
cli_device_assign_tx(struct cli *c, void *arg)
{
	const struct cli_change *ch = arg;
	struct store_assignment cur;
	dho_time_t from = ch->at;
	int rc = store_device_lookup(c->st, ch->device, timefmt_now(), &cur);

	/* Without --from, a device that belongs to nobody covers all its
	 * readings, and one moving from another patient starts now. */
	if (!ch->at_given && rc == DHO_OK)
		from = strcmp(cur.patient, ch->patient) == 0 ? cur.from : timefmt_now();
	if (rc == DHO_OK || rc == DHO_ENOTFOUND)
		rc = store_device_assign(c->st, ch->device, ch->patient, from);
	return rc;
}

static int
cmd_device_assign(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL, *from_s = NULL;
	const struct cli_opt opts[] = {
		{ "--patient", true, &patient, NULL }, { "--from", true, &from_s, NULL },
		{ NULL, 0, 0, 0 } };
	struct store_patient p;
	struct cli_change ch = { 0 };
	int rc = cli_parse("device assign", argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK || (rc = cli_check_id("device", pos[0])) != CLI_OK)
		return rc;
	if (patient == NULL) {
		cli_err("device assign: --patient is required");
		return CLI_USAGE;
	}
	if (from_s && (rc = cli_time("--from", from_s, &ch.at)) != CLI_OK)
		return rc;
	if ((rc = cli_get_patient(c, patient, &p)) != CLI_OK)
		return rc;
	if (p.ended_at) {
		cli_err("the follow-up of patient %s has ended", p.id);
		return CLI_FAIL;
	}
	ch.device = pos[0];
	ch.patient = p.id;
	ch.at_given = from_s != NULL;
	rc = cli_transact(c, cli_device_assign_tx, &ch, "device.assign", pos[0], p.id);
	return cli_store_rc(c, rc, "device assign");
}

static int
cli_device_unassign_tx(struct cli *c, void *arg)
{
	return store_device_unassign(c->st, arg, timefmt_now());
}

static int
cmd_device_unassign(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	int rc = cli_parse("device unassign", argc, argv, NULL, pos, 1, 1);
	char what[128];

	if (rc != CLI_OK || (rc = cli_check_id("device", pos[0])) != CLI_OK)
		return rc;
	rc = cli_transact(c, cli_device_unassign_tx, (void *)pos[0], "device.unassign", pos[0], "");
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

static int
cli_rule_set_tx(struct cli *c, void *arg)
{
	const struct cli_change *ch = arg;

	return store_rule_set(c->st, ch->patient, ch->key, ch->spec);
}

static int
cli_rule_unset_tx(struct cli *c, void *arg)
{
	const struct cli_change *ch = arg;

	return store_rule_unset(c->st, ch->patient, ch->key);
}

static int
cmd_rule_set(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL;
	const struct cli_opt opts[] = { { "--patient", true, &patient, NULL }, { NULL, 0, 0, 0 } };
	struct cli_change ch = { 0 };
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
	ch.patient = p.id;
	ch.key = key;
	ch.spec = spec;
	rc = cli_transact(c, cli_rule_set_tx, &ch, "rule.set", p.id, pos[0]);
	return cli_store_rc(c, rc, "rule set");
}

static int
cmd_rule_unset(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *patient = NULL;
	const struct cli_opt opts[] = { { "--patient", true, &patient, NULL }, { NULL, 0, 0, 0 } };
	struct cli_change ch = { 0 };
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
	ch.patient = p.id;
	ch.key = pos[0];
	rc = cli_transact(c, cli_rule_unset_tx, &ch, "rule.unset", p.id, pos[0]);
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

const struct cli_command cli_patient_commands[] = {
	{ "patient", "add", cmd_patient_add,
	  "patient add ID --tenant T --program P --discharged DATE [--hospital-days N] [--team TEAM]",
	  "Enroll a patient after discharge.", true, false },
	{ "patient", "list", cmd_patient_list, "patient list [--json]", "List enrolled patients.",
	  true, false },
	{ "patient", "show", cmd_patient_show, "patient show ID [--json]",
	  "Show a patient with devices, effective rules and open alerts.", true, false },
	{ "patient", "end", cmd_patient_end, "patient end ID [--at TIME]",
	  "End the follow-up: no more rules, devices released.", true, false },
	{ "device", "assign", cmd_device_assign, "device assign DEV --patient ID [--from TIME]",
	  "Assign a device to a patient. Without --from a device new to the hub covers\n"
	  "all its readings; a device moving from another patient starts now.", true, false },
	{ "device", "unassign", cmd_device_unassign, "device unassign DEV",
	  "Release a device from its patient now.", true, false },
	{ "device", "list", cmd_device_list, "device list [--json]", "List device assignments.",
	  true, false },
	{ "rule", "set", cmd_rule_set, "rule set --patient ID 'KEY = SPEC'",
	  "Set a per-patient rule; it replaces the program's rule of the same key.", true, false },
	{ "rule", "unset", cmd_rule_unset, "rule unset --patient ID KEY",
	  "Remove a per-patient rule.", true, false },
	{ "rule", "list", cmd_rule_list, "rule list --patient ID [--json]",
	  "List a patient's effective rules with their origin (program or patient).", true, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};
