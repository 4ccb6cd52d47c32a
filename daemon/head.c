// SPDX-License-Identifier: MIT
/*
 * head.c - is this the head of an HTTP/1.1 request rmapd will take?
 *
 * libmicrohttpd 0.9.75 answers a head it cannot parse itself, with an
 * HTML page or nothing at all, before rmapd's handler runs; and it takes
 * some heads that RFC 9112 says to refuse (two Content-Lengths, a
 * Transfer-Encoding beside a Content-Length: the stuff of request
 * smuggling).  The front door (front.c) runs every head through
 * head_check() first, so that libmicrohttpd only ever sees heads it
 * parses the way rmapd does, and every refusal is a problem document.
 *
 * Strict where the RFC lets a server be: one request line "METHOD SP
 * target SP HTTP/1.x", header lines "name: value" with a token for a name,
 * no obs-fold, no control byte but HTAB in a value; a bare LF ends a line
 * (as libmicrohttpd takes it), a CR only before one.  Request bodies come
 * with a Content-Length: a chunked one is refused with 411, which a JSON
 * API can ask of its clients.
 */
#include <string.h>
#include <strings.h>

#include "rmapd.h"

/* RFC 9110, 5.6.2: tchar */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static enum head_verdict refuse(struct head_check *hc, int status,
				const char *type, const char *detail)
{
	hc->status = status;
	hc->type = type;
	hc->detail = detail;
	return HEAD_BAD;
}

/* The end of the line that starts at p (its LF), or NULL. */
static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* the line's text without its CR LF (or LF); false for a stray CR */
static bool line_text(const char *p, const char *lf, size_t *len)
{
	size_t n = (size_t)(lf - p);

	if (n && p[n - 1] == '\r')
		n--;
	*len = n;
	return !memchr(p, '\r', n);
}

static size_t span(const char *p, size_t n, bool (*ok)(unsigned char))
{
	size_t i = 0;

	while (i < n && ok((unsigned char)p[i]))
		i++;
	return i;
}

static bool is_target_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* "HTTP/" DIGIT "." DIGIT: 1.x is served (as 1.1 past 1.1), others 505 */
static enum head_verdict check_version(const char *v, size_t n,
				       struct head_check *hc)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || !is_digit(v[5]) ||
	    v[6] != '.' || !is_digit(v[7]))
		return refuse(hc, 400, "malformed-request", "the request line "
			      "is not 'METHOD /target HTTP/1.1'");
	if (v[5] != '1')
		return refuse(hc, 505, "http-version-not-supported", "rmapd "
			      "speaks HTTP/1.0 and HTTP/1.1");
	return HEAD_OK;
}

/* the query arguments libmicrohttpd would make of a target: '&'-separated */
static size_t nr_args(const char *target, size_t n)
{
	const char *q = memchr(target, '?', n);
	size_t args = 1;

	if (!q)
		return 0;
	for (q++; q < target + n; q++)
		args += *q == '&';
	return args;
}

static enum head_verdict check_request_line(const char *p, size_t n,
					    struct head_check *hc)
{
	size_t m = span(p, n, is_tchar), t;

	if (!m || m == n || p[m] != ' ')
		return refuse(hc, 400, "malformed-request", "the request line "
			      "is not 'METHOD /target HTTP/1.1'");
	t = span(p + m + 1, n - m - 1, is_target_byte);
	if (t > HEAD_MAX_TARGET)
		return refuse(hc, 414, "uri-too-long", "the request target is "
			      "longer than 8192 bytes");
	if (!t || m + 1 + t == n || p[m + 1 + t] != ' ')
		return refuse(hc, 400, "malformed-request", "the request line "
			      "is not 'METHOD /target HTTP/1.1'");
	if (nr_args(p + m + 1, t) > HEAD_MAX_ARGS)
		return refuse(hc, 414, "uri-too-long", "the request target has "
			      "more than 64 query arguments");
	return check_version(p + m + 2 + t, n - m - 2 - t, hc);
}

static bool is_value_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool head_is_token(const char *s)
{
	size_t n = strlen(s);

	return n && span(s, n, is_tchar) == n;
}

bool head_is_value(const char *s)
{
	size_t n = strlen(s);

	return span(s, n, is_value_byte) == n;
}

static bool trim_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Content-Length: 1*DIGIT, once; past max_body it is refused at once */
static enum head_verdict content_length(const char *v, size_t n,
					unsigned long max_body,
					struct head_check *hc)
{
	unsigned long long len = 0;
	size_t i;

	if (hc->has_length)
		return refuse(hc, 400, "malformed-request", "a request has one "
			      "Content-Length header");
	hc->has_length = true;
	if (!n || span(v, n, is_digit) != n)
		return refuse(hc, 400, "malformed-request", "Content-Length is "
			      "not a number of bytes");
	for (i = 0; i < n; i++) {
		len = len * 10 + (unsigned long long)(v[i] - '0');
		if (len > max_body)
			return refuse(hc, 413, "body-too-large", "the body is "
				      "larger than --max-body allows");
	}
	hc->body = (unsigned long)len;
	return HEAD_OK;
}

static enum head_verdict check_field(const char *p, size_t n,
				     unsigned long max_body,
				     struct head_check *hc)
{
	size_t name = span(p, n, is_tchar), v;
	const char *value;

	if (!name || name == n || p[name] != ':')
		return refuse(hc, 400, "malformed-request", n && trim_ows(*p) ?
			      "a header line is folded (obs-fold)" : "a header "
			      "line is not 'Name: value'");
	value = p + name + 1;
	v = n - name - 1;
	if (span(value, v, is_value_byte) != v)
		return refuse(hc, 400, "malformed-request", "a header value "
			      "holds a control byte");
	while (v && trim_ows((unsigned char)*value)) {
		value++;
		v--;
	}
	while (v && trim_ows((unsigned char)value[v - 1]))
		v--;
	if (name == 17 && !strncasecmp(p, "Transfer-Encoding", 17))
		hc->chunked = true;
	if (name == 14 && !strncasecmp(p, "Content-Length", 14))
		return content_length(value, v, max_body, hc);
	return HEAD_OK;
}

/* a request whose head is all there: what it may bring */
static enum head_verdict check_framing(struct head_check *hc)
{
	if (hc->chunked)
		return refuse(hc, 411, "length-required", "send the body with a "
			      "Content-Length; rmapd takes no Transfer-Encoding "
			      "(chunked) request body");
	return HEAD_OK;
}

enum head_verdict head_check(const char *buf, size_t n, unsigned long max_body,
			     struct head_check *hc)
{
	const char *end = buf + n, *p = buf, *lf;
	size_t len, fields = 0, count = 0;
	enum head_verdict v;

	memset(hc, 0, sizeof(*hc));
	/* RFC 9112, 2.2: empty lines before the request line are ignored */
	while (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end &&
					  p[1] == '\n')))
		p += *p == '\n' ? 1 : 2;
	lf = line_end(p, end);
	if (!lf)
		return (size_t)(end - p) > HEAD_MAX_LINE ?
		       refuse(hc, 414, "uri-too-long", "the request target is "
			      "longer than 8192 bytes") : HEAD_MORE;
	if (!line_text(p, lf, &len))
		return refuse(hc, 400, "malformed-request", "a CR in the request "
			      "line is not followed by LF");
	v = check_request_line(p, len, hc);
	if (v != HEAD_OK)
		return v;
	for (p = lf + 1; (lf = line_end(p, end)); p = lf + 1) {
		if (!line_text(p, lf, &len))
			return refuse(hc, 400, "malformed-request", "a CR in a "
				      "header line is not followed by LF");
		if (!len) {
			hc->len = (size_t)(lf + 1 - buf);
			return check_framing(hc);
		}
		fields += (size_t)(lf + 1 - p);
		if (fields > HEAD_MAX_FIELDS || ++count > HEAD_MAX_COUNT)
			break;
		v = check_field(p, len, max_body, hc);
		if (v != HEAD_OK)
			return v;
	}
	if (fields + (size_t)(end - p) <= HEAD_MAX_FIELDS &&
	    count <= HEAD_MAX_COUNT)
		return HEAD_MORE;
	return refuse(hc, 431, "headers-too-large", "the request headers are "
		      "more than 8192 bytes or 100 headers");
}
