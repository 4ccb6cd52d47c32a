// SPDX-License-Identifier: MIT
/*
 * db.c - SQLite persistence: schema and migrations, the operation journal,
 * snapshots.  The journal is the source of truth (replaying it rebuilds any
 * session, byte for byte); snapshots only shorten the replay.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"

#define SCHEMA_VERSION 1

struct db {
	sqlite3 *h;
	pthread_mutex_t lock;
};

/* Migration n takes the schema from version n to n + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL,"
	"  config TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	"CREATE TABLE journal ("
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  op TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  PRIMARY KEY (session, seq)) WITHOUT ROWID;"
	"CREATE TABLE snapshots ("
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  name TEXT,"
	"  dump BLOB NOT NULL);"
	"CREATE INDEX snapshots_by_seq ON snapshots(session, seq);"
	"CREATE UNIQUE INDEX snapshots_by_name ON snapshots(session, name);",
};

static int exec(struct db *db, const char *sql)
{
	return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int db_schema_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -1;

	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return v;
}

static int migrate(struct db *db, char *err, size_t errlen)
{
	int v = db_schema_version(db);

	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is not one "
			 "this rmapd knows (%d)", v, SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(db, "BEGIN IMMEDIATE") || exec(db, migrations[v]) ||
		    exec(db, sql) || exec(db, "COMMIT")) {
			snprintf(err, errlen, "migration to schema %d failed: %s",
				 v + 1, sqlite3_errmsg(db->h));
			exec(db, "ROLLBACK");
			return -1;
		}
	}
	return 0;
}

/*
 * A snapshot past the end of its session's journal was taken in a history
 * that a rewind discarded (earlier rmapd cut the journal and the snapshots
 * in two transactions, and could crash in between).  Once new ops reach its
 * seq it would stand in for them: drop it before any replay.
 */
static int drop_stale_snapshots(struct db *db)
{
	return exec(db, "DELETE FROM snapshots WHERE seq > (SELECT "
		    "COALESCE(MAX(seq), 0) FROM journal WHERE "
		    "journal.session = snapshots.session)");
}

struct db *db_open(const char *path, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (exec(db, "PRAGMA journal_mode=WAL") ||
	    exec(db, "PRAGMA synchronous=FULL") ||
	    exec(db, "PRAGMA foreign_keys=ON")) {
		snprintf(err, errlen, "cannot set up %s: %s", path,
			 sqlite3_errmsg(db->h));
		goto fail;
	}
	if (migrate(db, err, errlen))
		goto fail;
	if (drop_stale_snapshots(db)) {
		snprintf(err, errlen, "cannot check the snapshots of %s: %s", path,
			 sqlite3_errmsg(db->h));
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db->h);
	free(db);
	return NULL;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
	sqlite3_close(db->h);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* Prepare, bind with a tiny format ('l' long, 't' text, 'b' blob+len), step. */
static sqlite3_stmt *prep(struct db *db, const char *sql, const char *fmt, ...)
	__attribute__((unused));

#include <stdarg.h>

static sqlite3_stmt *vprep(struct db *db, const char *sql, const char *fmt,
			   va_list ap)
{
	sqlite3_stmt *st;
	int i;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	for (i = 0; fmt[i]; i++) {
		int rc;

		if (fmt[i] == 'l') {
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long));
		} else if (fmt[i] == 't') {
			const char *s = va_arg(ap, const char *);

			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
		} else {
			const char *p = va_arg(ap, const char *);
			size_t n = va_arg(ap, size_t);

			rc = sqlite3_bind_blob64(st, i + 1, p, n, SQLITE_TRANSIENT);
		}
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return NULL;
		}
	}
	return st;
}

static sqlite3_stmt *prep(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep(db, sql, fmt, ap);
	va_end(ap);
	return st;
}

static int vstep(struct db *db, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = vprep(db, sql, fmt, ap);
	int rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;

	sqlite3_finalize(st);
	return rc;
}

/* Run a statement that returns no rows; the caller holds the lock. */
static int step(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vstep(db, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* The same, under the lock. */
static int run(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	pthread_mutex_lock(&db->lock);
	va_start(ap, fmt);
	rc = vstep(db, sql, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* The journal rows of a batch; the caller holds the lock, in a transaction. */
static int insert_ops(struct db *db, long session, long first, size_t n,
		      char *const *ops, char *const *results)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (step(db, "INSERT INTO journal(session, seq, op, result) "
			 "VALUES(?, ?, ?, ?)", "lltt", session, first + (long)i,
			 ops[i], results[i]))
			return -1;
	return 0;
}

static long insert_session(struct db *db, const char *name, const char *config)
{
	if (step(db, "INSERT INTO sessions(name, config) VALUES(?, ?)", "tt",
		 name, config))
		return -1;
	return (long)sqlite3_last_insert_rowid(db->h);
}

/* What a new session starts with: a scenario's ops, or a clone's copy. */
struct session_start {
	size_t n;
	char *const *ops, *const *results;
	long from, upto;		/* clone: the source and its last op */
};

/*
 * A session and the journal it starts with are one transaction: a crash
 * never leaves a session without the ops it was made with.
 */
static long create_with_journal(struct db *db, const char *name,
				const char *config,
				const struct session_start *start)
{
	long id;
	int err;

	pthread_mutex_lock(&db->lock);
	if (exec(db, "BEGIN IMMEDIATE")) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	id = insert_session(db, name, config);
	if (id < 0)
		err = -1;
	else if (start->from)
		err = step(db, "INSERT INTO journal(session, seq, op, result) "
			   "SELECT ?, seq, op, result FROM journal WHERE "
			   "session = ? AND seq <= ?", "lll", id, start->from,
			   start->upto);
	else
		err = insert_ops(db, id, 1, start->n, start->ops,
				 start->results);
	if (err || exec(db, "COMMIT")) {
		exec(db, "ROLLBACK");
		id = -1;
	}
	pthread_mutex_unlock(&db->lock);
	return id;
}

long db_session_create(struct db *db, const char *name, const char *config,
		       size_t n, char *const *ops, char *const *results)
{
	struct session_start start = { .n = n, .ops = ops, .results = results };

	return create_with_journal(db, name, config, &start);
}

long db_session_clone(struct db *db, const char *name, const char *config,
		      long from, long upto)
{
	struct session_start start = { .from = from, .upto = upto };

	return create_with_journal(db, name, config, &start);
}

int db_session_delete(struct db *db, long id)
{
	return run(db, "DELETE FROM sessions WHERE id = ?", "l", id);
}

static void row_to_session(sqlite3_stmt *st, struct db_session *s)
{
	s->id = (long)sqlite3_column_int64(st, 0);
	snprintf(s->name, sizeof(s->name), "%s",
		 (const char *)sqlite3_column_text(st, 1));
	snprintf(s->config, sizeof(s->config), "%s",
		 (const char *)sqlite3_column_text(st, 2));
	s->version = (long)sqlite3_column_int64(st, 3);
}

#define SESSION_COLUMNS "id, name, config, " \
	"(SELECT COALESCE(MAX(seq), 0) FROM journal WHERE session = id)"

int db_session_get(struct db *db, long id, struct db_session *out)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?",
		  "l", id);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		row_to_session(st, out);
		rc = 0;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_session_list(struct db *db, void (*fn)(const struct db_session *, void *),
		    void *arg)
{
	sqlite3_stmt *st;
	struct db_session s;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY id", "");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		row_to_session(st, &s);
		fn(&s, arg);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return st ? 0 : -1;
}

int db_journal_append(struct db *db, long session, long seq, const char *op,
		      const char *result)
{
	return run(db, "INSERT INTO journal(session, seq, op, result) "
		   "VALUES(?, ?, ?, ?)", "lltt", session, seq, op, result);
}

int db_journal_append_batch(struct db *db, long session, long first, size_t n,
			    char *const *ops, char *const *results)
{
	int rc = 0;

	pthread_mutex_lock(&db->lock);
	if (exec(db, "BEGIN IMMEDIATE")) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	if (insert_ops(db, session, first, n, ops, results) ||
	    exec(db, "COMMIT")) {
		exec(db, "ROLLBACK");
		rc = -1;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

#define READ_CHUNK	256

struct journal_row {
	long seq;
	char *op, *result;
};

static void free_rows(struct journal_row *rows, int n)
{
	while (n--) {
		free(rows[n].op);
		free(rows[n].result);
	}
}

/* Up to READ_CHUNK rows after from, copied out under the lock; -1 on error. */
static int read_chunk(struct db *db, long session, long from, long to,
		      struct journal_row *rows)
{
	sqlite3_stmt *st;
	int n = 0;
	bool oom = false;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT seq, op, result FROM journal WHERE session = ? "
		  "AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?", "llll",
		  session, from, to, (long)READ_CHUNK);
	while (st && !oom && sqlite3_step(st) == SQLITE_ROW) {
		struct journal_row *r = &rows[n++];

		r->seq = (long)sqlite3_column_int64(st, 0);
		r->op = strdup((const char *)sqlite3_column_text(st, 1));
		r->result = strdup((const char *)sqlite3_column_text(st, 2));
		oom = !r->op || !r->result;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	if (!st || oom) {
		free_rows(rows, n);
		return -1;
	}
	return n;
}

/*
 * The rows come in chunks and the lock is let go while fn runs: replaying a
 * long journal must not stall every other session's writes.  The session's
 * own rows do not change meanwhile: its caller holds the session.
 */
int db_journal_read(struct db *db, long session, long from, long to,
		    int (*fn)(long seq, const char *op, const char *result,
			      void *arg),
		    void *arg)
{
	struct journal_row *rows = malloc(READ_CHUNK * sizeof(*rows));
	int n, i, rc = 0;

	if (!rows)
		return -1;
	while (!rc && from < to) {
		n = read_chunk(db, session, from, to, rows);
		if (n < 0) {
			rc = -1;
			break;
		}
		for (i = 0; i < n && !rc; i++)
			rc = fn(rows[i].seq, rows[i].op, rows[i].result, arg);
		if (n)
			from = rows[n - 1].seq;
		free_rows(rows, n);
		if (n < READ_CHUNK)
			break;
	}
	free(rows);
	return rc;
}

/*
 * The journal and the snapshots are cut in one transaction: a snapshot that
 * outlived its ops would later stand in for different ops of the same seq.
 */
int db_rewind(struct db *db, long session, long to)
{
	int rc = 0;

	pthread_mutex_lock(&db->lock);
	if (exec(db, "BEGIN IMMEDIATE") ||
	    step(db, "DELETE FROM journal WHERE session = ? AND seq > ?", "ll",
		 session, to) ||
	    step(db, "DELETE FROM snapshots WHERE session = ? AND seq > ?", "ll",
		 session, to) ||
	    exec(db, "COMMIT")) {
		exec(db, "ROLLBACK");
		rc = -1;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_snapshot_put(struct db *db, long session, long seq, const char *name,
		    const char *dump, size_t len)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "INSERT INTO snapshots(session, seq, name, dump) "
		  "VALUES(?, ?, ?, ?)", "lltb", session, seq, name, dump, len);
	if (st && sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else if (st && sqlite3_extended_errcode(db->h) ==
		 SQLITE_CONSTRAINT_UNIQUE)
		rc = DB_EXISTS;		/* snapshots_by_name */
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/*
 * Automatic snapshots only shorten a replay: a session's latest `keep` are
 * enough, and the older ones would fill the disk of a long-running lab.
 * The new one and the pruning are one transaction.
 */
int db_snapshot_auto(struct db *db, long session, long seq, const char *dump,
		     size_t len, unsigned long keep)
{
	int rc = 0;

	pthread_mutex_lock(&db->lock);
	if (exec(db, "BEGIN IMMEDIATE")) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	if (step(db, "INSERT INTO snapshots(session, seq, name, dump) "
		 "VALUES(?, ?, NULL, ?)", "llb", session, seq, dump, len) ||
	    step(db, "DELETE FROM snapshots WHERE session = ? AND name IS NULL "
		 "AND rowid NOT IN (SELECT rowid FROM snapshots WHERE session "
		 "= ? AND name IS NULL ORDER BY seq DESC, rowid DESC LIMIT ?)",
		 "lll", session, session, (long)keep) ||
	    exec(db, "COMMIT")) {
		exec(db, "ROLLBACK");
		rc = -1;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_snapshot_latest(struct db *db, long session, long max_seq, long *seq,
		       char **dump, size_t *len)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT seq, dump FROM snapshots WHERE session = ? AND "
		  "seq <= ? ORDER BY seq DESC LIMIT 1", "ll", session, max_seq);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 1);

		*seq = (long)sqlite3_column_int64(st, 0);
		*dump = malloc((size_t)n + 1);
		if (*dump) {
			memcpy(*dump, sqlite3_column_blob(st, 1), (size_t)n);
			(*dump)[n] = '\0';
			*len = (size_t)n;
			rc = 0;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_snapshot_named(struct db *db, long session, const char *name, long *seq)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT seq FROM snapshots WHERE session = ? AND name = ?",
		  "lt", session, name);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*seq = (long)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_snapshot_list(struct db *db, long session,
		     void (*fn)(const char *name, long seq, void *arg), void *arg)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&db->lock);
	st = prep(db, "SELECT name, seq FROM snapshots WHERE session = ? AND "
		  "name IS NOT NULL ORDER BY seq, name", "l", session);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		   (long)sqlite3_column_int64(st, 1), arg);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return st ? 0 : -1;
}
