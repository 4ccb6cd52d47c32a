/* SPDX-License-Identifier: MIT */
/*
 * strbuf.h - a growing text buffer written with printf formats, for the
 * texts rmapd builds whole before sending (Graphviz, Prometheus metrics).
 */
#ifndef RMAPD_API_STRBUF_H
#define RMAPD_API_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;		/* NUL-terminated; the caller frees it */
	size_t len, cap;
};

/* an empty buffer of cap bytes; aborts when memory runs out */
void strbuf_init(struct strbuf *b, size_t cap);
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* RMAPD_API_STRBUF_H */
