/* SPDX-License-Identifier: MIT */
/*
 * db.h - the SQLite store: sessions, the operation journal (the truth) and
 * snapshots (caches and teaching artefacts).  One connection behind one
 * mutex; WAL with synchronous=FULL, so a journal row is on disk when
 * db_journal_append() returns.
 */
#ifndef RMAPD_DB_H
#define RMAPD_DB_H

#include <stdbool.h>
#include <stddef.h>

struct db;

struct db_session {
	long id;
	char name[128];
	char config[512];	/* the session config as JSON */
	long version;		/* journal length */
};

struct db *db_open(const char *path, char *err, size_t errlen);
void db_close(struct db *db);	/* checkpoints the WAL */
int db_schema_version(struct db *db);

/* a session with its first n ops (seq 1..n), in one transaction; its id or -1 */
long db_session_create(struct db *db, const char *name, const char *config,
		       size_t n, char *const *ops, char *const *results);
/* a session with a copy of ops 1..upto of session from, in one transaction */
long db_session_clone(struct db *db, const char *name, const char *config,
		      long from, long upto);
int db_session_delete(struct db *db, long id);
int db_session_get(struct db *db, long id, struct db_session *out);
/* calls fn for every session, in id order */
int db_session_list(struct db *db, void (*fn)(const struct db_session *, void *),
		    void *arg);

int db_journal_append(struct db *db, long session, long seq, const char *op,
		      const char *result);
/* ops with from < seq <= to, in order: fn(seq, op, result, arg); fn != 0 stops */
int db_journal_read(struct db *db, long session, long from, long to,
		    int (*fn)(long seq, const char *op, const char *result,
			      void *arg),
		    void *arg);
/* n entries seq first..first+n-1 in one transaction: all or nothing */
int db_journal_append_batch(struct db *db, long session, long first, size_t n,
			    char *const *ops, char *const *results);
/* drop the ops and the snapshots after seq `to`, in one transaction */
int db_rewind(struct db *db, long session, long to);

#define DB_EXISTS	1	/* a snapshot of that name is already there */
/* name NULL: an automatic snapshot; 0, DB_EXISTS or -1 */
int db_snapshot_put(struct db *db, long session, long seq, const char *name,
		    const char *dump, size_t len);
/* the latest snapshot with seq <= max_seq (any name); *dump malloc'd */
/* an automatic snapshot; the automatic ones older than the latest keep go */
int db_snapshot_auto(struct db *db, long session, long seq, const char *dump,
		     size_t len, unsigned long keep);
int db_snapshot_latest(struct db *db, long session, long max_seq, long *seq,
		       char **dump, size_t *len);
int db_snapshot_named(struct db *db, long session, const char *name, long *seq);
int db_snapshot_list(struct db *db, long session,
		     void (*fn)(const char *name, long seq, void *arg), void *arg);

#endif /* RMAPD_DB_H */
