// SPDX-License-Identifier: MIT
/*
 * test_golden.c - the engine's output pinned down byte for byte: the dump
 * after every operation, every operation's trace and outcome, and the rmap
 * walk of every frame, hashed, for the built-in lessons and for larger
 * sessions (a fork of 1000 VMAs x 16 pages, sparse mappings with swap and
 * moves, files shared and private).  The hashes in golden/engine.txt were
 * computed by the engine before its frames and PTEs moved out of red-black
 * trees (tree nodes to arrays); a change of representation must not change
 * one byte of what the engine says.
 *
 * Usage: test_golden FILE           compare with FILE
 *        test_golden --write FILE   (re)write FILE
 */
#include "harness.h"
#include "codec.h"

#define FNV_BASIS	1469598103934665603UL
#define WIN		0x7f0000000000UL
#define PG(n)		((unsigned long)(n) * PAGE_SIZE)
#define RW		(PROT_READ | PROT_WRITE)
#define MAX_CASES	64

struct golden {
	char name[64];
	unsigned long hash;
};

static struct golden got[MAX_CASES];
static size_t nr_got;

static unsigned long hash_bytes(unsigned long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211UL;
	return h;
}

static unsigned long hash_ul(unsigned long h, unsigned long v)
{
	return hash_bytes(h, &v, sizeof(v));
}

static unsigned long hash_str(unsigned long h, const char *s)
{
	return s ? hash_bytes(h, s, strlen(s) + 1) : hash_ul(h, 0);
}

/* An op's answer: outcome, value, cost, and every event with its args. */
static unsigned long hash_result(unsigned long h, int ret,
				 const struct sim_result *res)
{
	size_t i;
	int k;

	h = hash_ul(h, (unsigned long)ret);
	if (ret)
		return h;
	h = hash_ul(h, (unsigned long)res->err);
	h = hash_str(h, res->fault);
	h = hash_ul(h, res->value);
	h = hash_ul(h, res->cost);
	h = hash_ul(h, res->events_omitted);
	for (i = 0; i < res->nr_events; i++) {
		const struct sim_event *ev = &res->events[i];

		h = hash_str(h, ev->fn);
		h = hash_ul(h, ev->count);
		h = hash_ul(h, ev->omitted);
		for (k = 0; k < ev->nargs; k++) {
			h = hash_str(h, ev->arg[k].key);
			h = hash_ul(h, ev->arg[k].val);
		}
	}
	return h;
}

static unsigned long hash_dump(unsigned long h, const struct sim *s)
{
	size_t len;
	char *dump = sim_dump(s, &len);

	h = hash_bytes(h, dump, len);
	free(dump);
	return h;
}

/* Every frame's walk: what it visited, found and how it searched. */
static unsigned long hash_walks(unsigned long h, struct sim *s)
{
	unsigned long pfn, last = s->next_pfn;
	size_t i;

	for (pfn = 1; pfn < last; pfn++) {
		const struct rmap_walk_result *w = sim_rmap_walk(s, pfn);

		if (!w)
			continue;
		h = hash_ul(h, pfn);
		h = hash_ul(h, w->tree_probes);
		h = hash_ul(h, w->visited);
		h = hash_ul(h, w->mapped);
		h = hash_ul(h, w->dangling);
		for (i = 0; i < w->nr_visits; i++) {
			const struct rmap_visit *v = &w->visits[i];

			h = hash_ul(h, v->vma_id);
			h = hash_ul(h, (unsigned long)v->pid);
			h = hash_ul(h, v->anon_vma_id);
			h = hash_ul(h, v->avc_id);
			h = hash_ul(h, v->address);
			h = hash_ul(h, v->mapped * 2UL + v->young);
		}
		for (i = 0; i < w->nr_probes; i++) {
			const struct rmap_probe *p = &w->probes[i];

			h = hash_ul(h, p->id);
			h = hash_ul(h, p->vma_id);
			h = hash_ul(h, p->start);
			h = hash_ul(h, p->last);
			h = hash_ul(h, p->subtree_last);
			h = hash_ul(h, (unsigned long)p->step);
		}
	}
	return h;
}

/* The checker's findings count too: the same state, the same report. */
static unsigned long hash_check(unsigned long h, const struct sim *s)
{
	struct sim_check_report rep = { 0 };
	size_t i;

	h = hash_ul(h, sim_check(s, &rep));
	for (i = 0; i < rep.nr; i++) {
		h = hash_str(h, rep.v[i].what);
		h = hash_str(h, rep.v[i].detail);
	}
	sim_check_report_free(&rep);
	return h;
}

static void record(const char *name, unsigned long h)
{
	if (nr_got == MAX_CASES)
		abort();
	snprintf(got[nr_got].name, sizeof(got[nr_got].name), "%s", name);
	got[nr_got++].hash = h;
}

/* ---- the lessons, through the API's parser as a session applies them ---- */

static void run_lesson(size_t i)
{
	cJSON *doc = api_lesson_json(i, true);
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");
	const cJSON *step;
	unsigned long h = FNV_BASIS;
	struct sim_config cfg;
	struct api_error err;
	struct sim *s;
	char name[64];

	if (api_parse_config(cJSON_GetObjectItemCaseSensitive(doc, "config"),
			     &cfg, &err))
		abort();
	s = sim_new(&cfg);
	cJSON_ArrayForEach(step, steps) {
		const cJSON *opj = cJSON_GetObjectItemCaseSensitive(step, "op");
		struct sim_result res;
		struct sim_op op;
		int ret;

		if (!opj)
			continue;
		if (api_parse_op(opj, &op, &err))
			abort();
		ret = api_apply_op(s, &op, &res, &err);
		h = hash_result(h, ret, &res);
		h = hash_dump(h, s);
	}
	h = hash_walks(h, s);
	h = hash_check(h, s);
	snprintf(name, sizeof(name), "lesson:%s", api_lesson_name(i));
	record(name, h);
	sim_free(s);
	cJSON_Delete(doc);
}

/* ---- larger sessions, built op by op ---- */

struct run {
	struct sim *s;
	unsigned long h;
	struct sim_result res;
};

static void apply(struct run *r, struct sim_op op)
{
	int ret = sim_apply(r->s, &op, &r->res);

	r->h = hash_result(r->h, ret, &r->res);
}

/* hashing a dump per op would make the big cases quadratic: per phase */
static void phase(struct run *r)
{
	r->h = hash_dump(r->h, r->s);
}

static void run_init(struct run *r, enum sim_mode mode, bool no_zero_page)
{
	struct sim_config cfg = { .mode = mode, .no_zero_page = no_zero_page };

	cfg.limits.max_vmas = 8192;
	cfg.limits.max_frames = 1UL << 16;
	cfg.limits.max_ptes = 1UL << 17;
	r->s = sim_new(&cfg);
	r->h = FNV_BASIS;
}

static void run_done(struct run *r, const char *name)
{
	phase(r);
	r->h = hash_walks(r->h, r->s);
	r->h = hash_check(r->h, r->s);
	record(name, r->h);
	sim_free(r->s);
}

static void spawn(struct run *r)
{
	apply(r, (struct sim_op){ .kind = OP_SPAWN });
}

static void map(struct run *r, int pid, unsigned long addr,
		unsigned long pages, unsigned int prot, unsigned int flags,
		const char *file, unsigned long off_pages)
{
	struct sim_op op = { .kind = OP_MMAP, .pid = pid, .has_addr = true };

	op.addr = addr;
	op.len = PG(pages);
	op.prot = prot;
	op.offset = PG(off_pages);
	op.flags = flags | MAP_FIXED | (file ? 0 : MAP_ANONYMOUS);
	snprintf(op.name, sizeof(op.name), "%s", file ? file : "");
	apply(r, op);
}

static void touch(struct run *r, int pid, unsigned long addr, bool write)
{
	apply(r, (struct sim_op){ .kind = OP_ACCESS, .pid = pid, .addr = addr,
				  .write = write });
}

static void simple(struct run *r, enum sim_op_kind kind, int pid)
{
	apply(r, (struct sim_op){ .kind = kind, .pid = pid });
}

static void on_frame(struct run *r, enum sim_op_kind kind, unsigned long pfn)
{
	apply(r, (struct sim_op){ .kind = kind, .pfn = pfn });
}

/* 1000 private anonymous VMAs x 16 written pages, a gap between each. */
#define FORK_VMAS	1000
#define FORK_PAGES	16
#define FORK_STRIDE	PG(FORK_PAGES + 1)

static void big_fork(void)
{
	struct run r;
	unsigned long v, p;

	run_init(&r, SIM_MODE_NORMAL, false);
	spawn(&r);
	for (v = 0; v < FORK_VMAS; v++) {
		map(&r, 1, WIN + v * FORK_STRIDE, FORK_PAGES, RW, MAP_PRIVATE,
		    NULL, 0);
		for (p = 0; p < FORK_PAGES; p++)
			touch(&r, 1, WIN + v * FORK_STRIDE + PG(p), true);
	}
	phase(&r);
	simple(&r, OP_FORK, 1);
	phase(&r);
	/* the child COWs one page of each VMA, the parent reuses another */
	for (v = 0; v < FORK_VMAS; v++) {
		touch(&r, 2, WIN + v * FORK_STRIDE + PG(v % FORK_PAGES), true);
		touch(&r, 1, WIN + v * FORK_STRIDE + PG((v + 1) % FORK_PAGES),
		      true);
	}
	phase(&r);
	on_frame(&r, OP_FOLIO_REFERENCED, 77);
	on_frame(&r, OP_TRY_TO_UNMAP, 78);
	on_frame(&r, OP_TRY_TO_UNMAP, 16005);
	phase(&r);
	simple(&r, OP_FORK, 2);
	simple(&r, OP_EXIT, 2);
	phase(&r);
	simple(&r, OP_EXIT, 3);
	simple(&r, OP_EXIT, 1);
	run_done(&r, "big:fork-1000x16");
}

/* Mappings far apart (one per PTE table and beyond), swapped, moved. */
static void sparse(enum sim_mode mode, bool no_zero_page, const char *name)
{
	struct run r;
	unsigned long v, p, a;

	run_init(&r, mode, no_zero_page);
	spawn(&r);
	for (v = 0; v < 40; v++) {
		a = WIN + v * (PG(512) + PG(v * 37 % 300));
		map(&r, 1, a, 24 + v % 7, v % 5 ? RW : PROT_READ, MAP_PRIVATE,
		    NULL, 0);
		for (p = 0; p < 24; p += 1 + v % 3)
			touch(&r, 1, a + PG(p), v % 5 && p % 4);
	}
	phase(&r);
	simple(&r, OP_FORK, 1);
	for (v = 1; v < 300; v += 7)
		on_frame(&r, OP_TRY_TO_UNMAP, v);
	phase(&r);
	for (v = 0; v < 40; v += 3) {
		a = WIN + v * (PG(512) + PG(v * 37 % 300));
		touch(&r, 2, a + PG(v % 24), true);
		touch(&r, 1, a + PG((v + 5) % 24), v % 2);
	}
	phase(&r);
	/* mremap moves across PTE tables, DONTNEED, PAGEOUT, mprotect */
	for (v = 2; v < 40; v += 9) {
		a = WIN + v * (PG(512) + PG(v * 37 % 300));
		apply(&r, (struct sim_op){ .kind = OP_MREMAP, .pid = 1,
					   .addr = a, .old_len = PG(24),
					   .new_len = PG(30),
					   .flags = MREMAP_MAYMOVE |
						    MREMAP_FIXED,
					   .new_addr = WIN + PG(1UL << 22) +
						       v * PG(1000) });
	}
	phase(&r);
	for (v = 4; v < 40; v += 6) {
		a = WIN + v * (PG(512) + PG(v * 37 % 300));
		apply(&r, (struct sim_op){ .kind = OP_MADVISE, .pid = 1,
					   .addr = a + PG(2), .len = PG(6),
					   .advice = SIM_MADV_DONTNEED });
		apply(&r, (struct sim_op){ .kind = OP_MADVISE, .pid = 2,
					   .addr = a, .len = PG(20),
					   .advice = SIM_MADV_PAGEOUT });
		apply(&r, (struct sim_op){ .kind = OP_MPROTECT, .pid = 2,
					   .addr = a + PG(3), .len = PG(4),
					   .prot = PROT_READ });
		apply(&r, (struct sim_op){ .kind = OP_MUNMAP, .pid = 1,
					   .addr = a + PG(8), .len = PG(3) });
	}
	phase(&r);
	simple(&r, OP_FORK, 2);
	for (v = 0; v < 40; v += 5) {
		a = WIN + v * (PG(512) + PG(v * 37 % 300));
		touch(&r, 3, a + PG(1), true);
		touch(&r, 3, a + PG(9), false);
	}
	phase(&r);
	simple(&r, OP_EXIT, 2);
	apply(&r, (struct sim_op){ .kind = OP_MUNMAP, .pid = 1, .addr = WIN,
				   .len = PG(1UL << 23) });
	run_done(&r, name);
}

/* A file mapped shared and private by a family, faulted around, reclaimed. */
static void files(void)
{
	struct run r;
	struct sim_op f = { .kind = OP_FILE, .pages = 200 };
	unsigned long p;

	run_init(&r, SIM_MODE_NORMAL, false);
	snprintf(f.name, sizeof(f.name), "data.bin");
	apply(&r, f);
	apply(&r, (struct sim_op){ .kind = OP_SPAWN,
				   .layout = SPAWN_PROCESS });
	map(&r, 1, WIN, 64, RW, MAP_SHARED, "data.bin", 0);
	map(&r, 1, WIN + PG(600), 100, RW, MAP_PRIVATE, "data.bin", 50);
	map(&r, 1, WIN + PG(2000), 32, RW, MAP_SHARED | MAP_ANONYMOUS, NULL,
	    0);
	for (p = 0; p < 64; p += 3)
		touch(&r, 1, WIN + PG(p), p % 2);
	for (p = 0; p < 100; p += 5)
		touch(&r, 1, WIN + PG(600 + p), p % 3 == 0);
	for (p = 0; p < 32; p += 2)
		touch(&r, 1, WIN + PG(2000 + p), p % 4 == 0);
	phase(&r);
	simple(&r, OP_FORK, 1);
	simple(&r, OP_FORK, 2);
	for (p = 0; p < 100; p += 7)
		touch(&r, 3, WIN + PG(600 + p), true);
	for (p = 1; p < 120; p += 4)
		on_frame(&r, p % 8 == 1 ? OP_FOLIO_REFERENCED : OP_TRY_TO_UNMAP,
			 p);
	phase(&r);
	for (p = 0; p < 64; p += 5)
		touch(&r, 2, WIN + PG(p), true);
	for (p = 0; p < 32; p += 3)
		touch(&r, 3, WIN + PG(2000 + p), false);
	simple(&r, OP_EXIT, 1);
	phase(&r);
	simple(&r, OP_EXIT, 3);
	run_done(&r, "big:files");
}

/* ---- the golden file ---- */

static int write_golden(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f)
		return 1;
	for (i = 0; i < nr_got; i++)
		fprintf(f, "%s %016lx\n", got[i].name, got[i].hash);
	return fclose(f) ? 1 : 0;
}

static void compare_golden(const char *path)
{
	FILE *f = fopen(path, "r");
	char name[64];
	unsigned long hash;
	size_t i, seen = 0;

	if (!f) {
		printf("FAIL cannot read %s\n", path);
		harness_failed++;
		return;
	}
	while (fscanf(f, "%63s %lx", name, &hash) == 2) {
		for (i = 0; i < nr_got && strcmp(got[i].name, name); i++)
			;
		seen++;
		if (i == nr_got) {
			printf("FAIL %s: not run any more\n", name);
			harness_failed++;
		} else if (got[i].hash != hash) {
			printf("FAIL %s: %016lx, the old engine %016lx\n", name,
			       got[i].hash, hash);
			harness_failed++;
		} else {
			printf("ok   %s\n", name);
			harness_passed++;
		}
	}
	fclose(f);
	if (seen != nr_got) {
		printf("FAIL %zu cases run, %zu in %s\n", nr_got, seen, path);
		harness_failed++;
	}
}

int main(int argc, char **argv)
{
	bool write = argc > 2 && !strcmp(argv[1], "--write");
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: test_golden [--write] FILE\n");
		return 2;
	}
	for (i = 0; i < api_lesson_count(); i++)
		run_lesson(i);
	big_fork();
	sparse(SIM_MODE_NORMAL, false, "big:sparse");
	sparse(SIM_MODE_NORMAL, true, "big:sparse-no-zero-page");
	sparse(SIM_MODE_LEGACY, false, "big:sparse-legacy");
	files();
	if (write)
		return write_golden(argv[2]);
	compare_golden(argv[1]);
	return harness_summary();
}
