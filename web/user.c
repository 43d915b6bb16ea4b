/*
 * user.c: `dhohub user ...`, the workspace's users (contract section 8).
 * Only argon2id hashes of passwords are stored; every change is audited
 * with the operator as actor, and a disabled user or a new password ends
 * the user's sessions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "auth.h"
#include "ident.h"
#include "store.h"
#include "timefmt.h"
#include "web.h"

enum { U_OK = 0, U_FAIL = 1, U_USAGE = 2, U_NOTFOUND = 3 };

static void
user_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
user_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dhohub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

/* The password from the first line of path, or from the terminal (asked
 * twice, without echo), or from the first line of stdin when it is not a
 * terminal (scripts). */
static int
user_password(const char *path, char *pw, size_t len)
{
	char again[AUTH_PASSWORD_MAX + 2], why[DHO_ERRLEN];
	struct termios old, quiet;
	FILE *f;
	int rc;
	bool tty = path == NULL && isatty(STDIN_FILENO);

	if (path != NULL) {
		if ((f = fopen(path, "r")) == NULL) {
			user_err("--password-file %s: %s", path, strerror(errno));
			return U_USAGE;
		}
		rc = user_line(f, pw, len);
		fclose(f);
	} else if (tty) {
		tcgetattr(STDIN_FILENO, &old);
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
			user_err("the two passwords differ");
			return U_USAGE;
		}
		sodium_memzero(again, sizeof(again));
	} else {
		rc = user_line(stdin, pw, len);
	}
	if (rc != DHO_OK) {
		user_err("cannot read the password%s", rc == DHO_ERANGE ? ": too long" : "");
		return U_USAGE;
	}
	if (auth_password_check(pw, why, sizeof(why)) != DHO_OK) {
		user_err("%s", why);
		return U_USAGE;
	}
	return U_OK;
}

static int
user_audit(struct store *st, const char *actor, const char *action, const char *object,
           const char *detail)
{
	struct store_audit a = { timefmt_now(), actor, action, object, detail };

	return store_audit_add(st, &a);
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
			user_err("--team: at most %d teams, each KIND/NAME", STORE_TEAMS_MAX);
			return U_USAGE;
		}
		memcpy(u->teams[u->nteams], p, n);
		u->teams[u->nteams][n] = '\0';
		if (!ident_team_valid(u->teams[u->nteams])) {
			user_err("--team: '%s' is not a team (KIND/NAME)", u->teams[u->nteams]);
			return U_USAGE;
		}
		u->nteams++;
		p = e ? e + 1 : NULL;
	}
	return U_OK;
}

/* A one-statement change with its audit row, in one transaction. */
static int
user_commit(struct store *st, int rc, const char *actor, const char *action, const char *name,
            const char *detail)
{
	if (rc == DHO_OK)
		rc = user_audit(st, actor, action, name, detail);
	if (rc == DHO_OK)
		rc = store_commit(st);
	if (rc == DHO_OK)
		return U_OK;
	store_rollback(st);
	if (rc == DHO_ENOTFOUND) {
		user_err("user %s does not exist", name);
		return U_NOTFOUND;
	}
	if (rc == DHO_EEXIST) {
		user_err("user %s exists already", name);
		return U_FAIL;
	}
	user_err("%s: %s (%s)", action, dho_strerror(rc), store_errmsg(st));
	return U_FAIL;
}

/* Options: each NAME takes a value except the switches in flags. */
struct user_args {
	const char *name;
	const char *team;
	const char *role;
	const char *password_file;
	bool json;
};

static int
user_parse(const char *cmd, int argc, char **argv, struct user_args *a, bool want_name)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--json") == 0 && !want_name) {
			a->json = true;
			continue;
		}
		if (strcmp(argv[i], "--team") == 0 && strcmp(cmd, "add") == 0)
			slot = &a->team;
		else if (strcmp(argv[i], "--role") == 0 && strcmp(cmd, "add") == 0)
			slot = &a->role;
		else if (strcmp(argv[i], "--password-file") == 0 &&
		         (strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0))
			slot = &a->password_file;
		if (slot != NULL) {
			if (i + 1 >= argc) {
				user_err("user %s: %s needs a value", cmd, argv[i]);
				return U_USAGE;
			}
			*slot = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--", 2) == 0 || !want_name || a->name != NULL) {
			user_err("user %s: unexpected argument '%s'", cmd, argv[i]);
			return U_USAGE;
		}
		a->name = argv[i];
	}
	if (want_name && a->name == NULL) {
		user_err("user %s: missing the user name", cmd);
		return U_USAGE;
	}
	if (a->name != NULL && !ident_valid(a->name)) {
		user_err("user %s: '%s' is not a valid user name (1-64 of A-Z a-z 0-9 . _ - :)", cmd,
		         a->name);
		return U_USAGE;
	}
	return U_OK;
}

static int
user_add(struct store *st, const char *actor, const struct user_args *a)
{
	struct store_user u;
	char pw[AUTH_PASSWORD_MAX + 2], detail[1200];
	int rc;

	memset(&u, 0, sizeof(u));
	if (a->role == NULL || (strcmp(a->role, "nurse") != 0 && strcmp(a->role, "auditor") != 0)) {
		user_err("user add: --role must be nurse or auditor");
		return U_USAGE;
	}
	if (strcmp(a->role, "nurse") == 0 && a->team == NULL) {
		user_err("user add: a nurse needs --team TEAM[,TEAM...]");
		return U_USAGE;
	}
	if (a->team != NULL && (rc = user_teams(a->team, &u)) != U_OK)
		return rc;
	snprintf(u.name, sizeof(u.name), "%s", a->name);
	snprintf(u.role, sizeof(u.role), "%s", a->role);
	u.created_at = timefmt_now();
	if ((rc = user_password(a->password_file, pw, sizeof(pw))) != U_OK)
		return rc;
	if (auth_hash(pw, u.hash, sizeof(u.hash)) != DHO_OK) {
		sodium_memzero(pw, sizeof(pw));
		user_err("user add: cannot hash the password (out of memory)");
		return U_FAIL;
	}
	sodium_memzero(pw, sizeof(pw));
	snprintf(detail, sizeof(detail), "role=%s teams=%s", u.role, a->team ? a->team : "");
	if (store_begin(st) != DHO_OK)
		return user_commit(st, DHO_EIO, actor, "user.add", u.name, detail);
	return user_commit(st, store_user_add(st, &u), actor, "user.add", u.name, detail);
}

struct user_list {
	bool json;
	json_t *arr;
};

static int
user_row(void *ctx, const struct store_user *u)
{
	struct user_list *l = ctx;
	char teams[STORE_TEAMS_MAX * (DHO_TEAM_MAX + 1)] = "", created[TIMEFMT_LEN];
	json_t *o, *t;

	timefmt_format(u->created_at, created);
	if (!l->json) {
		for (size_t i = 0; i < u->nteams; i++)
			snprintf(teams + strlen(teams), sizeof(teams) - strlen(teams), "%s%s",
			         i ? "," : "", u->teams[i]);
		printf("%-20s %-8s %-5s %-9s %-20s %s\n", u->name, u->role,
		       u->totp_secret[0] ? "yes" : "no", u->disabled ? "disabled" : "active", created,
		       teams);
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
	json_object_set_new(o, "created_at", json_string(created));
	json_array_append_new(l->arr, o);
	return 0;
}

static int
user_list(struct store *st, const struct user_args *a)
{
	struct user_list l = { a->json, json_array() };
	int rc;

	if (!a->json)
		printf("%-20s %-8s %-5s %-9s %-20s %s\n", "USER", "ROLE", "TOTP", "STATE", "CREATED",
		       "TEAMS");
	rc = store_user_list(st, user_row, &l);
	if (rc != DHO_OK) {
		json_decref(l.arr);
		user_err("user list: %s (%s)", dho_strerror(rc), store_errmsg(st));
		return U_FAIL;
	}
	if (a->json) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(l.arr);
	return U_OK;
}

static int
user_disable(struct store *st, const char *actor, const struct user_args *a)
{
	int rc = store_begin(st);

	if (rc == DHO_OK)
		rc = store_user_disable(st, a->name);
	if (rc == DHO_OK)
		rc = store_session_delete_user(st, a->name);
	return user_commit(st, rc, actor, "user.disable", a->name, "");
}

static int
user_passwd(struct store *st, const char *actor, const struct user_args *a)
{
	struct store_user u;
	char pw[AUTH_PASSWORD_MAX + 2], hash[STORE_HASH_MAX];
	int rc = store_user_get(st, a->name, &u);

	if (rc == DHO_ENOTFOUND) {
		user_err("user %s does not exist", a->name);
		return U_NOTFOUND;
	}
	if (rc != DHO_OK)
		return user_commit(st, rc, actor, "user.passwd", a->name, "");
	if ((rc = user_password(a->password_file, pw, sizeof(pw))) != U_OK)
		return rc;
	rc = auth_hash(pw, hash, sizeof(hash));
	sodium_memzero(pw, sizeof(pw));
	if (rc == DHO_OK)
		rc = store_begin(st);
	if (rc == DHO_OK)
		rc = store_user_set_hash(st, a->name, hash);
	if (rc == DHO_OK)
		rc = store_session_delete_user(st, a->name);
	return user_commit(st, rc, actor, "user.passwd", a->name, "");
}

static int
user_totp(struct store *st, const char *actor, const struct user_args *a)
{
	char secret[AUTH_TOTP_SECRET_LEN], uri[512];
	int rc = auth_totp_secret(secret);

	if (rc == DHO_OK)
		rc = auth_totp_uri(a->name, secret, uri, sizeof(uri));
	if (rc == DHO_OK)
		rc = store_begin(st);
	if (rc == DHO_OK)
		rc = store_user_set_totp(st, a->name, secret);
	if ((rc = user_commit(st, rc, actor, "user.totp", a->name, "new TOTP secret")) != U_OK)
		return rc;
	puts(uri);
	return U_OK;
}

int
web_user_cmd(const struct config *cfg, struct store *st, const char *actor, const char *sub,
             int argc, char **argv)
{
	struct user_args a;
	bool list = strcmp(sub, "list") == 0;
	int rc;

	(void)cfg;
	if (auth_init() != DHO_OK) {
		user_err("user: libsodium or liboath does not start");
		return U_FAIL;
	}
	if ((rc = user_parse(sub, argc, argv, &a, !list)) != U_OK)
		return rc;
	if (list)
		return user_list(st, &a);
	if (strcmp(sub, "add") == 0)
		return user_add(st, actor, &a);
	if (strcmp(sub, "disable") == 0)
		return user_disable(st, actor, &a);
	if (strcmp(sub, "passwd") == 0)
		return user_passwd(st, actor, &a);
	if (strcmp(sub, "totp") == 0)
		return user_totp(st, actor, &a);
	user_err("user: unknown command '%s' (add, list, disable, passwd, totp)", sub);
	return U_USAGE;
}
