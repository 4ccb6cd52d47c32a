// SPDX-License-Identifier: MIT
/*
 * slab.c - object caches for what a session makes and drops by the
 * thousand (VMAs, anon_vmas, anon_vma_chains, PTE blocks), as the kernel
 * keeps vm_area_cachep, anon_vma_cachep and anon_vma_chain_cachep: objects
 * carved from chunks that grow as the session does, a freed one on a free
 * list for the next.  A fork of 1000 VMAs makes some 4000 objects; from a
 * chunk each costs a pointer bump, not a trip through malloc, and no
 * malloc header of its own.
 *
 * Under AddressSanitizer each object is its own heap block, so a use after
 * free still trips it (a free list would hand the memory to the next
 * object unnoticed).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLAB_MIN_OBJS	8
#define SLAB_MAX_BYTES	(64 * 1024)

/* A chunk: the link to the one before it, then the objects. */
struct slab_chunk {
	struct slab_chunk *prev;
	size_t bytes;
};

void kmem_cache_init(struct kmem_cache *c, size_t size)
{
	memset(c, 0, sizeof(*c));
	/* the free list links through an object's first word */
	c->size = (size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
}

/* A new chunk, twice the last (a small session stays small). */
static void slab_grow(struct kmem_cache *c)
{
	size_t objs = c->chunks ? 2 * c->chunks->bytes / c->size :
				  SLAB_MIN_OBJS;
	size_t bytes = objs * c->size;
	struct slab_chunk *chunk;

	if (bytes > SLAB_MAX_BYTES && c->size <= SLAB_MAX_BYTES)
		bytes = SLAB_MAX_BYTES / c->size * c->size;
	chunk = malloc(sizeof(*chunk) + bytes);
	if (!chunk)
		abort();	/* the engine's limits make this unreachable */
	chunk->prev = c->chunks;
	chunk->bytes = bytes;
	c->chunks = chunk;
	c->next = (char *)(chunk + 1);
	c->end = c->next + bytes;
}

/* kmem_cache_alloc when the free list and the chunk are empty. */
void *kmem_cache_alloc_slow(struct kmem_cache *c)
{
	void *p;

	if (SLAB_BYPASS) {
		p = malloc(c->size);
		if (!p)
			abort();
		return p;
	}
	slab_grow(c);
	p = c->next;
	c->next += c->size;
	return p;
}

void *kmem_cache_zalloc(struct kmem_cache *c)
{
	return memset(kmem_cache_alloc(c), 0, c->size);
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	if (SLAB_BYPASS) {
		free(p);
		return;
	}
	*(void **)p = c->free;
	c->free = p;
}

/* Every chunk back to malloc; the objects in them must be dead. */
void kmem_cache_destroy(struct kmem_cache *c)
{
	while (c->chunks) {
		struct slab_chunk *prev = c->chunks->prev;

		free(c->chunks);
		c->chunks = prev;
	}
	c->free = NULL;
	c->next = c->end = NULL;
}
