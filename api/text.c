// SPDX-License-Identifier: MIT
/*
 * text.c - text from clients, strictly: a JSON text is UTF-8 with
 * whitespace only where RFC 8259 puts it (cJSON itself skips every byte up
 * to 0x20 as if it were blank, and takes raw control bytes inside strings),
 * and what an error document quotes back is valid UTF-8 even when a
 * fixed-size buffer cut it.
 */
#include <string.h>

#include "codec.h"

/*
 * The length of the UTF-8 character at s (at most avail bytes), or 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are refused as RFC 3629 says.  *cut tells a character that a buffer's
 * end (or a truncation before more text) broke off from an invalid byte.
 */
size_t api_utf8_char(const unsigned char *s, size_t avail, bool *cut)
{
	size_t need, i;
	unsigned int cp;

	*cut = false;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= avail || (s[i] & 0xc0) != 0x80) {
			*cut = true;
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

bool api_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	bool cut;

	while (i < len) {
		/* the common case, ASCII, a byte at a time without the call */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = api_utf8_char(p + i, len - i, &cut);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

void api_utf8_clean(char *dst, size_t size, const char *src)
{
	static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *p = (const unsigned char *)src;
	size_t len = strlen(src), i = 0, o = 0, n;
	bool cut;

	if (!size)
		return;
	while (i < len) {
		n = api_utf8_char(p + i, len - i, &cut);
		if (cut) {
			/* what a "%.60s" or a full buffer broke off: drop it */
			for (i++; i < len && (p[i] & 0xc0) == 0x80; i++)
				;
			continue;
		}
		if (n) {
			if (o + n >= size)
				break;
			memcpy(dst + o, p + i, n);
			i += n;
		} else {
			if (o + 3 >= size)
				break;
			memcpy(dst + o, replacement, 3);
			i++;
		}
		o += n ? n : 3;
	}
	dst[o] = '\0';
}

const char *api_json_text_error(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	bool in_string = false;
	size_t i;

	if (!api_utf8_valid(s, len))
		return "the body is not valid UTF-8";
	for (i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] < 0x20)
				return "a string holds a raw control byte; "
				       "escape it (\\n, \\u0001...)";
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = false;
		} else if (p[i] == '"') {
			in_string = true;
		} else if (p[i] < 0x20 && p[i] != ' ' && p[i] != '\t' &&
			   p[i] != '\n' && p[i] != '\r') {
			return "a control byte outside a string: JSON allows "
			       "only space, tab, LF and CR between tokens";
		}
	}
	return NULL;
}
