// SPDX-License-Identifier: MIT
/*
 * fuzz_http.c - libFuzzer harness: requests through route(), as
 * libmicrohttpd hands them over, with a real SQLite database in a temporary
 * directory (on /dev/shm when there is one, so an fsync costs little).
 *
 * The input is up to FUZZ_MAX_REQUESTS requests separated by "\n%%\n",
 * each in the shape of HTTP/1.1:
 *
 *	METHOD /path?key=value&key=value
 *	Header: value
 *
 *	body
 *
 * The raw bytes of each request first go through the front door's
 * head_check(); a request whose line names an HTTP version, as on the
 * wire, and that head_check() refuses gets the front door's answer, as in
 * the daemon.
 *
 * The path is percent-decoded as the daemon decodes it (guard_unescape: a
 * %00 becomes a byte the guard refuses), the query values as libmicrohttpd
 * does.  The header lines go to guard_admit() as the daemon's request head,
 * so Host, Origin, Sec-Fetch-Site, Content-Type and the size limits are
 * fuzzed with the router; as in HTTP, a body exists only when a
 * Content-Length or Transfer-Encoding header announces it.
 *
 * Every input starts from the database as it was before the first one
 * (put back, not made anew: the callers below and nothing else), and a
 * daemon that remembers nothing of the inputs before, so ids start at 1
 * and a crash reproduces from its input alone.  Each
 * answer must have a status; an error must be a problem+json document
 * whose status is the answer's and leave every session at its version; a
 * JSON answer must be JSON.  After the last request, every session's state
 * must be what the database rebuilds from its snapshot and journal.
 *
 * An input whose first line is "--auth" runs with --auth on: callers are
 * named by the API tokens and the login cookie of the CALLERS below
 * (Authorization: Bearer rmt_fuzz_alice, Cookie: rmapd_session=rml_fuzz_bob),
 * live at the start of every input whatever one before did (a logout).
 *
 * FUZZ_VERBOSE=1 prints every request and the start of its answer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include <unistd.h>

#include "auth.h"
#include "fuzz.h"
#include "json_check.h"
#include "rmapd.h"

#define FUZZ_MAX_REQUESTS	8
#define REQ_MARK		"\n%%\n"
#define AUTH_LINE		"--auth\n"
#define MAX_QUERY		16
#define MAX_HEADERS_IN		128

struct db *g_db;
const struct config *g_cfg;

/* what http.c provides to route(): no event streams, never stopping */
void streams_notify(long session)
{
	(void)session;
}

void streams_notify_live(long session, long step,
			 const struct db_live_walk *walk, bool live)
{
	(void)session;
	(void)step;
	(void)walk;
	(void)live;
}

bool http_stopping(void)
{
	return false;
}

static struct config cfg;
static char dir[256];
/* FUZZ_VERBOSE=1: each request and the start of its answer on stderr */
static bool verbose;

struct query {
	int n;
	char *key[MAX_QUERY];
	char *val[MAX_QUERY];
};

static const char *query(void *conn, const char *key)
{
	const struct query *q = conn;
	int i;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->key[i], key))
			return q->val[i];
	return NULL;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX decoded in place, as MHD_http_unescape does: a bad escape stays */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '%' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
			*out++ = (char)(hex(s[1]) * 16 + hex(s[2]));
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* key=value&...: a key without '=' has no value, as in libmicrohttpd */
static void parse_query(char *s, struct query *q)
{
	char *save = NULL, *t, *eq;

	q->n = 0;
	for (t = strtok_r(s, "&", &save); t && q->n < MAX_QUERY;
	     t = strtok_r(NULL, "&", &save)) {
		eq = strchr(t, '=');
		if (eq)
			*eq++ = '\0';
		unescape(t);
		if (eq)
			unescape(eq);
		q->key[q->n] = t;
		q->val[q->n++] = eq;
	}
}

static void remove_dir(void)
{
	static const char *const files[] = {
		"rmapd.sqlite", "rmapd.sqlite-wal", "rmapd.sqlite-shm",
		"rmapd.sqlite-journal", NULL,
	};
	char path[300];
	int i;

	for (i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void configure(void)
{
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";

	snprintf(dir, sizeof(dir), "%s/rmapd-fuzz-XXXXXX", base);
	if (!mkdtemp(dir))
		fuzz_fail("mkdtemp %s failed", dir);
	atexit(remove_dir);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/rmapd.sqlite", dir);
	snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", FUZZ_WEBROOT);
	snprintf(cfg.listen_addr, sizeof(cfg.listen_addr), "127.0.0.1");
	cfg.port = 8080;
	cfg.threads = 1;
	cfg.max_body = 1 << 20;
	cfg.max_batch = 64;
	cfg.max_sessions = 4;
	/* two in memory: a third session evicts one, the next read replays */
	cfg.max_loaded = 2;
	cfg.snapshot_every = 4;
	cfg.keep_snapshots = 2;
	cfg.max_sse = 4;
	fuzz_limits(&cfg.limits);
	g_cfg = &cfg;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
}

/* What a refused request must leave as it was: the sessions and versions. */
struct registry_view {
	int n;
	long id[8], version[8];
};

static void view_one(const struct session *s, void *arg)
{
	struct registry_view *v = arg;

	if (v->n < 8) {
		v->id[v->n] = s->id;
		v->version[v->n++] = s->version;
	}
}

static void view(struct registry_view *v)
{
	v->n = 0;
	sessions_each(view_one, v);
}

static void forget_sessions(const struct session *s, void *arg)
{
	long *ids = arg;

	if (ids[0] < 64)
		ids[++ids[0]] = s->id;
}

/*
 * The journal is the truth: every session's state in memory is what the
 * database rebuilds (its latest snapshot and the ops after it).
 */
static void check_replay(long id)
{
	struct session *s = session_get(id);
	char err[300], *a, *b;
	size_t na, nb;
	struct sim *built;

	if (!s)
		fuzz_fail("session %ld is listed but cannot be loaded", id);
	built = session_build(s, s->version, err, sizeof(err));
	if (!built)
		fuzz_fail("session %ld does not rebuild: %s", id, err);
	a = sim_dump(s->sim, &na);
	b = sim_dump(built, &nb);
	if (!a || !b || na != nb || memcmp(a, b, na))
		fuzz_fail("session %ld at version %ld differs from its rebuild:"
			  "\n%.*s\n--\n%.*s", id, s->version, (int)na, a,
			  (int)nb, b);
	free(a);
	free(b);
	sim_free(built);
	session_put(s);
}

/* the callers an --auth input can name, by secrets the dictionary holds */
static const struct {
	const char *user, *secret, *kind, *scope;
	bool admin;
} callers[] = {
	{ "alice", "rmt_fuzz_alice", "api", "write", false },
	{ "alice", "rmt_fuzz_alice_read", "api", "read", false },
	{ "bob", "rml_fuzz_bob", "login", "write", false },
	{ "root", "rmt_fuzz_root", "api", "write", true },
};

#define NR_CALLERS	(sizeof(callers) / sizeof(callers[0]))

static void add_caller(size_t i)
{
	unsigned char hash[AUTH_HASH_LEN];
	long now = (long)time(NULL), user, token;
	int rc = db_user_add(g_db, callers[i].user, callers[i].user, "",
			     callers[i].admin, now, &user);

	if (rc && rc != DB_EXISTS)
		fuzz_fail("db_user_add %s failed", callers[i].user);
	auth_secret_hash(callers[i].secret, hash);
	if (db_token_add(g_db, user, hash, "fuzz", callers[i].scope,
			 callers[i].kind, now, 0, &token))
		fuzz_fail("db_token_add %s failed", callers[i].secret);
}

/*
 * A connection of the harness's own beside the daemon's, opened once,
 * that puts every table back as it was once the callers were made: each
 * table's rows then are kept in a temporary copy, and an input's reset
 * deletes every row and copies those back (sqlite_sequence last, so ids
 * start where they did), in one transaction of statements prepared once.
 * Users, tokens, classes, shares and quotas an input made went on to the
 * inputs after it before; opening a new database per input was half of
 * each execution.
 */
#define MAX_TABLES	32

static sqlite3 *side;
static sqlite3_stmt *changed[MAX_TABLES + 1], *wipe[MAX_TABLES + 1];
static sqlite3_stmt *refill[MAX_TABLES + 1];
static sqlite3_stmt *begin, *commit;
static int nr_tables;

static sqlite3_stmt *side_prepare(const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(side, sql, -1, &st, NULL) != SQLITE_OK)
		fuzz_fail("cannot prepare %s: %s", sql, sqlite3_errmsg(side));
	return st;
}

static void side_close(void)
{
	int i;

	for (i = 0; i < nr_tables; i++) {
		sqlite3_finalize(changed[i]);
		sqlite3_finalize(wipe[i]);
		sqlite3_finalize(refill[i]);
	}
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(side);
}

static void side_run(sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		fuzz_fail("cannot reset the database (%s): %s",
			  sqlite3_sql(st), sqlite3_errmsg(side));
	sqlite3_reset(st);
}

/*
 * Keep table's rows as they are now; prepare the query that tells whether
 * they still are (rows are unique: a primary key, or one row), its wipe
 * and its refill.
 */
static void keep_table(const char *table)
{
	char sql[400];

	if (nr_tables == MAX_TABLES + 1)
		fuzz_fail("more than %d tables", MAX_TABLES);
	snprintf(sql, sizeof(sql), "CREATE TEMP TABLE \"fuzz0_%s\" AS "
		 "SELECT * FROM main.\"%s\"", table, table);
	if (sqlite3_exec(side, sql, NULL, NULL, NULL) != SQLITE_OK)
		fuzz_fail("%s: %s", sql, sqlite3_errmsg(side));
	snprintf(sql, sizeof(sql), "SELECT (SELECT COUNT(*) FROM main.\"%s\") "
		 "!= (SELECT COUNT(*) FROM temp.\"fuzz0_%s\") OR EXISTS "
		 "(SELECT * FROM main.\"%s\" EXCEPT SELECT * FROM "
		 "temp.\"fuzz0_%s\")", table, table, table, table);
	changed[nr_tables] = side_prepare(sql);
	snprintf(sql, sizeof(sql), "DELETE FROM main.\"%s\"", table);
	wipe[nr_tables] = side_prepare(sql);
	snprintf(sql, sizeof(sql), "INSERT INTO main.\"%s\" SELECT * FROM "
		 "temp.\"fuzz0_%s\"", table, table);
	refill[nr_tables++] = side_prepare(sql);
}

static void side_open(void)
{
	sqlite3_stmt *tables;

	if (sqlite3_open(cfg.db_path, &side) != SQLITE_OK)
		fuzz_fail("sqlite3_open %s failed", cfg.db_path);
	sqlite3_busy_timeout(side, 5000);
	/* before remove_dir (atexit runs the last registered first) */
	atexit(side_close);
	tables = side_prepare("SELECT name FROM main.sqlite_master WHERE "
			      "type = 'table' AND name NOT LIKE 'sqlite_%'");
	while (sqlite3_step(tables) == SQLITE_ROW)
		keep_table((const char *)sqlite3_column_text(tables, 0));
	sqlite3_finalize(tables);
	keep_table("sqlite_sequence");
	begin = side_prepare("BEGIN IMMEDIATE");
	commit = side_prepare("COMMIT");
}

static bool side_changed(int i)
{
	bool yes;

	if (sqlite3_step(changed[i]) != SQLITE_ROW)
		fuzz_fail("cannot compare a table (%s): %s",
			  sqlite3_sql(changed[i]), sqlite3_errmsg(side));
	yes = sqlite3_column_int(changed[i], 0);
	sqlite3_reset(changed[i]);
	return yes;
}

/*
 * Every table as side_open() found it, in one transaction that writes
 * only the tables that changed (most inputs change the sessions, their
 * journal and snapshots and the id counter, and nothing else: rewriting
 * every table was a fifth of each execution).
 */
static void side_reset(void)
{
	bool redo[MAX_TABLES + 1];
	int i;

	side_run(begin);
	for (i = 0; i < nr_tables; i++) {
		redo[i] = side_changed(i);
		if (redo[i])
			side_run(wipe[i]);
	}
	for (i = 0; i < nr_tables; i++)
		if (redo[i])
			side_run(refill[i]);
	side_run(commit);
}

/* the latest write queued for each session, to wait for */
struct tickets {
	int n;
	uint64_t t[64];
};

static void last_ticket(const struct session *s, void *arg)
{
	struct tickets *tk = arg;

	if (tk->n < 64)
		tk->t[tk->n++] = __atomic_load_n(&s->last_ticket,
						 __ATOMIC_ACQUIRE);
}

/*
 * The database and the daemon's memory of it as they were before the
 * first input: once every session's queued writes are done, the sessions
 * dropped from memory, every table put back, and what the daemon
 * remembers of users, logins and quotas forgotten, so ids start at 1
 * again and an input's outcome owes nothing to the inputs before it.
 */
static bool auth_ran;

static void reset(void)
{
	struct tickets tk = { 0 };
	char err[300];
	size_t c;
	int i;

	if (g_db) {
		sessions_each(last_ticket, &tk);
		for (i = 0; i < tk.n; i++)
			db_wait(g_db, tk.t[i]);
		sessions_shutdown();
		side_reset();
		/* only --auth looks at users (memsetting it all was 2%) */
		if (auth_ran) {
			authz_forget();
			auth_forget();
			quota_forget();
		}
	} else {
		g_db = db_open(cfg.db_path, err, sizeof(err));
		if (!g_db)
			fuzz_fail("db_open: %s", err);
		for (c = 0; c < NR_CALLERS; c++)
			add_caller(c);
		side_open();
	}
	if (sessions_init(&cfg, g_db) || sessions_count())
		fuzz_fail("sessions_init failed or found sessions");
	auth_ran = cfg.auth;
}

static void check_reply(const struct request *req, const struct reply *rep)
{
	const cJSON *status;
	cJSON *json;

	if (rep->status < 100 || rep->status > 599)
		fuzz_fail("%s %s: status %d", req->method, req->path,
			  rep->status);
	if (rep->status >= 400 && (!rep->ctype ||
	    strcmp(rep->ctype, "application/problem+json")))
		fuzz_fail("%s %s: %d as %s", req->method, req->path,
			  rep->status, rep->ctype ? rep->ctype : "nothing");
	/* a static file is bytes of its length; JSON is text */
	if (!rep->ctype || (strcmp(rep->ctype, "application/json") &&
	    strcmp(rep->ctype, "application/problem+json")))
		return;
	if (rep->body && memchr(rep->body, '\0', rep->len))
		fuzz_fail("%s %s: a NUL inside the JSON", req->method,
			  req->path);
	/* a tree built of every answer (states, journals) was 7% of the time */
	if (rep->status < 400) {
		if (!json_text_valid(rep->body ? rep->body : "", rep->len))
			fuzz_fail("%s %s: %d, not JSON: %.*s", req->method,
				  req->path, rep->status, (int)rep->len,
				  rep->body);
		return;
	}
	json = cJSON_ParseWithLength(rep->body ? rep->body : "", rep->len);
	if (!json)
		fuzz_fail("%s %s: %d, not JSON: %.*s", req->method, req->path,
			  rep->status, (int)rep->len, rep->body);
	status = cJSON_GetObjectItemCaseSensitive(json, "status");
	if (!cJSON_IsNumber(status) || status->valueint != rep->status)
		fuzz_fail("%s %s: %d with a problem of another status",
			  req->method, req->path, rep->status);
	cJSON_Delete(json);
}

/* The header lines, up to the first empty line, as "Name: value" pairs. */
struct headers {
	int n;
	char *key[MAX_HEADERS_IN];
	char *val[MAX_HEADERS_IN];
	char *text;
};

static const char *header_value(void *conn, const char *name)
{
	const struct headers *h = conn;
	int i;

	for (i = 0; i < h->n; i++)
		if (!strcasecmp(h->key[i], name))
			return h->val[i];
	return NULL;
}

/* what guard_admit() reads: the header lines and the query arguments */
struct head_view {
	struct headers *h;
	struct query *q;
};

static int each_value(void *conn, bool query,
		      void (*fn)(const char *key, const char *value, void *arg),
		      void *arg)
{
	const struct head_view *v = conn;
	char **key = query ? v->q->key : v->h->key;
	char **val = query ? v->q->val : v->h->val;
	int i, n = query ? v->q->n : v->h->n;

	for (i = 0; i < n; i++)
		fn(key[i], val[i], arg);
	return n;
}

static const char *head_value(void *conn, const char *name)
{
	return header_value(((const struct head_view *)conn)->h, name);
}

/* route() reads the query and the headers through one connection */
static const char *view_query(void *conn, const char *key)
{
	return query(((const struct head_view *)conn)->q, key);
}

/* Parses from p; returns where the body starts. */
static const char *parse_headers(const char *p, const char *end,
				 struct headers *h)
{
	const char *start = p, *nl, *body = end;
	char *line, *save = NULL, *colon;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		if (nl == p || (nl == p + 1 && *p == '\r')) {
			body = nl + 1;
			break;
		}
		p = nl + 1;
	}
	h->n = 0;
	h->text = strndup(start, (size_t)((body < end ? body : p) - start));
	for (line = strtok_r(h->text, "\n", &save); line && h->n < MAX_HEADERS_IN;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;	/* libmicrohttpd answers that itself */
		*colon++ = '\0';
		colon += strspn(colon, " \t");
		h->key[h->n] = line;
		h->val[h->n++] = colon;
	}
	return body;
}

static bool refusal_status(int status)
{
	return status == 400 || status == 411 || status == 413 ||
	       status == 414 || status == 431 || status == 505;
}

/*
 * The front door's judgement of the raw bytes, held to what front.c relies
 * on: a head it takes ends in its blank line and brings no more body than
 * --max-body allows, a head it refuses has an answer.  True when the
 * daemon would answer the request there: it is refused, and its line
 * names an HTTP version as on the wire (the harness's shorthand has none).
 */
static bool front_door_refuses(const char *p, const char *end,
			       const char *line, struct reply *rep)
{
	size_t n = (size_t)(end - p);
	struct head_check hc;

	switch (head_check(p, n, cfg.max_body, &hc)) {
	case HEAD_OK:
		if (hc.len > n || p[hc.len - 1] != '\n' ||
		    hc.body > cfg.max_body || hc.chunked)
			fuzz_fail("head_check took a head it should not");
		return false;
	case HEAD_BAD:
		if (!hc.type || !hc.detail || !refusal_status(hc.status))
			fuzz_fail("head_check refused with status %d", hc.status);
		break;
	case HEAD_MORE:
		return false;
	}
	if (!strstr(line, " HTTP/"))
		return false;
	reply_problem(rep, hc.status, hc.type, "", "%s", hc.detail);
	return true;
}

static void one_request(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *line_end = nl ? nl : end, *body;
	char *line = strndup(p, (size_t)(line_end - p - (line_end > p &&
						      line_end[-1] == '\r')));
	char *target, *version, *q, *copy, *raw_line;
	struct reply rep = { 0 };
	const char *name = NULL;
	struct registry_view before = { 0 }, after = { 0 };
	struct query args;
	struct headers hdrs;
	struct request req;
	struct caller who;
	struct request_head head;
	struct head_view both = { &hdrs, &args };
	size_t body_len;

	body = parse_headers(nl ? nl + 1 : end, end, &hdrs);
	target = strchr(line, ' ');
	if (!target || !*line) {
		front_door_refuses(p, end, "", &rep);
		free(hdrs.text);
		free(line);
		return;
	}
	raw_line = strdup(line);
	*target++ = '\0';
	/* an HTTP version after the target, as on the wire, is not part of it */
	version = strstr(target, " HTTP/");
	if (version)
		*version++ = '\0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	parse_query(q ? q : target + strlen(target), &args);
	guard_unescape(NULL, NULL, target);
	/* no Content-Length nor Transfer-Encoding: no body, as in HTTP */
	body_len = header_value(&hdrs, "Content-Length") ||
		   header_value(&hdrs, "Transfer-Encoding") ?
		   (size_t)(end - body) : 0;
	/* libmicrohttpd keeps the body in a buffer of its own */
	copy = malloc(body_len + 1);
	memcpy(copy, body, body_len);
	req = (struct request){
		.method = strcmp(line, "HEAD") ? line : "GET",
		.path = target, .body = copy, .body_len = body_len,
		.query = view_query, .conn = &both, .header = head_value,
		.peer = "127.0.0.1", .who = &who,
	};
	head = (struct request_head){
		.version = version ? version : "HTTP/1.0",
		.header = head_value, .each = each_value, .conn = &both,
	};
	view(&before);
	if (!front_door_refuses(p, end, raw_line, &rep) &&
	    !guard_admit(&cfg, line, target, &head, &rep))
		route(&cfg, &req, &rep, &name);
	/* as http.c answers: once the commit that holds its ops settled */
	if (rep.wait_ticket)
		route_committed(&cfg, &req, &rep, &name);
	view(&after);
	if (verbose)
		fprintf(stderr, "%s %s -> %d %.*s\n", req.method, req.path,
			rep.status, (int)(rep.len < 200 ? rep.len : 200),
			rep.body ? rep.body : "");
	if (rep.status != 204)	/* a CORS preflight has no body */
		check_reply(&req, &rep);
	if (rep.status >= 400 && memcmp(&before, &after, sizeof(before)))
		fuzz_fail("%s %s: %d, yet sessions or versions changed",
			  req.method, req.path, rep.status);
	free(rep.body);
	free(copy);
	free(hdrs.text);
	free(raw_line);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *mark;
	long ids[65] = { 0 }, i;
	int n;

	if (!g_cfg)
		configure();
	cfg.auth = size >= strlen(AUTH_LINE) &&
		   !memcmp(p, AUTH_LINE, strlen(AUTH_LINE));
	if (cfg.auth)
		p += strlen(AUTH_LINE);
	reset();
	for (n = 0; p < end && n < FUZZ_MAX_REQUESTS; n++) {
		mark = memmem(p, (size_t)(end - p), REQ_MARK, strlen(REQ_MARK));
		one_request(p, mark ? mark : end);
		p = mark ? mark + strlen(REQ_MARK) : end;
	}
	sessions_each(forget_sessions, ids);
	for (i = 1; i <= ids[0]; i++)
		check_replay(ids[i]);
	return 0;
}
