// SPDX-License-Identifier: MIT
/*
 * pgtable.c - page tables and the interval-tree keys of VMAs.
 *
 * A process's page table is an ordered map from virtual page number to PTE
 * (a red-black tree standing in for the four-level radix tree of x86_64), so
 * a lookup is O(log n) and a range (zap, move, copy) is a lower-bound search
 * followed by in-order steps, as the kernel's pte walkers do.  The second half
 * is mm/interval_tree.c: the keys under which VMAs sit in i_mmap and
 * anon_vma_chains sit in anon_vma->rb_root.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct pte *pte_lookup(struct mm_struct *mm, unsigned long vpn)
{
	struct rb_node *n = mm->pgtable.node;

	while (n) {
		struct pte *pte = rb_entry(n, struct pte, node);

		if (vpn == pte->vpn)
			return pte;
		n = vpn < pte->vpn ? n->left : n->right;
	}
	return NULL;
}

struct pte *pte_lower_bound(struct mm_struct *mm, unsigned long vpn)
{
	struct rb_node *n = mm->pgtable.node;
	struct pte *best = NULL;

	while (n) {
		struct pte *pte = rb_entry(n, struct pte, node);

		if (pte->vpn >= vpn) {
			best = pte;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
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

/* __pte_alloc: the PMD covering vpn gets a table (pmd_install). */
void pte_table_alloc(struct mm_struct *mm, unsigned long vpn)
{
	unsigned long region = vpn >> PTE_TABLE_SHIFT;
	size_t i = pt_index(mm, region);

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

/* copy_pmd_range: the child gets a table wherever the parent has one. */
void pte_tables_copy(struct mm_struct *dst, const struct mm_struct *src,
		     unsigned long start, unsigned long end)
{
	unsigned long first = (start >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	unsigned long last = ((end - 1) >> PAGE_SHIFT) >> PTE_TABLE_SHIFT;
	size_t i;

	for (i = pt_index(src, first); i < src->nr_pt && src->pt[i] <= last;
	     i++)
		pte_table_alloc(dst, src->pt[i] << PTE_TABLE_SHIFT);
}

/* Find or make the (empty) PTE slot for vpn, and the table it lives in. */
struct pte *pte_alloc(struct mm_struct *mm, unsigned long vpn)
{
	struct rb_node **link = &mm->pgtable.node, *parent = NULL;
	struct pte *pte;

	while (*link) {
		pte = rb_entry(*link, struct pte, node);
		if (vpn == pte->vpn)
			return pte;
		parent = *link;
		link = vpn < pte->vpn ? &parent->left : &parent->right;
	}
	pte = calloc(1, sizeof(*pte));
	if (!pte)
		abort();
	pte_table_alloc(mm, vpn);
	pte->vpn = vpn;
	rb_link_node(&pte->node, parent, link);
	rb_insert_augmented(&pte->node, &mm->pgtable, NULL);
	mm->nr_ptes++;
	return pte;
}

void pte_free(struct mm_struct *mm, struct pte *pte)
{
	rb_erase_augmented(&pte->node, &mm->pgtable, NULL);
	mm->nr_ptes--;
	free(pte);
}

struct pte *pte_first(const struct mm_struct *mm)
{
	struct rb_node *n = rb_first(&mm->pgtable);

	return n ? rb_entry(n, struct pte, node) : NULL;
}

struct pte *pte_next(const struct pte *pte)
{
	struct rb_node *n = rb_next(&pte->node);

	return n ? rb_entry(n, struct pte, node) : NULL;
}

unsigned long count_ptes(struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	unsigned long n = 0;
	struct pte *pte;

	for (pte = pte_lower_bound(mm, start >> PAGE_SHIFT);
	     pte && pte->vpn < end >> PAGE_SHIFT; pte = pte_next(pte))
		n++;
	return n;
}

/* ---- mm/interval_tree.c: both rooms key by the VMA's pgoff range ---- */

static void key_from_vma(struct itree_node *node,
			 const struct vm_area_struct *vma, unsigned long id)
{
	node->start = vma->vm_pgoff;
	node->last = vma->vm_pgoff + vma_pages(vma) - 1;
	node->id = id;
}

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

void anon_vma_interval_tree_insert(struct anon_vma_chain *avc)
{
	key_from_vma(&avc->rb, avc->vma, avc->id);
	itree_insert(&avc->rb, &avc->anon_vma->rb_root);
}

void anon_vma_interval_tree_remove(struct anon_vma_chain *avc)
{
	itree_remove(&avc->rb, &avc->anon_vma->rb_root);
}
