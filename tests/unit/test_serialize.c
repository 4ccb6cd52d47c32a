// SPDX-License-Identifier: MIT
/*
 * test_serialize.c - sim_dump() and sim_load(): a dump read back dumps the
 * same bytes, passes the checker as the original did, and behaves the same
 * under the operations that follow; a truncated or corrupted dump is refused
 * or loads into a session that is still consistent, and never crashes (run
 * it under ASan and UBSan).
 */
#include <stdint.h>

#include "harness.h"
#include "rng.h"

#define WIN		0x7f0000000000UL
#define PG(n)		((unsigned long)(n) * PAGE_SIZE)
#define RW		(PROT_READ | PROT_WRITE)

static struct sim_result res;

/* ---- building sessions ---- */

static int apply_op(struct sim *s, struct sim_op op)
{
	int ret = sim_apply(s, &op, &res);

	if (ret != SIM_APPLIED) {
		fprintf(stderr, "  refused %s: %s\n", sim_op_name(op.kind),
			sim_reject_reason(s));
		harness_failed_checks++;
	}
	return res.err;
}

static int spawn(struct sim *s, enum spawn_layout layout)
{
	apply_op(s, (struct sim_op){ .kind = OP_SPAWN, .layout = layout });
	return (int)res.value;
}

static void new_file(struct sim *s, const char *name, unsigned long pages)
{
	struct sim_op op = { .kind = OP_FILE, .pages = pages };

	snprintf(op.name, sizeof(op.name), "%s", name);
	apply_op(s, op);
}

static void map(struct sim *s, int pid, unsigned long addr, unsigned long pages,
		unsigned int prot, unsigned int flags, const char *file,
		unsigned long off_pages)
{
	struct sim_op op = { .kind = OP_MMAP, .pid = pid, .addr = addr,
			     .has_addr = true, .len = PG(pages), .prot = prot,
			     .flags = flags | MAP_FIXED,
			     .offset = PG(off_pages) };

	if (file)
		snprintf(op.name, sizeof(op.name), "%s", file);
	else
		op.flags |= MAP_ANONYMOUS;
	EXPECT_EQ(apply_op(s, op), 0);
}

static void touch(struct sim *s, int pid, unsigned long addr, bool write)
{
	apply_op(s, (struct sim_op){ .kind = OP_ACCESS, .pid = pid,
				     .addr = addr, .write = write });
}

static void touch_range(struct sim *s, int pid, unsigned long addr,
			unsigned long pages, bool write)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		touch(s, pid, addr + PG(i), write);
}

static int fork_op(struct sim *s, int pid)
{
	apply_op(s, (struct sim_op){ .kind = OP_FORK, .pid = pid });
	return (int)res.value;
}

static void exit_op(struct sim *s, int pid)
{
	apply_op(s, (struct sim_op){ .kind = OP_EXIT, .pid = pid });
}

static void range(struct sim *s, enum sim_op_kind kind, int pid,
		  unsigned long addr, unsigned long pages, unsigned int prot,
		  int advice)
{
	apply_op(s, (struct sim_op){ .kind = kind, .pid = pid, .addr = addr,
				     .len = PG(pages), .prot = prot,
				     .advice = advice });
}

static void move(struct sim *s, int pid, unsigned long addr,
		 unsigned long old_pages, unsigned long new_pages,
		 unsigned long new_addr)
{
	apply_op(s, (struct sim_op){ .kind = OP_MREMAP, .pid = pid,
				     .addr = addr, .old_len = PG(old_pages),
				     .new_len = PG(new_pages),
				     .flags = MREMAP_MAYMOVE | MREMAP_FIXED,
				     .new_addr = new_addr });
}

static unsigned long pfn_at(struct sim *s, int pid, unsigned long addr)
{
	struct mm_struct *mm = sim_find_mm(s, pid);
	struct pte *pte = mm ? pte_lookup(mm, addr >> PAGE_SHIFT) : NULL;

	return pte && pte->present && !pte->special ? pte_pfn(pte) : 0;
}

static struct sim *new_sim(enum sim_mode mode, bool no_zero_page)
{
	struct sim_config cfg = { .mode = mode, .no_zero_page = no_zero_page };

	return sim_new(&cfg);
}

/* ---- comparing sessions ---- */

/* The checker's findings, one per line, so two sessions compare as text. */
static char *violations(const struct sim *s, size_t *nr)
{
	struct sim_check_report rep = { 0 };
	size_t i, len = 0;
	char *out;

	*nr = sim_check(s, &rep);
	out = calloc(rep.nr + 1, sizeof(rep.v[0]) + 8);
	if (!out)
		abort();
	for (i = 0; i < rep.nr; i++)
		len += (size_t)sprintf(out + len, "%s: %s\n", rep.v[i].what,
				       rep.v[i].detail);
	sim_check_report_free(&rep);
	return out;
}

/* Only what legacy mode legitimately leaves behind (or none). */
static bool only_legacy_breakage(const struct sim *s)
{
	struct sim_check_report rep = { 0 };
	bool ok = true;
	size_t i;

	sim_check(s, &rep);
	for (i = 0; i < rep.nr; i++)
		if (strcmp(rep.v[i].what, "dangling-mapping") &&
		    strcmp(rep.v[i].what, "anon-not-reachable")) {
			fprintf(stderr, "  accepted a dump with %s: %s\n",
				rep.v[i].what, rep.v[i].detail);
			ok = false;
		}
	ok = ok && !rep.dropped;
	sim_check_report_free(&rep);
	return ok;
}

static void show_first_difference(const char *a, size_t na, const char *b,
				  size_t nb)
{
	size_t i = 0, line = 1, start = 0;

	while (i < na && i < nb && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	fprintf(stderr, "  dumps differ at line %zu:\n  < %.*s\n  > %.*s\n",
		line, (int)strcspn(a + start, "\n"), a + start,
		(int)strcspn(b + start, "\n"), b + start);
}

static bool same_bytes(const char *a, size_t na, const char *b, size_t nb)
{
	if (na == nb && !memcmp(a, b, na))
		return true;
	show_first_difference(a, na, b, nb);
	return false;
}

/*
 * dump, load, dump again: the bytes must agree and the copy must show the
 * checker exactly what the original shows.  Returns the copy.
 */
static struct sim *roundtrip(const struct sim *s)
{
	size_t n1, n2, v1, v2;
	char err[256] = "";
	char *d1 = sim_dump(s, &n1), *d2, *c1, *c2;
	struct sim *t = sim_load(d1, n1, err, sizeof(err));

	if (!t) {
		fprintf(stderr, "  sim_load refused its own dump: %s\n", err);
		harness_failed_checks++;
		free(d1);
		return NULL;
	}
	d2 = sim_dump(t, &n2);
	EXPECT(same_bytes(d1, n1, d2, n2));
	c1 = violations(s, &v1);
	c2 = violations(t, &v2);
	EXPECT_EQ(v2, v1);
	EXPECT_STR(c2, c1);
	free(c1);
	free(c2);
	free(d1);
	free(d2);
	return t;
}

static void check_roundtrip(const struct sim *s)
{
	sim_free(roundtrip(s));
}

/* ---- scenarios ---- */

static struct sim *build_fork_cow(enum sim_mode mode)
{
	struct sim *s = new_sim(mode, false);
	int p1, p2, p3;

	p1 = spawn(s, SPAWN_PROCESS);
	map(s, p1, WIN, 8, RW, MAP_PRIVATE, NULL, 0);
	touch_range(s, p1, WIN, 6, true);
	touch(s, p1, WIN + PG(7), false);		/* the zero page */
	touch(s, p1, SIM_TEXT_START, false);		/* file text */
	touch(s, p1, SIM_TEXT_START + PG(4), true);	/* private data COW */
	check_roundtrip(s);
	p2 = fork_op(s, p1);
	touch_range(s, p2, WIN, 3, true);
	p3 = fork_op(s, p2);
	touch(s, p3, WIN + PG(1), true);
	touch(s, p1, WIN + PG(4), true);
	check_roundtrip(s);
	range(s, OP_MUNMAP, p1, WIN + PG(2), 2, 0, 0);
	move(s, p2, WIN + PG(4), 2, 3, WIN + PG(64));
	range(s, OP_MPROTECT, p3, WIN + PG(1), 1, PROT_READ, 0);
	apply_op(s, (struct sim_op){ .kind = OP_BRK, .pid = p1,
		 .addr = sim_find_mm(s, p1)->brk + PG(3) });
	touch(s, p1, sim_find_mm(s, p1)->start_brk, true);
	return s;
}

static struct sim *build_files(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1, p2, p3;

	new_file(s, "data.bin", 16);
	p1 = spawn(s, SPAWN_EMPTY);
	p2 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 8, RW, MAP_SHARED, "data.bin", 0);
	map(s, p2, WIN, 8, RW, MAP_PRIVATE, "data.bin", 4);
	map(s, p1, WIN + PG(32), 4, RW, MAP_SHARED, NULL, 0);	/* shmem */
	touch_range(s, p1, WIN, 8, true);
	touch_range(s, p2, WIN, 4, false);
	touch_range(s, p2, WIN + PG(2), 4, true);
	touch_range(s, p1, WIN + PG(32), 3, true);
	check_roundtrip(s);
	p3 = fork_op(s, p1);
	touch(s, p3, WIN + PG(33), true);
	range(s, OP_MUNMAP, p1, WIN + PG(32), 4, 0, 0);
	range(s, OP_MADVISE, p2, WIN, 8, 0, SIM_MADV_DONTNEED);
	touch(s, p2, WIN + PG(5), true);
	return s;
}

static struct sim *build_swap(bool no_zero_page)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, no_zero_page);
	int p1, p2;

	p1 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 8, RW, MAP_PRIVATE, NULL, 0);
	touch_range(s, p1, WIN, 6, true);
	touch(s, p1, WIN + PG(6), false);
	p2 = fork_op(s, p1);
	range(s, OP_MADVISE, p1, WIN, 2, 0, SIM_MADV_PAGEOUT);
	apply_op(s, (struct sim_op){ .kind = OP_TRY_TO_UNMAP,
		 .pfn = pfn_at(s, p2, WIN + PG(3)) });
	check_roundtrip(s);
	touch(s, p1, WIN, false);
	touch(s, p2, WIN + PG(3), true);
	touch(s, p2, WIN + PG(6), true);
	return s;
}

/* a slot only the swap cache holds (count 0), and a shmem page in swap */
static void swap_cache_only_slot_and_shmem_swap_roundtrip(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	int p1 = spawn(s, SPAWN_EMPTY), p2;
	size_t len;
	char *d;

	map(s, p1, WIN, 1, RW, MAP_PRIVATE, NULL, 0);
	touch(s, p1, WIN, true);
	p2 = fork_op(s, p1);
	apply_op(s, (struct sim_op){ .kind = OP_TRY_TO_UNMAP,
		 .pfn = pfn_at(s, p1, WIN) });
	touch(s, p2, WIN, false);
	range(s, OP_MUNMAP, p1, WIN, 1, 0, 0);
	map(s, p1, WIN + PG(16), 2, RW, MAP_SHARED, NULL, 0);
	touch(s, p1, WIN + PG(16), true);
	apply_op(s, (struct sim_op){ .kind = OP_TRY_TO_UNMAP,
		 .pfn = pfn_at(s, p1, WIN + PG(16)) });
	d = sim_dump(s, &len);
	EXPECT(strstr(d, "\nswap 1 0 2 0 0\n") != NULL);
	EXPECT(strstr(d, "\nswap 2 1 0 1 0\n") != NULL);
	free(d);
	check_roundtrip(s);
	sim_free(s);
}

/*
 * test_legacy.c's sequence: in legacy mode pid 9 ends with a page rmap
 * cannot reach; once everyone else exits, its page->mapping dangles.
 */
static struct sim *build_legacy_breakage(bool dangling)
{
	static const struct {
		enum sim_op_kind kind;
		int pid;
		unsigned long page, pages;
		unsigned int prot;
	} seq[] = {
		{ OP_FORK, 1, 0, 0, 0 }, { OP_FORK, 2, 0, 0, 0 },
		{ OP_ACCESS, 3, 0, 0, 0 }, { OP_FORK, 3, 0, 0, 0 },
		{ OP_FORK, 4, 0, 0, 0 }, { OP_FORK, 5, 0, 0, 0 },
		{ OP_EXIT, 5, 0, 0, 0 }, { OP_EXIT, 4, 0, 0, 0 },
		{ OP_MPROTECT, 6, 0, 1, PROT_READ }, { OP_FORK, 6, 0, 0, 0 },
		{ OP_FORK, 7, 0, 0, 0 }, { OP_ACCESS, 8, 1, 0, 0 },
		{ OP_MPROTECT, 8, 1, 1, PROT_READ }, { OP_EXIT, 6, 0, 0, 0 },
		{ OP_FORK, 8, 0, 0, 0 }, { OP_MPROTECT, 9, 0, 2, RW },
	};
	struct sim *s = new_sim(SIM_MODE_LEGACY, false);
	struct mm_struct *mm, *next;
	size_t i;

	spawn(s, SPAWN_EMPTY);
	map(s, 1, WIN, 2, RW, MAP_PRIVATE, NULL, 0);
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		apply_op(s, (struct sim_op){ .kind = seq[i].kind,
			 .pid = seq[i].pid, .addr = WIN + PG(seq[i].page),
			 .len = PG(seq[i].pages), .prot = seq[i].prot,
			 .write = true });
	if (!dangling)
		return s;
	list_for_each_entry_safe(mm, next, &s->mms, node)
		if (mm->pid != 9)
			exit_op(s, mm->pid);
	return s;
}

static void fork_cow_munmap_mremap_roundtrips(void)
{
	struct sim *s = build_fork_cow(SIM_MODE_NORMAL);
	size_t nr;

	free(violations(s, &nr));
	EXPECT_EQ(nr, 0);
	check_roundtrip(s);
	sim_free(s);
}

static void legacy_fork_cow_roundtrips(void)
{
	struct sim *s = build_fork_cow(SIM_MODE_LEGACY);

	check_roundtrip(s);
	sim_free(s);
}

static void files_shmem_and_private_cow_roundtrip(void)
{
	struct sim *s = build_files();

	check_roundtrip(s);
	sim_free(s);
}

static void swap_entries_and_swap_cache_roundtrip(void)
{
	struct sim *s = build_swap(false);

	check_roundtrip(s);
	sim_free(s);
	s = build_swap(true);
	check_roundtrip(s);
	sim_free(s);
}

static void empty_session_roundtrips(void)
{
	struct sim_config cfg = { .limits = { .max_procs = 3, .max_vmas = 10,
					.max_frames = 20, .max_files = 2,
					.max_file_pages = 8 } };
	struct sim *s = sim_new(&cfg), *t;

	t = roundtrip(s);
	EXPECT(t && t->cfg.limits.max_vmas == 10 && t->cfg.limits.max_files == 2);
	sim_free(t);
	sim_free(s);
}

static struct sim *load_exact(const char *d, size_t len);

/* Remove n bytes at the first occurrence of where (in place). */
static bool cut_text(char *dump, size_t *len, const char *where, size_t n)
{
	char *at = strstr(dump, where);

	if (!at)
		return false;
	memmove(at, at + n, *len - (size_t)(at + n - dump));
	*len -= n;
	return true;
}

/*
 * Version 1 dumps load: with max_ptes (9 config fields) in heuristic
 * overcommit, without it (8) also with the default limit.  A version 2
 * dump must carry every field.
 */
static void version_1_dumps_load(void)
{
	struct sim_config cfg = { .limits = { 3, 10, 20, 2, 8, 77 },
				  .overcommit = SIM_OVERCOMMIT_NEVER };
	static const char head[] =
		"rmapd-dump 2\nconfig normal 0 3 10 20 2 8 77 2\n";
	struct sim *s = sim_new(&cfg), *t;
	struct sim_limits def;
	char err[160], *dump;
	size_t len;

	dump = sim_dump(s, &len);
	EXPECT(!strncmp(dump, head, strlen(head)));
	t = sim_load(dump, len, err, sizeof(err));
	EXPECT(t && t->cfg.limits.max_ptes == 77 &&
	       t->cfg.overcommit == SIM_OVERCOMMIT_NEVER);
	sim_free(t);
	/* version 2 without the overcommit field is refused */
	EXPECT(cut_text(dump, &len, " 2\nnext", 2));
	EXPECT(load_exact(dump, len) == NULL);
	/* ... and is a valid version 1 dump */
	dump[strlen("rmapd-dump ")] = '1';
	t = sim_load(dump, len, err, sizeof(err));
	EXPECT(t && t->cfg.limits.max_ptes == 77 &&
	       t->cfg.overcommit == SIM_OVERCOMMIT_GUESS);
	sim_free(t);
	/* version 1 from before max_ptes: drop " 77" */
	EXPECT(cut_text(dump, &len, " 77\n", 3));
	sim_default_limits(&def);
	t = sim_load(dump, len, err, sizeof(err));
	EXPECT(t && t->cfg.limits.max_ptes == def.max_ptes &&
	       t->cfg.limits.max_vmas == 10);
	sim_free(t);
	free(dump);
	sim_free(s);
}

static void legacy_breakage_survives_a_roundtrip(void)
{
	struct sim *s = build_legacy_breakage(false);
	size_t nr;
	char *v = violations(s, &nr);

	EXPECT(strstr(v, "anon-not-reachable") != NULL);
	free(v);
	check_roundtrip(s);
	sim_free(s);
	s = build_legacy_breakage(true);
	v = violations(s, &nr);
	EXPECT(strstr(v, "dangling-mapping") != NULL);
	free(v);
	check_roundtrip(s);
	sim_free(s);
}

/*
 * The first "folio PFN ANON_VMA ..." line with an anon_vma, rewritten to
 * name anon_vma `id` instead.
 */
static char *with_folio_anon_vma(const char *d, size_t n, unsigned long id,
				 size_t *len)
{
	char *out = malloc(n + 32);
	const char *p, *field, *end;
	unsigned long pfn, av;
	int at = 0, stop = 0;

	if (!out)
		abort();
	for (p = d; p && p < d + n; p = memchr(p, '\n', (size_t)(d + n - p))) {
		p += *p == '\n';
		if (sscanf(p, "folio %lu %n%lu%n", &pfn, &at, &av, &stop) == 2 &&
		    av)
			break;
	}
	if (!p || p >= d + n) {
		free(out);
		return NULL;
	}
	field = p + at;
	end = p + stop;
	memcpy(out, d, (size_t)(field - d));
	*len = (size_t)(field - d);
	*len += (size_t)sprintf(out + *len, "%lu", id);
	memcpy(out + *len, end, (size_t)(d + n - end));
	*len += (size_t)(d + n - end);
	return out;
}

/* d with [from, to) replaced by text; *m its length */
static char *splice(const char *d, size_t n, const char *from, const char *to,
		    const char *text, size_t *m)
{
	size_t len = strlen(text);
	char *out = malloc(n + len);

	if (!out)
		abort();
	memcpy(out, d, (size_t)(from - d));
	memcpy(out + (from - d), text, len);
	memcpy(out + (from - d) + len, to, (size_t)(d + n - to));
	*m = (size_t)(from - d) + len + (size_t)(d + n - to);
	return out;
}

/*
 * d with its first "pte" line of a present (or swap) PTE given pfn and swap
 * instead of its own; NULL if there is none.
 */
static char *with_pte_fields(const char *d, size_t n, bool present,
			     unsigned long pfn, unsigned long swap, size_t *m)
{
	const char *p = d, *end = d + n;

	while (p < end && (p = memmem(p, (size_t)(end - p), "\npte ", 5))) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
		unsigned long pid, vpn, f, sw;
		char bits[8], text[160];

		p = line;
		if (!eol || sscanf(line, "pte %lu %lx %lu %lu %7s", &pid, &vpn, &f,
				   &sw, bits) != 5 || (bits[0] == '1') != present)
			continue;
		snprintf(text, sizeof(text), "pte %lu %lx %lu %lu %s", pid,
			 vpn, pfn, swap, bits);
		return splice(d, n, line, eol, text, m);
	}
	return NULL;
}

static bool load_refused(const char *d, size_t n, const char *why)
{
	char err[256] = "";
	struct sim *t = d ? sim_load(d, n, err, sizeof(err)) : NULL;
	bool refused = d && !t && strstr(err, why);

	if (d && !refused)
		fprintf(stderr, "  loaded, or refused for another reason: %s\n",
			err);
	sim_free(t);
	return refused;
}

/* One word holds a PTE's pfn or its swap slot: a dump with both is bad. */
static void a_pte_with_a_pfn_and_a_swap_slot_or_neither_is_refused(void)
{
	static const char why[] = "a pfn and a swap slot, or neither";
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	size_t n, m;
	char *d, *bad;
	int p1;

	p1 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 2, RW, MAP_PRIVATE, NULL, 0);
	touch_range(s, p1, WIN, 2, true);
	apply_op(s, (struct sim_op){ .kind = OP_TRY_TO_UNMAP,
				     .pfn = pfn_at(s, p1, WIN + PG(1)) });
	d = sim_dump(s, &n);
	bad = with_pte_fields(d, n, true, 1, 0, &m);	/* as it is */
	EXPECT(bad != NULL);
	if (bad) {
		struct sim *t = sim_load(bad, m, NULL, 0);

		EXPECT(t != NULL);
		sim_free(t);
	}
	free(bad);
	bad = with_pte_fields(d, n, true, 1, 1, &m);
	EXPECT(load_refused(bad, m, why));
	free(bad);
	bad = with_pte_fields(d, n, false, 2, 1, &m);
	EXPECT(load_refused(bad, m, why));
	free(bad);
	bad = with_pte_fields(d, n, false, 0, 0, &m);
	EXPECT(load_refused(bad, m, why));
	free(bad);
	bad = with_pte_fields(d, n, true, 1UL << 48, 0, &m);
	EXPECT(load_refused(bad, m, why));
	free(bad);
	free(d);
	sim_free(s);
}

/* d with its first folio line's index, mapcount and flags replaced */
static char *with_folio_fields(const char *d, size_t n, unsigned long index,
			       long mapcount, unsigned long flags, size_t *m)
{
	const char *line = memmem(d, n, "\nfolio ", 7), *eol;
	unsigned long pfn, av, file, idx, swap;
	int mc, cached;
	unsigned int fl;
	char text[200];

	if (!line)
		return NULL;
	line++;
	eol = memchr(line, '\n', (size_t)(d + n - line));
	if (!eol || sscanf(line, "folio %lu %lu %lu %lu %d %x %lu %d", &pfn,
			   &av, &file, &idx, &mc, &fl, &swap, &cached) != 8)
		return NULL;
	snprintf(text, sizeof(text), "folio %lu %lu %lu %lu %ld %lx %lu %d",
		 pfn, av, file, index, mapcount, flags, swap, cached);
	return splice(d, n, line, eol, text, m);
}

/*
 * A folio's index, mapcount and flags share words (sim.h): a dump with a
 * value wider than its field is refused, not cut down to another folio
 * (flags 0x10000 would load as 0, and pass the checker).
 */
static void a_folio_field_wider_than_its_bits_is_refused(void)
{
	static const char why[] = "index, mapcount or flags out of range";
	const unsigned long idx = WIN >> PAGE_SHIFT;	/* its linear index */
	const struct { unsigned long index; long mapcount, flags; } wide[] = {
		{ 1UL << 40, 1, 0x9 }, { idx, 1L << 23, 0x9 },
		{ idx, 1, 0x10009 },
	};
	struct sim *s = new_sim(SIM_MODE_NORMAL, false);
	size_t n, m, i;
	char *d;

	map(s, spawn(s, SPAWN_EMPTY), WIN, 1, RW, MAP_PRIVATE, NULL, 0);
	touch_range(s, 1, WIN, 1, true);
	d = sim_dump(s, &n);
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		char *bad = with_folio_fields(d, n, wide[i].index,
					      wide[i].mapcount,
					      (unsigned long)wide[i].flags, &m);

		EXPECT(load_refused(bad, m, why));
		free(bad);
	}
	free(d);
	sim_free(s);
}

/* d with its first vma line's vm_pgoff replaced */
static char *with_vma_pgoff(const char *d, size_t n, unsigned long pgoff,
			    size_t *m)
{
	const char *line = memmem(d, n, "\nvma ", 5), *eol;
	unsigned long id, pid, start, end, old, flags, file, av;
	char text[200];

	if (!line)
		return NULL;
	line++;
	eol = memchr(line, '\n', (size_t)(d + n - line));
	if (!eol || sscanf(line, "vma %lu %lu %lx %lx %lu %lx %lu %lu", &id,
			   &pid, &start, &end, &old, &flags, &file, &av) != 8)
		return NULL;
	snprintf(text, sizeof(text), "vma %lu %lu %lx %lx %lu %lx %lu %lu", id,
		 pid, start, end, pgoff, flags, file, av);
	return splice(d, n, line, eol, text, m);
}

/*
 * A VMA whose page offsets pass what a folio's index holds is refused: a
 * write fault there made a folio whose index was cut to 40 bits, which
 * the checker then found unequal to the page's linear index (fuzz_snapshot
 * found it).  The last offset that fits loads.
 */
static void a_vma_past_a_folio_index_is_refused(void)
{
	static const char why[] = "page offsets beyond a folio's index";
	struct sim *s = new_sim(SIM_MODE_NORMAL, false), *t;
	size_t n, m;
	char *d, *bad;

	map(s, spawn(s, SPAWN_EMPTY), WIN, 2, RW, MAP_PRIVATE, NULL, 0);
	d = sim_dump(s, &n);
	bad = with_vma_pgoff(d, n, (1UL << 40) - 1, &m);
	EXPECT(load_refused(bad, m, why));
	free(bad);
	bad = with_vma_pgoff(d, n, (1UL << 40) - 2, &m);
	t = bad ? sim_load(bad, m, NULL, 0) : NULL;
	EXPECT(t != NULL);
	sim_free(t);
	free(bad);
	free(d);
	sim_free(s);
}

static void dangling_page_mapping_is_kept(void)
{
	struct sim *s = new_sim(SIM_MODE_NORMAL, false), *t;
	char err[256] = "";
	size_t n, n2, m, nr;
	char *d, *bad, *d2, *v, *cfg;
	int p1, p2;

	p1 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 4, RW, MAP_PRIVATE, NULL, 0);
	touch_range(s, p1, WIN, 2, true);
	p2 = fork_op(s, p1);
	touch(s, p2, WIN, true);
	exit_op(s, p1);			/* anon_vma 1 stays: p2 is chained */
	p1 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 4, RW, MAP_PRIVATE, NULL, 0);
	touch(s, p1, WIN + PG(3), true);
	exit_op(s, p2);			/* now anon_vma 1 is gone */
	EXPECT(sim_find_anon_vma(s, 1) == NULL);
	d = sim_dump(s, &n);
	/* anon_vma 1, the first root, is freed but its id was used */
	bad = with_folio_anon_vma(d, n, 1, &m);
	EXPECT(bad != NULL);
	/* a normal-mode session never holds one: such a dump is damaged */
	t = bad ? sim_load(bad, m, err, sizeof(err)) : NULL;
	EXPECT(t == NULL);
	EXPECT(strstr(err, "dangling-mapping") != NULL);
	sim_free(t);
	/* the same state in a legacy-mode session is what the bug leaves */
	cfg = bad ? memmem(bad, m, "config normal ", 14) : NULL;
	EXPECT(cfg != NULL);
	if (cfg)
		memcpy(cfg + 7, "legacy", 6);
	t = bad ? sim_load(bad, m, err, sizeof(err)) : NULL;
	if (bad && !t)
		fprintf(stderr, "  refused: %s\n", err);
	EXPECT(t != NULL);
	if (t) {
		v = violations(t, &nr);
		EXPECT(strstr(v, "dangling-mapping") != NULL);
		EXPECT(only_legacy_breakage(t));
		free(v);
		d2 = sim_dump(t, &n2);
		EXPECT(same_bytes(bad, m, d2, n2));
		free(d2);
		sim_free(t);
	}
	free(bad);
	free(d);
	sim_free(s);
}

/*
 * Legacy mode keeps num_children and num_active_vmas as well as degree: a
 * legacy dump that miscounts them is damaged, or a later unlink drives them
 * negative and the next dump no longer loads.
 */
static void legacy_counters_are_checked(void)
{
	struct sim *s = new_sim(SIM_MODE_LEGACY, false), *t;
	char err[256] = "", *d, *line;
	int p1, id, root, parent, refs, children, active, degree;
	size_t n;

	p1 = spawn(s, SPAWN_EMPTY);
	map(s, p1, WIN, 2, RW, MAP_PRIVATE, NULL, 0);
	touch(s, p1, WIN, true);
	d = sim_dump(s, &n);
	line = d ? strstr(d, "\nanon_vma 1 ") : NULL;
	EXPECT(line != NULL);
	if (line && sscanf(line, "\nanon_vma %d %d %d %d %d %d %d", &id, &root,
			   &parent, &refs, &children, &active, &degree) == 7) {
		EXPECT_EQ(active, 1);
		/* the same width: 1 -> 2 */
		line = strchr(line + 1, '\n') - 3;
		EXPECT(*line == '1');
		*line = '2';
		t = sim_load(d, n, err, sizeof(err));
		EXPECT(t == NULL);
		EXPECT(strstr(err, "num-active-vmas") != NULL);
		sim_free(t);
	} else {
		EXPECT(!"an anon_vma line of 7 fields");
	}
	free(d);
	sim_free(s);
}

/*
 * fuzz_snapshot's find (tests/fuzz/regress/snapshot/normal-mode-wrong-degree):
 * three VMAs share anon_vma 1 and a mremap moves the last one next to the
 * first, where it merges (copy_vma expands the neighbour, the old VMA is
 * unmapped: unlink_anon_vmas takes one off num_active_vmas and degree).
 * Normal mode keeps degree too, so a dump that miscounts it must not load:
 * degree 0 went to -1 and the next dump no longer loaded.
 */
static const char mremap_merge_dump[] =
	"rmapd-dump 2\n"
	"config normal 0 64 4096 16384 64 4096 65536 0\n"
	"next 2 11 2 8 1 2 1 8\n"
	"anon_vma 1 1 1 1 1 3 %d\n"
	"folio 1 1 0 8589934593 1 9 0 0\n"
	"mm 1 0 1000000 1000000 7f0000000000 1 0 0 0\n"
	"vma 2 1 200000000000 200000001000 8589934592 70 0 0\n"
	"vma 10 1 200000006000 20000000b000 8589934598 100073 0 1\n"
	"avc 7 10 1 0 - b\n"
	"vma 3 1 200000010000 20000001e000 8589934608 70 0 0\n"
	"vma 9 1 2000003e9000 2000003ee000 8589934593 100073 0 1\n"
	"avc 6 9 1 7 l b\n"
	"vma 5 1 2000007db000 2000007e0000 8589934603 100073 0 1\n"
	"avc 2 5 1 7 r b\n"
	"pte 1 2000003e9 1 0 111100\n"
	"pt 1 1000000\n"
	"pt 1 1000001\n"
	"pt 1 1000003\n"
	"end\n";

static struct sim *load_mremap_merge_dump(int degree, char *err, size_t len)
{
	char d[sizeof(mremap_merge_dump) + 16];
	int n = snprintf(d, sizeof(d), mremap_merge_dump, degree);

	return sim_load(d, (size_t)n, err, len);
}

static void normal_mode_degree_survives_an_mremap_merge(void)
{
	struct sim_op op = { .kind = OP_MREMAP, .pid = 1,
			     .addr = 0x2000007db000UL, .old_len = PG(5),
			     .new_len = PG(5), .new_addr = 0x20000000b000UL,
			     .flags = MREMAP_MAYMOVE | MREMAP_FIXED };
	struct vm_area_struct *vma;
	struct anon_vma *av;
	char err[256] = "";
	struct sim *s, *t;
	size_t nr;
	char *v;

	/* the fuzzer's dump: degree 0 where 1 self link + 3 VMAs make 4 */
	s = load_mremap_merge_dump(0, err, sizeof(err));
	EXPECT(s == NULL);
	EXPECT(strstr(err, "degree: anon_vma #1: degree 0, expected 4") != NULL);
	sim_free(s);

	s = load_mremap_merge_dump(4, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "  refused: %s\n", err);
		EXPECT(s != NULL);
		return;
	}
	EXPECT_EQ(sim_apply(s, &op, &res), SIM_APPLIED);
	EXPECT_EQ(res.err, 0);
	EXPECT_EQ(res.value, 0x20000000b000UL);
	vma = find_vma(sim_find_mm(s, 1), 0x20000000b000UL);
	EXPECT(vma != NULL);
	if (vma) {
		EXPECT_EQ(vma->id, 10);	/* vma 10 grew over the moved range */
		EXPECT_EQ(vma->vm_start, 0x200000006000UL);
		EXPECT_EQ(vma->vm_end, 0x200000010000UL);
	}
	EXPECT(find_vma(sim_find_mm(s, 1), 0x2000007db000UL) == NULL);
	av = sim_find_anon_vma(s, 1);
	EXPECT(av != NULL);
	if (av) {
		EXPECT_EQ(av->num_active_vmas, 2);
		EXPECT_EQ(av->num_children, 1);
		EXPECT_EQ(av->degree, 3);
	}
	v = violations(s, &nr);
	EXPECT_EQ(nr, 0);
	EXPECT_STR(v, "");
	free(v);
	t = roundtrip(s);
	EXPECT(t != NULL);
	sim_free(t);
	sim_free(s);
}

/* ---- a loaded copy behaves like the original ---- */

static int any_pid(struct rng *r, const struct sim *s)
{
	const struct mm_struct *mm;
	unsigned long k = pick(r, s->nr_mms);

	list_for_each_entry(mm, &s->mms, node)
		if (k-- == 0)
			return mm->pid;
	return 1;
}

static unsigned long any_pfn(struct rng *r, const struct sim *s)
{
	const struct folio *f;
	unsigned long k = pick(r, s->nr_frames);

	for (f = folio_first(s); f; f = folio_next(s, f))
		if (k-- == 0)
			return f->pfn;
	return 1;
}

static void gen_op(struct rng *r, const struct sim *s, struct sim_op *op)
{
	static const unsigned int prots[] = { PROT_READ, RW, 0, 5 };
	static const int advice[] = {
		SIM_MADV_DONTNEED, SIM_MADV_DONTFORK, SIM_MADV_DOFORK,
		SIM_MADV_WIPEONFORK, SIM_MADV_KEEPONFORK, SIM_MADV_PAGEOUT,
	};
	unsigned long roll = pick(r, 100);

	memset(op, 0, sizeof(*op));
	op->pid = any_pid(r, s);
	op->addr = WIN + PG(pick(r, 20));
	op->len = PG(1 + pick(r, 4));
	op->prot = prots[pick(r, 4)];
	if (s->nr_mms == 0 || (roll < 3 && s->nr_mms < 6)) {
		op->kind = OP_SPAWN;
		op->layout = pick(r, 2) ? SPAWN_PROCESS : SPAWN_EMPTY;
	} else if (roll < 6) {
		op->kind = OP_FILE;
		snprintf(op->name, sizeof(op->name), "f%lu", pick(r, 3));
		op->pages = 1 + pick(r, 8);
	} else if (roll < 16) {
		op->kind = OP_MMAP;
		op->has_addr = true;
		op->flags = MAP_FIXED | (pick(r, 4) ? MAP_PRIVATE : MAP_SHARED);
		if (pick(r, 3))
			op->flags |= MAP_ANONYMOUS;
		snprintf(op->name, sizeof(op->name), "f%lu", pick(r, 3));
		op->offset = PG(pick(r, 4));
	} else if (roll < 24) {
		op->kind = s->nr_mms < 6 ? OP_FORK : OP_EXIT;
	} else if (roll < 27) {
		op->kind = s->nr_mms > 1 ? OP_EXIT : OP_FORK;
	} else if (roll < 31) {
		op->kind = OP_MUNMAP;
	} else if (roll < 36) {
		op->kind = OP_MPROTECT;
	} else if (roll < 41) {
		op->kind = OP_MREMAP;
		op->old_len = op->len;
		op->new_len = PG(1 + pick(r, 4));
		op->flags = (unsigned int)pick(r, 4);
		op->new_addr = WIN + PG(pick(r, 20));
	} else if (roll < 47) {
		op->kind = OP_MADVISE;
		op->advice = advice[pick(r, 6)];
	} else if (roll < 92) {
		op->kind = OP_ACCESS;
		op->write = pick(r, 2);
	} else {
		op->kind = pick(r, 2) ? OP_TRY_TO_UNMAP : OP_FOLIO_REFERENCED;
		op->pfn = any_pfn(r, s);
	}
}

static bool same_events(const struct sim_result *a, const struct sim_result *b)
{
	size_t i;

	if (a->nr_events != b->nr_events)
		return false;
	for (i = 0; i < a->nr_events; i++)
		if (!harness_same_event(&a->events[i], &b->events[i]))
			return false;
	return true;
}

static bool same_visit(const struct rmap_visit *x, const struct rmap_visit *y)
{
	return x->vma_id == y->vma_id && x->pid == y->pid &&
	       x->anon_vma_id == y->anon_vma_id && x->avc_id == y->avc_id &&
	       x->address == y->address && x->mapped == y->mapped &&
	       x->young == y->young;
}

static bool same_walk(const struct rmap_walk_result *a,
		      const struct rmap_walk_result *b)
{
	size_t i;

	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->pfn != b->pfn || a->index != b->index ||
	    a->start_id != b->start_id || a->dangling != b->dangling ||
	    a->pgoff_start != b->pgoff_start || a->pgoff_last != b->pgoff_last ||
	    a->tree_probes != b->tree_probes || a->visited != b->visited ||
	    a->mapped != b->mapped || a->nr_visits != b->nr_visits)
		return false;
	for (i = 0; i < a->nr_visits; i++)
		if (!same_visit(&a->visits[i], &b->visits[i]))
			return false;
	return true;
}

static bool same_result(int ra, const struct sim_result *a, int rb,
			const struct sim_result *b)
{
	return ra == rb && a->err == b->err && a->value == b->value &&
	       a->referenced == b->referenced && same_events(a, b) &&
	       same_walk(a->walk, b->walk);
}

/* Apply op to both; false (and a message) if they answer differently. */
static bool step_both(struct sim *a, struct sim *b, const struct sim_op *op,
		      uint64_t seed, int i)
{
	struct sim_result ra, rb;
	int reta = sim_apply(a, op, &ra), retb;
	bool same;

	/* rb's events live in b: compare before a is touched again */
	retb = sim_apply(b, op, &rb);
	same = same_result(reta, &ra, retb, &rb);
	if (!same)
		fprintf(stderr, "  seed %lu op %d (%s): the loaded copy answers "
			"differently\n", (unsigned long)seed, i,
			sim_op_name(op->kind));
	return same;
}

static bool sessions_agree(const struct sim *a, const struct sim *b)
{
	size_t na, nb;
	char *da = sim_dump(a, &na), *db = sim_dump(b, &nb);
	bool same = same_bytes(da, na, db, nb);

	free(da);
	free(db);
	return same;
}

/* Run seed's ops; at op `at`, load a copy and run the rest on both. */
static bool replay_agrees(uint64_t seed, enum sim_mode mode, int nops, int at)
{
	struct sim *s = new_sim(mode, seed % 3 == 0), *t = NULL;
	struct rng r = { seed * 0x9e3779b97f4a7c15ULL + 7 };
	struct sim_op op;
	bool ok = true;
	int i;

	for (i = 0; i < nops && ok; i++) {
		if (i == at) {
			t = roundtrip(s);
			if (!t) {
				ok = false;
				break;
			}
		}
		gen_op(&r, s, &op);
		if (t)
			ok = step_both(s, t, &op, seed, i);
		else
			sim_apply(s, &op, &res);
	}
	if (ok && t)
		ok = sessions_agree(s, t);
	sim_free(s);
	sim_free(t);
	return ok;
}

static void loaded_copy_replays_identically(void)
{
	uint64_t seed;
	int bad = 0;

	for (seed = 1; seed <= 60; seed++) {
		enum sim_mode mode = seed & 1 ? SIM_MODE_NORMAL : SIM_MODE_LEGACY;

		if (!replay_agrees(seed, mode, 400, 50 + (int)(seed * 37 % 300)))
			bad++;
	}
	EXPECT_EQ(bad, 0);
}

/* ---- truncated and corrupted dumps ---- */

/* Load exactly len bytes from a buffer of exactly that size. */
static struct sim *load_exact(const char *d, size_t len)
{
	char err[128];
	char *copy = malloc(len ? len : 1);
	struct sim *t;

	if (!copy)
		abort();
	memcpy(copy, d, len);
	t = sim_load(copy, len, err, sizeof(err));
	free(copy);
	return t;
}

static void every_prefix_is_refused(void)
{
	struct sim *s = build_fork_cow(SIM_MODE_NORMAL);
	size_t n, k, accepted = 0;
	char *d = sim_dump(s, &n);

	for (k = 0; k < n; k++) {
		struct sim *t = load_exact(d, k);

		if (t) {
			accepted++;
			sim_free(t);
		}
	}
	EXPECT_EQ(accepted, 0);
	free(d);
	sim_free(s);
}

/*
 * A loaded session must be consistent but for legacy-mode breakage, dump
 * stably, and survive operations - staying consistent if it was clean.
 */
static bool accepted_is_sound(struct sim *t, struct rng *r)
{
	struct sim_op op;
	size_t n1, n2, nr;
	char *d1, *d2;
	struct sim *u;
	bool ok = only_legacy_breakage(t);
	int i;

	free(violations(t, &nr));
	d1 = sim_dump(t, &n1);
	u = load_exact(d1, n1);
	ok = ok && u;
	if (u) {
		d2 = sim_dump(u, &n2);
		ok = ok && same_bytes(d1, n1, d2, n2);
		free(d2);
		sim_free(u);
	}
	free(d1);
	for (i = 0; i < 40; i++) {
		gen_op(r, t, &op);
		sim_apply(t, &op, &res);
	}
	if (nr)		/* broken rmap breaks more: only no crash */
		return ok;
	free(violations(t, &nr));
	if (nr)
		fprintf(stderr, "  a clean load went bad under operations\n");
	return ok && !nr;
}

/* the lines of a dump, to cut and splice */
static size_t line_starts(const char *d, size_t n, size_t *at, size_t max)
{
	size_t i, nr = 0;

	for (i = 0; i < n && nr < max; i++)
		if (i == 0 || d[i - 1] == '\n')
			at[nr++] = i;
	return nr;
}

static const char *const extremes[] = {
	"0", "1", "-1", "18446744073709551615", "18446744073709551616",
	"99999999999999999999999", "4294967296", "2147483648", "0x10", "+5",
	"", " ", "7f", "ffffffffffff", "007",
};

/* Replace the k-th run of digits/hex in buf with an extreme value. */
static size_t splice_number(char *out, const char *d, size_t n, struct rng *r)
{
	size_t runs = 0, i, start = 0, len = 0, target;
	const char *rep = extremes[pick(r, sizeof(extremes) /
				       sizeof(extremes[0]))];

	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdef", d[i]) && d[i] &&
		    (i == 0 || d[i - 1] == ' '))
			runs++;
	target = pick(r, runs);
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdef", d[i]) && d[i] &&
		    (i == 0 || d[i - 1] == ' ') && target-- == 0) {
			start = i;
			break;
		}
	while (start + len < n && d[start + len] != ' ' &&
	       d[start + len] != '\n')
		len++;
	memcpy(out, d, start);
	memcpy(out + start, rep, strlen(rep));
	memcpy(out + start + strlen(rep), d + start + len, n - start - len);
	return n - len + strlen(rep);
}

/* One random corruption of d into out (room for n + 64 bytes). */
static size_t corrupt(char *out, const char *d, size_t n, struct rng *r,
		      size_t *at, size_t nlines)
{
	size_t a = at[pick(r, nlines)], b = at[pick(r, nlines)], la, lb;

	memcpy(out, d, n);
	la = strcspn(d + a, "\n") + 1;
	lb = strcspn(d + b, "\n") + 1;
	switch (pick(r, 7)) {
	case 0:		/* flip a bit */
		out[pick(r, n)] ^= (char)(1 << pick(r, 8));
		return n;
	case 1:		/* a plausible wrong character */
		out[pick(r, n)] = "0123456789af -\nx\0"[pick(r, 17)];
		return n;
	case 2:		/* drop a line */
		memmove(out + a, d + a + la, n - a - la);
		return n - la;
	case 3:		/* repeat a line */
		if (la > 64)
			return n;
		memcpy(out + a + la, d + a, n - a);
		return n + la;
	case 4:		/* move line b before line a */
		if (a >= b)
			return n;
		memcpy(out + a, d + b, lb);
		memcpy(out + a + lb, d + a, b - a);
		return n;
	case 5:
		return splice_number(out, d, n, r);
	default:	/* two flips */
		out[pick(r, n)] ^= (char)(1 << pick(r, 8));
		out[pick(r, n)] ^= (char)(1 << pick(r, 8));
		return n;
	}
}

static void fuzz_one(struct sim *s, uint64_t seed, int rounds,
		     unsigned long *accepted, unsigned long *unsound)
{
	struct rng r = { seed };
	size_t n, nlines, at[4096];
	char *d = sim_dump(s, &n);
	char *out = malloc(n + 128);
	int i;

	if (!out)
		abort();
	nlines = line_starts(d, n, at, sizeof(at) / sizeof(at[0]));
	for (i = 0; i < rounds; i++) {
		size_t m = corrupt(out, d, n, &r, at, nlines);
		struct sim *t = load_exact(out, m);

		if (!t)
			continue;
		(*accepted)++;
		if (!accepted_is_sound(t, &r)) {
			(*unsound)++;
			fprintf(stderr, "  seed %lu round %d: unsound load of a "
				"corrupted dump\n", (unsigned long)seed, i);
			show_first_difference(d, n, out, m);
		}
		sim_free(t);
	}
	free(out);
	free(d);
}

static void corrupted_dumps_are_refused_or_sound(void)
{
	unsigned long accepted = 0, unsound = 0;
	struct sim *s;

	s = build_fork_cow(SIM_MODE_NORMAL);
	fuzz_one(s, 11, 1500, &accepted, &unsound);
	sim_free(s);
	s = build_files();
	fuzz_one(s, 12, 1500, &accepted, &unsound);
	sim_free(s);
	s = build_swap(false);
	fuzz_one(s, 13, 1500, &accepted, &unsound);
	sim_free(s);
	s = build_legacy_breakage(true);
	fuzz_one(s, 14, 1500, &accepted, &unsound);
	sim_free(s);
	printf("     %lu of 6000 corrupted dumps loaded, all checked\n",
	       accepted);
	EXPECT_EQ(unsound, 0);
}

static void garbage_is_refused(void)
{
	static const char *const bad[] = {
		"", "\n", "rmapd-dump 1", "rmapd-dump 1\n", "rmapd-dump 2\nend\n",
		"rmapd-dump 1\nend\n", "end\n", "\nrmapd-dump 1\n",
	};
	static const char nul[] = "rmapd-dump 1\0\nend\n";
	char err[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim *t = load_exact(bad[i], strlen(bad[i]));

		EXPECT(t == NULL);
		sim_free(t);
	}
	EXPECT(load_exact(nul, sizeof(nul) - 1) == NULL);
	/* a tiny error buffer is still filled safely */
	EXPECT(sim_load("x", 1, err, 1) == NULL);
	EXPECT(err[0] == '\0');
	EXPECT(sim_load("x", 1, NULL, 0) == NULL);
}

int main(void)
{
	RUN(empty_session_roundtrips);
	RUN(version_1_dumps_load);
	RUN(fork_cow_munmap_mremap_roundtrips);
	RUN(legacy_fork_cow_roundtrips);
	RUN(files_shmem_and_private_cow_roundtrip);
	RUN(swap_entries_and_swap_cache_roundtrip);
	RUN(swap_cache_only_slot_and_shmem_swap_roundtrip);
	RUN(legacy_breakage_survives_a_roundtrip);
	RUN(dangling_page_mapping_is_kept);
	RUN(a_pte_with_a_pfn_and_a_swap_slot_or_neither_is_refused);
	RUN(a_folio_field_wider_than_its_bits_is_refused);
	RUN(a_vma_past_a_folio_index_is_refused);
	RUN(legacy_counters_are_checked);
	RUN(normal_mode_degree_survives_an_mremap_merge);
	RUN(loaded_copy_replays_identically);
	RUN(garbage_is_refused);
	RUN(every_prefix_is_refused);
	RUN(corrupted_dumps_are_refused_or_sound);
	return harness_summary();
}
