// SPDX-License-Identifier: MIT
/*
 * roster.c - a class's members as its staff see them: each member's role
 * and the sessions they own, for the page's class view.  The role table
 * (authz.c) lets only the class's instructors and admins ask.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "rmapd.h"

struct users {
	struct db_user *u;
	size_t n, cap;
	bool short_of_memory;
};

static void keep_user(const struct db_user *u, void *arg)
{
	struct users *l = arg;
	struct db_user *grown;

	if (l->n == l->cap) {
		grown = realloc(l->u, (l->cap ? l->cap * 2 : 16) * sizeof(*grown));
		if (!grown) {
			l->short_of_memory = true;
			return;
		}
		l->u = grown;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->u[l->n++] = *u;
}

struct owned {
	long user;
	cJSON *sessions;
	long ops;
};

static void add_owned(const struct session *s, void *arg)
{
	struct owned *o = arg;
	long changed, version;
	cJSON *e;

	if (s->owner != o->user)
		return;
	version = session_durable(s);
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "id", (double)s->id);
	cJSON_AddStringToObject(e, "name", s->name);
	cJSON_AddNumberToObject(e, "version", (double)version);
	changed = __atomic_load_n(&s->changed, __ATOMIC_RELAXED);
	if (changed)
		cJSON_AddNumberToObject(e, "last_activity", (double)changed);
	else
		cJSON_AddNullToObject(e, "last_activity");
	cJSON_AddItemToArray(o->sessions, e);
	o->ops += version;
}

static cJSON *member_json(const struct db_user *u, enum auth_role role)
{
	cJSON *m = cJSON_CreateObject(), *use;
	struct owned o = { u->id, NULL, 0 };

	cJSON_AddNumberToObject(m, "user", (double)u->id);
	cJSON_AddStringToObject(m, "name", u->name);
	cJSON_AddStringToObject(m, "display", u->display);
	cJSON_AddStringToObject(m, "role", auth_role_name(role));
	o.sessions = cJSON_AddArrayToObject(m, "sessions");
	sessions_each(add_owned, &o);
	use = cJSON_AddObjectToObject(m, "use");
	cJSON_AddNumberToObject(use, "sessions",
				(double)cJSON_GetArraySize(o.sessions));
	cJSON_AddNumberToObject(use, "ops", (double)o.ops);
	return m;
}

/* GET /api/v1/classes/{class}/members */
void roster_get(const char *cls, struct reply *rep)
{
	struct users l = { 0 };
	enum auth_role role;
	long class_id;
	cJSON *arr;
	size_t i;

	if (db_class_find(g_db, cls, &class_id)) {
		reply_problem(rep, 404, "no-such-class", "class", "no class "
			      "'%.64s'", cls);
		return;
	}
	/* collected first: a membership is not read inside the user scan */
	if (db_user_list(g_db, keep_user, &l) || l.short_of_memory) {
		free(l.u);
		reply_problem(rep, 503, "storage-unavailable", "", "the roster "
			      "could not be read");
		return;
	}
	arr = cJSON_CreateArray();
	for (i = 0; i < l.n; i++) {
		role = db_member_role(g_db, class_id, l.u[i].id);
		if (role != ROLE_NONE)
			cJSON_AddItemToArray(arr, member_json(&l.u[i], role));
	}
	free(l.u);
	reply_json(rep, 200, arr);
}
