/*
 * cli_deploy.c: the commands of a deployment (docs/operations.md):
 * broker-acl prints the broker's access list for the current enrollment,
 * backup copies the database while the daemon runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli_int.h"

/* ---- broker-acl ---- */

/* The devices assigned now, each with its patient's tenant. */
struct acl_device {
	char device[DHO_ID_MAX + 1];
	char tenant[DHO_ID_MAX + 1];
};

struct acl_devices {
	struct cli *c;
	struct acl_device *v;
	size_t n, cap;
	int rc;
};

static int
acl_collect_device(void *ctx, const struct store_assignment *a)
{
	struct acl_devices *d = ctx;
	struct store_patient p;

	if (a->to != 0)
		return 0;
	if ((d->rc = store_patient_get(d->c->st, a->patient, &p)) != DHO_OK)
		return 1;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct acl_device *v = realloc(d->v, cap * sizeof(*v));

		if (v == NULL) {
			d->rc = DHO_ENOMEM;
			return 1;
		}
		d->v = v;
		d->cap = cap;
	}
	snprintf(d->v[d->n].device, sizeof(d->v[0].device), "%s", a->device);
	snprintf(d->v[d->n].tenant, sizeof(d->v[0].tenant), "%s", p.tenant);
	d->n++;
	return 0;
}

/* The hub's user: [broker] username, else the CN of its client
 * certificate (Mosquitto's use_identity_as_username). */
static int
acl_hub_user(const struct config *cfg, char *out, size_t len)
{
	X509 *cert = NULL;
	FILE *f;
	int n = -1;

	if (cfg->username[0] != '\0') {
		snprintf(out, len, "%s", cfg->username);
		return CLI_OK;
	}
	if (cfg->cert_file[0] == '\0') {
		cli_err("broker-acl: [broker] username is empty and there is no cert_file: the "
		        "ACL needs the user the hub logs in as");
		return CLI_USAGE;
	}
	if ((f = fopen(cfg->cert_file, "r")) != NULL) {
		cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (cert != NULL)
		n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out,
		                              (int)len);
	X509_free(cert);
	if (n <= 0) {
		cli_err("broker-acl: cannot read the common name of [broker] cert_file %s",
		        cfg->cert_file);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Adds team to the list unless it is there already or empty. */
static void
acl_add_team(const char **teams, size_t *n, size_t cap, const char *team)
{
	if (team[0] == '\0' || *n >= cap)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(teams[i], team) == 0)
			return;
	teams[(*n)++] = team;
}

static void
acl_print(const struct config *cfg, const char *hub_user, const struct acl_devices *d,
          FILE *out)
{
	const char *pre = cfg->topic_prefix;
	size_t cap = 2 * cfg->nteams + 2 * cfg->ntenant_defs, nteams = 0;
	const char **teams = calloc(cap ? cap : 1, sizeof(*teams));
	char at[TIMEFMT_LEN];

	timefmt_format(timefmt_now(), at);
	fprintf(out, "# Mosquitto acl_file for dhohub, written by `dhohub broker-acl` at %s\n"
	        "# for %zu assigned devices. Write it again after each change of enrollment\n"
	        "# or assignment and make Mosquitto reload it (SIGHUP).\n"
	        "# Users: the hub (username or its certificate's CN), each device (user =\n"
	        "# device id), each team (user = team name).\n\n", at, d->n);
	fprintf(out, "# the hub\nuser %s\n", hub_user);
	if (cfg->all_tenants) {
		fprintf(out, "topic read %s/+/dev/+/reading\ntopic read %s/+/dev/+/gatt\n", pre, pre);
	} else {
		for (size_t i = 0; i < cfg->ntenants; i++)
			fprintf(out, "topic read %s/%s/dev/+/reading\ntopic read %s/%s/dev/+/gatt\n", pre,
			        cfg->tenants[i], pre, cfg->tenants[i]);
	}
	for (size_t i = 0; i < cfg->ninputs; i++)
		fprintf(out, "topic read %s\n", cfg->inputs[i].topic);
	fprintf(out, "topic read %s/acks/#\ntopic write %s/alerts/#\n"
	        "topic readwrite %s/hub/%s/status\n", pre, pre, pre, cfg->client_id);
	fprintf(out, "\n# devices: each writes only its own topics\n");
	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "user %s\ntopic write %s/%s/dev/%s/reading\ntopic write %s/%s/dev/%s/gatt\n",
		        d->v[i].device, pre, d->v[i].tenant, d->v[i].device, pre, d->v[i].tenant,
		        d->v[i].device);
	if (teams != NULL) {
		for (size_t i = 0; i < cfg->ntenant_defs; i++) {
			acl_add_team(teams, &nteams, cap, cfg->tenant_defs[i].home_team);
			acl_add_team(teams, &nteams, cap, cfg->tenant_defs[i].hospital_team);
		}
		for (size_t i = 0; i < cfg->nteams; i++) {
			acl_add_team(teams, &nteams, cap, cfg->teams[i].name);
			acl_add_team(teams, &nteams, cap, cfg->teams[i].escalate_to);
		}
	}
	fprintf(out, "\n# teams: each reads only its own alerts and writes only its own acks\n");
	for (size_t i = 0; i < nteams; i++)
		fprintf(out, "user %s\ntopic read %s/alerts/%s\ntopic write %s/acks/%s\n", teams[i],
		        pre, teams[i], pre, teams[i]);
	free(teams);
}

static int
cmd_broker_acl(struct cli *c, int argc, char **argv)
{
	struct acl_devices d = { .c = c };
	char hub_user[256];
	int rc = cli_parse("broker-acl", argc, argv, NULL, NULL, 0, 0);

	if (rc != CLI_OK || (rc = acl_hub_user(c->cfg, hub_user, sizeof(hub_user))) != CLI_OK)
		return rc;
	rc = store_device_list(c->st, NULL, acl_collect_device, &d);
	if (rc == DHO_OK && d.rc != DHO_OK)
		rc = d.rc;
	if (rc != DHO_OK) {
		rc = cli_store_rc(c, rc, "broker-acl");
	} else if (d.n == 0) {
		/* An ACL without devices would let no device publish: a broker
		 * reloaded with it would refuse every reading. */
		cli_err("broker-acl: no device is assigned to a patient, so there is no ACL to "
		        "write (enroll patients and assign their devices first)");
		rc = CLI_FAIL;
	} else {
		acl_print(c->cfg, hub_user, &d, stdout);
		rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	}
	free(d.v);
	return rc;
}

/* ---- backup ---- */

static int
cmd_backup(struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	const char *db = c->db_override ? c->db_override : c->cfg->store_path;
	struct stat a, b;
	char err[DHO_ERRLEN + 4096];
	int rc = cli_parse("backup", argc, argv, NULL, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	/* The copy is renamed over FILE: never over the database itself. */
	if (stat(pos[0], &a) == 0 && stat(db, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		cli_err("backup: %s is the database itself; name another file", pos[0]);
		return CLI_USAGE;
	}
	if (store_backup(c->st, pos[0], err, sizeof(err)) != DHO_OK) {
		cli_err("backup: %s", err);
		return CLI_FAIL;
	}
	return cli_audit(c, "backup", pos[0], "");
}

const struct cli_command cli_deploy_commands[] = {
	{ "broker-acl", NULL, cmd_broker_acl, "broker-acl",
	  "Print a Mosquitto acl_file for the current enrollment: the hub reads the\n"
	  "devices' topics and acks and writes alerts; each assigned device writes only\n"
	  "its own topics; each team reads only its alerts and writes only its acks.\n"
	  "Exit 1 when no device is assigned.", true, false },
	{ "backup", NULL, cmd_backup, "backup FILE",
	  "Write a consistent copy of the database to FILE (mode 0600) while run runs.\n"
	  "Restore by copying it back to [store] path while the hub is stopped.", true, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};
