// SPDX-License-Identifier: MIT
/*
 * anon_vma.c - the anon_vma side of mm/rmap.c: anon_vma_prepare,
 * anon_vma_clone, anon_vma_fork, unlink_anon_vmas, put_anon_vma.
 *
 * Every VMA that has ever held anonymous pages is chained (anon_vma_chain,
 * "avc") to its own anon_vma and to those of the VMAs it descends from by
 * fork, so that a page COWed in any generation can be found from the anon_vma
 * its page->mapping names.  The reuse rule keeps the hierarchy from growing
 * without bound under fork loops: since Linux 6.1 (commit 2555283eb40d) an
 * anon_vma is reused when no VMA has it as ->anon_vma and it has fewer than
 * two children.  A session in legacy mode runs the 3.19-6.0 rule instead: one
 * "degree" counter for both, and the reuse it allowed by mistake.
 */
#include "internal.h"

void anon_vma_chain_link(struct vm_area_struct *vma,
			 struct anon_vma_chain *avc,
			 struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	anon_vma_interval_tree_insert(avc);
}

unsigned long anon_vma_chain_len(const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc;
	unsigned long n = 0;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		n++;
	return n;
}

/*
 * Can b reuse a's anon_vma (or the other way round)?  Adjacent, same file,
 * same flags but for the access bits, and pgoff contiguous: what would merge
 * if only the protection agreed.
 */
static bool anon_vma_compatible(const struct vm_area_struct *a,
				const struct vm_area_struct *b)
{
	const unsigned long access = VM_READ | VM_WRITE | VM_EXEC;

	return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
	       !((a->vm_flags ^ b->vm_flags) & ~access) &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a);
}

/* Only a neighbour that was never forked into (a singular chain) lends. */
static struct anon_vma *reusable_anon_vma(struct vm_area_struct *old,
					  struct vm_area_struct *a,
					  struct vm_area_struct *b)
{
	if (anon_vma_compatible(a, b) && old->anon_vma &&
	    list_is_singular(&old->anon_vma_chain))
		return old->anon_vma;
	return NULL;
}

static struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma), *prev = vma_prev(vma);
	struct anon_vma *anon_vma = NULL;

	if (next)
		anon_vma = reusable_anon_vma(next, vma, next);
	if (!anon_vma && prev)
		anon_vma = reusable_anon_vma(prev, prev, vma);
	return anon_vma;
}

/* Give a VMA its anon_vma on its first anonymous page (mm/rmap.c). */
int anon_vma_prepare(struct sim *sim, struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;

	if (vma->anon_vma)
		return 0;
	anon_vma = find_mergeable_anon_vma(vma);
	if (anon_vma) {
		trace(sim, "find_mergeable_anon_vma", 2, T_ID("vma", vma->id),
		      T_ID("anon_vma", anon_vma->id));
	} else {
		anon_vma = anon_vma_alloc(sim, 0);
		/* the self-parent link of a new root */
		anon_vma->num_children++;
		trace(sim, "anon_vma_alloc", 1, T_ID("anon_vma", anon_vma->id));
	}
	avc = anon_vma_chain_alloc(sim, 0);
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->num_active_vmas++;
	/* legacy: a new root's 1 from alloc was its self link; +1 the VMA */
	anon_vma->degree++;
	trace(sim, "__anon_vma_prepare", 3, T_ID("vma", vma->id),
	      T_ID("anon_vma", anon_vma->id), T_ID("avc", avc->id));
	return 0;
}

static bool may_reuse(struct sim *sim, const struct anon_vma *anon_vma,
		      const struct vm_area_struct *src)
{
	if (sim_legacy(sim))
		/*
		 * 7a3ef208e662: degree < 2 was read as "no VMA and at most one
		 * child", skipping src's own anon_vma.  Wrong once reuse has
		 * left leaves behind: a leaf used by one VMA also has degree 1.
		 */
		return anon_vma != src->anon_vma && anon_vma->degree < 2;
	return anon_vma->num_children < 2 && anon_vma->num_active_vmas == 0;
}

/*
 * Chain dst to every anon_vma src is chained to, oldest (the root) first so
 * dst's list ends up in src's order.  A dst without an anon_vma (only
 * anon_vma_fork passes one) may adopt one of them under the reuse rule.
 */
int anon_vma_clone(struct sim *sim, struct vm_area_struct *dst,
		   struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;
	struct anon_vma *reused = NULL;

	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = pavc->anon_vma;
		struct anon_vma_chain *avc = anon_vma_chain_alloc(sim, 0);

		anon_vma_chain_link(dst, avc, anon_vma);
		trace(sim, "anon_vma_chain_link", 3, T_ID("vma", dst->id),
		      T_ID("anon_vma", anon_vma->id), T_ID("avc", avc->id));
		if (!dst->anon_vma && src->anon_vma &&
		    may_reuse(sim, anon_vma, src)) {
			dst->anon_vma = anon_vma;
			reused = anon_vma;
		}
	}
	if (dst->anon_vma) {
		dst->anon_vma->num_active_vmas++;
		dst->anon_vma->degree++;
	}
	if (reused)	/* the reuse rule gave dst an existing anon_vma */
		trace(sim, "anon_vma_clone", 3, T_ID("dst", dst->id),
		      T_ID("src", src->id), T_ID("reuse", reused->id));
	else
		trace(sim, "anon_vma_clone", 2, T_ID("dst", dst->id),
		      T_ID("src", src->id));
	return 0;
}

/*
 * fork: chain the child's VMA to everything the parent's is chained to, then
 * give it an anon_vma of its own (a child of the parent's) for the pages it
 * will COW, unless anon_vma_clone found one to reuse.
 */
int anon_vma_fork(struct sim *sim, struct vm_area_struct *vma,
		  struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	anon_vma_clone(sim, vma, pvma);
	if (vma->anon_vma) {
		trace(sim, "anon_vma_fork", 3, T_ID("vma", vma->id),
		      T_ID("pvma", pvma->id), T_ID("anon_vma", vma->anon_vma->id));
		return 0;
	}
	anon_vma = anon_vma_alloc(sim, 0);
	anon_vma->num_active_vmas++;
	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	/* the root outlives every anon_vma of its tree */
	anon_vma->root->refcount++;
	avc = anon_vma_chain_alloc(sim, 0);
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->parent->num_children++;
	anon_vma->parent->degree++;
	trace(sim, "anon_vma_fork", 4, T_ID("vma", vma->id),
	      T_ID("pvma", pvma->id), T_ID("anon_vma", anon_vma->id),
	      T_ID("parent", anon_vma->parent->id));
	return 0;
}

void put_anon_vma(struct sim *sim, struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	if (--anon_vma->refcount > 0)
		return;
	trace(sim, "anon_vma_free", 1, T_ID("anon_vma", anon_vma->id));
	anon_vma_free(sim, anon_vma);
	if (root != anon_vma && --root->refcount == 0) {
		trace(sim, "anon_vma_free", 1, T_ID("anon_vma", root->id));
		anon_vma_free(sim, root);
	}
}

/*
 * Take a VMA off every anon_vma it is chained to.  An anon_vma left with an
 * empty tree stops counting as its parent's child and is put; the chain is
 * newest first, so the root goes last.
 */
void unlink_anon_vmas(struct sim *sim, struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	if (list_empty(&vma->anon_vma_chain) && !vma->anon_vma)
		return;
	trace(sim, "unlink_anon_vmas", 1, T_ID("vma", vma->id));
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		anon_vma_interval_tree_remove(avc);
		if (rb_empty(&anon_vma->rb_root.rb)) {
			anon_vma->parent->num_children--;
			anon_vma->parent->degree--;
			continue;
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(sim, avc);
	}
	if (vma->anon_vma) {
		vma->anon_vma->num_active_vmas--;
		vma->anon_vma->degree--;
		vma->anon_vma = NULL;
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		put_anon_vma(sim, avc->anon_vma);
		list_del(&avc->same_vma);
		anon_vma_chain_free(sim, avc);
	}
}
