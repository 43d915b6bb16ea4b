/*
 * retention: the daemon's daily purge of [store] retention_days
 * (docs/operations.md, "Retention"), through store_purge().
 */
#ifndef RETENTION_H
#define RETENTION_H

#include "config.h"
#include "dho.h"
#include "store.h"

/*
 * Purges when *next_at is due (0: at once, as when the daemon starts) and
 * sets when the next purge is due: a day later, or an hour later after a
 * failure. Does nothing while retention_days is 0. The caller holds the
 * store. The log line gives the counts, never a patient id.
 */
void retention_tick(struct store *st, const struct config *cfg, dho_time_t now,
                    dho_time_t *next_at);

#endif
