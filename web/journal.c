/*
 * journal.c: the workspace's audit rows, written with group commit.
 *
 * Every response with patient data is audited before it is sent, so each
 * request would need SQLite's one write lock, which `run` needs for every
 * reading: under load, fifty nurses' audit rows would queue behind each
 * other and behind ingest. Instead a request hands its rows to the journal
 * and waits; one writer thread, on a store connection of its own, takes
 * everything that has queued up meanwhile and commits it in one
 * transaction, then wakes the requests of that batch with its result. A
 * response still leaves only after its audit rows are on disk.
 *
 * Locking: lock guards every field of struct journal below it; requests
 * wait on done, the writer on work.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "web_int.h"

#define JOURNAL_RING 1024      /* batch results kept for late waiters */

struct journal_row {
	dho_time_t at;
	char *actor, *action, *object, *detail;
};

struct journal {
	struct store *st;          /* the writer's own connection */
	pthread_t writer;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t done;
	bool stopping;
	struct journal_row *rows;  /* queued for the next batch */
	size_t n, cap;
	uint64_t next;             /* the batch that queued rows will be in */
	uint64_t committed;        /* the last batch written (or failed) */
	int rc[JOURNAL_RING];      /* its result, by batch number */
};

static void
journal_free_rows(struct journal_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].actor);
		free(rows[i].action);
		free(rows[i].object);
		free(rows[i].detail);
	}
}

static int
journal_commit(struct store *st, const struct journal_row *rows, size_t n)
{
	int rc = store_begin(st);

	for (size_t i = 0; i < n && rc == DHO_OK; i++) {
		struct store_audit a = { rows[i].at, rows[i].actor, rows[i].action, rows[i].object,
		                         rows[i].detail };

		rc = store_audit_add(st, &a);
	}
	if (rc == DHO_OK)
		rc = store_commit(st);
	if (rc != DHO_OK) {
		log_warnx("web: the audit log cannot be written: %s", store_errmsg(st));
		store_rollback(st);
	}
	return rc;
}

static void *
journal_run(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct journal_row *rows;
		size_t n;
		uint64_t batch;
		int rc;

		while (j->n == 0 && !j->stopping)
			pthread_cond_wait(&j->work, &j->lock);
		if (j->n == 0 && j->stopping)
			break;
		rows = j->rows;
		n = j->n;
		batch = j->next++;
		j->rows = NULL;
		j->n = j->cap = 0;
		pthread_mutex_unlock(&j->lock);
		rc = journal_commit(j->st, rows, n);
		journal_free_rows(rows, n);
		free(rows);
		pthread_mutex_lock(&j->lock);
		j->rc[batch % JOURNAL_RING] = rc;
		j->committed = batch;
		pthread_cond_broadcast(&j->done);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int
journal_new(struct web *w, struct journal **out)
{
	struct journal *j = calloc(1, sizeof(*j));
	char err[DHO_ERRLEN];

	*out = NULL;
	if (j == NULL)
		return DHO_ENOMEM;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->work, NULL);
	pthread_cond_init(&j->done, NULL);
	j->next = 1;
	if (store_open(w->db_path, w->cfg->durability == CFG_DURABILITY_FULL ? STORE_FULL_SYNC : 0,
	               &j->st, err, sizeof(err)) != DHO_OK) {
		log_error("web: audit journal: %s", err);
		journal_free(j);
		return DHO_EIO;
	}
	/* The workspace's checkpoints happen off the batches' commits (and
	 * the pool's connections make none), so no request waits for one. */
	if (store_checkpoint_thread(j->st) != DHO_OK) {
		log_error("web: audit journal: cannot start its checkpoint thread");
		journal_free(j);
		return DHO_EIO;
	}
	if (pthread_create(&j->writer, NULL, journal_run, j) != 0) {
		journal_free(j);
		return DHO_EIO;
	}
	j->started = true;
	*out = j;
	return DHO_OK;
}

void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->started) {
		pthread_mutex_lock(&j->lock);
		j->stopping = true;
		pthread_cond_signal(&j->work);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->writer, NULL);
	}
	journal_free_rows(j->rows, j->n);
	free(j->rows);
	store_close(j->st);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->work);
	pthread_cond_destroy(&j->done);
	free(j);
}

static char *
journal_dup(const char *s)
{
	return strdup(s ? s : "");
}

int
journal_write(struct journal *j, const struct store_audit *rows, size_t n)
{
	uint64_t batch;
	int rc = DHO_OK;

	if (n == 0)
		return DHO_OK;
	pthread_mutex_lock(&j->lock);
	if (j->stopping) {
		pthread_mutex_unlock(&j->lock);
		return DHO_EIO;
	}
	if (j->n + n > j->cap) {
		size_t cap = (j->n + n) * 2;
		struct journal_row *grown = realloc(j->rows, cap * sizeof(*grown));

		if (grown == NULL) {
			pthread_mutex_unlock(&j->lock);
			return DHO_ENOMEM;
		}
		j->rows = grown;
		j->cap = cap;
	}
	for (size_t i = 0; i < n && rc == DHO_OK; i++) {
		struct journal_row r = { rows[i].at, journal_dup(rows[i].actor),
		                         journal_dup(rows[i].action), journal_dup(rows[i].object),
		                         journal_dup(rows[i].detail) };

		if (!r.actor || !r.action || !r.object || !r.detail) {
			journal_free_rows(&r, 1);
			rc = DHO_ENOMEM;
			break;
		}
		j->rows[j->n++] = r;
	}
	batch = j->next;
	pthread_cond_signal(&j->work);
	while (j->committed < batch)
		pthread_cond_wait(&j->done, &j->lock);
	if (rc == DHO_OK)
		rc = j->rc[batch % JOURNAL_RING];
	pthread_mutex_unlock(&j->lock);
	return rc;
}
