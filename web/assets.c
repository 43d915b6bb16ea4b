/*
 * assets: the lookup over the generated table of the page's files. The
 * table is small (a handful of entries), so a linear scan is as fast as
 * anything and needs no index to keep in step with web/CMakeLists.txt.
 */
#include <string.h>

#include "assets.h"
#include "dho.h"

/* Defined in the generated web_assets_data.c, ended by a NULL path. */
extern const struct asset asset_table[];

int asset_find(const char *path, const unsigned char **data, size_t *len, const char **type)
{
	const struct asset *a;

	if (path == NULL)
		return DHO_ENOTFOUND;
	for (a = asset_table; a->path != NULL; a++) {
		if (strcmp(a->path, path) == 0) {
			*data = a->data;
			*len = a->len;
			*type = a->type;
			return DHO_OK;
		}
	}
	return DHO_ENOTFOUND;
}
