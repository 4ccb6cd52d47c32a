// SPDX-License-Identifier: MIT
/*
 * rbtree.c - red-black tree insertion and erasure (lib/rbtree.c's job).
 *
 * Augmentation is kept simple and obviously right: an inserting caller has
 * brought the values on the new node's path up to date (as the kernel's
 * interval tree does on its way down); after a node is unlinked, every
 * node from the change up to the root is recomputed; and each rotation
 * recomputes the two nodes it moved, lower one first.
 */
#include <limits.h>
#include <stdio.h>

#include "rbtree.h"

static bool is_red(const struct rb_node *n)
{
	return n && n->red;
}

static void recompute(const struct rb_augment_ops *aug, struct rb_node *n)
{
	if (aug && n)
		aug->recompute(n);
}

static void propagate(const struct rb_augment_ops *aug, struct rb_node *n)
{
	for (; aug && n; n = n->parent)
		aug->recompute(n);
}

static void replace_child(struct rb_root *root, struct rb_node *parent,
			  struct rb_node *old, struct rb_node *new)
{
	if (!parent)
		root->node = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

static void rotate_left(struct rb_root *root, struct rb_node *x,
			const struct rb_augment_ops *aug)
{
	struct rb_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	replace_child(root, x->parent, x, y);
	y->left = x;
	x->parent = y;
	recompute(aug, x);
	recompute(aug, y);
}

static void rotate_right(struct rb_root *root, struct rb_node *x,
			 const struct rb_augment_ops *aug)
{
	struct rb_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	replace_child(root, x->parent, x, y);
	y->right = x;
	x->parent = y;
	recompute(aug, x);
	recompute(aug, y);
}

void rb_insert_augmented(struct rb_node *z, struct rb_root *root,
			 const struct rb_augment_ops *aug)
{
	while (is_red(z->parent)) {
		struct rb_node *p = z->parent, *g = p->parent, *u;

		if (p == g->left) {
			u = g->right;
			if (is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				z = g;
				continue;
			}
			if (z == p->right) {
				z = p;
				rotate_left(root, z, aug);
				p = z->parent;
			}
			p->red = 0;
			g->red = 1;
			rotate_right(root, g, aug);
		} else {
			u = g->left;
			if (is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				z = g;
				continue;
			}
			if (z == p->left) {
				z = p;
				rotate_right(root, z, aug);
				p = z->parent;
			}
			p->red = 0;
			g->red = 1;
			rotate_left(root, g, aug);
		}
	}
	root->node->red = 0;
}

static void erase_fixup(struct rb_root *root, struct rb_node *x,
			struct rb_node *parent,
			const struct rb_augment_ops *aug)
{
	while (x != root->node && !is_red(x)) {
		struct rb_node *w;

		if (x == parent->left) {
			w = parent->right;
			if (is_red(w)) {
				w->red = 0;
				parent->red = 1;
				rotate_left(root, parent, aug);
				w = parent->right;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!is_red(w->right)) {
				w->left->red = 0;
				w->red = 1;
				rotate_right(root, w, aug);
				w = parent->right;
			}
			w->red = parent->red;
			parent->red = 0;
			w->right->red = 0;
			rotate_left(root, parent, aug);
		} else {
			w = parent->left;
			if (is_red(w)) {
				w->red = 0;
				parent->red = 1;
				rotate_right(root, parent, aug);
				w = parent->left;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!is_red(w->left)) {
				w->right->red = 0;
				w->red = 1;
				rotate_left(root, w, aug);
				w = parent->left;
			}
			w->red = parent->red;
			parent->red = 0;
			w->left->red = 0;
			rotate_right(root, parent, aug);
		}
		x = root->node;
		break;
	}
	if (x)
		x->red = 0;
}

void rb_erase_augmented(struct rb_node *z, struct rb_root *root,
			const struct rb_augment_ops *aug)
{
	struct rb_node *x, *xp;
	int removed_red;

	if (!z->left || !z->right) {
		x = z->left ? z->left : z->right;
		xp = z->parent;
		removed_red = z->red;
		replace_child(root, xp, z, x);
		if (x)
			x->parent = xp;
	} else {
		struct rb_node *y = z->right;

		while (y->left)
			y = y->left;
		removed_red = y->red;
		x = y->right;
		if (y->parent == z) {
			xp = y;
		} else {
			xp = y->parent;
			xp->left = x;
			if (x)
				x->parent = xp;
			y->right = z->right;
			y->right->parent = y;
		}
		replace_child(root, z->parent, z, y);
		y->parent = z->parent;
		y->left = z->left;
		y->left->parent = y;
		y->red = z->red;
	}
	propagate(aug, xp);
	if (!removed_red)
		erase_fixup(root, x, xp, aug);
}

/*
 * The n (at least one) nodes of *list (chained by ->right) in a subtree at
 * depth: the first half on the left, the rest on the right, so every empty
 * link is at depth d or d + 1; the nodes at red_depth (d, when some links
 * are at d + 1) are red, which gives every path the same d black nodes.
 * An empty half is no call: half the subtrees are.
 */
static struct rb_node *build_sorted(struct rb_node **list, size_t n,
				    unsigned int depth, unsigned int red_depth)
{
	size_t nl = (n - 1) / 2, nr = n - 1 - nl;
	struct rb_node *left = NULL, *node;

	if (nl)
		left = build_sorted(list, nl, depth + 1, red_depth);
	node = *list;
	*list = node->right;
	node->left = left;
	if (left)
		left->parent = node;
	node->red = depth == red_depth;
	node->right = NULL;
	if (nr) {
		node->right = build_sorted(list, nr, depth + 1, red_depth);
		node->right->parent = node;
	}
	return node;
}

void rb_balance_chain(struct rb_root *root, size_t n)
{
	struct rb_node *head = root->node;
	unsigned int d = 0;

	while ((size_t)2 << d <= n + 1)
		d++;
	if (!n)
		return;
	/* n + 1 a power of two: a perfect tree, all black */
	root->node = build_sorted(&head, n, 0, (n + 1) & n ? d : UINT_MAX);
	root->node->parent = NULL;
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->node;

	while (n && n->left)
		n = n->left;
	return n;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *n = root->node;

	while (n && n->right)
		n = n->right;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	const struct rb_node *parent;

	if (node->right) {
		node = node->right;
		while (node->left)
			node = node->left;
		return (struct rb_node *)node;
	}
	while ((parent = node->parent) && node == parent->right)
		node = parent;
	return (struct rb_node *)parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	const struct rb_node *parent;

	if (node->left) {
		node = node->left;
		while (node->right)
			node = node->right;
		return (struct rb_node *)node;
	}
	while ((parent = node->parent) && node == parent->left)
		node = parent;
	return (struct rb_node *)parent;
}

/* Black height of n's subtree, or -1 with a reason in buf. */
static int validate_node(const struct rb_node *n,
			 const struct rb_augment_ops *aug, char *buf,
			 size_t buflen)
{
	int lh, rh;

	if (!n)
		return 1;
	if ((n->left && n->left->parent != n) ||
	    (n->right && n->right->parent != n)) {
		snprintf(buf, buflen, "rbtree: broken parent link");
		return -1;
	}
	if (n->red && (is_red(n->left) || is_red(n->right))) {
		snprintf(buf, buflen, "rbtree: red node with a red child");
		return -1;
	}
	lh = validate_node(n->left, aug, buf, buflen);
	if (lh < 0)
		return -1;
	rh = validate_node(n->right, aug, buf, buflen);
	if (rh < 0)
		return -1;
	if (lh != rh) {
		snprintf(buf, buflen, "rbtree: unequal black heights");
		return -1;
	}
	/* recompute on a const tree: it must find nothing to change */
	if (aug && aug->recompute((struct rb_node *)n)) {
		snprintf(buf, buflen, "rbtree: stale augmented value");
		return -1;
	}
	return lh + (n->red ? 0 : 1);
}

int rb_validate(const struct rb_root *root, const struct rb_augment_ops *aug,
		char *buf, size_t buflen)
{
	if (root->node && (root->node->parent || root->node->red)) {
		snprintf(buf, buflen, "rbtree: bad root");
		return -1;
	}
	return validate_node(root->node, aug, buf, buflen) < 0 ? -1 : 0;
}
