// SPDX-License-Identifier: MIT
/*
 * sim.c - the session: object lifetimes, id counters, lookups (the trace
 * is trace.c).  Nothing here decides kernel behaviour; it is the slab
 * allocator and the bookkeeping the other files stand on (kernel/fork.c's
 * mm_alloc and vm_area_alloc, mm/rmap.c's anon_vma_alloc and
 * anon_vma_chain_alloc, the page allocator).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		abort();	/* the engine's limits make this unreachable */
	return p;
}

void sim_default_limits(struct sim_limits *limits)
{
	limits->max_procs = 64;
	limits->max_vmas = 4096;
	limits->max_frames = 16384;
	limits->max_files = 64;
	limits->max_file_pages = 4096;
	limits->max_ptes = 65536;
}

static void fill_limits(struct sim_limits *l)
{
	struct sim_limits def;

	sim_default_limits(&def);
	if (!l->max_procs)
		l->max_procs = def.max_procs;
	if (!l->max_vmas)
		l->max_vmas = def.max_vmas;
	if (!l->max_frames)
		l->max_frames = def.max_frames;
	if (!l->max_files)
		l->max_files = def.max_files;
	if (!l->max_file_pages)
		l->max_file_pages = def.max_file_pages;
	if (!l->max_ptes)
		l->max_ptes = def.max_ptes;
}

struct sim *sim_new(const struct sim_config *cfg)
{
	struct sim *sim = zalloc(sizeof(*sim));

	if (cfg)
		sim->cfg = *cfg;
	fill_limits(&sim->cfg.limits);
	sim->next_pid = 1;
	sim->next_vma_id = 1;
	sim->next_anon_vma_id = 1;
	sim->next_avc_id = 1;
	sim->next_file_id = 1;
	sim->next_pfn = 1;
	sim->next_swap = 1;
	sim_trace_init(&sim->trace, SIM_TRACE_REPEAT, 0);
	INIT_LIST_HEAD(&sim->mms);
	INIT_LIST_HEAD(&sim->anon_vmas);
	INIT_LIST_HEAD(&sim->files);
	/* The shared zero page: pfn 0, never on the frame tree, no rmap. */
	sim->zero_folio.pfn = 0;
	sim->zero_folio.flags = PG_zero;
	kmem_cache_init(&sim->vma_cachep, sizeof(struct vm_area_struct));
	kmem_cache_init(&sim->anon_vma_cachep, sizeof(struct anon_vma));
	kmem_cache_init(&sim->avc_cachep, sizeof(struct anon_vma_chain));
	kmem_cache_init(&sim->pte_block_cachep, sizeof(struct pte_block));
	return sim;
}

void sim_free(struct sim *sim)
{
	struct mm_struct *mm, *nmm;
	struct address_space *f, *nf;
	struct anon_vma *av, *nav;
	struct rb_node *n;

	if (!sim)
		return;
	list_for_each_entry_safe(mm, nmm, &sim->mms, node) {
		struct vm_area_struct *vma;

		pte_free_all(mm);
		while ((vma = vma_first(mm))) {
			struct anon_vma_chain *avc, *navc;

			list_for_each_entry_safe(avc, navc, &vma->anon_vma_chain,
						 same_vma) {
				list_del(&avc->same_vma);
				kmem_cache_free(&sim->avc_cachep, avc);
			}
			vma_mm_remove(mm, vma);
			kmem_cache_free(&sim->vma_cachep, vma);
		}
		list_del(&mm->node);
		free(mm->pt);
		free(mm);
	}
	list_for_each_entry_safe(av, nav, &sim->anon_vmas, node) {
		list_del(&av->node);
		kmem_cache_free(&sim->anon_vma_cachep, av);
	}
	list_for_each_entry_safe(f, nf, &sim->files, node) {
		list_del(&f->node);
		free(f->pages);
		free(f->swap);
		free(f);
	}
	frames_free(sim);
	while ((n = rb_first(&sim->swap))) {
		rb_erase_augmented(n, &sim->swap, NULL);
		free(rb_entry(n, struct swap_slot, node));
	}
	kmem_cache_destroy(&sim->vma_cachep);
	kmem_cache_destroy(&sim->anon_vma_cachep);
	radix_destroy(&sim->anon_vma_ids);
	kmem_cache_destroy(&sim->avc_cachep);
	kmem_cache_destroy(&sim->pte_block_cachep);
	sim_trace_free(&sim->trace);
	free(sim->walk.visits);
	free(sim->walk.probes);
	free(sim);
}

/* ---- processes ---- */

struct mm_struct *mm_alloc(struct sim *sim, int pid)
{
	struct mm_struct *mm = zalloc(sizeof(*mm));

	mm->pid = pid;
	mm->mmap_base = SIM_MMAP_BASE;
	mm->pt_cache = &sim->pte_block_cachep;
	/* keep sim->mms in pid order */
	list_add_tail(&mm->node, &sim->mms);
	if ((unsigned long)pid >= sim->next_pid)
		sim->next_pid = (unsigned long)pid + 1;
	sim->nr_mms++;
	return mm;
}

void mm_free(struct sim *sim, struct mm_struct *mm)
{
	list_del(&mm->node);
	sim->nr_mms--;
	pte_free_all(mm);
	free(mm->pt);
	free(mm);
}

struct mm_struct *sim_find_mm(const struct sim *sim, int pid)
{
	struct mm_struct *mm;

	list_for_each_entry(mm, &sim->mms, node)
		if (mm->pid == pid)
			return mm;
	return NULL;
}

/* ---- VMAs and the per-mm VMA tree ---- */

/* Into mm's list after prev (NULL: first), as it is in the tree. */
static void vma_list_link(struct mm_struct *mm, struct vm_area_struct *vma,
			  struct rb_node *prev_node)
{
	struct vm_area_struct *prev = prev_node ?
		rb_entry(prev_node, struct vm_area_struct, mm_node) : NULL;
	struct vm_area_struct *next = prev ? prev->vm_next : mm->mmap;

	vma->vm_prev = prev;
	vma->vm_next = next;
	if (prev)
		prev->vm_next = vma;
	else
		mm->mmap = vma;
	if (next)
		next->vm_prev = vma;
	else
		mm->vma_last = vma;
}

/*
 * vm_area_alloc and anon_vma_alloc (internal.h) set each field, nothing
 * is cleared first: a field added to either struct must be set there too.  These
 * sizes are what those fields take, so that adding one fails here.
 */
_Static_assert(sizeof(struct vm_area_struct) ==
	       8 * sizeof(long) + sizeof(struct list_head) +
	       sizeof(struct rb_node) + 2 * sizeof(void *) +
	       sizeof(struct itree_node),
	       "a new field of struct vm_area_struct: set it in vm_area_alloc");
_Static_assert(sizeof(struct anon_vma) ==
	       3 * sizeof(long) + 4 * sizeof(int) + sizeof(struct itree_root) +
	       sizeof(struct list_head),
	       "a new field of struct anon_vma: set it in anon_vma_alloc");
_Static_assert(sizeof(struct anon_vma_chain) ==
	       3 * sizeof(long) + sizeof(struct list_head) +
	       sizeof(struct itree_node),
	       "a new field of struct anon_vma_chain: set it in "
	       "anon_vma_chain_link (anon_vma_chain_alloc clears nothing)");

void vm_area_free(struct sim *sim, struct vm_area_struct *vma)
{
	sim->nr_vmas--;
	kmem_cache_free(&sim->vma_cachep, vma);
}

void vma_mm_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct rb_node **link = &mm->mm_mt.node, *parent = NULL;
	struct vm_area_struct *last = mm->vma_last;

	/* dup_mmap and a growing heap add past the highest VMA: no descent */
	if (last && vma->vm_start >= last->vm_start) {
		parent = &last->mm_node;
		link = &parent->right;
	}
	while (*link) {
		struct vm_area_struct *cur =
			rb_entry(*link, struct vm_area_struct, mm_node);

		parent = *link;
		if (vma->vm_start < cur->vm_start)
			link = &parent->left;
		else
			link = &parent->right;
	}
	rb_link_node(&vma->mm_node, parent, link);
	rb_insert_augmented(&vma->mm_node, &mm->mm_mt, NULL);
	vma_list_link(mm, vma, rb_prev(&vma->mm_node));
	mm->map_count++;
}

/*
 * dup_mmap fills the child in address order: each VMA goes past the last,
 * unbalanced, and vma_mm_balance balances the lot once they are all in.
 */
void vma_mm_append(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct rb_node *last = mm->vma_last ? &mm->vma_last->mm_node : NULL;

	rb_link_node(&vma->mm_node, last, last ? &last->right : &mm->mm_mt.node);
	vma_list_link(mm, vma, last);
	mm->map_count++;
}

void vma_mm_balance(struct mm_struct *mm)
{
	rb_balance_chain(&mm->mm_mt, mm->map_count);
}

void vma_mm_remove(struct mm_struct *mm, struct vm_area_struct *vma)
{
	if (vma->vm_prev)
		vma->vm_prev->vm_next = vma->vm_next;
	else
		mm->mmap = vma->vm_next;
	if (vma->vm_next)
		vma->vm_next->vm_prev = vma->vm_prev;
	else
		mm->vma_last = vma->vm_prev;
	vma->vm_next = vma->vm_prev = NULL;
	rb_erase_augmented(&vma->mm_node, &mm->mm_mt, NULL);
	mm->map_count--;
}

struct vm_area_struct *vma_first(const struct mm_struct *mm)
{
	return mm->mmap;
}

struct vm_area_struct *vma_next(const struct vm_area_struct *vma)
{
	return vma->vm_next;
}

struct vm_area_struct *vma_prev(const struct vm_area_struct *vma)
{
	return vma->vm_prev;
}

struct vm_area_struct *find_vma_after(struct mm_struct *mm, unsigned long addr)
{
	struct rb_node *n = mm->mm_mt.node;
	struct vm_area_struct *best = NULL;

	while (n) {
		struct vm_area_struct *v =
			rb_entry(n, struct vm_area_struct, mm_node);

		if (v->vm_end > addr) {
			best = v;
			if (v->vm_start <= addr)
				break;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/* The VMA containing addr, or NULL (the kernel's vma_lookup). */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma_after(mm, addr);

	if (vma && vma->vm_start <= addr)
		return vma;
	return NULL;
}

/* ---- anon_vma and anon_vma_chain ---- */

void anon_vma_free(struct sim *sim, struct anon_vma *av)
{
	const struct radix_leaf *freed;

	list_del(&av->node);
	radix_erase(&sim->anon_vma_ids, av->id, &freed);
	sim->nr_anon_vmas--;
	kmem_cache_free(&sim->anon_vma_cachep, av);
}

struct anon_vma *sim_find_anon_vma(const struct sim *sim, unsigned long id)
{
	return radix_lookup(&sim->anon_vma_ids, id);
}

void anon_vma_chain_free(struct sim *sim, struct anon_vma_chain *avc)
{
	sim->nr_avcs--;
	kmem_cache_free(&sim->avc_cachep, avc);
}

/* ---- files (address_space) ---- */

struct address_space *file_alloc(struct sim *sim, unsigned long id,
				 const char *name, unsigned long nr_pages,
				 bool shmem)
{
	struct address_space *f = zalloc(sizeof(*f));

	id = sim_take_id(&sim->next_file_id, id);
	f->id = id;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->nr_pages = nr_pages;
	f->shmem = shmem;
	f->pages = zalloc((nr_pages ? nr_pages : 1) * sizeof(*f->pages));
	if (shmem)
		f->swap = zalloc((nr_pages ? nr_pages : 1) * sizeof(*f->swap));
	list_add_tail(&f->node, &sim->files);
	sim->nr_files++;
	return f;
}

void file_free(struct sim *sim, struct address_space *f)
{
	list_del(&f->node);
	sim->nr_files--;
	free(f->pages);
	free(f->swap);
	free(f);
}

struct address_space *sim_find_file(const struct sim *sim, const char *name)
{
	struct address_space *f;

	list_for_each_entry(f, &sim->files, node)
		if (!f->shmem && !strcmp(f->name, name))
			return f;
	return NULL;
}

/* References: one per mapping PTE, one for the page cache or swap cache. */
int folio_ref_count(const struct folio *folio)
{
	int ref = folio->mapcount;

	if (folio->flags & PG_zero)
		return 1;
	if (folio->mapping && folio->mapping->pages[folio->index] == folio)
		ref++;
	if (folio->flags & PG_swapcache)
		ref++;
	return ref;
}

/* ---- swap slots ---- */

struct swap_slot *swap_slot_alloc(struct sim *sim, unsigned long id)
{
	struct swap_slot *s = zalloc(sizeof(*s));
	struct rb_node **link = &sim->swap.node, *parent = NULL;

	if (!id)
		id = sim->next_swap;
	if (id >= sim->next_swap)
		sim->next_swap = id + 1;
	s->id = id;
	while (*link) {
		struct swap_slot *cur = rb_entry(*link, struct swap_slot, node);

		parent = *link;
		link = id < cur->id ? &parent->left : &parent->right;
	}
	rb_link_node(&s->node, parent, link);
	rb_insert_augmented(&s->node, &sim->swap, NULL);
	return s;
}

struct swap_slot *swap_slot_find(const struct sim *sim, unsigned long id)
{
	struct rb_node *n = sim->swap.node;

	while (n) {
		struct swap_slot *s = rb_entry(n, struct swap_slot, node);

		if (id == s->id)
			return s;
		n = id < s->id ? n->left : n->right;
	}
	return NULL;
}

/* A slot lives while a PTE or a shmem page names it, or its folio is cached. */
static void swap_slot_put_if_unused(struct sim *sim, struct swap_slot *s)
{
	if (s->count > 0 || s->cache_pfn)
		return;
	rb_erase_augmented(&s->node, &sim->swap, NULL);
	free(s);
}

/* swap_free: drop one reference (a swap PTE's or a shmem page's) to a slot. */
void swap_free(struct sim *sim, unsigned long id)
{
	struct swap_slot *s = swap_slot_find(sim, id);

	if (!s)
		return;
	s->count--;
	swap_slot_put_if_unused(sim, s);
}

/* delete_from_swap_cache: the folio leaves; a slot nobody names goes too. */
void swap_cache_del(struct sim *sim, struct folio *folio)
{
	struct swap_slot *s = swap_slot_find(sim, folio->swap);

	folio->flags &= ~PG_swapcache;
	folio->swap = 0;
	if (!s)
		return;
	s->cache_pfn = 0;
	swap_slot_put_if_unused(sim, s);
}
