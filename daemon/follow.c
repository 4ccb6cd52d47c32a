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
 * starts a request runs head_check() on what it read before libmicrohttpd
 * gets any of it: a head that is not whole yet is kept here (at most
 * HEAD_MAX bytes, for as long as the request deadline lets the client
 * take) and reads as "try again", a bad one is answered with its problem
 * document and reads as the end of the stream, and a good one is given up
 * to the end of its body and no further, so that libmicrohttpd never sees
 * a byte of the next request before that request's head is checked.  The
 * read that brings a head is the one libmicrohttpd asked for: no peek
 * before it.
 *
 * A client that sends its next request before the answer to this one
 * (pipelining, which browsers and curl do not do) has sent bytes that
 * libmicrohttpd, stopping short, would not be woken for: that request is
 * dropped, and the answer in hand closes the connection (RFC 9112, 9.3.2
 * has the client retry).  Every other descriptor reads as recv(2) does.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "rmapd.h"

typedef ssize_t (*recv_fn)(int, void *, size_t, int);

static recv_fn libc_recv_fn;
static __thread char peek_buf[1];

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

/* what a follow-up's head may take before it is judged too large */
#define AHEAD_MAX	(HEAD_MAX + 1)

void follow_release(struct follow *f)
{
	free(f->ahead);
	f->ahead = NULL;
	f->ahead_len = f->ahead_off = 0;
}

/* Keep n bytes read from the socket for libmicrohttpd's next reads. */
static int keep_ahead(struct follow *f, const char *data, size_t n)
{
	if (!f->ahead) {
		f->ahead = malloc(AHEAD_MAX);
		if (!f->ahead)
			return -1;
		f->ahead_len = f->ahead_off = 0;
	}
	if (data != f->ahead) {
		memcpy(f->ahead, data, n);
		f->ahead_len = n;
		f->ahead_off = 0;
	}
	return 0;
}

/*
 * A read that gives fewer than len bytes tells libmicrohttpd, which polls
 * edge-triggered, that the socket is empty: so once the bytes kept here are
 * given, the socket is read for the rest of len (or of the request).
 */
static ssize_t give_ahead(struct follow *f, int fd, char *buf, size_t len,
			  int flags)
{
	size_t k = f->ahead_len - f->ahead_off;
	ssize_t more;

	if (k > len)
		k = len;
	if (k > f->left)
		k = f->left;
	memcpy(buf, f->ahead + f->ahead_off, k);
	f->ahead_off += k;
	f->left -= k;
	/* past the request: a pipelined one, dropped (f->closing is set) */
	if (f->ahead_off == f->ahead_len || !f->left)
		follow_release(f);
	if (k == len || !f->left || f->ahead)
		return (ssize_t)k;
	more = libc_recv(fd, buf + k, len - k < f->left ? len - k : f->left,
			 flags);
	if (more > 0) {
		k += (size_t)more;
		f->left -= (unsigned long)more;
	}
	return (ssize_t)k;
}

/* A refused head: answered here; libmicrohttpd reads the end of the stream. */
static ssize_t refuse_head(struct follow *f, int fd, struct head_check *hc)
{
	front_answer(fd, hc);
	front_linger(fd);
	follow_release(f);
	f->closing = true;
	return 0;
}

/* What head_check() said of n bytes of a head: given, kept, or refused. */
static ssize_t judge(struct follow *f, int fd, char *data, size_t n,
		     char *buf, size_t len, int flags)
{
	struct head_check hc;
	enum head_verdict v = head_check(data, n, g_cfg->max_body, &hc);

	if (v == HEAD_MORE && n < AHEAD_MAX) {
		if (keep_ahead(f, data, n))
			return -1;	/* ENOMEM: libmicrohttpd closes it */
		errno = EAGAIN;
		return -1;
	}
	if (v == HEAD_MORE) {
		/* empty lines before the request line fill the buffer */
		hc.status = 431;
		hc.type = "headers-too-large";
		hc.detail = "the request head is larger than rmapd takes";
	}
	if (v != HEAD_OK)
		return refuse_head(f, fd, &hc);
	f->left = hc.len + hc.body;
	if (n > f->left)
		f->closing = true;	/* pipelined: see above */
	if (data == buf) {
		n = n < f->left ? n : f->left;
		f->left -= n;
		return (ssize_t)n;
	}
	return give_ahead(f, fd, buf, len, flags);
}

/*
 * The start of a request: read what is there into libmicrohttpd's buffer,
 * judge the head, and give the request's bytes.  A head that is not whole
 * yet moves here and reads as "try again": each new byte wakes the poller
 * again, and is read on behind it.
 */
static ssize_t next_request(struct follow *f, int fd, char *buf, size_t len,
			    int flags)
{
	ssize_t got;

	if (!f->ahead) {
		got = libc_recv(fd, buf, len, flags);
		if (got <= 0)
			return got;
		/* libmicrohttpd's buffer full, the head still open: read on */
		if ((size_t)got < len || (size_t)got >= AHEAD_MAX ||
		    head_check(buf, (size_t)got, g_cfg->max_body,
			       &(struct head_check){ 0 }) != HEAD_MORE)
			return judge(f, fd, buf, (size_t)got, buf, len, flags);
		if (keep_ahead(f, buf, (size_t)got))
			return -1;
	}
	got = libc_recv(fd, f->ahead + f->ahead_len, AHEAD_MAX - f->ahead_len,
			flags);
	if (got == 0)
		follow_release(f);	/* a head cut short stays so */
	if (got <= 0)
		return got;
	f->ahead_len += (size_t)got;
	return judge(f, fd, f->ahead, f->ahead_len, buf, len, flags);
}

/* The rest of a request whose head was judged: its body. */
static ssize_t rest_of_request(struct follow *f, int fd, char *buf,
			       size_t len, int flags)
{
	ssize_t n;

	if (f->ahead)
		return give_ahead(f, fd, buf, len, flags);
	n = libc_recv(fd, buf, len < f->left ? len : f->left, flags);
	if (n <= 0)
		return n;
	f->left -= (unsigned long)n;
	/* the end of a body read short of len: is the next request here? */
	if (!f->left && (size_t)n < len &&
	    libc_recv(fd, peek_buf, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		f->closing = true;
	return n;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct follow *f = (flags & MSG_PEEK) || !len ? NULL : conns_follow(fd);

	if (!f)
		return libc_recv(fd, buf, len, flags);
	if (f->left)
		return rest_of_request(f, fd, buf, len, flags);
	if (f->closing)
		return 0;
	return next_request(f, fd, buf, len, flags);
}
