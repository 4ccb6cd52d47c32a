/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the engine's files share with each other and nobody
 * else: object allocation, the event trace, and the kernel steps one file
 * calls in another (as mm/internal.h does for mm/).
 */
#ifndef RMAPD_INTERNAL_H
#define RMAPD_INTERNAL_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "sim.h"

#define min_ul(a, b) ((a) < (b) ? (a) : (b))
#define max_ul(a, b) ((a) > (b) ? (a) : (b))

#define FAULT_AROUND_PAGES	16	/* fault_around_bytes = 64 KiB */

static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

/* The page offset a virtual address has in this VMA (linear_page_index). */
static inline unsigned long linear_page_index(const struct vm_area_struct *vma,
					      unsigned long addr)
{
	return ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}

static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return vma->vm_file == NULL;
}

/*
 * vma_wants_writenotify: a shared writable mapping of a file that tracks
 * dirty pages (page_mkwrite, writeback: the simulated regular files) gets
 * read-only PTEs, so the first write faults into wp_page_shared.  shmem
 * needs no such notice: its PTEs are writable from the first fault.
 */
static inline bool vma_wants_writenotify(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & (VM_SHARED | VM_WRITE)) ==
	       (VM_SHARED | VM_WRITE) && vma->vm_file && !vma->vm_file->shmem;
}

static inline bool is_cow_mapping(unsigned long flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

static inline bool sim_legacy(const struct sim *sim)
{
	return sim->cfg.mode == SIM_MODE_LEGACY;
}

/*
 * trace.c: one step, with its arguments (T_ID, T_ADDR...).  They are an
 * array built at the call, not varargs, and the step is counted here, at
 * the call: a step taken per page is traced per page, and once it is
 * folded into its summary it should cost no more than a count.
 */
struct sim_trace_fn {
	const char *fn;
	size_t kept;		/* calls shown as steps */
	size_t summary;		/* 1 + index of its summary event, 0: none */
	unsigned long folded;	/* calls not yet counted in the summary */
};

struct sim_trace_fn *trace_fn_search(struct sim_trace *t, const char *fn);
void trace_keep(struct sim *sim, struct sim_trace_fn *f, const char *fn,
		size_t nargs, const struct sim_arg *args);
void trace_fold_first(struct sim_trace *t, struct sim_trace_fn *f,
		      const char *fn);
/* the folded calls counted in their summaries, before the trace is read */
void trace_flush(struct sim_trace *t);

/*
 * calls more of f, for its summary (an exit folds one a PTE): counted in
 * f, and in the summary event by trace_flush, once an operation.
 */
static inline void trace_fold(struct sim_trace *t, struct sim_trace_fn *f,
			      const char *fn, unsigned long calls)
{
	if (!f->summary)
		trace_fold_first(t, f, fn);
	f->folded += calls;
}

/*
 * A function's entry, found by the address of its name's literal in
 * fn_cache (a stale entry there, past nr_fns or another literal's, is only
 * a miss), else by its name: the same name may be two literals.
 */
static inline struct sim_trace_fn *trace_fn(struct sim_trace *t,
					    const char *fn)
{
	unsigned short *slot = &t->fn_cache[((uintptr_t)fn >> 3) %
					    SIM_TRACE_CACHE];
	struct sim_trace_fn *f;

	if (*slot && *slot <= t->nr_fns && t->fns[*slot - 1].fn == fn)
		return &t->fns[*slot - 1];
	f = trace_fn_search(t, fn);
	if (t->nr_fns <= USHRT_MAX)
		*slot = (unsigned short)(f - t->fns + 1);
	return f;
}

/* Whether a step of f is kept (else it is folded into f's summary). */
static inline bool trace_keeps(const struct sim_trace *t,
			       const struct sim_trace_fn *f)
{
	return (!t->repeat || f->kept < t->repeat) &&
	       (!t->limit || t->kept < t->limit);
}

/* The PTEs and pages the step's ARG_WORK arguments count. */
static inline unsigned long trace_work(size_t nargs,
				       const struct sim_arg *args)
{
	unsigned long work = 0;
	size_t i;

	for (i = 0; i < nargs; i++)
		if (args[i].kind == ARG_WORK)
			work += args[i].val;
	return work;
}

/* One call of fn counted and folded, or its entry if it is to be kept. */
static inline struct sim_trace_fn *trace_step(struct sim *sim, const char *fn,
					      unsigned long work)
{
	struct sim_trace_fn *f = trace_fn(&sim->trace, fn);

	sim->cost += 1 + work;
	/* a function folded once is folded from then on: neither count falls */
	if (!f->summary && trace_keeps(&sim->trace, f))
		return f;
	trace_fold(&sim->trace, f, fn, 1);
	return NULL;
}

/*
 * The arguments are written twice: the first array never leaves this
 * line, so its kinds and the work they add fold at compile time, and a
 * folded step (most of a fork's or an exit's) builds none; the second is
 * built for a step that is kept.  They must have no side effects.
 */
#define TRACE_NARGS(nargs, ...)						\
	min_ul(min_ul((size_t)(nargs), (size_t)SIM_EVENT_ARGS),		\
	       sizeof((const struct sim_arg[]){ __VA_ARGS__ }) /	\
	       sizeof(struct sim_arg))
#define trace(sim, fn, nargs, ...) do {					\
	const size_t n_ = TRACE_NARGS(nargs, __VA_ARGS__);		\
	struct sim_trace_fn *f_ = trace_step((sim), (fn),		\
		trace_work(n_, (const struct sim_arg[]){ __VA_ARGS__ }));	\
									\
	if (f_)								\
		trace_keep((sim), f_, (fn), n_,				\
			   (const struct sim_arg[]){ __VA_ARGS__ });	\
} while (0)
#define T_ID(k, v)	{ (k), ARG_ID, (unsigned long)(v) }
#define T_ADDR(k, v)	{ (k), ARG_ADDR, (unsigned long)(v) }
#define T_NUM(k, v)	{ (k), ARG_NUM, (unsigned long)(v) }
/* a count of PTEs or pages handled by the step: the op's cost grows by it */
#define T_WORK(k, v)	{ (k), ARG_WORK, (unsigned long)(v) }

/*
 * slab.c: object caches.  Under AddressSanitizer (SLAB_BYPASS) each object
 * is its own heap block.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_BYPASS 1
#endif
#endif
#ifndef SLAB_BYPASS
#define SLAB_BYPASS 0
#endif
void kmem_cache_init(struct kmem_cache *c, size_t size);
void *kmem_cache_alloc_slow(struct kmem_cache *c);
void *kmem_cache_zalloc(struct kmem_cache *c);

/* An object, not cleared: the last one freed, or the chunk's next. */
static inline void *kmem_cache_alloc(struct kmem_cache *c)
{
	void *p = c->free;

	if (SLAB_BYPASS)
		return kmem_cache_alloc_slow(c);
	if (p) {
		c->free = *(void **)p;
		return p;
	}
	if (c->next == c->end)
		return kmem_cache_alloc_slow(c);
	p = c->next;
	c->next += c->size;
	return p;
}

/*
 * A cleared object of type: its size known at the call, the clearing is
 * a few stores there (fork makes some 5,000 objects), not a call.
 */
#define kmem_cache_zalloc_obj(c, type) \
	((type *)memset(kmem_cache_alloc(c), 0, sizeof(type)))
void kmem_cache_free(struct kmem_cache *c, void *p);
void kmem_cache_destroy(struct kmem_cache *c);

/* sim.c: object lifetimes.  id 0 takes the next id of the kind. */
struct mm_struct *mm_alloc(struct sim *sim, int pid);
void mm_free(struct sim *sim, struct mm_struct *mm);
void vm_area_free(struct sim *sim, struct vm_area_struct *vma);
void anon_vma_free(struct sim *sim, struct anon_vma *anon_vma);

/* The id given (a dump's), else the kind's next; next moves past it. */
static inline unsigned long sim_take_id(unsigned long *next, unsigned long id)
{
	if (!id)
		id = *next;
	if (id >= *next)
		*next = id + 1;
	return id;
}

/*
 * Field by field, not cleared first: a fork makes one a VMA, and
 * inline, vm_area_dup's own values replace the zeros at compile time.
 */
static inline struct vm_area_struct *vm_area_alloc(struct sim *sim,
						   struct mm_struct *mm,
						   unsigned long id)
{
	struct vm_area_struct *vma = kmem_cache_alloc(&sim->vma_cachep);

	id = sim_take_id(&sim->next_vma_id, id);
	vma->id = id;
	vma->vm_mm = mm;
	vma->vm_start = vma->vm_end = vma->vm_pgoff = 0;
	vma->vm_flags = 0;
	vma->vm_file = NULL;
	vma->anon_vma = NULL;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	vma->mm_node = (struct rb_node){ 0 };
	vma->vm_next = vma->vm_prev = NULL;
	vma->shared = (struct itree_node){ 0 };
	sim->nr_vmas++;
	return vma;
}

/* Field by field, not cleared first: a fork makes one a VMA, inline. */
static inline struct anon_vma *anon_vma_alloc(struct sim *sim,
					       unsigned long id)
{
	struct anon_vma *av = kmem_cache_alloc(&sim->anon_vma_cachep);

	id = sim_take_id(&sim->next_anon_vma_id, id);
	av->id = id;
	av->root = av;
	av->parent = av;
	av->refcount = 1;
	av->num_children = 0;
	av->num_active_vmas = 0;
	/* legacy: "reference for first vma" (or the self-parent link) */
	av->degree = 1;
	av->rb_root = (struct itree_root)ITREE_ROOT_INIT;
	list_add_tail(&av->node, &sim->anon_vmas);
	radix_insert(&sim->anon_vma_ids, id, av);
	sim->nr_anon_vmas++;
	return av;
}

/*
 * Not cleared: anon_vma_chain_link, which each caller calls next, sets
 * every field but the id (the loader, which links by a dump's shapes,
 * clears the tree node itself).  A fork makes two a VMA: inline.
 */
static inline struct anon_vma_chain *anon_vma_chain_alloc(struct sim *sim,
							  unsigned long id)
{
	struct anon_vma_chain *avc = kmem_cache_alloc(&sim->avc_cachep);

	avc->id = sim_take_id(&sim->next_avc_id, id);
	INIT_LIST_HEAD(&avc->same_vma);
	sim->nr_avcs++;
	return avc;
}
void anon_vma_chain_free(struct sim *sim, struct anon_vma_chain *avc);
struct address_space *file_alloc(struct sim *sim, unsigned long id,
				 const char *name, unsigned long nr_pages,
				 bool shmem);
void file_free(struct sim *sim, struct address_space *mapping);
/* frames.c: the frame table */
struct folio *folio_alloc(struct sim *sim, unsigned long pfn);
void folio_free(struct sim *sim, struct folio *folio);
void frames_free(struct sim *sim);


struct folio *pfn_folio_miss(struct sim *sim, unsigned long pfn);

/*
 * sim_find_folio for the engine's own changes, which meet pfns in runs
 * (a VMA's pages were mostly faulted in order): the last two leaves are
 * tried first, here, inline, as fork and exit ask once a PTE.  Readers
 * may share a session, so only a change moves the hints.
 */
static inline struct folio *pfn_folio(struct sim *sim, unsigned long pfn)
{
	const struct frame_table *ft = &sim->frames;
	const unsigned long mask = RADIX_MASK;
	const struct radix_leaf *leaf = ft->hint;

	if (!leaf || (pfn & ~mask) != ft->hint_base) {
		struct frame_table *w = &sim->frames;

		leaf = ft->hint_prev;
		if (!leaf || (pfn & ~mask) != ft->hint_prev_base)
			return pfn_folio_miss(sim, pfn);
		/* the two swap: the one that hit is tried first next time */
		w->hint_prev = w->hint;
		w->hint_prev_base = w->hint_base;
		w->hint = (void *)leaf;
		w->hint_base = pfn & ~mask;
	}
	return leaf->slot[pfn & mask];
}

/*
 * pfn_folio in a loop over many PTEs that changes only folios: the first
 * hint is the loop's own copy, in locals (the compiler cannot tell that a
 * store through a folio or PTE pointer leaves sim->frames alone), read
 * again whenever pfn_folio has had to move it.  Its key is the leaf's
 * base as the word of a present, not special PTE has it, so that one
 * subtraction (pte_run_offset) finds both that a PTE maps a folio and
 * where in the leaf; a key past every word stands for no hint.
 */
#define PTE_RUN_MASK	(PTE_VAL_MASK | PTE_PRESENT | PTE_SPECIAL)

struct pte_run {
	const struct radix_leaf *leaf;
	uint64_t key;
};

static inline void pte_run_sync(const struct sim *sim, struct pte_run *run)
{
	run->leaf = sim->frames.hint;
	run->key = run->leaf ? sim->frames.hint_base | PTE_PRESENT : ~0UL >> 1;
}

/* word's slot in the run's leaf, or past RADIX_MASK: see pte_run */
static inline unsigned long pte_run_offset(const struct pte_run *run,
					   uint64_t word)
{
	return (unsigned long)((word & PTE_RUN_MASK) - run->key);
}

/* The folio a present, not special PTE maps (pfn_folio), the run kept. */
static inline struct folio *pte_run_folio(struct sim *sim, struct pte_run *run,
					  uint64_t word)
{
	unsigned long off = pte_run_offset(run, word);
	struct folio *folio;

	if (off <= RADIX_MASK)
		return run->leaf->slot[off];
	folio = pfn_folio(sim, (unsigned long)(word & PTE_VAL_MASK));
	pte_run_sync(sim, run);
	return folio;
}
struct swap_slot *swap_slot_alloc(struct sim *sim, unsigned long id);
struct swap_slot *swap_slot_find(const struct sim *sim, unsigned long id);
void swap_free(struct sim *sim, unsigned long id);
void swap_cache_del(struct sim *sim, struct folio *folio);

/* sim.c: the VMA tree of an mm */
void vma_mm_insert(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_mm_remove(struct mm_struct *mm, struct vm_area_struct *vma);
/* fork: into an empty mm, in address order, then balanced once */
void vma_mm_append(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_mm_balance(struct mm_struct *mm);
struct vm_area_struct *vma_prev(const struct vm_area_struct *vma);
/* first VMA with vm_end > addr (the kernel's find_vma), or NULL */
struct vm_area_struct *find_vma_after(struct mm_struct *mm, unsigned long addr);

/* pgtable.c */
struct pte *pte_alloc(struct mm_struct *mm, unsigned long vpn);
void pte_free(struct mm_struct *mm, unsigned long vpn);
void pte_free_all(struct mm_struct *mm);
/* block by block (copy_page_range): see pgtable.c */
struct pte_block *pte_block_first(struct mm_struct *mm, unsigned long vpn);
static inline struct pte_block *pte_block_next(const struct pte_block *blk)
{
	return blk->next;
}

struct pte_block *pte_block_new(struct mm_struct *mm,
				const struct pte_block *blk);

/*
 * The child's block at the place of blk (the parent's), made if need be.
 * fork fills the child in address order, so it is the last block made or
 * a new one past it (pte_block_new).
 */
static inline struct pte_block *pte_block_get(struct mm_struct *mm,
					      const struct pte_block *blk)
{
	struct pte_block *last = mm->pt_last;

	if (last && last->index == blk->index)
		return last;
	return pte_block_new(mm, blk);
}
void pte_blocks_balance(struct mm_struct *mm);
void pte_block_cleared(struct mm_struct *mm, struct pte_block *blk,
		       unsigned int n);

/*
 * Entry i of blk, which is mm's, as pte_alloc finds or makes it, but for
 * the PTE table: a block lies in one table, its caller makes that once.
 */
static inline struct pte *pte_block_slot(struct mm_struct *mm,
					 struct pte_block *blk, unsigned int i)
{
	struct pte *pte = &blk->pte[i];

	if (pte_none(pte)) {
		blk->nr++;
		mm->nr_ptes++;
	}
	return pte;
}
bool pte_table_present(const struct mm_struct *mm, unsigned long vpn);
void pte_table_install(struct mm_struct *mm, unsigned long region);

/* __pte_alloc: the PMD covering vpn gets a table, if it has none. */
static inline void pte_table_alloc(struct mm_struct *mm, unsigned long vpn)
{
	unsigned long region = vpn >> PTE_TABLE_SHIFT;

	/* a run of faults or copies meets one table again and again */
	if (mm->pt_hint_region != region + 1)
		pte_table_install(mm, region);
}
unsigned long pte_table_next(const struct mm_struct *mm, unsigned long vpn);
void free_pgtables(struct sim *sim, struct mm_struct *mm, unsigned long start,
		   unsigned long end);
void pte_tables_copy_regions(struct mm_struct *dst,
			     const struct mm_struct *src,
			     unsigned long first, unsigned long last);

/* copy_pmd_range: the child gets a table wherever the parent has one. */
static inline void pte_tables_copy(struct mm_struct *dst,
				   const struct mm_struct *src,
				   unsigned long start, unsigned long end)
{
	unsigned long first = (start >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	unsigned long last = ((end - 1) >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;

	/* fork meets one table VMA after VMA: dst has it, src need not say */
	if (first != last || dst->pt_hint_region != first + 1)
		pte_tables_copy_regions(dst, src, first, last);
}
void pte_tables_reclaim(struct sim *sim, struct mm_struct *mm,
			unsigned long start, unsigned long end);

/* interval tree keys (anon_vma->rb_root, i_mmap) */
void vma_interval_tree_insert(struct sim *sim, struct vm_area_struct *vma);
void vma_interval_tree_insert_after(struct sim *sim,
				    struct vm_area_struct *vma,
				    struct vm_area_struct *prev);
void vma_interval_tree_remove(struct sim *sim, struct vm_area_struct *vma);

static inline void key_from_vma(struct itree_node *node,
				const struct vm_area_struct *vma,
				unsigned long id)
{
	node->start = vma->vm_pgoff;
	node->last = vma->vm_pgoff + vma_pages(vma) - 1;
	node->id = id;
}

/* a fork inserts two chains a VMA: inline */
static inline void anon_vma_interval_tree_insert(struct anon_vma_chain *avc)
{
	key_from_vma(&avc->rb, avc->vma, avc->id);
	itree_insert(&avc->rb, &avc->anon_vma->rb_root);
}
void anon_vma_interval_tree_remove(struct anon_vma_chain *avc);

/* anon_vma.c (mm/rmap.c: the anon_vma side) */
void anon_vma_chain_link(struct vm_area_struct *vma,
			 struct anon_vma_chain *avc,
			 struct anon_vma *anon_vma);
int anon_vma_prepare(struct sim *sim, struct vm_area_struct *vma);
int anon_vma_clone(struct sim *sim, struct vm_area_struct *dst,
		   struct vm_area_struct *src);
int anon_vma_fork(struct sim *sim, struct vm_area_struct *vma,
		  struct vm_area_struct *pvma);
void unlink_anon_vmas(struct sim *sim, struct vm_area_struct *vma);
void put_anon_vma(struct sim *sim, struct anon_vma *anon_vma);
/* how many anon_vma_chains a clone of src would add (for limits) */
unsigned long anon_vma_chain_len(const struct vm_area_struct *vma);

/* rmap.c */
static inline void mm_counter_inc(struct mm_struct *mm,
				  const struct folio *folio, long delta)
{
	if (folio_test_anon(folio))
		mm->rss_anon += delta;
	else if (folio->mapping && folio->mapping->shmem)
		mm->rss_shmem += delta;
	else
		mm->rss_file += delta;
}
void folio_add_new_anon_rmap(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma, unsigned long addr,
			     bool exclusive);
void folio_add_anon_rmap_pte(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma, unsigned long addr,
			     bool exclusive);
void folio_add_file_rmap_pte(struct sim *sim, struct folio *folio,
			     struct vm_area_struct *vma);
void folio_remove_rmap_pte(struct sim *sim, struct folio *folio,
			   struct vm_area_struct *vma);
void folio_move_anon_rmap(struct sim *sim, struct folio *folio,
			  struct vm_area_struct *vma);
/* drop a folio nobody maps or caches any more */
void folio_put_if_unused(struct sim *sim, struct folio *folio);
int try_to_unmap_op(struct sim *sim, struct folio *folio,
		    struct sim_result *res);
int folio_referenced_op(struct sim *sim, struct folio *folio,
			struct sim_result *res);

/* memory.c */
int handle_mm_fault(struct sim *sim, struct mm_struct *mm, unsigned long addr,
		    bool write, struct sim_result *res);
/* zap_pte_range: unmap [start,end) of vma, dropping rmaps */
void zap_page_range(struct sim *sim, struct vm_area_struct *vma,
		    unsigned long start, unsigned long end);
void free_swap_and_cache(struct sim *sim, unsigned long entry);
int copy_page_range(struct sim *sim, struct vm_area_struct *dst_vma,
		    struct vm_area_struct *src_vma);
unsigned long count_ptes(struct mm_struct *mm, unsigned long start,
			 unsigned long end);

/* vma.c */
int do_mmap(struct sim *sim, struct mm_struct *mm, const struct sim_op *op,
	    struct sim_result *res);
int do_munmap(struct sim *sim, struct mm_struct *mm, unsigned long start,
	      unsigned long len);
int do_mprotect(struct sim *sim, struct mm_struct *mm, unsigned long start,
		unsigned long len, unsigned int prot);
int do_mremap(struct sim *sim, struct mm_struct *mm, const struct sim_op *op,
	      struct sim_result *res);
int do_madvise(struct sim *sim, struct mm_struct *mm, unsigned long start,
	       unsigned long len, int advice);
int do_brk(struct sim *sim, struct mm_struct *mm, unsigned long brk,
	   struct sim_result *res);
void remove_vma(struct sim *sim, struct vm_area_struct *vma);
struct vm_area_struct *vm_area_dup(struct sim *sim,
				    struct vm_area_struct *orig);
void unlink_file_vma(struct sim *sim, struct vm_area_struct *vma);
void link_file_vma(struct sim *sim, struct vm_area_struct *vma);
unsigned long calc_vm_flags(unsigned int prot, unsigned int flags);

/* fork.c */
int do_spawn(struct sim *sim, enum spawn_layout layout, struct sim_result *res);
int dup_mmap(struct sim *sim, struct mm_struct *oldmm, struct sim_result *res);
void exit_mmap(struct sim *sim, struct mm_struct *mm);

/* check.c: sim_check without the violations named in ignore (NULL-ended) */
size_t sim_check_except(const struct sim *sim, struct sim_check_report *report,
			const char *const *ignore);

/* ops.c */
int sim_reject(struct sim *sim, int code, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int kerr(struct sim_result *res, int err, const char *reason);

#endif /* RMAPD_INTERNAL_H */
