// SPDX-License-Identifier: MIT
/*
 * bufs.c - the buffers of large answers, kept for the next one.
 *
 * main.c fixes glibc's mmap threshold at 128 KiB, so that what a batch
 * leaves is given back to the kernel rather than kept resident.  The price
 * falls on an answer past that size: its buffer is a new mapping each
 * time, and writing it takes a page fault for every 4 KiB, about a third
 * of the CPU a 200 KB full state costs.  So the answers written for reuse
 * (reply->recycle) come back here when libmicrohttpd is done sending them,
 * up to BUFS_BYTES in all, and the next one is written into pages already
 * there.  A buffer any other path frees with free() is simply not kept.
 */
#include <malloc.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>

#include "jw.h"
#include "rmapd.h"

#define BUFS_MAX	16		/* buffers kept */
#define BUFS_BYTES	(8UL << 20)	/* and their bytes at most */
#define BUF_MIN		(64UL << 10)	/* smaller ones come from the heap */

static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *p;
	size_t size;
} bufs[BUFS_MAX];
static unsigned int nr_bufs;
static size_t bufs_bytes;

/* A kept buffer of at least size bytes, the latest put first; NULL: none. */
static char *bufs_get(size_t size, size_t *got)
{
	char *p = NULL;
	unsigned int i;

	pthread_mutex_lock(&bufs_lock);
	for (i = nr_bufs; i-- > 0;) {
		if (bufs[i].size < size)
			continue;
		p = bufs[i].p;
		*got = bufs[i].size;
		bufs_bytes -= *got;
		bufs[i] = bufs[--nr_bufs];
		break;
	}
	pthread_mutex_unlock(&bufs_lock);
	return p;
}

void bufs_jw_init(struct jw *w, size_t cap)
{
	size_t got;
	char *p = cap >= BUF_MIN ? bufs_get(cap + 1, &got) : NULL;

	if (p)
		jw_init_buf(w, p, got);
	else
		jw_init(w, cap);
}

/* libmicrohttpd's free callback of a recycled answer */
void bufs_put(void *p)
{
	size_t size = malloc_usable_size(p);

	pthread_mutex_lock(&bufs_lock);
	if (size >= BUF_MIN && nr_bufs < BUFS_MAX &&
	    bufs_bytes + size <= BUFS_BYTES) {
		bufs[nr_bufs].p = p;
		bufs[nr_bufs++].size = size;
		bufs_bytes += size;
		p = NULL;
	}
	pthread_mutex_unlock(&bufs_lock);
	free(p);
}
