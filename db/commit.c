// SPDX-License-Identifier: MIT
/*
 * commit.c - group commit: the one writer thread above the backend.
 * Requests queue their journal rows (and automatic snapshots) and go on;
 * the writer takes everything queued, commits it as one transaction with
 * one fsync, and settles the tickets of the whole group at once.  With 64
 * requests in flight that is one fsync for 64 ops instead of 64 fsyncs
 * one after another, and no session lock is held while it runs.
 *
 * Order: jobs are committed in the order they were queued, so a session's
 * rows reach the database in seq order (the caller queues them under the
 * session's lock).  A failed group fences the history (session, gen) of
 * each of its jobs: a later job of the same history was made on a state
 * that is now gone, and fails without being tried, until the caller puts
 * the session back to its durable state under a new gen.
 *
 * Locking: c->lock guards the queue, the fences and the counters; it is
 * never held across SQL.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

struct job {
	struct job *next;
	long session;
	uint64_t gen;
	long cuts;		/* the journal's cuts it was made on; -1: any */
	long seq;		/* the first row's, or the snapshot's */
	size_t n;		/* rows; 0: a snapshot */
	char *dump;		/* a snapshot's, owned */
	size_t len;
	unsigned long keep;
	bool fenced;		/* its history failed before it was taken */
	bool conflict;		/* another node had written its seq */
	char text[];		/* rows: n ops, each NUL-terminated */
};

struct fence {
	long session;
	uint64_t gen;		/* histories up to this one failed */
	bool conflict;		/* that one only by a conflict (DB_CONFLICT) */
};

struct committer {
	const struct db_store_ops *ops;
	void *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work, settled;
	struct job *head, **tail;
	uint64_t queued, resolved;	/* tickets given, settled */
	struct fence *fences;		/* failures are rare: a short list */
	size_t nr_fences, cap_fences;
	bool fence_all;			/* the list could not grow */
	bool any_fence;			/* atomic: for a lockless "no" */
	bool stop;
	void (*on_resolved)(uint64_t upto);
	struct db_commit_stats stats;
};

/* caller holds c->lock */
static struct fence *fence_find(struct committer *c, long session)
{
	size_t i;

	for (i = 0; i < c->nr_fences; i++)
		if (c->fences[i].session == session)
			return &c->fences[i];
	return NULL;
}

static bool fenced(struct committer *c, long session, uint64_t gen)
{
	struct fence *f = c->nr_fences ? fence_find(c, session) : NULL;

	return c->fence_all || (f && gen <= f->gen);
}

/*
 * Out of memory for the list, every later job fails until rmapd restarts:
 * over-failing is safe, committing a job of a fenced history is not.
 */
static void fence_add(struct committer *c, long session, uint64_t gen,
		      bool conflict)
{
	struct fence *f = fence_find(c, session);

	if (f) {
		/* a real failure of the same history wins: no retry then */
		if (gen > f->gen)
			*f = (struct fence){ session, gen, conflict };
		else if (gen == f->gen)
			f->conflict &= conflict;
		return;
	}
	if (c->nr_fences == c->cap_fences) {
		size_t cap = c->cap_fences ? c->cap_fences * 2 : 16;
		struct fence *t = realloc(c->fences, cap * sizeof(*t));

		if (!t) {
			c->fence_all = true;
			return;
		}
		c->fences = t;
		c->cap_fences = cap;
	}
	c->fences[c->nr_fences++] = (struct fence){ session, gen, conflict };
}

static uint64_t enqueue(struct committer *c, struct job *j)
{
	uint64_t ticket;

	j->next = NULL;
	pthread_mutex_lock(&c->lock);
	*c->tail = j;
	c->tail = &j->next;
	ticket = ++c->queued;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	return ticket;
}

uint64_t db_queue_ops(struct db *db, long session, uint64_t gen, long cuts,
		      long first, size_t n, char *const *ops)
{
	size_t size = 0, i, at = 0;
	struct job *j;

	for (i = 0; i < n; i++)
		size += strlen(ops[i]) + 1;
	j = malloc(sizeof(*j) + size);
	if (!j)
		return 0;
	*j = (struct job){ .session = session, .gen = gen, .cuts = cuts,
			   .seq = first, .n = n };
	for (i = 0; i < n; i++) {
		size_t len = strlen(ops[i]) + 1;

		memcpy(j->text + at, ops[i], len);
		at += len;
	}
	return enqueue(db_committer(db), j);
}

uint64_t db_queue_snapshot(struct db *db, long session, uint64_t gen,
			   long cuts, long seq, char *dump, size_t len,
			   unsigned long keep)
{
	struct job *j = malloc(sizeof(*j));

	if (!j) {
		free(dump);
		return 0;
	}
	*j = (struct job){ .session = session, .gen = gen, .cuts = cuts,
			   .seq = seq, .dump = dump, .len = len, .keep = keep };
	return enqueue(db_committer(db), j);
}

bool db_resolved(struct db *db, uint64_t ticket)
{
	struct committer *c = db_committer(db);

	return __atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE) >= ticket;
}

void db_wait(struct db *db, uint64_t ticket)
{
	struct committer *c = db_committer(db);

	/* resumed once its group settled: mostly there already */
	if (__atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE) >= ticket)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->resolved < ticket)
		pthread_cond_wait(&c->settled, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

bool db_history_failed(struct db *db, long session, uint64_t gen)
{
	struct committer *c = db_committer(db);
	bool failed;

	/* the common case, no failure ever, without the lock */
	if (!__atomic_load_n(&c->any_fence, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&c->lock);
	failed = fenced(c, session, gen);
	pthread_mutex_unlock(&c->lock);
	return failed;
}

bool db_history_conflict(struct db *db, long session, uint64_t gen)
{
	struct committer *c = db_committer(db);
	struct fence *f;
	bool conflict;

	if (!__atomic_load_n(&c->any_fence, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&c->lock);
	f = c->fence_all ? NULL : fence_find(c, session);
	conflict = f && gen <= f->gen && f->conflict;
	pthread_mutex_unlock(&c->lock);
	return conflict;
}

void db_on_resolved(struct db *db, void (*fn)(uint64_t upto))
{
	struct committer *c = db_committer(db);

	pthread_mutex_lock(&c->lock);
	c->on_resolved = fn;
	pthread_mutex_unlock(&c->lock);
}

void db_commit_stats(struct db *db, struct db_commit_stats *out)
{
	struct committer *c = db_committer(db);

	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->queued = c->queued;
	pthread_mutex_unlock(&c->lock);
}

#ifdef RMAPD_TEST_HOOKS
static long read_number(const char *dir, const char *name, bool *there)
{
	char path[600];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	*there = f != NULL;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void describe(const char *dir, const char *what, unsigned long long idx,
		     const struct job *group)
{
	char tmp[600], path[600];
	const struct job *j;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, what);
	snprintf(path, sizeof(path), "%s/%s", dir, what);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "group %llu\n", idx);
	for (j = group; j; j = j->next)
		fprintf(f, "%ld %ld %zu%s\n", j->session, j->seq, j->n,
			j->fenced ? " fenced" : "");
	fclose(f);
	rename(tmp, path);
}

/*
 * While the file called file in dir holds a number <= the group's index,
 * the group waits, described in the file called what.
 */
static void test_wait(struct committer *c, const char *dir, const char *file,
		      const char *what, const struct job *group)
{
	unsigned long long idx;
	bool there;
	long v;

	pthread_mutex_lock(&c->lock);
	idx = c->stats.groups;
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		v = read_number(dir, file, &there);
		if (!there || v < 0 || (unsigned long long)v > idx)
			break;
		describe(dir, what, idx, group);
		usleep(2000);
	}
}

/*
 * Tests only (the rmapd-hooks binary), in $RMAPD_TEST_COMMIT_DIR: while a
 * file "hold" holds a number <= this group's index (groups counted from
 * 0), the group waits before its commit, described in "holding"; "pause"
 * and "pausing" the same before its transaction begins; a file "fail"
 * naming a session fails the first group that writes for it (and is
 * removed).  So a test puts chosen ops into one group, knows exactly
 * which ops a failed group held, and can let another node write between
 * a node's request and its commit.
 */
static int test_hook(struct committer *c, const struct job *group)
{
	const char *dir = getenv("RMAPD_TEST_COMMIT_DIR");
	const struct job *j;
	char path[600];
	bool there;
	long v;

	if (!dir)
		return 0;
	test_wait(c, dir, "hold", "holding", group);
	v = read_number(dir, "fail", &there);
	for (j = group; there && j; j = j->next)
		if (!j->fenced && j->session == v) {
			snprintf(path, sizeof(path), "%s/fail", dir);
			unlink(path);
			return -1;
		}
	return 0;
}

static void test_pause(struct committer *c, const struct job *group)
{
	const char *dir = getenv("RMAPD_TEST_COMMIT_DIR");

	if (dir)
		test_wait(c, dir, "pause", "pausing", group);
}

__thread bool db_test_in_group;

/*
 * While a file "settle-first" is in the directory, a worker that has
 * listed an answer to hold waits (up to 10 s) for its commit to be
 * settled before it suspends it: the writer then always comes first, and
 * the worker resumes the answer itself (daemon/http.c, enum hold).  Each
 * such answer is counted in the file "settled-first".
 */
void db_test_hold_listed(struct db *db, uint64_t ticket)
{
	static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned long count;
	const char *dir = getenv("RMAPD_TEST_COMMIT_DIR");
	char path[600], tmp[600];
	bool there;
	FILE *f;
	int i;

	if (!dir)
		return;
	read_number(dir, "settle-first", &there);
	if (!there)
		return;
	for (i = 0; i < 5000 && !db_resolved(db, ticket); i++)
		usleep(2000);
	if (!db_resolved(db, ticket))
		return;
	pthread_mutex_lock(&count_lock);
	snprintf(tmp, sizeof(tmp), "%s/settled-first.tmp", dir);
	snprintf(path, sizeof(path), "%s/settled-first", dir);
	f = fopen(tmp, "w");
	if (f) {
		fprintf(f, "%lu\n", ++count);
		fclose(f);
		rename(tmp, path);
	}
	pthread_mutex_unlock(&count_lock);
}

static void test_in_group(bool on)
{
	db_test_in_group = on;
}
#else
void db_test_hold_listed(struct db *db, uint64_t ticket)
{
	(void)db;
	(void)ticket;
}

static void test_in_group(bool on)
{
	(void)on;
}

static int test_hook(struct committer *c, const struct job *group)
{
	(void)c;
	(void)group;
	return 0;
}

static void test_pause(struct committer *c, const struct job *group)
{
	(void)c;
	(void)group;
}
#endif

/* an earlier job of the group checked the same cuts of the same session */
static bool cuts_checked(const struct job *group, const struct job *j)
{
	const struct job *k;

	for (k = group; k != j; k = k->next)
		if (!k->fenced && k->session == j->session &&
		    k->cuts == j->cuts)
			return true;
	return false;
}

/*
 * Rows on their way to the store, several to a statement: a statement
 * apiece cost more than the row it inserts.  owner: the job of them all,
 * NULL when they are of several (a conflict is then looked for a row at a
 * time).
 */
struct batch {
	struct db_row rows[DB_ROWS_MAX];
	size_t n;
	struct job *owner;
	bool one_by_one;	/* a row to a statement */
};

static int batch_flush(struct committer *c, struct batch *b,
		       struct job **bad)
{
	int err = b->n ? c->ops->append(c->store, b->rows, b->n) : 0;

	if (err == DB_CONFLICT)
		*bad = b->owner;
	b->n = 0;
	b->owner = NULL;
	return err;
}

static int batch_add(struct committer *c, struct batch *b, struct job *j,
		     long seq, const char *op, struct job **bad)
{
	if (b->n && b->owner != j)
		b->owner = NULL;
	else if (!b->n)
		b->owner = j;
	b->rows[b->n++] = (struct db_row){ j->session, seq, op };
	return b->n == DB_ROWS_MAX || b->one_by_one ? batch_flush(c, b, bad)
						   : 0;
}

static int write_job(struct committer *c, const struct job *group,
		     struct job *j, struct batch *b, struct job **bad)
{
	const char *op = j->text;
	size_t i;
	int err;

	/* a rewind through another node since: a state this one never saw */
	if (j->cuts >= 0 && !cuts_checked(group, j)) {
		err = batch_flush(c, b, bad);
		if (!err)
			err = c->ops->same_cuts(c->store, j->session, j->cuts);
		if (err) {
			if (err == DB_CONFLICT && !*bad)
				*bad = j;
			return err;
		}
	}
	if (!j->n) {
		err = batch_flush(c, b, bad);
		return err ? err : c->ops->snapshot(c->store, j->session,
						    j->seq, j->dump, j->len,
						    j->keep);
	}
	for (i = 0; i < j->n; i++) {
		err = batch_add(c, b, j, j->seq + (long)i, op, bad);
		if (err)
			return err;
		op += strlen(op) + 1;
	}
	return 0;
}

/*
 * A conflict leaves out the job's history for the rest of the group: its
 * later jobs were made on the same stale state.
 */
static void drop_history(struct job *from)
{
	struct job *k;

	for (k = from; k; k = k->next)
		if (k->session == from->session && k->gen == from->gen) {
			k->fenced = true;
			k->conflict = true;
		}
}

/*
 * One try at one transaction for the jobs not fenced.  A conflict: *bad
 * is its job, or NULL when it was in rows of several (the caller tries
 * again one_by_one).
 */
static int try_group(struct committer *c, struct job *group,
		     unsigned long long *rows, struct job **bad,
		     bool one_by_one)
{
	struct batch b = { .one_by_one = one_by_one };
	struct job *j;
	int err = 0;

	*bad = NULL;
	if (c->ops->begin(c->store))
		return -1;
	*rows = 0;
	for (j = group; j && !err; j = j->next) {
		if (j->fenced)
			continue;
		err = write_job(c, group, j, &b, bad);
		if (!err)
			*rows += j->n;
	}
	if (!err)
		err = batch_flush(c, &b, bad);
	if (!err)
		err = test_hook(c, group);
	if (err == DB_CONFLICT) {
		c->ops->end(c->store, DB_CONFLICT);
		return DB_CONFLICT;
	}
	return c->ops->end(c->store, err);
}

/*
 * The jobs of the group that are not fenced, in one transaction.  A
 * session another node wrote meanwhile is rolled back out of it and the
 * rest tried again: one stale node must not fail the others' ops.
 */
static int commit_group(struct committer *c, struct job *group,
			unsigned long long *rows, unsigned *row_retries)
{
	struct job *j, *bad = NULL;
	bool one_by_one = false;
	int err;

	for (;;) {
		for (j = group; j && j->fenced; j = j->next)
			;
		if (!j)
			return 0;
		err = try_group(c, group, rows, &bad, one_by_one);
		if (err != DB_CONFLICT)
			return err;
		if (!bad) {
			one_by_one = true;
			++*row_retries;
			continue;
		}
		drop_history(bad);
	}
}

static void free_group(struct job *j)
{
	struct job *next;

	for (; j; j = next) {
		next = j->next;
		free(j->dump);
		free(j);
	}
}

/* Take the whole queue as one group; NULL once stopped and drained. */
static struct job *take_group(struct committer *c, uint64_t *upto)
{
	struct job *group, *j;

	pthread_mutex_lock(&c->lock);
	while (!c->head && !c->stop)
		pthread_cond_wait(&c->work, &c->lock);
	group = c->head;
	*upto = c->queued;
	c->head = NULL;
	c->tail = &c->head;
	for (j = group; j; j = j->next)
		j->fenced = fenced(c, j->session, j->gen);
	pthread_mutex_unlock(&c->lock);
	return group;
}

static void settle_group(struct committer *c, const struct job *group,
			 uint64_t upto, int err, unsigned long long rows,
			 unsigned row_retries)
{
	void (*fn)(uint64_t upto);
	const struct job *j;
	bool any = false;

	pthread_mutex_lock(&c->lock);
	for (j = group; j; j = j->next) {
		if (j->conflict) {
			fence_add(c, j->session, j->gen, true);
			c->stats.conflicts += j->n ? 1 : 0;
			any = true;
		} else if (err && !j->fenced) {
			fence_add(c, j->session, j->gen, false);
			any = true;
		}
	}
	if (any)
		__atomic_store_n(&c->any_fence, true, __ATOMIC_RELEASE);
	c->stats.groups++;
	c->stats.row_retries += row_retries;
	if (err)
		c->stats.failed_groups++;
	else
		c->stats.rows += rows;
	__atomic_store_n(&c->resolved, upto, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->settled);
	fn = c->on_resolved;
	pthread_mutex_unlock(&c->lock);
	if (fn)
		fn(upto);
}

static void *writer(void *arg)
{
	struct committer *c = arg;
	unsigned long long rows;
	unsigned row_retries;
	struct job *group;
	uint64_t upto;
	int err;

	while ((group = take_group(c, &upto))) {
		test_pause(c, group);
		rows = 0;
		row_retries = 0;
		test_in_group(true);
		err = commit_group(c, group, &rows, &row_retries);
		test_in_group(false);
		settle_group(c, group, upto, err, rows, row_retries);
		free_group(group);
	}
	return NULL;
}

/* The writer leaves every signal to the threads that wait for them. */
static int start_writer(struct committer *c)
{
	sigset_t all, was;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &was);
	rc = pthread_create(&c->thread, NULL, writer, c);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	return rc;
}

struct committer *committer_start(const struct db_store_ops *ops, void *store)
{
	struct committer *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ops = ops;
	c->store = store;
	c->tail = &c->head;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->settled, NULL);
	if (start_writer(c)) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

void committer_stop(struct committer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->settled);
	pthread_mutex_destroy(&c->lock);
	free(c->fences);
	free(c);
}
