// SPDX-License-Identifier: MIT
/* strbuf.c - see strbuf.h */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strbuf.h"

void strbuf_init(struct strbuf *b, size_t cap)
{
	b->p = malloc(cap);
	if (!b->p)
		abort();
	b->p[0] = '\0';
	b->len = 0;
	b->cap = cap;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();	/* a bad format: a bug, not input */
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n + 1;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->len += (size_t)n;
}
