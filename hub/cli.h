/*
 * cli: the dhohub command line (docs/man/dhohub.8). Parses the
 * global options, loads the configuration and runs one command.
 */
#ifndef CLI_H
#define CLI_H

/* Exit codes, as EXIT STATUS in docs/man/dhohub.8 lists them. */
enum {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
	CLI_NOTFOUND = 3
};

int cli_main(int argc, char **argv);

#endif
