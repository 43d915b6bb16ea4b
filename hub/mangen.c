/*
 * mangen.c: writes dhohub.conf(5) from its template, putting the keys of
 * the configuration's option table where the template says @KEYS@ and the
 * version where it says @VERSION@. The page is made at build time from the
 * same table the parser uses, so it cannot list a key the hub does not
 * know or miss one it does, nor give another default.
 *
 * usage: dho_mangen TEMPLATE OUTPUT VERSION
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

int
main(int argc, char **argv)
{
	char line[4096];
	FILE *in, *out;
	int rc = 0;

	if (argc != 4) {
		fputs("usage: dho_mangen TEMPLATE OUTPUT VERSION\n", stderr);
		return 2;
	}
	if ((in = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	if ((out = fopen(argv[2], "w")) == NULL) {
		perror(argv[2]);
		fclose(in);
		return 1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		char *v = strstr(line, "@VERSION@");

		if (strcmp(line, "@KEYS@\n") == 0)
			config_print_man(out);
		else if (v != NULL)
			fprintf(out, "%.*s%s%s", (int)(v - line), line, argv[3], v + strlen("@VERSION@"));
		else
			fputs(line, out);
	}
	if (ferror(in) || fclose(out) != 0) {
		perror(argv[2]);
		rc = 1;
	}
	fclose(in);
	return rc;
}
