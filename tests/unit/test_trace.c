// SPDX-License-Identifier: MIT
/*
 * test_trace.c - what an op's trace keeps and what the op costs: steps that
 * repeat per page are folded after their first SIM_TRACE_REPEAT calls, so
 * the trace is as small for 1,000 pages as for 20; sim_trace_limits() keeps
 * all of them up to a limit; the cost counts every call, kept or folded, the
 * PTEs steps handle in bulk and the VMAs walks visit; sim_cost_bound() never
 * says more than an op then costs; and a move of a sparse VMA costs its
 * PTEs, not its size.
 */
#include "simtest.h"

#define BASE	0x10000000UL
#define PAGES	1000

/* pid 1 with PAGES written pages in one VMA */
static struct sim *written_process(void)
{
	struct sim *sim = new_sim(SIM_MODE_NORMAL, false);
	unsigned long i;

	expect_clean = false;	/* the checker on 1,000 ops is slow, not wrong */
	do_spawn_op(sim);
	mmap_anon(sim, 1, BASE, PAGES, "rw-", false);
	for (i = 0; i < PAGES; i++)
		touch(sim, 1, BASE + i * PAGE_SIZE, true);
	expect_clean = true;
	EXPECT_EQ(checker_violations(sim, true), 0);
	return sim;
}

static size_t steps_of(const struct sim_result *res, const char *fn)
{
	size_t i, n = 0;

	for (i = 0; i < res->nr_events; i++)
		if (!strcmp(res->events[i].fn, fn) && !res->events[i].omitted)
			n++;
	return n;
}

static const struct sim_event *summary_of(const struct sim_result *res,
					  const char *fn)
{
	size_t i;

	for (i = 0; i < res->nr_events; i++)
		if (!strcmp(res->events[i].fn, fn) && res->events[i].omitted)
			return &res->events[i];
	return NULL;
}

static void exit_of_1000_pages_keeps_8_rmap_removals_and_counts_the_rest(void)
{
	struct sim *sim = written_process();
	const struct sim_event *sum;

	exit_op(sim, 1);
	EXPECT_EQ(steps_of(&last, "folio_remove_rmap_pte"), SIM_TRACE_REPEAT);
	EXPECT_EQ(steps_of(&last, "free_folio"), SIM_TRACE_REPEAT);
	sum = summary_of(&last, "folio_remove_rmap_pte");
	EXPECT(sum != NULL);
	if (sum) {
		EXPECT_EQ(sum->count, PAGES);
		EXPECT_EQ(sum->omitted, PAGES - SIM_TRACE_REPEAT);
		EXPECT_EQ(sum->nargs, 0);
	}
	/* the kept ones are the first pages, in order */
	EXPECT_STR(last.events[1].fn, "folio_remove_rmap_pte");
	EXPECT_EQ(last.events[1].arg[0].val, 1);
	/* exit_mmap, 8 x 2 steps, 2 summaries, zap, unlink, free, remove */
	EXPECT_EQ(last.nr_events, 1 + 2 * SIM_TRACE_REPEAT + 2 + 4);
	EXPECT_EQ(last.events_omitted, 2 * (PAGES - SIM_TRACE_REPEAT));
	sim_free(sim);
}

static void cost_counts_folded_calls_and_bulk_ptes(void)
{
	struct sim *a = written_process(), *b = written_process();
	struct sim_result ra;

	sim_trace_limits(b, 0, 0);
	exit_op(a, 1);
	ra = last;
	exit_op(b, 1);
	/* nothing folded: every step is there, the cost is the same */
	EXPECT_EQ(steps_of(&last, "folio_remove_rmap_pte"), PAGES);
	EXPECT(summary_of(&last, "folio_remove_rmap_pte") == NULL);
	EXPECT_EQ(last.events_omitted, 0);
	EXPECT_EQ(last.nr_events, 1 + 2 * PAGES + 4);
	/* each step once, and zap_pte_range's 1,000 PTEs */
	EXPECT_EQ(ra.cost, last.nr_events + PAGES);
	EXPECT_EQ(last.cost, ra.cost);
	sim_free(a);
	sim_free(b);
}

static void a_limit_keeps_that_many_then_folds(void)
{
	struct sim *sim = written_process();
	const struct sim_event *sum;

	sim_trace_limits(sim, 0, 100);
	exit_op(sim, 1);
	EXPECT_EQ(last.nr_events, 100 + 4 + 2);
	sum = summary_of(&last, "folio_remove_rmap_pte");
	EXPECT(sum != NULL);
	if (sum) {
		/* exit_mmap + 49 pairs + 1 removal kept: 50 removals */
		EXPECT_EQ(sum->count, PAGES);
		EXPECT_EQ(sum->omitted, PAGES - 50);
	}
	sim_free(sim);
}

static void folding_a_folded_trace_again_changes_nothing(void)
{
	struct sim *sim = written_process();
	struct sim_trace t;
	size_t i;

	exit_op(sim, 1);
	sim_trace_init(&t, SIM_TRACE_REPEAT, 0);
	for (i = 0; i < last.nr_events; i++)
		sim_trace_add(&t, &last.events[i]);
	EXPECT_EQ(t.nr, last.nr_events);
	for (i = 0; i < t.nr && i < last.nr_events; i++)
		EXPECT(harness_same_event(&t.ev[i], &last.events[i]));
	EXPECT_EQ(t.omitted, last.events_omitted);
	sim_trace_free(&t);
	sim_free(sim);
}

/*
 * A function is its name, whatever literal spells it; two names whose
 * literals fall on the same fn_cache slot (256 bytes apart) stay two.
 */
static void one_name_is_one_function_whatever_its_literal(void)
{
	static char names[3][256];
	struct sim_trace t;
	size_t i;

	snprintf(names[0], sizeof(names[0]), "zap_pte_range");
	snprintf(names[1], sizeof(names[1]), "free_folio");
	snprintf(names[2], sizeof(names[2]), "zap_pte_range");
	sim_trace_init(&t, 2, 0);
	for (i = 0; i < 9; i++)
		sim_trace_add(&t, &(struct sim_event){ .fn = names[i % 3] });
	/* zap_pte_range x2, free_folio, its summary, free_folio, summary */
	EXPECT_EQ(t.nr, 6);
	EXPECT_EQ(t.kept, 4);
	EXPECT_EQ(t.omitted, 5);
	EXPECT_EQ(t.nr_fns, 2);
	for (i = 0; i < t.nr; i++)
		if (t.ev[i].omitted)
			EXPECT_EQ(t.ev[i].count, strcmp(t.ev[i].fn,
				"zap_pte_range") ? 3 : 6);
	sim_trace_free(&t);
}

static void cost_bound_of_fork_and_exit_is_what_they_cost_at_least(void)
{
	struct sim *sim = written_process();
	struct sim_op fork = { .kind = OP_FORK, .pid = 1 };
	struct sim_op exit2 = { .kind = OP_EXIT, .pid = 2 };
	unsigned long bound = sim_cost_bound(sim, &fork);

	/* one VMA: vm_area_dup, and its 1,000 PTEs copied */
	EXPECT_EQ(bound, 1 + PAGES);
	fork_op(sim, 1);
	EXPECT(last.cost >= bound);
	bound = sim_cost_bound(sim, &exit2);
	EXPECT_EQ(bound, 1 + PAGES);
	exit_op(sim, 2);
	EXPECT(last.cost >= bound);
	/* what depends on more than the state, and a pid that is not there */
	EXPECT_EQ(sim_cost_bound(sim, &exit2), 0);
	sim_free(sim);
}

static void a_dontfork_vma_costs_a_fork_nothing(void)
{
	struct sim *sim = written_process();
	struct sim_op fork = { .kind = OP_FORK, .pid = 1 };

	range_op(sim, OP_MADVISE, 1, BASE, PAGES, NULL, SIM_MADV_DONTFORK);
	EXPECT_EQ(sim_cost_bound(sim, &fork), 0);
	range_op(sim, OP_MADVISE, 1, BASE, PAGES, NULL, SIM_MADV_WIPEONFORK);
	range_op(sim, OP_MADVISE, 1, BASE, PAGES, NULL, SIM_MADV_DOFORK);
	/* copied empty: the VMA, no PTE */
	EXPECT_EQ(sim_cost_bound(sim, &fork), 1);
	fork_op(sim, 1);
	EXPECT(last.cost >= 1);
	sim_free(sim);
}

static void mprotect_costs_every_pte_it_changes(void)
{
	struct sim *sim = written_process();

	range_op(sim, OP_MPROTECT, 1, BASE, PAGES, "r--", 0);
	EXPECT(last.cost >= PAGES);
	EXPECT(last.cost < PAGES + 20);
	sim_free(sim);
}

static void a_walk_costs_the_vmas_it_visits(void)
{
	struct sim *sim = new_sim(SIM_MODE_NORMAL, false);
	struct sim_op op = { .kind = OP_FOLIO_REFERENCED };
	int i;

	do_spawn_op(sim);
	mmap_anon(sim, 1, BASE, 1, "rw-", false);
	touch(sim, 1, BASE, true);
	for (i = 0; i < 10; i++)
		fork_op(sim, 1);
	op.pfn = pfn_at(sim, 1, BASE);
	apply(sim, &op);
	EXPECT_EQ(last.walk->visited, 11);
	EXPECT(last.cost >= last.walk->visited + last.walk->tree_probes);
	sim_free(sim);
}

/*
 * A move walks the PTEs it moves, not the pages of the range: 200 moves of
 * a 1 TiB VMA with two pages (a request can ask for them) cost a few steps
 * each; walking 2^28 pages each took minutes and held the session's lock.
 */
static void moving_a_sparse_terabyte_vma_costs_its_ptes(void)
{
	struct sim *sim = new_sim(SIM_MODE_NORMAL, false);
	unsigned long len = 1UL << 40, at = BASE, to = BASE + len;
	unsigned long pfn1, pfn2;
	int i;

	do_spawn_op(sim);
	mmap_anon(sim, 1, at, len >> PAGE_SHIFT, "rw-", false);
	touch(sim, 1, at + PAGE_SIZE, true);
	touch(sim, 1, at + len - PAGE_SIZE, true);
	pfn1 = pfn_at(sim, 1, at + PAGE_SIZE);
	pfn2 = pfn_at(sim, 1, at + len - PAGE_SIZE);
	for (i = 0; i < 200; i++) {
		struct sim_op op = { .kind = OP_MREMAP, .pid = 1, .addr = at,
				     .old_len = len, .new_len = len,
				     .new_addr = to,
				     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };

		EXPECT_EQ(apply(sim, &op), 0);
		EXPECT(last.cost < 40);
		to = at;
		at = op.new_addr;
	}
	EXPECT_EQ(pfn_at(sim, 1, at + PAGE_SIZE), pfn1);
	EXPECT_EQ(pfn_at(sim, 1, at + len - PAGE_SIZE), pfn2);
	EXPECT_EQ(sim_find_mm(sim, 1)->nr_ptes, 2);
	sim_free(sim);
}

int main(void)
{
	RUN(exit_of_1000_pages_keeps_8_rmap_removals_and_counts_the_rest);
	RUN(cost_counts_folded_calls_and_bulk_ptes);
	RUN(a_limit_keeps_that_many_then_folds);
	RUN(folding_a_folded_trace_again_changes_nothing);
	RUN(one_name_is_one_function_whatever_its_literal);
	RUN(cost_bound_of_fork_and_exit_is_what_they_cost_at_least);
	RUN(a_dontfork_vma_costs_a_fork_nothing);
	RUN(mprotect_costs_every_pte_it_changes);
	RUN(a_walk_costs_the_vmas_it_visits);
	RUN(moving_a_sparse_terabyte_vma_costs_its_ptes);
	return harness_summary();
}
