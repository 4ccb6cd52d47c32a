// SPDX-License-Identifier: MIT
/*
 * run.c - `rmapd run [--observe] [--zero-page|--no-zero-page] FILE.json`:
 * apply a scenario without a server, through the same parser and encoders
 * as the HTTP API, and print the outcome as JSON.
 *
 * FILE is {"ops":[...]}, optionally with "name" and "config", or a lesson
 * ({"steps":[{"op":...}]}).  With --observe it prints what the fidelity suite
 * compares with the real kernel (observe.c); there {"op":"observe"} entries
 * take an observation and the zero page is off unless --zero-page is given,
 * as on the machines rmapd is checked against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jw.h"
#include "run.h"

#define MAX_FILE_BYTES	(8 << 20)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > MAX_FILE_BYTES ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* Only whitespace may follow the JSON value (RFC 8259, section 2). */
static bool only_whitespace(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

static void print_problem(const struct api_error *err, long index)
{
	cJSON *p = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(p, "type", err->type);
	cJSON_AddNumberToObject(p, "status", err->status);
	cJSON_AddStringToObject(p, "detail", err->detail);
	if (err->field[0])
		cJSON_AddStringToObject(p, "field", err->field);
	if (index >= 0)
		cJSON_AddNumberToObject(p, "index", (double)index);
	s = cJSON_Print(p);
	fprintf(stderr, "%s\n", s);
	free(s);
	cJSON_Delete(p);
}

/* What w wrote, as a tree for the document run prints indented. */
static cJSON *parsed(struct jw *w)
{
	cJSON *json = cJSON_ParseWithLength(w->p, w->len);

	jw_free(w);
	return json;
}

static cJSON *result_json(const struct sim_op *op, const struct sim_result *res)
{
	struct jw w;

	jw_init(&w, 1024);
	jw_object(&w);
	api_write_result_fields(&w, op, res);
	jw_object_end(&w);
	return parsed(&w);
}

static cJSON *state_json(const struct sim *sim)
{
	struct jw w;

	jw_init(&w, 4096);
	jw_object(&w);
	api_write_state_fields(&w, sim, false);
	jw_object_end(&w);
	return parsed(&w);
}

static cJSON *check_json(const struct sim_check_report *rep)
{
	struct jw w;

	jw_init(&w, 256);
	api_write_check(&w, rep);
	return parsed(&w);
}

/* The op list of a scenario, a batch or a lesson (steps without op skipped). */
static const cJSON *scenario_ops(const cJSON *doc)
{
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(doc, "ops");

	if (cJSON_IsArray(ops))
		return ops;
	ops = cJSON_GetObjectItemCaseSensitive(doc, "steps");
	return cJSON_IsArray(ops) ? ops : NULL;
}

static const cJSON *entry_op(const cJSON *entry)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(entry, "op");

	/* a lesson step wraps the op: {"explain":..., "op":{...}} */
	return cJSON_IsObject(op) ? op : entry;
}

static bool is_observe(const cJSON *op)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(op, "op");

	return cJSON_IsString(name) && !strcmp(name->valuestring, "observe");
}

static int run(const cJSON *doc, bool observe, int zero_page)
{
	const cJSON *ops = scenario_ops(doc), *entry;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	struct sim_config cfg;
	struct api_error err;
	struct sim *sim;
	cJSON *out = cJSON_CreateObject(), *results, *observations = NULL;
	long index = 0, last = -1;
	char *text;

	if (!ops) {
		api_error_set(&err, 422, "invalid-type", "ops",
			      "the file needs an \"ops\" or \"steps\" array");
		print_problem(&err, -1);
		cJSON_Delete(out);
		return 2;
	}
	if (api_parse_config(cJSON_GetObjectItemCaseSensitive(doc, "config"),
			     &cfg, &err)) {
		print_problem(&err, -1);
		cJSON_Delete(out);
		return 2;
	}
	if (observe && !cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "config"), "zero_page"))
		cfg.no_zero_page = true;
	if (zero_page >= 0)
		cfg.no_zero_page = !zero_page;
	sim = sim_new(&cfg);
	if (observe)
		cJSON_AddStringToObject(out, "scenario", cJSON_IsString(name) ?
					name->valuestring : "");
	results = cJSON_AddArrayToObject(out, "results");
	if (observe)
		observations = cJSON_AddArrayToObject(out, "observations");
	cJSON_ArrayForEach(entry, ops) {
		const cJSON *opj = entry_op(entry);
		struct sim_result res;
		struct sim_op op;

		if (observe && is_observe(opj)) {
			cJSON_AddItemToArray(observations,
					     api_observe(sim, last));
			index++;
			continue;
		}
		if (!observe && !cJSON_GetObjectItemCaseSensitive(entry, "op") &&
		    cJSON_GetObjectItemCaseSensitive(doc, "steps")) {
			index++;	/* an explanation-only lesson step */
			continue;
		}
		if (api_parse_op(opj, &op, &err) ||
		    api_apply_op(sim, &op, &res, &err)) {
			print_problem(&err, index);
			cJSON_Delete(out);
			sim_free(sim);
			return 2;
		}
		if (observe) {
			cJSON *r = cJSON_CreateObject();

			cJSON_AddNumberToObject(r, "index", (double)index);
			cJSON_AddStringToObject(r, "op", sim_op_name(op.kind));
			cJSON_AddStringToObject(r, "result",
						sim_errno_name(res.err));
			cJSON_AddItemToArray(results, r);
		} else {
			cJSON_AddItemToArray(results, result_json(&op, &res));
		}
		last = index++;
	}
	if (observe) {
		cJSON_AddItemToArray(observations, api_observe(sim, last));
	} else {
		struct sim_check_report rep = { 0 };

		cJSON_AddItemToObject(out, "state", state_json(sim));
		sim_check(sim, &rep);
		cJSON_AddItemToObject(out, "check", check_json(&rep));
		sim_check_report_free(&rep);
	}
	text = cJSON_Print(out);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(out);
	sim_free(sim);
	return 0;
}

int rmapd_run_main(int argc, char **argv)
{
	bool observe = false;
	int zero_page = -1, i, ret;
	const char *path = NULL, *end;
	size_t len;
	char *buf;
	cJSON *doc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--observe"))
			observe = true;
		else if (!strcmp(argv[i], "--zero-page"))
			zero_page = 1;
		else if (!strcmp(argv[i], "--no-zero-page"))
			zero_page = 0;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			path = NULL, i = argc;
	}
	if (!path) {
		fprintf(stderr, "usage: rmapd run [--observe] [--zero-page|"
			"--no-zero-page] FILE.json\n");
		return 2;
	}
	buf = read_file(path, &len);
	if (!buf) {
		fprintf(stderr, "rmapd run: cannot read %s (or larger than %d "
			"bytes)\n", path, MAX_FILE_BYTES);
		return 1;
	}
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (doc && !only_whitespace(end, buf + len)) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	free(buf);
	if (!doc) {
		fprintf(stderr, "rmapd run: %s is not valid JSON\n", path);
		return 2;
	}
	ret = run(doc, observe, zero_page);
	cJSON_Delete(doc);
	return ret;
}
