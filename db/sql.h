/* SPDX-License-Identifier: MIT */
/*
 * sql.h - inside db/ only: the SQLite connections of db.c for the other
 * stores that share them (auth.c), and the statement helpers.
 */
#ifndef RMAPD_DB_SQL_H
#define RMAPD_DB_SQL_H

#include <sqlite3.h>

#include "db.h"

/*
 * Bind with a tiny format: 'l' long, 'n' long or NULL when <= 0, 't' text
 * (NULL: NULL), 'b' blob + length.
 */
sqlite3_stmt *db_sql_prep(sqlite3 *h, const char *sql, const char *fmt, ...);
/* a statement that returns no rows: 0 or -1 */
int db_sql_step(sqlite3 *h, const char *sql, const char *fmt, ...);

/* the writer in a write transaction (db_write_end commits, err 0) */
int db_write_begin(struct db *db);
int db_write_end(struct db *db, int err);
sqlite3 *db_writer(struct db *db);
/* a reading connection, held until db_read_end */
sqlite3 *db_read_begin(struct db *db, void **token);
void db_read_end(void *token);

/* migration to schema 4: sessions get an owner (db/auth.c) */
int db_auth_adopt_sessions(sqlite3 *h, char *note, size_t len);

/*
 * Schema 4: the people of a lab.  Plain SQL but for the SQLite spelling of
 * an id (INTEGER PRIMARY KEY AUTOINCREMENT); the PostgreSQL backend says it
 * its own way.  Ids are never reused: a user made after one was removed
 * must not inherit what the daemon still remembers of the removed one.
 */
#define DB_AUTH_SCHEMA \
	"CREATE TABLE users (" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  name TEXT NOT NULL UNIQUE," \
	"  display TEXT NOT NULL DEFAULT ''," \
	"  pwhash TEXT," \
	"  admin INTEGER NOT NULL DEFAULT 0," \
	"  created INTEGER NOT NULL);" \
	"CREATE TABLE tokens (" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE," \
	"  hash BLOB NOT NULL UNIQUE," \
	"  name TEXT NOT NULL," \
	"  scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'scrape'))," \
	"  kind TEXT NOT NULL CHECK (kind IN ('api', 'login'))," \
	"  created INTEGER NOT NULL," \
	"  expires INTEGER," \
	"  revoked INTEGER);" \
	"CREATE INDEX tokens_by_user ON tokens(user_id);" \
	"CREATE TABLE classes (" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  name TEXT NOT NULL UNIQUE," \
	"  created INTEGER NOT NULL," \
	"  live_session INTEGER REFERENCES sessions(id) ON DELETE SET NULL," \
	"  live_step INTEGER);" \
	"CREATE TABLE memberships (" \
	"  class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE," \
	"  role TEXT NOT NULL CHECK (role IN ('instructor', 'ta', 'student'))," \
	"  PRIMARY KEY (class_id, user_id));" \
	"CREATE INDEX memberships_by_user ON memberships(user_id);" \
	"CREATE TABLE join_codes (" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  hash BLOB NOT NULL UNIQUE," \
	"  class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  role TEXT NOT NULL CHECK (role IN ('ta', 'student'))," \
	"  created INTEGER NOT NULL," \
	"  expires INTEGER," \
	"  revoked INTEGER);" \
	"CREATE TABLE shares (" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE," \
	"  hash BLOB NOT NULL UNIQUE," \
	"  pin INTEGER," \
	"  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL," \
	"  created INTEGER NOT NULL," \
	"  expires INTEGER," \
	"  revoked INTEGER);" \
	"CREATE TABLE quotas (" \
	"  user_id INTEGER REFERENCES users(id) ON DELETE CASCADE," \
	"  class_id INTEGER REFERENCES classes(id) ON DELETE CASCADE," \
	"  kind TEXT NOT NULL," \
	"  value INTEGER NOT NULL," \
	"  CHECK ((user_id IS NULL) <> (class_id IS NULL)));" \
	"CREATE UNIQUE INDEX quotas_by_owner ON quotas(" \
	"  COALESCE(user_id, 0), COALESCE(class_id, 0), kind);" \
	"ALTER TABLE sessions ADD COLUMN owner INTEGER " \
	"  REFERENCES users(id) ON DELETE SET NULL;" \
	"ALTER TABLE sessions ADD COLUMN visibility TEXT NOT NULL " \
	"  DEFAULT 'private' CHECK (visibility IN ('private', 'class'));" \
	"ALTER TABLE sessions ADD COLUMN class_id INTEGER " \
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
#define DB_LABS_SCHEMA \
	"CREATE TABLE lessons (" \
	"  class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE," \
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE," \
	"  published INTEGER NOT NULL," \
	"  PRIMARY KEY (class_id, session));" \
	"ALTER TABLE sessions ADD COLUMN last_activity INTEGER;" \
	"CREATE TABLE auth_epoch (" \
	"  id INTEGER PRIMARY KEY CHECK (id IN (1, 2))," \
	"  n INTEGER NOT NULL);" \
	"INSERT INTO auth_epoch(id, n) VALUES(1, 0), (2, 0);"

#endif /* RMAPD_DB_SQL_H */
