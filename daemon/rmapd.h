/* SPDX-License-Identifier: MIT */
/*
 * rmapd.h - what the daemon's files share: the configuration, the session
 * registry, the HTTP reply, logging and metrics.
 */
#ifndef RMAPD_DAEMON_H
#define RMAPD_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/sim.h"
#include "db.h"

#define RMAPD_VERSION "0.1.0"

/* the highest per-session limits the flags accept */
#define CEIL_MAX_PROCS		SIM_CAP_PROCS
#define CEIL_MAX_VMAS		SIM_CAP_VMAS
#define CEIL_MAX_FRAMES		SIM_CAP_FRAMES
#define CEIL_MAX_FILES		SIM_CAP_FILES
#define CEIL_MAX_FILE_PAGES	SIM_CAP_FILE_PAGES
#define CEIL_MAX_PTES		SIM_CAP_PTES

#define MAX_NAMES		16	/* --server-name, --cors-origin, proxies */
#define ADDR_KEY_LEN		17	/* 4 or 6, then the address's bytes */

struct config {
	char listen_addr[64];
	unsigned short port;
	char db_path[512];
	char web_root[512];
	unsigned int threads;
	bool allow_remote;
	bool auth;			/* --auth on: who asks, and may they */
	unsigned long quota_sessions;	/* per user, 0: none */
	unsigned long quota_ops_rate;	/* ops a second per user, 0: none */
	unsigned long quota_stored_bytes; /* journal + snapshots, 0: none */
	unsigned long credential_grace;	/* s the cache outlives the db's answer */
	unsigned long max_body;		/* bytes */
	unsigned long max_batch;	/* ops per request */
	unsigned long max_batch_cost;	/* engine work per request, 0: none */
	unsigned long max_sessions;
	unsigned long max_loaded;	/* sessions kept in memory */
	unsigned long snapshot_every;	/* ops */
	unsigned long keep_snapshots;	/* automatic ones, per session */
	unsigned long max_sse;		/* concurrent event streams */
	unsigned long max_conns;	/* connections at once, all addresses */
	unsigned long max_conns_per_ip;	/* 0: no limit */
	unsigned long request_timeout;	/* s to deliver a whole request */
	enum db_sync sync;		/* what an acknowledged op survives */
	bool commit_block;		/* a worker waits for its commit */
	bool shared_db;			/* other nodes write the database too */
	bool shared_db_set;		/* said so, not taken from --db */
	/* Host names served besides the listening address's own */
	char server_names[MAX_NAMES][256];
	unsigned int nr_server_names;
	/* origins given CORS headers; none by default */
	char cors_origins[MAX_NAMES][256];
	unsigned int nr_cors_origins;
	/* --trusted-proxy: peers that may name the client (addr_key form) */
	unsigned char trusted[MAX_NAMES][ADDR_KEY_LEN];
	unsigned int nr_trusted;
	struct sim_limits limits;
};

/* ---- log.c ---- */
enum log_level { LOG_ERR = 3, LOG_WARNING = 4, LOG_INFO = 6, LOG_DEBUG = 7 };
void log_init(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * For what a client can repeat at will: the first of a kind (key, e.g. a
 * format string) is logged at once, the next ones are counted and
 * log_limited_flush(), called every second, logs how many there were at
 * most once a second (all: now, when stopping).
 */
void log_limited(const void *key, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * log_limited_flush() also writes the request lines that log_request()
 * gathers per thread (at info level), so they are at most a second late.
 */
void log_limited_flush(bool all);
/*
 * "METHOD PATH STATUS Nus", a line for each request answered; with
 * " client ADDR" after it when a trusted proxy named the client
 */
void log_request(const char *method, const char *path, int status, long us,
		 const char *client);

/* ---- sessions.c ---- */
struct session {
	long id;
	char name[128];
	char config_json[512];
	struct sim_config cfg;
	pthread_mutex_t lock;
	struct sim *sim;		/* NULL while evicted */
	bool loaded;			/* sim != NULL, as an atomic */
	long version;			/* journal length: session_version() */
	long durable;			/* of that, committed: atomic */
	long cuts;			/* the journal's rewinds, as last seen */
	uint64_t gen;			/* the history; atomic, set locked */
	uint64_t last_ticket;		/* its latest queued write; atomic */
	long snap_seq;			/* this history's latest automatic
					   snapshot, queued; 0: none yet */
	uint64_t last_used;		/* atomic */
	bool deleted;
	int refs;			/* atomic, under the registry lock */
	long owner;			/* a user's id, 0: none (open mode) */
	int visibility;			/* enum visibility, atomic */
	long class_id;			/* who VIS_CLASS lets read, atomic */
	long access_epoch;		/* the access epoch of those; atomic */
	long last_activity;		/* Unix s of its latest op, atomic */
	long activity_stored;		/* what the database has of it */
};

int sessions_init(const struct config *cfg, struct db *db);
/* shared database: take in the sessions other nodes created */
void sessions_refresh(void);
void sessions_shutdown(void);
unsigned long sessions_count(void);
/*
 * Takes a reference and the session's lock, loading its state if evicted:
 * s->sim is then non-NULL until session_put(), or until a session_rollback()
 * that could not rebuild it (the caller then answers without it).
 */
struct session *session_get(long id);
void session_put(struct session *s);
/* what a new session's journal starts with */
struct session_origin {
	long clone_of;		/* > 0: a copy of ops 1..upto of that session */
	long upto;
	size_t nr_ops;		/* else these ops, seq 1..nr_ops (may be 0) */
	char *const *ops;
	long owner;		/* the new session's, 0: none */
};
/*
 * Create a session with its initial journal, all or nothing.  Returned held
 * and referenced like session_get() but with s->sim not loaded yet; NULL
 * past the session limit (*full set) or when the database failed.
 */
struct session *session_create(const char *name, const char *config_json,
			       const struct session_origin *origin, bool *full);
/* who may read a session, without loading it or taking its lock */
struct session_access {
	long owner;
	int visibility;
	long class_id;
};
bool session_access_info(long id, struct session_access *out);
/*
 * The same, as of the access epoch (db_auth_epochs) a request read at its
 * start: under --shared-db a change made through another node since the
 * node last looked is read from the database first.
 */
bool session_access_at(long id, long epoch, struct session_access *out);
/* holding the session, once the database has it */
void session_set_visibility(struct session *s, int visibility, long class_id);
/* the version, without the session's lock; set it holding the lock */
long session_version(const struct session *s);
void session_set_version(struct session *s, long version);
/* the version whose ops are all committed (or acknowledged, --sync off) */
long session_durable(const struct session *s);
uint64_t session_gen(const struct session *s);
/* holding s: the cuts its state was made on, for the fence; -1: one node */
long session_cuts(const struct session *s);
/* a rewind or a restore: version is durable, in a new history (gen) */
void session_new_history(struct session *s, long version);
/* an answer's commit is durable: that history reached version */
void session_mark_durable(long id, uint64_t gen, long version);
/* holding s: back to what the database holds (a commit failed); 0 or -1 */
int session_restore(struct session *s);
/* holding s: wait for its queued rows; restore it if one failed */
int session_settle(struct session *s);
/*
 * holding s: its state back to version before, after ops applied in
 * memory and never queued: rebuilt from the database once the rows
 * queued before them are durable.  Failing that, the state is dropped,
 * to be loaded again by the next request; 0 or -1.
 */
int session_rollback(struct session *s, long before);
/*
 * The journal's ops from < seq <= to, replayed on the state at from:
 * fn(seq, op_text, op, result, arg) for each; fn != 0 stops.
 */
int session_journal(struct session *s, long from, long to,
		    int (*fn)(long seq, const char *op_text,
			      const struct sim_op *op,
			      const struct sim_result *res, void *arg),
		    void *arg);
/* Delete (holding it; -1: the database failed), visit all in id order. */
int session_delete(struct session *s);
void sessions_each(void (*fn)(const struct session *s, void *arg), void *arg);
/*
 * The state at version: snapshot + replay of the ops after it, whatever the
 * current limits (they apply to new ops only).
 */
struct sim *session_build(struct session *s, long version, char *err,
			  size_t errlen);
/*
 * New ops meet the configured limits, raised to what the state already
 * holds: a session over lowered limits cannot grow but can always shrink,
 * whether or not it was evicted and reloaded since.
 */
void session_fit_limits(struct session *s);

struct cJSON;

/* ---- authz.c: who is asking ---- */
struct caller {
	long user;			/* 0: no account (anonymous, share link) */
	bool admin;
	bool bad;			/* sent a credential that is not valid */
	bool unchecked;			/* the database could not check it */
	char name[65];
	char scope[8];			/* read | write | scrape, or "" */
	char via[8];			/* cookie | token | "" */
	long token;			/* the token or login cookie's id */
	long share_session;		/* a share link's session, 0: none */
	long share_pin;			/* its step, -1: the latest */
	long pin;			/* this request sees that step, -1: any */
	long epoch[2];			/* db_auth_epochs() as it began */
};

/* ---- routes.c ---- */
struct request {
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	const char *(*query)(void *conn, const char *key);
	void *conn;
	const char *(*header)(void *conn, const char *name);	/* or NULL */
	const char *peer;		/* the client's address, or NULL */
	struct caller *who;		/* set by authz_gate() */
};

struct reply {
	int status;
	const char *ctype;
	char *body;			/* malloc'd */
	size_t len;
	bool recycle;			/* body: kept for the next (bufs.c) */
	char location[128];
	char allow[64];
	char cookie[160];		/* Set-Cookie */
	unsigned int retry_after;	/* s, 0: no Retry-After */
	bool challenge;			/* WWW-Authenticate: Bearer */
	/* event streams: the session to follow from version */
	long stream_session;
	long stream_version;
	long stream_cuts;		/* -1: the session's now */
	/*
	 * Built on a state not yet durable: it leaves once ticket is
	 * settled, as is if that history did not fail (route_committed()).
	 */
	uint64_t wait_ticket;
	long wait_session;
	uint64_t wait_gen;
	long wait_version;
};

void route(const struct config *cfg, const struct request *req,
	   struct reply *rep, const char **route_name);
void reply_problem(struct reply *rep, int status, const char *type,
		   const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* 503 storage-unavailable: what was not done, why, and a stable reason */
void reply_storage(struct reply *rep, enum db_fault fault, const char *why,
		   const char *what);
/*
 * rep->wait_ticket is settled: keep the answer if its state is durable,
 * else answer a write 503 and build a read again on the restored state.
 */
void route_committed(const struct config *cfg, const struct request *req,
		     struct reply *rep, const char **route_name);

/* json as the answer, freed */
void reply_json(struct reply *rep, int status, struct cJSON *json);

/* bufs.c: large answers written into the buffers of earlier ones */
struct jw;
void bufs_jw_init(struct jw *w, size_t cap);
void bufs_put(void *p);
/* the request's JSON body, or NULL with rep answered */
struct cJSON *parse_body(const struct request *req, struct reply *rep);
/* a JSON object with no key but these, else false with rep answered */
bool only_fields(const struct cJSON *json, const char *const *allowed,
		 struct reply *rep);
/* whether the method is m, else false with 405 and Allow answered */
bool method_is(const struct request *req, const char *m, struct reply *rep,
	       const char *allow);

/* ---- metrics.c ---- */
void metrics_request(const char *route, const char *method, int status,
		     double seconds);
void metrics_ops(unsigned long n);
/* a failed batch undone: from a copy taken before it, or rebuilt */
void metrics_batch_undo(bool copied);
char *metrics_render(size_t *len);

/* ---- http.c ---- */
struct MHD_Daemon;
struct sockaddr;
/* Serve the connections the front door accepts on listen_fd. */
struct MHD_Daemon *http_start(const struct config *cfg, int listen_fd);
/* Graceful: refuse new connections, finish the requests in flight. */
void http_stop(struct MHD_Daemon *d);
/* true once SIGTERM/SIGINT started the shutdown */
bool http_stopping(void);
/* event streams */
void streams_notify(long session);
/*
 * A live lesson of session moved to step (-1: none named) or to walk
 * (NULL: none), or stopped.
 */
struct db_live_walk;
void streams_notify_live(long session, long step,
			 const struct db_live_walk *walk, bool live);
void streams_expire(bool all);

/* ---- proxy.c: the client behind a trusted proxy ---- */
struct sockaddr;
/* an address as a key; false for what is not IP */
bool addr_key(const struct sockaddr *sa, unsigned char key[ADDR_KEY_LEN]);
/* --trusted-proxy ADDR: 0, or -1 with the error printed */
int proxy_add(struct config *c, const char *v);
bool proxy_trusted(const unsigned char key[ADDR_KEY_LEN]);
/*
 * The client's address as text in out when a trusted proxy names it (true);
 * false, out untouched: the peer is the client (conns_peer_name() spells
 * it, once a connection rather than per request).
 */
bool proxy_client(const struct sockaddr *peer,
		  const char *(*header)(void *conn, const char *name),
		  void *conn, char *out, size_t len);

/* ---- conns.c ---- */
struct MHD_Connection;
struct conn;
/* where a served connection's reads are in its stream of requests */
struct follow {
	unsigned long left;	/* bytes of the current request not yet given */
	bool closing;		/* no more requests: it sent some too early */
	char *ahead;		/* read, not yet given: a head not yet whole */
	size_t ahead_len, ahead_off;
};
/* the bytes a connection's reads kept, freed with its record */
void follow_release(struct follow *f);
int64_t monotonic_ms(void);
/* the records by descriptor: room for descriptors below max_fd */
int conns_init(size_t max_fd);
/* the front door accepted fd: registered, or NULL past the limits */
struct conn *conns_admit(int fd, const struct sockaddr *addr);
/* the front door drops it (then closes its descriptor) */
void conns_forget(struct conn *c);
/* a descriptor kept for ms to read what is left (front_linger()) */
struct conn *conns_adopt(int fd, int64_t ms);
/* libmicrohttpd refused it, and closed fd */
void conns_handover_failed(struct conn *c, int fd);
/* answered and closing: at most ms more to read what is left */
void conns_linger(struct conn *c, int64_t ms);
#ifdef MHD_VERSION	/* for the files that include microhttpd.h */
/* MHD_OPTION_NOTIFY_CONNECTION: the record becomes the socket context */
void conns_notify(void *cls, struct MHD_Connection *mc, void **socket_ctx,
		  enum MHD_ConnectionNotificationCode code);
#endif
/* the whole request is in: its deadline stops while it is answered */
void conns_request_received(struct MHD_Connection *mc);
/* answered: the next request on the connection has a fresh deadline */
void conns_request_done(struct MHD_Connection *mc);
/* fd's follow-up state if libmicrohttpd serves it, else NULL */
struct follow *conns_follow(int fd);
/* the descriptor of a connection whose answer is its last, else -1 */
int conns_closing_fd(struct MHD_Connection *mc);
/* the client's address as text ("?" when it is not IP) */
const char *conns_peer_name(struct MHD_Connection *mc);
/* once a second: shut down the connections past their deadline */
void conns_sweep(void);
struct strbuf;
void conns_metrics(struct strbuf *t);
/* ---- guard.c ---- */
struct MHD_Connection;
struct MHD_Response;
/*
 * A request's head as the guard reads it: libmicrohttpd's connection in the
 * daemon, parsed lines in the fuzz harness.
 */
struct request_head {
	const char *version;		/* "HTTP/1.1" */
	/* the first header of that name (any case), or NULL */
	const char *(*header)(void *conn, const char *name);
	/* fn for every header (query false) or query argument; how many */
	int (*each)(void *conn, bool query,
		    void (*fn)(const char *key, const char *value, void *arg),
		    void *arg);
	void *conn;
};
/*
 * From the request's head: true with rep filled when it is refused (Host,
 * Origin, Content-Type, path) or is a CORS preflight, answered as is.
 */
bool guard_admit(const struct config *cfg, const char *method,
		 const char *path, const struct request_head *head,
		 struct reply *rep);
/* the security headers every answer carries, one fn call each */
void guard_each_header(const struct config *cfg,
		       void (*fn)(const char *name, const char *value, void *arg),
		       void *arg);
/* those, and CORS ones for an allowed origin */
void guard_headers(const struct config *cfg, struct MHD_Response *r,
		   struct MHD_Connection *conn);
/* MHD_OPTION_UNESCAPE_CALLBACK */
size_t guard_unescape(void *cls, struct MHD_Connection *conn, char *s);

/* ---- front.c ---- */
/*
 * The front door: accepts on listen_fd, holds each connection until its
 * request head is whole and sound, answers the others itself, and hands
 * the good ones to d.
 */
int front_start(struct MHD_Daemon *d, int listen_fd);
/* no more connections: close the listening socket and those held */
void front_stop(void);
/* hc's problem document on fd, then no more answers (shutdown) */
struct head_check;
void front_answer(int fd, const struct head_check *hc);
/*
 * libmicrohttpd is about to close fd: a copy of it stays open with the
 * front door, which reads and drops what the client still sends, for a
 * while, so that the close does not reset the connection.
 */
void front_linger(int fd);

/* ---- head.c ---- */
/*
 * Limits on a request's head, well inside libmicrohttpd's 32 KiB pool:
 * past the pool it answers in HTML itself, and with a few hundred headers
 * it has no room left for any answer.
 */
#define HEAD_MAX_TARGET		8192	/* bytes of the request target */
/* query arguments: each takes room in libmicrohttpd's per-request pool */
#define HEAD_MAX_ARGS		64
#define HEAD_MAX_LINE		(HEAD_MAX_TARGET + 64)	/* the request line */
#define HEAD_MAX_FIELDS		8192	/* bytes of the header lines */
#define HEAD_MAX_COUNT		100	/* header lines */
#define HEAD_MAX		(HEAD_MAX_LINE + HEAD_MAX_FIELDS + 4)

enum head_verdict { HEAD_MORE, HEAD_OK, HEAD_BAD };

struct head_check {
	size_t len;		/* HEAD_OK: the head's bytes, blank line included */
	unsigned long body;	/* its Content-Length */
	bool has_length, chunked;
	int status;		/* HEAD_BAD: the answer */
	const char *type, *detail;
};

/*
 * The first n bytes a connection sent: a whole head rmapd takes, a head
 * to refuse (as early as its first bad byte), or too little to tell.
 */
enum head_verdict head_check(const char *buf, size_t n, unsigned long max_body,
			     struct head_check *hc);
/* a method or header name as HTTP spells it; a header value's bytes */
bool head_is_token(const char *s);
bool head_is_value(const char *s);

/* ---- authz.c: the role table ---- */
/*
 * Who the request comes from, and whether the role table lets them ask:
 * true with rep answered (401, 403, or 404 for a session they may not
 * read), false to go on routing.
 */
bool authz_gate(const struct config *cfg, const struct request *req,
		struct reply *rep);
/* whether the caller may read the session (lists show only those) */
bool authz_may_read(const struct caller *who, const struct session *s);
/*
 * What authz.c, auth.c (failed logins) and quota.c remember of the
 * database's users and sessions, forgotten as by a new process: the fuzz
 * harness empties the database between inputs, and each input must meet
 * a daemon as new as its database (tests/fuzz/fuzz_http.c).
 */
void authz_forget(void);
void auth_forget(void);
void quota_forget(void);

/* ---- quota.c: what a user may hold and do ---- */
/* the user's limit of kind ("sessions", "ops_rate"), 0: none */
long quota_limit(long user, const char *kind, unsigned long ceiling);
long quota_sessions_used(long user);
/* true with 429 and Retry-After answered when over the quota */
bool quota_refuse_session(const struct caller *who, struct reply *rep);
bool quota_refuse_ops(const struct caller *who, struct reply *rep);
bool quota_refuse_stored(const struct caller *who, struct reply *rep);
/* n ops were applied, bytes of journal (or snapshot) stored */
void quota_charge(const struct caller *who, unsigned long n, size_t bytes);
/* the bytes of journal and snapshots the user's sessions hold */
long quota_stored_used(long user);
/* ops a second the user applied, over the last 10 s */
double quota_ops_recent(long user);
/* holding s: an op was applied to it now (last_activity) */
void quota_touch(struct session *s);

/* ---- classes.c: classes, rosters, lessons, per-class quotas ---- */
bool classes_page_route(const struct request *req, char **seg, int n,
			struct reply *rep, const char **name);

/* ---- auth.c: login, logout, me, shares, visibility ---- */
/* true when the path is one of these routes (rep answered) */
bool auth_route(const struct config *cfg, const struct request *req,
		char **seg, int n, struct reply *rep, const char **name);
/* an optional whole number field in lo..hi: false when answered */
bool opt_long(const struct cJSON *body, const char *key, long lo, long hi,
	      long *out, struct reply *rep);
/* a login cookie's token, from the Cookie header, or NULL */
const char *auth_cookie(const char *cookie_header, char *buf, size_t len);

/* ---- cli.c: rmapd user|token|class ... ---- */
bool rmapd_cli_command(const char *noun);
int rmapd_cli_main(int argc, char **argv);

/* ---- web.c ---- */
void serve_static(const struct config *cfg, const char *path,
		  struct reply *rep);

extern struct db *g_db;
extern const struct config *g_cfg;

#endif /* RMAPD_DAEMON_H */
