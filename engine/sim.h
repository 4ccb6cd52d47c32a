/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the simulated machine: every object a session holds, and the
 * engine's public entry points.
 *
 * The structures carry the kernel's names (mm_struct, vm_area_struct,
 * anon_vma, anon_vma_chain, address_space, folio) and the fields the reverse
 * map needs, so a reader can hold this file next to include/linux/mm_types.h
 * and include/linux/rmap.h.  The engine is a pure state machine: no I/O, no
 * clock, no randomness; ids are handed out by per-kind counters, so the same
 * operations always give the same state.
 *
 * Readers outside the engine (the JSON encoders, the checker's report) may
 * walk these structures but never modify them: every change goes through
 * sim_apply().
 */
#ifndef RMAPD_SIM_H
#define RMAPD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interval_tree.h"
#include "list.h"
#include "radix.h"
#include "rbtree.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGNED(x)	(((x) & (PAGE_SIZE - 1)) == 0)
#define PTE_TABLE_SHIFT	9		/* PTRS_PER_PTE = 512: 2 MiB a table */

/* x86_64 with 4-level paging: the top of the user address space. */
#define TASK_SIZE	0x7ffffffff000UL
/* Where top-down placement starts (below a 8 MiB stack gap + guard). */
#define SIM_MMAP_BASE	0x7f0000000000UL
#define SIM_STACK_TOP	0x7ffffffde000UL
#define SIM_TEXT_START	0x400000UL
/* the file the process layout maps its text and data from */
#define SIM_PROG_NAME	"prog"

/* vm_flags, with the kernel's bit values */
#define VM_NONE		0x00000000UL
#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_GROWSDOWN	0x00000100UL
#define VM_DONTCOPY	0x00020000UL
#define VM_ACCOUNT	0x00100000UL
#define VM_NORESERVE	0x00200000UL
#define VM_WIPEONFORK	0x02000000UL

/* mmap(2) / mprotect(2) / mremap(2) argument bits */
#define PROT_READ	0x1
#define PROT_WRITE	0x2
#define PROT_EXEC	0x4
#define MAP_SHARED	0x01
#define MAP_PRIVATE	0x02
#define MAP_FIXED	0x10
#define MAP_ANONYMOUS	0x20
#define MAP_NORESERVE	0x4000
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE	1
#define MREMAP_FIXED	2
#define MREMAP_DONTUNMAP 4

enum sim_advice {
	SIM_MADV_DONTNEED = 4,
	SIM_MADV_DONTFORK = 10,
	SIM_MADV_DOFORK = 11,
	SIM_MADV_WIPEONFORK = 18,
	SIM_MADV_KEEPONFORK = 19,
	SIM_MADV_PAGEOUT = 21,
};

/* kernel errno values returned as outcomes */
#define SIM_EPERM	1
#define SIM_ENOENT	2
#define SIM_ENOMEM	12
#define SIM_EACCES	13
#define SIM_EFAULT	14
#define SIM_EEXIST	17
#define SIM_EINVAL	22
#define SIM_EAGAIN	11
/* fault outcomes share the err field, above any errno */
#define SIM_SIGBUS	1007
#define SIM_SIGSEGV	1011

enum sim_mode {
	SIM_MODE_NORMAL,	/* Linux 6.18.8+: num_children + num_active_vmas */
	SIM_MODE_LEGACY,	/* Linux 6.0: one "degree", 6.0's merges */
};

/* the largest limits a session may have: what a snapshot may hold */
#define SIM_CAP_PROCS		65536UL
#define SIM_CAP_VMAS		(1UL << 22)
#define SIM_CAP_FRAMES		(1UL << 22)
#define SIM_CAP_FILES		65536UL
#define SIM_CAP_FILE_PAGES	(1UL << 20)
#define SIM_CAP_PTES		(1UL << 22)

struct sim_limits {
	unsigned long max_procs;
	unsigned long max_vmas;		/* in the whole session */
	unsigned long max_frames;	/* live frames, zero page excluded */
	unsigned long max_files;
	unsigned long max_file_pages;	/* size of one file */
	unsigned long max_ptes;		/* page-table entries, all processes */
};

/* vm.overcommit_memory: only OVERCOMMIT_NEVER ignores MAP_NORESERVE */
enum sim_overcommit {
	SIM_OVERCOMMIT_GUESS = 0,	/* the default, and the reference machine's */
	SIM_OVERCOMMIT_ALWAYS = 1,
	SIM_OVERCOMMIT_NEVER = 2,
};

struct sim_config {
	enum sim_mode mode;
	/* mm_forbids_zeropage(): anonymous read faults allocate a page */
	bool no_zero_page;
	enum sim_overcommit overcommit;
	struct sim_limits limits;
};

struct anon_vma {
	unsigned long id;
	struct anon_vma *root;
	struct anon_vma *parent;
	int refcount;
	int num_children;	/* child anon_vmas, +1 self link on a root */
	int num_active_vmas;	/* VMAs whose ->anon_vma is this one */
	int degree;		/* children + VMAs: legacy mode's reuse test */
	struct itree_root rb_root;	/* anon_vma_chains, by VMA pgoff range */
	struct list_head node;		/* sim->anon_vmas, by id */
};

struct anon_vma_chain {
	unsigned long id;
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;	/* vma->anon_vma_chain */
	struct itree_node rb;		/* anon_vma->rb_root */
};

struct address_space {
	unsigned long id;
	char name[64];
	unsigned long nr_pages;
	bool shmem;		/* backs a MAP_SHARED|MAP_ANONYMOUS mapping */
	int nr_mappers;		/* VMAs that map it (shmem dies with the last) */
	struct folio **pages;	/* the page cache: index -> folio or NULL */
	unsigned long *swap;	/* shmem: index -> swap slot of a page written
				 * out (shmem_writeout), 0 if none */
	struct itree_root i_mmap;	/* VMAs, by pgoff range */
	struct list_head node;		/* sim->files, by id */
};

enum folio_flag {
	PG_anon_exclusive = 1 << 0,
	PG_dirty	  = 1 << 1,
	PG_referenced	  = 1 << 2,
	PG_swapbacked	  = 1 << 3,
	PG_swapcache	  = 1 << 4,
	PG_zero		  = 1 << 5,
};

/*
 * One order-0 folio: the simulator's physical frame (struct page).  Folios
 * live in slabs and are found by pfn through a radix tree (frames.c), as
 * the kernel finds a struct page in mem_map: no per-frame node.  A session
 * holds one per frame, so the narrow fields share words (40 bytes, not
 * 48): an index is a page offset below 2^36 (a user address >> 12, or a
 * file page), a mapcount at most the session's PTEs (SIM_CAP_PTES), a
 * swap slot an id below 2^48; sim_load refuses more.
 */
#define FOLIO_INDEX_BITS	40
#define FOLIO_MAPCOUNT_BITS	24
#define FOLIO_SWAP_BITS		48
#define FOLIO_FLAGS_BITS	16
struct folio {
	unsigned long pfn;
	/*
	 * page->mapping.  An anonymous folio names its anon_vma by id with the
	 * PAGE_MAPPING_ANON bit set in the kernel; here anon_vma_id != 0 says
	 * "anon".  It is an id, not a pointer, because legacy mode can leave
	 * it dangling, and a walk must be able to say so without touching
	 * freed memory.
	 */
	unsigned long anon_vma_id;
	struct address_space *mapping;	/* file or shmem folio */
	union {
		struct {
			unsigned long index : FOLIO_INDEX_BITS;
			int mapcount : FOLIO_MAPCOUNT_BITS;
		};
		/* both as a word: fork adds FOLIO_MAPCOUNT_ONE to it */
		uint64_t index_mapcount;
	};
	unsigned long swap : FOLIO_SWAP_BITS;	/* slot while in the swap cache */
	unsigned int flags : FOLIO_FLAGS_BITS;
};
_Static_assert(SIM_CAP_PTES < 1UL << (FOLIO_MAPCOUNT_BITS - 1),
	       "a folio's mapcount holds every PTE a session may have");
/* the mapcount's unit in index_mapcount (test_engine checks that they agree) */
#define FOLIO_MAPCOUNT_ONE	(UINT64_C(1) << FOLIO_INDEX_BITS)

/*
 * A page-table entry in one word, as pte_t is: the pfn of a present PTE or
 * the swap slot of a swap PTE (pte_pfn, pte_swap), and the bits.  An entry
 * of all zeroes is pte_none.  PTEs sit in blocks of PTE_BLOCK entries, the
 * pieces of the 512-entry PTE tables that hold any PTE (pgtable.c); their
 * virtual page number is their place, as in the kernel.
 */
struct pte {
	union {
		uint64_t word;		/* all of it: 0 is pte_none */
		struct {
			unsigned int val_lo;	/* pte_pfn() or pte_swap() */
			/* ids stay below 2^48 (serialize.c) */
			unsigned int val_hi : 24;
			unsigned int present : 1;
			unsigned int write : 1;
			unsigned int dirty : 1;
			unsigned int young : 1;
			/* the zero page: no rmap, no mapcount */
			unsigned int special : 1;
			/* swap PTE of an AnonExclusive page */
			unsigned int swp_exclusive : 1;
		};
	};
};

/*
 * The same bits as masks of the word (test_engine checks that they
 * agree), for the paths that handle PTEs by the thousand: fork's copy
 * changes a few bits of each word, as the kernel's pte_wrprotect and
 * pte_mkold do, instead of one bit-field at a time.
 */
#define PTE_VAL_MASK		((UINT64_C(1) << 56) - 1)
#define PTE_PRESENT		(UINT64_C(1) << 56)
#define PTE_WRITE		(UINT64_C(1) << 57)
#define PTE_DIRTY		(UINT64_C(1) << 58)
#define PTE_YOUNG		(UINT64_C(1) << 59)
#define PTE_SPECIAL		(UINT64_C(1) << 60)
#define PTE_SWP_EXCLUSIVE	(UINT64_C(1) << 61)

static inline unsigned long pte_val(const struct pte *pte)
{
	return (unsigned long)(pte->word & PTE_VAL_MASK);
}

static inline void pte_set_val(struct pte *pte, unsigned long val)
{
	pte->val_lo = (unsigned int)val;
	pte->val_hi = (unsigned int)(val >> 32) & 0xffffff;
}

static inline unsigned long pte_pfn(const struct pte *pte)
{
	return pte->present ? pte_val(pte) : 0;
}

/* the swap slot a swap PTE names, 0 for a present PTE */
static inline unsigned long pte_swap(const struct pte *pte)
{
	return pte->present ? 0 : pte_val(pte);
}

static inline bool pte_none(const struct pte *pte)
{
	return !pte->word;
}

#define PTE_BLOCK_SHIFT	5
#define PTE_BLOCK	(1UL << PTE_BLOCK_SHIFT)
struct pte_block {
	struct rb_node node;		/* mm->pgtable, by index */
	/* the same order as a list: fork and exit step by one load */
	struct pte_block *next, *prev;
	unsigned int index;		/* vpn >> PTE_BLOCK_SHIFT (vpn < 2^35) */
	unsigned int nr;		/* entries that are not pte_none */
	struct pte pte[PTE_BLOCK];
};

static inline unsigned long pte_block_base(const struct pte_block *blk)
{
	return (unsigned long)blk->index << PTE_BLOCK_SHIFT;
}

/* A reader's place in a page table: the PTE at vpn, in block blk. */
struct pte_iter {
	const struct pte_block *blk;
	unsigned int i;
	unsigned long vpn;
};

struct vm_area_struct {
	unsigned long id;
	struct mm_struct *vm_mm;
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	unsigned long vm_flags;
	struct address_space *vm_file;
	struct anon_vma *anon_vma;
	struct list_head anon_vma_chain;	/* avcs, via same_vma */
	struct rb_node mm_node;			/* mm->mm_mt, by vm_start */
	/*
	 * the same order as a list (the kernel's vm_next and vm_prev before
	 * the maple tree): a walk over every VMA steps by one load
	 */
	struct vm_area_struct *vm_next, *vm_prev;
	struct itree_node shared;		/* vm_file->i_mmap */
};

struct mm_struct {
	int pid;
	int ppid;
	struct rb_root mm_mt;		/* VMAs by address (the maple tree) */
	struct vm_area_struct *mmap;		/* the lowest of them */
	struct vm_area_struct *vma_last;	/* the highest of them */
	unsigned long map_count;
	struct rb_root pgtable;		/* pte_blocks by vpn */
	struct pte_block *pt_hint;	/* the block the last change went to */
	struct pte_block *pt_last;	/* the block of the highest index */
	struct kmem_cache *pt_cache;	/* where its blocks come from */
	unsigned long pt_hint_region;	/* 1 + a region known to have a table */
	unsigned long pt_chained;	/* blocks fork chained, not balanced */
	unsigned long nr_ptes;
	/*
	 * The PTE tables (page-table pages) the process has: the 2 MiB regions
	 * (vpn >> PTE_TABLE_SHIFT) whose PMD is populated, sorted.  A table
	 * stays when its PTEs are zapped, and goes (free_pgtables) when no VMA
	 * is left in its region.
	 */
	unsigned long *pt;
	size_t nr_pt, cap_pt;
	unsigned long rss_anon;
	unsigned long rss_file;
	unsigned long rss_shmem;
	unsigned long swapents;
	unsigned long start_brk;
	unsigned long brk;
	unsigned long mmap_base;
	struct list_head node;		/* sim->mms, by pid */
};

struct swap_slot {
	unsigned long id;
	int count;			/* swap_map[]: PTEs (or the shmem page)
					 * naming this slot; 0 while only the
					 * swap cache holds it */
	unsigned long cache_pfn;	/* folio in the swap cache, 0 if none */
	struct rb_node node;		/* sim->swap, by id */
};

/*
 * One kernel step taken by an operation.  ARG_WORK is a number of PTEs or
 * pages the step handled in one go: a number, and part of the op's cost.
 */
enum sim_arg_kind { ARG_ID, ARG_ADDR, ARG_NUM, ARG_WORK };

struct sim_arg {
	const char *key;
	enum sim_arg_kind kind;
	unsigned long val;
};

#define SIM_EVENT_ARGS 5
struct sim_event {
	const char *fn;
	int nargs;
	struct sim_arg arg[SIM_EVENT_ARGS];
	/*
	 * omitted != 0 makes this a summary, not a step: fn ran count times in
	 * the call, the events before this one show count - omitted of them
	 * (the first ones, with their objects), and the rest are only counted.
	 */
	unsigned long count;
	unsigned long omitted;
};

/*
 * What an op's trace keeps (trace.c).  A step that repeats per page or per
 * VMA (zap_pte_range's folio_remove_rmap_pte, free_folio, ...) would make
 * the trace as large as the session; each function's first `repeat` calls
 * are kept, the rest folded into one summary event placed where the first
 * folded call happened.  limit caps the events kept in all; what goes past
 * it is folded the same way.  0 means no bound.
 */
#define SIM_TRACE_REPEAT	8
#define SIM_TRACE_CACHE		32
struct sim_trace_fn;
struct sim_trace {
	struct sim_event *ev;
	size_t nr, cap;
	struct sim_trace_fn *fns;	/* per function: kept, its summary */
	size_t nr_fns, cap_fns;
	size_t repeat, limit;
	size_t kept;			/* events that are steps, not summaries */
	unsigned long omitted;		/* calls folded into summaries */
	/* 1 + the entry in fns of a name's literal, by its address */
	unsigned short fn_cache[SIM_TRACE_CACHE];
};
void sim_trace_init(struct sim_trace *t, size_t repeat, size_t limit);
void sim_trace_reset(struct sim_trace *t);
void sim_trace_free(struct sim_trace *t);
/* Add one event (a step, or a summary of steps) under t's bounds. */
void sim_trace_add(struct sim_trace *t, const struct sim_event *e);

/* One VMA an rmap walk looked at. */
struct rmap_visit {
	unsigned long vma_id;
	int pid;
	unsigned long anon_vma_id;	/* tree the VMA was found in (anon) */
	unsigned long avc_id;		/* the chain that led there (anon) */
	unsigned long address;
	bool mapped;			/* its PTE really maps the folio */
	bool young;			/* folio_referenced: the PTE was young */
};

/*
 * One interval-tree node a walk's stabbing query examined, in order: an
 * anon_vma_chain (anon walk) or a VMA (i_mmap), its page-offset interval,
 * its subtree's largest last, and what the query decided there.
 */
struct rmap_probe {
	unsigned long id;		/* avc id (anon) or vma id (file) */
	unsigned long vma_id;
	unsigned long start, last, subtree_last;
	enum itree_step step;
};

enum rmap_walk_kind { WALK_NONE, WALK_ANON, WALK_FILE };

struct rmap_walk_result {
	enum rmap_walk_kind kind;
	unsigned long pfn;
	unsigned long index;
	unsigned long start_id;		/* anon_vma (root of the walk) or file */
	bool dangling;			/* page->mapping names a freed anon_vma */
	unsigned long pgoff_start, pgoff_last;
	unsigned long tree_probes;	/* interval-tree nodes examined */
	unsigned long visited;
	unsigned long mapped;
	size_t nr_visits;
	struct rmap_visit *visits;	/* owned by the sim until next call */
	size_t nr_probes;		/* == tree_probes, up to RMAP_MAX_PROBES */
	struct rmap_probe *probes;	/* owned by the sim until next call */
};

/* probes recorded per walk; the count (tree_probes) goes on past it */
#define RMAP_MAX_PROBES	4096

enum sim_op_kind {
	OP_SPAWN,
	OP_FILE,
	OP_MMAP,
	OP_MUNMAP,
	OP_MPROTECT,
	OP_MREMAP,
	OP_MADVISE,
	OP_BRK,
	OP_ACCESS,
	OP_FORK,
	OP_EXIT,
	OP_TRY_TO_UNMAP,
	OP_FOLIO_REFERENCED,
	OP__COUNT
};

enum spawn_layout { SPAWN_EMPTY, SPAWN_PROCESS };

/* One operation, with the system call's own arguments. */
struct sim_op {
	enum sim_op_kind kind;
	int pid;
	bool has_addr;
	unsigned long addr;
	unsigned long len;
	unsigned long old_len;
	unsigned long new_len;
	unsigned long new_addr;
	unsigned long offset;
	unsigned long pfn;
	unsigned long pages;
	unsigned int prot;
	unsigned int flags;
	int advice;
	bool write;
	enum spawn_layout layout;
	char name[64];
};

/*
 * The answer to an operation.  err is a kernel errno or SIGSEGV for a
 * fault; value is what the call returns (an address, a pid, a file id).
 * Events and walk point into the sim and live until its next call.
 */
struct sim_result {
	int err;
	const char *reason;		/* why, in words, when err != 0 */
	const char *fault;		/* access: how the fault was handled */
	unsigned long value;
	int referenced;			/* folio_referenced */
	size_t nr_events;
	const struct sim_event *events;
	unsigned long events_omitted;	/* calls folded into summaries */
	/*
	 * The work the op did: one per kernel step (folded ones included), the
	 * PTEs and pages of ARG_WORK arguments, the VMAs and tree nodes its
	 * rmap walks visited.  Deterministic, like everything else.
	 */
	unsigned long cost;
	const struct rmap_walk_result *walk;
};

/*
 * sim_apply() refuses, changing nothing, what no kernel would be asked:
 * a pid or file that does not exist, a limit of the session, a bad value.
 */
enum sim_reject {
	SIM_APPLIED = 0,
	SIM_REJECT_NO_PID = -1,
	SIM_REJECT_NO_FILE = -2,
	SIM_REJECT_FILE_EXISTS = -3,
	SIM_REJECT_LIMIT = -4,
	SIM_REJECT_INVALID = -5,
	SIM_REJECT_NO_FRAME = -6,
};

/*
 * The frames of a session: folios in slabs of FOLIO_SLAB (a freed one's
 * place is reused), and a radix tree of 64-way nodes from pfn to folio.
 */
#define FOLIO_SLAB	1024
struct frame_table {
	struct radix_tree tree;		/* pfn -> folio */
	/*
	 * the leaf a change last went through (pfn_folio), and its first pfn;
	 * and the one before it: a run of pages faulted in order with one
	 * COWed since (of a later run) goes from one to the other and back
	 */
	void *hint;
	unsigned long hint_base;
	void *hint_prev;
	unsigned long hint_prev_base;
	struct folio **slabs;
	size_t nr_slabs;
	unsigned int used;		/* places handed out so far */
	struct folio *free;		/* the last folio freed, or NULL */
};

/* slab.c: a cache of objects of one size */
struct kmem_cache {
	size_t size;
	void *free;			/* freed objects, linked by first word */
	char *next, *end;		/* the newest chunk's unused part */
	struct slab_chunk *chunks;
};

struct sim {
	struct sim_config cfg;
	unsigned long next_pid;
	unsigned long next_vma_id;
	unsigned long next_anon_vma_id;
	unsigned long next_avc_id;
	unsigned long next_file_id;
	unsigned long next_pfn;
	unsigned long next_swap;
	unsigned long nr_ops;		/* operations applied */

	struct list_head mms;
	struct list_head anon_vmas;
	struct radix_tree anon_vma_ids;	/* id -> anon_vma */
	struct list_head files;
	struct frame_table frames;
	struct rb_root swap;
	struct folio zero_folio;
	struct kmem_cache vma_cachep;
	struct kmem_cache anon_vma_cachep;
	struct kmem_cache avc_cachep;
	struct kmem_cache pte_block_cachep;

	unsigned long nr_mms;
	unsigned long nr_vmas;
	unsigned long nr_anon_vmas;
	unsigned long nr_avcs;
	unsigned long nr_files;
	unsigned long nr_frames;

	/* per-call scratch: events, cost, walk visits, the reject reason */
	struct sim_trace trace;
	unsigned long cost;
	struct rmap_walk_result walk;
	size_t cap_visits;
	size_t cap_probes;
	const char *reject_field;
	char reason[160];
};

struct sim *sim_new(const struct sim_config *cfg);
void sim_free(struct sim *sim);
void sim_default_limits(struct sim_limits *limits);

int sim_apply(struct sim *sim, const struct sim_op *op, struct sim_result *res);
/*
 * How sim_apply() keeps its trace from now on (see struct sim_trace); a new
 * session keeps SIM_TRACE_REPEAT calls per function, without limit.
 */
void sim_trace_limits(struct sim *sim, size_t repeat, size_t limit);
/*
 * A lower bound of the cost sim_apply(op) would have now: what is sure to
 * be done (the PTEs a fork copies, an exit zaps), 0 when it depends on more.
 */
unsigned long sim_cost_bound(struct sim *sim, const struct sim_op *op);
/* Why the last sim_apply() was refused, and the op field at fault. */
const char *sim_reject_reason(const struct sim *sim);
const char *sim_reject_field(const struct sim *sim);

/* A read-only rmap walk of a frame; NULL if no such frame. */
const struct rmap_walk_result *sim_rmap_walk(struct sim *sim,
					     unsigned long pfn);

/* Lookups for readers */
struct mm_struct *sim_find_mm(const struct sim *sim, int pid);
struct folio *sim_find_folio(const struct sim *sim, unsigned long pfn);
struct anon_vma *sim_find_anon_vma(const struct sim *sim, unsigned long id);
struct address_space *sim_find_file(const struct sim *sim, const char *name);
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
struct pte *pte_lookup(const struct mm_struct *mm, unsigned long vpn);
int folio_ref_count(const struct folio *folio);
static inline bool folio_test_anon(const struct folio *folio)
{
	return folio->anon_vma_id != 0;
}

/* Iteration helpers for readers */
struct vm_area_struct *vma_first(const struct mm_struct *mm);
struct vm_area_struct *vma_next(const struct vm_area_struct *vma);
/*
 * The first PTE at or after vpn, it->vpn its place; then the next one.
 * NULL at the end.  A writer may clear the PTE it was given once it has
 * asked for the next (the block it sits in may go).
 */
struct pte *pte_iter_start(const struct mm_struct *mm, unsigned long vpn,
			   struct pte_iter *it);
struct pte *pte_iter_next(struct pte_iter *it);
struct folio *folio_first(const struct sim *sim);
struct folio *folio_next(const struct sim *sim, const struct folio *folio);

/* The invariant checker (check.c), in the spirit of CONFIG_DEBUG_VM */
struct sim_violation {
	char what[48];			/* stable short name */
	char detail[200];		/* in words, with the ids */
};
struct sim_check_report {
	size_t nr;
	size_t cap;
	struct sim_violation *v;
	size_t dropped;			/* beyond cap */
};
/* Fills report (caller zeroes it; sim_check_report_free frees); returns nr. */
size_t sim_check(const struct sim *sim, struct sim_check_report *report);
void sim_check_report_free(struct sim_check_report *report);

/* Serialization (serialize.c): a text dump that sim_load reads back. */
char *sim_dump(const struct sim *sim, size_t *len);
struct sim *sim_load(const char *buf, size_t len, char *err, size_t errlen);

/* Names for encoders and parsers */
const char *sim_op_name(enum sim_op_kind kind);
int sim_op_from_name(const char *name);
const char *sim_errno_name(int err);
const char *sim_advice_name(int advice);
int sim_advice_from_name(const char *name);
const char *sim_mode_name(enum sim_mode mode);

#endif /* RMAPD_SIM_H */
