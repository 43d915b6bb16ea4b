/*
 * net.c: see net.h.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "net.h"

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
