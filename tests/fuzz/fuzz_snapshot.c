// SPDX-License-Identifier: MIT
/*
 * fuzz_snapshot.c - libFuzzer harness: snapshots as the database returns
 * them, which sim_load() must not trust.
 *
 * The input is a dump, optionally followed by a line "%%" and JSON op
 * lines.  A dump that loads may carry no violation, but in legacy mode
 * those the anon_vma reuse bug leaves by design; it goes through the
 * snapshot round trip, then takes the ops under the same rules as a new
 * session (fuzz_apply_lines), and the round trip again.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#define OPS_MARK	"\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *mark = memmem(buf, size, OPS_MARK, strlen(OPS_MARK));
	size_t len = mark ? (size_t)(mark - buf) + 1 : size;
	struct sim_check_report none = { 0 }, rep = { 0 };
	struct sim *sim;
	char err[200];
	bool applied;

	sim = sim_load(buf, len, err, sizeof(err));
	if (!sim)
		return 0;
	/* sim_load() refuses a normal-mode dump the checker faults */
	fuzz_round_trip(sim, "a loaded dump",
			sim->cfg.mode == SIM_MODE_NORMAL ? &none : NULL);
	if (mark) {
		len += strlen(OPS_MARK) - 1;
		applied = fuzz_apply_lines(sim, buf + len, size - len, &rep);
		fuzz_round_trip(sim, "after the ops", applied ? &rep : NULL);
		sim_check_report_free(&rep);
	}
	sim_free(sim);
	return 0;
}
