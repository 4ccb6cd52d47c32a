/* SPDX-License-Identifier: MIT */
/*
 * jw.h - a streaming JSON writer: values go straight into one growing
 * buffer, so an answer of a few hundred kilobytes costs its bytes and not a
 * tree of nodes printed afterwards.  Its text is what cJSON_PrintUnformatted
 * prints for the same values (the same escapes, integers in full), except
 * that a string is always valid UTF-8: a byte that cannot start or continue
 * a character is written as U+FFFD.
 *
 * Commas are the writer's business: a value, key or container written
 * after a value at the same level gets one.  Keys and values alternate
 * inside an object as the caller writes them; the writer does not check.
 */
#ifndef RMAPD_API_JW_H
#define RMAPD_API_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jw {
	char *p;		/* the text so far (jw_text() ends it with NUL) */
	size_t len, cap;	/* cap: bytes p holds, besides the NUL */
	bool comma;		/* the next value at this level needs ',' */
};

/* an empty text with room for cap bytes; aborts when memory runs out */
void jw_init(struct jw *w, size_t cap);
/* an empty text in buf, a malloc'd block of size bytes (one for the NUL) */
void jw_init_buf(struct jw *w, char *buf, size_t size);
/* the text so far, NUL-terminated */
const char *jw_text(struct jw *w);
/* the text (malloc'd, NUL-terminated) and its length; w is empty after */
char *jw_take(struct jw *w, size_t *len);
void jw_free(struct jw *w);

void jw_string(struct jw *w, const char *s);
void jw_long(struct jw *w, long v);
void jw_ulong(struct jw *w, unsigned long v);
/* v as a "0x..." string in lower-case hex (addresses) */
void jw_hex(struct jw *w, unsigned long v);
/* len bytes of text that already are one JSON value */
void jw_raw(struct jw *w, const char *json, size_t len);

/*
 * The rest is inline, so that a key or a bool costs a few stores: the
 * length of a literal key is known where it is written.
 */
void jw_grow(struct jw *w, size_t n);

/* where n more bytes go */
static inline char *jw_room(struct jw *w, size_t n)
{
	if (w->cap - w->len < n)
		jw_grow(w, n);
	return w->p + w->len;
}

/* n bytes of s, after the comma a value at this level needs */
static inline void jw_value(struct jw *w, const char *s, size_t n)
{
	char *p = jw_room(w, n + 1);

	if (w->comma)
		*p++ = ',';
	memcpy(p, s, n);
	w->len = (size_t)(p + n - w->p);
	w->comma = true;
}

static inline void jw_open(struct jw *w, char c)
{
	jw_value(w, &c, 1);
	w->comma = false;
}

static inline void jw_close(struct jw *w, char c)
{
	*jw_room(w, 1) = c;
	w->len++;
	w->comma = true;
}

static inline void jw_object(struct jw *w)
{
	jw_open(w, '{');
}

static inline void jw_object_end(struct jw *w)
{
	jw_close(w, '}');
}

static inline void jw_array(struct jw *w)
{
	jw_open(w, '[');
}

static inline void jw_array_end(struct jw *w)
{
	jw_close(w, ']');
}

/*
 * A key is one of the program's own names (ASCII, no '"', '\\' or control
 * byte), so it is written as it is: never pass one a client chose.
 */
static inline void jw_key(struct jw *w, const char *key)
{
	size_t n = strlen(key);
	char *p = jw_room(w, n + 4);

	if (w->comma)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	w->len = (size_t)(p - w->p);
	w->comma = false;
}

static inline void jw_bool(struct jw *w, bool v)
{
	if (v)
		jw_value(w, "true", 4);
	else
		jw_value(w, "false", 5);
}

static inline void jw_null(struct jw *w)
{
	jw_value(w, "null", 4);
}

/* "key": value, the shape almost every field has */
static inline void jw_kstring(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string(w, s);
}

static inline void jw_klong(struct jw *w, const char *key, long v)
{
	jw_key(w, key);
	jw_long(w, v);
}

static inline void jw_kulong(struct jw *w, const char *key, unsigned long v)
{
	jw_key(w, key);
	jw_ulong(w, v);
}

static inline void jw_khex(struct jw *w, const char *key, unsigned long v)
{
	jw_key(w, key);
	jw_hex(w, v);
}

static inline void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

static inline void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

#endif /* RMAPD_API_JW_H */
