// SPDX-License-Identifier: MIT
/* jw.c - see jw.h */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jw.h"

void jw_init_buf(struct jw *w, char *buf, size_t size)
{
	w->p = buf;
	w->p[0] = '\0';
	w->len = 0;
	w->cap = size - 1;
	w->comma = false;
}

void jw_init(struct jw *w, size_t cap)
{
	char *p = malloc(cap + 1);

	if (!p)
		abort();
	jw_init_buf(w, p, cap + 1);
}

const char *jw_text(struct jw *w)
{
	w->p[w->len] = '\0';
	return w->p;
}

char *jw_take(struct jw *w, size_t *len)
{
	char *p = w->p;

	if (p)
		p[w->len] = '\0';
	if (len)
		*len = w->len;
	w->p = NULL;
	w->len = w->cap = 0;
	return p;
}

void jw_free(struct jw *w)
{
	free(jw_take(w, NULL));
}

/* room for n more bytes, and the NUL jw_text() puts after them */
void jw_grow(struct jw *w, size_t n)
{
	w->cap = w->cap * 2 > w->len + n ? w->cap * 2 : w->len + n;
	w->p = realloc(w->p, w->cap + 1);
	if (!w->p)
		abort();
}

static void put(struct jw *w, const char *s, size_t n)
{
	memcpy(jw_room(w, n), s, n);
	w->len += n;
}

/* a byte that goes into a string as it is */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* the escape of an ASCII byte that needs one, as cJSON writes it */
static void put_escape(struct jw *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
	char e = c == '"' ? '"' : c == '\\' ? '\\' : c == '\b' ? 'b' :
		 c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r' :
		 c == '\t' ? 't' : 0;

	if (!e) {
		put(w, u, sizeof(u));
		return;
	}
	u[1] = e;
	put(w, u, 2);
}

/* the rest of a string from its first byte that is not plain */
static void put_string_slow(struct jw *w, const unsigned char *s, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */
	size_t i = 0, run, n;
	bool cut;

	while (i < len) {
		for (run = i; run < len && plain(s[run]); run++)
			;
		put(w, (const char *)s + i, run - i);
		i = run;
		if (i == len)
			break;
		if (s[i] < 0x80) {
			put_escape(w, s[i++]);
			continue;
		}
		n = api_utf8_char(s + i, len - i, &cut);
		if (n) {
			put(w, (const char *)s + i, n);
			i += n;
		} else {
			put(w, replacement, 3);
			i++;
		}
	}
}

void jw_string(struct jw *w, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, len = strlen(str);
	char *p = jw_room(w, len + 3);

	if (w->comma)
		*p++ = ',';
	w->comma = true;
	*p++ = '"';
	/* names and flags: plain ASCII, copied in one pass */
	for (i = 0; i < len && plain(s[i]); i++)
		p[i] = (char)s[i];
	w->len = (size_t)(p + i - w->p);
	if (i < len)
		put_string_slow(w, s + i, len - i);
	*jw_room(w, 1) = '"';
	w->len++;
}

/*
 * A number's text is at most NUM_MAX bytes, written backwards to end, the
 * middle of its buffer: NUM_MAX bytes from its start are always there to
 * read, so it is copied in one move of a size known here (a byte loop, or
 * memcpy of a length it cannot know, cost more than the digits).  What is
 * copied past the number is overwritten by what comes next, or past len.
 */
#define NUM_MAX		24
#define NUM_BUF		(2 * NUM_MAX)

static void put_number(struct jw *w, const char *s, const char *end)
{
	char *p = jw_room(w, NUM_MAX + 1);

	if (w->comma)
		*p++ = ',';
	memcpy(p, s, NUM_MAX);
	w->len = (size_t)(p + (end - s) - w->p);
	w->comma = true;
}

/* the digits of v, written backwards from end; where they start */
static char *digits(char *end, unsigned long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jw_ulong(struct jw *w, unsigned long v)
{
	char buf[NUM_BUF], *s = digits(buf + NUM_MAX, v);

	put_number(w, s, buf + NUM_MAX);
}

void jw_long(struct jw *w, long v)
{
	char buf[NUM_BUF], *s;

	/* the magnitude as unsigned: -LONG_MIN does not fit a long */
	s = digits(buf + NUM_MAX, v < 0 ? 0UL - (unsigned long)v :
		   (unsigned long)v);
	if (v < 0)
		*--s = '-';
	put_number(w, s, buf + NUM_MAX);
}

void jw_hex(struct jw *w, unsigned long v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[NUM_BUF], *s = buf + NUM_MAX;

	*--s = '"';
	do {
		*--s = hex[v & 15];
		v >>= 4;
	} while (v);
	*--s = 'x';
	*--s = '0';
	*--s = '"';
	put_number(w, s, buf + NUM_MAX);
}

void jw_raw(struct jw *w, const char *json, size_t len)
{
	jw_value(w, json, len);
}
