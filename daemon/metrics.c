// SPDX-License-Identifier: MIT
/*
 * metrics.c - Prometheus text exposition: requests by route, method and
 * status, a latency histogram, the number of sessions and of operations
 * applied.  Routes are templates (/api/v1/sessions/{id}), so the number of
 * series stays bounded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmapd.h"
#include "strbuf.h"

#define MAX_SERIES 256

static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				  0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define NR_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	const char *route;
	char method[8];
	int status;
	unsigned long count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series[MAX_SERIES];
static size_t nr_series;
static unsigned long hist[NR_BUCKETS + 1];
static double hist_sum;
static unsigned long hist_count, ops_applied;
static unsigned long undo_copies, undo_rebuilds;

/* a client may send any token as a method: label only the known ones */
static const char *method_label(const char *method)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
					     "DELETE", "PATCH", "OPTIONS" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(method, known[i]))
			return known[i];
	return "other";
}

void metrics_request(const char *route, const char *method, int status,
		     double seconds)
{
	size_t i, b;

	method = method_label(method);
	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_series; i++)
		if (series[i].route == route && series[i].status == status &&
		    !strcmp(series[i].method, method))
			break;
	if (i == nr_series && nr_series < MAX_SERIES) {
		series[i].route = route;
		snprintf(series[i].method, sizeof(series[i].method), "%s", method);
		series[i].status = status;
		nr_series++;
	}
	if (i < nr_series)
		series[i].count++;
	for (b = 0; b < NR_BUCKETS && seconds > buckets[b]; b++)
		;
	hist[b]++;
	hist_sum += seconds;
	hist_count++;
	pthread_mutex_unlock(&lock);
}

void metrics_batch_undo(bool copied)
{
	__atomic_add_fetch(copied ? &undo_copies : &undo_rebuilds, 1,
			   __ATOMIC_RELAXED);
}

void metrics_ops(unsigned long n)
{
	__atomic_add_fetch(&ops_applied, n, __ATOMIC_RELAXED);
}

/* the group commit: rows per group is rows / groups */
static void commit_metrics(struct strbuf *t)
{
	struct db_commit_stats c;

	db_commit_stats(g_db, &c);
	strbuf_printf(t, "# HELP rmapd_commit_groups_total Group commits (one "
		"transaction, one fsync each).\n"
		"# TYPE rmapd_commit_groups_total counter\n"
		"rmapd_commit_groups_total %llu\n"
		"# HELP rmapd_commit_failed_groups_total Group commits that "
		"failed (their ops answered 503).\n"
		"# TYPE rmapd_commit_failed_groups_total counter\n"
		"rmapd_commit_failed_groups_total %llu\n"
		"# HELP rmapd_commit_rows_total Journal rows committed.\n"
		"# TYPE rmapd_commit_rows_total counter\n"
		"rmapd_commit_rows_total %llu\n"
		"# HELP rmapd_commit_queued_total Writes queued for the group "
		"commit (journal rows of a request, snapshots).\n"
		"# TYPE rmapd_commit_queued_total counter\n"
		"rmapd_commit_queued_total %llu\n"
		"# HELP rmapd_commit_conflicts_total Writes refused because "
		"another node had written their seq (made again on the "
		"session reloaded).\n"
		"# TYPE rmapd_commit_conflicts_total counter\n"
		"rmapd_commit_conflicts_total %llu\n"
		"# HELP rmapd_commit_row_retries_total Groups tried again a "
		"journal row to a statement, to find whose rows, in a batch of "
		"several requests' rows, met another node's.\n"
		"# TYPE rmapd_commit_row_retries_total counter\n"
		"rmapd_commit_row_retries_total %llu\n", c.groups,
		c.failed_groups, c.rows, c.queued, c.conflicts, c.row_retries);
}

char *metrics_render(size_t *len)
{
	struct strbuf t;
	unsigned long cum = 0;
	size_t i;

	strbuf_init(&t, 4096);
	pthread_mutex_lock(&lock);
	strbuf_printf(&t, "# HELP rmapd_http_requests_total HTTP requests answered.\n"
		"# TYPE rmapd_http_requests_total counter\n");
	for (i = 0; i < nr_series; i++)
		strbuf_printf(&t, "rmapd_http_requests_total{route=\"%s\",method=\"%s\","
			"status=\"%d\"} %lu\n", series[i].route, series[i].method,
			series[i].status, series[i].count);
	strbuf_printf(&t, "# HELP rmapd_http_request_duration_seconds Time to answer.\n"
		"# TYPE rmapd_http_request_duration_seconds histogram\n");
	for (i = 0; i < NR_BUCKETS; i++) {
		cum += hist[i];
		strbuf_printf(&t, "rmapd_http_request_duration_seconds_bucket{le=\"%g\"} "
			"%lu\n", buckets[i], cum);
	}
	strbuf_printf(&t, "rmapd_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
		"rmapd_http_request_duration_seconds_sum %.6f\n"
		"rmapd_http_request_duration_seconds_count %lu\n",
	    hist_count, hist_sum, hist_count);
	strbuf_printf(&t, "# HELP rmapd_ops_applied_total Operations applied.\n"
		"# TYPE rmapd_ops_applied_total counter\n"
		"rmapd_ops_applied_total %lu\n",
		__atomic_load_n(&ops_applied, __ATOMIC_RELAXED));
	strbuf_printf(&t, "# HELP rmapd_batch_undos_total Batches stopped "
		"after some of their ops were applied, put back from a copy "
		"of the state taken before them (copy) or rebuilt from the "
		"journal (rebuild).\n"
		"# TYPE rmapd_batch_undos_total counter\n"
		"rmapd_batch_undos_total{how=\"copy\"} %lu\n"
		"rmapd_batch_undos_total{how=\"rebuild\"} %lu\n",
		__atomic_load_n(&undo_copies, __ATOMIC_RELAXED),
		__atomic_load_n(&undo_rebuilds, __ATOMIC_RELAXED));
	pthread_mutex_unlock(&lock);
	commit_metrics(&t);
	strbuf_printf(&t, "# HELP rmapd_sessions Sessions in the database.\n"
		"# TYPE rmapd_sessions gauge\nrmapd_sessions %lu\n",
	    sessions_count());
	conns_metrics(&t);
	*len = t.len;
	return t.p;
}
