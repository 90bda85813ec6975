/*
 * rules_parse.c: decode a rule file's YAML tree into RulesFile structs.
 *
 * This is the typed, strict half of Prometheus's rulefmt.Parse: every mapping
 * may hold only its known fields, each field must have the YAML type its Go
 * field has, and scalars resolve as yaml.v3 resolves them into those types:
 * record, alert and expr take any scalar's raw text, null's included (rulefmt
 * checks the YAML node's text), so `alert: ~` names the alert "~"; a group's
 * name and label values take null as empty; a duration or int field takes
 * null as zero; an int field takes plain numbers, hex/octal/binary,
 * underscores and whole-truncated floats.
 * Null keys are skipped and null map values are empty, as yaml.v3 decodes
 * them.  Merge keys ("<<") with inline mappings are honoured as in yaml.v3.  The
 * semantic checks (names, expr, fields of recording rules) are rules_check.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "rules/rules.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Where an error is: the group (and rule) it belongs to, for the message. */
typedef struct Ctx
{
	AlloyArena *arena;
	const char *group;			/* NULL outside a group */
	int			rule;			/* 1-based; 0 outside a rule */
	const char *rule_name;
	const char *err;
} Ctx;

static bool
fail(Ctx *c, const RulesYamlNode *n, const char *msg)
{
	int			line = n ? n->line : 0;

	if (c->group && c->rule)
		c->err = alloy_arena_sprintf(c->arena, "line %d: group \"%s\", rule %d, \"%s\": %s",
									 line, c->group, c->rule, c->rule_name, msg);
	else if (c->group)
		c->err = alloy_arena_sprintf(c->arena, "line %d: group \"%s\": %s", line, c->group, msg);
	else
		c->err = alloy_arena_sprintf(c->arena, "line %d: %s", line, msg);
	return false;
}

static bool
tag_is(const RulesYamlNode *n, const char *name)
{
	size_t		pl = strlen(TAG_PREFIX);

	return n->tag && strncmp(n->tag, TAG_PREFIX, pl) == 0 && strcmp(n->tag + pl, name) == 0;
}

/* The YAML type of a node as yaml.v3 names it in its messages (!!map, !!int...). */
static const char *
kind_name(AlloyArena *arena, const RulesYamlNode *n)
{
	char	   *end;

	if (n->kind == RULES_YAML_MAP)
		return "!!map";
	if (n->kind == RULES_YAML_SEQ)
		return "!!seq";
	if (n->tag && strncmp(n->tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
		return alloy_arena_sprintf(arena, "!!%s", n->tag + strlen(TAG_PREFIX));
	if (n->tag)
		return n->tag;
	if (!n->plain)
		return "!!str";
	if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0 ||
		strcmp(n->text, "True") == 0 || strcmp(n->text, "False") == 0 ||
		strcmp(n->text, "TRUE") == 0 || strcmp(n->text, "FALSE") == 0)
		return "!!bool";
	if (n->len > 0 && (n->text[0] == '-' || n->text[0] == '+' || (n->text[0] >= '0' && n->text[0] <= '9')))
	{
		(void) strtod(n->text, &end);
		if (*end == '\0')
			return strpbrk(n->text, ".eE") ? "!!float" : "!!int";
	}
	return "!!str";
}

/* Is a scalar YAML's null (plain ~, null, Null, NULL or nothing, or !!null)? */
static bool
is_null(const RulesYamlNode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->kind != RULES_YAML_SCALAR)
		return false;
	if (tag_is(n, "null"))
		return true;
	if ((n->tag && strcmp(n->tag, "!") != 0) || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->text, nulls[i]) == 0)
			return true;
	return false;
}

/* A string field: any scalar's text (yaml.v3 keeps even null's text). */
static bool
get_string(Ctx *c, const RulesYamlNode *n, const char **out)
{
	if (n->kind != RULES_YAML_SCALAR)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into string",
											  n->kind == RULES_YAML_MAP ? "!!map" : "!!seq"));
	if (tag_is(n, "binary"))
		return fail(c, n, "!!binary strings are not supported in rule files");
	if (memchr(n->text, '\0', n->len))
		return fail(c, n, "NUL character in a string");
	*out = n->text;
	return true;
}

/*
 * A plain Go string field (a group's name, a label's value): yaml.v3 leaves
 * it empty for null.  record, alert and expr are checked by rulefmt on the
 * node's raw text instead, so they use get_string and `record: ~` is "~".
 */
static bool
get_string_or_empty(Ctx *c, const RulesYamlNode *n, const char **out)
{
	if (is_null(n))
	{
		*out = "";
		return true;
	}
	return get_string(c, n, out);
}

/* A model.Duration field: null leaves zero; anything else is parsed as text. */
static bool
get_duration(Ctx *c, const RulesYamlNode *n, int64_t *ms)
{
	const char *msg;

	if (n->kind != RULES_YAML_SCALAR)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into string",
											  n->kind == RULES_YAML_MAP ? "!!map" : "!!seq"));
	if (is_null(n))
	{
		*ms = 0;
		return true;
	}
	if ((msg = rules_parse_duration(n->text, n->len, ms)) != NULL)
		return fail(c, n, strcmp(msg, "not a valid duration string") != 0 ? msg :
					alloy_arena_sprintf(c->arena, "%s: \"%s\"", msg, n->text));
	return true;
}

/*
 * An int field as yaml.v3 fills one: null is zero; a plain (or !!int/!!float
 * tagged) number in decimal, 0x, 0o or 0b with optional sign and underscores,
 * or a float that fits, truncated.  Quoted strings and other scalars refused.
 */
static bool
get_int(Ctx *c, const RulesYamlNode *n, int64_t *out)
{
	char		buf[128];
	size_t		k = 0;
	const char *s;
	int			base = 10;
	bool		neg = false;
	char	   *end;

	if (n->kind != RULES_YAML_SCALAR)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into int",
											  n->kind == RULES_YAML_MAP ? "!!map" : "!!seq"));
	if (is_null(n))
	{
		*out = 0;
		return true;
	}
	if ((n->tag && !tag_is(n, "int") && !tag_is(n, "float")) || (!n->tag && !n->plain) ||
		n->len >= sizeof(buf))
		goto bad;
	for (size_t i = 0; i < n->len; i++)
		if (n->text[i] != '_')
			buf[k++] = n->text[i];
	buf[k] = '\0';
	s = buf;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	if ((*s >= '0' && *s <= '9') || (base == 16 && ((*s | 32) >= 'a' && (*s | 32) <= 'f')))
	{
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, base);
		if (*end == '\0' && errno == 0 && v <= (neg ? (unsigned long long) INT64_MAX + 1 : INT64_MAX))
		{
			*out = neg ? (int64_t) (0 - v) : (int64_t) v;
			return true;
		}
		if (base == 10)
		{
			double		d = strtod(buf, &end);

			if (*end == '\0' && d == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
			{
				*out = (int64_t) d;
				return true;
			}
		}
	}
bad:
	return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s `%s` into int",
										  kind_name(c->arena, n), n->text));
}

/* "!!str `x`" for a scalar, "!!map" for a collection: what a type error names. */
static const char *
what(Ctx *c, const RulesYamlNode *n)
{
	if (n->kind != RULES_YAML_SCALAR)
		return kind_name(c->arena, n);
	return alloy_arena_sprintf(c->arena, "%s `%s`", kind_name(c->arena, n), n->text);
}

static bool
is_merge_key(const RulesYamlNode *k)
{
	return tag_is(k, "merge") || (k->plain && !k->tag && strcmp(k->text, "<<") == 0);
}

static bool
has_key(const RulesYamlNode **kv, int n, const char *key)
{
	for (int i = 0; i < n; i += 2)
		if (strcmp(kv[i]->text, key) == 0)
			return true;
	return false;
}

/*
 * A mapping's keys and values with merge keys expanded, as yaml.v3 does: the
 * mapping's own keys win over merged ones, earlier merged mappings over later,
 * and a merged mapping's own merge keys are expanded first (recursion bounded
 * by the YAML depth limit).  Null keys are dropped.  Returns the pairs (key,
 * value, key, value...) and their count * 2.
 */
static bool
flatten(Ctx *c, const RulesYamlNode *map, const RulesYamlNode ***kv_out, int *n_out)
{
	int			cap = map->nitems,
				n = 0;
	const RulesYamlNode **kv;
	const RulesYamlNode ***mkv;
	int		   *mn;
	int			nm = 0,
				nsrc_all = 0;

	/* pass 1: the merged mappings, each flattened, to size the result */
	for (int i = 0; i < map->nitems; i += 2)
		if (is_merge_key(map->items[i]))
			nsrc_all += map->items[i + 1]->kind == RULES_YAML_SEQ ? map->items[i + 1]->nitems : 1;
	mkv = alloy_arena_alloc0(c->arena, sizeof(*mkv) * (size_t) (nsrc_all + 1));
	mn = alloy_arena_alloc0(c->arena, sizeof(int) * (size_t) (nsrc_all + 1));
	for (int i = 0; i < map->nitems; i += 2)
	{
		const RulesYamlNode *v = map->items[i + 1];
		int			nsrc = v->kind == RULES_YAML_SEQ ? v->nitems : 1;

		if (!is_merge_key(map->items[i]))
			continue;
		for (int j = 0; j < nsrc; j++)
		{
			const RulesYamlNode *src = v->kind == RULES_YAML_SEQ ? v->items[j] : v;

			if (src->kind != RULES_YAML_MAP)
				return fail(c, src, "map merge requires map or sequence of maps as the value");
			if (!flatten(c, src, &mkv[nm], &mn[nm]))
				return false;
			cap += mn[nm++];
		}
	}
	kv = alloy_arena_alloc(c->arena, sizeof(*kv) * (size_t) (cap + 1));
	/* pass 2: own keys, then merged ones not yet present */
	for (int i = 0; i < map->nitems; i += 2)
		if (!is_merge_key(map->items[i]) && !is_null(map->items[i]))
		{
			kv[n++] = map->items[i];
			kv[n++] = map->items[i + 1];
		}
	for (int m = 0; m < nm; m++)
		for (int k = 0; k < mn[m]; k += 2)
			if (!has_key(kv, n, mkv[m][k]->text))
			{
				kv[n++] = mkv[m][k];
				kv[n++] = mkv[m][k + 1];
			}
	*kv_out = kv;
	*n_out = n;
	return true;
}

/* A map[string]string field (labels, annotations), kept in file order. */
static bool
get_pairs(Ctx *c, const RulesYamlNode *n, RulesPair **out, int *nout)
{
	const RulesYamlNode **kv;
	int			nkv;

	*out = NULL;
	*nout = 0;
	if (is_null(n))
		return true;
	if (n->kind != RULES_YAML_MAP)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into map[string]string",
											  what(c, n)));
	if (!flatten(c, n, &kv, &nkv))
		return false;
	*out = alloy_arena_alloc0(c->arena, sizeof(RulesPair) * (size_t) (nkv / 2 + 1));
	for (int i = 0; i < nkv; i += 2)
	{
		RulesPair  *p = &(*out)[i / 2];

		if (!get_string(c, kv[i], &p->name) || !get_string_or_empty(c, kv[i + 1], &p->value))
			return false;
		p->line = kv[i]->line;
	}
	*nout = nkv / 2;
	return true;
}

static const RulesYamlNode *
lookup(const RulesYamlNode **kv, int n, const char *key)
{
	for (int i = 0; i < n; i += 2)
		if (strcmp(kv[i]->text, key) == 0)
			return kv[i + 1];
	return NULL;
}

static bool
unknown_field(Ctx *c, const RulesYamlNode *key, const char *where)
{
	return fail(c, key, alloy_arena_sprintf(c->arena, "field %s not found in %s", key->text, where));
}

static bool
decode_rule(Ctx *c, const RulesYamlNode *n, RulesRule *r)
{
	const RulesYamlNode **kv;
	const RulesYamlNode *v;
	int			nkv;

	memset(r, 0, sizeof(*r));
	r->line = n->line;
	if (n->kind != RULES_YAML_MAP)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into a rule", what(c, n)));
	if (!flatten(c, n, &kv, &nkv))
		return false;
	/* the rule's name first, for the messages; alert wins, as in rulefmt */
	c->rule_name = "";
	if ((v = lookup(kv, nkv, "record")) != NULL && v->kind == RULES_YAML_SCALAR)
		c->rule_name = v->text;
	if ((v = lookup(kv, nkv, "alert")) != NULL && v->kind == RULES_YAML_SCALAR && v->len > 0)
		c->rule_name = v->text;
	for (int i = 0; i < nkv; i += 2)
	{
		const char *k = kv[i]->text;

		v = kv[i + 1];
		if (strcmp(k, "record") == 0 ? !get_string(c, v, &r->record) :
			strcmp(k, "alert") == 0 ? !get_string(c, v, &r->alert) :
			strcmp(k, "expr") == 0 ? !get_string(c, v, &r->expr) :
			strcmp(k, "for") == 0 ? !get_duration(c, v, &r->for_ms) :
			strcmp(k, "keep_firing_for") == 0 ? !get_duration(c, v, &r->keep_firing_for_ms) :
			strcmp(k, "labels") == 0 ? !get_pairs(c, v, &r->labels, &r->nlabels) :
			strcmp(k, "annotations") == 0 ? !get_pairs(c, v, &r->annotations, &r->nannotations) :
			!unknown_field(c, kv[i], "rule"))
			return false;
		if (strcmp(k, "expr") == 0)
			r->expr_line = v->line;
	}
	/* an empty name is no name: record XOR alert is checked on the result */
	if (r->record && r->record[0] == '\0')
		r->record = NULL;
	if (r->alert && r->alert[0] == '\0')
		r->alert = NULL;
	return true;
}

static bool
decode_group(Ctx *c, const RulesYamlNode *n, RulesGroup *g)
{
	const RulesYamlNode **kv;
	const RulesYamlNode *v;
	int			nkv;

	memset(g, 0, sizeof(*g));
	g->line = n->line;
	g->name = "";
	c->group = NULL;
	c->rule = 0;
	if (n->kind != RULES_YAML_MAP)
		return fail(c, n, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into a rule group",
											  what(c, n)));
	if (!flatten(c, n, &kv, &nkv))
		return false;
	if ((v = lookup(kv, nkv, "name")) != NULL && v->kind == RULES_YAML_SCALAR)
		c->group = is_null(v) ? "" : v->text;
	for (int i = 0; i < nkv; i += 2)
	{
		const char *k = kv[i]->text;

		v = kv[i + 1];
		if (strcmp(k, "name") == 0 ? !get_string_or_empty(c, v, &g->name) :
			strcmp(k, "interval") == 0 ? !get_duration(c, v, &g->interval_ms) :
			strcmp(k, "limit") == 0 ? !get_int(c, v, &g->limit) :
			strcmp(k, "rules") == 0 ? false :
			!unknown_field(c, kv[i], "rule group"))
			return false;
	}
	if ((v = lookup(kv, nkv, "rules")) != NULL && !is_null(v))
	{
		if (v->kind != RULES_YAML_SEQ)
			return fail(c, v, alloy_arena_sprintf(c->arena, "cannot unmarshal %s into a list of rules",
												  what(c, v)));
		g->rules = alloy_arena_alloc0(c->arena, sizeof(RulesRule) * (size_t) (v->nitems + 1));
		for (int i = 0; i < v->nitems; i++)
		{
			/* a null item is skipped by rulefmt (yaml.v3 leaves no element) */
			if (is_null(v->items[i]))
				continue;
			c->rule = g->nrules + 1;
			if (!decode_rule(c, v->items[i], &g->rules[g->nrules]))
				return false;
			g->nrules++;
		}
		c->rule = 0;
	}
	return true;
}

bool
rules_parse_file(AlloyArena *arena, const char *text, size_t len, RulesFile *out,
				 const char **err)
{
	Ctx			c = {.arena = arena};
	RulesYamlNode *root;
	const RulesYamlNode **kv;
	const RulesYamlNode *gs;
	int			nkv;

	memset(out, 0, sizeof(*out));
	if (!rules_yaml_load(arena, text, len, &root, err))
		return false;
	if (root == NULL || is_null(root))
		return true;			/* an empty file has no groups */
	if (root->kind != RULES_YAML_MAP)
	{
		fail(&c, root, alloy_arena_sprintf(arena, "cannot unmarshal %s into a rule file", what(&c, root)));
		*err = c.err;
		return false;
	}
	if (!flatten(&c, root, &kv, &nkv))
	{
		*err = c.err;
		return false;
	}
	for (int i = 0; i < nkv; i += 2)
		if (strcmp(kv[i]->text, "groups") != 0)
		{
			unknown_field(&c, kv[i], "rule file");
			*err = c.err;
			return false;
		}
	if ((gs = lookup(kv, nkv, "groups")) == NULL || is_null(gs))
		return true;
	if (gs->kind != RULES_YAML_SEQ)
	{
		fail(&c, gs, alloy_arena_sprintf(arena, "cannot unmarshal %s into a list of groups", what(&c, gs)));
		*err = c.err;
		return false;
	}
	out->groups = alloy_arena_alloc0(arena, sizeof(RulesGroup) * (size_t) (gs->nitems + 1));
	for (int i = 0; i < gs->nitems; i++)
	{
		RulesGroup *g = &out->groups[out->ngroups];

		if (is_null(gs->items[i]))
			continue;
		if (!decode_group(&c, gs->items[i], g))
		{
			*err = c.err;
			return false;
		}
		out->ngroups++;
	}
	/* the checks, in file order; the first error is the one reported */
	for (int i = 0; i < out->ngroups; i++)
	{
		const RulesGroup *g = &out->groups[i];

		if (g->name[0] == '\0')
		{
			*err = alloy_arena_sprintf(arena, "line %d: Groupname must not be empty", g->line);
			return false;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(out->groups[j].name, g->name) == 0)
			{
				*err = alloy_arena_sprintf(arena, "line %d: groupname: \"%s\" is repeated in the same file",
										   g->line, g->name);
				return false;
			}
		if (!rules_check_group(arena, g, err))
			return false;
	}
	return true;
}

bool
rules_parse_group(AlloyArena *arena, const char *text, size_t len, RulesGroup *out,
				  const char **err)
{
	Ctx			c = {.arena = arena};
	RulesYamlNode *root;

	memset(out, 0, sizeof(*out));
	out->name = "";
	if (!rules_yaml_load(arena, text, len, &root, err))
		return false;
	if (root == NULL || is_null(root))
	{
		*err = "empty rule group";
		return false;
	}
	if (!decode_group(&c, root, out))
	{
		*err = c.err;
		return false;
	}
	if (out->name[0] == '\0')
	{
		*err = alloy_arena_sprintf(arena, "line %d: Groupname must not be empty", out->line);
		return false;
	}
	return rules_check_group(arena, out, err);
}
