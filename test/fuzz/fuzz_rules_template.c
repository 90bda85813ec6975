/*
 * fuzz_rules_template.c: libFuzzer target for the rule template engine.
 *
 * Rule files are written by people and may come from anywhere, so parsing
 * and expanding a template must survive any bytes: no crash, no overread,
 * no runaway work (the engine's step and output caps must stop it).  Every
 * template that parses is also expanded over a small alert, with a fake
 * query callback that answers any query with two samples.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fake_query(void *arg, AlloyArena *a, const char *expr, TmplVector *out, char *err, size_t errlen)
{
	static const AlloyLabel l1[] = {{"job", 3, "a", 1}, {"instance", 8, "x:1", 3}};
	static const AlloyLabel l2[] = {{"job", 3, "b", 1}, {"__value__", 9, "7", 1}};

	(void) arg;
	if (expr[0] == 'E')
	{
		strncpy(err, "fake query error", errlen - 1);
		err[errlen - 1] = '\0';
		return false;
	}
	out->n = expr[0] == '0' ? 0 : 2;
	out->s = alloy_arena_alloc0(a, 2 * sizeof(TmplSample));
	tmpl_map_from_labels(a, &out->s[0].labels, l1, 2);
	tmpl_map_from_labels(a, &out->s[1].labels, l2, 2);
	out->s[0].value = 1.5;
	out->s[1].value = NAN;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const AlloyLabel labels[] = {{"job", 3, "j", 1}, {"instance", 8, "h:9090", 6}};
	static const AlloyLabel ext[] = {{"cluster", 7, "c1", 2}};
	AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);
	char		err[256];
	RulesTemplate *t = rules_template_parse(arena, (const char *) data, size, err, sizeof(err));

	if (t)
	{
		RulesTemplateData d = {labels, 2, ext, 1, "http://x", 1234.5};
		RulesTemplateQuery q = {fake_query, NULL};
		char	   *out;

		if (rules_template_expand(arena, t, &d, &q, &out, err, sizeof(err)))
		{
			if (strlen(out) > RULES_TMPL_MAX_OUTPUT)
				abort();
		}
		else if (err[0] == '\0')
			abort();			/* a failed expansion must say why */
	}
	else if (err[0] == '\0')
		abort();				/* a refused template must say why */
	alloy_arena_destroy(arena);
	return 0;
}
