/* SPDX-License-Identifier: MIT */
/*
 * harness.h - a minimal test harness for the engine's unit tests: named
 * tests, exact assertions that say what they expected, and the closing
 * "N passed, N failed" line that CI reads.
 */
#ifndef RMAPD_TEST_HARNESS_H
#define RMAPD_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int harness_failed_checks __attribute__((unused));
static int harness_passed, harness_failed;

#define EXPECT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: expected %s\n", __FILE__,	\
			__LINE__, #cond);				\
		harness_failed_checks++;				\
	}								\
} while (0)

#define EXPECT_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, #a, _a, #b, _b);		\
		harness_failed_checks++;				\
	}								\
} while (0)

#define EXPECT_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (!_a || !_b || strcmp(_a, _b)) {				\
		fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", \
			__FILE__, __LINE__, #a, _a ? _a : "(null)",	\
			_b ? _b : "(null)");				\
		harness_failed_checks++;				\
	}								\
} while (0)

#define RUN(test) do {							\
	int _before = harness_failed_checks;				\
	test();								\
	if (harness_failed_checks == _before) {				\
		harness_passed++;					\
		printf("ok   %s\n", #test);				\
	} else {							\
		harness_failed++;					\
		printf("FAIL %s\n", #test);				\
	}								\
} while (0)

/* Two kernel steps (or summaries) alike: function, arguments, counts. */
static inline bool harness_same_event(const struct sim_event *x,
				      const struct sim_event *y)
{
	int k;

	if (strcmp(x->fn, y->fn) || x->nargs != y->nargs ||
	    x->count != y->count || x->omitted != y->omitted)
		return false;
	for (k = 0; k < x->nargs; k++)
		if (strcmp(x->arg[k].key, y->arg[k].key) ||
		    x->arg[k].val != y->arg[k].val)
			return false;
	return true;
}

static inline int harness_summary(void)
{
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}

#endif /* RMAPD_TEST_HARNESS_H */
