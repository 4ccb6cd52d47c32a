// SPDX-License-Identifier: MIT
/*
 * vma.c - mm/vma.c, mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c:
 * creating, splitting, merging and removing VMAs.
 *
 * Splits follow __split_vma: the new VMA is the part below the split point
 * when new_below, else the part above, and it is chained (anon_vma_clone)
 * to everything the original is chained to.  Merges follow
 * vma_merge_new_range and vma_merge_existing_range: same flags, same file,
 * contiguous vm_pgoff, and anon_vma compatibility - equal anon_vmas, or one
 * side without any and the other never forked into (a singular chain).
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define MMAP_MIN_ADDR	0x10000UL

unsigned long calc_vm_flags(unsigned int prot, unsigned int flags)
{
	unsigned long vm_flags = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	if (prot & PROT_READ)
		vm_flags |= VM_READ;
	if (prot & PROT_WRITE)
		vm_flags |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm_flags |= VM_EXEC;
	if (flags & MAP_SHARED)
		vm_flags |= VM_SHARED | VM_MAYSHARE;
	return vm_flags;
}

/*
 * do_mmap honours MAP_NORESERVE unless overcommit is strict; a mapping is
 * charged (accountable_mapping) when it is private, writable and not
 * VM_NORESERVE.
 */
static unsigned long mmap_account_flags(const struct sim *sim,
					unsigned long vm_flags,
					unsigned int flags)
{
	if ((flags & MAP_NORESERVE) &&
	    sim->cfg.overcommit != SIM_OVERCOMMIT_NEVER)
		vm_flags |= VM_NORESERVE;
	if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
		vm_flags |= VM_ACCOUNT;
	return vm_flags;
}

static unsigned long page_align(unsigned long len)
{
	return (len + PAGE_SIZE - 1) & PAGE_MASK;
}

/* ---- linking ---- */

void link_file_vma(struct sim *sim, struct vm_area_struct *vma)
{
	if (vma->vm_file)
		vma_interval_tree_insert(sim, vma);
}

static void shmem_release(struct sim *sim, struct address_space *mapping)
{
	unsigned long i;

	for (i = 0; i < mapping->nr_pages; i++) {
		struct folio *folio = mapping->pages[i];

		if (mapping->swap[i])	/* shmem_free_swap */
			swap_free(sim, mapping->swap[i]);
		if (!folio)
			continue;
		mapping->pages[i] = NULL;
		folio_put_if_unused(sim, folio);
	}
	trace(sim, "shmem_evict_inode", 1, T_ID("file", mapping->id));
	file_free(sim, mapping);
}

void unlink_file_vma(struct sim *sim, struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file;

	if (!mapping)
		return;
	vma_interval_tree_remove(sim, vma);
	vma->vm_file = NULL;
	if (--mapping->nr_mappers == 0 && mapping->shmem)
		shmem_release(sim, mapping);
}

struct vm_area_struct *vm_area_dup(struct sim *sim,
				    struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = vm_area_alloc(sim, orig->vm_mm, 0);

	vma->vm_start = orig->vm_start;
	vma->vm_end = orig->vm_end;
	vma->vm_pgoff = orig->vm_pgoff;
	vma->vm_flags = orig->vm_flags;
	vma->vm_file = orig->vm_file;
	vma->anon_vma = orig->anon_vma;
	if (vma->vm_file)
		vma->vm_file->nr_mappers++;
	return vma;
}

/* Free a VMA already off every tree. */
void remove_vma(struct sim *sim, struct vm_area_struct *vma)
{
	trace(sim, "remove_vma", 1, T_ID("vma", vma->id));
	vm_area_free(sim, vma);
}

/*
 * vma_prepare/vma_complete around a change of range: the interval trees are
 * keyed by pgoff range, so the VMA and its chains leave them and come back.
 */
static void vma_set_range(struct sim *sim, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end,
			  unsigned long pgoff)
{
	struct anon_vma_chain *avc;

	if (vma->vm_file)
		itree_remove(&vma->shared, &vma->vm_file->i_mmap);
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_remove(avc);
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	if (vma->vm_file) {
		vma->shared.start = pgoff;
		vma->shared.last = pgoff + vma_pages(vma) - 1;
		itree_insert(&vma->shared, &vma->vm_file->i_mmap);
	}
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_insert(avc);
	trace(sim, "vma_set_range", 4, T_ID("vma", vma->id),
	      T_ADDR("start", start), T_ADDR("end", end), T_NUM("pgoff", pgoff));
}

/*
 * __split_vma: the new VMA takes [vm_start, addr) when new_below, else
 * [addr, vm_end); the original keeps the rest.  Returns the new VMA.
 */
static struct vm_area_struct *split_vma(struct sim *sim,
					struct vm_area_struct *vma,
					unsigned long addr, bool new_below)
{
	struct vm_area_struct *new = vm_area_dup(sim, vma);
	unsigned long delta = (addr - vma->vm_start) >> PAGE_SHIFT;

	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += delta;
	}
	trace(sim, "__split_vma", 4, T_ID("vma", vma->id), T_ID("new", new->id),
	      T_ADDR("addr", addr), T_NUM("new_below", new_below));
	anon_vma_clone(sim, new, vma);
	/* vma_prepare links the new VMA before the old one is re-keyed */
	link_file_vma(sim, new);
	if (new_below)
		vma_set_range(sim, vma, addr, vma->vm_end,
			      vma->vm_pgoff + delta);
	else
		vma_set_range(sim, vma, vma->vm_start, addr, vma->vm_pgoff);
	vma_mm_insert(vma->vm_mm, new);
	return new;
}

/* ---- merging ---- */

/* Chained to a parent's anon_vmas: its pages may be shared with one. */
static bool vma_is_fork_child(const struct vm_area_struct *vma)
{
	return vma && vma->anon_vma && !list_is_singular(&vma->anon_vma_chain);
}

struct merge_req {
	unsigned long start, end, pgoff, flags;
	struct address_space *file;
	struct vm_area_struct *middle;		/* existing range, or NULL */
	struct vm_area_struct *copied_from;	/* mremap's source VMA */
	struct anon_vma *anon_vma;
	bool legacy;				/* Linux 6.0's vma_merge rule */
};

/*
 * Only one side has an anon_vma: the merged VMA will use it, which is safe
 * unless the VMA that brings it was forked (its pages may belong to anon_vmas
 * the other side is not chained to).  Both have one: they must be the same.
 */
static bool is_mergeable_anon_vma(const struct vm_area_struct *tgt,
				  const struct merge_req *req)
{
	/*
	 * Linux 6.0 never gave a VMA without an anon_vma another's: its
	 * is_mergeable_anon_vma asked for a singular chain on the side that
	 * has none, which an empty chain is not (dup_anon_vma came later).
	 */
	if (!tgt->anon_vma && req->anon_vma && req->legacy)
		return false;
	if (!tgt->anon_vma && req->anon_vma)
		return !vma_is_fork_child(req->middle) &&
		       !vma_is_fork_child(req->copied_from);
	if (tgt->anon_vma && !req->anon_vma)
		return !vma_is_fork_child(tgt);
	return tgt->anon_vma == req->anon_vma;
}

static bool is_mergeable_vma(const struct vm_area_struct *tgt,
			     const struct merge_req *req)
{
	return tgt->vm_flags == req->flags && tgt->vm_file == req->file;
}

static bool can_merge_after(const struct vm_area_struct *prev,
			    const struct merge_req *req)
{
	return prev && prev->vm_end == req->start &&
	       is_mergeable_vma(prev, req) &&
	       is_mergeable_anon_vma(prev, req) &&
	       prev->vm_pgoff + vma_pages(prev) == req->pgoff;
}

static bool can_merge_before(const struct vm_area_struct *next,
			     const struct merge_req *req)
{
	return next && next->vm_start == req->end &&
	       is_mergeable_vma(next, req) &&
	       is_mergeable_anon_vma(next, req) &&
	       next->vm_pgoff == req->pgoff +
				 ((req->end - req->start) >> PAGE_SHIFT);
}

static bool are_anon_vmas_compatible(const struct vm_area_struct *a,
				     const struct vm_area_struct *b)
{
	return !a->anon_vma || !b->anon_vma || a->anon_vma == b->anon_vma;
}

static void dup_anon_vma(struct sim *sim, struct vm_area_struct *dst,
			 struct vm_area_struct *src)
{
	if (!src->anon_vma || dst->anon_vma)
		return;
	dst->anon_vma = src->anon_vma;
	anon_vma_clone(sim, dst, src);
}

/* A VMA absorbed by a merge: its pages now belong to the survivor. */
static void vma_merge_remove(struct sim *sim, struct vm_area_struct *vma)
{
	trace(sim, "vma_complete", 1, T_ID("remove", vma->id));
	unlink_anon_vmas(sim, vma);	/* anon_vma_merge */
	unlink_file_vma(sim, vma);
	vma_mm_remove(vma->vm_mm, vma);
	remove_vma(sim, vma);
}

static struct vm_area_struct *vma_prev_adjacent(struct mm_struct *mm,
						unsigned long start)
{
	struct vm_area_struct *prev = start ? find_vma(mm, start - 1) : NULL;

	return prev && prev->vm_end == start ? prev : NULL;
}

/*
 * vma_merge_new_range: can [start,end) join its neighbours instead of
 * becoming a VMA of its own?  Returns the VMA that now covers it, or NULL.
 */
static struct vm_area_struct *vma_merge_new_range(struct sim *sim,
						  struct mm_struct *mm,
						  const struct merge_req *req)
{
	struct vm_area_struct *prev = vma_prev_adjacent(mm, req->start);
	struct vm_area_struct *next = find_vma(mm, req->end);
	bool left = can_merge_after(prev, req);
	bool right = can_merge_before(next, req) &&
		     (!left || are_anon_vmas_compatible(prev, next));

	if (left && right) {
		unsigned long end = next->vm_end;

		dup_anon_vma(sim, prev, next);
		vma_merge_remove(sim, next);
		vma_set_range(sim, prev, prev->vm_start, end, prev->vm_pgoff);
		trace(sim, "vma_merge_new_range", 2, T_ID("vma", prev->id),
		      T_NUM("both", 1));
		return prev;
	}
	if (left) {
		vma_set_range(sim, prev, prev->vm_start, req->end,
			      prev->vm_pgoff);
		trace(sim, "vma_merge_new_range", 1, T_ID("vma", prev->id));
		return prev;
	}
	if (right) {
		vma_set_range(sim, next, req->start, next->vm_end, req->pgoff);
		trace(sim, "vma_merge_new_range", 1, T_ID("vma", next->id));
		return next;
	}
	return NULL;
}

/*
 * vma_modify: give [start,end) of vma the flags newflags, merging with a
 * neighbour where vma_merge_existing_range allows it, else splitting vma so
 * that the original keeps exactly [start,end).  Returns the VMA covering it.
 */
static struct vm_area_struct *vma_modify(struct sim *sim,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long end,
					 unsigned long newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct merge_req req = {
		.start = start, .end = end, .flags = newflags,
		.file = vma->vm_file, .middle = vma, .anon_vma = vma->anon_vma,
		.pgoff = linear_page_index(vma, start), .legacy = sim_legacy(sim),
	};
	struct vm_area_struct *prev = vma_prev_adjacent(mm, start);
	struct vm_area_struct *next = find_vma(mm, end);
	bool left_side = start == vma->vm_start;
	bool right_side = end == vma->vm_end;
	bool left = left_side && can_merge_after(prev, &req);
	bool right = right_side && next != vma && can_merge_before(next, &req);

	if (left && right && !are_anon_vmas_compatible(prev, next))
		right = false;
	if (left && right) {
		unsigned long nend = next->vm_end;

		dup_anon_vma(sim, prev, next->anon_vma ? next : vma);
		vma_merge_remove(sim, vma);
		vma_merge_remove(sim, next);
		vma_set_range(sim, prev, prev->vm_start, nend, prev->vm_pgoff);
		trace(sim, "vma_merge_existing_range", 2, T_ID("vma", prev->id),
		      T_NUM("both", 1));
		return prev;
	}
	if (left) {
		dup_anon_vma(sim, prev, vma);
		if (right_side)
			vma_merge_remove(sim, vma);
		else
			vma_set_range(sim, vma, end, vma->vm_end,
				      linear_page_index(vma, end));
		vma_set_range(sim, prev, prev->vm_start, end, prev->vm_pgoff);
		trace(sim, "vma_merge_existing_range", 1, T_ID("vma", prev->id));
		return prev;
	}
	if (right) {
		dup_anon_vma(sim, next, vma);
		if (left_side)
			vma_merge_remove(sim, vma);
		else
			vma_set_range(sim, vma, vma->vm_start, start,
				      vma->vm_pgoff);
		vma_set_range(sim, next, start, next->vm_end, req.pgoff);
		trace(sim, "vma_merge_existing_range", 1, T_ID("vma", next->id));
		return next;
	}
	if (vma->vm_start < start)
		split_vma(sim, vma, start, true);
	if (vma->vm_end > end)
		split_vma(sim, vma, end, false);
	vma->vm_flags = newflags;
	return vma;
}

/* ---- placement ---- */

static bool range_is_free(struct mm_struct *mm, unsigned long start,
			  unsigned long end)
{
	struct vm_area_struct *vma = find_vma_after(mm, start);

	return !vma || vma->vm_start >= end;
}

/* unmapped_area_topdown: the highest gap below mmap_base that fits. */
static unsigned long get_unmapped_area(struct mm_struct *mm,
				       unsigned long hint, unsigned long len)
{
	struct rb_node *n;
	unsigned long top = mm->mmap_base;

	if (hint && PAGE_ALIGNED(hint) && hint >= MMAP_MIN_ADDR &&
	    hint <= TASK_SIZE - len && range_is_free(mm, hint, hint + len))
		return hint;
	for (n = rb_last(&mm->mm_mt); n; n = rb_prev(n)) {
		struct vm_area_struct *vma =
			rb_entry(n, struct vm_area_struct, mm_node);

		if (vma->vm_start >= top)
			continue;
		if (vma->vm_end <= top && top - vma->vm_end >= len)
			return top - len;
		top = vma->vm_start;
	}
	if (top >= MMAP_MIN_ADDR + len)
		return top - len;
	return 0;
}

/* ---- mmap ---- */

static struct vm_area_struct *new_vma(struct sim *sim, struct mm_struct *mm,
				      unsigned long start, unsigned long end,
				      unsigned long pgoff, unsigned long flags,
				      struct address_space *file)
{
	struct vm_area_struct *vma = vm_area_alloc(sim, mm, 0);

	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma->vm_flags = flags;
	vma->vm_file = file;
	if (file)
		file->nr_mappers++;
	link_file_vma(sim, vma);
	vma_mm_insert(mm, vma);
	trace(sim, "vma_link", 4, T_ID("vma", vma->id), T_ADDR("start", start),
	      T_ADDR("end", end), T_NUM("pgoff", pgoff));
	return vma;
}

static struct address_space *shmem_zero_setup(struct sim *sim,
					      unsigned long pages)
{
	struct address_space *mapping;
	char name[64];

	snprintf(name, sizeof(name), "dev/zero#%lu", sim->next_file_id);
	mapping = file_alloc(sim, 0, name, pages, true);
	trace(sim, "shmem_zero_setup", 2, T_ID("file", mapping->id),
	      T_NUM("pages", pages));
	return mapping;
}

int do_mmap(struct sim *sim, struct mm_struct *mm, const struct sim_op *op,
	    struct sim_result *res)
{
	unsigned int type = op->flags & (MAP_SHARED | MAP_PRIVATE);
	bool fixed = op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	bool anon = op->flags & MAP_ANONYMOUS;
	unsigned long len, addr = op->addr, pgoff, flags;
	struct address_space *file = NULL;
	struct vm_area_struct *vma;
	struct merge_req req;

	trace(sim, "do_mmap", 3, T_ADDR("addr", addr), T_NUM("len", op->len),
	      T_NUM("flags", op->flags));
	if (!op->len)
		return kerr(res, SIM_EINVAL, "len is 0");
	len = page_align(op->len);
	if (!len || len > TASK_SIZE)
		return kerr(res, SIM_ENOMEM, "len is larger than the address space");
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return kerr(res, SIM_EINVAL,
			    "exactly one of MAP_SHARED and MAP_PRIVATE is needed");
	if (!anon) {
		file = sim_find_file(sim, op->name);
		if (!PAGE_ALIGNED(op->offset))
			return kerr(res, SIM_EINVAL, "offset is not page aligned");
	}
	if (fixed) {
		if (!PAGE_ALIGNED(addr))
			return kerr(res, SIM_EINVAL,
				    "MAP_FIXED needs a page-aligned addr");
		if (addr > TASK_SIZE - len || addr < MMAP_MIN_ADDR)
			return kerr(res, SIM_ENOMEM,
				    "the range lies outside the user address space");
		if ((op->flags & MAP_FIXED_NOREPLACE) &&
		    !range_is_free(mm, addr, addr + len))
			return kerr(res, SIM_EEXIST,
				    "MAP_FIXED_NOREPLACE: the range is mapped");
	} else {
		addr = get_unmapped_area(mm, addr & PAGE_MASK, len);
		if (!addr)
			return kerr(res, SIM_ENOMEM, "no gap large enough");
	}
	flags = mmap_account_flags(sim, calc_vm_flags(op->prot, type),
				   op->flags);
	if (file)
		pgoff = op->offset >> PAGE_SHIFT;
	else if (type == MAP_SHARED)
		pgoff = 0;
	else
		pgoff = addr >> PAGE_SHIFT;
	trace(sim, "mmap_region", 3, T_ADDR("addr", addr), T_NUM("len", len),
	      T_NUM("pgoff", pgoff));
	if (!range_is_free(mm, addr, addr + len))
		do_munmap(sim, mm, addr, len);
	res->value = addr;
	if (anon && type == MAP_SHARED) {
		file = shmem_zero_setup(sim, len >> PAGE_SHIFT);
		new_vma(sim, mm, addr, addr + len, pgoff, flags, file);
		return 0;
	}
	req = (struct merge_req){ .start = addr, .end = addr + len,
				  .pgoff = pgoff, .flags = flags, .file = file };
	vma = vma_merge_new_range(sim, mm, &req);
	if (!vma)
		new_vma(sim, mm, addr, addr + len, pgoff, flags, file);
	return 0;
}

/* ---- munmap ---- */

/* Detach and tear down every VMA inside [start,end) (already split). */
static void unmap_region(struct sim *sim, struct mm_struct *mm,
			 unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma = find_vma_after(mm, start), *next;
	struct vm_area_struct *first = vma;

	/* unmap_vmas, then free_pgtables, then remove_vma: the kernel's order */
	for (; vma && vma->vm_start < end; vma = vma_next(vma))
		zap_page_range(sim, vma, vma->vm_start, vma->vm_end);
	for (vma = first; vma && vma->vm_start < end; vma = vma_next(vma)) {
		unlink_anon_vmas(sim, vma);
		unlink_file_vma(sim, vma);
	}
	for (vma = first; vma && vma->vm_start < end; vma = next) {
		next = vma_next(vma);
		vma_mm_remove(mm, vma);
		remove_vma(sim, vma);
	}
	free_pgtables(sim, mm, start, end);
}

int do_munmap(struct sim *sim, struct mm_struct *mm, unsigned long start,
	      unsigned long len)
{
	struct vm_area_struct *vma, *last;
	unsigned long end;

	if (!PAGE_ALIGNED(start) || start > TASK_SIZE || len > TASK_SIZE - start)
		return SIM_EINVAL;
	len = page_align(len);
	if (!len)
		return SIM_EINVAL;
	end = start + len;
	vma = find_vma_after(mm, start);
	if (!vma || vma->vm_start >= end)
		return 0;
	trace(sim, "do_vmi_munmap", 2, T_ADDR("start", start),
	      T_ADDR("end", end));
	if (vma->vm_start < start)
		split_vma(sim, vma, start, true);
	last = find_vma(mm, end - 1);
	if (last && last->vm_end > end)
		split_vma(sim, last, end, false);
	unmap_region(sim, mm, start, end);
	return 0;
}

/* ---- mprotect ---- */

/* change_pte_range for one VMA after its flags changed. */
static void change_protection(struct sim *sim, struct vm_area_struct *vma)
{
	bool shared = vma->vm_flags & VM_SHARED;
	unsigned long n = 0;
	struct pte_iter it;
	struct pte *pte;

	for (pte = pte_iter_start(vma->vm_mm, vma->vm_start >> PAGE_SHIFT, &it);
	     pte && it.vpn < vma->vm_end >> PAGE_SHIFT; pte = pte_iter_next(&it)) {
		struct folio *folio;

		n++;
		if (!pte->present)
			continue;
		if (!(vma->vm_flags & VM_WRITE)) {
			pte->write = false;
			continue;
		}
		if (pte->write || pte->special)
			continue;
		/* can_change_pte_writable: no fault needed to write */
		folio = sim_find_folio(sim, pte_pfn(pte));
		if (shared ? pte->dirty || !vma_wants_writenotify(vma) :
		    folio && folio_test_anon(folio) &&
		    (folio->flags & PG_anon_exclusive))
			pte->write = true;
	}
	trace(sim, "change_protection", 2, T_ID("vma", vma->id),
	      T_WORK("ptes", n));
}

int do_mprotect(struct sim *sim, struct mm_struct *mm, unsigned long start,
		unsigned long len, unsigned int prot)
{
	struct vm_area_struct *vma;
	unsigned long end, tmp;

	if (!PAGE_ALIGNED(start))
		return SIM_EINVAL;
	if (!len)
		return 0;
	len = page_align(len);
	end = start + len;
	if (!len || end <= start)
		return SIM_ENOMEM;
	vma = find_vma(mm, start);
	if (!vma)
		return SIM_ENOMEM;
	for (tmp = start; tmp < end && vma && vma->vm_start < end; ) {
		unsigned long newflags, oldflags = vma->vm_flags;
		unsigned long vend = min_ul(vma->vm_end, end);
		struct vm_area_struct *next;

		if (vma->vm_start > tmp)
			return SIM_ENOMEM;	/* a hole: stop here */
		newflags = (oldflags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
			   (calc_vm_flags(prot, 0) & (VM_READ | VM_WRITE | VM_EXEC));
		/*
		 * making a private mapping writable charges it unless it is
		 * VM_NORESERVE; making it read-only again uncharges it only
		 * while it is anonymous and has no anon_vma (no page of its
		 * own yet)
		 */
		if ((newflags & VM_WRITE) &&
		    !(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED |
				  VM_NORESERVE)))
			newflags |= VM_ACCOUNT;
		else if (!(newflags & VM_WRITE) && (oldflags & VM_ACCOUNT) &&
			 vma_is_anonymous(vma) && !vma->anon_vma &&
			 !sim_legacy(sim))	/* Linux 6.5+ */
			newflags &= ~VM_ACCOUNT;
		if (newflags != oldflags) {
			trace(sim, "mprotect_fixup", 3, T_ID("vma", vma->id),
			      T_ADDR("start", tmp), T_ADDR("end", vend));
			vma = vma_modify(sim, vma, tmp, vend, newflags);
			change_protection(sim, vma);
		}
		tmp = vend;
		next = find_vma_after(mm, tmp);
		vma = next;
	}
	if (tmp < end)
		return SIM_ENOMEM;
	return 0;
}

/* ---- madvise ---- */

static int madvise_vma(struct sim *sim, struct vm_area_struct *vma,
		       unsigned long start, unsigned long end, int advice)
{
	unsigned long flags = vma->vm_flags;
	struct pte_iter it;
	struct pte *pte;

	switch (advice) {
	case SIM_MADV_DONTFORK:
		flags |= VM_DONTCOPY;
		break;
	case SIM_MADV_DOFORK:
		flags &= ~VM_DONTCOPY;
		break;
	case SIM_MADV_WIPEONFORK:
		if (vma->vm_file || (vma->vm_flags & VM_SHARED))
			return SIM_EINVAL;
		flags |= VM_WIPEONFORK;
		break;
	case SIM_MADV_KEEPONFORK:
		flags &= ~VM_WIPEONFORK;
		break;
	case SIM_MADV_DONTNEED:
		trace(sim, "madvise_dontneed_single_vma", 3, T_ID("vma", vma->id),
		      T_ADDR("start", start), T_ADDR("end", end));
		zap_page_range(sim, vma, start, end);
		if (!sim_legacy(sim))
			pte_tables_reclaim(sim, vma->vm_mm, start, end);
		return 0;
	case SIM_MADV_PAGEOUT:
		trace(sim, "madvise_pageout", 3, T_ID("vma", vma->id),
		      T_ADDR("start", start), T_ADDR("end", end));
		for (pte = pte_iter_start(vma->vm_mm, start >> PAGE_SHIFT, &it);
		     pte && it.vpn < end >> PAGE_SHIFT; ) {
			struct folio *folio = pte->present && !pte->special ?
				sim_find_folio(sim, pte_pfn(pte)) : NULL;
			unsigned long vpn = it.vpn;
			struct sim_result scratch = { 0 };

			/* leave folios other mappings still use alone */
			if (folio && folio->mapcount == 1)
				try_to_unmap_op(sim, folio, &scratch);
			/* reclaim changed page tables: look again */
			pte = pte_iter_start(vma->vm_mm, vpn + 1, &it);
		}
		return 0;
	default:
		return SIM_EINVAL;
	}
	if (flags != vma->vm_flags) {
		trace(sim, "madvise_update_vma", 3, T_ID("vma", vma->id),
		      T_ADDR("start", start), T_ADDR("end", end));
		vma_modify(sim, vma, start, end, flags);
	}
	return 0;
}

int do_madvise(struct sim *sim, struct mm_struct *mm, unsigned long start,
	       unsigned long len, int advice)
{
	unsigned long end, tmp;
	struct vm_area_struct *vma;
	int err = 0, ret;

	if (!PAGE_ALIGNED(start))
		return SIM_EINVAL;
	len = page_align(len);
	end = start + len;
	if (end < start)
		return SIM_EINVAL;
	if (end == start)
		return 0;
	vma = find_vma_after(mm, start);
	for (tmp = start; tmp < end; ) {
		unsigned long vend;

		if (!vma || vma->vm_start >= end)
			return SIM_ENOMEM;
		if (vma->vm_start > tmp) {
			err = SIM_ENOMEM;	/* holes are reported at the end */
			tmp = vma->vm_start;
		}
		vend = min_ul(vma->vm_end, end);
		ret = madvise_vma(sim, vma, tmp, vend, advice);
		if (ret)
			return ret;
		tmp = vend;
		vma = find_vma_after(mm, tmp);
	}
	return err;
}

/* ---- brk ---- */

int do_brk(struct sim *sim, struct mm_struct *mm, unsigned long brk,
	   struct sim_result *res)
{
	unsigned long newbrk = page_align(brk), oldbrk = page_align(mm->brk);
	struct vm_area_struct *vma;
	struct merge_req req;
	unsigned long flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE |
			      VM_MAYEXEC | VM_ACCOUNT;

	res->value = mm->brk;
	if (brk < mm->start_brk || brk > TASK_SIZE)
		return 0;
	if (newbrk == oldbrk) {
		mm->brk = brk;
		res->value = brk;
		return 0;
	}
	if (brk <= mm->brk) {
		do_munmap(sim, mm, newbrk, oldbrk - newbrk);
		mm->brk = brk;
		res->value = brk;
		return 0;
	}
	/* the heap may not run into the next mapping (plus a guard page) */
	if (!range_is_free(mm, oldbrk, newbrk + PAGE_SIZE))
		return 0;
	trace(sim, "do_brk_flags", 2, T_ADDR("start", oldbrk),
	      T_ADDR("end", newbrk));
	req = (struct merge_req){ .start = oldbrk, .end = newbrk,
				  .pgoff = oldbrk >> PAGE_SHIFT, .flags = flags };
	/* brk's vma_prev_limit: only a VMA of the heap itself, at or above
	 * start_brk, grows; the bss below it never does */
	vma = vma_prev_adjacent(mm, oldbrk);
	if (vma && vma->vm_start >= mm->start_brk && can_merge_after(vma, &req))
		vma_set_range(sim, vma, vma->vm_start, newbrk, vma->vm_pgoff);
	else
		new_vma(sim, mm, oldbrk, newbrk, oldbrk >> PAGE_SHIFT, flags,
			NULL);
	mm->brk = brk;
	res->value = brk;
	return 0;
}

/* ---- mremap ---- */

/*
 * move_page_tables walks the old range a PMD extent at a time and gives the
 * new range a PTE table for each extent that has one, PTEs in it or not.
 * Only the extents that have a table are visited, as the kernel skips
 * empty PMDs: a terabyte range with two tables costs two steps.
 */
static void move_pte_tables(struct mm_struct *mm, unsigned long old_addr,
			    unsigned long new_addr, unsigned long len)
{
	unsigned long vpn = old_addr >> PAGE_SHIFT, end = vpn + (len >> PAGE_SHIFT);
	unsigned long delta = (new_addr >> PAGE_SHIFT) - vpn;
	unsigned long region;

	while (vpn < end && (region = pte_table_next(mm, vpn)) != ULONG_MAX &&
	       region << PTE_TABLE_SHIFT < end) {
		unsigned long first = max_ul(vpn, region << PTE_TABLE_SHIFT);
		unsigned long last = min_ul(end, (region + 1) << PTE_TABLE_SHIFT) - 1;

		pte_table_alloc(mm, first + delta);
		pte_table_alloc(mm, last + delta);
		vpn = last + 1;
	}
}

/*
 * move_page_tables: PTEs change address, folios keep index and mapping.
 * It steps from PTE to PTE, as the kernel skips empty page tables: a
 * terabyte VMA with two pages costs two, not 2^28 lookups.  The ranges
 * never overlap (do_mremap refuses it), so a moved PTE is never met again.
 */
static unsigned long move_page_tables(struct sim *sim, struct mm_struct *mm,
				      unsigned long old_addr,
				      unsigned long new_addr, unsigned long len)
{
	unsigned long n = 0, end = (old_addr + len) >> PAGE_SHIFT;
	struct pte_iter it;
	struct pte *old;

	move_pte_tables(mm, old_addr, new_addr, len);
	old = pte_iter_start(mm, old_addr >> PAGE_SHIFT, &it);
	while (old && it.vpn < end) {
		unsigned long vpn = it.vpn;
		struct pte *new = pte_alloc(mm, vpn - (old_addr >> PAGE_SHIFT) +
					    (new_addr >> PAGE_SHIFT));

		*new = *old;
		/* step on before the old PTE's block may go */
		old = pte_iter_next(&it);
		pte_free(mm, vpn);
		n++;
	}
	trace(sim, "move_page_tables", 4, T_ADDR("old_addr", old_addr),
	      T_ADDR("new_addr", new_addr), T_NUM("len", len), T_WORK("ptes", n));
	return n;
}

/*
 * copy_vma: the destination VMA, with the source's pgoff so every folio's
 * index still matches, merged into a neighbour when the rules allow, and
 * chained to all of the source's anon_vmas.
 */
static struct vm_area_struct *copy_vma(struct sim *sim,
				       struct vm_area_struct **vmap,
				       unsigned long addr, unsigned long len,
				       unsigned long pgoff)
{
	struct vm_area_struct *vma = *vmap;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long src_start = vma->vm_start, src_id = vma->id;
	struct merge_req req;
	struct vm_area_struct *new;

	/* never faulted: the new place decides pgoff, as for a fresh mmap */
	if (vma_is_anonymous(vma) && !vma->anon_vma)
		pgoff = addr >> PAGE_SHIFT;
	req = (struct merge_req){ .start = addr, .end = addr + len,
				  .pgoff = pgoff, .flags = vma->vm_flags,
				  .file = vma->vm_file, .copied_from = vma,
				  .anon_vma = vma->anon_vma,
				  .legacy = sim_legacy(sim) };
	new = vma_merge_new_range(sim, mm, &req);
	if (new) {
		/*
		 * Only an unfaulted source, whose pgoff was just reset, can
		 * have been merged into the destination: it may be gone.
		 */
		if (src_start >= new->vm_start && src_start < new->vm_end)
			*vmap = new;
		else
			dup_anon_vma(sim, new, vma);
		trace(sim, "copy_vma", 3, T_ID("vma", src_id),
		      T_ID("new", new->id), T_NUM("merged", 1));
		return new;
	}
	new = vm_area_dup(sim, vma);
	new->vm_start = addr;
	new->vm_end = addr + len;
	new->vm_pgoff = pgoff;
	trace(sim, "copy_vma", 2, T_ID("vma", vma->id), T_ID("new", new->id));
	anon_vma_clone(sim, new, vma);
	link_file_vma(sim, new);
	vma_mm_insert(mm, new);
	return new;
}

static int move_vma(struct sim *sim, struct vm_area_struct *vma,
		    unsigned long old_addr, unsigned long old_len,
		    unsigned long new_len, unsigned long new_addr,
		    unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long pgoff = linear_page_index(vma, old_addr);
	struct vm_area_struct *new;

	trace(sim, "move_vma", 3, T_ID("vma", vma->id),
	      T_ADDR("old_addr", old_addr), T_ADDR("new_addr", new_addr));
	new = copy_vma(sim, &vma, new_addr, new_len, pgoff);
	move_page_tables(sim, mm, old_addr, new_addr, min_ul(old_len, new_len));
	if (flags & MREMAP_DONTUNMAP) {
		/*
		 * dontunmap_complete: the old VMA stays, empty, and keeps its
		 * charge (6.18 clears only the mlock bits, as 6.0 did)
		 */
		if (new != vma && vma->vm_start == old_addr &&
		    vma->vm_end == old_addr + old_len)
			unlink_anon_vmas(sim, vma);
		return 0;
	}
	do_munmap(sim, mm, old_addr, old_len);
	return 0;
}

static bool vma_expandable(struct vm_area_struct *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	return range_is_free(vma->vm_mm, vma->vm_end, end);
}

/*
 * check_prep_vma for a call that maps something new (grows, or moves): addr
 * must lie in a VMA, and what it takes along must too - after a shrink
 * that is only new_len.  (A shrink in place checks no more than addr.)
 */
static int check_prep_vma(struct mm_struct *mm, unsigned long addr,
			  unsigned long old_len, unsigned long new_len,
			  struct vm_area_struct **out)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (!vma)
		return SIM_EFAULT;
	*out = vma;
	if (min_ul(old_len, new_len) > vma->vm_end - addr)
		return SIM_EFAULT;
	return 0;
}

/* the checks of check_mremap_params on a range given by the caller */
static int check_new_range(unsigned long addr, unsigned long old_len,
			   unsigned long new_addr, unsigned long new_len,
			   struct sim_result *res)
{
	if (!PAGE_ALIGNED(new_addr))
		return kerr(res, SIM_EINVAL, "new_addr is not page aligned");
	if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len)
		return kerr(res, SIM_EINVAL, "the new range is outside the address space");
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return kerr(res, SIM_EINVAL, "the old and new ranges overlap");
	return 0;
}

static int mremap_to(struct sim *sim, struct mm_struct *mm,
		     unsigned long addr, unsigned long old_len,
		     unsigned long new_addr, unsigned long new_len,
		     unsigned int flags, struct sim_result *res)
{
	struct vm_area_struct *vma;
	int err;

	err = check_prep_vma(mm, addr, old_len, new_len, &vma);
	if (err)
		return kerr(res, err, "addr is not inside a VMA, or the range "
			    "to move runs past its end");
	do_munmap(sim, mm, new_addr, new_len);
	if (old_len > new_len) {
		do_munmap(sim, mm, addr + new_len, old_len - new_len);
		old_len = new_len;
	}
	vma = find_vma(mm, addr);
	move_vma(sim, vma, addr, old_len, new_len, new_addr, flags);
	res->value = new_addr;
	return 0;
}

/*
 * remap_move: MREMAP_FIXED without a resize moves every VMA in
 * [addr, addr + len) (Linux 6.17+), each with mremap_to, keeping the gaps
 * between them.  The range must start inside a VMA.  (The kernel refuses
 * userfaultfd-armed VMAs and files whose f_op places mappings itself; the
 * simulation has neither: the fidelity suite's ext4 files move together.)
 */
static int remap_move(struct sim *sim, struct mm_struct *mm,
		      unsigned long start, unsigned long len,
		      unsigned long new_addr, unsigned int flags,
		      struct sim_result *res)
{
	unsigned long end = start + len, cursor = start, first = 0;
	struct vm_area_struct *vma;
	bool seen = false;
	int err;

	while (cursor < end && (vma = find_vma_after(mm, cursor)) &&
	       vma->vm_start < end) {
		unsigned long from = max_ul(vma->vm_start, cursor);
		unsigned long piece = min_ul(end, vma->vm_end) - from;

		if (!seen && start < vma->vm_start)
			return kerr(res, SIM_EFAULT, "addr is not inside a VMA");
		trace(sim, "remap_move", 3, T_ID("vma", vma->id),
		      T_ADDR("addr", from), T_ADDR("new_addr",
						  new_addr + (from - start)));
		err = mremap_to(sim, mm, from, piece, new_addr + (from - start),
				piece, flags, res);
		if (err)
			return err;
		if (!seen)
			first = res->value;
		seen = true;
		cursor = from + piece;
	}
	if (!seen)
		return kerr(res, SIM_EFAULT, "addr is not inside a VMA");
	res->value = first;
	return 0;
}

int do_mremap(struct sim *sim, struct mm_struct *mm, const struct sim_op *op,
	      struct sim_result *res)
{
	unsigned int flags = op->flags;
	unsigned long addr = op->addr, old_len, new_len, new_addr;
	struct vm_area_struct *vma;
	int err;

	trace(sim, "do_mremap", 3, T_ADDR("addr", addr),
	      T_NUM("old_len", op->old_len), T_NUM("new_len", op->new_len));
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return kerr(res, SIM_EINVAL, "unknown flags");
	if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) &&
	    !(flags & MREMAP_MAYMOVE))
		return kerr(res, SIM_EINVAL,
			    "MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE");
	if ((flags & MREMAP_DONTUNMAP) && op->old_len != op->new_len)
		return kerr(res, SIM_EINVAL,
			    "MREMAP_DONTUNMAP needs old_len == new_len");
	if (!PAGE_ALIGNED(addr))
		return kerr(res, SIM_EINVAL, "addr is not page aligned");
	old_len = page_align(op->old_len);
	new_len = page_align(op->new_len);
	if (!new_len)
		return kerr(res, SIM_EINVAL, "new_len is 0");
	if (!old_len)
		return kerr(res, SIM_EINVAL,
			    "old_len 0 (duplicating a shared mapping) is not simulated");
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		new_addr = op->new_addr;
		if (!(flags & MREMAP_FIXED))
			new_addr = get_unmapped_area(mm, 0, new_len);
		if (!new_addr)
			return kerr(res, SIM_ENOMEM, "no gap large enough");
		err = check_new_range(addr, old_len, new_addr, new_len, res);
		if (err)
			return err;
		if ((flags & MREMAP_FIXED) && old_len == new_len &&
		    !sim_legacy(sim))	/* Linux 6.17+ */
			return remap_move(sim, mm, addr, old_len, new_addr,
					  flags, res);
		return mremap_to(sim, mm, addr, old_len, new_addr, new_len,
				 flags, res);
	}
	/*
	 * A shrink in place unmaps the tail wherever it lies; Linux 6.0
	 * allowed it with no VMA at addr at all
	 */
	if (old_len >= new_len) {
		if (!sim_legacy(sim) && !find_vma(mm, addr))
			return kerr(res, SIM_EFAULT, "addr is not inside a VMA");
		if (old_len > new_len)
			do_munmap(sim, mm, addr + new_len, old_len - new_len);
		res->value = addr;
		return 0;
	}
	err = check_prep_vma(mm, addr, old_len, new_len, &vma);
	if (err)
		return kerr(res, err, "addr is not inside a VMA, or the range "
			    "to grow runs past its end");
	if (addr + old_len == vma->vm_end && !(flags & MREMAP_DONTUNMAP) &&
	    vma_expandable(vma, new_len - old_len)) {
		struct merge_req req = {
			.start = vma->vm_end, .end = addr + new_len,
			.flags = vma->vm_flags, .file = vma->vm_file,
			.pgoff = linear_page_index(vma, vma->vm_end),
			.anon_vma = vma->anon_vma, .legacy = sim_legacy(sim),
		};
		struct vm_area_struct *next = find_vma(mm, addr + new_len);

		/* vma_merge_extend: grow in place, joining next if it fits */
		if (next && can_merge_before(next, &req)) {
			unsigned long end = next->vm_end;

			dup_anon_vma(sim, vma, next);
			vma_merge_remove(sim, next);
			vma_set_range(sim, vma, vma->vm_start, end, vma->vm_pgoff);
		} else {
			vma_set_range(sim, vma, vma->vm_start, addr + new_len,
				      vma->vm_pgoff);
		}
		res->value = addr;
		return 0;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return kerr(res, SIM_ENOMEM,
			    "cannot grow in place and MREMAP_MAYMOVE is not set");
	new_addr = get_unmapped_area(mm, 0, new_len);
	if (!new_addr)
		return kerr(res, SIM_ENOMEM, "no gap large enough");
	move_vma(sim, vma, addr, old_len, new_len, new_addr, flags);
	res->value = new_addr;
	return 0;
}
