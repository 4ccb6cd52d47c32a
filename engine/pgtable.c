/*
 * pgtable.c - page tables and the interval-tree keys of VMAs.
 *
 * A process's PTEs sit in blocks of PTE_BLOCK one-word entries, each block a
 * piece of a 512-entry PTE table, indexed by virtual page number as the
 * kernel's tables are; the blocks that hold any PTE are kept in a red-black
 * tree by address (standing in for the PGD, PUD and PMD levels), so a
 * lookup is O(log n) and a range (zap, move, copy) a lower-bound search
 * followed by in-order steps, as the kernel's pte walkers do.  Which PTE
 * tables exist (what free_pgtables frees) is kept beside them, per 2 MiB
 * region.  The second half is mm/interval_tree.c: the keys under which VMAs
 * sit in i_mmap and anon_vma_chains sit in anon_vma->rb_root.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static unsigned long block_index(unsigned long vpn)
{
	return vpn >> PTE_BLOCK_SHIFT;
}

static unsigned int block_slot(unsigned long vpn)
{
	return (unsigned int)(vpn & (PTE_BLOCK - 1));
}

static struct pte_block *block_of(const struct rb_node *n)
{
	return n ? rb_entry(n, struct pte_block, node) : NULL;
}

/* The block holding index, or the first after it (when !exact). */
static struct pte_block *block_search(const struct mm_struct *mm,
				      unsigned long index, bool exact)
{
	const struct rb_node *n = mm->pgtable.node;
	struct pte_block *best = NULL;

	while (n) {
		struct pte_block *blk = block_of(n);

		if (blk->index == index)
			return blk;
		if (blk->index > index) {
			best = blk;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return exact ? NULL : best;
}

/*
 * A writer's lookup: fork and exit go block after block, the hint hits; a
 * child being filled by fork, or a run of faults, asks for blocks past the
 * last one, which need no search.
 */
static struct pte_block *block_find(struct mm_struct *mm, unsigned long index)
{
	struct pte_block *blk = mm->pt_hint;

	if (blk && blk->index == index)
		return blk;
	if (!mm->pt_last || index > mm->pt_last->index)
		return NULL;
	blk = block_search(mm, index, true);
	if (blk)
		mm->pt_hint = blk;
	return blk;
}

/* A new block at index, in the tree and, between its neighbours, the list. */
static struct pte_block *block_alloc(struct mm_struct *mm,
				     unsigned long index)
{
	struct rb_node **link = &mm->pgtable.node, *parent = NULL;
	struct pte_block *blk, *last = mm->pt_last, *prev = NULL, *next = NULL;

	if (last && index > last->index) {
		/* the highest block has no right child: the new one goes there */
		parent = &last->node;
		link = &parent->right;
		prev = last;
	}
	while (*link) {
		parent = *link;
		if (index < block_of(parent)->index) {
			next = block_of(parent);
			link = &parent->left;
		} else {
			prev = block_of(parent);
			link = &parent->right;
		}
	}
	blk = kmem_cache_zalloc_obj(mm->pt_cache, struct pte_block);
	blk->index = (unsigned int)index;
	rb_link_node(&blk->node, parent, link);
	rb_insert_augmented(&blk->node, &mm->pgtable, NULL);
	/* the last nodes the descent passed on the right and on the left */
	blk->prev = prev;
	blk->next = next;
	if (prev)
		prev->next = blk;
	if (next)
		next->prev = blk;
	else
		mm->pt_last = blk;
	mm->pt_hint = blk;
	return blk;
}

struct pte *pte_lookup(const struct mm_struct *mm, unsigned long vpn)
{
	struct pte_block *blk = block_search(mm, block_index(vpn), true);
	struct pte *pte;

	if (!blk)
		return NULL;
	pte = &blk->pte[block_slot(vpn)];
	return pte_none(pte) ? NULL : pte;
}

/* The first PTE of blk at slot i or after, it filled in; NULL if none. */
static struct pte *iter_scan(struct pte_iter *it, const struct pte_block *blk,
			     unsigned int i)
{
	for (; blk; blk = blk->next, i = 0) {
		for (; i < PTE_BLOCK; i++) {
			if (pte_none(&blk->pte[i]))
				continue;
			it->blk = blk;
			it->i = i;
			it->vpn = pte_block_base(blk) + i;
			return (struct pte *)&blk->pte[i];
		}
	}
	it->blk = NULL;
	return NULL;
}

struct pte *pte_iter_start(const struct mm_struct *mm, unsigned long vpn,
			   struct pte_iter *it)
{
	unsigned long index = block_index(vpn);
	const struct pte_block *blk = block_search(mm, index, false);

	if (blk && blk->index != index)
		return iter_scan(it, blk, 0);
	return iter_scan(it, blk, block_slot(vpn));
}

struct pte *pte_iter_next(struct pte_iter *it)
{
	if (!it->blk)
		return NULL;
	return iter_scan(it, it->blk, it->i + 1);
}

/* Find or make the (empty) PTE slot for vpn, and the table it lives in. */
struct pte *pte_alloc(struct mm_struct *mm, unsigned long vpn)
{
	unsigned long index = block_index(vpn);
	struct pte_block *blk = block_find(mm, index);

	if (!blk)
		blk = block_alloc(mm, index);
	if (pte_none(&blk->pte[block_slot(vpn)]))
		pte_table_alloc(mm, vpn);
	return pte_block_slot(mm, blk, block_slot(vpn));
}

/* ---- whole blocks, for copy_pte_range ---- */

/*
 * The first block with a PTE at or after vpn, or NULL.  fork copies VMA
 * after VMA in address order: the block the last copy ended in, or the one
 * after it, is where the next begins; it is remembered as mm's hint.
 */
struct pte_block *pte_block_first(struct mm_struct *mm, unsigned long vpn)
{
	unsigned long index = block_index(vpn);
	struct pte_block *blk = mm->pt_hint;

	if (blk && blk->index <= index) {
		struct pte_block *next;

		if (blk->index == index)
			return blk;
		next = blk->next;
		if (!next || next->index >= index)
			return next;
	}
	blk = block_search(mm, index, false);
	if (blk)
		mm->pt_hint = blk;
	return blk;
}

/*
 * pte_block_get when the child's last block is not at blk's place: a new
 * one past it, chained unbalanced until pte_blocks_balance.
 */
struct pte_block *pte_block_new(struct mm_struct *mm,
				const struct pte_block *blk)
{
	struct pte_block *last = mm->pt_last, *own;

	own = kmem_cache_zalloc_obj(mm->pt_cache, struct pte_block);
	own->index = blk->index;
	rb_link_node(&own->node, last ? &last->node : NULL,
		     last ? &last->node.right : &mm->pgtable.node);
	own->prev = last;
	if (last)
		last->next = own;
	mm->pt_hint = mm->pt_last = own;
	mm->pt_chained++;
	return own;
}

/* Once fork has copied the last PTE: the chained blocks made a tree. */
void pte_blocks_balance(struct mm_struct *mm)
{
	rb_balance_chain(&mm->pgtable, mm->pt_chained);
	mm->pt_chained = 0;
}

/* pte_clear: the entry at vpn becomes pte_none; an empty block goes. */
void pte_free(struct mm_struct *mm, unsigned long vpn)
{
	struct pte_block *blk = block_find(mm, block_index(vpn));
	struct pte *pte = blk ? &blk->pte[block_slot(vpn)] : NULL;

	if (!pte || pte_none(pte))
		return;
	pte->word = 0;
	pte_block_cleared(mm, blk, 1);
}

/* n entries of blk were made pte_none; an empty block goes. */
void pte_block_cleared(struct mm_struct *mm, struct pte_block *blk,
		       unsigned int n)
{
	mm->nr_ptes -= n;
	blk->nr -= n;
	if (blk->nr)
		return;
	if (blk->prev)
		blk->prev->next = blk->next;
	if (blk->next)
		blk->next->prev = blk->prev;
	else
		mm->pt_last = blk->prev;
	rb_erase_augmented(&blk->node, &mm->pgtable, NULL);
	if (mm->pt_hint == blk)
		mm->pt_hint = NULL;
	kmem_cache_free(mm->pt_cache, blk);
}

/* Every block of mm freed, as exit leaves them. */
void pte_free_all(struct mm_struct *mm)
{
	struct rb_node *n;

	while ((n = mm->pgtable.node)) {
		rb_erase_augmented(n, &mm->pgtable, NULL);
		kmem_cache_free(mm->pt_cache, block_of(n));
	}
	mm->pt_hint = NULL;
	mm->pt_last = NULL;
	mm->nr_ptes = 0;
}

unsigned long count_ptes(struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	struct pte_iter it;
	unsigned long n = 0;
	struct pte *pte;

	for (pte = pte_iter_start(mm, start >> PAGE_SHIFT, &it);
	     pte && it.vpn < end >> PAGE_SHIFT; pte = pte_iter_next(&it))
		n++;
	return n;
}

/* ---- PTE tables: which 2 MiB regions have a page-table page ---- */

/* Index of the first table >= region (nr_pt if none). */
static size_t pt_index(const struct mm_struct *mm, unsigned long region)
{
	size_t lo = 0, hi = mm->nr_pt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->pt[mid] < region)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool pte_table_present(const struct mm_struct *mm, unsigned long vpn)
{
	unsigned long region = vpn >> PTE_TABLE_SHIFT;
	size_t i = pt_index(mm, region);

	return i < mm->nr_pt && mm->pt[i] == region;
}

/* The first region at or after vpn's that has a table, or ULONG_MAX. */
unsigned long pte_table_next(const struct mm_struct *mm, unsigned long vpn)
{
	size_t i = pt_index(mm, vpn >> PTE_TABLE_SHIFT);

	return i < mm->nr_pt ? mm->pt[i] : ULONG_MAX;
}

/* pte_table_alloc past its hint: the region gets a table (pmd_install). */
void pte_table_install(struct mm_struct *mm, unsigned long region)
{
	size_t i = pt_index(mm, region);

	mm->pt_hint_region = region + 1;
	if (i < mm->nr_pt && mm->pt[i] == region)
		return;
	if (mm->nr_pt == mm->cap_pt) {
		size_t cap = mm->cap_pt ? mm->cap_pt * 2 : 8;
		unsigned long *p = realloc(mm->pt, cap * sizeof(*p));

		if (!p)
			abort();
		mm->pt = p;
		mm->cap_pt = cap;
	}
	memmove(&mm->pt[i + 1], &mm->pt[i], (mm->nr_pt - i) * sizeof(*mm->pt));
	mm->pt[i] = region;
	mm->nr_pt++;
}

static void pt_remove(struct mm_struct *mm, size_t i)
{
	if (mm->pt_hint_region == mm->pt[i] + 1)
		mm->pt_hint_region = 0;
	memmove(&mm->pt[i], &mm->pt[i + 1],
		(mm->nr_pt - i - 1) * sizeof(*mm->pt));
	mm->nr_pt--;
}

/*
 * free_pgtables after [start, end) was unmapped: free_pgd_range frees the
 * table of every region in it that no VMA reaches into any more (the floor
 * and ceiling are the neighbouring VMAs).
 */
void free_pgtables(struct sim *sim, struct mm_struct *mm, unsigned long start,
		   unsigned long end)
{
	unsigned long first = (start >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	unsigned long last = ((end - 1) >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	size_t i = pt_index(mm, first), n = 0;

	while (i < mm->nr_pt && mm->pt[i] <= last) {
		unsigned long lo = mm->pt[i] << (PTE_TABLE_SHIFT + PAGE_SHIFT);
		unsigned long hi = lo + (1UL << (PTE_TABLE_SHIFT + PAGE_SHIFT));
		struct vm_area_struct *vma = find_vma_after(mm, lo);

		if (vma && vma->vm_start < hi) {
			i++;
			continue;
		}
		pt_remove(mm, i);
		n++;
	}
	if (n)
		trace(sim, "free_pgtables", 3, T_ADDR("start", start),
		      T_ADDR("end", end), T_NUM("tables", n));
}

/*
 * PT_RECLAIM (Linux 6.14+, on in the reference kernel): MADV_DONTNEED frees
 * the PTE table of every 2 MiB region it zapped whole, empty as it now is.
 */
void pte_tables_reclaim(struct sim *sim, struct mm_struct *mm,
			unsigned long start, unsigned long end)
{
	unsigned long first = ((start >> PAGE_SHIFT) + (1UL << PTE_TABLE_SHIFT)
			       - 1) >> PTE_TABLE_SHIFT;
	unsigned long stop = (end >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	size_t i = pt_index(mm, first), n = 0;

	for (; i < mm->nr_pt && mm->pt[i] < stop; n++)
		pt_remove(mm, i);
	if (n)
		trace(sim, "free_pte", 3, T_ADDR("start", start),
		      T_ADDR("end", end), T_NUM("tables", n));
}

/* pte_tables_copy's walk: src's tables of regions first to last. */
void pte_tables_copy_regions(struct mm_struct *dst,
			     const struct mm_struct *src,
			     unsigned long first, unsigned long last)
{
	size_t i;

	for (i = pt_index(src, first); i < src->nr_pt && src->pt[i] <= last;
	     i++)
		pte_table_alloc(dst, src->pt[i] << PTE_TABLE_SHIFT);
}

/* ---- mm/interval_tree.c: both rooms key by the VMA's pgoff range ---- */
/* (key_from_vma and anon_vma_interval_tree_insert: internal.h) */

void vma_interval_tree_insert(struct sim *sim, struct vm_area_struct *vma)
{
	key_from_vma(&vma->shared, vma, vma->id);
	itree_insert(&vma->shared, &vma->vm_file->i_mmap);
	trace(sim, "vma_interval_tree_insert", 3, T_ID("vma", vma->id),
	      T_ID("file", vma->vm_file->id), T_NUM("pgoff", vma->vm_pgoff));
}

/* dup_mmap: the child's VMA goes right after its parent's in i_mmap */
void vma_interval_tree_insert_after(struct sim *sim,
				    struct vm_area_struct *vma,
				    struct vm_area_struct *prev)
{
	key_from_vma(&vma->shared, vma, vma->id);
	itree_insert_after(&vma->shared, &prev->shared, &vma->vm_file->i_mmap);
	trace(sim, "vma_interval_tree_insert_after", 3, T_ID("vma", vma->id),
	      T_ID("prev", prev->id), T_ID("file", vma->vm_file->id));
}

void vma_interval_tree_remove(struct sim *sim, struct vm_area_struct *vma)
{
	itree_remove(&vma->shared, &vma->vm_file->i_mmap);
	trace(sim, "vma_interval_tree_remove", 2, T_ID("vma", vma->id),
	      T_ID("file", vma->vm_file->id));
}

void anon_vma_interval_tree_remove(struct anon_vma_chain *avc)
{
	itree_remove(&avc->rb, &avc->anon_vma->rb_root);
}
