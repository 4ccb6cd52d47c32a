// SPDX-License-Identifier: MIT
/*
 * routes.c - the HTTP API under /api/v1: sessions, operations and their
 * journal, rewind, walks, the checker, Graphviz, snapshots, lessons.
 *
 * Every mutation is applied to the session's in-memory state and its
 * journal rows queued for the group commit; the answer is built at once
 * but leaves only when the commit holding its rows is durable (so does
 * any answer built on a state with rows still queued: "wait for the
 * commit", see route_committed()).  A batch is all or nothing.  Errors
 * are RFC 9457 problem documents.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "codec.h"
#include "jw.h"
#include "rmapd.h"

#define PROBLEM_PREFIX "urn:rmapd:problem:"
#define NAME_MAX_LEN	100	/* a session's name */

void reply_json(struct reply *rep, int status, cJSON *json)
{
	rep->status = status;
	rep->ctype = "application/json";
	rep->body = cJSON_PrintUnformatted(json);
	rep->len = rep->body ? strlen(rep->body) : 0;
	cJSON_Delete(json);
}

/* An answer written with jw: its buffer becomes the body as it is. */
static void reply_jw(struct reply *rep, int status, struct jw *w)
{
	rep->status = status;
	rep->ctype = "application/json";
	rep->body = jw_take(w, &rep->len);
}

static void reply_text(struct reply *rep, int status, const char *ctype,
		       char *body)
{
	rep->status = status;
	rep->ctype = ctype;
	rep->body = body;
	rep->len = body ? strlen(body) : 0;
}

static cJSON *problem_new(int status, const char *type, const char *field,
			  const char *detail, long index)
{
	cJSON *p = cJSON_CreateObject();
	char t[96], text[3 * 300];

	snprintf(t, sizeof(t), PROBLEM_PREFIX "%s", type);
	cJSON_AddStringToObject(p, "type", t);
	cJSON_AddStringToObject(p, "title", type);
	cJSON_AddNumberToObject(p, "status", status);
	/* both may quote the client, cut to fit a buffer */
	api_utf8_clean(text, sizeof(text), detail);
	cJSON_AddStringToObject(p, "detail", text);
	if (field && field[0]) {
		api_utf8_clean(text, sizeof(text), field);
		cJSON_AddStringToObject(p, "field", text);
	}
	if (index >= 0)
		cJSON_AddNumberToObject(p, "index", (double)index);
	return p;
}

static void reply_problem_json(struct reply *rep, int status, cJSON *p)
{
	reply_json(rep, status, p);
	rep->ctype = "application/problem+json";
}

static void problem_json(struct reply *rep, int status, const char *type,
			 const char *field, const char *detail, long index)
{
	reply_problem_json(rep, status, problem_new(status, type, field, detail,
						    index));
}

/* 503 storage-unavailable: what was not done, why, and a stable reason. */
void reply_storage(struct reply *rep, enum db_fault fault,
		   const char *why, const char *what)
{
	char detail[400];
	cJSON *p;

	snprintf(detail, sizeof(detail), "%s: %s", what, why);
	p = problem_new(503, "storage-unavailable", "", detail, -1);
	cJSON_AddStringToObject(p, "reason", db_fault_name(fault));
	reply_problem_json(rep, 503, p);
}

/* A write the database refused: nothing was changed. */
static void reply_write_failed(struct reply *rep, const char *what)
{
	char why[256];
	enum db_fault f = db_last_fault(g_db, why, sizeof(why));

	if (!f) {
		f = DB_FAULT_IO;
		snprintf(why, sizeof(why), "the database failed");
	}
	reply_storage(rep, f, why, what);
}

void reply_problem(struct reply *rep, int status, const char *type,
		   const char *field, const char *fmt, ...)
{
	char detail[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_json(rep, status, type, field, detail, -1);
}

static void reply_api_error(struct reply *rep, const struct api_error *err,
			    long index)
{
	problem_json(rep, err->status, err->type, err->field, err->detail, index);
}

/* ---- request helpers ---- */

/* Only whitespace may follow the JSON value (RFC 8259, section 2). */
static bool only_whitespace(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

/*
 * Whether a JSON text escapes U+0000 in a string: cJSON would end the C
 * string there, and a name "a\u0000b" would silently become "a".
 */
static bool escapes_nul(const char *p, size_t len)
{
	const char *end = p + len;

	for (; p < end; p++) {
		if (*p != '\\')
			continue;
		if (end - p >= 6 && p[1] == 'u' && !memcmp(p + 2, "0000", 4))
			return true;
		p++;	/* the escaped character */
	}
	return false;
}

cJSON *parse_body(const struct request *req, struct reply *rep)
{
	const char *end, *why;
	cJSON *json;

	if (!req->body_len) {
		reply_problem(rep, 400, "empty-body", "", "this request needs a "
			      "JSON body");
		return NULL;
	}
	why = api_json_text_error(req->body, req->body_len);
	if (why) {
		reply_problem(rep, 400, "malformed-json", "", "%s", why);
		return NULL;
	}
	json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, false);
	if (!json) {
		reply_problem(rep, 400, "malformed-json", "",
			      "the body is not valid JSON");
		return NULL;
	}
	if (!only_whitespace(end, req->body + req->body_len)) {
		reply_problem(rep, 400, "malformed-json", "", "the body has more "
			      "after its JSON value");
		cJSON_Delete(json);
		return NULL;
	}
	if (escapes_nul(req->body, req->body_len)) {
		reply_problem(rep, 422, "invalid-value", "", "strings may not "
			      "contain U+0000");
		cJSON_Delete(json);
		return NULL;
	}
	return json;
}

bool only_fields(const cJSON *json, const char *const *allowed,
		 struct reply *rep)
{
	const cJSON *it;
	const char *const *a;

	if (!cJSON_IsObject(json)) {
		reply_problem(rep, 422, "invalid-type", "", "the body must be a "
			      "JSON object");
		return false;
	}
	cJSON_ArrayForEach(it, json) {
		for (a = allowed; *a && strcmp(*a, it->string); a++)
			;
		if (!*a) {
			reply_problem(rep, 422, "unknown-field", it->string,
				      "unknown field '%.60s'", it->string);
			return false;
		}
	}
	return true;
}

static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (!n || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._- ", s[i])))
			return false;
	return true;
}

/*
 * Canonical decimal only: "1", never "01", "+1", " 1" or "1 " (strtol
 * takes all but the last), so that one number has one spelling and an id
 * in a path names one resource.
 */
static bool parse_long(const char *s, long max, long *out)
{
	long v = 0;
	size_t i;

	if (!s || !*s || (s[0] == '0' && s[1]) || strlen(s) > 18)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static struct session *get_session(const char *id_text, struct reply *rep)
{
	struct session *s;
	long id;

	if (!parse_long(id_text, 1L << 40, &id)) {
		reply_problem(rep, 404, "no-such-session", "id",
			      "no session '%.40s'", id_text);
		return NULL;
	}
	s = session_get(id);
	if (!s && session_access_info(id, &(struct session_access){ 0 }))
		/* there, but its state cannot be read back (database gone) */
		reply_write_failed(rep, "the session cannot be loaded now");
	else if (!s)
		reply_problem(rep, 404, "no-such-session", "id",
			      "no session %ld", id);
	return s;
}

/* ---- applying operations ---- */

/* committed with (or after) the ops it follows, by the same writer */
static void maybe_snapshot(struct session *s, long before)
{
	uint64_t ticket;
	size_t len;
	char *dump;

	if (!g_cfg->snapshot_every ||
	    before / (long)g_cfg->snapshot_every ==
	    s->version / (long)g_cfg->snapshot_every)
		return;
	dump = sim_dump(s->sim, &len);
	ticket = dump ? db_queue_snapshot(g_db, s->id, s->gen, session_cuts(s),
					  s->version, dump, len,
					  g_cfg->keep_snapshots) : 0;
	if (!ticket) {
		log_msg(LOG_WARNING, "session %ld: snapshot at %ld failed",
			s->id, s->version);
		return;
	}
	__atomic_store_n(&s->last_ticket, ticket, __ATOMIC_RELAXED);
	s->snap_seq = s->version;
}

static size_t count_ops(const cJSON *list, bool steps)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, list)
		if (!steps || cJSON_GetObjectItemCaseSensitive(it, "op"))
			n++;
	return n;
}

static bool batch_fits(size_t n, struct reply *rep)
{
	if (n <= g_cfg->max_batch)
		return true;
	reply_problem(rep, 413, "batch-too-large", "ops", "at most %lu "
		      "operations per request", g_cfg->max_batch);
	return false;
}

/* events=all keeps this many events per request; the rest are folded */
#define EVENTS_ALL_CAP	100000

/* The ops of one request, and the journal text of each once applied. */
struct batch {
	size_t n;
	struct sim_op *ops;
	char **op_text;
	struct jw results;		/* the answer's "results" so far */
	bool all_events;		/* ?events=all */
	size_t events_kept;		/* steps kept, against EVENTS_ALL_CAP */
	bool events_capped;		/* the cap folded some */
	unsigned long cost;
};

static void batch_free(struct batch *b)
{
	size_t k;

	for (k = 0; b->op_text && k < b->n; k++)
		free(b->op_text[k]);
	free(b->ops);
	free(b->op_text);
	jw_free(&b->results);
}

/* Every op of list (steps: a lesson's entries, those with an "op"). */
static int batch_parse(struct batch *b, const cJSON *list, bool steps,
		       struct reply *rep)
{
	const cJSON *it;
	struct api_error err;
	size_t n = count_ops(list, steps), i = 0;

	if (!batch_fits(n, rep))
		return -1;
	b->n = n;
	b->ops = calloc(n ? n : 1, sizeof(*b->ops));
	b->op_text = calloc(n ? n : 1, sizeof(*b->op_text));
	/* a small answer stays in malloc's per-thread cache */
	jw_init(&b->results, n > 1 ? 4096 : 512);
	jw_object(&b->results);
	jw_key(&b->results, "results");
	jw_array(&b->results);
	if (!b->ops || !b->op_text) {
		reply_problem(rep, 503, "out-of-memory", "", "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(it, list) {
		const cJSON *op = steps ? cJSON_GetObjectItemCaseSensitive(it, "op")
					: it;

		if (!op)
			continue;
		if (api_parse_op(op, &b->ops[i], &err)) {
			reply_api_error(rep, &err, (long)i);
			return -1;
		}
		i++;
	}
	return 0;
}

/*
 * A process is settled, for the budget's advance bound, while no op before
 * `upto` in the batch could have shrunk what a fork or an exit of it must do.
 */
static bool pid_settled(const struct batch *b, size_t upto, int pid)
{
	size_t k;

	for (k = 0; k < upto; k++) {
		const struct sim_op *op = &b->ops[k];

		if (op->kind == OP_TRY_TO_UNMAP)
			return false;	/* it frees file PTEs anywhere */
		if (op->pid == pid && op->kind != OP_FORK &&
		    op->kind != OP_ACCESS && op->kind != OP_FOLIO_REFERENCED &&
		    op->kind != OP_SPAWN && op->kind != OP_FILE)
			return false;
	}
	return true;
}

/*
 * More than the batch's forks and exits of the processes there now can
 * cost, in O(1) per op: a step per VMA and per PTE of the process.  Most
 * batches are far below the budget, and this says so without the walk of
 * every PTE that sim_cost_bound() makes (a third of a large fork's time).
 */
static unsigned long batch_ceiling(const struct batch *b, struct sim *sim)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct sim_op *op = &b->ops[i];
		const struct mm_struct *mm;

		if (op->kind != OP_FORK && op->kind != OP_EXIT)
			continue;
		mm = sim_find_mm(sim, op->pid);
		if (mm)
			n += mm->map_count + mm->nr_ptes;
	}
	return n;
}

/*
 * Refuse, before anything runs, a batch sure to cost more than the budget:
 * the sum of what its forks and exits of processes that exist now must do
 * (sim_cost_bound), as long as nothing earlier in the batch changed them.
 */
static bool batch_within_budget(const struct batch *b, struct sim *sim,
				struct reply *rep)
{
	unsigned long budget = g_cfg->max_batch_cost, sure = 0, fork_bound = 0;
	int fork_pid = 0;
	char detail[240];
	size_t i;

	if (!budget || batch_ceiling(b, sim) <= budget)
		return true;
	for (i = 0; i < b->n && sure <= budget; i++) {
		const struct sim_op *op = &b->ops[i];

		if (!pid_settled(b, i, op->pid))
			continue;
		/* a settled process only grew since: its last bound holds */
		if (op->kind == OP_FORK && op->pid != fork_pid) {
			fork_pid = op->pid;
			fork_bound = sim_cost_bound(sim, op);
		}
		sure += op->kind == OP_FORK ? fork_bound :
			sim_cost_bound(sim, op);
	}
	if (sure <= budget)
		return true;
	snprintf(detail, sizeof(detail), "the batch would cost at least %lu "
		 "by op %zu (the PTEs its forks copy and its exits zap), over "
		 "the budget of %lu per request; nothing was applied", sure,
		 i - 1, budget);
	problem_json(rep, 422, "budget-exceeded", "ops", detail, (long)i - 1);
	return false;
}

/* How op i keeps its events: folded, or all of them up to the cap. */
static void batch_trace_limits(struct batch *b, struct sim *sim)
{
	if (b->all_events && b->events_kept < EVENTS_ALL_CAP)
		sim_trace_limits(sim, 0, EVENTS_ALL_CAP - b->events_kept);
	else
		sim_trace_limits(sim, SIM_TRACE_REPEAT, 0);
}

/* One op's answer, written on, and its journal text. */
static void batch_result(struct batch *b, size_t i, long seq,
			 const struct sim_result *res)
{
	jw_object(&b->results);
	api_write_result_fields(&b->results, &b->ops[i], res);
	jw_klong(&b->results, "seq", seq);
	jw_object_end(&b->results);
	b->op_text[i] = api_op_text(&b->ops[i]);
}

/*
 * Apply the ops to sim as ops before + 1, ...; how many were applied: all
 * of them, or fewer when one was refused or the budget ran out (answered in
 * rep).  A refused op leaves the state as it was; the caller undoes the
 * others.
 */
static size_t batch_apply(struct batch *b, struct sim *sim, long before,
			  struct reply *rep)
{
	unsigned long budget = g_cfg->max_batch_cost;
	struct api_error err;
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct sim_result res;
		int ret;

		batch_trace_limits(b, sim);
		ret = api_apply_op(sim, &b->ops[i], &res, &err);
		sim_trace_limits(sim, SIM_TRACE_REPEAT, 0);
		if (ret) {
			reply_api_error(rep, &err, (long)i);
			return i;
		}
		b->cost += res.cost;
		if (budget && b->cost > budget) {
			char detail[240];

			snprintf(detail, sizeof(detail), "the batch cost %lu "
				 "by op %zu, over the budget of %lu per "
				 "request; it was stopped and nothing was "
				 "applied", b->cost, i, budget);
			problem_json(rep, 422, "budget-exceeded", "ops", detail,
				     (long)i);
			return i + 1;
		}
		b->events_kept += res.nr_events;
		b->events_capped |= b->all_events && res.events_omitted;
		batch_result(b, i, before + (long)i + 1, &res);
	}
	return i;
}

/*
 * A failed batch is rebuilt from the latest snapshot and the ops after it:
 * cheap when this history queued a snapshot fewer than snapshot_every ops
 * before.  Otherwise (snapshots off, a session just loaded, rewound or
 * cloned) that rebuild could replay a long journal, and a copy of the
 * state is taken first, as every batch of several ops once did.
 */
static bool undo_needs_copy(const struct session *s, long before)
{
	unsigned long every = g_cfg->snapshot_every;

	return !every || !s->snap_seq ||
	       (unsigned long)(before - s->snap_seq) >= every;
}

/* Put back the state before the batch: its copy, else a rebuild. */
static void batch_undo(struct session *s, long before, const char *undo,
		       size_t undo_len)
{
	char msg[160];
	struct sim *back;

	if (!undo) {
		session_rollback(s, before);
		return;
	}
	metrics_batch_undo(true);
	back = sim_load(undo, undo_len, msg, sizeof(msg));
	if (!back) {
		log_msg(LOG_ERR, "session %ld: cannot restore: %s", s->id, msg);
		session_rollback(s, before);
		return;
	}
	sim_free(s->sim);
	s->sim = back;
}

/*
 * Parse every op of the batch, apply them, then queue their journal rows
 * (committed in one transaction), and answer once they are durable.
 * A refusal or the budget puts the state back: a batch is applied whole
 * or not at all.  Only ops already applied need undoing, so a refused
 * single op (or first op) costs nothing more.  The undo is mostly a
 * rebuild from the database (session_rollback), paid by the batch that
 * fails: a copy taken before every batch of several ops cost each of
 * them a dump of the whole session, whatever the batch's size.  A failed
 * commit is undone later, by session_restore().
 */
static size_t apply_ops(struct session *s, const cJSON *list, bool all_events,
			struct reply *rep, size_t *bytes)
{
	struct batch b = { 0 };
	long before = s->version;
	char *undo = NULL;
	size_t undo_len = 0, done, applied = 0;
	enum db_fault f;
	char why[256];

	/*
	 * While the store is known to refuse writes, refused before the state
	 * changes: a failed commit would have to read the state back from a
	 * database that may not answer reads either (PostgreSQL gone).
	 */
	if (db_last_fault(g_db, why, sizeof(why)) &&
	    (f = db_health(g_db, why, sizeof(why)))) {
		reply_storage(rep, f, why, "the ops were not applied");
		return 0;
	}
	if (batch_parse(&b, list, false, rep))
		goto out;
	b.all_events = all_events;
	if (!batch_within_budget(&b, s->sim, rep))
		goto out;
	session_fit_limits(s);
	if (b.n > 1 && undo_needs_copy(s, before))
		undo = sim_dump(s->sim, &undo_len);
	done = batch_apply(&b, s->sim, before, rep);
	if (done < b.n || rep->status) {
		if (done)
			batch_undo(s, before, undo, undo_len);
		goto out;
	}
	if (b.n) {
		uint64_t ticket = db_queue_ops(g_db, s->id, s->gen,
					       session_cuts(s), before + 1,
					       b.n, b.op_text);

		if (!ticket) {
			reply_problem(rep, 503, "out-of-memory", "",
				      "out of memory");
			batch_undo(s, before, undo, undo_len);
			goto out;
		}
		__atomic_store_n(&s->last_ticket, ticket, __ATOMIC_RELAXED);
	}
	session_set_version(s, s->version + (long)b.n);
	for (done = 0; done < b.n; done++)
		*bytes += strlen(b.op_text[done]);
	if (b.n)
		quota_touch(s);
	metrics_ops(b.n);
	maybe_snapshot(s, before);
	jw_array_end(&b.results);
	jw_klong(&b.results, "version", s->version);
	jw_kulong(&b.results, "cost", b.cost);
	jw_kulong(&b.results, "budget", g_cfg->max_batch_cost);
	if (b.all_events)
		jw_kbool(&b.results, "events_capped", b.events_capped);
	jw_object_end(&b.results);
	reply_jw(rep, 200, &b.results);
	applied = b.n;
out:
	free(undo);
	batch_free(&b);
	return applied;
}

/* ---- sessions ---- */

static cJSON *session_json(const struct session *s)
{
	cJSON *o = cJSON_CreateObject();
	char url[64];

	cJSON_AddNumberToObject(o, "id", (double)s->id);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "mode", sim_mode_name(s->cfg.mode));
	cJSON_AddBoolToObject(o, "zero_page", !s->cfg.no_zero_page);
	cJSON_AddNumberToObject(o, "version", (double)session_durable(s));
	if (s->owner)
		cJSON_AddNumberToObject(o, "owner", (double)s->owner);
	else
		cJSON_AddNullToObject(o, "owner");
	cJSON_AddStringToObject(o, "visibility", visibility_name(
		__atomic_load_n(&s->visibility, __ATOMIC_RELAXED)));
	snprintf(url, sizeof(url), "/api/v1/sessions/%ld", s->id);
	cJSON_AddStringToObject(o, "url", url);
	return o;
}

struct listing {
	cJSON *arr;
	const struct caller *who;
};

/* a list shows only what its caller may read */
static void list_one(const struct session *s, void *arg)
{
	struct listing *l = arg;

	if (authz_may_read(l->who, s))
		cJSON_AddItemToArray(l->arr, session_json(s));
}

static void override(cJSON *config, const cJSON *body, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	if (!v)
		return;
	cJSON_DeleteItemFromObject(config, key);
	cJSON_AddItemToObject(config, key, cJSON_Duplicate(v, true));
}

/*
 * A lesson runs on a scratch state first: one the limits refuse leaves no
 * session behind, and the session is then created with its journal whole.
 */
static int lesson_run(const cJSON *steps, struct sim_config cfg,
		      struct batch *b, struct reply *rep)
{
	struct sim *sim;
	size_t done;

	if (batch_parse(b, steps, true, rep))
		return -1;
	cfg.limits = g_cfg->limits;
	sim = sim_new(&cfg);
	if (!sim) {
		reply_problem(rep, 503, "out-of-memory", "", "out of memory");
		return -1;
	}
	done = batch_apply(b, sim, 0, rep);
	sim_free(sim);
	return done == b->n && !rep->status ? 0 : -1;
}

/* session_create() said no: the session limit, or the database */
static void reply_not_created(struct reply *rep, bool full, const char *what)
{
	if (full)
		reply_problem(rep, 429, "too-many-sessions", "", "the daemon "
			      "holds its maximum of %lu sessions",
			      g_cfg->max_sessions);
	else
		reply_write_failed(rep, what);
}

static void create_session(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "name", "mode", "zero_page",
					      "overcommit_memory", "scenario",
					      NULL };
	cJSON *body = parse_body(req, rep), *config, *lesson = NULL;
	const cJSON *name, *scen;
	struct sim_config cfg;
	struct api_error err;
	struct session *s;
	struct batch b = { 0 };
	struct session_origin origin = { 0 };
	struct jw config_text;
	bool full;

	if (!body || !only_fields(body, fields, rep))
		goto out;
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	if (name && (!cJSON_IsString(name) || !valid_name(name->valuestring, NAME_MAX_LEN))) {
		reply_problem(rep, 422, "invalid-value", "name", "a session name "
			      "is 1-100 letters, digits, spaces or . _ -");
		goto out;
	}
	scen = cJSON_GetObjectItemCaseSensitive(body, "scenario");
	if (scen) {
		int i = cJSON_IsString(scen) ? api_lesson_find(scen->valuestring) : -1;

		if (i < 0) {
			reply_problem(rep, 422, "no-such-scenario", "scenario",
				      "no built-in scenario by that name (see "
				      "/api/v1/scenarios)");
			goto out;
		}
		lesson = api_lesson_json((size_t)i, true);
	}
	/* the lesson's config, overridden by what the request says */
	config = cJSON_Duplicate(cJSON_GetObjectItem(lesson, "config"), true);
	if (!config)
		config = cJSON_CreateObject();
	override(config, body, "mode");
	override(config, body, "zero_page");
	override(config, body, "overcommit_memory");
	if (api_parse_config(config, &cfg, &err)) {
		reply_api_error(rep, &err, -1);
		cJSON_Delete(config);
		goto out;
	}
	cJSON_Delete(config);
	if (lesson && lesson_run(cJSON_GetObjectItem(lesson, "steps"), cfg, &b,
				 rep))
		goto out;
	origin.nr_ops = b.n;
	origin.ops = b.op_text;
	origin.owner = req->who->user;
	jw_init(&config_text, 128);
	api_write_config(&config_text, &cfg, false);
	s = session_create(name ? name->valuestring :
			   scen ? scen->valuestring : "session", jw_text(&config_text),
			   &origin, &full);
	jw_free(&config_text);
	if (!s) {
		reply_not_created(rep, full, "the session was not created");
		goto out;
	}
	metrics_ops(b.n);
	snprintf(rep->location, sizeof(rep->location), "/api/v1/sessions/%ld",
		 s->id);
	reply_json(rep, 201, session_json(s));
	session_put(s);
out:
	batch_free(&b);
	cJSON_Delete(lesson);
	cJSON_Delete(body);
}

/* ---- journal, rewind, snapshots ---- */

struct journal_ctx {
	struct jw *w;
	long last;
};

/*
 * An entry: the op as journaled, its result as replay gives it again (as
 * the op's answer had it: the op first, the seq last, the fields that
 * api_write_journal_result() writes between).
 */
static int journal_row(long seq, const char *op_text, const struct sim_op *op,
		       const struct sim_result *res, void *arg)
{
	struct journal_ctx *c = arg;
	size_t op_len = strlen(op_text), len;
	struct jw stored;
	const char *fields;

	jw_init(&stored, 256);
	api_write_journal_result(&stored, op, res);
	fields = jw_text(&stored);
	len = strlen(fields);
	jw_object(c->w);
	jw_klong(c->w, "seq", seq);
	jw_key(c->w, "op");
	jw_raw(c->w, op_text, op_len);
	jw_key(c->w, "result");
	jw_object(c->w);
	jw_key(c->w, "op");
	jw_raw(c->w, op_text, op_len);
	jw_raw(c->w, fields + 1, len - 2);	/* its fields, braces off */
	jw_klong(c->w, "seq", seq);
	jw_object_end(c->w);
	jw_object_end(c->w);
	jw_free(&stored);
	c->last = seq;
	return 0;
}

static void get_journal(const struct request *req, struct session *s,
			struct reply *rep)
{
	long from = 0, limit = 100, version;
	const char *q_from = req->query(req->conn, "from");
	const char *q_limit = req->query(req->conn, "limit");
	struct jw out;
	struct journal_ctx c = { &out, 0 };

	if ((q_from && !parse_long(q_from, 1L << 40, &from)) ||
	    (q_limit && (!parse_long(q_limit, 1000, &limit) || !limit))) {
		reply_problem(rep, 400, "invalid-query", q_from ? "from" : "limit",
			      "from is an op number, limit 1 to 1000");
		return;
	}
	if (session_settle(s)) {
		reply_storage(rep, DB_FAULT_IO, "the database failed",
			      "the journal could not be read");
		return;
	}
	/* a pinned share link reads the journal up to its step */
	version = req->who->pin >= 0 && req->who->pin < s->version ?
		  req->who->pin : s->version;
	jw_init(&out, 4096);
	jw_object(&out);
	jw_klong(&out, "version", version);
	jw_key(&out, "ops");
	jw_array(&out);
	if (from < version &&
	    session_journal(s, from, from + limit < version ? from + limit :
			    version, journal_row, &c)) {
		jw_free(&out);
		reply_storage(rep, DB_FAULT_IO, "its replay failed",
			      "the journal could not be read");
		return;
	}
	jw_array_end(&out);
	if (c.last && c.last < version)
		jw_klong(&out, "next", c.last);
	else
		jw_knull(&out, "next");
	jw_object_end(&out);
	reply_jw(rep, 200, &out);
}

/* The state after op `to`; later history is discarded. */
static int rewind_to(struct session *s, long to, struct reply *rep)
{
	char err[200];
	struct sim *sim;

	if (session_settle(s)) {
		reply_write_failed(rep, "the rewind was not done");
		return -1;
	}
	if (to < 0 || to > s->version) {
		reply_problem(rep, 422, "invalid-value", "to", "to must be "
			      "between 0 and the version (%ld)", s->version);
		return -1;
	}
	sim = session_build(s, to, err, sizeof(err));
	if (!sim) {
		reply_storage(rep, DB_FAULT_IO, err, "the rewind was not done");
		return -1;
	}
	if (db_rewind(g_db, s->id, to)) {
		sim_free(sim);
		reply_write_failed(rep, "the rewind was not done");
		return -1;
	}
	s->cuts++;	/* this node's copy knows of its own cut */
	sim_free(s->sim);
	s->sim = sim;
	session_new_history(s, to);
	return 0;
}

static void post_rewind(const struct request *req, struct session *s,
			struct reply *rep)
{
	static const char *const fields[] = { "to", NULL };
	cJSON *body = parse_body(req, rep), *o;
	const cJSON *to;

	if (!body || !only_fields(body, fields, rep))
		goto out;
	to = cJSON_GetObjectItemCaseSensitive(body, "to");
	if (!cJSON_IsNumber(to)) {
		reply_problem(rep, 422, "invalid-type", "to", "to is an integer "
			      "op number");
		goto out;
	}
	/* the range first: outside long's, the cast is undefined */
	if (!(to->valuedouble >= 0) || to->valuedouble > (double)s->version ||
	    (double)(long)to->valuedouble != to->valuedouble) {
		reply_problem(rep, 422, "invalid-value", "to", "to is a whole "
			      "op number from 0 to the version (%ld)", s->version);
		goto out;
	}
	if (rewind_to(s, (long)to->valuedouble, rep))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", (double)s->version);
	reply_json(rep, 200, o);
out:
	cJSON_Delete(body);
}

static void list_snapshot(const char *name, long seq, void *arg)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddNumberToObject(e, "seq", (double)seq);
	cJSON_AddItemToArray(arg, e);
}

static void post_snapshot(const struct request *req, struct session *s,
			  struct reply *rep)
{
	static const char *const fields[] = { "name", NULL };
	cJSON *body = parse_body(req, rep), *o;
	const cJSON *name;
	size_t len;
	char *dump;
	int rc;

	if (!body || !only_fields(body, fields, rep))
		goto out;
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	if (!cJSON_IsString(name) || !valid_name(name->valuestring, 63) ||
	    strchr(name->valuestring, ' ')) {
		reply_problem(rep, 422, "invalid-value", "name", "a snapshot name "
			      "is 1-63 letters, digits or . _ -");
		goto out;
	}
	/* a snapshot names a durable version */
	if (session_settle(s)) {
		reply_write_failed(rep, "the snapshot was not stored");
		goto out;
	}
	dump = sim_dump(s->sim, &len);
	rc = db_snapshot_put(g_db, s->id, s->version, name->valuestring, dump,
			     len);
	free(dump);
	if (!rc)
		quota_charge(req->who, 0, len);
	if (rc == DB_EXISTS) {
		reply_problem(rep, 409, "snapshot-exists", "name", "this session "
			      "already has a snapshot named '%s'",
			      name->valuestring);
		goto out;
	}
	if (rc) {
		reply_write_failed(rep, "the snapshot was not stored");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name->valuestring);
	cJSON_AddNumberToObject(o, "seq", (double)s->version);
	snprintf(rep->location, sizeof(rep->location),
		 "/api/v1/sessions/%ld/snapshots/%s", s->id, name->valuestring);
	reply_json(rep, 201, o);
out:
	cJSON_Delete(body);
}

/*
 * "SESSION SNAPSHOT", cut to the 100 characters of any session name (and
 * without the trailing space a cut can leave).
 */
static void clone_name(char *out, const char *session, const char *snapshot)
{
	char full[sizeof(((struct session *)0)->name) + 80];
	size_t n;

	snprintf(full, sizeof(full), "%s %s", session, snapshot);
	n = strnlen(full, NAME_MAX_LEN);
	memcpy(out, full, n);
	out[n] = '\0';
	while (n > 1 && out[n - 1] == ' ')
		out[--n] = '\0';
}

/*
 * A clone may name op N of the journal as "@N" (no snapshot name has an
 * @), so that a student takes a copy of the step a live lesson shows
 * without its owner saving a snapshot at every step.
 */
static bool clone_point(const struct session *s, const char *name,
			const char *action, long *seq)
{
	if (strcmp(action, "clone") || name[0] != '@')
		return false;
	return parse_long(name + 1, s->version, seq);
}

static void snapshot_action(const struct request *req, struct session *s,
			    const char *name, const char *action,
			    struct reply *rep)
{
	struct session_origin origin = { .clone_of = s->id,
					 .owner = req->who->user };
	struct session *copy;
	char config[512], cname[NAME_MAX_LEN + 1];
	long seq;
	bool full;
	cJSON *o;

	if (session_settle(s)) {
		reply_write_failed(rep, "nothing was done");
		return;
	}
	if (!clone_point(s, name, action, &seq) &&
	    db_snapshot_named(g_db, s->id, name, &seq)) {
		reply_problem(rep, 404, "no-such-snapshot", "name",
			      "no snapshot '%.63s'", name);
		return;
	}
	origin.upto = seq;
	if (!strcmp(action, "restore")) {
		if (rewind_to(s, seq, rep))
			return;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "version", (double)s->version);
		reply_json(rep, 200, o);
		return;
	}
	snprintf(config, sizeof(config), "%s", s->config_json);
	clone_name(cname, s->name, name);
	copy = session_create(cname, config, &origin, &full);
	if (!copy) {
		reply_not_created(rep, full, "the clone was not made");
		return;
	}
	snprintf(rep->location, sizeof(rep->location), "/api/v1/sessions/%ld",
		 copy->id);
	reply_json(rep, 201, session_json(copy));
	session_put(copy);
}

/* ---- reading the state ---- */

/*
 * The state a read sees: now, or after op ?version=N, rebuilt from the
 * journal for this request alone, so that looking back in time (a student
 * paging through a teacher's steps) never rewinds anyone's session.
 */
static struct sim *sim_at(const struct request *req, struct session *s,
			  struct reply *rep)
{
	const char *q = req->query(req->conn, "version");
	char err[200] = "the journal could not be read";
	long pin = req->who->pin;
	struct sim *sim;
	long v;

	if (pin >= 0 && pin <= s->version && (!q || (parse_long(q, pin, &v) &&
						     v == pin))) {
		v = pin;	/* a pinned share link sees its step alone */
	} else if (pin >= 0) {
		reply_problem(rep, 404, "no-such-session", "id", "no session "
			      "%ld", s->id);
		return NULL;
	} else if (!q) {
		return s->sim;
	} else if (!parse_long(q, s->version, &v)) {
		reply_problem(rep, 400, "invalid-query", "version", "version "
			      "is an op number from 0 to the version (%ld)",
			      s->version);
		return NULL;
	}
	if (v == s->version)
		return s->sim;
	/* rebuilt from the journal, which must hold op v */
	if (session_settle(s) || v > s->version) {
		reply_problem(rep, 503, "storage-failed", "", "the state at op "
			      "%ld could not be rebuilt: the session was put "
			      "back to its durable version %ld", v, s->version);
		return NULL;
	}
	if (v == s->version)
		return s->sim;
	sim = session_build(s, v, err, sizeof(err));
	if (!sim)
		reply_problem(rep, 503, "storage-failed", "", "the state at op "
			      "%ld could not be rebuilt: %s", v, err);
	return sim;
}

static void sim_at_put(struct session *s, struct sim *sim)
{
	if (sim != s->sim)
		sim_free(sim);
}

static void get_walk(const struct request *req, struct session *s,
		     const char *pfn_text, struct reply *rep)
{
	const struct rmap_walk_result *w;
	struct sim *sim;
	long pfn;

	if (!parse_long(pfn_text, 1L << 40, &pfn)) {
		reply_problem(rep, 404, "no-such-frame", "pfn", "no frame with "
			      "pfn %.30s", pfn_text);
		return;
	}
	sim = sim_at(req, s, rep);
	if (!sim)
		return;
	w = sim_rmap_walk(sim, (unsigned long)pfn);
	if (w) {
		struct jw out;

		jw_init(&out, 1024 + w->nr_visits * 100 + w->nr_probes * 100);
		api_write_walk(&out, w);
		reply_jw(rep, 200, &out);
	} else {
		reply_problem(rep, 404, "no-such-frame", "pfn", "no frame with "
			      "pfn %.30s", pfn_text);
	}
	sim_at_put(s, sim);
}

static void get_check(const struct request *req, struct session *s,
		      struct reply *rep)
{
	struct sim_check_report r = { 0 };
	struct sim *sim = sim_at(req, s, rep);
	struct jw out;

	if (!sim)
		return;
	sim_check(sim, &r);
	jw_init(&out, 256);
	api_write_check(&out, &r);
	reply_jw(rep, 200, &out);
	sim_check_report_free(&r);
	sim_at_put(s, sim);
}

/* about what the whole state takes, so its buffer grows seldom if ever */
static size_t state_size_guess(const struct sim *sim)
{
	const struct mm_struct *mm;
	size_t ptes = 0;

	list_for_each_entry(mm, &sim->mms, node)
		ptes += mm->nr_ptes;
	return 4096 + ptes * 96 + sim->nr_vmas * 256 + sim->nr_avcs * 160 +
	       sim->nr_frames * 144;
}

static void get_dot(const struct request *req, struct session *s,
		    struct reply *rep)
{
	struct sim *sim = sim_at(req, s, rep);

	if (!sim)
		return;
	reply_text(rep, 200, "text/vnd.graphviz", api_graph_dot(sim));
	sim_at_put(s, sim);
}

static void get_state(const struct request *req, struct session *s,
		      struct reply *rep)
{
	const char *view = req->query(req->conn, "view");
	bool summary = view && !strcmp(view, "summary");
	struct sim *sim = sim_at(req, s, rep);
	struct jw out;

	if (!sim)
		return;
	if (summary)
		jw_init(&out, 512);
	else
		bufs_jw_init(&out, state_size_guess(sim));
	jw_object(&out);
	api_write_state_fields(&out, sim, summary);
	jw_klong(&out, "id", s->id);
	jw_kstring(&out, "name", s->name);
	if (sim != s->sim && req->who->pin < 0)
		jw_klong(&out, "latest", s->version);
	jw_object_end(&out);
	reply_jw(rep, 200, &out);
	rep->recycle = !summary;
	sim_at_put(s, sim);
}

/* ---- dispatch ---- */

static int split(char *path, char **seg, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(path, "/", &save); t && n < max;
	     t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	return t ? max + 1 : n;
}

bool method_is(const struct request *req, const char *m, struct reply *rep,
	       const char *allow)
{
	if (!strcmp(req->method, m))
		return true;
	snprintf(rep->allow, sizeof(rep->allow), "%s", allow);
	if (!rep->status)
		reply_problem(rep, 405, "method-not-allowed", "", "%s is not "
			      "allowed here; allowed: %s", req->method, allow);
	return false;
}

/* ?events=all (every step, up to EVENTS_ALL_CAP) or ?events=summary */
static bool events_query(const struct request *req, bool *all,
			 struct reply *rep)
{
	const char *v = req->query(req->conn, "events");

	*all = v && !strcmp(v, "all");
	if (!v || *all || !strcmp(v, "summary"))
		return true;
	reply_problem(rep, 400, "invalid-query", "events", "events is 'all' "
		      "or 'summary'");
	return false;
}

/*
 * An answer built on the session's state leaves once every row queued for
 * that state is committed (under --sync off: at once, as if it were).
 */
static void commit_wait(struct session *s, struct reply *rep)
{
	if (s->deleted || rep->status >= 300)
		return;
	if (db_sync(g_db) == DB_SYNC_OFF) {
		session_mark_durable(s->id, s->gen, s->version);
		return;
	}
	/* settled already, maybe failed: route_committed() tells */
	if (db_resolved(g_db, s->last_ticket) &&
	    !db_history_failed(g_db, s->id, s->gen)) {
		if (session_durable(s) < s->version)
			session_mark_durable(s->id, s->gen, s->version);
		return;
	}
	rep->wait_ticket = s->last_ticket;
	rep->wait_session = s->id;
	rep->wait_gen = s->gen;
	rep->wait_version = s->version;
}

/*
 * An op POST's body, parsed before the session's lock was taken: the
 * parsed tree, or its refusal moved into rep (then NULL).
 */
static cJSON *posted_body(cJSON **parsed, struct reply *refusal,
			  struct reply *rep)
{
	cJSON *body = *parsed;

	*parsed = NULL;
	if (!body) {
		*rep = *refusal;
		*refusal = (struct reply){ 0 };
	}
	return body;
}

static void session_route(const struct request *req, char **seg, int n,
			  struct reply *rep, const char **name)
{
	static const char *const batch_fields[] = { "ops", NULL };
	struct session *s;
	struct reply refusal = { 0 };
	cJSON *body, *o, *parsed = NULL;
	bool all_events;

	/*
	 * Workers posting to one session queue on its lock: its body is
	 * parsed first, outside it.  A refusal of the body waits for the
	 * session's own checks, which come first.
	 */
	if (n == 5 && !strcmp(seg[4], "ops") && !strcmp(req->method, "POST"))
		parsed = parse_body(req, &refusal);
	s = get_session(seg[3], rep);
	if (!s)
		goto out;
	if (n == 4) {
		*name = "/api/v1/sessions/{id}";
		if (!strcmp(req->method, "DELETE")) {
			if (session_delete(s))
				reply_write_failed(rep, "the session was not "
						   "deleted");
			else
				rep->status = 204;
		} else if (method_is(req, "GET", rep, "GET, DELETE")) {
			get_state(req, s, rep);
		}
	} else if (n == 5 && !strcmp(seg[4], "ops")) {
		*name = "/api/v1/sessions/{id}/ops";
		if (!strcmp(req->method, "GET")) {
			get_journal(req, s, rep);
		} else if (method_is(req, "POST", rep, "GET, POST") &&
			   events_query(req, &all_events, rep) &&
			   (body = posted_body(&parsed, &refusal, rep))) {
			const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "ops");
			cJSON *one = NULL;

			if (!list && !cJSON_GetObjectItemCaseSensitive(body, "op")) {
				reply_problem(rep, 422, "missing-field", "op",
					      "the body is one op {\"op\":...} or "
					      "a batch {\"ops\":[...]}");
			} else if (list && !only_fields(body, batch_fields, rep)) {
				/* answered: a batch is {"ops":[...]} alone */
			} else if (list && !cJSON_IsArray(list)) {
				reply_problem(rep, 422, "invalid-type", "ops",
					      "'ops' must be an array");
			} else {
				if (!list) {
					one = cJSON_CreateArray();
					cJSON_AddItemReferenceToArray(one, body);
				}
				size_t bytes = 0, n_ops = apply_ops(
					s, list ? list : one, all_events, rep,
					&bytes);

				quota_charge(req->who, n_ops, bytes);
				cJSON_Delete(one);
			}
			cJSON_Delete(body);
		}
	} else if (n == 5 && !strcmp(seg[4], "rewind")) {
		*name = "/api/v1/sessions/{id}/rewind";
		if (method_is(req, "POST", rep, "POST"))
			post_rewind(req, s, rep);
	} else if (n == 5 && !strcmp(seg[4], "check")) {
		*name = "/api/v1/sessions/{id}/check";
		if (method_is(req, "GET", rep, "GET"))
			get_check(req, s, rep);
	} else if (n == 5 && !strcmp(seg[4], "graph.dot")) {
		*name = "/api/v1/sessions/{id}/graph.dot";
		if (method_is(req, "GET", rep, "GET"))
			get_dot(req, s, rep);
	} else if (n == 5 && !strcmp(seg[4], "events")) {
		*name = "/api/v1/sessions/{id}/events";
		if (method_is(req, "GET", rep, "GET")) {
			const char *since = req->query(req->conn, "since");
			const char *cuts = req->query(req->conn, "cuts");
			long v = session_durable(s), c = -1;

			if (since && !parse_long(since, 1L << 40, &v))
				v = session_durable(s);
			if (cuts && !parse_long(cuts, 1L << 40, &c))
				c = -1;
			rep->status = 200;
			rep->ctype = "text/event-stream";
			rep->stream_session = s->id;
			rep->stream_version = v;
			rep->stream_cuts = c;
		}
	} else if (n == 7 && !strcmp(seg[4], "frames") && !strcmp(seg[6], "walk")) {
		*name = "/api/v1/sessions/{id}/frames/{pfn}/walk";
		if (method_is(req, "GET", rep, "GET"))
			get_walk(req, s, seg[5], rep);
	} else if (n == 5 && !strcmp(seg[4], "snapshots")) {
		*name = "/api/v1/sessions/{id}/snapshots";
		if (!strcmp(req->method, "GET")) {
			o = cJSON_CreateObject();
			db_snapshot_list(g_db, s->id, list_snapshot,
					 cJSON_AddArrayToObject(o, "snapshots"));
			reply_json(rep, 200, o);
		} else if (method_is(req, "POST", rep, "GET, POST")) {
			post_snapshot(req, s, rep);
		}
	} else if (n == 7 && !strcmp(seg[4], "snapshots") &&
		   (!strcmp(seg[6], "restore") || !strcmp(seg[6], "clone"))) {
		*name = !strcmp(seg[6], "restore") ?
			"/api/v1/sessions/{id}/snapshots/{name}/restore" :
			"/api/v1/sessions/{id}/snapshots/{name}/clone";
		if (method_is(req, "POST", rep, "POST"))
			snapshot_action(req, s, seg[5], seg[6], rep);
	} else {
		reply_problem(rep, 404, "not-found", "", "no such resource");
	}
	commit_wait(s, rep);
	session_put(s);
out:
	cJSON_Delete(parsed);
	free(refusal.body);
}

static void scenarios_route(const struct request *req, char **seg, int n,
			    struct reply *rep, const char **name)
{
	cJSON *arr;
	size_t i;
	int k;

	if (!method_is(req, "GET", rep, "GET"))
		return;
	if (n == 3) {
		*name = "/api/v1/scenarios";
		arr = cJSON_CreateArray();
		for (i = 0; i < api_lesson_count(); i++)
			cJSON_AddItemToArray(arr, api_lesson_json(i, false));
		reply_json(rep, 200, arr);
		return;
	}
	*name = "/api/v1/scenarios/{name}";
	k = api_lesson_find(seg[3]);
	if (k < 0) {
		reply_problem(rep, 404, "no-such-scenario", "name",
			      "no scenario '%.60s'", seg[3]);
		return;
	}
	reply_json(rep, 200, api_lesson_json((size_t)k, true));
}

/* a request made again once its state was put back: not in a loop */
#define REREAD_MAX	3

/*
 * The commit an answer waited for is settled.  If it failed, the answer
 * was built on a state that is gone: a read is built again on the state
 * put back.  So is a write whose ops another node's seq fenced (a
 * conflict): none of them was committed, so it is made again on the
 * session reloaded, as if this node had just loaded it.
 */
void route_committed(const struct config *cfg, const struct request *req,
		     struct reply *rep, const char **route_name)
{
	struct session *s;
	bool conflict;
	int tries;

	for (tries = 0; rep->wait_ticket; tries++) {
		db_wait(g_db, rep->wait_ticket);
		if (!db_history_failed(g_db, rep->wait_session, rep->wait_gen)) {
			session_mark_durable(rep->wait_session, rep->wait_gen,
					     rep->wait_version);
			rep->wait_ticket = 0;
			return;
		}
		conflict = db_history_conflict(g_db, rep->wait_session,
					       rep->wait_gen);
		/* put it back now rather than at its next request */
		s = session_get(rep->wait_session);
		if (s)
			session_put(s);
		free(rep->body);
		*rep = (struct reply){ 0 };
		if (tries == REREAD_MAX && conflict) {
			reply_problem(rep, 503, "conflict", "", "other nodes "
				      "kept writing this session; nothing of "
				      "this request was applied, try again");
			rep->retry_after = 1;
			return;
		}
		if ((strcmp(req->method, "GET") && !conflict) ||
		    tries == REREAD_MAX) {
			reply_write_failed(rep, "the journal could not be "
					   "written; the session is back at "
					   "its last durable version");
			return;
		}
		route(cfg, req, rep, route_name);
	}
}

extern const char *const api_openapi_src[];

/* Ready: not shutting down, and the database takes writes; else why not. */
static bool ready(struct reply *rep)
{
	enum db_fault f;
	char why[300];

	if (http_stopping()) {
		reply_problem(rep, 503, "not-ready", "", "rmapd is shutting down");
		return false;
	}
	f = db_health(g_db, why, sizeof(why));
	if (f) {
		reply_storage(rep, f, why, "writes are refused");
		return false;
	}
	return true;
}

void route(const struct config *cfg, const struct request *req,
	   struct reply *rep, const char **name)
{
	size_t plen = strlen(req->path);
	char path[512], *seg[9];
	int n;

	*name = "static";
	if (plen >= sizeof(path)) {
		reply_problem(rep, 414, "uri-too-long", "", "the path is too long");
		return;
	}
	if (authz_gate(cfg, req, rep))
		return;
	memcpy(path, req->path, plen + 1);
	n = split(path, seg, 8);
	if (n == 1 && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "readyz"))) {
		cJSON *o = cJSON_CreateObject();

		*name = seg[0][0] == 'h' ? "/healthz" : "/readyz";
		if (!method_is(req, "GET", rep, "GET")) {
			cJSON_Delete(o);
			return;
		}
		if (seg[0][0] == 'r' && !ready(rep)) {
			cJSON_Delete(o);
			return;
		}
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddNumberToObject(o, "sessions", (double)sessions_count());
		cJSON_AddStringToObject(o, "auth", cfg->auth ? "on" : "off");
		if (cfg->allow_remote && !cfg->auth)
			cJSON_AddStringToObject(o, "warning", "--allow-remote: "
						"anyone who reaches this "
						"address may read and change "
						"every session (no --auth)");
		reply_json(rep, 200, o);
		return;
	}
	if (n == 1 && !strcmp(seg[0], "metrics")) {
		*name = "/metrics";
		if (method_is(req, "GET", rep, "GET")) {
			size_t len;

			reply_text(rep, 200, "text/plain; version=0.0.4",
				   metrics_render(&len));
		}
		return;
	}
	if (n < 2 || strcmp(seg[0], "api") || strcmp(seg[1], "v1")) {
		if (method_is(req, "GET", rep, "GET"))
			serve_static(cfg, req->path, rep);
		return;
	}
	*name = "api";
	if (n == 3 && !strcmp(seg[2], "openapi.json")) {
		*name = "/api/v1/openapi.json";
		if (method_is(req, "GET", rep, "GET"))
			reply_text(rep, 200, "application/json",
				   strdup(api_openapi_src[0]));
	} else if (n >= 3 && n <= 4 && !strcmp(seg[2], "scenarios")) {
		scenarios_route(req, seg, n, rep, name);
	} else if (n == 3 && !strcmp(seg[2], "sessions")) {
		*name = "/api/v1/sessions";
		if (!strcmp(req->method, "GET")) {
			struct listing l = { cJSON_CreateArray(), req->who };

			sessions_refresh();
			sessions_each(list_one, &l);
			reply_json(rep, 200, l.arr);
		} else if (method_is(req, "POST", rep, "GET, POST")) {
			create_session(req, rep);
		}
	} else if (auth_route(cfg, req, seg, n, rep, name)) {
		/* login, logout, me, shares, visibility: answered */
	} else if (n >= 4 && n <= 7 && !strcmp(seg[2], "sessions")) {
		session_route(req, seg, n, rep, name);
	} else {
		reply_problem(rep, 404, "not-found", "", "no such resource");
	}
}
