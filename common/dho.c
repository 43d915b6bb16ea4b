/*
 * dho.c: names of the shared error codes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "dho.h"

const char *
dho_strerror(int code)
{
	switch (code) {
	case DHO_OK: return "ok";
	case DHO_ENOMEM: return "out of memory";
	case DHO_EINVAL: return "invalid input";
	case DHO_ERANGE: return "out of range";
	case DHO_ENOTFOUND: return "not found";
	case DHO_EEXIST: return "already exists";
	case DHO_EIO: return "input/output error";
	case DHO_EUNSUPP: return "not supported";
	case DHO_ESPECIAL: return "special value";
	case DHO_EBUSY: return "busy";
	case DHO_ECONFLICT: return "changed meanwhile";
	case DHO_ESTATE: return "does not apply in this state";
	}
	return "unknown error";
}

int
dho_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
