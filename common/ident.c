/*
 * ident.c: the identifier alphabet (see ident.h).
 */
#include <ctype.h>
#include <string.h>

#include "dho.h"
#include "ident.h"

static bool
ident_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ':';
}

static bool
ident_span(const char *s, size_t n)
{
	if (n == 0 || n > DHO_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ident_char(s[i]))
			return false;
	return true;
}

bool
ident_valid(const char *s)
{
	return s != NULL && ident_span(s, strlen(s));
}

bool
ident_team_valid(const char *s)
{
	const char *slash;

	if (s == NULL)
		return false;
	slash = strchr(s, '/');
	if (slash == NULL)
		return false;
	return ident_span(s, (size_t)(slash - s)) && ident_span(slash + 1, strlen(slash + 1));
}

bool
ident_trim_copy(const char *s, const char *e, char *out, size_t len)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (s == e || (size_t)(e - s) >= len)
		return false;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return true;
}
