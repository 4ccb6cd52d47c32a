// SPDX-License-Identifier: MIT
/*
 * seed_dump.c - `seed_dump legacy|normal < ops`: the dump of a session
 * after the JSON op lines on stdin (refused ones skipped), for the seed
 * corpus of the snapshot harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static void apply_line(struct sim *sim, const char *line)
{
	struct api_error err;
	struct sim_result res;
	struct sim_op op;
	cJSON *json = cJSON_Parse(line);

	if (json && !api_parse_op(json, &op, &err))
		api_apply_op(sim, &op, &res, &err);
	cJSON_Delete(json);
}

int main(int argc, char **argv)
{
	struct sim_config cfg = { 0 };
	static char line[1 << 16];
	struct sim *sim;
	size_t len;
	char *dump;

	if (argc != 2 || (strcmp(argv[1], "normal") && strcmp(argv[1], "legacy"))) {
		fprintf(stderr, "usage: seed_dump normal|legacy < ops\n");
		return 2;
	}
	cfg.mode = strcmp(argv[1], "legacy") ? SIM_MODE_NORMAL : SIM_MODE_LEGACY;
	sim = sim_new(&cfg);
	while (sim && fgets(line, sizeof(line), stdin))
		apply_line(sim, line);
	dump = sim ? sim_dump(sim, &len) : NULL;
	if (!dump || fwrite(dump, 1, len, stdout) != len)
		return 1;
	free(dump);
	sim_free(sim);
	return 0;
}
