// SPDX-License-Identifier: MIT
/*
 * trace.c - the kernel steps an operation took, and what they cost.
 *
 * Every engine file names its steps with trace(); this file decides what is
 * kept.  A step repeated per page (an exit of 16,384 pages removes 16,384
 * rmaps) is shown for its first few calls and counted for the rest, so the
 * trace of one call is bounded by the number of distinct kernel functions,
 * whatever the session holds.  The cost counts every call, kept or folded.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct sim_trace_fn {
	const char *fn;
	size_t kept;		/* calls shown as steps */
	size_t summary;		/* 1 + index of its summary event, 0: none */
};

static void *grow(void *p, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 32;

	p = realloc(p, n * size);
	if (!p)
		abort();	/* bounded by the trace limits: unreachable */
	*cap = n;
	return p;
}

void sim_trace_init(struct sim_trace *t, size_t repeat, size_t limit)
{
	memset(t, 0, sizeof(*t));
	t->repeat = repeat;
	t->limit = limit;
}

void sim_trace_reset(struct sim_trace *t)
{
	t->nr = 0;
	t->nr_fns = 0;
	t->kept = 0;
	t->omitted = 0;
}

void sim_trace_free(struct sim_trace *t)
{
	free(t->ev);
	free(t->fns);
	t->ev = NULL;
	t->fns = NULL;
	t->nr = t->cap = t->nr_fns = t->cap_fns = 0;
}

/*
 * A function's entry; the same name may be two literals in two files, so
 * the names are compared when no entry has this very literal (one entry a
 * name: both searches find the same one).
 */
/* out of line: the common case, a hit in fn_cache, stays small */
static __attribute__((noinline))
struct sim_trace_fn *trace_fn_search(struct sim_trace *t, const char *fn)
{
	size_t i;

	for (i = t->nr_fns; i-- > 0;)
		if (t->fns[i].fn == fn)
			return &t->fns[i];
	for (i = t->nr_fns; i-- > 0;)
		if (!strcmp(t->fns[i].fn, fn))
			return &t->fns[i];
	if (t->nr_fns == t->cap_fns)
		t->fns = grow(t->fns, &t->cap_fns, sizeof(*t->fns));
	t->fns[t->nr_fns] = (struct sim_trace_fn){ .fn = fn };
	return &t->fns[t->nr_fns++];
}

/*
 * A step repeated per page calls this per page: a literal seen before is
 * found by its address in fn_cache (an entry there that is stale, past
 * nr_fns or another literal's, is only a miss).
 */
static inline struct sim_trace_fn *trace_fn(struct sim_trace *t,
					    const char *fn)
{
	unsigned short *slot = &t->fn_cache[((uintptr_t)fn >> 3) %
					    SIM_TRACE_CACHE];
	struct sim_trace_fn *f;

	if (*slot && *slot <= t->nr_fns && t->fns[*slot - 1].fn == fn)
		return &t->fns[*slot - 1];
	f = trace_fn_search(t, fn);
	if (t->nr_fns <= USHRT_MAX)
		*slot = (unsigned short)(f - t->fns + 1);
	return f;
}

static struct sim_event *trace_push(struct sim_trace *t)
{
	if (t->nr == t->cap)
		t->ev = grow(t->ev, &t->cap, sizeof(*t->ev));
	return &t->ev[t->nr++];
}

/* Whether a step of f is kept (else it is folded into f's summary). */
static bool trace_keeps(const struct sim_trace *t,
			const struct sim_trace_fn *f)
{
	return (!t->repeat || f->kept < t->repeat) &&
	       (!t->limit || t->kept < t->limit);
}

static void trace_fold(struct sim_trace *t, struct sim_trace_fn *f,
		       const char *fn, unsigned long calls)
{
	struct sim_event *sum;

	if (!f->summary) {
		sum = trace_push(t);
		*sum = (struct sim_event){ .fn = fn };
		f->summary = t->nr;
	}
	sum = &t->ev[f->summary - 1];
	sum->omitted += calls;
	sum->count = f->kept + sum->omitted;
	t->omitted += calls;
}

void sim_trace_add(struct sim_trace *t, const struct sim_event *e)
{
	struct sim_trace_fn *f = trace_fn(t, e->fn);

	if (!e->omitted && trace_keeps(t, f)) {
		*trace_push(t) = *e;
		f->kept++;
		t->kept++;
		return;
	}
	trace_fold(t, f, e->fn, e->omitted ? e->omitted : 1);
}

void sim_trace_limits(struct sim *sim, size_t repeat, size_t limit)
{
	sim->trace.repeat = repeat;
	sim->trace.limit = limit;
}

/*
 * A step that will be folded is only counted: its arguments matter for the
 * work they carry, so a step repeated per page costs no event built.
 */
void trace_args(struct sim *sim, const char *fn, size_t nargs,
		const struct sim_arg *args)
{
	struct sim_trace_fn *f = trace_fn(&sim->trace, fn);
	size_t i;

	if (nargs > SIM_EVENT_ARGS)
		nargs = SIM_EVENT_ARGS;
	for (i = 0; i < nargs; i++)
		if (args[i].kind == ARG_WORK)
			sim->cost += args[i].val;
	sim->cost++;
	if (trace_keeps(&sim->trace, f)) {
		struct sim_event *ev = trace_push(&sim->trace);

		*ev = (struct sim_event){ .fn = fn, .nargs = (int)nargs };
		memcpy(ev->arg, args, nargs * sizeof(*args));
		f->kept++;
		sim->trace.kept++;
		return;
	}
	trace_fold(&sim->trace, f, fn, 1);
}
