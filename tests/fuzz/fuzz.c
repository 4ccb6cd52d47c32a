// SPDX-License-Identifier: MIT
/*
 * fuzz.c - the rules the op and snapshot harnesses hold every session to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json_check.h"
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
	if (!json_text_valid(w->p, w->len))
		fuzz_fail("an encoded object is not JSON: %.300s", jw_text(w));
	return jw_take(w, NULL);
}

static char *dump(const struct sim *sim, size_t *len)
{
	char *d = sim_dump(sim, len);

	if (!d)
		fuzz_fail("sim_dump failed");
	return d;
}

/*
 * What the journal stores must parse back to the same op; that text
 * (malloc'd) is what a replay applies.
 */
static char *check_canonical(const struct sim_op *op)
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
	free(b);
	return a;
}

/* what the anon_vma reuse bug leaves, in legacy mode only */
static bool tolerated(const struct sim *sim, const char *what)
{
	return sim->cfg.mode == SIM_MODE_LEGACY &&
	       (!strcmp(what, "dangling-mapping") ||
		!strcmp(what, "anon-not-reachable"));
}

const char *fuzz_untolerated(const struct sim *sim,
			     const struct sim_check_report *rep)
{
	size_t i;

	for (i = 0; i < rep->nr; i++)
		if (!tolerated(sim, rep->v[i].what))
			return rep->v[i].detail;
	return rep->dropped ? "more violations than a report holds" : NULL;
}

/*
 * After every op: nothing broken but what legacy mode breaks by design.
 * The report is kept in rep (the last one freed): the round trip that
 * follows the last op starts from it instead of checking the state again.
 */
static void check_state(const struct sim *sim, const struct sim_op *op,
			struct sim_check_report *rep)
{
	const char *bad;

	sim_check_report_free(rep);
	memset(rep, 0, sizeof(*rep));
	sim_check(sim, rep);
	bad = fuzz_untolerated(sim, rep);
	if (bad)
		fuzz_fail("%s mode, after %s: %s", sim_mode_name(sim->cfg.mode),
			  api_op_text(op), bad);
}

/*
 * The lines of one input as they apply: the state they started from (a
 * dump) and the canonical text of each op applied since, from which the
 * state before a refused op is rebuilt only when one is refused (dumping
 * the state before every op, to compare in the rare case, was a fifth of
 * fuzz_ops' time); the dump of the current state once made, until an op
 * changes it.
 */
struct lines_run {
	struct sim *sim;
	struct sim_check_report *rep;
	bool checked;
	char *base, *now;
	size_t base_len, now_len;
	char *done[FUZZ_MAX_OPS];
	int nr_done;
};

/* the base state and the ops applied since, in a session of their own */
static char *rebuild(const struct lines_run *r, size_t *len)
{
	struct api_error err = { 0 };
	struct sim_result res;
	struct sim_op op;
	char msg[200], *d;
	struct sim *sim = sim_load(r->base, r->base_len, msg, sizeof(msg));
	cJSON *json;
	int i;

	if (!sim)
		fuzz_fail("the state before the ops does not load: %s", msg);
	for (i = 0; i < r->nr_done; i++) {
		json = cJSON_Parse(r->done[i]);
		if (!json || api_parse_op(json, &op, &err) ||
		    api_apply_op(sim, &op, &res, &err))
			fuzz_fail("op %s, applied once, is refused in a replay: "
				  "%s", r->done[i], err.detail);
		cJSON_Delete(json);
	}
	d = dump(sim, len);
	sim_free(sim);
	return d;
}

/* A refusal changes nothing: the state is what it was before the op. */
static void check_unchanged(struct lines_run *r, const char *type)
{
	size_t len;
	char *after = dump(r->sim, &len);

	if (!r->now)
		r->now = rebuild(r, &r->now_len);
	if (len != r->now_len || memcmp(r->now, after, len))
		fuzz_fail("a refused op (%s) changed the state", type);
	free(after);
}

static void apply_one(struct lines_run *r, const struct sim_op *op,
		      char *text)
{
	struct api_error err = { 0 };
	struct sim_result res;
	struct jw w;

	if (api_apply_op(r->sim, op, &res, &err)) {
		if (err.status < 400 || err.status > 499 || !err.type)
			fuzz_fail("a refusal with status %d", err.status);
		check_unchanged(r, err.type);
		free(text);
		return;
	}
	jw_init(&w, 256);
	jw_object(&w);
	api_write_result_fields(&w, op, &res);
	jw_object_end(&w);
	free(written(&w));
	check_state(r->sim, op, r->rep);
	r->checked = true;
	if (r->now != r->base)
		free(r->now);
	r->now = NULL;
	r->done[r->nr_done++] = text;
}

static void apply_line(struct lines_run *r, const char *line, size_t n)
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
		apply_one(r, &op, check_canonical(&op));
	}
	cJSON_Delete(json);
}

bool fuzz_apply_lines(struct sim *sim, const char *buf, size_t len,
		      struct sim_check_report *rep)
{
	const char *end = buf + len, *nl;
	struct lines_run r = { .sim = sim, .rep = rep };
	int nr = 0, i;

	r.base = dump(sim, &r.base_len);
	r.now = r.base;
	r.now_len = r.base_len;
	for (; buf < end && nr < FUZZ_MAX_OPS; buf = nl + 1) {
		nl = memchr(buf, '\n', (size_t)(end - buf));
		if (!nl)
			nl = end;
		if (nl > buf) {
			apply_line(&r, buf, (size_t)(nl - buf));
			nr++;
		}
	}
	if (r.now != r.base)
		free(r.now);
	free(r.base);
	for (i = 0; i < r.nr_done; i++)
		free(r.done[i]);
	return r.checked;
}

/* a frame's walk as JSON text; checked to be JSON when check is true */
static char *walk_text(struct sim *sim, unsigned long pfn, bool check)
{
	const struct rmap_walk_result *walk = sim_rmap_walk(sim, pfn);
	struct jw w;

	if (!walk)
		fuzz_fail("no walk of frame %lu", pfn);
	jw_init(&w, 256);
	api_write_walk(&w, walk);
	return check ? written(&w) : jw_take(&w, NULL);
}

static void same_walks(struct sim *a, struct sim *b)
{
	const struct folio *f;
	char *wa, *wb;

	for (f = folio_first(a); f; f = folio_next(a, f)) {
		/* b's is compared with a's, which is checked */
		wa = walk_text(a, f->pfn, true);
		wb = walk_text(b, f->pfn, false);
		if (strcmp(wa, wb))
			fuzz_fail("frame %lu walks as %s, loaded as %s", f->pfn,
				  wa, wb);
		free(wa);
		free(wb);
	}
}

/*
 * b's report is a's (ra).  A normal-mode b needs no second check:
 * sim_load() ran the checker on it and refuses a state with any
 * violation, and a normal-mode ra holds none (fuzz_untolerated).
 */
static void same_check(const struct sim_check_report *ra, const struct sim *b)
{
	struct sim_check_report rb = { 0 };
	size_t i;

	if (b->cfg.mode == SIM_MODE_NORMAL && !ra->nr)
		return;
	if (sim_check(b, &rb) != ra->nr)
		fuzz_fail("%zu violations, %zu once loaded", ra->nr, rb.nr);
	for (i = 0; i < ra->nr; i++)
		if (strcmp(ra->v[i].detail, rb.v[i].detail))
			fuzz_fail("violation '%s', loaded '%s'", ra->v[i].detail,
				  rb.v[i].detail);
	sim_check_report_free(&rb);
}

void fuzz_round_trip(struct sim *sim, const char *what,
		     const struct sim_check_report *known)
{
	struct sim_check_report own = { 0 };
	const struct sim_check_report *rep = known ? known : &own;
	char err[200], *d1, *d2;
	size_t n1, n2;
	const char *bad;
	struct sim *again;
	struct jw w;

	if (!known)
		sim_check(sim, &own);
	bad = fuzz_untolerated(sim, rep);
	if (bad)
		fuzz_fail("%s: %s", what, bad);
	jw_init(&w, 4096);
	jw_object(&w);
	api_write_state_fields(&w, sim, false);
	jw_object_end(&w);
	free(written(&w));
	free(api_graph_dot(sim));
	d1 = dump(sim, &n1);
	again = sim_load(d1, n1, err, sizeof(err));
	if (!again)
		fuzz_fail("a dump does not load: %s\n%.*s", err, (int)n1, d1);
	d2 = dump(again, &n2);
	if (n1 != n2 || memcmp(d1, d2, n1))
		fuzz_fail("a dump reloads to other bytes:\n%.*s\n--\n%.*s",
			  (int)n1, d1, (int)n2, d2);
	same_check(rep, again);
	same_walks(sim, again);
	sim_check_report_free(&own);
	free(d1);
	free(d2);
	sim_free(again);
}
