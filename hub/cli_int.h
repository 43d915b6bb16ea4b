/*
 * cli_int.h: what the files of the command line share (not a public
 * header: only hub/cli*.c include it).
 *
 * The command line is cut by subject: cli.c parses the global options and
 * dispatches to a command, and holds the helpers below; cli_patient.c has
 * the patient, device and rule commands; cli_list.c the listings (readings,
 * quarantine, stats, audit); cli_alert.c the alerts and the nurse's
 * actions; cli_deploy.c broker-acl and backup. Each file has one table
 * of its commands; a command is one row.
 */
#ifndef CLI_INT_H
#define CLI_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "alert.h"
#include "cli.h"
#include "config.h"
#include "dho.h"
#include "engine.h"
#include "store.h"
#include "timefmt.h"

struct cli {
	const char *config_path;     /* NULL: built-in defaults */
	const char *db_override;
	struct config *cfg;
	struct store *st;            /* NULL for commands without needs_store */
	char actor[DHO_ID_MAX + 1];  /* the operating-system user */
};

/* One option of a command: a flag with a value, or a boolean switch. */
struct cli_opt {
	const char *name;
	bool has_value;
	const char **value;          /* for options with a value */
	bool *flag;                  /* for switches */
};

/* One command: "name" or "name sub", its function, usage and help. A table
 * of them ends with a row whose name is NULL. */
struct cli_command {
	const char *name;
	const char *sub;             /* NULL for one-word commands */
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;
	const char *help;
	bool needs_store;            /* open the database before fn */
	bool warnings;               /* show the configuration's warnings */
};

/* The tables of each file, listed in this order by --help. */
extern const struct cli_command cli_base_commands[];
extern const struct cli_command cli_patient_commands[];
extern const struct cli_command cli_list_commands[];
extern const struct cli_command cli_alert_commands[];
extern const struct cli_command cli_deploy_commands[];
extern const struct cli_command cli_web_commands[];

/* The state of a listing callback: text rows, or objects into arr. */
struct cli_list {
	struct cli *c;
	bool json;
	json_t *arr;
	int count;
};

/* "dhohub: " and the message on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses argv against opts; positional arguments go to pos (at most npos,
 * exactly need of them). Returns CLI_OK or CLI_USAGE after a message that
 * names the flag.
 */
int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
              const char **pos, int need, int npos);

/* CLI_OK, or CLI_USAGE after a message when id is not an identifier. */
int cli_check_id(const char *what, const char *id);
/* Parses an RFC 3339 time or a date; CLI_USAGE after a message naming flag. */
int cli_time(const char *flag, const char *s, dho_time_t *out);
/* Maps a DHO code to an exit code, with a message naming what failed. */
int cli_store_rc(struct cli *c, int rc, const char *what);
/* Prints doc indented on stdout and releases it. */
void cli_print_json(json_t *doc);
/* A time as an RFC 3339 string, or null for 0. */
json_t *cli_json_time(dho_time_t t);
/* A time in buf, or "-" for 0. */
const char *cli_fmt_time(dho_time_t t, char buf[TIMEFMT_LEN]);

/* Records a listing outside any transaction; CLI_FAIL after a message when
 * the audit log cannot be written (the audit log is a guarantee). */
int cli_audit(struct cli *c, const char *action, const char *object, const char *detail);

/* The store writes of one command, run by cli_transact(). */
typedef int (*cli_tx_fn)(struct cli *c, void *arg);

/*
 * Runs fn(c, arg) in one store transaction. When fn returns DHO_OK and
 * action is not NULL, the audit row (action, object, detail) is written in
 * the same transaction, so a change and its audit row commit together or
 * not at all. Commits when everything succeeded, rolls back otherwise.
 * Returns DHO_OK, fn's own code, or the store's when beginning, auditing or
 * committing failed; the caller turns it into a message and an exit code.
 */
int cli_transact(struct cli *c, cli_tx_fn fn, void *arg, const char *action,
                 const char *object, const char *detail);

/* Reads patient id; CLI_NOTFOUND after a message when it does not exist. */
int cli_get_patient(struct cli *c, const char *id, struct store_patient *p);
/* A new engine on c's configuration and store; the caller frees it. */
int cli_engine(struct cli *c, struct engine **e);

/*
 * The latest event documents of the alerts of f, in a new json_t array
 * *out that the caller owns (json_decref()). Returns CLI_OK, or, after a
 * message that starts with what, CLI_NOTFOUND or CLI_FAIL as
 * cli_store_rc() does, and CLI_FAIL when an alert's document cannot be
 * built (an allocation failed, or a stored text is not UTF-8): the
 * command fails rather than list the others without it. *out is NULL on
 * every error.
 */
int cli_alert_docs(struct cli *c, const struct store_alert_filter *f, const char *what,
                   json_t **out);

#endif
