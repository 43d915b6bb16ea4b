/*
 * net.h: socket options the libraries we use do not set.
 */
#ifndef NET_H
#define NET_H

/*
 * Turns off Nagle's algorithm (TCP_NODELAY) on every TCP socket of this
 * process; returns how many it set. Paho MQTT C 1.3.11 never sets it, and
 * a QoS-1 publish that follows a PUBACK then waits for the broker's delayed
 * ACK: about 40 ms per alert event (eclipse-paho/paho.mqtt.c#530). Setting
 * it on another TCP socket (a webhook's) is harmless: curl sets it too.
 */
int net_nodelay_all(void);

#endif
