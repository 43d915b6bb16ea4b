/*
 * ident: validation of identifiers and team names (contract section 1).
 */
#ifndef IDENT_H
#define IDENT_H

#include <stdbool.h>

/* 1-64 characters of A-Z a-z 0-9 . _ - : */
bool ident_valid(const char *s);

/* KIND/NAME, each part a valid identifier. */
bool ident_team_valid(const char *s);

#endif
