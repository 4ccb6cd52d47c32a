/* SPDX-License-Identifier: MIT */
/*
 * commit_bench.h - what sqlite_commit and libpq_commit share: their arguments
 * (TARGET COMMITS GROUP) and the JSON line they print.
 */
#ifndef RMAPD_BENCH_COMMIT_H
#define RMAPD_BENCH_COMMIT_H

#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

/* 0, or 2 (the exit status) after a usage line */
static inline int commit_args(int argc, char **argv, const char *name,
			      long *n, long *group)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s TARGET COMMITS GROUP\n", name);
		return 2;
	}
	*n = atol(argv[2]);
	*group = atol(argv[3]);
	return *n < 1 || *group < 1 ? 2 : 0;
}

/*
 * Sorts lat, the n single-row commits' latencies.  spread: the seconds of
 * n commits of group rows, each row in a session of its own (0: not run).
 */
static inline void commit_print(long n, long group, double single,
				double grouped, double spread, double *lat)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("{\"commits_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
	       "\"group\":%ld,\"group_commits_per_s\":%.1f,"
	       "\"group_rows_per_s\":%.1f",
	       (double)n / single, lat[n / 2] * 1e6,
	       lat[(size_t)((double)n * 0.99)] * 1e6, group,
	       (double)n / grouped, (double)(n * group) / grouped);
	if (spread > 0)
		printf(",\"spread_commits_per_s\":%.1f", (double)n / spread);
	printf("}\n");
}

#endif /* RMAPD_BENCH_COMMIT_H */
