// SPDX-License-Identifier: MIT
/*
 * dot.c - the session as a Graphviz digraph: processes as clusters of
 * VMAs, the anon_vma forest (parent edges dashed), anon_vma_chain edges
 * from VMAs to anon_vmas, each VMA's own ->anon_vma bold, files with their
 * i_mmap edges, and frames pointing at their page->mapping.
 */
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "strbuf.h"

static void dot_processes(struct strbuf *o, const struct sim *sim)
{
	const struct mm_struct *mm;
	const struct vm_area_struct *vma;
	const struct anon_vma_chain *avc;

	list_for_each_entry(mm, &sim->mms, node) {
		strbuf_printf(o, "  subgraph cluster_pid%d {\n    label=\"pid %d\";\n",
		    mm->pid, mm->pid);
		for (vma = vma_first(mm); vma; vma = vma_next(vma))
			strbuf_printf(o, "    vma%lu [shape=box,label=\"vma #%lu\\n0x%lx-0x%lx"
			    "\\npgoff %lu\"];\n", vma->id, vma->id, vma->vm_start,
			    vma->vm_end, vma->vm_pgoff);
		strbuf_printf(o, "  }\n");
		for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
			list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
				strbuf_printf(o, "  vma%lu -> av%lu [color=gray,label=\"avc "
				    "%lu\"];\n", vma->id, avc->anon_vma->id,
				    avc->id);
			if (vma->anon_vma)
				strbuf_printf(o, "  vma%lu -> av%lu [style=bold,label=\""
				    "anon_vma\"];\n", vma->id, vma->anon_vma->id);
		}
	}
}

char *api_graph_dot(const struct sim *sim)
{
	struct strbuf o;
	const struct anon_vma *av;
	const struct address_space *f;
	const struct folio *folio;
	const struct itree_node *n;

	strbuf_init(&o, 1024);
	strbuf_printf(&o, "digraph rmapd {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
	dot_processes(&o, sim);
	list_for_each_entry(av, &sim->anon_vmas, node) {
		strbuf_printf(&o, "  av%lu [shape=ellipse,label=\"anon_vma #%lu\\nref %d",
		    av->id, av->id, av->refcount);
		if (sim->cfg.mode == SIM_MODE_LEGACY)
			strbuf_printf(&o, " degree %d\"];\n", av->degree);
		else
			strbuf_printf(&o, " children %d active %d\"];\n", av->num_children,
			    av->num_active_vmas);
		if (av->parent != av)
			strbuf_printf(&o, "  av%lu -> av%lu [style=dashed,label=\"parent\"];\n",
			    av->id, av->parent->id);
	}
	list_for_each_entry(f, &sim->files, node) {
		strbuf_printf(&o, "  file%lu [shape=folder,label=\"%s\"];\n", f->id, f->name);
		for (n = itree_first(&f->i_mmap); n; n = itree_next(n))
			strbuf_printf(&o, "  file%lu -> vma%lu [color=blue,label=\"i_mmap\"];\n",
			    f->id, container_of(n, struct vm_area_struct,
						shared)->id);
	}
	for (folio = folio_first(sim); folio; folio = folio_next(sim, folio)) {
		strbuf_printf(&o, "  pfn%lu [shape=note,label=\"pfn %lu\\nindex %lu map %d\"];\n",
		    folio->pfn, folio->pfn, (unsigned long)folio->index,
		    folio->mapcount);
		if (folio_test_anon(folio))
			strbuf_printf(&o, "  pfn%lu -> av%lu [label=\"mapping\"];\n",
			    folio->pfn, folio->anon_vma_id);
		else if (folio->mapping)
			strbuf_printf(&o, "  pfn%lu -> file%lu [label=\"mapping\"];\n",
			    folio->pfn, folio->mapping->id);
	}
	strbuf_printf(&o, "}\n");
	return o.p;
}
