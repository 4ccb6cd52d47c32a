// SPDX-License-Identifier: MIT
/*
 * kernel_fork.c - the anchor for the engine's fork and COW fault: the real
 * kernel doing what the engine simulates.  NVMAS private anonymous
 * mappings of PAGES pages each, a page apart so that none merges with its
 * neighbour, every page written; then fork() timed in the parent (dup_mmap
 * copying NVMAS VMAs and their PTEs write-protected), and, with the child
 * alive and holding every page, a write in the parent to one page of each
 * VMA timed one by one: a do_wp_page that copies (the child is alive, so
 * none is reused).  Not pinned to a CPU, as engine_bench is not: on a busy
 * machine a pinned process waits for its one core.
 *
 *	kernel_fork NVMAS PAGES ROUNDS
 *
 * Prints one JSON object: medians over ROUNDS of the fork time and of the
 * per-fault time (each round's median fault).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

#define BASE	0x200000000000UL
#define PAGE	4096UL

static char *vma_addr(long i, long pages)
{
	return (char *)(BASE + (unsigned long)i * (unsigned long)(pages + 1) * PAGE);
}

static void map_all(long nvmas, long pages)
{
	long i, p;

	for (i = 0; i < nvmas; i++) {
		char *a = mmap(vma_addr(i, pages), (size_t)pages * PAGE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (a == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		for (p = 0; p < pages; p++)
			a[p * (long)PAGE] = 1;
	}
}

static double time_fork(void)
{
	double t0 = now_s(), dt;
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (!pid)
		_exit(0);
	dt = now_s() - t0;
	waitpid(pid, NULL, 0);
	return dt;
}

/* Median time of one COW write fault in the parent while a child shares. */
static double time_cow(long nvmas, long pages, double *lat)
{
	int fds[2];
	char c;
	pid_t pid;
	long i;

	if (pipe(fds))
		exit(1);
	pid = fork();
	if (pid < 0)
		exit(1);
	if (!pid) {
		close(fds[1]);
		if (read(fds[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[0]);
	for (i = 0; i < nvmas; i++) {
		volatile char *a = vma_addr(i, pages);
		double t0 = now_s();

		a[0] = 2;
		lat[i] = now_s() - t0;
	}
	close(fds[1]);
	waitpid(pid, NULL, 0);
	return median(lat, nvmas);
}

int main(int argc, char **argv)
{
	long nvmas, pages, rounds, r;
	double *forks, *cows, *lat;

	if (argc != 4) {
		fprintf(stderr, "usage: kernel_fork NVMAS PAGES ROUNDS\n");
		return 2;
	}
	nvmas = atol(argv[1]);
	pages = atol(argv[2]);
	rounds = atol(argv[3]);
	if (nvmas < 1 || pages < 1 || rounds < 1)
		return 2;
	forks = calloc((size_t)rounds, sizeof(double));
	cows = calloc((size_t)rounds, sizeof(double));
	lat = calloc((size_t)nvmas, sizeof(double));
	if (!forks || !cows || !lat)
		return 1;
	map_all(nvmas, pages);
	for (r = 0; r < rounds; r++) {
		forks[r] = time_fork();
		cows[r] = time_cow(nvmas, pages, lat);
	}
	printf("{\"vmas\":%ld,\"pages\":%ld,\"fork_ms\":%.3f,"
	       "\"cow_fault_us\":%.3f}\n", nvmas, pages,
	       median(forks, rounds) * 1e3, median(cows, rounds) * 1e6);
	free(forks);
	free(cows);
	free(lat);
	return 0;
}
