// SPDX-License-Identifier: MIT
/*
 * test_random.c - seeded random operation sequences, valid and invalid,
 * with the invariant checker after every operation.  A failing seed is
 * shrunk (one op dropped at a time while it still fails, until no single op
 * can go) and printed as an `rmapd run` file in the API's op format.  A
 * crash, abort or time-out prints the seed it happened in.
 *
 * Usage: test_random [SEEDS [OPS_PER_SEED [MODE [FIRST_SEED [GOLDEN [write]]]]]]
 * (MODE: normal|legacy; seeds FIRST_SEED .. FIRST_SEED + SEEDS - 1)
 * With GOLDEN, every seed's hash (its trace and final dump) must be the one
 * the file holds, which the engine before compact frames and PTEs computed
 * ("write" makes the file; a seed it does not hold is not compared).
 * With "legacy" it hunts for a sequence that breaks the invariants under the
 * pre-2022 reuse rule and exits 0 when it finds one (a search tool, not a
 * test).  The determinism check replays every tenth seed and compares dumps.
 */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "codec.h"
#include "rng.h"

#define WIN		0x7f0000000000UL
#define WIN_PAGES	24
#define MAX_PROCS	6

static int random_pid(struct rng *r, struct sim *s)
{
	struct mm_struct *mm;
	unsigned long n = 0, k;

	list_for_each_entry(mm, &s->mms, node)
		n++;
	if (!n)
		return 99;	/* a pid that does not exist: a refusal */
	k = pick(r, n);
	list_for_each_entry(mm, &s->mms, node)
		if (k-- == 0)
			return mm->pid;
	return 99;
}

static unsigned long random_pfn(struct rng *r, struct sim *s)
{
	struct folio *f;
	unsigned long n = s->nr_frames, k;

	if (!n)
		return 12345;
	k = pick(r, n);
	for (f = folio_first(s); f; f = folio_next(s, f))
		if (k-- == 0)
			return f->pfn;
	return 12345;
}

static const char *const prots[] = { "rw-", "rw-", "r--", "---", "r-x" };
static const int advices[] = {
	SIM_MADV_DONTNEED, SIM_MADV_DONTFORK, SIM_MADV_DOFORK,
	SIM_MADV_WIPEONFORK, SIM_MADV_KEEPONFORK, SIM_MADV_PAGEOUT, 77,
};

static unsigned int prot_bits(const char *p)
{
	return (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
	       (p[2] == 'x' ? PROT_EXEC : 0);
}

/* Mostly a page inside one of the process's VMAs, else anywhere in WIN. */
static unsigned long random_addr(struct rng *r, struct sim *s, int pid)
{
	struct mm_struct *mm = sim_find_mm(s, pid);
	struct vm_area_struct *vma;
	unsigned long n = 0, k;

	if (mm && pick(r, 100) < 85) {
		for (vma = vma_first(mm); vma; vma = vma_next(vma))
			n++;
		k = pick(r, n);
		for (vma = vma_first(mm); vma && n; vma = vma_next(vma))
			if (k-- == 0)
				return vma->vm_start + PAGE_SIZE *
				       pick(r, (vma->vm_end - vma->vm_start) >>
						  PAGE_SHIFT);
	}
	return WIN + pick(r, WIN_PAGES) * PAGE_SIZE;
}

/*
 * The legacy hunt: the few operations the 2022 bug needs (fork, exit,
 * writes, protection changes that split and merge) on one 2-page region.
 */
static void gen_legacy_op(struct rng *r, struct sim *s, struct sim_op *op)
{
	unsigned long roll = pick(r, 100);

	memset(op, 0, sizeof(*op));
	op->pid = random_pid(r, s);
	op->addr = WIN + PAGE_SIZE * pick(r, 2);
	if (s->nr_mms == 0) {
		op->kind = OP_SPAWN;
	} else if (sim_find_mm(s, op->pid) &&
		   !sim_find_mm(s, op->pid)->map_count) {
		op->kind = OP_MMAP;
		op->addr = WIN;
		op->has_addr = true;
		op->len = 2 * PAGE_SIZE;
		op->prot = PROT_READ | PROT_WRITE;
		op->flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS;
	} else if (roll < 30) {
		op->kind = s->nr_mms < MAX_PROCS ? OP_FORK : OP_EXIT;
	} else if (roll < 42) {
		op->kind = s->nr_mms > 1 ? OP_EXIT : OP_FORK;
	} else if (roll < 67) {
		op->kind = OP_ACCESS;
		op->write = true;
	} else {
		op->kind = OP_MPROTECT;
		op->len = PAGE_SIZE * (1 + pick(r, 2));
		if (op->len == 2 * PAGE_SIZE)
			op->addr = WIN;
		op->prot = PROT_READ | (pick(r, 2) ? PROT_WRITE : 0);
	}
}

/* One operation, mostly valid, sometimes not. */
static void gen_op(struct rng *r, struct sim *s, struct sim_op *op)
{
	unsigned long addr;
	unsigned long len = (1 + pick(r, 4)) * PAGE_SIZE;
	unsigned long roll = pick(r, 100);

	memset(op, 0, sizeof(*op));
	op->pid = random_pid(r, s);
	addr = random_addr(r, s, op->pid);
	op->addr = addr;
	op->len = len;
	if (s->nr_mms == 0 || roll < 3) {
		op->kind = s->nr_mms < MAX_PROCS ? OP_SPAWN : OP_ACCESS;
		if (pick(r, 2))
			op->layout = SPAWN_PROCESS;	/* text, data, heap, stack */
	} else if (roll < 6) {
		op->kind = OP_FILE;
		snprintf(op->name, sizeof(op->name), "f%lu", pick(r, 3));
		op->pages = 1 + pick(r, 8);
	} else if (roll < 16) {
		op->kind = OP_MMAP;
		op->addr = WIN + pick(r, WIN_PAGES) * PAGE_SIZE;
		op->prot = prot_bits(prots[pick(r, 5)]);
		op->flags = pick(r, 5) ? MAP_PRIVATE : MAP_SHARED;
		op->has_addr = true;
		switch (pick(r, 8)) {
		case 0:		/* placed top-down by get_unmapped_area */
			op->has_addr = false;
			op->addr = 0;
			break;
		case 1:		/* EEXIST when it lands on a mapping */
			op->flags |= MAP_FIXED_NOREPLACE;
			break;
		default:
			op->flags |= MAP_FIXED;
		}
		if (pick(r, 3)) {
			op->flags |= MAP_ANONYMOUS;
		} else {
			snprintf(op->name, sizeof(op->name), "f%lu", pick(r, 3));
			op->offset = pick(r, 6) * PAGE_SIZE;
		}
		if (!pick(r, 4))
			op->flags |= MAP_NORESERVE;
	} else if (roll < 23) {
		op->kind = OP_FORK;
		if (s->nr_mms >= MAX_PROCS)
			op->kind = pick(r, 4) ? OP_ACCESS : OP_EXIT;
	} else if (roll < 24) {
		op->kind = s->nr_mms > 1 ? OP_EXIT : OP_FORK;
	} else if (roll < 29) {
		op->kind = OP_MUNMAP;
	} else if (roll < 35) {
		op->kind = OP_MPROTECT;
		op->prot = prot_bits(prots[pick(r, 5)]);
	} else if (roll < 40) {
		op->kind = OP_MREMAP;
		op->old_len = len;
		op->new_len = (1 + pick(r, 4)) * PAGE_SIZE;
		op->flags = (unsigned int)pick(r, 4);	/* maymove|fixed */
		if (pick(r, 8) == 0)
			op->flags |= MREMAP_DONTUNMAP;
		op->new_addr = WIN + pick(r, WIN_PAGES) * PAGE_SIZE;
	} else if (roll < 46) {
		op->kind = OP_MADVISE;
		op->advice = advices[pick(r, 7)];
	} else if (roll < 49) {
		/* move the break around its current value, sometimes below start_brk */
		struct mm_struct *mm = sim_find_mm(s, op->pid);

		op->kind = OP_BRK;
		op->addr = (mm ? mm->brk : WIN) + pick(r, 9) * PAGE_SIZE -
			   4 * PAGE_SIZE;
	} else if (roll < 94) {
		op->kind = OP_ACCESS;
		op->write = pick(r, 2);
		op->addr = addr + pick(r, PAGE_SIZE);
	} else if (roll < 97) {
		op->kind = OP_TRY_TO_UNMAP;
		op->pfn = random_pfn(r, s);
	} else {
		op->kind = OP_FOLIO_REFERENCED;
		op->pfn = random_pfn(r, s);
	}
	if (pick(r, 50) == 0)
		op->addr += 1 + pick(r, PAGE_SIZE - 1);	/* unaligned */
}

/* one op as the API and `rmapd run` take it, so a reproducer can be replayed */
static void print_op(const struct sim_op *op, bool last_op)
{
	char *text = api_op_text(op);

	printf("  %s%s\n", text, last_op ? "" : ",");
	free(text);
}

/*
 * Every fourth seed runs a kernel without the zero page (mm_forbids_zeropage),
 * every fifth one with strict overcommit (MAP_NORESERVE ignored).
 */
static struct sim_config seed_config(enum sim_mode mode, uint64_t seed)
{
	return (struct sim_config){
		.mode = mode, .no_zero_page = seed % 4 == 3,
		.overcommit = seed % 5 == 4 ? SIM_OVERCOMMIT_NEVER :
					      SIM_OVERCOMMIT_GUESS,
	};
}

/* Replay ops[0..n) where keep[i]; return the index of the first failing op or -1. */
static long replay(const struct sim_op *ops, const bool *keep, size_t n,
		   const struct sim_config *cfg, bool print)
{
	struct sim *s = sim_new(cfg);
	struct sim_result res;
	long fail = -1;
	size_t i;

	for (i = 0; i < n && fail < 0; i++) {
		struct sim_check_report rep = { 0 };

		if (keep && !keep[i])
			continue;
		sim_apply(s, &ops[i], &res);
		if (sim_check(s, &rep)) {
			size_t k;

			fail = (long)i;
			for (k = 0; print && k < rep.nr; k++)
				printf("  violation %s: %s\n", rep.v[k].what,
				       rep.v[k].detail);
		}
		sim_check_report_free(&rep);
	}
	sim_free(s);
	return fail;
}

/* Drop ops one at a time while the failure persists. */
static void shrink_and_print(const struct sim_op *ops, size_t n,
			     const struct sim_config *cfg)
{
	bool *keep = malloc(n * sizeof(*keep));
	size_t i, kept = 0;
	bool changed = true;

	for (i = 0; i < n; i++)
		keep[i] = true;
	while (changed) {
		changed = false;
		for (i = n; i-- > 0; ) {
			if (!keep[i])
				continue;
			keep[i] = false;
			if (replay(ops, keep, n, cfg, false) >= 0)
				changed = true;
			else
				keep[i] = true;
		}
	}
	for (i = 0; i < n; i++)
		kept += keep[i];
	printf("a sequence that breaks it, shrunk until no single op can be "
	       "dropped (%zu ops); replay it with `rmapd run`:\n"
	       "{\"config\":{\"mode\":\"%s\",\"zero_page\":%s,"
	       "\"overcommit_memory\":%d},\"ops\":[\n", kept,
	       sim_mode_name(cfg->mode), cfg->no_zero_page ? "false" : "true",
	       (int)cfg->overcommit);
	for (i = 0; i < n; i++)
		if (keep[i])
			print_op(&ops[i], !--kept);
	printf("]}\n");
	replay(ops, keep, n, cfg, true);
	free(keep);
}

/* how the generated operations fared, to see that the test tests */
static unsigned long st_applied[OP__COUNT], st_refused[OP__COUNT],
		     st_kerr[OP__COUNT];

static void tally(const struct sim_op *op, int ret, const struct sim_result *res)
{
	if (ret)
		st_refused[op->kind]++;
	else if (res->err)
		st_kerr[op->kind]++;
	else
		st_applied[op->kind]++;
}

static void print_tally(void)
{
	int k;

	for (k = 0; k < OP__COUNT; k++)
		printf("  %-17s ok %6lu  kernel error %6lu  refused %6lu\n",
		       sim_op_name(k), st_applied[k], st_kerr[k], st_refused[k]);
}

static unsigned long hash_bytes(unsigned long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211UL;
	return h;
}

static unsigned long hash_events(unsigned long h, const struct sim_result *res)
{
	size_t i;
	int k;

	for (i = 0; i < res->nr_events; i++) {
		const struct sim_event *ev = &res->events[i];

		h = hash_bytes(h, ev->fn, strlen(ev->fn));
		for (k = 0; k < ev->nargs; k++)
			h = hash_bytes(h, &ev->arg[k].val,
				       sizeof(ev->arg[k].val));
	}
	return h;
}

/* Run one seed; returns ops applied, and fills *hash with dump+trace. */
static long run_seed(uint64_t seed, size_t nops, enum sim_mode mode,
		     struct sim_op *ops, long *fail_at, unsigned long *hash)
{
	struct sim_config cfg = seed_config(mode, seed);
	struct sim *s = sim_new(&cfg);
	struct rng r = { seed * 2654435761u + 1 };
	unsigned long h = 1469598103934665603UL;
	struct sim_result res;
	size_t i, len;
	char *dump;

	*fail_at = -1;
	for (i = 0; i < nops; i++) {
		struct sim_check_report rep = { 0 };

		if (mode == SIM_MODE_LEGACY)
			gen_legacy_op(&r, s, &ops[i]);
		else
			gen_op(&r, s, &ops[i]);
		tally(&ops[i], sim_apply(s, &ops[i], &res), &res);
		h = hash_events(h, &res);
		if (sim_check(s, &rep))
			*fail_at = (long)i;
		sim_check_report_free(&rep);
		if (*fail_at >= 0) {
			i++;
			break;
		}
	}
	dump = sim_dump(s, &len);
	*hash = hash_bytes(h, dump, len);
	if (mode == SIM_MODE_NORMAL) {
		/* a snapshot loads back to the same bytes */
		char err[160];
		struct sim *copy = sim_load(dump, len, err, sizeof(err));
		size_t len2;
		char *dump2 = copy ? sim_dump(copy, &len2) : NULL;

		if (!copy || len2 != len || memcmp(dump, dump2, len)) {
			printf("seed %lu: dump does not load back identically%s%s\n",
			       (unsigned long)seed, copy ? "" : ": ",
			       copy ? "" : err);
			*hash = 0;
		}
		free(dump2);
		sim_free(copy);
	}
	free(dump);
	sim_free(s);
	return (long)i;
}

/* A crash, an abort or a time-out names the seed that caused it. */
static volatile sig_atomic_t current_seed;

static void on_fatal(int sig)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "\nseed %lu died with signal %d; "
			 "rerun it alone: test_random 1 OPS MODE %lu\n",
			 (unsigned long)current_seed, sig,
			 (unsigned long)current_seed);

	if (write(STDOUT_FILENO, msg, (size_t)n) < 0)
		_exit(128 + sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The hashes of golden/random.txt: one "seed HASH" line per seed.  Reads
 * them into golden[] (0 where the file has none), or, writing, opens it.
 */
static unsigned long *golden;
static FILE *golden_out;

static void golden_open(const char *path, bool write, unsigned long first,
			unsigned long seeds)
{
	unsigned long seed, h;
	FILE *f;

	if (write) {
		golden_out = fopen(path, "w");
		if (!golden_out)
			abort();
		return;
	}
	golden = calloc(seeds, sizeof(*golden));
	f = fopen(path, "r");
	if (!golden || !f)
		abort();
	while (fscanf(f, "%lu %lx", &seed, &h) == 2)
		if (seed >= first && seed < first + seeds)
			golden[seed - first] = h;
	fclose(f);
}

/* false if the seed's hash is not the old engine's */
static bool golden_seed(unsigned long seed, unsigned long first,
			unsigned long h)
{
	if (golden_out)
		fprintf(golden_out, "%lu %016lx\n", seed, h);
	if (!golden || !golden[seed - first] || golden[seed - first] == h)
		return true;
	printf("seed %lu: hash %016lx, the old engine %016lx\n", seed, h,
	       golden[seed - first]);
	return false;
}

/* test_random [SEEDS [OPS [normal|legacy [FIRST_SEED [GOLDEN [write]]]]]] */
int main(int argc, char **argv)
{
	unsigned long seeds = argc > 1 ? strtoul(argv[1], NULL, 0) : 200;
	size_t nops = argc > 2 ? strtoul(argv[2], NULL, 0) : 600;
	enum sim_mode mode = argc > 3 && !strcmp(argv[3], "legacy") ?
			     SIM_MODE_LEGACY : SIM_MODE_NORMAL;
	unsigned long first = argc > 4 ? strtoul(argv[4], NULL, 0) : 1;
	struct sim_op *ops = calloc(nops, sizeof(*ops));
	unsigned long seed, total = 0, nondet = 0, best_seed = 0;
	long best_n = 0;
	static const int fatal[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGTERM };
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 5)
		golden_open(argv[5], argc > 6 && !strcmp(argv[6], "write"),
			    first, seeds);
	for (k = 0; k < sizeof(fatal) / sizeof(fatal[0]); k++)
		signal(fatal[k], on_fatal);
	for (seed = first; seed < first + seeds; seed++) {
		current_seed = (sig_atomic_t)seed;
		unsigned long h1, h2;
		long fail, fail2, n;

		n = run_seed(seed, nops, mode, ops, &fail, &h1);
		total += (unsigned long)n;
		if (fail >= 0 && mode == SIM_MODE_LEGACY) {
			/* keep hunting for the shortest failing prefix */
			if (!best_n || n < best_n) {
				best_n = n;
				best_seed = seed;
			}
			continue;
		}
		if (fail >= 0) {
			struct sim_config cfg = seed_config(mode, seed);

			printf("seed %lu: invariant broken at op %ld\n", seed,
			       fail);
			shrink_and_print(ops, (size_t)n, &cfg);
			harness_failed++;
			continue;
		}
		if (!h1 || !golden_seed(seed, first, h1)) {
			harness_failed++;
			continue;
		}
		harness_passed++;
		if (seed % 10)
			continue;
		run_seed(seed, nops, mode, ops, &fail2, &h2);
		if (!h1 || h1 != h2) {
			printf("seed %lu: replay differs (dump or trace)\n", seed);
			nondet++;
			harness_failed++;
		}
	}
	print_tally();
	printf("%lu operations over %lu seeds (%s mode), checker after each; "
	       "%lu nondeterministic replays\n", total, seeds,
	       sim_mode_name(mode), nondet);
	if (mode == SIM_MODE_LEGACY) {
		long fail;
		unsigned long h;
		struct sim_config cfg = seed_config(mode, best_seed);

		if (!best_n) {
			printf("no legacy violation found\n");
			free(ops);
			return 1;
		}
		run_seed(best_seed, nops, mode, ops, &fail, &h);
		printf("seed %lu breaks an invariant at op %ld\n", best_seed, fail);
		shrink_and_print(ops, (size_t)best_n, &cfg);
		free(ops);
		return 0;
	}
	free(ops);
	free(golden);
	if (golden_out && fclose(golden_out))
		return 1;
	return harness_summary();
}
