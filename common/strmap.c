/*
 * strmap.c: see strmap.h. Open addressing with linear probing over an
 * index of slots, and the entries themselves in a dense array in the order
 * of insertion; there is no deletion, only strmap_clear(), so the index
 * needs no tombstones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dho.h"
#include "strmap.h"

struct strmap_entry {
	uint64_t hash;
	char key[STRMAP_KEY_MAX + 1];
	/* the value follows, aligned to max_align_t */
};

struct strmap {
	size_t vsize, esize;        /* value size; entry size with the value */
	size_t max, count, cap;     /* entries at most, now, allocated */
	unsigned char *entries;
	uint32_t *index;            /* entry number + 1; 0 is an empty slot */
	size_t nslots;              /* a power of two, at least 2 * cap */
};

/* FNV-1a: short keys, no adversary that gains by collisions beyond a
 * slower cache (the map stays bounded). */
static uint64_t
strmap_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct strmap_entry *
strmap_entry(const struct strmap *m, size_t i)
{
	return (struct strmap_entry *)(m->entries + i * m->esize);
}

static void *
strmap_value(struct strmap_entry *e)
{
	return (unsigned char *)e + ((sizeof(*e) + _Alignof(max_align_t) - 1) &
	                             ~(_Alignof(max_align_t) - 1));
}

int
strmap_new(size_t vsize, size_t max, struct strmap **out)
{
	struct strmap *m;
	size_t head = (sizeof(struct strmap_entry) + _Alignof(max_align_t) - 1) &
	              ~(_Alignof(max_align_t) - 1);

	*out = NULL;
	if (vsize == 0 || max == 0 || max > UINT32_MAX / 4)
		return DHO_EINVAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return DHO_ENOMEM;
	m->vsize = vsize;
	m->esize = (head + vsize + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	m->max = max;
	*out = m;
	return DHO_OK;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->entries);
	free(m->index);
	free(m);
}

void
strmap_clear(struct strmap *m)
{
	m->count = 0;
	if (m->index != NULL)
		memset(m->index, 0, m->nslots * sizeof(*m->index));
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

/* The slot of key: the one holding it, or the empty one where it goes. */
static size_t
strmap_slot(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->nslots - 1, i = (size_t)h & mask;

	for (;;) {
		uint32_t k = m->index[i];
		struct strmap_entry *e;

		if (k == 0)
			return i;
		e = strmap_entry(m, k - 1);
		if (e->hash == h && strcmp(e->key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

void *
strmap_get(struct strmap *m, const char *key)
{
	size_t len = strlen(key), i;
	uint64_t h;

	if (m->count == 0 || len > STRMAP_KEY_MAX)
		return NULL;
	h = strmap_hash(key, len);
	i = strmap_slot(m, key, h);
	return m->index[i] ? strmap_value(strmap_entry(m, m->index[i] - 1)) : NULL;
}

/* Doubles the entries and the index (up to max), rehashing the index. */
static int
strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, nslots = 1;
	unsigned char *entries;
	uint32_t *index;

	if (cap > m->max)
		cap = m->max;
	while (nslots < 2 * cap)
		nslots *= 2;
	if ((entries = realloc(m->entries, cap * m->esize)) == NULL)
		return DHO_ENOMEM;
	m->entries = entries;
	if ((index = calloc(nslots, sizeof(*index))) == NULL)
		return DHO_ENOMEM;
	free(m->index);
	m->index = index;
	m->nslots = nslots;
	m->cap = cap;
	for (size_t k = 0; k < m->count; k++) {
		struct strmap_entry *e = strmap_entry(m, k);

		m->index[strmap_slot(m, e->key, e->hash)] = (uint32_t)(k + 1);
	}
	return DHO_OK;
}

void *
strmap_put(struct strmap *m, const char *key)
{
	size_t len = strlen(key), i;
	struct strmap_entry *e;
	uint64_t h;
	void *v;

	if (len > STRMAP_KEY_MAX)
		return NULL;
	if ((v = strmap_get(m, key)) != NULL)
		return v;
	if (m->count == m->max)
		strmap_clear(m);
	if (m->count == m->cap && strmap_grow(m) != DHO_OK)
		return NULL;
	h = strmap_hash(key, len);
	i = strmap_slot(m, key, h);
	e = strmap_entry(m, m->count);
	e->hash = h;
	memcpy(e->key, key, len + 1);
	v = strmap_value(e);
	memset(v, 0, m->vsize);
	m->index[i] = (uint32_t)(++m->count);
	return v;
}
