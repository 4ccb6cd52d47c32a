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
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "rmapd.h"

struct conn {
	int fd;
	int64_t deadline_ms;	/* monotonic; 0 while a request is answered */
	struct conn *prev, *next;
};

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns = { .prev = &conns, .next = &conns };

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
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *c;

	if (!info)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* no record, no deadline: do not keep what cannot be bounded */
		shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = info->connect_fd;
	arm(c);
	pthread_mutex_lock(&conns_lock);
	c->next = &conns;
	c->prev = conns.prev;
	conns.prev->next = c;
	conns.prev = c;
	pthread_mutex_unlock(&conns_lock);
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
	pthread_mutex_unlock(&conns_lock);
	if (cut)
		log_msg(LOG_WARNING, "closed %lu connection%s that sent no whole "
			"request within %lu s", cut, cut == 1 ? "" : "s",
			g_cfg->request_timeout);
}
