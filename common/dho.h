/*
 * dho.h: the error codes and small value types shared by every dhohub module.
 *
 * Every function that can fail returns int: DHO_OK (0) on success, one of the
 * DHO_E* codes below otherwise; results travel through out-parameters.
 */
#ifndef DHO_H
#define DHO_H

#include <stddef.h>
#include <stdint.h>

enum {
	DHO_OK = 0,
	DHO_ENOMEM,     /* an allocation failed */
	DHO_EINVAL,     /* malformed input: syntax, type, length */
	DHO_ERANGE,     /* well-formed but outside the accepted range */
	DHO_ENOTFOUND,  /* the named object does not exist */
	DHO_EEXIST,     /* the object exists already */
	DHO_EIO,        /* the store or the network failed */
	DHO_EUNSUPP,    /* understood, but not something the hub accepts */
	DHO_ESPECIAL,   /* an IEEE 11073 special value (NaN, NRes, INF) */
	DHO_EBUSY,      /* the store is locked by another writer */
	DHO_ECONFLICT,  /* the object changed since the caller's version of it */
	DHO_ESTATE      /* the action does not apply to the object's state */
};

/* Seconds since the Unix epoch, UTC. Every time inside the hub is one. */
typedef int64_t dho_time_t;

/* The longest error message a module writes into a caller's buffer. */
#define DHO_ERRLEN 256

/* Identifier limits: an id is at most 64 bytes, a team name (two ids and
 * a slash) at most 130. */
#define DHO_ID_MAX 64
#define DHO_TEAM_MAX 130

const char *dho_strerror(int code);

/*
 * The one way a module explains a failure to its caller: writes the
 * printf-style sentence into err (errlen bytes, cut to fit; nothing when
 * err is NULL or errlen is 0) and returns code.
 */
int dho_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
