// SPDX-License-Identifier: MIT
/*
 * fuzz_ops.c - libFuzzer harness: operations as the API receives them.
 *
 * The input is JSON text, one operation per line, optionally after a first
 * line with the session options ({"zero_page": false, "mode": "legacy"}).
 * The lines run in a session of that mode: in normal mode the checker must
 * pass after every op; in legacy mode the anon_vma reuse bug of Linux
 * 3.19-6.0 may leave dangling or unreachable anonymous mappings, and
 * nothing else.  The session then goes through the snapshot round trip.
 * One mode per input, not both: the seeds come in both (run.py), and each
 * execution costs half.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

/* A first line that is an object without "op" sets the session options. */
static size_t parse_options(const char *buf, size_t len, struct sim_config *cfg)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;
	struct api_error err;
	cJSON *json = cJSON_ParseWithLength(buf, n);
	size_t used = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (cJSON_IsObject(json) && !cJSON_GetObjectItemCaseSensitive(json, "op") &&
	    !api_parse_config(json, cfg, &err))
		used = nl ? n + 1 : n;
	cJSON_Delete(json);
	fuzz_limits(&cfg->limits);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct sim_config cfg;
	size_t skip = parse_options(buf, size, &cfg);
	struct sim *sim = sim_new(&cfg);
	struct sim_check_report rep = { 0 };
	bool applied;

	if (!sim)
		fuzz_fail("sim_new failed");
	applied = fuzz_apply_lines(sim, buf + skip, size - skip, &rep);
	fuzz_round_trip(sim, "after the ops", applied ? &rep : NULL);
	sim_check_report_free(&rep);
	sim_free(sim);
	return 0;
}
