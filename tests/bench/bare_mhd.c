// SPDX-License-Identifier: MIT
/*
 * bare_mhd.c - the anchor for rmapd's HTTP paths: libmicrohttpd with the
 * daemon's flags and thread pool (daemon/http.c) and nothing behind it.
 * GET answers a small JSON object; POST reads the whole body, as rmapd
 * does before it routes, and answers one.  What rmapd's req/s is compared
 * with is what libmicrohttpd alone reaches on the same machine in the
 * same run.
 *
 * With "held", a POST's answer is held as rmapd holds one for its group
 * commit (daemon/http.c): the connection is suspended and put on a list,
 * a second thread takes the whole list whenever it is not empty (a commit
 * that costs nothing) and resumes each, and the answer leaves then.  That
 * is the hand-off's own cost, the floor of any answer that waits for
 * another thread, measured beside the plain handler.
 *
 * With "held-sync FILE", the second thread makes each list it takes durable
 * before it resumes the answers: a 64-byte record an answer, written with
 * one pwrite into FILE (16 MiB written and synced at start, then used as
 * a ring, as SQLite reuses its WAL) and one fdatasync.  That is the floor
 * of a durable group commit: the hand-off and one write and flush a group,
 * with no database, no parse, no engine.
 *
 * With "held-sqlite FILE SESSIONS", the second thread commits each list it
 * takes into a SQLite database as rmapd's writer does (WAL,
 * synchronous=FULL, the WAL's writes gathered until its sync by rmapd's own
 * VFS, db/litewal.c, statement journals in memory): one transaction, a
 * journal row (session, seq, op) an answer in rmapd's (session, seq)
 * order, 16, 4 or 1 rows to an INSERT as in rmapd, the answers spread
 * round-robin over SESSIONS sessions.  That is the floor of rmapd's design: its hand-off and
 * its journal, with no parse, no engine, no foreign-key check, no answer
 * built.
 *
 * With "tpc", libmicrohttpd runs a thread per connection (no pool, no
 * suspend; THREADS is then unused); with "tpc-held", each POST's handler
 * puts a waiter (on its own stack, with its own mutex and condition
 * variable) on a list and blocks on it; a second thread takes the whole
 * list whenever it is not empty (a commit that costs nothing) and wakes
 * each waiter on its own, so the woken handlers do not queue on one lock.
 * That is the other way to make an answer wait for another thread.
 *
 *	bare_mhd PORT [THREADS [held|held-sync FILE|
 *			       held-sqlite FILE SESSIONS|tpc|tpc-held]]
 *					serves on 127.0.0.1:PORT until SIGTERM;
 *					any other mode: usage, exit status 2
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "litewal.h"

static const char get_body[] = "{\"ok\":true,\"version\":1}\n";
static const char post_body[] = "{\"results\":[{\"ok\":true}],\"version\":2}\n";

static volatile sig_atomic_t stop;

/* a held POST, between its worker and the settler (rmapd's enum hold) */
struct held {
	struct MHD_Connection *conn;
	struct held *next;
	int state;		/* 1 listed, 2 suspended, 3 settled */
	bool waiting;		/* suspended, not yet answered */
};

static bool hold_posts, per_conn, block_posts;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t list_cond = PTHREAD_COND_INITIALIZER;
static struct held *list;
static bool settler_stop;
static int sync_fd = -1;	/* held-sync: the ring file */
static off_t sync_at;		/* the next record's place in it */

/* held-sqlite: the writer's connection and statements, the sessions' seqs */
/* rows to an INSERT, as rmapd's writer has them, largest first */
static const int insert_rows[] = {16, 4, 1};
#define ROWS_PER_INSERT 16
#define MAX_SESSIONS 4096
static sqlite3 *lite;
static sqlite3_stmt *lite_begin, *lite_commit, *lite_insert[3];
static long lite_sessions, lite_next, lite_seq[MAX_SESSIONS];

#define RING_SIZE ((off_t)16 << 20)
#define RECORD 64
/*
 * tpc-held: a blocked handler, on its handler's stack.  The releaser sets
 * done and signals under the waiter's own lock and touches it no more after
 * unlocking it; the handler re-checks done under that lock, so a wake-up
 * is neither lost nor delivered to a waiter that has gone.
 */
struct waiter {
	struct waiter *next;	/* under list_lock, until the releaser takes it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;		/* under lock */
};

static struct waiter *waiters;	/* under list_lock */

/* held-sync: one record an answer in one pwrite, then one fdatasync */
static void make_durable(struct held *h)
{
	static char buf[4096 * RECORD];
	size_t n = 0;

	for (; h && n < sizeof(buf); h = h->next, n += RECORD)
		snprintf(buf + n, RECORD, "answer %p at %lld\n", (void *)h,
			 (long long)sync_at);
	if (sync_at + (off_t)n > RING_SIZE)
		sync_at = 0;
	if (pwrite(sync_fd, buf, n, sync_at) != (ssize_t)n ||
	    fdatasync(sync_fd)) {
		perror("held-sync");
		exit(1);
	}
	sync_at += (off_t)n;
}

static void lite_must(int rc, const char *what)
{
	if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
		return;
	fprintf(stderr, "held-sqlite: %s: %s\n", what, sqlite3_errmsg(lite));
	exit(1);
}

static void lite_run(sqlite3_stmt *st, const char *what)
{
	lite_must(sqlite3_step(st), what);
	lite_must(sqlite3_reset(st), what);
}

/* held-sqlite: the group's rows in one transaction, 16 to a statement */
static void commit_group(struct held *h)
{
	static const char op[] = "{\"op\":\"access\",\"pid\":1,"
				 "\"addr\":\"0x10000000\",\"write\":true}";
	long n = 0, k, i;
	struct held *x;

	for (x = h; x; x = x->next)
		n++;
	litewal_gather(lite, true);
	lite_run(lite_begin, "BEGIN");
	while (n) {
		int j = 0;
		sqlite3_stmt *st;

		while (insert_rows[j] > n)
			j++;
		st = lite_insert[j];
		k = insert_rows[j];
		for (i = 0; i < k; i++) {
			long sid = lite_next++ % lite_sessions;

			sqlite3_bind_int64(st, (int)(3 * i + 1), sid + 1);
			sqlite3_bind_int64(st, (int)(3 * i + 2),
					   ++lite_seq[sid]);
			sqlite3_bind_text(st, (int)(3 * i + 3), op,
					  sizeof(op) - 1, SQLITE_STATIC);
		}
		lite_run(st, "INSERT");
		n -= k;
	}
	lite_run(lite_commit, "COMMIT");
}

static int lite_open(const char *path, long sessions)
{
	char sql[64 + ROWS_PER_INSERT * 16];
	int i, at;

	if (sessions < 1 || sessions > MAX_SESSIONS) {
		fprintf(stderr, "held-sqlite: SESSIONS from 1 to %d\n",
			MAX_SESSIONS);
		return -1;
	}
	lite_sessions = sessions;
	unlink(path);
	lite_must(sqlite3_open_v2(path, &lite, SQLITE_OPEN_READWRITE |
				  SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				  litewal_vfs()), path);
	lite_must(sqlite3_exec(lite, "PRAGMA journal_mode=WAL;"
			       "PRAGMA synchronous=FULL;"
			       "PRAGMA temp_store=MEMORY;"
			       "CREATE TABLE journal (session INTEGER NOT NULL,"
			       " seq INTEGER NOT NULL, op TEXT NOT NULL,"
			       " PRIMARY KEY (session, seq)) WITHOUT ROWID;",
			       NULL, NULL, NULL), "schema");
	lite_must(sqlite3_prepare_v2(lite, "BEGIN IMMEDIATE", -1, &lite_begin,
				     NULL), "BEGIN");
	lite_must(sqlite3_prepare_v2(lite, "COMMIT", -1, &lite_commit, NULL),
		  "COMMIT");
	for (i = 0; i < 3; i++) {
		int rows = insert_rows[i], r;

		at = snprintf(sql, sizeof(sql),
			      "INSERT INTO journal(session, seq, op) VALUES ");
		for (r = 0; r < rows; r++)
			at += snprintf(sql + at, sizeof(sql) - (size_t)at,
				       "%s(?, ?, ?)", r ? ", " : "");
		lite_must(sqlite3_prepare_v2(lite, sql, -1, &lite_insert[i],
					     NULL), "INSERT");
	}
	return 0;
}

static int ring_open(const char *path)
{
	static char zero[1 << 16];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	off_t at;

	if (fd < 0)
		return -1;
	for (at = 0; at < RING_SIZE; at += (off_t)sizeof(zero))
		if (pwrite(fd, zero, sizeof(zero), at) != (ssize_t)sizeof(zero))
			return -1;
	return fsync(fd) ? -1 : fd;
}

static void *settler(void *arg)
{
	struct held *h, *next;

	(void)arg;
	pthread_mutex_lock(&list_lock);
	while (!settler_stop) {
		if (!list) {
			pthread_cond_wait(&list_cond, &list_lock);
			continue;
		}
		h = list;
		list = NULL;
		pthread_mutex_unlock(&list_lock);
		if (sync_fd >= 0)
			make_durable(h);
		if (lite)
			commit_group(h);
		for (; h; h = next) {
			next = h->next;
			if (__atomic_exchange_n(&h->state, 3, __ATOMIC_ACQ_REL) == 2)
				MHD_resume_connection(h->conn);
		}
		pthread_mutex_lock(&list_lock);
	}
	pthread_mutex_unlock(&list_lock);
	return NULL;
}

/*
 * tpc-held's second thread: takes every waiter listed so far and wakes each
 * on its own.  Once told to stop it still wakes what is listed, and exits
 * only with the list empty; block() lists nothing after the stop.
 */
static void *releaser(void *arg)
{
	struct waiter *w, *next;

	(void)arg;
	pthread_mutex_lock(&list_lock);
	for (;;) {
		if (!waiters) {
			if (settler_stop)
				break;
			pthread_cond_wait(&list_cond, &list_lock);
			continue;
		}
		w = waiters;
		waiters = NULL;
		pthread_mutex_unlock(&list_lock);
		for (; w; w = next) {
			next = w->next;	/* w may be gone once unlocked */
			pthread_mutex_lock(&w->lock);
			w->done = true;
			pthread_cond_signal(&w->cond);
			pthread_mutex_unlock(&w->lock);
		}
		pthread_mutex_lock(&list_lock);
	}
	pthread_mutex_unlock(&list_lock);
	return NULL;
}

/* blocks until the releaser has taken this handler's waiter (or at stop) */
static void block(void)
{
	struct waiter w = { .done = false };
	bool was_empty;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	pthread_mutex_lock(&list_lock);
	if (settler_stop) {
		pthread_mutex_unlock(&list_lock);
		goto out;
	}
	was_empty = !waiters;
	w.next = waiters;
	waiters = &w;
	/* the releaser sleeps only on an empty list: one signal fills it */
	if (was_empty)
		pthread_cond_signal(&list_cond);
	pthread_mutex_unlock(&list_lock);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
out:
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
}

/* suspended until the settler, or this worker if it comes second, resumes it */
static void hold(struct held *h, struct MHD_Connection *conn)
{
	int expect = 1;

	h->conn = conn;
	h->waiting = true;
	__atomic_store_n(&h->state, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&list_lock);
	h->next = list;
	list = h;
	pthread_cond_signal(&list_cond);
	pthread_mutex_unlock(&list_lock);
	MHD_suspend_connection(conn);
	if (!__atomic_compare_exchange_n(&h->state, &expect, 2, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		MHD_resume_connection(conn);
}

static void completed(void *cls, struct MHD_Connection *conn, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (hold_posts)
		free(*ctx);
	*ctx = NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **ctx)
{
	static int first;
	const char *text = strcmp(method, "POST") ? get_body : post_body;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)version;
	(void)upload;
	if (!*ctx) {
		*ctx = hold_posts ? calloc(1, sizeof(struct held)) : &first;
		return *ctx ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		*upload_size = 0;	/* consumed, as rmapd copies it */
		return MHD_YES;
	}
	if (block_posts && text == post_body)
		block();
	if (hold_posts && text == post_body) {
		struct held *h = *ctx;

		if (!h->waiting) {
			hold(h, conn);
			return MHD_YES;
		}
		h->waiting = false;
	}
	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* how many arguments a command line with this mode has */
static int mode_argc(const char *mode)
{
	if (!strcmp(mode, "held-sync"))
		return 5;	/* ... held-sync FILE */
	if (!strcmp(mode, "held-sqlite"))
		return 6;	/* ... held-sqlite FILE SESSIONS */
	return 4;
}

int main(int argc, char **argv)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned int threads = 8;
	/* the pool's size, absent with a thread per connection (which ignores it) */
	struct MHD_OptionItem pool[2] = {
		{ MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL }
	};
	struct MHD_Daemon *d;
	pthread_t t;

	if (argc > 3) {
		hold_posts = !strcmp(argv[3], "held") ||
			     !strcmp(argv[3], "held-sync") ||
			     !strcmp(argv[3], "held-sqlite");
		block_posts = !strcmp(argv[3], "tpc-held");
		per_conn = block_posts || !strcmp(argv[3], "tpc");
	}
	if (argc < 2 || (argc > 3 && !hold_posts && !per_conn) ||
	    (argc > 3 && argc != mode_argc(argv[3]))) {
		fprintf(stderr, "usage: bare_mhd PORT [THREADS [held|"
			"held-sync FILE|held-sqlite FILE SESSIONS|tpc|"
			"tpc-held]]\n");
		return 2;
	}
	if (argc == 5 && (sync_fd = ring_open(argv[4])) < 0) {
		perror(argv[4]);
		return 1;
	}
	if (argc == 6 && lite_open(argv[4], atol(argv[5])))
		return 1;
	if (argc > 2)
		threads = (unsigned int)atoi(argv[2]);
	if (!per_conn)
		pool[0] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
						   (intptr_t)threads, NULL };
	if (per_conn)
		flags = MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ERROR_LOG;
	if ((hold_posts || block_posts) &&
	    pthread_create(&t, NULL, hold_posts ? settler : releaser, NULL)) {
		perror("pthread_create");
		return 1;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096,
			     MHD_OPTION_ARRAY, pool,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
			     MHD_OPTION_CONNECTION_LIMIT, 4096u,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_END);
	if (!d) {
		perror("MHD_start_daemon");
		return 1;
	}
	while (!stop)
		pause();
	if (block_posts) {	/* no handler stays blocked past here */
		pthread_mutex_lock(&list_lock);
		settler_stop = true;
		pthread_cond_signal(&list_cond);
		pthread_mutex_unlock(&list_lock);
		pthread_join(t, NULL);
	}
	MHD_stop_daemon(d);
	if (hold_posts) {
		pthread_mutex_lock(&list_lock);
		settler_stop = true;
		pthread_cond_signal(&list_cond);
		pthread_mutex_unlock(&list_lock);
		pthread_join(t, NULL);
	}
	return 0;
}
