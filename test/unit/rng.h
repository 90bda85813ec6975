/*
 * rng.h: the seeded generator and float64 bit helpers the codec tests share.
 *
 * splitmix64 with a per-test seed (set rng_state before use), so a failure
 * reproduces exactly; dbits/bitsd compare and build values bit for bit.
 */
#ifndef ALLOY_TEST_RNG_H
#define ALLOY_TEST_RNG_H

#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint64_t
rng(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rng_below(uint64_t n)
{
	return rng() % n;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double
rng_unit(void)
{
	return (double) (rng() >> 11) / 9007199254740992.0;
}

static inline uint64_t
dbits(double v)
{
	uint64_t	b;

	memcpy(&b, &v, 8);
	return b;
}

static inline double
bitsd(uint64_t b)
{
	double		v;

	memcpy(&v, &b, 8);
	return v;
}

#endif							/* ALLOY_TEST_RNG_H */
