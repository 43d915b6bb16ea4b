/*
 * dynbuf.c: the bounded string buffer (see dynbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dho.h"
#include "dynbuf.h"

/* The smallest heap allocation, so that short texts grow once or twice. */
#define DYNBUF_MIN 64

void
dynbuf_init(struct dynbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
dynbuf_init_fixed(struct dynbuf *b, char *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = mem;
	b->cap = cap;
	b->max = cap - 1;
	b->fixed = true;
	mem[0] = '\0';
}

/* Makes room for need more bytes and the terminator on the heap. */
static int
dynbuf_grow(struct dynbuf *b, size_t need)
{
	size_t want = b->len + need + 1, cap = b->cap ? b->cap : DYNBUF_MIN;
	char *p;

	if (want <= b->cap)
		return DHO_OK;
	while (cap < want)
		cap = cap > (b->max + 1) / 2 ? b->max + 1 : cap * 2;
	if ((p = realloc(b->buf, cap)) == NULL)
		return DHO_ENOMEM;
	b->buf = p;
	b->cap = cap;
	return DHO_OK;
}

int
dynbuf_add(struct dynbuf *b, const void *mem, size_t n)
{
	size_t room = b->max - b->len, take = n < room ? n : room;
	int rc;

	if (!b->fixed && (rc = dynbuf_grow(b, take)) != DHO_OK)
		return rc;
	if (take > 0)
		memcpy(b->buf + b->len, mem, take);
	b->len += take;
	if (b->buf != NULL)
		b->buf[b->len] = '\0';
	if (take < n) {
		b->cut = true;
		return DHO_ERANGE;
	}
	return DHO_OK;
}

int
dynbuf_adds(struct dynbuf *b, const char *s)
{
	return dynbuf_add(b, s, strlen(s));
}

int
dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
{
	char small[256], *big = NULL;
	va_list copy;
	int n, rc;

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return DHO_EINVAL;
	if ((size_t)n < sizeof(small))
		return dynbuf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return DHO_ENOMEM;
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	rc = dynbuf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

int
dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dynbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
dynbuf_str(const struct dynbuf *b)
{
	return b->buf != NULL ? b->buf : "";
}

size_t
dynbuf_len(const struct dynbuf *b)
{
	return b->len;
}

void
dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	b->cut = false;
	if (b->buf != NULL)
		b->buf[0] = '\0';
}

char *
dynbuf_take(struct dynbuf *b)
{
	char *p;

	if (b->fixed)
		return NULL;
	if (b->buf == NULL && dynbuf_grow(b, 0) != DHO_OK)
		return NULL;
	if (b->len == 0)
		b->buf[0] = '\0';
	p = b->buf;
	b->buf = NULL;
	b->len = b->cap = 0;
	b->cut = false;
	return p;
}

void
dynbuf_free(struct dynbuf *b)
{
	if (!b->fixed)
		free(b->buf);
	dynbuf_init(b, b->max);
}
