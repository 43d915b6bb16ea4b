/*
 * strmap: a bounded hash map from short strings (identifiers, at most
 * STRMAP_KEY_MAX bytes) to values of one fixed size, for the caches of a
 * long-running process.
 *
 * The map never holds more than the maximum it was created with: when an
 * insertion would pass it, every entry is dropped first, so memory stays
 * bounded whatever the input. That suits caches, where a dropped entry
 * costs one more read of the source and nothing else.
 *
 * A pointer to a value stays valid until the next strmap_put() or
 * strmap_clear() on the same map.
 */
#ifndef STRMAP_H
#define STRMAP_H

#include <stddef.h>

#define STRMAP_KEY_MAX 64

struct strmap;

/*
 * A map of values of vsize bytes holding at most max entries. DHO_ENOMEM,
 * or DHO_EINVAL for vsize or max 0.
 */
int strmap_new(size_t vsize, size_t max, struct strmap **out);
void strmap_free(struct strmap *m);

/* The value of key, or NULL when the map does not hold it. */
void *strmap_get(struct strmap *m, const char *key);

/*
 * The value of key, inserted zero-filled when the map did not hold it
 * (after dropping every entry when the map was full). NULL when key is
 * longer than STRMAP_KEY_MAX or memory runs out.
 */
void *strmap_put(struct strmap *m, const char *key);

/* Drops every entry; the memory is kept for reuse. */
void strmap_clear(struct strmap *m);

/* How many entries the map holds. */
size_t strmap_count(const struct strmap *m);

#endif
