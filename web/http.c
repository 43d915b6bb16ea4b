/*
 * http.c: the workspace's server (libmicrohttpd, one thread per
 * connection) and the way every request takes: body limit, route, the
 * Origin and CSRF checks of a state change, the session, the role, and the
 * scope of the object the path names (scope.c). Handlers run only after
 * all of that passed, and answer through web_json()/web_error(), which add
 * the security headers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "auth.h"
#include "care.h"
#include "ident.h"
#include "log.h"
#include "metric.h"
#include "timefmt.h"
#include "web.h"
#include "web_int.h"

/* The API and the page share one policy; the page's scripts and styles
 * come from this server only, and nothing may frame either. */
#define WEB_CSP_API "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#define WEB_CSP_PAGE "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;" \
	" connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self';" \
	" frame-ancestors 'none'"

void
web_headers(struct web *w, struct MHD_Response *resp, bool page)
{
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", page ? WEB_CSP_PAGE : WEB_CSP_API);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	if (w->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static void
web_send(struct web_req *r, unsigned status, struct MHD_Response *resp)
{
	if (r->queued || resp == NULL) {
		if (resp)
			MHD_destroy_response(resp);
		return;
	}
	MHD_queue_response(r->c, status, resp);
	MHD_destroy_response(resp);
	r->queued = true;
}

void
web_json(struct web_req *r, unsigned status, json_t *doc)
{
	web_json_h(r, status, doc, NULL, NULL, NULL, NULL);
}

void
web_json_h(struct web_req *r, unsigned status, json_t *doc, const char *h1, const char *v1,
           const char *h2, const char *v2)
{
	/* Values print with the precision they were measured with (37.60),
	 * as in the MQTT events and the event stream. */
	char *text = doc ? metric_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
	struct MHD_Response *resp;

	json_decref(doc);
	if (text == NULL) {
		text = strdup("{\"error\": \"out of memory\"}");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		if (text == NULL)
			return;
	}
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	if (h1 != NULL)
		MHD_add_response_header(resp, h1, v1);
	if (h2 != NULL)
		MHD_add_response_header(resp, h2, v2);
	web_headers(r->w, resp, false);
	web_send(r, status, resp);
}

void
web_error(struct web_req *r, unsigned status, const char *msg)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(msg));
	web_json(r, status, o);
}

const char *
web_arg(struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, name);
}

int
web_borrow(struct web_req *r)
{
	struct web *w = r->w;

	if (r->st != NULL)
		return DHO_OK;
	pthread_mutex_lock(&w->pool_lock);
	for (;;) {
		for (int i = 0; i < WEB_POOL; i++) {
			if (!w->pool[i].busy) {
				w->pool[i].busy = true;
				r->slot = i;
				r->st = w->pool[i].st;
				r->e = w->pool[i].e;
				pthread_mutex_unlock(&w->pool_lock);
				return DHO_OK;
			}
		}
		pthread_cond_wait(&w->pool_cond, &w->pool_lock);
	}
}

void
web_give_back(struct web_req *r)
{
	struct web *w = r->w;

	if (r->st == NULL)
		return;
	/* Nothing may be left open on a connection another request gets. */
	store_rollback(r->st);
	pthread_mutex_lock(&w->pool_lock);
	w->pool[r->slot].busy = false;
	pthread_cond_signal(&w->pool_cond);
	pthread_mutex_unlock(&w->pool_lock);
	r->st = NULL;
	r->e = NULL;
}

int
web_audit(struct web_req *r, const char *actor, const char *action, const char *object,
          const char *detail)
{
	struct store_audit a = { r->now, actor ? actor : r->user.name, action, object,
	                         detail ? detail : "" };

	return journal_write(r->w->journal, &a, 1);
}

/* ---- the gate ---- */

/* Matches url against route's path; the "*" segment goes to id. */
static bool
web_match(const struct web_route *rt, const char *url, char *id, size_t idlen)
{
	const char *star = strchr(rt->path, '*');
	size_t pre, n;
	const char *seg, *rest;

	if (star == NULL)
		return strcmp(rt->path, url) == 0;
	pre = (size_t)(star - rt->path);
	if (strncmp(url, rt->path, pre) != 0)
		return false;
	seg = url + pre;
	rest = strchr(seg, '/');
	n = rest ? (size_t)(rest - seg) : strlen(seg);
	if (n == 0 || n >= idlen)
		return false;
	if (rt->tail == NULL ? rest != NULL : (rest == NULL || strcmp(rest, rt->tail) != 0))
		return false;
	memcpy(id, seg, n);
	id[n] = '\0';
	return true;
}

/* A state change must come from this server's own page: an Origin, when
 * the browser sends one, must be this server's, and a fetch the browser
 * marks cross-site is refused. Clients that are not browsers send neither. */
static bool
web_origin_ok(struct web_req *r)
{
	const char *origin = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Origin");
	const char *site = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *host = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Host");
	char want[300];

	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return false;
	if (origin == NULL)
		return true;
	if (host == NULL)
		return false;
	snprintf(want, sizeof(want), "%s://%s", r->w->tls ? "https" : "http", host);
	return strcmp(origin, want) == 0;
}

/* Finds the session of r's cookie and its user; answers 401 when there is
 * none, it expired, or the user was disabled. */
static bool
web_session(struct web_req *r)
{
	const struct config *cfg = r->w->cfg;
	const char *token = MHD_lookup_connection_value(r->c, MHD_COOKIE_KIND, WEB_COOKIE);
	int rc;

	if (token == NULL || strlen(token) != AUTH_TOKEN_LEN - 1) {
		web_error(r, MHD_HTTP_UNAUTHORIZED, "not logged in");
		return false;
	}
	auth_token_hash(token, r->sess_hash);
	if (web_borrow(r) != DHO_OK)
		goto fail;
	rc = store_session_get(r->st, r->sess_hash, &r->sess);
	if (rc == DHO_ENOTFOUND) {
		web_error(r, MHD_HTTP_UNAUTHORIZED, "not logged in, or the session has ended");
		return false;
	}
	if (rc != DHO_OK)
		goto fail;
	if (r->sess.last_at + cfg->http_session_idle <= r->now ||
	    r->sess.created_at + cfg->http_session_max <= r->now) {
		store_session_delete(r->st, r->sess_hash);
		web_error(r, MHD_HTTP_UNAUTHORIZED, "the session has expired: log in again");
		return false;
	}
	rc = store_user_get(r->st, r->sess.user, &r->user);
	if (rc == DHO_ENOTFOUND || (rc == DHO_OK && r->user.disabled)) {
		store_session_delete(r->st, r->sess_hash);
		web_error(r, MHD_HTTP_UNAUTHORIZED, "not logged in, or the session has ended");
		return false;
	}
	if (rc != DHO_OK)
		goto fail;
	/* Idle expiry needs the last use, but not to the second: one write a
	 * minute per session, not one per request. */
	if (r->now - r->sess.last_at >= 60)
		store_session_touch(r->st, r->sess_hash, r->now);
	r->authed = true;
	return true;
fail:
	web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the database is not answering");
	return false;
}

/* Loads the object the path names and lets it through only in scope. Out
 * of scope answers exactly as a missing object does. */
static bool
web_resource(struct web_req *r)
{
	int64_t id;
	int rc;
	bool in;

	if (r->route->res == RES_NONE)
		return true;
	if (web_borrow(r) != DHO_OK) {
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the database is not answering");
		return false;
	}
	if (r->route->res == RES_ALERT) {
		rc = alert_parse_id(r->id, &id) == DHO_OK ? store_alert_get(r->st, id, &r->alert)
		                                          : DHO_ENOTFOUND;
		in = rc == DHO_OK && scope_alert(r, &r->alert);
	} else {
		rc = ident_valid(r->id) ? store_patient_get(r->st, r->id, &r->patient) : DHO_ENOTFOUND;
		in = rc == DHO_OK && scope_patient(r, &r->patient);
	}
	if (rc != DHO_OK && rc != DHO_ENOTFOUND) {
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the database is not answering");
		return false;
	}
	if (!in) {
		if (rc == DHO_OK)
			web_audit(r, NULL, "refused", r->id, "out of scope");
		web_error(r, MHD_HTTP_NOT_FOUND,
		          r->route->res == RES_ALERT ? "no such alert" : "no such patient");
		return false;
	}
	return true;
}

static void
web_refuse(struct web_req *r, unsigned status, const char *why)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "%s %s: %s", r->method, r->route->path, why);
	web_audit(r, r->authed ? NULL : "-", "refused", r->authed ? r->user.name : r->addr, detail);
	web_error(r, status, why);
}

/* The page and its files, from the binary. */
static bool
web_page(struct web_req *r)
{
	const unsigned char *data;
	size_t len;
	const char *type;
	struct MHD_Response *resp;

	if (strncmp(r->url, "/api/", 5) == 0 || asset_find(r->url, &data, &len, &type) != DHO_OK)
		return false;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		return true;
	}
	resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return true;
	MHD_add_response_header(resp, "Content-Type", type);
	web_headers(r->w, resp, true);
	web_send(r, MHD_HTTP_OK, resp);
	return true;
}

static void
web_dispatch(struct web_req *r)
{
	const struct web_route *rt = NULL;
	char allow[64] = "";
	bool path_known = false;
	unsigned f;

	for (const struct web_route *p = api_routes; p->path; p++) {
		if (!web_match(p, r->url, r->id, sizeof(r->id)))
			continue;
		path_known = true;
		if (strcmp(p->method, r->method) == 0) {
			rt = p;
			break;
		}
		if (strlen(allow) + strlen(p->method) + 3 < sizeof(allow))
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
			         allow[0] ? ", " : "", p->method);
	}
	if (rt == NULL) {
		if (!path_known && web_page(r))
			return;
		if (path_known) {
			web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
			return;
		}
		web_error(r, MHD_HTTP_NOT_FOUND, "no such resource");
		return;
	}
	r->route = rt;
	f = rt->flags;
	if (r->too_big) {
		web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than 16 KiB");
		return;
	}
	if ((f & ROUTE_CHANGE) && !web_origin_ok(r)) {
		web_refuse(r, MHD_HTTP_FORBIDDEN, "a state change from another origin");
		return;
	}
	if ((f & ROUTE_SESSION) && !web_session(r))
		return;
	if ((f & ROUTE_CHANGE) && (f & ROUTE_SESSION)) {
		const char *csrf = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "X-CSRF-Token");

		if (csrf == NULL || !auth_equal(csrf, r->sess.csrf)) {
			web_refuse(r, MHD_HTTP_FORBIDDEN, "the X-CSRF-Token header is missing or wrong");
			return;
		}
	}
	if (((f & ROUTE_NURSE) && strcmp(r->user.role, "nurse") != 0) ||
	    ((f & ROUTE_AUDITOR) && strcmp(r->user.role, "auditor") != 0)) {
		web_refuse(r, MHD_HTTP_FORBIDDEN, (f & ROUTE_AUDITOR) ? "for auditors only"
		                                                      : "for nurses only");
		return;
	}
	if (!web_resource(r))
		return;
	rt->fn(r);
	if (!r->queued)
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no answer");
}

static enum MHD_Result
web_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct web_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		const struct sockaddr *sa;
		const union MHD_ConnectionInfo *ci;
		const char *cl;

		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->w = cls;
		r->c = c;
		r->method = method;
		r->url = url;
		r->slot = -1;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		sa = ci ? ci->client_addr : NULL;
		if (sa && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			          r->addr, sizeof(r->addr));
		else if (sa && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			          r->addr, sizeof(r->addr));
		else
			snprintf(r->addr, sizeof(r->addr), "?");
		*con_cls = r;
		/* A body announced as too large is refused before it is read. */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && (strlen(cl) > 9 || strtol(cl, NULL, 10) > WEB_BODY_MAX)) {
			r->too_big = true;
			web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than 16 KiB");
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->too_big && r->len + *upload_size > WEB_BODY_MAX) {
			r->too_big = true;
			free(r->body);
			r->body = NULL;
			r->len = 0;
		}
		if (!r->too_big) {
			char *grown = realloc(r->body, r->len + *upload_size + 1);

			if (grown == NULL)
				return MHD_NO;
			r->body = grown;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	r->now = timefmt_now();
	web_dispatch(r);
	web_give_back(r);
	return MHD_YES;
}

static void
web_on_done(void *cls, struct MHD_Connection *c, void **con_cls,
            enum MHD_RequestTerminationCode toe)
{
	struct web_req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	web_give_back(r);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void
web_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libmicrohttpd quotes the request's URL in `...': it may hold a
	 * patient id, which stays out of the log. */
	msg[strcspn(msg, "\n`")] = '\0';
	log_warnx("http: %s", msg);
}

static char *
web_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1024 * 1024 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static void
web_close_pool(struct web *w)
{
	for (int i = 0; i < WEB_POOL; i++) {
		engine_free(w->pool[i].e);
		store_close(w->pool[i].st);
	}
}

int
web_run(const struct config *cfg, const char *db_path)
{
	struct web w;
	char addr[64], err[DHO_ERRLEN];
	char *cert = NULL, *key = NULL;
	struct sockaddr_storage ss;
	int port, rc = 1, sig = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_ERROR_LOG;
	sigset_t set;
	struct MHD_OptionItem tls_opts[3] = { { MHD_OPTION_END, 0, NULL } };
	enum log_level level;

	memset(&w, 0, sizeof(w));
	if (log_parse_level(cfg->log_level, &level) == 0)
		log_set_level(level);
	w.cfg = cfg;
	w.db_path = db_path;
	pthread_mutex_init(&w.pool_lock, NULL);
	pthread_cond_init(&w.pool_cond, NULL);
	if (auth_init() != DHO_OK) {
		log_error("web: libsodium or liboath does not start");
		return 1;
	}
	if (config_split_listen(cfg->http_listen, addr, sizeof(addr), &port) != DHO_OK) {
		log_error("web: [http] listen '%s' is not ADDRESS:PORT", cfg->http_listen);
		return 2;
	}
	if ((cfg->http_tls_cert[0] != '\0') != (cfg->http_tls_key[0] != '\0')) {
		log_error("web: [http] tls_cert and tls_key go together");
		return 2;
	}
	if (cfg->http_tls_cert[0] != '\0') {
		cert = web_slurp(cfg->http_tls_cert);
		key = web_slurp(cfg->http_tls_key);
		if (cert == NULL || key == NULL) {
			log_error("web: cannot read %s", cert ? cfg->http_tls_key : cfg->http_tls_cert);
			rc = 2;
			goto out;
		}
		w.tls = true;
		flags |= MHD_USE_TLS;
	}
	for (int i = 0; i < WEB_POOL; i++) {
		/* The journal's connection checkpoints (journal.c); a request
		 * that writes a session or a nurse's action does not wait for
		 * one. */
		if (store_open(db_path, STORE_NO_CHECKPOINT |
		               (cfg->durability == CFG_DURABILITY_FULL ? STORE_FULL_SYNC : 0),
		               &w.pool[i].st, err, sizeof(err)) != DHO_OK ||
		    engine_new(cfg, w.pool[i].st, &w.pool[i].e, err, sizeof(err)) != DHO_OK) {
			log_error("web: %s", err);
			goto out;
		}
	}
	if (journal_new(&w, &w.journal) != DHO_OK) {
		log_error("web: cannot start the audit journal");
		goto out;
	}
	if (sse_new(&w, &w.sse) != DHO_OK) {
		log_error("web: cannot start the event streams");
		goto out;
	}
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a6->sin6_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a4->sin_addr);
	}
	/* Signals are taken by this thread alone, with sigwait(): the server's
	 * threads, started below, inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, cert };
	tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, key };
	if (!w.tls)
		tls_opts[0].option = MHD_OPTION_END;
	w.d = MHD_start_daemon(flags, 0, NULL, NULL, web_on_request, &w,
	                       MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, &w,
	                       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                       MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_MAX,
	                       MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WEB_CONN_PER_ADDR,
	                       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT,
	                       MHD_OPTION_NOTIFY_COMPLETED, web_on_done, &w,
	                       MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
	                       MHD_OPTION_ARRAY, tls_opts,
	                       MHD_OPTION_END);
	if (w.d == NULL) {
		log_error("web: cannot listen on %s: %s", cfg->http_listen, strerror(errno));
		goto out;
	}
	log_info("web: listening on %s://%s", w.tls ? "https" : "http", cfg->http_listen);
	do {
		if (sigwait(&set, &sig) != 0)
			break;
		if (sig == SIGHUP)
			log_info("web: SIGHUP ignored (restart to reload the configuration)");
	} while (sig == SIGHUP);
	log_info("web: stopping");
	/* Streams end first, so that no connection thread is left waiting for
	 * an event when the server joins them. */
	sse_stop(w.sse);
	MHD_stop_daemon(w.d);
	w.d = NULL;
	rc = 0;
out:
	sse_free(w.sse);
	journal_free(w.journal);
	web_close_pool(&w);
	free(cert);
	free(key);
	return rc;
}
