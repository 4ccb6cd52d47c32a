// SPDX-License-Identifier: MIT
/*
 * ops.c - the engine's front door: sim_apply() checks an operation against
 * the session (the pid exists, the limits hold) before anything changes,
 * then runs the kernel path that the system call or event would run.  What
 * the simulated kernel refuses (EINVAL, ENOMEM, SIGSEGV...) is an outcome in
 * the result; what no kernel would be asked (an unknown pid, a session
 * limit) is a refusal, and leaves the session untouched.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const op_names[OP__COUNT] = {
	[OP_SPAWN] = "spawn",
	[OP_FILE] = "file",
	[OP_MMAP] = "mmap",
	[OP_MUNMAP] = "munmap",
	[OP_MPROTECT] = "mprotect",
	[OP_MREMAP] = "mremap",
	[OP_MADVISE] = "madvise",
	[OP_BRK] = "brk",
	[OP_ACCESS] = "access",
	[OP_FORK] = "fork",
	[OP_EXIT] = "exit",
	[OP_TRY_TO_UNMAP] = "try_to_unmap",
	[OP_FOLIO_REFERENCED] = "folio_referenced",
};

const char *sim_op_name(enum sim_op_kind kind)
{
	return (unsigned int)kind < OP__COUNT ? op_names[kind] : "?";
}

int sim_op_from_name(const char *name)
{
	int i;

	for (i = 0; i < OP__COUNT; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -1;
}

static const struct {
	int advice;
	const char *name;
} advice_names[] = {
	{ SIM_MADV_DONTNEED, "dontneed" },
	{ SIM_MADV_DONTFORK, "dontfork" },
	{ SIM_MADV_DOFORK, "dofork" },
	{ SIM_MADV_WIPEONFORK, "wipeonfork" },
	{ SIM_MADV_KEEPONFORK, "keeponfork" },
	{ SIM_MADV_PAGEOUT, "pageout" },
};

const char *sim_advice_name(int advice)
{
	size_t i;

	for (i = 0; i < sizeof(advice_names) / sizeof(advice_names[0]); i++)
		if (advice_names[i].advice == advice)
			return advice_names[i].name;
	return "?";
}

int sim_advice_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(advice_names) / sizeof(advice_names[0]); i++)
		if (!strcmp(advice_names[i].name, name))
			return advice_names[i].advice;
	return -1;
}

const char *sim_errno_name(int err)
{
	switch (err) {
	case 0: return "ok";
	case SIM_EPERM: return "EPERM";
	case SIM_ENOENT: return "ENOENT";
	case SIM_EAGAIN: return "EAGAIN";
	case SIM_ENOMEM: return "ENOMEM";
	case SIM_EACCES: return "EACCES";
	case SIM_EFAULT: return "EFAULT";
	case SIM_EEXIST: return "EEXIST";
	case SIM_EINVAL: return "EINVAL";
	case SIM_SIGBUS: return "SIGBUS";
	case SIM_SIGSEGV: return "SIGSEGV";
	default: return "E?";
	}
}

const char *sim_mode_name(enum sim_mode mode)
{
	return mode == SIM_MODE_LEGACY ? "legacy" : "normal";
}

int kerr(struct sim_result *res, int err, const char *reason)
{
	res->err = err;
	res->reason = reason;
	return err;
}

int sim_reject(struct sim *sim, int code, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sim->reason, sizeof(sim->reason), fmt, ap);
	va_end(ap);
	sim->reject_field = field;
	return code;
}

const char *sim_reject_reason(const struct sim *sim)
{
	return sim->reason;
}

const char *sim_reject_field(const struct sim *sim)
{
	return sim->reject_field ? sim->reject_field : "";
}

/* ---- limits, checked before anything changes ---- */

static int need_vmas(struct sim *sim, unsigned long n)
{
	unsigned long max = sim->cfg.limits.max_vmas;

	if (sim->nr_vmas + n > max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "op",
				  "the session's VMA limit (%lu) would be "
				  "exceeded", max);
	return 0;
}

static int need_frames(struct sim *sim, unsigned long n)
{
	unsigned long max = sim->cfg.limits.max_frames;

	if (sim->nr_frames + n > max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "op",
				  "the session's frame limit (%lu) would be "
				  "exceeded", max);
	return 0;
}

static int need_process(struct sim *sim)
{
	unsigned long max = sim->cfg.limits.max_procs;

	if (sim->nr_mms >= max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "op",
				  "the session's process limit (%lu) is reached",
				  max);
	return 0;
}

static int need_file(struct sim *sim)
{
	unsigned long max = sim->cfg.limits.max_files;

	if (sim->nr_files >= max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "op",
				  "the session's file limit (%lu) is reached",
				  max);
	return 0;
}

/*
 * The process layout maps the program file, which its first use makes
 * (setup_process_layout): that file counts against the limit like any
 * other, or a dump of the session would hold more than sim_load takes.
 */
static int need_layout(struct sim *sim)
{
	if (!sim_find_file(sim, SIM_PROG_NAME) && need_file(sim))
		return SIM_REJECT_LIMIT;
	return need_vmas(sim, 4) ? SIM_REJECT_LIMIT : need_frames(sim, 8);
}

static bool valid_file_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int check_file_op(struct sim *sim, const struct sim_op *op)
{
	unsigned long max = sim->cfg.limits.max_file_pages;

	if (!valid_file_name(op->name))
		return sim_reject(sim, SIM_REJECT_INVALID, "name",
				  "a file name is 1-63 characters of "
				  "A-Z a-z 0-9 . _ -");
	if (sim_find_file(sim, op->name))
		return sim_reject(sim, SIM_REJECT_FILE_EXISTS, "name",
				  "a file named '%s' exists", op->name);
	if (op->pages == 0 || op->pages > max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "pages",
				  "a file has 1 to %lu pages", max);
	if (need_file(sim))
		return SIM_REJECT_LIMIT;
	return need_frames(sim, op->pages);
}

/*
 * How many VMAs [addr, addr + len) cuts in two: one straddling its start,
 * one straddling its end (the same VMA counts twice).  *one: a single VMA
 * straddles both ends, so the range is a hole punched inside it.
 */
static unsigned long range_cuts(struct mm_struct *mm, unsigned long addr,
				unsigned long len, bool *one)
{
	unsigned long end = addr + len;
	struct vm_area_struct *a = find_vma(mm, addr);
	struct vm_area_struct *b = end > addr ? find_vma(mm, end - 1) : NULL;
	bool cut_start = a && a->vm_start < addr, cut_end = b && b->vm_end > end;

	*one = cut_start && cut_end && a == b;
	return cut_start + cut_end;
}

static int need_ptes(struct sim *sim, unsigned long n)
{
	unsigned long max = sim->cfg.limits.max_ptes, have = 0;
	struct mm_struct *mm;

	list_for_each_entry(mm, &sim->mms, node)
		have += mm->nr_ptes;
	if (have + n > max)
		return sim_reject(sim, SIM_REJECT_LIMIT, "op",
				  "the session's page-table entry limit (%lu) "
				  "would be exceeded", max);
	return 0;
}

/*
 * An access adds at most one page, or two where a private write fault may
 * read a page in before it copies it: a file page (do_cow_fault) or a
 * swapped page (do_swap_page, then do_wp_page when another process still
 * holds the entry); a file read fault maps up to fault_around_pages PTEs.
 */
static int check_access(struct sim *sim, struct mm_struct *mm,
			const struct sim_op *op)
{
	struct vm_area_struct *vma = find_vma(mm, op->addr);
	bool file = vma && vma->vm_file;
	bool copy = vma && op->write && !(vma->vm_flags & VM_SHARED);
	struct pte *pte;

	if (need_ptes(sim, file ? FAULT_AROUND_PAGES : 1))
		return SIM_REJECT_LIMIT;
	if (copy && !file) {
		pte = pte_lookup(mm, op->addr >> PAGE_SHIFT);
		copy = pte && !pte->present && pte_swap(pte);
	}
	return need_frames(sim, copy ? 2 : 1);
}

/* Refuse what would touch a missing object or break a limit. */
static int check_op(struct sim *sim, const struct sim_op *op,
		    struct mm_struct **mmp)
{
	struct mm_struct *mm = NULL;
	bool one;

	switch (op->kind) {
	case OP_SPAWN:
		if (need_process(sim))
			return SIM_REJECT_LIMIT;
		if (op->layout == SPAWN_PROCESS)
			return need_layout(sim);
		return 0;
	case OP_FILE:
		return check_file_op(sim, op);
	case OP_TRY_TO_UNMAP:
	case OP_FOLIO_REFERENCED:
		if (!sim_find_folio(sim, op->pfn))
			return sim_reject(sim, SIM_REJECT_NO_FRAME, "pfn",
					  "no frame with pfn %lu", op->pfn);
		return 0;
	default:
		break;
	}
	mm = sim_find_mm(sim, op->pid);
	if (!mm)
		return sim_reject(sim, SIM_REJECT_NO_PID, "pid",
				  "no process with pid %d", op->pid);
	*mmp = mm;
	switch (op->kind) {
	case OP_FORK:
		if (need_process(sim) || need_ptes(sim, mm->nr_ptes))
			return SIM_REJECT_LIMIT;
		return need_vmas(sim, mm->map_count);
	case OP_MMAP:
		if (!(op->flags & MAP_ANONYMOUS) && !sim_find_file(sim, op->name))
			return sim_reject(sim, SIM_REJECT_NO_FILE, "file",
					  "no file named '%s'", op->name);
		if ((op->flags & MAP_ANONYMOUS) && (op->flags & MAP_SHARED)) {
			/* its shmem object is a file: the same limits */
			if (need_file(sim))
				return SIM_REJECT_LIMIT;
			if (op->len > sim->cfg.limits.max_file_pages * PAGE_SIZE)
				return sim_reject(sim, SIM_REJECT_LIMIT, "len",
						  "a shared anonymous mapping "
						  "is at most %lu pages",
						  sim->cfg.limits.max_file_pages);
		}
		/* the new VMA, and one more if MAP_FIXED punches a hole */
		if (op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
			range_cuts(mm, op->addr, op->len, &one);
		else
			one = false;
		return need_vmas(sim, 1 + one);
	case OP_MUNMAP:
		/* only a hole inside one VMA leaves one more VMA behind */
		range_cuts(mm, op->addr, op->len, &one);
		return need_vmas(sim, one);
	case OP_BRK:
		return need_vmas(sim, 1);
	case OP_MPROTECT:
	case OP_MADVISE:
		/* each cut splits a VMA; merges only remove VMAs */
		return need_vmas(sim, range_cuts(mm, op->addr, op->len, &one));
	case OP_MREMAP:
		return need_vmas(sim, 3);
	case OP_ACCESS:
		return check_access(sim, mm, op);
	default:
		return 0;
	}
}

/*
 * What a fork or an exit is sure to cost (see struct sim_result): a step
 * per VMA copied or removed, every PTE copy_page_range copies or exit_mmap
 * zaps.  Other ops depend on more than the state can say before they run.
 */
unsigned long sim_cost_bound(struct sim *sim, const struct sim_op *op)
{
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	unsigned long n = 0;

	if (op->kind != OP_FORK && op->kind != OP_EXIT)
		return 0;
	mm = sim_find_mm(sim, op->pid);
	if (!mm)
		return 0;
	for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
		bool copied = !(vma->vm_flags & (VM_DONTCOPY | VM_WIPEONFORK)) &&
			      vma->anon_vma;

		if (op->kind == OP_FORK && (vma->vm_flags & VM_DONTCOPY))
			continue;
		n++;		/* vm_area_dup, or remove_vma */
		if (op->kind == OP_EXIT || copied)
			n += count_ptes(mm, vma->vm_start, vma->vm_end);
	}
	return n;
}

/* the entry of a system call on a range, before any of its checks */
static void trace_syscall(struct sim *sim, const char *fn,
			  const struct sim_op *op)
{
	trace(sim, fn, 2, T_ADDR("start", op->addr), T_NUM("len", op->len));
}

static int run_op(struct sim *sim, struct mm_struct *mm,
		  const struct sim_op *op, struct sim_result *res)
{
	struct folio *folio;
	int err;

	switch (op->kind) {
	case OP_SPAWN:
		return do_spawn(sim, op->layout, res);
	case OP_FILE: {
		struct address_space *f =
			file_alloc(sim, 0, op->name, op->pages, false);
		unsigned long i;

		/* a file just written: every page is in the page cache */
		for (i = 0; i < op->pages; i++) {
			folio = folio_alloc(sim, 0);
			folio->mapping = f;
			folio->index = i;
			f->pages[i] = folio;
		}
		trace(sim, "filemap_add_folio", 2, T_ID("file", f->id),
		      T_WORK("pages", op->pages));
		res->value = f->id;
		return 0;
	}
	case OP_MMAP:
		return do_mmap(sim, mm, op, res);
	case OP_MUNMAP:
		trace_syscall(sim, "__vm_munmap", op);
		err = do_munmap(sim, mm, op->addr, op->len);
		return err ? kerr(res, err, "addr must be page aligned and "
				  "the range inside the address space") : 0;
	case OP_MPROTECT:
		trace_syscall(sim, "do_mprotect_pkey", op);
		err = do_mprotect(sim, mm, op->addr, op->len, op->prot);
		if (err == SIM_EINVAL)
			return kerr(res, err, "addr is not page aligned");
		return err ? kerr(res, err, "the range is not fully mapped") : 0;
	case OP_MREMAP:
		return do_mremap(sim, mm, op, res);
	case OP_MADVISE:
		trace_syscall(sim, "do_madvise", op);
		err = do_madvise(sim, mm, op->addr, op->len, op->advice);
		if (err == SIM_EINVAL)
			return kerr(res, err, "bad address, advice, or "
				    "MADV_WIPEONFORK on a non-private-anonymous "
				    "mapping");
		return err ? kerr(res, err, "the range is not fully mapped") : 0;
	case OP_BRK:
		trace(sim, "__do_sys_brk", 1, T_ADDR("brk", op->addr));
		return do_brk(sim, mm, op->addr, res);
	case OP_ACCESS:
		return handle_mm_fault(sim, mm, op->addr, op->write, res);
	case OP_FORK:
		return dup_mmap(sim, mm, res);
	case OP_EXIT:
		exit_mmap(sim, mm);
		return 0;
	case OP_TRY_TO_UNMAP:
		return try_to_unmap_op(sim, sim_find_folio(sim, op->pfn), res);
	case OP_FOLIO_REFERENCED:
		return folio_referenced_op(sim, sim_find_folio(sim, op->pfn),
					   res);
	default:
		return kerr(res, SIM_EINVAL, "unknown operation");
	}
}

int sim_apply(struct sim *sim, const struct sim_op *op, struct sim_result *res)
{
	struct mm_struct *mm = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	sim_trace_reset(&sim->trace);
	sim->cost = 0;
	sim->reason[0] = '\0';
	sim->reject_field = NULL;
	if ((unsigned int)op->kind >= OP__COUNT)
		return sim_reject(sim, SIM_REJECT_INVALID, "op",
				  "unknown operation");
	ret = check_op(sim, op, &mm);
	if (ret)
		return ret;
	run_op(sim, mm, op, res);
	sim->nr_ops++;
	trace_flush(&sim->trace);
	res->events = sim->trace.ev;
	res->nr_events = sim->trace.nr;
	res->events_omitted = sim->trace.omitted;
	res->cost = sim->cost;
	return SIM_APPLIED;
}
