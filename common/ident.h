/*
 * ident: validation of identifiers and team names, the one alphabet every
 * id on the command line, in a topic or in a document must keep to.
 */
#ifndef IDENT_H
#define IDENT_H

#include <stdbool.h>
#include <stddef.h>

/* 1-64 characters of A-Z a-z 0-9 . _ - : */
bool ident_valid(const char *s);

/* KIND/NAME, each part a valid identifier. */
bool ident_team_valid(const char *s);

/* Copies the text in [s, e) without the white space around it into out
 * (len bytes): one item of a list or one part of a colon-separated value.
 * false when nothing is left or it does not fit. */
bool ident_trim_copy(const char *s, const char *e, char *out, size_t len);

#endif
