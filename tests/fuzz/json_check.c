// SPDX-License-Identifier: MIT
/*
 * json_check.c - whether a text is JSON as RFC 8259 spells it, checked
 * without building it: parsing every encoded object into a cJSON tree (a
 * malloc per value) took 29% of fuzz_ops' time under ASan.
 */
#include <string.h>

#include "json_check.h"

/*
 * Each returns where its value ends, or NULL when the text there is no
 * such value.
 */
#define JSON_MAX_DEPTH	256

static const char *json_value(const char *p, const char *e, int depth);

static const char *json_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static bool is_digit(const char *p, const char *e)
{
	return p < e && *p >= '0' && *p <= '9';
}

static const char *json_digits(const char *p, const char *e)
{
	if (!is_digit(p, e))
		return NULL;
	while (is_digit(p, e))
		p++;
	return p;
}

static const char *json_number(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (!(p = json_digits(p, e)))
		return NULL;
	if (p < e && *p == '.' && !(p = json_digits(p + 1, e)))
		return NULL;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		p = json_digits(p, e);
	}
	return p;
}

static const char *json_string(const char *p, const char *e)
{
	int i;

	for (p++; p < e; p++) {
		if (*p == '"')
			return p + 1;
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		if (++p == e)
			return NULL;
		if (*p == 'u') {
			for (i = 0; i < 4; i++)
				if (++p == e || !strchr("0123456789abcdefABCDEF", *p))
					return NULL;
		} else if (!strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return NULL;
}

static const char *json_word(const char *p, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - p) >= n && !memcmp(p, word, n) ? p + n : NULL;
}

/* the members of an object or the elements of an array, after its '{' / '[' */
static const char *json_members(const char *p, const char *e, char close,
				int depth)
{
	p = json_ws(p, e);
	if (p < e && *p == close)
		return p + 1;
	for (;;) {
		p = json_ws(p, e);
		if (close == '}') {
			if (p == e || *p != '"' || !(p = json_string(p, e)))
				return NULL;
			p = json_ws(p, e);
			if (p == e || *p++ != ':')
				return NULL;
		}
		if (!(p = json_value(p, e, depth)))
			return NULL;
		p = json_ws(p, e);
		if (p == e)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, const char *e, int depth)
{
	p = json_ws(p, e);
	if (p == e || depth > JSON_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '{':
		return json_members(p + 1, e, '}', depth + 1);
	case '[':
		return json_members(p + 1, e, ']', depth + 1);
	case '"':
		return json_string(p, e);
	case 't':
		return json_word(p, e, "true");
	case 'f':
		return json_word(p, e, "false");
	case 'n':
		return json_word(p, e, "null");
	default:
		return json_number(p, e);
	}
}

bool json_text_valid(const char *text, size_t len)
{
	const char *end = text + len, *p = json_value(text, end, 0);

	return p && json_ws(p, end) == end;
}
