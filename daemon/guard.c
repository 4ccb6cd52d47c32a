// SPDX-License-Identifier: MIT
/*
 * guard.c - who may ask what, decided from a request's head before its body
 * is read, and the headers every answer carries.
 *
 * A page on another origin can make the teacher's browser send requests
 * that need no CORS preflight (a no-cors fetch, a form POST); a DNS name
 * rebound to 127.0.0.1 makes the browser treat rmapd as that name's own
 * origin.  So: the Host must be a name rmapd serves; a browser request that
 * says it comes from another site (Origin, Sec-Fetch-Site) changes nothing;
 * a body is only ever application/json, which no form and no no-cors fetch
 * can send; and CORS headers go only to origins the operator listed.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "rmapd.h"

#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; object-src 'none'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static const char *header(const struct request_head *head, const char *name)
{
	return head->header(head->conn, name);
}

/*
 * What one pass over the headers tells: their size and count, and the
 * first value of each header the guard looks at (as a lookup would find
 * it), so that no header is searched for again.
 */
struct tally {
	size_t bytes;
	int hosts, lengths;
	bool chunked;		/* a Transfer-Encoding */
	bool bad;		/* a name or value HTTP does not allow */
	const char *host, *origin, *site, *ctype, *clen;
};

static void first_value(const char **slot, const char *value)
{
	if (!*slot)
		*slot = value;
}

static void add_one(const char *key, const char *value, void *arg)
{
	struct tally *t = arg;

	t->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	t->bad |= !head_is_token(key) || (value && !head_is_value(value));
	if (!strcasecmp(key, "Host")) {
		t->hosts++;
		first_value(&t->host, value);
	} else if (!strcasecmp(key, "Content-Length")) {
		t->lengths++;
		first_value(&t->clen, value);
	} else if (!strcasecmp(key, "Transfer-Encoding")) {
		t->chunked = true;
	} else if (!strcasecmp(key, "Origin")) {
		first_value(&t->origin, value);
	} else if (!strcasecmp(key, "Sec-Fetch-Site")) {
		first_value(&t->site, value);
	} else if (!strcasecmp(key, "Content-Type")) {
		first_value(&t->ctype, value);
	}
}

/* The bytes of the headers (or query arguments), how many, their Hosts. */
static struct tally head_tally(const struct request_head *head, bool query,
			       int *count)
{
	struct tally t = { 0 };

	*count = head->each(head->conn, query, add_one, &t);
	return t;
}

/*
 * Split "name[:port]" or "[v6]:port"; the name keeps its brackets.  port
 * is -1 when absent; false when the text is no host at all.
 */
static bool split_host(const char *h, char *name, size_t size, long *port)
{
	const char *colon, *p;
	size_t n;
	long v = 0;

	if (h[0] == '[') {
		p = strchr(h, ']');
		if (!p)
			return false;
		n = (size_t)(p - h) + 1;
		colon = p[1] ? p + 1 : NULL;
		if (colon && *colon != ':')
			return false;
	} else {
		colon = strchr(h, ':');
		n = colon ? (size_t)(colon - h) : strlen(h);
	}
	if (!n || n >= size)
		return false;
	memcpy(name, h, n);
	name[n] = '\0';
	*port = -1;
	if (!colon)
		return true;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (p == colon + 1 || v > 65535 || (colon[1] == '0' && colon[2]))
		return false;
	*port = v;
	return true;
}

/* on loopback, or on every address (loopback among them) */
static bool listens_on_loopback(const struct config *cfg)
{
	const char *a = cfg->listen_addr;

	return !strncmp(a, "127.", 4) || !strcmp(a, "::1") ||
	       !strcmp(a, "0.0.0.0") || !strcmp(a, "::");
}

/* The names of the address rmapd listens on, and those --server-name adds. */
static bool host_allowed(const struct config *cfg, const char *host)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1",
						"[::1]", NULL };
	char name[300], own[80];
	long port;
	size_t i;

	if (!split_host(host, name, sizeof(name), &port))
		return false;
	for (i = 0; i < cfg->nr_server_names; i++)
		if (!strcasecmp(name, cfg->server_names[i]))
			return true;
	if (port >= 0 && port != cfg->port)
		return false;
	for (i = 0; loopback[i] && listens_on_loopback(cfg); i++)
		if (!strcasecmp(name, loopback[i]))
			return true;
	snprintf(own, sizeof(own), strchr(cfg->listen_addr, ':') ? "[%s]" : "%s",
		 cfg->listen_addr);
	return !strcasecmp(name, own);
}

static bool cors_allowed(const struct config *cfg, const char *origin)
{
	size_t i;

	for (i = 0; origin && i < cfg->nr_cors_origins; i++)
		if (!strcasecmp(origin, cfg->cors_origins[i]))
			return true;
	return false;
}

/*
 * rmapd's own origin, as the Host (checked already) names it, over either
 * scheme: a proxy in front may serve it as https.
 */
static bool own_origin(const char *origin, const char *host)
{
	const char *authority;

	if (!strncasecmp(origin, "http://", 7))
		authority = origin + 7;
	else if (!strncasecmp(origin, "https://", 8))
		authority = origin + 8;
	else
		return false;
	return host && !strcasecmp(authority, host);
}

/*
 * The media type, without parameters, is application/json; a charset, if
 * any, is UTF-8 (RFC 8259 allows no other).
 */
static bool is_json(const char *ctype)
{
	const char *semi = strchr(ctype, ';'), *cs;
	size_t n = semi ? (size_t)(semi - ctype) : strlen(ctype);

	while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	if (n != 16 || strncasecmp(ctype, "application/json", 16))
		return false;
	cs = semi ? strcasestr(semi, "charset=") : NULL;
	if (!cs)
		return true;
	cs += 8;
	if (!strncasecmp(cs, "utf-8", 5))
		n = 5;
	else if (!strncasecmp(cs, "\"utf-8\"", 7))
		n = 7;
	else
		return false;
	return !cs[n] || cs[n] == ';' || cs[n] == ' ' || cs[n] == '\t';
}

static bool path_ok(const char *path)
{
	size_t i;

	/* guard_unescape() turned a decoded NUL into DEL */
	for (i = 0; path[i]; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return false;
	return api_utf8_valid(path, i);
}

static bool refuse_origin(const struct config *cfg, const char *method,
			  const struct tally *t, struct reply *rep)
{
	const char *origin = t->origin, *site = t->site;

	if (!strcmp(method, "GET") || !strcmp(method, "HEAD") ||
	    cors_allowed(cfg, origin))
		return false;
	if (site && (!strcasecmp(site, "cross-site") ||
		     !strcasecmp(site, "same-site"))) {
		reply_problem(rep, 403, "cross-origin", "Sec-Fetch-Site",
			      "a page on another site may not change rmapd's "
			      "state (Sec-Fetch-Site: %.20s)", site);
		return true;
	}
	if (origin && !own_origin(origin, t->host)) {
		reply_problem(rep, 403, "cross-origin", "Origin",
			      "a page from %.100s may not change rmapd's state; "
			      "an operator allows origins with --cors-origin",
			      origin);
		return true;
	}
	return false;
}

/*
 * The one exception to JSON: the login form, which a page without script
 * can post.  A cross-site one is refused before (Origin, Sec-Fetch-Site),
 * and its cookie is SameSite=Strict.
 */
static bool login_form(const char *path, const char *ctype)
{
	return !strcmp(path, "/api/v1/login") && ctype &&
	       !strncasecmp(ctype, "application/x-www-form-urlencoded", 33);
}

static bool refuse_body(const char *path, const struct tally *t,
			struct reply *rep)
{
	const char *ctype = t->ctype, *clen = t->clen;
	bool body = t->chunked || (clen && strspn(clen, "0") != strlen(clen));

	if (!body && !ctype)
		return false;
	if (ctype && (is_json(ctype) || login_form(path, ctype)))
		return false;
	reply_problem(rep, 415, "unsupported-media-type", "Content-Type",
		      "a request body must be application/json (curl: -H "
		      "'Content-Type: application/json'), not %.60s",
		      ctype ? ctype : "none");
	return true;
}

bool guard_admit(const struct config *cfg, const char *method,
		 const char *path, const struct request_head *conn,
		 struct reply *rep)
{
	const char *host;
	struct tally t;
	int count;

	if (!strcmp(method, "HEAD"))
		method = "GET";
	if (head_tally(conn, true, &count).bytes + strlen(path) >
	    HEAD_MAX_TARGET) {
		reply_problem(rep, 414, "uri-too-long", "", "the request target "
			      "is longer than %d bytes", HEAD_MAX_TARGET);
		return true;
	}
	t = head_tally(conn, false, &count);
	host = t.host;
	if (t.bytes > HEAD_MAX_FIELDS || count > HEAD_MAX_COUNT) {
		reply_problem(rep, 431, "headers-too-large", "", "the request "
			      "headers are more than %d bytes or %d headers",
			      HEAD_MAX_FIELDS, HEAD_MAX_COUNT);
		return true;
	}
	/*
	 * The front door (head.c) refuses these in a connection's first
	 * request; a kept-alive connection's next ones reach libmicrohttpd
	 * directly, and it takes them.
	 */
	if (!head_is_token(method) || t.bad || t.lengths > 1) {
		reply_problem(rep, 400, "malformed-request", "", "the request "
			      "head is not HTTP/1.1 (the method, a header line, "
			      "or two Content-Lengths)");
		return true;
	}
	if (t.chunked) {
		reply_problem(rep, 411, "length-required", "Transfer-Encoding",
			      "send the body with a Content-Length; rmapd takes "
			      "no Transfer-Encoding (chunked) request body");
		return true;
	}
	if (t.hosts > 1) {
		/* a proxy and rmapd might each believe a different one */
		reply_problem(rep, 400, "missing-host", "Host", "a request has "
			      "one Host header, not %d", t.hosts);
		return true;
	}
	if (!host && strcmp(conn->version, MHD_HTTP_VERSION_1_0)) {
		reply_problem(rep, 400, "missing-host", "Host", "an HTTP/1.1 "
			      "request needs a Host header");
		return true;
	}
	if (host && !host_allowed(cfg, host)) {
		reply_problem(rep, 421, "unknown-host", "Host", "rmapd does not "
			      "serve '%.80s'; an operator adds names with "
			      "--server-name", host);
		return true;
	}
	if (!path_ok(path)) {
		reply_problem(rep, 400, "bad-path", "", "the path holds a control "
			      "byte or is not UTF-8 once percent-decoded");
		return true;
	}
	if (refuse_origin(cfg, method, &t, rep))
		return true;
	if (strcmp(method, "GET") && refuse_body(path, &t, rep))
		return true;
	if (!strcmp(method, "OPTIONS") && cors_allowed(cfg, t.origin) &&
	    header(conn, "Access-Control-Request-Method")) {
		rep->status = 204;	/* a preflight: guard_headers() answers */
		return true;
	}
	return false;
}

void guard_each_header(const struct config *cfg,
		       void (*fn)(const char *name, const char *value, void *arg),
		       void *arg)
{
	fn("Content-Security-Policy", CSP, arg);
	fn("X-Content-Type-Options", "nosniff", arg);
	fn("Referrer-Policy", "no-referrer", arg);
	fn("X-Frame-Options", "DENY", arg);
	fn("Cross-Origin-Resource-Policy", cfg->nr_cors_origins ?
	   "cross-origin" : "same-origin", arg);
}

static void add_header(const char *name, const char *value, void *arg)
{
	MHD_add_response_header(arg, name, value);
}

void guard_headers(const struct config *cfg, struct MHD_Response *r,
		   struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 "Origin");

	guard_each_header(cfg, add_header, r);
	if (!cfg->nr_cors_origins)
		return;
	MHD_add_response_header(r, "Vary", "Origin");
	if (!cors_allowed(cfg, origin))
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(r, "Access-Control-Expose-Headers",
				"Location, Retry-After");
	if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 "Access-Control-Request-Method"))
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Methods",
				"GET, HEAD, POST, DELETE");
	MHD_add_response_header(r, "Access-Control-Allow-Headers",
				"Content-Type, Authorization");
	MHD_add_response_header(r, "Access-Control-Max-Age", "600");
}

/*
 * libmicrohttpd's own unescaping, except that a decoded %00, which would
 * end the C string and cut "/api/v1/sessions/1%00/x" to a path that
 * exists, becomes DEL: a control byte that guard_admit() refuses.
 */
size_t guard_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n = MHD_http_unescape(s), i;

	(void)cls;
	(void)conn;
	for (i = 0; i < n; i++)
		if (!s[i])
			s[i] = 0x7f;
	return n;
}
