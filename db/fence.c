// SPDX-License-Identifier: MIT
/*
 * fence.c - what nodes sharing one database ask of it to stay in step:
 * where a session's journal ends now, and how often it was cut.  The
 * append side of the fence is the backend's store op (DB_CONFLICT,
 * store.h); this is the read side, one lookup on the journal's primary
 * key, the same SQL for every backend, prepared once per reading
 * connection: it runs before every request.
 */
#include "sql.h"

int db_journal_head(struct db *db, long session, long *head, long *cuts)
{
	void *tok;
	struct db_stmt *st;
	int rc = -1;

	db_read_begin(db, &tok);
	/* no row: the session was deleted (by any node) */
	st = db_read_prep(tok, "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal "
			 "WHERE session = ?), cuts FROM sessions WHERE id = ?",
			 "ll", session, session);
	if (st) {
		switch (db_stmt_step(st)) {
		case DB_STEP_ROW:
			*head = db_col_long(st, 0);
			*cuts = db_col_long(st, 1);
			rc = 0;
			break;
		case DB_STEP_DONE:
			rc = 1;
			break;
		default:
			break;
		}
	}
	db_read_done(st);
	db_read_end(tok);
	return rc;
}
