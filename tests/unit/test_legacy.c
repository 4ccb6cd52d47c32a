// SPDX-License-Identifier: MIT
/*
 * test_legacy.c - the anon_vma "degree" double-reuse bug (fixed by commit
 * 2555283eb40d, CVE-2022-42703), reproduced in legacy mode and absent in
 * normal mode.
 *
 * The sequence was found by `test_random N OPS legacy` (a seeded search
 * with the checker after every op) and shrunk to 18 operations: forks whose
 * VMAs reuse anon_vmas that still serve other VMAs leave one process with
 * two adjacent VMAs that share ->anon_vma but not their chains; mprotect
 * merges them, and a page whose anon_vma only the absorbed VMA was chained
 * to becomes unreachable by rmap, then dangling once that anon_vma is freed.
 */
#include "simtest.h"

#define W 0x7f0000000000UL

static void run_bug_sequence(struct sim *s)
{
	static const struct {
		enum sim_op_kind kind;
		int pid;
		unsigned long addr, len;
		unsigned int prot;
	} seq[] = {
		{ OP_SPAWN, 0, 0, 0, 0 },
		{ OP_MMAP, 1, W, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE },
		{ OP_FORK, 1, 0, 0, 0 },
		{ OP_FORK, 2, 0, 0, 0 },
		{ OP_ACCESS, 3, W, 0, 0 },
		{ OP_FORK, 3, 0, 0, 0 },
		{ OP_FORK, 4, 0, 0, 0 },
		{ OP_FORK, 5, 0, 0, 0 },
		{ OP_EXIT, 5, 0, 0, 0 },
		{ OP_EXIT, 4, 0, 0, 0 },
		{ OP_MPROTECT, 6, W, PAGE_SIZE, PROT_READ },
		{ OP_FORK, 6, 0, 0, 0 },
		{ OP_FORK, 7, 0, 0, 0 },
		{ OP_ACCESS, 8, W + PAGE_SIZE, 0, 0 },
		{ OP_MPROTECT, 8, W + PAGE_SIZE, PAGE_SIZE, PROT_READ },
		{ OP_EXIT, 6, 0, 0, 0 },
		{ OP_FORK, 8, 0, 0, 0 },
		{ OP_MPROTECT, 9, W, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE },
	};
	size_t i;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct sim_op op = { .kind = seq[i].kind, .pid = seq[i].pid,
				     .addr = seq[i].addr, .len = seq[i].len,
				     .prot = seq[i].prot, .write = true };

		if (op.kind == OP_MMAP)
			op.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
		apply(s, &op);
		EXPECT_EQ(last.err, 0);
	}
}

static bool has_violation(struct sim *s, const char *what)
{
	struct sim_check_report rep = { 0 };
	bool found = false;
	size_t i;

	sim_check(s, &rep);
	for (i = 0; i < rep.nr; i++)
		found |= !strcmp(rep.v[i].what, what);
	sim_check_report_free(&rep);
	return found;
}

static void legacy_degree_reuse_leaves_page_unreachable_then_dangling(void)
{
	struct sim *s = new_sim(SIM_MODE_LEGACY, false);
	struct vm_area_struct *v;
	const struct rmap_walk_result *w;
	unsigned long pfn;
	struct mm_struct *mm, *next;
	size_t i;
	bool found = false;

	expect_clean = false;
	run_bug_sequence(s);
	/* pid 9 has one merged VMA mapping a page rmap cannot reach */
	EXPECT(has_violation(s, "anon-not-reachable"));
	EXPECT_EQ(sim_find_mm(s, 9)->map_count, 1);
	pfn = pfn_at(s, 9, W + PAGE_SIZE);
	v = vma_at(s, 9, W);
	w = sim_rmap_walk(s, pfn);
	for (i = 0; i < w->nr_visits; i++)
		found |= w->visits[i].vma_id == v->id && w->visits[i].mapped;
	EXPECT(!found);		/* the walk misses pid 9's mapping */
	/* everyone else exits: the anon_vma is freed under pid 9's page */
	list_for_each_entry_safe(mm, next, &s->mms, node)
		if (mm->pid != 9)
			exit_op(s, mm->pid);
	EXPECT(has_violation(s, "dangling-mapping"));
	w = sim_rmap_walk(s, pfn);
	EXPECT(w->dangling);
	EXPECT_EQ(w->visited, 0);
	expect_clean = true;
	sim_free(s);
}

static void normal_mode_same_sequence_stays_consistent(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	struct mm_struct *mm, *next;
	unsigned long pfn;

	run_bug_sequence(s);		/* the checker runs after every op */
	pfn = pfn_at(s, 9, W + PAGE_SIZE);
	list_for_each_entry_safe(mm, next, &s->mms, node)
		if (mm->pid != 9)
			exit_op(s, mm->pid);
	EXPECT(!sim_rmap_walk(s, pfn)->dangling);
	EXPECT_EQ(sim_rmap_walk(s, pfn)->mapped, 1);
	sim_free(s);
}

int main(void)
{
	RUN(legacy_degree_reuse_leaves_page_unreachable_then_dangling);
	RUN(normal_mode_same_sequence_stays_consistent);
	return harness_summary();
}
