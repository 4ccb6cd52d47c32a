// SPDX-License-Identifier: MIT
/*
 * test_json.c - the streaming JSON writer (api/jw.c) and the encoders built
 * on it.  The writer's text is held byte for byte to what the cJSON
 * encoders it replaced printed (cjson_encoder.c, kept for this test only):
 * every op, answer, journal text, state, summary, walk and checker report
 * of the lessons, of a 50-process session of a few hundred kilobytes that
 * uses every field, and of seeded random sessions in both modes.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "rng.h"
#include "codec.h"
#include "jw.h"
#include "cjson_encoder.c"

static size_t compared, compared_bytes;

/* old's unformatted print and w's text are the same bytes (w is freed) */
static void same_text(cJSON *old, struct jw *w, const char *what)
{
	char *a = cJSON_PrintUnformatted(old);
	size_t i;

	cJSON_Delete(old);
	jw_text(w);
	compared++;
	compared_bytes += w->len;
	if (a && strlen(a) == w->len && !memcmp(a, w->p, w->len)) {
		cJSON_free(a);
		jw_free(w);
		return;
	}
	for (i = 0; a && a[i] && a[i] == w->p[i]; i++)
		;
	fprintf(stderr, "  %s differs at byte %zu:\n    cJSON %.120s\n"
		"    jw    %.120s\n", what, i, a ? a + (i > 40 ? i - 40 : 0) : "",
		jw_text(w) + (i > 40 ? i - 40 : 0));
	harness_failed_checks++;
	cJSON_free(a);
	jw_free(w);
}

static void same_state(const struct sim *sim, const char *what)
{
	struct jw w;
	int summary;

	for (summary = 0; summary < 2; summary++) {
		jw_init(&w, 64);
		jw_object(&w);
		api_write_state_fields(&w, sim, summary);
		jw_object_end(&w);
		same_text(cj_encode_state(sim, summary), &w, what);
	}
}

static void same_check(const struct sim *sim, const char *what)
{
	struct sim_check_report r = { 0 };
	struct jw w;

	sim_check(sim, &r);
	jw_init(&w, 64);
	api_write_check(&w, &r);
	same_text(cj_encode_check(&r), &w, what);
	sim_check_report_free(&r);
}

/* the walk of every frame, and of a pfn that is no frame */
static void same_walks(struct sim *sim, const char *what)
{
	const struct folio *f;
	const struct rmap_walk_result *walk;
	struct jw w;

	for (f = folio_first(sim); f; f = folio_next(sim, f)) {
		walk = sim_rmap_walk(sim, f->pfn);
		if (!walk)
			continue;
		jw_init(&w, 64);
		api_write_walk(&w, walk);
		same_text(cj_encode_walk(walk), &w, what);
	}
	EXPECT(!sim_rmap_walk(sim, 1UL << 40));
}

static void same_result(const struct sim_op *op, const struct sim_result *res,
			const char *what)
{
	cJSON *old = cj_encode_result(op, res);
	char *text = api_op_text(op);
	struct jw w;

	jw_init(&w, 64);
	jw_object(&w);
	api_write_result_fields(&w, op, res);
	/* the daemon adds its own fields after the encoder's */
	jw_klong(&w, "seq", 7);
	jw_object_end(&w);
	cJSON_AddNumberToObject(old, "seq", 7);
	same_text(old, &w, what);
	jw_init(&w, 64);
	api_write_journal_result(&w, op, res);
	same_text(cj_encode_journal_result(op, res), &w, what);
	jw_init(&w, 64);
	jw_raw(&w, text, strlen(text));
	same_text(cj_encode_op(op), &w, what);
	free(text);
}

/* Apply the op of JSON text (built with fmt) and compare its answers. */
static int run_op(struct sim *sim, bool all_events, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run_op(struct sim *sim, bool all_events, const char *fmt, ...)
{
	struct api_error err;
	struct sim_result res;
	struct sim_op op;
	char text[512];
	cJSON *json;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json = cJSON_Parse(text);
	ret = api_parse_op(json, &op, &err);
	cJSON_Delete(json);
	if (ret) {
		fprintf(stderr, "  %s: %s\n", text, err.detail);
		harness_failed_checks++;
		return -1;
	}
	if (all_events)
		sim_trace_limits(sim, 0, 100000);
	ret = api_apply_op(sim, &op, &res, &err);
	sim_trace_limits(sim, SIM_TRACE_REPEAT, 0);
	if (ret)
		return -1;	/* refused by the daemon's rules: no answer */
	same_result(&op, &res, text);
	return res.err;
}

static void same_everything(struct sim *sim, const char *what)
{
	same_state(sim, what);
	same_check(sim, what);
	same_walks(sim, what);
}

/* ---- the writer itself ---- */

static void writer_commas_and_nesting(void)
{
	struct jw w;

	jw_init(&w, 1);		/* grows from one byte */
	jw_object(&w);
	jw_key(&w, "a");
	jw_array(&w);
	jw_long(&w, 1);
	jw_ulong(&w, 2);
	jw_object(&w);
	jw_knull(&w, "b");
	jw_object_end(&w);
	jw_array(&w);
	jw_array_end(&w);
	jw_object(&w);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_kbool(&w, "c", true);
	jw_kbool(&w, "d", false);
	jw_key(&w, "e");
	jw_raw(&w, "{\"x\":[1]}", 9);
	jw_khex(&w, "f", 0);
	jw_object_end(&w);
	EXPECT_STR(jw_text(&w), "{\"a\":[1,2,{\"b\":null},[],{}],\"c\":true,"
		   "\"d\":false,\"e\":{\"x\":[1]},\"f\":\"0x0\"}");
	EXPECT_EQ(w.len, strlen(jw_text(&w)));
	jw_free(&w);
}

static void writer_integers_in_full(void)
{
	struct jw w;

	jw_init(&w, 8);
	jw_array(&w);
	jw_long(&w, 0);
	jw_long(&w, -1);
	jw_long(&w, LONG_MIN);
	jw_long(&w, LONG_MAX);
	jw_ulong(&w, ULONG_MAX);
	jw_hex(&w, 0x7fffffffe000UL);
	jw_hex(&w, ULONG_MAX);
	jw_array_end(&w);
	EXPECT_STR(jw_text(&w), "[0,-1,-9223372036854775808,9223372036854775807,"
		   "18446744073709551615,\"0x7fffffffe000\","
		   "\"0xffffffffffffffff\"]");
	jw_free(&w);
}

/* every ASCII byte escaped as cJSON escapes it */
static void writer_escapes_as_cjson(void)
{
	char s[2] = { 0, 0 };
	struct jw w;
	int c;

	for (c = 1; c < 0x80; c++) {
		s[0] = (char)c;
		jw_init(&w, 4);
		jw_string(&w, s);
		same_text(cJSON_CreateString(s), &w, "one byte");
	}
	jw_init(&w, 4);
	jw_string(&w, "a\"b\\c\n\t\x01\x1f\x7f");
	EXPECT_STR(jw_text(&w), "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f\"");
	jw_free(&w);
}

/* valid UTF-8 passes as it is; what is not becomes U+FFFD per byte */
static void writer_strings_are_valid_utf8(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "a\xff" "b", "\"a\xef\xbf\xbd" "b\"" },
		{ "\xc3", "\"\xef\xbf\xbd\"" },			/* cut short */
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },	/* overlong */
		{ "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80",		/* past U+10FFFF */
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
	};
	struct jw w;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jw_init(&w, 4);
		jw_string(&w, cases[i].in);
		EXPECT_STR(jw_text(&w), cases[i].out);
		EXPECT(api_utf8_valid(w.p, w.len));
		jw_free(&w);
	}
}

/* a text of megabytes, grown from nothing, parses back whole */
static void writer_grows_to_megabytes(void)
{
	struct jw w;
	cJSON *back;
	long i;

	jw_init(&w, 0);
	jw_array(&w);
	for (i = 0; i < 300000; i++)
		jw_long(&w, i * 7919);
	jw_array_end(&w);
	back = cJSON_ParseWithLength(w.p, w.len);
	EXPECT_EQ(cJSON_GetArraySize(back), 300000);
	EXPECT_EQ(cJSON_GetArrayItem(back, 299999)->valuedouble,
		  299999L * 7919);
	cJSON_Delete(back);
	jw_free(&w);
}

/* ---- the encoders, against cJSON's ---- */

/* every step of every lesson: answers, then the whole state after it */
static void lessons_encode_as_before(void)
{
	size_t i;

	for (i = 0; i < api_lesson_count(); i++) {
		cJSON *lesson = api_lesson_json(i, true), *step;
		struct sim_config cfg;
		struct api_error err;
		struct sim *sim;

		EXPECT_EQ(api_parse_config(cJSON_GetObjectItem(lesson, "config"),
					   &cfg, &err), 0);
		sim = sim_new(&cfg);
		cJSON_ArrayForEach(step, cJSON_GetObjectItem(lesson, "steps")) {
			cJSON *opj = cJSON_GetObjectItem(step, "op");
			char *text;

			if (!opj)
				continue;
			text = cJSON_PrintUnformatted(opj);
			run_op(sim, false, "%s", text);
			cJSON_free(text);
			same_everything(sim, api_lesson_name(i));
		}
		sim_free(sim);
		cJSON_Delete(lesson);
	}
}

#define BASE	0x10000000UL
#define FBASE	0x20000000UL
#define PAGES	40

/*
 * 50 processes: a parent with anonymous and file memory forks 49 children
 * that write, read, unmap, reclaim and exit; every kind of field appears.
 */
static void fifty_processes_encode_as_before(void)
{
	struct sim_config cfg = { 0 };
	struct sim *sim;
	struct jw w;
	int i, pid;

	cfg.limits.max_procs = 64;
	cfg.limits.max_vmas = 4096;
	cfg.limits.max_frames = 16384;
	cfg.limits.max_files = 8;
	cfg.limits.max_file_pages = 256;
	cfg.limits.max_ptes = 65536;
	sim = sim_new(&cfg);
	run_op(sim, false, "{\"op\":\"spawn\",\"layout\":\"process\"}");
	run_op(sim, false, "{\"op\":\"file\",\"name\":\"libc.so\",\"pages\":64}");
	run_op(sim, false, "{\"op\":\"mmap\",\"pid\":1,\"addr\":%lu,\"len\":%lu,"
	       "\"prot\":\"rw-\",\"flags\":[\"private\",\"anonymous\","
	       "\"fixed\"]}", BASE, PAGES * PAGE_SIZE);
	run_op(sim, false, "{\"op\":\"mmap\",\"pid\":1,\"addr\":%lu,\"len\":%lu,"
	       "\"prot\":\"r-x\",\"flags\":[\"private\",\"fixed\"],\"file\":"
	       "\"libc.so\",\"offset\":4096}", FBASE, 16 * PAGE_SIZE);
	run_op(sim, false, "{\"op\":\"mmap\",\"pid\":1,\"len\":32768,\"prot\":"
	       "\"rw-\",\"flags\":[\"shared\"],\"file\":\"libc.so\",\"offset\":"
	       "0}");
	for (i = 0; i < PAGES; i++)
		run_op(sim, false, "{\"op\":\"access\",\"pid\":1,\"addr\":%lu,"
		       "\"write\":true}", BASE + (unsigned long)i * PAGE_SIZE);
	for (i = 0; i < 16; i++)
		run_op(sim, false, "{\"op\":\"access\",\"pid\":1,\"addr\":%lu,"
		       "\"write\":false}", FBASE + (unsigned long)i * PAGE_SIZE);
	run_op(sim, false, "{\"op\":\"madvise\",\"pid\":1,\"addr\":%lu,\"len\":"
	       "8192,\"advice\":\"wipeonfork\"}", BASE + 30 * PAGE_SIZE);
	/* a swap entry every child inherits */
	run_op(sim, false, "{\"op\":\"try_to_unmap\",\"pfn\":%lu}",
	       pte_pfn(pte_lookup(sim_find_mm(sim, 1),
				(BASE >> PAGE_SHIFT) + 3)));
	for (pid = 2; pid <= 50; pid++) {
		unsigned long page = BASE + (unsigned long)(pid % PAGES) *
				     PAGE_SIZE;

		run_op(sim, pid == 2, "{\"op\":\"fork\",\"pid\":1}");
		run_op(sim, false, "{\"op\":\"access\",\"pid\":%d,\"addr\":%lu,"
		       "\"write\":true}", pid, page);
		if (pid % 7 == 0)
			run_op(sim, false, "{\"op\":\"mprotect\",\"pid\":%d,"
			       "\"addr\":%lu,\"len\":4096,\"prot\":\"r--\"}",
			       pid, BASE + 4 * PAGE_SIZE);
		if (pid % 11 == 0)
			run_op(sim, false, "{\"op\":\"mremap\",\"pid\":%d,"
			       "\"addr\":%lu,\"old_len\":8192,\"new_len\":8192,"
			       "\"flags\":[\"maymove\",\"fixed\"],\"new_addr\":"
			       "%lu}", pid, BASE + 10 * PAGE_SIZE,
			       BASE + 0x100000UL);
	}
	run_op(sim, false, "{\"op\":\"folio_referenced\",\"pfn\":5}");
	run_op(sim, false, "{\"op\":\"try_to_unmap\",\"pfn\":%lu}",
	       pte_pfn(pte_lookup(sim_find_mm(sim, 1), FBASE >> PAGE_SHIFT)));
	run_op(sim, false, "{\"op\":\"access\",\"pid\":9,\"addr\":%lu,"
	       "\"write\":false}", BASE + 2 * PAGE_SIZE);
	EXPECT_EQ(run_op(sim, false, "{\"op\":\"access\",\"pid\":9,\"addr\":"
			 "%lu,\"write\":true}", BASE - PAGE_SIZE), SIM_SIGSEGV);
	EXPECT_EQ(run_op(sim, false, "{\"op\":\"munmap\",\"pid\":9,\"addr\":"
			 "%lu,\"len\":0}", BASE), EINVAL);
	run_op(sim, false, "{\"op\":\"munmap\",\"pid\":12,\"addr\":%lu,\"len\":"
	       "12288}", BASE + PAGE_SIZE);
	run_op(sim, true, "{\"op\":\"exit\",\"pid\":13}");
	run_op(sim, false, "{\"op\":\"brk\",\"pid\":14,\"addr\":%lu}",
	       sim_find_mm(sim, 14)->brk + 3 * PAGE_SIZE);
	same_everything(sim, "fifty processes");
	EXPECT_EQ(sim->nr_mms, 49);
	EXPECT(!rb_empty(&sim->swap));
	/* the daemon's answer of this size, for the record */
	jw_init(&w, 0);
	jw_object(&w);
	api_write_state_fields(&w, sim, false);
	jw_object_end(&w);
	EXPECT(w.len > 150000);
	jw_free(&w);
	sim_free(sim);
}

static const char *const prots[] = { "---", "r--", "rw-", "r-x", "rwx" };
static const char *const advices[] = { "dontfork", "dofork", "wipeonfork",
				       "keeponfork", "dontneed", "pageout" };

/* One random op as JSON text: the daemon's parser decides what it means. */
static void random_op(struct rng *r, struct sim *sim, char *buf, size_t len)
{
	int pid = 1 + (int)pick(r, sim->nr_mms + 1);
	unsigned long addr = BASE + pick(r, 64) * PAGE_SIZE;
	unsigned long n = (1 + pick(r, 6)) * PAGE_SIZE;
	unsigned long roll = pick(r, 100);

	if (roll < 4)
		snprintf(buf, len, "{\"op\":\"spawn\"}");
	else if (roll < 6)
		snprintf(buf, len, "{\"op\":\"file\",\"name\":\"f%lu\",\"pages\":"
			 "16}", pick(r, 2));
	else if (roll < 18)
		snprintf(buf, len, "{\"op\":\"mmap\",\"pid\":%d,\"addr\":%lu,"
			 "\"len\":%lu,\"prot\":\"%s\",\"flags\":[\"%s\",%s"
			 "\"fixed\"]%s}", pid, addr, n, prots[pick(r, 5)],
			 pick(r, 4) ? "private" : "shared",
			 roll % 3 ? "\"anonymous\"," : "",
			 roll % 3 ? "" : ",\"file\":\"f0\",\"offset\":4096");
	else if (roll < 24)
		snprintf(buf, len, "{\"op\":\"fork\",\"pid\":%d}", pid);
	else if (roll < 26)
		snprintf(buf, len, "{\"op\":\"exit\",\"pid\":%d}", pid);
	else if (roll < 30)
		snprintf(buf, len, "{\"op\":\"munmap\",\"pid\":%d,\"addr\":%lu,"
			 "\"len\":%lu}", pid, addr, n);
	else if (roll < 34)
		snprintf(buf, len, "{\"op\":\"mprotect\",\"pid\":%d,\"addr\":%lu,"
			 "\"len\":%lu,\"prot\":\"%s\"}", pid, addr, n,
			 prots[pick(r, 5)]);
	else if (roll < 38)
		snprintf(buf, len, "{\"op\":\"mremap\",\"pid\":%d,\"addr\":%lu,"
			 "\"old_len\":%lu,\"new_len\":%lu,\"flags\":"
			 "[\"maymove\"]}", pid, addr, n, n + PAGE_SIZE);
	else if (roll < 42)
		snprintf(buf, len, "{\"op\":\"madvise\",\"pid\":%d,\"addr\":%lu,"
			 "\"len\":%lu,\"advice\":\"%s\"}", pid, addr, n,
			 advices[pick(r, 6)]);
	else if (roll < 92)
		snprintf(buf, len, "{\"op\":\"access\",\"pid\":%d,\"addr\":%lu,"
			 "\"write\":%s}", pid, addr + pick(r, PAGE_SIZE),
			 pick(r, 2) ? "true" : "false");
	else if (roll < 96)
		snprintf(buf, len, "{\"op\":\"try_to_unmap\",\"pfn\":%lu}",
			 1 + pick(r, sim->nr_frames + 2));
	else
		snprintf(buf, len, "{\"op\":\"folio_referenced\",\"pfn\":%lu}",
			 1 + pick(r, sim->nr_frames + 2));
}

static void random_sessions_encode_as_before(void)
{
	uint64_t seed;
	int k;

	for (seed = 1; seed <= 24; seed++) {
		struct sim_config cfg = { 0 };
		struct rng r = { seed * 0x9e3779b97f4a7c15ULL };
		struct sim *sim;
		char op[512];

		cfg.mode = seed % 3 ? SIM_MODE_NORMAL : SIM_MODE_LEGACY;
		cfg.no_zero_page = seed % 4 == 0;
		sim = sim_new(&cfg);
		for (k = 0; k < 300; k++) {
			random_op(&r, sim, op, sizeof(op));
			run_op(sim, k % 50 == 0, "%s", op);
			if (k % 25 == 0)
				same_everything(sim, op);
		}
		same_everything(sim, "random session");
		sim_free(sim);
	}
}

int main(void)
{
	RUN(writer_commas_and_nesting);
	RUN(writer_integers_in_full);
	RUN(writer_escapes_as_cjson);
	RUN(writer_strings_are_valid_utf8);
	RUN(writer_grows_to_megabytes);
	RUN(lessons_encode_as_before);
	RUN(fifty_processes_encode_as_before);
	RUN(random_sessions_encode_as_before);
	printf("%zu texts (%zu bytes) compared with cJSON's\n", compared,
	       compared_bytes);
	return harness_summary();
}
