// SPDX-License-Identifier: MIT
/*
 * serialize.c - the session as text and back: what snapshots store.
 *
 * One object per line, in id / pid / pfn order, so the same state always
 * gives the same bytes.  Interval trees are not stored: they are ordered by
 * (pgoff, id), so rebuilding them from the objects gives the same walks.
 * sim_load() trusts nothing: every reference is resolved, every count is
 * bounded by the dumped limits, and any malformed line fails the load.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DUMP_MAGIC "rmapd-dump 1"

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->len += (size_t)n;
}

static void dump_mm(struct buf *b, const struct mm_struct *mm)
{
	const struct vm_area_struct *vma;
	const struct pte *pte;

	put(b, "mm %d %d %lx %lx %lx %lu %lu %lu %lu\n", mm->pid, mm->ppid,
	    mm->start_brk, mm->brk, mm->mmap_base, mm->rss_anon, mm->rss_file,
	    mm->rss_shmem, mm->swapents);
	for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
		const struct anon_vma_chain *avc;

		put(b, "vma %lu %d %lx %lx %lu %lx %lu %lu\n", vma->id, mm->pid,
		    vma->vm_start, vma->vm_end, vma->vm_pgoff, vma->vm_flags,
		    vma->vm_file ? vma->vm_file->id : 0,
		    vma->anon_vma ? vma->anon_vma->id : 0);
		/* oldest first, so appending rebuilds the same list */
		list_for_each_entry_reverse(avc, &vma->anon_vma_chain, same_vma)
			put(b, "avc %lu %lu %lu\n", avc->id, vma->id,
			    avc->anon_vma->id);
	}
	for (pte = pte_first(mm); pte; pte = pte_next(pte))
		put(b, "pte %d %lx %lu %lu %d%d%d%d%d%d\n", mm->pid, pte->vpn,
		    pte->pfn, pte->swap, pte->present, pte->write, pte->dirty,
		    pte->young, pte->special, pte->swp_exclusive);
}

char *sim_dump(const struct sim *sim, size_t *len)
{
	const struct sim_limits *l = &sim->cfg.limits;
	struct buf b = { malloc(4096), 0, 4096 };
	const struct address_space *f;
	const struct anon_vma *av;
	const struct mm_struct *mm;
	const struct folio *folio;
	struct rb_node *rb;

	if (!b.p)
		abort();
	put(&b, DUMP_MAGIC "\n");
	put(&b, "config %s %d %lu %lu %lu %lu %lu\n", sim_mode_name(sim->cfg.mode),
	    sim->cfg.no_zero_page, l->max_procs, l->max_vmas, l->max_frames,
	    l->max_files, l->max_file_pages);
	put(&b, "next %lu %lu %lu %lu %lu %lu %lu %lu\n", sim->next_pid,
	    sim->next_vma_id, sim->next_anon_vma_id, sim->next_avc_id,
	    sim->next_file_id, sim->next_pfn, sim->next_swap, sim->nr_ops);
	list_for_each_entry(f, &sim->files, node)
		put(&b, "file %lu %s %lu %d\n", f->id, f->name, f->nr_pages,
		    f->shmem);
	list_for_each_entry(av, &sim->anon_vmas, node)
		put(&b, "anon_vma %lu %lu %lu %d %d %d %d\n", av->id,
		    av->root->id, av->parent->id, av->refcount,
		    av->num_children, av->num_active_vmas, av->degree);
	for (folio = folio_first(sim); folio; folio = folio_next(folio))
		put(&b, "folio %lu %lu %lu %lu %d %x %lu %d\n", folio->pfn,
		    folio->anon_vma_id,
		    folio->mapping ? folio->mapping->id : 0, folio->index,
		    folio->mapcount, folio->flags, folio->swap,
		    folio->mapping && folio->mapping->pages[folio->index] == folio);
	for (rb = rb_first(&sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);

		put(&b, "swap %lu %d %lu\n", s->id, s->count, s->cache_pfn);
	}
	list_for_each_entry(mm, &sim->mms, node)
		dump_mm(&b, mm);
	put(&b, "end\n");
	*len = b.len;
	return b.p;
}

/* ---- loading ---- */

struct loader {
	struct sim *sim;
	char *err;
	size_t errlen;
	int lineno;
	struct mm_struct *mm;		/* the mm the last "mm" line made */
};

static int fail(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ld->err, ld->errlen, "line %d: ", ld->lineno);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ld->errlen)
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static struct address_space *file_by_id(struct sim *sim, unsigned long id)
{
	struct address_space *f;

	list_for_each_entry(f, &sim->files, node)
		if (f->id == id)
			return f;
	return NULL;
}

static struct vm_area_struct *vma_by_id(struct mm_struct *mm, unsigned long id)
{
	struct vm_area_struct *vma;

	for (vma = vma_first(mm); vma; vma = vma_next(vma))
		if (vma->id == id)
			return vma;
	return NULL;
}

static int load_config(struct loader *ld, const char *line, bool *have_cfg)
{
	struct sim_limits *l = &ld->sim->cfg.limits;
	char mode[16];
	int nzp;

	if (sscanf(line, "config %15s %d %lu %lu %lu %lu %lu", mode, &nzp,
		   &l->max_procs, &l->max_vmas, &l->max_frames, &l->max_files,
		   &l->max_file_pages) != 7)
		return fail(ld, "bad config");
	if (!strcmp(mode, "legacy"))
		ld->sim->cfg.mode = SIM_MODE_LEGACY;
	else if (strcmp(mode, "normal"))
		return fail(ld, "unknown mode");
	ld->sim->cfg.no_zero_page = nzp != 0;
	if (l->max_procs > 100000 || l->max_vmas > 10000000 ||
	    l->max_frames > 10000000 || l->max_files > 100000 ||
	    l->max_file_pages > 10000000)
		return fail(ld, "limits out of range");
	*have_cfg = true;
	return 0;
}

static int load_file(struct loader *ld, const char *line)
{
	unsigned long id, pages;
	char name[64];
	int shmem;

	if (sscanf(line, "file %lu %63s %lu %d", &id, name, &pages, &shmem) != 4)
		return fail(ld, "bad file");
	if (!id || file_by_id(ld->sim, id) || !pages ||
	    pages > ld->sim->cfg.limits.max_file_pages ||
	    ld->sim->nr_files >= ld->sim->cfg.limits.max_files)
		return fail(ld, "file %lu: bad id, size or count", id);
	file_alloc(ld->sim, id, name, pages, shmem != 0);
	return 0;
}

/* anon_vmas come in id order; parents and roots are older */
static int load_anon_vma(struct loader *ld, const char *line)
{
	unsigned long id, root, parent;
	int ref, nc, na, deg;
	struct anon_vma *av, *r, *p;

	if (sscanf(line, "anon_vma %lu %lu %lu %d %d %d %d", &id, &root,
		   &parent, &ref, &nc, &na, &deg) != 7)
		return fail(ld, "bad anon_vma");
	if (!id || sim_find_anon_vma(ld->sim, id) ||
	    ld->sim->nr_anon_vmas >= ld->sim->cfg.limits.max_vmas * 4)
		return fail(ld, "anon_vma %lu: bad or duplicate id", id);
	av = anon_vma_alloc(ld->sim, id);
	r = root == id ? av : sim_find_anon_vma(ld->sim, root);
	p = parent == id ? av : sim_find_anon_vma(ld->sim, parent);
	if (!r || !p)
		return fail(ld, "anon_vma %lu: unknown root or parent", id);
	av->root = r;
	av->parent = p;
	av->refcount = ref;
	av->num_children = nc;
	av->num_active_vmas = na;
	av->degree = deg;
	return 0;
}

static int load_folio(struct loader *ld, const char *line)
{
	unsigned long pfn, av, file, index, swap;
	unsigned int flags;
	int mapcount, cached;
	struct folio *folio;
	struct address_space *f = NULL;

	if (sscanf(line, "folio %lu %lu %lu %lu %d %x %lu %d", &pfn, &av, &file,
		   &index, &mapcount, &flags, &swap, &cached) != 8)
		return fail(ld, "bad folio");
	if (!pfn || sim_find_folio(ld->sim, pfn) ||
	    ld->sim->nr_frames >= ld->sim->cfg.limits.max_frames ||
	    mapcount < 0 || (flags & PG_zero))
		return fail(ld, "folio %lu: bad or duplicate", pfn);
	if (file) {
		f = file_by_id(ld->sim, file);
		if (!f || index >= f->nr_pages || (cached && f->pages[index]))
			return fail(ld, "folio %lu: bad file or index", pfn);
	}
	folio = folio_alloc(ld->sim, pfn);
	folio->anon_vma_id = av;
	folio->mapping = f;
	folio->index = index;
	folio->mapcount = mapcount;
	folio->flags = flags;
	folio->swap = swap;
	if (f && cached)
		f->pages[index] = folio;
	return 0;
}

static int load_swap(struct loader *ld, const char *line)
{
	unsigned long id, cache;
	struct swap_slot *s;
	int count;

	if (sscanf(line, "swap %lu %d %lu", &id, &count, &cache) != 3)
		return fail(ld, "bad swap");
	if (!id || count <= 0 || swap_slot_find(ld->sim, id) ||
	    (cache && !sim_find_folio(ld->sim, cache)))
		return fail(ld, "swap %lu: bad slot", id);
	s = swap_slot_alloc(ld->sim, id);
	s->count = count;
	s->cache_pfn = cache;
	return 0;
}

static int load_mm(struct loader *ld, const char *line)
{
	struct mm_struct *mm;
	int pid, ppid;
	unsigned long start_brk, brk, base, ra, rf, rs, se;

	if (sscanf(line, "mm %d %d %lx %lx %lx %lu %lu %lu %lu", &pid, &ppid,
		   &start_brk, &brk, &base, &ra, &rf, &rs, &se) != 9)
		return fail(ld, "bad mm");
	if (pid <= 0 || sim_find_mm(ld->sim, pid) ||
	    ld->sim->nr_mms >= ld->sim->cfg.limits.max_procs ||
	    (ld->mm && pid < ld->mm->pid))
		return fail(ld, "mm %d: bad, duplicate or out of order", pid);
	mm = mm_alloc(ld->sim, pid);
	mm->ppid = ppid;
	mm->start_brk = start_brk;
	mm->brk = brk;
	mm->mmap_base = base;
	mm->rss_anon = ra;
	mm->rss_file = rf;
	mm->rss_shmem = rs;
	mm->swapents = se;
	ld->mm = mm;
	return 0;
}

static int load_vma(struct loader *ld, const char *line)
{
	unsigned long id, start, end, pgoff, flags, file, av;
	struct vm_area_struct *vma, *prev;
	int pid;

	if (sscanf(line, "vma %lu %d %lx %lx %lu %lx %lu %lu", &id, &pid, &start,
		   &end, &pgoff, &flags, &file, &av) != 8)
		return fail(ld, "bad vma");
	if (!ld->mm || pid != ld->mm->pid || !id ||
	    ld->sim->nr_vmas >= ld->sim->cfg.limits.max_vmas ||
	    !PAGE_ALIGNED(start) || !PAGE_ALIGNED(end) || start >= end ||
	    end > TASK_SIZE)
		return fail(ld, "vma %lu: bad", id);
	prev = vma_first(ld->mm) ? rb_entry(rb_last(&ld->mm->mm_mt),
					    struct vm_area_struct, mm_node) : NULL;
	if (prev && prev->vm_end > start)
		return fail(ld, "vma %lu: overlaps or out of order", id);
	vma = vm_area_alloc(ld->sim, ld->mm, id);
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma->vm_flags = flags;
	vma_mm_insert(ld->mm, vma);
	if (file) {
		vma->vm_file = file_by_id(ld->sim, file);
		if (!vma->vm_file)
			return fail(ld, "vma %lu: unknown file", id);
		vma->vm_file->nr_mappers++;
		vma->shared.start = pgoff;
		vma->shared.last = pgoff + vma_pages(vma) - 1;
		vma->shared.tie = vma->id;
		itree_insert(&vma->shared, &vma->vm_file->i_mmap);
	}
	if (av) {
		vma->anon_vma = sim_find_anon_vma(ld->sim, av);
		if (!vma->anon_vma)
			return fail(ld, "vma %lu: unknown anon_vma", id);
	}
	return 0;
}

static int load_avc(struct loader *ld, const char *line)
{
	unsigned long id, vid, av;
	struct anon_vma_chain *avc;
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;

	if (sscanf(line, "avc %lu %lu %lu", &id, &vid, &av) != 3)
		return fail(ld, "bad avc");
	vma = ld->mm ? vma_by_id(ld->mm, vid) : NULL;
	anon_vma = sim_find_anon_vma(ld->sim, av);
	if (!id || !vma || !anon_vma || id >= ld->sim->next_avc_id ||
	    ld->sim->nr_avcs >= ld->sim->cfg.limits.max_vmas * 64)
		return fail(ld, "avc %lu: bad reference", id);
	avc = anon_vma_chain_alloc(ld->sim, id);
	anon_vma_chain_link(vma, avc, anon_vma);
	return 0;
}

static int load_pte(struct loader *ld, const char *line)
{
	unsigned long vpn, pfn, swap;
	char bits[8];
	struct pte *pte;
	int pid;

	if (sscanf(line, "pte %d %lx %lu %lu %7s", &pid, &vpn, &pfn, &swap,
		   bits) != 5 || strlen(bits) != 6 || strspn(bits, "01") != 6)
		return fail(ld, "bad pte");
	if (!ld->mm || pid != ld->mm->pid || pte_lookup(ld->mm, vpn) ||
	    vpn > TASK_SIZE >> PAGE_SHIFT ||
	    ld->mm->nr_ptes >= ld->sim->cfg.limits.max_vmas * 512UL)
		return fail(ld, "pte %lx: bad or duplicate", vpn);
	pte = pte_alloc(ld->mm, vpn);
	pte->pfn = pfn;
	pte->swap = swap;
	pte->present = bits[0] == '1';
	pte->write = bits[1] == '1';
	pte->dirty = bits[2] == '1';
	pte->young = bits[3] == '1';
	pte->special = bits[4] == '1';
	pte->swp_exclusive = bits[5] == '1';
	return 0;
}

static int load_line(struct loader *ld, const char *line, bool *have_cfg)
{
	static const struct {
		const char *tag;
		int (*fn)(struct loader *ld, const char *line);
	} kinds[] = {
		{ "file ", load_file }, { "anon_vma ", load_anon_vma },
		{ "folio ", load_folio }, { "swap ", load_swap },
		{ "mm ", load_mm }, { "vma ", load_vma }, { "avc ", load_avc },
		{ "pte ", load_pte },
	};
	size_t i;

	if (!strncmp(line, "config ", 7))
		return load_config(ld, line, have_cfg);
	if (!*have_cfg)
		return fail(ld, "config must come first");
	if (!strncmp(line, "next ", 5)) {
		struct sim *s = ld->sim;

		if (sscanf(line, "next %lu %lu %lu %lu %lu %lu %lu %lu",
			   &s->next_pid, &s->next_vma_id, &s->next_anon_vma_id,
			   &s->next_avc_id, &s->next_file_id, &s->next_pfn,
			   &s->next_swap, &s->nr_ops) != 8)
			return fail(ld, "bad next");
		return 0;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(line, kinds[i].tag, strlen(kinds[i].tag)))
			return kinds[i].fn(ld, line);
	return fail(ld, "unknown line");
}

struct sim *sim_load(const char *buf, size_t len, char *err, size_t errlen)
{
	struct sim_config cfg = { 0 };
	struct loader ld = { .err = err, .errlen = errlen };
	struct sim_check_report rep = { 0 };
	bool have_cfg = false, ended = false;
	size_t pos = 0;
	char line[256];

	ld.sim = sim_new(&cfg);
	while (pos < len && !ended) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		ld.lineno++;
		if (!nl || n >= sizeof(line)) {
			fail(&ld, "truncated or overlong line");
			goto bad;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (ld.lineno == 1) {
			if (strcmp(line, DUMP_MAGIC)) {
				fail(&ld, "not an rmapd dump");
				goto bad;
			}
			continue;
		}
		if (!strcmp(line, "end")) {
			ended = true;
			break;
		}
		if (load_line(&ld, line, &have_cfg))
			goto bad;
	}
	if (!ended) {
		fail(&ld, "no end line");
		goto bad;
	}
	/* a dump that does not pass the checker is refused, except for the
	 * dangling mappings that legacy mode legitimately leaves behind */
	sim_check(ld.sim, &rep);
	{
		size_t i;

		for (i = 0; i < rep.nr; i++)
			if (strcmp(rep.v[i].what, "dangling-mapping") &&
			    strcmp(rep.v[i].what, "anon-not-reachable")) {
				fail(&ld, "inconsistent state: %s", rep.v[i].detail);
				sim_check_report_free(&rep);
				goto bad;
			}
	}
	sim_check_report_free(&rep);
	return ld.sim;
bad:
	sim_free(ld.sim);
	return NULL;
}
