// SPDX-License-Identifier: MIT
/*
 * observe.c - what the fidelity suite compares with the real kernel: per
 * process, the VMAs inside the reserved window (with the smaps VmFlags
 * ac, dc, nr, wf) and, per page, whether it is
 * present or swapped, its frame as a canonical class (pages sharing a frame
 * share a class, whatever the pfn numbers), the mapcount, and whether it is
 * mapped exclusively (mapcount 1, what /proc/PID/pagemap bit 56 reports).
 */
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"

#define WIN_START	0x200000000000UL
#define WIN_END		0x200040000000UL

struct classes {
	unsigned long *pfn;
	size_t n, cap;
};

/* F0, F1, ... in order of first appearance; the zero page is Z. */
static void frame_class(struct classes *c, const struct sim *sim,
			unsigned long pfn, char *buf, size_t len)
{
	size_t i;

	if (pfn == sim->zero_folio.pfn) {
		snprintf(buf, len, "Z");
		return;
	}
	for (i = 0; i < c->n; i++)
		if (c->pfn[i] == pfn)
			break;
	if (i == c->n) {
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->pfn = realloc(c->pfn, c->cap * sizeof(*c->pfn));
			if (!c->pfn)
				abort();
		}
		c->pfn[c->n++] = pfn;
	}
	snprintf(buf, len, "F%zu", i);
}

static cJSON *offset(unsigned long addr)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "+0x%lx", addr - WIN_START);
	return cJSON_CreateString(buf);
}

static cJSON *observe_page(const struct sim *sim, struct mm_struct *mm,
			   unsigned long addr, struct classes *c)
{
	cJSON *p = cJSON_CreateObject();
	const struct pte *pte = pte_lookup(mm, addr >> PAGE_SHIFT);
	const struct folio *folio;
	char cls[24];

	cJSON_AddItemToObject(p, "addr", offset(addr));
	cJSON_AddBoolToObject(p, "present", pte && pte->present);
	cJSON_AddBoolToObject(p, "swapped", pte && pte_swap(pte));
	if (!pte || !pte->present)
		return p;
	frame_class(c, sim, pte_pfn(pte), cls, sizeof(cls));
	cJSON_AddStringToObject(p, "frame", cls);
	folio = pte->special ? NULL : sim_find_folio(sim, pte_pfn(pte));
	cJSON_AddNumberToObject(p, "mapcount", folio ? folio->mapcount : 0);
	cJSON_AddBoolToObject(p, "exclusive", folio && folio->mapcount == 1);
	cJSON_AddBoolToObject(p, "anon", folio && folio_test_anon(folio));
	return p;
}

/*
 * The VmFlags of /proc/PID/smaps that rmapd models and the kernel shows,
 * spelled and sorted as the runner reports them.
 */
static cJSON *smaps_flags(unsigned long vm_flags)
{
	static const struct { unsigned long bit; const char *name; } f[] = {
		{ VM_ACCOUNT, "ac" }, { VM_DONTCOPY, "dc" },
		{ VM_NORESERVE, "nr" }, { VM_WIPEONFORK, "wf" },
	};
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!(vm_flags & f[i].bit))
			continue;
		cJSON_AddItemToArray(arr, cJSON_CreateString(f[i].name));
	}
	return arr;
}

cJSON *api_observe(const struct sim *sim, long after)
{
	cJSON *o = cJSON_CreateObject(), *procs;
	struct classes c = { 0 };
	struct mm_struct *mm;

	cJSON_AddNumberToObject(o, "after", (double)after);
	procs = cJSON_AddArrayToObject(o, "processes");
	list_for_each_entry(mm, &sim->mms, node) {
		cJSON *p = cJSON_CreateObject(), *vmas, *pages;
		struct vm_area_struct *vma;

		cJSON_AddNumberToObject(p, "pid", mm->pid);
		vmas = cJSON_AddArrayToObject(p, "vmas");
		pages = cJSON_AddArrayToObject(p, "pages");
		for (vma = vma_first(mm); vma; vma = vma_next(vma)) {
			unsigned long start = vma->vm_start, end = vma->vm_end;
			unsigned long a;
			cJSON *v;
			char prot[4];

			if (end <= WIN_START || start >= WIN_END)
				continue;
			start = start < WIN_START ? WIN_START : start;
			end = end > WIN_END ? WIN_END : end;
			v = cJSON_CreateObject();
			cJSON_AddItemToObject(v, "start", offset(start));
			cJSON_AddItemToObject(v, "end", offset(end));
			prot[0] = vma->vm_flags & VM_READ ? 'r' : '-';
			prot[1] = vma->vm_flags & VM_WRITE ? 'w' : '-';
			prot[2] = vma->vm_flags & VM_EXEC ? 'x' : '-';
			prot[3] = '\0';
			cJSON_AddStringToObject(v, "prot", prot);
			cJSON_AddBoolToObject(v, "shared",
					      (vma->vm_flags & VM_SHARED) != 0);
			cJSON_AddItemToObject(v, "flags",
					      smaps_flags(vma->vm_flags));
			if (vma->vm_file && !vma->vm_file->shmem)
				cJSON_AddStringToObject(v, "file",
							vma->vm_file->name);
			else
				cJSON_AddNullToObject(v, "file");
			cJSON_AddItemToArray(vmas, v);
			for (a = start; a < end; a += PAGE_SIZE)
				cJSON_AddItemToArray(pages,
						     observe_page(sim, mm, a, &c));
		}
		cJSON_AddItemToArray(procs, p);
	}
	free(c.pfn);
	return o;
}
