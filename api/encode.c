// SPDX-License-Identifier: MIT
/*
 * encode.c - engine objects as JSON: one writer per object kind, used by
 * every answer of the daemon, by `rmapd run`, and by the journal (which
 * stores operations in their canonical form); api/openapi.json documents
 * the shapes.  Addresses are always "0x..." strings.  Each writes straight
 * into the answer's buffer (jw.h): a state of thousands of PTEs is one pass.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "jw.h"

static const char *prot_string(unsigned long flags, char buf[4])
{
	buf[0] = flags & VM_READ ? 'r' : '-';
	buf[1] = flags & VM_WRITE ? 'w' : '-';
	buf[2] = flags & VM_EXEC ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

static const char *prot_bits_string(unsigned int prot, char buf[4])
{
	return prot_string((prot & PROT_READ ? VM_READ : 0) |
			   (prot & PROT_WRITE ? VM_WRITE : 0) |
			   (prot & PROT_EXEC ? VM_EXEC : 0), buf);
}

struct flag_name {
	unsigned long bit;
	const char *name;
};

/* "key": the names of the bits of flags that names lists, in its order */
static void write_flag_names(struct jw *w, const char *key,
			     unsigned long flags, const struct flag_name *names,
			     size_t n)
{
	size_t i;

	jw_key(w, key);
	jw_array(w);
	for (i = 0; i < n; i++)
		if (flags & names[i].bit)
			jw_string(w, names[i].name);
	jw_array_end(w);
}

#define FLAG_NAMES(w, key, flags, names) \
	write_flag_names(w, key, flags, names, sizeof(names) / sizeof(names[0]))

static const struct flag_name mmap_flag_names[] = {
	{ MAP_PRIVATE, "private" }, { MAP_SHARED, "shared" },
	{ MAP_ANONYMOUS, "anonymous" }, { MAP_FIXED, "fixed" },
	{ MAP_FIXED_NOREPLACE, "fixed_noreplace" },
	{ MAP_NORESERVE, "noreserve" },
};

static const struct flag_name mremap_flag_names[] = {
	{ MREMAP_MAYMOVE, "maymove" }, { MREMAP_FIXED, "fixed" },
	{ MREMAP_DONTUNMAP, "dontunmap" },
};

static void write_range_op(struct jw *w, const struct sim_op *op)
{
	char prot[4];

	jw_klong(w, "pid", op->pid);
	jw_khex(w, "addr", op->addr);
	jw_kulong(w, "len", op->len);
	if (op->kind == OP_MPROTECT)
		jw_kstring(w, "prot", prot_bits_string(op->prot, prot));
	if (op->kind == OP_MADVISE)
		jw_kstring(w, "advice", sim_advice_name(op->advice));
}

static void write_mmap_op(struct jw *w, const struct sim_op *op)
{
	char prot[4];

	jw_klong(w, "pid", op->pid);
	if (op->has_addr)
		jw_khex(w, "addr", op->addr);
	jw_kulong(w, "len", op->len);
	jw_kstring(w, "prot", prot_bits_string(op->prot, prot));
	FLAG_NAMES(w, "flags", op->flags, mmap_flag_names);
	if (!(op->flags & MAP_ANONYMOUS)) {
		jw_kstring(w, "file", op->name);
		jw_kulong(w, "offset", op->offset);
	}
}

/* The canonical form: exactly the fields the op takes, addresses in hex. */
void api_write_op(struct jw *w, const struct sim_op *op)
{
	jw_object(w);
	jw_kstring(w, "op", sim_op_name(op->kind));
	switch (op->kind) {
	case OP_SPAWN:
		if (op->layout == SPAWN_PROCESS)
			jw_kstring(w, "layout", "process");
		break;
	case OP_FILE:
		jw_kstring(w, "name", op->name);
		jw_kulong(w, "pages", op->pages);
		break;
	case OP_MMAP:
		write_mmap_op(w, op);
		break;
	case OP_MUNMAP:
	case OP_MPROTECT:
	case OP_MADVISE:
		write_range_op(w, op);
		break;
	case OP_MREMAP:
		jw_klong(w, "pid", op->pid);
		jw_khex(w, "addr", op->addr);
		jw_kulong(w, "old_len", op->old_len);
		jw_kulong(w, "new_len", op->new_len);
		FLAG_NAMES(w, "flags", op->flags, mremap_flag_names);
		if (op->flags & MREMAP_FIXED)
			jw_khex(w, "new_addr", op->new_addr);
		break;
	case OP_BRK:
	case OP_ACCESS:
		jw_klong(w, "pid", op->pid);
		jw_khex(w, "addr", op->addr);
		if (op->kind == OP_ACCESS)
			jw_kbool(w, "write", op->write);
		break;
	case OP_FORK:
	case OP_EXIT:
		jw_klong(w, "pid", op->pid);
		break;
	case OP_TRY_TO_UNMAP:
	case OP_FOLIO_REFERENCED:
		jw_kulong(w, "pfn", op->pfn);
		break;
	default:
		break;
	}
	jw_object_end(w);
}

char *api_op_text(const struct sim_op *op)
{
	struct jw w;

	jw_init(&w, 128);
	api_write_op(&w, op);
	return jw_take(&w, NULL);
}

void api_write_events(struct jw *w, const struct sim_event *ev, size_t n)
{
	size_t i;
	int k;

	jw_array(w);
	for (i = 0; i < n; i++) {
		jw_object(w);
		jw_kstring(w, "fn", ev[i].fn);
		if (ev[i].omitted) {
			/* a summary: the events before it show the first calls */
			jw_kulong(w, "count", ev[i].count);
			jw_kulong(w, "omitted", ev[i].omitted);
		}
		for (k = 0; k < ev[i].nargs; k++) {
			if (ev[i].arg[k].kind == ARG_ADDR)
				jw_khex(w, ev[i].arg[k].key, ev[i].arg[k].val);
			else
				jw_kulong(w, ev[i].arg[k].key, ev[i].arg[k].val);
		}
		jw_object_end(w);
	}
	jw_array_end(w);
}

static const char *const itree_step_name[] = {
	[ITREE_LEFT] = "left", [ITREE_RIGHT] = "right", [ITREE_MATCH] = "match",
	[ITREE_STOP] = "stop", [ITREE_PASS] = "pass",
};

static void write_visit(struct jw *w, const struct rmap_walk_result *walk,
			const struct rmap_visit *v)
{
	jw_object(w);
	jw_kulong(w, "vma", v->vma_id);
	jw_klong(w, "pid", v->pid);
	if (walk->kind == WALK_ANON) {
		jw_kulong(w, "anon_vma", v->anon_vma_id);
		jw_kulong(w, "avc", v->avc_id);
	}
	jw_khex(w, "addr", v->address);
	jw_kbool(w, "mapped", v->mapped);
	jw_kbool(w, "young", v->young);
	jw_object_end(w);
}

static void write_probe(struct jw *w, const struct rmap_walk_result *walk,
			const struct rmap_probe *p)
{
	jw_object(w);
	jw_kulong(w, walk->kind == WALK_ANON ? "avc" : "vma", p->id);
	if (walk->kind == WALK_ANON)
		jw_kulong(w, "vma", p->vma_id);
	jw_kulong(w, "start", p->start);
	jw_kulong(w, "last", p->last);
	jw_kulong(w, "subtree_last", p->subtree_last);
	jw_kstring(w, "step", itree_step_name[p->step]);
	jw_object_end(w);
}

void api_write_walk(struct jw *w, const struct rmap_walk_result *walk)
{
	size_t i;

	jw_object(w);
	jw_kstring(w, "kind", walk->kind == WALK_ANON ? "anon" :
		   walk->kind == WALK_FILE ? "file" : "none");
	jw_kulong(w, "pfn", walk->pfn);
	jw_kulong(w, "index", walk->index);
	jw_key(w, "start");
	jw_object(w);
	jw_kstring(w, "kind", walk->kind == WALK_ANON ? "anon_vma" : "file");
	jw_kulong(w, "id", walk->start_id);
	jw_object_end(w);
	jw_kbool(w, "dangling", walk->dangling);
	jw_key(w, "pgoff");
	jw_array(w);
	jw_ulong(w, walk->pgoff_start);
	jw_ulong(w, walk->pgoff_last);
	jw_array_end(w);
	jw_kulong(w, "tree_probes", walk->tree_probes);
	jw_kulong(w, "visited", walk->visited);
	jw_kulong(w, "mapped", walk->mapped);
	jw_key(w, "visits");
	jw_array(w);
	for (i = 0; i < walk->nr_visits; i++)
		write_visit(w, walk, &walk->visits[i]);
	jw_array_end(w);
	/* the interval-tree nodes the query examined, in order */
	jw_key(w, "probes");
	jw_array(w);
	for (i = 0; i < walk->nr_probes; i++)
		write_probe(w, walk, &walk->probes[i]);
	jw_array_end(w);
	jw_object_end(w);
}

/* The value an op returns, under the name its kind gives it. */
static void write_value(struct jw *w, const struct sim_op *op,
			const struct sim_result *res)
{
	switch (op->kind) {
	case OP_SPAWN:
		jw_kulong(w, "pid", res->value);
		break;
	case OP_FORK:
		jw_kulong(w, "child", res->value);
		break;
	case OP_FILE:
		jw_kulong(w, "file", res->value);
		break;
	case OP_MMAP:
	case OP_MREMAP:
	case OP_BRK:
		if (!res->err || op->kind == OP_BRK)
			jw_khex(w, "addr", res->value);
		break;
	case OP_FOLIO_REFERENCED:
		jw_klong(w, "referenced", res->referenced);
		break;
	default:
		break;
	}
}

/* The outcome, the value and the cost of an op: every form of its answer. */
static void write_outcome(struct jw *w, const struct sim_op *op,
			  const struct sim_result *res)
{
	jw_kbool(w, "ok", res->err == 0);
	if (res->err) {
		jw_kstring(w, "error", sim_errno_name(res->err));
		jw_kstring(w, "reason", res->reason ? res->reason : "");
	} else {
		jw_knull(w, "error");
	}
	if (res->fault)
		jw_kstring(w, "fault", res->fault);
	write_value(w, op, res);
	jw_kulong(w, "cost", res->cost);
}

void api_write_result_fields(struct jw *w, const struct sim_op *op,
			     const struct sim_result *res)
{
	jw_key(w, "op");
	api_write_op(w, op);
	write_outcome(w, op, res);
	if (res->walk) {
		jw_key(w, "walk");
		api_write_walk(w, res->walk);
	}
	jw_key(w, "events");
	api_write_events(w, res->events, res->nr_events);
}

void api_write_journal_result(struct jw *w, const struct sim_op *op,
			      const struct sim_result *res)
{
	struct sim_trace t;
	size_t i;

	jw_object(w);
	write_outcome(w, op, res);
	/* folded as a default answer folds them, whatever this one asked */
	sim_trace_init(&t, SIM_TRACE_REPEAT, 0);
	for (i = 0; i < res->nr_events; i++)
		sim_trace_add(&t, &res->events[i]);
	jw_key(w, "events");
	api_write_events(w, t.ev, t.nr);
	sim_trace_free(&t);
	jw_object_end(w);
}

void api_write_config(struct jw *w, const struct sim_config *cfg, bool limits)
{
	const struct sim_limits *l = &cfg->limits;

	jw_object(w);
	jw_kstring(w, "mode", sim_mode_name(cfg->mode));
	jw_kbool(w, "zero_page", !cfg->no_zero_page);
	jw_klong(w, "overcommit_memory", cfg->overcommit);
	if (limits) {
		jw_key(w, "limits");
		jw_object(w);
		jw_kulong(w, "processes", l->max_procs);
		jw_kulong(w, "vmas", l->max_vmas);
		jw_kulong(w, "frames", l->max_frames);
		jw_kulong(w, "files", l->max_files);
		jw_kulong(w, "file_pages", l->max_file_pages);
		jw_kulong(w, "ptes", l->max_ptes);
		jw_object_end(w);
	}
	jw_object_end(w);
}

static const struct flag_name vma_flag_names[] = {
	{ VM_SHARED, "shared" }, { VM_DONTCOPY, "dontcopy" },
	{ VM_WIPEONFORK, "wipeonfork" }, { VM_GROWSDOWN, "growsdown" },
	{ VM_ACCOUNT, "account" }, { VM_NORESERVE, "noreserve" },
};

static void write_vma(struct jw *w, const struct vm_area_struct *vma)
{
	const struct anon_vma_chain *avc;
	char prot[4];

	jw_object(w);
	jw_kulong(w, "id", vma->id);
	jw_khex(w, "start", vma->vm_start);
	jw_khex(w, "end", vma->vm_end);
	jw_kulong(w, "pgoff", vma->vm_pgoff);
	jw_kulong(w, "pages", (vma->vm_end - vma->vm_start) >> PAGE_SHIFT);
	jw_kstring(w, "prot", prot_string(vma->vm_flags, prot));
	FLAG_NAMES(w, "flags", vma->vm_flags, vma_flag_names);
	if (vma->vm_file) {
		jw_kulong(w, "file", vma->vm_file->id);
		jw_kstring(w, "file_name", vma->vm_file->name);
		jw_kbool(w, "shmem", vma->vm_file->shmem);
	} else {
		jw_knull(w, "file");
	}
	if (vma->anon_vma)
		jw_kulong(w, "anon_vma", vma->anon_vma->id);
	else
		jw_knull(w, "anon_vma");
	jw_key(w, "chain");
	jw_array(w);
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		jw_object(w);
		jw_kulong(w, "avc", avc->id);
		jw_kulong(w, "anon_vma", avc->anon_vma->id);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_object_end(w);
}

static void write_pte(struct jw *w, const struct pte *pte, unsigned long vpn)
{
	jw_object(w);
	jw_khex(w, "addr", vpn << PAGE_SHIFT);
	jw_kbool(w, "present", pte->present);
	if (pte->present) {
		jw_kulong(w, "pfn", pte_pfn(pte));
		jw_kbool(w, "write", pte->write);
		jw_kbool(w, "dirty", pte->dirty);
		jw_kbool(w, "young", pte->young);
		jw_kbool(w, "zero", pte->special);
	} else {
		jw_kulong(w, "swap", pte_swap(pte));
		jw_kbool(w, "exclusive", pte->swp_exclusive);
	}
	jw_object_end(w);
}

static void write_process(struct jw *w, const struct mm_struct *mm)
{
	const struct vm_area_struct *vma;
	const struct pte *pte;
	struct pte_iter it;

	jw_object(w);
	jw_klong(w, "pid", mm->pid);
	jw_klong(w, "ppid", mm->ppid);
	jw_key(w, "rss");
	jw_object(w);
	jw_kulong(w, "anon", mm->rss_anon);
	jw_kulong(w, "file", mm->rss_file);
	jw_kulong(w, "shmem", mm->rss_shmem);
	jw_kulong(w, "swap", mm->swapents);
	jw_object_end(w);
	jw_khex(w, "start_brk", mm->start_brk);
	jw_khex(w, "brk", mm->brk);
	jw_key(w, "vmas");
	jw_array(w);
	for (vma = vma_first(mm); vma; vma = vma_next(vma))
		write_vma(w, vma);
	jw_array_end(w);
	jw_key(w, "ptes");
	jw_array(w);
	for (pte = pte_iter_start(mm, 0, &it); pte; pte = pte_iter_next(&it))
		write_pte(w, pte, it.vpn);
	jw_array_end(w);
	jw_object_end(w);
}

static unsigned long avc_id_of(const struct itree_node *n)
{
	return container_of(n, struct anon_vma_chain, rb)->id;
}

static unsigned long vma_id_of(const struct itree_node *n)
{
	return container_of(n, struct vm_area_struct, shared)->id;
}

/*
 * Where node n sits in its interval tree (anon_vma->rb_root or i_mmap): its
 * range, its subtree's largest last, its colour, and its parent (by the id
 * id_of gives it, null at the root) with the side it hangs on.
 */
static void write_tree_place(struct jw *w, const struct itree_node *n,
			     unsigned long (*id_of)(const struct itree_node *))
{
	const struct rb_node *parent = n->rb.parent;

	jw_kulong(w, "pgoff_start", n->start);
	jw_kulong(w, "pgoff_last", n->last);
	jw_kulong(w, "subtree_last", n->subtree_last);
	jw_kstring(w, "color", n->rb.red ? "red" : "black");
	if (!parent) {
		jw_knull(w, "tree_parent");
		jw_knull(w, "side");
		return;
	}
	jw_kulong(w, "tree_parent",
		  id_of(container_of(parent, struct itree_node, rb)));
	jw_kstring(w, "side", parent->left == &n->rb ? "left" : "right");
}

static void write_anon_vma(struct jw *w, const struct sim *sim,
			   const struct anon_vma *av)
{
	const struct itree_node *n;

	jw_object(w);
	jw_kulong(w, "id", av->id);
	jw_kulong(w, "root", av->root->id);
	jw_kulong(w, "parent", av->parent->id);
	jw_klong(w, "refcount", av->refcount);
	if (sim->cfg.mode == SIM_MODE_LEGACY) {
		jw_klong(w, "degree", av->degree);
	} else {
		jw_klong(w, "num_children", av->num_children);
		jw_klong(w, "num_active_vmas", av->num_active_vmas);
	}
	jw_key(w, "avcs");
	jw_array(w);
	for (n = itree_first(&av->rb_root); n; n = itree_next(n)) {
		const struct anon_vma_chain *avc =
			container_of(n, struct anon_vma_chain, rb);

		jw_object(w);
		jw_kulong(w, "id", avc->id);
		jw_kulong(w, "vma", avc->vma->id);
		jw_klong(w, "pid", avc->vma->vm_mm->pid);
		write_tree_place(w, n, avc_id_of);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_object_end(w);
}

static void write_file(struct jw *w, const struct address_space *f)
{
	const struct itree_node *n;
	unsigned long i;

	jw_object(w);
	jw_kulong(w, "id", f->id);
	jw_kstring(w, "name", f->name);
	jw_kulong(w, "pages", f->nr_pages);
	jw_kbool(w, "shmem", f->shmem);
	jw_key(w, "i_mmap");
	jw_array(w);
	for (n = itree_first(&f->i_mmap); n; n = itree_next(n)) {
		const struct vm_area_struct *vma =
			container_of(n, struct vm_area_struct, shared);

		jw_object(w);
		jw_kulong(w, "vma", vma->id);
		jw_klong(w, "pid", vma->vm_mm->pid);
		write_tree_place(w, n, vma_id_of);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_key(w, "cached");
	jw_array(w);
	for (i = 0; i < f->nr_pages; i++) {
		if (!f->pages[i])
			continue;
		jw_object(w);
		jw_kulong(w, "index", i);
		jw_kulong(w, "pfn", f->pages[i]->pfn);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_object_end(w);
}

static const struct flag_name folio_flag_names[] = {
	{ PG_anon_exclusive, "anon_exclusive" }, { PG_dirty, "dirty" },
	{ PG_referenced, "referenced" }, { PG_swapbacked, "swapbacked" },
	{ PG_swapcache, "swapcache" },
};

static void write_folio(struct jw *w, const struct folio *f)
{
	jw_object(w);
	jw_kulong(w, "pfn", f->pfn);
	jw_kbool(w, "anon", folio_test_anon(f));
	jw_key(w, "mapping");
	jw_object(w);
	if (folio_test_anon(f)) {
		jw_kstring(w, "kind", "anon_vma");
		jw_kulong(w, "id", f->anon_vma_id);
	} else if (f->mapping) {
		jw_kstring(w, "kind", "file");
		jw_kulong(w, "id", f->mapping->id);
	} else {
		jw_kstring(w, "kind", "none");
	}
	jw_object_end(w);
	jw_kulong(w, "index", f->index);
	jw_klong(w, "mapcount", f->mapcount);
	jw_klong(w, "refcount", folio_ref_count(f));
	FLAG_NAMES(w, "flags", f->flags, folio_flag_names);
	jw_object_end(w);
}

static void write_counts(struct jw *w, const struct sim *sim)
{
	jw_key(w, "counts");
	jw_object(w);
	jw_kulong(w, "processes", sim->nr_mms);
	jw_kulong(w, "vmas", sim->nr_vmas);
	jw_kulong(w, "anon_vmas", sim->nr_anon_vmas);
	jw_kulong(w, "avcs", sim->nr_avcs);
	jw_kulong(w, "files", sim->nr_files);
	jw_kulong(w, "frames", sim->nr_frames);
	jw_object_end(w);
}

static void write_swap(struct jw *w, const struct sim *sim)
{
	struct rb_node *rb;

	jw_key(w, "swap");
	jw_array(w);
	for (rb = rb_first(&sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);

		jw_object(w);
		jw_kulong(w, "slot", s->id);
		jw_klong(w, "count", s->count);
		if (s->cache_pfn)
			jw_kulong(w, "cache_pfn", s->cache_pfn);
		jw_object_end(w);
	}
	jw_array_end(w);
}

void api_write_state_fields(struct jw *w, const struct sim *sim, bool summary)
{
	const struct mm_struct *mm;
	const struct anon_vma *av;
	const struct address_space *f;
	const struct folio *folio;

	jw_kulong(w, "version", sim->nr_ops);
	jw_key(w, "config");
	api_write_config(w, &sim->cfg, true);
	write_counts(w, sim);
	if (summary)
		return;
	jw_kulong(w, "zero_pfn", sim->zero_folio.pfn);
	jw_key(w, "processes");
	jw_array(w);
	list_for_each_entry(mm, &sim->mms, node)
		write_process(w, mm);
	jw_array_end(w);
	jw_key(w, "anon_vmas");
	jw_array(w);
	list_for_each_entry(av, &sim->anon_vmas, node)
		write_anon_vma(w, sim, av);
	jw_array_end(w);
	jw_key(w, "files");
	jw_array(w);
	list_for_each_entry(f, &sim->files, node)
		write_file(w, f);
	jw_array_end(w);
	jw_key(w, "frames");
	jw_array(w);
	for (folio = folio_first(sim); folio; folio = folio_next(sim, folio))
		write_folio(w, folio);
	jw_array_end(w);
	write_swap(w, sim);
}

void api_write_check(struct jw *w, const struct sim_check_report *report)
{
	size_t i;

	jw_object(w);
	jw_kbool(w, "ok", report->nr == 0);
	jw_key(w, "violations");
	jw_array(w);
	for (i = 0; i < report->nr; i++) {
		jw_object(w);
		jw_kstring(w, "what", report->v[i].what);
		jw_kstring(w, "detail", report->v[i].detail);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_kulong(w, "dropped", report->dropped);
	jw_object_end(w);
}
