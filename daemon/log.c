// SPDX-License-Identifier: MIT
/*
 * log.c - one line per message on stderr.  Under systemd (JOURNAL_STREAM
 * set) each line starts with the sd-daemon "<N>" priority prefix that
 * journald reads; otherwise with a timestamp and the level's name.
 * Messages carry what clients sent (paths, names): every byte that is not
 * printable ASCII is written as \xNN, so one message stays one line.
 * A message that a client can make repeat at will (a refused connection)
 * goes through log_limited(): one line at once, then at most one a second
 * saying how many more there were.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rmapd.h"

static int journald;

void log_init(void)
{
	journald = getenv("JOURNAL_STREAM") != NULL;
}

/* src into dst: '\\' and bytes that are not printable ASCII as \xNN */
static void escape(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)c;
			continue;
		}
		if (n + 4 >= size)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[c >> 4];
		dst[n++] = hex[c & 15];
	}
	dst[n] = '\0';
}

/* "2026-01-01T12:00:00Z ", formatted once a second per thread */
static int timestamp(char *buf, size_t size)
{
	static __thread time_t last = -1;
	static __thread char text[32];
	static __thread size_t len;
	time_t now = time(NULL);
	struct tm tm;

	if (now != last) {
		gmtime_r(&now, &tm);
		len = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		last = now;
	}
	if (len >= size)
		return 0;
	memcpy(buf, text, len + 1);
	return (int)len;
}

/* What a line at level starts with: "<N>" for journald, else time, level. */
static size_t line_prefix(char *line, size_t size, enum log_level level)
{
	static const char *const names[8] = {
		[LOG_ERR] = "error", [LOG_WARNING] = "warning",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	int n;

	if (journald)
		return (size_t)snprintf(line, size, "<%d>", level);
	n = timestamp(line, size);
	n += snprintf(line + n, size - (size_t)n, "%s: ",
		      names[level] ? names[level] : "log");
	return (size_t)n;
}

/* The line of a message, prefixed and escaped, with its '\n'; its length. */
static size_t format_line(char *line, size_t size, enum log_level level,
			  const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n = line_prefix(line, size, level);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	escape(line + n, size - 1 - n, msg);
	n += strlen(line + n);
	line[n++] = '\n';
	return n;
}

/*
 * Request lines, one a request, are gathered per thread and written a
 * buffer at a time, as nginx's access_log buffer= does: when the buffer is
 * full, and at least once a second (log_limited_flush()).  A write(2) per
 * request was a tenth of the CPU time of a small GET.
 */
#define REQUEST_BUF	16384

struct request_buf {
	pthread_mutex_t lock;	/* its thread, and the flush once a second */
	size_t len;
	char text[REQUEST_BUF];
	struct request_buf *next;
};

static __thread struct request_buf *request_buf;
static struct request_buf *request_bufs;
static pthread_mutex_t request_bufs_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whole lines, in one write(2): a line cannot mix with another thread's. */
static void write_out(const char *text, size_t len)
{
	if (len && write(STDERR_FILENO, text, len) < 0)
		return;	/* nowhere left to say so */
}

/* caller holds b->lock */
static void request_buf_flush(struct request_buf *b)
{
	write_out(b->text, b->len);
	b->len = 0;
}

static struct request_buf *my_request_buf(void)
{
	struct request_buf *b = request_buf;

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_lock(&request_bufs_lock);
	b->next = request_bufs;
	request_bufs = b;
	pthread_mutex_unlock(&request_bufs_lock);
	request_buf = b;
	return b;
}

/* " N" at p; what follows it */
static char *put_decimal(char *p, long v)
{
	char digits[24], *d = digits + sizeof(digits);
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	*p++ = ' ';
	if (v < 0)
		*p++ = '-';
	memcpy(p, d, (size_t)(digits + sizeof(digits) - d));
	return p + (digits + sizeof(digits) - d);
}

/*
 * "METHOD PATH STATUS Nus", put together by hand: printf's machinery was
 * half of what a request line cost.
 */
void log_request(const char *method, const char *path, int status, long us,
		 const char *client)
{
	struct request_buf *b = my_request_buf();
	char line[2048], *p;
	size_t n = line_prefix(line, sizeof(line), LOG_INFO);

	escape(line + n, 64, method);
	n += strlen(line + n);
	line[n++] = ' ';
	/* room for the numbers and the client after it */
	escape(line + n, sizeof(line) - 128 - n, path);
	n += strlen(line + n);
	p = put_decimal(line + n, status);
	p = put_decimal(p, us);
	memcpy(p, "us", 2);
	p += 2;
	/* an address proxy_client() checked and spelt: nothing to escape */
	if (client)
		p += snprintf(p, 64, " client %.46s", client);
	*p++ = '\n';
	n = (size_t)(p - line);
	if (!b) {
		write_out(line, n);
		return;
	}
	pthread_mutex_lock(&b->lock);
	if (b->len + n > sizeof(b->text))
		request_buf_flush(b);
	memcpy(b->text + b->len, line, n);
	b->len += n;
	pthread_mutex_unlock(&b->lock);
}

static void request_bufs_flush(void)
{
	struct request_buf *b;

	pthread_mutex_lock(&request_bufs_lock);
	for (b = request_bufs; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		request_buf_flush(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&request_bufs_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	struct request_buf *b = request_buf;
	char line[2048];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_line(line, sizeof(line), level, fmt, ap);
	va_end(ap);
	/* after the requests this thread answered before it */
	if (b) {
		pthread_mutex_lock(&b->lock);
		request_buf_flush(b);
		pthread_mutex_unlock(&b->lock);
	}
	write_out(line, n);
}

/*
 * One slot per kind of repeated message, keyed by a pointer that names the
 * kind (a format string literal does).  A slot is freed after a quiet
 * second, so the next occurrence is logged at once again.
 */
#define NR_LIMITED	16
#define LIMIT_MS	1000

static struct limited {
	const void *key;
	enum log_level level;
	char text[512];
	unsigned long more;	/* occurrences since the last line */
	int64_t last_ms;	/* of the last line */
} limited[NR_LIMITED];
static unsigned long limited_dropped;	/* no slot was free */
static pthread_mutex_t limited_lock = PTHREAD_MUTEX_INITIALIZER;

static struct limited *limited_slot(const void *key)
{
	struct limited *free_slot = NULL;
	size_t i;

	for (i = 0; i < NR_LIMITED; i++) {
		if (limited[i].key == key)
			return &limited[i];
		if (!limited[i].key && !free_slot)
			free_slot = &limited[i];
	}
	return free_slot;
}

void log_limited(const void *key, enum log_level level, const char *fmt, ...)
{
	struct limited *l;
	va_list ap;

	pthread_mutex_lock(&limited_lock);
	l = limited_slot(key);
	if (!l) {
		limited_dropped++;
	} else if (l->key) {
		l->more++;
	} else {
		l->key = key;
		l->level = level;
		l->more = 0;
		l->last_ms = monotonic_ms();
		va_start(ap, fmt);
		vsnprintf(l->text, sizeof(l->text), fmt, ap);
		va_end(ap);
		log_msg(level, "%s", l->text);
	}
	pthread_mutex_unlock(&limited_lock);
}

void log_limited_flush(bool all)
{
	int64_t now = monotonic_ms();
	size_t i;

	request_bufs_flush();

	pthread_mutex_lock(&limited_lock);
	for (i = 0; i < NR_LIMITED; i++) {
		struct limited *l = &limited[i];

		if (!l->key || (!all && now - l->last_ms < LIMIT_MS))
			continue;
		if (!l->more) {
			l->key = NULL;
			continue;
		}
		log_msg(l->level, "%s (%lu more like it in the last %.1f s)",
			l->text, l->more, (double)(now - l->last_ms) / 1000);
		l->more = 0;
		l->last_ms = now;
	}
	if (limited_dropped) {
		log_msg(LOG_WARNING, "%lu more repeated messages not logged",
			limited_dropped);
		limited_dropped = 0;
	}
	pthread_mutex_unlock(&limited_lock);
}
