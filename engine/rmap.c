// SPDX-License-Identifier: MIT
/*
 * rmap.c - the folio side of mm/rmap.c: setting page->mapping and index when
 * a folio is first mapped, the mapcount, and rmap_walk with its two users
 * that the simulator offers, try_to_unmap (reclaim) and folio_referenced.
 *
 * An anonymous folio's walk starts at the anon_vma its page->mapping names
 * and visits, through that anon_vma's interval tree, every VMA chained to it
 * whose pgoff range covers folio->index: the tree narrows the search but
 * still visits VMAs that COWed the page away.  A file folio's walk does the
 * same over the address_space's i_mmap.  Each visit computes the address
 * from index and vm_pgoff and asks the page table whether it really maps the
 * folio (page_vma_mapped_walk).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A folio first mapped by this fault: page->mapping, index, mapcount 1. */
void folio_add_new_anon_rmap(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma, unsigned long addr,
			     bool exclusive)
{
	struct anon_vma *anon_vma = vma->anon_vma;

	/* not exclusive: only the oldest anon_vma is sure to reach it */
	if (!exclusive)
		anon_vma = anon_vma->root;
	folio->anon_vma_id = anon_vma->id;
	folio->mapping = NULL;
	folio->index = linear_page_index(vma, addr);
	folio->flags |= PG_swapbacked;
	folio->mapcount = 1;
	if (exclusive)
		folio->flags |= PG_anon_exclusive;
	mm_counter_inc(vma->vm_mm, folio, 1);
	trace(sim, "folio_add_new_anon_rmap", 4, T_ID("pfn", folio->pfn),
	      T_ID("vma", vma->id), T_ID("anon_vma", anon_vma->id),
	      T_NUM("index", folio->index));
}

void folio_add_anon_rmap_pte(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma, unsigned long addr,
			     bool exclusive)
{
	if (!folio_test_anon(folio)) {
		folio_add_new_anon_rmap(sim, folio, vma, addr, exclusive);
		return;
	}
	folio->mapcount++;
	if (exclusive)
		folio->flags |= PG_anon_exclusive;
	mm_counter_inc(vma->vm_mm, folio, 1);
	trace(sim, "folio_add_anon_rmap_pte", 3, T_ID("pfn", folio->pfn),
	      T_ID("vma", vma->id), T_NUM("mapcount", folio->mapcount));
}

void folio_add_file_rmap_pte(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma)
{
	folio->mapcount++;
	mm_counter_inc(vma->vm_mm, folio, 1);
	trace(sim, "folio_add_file_rmap_pte", 3, T_ID("pfn", folio->pfn),
	      T_ID("vma", vma->id), T_NUM("mapcount", folio->mapcount));
}

void folio_remove_rmap_pte(struct sim *sim, struct folio *folio,
			   struct vm_area_struct *vma)
{
	folio->mapcount--;
	mm_counter_inc(vma->vm_mm, folio, -1);
	trace(sim, "folio_remove_rmap_pte", 3, T_ID("pfn", folio->pfn),
	      T_ID("vma", vma->id), T_NUM("mapcount", folio->mapcount));
}

/* do_wp_page reuses an exclusive folio: it now belongs to this VMA alone. */
void folio_move_anon_rmap(struct sim *sim, struct folio *folio,
			  struct vm_area_struct *vma)
{
	if (folio->anon_vma_id == vma->anon_vma->id)
		return;
	trace(sim, "folio_move_anon_rmap", 4, T_ID("pfn", folio->pfn),
	      T_ID("vma", vma->id), T_ID("from", folio->anon_vma_id),
	      T_ID("to", vma->anon_vma->id));
	folio->anon_vma_id = vma->anon_vma->id;
}

/* The last reference went: back to the page allocator. */
void folio_put_if_unused(struct sim *sim, struct folio *folio)
{
	/* a mapping is a reference: what an exit of one sharer meets */
	if (folio->mapcount > 0 || folio_ref_count(folio) > 0 ||
	    (folio->flags & PG_zero))
		return;
	trace(sim, "free_folio", 1, T_ID("pfn", folio->pfn));
	folio_free(sim, folio);
}

/* ---- rmap_walk ---- */

struct walk_ctl {
	/* called for each VMA that really maps the folio; false stops */
	bool (*rmap_one)(struct sim *sim, struct folio *folio,
			 struct vm_area_struct *vma, struct pte *pte,
			 struct rmap_visit *visit, void *arg);
	void *arg;
	/* stop once nothing maps the folio any more (rwc->done) */
	bool stop_when_unmapped;
};

static struct rmap_visit *walk_push(struct sim *sim)
{
	struct rmap_walk_result *w = &sim->walk;

	if (w->nr_visits == sim->cap_visits) {
		size_t cap = sim->cap_visits ? sim->cap_visits * 2 : 64;
		struct rmap_visit *v = realloc(w->visits, cap * sizeof(*v));

		if (!v)
			abort();
		w->visits = v;
		sim->cap_visits = cap;
	}
	memset(&w->visits[w->nr_visits], 0, sizeof(*w->visits));
	return &w->visits[w->nr_visits++];
}

/* the interval tree tells the walk of each node its query examines */
static void walk_probe(void *ctx, const struct itree_node *node,
		       enum itree_step step)
{
	struct sim *sim = ctx;
	struct rmap_walk_result *w = &sim->walk;
	struct rmap_probe *p;

	w->tree_probes++;
	if (w->nr_probes == RMAP_MAX_PROBES)
		return;
	if (w->nr_probes == sim->cap_probes) {
		size_t cap = sim->cap_probes ? sim->cap_probes * 2 : 64;
		struct rmap_probe *n = realloc(w->probes, cap * sizeof(*n));

		if (!n)
			abort();
		w->probes = n;
		sim->cap_probes = cap;
	}
	p = &w->probes[w->nr_probes++];
	if (w->kind == WALK_ANON) {
		const struct anon_vma_chain *avc =
			container_of(node, struct anon_vma_chain, rb);

		p->id = avc->id;
		p->vma_id = avc->vma->id;
	} else {
		p->id = container_of(node, struct vm_area_struct, shared)->id;
		p->vma_id = p->id;
	}
	p->start = node->start;
	p->last = node->last;
	p->subtree_last = node->subtree_last;
	p->step = step;
}

/* page_vma_mapped_walk for one small folio: does vma map it at address? */
static struct pte *page_vma_mapped(struct vm_area_struct *vma,
				   const struct folio *folio,
				   unsigned long address)
{
	struct pte *pte;

	if (address < vma->vm_start || address >= vma->vm_end)
		return NULL;
	pte = pte_lookup(vma->vm_mm, address >> PAGE_SHIFT);
	if (!pte || !pte->present || pte->special || pte_pfn(pte) != folio->pfn)
		return NULL;
	return pte;
}

/* One visit; returns false to stop the walk. */
static bool rmap_visit_vma(struct sim *sim, struct folio *folio,
			   struct vm_area_struct *vma, struct anon_vma_chain *avc,
			   const struct walk_ctl *ctl)
{
	struct rmap_walk_result *w = &sim->walk;
	unsigned long address = vma->vm_start +
		((folio->index - vma->vm_pgoff) << PAGE_SHIFT);
	struct rmap_visit *visit = walk_push(sim);
	struct pte *pte;

	visit->vma_id = vma->id;
	visit->pid = vma->vm_mm->pid;
	visit->address = address;
	if (avc) {
		visit->avc_id = avc->id;
		visit->anon_vma_id = avc->anon_vma->id;
	}
	w->visited++;
	pte = page_vma_mapped(vma, folio, address);
	if (!pte)
		return true;
	visit->mapped = true;
	w->mapped++;
	if (ctl && ctl->rmap_one &&
	    !ctl->rmap_one(sim, folio, vma, pte, visit, ctl->arg))
		return false;
	if (ctl && ctl->stop_when_unmapped && folio->mapcount == 0)
		return false;
	return true;
}

static void rmap_walk_anon(struct sim *sim, struct folio *folio,
			   const struct walk_ctl *ctl)
{
	struct rmap_walk_result *w = &sim->walk;
	struct anon_vma *anon_vma = sim_find_anon_vma(sim, folio->anon_vma_id);
	struct itree_node *node;

	w->kind = WALK_ANON;
	w->start_id = folio->anon_vma_id;
	if (!anon_vma) {
		/* page->mapping points at a freed anon_vma: in the kernel, a
		 * use-after-free; here the walk stops and says so */
		w->dangling = true;
		return;
	}
	anon_vma->rb_root.probe = walk_probe;
	anon_vma->rb_root.probe_ctx = sim;
	for (node = itree_iter_first(&anon_vma->rb_root, w->pgoff_start,
				     w->pgoff_last);
	     node; node = itree_iter_next(&anon_vma->rb_root, node, w->pgoff_start,
					     w->pgoff_last)) {
		struct anon_vma_chain *avc =
			container_of(node, struct anon_vma_chain, rb);

		if (!rmap_visit_vma(sim, folio, avc->vma, avc, ctl))
			break;
	}
	anon_vma->rb_root.probe = NULL;
}

static void rmap_walk_file(struct sim *sim, struct folio *folio,
			   const struct walk_ctl *ctl)
{
	struct rmap_walk_result *w = &sim->walk;
	struct address_space *mapping = folio->mapping;
	struct itree_node *node;

	w->kind = WALK_FILE;
	w->start_id = mapping->id;
	mapping->i_mmap.probe = walk_probe;
	mapping->i_mmap.probe_ctx = sim;
	for (node = itree_iter_first(&mapping->i_mmap, w->pgoff_start,
				     w->pgoff_last);
	     node; node = itree_iter_next(&mapping->i_mmap, node, w->pgoff_start,
					     w->pgoff_last)) {
		struct vm_area_struct *vma =
			container_of(node, struct vm_area_struct, shared);

		if (!rmap_visit_vma(sim, folio, vma, NULL, ctl))
			break;
	}
	mapping->i_mmap.probe = NULL;
}

static const struct rmap_walk_result *rmap_walk(struct sim *sim,
						struct folio *folio,
						const struct walk_ctl *ctl)
{
	struct rmap_walk_result *w = &sim->walk;
	struct rmap_visit *keep = w->visits;
	struct rmap_probe *keep_probes = w->probes;

	memset(w, 0, sizeof(*w));
	w->visits = keep;
	w->probes = keep_probes;
	w->pfn = folio->pfn;
	w->index = folio->index;
	w->pgoff_start = folio->index;
	w->pgoff_last = folio->index;
	if (folio_test_anon(folio))
		rmap_walk_anon(sim, folio, ctl);
	else if (folio->mapping)
		rmap_walk_file(sim, folio, ctl);
	/* a walk's work is its visits, traced or not */
	sim->cost += w->visited + w->tree_probes;
	return w;
}

const struct rmap_walk_result *sim_rmap_walk(struct sim *sim,
					     unsigned long pfn)
{
	struct folio *folio = sim_find_folio(sim, pfn);

	if (!folio)
		return NULL;
	return rmap_walk(sim, folio, NULL);
}

/* ---- try_to_unmap: reclaim of one folio ---- */

static bool try_to_unmap_one(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma, struct pte *pte,
			     struct rmap_visit *visit, void *arg)
{
	struct swap_slot *slot = arg;

	if (pte->dirty)
		folio->flags |= PG_dirty;
	folio_remove_rmap_pte(sim, folio, vma);
	if (!folio_test_anon(folio)) {
		/* a file page is simply dropped: it refaults from the cache */
		pte_free(vma->vm_mm, visit->address >> PAGE_SHIFT);
		return true;
	}
	pte->present = false;
	pte->write = false;
	pte->young = false;
	pte->dirty = false;
	pte_set_val(pte, slot->id);
	pte->swp_exclusive = (folio->flags & PG_anon_exclusive) != 0;
	slot->count++;
	vma->vm_mm->swapents++;
	trace(sim, "try_to_unmap_one", 3, T_ID("vma", vma->id),
	      T_ADDR("addr", visit->address), T_NUM("slot", slot->id));
	return true;
}

/*
 * pageout of a dirty shmem folio (shmem_writeout): it moves from the page
 * cache to a swap slot, which the shmem file's page now names, and is
 * written; the next fault reads it back (shmem_swapin_folio).
 */
static void shmem_writeout(struct sim *sim, struct folio *folio)
{
	struct swap_slot *slot = swap_slot_alloc(sim, 0);

	slot->count = 1;
	folio->mapping->swap[folio->index] = slot->id;
	folio->flags &= ~PG_dirty;
	trace(sim, "shmem_writeout", 4, T_ID("pfn", folio->pfn),
	      T_ID("file", folio->mapping->id), T_NUM("index", folio->index),
	      T_NUM("slot", slot->id));
}

/*
 * An unmapped file folio: a clean one leaves the page cache, dirty shmem
 * goes to swap.  A dirty regular-file folio stays cached: outside kswapd
 * reclaim never writes a file folio, it marks it for reclaim once the
 * flusher has written it (folio_set_reclaim), and rmapd has no flusher.
 * Returns false when the folio stays.
 */
static bool reclaim_file_folio(struct sim *sim, struct folio *folio)
{
	struct address_space *mapping = folio->mapping;

	if ((folio->flags & PG_dirty) && !mapping->shmem) {
		trace(sim, "folio_set_reclaim", 2, T_ID("pfn", folio->pfn),
		      T_ID("file", mapping->id));
		return false;
	}
	if (folio->flags & PG_dirty)
		shmem_writeout(sim, folio);
	mapping->pages[folio->index] = NULL;
	trace(sim, "__remove_mapping", 2, T_ID("pfn", folio->pfn),
	      T_ID("file", mapping->id));
	return true;
}

/*
 * shrink_folio_list for one folio: an anonymous folio goes to the swap
 * cache (add_to_swap), every PTE becomes a swap entry, it is written out and
 * freed; a file folio loses its PTEs and leaves the page cache if it is
 * clean or shmem (reclaim_file_folio).  A folio the walk cannot fully unmap
 * stays.
 */
int try_to_unmap_op(struct sim *sim, struct folio *folio,
		    struct sim_result *res)
{
	struct walk_ctl ctl = { .rmap_one = try_to_unmap_one,
				.stop_when_unmapped = true };
	struct swap_slot *slot = NULL;

	if (folio->flags & PG_zero)
		return kerr(res, SIM_EINVAL, "the zero page is never reclaimed");
	if (folio_test_anon(folio) && !sim_find_anon_vma(sim, folio->anon_vma_id)) {
		rmap_walk(sim, folio, NULL);
		res->walk = &sim->walk;
		return kerr(res, SIM_EFAULT,
			    "page->mapping names a freed anon_vma: the walk would "
			    "dereference freed memory (use-after-free)");
	}
	if (folio_test_anon(folio)) {
		if (folio->flags & PG_swapcache) {
			slot = swap_slot_find(sim, folio->swap);
		} else {
			slot = swap_slot_alloc(sim, 0);
			slot->cache_pfn = folio->pfn;
			folio->swap = slot->id;
			folio->flags |= PG_swapcache;
			trace(sim, "add_to_swap", 2, T_ID("pfn", folio->pfn),
			      T_NUM("slot", slot->id));
		}
		ctl.arg = slot;
	}
	trace(sim, "try_to_unmap", 1, T_ID("pfn", folio->pfn));
	res->walk = rmap_walk(sim, folio, &ctl);
	if (folio->mapcount > 0) {
		return kerr(res, SIM_EAGAIN,
			    "the rmap walk did not find every mapping: the folio "
			    "is still mapped and stays in memory");
	}
	if (slot) {
		trace(sim, "pageout", 2, T_ID("pfn", folio->pfn),
		      T_NUM("slot", slot->id));
		trace(sim, "__remove_mapping", 1, T_ID("pfn", folio->pfn));
		swap_cache_del(sim, folio);
	} else if (folio->mapping && !reclaim_file_folio(sim, folio)) {
		return 0;
	}
	folio_put_if_unused(sim, folio);
	return 0;
}

/* ---- folio_referenced ---- */

static bool folio_referenced_one(struct sim *sim, struct folio *folio,
				 struct vm_area_struct *vma, struct pte *pte,
				 struct rmap_visit *visit, void *arg)
{
	int *left = arg;

	if (pte->young) {
		pte->young = false;	/* ptep_clear_flush_young */
		visit->young = true;
		trace(sim, "ptep_clear_flush_young", 2, T_ID("vma", vma->id),
		      T_ADDR("addr", visit->address));
	}
	/* every mapping seen: no need to walk further */
	return --left[0] > 0;
}

int folio_referenced_op(struct sim *sim, struct folio *folio,
			struct sim_result *res)
{
	int left = folio->mapcount;
	struct walk_ctl ctl = { .rmap_one = folio_referenced_one, .arg = &left };
	size_t i;

	trace(sim, "folio_referenced", 1, T_ID("pfn", folio->pfn));
	if (folio->flags & PG_zero)
		return kerr(res, SIM_EINVAL, "the zero page has no rmap");
	if (!folio->mapcount) {
		res->referenced = 0;
		return 0;
	}
	res->walk = rmap_walk(sim, folio, &ctl);
	res->referenced = 0;
	for (i = 0; i < sim->walk.nr_visits; i++)
		res->referenced += sim->walk.visits[i].young;
	if (sim->walk.dangling)
		return kerr(res, SIM_EFAULT,
			    "page->mapping names a freed anon_vma");
	return 0;
}
