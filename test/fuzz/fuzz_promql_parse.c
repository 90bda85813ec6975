/*
 * fuzz_promql_parse.c: libFuzzer target for the PromQL lexer, parser, type
 * checker and printer.
 *
 * Queries arrive from HTTP clients, so the parser must survive any bytes:
 * no crash, no overread, no unbounded recursion.  Every accepted query is
 * also printed, and the printed form must parse again (the printer is what
 * explain shows).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* both dialects: 2.42 and Prometheus 3 (numbers as durations, ...) */
	for (int compat = PROMQL_COMPAT_V2; compat <= PROMQL_COMPAT_V3; compat++)
	{
		AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);
		const char *err = NULL;
		PromqlNode *n = promql_parse_compat(arena, (const char *) data, size, compat, &err);

		if (n)
		{
			char	   *s = promql_node_string(arena, n);

			(void) promql_parse_compat(arena, s, strlen(s), compat, &err);
		}
		else if (err == NULL)
			abort();			/* a failed parse must say why */
		alloy_arena_destroy(arena);
	}
	return 0;
}
