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
#include <stdarg.h>
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

/* A function's entry; the same name may be two literals in two files. */
static struct sim_trace_fn *trace_fn(struct sim_trace *t, const char *fn)
{
	size_t i;

	for (i = t->nr_fns; i-- > 0;)
		if (t->fns[i].fn == fn || !strcmp(t->fns[i].fn, fn))
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

void sim_trace_add(struct sim_trace *t, const struct sim_event *e)
{
	struct sim_trace_fn *f = trace_fn(t, e->fn);
	unsigned long calls = e->omitted ? e->omitted : 1;
	struct sim_event *sum;

	if (!e->omitted && (!t->repeat || f->kept < t->repeat) &&
	    (!t->limit || t->kept < t->limit)) {
		*trace_push(t) = *e;
		f->kept++;
		t->kept++;
		return;
	}
	if (!f->summary) {
		sum = trace_push(t);
		*sum = (struct sim_event){ .fn = e->fn };
		f->summary = t->nr;
	}
	sum = &t->ev[f->summary - 1];
	sum->omitted += calls;
	sum->count = f->kept + sum->omitted;
	t->omitted += calls;
}

void sim_trace_limits(struct sim *sim, size_t repeat, size_t limit)
{
	sim->trace.repeat = repeat;
	sim->trace.limit = limit;
}

void trace(struct sim *sim, const char *fn, int nargs, ...)
{
	struct sim_event ev = { .fn = fn };
	va_list ap;
	int i;

	if (nargs > SIM_EVENT_ARGS)
		nargs = SIM_EVENT_ARGS;
	ev.nargs = nargs;
	va_start(ap, nargs);
	for (i = 0; i < nargs; i++) {
		ev.arg[i].key = va_arg(ap, const char *);
		ev.arg[i].kind = (enum sim_arg_kind)va_arg(ap, int);
		ev.arg[i].val = va_arg(ap, unsigned long);
		if (ev.arg[i].kind == ARG_WORK)
			sim->cost += ev.arg[i].val;
	}
	va_end(ap);
	sim->cost++;
	sim_trace_add(&sim->trace, &ev);
}
