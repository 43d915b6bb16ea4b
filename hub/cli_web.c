/*
 * cli_web.c: `dhohub web`, the nurses' workspace (web/), and `dhohub user
 * ...`, its users (docs/workspace.md). Only argon2id hashes of passwords
 * are stored; each user change is audited with the operator as actor, and
 * a disabled user or a new password ends the user's sessions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "cli_int.h"
#include "ident.h"
#include "web.h"

static int
cmd_web(struct cli *c, int argc, char **argv)
{
	int rc = cli_parse("web", argc, argv, NULL, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	return web_run(c->cfg, c->db_override ? c->db_override : c->cfg->store_path);
}

/* Reads one line (without its end) from f into buf. */
static int
user_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, f) == NULL)
		return DHO_EIO;
	n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n')
		return DHO_ERANGE;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return DHO_OK;
}

/* The password: the first line of path; else from the terminal, asked
 * twice without echo; else (stdin not a terminal, as in scripts) the first
 * line of stdin. Checked for length and text. */
static int
user_password(const char *path, char *pw, size_t len)
{
	char again[AUTH_PASSWORD_MAX + 2], why[DHO_ERRLEN];
	struct termios old, quiet;
	FILE *f;
	int rc;

	if (path != NULL) {
		if ((f = fopen(path, "r")) == NULL) {
			cli_err("--password-file %s: %s", path, strerror(errno));
			return CLI_USAGE;
		}
		rc = user_line(f, pw, len);
		fclose(f);
	} else if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fputs("Password: ", stderr);
		rc = user_line(stdin, pw, len);
		fputs("\nAgain: ", stderr);
		if (rc == DHO_OK)
			rc = user_line(stdin, again, sizeof(again));
		fputc('\n', stderr);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		if (rc == DHO_OK && strcmp(pw, again) != 0) {
			sodium_memzero(again, sizeof(again));
			cli_err("the two passwords differ");
			return CLI_USAGE;
		}
		sodium_memzero(again, sizeof(again));
	} else {
		rc = user_line(stdin, pw, len);
	}
	if (rc != DHO_OK) {
		cli_err("cannot read the password%s", rc == DHO_ERANGE ? ": too long" : "");
		return CLI_USAGE;
	}
	if (auth_password_check(pw, why, sizeof(why)) != DHO_OK) {
		cli_err("%s", why);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Parses --team A,B into u. */
static int
user_teams(const char *list, struct store_user *u)
{
	const char *p = list;

	u->nteams = 0;
	while (p != NULL && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (u->nteams == STORE_TEAMS_MAX || n == 0 || n > DHO_TEAM_MAX) {
			cli_err("--team: at most %d teams, each KIND/NAME", STORE_TEAMS_MAX);
			return CLI_USAGE;
		}
		memcpy(u->teams[u->nteams], p, n);
		u->teams[u->nteams][n] = '\0';
		if (!ident_team_valid(u->teams[u->nteams])) {
			cli_err("--team: '%s' is not a team (KIND/NAME)", u->teams[u->nteams]);
			return CLI_USAGE;
		}
		u->nteams++;
		p = e ? e + 1 : NULL;
	}
	return CLI_OK;
}

/* The exit code of a user change that ran through cli_transact(). */
static int
user_rc(struct cli *c, int rc, const char *what, const char *name)
{
	if (rc == DHO_EEXIST) {
		cli_err("%s: user %s exists already", what, name);
		return CLI_FAIL;
	}
	if (rc == DHO_ENOTFOUND) {
		cli_err("user %s does not exist", name);
		return CLI_NOTFOUND;
	}
	return cli_store_rc(c, rc, what);
}

/* The name argument of user commands, checked. */
static int
user_name(const char *cmd, int argc, char **argv, const struct cli_opt *opts, const char **name)
{
	const char *pos[1] = { NULL };
	int rc = cli_parse(cmd, argc, argv, opts, pos, 1, 1);

	if (rc != CLI_OK)
		return rc;
	*name = pos[0];
	return cli_check_id("user", pos[0]);
}

static int
user_add_tx(struct cli *c, void *arg)
{
	return store_user_add(c->st, arg);
}

static int
cmd_user_add(struct cli *c, int argc, char **argv)
{
	const char *name = NULL, *team = NULL, *role = NULL, *pwfile = NULL;
	const struct cli_opt opts[] = {
		{ "--team", true, &team, NULL }, { "--role", true, &role, NULL },
		{ "--password-file", true, &pwfile, NULL }, { NULL, 0, 0, 0 } };
	struct store_user u;
	char pw[AUTH_PASSWORD_MAX + 2], detail[1200];
	int rc = user_name("user add", argc, argv, opts, &name);

	if (rc != CLI_OK)
		return rc;
	memset(&u, 0, sizeof(u));
	if (role == NULL || (strcmp(role, "nurse") != 0 && strcmp(role, "auditor") != 0)) {
		cli_err("user add: --role must be nurse or auditor");
		return CLI_USAGE;
	}
	if (strcmp(role, "nurse") == 0 && team == NULL) {
		cli_err("user add: a nurse needs --team TEAM[,TEAM...]");
		return CLI_USAGE;
	}
	if (team != NULL && (rc = user_teams(team, &u)) != CLI_OK)
		return rc;
	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.role, sizeof(u.role), "%s", role);
	u.created_at = timefmt_now();
	if (auth_init() != DHO_OK) {
		cli_err("user add: libsodium does not start");
		return CLI_FAIL;
	}
	if ((rc = user_password(pwfile, pw, sizeof(pw))) != CLI_OK)
		return rc;
	rc = auth_hash(pw, u.hash, sizeof(u.hash));
	sodium_memzero(pw, sizeof(pw));
	if (rc != DHO_OK) {
		cli_err("user add: cannot hash the password (out of memory)");
		return CLI_FAIL;
	}
	snprintf(detail, sizeof(detail), "role=%s teams=%s", u.role, team ? team : "");
	return user_rc(c, cli_transact(c, user_add_tx, &u, "user.add", u.name, detail), "user add",
	               u.name);
}

static int
user_row(void *ctx, const struct store_user *u)
{
	struct cli_list *l = ctx;
	char teams[STORE_TEAMS_MAX * (DHO_TEAM_MAX + 1)] = "", created[TIMEFMT_LEN];
	json_t *o, *t;

	if (!l->json) {
		for (size_t i = 0; i < u->nteams; i++)
			snprintf(teams + strlen(teams), sizeof(teams) - strlen(teams), "%s%s",
			         i ? "," : "", u->teams[i]);
		printf("%-20s %-8s %-5s %-9s %-20s %s\n", u->name, u->role,
		       u->totp_secret[0] ? "yes" : "no", u->disabled ? "disabled" : "active",
		       cli_fmt_time(u->created_at, created), teams);
		return 0;
	}
	o = json_object();
	t = json_array();
	for (size_t i = 0; i < u->nteams; i++)
		json_array_append_new(t, json_string(u->teams[i]));
	json_object_set_new(o, "name", json_string(u->name));
	json_object_set_new(o, "role", json_string(u->role));
	json_object_set_new(o, "teams", t);
	json_object_set_new(o, "totp", json_boolean(u->totp_secret[0] != '\0'));
	json_object_set_new(o, "disabled", json_boolean(u->disabled));
	json_object_set_new(o, "created_at", cli_json_time(u->created_at));
	json_array_append_new(l->arr, o);
	return 0;
}

static int
cmd_user_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "--json", false, NULL, &json }, { NULL, 0, 0, 0 } };
	struct cli_list l = { c, false, NULL, 0 };
	int rc = cli_parse("user list", argc, argv, opts, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	l.json = json;
	l.arr = json_array();
	if (!json)
		printf("%-20s %-8s %-5s %-9s %-20s %s\n", "USER", "ROLE", "TOTP", "STATE", "CREATED",
		       "TEAMS");
	rc = store_user_list(c->st, user_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		return cli_store_rc(c, rc, "user list");
	}
	if (json)
		cli_print_json(l.arr);
	else
		json_decref(l.arr);
	return CLI_OK;
}

/* One user's change and the name it is for, for the transactions below. */
struct user_change {
	const char *name;
	const char *value;         /* a hash or a TOTP secret */
};

static int
user_disable_tx(struct cli *c, void *arg)
{
	struct user_change *u = arg;
	int rc = store_user_disable(c->st, u->name);

	return rc == DHO_OK ? store_session_delete_user(c->st, u->name) : rc;
}

static int
cmd_user_disable(struct cli *c, int argc, char **argv)
{
	struct user_change u = { NULL, NULL };
	int rc = user_name("user disable", argc, argv, NULL, &u.name);

	if (rc != CLI_OK)
		return rc;
	return user_rc(c, cli_transact(c, user_disable_tx, &u, "user.disable", u.name, ""),
	               "user disable", u.name);
}

static int
user_passwd_tx(struct cli *c, void *arg)
{
	struct user_change *u = arg;
	int rc = store_user_set_hash(c->st, u->name, u->value);

	return rc == DHO_OK ? store_session_delete_user(c->st, u->name) : rc;
}

static int
cmd_user_passwd(struct cli *c, int argc, char **argv)
{
	const char *pwfile = NULL;
	const struct cli_opt opts[] = { { "--password-file", true, &pwfile, NULL }, { NULL, 0, 0, 0 } };
	struct user_change u = { NULL, NULL };
	struct store_user old;
	char pw[AUTH_PASSWORD_MAX + 2], hash[STORE_HASH_MAX];
	int rc = user_name("user passwd", argc, argv, opts, &u.name);

	if (rc != CLI_OK)
		return rc;
	/* The user must exist before anyone types a password for it. */
	if ((rc = store_user_get(c->st, u.name, &old)) != DHO_OK)
		return user_rc(c, rc, "user passwd", u.name);
	if (auth_init() != DHO_OK) {
		cli_err("user passwd: libsodium does not start");
		return CLI_FAIL;
	}
	if ((rc = user_password(pwfile, pw, sizeof(pw))) != CLI_OK)
		return rc;
	rc = auth_hash(pw, hash, sizeof(hash));
	sodium_memzero(pw, sizeof(pw));
	if (rc != DHO_OK) {
		cli_err("user passwd: cannot hash the password (out of memory)");
		return CLI_FAIL;
	}
	u.value = hash;
	return user_rc(c, cli_transact(c, user_passwd_tx, &u, "user.passwd", u.name, ""),
	               "user passwd", u.name);
}

static int
user_totp_tx(struct cli *c, void *arg)
{
	struct user_change *u = arg;

	return store_user_set_totp(c->st, u->name, u->value);
}

static int
cmd_user_totp(struct cli *c, int argc, char **argv)
{
	struct user_change u = { NULL, NULL };
	char secret[AUTH_TOTP_SECRET_LEN], uri[512];
	int rc = user_name("user totp", argc, argv, NULL, &u.name);

	if (rc != CLI_OK)
		return rc;
	if (auth_init() != DHO_OK || auth_totp_secret(secret) != DHO_OK ||
	    auth_totp_uri(u.name, secret, uri, sizeof(uri)) != DHO_OK) {
		cli_err("user totp: cannot make a secret");
		return CLI_FAIL;
	}
	u.value = secret;
	rc = cli_transact(c, user_totp_tx, &u, "user.totp", u.name, "a new TOTP secret");
	sodium_memzero(secret, sizeof(secret));
	if (rc != DHO_OK)
		return user_rc(c, rc, "user totp", u.name);
	puts(uri);
	return CLI_OK;
}

const struct cli_command cli_web_commands[] = {
	{ "web", NULL, cmd_web, "web",
	  "Serve the nurses' workspace and its JSON API ([http]). SIGTERM/SIGINT end\n"
	  "the event streams and exit 0.", false, true },
	{ "user", "add", cmd_user_add,
	  "user add NAME --team TEAM[,TEAM...] --role nurse|auditor [--password-file F]",
	  "Add a workspace user. Without --password-file the password is read from the\n"
	  "terminal (at least 12 characters). An auditor needs no team.", true, false },
	{ "user", "list", cmd_user_list, "user list [--json]", "List the workspace's users.", true,
	  false },
	{ "user", "disable", cmd_user_disable, "user disable NAME",
	  "Disable a user and end the user's sessions.", true, false },
	{ "user", "passwd", cmd_user_passwd, "user passwd NAME [--password-file F]",
	  "Set a user's password and end the user's sessions.", true, false },
	{ "user", "totp", cmd_user_totp, "user totp NAME",
	  "Give a user a new TOTP secret and print its otpauth:// URI; from then on the\n"
	  "user's log-ins need a one-time code.", true, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};
