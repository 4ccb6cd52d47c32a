// SPDX-License-Identifier: MIT
/*
 * sqlite_commit.c - the anchor for rmapd's write path: what SQLite itself
 * commits per second on this filesystem with the daemon's settings (WAL,
 * synchronous=FULL), a prepared INSERT of one journal-like row per
 * transaction, each COMMIT with its own fsync.  A second figure groups
 * GROUP rows in one transaction: the ceiling a group commit can approach.
 * A third puts each row of a group in a session of its own, as a group
 * of GROUP sessions' ops is: each lands in another part of the (session,
 * seq) B-tree, so a commit writes about a page per row, not a page per
 * 50 rows.
 *
 *	sqlite_commit PATH COMMITS GROUP
 *
 * Prints one JSON object: commits/s and rows/s of both, p50/p99 of a
 * single-row commit in microseconds.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commit_bench.h"

static void must(sqlite3 *h, int rc, const char *what)
{
	if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
		return;
	fprintf(stderr, "sqlite_commit: %s: %s\n", what, sqlite3_errmsg(h));
	exit(1);
}

static void exec(sqlite3 *h, const char *sql)
{
	must(h, sqlite3_exec(h, sql, NULL, NULL, NULL), sql);
}

#define SESSIONS	4096	/* the spread run's, at most */

static long seq[SESSIONS];

static void insert(sqlite3 *h, sqlite3_stmt *ins, long session)
{
	static const char op[] =
		"{\"op\":\"access\",\"pid\":1,\"addr\":\"0x10000000\",\"write\":true}";

	sqlite3_bind_int64(ins, 1, session + 1);
	sqlite3_bind_int64(ins, 2, ++seq[session]);
	sqlite3_bind_text(ins, 3, op, (int)strlen(op), SQLITE_STATIC);
	must(h, sqlite3_step(ins), "insert");
	sqlite3_reset(ins);
}

/*
 * Runs n transactions of rows rows each, row j in session 0 or (spread)
 * in session j; fills lat[] (per txn) if given.
 */
static double run(sqlite3 *h, sqlite3_stmt *ins, long n, long rows,
		  bool spread, double *lat)
{
	double t0 = now_s(), t;
	long i, j;

	for (i = 0; i < n; i++) {
		t = now_s();
		exec(h, "BEGIN IMMEDIATE");
		for (j = 0; j < rows; j++)
			insert(h, ins, spread ? j % SESSIONS : 0);
		exec(h, "COMMIT");
		if (lat)
			lat[i] = now_s() - t;
	}
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	sqlite3 *h;
	sqlite3_stmt *ins;
	long n, group;
	double *lat, single, grouped, spread;

	if (commit_args(argc, argv, "sqlite_commit", &n, &group))
		return 2;
	unlink(argv[1]);
	if (sqlite3_open(argv[1], &h) != SQLITE_OK)
		return 1;
	exec(h, "PRAGMA journal_mode=WAL");
	exec(h, "PRAGMA synchronous=FULL");
	exec(h, "CREATE TABLE journal (session INTEGER, seq INTEGER, "
		"op TEXT NOT NULL, PRIMARY KEY (session, seq))");
	must(h, sqlite3_prepare_v2(h, "INSERT INTO journal VALUES (?, ?, ?)",
				   -1, &ins, NULL), "prepare");
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 1;
	single = run(h, ins, n, 1, false, lat);
	grouped = run(h, ins, n, group, false, NULL);
	/* each session's rows past a page first, as a lab's are */
	run(h, ins, 100, group, true, NULL);
	spread = run(h, ins, n, group, true, NULL);
	commit_print(n, group, single, grouped, spread, lat);
	sqlite3_finalize(ins);
	sqlite3_close(h);
	free(lat);
	return 0;
}
