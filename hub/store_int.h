/*
 * store_int.h: what store.c shares with the store_<area>.c files that keep
 * an area's SQL apart (store_web.c: the workspace's users, sessions and
 * views). Only the store's own files include it.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* Statement slots of the area files: 0-31 store_web.c. */
#define STORE_EXT_MAX 48

/* The prepared statement of slot with text sql: prepared on first use, reset
 * and unbound on each later call; finalized by store_close(). NULL when it
 * does not prepare (the reason in store_errmsg()). */
sqlite3_stmt *store__stmt(struct store *st, int slot, const char *sql);
/* The connection, for sqlite3_changes() and the like. */
sqlite3 *store__db(struct store *st);
/* A SQLite result code as a DHO_* code. */
int store__rc(int rc);
/* Steps a statement that returns no rows and resets it. */
int store__step_done(sqlite3_stmt *s);
/* Copies text column i into dst (cap bytes), cut to fit; "" for NULL. */
void store__col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);

#endif
