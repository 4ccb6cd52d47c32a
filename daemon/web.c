// SPDX-License-Identifier: MIT
/*
 * web.c - the static files of the web page, from the web root: no path
 * that climbs out of it, a content type per extension, bounded size.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rmapd.h"

#define MAX_STATIC (16 << 20)

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static bool safe_path(const char *p)
{
	size_t i;

	if (p[0] != '/' || strstr(p, "/..") || strstr(p, "//") || strchr(p, '\\'))
		return false;
	for (i = 0; p[i]; i++)
		if ((unsigned char)p[i] < 0x20)
			return false;
	return true;
}

void serve_static(const struct config *cfg, const char *path,
		  struct reply *rep)
{
	char file[1024];
	struct stat st;
	ssize_t n;
	int fd;

	if (!safe_path(path)) {
		reply_problem(rep, 404, "not-found", "", "no such file");
		return;
	}
	snprintf(file, sizeof(file), "%s%s%s", cfg->web_root, path,
		 path[strlen(path) - 1] == '/' ? "index.html" : "");
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_STATIC) {
		if (fd >= 0)
			close(fd);
		reply_problem(rep, 404, "not-found", "", "no such file");
		return;
	}
	rep->body = malloc((size_t)st.st_size + 1);
	n = rep->body ? read(fd, rep->body, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(rep->body);
		rep->body = NULL;
		reply_problem(rep, 500, "read-failed", "", "cannot read the file");
		return;
	}
	rep->len = (size_t)n;
	rep->status = 200;
	rep->ctype = content_type(file);
}
