/* SPDX-License-Identifier: MIT */
/*
 * radix.h - a radix tree of 64-way nodes from an integer key to a pointer,
 * as the kernel's xarray maps page indices and IDs: frames by pfn and
 * anon_vmas by id.  Keys are handed out in order and not reused, so a new
 * one lands in the last leaf, found in a few loads and no rebalancing.
 */
#ifndef RMAPD_RADIX_H
#define RMAPD_RADIX_H

#include <stdbool.h>

#define RADIX_SHIFT	6
#define RADIX_FAN	(1U << RADIX_SHIFT)
#define RADIX_MASK	((unsigned long)RADIX_FAN - 1)

struct radix_tree {
	void *root;
	unsigned int height;		/* levels; 0: empty */
	/* the leaf the last insert went to and its first key: the next key's */
	struct radix_leaf *last;
	unsigned long last_base;
};

/* the last level: each key's entry, or NULL */
struct radix_leaf {
	unsigned int nr;
	void *slot[RADIX_FAN];
};

/* The leaf that holds key's entry, or NULL. */
struct radix_leaf *radix_leaf(const struct radix_tree *t, unsigned long key);
/*
 * Forget key; the nodes left empty go (*freed names the leaf, if it went,
 * for a caller that keeps a pointer to it).  Returns the entry, or NULL.
 */
void *radix_erase(struct radix_tree *t, unsigned long key,
		  const struct radix_leaf **freed);
/* The first key >= from that has an entry. */
bool radix_next(const struct radix_tree *t, unsigned long from,
		unsigned long *key);
void radix_destroy(struct radix_tree *t);

struct radix_leaf *radix_leaf_for_insert(struct radix_tree *t,
					 unsigned long key);

/* a key next to the last one inserted is in its leaf: no call */
static inline void radix_insert(struct radix_tree *t, unsigned long key,
				void *entry)
{
	struct radix_leaf *leaf = t->last;

	if (!leaf || (key & ~RADIX_MASK) != t->last_base)
		leaf = radix_leaf_for_insert(t, key);
	if (!leaf->slot[key & RADIX_MASK])
		leaf->nr++;
	leaf->slot[key & RADIX_MASK] = entry;
}

static inline void *radix_lookup(const struct radix_tree *t, unsigned long key)
{
	const struct radix_leaf *leaf = radix_leaf(t, key);

	return leaf ? leaf->slot[key & RADIX_MASK] : NULL;
}

#endif
