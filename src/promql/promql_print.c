/*
 * promql_print.c: an expression printed back as PromQL text, as
 * Prometheus's String() does (used by EXPLAIN, errors and tests), and the
 * names of operators.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promql/promql_int.h"

/* An operator's or aggregation's name as written in PromQL. */
const char *
promql_op_name(PromqlOp op)
{
	static const char *const names[] = {
		"", "or", "and", "unless", "==", "!=", "<=", "<", ">=", ">", "+", "-", "*", "/",
		"%", "atan2", "^", "sum", "avg", "count", "min", "max", "group", "stddev",
		"stdvar", "topk", "bottomk", "count_values", "quantile"
	};

	if ((int) op < 0 || (size_t) op >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[op];
}

typedef struct StrBuf
{
	AlloyArena *arena;
	char	   *s;
	size_t		len,
				cap;
} StrBuf;

static void
sb_add(StrBuf *b, const char *s)
{
	size_t		n = strlen(s);

	if (b->len + n + 1 > b->cap)
	{
		size_t		nc = (b->cap ? b->cap * 2 : 64);

		while (nc < b->len + n + 1)
			nc *= 2;
		b->s = alloy_arena_realloc(b->arena, b->s, b->cap, nc);
		b->cap = nc;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static char *
fmt_duration(AlloyArena *a, int64_t ms)
{
	static const struct
	{
		const char *u;
		int64_t		ms;
	}			units[] = {
		{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
		{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}
	};
	char		buf[128] = "";
	size_t		o = 0;

	if (ms == 0)
		return alloy_arena_strdup(a, "0s");
	if (ms < 0)
	{
		buf[o++] = '-';
		ms = -ms;
	}
	/* years and weeks only when exact, as Prometheus prints durations: 8d, not 1w1d */
	for (int i = 0; i < 7; i++)
		if (ms >= units[i].ms && (i >= 2 || ms % units[i].ms == 0))
		{
			o += snprintf(buf + o, sizeof(buf) - o, "%lld%s", (long long) (ms / units[i].ms), units[i].u);
			ms %= units[i].ms;
		}
	return alloy_arena_strdup(a, buf);
}

static char *
quote_str(AlloyArena *a, const char *s)
{
	StrBuf		b = {a, NULL, 0, 0};

	sb_add(&b, "\"");
	for (; *s; s++)
	{
		char		c[8];

		if (*s == '"' || *s == '\\')
			snprintf(c, sizeof(c), "\\%c", *s);
		else if (*s == '\n')
			snprintf(c, sizeof(c), "\\n");
		else
			snprintf(c, sizeof(c), "%c", *s);
		sb_add(&b, c);
	}
	sb_add(&b, "\"");
	return b.s;
}

static void
print_labels_list(StrBuf *b, const char **v, int n)
{
	sb_add(b, "(");
	for (int i = 0; i < n; i++)
	{
		if (i)
			sb_add(b, ", ");
		sb_add(b, v[i]);
	}
	sb_add(b, ")");
}

static void print_node(StrBuf *b, const PromqlNode *n);

static void
print_modifiers(StrBuf *b, const PromqlNode *n)
{
	if (n->at_kind == PROMQL_AT_TIME)
		sb_add(b, alloy_arena_sprintf(b->arena, " @ %.3f", n->at_ms / 1000.0));
	else if (n->at_kind == PROMQL_AT_START)
		sb_add(b, " @ start()");
	else if (n->at_kind == PROMQL_AT_END)
		sb_add(b, " @ end()");
	if (n->has_offset && n->offset_ms != 0)
		sb_add(b, alloy_arena_sprintf(b->arena, " offset %s", fmt_duration(b->arena, n->offset_ms)));
}

static void
print_selector(StrBuf *b, const PromqlNode *n)
{
	int			printed = 0;

	if (n->metric)
		sb_add(b, n->metric);
	for (int i = 0; i < n->nmatchers; i++)
	{
		const PromqlMatcher *m = &n->matchers[i];
		static const char *const ops[] = {"=", "!=", "=~", "!~"};

		if (n->metric && i == 0 && strcmp(m->name, "__name__") == 0)
			continue;
		sb_add(b, printed ? ", " : "{");
		sb_add(b, m->name);
		sb_add(b, ops[m->type]);
		sb_add(b, quote_str(b->arena, m->value));
		printed++;
	}
	if (printed)
		sb_add(b, "}");
	else if (!n->metric)
		sb_add(b, "{}");
}

static void
print_node(StrBuf *b, const PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
			if (isnan(n->number))
				sb_add(b, "NaN");
			else if (isinf(n->number))
				sb_add(b, n->number > 0 ? "+Inf" : "-Inf");
			else
				sb_add(b, alloy_arena_sprintf(b->arena, "%.17g", n->number));
			break;
		case PROMQL_NODE_STRING:
			sb_add(b, quote_str(b->arena, n->str));
			break;
		case PROMQL_NODE_VECTOR_SELECTOR:
			print_selector(b, n);
			print_modifiers(b, n);
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			print_selector(b, n->expr);
			sb_add(b, alloy_arena_sprintf(b->arena, "[%s]", fmt_duration(b->arena, n->range_ms)));
			print_modifiers(b, n->expr);
			break;
		case PROMQL_NODE_SUBQUERY:
			print_node(b, n->expr);
			sb_add(b, alloy_arena_sprintf(b->arena, "[%s:%s]", fmt_duration(b->arena, n->range_ms),
									 n->step_ms ? fmt_duration(b->arena, n->step_ms) : ""));
			print_modifiers(b, n);
			break;
		case PROMQL_NODE_PAREN:
			sb_add(b, "(");
			print_node(b, n->expr);
			sb_add(b, ")");
			break;
		case PROMQL_NODE_UNARY:
			sb_add(b, promql_op_name(n->op));
			print_node(b, n->expr);
			break;
		case PROMQL_NODE_CALL:
			sb_add(b, n->func->name);
			sb_add(b, "(");
			for (int i = 0; i < n->nargs; i++)
			{
				if (i)
					sb_add(b, ", ");
				print_node(b, n->args[i]);
			}
			sb_add(b, ")");
			break;
		case PROMQL_NODE_AGGREGATE:
			sb_add(b, promql_op_name(n->op));
			if (n->without || n->ngrouping)
			{
				sb_add(b, n->without ? " without " : " by ");
				print_labels_list(b, n->grouping, n->ngrouping);
				sb_add(b, " ");
			}
			sb_add(b, "(");
			if (n->param)
			{
				print_node(b, n->param);
				sb_add(b, ", ");
			}
			print_node(b, n->expr);
			sb_add(b, ")");
			break;
		case PROMQL_NODE_BINARY:
			print_node(b, n->lhs);
			sb_add(b, " ");
			sb_add(b, promql_op_name(n->op));
			if (n->return_bool)
				sb_add(b, " bool");
			if (n->has_matching && (n->on || n->ngrouping))
			{
				sb_add(b, n->on ? " on" : " ignoring");
				print_labels_list(b, n->grouping, n->ngrouping);
			}
			if (n->card == PROMQL_CARD_MANY_TO_ONE || n->card == PROMQL_CARD_ONE_TO_MANY)
			{
				sb_add(b, n->card == PROMQL_CARD_MANY_TO_ONE ? " group_left" : " group_right");
				print_labels_list(b, n->include, n->ninclude);
			}
			sb_add(b, " ");
			print_node(b, n->rhs);
			break;
	}
}

char *
promql_node_string(AlloyArena *arena, const PromqlNode *n)
{
	StrBuf		b = {arena, NULL, 0, 0};

	sb_add(&b, "");
	print_node(&b, n);
	return b.s;
}
