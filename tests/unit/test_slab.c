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

/* Each remembered highest node is its tree's last; the VMAs in order. */
static void expect_highest_is_last(struct sim *sim)
{
	struct rb_node *n = rb_last(&sim->anon_vma_ids);
	struct mm_struct *mm;

	EXPECT(sim->anon_vma_last ==
	       (n ? rb_entry(n, struct anon_vma, by_id) : NULL));
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
	EXPECT(sim->anon_vma_last == NULL);
	EXPECT_EQ(checker_violations(sim, true), 0);
	sim_free(sim);
}

int main(void)
{
	RUN(a_freed_object_comes_back_zeroed);
	RUN(many_objects_never_overlap);
	RUN(highest_nodes_follow_munmap_exit_and_new_maps);
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed != 0;
}
