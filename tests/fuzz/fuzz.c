// SPDX-License-Identifier: MIT
/*
 * fuzz.c - the rules the op and snapshot harnesses hold every session to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jw.h"

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * Small sessions: the checker and the dump before each op cost what the
 * session holds, and with a quarter of the former limits fuzz_ops ran
 * 1.45x faster from the same corpus at the same coverage.
 */
void fuzz_limits(struct sim_limits *limits)
{
	limits->max_procs = 8;
	limits->max_vmas = 64;
	limits->max_frames = 128;
	limits->max_files = 8;
	limits->max_file_pages = 64;
	limits->max_ptes = 256;
}

/* What a writer wrote, which must be one JSON value. */
static char *written(struct jw *w)
{
	cJSON *json = cJSON_ParseWithLength(w->p, w->len);

	if (!json)
		fuzz_fail("an encoded object is not JSON: %.300s", jw_text(w));
	cJSON_Delete(json);
	return jw_take(w, NULL);
}

static char *dump(const struct sim *sim, size_t *len)
{
	char *d = sim_dump(sim, len);

	if (!d)
		fuzz_fail("sim_dump failed");
	return d;
}

/* What the journal stores must parse back to the same op. */
static void check_canonical(const struct sim_op *op)
{
	struct api_error err = { 0 };
	struct sim_op again;
	char *a = api_op_text(op), *b;
	cJSON *json = cJSON_Parse(a);

	if (!json || api_parse_op(json, &again, &err))
		fuzz_fail("the canonical op %s does not parse back: %s", a,
			  err.detail);
	cJSON_Delete(json);
	b = api_op_text(&again);
	if (strcmp(a, b))
		fuzz_fail("the canonical op %s parses back as %s", a, b);
	free(a);
	free(b);
}

/* what the anon_vma reuse bug leaves, in legacy mode only */
static bool tolerated(const struct sim *sim, const char *what)
{
	return sim->cfg.mode == SIM_MODE_LEGACY &&
	       (!strcmp(what, "dangling-mapping") ||
		!strcmp(what, "anon-not-reachable"));
}

size_t fuzz_check_untolerated(const struct sim *sim,
			      struct sim_check_report *rep)
{
	size_t i, n = 0;

	sim_check(sim, rep);
	for (i = 0; i < rep->nr; i++)
		if (!tolerated(sim, rep->v[i].what))
			rep->v[n++] = rep->v[i];
	rep->nr = n;
	return n + rep->dropped;
}

/* After every op: nothing broken but what legacy mode breaks by design. */
static void check_state(const struct sim *sim, const struct sim_op *op)
{
	struct sim_check_report rep = { 0 };
	char *text;

	if (fuzz_check_untolerated(sim, &rep)) {
		text = api_op_text(op);
		fuzz_fail("%s mode, after %s: %s", sim_mode_name(sim->cfg.mode),
			  text, rep.nr ? rep.v[0].detail :
			  "more violations than a report holds");
	}
	sim_check_report_free(&rep);
}

static void apply_one(struct sim *sim, const struct sim_op *op)
{
	struct api_error err = { 0 };
	struct sim_result res;
	size_t len, len2;
	char *before = dump(sim, &len), *after;

	if (api_apply_op(sim, op, &res, &err)) {
		if (err.status < 400 || err.status > 499 || !err.type)
			fuzz_fail("a refusal with status %d", err.status);
		after = dump(sim, &len2);
		if (len != len2 || memcmp(before, after, len))
			fuzz_fail("a refused op (%s) changed the state",
				  err.type);
		free(after);
	} else {
		struct jw w;

		jw_init(&w, 256);
		jw_object(&w);
		api_write_result_fields(&w, op, &res);
		jw_object_end(&w);
		free(written(&w));
		check_state(sim, op);
	}
	free(before);
}

static void apply_line(struct sim *sim, const char *line, size_t n)
{
	struct api_error err = { 0 };
	struct sim_op op;
	cJSON *json = cJSON_ParseWithLength(line, n);

	if (!json)
		return;
	if (api_parse_op(json, &op, &err)) {
		if (err.status < 400 || err.status > 499 || !err.type)
			fuzz_fail("a parse error with status %d", err.status);
	} else {
		check_canonical(&op);
		apply_one(sim, &op);
	}
	cJSON_Delete(json);
}

void fuzz_apply_lines(struct sim *sim, const char *buf, size_t len)
{
	const char *end = buf + len, *nl;
	int nr = 0;

	for (; buf < end && nr < FUZZ_MAX_OPS; buf = nl + 1) {
		nl = memchr(buf, '\n', (size_t)(end - buf));
		if (!nl)
			nl = end;
		if (nl > buf) {
			apply_line(sim, buf, (size_t)(nl - buf));
			nr++;
		}
	}
}

static char *walk_text(struct sim *sim, unsigned long pfn)
{
	const struct rmap_walk_result *walk = sim_rmap_walk(sim, pfn);
	struct jw w;

	if (!walk)
		fuzz_fail("no walk of frame %lu", pfn);
	jw_init(&w, 256);
	api_write_walk(&w, walk);
	return written(&w);
}

static void same_walks(struct sim *a, struct sim *b)
{
	const struct folio *f;
	char *wa, *wb;

	for (f = folio_first(a); f; f = folio_next(a, f)) {
		wa = walk_text(a, f->pfn);
		wb = walk_text(b, f->pfn);
		if (strcmp(wa, wb))
			fuzz_fail("frame %lu walks as %s, loaded as %s", f->pfn,
				  wa, wb);
		free(wa);
		free(wb);
	}
}

static void same_check(const struct sim *a, const struct sim *b)
{
	struct sim_check_report ra = { 0 }, rb = { 0 };
	size_t i;

	if (sim_check(a, &ra) != sim_check(b, &rb))
		fuzz_fail("%zu violations, %zu once loaded", ra.nr, rb.nr);
	for (i = 0; i < ra.nr; i++)
		if (strcmp(ra.v[i].detail, rb.v[i].detail))
			fuzz_fail("violation '%s', loaded '%s'", ra.v[i].detail,
				  rb.v[i].detail);
	sim_check_report_free(&ra);
	sim_check_report_free(&rb);
}

void fuzz_round_trip(struct sim *sim)
{
	struct sim_check_report rep = { 0 };
	char err[200], *d1, *d2;
	size_t n1, n2, bad = fuzz_check_untolerated(sim, &rep);
	struct sim *again;
	struct jw w;

	sim_check_report_free(&rep);
	jw_init(&w, 4096);
	jw_object(&w);
	api_write_state_fields(&w, sim, false);
	jw_object_end(&w);
	free(written(&w));
	free(api_graph_dot(sim));
	if (bad)
		return;
	d1 = dump(sim, &n1);
	again = sim_load(d1, n1, err, sizeof(err));
	if (!again)
		fuzz_fail("a dump does not load: %s\n%.*s", err, (int)n1, d1);
	d2 = dump(again, &n2);
	if (n1 != n2 || memcmp(d1, d2, n1))
		fuzz_fail("a dump reloads to other bytes:\n%.*s\n--\n%.*s",
			  (int)n1, d1, (int)n2, d2);
	same_check(sim, again);
	same_walks(sim, again);
	free(d1);
	free(d2);
	sim_free(again);
}
