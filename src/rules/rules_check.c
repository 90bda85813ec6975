/*
 * rules_check.c: the semantic checks of a decoded rule group, as Prometheus
 * 2.42's rulefmt makes them (RuleGroups.Validate and Rule.Validate): exactly
 * one of record and alert; expr present and valid PromQL (alloy's parser,
 * whose messages are Prometheus's); for, keep_firing_for and annotations only
 * on alerting rules; a recording rule's name a metric name; label names valid
 * and not __name__, label values UTF-8; annotation names valid label names.
 * 2.42 checks nothing else of an alert's name (any non-empty text).  Last,
 * an alerting rule's label values and annotations must parse as templates
 * (tmpl_*.c), so a template alloy cannot expand is refused when the file is
 * loaded, never when the alert fires; recording rules' labels are not
 * templates.
 */
#include "promql/promql.h"
#include "rules/rules.h"
#include "rules/rules_int.h"

/* "label|annotation "name": <parse error>" for the first pair whose value does not parse. */
static const char *
check_templates(AlloyArena *arena, const char *what, const RulesPair *pairs, int n, int *line)
{
	char		err[256];

	for (int i = 0; i < n; i++)
	{
		const RulesPair *p = &pairs[i];

		if (rules_template_parse(arena, p->value, strlen(p->value), err, sizeof(err)) == NULL)
		{
			*line = p->line;
			return alloy_arena_sprintf(arena, "%s \"%s\": %s", what, p->name, err);
		}
	}
	return NULL;
}

/* The message for the first failed check of rule i, in rulefmt's order. */
static const char *
check_rule(AlloyArena *arena, const RulesRule *r, int *line)
{
	const char *perr;

	*line = r->line;
	if (r->record && r->alert)
		return "only one of 'record' and 'alert' must be set";
	if (!r->record && !r->alert)
		return "one of 'record' or 'alert' must be set";
	if (r->expr == NULL || r->expr[0] == '\0')
		return "field 'expr' must be set in rule";
	if (promql_parse(arena, r->expr, strlen(r->expr), &perr) == NULL)
	{
		*line = r->expr_line;
		return alloy_arena_sprintf(arena, "could not parse expression: %s", perr);
	}
	if (r->record)
	{
		if (r->nannotations > 0)
			return "invalid field 'annotations' in recording rule";
		if (r->for_ms != 0)
			return "invalid field 'for' in recording rule";
		if (r->keep_firing_for_ms != 0)
			return "invalid field 'keep_firing_for' in recording rule";
		if (!alloy_valid_metric_name(r->record, strlen(r->record)))
			return alloy_arena_sprintf(arena, "invalid recording rule name: %s", r->record);
	}
	for (int i = 0; i < r->nlabels; i++)
	{
		const RulesPair *p = &r->labels[i];

		*line = p->line;
		if (!alloy_valid_label_name(p->name, strlen(p->name)) || strcmp(p->name, "__name__") == 0)
			return alloy_arena_sprintf(arena, "invalid label name: %s", p->name);
		if (!alloy_valid_utf8(p->value, strlen(p->value)))
			return alloy_arena_sprintf(arena, "invalid label value: %s", p->value);
	}
	for (int i = 0; i < r->nannotations; i++)
	{
		const RulesPair *p = &r->annotations[i];

		*line = p->line;
		if (!alloy_valid_label_name(p->name, strlen(p->name)))
			return alloy_arena_sprintf(arena, "invalid annotation name: %s", p->name);
	}
	if (r->alert)
	{
		const char *msg;

		if ((msg = check_templates(arena, "label", r->labels, r->nlabels, line)) != NULL ||
			(msg = check_templates(arena, "annotation", r->annotations, r->nannotations, line)) != NULL)
			return msg;
	}
	return NULL;
}

bool
rules_check_group(AlloyArena *arena, const RulesGroup *g, const char **err)
{
	for (int i = 0; i < g->nrules; i++)
	{
		const RulesRule *r = &g->rules[i];
		const char *msg;
		int			line;

		if ((msg = check_rule(arena, r, &line)) != NULL)
		{
			*err = alloy_arena_sprintf(arena, "line %d: group \"%s\", rule %d, \"%s\": %s",
									   line, g->name, i + 1,
									   r->alert ? r->alert : r->record ? r->record : "", msg);
			return false;
		}
	}
	return true;
}
