// SPDX-License-Identifier: MIT
/*
 * proxy.c - whose request it is, behind a reverse proxy (nginx in front of
 * several nodes): every connection then comes from the proxy's address.
 * Only a peer named by --trusted-proxy may say which client it carries
 * (X-Real-IP, else the last hop of X-Forwarded-For: the one the proxy
 * itself added); from any other peer those headers are ignored, so that no
 * client can pass itself off as another past the per-address limits.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "rmapd.h"

bool addr_key(const struct sockaddr *sa, unsigned char key[ADDR_KEY_LEN])
{
	memset(key, 0, ADDR_KEY_LEN);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* an IPv4 or IPv6 address as text, exactly (no port, no brackets) */
static bool text_key(const char *text, unsigned char key[ADDR_KEY_LEN])
{
	memset(key, 0, ADDR_KEY_LEN);
	if (inet_pton(AF_INET, text, key + 1) == 1) {
		key[0] = 4;
		return true;
	}
	if (inet_pton(AF_INET6, text, key + 1) == 1) {
		key[0] = 6;
		return true;
	}
	return false;
}

int proxy_add(struct config *c, const char *v)
{
	if (c->nr_trusted >= MAX_NAMES) {
		fprintf(stderr, "rmapd: at most %d --trusted-proxy\n", MAX_NAMES);
		return -1;
	}
	if (!text_key(v, c->trusted[c->nr_trusted])) {
		fprintf(stderr, "rmapd: --trusted-proxy takes an IPv4 or IPv6 "
			"address, not '%s'\n", v);
		return -1;
	}
	c->nr_trusted++;
	return 0;
}

bool proxy_trusted(const unsigned char key[ADDR_KEY_LEN])
{
	unsigned int i;

	for (i = 0; i < g_cfg->nr_trusted; i++)
		if (!memcmp(g_cfg->trusted[i], key, ADDR_KEY_LEN))
			return true;
	return false;
}

static void key_text(const unsigned char key[ADDR_KEY_LEN], char *out,
		     size_t len)
{
	snprintf(out, len, "?");
	if (key[0])
		inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, out,
			  (socklen_t)len);
}

/* a header's address (its last comma-separated item), checked and spelt */
static bool header_addr(const char *v, char *out, size_t len)
{
	unsigned char key[ADDR_KEY_LEN];
	const char *last;
	char item[64];
	size_t n;

	if (!v)
		return false;
	last = strrchr(v, ',');
	last = last ? last + 1 : v;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (!n || n >= sizeof(item) || last[n + strspn(last + n, " \t")])
		return false;
	memcpy(item, last, n);
	item[n] = '\0';
	if (!text_key(item, key))
		return false;
	key_text(key, out, len);
	return true;
}

bool proxy_client(const struct sockaddr *peer,
		  const char *(*header)(void *conn, const char *name),
		  void *conn, char *out, size_t len)
{
	unsigned char key[ADDR_KEY_LEN];

	if (!g_cfg->nr_trusted || !addr_key(peer, key) || !proxy_trusted(key))
		return false;
	return header_addr(header(conn, "X-Real-IP"), out, len) ||
	       header_addr(header(conn, "X-Forwarded-For"), out, len);
}
