// SPDX-License-Identifier: MIT
/*
 * sqlite.c - the SQLite driver (driver.h): a file in WAL mode, watched
 * for being removed, replaced or made read-only while rmapd runs, since
 * SQLite goes on writing into an unlinked inode and a restart would then
 * come up without every op acknowledged since.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "driver.h"
#include "litewal.h"
#include "sql.h"

#define READ_BUSY_MS	1000	/* a WAL reader waits only on recovery */

/* a write transaction's own statements, prepared once per connection */
enum { TX_BEGIN, TX_COMMIT, TX_ROLLBACK, NR_TX };

static const char *const tx_sql[NR_TX] = {
	[TX_BEGIN] = "BEGIN IMMEDIATE",
	[TX_COMMIT] = "COMMIT",
	[TX_ROLLBACK] = "ROLLBACK",
};

struct lite_conn {
	struct db_conn base;
	sqlite3 *h;
	sqlite3_stmt *tx[NR_TX];
	char path[512], wal[520];
	dev_t dev;			/* the file opened */
	ino_t ino;
	bool full;			/* synchronous=FULL: the WAL gathers */
};

struct lite_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
	long changes;
};

static struct lite_conn *lc(struct db_conn *c)
{
	return (struct lite_conn *)c;
}

static struct lite_stmt *ls(struct db_stmt *st)
{
	return (struct lite_stmt *)st;
}

static sqlite3 *handle(struct db_stmt *st)
{
	return lc(st->conn)->h;
}

/* Migration n takes the schema from version n to n + 1. */
static const char *const lite_migrations[] = {
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
	DB_AUTH_SCHEMA("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "BLOB"),
	DB_LABS_SCHEMA("INTEGER"),
	DB_FENCE_SCHEMA("INTEGER"),
	DB_WALK_SCHEMA("INTEGER"),
};

static int lite_exec(struct db_conn *c, const char *sql)
{
	return sqlite3_exec(lc(c)->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
									  : -1;
}

static int lite_version(struct db_conn *c)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(lc(c)->h, "PRAGMA user_version", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int lite_set_version(struct db_conn *c, int v)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return lite_exec(c, sql);
}

static void lite_close(struct db_conn *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < NR_TX; i++)
		sqlite3_finalize(lc(c)->tx[i]);
	sqlite3_close(lc(c)->h);
	free(c);
}

static int open_writer(struct lite_conn *c, char *err, size_t len)
{
	struct stat st;

	if (sqlite3_open_v2(c->path, &c->h, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    litewal_vfs()) != SQLITE_OK) {
		snprintf(err, len, "cannot open %s: %s", c->path,
			 c->h ? sqlite3_errmsg(c->h) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(c->h, DB_BUSY_MS);
	/*
	 * An INSERT of several rows in a transaction keeps the pages it
	 * changes in a statement journal until it ends (a NOT NULL or
	 * foreign-key failure undoes the rows before it).  On a file, that
	 * journal spills past 64 KiB: a group's 16 rows in 16 sessions'
	 * leaves were 16 pages written to a temporary file and thrown away,
	 * each statement.  In memory it is a copy.  temp_store=MEMORY keeps
	 * every statement journal of this connection in memory, and its
	 * temporary tables and sorts too; the writer has few: a session's
	 * snapshots sorted, and all of them once, in the v3 migration's
	 * CREATE INDEX.  (SQLITE_CONFIG_STMTJRNL_SPILL would move only the
	 * statement journals' limit, but for the whole process and only
	 * before sqlite3_initialize().)
	 */
	if (lite_exec(&c->base, "PRAGMA journal_mode=WAL") ||
	    lite_exec(&c->base, "PRAGMA synchronous=FULL") ||
	    lite_exec(&c->base, "PRAGMA foreign_keys=ON") ||
	    lite_exec(&c->base, "PRAGMA temp_store=MEMORY")) {
		snprintf(err, len, "cannot set up %s: %s", c->path,
			 sqlite3_errmsg(c->h));
		return -1;
	}
	c->full = true;
	/* the file as it is now is the one to keep watching */
	if (stat(c->path, &st)) {
		snprintf(err, len, "cannot stat %s: %s", c->path,
			 strerror(errno));
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

static int open_reader(struct lite_conn *c, char *err, size_t len)
{
	if (sqlite3_open_v2(c->path, &c->h, SQLITE_OPEN_READONLY |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, len, "cannot open %s for reading", c->path);
		return -1;
	}
	sqlite3_busy_timeout(c->h, READ_BUSY_MS);
	/* SQLite opens the file on first use: do it now, so that the
	 * readers hold the file rmapd watches, whatever happens to its
	 * path later */
	if (lite_version(&c->base) < 0) {
		snprintf(err, len, "cannot read %s", c->path);
		return -1;
	}
	return 0;
}

static struct db_conn *lite_open(const char *path, bool readonly, char *err,
				 size_t len)
{
	struct lite_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	c->base.drv = &db_sqlite_driver;
	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, len, "database path too long");
		free(c);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->wal, sizeof(c->wal), "%s-wal", path);
	if (readonly ? open_reader(c, err, len) : open_writer(c, err, len)) {
		lite_close(&c->base);
		return NULL;
	}
	return &c->base;
}

static struct db_stmt *lite_prepare(struct db_conn *c, const char *sql,
				    bool persistent)
{
	struct lite_stmt *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.drv = &db_sqlite_driver;
	s->base.conn = c;
	if (sqlite3_prepare_v3(lc(c)->h, sql, -1,
			       persistent ? SQLITE_PREPARE_PERSISTENT : 0,
			       &s->st, NULL) != SQLITE_OK) {
		free(s);
		return NULL;
	}
	return &s->base;
}

static int lite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(ls(st)->st, i, v) == SQLITE_OK ? 0 : -1;
}

static int lite_bind_text(struct db_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(ls(st)->st, i, s, -1, SQLITE_TRANSIENT) ==
	       SQLITE_OK ? 0 : -1;
}

static int lite_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob64(ls(st)->st, i, p, n, SQLITE_TRANSIENT) ==
	       SQLITE_OK ? 0 : -1;
}

static int lite_bind_null(struct db_stmt *st, int i)
{
	return sqlite3_bind_null(ls(st)->st, i) == SQLITE_OK ? 0 : -1;
}

static enum db_step lite_step(struct db_stmt *st)
{
	int rc = sqlite3_step(ls(st)->st);

	ls(st)->changes = sqlite3_changes(handle(st));
	if (rc == SQLITE_ROW)
		return DB_STEP_ROW;
	if (rc == SQLITE_DONE)
		return DB_STEP_DONE;
	rc = sqlite3_extended_errcode(handle(st));
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return DB_STEP_CONFLICT;
	return DB_STEP_ERROR;
}

static int64_t lite_column_int64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(ls(st)->st, col);
}

static const char *lite_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(ls(st)->st, col);
}

static const void *lite_column_blob(struct db_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(ls(st)->st, col);

	*len = (size_t)sqlite3_column_bytes(ls(st)->st, col);
	return p;
}

static bool lite_column_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(ls(st)->st, col) == SQLITE_NULL;
}

static long lite_changes(struct db_stmt *st)
{
	return ls(st)->changes;
}

static void lite_reset(struct db_stmt *st)
{
	sqlite3_reset(ls(st)->st);
	sqlite3_clear_bindings(ls(st)->st);
}

static void lite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(ls(st)->st);
	free(st);
}

/*
 * The group-commit writer runs these once per group: parsed once, not
 * at every transaction (sqlite3_exec() prepares its text each time).
 */
static int tx_run(struct db_conn *c, int which)
{
	struct lite_conn *l = lc(c);
	int rc;

	if (!l->tx[which] &&
	    sqlite3_prepare_v3(l->h, tx_sql[which], -1,
			       SQLITE_PREPARE_PERSISTENT, &l->tx[which],
			       NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(l->tx[which]);
	sqlite3_reset(l->tx[which]);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int lite_begin(struct db_conn *c, int wait_ms)
{
	/* the WAL is opened on the first read: gathering is set on it here */
	if (lc(c)->full)
		litewal_gather(lc(c)->h, true);
	sqlite3_busy_timeout(lc(c)->h, wait_ms > 1 ? wait_ms : 1);
	return tx_run(c, TX_BEGIN);
}

static int lite_commit(struct db_conn *c)
{
	return tx_run(c, TX_COMMIT);
}

static void lite_rollback(struct db_conn *c)
{
	if (!sqlite3_get_autocommit(lc(c)->h))
		tx_run(c, TX_ROLLBACK);
}

static enum db_fault lite_fault(struct db_conn *c, char *why, size_t len)
{
	int rc = sqlite3_errcode(lc(c)->h);
	const char *msg = sqlite3_errmsg(lc(c)->h);
	const char *path = lc(c)->path;

	if (rc == SQLITE_FULL) {
		snprintf(why, len, "the disk holding %s is full: %s", path, msg);
		return DB_FAULT_FULL;
	}
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		snprintf(why, len, "another process holds the database's write "
			 "lock (waited %d ms)", DB_BUSY_MS);
		return DB_FAULT_BUSY;
	}
	if (rc == SQLITE_READONLY) {
		snprintf(why, len, "the database %s cannot be written: %s", path,
			 msg);
		return DB_FAULT_READONLY;
	}
	snprintf(why, len, "the database %s failed: %s", path, msg);
	return DB_FAULT_IO;
}

/*
 * Whether the path still names the file opened, writable: a write is
 * refused otherwise, until the same file is back at the path (moved or
 * linked back) or rmapd restarts.  As root, access() ignores the mode
 * bits but not chattr +i or a read-only mount; as the service's own user
 * it sees a chmod too.
 */
static enum db_fault lite_watch(struct db_conn *conn, char *why, size_t len)
{
	struct lite_conn *c = lc(conn);
	struct stat st;

	if (stat(c->path, &st)) {
		snprintf(why, len, "the database file %s is gone (%s): writes "
			 "are refused until it is put back or rmapd restarts",
			 c->path, strerror(errno));
		return DB_FAULT_REMOVED;
	}
	if (st.st_dev != c->dev || st.st_ino != c->ino) {
		snprintf(why, len, "%s is no longer the database file rmapd "
			 "opened: writes are refused until that file is put "
			 "back or rmapd restarts", c->path);
		return DB_FAULT_REPLACED;
	}
	if (access(c->path, W_OK) ||
	    (access(c->wal, W_OK) && errno != ENOENT)) {
		snprintf(why, len, "the database file %s (or its -wal) cannot "
			 "be written: %s", c->path, strerror(errno));
		return DB_FAULT_READONLY;
	}
	return DB_FAULT_NONE;
}

/*
 * FULL syncs the WAL at every commit; NORMAL only at checkpoints, so a
 * commit survives rmapd's death but not the machine's.  Only FULL lets
 * the WAL's writes wait for the sync: NORMAL publishes a commit unsynced.
 */
static int lite_set_sync(struct db_conn *c, enum db_sync sync)
{
	bool full = sync == DB_SYNC_FULL;

	if (!full) {
		lc(c)->full = false;
		litewal_gather(lc(c)->h, false);
	}
	if (lite_exec(c, full ? "PRAGMA synchronous=FULL" :
		      "PRAGMA synchronous=NORMAL"))
		return -1;
	lc(c)->full = full;
	return 0;
}

/*
 * The unlinked file still holds every op acknowledged before its removal
 * (and none after): an online backup through the open connection keeps
 * them, where closing would lose them with the inode.  The caller holds
 * the writer.
 */
static int lite_rescue(struct db_conn *conn, char *out, size_t len)
{
	struct lite_conn *c = lc(conn);
	enum db_fault f = lite_watch(conn, out, len);
	sqlite3_backup *b;
	sqlite3 *to;
	int rc;

	if (f != DB_FAULT_REMOVED && f != DB_FAULT_REPLACED)
		return 1;
	snprintf(out, len, "%s.rescued-%ld", c->path, (long)time(NULL));
	if (!access(out, F_OK) ||
	    sqlite3_open_v2(out, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		snprintf(out, len, "cannot create a rescue copy beside %s",
			 c->path);
		return -1;
	}
	b = sqlite3_backup_init(to, "main", c->h, "main");
	rc = b && sqlite3_backup_step(b, -1) == SQLITE_DONE ? 0 : -1;
	if (b)
		sqlite3_backup_finish(b);
	if (rc)
		snprintf(out, len, "the rescue copy failed: %s",
			 sqlite3_errmsg(to));
	sqlite3_close(to);
	return rc;
}

static void lite_closing(struct db_conn *c)
{
	sqlite3_wal_checkpoint_v2(lc(c)->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
}

static const char *lite_describe(struct db_conn *c)
{
	return lc(c)->path;
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	.open = lite_open,
	.close = lite_close,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.step = lite_step,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
	.column_blob = lite_column_blob,
	.column_null = lite_column_null,
	.changes = lite_changes,
	.reset = lite_reset,
	.finalize = lite_finalize,
	.begin = lite_begin,
	.commit = lite_commit,
	.rollback = lite_rollback,
	.fault = lite_fault,
	.watch = lite_watch,
	.version = lite_version,
	.set_version = lite_set_version,
	.set_sync = lite_set_sync,
	.data_version = "PRAGMA data_version",
	.text_bytes = "LENGTH(CAST(%s AS BLOB))",
	.migrations = lite_migrations,
	.rescue = lite_rescue,
	.closing = lite_closing,
	.describe = lite_describe,
};
