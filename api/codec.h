/* SPDX-License-Identifier: MIT */
/*
 * codec.h - JSON <-> engine: the one place that knows how engine objects
 * look in JSON.  The HTTP routes (routes.c), `rmapd run` (run.c) and the
 * snapshot code all go through here, so an object has exactly one shape.
 */
#ifndef RMAPD_API_CODEC_H
#define RMAPD_API_CODEC_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "../engine/sim.h"

/* A refusal of the daemon (becomes application/problem+json). */
struct api_error {
	int status;		/* HTTP status: 400, 404, 409, 413, 422, 429 */
	const char *type;	/* stable slug, e.g. "invalid-field" */
	char detail[240];	/* in words */
	char field[64];		/* the JSON field at fault, "" if none */
};

void api_error_set(struct api_error *err, int status, const char *type,
		   const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- text.c ---- */
/*
 * The length of the UTF-8 character at s (avail bytes there), or 0 when it
 * is none (RFC 3629); *cut then tells a character the end broke off.
 */
size_t api_utf8_char(const unsigned char *s, size_t avail, bool *cut);
/* Whether s[0..len) is UTF-8 as RFC 3629 defines it. */
bool api_utf8_valid(const char *s, size_t len);
/*
 * src into dst (size bytes) as valid UTF-8 for an error document: whole
 * characters only, a character cut short by a truncation dropped, any other
 * invalid byte replaced by U+FFFD.
 */
void api_utf8_clean(char *dst, size_t size, const char *src);
/*
 * NULL if s[0..len) is UTF-8 with no control byte outside the whitespace
 * JSON allows between tokens and none raw inside a string, else why not.
 */
const char *api_json_text_error(const char *s, size_t len);

/* Parse one operation object into op; 0, or -1 with err filled. */
int api_parse_op(const cJSON *json, struct sim_op *op, struct api_error *err);

/* Apply one parsed op: sim_apply + the engine's refusal as an api_error. */
int api_apply_op(struct sim *sim, const struct sim_op *op,
		 struct sim_result *res, struct api_error *err);

/*
 * Writers (jw.h): each writes one JSON value, except the _fields ones, which
 * write fields into an object the caller opened, so that it can add its own
 * (the daemon's "seq", "id", "name") before it closes it.
 */
struct jw;
/* The op in canonical form (what the journal stores). */
void api_write_op(struct jw *w, const struct sim_op *op);
/* the same as a text (malloc'd) */
char *api_op_text(const struct sim_op *op);
/* One op's answer: op, outcome, value, cost, walk (reclaim ops), events. */
void api_write_result_fields(struct jw *w, const struct sim_op *op,
			     const struct sim_result *res);
/*
 * What the journal keeps of an answer, bounded whatever the session holds:
 * the outcome, value and cost, the events folded as a default answer folds
 * them; not the op (stored beside it) nor the walk (GET .../walk, replay).
 */
void api_write_journal_result(struct jw *w, const struct sim_op *op,
			      const struct sim_result *res);
void api_write_events(struct jw *w, const struct sim_event *ev, size_t n);
/* The whole state, or a summary (counts only). */
void api_write_state_fields(struct jw *w, const struct sim *sim,
			    bool summary);
void api_write_walk(struct jw *w, const struct rmap_walk_result *walk);
void api_write_check(struct jw *w, const struct sim_check_report *report);
/* The session options, with the limits or (as stored) without them. */
void api_write_config(struct jw *w, const struct sim_config *cfg,
		      bool limits);
/* Graphviz export of the whole state (malloc'd string). */
char *api_graph_dot(const struct sim *sim);

/* The fidelity observation of the window (observe.c); after: last op index. */
cJSON *api_observe(const struct sim *sim, long after);

/* Addresses: accepted as integers or "0x..." strings, always written as "0x..." */
int api_parse_addr(const cJSON *json, unsigned long *out);

/* Session options ("mode": "normal"|"legacy", "zero_page": bool). */
int api_parse_config(const cJSON *json, struct sim_config *cfg,
		     struct api_error *err);

/* Built-in lessons, embedded at build time from api/lessons/NN-name.json. */
size_t api_lesson_count(void);
/* name, title, summary; and the full lesson (config + steps) as JSON */
const char *api_lesson_name(size_t i);
cJSON *api_lesson_json(size_t i, bool full);
/* index of a lesson by name, or -1 */
int api_lesson_find(const char *name);

#endif /* RMAPD_API_CODEC_H */
