/*
 * cli_alert.c: the alerts listing and a nurse's ack and resolve, which go
 * through the one path of action.h.
 */
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "cli_int.h"
#include "escape.h"
#include "ident.h"

/* What cli_collect_alert() gathers: the documents, and the id of the alert
 * whose document could not be built (0 while none). */
struct cli_alert_docs {
	json_t *arr;
	int64_t failed;
};

/* A store_alert_cb that appends a's latest event document to the array.
 * A document that cannot be built stops the listing: a list that left the
 * alert out would tell the reader it is gone. */
static int
cli_collect_alert(void *ctx, const struct alert *a)
{
	struct cli_alert_docs *d = ctx;
	json_t *doc = alert_event_exact(a, a->last_event, a->updated_at);

	/* json_array_append_new() frees doc when it fails. */
	if (doc == NULL || json_array_append_new(d->arr, doc) != 0) {
		d->failed = a->id;
		return 1;
	}
	return 0;
}

int
cli_alert_docs(struct cli *c, const struct store_alert_filter *f, const char *what,
               json_t **out)
{
	struct cli_alert_docs d = { json_array(), 0 };
	char id[32];
	int rc;

	*out = NULL;
	if (d.arr == NULL)
		return cli_store_rc(c, DHO_ENOMEM, what);
	if ((rc = store_alert_list(c->st, f, cli_collect_alert, &d)) != DHO_OK) {
		json_decref(d.arr);
		return cli_store_rc(c, rc, what);
	}
	if (d.failed != 0) {
		json_decref(d.arr);
		alert_format_id(d.failed, id, sizeof(id));
		cli_err("%s: cannot build the event document of alert %s (out of memory, or a "
		        "stored text that is not UTF-8)", what, id);
		return CLI_FAIL;
	}
	*out = d.arr;
	return CLI_OK;
}

static int
cli_alert_row(void *ctx, const struct alert *a)
{
	char id[32], t[TIMEFMT_LEN], patient[400], rule[400], team[800], reason[2048];

	(void)ctx;
	alert_format_id(a->id, id, sizeof(id));
	printf("%-6s %-6s %-8s %-10s %-12s %-20s %-24s %s\n", id, alert_severity_name(a->severity),
	       alert_state_name(a->state), a->last_event,
	       escape_str(a->patient, patient, sizeof(patient)),
	       escape_str(a->rule, rule, sizeof(rule)), escape_str(a->team, team, sizeof(team)),
	       cli_fmt_time(a->opened_at, t));
	printf("       %s\n", escape_str(a->reason, reason, sizeof(reason)));
	if (a->by[0] != '\0' || a->note[0] != '\0') {
		char by[400], note[2048];

		printf("       by %s: %s\n", escape_str(a->by, by, sizeof(by)),
		       escape_str(a->note, note, sizeof(note)));
	}
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
	if ((rc = cli_alert_docs(c, &f, "alerts", &arr)) != CLI_OK)
		return rc;
	cli_print_json(arr);
	return CLI_OK;
}

/* A nurse's action and its engine, for cli_action_tx(). */
struct cli_act {
	struct engine *e;
	struct action act;
	char why[DHO_ERRLEN];
};

static int
cli_action_tx(struct cli *c, void *arg)
{
	struct cli_act *a = arg;

	return action_apply(c->st, a->e, &a->act, a->why, sizeof(a->why));
}

static int
cli_action(struct cli *c, int argc, char **argv, enum action_kind kind)
{
	const char *name = action_name(kind);
	const char *pos[1] = { NULL }, *by = NULL, *note = NULL;
	const struct cli_opt opts[] = {
		{ "--by", true, &by, NULL }, { "--note", true, &note, NULL }, { NULL, 0, 0, 0 } };
	struct cli_act a = { .act = { .kind = kind, .version = -1, .actor = c->actor,
	                              .channel = ACTION_CLI } };
	int rc = cli_parse(name, argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	if (alert_parse_id(pos[0], &a.act.alert_id) != DHO_OK) {
		cli_err("%s: '%s' is not an alert id like A17", name, pos[0]);
		return CLI_USAGE;
	}
	if (by == NULL) {
		cli_err("%s: --by is required (the nurse who acts)", name);
		return CLI_USAGE;
	}
	a.act.by = by;
	a.act.note = note;
	a.act.now = timefmt_now();
	if ((rc = cli_engine(c, &a.e)) != CLI_OK)
		return rc;
	/* action_apply() writes its own audit row. */
	rc = cli_transact(c, cli_action_tx, &a, NULL, NULL, NULL);
	engine_free(a.e);
	if (rc == DHO_OK)
		return CLI_OK;
	if (a.why[0] == '\0')
		return cli_store_rc(c, rc, name);
	cli_err("%s: %s", name, a.why);
	return rc == DHO_EINVAL ? CLI_USAGE : rc == DHO_ENOTFOUND ? CLI_NOTFOUND : CLI_FAIL;
}

static int
cmd_ack(struct cli *c, int argc, char **argv)
{
	return cli_action(c, argc, argv, ACTION_ACK);
}

static int
cmd_resolve(struct cli *c, int argc, char **argv)
{
	return cli_action(c, argc, argv, ACTION_RESOLVE);
}

const struct cli_command cli_alert_commands[] = {
	{ "alerts", NULL, cmd_alerts,
	  "alerts [--team TEAM] [--patient ID] [--state open|acked|resolved|all] [--json]",
	  "List alerts; without --state, those not yet resolved.", true, false },
	{ "ack", NULL, cmd_ack, "ack ALERT --by USER [--note TEXT]",
	  "Acknowledge an alert; the running daemon publishes the acked event.", true, false },
	{ "resolve", NULL, cmd_resolve, "resolve ALERT --by USER [--note TEXT]",
	  "Resolve an alert; the running daemon publishes the resolved event.", true, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};
