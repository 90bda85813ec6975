/*
 * rules_yaml.c: load a rule file's YAML into a small tree (RulesYamlNode).
 *
 * Built from libyaml's event stream rather than its document loader so that
 * the limits a server needs are enforced while reading: the input size, the
 * nesting depth, the number of nodes, and no aliases (an alias lets a few bytes stand for an
 * exponential tree; Prometheus's yaml.v3 bounds the expansion, we refuse
 * aliases outright).  Only the first document is read, as yaml.v3's
 * Unmarshal does.  Mapping keys must be scalars and distinct.
 */
#include <stdio.h>
#include <yaml.h>

#include "rules/rules.h"

typedef struct Loader
{
	AlloyArena *arena;
	yaml_parser_t parser;
	int			nodes;			/* made so far, against RULES_MAX_NODES */
	const char *err;
} Loader;

/* A node's growing list of items, doubled in the arena as it fills. */
static void
add_item(AlloyArena *arena, RulesYamlNode *parent, RulesYamlNode *child, int *cap)
{
	if (parent->nitems == *cap)
	{
		int			ncap = *cap ? *cap * 2 : 8;

		parent->items = alloy_arena_realloc(arena, parent->items,
											sizeof(RulesYamlNode *) * (size_t) *cap,
											sizeof(RulesYamlNode *) * (size_t) ncap);
		*cap = ncap;
	}
	parent->items[parent->nitems++] = child;
}

static RulesYamlNode *
new_node(AlloyArena *arena, RulesYamlKind kind, yaml_mark_t mark, const yaml_char_t *tag)
{
	RulesYamlNode *n = alloy_arena_alloc0(arena, sizeof(RulesYamlNode));

	n->kind = kind;
	n->line = (int) mark.line + 1;
	n->col = (int) mark.column + 1;
	n->tag = tag ? alloy_arena_strdup(arena, (const char *) tag) : NULL;
	return n;
}

static bool
next_event(Loader *l, yaml_event_t *ev)
{
	if (yaml_parser_parse(&l->parser, ev))
		return true;
	l->err = alloy_arena_sprintf(l->arena, "yaml: line %d: %s",
								 (int) l->parser.problem_mark.line + 1,
								 l->parser.problem ? l->parser.problem : "invalid YAML");
	return false;
}

/* Is this key already among the map's keys (scalars compared by text)? */
static const RulesYamlNode *
find_key(const RulesYamlNode *map, const RulesYamlNode *key)
{
	for (int i = 0; i < map->nitems; i += 2)
	{
		const RulesYamlNode *k = map->items[i];

		if (k->len == key->len && memcmp(k->text, key->text, k->len) == 0)
			return k;
	}
	return NULL;
}

/*
 * Read one node whose first event is ev (consumed here), with its children.
 * Recursion is bounded by RULES_MAX_DEPTH.
 */
static RulesYamlNode *
load_node(Loader *l, yaml_event_t *ev, int depth)
{
	RulesYamlNode *n;
	int			cap = 0;
	bool		is_map;

	if (++l->nodes > RULES_MAX_NODES)
	{
		l->err = alloy_arena_sprintf(l->arena, "yaml: line %d: more than %d nodes in one rule file",
									 (int) ev->start_mark.line + 1, RULES_MAX_NODES);
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type)
	{
		case YAML_ALIAS_EVENT:
			l->err = alloy_arena_sprintf(l->arena, "yaml: line %d: aliases are not allowed in rule files",
										 (int) ev->start_mark.line + 1);
			yaml_event_delete(ev);
			return NULL;
		case YAML_SCALAR_EVENT:
			n = new_node(l->arena, RULES_YAML_SCALAR, ev->start_mark, ev->data.scalar.tag);
			n->text = alloy_arena_strndup(l->arena, (const char *) ev->data.scalar.value,
										  ev->data.scalar.length);
			n->len = ev->data.scalar.length;
			n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			yaml_event_delete(ev);
			return n;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			break;
		default:
			l->err = "yaml: unexpected event";
			yaml_event_delete(ev);
			return NULL;
	}

	is_map = ev->type == YAML_MAPPING_START_EVENT;
	n = new_node(l->arena, is_map ? RULES_YAML_MAP : RULES_YAML_SEQ, ev->start_mark,
				 is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
	if (depth >= RULES_MAX_DEPTH)
	{
		l->err = alloy_arena_sprintf(l->arena, "yaml: line %d: nesting deeper than %d levels",
									 n->line, RULES_MAX_DEPTH);
		yaml_event_delete(ev);
		return NULL;
	}
	yaml_event_delete(ev);

	for (;;)
	{
		yaml_event_t child_ev;
		RulesYamlNode *child;

		if (!next_event(l, &child_ev))
			return NULL;
		if (child_ev.type == YAML_SEQUENCE_END_EVENT || child_ev.type == YAML_MAPPING_END_EVENT)
		{
			yaml_event_delete(&child_ev);
			return n;
		}
		child = load_node(l, &child_ev, depth + 1);
		if (child == NULL)
			return NULL;
		if (is_map && n->nitems % 2 == 0)
		{
			const RulesYamlNode *prev;

			if (child->kind != RULES_YAML_SCALAR)
			{
				l->err = alloy_arena_sprintf(l->arena, "yaml: line %d: mapping keys must be scalars",
											 child->line);
				return NULL;
			}
			if ((prev = find_key(n, child)) != NULL)
			{
				l->err = alloy_arena_sprintf(l->arena,
											 "yaml: line %d: mapping key \"%s\" already defined at line %d",
											 child->line, child->text, prev->line);
				return NULL;
			}
		}
		add_item(l->arena, n, child, &cap);
	}
}

bool
rules_yaml_load(AlloyArena *arena, const char *text, size_t len, RulesYamlNode **root,
				const char **err)
{
	Loader		l = {.arena = arena};
	yaml_event_t ev;
	bool		ok = false;

	*root = NULL;
	if (len > RULES_MAX_FILE_BYTES)
	{
		*err = alloy_arena_sprintf(arena, "rule file of %zu bytes is over the limit of %d bytes",
								   len, RULES_MAX_FILE_BYTES);
		return false;
	}
	if (!yaml_parser_initialize(&l.parser))
	{
		*err = "yaml: cannot initialize the parser";
		return false;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *) text, len);

	/* stream start, then a document or the stream's end */
	if (!next_event(&l, &ev))
		goto done;
	yaml_event_delete(&ev);
	if (!next_event(&l, &ev))
		goto done;
	if (ev.type == YAML_STREAM_END_EVENT)
	{
		yaml_event_delete(&ev);
		ok = true;
		goto done;
	}
	yaml_event_delete(&ev);		/* document start */
	if (!next_event(&l, &ev))
		goto done;
	*root = load_node(&l, &ev, 0);
	if (*root == NULL)
		goto done;
	/* the document's end must be well formed; later documents are not read */
	if (!next_event(&l, &ev))
		goto done;
	yaml_event_delete(&ev);
	ok = true;

done:
	yaml_parser_delete(&l.parser);
	if (!ok)
		*err = l.err;
	return ok;
}
