// SPDX-License-Identifier: MIT
/*
 * memory.c - mm/memory.c: the page fault handler and the PTE-level work of
 * fork (copy_page_range) and unmap (zap_pte_range).
 *
 * handle_mm_fault follows the kernel's dispatch: no PTE -> do_anonymous_page
 * or do_fault (read with fault-around, COW, shared); a swap PTE ->
 * do_swap_page; a write to a write-protected PTE -> do_wp_page, which reuses
 * an exclusive anonymous folio (wp_page_reuse, after folio_move_anon_rmap)
 * or copies (wp_page_copy).
 */
#include "internal.h"

#define PTRS_PER_PTE		512

static struct folio *pte_folio(struct sim *sim, const struct pte *pte)
{
	if (pte->special)
		return &sim->zero_folio;
	return pfn_folio(sim, pte_pfn(pte));
}

static void set_pte(struct pte *pte, const struct folio *folio, bool write,
		    bool dirty)
{
	pte->present = true;
	pte->special = (folio->flags & PG_zero) != 0;
	pte_set_val(pte, folio->pfn);
	pte->swp_exclusive = false;
	pte->write = write;
	pte->dirty = dirty;
	pte->young = true;
}

/* ---- anonymous memory ---- */

static int do_anonymous_page(struct sim *sim, struct vm_area_struct *vma,
			     unsigned long addr, bool write,
			     struct sim_result *res)
{
	struct pte *pte;
	struct folio *folio;
	bool writable = (vma->vm_flags & VM_WRITE) != 0;

	if (!write && !sim->cfg.no_zero_page) {
		/* a read maps the shared zero page; no anon_vma is needed */
		pte = pte_alloc(vma->vm_mm, addr >> PAGE_SHIFT);
		set_pte(pte, &sim->zero_folio, false, false);
		trace(sim, "do_anonymous_page", 3, T_ID("vma", vma->id),
		      T_ADDR("addr", addr), T_ID("zero_pfn", sim->zero_folio.pfn));
		res->fault = "zero_page";
		return 0;
	}
	trace(sim, "do_anonymous_page", 2, T_ID("vma", vma->id),
	      T_ADDR("addr", addr));
	anon_vma_prepare(sim, vma);
	folio = folio_alloc(sim, 0);
	folio_add_new_anon_rmap(sim, folio, vma, addr, true);
	pte = pte_alloc(vma->vm_mm, addr >> PAGE_SHIFT);
	/* a writable VMA gets a writable, dirty PTE even on a read */
	set_pte(pte, folio, writable, writable);
	res->fault = "anonymous";
	return 0;
}

/* ---- the page cache ---- */

/*
 * shmem_swapin_folio: a shmem page written to swap comes back into the page
 * cache, dirty (it exists nowhere else once its slot is freed).
 */
static void shmem_swapin_folio(struct sim *sim, struct folio *folio)
{
	unsigned long *entry = &folio->mapping->swap[folio->index];

	folio->flags |= PG_dirty;
	trace(sim, "shmem_swapin_folio", 4, T_ID("pfn", folio->pfn),
	      T_ID("file", folio->mapping->id), T_NUM("index", folio->index),
	      T_NUM("slot", *entry));
	swap_free(sim, *entry);
	*entry = 0;
}

/* filemap_fault / shmem_fault: find or bring in the folio at index. */
static struct folio *filemap_get_folio(struct sim *sim,
				       struct address_space *mapping,
				       unsigned long index)
{
	struct folio *folio = mapping->pages[index];

	if (folio)
		return folio;
	folio = folio_alloc(sim, 0);
	folio->mapping = mapping;
	folio->index = index;
	if (mapping->shmem)
		folio->flags |= PG_swapbacked;
	mapping->pages[index] = folio;
	if (mapping->shmem && mapping->swap[index]) {
		shmem_swapin_folio(sim, folio);
		return folio;
	}
	trace(sim, mapping->shmem ? "shmem_alloc_folio" : "filemap_read_folio",
	      3, T_ID("pfn", folio->pfn), T_ID("file", mapping->id),
	      T_NUM("index", index));
	return folio;
}

static void map_file_pte(struct sim *sim, struct vm_area_struct *vma,
			 unsigned long addr, struct folio *folio, bool write)
{
	struct pte *pte = pte_alloc(vma->vm_mm, addr >> PAGE_SHIFT);
	/* vm_page_prot is writable for shared shmem: no write notify */
	bool writable = write || ((vma->vm_flags & (VM_SHARED | VM_WRITE)) ==
				  (VM_SHARED | VM_WRITE) &&
				  !vma_wants_writenotify(vma));

	set_pte(pte, folio, writable, write);
	if (write)
		folio->flags |= PG_dirty;
	folio_add_file_rmap_pte(sim, folio, vma);
}

/*
 * filemap_map_pages installs the PTE table (filemap_map_pmd) only when the
 * first cached folio of the window is not the file's last page, or the file
 * is shmem; without a table already there it then maps nothing at all.
 */
static bool fault_around_has_table(const struct sim *sim,
				   struct vm_area_struct *vma,
				   unsigned long addr, unsigned long start,
				   unsigned long n)
{
	struct address_space *mapping = vma->vm_file;
	unsigned long index;

	/* 6.0 always installed the table (the i_size check is 6.18) */
	if (sim_legacy(sim) || mapping->shmem ||
	    pte_table_present(vma->vm_mm, addr >> PAGE_SHIFT))
		return true;
	for (index = start; index < start + n && index < mapping->nr_pages;
	     index++)
		if (mapping->pages[index])
			return index + 1 < mapping->nr_pages;
	return false;
}

/*
 * do_fault_around: map the cached pages of the aligned 16-page block around
 * the fault (clamped to the VMA and the page table) that are not mapped yet,
 * read-only.  Only pages already in the page cache: nothing is read in.
 */
static void do_fault_around(struct sim *sim, struct vm_area_struct *vma,
			    unsigned long addr)
{
	unsigned long pte_off = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
	unsigned long vma_off = (addr - vma->vm_start) >> PAGE_SHIFT;
	unsigned long from, to, first, i, n = 0;
	struct address_space *mapping = vma->vm_file;

	from = pte_off & ~(unsigned long)(FAULT_AROUND_PAGES - 1);
	if (from < pte_off - min_ul(pte_off, vma_off))
		from = pte_off - min_ul(pte_off, vma_off);
	to = min_ul(from + FAULT_AROUND_PAGES, PTRS_PER_PTE);
	to = min_ul(to, pte_off + vma_pages(vma) - vma_off);
	first = linear_page_index(vma, addr) - (pte_off - from);
	if (!fault_around_has_table(sim, vma, addr, first, to - from)) {
		trace(sim, "do_fault_around", 3, T_ID("vma", vma->id),
		      T_ADDR("addr", addr), T_NUM("mapped", 0));
		return;
	}
	for (i = from; i < to; i++) {
		unsigned long a = addr + ((i - pte_off) << PAGE_SHIFT);
		unsigned long index = linear_page_index(vma, a);
		struct pte *pte;
		struct folio *folio;

		if (index >= mapping->nr_pages || !mapping->pages[index])
			continue;
		pte = pte_lookup(vma->vm_mm, a >> PAGE_SHIFT);
		if (pte && (pte->present || pte_swap(pte)))
			continue;
		folio = mapping->pages[index];
		map_file_pte(sim, vma, a, folio, false);
		n++;
	}
	trace(sim, "do_fault_around", 3, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_NUM("mapped", n));
}

static int do_read_fault(struct sim *sim, struct vm_area_struct *vma,
			 unsigned long addr, unsigned long index,
			 struct sim_result *res)
{
	struct pte *pte;

	do_fault_around(sim, vma, addr);
	pte = pte_lookup(vma->vm_mm, addr >> PAGE_SHIFT);
	if (!pte || !pte->present) {
		struct folio *folio =
			filemap_get_folio(sim, vma->vm_file, index);

		map_file_pte(sim, vma, addr, folio, false);
	}
	trace(sim, "do_read_fault", 2, T_ID("vma", vma->id),
	      T_ADDR("addr", addr));
	res->fault = "file_read";
	return 0;
}

/* A write to a private file mapping: copy the cached page into anon. */
static int do_cow_fault(struct sim *sim, struct vm_area_struct *vma,
			unsigned long addr, unsigned long index,
			struct sim_result *res)
{
	struct folio *page, *folio;
	struct pte *pte;
	bool writable = (vma->vm_flags & VM_WRITE) != 0;

	anon_vma_prepare(sim, vma);
	page = filemap_get_folio(sim, vma->vm_file, index);
	folio = folio_alloc(sim, 0);
	trace(sim, "do_cow_fault", 4, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_ID("from_pfn", page->pfn),
	      T_ID("pfn", folio->pfn));
	folio_add_new_anon_rmap(sim, folio, vma, addr, true);
	pte = pte_alloc(vma->vm_mm, addr >> PAGE_SHIFT);
	set_pte(pte, folio, writable, writable);
	res->fault = "file_cow";
	return 0;
}

static int do_shared_fault(struct sim *sim, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long index,
			   struct sim_result *res)
{
	struct folio *folio = filemap_get_folio(sim, vma->vm_file, index);

	map_file_pte(sim, vma, addr, folio, true);
	trace(sim, "do_shared_fault", 3, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_ID("pfn", folio->pfn));
	res->fault = "file_shared";
	return 0;
}

static int do_fault(struct sim *sim, struct vm_area_struct *vma,
		    unsigned long addr, bool write, struct sim_result *res)
{
	unsigned long index = linear_page_index(vma, addr);

	/*
	 * A read fault maps the cached pages around it before ->fault looks
	 * at the page itself, so those stay mapped even past the end; a
	 * private write has given the VMA its anon_vma by then
	 */
	if (index >= vma->vm_file->nr_pages) {
		if (!write)
			do_fault_around(sim, vma, addr);
		/* do_cow_fault prepares the anon_vma before ->fault fails */
		else if (!(vma->vm_flags & VM_SHARED))
			anon_vma_prepare(sim, vma);
		trace(sim, "do_fault", 2, T_ID("vma", vma->id),
		      T_ADDR("addr", addr));
		res->fault = "sigbus";
		return kerr(res, SIM_SIGBUS,
			    "the page lies beyond the end of the file");
	}
	if (!write)
		return do_read_fault(sim, vma, addr, index, res);
	if (!(vma->vm_flags & VM_SHARED))
		return do_cow_fault(sim, vma, addr, index, res);
	return do_shared_fault(sim, vma, addr, index, res);
}

/* ---- write-protect faults ---- */

static int wp_page_copy(struct sim *sim, struct vm_area_struct *vma,
			unsigned long addr, struct pte *pte, struct folio *old)
{
	struct folio *folio;
	bool writable = (vma->vm_flags & VM_WRITE) != 0;

	anon_vma_prepare(sim, vma);
	folio = folio_alloc(sim, 0);
	trace(sim, "wp_page_copy", 4, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_ID("from_pfn", old->pfn),
	      T_ID("pfn", folio->pfn));
	folio_add_new_anon_rmap(sim, folio, vma, addr, true);
	if (!(old->flags & PG_zero))
		folio_remove_rmap_pte(sim, old, vma);
	set_pte(pte, folio, writable, writable);
	folio_put_if_unused(sim, old);
	return 0;
}

/*
 * wp_can_reuse_anon_folio: reuse when this PTE holds the only reference.  A
 * folio still in the swap cache counts that reference too, unless the swap
 * slot has no other user and can be freed.
 */
static bool wp_can_reuse_anon_folio(struct sim *sim, struct folio *folio)
{
	if (folio->mapcount != 1)
		return false;
	if (folio->flags & PG_swapcache) {
		struct swap_slot *slot = swap_slot_find(sim, folio->swap);

		if (slot && slot->count > 0)
			return false;
		swap_cache_del(sim, folio);	/* folio_free_swap */
		trace(sim, "folio_free_swap", 1, T_ID("pfn", folio->pfn));
	}
	return folio_ref_count(folio) == 1;
}

static void wp_page_reuse(struct sim *sim, struct vm_area_struct *vma,
			  unsigned long addr, struct pte *pte)
{
	pte->write = true;
	pte->dirty = true;
	pte->young = true;
	trace(sim, "wp_page_reuse", 3, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_ID("pfn", pte_pfn(pte)));
}

static int do_wp_page(struct sim *sim, struct vm_area_struct *vma,
		      unsigned long addr, struct pte *pte,
		      struct sim_result *res)
{
	struct folio *folio = pte_folio(sim, pte);

	trace(sim, "do_wp_page", 3, T_ID("vma", vma->id), T_ADDR("addr", addr),
	      T_ID("pfn", pte_pfn(pte)));
	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) {
		/* wp_page_shared: the same page, now writable and dirty */
		folio->flags |= PG_dirty;
		wp_page_reuse(sim, vma, addr, pte);
		res->fault = "wp_page_shared";
		return 0;
	}
	if (folio_test_anon(folio)) {
		if ((folio->flags & PG_anon_exclusive) ||
		    wp_can_reuse_anon_folio(sim, folio)) {
			folio_move_anon_rmap(sim, folio, vma);
			folio->flags |= PG_anon_exclusive;
			wp_page_reuse(sim, vma, addr, pte);
			res->fault = "wp_page_reuse";
			return 0;
		}
	}
	res->fault = "wp_page_copy";
	return wp_page_copy(sim, vma, addr, pte, folio);
}

/* ---- swap ---- */

/*
 * The folio a swap PTE names: the one in the swap cache, or one read in.  A
 * synchronous device (zram) reads an entry with a single user straight into
 * a private folio, skipping the swap cache; a shared entry's folio goes
 * through the swap cache, where its other users will find it.
 */
static struct folio *swapin_folio(struct sim *sim, struct swap_slot *slot,
				  unsigned long entry)
{
	struct folio *folio;

	if (slot && slot->cache_pfn) {
		folio = sim_find_folio(sim, slot->cache_pfn);
		trace(sim, "swap_cache_get_folio", 2, T_NUM("slot", slot->id),
		      T_ID("pfn", folio->pfn));
		return folio;
	}
	folio = folio_alloc(sim, 0);
	folio->flags |= PG_swapbacked;
	if (slot && slot->count > 1) {
		folio->flags |= PG_swapcache;
		folio->swap = entry;
		slot->cache_pfn = folio->pfn;
	}
	trace(sim, "swap_read_folio", 3, T_NUM("slot", entry),
	      T_ID("pfn", folio->pfn),
	      T_NUM("swapcache", (folio->flags & PG_swapcache) != 0));
	return folio;
}

/*
 * should_try_to_free_swap: after the PTE's reference goes, the swap cache
 * keeps the folio unless this is a write fault by its only user (swap over
 * half full and mlock would free it too; neither is simulated).
 */
static bool should_try_to_free_swap(const struct folio *folio, bool write)
{
	return (folio->flags & PG_swapcache) && write && folio->mapcount == 0;
}

static int do_swap_page(struct sim *sim, struct vm_area_struct *vma,
			unsigned long addr, struct pte *pte, bool write,
			struct sim_result *res)
{
	unsigned long entry = pte_swap(pte);
	struct swap_slot *slot = swap_slot_find(sim, entry);
	bool exclusive = pte->swp_exclusive;
	struct folio *folio = swapin_folio(sim, slot, entry);

	trace(sim, "do_swap_page", 3, T_ID("vma", vma->id),
	      T_ADDR("addr", addr), T_ID("pfn", folio->pfn));
	vma->vm_mm->swapents--;
	swap_free(sim, entry);
	pte_set_val(pte, 0);
	slot = folio->flags & PG_swapcache ?
	       swap_slot_find(sim, folio->swap) : NULL;
	if (should_try_to_free_swap(folio, write) && slot && !slot->count) {
		swap_cache_del(sim, folio);	/* folio_free_swap */
		trace(sim, "folio_free_swap", 1, T_ID("pfn", folio->pfn));
	}
	/* a folio no one else can reach: nothing maps or caches it */
	if (folio->mapcount == 0 && !(folio->flags & PG_swapcache))
		exclusive = true;
	folio_add_anon_rmap_pte(sim, folio, vma, addr, exclusive);
	set_pte(pte, folio, false, false);
	if (exclusive && (vma->vm_flags & VM_WRITE)) {
		pte->write = true;
		pte->dirty = write;
		write = false;
	}
	res->fault = "swap_in";
	if (write)
		return do_wp_page(sim, vma, addr, pte, res);
	return 0;
}

/* ---- the fault handler ---- */

int handle_mm_fault(struct sim *sim, struct mm_struct *mm, unsigned long addr,
		    bool write, struct sim_result *res)
{
	struct vm_area_struct *vma = find_vma(mm, addr);
	struct pte *pte;

	if (!vma) {
		res->fault = "sigsegv";
		trace(sim, "bad_area", 1, T_ADDR("addr", addr));
		return kerr(res, SIM_SIGSEGV, "no VMA covers the address");
	}
	if ((write && !(vma->vm_flags & VM_WRITE)) ||
	    !(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
		res->fault = "sigsegv";
		trace(sim, "bad_area_access_error", 2, T_ID("vma", vma->id),
		      T_ADDR("addr", addr));
		return kerr(res, SIM_SIGSEGV,
			    "the VMA's protection does not allow this access");
	}
	addr &= PAGE_MASK;
	pte = pte_lookup(mm, addr >> PAGE_SHIFT);
	if (pte && pte->present) {
		if (write && !pte->write)
			return do_wp_page(sim, vma, addr, pte, res);
		pte->young = true;
		if (write)
			pte->dirty = true;
		res->fault = "hit";
		return 0;
	}
	if (pte && pte_swap(pte))
		return do_swap_page(sim, vma, addr, pte, write, res);
	if (vma_is_anonymous(vma))
		return do_anonymous_page(sim, vma, addr, write, res);
	return do_fault(sim, vma, addr, write, res);
}

/* ---- zap: unmap a range of one VMA ---- */

/*
 * free_swap_and_cache: drop the entry's reference; a folio left only in the
 * swap cache goes too unless something still maps it (TTRS_UNMAPPED).
 */
void free_swap_and_cache(struct sim *sim, unsigned long entry)
{
	struct swap_slot *slot = swap_slot_find(sim, entry);
	struct folio *folio;

	if (!slot)
		return;
	folio = slot->cache_pfn ? sim_find_folio(sim, slot->cache_pfn) : NULL;
	swap_free(sim, entry);
	/* a cached folio keeps the slot alive, so slot is still valid */
	if (!folio || slot->count || folio->mapcount)
		return;
	swap_cache_del(sim, folio);
	trace(sim, "__try_to_reclaim_swap", 2, T_NUM("slot", entry),
	      T_ID("pfn", folio->pfn));
	folio_put_if_unused(sim, folio);
}

/* zap_present_ptes / zap_nonpresent_ptes for one entry; the caller clears it */
static void zap_one_pte(struct sim *sim, struct vm_area_struct *vma,
			struct pte *pte)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t word = pte->word;
	unsigned long entry;

	pte->word = 0;
	if (word & PTE_PRESENT) {
		struct folio *folio;

		if (word & PTE_SPECIAL)
			return;
		folio = pfn_folio(sim, (unsigned long)(word & PTE_VAL_MASK));
		if ((word & PTE_DIRTY) && !folio_test_anon(folio))
			folio->flags |= PG_dirty;
		folio_remove_rmap_pte(sim, folio, vma);
		folio_put_if_unused(sim, folio);
		return;
	}
	entry = (unsigned long)(word & PTE_VAL_MASK);
	if (entry) {
		mm->swapents--;
		free_swap_and_cache(sim, entry);
	}
}

/*
 * zap_pte_range, block by block as the kernel goes table by table: each
 * PTE in [start, end) in address order, the block's counts once, and a
 * block left empty freed.
 */
void zap_page_range(struct sim *sim, struct vm_area_struct *vma,
		    unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long first = start >> PAGE_SHIFT, stop = end >> PAGE_SHIFT;
	struct pte_block *blk = pte_block_first(mm, first), *next;
	unsigned long n = 0;

	for (; blk && pte_block_base(blk) < stop; blk = next) {
		unsigned long base = pte_block_base(blk);
		unsigned int i = base < first ? (unsigned int)(first - base) : 0;
		unsigned int lim = (unsigned int)min_ul(PTE_BLOCK, stop - base);
		unsigned int cleared = 0;

		for (; i < lim; i++) {
			if (pte_none(&blk->pte[i]))
				continue;
			zap_one_pte(sim, vma, &blk->pte[i]);
			cleared++;
		}
		/* step on before the block may go */
		next = pte_block_next(blk);
		n += cleared;
		if (cleared)
			pte_block_cleared(mm, blk, cleared);
	}
	if (n)
		trace(sim, "zap_pte_range", 4, T_ID("vma", vma->id),
		      T_ADDR("start", start), T_ADDR("end", end),
		      T_WORK("ptes", n));
}

/* ---- fork: copy_page_range ---- */

/*
 * Only VMAs with anonymous pages have their PTEs copied: everything else
 * (shared or private file pages, shared anonymous memory) faults back in
 * from the page cache in the child.
 */
static bool vma_needs_copy(const struct vm_area_struct *src_vma)
{
	return src_vma->anon_vma != NULL;
}

/*
 * What copy_present_pte needs of the VMAs, taken once a VMA: a fork
 * copies thousands of PTEs of a few VMAs.  The bits each side loses are
 * masks; the child's RSS is summed here and added once.
 */
struct pte_copy {
	struct sim *sim;
	struct mm_struct *dst_mm;
	uint64_t src_clear;	/* write-protected for COW */
	uint64_t dst_clear;	/* and old, and clean if shared */
	unsigned long rss[3];	/* anon, file, shmem */
};

/*
 * The folio a present, not special PTE maps is shared from now on.
 * Whether it is anonymous: the caller counts those (its block's count is
 * a register), the others, rarer, are counted in c here.
 */
static bool copy_present_folio(struct pte_copy *c, struct folio *folio)
{
	/* mapcount++, as one add: the mapcount is the word's top bits */
	folio->index_mapcount += FOLIO_MAPCOUNT_ONE;
	/* folio_try_dup_anon_rmap_pte */
	if (folio_test_anon(folio)) {
		folio->flags &= ~PG_anon_exclusive;
		return true;
	}
	c->rss[folio->mapping && folio->mapping->shmem ? 2 : 1]++;
	return false;
}

/* copy_nonpresent_pte: a swap entry, now shared */
static void copy_swap_pte(struct sim *sim, struct mm_struct *dst_mm,
			  struct pte *src, struct pte *dst)
{
	pte_set_val(dst, pte_swap(src));
	swap_slot_find(sim, pte_swap(src))->count++;
	src->swp_exclusive = false;
	dst_mm->swapents++;
}

/* copy_present_pte's two stores: the parent's PTE, and the child's */
static void copy_pte_word(struct pte *src, struct pte *dst, uint64_t word,
			  uint64_t src_keep, uint64_t dst_keep)
{
	src->word = word & src_keep;
	dst->word = word & dst_keep;
}

/*
 * copy_pte_range for the PTEs of one block of the parent in [start, end):
 * the child's block at the same place is found once, as the kernel maps a
 * destination PTE table once for all the entries it copies into it.  The
 * child's VMAs do not overlap, so the slots copied into are empty.  A
 * present PTE is copied as a word, the parent's stored whole again, as
 * set_pte_at writes them.  The frame table's hint and the counts are
 * the loop's locals (pte_run): its stores go through PTE and folio
 * pointers.  One test (pte_run_offset) passes a PTE of a folio in the
 * hint's leaf; the others are sorted out after it.
 */
static unsigned long copy_pte_block(struct pte_copy *c, struct pte_block *sb,
				    unsigned long start, unsigned long end)
{
	unsigned long base = pte_block_base(sb);
	unsigned long i = base < start ? start - base : 0;
	unsigned long stop = min_ul(PTE_BLOCK, end - base);
	struct mm_struct *dst_mm = c->dst_mm;
	const uint64_t src_keep = ~c->src_clear, dst_keep = ~c->dst_clear;
	struct pte_block *db;
	/* the PTEs copied are anon + other: no count on the common path */
	unsigned long anon = 0, other = 0, n;
	struct pte_run run;

	while (i < stop && pte_none(&sb->pte[i]))
		i++;
	if (i == stop)
		return 0;
	db = pte_block_get(dst_mm, sb);
	pte_table_alloc(dst_mm, base);
	pte_run_sync(c->sim, &run);
	for (; i < stop; i++) {
		struct pte *src = &sb->pte[i];
		uint64_t word = src->word;

		if (pte_run_offset(&run, word) > RADIX_MASK) {
			/* none, swap, the zero page, or a folio of another leaf */
			if (!word)
				continue;
			if (!(word & PTE_PRESENT)) {
				copy_swap_pte(c->sim, dst_mm, src, &db->pte[i]);
				other++;
				continue;
			}
			if (word & PTE_SPECIAL) {
				copy_pte_word(src, &db->pte[i], word, src_keep,
					      dst_keep);
				other++;
				continue;
			}
		}
		copy_pte_word(src, &db->pte[i], word, src_keep, dst_keep);
		if (copy_present_folio(c, pte_run_folio(c->sim, &run, word)))
			anon++;
		else
			other++;
	}
	c->rss[0] += anon;
	n = anon + other;
	db->nr += (unsigned int)n;
	dst_mm->nr_ptes += n;
	return n;
}

int copy_page_range(struct sim *sim, struct vm_area_struct *dst_vma,
		    struct vm_area_struct *src_vma)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	unsigned long start = src_vma->vm_start >> PAGE_SHIFT;
	unsigned long end = src_vma->vm_end >> PAGE_SHIFT;
	struct pte_block *sb, *last = NULL;
	unsigned long n = 0;
	uint64_t wrprotect = is_cow_mapping(src_vma->vm_flags) ? PTE_WRITE : 0;
	struct pte_copy c = {
		.sim = sim,
		.dst_mm = dst_vma->vm_mm,
		.src_clear = wrprotect,
		.dst_clear = wrprotect | PTE_YOUNG | PTE_SWP_EXCLUSIVE |
			     (src_vma->vm_flags & VM_SHARED ? PTE_DIRTY : 0),
	};

	if (!vma_needs_copy(src_vma))
		return 0;
	pte_tables_copy(dst_vma->vm_mm, src_mm, src_vma->vm_start,
			src_vma->vm_end);
	for (sb = pte_block_first(src_mm, start);
	     sb && pte_block_base(sb) < end; sb = pte_block_next(sb)) {
		n += copy_pte_block(&c, sb, start, end);
		last = sb;
	}
	c.dst_mm->rss_anon += c.rss[0];
	c.dst_mm->rss_file += c.rss[1];
	c.dst_mm->rss_shmem += c.rss[2];
	/* the next VMA's copy starts from here (pte_block_first) */
	if (last)
		src_mm->pt_hint = last;
	trace(sim, "copy_page_range", 3, T_ID("dst", dst_vma->id),
	      T_ID("src", src_vma->id), T_WORK("ptes", n));
	return 0;
}
