// SPDX-License-Identifier: MIT
/*
 * auth.c - the routes of people: POST /api/v1/login (a form or JSON; an
 * HttpOnly, SameSite=Strict cookie), /logout, GET /me, a session's share
 * links and its visibility.  authz.c has let the request through already.
 *
 * Failed logins are counted per user name and per client address, and
 * past a few a minute the next attempt is 429 with Retry-After before any
 * password is hashed, so that guessing is slow and cannot load the server.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "codec.h"
#include "rmapd.h"

#define COOKIE_NAME	"rmapd_session"
#define LOGIN_SECONDS	(12 * 3600)	/* a browser login lasts a day's lab */
#define FAIL_WINDOW_MS	60000
#define FAILS_PER_USER	5		/* in a window, then 429 */
#define FAILS_PER_ADDR	20
#define FAIL_SLOTS	1024		/* bounded, whatever the names tried */

/* ---- failed logins ---- */

struct fail_slot {
	char key[80];		/* "u:NAME" or "a:ADDRESS" */
	int fails;
	int64_t since_ms;	/* the window's start */
};

static pthread_mutex_t fails_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fail_slot fails[FAIL_SLOTS];

static size_t key_hash(const char *key)
{
	size_t h = 5381;

	while (*key)
		h = h * 33 + (unsigned char)*key++;
	return h;
}

/*
 * The slot of key among 8 probed, else the one whose window is oldest:
 * a flood of names pushes out old counts, never grows the table.
 */
static struct fail_slot *fail_slot(const char *key, int64_t now)
{
	size_t h = key_hash(key), i;
	struct fail_slot *old = NULL;

	for (i = 0; i < 8; i++) {
		struct fail_slot *f = &fails[(h + i) % FAIL_SLOTS];

		if (!strcmp(f->key, key))
			return f;
		if (!old || f->since_ms < old->since_ms)
			old = f;
	}
	snprintf(old->key, sizeof(old->key), "%s", key);
	old->fails = 0;
	old->since_ms = now;
	return old;
}

/* seconds until key may try again, 0 if now */
static unsigned int fail_wait(const char *key, int limit, int64_t now)
{
	struct fail_slot *f = fail_slot(key, now);

	if (now - f->since_ms >= FAIL_WINDOW_MS) {
		f->fails = 0;
		f->since_ms = now;
	}
	if (f->fails < limit)
		return 0;
	return (unsigned int)((FAIL_WINDOW_MS - (now - f->since_ms)) / 1000 + 1);
}

static void fail_count(const char *key, int64_t now)
{
	fail_slot(key, now)->fails++;
}

static void fail_forget(const char *key, int64_t now)
{
	fail_slot(key, now)->fails = 0;
}

/* ---- cookies ---- */

const char *auth_cookie(const char *h, char *buf, size_t len)
{
	const char *p = h, *v;
	size_t n;

	while (p && *p) {
		p += strspn(p, " ;");
		if (!strncmp(p, COOKIE_NAME "=", sizeof(COOKIE_NAME))) {
			v = p + sizeof(COOKIE_NAME);
			n = strcspn(v, "; ");
			if (!n || n >= len)
				return NULL;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

/* ---- answers ---- */

static void add_membership(const struct db_membership *m, void *arg)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", m->class_name);
	cJSON_AddStringToObject(c, "role", auth_role_name(m->role));
	cJSON_AddItemToArray(arg, c);
}

static void add_limit(cJSON *o, long limit)
{
	if (limit)
		cJSON_AddNumberToObject(o, "limit", (double)limit);
	else
		cJSON_AddNullToObject(o, "limit");
}

/* the caller's limits (null: none, as for admins) and what they use */
static void add_quotas(cJSON *q, long user, bool admin)
{
	cJSON *s = cJSON_AddObjectToObject(q, "sessions");

	add_limit(s, admin ? 0 : quota_limit(user, "sessions",
					      g_cfg->quota_sessions));
	cJSON_AddNumberToObject(s, "used", (double)quota_sessions_used(user));
	add_limit(cJSON_AddObjectToObject(q, "ops_rate"), admin ? 0 :
		  quota_limit(user, "ops_rate", g_cfg->quota_ops_rate));
}

/* NULL: the database did not say (a caller known from the cache) */
static cJSON *me_json(const struct caller *who)
{
	struct db_user u = { 0 };
	cJSON *o;

	if (db_user_by_id(g_db, who->user, &u))
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)u.id);
	cJSON_AddStringToObject(o, "name", u.name);
	cJSON_AddStringToObject(o, "display", u.display);
	cJSON_AddBoolToObject(o, "admin", u.admin);
	cJSON_AddStringToObject(o, "via", who->via);
	cJSON_AddStringToObject(o, "scope", who->scope);
	db_memberships(g_db, who->user, add_membership,
		       cJSON_AddArrayToObject(o, "classes"));
	add_quotas(cJSON_AddObjectToObject(o, "quotas"), who->user, u.admin);
	return o;
}

static void reply_me(struct reply *rep, const struct caller *who)
{
	cJSON *o = me_json(who);

	if (o) {
		reply_json(rep, 200, o);
		return;
	}
	reply_storage(rep, DB_FAULT_IO, "the database did not answer",
		      "who you are could not be read");
	rep->retry_after = 1;
}

static void get_me(const struct config *cfg, const struct request *req,
		   struct reply *rep)
{
	cJSON *o;

	if (cfg->auth) {
		reply_me(rep, req->who);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNullToObject(o, "name");
	cJSON_AddStringToObject(o, "auth", "off");
	reply_json(rep, 200, o);
}

/* ---- login ---- */

/* key's value in an application/x-www-form-urlencoded body, decoded */
static bool form_value(const char *body, size_t len, const char *key,
		       char *out, size_t size)
{
	const char *p = body, *end = body + len;
	size_t klen = strlen(key), n, i;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > klen && !strncmp(p, key, klen) &&
		    p[klen] == '=') {
			p += klen + 1;
			n = (size_t)(stop - p);
			if (n >= size || memchr(p, '\0', n))
				return false;
			for (i = 0; i < n; i++)
				out[i] = p[i] == '+' ? ' ' : p[i];
			out[n] = '\0';
			/* a %00 would cut the value short: refused */
			return MHD_http_unescape(out) == strlen(out);
		}
		p = stop + 1;
	}
	return false;
}

static bool json_value(const cJSON *body, const char *key, char *out,
		       size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		return false;
	snprintf(out, size, "%s", v->valuestring);
	return true;
}

/* name and password from a JSON object or a form; false: answered */
static bool login_fields(const struct request *req, char *name, size_t nlen,
			 char *pw, size_t plen, struct reply *rep)
{
	static const char *const login_keys[] = { "name", "password", NULL };
	const char *ctype = req->header ? req->header(req->conn,
						      "Content-Type") : NULL;
	cJSON *body;
	bool ok;

	if (ctype && !strncmp(ctype, "application/x-www-form-urlencoded", 33)) {
		ok = form_value(req->body, req->body_len, "name", name, nlen) &&
		     form_value(req->body, req->body_len, "password", pw, plen);
	} else {
		body = parse_body(req, rep);
		if (!body || !only_fields(body, login_keys, rep)) {
			cJSON_Delete(body);
			return false;
		}
		ok = json_value(body, "name", name, nlen) &&
		     json_value(body, "password", pw, plen);
		cJSON_Delete(body);
	}
	if (!ok)
		reply_problem(rep, 422, "invalid-value", "name", "a login is "
			      "{\"name\": ..., \"password\": ...} (or a form "
			      "with those fields), each at most 1000 bytes");
	return ok;
}

static char dummy_hash[AUTH_PWHASH_MAX];

static void init_dummy(void)
{
	auth_password_hash("not a password anyone has", dummy_hash);
}

/*
 * An unknown user costs the same Argon2id run as a wrong password, so that
 * timing does not tell which names exist.
 */
static bool password_ok(const char *name, const char *pw, struct db_user *u)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char stored[AUTH_PWHASH_MAX] = "";

	if (db_user_get(g_db, name, u, stored) || !u->has_password) {
		pthread_once(&once, init_dummy);
		auth_password_ok(dummy_hash, pw);
		return false;
	}
	return auth_password_ok(stored, pw);
}

static bool login_limited(const char *ukey, const char *akey,
			  struct reply *rep)
{
	int64_t now = monotonic_ms();
	unsigned int wait;

	pthread_mutex_lock(&fails_lock);
	wait = fail_wait(ukey, FAILS_PER_USER, now);
	if (!wait)
		wait = fail_wait(akey, FAILS_PER_ADDR, now);
	pthread_mutex_unlock(&fails_lock);
	if (!wait)
		return false;
	rep->retry_after = wait;
	reply_problem(rep, 429, "too-many-failed-logins", "name", "too many "
		      "failed logins for this user or from this address; try "
		      "again in %u s", wait);
	return true;
}

static void login_failed(const char *ukey, const char *akey)
{
	int64_t now = monotonic_ms();

	pthread_mutex_lock(&fails_lock);
	fail_count(ukey, now);
	fail_count(akey, now);
	pthread_mutex_unlock(&fails_lock);
}

static void post_login(const struct config *cfg, const struct request *req,
		       struct reply *rep)
{
	char name[1001], pw[1001], ukey[80], akey[80], text[64];
	unsigned char hash[AUTH_HASH_LEN];
	long now = (long)time(NULL), id;
	struct db_user u;
	struct caller *who = req->who;

	if (!cfg->auth) {
		reply_problem(rep, 404, "auth-off", "", "rmapd runs with --auth "
			      "off: there is nobody to log in as");
		return;
	}
	if (!login_fields(req, name, sizeof(name), pw, sizeof(pw), rep))
		return;
	snprintf(ukey, sizeof(ukey), "u:%.64s", name);
	snprintf(akey, sizeof(akey), "a:%.64s", req->peer ? req->peer : "?");
	if (login_limited(ukey, akey, rep))
		return;
	if (!password_ok(name, pw, &u)) {
		login_failed(ukey, akey);
		rep->challenge = true;
		reply_problem(rep, 401, "invalid-credentials", "password",
			      "no such user, or not that password");
		return;
	}
	pthread_mutex_lock(&fails_lock);
	fail_forget(ukey, monotonic_ms());
	pthread_mutex_unlock(&fails_lock);
	auth_secret_new("rmc_", text, sizeof(text), hash);
	if (db_token_add(g_db, u.id, hash, "browser", "write", "login", now,
			 now + LOGIN_SECONDS, &id)) {
		reply_problem(rep, 503, "storage-unavailable", "", "the login "
			      "could not be stored");
		return;
	}
	snprintf(rep->cookie, sizeof(rep->cookie), COOKIE_NAME "=%s; HttpOnly; "
		 "SameSite=Strict; Path=/; Max-Age=%d", text, LOGIN_SECONDS);
	who->user = u.id;
	who->token = id;
	snprintf(who->scope, sizeof(who->scope), "write");
	snprintf(who->via, sizeof(who->via), "cookie");
	reply_me(rep, who);
}

/* The login cookie's token is revoked, and the browser told to drop it. */
static void post_logout(const struct request *req, struct reply *rep)
{
	unsigned char hash[AUTH_HASH_LEN];
	struct db_token t;
	char cookie[64];

	if (auth_cookie(req->header ? req->header(req->conn, "Cookie") : NULL,
			cookie, sizeof(cookie))) {
		auth_secret_hash(cookie, hash);
		if (!db_token_find(g_db, hash, &t) && !strcmp(t.kind, "login"))
			db_token_revoke(g_db, t.id);
	}
	snprintf(rep->cookie, sizeof(rep->cookie), COOKIE_NAME "=; HttpOnly; "
		 "SameSite=Strict; Path=/; Max-Age=0");
	rep->status = 204;
}

/* ---- share links ---- */

#define SHARE_MAX_SECONDS	(366L * 86400)

static cJSON *share_json(const struct db_share *sh)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)sh->id);
	if (sh->pin >= 0)
		cJSON_AddNumberToObject(o, "pin", (double)sh->pin);
	else
		cJSON_AddNullToObject(o, "pin");
	cJSON_AddNumberToObject(o, "created", (double)sh->created);
	if (sh->expires)
		cJSON_AddNumberToObject(o, "expires", (double)sh->expires);
	else
		cJSON_AddNullToObject(o, "expires");
	cJSON_AddBoolToObject(o, "revoked", sh->revoked);
	return o;
}

static void list_share(const struct db_share *sh, void *arg)
{
	cJSON_AddItemToArray(arg, share_json(sh));
}

bool opt_long(const cJSON *body, const char *key, long lo, long hi,
		     long *out, struct reply *rep)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo) ||
	    v->valuedouble > (double)hi ||
	    (double)(long)v->valuedouble != v->valuedouble) {
		reply_problem(rep, 422, "invalid-value", key, "%s is a whole "
			      "number from %ld to %ld", key, lo, hi);
		return false;
	}
	*out = (long)v->valuedouble;
	return true;
}

static void post_share(const struct request *req, long id, struct reply *rep)
{
	static const char *const fields[] = { "pin", "expires_in", NULL };
	unsigned char hash[AUTH_HASH_LEN];
	struct db_share sh = { .pin = -1 };
	cJSON *body = NULL, *o;
	long now = (long)time(NULL), secs = 0, version;
	struct session *s = session_get(id);
	char text[64], url[160];

	if (!s) {
		reply_problem(rep, 404, "no-such-session", "id", "no session %ld",
			      id);
		return;
	}
	version = s->version;
	session_put(s);
	/* no body: a link to the latest state, for ever (until revoked) */
	if (req->body_len && (!(body = parse_body(req, rep)) ||
			      !only_fields(body, fields, rep) ||
			      !opt_long(body, "pin", 0, version, &sh.pin, rep) ||
			      !opt_long(body, "expires_in", 1, SHARE_MAX_SECONDS,
					&secs, rep)))
		goto out;
	auth_secret_new("rms_", text, sizeof(text), hash);
	sh.session = id;
	sh.created = now;
	sh.expires = secs ? now + secs : 0;
	if (db_share_add(g_db, id, hash, sh.pin, req->who->user, now,
			 sh.expires, &sh.id)) {
		reply_problem(rep, 503, "storage-unavailable", "", "the share "
			      "link could not be stored");
		goto out;
	}
	o = share_json(&sh);
	cJSON_AddStringToObject(o, "token", text);
	snprintf(url, sizeof(url), "/api/v1/sessions/%ld?share=%s", id, text);
	cJSON_AddStringToObject(o, "url", url);
	snprintf(url, sizeof(url), "/?share=%s#/s/%ld", text, id);
	cJSON_AddStringToObject(o, "page", url);
	snprintf(rep->location, sizeof(rep->location),
		 "/api/v1/sessions/%ld/shares/%ld", id, sh.id);
	reply_json(rep, 201, o);
out:
	cJSON_Delete(body);
}

static void shares_route(const struct request *req, long id, char **seg,
			 int n, struct reply *rep, const char **name)
{
	long sid;
	char *end;
	cJSON *o;

	if (n == 6) {
		*name = "/api/v1/sessions/{id}/shares/{share}";
		sid = strtol(seg[5], &end, 10);
		if (!method_is(req, "DELETE", rep, "DELETE"))
			return;
		if (*end || sid <= 0 || db_share_revoke(g_db, id, sid))
			reply_problem(rep, 404, "no-such-share", "share", "no "
				      "live share link %.20s of session %ld",
				      seg[5], id);
		else
			rep->status = 204;
		return;
	}
	*name = "/api/v1/sessions/{id}/shares";
	if (!strcmp(req->method, "GET")) {
		o = cJSON_CreateObject();
		db_share_list(g_db, id, list_share,
			      cJSON_AddArrayToObject(o, "shares"));
		reply_json(rep, 200, o);
	} else if (method_is(req, "POST", rep, "GET, POST")) {
		post_share(req, id, rep);
	}
}

/* ---- visibility ---- */

struct one_class {
	long id;
	int n;
};

static void count_class(const struct db_membership *m, void *arg)
{
	struct one_class *c = arg;

	c->id = m->class_id;
	c->n++;
}

/*
 * The class a session is shown to: the one named, of which its owner is
 * a member, or the owner's only class.  0 when answered.
 */
static long visible_class(const cJSON *body, long owner, struct reply *rep)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "class");
	struct one_class c = { 0, 0 };
	long id;

	if (name) {
		if (!cJSON_IsString(name) ||
		    db_class_find(g_db, name->valuestring, &id) ||
		    db_member_role(g_db, id, owner) == ROLE_NONE) {
			reply_problem(rep, 422, "invalid-value", "class", "class "
				      "names a class the session's owner is in");
			return 0;
		}
		return id;
	}
	db_memberships(g_db, owner, count_class, &c);
	if (c.n == 1)
		return c.id;
	reply_problem(rep, 422, "missing-field", "class", "the session's owner "
		      "is in %d classes: name one", c.n);
	return 0;
}

static void post_visibility(const struct request *req, long id,
			    struct reply *rep)
{
	static const char *const fields[] = { "visibility", "class", NULL };
	cJSON *body = parse_body(req, rep), *o;
	const cJSON *v;
	struct session *s;
	enum visibility vis;
	long class_id = 0;

	if (!body || !only_fields(body, fields, rep))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(body, "visibility");
	if (!cJSON_IsString(v) || (strcmp(v->valuestring, "private") &&
				   strcmp(v->valuestring, "class"))) {
		reply_problem(rep, 422, "invalid-value", "visibility",
			      "visibility is 'private' or 'class'");
		goto out;
	}
	vis = v->valuestring[0] == 'c' ? VIS_CLASS : VIS_PRIVATE;
	s = session_get(id);
	if (!s) {
		reply_problem(rep, 404, "no-such-session", "id", "no session %ld",
			      id);
		goto out;
	}
	if (vis == VIS_CLASS)
		class_id = visible_class(body, s->owner, rep);
	if (vis == VIS_CLASS && !class_id) {
		session_put(s);
		goto out;
	}
	if (db_session_set_visibility(g_db, id, vis, class_id)) {
		session_put(s);
		reply_problem(rep, 503, "storage-unavailable", "", "the "
			      "visibility was not changed");
		goto out;
	}
	session_set_visibility(s, vis, class_id);
	session_put(s);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "visibility", visibility_name(vis));
	reply_json(rep, 200, o);
out:
	cJSON_Delete(body);
}

/* ---- join codes: an instructor invites, a user joins ---- */

#define CODE_SECONDS		(7L * 86400)	/* a week, unless told */

static void post_code(const struct request *req, const char *cls,
		      struct reply *rep)
{
	static const char *const fields[] = { "role", "expires_in", NULL };
	unsigned char hash[AUTH_HASH_LEN];
	cJSON *body = NULL, *o;
	const cJSON *r;
	enum auth_role role = ROLE_STUDENT;
	long now = (long)time(NULL), secs = CODE_SECONDS, class_id, id;
	char text[64];

	if (db_class_find(g_db, cls, &class_id)) {
		reply_problem(rep, 404, "no-such-class", "class", "no class "
			      "'%.64s'", cls);
		return;
	}
	if (req->body_len && (!(body = parse_body(req, rep)) ||
			      !only_fields(body, fields, rep) ||
			      !opt_long(body, "expires_in", 1, SHARE_MAX_SECONDS,
					&secs, rep)))
		goto out;
	r = cJSON_GetObjectItemCaseSensitive(body, "role");
	if (r && (!cJSON_IsString(r) || (strcmp(r->valuestring, "student") &&
					 strcmp(r->valuestring, "ta")))) {
		reply_problem(rep, 422, "invalid-value", "role", "a join code "
			      "makes a student or a ta");
		goto out;
	}
	if (r && !strcmp(r->valuestring, "ta"))
		role = ROLE_TA;
	auth_secret_new("rmj_", text, sizeof(text), hash);
	if (db_join_code_add(g_db, class_id, hash, role, now, now + secs, &id)) {
		reply_problem(rep, 503, "storage-unavailable", "", "the join "
			      "code could not be stored");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "code", text);
	cJSON_AddStringToObject(o, "class", cls);
	cJSON_AddStringToObject(o, "role", auth_role_name(role));
	cJSON_AddNumberToObject(o, "expires", (double)(now + secs));
	snprintf(rep->location, sizeof(rep->location),
		 "/api/v1/classes/%.64s/codes/%ld", cls, id);
	reply_json(rep, 201, o);
out:
	cJSON_Delete(body);
}

static void delete_code(const char *cls, const char *id_text,
			struct reply *rep)
{
	long class_id = 0, id;
	char *end;

	id = strtol(id_text, &end, 10);
	if (*end || id <= 0 || db_class_find(g_db, cls, &class_id) ||
	    db_join_code_revoke(g_db, class_id, id)) {
		reply_problem(rep, 404, "no-such-code", "code", "no live join "
			      "code %.20s of class '%.64s'", id_text, cls);
		return;
	}
	rep->status = 204;
}

/* Joining never lowers a role: an instructor who uses a code stays one. */
static void post_join(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "code", NULL };
	unsigned char hash[AUTH_HASH_LEN];
	cJSON *body;
	const cJSON *code;
	enum auth_role role, had;
	long class_id;

	if (!g_cfg->auth) {
		reply_problem(rep, 404, "auth-off", "", "rmapd runs with --auth "
			      "off: there are no classes to join");
		return;
	}
	body = parse_body(req, rep);
	if (!body || !only_fields(body, fields, rep))
		goto out;
	code = cJSON_GetObjectItemCaseSensitive(body, "code");
	if (!cJSON_IsString(code)) {
		reply_problem(rep, 422, "missing-field", "code", "the body is "
			      "{\"code\": \"rmj_...\"}");
		goto out;
	}
	auth_secret_hash(code->valuestring, hash);
	if (db_join_code_find(g_db, hash, (long)time(NULL), &class_id, &role)) {
		reply_problem(rep, 404, "no-such-code", "code", "no live join "
			      "code like that (unknown, expired or revoked)");
		goto out;
	}
	had = db_member_role(g_db, class_id, req->who->user);
	if (had < role && db_member_set(g_db, class_id, req->who->user, role)) {
		reply_problem(rep, 503, "storage-unavailable", "", "the "
			      "membership could not be stored");
		goto out;
	}
	reply_me(rep, req->who);
out:
	cJSON_Delete(body);
}

/* ---- live lessons: a class follows one session of its instructor ---- */

static void add_walk(cJSON *o, const struct db_live_walk *w)
{
	cJSON *j;

	if (!w->kind[0]) {
		cJSON_AddNullToObject(o, "walk");
		return;
	}
	j = cJSON_AddObjectToObject(o, "walk");
	cJSON_AddNumberToObject(j, "pfn", (double)w->pfn);
	cJSON_AddStringToObject(j, "kind", w->kind);
	cJSON_AddNumberToObject(j, "step", (double)w->step);
}

static void get_live(long class_id, struct reply *rep)
{
	struct session_access sa;
	struct db_live_walk walk;
	long session, step;
	cJSON *o = cJSON_CreateObject();
	char url[64];

	db_class_live(g_db, class_id, &session, &step, &walk);
	if (!session || !session_access_info(session, &sa)) {
		cJSON_AddNullToObject(o, "session");
		cJSON_AddNullToObject(o, "step");
		cJSON_AddNullToObject(o, "walk");
		reply_json(rep, 200, o);
		return;
	}
	cJSON_AddNumberToObject(o, "session", (double)session);
	if (step >= 0)
		cJSON_AddNumberToObject(o, "step", (double)step);
	else
		cJSON_AddNullToObject(o, "step");
	add_walk(o, &walk);
	snprintf(url, sizeof(url), "/api/v1/sessions/%ld", session);
	cJSON_AddStringToObject(o, "url", url);
	reply_json(rep, 200, o);
}

/*
 * The walk the instructor shows (absent or null: none): a frame, the walk
 * step shown (0: its start) and a kind that only reads.  A walk that
 * changes the session (try_to_unmap, folio_referenced) is an op of the
 * instructor's, which followers see as state.
 */
static bool walk_field(const cJSON *body, struct db_live_walk *w,
		       struct reply *rep)
{
	static const char *const fields[] = { "pfn", "kind", "step", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "walk");
	const cJSON *kind;

	w->kind[0] = '\0';
	w->pfn = w->step = -1;
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsObject(v)) {
		reply_problem(rep, 422, "invalid-type", "walk", "walk is null "
			      "or {\"pfn\", \"kind\", \"step\"}");
		return false;
	}
	if (!only_fields(v, fields, rep))
		return false;
	kind = cJSON_GetObjectItemCaseSensitive(v, "kind");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "rmap_walk")) {
		reply_problem(rep, 422, "invalid-value", "walk.kind", "a live "
			      "walk's kind is rmap_walk: the walks that change "
			      "the session are ops, followed as its state");
		return false;
	}
	if (!opt_long(v, "pfn", 0, 1L << 40, &w->pfn, rep) ||
	    !opt_long(v, "step", 0, 1L << 40, &w->step, rep))
		return false;
	if (w->pfn < 0 || w->step < 0) {
		reply_problem(rep, 422, "invalid-value", "walk", "a walk names "
			      "its pfn and its step");
		return false;
	}
	snprintf(w->kind, sizeof(w->kind), "%s", kind->valuestring);
	return true;
}

/*
 * The instructor names one of their sessions (and the lesson's step): the
 * class's members may then read it, and its followers' event streams wake.
 */
static void post_live(const struct request *req, long class_id,
		      struct reply *rep)
{
	static const char *const fields[] = { "session", "step", "walk", NULL };
	cJSON *body = parse_body(req, rep);
	struct session_access sa;
	struct db_live_walk walk;
	long session = 0, step = -1;

	if (!body || !only_fields(body, fields, rep) ||
	    !opt_long(body, "session", 1, 1L << 40, &session, rep) ||
	    !opt_long(body, "step", 0, 1L << 40, &step, rep) ||
	    !walk_field(body, &walk, rep))
		goto out;
	if (!session || !session_access_info(session, &sa) ||
	    (sa.owner != req->who->user && !req->who->admin)) {
		reply_problem(rep, 422, "invalid-value", "session", "session "
			      "names one of your sessions");
		goto out;
	}
	if (db_class_set_live(g_db, class_id, session, step, &walk)) {
		reply_problem(rep, 503, "storage-unavailable", "", "the live "
			      "lesson was not set");
		goto out;
	}
	streams_notify_live(session, step, &walk, true);
	get_live(class_id, rep);
out:
	cJSON_Delete(body);
}

static void live_route(const struct request *req, const char *cls,
		       struct reply *rep)
{
	long class_id, was, step;

	if (strcmp(req->method, "GET") && strcmp(req->method, "POST") &&
	    !method_is(req, "DELETE", rep, "GET, POST, DELETE"))
		return;
	if (db_class_find(g_db, cls, &class_id)) {
		reply_problem(rep, 404, "no-such-class", "class", "no class "
			      "'%.64s'", cls);
		return;
	}
	if (!strcmp(req->method, "GET")) {
		get_live(class_id, rep);
	} else if (!strcmp(req->method, "POST")) {
		post_live(req, class_id, rep);
	} else {
		db_class_live(g_db, class_id, &was, &step, NULL);
		if (db_class_set_live(g_db, class_id, 0, -1, NULL)) {
			reply_problem(rep, 503, "storage-unavailable", "", "the "
				      "live lesson was not stopped");
			return;
		}
		if (was)
			streams_notify_live(was, -1, NULL, false);
		rep->status = 204;
	}
}

static bool classes_route(const struct request *req, char **seg, int n,
			  struct reply *rep, const char **name)
{
	if (n == 5 && !strcmp(seg[2], "classes") && !strcmp(seg[4], "live")) {
		*name = "/api/v1/classes/{class}/live";
		live_route(req, seg[3], rep);
		return true;
	}
	if (n == 3 && !strcmp(seg[2], "join")) {
		*name = "/api/v1/join";
		if (method_is(req, "POST", rep, "POST"))
			post_join(req, rep);
		return true;
	}
	if (n < 5 || n > 6 || strcmp(seg[2], "classes") ||
	    strcmp(seg[4], "codes"))
		return false;
	if (n == 5) {
		*name = "/api/v1/classes/{class}/codes";
		if (method_is(req, "POST", rep, "POST"))
			post_code(req, seg[3], rep);
		return true;
	}
	*name = "/api/v1/classes/{class}/codes/{code}";
	if (method_is(req, "DELETE", rep, "DELETE"))
		delete_code(seg[3], seg[5], rep);
	return true;
}

bool auth_route(const struct config *cfg, const struct request *req,
		char **seg, int n, struct reply *rep, const char **name)
{
	long id;
	char *end;

	if (classes_page_route(req, seg, n, rep, name) ||
	    classes_route(req, seg, n, rep, name))
		return true;
	if (n == 3 && (!strcmp(seg[2], "login") || !strcmp(seg[2], "logout"))) {
		*name = seg[2][3] == 'i' ? "/api/v1/login" : "/api/v1/logout";
		if (method_is(req, "POST", rep, "POST"))
			(seg[2][3] == 'i' ? post_login(cfg, req, rep)
					  : post_logout(req, rep));
		return true;
	}
	if (n == 3 && !strcmp(seg[2], "me")) {
		*name = "/api/v1/me";
		if (method_is(req, "GET", rep, "GET"))
			get_me(cfg, req, rep);
		return true;
	}
	if (n < 5 || strcmp(seg[2], "sessions") ||
	    (strcmp(seg[4], "shares") && strcmp(seg[4], "visibility")) ||
	    (seg[4][0] == 'v' && n != 5) || n > 6)
		return false;
	id = strtol(seg[3], &end, 10);
	if (*end || id <= 0 || seg[3][0] == '0') {
		reply_problem(rep, 404, "no-such-session", "id", "no session "
			      "'%.40s'", seg[3]);
		return true;
	}
	if (!session_access_info(id, &(struct session_access){ 0 })) {
		reply_problem(rep, 404, "no-such-session", "id", "no session %ld",
			      id);
		return true;
	}
	if (seg[4][0] == 's') {
		shares_route(req, id, seg, n, rep, name);
		return true;
	}
	*name = "/api/v1/sessions/{id}/visibility";
	if (method_is(req, "POST", rep, "POST"))
		post_visibility(req, id, rep);
	return true;
}

void auth_forget(void)
{
	pthread_mutex_lock(&fails_lock);
	memset(fails, 0, sizeof(fails));
	pthread_mutex_unlock(&fails_lock);
}
