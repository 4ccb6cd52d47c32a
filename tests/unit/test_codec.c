// SPDX-License-Identifier: MIT
/*
 * test_codec.c - the op and config parsers of api/parse.c beside the
 * engine: the names they accept, the exact problem they report, and the
 * canonical form an op is journalled in.
 */
#include <cjson/cJSON.h>

#include "harness.h"
#include "codec.h"
#include "jw.h"

static int parse_op_text(const char *text, struct sim_op *op,
			 struct api_error *err)
{
	cJSON *j = cJSON_Parse(text);
	int ret;

	memset(op, 0, sizeof(*op));
	memset(err, 0, sizeof(*err));
	ret = api_parse_op(j, op, err);
	cJSON_Delete(j);
	return ret;
}

/* MAP_NORESERVE is accepted as "noreserve" and journalled by that name */
static void mmap_noreserve_parses_and_encodes(void)
{
	struct sim_op op;
	struct api_error err;
	char *text;

	EXPECT_EQ(parse_op_text("{\"op\":\"mmap\",\"pid\":1,\"len\":4096,"
				"\"prot\":\"rw-\",\"flags\":[\"private\","
				"\"anonymous\",\"noreserve\"]}", &op, &err), 0);
	EXPECT_EQ(op.flags, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
	text = api_op_text(&op);
	EXPECT_STR(text, "{\"op\":\"mmap\",\"pid\":1,\"len\":4096,"
		   "\"prot\":\"rw-\",\"flags\":[\"private\",\"anonymous\","
		   "\"noreserve\"]}");
	free(text);
}

/* an unknown flag is refused with every accepted name listed */
static void bad_mmap_flag_lists_every_flag(void)
{
	struct sim_op op;
	struct api_error err;

	EXPECT_EQ(parse_op_text("{\"op\":\"mmap\",\"pid\":1,\"len\":4096,"
				"\"prot\":\"rw-\",\"flags\":[\"populate\"]}",
				&op, &err), -1);
	EXPECT_EQ(err.status, 422);
	EXPECT_STR(err.field, "flags");
	EXPECT_STR(err.detail, "'flags' is an array of: private, shared, "
		   "anonymous, fixed, fixed_noreplace, noreserve");
	EXPECT_EQ(parse_op_text("{\"op\":\"mremap\",\"pid\":1,\"addr\":4096,"
				"\"old_len\":4096,\"new_len\":8192,"
				"\"flags\":[\"noreserve\"]}", &op, &err), -1);
	EXPECT_STR(err.detail, "'flags' is an array of: maymove, fixed, "
		   "dontunmap");
}

/*
 * A file name that is not UTF-8 is refused: its journal text would carry
 * U+FFFD for each bad byte and no longer parse back to the same op (found
 * by fuzz_snapshot: 31 bytes 0xff grew past the 63-byte limit).
 */
static void file_name_not_utf8_is_refused(void)
{
	struct sim_op op;
	struct api_error err;
	char text[200];

	snprintf(text, sizeof(text), "{\"op\":\"mmap\",\"pid\":1,\"len\":4096,"
		 "\"prot\":\"rw-\",\"flags\":[\"shared\"],\"file\":"
		 "\"\xff\xff" "data\"}");
	EXPECT_EQ(parse_op_text(text, &op, &err), -1);
	EXPECT_EQ(err.status, 422);
	EXPECT_STR(err.field, "file");
	EXPECT_STR(err.detail, "'file' must be valid UTF-8");
	EXPECT_EQ(parse_op_text("{\"op\":\"mmap\",\"pid\":1,\"len\":4096,"
				"\"prot\":\"rw-\",\"flags\":[\"shared\"],"
				"\"file\":\"d\u00e9j\u00e0\"}", &op, &err), 0);
	EXPECT_STR(op.name, "d\xc3\xa9j\xc3\xa0");
}

static int parse_config_text(const char *text, struct sim_config *cfg,
			     struct api_error *err)
{
	cJSON *j = cJSON_Parse(text);
	int ret;

	memset(err, 0, sizeof(*err));
	ret = api_parse_config(j, cfg, err);
	cJSON_Delete(j);
	return ret;
}

/* vm.overcommit_memory: 0, 1 or 2, 0 when not given, and encoded back */
static void overcommit_memory_config(void)
{
	struct sim_config cfg;
	struct api_error err;
	struct jw w;

	EXPECT_EQ(parse_config_text("{}", &cfg, &err), 0);
	EXPECT_EQ(cfg.overcommit, SIM_OVERCOMMIT_GUESS);
	EXPECT_EQ(parse_config_text("{\"overcommit_memory\":2}", &cfg, &err),
		  0);
	EXPECT_EQ(cfg.overcommit, SIM_OVERCOMMIT_NEVER);
	jw_init(&w, 64);
	api_write_config(&w, &cfg, false);
	EXPECT_STR(jw_text(&w), "{\"mode\":\"normal\",\"zero_page\":true,"
		   "\"overcommit_memory\":2}");
	jw_free(&w);
	EXPECT_EQ(parse_config_text("{\"overcommit_memory\":3}", &cfg, &err),
		  -1);
	EXPECT_EQ(err.status, 422);
	EXPECT_STR(err.field, "overcommit_memory");
	EXPECT_EQ(parse_config_text("{\"overcommit_memory\":1.5}", &cfg, &err),
		  -1);
	EXPECT_EQ(parse_config_text("{\"overcommit_memory\":\"0\"}", &cfg,
				    &err), -1);
}

int main(void)
{
	RUN(mmap_noreserve_parses_and_encodes);
	RUN(bad_mmap_flag_lists_every_flag);
	RUN(overcommit_memory_config);
	RUN(file_name_not_utf8_is_refused);
	return harness_summary();
}
