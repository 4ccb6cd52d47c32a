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
 * Why shutdown(2) from another thread is safe: libmicrohttpd calls the
 * close notification before it closes the descriptor, and the notification
 * takes conns_lock to unregister the connection.  The sweeper only touches
 * descriptors of registered connections, under that lock, so a descriptor
 * it shuts down cannot have been closed and reused for something else.
 *
 * Room for other addresses: besides libmicrohttpd's hard limit per address
 * (--max-conns-per-ip), once half of --max-connections are in use an
 * address that already holds a fair share (1/64 of them) gets no more.
 * However many addresses a slowloris uses, the other half stays for the
 * clients that hold little, and a fresh one is served at once.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
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
	struct conn *prev, *next;
};

#define PEER_BUCKETS	1024
#define FAIR_SHARES	64

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns = { .prev = &conns, .next = &conns };
static unsigned long nr_conns;
static unsigned long nr_unfair;		/* refused for their fair share */
static unsigned long nr_cut;		/* past their deadline */
static struct peer *peers[PEER_BUCKETS];

/* An address as a key; false for what is not IP (no per-address share). */
static bool peer_key(const struct sockaddr *sa, unsigned char key[17])
{
	memset(key, 0, 17);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

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

/*
 * MHD's accept policy: refuse an address its next connection when the
 * daemon is half full and it holds its fair share already.  Counted at the
 * start notification, so a few accepts running at once in the workers may
 * pass together: the share is kept to within the number of threads.
 */
enum MHD_Result conns_accept(void *cls, const struct sockaddr *addr,
			     socklen_t addrlen)
{
	unsigned char key[17];
	unsigned long held = 0, in_use;
	struct peer **pp;
	char name[INET6_ADDRSTRLEN] = "?";

	(void)cls;
	(void)addrlen;
	if (!peer_key(addr, key))
		return MHD_YES;
	pthread_mutex_lock(&conns_lock);
	in_use = nr_conns;
	if (in_use >= g_cfg->max_conns / 2) {
		pp = peer_slot(key);
		held = *pp ? (*pp)->n : 0;
	}
	pthread_mutex_unlock(&conns_lock);
	if (held < fair_share())
		return MHD_YES;
	__atomic_add_fetch(&nr_unfair, 1, __ATOMIC_RELAXED);
	inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, name, sizeof(name));
	log_limited(&nr_conns, LOG_WARNING, "refused a connection from %s: "
		    "it holds %lu of the %lu in use, its fair share is %lu",
		    name, held, in_use, fair_share());
	return MHD_NO;
}

int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arm(struct conn *c)
{
	int64_t t = monotonic_ms() + (int64_t)g_cfg->request_timeout * 1000;

	__atomic_store_n(&c->deadline_ms, t, __ATOMIC_RELAXED);
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

static void conn_started(struct MHD_Connection *mc, void **socket_ctx)
{
	const union MHD_ConnectionInfo *fd =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *addr =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	unsigned char key[17];
	bool ip = peer_key(addr ? addr->client_addr : NULL, key);
	struct conn *c;

	if (!fd)
		return;
	c = calloc(1, sizeof(*c));
	if (c)
		c->fd = fd->connect_fd;
	pthread_mutex_lock(&conns_lock);
	if (c && ip && !(c->peer = peer_get(key))) {
		free(c);
		c = NULL;
	}
	if (c) {
		c->next = &conns;
		c->prev = conns.prev;
		conns.prev->next = c;
		conns.prev = c;
		nr_conns++;
		arm(c);
	}
	pthread_mutex_unlock(&conns_lock);
	/* no record, no deadline: do not keep what cannot be bounded */
	if (!c)
		shutdown(fd->connect_fd, SHUT_RDWR);
	*socket_ctx = c;
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
	pthread_mutex_lock(&conns_lock);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	nr_conns--;
	if (c->peer)
		peer_put(c->peer);
	pthread_mutex_unlock(&conns_lock);
	free(c);
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
		"to an address holding its fair share.\n"
		"# TYPE rmapd_connections_refused_total counter\n"
		"rmapd_connections_refused_total{reason=\"fair-share\"} %lu\n"
		"# HELP rmapd_connections_cut_total Connections closed by "
		"the request deadline.\n"
		"# TYPE rmapd_connections_cut_total counter\n"
		"rmapd_connections_cut_total %lu\n", n,
		__atomic_load_n(&nr_unfair, __ATOMIC_RELAXED), cut);
}
