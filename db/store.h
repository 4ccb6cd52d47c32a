/* SPDX-License-Identifier: MIT */
/*
 * store.h - what the group-commit writer (commit.c) needs of a backend:
 * one write transaction, the rows it holds, its end.  db.c (over either
 * driver) fills one struct db_store_ops and hands it to committer_start().
 */
#ifndef RMAPD_DB_STORE_H
#define RMAPD_DB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct db_row {
	long session, seq;
	const char *op;
};

/* journal rows that one INSERT statement takes at most (append()'s) */
#define DB_ROWS_MAX	16

struct db_store_ops {
	/* open a write transaction; 0, or -1 with the fault remembered */
	int (*begin)(void *store);
	/*
	 * n journal rows: 0, -1, or DB_CONFLICT if the (session, seq) of one
	 * of them is already there (which one is not told: the caller asks
	 * again a row at a time); the transaction is still open, for the
	 * caller to end
	 */
	int (*append)(void *store, const struct db_row *rows, size_t n);
	/*
	 * 0 if the session's journal was cut exactly cuts times, else
	 * DB_CONFLICT (or -1); the session's row stays locked until the end,
	 * so a rewind by another node waits for this transaction or fences it
	 */
	int (*same_cuts)(void *store, long session, long cuts);
	/* an automatic snapshot, pruning the older ones past keep */
	int (*snapshot)(void *store, long session, long seq, const char *dump,
			size_t len, unsigned long keep);
	/*
	 * commit (err 0) or roll back (DB_CONFLICT: a rollback asked for,
	 * not a fault of the database); 0 once the commit is durable
	 */
	int (*end)(void *store, int err);
};

struct committer;

struct committer *committer_start(const struct db_store_ops *ops,
				  void *store);
/* commits what is queued, then stops the writer thread */
void committer_stop(struct committer *c);
/* the committer of a database, for the functions of db.h in commit.c */
struct committer *db_committer(struct db *db);

#endif /* RMAPD_DB_STORE_H */
