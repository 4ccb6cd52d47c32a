// SPDX-License-Identifier: MIT
/*
 * db.c - the SQLite backend: schema and migrations, the operation journal,
 * snapshots, and the transactions of the group-commit writer (commit.c).  The journal is the source of truth (replaying it rebuilds any
 * session, byte for byte); snapshots only shorten the replay, and are
 * trusted only when their checksum matches.
 *
 * Locking: the writing connection behind db->lock, taken for at most
 * DB_BUSY_MS; each reading connection behind its own mutex; the fault
 * record behind db->fault_lock, taken last and never held across SQL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "checksum.h"
#include "db.h"
#include "sql.h"
#include "store.h"

#define SCHEMA_VERSION	4
#define NR_READERS	4
#define READ_BUSY_MS	1000	/* a WAL reader waits only on recovery */
#define PROBE_EVERY_MS	1000
#define NR_STMTS	32	/* distinct statements one connection runs */

/*
 * A connection and its prepared statements, each prepared once (keyed by
 * the address of its SQL text, a literal) and reset after every use.
 */
struct conn {
	sqlite3 *h;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[NR_STMTS];
};

struct reader {
	struct conn c;
	pthread_mutex_t lock;
};

struct db {
	struct conn w;			/* the one writing connection */
	pthread_mutex_t lock;
	struct reader readers[NR_READERS];
	unsigned int next_reader;
	char path[512], wal[520];
	dev_t dev;			/* the file opened */
	ino_t ino;
	enum db_sync sync;
	struct committer *committer;
	pthread_mutex_t fault_lock;
	enum db_fault fault;		/* of the latest write, until one works */
	char fault_why[256];
	char note[256];			/* what opening it did, for the log */
	long long probed_ms;
	void (*on_change)(enum db_fault fault, const char *why);
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
	/* rows from before stay NULL: unverified, never loaded */
	"ALTER TABLE snapshots ADD COLUMN checksum BLOB;",
	/*
	 * The journal keeps the op alone (results come back by replay), and
	 * snapshots get an id of their own, for SQL without SQLite's rowid.
	 * INTEGER PRIMARY KEY is the rowid: each keeps its old one.
	 */
	"CREATE TABLE journal_v3 ("
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  op TEXT NOT NULL,"
	"  PRIMARY KEY (session, seq)) WITHOUT ROWID;"
	"INSERT INTO journal_v3(session, seq, op) SELECT session, seq, op "
	"  FROM journal;"
	"DROP TABLE journal;"
	"ALTER TABLE journal_v3 RENAME TO journal;"
	"CREATE TABLE snapshots_v3 ("
	"  id INTEGER PRIMARY KEY,"
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  name TEXT,"
	"  dump BLOB NOT NULL,"
	"  checksum BLOB);"
	"INSERT INTO snapshots_v3(id, session, seq, name, dump, checksum) "
	"  SELECT rowid, session, seq, name, dump, checksum FROM snapshots;"
	"DROP TABLE snapshots;"
	"ALTER TABLE snapshots_v3 RENAME TO snapshots;"
	"CREATE INDEX snapshots_by_seq ON snapshots(session, seq);"
	"CREATE UNIQUE INDEX snapshots_by_name ON snapshots(session, name);",
	DB_AUTH_SCHEMA,
};

static const char *const fault_names[] = {
	[DB_FAULT_NONE] = "none",
	[DB_FAULT_REMOVED] = "database-removed",
	[DB_FAULT_REPLACED] = "database-replaced",
	[DB_FAULT_READONLY] = "read-only",
	[DB_FAULT_FULL] = "disk-full",
	[DB_FAULT_BUSY] = "database-busy",
	[DB_FAULT_IO] = "io-error",
};

const char *db_fault_name(enum db_fault fault)
{
	return fault_names[fault];
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec(sqlite3 *h, const char *sql)
{
	return sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- statements ---- */

/* The connection's statement for sql, prepared on its first use. */
static sqlite3_stmt *cached(struct conn *c, const char *sql)
{
	size_t i;

	for (i = 0; i < NR_STMTS && c->stmts[i].sql; i++)
		if (c->stmts[i].sql == sql)
			return c->stmts[i].st;
	if (i == NR_STMTS)
		return NULL;	/* NR_STMTS is too small: every call fails */
	if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &c->stmts[i].st, NULL) != SQLITE_OK)
		return NULL;
	c->stmts[i].sql = sql;
	return c->stmts[i].st;
}

/* Done with a statement: ready for its next use, its bindings dropped. */
static void done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void conn_close(struct conn *c)
{
	size_t i;

	for (i = 0; i < NR_STMTS && c->stmts[i].sql; i++)
		sqlite3_finalize(c->stmts[i].st);
	memset(c->stmts, 0, sizeof(c->stmts));
	sqlite3_close(c->h);
	c->h = NULL;
}

/* Bind with the tiny format of db_sql_prep() (sql.h); 0 or -1. */
static int bind_all(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int i;

	for (i = 0; fmt[i]; i++) {
		int rc;

		if (fmt[i] == 'l') {
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long));
		} else if (fmt[i] == 'n') {
			long v = va_arg(ap, long);

			rc = v > 0 ? sqlite3_bind_int64(st, i + 1, v)
				   : sqlite3_bind_null(st, i + 1);
		} else if (fmt[i] == 't') {
			const char *s = va_arg(ap, const char *);

			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = sqlite3_bind_blob64(st, i + 1, p, n, SQLITE_TRANSIENT);
		}
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* The connection's cached statement for sql, bound. */
static sqlite3_stmt *vprep(struct conn *c, const char *sql, const char *fmt,
			   va_list ap)
{
	sqlite3_stmt *st = cached(c, sql);

	if (!st)
		return NULL;
	if (bind_all(st, fmt, ap)) {
		done(st);
		return NULL;
	}
	return st;
}

static sqlite3_stmt *prep(struct conn *c, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep(c, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* Run a statement that returns no rows; the caller holds its connection. */
static int step(struct conn *c, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = vprep(c, sql, fmt, ap);
	va_end(ap);
	rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	done(st);
	return rc;
}

static int user_version(struct conn *c)
{
	sqlite3_stmt *st = prep(c, "PRAGMA user_version", "");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	done(st);
	return v;
}

/* ---- reading connections ---- */

/* A free reader if there is one, else wait for one (they are quick). */
static struct reader *reader_get(struct db *db)
{
	unsigned int start = __atomic_fetch_add(&db->next_reader, 1,
						__ATOMIC_RELAXED);
	struct reader *r;
	unsigned int i;

	for (i = 0; i < NR_READERS; i++) {
		r = &db->readers[(start + i) % NR_READERS];
		if (!pthread_mutex_trylock(&r->lock))
			return r;
	}
	r = &db->readers[start % NR_READERS];
	pthread_mutex_lock(&r->lock);
	return r;
}

static void reader_put(struct reader *r)
{
	pthread_mutex_unlock(&r->lock);
}

static int open_readers(struct db *db)
{
	int i;

	for (i = 0; i < NR_READERS; i++) {
		struct reader *r = &db->readers[i];

		pthread_mutex_init(&r->lock, NULL);
		if (sqlite3_open_v2(db->path, &r->c.h, SQLITE_OPEN_READONLY |
				    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
			return -1;
		sqlite3_busy_timeout(r->c.h, READ_BUSY_MS);
		/* SQLite opens the file on first use: do it now, so that the
		 * readers hold the file rmapd watches, whatever happens to
		 * its path later */
		if (user_version(&r->c) < 0)
			return -1;
	}
	return 0;
}

int db_schema_version(struct db *db)
{
	struct reader *r = reader_get(db);
	int v = user_version(&r->c);

	reader_put(r);
	return v;
}

/* ---- watching the storage ---- */

static void set_fault(struct db *db, enum db_fault fault, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void db_on_fault_change(struct db *db,
			void (*fn)(enum db_fault fault, const char *why))
{
	pthread_mutex_lock(&db->fault_lock);
	db->on_change = fn;
	pthread_mutex_unlock(&db->fault_lock);
}

static void set_fault(struct db *db, enum db_fault fault, const char *fmt, ...)
{
	enum db_fault was;
	va_list ap;

	pthread_mutex_lock(&db->fault_lock);
	was = db->fault;
	db->fault = fault;
	va_start(ap, fmt);
	vsnprintf(db->fault_why, sizeof(db->fault_why), fmt, ap);
	va_end(ap);
	if (was != fault && db->on_change)
		db->on_change(fault, db->fault_why);
	pthread_mutex_unlock(&db->fault_lock);
}

static void clear_fault(struct db *db)
{
	pthread_mutex_lock(&db->fault_lock);
	if (db->fault && db->on_change)
		db->on_change(DB_FAULT_NONE, "");
	db->fault = DB_FAULT_NONE;
	db->fault_why[0] = '\0';
	pthread_mutex_unlock(&db->fault_lock);
}

enum db_fault db_last_fault(struct db *db, char *why, size_t len)
{
	enum db_fault f;

	pthread_mutex_lock(&db->fault_lock);
	f = db->fault;
	snprintf(why, len, "%s", f ? db->fault_why : "");
	pthread_mutex_unlock(&db->fault_lock);
	return f;
}

/*
 * Whether the path still names the file opened, writable.  SQLite goes on
 * writing into an unlinked inode, and a restart would then come up without
 * every op acknowledged since: a write is refused instead, until the same
 * file is back at the path (moved or linked back) or rmapd restarts.  As
 * root, access() ignores the mode bits but not chattr +i or a read-only
 * mount; as the service's own user it sees a chmod too.
 */
static enum db_fault file_fault(struct db *db, char *why, size_t len)
{
	struct stat st;

	if (stat(db->path, &st)) {
		snprintf(why, len, "the database file %s is gone (%s): writes "
			 "are refused until it is put back or rmapd restarts",
			 db->path, strerror(errno));
		return DB_FAULT_REMOVED;
	}
	if (st.st_dev != db->dev || st.st_ino != db->ino) {
		snprintf(why, len, "%s is no longer the database file rmapd "
			 "opened: writes are refused until that file is put "
			 "back or rmapd restarts", db->path);
		return DB_FAULT_REPLACED;
	}
	if (access(db->path, W_OK) ||
	    (access(db->wal, W_OK) && errno != ENOENT)) {
		snprintf(why, len, "the database file %s (or its -wal) cannot "
			 "be written: %s", db->path, strerror(errno));
		return DB_FAULT_READONLY;
	}
	return DB_FAULT_NONE;
}

/* What a failed statement on the writer means, remembered. */
static void note_sql_failure(struct db *db)
{
	int rc = sqlite3_errcode(db->w.h);
	const char *msg = sqlite3_errmsg(db->w.h);

	if (rc == SQLITE_FULL)
		set_fault(db, DB_FAULT_FULL, "the disk holding %s is full: %s",
			  db->path, msg);
	else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		set_fault(db, DB_FAULT_BUSY, "another process holds the "
			  "database's write lock (waited %d ms)", DB_BUSY_MS);
	else if (rc == SQLITE_READONLY)
		set_fault(db, DB_FAULT_READONLY, "the database %s cannot be "
			  "written: %s", db->path, msg);
	else
		set_fault(db, DB_FAULT_IO, "the database %s failed: %s",
			  db->path, msg);
}

/* ---- writing ---- */

static int lock_writer(struct db *db, int wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(&db->lock, &ts);
}

/*
 * Take the writer and open a write transaction, all within DB_BUSY_MS:
 * while another process holds the lock, writes queue for a bounded time,
 * then fail, rather than hang a worker each.
 */
static int write_begin(struct db *db)
{
	long long start = now_ms(), left;
	enum db_fault f;
	char why[256];

	if (lock_writer(db, DB_BUSY_MS)) {
		set_fault(db, DB_FAULT_BUSY, "the database's writer stayed busy "
			  "for %d ms", DB_BUSY_MS);
		return -1;
	}
	f = file_fault(db, why, sizeof(why));
	if (f) {
		set_fault(db, f, "%s", why);
		goto fail;
	}
	left = DB_BUSY_MS - (now_ms() - start);
	sqlite3_busy_timeout(db->w.h, left > 1 ? (int)left : 1);
	if (exec(db->w.h, "BEGIN IMMEDIATE")) {
		note_sql_failure(db);
		goto fail;
	}
	return 0;
fail:
	pthread_mutex_unlock(&db->lock);
	return -1;
}

/*
 * Commit (err 0) or roll back.  The file is checked again just before the
 * commit: an unlink during the transaction must not be acknowledged.
 */
static int write_end(struct db *db, int err)
{
	enum db_fault f;
	char why[256];

	if (err == DB_CONFLICT) {
		/* a rollback the writer asked for: the database is fine */
	} else if (err) {
		note_sql_failure(db);
	} else if ((f = file_fault(db, why, sizeof(why)))) {
		set_fault(db, f, "%s", why);
		err = -1;
	} else if (exec(db->w.h, "COMMIT")) {
		note_sql_failure(db);
		err = -1;
	} else {
		clear_fault(db);
	}
	if (!sqlite3_get_autocommit(db->w.h))
		exec(db->w.h, "ROLLBACK");
	pthread_mutex_unlock(&db->lock);
	return err;
}

/*
 * One real write (the schema version rewritten as it is) to see whether a
 * remembered fault is gone, at most once a second; never waits for the
 * writer: if a write holds it, that write will tell.
 */
static void probe(struct db *db)
{
	long long now = now_ms();
	char sql[64];

	pthread_mutex_lock(&db->fault_lock);
	if (now - db->probed_ms < PROBE_EVERY_MS) {
		pthread_mutex_unlock(&db->fault_lock);
		return;
	}
	db->probed_ms = now;
	pthread_mutex_unlock(&db->fault_lock);
	if (pthread_mutex_trylock(&db->lock))
		return;
	sqlite3_busy_timeout(db->w.h, 0);
	if (exec(db->w.h, "BEGIN IMMEDIATE")) {
		note_sql_failure(db);
		pthread_mutex_unlock(&db->lock);
		return;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	write_end(db, exec(db->w.h, sql));
}

enum db_fault db_health(struct db *db, char *why, size_t len)
{
	enum db_fault f = file_fault(db, why, len);

	if (f)
		return f;
	if (db_last_fault(db, why, len)) {
		probe(db);
		f = db_last_fault(db, why, len);
		if (f)
			return f;
	}
	if (db_schema_version(db) < 0) {
		snprintf(why, len, "the database %s does not answer", db->path);
		return DB_FAULT_IO;
	}
	return DB_FAULT_NONE;
}

/* ---- opening ---- */

static int migrate(struct db *db, char *err, size_t errlen)
{
	int v = user_version(&db->w);

	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is not one "
			 "this rmapd knows (%d)", v, SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(db->w.h, "BEGIN IMMEDIATE") ||
		    exec(db->w.h, migrations[v]) ||
		    (v + 1 == 4 && db_auth_adopt_sessions(db->w.h, db->note,
							  sizeof(db->note))) ||
		    exec(db->w.h, sql) || exec(db->w.h, "COMMIT")) {
			snprintf(err, errlen, "migration to schema %d failed: %s",
				 v + 1, sqlite3_errmsg(db->w.h));
			exec(db->w.h, "ROLLBACK");
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
	return exec(db->w.h, "DELETE FROM snapshots WHERE seq > (SELECT "
		    "COALESCE(MAX(seq), 0) FROM journal WHERE "
		    "journal.session = snapshots.session)");
}

static int open_writer(struct db *db, char *err, size_t errlen)
{
	struct stat st;

	if (sqlite3_open_v2(db->path, &db->w.h, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", db->path,
			 db->w.h ? sqlite3_errmsg(db->w.h) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(db->w.h, DB_BUSY_MS);
	if (exec(db->w.h, "PRAGMA journal_mode=WAL") ||
	    exec(db->w.h, "PRAGMA synchronous=FULL") ||
	    exec(db->w.h, "PRAGMA foreign_keys=ON")) {
		snprintf(err, errlen, "cannot set up %s: %s", db->path,
			 sqlite3_errmsg(db->w.h));
		return -1;
	}
	/* the file as it is now is the one to keep watching */
	if (stat(db->path, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", db->path,
			 strerror(errno));
		return -1;
	}
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	return 0;
}

static void close_all(struct db *db)
{
	int i;

	committer_stop(db->committer);
	for (i = 0; i < NR_READERS; i++) {
		conn_close(&db->readers[i].c);
		pthread_mutex_destroy(&db->readers[i].lock);
	}
	conn_close(&db->w);
	pthread_mutex_destroy(&db->lock);
	pthread_mutex_destroy(&db->fault_lock);
	free(db);
}

static const struct db_store_ops sqlite_store_ops;

struct db *db_open(const char *path, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->fault_lock, NULL);
	if (db_checksum_init()) {
		snprintf(err, errlen, "libsodium cannot start");
		goto fail;
	}
	if (strlen(path) >= sizeof(db->path)) {
		snprintf(err, errlen, "database path too long");
		goto fail;
	}
	snprintf(db->path, sizeof(db->path), "%s", path);
	snprintf(db->wal, sizeof(db->wal), "%s-wal", path);
	if (open_writer(db, err, errlen) || migrate(db, err, errlen))
		goto fail;
	if (drop_stale_snapshots(db)) {
		snprintf(err, errlen, "cannot check the snapshots of %s: %s", path,
			 sqlite3_errmsg(db->w.h));
		goto fail;
	}
	if (open_readers(db)) {
		snprintf(err, errlen, "cannot open %s for reading", path);
		goto fail;
	}
	db->committer = committer_start(&sqlite_store_ops, db);
	if (!db->committer) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return db;
fail:
	close_all(db);
	return NULL;
}

/*
 * The unlinked file still holds every op acknowledged before its removal
 * (and none after): an online backup through the open connection keeps
 * them, where closing would lose them with the inode.
 */
int db_rescue(struct db *db, char *out, size_t len)
{
	enum db_fault f = file_fault(db, out, len);
	sqlite3_backup *b;
	sqlite3 *to;
	int rc;

	if (f != DB_FAULT_REMOVED && f != DB_FAULT_REPLACED)
		return 1;
	snprintf(out, len, "%s.rescued-%ld", db->path, (long)time(NULL));
	if (!access(out, F_OK) ||
	    sqlite3_open_v2(out, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		snprintf(out, len, "cannot create a rescue copy beside %s",
			 db->path);
		return -1;
	}
	pthread_mutex_lock(&db->lock);
	b = sqlite3_backup_init(to, "main", db->w.h, "main");
	rc = b && sqlite3_backup_step(b, -1) == SQLITE_DONE ? 0 : -1;
	if (b)
		sqlite3_backup_finish(b);
	pthread_mutex_unlock(&db->lock);
	if (rc)
		snprintf(out, len, "the rescue copy failed: %s",
			 sqlite3_errmsg(to));
	sqlite3_close(to);
	return rc;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	committer_stop(db->committer);
	db->committer = NULL;
	sqlite3_wal_checkpoint_v2(db->w.h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
	close_all(db);
}

/* ---- sessions and the journal ---- */

static int insert_op(struct db *db, long session, long seq, const char *op)
{
	return step(&db->w, "INSERT INTO journal(session, seq, op) "
		    "VALUES(?, ?, ?)", "llt", session, seq, op);
}

/* The journal rows of a batch; the caller is in a write transaction. */
static int insert_ops(struct db *db, long session, long first, size_t n,
		      char *const *ops)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (insert_op(db, session, first + (long)i, ops[i]))
			return -1;
	return 0;
}

/* What a new session starts with: a scenario's ops, or a clone's copy. */
struct session_start {
	size_t n;
	char *const *ops;
	long from, upto;		/* clone: the source and its last op */
	long owner;			/* 0: none (open mode) */
};

/* RETURNING (SQLite 3.35, PostgreSQL): the new id, portably */
static int insert_session(struct db *db, const char *name, const char *config,
			  long owner, long *id)
{
	sqlite3_stmt *st = prep(&db->w, "INSERT INTO sessions(name, config, "
				"owner) VALUES(?, ?, ?) RETURNING id", "ttn",
				name, config, owner);
	int rc = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*id = (long)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	done(st);
	return rc;
}

/*
 * A session and the journal it starts with are one transaction: a crash
 * never leaves a session without the ops it was made with.
 */
static long create_with_journal(struct db *db, const char *name,
				const char *config,
				const struct session_start *start)
{
	long id = -1;
	int err;

	if (write_begin(db))
		return -1;
	err = insert_session(db, name, config, start->owner, &id);
	if (!err) {
		if (start->from)
			err = step(&db->w, "INSERT INTO journal(session, seq, op) "
				   "SELECT ?, seq, op FROM journal WHERE "
				   "session = ? AND seq <= ?",
				   "lll", id, start->from, start->upto);
		else
			err = insert_ops(db, id, 1, start->n, start->ops);
	}
	return write_end(db, err) ? -1 : id;
}

long db_session_create(struct db *db, const char *name, const char *config,
		       long owner, size_t n, char *const *ops)
{
	struct session_start start = { .n = n, .ops = ops, .owner = owner };

	return create_with_journal(db, name, config, &start);
}

long db_session_clone(struct db *db, const char *name, const char *config,
		      long owner, long from, long upto)
{
	struct session_start start = { .from = from, .upto = upto,
				       .owner = owner };

	return create_with_journal(db, name, config, &start);
}

int db_session_delete(struct db *db, long id)
{
	if (write_begin(db))
		return -1;
	return write_end(db, step(&db->w, "DELETE FROM sessions WHERE id = ?",
				  "l", id));
}

static void row_to_session(sqlite3_stmt *st, struct db_session *s)
{
	s->id = (long)sqlite3_column_int64(st, 0);
	snprintf(s->name, sizeof(s->name), "%s",
		 (const char *)sqlite3_column_text(st, 1));
	snprintf(s->config, sizeof(s->config), "%s",
		 (const char *)sqlite3_column_text(st, 2));
	s->version = (long)sqlite3_column_int64(st, 3);
	s->owner = (long)sqlite3_column_int64(st, 4);
	s->visibility = !strcmp((const char *)sqlite3_column_text(st, 5),
				"class") ? 1 : 0;
	s->class_id = (long)sqlite3_column_int64(st, 6);
}

#define SESSION_COLUMNS "id, name, config, " \
	"(SELECT COALESCE(MAX(seq), 0) FROM journal WHERE session = id), " \
	"owner, visibility, class_id"

int db_session_get(struct db *db, long id, struct db_session *out)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?",
		  "l", id);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		row_to_session(st, out);
		rc = 0;
	}
	done(st);
	reader_put(r);
	return rc;
}

int db_session_list(struct db *db, void (*fn)(const struct db_session *, void *),
		    void *arg)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;
	struct db_session s;

	st = prep(&r->c, "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY id",
		  "");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		row_to_session(st, &s);
		fn(&s, arg);
	}
	done(st);
	reader_put(r);
	return st ? 0 : -1;
}

#define READ_CHUNK	256

struct journal_row {
	long seq;
	char *op;
};

static void free_rows(struct journal_row *rows, int n)
{
	while (n--)
		free(rows[n].op);
}

/* Up to READ_CHUNK rows after from, copied out; -1 on error. */
static int read_chunk(struct db *db, long session, long from, long to,
		      struct journal_row *rows)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;
	int n = 0;
	bool oom = false;

	st = prep(&r->c, "SELECT seq, op FROM journal WHERE session = ? "
		  "AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?", "llll",
		  session, from, to, (long)READ_CHUNK);
	while (st && !oom && sqlite3_step(st) == SQLITE_ROW) {
		struct journal_row *row = &rows[n++];

		row->seq = (long)sqlite3_column_int64(st, 0);
		row->op = strdup((const char *)sqlite3_column_text(st, 1));
		oom = !row->op;
	}
	done(st);
	reader_put(r);
	if (!st || oom) {
		free_rows(rows, n);
		return -1;
	}
	return n;
}

/*
 * The rows come in chunks and the reader is let go while fn runs: replaying
 * a long journal must not hold a connection others need.  The session's own
 * rows do not change meanwhile: its caller holds the session.
 */
int db_journal_read(struct db *db, long session, long from, long to,
		    int (*fn)(long seq, const char *op, void *arg), void *arg)
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
			rc = fn(rows[i].seq, rows[i].op, arg);
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
	if (write_begin(db))
		return -1;
	return write_end(db, step(&db->w, "DELETE FROM journal WHERE session = ? "
				  "AND seq > ?", "ll", session, to) ||
			 step(&db->w, "DELETE FROM snapshots WHERE session = ? "
			      "AND seq > ?", "ll", session, to));
}

/* ---- snapshots ---- */

static int insert_snapshot(struct db *db, long session, long seq,
			   const char *name, const char *dump, size_t len)
{
	unsigned char sum[SNAPSHOT_SUM_LEN];

	db_snapshot_sum(session, seq, dump, len, sum);
	return step(&db->w, "INSERT INTO snapshots(session, seq, name, dump, "
		    "checksum) VALUES(?, ?, ?, ?, ?)", "lltbb", session, seq,
		    name, dump, len, sum, sizeof(sum));
}

int db_snapshot_put(struct db *db, long session, long seq, const char *name,
		    const char *dump, size_t len)
{
	int err;

	if (write_begin(db))
		return -1;
	err = insert_snapshot(db, session, seq, name, dump, len);
	if (err && sqlite3_extended_errcode(db->w.h) == SQLITE_CONSTRAINT_UNIQUE) {
		/* snapshots_by_name: the caller's mistake, not the storage's */
		exec(db->w.h, "ROLLBACK");
		pthread_mutex_unlock(&db->lock);
		return DB_EXISTS;
	}
	return write_end(db, err);
}

/*
 * Automatic snapshots only shorten a replay: a session's latest `keep` are
 * enough, and the older ones would fill the disk of a long-running lab.
 * The new one and the pruning are one transaction.
 */
static int insert_auto_snapshot(struct db *db, long session, long seq,
				const char *dump, size_t len, unsigned long keep)
{
	return insert_snapshot(db, session, seq, NULL, dump, len) ||
	       step(&db->w, "DELETE FROM snapshots WHERE session = ? AND name "
		    "IS NULL AND id NOT IN (SELECT id FROM snapshots WHERE "
		    "session = ? AND name IS NULL ORDER BY seq DESC, id DESC "
		    "LIMIT ?)", "lll", session, session, (long)keep);
}

int db_snapshot_auto(struct db *db, long session, long seq, const char *dump,
		     size_t len, unsigned long keep)
{
	if (write_begin(db))
		return -1;
	return write_end(db, insert_auto_snapshot(db, session, seq, dump, len,
						  keep));
}

/* The row's dump, if its checksum says it is the one stored for it. */
static int verified_dump(sqlite3_stmt *st, long session, long seq,
			 char **dump, size_t *len)
{
	unsigned char sum[SNAPSHOT_SUM_LEN];
	int n = sqlite3_column_bytes(st, 1);
	const void *blob = sqlite3_column_blob(st, 1);

	if (sqlite3_column_type(st, 2) == SQLITE_NULL)
		return DB_UNSIGNED;
	db_snapshot_sum(session, seq, blob ? blob : "", (size_t)n, sum);
	if (sqlite3_column_bytes(st, 2) != SNAPSHOT_SUM_LEN ||
	    db_snapshot_sum_differs(sqlite3_column_blob(st, 2), sum))
		return DB_BADSUM;
	*dump = malloc((size_t)n + 1);
	if (!*dump)
		return -1;
	if (n)
		memcpy(*dump, blob, (size_t)n);
	(*dump)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int db_snapshot_latest(struct db *db, long session, long max_seq, long *seq,
		       char **dump, size_t *len)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT seq, dump, checksum FROM snapshots WHERE "
		  "session = ? AND seq <= ? ORDER BY seq DESC LIMIT 1", "ll",
		  session, max_seq);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*seq = (long)sqlite3_column_int64(st, 0);
		rc = verified_dump(st, session, *seq, dump, len);
	}
	done(st);
	reader_put(r);
	return rc;
}

int db_snapshot_named(struct db *db, long session, const char *name, long *seq)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT seq FROM snapshots WHERE session = ? AND "
		  "name = ?", "lt", session, name);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*seq = (long)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	done(st);
	reader_put(r);
	return rc;
}

int db_snapshot_list(struct db *db, long session,
		     void (*fn)(const char *name, long seq, void *arg), void *arg)
{
	struct reader *r = reader_get(db);
	sqlite3_stmt *st;

	st = prep(&r->c, "SELECT name, seq FROM snapshots WHERE session = ? AND "
		  "name IS NOT NULL ORDER BY seq, name", "l", session);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		   (long)sqlite3_column_int64(st, 1), arg);
	done(st);
	reader_put(r);
	return st ? 0 : -1;
}

/* ---- what the group-commit writer asks of this backend ---- */

static int store_begin(void *store)
{
	return write_begin(store);
}

/*
 * The fence between nodes: a (session, seq) already there was written by
 * another node, on a state this one never saw.  Nothing is inserted and
 * the transaction goes on, so that the writer can leave that session out.
 */
static int store_append(void *store, long session, long seq, const char *op)
{
	struct db *db = store;

	if (step(&db->w, "INSERT INTO journal(session, seq, op) "
		 "VALUES(?, ?, ?) ON CONFLICT DO NOTHING", "llt", session, seq,
		 op))
		return -1;
	return sqlite3_changes(db->w.h) ? 0 : DB_CONFLICT;
}

static int store_snapshot(void *store, long session, long seq,
			  const char *dump, size_t len, unsigned long keep)
{
	return insert_auto_snapshot(store, session, seq, dump, len, keep);
}

static int store_end(void *store, int err)
{
	return write_end(store, err);
}

static const struct db_store_ops sqlite_store_ops = {
	.begin = store_begin,
	.append = store_append,
	.snapshot = store_snapshot,
	.end = store_end,
};

struct committer *db_committer(struct db *db)
{
	return db->committer;
}

/*
 * FULL syncs the WAL at every commit; NORMAL only at checkpoints, so a
 * commit survives rmapd's death but not the machine's.  OFF answers
 * before the commit: the writer still commits at once, with NORMAL.
 */
int db_set_sync(struct db *db, enum db_sync sync)
{
	int rc;

	pthread_mutex_lock(&db->lock);
	rc = exec(db->w.h, sync == DB_SYNC_FULL ? "PRAGMA synchronous=FULL" :
		  "PRAGMA synchronous=NORMAL");
	if (!rc)
		__atomic_store_n(&db->sync, sync, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

enum db_sync db_sync(struct db *db)
{
	return __atomic_load_n(&db->sync, __ATOMIC_RELAXED);
}

/* ---- for the stores that share the connections (sql.h) ---- */

/* prepared for this call alone: the caller finalizes it */
static sqlite3_stmt *vprep_once(sqlite3 *h, const char *sql, const char *fmt,
				va_list ap)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (bind_all(st, fmt, ap)) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *db_sql_prep(sqlite3 *h, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep_once(h, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* a statement that returns no rows; the caller holds its connection */
int db_sql_step(sqlite3 *h, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = vprep_once(h, sql, fmt, ap);
	va_end(ap);
	rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

int db_write_begin(struct db *db)
{
	return write_begin(db);
}

int db_write_end(struct db *db, int err)
{
	return write_end(db, err);
}

sqlite3 *db_writer(struct db *db)
{
	return db->w.h;
}

sqlite3 *db_read_begin(struct db *db, void **token)
{
	struct reader *r = reader_get(db);

	*token = r;
	return r->c.h;
}

void db_read_end(void *token)
{
	reader_put(token);
}

const char *db_open_note(struct db *db)
{
	return db->note;
}
