// SPDX-License-Identifier: MIT
/*
 * fork.c - kernel/fork.c and the process side of kernel/exit.c: a new
 * process (with an empty or a conventional address space), dup_mmap for
 * fork, and exit_mmap.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define PROG_PAGES	8
#define STACK_PAGES	32

/* The conventional layout: text and data from a program file, bss, stack. */
static void setup_process_layout(struct sim *sim, struct mm_struct *mm)
{
	struct address_space *prog = sim_find_file(sim, SIM_PROG_NAME);
	struct sim_result scratch;
	struct sim_op op;
	unsigned long data, bss;

	if (!prog) {
		unsigned long i;

		prog = file_alloc(sim, 0, SIM_PROG_NAME, PROG_PAGES, false);
		for (i = 0; i < PROG_PAGES; i++) {
			struct folio *folio = folio_alloc(sim, 0);

			folio->mapping = prog;
			folio->index = i;
			prog->pages[i] = folio;
		}
	}
	memset(&op, 0, sizeof(op));
	op.kind = OP_MMAP;
	snprintf(op.name, sizeof(op.name), "%s", SIM_PROG_NAME);
	/* text: r-x, file pages 0-3 */
	op.addr = SIM_TEXT_START;
	op.len = 4 * PAGE_SIZE;
	op.prot = PROT_READ | PROT_EXEC;
	op.flags = MAP_PRIVATE | MAP_FIXED;
	memset(&scratch, 0, sizeof(scratch));
	do_mmap(sim, mm, &op, &scratch);
	/* data: rw-, file pages 4-5 */
	data = SIM_TEXT_START + 4 * PAGE_SIZE;
	op.addr = data;
	op.len = 2 * PAGE_SIZE;
	op.offset = 4 * PAGE_SIZE;
	op.prot = PROT_READ | PROT_WRITE;
	do_mmap(sim, mm, &op, &scratch);
	/* bss: anonymous rw- right after data */
	bss = data + 2 * PAGE_SIZE;
	op.addr = bss;
	op.offset = 0;
	op.name[0] = '\0';
	op.flags = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
	do_mmap(sim, mm, &op, &scratch);
	mm->start_brk = mm->brk = bss + 2 * PAGE_SIZE;
	/* the stack: grows down from the top */
	op.addr = SIM_STACK_TOP - STACK_PAGES * PAGE_SIZE;
	op.len = STACK_PAGES * PAGE_SIZE;
	do_mmap(sim, mm, &op, &scratch);
	find_vma(mm, op.addr)->vm_flags |= VM_GROWSDOWN;
}

int do_spawn(struct sim *sim, enum spawn_layout layout, struct sim_result *res)
{
	struct mm_struct *mm = mm_alloc(sim, (int)sim->next_pid);

	trace(sim, "mm_alloc", 1, T_NUM("pid", mm->pid));
	mm->start_brk = mm->brk = 0x1000000UL;
	if (layout == SPAWN_PROCESS)
		setup_process_layout(sim, mm);
	res->value = (unsigned long)mm->pid;
	return 0;
}

/*
 * dup_mmap: the child gets a copy of every VMA but VM_DONTCOPY ones; a
 * VM_WIPEONFORK VMA starts empty, without anon_vma; the others are chained
 * by anon_vma_fork and get their PTEs copied write-protected.  A file VMA's
 * copy enters i_mmap right after the original, so a parent that forks twice
 * is walked parent, second child, first child.
 */
int dup_mmap(struct sim *sim, struct mm_struct *oldmm, struct sim_result *res)
{
	struct mm_struct *mm = mm_alloc(sim, (int)sim->next_pid);
	struct vm_area_struct *mpnt;

	mm->ppid = oldmm->pid;
	mm->start_brk = oldmm->start_brk;
	mm->brk = oldmm->brk;
	mm->mmap_base = oldmm->mmap_base;
	trace(sim, "dup_mmap", 2, T_NUM("parent", oldmm->pid),
	      T_NUM("child", mm->pid));
	for (mpnt = vma_first(oldmm); mpnt; mpnt = vma_next(mpnt)) {
		struct vm_area_struct *tmp;

		if (mpnt->vm_flags & VM_DONTCOPY) {
			/* VM_DONTCOPY: only the accounting sees it */
			trace(sim, "vm_stat_account", 2, T_ID("vma", mpnt->id),
			      T_NUM("dontcopy", 1));
			continue;
		}
		tmp = vm_area_dup(sim, mpnt);
		tmp->vm_mm = mm;
		if (tmp->vm_flags & VM_WIPEONFORK)
			tmp->anon_vma = NULL;	/* a clean slate */
		trace(sim, "vm_area_dup", 2, T_ID("vma", tmp->id),
		      T_ID("from", mpnt->id));
		if (!(tmp->vm_flags & VM_WIPEONFORK))
			anon_vma_fork(sim, tmp, mpnt);
		if (tmp->vm_file)
			vma_interval_tree_insert_after(sim, tmp, mpnt);
		vma_mm_append(mm, tmp);
		if (!(tmp->vm_flags & VM_WIPEONFORK))
			copy_page_range(sim, tmp, mpnt);
	}
	vma_mm_balance(mm);
	pte_blocks_balance(mm);
	res->value = (unsigned long)mm->pid;
	return 0;
}

/* exit_mmap: unmap everything, then free the page tables and the VMAs. */
void exit_mmap(struct sim *sim, struct mm_struct *mm)
{
	struct vm_area_struct *vma, *next;
	struct mm_struct *child;

	trace(sim, "exit_mmap", 1, T_NUM("pid", mm->pid));
	for (vma = vma_first(mm); vma; vma = vma_next(vma))
		zap_page_range(sim, vma, vma->vm_start, vma->vm_end);
	for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
		unlink_anon_vmas(sim, vma);
		unlink_file_vma(sim, vma);
	}
	for (vma = vma_first(mm); vma; vma = next) {
		next = vma_next(vma);
		vma_mm_remove(mm, vma);
		remove_vma(sim, vma);
	}
	/* orphans are reparented outside the simulated tree */
	list_for_each_entry(child, &sim->mms, node)
		if (child->ppid == mm->pid)
			child->ppid = 0;
	mm_free(sim, mm);
}
