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
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

static struct sim_event *trace_push(struct sim_trace *t)
{
	if (t->nr == t->cap)
		t->ev = grow(t->ev, &t->cap, sizeof(*t->ev));
	return &t->ev[t->nr++];
}

/* f's first folded call: its summary event, counted by trace_fold. */
void trace_fold_first(struct sim_trace *t, struct sim_trace_fn *f,
		      const char *fn)
{
	*trace_push(t) = (struct sim_event){ .fn = fn };
	f->summary = t->nr;
}

/* f's folded calls into its summary event */
static void trace_fold_count(struct sim_trace *t, struct sim_trace_fn *f)
{
	struct sim_event *sum = &t->ev[f->summary - 1];

	sum->omitted += f->folded;
	sum->count = f->kept + sum->omitted;
	t->omitted += f->folded;
	f->folded = 0;
}

void trace_flush(struct sim_trace *t)
{
	size_t i;

	for (i = 0; i < t->nr_fns; i++)
		if (t->fns[i].folded)
			trace_fold_count(t, &t->fns[i]);
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
	trace_fold_count(t, f);
}

void sim_trace_limits(struct sim *sim, size_t repeat, size_t limit)
{
	sim->trace.repeat = repeat;
	sim->trace.limit = limit;
}

void trace_keep(struct sim *sim, struct sim_trace_fn *f, const char *fn,
		size_t nargs, const struct sim_arg *args)
{
	struct sim_event *ev = trace_push(&sim->trace);

	*ev = (struct sim_event){ .fn = fn, .nargs = (int)nargs };
	memcpy(ev->arg, args, nargs * sizeof(*args));
	f->kept++;
	sim->trace.kept++;
}
