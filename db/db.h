/* SPDX-License-Identifier: MIT */
/*
 * db.h - the store: sessions, the operation journal (the truth) and
 * snapshots (caches and teaching artefacts).  One interface; db.c behind
 * it, over a driver (driver.h): SQLite (a file in WAL mode, the default)
 * or PostgreSQL (a postgresql:// URL); the group-commit writer (commit.c)
 * above.  One writing connection; reads go through connections of their
 * own, so that no read waits behind a write (or behind another process's
 * write lock).
 *
 * Journal rows are group-committed: a request queues its rows and gets a
 * ticket; one writer thread commits everything queued in one transaction
 * (one fsync), and tickets resolve in the order they were given.  The SQL
 * is one portable copy; only the DDL is the driver's.
 *
 * Every write first checks that the store can take it (for SQLite: the
 * file still is the one opened and can be written), and waits for the
 * write lock at most DB_BUSY_MS: a failed write changes nothing in the
 * database, is remembered as a fault with its reason (db_health), and the
 * next write simply tries again (for PostgreSQL: on a new connection, if
 * the old one was lost).
 */
#ifndef RMAPD_DB_H
#define RMAPD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_session {
	long id;
	char name[128];
	char config[512];	/* the session config as JSON */
	long version;		/* journal length */
	long owner;		/* a user's id; 0: none (open mode) */
	int visibility;		/* enum visibility (auth.h) */
	long class_id;		/* the class that may read it, 0: none */
	long cuts;		/* rewinds of its journal (db_rewind) */
};

#define DB_BUSY_MS	2000	/* longest wait for the write lock */

/* why writes cannot go through */
enum db_fault {
	DB_FAULT_NONE,
	DB_FAULT_REMOVED,	/* the file was unlinked or moved away */
	DB_FAULT_REPLACED,	/* another file is at the path now */
	DB_FAULT_READONLY,	/* the file or its WAL cannot be written */
	DB_FAULT_FULL,		/* the disk is full */
	DB_FAULT_BUSY,		/* another process holds the write lock */
	DB_FAULT_IO,		/* any other failure of the database */
};

/* path: a SQLite file, or a postgresql:// (postgres://) URL */
struct db *db_open(const char *path, char *err, size_t errlen);
/* a path or URL made fit for a log: a URL's password hidden, in place */
void db_redact(char *target);
void db_close(struct db *db);	/* commits what is queued, checkpoints */

/* what an acknowledged op survives (--sync) */
enum db_sync {
	DB_SYNC_FULL,		/* fsync per group: a power loss */
	DB_SYNC_NORMAL,		/* committed, fsync at checkpoints: kill -9 */
	DB_SYNC_OFF,		/* answered before its commit: nothing sure */
};
int db_set_sync(struct db *db, enum db_sync sync);
enum db_sync db_sync(struct db *db);
/*
 * If the file opened is no longer at its path (removed or replaced while
 * rmapd ran), copy what it holds to a new file beside the path, named in
 * out; 0 done, 1 nothing to do, -1 failed (why in out).
 */
int db_rescue(struct db *db, char *out, size_t len);
int db_schema_version(struct db *db);
/* what opening did that an operator must hear of ("" if nothing) */
const char *db_open_note(struct db *db);
/*
 * Whether writes can go through now, else the fault and its reason in why.
 * Never waits for the write lock; a remembered fault is probed again (one
 * real write, at most once a second) so that readiness comes back by
 * itself once the fault is gone.
 */
enum db_fault db_health(struct db *db, char *why, size_t len);
/* the fault that made the latest write fail, until one succeeds */
enum db_fault db_last_fault(struct db *db, char *why, size_t len);
/* a stable name for a fault: "database-removed", "disk-full", ... */
const char *db_fault_name(enum db_fault fault);
/*
 * fn is told when writes start failing for a new reason, and when they
 * work again (DB_FAULT_NONE), so that an operator sees both in the log.
 * It runs under the fault record's lock: it must only log.
 */
void db_on_fault_change(struct db *db,
			void (*fn)(enum db_fault fault, const char *why));

/*
 * A session of owner (0: none) with its first n ops (seq 1..n), in one
 * transaction; its id or -1.
 */
long db_session_create(struct db *db, const char *name, const char *config,
		       long owner, size_t n, char *const *ops);
/* a session with a copy of ops 1..upto of session from, in one transaction */
long db_session_clone(struct db *db, const char *name, const char *config,
		      long owner, long from, long upto);
int db_session_delete(struct db *db, long id);
int db_session_get(struct db *db, long id, struct db_session *out);
/* calls fn for every session, in id order */
int db_session_list(struct db *db, void (*fn)(const struct db_session *, void *),
		    void *arg);

/* ops with from < seq <= to, in order: fn(seq, op, arg); fn != 0 stops */
int db_journal_read(struct db *db, long session, long from, long to,
		    int (*fn)(long seq, const char *op, void *arg), void *arg);

/*
 * Group commit (commit.c).  A session's history is (session, gen): the
 * caller changes gen when it puts the session back to its durable state
 * after a failed commit.  A failed commit fails every write of its group
 * and fences their histories: the later writes of a fenced history fail
 * untried (they were made on a state that is gone).  Queueing copies what
 * it is given; 0 means out of memory, nothing queued.  cuts >= 0 (several
 * nodes on one database): the journal's cuts the state was made on, checked
 * in the commit's transaction; another node's rewind since is a conflict.
 */
/*
 * Several nodes: fn(sessions) on a thread of its own for each notice of
 * another node's commit ("ID,ID,...": what it changed; "0": anything), as
 * soon as it is committed, where the engine can tell (PostgreSQL's
 * LISTEN/NOTIFY; elsewhere nothing, 0).  Stopped by db_listen_stop().
 */
int db_listen(struct db *db, void (*fn)(const char *sessions));
void db_listen_stop(struct db *db);

uint64_t db_queue_ops(struct db *db, long session, uint64_t gen, long cuts,
		      long first, size_t n, char *const *ops);
/* an automatic snapshot after the ops queued before it; takes dump */
uint64_t db_queue_snapshot(struct db *db, long session, uint64_t gen,
			   long cuts, long seq, char *dump, size_t len,
			   unsigned long keep);
/* whether the writes up to ticket are settled (committed or failed) */
bool db_resolved(struct db *db, uint64_t ticket);
void db_wait(struct db *db, uint64_t ticket);
/* tests only (rmapd-hooks, commit.c); nothing in rmapd itself */
void db_test_hold_listed(struct db *db, uint64_t ticket);
/* whether a write of that history failed (so it is fenced) */
bool db_history_failed(struct db *db, long session, uint64_t gen);
/*
 * Whether that history was fenced because another node had written the
 * seq it wanted (DB_CONFLICT): nothing of it was committed, and a request
 * made on it can be made again on the session reloaded.
 */
bool db_history_conflict(struct db *db, long session, uint64_t gen);
/*
 * Where the session's journal ends in the database now (*head, 0 if
 * empty) and how many times it was cut (*cuts): 0, 1 if the session is
 * not there (deleted), -1 if the database did not answer.  One indexed
 * lookup, for nodes sharing the database.
 */
int db_journal_head(struct db *db, long session, long *head, long *cuts);
/* fn(upto) after each group: tickets <= upto are settled; from the writer */
void db_on_resolved(struct db *db, void (*fn)(uint64_t upto));
struct db_commit_stats {
	unsigned long long queued;		/* tickets given */
	unsigned long long groups, rows, failed_groups;
	unsigned long long conflicts;	/* requests' rows fenced by a seq taken */
	/* groups tried again a row to a statement: a conflict was in a
	 * batch of rows (one append()) of several requests */
	unsigned long long row_retries;
};
void db_commit_stats(struct db *db, struct db_commit_stats *out);
/* drop the ops and the snapshots after seq `to`, and count the cut, in one
 * transaction */
int db_rewind(struct db *db, long session, long to);

#define DB_EXISTS	1	/* a snapshot of that name is already there */
#define DB_UNSIGNED	2	/* a snapshot stored without a checksum */
#define DB_BADSUM	3	/* a snapshot whose checksum does not match */
/* a row whose key is already there (the journal's (session, seq)) */
#define DB_CONFLICT	5
/* name NULL: an automatic snapshot; 0, DB_EXISTS or -1 */
int db_snapshot_put(struct db *db, long session, long seq, const char *name,
		    const char *dump, size_t len);
/* an automatic snapshot; the automatic ones older than the latest keep go */
int db_snapshot_auto(struct db *db, long session, long seq, const char *dump,
		     size_t len, unsigned long keep);
/*
 * The latest snapshot with seq <= max_seq (any name); *dump malloc'd.
 * Snapshots are stored with a checksum over (session, seq, dump): one that
 * was damaged, or copied from another session or seq, gives DB_BADSUM, one
 * stored before checksums DB_UNSIGNED, each with *seq set and no dump, so
 * that the caller can look below it.  -1: none (or the database failed).
 */
int db_snapshot_latest(struct db *db, long session, long max_seq, long *seq,
		       char **dump, size_t *len);
int db_snapshot_named(struct db *db, long session, const char *name, long *seq);
int db_snapshot_list(struct db *db, long session,
		     void (*fn)(const char *name, long seq, void *arg), void *arg);

#endif /* RMAPD_DB_H */
