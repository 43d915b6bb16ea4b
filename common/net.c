/*
 * net.c: see net.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "dho.h"
#include "net.h"

static bool
net_port_valid(const char *s)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535;
}

int
net_parse_hostport(const char *s, bool need_port, char *host, char *port, char *why,
                   size_t whylen)
{
	const char *host_start = s, *host_end, *p = NULL;
	size_t n;

	if (*s == '[') {
		host_end = strchr(s, ']');
		if (host_end == NULL || host_end == s + 1)
			return dho_fail(why, whylen, DHO_EINVAL, "an IPv6 address must be written [ADDRESS]");
		host_start = s + 1;
		if (host_end[1] == ':')
			p = host_end + 2;
		else if (host_end[1] != '\0')
			return dho_fail(why, whylen, DHO_EINVAL, "unexpected text after the host");
	} else {
		host_end = s + strcspn(s, ":/");
		if (host_end == s)
			return dho_fail(why, whylen, DHO_EINVAL, "the host is missing");
		if (*host_end == ':')
			p = host_end + 1;
		else if (*host_end != '\0')
			return dho_fail(why, whylen, DHO_EINVAL, "a path is not allowed after the host");
		for (const char *c = s; c < host_end; c++)
			if (isspace((unsigned char)*c) || *c == '@')
				return dho_fail(why, whylen, DHO_EINVAL, "the host contains a space or '@'");
	}
	n = (size_t)(host_end - host_start);
	if (n >= NET_HOST_MAX)
		return dho_fail(why, whylen, DHO_EINVAL, "the host is too long");
	if (p == NULL && need_port)
		return dho_fail(why, whylen, DHO_EINVAL, "the port is missing (HOST:PORT)");
	if (p != NULL && !net_port_valid(p))
		return dho_fail(why, whylen, DHO_EINVAL, "the port must be a number from 1 to 65535");
	if (host != NULL) {
		memcpy(host, host_start, n);
		host[n] = '\0';
	}
	if (port != NULL)
		snprintf(port, NET_PORT_MAX, "%s", p ? p : "");
	return DHO_OK;
}

int
net_nodelay_all(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, on = 1;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		struct sockaddr_storage sa;
		socklen_t salen = sizeof(sa);
		int type = 0;
		socklen_t tlen = sizeof(type);

		if (*end != '\0' || end == de->d_name || fd == dirfd(d))
			continue;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
			continue;
		if (getsockname((int)fd, (struct sockaddr *)&sa, &salen) != 0 ||
		    (sa.ss_family != AF_INET && sa.ss_family != AF_INET6))
			continue;
		if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int
net_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

bool
net_port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}
