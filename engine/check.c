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
 *
 * Cost: one pass over every object, with sorted side tables (by pointer, by
 * pfn, by id) for the cross references, so O(n log n) in the session's size.
 * Pointers are looked up in the tables of live objects before they are
 * followed, so a reference to a freed object is reported, not dereferenced.
 * sim_load() runs this on every snapshot it reads.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_REPORTED	64
/* a red-black tree of 2^64 nodes is at most 128 deep */
#define MAX_RB_DEPTH	128

void sim_check_report_free(struct sim_check_report *rep)
{
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

/* ---- side tables ---- */

/* A live object's address -> its index in a table, sorted by address. */
struct ptr_slot {
	uintptr_t key;
	size_t idx;
};

static int cmp_ptr_slot(const void *a, const void *b)
{
	const struct ptr_slot *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* index of p in the table, or -1 if p is no live object */
static long ptr_index(const struct ptr_slot *tab, size_t n, const void *p)
{
	uintptr_t key = (uintptr_t)p;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab[mid].key == key)
			return (long)tab[mid].idx;
		if (tab[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Keys with multiplicity: PTEs per pfn, swap PTEs per slot, ids. */
struct keys {
	unsigned long *v;
	size_t nr, cap;
	bool fixed;		/* sized up front: never grows */
};

static void keys_push(struct keys *k, unsigned long key)
{
	if (k->nr == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		unsigned long *p;

		if (k->fixed)
			return;
		p = realloc(k->v, cap * sizeof(*p));
		if (!p)
			return;
		k->v = p;
		k->cap = cap;
	}
	k->v[k->nr++] = key;
}

static int cmp_ul(const void *a, const void *b)
{
	const unsigned long *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static void keys_sort(struct keys *k)
{
	if (k->nr)
		qsort(k->v, k->nr, sizeof(*k->v), cmp_ul);
}

static bool keys_has(const struct keys *k, unsigned long key)
{
	return k->nr && bsearch(&key, k->v, k->nr, sizeof(*k->v), cmp_ul);
}

/* how many times key occurs in the sorted keys */
static long keys_count(const struct keys *k, unsigned long key)
{
	size_t lo = 0, hi = k->nr;
	long count = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->nr && k->v[lo] == key; lo++)
		count++;
	return count;
}

/* Per-anon_vma tallies, in sim->anon_vmas (id) order. */
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
	struct ptr_slot *av_by_ptr;
	const struct address_space **files;
	size_t nr_files;
	struct ptr_slot *file_by_ptr;
	struct keys maps;	/* pfn of every present non-special PTE */
	struct keys swaps;	/* slot of every swap PTE */
	struct keys vma_ids, avc_ids;
	unsigned long nr_file_vmas;
	/* the anon_vma ids the current VMA is chained to, sorted */
	const struct vm_area_struct *chain_vma;
	struct keys chain_ids;
	const char *const *ignore;	/* kinds not to report */
};

static bool ignored(const struct ctx *c, const char *what)
{
	const char *const *kind;

	for (kind = c->ignore; kind && *kind; kind++)
		if (!strcmp(*kind, what))
			return true;
	return false;
}

static void report(struct ctx *c, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct ctx *c, const char *what, const char *fmt, ...)
{
	struct sim_check_report *rep = c->rep;
	struct sim_violation *v;
	va_list ap;

	if (ignored(c, what))
		return;
	if (rep->nr >= MAX_REPORTED) {
		rep->dropped++;
		return;
	}
	if (rep->nr == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 8;
		struct sim_violation *p;

		if (cap > MAX_REPORTED)
			cap = MAX_REPORTED;
		p = realloc(rep->v, cap * sizeof(*p));
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

static struct av_tally *tally_of(struct ctx *c, const struct anon_vma *av)
{
	long i = ptr_index(c->av_by_ptr, c->nr_av, av);

	return i < 0 ? NULL : &c->av[i];
}

static bool file_live(struct ctx *c, const struct address_space *f)
{
	return ptr_index(c->file_by_ptr, c->nr_files, f) >= 0;
}

/* Is node in the tree under root?  Climb the parent links. */
static bool rb_node_in(const struct rb_node *node, const struct rb_root *root)
{
	int depth;

	for (depth = 0; node && depth <= MAX_RB_DEPTH; depth++) {
		if (!node->parent)
			return node == root->node;
		node = node->parent;
	}
	return false;
}

static void check_tree(struct ctx *c, const struct itree_root *root,
		       const char *what, unsigned long id)
{
	char buf[96];

	if (itree_validate(root, buf, sizeof(buf)))
		report(c, "tree-invalid", "%s #%lu: %s", what, id, buf);
}

/* ---- ids: unique, ordered where the lists promise it, below the counters */

static void check_id_order(struct ctx *c, const char *what, unsigned long id,
			   unsigned long prev, bool first, unsigned long next)
{
	if (id == 0 || id >= next)
		report(c, "id-counter", "%s %lu is not below the next id "
		       "%lu", what, id, next);
	if (!first && id <= prev)
		report(c, "id-order", "%s %lu follows %lu: duplicate or "
		       "out of order", what, id, prev);
}

static void check_unique(struct ctx *c, struct keys *k, const char *what,
			 unsigned long next)
{
	size_t i;

	keys_sort(k);
	for (i = 0; i < k->nr; i++) {
		if (k->v[i] == 0 || k->v[i] >= next)
			report(c, "id-counter", "%s #%lu is not below the "
			       "next id %lu", what, k->v[i], next);
		if (i && k->v[i] == k->v[i - 1])
			report(c, "id-duplicate", "two %ss have id %lu",
			       what, k->v[i]);
	}
}

static void check_mm_list(struct ctx *c)
{
	const struct mm_struct *mm;
	unsigned long n = 0;
	int prev = 0;

	list_for_each_entry(mm, &c->sim->mms, node) {
		/* a pid <= 0 shows up as not below next_pid */
		check_id_order(c, "pid", (unsigned long)mm->pid,
			       (unsigned long)prev, n == 0, c->sim->next_pid);
		if (!PAGE_ALIGNED(mm->mmap_base) || mm->mmap_base > TASK_SIZE ||
		    !PAGE_ALIGNED(mm->start_brk) || mm->brk < mm->start_brk ||
		    mm->brk > TASK_SIZE)
			report(c, "mm-layout", "pid %d: mmap_base 0x%lx, brk "
			       "[0x%lx,0x%lx)", mm->pid, mm->mmap_base,
			       mm->start_brk, mm->brk);
		prev = mm->pid;
		n++;
	}
	if (n != c->sim->nr_mms)
		report(c, "nr-mms", "nr_mms %lu, %lu processes",
		       c->sim->nr_mms, n);
}

static void check_frame_and_swap_ids(struct ctx *c)
{
	const struct folio *f;
	struct rb_node *rb;
	unsigned long prev = 0;
	bool first = true;

	for (f = folio_first(c->sim); f; f = folio_next(c->sim, f)) {
		check_id_order(c, "pfn", f->pfn, prev, first, c->sim->next_pfn);
		prev = f->pfn;
		first = false;
	}
	first = true;
	for (rb = rb_first(&c->sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);

		check_id_order(c, "swap slot", s->id, prev, first,
			       c->sim->next_swap);
		prev = s->id;
		first = false;
	}
}

/* ---- anon_vmas and files: the tables the rest looks things up in ---- */

static int collect_anon_vmas(struct ctx *c)
{
	const struct anon_vma *av;
	size_t i;

	c->av = calloc(c->sim->nr_anon_vmas + 1, sizeof(*c->av));
	c->av_by_ptr = calloc(c->sim->nr_anon_vmas + 1, sizeof(*c->av_by_ptr));
	if (!c->av || !c->av_by_ptr)
		return -1;
	list_for_each_entry(av, &c->sim->anon_vmas, node) {
		if (c->nr_av > c->sim->nr_anon_vmas) {
			report(c, "nr-anon-vmas", "more anon_vmas listed "
			       "than nr_anon_vmas %lu", c->sim->nr_anon_vmas);
			break;
		}
		check_id_order(c, "anon_vma", av->id,
			       c->nr_av ? c->av[c->nr_av - 1].av->id : 0,
			       c->nr_av == 0, c->sim->next_anon_vma_id);
		if (sim_find_anon_vma(c->sim, av->id) != av)
			report(c, "anon-vma-index", "anon_vma #%lu is not "
			       "found by its id", av->id);
		c->av_by_ptr[c->nr_av] = (struct ptr_slot){ (uintptr_t)av,
							    c->nr_av };
		c->av[c->nr_av++].av = av;
	}
	if (c->nr_av != c->sim->nr_anon_vmas)
		report(c, "nr-anon-vmas", "nr_anon_vmas %lu, %zu listed",
		       c->sim->nr_anon_vmas, c->nr_av);
	qsort(c->av_by_ptr, c->nr_av, sizeof(*c->av_by_ptr), cmp_ptr_slot);
	for (i = 1; i < c->nr_av; i++)
		if (c->av_by_ptr[i].key == c->av_by_ptr[i - 1].key)
			report(c, "anon-vma-list", "an anon_vma is listed "
			       "twice");
	return 0;
}

static int collect_files(struct ctx *c)
{
	const struct address_space *f;
	size_t n = c->sim->nr_files;

	c->files = calloc(n + 1, sizeof(*c->files));
	c->file_by_ptr = calloc(n + 1, sizeof(*c->file_by_ptr));
	if (!c->files || !c->file_by_ptr)
		return -1;
	list_for_each_entry(f, &c->sim->files, node) {
		if (c->nr_files > n) {
			report(c, "nr-files", "more files listed than "
			       "nr_files %lu", n);
			break;
		}
		check_id_order(c, "file", f->id,
			       c->nr_files ? c->files[c->nr_files - 1]->id : 0,
			       c->nr_files == 0, c->sim->next_file_id);
		c->file_by_ptr[c->nr_files] =
			(struct ptr_slot){ (uintptr_t)f, c->nr_files };
		c->files[c->nr_files++] = f;
	}
	if (c->nr_files != n)
		report(c, "nr-files", "nr_files %lu, %zu files", n,
		       c->nr_files);
	qsort(c->file_by_ptr, c->nr_files, sizeof(*c->file_by_ptr),
	      cmp_ptr_slot);
	return 0;
}

/* ---- one VMA's anon_vma_chain ---- */

static bool vma_has_chain_to(const struct vm_area_struct *vma,
			     const struct anon_vma *anon_vma)
{
	const struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma == anon_vma)
			return true;
	return false;
}

/* Sorted ids of the anon_vmas vma is chained to, rebuilt per VMA. */
static bool chain_reaches(struct ctx *c, const struct vm_area_struct *vma,
			  unsigned long anon_vma_id)
{
	const struct anon_vma_chain *avc;

	if (c->chain_vma != vma) {
		c->chain_ids.nr = 0;
		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
			struct av_tally *t = tally_of(c, avc->anon_vma);

			if (t)
				keys_push(&c->chain_ids, t->av->id);
		}
		keys_sort(&c->chain_ids);
		c->chain_vma = vma;
	}
	return keys_has(&c->chain_ids, anon_vma_id);
}

static void check_avc(struct ctx *c, const struct vm_area_struct *vma,
		      const struct anon_vma_chain *avc,
		      const struct anon_vma **root)
{
	unsigned long start = vma->vm_pgoff;
	unsigned long last = vma->vm_pgoff + vma_pages(vma) - 1;
	struct av_tally *t = tally_of(c, avc->anon_vma);

	keys_push(&c->avc_ids, avc->id);
	if (avc->vma != vma)
		report(c, "avc-vma", "avc #%lu on vma #%lu's chain points "
		       "to another VMA", avc->id, vma->id);
	if (!t) {
		report(c, "avc-freed-anon-vma", "avc #%lu of vma #%lu "
		       "names a freed anon_vma", avc->id, vma->id);
		return;
	}
	t->avcs++;
	if (avc->rb.start != start || avc->rb.last != last ||
	    avc->rb.id != avc->id)
		report(c, "avc-key", "avc #%lu is keyed [%lu,%lu] id %lu "
		       "in anon_vma #%lu, vma #%lu spans [%lu,%lu]", avc->id,
		       avc->rb.start, avc->rb.last, avc->rb.id, t->av->id,
		       vma->id, start, last);
	if (!rb_node_in(&avc->rb.rb, &t->av->rb_root.rb))
		report(c, "avc-not-in-tree", "avc #%lu of vma #%lu is not "
		       "in anon_vma #%lu's tree", avc->id, vma->id, t->av->id);
	if (*root && t->av->root != *root)
		report(c, "chain-roots", "vma #%lu is chained to anon_vmas "
		       "of two trees", vma->id);
	*root = t->av->root;
}

/*
 * The order unlink_anon_vmas() depends on: anon_vma_clone() copies a chain
 * oldest first and anon_vma_chain_link() adds at the head, so the chain runs
 * newest to oldest, avc ids falling, the root's last; and it is closed
 * under ->parent: the anon_vmas a fork made are chained with their parents.
 */
static void check_chain_order(struct ctx *c, const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc, *prev = NULL;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		struct av_tally *t = tally_of(c, avc->anon_vma), *parent;

		if (prev && avc->id >= prev->id)
			report(c, "chain-order", "vma #%lu: avc #%lu follows avc "
			       "#%lu on its chain", vma->id, avc->id, prev->id);
		prev = avc;
		parent = t ? tally_of(c, t->av->parent) : NULL;
		if (!parent || parent == t)
			continue;
		if (!chain_reaches(c, vma, parent->av->id))
			report(c, "chain-parent", "vma #%lu is chained to "
			       "anon_vma #%lu but not to its parent #%lu",
			       vma->id, t->av->id, parent->av->id);
	}
}

static void check_chain(struct ctx *c, const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc;
	const struct anon_vma *root = NULL;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		check_avc(c, vma, avc, &root);
	check_chain_order(c, vma);
	if (vma->anon_vma) {
		struct av_tally *t = tally_of(c, vma->anon_vma);

		if (!t) {
			report(c, "vma-freed-anon-vma", "vma #%lu's "
			       "anon_vma is freed", vma->id);
			return;
		}
		t->active++;
		if (!vma_has_chain_to(vma, vma->anon_vma))
			report(c, "vma-anon-vma-unchained", "vma #%lu uses "
			       "anon_vma #%lu but is not chained to it",
			       vma->id, t->av->id);
	} else if (!list_empty(&vma->anon_vma_chain)) {
		report(c, "chain-without-anon-vma", "vma #%lu has a chain "
		       "but no anon_vma", vma->id);
	}
}

/* ---- the VMAs of an mm ---- */

static void check_vma_file(struct ctx *c, const struct vm_area_struct *vma)
{
	const struct address_space *f = vma->vm_file;

	if (!file_live(c, f)) {
		report(c, "vma-freed-file", "vma #%lu maps a freed file",
		       vma->id);
		return;
	}
	c->nr_file_vmas++;
	if (!rb_node_in(&vma->shared.rb, &f->i_mmap.rb))
		report(c, "i-mmap", "vma #%lu is not in file #%lu's i_mmap",
		       vma->id, f->id);
	if (vma->shared.start != vma->vm_pgoff ||
	    vma->shared.last != vma->vm_pgoff + vma_pages(vma) - 1 ||
	    vma->shared.id != vma->id)
		report(c, "i-mmap-key", "vma #%lu is keyed [%lu,%lu] id "
		       "%lu in file #%lu's i_mmap", vma->id, vma->shared.start,
		       vma->shared.last, vma->shared.id, f->id);
}

#define VM_KNOWN	(VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYREAD | \
			 VM_MAYWRITE | VM_MAYEXEC | VM_MAYSHARE | VM_GROWSDOWN | \
			 VM_DONTCOPY | VM_ACCOUNT | VM_NORESERVE | \
			 VM_WIPEONFORK)
#define VM_MAYALL	(VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)

/*
 * The flags calc_vm_flags() and the madvise/mprotect paths can produce: all
 * three VM_MAY* bits, VM_SHARED exactly with VM_MAYSHARE, a shared mapping
 * of anonymous memory only through its shmem file, WIPEONFORK only on
 * private anonymous memory, never a charge on a VM_NORESERVE mapping.
 */
static void check_vma_flags(struct ctx *c, const struct mm_struct *mm,
			    const struct vm_area_struct *vma)
{
	unsigned long f = vma->vm_flags;
	bool shared = f & VM_SHARED;

	if ((f & ~VM_KNOWN) || (f & VM_MAYALL) != VM_MAYALL ||
	    shared != !!(f & VM_MAYSHARE) ||
	    (shared && vma_is_anonymous(vma)) ||
	    (!shared && vma->vm_file && file_live(c, vma->vm_file) &&
	     vma->vm_file->shmem) ||
	    ((f & VM_WIPEONFORK) && (shared || vma->vm_file)) ||
	    (f & (VM_ACCOUNT | VM_NORESERVE)) == (VM_ACCOUNT | VM_NORESERVE))
		report(c, "vma-flags", "pid %d vma #%lu has flags 0x%lx",
		       mm->pid, vma->id, f);
}

static void check_vma(struct ctx *c, const struct mm_struct *mm,
		      const struct vm_area_struct *vma,
		      const struct vm_area_struct *prev)
{
	keys_push(&c->vma_ids, vma->id);
	if (vma->vm_mm != mm || !PAGE_ALIGNED(vma->vm_start) ||
	    !PAGE_ALIGNED(vma->vm_end) || vma->vm_start >= vma->vm_end ||
	    vma->vm_end > TASK_SIZE)
		report(c, "vma-range", "pid %d vma #%lu [0x%lx,0x%lx) is "
		       "malformed", mm->pid, vma->id, vma->vm_start,
		       vma->vm_end);
	else if (vma->vm_pgoff + vma_pages(vma) - 1 < vma->vm_pgoff)
		report(c, "vma-pgoff", "pid %d vma #%lu: pgoff %lu + %lu "
		       "pages overflows", mm->pid, vma->id, vma->vm_pgoff,
		       vma_pages(vma));
	if (prev && prev->vm_end > vma->vm_start)
		report(c, "vma-overlap", "pid %d vmas #%lu and #%lu overlap "
		       "or are out of order", mm->pid, prev->id, vma->id);
	check_vma_flags(c, mm, vma);
	if (vma->vm_file)
		check_vma_file(c, vma);
	check_chain(c, vma);
}

/*
 * The red-black shape of an mm's VMA tree or page table (the walks over
 * them check their order).
 */
static void check_rb(struct ctx *c, const struct mm_struct *mm,
		     const struct rb_root *root, const char *what)
{
	char buf[96];

	if (rb_validate(root, NULL, buf, sizeof(buf)))
		report(c, "tree-invalid", "pid %d %s: %s", mm->pid, what, buf);
}

/* The VMA list (vm_next, vm_prev) is the tree in order, both ways. */
static void check_vma_list(struct ctx *c, const struct mm_struct *mm)
{
	const struct rb_node *n = rb_first(&mm->mm_mt);
	const struct vm_area_struct *vma = mm->mmap, *prev = NULL;

	for (; n && vma; n = rb_next(n), prev = vma, vma = vma->vm_next)
		if (vma != rb_entry(n, struct vm_area_struct, mm_node) ||
		    vma->vm_prev != prev)
			break;
	if (n || vma || mm->vma_last != prev)
		report(c, "tree-invalid", "pid %d: the VMA list is not the "
		       "VMA tree in order", mm->pid);
}

static unsigned long check_vmas(struct ctx *c, const struct mm_struct *mm)
{
	const struct vm_area_struct *vma, *prev = NULL;
	unsigned long n = 0;

	check_rb(c, mm, &mm->mm_mt, "VMA tree");
	check_vma_list(c, mm);
	for (vma = vma_first(mm); vma; prev = vma, vma = vma_next(vma)) {
		check_vma(c, mm, vma, prev);
		n++;
	}
	if (n != mm->map_count)
		report(c, "map-count", "pid %d: map_count %lu, %lu VMAs",
		       mm->pid, mm->map_count, n);
	return n;
}

/* ---- PTEs ---- */

/* rss[]: anon, file, shmem */
static void check_anon_pte(struct ctx *c, const struct mm_struct *mm,
			   const struct vm_area_struct *vma,
			   const struct pte *pte, unsigned long addr,
			   const struct folio *folio)
{
	if (!sim_find_anon_vma(c->sim, folio->anon_vma_id))
		report(c, "dangling-mapping", "pid %d pte 0x%lx maps pfn "
		       "%lu whose page->mapping names freed anon_vma #%lu",
		       mm->pid, addr, folio->pfn, folio->anon_vma_id);
	else if (!chain_reaches(c, vma, folio->anon_vma_id))
		report(c, "anon-not-reachable", "pid %d vma #%lu "
		       "[0x%lx,0x%lx) pte 0x%lx maps pfn %lu whose anon_vma "
		       "#%lu is not on the VMA's anon_vma_chain", mm->pid,
		       vma->id, vma->vm_start, vma->vm_end, addr, folio->pfn,
		       folio->anon_vma_id);
	if (pte->write && (!(folio->flags & PG_anon_exclusive) ||
			   folio->mapcount != 1))
		report(c, "writable-shared-anon", "pid %d pte 0x%lx is "
		       "writable but pfn %lu is not exclusive", mm->pid, addr,
		       folio->pfn);
}

static void check_file_pte(struct ctx *c, const struct mm_struct *mm,
			   const struct vm_area_struct *vma,
			   const struct pte *pte, unsigned long addr,
			   const struct folio *folio, unsigned long *rss)
{
	if (!folio->mapping || folio->mapping != vma->vm_file ||
	    !file_live(c, folio->mapping)) {
		report(c, "file-mapping", "pid %d pte 0x%lx maps pfn %lu "
		       "of another file", mm->pid, addr, folio->pfn);
		rss[1]++;
		return;
	}
	rss[folio->mapping->shmem ? 2 : 1]++;
	if (pte->write && is_cow_mapping(vma->vm_flags))
		report(c, "writable-cow-file", "pid %d pte 0x%lx: a private "
		       "mapping writes the page cache pfn %lu", mm->pid, addr,
		       folio->pfn);
}

/*
 * The bits a PTE of its kind must leave clear (a pfn and a swap slot share
 * the word: one of them is always clear).
 */
static void check_pte_bits(struct ctx *c, const struct mm_struct *mm,
			   const struct pte *pte, unsigned long addr)
{
	bool bad;

	if (pte->present)
		bad = pte->swp_exclusive;
	else
		bad = pte->write || pte->dirty || pte->young || pte->special;
	if (bad)
		report(c, "pte-bits", "pid %d pte 0x%lx: %s PTE with "
		       "stray fields", mm->pid, addr,
		       pte->present ? "a present" : "a swap");
}

static void check_present_pte(struct ctx *c, const struct mm_struct *mm,
			      const struct vm_area_struct *vma,
			      const struct pte *pte, unsigned long addr,
			      unsigned long *rss)
{
	unsigned long pfn = pte_pfn(pte);
	const struct folio *folio;

	if (pte->write && !(vma->vm_flags & VM_WRITE))
		report(c, "pte-write", "pid %d pte 0x%lx is writable in a "
		       "read-only VMA #%lu", mm->pid, addr, vma->id);
	if (pte->special) {
		if (pfn != c->sim->zero_folio.pfn || pte->write ||
		    !vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
			report(c, "zero-page", "pid %d pte 0x%lx: bad zero "
			       "page mapping", mm->pid, addr);
		return;
	}
	keys_push(&c->maps, pfn);
	folio = sim_find_folio(c->sim, pfn);
	if (!folio) {
		report(c, "pte-freed-frame", "pid %d pte 0x%lx maps freed "
		       "pfn %lu", mm->pid, addr, pfn);
		return;
	}
	if (folio->index != linear_page_index(vma, addr))
		report(c, "folio-index", "pid %d pte 0x%lx: pfn %lu index "
		       "%lu, linear index %lu", mm->pid, addr, folio->pfn,
		       (unsigned long)folio->index, linear_page_index(vma, addr));
	if (folio_test_anon(folio)) {
		rss[0]++;
		check_anon_pte(c, mm, vma, pte, addr, folio);
	} else {
		check_file_pte(c, mm, vma, pte, addr, folio, rss);
	}
}

/*
 * A swap PTE names a live slot; if the slot's folio is still in the swap
 * cache, a fault here maps that folio back, so it must fit this place as a
 * present PTE's folio would.
 */
static void check_swap_pte(struct ctx *c, const struct mm_struct *mm,
			   const struct vm_area_struct *vma,
			   const struct pte *pte, unsigned long addr)
{
	unsigned long entry = pte_swap(pte);
	const struct swap_slot *slot = swap_slot_find(c->sim, entry);
	const struct folio *folio;

	keys_push(&c->swaps, entry);
	if (!entry || !slot) {
		report(c, "swap-pte", "pid %d pte 0x%lx names no live swap "
		       "slot", mm->pid, addr);
		return;
	}
	folio = slot->cache_pfn ? sim_find_folio(c->sim, slot->cache_pfn) :
				  NULL;
	if (!folio || !folio_test_anon(folio))
		return;		/* check_swap() reports a bad cache_pfn */
	if (folio->index != linear_page_index(vma, addr))
		report(c, "folio-index", "pid %d swap pte 0x%lx: cached pfn %lu "
		       "index %lu, linear index %lu", mm->pid, addr, folio->pfn,
		       (unsigned long)folio->index, linear_page_index(vma, addr));
	if (!sim_find_anon_vma(c->sim, folio->anon_vma_id))
		report(c, "dangling-mapping", "pid %d swap pte 0x%lx: cached "
		       "pfn %lu names freed anon_vma #%lu", mm->pid, addr,
		       folio->pfn, folio->anon_vma_id);
	else if (!chain_reaches(c, vma, folio->anon_vma_id))
		report(c, "anon-not-reachable", "pid %d vma #%lu swap pte 0x%lx: "
		       "cached pfn %lu's anon_vma #%lu is not on the VMA's "
		       "anon_vma_chain", mm->pid, vma->id, addr, folio->pfn,
		       folio->anon_vma_id);
}

/* free_pgtables leaves a table only where a VMA reaches into its region. */
static void check_pte_tables(struct ctx *c, const struct mm_struct *mm)
{
	const unsigned long size = 1UL << (PTE_TABLE_SHIFT + PAGE_SHIFT);
	size_t i;

	for (i = 0; i < mm->nr_pt; i++) {
		unsigned long lo = mm->pt[i] * size;
		const struct vm_area_struct *vma = NULL;

		if (mm->pt[i] <= (TASK_SIZE >> PAGE_SHIFT) >> PTE_TABLE_SHIFT)
			vma = find_vma_after((struct mm_struct *)mm, lo);
		if ((i && mm->pt[i] <= mm->pt[i - 1]) || !vma ||
		    vma->vm_start >= lo + size)
			report(c, "pte-table", "pid %d: PTE table of region "
			       "0x%lx out of order or where no VMA is",
			       mm->pid, mm->pt[i]);
	}
}

/* The PTE blocks' list is the page table's tree in order, both ways. */
static void check_block_list(struct ctx *c, const struct mm_struct *mm)
{
	const struct rb_node *n = rb_first(&mm->pgtable);
	const struct pte_block *prev = NULL, *blk;

	for (; n; n = rb_next(n), prev = blk) {
		blk = rb_entry(n, struct pte_block, node);
		if (blk->prev != prev || (prev && prev->next != blk))
			break;
	}
	if (n || (prev && prev->next) || mm->pt_last != prev)
		report(c, "tree-invalid", "pid %d: the PTE blocks' list is "
		       "not the page table in order", mm->pid);
}

static void check_ptes(struct ctx *c, const struct mm_struct *mm)
{
	const struct pte *pte;
	unsigned long rss[3] = { 0 }, swapents = 0, n = 0, prev = 0;
	struct pte_iter it;

	check_rb(c, mm, &mm->pgtable, "page table");
	check_block_list(c, mm);
	for (pte = pte_iter_start(mm, 0, &it); pte; pte = pte_iter_next(&it)) {
		unsigned long addr = it.vpn << PAGE_SHIFT;
		const struct vm_area_struct *vma = NULL;

		if (n++ && it.vpn <= prev)
			report(c, "tree-invalid", "pid %d page table: vpn 0x%lx "
			       "after 0x%lx", mm->pid, it.vpn, prev);
		prev = it.vpn;
		if (it.vpn < TASK_SIZE >> PAGE_SHIFT)
			vma = find_vma((struct mm_struct *)mm, addr);
		if (!vma) {
			report(c, "pte-outside-vma", "pid %d pte vpn 0x%lx "
			       "lies in no VMA", mm->pid, it.vpn);
			continue;
		}
		check_pte_bits(c, mm, pte, addr);
		if (!pte_table_present(mm, it.vpn))
			report(c, "pte-table", "pid %d pte vpn 0x%lx has no "
			       "PTE table", mm->pid, it.vpn);
		if (pte->present) {
			check_present_pte(c, mm, vma, pte, addr, rss);
		} else {
			swapents++;
			check_swap_pte(c, mm, vma, pte, addr);
		}
	}
	if (n != mm->nr_ptes)
		report(c, "nr-ptes", "pid %d: nr_ptes %lu, %lu PTEs",
		       mm->pid, mm->nr_ptes, n);
	if (rss[0] != mm->rss_anon || rss[1] != mm->rss_file ||
	    rss[2] != mm->rss_shmem || swapents != mm->swapents)
		report(c, "rss", "pid %d: rss anon/file/shmem/swap "
		       "%lu/%lu/%lu/%lu, PTEs say %lu/%lu/%lu/%lu", mm->pid,
		       mm->rss_anon, mm->rss_file, mm->rss_shmem, mm->swapents,
		       rss[0], rss[1], rss[2], swapents);
}

/* ---- folios and swap slots ---- */

static void check_folio_swap(struct ctx *c, const struct folio *f)
{
	const struct swap_slot *s;

	if (!(f->flags & PG_swapcache)) {
		if (f->swap)
			report(c, "swap-cache", "pfn %lu names swap slot "
			       "%lu outside the swap cache", f->pfn, (unsigned long)f->swap);
		return;
	}
	s = swap_slot_find(c->sim, f->swap);
	if (!folio_test_anon(f) || !s || s->cache_pfn != f->pfn)
		report(c, "swap-cache", "pfn %lu is in the swap cache of "
		       "slot %lu, which does not name it", f->pfn, (unsigned long)f->swap);
}

static bool folio_cached(struct ctx *c, const struct folio *f)
{
	const struct address_space *m = f->mapping;

	return m && file_live(c, m) && f->index < m->nr_pages &&
	       m->pages[f->index] == f;
}

static void check_folio(struct ctx *c, const struct folio *f)
{
	long mapped = keys_count(&c->maps, f->pfn);
	bool cached = folio_cached(c, f);

	if (mapped != f->mapcount)
		report(c, "mapcount", "pfn %lu: mapcount %d, %ld PTEs map "
		       "it", f->pfn, f->mapcount, mapped);
	if (f->mapcount == 0 && !cached && !(f->flags & PG_swapcache))
		report(c, "leaked-folio", "pfn %lu is neither mapped nor "
		       "cached", f->pfn);
	if (f->flags & ~(unsigned int)(PG_anon_exclusive | PG_dirty |
				       PG_referenced | PG_swapbacked |
				       PG_swapcache))
		report(c, "folio-flags", "pfn %lu has flags 0x%x", f->pfn,
		       f->flags);
	if ((f->flags & PG_anon_exclusive) &&
	    (!folio_test_anon(f) || f->mapcount > 1))
		report(c, "anon-exclusive", "pfn %lu is AnonExclusive with "
		       "mapcount %d", f->pfn, f->mapcount);
	if (folio_test_anon(f) && f->mapping)
		report(c, "anon-and-file", "pfn %lu is both anonymous and "
		       "in a page cache", f->pfn);
	if (f->mapping && !folio_test_anon(f) && !cached)
		report(c, "file-folio-uncached", "pfn %lu of a file is not "
		       "in its page cache", f->pfn);
	check_folio_swap(c, f);
}

static void check_folios(struct ctx *c)
{
	const struct folio *f;
	unsigned long n = 0;

	for (f = folio_first(c->sim); f; f = folio_next(c->sim, f)) {
		check_folio(c, f);
		n++;
	}
	if (n != c->sim->nr_frames)
		report(c, "nr-frames", "nr_frames %lu, %lu frames",
		       c->sim->nr_frames, n);
}

static void check_swap(struct ctx *c)
{
	struct rb_node *rb;

	for (rb = rb_first(&c->sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);
		long n = keys_count(&c->swaps, s->id);
		const struct folio *f;

		/* count 0: only the swap cache holds the slot */
		if (n != s->count || s->count < 0 ||
		    (!s->count && !s->cache_pfn))
			report(c, "swap-count", "swap slot %lu: count %d, "
			       "%ld swap PTEs and shmem pages name it", s->id,
			       s->count, n);
		if (!s->cache_pfn)
			continue;
		f = sim_find_folio(c->sim, s->cache_pfn);
		if (!f || !(f->flags & PG_swapcache) || f->swap != s->id)
			report(c, "swap-cache", "swap slot %lu caches pfn "
			       "%lu, which is not in the swap cache under it",
			       s->id, s->cache_pfn);
	}
}

/* ---- files ---- */

/* A shmem page written to swap holds a reference to its slot. */
static void collect_shmem_swap(struct ctx *c)
{
	size_t i;
	unsigned long k;

	for (i = 0; i < c->nr_files; i++) {
		const struct address_space *f = c->files[i];

		for (k = 0; f->shmem && k < f->nr_pages; k++)
			if (f->swap[k])
				keys_push(&c->swaps, f->swap[k]);
	}
}

static void check_shmem_swap(struct ctx *c, const struct address_space *f,
			     unsigned long i)
{
	const struct swap_slot *s;

	if (!f->swap || !f->swap[i])
		return;
	s = swap_slot_find(c->sim, f->swap[i]);
	if (!s || s->cache_pfn || f->pages[i])
		report(c, "shmem-swap", "file #%lu index %lu names swap slot "
		       "%lu, which is gone, cached, or beside a cached page",
		       f->id, i, f->swap[i]);
}

static void check_i_mmap(struct ctx *c, const struct address_space *f)
{
	check_tree(c, &f->i_mmap, "file", f->id);
	if ((unsigned long)f->nr_mappers != f->i_mmap.count)
		report(c, "nr-mappers", "file #%lu: %d mappers, %lu in "
		       "i_mmap", f->id, f->nr_mappers, f->i_mmap.count);
	if (f->shmem && f->nr_mappers <= 0)
		report(c, "shmem-orphan", "shmem file #%lu outlived its "
		       "last mapping", f->id);
}

static void check_file(struct ctx *c, const struct address_space *f)
{
	unsigned long i;

	if (!f->nr_pages || !memchr(f->name, '\0', sizeof(f->name)))
		report(c, "file-size", "file #%lu is empty or unnamed",
		       f->id);
	check_i_mmap(c, f);
	for (i = 0; i < f->nr_pages; i++) {
		const struct folio *folio = f->pages[i];

		check_shmem_swap(c, f, i);
		if (!folio)
			continue;
		if (sim_find_folio(c->sim, folio->pfn) != folio ||
		    folio->mapping != f || folio->index != i)
			report(c, "page-cache", "file #%lu index %lu holds "
			       "a bad folio", f->id, i);
	}
}

/*
 * Every file VMA's node is in its file's i_mmap (check_vma_file); with as
 * many nodes in all the trees as there are file VMAs, no tree holds a node
 * of a VMA that is gone or maps another file.
 */
static void check_files(struct ctx *c)
{
	unsigned long nodes = 0;
	size_t i;

	for (i = 0; i < c->nr_files; i++) {
		check_file(c, c->files[i]);
		nodes += c->files[i]->i_mmap.count;
	}
	if (nodes != c->nr_file_vmas)
		report(c, "i-mmap-stale", "%lu VMAs map files, the i_mmap "
		       "trees hold %lu", c->nr_file_vmas, nodes);
}

/* ---- anon_vma counters ---- */

static void tally_hierarchy(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nr_av; i++) {
		const struct anon_vma *av = c->av[i].av;
		struct av_tally *parent = tally_of(c, av->parent);
		struct av_tally *root = tally_of(c, av->root);

		if (!parent || !root || root->av->root != root->av) {
			report(c, "anon-vma-links", "anon_vma #%lu: parent "
			       "or root is freed or not a root", av->id);
			continue;
		}
		if (parent->av->root != root->av)
			report(c, "anon-vma-links", "anon_vma #%lu: parent "
			       "#%lu is in another tree", av->id,
			       parent->av->id);
		if (av->parent != av)
			parent->children++;
		if (av->root != av)
			root->descendants++;
	}
}

static void check_anon_vma(struct ctx *c, const struct av_tally *t)
{
	const struct anon_vma *av = t->av;
	bool live = !rb_empty(&av->rb_root.rb);
	long self = av->root == av && live;
	long refs = live + (av->root == av ? t->descendants : 0);

	check_tree(c, &av->rb_root, "anon_vma", av->id);
	if ((unsigned long)t->avcs != av->rb_root.count)
		report(c, "anon-vma-tree", "anon_vma #%lu: %lu nodes in its "
		       "tree, %ld chains point to it", av->id,
		       av->rb_root.count, t->avcs);
	if (av->refcount != refs || av->refcount <= 0)
		report(c, "refcount", "anon_vma #%lu: refcount %d, expected "
		       "%ld", av->id, av->refcount, refs);
	/*
	 * Both modes keep all three counters (legacy mode only decides reuse
	 * by degree, normal mode by the 6.x pair), so a snapshot's counters
	 * are checked whatever its mode: one that miscounts any of them would
	 * be driven negative by a later unlink into a dump that cannot load.
	 */
	if (av->degree != t->active + t->children + self)
		report(c, "degree", "anon_vma #%lu: degree %d, expected %ld",
		       av->id, av->degree, t->active + t->children + self);
	if (av->num_active_vmas != t->active)
		report(c, "num-active-vmas", "anon_vma #%lu: num_active_vmas "
		       "%d, %ld VMAs use it", av->id, av->num_active_vmas,
		       t->active);
	if (av->num_children != t->children + self)
		report(c, "num-children", "anon_vma #%lu: num_children %d, "
		       "expected %ld", av->id, av->num_children,
		       t->children + self);
}

/* ---- the whole session ---- */

static void check_totals(struct ctx *c, unsigned long nr_vmas)
{
	unsigned long nr_avcs = 0;
	size_t i;

	for (i = 0; i < c->nr_av; i++)
		nr_avcs += (unsigned long)c->av[i].avcs;
	if (nr_vmas != c->sim->nr_vmas)
		report(c, "nr-vmas", "nr_vmas %lu, %lu VMAs",
		       c->sim->nr_vmas, nr_vmas);
	if (nr_avcs != c->sim->nr_avcs)
		report(c, "nr-avcs", "nr_avcs %lu, %lu chained",
		       c->sim->nr_avcs, nr_avcs);
	check_unique(c, &c->vma_ids, "vma", c->sim->next_vma_id);
	check_unique(c, &c->avc_ids, "avc", c->sim->next_avc_id);
}

static int ctx_init(struct ctx *c)
{
	const struct sim *sim = c->sim;

	/* sized from the counters, so a bad counter cannot make them grow */
	c->vma_ids = (struct keys){ calloc(sim->nr_vmas + 1,
					   sizeof(unsigned long)),
				    0, sim->nr_vmas + 1, true };
	c->avc_ids = (struct keys){ calloc(sim->nr_avcs + 1,
					   sizeof(unsigned long)),
				    0, sim->nr_avcs + 1, true };
	if (!c->vma_ids.v || !c->avc_ids.v)
		return -1;
	if (collect_anon_vmas(c) || collect_files(c))
		return -1;
	return 0;
}

static void ctx_free(struct ctx *c)
{
	free(c->av);
	free(c->av_by_ptr);
	free(c->files);
	free(c->file_by_ptr);
	free(c->maps.v);
	free(c->swaps.v);
	free(c->vma_ids.v);
	free(c->avc_ids.v);
	free(c->chain_ids.v);
}

/*
 * sim_check without the kinds named in ignore (NULL-terminated): sim_load()
 * accepts a snapshot whose only faults are those legacy mode makes.
 */
size_t sim_check_except(const struct sim *sim, struct sim_check_report *rep,
			const char *const *ignore);

size_t sim_check_except(const struct sim *sim, struct sim_check_report *rep,
			const char *const *ignore)
{
	struct ctx c = { .sim = sim, .rep = rep, .ignore = ignore };
	const struct mm_struct *mm;
	unsigned long nr_vmas = 0;
	size_t i;

	if (ctx_init(&c)) {
		report(&c, "oom", "the checker could not allocate");
		ctx_free(&c);
		return rep->nr;
	}
	check_mm_list(&c);
	check_frame_and_swap_ids(&c);
	list_for_each_entry(mm, &sim->mms, node) {
		nr_vmas += check_vmas(&c, mm);
		check_ptes(&c, mm);
		check_pte_tables(&c, mm);
	}
	check_totals(&c, nr_vmas);
	tally_hierarchy(&c);
	for (i = 0; i < c.nr_av; i++)
		check_anon_vma(&c, &c.av[i]);
	collect_shmem_swap(&c);
	keys_sort(&c.maps);
	keys_sort(&c.swaps);
	check_folios(&c);
	check_swap(&c);
	check_files(&c);
	ctx_free(&c);
	return rep->nr;
}

size_t sim_check(const struct sim *sim, struct sim_check_report *rep)
{
	return sim_check_except(sim, rep, NULL);
}
