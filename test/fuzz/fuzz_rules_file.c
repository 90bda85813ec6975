/*
 * fuzz_rules_file.c: libFuzzer target for the rule-file parser and emitter.
 *
 * Rule files come from ruler API clients, so any bytes must be refused
 * cleanly or accepted; an accepted file is emitted, and the emitted text must
 * parse to equal structs and emit to the same text again.  The same holds
 * for the input read as one group (the ruler API's form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip_file(AlloyArena *arena, const char *text, size_t size)
{
	RulesFile	f,
				f2;
	const char *err = NULL;
	size_t		len,
				len2;
	char	   *out,
			   *out2;

	if (!rules_parse_file(arena, text, size, &f, &err))
	{
		if (err == NULL)
			abort();			/* a refusal must say why */
		return;
	}
	out = rules_emit_file(arena, &f, &len, &err);
	if (!out || !rules_parse_file(arena, out, len, &f2, &err) || !rules_file_equal(&f, &f2))
		abort();
	out2 = rules_emit_file(arena, &f2, &len2, &err);
	if (!out2 || len2 != len || memcmp(out, out2, len) != 0)
		abort();
}

static void
round_trip_group(AlloyArena *arena, const char *text, size_t size)
{
	RulesGroup	g,
				g2;
	const char *err = NULL;
	size_t		len;
	char	   *out;

	if (!rules_parse_group(arena, text, size, &g, &err))
	{
		if (err == NULL)
			abort();
		return;
	}
	out = rules_emit_group(arena, &g, &len, &err);
	if (!out || !rules_parse_group(arena, out, len, &g2, &err) || !rules_group_equal(&g, &g2))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);

	round_trip_file(arena, (const char *) data, size);
	round_trip_group(arena, (const char *) data, size);
	alloy_arena_destroy(arena);
	return 0;
}
