// SPDX-License-Identifier: MIT
/*
 * classes.c - a class as its page sees it: the caller's classes, one class
 * (its live lesson and published lessons), its roster with each member's
 * sessions, use and quotas, publishing lessons, and the instructor's
 * per-class quota defaults.  authz.c has let the request through already
 * (members, staff or the instructor, by the role table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "codec.h"
#include "rmapd.h"

/* an admin, or anyone in open mode, sees every class as an admin */
static bool sees_all(const struct caller *who)
{
	return who->admin || !g_cfg->auth;
}

/* the caller's role in the class, as the answers name it */
static const char *role_in(const struct caller *who, long class_id)
{
	if (sees_all(who))
		return "admin";
	return auth_role_name(db_member_role(g_db, class_id, who->user));
}

static cJSON *class_json(long id, const char *name, const char *role)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "role", role);
	return o;
}

static void add_class(const struct db_membership *m, void *arg)
{
	cJSON_AddItemToArray(arg, class_json(m->class_id, m->class_name,
					     m->role == ROLE_NONE ? "admin" :
					     auth_role_name(m->role)));
}

static void get_classes(const struct request *req, struct reply *rep)
{
	cJSON *a = cJSON_CreateArray();

	if (sees_all(req->who))
		db_classes_all(g_db, add_class, a);
	else
		db_memberships(g_db, req->who->user, add_class, a);
	reply_json(rep, 200, a);
}

/* ---- one class ---- */

struct lesson_list {
	long *ids;
	size_t n, cap;
};

static void add_lesson_id(long session, void *arg)
{
	struct lesson_list *l = arg;
	long *ids;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		ids = realloc(l->ids, l->cap * sizeof(*ids));
		if (!ids)
			return;
		l->ids = ids;
	}
	l->ids[l->n++] = session;
}

struct lesson_rows {
	const struct lesson_list *l;
	const struct caller *who;
	cJSON **rows;		/* by the lesson's place in l */
};

static void lesson_row(const struct session *s, void *arg)
{
	struct lesson_rows *r = arg;
	cJSON *o;
	size_t i;

	for (i = 0; i < r->l->n; i++) {
		if (r->l->ids[i] != s->id || s->deleted ||
		    !authz_may_read(r->who, s))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "session", (double)s->id);
		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddNumberToObject(o, "version",
					(double)session_durable(s));
		r->rows[i] = o;
	}
}

/* the lessons the caller may read, in the order they were published */
static void add_lessons(cJSON *arr, long class_id, const struct caller *who)
{
	struct lesson_list l = { 0 };
	struct lesson_rows r = { &l, who, NULL };
	size_t i;

	db_lessons(g_db, class_id, add_lesson_id, &l);
	r.rows = calloc(l.n ? l.n : 1, sizeof(*r.rows));
	if (r.rows) {
		sessions_each(lesson_row, &r);
		for (i = 0; i < l.n; i++)
			if (r.rows[i])
				cJSON_AddItemToArray(arr, r.rows[i]);
	}
	free(r.rows);
	free(l.ids);
}

static void add_live(cJSON *o, long class_id)
{
	struct session_access sa;
	long session, step;
	cJSON *live;

	db_class_live(g_db, class_id, &session, &step, NULL);
	if (!session || !session_access_info(session, &sa)) {
		cJSON_AddNullToObject(o, "live");
		return;
	}
	live = cJSON_AddObjectToObject(o, "live");
	cJSON_AddNumberToObject(live, "session", (double)session);
	if (step >= 0)
		cJSON_AddNumberToObject(live, "step", (double)step);
	else
		cJSON_AddNullToObject(live, "step");
}

static void get_class(const struct request *req, long id, const char *name,
		      struct reply *rep)
{
	cJSON *o = class_json(id, name, role_in(req->who, id));

	add_live(o, id);
	add_lessons(cJSON_AddArrayToObject(o, "lessons"), id, req->who);
	reply_json(rep, 200, o);
}

/* ---- the roster ---- */

/* a limit as the answers show it: null for none */
static void add_limit(cJSON *o, const char *key, long v)
{
	if (v)
		cJSON_AddNumberToObject(o, key, (double)v);
	else
		cJSON_AddNullToObject(o, key);
}

struct member_sessions {
	const struct caller *who;
	long user;
	cJSON *arr;
	long owned;
};

static void member_session(const struct session *s, void *arg)
{
	struct member_sessions *m = arg;
	cJSON *o;

	if (s->owner != m->user || s->deleted)
		return;
	m->owned++;
	/* staff see the sessions they may read: a student's, not a peer's */
	if (!authz_may_read(m->who, s))
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)s->id);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddNumberToObject(o, "version", (double)session_durable(s));
	cJSON_AddNumberToObject(o, "last_activity",
				(double)__atomic_load_n(&s->last_activity,
							__ATOMIC_RELAXED));
	cJSON_AddItemToArray(m->arr, o);
}

/* what the database remembers when this daemon saw no op of it yet */
static void stored_activity(long session, long when, void *arg)
{
	cJSON *o;

	cJSON_ArrayForEach(o, (cJSON *)arg) {
		cJSON *la = cJSON_GetObjectItemCaseSensitive(o, "last_activity");

		if (cJSON_GetObjectItemCaseSensitive(o, "id")->valuedouble ==
		    (double)session && la->valuedouble < (double)when)
			cJSON_SetNumberValue(la, (double)when);
	}
}

static void member_row(const struct db_member *mb, const struct caller *who,
		       cJSON *arr)
{
	struct member_sessions m = { who, mb->user.id, NULL, 0 };
	cJSON *o = cJSON_CreateObject(), *u;
	long uid = mb->user.id;

	cJSON_AddNumberToObject(o, "user", (double)uid);
	cJSON_AddStringToObject(o, "name", mb->user.name);
	cJSON_AddStringToObject(o, "display", mb->user.display);
	cJSON_AddStringToObject(o, "role", auth_role_name(mb->role));
	m.arr = cJSON_AddArrayToObject(o, "sessions");
	sessions_each(member_session, &m);
	db_session_activity(g_db, uid, stored_activity, m.arr);
	u = cJSON_AddObjectToObject(o, "use");
	cJSON_AddNumberToObject(u, "sessions", (double)m.owned);
	cJSON_AddNumberToObject(u, "stored_bytes",
				(double)quota_stored_used(uid));
	cJSON_AddNumberToObject(u, "ops_per_second", quota_ops_recent(uid));
	u = cJSON_AddObjectToObject(o, "quota");
	add_limit(u, "sessions", quota_limit(uid, "sessions",
					     g_cfg->quota_sessions));
	add_limit(u, "stored_bytes", quota_limit(uid, "stored_bytes",
						 g_cfg->quota_stored_bytes));
	add_limit(u, "ops_per_second", quota_limit(uid, "ops_rate",
						   g_cfg->quota_ops_rate));
	cJSON_AddItemToArray(arr, o);
}

struct member_list {
	struct db_member *m;
	size_t n, cap;
	bool short_of_memory;
};

static void add_member(const struct db_member *mb, void *arg)
{
	struct member_list *l = arg;
	struct db_member *m;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		m = realloc(l->m, l->cap * sizeof(*m));
		if (!m) {
			l->short_of_memory = true;
			return;
		}
		l->m = m;
	}
	l->m[l->n++] = *mb;
}

/*
 * The roster is read whole before each row's queries: a query inside the
 * roster's own would hold two of the database's readers at once.
 */
static void get_members(const struct request *req, long id,
			struct reply *rep)
{
	struct member_list l = { 0 };
	cJSON *a;
	size_t i;

	if (db_class_members(g_db, id, add_member, &l) || l.short_of_memory) {
		free(l.m);
		reply_problem(rep, 503, "storage-unavailable", "", "the roster "
			      "could not be read");
		return;
	}
	a = cJSON_CreateArray();
	for (i = 0; i < l.n; i++)
		member_row(&l.m[i], req->who, a);
	free(l.m);
	reply_json(rep, 200, a);
}

/* ---- lessons ---- */

/*
 * Staff publish a session of theirs, or one they may read (a student's):
 * it becomes visible to the class, and listed on its page.
 */
static void post_lesson(const struct request *req, long class_id,
			const char *cls, struct reply *rep)
{
	static const char *const fields[] = { "session", NULL };
	cJSON *body = parse_body(req, rep), *o;
	struct session *s = NULL;
	long id = 0;

	if (!body || !only_fields(body, fields, rep) ||
	    !opt_long(body, "session", 1, 1L << 40, &id, rep))
		goto out;
	s = id ? session_get(id) : NULL;
	if (!s || !authz_may_read(req->who, s)) {
		reply_problem(rep, 422, "invalid-value", "session", "session "
			      "names a session you may read");
		goto out;
	}
	if (db_session_set_visibility(g_db, id, VIS_CLASS, class_id) ||
	    db_lesson_add(g_db, class_id, id, (long)time(NULL))) {
		reply_problem(rep, 503, "storage-unavailable", "", "the lesson "
			      "was not published");
		goto out;
	}
	session_set_visibility(s, VIS_CLASS, class_id);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "session", (double)id);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddNumberToObject(o, "version", (double)session_durable(s));
	snprintf(rep->location, sizeof(rep->location),
		 "/api/v1/classes/%.64s/lessons/%ld", cls, id);
	reply_json(rep, 201, o);
out:
	if (s)
		session_put(s);
	cJSON_Delete(body);
}

/* unpublished, it is private again if the class was what saw it */
static void delete_lesson(long class_id, const char *cls, const char *text,
			  struct reply *rep)
{
	struct session_access sa;
	struct session *s;
	char *end;
	long id = strtol(text, &end, 10);

	if (*end || id <= 0 || db_lesson_remove(g_db, class_id, id)) {
		reply_problem(rep, 404, "no-such-lesson", "session", "no lesson "
			      "%.20s in class '%.64s'", text, cls);
		return;
	}
	if (session_access_info(id, &sa) && sa.visibility == VIS_CLASS &&
	    sa.class_id == class_id && (s = session_get(id))) {
		if (!db_session_set_visibility(g_db, id, VIS_PRIVATE, 0))
			session_set_visibility(s, VIS_PRIVATE, 0);
		session_put(s);
	}
	rep->status = 204;
}

/* ---- the instructor's defaults for the class ---- */

static const struct {
	const char *field, *kind;	/* in the body; in the store */
} quota_kinds[] = {
	{ "sessions", "sessions" },
	{ "stored_bytes", "stored_bytes" },
	{ "ops_per_second", "ops_rate" },
};

#define NR_KINDS	(sizeof(quota_kinds) / sizeof(quota_kinds[0]))
#define QUOTA_MAX	(1L << 40)

static unsigned long ceiling_of(size_t k)
{
	return k == 0 ? g_cfg->quota_sessions :
	       k == 1 ? g_cfg->quota_stored_bytes : g_cfg->quota_ops_rate;
}

/*
 * Each default is at most the operator's ceiling; with a ceiling, 0 (none)
 * would be above it.  All are checked before any is stored.
 */
static void put_quotas(const struct request *req, long class_id,
		       struct reply *rep)
{
	static const char *const fields[] = { "sessions", "stored_bytes",
					      "ops_per_second", NULL };
	cJSON *body = parse_body(req, rep), *o;
	long v[NR_KINDS];
	size_t k;

	if (!body || !only_fields(body, fields, rep))
		goto out;
	for (k = 0; k < NR_KINDS; k++) {
		unsigned long ceil = ceiling_of(k);

		v[k] = -1;
		if (!opt_long(body, quota_kinds[k].field, 0, QUOTA_MAX, &v[k],
			      rep))
			goto out;
		if (v[k] < 0) {
			reply_problem(rep, 422, "missing-field",
				      quota_kinds[k].field, "the body names "
				      "sessions, stored_bytes and "
				      "ops_per_second (0: none)");
			goto out;
		}
		if (ceil && (!v[k] || (unsigned long)v[k] > ceil)) {
			reply_problem(rep, 422, "above-ceiling",
				      quota_kinds[k].field, "%s is at most "
				      "%lu here (the operator's ceiling)",
				      quota_kinds[k].field, ceil);
			goto out;
		}
	}
	o = cJSON_CreateObject();
	for (k = 0; k < NR_KINDS; k++) {
		if (db_quota_set(g_db, 0, class_id, quota_kinds[k].kind, v[k])) {
			cJSON_Delete(o);
			reply_problem(rep, 503, "storage-unavailable", "", "the "
				      "quotas were not all stored");
			goto out;
		}
		cJSON_AddNumberToObject(o, quota_kinds[k].field, (double)v[k]);
	}
	reply_json(rep, 200, o);
out:
	cJSON_Delete(body);
}

/* ---- routing ---- */

enum page_route { R_CLASS, R_MEMBERS, R_QUOTAS, R_LESSONS, R_LESSON };

static const struct {
	const char *name, *method;
} page_routes[] = {
	[R_CLASS] = { "/api/v1/classes/{class}", "GET" },
	[R_MEMBERS] = { "/api/v1/classes/{class}/members", "GET" },
	[R_QUOTAS] = { "/api/v1/classes/{class}/quotas", "PUT" },
	[R_LESSONS] = { "/api/v1/classes/{class}/lessons", "POST" },
	[R_LESSON] = { "/api/v1/classes/{class}/lessons/{session}", "DELETE" },
};

/* which of these routes the path is, or -1 (live, codes: auth.c) */
static int page_route_of(char **seg, int n)
{
	if (n == 4)
		return R_CLASS;
	if (n == 5 && !strcmp(seg[4], "members"))
		return R_MEMBERS;
	if (n == 5 && !strcmp(seg[4], "quotas"))
		return R_QUOTAS;
	if (n == 5 && !strcmp(seg[4], "lessons"))
		return R_LESSONS;
	if (n == 6 && !strcmp(seg[4], "lessons"))
		return R_LESSON;
	return -1;
}

bool classes_page_route(const struct request *req, char **seg, int n,
			struct reply *rep, const char **name)
{
	const char *cls;
	long id;
	int r;

	if (n < 3 || n > 6 || strcmp(seg[2], "classes"))
		return false;
	if (n == 3) {
		*name = "/api/v1/classes";
		if (method_is(req, "GET", rep, "GET"))
			get_classes(req, rep);
		return true;
	}
	r = page_route_of(seg, n);
	if (r < 0)
		return false;
	*name = page_routes[r].name;
	if (!method_is(req, page_routes[r].method, rep, page_routes[r].method))
		return true;
	cls = seg[3];
	if (db_class_find(g_db, cls, &id)) {
		reply_problem(rep, 404, "no-such-class", "class", "no class "
			      "'%.64s'", cls);
		return true;
	}
	if (r == R_CLASS)
		get_class(req, id, cls, rep);
	else if (r == R_MEMBERS)
		get_members(req, id, rep);
	else if (r == R_QUOTAS)
		put_quotas(req, id, rep);
	else if (r == R_LESSONS)
		post_lesson(req, id, cls, rep);
	else
		delete_lesson(id, cls, seg[5], rep);
	return true;
}
