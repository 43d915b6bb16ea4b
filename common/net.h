/*
 * net.h: network addresses as the configuration writes them, and socket
 * options the libraries we use do not set.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a host name or address (DNS names are at most 253 bytes). */
#define NET_HOST_MAX 256
/* Room for a port number, 1-65535. */
#define NET_PORT_MAX 6

/*
 * The one grammar of HOST[:PORT] (an IPv6 address as [ADDRESS][:PORT]),
 * with nothing after it: the broker's url and a Modbus TCP source's use it.
 * host (NET_HOST_MAX bytes) gets the host without brackets, port
 * (NET_PORT_MAX bytes) the port or "" when there is none; either may be
 * NULL when the caller only checks. need_port makes a missing port an
 * error. DHO_OK, or DHO_EINVAL with a sentence in why (whylen bytes).
 */
int net_parse_hostport(const char *s, bool need_port, char *host, char *port, char *why,
                       size_t whylen);

/* A TCP port on the loopback address that is free now (bound and released
 * at once), for a private broker or a test's server; -1 on failure. */
int net_free_port(void);

/* true when something accepts TCP connections on the loopback port. */
bool net_port_open(int port);

/*
 * Turns off Nagle's algorithm (TCP_NODELAY) on every TCP socket of this
 * process; returns how many it set. Paho MQTT C 1.3.11 never sets it, and
 * a QoS-1 publish that follows a PUBACK then waits for the broker's delayed
 * ACK: about 40 ms per alert event (eclipse-paho/paho.mqtt.c#530). Setting
 * it on another TCP socket (a webhook's) is harmless: curl sets it too.
 */
int net_nodelay_all(void);

#endif
