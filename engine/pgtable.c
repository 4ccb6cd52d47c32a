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

/* Find or make the (empty) PTE slot for vpn. */
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
