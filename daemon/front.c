// SPDX-License-Identifier: MIT
/*
 * front.c - the front door: rmapd accepts its connections itself and
 * holds each one, in one epoll set, until its first request head is
 * whole; head_check() judges it (peeking, so nothing is consumed), a bad
 * head gets a problem document here and the connection is closed, and a
 * good one is handed to libmicrohttpd (MHD_add_connection), which reads
 * the head again and serves the connection from then on.
 *
 * Two reasons.  libmicrohttpd answers a head it cannot parse with its own
 * HTML page (or nothing), which no option replaces; and a client that
 * trickles its head a byte a second costs libmicrohttpd a connection slot
 * and a wake-up per byte in a worker that others wait on, while here it
 * costs one peek per byte in a thread that does nothing else.  The
 * request deadline (conns.c) covers the time spent here too.
 *
 * A kept-alive connection's next requests are read by libmicrohttpd, each
 * head checked alike on its way (follow.c); one refused there is answered
 * by front_answer() and lingers here too.
 *
 * A refused client gets its answer, then Connection: close: what it still
 * sends is read and dropped until it closes or for LINGER_MS at most, as
 * closing a socket with unread data would reset the connection and could
 * destroy the answer before the client read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rmapd.h"
#include "strbuf.h"

#define LINGER_MS	2000
#define NR_EVENTS	64
#define ACCEPT_EVERY	16	/* events handled between two accept rounds */

struct stage {
	int fd;
	struct conn *c;
	bool closing;		/* answered: reading what is left */
	socklen_t len;
	struct sockaddr_storage addr;
	struct stage *prev, *next;
};

static struct MHD_Daemon *mhd;
static int epfd = -1, lfd = -1, wake_fd = -1, back_fd = -1;
static pthread_t thread;
static bool running;
/* the connections held, touched by the front door's thread only */
static struct stage held = { .prev = &held, .next = &held };
static char peek_buf[HEAD_MAX + 1];
/* descriptors libmicrohttpd gave back to linger (front_linger()) */
static pthread_mutex_t back_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stage *back;
static bool back_open;		/* under back_lock */
/* tags of the three descriptors that are not connections */
static char listen_tag, wake_tag, back_tag;

static void drop(struct stage *st)
{
	st->prev->next = st->next;
	st->next->prev = st->prev;
	conns_forget(st->c);
	/*
	 * Out of the set first: a copy from front_linger() shares its file
	 * with libmicrohttpd's descriptor, and the set watches the file.
	 */
	epoll_ctl(epfd, EPOLL_CTL_DEL, st->fd, NULL);
	close(st->fd);
	free(st);
}

static void handover(struct stage *st)
{
	int fd = st->fd;

	st->prev->next = st->next;
	st->next->prev = st->prev;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	if (MHD_add_connection(mhd, fd, (struct sockaddr *)&st->addr,
			       st->len) != MHD_YES)
		conns_handover_failed(st->c, fd);
	free(st);
}

static void add_line(const char *name, const char *value, void *arg)
{
	strbuf_printf(arg, "%s: %s\r\n", name, value);
}

/* Read and drop what the client sends; false once it is gone. */
static bool drain(int fd)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, peek_buf, sizeof(peek_buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
				 errno == EINTR);
	}
}

void front_answer(int fd, const struct head_check *hc)
{
	struct reply rep = { 0 };
	struct strbuf b;

	reply_problem(&rep, hc->status, hc->type, "", "%s", hc->detail);
	strbuf_init(&b, 1024 + rep.len);
	strbuf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/"
		      "problem+json\r\nContent-Length: %zu\r\nConnection: "
		      "close\r\n", rep.status,
		      MHD_get_reason_phrase_for((unsigned int)rep.status),
		      rep.len);
	guard_each_header(g_cfg, add_line, &b);
	strbuf_printf(&b, "\r\n%.*s", (int)rep.len, rep.body);
	free(rep.body);
	/* an answered socket's buffer takes a few hundred bytes at once */
	send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(b.p);
	shutdown(fd, SHUT_WR);
	log_limited(&lfd, LOG_INFO, "refused a request head: %d %s",
		    hc->status, hc->type);
	metrics_request("front-door", "other", hc->status, 0);
}

/* Answered: read what is left until the client is gone, or LINGER_MS. */
static bool linger(struct stage *st)
{
	st->closing = true;
	conns_linger(st->c, LINGER_MS);
	return drain(st->fd);
}

/* The refusal, whole, then no more answers on this connection. */
static bool refuse(struct stage *st, const struct head_check *hc)
{
	front_answer(st->fd, hc);
	return linger(st);
}

void front_linger(int fd)
{
	struct stage *st = calloc(1, sizeof(*st));
	uint64_t one = 1;

	if (!st)
		return;
	st->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	st->c = st->fd >= 0 ? conns_adopt(st->fd, LINGER_MS) : NULL;
	if (!st->c) {
		if (st->fd >= 0)
			close(st->fd);
		free(st);
		return;
	}
	pthread_mutex_lock(&back_lock);
	if (back_open) {
		st->next = back;
		back = st;
		if (write(back_fd, &one, sizeof(one)) != sizeof(one))
			log_msg(LOG_ERR, "cannot wake the front door: %s",
				strerror(errno));
		st = NULL;
	}
	pthread_mutex_unlock(&back_lock);
	if (st) {
		/* stopping: the front door is gone */
		conns_forget(st->c);
		close(st->fd);
		free(st);
	}
}

static void link_held(struct stage *st)
{
	st->next = &held;
	st->prev = held.prev;
	held.prev->next = st;
	held.prev = st;
}

/* The descriptors front_linger() queued join the ones held here. */
static void take_back(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	struct stage *st, *next;
	uint64_t n;

	if (read(back_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_msg(LOG_ERR, "front door: %s", strerror(errno));
	pthread_mutex_lock(&back_lock);
	st = back;
	back = NULL;
	pthread_mutex_unlock(&back_lock);
	for (; st; st = next) {
		next = st->next;
		ev.data.ptr = st;
		link_held(st);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, st->fd, &ev) || !linger(st))
			drop(st);
	}
}

/* New bytes on a connection held here, or its end (hup). */
static void stage_event(struct stage *st, bool hup)
{
	struct head_check hc;
	enum head_verdict v;
	ssize_t n;

	if (st->closing) {
		if (!drain(st->fd))
			drop(st);
		return;
	}
	n = recv(st->fd, peek_buf, sizeof(peek_buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop(st);
		return;
	}
	v = head_check(peek_buf, (size_t)n, g_cfg->max_body, &hc);
	if (v == HEAD_MORE && hup) {
		/* no more will come: the head stays cut short */
		drop(st);
		return;
	}
	if (v == HEAD_MORE && (size_t)n < sizeof(peek_buf))
		return;
	if (v == HEAD_OK) {
		handover(st);
		return;
	}
	if (v == HEAD_MORE) {
		/* empty lines before the request line fill the buffer */
		hc.status = 431;
		hc.type = "headers-too-large";
		hc.detail = "the request head is larger than rmapd takes";
	}
	if (!refuse(st, &hc))
		drop(st);
}

static void accept_all(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	struct stage *st;
	int fd;

	for (;;) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return;
		st->len = sizeof(st->addr);
		fd = accept4(lfd, (struct sockaddr *)&st->addr, &st->len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_limited(&listen_tag, LOG_WARNING, "cannot "
					    "accept a connection: %s",
					    strerror(errno));
				usleep(10000);
			}
			free(st);
			return;
		}
		st->fd = fd;
		st->c = conns_admit(fd, (struct sockaddr *)&st->addr);
		ev.data.ptr = st;
		if (!st->c || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
			if (st->c)
				conns_forget(st->c);
			close(fd);
			free(st);
			continue;
		}
		link_held(st);
		/* a client's request usually follows its connect at once */
		stage_event(st, false);
	}
}

static void *front_loop(void *arg)
{
	struct epoll_event ev[NR_EVENTS];
	int i, n;

	(void)arg;
	for (;;) {
		n = epoll_wait(epfd, ev, NR_EVENTS, -1);
		for (i = 0; i < n; i++) {
			/*
			 * New connections first, also amid a burst (thousands
			 * cut by their deadline at once): a stage accepted now
			 * is in no event of this batch, so none is stale.
			 */
			if (!(i % ACCEPT_EVERY))
				accept_all();
			if (ev[i].data.ptr == &wake_tag)
				return NULL;
			if (ev[i].data.ptr == &back_tag)
				take_back();
			else if (ev[i].data.ptr != &listen_tag)
				stage_event(ev[i].data.ptr, ev[i].events &
					    (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
		}
	}
}

static int watch(int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int front_start(struct MHD_Daemon *d, int listen_fd)
{
	int fl = fcntl(listen_fd, F_GETFL);

	mhd = d;
	lfd = listen_fd;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	back_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	back_open = true;	/* no connection yet: no lock needed */
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) || epfd < 0 ||
	    wake_fd < 0 || back_fd < 0 || watch(listen_fd, &listen_tag) ||
	    watch(wake_fd, &wake_tag) || watch(back_fd, &back_tag) ||
	    pthread_create(&thread, NULL, front_loop, NULL))
		return -1;
	running = true;
	return 0;
}

void front_stop(void)
{
	uint64_t one = 1;

	if (!running)
		return;
	running = false;
	if (write(wake_fd, &one, sizeof(one)) != sizeof(one))
		log_msg(LOG_ERR, "cannot stop the front door: %s",
			strerror(errno));
	pthread_join(thread, NULL);
	close(lfd);
	pthread_mutex_lock(&back_lock);
	back_open = false;
	pthread_mutex_unlock(&back_lock);
	take_back();
	while (held.next != &held)
		drop(held.next);
	close(epfd);
	close(wake_fd);
	close(back_fd);
}
