// SPDX-License-Identifier: MIT
/*
 * radix.c - the radix tree of radix.h: inner nodes of 64 children, leaves
 * of 64 entries, grown at the top when a key does not fit the height.
 */
#include <stdlib.h>

#include "radix.h"

#define RADIX_MAX_HEIGHT ((64 + RADIX_SHIFT - 1) / RADIX_SHIFT)

struct radix_node {
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

/* Whether a tree of this height reaches key. */
static bool radix_fits(unsigned int height, unsigned long key)
{
	return height * RADIX_SHIFT >= 64 || !(key >> (height * RADIX_SHIFT));
}

static unsigned int radix_slot(unsigned long key, unsigned int level)
{
	return (unsigned int)((key >> (RADIX_SHIFT * (level - 1))) &
			      RADIX_MASK);
}

struct radix_leaf *radix_leaf(const struct radix_tree *t, unsigned long key)
{
	void *node = t->root;
	unsigned int h = t->height;

	if (!h || !radix_fits(h, key))
		return NULL;
	for (; h > 1 && node; h--)
		node = ((struct radix_node *)node)->child[radix_slot(key, h)];
	return node;
}

static void radix_grow(struct radix_tree *t, unsigned long key)
{
	while (!t->height || !radix_fits(t->height, key)) {
		struct radix_node *n;

		if (!t->height) {
			t->root = zalloc(sizeof(struct radix_leaf));
			t->height = 1;
			continue;
		}
		n = zalloc(sizeof(*n));
		n->child[0] = t->root;
		n->nr = 1;
		t->root = n;
		t->height++;
	}
}

/* The leaf for a key not in the last one's, made if need be. */
struct radix_leaf *radix_leaf_for_insert(struct radix_tree *t,
					 unsigned long key)
{
	void *node;
	unsigned int h;

	radix_grow(t, key);
	node = t->root;
	for (h = t->height; h > 1; h--) {
		struct radix_node *n = node;
		void **child = &n->child[radix_slot(key, h)];

		if (!*child) {
			*child = zalloc(h == 2 ? sizeof(struct radix_leaf) :
					sizeof(struct radix_node));
			n->nr++;
		}
		node = *child;
	}
	t->last = node;
	t->last_base = key & ~RADIX_MASK;
	return node;
}

void *radix_erase(struct radix_tree *t, unsigned long key,
		  const struct radix_leaf **freed)
{
	struct radix_node *path[RADIX_MAX_HEIGHT];
	void *node = t->root, *entry;
	unsigned int h, depth = 0;
	struct radix_leaf *leaf;

	*freed = NULL;
	if (!t->height || !radix_fits(t->height, key))
		return NULL;
	for (h = t->height; h > 1; h--) {
		path[depth++] = node;
		node = ((struct radix_node *)node)->child[radix_slot(key, h)];
		if (!node)
			return NULL;
	}
	leaf = node;
	entry = leaf->slot[key & RADIX_MASK];
	if (!entry)
		return NULL;
	leaf->slot[key & RADIX_MASK] = NULL;
	if (--leaf->nr)
		return entry;
	*freed = leaf;
	if (t->last == leaf)
		t->last = NULL;
	free(leaf);
	for (h = 2; depth; h++) {
		struct radix_node *n = path[--depth];

		n->child[radix_slot(key, h)] = NULL;
		if (--n->nr)
			return entry;
		free(n);
	}
	t->root = NULL;
	t->height = 0;
	return entry;
}

/* The first key >= from under node (a subtree of height h from base). */
static bool subtree_next(const void *node, unsigned int h, unsigned long base,
			 unsigned long from, unsigned long *out)
{
	unsigned int shift = RADIX_SHIFT * (h - 1), i;

	i = from > base ? (unsigned int)((from - base) >> shift) : 0;
	if (h == 1) {
		const struct radix_leaf *leaf = node;

		for (; i < RADIX_FAN; i++)
			if (leaf->slot[i]) {
				*out = base + i;
				return true;
			}
		return false;
	}
	for (; i < RADIX_FAN; i++) {
		const void *child = ((const struct radix_node *)node)->child[i];

		if (child && subtree_next(child, h - 1, base + ((unsigned long)i
				<< shift), from, out))
			return true;
	}
	return false;
}

bool radix_next(const struct radix_tree *t, unsigned long from,
		unsigned long *key)
{
	return t->height && subtree_next(t->root, t->height, 0, from, key);
}

static void subtree_free(void *node, unsigned int h)
{
	unsigned int i;

	if (!node)
		return;
	for (i = 0; h > 1 && i < RADIX_FAN; i++)
		subtree_free(((struct radix_node *)node)->child[i], h - 1);
	free(node);
}

void radix_destroy(struct radix_tree *t)
{
	subtree_free(t->root, t->height);
	t->root = NULL;
	t->height = 0;
	t->last = NULL;
}
