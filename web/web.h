/*
 * web: `dhohub web`, the nurses' workspace over HTTP (docs/api.md):
 * the JSON API under /api/v1, its event stream, and the page. A process of
 * its own on the database `run` writes, so that HTTP never slows ingest.
 */
#ifndef WEB_H
#define WEB_H

#include "config.h"

/*
 * Serves cfg's [http] on the database at db_path until SIGTERM or SIGINT,
 * then returns 0 within 2 seconds, event streams open or not. Returns 1
 * when it cannot start (the reason on stderr), 2 for a configuration it
 * cannot use (unreadable TLS files).
 */
int web_run(const struct config *cfg, const char *db_path);

#endif
