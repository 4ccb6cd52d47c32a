/* SPDX-License-Identifier: MIT */
/*
 * interval_tree.h - one augmented interval tree for two rooms, as
 * include/linux/interval_tree_generic.h serves mm/interval_tree.c:
 * anon_vma->rb_root holds anon_vma_chains and address_space->i_mmap holds
 * VMAs, both keyed by the VMA's page-offset range [vm_pgoff, vm_pgoff +
 * pages - 1].  A stabbing query costs O(log n + k).
 */
#ifndef RMAPD_INTERVAL_TREE_H
#define RMAPD_INTERVAL_TREE_H

#include "rbtree.h"

struct itree_node {
	struct rb_node rb;
	unsigned long start;		/* first page offset, inclusive */
	unsigned long last;		/* last page offset, inclusive */
	unsigned long id;		/* the object's id: names it in a dump */
	unsigned long subtree_last;	/* max last in this subtree */
};

/* what a query decided at a node it examined */
enum itree_step {
	ITREE_LEFT,		/* an overlap may lie in the left subtree */
	ITREE_RIGHT,		/* not here: only the right subtree may hold one */
	ITREE_MATCH,		/* this node overlaps: returned */
	ITREE_STOP,		/* nothing further can overlap: the query ends */
	ITREE_PASS,		/* climbed back to it: no overlap, go on */
};

struct itree_root {
	struct rb_root rb;
	unsigned long count;
	/* when set, told of every node a query examines (the cost of a walk) */
	void (*probe)(void *ctx, const struct itree_node *node,
		      enum itree_step step);
	void *probe_ctx;
};

#define ITREE_ROOT_INIT { RB_ROOT_INIT, 0, NULL, NULL }

/* after every node with the same start: equal keys keep insertion order */
void itree_insert(struct itree_node *node, struct itree_root *root);
/* right after prev in order (prev has the same start), as fork inserts */
void itree_insert_after(struct itree_node *node, struct itree_node *prev,
			struct itree_root *root);
void itree_remove(struct itree_node *node, struct itree_root *root);
/* nodes overlapping [qstart, qlast], in tree order */
struct itree_node *itree_iter_first(struct itree_root *root,
				    unsigned long qstart, unsigned long qlast);
struct itree_node *itree_iter_next(struct itree_root *root,
				   struct itree_node *node,
				   unsigned long qstart, unsigned long qlast);
struct itree_node *itree_first(const struct itree_root *root);
struct itree_node *itree_next(const struct itree_node *node);
/* 0 if well formed: red-black, augmented values, starts in order, count */
int itree_validate(const struct itree_root *root, char *buf, size_t buflen);

#endif /* RMAPD_INTERVAL_TREE_H */
