// SPDX-License-Identifier: MIT
/*
 * check.c - the invariant checker, in the spirit of CONFIG_DEBUG_VM
 * (validate_mm, the anon_vma and rmap assertions): everything the session
 * holds must agree with everything else.  It reads the session and never
 * changes it, and reports each violation with the objects involved.
 *
 * The invariant that CVE-2022-42703 broke is here as "anon-not-reachable":
 * a present anonymous PTE whose folio's anon_vma is not on the VMA's chain,
 * so rmap walks cannot find the mapping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_REPORTED 64

static void report(struct sim_check_report *rep, const char *what,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(struct sim_check_report *rep, const char *what,
		   const char *fmt, ...)
{
	struct sim_violation *v;
	va_list ap;

	if (rep->nr == MAX_REPORTED) {
		rep->dropped++;
		return;
	}
	if (rep->nr == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 8;
		struct sim_violation *p = realloc(rep->v, cap * sizeof(*p));

		if (!p) {
			rep->dropped++;
			return;
		}
		rep->v = p;
		rep->cap = cap;
	}
	v = &rep->v[rep->nr++];
	snprintf(v->what, sizeof(v->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

void sim_check_report_free(struct sim_check_report *rep)
{
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

/* Per-anon_vma tallies, indexed by position in sim->anon_vmas. */
struct av_tally {
	const struct anon_vma *av;
	long active;		/* VMAs whose ->anon_vma is it */
	long avcs;		/* chains pointing to it */
	long children;		/* live anon_vmas with it as parent */
	long descendants;	/* live non-root anon_vmas with it as root */
};

struct ctx {
	const struct sim *sim;
	struct sim_check_report *rep;
	struct av_tally *av;
	size_t nr_av;
};

static struct av_tally *tally_of(struct ctx *c, const struct anon_vma *av)
{
	size_t lo = 0, hi = c->nr_av;

	/* sim->anon_vmas is in id order: binary search */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->av[mid].av->id == av->id)
			return c->av[mid].av == av ? &c->av[mid] : NULL;
		if (c->av[mid].av->id < av->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool vma_has_chain_to(const struct vm_area_struct *vma,
			     unsigned long anon_vma_id)
{
	const struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma->id == anon_vma_id)
			return true;
	return false;
}

static void check_tree(struct ctx *c, const struct itree_root *root,
		       const char *what, unsigned long id)
{
	char buf[96];

	if (itree_validate(root, buf, sizeof(buf)))
		report(c->rep, "tree-invalid", "%s #%lu: %s", what, id, buf);
}

static void check_chain(struct ctx *c, const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc;
	const struct anon_vma *root = NULL;
	unsigned long start = vma->vm_pgoff;
	unsigned long last = vma->vm_pgoff + vma_pages(vma) - 1;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		struct av_tally *t = tally_of(c, avc->anon_vma);

		if (avc->vma != vma)
			report(c->rep, "avc-vma", "avc #%lu on vma #%lu's "
			       "chain points to another VMA", avc->id, vma->id);
		if (!t) {
			report(c->rep, "avc-freed-anon-vma", "avc #%lu of vma "
			       "#%lu names a freed anon_vma", avc->id, vma->id);
			continue;
		}
		t->avcs++;
		if (avc->rb.start != start || avc->rb.last != last ||
		    avc->rb.tie != avc->id)
			report(c->rep, "avc-key", "avc #%lu is keyed [%lu,%lu] in "
			       "anon_vma #%lu, vma #%lu spans [%lu,%lu]",
			       avc->id, avc->rb.start, avc->rb.last,
			       avc->anon_vma->id, vma->id, start, last);
		if (root && avc->anon_vma->root != root)
			report(c->rep, "chain-roots", "vma #%lu is chained to "
			       "anon_vmas of two trees", vma->id);
		root = avc->anon_vma->root;
	}
	if (vma->anon_vma) {
		struct av_tally *t = tally_of(c, vma->anon_vma);

		if (!t)
			report(c->rep, "vma-freed-anon-vma", "vma #%lu's anon_vma "
			       "#%lu is freed", vma->id, vma->anon_vma->id);
		else
			t->active++;
		if (!vma_has_chain_to(vma, vma->anon_vma->id))
			report(c->rep, "vma-anon-vma-unchained", "vma #%lu uses "
			       "anon_vma #%lu but is not chained to it",
			       vma->id, vma->anon_vma->id);
	} else if (!list_empty(&vma->anon_vma_chain)) {
		report(c->rep, "chain-without-anon-vma", "vma #%lu has a chain "
		       "but no anon_vma", vma->id);
	}
}

static void check_vmas(struct ctx *c, const struct mm_struct *mm,
		       unsigned long *nr_vmas)
{
	const struct vm_area_struct *vma, *prev = NULL;
	unsigned long n = 0;

	for (vma = vma_first(mm); vma; prev = vma, vma = vma_next(vma)) {
		n++;
		if (vma->vm_mm != mm || !PAGE_ALIGNED(vma->vm_start) ||
		    !PAGE_ALIGNED(vma->vm_end) || vma->vm_start >= vma->vm_end ||
		    vma->vm_end > TASK_SIZE)
			report(c->rep, "vma-range", "pid %d vma #%lu "
			       "[0x%lx,0x%lx) is malformed", mm->pid, vma->id,
			       vma->vm_start, vma->vm_end);
		if (prev && prev->vm_end > vma->vm_start)
			report(c->rep, "vma-overlap", "pid %d vmas #%lu and #%lu "
			       "overlap", mm->pid, prev->id, vma->id);
		if (vma->vm_file) {
			const struct itree_node *in;
			int seen = 0;

			for (in = itree_first(&vma->vm_file->i_mmap); in;
			     in = itree_next(in))
				seen += in == &vma->shared;
			if (seen != 1)
				report(c->rep, "i-mmap", "vma #%lu is %d times in "
				       "file #%lu's i_mmap", vma->id, seen,
				       vma->vm_file->id);
			if (vma->shared.start != vma->vm_pgoff ||
			    vma->shared.last != vma->vm_pgoff + vma_pages(vma) - 1)
				report(c->rep, "i-mmap-key", "vma #%lu is keyed "
				       "wrongly in i_mmap", vma->id);
		}
		check_chain(c, vma);
	}
	if (n != mm->map_count)
		report(c->rep, "map-count", "pid %d: map_count %lu, %lu VMAs",
		       mm->pid, mm->map_count, n);
	*nr_vmas += n;
}

/* mapcounts and swap counts, tallied over every PTE */
struct pfn_count {
	unsigned long key;
	long count;
};

static int cmp_pfn(const void *a, const void *b)
{
	const struct pfn_count *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static void check_pte(struct ctx *c, const struct mm_struct *mm,
		      const struct vm_area_struct *vma, const struct pte *pte,
		      unsigned long *rss)
{
	unsigned long addr = pte->vpn << PAGE_SHIFT;
	const struct folio *folio;

	if (!pte->present) {
		if (!pte->swap || !swap_slot_find(c->sim, pte->swap))
			report(c->rep, "swap-pte", "pid %d pte 0x%lx names no "
			       "live swap slot", mm->pid, addr);
		return;
	}
	if (pte->write && !(vma->vm_flags & VM_WRITE))
		report(c->rep, "pte-write", "pid %d pte 0x%lx is writable in a "
		       "read-only VMA #%lu", mm->pid, addr, vma->id);
	if (pte->special) {
		if (pte->pfn != c->sim->zero_folio.pfn || pte->write ||
		    !vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
			report(c->rep, "zero-page", "pid %d pte 0x%lx: bad zero "
			       "page mapping", mm->pid, addr);
		return;
	}
	folio = sim_find_folio(c->sim, pte->pfn);
	if (!folio) {
		report(c->rep, "pte-freed-frame", "pid %d pte 0x%lx maps freed "
		       "pfn %lu", mm->pid, addr, pte->pfn);
		return;
	}
	if (folio->index != linear_page_index(vma, addr))
		report(c->rep, "folio-index", "pid %d pte 0x%lx: pfn %lu index "
		       "%lu, linear index %lu", mm->pid, addr, folio->pfn,
		       folio->index, linear_page_index(vma, addr));
	if (folio_test_anon(folio)) {
		rss[0]++;
		if (!sim_find_anon_vma(c->sim, folio->anon_vma_id))
			report(c->rep, "dangling-mapping", "pid %d pte 0x%lx "
			       "maps pfn %lu whose page->mapping names freed "
			       "anon_vma #%lu", mm->pid, addr, folio->pfn,
			       folio->anon_vma_id);
		else if (!vma_has_chain_to(vma, folio->anon_vma_id))
			report(c->rep, "anon-not-reachable", "pid %d vma #%lu "
			       "pte 0x%lx maps pfn %lu whose anon_vma #%lu is "
			       "not on the VMA's anon_vma_chain", mm->pid,
			       vma->id, addr, folio->pfn, folio->anon_vma_id);
		if (pte->write && (!(folio->flags & PG_anon_exclusive) ||
				   folio->mapcount != 1))
			report(c->rep, "writable-shared-anon", "pid %d pte 0x%lx "
			       "is writable but pfn %lu is not exclusive",
			       mm->pid, addr, folio->pfn);
		return;
	}
	if (!folio->mapping || folio->mapping != vma->vm_file)
		report(c->rep, "file-mapping", "pid %d pte 0x%lx maps pfn %lu "
		       "of another file", mm->pid, addr, folio->pfn);
	else if (folio->mapping->shmem)
		rss[2]++;
	else
		rss[1]++;
	if (pte->write && is_cow_mapping(vma->vm_flags))
		report(c->rep, "writable-cow-file", "pid %d pte 0x%lx: a private "
		       "mapping writes the page cache pfn %lu", mm->pid, addr,
		       folio->pfn);
}

static void check_ptes(struct ctx *c, const struct mm_struct *mm,
		       struct pfn_count **maps, size_t *nr, size_t *cap,
		       struct pfn_count **swaps, size_t *nrs, size_t *caps)
{
	const struct pte *pte;
	unsigned long rss[3] = { 0 }, swapents = 0, n = 0;

	for (pte = pte_first(mm); pte; pte = pte_next(pte)) {
		struct vm_area_struct *vma =
			find_vma((struct mm_struct *)mm, pte->vpn << PAGE_SHIFT);
		struct pfn_count **arr = pte->present ? maps : swaps;
		size_t *an = pte->present ? nr : nrs, *ac = pte->present ? cap : caps;

		n++;
		if (!vma) {
			report(c->rep, "pte-outside-vma", "pid %d pte 0x%lx lies "
			       "in no VMA", mm->pid, pte->vpn << PAGE_SHIFT);
			continue;
		}
		if (!pte->present)
			swapents++;
		check_pte(c, mm, vma, pte, rss);
		if (pte->present && pte->special)
			continue;
		if (*an == *ac) {
			size_t ncap = *ac ? *ac * 2 : 64;
			struct pfn_count *p = realloc(*arr, ncap * sizeof(*p));

			if (!p)
				continue;
			*arr = p;
			*ac = ncap;
		}
		(*arr)[(*an)++] = (struct pfn_count){
			pte->present ? pte->pfn : pte->swap, 1 };
	}
	if (n != mm->nr_ptes)
		report(c->rep, "nr-ptes", "pid %d: nr_ptes %lu, %lu PTEs",
		       mm->pid, mm->nr_ptes, n);
	if (rss[0] != mm->rss_anon || rss[1] != mm->rss_file ||
	    rss[2] != mm->rss_shmem || swapents != mm->swapents)
		report(c->rep, "rss", "pid %d: rss anon/file/shmem/swap "
		       "%lu/%lu/%lu/%lu, PTEs say %lu/%lu/%lu/%lu", mm->pid,
		       mm->rss_anon, mm->rss_file, mm->rss_shmem, mm->swapents,
		       rss[0], rss[1], rss[2], swapents);
}

static long count_of(struct pfn_count *arr, size_t n, unsigned long key)
{
	size_t lo = 0, hi = n;
	long count = 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (arr[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && arr[lo].key == key; lo++)
		count++;
	return count;
}

static void check_folios(struct ctx *c, struct pfn_count *maps, size_t nr)
{
	const struct folio *f;
	unsigned long n = 0;

	for (f = folio_first(c->sim); f; f = folio_next(f)) {
		long mapped = count_of(maps, nr, f->pfn);
		bool cached = f->mapping && f->index < f->mapping->nr_pages &&
			      f->mapping->pages[f->index] == f;

		n++;
		if (mapped != f->mapcount)
			report(c->rep, "mapcount", "pfn %lu: mapcount %d, %ld "
			       "PTEs map it", f->pfn, f->mapcount, mapped);
		if (f->mapcount == 0 && !cached && !(f->flags & PG_swapcache))
			report(c->rep, "leaked-folio", "pfn %lu is neither mapped "
			       "nor cached", f->pfn);
		if ((f->flags & PG_anon_exclusive) &&
		    (!folio_test_anon(f) || f->mapcount > 1))
			report(c->rep, "anon-exclusive", "pfn %lu is AnonExclusive "
			       "with mapcount %d", f->pfn, f->mapcount);
		if (folio_test_anon(f) && f->mapping)
			report(c->rep, "anon-and-file", "pfn %lu is both anonymous "
			       "and in a page cache", f->pfn);
		if (f->mapping && !folio_test_anon(f) && !cached)
			report(c->rep, "file-folio-uncached", "pfn %lu of file #%lu "
			       "is not in its page cache", f->pfn,
			       f->mapping->id);
		if ((f->flags & PG_swapcache) &&
		    (!swap_slot_find(c->sim, f->swap) ||
		     swap_slot_find(c->sim, f->swap)->cache_pfn != f->pfn))
			report(c->rep, "swap-cache", "pfn %lu is in the swap cache "
			       "of a slot that does not name it", f->pfn);
	}
	if (n != c->sim->nr_frames)
		report(c->rep, "nr-frames", "nr_frames %lu, %lu frames",
		       c->sim->nr_frames, n);
}

static void check_swap(struct ctx *c, struct pfn_count *swaps, size_t nr)
{
	struct rb_node *rb;

	for (rb = rb_first(&c->sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);
		long n = count_of(swaps, nr, s->id);

		if (n != s->count || s->count <= 0)
			report(c->rep, "swap-count", "swap slot %lu: count %d, %ld "
			       "swap PTEs", s->id, s->count, n);
	}
}

static void check_files(struct ctx *c)
{
	const struct address_space *f;
	unsigned long n = 0, i;

	list_for_each_entry(f, &c->sim->files, node) {
		n++;
		check_tree(c, &f->i_mmap, "file", f->id);
		for (i = 0; i < f->nr_pages; i++) {
			const struct folio *folio = f->pages[i];

			if (folio && (sim_find_folio(c->sim, folio->pfn) != folio ||
				      folio->mapping != f || folio->index != i))
				report(c->rep, "page-cache", "file #%lu index %lu "
				       "holds a bad folio", f->id, i);
		}
		if ((unsigned long)f->nr_mappers != f->i_mmap.count)
			report(c->rep, "nr-mappers", "file #%lu: %d mappers, %lu "
			       "in i_mmap", f->id, f->nr_mappers, f->i_mmap.count);
	}
	if (n != c->sim->nr_files)
		report(c->rep, "nr-files", "nr_files %lu, %lu files",
		       c->sim->nr_files, n);
}

static void check_anon_vma_counts(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nr_av; i++) {
		const struct anon_vma *av = c->av[i].av;
		struct av_tally *parent = tally_of(c, av->parent);
		struct av_tally *root = tally_of(c, av->root);

		if (!parent || !root || av->root->root != av->root) {
			report(c->rep, "anon-vma-links", "anon_vma #%lu: parent "
			       "or root is freed or not a root", av->id);
			continue;
		}
		if (av->parent != av)
			parent->children++;
		if (av->root != av)
			root->descendants++;
	}
	for (i = 0; i < c->nr_av; i++) {
		const struct anon_vma *av = c->av[i].av;
		const struct av_tally *t = &c->av[i];
		bool live = !rb_empty(&av->rb_root.rb);
		long self = av->root == av && live;
		long refs = live + (av->root == av ? t->descendants : 0);

		check_tree(c, &av->rb_root, "anon_vma", av->id);
		if ((unsigned long)t->avcs != av->rb_root.count)
			report(c->rep, "anon-vma-tree", "anon_vma #%lu: %lu nodes in "
			       "its tree, %ld chains point to it", av->id,
			       av->rb_root.count, t->avcs);
		if (av->refcount != refs || av->refcount <= 0)
			report(c->rep, "refcount", "anon_vma #%lu: refcount %d, "
			       "expected %ld", av->id, av->refcount, refs);
		if (sim_legacy(c->sim)) {
			if (av->degree != t->active + t->children + self)
				report(c->rep, "degree", "anon_vma #%lu: degree %d, "
				       "expected %ld", av->id, av->degree,
				       t->active + t->children + self);
			continue;
		}
		if (av->num_active_vmas != t->active)
			report(c->rep, "num-active-vmas", "anon_vma #%lu: "
			       "num_active_vmas %d, %ld VMAs use it", av->id,
			       av->num_active_vmas, t->active);
		if (av->num_children != t->children + self)
			report(c->rep, "num-children", "anon_vma #%lu: num_children "
			       "%d, expected %ld", av->id, av->num_children,
			       t->children + self);
	}
}

size_t sim_check(const struct sim *sim, struct sim_check_report *rep)
{
	struct ctx c = { .sim = sim, .rep = rep };
	struct pfn_count *maps = NULL, *swaps = NULL;
	size_t nr = 0, cap = 0, nrs = 0, caps = 0;
	const struct anon_vma *av;
	const struct mm_struct *mm;
	unsigned long nr_vmas = 0, nr_avcs = 0;
	size_t i;

	c.av = calloc(sim->nr_anon_vmas + 1, sizeof(*c.av));
	if (!c.av) {
		report(rep, "oom", "the checker could not allocate");
		return rep->nr;
	}
	list_for_each_entry(av, &sim->anon_vmas, node) {
		if (c.nr_av > sim->nr_anon_vmas) {
			report(rep, "nr-anon-vmas", "more anon_vmas than counted");
			break;
		}
		c.av[c.nr_av++].av = av;
	}
	if (c.nr_av != sim->nr_anon_vmas)
		report(rep, "nr-anon-vmas", "nr_anon_vmas %lu, %zu listed",
		       sim->nr_anon_vmas, c.nr_av);
	list_for_each_entry(mm, &sim->mms, node) {
		check_vmas(&c, mm, &nr_vmas);
		check_ptes(&c, mm, &maps, &nr, &cap, &swaps, &nrs, &caps);
	}
	for (i = 0; i < c.nr_av; i++)
		nr_avcs += (unsigned long)c.av[i].avcs;
	if (nr_vmas != sim->nr_vmas)
		report(rep, "nr-vmas", "nr_vmas %lu, %lu VMAs", sim->nr_vmas,
		       nr_vmas);
	if (nr_avcs != sim->nr_avcs)
		report(rep, "nr-avcs", "nr_avcs %lu, %lu chained", sim->nr_avcs,
		       nr_avcs);
	check_anon_vma_counts(&c);
	if (maps)
		qsort(maps, nr, sizeof(*maps), cmp_pfn);
	if (swaps)
		qsort(swaps, nrs, sizeof(*swaps), cmp_pfn);
	check_folios(&c, maps, nr);
	check_swap(&c, swaps, nrs);
	check_files(&c);
	free(maps);
	free(swaps);
	free(c.av);
	return rep->nr;
}
