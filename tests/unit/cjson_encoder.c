// SPDX-License-Identifier: MIT
/*
 * cjson_encoder.c - the encoders api/encode.c had before the streaming
 * writer (jw.h): cJSON trees printed unformatted.  Kept only here, included
 * by test_json.c, which holds the writer to their bytes.  Not built alone.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"

static cJSON *cj_addr(unsigned long addr)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%lx", addr);
	return cJSON_CreateString(buf);
}

static void add_addr(cJSON *obj, const char *name, unsigned long addr)
{
	cJSON_AddItemToObject(obj, name, cj_addr(addr));
}

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

static void add_flag_names(cJSON *obj, unsigned int flags, bool mremap)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "flags");

	if (mremap) {
		if (flags & MREMAP_MAYMOVE)
			cJSON_AddItemToArray(arr, cJSON_CreateString("maymove"));
		if (flags & MREMAP_FIXED)
			cJSON_AddItemToArray(arr, cJSON_CreateString("fixed"));
		if (flags & MREMAP_DONTUNMAP)
			cJSON_AddItemToArray(arr, cJSON_CreateString("dontunmap"));
		return;
	}
	if (flags & MAP_PRIVATE)
		cJSON_AddItemToArray(arr, cJSON_CreateString("private"));
	if (flags & MAP_SHARED)
		cJSON_AddItemToArray(arr, cJSON_CreateString("shared"));
	if (flags & MAP_ANONYMOUS)
		cJSON_AddItemToArray(arr, cJSON_CreateString("anonymous"));
	if (flags & MAP_FIXED)
		cJSON_AddItemToArray(arr, cJSON_CreateString("fixed"));
	if (flags & MAP_FIXED_NOREPLACE)
		cJSON_AddItemToArray(arr, cJSON_CreateString("fixed_noreplace"));
	if (flags & MAP_NORESERVE)
		cJSON_AddItemToArray(arr, cJSON_CreateString("noreserve"));
}

/* The canonical form: exactly the fields the op takes, addresses in hex. */
static cJSON *cj_encode_op(const struct sim_op *op)
{
	cJSON *o = cJSON_CreateObject();
	char prot[4];

	cJSON_AddStringToObject(o, "op", sim_op_name(op->kind));
	switch (op->kind) {
	case OP_SPAWN:
		if (op->layout == SPAWN_PROCESS)
			cJSON_AddStringToObject(o, "layout", "process");
		break;
	case OP_FILE:
		cJSON_AddStringToObject(o, "name", op->name);
		cJSON_AddNumberToObject(o, "pages", (double)op->pages);
		break;
	case OP_MMAP:
		cJSON_AddNumberToObject(o, "pid", op->pid);
		if (op->has_addr)
			add_addr(o, "addr", op->addr);
		cJSON_AddNumberToObject(o, "len", (double)op->len);
		cJSON_AddStringToObject(o, "prot", prot_bits_string(op->prot, prot));
		add_flag_names(o, op->flags, false);
		if (!(op->flags & MAP_ANONYMOUS)) {
			cJSON_AddStringToObject(o, "file", op->name);
			cJSON_AddNumberToObject(o, "offset", (double)op->offset);
		}
		break;
	case OP_MUNMAP:
	case OP_MPROTECT:
	case OP_MADVISE:
		cJSON_AddNumberToObject(o, "pid", op->pid);
		add_addr(o, "addr", op->addr);
		cJSON_AddNumberToObject(o, "len", (double)op->len);
		if (op->kind == OP_MPROTECT)
			cJSON_AddStringToObject(o, "prot",
						prot_bits_string(op->prot, prot));
		if (op->kind == OP_MADVISE)
			cJSON_AddStringToObject(o, "advice",
						sim_advice_name(op->advice));
		break;
	case OP_MREMAP:
		cJSON_AddNumberToObject(o, "pid", op->pid);
		add_addr(o, "addr", op->addr);
		cJSON_AddNumberToObject(o, "old_len", (double)op->old_len);
		cJSON_AddNumberToObject(o, "new_len", (double)op->new_len);
		add_flag_names(o, op->flags, true);
		if (op->flags & MREMAP_FIXED)
			add_addr(o, "new_addr", op->new_addr);
		break;
	case OP_BRK:
	case OP_ACCESS:
		cJSON_AddNumberToObject(o, "pid", op->pid);
		add_addr(o, "addr", op->addr);
		if (op->kind == OP_ACCESS)
			cJSON_AddBoolToObject(o, "write", op->write);
		break;
	case OP_FORK:
	case OP_EXIT:
		cJSON_AddNumberToObject(o, "pid", op->pid);
		break;
	case OP_TRY_TO_UNMAP:
	case OP_FOLIO_REFERENCED:
		cJSON_AddNumberToObject(o, "pfn", (double)op->pfn);
		break;
	default:
		break;
	}
	return o;
}

static cJSON *cj_encode_events(const struct sim_event *ev, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "fn", ev[i].fn);
		if (ev[i].omitted) {
			/* a summary: the events before it show the first calls */
			cJSON_AddNumberToObject(e, "count", (double)ev[i].count);
			cJSON_AddNumberToObject(e, "omitted",
						(double)ev[i].omitted);
		}
		for (k = 0; k < ev[i].nargs; k++) {
			if (ev[i].arg[k].kind == ARG_ADDR)
				add_addr(e, ev[i].arg[k].key, ev[i].arg[k].val);
			else
				cJSON_AddNumberToObject(e, ev[i].arg[k].key,
							(double)ev[i].arg[k].val);
		}
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

static const char *const itree_step_name[] = {
	[ITREE_LEFT] = "left", [ITREE_RIGHT] = "right", [ITREE_MATCH] = "match",
	[ITREE_STOP] = "stop", [ITREE_PASS] = "pass",
};

static cJSON *cj_encode_walk(const struct rmap_walk_result *w)
{
	cJSON *o = cJSON_CreateObject(), *start, *pg, *visits, *probes;
	size_t i;

	cJSON_AddStringToObject(o, "kind", w->kind == WALK_ANON ? "anon" :
				w->kind == WALK_FILE ? "file" : "none");
	cJSON_AddNumberToObject(o, "pfn", (double)w->pfn);
	cJSON_AddNumberToObject(o, "index", (double)w->index);
	start = cJSON_AddObjectToObject(o, "start");
	cJSON_AddStringToObject(start, "kind", w->kind == WALK_ANON ?
				"anon_vma" : "file");
	cJSON_AddNumberToObject(start, "id", (double)w->start_id);
	cJSON_AddBoolToObject(o, "dangling", w->dangling);
	pg = cJSON_AddArrayToObject(o, "pgoff");
	cJSON_AddItemToArray(pg, cJSON_CreateNumber((double)w->pgoff_start));
	cJSON_AddItemToArray(pg, cJSON_CreateNumber((double)w->pgoff_last));
	cJSON_AddNumberToObject(o, "tree_probes", (double)w->tree_probes);
	cJSON_AddNumberToObject(o, "visited", (double)w->visited);
	cJSON_AddNumberToObject(o, "mapped", (double)w->mapped);
	visits = cJSON_AddArrayToObject(o, "visits");
	for (i = 0; i < w->nr_visits; i++) {
		const struct rmap_visit *v = &w->visits[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "vma", (double)v->vma_id);
		cJSON_AddNumberToObject(e, "pid", v->pid);
		if (w->kind == WALK_ANON) {
			cJSON_AddNumberToObject(e, "anon_vma",
						(double)v->anon_vma_id);
			cJSON_AddNumberToObject(e, "avc", (double)v->avc_id);
		}
		add_addr(e, "addr", v->address);
		cJSON_AddBoolToObject(e, "mapped", v->mapped);
		cJSON_AddBoolToObject(e, "young", v->young);
		cJSON_AddItemToArray(visits, e);
	}
	/* the interval-tree nodes the query examined, in order */
	probes = cJSON_AddArrayToObject(o, "probes");
	for (i = 0; i < w->nr_probes; i++) {
		const struct rmap_probe *p = &w->probes[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, w->kind == WALK_ANON ? "avc" : "vma",
					(double)p->id);
		if (w->kind == WALK_ANON)
			cJSON_AddNumberToObject(e, "vma", (double)p->vma_id);
		cJSON_AddNumberToObject(e, "start", (double)p->start);
		cJSON_AddNumberToObject(e, "last", (double)p->last);
		cJSON_AddNumberToObject(e, "subtree_last",
					(double)p->subtree_last);
		cJSON_AddStringToObject(e, "step", itree_step_name[p->step]);
		cJSON_AddItemToArray(probes, e);
	}
	return o;
}

/* The outcome, the value and the cost of an op: every form of its answer. */
static cJSON *encode_outcome(const struct sim_op *op,
			     const struct sim_result *res, bool with_op)
{
	cJSON *o = cJSON_CreateObject();

	if (with_op)
		cJSON_AddItemToObject(o, "op", cj_encode_op(op));
	cJSON_AddBoolToObject(o, "ok", res->err == 0);
	if (res->err) {
		cJSON_AddStringToObject(o, "error", sim_errno_name(res->err));
		cJSON_AddStringToObject(o, "reason", res->reason ? res->reason : "");
	} else {
		cJSON_AddNullToObject(o, "error");
	}
	if (res->fault)
		cJSON_AddStringToObject(o, "fault", res->fault);
	switch (op->kind) {
	case OP_SPAWN:
		cJSON_AddNumberToObject(o, "pid", (double)res->value);
		break;
	case OP_FORK:
		cJSON_AddNumberToObject(o, "child", (double)res->value);
		break;
	case OP_FILE:
		cJSON_AddNumberToObject(o, "file", (double)res->value);
		break;
	case OP_MMAP:
	case OP_MREMAP:
	case OP_BRK:
		if (!res->err || op->kind == OP_BRK)
			add_addr(o, "addr", res->value);
		break;
	case OP_FOLIO_REFERENCED:
		cJSON_AddNumberToObject(o, "referenced", res->referenced);
		break;
	default:
		break;
	}
	cJSON_AddNumberToObject(o, "cost", (double)res->cost);
	return o;
}

static cJSON *cj_encode_result(const struct sim_op *op, const struct sim_result *res)
{
	cJSON *o = encode_outcome(op, res, true);

	if (res->walk)
		cJSON_AddItemToObject(o, "walk", cj_encode_walk(res->walk));
	cJSON_AddItemToObject(o, "events",
			      cj_encode_events(res->events, res->nr_events));
	return o;
}

static cJSON *cj_encode_journal_result(const struct sim_op *op,
				 const struct sim_result *res)
{
	cJSON *o = encode_outcome(op, res, false);
	struct sim_trace t;
	size_t i;

	/* folded as a default answer folds them, whatever this one asked */
	sim_trace_init(&t, SIM_TRACE_REPEAT, 0);
	for (i = 0; i < res->nr_events; i++)
		sim_trace_add(&t, &res->events[i]);
	cJSON_AddItemToObject(o, "events", cj_encode_events(t.ev, t.nr));
	sim_trace_free(&t);
	return o;
}

static cJSON *cj_encode_config(const struct sim_config *cfg)
{
	cJSON *o = cJSON_CreateObject(), *l;

	cJSON_AddStringToObject(o, "mode", sim_mode_name(cfg->mode));
	cJSON_AddBoolToObject(o, "zero_page", !cfg->no_zero_page);
	cJSON_AddNumberToObject(o, "overcommit_memory", cfg->overcommit);
	l = cJSON_AddObjectToObject(o, "limits");
	cJSON_AddNumberToObject(l, "processes", (double)cfg->limits.max_procs);
	cJSON_AddNumberToObject(l, "vmas", (double)cfg->limits.max_vmas);
	cJSON_AddNumberToObject(l, "frames", (double)cfg->limits.max_frames);
	cJSON_AddNumberToObject(l, "files", (double)cfg->limits.max_files);
	cJSON_AddNumberToObject(l, "file_pages",
				(double)cfg->limits.max_file_pages);
	cJSON_AddNumberToObject(l, "ptes", (double)cfg->limits.max_ptes);
	return o;
}

static cJSON *encode_vma(const struct vm_area_struct *vma)
{
	cJSON *o = cJSON_CreateObject(), *flags, *chain;
	const struct anon_vma_chain *avc;
	char prot[4];

	cJSON_AddNumberToObject(o, "id", (double)vma->id);
	add_addr(o, "start", vma->vm_start);
	add_addr(o, "end", vma->vm_end);
	cJSON_AddNumberToObject(o, "pgoff", (double)vma->vm_pgoff);
	cJSON_AddNumberToObject(o, "pages",
				(double)((vma->vm_end - vma->vm_start) >> PAGE_SHIFT));
	cJSON_AddStringToObject(o, "prot", prot_string(vma->vm_flags, prot));
	flags = cJSON_AddArrayToObject(o, "flags");
	if (vma->vm_flags & VM_SHARED)
		cJSON_AddItemToArray(flags, cJSON_CreateString("shared"));
	if (vma->vm_flags & VM_DONTCOPY)
		cJSON_AddItemToArray(flags, cJSON_CreateString("dontcopy"));
	if (vma->vm_flags & VM_WIPEONFORK)
		cJSON_AddItemToArray(flags, cJSON_CreateString("wipeonfork"));
	if (vma->vm_flags & VM_GROWSDOWN)
		cJSON_AddItemToArray(flags, cJSON_CreateString("growsdown"));
	if (vma->vm_flags & VM_ACCOUNT)
		cJSON_AddItemToArray(flags, cJSON_CreateString("account"));
	if (vma->vm_flags & VM_NORESERVE)
		cJSON_AddItemToArray(flags, cJSON_CreateString("noreserve"));
	if (vma->vm_file) {
		cJSON_AddNumberToObject(o, "file", (double)vma->vm_file->id);
		cJSON_AddStringToObject(o, "file_name", vma->vm_file->name);
		cJSON_AddBoolToObject(o, "shmem", vma->vm_file->shmem);
	} else {
		cJSON_AddNullToObject(o, "file");
	}
	if (vma->anon_vma)
		cJSON_AddNumberToObject(o, "anon_vma", (double)vma->anon_vma->id);
	else
		cJSON_AddNullToObject(o, "anon_vma");
	chain = cJSON_AddArrayToObject(o, "chain");
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		cJSON *a = cJSON_CreateObject();

		cJSON_AddNumberToObject(a, "avc", (double)avc->id);
		cJSON_AddNumberToObject(a, "anon_vma", (double)avc->anon_vma->id);
		cJSON_AddItemToArray(chain, a);
	}
	return o;
}

static cJSON *encode_pte(const struct sim *sim, const struct pte *pte,
			 unsigned long vpn)
{
	cJSON *o = cJSON_CreateObject();

	add_addr(o, "addr", vpn << PAGE_SHIFT);
	cJSON_AddBoolToObject(o, "present", pte->present);
	if (pte->present) {
		cJSON_AddNumberToObject(o, "pfn", (double)pte_pfn(pte));
		cJSON_AddBoolToObject(o, "write", pte->write);
		cJSON_AddBoolToObject(o, "dirty", pte->dirty);
		cJSON_AddBoolToObject(o, "young", pte->young);
		cJSON_AddBoolToObject(o, "zero", pte->special);
	} else {
		cJSON_AddNumberToObject(o, "swap", (double)pte_swap(pte));
		cJSON_AddBoolToObject(o, "exclusive", pte->swp_exclusive);
	}
	(void)sim;
	return o;
}

static cJSON *encode_process(const struct sim *sim, const struct mm_struct *mm)
{
	cJSON *o = cJSON_CreateObject(), *rss, *vmas, *ptes;
	const struct vm_area_struct *vma;
	const struct pte *pte;
	struct pte_iter it;

	cJSON_AddNumberToObject(o, "pid", mm->pid);
	cJSON_AddNumberToObject(o, "ppid", mm->ppid);
	rss = cJSON_AddObjectToObject(o, "rss");
	cJSON_AddNumberToObject(rss, "anon", (double)mm->rss_anon);
	cJSON_AddNumberToObject(rss, "file", (double)mm->rss_file);
	cJSON_AddNumberToObject(rss, "shmem", (double)mm->rss_shmem);
	cJSON_AddNumberToObject(rss, "swap", (double)mm->swapents);
	add_addr(o, "start_brk", mm->start_brk);
	add_addr(o, "brk", mm->brk);
	vmas = cJSON_AddArrayToObject(o, "vmas");
	for (vma = vma_first(mm); vma; vma = vma_next(vma))
		cJSON_AddItemToArray(vmas, encode_vma(vma));
	ptes = cJSON_AddArrayToObject(o, "ptes");
	for (pte = pte_iter_start(mm, 0, &it); pte; pte = pte_iter_next(&it))
		cJSON_AddItemToArray(ptes, encode_pte(sim, pte, it.vpn));
	return o;
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
 * subtree's largest last, its colour, and its parent (by the id id_of gives
 * it, null at the root) with the side it hangs on.
 */
static void add_tree_place(cJSON *o, const struct itree_node *n,
			   unsigned long (*id_of)(const struct itree_node *))
{
	const struct rb_node *parent = n->rb.parent;

	cJSON_AddNumberToObject(o, "subtree_last", (double)n->subtree_last);
	cJSON_AddStringToObject(o, "color", n->rb.red ? "red" : "black");
	if (!parent) {
		cJSON_AddNullToObject(o, "tree_parent");
		cJSON_AddNullToObject(o, "side");
		return;
	}
	cJSON_AddNumberToObject(o, "tree_parent", (double)id_of(
		container_of(parent, struct itree_node, rb)));
	cJSON_AddStringToObject(o, "side", parent->left == &n->rb ?
				"left" : "right");
}

static cJSON *encode_anon_vma(const struct sim *sim, const struct anon_vma *av)
{
	cJSON *o = cJSON_CreateObject(), *avcs;
	const struct itree_node *n;

	cJSON_AddNumberToObject(o, "id", (double)av->id);
	cJSON_AddNumberToObject(o, "root", (double)av->root->id);
	cJSON_AddNumberToObject(o, "parent", (double)av->parent->id);
	cJSON_AddNumberToObject(o, "refcount", av->refcount);
	if (sim->cfg.mode == SIM_MODE_LEGACY) {
		cJSON_AddNumberToObject(o, "degree", av->degree);
	} else {
		cJSON_AddNumberToObject(o, "num_children", av->num_children);
		cJSON_AddNumberToObject(o, "num_active_vmas",
					av->num_active_vmas);
	}
	avcs = cJSON_AddArrayToObject(o, "avcs");
	for (n = itree_first(&av->rb_root); n; n = itree_next(n)) {
		const struct anon_vma_chain *avc =
			container_of(n, struct anon_vma_chain, rb);
		cJSON *a = cJSON_CreateObject();

		cJSON_AddNumberToObject(a, "id", (double)avc->id);
		cJSON_AddNumberToObject(a, "vma", (double)avc->vma->id);
		cJSON_AddNumberToObject(a, "pid", avc->vma->vm_mm->pid);
		cJSON_AddNumberToObject(a, "pgoff_start", (double)n->start);
		cJSON_AddNumberToObject(a, "pgoff_last", (double)n->last);
		add_tree_place(a, n, avc_id_of);
		cJSON_AddItemToArray(avcs, a);
	}
	return o;
}

static cJSON *encode_file(const struct address_space *f)
{
	cJSON *o = cJSON_CreateObject(), *imm, *cached;
	const struct itree_node *n;
	unsigned long i;

	cJSON_AddNumberToObject(o, "id", (double)f->id);
	cJSON_AddStringToObject(o, "name", f->name);
	cJSON_AddNumberToObject(o, "pages", (double)f->nr_pages);
	cJSON_AddBoolToObject(o, "shmem", f->shmem);
	imm = cJSON_AddArrayToObject(o, "i_mmap");
	for (n = itree_first(&f->i_mmap); n; n = itree_next(n)) {
		const struct vm_area_struct *vma =
			container_of(n, struct vm_area_struct, shared);
		cJSON *v = cJSON_CreateObject();

		cJSON_AddNumberToObject(v, "vma", (double)vma->id);
		cJSON_AddNumberToObject(v, "pid", vma->vm_mm->pid);
		cJSON_AddNumberToObject(v, "pgoff_start", (double)n->start);
		cJSON_AddNumberToObject(v, "pgoff_last", (double)n->last);
		add_tree_place(v, n, vma_id_of);
		cJSON_AddItemToArray(imm, v);
	}
	cached = cJSON_AddArrayToObject(o, "cached");
	for (i = 0; i < f->nr_pages; i++) {
		cJSON *c;

		if (!f->pages[i])
			continue;
		c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "index", (double)i);
		cJSON_AddNumberToObject(c, "pfn", (double)f->pages[i]->pfn);
		cJSON_AddItemToArray(cached, c);
	}
	return o;
}

static cJSON *encode_folio(const struct folio *f)
{
	cJSON *o = cJSON_CreateObject(), *m, *flags;
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ PG_anon_exclusive, "anon_exclusive" }, { PG_dirty, "dirty" },
		{ PG_referenced, "referenced" }, { PG_swapbacked, "swapbacked" },
		{ PG_swapcache, "swapcache" },
	};
	size_t i;

	cJSON_AddNumberToObject(o, "pfn", (double)f->pfn);
	cJSON_AddBoolToObject(o, "anon", folio_test_anon(f));
	m = cJSON_AddObjectToObject(o, "mapping");
	if (folio_test_anon(f)) {
		cJSON_AddStringToObject(m, "kind", "anon_vma");
		cJSON_AddNumberToObject(m, "id", (double)f->anon_vma_id);
	} else if (f->mapping) {
		cJSON_AddStringToObject(m, "kind", "file");
		cJSON_AddNumberToObject(m, "id", (double)f->mapping->id);
	} else {
		cJSON_AddStringToObject(m, "kind", "none");
	}
	cJSON_AddNumberToObject(o, "index", (double)f->index);
	cJSON_AddNumberToObject(o, "mapcount", f->mapcount);
	cJSON_AddNumberToObject(o, "refcount", folio_ref_count(f));
	flags = cJSON_AddArrayToObject(o, "flags");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f->flags & names[i].bit)
			cJSON_AddItemToArray(flags,
					     cJSON_CreateString(names[i].name));
	return o;
}

static void add_counts(cJSON *o, const struct sim *sim)
{
	cJSON *c = cJSON_AddObjectToObject(o, "counts");

	cJSON_AddNumberToObject(c, "processes", (double)sim->nr_mms);
	cJSON_AddNumberToObject(c, "vmas", (double)sim->nr_vmas);
	cJSON_AddNumberToObject(c, "anon_vmas", (double)sim->nr_anon_vmas);
	cJSON_AddNumberToObject(c, "avcs", (double)sim->nr_avcs);
	cJSON_AddNumberToObject(c, "files", (double)sim->nr_files);
	cJSON_AddNumberToObject(c, "frames", (double)sim->nr_frames);
}

static cJSON *cj_encode_state(const struct sim *sim, bool summary)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct mm_struct *mm;
	const struct anon_vma *av;
	const struct address_space *f;
	const struct folio *folio;
	struct rb_node *rb;

	cJSON_AddNumberToObject(o, "version", (double)sim->nr_ops);
	cJSON_AddItemToObject(o, "config", cj_encode_config(&sim->cfg));
	add_counts(o, sim);
	if (summary)
		return o;
	cJSON_AddNumberToObject(o, "zero_pfn", (double)sim->zero_folio.pfn);
	arr = cJSON_AddArrayToObject(o, "processes");
	list_for_each_entry(mm, &sim->mms, node)
		cJSON_AddItemToArray(arr, encode_process(sim, mm));
	arr = cJSON_AddArrayToObject(o, "anon_vmas");
	list_for_each_entry(av, &sim->anon_vmas, node)
		cJSON_AddItemToArray(arr, encode_anon_vma(sim, av));
	arr = cJSON_AddArrayToObject(o, "files");
	list_for_each_entry(f, &sim->files, node)
		cJSON_AddItemToArray(arr, encode_file(f));
	arr = cJSON_AddArrayToObject(o, "frames");
	for (folio = folio_first(sim); folio; folio = folio_next(sim, folio))
		cJSON_AddItemToArray(arr, encode_folio(folio));
	arr = cJSON_AddArrayToObject(o, "swap");
	for (rb = rb_first(&sim->swap); rb; rb = rb_next(rb)) {
		const struct swap_slot *s = rb_entry(rb, struct swap_slot, node);
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "slot", (double)s->id);
		cJSON_AddNumberToObject(e, "count", s->count);
		if (s->cache_pfn)
			cJSON_AddNumberToObject(e, "cache_pfn",
						(double)s->cache_pfn);
		cJSON_AddItemToArray(arr, e);
	}
	return o;
}

static cJSON *cj_encode_check(const struct sim_check_report *report)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddBoolToObject(o, "ok", report->nr == 0);
	arr = cJSON_AddArrayToObject(o, "violations");
	for (i = 0; i < report->nr; i++) {
		cJSON *v = cJSON_CreateObject();

		cJSON_AddStringToObject(v, "what", report->v[i].what);
		cJSON_AddStringToObject(v, "detail", report->v[i].detail);
		cJSON_AddItemToArray(arr, v);
	}
	cJSON_AddNumberToObject(o, "dropped", (double)report->dropped);
	return o;
}
