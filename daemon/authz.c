// SPDX-License-Identifier: MIT
/*
 * authz.c - who is asking, and the one table of who may ask what.  Every
 * request passes authz_gate() before route(): it finds the caller (an API
 * token, a browser's login cookie, a share link), the rule of the route,
 * and answers 401, 403 or 404 itself, so no handler decides by itself.
 *
 * A session the caller may not read is 404 with the very answer a session
 * that does not exist gets, so ids cannot be probed; a session they may
 * read but not change is 403.  With --auth off (the default on loopback)
 * everyone may do everything, as before there were users.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "rmapd.h"

/* what a route asks of its caller */
enum need {
	NEED_NOTHING,		/* anyone, no account */
	NEED_USER,		/* an account (any scope but scrape) */
	NEED_WRITER,		/* an account with the write scope */
	NEED_METRICS,		/* an admin, or a scrape token */
	NEED_MEMBER,		/* a member of class {class}, or an admin */
	NEED_CLASS,		/* the same, and to anyone else it is not there */
	NEED_STAFF,		/* an instructor or TA of {class}, or an admin */
	NEED_INSTRUCTOR,	/* an instructor of class {class}, or an admin */
	NEED_READ,		/* may read session {id}, at a pinned step too */
	NEED_READ_LATEST,	/* may read session {id} as it is now */
	NEED_CLONE,		/* may read it now, and write (the copy is theirs) */
	NEED_OWNER,		/* its owner or an admin, with the write scope */
};

/*
 * The role table: README.md ("Who may do what") says the same in words,
 * and tests/api/test_auth.py checks every route of api/openapi.json
 * against it for every kind of caller.
 */
/* what a route counts against the caller's quota (quota.c) */
/* a new session (its ops too); ops; a snapshot */
enum charge { Q_NONE, Q_SESSION, Q_OPS, Q_STORED };

static const struct rule {
	const char *method, *path;
	enum need need;
	enum charge charge;
} rules[] = {
	{ "GET", "/healthz", NEED_NOTHING, Q_NONE },
	{ "GET", "/readyz", NEED_NOTHING, Q_NONE },
	{ "GET", "/metrics", NEED_METRICS, Q_NONE },
	{ "POST", "/api/v1/login", NEED_NOTHING, Q_NONE },
	{ "POST", "/api/v1/logout", NEED_NOTHING, Q_NONE },
	{ "GET", "/api/v1/me", NEED_USER, Q_NONE },
	{ "POST", "/api/v1/join", NEED_WRITER, Q_NONE },
	{ "GET", "/api/v1/classes", NEED_USER, Q_NONE },
	{ "GET", "/api/v1/classes/{class}", NEED_CLASS, Q_NONE },
	{ "GET", "/api/v1/classes/{class}/members", NEED_STAFF, Q_NONE },
	{ "POST", "/api/v1/classes/{class}/lessons", NEED_STAFF, Q_NONE },
	{ "DELETE", "/api/v1/classes/{class}/lessons/{session}", NEED_STAFF, Q_NONE },
	{ "PUT", "/api/v1/classes/{class}/quotas", NEED_INSTRUCTOR, Q_NONE },
	{ "POST", "/api/v1/classes/{class}/codes", NEED_INSTRUCTOR, Q_NONE },
	{ "DELETE", "/api/v1/classes/{class}/codes/{code}", NEED_INSTRUCTOR, Q_NONE },
	{ "GET", "/api/v1/classes/{class}/live", NEED_MEMBER, Q_NONE },
	{ "POST", "/api/v1/classes/{class}/live", NEED_INSTRUCTOR, Q_NONE },
	{ "DELETE", "/api/v1/classes/{class}/live", NEED_INSTRUCTOR, Q_NONE },
	{ "GET", "/api/v1/openapi.json", NEED_USER, Q_NONE },
	{ "GET", "/api/v1/scenarios", NEED_USER, Q_NONE },
	{ "GET", "/api/v1/scenarios/{name}", NEED_USER, Q_NONE },
	{ "GET", "/api/v1/sessions", NEED_USER, Q_NONE },
	{ "POST", "/api/v1/sessions", NEED_WRITER, Q_SESSION },
	{ "GET", "/api/v1/sessions/{id}", NEED_READ, Q_NONE },
	{ "DELETE", "/api/v1/sessions/{id}", NEED_OWNER, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/ops", NEED_READ, Q_NONE },
	{ "POST", "/api/v1/sessions/{id}/ops", NEED_OWNER, Q_OPS },
	{ "POST", "/api/v1/sessions/{id}/rewind", NEED_OWNER, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/frames/{pfn}/walk", NEED_READ, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/check", NEED_READ, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/graph.dot", NEED_READ, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/events", NEED_READ_LATEST, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/snapshots", NEED_READ_LATEST, Q_NONE },
	{ "POST", "/api/v1/sessions/{id}/snapshots", NEED_OWNER, Q_STORED },
	{ "POST", "/api/v1/sessions/{id}/snapshots/{name}/restore", NEED_OWNER, Q_NONE },
	{ "POST", "/api/v1/sessions/{id}/snapshots/{name}/clone", NEED_CLONE, Q_SESSION },
	{ "POST", "/api/v1/sessions/{id}/visibility", NEED_OWNER, Q_NONE },
	{ "GET", "/api/v1/sessions/{id}/shares", NEED_OWNER, Q_NONE },
	{ "POST", "/api/v1/sessions/{id}/shares", NEED_OWNER, Q_NONE },
	{ "DELETE", "/api/v1/sessions/{id}/shares/{share}", NEED_OWNER, Q_NONE },
};

#define MAX_SEGS	8

static int split_path(char *path, char **seg)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (n < MAX_SEGS + 1)
			seg[n++] = t;
	return n;
}

/*
 * Whether path fits the rule's template; *id gets the segment of its first
 * parameter ({id} of a session, {class} of a class).
 */
static bool path_fits(const char *tmpl, char **seg, int n, const char **id)
{
	char buf[128], *t[MAX_SEGS + 1];
	int m, i;

	snprintf(buf, sizeof(buf), "%s", tmpl);
	m = split_path(buf, t);
	if (m != n)
		return false;
	*id = NULL;
	for (i = 0; i < n; i++) {
		if (t[i][0] == '{') {
			if (!*id)
				*id = seg[i];
			continue;
		}
		if (strcmp(t[i], seg[i]))
			return false;
	}
	return true;
}

/*
 * The rule for the request; a method or path the table does not name
 * (405 or 404 further on) needs what its place needs: a session's path
 * that it may read, any other API path an account, the rest nothing.
 */
static enum need need_of(const struct request *req, char **seg, int n,
			 const char **id, enum charge *charge)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(req->method, rules[i].method) &&
		    path_fits(rules[i].path, seg, n, id)) {
			*charge = rules[i].charge;
			return rules[i].need;
		}
	*id = NULL;
	*charge = Q_NONE;
	if (n >= 4 && !strcmp(seg[0], "api") && !strcmp(seg[2], "sessions")) {
		*id = seg[3];
		return NEED_READ;
	}
	if (n >= 1 && !strcmp(seg[0], "api"))
		return NEED_USER;
	if (n == 1 && !strcmp(seg[0], "metrics"))
		return NEED_METRICS;
	return NEED_NOTHING;
}

/* ---- finding the caller ---- */

static const char *header(const struct request *req, const char *name)
{
	return req->header ? req->header(req->conn, name) : NULL;
}

/*
 * Tokens and logins verified lately, each with the credentials' epoch it
 * was verified under (db_auth_epoch): any revocation, by this daemon or
 * by the CLI in another process, changes the epoch, and the next request
 * verifies again.  Expiry is judged on each use.  Direct-mapped by the
 * hash (uniform, a BLAKE2b): a collision costs one more query.
 */
#define CRED_SLOTS	1024

struct cred {
	unsigned char hash[AUTH_HASH_LEN];
	long epoch;		/* -1: empty */
	struct db_token t;
	struct db_user u;
};

static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cred creds[CRED_SLOTS];
static bool creds_ready;

static struct cred *cred_slot(const unsigned char *hash)
{
	unsigned int i;

	if (!creds_ready) {
		for (i = 0; i < CRED_SLOTS; i++)
			creds[i].epoch = -1;
		creds_ready = true;
	}
	i = (unsigned int)hash[0] | (unsigned int)hash[1] << 8;
	return &creds[i % CRED_SLOTS];
}

/* the token of hash and its user: 0, or what db_token_user says */
static int token_lookup(const unsigned char *hash, long epoch,
			struct db_token *t, struct db_user *u)
{
	struct cred *c;
	int rc;

	pthread_mutex_lock(&creds_lock);
	c = cred_slot(hash);
	if (epoch >= 0 && c->epoch == epoch &&
	    !memcmp(c->hash, hash, AUTH_HASH_LEN)) {
		*t = c->t;
		*u = c->u;
		pthread_mutex_unlock(&creds_lock);
		return 0;
	}
	pthread_mutex_unlock(&creds_lock);
	rc = db_token_user(g_db, hash, t, u);
	if (rc || epoch < 0)
		return rc;
	pthread_mutex_lock(&creds_lock);
	c = cred_slot(hash);
	memcpy(c->hash, hash, AUTH_HASH_LEN);
	c->epoch = epoch;
	c->t = *t;
	c->u = *u;
	pthread_mutex_unlock(&creds_lock);
	return 0;
}

/* An API token or login cookie's user, if it is live. */
static void token_user(const char *text, const char *kind, struct caller *who)
{
	unsigned char hash[AUTH_HASH_LEN];
	struct db_token t;
	struct db_user u;
	long now = (long)time(NULL);
	int rc;

	auth_secret_hash(text, hash);
	rc = token_lookup(hash, who->epoch[0], &t, &u);
	if (rc < 0) {
		who->unchecked = true;
		return;
	}
	if (rc || strcmp(t.kind, kind) ||
	    t.revoked || (t.expires && t.expires < now)) {
		who->bad = true;
		return;
	}
	who->user = u.id;
	/* an admin's scrape token reads metrics, not the admin's sessions */
	who->admin = u.admin && strcmp(t.scope, "scrape");
	who->token = t.id;
	snprintf(who->name, sizeof(who->name), "%s", u.name);
	snprintf(who->scope, sizeof(who->scope), "%s", t.scope);
	snprintf(who->via, sizeof(who->via), "%s",
		 kind[0] == 'l' ? "cookie" : "token");
}

static void share_link(const char *text, struct caller *who)
{
	unsigned char hash[AUTH_HASH_LEN];
	struct db_share sh;
	int rc;

	auth_secret_hash(text, hash);
	rc = db_share_find(g_db, hash, &sh);
	if (rc < 0) {
		who->unchecked = true;
		return;
	}
	if (rc || sh.revoked ||
	    (sh.expires && sh.expires < (long)time(NULL))) {
		who->bad = true;
		return;
	}
	who->share_session = sh.session;
	who->share_pin = sh.pin;
}

static void identify(const struct request *req, struct caller *who)
{
	const char *auth = header(req, "Authorization");
	const char *share = req->query(req->conn, "share");
	char cookie[64];

	if (auth) {
		if (strncasecmp(auth, "Bearer ", 7)) {
			who->bad = true;
			return;
		}
		auth += 7 + strspn(auth + 7, " ");
		if (!strncmp(auth, "rms_", 4))
			share_link(auth, who);
		else
			token_user(auth, "api", who);
	} else if (auth_cookie(header(req, "Cookie"), cookie, sizeof(cookie))) {
		token_user(cookie, "login", who);
	}
	if (share && !who->bad)
		share_link(share, who);
}

/* ---- sessions ---- */

enum access { ACC_NONE, ACC_PINNED, ACC_READ, ACC_WRITE };

/*
 * Whether a user reads another's session through a class: they teach its
 * owner, it is shown to a class of theirs, or it is their class's live
 * lesson.  Three queries, so the answers are kept (by user and session,
 * with what they depend on) under the access epoch, which any change of
 * a membership or of a class's live session moves.
 */
#define ACCESS_SLOTS	4096

struct access_memo {
	long epoch;		/* -1: empty */
	long user, session, owner, class_id;
	int visibility;
	bool reads;
};

static pthread_mutex_t access_lock = PTHREAD_MUTEX_INITIALIZER;
static struct access_memo access_memo[ACCESS_SLOTS];
static bool access_ready;

static struct access_memo *access_slot(long user, long session)
{
	size_t i;

	if (!access_ready) {
		for (i = 0; i < ACCESS_SLOTS; i++)
			access_memo[i].epoch = -1;
		access_ready = true;
	}
	i = ((size_t)user * 2654435761u) ^ ((size_t)session * 40503u);
	return &access_memo[i % ACCESS_SLOTS];
}

static bool memo_fits(const struct access_memo *m, long epoch, long user,
		      long session, const struct session_access *sa)
{
	return epoch >= 0 && m->epoch == epoch && m->user == user &&
	       m->session == session && m->owner == sa->owner &&
	       m->class_id == sa->class_id && m->visibility == sa->visibility;
}

static bool reads_through_class(const struct caller *who, long id,
				const struct session_access *sa)
{
	long epoch = who->epoch[1];
	struct access_memo *m;
	bool reads;

	pthread_mutex_lock(&access_lock);
	m = access_slot(who->user, id);
	if (memo_fits(m, epoch, who->user, id, sa)) {
		reads = m->reads;
		pthread_mutex_unlock(&access_lock);
		return reads;
	}
	pthread_mutex_unlock(&access_lock);
	reads = db_teaches(g_db, who->user, sa->owner) ||
		(sa->visibility == VIS_CLASS && sa->class_id &&
		 db_member_role(g_db, sa->class_id, who->user) != ROLE_NONE) ||
		db_follows(g_db, who->user, id);
	if (epoch < 0)
		return reads;
	pthread_mutex_lock(&access_lock);
	m = access_slot(who->user, id);
	*m = (struct access_memo){ epoch, who->user, id, sa->owner,
				   sa->class_id, sa->visibility, reads };
	pthread_mutex_unlock(&access_lock);
	return reads;
}

static enum access session_access(const struct caller *who, long id,
				  const struct session_access *sa)
{
	bool writer = !strcmp(who->scope, "write");

	if (who->user && !strcmp(who->scope, "scrape"))
		return ACC_NONE;	/* a scrape token reads metrics only */
	if (who->admin || (who->user && sa->owner == who->user))
		return writer ? ACC_WRITE : ACC_READ;
	if (who->user && sa->owner && reads_through_class(who, id, sa))
		return ACC_READ;
	if (who->share_session == id)
		return who->share_pin >= 0 ? ACC_PINNED : ACC_READ;
	return ACC_NONE;
}

bool authz_may_read(const struct caller *who, const struct session *s)
{
	struct session_access sa = {
		.owner = s->owner,
		.visibility = __atomic_load_n(&s->visibility, __ATOMIC_RELAXED),
		.class_id = __atomic_load_n(&s->class_id, __ATOMIC_RELAXED),
	};

	return !g_cfg->auth || session_access(who, s->id, &sa) != ACC_NONE;
}

/* canonical decimal, as routes.c reads an id */
static bool parse_id(const char *s, long *out)
{
	char *end;

	if (!s || s[0] < '1' || s[0] > '9' || strlen(s) > 13)
		return false;
	*out = strtol(s, &end, 10);
	return !*end;
}

static bool unauthorized(struct reply *rep, const struct caller *who)
{
	rep->challenge = true;
	if (who->bad)
		reply_problem(rep, 401, "invalid-credentials", "Authorization",
			      "the token, login or share link is not valid "
			      "(unknown, expired or revoked)");
	else
		reply_problem(rep, 401, "unauthenticated", "Authorization",
			      "log in (POST /api/v1/login) or send "
			      "'Authorization: Bearer TOKEN'");
	return true;
}

static bool forbidden(struct reply *rep, const char *why)
{
	reply_problem(rep, 403, "forbidden", "", "%s", why);
	return true;
}

static bool no_session(struct reply *rep, long id)
{
	reply_problem(rep, 404, "no-such-session", "id", "no session %ld", id);
	return true;
}

/* The session rules, once the caller is known and holds something. */
static bool gate_session(enum need need, const char *id_text,
			 struct caller *who, struct reply *rep)
{
	struct session_access sa;
	enum access acc;
	long id;

	if (!parse_id(id_text, &id))
		return false;	/* route() answers 404 for that id */
	if (!session_access_at(id, who->epoch[1], &sa))
		return who->admin ? false : no_session(rep, id);
	acc = session_access(who, id, &sa);
	if (acc == ACC_NONE ||
	    (acc == ACC_PINNED && need != NEED_READ && need != NEED_OWNER))
		return no_session(rep, id);
	if (need == NEED_READ || need == NEED_READ_LATEST) {
		if (acc == ACC_PINNED)
			who->pin = who->share_pin;
		return false;
	}
	if (need == NEED_OWNER && acc == ACC_WRITE)
		return false;
	if (!who->user)
		return unauthorized(rep, who);
	if (need == NEED_CLONE && strcmp(who->scope, "write"))
		return forbidden(rep, "a read-only token may not make sessions");
	if (need == NEED_CLONE)
		return false;
	return forbidden(rep, sa.owner == who->user ? "this token is read-only" :
			 "only its owner changes a session (clone it to try "
			 "things)");
}

/*
 * An admin, or a member (staff, an instructor) of the class; the same 403
 * whether or not the class exists, so that names stay unknown, and for a
 * class's own page the 404 of a class that does not exist.
 */
static bool gate_class(enum need need, const char *name,
		       const struct caller *who, struct reply *rep)
{
	enum auth_role role = ROLE_NONE;
	long id;

	if (who->admin)
		return false;
	if (!db_class_find(g_db, name, &id))
		role = db_member_role(g_db, id, who->user);
	if (need == NEED_CLASS && role == ROLE_NONE) {
		reply_problem(rep, 404, "no-such-class", "class", "no class "
			      "'%.64s'", name);
		return true;
	}
	if (need == NEED_MEMBER && role == ROLE_NONE)
		return forbidden(rep, "only a member of the class (or an admin) "
				 "reads that");
	if (need == NEED_STAFF && role != ROLE_INSTRUCTOR && role != ROLE_TA)
		return forbidden(rep, "only an instructor or TA of the class "
				 "(or an admin) does that");
	if (need == NEED_INSTRUCTOR && role != ROLE_INSTRUCTOR)
		return forbidden(rep, "only an instructor of the class (or an "
				 "admin) does that");
	return false;
}

/* a request the role table lets through may still be over a quota */
static bool over_quota(enum charge charge, const struct caller *who,
		       struct reply *rep)
{
	if (charge == Q_SESSION)
		return quota_refuse_session(who, rep) ||
		       quota_refuse_stored(who, rep);
	if (charge == Q_OPS)
		return quota_refuse_ops(who, rep) ||
		       quota_refuse_stored(who, rep);
	return charge == Q_STORED && quota_refuse_stored(who, rep);
}

bool authz_gate(const struct config *cfg, const struct request *req,
		struct reply *rep)
{
	struct caller *who = req->who;
	char path[512], *seg[MAX_SEGS + 1];
	const char *id = NULL;
	enum charge charge;
	enum need need;
	int n;

	memset(who, 0, sizeof(*who));
	who->share_pin = who->pin = -1;
	who->epoch[0] = who->epoch[1] = -1;	/* nothing cached is trusted */
	if (!cfg->auth)
		return false;
	if (strlen(req->path) >= sizeof(path))
		return false;	/* route() answers 414 */
	snprintf(path, sizeof(path), "%s", req->path);
	n = split_path(path, seg);
	need = need_of(req, seg, n, &id, &charge);
	if (need == NEED_NOTHING)
		return false;
	/* read before any lookup: a change after it is seen next time */
	db_auth_epochs(g_db, who->epoch);
	/*
	 * The database away: what was verified under its last answer holds
	 * for the grace, so that a lab reads on through an outage; what it
	 * would have said since (a revocation) is not seen meanwhile.
	 */
	if ((who->epoch[0] < 0 || who->epoch[1] < 0) &&
	    (!cfg->credential_grace ||
	     !db_auth_epochs_known(g_db, who->epoch,
				   (long long)cfg->credential_grace * 1000)))
		who->epoch[0] = who->epoch[1] = -1;
	identify(req, who);
	if (who->unchecked) {
		/* PostgreSQL restarting: try again, not "log in again" */
		reply_storage(rep, DB_FAULT_IO, "the database did not answer",
			      "the credentials could not be checked");
		rep->retry_after = 1;
		return true;
	}
	if (who->bad || (!who->user && !who->share_session))
		return unauthorized(rep, who);
	if (need >= NEED_READ)
		return gate_session(need, id, who, rep) ||
		       over_quota(charge, who, rep);
	if (!who->user)
		return unauthorized(rep, who);
	if (need == NEED_METRICS)
		return who->admin || !strcmp(who->scope, "scrape") ? false :
		       forbidden(rep, "/metrics is for admins and scrape tokens");
	if (!strcmp(who->scope, "scrape"))
		return forbidden(rep, "a scrape token reads /metrics only");
	if ((need == NEED_WRITER || need == NEED_INSTRUCTOR ||
	     (need == NEED_STAFF && strcmp(req->method, "GET"))) &&
	    strcmp(who->scope, "write"))
		return forbidden(rep, "a read-only token changes nothing");
	if (need >= NEED_MEMBER && need <= NEED_INSTRUCTOR)
		return gate_class(need, id, who, rep);
	return over_quota(charge, who, rep);
}

void authz_forget(void)
{
	pthread_mutex_lock(&creds_lock);
	creds_ready = false;
	pthread_mutex_unlock(&creds_lock);
	pthread_mutex_lock(&access_lock);
	access_ready = false;
	pthread_mutex_unlock(&access_lock);
}
