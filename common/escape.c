/*
 * escape.c: one line of untrusted text, made safe (see escape.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/*
 * Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * the code point in *cp, or 0 when the bytes are not a valid sequence
 * (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
 */
static size_t
escape_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2, c = s[0] & 0x1F, min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3, c = s[0] & 0x0F, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/*
 * Characters that change how a line looks beyond their own glyph: C0 and
 * C1 controls, DEL, the Unicode line and paragraph separators, and the
 * bidirectional overrides and isolates (which can make a line read in
 * another order than it is stored).
 */
static bool
escape_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
	       c == 0x200E || c == 0x200F || c == 0xFEFF;
}

/* The escaped form of the character at p (n bytes left) into piece;
 * returns how many input bytes it stands for. */
static size_t
escape_piece(const unsigned char *p, size_t n, char piece[16])
{
	uint32_t c;
	size_t len = escape_utf8(p, n, &c);

	if (len == 0) {
		snprintf(piece, 16, "\\x%02X", p[0]);
		return 1;
	}
	if (c == '\n')
		snprintf(piece, 16, "\\n");
	else if (c == '\r')
		snprintf(piece, 16, "\\r");
	else if (c == '\t')
		snprintf(piece, 16, "\\t");
	else if (c == '\\')
		snprintf(piece, 16, "\\\\");
	else if (c < 0x80 && escape_control(c))
		snprintf(piece, 16, "\\x%02X", (unsigned)c);
	else if (escape_control(c))
		snprintf(piece, 16, "\\u%04X", (unsigned)c);
	else {
		memcpy(piece, p, len);
		piece[len] = '\0';
	}
	return len;
}

char *
escape_text(const char *s, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i, total = 0, reserve;
	char piece[16];

	if (s == NULL)
		len = 0;
	/* First the whole length: only a result that does not fit keeps room
	 * for the "..." that shows the cut. */
	for (i = 0; i < len;)
		i += escape_piece(p + i, len - i, piece), total += strlen(piece);
	reserve = total > cap - 1 ? 3 : 0;
	for (i = 0; i < len;) {
		size_t n = escape_piece(p + i, len - i, piece), plen = strlen(piece);

		if (o + plen + reserve > cap - 1)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	if (reserve) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
escape_str(const char *s, char *out, size_t cap)
{
	return escape_text(s, s ? strlen(s) : 0, out, cap);
}

bool
escape_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t c;
		size_t n = escape_utf8(p + i, len - i, &c);

		if (n == 0 || escape_control(c))
			return false;
		i += n;
	}
	return true;
}
