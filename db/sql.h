/* SPDX-License-Identifier: MIT */
/*
 * sql.h - inside db/ only: the connections of db.c for the other stores
 * that share them (auth.c), and the driver-neutral statement helpers.
 */
#ifndef RMAPD_DB_SQL_H
#define RMAPD_DB_SQL_H

#include "db.h"
#include "driver.h"

/*
 * Bind with a tiny format: 'l' long, 'n' long or NULL when <= 0, 't' text
 * (NULL: NULL), 'b' blob + length.  The statement is prepared for this
 * call alone: the caller lets it go with db_stmt_free().
 */
struct db_stmt *db_sql_prep(struct db_conn *c, const char *sql,
			    const char *fmt, ...);
/* a statement that returns no rows: 0, DB_CONFLICT or -1 */
int db_sql_step(struct db_conn *c, const char *sql, const char *fmt, ...);

/* the writer in a write transaction (db_write_end commits, err 0) */
int db_write_begin(struct db *db);
int db_write_end(struct db *db, int err);
struct db_conn *db_writer(struct db *db);
/* a reading connection, held until db_read_end */
struct db_conn *db_read_begin(struct db *db, void **token);
void db_read_end(void *token);
/*
 * For what runs on every request: a statement of the reading connection
 * held by token, prepared once per connection (sql, a string literal, is
 * known by its address) and bound; db_read_done() before db_read_end().
 */
struct db_stmt *db_read_prep(void *token, const char *sql, const char *fmt,
			     ...);
void db_read_done(struct db_stmt *st);

/* CLOCK_MONOTONIC, in ms */
long long db_now_ms(void);

/* what one notice names at most (PostgreSQL's payload: under 8000 bytes) */
#define NOTICE_MAX	4000
/*
 * In a write transaction: when it commits, the other nodes' db_listen()
 * hears that session changed (0: anything may have).
 */
void db_notice(struct db *db, long session);

#ifdef RMAPD_TEST_HOOKS
/* tests only: this thread is the writer, committing a group */
extern __thread bool db_test_in_group;
#endif

/* a reading connection of its own, for the caller alone; NULL: failed */
struct db_conn *db_conn_own(struct db *db);

/* migration to schema 4: sessions get an owner (db/auth.c) */
int db_auth_adopt_sessions(struct db_conn *c, char *note, size_t len);

/*
 * Schema 6: a session's cuts, the rewinds its journal had.  max(seq) alone
 * cannot tell a node that its copy is stale when another node rewound the
 * journal and it grew back to the same length: (max(seq), cuts) can.
 */
#define DB_FENCE_SCHEMA(INT) \
	"ALTER TABLE sessions ADD COLUMN cuts " INT " NOT NULL DEFAULT 0;"

/*
 * Schema 7: the walk a class's live lesson shows (a read-only rmap walk
 * of one frame, at one of its steps), so that followers play it too.
 * No kind: no walk.
 */
#define DB_WALK_SCHEMA(INT) \
	"ALTER TABLE classes ADD COLUMN live_walk_kind TEXT;" \
	"ALTER TABLE classes ADD COLUMN live_walk_pfn " INT ";" \
	"ALTER TABLE classes ADD COLUMN live_walk_step " INT ";"

/*
 * Schema 4: the people of a lab.  Plain SQL but for the words each engine
 * spells its own way: ID an id column (never reused: a user made after one
 * was removed must not inherit what the daemon still remembers of the
 * removed one), INT an integer, BLOB bytes.
 */
#define DB_AUTH_SCHEMA(ID, INT, BLOB) \
	"CREATE TABLE users (" \
	"  id " ID "," \
	"  name TEXT NOT NULL UNIQUE," \
	"  display TEXT NOT NULL DEFAULT ''," \
	"  pwhash TEXT," \
	"  admin " INT " NOT NULL DEFAULT 0," \
	"  created " INT " NOT NULL);" \
	"CREATE TABLE tokens (" \
	"  id " ID "," \
	"  user_id " INT " NOT NULL REFERENCES users(id) ON DELETE CASCADE," \
	"  hash " BLOB " NOT NULL UNIQUE," \
	"  name TEXT NOT NULL," \
	"  scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'scrape'))," \
	"  kind TEXT NOT NULL CHECK (kind IN ('api', 'login'))," \
	"  created " INT " NOT NULL," \
	"  expires " INT "," \
	"  revoked " INT ");" \
	"CREATE INDEX tokens_by_user ON tokens(user_id);" \
	"CREATE TABLE classes (" \
	"  id " ID "," \
	"  name TEXT NOT NULL UNIQUE," \
	"  created " INT " NOT NULL," \
	"  live_session " INT " REFERENCES sessions(id) ON DELETE SET NULL," \
	"  live_step " INT ");" \
	"CREATE TABLE memberships (" \
	"  class_id " INT " NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  user_id " INT " NOT NULL REFERENCES users(id) ON DELETE CASCADE," \
	"  role TEXT NOT NULL CHECK (role IN ('instructor', 'ta', 'student'))," \
	"  PRIMARY KEY (class_id, user_id));" \
	"CREATE INDEX memberships_by_user ON memberships(user_id);" \
	"CREATE TABLE join_codes (" \
	"  id " ID "," \
	"  hash " BLOB " NOT NULL UNIQUE," \
	"  class_id " INT " NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  role TEXT NOT NULL CHECK (role IN ('ta', 'student'))," \
	"  created " INT " NOT NULL," \
	"  expires " INT "," \
	"  revoked " INT ");" \
	"CREATE TABLE shares (" \
	"  id " ID "," \
	"  session " INT " NOT NULL REFERENCES sessions(id) ON DELETE CASCADE," \
	"  hash " BLOB " NOT NULL UNIQUE," \
	"  pin " INT "," \
	"  created_by " INT " REFERENCES users(id) ON DELETE SET NULL," \
	"  created " INT " NOT NULL," \
	"  expires " INT "," \
	"  revoked " INT ");" \
	"CREATE TABLE quotas (" \
	"  user_id " INT " REFERENCES users(id) ON DELETE CASCADE," \
	"  class_id " INT " REFERENCES classes(id) ON DELETE CASCADE," \
	"  kind TEXT NOT NULL," \
	"  value " INT " NOT NULL," \
	"  CHECK ((user_id IS NULL) <> (class_id IS NULL)));" \
	"CREATE UNIQUE INDEX quotas_by_owner ON quotas(" \
	"  COALESCE(user_id, 0), COALESCE(class_id, 0), kind);" \
	"ALTER TABLE sessions ADD COLUMN owner " INT " " \
	"  REFERENCES users(id) ON DELETE SET NULL;" \
	"ALTER TABLE sessions ADD COLUMN visibility TEXT NOT NULL " \
	"  DEFAULT 'private' CHECK (visibility IN ('private', 'class'));" \
	"ALTER TABLE sessions ADD COLUMN class_id " INT " " \
	"  REFERENCES classes(id) ON DELETE SET NULL;" \
	"CREATE INDEX sessions_by_owner ON sessions(owner);"

/*
 * Schema 5: what a class's page shows.  A class's published lessons; a
 * session's latest op, in Unix seconds (written at most once a minute
 * per session, see db_session_touch); and two counters, of changes to
 * credentials (1) and to who reads what (2: memberships, live lessons),
 * so that a daemon may cache what it verified and still see a change
 * made by another process (db_auth_epochs).
 */
#define DB_LABS_SCHEMA(INT) \
	"CREATE TABLE lessons (" \
	"  class_id " INT " NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  session " INT " NOT NULL REFERENCES sessions(id) ON DELETE CASCADE," \
	"  published " INT " NOT NULL," \
	"  PRIMARY KEY (class_id, session));" \
	"ALTER TABLE sessions ADD COLUMN last_activity " INT ";" \
	"CREATE TABLE auth_epoch (" \
	"  id " INT " PRIMARY KEY CHECK (id IN (1, 2))," \
	"  n " INT " NOT NULL);" \
	"INSERT INTO auth_epoch(id, n) VALUES(1, 0), (2, 0);"

#endif /* RMAPD_DB_SQL_H */
