// SPDX-License-Identifier: MIT
/*
 * test_engine.c - one test per kernel behaviour the engine reproduces, each
 * asserting exact frames, mapcounts, anon_vma ids and counters, VMA
 * boundaries and walk visits.  The invariant checker runs after every op.
 */
#include "simtest.h"

#define A	0x7f0000000000UL
#define B	0x7f0000100000UL
#define C	0x7f0000200000UL
#define P(n)	((unsigned long)(n) * PAGE_SIZE)

static void fork_then_child_write_copies_page(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct anon_vma *av1, *av2;
	struct folio *f;

	mmap_anon(s, p1, A, 1, "rw-", false);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "anonymous");
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	p2 = fork_op(s, p1);
	EXPECT_EQ(p2, 2);
	/* fork shares the page write-protected, no longer exclusive */
	f = folio_at(s, p1, A);
	EXPECT_EQ(f->mapcount, 2);
	EXPECT(!(f->flags & PG_anon_exclusive));
	EXPECT(!pte_at(s, p1, A)->write);
	EXPECT(!pte_at(s, p2, A)->write);
	EXPECT_EQ(touch(s, p2, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_copy");
	EXPECT_EQ(pfn_at(s, p2, A), 2);
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 1);
	f = sim_find_folio(s, 2);
	EXPECT_EQ(f->mapcount, 1);
	EXPECT(f->flags & PG_anon_exclusive);
	/* the copy belongs to the child's own anon_vma */
	av1 = sim_find_anon_vma(s, 1);
	av2 = sim_find_anon_vma(s, 2);
	EXPECT_EQ(f->anon_vma_id, 2);
	EXPECT_EQ(av2->parent->id, 1);
	EXPECT_EQ(av2->root->id, 1);
	EXPECT_EQ(av1->num_children, 2);	/* self link + av2 */
	EXPECT_EQ(av1->num_active_vmas, 1);
	EXPECT_EQ(av1->refcount, 2);		/* own + av2's pin */
	EXPECT_EQ(av2->num_children, 0);
	EXPECT_EQ(av2->num_active_vmas, 1);
	/* the parent's page is now its alone: reused in place */
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_reuse");
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT(sim_find_folio(s, 1)->flags & PG_anon_exclusive);
	EXPECT_EQ(s->nr_frames, 2);
	sim_free(s);
}

static void fork_then_parent_write_after_child_exit_reuses_page(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);
	exit_op(s, p2);
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 1);
	EXPECT(!pte_at(s, p1, A)->write);
	/* the child's anon_vma went with it */
	EXPECT(sim_find_anon_vma(s, 2) == NULL);
	EXPECT_EQ(sim_find_anon_vma(s, 1)->num_children, 1);
	EXPECT_EQ(sim_find_anon_vma(s, 1)->refcount, 1);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_reuse");
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT_EQ(s->nr_frames, 1);
	sim_free(s);
}

static void anon_read_maps_zero_page_then_write_allocates(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct pte *pte;

	mmap_anon(s, p1, A, 1, "rw-", false);
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_STR(last.fault, "zero_page");
	pte = pte_at(s, p1, A);
	EXPECT(pte->present && pte->special && !pte->write);
	EXPECT_EQ(pte_pfn(pte), 0);
	EXPECT_EQ(s->nr_frames, 0);
	/* no anon_vma yet: the zero page needs no rmap */
	EXPECT(vma_at(s, p1, A)->anon_vma == NULL);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_copy");
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT_EQ(vma_at(s, p1, A)->anon_vma->id, 1);
	EXPECT_EQ(folio_at(s, p1, A)->anon_vma_id, 1);
	sim_free(s);
}

static void anon_read_without_zero_page_allocates_private_page(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, true);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 1, "rw-", false);
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_STR(last.fault, "anonymous");
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT(folio_at(s, p1, A)->flags & PG_anon_exclusive);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "hit");
	sim_free(s);
}

static void expect_walk(struct sim *s, unsigned long pfn,
			unsigned long visited, unsigned long mapped,
			unsigned long start_id)
{
	const struct rmap_walk_result *w = sim_rmap_walk(s, pfn);

	EXPECT(w != NULL);
	if (!w)
		return;
	EXPECT_EQ(w->visited, visited);
	EXPECT_EQ(w->mapped, mapped);
	EXPECT_EQ(w->start_id, start_id);
	EXPECT(!w->dangling);
}

static void fork_chain_walks_visit_every_descendant_vma(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2, p3;
	const struct rmap_walk_result *w;

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);			/* pfn 1 in av 1 */
	p2 = fork_op(s, p1);
	touch(s, p2, A, true);			/* pfn 2 in av 2 */
	p3 = fork_op(s, p2);
	touch(s, p3, A, true);			/* pfn 3 in av 3 */
	EXPECT_EQ(pfn_at(s, p2, A), 2);
	EXPECT_EQ(pfn_at(s, p3, A), 3);
	EXPECT_EQ(folio_at(s, p3, A)->anon_vma_id, 3);
	EXPECT_EQ(sim_find_anon_vma(s, 3)->parent->id, 2);
	EXPECT_EQ(sim_find_anon_vma(s, 3)->root->id, 1);
	EXPECT_EQ(sim_find_anon_vma(s, 1)->refcount, 3);
	/* pfn 1's anon_vma is the root: all three VMAs are chained to it */
	expect_walk(s, 1, 3, 1, 1);
	w = sim_rmap_walk(s, 1);
	EXPECT_EQ(w->visits[0].pid, p1);
	EXPECT(w->visits[0].mapped);
	EXPECT_EQ(w->visits[1].pid, p2);
	EXPECT(!w->visits[1].mapped);
	EXPECT_EQ(w->visits[2].pid, p3);
	EXPECT_EQ(w->visits[2].address, A);
	/* pfn 2 lives in av 2: p2 and its child p3 only */
	expect_walk(s, 2, 2, 1, 2);
	w = sim_rmap_walk(s, 2);
	EXPECT_EQ(w->visits[0].pid, p2);
	EXPECT(w->visits[0].mapped);
	EXPECT_EQ(w->visits[1].pid, p3);
	EXPECT(!w->visits[1].mapped);
	/* pfn 3 lives in av 3, to which only p3's VMA is chained */
	expect_walk(s, 3, 1, 1, 3);
	w = sim_rmap_walk(s, 3);
	EXPECT_EQ(w->visits[0].pid, p3);
	EXPECT_EQ(w->visits[0].address, A);
	EXPECT(w->visits[0].mapped);
	sim_free(s);
}

static void anon_vma_reused_after_middle_process_exits(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2, p3, p4;
	struct anon_vma *av2;

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);			/* av 2 */
	p3 = fork_op(s, p2);			/* av 3, child of av 2 */
	exit_op(s, p2);
	av2 = sim_find_anon_vma(s, 2);
	EXPECT(av2 != NULL);			/* p3 still chains to it */
	EXPECT_EQ(av2->num_active_vmas, 0);
	EXPECT_EQ(av2->num_children, 1);
	p4 = fork_op(s, p3);
	/* no VMA uses av 2 and it has one child: p4 reuses it */
	EXPECT_EQ(vma_at(s, p4, A)->anon_vma->id, 2);
	EXPECT_EQ(av2->num_active_vmas, 1);
	EXPECT_EQ(s->nr_anon_vmas, 3);
	EXPECT_EQ(s->next_anon_vma_id, 4);
	/* p4's chain: av 3, av 2, av 1 as p3's */
	{
		struct vm_area_struct *v = vma_at(s, p4, A);
		struct anon_vma_chain *avc;
		unsigned long ids[3] = { 0 }, i = 0;

		list_for_each_entry(avc, &v->anon_vma_chain, same_vma)
			if (i < 3)
				ids[i++] = avc->anon_vma->id;
		EXPECT_EQ(i, 3);
		EXPECT_EQ(ids[0], 3);
		EXPECT_EQ(ids[1], 2);
		EXPECT_EQ(ids[2], 1);
	}
	/* a write in p4 lands in the reused av 2 */
	touch(s, p4, A, true);
	EXPECT_EQ(folio_at(s, p4, A)->anon_vma_id, 2);
	sim_free(s);
}

static void munmap_middle_after_fork_splits_and_walks_find_both_halves(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct vm_area_struct *lo, *hi;
	unsigned long pg = A >> PAGE_SHIFT;
	const struct rmap_walk_result *w;

	mmap_anon(s, p1, A, 3, "rw-", false);
	touch(s, p1, A, true);
	touch(s, p1, A + P(1), true);
	touch(s, p1, A + P(2), true);
	p2 = fork_op(s, p1);
	EXPECT_EQ(p2, 2);
	EXPECT_EQ(range_op(s, OP_MUNMAP, p1, A + P(1), 1, NULL, 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	lo = vma_at(s, p1, A);
	hi = vma_at(s, p1, A + P(2));
	EXPECT(vma_at(s, p1, A + P(1)) == NULL);
	/* __split_vma: new VMAs for the kept pieces, the original unmapped */
	EXPECT_EQ(lo->id, 3);
	EXPECT_EQ(hi->id, 4);
	EXPECT_EQ(lo->vm_end, A + P(1));
	EXPECT_EQ(hi->vm_start, A + P(2));
	EXPECT_EQ(lo->vm_pgoff, pg);
	EXPECT_EQ(hi->vm_pgoff, pg + 2);
	EXPECT_EQ(lo->anon_vma->id, 1);
	EXPECT_EQ(hi->anon_vma->id, 1);
	EXPECT_EQ(sim_find_anon_vma(s, 1)->num_active_vmas, 2);
	/* anon_vma_clone gave each half its own chain to av 1 */
	EXPECT(list_is_singular(&lo->anon_vma_chain));
	EXPECT(list_is_singular(&hi->anon_vma_chain));
	EXPECT(list_entry(lo->anon_vma_chain.next, struct anon_vma_chain,
				same_vma)->anon_vma->id == 1);
	EXPECT(list_entry(hi->anon_vma_chain.next, struct anon_vma_chain,
				same_vma) !=
	       list_entry(lo->anon_vma_chain.next, struct anon_vma_chain,
				same_vma));
	EXPECT_EQ(s->nr_avcs, 4);		/* p1: lo, hi; p2: its VMA on av 1, av 2 */
	EXPECT_EQ(sim_find_folio(s, 2)->mapcount, 1);
	expect_walk(s, 1, 2, 2, 1);
	w = sim_rmap_walk(s, 1);
	EXPECT_EQ(w->visits[0].vma_id, 2);	/* p2's VMA, avc 2 */
	EXPECT_EQ(w->visits[1].vma_id, 3);
	expect_walk(s, 2, 1, 1, 1);
	expect_walk(s, 3, 2, 2, 1);
	w = sim_rmap_walk(s, 3);
	EXPECT_EQ(w->visits[1].vma_id, 4);
	EXPECT_EQ(w->visits[1].address, A + P(2));
	sim_free(s);
}

static void mprotect_split_then_restore_merges_back(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct vm_area_struct *v;

	mmap_anon(s, p1, A, 3, "rw-", false);
	touch(s, p1, A + P(1), true);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(1), 1, "r--", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 3);
	v = vma_at(s, p1, A + P(1));
	EXPECT_EQ(v->id, 1);			/* the original keeps the middle */
	EXPECT_EQ(v->vm_flags & (VM_READ | VM_WRITE), VM_READ);
	EXPECT(!pte_at(s, p1, A + P(1))->write);
	EXPECT_EQ(vma_at(s, p1, A)->id, 2);
	EXPECT_EQ(vma_at(s, p1, A + P(2))->id, 3);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(1), 1, "rw-", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	v = vma_at(s, p1, A);
	EXPECT_EQ(v->id, 2);			/* prev absorbs middle and next */
	EXPECT_EQ(v->vm_start, A);
	EXPECT_EQ(v->vm_end, A + P(3));
	EXPECT_EQ(v->anon_vma->id, 1);
	/* an exclusive page becomes writable again without a fault */
	EXPECT(pte_at(s, p1, A + P(1))->write);
	EXPECT_EQ(sim_find_anon_vma(s, 1)->num_active_vmas, 1);
	sim_free(s);
}

static void forked_vma_does_not_merge_with_new_neighbour(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);
	/* in the parent, a neighbour merges: the chain is singular */
	mmap_anon(s, p1, A + P(1), 1, "rw-", false);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	/* in the child, the cloned VMA has uncowed parents: no merge */
	mmap_anon(s, p2, A + P(1), 1, "rw-", false);
	EXPECT_EQ(sim_find_mm(s, p2)->map_count, 2);
	touch(s, p2, A + P(1), true);
	EXPECT(vma_at(s, p2, A + P(1))->anon_vma !=
	       vma_at(s, p2, A)->anon_vma);
	/* different anon_vmas: protection round trips cannot merge them */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p2, A, 2, "r--", 0), 0);
	EXPECT_EQ(vma_at(s, p2, A)->vm_flags & VM_WRITE, 0);
	EXPECT_EQ(vma_at(s, p2, A + P(1))->vm_flags & VM_WRITE, 0);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p2, A, 2, "rw-", 0), 0);
	EXPECT(vma_at(s, p2, A + P(1))->vm_flags & VM_WRITE);
	EXPECT_EQ(sim_find_mm(s, p2)->map_count, 2);
	EXPECT_EQ(vma_at(s, p2, A)->vm_end, A + P(1));
	/* the parent's pair, sharing one anon_vma, does merge back */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(1), 1, "r--", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(1), 1, "rw-", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	sim_free(s);
}

static void mremap_move_keeps_frames_and_pgoff(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(2), .new_len = P(2), .new_addr = B,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };
	struct vm_area_struct *v;

	mmap_anon(s, p1, A, 2, "rw-", false);
	touch(s, p1, A, true);
	touch(s, p1, A + P(1), true);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, B);
	EXPECT(vma_at(s, p1, A) == NULL);
	v = vma_at(s, p1, B);
	EXPECT_EQ(v->vm_pgoff, A >> PAGE_SHIFT);
	EXPECT_EQ(v->anon_vma->id, 1);
	EXPECT_EQ(pfn_at(s, p1, B), 1);
	EXPECT_EQ(pfn_at(s, p1, B + P(1)), 2);
	EXPECT_EQ(folio_at(s, p1, B)->index, A >> PAGE_SHIFT);
	expect_walk(s, 1, 1, 1, 1);
	EXPECT_EQ(sim_rmap_walk(s, 2)->visits[0].address, B + P(1));
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	EXPECT_EQ(s->nr_frames, 2);
	sim_free(s);
}

/*
 * Linux 6.17+: MREMAP_FIXED without a resize moves every VMA in the range,
 * keeping the gaps between them; the range must start inside a VMA.
 */
static void mremap_fixed_moves_several_vmas_keeping_gaps(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(5), .new_len = P(5), .new_addr = B,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };
	struct vm_area_struct *v;

	mmap_anon(s, p1, A, 2, "rw-", false);
	mmap_anon(s, p1, A + P(3), 2, "r--", false);
	touch(s, p1, A + P(1), true);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, B);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	EXPECT(vma_at(s, p1, A) == NULL);
	v = vma_at(s, p1, B);
	EXPECT_EQ(v->vm_start, B);
	EXPECT_EQ(v->vm_end, B + P(2));
	EXPECT_EQ(v->vm_pgoff, A >> PAGE_SHIFT);
	EXPECT(vma_at(s, p1, B + P(2)) == NULL);
	v = vma_at(s, p1, B + P(3));
	EXPECT_EQ(v->vm_start, B + P(3));
	EXPECT_EQ(v->vm_end, B + P(5));
	EXPECT_EQ(pfn_at(s, p1, B + P(1)), 1);
	EXPECT_EQ(sim_rmap_walk(s, 1)->visits[0].address, B + P(1));

	/* a range that begins in a hole moves nothing */
	op.addr = B + P(2);
	op.old_len = op.new_len = P(2);
	op.new_addr = C;
	EXPECT_EQ(apply(s, &op), SIM_EFAULT);
	EXPECT_EQ(vma_at(s, p1, B + P(3))->vm_start, B + P(3));
	EXPECT(vma_at(s, p1, C) == NULL);
	sim_free(s);
}

/* a private file VMA moves along with an anonymous one */
static void mremap_fixed_moves_file_and_anon_vmas_together(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(4), .new_len = P(4), .new_addr = B,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };
	struct vm_area_struct *v;

	new_file(s, "f", 4);
	mmap_anon(s, p1, A, 2, "rw-", false);
	mmap_file(s, p1, A + P(2), 2, "r--", false, "f", 1);
	touch(s, p1, A + P(2), false);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT(vma_at(s, p1, A + P(2)) == NULL);
	v = vma_at(s, p1, B + P(2));
	EXPECT_EQ(v->vm_start, B + P(2));
	EXPECT_EQ(v->vm_pgoff, 1);
	EXPECT(v->vm_file != NULL);
	EXPECT_EQ(folio_at(s, p1, B + P(2))->index, 1);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	sim_free(s);
}

static void mremap_of_unfaulted_anon_takes_new_pgoff(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(1), .new_len = P(1), .new_addr = B,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };

	mmap_anon(s, p1, A, 1, "rw-", false);
	apply(s, &op);
	EXPECT_EQ(vma_at(s, p1, B)->vm_pgoff, B >> PAGE_SHIFT);
	sim_free(s);
}

static void mremap_of_unfaulted_vma_next_to_itself_merges_with_it(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A + P(2),
			     .old_len = P(1), .new_len = P(1),
			     .new_addr = A + P(1),
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };

	mmap_anon(s, p1, A, 4, "r--", false);
	/* the hole left at A+1 is filled by the page moved from A+2 */
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(2));
	EXPECT(vma_at(s, p1, A + P(2)) == NULL);
	EXPECT_EQ(vma_at(s, p1, A + P(3))->vm_start, A + P(3));
	sim_free(s);
}

static void shared_anon_across_fork_is_one_frame(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct folio *f;

	mmap_anon(s, p1, A, 1, "rw-", true);
	touch(s, p1, A, true);
	f = folio_at(s, p1, A);
	EXPECT(f && !folio_test_anon(f) && f->mapping->shmem);
	p2 = fork_op(s, p1);
	/* no anon_vma: fork leaves the PTE to be faulted */
	EXPECT(pte_at(s, p2, A) == NULL);
	EXPECT_EQ(touch(s, p2, A, true), 0);
	EXPECT_STR(last.fault, "file_shared");
	EXPECT_EQ(pfn_at(s, p2, A), pfn_at(s, p1, A));
	EXPECT_EQ(f->mapcount, 2);
	EXPECT_EQ(s->nr_frames, 1);
	EXPECT_EQ(s->nr_anon_vmas, 0);
	expect_walk(s, f->pfn, 2, 2, f->mapping->id);
	sim_free(s);
}

static void file_shared_in_three_processes_has_one_frame(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p[3], i;
	unsigned long pfn;

	new_file(s, "lib", 4);			/* pfns 1-4 in the cache */
	for (i = 0; i < 3; i++) {
		p[i] = do_spawn_op(s);
		mmap_file(s, p[i], A + P(16 * i), 4, "r--", true, "lib", 0);
	}
	touch(s, p[0], A, false);
	pfn = pfn_at(s, p[0], A);
	EXPECT_EQ(pfn, 1);
	/* fault-around mapped the other cached pages too */
	EXPECT_EQ(pfn_at(s, p[0], A + P(3)), 4);
	touch(s, p[1], A + P(16), false);
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 2);
	touch(s, p[2], A + P(32), false);
	EXPECT_EQ(pfn_at(s, p[2], A + P(32)), 1);
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 3);
	EXPECT_EQ(s->nr_frames, 4);
	expect_walk(s, 1, 3, 3, 1);
	sim_free(s);
}

static void file_private_write_copies_into_anon(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct folio *f;

	new_file(s, "data", 2);
	mmap_file(s, p1, A, 2, "rw-", false, "data", 0);
	touch(s, p1, A, false);
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	EXPECT(!pte_at(s, p1, A)->write);	/* read-only until COW */
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_copy");
	f = folio_at(s, p1, A);
	EXPECT_EQ(f->pfn, 3);
	EXPECT(folio_test_anon(f));
	EXPECT_EQ(f->index, 0);			/* linear index: the file pgoff */
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 0);
	/* the page-cache page is still walked through i_mmap, unmapped */
	expect_walk(s, 1, 1, 0, 1);
	/* page 1, mapped read-only by fault-around, is COWed the same way */
	EXPECT_EQ(touch(s, p1, A + P(1), true), 0);
	EXPECT_STR(last.fault, "wp_page_copy");
	sim_free(s);
}

static void file_private_write_fault_is_cow_fault(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	new_file(s, "data", 1);
	mmap_file(s, p1, A, 1, "rw-", false, "data", 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "file_cow");
	EXPECT_EQ(pfn_at(s, p1, A), 2);
	EXPECT_EQ(sim_find_folio(s, 1)->mapcount, 0);
	sim_free(s);
}

static void dontfork_and_wipeonfork(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;

	mmap_anon(s, p1, A, 1, "rw-", false);
	mmap_anon(s, p1, B, 1, "rw-", false);
	touch(s, p1, A, true);
	touch(s, p1, B, true);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 1, NULL, SIM_MADV_DONTFORK), 0);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, B, 1, NULL, SIM_MADV_WIPEONFORK), 0);
	p2 = fork_op(s, p1);
	EXPECT(vma_at(s, p2, A) == NULL);
	EXPECT(vma_at(s, p2, B) != NULL);
	EXPECT(vma_at(s, p2, B)->anon_vma == NULL);
	EXPECT(pte_at(s, p2, B) == NULL);
	EXPECT_EQ(folio_at(s, p1, B)->mapcount, 1);
	EXPECT(folio_at(s, p1, B)->flags & PG_anon_exclusive);
	EXPECT(pte_at(s, p1, B)->write);
	EXPECT_EQ(touch(s, p2, B, false), 0);
	EXPECT_STR(last.fault, "zero_page");
	EXPECT_EQ(touch(s, p2, A, false), SIM_SIGSEGV);
	/* wipeonfork is for private anonymous memory only */
	new_file(s, "f", 1);
	mmap_file(s, p1, A + P(8), 1, "r--", false, "f", 0);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A + P(8), 1, NULL,
			   SIM_MADV_WIPEONFORK), SIM_EINVAL);
	/* keeponfork and dofork undo them */
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, B, 1, NULL, SIM_MADV_KEEPONFORK), 0);
	EXPECT(!(vma_at(s, p1, B)->vm_flags & VM_WIPEONFORK));
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 1, NULL, SIM_MADV_DOFORK), 0);
	EXPECT(!(vma_at(s, p1, A)->vm_flags & VM_DONTCOPY));
	p2 = fork_op(s, p1);
	EXPECT(vma_at(s, p2, A) != NULL);
	EXPECT_EQ(pfn_at(s, p2, A), pfn_at(s, p1, A));	/* shared for COW */
	EXPECT_EQ(pfn_at(s, p2, B), pfn_at(s, p1, B));
	EXPECT_EQ(folio_at(s, p1, A)->mapcount, 2);
	/* DONTFORK on part of a VMA splits it; DOFORK merges it back */
	mmap_anon(s, p1, C, 3, "rw-", false);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, C + P(1), 1, NULL,
			   SIM_MADV_DONTFORK), 0);
	EXPECT_EQ(vma_at(s, p1, C)->vm_end, C + P(1));
	EXPECT(vma_at(s, p1, C + P(1))->vm_flags & VM_DONTCOPY);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, C + P(1), 1, NULL,
			   SIM_MADV_DOFORK), 0);
	EXPECT_EQ(vma_at(s, p1, C)->vm_end, C + P(3));
	sim_free(s);
}

static void try_to_unmap_then_swap_in(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct sim_op op = { .kind = OP_TRY_TO_UNMAP, .pfn = 1 };
	struct pte *pte;
	struct folio *f;

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.walk->visited, 2);
	EXPECT_EQ(last.walk->mapped, 2);
	EXPECT(sim_find_folio(s, 1) == NULL);
	pte = pte_at(s, p1, A);
	EXPECT(!pte->present && pte_swap(pte) == 1);
	EXPECT_EQ(swap_slot_find_count(s, 1), 2);
	EXPECT_EQ(sim_find_mm(s, p1)->swapents, 1);
	/* the child swaps it in: shared, so mapped through the root */
	EXPECT_EQ(touch(s, p2, A, false), 0);
	EXPECT_STR(last.fault, "swap_in");
	f = folio_at(s, p2, A);
	EXPECT_EQ(f->pfn, 2);
	EXPECT_EQ(f->anon_vma_id, 1);
	EXPECT(f->flags & PG_swapcache);
	EXPECT(!(f->flags & PG_anon_exclusive));
	/* the parent finds it in the swap cache */
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_EQ(pfn_at(s, p1, A), 2);
	EXPECT_EQ(f->mapcount, 2);
	/*
	 * the last swap user, on a read fault: should_try_to_free_swap says
	 * no, so the swap cache keeps the folio and the slot (count 0)
	 */
	EXPECT(f->flags & PG_swapcache);
	EXPECT_EQ(swap_slot_find_count(s, 1), 0);
	EXPECT(swap_slot_at(s, 1) && swap_slot_at(s, 1)->cache_pfn == 2);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_copy");
	sim_free(s);
}

static void swap_in_of_exclusive_page_is_writable(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_TRY_TO_UNMAP, .pfn = 1 };

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	apply(s, &op);
	EXPECT(pte_at(s, p1, A)->swp_exclusive);
	touch(s, p1, A, false);
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT(folio_at(s, p1, A)->flags & PG_anon_exclusive);
	EXPECT_EQ(folio_at(s, p1, A)->anon_vma_id, 1);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "hit");
	sim_free(s);
}

static void walk_of_file_mapped_by_1000_vmas_visits_only_covering_ones(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), i;
	const struct rmap_walk_result *w;
	struct folio *f;

	new_file(s, "big", 1100);
	/* VMA i maps file pages [i, i+3], 8 pages apart: none merge */
	for (i = 0; i < 1000; i++)
		mmap_file(s, p1, A + P(8 * i), 4, "r--", true, "big",
			  (unsigned long)i);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1000);
	/* read page 500 through VMA 498 (its third page) */
	touch(s, p1, A + P(8 * 498 + 2), false);
	f = s->files.next == &s->files ? NULL :
	    list_entry(s->files.next, struct address_space, node)->pages[500];
	EXPECT(f != NULL);
	if (!f)
		goto out;
	w = sim_rmap_walk(s, f->pfn);
	/* VMAs 497..500 cover index 500 */
	EXPECT_EQ(w->visited, 4);
	EXPECT_EQ(w->mapped, 1);
	EXPECT_EQ(w->visits[1].address, A + P(8 * 498 + 2));
	EXPECT(w->visits[1].mapped);
	/* an O(log n + k) query, not a scan of 1000 nodes */
	EXPECT(w->tree_probes < 64);
	/* every node examined is recorded; the matches are the visits */
	EXPECT_EQ(w->nr_probes, w->tree_probes);
	{
		size_t k, hits = 0;

		for (k = 0; k < w->nr_probes; k++) {
			const struct rmap_probe *p = &w->probes[k];
			bool covers = p->start <= 500 && p->last >= 500;

			EXPECT(p->subtree_last >= p->last);
			if (p->step == ITREE_MATCH) {
				EXPECT(covers);
				if (hits < w->nr_visits)
					EXPECT_EQ(p->vma_id,
						  w->visits[hits++].vma_id);
			}
			/* a node that holds the index is never passed by */
			if (p->step == ITREE_PASS || p->step == ITREE_RIGHT)
				EXPECT(!covers);
		}
		EXPECT_EQ(hits, 4);
		/* the descent starts at the root, which covers the whole file */
		EXPECT_EQ(w->probes[0].vma_id,
			  container_of(f->mapping->i_mmap.rb.node,
				       struct vm_area_struct, shared.rb)->id);
		EXPECT_EQ(w->probes[0].subtree_last, 1002);
		EXPECT_EQ(w->probes[w->nr_probes - 1].step, ITREE_STOP);
	}
	printf("     walk of index 500: visited %lu, mapped %lu, "
	       "tree nodes examined %lu of 1000\n",
	       w->visited, w->mapped, w->tree_probes);
out:
	sim_free(s);
}


static void mmap_without_addr_is_placed_top_down(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MMAP, .pid = p1, .len = P(4),
			     .prot = PROT_READ | PROT_WRITE,
			     .flags = MAP_PRIVATE | MAP_ANONYMOUS };
	unsigned long first;

	EXPECT_EQ(apply(s, &op), 0);
	first = last.value;
	EXPECT_EQ(first, SIM_MMAP_BASE - P(4));
	op.prot = PROT_READ;	/* different flags: no merge */
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, first - P(4));
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	sim_free(s);
}

static void brk_grows_and_shrinks_the_heap(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	struct sim_op op = { .kind = OP_SPAWN, .layout = SPAWN_PROCESS };
	struct mm_struct *mm;
	unsigned long start;

	apply(s, &op);
	mm = sim_find_mm(s, 1);
	EXPECT_EQ(mm->map_count, 4);	/* text, data, bss, stack */
	start = mm->start_brk;
	op = (struct sim_op){ .kind = OP_BRK, .pid = 1, .addr = start + P(3) };
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, start + P(3));
	/*
	 * brk looks for the heap with vma_prev_limit(start_brk): the bss
	 * below start_brk never grows, so the heap is a VMA of its own even
	 * where it could merge with the bss (same flags, contiguous pgoff)
	 */
	EXPECT_EQ(mm->map_count, 5);
	EXPECT_EQ(vma_at(s, 1, start)->vm_start, start);
	EXPECT_EQ(vma_at(s, 1, start)->vm_end, start + P(3));
	EXPECT_EQ(vma_at(s, 1, start - 1)->vm_end, start);
	EXPECT_EQ(touch(s, 1, start + P(2), true), 0);
	/* growing again extends the heap VMA */
	op.addr = start + P(4);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(mm->map_count, 5);
	EXPECT_EQ(vma_at(s, 1, start)->vm_end, start + P(4));
	op.addr = start + P(1);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(vma_at(s, 1, start)->vm_end, start + P(1));
	EXPECT_EQ(vma_at(s, 1, start - 1)->vm_end, start);
	EXPECT_EQ(touch(s, 1, start + P(2), true), SIM_SIGSEGV);
	/* below start_brk: nothing changes, the current break is returned */
	op.addr = start - P(8);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, start + P(1));
	sim_free(s);
}

/* mprotect_fixup: read-only again, an unfaulted anonymous VMA is uncharged */
static void mprotect_readonly_uncharges_unfaulted_anon_so_it_merges(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 2, "rw-", false);
	EXPECT(vma_at(s, p1, A)->vm_flags & VM_ACCOUNT);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "r--", 0), 0);
	EXPECT(!(vma_at(s, p1, A)->vm_flags & VM_ACCOUNT));
	/* so a read-only neighbour (never charged) merges with it */
	mmap_anon(s, p1, A + P(2), 2, "r--", false);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(4));
	/* with a page of its own (an anon_vma) the charge stays */
	mmap_anon(s, p1, B, 1, "rw-", false);
	touch(s, p1, B, true);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, B, 1, "r--", 0), 0);
	EXPECT(vma_at(s, p1, B)->vm_flags & VM_ACCOUNT);
	sim_free(s);
}

/*
 * No write notify for shmem: a read fault maps a writable (clean) PTE, so
 * the first write takes no fault; a regular shared file's PTE stays
 * read-only until wp_page_shared.
 */
static void shared_shmem_ptes_are_writable_from_a_read_fault(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 2, "rw-", true);
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT(!pte_at(s, p1, A)->dirty);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_STR(last.fault, "hit");
	EXPECT(pte_at(s, p1, A)->dirty);
	/* read-only, then writable again: every PTE becomes writable */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "r--", 0), 0);
	EXPECT(!pte_at(s, p1, A)->write);
	touch(s, p1, A + P(1), false);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "rw-", 0), 0);
	EXPECT(pte_at(s, p1, A + P(1))->write);
	/* a regular file shared writable: read-only until the write fault */
	new_file(s, "f", 2);
	mmap_file(s, p1, B, 2, "rw-", true, "f", 0);
	EXPECT_EQ(touch(s, p1, B, false), 0);
	EXPECT(!pte_at(s, p1, B)->write);
	EXPECT_EQ(touch(s, p1, B, true), 0);
	EXPECT_STR(last.fault, "wp_page_shared");
	sim_free(s);
}

/* MREMAP_DONTUNMAP works on shared mappings too (Linux 5.13+) */
static void mremap_dontunmap_moves_a_shared_mapping(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(2), .new_len = P(2), .new_addr = B,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED |
				      MREMAP_DONTUNMAP };
	unsigned long pfn;

	mmap_anon(s, p1, A, 2, "rw-", true);
	touch(s, p1, A, true);
	pfn = pfn_at(s, p1, A);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	EXPECT_EQ(pfn_at(s, p1, B), pfn);
	EXPECT(pte_at(s, p1, A) == NULL);
	/* the old range faults the same shmem page back in */
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_EQ(pfn_at(s, p1, A), pfn);
	EXPECT_EQ(sim_find_folio(s, pfn)->mapcount, 2);
	sim_free(s);
}

static void madvise_dontneed_drops_pages_and_read_refaults(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, true);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 2, "rw-", false);
	touch(s, p1, A, true);
	touch(s, p1, A + P(1), true);
	EXPECT_EQ(s->nr_frames, 2);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 2, NULL, SIM_MADV_DONTNEED), 0);
	EXPECT_EQ(s->nr_frames, 0);
	EXPECT(pte_at(s, p1, A) == NULL);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_STR(last.fault, "anonymous");
	EXPECT_EQ(pfn_at(s, p1, A), 3);
	sim_free(s);
}

static void madvise_pageout_reclaims_only_unshared_pages(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 2, "rw-", false);
	touch(s, p1, A, true);
	fork_op(s, p1);
	touch(s, p1, A + P(1), true);	/* after fork: p1's alone */
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 2, NULL, SIM_MADV_PAGEOUT), 0);
	EXPECT(pte_at(s, p1, A)->present);		/* shared: kept */
	EXPECT(!pte_at(s, p1, A + P(1))->present);	/* swapped out */
	EXPECT(pte_swap(pte_at(s, p1, A + P(1))) != 0);
	EXPECT_EQ(sim_find_mm(s, p1)->swapents, 1);
	sim_free(s);
}

static void folio_referenced_counts_and_clears_young_ptes(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct sim_op op = { .kind = OP_FOLIO_REFERENCED, .pfn = 1 };

	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);
	/* the parent's PTE is young, the child's copy starts old */
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.referenced, 1);
	EXPECT_EQ(last.walk->mapped, 2);
	EXPECT(!pte_at(s, p1, A)->young);
	touch(s, p2, A, false);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.referenced, 1);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.referenced, 0);
	sim_free(s);
}

static void mremap_grows_in_place_and_shrinks(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(2), .new_len = P(4) };

	mmap_anon(s, p1, A, 2, "rw-", false);
	touch(s, p1, A, true);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(last.value, A);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(4));
	EXPECT_EQ(pfn_at(s, p1, A), 1);
	op.old_len = P(4);
	op.new_len = P(1);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(1));
	/* growing into a mapping without MREMAP_MAYMOVE fails */
	mmap_anon(s, p1, A + P(1), 1, "r--", false);
	op.old_len = P(1);
	op.new_len = P(2);
	EXPECT_EQ(apply(s, &op), SIM_ENOMEM);
	op.flags = MREMAP_MAYMOVE;
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT(last.value != A);
	EXPECT_EQ(pfn_at(s, p1, last.value), 1);
	sim_free(s);
}

static void refusals_change_nothing(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	struct sim_op op = { .kind = OP_ACCESS, .pid = 7, .addr = A };
	struct sim_result res;

	EXPECT_EQ(sim_apply(s, &op, &res), SIM_REJECT_NO_PID);
	EXPECT_STR(sim_reject_field(s), "pid");
	EXPECT_EQ(s->nr_ops, 0);
	op = (struct sim_op){ .kind = OP_MMAP, .pid = do_spawn_op(s),
			      .len = P(1), .flags = MAP_PRIVATE };
	snprintf(op.name, sizeof(op.name), "missing");
	EXPECT_EQ(sim_apply(s, &op, &res), SIM_REJECT_NO_FILE);
	EXPECT_EQ(s->nr_ops, 1);
	sim_free(s);
}

/*
 * The process layout's program file is a file of the session: at the file
 * limit, a spawn that would make it is refused and changes nothing, one
 * that finds it made is not (a session past the limit would not reload).
 */
static void process_layout_counts_its_program_file(void)
{
	struct sim_config cfg = { 0 };
	struct sim_op spawn = { .kind = OP_SPAWN, .layout = SPAWN_PROCESS };
	struct sim_op file = { .kind = OP_FILE, .pages = 1 };
	struct sim_result res;
	struct sim *s;

	cfg.limits.max_files = 2;
	s = sim_new(&cfg);
	snprintf(file.name, sizeof(file.name), "a");
	EXPECT_EQ(apply(s, &file), 0);
	snprintf(file.name, sizeof(file.name), "b");
	EXPECT_EQ(apply(s, &file), 0);
	EXPECT_EQ(sim_apply(s, &spawn, &res), SIM_REJECT_LIMIT);
	EXPECT(strstr(sim_reject_reason(s), "file limit (2)") != NULL);
	EXPECT_EQ(s->nr_files, 2);
	EXPECT_EQ(s->nr_mms, 0);
	EXPECT_EQ(s->nr_ops, 2);
	sim_free(s);

	cfg.limits.max_files = 2;
	s = sim_new(&cfg);
	snprintf(file.name, sizeof(file.name), "a");
	EXPECT_EQ(apply(s, &file), 0);
	EXPECT_EQ(apply(s, &spawn), 0);
	EXPECT(sim_find_file(s, SIM_PROG_NAME) != NULL);
	EXPECT_EQ(s->nr_files, 2);
	/* the program file is there: the second process only maps it */
	EXPECT_EQ(apply(s, &spawn), 0);
	EXPECT_EQ(s->nr_files, 2);
	EXPECT_EQ(s->nr_mms, 2);
	sim_free(s);
}

/*
 * A write to a page swapped out of two processes reads it in and copies
 * it: two frames.  One short of them, the write is refused and changes
 * nothing (taken, the session held more frames than its dump may load);
 * a read, one frame, is taken.
 */
static void swapped_write_needs_two_frames(void)
{
	struct sim_config cfg = { 0 };
	struct sim_op unmap = { .kind = OP_TRY_TO_UNMAP, .pfn = 1 };
	struct sim_op file = { .kind = OP_FILE, .pages = 3 };
	struct sim_op write = { .kind = OP_ACCESS, .addr = A, .write = true };
	struct sim_result res;
	struct sim *s;
	int p1, p2;

	cfg.limits.max_frames = 4;
	s = sim_new(&cfg);
	p1 = do_spawn_op(s);
	mmap_anon(s, p1, A, 1, "rw-", false);
	touch(s, p1, A, true);
	p2 = fork_op(s, p1);
	EXPECT_EQ(apply(s, &unmap), 0);
	snprintf(file.name, sizeof(file.name), "f");
	EXPECT_EQ(apply(s, &file), 0);
	EXPECT_EQ(s->nr_frames, 3);
	write.pid = p2;
	EXPECT_EQ(sim_apply(s, &write, &res), SIM_REJECT_LIMIT);
	EXPECT(strstr(sim_reject_reason(s), "frame limit (4)") != NULL);
	EXPECT_EQ(s->nr_frames, 3);
	EXPECT(pte_swap(pte_at(s, p2, A)) == 1);
	EXPECT_EQ(touch(s, p2, A, false), 0);
	EXPECT_STR(last.fault, "swap_in");
	EXPECT_EQ(s->nr_frames, 4);
	sim_free(s);
}

static void kernel_errors_are_outcomes(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	mmap_anon(s, p1, A, 2, "r--", false);
	EXPECT_EQ(range_op(s, OP_MUNMAP, p1, A + 1, 1, NULL, 0), SIM_EINVAL);
	EXPECT_EQ(touch(s, p1, A, true), SIM_SIGSEGV);
	EXPECT_EQ(touch(s, p1, B, false), SIM_SIGSEGV);
	/* a hole stops mprotect with ENOMEM, after changing what came before */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 4, "rw-", 0), SIM_ENOMEM);
	EXPECT(vma_at(s, p1, A)->vm_flags & VM_WRITE);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(s->nr_ops, 7);
	sim_free(s);
}

/* The PTE masks fork's copy uses name the bits the readers see. */
static void pte_masks_name_the_bit_fields(void)
{
	const uint64_t mask[] = { PTE_PRESENT, PTE_WRITE, PTE_DIRTY,
				  PTE_YOUNG, PTE_SPECIAL, PTE_SWP_EXCLUSIVE };
	struct pte pte[6], val = { .word = 0 };
	size_t i;

	memset(pte, 0, sizeof(pte));
	pte[0].present = true;
	pte[1].write = true;
	pte[2].dirty = true;
	pte[3].young = true;
	pte[4].special = true;
	pte[5].swp_exclusive = true;
	for (i = 0; i < 6; i++)
		EXPECT(pte[i].word == mask[i]);
	pte_set_val(&val, (1UL << 56) - 1);
	EXPECT(val.word == PTE_VAL_MASK);
	EXPECT_EQ(pte_val(&val), (1UL << 56) - 1);
}

/* fork's mapcount++ is an add of FOLIO_MAPCOUNT_ONE to the index's word. */
static void folio_mapcount_unit_is_the_bit_field(void)
{
	struct folio f;

	memset(&f, 0, sizeof(f));
	f.index = (1UL << FOLIO_INDEX_BITS) - 1;
	f.mapcount = 6;
	f.index_mapcount += FOLIO_MAPCOUNT_ONE;
	EXPECT_EQ(f.mapcount, 7);
	EXPECT_EQ(f.index, (1UL << FOLIO_INDEX_BITS) - 1);
	f.mapcount = -1;
	f.index_mapcount += FOLIO_MAPCOUNT_ONE;
	EXPECT_EQ(f.mapcount, 0);
	EXPECT_EQ(f.index, (1UL << FOLIO_INDEX_BITS) - 1);
}

int main(void)
{
	RUN(pte_masks_name_the_bit_fields);
	RUN(folio_mapcount_unit_is_the_bit_field);
	RUN(fork_then_child_write_copies_page);
	RUN(fork_then_parent_write_after_child_exit_reuses_page);
	RUN(anon_read_maps_zero_page_then_write_allocates);
	RUN(anon_read_without_zero_page_allocates_private_page);
	RUN(fork_chain_walks_visit_every_descendant_vma);
	RUN(anon_vma_reused_after_middle_process_exits);
	RUN(munmap_middle_after_fork_splits_and_walks_find_both_halves);
	RUN(mprotect_split_then_restore_merges_back);
	RUN(forked_vma_does_not_merge_with_new_neighbour);
	RUN(mremap_move_keeps_frames_and_pgoff);
	RUN(mremap_fixed_moves_several_vmas_keeping_gaps);
	RUN(mremap_fixed_moves_file_and_anon_vmas_together);
	RUN(mremap_of_unfaulted_anon_takes_new_pgoff);
	RUN(mremap_of_unfaulted_vma_next_to_itself_merges_with_it);
	RUN(shared_anon_across_fork_is_one_frame);
	RUN(file_shared_in_three_processes_has_one_frame);
	RUN(file_private_write_copies_into_anon);
	RUN(file_private_write_fault_is_cow_fault);
	RUN(dontfork_and_wipeonfork);
	RUN(try_to_unmap_then_swap_in);
	RUN(swap_in_of_exclusive_page_is_writable);
	RUN(walk_of_file_mapped_by_1000_vmas_visits_only_covering_ones);
	RUN(mmap_without_addr_is_placed_top_down);
	RUN(brk_grows_and_shrinks_the_heap);
	RUN(mprotect_readonly_uncharges_unfaulted_anon_so_it_merges);
	RUN(shared_shmem_ptes_are_writable_from_a_read_fault);
	RUN(mremap_dontunmap_moves_a_shared_mapping);
	RUN(madvise_dontneed_drops_pages_and_read_refaults);
	RUN(madvise_pageout_reclaims_only_unshared_pages);
	RUN(folio_referenced_counts_and_clears_young_ptes);
	RUN(mremap_grows_in_place_and_shrinks);
	RUN(refusals_change_nothing);
	RUN(kernel_errors_are_outcomes);
	RUN(process_layout_counts_its_program_file);
	RUN(swapped_write_needs_two_frames);
	return harness_summary();
}
