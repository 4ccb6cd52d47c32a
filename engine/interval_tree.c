// SPDX-License-Identifier: MIT
/*
 * interval_tree.c - the augmented red-black interval tree (the generic
 * half of include/linux/interval_tree_generic.h).  Each node carries the
 * largest "last" of its subtree, so a query skips any subtree that ends
 * before the query starts, and stops at the first node that starts after
 * the query ends.
 */
#include <stdio.h>

#include "interval_tree.h"

#define itree_entry(ptr) rb_entry(ptr, struct itree_node, rb)

static unsigned long subtree_last_of(const struct rb_node *rb)
{
	return itree_entry(rb)->subtree_last;
}

static bool itree_recompute(struct rb_node *rb)
{
	struct itree_node *n = itree_entry(rb);
	unsigned long max = n->last;

	if (rb->left && subtree_last_of(rb->left) > max)
		max = subtree_last_of(rb->left);
	if (rb->right && subtree_last_of(rb->right) > max)
		max = subtree_last_of(rb->right);
	if (n->subtree_last == max)
		return false;
	n->subtree_last = max;
	return true;
}

static const struct rb_augment_ops itree_aug = { itree_recompute };

/*
 * The key is the start alone, as in interval_tree_generic.h: a node equal to
 * one in the tree goes to its right, so equal starts stay in the order they
 * were inserted, and a walk visits them in that order.
 */
void itree_insert(struct itree_node *node, struct itree_root *root)
{
	struct rb_node **link = &root->rb.node, *parent = NULL;

	node->subtree_last = node->last;
	if (!*link) {
		/* a new anon_vma's first chain (fork makes one a VMA) */
		rb_link_node(&node->rb, NULL, link);
		node->rb.red = 0;
		root->count++;
		return;
	}
	while (*link) {
		struct itree_node *p = itree_entry(*link);

		/* every node passed on the way down will hold this one */
		if (p->subtree_last < node->last)
			p->subtree_last = node->last;
		parent = *link;
		link = node->start < p->start ? &parent->left : &parent->right;
	}
	rb_link_node(&node->rb, parent, link);
	rb_insert_augmented(&node->rb, &root->rb, &itree_aug);
	root->count++;
}

/*
 * The in-order successor's slot: prev's right child if it has none, else
 * the left end of prev's right subtree.  The rebalancing that follows keeps
 * the order, so node is visited right after prev.
 */
void itree_insert_after(struct itree_node *node, struct itree_node *prev,
			struct itree_root *root)
{
	struct rb_node *parent = &prev->rb, **link = &prev->rb.right;

	if (prev->rb.right) {
		parent = prev->rb.right;
		while (parent->left)
			parent = parent->left;
		link = &parent->left;
	}
	node->subtree_last = node->last;
	rb_link_node(&node->rb, parent, link);
	/* no descent passed the ancestors: up from the slot, until one holds */
	for (; parent && itree_recompute(parent); parent = parent->parent)
		;
	rb_insert_augmented(&node->rb, &root->rb, &itree_aug);
	root->count++;
}

void itree_remove(struct itree_node *node, struct itree_root *root)
{
	rb_erase_augmented(&node->rb, &root->rb, &itree_aug);
	root->count--;
}

static void probe(struct itree_root *root, const struct itree_node *node,
		  enum itree_step step)
{
	if (root->probe)
		root->probe(root->probe_ctx, node, step);
}

/* Leftmost node of node's subtree that overlaps [qs, ql]. */
static struct itree_node *subtree_search(struct itree_root *root,
					 struct itree_node *node,
					 unsigned long qs, unsigned long ql)
{
	for (;;) {
		if (node->rb.left && subtree_last_of(node->rb.left) >= qs) {
			probe(root, node, ITREE_LEFT);
			node = itree_entry(node->rb.left);
			continue;
		}
		if (node->start > ql) {
			probe(root, node, ITREE_STOP);
			return NULL;
		}
		if (node->last >= qs) {
			probe(root, node, ITREE_MATCH);
			return node;
		}
		if (!node->rb.right || subtree_last_of(node->rb.right) < qs) {
			probe(root, node, ITREE_STOP);
			return NULL;
		}
		probe(root, node, ITREE_RIGHT);
		node = itree_entry(node->rb.right);
	}
}

struct itree_node *itree_iter_first(struct itree_root *root,
				    unsigned long qs, unsigned long ql)
{
	if (!root->rb.node || subtree_last_of(root->rb.node) < qs)
		return NULL;
	return subtree_search(root, itree_entry(root->rb.node), qs, ql);
}

struct itree_node *itree_iter_next(struct itree_root *root,
				   struct itree_node *node,
				   unsigned long qs, unsigned long ql)
{
	struct rb_node *rb = node->rb.right, *prev;

	for (;;) {
		if (rb && subtree_last_of(rb) >= qs)
			return subtree_search(root, itree_entry(rb), qs, ql);
		/* climb until we arrive from a left child */
		do {
			rb = node->rb.parent;
			if (!rb)
				return NULL;
			prev = &node->rb;
			node = itree_entry(rb);
			rb = node->rb.right;
		} while (prev == rb);
		if (node->start > ql) {
			probe(root, node, ITREE_STOP);
			return NULL;
		}
		if (node->last >= qs) {
			probe(root, node, ITREE_MATCH);
			return node;
		}
		probe(root, node, ITREE_PASS);
	}
}

struct itree_node *itree_first(const struct itree_root *root)
{
	struct rb_node *rb = rb_first(&root->rb);

	return rb ? itree_entry(rb) : NULL;
}

struct itree_node *itree_next(const struct itree_node *node)
{
	struct rb_node *rb = rb_next(&node->rb);

	return rb ? itree_entry(rb) : NULL;
}

int itree_validate(const struct itree_root *root, char *buf, size_t buflen)
{
	const struct itree_node *n, *prev = NULL;
	unsigned long count = 0;

	if (rb_validate(&root->rb, &itree_aug, buf, buflen))
		return -1;
	for (n = itree_first(root); n; prev = n, n = itree_next(n)) {
		if (n->last < n->start) {
			snprintf(buf, buflen, "itree: node with last < start");
			return -1;
		}
		if (prev && prev->start > n->start) {
			snprintf(buf, buflen, "itree: nodes out of order");
			return -1;
		}
		count++;
	}
	if (count != root->count) {
		snprintf(buf, buflen, "itree: count %lu, %lu nodes", root->count,
			 count);
		return -1;
	}
	return 0;
}
