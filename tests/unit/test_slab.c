// SPDX-License-Identifier: MIT
/*
 * test_slab.c - the engine's object caches (slab.c) and the highest VMA,
 * PTE block and anon_vma id that fork's in-order inserts start from: an
 * object comes back zeroed, a freed one is the next one handed out, many
 * objects never overlap; and after munmaps, exits and maps below and
 * above, each remembered highest node is the tree's last one (a stale one
 * would send an insert to the wrong place, or into freed memory).
 */
#include "internal.h"
#include "simtest.h"

#define BASE	0x10000000UL

static void a_freed_object_comes_back_zeroed(void)
{
	struct kmem_cache c;
	unsigned char *a, *b;
	size_t i, nonzero = 0;

	kmem_cache_init(&c, 40);
	a = kmem_cache_zalloc(&c);
	memset(a, 0xa5, 40);
	kmem_cache_free(&c, a);
	b = kmem_cache_zalloc(&c);
	for (i = 0; i < 40; i++)
		nonzero += b[i] != 0;
	EXPECT_EQ(nonzero, 0);
	if (!SLAB_BYPASS)
		EXPECT(a == b);
	kmem_cache_free(&c, b);
	kmem_cache_destroy(&c);
}

static void many_objects_never_overlap(void)
{
	enum { N = 20000 };
	static unsigned long *obj[N];
	struct kmem_cache c;
	size_t i, wrong = 0;

	kmem_cache_init(&c, 3 * sizeof(unsigned long));
	for (i = 0; i < N; i++) {
		obj[i] = kmem_cache_zalloc(&c);
		obj[i][0] = obj[i][1] = obj[i][2] = i;
	}
	for (i = 0; i < N; i++)
		wrong += obj[i][0] != i || obj[i][1] != i || obj[i][2] != i;
	EXPECT_EQ(wrong, 0);
	/* every other one freed and taken again: still apart */
	for (i = 0; i < N; i += 2)
		kmem_cache_free(&c, obj[i]);
	for (i = 0; i < N; i += 2) {
		obj[i] = kmem_cache_zalloc(&c);
		obj[i][0] = obj[i][1] = obj[i][2] = i;
	}
	for (i = 0, wrong = 0; i < N; i++)
		wrong += obj[i][0] != i || obj[i][2] != i;
	EXPECT_EQ(wrong, 0);
	for (i = 0; i < N; i++)
		kmem_cache_free(&c, obj[i]);
	kmem_cache_destroy(&c);
}

/*
 * The id table holds every live anon_vma and nothing else; each
 * remembered highest node is its tree's last; the VMAs in order.
 */
static void expect_highest_is_last(struct sim *sim)
{
	unsigned long id, live = 0, held = 0;
	struct anon_vma *av;
	struct mm_struct *mm;
	struct rb_node *n;

	list_for_each_entry(av, &sim->anon_vmas, node) {
		EXPECT(sim_find_anon_vma(sim, av->id) == av);
		live++;
	}
	for (id = 0; radix_next(&sim->anon_vma_ids, id, &id); id++)
		held++;
	EXPECT_EQ(held, live);
	list_for_each_entry(mm, &sim->mms, node) {
		struct vm_area_struct *v, *prev = NULL;

		n = rb_last(&mm->mm_mt);
		EXPECT(mm->vma_last ==
		       (n ? rb_entry(n, struct vm_area_struct, mm_node) : NULL));
		n = rb_last(&mm->pgtable);
		EXPECT(mm->pt_last ==
		       (n ? rb_entry(n, struct pte_block, node) : NULL));
		for (v = vma_first(mm); v; prev = v, v = vma_next(v))
			EXPECT(!prev || prev->vm_end <= v->vm_start);
	}
}

static void write_vma(struct sim *sim, int pid, unsigned long addr,
		      unsigned long pages)
{
	unsigned long i;

	mmap_anon(sim, pid, addr, pages, "rw-", false);
	for (i = 0; i < pages; i++)
		touch(sim, pid, addr + i * PAGE_SIZE, true);
}

static void highest_nodes_follow_munmap_exit_and_new_maps(void)
{
	struct sim *sim = new_sim(SIM_MODE_NORMAL, false);
	unsigned long far = BASE + 0x1000000UL;
	int child, grandchild;

	do_spawn_op(sim);
	write_vma(sim, 1, BASE, 40);
	write_vma(sim, 1, BASE + 0x100000UL, 40);
	write_vma(sim, 1, far, 40);
	expect_highest_is_last(sim);
	/* the highest VMA and its blocks go; the anon_vma with them */
	range_op(sim, OP_MUNMAP, 1, far, 40, NULL, 0);
	expect_highest_is_last(sim);
	child = fork_op(sim, 1);
	expect_highest_is_last(sim);
	/* a map below everything, then above everything, in both */
	write_vma(sim, 1, BASE - 0x100000UL, 8);
	write_vma(sim, child, far + 0x100000UL, 8);
	expect_highest_is_last(sim);
	grandchild = fork_op(sim, child);
	expect_highest_is_last(sim);
	EXPECT_EQ(sim_find_mm(sim, grandchild)->map_count, 3);
	/* the newest anon_vmas (the grandchild's) go with it */
	exit_op(sim, grandchild);
	expect_highest_is_last(sim);
	range_op(sim, OP_MUNMAP, child, far + 0x100000UL, 8, NULL, 0);
	expect_highest_is_last(sim);
	write_vma(sim, child, far, 4);
	expect_highest_is_last(sim);
	exit_op(sim, child);
	exit_op(sim, 1);
	expect_highest_is_last(sim);
	/* the last anon_vma took the table's nodes with it */
	EXPECT(sim->anon_vma_ids.root == NULL);
	EXPECT_EQ(checker_violations(sim, true), 0);
	sim_free(sim);
}

struct keyed {
	struct rb_node node;
	unsigned long key;
};

/* The height of the tallest path, or -1 if some node's key is out of order. */
static int chain_tree_height(const struct rb_node *n, unsigned long *next)
{
	int lh, rh;

	if (!n)
		return 0;
	lh = chain_tree_height(n->left, next);
	if (lh < 0 || rb_entry(n, struct keyed, node)->key != (*next)++)
		return -1;
	rh = chain_tree_height(n->right, next);
	if (rh < 0)
		return -1;
	return 1 + (lh > rh ? lh : rh);
}

/*
 * fork's trees are chains balanced at once (rb_balance_chain): for every
 * length, a red-black tree (rb_validate: colours, black heights, parent
 * links) of the keys in order, as short as a tree of n nodes can be, and
 * one the ordinary inserts and erasures then keep red-black.
 */
static void a_chain_of_any_length_balances_into_a_red_black_tree(void)
{
	enum { N = 600 };
	static struct keyed k[N + 2];
	size_t n, i, bad = 0, tall = 0;

	for (n = 0; n <= N; n++) {
		struct rb_root root = RB_ROOT_INIT;
		struct rb_node *tail = NULL, **link = &root.node, *p;
		unsigned long next = 0;
		char buf[96];
		int h, min_h = 0;

		for (i = 0; i < n; i++) {
			k[i].key = i;
			rb_link_node(&k[i].node, tail, link);
			tail = &k[i].node;
			link = &tail->right;
		}
		rb_balance_chain(&root, n);
		bad += rb_validate(&root, NULL, buf, sizeof(buf)) != 0;
		h = chain_tree_height(root.node, &next);
		while ((1UL << min_h) <= n)
			min_h++;
		bad += next != n;
		tall += h != min_h;
		/* one more past the last, then the first erased */
		k[n].key = n;
		for (p = root.node; p && p->right; p = p->right)
			;
		rb_link_node(&k[n].node, p, p ? &p->right : &root.node);
		rb_insert_augmented(&k[n].node, &root, NULL);
		if (n)
			rb_erase_augmented(&k[0].node, &root, NULL);
		bad += rb_validate(&root, NULL, buf, sizeof(buf)) != 0;
	}
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(tall, 0);
}

static size_t rb_invalid(const struct rb_root *root)
{
	char buf[96];

	return rb_validate(root, NULL, buf, sizeof(buf)) != 0;
}

static size_t violations_named(struct sim *sim, const char *what)
{
	struct sim_check_report rep = { 0 };
	size_t i, n = 0;

	sim_check(sim, &rep);
	for (i = 0; i < rep.nr; i++)
		n += !strcmp(rep.v[i].what, what);
	sim_check_report_free(&rep);
	return n;
}

/*
 * A child's VMA tree and page table, made by fork as chains balanced at
 * the end, are red-black trees that the next changes keep so (VMAs left
 * out by MADV_DONTFORK, blocks shared by two VMAs and blocks of one); the
 * checker says so, and says when one is not, or when the list of VMAs or
 * of PTE blocks is not its tree in order.
 */
static void forked_vma_tree_and_page_table_are_red_black(void)
{
	struct sim *sim = new_sim(SIM_MODE_NORMAL, false);
	struct vm_area_struct *v;
	struct mm_struct *mm;
	unsigned long i, copied = 0;
	int child, red;

	do_spawn_op(sim);
	for (i = 0; i < 100; i++)
		write_vma(sim, 1, BASE + i * 18 * PAGE_SIZE, 1 + i % 17);
	for (i = 0; i < 100; i += 7)
		range_op(sim, OP_MADVISE, 1, BASE + i * 18 * PAGE_SIZE, 1, NULL,
			 SIM_MADV_DONTFORK);
	for (v = vma_first(sim_find_mm(sim, 1)); v; v = vma_next(v))
		copied += !(v->vm_flags & VM_DONTCOPY);
	child = fork_op(sim, 1);
	mm = sim_find_mm(sim, child);
	EXPECT(copied > 80 && copied < 100);
	EXPECT_EQ(mm->map_count, copied);
	EXPECT_EQ(rb_invalid(&mm->mm_mt), 0);
	EXPECT_EQ(rb_invalid(&mm->pgtable), 0);
	expect_highest_is_last(sim);
	write_vma(sim, child, BASE - 0x100000UL, 40);
	range_op(sim, OP_MUNMAP, child, BASE + 18 * PAGE_SIZE, 36, NULL, 0);
	EXPECT_EQ(rb_invalid(&mm->mm_mt), 0);
	EXPECT_EQ(rb_invalid(&mm->pgtable), 0);
	expect_highest_is_last(sim);
	EXPECT_EQ(checker_violations(sim, true), 0);
	/* a root made red: both trees are checked */
	red = mm->mm_mt.node->red;
	mm->mm_mt.node->red = 1;
	EXPECT_EQ(violations_named(sim, "tree-invalid"), 1);
	mm->mm_mt.node->red = red;
	red = mm->pgtable.node->red;
	mm->pgtable.node->red = 1;
	EXPECT_EQ(violations_named(sim, "tree-invalid"), 1);
	mm->pgtable.node->red = red;
	/* and the VMA list is the tree in order */
	v = mm->mmap->vm_next;
	mm->mmap->vm_next = v->vm_next;
	EXPECT_EQ(violations_named(sim, "tree-invalid"), 1);
	mm->mmap->vm_next = v;
	mm->pt_last->prev->next = NULL;
	EXPECT_EQ(violations_named(sim, "tree-invalid"), 1);
	mm->pt_last->prev->next = mm->pt_last;
	EXPECT_EQ(checker_violations(sim, true), 0);
	exit_op(sim, child);
	exit_op(sim, 1);
	sim_free(sim);
}

/*
 * The radix tree's remembered last leaf: keys beside the last one land in
 * it, across leaves and heights; once the leaf is emptied and freed, a key
 * of its range gets a new one (not the freed memory, which an empty tree
 * would never find).
 */
static void radix_last_leaf_is_forgotten_with_the_leaf(void)
{
	struct radix_tree t = { 0 };
	static int entry[200];
	const struct radix_leaf *freed;
	unsigned long k, wrong = 0;

	for (k = 0; k < 200; k++)
		radix_insert(&t, k, &entry[k]);
	EXPECT_EQ(t.height, 2);
	for (k = 0; k < 200; k++)
		wrong += radix_lookup(&t, k) != &entry[k];
	EXPECT_EQ(wrong, 0);
	/* 192..199 share the last leaf: it goes with the last of them */
	for (k = 192; k < 200; k++)
		EXPECT(radix_erase(&t, k, &freed) == &entry[k]);
	EXPECT(freed != NULL);
	EXPECT(t.last == NULL);
	radix_insert(&t, 195, &entry[0]);
	EXPECT(radix_lookup(&t, 195) == &entry[0]);
	for (k = 0; k < 192; k++)
		radix_erase(&t, k, &freed);
	EXPECT(radix_erase(&t, 195, &freed) == &entry[0]);
	EXPECT(t.root == NULL && t.height == 0 && t.last == NULL);
	radix_insert(&t, 7, &entry[7]);
	EXPECT(radix_lookup(&t, 7) == &entry[7]);
	EXPECT(radix_lookup(&t, 8) == NULL);
	radix_destroy(&t);
}

int main(void)
{
	RUN(a_freed_object_comes_back_zeroed);
	RUN(many_objects_never_overlap);
	RUN(highest_nodes_follow_munmap_exit_and_new_maps);
	RUN(a_chain_of_any_length_balances_into_a_red_black_tree);
	RUN(forked_vma_tree_and_page_table_are_red_black);
	RUN(radix_last_leaf_is_forgotten_with_the_leaf);
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed != 0;
}
