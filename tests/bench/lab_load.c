// SPDX-License-Identifier: MIT
/*
 * lab_load.c - a lab of students against one rmapd: every client has its
 * own session, keeps an event stream open on it (reconnecting a second
 * after each stream ends, as EventSource does on "retry: 1000"), and
 * sends a mix of requests on a keep-alive connection at RATE a second:
 * writes (an op POST), state reads (the session's whole state) and rmap
 * walks.
 *
 * Open loop: each client's send times are drawn in advance (exponential
 * gaps, a fixed seed), and a request's latency runs from the time it was
 * due, not from when the connection was free to send it, so a slow daemon
 * cannot hide its queue (coordinated omission).  One thread, epoll,
 * loopback only; it stops by itself: no send after DURATION seconds, at
 * most DRAIN seconds more for the answers still due, and every count is
 * bounded by CLIENTS x RATE x DURATION.
 *
 *	lab_load PORT FILE RATE DURATION [LIVE]
 *
 * FILE has a line per client: "SESSION ADDR PFN [TOKEN]", a session id,
 * the address of a mapped writable page of its process 1, a frame to walk,
 * and the API token it sends (--auth on).
 * Prints one JSON object: requests due, answered, errors (a status other
 * than 2xx, a broken connection, no answer in time), latency p50/p99/max
 * in ms in all and per kind, events received.
 *
 * LIVE, a file "CLASS SESSION TOKEN EVERY", adds a live lesson: every
 * EVERY seconds its instructor (TOKEN) moves class CLASS's live session
 * SESSION to the next step, and every client follows it besides its own
 * work: a second event stream, on SESSION, and on each step it brings, a
 * read of SESSION's whole state on a third connection.  "follow" is the
 * time from the step's due time to that state's arrival, "step" the
 * instructor's request; neither is in the overall p50/p99, which stay the
 * students' own requests, comparable with a run without LIVE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_S		5.0
#define TIMEOUT_S	10.0
#define RECONNECT_S	1.0	/* the daemon's "retry: 1000" */
#define MAX_CLIENTS	4096

enum kind { K_WRITE, K_READ, K_WALK, K_FOLLOW, K_STEP, K__COUNT };
static const char *const kind_name[K__COUNT] = { "write", "read", "walk",
						 "follow", "step" };
#define K__OWN		K_FOLLOW	/* the students' own kinds: below */

struct client;

struct conn {
	struct client *owner;
	bool stream;		/* the event stream, not requests */
	bool follow;		/* of the live lesson, not the client's own */
	int fd;
	bool connecting;
	bool busy;		/* a request is out, its answer not complete */
	char out[512];
	size_t out_len, out_off;
	char *in;
	size_t in_len, in_cap;
	double due;		/* when the request in flight was scheduled */
	double sent;
	enum kind kind;
};

struct client {
	long session;
	unsigned long addr;
	unsigned long pfn;
	unsigned int page;	/* which page the next write touches */
	double *sched;		/* send times, ascending */
	size_t nr_sched, next;	/* next: first not yet sent */
	struct conn req;
	struct conn ev;
	double ev_reconnect;	/* when to reopen the stream, 0 = open */
	char auth[128];		/* "Authorization: ...\r\n" or "" */
	bool instructor;	/* sends the live lesson's steps */
	struct conn fev, frd;	/* the live lesson's stream, its reads */
	double fev_reconnect;
};

/* the live lesson, when LIVE is given */
static struct {
	bool on;
	char cls[65];
	long session;
	double every;
	long step;		/* the latest sent */
	double t_step;		/* its due time */
	unsigned long follow_due, follow_missed;
} live;

struct stats {
	double *lat[K__COUNT];
	size_t nr[K__COUNT];
	unsigned long due, answered, errors, status_errors, io_errors,
		      timeouts, unfinished, events, streams, stream_errors;
};

static struct sockaddr_in server;
static int epfd;
static struct stats st;
static double t_start;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long rng_state = 0x9e3779b97f4a7c15UL;

static double rng_unit(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (double)((rng_state >> 11) + 1) / 9007199254740993.0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->connecting = false;
	c->busy = false;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
}

static int conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->connecting = true;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_want(struct conn *c, bool out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = c,
	};

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Is a whole HTTP/1.1 response at the start of buf?  Returns its length
 * (0: not yet) and its status; *closes when the server will close.
 */
static size_t response_complete(const char *buf, size_t len, int *status,
				bool *closes)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol;
	size_t head, body_len = 0, pos;
	bool chunked = false, has_len = false;

	if (!end)
		return 0;
	head = (size_t)(end - buf) + 4;
	if (len < 12 || memcmp(buf, "HTTP/1.", 7))
		return (size_t)-1;
	*status = atoi(buf + 9);
	*closes = false;
	for (p = (const char *)memchr(buf, '\n', head) + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end + 2 - p));
		if (!eol)
			break;
		if (!strncasecmp(p, "content-length:", 15)) {
			body_len = strtoul(p + 15, NULL, 10);
			has_len = true;
		} else if (!strncasecmp(p, "transfer-encoding:", 18) &&
			   strcasestr(p, "chunked") && strcasestr(p, "chunked") < eol) {
			chunked = true;
		} else if (!strncasecmp(p, "connection:", 11) &&
			   strcasestr(p, "close") && strcasestr(p, "close") < eol) {
			*closes = true;
		}
	}
	if (!chunked)
		return has_len ? (len >= head + body_len ? head + body_len : 0)
			       : 0;
	for (pos = head;;) {
		const char *crlf = memmem(buf + pos, len - pos, "\r\n", 2);
		size_t n;

		if (!crlf)
			return 0;
		n = strtoul(buf + pos, NULL, 16);
		pos = (size_t)(crlf - buf) + 2;
		if (!n) {
			/* no trailers from these servers: one more CRLF */
			return len >= pos + 2 ? pos + 2 : 0;
		}
		if (len < pos + n + 2)
			return 0;
		pos += n + 2;
	}
}

static int fill(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < 16384) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			char *in = realloc(c->in, cap);

			if (!in)
				return -1;
			c->in = in;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;	/* closed or failed */
	}
}

static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want(c, true);
			return 0;
		}
		if (n < 0)
			return -1;
		c->out_off += (size_t)n;
	}
	conn_want(c, false);
	return 0;
}

static void record(enum kind k, double lat)
{
	st.lat[k][st.nr[k]++] = lat;
}

static void request_failed(struct conn *c, unsigned long *why)
{
	(*why)++;
	st.errors++;
	conn_close(c);
}

/* the instructor's next step of the live lesson */
static void build_step(struct client *cl)
{
	struct conn *c = &cl->req;
	char body[96];
	int n;

	c->kind = K_STEP;
	n = snprintf(body, sizeof(body), "{\"session\":%ld,\"step\":%ld}",
		     live.session, ++live.step);
	live.t_step = c->due;
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		"POST /api/v1/classes/%s/live HTTP/1.1\r\n"
		"Host: 127.0.0.1:%d\r\n%sContent-Type: application/json\r\n"
		"Content-Length: %d\r\n\r\n%s", live.cls,
		ntohs(server.sin_port), cl->auth, n, body);
	c->out_off = 0;
}

static void build_request(struct client *cl)
{
	struct conn *c = &cl->req;
	double r;
	char body[192];
	int n;

	if (cl->instructor) {
		build_step(cl);
		return;
	}
	r = rng_unit();
	c->kind = r < 0.4 ? K_WRITE : r < 0.8 ? K_READ : K_WALK;
	if (c->kind == K_WRITE) {
		n = snprintf(body, sizeof(body),
			     "{\"op\":\"access\",\"pid\":1,\"addr\":\"0x%lx\","
			     "\"write\":true}", cl->addr + (cl->page++ % 4) * 4096);
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
			"POST /api/v1/sessions/%ld/ops HTTP/1.1\r\n"
			"Host: 127.0.0.1:%d\r\n%sContent-Type: application/json"
			"\r\nContent-Length: %d\r\n\r\n%s", cl->session,
			ntohs(server.sin_port), cl->auth, n, body);
	} else if (c->kind == K_READ) {
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
			"GET /api/v1/sessions/%ld HTTP/1.1\r\n"
			"Host: 127.0.0.1:%d\r\n%s\r\n", cl->session,
			ntohs(server.sin_port), cl->auth);
	} else {
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
			"GET /api/v1/sessions/%ld/frames/%lu/walk HTTP/1.1\r\n"
			"Host: 127.0.0.1:%d\r\n%s\r\n", cl->session, cl->pfn,
			ntohs(server.sin_port), cl->auth);
	}
	c->out_off = 0;
}

/* Sends the client's oldest due request if its connection is free. */
static void send_due(struct client *cl, double now)
{
	struct conn *c = &cl->req;

	if (c->busy || cl->next >= cl->nr_sched || cl->sched[cl->next] > now)
		return;
	if (c->fd < 0 && conn_open(c)) {
		cl->next++;
		st.due++;
		st.io_errors++;
		st.errors++;
		return;
	}
	c->due = cl->sched[cl->next++];
	st.due++;
	c->sent = now;
	c->busy = true;
	build_request(cl);
	if (!c->connecting && flush(c))
		request_failed(c, &st.io_errors);
}

/* the client's own stream, or (follow) the live lesson's */
static void stream_open(struct client *cl, bool follow)
{
	struct conn *c = follow ? &cl->fev : &cl->ev;
	double *reconnect = follow ? &cl->fev_reconnect : &cl->ev_reconnect;

	*reconnect = 0;
	if (conn_open(c)) {
		st.stream_errors++;
		*reconnect = now_s() + RECONNECT_S;
		return;
	}
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		"GET /api/v1/sessions/%ld/events HTTP/1.1\r\n"
		"Host: 127.0.0.1:%d\r\n%sAccept: text/event-stream\r\n\r\n",
		follow ? live.session : cl->session, ntohs(server.sin_port),
		cl->auth);
	c->out_off = 0;
	c->busy = true;
	st.streams++;
}

static unsigned long count_events(const char *buf, size_t len)
{
	unsigned long n = 0;
	const char *p = buf, *end = buf + len;

	while ((p = memmem(p, (size_t)(end - p), "event: ", 7))) {
		n++;
		p += 7;
	}
	return n;
}

/* A non-blocking connect ends with the first EPOLLOUT, ERR or HUP: -1 if
 * it failed. */
static int connect_event(struct conn *c, unsigned int events)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (!c->connecting || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	c->connecting = false;
	return err ? -1 : 0;
}

static void follow_step(struct client *cl, double now);

static void stream_event(struct client *cl, struct conn *c,
			 unsigned int events, double now)
{
	size_t done;
	bool closes;
	int status = 0, rc = 0;

	if (c->fd < 0)
		return;
	rc = connect_event(c, events);
	if (!rc && !c->connecting && c->out_off < c->out_len)
		rc = flush(c);
	if (!rc && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = fill(c);
	done = c->in_len ? response_complete(c->in, c->in_len, &status, &closes)
			 : 0;
	if (done && done != (size_t)-1) {
		st.events += count_events(c->in, done);
		if (status != 200)
			st.stream_errors++;
		if (c->follow && memmem(c->in, done, "event: live", 11))
			follow_step(cl, now);
	} else if (rc || done == (size_t)-1) {
		st.stream_errors++;
	} else {
		return;
	}
	conn_close(c);
	if (c->follow)
		cl->fev_reconnect = now + RECONNECT_S;
	else
		cl->ev_reconnect = now + RECONNECT_S;
}

/*
 * The live lesson moved: the follower reads its state, timed from the
 * step's due time.  A read still out from the step before is a miss.
 */
static void follow_step(struct client *cl, double now)
{
	struct conn *c = &cl->frd;

	live.follow_due++;
	st.due++;
	if (c->busy) {
		live.follow_missed++;
		st.errors++;
		return;
	}
	if (c->fd < 0 && conn_open(c)) {
		st.io_errors++;
		st.errors++;
		return;
	}
	c->kind = K_FOLLOW;
	c->due = live.t_step;
	c->sent = now;
	c->busy = true;
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		"GET /api/v1/sessions/%ld HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		"%s\r\n", live.session, ntohs(server.sin_port), cl->auth);
	c->out_off = 0;
	if (!c->connecting && flush(c))
		request_failed(c, &st.io_errors);
}

static void request_event(struct conn *c, unsigned int events, double now)
{
	size_t done;
	bool closes = false;
	int status = 0;

	if (c->fd < 0)
		return;
	if (connect_event(c, events)) {
		request_failed(c, &st.io_errors);
		return;
	}
	if (!c->connecting && c->out_off < c->out_len && flush(c)) {
		request_failed(c, &st.io_errors);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && fill(c)) {
		/* closed: an answer may still be whole in the buffer */
		done = c->in_len ? response_complete(c->in, c->in_len, &status,
						     &closes) : 0;
		if (!c->busy || !done || done == (size_t)-1) {
			if (c->busy)
				request_failed(c, &st.io_errors);
			else
				conn_close(c);
			return;
		}
		closes = true;
	}
	if (!c->busy || !c->in_len)
		return;
	done = response_complete(c->in, c->in_len, &status, &closes);
	if (!done)
		return;
	if (done == (size_t)-1) {
		request_failed(c, &st.io_errors);
		return;
	}
	st.answered++;
	record(c->kind, now - c->due);
	if (status < 200 || status > 299) {
		st.status_errors++;
		st.errors++;
	}
	memmove(c->in, c->in + done, c->in_len - done);
	c->in_len -= done;
	c->busy = false;
	if (closes)
		conn_close(c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)n);

	if (!n)
		return 0;
	return v[i < n ? i : n - 1] * 1e3;
}

static void print_stats(long clients, double rate, double duration)
{
	double *all;
	size_t n = 0, k;

	for (k = 0; k < K__OWN; k++)
		n += st.nr[k];
	all = calloc(n + 1, sizeof(*all));
	if (!all)
		exit(1);
	n = 0;
	for (k = 0; k < K__COUNT; k++) {
		if (k < K__OWN) {
			memcpy(all + n, st.lat[k], st.nr[k] * sizeof(double));
			n += st.nr[k];
		}
		qsort(st.lat[k], st.nr[k], sizeof(double), cmp_double);
	}
	qsort(all, n, sizeof(double), cmp_double);
	printf("{\"clients\":%ld,\"rate\":%.2f,\"duration_s\":%.1f,"
	       "\"due\":%lu,\"answered\":%lu,\"errors\":%lu,"
	       "\"status_errors\":%lu,\"io_errors\":%lu,\"timeouts\":%lu,"
	       "\"unfinished\":%lu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"max_ms\":%.3f,\"events\":%lu,\"streams\":%lu,"
	       "\"stream_errors\":%lu", clients, rate, duration, st.due,
	       st.answered, st.errors, st.status_errors, st.io_errors,
	       st.timeouts, st.unfinished, pct(all, n, 0.5), pct(all, n, 0.99),
	       n ? all[n - 1] * 1e3 : 0.0, st.events, st.streams,
	       st.stream_errors);
	for (k = 0; k < K__COUNT; k++)
		if (k < K__OWN || live.on)
			printf(",\"%s\":{\"n\":%zu,\"p50_ms\":%.3f,"
			       "\"p99_ms\":%.3f,\"max_ms\":%.3f}", kind_name[k],
			       st.nr[k], pct(st.lat[k], st.nr[k], 0.5),
			       pct(st.lat[k], st.nr[k], 0.99),
			       st.nr[k] ? st.lat[k][st.nr[k] - 1] * 1e3 : 0.0);
	if (live.on)
		printf(",\"steps\":%ld,\"follow_due\":%lu,"
		       "\"follow_missed\":%lu", live.step, live.follow_due,
		       live.follow_missed);
	printf("}\n");
	free(all);
}

static void client_init(struct client *c, const char *token)
{
	c->req.fd = c->ev.fd = c->fev.fd = c->frd.fd = -1;
	c->req.owner = c->ev.owner = c->fev.owner = c->frd.owner = c;
	c->ev.stream = c->fev.stream = true;
	c->fev.follow = c->frd.follow = true;
	if (token[0])
		snprintf(c->auth, sizeof(c->auth),
			 "Authorization: Bearer %.100s\r\n", token);
}

/* the instructor: a step every live.every seconds, the first at half */
static int instructor_init(struct client *c, const char *token,
			   double duration)
{
	double t;

	c->sched = calloc((size_t)(duration / live.every) + 2, sizeof(double));
	if (!c->sched)
		return -1;
	for (t = live.every / 2; t < duration; t += live.every)
		c->sched[c->nr_sched++] = t;
	c->instructor = true;
	client_init(c, token);
	return 0;
}

static int read_live(const char *path, char *token, size_t len)
{
	FILE *f = fopen(path, "r");
	char tok[120];
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%64s %ld %119s %lf", live.cls, &live.session, tok,
		   &live.every);
	fclose(f);
	if (n != 4 || live.every <= 0)
		return -1;
	snprintf(token, len, "%s", tok);
	live.on = true;
	return 0;
}

static struct client *read_clients(const char *path, long *nr, double rate,
				   double duration)
{
	struct client *cl = calloc(MAX_CLIENTS + 1, sizeof(*cl));
	FILE *f = fopen(path, "r");
	size_t cap = (size_t)(rate * duration * 3) + 16, k;
	char line[256], token[120];
	long n = 0;

	if (!cl || !f)
		return NULL;
	while (n < MAX_CLIENTS && fgets(line, sizeof(line), f)) {
		double t = rng_unit() / rate;	/* a random phase */

		token[0] = '\0';
		if (sscanf(line, "%ld %lx %lu %119s", &cl[n].session,
			   &cl[n].addr, &cl[n].pfn, token) < 3)
			break;
		cl[n].sched = calloc(cap, sizeof(double));
		if (!cl[n].sched)
			return NULL;
		while (t < duration && cl[n].nr_sched < cap) {
			cl[n].sched[cl[n].nr_sched++] = t;
			t += -log(rng_unit()) / rate;
		}
		client_init(&cl[n], token);
		n++;
	}
	fclose(f);
	for (k = 0; k < K__COUNT; k++) {
		st.lat[k] = calloc((size_t)n * cap + 1, sizeof(double));
		if (!st.lat[k])
			return NULL;
	}
	*nr = n;
	return cl;
}

static void check_timeouts(struct client *cl, long n, double now)
{
	long i;

	for (i = 0; i < n; i++) {
		if (cl[i].req.busy && now - cl[i].req.sent > TIMEOUT_S)
			request_failed(&cl[i].req, &st.timeouts);
		if (cl[i].frd.busy && now - cl[i].frd.sent > TIMEOUT_S)
			request_failed(&cl[i].frd, &st.timeouts);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	double rate, duration, now;
	struct client *cl;
	char token[120];
	long n, i, students;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: lab_load PORT FILE RATE DURATION "
			"[LIVE]\n");
		return 2;
	}
	rate = atof(argv[3]);
	duration = atof(argv[4]);
	if (rate <= 0 || duration <= 0 || duration > 3600)
		return 2;
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[1]));
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl = read_clients(argv[2], &n, rate, duration);
	if (!cl || !n) {
		fprintf(stderr, "lab_load: no clients in %s\n", argv[2]);
		return 1;
	}
	students = n;
	if (argc == 6 && (read_live(argv[5], token, sizeof(token)) ||
			  instructor_init(&cl[n++], token, duration))) {
		fprintf(stderr, "lab_load: %s is not 'CLASS SESSION TOKEN "
			"EVERY'\n", argv[5]);
		return 1;
	}
	epfd = epoll_create1(0);
	if (epfd < 0)
		return 1;
	t_start = now_s();
	for (i = 0; i < n; i++) {
		if (i < students)
			stream_open(&cl[i], false);
		if (i < students && live.on)
			stream_open(&cl[i], true);
		for (size_t k = 0; k < cl[i].nr_sched; k++)
			cl[i].sched[k] += t_start;
	}
	for (;;) {
		int nev = epoll_wait(epfd, evs, 256, 1), e;
		bool busy = false;

		now = now_s();
		for (e = 0; e < nev; e++) {
			struct conn *c = evs[e].data.ptr;

			if (c->stream)
				stream_event(c->owner, c, evs[e].events, now);
			else
				request_event(c, evs[e].events, now);
		}
		now = now_s();
		for (i = 0; i < n; i++) {
			send_due(&cl[i], now);
			if (now < t_start + duration && cl[i].ev_reconnect &&
			    now >= cl[i].ev_reconnect)
				stream_open(&cl[i], false);
			if (now < t_start + duration && cl[i].fev_reconnect &&
			    now >= cl[i].fev_reconnect)
				stream_open(&cl[i], true);
			busy |= cl[i].req.busy || cl[i].frd.busy ||
				cl[i].next < cl[i].nr_sched;
		}
		check_timeouts(cl, n, now);
		if (now >= t_start + duration + DRAIN_S ||
		    (now >= t_start + duration && !busy))
			break;
	}
	for (i = 0; i < n; i++) {
		if (cl[i].req.busy)
			st.unfinished++;
		st.unfinished += cl[i].nr_sched - cl[i].next;
		if (cl[i].frd.busy)
			st.unfinished++;
		conn_close(&cl[i].req);
		conn_close(&cl[i].ev);
		conn_close(&cl[i].fev);
		conn_close(&cl[i].frd);
		free(cl[i].req.in);
		free(cl[i].ev.in);
		free(cl[i].fev.in);
		free(cl[i].frd.in);
		free(cl[i].sched);
	}
	st.errors += st.unfinished;
	print_stats(students, rate, duration);
	free(cl);
	for (i = 0; i < K__COUNT; i++)
		free(st.lat[i]);
	return 0;
}
