/*
 * ident.c: the identifier alphabet of contract section 1.
 */
#include <stdint.h>
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

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not valid
 * (overlong, a surrogate, above U+10FFFF, or cut short). *cp gets the code
 * point. */
static size_t
ident_utf8(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;     /* also stops at the terminating NUL */
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool
ident_text_valid(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	size_t n;

	if (s == NULL || strlen(s) > max)
		return false;
	while (*p != '\0') {
		if ((n = ident_utf8(p, &c)) == 0)
			return false;
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return false;
		p += n;
	}
	return true;
}
