/*
 * dynbuf: a bounded, growable string buffer, after curl's lib/dynbuf.c.
 *
 * Text is built by appending to a struct dynbuf instead of advancing an
 * offset by what snprintf() returned (which, once the buffer is full,
 * points past its end). Every buffer has a maximum length fixed at init:
 * what would grow it past that is cut at the maximum, the buffer remembers
 * the cut, and the call that cut returns DHO_ERANGE. The text is always
 * NUL-terminated.
 *
 * Two kinds of storage: dynbuf_init() allocates on the heap as the text
 * grows (free it with dynbuf_free()); dynbuf_init_fixed() writes into the
 * caller's array and never allocates, for messages built on the stack.
 */
#ifndef DYNBUF_H
#define DYNBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct dynbuf {
	char *buf;        /* the text; NULL on the heap until the first append */
	size_t len;       /* bytes of text, without the terminator */
	size_t cap;       /* bytes of buf */
	size_t max;       /* the most len may reach */
	bool fixed;       /* buf is the caller's */
	bool cut;         /* an append did not fit and was cut */
};

/* An empty heap buffer whose text may reach max bytes. */
void dynbuf_init(struct dynbuf *b, size_t max);

/* An empty buffer over the caller's array mem of cap bytes (cap >= 1): the
 * text may reach cap - 1 bytes. mem is "" from here on. */
void dynbuf_init_fixed(struct dynbuf *b, char *mem, size_t cap);

/*
 * Appends n bytes of mem. DHO_OK; DHO_ERANGE when the text would pass the
 * maximum (what fits is appended); DHO_ENOMEM when a heap buffer cannot
 * grow (nothing is appended). After a failure the buffer still holds a
 * valid, terminated text.
 */
int dynbuf_add(struct dynbuf *b, const void *mem, size_t n);

/* Appends the string s; as dynbuf_add(). */
int dynbuf_adds(struct dynbuf *b, const char *s);

/* Appends printf-style text; as dynbuf_add(). */
int dynbuf_addf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The text: "" for an empty buffer, never NULL. Valid until the next
 * append, reset or free. */
const char *dynbuf_str(const struct dynbuf *b);
size_t dynbuf_len(const struct dynbuf *b);

/* Empties the buffer, keeping its storage and maximum. */
void dynbuf_reset(struct dynbuf *b);

/*
 * Hands the heap text to the caller, who frees it with free(), and leaves
 * b empty. NULL for a fixed buffer, or when an empty heap buffer cannot
 * allocate its terminator.
 */
char *dynbuf_take(struct dynbuf *b);

/* Releases a heap buffer's storage (a fixed buffer's array stays the
 * caller's) and leaves b empty. */
void dynbuf_free(struct dynbuf *b);

#endif
