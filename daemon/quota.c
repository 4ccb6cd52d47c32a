// SPDX-License-Identifier: MIT
/*
 * quota.c - what one user may hold and do (--auth on, admins exempt):
 * sessions owned, bytes stored (journal and snapshot rows), and operations
 * per second through a token bucket.  The limit of a kind is the user's
 * own (set by the operator), else the highest default of the user's
 * classes, at most the operator's ceiling (--quota-sessions,
 * --quota-stored-bytes, --quota-ops-rate), else that ceiling; 0 is none.
 *
 * The bucket may go into debt: a batch is let in while the bucket is not
 * empty and then charged whole, so that a batch larger than a second's
 * worth is slowed, never refused for ever; Retry-After says when the debt
 * is paid.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "rmapd.h"

#define BUCKETS		4096	/* users with a bucket at once; bounded */
#define BURST_SECONDS	10	/* a full bucket holds this long's ops */
#define LIMIT_TTL_MS	5000	/* a limit is read from the database again */

#define USE_WINDOW_MS	10000	/* ops a second are counted over this */

struct bucket {
	long user;
	double tokens;
	int64_t last_ms;	/* tokens as of then */
	long rate;		/* ops per second, 0: none */
	int64_t rate_ms;	/* when rate was read */
	int64_t win_ms;		/* the ops counted since then, */
	unsigned long win_ops, prev_ops;	/* and in the window before */
};

static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[BUCKETS];

/*
 * A user's stored bytes, read from the database at most every
 * LIMIT_TTL_MS and raised by what this daemon stored since: never below
 * what the ops accepted hold, and what a rewind or a delete frees shows
 * within the TTL.
 */
struct stored {
	long user;
	long bytes;
	int64_t read_ms;
	long limit;		/* stored_bytes, read again as a bucket's rate */
	int64_t limit_ms;
};

static struct stored stored[BUCKETS];

#define MAX_CLASSES	64	/* a user's classes whose defaults count */

struct class_ids {
	long id[MAX_CLASSES];
	size_t n;
};

static void add_class_id(const struct db_membership *m, void *arg)
{
	struct class_ids *c = arg;

	if (c->n < MAX_CLASSES)
		c->id[c->n++] = m->class_id;
}

/*
 * The classes are gathered first and their defaults read after: a query
 * inside another's iteration would hold two readers at once, and enough
 * threads doing so take every reader and wait for ever.
 */
long quota_limit(long user, const char *kind, unsigned long ceiling)
{
	struct class_ids c = { .n = 0 };
	long v, max = 0;
	bool any = false;
	size_t i;

	if (!db_quota_get(g_db, user, 0, kind, &v))
		return v;
	db_memberships(g_db, user, add_class_id, &c);
	for (i = 0; i < c.n; i++) {
		if (db_quota_get(g_db, 0, c.id[i], kind, &v))
			continue;
		if (!any || v > max)
			max = v;
		any = true;
	}
	if (any && (!ceiling || (unsigned long)max <= ceiling))
		return max;
	return (long)ceiling;
}

static bool exempt(const struct caller *who)
{
	return !g_cfg->auth || who->admin || !who->user;
}

struct owned {
	long user;
	long n;
};

static void count_owned(const struct session *s, void *arg)
{
	struct owned *o = arg;

	if (s->owner == o->user)
		o->n++;
}

long quota_sessions_used(long user)
{
	struct owned o = { user, 0 };

	sessions_each(count_owned, &o);
	return o.n;
}

bool quota_refuse_session(const struct caller *who, struct reply *rep)
{
	long limit, used;

	if (exempt(who))
		return false;
	limit = quota_limit(who->user, "sessions", g_cfg->quota_sessions);
	if (!limit)
		return false;
	used = quota_sessions_used(who->user);
	if (used < limit)
		return false;
	rep->retry_after = 60;
	reply_problem(rep, 429, "quota-exceeded", "", "you own %ld sessions, "
		      "your quota: delete one to make another", used);
	return true;
}

/* the user's bucket, refilled to now; under buckets_lock */
static struct bucket *bucket_of(long user, int64_t now)
{
	struct bucket *b = NULL, *old = NULL;
	size_t i, h = (size_t)user * 2654435761u;

	for (i = 0; i < 8 && !b; i++) {
		struct bucket *c = &buckets[(h + i) % BUCKETS];

		if (c->user == user)
			b = c;
		else if (!old || c->last_ms < old->last_ms)
			old = c;
	}
	if (!b) {	/* a new user, or one idle the longest: full */
		b = old;
		memset(b, 0, sizeof(*b));
		b->user = user;
		b->win_ms = now;
		b->rate = quota_limit(user, "ops_rate", g_cfg->quota_ops_rate);
		b->rate_ms = b->last_ms = now;
		b->tokens = (double)b->rate * BURST_SECONDS;
	}
	if (now - b->rate_ms > LIMIT_TTL_MS) {
		b->rate = quota_limit(user, "ops_rate", g_cfg->quota_ops_rate);
		b->rate_ms = now;
	}
	b->tokens += (double)(now - b->last_ms) * (double)b->rate / 1000.0;
	if (b->tokens > (double)b->rate * BURST_SECONDS)
		b->tokens = (double)b->rate * BURST_SECONDS;
	b->last_ms = now;
	return b;
}

bool quota_refuse_ops(const struct caller *who, struct reply *rep)
{
	struct bucket *b;
	double debt = 0;
	long rate;

	if (exempt(who))
		return false;
	pthread_mutex_lock(&buckets_lock);
	b = bucket_of(who->user, monotonic_ms());
	rate = b->rate;
	if (rate && b->tokens <= 0)
		debt = 1 - b->tokens;
	pthread_mutex_unlock(&buckets_lock);
	if (!debt)
		return false;
	rep->retry_after = (unsigned int)(debt / (double)rate) + 1;
	reply_problem(rep, 429, "quota-exceeded", "", "at most %ld operations "
		      "a second (a burst of %d s); try again in %u s", rate,
		      BURST_SECONDS, rep->retry_after);
	return true;
}

/* the use window of b rolled to now */
static void roll_window(struct bucket *b, int64_t now)
{
	if (now - b->win_ms < USE_WINDOW_MS)
		return;
	b->prev_ops = now - b->win_ms < 2 * USE_WINDOW_MS ? b->win_ops : 0;
	b->win_ops = 0;
	b->win_ms = now;
}

/* under buckets_lock: the user's entry, or NULL */
static struct stored *stored_of(long user, bool make)
{
	struct stored *e, *old = NULL;
	size_t i, h = (size_t)user * 2654435761u;

	for (i = 0; i < 8; i++) {
		e = &stored[(h + i) % BUCKETS];
		if (e->user == user)
			return e;
		if (!old || e->read_ms < old->read_ms)
			old = e;
	}
	if (!make)
		return NULL;
	old->user = user;
	old->read_ms = old->limit_ms = -LIMIT_TTL_MS - 1;
	return old;
}

/* the user's stored_bytes limit, read at most every LIMIT_TTL_MS */
static long stored_limit(long user)
{
	int64_t now = monotonic_ms();
	struct stored *e;
	long limit;

	pthread_mutex_lock(&buckets_lock);
	e = stored_of(user, true);
	limit = e->limit;
	if (now - e->limit_ms <= LIMIT_TTL_MS) {
		pthread_mutex_unlock(&buckets_lock);
		return limit;
	}
	pthread_mutex_unlock(&buckets_lock);
	limit = quota_limit(user, "stored_bytes", g_cfg->quota_stored_bytes);
	pthread_mutex_lock(&buckets_lock);
	e = stored_of(user, true);
	e->limit = limit;
	e->limit_ms = now;
	pthread_mutex_unlock(&buckets_lock);
	return limit;
}

long quota_stored_used(long user)
{
	int64_t now = monotonic_ms();
	struct stored *e;
	long bytes = 0;

	pthread_mutex_lock(&buckets_lock);
	e = stored_of(user, true);
	if (now - e->read_ms <= LIMIT_TTL_MS) {
		bytes = e->bytes;
		pthread_mutex_unlock(&buckets_lock);
		return bytes;
	}
	pthread_mutex_unlock(&buckets_lock);
	/* read outside the lock: a database read must not hold every user */
	if (db_user_stored_bytes(g_db, user, &bytes))
		return 0;
	pthread_mutex_lock(&buckets_lock);
	e = stored_of(user, true);
	e->bytes = bytes;
	e->read_ms = now;
	pthread_mutex_unlock(&buckets_lock);
	return bytes;
}

bool quota_refuse_stored(const struct caller *who, struct reply *rep)
{
	long limit, used;

	if (exempt(who))
		return false;
	limit = stored_limit(who->user);
	if (!limit)
		return false;
	used = quota_stored_used(who->user);
	if (used < limit)
		return false;
	rep->retry_after = 60;
	reply_problem(rep, 429, "quota-exceeded", "", "your sessions store %ld "
		      "bytes of ops and snapshots, your quota is %ld: delete or "
		      "rewind one to go on", used, limit);
	return true;
}

void quota_charge(const struct caller *who, unsigned long n, size_t bytes)
{
	int64_t now = monotonic_ms();
	struct stored *e;
	struct bucket *b;

	if (exempt(who) || (!n && !bytes))
		return;
	pthread_mutex_lock(&buckets_lock);
	b = bucket_of(who->user, now);
	roll_window(b, now);
	b->win_ops += n;
	if (b->rate)
		b->tokens -= (double)n;
	e = stored_of(who->user, false);
	if (e)
		e->bytes += (long)bytes;
	pthread_mutex_unlock(&buckets_lock);
}

double quota_ops_recent(long user)
{
	int64_t now = monotonic_ms();
	double ops = 0, part;
	size_t i, h = (size_t)user * 2654435761u;

	pthread_mutex_lock(&buckets_lock);
	for (i = 0; i < 8; i++) {
		struct bucket *b = &buckets[(h + i) % BUCKETS];

		if (b->user != user)
			continue;
		roll_window(b, now);
		/* the window before counts for the part not yet covered */
		part = 1 - (double)(now - b->win_ms) / USE_WINDOW_MS;
		ops = (double)b->win_ops + part * (double)b->prev_ops;
		break;
	}
	pthread_mutex_unlock(&buckets_lock);
	return ops * 1000.0 / USE_WINDOW_MS;
}

#define TOUCH_EVERY_S	60	/* the database's last_activity, at most */

void quota_touch(struct session *s)
{
	long now = (long)time(NULL);

	__atomic_store_n(&s->last_activity, now, __ATOMIC_RELAXED);
	if (now - s->activity_stored < TOUCH_EVERY_S)
		return;
	if (!db_session_touch(g_db, s->id, now))
		s->activity_stored = now;
}

void quota_forget(void)
{
	pthread_mutex_lock(&buckets_lock);
	memset(buckets, 0, sizeof(buckets));
	memset(stored, 0, sizeof(stored));
	pthread_mutex_unlock(&buckets_lock);
}
