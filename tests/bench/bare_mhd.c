// SPDX-License-Identifier: MIT
/*
 * bare_mhd.c - the anchor for rmapd's HTTP paths: libmicrohttpd with the
 * daemon's flags and thread pool (daemon/http.c) and nothing behind it.
 * GET answers a small JSON object; POST reads the whole body, as rmapd
 * does before it routes, and answers one.  What rmapd's req/s is compared
 * with is what libmicrohttpd alone reaches on the same machine in the
 * same run.
 *
 *	bare_mhd PORT [THREADS]     serves on 127.0.0.1:PORT until SIGTERM
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char get_body[] = "{\"ok\":true,\"version\":1}\n";
static const char post_body[] = "{\"results\":[{\"ok\":true}],\"version\":2}\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **ctx)
{
	static int first;
	const char *text = strcmp(method, "POST") ? get_body : post_body;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)version;
	(void)upload;
	if (!*ctx) {
		*ctx = &first;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;	/* consumed, as rmapd copies it */
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned int threads = 8;
	struct MHD_Daemon *d;

	if (argc < 2) {
		fprintf(stderr, "usage: bare_mhd PORT [THREADS]\n");
		return 2;
	}
	if (argc > 2)
		threads = (unsigned int)atoi(argv[2]);
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096,
			     MHD_OPTION_THREAD_POOL_SIZE, threads,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
			     MHD_OPTION_CONNECTION_LIMIT, 4096u,
			     MHD_OPTION_END);
	if (!d) {
		perror("MHD_start_daemon");
		return 1;
	}
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	return 0;
}
