// SPDX-License-Identifier: MIT
/*
 * frames.c - the page allocator's side of the simulated machine: where the
 * folios live and how a pfn finds its folio.
 *
 * The kernel keeps a struct page per frame in mem_map and finds it from a
 * pfn by arithmetic.  Simulated pfns are handed out in order and never
 * reused, so the frames a session holds are sparse in pfn space: folios
 * live in slabs of FOLIO_SLAB (a freed folio's place is taken by the next
 * one), and a radix tree of 64-way nodes, as the kernel's xarray is, leads
 * from a pfn to its folio.  A frame costs its folio and a pointer in a
 * leaf, not a tree node and a heap block of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the slabs ---- */

/*
 * A free place: the last folio freed (its pfn, while it is free, links
 * the one freed before it), or a new one.
 */
static struct folio *slab_take(struct frame_table *ft)
{
	struct folio *folio = ft->free;
	unsigned int place;

	if (folio) {
		ft->free = (struct folio *)(uintptr_t)folio->pfn;
		return folio;
	}
	place = ft->used++;
	if (place % FOLIO_SLAB == 0) {
		struct folio **slabs = realloc(ft->slabs, (ft->nr_slabs + 1) *
					       sizeof(*slabs));
		/* not zeroed: a place is cleared when it is taken */
		struct folio *slab = malloc(FOLIO_SLAB * sizeof(*slab));

		if (!slabs || !slab)
			abort();
		slabs[ft->nr_slabs++] = slab;
		ft->slabs = slabs;
	}
	return &ft->slabs[place / FOLIO_SLAB][place % FOLIO_SLAB];
}

struct folio *folio_alloc(struct sim *sim, unsigned long pfn)
{
	struct frame_table *ft = &sim->frames;
	struct folio *folio = slab_take(ft);

	if (!pfn)
		pfn = sim->next_pfn;
	if (pfn >= sim->next_pfn)
		sim->next_pfn = pfn + 1;
	memset(folio, 0, sizeof(*folio));
	folio->pfn = pfn;
	radix_insert(&ft->tree, pfn, folio);
	sim->nr_frames++;
	return folio;
}

void folio_free(struct sim *sim, struct folio *folio)
{
	struct frame_table *ft = &sim->frames;
	const struct radix_leaf *freed;

	if (radix_erase(&ft->tree, folio->pfn, &freed) != folio)
		abort();	/* a folio not in the table: a bug */
	if (freed && ft->hint == freed)
		ft->hint = NULL;
	if (freed && ft->hint_prev == freed)
		ft->hint_prev = NULL;
	folio->pfn = (uintptr_t)ft->free;
	ft->free = folio;
	sim->nr_frames--;
}

void frames_free(struct sim *sim)
{
	struct frame_table *ft = &sim->frames;
	size_t i;

	radix_destroy(&ft->tree);
	for (i = 0; i < ft->nr_slabs; i++)
		free(ft->slabs[i]);
	free(ft->slabs);
	memset(ft, 0, sizeof(*ft));
}

struct folio *sim_find_folio(const struct sim *sim, unsigned long pfn)
{
	return radix_lookup(&sim->frames.tree, pfn);
}

/*
 * pfn_folio when neither hint is pfn's leaf: the hint moves to it, the one
 * it was becomes the previous hint.
 */
struct folio *pfn_folio_miss(struct sim *sim, unsigned long pfn)
{
	struct frame_table *ft = &sim->frames;
	const unsigned long base = pfn & ~RADIX_MASK;
	const struct radix_leaf *leaf = radix_leaf(&ft->tree, pfn);

	if (!leaf)
		return NULL;
	ft->hint_prev = ft->hint;
	ft->hint_prev_base = ft->hint_base;
	ft->hint = (void *)leaf;
	ft->hint_base = base;
	return leaf->slot[pfn & RADIX_MASK];
}

static struct folio *folio_from(const struct sim *sim, unsigned long from)
{
	const struct frame_table *ft = &sim->frames;
	unsigned long pfn;

	if (!radix_next(&ft->tree, from, &pfn))
		return NULL;
	return sim_find_folio(sim, pfn);
}

struct folio *folio_first(const struct sim *sim)
{
	return folio_from(sim, 0);
}

struct folio *folio_next(const struct sim *sim, const struct folio *folio)
{
	if (folio->pfn == ULONG_MAX)
		return NULL;
	return folio_from(sim, folio->pfn + 1);
}
