/*
 * escape: untrusted text (payloads, notes, ids, anything a device or a user
 * wrote) made safe for one log line or one terminal line.
 *
 * Text from outside may hold newlines that forge a log line or an audit
 * row, escape sequences that drive a terminal, or bytes that are not UTF-8.
 * escape_text() writes such text so that it cannot end the line it is
 * written in, cannot reach the terminal as a control, and can still be read
 * back: control characters become \n, \r, \t, \xNN or \uNNNN, bytes that are
 * not valid UTF-8 become \xNN, and a backslash becomes \\ (so an escape in
 * the output is always one the hub wrote). Printable UTF-8 is kept as it is.
 */
#ifndef ESCAPE_H
#define ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* The buffer that holds len bytes escaped without truncation (plus NUL). */
#define ESCAPE_SIZE(len) ((len) * 6 + 1)

/*
 * Writes the escaped form of the len bytes at s into out (cap bytes, at
 * least 4) and returns out. A result longer than cap - 1 is cut at a whole
 * escape and ends in "..." so that a cut is visible. s NULL is "".
 */
char *escape_text(const char *s, size_t len, char *out, size_t cap);

/* escape_text() of a NUL-terminated string. */
char *escape_str(const char *s, char *out, size_t cap);

/*
 * true when the len bytes at s are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) and hold no character that
 * escape_text() would escape other than the backslash: text a nurse may
 * sign an action with.
 */
bool escape_clean(const char *s, size_t len);

#endif
