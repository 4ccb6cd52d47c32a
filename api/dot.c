// SPDX-License-Identifier: MIT
/*
 * dot.c - the session as a Graphviz digraph: processes as clusters of
 * VMAs, the anon_vma forest (parent edges dashed), anon_vma_chain edges
 * from VMAs to anon_vmas, each VMA's own ->anon_vma bold, files with their
 * i_mmap edges, and frames pointing at their page->mapping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len)
			break;
		o->cap = o->cap * 2 + (size_t)n + 256;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			abort();
	}
	o->len += (size_t)n;
}

static void dot_processes(struct out *o, const struct sim *sim)
{
	const struct mm_struct *mm;
	const struct vm_area_struct *vma;
	const struct anon_vma_chain *avc;

	list_for_each_entry(mm, &sim->mms, node) {
		put(o, "  subgraph cluster_pid%d {\n    label=\"pid %d\";\n",
		    mm->pid, mm->pid);
		for (vma = vma_first(mm); vma; vma = vma_next(vma))
			put(o, "    vma%lu [shape=box,label=\"vma #%lu\\n0x%lx-0x%lx"
			    "\\npgoff %lu\"];\n", vma->id, vma->id, vma->vm_start,
			    vma->vm_end, vma->vm_pgoff);
		put(o, "  }\n");
		for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
			list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
				put(o, "  vma%lu -> av%lu [color=gray,label=\"avc "
				    "%lu\"];\n", vma->id, avc->anon_vma->id,
				    avc->id);
			if (vma->anon_vma)
				put(o, "  vma%lu -> av%lu [style=bold,label=\""
				    "anon_vma\"];\n", vma->id, vma->anon_vma->id);
		}
	}
}

char *api_graph_dot(const struct sim *sim)
{
	struct out o = { malloc(1024), 0, 1024 };
	const struct anon_vma *av;
	const struct address_space *f;
	const struct folio *folio;
	const struct itree_node *n;

	if (!o.p)
		abort();
	put(&o, "digraph rmapd {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
	dot_processes(&o, sim);
	list_for_each_entry(av, &sim->anon_vmas, node) {
		put(&o, "  av%lu [shape=ellipse,label=\"anon_vma #%lu\\nref %d",
		    av->id, av->id, av->refcount);
		if (sim->cfg.mode == SIM_MODE_LEGACY)
			put(&o, " degree %d\"];\n", av->degree);
		else
			put(&o, " children %d active %d\"];\n", av->num_children,
			    av->num_active_vmas);
		if (av->parent != av)
			put(&o, "  av%lu -> av%lu [style=dashed,label=\"parent\"];\n",
			    av->id, av->parent->id);
	}
	list_for_each_entry(f, &sim->files, node) {
		put(&o, "  file%lu [shape=folder,label=\"%s\"];\n", f->id, f->name);
		for (n = itree_first(&f->i_mmap); n; n = itree_next(n))
			put(&o, "  file%lu -> vma%lu [color=blue,label=\"i_mmap\"];\n",
			    f->id, container_of(n, struct vm_area_struct,
						shared)->id);
	}
	for (folio = folio_first(sim); folio; folio = folio_next(folio)) {
		put(&o, "  pfn%lu [shape=note,label=\"pfn %lu\\nindex %lu map %d\"];\n",
		    folio->pfn, folio->pfn, folio->index, folio->mapcount);
		if (folio_test_anon(folio))
			put(&o, "  pfn%lu -> av%lu [label=\"mapping\"];\n",
			    folio->pfn, folio->anon_vma_id);
		else if (folio->mapping)
			put(&o, "  pfn%lu -> file%lu [label=\"mapping\"];\n",
			    folio->pfn, folio->mapping->id);
	}
	put(&o, "}\n");
	return o.p;
}
