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

int main(void)
{
	RUN(noreserve_mapping_is_not_charged);
	RUN(noreserve_mapping_made_writable_stays_uncharged);
	RUN(faulted_noreserve_made_readonly_merges);
	RUN(strict_overcommit_ignores_noreserve);
	RUN(mremap_keeps_noreserve);
	return harness_summary();
}
