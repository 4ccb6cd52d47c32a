// SPDX-License-Identifier: MIT
/* jw.c - see jw.h */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jw.h"

void jw_init(struct jw *w, size_t cap)
{
	w->p = malloc(cap + 1);
	if (!w->p)
		abort();
	w->p[0] = '\0';
	w->len = 0;
	w->cap = cap;
	w->comma = false;
}

char *jw_take(struct jw *w, size_t *len)
{
	char *p = w->p;

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

/* room for n more bytes and the NUL after them */
static char *room(struct jw *w, size_t n)
{
	if (w->cap - w->len < n) {
		w->cap = w->cap * 2 > w->len + n ? w->cap * 2 : w->len + n;
		w->p = realloc(w->p, w->cap + 1);
		if (!w->p)
			abort();
	}
	return w->p + w->len;
}

static void put(struct jw *w, const char *s, size_t n)
{
	memcpy(room(w, n), s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void put_char(struct jw *w, char c)
{
	*room(w, 1) = c;
	w->p[++w->len] = '\0';
}

/* before a value: the comma that separates it from the one before */
static void value_start(struct jw *w)
{
	if (w->comma)
		put_char(w, ',');
	w->comma = true;
}

static void container_open(struct jw *w, char c)
{
	value_start(w);
	put_char(w, c);
	w->comma = false;
}

static void container_close(struct jw *w, char c)
{
	put_char(w, c);
	w->comma = true;
}

void jw_object(struct jw *w)
{
	container_open(w, '{');
}

void jw_object_end(struct jw *w)
{
	container_close(w, '}');
}

void jw_array(struct jw *w)
{
	container_open(w, '[');
}

void jw_array_end(struct jw *w)
{
	container_close(w, ']');
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

static void put_string(struct jw *w, const char *str)
{
	static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0, run, n;
	bool cut;

	put_char(w, '"');
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
	put_char(w, '"');
}

void jw_key(struct jw *w, const char *key)
{
	value_start(w);
	put_string(w, key);
	put_char(w, ':');
	w->comma = false;
}

void jw_string(struct jw *w, const char *s)
{
	value_start(w);
	put_string(w, s);
}

/* digits of v at the end of buf (24 bytes); where they start */
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
	char buf[24], *s = digits(buf + sizeof(buf), v);

	value_start(w);
	put(w, s, (size_t)(buf + sizeof(buf) - s));
}

void jw_long(struct jw *w, long v)
{
	char buf[24], *s;

	/* the magnitude as unsigned: -LONG_MIN does not fit a long */
	s = digits(buf + sizeof(buf), v < 0 ? 0UL - (unsigned long)v :
		   (unsigned long)v);
	if (v < 0)
		*--s = '-';
	value_start(w);
	put(w, s, (size_t)(buf + sizeof(buf) - s));
}

void jw_hex(struct jw *w, unsigned long v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[24], *s = buf + sizeof(buf);

	*--s = '"';
	do {
		*--s = hex[v & 15];
		v >>= 4;
	} while (v);
	*--s = 'x';
	*--s = '0';
	*--s = '"';
	value_start(w);
	put(w, s, (size_t)(buf + sizeof(buf) - s));
}

void jw_bool(struct jw *w, bool v)
{
	value_start(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jw_null(struct jw *w)
{
	value_start(w);
	put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t len)
{
	value_start(w);
	put(w, json, len);
}
