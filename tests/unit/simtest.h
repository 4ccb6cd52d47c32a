/* SPDX-License-Identifier: MIT */
/*
 * simtest.h - building sessions in engine tests: one call per system call,
 * and the invariant checker after every operation.
 */
#ifndef RMAPD_SIMTEST_H
#define RMAPD_SIMTEST_H

#include "harness.h"

static struct sim_result last;

static inline struct sim *new_sim(enum sim_mode mode, bool no_zero_page)
{
	struct sim_config cfg = { .mode = mode, .no_zero_page = no_zero_page };

	return sim_new(&cfg);
}

/* Every test runs the checker after every op: a violation fails it. */
static inline size_t checker_violations(struct sim *sim, bool print)
{
	struct sim_check_report rep = { 0 };
	size_t n = sim_check(sim, &rep), i;

	for (i = 0; print && i < rep.nr; i++)
		fprintf(stderr, "  violation %s: %s\n", rep.v[i].what,
			rep.v[i].detail);
	sim_check_report_free(&rep);
	return n;
}

static bool expect_clean = true;

static inline int apply(struct sim *sim, struct sim_op *op)
{
	int ret = sim_apply(sim, op, &last);

	if (ret) {
		fprintf(stderr, "  refused %s: %s\n", sim_op_name(op->kind),
			sim_reject_reason(sim));
		harness_failed_checks++;
		return -1;
	}
	if (expect_clean && checker_violations(sim, true)) {
		fprintf(stderr, "  after %s\n", sim_op_name(op->kind));
		harness_failed_checks++;
	}
	return last.err;
}

static inline int do_spawn_op(struct sim *sim)
{
	struct sim_op op = { .kind = OP_SPAWN };

	apply(sim, &op);
	return (int)last.value;
}

static inline int prot_of(const char *p)
{
	return (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
	       (p[2] == 'x' ? PROT_EXEC : 0);
}

static inline int mmap_anon(struct sim *sim, int pid, unsigned long addr,
		     unsigned long pages, const char *prot, bool shared)
{
	struct sim_op op = { .kind = OP_MMAP, .pid = pid, .addr = addr,
			     .has_addr = true, .len = pages * PAGE_SIZE,
			     .prot = prot_of(prot),
			     .flags = (shared ? MAP_SHARED : MAP_PRIVATE) |
				      MAP_ANONYMOUS | MAP_FIXED };

	return apply(sim, &op);
}

static inline int mmap_file(struct sim *sim, int pid, unsigned long addr,
		     unsigned long pages, const char *prot, bool shared,
		     const char *file, unsigned long offset_pages)
{
	struct sim_op op = { .kind = OP_MMAP, .pid = pid, .addr = addr,
			     .has_addr = true, .len = pages * PAGE_SIZE,
			     .prot = prot_of(prot),
			     .offset = offset_pages * PAGE_SIZE,
			     .flags = (shared ? MAP_SHARED : MAP_PRIVATE) |
				      MAP_FIXED };

	snprintf(op.name, sizeof(op.name), "%s", file);
	return apply(sim, &op);
}

static inline void new_file(struct sim *sim, const char *name, unsigned long pages)
{
	struct sim_op op = { .kind = OP_FILE, .pages = pages };

	snprintf(op.name, sizeof(op.name), "%s", name);
	apply(sim, &op);
}

static inline int touch(struct sim *sim, int pid, unsigned long addr, bool write)
{
	struct sim_op op = { .kind = OP_ACCESS, .pid = pid, .addr = addr,
			     .write = write };

	return apply(sim, &op);
}

static inline int fork_op(struct sim *sim, int pid)
{
	struct sim_op op = { .kind = OP_FORK, .pid = pid };

	apply(sim, &op);
	return (int)last.value;
}

static inline void exit_op(struct sim *sim, int pid)
{
	struct sim_op op = { .kind = OP_EXIT, .pid = pid };

	apply(sim, &op);
}

static inline int range_op(struct sim *sim, enum sim_op_kind kind, int pid,
		    unsigned long addr, unsigned long pages, const char *prot,
		    int advice)
{
	struct sim_op op = { .kind = kind, .pid = pid, .addr = addr,
			     .len = pages * PAGE_SIZE, .advice = advice };

	if (prot)
		op.prot = prot_of(prot);
	return apply(sim, &op);
}

static inline struct pte *pte_at(struct sim *sim, int pid, unsigned long addr)
{
	struct mm_struct *mm = sim_find_mm(sim, pid);

	return mm ? pte_lookup(mm, addr >> PAGE_SHIFT) : NULL;
}

static inline unsigned long pfn_at(struct sim *sim, int pid, unsigned long addr)
{
	struct pte *pte = pte_at(sim, pid, addr);

	return pte && pte->present ? pte_pfn(pte) : (unsigned long)-1;
}

static inline struct folio *folio_at(struct sim *sim, int pid, unsigned long addr)
{
	struct pte *pte = pte_at(sim, pid, addr);

	return pte && pte->present ? sim_find_folio(sim, pte_pfn(pte)) : NULL;
}

static inline struct vm_area_struct *vma_at(struct sim *sim, int pid,
				     unsigned long addr)
{
	struct mm_struct *mm = sim_find_mm(sim, pid);

	return mm ? find_vma(mm, addr) : NULL;
}

static inline struct swap_slot *swap_slot_at(struct sim *sim, unsigned long id)
{
	struct rb_node *n;

	for (n = rb_first(&sim->swap); n; n = rb_next(n)) {
		struct swap_slot *slot = rb_entry(n, struct swap_slot, node);

		if (slot->id == id)
			return slot;
	}
	return NULL;
}

static inline int swap_slot_find_count(struct sim *sim, unsigned long id)
{
	struct swap_slot *slot = swap_slot_at(sim, id);

	return slot ? slot->count : 0;
}

#endif /* RMAPD_SIMTEST_H */
