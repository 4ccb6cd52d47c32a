// SPDX-License-Identifier: MIT
/*
 * test_kernel.c - behaviours of Linux 6.18 that the fidelity suite cannot
 * see through /proc, each checked against the kernel source and asserted
 * exactly: MAP_NORESERVE and the overcommit mode, the i_mmap order after
 * fork, reclaim of dirty shmem and file pages, the swap cache's lifetime,
 * and legacy mode's 6.0 merge rule.  The checker runs after every op.
 */
#include "simtest.h"

#define A	0x7f0000000000UL
#define P(n)	((unsigned long)(n) * PAGE_SIZE)

static int mmap_flags(struct sim *sim, int pid, unsigned long addr,
		      unsigned long pages, const char *prot, unsigned int flags)
{
	struct sim_op op = { .kind = OP_MMAP, .pid = pid, .addr = addr,
			     .has_addr = true, .len = pages * PAGE_SIZE,
			     .prot = prot_of(prot), .flags = flags | MAP_FIXED };

	return apply(sim, &op);
}

static struct sim *new_sim_overcommit(enum sim_overcommit mode)
{
	struct sim_config cfg = { .overcommit = mode };

	return sim_new(&cfg);
}

#define ANON_NORESERVE	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/* do_mmap: MAP_NORESERVE sets VM_NORESERVE, so nothing is charged */
static void noreserve_mapping_is_not_charged(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_flags(s, p1, A, 2, "rw-", ANON_NORESERVE), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_flags & (VM_NORESERVE | VM_ACCOUNT),
		  VM_NORESERVE);
	/* shared: VM_NORESERVE too, and never a charge */
	EXPECT_EQ(mmap_flags(s, p1, A + P(4), 2, "rw-", MAP_SHARED |
			     MAP_ANONYMOUS | MAP_NORESERVE), 0);
	EXPECT_EQ(vma_at(s, p1, A + P(4))->vm_flags &
		  (VM_NORESERVE | VM_ACCOUNT), VM_NORESERVE);
	/* without the flag: charged */
	EXPECT_EQ(mmap_flags(s, p1, A + P(8), 2, "rw-",
			     MAP_PRIVATE | MAP_ANONYMOUS), 0);
	EXPECT_EQ(vma_at(s, p1, A + P(8))->vm_flags &
		  (VM_NORESERVE | VM_ACCOUNT), VM_ACCOUNT);
	/* flags differ: the two private neighbours stay apart */
	EXPECT_EQ(mmap_flags(s, p1, A + P(2), 2, "rw-",
			     MAP_PRIVATE | MAP_ANONYMOUS), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(2));
	EXPECT_EQ(vma_at(s, p1, A + P(2))->vm_start, A + P(2));
	sim_free(s);
}

/* mprotect_fixup: becoming writable charges only a mapping without it */
static void noreserve_mapping_made_writable_stays_uncharged(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_flags(s, p1, A, 2, "r--", ANON_NORESERVE), 0);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 1, "rw-", 0), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_flags & (VM_NORESERVE | VM_ACCOUNT),
		  VM_NORESERVE);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(1));
	/* and back: the pieces merge again, as nothing tells them apart */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 1, "r--", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(2));
	sim_free(s);
}

/*
 * The merge selftests' case: a faulted noreserve mapping made read-only has
 * no charge to keep, so it merges with a read-only noreserve neighbour (a
 * charged one would keep VM_ACCOUNT and stay apart).
 */
static void faulted_noreserve_made_readonly_merges(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_flags(s, p1, A, 2, "rw-", ANON_NORESERVE), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(mmap_flags(s, p1, A + P(2), 2, "r--", ANON_NORESERVE), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "r--", 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 1);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(4));
	EXPECT(vma_at(s, p1, A)->anon_vma != NULL);
	/* the same without MAP_NORESERVE: the charge stays, no merge */
	EXPECT_EQ(mmap_flags(s, p1, A + P(8), 2, "rw-",
			     MAP_PRIVATE | MAP_ANONYMOUS), 0);
	EXPECT_EQ(touch(s, p1, A + P(8), true), 0);
	EXPECT_EQ(mmap_flags(s, p1, A + P(10), 2, "r--",
			     MAP_PRIVATE | MAP_ANONYMOUS), 0);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(8), 2, "r--", 0), 0);
	EXPECT(vma_at(s, p1, A + P(8))->vm_flags & VM_ACCOUNT);
	EXPECT_EQ(vma_at(s, p1, A + P(8))->vm_end, A + P(10));
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 3);
	sim_free(s);
}

/* vm.overcommit_memory=2 (OVERCOMMIT_NEVER) ignores MAP_NORESERVE */
static void strict_overcommit_ignores_noreserve(void)
{
	struct sim *s = new_sim_overcommit(SIM_OVERCOMMIT_NEVER);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_flags(s, p1, A, 2, "rw-", ANON_NORESERVE), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_flags & (VM_NORESERVE | VM_ACCOUNT),
		  VM_ACCOUNT);
	sim_free(s);
	/* mode 1 (always) honours it like the default heuristic mode */
	s = new_sim_overcommit(SIM_OVERCOMMIT_ALWAYS);
	p1 = do_spawn_op(s);
	EXPECT_EQ(mmap_flags(s, p1, A, 2, "rw-", ANON_NORESERVE), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_flags & (VM_NORESERVE | VM_ACCOUNT),
		  VM_NORESERVE);
	sim_free(s);
}

/* mremap carries VM_NORESERVE along; MREMAP_DONTUNMAP leaves it on both */
static void mremap_keeps_noreserve(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
			     .old_len = P(2), .new_len = P(2),
			     .new_addr = A + P(16),
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED |
				      MREMAP_DONTUNMAP };

	EXPECT_EQ(mmap_flags(s, p1, A, 2, "rw-", ANON_NORESERVE), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(apply(s, &op), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_flags & (VM_NORESERVE | VM_ACCOUNT),
		  VM_NORESERVE);
	EXPECT_EQ(vma_at(s, p1, A + P(16))->vm_flags &
		  (VM_NORESERVE | VM_ACCOUNT), VM_NORESERVE);
	sim_free(s);
}

/* ---- i_mmap order ---- */

/* The VMA ids a walk of pfn visits, in order, as a string "1 3 2". */
static const char *walk_order(struct sim *sim, unsigned long pfn)
{
	static char buf[128];
	const struct rmap_walk_result *w = sim_rmap_walk(sim, pfn);
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; w && i < w->nr_visits && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lu",
					i ? " " : "", w->visits[i].vma_id);
	return buf;
}

/* A shared file mapping of 4 pages at A in pid, its first page read in. */
static unsigned long map_file_and_read(struct sim *s, int pid)
{
	EXPECT_EQ(mmap_file(s, pid, A, 4, "rw-", true, "f", 0), 0);
	EXPECT_EQ(touch(s, pid, A, false), 0);
	return pfn_at(s, pid, A);
}

/*
 * dup_mmap inserts each child's file VMA right after the parent's
 * (vma_interval_tree_insert_after): two forks walk parent, second child,
 * first child.
 */
static void fork_twice_walks_parent_second_child_first_child(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	unsigned long pfn;

	new_file(s, "f", 4);
	pfn = map_file_and_read(s, p1);
	EXPECT_EQ(fork_op(s, p1), 2);
	EXPECT_EQ(fork_op(s, p1), 3);
	EXPECT_EQ(vma_at(s, 2, A)->id, 2);
	EXPECT_EQ(vma_at(s, 3, A)->id, 3);
	EXPECT_STR(walk_order(s, pfn), "1 3 2");
	/* a fork of the first child goes right after it */
	EXPECT_EQ(fork_op(s, 2), 4);
	EXPECT_STR(walk_order(s, pfn), "1 3 2 4");
	sim_free(s);
}

/* the order, kept by the trees' shape, survives a snapshot round trip */
static void i_mmap_order_survives_a_roundtrip(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false), *t;
	int p1 = do_spawn_op(s);
	unsigned long pfn;
	char *d1, *d2, err[160];
	size_t n1, n2;

	new_file(s, "f", 4);
	pfn = map_file_and_read(s, p1);
	fork_op(s, p1);
	fork_op(s, p1);
	d1 = sim_dump(s, &n1);
	t = sim_load(d1, n1, err, sizeof(err));
	EXPECT(t != NULL);
	if (!t) {
		free(d1);
		sim_free(s);
		return;
	}
	EXPECT_STR(walk_order(t, pfn), "1 3 2");
	/* the same op on both gives the same bytes */
	fork_op(s, p1);
	fork_op(t, p1);
	EXPECT_STR(walk_order(t, pfn), "1 4 3 2");
	free(d1);
	d1 = sim_dump(s, &n1);
	d2 = sim_dump(t, &n2);
	EXPECT(n1 == n2 && !memcmp(d1, d2, n1));
	free(d1);
	free(d2);
	sim_free(t);
	sim_free(s);
}

/*
 * vma_prepare/vma_complete take a re-keyed VMA out of i_mmap and put it
 * back behind the VMAs with its start: after mprotect splits pid 1's
 * mapping, pid 2's (inserted later) is walked first.
 */
static void rekeyed_vma_goes_behind_equal_starts(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2 = do_spawn_op(s);
	unsigned long pfn;

	new_file(s, "f", 4);
	pfn = map_file_and_read(s, p1);
	EXPECT_EQ(mmap_file(s, p2, A, 4, "rw-", true, "f", 0), 0);
	EXPECT_STR(walk_order(s, pfn), "1 2");
	/* the original VMA keeps [A, A+2) and is re-inserted */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "r--", 0), 0);
	EXPECT_EQ(vma_at(s, p1, A)->id, 1);
	EXPECT_EQ(vma_at(s, p1, A + P(2))->id, 3);
	EXPECT_STR(walk_order(s, pfn), "2 1");
	sim_free(s);
}

/* the anon_vma tree keeps insertion order too: parent, then each child */
static void anon_vma_tree_keeps_insertion_order(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	unsigned long pfn;

	EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", false), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	pfn = pfn_at(s, p1, A);
	fork_op(s, p1);
	fork_op(s, p1);
	EXPECT_STR(walk_order(s, pfn), "1 2 3");
	/* pid 1 re-keyed by a split: its chain goes behind the children's */
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 1, "r--", 0), 0);
	EXPECT_EQ(vma_at(s, p1, A)->id, 1);
	EXPECT_STR(walk_order(s, pfn), "2 3 1");
	sim_free(s);
}

/* ---- reclaim of file and shmem folios ---- */

/* Did the last operation take the kernel step fn? */
static bool took(const char *fn)
{
	size_t i;

	for (i = 0; i < last.nr_events; i++)
		if (!strcmp(last.events[i].fn, fn))
			return true;
	return false;
}

static int reclaim(struct sim *sim, unsigned long pfn)
{
	struct sim_op op = { .kind = OP_TRY_TO_UNMAP, .pfn = pfn };

	return apply(sim, &op);
}

static struct address_space *file_of(struct sim *sim, int pid,
				     unsigned long addr)
{
	return vma_at(sim, pid, addr)->vm_file;
}

/*
 * shmem_writeout: a dirty shmem folio goes to swap, the shmem page names
 * the slot, and the next fault of either process reads it back into the
 * page cache (shmem_swapin_folio), dirty, and frees the slot.
 */
static void dirty_shmem_page_goes_to_swap_and_back(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct address_space *shm;
	unsigned long pfn;

	EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", true), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	pfn = pfn_at(s, p1, A);
	p2 = fork_op(s, p1);
	EXPECT_EQ(touch(s, p2, A, false), 0);
	EXPECT_EQ(folio_at(s, p2, A)->mapcount, 2);
	shm = file_of(s, p1, A);
	EXPECT_EQ(reclaim(s, pfn), 0);
	EXPECT(took("shmem_writeout"));
	EXPECT(sim_find_folio(s, pfn) == NULL);
	EXPECT(shm->pages[0] == NULL);
	EXPECT_EQ(shm->swap[0], 1);
	EXPECT_EQ(swap_slot_find_count(s, 1), 1);
	/* shmem page tables hold no swap entries: the PTEs are just gone */
	EXPECT(pte_at(s, p1, A) == NULL && pte_at(s, p2, A) == NULL);
	EXPECT_EQ(sim_find_mm(s, p1)->swapents, 0);
	/* the child's read brings it back */
	EXPECT_EQ(touch(s, p2, A, false), 0);
	EXPECT(took("shmem_swapin_folio"));
	EXPECT(!took("shmem_alloc_folio"));
	EXPECT(shm->pages[0] != NULL && shm->pages[0]->pfn == pfn_at(s, p2, A));
	EXPECT(shm->pages[0]->flags & PG_dirty);
	EXPECT_EQ(shm->swap[0], 0);
	EXPECT(swap_slot_at(s, 1) == NULL);
	/* and the parent maps the same page from the page cache */
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_EQ(pfn_at(s, p1, A), pfn_at(s, p2, A));
	sim_free(s);
}

/* the last mapping of a shmem object frees the swap its pages hold */
static void shmem_swap_is_freed_with_the_object(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A, 1, "rw-", true), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(reclaim(s, pfn_at(s, p1, A)), 0);
	EXPECT(swap_slot_at(s, 1) != NULL);
	exit_op(s, p1);
	EXPECT(swap_slot_at(s, 1) == NULL);
	EXPECT(rb_empty(&s->swap));
	sim_free(s);
}

/* a clean shmem page is simply dropped: a later read gets a new zero page */
static void clean_shmem_page_is_dropped(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct address_space *shm;

	EXPECT_EQ(mmap_anon(s, p1, A, 1, "rw-", true), 0);
	EXPECT_EQ(touch(s, p1, A, false), 0);
	shm = file_of(s, p1, A);
	EXPECT_EQ(reclaim(s, pfn_at(s, p1, A)), 0);
	EXPECT(!took("shmem_writeout"));
	EXPECT(shm->pages[0] == NULL && shm->swap[0] == 0);
	EXPECT(rb_empty(&s->swap));
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT(took("shmem_alloc_folio"));
	sim_free(s);
}

/*
 * MADV_PAGEOUT of a dirty regular-file page: unmapped, but shrink_folio_list
 * outside kswapd does not write file folios (folio_set_reclaim), so it stays
 * in the page cache, dirty; a clean one leaves it.
 */
static void pageout_keeps_dirty_file_page_cached(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	struct address_space *f;
	struct folio *dirty;

	new_file(s, "f", 2);
	EXPECT_EQ(mmap_file(s, p1, A, 2, "rw-", true, "f", 0), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(touch(s, p1, A + P(1), false), 0);
	f = file_of(s, p1, A);
	dirty = f->pages[0];
	EXPECT(dirty->flags & PG_dirty);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 2, NULL, SIM_MADV_PAGEOUT),
		  0);
	EXPECT(took("folio_set_reclaim"));
	EXPECT(pte_at(s, p1, A) == NULL && pte_at(s, p1, A + P(1)) == NULL);
	EXPECT(f->pages[0] == dirty && sim_find_folio(s, dirty->pfn) == dirty);
	EXPECT(dirty->flags & PG_dirty);
	EXPECT_EQ(dirty->mapcount, 0);
	EXPECT(f->pages[1] == NULL);
	/* the next fault maps the cached page again: nothing is read in */
	EXPECT_EQ(touch(s, p1, A, false), 0);
	EXPECT_EQ(pfn_at(s, p1, A), dirty->pfn);
	EXPECT(!took("filemap_read_folio"));
	EXPECT(f->pages[1] == NULL);
	sim_free(s);
}

/* ---- the swap cache ---- */

/* Two processes share a swapped-out page: one PTE each on slot 1. */
static struct sim *shared_swap_entry(int *p1, int *p2, unsigned long *pfn)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);

	*p1 = do_spawn_op(s);
	EXPECT_EQ(mmap_anon(s, *p1, A, 1, "rw-", false), 0);
	EXPECT_EQ(touch(s, *p1, A, true), 0);
	*p2 = fork_op(s, *p1);
	EXPECT_EQ(reclaim(s, pfn_at(s, *p1, A)), 0);
	EXPECT_EQ(swap_slot_find_count(s, 1), 2);
	/* the first to fault reads it into the swap cache */
	EXPECT_EQ(touch(s, *p2, A, false), 0);
	*pfn = pfn_at(s, *p2, A);
	EXPECT(sim_find_folio(s, *pfn)->flags & PG_swapcache);
	EXPECT_EQ(swap_slot_find_count(s, 1), 1);
	return s;
}

/* should_try_to_free_swap: a write fault by the last user frees it */
static void last_user_write_fault_frees_the_swap_cache(void)
{
	int p1, p2;
	unsigned long pfn;
	struct sim *s = shared_swap_entry(&p1, &p2, &pfn);
	struct folio *f;

	exit_op(s, p2);
	EXPECT(sim_find_folio(s, pfn) != NULL);	/* still cached */
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT(took("folio_free_swap"));
	f = folio_at(s, p1, A);
	EXPECT(f && f->pfn == pfn);
	EXPECT(f && !(f->flags & PG_swapcache));
	EXPECT(f && (f->flags & PG_anon_exclusive));
	EXPECT(pte_at(s, p1, A)->write);
	EXPECT(swap_slot_at(s, 1) == NULL);
	sim_free(s);
}

/*
 * free_swap_and_cache (zap of a swap PTE) leaves a cached folio that is
 * still mapped alone; the slot lives on for the swap cache, count 0.
 */
static void zap_keeps_a_cached_folio_still_mapped(void)
{
	int p1, p2;
	unsigned long pfn;
	struct sim *s = shared_swap_entry(&p1, &p2, &pfn);
	struct folio *f;

	EXPECT_EQ(range_op(s, OP_MUNMAP, p1, A, 1, NULL, 0), 0);
	f = sim_find_folio(s, pfn);
	EXPECT(f && (f->flags & PG_swapcache) && f->mapcount == 1);
	EXPECT(swap_slot_at(s, 1) && swap_slot_at(s, 1)->count == 0 &&
	       swap_slot_at(s, 1)->cache_pfn == pfn);
	/* the survivor's write reuses it, freeing the swap cache first */
	EXPECT_EQ(touch(s, p2, A, true), 0);
	EXPECT_STR(last.fault, "wp_page_reuse");
	EXPECT(took("folio_free_swap"));
	EXPECT(swap_slot_at(s, 1) == NULL);
	sim_free(s);
}

/* the same zap with nothing mapping the cached folio frees it too */
static void zap_frees_an_unmapped_cached_folio(void)
{
	int p1, p2;
	unsigned long pfn;
	struct sim *s = shared_swap_entry(&p1, &p2, &pfn);

	EXPECT_EQ(range_op(s, OP_MUNMAP, p2, A, 1, NULL, 0), 0);
	EXPECT(sim_find_folio(s, pfn) != NULL);	/* slot still used by p1 */
	EXPECT_EQ(range_op(s, OP_MUNMAP, p1, A, 1, NULL, 0), 0);
	EXPECT(took("__try_to_reclaim_swap"));
	EXPECT(sim_find_folio(s, pfn) == NULL);
	EXPECT(rb_empty(&s->swap));
	sim_free(s);
}

/* ---- legacy mode: Linux 6.0 ---- */

/*
 * A faulted VMA made like its unfaulted neighbour: 6.18 merges them and
 * gives the neighbour its anon_vma (dup_anon_vma); 6.0's vma_merge refused
 * (is_mergeable_anon_vma wanted a singular chain on the empty side).
 */
static void legacy_faulted_vma_does_not_merge_into_unfaulted_prev(void)
{
	enum sim_mode modes[] = { SIM_MODE_NORMAL, SIM_MODE_LEGACY };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct sim *s = new_sim(modes[i], false);
		int p1 = do_spawn_op(s);
		unsigned long count = modes[i] == SIM_MODE_LEGACY ? 2 : 1;

		EXPECT_EQ(mmap_flags(s, p1, A, 2, "r--", ANON_NORESERVE), 0);
		EXPECT_EQ(mmap_flags(s, p1, A + P(2), 2, "rw-", ANON_NORESERVE),
			  0);
		EXPECT_EQ(touch(s, p1, A + P(2), true), 0);
		EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(2), 2, "r--", 0),
			  0);
		EXPECT_EQ(sim_find_mm(s, p1)->map_count, count);
		EXPECT_EQ(vma_at(s, p1, A)->anon_vma != NULL, count == 1);
		/* the other way round, an unfaulted VMA joins a faulted one */
		EXPECT_EQ(mmap_flags(s, p1, A + P(4), 2, "rw-", ANON_NORESERVE),
			  0);
		EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A + P(4), 2, "r--", 0),
			  0);
		EXPECT_EQ(sim_find_mm(s, p1)->map_count, count);
		sim_free(s);
	}
}

/* 6.0's mprotect_fixup never uncharged (the anonymous case is 6.5+) */
static void legacy_readonly_keeps_the_charge(void)
{
	struct sim *s = new_sim(SIM_MODE_LEGACY, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", false), 0);
	EXPECT_EQ(range_op(s, OP_MPROTECT, p1, A, 2, "r--", 0), 0);
	EXPECT(vma_at(s, p1, A)->vm_flags & VM_ACCOUNT);
	sim_free(s);
}

/* MREMAP_FIXED without a resize moves one VMA only before 6.17 */
static void legacy_mremap_fixed_moves_one_vma(void)
{
	enum sim_mode modes[] = { SIM_MODE_NORMAL, SIM_MODE_LEGACY };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct sim *s = new_sim(modes[i], false);
		int p1 = do_spawn_op(s);
		struct sim_op op = { .kind = OP_MREMAP, .pid = p1, .addr = A,
				     .old_len = P(4), .new_len = P(4),
				     .new_addr = A + P(16),
				     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };

		EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", false), 0);
		EXPECT_EQ(mmap_anon(s, p1, A + P(2), 2, "r--", false), 0);
		if (modes[i] == SIM_MODE_LEGACY) {
			EXPECT_EQ(apply(s, &op), SIM_EFAULT);
			EXPECT_EQ(vma_at(s, p1, A)->vm_start, A);
		} else {
			EXPECT_EQ(apply(s, &op), 0);
			EXPECT_EQ(vma_at(s, p1, A + P(16))->vm_start, A + P(16));
			EXPECT_EQ(vma_at(s, p1, A + P(18))->vm_start, A + P(18));
			EXPECT(vma_at(s, p1, A) == NULL);
		}
		sim_free(s);
	}
}

/* ---- found by the differential runs against the kernel ---- */

static int mremap_op(struct sim *sim, int pid, unsigned long addr,
		     unsigned long old_pages, unsigned long new_pages,
		     unsigned int flags, unsigned long new_addr)
{
	struct sim_op op = { .kind = OP_MREMAP, .pid = pid, .addr = addr,
			     .old_len = P(old_pages), .new_len = P(new_pages),
			     .flags = flags, .new_addr = new_addr };

	return apply(sim, &op);
}

/*
 * check_prep_vma checks the range against the VMA only for a call that
 * maps something new: a shrink in place unmaps its tail across holes and
 * other VMAs, a no-op needs only a VMA at addr.
 */
static void mremap_shrink_unmaps_past_the_vma(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A, 4, "r--", false), 0);
	EXPECT_EQ(mmap_anon(s, p1, A + P(6), 4, "rw-", false), 0);
	/* from A+3, 6 pages down to 1: unmaps [A+4, A+9) */
	EXPECT_EQ(mremap_op(s, p1, A + P(3), 6, 1, 0, 0), 0);
	EXPECT_EQ(last.value, A + P(3));
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(4));
	EXPECT_EQ(vma_at(s, p1, A + P(9))->vm_start, A + P(9));
	EXPECT(vma_at(s, p1, A + P(8)) == NULL);
	/* no resize, no flags: nothing happens, the end is never looked at */
	EXPECT_EQ(mremap_op(s, p1, A + P(2), 8, 8, 0, 0), 0);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	/* growing still needs the old range inside the VMA */
	EXPECT_EQ(mremap_op(s, p1, A + P(2), 3, 5, MREMAP_MAYMOVE, 0),
		  SIM_EFAULT);
	/* and every call needs a VMA at addr */
	EXPECT_EQ(mremap_op(s, p1, A + P(5), 2, 1, 0, 0), SIM_EFAULT);
	sim_free(s);
}

/* Linux 6.0 let a shrink in place start in a hole */
static void legacy_mremap_shrink_needs_no_vma(void)
{
	struct sim *s = new_sim(SIM_MODE_LEGACY, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A + P(2), 4, "rw-", false), 0);
	EXPECT_EQ(mremap_op(s, p1, A, 4, 1, 0, 0), 0);
	EXPECT_EQ(vma_at(s, p1, A + P(4))->vm_start, A + P(4));
	sim_free(s);
}

/* mremap_to shrinks first, then needs only new_len inside the VMA */
static void mremap_fixed_shrink_moves_what_is_left(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A, 8, "rw-", false), 0);
	EXPECT_EQ(touch(s, p1, A + P(4), true), 0);
	EXPECT_EQ(mremap_op(s, p1, A + P(4), 6, 4, MREMAP_MAYMOVE |
			    MREMAP_FIXED, A + P(32)), 0);
	EXPECT_EQ(last.value, A + P(32));
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(4));
	EXPECT_EQ(vma_at(s, p1, A + P(32))->vm_end, A + P(36));
	EXPECT(pte_at(s, p1, A + P(32)) && pte_at(s, p1, A + P(32))->present);
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	sim_free(s);
}

/*
 * do_read_fault runs fault-around before ->fault finds the page past the
 * end: the cached pages of the window stay mapped after the SIGBUS.  A write
 * fault maps nothing.
 */
static void read_past_eof_maps_the_fault_around_window(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	unsigned long i;

	new_file(s, "f", 7);
	/* pgoff 2..9: pages 2-6 exist, 7 and 8 lie past the end */
	EXPECT_EQ(mmap_file(s, p1, A, 8, "rw-", true, "f", 2), 0);
	EXPECT_EQ(touch(s, p1, A + P(6), true), SIM_SIGBUS);
	EXPECT_EQ(sim_find_mm(s, p1)->rss_file, 0);
	EXPECT_EQ(touch(s, p1, A + P(5), false), SIM_SIGBUS);
	EXPECT_STR(last.fault, "sigbus");
	for (i = 0; i < 5; i++)
		EXPECT(pte_at(s, p1, A + P(i)) &&
		       pte_at(s, p1, A + P(i))->present);
	EXPECT(pte_at(s, p1, A + P(5)) == NULL);
	EXPECT_EQ(sim_find_mm(s, p1)->rss_file, 5);
	sim_free(s);
}

/*
 * dontunmap_complete clears only the mlock bits (6.18's fix "correctly
 * account old mapping after MREMAP_DONTUNMAP remap"): the old VMA keeps
 * VM_ACCOUNT and merges with a charged neighbour.
 */
static void dontunmap_keeps_the_charge(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);

	EXPECT_EQ(mmap_anon(s, p1, A, 4, "rwx", false), 0);
	EXPECT_EQ(mremap_op(s, p1, A, 1, 1, MREMAP_MAYMOVE | MREMAP_FIXED |
			    MREMAP_DONTUNMAP, A + P(36)), 0);
	EXPECT(vma_at(s, p1, A)->vm_flags & VM_ACCOUNT);
	EXPECT_EQ(mmap_anon(s, p1, A + P(1), 8, "rwx", false), 0);
	EXPECT_EQ(vma_at(s, p1, A)->vm_end, A + P(9));
	EXPECT_EQ(sim_find_mm(s, p1)->map_count, 2);
	sim_free(s);
}

/*
 * filemap_map_pages installs a PTE table only when the first cached page of
 * the window is not the file's last: a read past EOF whose window holds the
 * last page alone maps nothing without a table already in the 2 MiB region
 * - which a zapped page leaves behind and free_pgtables takes away.
 */
static void fault_around_past_eof_needs_a_pte_table(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s);
	unsigned long F = A + P(0x29);
	struct mm_struct *mm;

	new_file(s, "f", 4);
	/* pgoff 3..7: only the first page, the file's last, exists */
	EXPECT_EQ(mmap_file(s, p1, F, 5, "r-x", false, "f", 3), 0);
	EXPECT_EQ(touch(s, p1, F + P(3), false), SIM_SIGBUS);
	EXPECT(pte_at(s, p1, F) == NULL);
	mm = sim_find_mm(s, p1);
	EXPECT_EQ(mm->nr_pt, 0);
	/* a page of another mapping in the region makes the table */
	EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", false), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(mm->nr_pt, 1);
	/* zapped, its table stays, and fault-around maps the last page */
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 2, NULL, SIM_MADV_DONTNEED),
		  0);
	EXPECT_EQ(mm->nr_ptes, 0);
	EXPECT_EQ(mm->nr_pt, 1);
	EXPECT_EQ(touch(s, p1, F + P(3), false), SIM_SIGBUS);
	EXPECT(pte_at(s, p1, F) && pte_at(s, p1, F)->present);
	/* with no VMA left in the region, free_pgtables frees the table */
	EXPECT_EQ(range_op(s, OP_MUNMAP, p1, A, 0x40, NULL, 0), 0);
	EXPECT(took("free_pgtables"));
	EXPECT_EQ(mm->nr_pt, 0);
	EXPECT_EQ(mmap_file(s, p1, F, 5, "r-x", false, "f", 3), 0);
	EXPECT_EQ(touch(s, p1, F + P(3), false), SIM_SIGBUS);
	EXPECT(pte_at(s, p1, F) == NULL);
	sim_free(s);
}

/* an empty PTE table is part of the state: it survives a round trip */
static void empty_pte_table_survives_a_roundtrip(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false), *t;
	int p1 = do_spawn_op(s);
	char *d1, *d2, err[160];
	size_t n1, n2;

	EXPECT_EQ(mmap_anon(s, p1, A, 2, "rw-", false), 0);
	EXPECT_EQ(touch(s, p1, A, true), 0);
	EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 2, NULL, SIM_MADV_DONTNEED),
		  0);
	d1 = sim_dump(s, &n1);
	EXPECT(strstr(d1, "\npt 1 3f80000\n") != NULL);
	t = sim_load(d1, n1, err, sizeof(err));
	EXPECT(t != NULL);
	if (t) {
		EXPECT_EQ(sim_find_mm(t, p1)->nr_pt, 1);
		d2 = sim_dump(t, &n2);
		EXPECT(n1 == n2 && !memcmp(d1, d2, n1));
		free(d2);
		sim_free(t);
	}
	free(d1);
	sim_free(s);
}

/*
 * do_cow_fault runs vmf_anon_prepare before ->fault: a private write past
 * EOF gives the VMA an anon_vma, so a fork then copies its file PTEs.
 */
static void cow_fault_past_eof_prepares_the_anon_vma(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = do_spawn_op(s), p2;
	struct folio *f;

	new_file(s, "f", 12);
	EXPECT_EQ(mmap_file(s, p1, A + P(8), 7, "rw-", false, "f", 9), 0);
	EXPECT_EQ(touch(s, p1, A + P(14), false), SIM_SIGBUS);
	EXPECT(vma_at(s, p1, A + P(8))->anon_vma == NULL);
	EXPECT_EQ(touch(s, p1, A + P(14), true), SIM_SIGBUS);
	EXPECT(vma_at(s, p1, A + P(8))->anon_vma != NULL);
	p2 = fork_op(s, p1);
	f = folio_at(s, p2, A + P(8));
	EXPECT(f != NULL && f->pfn == pfn_at(s, p1, A + P(8)));
	EXPECT(f && f->mapcount == 2);
	sim_free(s);
}

/*
 * PT_RECLAIM: MADV_DONTNEED over a whole 2 MiB region frees its PTE table
 * (6.14+; legacy mode, 6.0, keeps it).
 */
static void dontneed_of_a_whole_region_frees_its_table(void)
{
	enum sim_mode modes[] = { SIM_MODE_NORMAL, SIM_MODE_LEGACY };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct sim *s = new_sim(modes[i], false);
		int p1 = do_spawn_op(s);
		struct mm_struct *mm;

		EXPECT_EQ(mmap_anon(s, p1, A, 1024, "rw-", false), 0);
		EXPECT_EQ(touch(s, p1, A + P(3), true), 0);
		EXPECT_EQ(touch(s, p1, A + P(600), true), 0);
		mm = sim_find_mm(s, p1);
		EXPECT_EQ(mm->nr_pt, 2);
		/* part of a region: the table stays */
		EXPECT_EQ(range_op(s, OP_MADVISE, p1, A + P(512), 256, NULL,
				   SIM_MADV_DONTNEED), 0);
		EXPECT_EQ(mm->nr_pt, 2);
		/* all of the first region */
		EXPECT_EQ(range_op(s, OP_MADVISE, p1, A, 512, NULL,
				   SIM_MADV_DONTNEED), 0);
		EXPECT_EQ(mm->nr_pt, modes[i] == SIM_MODE_LEGACY ? 2 : 1);
		sim_free(s);
	}
}

int main(void)
{
	RUN(noreserve_mapping_is_not_charged);
	RUN(noreserve_mapping_made_writable_stays_uncharged);
	RUN(faulted_noreserve_made_readonly_merges);
	RUN(strict_overcommit_ignores_noreserve);
	RUN(mremap_keeps_noreserve);
	RUN(fork_twice_walks_parent_second_child_first_child);
	RUN(i_mmap_order_survives_a_roundtrip);
	RUN(rekeyed_vma_goes_behind_equal_starts);
	RUN(anon_vma_tree_keeps_insertion_order);
	RUN(dirty_shmem_page_goes_to_swap_and_back);
	RUN(shmem_swap_is_freed_with_the_object);
	RUN(clean_shmem_page_is_dropped);
	RUN(pageout_keeps_dirty_file_page_cached);
	RUN(last_user_write_fault_frees_the_swap_cache);
	RUN(zap_keeps_a_cached_folio_still_mapped);
	RUN(zap_frees_an_unmapped_cached_folio);
	RUN(legacy_faulted_vma_does_not_merge_into_unfaulted_prev);
	RUN(legacy_readonly_keeps_the_charge);
	RUN(legacy_mremap_fixed_moves_one_vma);
	RUN(mremap_shrink_unmaps_past_the_vma);
	RUN(legacy_mremap_shrink_needs_no_vma);
	RUN(mremap_fixed_shrink_moves_what_is_left);
	RUN(read_past_eof_maps_the_fault_around_window);
	RUN(dontunmap_keeps_the_charge);
	RUN(fault_around_past_eof_needs_a_pte_table);
	RUN(empty_pte_table_survives_a_roundtrip);
	RUN(cow_fault_past_eof_prepares_the_anon_vma);
	RUN(dontneed_of_a_whole_region_frees_its_table);
	return harness_summary();
}
