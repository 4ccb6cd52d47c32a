// SPDX-License-Identifier: MIT
/*
 * conns.c - every connection from its start to its close, with the time by
 * which it must have delivered a whole request (headers and body).
 *
 * libmicrohttpd's own timeout counts idle time only, so a client sending a
 * header byte a second would hold its connection (and a slot of the
 * connection limit) for ever.  The deadline starts when the connection
 * opens, or when the previous request on it was answered (keep-alive); it
 * stops while a request is being answered, so a long answer or a waiting
 * event stream is never cut.  Once a second the sweeper shuts down the
 * sockets past their deadline; libmicrohttpd then sees the end of the
 * stream and closes the connection itself, in its own thread.
 *
 * Why shutdown(2) from another thread is safe: a record is unregistered,
 * under conns_lock, before its descriptor is closed - by the front door
 * (front.c) while it holds the connection, by libmicrohttpd's close
 * notification after that.  The sweeper only touches descriptors of
 * registered connections, under that lock, so a descriptor it shuts down
 * cannot have been closed and reused for something else.
 *
 * The limits are checked when the front door accepts a connection: at
 * most --max-connections in all, --max-conns-per-ip from one address, and
 * once half of --max-connections are in use an address that already holds
 * a fair share (1/64 of them) gets no more.  However many addresses a
 * slowloris uses, the other half stays for the clients that hold little,
 * and a fresh one is served at once.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "rmapd.h"
#include "strbuf.h"

/* connections held by one client address */
struct peer {
	unsigned char key[17];	/* family, then the address */
	unsigned long n;
	struct peer *next;
};

struct conn {
	int fd;
	int64_t deadline_ms;	/* monotonic; 0 while a request is answered */
	struct peer *peer;
	bool served;		/* by libmicrohttpd, which reads it */
	struct follow follow;	/* touched by libmicrohttpd's thread only */
	char name[INET6_ADDRSTRLEN];	/* the peer's, once asked; that thread's */
	struct conn *prev, *next;
};

#define PEER_BUCKETS	1024
#define FAIR_SHARES	64

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns = { .prev = &conns, .next = &conns };
static unsigned long nr_conns;
/* refused: past --max-connections, --max-conns-per-ip, the fair share */
static unsigned long nr_refused[3];
static unsigned long nr_cut;		/* past their deadline */
static struct peer *peers[PEER_BUCKETS];
/* the records by descriptor, for libmicrohttpd's start notification */
static struct conn **by_fd;
static size_t nr_by_fd;

static struct peer **peer_slot(const unsigned char key[17])
{
	uint32_t h = 2166136261u;
	struct peer **pp;
	size_t i;

	for (i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &peers[h % PEER_BUCKETS]; *pp; pp = &(*pp)->next)
		if (!memcmp((*pp)->key, key, 17))
			break;
	return pp;
}

/* Called with conns_lock held; NULL when out of memory. */
static struct peer *peer_get(const unsigned char key[17])
{
	struct peer **pp = peer_slot(key);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return NULL;
		memcpy((*pp)->key, key, 17);
	}
	(*pp)->n++;
	return *pp;
}

static void peer_put(struct peer *p)
{
	struct peer **pp;

	if (--p->n)
		return;
	pp = peer_slot(p->key);
	*pp = p->next;
	free(p);
}

static unsigned long fair_share(void)
{
	unsigned long share = g_cfg->max_conns / FAIR_SHARES;

	return share ? share : 1;
}

int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The millisecond after now, rounded up: a deadline counted from it is never
 * reached before the full timeout has passed (counted from a truncated now
 * it could be, by up to a millisecond).
 */
static int64_t monotonic_ms_up(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000;
}

static void arm(struct conn *c)
{
	int64_t t = monotonic_ms_up() + (int64_t)g_cfg->request_timeout * 1000;

	__atomic_store_n(&c->deadline_ms, t, __ATOMIC_RELAXED);
}

/* Called with conns_lock held: why addr may not have one more, or NULL. */
static const char *refusal(const unsigned char key[17], bool ip,
			   unsigned long *held)
{
	struct peer **pp = ip ? peer_slot(key) : NULL;

	*held = pp && *pp ? (*pp)->n : 0;
	if (nr_conns >= g_cfg->max_conns)
		return "limit";
	if (g_cfg->max_conns_per_ip && *held >= g_cfg->max_conns_per_ip)
		return "per-address";
	if (nr_conns >= g_cfg->max_conns / 2 && *held >= fair_share())
		return "fair-share";
	return NULL;
}

static void log_refusal(const char *why, const unsigned char key[17],
			unsigned long held, unsigned long in_use)
{
	char name[INET6_ADDRSTRLEN] = "?";

	if (key[0])
		inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, name,
			  sizeof(name));
	if (!strcmp(why, "limit"))
		log_limited(&nr_refused[0], LOG_WARNING, "refused a connection "
			    "from %s: %lu connections are open, the limit "
			    "(--max-connections)", name, in_use);
	else if (!strcmp(why, "per-address"))
		log_limited(&nr_refused[1], LOG_WARNING, "refused a connection "
			    "from %s: it holds %lu, the limit per address "
			    "(--max-conns-per-ip)", name, held);
	else
		log_limited(&nr_refused[2], LOG_WARNING, "refused a connection "
			    "from %s: it holds %lu of the %lu in use, its fair "
			    "share is %lu", name, held, in_use, fair_share());
}

static void link_conn(struct conn *c)
{
	c->next = &conns;
	c->prev = conns.prev;
	conns.prev->next = c;
	conns.prev = c;
	nr_conns++;
	if (c->fd >= 0 && (size_t)c->fd < nr_by_fd)
		__atomic_store_n(&by_fd[c->fd], c, __ATOMIC_RELEASE);
}

static void unlink_conn(struct conn *c)
{
	follow_release(&c->follow);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	nr_conns--;
	if (c->peer)
		peer_put(c->peer);
	if (c->fd >= 0 && (size_t)c->fd < nr_by_fd && by_fd[c->fd] == c)
		__atomic_store_n(&by_fd[c->fd], NULL, __ATOMIC_RELEASE);
}

int conns_init(size_t max_fd)
{
	by_fd = calloc(max_fd, sizeof(*by_fd));
	nr_by_fd = by_fd ? max_fd : 0;
	return by_fd ? 0 : -1;
}

/*
 * A connection the front door accepted: registered with its deadline, or
 * NULL when the limits refuse it (logged at a bounded rate).  An address
 * that already holds its fair share gets no more once the daemon is half
 * full, so however many addresses a slowloris uses, the other half stays
 * for the clients that hold little.
 */
struct conn *conns_admit(int fd, const struct sockaddr *addr)
{
	unsigned char key[17];
	/* a trusted proxy carries many clients: no per-address share */
	bool ip = addr_key(addr, key) && !proxy_trusted(key);
	unsigned long held, in_use;
	const char *why;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	pthread_mutex_lock(&conns_lock);
	in_use = nr_conns;
	why = refusal(key, ip, &held);
	if (!why && ip && !(c->peer = peer_get(key)))
		why = "memory";
	if (!why) {
		link_conn(c);
		arm(c);
	}
	pthread_mutex_unlock(&conns_lock);
	if (!why)
		return c;
	free(c);
	if (!strcmp(why, "memory"))
		return NULL;
	__atomic_add_fetch(&nr_refused[!strcmp(why, "limit") ? 0 :
		!strcmp(why, "per-address") ? 1 : 2], 1, __ATOMIC_RELAXED);
	log_refusal(why, key, held, in_use);
	return NULL;
}

/*
 * A descriptor the front door keeps open, for a little while, after
 * libmicrohttpd has closed its own (front_linger()): registered beyond the
 * limits, as it replaces a connection that counted.
 */
struct conn *conns_adopt(int fd, int64_t ms)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->deadline_ms = monotonic_ms() + ms;
	pthread_mutex_lock(&conns_lock);
	link_conn(c);
	pthread_mutex_unlock(&conns_lock);
	return c;
}

/* The front door closes c's descriptor after this. */
void conns_forget(struct conn *c)
{
	pthread_mutex_lock(&conns_lock);
	unlink_conn(c);
	pthread_mutex_unlock(&conns_lock);
	free(c);
}

/*
 * libmicrohttpd refused a connection handed to it, and closed it: c is
 * gone already if it got as far as the close notification.
 */
void conns_handover_failed(struct conn *c, int fd)
{
	bool ours;

	pthread_mutex_lock(&conns_lock);
	ours = fd >= 0 && (size_t)fd < nr_by_fd && by_fd[fd] == c;
	if (ours)
		unlink_conn(c);
	pthread_mutex_unlock(&conns_lock);
	if (ours)
		free(c);
}

/* answered and closing: a little while to read what the client still sends */
void conns_linger(struct conn *c, int64_t ms)
{
	int64_t t = monotonic_ms() + ms;

	if (t < __atomic_load_n(&c->deadline_ms, __ATOMIC_RELAXED))
		__atomic_store_n(&c->deadline_ms, t, __ATOMIC_RELAXED);
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/*
 * MHD starts a connection the front door handed over: its record, found
 * by its descriptor, becomes the connection's socket context.
 */
static void conn_started(struct MHD_Connection *mc, void **socket_ctx)
{
	const union MHD_ConnectionInfo *fd =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *c = NULL;

	if (!fd)
		return;
	pthread_mutex_lock(&conns_lock);
	if (fd->connect_fd >= 0 && (size_t)fd->connect_fd < nr_by_fd)
		c = by_fd[fd->connect_fd];
	pthread_mutex_unlock(&conns_lock);
	/* no record, no deadline: do not keep what cannot be bounded */
	if (!c)
		shutdown(fd->connect_fd, SHUT_RDWR);
	else
		c->served = true;
	*socket_ctx = c;
}

/*
 * The follow-up state of a connection libmicrohttpd serves, for its
 * reads of fd (follow.c); NULL for any other descriptor.  Only the
 * thread that serves the connection reads it, and the record lives until
 * that thread's close notification.
 */
struct follow *conns_follow(int fd)
{
	struct conn *c;

	if (fd < 0 || (size_t)fd >= nr_by_fd)
		return NULL;
	c = __atomic_load_n(&by_fd[fd], __ATOMIC_ACQUIRE);
	return c && c->served ? &c->follow : NULL;
}

/*
 * The client's address as text, for per-address limits: written once per
 * connection, by the one thread that serves it, rather than per request.
 */
const char *conns_peer_name(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);
	const unsigned char *key = c && c->peer ? c->peer->key : NULL;

	if (!c)
		return "?";
	if (!c->name[0] && key)
		inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, c->name,
			  sizeof(c->name));
	if (!c->name[0])
		snprintf(c->name, sizeof(c->name), "?");
	return c->name;
}

int conns_closing_fd(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	return c && c->follow.closing ? c->fd : -1;
}

void conns_notify(void *cls, struct MHD_Connection *mc, void **socket_ctx,
		  enum MHD_ConnectionNotificationCode code)
{
	struct conn *c = *socket_ctx;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(mc, socket_ctx);
		return;
	}
	if (!c)
		return;
	conns_forget(c);
	*socket_ctx = NULL;
}

void conns_request_received(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	if (c)
		__atomic_store_n(&c->deadline_ms, 0, __ATOMIC_RELAXED);
}

void conns_request_done(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	if (c)
		arm(c);
}

/* Once a second: cut the connections past their deadline, in one line. */
void conns_sweep(void)
{
	int64_t now = monotonic_ms();
	unsigned long cut = 0;
	struct conn *c;

	pthread_mutex_lock(&conns_lock);
	for (c = conns.next; c != &conns; c = c->next) {
		int64_t t = __atomic_load_n(&c->deadline_ms, __ATOMIC_RELAXED);

		if (!t || now < t)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		__atomic_store_n(&c->deadline_ms, 0, __ATOMIC_RELAXED);
		cut++;
	}
	nr_cut += cut;
	pthread_mutex_unlock(&conns_lock);
	if (cut)
		log_msg(LOG_WARNING, "closed %lu connection%s that sent no whole "
			"request within %lu s", cut, cut == 1 ? "" : "s",
			g_cfg->request_timeout);
}

void conns_metrics(struct strbuf *t)
{
	unsigned long n, cut;

	pthread_mutex_lock(&conns_lock);
	n = nr_conns;
	cut = nr_cut;
	pthread_mutex_unlock(&conns_lock);
	strbuf_printf(t, "# HELP rmapd_connections Client connections open.\n"
		"# TYPE rmapd_connections gauge\nrmapd_connections %lu\n"
		"# HELP rmapd_connections_refused_total Connections refused "
		"by the limits.\n"
		"# TYPE rmapd_connections_refused_total counter\n"
		"rmapd_connections_refused_total{reason=\"limit\"} %lu\n"
		"rmapd_connections_refused_total{reason=\"per-address\"} %lu\n"
		"rmapd_connections_refused_total{reason=\"fair-share\"} %lu\n"
		"# HELP rmapd_connections_cut_total Connections closed by "
		"the request deadline.\n"
		"# TYPE rmapd_connections_cut_total counter\n"
		"rmapd_connections_cut_total %lu\n", n,
		__atomic_load_n(&nr_refused[0], __ATOMIC_RELAXED),
		__atomic_load_n(&nr_refused[1], __ATOMIC_RELAXED),
		__atomic_load_n(&nr_refused[2], __ATOMIC_RELAXED), cut);
}
