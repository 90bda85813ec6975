/*
 * unit.h: a minimal check harness for alloy's plain-C unit tests.
 *
 * The codecs and parsers that make no PostgreSQL calls are tested outside the
 * server. Each test binary counts its checks and ends with the line
 * "<N> passed, <M> failed" that test/run-all adds up; the exit status is non-zero
 * when anything failed.
 */
#ifndef ALLOY_UNIT_H
#define ALLOY_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int	unit_passed;
static int	unit_failed;

/* Count one check; report a failure with where it happened. */
#define CHECK(cond, ...) \
	do { \
		if (cond) \
			unit_passed++; \
		else \
		{ \
			unit_failed++; \
			fprintf(stdout, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stdout, __VA_ARGS__); \
			fputc('\n', stdout); \
		} \
	} while (0)

/* Print the totals line and turn them into the exit status. */
static inline int
unit_finish(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif							/* ALLOY_UNIT_H */
