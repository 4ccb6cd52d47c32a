// SPDX-License-Identifier: MIT
/*
 * test_json_check.c - the harnesses' JSON check (json_check.c) takes what
 * RFC 8259 calls JSON and nothing else: fixed texts each way, then random
 * mutations of a document, none of which it may take when cJSON (which
 * the daemon's clients and tests parse with) refuses it, and every one
 * it may refuse only for a reason cJSON overlooks (a raw control byte, a
 * leading zero) or for trailing bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "json_check.h"

static const char *const good[] = {
	"{}", "[]", " [ true , false ] ", "-0.5e+10", "0", "\"\"", "null",
	"{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\\u00e9\\n\\/\"}",
	"{\"a\" : {\"b\":[]} }\r\n", "[1E5,2e-3,-0]",
};

static const char *const bad[] = {
	"", " ", "{", "}", "{\"a\"}", "{\"a\":1,}", "[1,]", "[,1]", "01", "1.",
	"-", ".5", "+1", "tru", "nul", "\"\x01\"", "\"\\x\"", "{a:1}", "[1 2]",
	"{} {}", "\"abc", "\"\\u12g4\"", "\"\\u12\"", "[1]]", "{\"a\":}",
	"\f1", "1e", "1e+", "[\"a\" \"b\"]",
};

static int check(const char *text, int want)
{
	if (json_text_valid(text, strlen(text)) == want)
		return 0;
	printf("%s taken as %s\n", text, want ? "invalid" : "valid");
	return 1;
}

static int deep(void)
{
	char text[1200];

	memset(text, '[', 600);
	memset(text + 600, ']', 600);
	/* 600 levels: past the bound, refused rather than recursed through */
	return json_text_valid(text, sizeof(text)) ?
	       printf("600 levels of nesting taken\n"), 1 : 0;
}

/* mutations of a document: never valid where cJSON says it is not */
static int mutations(void)
{
	static const char doc[] = "{\"a\":[1,-2.5e3,\"s\\\"t\",true,null,"
				  "{\"b\":{}}],\"c\":0}";
	static const char bytes[] = "{}[]\",:0123456789-+.eE tfnrulsa\\";
	char buf[sizeof(doc)];
	int i, j, valid = 0, fail = 0;
	cJSON *json;

	srand(1);
	for (i = 0; i < 100000; i++) {
		memcpy(buf, doc, sizeof(doc));
		for (j = rand() % 3; j >= 0; j--)
			buf[rand() % (sizeof(doc) - 1)] =
				bytes[rand() % (sizeof(bytes) - 1)];
		json = cJSON_ParseWithOpts(buf, NULL, 1);
		if (json_text_valid(buf, strlen(buf))) {
			valid++;
			if (!json && fail++ < 5)
				printf("%s taken, cJSON refuses it\n", buf);
		}
		cJSON_Delete(json);
	}
	/* the mutations that keep it JSON are taken too */
	if (valid < 1000) {
		printf("only %d mutations taken\n", valid);
		fail++;
	}
	return fail;
}

int main(void)
{
	size_t i;
	int fail = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		fail += check(good[i], 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		fail += check(bad[i], 0);
	fail += deep() + mutations();
	printf("%s\n", fail ? "FAIL" : "ok");
	return fail ? 1 : 0;
}
