/* SPDX-License-Identifier: MIT */
/*
 * rng.h - the seeded generator of the randomized engine tests (xorshift64):
 * the same seed gives the same operations on every machine.
 */
#ifndef RMAPD_TEST_RNG_H
#define RMAPD_TEST_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* 0 .. n-1 (0 when n is 0) */
static inline unsigned long pick(struct rng *r, unsigned long n)
{
	return n ? rnd(r) % n : 0;
}

#endif /* RMAPD_TEST_RNG_H */
