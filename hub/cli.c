/*
 * cli.c: the command line's entry: global options, the dispatch to one
 * command, the helpers every command shares (see cli_int.h), and the
 * commands without a subject file (run, demo, check-config, decode gatt).
 *
 * Options are parsed by one small table-driven parser, so every command
 * rejects unknown flags and missing values the same way (exit 2, naming the
 * flag).
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"
#include "metric.h"
#include "escape.h"
#include "daemon.h"
#include "gatt.h"
#include "ident.h"
#include "version.h"

void
cli_err(const char *fmt, ...)
{
	char msg[1024], safe[2048];
	va_list ap;

	/* Messages quote what the user typed or the store holds: escaped as
	 * a whole, like the daemon's log lines. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dhohub: %s\n", escape_str(msg, safe, sizeof(safe)));
}

/*
 * Parses argv against opts; positional arguments go to pos (at most npos,
 * exactly need of them). Returns CLI_OK or CLI_USAGE after a message that
 * names the flag.
 */
int
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

int
cli_check_id(const char *what, const char *id)
{
	if (!ident_valid(id)) {
		cli_err("%s '%s' is not a valid identifier (1-64 of A-Z a-z 0-9 . _ - :)", what, id);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int
cli_time(const char *flag, const char *s, dho_time_t *out)
{
	if (timefmt_parse(s, out) != DHO_OK) {
		cli_err("%s: '%s' is not an RFC 3339 time or YYYY-MM-DD date", flag, s);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Maps a store result to an exit code, with a message for failures. */
int
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

void
cli_print_json(json_t *doc)
{
	/* Values keep their precision (metric_json_value()): 37.60 stays 37.60. */
	char *text = metric_json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text != NULL)
		puts(text);
	free(text);
	json_decref(doc);
}

json_t *
cli_json_time(dho_time_t t)
{
	char buf[TIMEFMT_LEN];

	if (t == 0)
		return json_null();
	timefmt_format(t, buf);
	return json_string(buf);
}

const char *
cli_fmt_time(dho_time_t t, char buf[TIMEFMT_LEN])
{
	if (t == 0)
		return "-";
	timefmt_format(t, buf);
	return buf;
}

/* Records a listing or action; the command fails if it cannot be audited,
 * since the audit log promises a row for every listing and action
 * (docs/operations.md). */
int
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

int
cli_transact(struct cli *c, cli_tx_fn fn, void *arg, const char *action, const char *object,
             const char *detail)
{
	int rc = store_begin(c->st);

	if (rc != DHO_OK)
		return rc;
	rc = fn(c, arg);
	if (rc == DHO_OK && action != NULL) {
		struct store_audit a = { timefmt_now(), c->actor, action, object, detail };
		rc = store_audit_add(c->st, &a);
	}
	if (rc == DHO_OK)
		rc = store_commit(c->st);
	if (rc != DHO_OK)
		store_rollback(c->st);
	return rc;
}

int
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

int
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
cmd_check_config(struct cli *c, int argc, char **argv)
{
	int rc = cli_parse("check-config", argc, argv, NULL, NULL, 0, 0);

	if (rc != CLI_OK)
		return rc;
	printf("%s: ok\n", c->cfg->file[0] ? c->cfg->file : "built-in defaults");
	return CLI_OK;
}

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

const struct cli_command cli_base_commands[] = {
	{ "run", NULL, cmd_run, "run",
	  "Run the daemon: broker session, rules, alert delivery. Logs to stderr;\n"
	  "SIGTERM/SIGINT finish in-flight work and exit 0; SIGHUP reloads rules and teams.",
	  false, true },
	{ "check-config", NULL, cmd_check_config, "check-config",
	  "Validate the configuration: exit 0, or 2 with FILE:LINE: message per error.", false, true },
	{ "demo", NULL, cmd_demo, "demo [--duration D]",
	  "Run a self-contained demo: a private Mosquitto, demo patients, simulated\n"
	  "devices and the hub, with a live alert feed. Stops after D (default: Ctrl-C).", false, false },
	{ "decode", "gatt", cmd_decode_gatt, "decode gatt UUID HEX",
	  "Decode one BLE GATT characteristic value and print it as JSON.", false, false },
	{ NULL, NULL, NULL, NULL, NULL, false, false },
};

/* Every table, in the order --help lists them. A file with new commands
 * adds its table here. */
static const struct cli_command *const cli_tables[] = {
	cli_base_commands, cli_patient_commands, cli_list_commands, cli_alert_commands,
	cli_deploy_commands, cli_web_commands, NULL,
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
	for (const struct cli_command *const *t = cli_tables; *t; t++)
		for (const struct cli_command *k = *t; k->name; k++)
			fprintf(out, "  %s\n", k->usage);
	fputs("\nExit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,\n"
	      "3 the named patient, device, rule or alert does not exist.\n", out);
}

/* The command that argv (at least one word) names, or NULL. */
static const struct cli_command *
cli_find(int argc, char **argv)
{
	for (const struct cli_command *const *t = cli_tables; *t; t++)
		for (const struct cli_command *k = *t; k->name; k++)
			if (strcmp(k->name, argv[0]) == 0 &&
			    (k->sub == NULL || (argc > 1 && strcmp(k->sub, argv[1]) == 0)))
				return k;
	return NULL;
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

/*
 * Whether cmd may create the database: only patient add and user add (run
 * opens its own). Every other command refuses a missing file, so that a
 * --db with a typo is an error and not an empty database that lists
 * nothing, which a nurse could read as all clear.
 */
static bool
cli_creates_store(const struct cli_command *cmd)
{
	static const char *const creators[][2] = { { "patient", "add" }, { "user", "add" } };

	for (size_t i = 0; i < sizeof(creators) / sizeof(creators[0]); i++)
		if (strcmp(cmd->name, creators[i][0]) == 0 && cmd->sub != NULL &&
		    strcmp(cmd->sub, creators[i][1]) == 0)
			return true;
	return false;
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
			puts("dhohub " DHO_VERSION);
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
	cmd = cli_find(argc - i, argv + i);
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
	                      cmd->warnings ? 0 : CONFIG_NO_WARNINGS,
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
		if (store_open(db, (c.cfg->durability == CFG_DURABILITY_FULL ? STORE_FULL_SYNC : 0) |
		               (cli_creates_store(cmd) ? STORE_CREATE : 0), &c.st, err,
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
