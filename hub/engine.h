/*
 * engine: evaluation of a patient's rules and the alerts that follow.
 *
 * The engine holds the parsed rules of every program. For each stored
 * reading it takes the patient's effective rules (the program's, with the
 * patient's overrides replacing those of the same key), evaluates those of
 * the reading's metric through the rules module, and opens or raises the
 * alert of each (patient, rule) with its event in the outbox. It runs inside
 * the caller's transaction, so a reading, its alert and the alert's event
 * commit together or not at all.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include "config.h"
#include "store.h"

struct engine;

/* Parses every [program:*] rule of cfg. The engine keeps cfg and st. */
int engine_new(const struct config *cfg, struct store *st, struct engine **out,
               char *err, size_t errlen);
void engine_free(struct engine *e);

/* Evaluates the rules of r's metric for patient p; writes alerts and events. */
int engine_reading(struct engine *e, const struct store_patient *p,
                   const struct store_reading *r, dho_time_t now);

/*
 * A nurse's action on alert id: ack or resolve, by who, with note (may be
 * NULL). Writes the alert and its events inside the caller's transaction.
 * DHO_ENOTFOUND for an unknown alert; DHO_EINVAL when the action does not
 * apply (acking an alert that is already acked or resolved).
 */
int engine_ack(struct engine *e, int64_t id, const char *by, const char *note,
               dho_time_t now);
int engine_resolve(struct engine *e, int64_t id, const char *by, const char *note,
                   dho_time_t now);

/*
 * The timers: escalates or reminds alerts whose ack deadline has passed.
 * Runs inside the caller's transaction; *work counts what it changed (at
 * most a bounded batch: call again while it is non-zero).
 */
int engine_tick(struct engine *e, dho_time_t now, int *work);

/* How many events this engine has written to the outbox (also those of
 * transactions that were rolled back): a change means there may be work
 * for the delivery. */
uint64_t engine_events(const struct engine *e);

typedef int (*engine_rule_cb)(void *ctx, const char *key, const char *spec,
                              const char *origin);

/* Lists p's effective rules, sorted by key, with their origin. */
int engine_rules(struct engine *e, const struct store_patient *p, engine_rule_cb cb,
                 void *ctx);

/* Validates "KEY = SPEC" (or key and spec apart when spec is not NULL) and
 * writes the normalized key and spec; the message names the position. */
int engine_check_rule(const char *key, const char *spec, char *nkey, size_t nkeylen,
                      char *nspec, size_t nspeclen, char *err, size_t errlen);

/* Fits config_rule_check_fn. */
int engine_config_check(const char *key, const char *spec, char *err, size_t errlen);

#endif
