// SPDX-License-Identifier: MIT
/*
 * serialize.c - the session as text and back: what snapshots store, and
 * what recovery and rewind start from before they replay the journal.
 *
 * One object per line, in id / pid / pfn / address order, numbers in one
 * canonical spelling, so the same state always gives the same bytes and a
 * dump read back dumps the same bytes.  The interval trees (anon_vma->rb_root
 * and i_mmap) are stored with their shape - each node's parent, side and
 * colour - because the shape decides how many nodes a walk examines, and a
 * restored session must answer walks exactly as the original would.  The
 * other red-black trees only order things and are rebuilt by insertion.
 *
 * sim_load() trusts nothing: the input may come from a damaged database.
 * Every line is tokenised strictly, every reference resolved, every count
 * bounded by the dumped limits, every id checked against its counter, and
 * the rebuilt session must pass the invariant checker (check.c), except, in
 * legacy mode, for the dangling and unreachable anonymous mappings it leaves
 * behind by design.  Anything else fails the whole load, freeing all of it.
 *
 * Format (version 2), one line each, fields separated by one space:
 *   rmapd-dump 2
 *   config MODE NO_ZERO_PAGE MAX_PROCS MAX_VMAS MAX_FRAMES MAX_FILES MAX_FILE_PAGES
 *          MAX_PTES OVERCOMMIT
 *   next PID VMA ANON_VMA AVC FILE PFN SWAP NR_OPS
 *   file ID NAME PAGES SHMEM
 *   anon_vma ID ROOT PARENT REFCOUNT NUM_CHILDREN NUM_ACTIVE_VMAS DEGREE
 *   folio PFN ANON_VMA FILE INDEX MAPCOUNT FLAGS SWAP CACHED
 *   swap ID COUNT CACHE_PFN FILE INDEX (FILE: the shmem file whose page
 *                                       INDEX the slot holds, or 0)
 *   mm PID PPID START_BRK BRK MMAP_BASE RSS_ANON RSS_FILE RSS_SHMEM SWAPENTS
 *   vma ID PID START END PGOFF FLAGS FILE ANON_VMA [SHAPE]   (SHAPE if FILE)
 *   avc ID VMA ANON_VMA SHAPE          (after its VMA, in same_vma order)
 *   pte PID VPN PFN SWAP BITS          (BITS: present write dirty young
 *                                       special swp_exclusive as 0/1)
 *   pt PID REGION                      (a PTE table: vpn >> 9, after the
 *                                       PTEs, in order)
 *   end
 * SHAPE is PARENT SIDE COLOUR: the parent node's id (0 for the root), l, r
 * or - for the root, and r or b.  Addresses, vpns and flags are lower-case
 * hex, everything else decimal; a file name escapes any byte outside
 * [A-Za-z0-9._/#-] as %XX.  The in-order walk of a tree is its order, equal
 * keys included (insertion order, as in the kernel), so the shape carries it.
 *
 * Version 1 dumps still load: their config line ends before OVERCOMMIT (the
 * heuristic mode 0 applies) or before MAX_PTES (the default limit applies),
 * and their swap lines before FILE (no shmem page was ever swapped).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DUMP_MAGIC	"rmapd-dump 2"
#define DUMP_MAGIC_V1	"rmapd-dump 1"
#define MAX_LINE	512
#define MAX_TOKENS	16
/* what a dump may claim, whatever its limits say (SIM_CAP_*, sim.h) */
#define CAP_PROCS	SIM_CAP_PROCS
#define CAP_VMAS	SIM_CAP_VMAS
#define CAP_FRAMES	SIM_CAP_FRAMES
#define CAP_FILES	SIM_CAP_FILES
#define CAP_FILE_PAGES	SIM_CAP_FILE_PAGES
#define CAP_ID		(1UL << 48)
/* an interval tree of 2^64 nodes is at most 128 deep */
#define MAX_TREE_DEPTH	128

/*
 * check.c: the checker without the named kinds of violation.  Declared here
 * until internal.h carries it.
 */

/* ---- dumping ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!b->oom) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
		} else if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		} else {
			size_t cap = b->cap * 2 + (size_t)n;
			char *p = realloc(b->p, cap);

			if (!p)
				b->oom = true;
			else
				b->p = p, b->cap = cap;
		}
	}
}

static bool name_char_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '/' || c == '#';
}

static void put_name(struct buf *b, const char *name)
{
	const unsigned char *c;

	put(b, " ");
	for (c = (const unsigned char *)name; *c; c++) {
		if (name_char_plain(*c))
			put(b, "%c", *c);
		else
			put(b, "%%%02X", *c);
	}
}

/* parent id (its node id), side and colour of an interval tree node */
static void put_shape(struct buf *b, const struct itree_node *n)
{
	const struct rb_node *parent = n->rb.parent;

	if (!parent) {
		put(b, " 0 - %c", n->rb.red ? 'r' : 'b');
		return;
	}
	put(b, " %lu %c %c",
	    rb_entry(parent, struct itree_node, rb)->id,
	    parent->left == &n->rb ? 'l' : 'r', n->rb.red ? 'r' : 'b');
}

static void dump_vma(struct buf *b, const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc;

	put(b, "vma %lu %d %lx %lx %lu %lx %lu %lu", vma->id, vma->vm_mm->pid,
	    vma->vm_start, vma->vm_end, vma->vm_pgoff, vma->vm_flags,
	    vma->vm_file ? vma->vm_file->id : 0,
	    vma->anon_vma ? vma->anon_vma->id : 0);
	if (vma->vm_file)
		put_shape(b, &vma->shared);
	put(b, "\n");
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		put(b, "avc %lu %lu %lu", avc->id, vma->id, avc->anon_vma->id);
		put_shape(b, &avc->rb);
		put(b, "\n");
	}
}

static void dump_mm(struct buf *b, const struct mm_struct *mm)
{
	const struct vm_area_struct *vma;
	const struct pte *pte;
	struct pte_iter it;
	size_t i;

	put(b, "mm %d %d %lx %lx %lx %lu %lu %lu %lu\n", mm->pid, mm->ppid,
	    mm->start_brk, mm->brk, mm->mmap_base, mm->rss_anon, mm->rss_file,
	    mm->rss_shmem, mm->swapents);
	for (vma = vma_first(mm); vma; vma = vma_next(vma))
		dump_vma(b, vma);
	for (pte = pte_iter_start(mm, 0, &it); pte; pte = pte_iter_next(&it))
		put(b, "pte %d %lx %lu %lu %d%d%d%d%d%d\n", mm->pid, it.vpn,
		    pte_pfn(pte), pte_swap(pte), pte->present, pte->write,
		    pte->dirty, pte->young, pte->special, pte->swp_exclusive);
	for (i = 0; i < mm->nr_pt; i++)
		put(b, "pt %d %lx\n", mm->pid, mm->pt[i]);
}

static bool folio_in_page_cache(const struct folio *folio)
{
	const struct address_space *m = folio->mapping;

	return m && folio->index < m->nr_pages && m->pages[folio->index] == folio;
}

/* The shmem page that holds swap slot id, if any. */
static void shmem_swap_owner(const struct sim *sim, unsigned long id,
			     unsigned long *file, unsigned long *index)
{
	const struct address_space *f;
	unsigned long i;

	list_for_each_entry(f, &sim->files, node) {
		for (i = 0; f->shmem && i < f->nr_pages; i++) {
			if (f->swap[i] == id) {
				*file = f->id;
				*index = i;
				return;
			}
		}
	}
}

static void dump_objects(struct buf *b, const struct sim *sim)
{
	const struct address_space *f;
	const struct anon_vma *av;
	const struct folio *folio;
	struct rb_node *rb;

	list_for_each_entry(f, &sim->files, node) {
		put(b, "file %lu", f->id);
		put_name(b, f->name);
		put(b, " %lu %d\n", f->nr_pages, f->shmem);
	}
	list_for_each_entry(av, &sim->anon_vmas, node)
		put(b, "anon_vma %lu %lu %lu %d %d %d %d\n", av->id,
		    av->root->id, av->parent->id, av->refcount,
		    av->num_children, av->num_active_vmas, av->degree);
	for (folio = folio_first(sim); folio; folio = folio_next(sim, folio))
		put(b, "folio %lu %lu %lu %lu %d %x %lu %d\n", folio->pfn,
		    folio->anon_vma_id,
		    folio->mapping ? folio->mapping->id : 0,
		    (unsigned long)folio->index, folio->mapcount,
		    folio->flags, (unsigned long)folio->swap,
		    folio_in_page_cache(folio));
	for (rb = rb_first(&sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);
		unsigned long file = 0, index = 0;

		shmem_swap_owner(sim, s->id, &file, &index);
		put(b, "swap %lu %d %lu %lu %lu\n", s->id, s->count,
		    s->cache_pfn, file, index);
	}
}

/* The session as text; NULL only if memory ran out.  The caller frees. */
char *sim_dump(const struct sim *sim, size_t *len)
{
	const struct sim_limits *l = &sim->cfg.limits;
	struct buf b = { malloc(4096), 0, 4096, false };
	const struct mm_struct *mm;

	*len = 0;
	if (!b.p)
		return NULL;
	put(&b, DUMP_MAGIC "\n");
	put(&b, "config %s %d %lu %lu %lu %lu %lu %lu %d\n",
	    sim_mode_name(sim->cfg.mode), sim->cfg.no_zero_page, l->max_procs,
	    l->max_vmas, l->max_frames, l->max_files, l->max_file_pages,
	    l->max_ptes, (int)sim->cfg.overcommit);
	put(&b, "next %lu %lu %lu %lu %lu %lu %lu %lu\n", sim->next_pid,
	    sim->next_vma_id, sim->next_anon_vma_id, sim->next_avc_id,
	    sim->next_file_id, sim->next_pfn, sim->next_swap, sim->nr_ops);
	dump_objects(&b, sim);
	list_for_each_entry(mm, &sim->mms, node)
		dump_mm(&b, mm);
	put(&b, "end\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- loading: tokens ---- */

struct tokens {
	const char *s[MAX_TOKENS];
	size_t n[MAX_TOKENS];
	int nr;
};

/* Split at single spaces: no empty field, nothing but printable ASCII. */
static bool tokenize(const char *line, size_t len, struct tokens *t)
{
	size_t i, start = 0;

	t->nr = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ') {
			if (line[i] <= ' ' || line[i] > '~')
				return false;
			continue;
		}
		if (i == start || t->nr == MAX_TOKENS)
			return false;
		t->s[t->nr] = line + start;
		t->n[t->nr++] = i - start;
		start = i + 1;
	}
	return true;
}

static bool tok_is(const struct tokens *t, int i, const char *word)
{
	return t->n[i] == strlen(word) && !memcmp(t->s[i], word, t->n[i]);
}

static int digit_of(char c, unsigned int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A number in its one canonical spelling: no sign, no leading zero. */
static bool parse_num(const struct tokens *t, int i, unsigned int base,
		      unsigned long *out)
{
	unsigned long v = 0;
	size_t k;

	if (i >= t->nr || (t->n[i] > 1 && t->s[i][0] == '0'))
		return false;
	for (k = 0; k < t->n[i]; k++) {
		int d = digit_of(t->s[i][k], base);

		if (d < 0 || v > (ULONG_MAX - (unsigned long)d) / base)
			return false;
		v = v * base + (unsigned long)d;
	}
	*out = v;
	return true;
}

/* Fields: 'u' decimal, 'x' hex, 'i' int >= 0, 'b' 0 or 1, each a pointer. */
static bool parse_fields(const struct tokens *t, int first, const char *spec,
			 ...)
{
	unsigned long v;
	va_list ap;
	bool ok = true;
	int i;

	va_start(ap, spec);
	for (i = first; ok && *spec; i++, spec++) {
		ok = parse_num(t, i, *spec == 'x' ? 16 : 10, &v);
		if (!ok)
			break;
		if (*spec == 'u' || *spec == 'x') {
			*va_arg(ap, unsigned long *) = v;
		} else if (*spec == 'i') {
			int *p = va_arg(ap, int *);

			ok = v <= INT_MAX;
			*p = ok ? (int)v : 0;
		} else {
			ok = v <= 1;
			*va_arg(ap, bool *) = v;
		}
	}
	va_end(ap);
	return ok;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A file name as put_name() writes it: canonical escapes only. */
static bool parse_name(const struct tokens *t, int i, char *name, size_t size)
{
	size_t k, n = 0;

	for (k = 0; k < t->n[i]; k++) {
		unsigned char c = (unsigned char)t->s[i][k];

		if (c == '%') {
			int hi, lo;

			if (k + 2 >= t->n[i])
				return false;
			hi = hex_value(t->s[i][k + 1]);
			lo = hex_value(t->s[i][k + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi * 16 + lo);
			if (!c || name_char_plain(c))
				return false;
			k += 2;
		} else if (!name_char_plain(c)) {
			return false;
		}
		if (n + 1 >= size)
			return false;
		name[n++] = (char)c;
	}
	name[n] = '\0';
	return n > 0;
}

/* ---- loading: state ---- */

/* An interval tree node waiting for its links. */
struct shape {
	struct itree_root *tree;
	struct itree_node *node;
	unsigned long parent;	/* parent node id, 0 for the root */
	char side;		/* 'l', 'r', '-' */
	bool red;
};

enum section { S_CONFIG, S_NEXT, S_FILE, S_ANON_VMA, S_FOLIO, S_SWAP, S_MM };

struct loader {
	struct sim *sim;
	char *err;
	size_t errlen;
	unsigned long lineno;
	enum section section;
	int version;			/* of the format: 1 or 2 */
	unsigned long last_id;		/* order within the section */
	struct address_space **files;	/* by id, for lookups */
	size_t nr_files;
	unsigned long file_pages;
	struct mm_struct *mm;		/* the mm being loaded */
	struct vm_area_struct *vma;	/* its last VMA, while avcs may follow */
	bool mm_ptes;			/* its PTEs have started */
	bool pt_seen;			/* its PTE tables have started */
	unsigned long last_pt;
	unsigned long last_vpn;
	unsigned long nr_ptes;		/* in all the mms so far */
	struct shape *shapes;
	size_t nr_shapes, cap_shapes;
};

static int fail(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ld->err || !ld->errlen)
		return -1;
	n = snprintf(ld->err, ld->errlen, "line %lu: ", ld->lineno);
	if (n < 0 || (size_t)n >= ld->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static struct address_space *file_by_id(struct loader *ld, unsigned long id)
{
	size_t lo = 0, hi = ld->nr_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ld->files[mid]->id == id)
			return ld->files[mid];
		if (ld->files[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Sections come in order; ids within one strictly increase. */
static int enter(struct loader *ld, enum section s, unsigned long id)
{
	if (ld->section > s)
		return fail(ld, "out of order");
	if (ld->section == s && id <= ld->last_id)
		return fail(ld, "id %lu is a duplicate or out of order", id);
	ld->section = s;
	ld->last_id = id;
	return 0;
}

static int add_shape(struct loader *ld, const struct tokens *t, int i,
		     struct itree_root *tree, struct itree_node *node)
{
	struct shape sh = { .tree = tree, .node = node };

	if (!parse_fields(t, i, "u", &sh.parent) || t->n[i + 1] != 1 ||
	    t->n[i + 2] != 1)
		return fail(ld, "bad tree shape");
	sh.side = t->s[i + 1][0];
	sh.red = t->s[i + 2][0] == 'r';
	if ((sh.parent == 0) != (sh.side == '-') ||
	    (sh.side != '-' && sh.side != 'l' && sh.side != 'r') ||
	    (!sh.red && t->s[i + 2][0] != 'b'))
		return fail(ld, "bad tree shape");
	if (ld->nr_shapes == ld->cap_shapes) {
		size_t cap = ld->cap_shapes ? ld->cap_shapes * 2 : 64;
		struct shape *p = realloc(ld->shapes, cap * sizeof(*p));

		if (!p)
			return fail(ld, "out of memory");
		ld->shapes = p;
		ld->cap_shapes = cap;
	}
	ld->shapes[ld->nr_shapes++] = sh;
	return 0;
}

/* ---- loading: one line of each kind ---- */

static int load_config(struct loader *ld, const struct tokens *t)
{
	struct sim_config *cfg = &ld->sim->cfg;
	struct sim_limits *l = &cfg->limits;

	int overcommit = SIM_OVERCOMMIT_GUESS;

	/* version 1: 8 fields before max_ptes, 9 after; version 2: 10 */
	if ((ld->version == 1 ? t->nr != 8 && t->nr != 9 : t->nr != 10) ||
	    !tok_is(t, 0, "config"))
		return fail(ld, "expected the config line");
	if (tok_is(t, 1, "legacy"))
		cfg->mode = SIM_MODE_LEGACY;
	else if (tok_is(t, 1, "normal"))
		cfg->mode = SIM_MODE_NORMAL;
	else
		return fail(ld, "unknown mode");
	if (!parse_fields(t, 2, "buuuuu", &cfg->no_zero_page, &l->max_procs,
			  &l->max_vmas, &l->max_frames, &l->max_files,
			  &l->max_file_pages))
		return fail(ld, "bad config");
	if (t->nr >= 9 && !parse_fields(t, 8, "u", &l->max_ptes))
		return fail(ld, "bad config");
	if (t->nr == 10 && (!parse_fields(t, 9, "i", &overcommit) ||
			    overcommit > SIM_OVERCOMMIT_NEVER))
		return fail(ld, "bad config");
	cfg->overcommit = (enum sim_overcommit)overcommit;
	if (t->nr == 8) {
		struct sim_limits def;

		sim_default_limits(&def);
		l->max_ptes = def.max_ptes;
	}
	if (!l->max_ptes || l->max_ptes > SIM_CAP_PTES ||
	    !l->max_procs || l->max_procs > CAP_PROCS || !l->max_vmas ||
	    l->max_vmas > CAP_VMAS || !l->max_frames ||
	    l->max_frames > CAP_FRAMES || !l->max_files ||
	    l->max_files > CAP_FILES || !l->max_file_pages ||
	    l->max_file_pages > CAP_FILE_PAGES)
		return fail(ld, "limits out of range");
	ld->files = calloc(l->max_files, sizeof(*ld->files));
	if (!ld->files)
		return fail(ld, "out of memory");
	ld->section = S_NEXT;
	return 0;
}

static int load_next(struct loader *ld, const struct tokens *t)
{
	struct sim *s = ld->sim;

	if (t->nr != 9 || !tok_is(t, 0, "next") ||
	    !parse_fields(t, 1, "uuuuuuuu", &s->next_pid, &s->next_vma_id,
			  &s->next_anon_vma_id, &s->next_avc_id,
			  &s->next_file_id, &s->next_pfn, &s->next_swap,
			  &s->nr_ops))
		return fail(ld, "expected the next line");
	if (!s->next_pid || s->next_pid > INT_MAX || !s->next_vma_id ||
	    s->next_vma_id > CAP_ID || !s->next_anon_vma_id ||
	    s->next_anon_vma_id > CAP_ID || !s->next_avc_id ||
	    s->next_avc_id > CAP_ID || !s->next_file_id ||
	    s->next_file_id > CAP_ID || !s->next_pfn || s->next_pfn > CAP_ID ||
	    !s->next_swap || s->next_swap > CAP_ID)
		return fail(ld, "id counters out of range");
	ld->section = S_FILE;
	return 0;
}

static int load_file(struct loader *ld, const struct tokens *t)
{
	const struct sim_limits *l = &ld->sim->cfg.limits;
	unsigned long id, pages;
	char name[sizeof(((struct address_space *)0)->name)];
	bool shmem;

	if (t->nr != 5 || !parse_fields(t, 1, "u", &id) ||
	    !parse_name(t, 2, name, sizeof(name)) ||
	    !parse_fields(t, 3, "ub", &pages, &shmem))
		return fail(ld, "bad file line");
	if (enter(ld, S_FILE, id))
		return -1;
	if (!id || id >= ld->sim->next_file_id)
		return fail(ld, "file %lu: id not below the counter", id);
	if (ld->nr_files >= l->max_files)
		return fail(ld, "more files than the limit %lu", l->max_files);
	if (!pages || pages > l->max_file_pages ||
	    ld->file_pages + pages > CAP_FRAMES)
		return fail(ld, "file %lu: size out of range", id);
	ld->file_pages += pages;
	ld->files[ld->nr_files++] = file_alloc(ld->sim, id, name, pages, shmem);
	return 0;
}

/* anon_vmas come in id order; a root or parent is never younger */
static int load_anon_vma(struct loader *ld, const struct tokens *t)
{
	unsigned long id, root, parent;
	int ref, nc, na, deg;
	struct anon_vma *av, *r, *p;

	if (t->nr != 8 || !parse_fields(t, 1, "uuuiiii", &id, &root, &parent,
					&ref, &nc, &na, &deg))
		return fail(ld, "bad anon_vma line");
	if (enter(ld, S_ANON_VMA, id))
		return -1;
	if (!id || id >= ld->sim->next_anon_vma_id)
		return fail(ld, "anon_vma %lu: id not below the counter", id);
	r = root == id ? NULL : sim_find_anon_vma(ld->sim, root);
	p = parent == id ? NULL : sim_find_anon_vma(ld->sim, parent);
	if ((root != id && !r) || (parent != id && !p))
		return fail(ld, "anon_vma %lu: unknown root or parent", id);
	av = anon_vma_alloc(ld->sim, id);
	av->root = r ? r : av;
	av->parent = p ? p : av;
	av->refcount = ref;
	av->num_children = nc;
	av->num_active_vmas = na;
	av->degree = deg;
	return 0;
}

static int load_folio(struct loader *ld, const struct tokens *t)
{
	const struct sim *sim = ld->sim;
	unsigned long pfn, av, file, index, flags, swap;
	struct address_space *f = NULL;
	struct folio *folio;
	bool cached;
	int mapcount;

	if (t->nr != 9 || !parse_fields(t, 1, "uuuuixub", &pfn, &av, &file,
					&index, &mapcount, &flags, &swap,
					&cached))
		return fail(ld, "bad folio line");
	if (enter(ld, S_FOLIO, pfn))
		return -1;
	if (!pfn || pfn >= sim->next_pfn || av >= sim->next_anon_vma_id ||
	    swap >= sim->next_swap)
		return fail(ld, "folio %lu: an id beyond its counter", pfn);
	/* what the folio's narrow fields hold (sim.h) */
	if (index >> FOLIO_INDEX_BITS || flags >> FOLIO_FLAGS_BITS ||
	    mapcount >= 1 << (FOLIO_MAPCOUNT_BITS - 1))
		return fail(ld, "folio %lu: index, mapcount or flags out of "
			    "range", pfn);
	if (sim->nr_frames >= sim->cfg.limits.max_frames)
		return fail(ld, "more frames than the limit %lu",
			    sim->cfg.limits.max_frames);
	if (file) {
		f = file_by_id(ld, file);
		if (!f || index >= f->nr_pages || (cached && f->pages[index]))
			return fail(ld, "folio %lu: bad file or index", pfn);
	} else if (cached) {
		return fail(ld, "folio %lu: cached without a file", pfn);
	}
	folio = folio_alloc(ld->sim, pfn);
	folio->anon_vma_id = av;
	folio->mapping = f;
	folio->index = index;
	folio->mapcount = mapcount;
	folio->flags = (unsigned int)flags;
	folio->swap = swap;
	if (cached)
		f->pages[index] = folio;
	return 0;
}

/* The shmem page a swap line names: a shmem file's uncached index. */
static int load_shmem_swap(struct loader *ld, unsigned long id,
			   unsigned long file, unsigned long index)
{
	struct address_space *f = file_by_id(ld, file);

	if (!f || !f->shmem || index >= f->nr_pages || f->swap[index] ||
	    f->pages[index])
		return fail(ld, "swap %lu: bad shmem page", id);
	f->swap[index] = id;
	return 0;
}

static int load_swap(struct loader *ld, const struct tokens *t)
{
	unsigned long id, cache, file = 0, index = 0;
	struct swap_slot *s;
	int count;

	if (t->nr != (ld->version == 1 ? 4 : 6) ||
	    !parse_fields(t, 1, "uiu", &id, &count, &cache) ||
	    (t->nr == 6 && !parse_fields(t, 4, "uu", &file, &index)))
		return fail(ld, "bad swap line");
	if (enter(ld, S_SWAP, id))
		return -1;
	/* count 0: only the swap cache holds the slot */
	if (!id || id >= ld->sim->next_swap || (!count && !cache) ||
	    (cache && !sim_find_folio(ld->sim, cache)) || (!file && index))
		return fail(ld, "swap %lu: bad slot", id);
	if (file && load_shmem_swap(ld, id, file, index))
		return -1;
	s = swap_slot_alloc(ld->sim, id);
	s->count = count;
	s->cache_pfn = cache;
	return 0;
}

static int load_mm(struct loader *ld, const struct tokens *t)
{
	unsigned long pid, ppid, start_brk, brk, base, ra, rf, rs, se;
	struct mm_struct *mm;

	if (t->nr != 10 || !parse_fields(t, 1, "uuxxxuuuu", &pid, &ppid,
					 &start_brk, &brk, &base, &ra, &rf,
					 &rs, &se))
		return fail(ld, "bad mm line");
	if (enter(ld, S_MM, pid))
		return -1;
	if (!pid || pid >= ld->sim->next_pid || ppid >= ld->sim->next_pid ||
	    start_brk > TASK_SIZE || brk > TASK_SIZE || base > TASK_SIZE)
		return fail(ld, "mm %lu: bad pid or layout", pid);
	if (ld->sim->nr_mms >= ld->sim->cfg.limits.max_procs)
		return fail(ld, "more processes than the limit %lu",
			    ld->sim->cfg.limits.max_procs);
	mm = mm_alloc(ld->sim, (int)pid);
	mm->ppid = (int)ppid;
	mm->start_brk = start_brk;
	mm->brk = brk;
	mm->mmap_base = base;
	mm->rss_anon = ra;
	mm->rss_file = rf;
	mm->rss_shmem = rs;
	mm->swapents = se;
	ld->mm = mm;
	ld->vma = NULL;
	ld->mm_ptes = false;
	ld->pt_seen = false;
	return 0;
}

/* A line of the current mm: its pid, and no VMA after its PTEs. */
static int in_mm(struct loader *ld, unsigned long pid, bool pte)
{
	if (ld->section != S_MM || !ld->mm ||
	    pid != (unsigned long)ld->mm->pid)
		return fail(ld, "not in its process's section");
	if (!pte && ld->mm_ptes)
		return fail(ld, "a VMA after the PTEs");
	return 0;
}

static int vma_fields(struct loader *ld, const struct tokens *t,
		      struct vm_area_struct *vma, unsigned long file,
		      unsigned long av)
{
	if (file) {
		vma->vm_file = file_by_id(ld, file);
		if (!vma->vm_file || t->nr != 12)
			return fail(ld, "vma %lu: unknown file", vma->id);
		vma->vm_file->nr_mappers++;
		vma->shared.start = vma->vm_pgoff;
		vma->shared.last = vma->vm_pgoff + vma_pages(vma) - 1;
		vma->shared.id = vma->id;
		if (add_shape(ld, t, 9, &vma->vm_file->i_mmap, &vma->shared))
			return -1;
	}
	if (av) {
		vma->anon_vma = sim_find_anon_vma(ld->sim, av);
		if (!vma->anon_vma)
			return fail(ld, "vma %lu: unknown anon_vma", vma->id);
	}
	return 0;
}

static int load_vma(struct loader *ld, const struct tokens *t)
{
	unsigned long id, pid, start, end, pgoff, flags, file, av;
	const struct vm_area_struct *prev;
	struct vm_area_struct *vma;

	if ((t->nr != 9 && t->nr != 12) ||
	    !parse_fields(t, 1, "uuxxuxuu", &id, &pid, &start, &end, &pgoff,
			  &flags, &file, &av) || (t->nr == 12) != (file != 0))
		return fail(ld, "bad vma line");
	if (in_mm(ld, pid, false))
		return -1;
	prev = vma_first(ld->mm) ? rb_entry(rb_last(&ld->mm->mm_mt),
					    struct vm_area_struct, mm_node) : NULL;
	if (!id || id >= ld->sim->next_vma_id || !PAGE_ALIGNED(start) ||
	    !PAGE_ALIGNED(end) || start >= end || end > TASK_SIZE ||
	    (prev && prev->vm_end > start) ||
	    pgoff + ((end - start) >> PAGE_SHIFT) - 1 < pgoff)
		return fail(ld, "vma %lu: bad range or id", id);
	/* a page it maps is a folio's index there (sim.h: FOLIO_INDEX_BITS) */
	if ((pgoff + ((end - start) >> PAGE_SHIFT) - 1) >> FOLIO_INDEX_BITS)
		return fail(ld, "vma %lu: page offsets beyond a folio's index",
			    id);
	if (ld->sim->nr_vmas >= ld->sim->cfg.limits.max_vmas)
		return fail(ld, "more VMAs than the limit %lu",
			    ld->sim->cfg.limits.max_vmas);
	vma = vm_area_alloc(ld->sim, ld->mm, id);
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma->vm_flags = flags;
	vma_mm_insert(ld->mm, vma);
	ld->vma = vma;
	return vma_fields(ld, t, vma, file, av);
}

static int load_avc(struct loader *ld, const struct tokens *t)
{
	unsigned long id, vid, av;
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	struct vm_area_struct *vma = ld->vma;

	if (t->nr != 7 || !parse_fields(t, 1, "uuu", &id, &vid, &av))
		return fail(ld, "bad avc line");
	if (ld->section != S_MM || ld->mm_ptes || !vma || vma->id != vid)
		return fail(ld, "avc %lu does not follow its VMA", id);
	anon_vma = sim_find_anon_vma(ld->sim, av);
	if (!id || id >= ld->sim->next_avc_id || !anon_vma)
		return fail(ld, "avc %lu: bad id or anon_vma", id);
	avc = anon_vma_chain_alloc(ld->sim, id);
	memset(&avc->rb, 0, sizeof(avc->rb));
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	/* dumped in same_vma order: append */
	list_add_tail(&avc->same_vma, &vma->anon_vma_chain);
	avc->rb.start = vma->vm_pgoff;
	avc->rb.last = vma->vm_pgoff + vma_pages(vma) - 1;
	avc->rb.id = id;
	return add_shape(ld, t, 4, &anon_vma->rb_root, &avc->rb);
}

static int load_pte(struct loader *ld, const struct tokens *t)
{
	unsigned long pid, vpn, pfn, swap;
	const char *bits;
	struct pte *pte;

	if (t->nr != 6 || !parse_fields(t, 1, "uxuu", &pid, &vpn, &pfn, &swap) ||
	    t->n[5] != 6 || strspn(t->s[5], "01") < 6)
		return fail(ld, "bad pte line");
	if (in_mm(ld, pid, true))
		return -1;
	if (vpn >= TASK_SIZE >> PAGE_SHIFT ||
	    (ld->mm_ptes && vpn <= ld->last_vpn))
		return fail(ld, "pte %lx: duplicate or out of order", vpn);
	if (++ld->nr_ptes > ld->sim->cfg.limits.max_ptes)
		return fail(ld, "more page-table entries than the limit %lu",
			    ld->sim->cfg.limits.max_ptes);
	bits = t->s[5];
	/* one word holds the pfn of a present PTE or the slot of a swap PTE */
	if (pfn >= CAP_ID || swap >= CAP_ID ||
	    (bits[0] == '1' ? swap != 0 : pfn != 0 || !swap))
		return fail(ld, "pte %lx: a pfn and a swap slot, or neither",
			    vpn);
	/* every PTE lies in a VMA, so there are no more than pages mapped */
	pte = pte_alloc(ld->mm, vpn);
	ld->mm_ptes = true;
	ld->last_vpn = vpn;
	pte_set_val(pte, bits[0] == '1' ? pfn : swap);
	pte->present = bits[0] == '1';
	pte->write = bits[1] == '1';
	pte->dirty = bits[2] == '1';
	pte->young = bits[3] == '1';
	pte->special = bits[4] == '1';
	pte->swp_exclusive = bits[5] == '1';
	return 0;
}

/* A PTE table (those holding PTEs were made by the PTE lines already). */
static int load_pt(struct loader *ld, const struct tokens *t)
{
	unsigned long pid, region;

	if (ld->version == 1 || t->nr != 3 ||
	    !parse_fields(t, 1, "ux", &pid, &region))
		return fail(ld, "bad pt line");
	if (in_mm(ld, pid, true))
		return -1;
	if (region > (TASK_SIZE >> PAGE_SHIFT) >> PTE_TABLE_SHIFT ||
	    (ld->pt_seen && region <= ld->last_pt))
		return fail(ld, "pt %lx: duplicate or out of order", region);
	ld->mm_ptes = true;
	ld->pt_seen = true;
	ld->last_pt = region;
	ld->last_vpn = ULONG_MAX;	/* no PTE after the tables */
	pte_table_alloc(ld->mm, region << PTE_TABLE_SHIFT);
	return 0;
}

static int load_line(struct loader *ld, const struct tokens *t)
{
	static const struct {
		const char *tag;
		int (*fn)(struct loader *ld, const struct tokens *t);
	} kinds[] = {
		{ "file", load_file }, { "anon_vma", load_anon_vma },
		{ "folio", load_folio }, { "swap", load_swap },
		{ "mm", load_mm }, { "vma", load_vma }, { "avc", load_avc },
		{ "pte", load_pte }, { "pt", load_pt },
	};
	size_t i;

	if (ld->section == S_CONFIG)
		return load_config(ld, t);
	if (ld->section == S_NEXT)
		return load_next(ld, t);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (tok_is(t, 0, kinds[i].tag))
			return kinds[i].fn(ld, t);
	return fail(ld, "unknown line");
}

/* ---- loading: the interval trees' links ---- */

static int cmp_shape(const void *a, const void *b)
{
	const struct shape *x = a, *y = b;
	uintptr_t tx = (uintptr_t)x->tree, ty = (uintptr_t)y->tree;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->node->id < y->node->id ? -1 : x->node->id > y->node->id;
}

static struct shape *find_shape(struct loader *ld, struct itree_root *tree,
				unsigned long id)
{
	struct itree_node key_node = { .id = id };
	struct shape key = { .tree = tree, .node = &key_node };

	return bsearch(&key, ld->shapes, ld->nr_shapes, sizeof(key), cmp_shape);
}

static int link_shape(struct loader *ld, struct shape *sh)
{
	struct rb_node *rb = &sh->node->rb, **slot;
	struct shape *parent;

	sh->tree->count++;
	if (!sh->parent) {
		if (sh->tree->rb.node)
			return fail(ld, "a tree with two roots");
		sh->tree->rb.node = rb;
		return 0;
	}
	parent = find_shape(ld, sh->tree, sh->parent);
	if (!parent || parent == sh)
		return fail(ld, "node %lu: its parent %lu is not in its tree",
			    sh->node->id, sh->parent);
	slot = sh->side == 'l' ? &parent->node->rb.left :
				 &parent->node->rb.right;
	if (*slot)
		return fail(ld, "node %lu: its place is taken", sh->node->id);
	*slot = rb;
	rb->parent = &parent->node->rb;
	return 0;
}

/*
 * Every node must reach its tree's root within the depth a red-black tree
 * can have (so there is no cycle, and the checker's recursive validation is
 * safe); on the way up each node raises its ancestors' subtree_last.
 */
static int climb(struct loader *ld, const struct shape *sh)
{
	const struct itree_node *n = sh->node;
	struct rb_node *rb = &sh->node->rb;
	int depth = 0;

	while (rb->parent) {
		struct itree_node *up;

		if (++depth > MAX_TREE_DEPTH)
			return fail(ld, "node %lu: tree too deep or cyclic",
				    n->id);
		rb = rb->parent;
		up = rb_entry(rb, struct itree_node, rb);
		if (up->subtree_last < n->last)
			up->subtree_last = n->last;
	}
	if (rb != sh->tree->rb.node)
		return fail(ld, "node %lu: not under its tree's root", n->id);
	return 0;
}

static int link_trees(struct loader *ld)
{
	size_t i;

	if (ld->nr_shapes)
		qsort(ld->shapes, ld->nr_shapes, sizeof(*ld->shapes),
		      cmp_shape);
	for (i = 0; i < ld->nr_shapes; i++) {
		struct shape *sh = &ld->shapes[i];

		if (i && !cmp_shape(sh - 1, sh))
			return fail(ld, "node %lu twice in one tree",
				    sh->node->id);
		sh->node->rb.red = sh->red;
		sh->node->subtree_last = sh->node->last;
	}
	for (i = 0; i < ld->nr_shapes; i++)
		if (link_shape(ld, &ld->shapes[i]))
			return -1;
	for (i = 0; i < ld->nr_shapes; i++)
		if (climb(ld, &ld->shapes[i]))
			return -1;
	return 0;
}

/* ---- loading: the whole dump ---- */

/*
 * The state must pass the checker but for what legacy mode leaves: a
 * normal-mode session can never hold those, so a dump that does is damaged.
 */
static int validate(struct loader *ld)
{
	static const char *const tolerated[] = {
		"dangling-mapping", "anon-not-reachable", NULL,
	};
	struct sim_check_report rep = { 0 };
	bool legacy = ld->sim->cfg.mode == SIM_MODE_LEGACY;
	int ret = 0;

	if (sim_check_except(ld->sim, &rep, legacy ? tolerated : NULL)) {
		ret = fail(ld, "inconsistent state: %s: %s", rep.v[0].what,
			   rep.v[0].detail);
	} else if (rep.dropped) {
		ret = fail(ld, "inconsistent state");
	}
	sim_check_report_free(&rep);
	return ret;
}

static int magic_version(const char *line, size_t n)
{
	if (n == strlen(DUMP_MAGIC) && !memcmp(line, DUMP_MAGIC, n))
		return 2;
	if (n == strlen(DUMP_MAGIC_V1) && !memcmp(line, DUMP_MAGIC_V1, n))
		return 1;
	return 0;
}

static int load_lines(struct loader *ld, const char *buf, size_t len)
{
	size_t pos = 0;
	struct tokens t;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', min_ul(len - pos, MAX_LINE));
		size_t n;

		ld->lineno++;
		if (!nl)
			return fail(ld, "truncated or overlong line");
		n = (size_t)(nl - line);
		pos += n + 1;
		if (ld->lineno == 1) {
			ld->version = magic_version(line, n);
			if (!ld->version)
				return fail(ld, "not an rmapd dump, version 1 "
					    "or 2");
			continue;
		}
		if (!tokenize(line, n, &t))
			return fail(ld, "malformed line");
		if (t.nr == 1 && tok_is(&t, 0, "end") && ld->section >= S_FILE) {
			if (pos != len)
				return fail(ld, "data after the end line");
			return 0;
		}
		if (load_line(ld, &t))
			return -1;
	}
	ld->lineno++;
	return fail(ld, "no end line");
}

struct sim *sim_load(const char *buf, size_t len, char *err, size_t errlen)
{
	struct loader ld = { .err = err, .errlen = errlen };
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ld.sim = sim_new(NULL);
	ret = buf ? load_lines(&ld, buf, len) : fail(&ld, "no dump");
	if (!ret)
		ret = link_trees(&ld);
	if (!ret)
		ret = validate(&ld);
	free(ld.files);
	free(ld.shapes);
	if (ret) {
		sim_free(ld.sim);
		return NULL;
	}
	return ld.sim;
}
