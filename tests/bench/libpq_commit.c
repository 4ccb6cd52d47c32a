// SPDX-License-Identifier: MIT
/*
 * libpq_commit.c - the anchor for the cluster's write path: what PostgreSQL
 * itself commits per second (synchronous_commit on, as rmapd's --sync full),
 * a prepared INSERT of one journal-like row per transaction, then GROUP
 * rows per transaction: the ceiling a group commit can approach over one
 * connection.  The table is made and dropped in the database given.
 *
 *	libpq_commit URL COMMITS GROUP
 *
 * Prints one JSON object, as sqlite_commit does.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_bench.h"

static void must(PGconn *h, PGresult *r, const char *what)
{
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		fprintf(stderr, "libpq_commit: %s: %s", what, PQerrorMessage(h));
		exit(1);
	}
	PQclear(r);
}

static void exec(PGconn *h, const char *sql)
{
	must(h, PQexec(h, sql), sql);
}

static long seq;

static void insert(PGconn *h)
{
	static const char op[] =
		"{\"op\":\"access\",\"pid\":1,\"addr\":\"0x10000000\",\"write\":true}";
	char s[24];
	const char *vals[2] = { s, op };

	snprintf(s, sizeof(s), "%ld", ++seq);
	must(h, PQexecPrepared(h, "ins", 2, vals, NULL, NULL, 0), "insert");
}

/* n transactions of rows rows each; fills lat[] (per txn) if given */
static double run(PGconn *h, long n, long rows, double *lat)
{
	double t0 = now_s(), t;
	long i, j;

	for (i = 0; i < n; i++) {
		t = now_s();
		exec(h, "BEGIN");
		for (j = 0; j < rows; j++)
			insert(h);
		exec(h, "COMMIT");
		if (lat)
			lat[i] = now_s() - t;
	}
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	double *lat, single, grouped;
	long n, group;
	PGconn *h;

	if (commit_args(argc, argv, "libpq_commit", &n, &group))
		return 2;
	h = PQconnectdb(argv[1]);
	if (PQstatus(h) != CONNECTION_OK) {
		fprintf(stderr, "libpq_commit: %s", PQerrorMessage(h));
		return 1;
	}
	exec(h, "SET synchronous_commit = on");
	exec(h, "DROP TABLE IF EXISTS bench_journal");
	exec(h, "CREATE TABLE bench_journal (session BIGINT, seq BIGINT, "
		"op TEXT NOT NULL, PRIMARY KEY (session, seq))");
	must(h, PQprepare(h, "ins", "INSERT INTO bench_journal VALUES "
			  "(1, $1, $2)", 2, NULL), "prepare");
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 1;
	single = run(h, n, 1, lat);
	grouped = run(h, n, group, NULL);
	commit_print(n, group, single, grouped, 0, lat);
	exec(h, "DROP TABLE bench_journal");
	PQfinish(h);
	free(lat);
	return 0;
}
