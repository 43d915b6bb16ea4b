/*
 * bench_mqtt.h: the MQTT clients the benchmarks under bench/ share: a
 * connected Paho client, and a publisher that streams QoS-1 reading
 * documents with a bounded number in flight.
 *
 * Every function exits the benchmark with a message when the broker fails
 * it: a benchmark has nothing sensible to do after that.
 */
#ifndef BENCH_MQTT_H
#define BENCH_MQTT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <MQTTAsync.h>

/*
 * A client of the broker on 127.0.0.1:port, connected. clean false keeps
 * a persistent session under id. When topic is not NULL it is subscribed
 * at QoS 1 with arrived(ctx, ...) as the message callback (which must free
 * the message and topic and return 1).
 */
MQTTAsync bench_mqtt_client(int port, const char *id, bool clean, const char *topic,
                            MQTTAsync_messageArrived *arrived, void *ctx);

/* What bench_mqtt_count() has seen: messages, and when the last came. */
struct bench_mqtt_counter {
	atomic_long received;
	atomic_llong last_ns;
};

/* A message callback (ctx: a struct bench_mqtt_counter) that only counts. */
int bench_mqtt_count(void *ctx, char *topic, int topiclen, MQTTAsync_message *m);

/* Disconnects c (waiting up to a second for the broker) and destroys it. */
void bench_mqtt_close(MQTTAsync c);

/*
 * Fills body (of len bytes) and topic (of tlen bytes) with the message
 * that device number dev sends in round r; returns the message's length.
 */
typedef int (*bench_mqtt_writer)(void *ctx, int dev, long r, char *topic, size_t tlen,
                                 char *body, size_t len);

/* Called just before a message is sent (may be NULL). */
typedef void (*bench_mqtt_sent)(void *ctx, int dev, long r);

/*
 * Publishes rounds messages from each of devices base .. base+n-1 (device
 * by device within a round) at QoS 1 with at most inflight unacknowledged,
 * at rate messages a second (0: as fast as the broker takes them), and
 * waits for every PUBACK. Returns the monotonic time of the first publish.
 */
int64_t bench_mqtt_publish(int port, int base, int n, long rounds, int inflight, double rate,
                           bench_mqtt_writer write, bench_mqtt_sent sent, void *ctx);

#endif
