/*
 * config: the INI configuration (docs/man/dhohub.conf.5.in), read with inih
 * through a table of options (name, type, bounds, default, help). Every
 * error is reported as "FILE:LINE: message".
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "bridge.h"
#include "dho.h"
#include "mbus.h"
#include "metric.h"

enum cfg_durability { CFG_DURABILITY_NORMAL, CFG_DURABILITY_FULL };
enum cfg_2fa { CFG_2FA_NEVER, CFG_2FA_ALWAYS };

struct cfg_tenant {
	char name[DHO_ID_MAX + 1];
	char home_team[DHO_TEAM_MAX + 1];
	char hospital_team[DHO_TEAM_MAX + 1];
	int hospital_days;
};

struct cfg_team {
	char name[DHO_TEAM_MAX + 1];
	char escalate_to[DHO_TEAM_MAX + 1];  /* "" = end of the chain */
	char webhook[512];                   /* "" = none */
	char webhook_ca[512];                /* PEM CAs for an https webhook; "": the system's */
};

struct cfg_rule {
	char key[80];     /* "threshold.spo2" */
	char spec[256];   /* "red<88 yellow<92" */
	int line;         /* where it stood in the file, for error messages */
};

struct cfg_program {
	char name[DHO_ID_MAX + 1];
	struct cfg_rule *rules;
	size_t nrules;
};

struct cfg_input {
	char name[DHO_ID_MAX + 1];
	char topic[256];
	enum bridge_format format;
	char tenant[DHO_ID_MAX + 1];
};

struct cfg_modbus {
	char name[DHO_ID_MAX + 1];
	char url[256];        /* tcp://HOST:PORT or rtu:DEVICE:BAUD:8N1 */
	int unit_id;
	int interval_s;
	char device[DHO_ID_MAX + 1];
	struct mbus_reg regs[MBUS_MAX_REGS];
	size_t nregs;
};

/* The longest hospital phase after discharge, in days: one range for
 * [tenant:*] hospital_days and patient add --hospital-days. */
#define CFG_HOSPITAL_DAYS_MAX 365

struct config {
	char file[512];            /* "" when built-in defaults are used */
	/* [hub] */
	char timezone[64];
	char log_level[16];
	/* [broker] */
	char broker_url[256];
	char client_id[DHO_ID_MAX + 1];
	char username[128];
	char password_file[512];
	char ca_file[512];
	char cert_file[512];
	char key_file[512];
	char topic_prefix[128];
	bool all_tenants;          /* tenants = * */
	char **tenants;            /* served tenants when !all_tenants */
	size_t ntenants;
	/* [store] */
	char store_path[512];
	enum cfg_durability durability;
	int quarantine_max;        /* entries kept, the oldest pruned first */
	int retention_days;        /* 0: keep all */
	/* [alerts] */
	int ack_s_yellow;
	int ack_s_red;
	int clear_after;
	/* [http] */
	char http_listen[128];
	char http_tls_cert[512];
	char http_tls_key[512];
	int http_session_idle;
	int http_session_max;
	enum cfg_2fa http_require_2fa;
	/* sections with names */
	struct cfg_tenant *tenant_defs;   size_t ntenant_defs;
	struct cfg_team *teams;           size_t nteams;
	struct cfg_program *programs;     size_t nprograms;
	struct cfg_input *inputs;         size_t ninputs;
	struct cfg_modbus *modbus;        size_t nmodbus;
	/* config_team()'s hash of the team names: slots of index + 1 (0 is
	 * empty), a power of two at least twice nteams. */
	size_t *team_slots;               size_t nteam_slots;
};

/*
 * Checks one rule spec from a [program:*] section; returns DHO_OK or writes
 * a message (naming the position) into err. Supplied by the caller so that
 * config does not depend on the rules module.
 */
typedef int (*config_rule_check_fn)(const char *key, const char *spec,
                                    char *err, size_t errlen);

/*
 * Loads path into a new config. Every error is printed to errs as
 * "FILE:LINE: message" (all of them, not just the first); any error makes
 * the call return DHO_EINVAL (DHO_ENOMEM if an allocation failed) and *out
 * is NULL. Warnings ("FILE:LINE: warning: message", e.g. a team named
 * without a [team:] section) are printed too but do not fail the load.
 * path NULL gives the built-in defaults. check may be NULL: rule specs are
 * then stored unchecked. errs may be NULL to print nothing. The caller frees
 * *out with config_free().
 */
int config_load(const char *path, config_rule_check_fn check, FILE *errs,
                struct config **out);

/* config_load() with flags: CONFIG_NO_WARNINGS prints errors only, for
 * commands other than check-config and run, whose stderr should stay quiet
 * for a file that loads. It also skips the checks of the files [broker]
 * names (readable; password_file private), which only the daemon opens. */
#define CONFIG_NO_WARNINGS 1u
int config_load_flags(const char *path, config_rule_check_fn check, FILE *errs,
                      unsigned flags, struct config **out);

void config_free(struct config *cfg);

/* Lookups; NULL when absent. */
const struct cfg_tenant *config_tenant(const struct config *cfg, const char *name);
const struct cfg_team *config_team(const struct config *cfg, const char *name);
const struct cfg_program *config_program(const struct config *cfg, const char *name);
bool config_serves_tenant(const struct config *cfg, const char *tenant);

/*
 * Splits an [http] listen value "ADDRESS:PORT" ("[::1]:8080" for IPv6) into
 * the address (without brackets) and the port. DHO_EINVAL for anything else.
 */
int config_split_listen(const char *v, char *addr, size_t addrlen, int *port);

/* Prints every option with its default and help, as the example config. */
void config_print_reference(FILE *out);

/* The same as roff for dhohub.conf(5): a .SS per section, a .TP per key
 * with "key = default" and its help (docs/man/mangen.c puts it in). */
void config_print_man(FILE *out);

#endif
