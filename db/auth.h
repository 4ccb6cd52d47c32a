/* SPDX-License-Identifier: MIT */
/*
 * auth.h - the people of a lab in the store: users, API tokens and browser
 * logins, classes and their members, join codes, share links, quotas, and
 * who owns each session.  Same database and connections as the journal
 * (db.h); the SQL stays portable, for the PostgreSQL backend to come.
 *
 * Secrets are never stored: a password as its Argon2id string, a token,
 * login cookie, share link or join code as its BLAKE2b hash (they are 256
 * random bits, so a fast unsalted hash is enough).  Times are Unix seconds
 * given by the caller.
 */
#ifndef RMAPD_DB_AUTH_H
#define RMAPD_DB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define AUTH_NAME_MAX		64	/* user and class names */
#define AUTH_DISPLAY_MAX	128
#define AUTH_PWHASH_MAX		128	/* crypto_pwhash_STRBYTES */
#define AUTH_SECRET_LEN		32	/* random bytes of a token */
#define AUTH_SECRET_TEXT	44	/* its base64url text, with the NUL */
#define AUTH_HASH_LEN		32

#define DB_NOT_FOUND		4	/* no such user, class, token, ... */

enum auth_role { ROLE_NONE, ROLE_STUDENT, ROLE_TA, ROLE_INSTRUCTOR };
enum visibility { VIS_PRIVATE, VIS_CLASS };

struct db_user {
	long id;
	char name[AUTH_NAME_MAX + 1];
	char display[AUTH_DISPLAY_MAX + 1];
	bool admin;
	bool has_password;
	long created;
};

/* what a token is for: kind "api" (curl) or "login" (a browser cookie) */
struct db_token {
	long id;
	long user;
	char name[AUTH_NAME_MAX + 1];
	char scope[8];		/* read | write | scrape */
	char kind[8];		/* api | login */
	long created, expires;	/* expires 0: never */
	bool revoked;
};

struct db_share {
	long id;
	long session;
	long pin;		/* -1: follows the latest version */
	long created, expires;	/* expires 0: never */
	bool revoked;
};

struct db_membership {
	long class_id;
	char class_name[AUTH_NAME_MAX + 1];
	enum auth_role role;
};

const char *auth_role_name(enum auth_role role);
enum auth_role auth_role_parse(const char *s);	/* ROLE_NONE if unknown */
const char *visibility_name(enum visibility v);

/* ---- secrets (credential.c) ---- */
/*
 * Argon2id with libsodium's interactive limits; RMAPD_TEST_FAST_KDF=1 in
 * the environment (the test suite only) takes its minimum limits instead,
 * so that hundreds of test logins do not each take 64 MiB and 0.1 s.
 */
int auth_password_hash(const char *password, char out[AUTH_PWHASH_MAX]);
bool auth_password_ok(const char *stored, const char *password);
/* a new random secret as text, prefixed (e.g. "rmt_"), and its hash */
void auth_secret_new(const char *prefix, char *text, size_t len,
		     unsigned char hash[AUTH_HASH_LEN]);
void auth_secret_hash(const char *text, unsigned char hash[AUTH_HASH_LEN]);
/* a password for a user the operator did not give one: 20 characters */
void auth_password_generate(char out[24]);

/* ---- users ---- */
/* 0 and its id in *id, DB_EXISTS (its id in *id), or -1 */
int db_user_add(struct db *db, const char *name, const char *display,
		const char *pwhash, bool admin, long now, long *id);
/* 0, DB_NOT_FOUND or -1; pwhash (AUTH_PWHASH_MAX) may be NULL */
int db_user_get(struct db *db, const char *name, struct db_user *out,
		char *pwhash);
int db_user_by_id(struct db *db, long id, struct db_user *out);
int db_user_set_password(struct db *db, const char *name, const char *pwhash);
/* its tokens and memberships go; its sessions are left to the admins */
int db_user_remove(struct db *db, const char *name);
int db_user_list(struct db *db, void (*fn)(const struct db_user *, void *),
		 void *arg);

/* ---- tokens and browser logins ---- */
int db_token_add(struct db *db, long user, const unsigned char *hash,
		 const char *name, const char *scope, const char *kind,
		 long now, long expires, long *id);
/* by hash: 0 (whatever its expiry or revocation, for the caller to judge) */
int db_token_find(struct db *db, const unsigned char *hash,
		  struct db_token *out);
/* the same with its user, in one query */
int db_token_user(struct db *db, const unsigned char *hash,
		  struct db_token *t, struct db_user *u);
/* revoked at once: 0, DB_NOT_FOUND or -1 */
int db_token_revoke(struct db *db, long id);
int db_token_list(struct db *db, long user, const char *kind,
		  void (*fn)(const struct db_token *, void *), void *arg);

/* ---- classes ---- */
int db_class_create(struct db *db, const char *name, long now, long *id);
int db_class_find(struct db *db, const char *name, long *id);
/* adds or changes the member's role */
int db_member_set(struct db *db, long class_id, long user, enum auth_role role);
int db_memberships(struct db *db, long user,
		   void (*fn)(const struct db_membership *, void *), void *arg);
/* the walk a live lesson shows: kind "" for none */
struct db_live_walk {
	char kind[24];
	long pfn;
	long step;
};

/*
 * The class's live lesson: session 0 stops it; step -1: none named; walk
 * NULL (or of kind ""): none shown.
 */
int db_class_set_live(struct db *db, long class_id, long session, long step,
		      const struct db_live_walk *walk);
/* 0 with *session (0: none), *step (-1: none) and *walk (if asked), or -1 */
int db_class_live(struct db *db, long class_id, long *session, long *step,
		  struct db_live_walk *walk);
/*
 * Whether session is a class's live lesson (the first class's, if several
 * show it): 0 with its *step and *walk, DB_NOT_FOUND if none, or -1.
 */
int db_session_live(struct db *db, long session, long *step,
		    struct db_live_walk *walk);
/* whether session is live for a class user is a member of */
bool db_follows(struct db *db, long user, long session);
/* whether staff (instructor or TA) teaches student in a class they share */
bool db_teaches(struct db *db, long staff, long student);
/* the role of user in class, ROLE_NONE if not a member */
enum auth_role db_member_role(struct db *db, long class_id, long user);
int db_join_code_add(struct db *db, long class_id, const unsigned char *hash,
		     enum auth_role role, long now, long expires, long *id);
/* a live code's class and role: 0, DB_NOT_FOUND (unknown, expired,
 * revoked) or -1 */
int db_join_code_find(struct db *db, const unsigned char *hash, long now,
		      long *class_id, enum auth_role *role);
/* the code, if it is one of the class's: 0, DB_NOT_FOUND or -1 */
int db_join_code_revoke(struct db *db, long class_id, long id);

/* ---- share links ---- */
int db_share_add(struct db *db, long session, const unsigned char *hash,
		 long pin, long by, long now, long expires, long *id);
int db_share_find(struct db *db, const unsigned char *hash,
		  struct db_share *out);
/* the share, if it is one of session's: 0, DB_NOT_FOUND or -1 */
int db_share_revoke(struct db *db, long session, long id);
int db_share_list(struct db *db, long session,
		  void (*fn)(const struct db_share *, void *), void *arg);

/* ---- quotas: a user's or a class's ceiling of one kind ---- */
int db_quota_set(struct db *db, long user, long class_id, const char *kind,
		 long value);
int db_quota_get(struct db *db, long user, long class_id, const char *kind,
		 long *value);

/* ---- what a class's page shows ---- */
struct db_member {
	struct db_user user;
	enum auth_role role;
};

/* every class, for an admin (role ROLE_NONE) */
int db_classes_all(struct db *db,
		   void (*fn)(const struct db_membership *, void *), void *arg);
/* the members of a class, by name */
int db_class_members(struct db *db, long class_id,
		     void (*fn)(const struct db_member *, void *), void *arg);
/* a class's published lessons: adding one twice is adding it once */
int db_lesson_add(struct db *db, long class_id, long session, long now);
/* 0, DB_NOT_FOUND (not one of its lessons) or -1 */
int db_lesson_remove(struct db *db, long class_id, long session);
/* fn(session) in the order they were published */
int db_lessons(struct db *db, long class_id,
	       void (*fn)(long session, void *), void *arg);
/* the session's latest op was at when (Unix seconds) */
int db_session_touch(struct db *db, long session, long when);
/* fn(session, when) for each session of owner (when 0: never stored) */
int db_session_activity(struct db *db, long owner,
			void (*fn)(long session, long when, void *), void *arg);
/* the bytes of journal and snapshot rows of the user's sessions */
int db_user_stored_bytes(struct db *db, long user, long *bytes);
/*
 * Two numbers: out[0] changes whenever a token, login, share link or user
 * is revoked, removed or changed, out[1] whenever a membership or a
 * class's live session does, by this process or another: what was
 * verified under them holds while they stay.  -1: unknown (verify).
 */
void db_auth_epochs(struct db *db, long out[2]);
/*
 * When db_auth_epochs() could not read them (the database away): the
 * epochs as last read, if that was at most max_age_ms ago, so that what
 * was verified under them may be trusted a while longer.  false: none.
 */
bool db_auth_epochs_known(struct db *db, long out[2], long long max_age_ms);

/* ---- sessions ---- */
int db_session_set_visibility(struct db *db, long session, enum visibility v,
			      long class_id);

#endif /* RMAPD_DB_AUTH_H */
