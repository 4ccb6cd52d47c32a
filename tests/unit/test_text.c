// SPDX-License-Identifier: MIT
/*
 * test_text.c - client text: UTF-8 as RFC 3629 defines it, error documents
 * that never split a character, JSON whitespace as RFC 8259 allows it.
 */
#include "harness.h"
#include "codec.h"

static bool valid(const char *s)
{
	return api_utf8_valid(s, strlen(s));
}

static void utf8_validity_follows_rfc3629(void)
{
	EXPECT(valid("plain ascii"));
	EXPECT(valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));	/* é € 😀 */
	EXPECT(valid("\xf4\x8f\xbf\xbf"));			/* U+10FFFF */
	EXPECT(!valid("\xc0\xaf"));				/* overlong '/' */
	EXPECT(!valid("\xe0\x80\xaf"));				/* overlong */
	EXPECT(!valid("\xf0\x80\x80\xaf"));			/* overlong */
	EXPECT(!valid("\xed\xa0\x80"));				/* surrogate */
	EXPECT(!valid("\xf4\x90\x80\x80"));			/* past U+10FFFF */
	EXPECT(!valid("\xff"));
	EXPECT(!valid("\x80"));					/* lone continuation */
	EXPECT(!valid("\xe2\x82"));				/* cut short */
}

static void clean_drops_a_cut_character_and_replaces_stray_bytes(void)
{
	char out[64];

	api_utf8_clean(out, sizeof(out), "caf\xc3\xa9 \xe2\x82");
	EXPECT_STR(out, "caf\xc3\xa9 ");
	api_utf8_clean(out, sizeof(out), "'\xe2\x82' x");
	EXPECT_STR(out, "'' x");
	api_utf8_clean(out, sizeof(out), "a\xff" "b\x80" "c");
	EXPECT_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
	api_utf8_clean(out, sizeof(out), "\xed\xa0\x80");
	EXPECT_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void clean_never_splits_a_character_to_fit(void)
{
	char out[6];

	/* 5 bytes of room: "ab" and one 3-byte character, not half of two */
	api_utf8_clean(out, sizeof(out), "ab\xe2\x82\xac\xe2\x82\xac");
	EXPECT_STR(out, "ab\xe2\x82\xac");
	api_utf8_clean(out, 4, "a\xc3\xa9\xc3\xa9");
	EXPECT_STR(out, "a\xc3\xa9");
	api_utf8_clean(out, 3, "a\xffz");
	EXPECT_STR(out, "a");
}

static const char *json_error(const char *s)
{
	return api_json_text_error(s, strlen(s));
}

static void json_whitespace_is_only_what_rfc8259_allows(void)
{
	static const char nul[] = "{\"a\":1}\0";

	EXPECT(!json_error(" \t\r\n{\"a\" : [1, \"x\\ty\\u0001\"]}\n"));
	EXPECT(json_error("{\"a\":\"\\\"\x01\"}"));
	EXPECT(json_error("\x01{}"));
	EXPECT(json_error("{}\x0c"));
	EXPECT(json_error("{\"a\":\x0b 1}"));
	EXPECT(json_error("{\"a\":\"tab\there\"}"));
	EXPECT(json_error("{\"a\":\"\x7f\"}") == NULL);	/* DEL is no control in JSON */
	EXPECT(json_error("{\"a\":\"\xff\"}"));
	EXPECT(api_json_text_error(nul, sizeof(nul) - 1));
	/* an escaped quote does not end the string: the tab is inside it */
	EXPECT(json_error("{\"a\":\"\\\"\t\"}"));
	/* an escaped backslash does: the tab is outside, and allowed */
	EXPECT(!json_error("{\"a\":\"\\\\\"\t}"));
}

int main(void)
{
	RUN(utf8_validity_follows_rfc3629);
	RUN(clean_drops_a_cut_character_and_replaces_stray_bytes);
	RUN(clean_never_splits_a_character_to_fit);
	RUN(json_whitespace_is_only_what_rfc8259_allows);
	return harness_summary();
}
