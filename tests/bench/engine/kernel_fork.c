// SPDX-License-Identifier: MIT
/*
 * kernel_fork.c - the anchor of engine_bench.c: the real kernel's fork of a
 * process with 1000 private anonymous VMAs x 16 written pages (a page of
 * gap between them, so they do not merge), pinned to CPU 0: fork() to its
 * return in the parent, the child's first write (a COW fault), and fork to
 * the child's exit reaped; medians.  Thread CPU time by default (the work
 * fork does in the parent), wall time with WALL=1.
 *
 *   gcc -O2 -o kernel_fork tests/bench/engine/kernel_fork.c && ./kernel_fork [RUNS]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21, v, p, i;
	long pg = 4096;
	char *base = mmap(NULL, 1000 * 17 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double f[runs], w[runs], c[runs];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	munmap(base, 1000 * 17 * pg);
	for (v = 0; v < 1000; v++) {
		char *a = mmap(base + v * 17 * pg, 16 * pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		for (p = 0; p < 16; p++)
			a[p * pg] = 1;
	}
	for (i = 0; i < runs; i++) {
		int pipefd[2];
		double t0, t1;
		pid_t pid;
		if (pipe(pipefd)) abort();
		t0 = now();
		pid = fork();
		if (pid == 0) {
			double a, b;
			close(pipefd[0]);
			a = now();
			base[3 * pg] = 2;	/* a COW fault */
			b = now();
			if (write(pipefd[1], &b, sizeof(b)) < 0 || write(pipefd[1], &a, sizeof(a)) < 0) _exit(1);
			_exit(0);
		}
		t1 = now();
		close(pipefd[1]);
		{
			double b, a;
			if (read(pipefd[0], &b, sizeof(b)) != sizeof(b) || read(pipefd[0], &a, sizeof(a)) != sizeof(a)) abort();
			c[i] = b - a;
		}
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		f[i] = t1 - t0;
		w[i] = now() - t0;
	}
	printf("kernel fork 1000x16: %.1f us to fork's return   COW fault %.2f us   fork to the child's exit reaped %.1f us (medians of %d)\n",
	       median(f, runs) * 1e6, median(c, runs) * 1e6,
	       median(w, runs) * 1e6, runs);
	return 0;
}
