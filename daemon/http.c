// SPDX-License-Identifier: MIT
/*
 * http.c - libmicrohttpd glue: collect the body (bounded), hand the request
 * to route(), send the reply, log one line and count it in the metrics.
 * Event streams are answered by a reader that waits for the session's next
 * version, sends it, and ends (EventSource reconnects after "retry").
 * Stopping is graceful: no new connections, streams end, requests in
 * flight get their answers (for up to STOP_WAIT_MS), then MHD stops.
 *
 * An answer that waits for its group commit does not hold a worker: its
 * connection is suspended with the answer kept in its context, and the
 * writer thread resumes it once the commit is settled (commit_settled()),
 * so a handful of workers keep every connection's op in the next group.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "rmapd.h"

struct conn_ctx {
	char *body;
	size_t len, cap;
	bool too_large;
	struct reply refusal;	/* status set: guard_admit() answered */
	struct timespec start;
	/* suspended until its commit is settled: the answer it waits with */
	struct reply held;
	const char *held_route;
	bool holding;
	int hold;		/* atomic: enum hold, between it and the writer */
	struct MHD_Connection *conn;
	struct conn_ctx *next_waiter;
};

/*
 * A held answer's hand-off between the worker that suspends it and the
 * writer that settles its commit, without a lock held across either's
 * call into libmicrohttpd: whichever of the two comes second resumes it.
 */
enum hold {
	HOLD_WAITING = 1,	/* on the list, being suspended */
	HOLD_SUSPENDED,		/* suspended: the writer resumes it */
	HOLD_SETTLED,		/* settled first: the worker resumes it */
};

#define STOP_WAIT_MS	10000
#define IDLE_TIMEOUT_S	30u

static unsigned long nr_streams;
static unsigned long nr_requests;	/* from their headers to completed() */
static bool stopping;

static double since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static const char *query(void *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/*
 * An event stream never blocks a worker: while nothing has changed its
 * connection is suspended (out of MHD's event loop) and the change, or a
 * 20-second deadline, resumes it.
 */
struct stream {
	struct MHD_Connection *conn;
	long session;
	long version;		/* the client knows up to this one */
	long cuts;		/* of that history */
	bool cuts_given;	/* by the client; else the session's at first */
	long target;		/* emitting: up to this version, of cuts */
	long target_cuts;
	long emitted;
	time_t deadline;
	int state;		/* 0: retry hint, 1: waiting, 3: emitting, 2: done */
	bool waiting;		/* suspended */
	bool notified;		/* the session moved */
	bool gone;		/* the client hung up while it waited */
	bool stepped;		/* a live lesson moved: step, walk, live */
	bool live;
	long step;		/* -1: none named */
	struct db_live_walk walk;	/* kind "": none */
	struct stream *next;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
/* a live lesson that shows no walk */
static const struct db_live_walk no_walk = { "", -1, -1 };
static struct stream *streams;

static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_ctx *waiters;

/*
 * From the writer thread: resume the answers whose commit is settled.  They
 * are taken off the list under waiters_lock and resumed after it: each
 * resume takes libmicrohttpd's own lock and wakes a worker, and the workers
 * that suspend answers meanwhile need waiters_lock.  One whose worker has
 * not finished suspending it yet is left to that worker (enum hold).
 */
static void commit_settled(uint64_t upto)
{
	struct conn_ctx **pp = &waiters, *w, *ready = NULL;

	pthread_mutex_lock(&waiters_lock);
	while ((w = *pp)) {
		if (w->held.wait_ticket <= upto) {
			*pp = w->next_waiter;
			w->next_waiter = ready;
			ready = w;
		} else {
			pp = &w->next_waiter;
		}
	}
	pthread_mutex_unlock(&waiters_lock);
	while ((w = ready)) {
		ready = w->next_waiter;
		/* w may be gone as soon as its worker sees it settled */
		if (__atomic_exchange_n(&w->hold, HOLD_SETTLED,
					__ATOMIC_ACQ_REL) == HOLD_SUSPENDED)
			MHD_resume_connection(w->conn);
	}
}

/*
 * Keep rep in ctx and suspend the connection until its commit is settled;
 * false if it already is (answer now).  The check and the listing are one
 * step under waiters_lock, which commit_settled() takes after the tickets
 * are marked settled, so no settlement is missed; the suspension comes
 * after the lock (it may be a system call), and if the writer settled the
 * answer meanwhile, this worker resumes it itself.
 */
static bool hold_for_commit(struct conn_ctx *ctx, struct MHD_Connection *conn,
			    struct reply *rep)
{
	int expect = HOLD_WAITING;

	pthread_mutex_lock(&waiters_lock);
	if (db_resolved(g_db, rep->wait_ticket)) {
		pthread_mutex_unlock(&waiters_lock);
		return false;
	}
	ctx->held = *rep;
	ctx->holding = true;
	ctx->conn = conn;
	__atomic_store_n(&ctx->hold, HOLD_WAITING, __ATOMIC_RELAXED);
	ctx->next_waiter = waiters;
	waiters = ctx;
	pthread_mutex_unlock(&waiters_lock);
	db_test_hold_listed(g_db, ctx->held.wait_ticket);
	MHD_suspend_connection(conn);
	if (!__atomic_compare_exchange_n(&ctx->hold, &expect, HOLD_SUSPENDED,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		MHD_resume_connection(conn);
	return true;
}

static void stream_resume(struct stream *st)
{
	if (st->waiting) {
		st->waiting = false;
		MHD_resume_connection(st->conn);
	}
}

/* Called with the session's lock held whenever its version changes. */
void streams_notify(long session)
{
	struct stream *st;

	pthread_mutex_lock(&streams_lock);
	for (st = streams; st; st = st->next)
		if (st->session == session) {
			st->notified = true;
			stream_resume(st);
		}
	pthread_mutex_unlock(&streams_lock);
}

/*
 * A class's live lesson on session moved to step (or stopped): its
 * followers' streams say so, so that they follow the step as well as the
 * state.  Under streams_lock, as streams_notify().
 */
static void wake_live(long session, long step, const struct db_live_walk *walk,
		      bool live)
{
	struct stream *st;

	pthread_mutex_lock(&streams_lock);
	for (st = streams; st; st = st->next)
		if (st->session == session) {
			st->stepped = true;
			st->step = step;
			st->walk = walk ? *walk : no_walk;
			st->live = live;
			st->notified = true;
			stream_resume(st);
		}
	pthread_mutex_unlock(&streams_lock);
}

/*
 * A suspended connection is out of MHD's event loop: nothing would notice
 * its client hanging up before the deadline, and its stream slot would stay
 * taken until then.  Peek at the socket instead.
 */
static bool peer_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	ssize_t n;
	char c;

	if (!info)
		return false;
	n = recv(info->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}

#define POLL_MAX	256	/* sessions a poll looks at, per second */
#define LIVE_SEEN	1024	/* live lessons the poll remembers */

/*
 * Shared database: what the poll last read of a session's live lesson,
 * so that a step or walk set through another node wakes the streams here
 * (a change made here wakes them at once, and is noted here too).  Under
 * streams_lock; the least recently polled go first.
 * live_lock orders each read of the database with what it stores, so
 * that a poll that read earlier never stores (and tells) after one that
 * read later: the timer's poll and another node's notice run at once.
 */
struct live_seen {
	long session;		/* 0: a free slot */
	uint64_t stamp;
	bool live;
	long step;
	struct db_live_walk walk;
};

static struct live_seen live_seen[LIVE_SEEN];
static uint64_t live_stamp;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static struct live_seen *live_slot(long session, bool take)
{
	struct live_seen *old = &live_seen[0];
	size_t i;

	for (i = 0; i < LIVE_SEEN; i++) {
		if (live_seen[i].session == session)
			return &live_seen[i];
		if (live_seen[i].stamp < old->stamp)
			old = &live_seen[i];
	}
	if (!take)
		return NULL;
	*old = (struct live_seen){ .session = session };
	return old;
}

static bool live_read(long session, struct live_seen *now)
{
	int rc = db_session_live(g_db, session, &now->step, &now->walk);

	if (rc < 0)
		return false;
	now->session = session;
	now->live = rc == 0;
	if (!now->live) {
		now->step = -1;
		now->walk = no_walk;
	}
	return true;
}

static bool live_same(const struct live_seen *a, const struct live_seen *b)
{
	return a->live == b->live && a->step == b->step &&
	       a->walk.pfn == b->walk.pfn && a->walk.step == b->walk.step &&
	       !strcmp(a->walk.kind, b->walk.kind);
}

/* a stream begins: what its session's lesson shows now, if not known */
static void live_baseline(long session)
{
	struct live_seen now;
	bool known;

	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&streams_lock);
	known = live_slot(session, false) != NULL;
	pthread_mutex_unlock(&streams_lock);
	if (!known && live_read(session, &now)) {
		pthread_mutex_lock(&streams_lock);
		now.stamp = ++live_stamp;
		*live_slot(session, true) = now;
		pthread_mutex_unlock(&streams_lock);
	}
	pthread_mutex_unlock(&live_lock);
}

/* the poll: a change since it last looked wakes the streams, once */
static void live_poll(long session)
{
	struct live_seen now, *was;
	bool moved;

	pthread_mutex_lock(&live_lock);
	if (!live_read(session, &now)) {
		pthread_mutex_unlock(&live_lock);
		return;
	}
	pthread_mutex_lock(&streams_lock);
	was = live_slot(session, false);
	moved = was && !live_same(was, &now);
	now.stamp = ++live_stamp;
	*(was ? was : live_slot(session, true)) = now;
	pthread_mutex_unlock(&streams_lock);
	if (moved)
		wake_live(session, now.step, now.live ? &now.walk : NULL,
			  now.live);
	pthread_mutex_unlock(&live_lock);
}

/*
 * A change made here: the streams wake now, and the poll knows it already
 * (it would tell it again, to a stream that began after it).
 */
void streams_notify_live(long session, long step,
			 const struct db_live_walk *walk, bool live)
{

	if (g_cfg->shared_db) {
		pthread_mutex_lock(&live_lock);
		pthread_mutex_lock(&streams_lock);
		*live_slot(session, true) = (struct live_seen){
			.session = session, .stamp = ++live_stamp,
			.live = live, .step = step, .walk = walk ? *walk : no_walk };
		pthread_mutex_unlock(&streams_lock);
		pthread_mutex_unlock(&live_lock);
	}
	wake_live(session, step, walk, live);
}

/*
 * A session that streams wait on, looked at: session_get() brings it to
 * the journal's head, which notifies its streams if it moved (or if it
 * was deleted), and its live lesson is read again.
 */
static void poll_one(long id)
{
	struct session *s = session_get(id);

	if (!s) {
		streams_notify(id);
		return;
	}
	session_put(s);
	live_poll(id);
}

/*
 * Shared database: a version written through another node notifies no
 * stream here.  Once a second (and on another node's notice of "any")
 * each session that streams wait on is looked at.
 */
static void streams_poll(void)
{
	long ids[POLL_MAX];
	struct stream *st;
	size_t n = 0, i;

	pthread_mutex_lock(&streams_lock);
	for (st = streams; st && n < POLL_MAX; st = st->next) {
		for (i = 0; i < n && ids[i] != st->session; i++)
			;
		if (st->waiting && i == n)
			ids[n++] = st->session;
	}
	pthread_mutex_unlock(&streams_lock);
	for (i = 0; i < n; i++)
		poll_one(ids[i]);
}

/* whether a stream here waits on session */
static bool awaited(long session)
{
	struct stream *st;
	bool yes = false;

	pthread_mutex_lock(&streams_lock);
	for (st = streams; st && !yes; st = st->next)
		yes = st->waiting && st->session == session;
	pthread_mutex_unlock(&streams_lock);
	return yes;
}

/*
 * Another node committed a change of these sessions ("ID,ID,..."; "0":
 * of any): the streams that wait on them here look at once, rather than
 * at the next poll.
 */
static void streams_notice(const char *sessions)
{
	const char *p = sessions;
	char *end;
	long id;

	if (!strcmp(sessions, "0")) {
		streams_poll();
		return;
	}
	for (;;) {
		id = strtol(p, &end, 10);
		if (end == p)
			return;
		if (id > 0 && awaited(id))
			poll_one(id);
		if (*end != ',')
			return;
		p = end + 1;
	}
}

/*
 * Once a second: resume the streams past their deadline or whose client
 * left (all of them when stopping).
 */
void streams_expire(bool all)
{
	time_t now = time(NULL);
	struct stream *st;

	if (g_cfg->shared_db && !all)
		streams_poll();
	pthread_mutex_lock(&streams_lock);
	for (st = streams; st; st = st->next) {
		if (st->waiting && !all && now < st->deadline &&
		    peer_gone(st->conn))
			__atomic_store_n(&st->gone, true, __ATOMIC_SEQ_CST);
		if (all || now >= st->deadline || st->gone)
			stream_resume(st);
	}
	pthread_mutex_unlock(&streams_lock);
}

/* a live lesson's step as JSON: a number, or null for none named */
static const char *step_text(long step, char *buf, size_t len)
{
	if (step < 0)
		return "null";
	snprintf(buf, len, "%ld", step);
	return buf;
}

/* a live lesson's walk as JSON: null, or its kind, frame and step */
static const char *walk_text(const struct db_live_walk *w, char *buf,
			     size_t len)
{
	if (!w->kind[0])
		return "null";
	snprintf(buf, len, "{\"pfn\":%ld,\"kind\":\"%s\",\"step\":%ld}",
		 w->pfn, w->kind, w->step);
	return buf;
}

/*
 * A node behind what the client knows (its database away: an older
 * version, or fewer cuts than the client has seen through another node)
 * tells it nothing older: that is no rewind.  Without the client's cuts,
 * an older version is one (as before cuts were told).
 */
static bool stream_behind(const struct stream *st, long cuts, long version)
{
	return st->cuts_given && (cuts < st->cuts ||
				  (cuts == st->cuts && version < st->version));
}

/* versions one answer tells at most; the client asks again from there */
#define STREAM_MAX_EVENTS	1000

/*
 * The versions after the client's, one event each, as many as fit in buf;
 * each event's id is "cuts.version", what to resume from.  A cut of the
 * journal since (a rewind or a restore, here or through another node) is
 * one event at the version it left, in the new cuts: the versions of the
 * history it discarded are not told, nor those of one that another cut
 * discarded again before this stream looked.
 */
static int stream_versions(struct stream *st, char *buf, size_t max)
{
	size_t n = 0;
	int k;

	if (stream_behind(st, st->target_cuts, st->target))
		return 0;
	while (st->cuts != st->target_cuts || st->version != st->target) {
		long v = st->cuts != st->target_cuts ||
			 st->version > st->target ? st->target : st->version + 1;

		if (st->emitted == STREAM_MAX_EVENTS)
			break;
		k = snprintf(buf + n, max - n, "id: %ld.%ld\nevent: version\n"
			     "data: {\"version\":%ld}\n\n", st->target_cuts, v,
			     v);
		if (k < 0 || (size_t)k >= max - n)
			break;
		n += (size_t)k;
		st->version = v;
		st->cuts = st->target_cuts;
		st->emitted++;
	}
	return (int)n;
}

/* Waiting: whether to answer now; if so, what to tell, taken from st. */
static bool stream_ready(struct stream *st)
{
	struct session *s = session_get(st->session);
	long version = -1, cuts = -1;
	bool ready, behind;

	if (s) {
		version = session_durable(s);
		cuts = s->cuts;
		session_put(s);
	}
	pthread_mutex_lock(&streams_lock);
	if (!st->cuts_given && st->cuts < 0)
		st->cuts = cuts;
	behind = stream_behind(st, cuts, version);
	ready = !s || st->notified || time(NULL) >= st->deadline ||
		stopping || ((version != st->version || cuts != st->cuts) &&
			     !behind);
	if (!ready) {
		st->waiting = true;
		MHD_suspend_connection(st->conn);
	}
	pthread_mutex_unlock(&streams_lock);
	st->target = s ? version : -1;
	st->target_cuts = cuts;
	return ready;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct db_live_walk walk;
	long step;
	bool stepped, live;
	char num[24], walk_json[96];
	int n;

	(void)pos;
	if (st->state == 0) {
		st->state = 1;
		return snprintf(buf, max, "retry: 1000\n\n");
	}
	if (st->state == 2)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (__atomic_load_n(&st->gone, __ATOMIC_SEQ_CST))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (st->state == 1) {
		if (!stream_ready(st))
			return 0;
		st->state = 3;
		if (st->target < 0) {
			st->state = 2;
			return snprintf(buf, max, "event: deleted\ndata: {}\n\n");
		}
	}
	n = stream_versions(st, buf, max);
	if (n)
		return n;
	st->state = 2;
	pthread_mutex_lock(&streams_lock);
	stepped = st->stepped;
	step = st->step;
	walk = st->walk;
	live = st->live;
	pthread_mutex_unlock(&streams_lock);
	/* a client that knows no live event still learns of the version */
	if (stepped)
		return snprintf(buf, max, "event: live\ndata: {"
				"\"version\":%ld,\"step\":%s,\"live\":%s,"
				"\"walk\":%s}\n\n", st->version,
				step_text(step, num, sizeof(num)),
				live ? "true" : "false",
				walk_text(&walk, walk_json, sizeof(walk_json)));
	if (st->emitted)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return snprintf(buf, max, ": keep-alive\n\n");
}

static void stream_free(void *cls)
{
	struct stream *st = cls, **pp;

	pthread_mutex_lock(&streams_lock);
	for (pp = &streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&streams_lock);
	free(st);
	__atomic_sub_fetch(&nr_streams, 1, __ATOMIC_SEQ_CST);
}

static void add_auth_headers(struct MHD_Response *r, const struct reply *rep)
{
	char n[16];

	if (rep->cookie[0])
		MHD_add_response_header(r, "Set-Cookie", rep->cookie);
	if (rep->challenge)
		MHD_add_response_header(r, "WWW-Authenticate",
					"Bearer realm=\"rmapd\"");
	if (rep->retry_after) {
		snprintf(n, sizeof(n), "%u", rep->retry_after);
		MHD_add_response_header(r, "Retry-After", n);
	}
}

static struct MHD_Response *make_response(struct reply *rep,
					  struct MHD_Connection *conn)
{
	struct MHD_Response *r;

	if (rep->ctype && !strcmp(rep->ctype, "text/event-stream") &&
	    rep->stream_session) {
		struct stream *st;

		if (__atomic_add_fetch(&nr_streams, 1, __ATOMIC_SEQ_CST) >
		    g_cfg->max_sse) {
			__atomic_sub_fetch(&nr_streams, 1, __ATOMIC_SEQ_CST);
			reply_problem(rep, 503, "too-many-streams", "",
				      "at most %lu event streams at once; poll "
				      "the session instead", g_cfg->max_sse);
			return make_response(rep, conn);
		}
		st = calloc(1, sizeof(*st));
		if (!st) {
			__atomic_sub_fetch(&nr_streams, 1, __ATOMIC_SEQ_CST);
			return NULL;
		}
		st->conn = conn;
		st->session = rep->stream_session;
		st->version = rep->stream_version;
		st->cuts = rep->stream_cuts;
		st->cuts_given = rep->stream_cuts >= 0;
		st->deadline = time(NULL) + 20;
		if (g_cfg->shared_db)
			live_baseline(st->session);
		pthread_mutex_lock(&streams_lock);
		st->next = streams;
		streams = st;
		pthread_mutex_unlock(&streams_lock);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024,
						      stream_read, st,
						      stream_free);
		if (r)
			MHD_add_response_header(r, "Cache-Control", "no-cache");
	} else if (rep->recycle) {
		r = MHD_create_response_from_buffer_with_free_callback(
			rep->len, rep->body, bufs_put);
		rep->body = NULL;
	} else {
		r = MHD_create_response_from_buffer(rep->len, rep->body,
						    MHD_RESPMEM_MUST_FREE);
		rep->body = NULL;
	}
	if (!r)
		return NULL;
	if (rep->ctype)
		MHD_add_response_header(r, "Content-Type", rep->ctype);
	if (rep->location[0])
		MHD_add_response_header(r, "Location", rep->location);
	if (rep->allow[0])
		MHD_add_response_header(r, "Allow", rep->allow);
	add_auth_headers(r, rep);
	if (rep->ctype && !strncmp(rep->ctype, "text/html", 9))
		MHD_add_response_header(r, "Cache-Control", "no-cache");
	if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) ||
	    conns_closing_fd(conn) >= 0)
		MHD_add_response_header(r, "Connection", "close");
	guard_headers(g_cfg, r, conn);
	return r;
}

/* the guard's view of a request head, from libmicrohttpd */
static const char *mhd_header(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

struct each_call {
	void (*fn)(const char *key, const char *value, void *arg);
	void *arg;
};

static enum MHD_Result each_one(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct each_call *c = cls;

	(void)kind;
	c->fn(key, value, c->arg);
	return MHD_YES;
}

static int mhd_each(void *conn, bool query,
		    void (*fn)(const char *key, const char *value, void *arg),
		    void *arg)
{
	struct each_call c = { fn, arg };

	return MHD_get_connection_values(conn, query ? MHD_GET_ARGUMENT_KIND :
					 MHD_HEADER_KIND, each_one, &c);
}

/* the client's address as text, for per-address limits; true: a proxy's */
static bool peer_name(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return proxy_client(info ? info->client_addr : NULL, mhd_header, conn,
			    out, len);
}

static void build_reply(struct conn_ctx *ctx, const struct request *req,
			struct reply *rep, const char **route_name)
{
	if (ctx->refusal.status) {
		*rep = ctx->refusal;
		ctx->refusal.body = NULL;
	} else if (ctx->too_large) {
		reply_problem(rep, 413, "body-too-large", "", "the body is "
			      "larger than %lu bytes", g_cfg->max_body);
	} else {
		route(g_cfg, req, rep, route_name);
	}
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct conn_ctx *ctx = *con_cls;
	struct reply rep = { 0 };
	struct request req;
	struct caller who;
	char peer[64];
	bool proxied;
	struct request_head head;
	struct MHD_Response *r;
	const char *route_name = "none";
	enum MHD_Result ret;
	double took;

	(void)cls;
	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		*con_cls = ctx;
		__atomic_add_fetch(&nr_requests, 1, __ATOMIC_SEQ_CST);
		/* refused from its head: its body is never kept */
		head = (struct request_head){ .version = version,
			.header = mhd_header, .each = mhd_each, .conn = conn };
		guard_admit(g_cfg, method, url, &head, &ctx->refusal);
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (ctx->refusal.status) {
			/* refused already: read and dropped */
		} else if (ctx->too_large || ctx->len + n > g_cfg->max_body) {
			ctx->too_large = true;
		} else {
			if (ctx->len + n + 1 > ctx->cap) {
				size_t cap = (ctx->len + n + 1) * 2;
				char *p;

				if (cap > g_cfg->max_body + 1)
					cap = g_cfg->max_body + 1;
				p = realloc(ctx->body, cap);
				if (!p)
					return MHD_NO;
				ctx->body = p;
				ctx->cap = cap;
			}
			memcpy(ctx->body + ctx->len, upload, n);
			ctx->len += n;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* HEAD is GET without the body, which libmicrohttpd drops */
	proxied = peer_name(conn, peer, sizeof(peer));
	req = (struct request){ .method = strcmp(method, "HEAD") ? method : "GET",
				.path = url, .body = ctx->body,
				.body_len = ctx->len, .query = query,
				.conn = conn, .header = mhd_header,
				.peer = proxied ? peer : conns_peer_name(conn),
				.who = &who };
	if (ctx->holding) {
		/* resumed: its commit is settled */
		rep = ctx->held;
		route_name = ctx->held_route;
		ctx->holding = false;
		ctx->held.body = NULL;
	} else {
		conns_request_received(conn);
		build_reply(ctx, &req, &rep, &route_name);
		if (rep.wait_ticket && !g_cfg->commit_block) {
			ctx->held_route = route_name;
			if (hold_for_commit(ctx, conn, &rep))
				return MHD_YES;
		}
	}
	if (rep.wait_ticket)
		route_committed(g_cfg, &req, &rep, &route_name);
	if (!rep.status)
		reply_problem(&rep, 500, "internal", "", "no answer was built");
	r = make_response(&rep, conn);
	if (!r) {
		free(rep.body);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, (unsigned int)rep.status, r);
	MHD_destroy_response(r);
	took = since(&ctx->start);
	metrics_request(route_name, method, rep.status, took);
	log_request(method, url, rep.status, (long)(took * 1e6 + 0.5),
		    proxied ? peer : NULL);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	(void)cls;
	(void)toe;
	conns_request_done(conn);
	/* it sent more than this request: closing now, unread, would reset */
	if (conns_closing_fd(conn) >= 0)
		front_linger(conns_closing_fd(conn));
	if (!ctx)
		return;
	free(ctx->body);
	free(ctx->refusal.body);
	free(ctx->held.body);
	free(ctx);
	*con_cls = NULL;
	__atomic_sub_fetch(&nr_requests, 1, __ATOMIC_SEQ_CST);
}

/*
 * libmicrohttpd's own messages, through log_msg like every other line.
 * Each refused connection is one of them, so they are rate-limited, each
 * format string being one kind of message.
 */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_limited(fmt, LOG_WARNING, "libmicrohttpd: %s", msg);
}

/*
 * The logger comes first: MHD reports what goes wrong with the options
 * after it through the logger set so far.  MHD has no listening socket:
 * the front door accepts, checks each connection's first request head and
 * hands it over (MHD_add_connection spreads them over the pool's workers),
 * after conns.c has applied the connection limits; conns.c also cuts a
 * connection that has not sent a whole request in request_timeout
 * seconds, however slowly it trickles.
 */
struct MHD_Daemon *http_start(const struct config *cfg, int listen_fd)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
			     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	struct MHD_Daemon *d;

	db_on_resolved(g_db, commit_settled);
	/* other nodes' commits wake the streams here (PostgreSQL) */
	if (cfg->shared_db && db_listen(g_db, streams_notice))
		log_msg(LOG_WARNING, "cannot listen for other nodes' commits: "
			"event streams hear of them once a second");
	d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_UNESCAPE_CALLBACK, guard_unescape, NULL,
			     MHD_OPTION_NOTIFY_CONNECTION, conns_notify, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
			     MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)cfg->max_conns,
			     MHD_OPTION_END);
	if (d && front_start(d, listen_fd)) {
		MHD_stop_daemon(d);
		return NULL;
	}
	return d;
}

bool http_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

/* Stop accepting, let the requests in flight finish (bounded), then stop. */
void http_stop(struct MHD_Daemon *d)
{
	unsigned long left;
	int waited;

	front_stop();
	pthread_mutex_lock(&streams_lock);
	__atomic_store_n(&stopping, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&streams_lock);
	streams_expire(true);
	db_listen_stop(g_db);
	for (waited = 0; waited < STOP_WAIT_MS; waited += 10) {
		left = __atomic_load_n(&nr_requests, __ATOMIC_SEQ_CST);
		if (!left)
			break;
		usleep(10000);
	}
	if (left)
		log_msg(LOG_WARNING, "%lu requests still running after %d ms; "
			"cutting them off", left, STOP_WAIT_MS);
	MHD_stop_daemon(d);
	log_limited_flush(true);
}
