/*
 * test_config.c: the configuration loader (docs/man/dhohub.conf.5.in).
 *
 * Each test writes a small file, loads it with errors captured in memory,
 * and checks the loaded values or the exact "FILE:LINE: message" lines.
 * The shipped example config must load without a single message.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dho.h"
#include "engine.h"

/* One loaded file: its path, the messages printed while loading, the result. */
struct loaded {
	char path[64];
	char *msgs;
	size_t msglen;
	struct config *cfg;
	int rc;
};

static void
load_text(const char *text, struct loaded *l, config_rule_check_fn check)
{
	FILE *f, *errs;
	int fd;

	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "/tmp/dho-test-config-XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	errs = open_memstream(&l->msgs, &l->msglen);
	assert_non_null(errs);
	l->rc = config_load(l->path, check, errs, &l->cfg);
	assert_int_equal(fclose(errs), 0);
	if (l->rc != DHO_OK)
		assert_null(l->cfg);
}

static void
load_done(struct loaded *l)
{
	unlink(l->path);
	config_free(l->cfg);
	free(l->msgs);
}

/* The number of lines printed. */
static int
count_msgs(const struct loaded *l)
{
	int n = 0;

	for (const char *p = l->msgs; *p; p++)
		n += *p == '\n';
	return n;
}

/* Asserts that a message "PATH:LINE: ...needle..." was printed. */
static void
expect_msg(const struct loaded *l, int line, const char *needle)
{
	char prefix[96];
	const char *p = l->msgs;
	size_t plen;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", l->path, line);
	plen = strlen(prefix);
	while (p != NULL && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char one[1024];

		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		if (strncmp(one, prefix, plen) == 0 && strstr(one + plen, needle) != NULL)
			return;
		p = eol ? eol + 1 : NULL;
	}
	fail_msg("no message '%s...%s' in:\n%s", prefix, needle, l->msgs);
}

/* Loads text that must fail with exactly one error, at line, saying needle. */
static void
expect_one_error(const char *text, int line, const char *needle)
{
	struct loaded l;

	load_text(text, &l, NULL);
	if (l.rc != DHO_EINVAL || count_msgs(&l) != 1) {
		print_error("for:\n%s\n", text);
		assert_int_equal(l.rc, DHO_EINVAL);
		assert_int_equal(count_msgs(&l), 1);
	}
	expect_msg(&l, line, needle);
	load_done(&l);
}

/* Loads text that must succeed with no message at all. */
static void
expect_clean(const char *text, struct loaded *l)
{
	load_text(text, l, NULL);
	if (l->rc != DHO_OK || l->msgs[0] != '\0')
		fail_msg("for:\n%s\ngot rc %d and:\n%s", text, l->rc, l->msgs);
}

static void
test_defaults(void **state)
{
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load(NULL, NULL, stderr, &cfg), DHO_OK);
	assert_string_equal(cfg->file, "");
	assert_string_equal(cfg->timezone, "Europe/Oslo");
	assert_string_equal(cfg->log_level, "info");
	assert_string_equal(cfg->broker_url, "tcp://127.0.0.1:1883");
	assert_string_equal(cfg->client_id, "dhohub");
	assert_string_equal(cfg->username, "");
	assert_string_equal(cfg->password_file, "");
	assert_string_equal(cfg->ca_file, "");
	assert_string_equal(cfg->cert_file, "");
	assert_string_equal(cfg->key_file, "");
	assert_string_equal(cfg->topic_prefix, "dho/v1");
	assert_true(cfg->all_tenants);
	assert_int_equal(cfg->ntenants, 0);
	assert_true(config_serves_tenant(cfg, "anyone"));
	assert_string_equal(cfg->store_path, "dhohub.db");
	assert_int_equal(cfg->durability, CFG_DURABILITY_NORMAL);
	assert_int_equal(cfg->ack_s_yellow, 14400);
	assert_int_equal(cfg->ack_s_red, 900);
	assert_int_equal(cfg->clear_after, 2);
	assert_int_equal(cfg->ntenant_defs, 0);
	assert_int_equal(cfg->nteams, 0);
	assert_int_equal(cfg->nprograms, 0);
	assert_int_equal(cfg->ninputs, 0);
	assert_int_equal(cfg->nmodbus, 0);
	config_free(cfg);
}

static void
test_empty_file_is_defaults(void **state)
{
	struct loaded l;

	(void)state;
	expect_clean("; nothing but a comment\n\n# and another\n", &l);
	assert_string_equal(l.cfg->file, l.path);
	assert_string_equal(l.cfg->timezone, "Europe/Oslo");
	assert_true(l.cfg->all_tenants);
	load_done(&l);
}

/*
 * [broker] names files that check-config and run must be able to read. A
 * fresh directory with password (mode 0600), ca.pem, cert.pem and key.pem;
 * subst() writes its path wherever text says /etc/dhohub/.
 */
static void
make_files(char *dir, size_t len)
{
	static const char *const names[] = { "password", "ca.pem", "cert.pem", "key.pem" };
	char path[128];

	snprintf(dir, len, "/tmp/dho-test-files-XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("x\n", f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(chmod(path, 0600), 0);
	}
}

static void
remove_files(const char *dir)
{
	static const char *const names[] = { "password", "ca.pem", "cert.pem", "key.pem" };
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* text with each "/etc/dhohub/" replaced by "DIR/" (malloc'd). */
static char *
subst(const char *text, const char *dir)
{
	size_t cap = strlen(text) * 2 + 1;
	char *out = malloc(cap), *o = out;
	const char *p;

	assert_non_null(out);
	while ((p = strstr(text, "/etc/dhohub/")) != NULL) {
		o += snprintf(o, cap - (size_t)(o - out), "%.*s%s/", (int)(p - text), text, dir);
		text = p + strlen("/etc/dhohub/");
	}
	snprintf(o, cap - (size_t)(o - out), "%s", text);
	return out;
}

static void
test_every_key(void **state)
{
	static const char text[] =
		"[hub]\n"
		"timezone = UTC\n"
		"log_level = debug\n"
		"[broker]\n"
		"url = ssl://broker.example.org:8883\n"
		"client_id = hub-2\n"
		"username = dhohub\n"
		"password_file = /etc/dhohub/password\n"
		"ca_file = /etc/dhohub/ca.pem\n"
		"cert_file = /etc/dhohub/cert.pem\n"
		"key_file = /etc/dhohub/key.pem\n"
		"topic_prefix = helse/dho/v2\n"
		"tenants = vefsn, rana,alstahaug\n"
		"[store]\n"
		"path = /var/lib/dhohub/hub.db\n"
		"durability = full\n"
		"[alerts]\n"
		"ack_s.yellow = 2h\n"
		"ack_s.red = 600\n"
		"clear_after = 3\n"
		"[tenant:vefsn]\n"
		"home_team = home-nursing/vefsn\n"
		"hospital_team = hospital-dho/mosjoen\n"
		"hospital_days = 21\n"
		"[tenant:rana]\n"
		"home_team = home-nursing/rana\n"
		"[tenant:alstahaug]\n"
		"home_team = home-nursing/alstahaug\n"
		"[team:home-nursing/vefsn]\n"
		"escalate_to = hospital-dho/mosjoen\n"
		"webhook = https://alerts.example.org/hook?team=vefsn\n"
		"[team:hospital-dho/mosjoen]\n"
		"[team:home-nursing/rana]\n"
		"[team:home-nursing/alstahaug]\n"
		"[program:copd]\n"
		"threshold.spo2 = red<88 yellow<92\n"
		"missing.spo2 = 26h red:48h\n"
		"[input:omg]\n"
		"topic = home/+/BTtoMQTT/#\n"
		"format = omg-gatt\n"
		"tenant = rana\n"
		"[modbus:oxy-12]\n"
		"url = rtu:/dev/ttyUSB0:19200:8E1\n"
		"unit_id = 7\n"
		"interval_s = 1m\n"
		"device = oxy-12\n"
		"register.spo2 = 0:input:uint16:0.1\n"
		"register.weight = 0x10:holding:float32_le:1\n";
	struct loaded l;
	const struct config *c;
	const struct cfg_modbus *m;
	char dir[64], want[128], *real;

	(void)state;
	make_files(dir, sizeof(dir));
	real = subst(text, dir);
	expect_clean(real, &l);
	free(real);
	c = l.cfg;
	assert_string_equal(c->timezone, "UTC");
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->broker_url, "ssl://broker.example.org:8883");
	assert_string_equal(c->client_id, "hub-2");
	assert_string_equal(c->username, "dhohub");
	snprintf(want, sizeof(want), "%s/password", dir);
	assert_string_equal(c->password_file, want);
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(c->ca_file, want);
	snprintf(want, sizeof(want), "%s/cert.pem", dir);
	assert_string_equal(c->cert_file, want);
	snprintf(want, sizeof(want), "%s/key.pem", dir);
	assert_string_equal(c->key_file, want);
	remove_files(dir);
	assert_string_equal(c->topic_prefix, "helse/dho/v2");
	assert_false(c->all_tenants);
	assert_int_equal(c->ntenants, 3);
	assert_string_equal(c->tenants[0], "vefsn");
	assert_string_equal(c->tenants[1], "rana");
	assert_string_equal(c->tenants[2], "alstahaug");
	assert_true(config_serves_tenant(c, "rana"));
	assert_false(config_serves_tenant(c, "bodo"));
	assert_string_equal(c->store_path, "/var/lib/dhohub/hub.db");
	assert_int_equal(c->durability, CFG_DURABILITY_FULL);
	assert_int_equal(c->ack_s_yellow, 7200);
	assert_int_equal(c->ack_s_red, 600);
	assert_int_equal(c->clear_after, 3);

	assert_int_equal(c->ntenant_defs, 3);
	assert_string_equal(config_tenant(c, "vefsn")->home_team, "home-nursing/vefsn");
	assert_string_equal(config_tenant(c, "vefsn")->hospital_team, "hospital-dho/mosjoen");
	assert_int_equal(config_tenant(c, "vefsn")->hospital_days, 21);
	assert_string_equal(config_tenant(c, "rana")->hospital_team, "");
	assert_int_equal(config_tenant(c, "rana")->hospital_days, 14);
	assert_null(config_tenant(c, "bodo"));

	assert_int_equal(c->nteams, 4);
	assert_string_equal(config_team(c, "home-nursing/vefsn")->escalate_to, "hospital-dho/mosjoen");
	assert_string_equal(config_team(c, "home-nursing/vefsn")->webhook,
	                    "https://alerts.example.org/hook?team=vefsn");
	assert_string_equal(config_team(c, "hospital-dho/mosjoen")->escalate_to, "");
	assert_string_equal(config_team(c, "hospital-dho/mosjoen")->webhook, "");
	assert_null(config_team(c, "hospital-dho/bodo"));

	assert_int_equal(c->nprograms, 1);
	assert_non_null(config_program(c, "copd"));
	assert_null(config_program(c, "asthma"));
	assert_int_equal(config_program(c, "copd")->nrules, 2);
	assert_string_equal(c->programs[0].rules[0].key, "threshold.spo2");
	assert_string_equal(c->programs[0].rules[0].spec, "red<88 yellow<92");
	assert_int_equal(c->programs[0].rules[0].line, 36);
	assert_string_equal(c->programs[0].rules[1].key, "missing.spo2");
	assert_string_equal(c->programs[0].rules[1].spec, "26h red:48h");
	assert_int_equal(c->programs[0].rules[1].line, 37);

	assert_int_equal(c->ninputs, 1);
	assert_string_equal(c->inputs[0].name, "omg");
	assert_string_equal(c->inputs[0].topic, "home/+/BTtoMQTT/#");
	assert_int_equal(c->inputs[0].format, BRIDGE_OMG_GATT);
	assert_string_equal(c->inputs[0].tenant, "rana");

	assert_int_equal(c->nmodbus, 1);
	m = &c->modbus[0];
	assert_string_equal(m->name, "oxy-12");
	assert_string_equal(m->url, "rtu:/dev/ttyUSB0:19200:8E1");
	assert_int_equal(m->unit_id, 7);
	assert_int_equal(m->interval_s, 60);
	assert_string_equal(m->device, "oxy-12");
	assert_int_equal(m->nregs, 2);
	assert_int_equal(m->regs[0].metric, METRIC_SPO2);
	assert_int_equal(m->regs[0].address, 0);
	assert_int_equal(m->regs[0].table, MBUS_INPUT);
	assert_int_equal(m->regs[0].type, MBUS_UINT16);
	assert_int_equal(m->regs[0].order, MBUS_WORD_BE);
	assert_true(m->regs[0].scale == 0.1);
	assert_int_equal(m->regs[0].line, 47);
	assert_int_equal(m->regs[1].metric, METRIC_WEIGHT);
	assert_int_equal(m->regs[1].address, 16);
	assert_int_equal(m->regs[1].table, MBUS_HOLDING);
	assert_int_equal(m->regs[1].type, MBUS_FLOAT32);
	assert_int_equal(m->regs[1].order, MBUS_WORD_LE);
	assert_true(m->regs[1].scale == 1.0);
	load_done(&l);
}

static void
test_the_other_enum_values(void **state)
{
	struct loaded l;

	(void)state;
	expect_clean("[input:a]\ntopic = t/#\nformat = openmqttgateway\ntenant = x\n"
	             "[input:b]\ntopic = u/+\nformat = theengs\ntenant = x\n"
	             "[store]\ndurability = normal\n"
	             "[modbus:m]\nurl = tcp://[::1]:1502\ndevice = d\n"
	             "register.pulse = 65535:holding:int16:1\n"
	             "register.temp = 65534:input:int32:0.01\n"
	             "register.bp_sys = 3:input:uint32_be:-1\n", &l);
	assert_int_equal(l.cfg->inputs[0].format, BRIDGE_OPENMQTTGATEWAY);
	assert_int_equal(l.cfg->inputs[1].format, BRIDGE_THEENGS);
	assert_int_equal(l.cfg->durability, CFG_DURABILITY_NORMAL);
	assert_int_equal(l.cfg->modbus[0].unit_id, 1);
	assert_int_equal(l.cfg->modbus[0].interval_s, 10);
	assert_int_equal(l.cfg->modbus[0].regs[0].type, MBUS_INT16);
	assert_int_equal(l.cfg->modbus[0].regs[0].address, 65535);
	assert_int_equal(l.cfg->modbus[0].regs[1].type, MBUS_INT32);
	assert_int_equal(l.cfg->modbus[0].regs[2].type, MBUS_UINT32);
	assert_int_equal(l.cfg->modbus[0].regs[2].order, MBUS_WORD_BE);
	load_done(&l);
}

/* Layout the loader must take in its stride: CRLF, a BOM, indentation,
 * inline comments, "key: value", spaces inside the brackets. */
static void
test_layout(void **state)
{
	struct loaded l;

	(void)state;
	expect_clean("\xEF\xBB\xBF[hub]\r\n"
	             "   timezone = UTC   ; indented, with a comment\r\n"
	             "\tlog_level: warn\r\n"
	             "[ broker ]  ; comment after a header\n"
	             "url = tcp://h:1883\n"
	             "[team: a/b ]\n"
	             "webhook = http://h/a;b=c ; a ';' without a space before it is data\n", &l);
	assert_string_equal(l.cfg->timezone, "UTC");
	assert_string_equal(l.cfg->log_level, "warn");
	assert_string_equal(l.cfg->broker_url, "tcp://h:1883");
	assert_non_null(config_team(l.cfg, "a/b"));
	assert_string_equal(config_team(l.cfg, "a/b")->webhook, "http://h/a;b=c");
	load_done(&l);
}

static void
test_syntax_errors_all_reported(void **state)
{
	struct loaded l;

	(void)state;
	load_text("timezone = UTC\n"           /* 1: outside any section */
	          "[hub]\n"
	          "this line has no equals sign\n" /* 3 */
	          "[broker\n"                  /* 4 */
	          "url = tcp://x:1\n"          /* 5: skipped with its broken section */
	          "[store] path = x\n"         /* 6 */
	          "[alerts]\n"
	          "= 5\n"                      /* 8 */
	          "clear_after = 0\n",         /* 9 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 1, "'timezone' is outside any section");
	expect_msg(&l, 3, "expected 'key = value' or '[section]'");
	expect_msg(&l, 4, "section header without ']'");
	expect_msg(&l, 6, "unexpected text after the section header");
	expect_msg(&l, 8, "[alerts] the key name before '=' is missing");
	expect_msg(&l, 9, "[alerts] clear_after = 0: must be a whole number from 1 to 1000");
	assert_int_equal(count_msgs(&l), 6);
	load_done(&l);
}

static void
test_unknown_sections_and_keys(void **state)
{
	struct loaded l;

	(void)state;
	load_text("[hub]\n"
	          "timezone = UTC\n"
	          "colour = blue\n"            /* 3 */
	          "[mqtt]\n"                   /* 4 */
	          "host = x\n"                 /* keys of an unknown section are not repeated */
	          "[team:a/b]\n"
	          "webhok = http://x\n"        /* 7 */
	          "[modbus:m]\n"
	          "url = tcp://h:502\n"
	          "device = d\n"
	          "register.spo2 = 0:input:uint16:1\n"
	          "registers.pulse = 1:input:uint16:1\n" /* 12 */
	          "[hub:x]\n"                  /* 13 */
	          "[tenant]\n"                 /* 14 */
	          "[program:]\n",              /* 15 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 3, "[hub] unknown key 'colour' (known: timezone, log_level)");
	expect_msg(&l, 4, "unknown section [mqtt] (known: [hub], [broker], [store], [alerts], [http], "
	           "[tenant:NAME], [team:KIND/NAME], [program:NAME], [input:NAME], [modbus:NAME])");
	expect_msg(&l, 7, "[team:a/b] unknown key 'webhok' (known: escalate_to, webhook, webhook_ca)");
	expect_msg(&l, 12, "[modbus:m] unknown key 'registers.pulse' (known: url, unit_id, "
	           "interval_s, device, register.METRIC)");
	expect_msg(&l, 13, "section [hub:x] takes no name: write [hub]");
	expect_msg(&l, 14, "section [tenant] needs a name: [tenant:NAME]");
	expect_msg(&l, 15, "section [program:] needs a name: [program:NAME]");
	assert_int_equal(count_msgs(&l), 7);
	load_done(&l);
}

static void
test_duplicates(void **state)
{
	struct loaded l;

	(void)state;
	load_text("[hub]\n"
	          "timezone = UTC\n"
	          "timezone = Europe/Oslo\n"   /* 3 */
	          "[hub]\n"                    /* 4 */
	          "log_level = debug\n"
	          "[program:copd]\n"
	          "threshold.spo2 = red<88\n"
	          "threshold.spo2 = red<86\n"  /* 8 */
	          "[program:copd]\n"           /* 9 */
	          "[modbus:m]\n"
	          "url = tcp://h:502\n"
	          "device = d\n"
	          "register.spo2 = 0:input:uint16:1\n"
	          "register.spo2 = 1:input:uint16:1\n" /* 14 */
	          "[team:a/b]\n"
	          "[team:a/b]\n"               /* 16 */
	          "[broker]\n"
	          "tenants = a, b, a\n",       /* 18 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 3, "[hub] duplicate key 'timezone' (first at line 2)");
	expect_msg(&l, 4, "duplicate section [hub] (first at line 1)");
	expect_msg(&l, 8, "[program:copd] duplicate key 'threshold.spo2' (first at line 7)");
	expect_msg(&l, 9, "duplicate section [program:copd] (first at line 6)");
	expect_msg(&l, 14, "[modbus:m] duplicate key 'register.spo2' (first at line 13)");
	expect_msg(&l, 16, "duplicate section [team:a/b] (first at line 15)");
	expect_msg(&l, 18, "[broker] tenants = a, b, a: 'a' is listed twice");
	assert_int_equal(count_msgs(&l), 7);
	load_done(&l);
}

/* Bad values, one per file at line 2: the message says what is allowed. */
static void
test_bad_values(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[hub]\ntimezone = Mars/Olympus\n", "not a time zone known to this system" },
		{ "[hub]\ntimezone = ../etc/passwd\n", "must be a zone name" },
		{ "[hub]\ntimezone = Europe\n", "not a time zone known" },
		{ "[hub]\ntimezone =\n", "[hub] timezone = : must not be empty" },
		{ "[hub]\nlog_level = verbose\n", "must be one of error, warn, info, debug" },
		{ "[broker]\nurl = http://x:1883\n", "must start with tcp://, ssl://, mqtt:// or mqtts://" },
		{ "[broker]\nurl = 127.0.0.1:1883\n", "must start with tcp://" },
		{ "[broker]\nurl = tcp://\n", "the host is missing" },
		{ "[broker]\nurl = tcp://h:0\n", "the port must be a number from 1 to 65535" },
		{ "[broker]\nurl = tcp://h:65536\n", "the port must be a number from 1 to 65535" },
		{ "[broker]\nurl = tcp://h:18x3\n", "the port must be a number" },
		{ "[broker]\nurl = mqtt://h/path\n", "a path is not allowed" },
		{ "[broker]\nclient_id = dho hub\n", "not a valid identifier" },
		{ "[broker]\nclient_id = dho/hub\n", "not a valid identifier" },
		{ "[broker]\ntopic_prefix = dho/#\n", "must not contain the wildcards" },
		{ "[http]\nlisten = localhost:8080\n", "must be ADDRESS:PORT with a numeric address" },
		{ "[http]\nlisten = 127.0.0.1\n", "must be ADDRESS:PORT" },
		{ "[http]\nlisten = 127.0.0.1:0\n", "a port 1-65535" },
		{ "[http]\nlisten = ::1:8080\n", "must be ADDRESS:PORT" },
		{ "[http]\nsession_idle = 10s\n", "session_idle" },
		{ "[http]\nrequire_2fa = sometimes\n", "require_2fa" },
		{ "[broker]\ntopic_prefix = /dho\n", "single '/'" },
		{ "[broker]\ntopic_prefix = dho//v1\n", "single '/'" },
		{ "[broker]\ntopic_prefix = dho/v1/\n", "single '/'" },
		{ "[broker]\ntenants =\n", "an empty or over-long item" },
		{ "[broker]\ntenants = a,,b\n", "an empty or over-long item" },
		{ "[broker]\ntenants = *, a\n", "cannot be combined" },
		{ "[broker]\ntenants = a, b c\n", "'b c' is not a valid tenant identifier" },
		{ "[broker]\nusername = "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  "too long (at most 127 characters)" },
		{ "[store]\npath =\n", "must not be empty" },
		{ "[store]\ndurability = fast\n", "must be one of normal, full" },
		{ "[alerts]\nack_s.yellow = 0\n", "must be a duration from 1s to 30d" },
		{ "[alerts]\nack_s.red = 31d\n", "must be a duration from 1s to 30d" },
		{ "[alerts]\nack_s.red = -5\n", "must be a duration" },
		{ "[alerts]\nack_s.red = 15 m\n", "must be a duration" },
		{ "[alerts]\nclear_after = 1001\n", "must be a whole number from 1 to 1000" },
		{ "[alerts]\nclear_after = two\n", "must be a whole number" },
		{ "[alerts]\nclear_after = 2.5\n", "must be a whole number" },
		{ "[alerts]\nclear_after = 99999999999999999999\n", "must be a whole number" },
		{ "[tenant:t]\nhospital_days = 366\nhome_team = a/b\n[team:a/b]\n", "from 0 to 365" },
		{ "[tenant:t]\nhospital_days = -1\nhome_team = a/b\n[team:a/b]\n", "from 0 to 365" },
		{ "[tenant:t]\nhome_team = nursing\n", "not a valid team name (KIND/NAME" },
		{ "[tenant:t]\nhome_team = a/b/c\n", "not a valid team name" },
		{ "[tenant:t]\nhome_team =\n", "must not be empty" },
		{ "[team:a/b]\nescalate_to = c\n", "not a valid team name" },
		{ "[team:a/b]\nwebhook = ftp://x/y\n", "must start with http:// or https://" },
		{ "[team:a/b]\nwebhook = http:///y\n", "the host is missing" },
		{ "[input:i]\nformat = omg\ntopic = a\ntenant = t\n", "must be one of openmqttgateway, "
		  "theengs, omg-gatt" },
		{ "[input:i]\ntopic = a/b+/c\nformat = theengs\ntenant = t\n", "+ must stand for a whole" },
		{ "[input:i]\ntopic = a/#/c\nformat = theengs\ntenant = t\n", "# must be the whole last" },
		{ "[input:i]\ntenant = t t\ntopic = a\nformat = theengs\n", "not a valid identifier" },
		{ "[modbus:m]\nunit_id = 256\nurl = tcp://h:1\ndevice = d\n"
		  "register.spo2 = 0:input:uint16:1\n", "from 0 to 255" },
		{ "[modbus:m]\ninterval_s = 0\nurl = tcp://h:1\ndevice = d\n"
		  "register.spo2 = 0:input:uint16:1\n", "from 1s to 1d" },
		{ "[modbus:m]\ndevice = d e\nurl = tcp://h:1\n"
		  "register.spo2 = 0:input:uint16:1\n", "not a valid identifier" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_one_error(cases[i].text, 2, cases[i].msg);
}

static void
test_good_values(void **state)
{
	static const char *const cases[] = {
		"[broker]\nurl = tcp://127.0.0.1:1883\n",
		"[broker]\nurl = mqtt://broker\n",
		"[broker]\nurl = mqtts://broker.example.org:8883\n",
		"[broker]\nurl = ssl://[2001:db8::1]:8883\n",
		"[broker]\ntenants = *\n",
		"[broker]\ntenants = a\n",
		"[broker]\ntopic_prefix = dho\n",
		"[http]\nlisten = [::1]:8443\ntls_cert = c.pem\ntls_key = k.pem\n"
		"session_idle = 15m\nsession_max = 8h\nrequire_2fa = always\n",
		"[http]\nlisten = 0.0.0.0:80\n",
		"[alerts]\nack_s.red = 1\nack_s.yellow = 30d\nclear_after = 1000\n",
		"[hub]\nlog_level = error\ntimezone = America/New_York\n",
		"[tenant:t]\nhome_team = a/b\nhospital_days = 0\n[team:a/b]\n",
		"[team:a/b]\nwebhook = http://127.0.0.1:9000/alerts\n",
		"[input:i]\ntopic = #\nformat = theengs\ntenant = t\n",
		"[input:i]\ntopic = +/x/+\nformat = theengs\ntenant = t\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded l;

		expect_clean(cases[i], &l);
		load_done(&l);
	}
}

static void
test_invalid_section_names(void **state)
{
	(void)state;
	expect_one_error("[tenant:bad name]\nhome_team = a/b\n", 1,
	                 "[tenant:bad name]: not a valid identifier (1-64 characters");
	expect_one_error("[team:nursing]\n", 1, "[team:nursing]: not a valid team name (KIND/NAME");
	expect_one_error("[team:a/b c]\n", 1, "not a valid team name");
	expect_one_error("[program:copd!]\n", 1, "[program:copd!]: not a valid identifier");
	expect_one_error("[input:"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 1,
	                 "not a valid identifier");
	expect_one_error("[modbus:a/b]\n", 1, "[modbus:a/b]: not a valid identifier");
}

static void
test_modbus_urls(void **state)
{
	static const char *const good[] = {
		"tcp://127.0.0.1:1502", "tcp://plc.local:502", "tcp://[::1]:502",
		"rtu:/dev/ttyUSB0:9600:8N1", "rtu:/dev/ttyS1:115200:7E2",
		"rtu:/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0:19200:8O1",
	};
	static const struct {
		const char *url;
		const char *msg;
	} bad[] = {
		{ "tcp://127.0.0.1", "the port is missing" },
		{ "tcp://:502", "the host is missing" },
		{ "tcp://h:70000", "from 1 to 65535" },
		{ "udp://h:502", "must be tcp://HOST:PORT or rtu:DEVICE:BAUD:8N1" },
		{ "/dev/ttyUSB0", "must be tcp://HOST:PORT or rtu:DEVICE:BAUD:8N1" },
		{ "rtu:/dev/ttyUSB0", "expected rtu:DEVICE:BAUD:8N1" },
		{ "rtu:/dev/ttyUSB0:9600", "expected rtu:DEVICE:BAUD:8N1" },
		{ "rtu:/dev/ttyUSB0::8N1", "the baud rate must be a number" },
		{ "rtu:ttyUSB0:9600:8N1", "an absolute path" },
		{ "rtu:/dev/ttyUSB0:9601:8N1", "the baud rate must be one of" },
		{ "rtu:/dev/ttyUSB0:fast:8N1", "the baud rate must be a number" },
		{ "rtu:/dev/ttyUSB0:9600:9N1", "the frame must be" },
		{ "rtu:/dev/ttyUSB0:9600:8X1", "the frame must be" },
		{ "rtu:/dev/ttyUSB0:9600:8N3", "the frame must be" },
		{ "rtu:/dev/ttyUSB0:9600:8n1", "the frame must be" },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct loaded l;

		snprintf(text, sizeof(text), "[modbus:m]\nurl = %s\ndevice = d\n"
		         "register.spo2 = 0:input:uint16:1\n", good[i]);
		expect_clean(text, &l);
		assert_string_equal(l.cfg->modbus[0].url, good[i]);
		load_done(&l);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[modbus:m]\nurl = %s\ndevice = d\n"
		         "register.spo2 = 0:input:uint16:1\n", bad[i].url);
		expect_one_error(text, 2, bad[i].msg);
	}
}

/* On a serial line 0 is broadcast and 248-255 are reserved; TCP uses 0-255. */
static void
test_modbus_rtu_unit_id(void **state)
{
	struct loaded l;

	(void)state;
	expect_one_error("[modbus:m]\nurl = rtu:/dev/ttyUSB0:9600:8N1\nunit_id = 0\ndevice = d\n"
	                 "register.spo2 = 0:input:uint16:1\n", 3,
	                 "[modbus:m] unit_id = 0: on an RTU line the unit id must be from 1 to 247");
	expect_one_error("[modbus:m]\nurl = rtu:/dev/ttyUSB0:9600:8N1\ndevice = d\n"
	                 "register.spo2 = 0:input:uint16:1\nunit_id = 248\n", 5,
	                 "on an RTU line the unit id must be from 1 to 247");
	expect_clean("[modbus:m]\nurl = rtu:/dev/ttyUSB0:9600:8N1\nunit_id = 247\ndevice = d\n"
	             "register.spo2 = 0:input:uint16:1\n", &l);
	load_done(&l);
	expect_clean("[modbus:m]\nurl = tcp://h:502\nunit_id = 0\ndevice = d\n"
	             "register.spo2 = 0:input:uint16:1\n", &l);
	load_done(&l);
	expect_clean("[modbus:m]\nurl = tcp://h:502\nunit_id = 255\ndevice = d\n"
	             "register.spo2 = 0:input:uint16:1\n", &l);
	load_done(&l);
}

static void
test_modbus_registers(void **state)
{
	static const struct {
		const char *key;
		const char *value;
		const char *msg;
	} bad[] = {
		{ "register.oxygen", "0:input:uint16:1", "unknown metric 'oxygen' (known: spo2, pulse" },
		{ "register.", "0:input:uint16:1", "unknown metric ''" },
		{ "register.spo2", "0:input:uint16", "expected ADDRESS:TABLE:TYPE:SCALE" },
		{ "register.spo2", "0:input:uint16:1:2", "expected ADDRESS:TABLE:TYPE:SCALE" },
		{ "register.spo2", "0::uint16:1", "no empty part" },
		{ "register.spo2", "65536:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "-1:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "+1:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "0x:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "0x10000:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "40001a:input:uint16:1", "from 0 to 65535" },
		{ "register.spo2", "0:coil:uint16:1", "the table must be holding or input" },
		{ "register.spo2", "0:input:uint8:1", "the type must be int16, uint16, int32" },
		{ "register.spo2", "0:input:float64:1", "the type must be" },
		{ "register.spo2", "0:input:uint32_xx:1", "the word order suffix must be _be or _le" },
		{ "register.spo2", "0:input:uint16_le:1", "applies only to the 32-bit types" },
		{ "register.spo2", "65535:input:int32:1", "needs two registers" },
		{ "register.spo2", "65535:holding:float32_be:1", "needs two registers" },
		{ "register.spo2", "0:input:uint16:0", "the scale must be a non-zero number" },
		{ "register.spo2", "0:input:uint16:x", "the scale must be a non-zero number" },
		{ "register.spo2", "0:input:uint16:inf", "the scale must be a non-zero number" },
		{ "register.spo2", "0:input:uint16:nan", "the scale must be a non-zero number" },
		{ "register.spo2", "0:input:uint16:1e999", "the scale must be a non-zero number" },
	};
	char text[512];
	struct loaded l;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[modbus:m]\nurl = tcp://h:502\ndevice = d\n"
		         "register.pulse = 9:input:uint16:1\n%s = %s\n", bad[i].key, bad[i].value);
		expect_one_error(text, 5, bad[i].msg);
	}

	/* Spaces around the parts are tolerated; the sixteenth register is the last. */
	snprintf(text, sizeof(text), "[modbus:m]\nurl = tcp://h:502\ndevice = d\n"
	         "register.spo2 = 12 : holding : int32_be : 2.5\n");
	expect_clean(text, &l);
	assert_int_equal(l.cfg->modbus[0].regs[0].address, 12);
	assert_int_equal(l.cfg->modbus[0].regs[0].type, MBUS_INT32);
	assert_true(l.cfg->modbus[0].regs[0].scale == 2.5);
	load_done(&l);
}

static void
test_modbus_register_limit(void **state)
{
	char text[4096];
	size_t off;
	struct loaded l;

	(void)state;
	/* There are fewer metrics than MBUS_MAX_REGS, so the limit can
	 * only be reached through distinct metrics if METRIC_COUNT grows; check
	 * that every metric fits in one source. */
	off = (size_t)snprintf(text, sizeof(text), "[modbus:m]\nurl = tcp://h:502\ndevice = d\n");
	for (int i = 0; i < METRIC_COUNT; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		                        "register.%s = %d:input:uint16:1\n",
		                        metric_name((enum metric)i), i);
	expect_clean(text, &l);
	assert_int_equal(l.cfg->modbus[0].nregs, METRIC_COUNT);
	load_done(&l);
}

static void
test_required_keys(void **state)
{
	struct loaded l;

	(void)state;
	load_text("[input:omg]\n"              /* 1 */
	          "format = theengs\n"
	          "[modbus:a]\n"               /* 3 */
	          "url = tcp://h:502\n"
	          "[modbus:b]\n"               /* 5 */
	          "device = b\n"
	          "register.spo2 = 0:input:uint16:1\n"
	          "[tenant:t]\n"               /* 8 */
	          "hospital_days = 3\n",
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 1, "[input:omg] has no topic (required");
	expect_msg(&l, 1, "[input:omg] has no tenant (required");
	expect_msg(&l, 3, "[modbus:a] has no device (required");
	expect_msg(&l, 3, "[modbus:a] has no register.METRIC keys: nothing to poll");
	expect_msg(&l, 5, "[modbus:b] has no url (required");
	expect_msg(&l, 8, "[tenant:t] has no home_team (required");
	assert_int_equal(count_msgs(&l), 6);
	load_done(&l);

	expect_one_error("[input:i]\ntopic = a\ntenant = t\n", 1, "[input:i] has no format");
}

static void
test_cross_references(void **state)
{
	struct loaded l;
	char dir[64], *real;

	(void)state;
	/* A team without a section still receives alerts over MQTT: a warning. */
	load_text("[tenant:vefsn]\n"
	          "home_team = home-nursing/vefsn\n"
	          "hospital_team = hospital-dho/mosjoen\n" /* 3 */
	          "[team:home-nursing/vefsn]\n"
	          "escalate_to = hospital-dho/bodo\n",     /* 5 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_OK);
	expect_msg(&l, 3, "warning: [tenant:vefsn] hospital_team: team hospital-dho/mosjoen has "
	           "no [team:hospital-dho/mosjoen] section");
	expect_msg(&l, 5, "warning: [team:home-nursing/vefsn] escalate_to: team hospital-dho/bodo");
	assert_int_equal(count_msgs(&l), 2);
	load_done(&l);

	load_text("[team:a/one]\nescalate_to = a/two\n"   /* 2 */
	          "[team:a/two]\nescalate_to = a/three\n" /* 4 */
	          "[team:a/three]\nescalate_to = a/one\n" /* 6 */
	          "[team:a/four]\nescalate_to = a/two\n"  /* leads into the loop: not repeated */
	          "[team:a/self]\nescalate_to = a/self\n", /* 10 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "[team:a/one] escalate_to: the escalation chain is a loop "
	           "(a/one -> a/two -> a/three -> a/one)");
	expect_msg(&l, 10, "[team:a/self] escalate_to: a team cannot escalate to itself");
	assert_int_equal(count_msgs(&l), 2);
	load_done(&l);

	/* A two-team loop found from the second team's side is still reported once. */
	load_text("[team:x/end]\n[team:x/b]\nescalate_to = x/a\n[team:x/a]\nescalate_to = x/b\n",
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 3, "loop (x/b -> x/a -> x/b)");
	assert_int_equal(count_msgs(&l), 1);
	load_done(&l);

	load_text("[broker]\n"
	          "tenants = vefsn, rana\n"      /* 2 */
	          "[tenant:vefsn]\nhome_team = a/b\n"
	          "[team:a/b]\n"
	          "[input:omg]\ntopic = x/#\nformat = theengs\n"
	          "tenant = bodo\n"              /* 9 */
	          "[input:two]\ntopic = y/#\nformat = theengs\n"
	          "tenant = rana\n",             /* 13 */
	          &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 9, "[input:omg] tenant: bodo is not among the tenants this hub serves");
	expect_msg(&l, 13, "warning: [input:two] tenant: rana has no [tenant:rana] section");
	expect_msg(&l, 2, "warning: [broker] tenants: rana has no [tenant:rana] section");
	assert_int_equal(count_msgs(&l), 3);
	load_done(&l);

	make_files(dir, sizeof(dir));
	real = subst("[broker]\ncert_file = /etc/dhohub/cert.pem\n", dir);
	expect_one_error(real, 2, "[broker] cert_file needs key_file");
	free(real);
	real = subst("[broker]\nkey_file = /etc/dhohub/key.pem\n", dir);
	expect_one_error(real, 2, "[broker] key_file needs cert_file");
	free(real);
	remove_files(dir);

	load_text("[program:empty]\n", &l, NULL);
	assert_int_equal(l.rc, DHO_OK);
	expect_msg(&l, 1, "warning: [program:empty] has no rules");
	load_done(&l);
}

static void
test_no_warnings_flag(void **state)
{
	struct loaded l;
	struct config *cfg = NULL;
	char *msgs = NULL;
	size_t len = 0;
	FILE *errs;

	(void)state;
	load_text("[program:empty]\n[alerts]\nclear_after = 0\n", &l, NULL);
	assert_int_equal(count_msgs(&l), 2);
	errs = open_memstream(&msgs, &len);
	assert_int_equal(config_load_flags(l.path, NULL, errs, CONFIG_NO_WARNINGS, &cfg),
	                 DHO_EINVAL);
	fclose(errs);
	assert_null(cfg);
	assert_null(strstr(msgs, "warning"));
	assert_non_null(strstr(msgs, ":3: [alerts] clear_after = 0"));
	free(msgs);
	load_done(&l);
}

/* check-config and run read every file [broker] names; a password others
 * can read is refused. The other commands (CONFIG_NO_WARNINGS) do not
 * open these files and do not look. */
static void
test_broker_files(void **state)
{
	struct loaded l;
	struct config *cfg = NULL;
	char dir[64], path[128], *text;

	(void)state;
	make_files(dir, sizeof(dir));
	text = subst("[broker]\nca_file = /etc/dhohub/nothere.pem\n"
	             "cert_file = /etc/dhohub/cert.pem\nkey_file = /etc/dhohub/\n"
	             "password_file = /etc/dhohub/password\n", dir);
	load_text(text, &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "nothere.pem: cannot read: No such file or directory");
	expect_msg(&l, 4, "cannot read: Is a directory");
	assert_int_equal(count_msgs(&l), 2);
	assert_int_equal(config_load_flags(l.path, NULL, NULL, CONFIG_NO_WARNINGS, &cfg), DHO_OK);
	config_free(cfg);
	load_done(&l);
	free(text);

	snprintf(path, sizeof(path), "%s/password", dir);
	assert_int_equal(chmod(path, 0604), 0);
	text = subst("[broker]\npassword_file = /etc/dhohub/password\n", dir);
	expect_one_error(text, 2, "readable by group or others (mode 604); make it readable by "
	                 "the hub's user only (chmod 600)");
	assert_int_equal(chmod(path, 0600), 0);
	expect_clean(text, &l);
	load_done(&l);
	free(text);
	remove_files(dir);
}

/* A stand-in for the rules module: rejects any spec containing "bad". */
static int
fake_check(const char *key, const char *spec, char *err, size_t errlen)
{
	if (strstr(spec, "bad") != NULL) {
		snprintf(err, errlen, "position %d: expected a term (%s)",
		         (int)(strstr(spec, "bad") - spec) + 1, key);
		return DHO_EINVAL;
	}
	return DHO_OK;
}

static void
test_program_rules(void **state)
{
	struct loaded l;

	(void)state;
	load_text("[program:copd]\n"
	          "threshold.spo2 = red<88 bad\n"  /* 2 */
	          "missing.spo2 = 26h\n"
	          "news2 =\n"                      /* 4 */
	          "baseline.spo2 = yellow:-4 over 7d min 5\n"
	          "[program:hf]\n"
	          "trend.weight = bad\n",          /* 7 */
	          &l, fake_check);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "[program:copd] threshold.spo2 = red<88 bad: position 8: expected a "
	           "term (threshold.spo2)");
	expect_msg(&l, 4, "[program:copd] news2: the rule is empty");
	expect_msg(&l, 7, "[program:hf] trend.weight = bad: position 1");
	assert_int_equal(count_msgs(&l), 3);
	load_done(&l);

	load_text("[program:copd]\nthreshold.spo2 = red<88\n", &l, fake_check);
	assert_int_equal(l.rc, DHO_OK);
	assert_int_equal(l.cfg->programs[0].nrules, 1);
	load_done(&l);
}

/*
 * Files that are not configuration files: a line over 4 KiB or a file over
 * 1 MiB stops the reading with one error at FILE:LINE, and /dev/zero (no
 * newline, ever) is an error, not a read that never ends.
 */
static void
test_file_limits(void **state)
{
	static char text[(1 << 20) + 64];
	struct config *cfg = NULL;
	struct loaded l;
	char *msgs = NULL;
	size_t msglen = 0, off;
	FILE *errs;

	(void)state;
	off = (size_t)snprintf(text, sizeof(text), "[hub]\n; ");
	memset(text + off, 'y', 5000);
	snprintf(text + off + 5000, sizeof(text) - off - 5000, "\nfoo = 1\n");
	load_text(text, &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "line longer than 4096 bytes");
	assert_int_equal(count_msgs(&l), 1);
	load_done(&l);

	/* 1 MiB and a bit of short comment lines. */
	off = (size_t)snprintf(text, sizeof(text), "[hub]\n");
	while (off + 16 < sizeof(text) - 1) {
		memcpy(text + off, "; a comment ...\n", 16);
		off += 16;
	}
	text[off] = '\0';
	load_text(text, &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 65537, "larger than 1048576 bytes");
	assert_int_equal(count_msgs(&l), 1);
	load_done(&l);

	errs = open_memstream(&msgs, &msglen);
	assert_non_null(errs);
	assert_int_equal(config_load("/dev/zero", NULL, errs, &cfg), DHO_EINVAL);
	fclose(errs);
	assert_null(cfg);
	assert_non_null(strstr(msgs, "/dev/zero:1: line longer than 4096 bytes"));
	free(msgs);
}

/*
 * Ten thousand teams in one escalation chain, and the same closed into a
 * loop: each team is looked up and walked once (this took more than ten
 * minutes when every team walked the whole chain through a linear lookup;
 * the test's time limit is the guard).
 */
static void
test_long_chain(void **state)
{
	enum { N = 10000 };
	static char text[N * 80];
	struct loaded l;
	size_t off;

	(void)state;
	for (int loop = 0; loop < 2; loop++) {
		off = 0;
		for (int i = 0; i < N; i++) {
			off += (size_t)snprintf(text + off, sizeof(text) - off, "[team:home-nursing/t%d]\n",
			                        i);
			if (i + 1 < N || loop)
				off += (size_t)snprintf(text + off, sizeof(text) - off,
				                        "escalate_to = home-nursing/t%d\n", (i + 1) % N);
		}
		load_text(text, &l, NULL);
		if (!loop) {
			assert_int_equal(l.rc, DHO_OK);
			assert_non_null(config_team(l.cfg, "home-nursing/t9999"));
			assert_null(config_team(l.cfg, "home-nursing/t10000"));
		} else {
			assert_int_equal(l.rc, DHO_EINVAL);
			expect_msg(&l, 2, "[team:home-nursing/t0] escalate_to: the escalation chain is "
			           "a loop (home-nursing/t0 -> home-nursing/t1 -> ");
			assert_int_equal(count_msgs(&l), 1);
		}
		load_done(&l);
	}
}

static void
test_line_limits(void **state)
{
	char text[2600];
	struct loaded l;
	size_t off;

	(void)state;
	/* A line longer than inih can hold is one error at its own line, and
	 * the lines after it keep their numbers. */
	off = (size_t)snprintf(text, sizeof(text), "[team:a/b]\nwebhook = http://h/");
	memset(text + off, 'x', 300);
	off += 300;
	snprintf(text + off, sizeof(text) - off, "\nbogus = 1\n");
	load_text(text, &l, NULL);
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "line too long (at most");
	expect_msg(&l, 3, "[team:a/b] unknown key 'bogus'");
	assert_int_equal(count_msgs(&l), 2);
	load_done(&l);

	/* Longer than our own buffer too. */
	off = (size_t)snprintf(text, sizeof(text), "[hub]\n; ");
	memset(text + off, 'y', 2500);
	off += 2500;
	snprintf(text + off, sizeof(text) - off, "\nfoo = 1\n");
	load_text(text, &l, NULL);
	expect_msg(&l, 2, "line too long");
	expect_msg(&l, 3, "[hub] unknown key 'foo'");
	assert_int_equal(count_msgs(&l), 2);
	load_done(&l);

	/* An embedded NUL byte. */
	{
		static const char nul[] = "[hub]\ntime\0zone = UTC\nlog_level = debug\n";
		FILE *f;
		FILE *errs;
		int fd;

		memset(&l, 0, sizeof(l));
		snprintf(l.path, sizeof(l.path), "/tmp/dho-test-config-XXXXXX");
		fd = mkstemp(l.path);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
		fclose(f);
		errs = open_memstream(&l.msgs, &l.msglen);
		l.rc = config_load(l.path, NULL, errs, &l.cfg);
		fclose(errs);
	}
	assert_int_equal(l.rc, DHO_EINVAL);
	expect_msg(&l, 2, "the line contains a NUL byte");
	assert_int_equal(count_msgs(&l), 1);
	load_done(&l);

	/* The last line needs no newline. */
	expect_clean("[hub]\nlog_level = warn", &l);
	assert_string_equal(l.cfg->log_level, "warn");
	load_done(&l);
}

static void
test_missing_file(void **state)
{
	struct config *cfg = (struct config *)1;
	char *msgs = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msgs, &len);

	(void)state;
	assert_int_equal(config_load("/nonexistent/dhohub.conf", NULL, errs, &cfg), DHO_EINVAL);
	fclose(errs);
	assert_null(cfg);
	assert_string_equal(msgs, "/nonexistent/dhohub.conf: cannot open: No such file or directory\n");
	free(msgs);
	/* errs may be NULL. */
	assert_int_equal(config_load("/nonexistent/dhohub.conf", NULL, NULL, &cfg), DHO_EINVAL);
}

/* A full configuration with every section: it must load (the
 * teams it names without [team:] sections only draw warnings). */
static void
test_full_example(void **state)
{
	static const char text[] =
		"[hub]\n"
		"timezone = Europe/Oslo           ; for bare dates and BLE Date Time fields\n"
		"log_level = info                 ; error | warn | info | debug\n"
		"\n"
		"[broker]\n"
		"url = tcp://127.0.0.1:1883       ; ssl://host:8883 for TLS\n"
		"client_id = dhohub               ; fixed: the broker keeps this session while the hub is down\n"
		"username =\n"
		"password_file =\n"
		"ca_file =\n"
		"cert_file =\n"
		"key_file =\n"
		"topic_prefix = dho/v1\n"
		"tenants = vefsn, rana            ; tenants this hub serves; * = all\n"
		"\n"
		"[store]\n"
		"path = dhohub.db\n"
		"durability = normal              ; normal: survives a hub crash; full: also power loss\n"
		"\n"
		"[tenant:vefsn]\n"
		"home_team = home-nursing/vefsn\n"
		"hospital_team = hospital-dho/mosjoen\n"
		"hospital_days = 14               ; days after discharge the hospital team is responsible\n"
		"\n"
		"[team:home-nursing/vefsn]\n"
		"escalate_to = hospital-dho/mosjoen\n"
		"webhook = http://127.0.0.1:9000/alerts   ; optional; POST of each alert event\n"
		"\n"
		"[alerts]\n"
		"ack_s.yellow = 14400             ; unacknowledged this long: escalate\n"
		"ack_s.red = 900\n"
		"clear_after = 2                  ; consecutive normal readings that clear a condition\n"
		"\n"
		"[program:copd]\n"
		"threshold.spo2 = red<88 yellow<92\n"
		"missing.spo2 = 26h\n"
		"\n"
		"[input:omg]                      ; extra topics from third-party BLE bridges\n"
		"topic = home/+/BTtoMQTT/+\n"
		"format = openmqttgateway         ; or theengs, omg-gatt\n"
		"tenant = vefsn\n"
		"\n"
		"[modbus:oxy-12]\n"
		"url = tcp://127.0.0.1:1502       ; or rtu:/dev/ttyUSB0:9600:8N1\n"
		"unit_id = 1\n"
		"interval_s = 10\n"
		"device = oxy-12\n"
		"register.spo2 = 0:input:uint16:0.1      ; ADDRESS:TABLE:TYPE:SCALE\n"
		"register.pulse = 1:input:uint16:1       ; TABLE holding|input; TYPE int16|uint16|int32|uint32|float32 (+ _le/_be word order)\n";
	struct loaded l;

	(void)state;
	load_text(text, &l, NULL);
	if (l.rc != DHO_OK)
		fail_msg("%s", l.msgs);
	assert_null(strstr(l.msgs, ": warning: [tenant:vefsn] home_team"));
	assert_non_null(strstr(l.msgs, "warning: [tenant:vefsn] hospital_team"));
	assert_string_equal(config_team(l.cfg, "home-nursing/vefsn")->webhook,
	                    "http://127.0.0.1:9000/alerts");
	assert_int_equal(l.cfg->modbus[0].nregs, 2);
	assert_int_equal(l.cfg->inputs[0].format, BRIDGE_OPENMQTTGATEWAY);
	load_done(&l);
}

/* The configuration demo.c writes must load cleanly. */
static void
test_demo_config(void **state)
{
	struct loaded l;

	(void)state;
	expect_clean("[hub]\ntimezone = Europe/Oslo\n\n[broker]\nurl = tcp://127.0.0.1:40123\n"
	             "client_id = dhohub-demo\ntenants = vefsn\n\n[store]\npath = /tmp/x/demo.db\n\n"
	             "[tenant:vefsn]\nhome_team = home-nursing/vefsn\n"
	             "hospital_team = hospital-dho/mosjoen\nhospital_days = 14\n\n"
	             "[team:home-nursing/vefsn]\nescalate_to = hospital-dho/mosjoen\n\n"
	             "[team:hospital-dho/mosjoen]\n\n"
	             "[program:copd]\nthreshold.spo2 = red<88 yellow<92\n"
	             "threshold.pulse = red>130 yellow>110\n\n"
	             "[program:heart-failure]\nthreshold.weight = red>86 yellow>84\n"
	             "threshold.bp_sys = red<90 yellow<100 yellow>160\n", &l);
	load_done(&l);
}

/* Reads the whole of a file into a new string. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int ch;

	if (f == NULL)
		return NULL;
	out = open_memstream(&buf, &len);
	while ((ch = getc(f)) != EOF)
		putc(ch, out);
	fclose(out);
	fclose(f);
	return buf;
}

/* The shipped example loads without one message, its rules checked by the
 * real rule grammar as check-config does, and it names every key of the
 * reference (the option tables) in a "key =" line, set or commented. */
static void
test_shipped_example(void **state)
{
	const char *src = getenv("DHO_SOURCE_DIR");
	char path[1024];
	char *example, *ref = NULL, *msgs = NULL;
	size_t reflen = 0, msglen = 0;
	struct config *cfg = NULL;
	FILE *out, *errs;
	int keys = 0;

	(void)state;
	if (src == NULL)
		src = ".";
	snprintf(path, sizeof(path), "%s/dhohub.conf.example", src);
	errs = open_memstream(&msgs, &msglen);
	assert_int_equal(config_load(path, engine_config_check, errs, &cfg), DHO_OK);
	fclose(errs);
	if (msgs[0] != '\0')
		fail_msg("%s", msgs);
	free(msgs);
	assert_non_null(config_program(cfg, "copd"));
	assert_non_null(config_program(cfg, "heart-failure"));
	assert_non_null(config_program(cfg, "diabetes"));
	assert_non_null(config_tenant(cfg, "vefsn"));
	assert_true(cfg->nteams >= 2);
	config_free(cfg);

	example = slurp(path);
	assert_non_null(example);
	out = open_memstream(&ref, &reflen);
	config_print_reference(out);
	fclose(out);
	for (char *line = ref; line != NULL && *line; ) {
		char *eol = strchr(line, '\n');
		char *eq;

		if (eol)
			*eol = '\0';
		eq = strstr(line, " = ");
		/* Placeholders such as RULE = SPEC stand for keys the example shows
		 * by name (threshold.spo2 = ...). */
		if (line[0] != '[' && eq != NULL && eq > line && !isupper((unsigned char)line[0])) {
			char key[96];

			snprintf(key, sizeof(key), "\n%.*s =", (int)(eq - line), line);
			if (strstr(example, key) == NULL) {
				snprintf(key, sizeof(key), "\n; %.*s =", (int)(eq - line), line);
				if (strstr(example, key) == NULL)
					fail_msg("the example does not document '%.*s'", (int)(eq - line), line);
			}
			keys++;
		}
		line = eol ? eol + 1 : NULL;
	}
	assert_true(keys >= 29);  /* 29 when this test was written */
	free(ref);
	free(example);
}

static void
test_print_reference(void **state)
{
	char *ref = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&ref, &len);

	(void)state;
	config_print_reference(out);
	fclose(out);
	assert_non_null(strstr(ref, "[hub]"));
	assert_non_null(strstr(ref, "timezone = Europe/Oslo"));
	assert_non_null(strstr(ref, "tenants = *"));
	assert_non_null(strstr(ref, "ack_s.red = 900"));
	assert_non_null(strstr(ref, "[team:KIND/NAME]"));
	assert_non_null(strstr(ref, "register.METRIC = ADDRESS:TABLE:TYPE:SCALE"));
	assert_non_null(strstr(ref, "(required) MQTT topic filter"));
	free(ref);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_the_other_enum_values),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_syntax_errors_all_reported),
		cmocka_unit_test(test_unknown_sections_and_keys),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_invalid_section_names),
		cmocka_unit_test(test_modbus_urls),
		cmocka_unit_test(test_modbus_rtu_unit_id),
		cmocka_unit_test(test_modbus_registers),
		cmocka_unit_test(test_modbus_register_limit),
		cmocka_unit_test(test_required_keys),
		cmocka_unit_test(test_cross_references),
		cmocka_unit_test(test_no_warnings_flag),
		cmocka_unit_test(test_broker_files),
		cmocka_unit_test(test_program_rules),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_file_limits),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_demo_config),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_print_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
