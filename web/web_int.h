/*
 * web_int.h: what the workspace's files share. http.c owns the server and
 * one request's way through it; scope.c decides what a user may see; api.c
 * answers; sse.c runs the event streams.
 *
 * Threads: libmicrohttpd runs one thread per connection. A request borrows
 * one store connection (with its engine) from the pool for the time it is
 * answered and gives it back; nothing read from the store outlives that.
 */
#ifndef WEB_INT_H
#define WEB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alert.h"
#include "config.h"
#include "engine.h"
#include "store.h"

#define WEB_BODY_MAX (16 * 1024)
#define WEB_POOL 8                 /* store connections */
#define WEB_CONN_MAX 256           /* connections at once */
#define WEB_CONN_PER_ADDR 64       /* from one address */
#define WEB_CONN_TIMEOUT 60        /* seconds a connection may idle */
#define WEB_STREAMS_MAX 100        /* open event streams; 503 beyond */
#define WEB_COOKIE "dhohub_session"

struct sse;
struct journal;

struct web_pool_slot {
	struct store *st;
	struct engine *e;
	bool busy;
};

struct web {
	const struct config *cfg;
	const char *db_path;
	bool tls;
	struct MHD_Daemon *d;
	/* pool_lock guards the busy flags of pool[]; a borrowed slot's store
	 * and engine belong to the borrowing thread until it gives them back. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct web_pool_slot pool[WEB_POOL];
	struct sse *sse;
	struct journal *journal;
};

/* What a route's path parameter names; the gate loads it and checks scope. */
enum web_res { RES_NONE, RES_ALERT, RES_PATIENT };

struct web_req;
typedef void (*web_handler)(struct web_req *r);

struct web_route {
	const char *method;
	const char *path;          /* "*" stands for one path segment: the id */
	const char *tail;          /* after the id, or NULL */
	enum web_res res;
	unsigned flags;
	web_handler fn;
};

#define ROUTE_SESSION 1u       /* needs a session */
#define ROUTE_NURSE 2u         /* nurses only */
#define ROUTE_AUDITOR 4u       /* auditors only */
#define ROUTE_CHANGE 8u        /* changes state: Origin and CSRF checks */
#define ROUTE_STREAM 16u       /* answers with its own response (events) */

struct web_req {
	struct web *w;
	struct MHD_Connection *c;
	const char *method;
	const char *url;
	char addr[64];
	/* the body, at most WEB_BODY_MAX bytes */
	char *body;
	size_t len;
	bool too_big;
	bool queued;               /* a response went out */
	const struct web_route *route;
	/* the session's user, after the gate */
	bool authed;
	struct store_user user;
	char sess_hash[72];
	struct store_session sess;
	/* the resource of the path, loaded and in scope */
	char id[DHO_ID_MAX + 1];
	struct alert alert;
	struct store_patient patient;
	/* a borrowed store connection */
	int slot;
	struct store *st;
	struct engine *e;
	dho_time_t now;
};

/* ---- http.c ---- */
/* Borrows a store connection for r (waits for a free one). */
int web_borrow(struct web_req *r);
void web_give_back(struct web_req *r);
/* Answers r with status and doc (taken: the call decrefs it). */
void web_json(struct web_req *r, unsigned status, json_t *doc);
/* web_json() with up to two more headers (h2, or both, NULL: none). */
void web_json_h(struct web_req *r, unsigned status, json_t *doc, const char *h1, const char *v1,
                const char *h2, const char *v2);
/* Answers {"error": msg}. */
void web_error(struct web_req *r, unsigned status, const char *msg);
/* Adds the headers every response carries. */
void web_headers(struct web *w, struct MHD_Response *resp, bool page);
/* A query parameter, or NULL. */
const char *web_arg(struct web_req *r, const char *name);
/* Writes an audit row as r's user (or actor when r has none), through the
 * journal: it returns when the row is committed. */
int web_audit(struct web_req *r, const char *actor, const char *action, const char *object,
              const char *detail);

/* ---- journal.c: audit rows with group commit ---- */
int journal_new(struct web *w, struct journal **out);
/* Writes what is queued, then frees j. */
void journal_free(struct journal *j);
/* Queues n rows (copied) and waits until the batch that holds them is
 * committed; its result. */
int journal_write(struct journal *j, const struct store_audit *rows, size_t n);

/* ---- scope.c: the one place that decides what a user sees ---- */
bool scope_alert(struct web_req *r, const struct alert *a);
bool scope_patient(struct web_req *r, const struct store_patient *p);
/* The tenants in which one of r's teams is the home or hospital team. */
size_t scope_tenants(struct web_req *r, const char **out, size_t cap);
/* r's teams as an array of pointers. */
size_t scope_teams(struct web_req *r, const char **out, size_t cap);

/* ---- api.c ---- */
extern const struct web_route api_routes[];
/* The document of r's user: {"user", "role", "teams", "csrf"}. */
json_t *api_me(struct web_req *r);

/* ---- sse.c ---- */
int sse_new(struct web *w, struct sse **out);
/* Wakes every stream and makes each end; then no new stream starts. */
void sse_stop(struct sse *s);
void sse_free(struct sse *s);
/* GET /api/v1/events. */
void sse_handle(struct web_req *r);

#endif
