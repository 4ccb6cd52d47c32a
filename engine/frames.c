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
 * from a pfn to its place.  A frame costs its folio and four bytes of
 * leaf, not a tree node and a heap block of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RADIX_SHIFT	PFN_LEAF_SHIFT
#define RADIX_FAN	(1U << RADIX_SHIFT)
#define RADIX_MASK	((unsigned long)RADIX_FAN - 1)
#define RADIX_MAX_HEIGHT ((64 + RADIX_SHIFT - 1) / RADIX_SHIFT)

struct pfn_node {
	unsigned int nr;
	void *child[RADIX_FAN];
};

static void *zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		abort();	/* the engine's limits make this unreachable */
	return p;
}

/* Whether a tree of this height reaches pfn. */
static bool radix_fits(unsigned int height, unsigned long pfn)
{
	return height * RADIX_SHIFT >= 64 || !(pfn >> (height * RADIX_SHIFT));
}

static unsigned int radix_slot(unsigned long pfn, unsigned int level)
{
	return (unsigned int)((pfn >> (RADIX_SHIFT * (level - 1))) &
			      RADIX_MASK);
}

/* The leaf that holds pfn's place, or NULL. */
static const struct pfn_leaf *radix_leaf(const struct frame_table *ft,
					 unsigned long pfn)
{
	const void *node = ft->root;
	unsigned int h = ft->height;

	if (!h || !radix_fits(h, pfn))
		return NULL;
	for (; h > 1 && node; h--)
		node = ((const struct pfn_node *)node)->child[radix_slot(pfn, h)];
	return node;
}

static void radix_grow(struct frame_table *ft, unsigned long pfn)
{
	while (!ft->height || !radix_fits(ft->height, pfn)) {
		struct pfn_node *n;

		if (!ft->height) {
			ft->root = zalloc(sizeof(struct pfn_leaf));
			ft->height = 1;
			continue;
		}
		n = zalloc(sizeof(*n));
		n->child[0] = ft->root;
		n->nr = 1;
		ft->root = n;
		ft->height++;
	}
}

static void radix_insert(struct frame_table *ft, unsigned long pfn,
			 unsigned int place)
{
	void *node;
	unsigned int h;
	struct pfn_leaf *leaf;

	radix_grow(ft, pfn);
	node = ft->root;
	for (h = ft->height; h > 1; h--) {
		struct pfn_node *n = node;
		void **child = &n->child[radix_slot(pfn, h)];

		if (!*child) {
			*child = zalloc(h == 2 ? sizeof(struct pfn_leaf) :
					sizeof(struct pfn_node));
			n->nr++;
		}
		node = *child;
	}
	leaf = node;
	if (!leaf->place[pfn & RADIX_MASK])
		leaf->nr++;
	leaf->place[pfn & RADIX_MASK] = place;
}

/* Forget pfn; the nodes left empty go.  Returns its place + 1, or 0. */
static unsigned int radix_erase(struct frame_table *ft, unsigned long pfn)
{
	struct pfn_node *path[RADIX_MAX_HEIGHT];
	void *node = ft->root;
	unsigned int h, place, depth = 0;
	struct pfn_leaf *leaf;

	if (!ft->height || !radix_fits(ft->height, pfn))
		return 0;
	for (h = ft->height; h > 1; h--) {
		path[depth++] = node;
		node = ((struct pfn_node *)node)->child[radix_slot(pfn, h)];
		if (!node)
			return 0;
	}
	leaf = node;
	place = leaf->place[pfn & RADIX_MASK];
	if (!place)
		return 0;
	leaf->place[pfn & RADIX_MASK] = 0;
	if (--leaf->nr)
		return place;
	if (ft->hint == leaf)
		ft->hint = NULL;
	if (ft->hint_prev == leaf)
		ft->hint_prev = NULL;
	free(leaf);
	for (h = 2; depth; h++) {
		struct pfn_node *n = path[--depth];

		n->child[radix_slot(pfn, h)] = NULL;
		if (--n->nr)
			return place;
		free(n);
	}
	ft->root = NULL;
	ft->height = 0;
	return place;
}

/* The first pfn >= from under node (a subtree of height h from base). */
static bool radix_next(const void *node, unsigned int h, unsigned long base,
		       unsigned long from, unsigned long *out)
{
	unsigned int shift = RADIX_SHIFT * (h - 1), i;

	i = from > base ? (unsigned int)((from - base) >> shift) : 0;
	if (h == 1) {
		const struct pfn_leaf *leaf = node;

		for (; i < RADIX_FAN; i++)
			if (leaf->place[i]) {
				*out = base + i;
				return true;
			}
		return false;
	}
	for (; i < RADIX_FAN; i++) {
		const void *child = ((const struct pfn_node *)node)->child[i];

		if (child && radix_next(child, h - 1, base + ((unsigned long)i
				<< shift), from, out))
			return true;
	}
	return false;
}

static void radix_free(void *node, unsigned int h)
{
	unsigned int i;

	if (!node)
		return;
	for (i = 0; h > 1 && i < RADIX_FAN; i++)
		radix_free(((struct pfn_node *)node)->child[i], h - 1);
	free(node);
}

/* ---- the slabs ---- */

/* A free place: the last one freed (its index names the next), or a new one. */
static unsigned int slab_take(struct frame_table *ft)
{
	unsigned int place;

	if (ft->free) {
		place = ft->free - 1;
		ft->free = (unsigned int)slab_folio(ft, place)->index;
		return place;
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
	return place;
}

struct folio *folio_alloc(struct sim *sim, unsigned long pfn)
{
	struct frame_table *ft = &sim->frames;
	unsigned int place = slab_take(ft);
	struct folio *folio = slab_folio(ft, place);

	if (!pfn)
		pfn = sim->next_pfn;
	if (pfn >= sim->next_pfn)
		sim->next_pfn = pfn + 1;
	memset(folio, 0, sizeof(*folio));
	folio->pfn = pfn;
	radix_insert(ft, pfn, place + 1);
	sim->nr_frames++;
	return folio;
}

void folio_free(struct sim *sim, struct folio *folio)
{
	struct frame_table *ft = &sim->frames;
	unsigned int place = radix_erase(ft, folio->pfn);

	if (!place)
		abort();	/* a folio not in the table: a bug */
	folio->pfn = 0;
	folio->index = ft->free;
	ft->free = place;
	sim->nr_frames--;
}

void frames_free(struct sim *sim)
{
	struct frame_table *ft = &sim->frames;
	size_t i;

	radix_free(ft->root, ft->height);
	for (i = 0; i < ft->nr_slabs; i++)
		free(ft->slabs[i]);
	free(ft->slabs);
	memset(ft, 0, sizeof(*ft));
}

struct folio *sim_find_folio(const struct sim *sim, unsigned long pfn)
{
	const struct pfn_leaf *leaf = radix_leaf(&sim->frames, pfn);
	unsigned int place = leaf ? leaf->place[pfn & RADIX_MASK] : 0;

	return place ? slab_folio(&sim->frames, place - 1) : NULL;
}

/*
 * pfn_folio when neither hint is pfn's leaf: the hint moves to it, the one
 * it was becomes the previous hint.
 */
struct folio *pfn_folio_miss(struct sim *sim, unsigned long pfn)
{
	struct frame_table *ft = &sim->frames;
	const unsigned long base = pfn & ~RADIX_MASK;
	const struct pfn_leaf *leaf = radix_leaf(ft, pfn);
	unsigned int place;

	if (!leaf)
		return NULL;
	ft->hint_prev = ft->hint;
	ft->hint_prev_base = ft->hint_base;
	ft->hint = (void *)leaf;
	ft->hint_base = base;
	place = leaf->place[pfn & RADIX_MASK];
	return place ? slab_folio(ft, place - 1) : NULL;
}

static struct folio *folio_from(const struct sim *sim, unsigned long from)
{
	const struct frame_table *ft = &sim->frames;
	unsigned long pfn;

	if (!ft->height || !radix_next(ft->root, ft->height, 0, from, &pfn))
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
