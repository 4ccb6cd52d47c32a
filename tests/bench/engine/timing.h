/* SPDX-License-Identifier: MIT */
/* timing.h - the clock and the median of engine_bench.c and kernel_fork.c */
#ifndef RMAPD_BENCH_TIMING_H
#define RMAPD_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

/* thread CPU time: what the work cost, whoever else shares the CPU */
static double now(void)
{
	struct timespec t;

	clock_gettime(getenv("WALL") ? CLOCK_MONOTONIC :
		      CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

#endif
