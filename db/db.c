// SPDX-License-Identifier: MIT
/*
 * db.c - the store over a driver (driver.h: SQLite or PostgreSQL):
 * migrations, the operation journal, snapshots, and the transactions of
 * the group-commit writer (commit.c), in one copy of portable SQL.  The
 * journal is the source of truth (replaying it rebuilds any
 * session, byte for byte); snapshots only shorten the replay, and are
 * trusted only when their checksum matches.
 *
 * Locking: the writing connection behind db->lock, taken for at most
 * DB_BUSY_MS; each reading connection behind its own mutex; the fault
 * record behind db->fault_lock, taken last and never held across SQL.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "db.h"
#include "driver.h"
#include "sql.h"
#include "store.h"

#define SCHEMA_VERSION	7
#define NR_READERS	4
#define PROBE_EVERY_MS	1000
#define NR_STMTS	32	/* distinct statements one connection runs */

/*
 * A connection and its prepared statements, each prepared once (keyed by
 * the address of its SQL text, a literal) and reset after every use.
 */
struct conn {
	struct db_conn *h;
	struct {
		const char *sql;
		struct db_stmt *st;
	} stmts[NR_STMTS];
};

struct reader {
	struct conn c;
	pthread_mutex_t lock;
};

struct db {
	const struct db_driver *drv;
	struct conn w;			/* the one writing connection */
	pthread_mutex_t lock;
	struct reader readers[NR_READERS];
	unsigned int next_reader;
	char target[512];		/* the path or URL opened */
	enum db_sync sync;
	struct committer *committer;
	pthread_mutex_t fault_lock;
	enum db_fault fault;		/* of the latest write, until one works */
	char fault_why[256];
	char note[256];			/* what opening it did, for the log */
	long long probed_ms;
	void (*on_change)(enum db_fault fault, const char *why);
	/* the sessions this write transaction changed, for other nodes */
	char changed[NOTICE_MAX];
	size_t nr_changed;
	long last_changed;
	/* the listener's (db_listen) */
	pthread_t listener;
	bool listening, stop_listening;
	int writer_backend;		/* atomic: its own notices are not news */
	void (*on_notice)(const char *sessions);
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

long long db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec(struct conn *c, const char *sql)
{
	return c->h->drv->exec(c->h, sql);
}

/* ---- statements ---- */

/*
 * The connection's statement for sql, prepared on its first use.  A
 * driver that loses its connection prepares again by itself: the cache
 * holds its statement objects, not the server's.
 */
static struct db_stmt *cached(struct conn *c, const char *sql)
{
	size_t i;

	for (i = 0; i < NR_STMTS && c->stmts[i].sql; i++)
		if (c->stmts[i].sql == sql)
			return c->stmts[i].st;
	if (i == NR_STMTS)
		return NULL;	/* NR_STMTS is too small: every call fails */
	c->stmts[i].st = c->h->drv->prepare(c->h, sql, true);
	if (!c->stmts[i].st)
		return NULL;
	c->stmts[i].sql = sql;
	return c->stmts[i].st;
}

/* Done with a statement: ready for its next use, its bindings dropped. */
static void done(struct db_stmt *st)
{
	if (st)
		st->drv->reset(st);
}

static void conn_close(struct conn *c)
{
	size_t i;

	for (i = 0; i < NR_STMTS && c->stmts[i].sql; i++)
		db_stmt_free(c->stmts[i].st);
	memset(c->stmts, 0, sizeof(c->stmts));
	if (c->h)
		c->h->drv->close(c->h);
	c->h = NULL;
}

/* Bind with the tiny format of db_sql_prep() (sql.h); 0 or -1. */
static int bind_all(struct db_stmt *st, const char *fmt, va_list ap)
{
	const struct db_driver *d = st->drv;
	int i;

	for (i = 0; fmt[i]; i++) {
		int rc;

		if (fmt[i] == 'l') {
			rc = d->bind_int64(st, i + 1, va_arg(ap, long));
		} else if (fmt[i] == 'n') {
			long v = va_arg(ap, long);

			rc = v > 0 ? d->bind_int64(st, i + 1, v)
				   : d->bind_null(st, i + 1);
		} else if (fmt[i] == 't') {
			const char *s = va_arg(ap, const char *);

			rc = s ? d->bind_text(st, i + 1, s)
			       : d->bind_null(st, i + 1);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = d->bind_blob(st, i + 1, p, n);
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* The connection's cached statement for sql, bound. */
static struct db_stmt *vprep(struct conn *c, const char *sql, const char *fmt,
			     va_list ap)
{
	struct db_stmt *st = cached(c, sql);

	if (!st)
		return NULL;
	if (bind_all(st, fmt, ap)) {
		done(st);
		return NULL;
	}
	return st;
}

static struct db_stmt *prep(struct conn *c, const char *sql, const char *fmt,
			    ...)
{
	struct db_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep(c, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* What a step that returns no rows did: 0, DB_CONFLICT or -1. */
static int step_result(enum db_step r)
{
	if (r == DB_STEP_DONE)
		return 0;
	return r == DB_STEP_CONFLICT ? DB_CONFLICT : -1;
}

/* Run a statement that returns no rows; the caller holds its connection. */
static int step(struct conn *c, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = vprep(c, sql, fmt, ap);
	va_end(ap);
	rc = st ? step_result(db_stmt_step(st)) : -1;
	done(st);
	return rc;
}

/*
 * A statement that inserts at most one row: 0, or DB_CONFLICT when ON
 * CONFLICT DO NOTHING left it out (the transaction goes on), or -1.
 */
static int insert_one(struct conn *c, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc = -1;

	va_start(ap, fmt);
	st = vprep(c, sql, fmt, ap);
	va_end(ap);
	if (st) {
		rc = step_result(db_stmt_step(st));
		if (!rc && db_stmt_changes(st) == 0)
			rc = DB_CONFLICT;
	}
	done(st);
	return rc;
}

static int user_version(struct conn *c)
{
	return c->h->drv->version(c->h);
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

static int open_readers(struct db *db, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < NR_READERS; i++) {
		struct reader *r = &db->readers[i];

		r->c.h = db->drv->open(db->target, true, err, errlen);
		if (!r->c.h)
			return -1;
	}
	return 0;
}

struct db_conn *db_conn_own(struct db *db)
{
	char err[256];

	return db->drv->open(db->target, true, err, sizeof(err));
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
	__atomic_store_n(&db->fault, fault, __ATOMIC_RELEASE);
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
	__atomic_store_n(&db->fault, DB_FAULT_NONE, __ATOMIC_RELEASE);
	db->fault_why[0] = '\0';
	pthread_mutex_unlock(&db->fault_lock);
}

enum db_fault db_last_fault(struct db *db, char *why, size_t len)
{
	enum db_fault f;

	/* asked before every write: the common answer without the lock */
	if (!__atomic_load_n(&db->fault, __ATOMIC_ACQUIRE)) {
		if (len)
			why[0] = '\0';
		return DB_FAULT_NONE;
	}
	pthread_mutex_lock(&db->fault_lock);
	f = db->fault;
	snprintf(why, len, "%s", f ? db->fault_why : "");
	pthread_mutex_unlock(&db->fault_lock);
	return f;
}

/* what makes writes impossible before one is tried (the driver knows) */
static enum db_fault file_fault(struct db *db, char *why, size_t len)
{
	return db->drv->watch(db->w.h, why, len);
}

/* What a failed statement on the writer means, remembered. */
static void note_sql_failure(struct db *db)
{
	char why[256];
	enum db_fault f = db->drv->fault(db->w.h, why, sizeof(why));

	set_fault(db, f, "%s", why);
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
 * then fail, rather than hang a worker each.  The file is watched at the
 * commit (write_end()), which is where it counts: once there is enough.
 */
static int write_begin(struct db *db)
{
	long long start = db_now_ms(), left;

	if (lock_writer(db, DB_BUSY_MS)) {
		set_fault(db, DB_FAULT_BUSY, "the database's writer stayed busy "
			  "for %d ms", DB_BUSY_MS);
		return -1;
	}
	left = DB_BUSY_MS - (db_now_ms() - start);
	db->nr_changed = 0;
	db->changed[0] = '\0';
	db->last_changed = -1;
	if (db->drv->begin(db->w.h, (int)left)) {
		note_sql_failure(db);
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	return 0;
}

/* the sessions db_notice() named, told as the transaction commits */
static int send_notice(struct db *db)
{
	struct db_stmt *st = prep(&db->w, db->drv->notify, "t", db->changed);
	int rc = st && db_stmt_step(st) == DB_STEP_ROW ? 0 : -1;

	done(st);
	return rc;
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
		/* a key already there: the caller's news, not a fault */
	} else if (err) {
		note_sql_failure(db);
	} else if ((f = file_fault(db, why, sizeof(why)))) {
		set_fault(db, f, "%s", why);
		err = -1;
	} else if (db->nr_changed && send_notice(db)) {
		note_sql_failure(db);
		err = -1;
	} else if (db->drv->commit(db->w.h)) {
		note_sql_failure(db);
		err = -1;
	} else {
		clear_fault(db);
	}
	db->drv->rollback(db->w.h);
	pthread_mutex_unlock(&db->lock);
	return err;
}

/*
 * In a write transaction: other nodes are told, when it commits, that
 * session changed (0: anything may have), where the engine can tell them
 * (PostgreSQL's NOTIFY, which delivers once committed, in commit order).
 * Too many sessions for one notice make it "0".
 */
void db_notice(struct db *db, long session)
{
	char id[24];
	int n;

	if (!db->drv->notify || session == db->last_changed ||
	    !strcmp(db->changed, "0"))
		return;	/* told already, or everything will be */
	db->last_changed = session;
	if (!db->nr_changed)	/* the writer's, as it sends this one */
		__atomic_store_n(&db->writer_backend, db->drv->backend(db->w.h),
				 __ATOMIC_RELAXED);
	n = snprintf(id, sizeof(id), "%s%ld", db->nr_changed ? "," : "",
		     session > 0 ? session : 0);
	if (session <= 0 || db->nr_changed + (size_t)n >= sizeof(db->changed)) {
		snprintf(db->changed, sizeof(db->changed), "0");
		db->nr_changed = 1;
		return;
	}
	memcpy(db->changed + db->nr_changed, id, (size_t)n + 1);
	db->nr_changed += (size_t)n;
}

/*
 * One real write (the schema version rewritten as it is) to see whether a
 * remembered fault is gone, at most once a second; never waits for the
 * writer: if a write holds it, that write will tell.
 */
static void probe(struct db *db)
{
	long long now = db_now_ms();
	pthread_mutex_lock(&db->fault_lock);
	if (now - db->probed_ms < PROBE_EVERY_MS) {
		pthread_mutex_unlock(&db->fault_lock);
		return;
	}
	db->probed_ms = now;
	pthread_mutex_unlock(&db->fault_lock);
	if (pthread_mutex_trylock(&db->lock))
		return;
	if (db->drv->begin(db->w.h, 0)) {
		note_sql_failure(db);
		pthread_mutex_unlock(&db->lock);
		return;
	}
	write_end(db, db->drv->set_version(db->w.h, SCHEMA_VERSION) ||
		  (db->drv->probe_sql && db->drv->exec(db->w.h,
						       db->drv->probe_sql)));
}

/* whether a reader answers; if not, why, as its driver tells it */
static enum db_fault read_fault(struct db *db, char *why, size_t len)
{
	struct reader *r = reader_get(db);
	enum db_fault f = DB_FAULT_NONE;
	char reason[256];

	if (user_version(&r->c) < 0) {
		db->drv->fault(r->c.h, reason, sizeof(reason));
		snprintf(why, len, "the database %s does not answer: %s",
			 db->drv->describe(db->w.h), reason);
		f = DB_FAULT_IO;
	}
	reader_put(r);
	return f;
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
	return read_fault(db, why, len);
}

/* ---- opening ---- */

/*
 * The version is read again inside the migration's transaction: another
 * node on the same database may have migrated meanwhile.
 */
static int migrate_once(struct db *db, int v, char *err, size_t errlen)
{
	const struct db_driver *d = db->drv;
	const char *ddl = d->migrations[v];
	char why[256];

	if (d->begin(db->w.h, DB_BUSY_MS) ||
	    (d->migration_lock && d->exec(db->w.h, d->migration_lock)))
		goto fail;
	if (user_version(&db->w) != v) {
		d->rollback(db->w.h);
		return 0;
	}
	if ((ddl[0] && d->exec(db->w.h, ddl)) ||
	    (v + 1 == 4 && db_auth_adopt_sessions(db->w.h, db->note,
						  sizeof(db->note))) ||
	    d->set_version(db->w.h, v + 1) || d->commit(db->w.h))
		goto fail;
	return 0;
fail:
	d->fault(db->w.h, why, sizeof(why));
	snprintf(err, errlen, "migration to schema %d failed: %s", v + 1, why);
	d->rollback(db->w.h);
	return -1;
}

static int migrate(struct db *db, char *err, size_t errlen)
{
	int v;

	while ((v = user_version(&db->w)) != SCHEMA_VERSION) {
		if (v < 0 || v > SCHEMA_VERSION) {
			snprintf(err, errlen, "database schema version %d is "
				 "not one this rmapd knows (%d)", v,
				 SCHEMA_VERSION);
			return -1;
		}
		if (migrate_once(db, v, err, errlen))
			return -1;
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
	return exec(&db->w, "DELETE FROM snapshots WHERE seq > (SELECT "
		    "COALESCE(MAX(seq), 0) FROM journal WHERE "
		    "journal.session = snapshots.session)");
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

static const struct db_store_ops store_ops;

/*
 * user:password@ in a URL's authority: the password becomes "***" in
 * place (never longer than what it hides, so it fits).
 */
void db_redact(char *target)
{
	char *auth, *at, *colon, *end;

	if (db_driver_for(target) != &db_pg_driver)
		return;
	auth = strstr(target, "://") + 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon || at - colon - 1 < 3)
		return;
	memcpy(colon + 1, "***", 3);
	memmove(colon + 4, at, strlen(at) + 1);
}

/* anything but a URL of PostgreSQL is a path, as it always was */
const struct db_driver *db_driver_for(const char *target)
{
	if (!strncmp(target, "postgresql://", 13) ||
	    !strncmp(target, "postgres://", 11))
		return &db_pg_driver;
	return &db_sqlite_driver;
}

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
	if (strlen(path) >= sizeof(db->target)) {
		snprintf(err, errlen, "database path too long");
		goto fail;
	}
	snprintf(db->target, sizeof(db->target), "%s", path);
	db->drv = db_driver_for(path);
	db->w.h = db->drv->open(path, false, err, errlen);
	if (!db->w.h || migrate(db, err, errlen))
		goto fail;
	if (drop_stale_snapshots(db)) {
		char why[256];

		db->drv->fault(db->w.h, why, sizeof(why));
		snprintf(err, errlen, "cannot check the snapshots: %s", why);
		goto fail;
	}
	if (open_readers(db, err, errlen))
		goto fail;
	db->committer = committer_start(&store_ops, db);
	if (!db->committer) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return db;
fail:
	close_all(db);
	return NULL;
}

int db_rescue(struct db *db, char *out, size_t len)
{
	int rc;

	if (!db->drv->rescue)
		return 1;
	pthread_mutex_lock(&db->lock);
	rc = db->drv->rescue(db->w.h, out, len);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	committer_stop(db->committer);
	db->committer = NULL;
	if (db->drv->closing)
		db->drv->closing(db->w.h);
	close_all(db);
}

/* ---- sessions and the journal ---- */

#define ROW_1	"(?, ?, ?)"
#define ROWS_4	ROW_1 ", " ROW_1 ", " ROW_1 ", " ROW_1
#define ROWS_16	ROWS_4 ", " ROWS_4 ", " ROWS_4 ", " ROWS_4
#define INSERT_ROWS(VALUES) \
	"INSERT INTO journal(session, seq, op) VALUES " VALUES \
	" ON CONFLICT DO NOTHING"
_Static_assert(sizeof(ROWS_16) - 1 == DB_ROWS_MAX * (sizeof(ROW_1) - 1) +
	       (DB_ROWS_MAX - 1) * 2, "ROWS_16 holds DB_ROWS_MAX rows");

/* k rows in one statement of k (1, 4 or 16) rows' values */
static int insert_rows(struct db *db, const char *sql,
		       const struct db_row *rows, size_t k)
{
	struct db_stmt *st = cached(&db->w, sql);
	const struct db_driver *d = db->drv;
	int rc = -1, i;
	size_t r;

	if (!st)
		return -1;
	for (r = 0, i = 1; r < k; r++, i += 3)
		if (d->bind_int64(st, i, rows[r].session) ||
		    d->bind_int64(st, i + 1, rows[r].seq) ||
		    d->bind_text(st, i + 2, rows[r].op))
			goto out;
	rc = step_result(db_stmt_step(st));
	if (!rc && db_stmt_changes(st) != (long)k)
		rc = DB_CONFLICT;
out:
	done(st);
	return rc;
}

/* rows into the journal, in statements of DB_ROWS_MAX, 4 and 1 rows */
static int insert_journal(struct db *db, const struct db_row *rows, size_t n)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n && !rc; i += k) {
		k = n - i >= DB_ROWS_MAX ? DB_ROWS_MAX : n - i >= 4 ? 4 : 1;
		rc = insert_rows(db, k == DB_ROWS_MAX ? INSERT_ROWS(ROWS_16) :
				 k == 4 ? INSERT_ROWS(ROWS_4) :
				 INSERT_ROWS(ROW_1), rows + i, k);
	}
	return rc;
}

/* The journal rows of a batch; the caller is in a write transaction. */
static int insert_ops(struct db *db, long session, long first, size_t n,
		      char *const *ops)
{
	struct db_row rows[DB_ROWS_MAX];
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n && !rc; i += k) {
		for (k = 0; k < DB_ROWS_MAX && i + k < n; k++)
			rows[k] = (struct db_row){ session,
						   first + (long)(i + k),
						   ops[i + k] };
		rc = insert_journal(db, rows, k) ? -1 : 0;
	}
	return rc;
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
	struct db_stmt *st = prep(&db->w, "INSERT INTO sessions(name, config, "
				"owner) VALUES(?, ?, ?) RETURNING id", "ttn",
				name, config, owner);
	int rc = -1;

	if (st && db_stmt_step(st) == DB_STEP_ROW) {
		*id = db_col_long(st, 0);
		rc = db_stmt_step(st) == DB_STEP_DONE ? 0 : -1;
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
	db_notice(db, id);	/* other nodes' streams on it end */
	return write_end(db, step(&db->w, "DELETE FROM sessions WHERE id = ?",
				  "l", id));
}

static void row_to_session(struct db_stmt *st, struct db_session *s)
{
	s->id = db_col_long(st, 0);
	snprintf(s->name, sizeof(s->name), "%s",
		 db_col_text(st, 1));
	snprintf(s->config, sizeof(s->config), "%s",
		 db_col_text(st, 2));
	s->version = db_col_long(st, 3);
	s->owner = db_col_long(st, 4);
	s->visibility = !strcmp(db_col_text(st, 5),
				"class") ? 1 : 0;
	s->class_id = db_col_long(st, 6);
	s->cuts = db_col_long(st, 7);
}

#define SESSION_COLUMNS "id, name, config, " \
	"(SELECT COALESCE(MAX(seq), 0) FROM journal WHERE session = id), " \
	"owner, visibility, class_id, cuts"

int db_session_get(struct db *db, long id, struct db_session *out)
{
	struct reader *r = reader_get(db);
	struct db_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?",
		  "l", id);
	if (st && db_stmt_step(st) == DB_STEP_ROW) {
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
	struct db_stmt *st;
	struct db_session s;
	int rc;

	st = prep(&r->c, "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY id",
		  "");
	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		row_to_session(st, &s);
		fn(&s, arg);
	}
	rc = st && !st->failed ? 0 : -1;
	done(st);
	reader_put(r);
	return rc;
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
	struct db_stmt *st;
	int n = 0;
	bool oom = false;

	st = prep(&r->c, "SELECT seq, op FROM journal WHERE session = ? "
		  "AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?", "llll",
		  session, from, to, (long)READ_CHUNK);
	while (st && !oom && db_stmt_step(st) == DB_STEP_ROW) {
		struct journal_row *row = &rows[n++];

		row->seq = db_col_long(st, 0);
		row->op = strdup(db_col_text(st, 1));
		oom = !row->op;
	}
	/* rows cut short by a lost connection are not the journal's end */
	if (!st || oom || st->failed) {
		done(st);
		reader_put(r);
		free_rows(rows, n);
		return -1;
	}
	done(st);
	reader_put(r);
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
	db_notice(db, session);
	/*
	 * cuts first: its row lock orders this cut against another node's
	 * group commit that checks it (store_same_cuts), so the deletes see
	 * every row that commit added
	 */
	return write_end(db, step(&db->w, "UPDATE sessions SET cuts = cuts + 1 "
				  "WHERE id = ?", "l", session) ||
			 step(&db->w, "DELETE FROM journal WHERE session = ? "
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
	return insert_one(&db->w, "INSERT INTO snapshots(session, seq, name, "
			  "dump, checksum) VALUES(?, ?, ?, ?, ?) ON CONFLICT "
			  "DO NOTHING", "lltbb", session, seq, name, dump, len,
			  sum, sizeof(sum));
}

int db_snapshot_put(struct db *db, long session, long seq, const char *name,
		    const char *dump, size_t len)
{
	int err;

	if (write_begin(db))
		return -1;
	err = insert_snapshot(db, session, seq, name, dump, len);
	if (err == DB_CONFLICT) {
		/* snapshots_by_name: the caller's mistake, not the storage's */
		db->drv->rollback(db->w.h);
		pthread_mutex_unlock(&db->lock);
		return DB_EXISTS;
	}
	return write_end(db, err);
}

/*
 * Automatic snapshots only shorten a replay: a session's latest `keep` are
 * enough, and the older ones would fill the disk of a long-running lab.
 * The new one and the pruning are one transaction.  Latest by id is latest
 * by seq: a new one is taken at the session's version, past every one that
 * is left (a rewind deletes those beyond where it goes).  So the cut is one
 * look at the index on (session, name), which holds the id, where a sort
 * by seq needed a temporary table at every snapshot.
 */
static int insert_auto_snapshot(struct db *db, long session, long seq,
				const char *dump, size_t len, unsigned long keep)
{
	return insert_snapshot(db, session, seq, NULL, dump, len) ||
	       step(&db->w, "DELETE FROM snapshots WHERE session = ? AND name "
		    "IS NULL AND id < (SELECT id FROM snapshots WHERE session = "
		    "? AND name IS NULL ORDER BY id DESC LIMIT 1 OFFSET ?)",
		    "lll", session, session, (long)keep - 1);
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
static int verified_dump(struct db_stmt *st, long session, long seq,
			 char **dump, size_t *len)
{
	unsigned char sum[SNAPSHOT_SUM_LEN];
	size_t n, sumlen;
	const void *blob = db_col_blob(st, 1, &n);
	const void *stored;

	if (db_col_null(st, 2))
		return DB_UNSIGNED;
	db_snapshot_sum(session, seq, blob ? blob : "", n, sum);
	stored = db_col_blob(st, 2, &sumlen);
	if (sumlen != SNAPSHOT_SUM_LEN || db_snapshot_sum_differs(stored, sum))
		return DB_BADSUM;
	*dump = malloc(n + 1);
	if (!*dump)
		return -1;
	if (n)
		memcpy(*dump, blob, n);
	(*dump)[n] = '\0';
	*len = n;
	return 0;
}

int db_snapshot_latest(struct db *db, long session, long max_seq, long *seq,
		       char **dump, size_t *len)
{
	struct reader *r = reader_get(db);
	struct db_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT seq, dump, checksum FROM snapshots WHERE "
		  "session = ? AND seq <= ? ORDER BY seq DESC LIMIT 1", "ll",
		  session, max_seq);
	if (st && db_stmt_step(st) == DB_STEP_ROW) {
		*seq = db_col_long(st, 0);
		rc = verified_dump(st, session, *seq, dump, len);
	}
	done(st);
	reader_put(r);
	return rc;
}

int db_snapshot_named(struct db *db, long session, const char *name, long *seq)
{
	struct reader *r = reader_get(db);
	struct db_stmt *st;
	int rc = -1;

	st = prep(&r->c, "SELECT seq FROM snapshots WHERE session = ? AND "
		  "name = ?", "lt", session, name);
	if (st && db_stmt_step(st) == DB_STEP_ROW) {
		*seq = db_col_long(st, 0);
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
	struct db_stmt *st;
	int rc;

	st = prep(&r->c, "SELECT name, seq FROM snapshots WHERE session = ? AND "
		  "name IS NOT NULL ORDER BY seq, name", "l", session);
	while (st && db_stmt_step(st) == DB_STEP_ROW)
		fn(db_col_text(st, 0),
		   db_col_long(st, 1), arg);
	rc = st && !st->failed ? 0 : -1;
	done(st);
	reader_put(r);
	return rc;
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
static int store_append(void *store, const struct db_row *rows, size_t n)
{
	struct db *db = store;
	size_t i;

	for (i = 0; i < n; i++)
		db_notice(db, rows[i].session);
	return insert_journal(db, rows, n);
}

static int store_same_cuts(void *store, long session, long cuts)
{
	struct db *db = store;

	/* an update, not a read: it takes the row lock a rewind takes first */
	return insert_one(&db->w, "UPDATE sessions SET cuts = cuts WHERE id = ? "
			  "AND cuts = ?", "ll", session, cuts);
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

static const struct db_store_ops store_ops = {
	.begin = store_begin,
	.append = store_append,
	.same_cuts = store_same_cuts,
	.snapshot = store_snapshot,
	.end = store_end,
};

/*
 * The listener: a connection of its own, LISTENing, whose notices (the
 * sessions other nodes' transactions changed) go to on_notice as they
 * come.  A lost connection is made again a second later; its notices
 * meanwhile are lost, which the callers' once-a-second poll makes up for.
 */
static void each_notice(const char *payload, int from, void *arg)
{
	struct db *db = arg;

	if (from != __atomic_load_n(&db->writer_backend, __ATOMIC_RELAXED))
		db->on_notice(payload);
}

static void *listen_loop(void *arg)
{
	struct db *db = arg;
	struct db_conn *c = NULL;

	while (!__atomic_load_n(&db->stop_listening, __ATOMIC_RELAXED)) {
		if (!c) {
			c = db_conn_own(db);
			if (c && db->drv->listen(c)) {
				db->drv->close(c);
				c = NULL;
			}
			if (!c) {
				sleep(1);
				continue;
			}
		}
		if (db->drv->notices(c, 500, each_notice, db) < 0) {
			/*
			 * not again at once: a server cutting connections (a
			 * restart, an operator's pg_terminate_backend before
			 * ALTER DATABASE) must see this one stay away a while
			 */
			db->drv->close(c);
			c = NULL;
			sleep(1);
		}
	}
	if (c)
		db->drv->close(c);
	return NULL;
}

int db_listen(struct db *db, void (*fn)(const char *sessions))
{
	sigset_t all, was;
	int rc;

	if (!db->drv->listen)
		return 0;
	db->on_notice = fn;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &was);
	rc = pthread_create(&db->listener, NULL, listen_loop, db);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	db->listening = !rc;
	return rc ? -1 : 0;
}

void db_listen_stop(struct db *db)
{
	if (!db->listening)
		return;
	__atomic_store_n(&db->stop_listening, true, __ATOMIC_RELAXED);
	pthread_join(db->listener, NULL);
	db->listening = false;
}

struct committer *db_committer(struct db *db)
{
	return db->committer;
}

/*
 * What FULL and NORMAL mean is the driver's; OFF answers before the
 * commit: the writer still commits at once, as with NORMAL.
 */
int db_set_sync(struct db *db, enum db_sync sync)
{
	int rc;

	pthread_mutex_lock(&db->lock);
	rc = db->drv->set_sync(db->w.h, sync);
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

/* prepared for this call alone: the caller lets it go */
static struct db_stmt *vprep_once(struct db_conn *c, const char *sql,
				  const char *fmt, va_list ap)
{
	struct db_stmt *st = c->drv->prepare(c, sql, false);

	if (!st)
		return NULL;
	if (bind_all(st, fmt, ap)) {
		db_stmt_free(st);
		return NULL;
	}
	return st;
}

struct db_stmt *db_sql_prep(struct db_conn *c, const char *sql,
			    const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep_once(c, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* a statement that returns no rows; the caller holds its connection */
int db_sql_step(struct db_conn *c, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = vprep_once(c, sql, fmt, ap);
	va_end(ap);
	rc = st ? step_result(db_stmt_step(st)) : -1;
	db_stmt_free(st);
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

struct db_conn *db_writer(struct db *db)
{
	return db->w.h;
}

struct db_conn *db_read_begin(struct db *db, void **token)
{
	struct reader *r = reader_get(db);

	*token = r;
	return r->c.h;
}

void db_read_end(void *token)
{
	reader_put(token);
}

struct db_stmt *db_read_prep(void *token, const char *sql, const char *fmt,
			     ...)
{
	struct reader *r = token;
	struct db_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vprep(&r->c, sql, fmt, ap);
	va_end(ap);
	return st;
}

void db_read_done(struct db_stmt *st)
{
	done(st);
}

const char *db_open_note(struct db *db)
{
	return db->note;
}
