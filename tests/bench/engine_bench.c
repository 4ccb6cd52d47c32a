// SPDX-License-Identifier: MIT
/*
 * engine_bench.c - the engine's own costs, the library linked directly
 * (no HTTP, no JSON, no database), for comparison with kernel_fork and
 * with the daemon's answers:
 *
 *	engine_bench fork NVMAS PAGES ROUNDS
 *		the session kernel_fork builds (NVMAS private anonymous VMAs
 *		a page apart, every page written); medians over ROUNDS of
 *		fork, of one COW write fault in the parent while the child
 *		shares, and of the child's exit; the engine heap a frame +
 *		PTE costs (malloc's own accounting, mallinfo2) and a PTE
 *		alone (what the fork adds per PTE it copies)
 *
 *	engine_bench walk NVMAS NPROCS WALKS
 *		NVMAS VMAs over NPROCS processes sharing one anon_vma tree:
 *		one process writes NVMAS/NPROCS pages, splits them into a VMA
 *		each (mprotect of every other page), forks NPROCS-1 times; an
 *		rmap walk of one of its frames then stabs a tree of NVMAS
 *		chains and finds NPROCS VMAs.  Prints the time per walk
 *		(median of 5 passes of WALKS walks: of random frames, and of
 *		one frame again and again, its path in the caches), VMAs
 *		visited and tree nodes probed: the probes grow as log n, the
 *		visits stay k, if the walk is O(log n + k).
 *
 * Each prints one JSON object.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

#include "sim.h"

#define BASE	0x10000000UL

static size_t heap_used(void)
{
	return mallinfo2().uordblks;
}

static struct sim *new_sim(void)
{
	struct sim_config cfg = { .mode = SIM_MODE_NORMAL };
	struct sim *sim;

	cfg.limits = (struct sim_limits){
		.max_procs = SIM_CAP_PROCS, .max_vmas = SIM_CAP_VMAS,
		.max_frames = SIM_CAP_FRAMES, .max_files = SIM_CAP_FILES,
		.max_file_pages = SIM_CAP_FILE_PAGES,
		.max_ptes = SIM_CAP_PTES,
	};
	sim = sim_new(&cfg);
	if (!sim) {
		fprintf(stderr, "engine_bench: sim_new failed\n");
		exit(1);
	}
	return sim;
}

/* Applies op; a refusal or a kernel error ends the benchmark. */
static unsigned long apply(struct sim *sim, struct sim_op *op)
{
	struct sim_result res;
	int rc = sim_apply(sim, op, &res);

	if (rc != SIM_APPLIED || res.err) {
		fprintf(stderr, "engine_bench: %s failed: %d %s %s\n",
			sim_op_name(op->kind), rc,
			rc ? sim_reject_reason(sim) : sim_errno_name(res.err),
			res.reason ? res.reason : "");
		exit(1);
	}
	return res.value;
}

static int spawn(struct sim *sim)
{
	struct sim_op op = { .kind = OP_SPAWN, .layout = SPAWN_EMPTY };

	return (int)apply(sim, &op);
}

static void mmap_anon(struct sim *sim, int pid, unsigned long addr,
		      unsigned long pages)
{
	struct sim_op op = {
		.kind = OP_MMAP, .pid = pid, .has_addr = true, .addr = addr,
		.len = pages * PAGE_SIZE, .prot = PROT_READ | PROT_WRITE,
		.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
	};

	apply(sim, &op);
}

static void write_page(struct sim *sim, int pid, unsigned long addr)
{
	struct sim_op op = {
		.kind = OP_ACCESS, .pid = pid, .has_addr = true, .addr = addr,
		.write = true,
	};

	apply(sim, &op);
}

static int fork_pid(struct sim *sim, int pid)
{
	struct sim_op op = { .kind = OP_FORK, .pid = pid };

	return (int)apply(sim, &op);
}

static void exit_pid(struct sim *sim, int pid)
{
	struct sim_op op = { .kind = OP_EXIT, .pid = pid };

	apply(sim, &op);
}

static unsigned long vma_addr(long i, long pages)
{
	return BASE + (unsigned long)i * (unsigned long)(pages + 1) * PAGE_SIZE;
}

static int bench_fork(long nvmas, long pages, long rounds)
{
	struct sim *sim = new_sim();
	double *forks = calloc((size_t)rounds, sizeof(double));
	double *cows = calloc((size_t)rounds, sizeof(double));
	double *exits = calloc((size_t)rounds, sizeof(double));
	double *lat = calloc((size_t)nvmas, sizeof(double));
	size_t mapped, written, forked = 0;
	double n = (double)(nvmas * pages);
	long i, p, r;
	int pid, child;

	if (!forks || !cows || !exits || !lat)
		return 1;
	pid = spawn(sim);
	for (i = 0; i < nvmas; i++)
		mmap_anon(sim, pid, vma_addr(i, pages), (unsigned long)pages);
	mapped = heap_used();
	for (i = 0; i < nvmas; i++)
		for (p = 0; p < pages; p++)
			write_page(sim, pid, vma_addr(i, pages) +
				   (unsigned long)p * PAGE_SIZE);
	written = heap_used();
	for (r = 0; r < rounds; r++) {
		double t0 = now_s();

		child = fork_pid(sim, pid);
		forks[r] = now_s() - t0;
		if (!r)
			forked = heap_used();
		for (i = 0; i < nvmas; i++) {
			t0 = now_s();
			write_page(sim, pid, vma_addr(i, pages));
			lat[i] = now_s() - t0;
		}
		cows[r] = median(lat, nvmas);
		t0 = now_s();
		exit_pid(sim, child);
		exits[r] = now_s() - t0;
	}
	printf("{\"vmas\":%ld,\"pages\":%ld,\"fork_ms\":%.3f,"
	       "\"cow_fault_us\":%.3f,\"exit_ms\":%.3f,"
	       "\"bytes_per_frame_pte\":%.1f,\"bytes_per_pte\":%.1f}\n",
	       nvmas, pages, median(forks, rounds) * 1e3,
	       median(cows, rounds) * 1e6, median(exits, rounds) * 1e3,
	       ((double)written - (double)mapped) / n,
	       ((double)forked - (double)written) / n);
	sim_free(sim);
	free(forks);
	free(cows);
	free(exits);
	free(lat);
	return 0;
}

static int bench_walk(long nvmas, long nprocs, long walks)
{
	struct sim *sim = new_sim();
	unsigned long pages = (unsigned long)(nvmas / nprocs), i;
	const struct rmap_walk_result *w = NULL;
	double pass[5], visited = 0, probes = 0, walk_random;
	long k, r;
	int pid;

	if (!pages)
		return 2;
	pid = spawn(sim);
	mmap_anon(sim, pid, BASE, pages);
	for (i = 0; i < pages; i++)
		write_page(sim, pid, BASE + i * PAGE_SIZE);
	for (i = 1; i < pages; i += 2) {
		struct sim_op op = {
			.kind = OP_MPROTECT, .pid = pid, .has_addr = true,
			.addr = BASE + i * PAGE_SIZE, .len = PAGE_SIZE,
			.prot = PROT_READ,
		};

		apply(sim, &op);
	}
	for (k = 1; k < nprocs; k++)
		fork_pid(sim, pid);
	for (r = 0; r < 5; r++) {
		double t0 = now_s();
		unsigned long x = 12345;

		for (k = 0; k < walks; k++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			/* pfns are handed out from 1, a page's at its write */
			w = sim_rmap_walk(sim, 1 + (x >> 33) % pages);
			if (!w)
				return 1;
			if (!r) {
				visited += (double)w->visited;
				probes += (double)w->tree_probes;
			}
		}
		pass[r] = (now_s() - t0) / (double)walks;
	}
	walk_random = median(pass, 5);
	for (r = 0; r < 5; r++) {
		double t0 = now_s();

		for (k = 0; k < walks; k++)
			sim_rmap_walk(sim, 1 + pages / 2);
		pass[r] = (now_s() - t0) / (double)walks;
	}
	printf("{\"vmas\":%lu,\"procs\":%ld,\"walk_us\":%.3f,"
	       "\"hot_walk_us\":%.3f,\"visited\":%.1f,\"probes\":%.1f}\n",
	       sim->nr_vmas, nprocs, walk_random * 1e6, median(pass, 5) * 1e6,
	       visited / (double)walks, probes / (double)walks);
	sim_free(sim);
	return 0;
}

int main(int argc, char **argv)
{
	long a, b, c;

	if (argc != 5) {
		fprintf(stderr, "usage: engine_bench fork NVMAS PAGES ROUNDS\n"
				"       engine_bench walk NVMAS NPROCS WALKS\n");
		return 2;
	}
	a = atol(argv[2]);
	b = atol(argv[3]);
	c = atol(argv[4]);
	if (a < 1 || b < 1 || c < 1)
		return 2;
	if (!strcmp(argv[1], "fork"))
		return bench_fork(a, b, c);
	if (!strcmp(argv[1], "walk"))
		return bench_walk(a, b, c);
	return 2;
}
