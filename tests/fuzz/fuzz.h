/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the op and snapshot harnesses share: op lines applied to a
 * session under every rule the daemon relies on, and the snapshot round
 * trip.  A broken rule is reported on stderr and abort()s, which libFuzzer
 * records as a crash with the input that caused it.
 */
#ifndef RMAPD_FUZZ_H
#define RMAPD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"

/* ops applied per input: enough for fork chains, few enough to stay fast */
#define FUZZ_MAX_OPS	32

void fuzz_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Limits small enough that no input of a few ops runs for long. */
void fuzz_limits(struct sim_limits *limits);

/*
 * Apply the JSON op lines of buf (up to FUZZ_MAX_OPS) to sim.  Every op
 * parses to canonical JSON that parses back to itself; a refused op changes
 * nothing; after every op the checker finds nothing, or in legacy mode
 * only what the anon_vma reuse bug leaves.  True when an op was applied:
 * then rep (zeroed by the caller, freed by it) is the checker's report on
 * the state sim is left in.
 */
bool fuzz_apply_lines(struct sim *sim, const char *buf, size_t len,
		      struct sim_check_report *rep);

/*
 * The first violation of rep (sim_check's report on sim) other than the
 * ones a legacy-mode session leaves by design (all of them in normal
 * mode), or NULL: what no state may carry.
 */
const char *fuzz_untolerated(const struct sim *sim,
			     const struct sim_check_report *rep);

/*
 * The snapshot rules: the state (what, for the report) has no untolerated
 * violation, and dumps to text that loads back, dumps to the same bytes,
 * and walks every frame and passes the checker exactly as the original.
 * known is the checker's report on sim when the caller has it, else NULL.
 */
void fuzz_round_trip(struct sim *sim, const char *what,
		     const struct sim_check_report *known);

#endif /* RMAPD_FUZZ_H */
