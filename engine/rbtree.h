/* SPDX-License-Identifier: MIT */
/*
 * rbtree.h - red-black trees with optional augmentation, the shape of
 * include/linux/rbtree.h and rbtree_augmented.h: the caller finds the place
 * (rb_link_node) and the tree rebalances (rb_insert_augmented; an augmented
 * tree's caller has first brought the values from the root down to the new
 * node up to date, as include/linux/interval_tree_generic.h does while it
 * descends: rebalancing recomputes only what it rotates).  Used for the
 * VMAs of an mm, page tables, frames by pfn, and under interval_tree.h.
 */
#ifndef RMAPD_RBTREE_H
#define RMAPD_RBTREE_H

#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct rb_node {
	struct rb_node *parent, *left, *right;
	int red;
};

struct rb_root {
	struct rb_node *node;
};

#define RB_ROOT_INIT { NULL }
#define rb_entry(ptr, type, member) container_of(ptr, type, member)

struct rb_augment_ops {
	/* recompute node's value from itself and its children; true if it changed */
	bool (*recompute)(struct rb_node *node);
};

/* node, red and childless, into the empty slot link under parent */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent,
				struct rb_node **link)
{
	node->parent = parent;
	node->left = NULL;
	node->right = NULL;
	node->red = 1;
	*link = node;
}

void rb_insert_augmented(struct rb_node *node, struct rb_root *root,
			 const struct rb_augment_ops *aug);
void rb_erase_augmented(struct rb_node *node, struct rb_root *root,
			const struct rb_augment_ops *aug);
/*
 * A tree filled in key order in one go (fork copies the parent's VMAs and
 * page table, as the kernel's dup_mmap copies the maple tree whole with
 * __mt_dup) takes each node as the right child of the last (rb_link_node
 * and no rebalancing: a chain, still a search tree), then the n of them
 * are balanced at once, with no rotation.  Not augmented.
 */
void rb_balance_chain(struct rb_root *root, size_t n);
struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

static inline bool rb_empty(const struct rb_root *root)
{
	return root->node == NULL;
}

/* 0 if root is a valid red-black tree (and augmented values are right). */
int rb_validate(const struct rb_root *root, const struct rb_augment_ops *aug,
		char *buf, size_t buflen);

#endif /* RMAPD_RBTREE_H */
