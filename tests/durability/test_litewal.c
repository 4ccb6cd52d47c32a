// SPDX-License-Identifier: MIT
/*
 * test_litewal.c - the SQLite driver's WAL gathering (db/litewal.c): with
 * synchronous=FULL a transaction of 64 pages reaches the WAL in three
 * writes (of up to 124 KiB), not two per page; what a commit wrote is on file when the commit
 * returns (a process that dies right after, without closing, left it
 * there: the parent reads every row); with NORMAL every frame is written
 * as SQLite writes it, since NORMAL publishes a commit before any sync; a
 * statement that changes many pages keeps its statement journal in
 * memory, not in a temporary file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "litewal.h"

#define ROWS	64
#define ROWLEN	3000	/* one row a page: 64 pages a transaction */

static int failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: expected %s\n", __FILE__,	\
			__LINE__, #cond);				\
		failed++;						\
	}								\
} while (0)

static char dir[] = "/tmp/rmapd-litewal-XXXXXX";

static struct db_conn *open_db(const char *name, bool readonly)
{
	const struct db_driver *drv = &db_sqlite_driver;
	char path[128], err[256];
	struct db_conn *c;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	c = drv->open(path, readonly, err, sizeof(err));
	if (!c)
		fprintf(stderr, "  open %s: %s\n", path, err);
	return c;
}

/* a table, then one transaction of ROWS rows of ROWLEN bytes */
static int write_rows(struct db_conn *c, long first)
{
	const struct db_driver *drv = c->drv;
	static char text[ROWLEN + 1];
	struct db_stmt *st;
	long i;
	int rc = 0;

	memset(text, 'x', ROWLEN);
	if (drv->exec(c, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY "
		      "KEY, v TEXT NOT NULL)") || drv->begin(c, 1000))
		return -1;
	st = drv->prepare(c, "INSERT INTO t(k, v) VALUES(?, ?)", false);
	for (i = 0; st && i < ROWS && !rc; i++) {
		rc = drv->bind_int64(st, 1, first + i) ||
		     drv->bind_text(st, 2, text) ||
		     drv->step(st) != DB_STEP_DONE;
		drv->reset(st);
	}
	if (st)
		drv->finalize(st);
	if (!st || rc || drv->commit(c)) {
		char why[256];

		drv->fault(c, why, sizeof(why));
		fprintf(stderr, "  the transaction failed: %s\n", why);
		drv->rollback(c);
		return -1;
	}
	return 0;
}

static long count_rows(const char *name)
{
	struct db_conn *c = open_db(name, true);
	struct db_stmt *st;
	long n = -1;

	if (!c)
		return -1;
	st = c->drv->prepare(c, "SELECT COUNT(*), MIN(LENGTH(v)) FROM t",
			     false);
	if (st && c->drv->step(st) == DB_STEP_ROW &&
	    c->drv->column_int64(st, 1) == ROWLEN)
		n = (long)c->drv->column_int64(st, 0);
	if (st)
		c->drv->finalize(st);
	c->drv->close(c);
	return n;
}

static void a_full_commit_reaches_the_wal_in_few_writes(void)
{
	struct db_conn *c = open_db("full.sqlite", false);
	unsigned long before;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(write_rows(c, 0) == 0);	/* the table, the WAL opened */
	before = litewal_writes();
	CHECK(write_rows(c, ROWS) == 0);
	/* two writes a frame would be 128 and more */
	fprintf(stderr, "  FULL: %lu writes for %d pages\n",
		litewal_writes() - before, ROWS);
	CHECK(litewal_writes() - before <= 3);
	CHECK(count_rows("full.sqlite") == 2 * ROWS);
	c->drv->close(c);
}

static void normal_sync_writes_each_frame_through(void)
{
	struct db_conn *c = open_db("normal.sqlite", false);
	unsigned long before;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(c->drv->set_sync(c, DB_SYNC_NORMAL) == 0);
	CHECK(write_rows(c, 0) == 0);
	before = litewal_writes();
	CHECK(write_rows(c, ROWS) == 0);
	fprintf(stderr, "  NORMAL: %lu writes for %d pages\n",
		litewal_writes() - before, ROWS);
	CHECK(litewal_writes() - before >= 2 * ROWS);
	CHECK(count_rows("normal.sqlite") == 2 * ROWS);
	c->drv->close(c);
}

/* spills of one UPDATE of every row (a page each), with temp_store as given */
static unsigned long update_spills(struct db_conn *c, const char *temp_store)
{
	unsigned long before;

	if (temp_store)
		CHECK(c->drv->exec(c, temp_store) == 0);
	before = litewal_spills();
	CHECK(c->drv->begin(c, 1000) == 0);
	CHECK(c->drv->exec(c, "UPDATE t SET v = v || 'y'") == 0);
	CHECK(c->drv->commit(c) == 0);
	return litewal_spills() - before;
}

/*
 * One UPDATE of many rows, each in a page of its own that existed before
 * (it can abort, v being NOT NULL): SQLite keeps every such page in the
 * statement journal until the statement ends (64 pages, 256 KiB, past the
 * 64 KiB it holds in memory before it moves to a file), as the group
 * commit's INSERT of 16 rows in 16 sessions does.  The writer keeps it in
 * memory; set back to a file, the same UPDATE spills once.
 */
static void a_statement_journal_stays_in_memory(void)
{
	struct db_conn *c = open_db("stmt.sqlite", false);
	unsigned long n;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(write_rows(c, 0) == 0);
	n = update_spills(c, NULL);
	fprintf(stderr, "  statement journals spilled: %lu\n", n);
	CHECK(n == 0);
	n = update_spills(c, "PRAGMA temp_store=FILE");
	fprintf(stderr, "  with temp_store=FILE: %lu\n", n);
	CHECK(n == 1);
	c->drv->close(c);
}

/* what the commit gathered is written by the time it returns */
static void a_commit_is_on_file_when_it_returns(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		struct db_conn *c = open_db("died.sqlite", false);

		_exit(c && write_rows(c, 0) == 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	if (pid < 0)
		return;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(count_rows("died.sqlite") == ROWS);
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	a_full_commit_reaches_the_wal_in_few_writes();
	normal_sync_writes_each_frame_through();
	a_commit_is_on_file_when_it_returns();
	a_statement_journal_stays_in_memory();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "  could not remove %s\n", dir);
	printf("%s\n", failed ? "FAIL" : "ok");
	return failed ? 1 : 0;
}
