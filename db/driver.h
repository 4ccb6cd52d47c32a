/* SPDX-License-Identifier: MIT */
/*
 * driver.h - inside db/ only: what db.c, auth.c and the store ops ask of a
 * database engine.  One table of operations per engine (sqlite.c, pg.c);
 * connections and statements start with the driver that made them, so the
 * helpers below dispatch on them.  SQL is written once, with ? for
 * parameters; a driver that spells them otherwise ($n) rewrites them.
 */
#ifndef RMAPD_DB_DRIVER_H
#define RMAPD_DB_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* what a step did */
enum db_step {
	DB_STEP_ROW,		/* a row is there to read */
	DB_STEP_DONE,		/* no (more) rows */
	DB_STEP_CONFLICT,	/* a unique key refused the row */
	DB_STEP_ERROR,
};

struct db_driver;

struct db_conn {
	const struct db_driver *drv;
};

struct db_stmt {
	const struct db_driver *drv;
	struct db_conn *conn;
	bool failed;	/* its latest step was DB_STEP_ERROR */
};

struct db_driver {
	const char *name;
	/* target: a path or a URL; readonly: a reading connection */
	struct db_conn *(*open)(const char *target, bool readonly, char *err,
				size_t len);
	void (*close)(struct db_conn *c);
	/* one or more statements without parameters or rows: 0 or -1 */
	int (*exec)(struct db_conn *c, const char *sql);
	/* persistent: kept and reused (reset) for the connection's life */
	struct db_stmt *(*prepare)(struct db_conn *c, const char *sql,
				   bool persistent);
	/* parameters count from 1; the values are copied */
	int (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	int (*bind_text)(struct db_stmt *st, int i, const char *s);
	int (*bind_blob)(struct db_stmt *st, int i, const void *p, size_t n);
	int (*bind_null)(struct db_stmt *st, int i);
	enum db_step (*step)(struct db_stmt *st);
	/* columns count from 0; a boolean reads as 0 or 1 */
	int64_t (*column_int64)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);	/* NULL: NULL */
	const void *(*column_blob)(struct db_stmt *st, int col, size_t *len);
	bool (*column_null)(struct db_stmt *st, int col);
	/* rows the last step changed */
	long (*changes)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);	/* bindings dropped too */
	void (*finalize)(struct db_stmt *st);
	/* a write transaction, waiting at most wait_ms for its lock */
	int (*begin)(struct db_conn *c, int wait_ms);
	int (*commit)(struct db_conn *c);
	void (*rollback)(struct db_conn *c);	/* harmless outside one */
	/* the latest failure on c, classified, with its reason */
	enum db_fault (*fault)(struct db_conn *c, char *why, size_t len);
	/* what makes writes impossible before trying one (NONE: nothing) */
	enum db_fault (*watch)(struct db_conn *c, char *why, size_t len);
	/* schema_version: -1 if it cannot be read */
	int (*version)(struct db_conn *c);
	int (*set_version)(struct db_conn *c, int v);
	int (*set_sync)(struct db_conn *c, enum db_sync sync);
	/*
	 * A query of one number that changes when another connection
	 * commits (SQLite's data_version), so that a reader need not look
	 * at what did not change; NULL: the engine has none.
	 */
	const char *data_version;
	/* how SQL says "the bytes of this text column" (%s: the column) */
	const char *text_bytes;
	/* per-engine DDL: migrations[n] takes schema n to n + 1 */
	const char *const *migrations;
	/*
	 * Run by the fault probe in its write transaction after the version:
	 * what every write needs (its tables there, writable by rmapd's
	 * role), where no file check before a write sees it (NULL: none).
	 */
	const char *probe_sql;
	/* run first in a migration's transaction, so that one node migrates
	 * at a time (NULL: the write lock is enough) */
	const char *migration_lock;
	/* see db_rescue(); NULL: never needed */
	int (*rescue)(struct db_conn *c, char *out, size_t len);
	/* before the writer closes (a checkpoint); may be NULL */
	void (*closing)(struct db_conn *c);
	/*
	 * Telling other connections of a commit (NULL: the engine cannot):
	 * notify, a statement with one text parameter run just before the
	 * commit; listen makes c hear those; notices waits up to timeout_ms
	 * for them, fn(payload, sender) each: how many, or -1 if c is lost;
	 * backend: c's sender number (0: none now), to know its own notices.
	 */
	const char *notify;
	int (*listen)(struct db_conn *c);
	int (*notices)(struct db_conn *c, int timeout_ms,
		       void (*fn)(const char *payload, int from, void *arg),
		       void *arg);
	int (*backend)(struct db_conn *c);
	/* a reason to say for target ("" if none), for the log */
	const char *(*describe)(struct db_conn *c);
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

/* the driver for --db target: a postgres(ql):// URL, else a SQLite path */
const struct db_driver *db_driver_for(const char *target);

/* a loop "while step is a row" ends on an error too: st->failed tells */
static inline enum db_step db_stmt_step(struct db_stmt *st)
{
	enum db_step r = st->drv->step(st);

	st->failed = r == DB_STEP_ERROR;
	return r;
}

static inline long db_col_long(struct db_stmt *st, int col)
{
	return (long)st->drv->column_int64(st, col);
}

static inline const char *db_col_text(struct db_stmt *st, int col)
{
	return st->drv->column_text(st, col);
}

static inline const void *db_col_blob(struct db_stmt *st, int col,
				      size_t *len)
{
	return st->drv->column_blob(st, col, len);
}

static inline bool db_col_null(struct db_stmt *st, int col)
{
	return st->drv->column_null(st, col);
}

static inline long db_stmt_changes(struct db_stmt *st)
{
	return st->drv->changes(st);
}

/* NULL is let go too */
static inline void db_stmt_free(struct db_stmt *st)
{
	if (st)
		st->drv->finalize(st);
}

#endif /* RMAPD_DB_DRIVER_H */
