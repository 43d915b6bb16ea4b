/*
 * config.c: the INI configuration (docs/man/dhohub.conf.5.in).
 *
 * Every option is a row of a per-section table (name, type, bounds, default,
 * help, offset into its struct), so parsing, defaults, bounds messages and
 * config_print_reference() all come from one place. Keys outside the tables
 * are the open-ended ones: rule keys in [program:NAME] and register.METRIC in
 * [modbus:NAME].
 *
 * inih splits "key = value" lines, strips whitespace and inline comments. It
 * reads through our own line reader, which does four things inih cannot:
 * it counts lines (whether inih passes a line number depends on how it was
 * built), it reports every malformed line (inih returns only the first), it
 * tracks section headers itself (inih truncates a section name to 50
 * characters, shorter than a team name, and never reports an empty
 * section), and it rejects over-long lines instead of letting inih split them
 * into two bogus lines.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
/* Debian 12's libinih is built with INI_HANDLER_LINENO=1 (it passes the line
 * number as a fifth handler argument) although its ini.h defaults it to 0;
 * the handler must have the type the library calls. */
#define INI_HANDLER_LINENO 1
#include <ini.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "dynbuf.h"
#include "ident.h"
#include "log.h"
#include "net.h"
#include "timefmt.h"

/* Enum fields are stored through an int; this holds for every ABI we build on. */
_Static_assert(sizeof(enum cfg_durability) == sizeof(int), "enum size");
_Static_assert(sizeof(enum bridge_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_2fa) == sizeof(int), "enum size");

/* The longest physical line we read; inih's own limit is usually lower.
 * Reading stops at the first longer line, and after CFG_FILE_MAX bytes, so
 * that a wrong -c (/dev/zero, a log file, a disk image) is an error at once
 * instead of a read that never ends. */
#define CFG_LINE_MAX 4096
#define CFG_FILE_MAX (1024L * 1024)
/* The most options one section table may have (the size of keyline[]). */
#define CFG_OPTS_MAX 16

enum cfg_opt_type {
	CFG_STR,      /* text that fits the field, then the check function */
	CFG_INT,      /* a decimal integer in [min, max] */
	CFG_SECONDS,  /* a duration (90s, 15m, 26h, 3d, bare seconds) in [min, max] */
	CFG_ENUM,     /* one of choices[], stored as its index */
	CFG_TENANTS   /* the [broker] tenants list */
};

#define CFG_REQUIRED 1u  /* the section is incomplete without the key */
#define CFG_NONEMPTY 2u  /* the key may be left out, but not set to "" */

struct cfg_opt {
	const char *name;
	enum cfg_opt_type type;
	size_t offset;                /* into the section's struct */
	size_t size;                  /* of the field */
	long min, max;                /* CFG_INT, CFG_SECONDS */
	const char *const *choices;   /* CFG_ENUM: NULL-terminated, in enum order */
	int (*check)(const char *value, char *why, size_t len);  /* CFG_STR, non-empty values */
	unsigned flags;
	const char *def;              /* as written in a file; NULL when required */
	const char *help;
};

enum cfg_kind {
	SEC_HUB, SEC_BROKER, SEC_STORE, SEC_ALERTS, SEC_HTTP,
	SEC_TENANT, SEC_TEAM, SEC_PROGRAM, SEC_INPUT, SEC_MODBUS,
	SEC_COUNT
};

struct cfg_section {
	const char *name;            /* "hub"; "tenant" for [tenant:NAME] */
	const char *placeholder;     /* NULL for a section without a name */
	bool (*name_valid)(const char *name);
	const struct cfg_opt *opts;
	size_t nopts;
	const char *extra_key;       /* keys outside the table, for messages and the reference */
	const char *extra_value;
	const char *extra_help;
	const char *help;
};

/* One section as it stood in the file: where, and where each key was. */
struct cfg_inst {
	enum cfg_kind kind;
	size_t index;                /* into the config array of that kind */
	int line;
	int keyline[CFG_OPTS_MAX];   /* 0: the key did not appear */
	char name[DHO_TEAM_MAX + 1];
};

struct cfg_ctx {
	struct config *cfg;
	const char *file;            /* for messages */
	FILE *in;
	FILE *errs;
	config_rule_check_fn check;
	unsigned flags;              /* CONFIG_NO_WARNINGS */
	int line;                    /* the line inih is working on */
	int nerrors;
	int rc;                      /* DHO_ENOMEM once an allocation failed */
	long bytes;                  /* read so far, at most CFG_FILE_MAX + 1 */
	bool stopped;                /* the reader gave up on the file */
	struct cfg_inst *insts;
	size_t ninsts;
	size_t *inst_slots;          /* hash of (kind, name): index + 1, 0 empty */
	size_t ninst_slots;          /* a power of two, at least 2 * ninsts */
	size_t cur;                  /* the open section, valid when in_section */
	bool in_section;
	bool skip;                   /* the open section's header was in error */
	char buf[CFG_LINE_MAX + 1];
};

#define CFG_FIELD(type, field) \
	.offset = offsetof(struct type, field), .size = sizeof(((struct type *)0)->field)

static int cfg_check_log_level(const char *v, char *why, size_t len);
static int cfg_check_broker_url(const char *v, char *why, size_t len);
static int cfg_check_ident(const char *v, char *why, size_t len);
static int cfg_check_team(const char *v, char *why, size_t len);
static int cfg_check_prefix(const char *v, char *why, size_t len);
static int cfg_check_filter(const char *v, char *why, size_t len);
static int cfg_check_webhook(const char *v, char *why, size_t len);
static int cfg_check_modbus_url(const char *v, char *why, size_t len);
static int cfg_check_listen(const char *v, char *why, size_t len);

static const char *const cfg_durabilities[] = { "normal", "full", NULL };

static const struct cfg_opt cfg_hub_opts[] = {
	{ .name = "timezone", .type = CFG_STR, CFG_FIELD(config, timezone),
	  .check = timefmt_check_zone, .flags = CFG_NONEMPTY, .def = "Europe/Oslo",
	  .help = "zoneinfo name; local time of bare dates and BLE Date Time fields" },
	{ .name = "log_level", .type = CFG_STR, CFG_FIELD(config, log_level),
	  .check = cfg_check_log_level, .flags = CFG_NONEMPTY, .def = "info",
	  .help = "error | warn | info | debug" },
};

static const struct cfg_opt cfg_broker_opts[] = {
	{ .name = "url", .type = CFG_STR, CFG_FIELD(config, broker_url),
	  .check = cfg_check_broker_url, .flags = CFG_NONEMPTY, .def = "tcp://127.0.0.1:1883",
	  .help = "tcp:// or mqtt:// (plain), ssl:// or mqtts:// (TLS), then HOST[:PORT]" },
	{ .name = "client_id", .type = CFG_STR, CFG_FIELD(config, client_id),
	  .check = cfg_check_ident, .flags = CFG_NONEMPTY, .def = "dhohub",
	  .help = "fixed MQTT client id: the broker keeps the session while the hub is down" },
	{ .name = "username", .type = CFG_STR, CFG_FIELD(config, username), .def = "",
	  .help = "MQTT user name; empty: none" },
	{ .name = "password_file", .type = CFG_STR, CFG_FIELD(config, password_file), .def = "",
	  .help = "file whose first line is the MQTT password; empty: none" },
	{ .name = "ca_file", .type = CFG_STR, CFG_FIELD(config, ca_file), .def = "",
	  .help = "PEM CA certificates that verify the broker (ssl://); empty: the system's" },
	{ .name = "cert_file", .type = CFG_STR, CFG_FIELD(config, cert_file), .def = "",
	  .help = "PEM client certificate (needs key_file); empty: none" },
	{ .name = "key_file", .type = CFG_STR, CFG_FIELD(config, key_file), .def = "",
	  .help = "PEM private key of cert_file; empty: none" },
	{ .name = "topic_prefix", .type = CFG_STR, CFG_FIELD(config, topic_prefix),
	  .check = cfg_check_prefix, .flags = CFG_NONEMPTY, .def = "dho/v1",
	  .help = "first topic levels of every topic the hub uses" },
	{ .name = "tenants", .type = CFG_TENANTS, .def = "*",
	  .help = "comma-separated tenants this hub serves; * = all" },
};

static const struct cfg_opt cfg_store_opts[] = {
	{ .name = "path", .type = CFG_STR, CFG_FIELD(config, store_path),
	  .flags = CFG_NONEMPTY, .def = "dhohub.db",
	  .help = "SQLite database file (--db overrides)" },
	{ .name = "durability", .type = CFG_ENUM, CFG_FIELD(config, durability),
	  .choices = cfg_durabilities, .def = "normal",
	  .help = "normal: survives a hub crash; full: also a power loss (slower)" },
	{ .name = "quarantine_max", .type = CFG_INT, CFG_FIELD(config, quarantine_max),
	  .min = 1, .max = 100000000, .def = "100000",
	  .help = "quarantine entries kept (each at most 64 KiB of its payload); the oldest "
	          "are pruned first" },
	{ .name = "retention_days", .type = CFG_INT, CFG_FIELD(config, retention_days),
	  .min = 0, .max = 36500, .def = "0",
	  .help = "days after a follow-up ends that its readings, alerts and quarantine are "
	          "deleted (daily, audited); 0 = keep all" },
};

static const struct cfg_opt cfg_alerts_opts[] = {
	{ .name = "ack_s.yellow", .type = CFG_SECONDS, CFG_FIELD(config, ack_s_yellow),
	  .min = 1, .max = 30L * 86400, .def = "14400",
	  .help = "seconds a yellow alert may stay unacknowledged before it escalates" },
	{ .name = "ack_s.red", .type = CFG_SECONDS, CFG_FIELD(config, ack_s_red),
	  .min = 1, .max = 30L * 86400, .def = "900",
	  .help = "seconds a red alert may stay unacknowledged before it escalates" },
	{ .name = "clear_after", .type = CFG_INT, CFG_FIELD(config, clear_after),
	  .min = 1, .max = 1000, .def = "2",
	  .help = "consecutive normal readings that clear a condition" },
};

/* [http]: the nurses' workspace (`dhohub web`, docs/workspace.md). */
static const char *const cfg_2fa[] = { "never", "always", NULL };

static const struct cfg_opt cfg_http_opts[] = {
	{ .name = "listen", .type = CFG_STR, CFG_FIELD(config, http_listen),
	  .check = cfg_check_listen, .flags = CFG_NONEMPTY, .def = "127.0.0.1:8080",
	  .help = "ADDRESS:PORT the workspace listens on ([::1]:8080 for IPv6)" },
	{ .name = "tls_cert", .type = CFG_STR, CFG_FIELD(config, http_tls_cert), .def = "",
	  .help = "PEM certificate (chain) for HTTPS, with tls_key; empty: plain HTTP" },
	{ .name = "tls_key", .type = CFG_STR, CFG_FIELD(config, http_tls_key), .def = "",
	  .help = "PEM private key of tls_cert" },
	{ .name = "session_idle", .type = CFG_SECONDS, CFG_FIELD(config, http_session_idle),
	  .min = 60, .max = 86400, .def = "30m",
	  .help = "a session unused this long ends" },
	{ .name = "session_max", .type = CFG_SECONDS, CFG_FIELD(config, http_session_max),
	  .min = 60, .max = 7L * 86400, .def = "12h",
	  .help = "a session ends this long after log-in, used or not" },
	{ .name = "require_2fa", .type = CFG_ENUM, CFG_FIELD(config, http_require_2fa),
	  .choices = cfg_2fa, .def = "never",
	  .help = "never | always: a one-time code (TOTP, RFC 6238) at every log-in; with "
	          "never, only users who have a TOTP secret need one" },
};

static const struct cfg_opt cfg_tenant_opts[] = {
	{ .name = "home_team", .type = CFG_STR, CFG_FIELD(cfg_tenant, home_team),
	  .check = cfg_check_team, .flags = CFG_REQUIRED,
	  .help = "team (KIND/NAME) responsible after the hospital period" },
	{ .name = "hospital_team", .type = CFG_STR, CFG_FIELD(cfg_tenant, hospital_team),
	  .check = cfg_check_team, .def = "",
	  .help = "team responsible for hospital_days after discharge; empty: home_team throughout" },
	{ .name = "hospital_days", .type = CFG_INT, CFG_FIELD(cfg_tenant, hospital_days),
	  .min = 0, .max = CFG_HOSPITAL_DAYS_MAX, .def = "14",
	  .help = "days after discharge the hospital team is responsible" },
};

static const struct cfg_opt cfg_team_opts[] = {
	{ .name = "escalate_to", .type = CFG_STR, CFG_FIELD(cfg_team, escalate_to),
	  .check = cfg_check_team, .def = "",
	  .help = "team that gets this team's unacknowledged alerts; empty: end of the chain" },
	{ .name = "webhook", .type = CFG_STR, CFG_FIELD(cfg_team, webhook),
	  .check = cfg_check_webhook, .def = "",
	  .help = "http(s) URL that gets a POST of each alert event; empty: MQTT only" },
	{ .name = "webhook_ca", .type = CFG_STR, CFG_FIELD(cfg_team, webhook_ca), .def = "",
	  .help = "PEM CA certificates that verify an https webhook (the certificate and its "
	          "host name are always verified); empty: the system's" },
};

static const struct cfg_opt cfg_input_opts[] = {
	{ .name = "topic", .type = CFG_STR, CFG_FIELD(cfg_input, topic),
	  .check = cfg_check_filter, .flags = CFG_REQUIRED,
	  .help = "MQTT topic filter (+ and # allowed) of a third-party bridge" },
	{ .name = "format", .type = CFG_ENUM, CFG_FIELD(cfg_input, format),
	  .choices = bridge_format_names, .flags = CFG_REQUIRED,
	  .help = "openmqttgateway | theengs | omg-gatt" },
	{ .name = "tenant", .type = CFG_STR, CFG_FIELD(cfg_input, tenant),
	  .check = cfg_check_ident, .flags = CFG_REQUIRED,
	  .help = "tenant of the devices behind these topics" },
};

static const struct cfg_opt cfg_modbus_opts[] = {
	{ .name = "url", .type = CFG_STR, CFG_FIELD(cfg_modbus, url),
	  .check = cfg_check_modbus_url, .flags = CFG_REQUIRED,
	  .help = "tcp://HOST:PORT or rtu:DEVICE:BAUD:8N1" },
	{ .name = "unit_id", .type = CFG_INT, CFG_FIELD(cfg_modbus, unit_id),
	  .min = 0, .max = 255, .def = "1",
	  .help = "Modbus unit (slave) id" },
	{ .name = "interval_s", .type = CFG_SECONDS, CFG_FIELD(cfg_modbus, interval_s),
	  .min = 1, .max = 86400, .def = "10",
	  .help = "seconds between polls" },
	{ .name = "device", .type = CFG_STR, CFG_FIELD(cfg_modbus, device),
	  .check = cfg_check_ident, .flags = CFG_REQUIRED,
	  .help = "device id the readings are attributed to" },
};

#define CFG_N(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(CFG_N(cfg_broker_opts) <= CFG_OPTS_MAX, "keyline[] too small");

static const struct cfg_section cfg_sections[SEC_COUNT] = {
	[SEC_HUB] = { "hub", NULL, NULL, cfg_hub_opts, CFG_N(cfg_hub_opts), NULL, NULL, NULL,
	              "the hub process" },
	[SEC_BROKER] = { "broker", NULL, NULL, cfg_broker_opts, CFG_N(cfg_broker_opts), NULL,
	                 NULL, NULL, "the MQTT broker session" },
	[SEC_STORE] = { "store", NULL, NULL, cfg_store_opts, CFG_N(cfg_store_opts), NULL, NULL,
	                NULL, "the database" },
	[SEC_ALERTS] = { "alerts", NULL, NULL, cfg_alerts_opts, CFG_N(cfg_alerts_opts), NULL,
	                 NULL, NULL, "alert escalation and clearing" },
	[SEC_HTTP] = { "http", NULL, NULL, cfg_http_opts, CFG_N(cfg_http_opts), NULL,
	               NULL, NULL, "the nurses' workspace (dhohub web)" },
	[SEC_TENANT] = { "tenant", "NAME", ident_valid, cfg_tenant_opts, CFG_N(cfg_tenant_opts),
	                 NULL, NULL, NULL, "a municipality: who is responsible when" },
	[SEC_TEAM] = { "team", "KIND/NAME", ident_team_valid, cfg_team_opts, CFG_N(cfg_team_opts),
	               NULL, NULL, NULL, "a team that receives alerts" },
	[SEC_PROGRAM] = { "program", "NAME", ident_valid, NULL, 0, "RULE", "SPEC",
	                  "one rule per key: threshold.M, trend.M, "
	                  "baseline.M, missing.M, news2",
	                  "a follow-up programme's default rules" },
	[SEC_INPUT] = { "input", "NAME", ident_valid, cfg_input_opts, CFG_N(cfg_input_opts), NULL,
	                NULL, NULL, "extra topics from a third-party BLE bridge" },
	[SEC_MODBUS] = { "modbus", "NAME", ident_valid, cfg_modbus_opts, CFG_N(cfg_modbus_opts),
	                 "register.METRIC", "ADDRESS:TABLE:TYPE:SCALE",
	                 "required, at least one: ADDRESS 0-65535, TABLE holding|input, TYPE "
	                 "int16|uint16|int32|uint32|float32 (32-bit: _be or _le word order), "
	                 "reading = raw * SCALE",
	                 "a Modbus source the hub polls" },
};

static void cfg_error(struct cfg_ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cfg_warning(struct cfg_ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
cfg_vreport(struct cfg_ctx *c, int line, const char *kind, const char *fmt, va_list ap)
{
	char msg[768];

	if (c->errs == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One fprintf per message keeps it whole when errs is shared. */
	if (line > 0)
		fprintf(c->errs, "%s:%d: %s%s\n", c->file, line, kind, msg);
	else
		fprintf(c->errs, "%s: %s%s\n", c->file, kind, msg);
}

static void
cfg_error(struct cfg_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	c->nerrors++;
	va_start(ap, fmt);
	cfg_vreport(c, line, "", fmt, ap);
	va_end(ap);
}

/* Something that works but is probably not what the operator meant; the
 * file still loads. */
static void
cfg_warning(struct cfg_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (c->flags & CONFIG_NO_WARNINGS)
		return;
	va_start(ap, fmt);
	cfg_vreport(c, line, "warning: ", fmt, ap);
	va_end(ap);
}

static int
cfg_check_log_level(const char *v, char *why, size_t len)
{
	enum log_level lvl;

	if (log_parse_level(v, &lvl) != 0)
		return dho_fail(why, len, DHO_EINVAL, "must be one of error, warn, info, debug");
	return DHO_OK;
}

static int
cfg_check_broker_url(const char *v, char *why, size_t len)
{
	static const char *const schemes[] = { "tcp://", "ssl://", "mqtt://", "mqtts://" };

	for (size_t i = 0; i < CFG_N(schemes); i++)
		if (strncmp(v, schemes[i], strlen(schemes[i])) == 0)
			return net_parse_hostport(v + strlen(schemes[i]), false, NULL, NULL, why, len);
	return dho_fail(why, len, DHO_EINVAL, "must start with tcp://, ssl://, mqtt:// or mqtts:// "
	                "(e.g. tcp://127.0.0.1:1883)");
}

static int
cfg_check_ident(const char *v, char *why, size_t len)
{
	if (!ident_valid(v))
		return dho_fail(why, len, DHO_EINVAL, "not a valid identifier (1-64 characters of "
		                "A-Z a-z 0-9 . _ - :)");
	return DHO_OK;
}

static int
cfg_check_team(const char *v, char *why, size_t len)
{
	if (!ident_team_valid(v))
		return dho_fail(why, len, DHO_EINVAL,
		                "not a valid team name (KIND/NAME, each 1-64 characters "
		                "of A-Z a-z 0-9 . _ - :)");
	return DHO_OK;
}

/* A prefix is a run of topic levels: no wildcards, no empty level. */
static int
cfg_check_prefix(const char *v, char *why, size_t len)
{
	size_t n = strlen(v);

	if (strpbrk(v, "+#") != NULL)
		return dho_fail(why, len, DHO_EINVAL, "must not contain the wildcards + or #");
	if (v[0] == '/' || v[n - 1] == '/' || strstr(v, "//") != NULL)
		return dho_fail(why, len, DHO_EINVAL,
		                "must be topic levels separated by single '/' "
		                "(e.g. dho/v1)");
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return dho_fail(why, len, DHO_EINVAL, "must not contain spaces");
	return DHO_OK;
}

/* MQTT filter rules: + fills a whole level, # is the whole last level. */
static int
cfg_check_filter(const char *v, char *why, size_t len)
{
	for (const char *p = v; *p; p++) {
		bool starts = p == v || p[-1] == '/';
		bool ends = p[1] == '\0' || p[1] == '/';

		if (*p == '+' && !(starts && ends))
			return dho_fail(why, len, DHO_EINVAL,
			                "+ must stand for a whole topic level (a/+/b)");
		if (*p == '#' && !(starts && p[1] == '\0'))
			return dho_fail(why, len, DHO_EINVAL,
			                "# must be the whole last topic level (a/#)");
	}
	return DHO_OK;
}

static int
cfg_check_webhook(const char *v, char *why, size_t len)
{
	const char *rest;

	if (strncmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		rest = v + 8;
	else
		return dho_fail(why, len, DHO_EINVAL, "must start with http:// or https://");
	if (*rest == '\0' || *rest == '/' || *rest == ':')
		return dho_fail(why, len, DHO_EINVAL, "the host is missing");
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return dho_fail(why, len, DHO_EINVAL, "must not contain spaces");
	return DHO_OK;
}

static int
cfg_check_modbus_url(const char *v, char *why, size_t len)
{
	return mbus_parse_url(v, NULL, why, len);
}

/* The workspace binds a numeric address: a host name could resolve to
 * several, and which one it listened on would then be a guess. */
int
config_split_listen(const char *v, char *addr, size_t addrlen, int *port)
{
	const char *colon, *a = v, *ae;
	unsigned char sa[sizeof(struct in6_addr)];
	char *end;
	long p;
	bool v6 = v[0] == '[';

	if (v6) {
		a = v + 1;
		if ((ae = strchr(a, ']')) == NULL || ae[1] != ':')
			return DHO_EINVAL;
		colon = ae + 1;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			return DHO_EINVAL;
		ae = colon;
	}
	if (ae == a || (size_t)(ae - a) >= addrlen)
		return DHO_EINVAL;
	memcpy(addr, a, (size_t)(ae - a));
	addr[ae - a] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, sa) != 1)
		return DHO_EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		return DHO_EINVAL;
	*port = (int)p;
	return DHO_OK;
}

static int
cfg_check_listen(const char *v, char *why, size_t len)
{
	char addr[64];
	int port;

	if (config_split_listen(v, addr, sizeof(addr), &port) != DHO_OK)
		return dho_fail(why, len, DHO_EINVAL,
		                "must be ADDRESS:PORT with a numeric address, e.g. "
		                "127.0.0.1:8080 or [::1]:8080, and a port 1-65535");
	return DHO_OK;
}

static void
cfg_free_tenants(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntenants; i++)
		free(cfg->tenants[i]);
	free(cfg->tenants);
	cfg->tenants = NULL;
	cfg->ntenants = 0;
}

/* "*" or a comma-separated list of tenant identifiers. The whole list is
 * checked before the old one is replaced. */
static int
cfg_set_tenants(struct config *cfg, const char *v, char *why, size_t len)
{
	char item[DHO_ID_MAX + 2];
	char **list = NULL;
	size_t n = 0;
	const char *p = v;
	int rc = DHO_EINVAL;

	if (strcmp(v, "*") == 0) {
		cfg_free_tenants(cfg);
		cfg->all_tenants = true;
		return DHO_OK;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		char **grown;

		if (!ident_trim_copy(p, e, item, sizeof(item))) {
			snprintf(why, len, "an empty or over-long item; write tenant names separated "
			         "by commas, or * for all");
			goto fail;
		}
		if (strcmp(item, "*") == 0) {
			snprintf(why, len, "* (all tenants) cannot be combined with names");
			goto fail;
		}
		if (!ident_valid(item)) {
			snprintf(why, len, "'%s' is not a valid tenant identifier (1-64 characters "
			         "of A-Z a-z 0-9 . _ - :)", item);
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(list[i], item) == 0) {
				snprintf(why, len, "'%s' is listed twice", item);
				goto fail;
			}
		}
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL)
			goto nomem;
		list = grown;
		list[n] = strdup(item);
		if (list[n] == NULL)
			goto nomem;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	cfg_free_tenants(cfg);
	cfg->tenants = list;
	cfg->ntenants = n;
	cfg->all_tenants = false;
	return DHO_OK;
nomem:
	snprintf(why, len, "out of memory");
	rc = DHO_ENOMEM;
fail:
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

static int
cfg_set(const struct cfg_opt *o, void *base, const char *v, char *why, size_t len)
{
	char *field = (char *)base + o->offset;
	char dmin[32], dmax[32];
	char *end;
	long lv;
	int64_t sv;
	int iv;

	switch (o->type) {
	case CFG_STR:
		if (*v == '\0' && (o->flags & (CFG_NONEMPTY | CFG_REQUIRED)))
			return dho_fail(why, len, DHO_EINVAL, "must not be empty");
		if (strlen(v) >= o->size) {
			snprintf(why, len, "too long (at most %zu characters)", o->size - 1);
			return DHO_EINVAL;
		}
		if (*v != '\0' && o->check != NULL && o->check(v, why, len) != DHO_OK)
			return DHO_EINVAL;
		memcpy(field, v, strlen(v) + 1);
		return DHO_OK;
	case CFG_INT:
		errno = 0;
		lv = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 || lv < o->min || lv > o->max) {
			snprintf(why, len, "must be a whole number from %ld to %ld", o->min, o->max);
			return DHO_EINVAL;
		}
		iv = (int)lv;
		memcpy(field, &iv, sizeof(iv));
		return DHO_OK;
	case CFG_SECONDS:
		if (timefmt_parse_duration(v, &sv) != DHO_OK || sv < o->min || sv > o->max) {
			timefmt_format_duration(o->min, dmin, sizeof(dmin));
			timefmt_format_duration(o->max, dmax, sizeof(dmax));
			snprintf(why, len, "must be a duration from %s to %s (seconds, or with a unit: "
			         "90s, 15m, 4h, 1d)", dmin, dmax);
			return DHO_EINVAL;
		}
		iv = (int)sv;
		memcpy(field, &iv, sizeof(iv));
		return DHO_OK;
	case CFG_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++) {
			if (strcmp(v, o->choices[i]) == 0) {
				memcpy(field, &i, sizeof(i));
				return DHO_OK;
			}
		}
		{
			struct dynbuf b;

			dynbuf_init_fixed(&b, why, len);
			dynbuf_adds(&b, "must be one of");
			for (int i = 0; o->choices[i] != NULL; i++)
				dynbuf_addf(&b, "%s %s", i ? "," : "", o->choices[i]);
		}
		return DHO_EINVAL;
	case CFG_TENANTS:
		return cfg_set_tenants(base, v, why, len);
	}
	return dho_fail(why, len, DHO_EINVAL, "internal error: unknown option type");
}

/* Applies every default of a table; a failure is a bug in the table. */
static int
cfg_apply_defaults(const struct cfg_section *s, void *base)
{
	char why[DHO_ERRLEN];

	for (size_t i = 0; i < s->nopts; i++) {
		if (s->opts[i].def == NULL)
			continue;
		if (cfg_set(&s->opts[i], base, s->opts[i].def, why, sizeof(why)) != DHO_OK)
			return DHO_EINVAL;
	}
	return DHO_OK;
}

/* Where the objects of each named section kind live in struct config: the
 * array, its count, the size of one object and of its name. */
struct cfg_array {
	size_t items, count, size, name, namelen;
};

#define CFG_ARRAY(field, n, type)                                                  \
	{ offsetof(struct config, field), offsetof(struct config, n), sizeof(struct type), \
	  offsetof(struct type, name), sizeof(((struct type *)0)->name) }

static const struct cfg_array cfg_arrays[SEC_COUNT] = {
	[SEC_TENANT] = CFG_ARRAY(tenant_defs, ntenant_defs, cfg_tenant),
	[SEC_TEAM] = CFG_ARRAY(teams, nteams, cfg_team),
	[SEC_PROGRAM] = CFG_ARRAY(programs, nprograms, cfg_program),
	[SEC_INPUT] = CFG_ARRAY(inputs, ninputs, cfg_input),
	[SEC_MODBUS] = CFG_ARRAY(modbus, nmodbus, cfg_modbus),
};

/* The array a describes (NULL while it is empty); the pointer is read with
 * memcpy, as the field is a pointer to its own struct type. */
static char *
cfg_items(struct config *cfg, const struct cfg_array *a)
{
	char *items;

	memcpy(&items, (char *)cfg + a->items, sizeof(items));
	return items;
}

/* The object i of a named section kind k, or cfg itself for the others. */
static void *
cfg_base(struct config *cfg, enum cfg_kind k, size_t i)
{
	const struct cfg_array *a = &cfg_arrays[k];

	if (a->size == 0)
		return cfg;
	return cfg_items(cfg, a) + i * a->size;
}

/* Copies a section name, which the caller has validated to fit. */
static void
cfg_name_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * Returns arr (of n elements) with room for element n, zeroed (arr itself
 * may then be invalid), or NULL with arr untouched. The room doubles when
 * n reaches a power of two, so that a file of many sections is read in
 * linear time rather than copying the array at every section.
 */
static void *
cfg_grow(void *arr, size_t n, size_t size)
{
	char *grown = arr;

	if (n == 0 || (n & (n - 1)) == 0) {
		if ((grown = realloc(arr, (n == 0 ? 1 : 2 * n) * size)) == NULL)
			return NULL;
	}
	memset(grown + n * size, 0, size);
	return grown;
}

/* Appends a zeroed, named, defaulted object for a named section. */
static int
cfg_add(struct config *cfg, enum cfg_kind k, const char *name, size_t *index)
{
	const struct cfg_array *a = &cfg_arrays[k];
	size_t *count = (size_t *)((char *)cfg + a->count);
	char *grown;

	if (a->size == 0)
		return DHO_EINVAL;
	if ((grown = cfg_grow(cfg_items(cfg, a), *count, a->size)) == NULL)
		return DHO_ENOMEM;
	memcpy((char *)cfg + a->items, &grown, sizeof(grown));
	cfg_name_copy(grown + *count * a->size + a->name, a->namelen, name);
	*index = (*count)++;
	return cfg_apply_defaults(&cfg_sections[k], cfg_base(cfg, k, *index));
}

static void
cfg_known_sections(char *buf, size_t len)
{
	struct dynbuf b;

	dynbuf_init_fixed(&b, buf, len);
	for (int k = 0; k < SEC_COUNT; k++) {
		const struct cfg_section *s = &cfg_sections[k];

		dynbuf_addf(&b, "%s[%s%s%s]", k ? ", " : "", s->name, s->placeholder ? ":" : "",
		            s->placeholder ? s->placeholder : "");
	}
}

/* FNV-1a: section and team names are short and few collide. */
static size_t
cfg_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/*
 * Looks up the section (k, name) among those read so far, through a hash,
 * so that a file of many sections is read in linear time. DHO_OK with its
 * index in *index, or DHO_ENOTFOUND with *slot the free slot to record it
 * in; the table is grown first when it would become half full.
 */
static int
cfg_inst_find(struct cfg_ctx *c, enum cfg_kind k, const char *name, size_t *index,
              size_t *slot)
{
	size_t h;

	if (2 * (c->ninsts + 1) > c->ninst_slots) {
		size_t n = c->ninst_slots ? 2 * c->ninst_slots : 64;
		size_t *grown = calloc(n, sizeof(*grown));

		if (grown == NULL)
			return DHO_ENOMEM;
		for (size_t i = 0; i < c->ninsts; i++) {
			h = (cfg_hash(c->insts[i].name) + c->insts[i].kind) & (n - 1);
			while (grown[h] != 0)
				h = (h + 1) & (n - 1);
			grown[h] = i + 1;
		}
		free(c->inst_slots);
		c->inst_slots = grown;
		c->ninst_slots = n;
	}
	h = (cfg_hash(name) + k) & (c->ninst_slots - 1);
	for (; c->inst_slots[h] != 0; h = (h + 1) & (c->ninst_slots - 1)) {
		const struct cfg_inst *in = &c->insts[c->inst_slots[h] - 1];

		if (in->kind == k && strcmp(in->name, name) == 0) {
			*index = c->inst_slots[h] - 1;
			return DHO_OK;
		}
	}
	*slot = h;
	return DHO_ENOTFOUND;
}

/* Opens the section named by the text between the brackets. A header in
 * error marks the section skipped, so its keys do not pile up more errors. */
static void
cfg_section_open(struct cfg_ctx *c, const char *text)
{
	/* name is as long as a line, so that an over-long name is reported as
	 * invalid rather than as missing. */
	char kindname[32], name[CFG_LINE_MAX + 1], known[512];
	const char *colon = strchr(text, ':');
	const char *kend = colon ? colon : text + strlen(text);
	const struct cfg_section *s = NULL;
	struct cfg_inst *inst, *grown;
	enum cfg_kind k = SEC_COUNT;
	size_t index = 0, slot[1];
	int rc;

	c->in_section = false;
	c->skip = true;
	if (!ident_trim_copy(text, kend, kindname, sizeof(kindname)))
		kindname[0] = '\0';
	for (int i = 0; i < SEC_COUNT; i++) {
		if (strcmp(kindname, cfg_sections[i].name) == 0) {
			k = (enum cfg_kind)i;
			s = &cfg_sections[i];
		}
	}
	if (s == NULL) {
		cfg_known_sections(known, sizeof(known));
		cfg_error(c, c->line, "unknown section [%s] (known: %s)", text, known);
		return;
	}
	name[0] = '\0';
	if (colon != NULL && !ident_trim_copy(colon + 1, colon + strlen(colon), name, sizeof(name)))
		name[0] = '\0';
	if (s->placeholder == NULL && colon != NULL) {
		cfg_error(c, c->line, "section [%s] takes no name: write [%s]", text, s->name);
		return;
	}
	if (s->placeholder != NULL && name[0] == '\0') {
		cfg_error(c, c->line, "section [%s] needs a name: [%s:%s]", text, s->name,
		          s->placeholder);
		return;
	}
	if (s->placeholder != NULL && !s->name_valid(name)) {
		if (k == SEC_TEAM)
			cfg_error(c, c->line, "[team:%s]: not a valid team name (KIND/NAME, each 1-64 "
			          "characters of A-Z a-z 0-9 . _ - :)", name);
		else
			cfg_error(c, c->line, "[%s:%s]: not a valid identifier (1-64 characters of "
			          "A-Z a-z 0-9 . _ - :)", s->name, name);
		return;
	}
	if ((rc = cfg_inst_find(c, k, name, &index, slot)) == DHO_OK) {
		cfg_error(c, c->line, "duplicate section [%s%s%s] (first at line %d)", s->name,
		          s->placeholder ? ":" : "", name, c->insts[index].line);
		return;
	}
	if (rc == DHO_ENOMEM) {
		c->rc = rc;
		cfg_error(c, c->line, "out of memory");
		return;
	}
	index = 0;
	if (s->placeholder != NULL && (rc = cfg_add(c->cfg, k, name, &index)) != DHO_OK) {
		c->rc = rc;
		cfg_error(c, c->line, "%s", rc == DHO_ENOMEM ? "out of memory" : "internal error");
		return;
	}
	grown = cfg_grow(c->insts, c->ninsts, sizeof(*c->insts));
	if (grown == NULL) {
		c->rc = DHO_ENOMEM;
		cfg_error(c, c->line, "out of memory");
		return;
	}
	c->insts = grown;
	inst = &c->insts[c->ninsts];
	memset(inst, 0, sizeof(*inst));
	inst->kind = k;
	inst->index = index;
	inst->line = c->line;
	/* A valid name fits: ident_team_valid() allows at most 64 + 1 + 64. */
	cfg_name_copy(inst->name, sizeof(inst->name), name);
	c->inst_slots[*slot] = c->ninsts + 1;
	c->cur = c->ninsts++;
	c->in_section = true;
	c->skip = false;
}

/* "hub" or "tenant:vefsn", as a section is written, for messages. */
static const char *
cfg_inst_label(const struct cfg_inst *inst, char *buf, size_t len)
{
	const struct cfg_section *s = &cfg_sections[inst->kind];

	snprintf(buf, len, "%s%s%s", s->name, s->placeholder ? ":" : "", inst->name);
	return buf;
}

static void
cfg_rule_key(struct cfg_ctx *c, struct cfg_inst *inst, const char *key, const char *spec)
{
	struct cfg_program *p = &c->cfg->programs[inst->index];
	struct cfg_rule *grown, *r;
	char err[DHO_ERRLEN], label[DHO_TEAM_MAX + 16];

	cfg_inst_label(inst, label, sizeof(label));
	for (size_t i = 0; i < p->nrules; i++) {
		if (strcmp(p->rules[i].key, key) == 0) {
			cfg_error(c, c->line, "[%s] duplicate key '%s' (first at line %d)", label, key,
			          p->rules[i].line);
			return;
		}
	}
	if (strlen(key) >= sizeof(p->rules[0].key)) {
		cfg_error(c, c->line, "[%s] %s: rule key too long (at most %zu characters)", label,
		          key, sizeof(p->rules[0].key) - 1);
		return;
	}
	if (strlen(spec) >= sizeof(p->rules[0].spec)) {
		cfg_error(c, c->line, "[%s] %s: rule too long (at most %zu characters)", label, key,
		          sizeof(p->rules[0].spec) - 1);
		return;
	}
	if (*spec == '\0') {
		cfg_error(c, c->line, "[%s] %s: the rule is empty (write 'off' for news2, or drop "
		          "the key)", label, key);
		return;
	}
	grown = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	if (grown == NULL) {
		c->rc = DHO_ENOMEM;
		cfg_error(c, c->line, "out of memory");
		return;
	}
	p->rules = grown;
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	memcpy(r->key, key, strlen(key) + 1);
	memcpy(r->spec, spec, strlen(spec) + 1);
	r->line = c->line;
	err[0] = '\0';
	if (c->check != NULL && c->check(key, spec, err, sizeof(err)) != DHO_OK)
		cfg_error(c, c->line, "[%s] %s = %s: %s", label, key, spec,
		          err[0] ? err : "not a valid rule");
}

static void
cfg_register_key(struct cfg_ctx *c, struct cfg_inst *inst, const char *key, const char *v)
{
	struct cfg_modbus *m = &c->cfg->modbus[inst->index];
	const char *mname = key + strlen("register.");
	char label[DHO_TEAM_MAX + 16], why[DHO_ERRLEN], names[256];
	struct mbus_reg r;
	struct dynbuf b;
	enum metric metric;

	cfg_inst_label(inst, label, sizeof(label));
	if (metric_lookup(mname, &metric) != DHO_OK) {
		dynbuf_init_fixed(&b, names, sizeof(names));
		for (int i = 0; i < METRIC_COUNT; i++)
			dynbuf_addf(&b, "%s%s", i ? ", " : "", metric_name((enum metric)i));
		cfg_error(c, c->line, "[%s] %s: unknown metric '%s' (known: %s)", label, key, mname,
		          names);
		return;
	}
	for (size_t i = 0; i < m->nregs; i++) {
		if (m->regs[i].metric == metric) {
			cfg_error(c, c->line, "[%s] duplicate key '%s' (first at line %d)", label, key,
			          m->regs[i].line);
			return;
		}
	}
	if (m->nregs == MBUS_MAX_REGS) {
		cfg_error(c, c->line, "[%s] %s: at most %d registers per source", label, key,
		          MBUS_MAX_REGS);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (mbus_parse_reg(v, &r, why, sizeof(why)) != DHO_OK) {
		cfg_error(c, c->line, "[%s] %s = %s: %s", label, key, v, why);
		return;
	}
	r.metric = metric;
	r.line = c->line;
	m->regs[m->nregs++] = r;
}

static void
cfg_key(struct cfg_ctx *c, const char *key, const char *value)
{
	struct cfg_inst *inst;
	const struct cfg_section *s;
	char label[DHO_TEAM_MAX + 16], why[DHO_ERRLEN], known[512];
	struct dynbuf b;
	int rc;

	if (c->skip)
		return;
	if (!c->in_section) {
		cfg_error(c, c->line, "'%s' is outside any section (put it under [hub], "
		          "[broker], ...)", key);
		return;
	}
	inst = &c->insts[c->cur];
	s = &cfg_sections[inst->kind];
	cfg_inst_label(inst, label, sizeof(label));
	if (*key == '\0') {
		cfg_error(c, c->line, "[%s] the key name before '=' is missing", label);
		return;
	}
	for (size_t i = 0; i < s->nopts; i++) {
		const struct cfg_opt *o = &s->opts[i];

		if (strcmp(key, o->name) != 0)
			continue;
		if (inst->keyline[i] != 0) {
			cfg_error(c, c->line, "[%s] duplicate key '%s' (first at line %d)", label, key,
			          inst->keyline[i]);
			return;
		}
		inst->keyline[i] = c->line;
		rc = cfg_set(o, cfg_base(c->cfg, inst->kind, inst->index), value, why, sizeof(why));
		if (rc == DHO_ENOMEM)
			c->rc = rc;
		if (rc != DHO_OK)
			cfg_error(c, c->line, "[%s] %s = %s: %s", label, key, value, why);
		return;
	}
	if (inst->kind == SEC_PROGRAM) {
		cfg_rule_key(c, inst, key, value);
		return;
	}
	if (inst->kind == SEC_MODBUS && strncmp(key, "register.", 9) == 0) {
		cfg_register_key(c, inst, key, value);
		return;
	}
	dynbuf_init_fixed(&b, known, sizeof(known));
	for (size_t i = 0; i < s->nopts; i++)
		dynbuf_addf(&b, "%s%s", i ? ", " : "", s->opts[i].name);
	if (s->extra_key != NULL)
		dynbuf_addf(&b, ", %s", s->extra_key);
	cfg_error(c, c->line, "[%s] unknown key '%s' (known: %s)", label, key, known);
}

/* Every key error is reported by us, so the handler never fails: a zero
 * return would only make inih remember a line we have already reported.
 * section and lineno are inih's view, which our reader keeps for itself. */
static int
cfg_handler(void *user, const char *section, const char *name, const char *value, int lineno)
{
	(void)section;
	(void)lineno;
	cfg_key(user, name, value ? value : "");
	return 1;
}

/* Mirrors inih's test for a key line: '=' or ':' before any inline comment
 * (';' after whitespace). */
static bool
cfg_has_separator(const char *s)
{
	bool was_space = false;

	for (; *s; s++) {
		if (*s == '=' || *s == ':')
			return true;
		if (was_space && *s == ';')
			return false;
		was_space = isspace((unsigned char)*s) != 0;
	}
	return false;
}

/*
 * Reads one physical line for inih, counting lines. Only key lines reach
 * inih, stripped of their indentation (so inih never takes an indented line
 * as the continuation of the previous value); everything else is handed over
 * as an empty line after we have dealt with it, so inih's line count stays
 * equal to ours.
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *c = stream;
	size_t n = 0, total = 0;
	bool nul = false;
	char *p, *e;
	int ch = 0;

	if (num < 2 || c->stopped)
		return NULL;
	while (total <= CFG_LINE_MAX && c->bytes <= CFG_FILE_MAX &&
	       (ch = getc(c->in)) != EOF && ch != '\n') {
		total++;
		c->bytes++;
		if (ch == '\0')
			nul = true;
		if (n < CFG_LINE_MAX)
			c->buf[n++] = (char)ch;
	}
	if (ch == EOF && total == 0)
		return NULL;
	c->line++;
	c->bytes++;                  /* the newline */
	if (c->bytes > CFG_FILE_MAX) {
		cfg_error(c, c->line, "the file is larger than %ld bytes (1 MiB): not a "
		          "configuration file", CFG_FILE_MAX);
		c->stopped = true;
		return NULL;
	}
	if (total > CFG_LINE_MAX) {
		cfg_error(c, c->line, "line longer than %d bytes: not a configuration file",
		          CFG_LINE_MAX);
		c->stopped = true;
		return NULL;
	}
	c->buf[n] = '\0';
	p = c->buf;
	if (c->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	str[0] = '\n';
	str[1] = '\0';
	if (nul) {
		cfg_error(c, c->line, "the line contains a NUL byte");
	} else if (total > CFG_LINE_MAX || (size_t)(e - p) + 2 > (size_t)num) {
		cfg_error(c, c->line, "line too long (at most %d characters)",
		          num - 2 < CFG_LINE_MAX ? num - 2 : CFG_LINE_MAX);
	} else if (*p == '\0' || *p == ';' || *p == '#') {
		/* blank or comment */
	} else if (*p == '[') {
		char *close = strchr(p, ']');
		const char *after = close ? close + 1 + strspn(close + 1, " \t") : NULL;

		if (close == NULL) {
			cfg_error(c, c->line, "section header without ']'");
			c->in_section = false;
			c->skip = true;
		} else if (*after != '\0' && *after != ';' && *after != '#') {
			cfg_error(c, c->line, "unexpected text after the section header");
			c->in_section = false;
			c->skip = true;
		} else {
			*close = '\0';
			cfg_section_open(c, p + 1);
		}
	} else if (!cfg_has_separator(p)) {
		cfg_error(c, c->line, "expected 'key = value' or '[section]'");
	} else {
		memcpy(str, p, (size_t)(e - p));
		str[e - p] = '\n';
		str[e - p + 1] = '\0';
	}
	return str;
}

static int
cfg_opt_index(enum cfg_kind k, const char *name)
{
	for (size_t i = 0; i < cfg_sections[k].nopts; i++)
		if (strcmp(cfg_sections[k].opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct cfg_inst *
cfg_find_inst(const struct cfg_ctx *c, enum cfg_kind k)
{
	for (size_t i = 0; i < c->ninsts; i++)
		if (c->insts[i].kind == k)
			return &c->insts[i];
	return NULL;
}

/* A team named but without a [team:] section still gets its alerts on
 * <prefix>/alerts/<team>; it just has no webhook and ends its chain. A
 * dashboard-only team is a normal setup, so it is a warning, not an error. */
static void
cfg_check_team_ref(struct cfg_ctx *c, const struct cfg_inst *inst, const char *key,
                   const char *team)
{
	char label[DHO_TEAM_MAX + 16];
	int ki = cfg_opt_index(inst->kind, key);

	if (team[0] == '\0' || config_team(c->cfg, team) != NULL)
		return;
	cfg_warning(c, ki >= 0 && inst->keyline[ki] ? inst->keyline[ki] : inst->line,
	            "[%s] %s: team %s has no [team:%s] section: its alerts go to MQTT only "
	            "(no webhook, no further escalation)", cfg_inst_label(inst, label, sizeof(label)),
	            key, team, team);
}

/* Builds config_team()'s hash, so that a lookup is one probe, not a walk
 * of every team: the checks below and the engine look teams up often. */
static int
cfg_index_teams(struct config *cfg)
{
	size_t n = 16;

	while (n < 2 * cfg->nteams)
		n *= 2;
	free(cfg->team_slots);
	cfg->nteam_slots = 0;
	if ((cfg->team_slots = calloc(n, sizeof(*cfg->team_slots))) == NULL)
		return DHO_ENOMEM;
	cfg->nteam_slots = n;
	for (size_t i = 0; i < cfg->nteams; i++) {
		size_t h = cfg_hash(cfg->teams[i].name) & (n - 1);

		while (cfg->team_slots[h] != 0)
			h = (h + 1) & (n - 1);
		cfg->team_slots[h] = i + 1;
	}
	return DHO_OK;
}

/*
 * An escalation chain that comes back to where it started would pass an
 * alert around for ever instead of reminding at the end of the chain. Each
 * loop is reported once, at the escalate_to of its first team in the file.
 * Every team is visited once (a walk stops at a team an earlier walk has
 * finished), so a chain of ten thousand teams costs ten thousand steps.
 */
static void
cfg_check_loops(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	int ki = cfg_opt_index(SEC_TEAM, "escalate_to");
	size_t *walk = NULL;       /* 0: not seen; else 1 + the walk that saw it */
	size_t *inst_of = NULL;    /* team index -> its instance */

	if (cfg->nteams == 0)
		return;
	walk = calloc(cfg->nteams, sizeof(*walk));
	inst_of = calloc(cfg->nteams, sizeof(*inst_of));
	if (walk == NULL || inst_of == NULL) {
		c->rc = DHO_ENOMEM;
		cfg_error(c, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->ninsts; i++)
		if (c->insts[i].kind == SEC_TEAM)
			inst_of[c->insts[i].index] = i;
	for (size_t i = 0; i < cfg->nteams; i++) {
		const struct cfg_team *t = &cfg->teams[i];

		if (strcmp(t->escalate_to, t->name) == 0)
			cfg_error(c, c->insts[inst_of[i]].keyline[ki], "[team:%s] escalate_to: a team "
			          "cannot escalate to itself", t->name);
	}
	for (size_t i = 0; i < cfg->nteams; i++) {
		const struct cfg_team *t = &cfg->teams[i], *start;
		struct dynbuf b;
		size_t lowest;
		char chain[768];

		/* Follow the chain until it ends, reaches a team an earlier walk
		 * saw, or comes back to a team of this walk: a loop. */
		while (walk[t - cfg->teams] == 0) {
			walk[t - cfg->teams] = i + 1;
			if (strcmp(t->escalate_to, t->name) == 0)
				break;   /* reported above */
			t = config_team(cfg, t->escalate_to);
			if (t == NULL)
				break;
		}
		if (t == NULL || walk[t - cfg->teams] != i + 1 || strcmp(t->escalate_to, t->name) == 0)
			continue;
		/* t is on the loop: report it at its first team in the file. */
		start = t;
		lowest = (size_t)(t - cfg->teams);
		do {
			t = config_team(cfg, t->escalate_to);
			if ((size_t)(t - cfg->teams) < lowest)
				lowest = (size_t)(t - cfg->teams);
		} while (t != start);
		start = &cfg->teams[lowest];
		dynbuf_init_fixed(&b, chain, sizeof(chain));
		dynbuf_adds(&b, start->name);
		t = start;
		do {
			t = config_team(cfg, t->escalate_to);
			dynbuf_addf(&b, " -> %s", t->name);
		} while (t != start);
		cfg_error(c, c->insts[inst_of[lowest]].keyline[ki], "[team:%s] escalate_to: the "
		          "escalation chain is a loop (%s)", start->name, chain);
	}
out:
	free(walk);
	free(inst_of);
}

/* Reports path (the value of key at line) when it cannot be read; true
 * when it can, with its mode in *mode. */
static bool
cfg_check_readable(struct cfg_ctx *c, int line, const char *label, const char *key,
                   const char *path, mode_t *mode)
{
	struct stat sb;
	FILE *f = fopen(path, "r");
	int ch, err;

	if (f == NULL) {
		cfg_error(c, line, "[%s] %s = %s: cannot read: %s", label, key, path, strerror(errno));
		return false;
	}
	/* fopen() opens a directory; reading it fails. */
	ch = getc(f);
	err = ferror(f) ? errno : 0;
	if (err == 0 && fstat(fileno(f), &sb) != 0)
		err = errno;
	fclose(f);
	if (err != 0) {
		cfg_error(c, line, "[%s] %s = %s: cannot read: %s", label, key, path, strerror(err));
		return false;
	}
	if (ch == EOF) {
		cfg_error(c, line, "[%s] %s = %s: the file is empty", label, key, path);
		return false;
	}
	*mode = sb.st_mode;
	return true;
}

/*
 * The files [broker] and the teams' webhook_ca name must be readable now,
 * not at the first connect hours later; the password must not be readable
 * by anyone but its owner. Only check-config and run look (they load
 * without CONFIG_NO_WARNINGS): the other commands never open these files,
 * and an operator's account that may run them need not be able to read
 * the hub's secrets. broker is NULL when the file has no [broker].
 */
static void
cfg_check_files(struct cfg_ctx *c, const struct cfg_inst *broker)
{
	static const char *const keys[] = { "password_file", "ca_file", "cert_file", "key_file" };
	const char *paths[] = { c->cfg->password_file, c->cfg->ca_file, c->cfg->cert_file,
	                        c->cfg->key_file };

	if (c->flags & CONFIG_NO_WARNINGS)
		return;
	for (size_t i = 0; broker != NULL && i < CFG_N(keys); i++) {
		int line = broker->keyline[cfg_opt_index(SEC_BROKER, keys[i])];
		mode_t mode;

		if (paths[i][0] == '\0' ||
		    !cfg_check_readable(c, line, "broker", keys[i], paths[i], &mode))
			continue;
		if (i == 0 && (mode & (S_IRGRP | S_IROTH)) != 0)
			cfg_error(c, line, "[broker] password_file = %s: readable by group or others "
			          "(mode %03o); make it readable by the hub's user only (chmod 600)",
			          paths[i], (unsigned)(mode & 0777));
	}
	for (size_t i = 0; i < c->ninsts; i++) {
		const struct cfg_inst *inst = &c->insts[i];
		const char *ca;
		char label[DHO_TEAM_MAX + 16];
		mode_t mode;

		if (inst->kind != SEC_TEAM)
			continue;
		ca = c->cfg->teams[inst->index].webhook_ca;
		if (ca[0] != '\0')
			cfg_check_readable(c, inst->keyline[cfg_opt_index(SEC_TEAM, "webhook_ca")],
			                   cfg_inst_label(inst, label, sizeof(label)), "webhook_ca", ca,
			                   &mode);
	}
}

static void
cfg_cross_check(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	const struct cfg_inst *broker = cfg_find_inst(c, SEC_BROKER);
	char label[DHO_TEAM_MAX + 16];

	if (cfg_index_teams(cfg) != DHO_OK) {
		c->rc = DHO_ENOMEM;
		cfg_error(c, 0, "out of memory");
		return;
	}

	for (size_t i = 0; i < c->ninsts; i++) {
		const struct cfg_inst *inst = &c->insts[i];
		const struct cfg_section *s = &cfg_sections[inst->kind];

		cfg_inst_label(inst, label, sizeof(label));
		for (size_t j = 0; j < s->nopts; j++)
			if ((s->opts[j].flags & CFG_REQUIRED) && inst->keyline[j] == 0)
				cfg_error(c, inst->line, "[%s] has no %s (required: %s)", label,
				          s->opts[j].name, s->opts[j].help);
		switch (inst->kind) {
		case SEC_TENANT:
			cfg_check_team_ref(c, inst, "home_team", cfg->tenant_defs[inst->index].home_team);
			cfg_check_team_ref(c, inst, "hospital_team",
			                   cfg->tenant_defs[inst->index].hospital_team);
			break;
		case SEC_TEAM:
			if (strcmp(cfg->teams[inst->index].escalate_to, cfg->teams[inst->index].name) != 0)
				cfg_check_team_ref(c, inst, "escalate_to",
				                   cfg->teams[inst->index].escalate_to);
			break;
		case SEC_PROGRAM:
			if (cfg->programs[inst->index].nrules == 0)
				cfg_warning(c, inst->line, "[%s] has no rules: its patients are never "
				            "alerted on", label);
			break;
		case SEC_INPUT: {
			const char *tenant = cfg->inputs[inst->index].tenant;
			int ki = cfg_opt_index(SEC_INPUT, "tenant");

			if (tenant[0] == '\0')
				break;
			if (!config_serves_tenant(cfg, tenant))
				cfg_error(c, inst->keyline[ki], "[%s] tenant: %s is not among the tenants "
				          "this hub serves ([broker] tenants)", label, tenant);
			else if (cfg->ntenant_defs > 0 && config_tenant(cfg, tenant) == NULL)
				cfg_warning(c, inst->keyline[ki], "[%s] tenant: %s has no [tenant:%s] "
				            "section", label, tenant, tenant);
			break;
		}
		case SEC_MODBUS: {
			const struct cfg_modbus *m = &cfg->modbus[inst->index];
			int ku = cfg_opt_index(SEC_MODBUS, "unit_id");

			if (m->nregs == 0)
				cfg_error(c, inst->line, "[%s] has no register.METRIC keys: nothing to poll",
				          label);
			/* On a serial line 0 is the broadcast address, which never
			 * answers a read, and 248-255 are reserved (Modbus over
			 * serial line, 2.2); TCP gateways use all of 0-255. */
			if (strncmp(m->url, "rtu:", 4) == 0 && (m->unit_id < 1 || m->unit_id > 247))
				cfg_error(c, inst->keyline[ku] ? inst->keyline[ku] : inst->line,
				          "[%s] unit_id = %d: on an RTU line the unit id must be from 1 "
				          "to 247", label, m->unit_id);
			break;
		}
		default:
			break;
		}
	}
	cfg_check_loops(c);
	if (broker != NULL) {
		int kc = cfg_opt_index(SEC_BROKER, "cert_file");
		int kk = cfg_opt_index(SEC_BROKER, "key_file");
		int kt = cfg_opt_index(SEC_BROKER, "tenants");

		if (cfg->cert_file[0] != '\0' && cfg->key_file[0] == '\0')
			cfg_error(c, broker->keyline[kc], "[broker] cert_file needs key_file (the "
			          "certificate's private key)");
		if (cfg->key_file[0] != '\0' && cfg->cert_file[0] == '\0')
			cfg_error(c, broker->keyline[kk], "[broker] key_file needs cert_file (the client "
			          "certificate)");
		for (size_t i = 0; cfg->ntenant_defs > 0 && i < cfg->ntenants; i++)
			if (config_tenant(cfg, cfg->tenants[i]) == NULL)
				cfg_warning(c, broker->keyline[kt], "[broker] tenants: %s has no "
				            "[tenant:%s] section: its patients cannot be enrolled",
				            cfg->tenants[i], cfg->tenants[i]);
	}
	cfg_check_files(c, broker);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	cfg_free_tenants(cfg);
	for (size_t i = 0; i < cfg->nprograms; i++)
		free(cfg->programs[i].rules);
	free(cfg->programs);
	free(cfg->tenant_defs);
	free(cfg->teams);
	free(cfg->team_slots);
	free(cfg->inputs);
	free(cfg->modbus);
	free(cfg);
}

int
config_load(const char *path, config_rule_check_fn check, FILE *errs, struct config **out)
{
	return config_load_flags(path, check, errs, 0, out);
}

int
config_load_flags(const char *path, config_rule_check_fn check, FILE *errs, unsigned flags,
                  struct config **out)
{
	struct cfg_ctx c;
	int rc = DHO_OK, ini;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.file = path ? path : "built-in defaults";
	c.errs = errs;
	c.check = check;
	c.flags = flags;
	c.cfg = calloc(1, sizeof(*c.cfg));
	if (c.cfg == NULL)
		return DHO_ENOMEM;
	for (int k = SEC_HUB; k <= SEC_HTTP; k++) {
		if ((rc = cfg_apply_defaults(&cfg_sections[k], c.cfg)) != DHO_OK) {
			cfg_error(&c, 0, "internal error: a built-in default does not parse");
			goto fail;
		}
	}
	if (path == NULL)
		goto done;
	if (strlen(path) >= sizeof(c.cfg->file)) {
		cfg_error(&c, 0, "the file name is too long");
		rc = DHO_EINVAL;
		goto fail;
	}
	memcpy(c.cfg->file, path, strlen(path) + 1);
	c.in = fopen(path, "r");
	if (c.in == NULL) {
		cfg_error(&c, 0, "cannot open: %s", strerror(errno));
		rc = DHO_EINVAL;
		goto fail;
	}
	ini = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	if (ferror(c.in))
		cfg_error(&c, 0, "read error after line %d", c.line);
	fclose(c.in);
	if (ini == -2) {
		c.rc = DHO_ENOMEM;
		cfg_error(&c, 0, "out of memory");
	} else if (ini != 0 && c.nerrors == 0) {
		/* Our reader filters every line inih would reject; this is a guard
		 * against an inih that parses differently. */
		cfg_error(&c, ini, "cannot parse this line");
	}
	cfg_cross_check(&c);
done:
	if (c.nerrors > 0) {
		rc = c.rc == DHO_ENOMEM ? DHO_ENOMEM : DHO_EINVAL;
		goto fail;
	}
	free(c.insts);
	free(c.inst_slots);
	*out = c.cfg;
	return DHO_OK;
fail:
	free(c.insts);
	free(c.inst_slots);
	config_free(c.cfg);
	return rc;
}

const struct cfg_tenant *
config_tenant(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->ntenant_defs; i++)
		if (strcmp(cfg->tenant_defs[i].name, name) == 0)
			return &cfg->tenant_defs[i];
	return NULL;
}

const struct cfg_team *
config_team(const struct config *cfg, const char *name)
{
	if (name != NULL && cfg->nteam_slots > 0) {
		size_t h = cfg_hash(name) & (cfg->nteam_slots - 1);

		for (; cfg->team_slots[h] != 0; h = (h + 1) & (cfg->nteam_slots - 1))
			if (strcmp(cfg->teams[cfg->team_slots[h] - 1].name, name) == 0)
				return &cfg->teams[cfg->team_slots[h] - 1];
		return NULL;
	}
	for (size_t i = 0; name != NULL && i < cfg->nteams; i++)
		if (strcmp(cfg->teams[i].name, name) == 0)
			return &cfg->teams[i];
	return NULL;
}

const struct cfg_program *
config_program(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->nprograms; i++)
		if (strcmp(cfg->programs[i].name, name) == 0)
			return &cfg->programs[i];
	return NULL;
}

bool
config_serves_tenant(const struct config *cfg, const char *tenant)
{
	if (tenant == NULL)
		return false;
	if (cfg->all_tenants)
		return true;
	for (size_t i = 0; i < cfg->ntenants; i++)
		if (strcmp(cfg->tenants[i], tenant) == 0)
			return true;
	return false;
}

void
config_print_reference(FILE *out)
{
	char left[160];

	for (int k = 0; k < SEC_COUNT; k++) {
		const struct cfg_section *s = &cfg_sections[k];

		fprintf(out, "%s[%s%s%s]  ; %s\n", k ? "\n" : "", s->name, s->placeholder ? ":" : "",
		        s->placeholder ? s->placeholder : "", s->help);
		for (size_t i = 0; i < s->nopts; i++) {
			const struct cfg_opt *o = &s->opts[i];

			snprintf(left, sizeof(left), "%s = %s", o->name, o->def ? o->def : "");
			fprintf(out, "%-36s ; %s%s\n", left, o->flags & CFG_REQUIRED ? "(required) " : "",
			        o->help);
		}
		if (s->extra_key != NULL) {
			snprintf(left, sizeof(left), "%s = %s", s->extra_key, s->extra_value);
			fprintf(out, "%-36s ; %s\n", left, s->extra_help);
		}
	}
}

/* Text for a roff line: backslashes doubled, and a leading '.' or '\''
 * kept from being read as a request. */
static void
cfg_roff(FILE *out, const char *text)
{
	if (text[0] == '.' || text[0] == '\'')
		fputs("\\&", out);
	for (const char *p = text; *p; p++) {
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out);
		else
			fputc(*p, out);
	}
}

void
config_print_man(FILE *out)
{
	for (int k = 0; k < SEC_COUNT; k++) {
		const struct cfg_section *s = &cfg_sections[k];

		fprintf(out, ".SS [%s%s%s]\n", s->name, s->placeholder ? ":" : "",
		        s->placeholder ? s->placeholder : "");
		cfg_roff(out, s->help);
		fputs(".\n", out);
		for (size_t i = 0; i < s->nopts; i++) {
			const struct cfg_opt *o = &s->opts[i];

			fputs(".TP\n.B \"", out);
			cfg_roff(out, o->name);
			fputs(" = ", out);
			cfg_roff(out, o->def ? o->def : "");
			fputs("\"\n", out);
			if (o->flags & CFG_REQUIRED)
				fputs("(required) ", out);
			cfg_roff(out, o->help);
			fputs(o->def == NULL ? ".\n" : o->def[0] == '\0' ? ". Default: empty.\n"
			      : ". Default: ", out);
			if (o->def != NULL && o->def[0] != '\0') {
				cfg_roff(out, o->def);
				fputs(".\n", out);
			}
		}
		if (s->extra_key != NULL) {
			fputs(".TP\n.B \"", out);
			cfg_roff(out, s->extra_key);
			fputs(" = ", out);
			cfg_roff(out, s->extra_value);
			fputs("\"\n", out);
			cfg_roff(out, s->extra_help);
			fputs(".\n", out);
		}
	}
}
