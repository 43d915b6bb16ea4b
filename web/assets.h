/*
 * assets: the workspace's page (HTML, CSS, JavaScript and the vendored
 * uPlot), compiled into the binary from web/static and web/vendor by
 * web/embed.cmake, so that `dhohub web` needs no files beside it and the
 * page loads nothing from another host.
 */
#ifndef ASSETS_H
#define ASSETS_H

#include <stddef.h>

/* One file of the page; the table is generated (web/embed.cmake). */
struct asset {
	const char *path;          /* the URL path it is served at */
	const char *type;          /* its Content-Type */
	const unsigned char *data; /* its bytes, followed by a NUL not counted in len */
	size_t len;
};

/*
 * Finds the file served at the URL path (without its query): "/" is the
 * page itself. Returns DHO_OK with *data, *len and *type pointing into
 * static storage (never freed, valid for the life of the process), or
 * DHO_ENOTFOUND for any other path, including one with "..".
 */
int asset_find(const char *path, const unsigned char **data, size_t *len, const char **type);

#endif
