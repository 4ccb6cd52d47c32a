// SPDX-License-Identifier: MIT
/*
 * follow.c - the heads of a kept-alive connection's next requests, checked
 * as the front door checks the first one, on their way to libmicrohttpd.
 *
 * After the hand-over libmicrohttpd reads the socket itself, and a head it
 * cannot parse gets its own HTML page or nothing at all.  Handing the
 * connection back to the front door between requests cost 13-20% of
 * keep-alive throughput, so instead rmapd defines recv(2): libmicrohttpd
 * calls it through the dynamic linker, which finds the executable's own
 * definition first.  For a connection libmicrohttpd serves, a read that
 * starts a request first peeks at the head and runs head_check() on it: a
 * head that is not whole yet reads as "try again" (each new byte wakes the
 * edge-triggered poller again), a bad one is answered with its problem
 * document and reads as the end of the stream, and a good one is read up
 * to the end of its body and no further, so that libmicrohttpd never sees
 * a byte of the next request before that request's head is checked.  That
 * costs a peek per request.
 *
 * A client that sends its next request before the answer to this one
 * (pipelining, which browsers and curl do not do) has sent bytes that
 * libmicrohttpd, stopping short, would not be woken for: that request is
 * not read, and the answer in hand closes the connection (RFC 9112, 9.3.2
 * has the client retry).  Every other descriptor reads as recv(2) does.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "rmapd.h"

typedef ssize_t (*recv_fn)(int, void *, size_t, int);

static recv_fn libc_recv_fn;
static __thread char peek_buf[HEAD_MAX + 1];

static ssize_t libc_recv(int fd, void *buf, size_t len, int flags)
{
	recv_fn fn = __atomic_load_n(&libc_recv_fn, __ATOMIC_RELAXED);

	if (!fn) {
		*(void **)&fn = dlsym(RTLD_NEXT, "recv");
		if (!fn) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&libc_recv_fn, fn, __ATOMIC_RELAXED);
	}
	return fn(fd, buf, len, flags);
}

/* the client has closed its side: a head cut short stays so */
static bool peer_done(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/*
 * At the start of a request: 1 to read it, 0 to refuse it (answered
 * already: libmicrohttpd reads the end of the stream), -1 for too little
 * to tell yet.
 */
static int check_next(struct follow *f, int fd)
{
	struct head_check hc;
	enum head_verdict v;
	ssize_t n;

	n = libc_recv(fd, peek_buf, sizeof(peek_buf), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return 1;	/* the end, or an error: libmicrohttpd sees it */
	v = head_check(peek_buf, (size_t)n, g_cfg->max_body, &hc);
	if (v == HEAD_MORE && (size_t)n < sizeof(peek_buf))
		return peer_done(fd) ? 1 : -1;
	if (v == HEAD_MORE) {
		/* empty lines before the request line fill the buffer */
		hc.status = 431;
		hc.type = "headers-too-large";
		hc.detail = "the request head is larger than rmapd takes";
	}
	if (v != HEAD_OK) {
		front_answer(fd, &hc);
		front_linger(fd);
		f->closing = true;
		return 0;
	}
	f->left = hc.len + hc.body;
	if ((size_t)n > f->left)
		f->closing = true;	/* pipelined: see above */
	return 1;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct follow *f = (flags & MSG_PEEK) || !len ? NULL : conns_follow(fd);
	bool body = f && f->left;	/* the rest of a request begun before */
	ssize_t n;

	if (!f)
		return libc_recv(fd, buf, len, flags);
	if (!body) {
		if (f->closing)
			return 0;
		switch (check_next(f, fd)) {
		case 0:
			return 0;
		case -1:
			errno = EAGAIN;
			return -1;
		}
		if (!f->left)
			return libc_recv(fd, buf, len, flags);
	}
	n = libc_recv(fd, buf, len < f->left ? len : f->left, flags);
	if (n <= 0)
		return n;
	f->left -= (unsigned long)n;
	/*
	 * The end of a body read short of len: is the next request here?
	 * (At a request's start, check_next() has seen what was there.)
	 */
	if (body && !f->left && (size_t)n < len &&
	    libc_recv(fd, peek_buf, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		f->closing = true;
	return n;
}
