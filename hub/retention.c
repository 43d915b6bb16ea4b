/*
 * retention.c: the daily purge (see retention.h).
 */
#include <inttypes.h>

#include "log.h"
#include "retention.h"

void
retention_tick(struct store *st, const struct config *cfg, dho_time_t now,
               dho_time_t *next_at)
{
	struct store_purge p;
	int rc;

	if (cfg->retention_days == 0 || now < *next_at)
		return;
	rc = store_purge(st, now, cfg->retention_days, "dhohub", &p);
	if (rc != DHO_OK) {
		log_error("retention: the purge failed: %s (%s); retrying in an hour",
		          dho_strerror(rc), store_errmsg(st));
		*next_at = now + 3600;
		return;
	}
	log_info("retention: deleted %" PRId64 " readings, %" PRId64 " alerts, %" PRId64
	         " outbox rows and %" PRId64 " quarantine entries of %" PRId64 " follow-ups that "
	         "ended %d or more days ago", p.readings, p.alerts, p.outbox, p.quarantine,
	         p.patients, cfg->retention_days);
	*next_at = now + 86400;
}
