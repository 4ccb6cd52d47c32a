// SPDX-License-Identifier: MIT
/*
 * log.c - one line per message on stderr.  Under systemd (JOURNAL_STREAM
 * set) each line starts with the sd-daemon "<N>" priority prefix that
 * journald reads; otherwise with a timestamp and the level's name.
 * Messages carry what clients sent (paths, names): every byte that is not
 * printable ASCII is written as \xNN, so one message stays one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rmapd.h"

static int journald;

void log_init(void)
{
	journald = getenv("JOURNAL_STREAM") != NULL;
}

/* src into dst: '\\' and bytes that are not printable ASCII as \xNN */
static void escape(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)c;
			continue;
		}
		if (n + 4 >= size)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[c >> 4];
		dst[n++] = hex[c & 15];
	}
	dst[n] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[8] = {
		[LOG_ERR] = "error", [LOG_WARNING] = "warning",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	char line[2048], msg[1024];
	va_list ap;
	int n;

	if (journald) {
		n = snprintf(line, sizeof(line), "<%d>", level);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ",
			      names[level] ? names[level] : "log");
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	escape(line + n, sizeof(line) - (size_t)n, msg);
	fprintf(stderr, "%s\n", line);
}
