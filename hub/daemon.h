/*
 * daemon: `dhohub run` and `dhohub demo`.
 *
 * Threads: Paho's receive thread runs ingest for each message under the
 * hub's write lock and returns only after the commit; the main thread
 * reacts to signals, delivers the outbox over MQTT and runs the timers;
 * the webhook thread POSTs events to teams' webhooks; with [modbus:*]
 * sources, the Modbus poller thread (modbus.h) stores each poll's readings
 * through ingest under the same lock. All of them share the one write
 * connection of the store, and only under the lock.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include "config.h"

/* Runs until SIGTERM or SIGINT; returns the exit code. cfg stays the
 * caller's; reloads (SIGHUP) read config_path again. */
int daemon_run(const char *config_path, const char *db_override, struct config *cfg);

/* The self-contained demo; duration_s 0 runs until Ctrl-C. */
int demo_run(const char *config_path, int duration_s);

#endif
