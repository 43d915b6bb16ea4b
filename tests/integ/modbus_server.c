/*
 * modbus_server.c: a real Modbus TCP server (libmodbus) for the integration
 * tests, in the manner of libmodbus's own tests/unit-test-server.c.
 *
 *   modbus_server PORT [TABLE:ADDRESS=VALUE ...]
 *
 * listens on 127.0.0.1:PORT and answers any unit id from one register map:
 * TABLE is holding or input, ADDRESS 0-65535, VALUE a 16-bit register
 * (decimal, or 0x hex). Each table holds the registers up to its highest
 * address given (unnamed ones read as 0); reading beyond that is answered
 * with the exception Illegal Data Address, as a real device does. Several
 * clients may be connected at once. SIGTERM or SIGINT stop it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define MAX_VALUES 256

struct value {
	int input;          /* 1: input register, 0: holding register */
	long address;
	long value;
};

static volatile sig_atomic_t server_stop;

static void
on_signal(int sig)
{
	(void)sig;
	server_stop = 1;
}

/* TABLE:ADDRESS=VALUE; 0 on success. */
static int
parse_value(const char *arg, struct value *v)
{
	const char *colon = strchr(arg, ':');
	char *end;

	if (colon == NULL)
		return -1;
	if ((size_t)(colon - arg) == 5 && strncmp(arg, "input", 5) == 0)
		v->input = 1;
	else if ((size_t)(colon - arg) == 7 && strncmp(arg, "holding", 7) == 0)
		v->input = 0;
	else
		return -1;
	errno = 0;
	v->address = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '=' || errno != 0 || v->address < 0 || v->address > 65535)
		return -1;
	v->value = strtol(end + 1, &end, 0);
	if (*end != '\0' || errno != 0 || v->value < 0 || v->value > 65535)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct value values[MAX_VALUES];
	int nvalues = 0, nholding = 0, ninput = 0, listener = -1, maxfd, rc = 1;
	modbus_t *ctx = NULL;
	modbus_mapping_t *map = NULL;
	struct sigaction sa;
	fd_set clients;
	long port;
	char *end;

	FD_ZERO(&clients);
	if (argc < 2 || argc - 2 > MAX_VALUES) {
		fprintf(stderr, "usage: modbus_server PORT [holding|input:ADDRESS=VALUE ...]\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "modbus_server: bad port '%s'\n", argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct value *v = &values[nvalues++];

		if (parse_value(argv[i], v) != 0) {
			fprintf(stderr, "modbus_server: bad register '%s' (holding|input:ADDRESS=VALUE)\n",
			        argv[i]);
			return 2;
		}
		if (v->input && v->address + 1 > ninput)
			ninput = (int)v->address + 1;
		if (!v->input && v->address + 1 > nholding)
			nholding = (int)v->address + 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	map = modbus_mapping_new(0, 0, nholding, ninput);
	ctx = modbus_new_tcp("127.0.0.1", (int)port);
	if (map == NULL || ctx == NULL) {
		fprintf(stderr, "modbus_server: %s\n", modbus_strerror(errno));
		goto out;
	}
	for (int i = 0; i < nvalues; i++) {
		if (values[i].input)
			map->tab_input_registers[values[i].address] = (uint16_t)values[i].value;
		else
			map->tab_registers[values[i].address] = (uint16_t)values[i].value;
	}
	listener = modbus_tcp_listen(ctx, 4);
	if (listener < 0) {
		fprintf(stderr, "modbus_server: cannot listen on port %ld: %s\n", port,
		        modbus_strerror(errno));
		goto out;
	}
	fprintf(stderr, "modbus_server: listening on 127.0.0.1:%ld (%d holding, %d input "
	        "registers)\n", port, nholding, ninput);
	FD_SET(listener, &clients);
	maxfd = listener;
	while (!server_stop) {
		fd_set ready = clients;

		if (select(maxfd + 1, &ready, NULL, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "modbus_server: select: %s\n", strerror(errno));
			goto out;
		}
		for (int fd = 0; fd <= maxfd; fd++) {
			uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
			int n;

			if (!FD_ISSET(fd, &ready))
				continue;
			if (fd == listener) {
				int c = accept(listener, NULL, NULL);

				if (c >= 0 && c < FD_SETSIZE) {
					FD_SET(c, &clients);
					if (c > maxfd)
						maxfd = c;
				} else if (c >= 0) {
					close(c);
				}
				continue;
			}
			modbus_set_socket(ctx, fd);
			n = modbus_receive(ctx, query);
			if (n > 0) {
				modbus_reply(ctx, query, n, map);
			} else if (n < 0) {
				/* The client went away (or sent garbage): forget it. */
				close(fd);
				FD_CLR(fd, &clients);
			}
		}
	}
	rc = 0;
out:
	if (listener >= 0)
		close(listener);
	for (int fd = 0; fd < FD_SETSIZE; fd++)
		if (fd != listener && FD_ISSET(fd, &clients))
			close(fd);
	modbus_free(ctx);
	modbus_mapping_free(map);
	return rc;
}
