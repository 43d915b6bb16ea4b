/*
 * ident: validation of identifiers and team names (contract section 1).
 */
#ifndef IDENT_H
#define IDENT_H

#include <stdbool.h>
#include <stddef.h>

/* 1-64 characters of A-Z a-z 0-9 . _ - : */
bool ident_valid(const char *s);

/* KIND/NAME, each part a valid identifier. */
bool ident_team_valid(const char *s);

/* Free text from a person (a note): at most max bytes of valid UTF-8
 * without control characters (C0, DEL or C1), so it is safe in a log line
 * or on a terminal. The empty string is valid. */
bool ident_text_valid(const char *s, size_t max);

#endif
