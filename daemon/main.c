// SPDX-License-Identifier: MIT
/*
 * main.c - rmapd: flags and config file, the database, the HTTP server,
 * systemd readiness and socket activation, and a clean stop on SIGTERM or
 * SIGINT (in-flight requests finish, the WAL is checkpointed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "auth.h"
#include "rmapd.h"
#include "run.h"

struct db *g_db;
const struct config *g_cfg;

static const char usage[] =
"usage: rmapd [OPTIONS]            serve the API and the web page\n"
"       rmapd run [--observe] [--zero-page|--no-zero-page] FILE\n"
"                                  apply a scenario and print the result\n"
"       rmapd user|token|class|quota ...  users, API tokens, classes, quotas\n"
"                                  (rmapd user --help)\n"
"\n"
"options (also accepted as 'name = value' lines in --config FILE):\n"
"  --listen ADDR:PORT     address to serve on (default 127.0.0.1:8080;\n"
"                         [::1]:PORT for IPv6). Under systemd socket\n"
"                         activation the socket passed in is used instead\n"
"  --auth on|off          on: users (rmapd user --help) read and change\n"
"                         only what is theirs; off (the default): anyone\n"
"                         may do anything, on loopback only\n"
"  --allow-remote[=BOOL]  serve a non-loopback address with --auth off\n"
"                         (yes/no, true/false, 1/0; the bare flag is yes):\n"
"                         anyone on that network may read and change every\n"
"                         session. Logged, and said in /readyz\n"
"  --server-name NAME     a host name (or address) clients reach rmapd by,\n"
"                         besides the listening address (and localhost,\n"
"                         127.0.0.1, [::1] on loopback); repeatable. Other\n"
"                         Host headers get 421 (DNS rebinding)\n"
"  --cors-origin ORIGIN   send CORS headers to pages from ORIGIN\n"
"                         (http[s]://host[:port]) and let them change state;\n"
"                         repeatable; none by default\n"
"  --trusted-proxy ADDR   a reverse proxy's address (nginx): from it alone\n"
"                         X-Real-IP (else X-Forwarded-For's last hop) names\n"
"                         the client, for per-address limits and the log,\n"
"                         and its connections have no per-address limit;\n"
"                         repeatable; none by default\n"
"  --db PATH|URL          SQLite database (default ./rmapd.sqlite), or a\n"
"                         PostgreSQL one: postgresql://USER@HOST/DBNAME\n"
"  --sync MODE            what an acknowledged op survives: full (default:\n"
"                         a power loss; one fsync per group commit),\n"
"                         normal (rmapd killed; the last commits can go\n"
"                         with the machine), off (answered before its\n"
"                         commit: a crash loses the last moment's ops)\n"
"  --commit-wait HOW      an answer waiting for its commit: suspend (its\n"
"                         connection, the default) or block (its worker)\n"
"  --shared-db[=BOOL]     other rmapd nodes write the same database (a\n"
"                         cluster behind nginx): every request first\n"
"                         brings its session to the journal's head; on\n"
"                         by default with a PostgreSQL --db\n";

/* two strings: C99 promises no compiler a longer one */
static const char usage_limits[] =
"  --web-root DIR         the web page's files (default " RMAPD_WEBROOT ")\n"
"  --threads N            HTTP worker threads (default 8)\n"
"  --max-body BYTES       largest request body (default 1048576)\n"
"  --max-batch N          operations per request (default 1000)\n"
"  --max-batch-cost N     engine work per request: kernel steps, PTEs and\n"
"                         pages handled, VMAs visited by rmap walks (default\n"
"                         2000000; 0 = no budget). A batch sure to cost more\n"
"                         is refused, one that does is stopped and undone\n"
"  --max-sessions N       sessions in the database (default 1000)\n"
"  --max-loaded N         sessions kept in memory (default 256)\n"
"  --max-streams N        concurrent event streams (default 1024)\n"
"  --max-connections N    connections at once, from all addresses (default\n"
"                         4096; lowered to fit the open-file limit)\n"
"  --max-conns-per-ip N   connections from one address (default 256,\n"
"                         0 = no limit); past half of --max-connections,\n"
"                         an address holding 1/64 of them gets no more\n"
"  --request-timeout S    a connection that has not sent a whole request\n"
"                         (headers and body) S seconds after it opened or\n"
"                         after its previous answer is closed (default 10)\n"
"  --snapshot-every N     automatic snapshot every N operations (default 100)\n"
"  --keep-snapshots N     automatic snapshots kept per session, the latest\n"
"                         (default 4; named snapshots are always kept)\n"
"  --max-procs N          per session: processes (default 64)\n"
"  --max-vmas N           per session: VMAs (default 4096)\n"
"  --max-frames N         per session: page frames (default 16384)\n"
"  --max-files N          per session: files (default 64)\n"
"  --max-file-pages N     per session: pages of one file (default 4096)\n"
"  --max-ptes N           per session: page-table entries (default 65536)\n"
"  --quota-sessions N     sessions a user may own (0 = any, the default)\n"
"  --quota-ops-rate N     ops a second a user may apply (0 = any)\n"
"  --quota-stored-bytes N bytes of journal and snapshots a user may store (0 = any)\n"
"  --credential-grace S   with the database away, credentials verified\n"
"                         under what it said at most S s before are still\n"
"                         taken (default 0: none)\n"
"  --config FILE          read options from FILE\n"
"  --help, --version\n";

static void defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
	c->port = 8080;
	snprintf(c->db_path, sizeof(c->db_path), "./rmapd.sqlite");
	snprintf(c->web_root, sizeof(c->web_root), "%s", RMAPD_WEBROOT);
	c->threads = 8;
	c->max_body = 1 << 20;
	c->max_batch = 1000;
	c->max_batch_cost = 2000000;
	c->max_sessions = 1000;
	c->max_loaded = 256;
	c->credential_grace = 0;
	c->max_sse = 1024;
	c->max_conns = 4096;
	c->max_conns_per_ip = 256;
	c->request_timeout = 10;
	c->snapshot_every = 100;
	c->keep_snapshots = 4;
	sim_default_limits(&c->limits);
}

static int parse_num(const char *name, const char *v, unsigned long lo,
		     unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || !*v || *end || n < lo || n > hi) {
		fprintf(stderr, "rmapd: --%s takes a number from %lu to %lu\n",
			name, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

/* A flag's value; a bare flag (v NULL) is true. */
static int parse_bool(const char *name, const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on", NULL };
	static const char *const no[] = { "no", "false", "0", "off", NULL };
	size_t i;

	if (!v) {
		*out = true;
		return 0;
	}
	for (i = 0; yes[i]; i++)
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	fprintf(stderr, "rmapd: --%s takes yes/no, true/false or 1/0, not "
		"'%s'\n", name, v);
	return -1;
}

static int parse_listen(struct config *c, const char *v)
{
	const char *colon = strrchr(v, ':');
	unsigned long port;
	size_t n;

	if (!colon || parse_num("listen", colon + 1, 0, 65535, &port))
		goto bad;
	n = (size_t)(colon - v);
	if (v[0] == '[') {
		if (n < 3 || v[n - 1] != ']')
			goto bad;
		v++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(c->listen_addr))
		goto bad;
	memcpy(c->listen_addr, v, n);
	c->listen_addr[n] = '\0';
	c->port = (unsigned short)port;
	return 0;
bad:
	fprintf(stderr, "rmapd: --listen takes ADDR:PORT, e.g. 127.0.0.1:8080\n");
	return -1;
}

static int read_config_file(struct config *c, const char *path);

/* A DNS name or IPv4 address, or an IPv6 one in brackets (added if bare). */
static bool host_name(const char *v, char *out, size_t size)
{
	size_t n = strlen(v);

	if (!n || n > 253)
		return false;
	if (strchr(v, ':')) {
		const char *in = v[0] == '[' ? v + 1 : v;
		size_t len = v[0] == '[' ? n - 2 : n;

		if (v[0] == '[' && v[n - 1] != ']')
			return false;
		if (!len || strspn(in, "0123456789abcdefABCDEF:.") != len)
			return false;
		snprintf(out, size, "[%.*s]", (int)len, in);
		return true;
	}
	if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-") != n)
		return false;
	snprintf(out, size, "%s", v);
	return true;
}

/* http[s]://host[:port], as a browser sends it in Origin. */
static bool origin_name(const char *v, char *out, size_t size)
{
	const char *auth = !strncmp(v, "http://", 7) ? v + 7 :
			   !strncmp(v, "https://", 8) ? v + 8 : NULL;
	const char *colon;
	char host[256];
	size_t n;

	if (!auth || strlen(v) >= size)
		return false;
	colon = auth[0] == '[' ? strstr(auth, "]:") : strchr(auth, ':');
	if (colon && auth[0] == '[')
		colon++;
	n = colon ? (size_t)(colon - auth) : strlen(auth);
	if (n >= sizeof(host))
		return false;
	memcpy(host, auth, n);
	host[n] = '\0';
	if (colon && (!colon[1] || strspn(colon + 1, "0123456789") !=
		      strlen(colon + 1) || strlen(colon + 1) > 5))
		return false;
	if (!host_name(host, out, size) || strcmp(out, host))
		return false;
	snprintf(out, size, "%s", v);
	return true;
}

static int add_name(struct config *c, const char *name, const char *v)
{
	bool server = !strcmp(name, "server-name");
	unsigned int *nr = server ? &c->nr_server_names : &c->nr_cors_origins;
	char (*list)[256] = server ? c->server_names : c->cors_origins;

	if (*nr >= MAX_NAMES) {
		fprintf(stderr, "rmapd: at most %d --%s\n", MAX_NAMES, name);
		return -1;
	}
	if (server ? !host_name(v, list[*nr], sizeof(list[0])) :
		     !origin_name(v, list[*nr], sizeof(list[0]))) {
		fprintf(stderr, "rmapd: --%s takes %s, not '%s'\n", name,
			server ? "a host name or address (no port)" :
			"an origin such as https://example.org:8443", v);
		return -1;
	}
	(*nr)++;
	return 0;
}

static const struct num_option {
	const char *name;
	size_t off;
	unsigned long lo, hi;
} num_options[] = {
	{ "max-body", offsetof(struct config, max_body), 64, 1UL << 30 },
	{ "max-batch", offsetof(struct config, max_batch), 1, 100000 },
	{ "max-batch-cost", offsetof(struct config, max_batch_cost), 0, 1UL << 40 },
	{ "max-sessions", offsetof(struct config, max_sessions), 1, 1000000 },
	{ "max-loaded", offsetof(struct config, max_loaded), 1, 1000000 },
	{ "max-streams", offsetof(struct config, max_sse), 0, 10000 },
	{ "max-connections", offsetof(struct config, max_conns), 16, 65536 },
	{ "max-conns-per-ip", offsetof(struct config, max_conns_per_ip), 0, 65536 },
	{ "request-timeout", offsetof(struct config, request_timeout), 1, 3600 },
	{ "snapshot-every", offsetof(struct config, snapshot_every), 0, 1000000 },
	{ "keep-snapshots", offsetof(struct config, keep_snapshots), 1, 1000000 },
	{ "max-procs", offsetof(struct config, limits.max_procs), 1, CEIL_MAX_PROCS },
	{ "max-vmas", offsetof(struct config, limits.max_vmas), 1, CEIL_MAX_VMAS },
	{ "max-frames", offsetof(struct config, limits.max_frames), 1, CEIL_MAX_FRAMES },
	{ "max-files", offsetof(struct config, limits.max_files), 1, CEIL_MAX_FILES },
	{ "max-file-pages", offsetof(struct config, limits.max_file_pages), 1, CEIL_MAX_FILE_PAGES },
	{ "max-ptes", offsetof(struct config, limits.max_ptes), 1, CEIL_MAX_PTES },
	{ "quota-sessions", offsetof(struct config, quota_sessions), 0, 1000000 },
	{ "quota-ops-rate", offsetof(struct config, quota_ops_rate), 0, 1000000 },
	{ "quota-stored-bytes", offsetof(struct config, quota_stored_bytes), 0, 1UL << 40 },
	{ "credential-grace", offsetof(struct config, credential_grace), 0, 86400 },
};

static const char *const other_options[] = {
	"allow-remote", "auth", "listen", "db", "web-root", "config", "threads",
	"server-name", "cors-origin", "sync", "commit-wait", "shared-db",
	"trusted-proxy", NULL,
};

static const struct num_option *find_num_option(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(num_options) / sizeof(num_options[0]); i++)
		if (!strcmp(name, num_options[i].name))
			return &num_options[i];
	return NULL;
}

static bool known_option(const char *name)
{
	size_t i;

	for (i = 0; other_options[i]; i++)
		if (!strcmp(name, other_options[i]))
			return true;
	return find_num_option(name) != NULL;
}

static int parse_sync(struct config *c, const char *v)
{
	static const char *const names[] = {
		[DB_SYNC_FULL] = "full", [DB_SYNC_NORMAL] = "normal",
		[DB_SYNC_OFF] = "off",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(v, names[i])) {
			c->sync = (enum db_sync)i;
			return 0;
		}
	fprintf(stderr, "rmapd: --sync is full, normal or off\n");
	return -1;
}

/* One option by name (without "--"); value may be NULL for flags. */
static int set_option(struct config *c, const char *name, const char *v)
{
	const struct num_option *num;
	unsigned long n;

	if (!known_option(name)) {
		fprintf(stderr, "rmapd: unknown option --%s (see --help)\n",
			name);
		return -1;
	}
	if (!strcmp(name, "allow-remote"))
		return parse_bool(name, v, &c->allow_remote);
	if (!strcmp(name, "shared-db")) {
		c->shared_db_set = true;
		return parse_bool(name, v, &c->shared_db);
	}
	if (!v) {
		fprintf(stderr, "rmapd: --%s needs a value (see --help)\n", name);
		return -1;
	}
	if (!strcmp(name, "listen"))
		return parse_listen(c, v);
	if (!strcmp(name, "auth"))
		return parse_bool(name, v, &c->auth);
	if (!strcmp(name, "db") || !strcmp(name, "web-root")) {
		char *dst = name[0] == 'd' ? c->db_path : c->web_root;

		if (strlen(v) >= sizeof(c->db_path)) {
			fprintf(stderr, "rmapd: --%s: path too long\n", name);
			return -1;
		}
		strcpy(dst, v);
		return 0;
	}
	if (!strcmp(name, "config"))
		return read_config_file(c, v);
	if (!strcmp(name, "server-name") || !strcmp(name, "cors-origin"))
		return add_name(c, name, v);
	if (!strcmp(name, "trusted-proxy"))
		return proxy_add(c, v);
	if (!strcmp(name, "sync"))
		return parse_sync(c, v);
	if (!strcmp(name, "commit-wait")) {
		if (strcmp(v, "block") && strcmp(v, "suspend")) {
			fprintf(stderr, "rmapd: --commit-wait is suspend or "
				"block\n");
			return -1;
		}
		c->commit_block = !strcmp(v, "block");
		return 0;
	}
	if (!strcmp(name, "threads")) {
		if (parse_num(name, v, 1, 256, &n))
			return -1;
		c->threads = (unsigned int)n;
		return 0;
	}
	num = find_num_option(name);
	if (parse_num(name, v, num->lo, num->hi, &n))
		return -1;
	*(unsigned long *)((char *)c + num->off) = n;
	return 0;
}

static int read_config_file(struct config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "rmapd: cannot read config %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k = line, *v, *end;

		lineno++;
		k += strspn(k, " \t");
		if (*k == '#' || *k == '\n' || !*k)
			continue;
		end = k + strcspn(k, "\r\n");
		*end = '\0';
		v = strpbrk(k, "= \t");
		if (v) {
			*v++ = '\0';
			v += strspn(v, "= \t");
			for (end = v + strlen(v); end > v && strchr(" \t", end[-1]);)
				*--end = '\0';
		}
		if (!strcmp(k, "config") || set_option(c, k, v && *v ? v : NULL)) {
			fprintf(stderr, "rmapd: %s:%d: bad setting\n", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int parse_args(struct config *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *eq;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			fputs(usage_limits, stdout);
			exit(0);
		}
		if (!strcmp(a, "--version")) {
			printf("rmapd " RMAPD_VERSION "\n");
			exit(0);
		}
		if (strncmp(a, "--", 2)) {
			fprintf(stderr, "rmapd: unexpected argument '%s' (see "
				"--help)\n", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		if (eq) {
			*eq = '\0';
			if (set_option(c, a, eq + 1))
				return -1;
		} else if (!strcmp(a, "allow-remote") || !strcmp(a, "shared-db")) {
			set_option(c, a, NULL);
		} else if (set_option(c, a, i + 1 < argc ? argv[++i] : NULL)) {
			return -1;
		}
	}
	return 0;
}

/* Tell systemd (Type=notify) how far we are; nothing outside systemd. */
static void notify(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		log_msg(LOG_WARNING, "sd_notify: %s", strerror(-r));
}

/*
 * The listening stream socket systemd passed (socket activation), or -1.
 * The environment is cleared so that no child inherits it.
 */
static int activation_socket(void)
{
	int n = sd_listen_fds(1);

	if (n < 1)
		return -1;
	if (n > 1)
		log_msg(LOG_WARNING, "systemd passed %d sockets; using the first",
			n);
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		log_msg(LOG_ERR, "the socket systemd passed is not a listening "
			"stream socket");
		return -1;
	}
	return SD_LISTEN_FDS_START;
}

/*
 * The socket the front door accepts on, bound here so that the port the
 * kernel picks for ADDR:0 is known (for the Host check) before any thread
 * serves a request.
 */
static int listen_on(const struct sockaddr *addr, socklen_t len, int backlog)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (addr->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, addr, len) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The address and port of a socket already bound, for the Host check. */
static void activation_address(struct config *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *a = NULL;

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		c->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		c->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (a)
		inet_ntop(ss.ss_family, a, c->listen_addr,
			  sizeof(c->listen_addr));
}

static bool is_loopback(const char *addr)
{
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1") ||
	       !strcmp(addr, "localhost");
}

/* descriptors kept for the database, its WAL, epoll sets, logs */
#define NOFILE_RESERVE	64

/*
 * Every connection and event stream is a descriptor: take the hard limit
 * (systemd's is large) rather than the historical soft 1024, and take no
 * more connections than it leaves room for, so that accept(2) never fails
 * for want of a descriptor (libmicrohttpd then stops accepting for a while).
 */
static void raise_nofile(struct config *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			log_msg(LOG_WARNING, "cannot raise the open-file limit: "
				"%s", strerror(errno));
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= c->max_conns + NOFILE_RESERVE)
		return;
	c->max_conns = rl.rlim_cur > NOFILE_RESERVE + 16 ?
		       rl.rlim_cur - NOFILE_RESERVE : 16;
	log_msg(LOG_WARNING, "open-file limit %lu: taking at most %lu "
		"connections", (unsigned long)rl.rlim_cur, c->max_conns);
}

/* descriptors below the open-file limit (raised already), for conns.c */
static size_t nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (1u << 20))
		return 1u << 20;
	return (size_t)rl.rlim_cur;
}

/* Once when writes start failing for a reason, once when they work again. */
static void log_fault_change(enum db_fault fault, const char *why)
{
	if (fault)
		log_msg(LOG_ERR, "storage: writes refused (%s): %s",
			db_fault_name(fault), why);
	else
		log_msg(LOG_INFO, "storage: writes work again");
}

static void no_users(const struct db_user *u, void *arg)
{
	(void)u;
	*(bool *)arg = false;
}

static void log_auth_mode(const struct config *c, bool activated)
{
	bool empty = true;

	if (!c->auth) {
		if (c->allow_remote && (activated || !is_loopback(c->listen_addr)))
			log_msg(LOG_WARNING, "--allow-remote with --auth off: "
				"anyone who reaches %s may read and change "
				"every session", c->listen_addr);
		return;
	}
	db_user_list(g_db, no_users, &empty);
	if (empty)
		log_msg(LOG_WARNING, "--auth on and no users yet: add one with "
			"`rmapd user add NAME --admin --db %s`", c->db_path);
}

/* A database file removed while rmapd ran is not lost with its inode. */
static void rescue(void)
{
	char where[600];
	int rc = db_rescue(g_db, where, sizeof(where));

	if (!rc)
		log_msg(LOG_ERR, "storage: %s was removed or replaced while rmapd "
			"ran; what it held is saved as %s (move it back to use "
			"it)", g_cfg->db_path, where);
	else if (rc < 0)
		log_msg(LOG_ERR, "storage: %s was removed or replaced while rmapd "
			"ran and is lost: %s", g_cfg->db_path, where);
}

/*
 * glibc raises its mmap threshold to the size of each large block freed
 * (a batch's body, its cJSON tree, its answer), so the next ones come from
 * the heap, and what they leave there stays resident: 230 B of RSS per
 * frame + PTE written in batches of 1,000 ops, where the engine holds 66.
 * A fixed threshold sends them back to the kernel when freed.
 */
static void malloc_tune(void)
{
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct MHD_Daemon *d;
	sigset_t set;
	char err[300];
	bool ipv6;
	bool activated;
	int fd, sig = 0;

	if (argc > 1 && !strcmp(argv[1], "run"))
		return rmapd_run_main(argc - 1, argv + 1);
	if (argc > 1 && rmapd_cli_command(argv[1]))
		return rmapd_cli_main(argc - 1, argv + 1);
	defaults(&cfg);
	if (parse_args(&cfg, argc, argv))
		return 2;
	malloc_tune();
	/*
	 * PostgreSQL is there for several nodes: forgetting the flag must
	 * not give stale reads
	 */
	if (!cfg.shared_db_set)
		cfg.shared_db = !strncmp(cfg.db_path, "postgresql://", 13) ||
				!strncmp(cfg.db_path, "postgres://", 11);
	log_init();
	if (!strcmp(cfg.listen_addr, "localhost"))
		snprintf(cfg.listen_addr, sizeof(cfg.listen_addr), "127.0.0.1");
	ipv6 = strchr(cfg.listen_addr, ':') != NULL;
	fd = activation_socket();
	activated = fd >= 0;
	if (activated)
		activation_address(&cfg, fd);
	if (fd < 0 && !is_loopback(cfg.listen_addr) && !cfg.auth &&
	    !cfg.allow_remote) {
		fprintf(stderr, "rmapd: refusing to serve %s without "
			"authentication: pass --auth on (or --allow-remote on "
			"a trusted network)\n", cfg.listen_addr);
		return 2;
	}
	if (fd < 0 && (ipv6 ? inet_pton(AF_INET6, cfg.listen_addr, &sin6.sin6_addr)
			    : inet_pton(AF_INET, cfg.listen_addr, &sin.sin_addr)) != 1) {
		fprintf(stderr, "rmapd: bad address '%s'\n", cfg.listen_addr);
		return 2;
	}
	sin.sin_port = htons(cfg.port);
	sin6.sin6_port = htons(cfg.port);
	g_cfg = &cfg;
	raise_nofile(&cfg);
	if (!activated) {
		fd = ipv6 ? listen_on((struct sockaddr *)&sin6, sizeof(sin6),
				      (int)cfg.max_conns)
			  : listen_on((struct sockaddr *)&sin, sizeof(sin),
				      (int)cfg.max_conns);
		if (fd < 0) {
			log_msg(LOG_ERR, "cannot serve on %s:%u: %s",
				cfg.listen_addr, cfg.port, strerror(errno));
			return 1;
		}
		activation_address(&cfg, fd);
	}
	if (conns_init(nofile_limit())) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	g_db = db_open(cfg.db_path, err, sizeof(err));
	if (!g_db) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	db_redact(cfg.db_path);	/* only logged from here on */
	db_on_fault_change(g_db, log_fault_change);
	if (db_set_sync(g_db, cfg.sync)) {
		log_msg(LOG_ERR, "cannot set --sync on %s", cfg.db_path);
		db_close(g_db);
		return 1;
	}
	if (db_open_note(g_db)[0])
		log_msg(LOG_WARNING, "storage: %s", db_open_note(g_db));
	log_auth_mode(&cfg, activated);
	if (sessions_init(&cfg, g_db)) {
		log_msg(LOG_ERR, "cannot read the sessions of %s", cfg.db_path);
		db_close(g_db);
		return 1;
	}
	/* every thread started from here on leaves these signals to sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = http_start(&cfg, fd);
	if (!d) {
		log_msg(LOG_ERR, "cannot serve on %s:%u", cfg.listen_addr, cfg.port);
		sessions_shutdown();
		db_close(g_db);
		return 1;
	}
	if (activated)
		log_msg(LOG_INFO, "rmapd %s serving the socket from systemd "
			"(database %s)", RMAPD_VERSION, cfg.db_path);
	else
		log_msg(LOG_INFO, "rmapd %s serving http://%s%s%s:%u/ (database "
			"%s, %lu sessions)", RMAPD_VERSION, ipv6 ? "[" : "",
			cfg.listen_addr, ipv6 ? "]" : "", cfg.port, cfg.db_path,
			sessions_count());
	notify("READY=1");
	for (;;) {
		struct timespec tick = { 1, 0 };

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig > 0)
			break;
		streams_expire(false);
		conns_sweep();
		log_limited_flush(false);
	}
	notify("STOPPING=1");
	log_msg(LOG_INFO, "signal %d: stopping", sig);
	http_stop(d);
	sessions_shutdown();
	rescue();
	db_close(g_db);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
