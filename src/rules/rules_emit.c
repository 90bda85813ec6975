/*
 * rules_emit.c: Prometheus durations, and writing parsed groups back as a rule
 * file with libyaml's emitter, plus the field-by-field equality the round-trip
 * tests use.
 *
 * The emitted file is canonical: fields in rulefmt's order, zero durations,
 * limits and empty maps left out, durations as model.Duration prints them,
 * multi-line expressions as literal blocks.  libyaml picks quoting, so any
 * string reads back as the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#include "rules/rules.h"

/* Go's time.Duration holds at most this many milliseconds (int64 nanoseconds). */
#define MAX_DURATION_MS (INT64_MAX / 1000000)

static const struct
{
	const char *unit;
	int64_t		ms;
}			units[] = {
	{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
	{"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000},
	{"s", 1000}, {"ms", 1}
};
#define NUNITS ((int) (sizeof(units) / sizeof(units[0])))

const char *
rules_parse_duration(const char *s, size_t len, int64_t *ms)
{
	size_t		i = 0;
	int			next_unit = 0;
	int64_t		total = 0;
	bool		overflow = false;

	*ms = 0;
	if (len == 0)
		return "empty duration string";
	if (len == 1 && s[0] == '0')
		return NULL;
	while (i < len)
	{
		int64_t		n = 0;
		size_t		st = i,
					ulen;
		int			u;

		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			if (n > INT64_MAX / 10)
				overflow = true;
			else
				n = n * 10 + (s[i] - '0');
			i++;
		}
		if (i == st || i >= len)
			goto bad;
		ulen = (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') ? 2 : 1;
		for (u = next_unit; u < NUNITS; u++)
			if (strlen(units[u].unit) == ulen && strncmp(units[u].unit, s + i, ulen) == 0)
				break;
		if (u >= NUNITS)
			goto bad;
		/* each part, and the sum, must fit time.Duration's nanoseconds */
		if (n > MAX_DURATION_MS / units[u].ms)
			overflow = true;
		else if ((total += n * units[u].ms) > MAX_DURATION_MS)
			overflow = true;
		next_unit = u + 1;
		i += ulen;
	}
	if (overflow)
		return "duration out of range";
	*ms = total;
	return NULL;
bad:
	return "not a valid duration string";
}

/* Years and weeks only when they divide the whole; the rest largest first. */
const char *
rules_format_duration(int64_t ms, char *buf)
{
	size_t		off = 0;

	buf[0] = '\0';
	if (ms == 0)
		return strcpy(buf, "0s");
	for (int u = 0; u < NUNITS; u++)
	{
		if (u < 2 && ms % units[u].ms != 0)
			continue;
		if (ms / units[u].ms > 0)
		{
			off += (size_t) snprintf(buf + off, 64 - off, "%lld%s",
									 (long long) (ms / units[u].ms), units[u].unit);
			ms -= (ms / units[u].ms) * units[u].ms;
		}
	}
	return buf;
}

/* The emitter's output, gathered in the arena. */
typedef struct Out
{
	AlloyArena *arena;
	char	   *buf;
	size_t		len;
	size_t		cap;
} Out;

static int
write_out(void *data, unsigned char *buffer, size_t size)
{
	Out		   *o = data;

	if (o->len + size + 1 > o->cap)
	{
		size_t		ncap = (o->cap ? o->cap * 2 : 4096);

		while (ncap < o->len + size + 1)
			ncap *= 2;
		o->buf = alloy_arena_realloc(o->arena, o->buf, o->cap, ncap);
		o->cap = ncap;
	}
	memcpy(o->buf + o->len, buffer, size);
	o->len += size;
	o->buf[o->len] = '\0';
	return 1;
}

typedef struct Emit
{
	yaml_emitter_t em;
	bool		ok;
} Emit;

static void
emit(Emit *e, yaml_event_t *ev)
{
	if (e->ok && !yaml_emitter_emit(&e->em, ev))
		e->ok = false;
}

/*
 * Would a plain scalar of this text read as something other than a string
 * (null, a bool in YAML 1.1 or 1.2, a number)?  Prometheus would still take its
 * text, but other readers of the file would not, so such text is quoted.
 */
static bool
looks_typed(const char *s)
{
	static const char *const words[] = {
		"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
		".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN"
	};
	char	   *end;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	if (strchr("+-.0123456789", s[0]))
	{
		(void) strtod(s, &end);
		if (*end == '\0' || strncmp(s, "0o", 2) == 0 || strncmp(s, "0b", 2) == 0 ||
			strspn(s, "+-.0123456789_xXoObBaAcCdDeEfF:") == strlen(s))
			return true;
	}
	return false;
}

/* A string scalar; multi-line text as a literal block when libyaml can. */
static void
scalar(Emit *e, const char *s)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (looks_typed(s))
		style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) strlen(s), 1, 1, style);
	emit(e, &ev);
}

/* A number or duration, which must stay plain. */
static void
plain(Emit *e, const char *s)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) strlen(s), 1, 1,
								 YAML_PLAIN_SCALAR_STYLE);
	emit(e, &ev);
}

static void
start_map(Emit *e, bool flow)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
										flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
	emit(e, &ev);
}

static void
end_map(Emit *e)
{
	yaml_event_t ev;

	yaml_mapping_end_event_initialize(&ev);
	emit(e, &ev);
}

static void
key_duration(Emit *e, const char *key, int64_t ms)
{
	char		buf[64];

	if (ms == 0)
		return;
	scalar(e, key);
	plain(e, rules_format_duration(ms, buf));
}

static void
key_pairs(Emit *e, const char *key, const RulesPair *p, int n)
{
	if (n == 0)
		return;
	scalar(e, key);
	start_map(e, false);
	for (int i = 0; i < n; i++)
	{
		scalar(e, p[i].name);
		scalar(e, p[i].value);
	}
	end_map(e);
}

static void
emit_rule(Emit *e, const RulesRule *r)
{
	start_map(e, false);
	if (r->record)
	{
		scalar(e, "record");
		scalar(e, r->record);
	}
	if (r->alert)
	{
		scalar(e, "alert");
		scalar(e, r->alert);
	}
	scalar(e, "expr");
	scalar(e, r->expr ? r->expr : "");
	key_duration(e, "for", r->for_ms);
	key_duration(e, "keep_firing_for", r->keep_firing_for_ms);
	key_pairs(e, "labels", r->labels, r->nlabels);
	key_pairs(e, "annotations", r->annotations, r->nannotations);
	end_map(e);
}

static void
emit_group(Emit *e, const RulesGroup *g)
{
	yaml_event_t ev;

	start_map(e, false);
	scalar(e, "name");
	scalar(e, g->name);
	key_duration(e, "interval", g->interval_ms);
	if (g->limit != 0)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long) g->limit);
		scalar(e, "limit");
		plain(e, buf);
	}
	scalar(e, "rules");
	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
										 g->nrules ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
	emit(e, &ev);
	for (int i = 0; i < g->nrules; i++)
		emit_rule(e, &g->rules[i]);
	yaml_sequence_end_event_initialize(&ev);
	emit(e, &ev);
	end_map(e);
}

/* One document: the whole file (file != NULL) or one group. */
static char *
emit_doc(AlloyArena *arena, const RulesFile *file, const RulesGroup *group, size_t *len,
		 const char **err)
{
	Out			o = {.arena = arena};
	Emit		e = {.ok = true};
	yaml_event_t ev;

	if (!yaml_emitter_initialize(&e.em))
	{
		*err = "yaml: cannot initialize the emitter";
		return NULL;
	}
	yaml_emitter_set_output(&e.em, write_out, &o);
	yaml_emitter_set_unicode(&e.em, 1);
	yaml_emitter_set_indent(&e.em, 2);
	yaml_emitter_set_width(&e.em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit(&e, &ev);
	if (file)
	{
		start_map(&e, false);
		scalar(&e, "groups");
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
											 file->ngroups ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
		emit(&e, &ev);
		for (int i = 0; i < file->ngroups; i++)
			emit_group(&e, &file->groups[i]);
		yaml_sequence_end_event_initialize(&ev);
		emit(&e, &ev);
		end_map(&e);
	}
	else
		emit_group(&e, group);
	yaml_document_end_event_initialize(&ev, 1);
	emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit(&e, &ev);
	if (!e.ok)
		*err = alloy_arena_sprintf(arena, "yaml: %s", e.em.problem ? e.em.problem : "emitter failed");
	yaml_emitter_delete(&e.em);
	if (!e.ok)
		return NULL;
	*len = o.len;
	return o.buf ? o.buf : alloy_arena_strdup(arena, "");
}

char *
rules_emit_file(AlloyArena *arena, const RulesFile *file, size_t *len, const char **err)
{
	return emit_doc(arena, file, NULL, len, err);
}

char *
rules_emit_group(AlloyArena *arena, const RulesGroup *group, size_t *len, const char **err)
{
	return emit_doc(arena, NULL, group, len, err);
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool
pairs_equal(const RulesPair *a, int na, const RulesPair *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].value, b[i].value) != 0)
			return false;
	return true;
}

bool
rules_group_equal(const RulesGroup *a, const RulesGroup *b)
{
	if (strcmp(a->name, b->name) != 0 || a->interval_ms != b->interval_ms ||
		a->limit != b->limit || a->nrules != b->nrules)
		return false;
	for (int i = 0; i < a->nrules; i++)
	{
		const RulesRule *x = &a->rules[i],
				   *y = &b->rules[i];

		if (!str_eq(x->record, y->record) || !str_eq(x->alert, y->alert) ||
			!str_eq(x->expr, y->expr) || x->for_ms != y->for_ms ||
			x->keep_firing_for_ms != y->keep_firing_for_ms ||
			!pairs_equal(x->labels, x->nlabels, y->labels, y->nlabels) ||
			!pairs_equal(x->annotations, x->nannotations, y->annotations, y->nannotations))
			return false;
	}
	return true;
}

bool
rules_file_equal(const RulesFile *a, const RulesFile *b)
{
	if (a->ngroups != b->ngroups)
		return false;
	for (int i = 0; i < a->ngroups; i++)
		if (!rules_group_equal(&a->groups[i], &b->groups[i]))
			return false;
	return true;
}
