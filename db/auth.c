// SPDX-License-Identifier: MIT
/*
 * auth.c - the store of users, tokens, classes, memberships, join codes,
 * share links, quotas and session ownership, on db.c's connections: writes
 * through its one writer (so the fault record and busy limits hold), reads
 * through its readers.  Portable SQL: ON CONFLICT, no INSERT OR IGNORE,
 * times from the caller rather than the database's clock.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "sql.h"

static const char *const role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_STUDENT] = "student",
	[ROLE_TA] = "ta",
	[ROLE_INSTRUCTOR] = "instructor",
};

const char *auth_role_name(enum auth_role role)
{
	return role_names[role];
}

enum auth_role auth_role_parse(const char *s)
{
	int r;

	for (r = ROLE_STUDENT; s && r <= ROLE_INSTRUCTOR; r++)
		if (!strcmp(s, role_names[r]))
			return (enum auth_role)r;
	return ROLE_NONE;
}

const char *visibility_name(enum visibility v)
{
	return v == VIS_CLASS ? "class" : "private";
}

static void copy_text(char *dst, size_t size, struct db_stmt *st, int col)
{
	const char *t = db_col_text(st, col);

	snprintf(dst, size, "%s", t ? t : "");
}

static long col_long(struct db_stmt *st, int col)
{
	return db_col_long(st, col);
}

/*
 * The first row of st (a query on the reader tok) through fn into out, then
 * st and the reader let go: 0, DB_NOT_FOUND or -1.
 */
static int first_row(struct db_stmt *st, void *tok,
		     void (*fn)(struct db_stmt *st, void *out), void *out)
{
	int rc = -1;

	/* a database that does not answer is not a row that is not there */
	switch (st ? db_stmt_step(st) : DB_STEP_ERROR) {
	case DB_STEP_ROW:
		fn(st, out);
		rc = 0;
		break;
	case DB_STEP_DONE:
		rc = DB_NOT_FOUND;
		break;
	default:
		break;
	}
	db_stmt_free(st);
	db_read_end(tok);
	return rc;
}

static void row_to_long(struct db_stmt *st, void *out)
{
	*(long *)out = col_long(st, 0);
}

/*
 * Step st in the write transaction the caller began, and end it; *changed
 * gets how many rows it touched.  0 or -1.
 */
static int write_stmt(struct db *db, struct db_stmt *st, int *changed)
{
	int err = !st || db_stmt_step(st) != DB_STEP_DONE;

	if (changed)
		*changed = err ? 0 : (int)db_stmt_changes(st);
	db_stmt_free(st);
	return db_write_end(db, err ? -1 : 0);
}

/* ---- users ---- */

#define USER_COLUMNS "id, name, display, admin, pwhash IS NOT NULL, created"

/* the user's columns (USER_COLUMNS) from column c on */
static void row_to_user(struct db_stmt *st, int c, struct db_user *u)
{
	u->id = col_long(st, c);
	copy_text(u->name, sizeof(u->name), st, c + 1);
	copy_text(u->display, sizeof(u->display), st, c + 2);
	u->admin = db_col_long(st, c + 3) != 0;
	u->has_password = db_col_long(st, c + 4) != 0;
	u->created = col_long(st, c + 5);
}

/*
 * A list's reader given back: 0, or -1 if it could not be made or a step
 * failed (a loop "while a row" also ends on an error: not the list's end).
 */
static int list_end(struct db_stmt *st, void *tok)
{
	int rc = st && !st->failed ? 0 : -1;

	db_stmt_free(st);
	db_read_end(tok);
	return rc;
}

int db_user_add(struct db *db, const char *name, const char *display,
		const char *pwhash, bool admin, long now, long *id)
{
	struct db_user u;
	int changed = 0;

	if (db_write_begin(db))
		return -1;
	if (write_stmt(db, db_sql_prep(db_writer(db), "INSERT INTO users(name, "
				       "display, pwhash, admin, created) VALUES(?, "
				       "?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
				       "tttll", name, display ? display : "",
				       pwhash, (long)admin, now), &changed))
		return -1;
	if (db_user_get(db, name, &u, NULL))
		return -1;
	*id = u.id;
	return changed ? 0 : DB_EXISTS;
}

static int user_query(struct db *db, const char *where, const char *fmt,
		      long id, const char *name, struct db_user *out,
		      char *pwhash)
{
	char sql[200];
	struct db_stmt *st;
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	int rc = -1;

	snprintf(sql, sizeof(sql), "SELECT " USER_COLUMNS ", pwhash FROM users "
		 "WHERE %s", where);
	st = fmt[0] == 'l' ? db_sql_prep(h, sql, fmt, id)
			   : db_sql_prep(h, sql, fmt, name);
	if (st) {
		rc = DB_NOT_FOUND;
		if (db_stmt_step(st) == DB_STEP_ROW) {
			row_to_user(st, 0, out);
			if (pwhash)
				copy_text(pwhash, AUTH_PWHASH_MAX, st, 6);
			rc = 0;
		}
	}
	db_stmt_free(st);
	db_read_end(tok);
	return rc;
}

int db_user_get(struct db *db, const char *name, struct db_user *out,
		char *pwhash)
{
	return user_query(db, "name = ?", "t", 0, name, out, pwhash);
}

int db_user_by_id(struct db *db, long id, struct db_user *out)
{
	return user_query(db, "id = ?", "l", id, NULL, out, NULL);
}

/* A statement changing rows by name: 0, DB_NOT_FOUND (none) or -1. */
static int change_rows(struct db *db, struct db_stmt *st)
{
	int changed = 0;

	if (write_stmt(db, st, &changed))
		return -1;
	return changed ? 0 : DB_NOT_FOUND;
}

/*
 * In the caller's write transaction: credentials changed, so what a
 * daemon verified and cached before is to be verified again.
 */
static int bump_epoch(struct db *db)
{
	return db_sql_step(db_writer(db), "UPDATE auth_epoch SET n = n + 1 "
			   "WHERE id = 1", "");
}

/* the same for who may read what (memberships, live lessons) */
static int bump_access(struct db *db)
{
	return db_sql_step(db_writer(db), "UPDATE auth_epoch SET n = n + 1 "
			   "WHERE id = 2", "");
}

/* db_write_begin, and the epoch bumped in that transaction */
static int write_begin_bumped(struct db *db)
{
	if (db_write_begin(db))
		return -1;
	if (bump_epoch(db)) {
		db_write_end(db, -1);
		return -1;
	}
	return 0;
}

int db_user_set_password(struct db *db, const char *name, const char *pwhash)
{
	if (write_begin_bumped(db))
		return -1;
	return change_rows(db, db_sql_prep(db_writer(db), "UPDATE users SET "
					   "pwhash = ? WHERE name = ?", "tt",
					   pwhash, name));
}

int db_user_remove(struct db *db, const char *name)
{
	if (write_begin_bumped(db))
		return -1;
	if (bump_access(db))
		return db_write_end(db, -1);
	return change_rows(db, db_sql_prep(db_writer(db), "DELETE FROM users "
					   "WHERE name = ?", "t", name));
}

int db_user_list(struct db *db, void (*fn)(const struct db_user *, void *),
		 void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT " USER_COLUMNS " FROM users "
				       "ORDER BY name", "");
	struct db_user u;

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		row_to_user(st, 0, &u);
		fn(&u, arg);
	}
	return list_end(st, tok);
}

/* ---- tokens ---- */

#define TOKEN_COLUMNS "id, user_id, name, scope, kind, created, " \
	"COALESCE(expires, 0), revoked IS NOT NULL"

static void row_to_token(struct db_stmt *st, struct db_token *t)
{
	t->id = col_long(st, 0);
	t->user = col_long(st, 1);
	copy_text(t->name, sizeof(t->name), st, 2);
	copy_text(t->scope, sizeof(t->scope), st, 3);
	copy_text(t->kind, sizeof(t->kind), st, 4);
	t->created = col_long(st, 5);
	t->expires = col_long(st, 6);
	t->revoked = db_col_long(st, 7) != 0;
}

/* an insert ... RETURNING id, whose new row's id the caller wants */
static int insert_id(struct db *db, struct db_stmt *st, long *id)
{
	int err = !st || db_stmt_step(st) != DB_STEP_ROW;

	if (!err && id)
		*id = col_long(st, 0);
	if (!err)
		err = db_stmt_step(st) != DB_STEP_DONE;
	db_stmt_free(st);
	return db_write_end(db, err ? -1 : 0);
}

int db_token_add(struct db *db, long user, const unsigned char *hash,
		 const char *name, const char *scope, const char *kind,
		 long now, long expires, long *id)
{
	if (db_write_begin(db))
		return -1;
	return insert_id(db, db_sql_prep(db_writer(db), "INSERT INTO tokens("
					 "user_id, hash, name, scope, kind, "
					 "created, expires) VALUES(?, ?, ?, ?, "
					 "?, ?, ?) RETURNING id", "lbtttln", user, hash,
					 (size_t)AUTH_HASH_LEN, name, scope,
					 kind, now, expires), id);
}

static void token_row(struct db_stmt *st, void *out)
{
	row_to_token(st, out);
}

struct token_user {
	struct db_token *t;
	struct db_user *u;
};

static void token_user_row(struct db_stmt *st, void *out)
{
	struct token_user *tu = out;

	row_to_token(st, tu->t);
	row_to_user(st, 8, tu->u);
}

/* one query per request that carries a token: it and its user */
int db_token_user(struct db *db, const unsigned char *hash,
		  struct db_token *t, struct db_user *u)
{
	struct token_user tu = { t, u };
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, "SELECT tokens.id, user_id, "
				     "tokens.name, scope, kind, tokens.created, "
				     "COALESCE(expires, 0), revoked IS NOT NULL, "
				     "users.id, users.name, display, admin, "
				     "pwhash IS NOT NULL, users.created FROM "
				     "tokens JOIN users ON users.id = user_id "
				     "WHERE hash = ?", "b", hash,
				     (size_t)AUTH_HASH_LEN), tok, token_user_row,
			 &tu);
}

int db_token_find(struct db *db, const unsigned char *hash,
		  struct db_token *out)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, "SELECT " TOKEN_COLUMNS " FROM tokens "
				     "WHERE hash = ?", "b", hash,
				     (size_t)AUTH_HASH_LEN), tok, token_row, out);
}

int db_token_revoke(struct db *db, long id)
{
	if (write_begin_bumped(db))
		return -1;
	return change_rows(db, db_sql_prep(db_writer(db), "UPDATE tokens SET "
					   "revoked = ? WHERE id = ? AND revoked "
					   "IS NULL", "ll", (long)time(NULL),
					   id));
}

int db_token_list(struct db *db, long user, const char *kind,
		  void (*fn)(const struct db_token *, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT " TOKEN_COLUMNS " FROM tokens "
				       "WHERE user_id = ? AND kind = ? ORDER BY "
				       "id", "lt", user, kind);
	struct db_token t;

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		row_to_token(st, &t);
		fn(&t, arg);
	}
	return list_end(st, tok);
}

/* ---- classes ---- */

int db_class_find(struct db *db, const char *name, long *id)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, "SELECT id FROM classes WHERE name = ?",
				     "t", name), tok, row_to_long, id);
}

int db_class_create(struct db *db, const char *name, long now, long *id)
{
	int changed = 0;

	if (db_write_begin(db))
		return -1;
	if (write_stmt(db, db_sql_prep(db_writer(db), "INSERT INTO classes(name, "
				       "created) VALUES(?, ?) ON CONFLICT (name) "
				       "DO NOTHING", "tl", name, now), &changed))
		return -1;
	if (db_class_find(db, name, id))
		return -1;
	return changed ? 0 : DB_EXISTS;
}

int db_member_set(struct db *db, long class_id, long user, enum auth_role role)
{
	if (db_write_begin(db))
		return -1;
	if (bump_access(db))
		return db_write_end(db, -1);
	return write_stmt(db, db_sql_prep(db_writer(db), "INSERT INTO "
					  "memberships(class_id, user_id, role) "
					  "VALUES(?, ?, ?) ON CONFLICT (class_id, "
					  "user_id) DO UPDATE SET role = "
					  "excluded.role", "llt", class_id, user,
					  auth_role_name(role)), NULL);
}

int db_memberships(struct db *db, long user,
		   void (*fn)(const struct db_membership *, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT m.class_id, c.name, m.role "
				       "FROM memberships m JOIN classes c ON "
				       "c.id = m.class_id WHERE m.user_id = ? "
				       "ORDER BY c.name", "l", user);
	struct db_membership m;
	char role[16];

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		m.class_id = col_long(st, 0);
		copy_text(m.class_name, sizeof(m.class_name), st, 1);
		copy_text(role, sizeof(role), st, 2);
		m.role = auth_role_parse(role);
		fn(&m, arg);
	}
	return list_end(st, tok);
}

/* whether the query (binding two longs) has a row */
static bool exists(struct db *db, const char *sql, long a, long b)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, sql, "ll", a, b);
	bool yes = st && db_stmt_step(st) == DB_STEP_ROW;

	db_stmt_free(st);
	db_read_end(tok);
	return yes;
}

/*
 * Who follows a session changes with the class's live session, not with
 * its step: a new step keeps what readers have cached.
 */
int db_class_set_live(struct db *db, long class_id, long session, long step,
		      const struct db_live_walk *walk)
{
	bool walking = session > 0 && walk && walk->kind[0];

	if (db_write_begin(db))
		return -1;
	db_notice(db, session);		/* a stop (0): anything may have */
	if (db_sql_step(db_writer(db), "UPDATE auth_epoch SET n = n + 1 WHERE "
			"id = 2 AND EXISTS (SELECT 1 FROM classes WHERE id = ? AND "
			"COALESCE(live_session, 0) <> ?)", "ll", class_id,
			session > 0 ? session : 0))
		return db_write_end(db, -1);
	return write_stmt(db, db_sql_prep(db_writer(db), "UPDATE classes SET "
					  "live_session = ?, live_step = ?, "
					  "live_walk_kind = ?, live_walk_pfn = ?, "
					  "live_walk_step = ? WHERE id = ?",
					  "nntnnl", session,
					  session > 0 && step >= 0 ? step + 1 : 0,
					  walking ? walk->kind : NULL,
					  walking ? walk->pfn + 1 : 0,
					  walking ? walk->step + 1 : 0,
					  class_id), NULL);
}

struct live_row {
	long session, step;
	struct db_live_walk walk;
};

/* steps and pfns are stored + 1: 0 is one too */
static void row_to_live(struct db_stmt *st, void *out)
{
	struct live_row *l = out;

	l->session = col_long(st, 0);
	l->step = col_long(st, 1) - 1;
	copy_text(l->walk.kind, sizeof(l->walk.kind), st, 2);
	l->walk.pfn = col_long(st, 3) - 1;
	l->walk.step = col_long(st, 4) - 1;
}

#define LIVE_SELECT "SELECT COALESCE(live_session, 0), COALESCE(live_step, " \
	"0), live_walk_kind, COALESCE(live_walk_pfn, 0), " \
	"COALESCE(live_walk_step, 0) FROM classes "

/* the live lesson of the first class that sql (one id bound) finds */
static int live_of(struct db *db, const char *sql, long id, struct live_row *l)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, sql, "l", id), tok, row_to_live, l);
}

int db_class_live(struct db *db, long class_id, long *session, long *step,
		  struct db_live_walk *walk)
{
	struct live_row l = { 0, -1, { "", -1, -1 } };
	int rc = live_of(db, LIVE_SELECT "WHERE id = ?", class_id, &l);

	*session = l.session;
	*step = l.step;
	if (walk)
		*walk = l.walk;
	return rc ? -1 : 0;
}

int db_session_live(struct db *db, long session, long *step,
		    struct db_live_walk *walk)
{
	struct live_row l = { 0, -1, { "", -1, -1 } };
	int rc = live_of(db, LIVE_SELECT "WHERE live_session = ? ORDER BY id "
			 "LIMIT 1", session, &l);

	*step = l.step;
	*walk = l.walk;
	return rc;
}

bool db_follows(struct db *db, long user, long session)
{
	return exists(db, "SELECT 1 FROM classes c JOIN memberships m ON "
		      "m.class_id = c.id WHERE m.user_id = ? AND "
		      "c.live_session = ?", user, session);
}

bool db_teaches(struct db *db, long staff, long student)
{
	return exists(db, "SELECT 1 FROM memberships a JOIN memberships b ON "
		      "a.class_id = b.class_id WHERE a.user_id = ? AND a.role "
		      "IN ('instructor', 'ta') AND b.user_id = ? AND b.role = "
		      "'student'", staff, student);
}

enum auth_role db_member_role(struct db *db, long class_id, long user)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT role FROM memberships WHERE "
				       "class_id = ? AND user_id = ?", "ll",
				       class_id, user);
	enum auth_role r = ROLE_NONE;

	if (st && db_stmt_step(st) == DB_STEP_ROW)
		r = auth_role_parse(db_col_text(st, 0));
	db_stmt_free(st);
	db_read_end(tok);
	return r;
}

int db_join_code_add(struct db *db, long class_id, const unsigned char *hash,
		     enum auth_role role, long now, long expires, long *id)
{
	if (db_write_begin(db))
		return -1;
	return insert_id(db, db_sql_prep(db_writer(db), "INSERT INTO "
					 "join_codes(hash, class_id, role, "
					 "created, expires) VALUES(?, ?, ?, ?, "
					 "?) RETURNING id", "bltln", hash,
					 (size_t)AUTH_HASH_LEN, class_id,
					 auth_role_name(role), now, expires),
			 id);
}

struct code_row {
	long class_id;
	enum auth_role role;
};

static void row_to_code(struct db_stmt *st, void *out)
{
	struct code_row *c = out;

	c->class_id = col_long(st, 0);
	c->role = auth_role_parse(db_col_text(st, 1));
}

int db_join_code_find(struct db *db, const unsigned char *hash, long now,
		      long *class_id, enum auth_role *role)
{
	struct code_row c;
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	int rc = first_row(db_sql_prep(h, "SELECT class_id, role FROM "
				       "join_codes WHERE hash = ? AND revoked "
				       "IS NULL AND (expires IS NULL OR expires "
				       ">= ?)", "bl", hash, (size_t)AUTH_HASH_LEN,
				       now), tok, row_to_code, &c);

	if (!rc) {
		*class_id = c.class_id;
		*role = c.role;
	}
	return rc;
}

int db_join_code_revoke(struct db *db, long class_id, long id)
{
	if (db_write_begin(db))
		return -1;
	return change_rows(db, db_sql_prep(db_writer(db), "UPDATE join_codes "
					   "SET revoked = ? WHERE id = ? AND "
					   "class_id = ? AND revoked IS NULL",
					   "lll", (long)time(NULL), id,
					   class_id));
}

/* ---- share links ---- */

#define SHARE_COLUMNS "id, session, COALESCE(pin, -1), created, " \
	"COALESCE(expires, 0), revoked IS NOT NULL"

static void row_to_share(struct db_stmt *st, struct db_share *s)
{
	s->id = col_long(st, 0);
	s->session = col_long(st, 1);
	s->pin = col_long(st, 2);
	s->created = col_long(st, 3);
	s->expires = col_long(st, 4);
	s->revoked = db_col_long(st, 5) != 0;
}

int db_share_add(struct db *db, long session, const unsigned char *hash,
		 long pin, long by, long now, long expires, long *id)
{
	struct db_stmt *st;

	if (db_write_begin(db))
		return -1;
	/* pin 0 is a real step (the empty state): bound as NULL only if < 0 */
	st = pin >= 0 ?
	     db_sql_prep(db_writer(db), "INSERT INTO shares(session, hash, "
			 "pin, created_by, created, expires) VALUES(?, ?, ?, ?, "
			 "?, ?) RETURNING id", "lblnln", session, hash,
			 (size_t)AUTH_HASH_LEN, pin, by, now, expires) :
	     db_sql_prep(db_writer(db), "INSERT INTO shares(session, hash, "
			 "created_by, created, expires) VALUES(?, ?, ?, ?, ?) "
			 "RETURNING id", "lbnln", session, hash, (size_t)AUTH_HASH_LEN, by, now,
			 expires);
	return insert_id(db, st, id);
}

static void share_row(struct db_stmt *st, void *out)
{
	row_to_share(st, out);
}

int db_share_find(struct db *db, const unsigned char *hash,
		  struct db_share *out)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, "SELECT " SHARE_COLUMNS " FROM shares "
				     "WHERE hash = ?", "b", hash,
				     (size_t)AUTH_HASH_LEN), tok, share_row, out);
}

int db_share_revoke(struct db *db, long session, long id)
{
	if (write_begin_bumped(db))
		return -1;
	return change_rows(db, db_sql_prep(db_writer(db), "UPDATE shares SET "
					   "revoked = ? WHERE id = ? AND session "
					   "= ? AND revoked IS NULL", "lll",
					   (long)time(NULL), id, session));
}

int db_share_list(struct db *db, long session,
		  void (*fn)(const struct db_share *, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT " SHARE_COLUMNS " FROM shares "
				       "WHERE session = ? ORDER BY id", "l",
				       session);
	struct db_share s;

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		row_to_share(st, &s);
		fn(&s, arg);
	}
	return list_end(st, tok);
}

/* ---- quotas ---- */

int db_quota_set(struct db *db, long user, long class_id, const char *kind,
		 long value)
{
	if (db_write_begin(db))
		return -1;
	if (db_sql_step(db_writer(db), "DELETE FROM quotas WHERE COALESCE("
			"user_id, 0) = ? AND COALESCE(class_id, 0) = ? AND kind "
			"= ?", "llt", user, class_id, kind))
		return db_write_end(db, -1);
	return write_stmt(db, db_sql_prep(db_writer(db), "INSERT INTO quotas("
					  "user_id, class_id, kind, value) "
					  "VALUES(?, ?, ?, ?)", "nntl", user,
					  class_id, kind, value), NULL);
}

int db_quota_get(struct db *db, long user, long class_id, const char *kind,
		 long *value)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);

	return first_row(db_sql_prep(h, "SELECT value FROM quotas WHERE "
				     "COALESCE(user_id, 0) = ? AND COALESCE("
				     "class_id, 0) = ? AND kind = ?", "llt", user,
				     class_id, kind), tok, row_to_long, value);
}

/* ---- sessions ---- */

int db_session_set_visibility(struct db *db, long session, enum visibility v,
			      long class_id)
{
	/* other nodes holding the session read it again (the access epoch) */
	if (db_write_begin(db))
		return -1;
	if (bump_access(db))
		return db_write_end(db, -1);
	return change_rows(db, db_sql_prep(db_writer(db), "UPDATE sessions SET "
					   "visibility = ?, class_id = ? WHERE "
					   "id = ?", "tnl", visibility_name(v),
					   class_id, session));
}

/* ---- what a class's page shows ---- */

int db_classes_all(struct db *db,
		   void (*fn)(const struct db_membership *, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT id, name FROM classes ORDER "
				       "BY name", "");
	struct db_membership m = { .role = ROLE_NONE };

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		m.class_id = col_long(st, 0);
		copy_text(m.class_name, sizeof(m.class_name), st, 1);
		fn(&m, arg);
	}
	return list_end(st, tok);
}

int db_class_members(struct db *db, long class_id,
		     void (*fn)(const struct db_member *, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT " USER_COLUMNS ", m.role FROM "
				       "memberships m JOIN users ON users.id = "
				       "m.user_id WHERE m.class_id = ? ORDER BY "
				       "users.name", "l", class_id);
	struct db_member m;
	char role[16];

	while (st && db_stmt_step(st) == DB_STEP_ROW) {
		row_to_user(st, 0, &m.user);
		copy_text(role, sizeof(role), st, 6);
		m.role = auth_role_parse(role);
		fn(&m, arg);
	}
	return list_end(st, tok);
}

int db_lesson_add(struct db *db, long class_id, long session, long now)
{
	if (db_write_begin(db))
		return -1;
	return write_stmt(db, db_sql_prep(db_writer(db), "INSERT INTO lessons("
					  "class_id, session, published) VALUES("
					  "?, ?, ?) ON CONFLICT (class_id, "
					  "session) DO NOTHING", "lll", class_id,
					  session, now), NULL);
}

int db_lesson_remove(struct db *db, long class_id, long session)
{
	if (db_write_begin(db))
		return -1;
	return change_rows(db, db_sql_prep(db_writer(db), "DELETE FROM lessons "
					   "WHERE class_id = ? AND session = ?",
					   "ll", class_id, session));
}

int db_lessons(struct db *db, long class_id,
	       void (*fn)(long session, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT session FROM lessons WHERE "
				       "class_id = ? ORDER BY published, session",
				       "l", class_id);

	while (st && db_stmt_step(st) == DB_STEP_ROW)
		fn(col_long(st, 0), arg);
	return list_end(st, tok);
}

int db_session_touch(struct db *db, long session, long when)
{
	if (db_write_begin(db))
		return -1;
	return write_stmt(db, db_sql_prep(db_writer(db), "UPDATE sessions SET "
					  "last_activity = ? WHERE id = ?", "ll",
					  when, session), NULL);
}

int db_session_activity(struct db *db, long owner,
			void (*fn)(long session, long when, void *), void *arg)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	struct db_stmt *st = db_sql_prep(h, "SELECT id, COALESCE(last_activity, "
				       "0) FROM sessions WHERE owner = ?", "l",
				       owner);

	while (st && db_stmt_step(st) == DB_STEP_ROW)
		fn(col_long(st, 0), col_long(st, 1), arg);
	return list_end(st, tok);
}

/* bytes, not characters: an op's text may hold UTF-8 file names */
int db_user_stored_bytes(struct db *db, long user, long *bytes)
{
	void *tok;
	struct db_conn *h = db_read_begin(db, &tok);
	char ops[64], sql[512];

	snprintf(ops, sizeof(ops), h->drv->text_bytes, "j.op");
	snprintf(sql, sizeof(sql), "SELECT (SELECT COALESCE(SUM(%s), 0) FROM "
		 "journal j JOIN sessions s ON s.id = j.session WHERE "
		 "s.owner = ?) + (SELECT COALESCE(SUM(LENGTH(n.dump)), 0) FROM "
		 "snapshots n JOIN sessions s ON s.id = n.session WHERE "
		 "s.owner = ?)", ops);
	return first_row(db_sql_prep(h, sql, "ll", user, user), tok,
			 row_to_long, bytes);
}

/*
 * The epochs, on a connection of its own: where the engine has a counter
 * of other connections' commits (SQLite's data_version), the epochs are
 * read only when it moved, so that a daemon busy with requests (and not
 * with revocations) reads no page for them; elsewhere they are read on
 * every look.
 */
static struct {
	pthread_mutex_t lock;
	struct db *db;
	struct db_conn *h;
	struct db_stmt *version, *epochs;
	long long seen;		/* data_version at the last look */
	long value[2];		/* the epochs then, -1: unknown */
	/* the last epochs read, of known_db, and when (-1: never) */
	long known[2];
	long long known_ms;
	struct db *known_db;
} watch = { .lock = PTHREAD_MUTEX_INITIALIZER, .value = { -1, -1 } };

static void watch_close(void)
{
	db_stmt_free(watch.version);
	db_stmt_free(watch.epochs);
	if (watch.h)
		watch.h->drv->close(watch.h);
	watch.version = watch.epochs = NULL;
	watch.h = NULL;
	watch.db = NULL;
	watch.value[0] = watch.value[1] = -1;
}

static int watch_open(struct db *db)
{
	const struct db_driver *drv;

	watch_close();
	watch.h = db_conn_own(db);
	if (!watch.h)
		return -1;
	drv = watch.h->drv;
	watch.epochs = drv->prepare(watch.h, "SELECT id, n FROM auth_epoch",
				    true);
	if (drv->data_version)
		watch.version = drv->prepare(watch.h, drv->data_version, true);
	if (!watch.epochs || (drv->data_version && !watch.version)) {
		watch_close();
		return -1;
	}
	watch.db = db;
	return 0;
}

/* under watch.lock: the counters read again, -1 where that failed */
static void watch_read(void)
{
	enum db_step rc;

	watch.value[0] = watch.value[1] = -1;
	while ((rc = db_stmt_step(watch.epochs)) == DB_STEP_ROW) {
		long id = db_col_long(watch.epochs, 0);

		if (id == 1 || id == 2)
			watch.value[id - 1] = db_col_long(watch.epochs, 1);
	}
	watch.epochs->drv->reset(watch.epochs);
	if (rc != DB_STEP_DONE)
		watch.value[0] = watch.value[1] = -1;
}

void db_auth_epochs(struct db *db, long out[2])
{
	long long version = 0;

	out[0] = out[1] = -1;
	pthread_mutex_lock(&watch.lock);
	if (watch.db != db && watch_open(db))
		goto failed;
	if (watch.version) {
		if (db_stmt_step(watch.version) != DB_STEP_ROW) {
			watch_close();
			goto failed;
		}
		version = db_col_long(watch.version, 0);
		watch.version->drv->reset(watch.version);
	}
	if (!watch.version || watch.value[0] < 0 || watch.value[1] < 0 ||
	    version != watch.seen) {
		watch_read();
		watch.seen = version;
		if (watch.value[0] < 0 && !watch.version)
			watch_close();	/* a lost connection: open it again */
	}
	out[0] = watch.value[0];
	out[1] = watch.value[1];
	if (out[0] < 0 || out[1] < 0)
		goto failed;
	watch.known[0] = out[0];
	watch.known[1] = out[1];
	watch.known_ms = db_now_ms();
	watch.known_db = db;
	goto out;
failed:
	out[0] = out[1] = -1;
	if (watch.known_db != db) {
		watch.known_db = db;
		watch.known_ms = -1;
	}
out:
	pthread_mutex_unlock(&watch.lock);
}

bool db_auth_epochs_known(struct db *db, long out[2], long long max_age_ms)
{
	bool known;

	pthread_mutex_lock(&watch.lock);
	known = watch.known_db == db && watch.known_ms >= 0 &&
		db_now_ms() - watch.known_ms <= max_age_ms;
	if (known) {
		out[0] = watch.known[0];
		out[1] = watch.known[1];
	}
	pthread_mutex_unlock(&watch.lock);
	return known;
}

/*
 * Schema 3 gives every session an owner: those of a database from before
 * go to an admin made for them, "admin" (or "admin-2", ... if taken),
 * without a password until the operator sets one (`rmapd user passwd`),
 * so that nothing is readable by anyone new.  In the migration's own
 * transaction, on the writer.
 */
int db_auth_adopt_sessions(struct db_conn *h, char *note, size_t len)
{
	char name[AUTH_NAME_MAX + 1] = "admin";
	struct db_stmt *st;
	long n = 0, id;
	int i;

	st = db_sql_prep(h, "SELECT COUNT(*) FROM sessions", "");
	if (st && db_stmt_step(st) == DB_STEP_ROW)
		n = col_long(st, 0);
	db_stmt_free(st);
	if (!st)
		return -1;
	if (!n)
		return 0;
	/* a fresh schema has no users yet: the name is free */
	for (i = 2; i < 100; i++) {
		st = db_sql_prep(h, "SELECT 1 FROM users WHERE name = ?", "t",
				 name);
		if (!st)
			return -1;
		if (db_stmt_step(st) != DB_STEP_ROW) {
			db_stmt_free(st);
			break;
		}
		db_stmt_free(st);
		snprintf(name, sizeof(name), "admin-%d", i);
	}
	st = db_sql_prep(h, "INSERT INTO users(name, display, admin, created) "
			 "VALUES(?, ?, 1, ?) RETURNING id", "ttl", name,
			 "administrator", (long)time(NULL));
	if (!st || db_stmt_step(st) != DB_STEP_ROW) {
		db_stmt_free(st);
		return -1;
	}
	id = col_long(st, 0);
	db_stmt_free(st);
	if (db_sql_step(h, "UPDATE sessions SET owner = ? WHERE owner IS NULL",
			"l", id))
		return -1;
	snprintf(note, len, "schema 3: the %ld existing sessions now belong to "
		 "the new admin user '%s' (no password yet: set one with `rmapd "
		 "user passwd %s`)", n, name, name);
	return 0;
}
