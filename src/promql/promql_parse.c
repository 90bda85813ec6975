/*
 * promql_parse.c: the recursive-descent parser for PromQL as of Prometheus
 * 2.42, and its entry points promql_parse and promql_parse_compat.
 *
 * Prometheus uses a yacc grammar; we use precedence climbing instead, which
 * gives the same trees for the same operator table: or < and/unless <
 * comparisons < +,- < *,/,%,atan2 < ^ (right-associative), unary +/- binding
 * like * (so -a^b is -(a^b)), and the postfix modifiers ([range],
 * [range:step], offset, @) binding tightest.  After parsing, the tree is type
 * checked with Prometheus's rules and messages (promql_check.c).
 *
 * The tokens come from promql_lex.c and their values from promql_literal.c.
 */
#include <math.h>
#include <string.h>

#include "promql/promql_int.h"

/* ----------------------------------------------------------------- parser */

static PromqlNode *parse_expr(Parser *p, int minprec);
static void deeper(Parser *p, int pos);

static PromqlNode *
new_node(Parser *p, PromqlNodeType type, int start, int end)
{
	PromqlNode *n = alloy_arena_alloc0(p->arena, sizeof(PromqlNode));

	n->type = type;
	n->pos_start = start;
	n->pos_end = end;
	return n;
}

/* ( label, label, ... ) with keywords allowed as names. */
static const char **
parse_label_list(Parser *p, int *n, const char *ctx)
{
	const char **v = NULL;
	int			cap = 0;

	*n = 0;
	promql_lex_expect(p, T_LPAREN, ctx, "\"(\"");
	for (;;)
	{
		Token		t = promql_lex_next(p);

		if (t.type == T_RPAREN)
			break;
		if (t.type != T_IDENT || t.has_colon)
			promql_lex_unexpected(p, &t, ctx, "label");
		if (*n == cap)
		{
			cap = cap ? cap * 2 : 4;
			v = alloy_arena_realloc(p->arena, v, sizeof(char *) * (*n), sizeof(char *) * cap);
		}
		v[(*n)++] = promql_lex_text(p, &t);
		t = promql_lex_next(p);
		if (t.type == T_RPAREN)
			break;
		if (t.type != T_COMMA)
			promql_lex_unexpected(p, &t, ctx, "\",\" or \")\"");
	}
	return v;
}

static void
add_matcher(Parser *p, PromqlNode *n, PromqlMatchType type, const char *name,
			const char *value, int pos)
{
	PromqlMatcher *m;

	n->matchers = alloy_arena_realloc(p->arena, n->matchers, sizeof(PromqlMatcher) * n->nmatchers,
								 sizeof(PromqlMatcher) * (n->nmatchers + 1));
	m = &n->matchers[n->nmatchers++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->name = name;
	m->value = value;
	if (type == PROMQL_MATCH_RE || type == PROMQL_MATCH_NRE)
	{
		char		errbuf[256];
		AlloyAllocHooks rxhooks = alloy_arena_hooks(p->arena);

		m->rx = alloy_regex_compile_flags(value, strlen(value), &rxhooks,
										   p->compat == PROMQL_COMPAT_V3 ? ALLOY_REGEX_DOTALL : 0,
										   errbuf, sizeof(errbuf));
		if (!m->rx)
			promql_parse_fail(p, pos, "%s", errbuf);
	}
}

/* { name op "value", ... } */
static void
parse_matchers(Parser *p, PromqlNode *n)
{
	promql_lex_expect(p, T_LBRACE, NULL, "\"{\"");
	for (;;)
	{
		Token		t = promql_lex_next(p);
		Token		op,
					val;
		PromqlMatchType mt;

		if (t.type == T_RBRACE)
			break;
		if (t.type != T_IDENT)
			promql_lex_unexpected(p, &t, "label matching", "label matching operator");
		op = promql_lex_next(p);
		switch (op.type)
		{
			case T_ASSIGN:
				mt = PROMQL_MATCH_EQ;
				break;
			case T_NEQ:
				mt = PROMQL_MATCH_NEQ;
				break;
			case T_EQL_REGEX:
				mt = PROMQL_MATCH_RE;
				break;
			case T_NEQ_REGEX:
				mt = PROMQL_MATCH_NRE;
				break;
			default:
				promql_lex_unexpected(p, &op, "label matching", "label matching operator");
		}
		val = promql_lex_next(p);
		if (val.type != T_STRING)
			promql_lex_unexpected(p, &val, "label matching", "string");
		add_matcher(p, n, mt, promql_lex_text(p, &t), promql_literal_string(p, &val), t.pos);
		t = promql_lex_next(p);
		if (t.type == T_RBRACE)
		{
			n->pos_end = t.pos + 1;
			break;
		}
		if (t.type != T_COMMA)
			promql_lex_unexpected(p, &t, "label matching", "\",\" or \"}\"");
	}
	n->pos_end = p->pos;
}

static PromqlNode *
parse_vector_selector(Parser *p, const Token *name)
{
	PromqlNode *n = new_node(p, PROMQL_NODE_VECTOR_SELECTOR, name ? name->pos : promql_lex_peek(p)->pos, 0);

	if (name)
	{
		n->metric = promql_lex_text(p, name);
		n->pos_end = name->pos + name->len;
	}
	if (promql_lex_peek(p)->type == T_LBRACE)
		parse_matchers(p, n);
	if (n->metric)
	{
		/* the name becomes a __name__ matcher placed first, as Prometheus does */
		PromqlMatcher *old = n->matchers;
		int			k = n->nmatchers;

		for (int i = 0; i < k; i++)
			if (strcmp(old[i].name, "__name__") == 0)
				promql_parse_fail(p, n->pos_start, "metric name must not be set twice: \"%s\" or \"%s\"",
						   n->metric, old[i].value);
		n->matchers = NULL;
		n->nmatchers = 0;
		add_matcher(p, n, PROMQL_MATCH_EQ, "__name__", n->metric, n->pos_start);
		for (int i = 0; i < k; i++)
		{
			n->matchers = alloy_arena_realloc(p->arena, n->matchers, sizeof(PromqlMatcher) * n->nmatchers,
										 sizeof(PromqlMatcher) * (n->nmatchers + 1));
			n->matchers[n->nmatchers++] = old[i];
		}
	}
	else
	{
		bool		nonempty = false;

		for (int i = 0; i < n->nmatchers; i++)
			if (!promql_matcher_matches(&n->matchers[i], ""))
				nonempty = true;
		if (!nonempty)
			promql_parse_fail(p, n->pos_start, "vector selector must contain at least one non-empty matcher");
	}
	return n;
}

static PromqlNode **
parse_call_args(Parser *p, int *nargs, const char *ctx)
{
	PromqlNode **args = NULL;
	int			cap = 0;

	*nargs = 0;
	promql_lex_expect(p, T_LPAREN, ctx, "\"(\"");
	if (promql_lex_peek(p)->type == T_RPAREN)
	{
		promql_lex_next(p);
		return NULL;
	}
	for (;;)
	{
		Token		t;

		if (*nargs == cap)
		{
			cap = cap ? cap * 2 : 4;
			args = alloy_arena_realloc(p->arena, args, sizeof(PromqlNode *) * (*nargs),
								  sizeof(PromqlNode *) * cap);
		}
		args[(*nargs)++] = parse_expr(p, 1);
		t = promql_lex_next(p);
		if (t.type == T_RPAREN)
			break;
		if (t.type != T_COMMA)
			promql_lex_unexpected(p, &t, ctx, "\",\" or \")\"");
		if (promql_lex_peek(p)->type == T_RPAREN)
		{
			promql_lex_next(p);
			break;
		}
	}
	return args;
}

static PromqlNode *
parse_aggregate(Parser *p, const Token *optok, PromqlOp op)
{
	PromqlNode *n = new_node(p, PROMQL_NODE_AGGREGATE, optok->pos, 0);
	PromqlNode **args;
	int			nargs;
	bool		have_grouping = false;
	int			want;

	n->op = op;
	if (promql_lex_is_word(p, promql_lex_peek(p), "by") || promql_lex_is_word(p, promql_lex_peek(p), "without"))
	{
		n->without = promql_lex_is_word(p, promql_lex_peek(p), "without");
		promql_lex_next(p);
		n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
		have_grouping = true;
	}
	if (promql_lex_peek(p)->type != T_LPAREN)
		promql_lex_unexpected(p, promql_lex_peek(p), "aggregation", "\"(\"");
	args = parse_call_args(p, &nargs, "aggregation");
	n->pos_end = p->pos;
	if (!have_grouping && (promql_lex_is_word(p, promql_lex_peek(p), "by") || promql_lex_is_word(p, promql_lex_peek(p), "without")))
	{
		n->without = promql_lex_is_word(p, promql_lex_peek(p), "without");
		promql_lex_next(p);
		n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
		n->pos_end = p->pos;
	}
	if (nargs == 0)
		promql_parse_fail(p, n->pos_start, "no arguments for aggregate expression provided");
	want = (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK ||
			op == PROMQL_AGG_COUNT_VALUES || op == PROMQL_AGG_QUANTILE) ? 2 : 1;
	if (nargs != want)
		promql_parse_fail(p, n->pos_start,
				   "wrong number of arguments for aggregate expression provided, expected %d, got %d",
				   want, nargs);
	if (want == 2)
	{
		n->param = args[0];
		n->expr = args[1];
	}
	else
		n->expr = args[0];
	return n;
}

static PromqlNode *
parse_primary(Parser *p)
{
	Token		t = promql_lex_next(p);
	PromqlNode *n;

	switch (t.type)
	{
		case T_NUMBER:
			n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
			n->number = promql_literal_number(p, p->q + t.pos, t.len, t.pos);
			return n;
		case T_DURATION:
			if (p->compat != PROMQL_COMPAT_V3)
				promql_lex_unexpected(p, &t, NULL, NULL);
			/* Prometheus 3: a duration literal is its number of seconds */
			n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
			n->number = (double) promql_literal_duration(p, &t) / 1000.0;
			return n;
		case T_STRING:
			n = new_node(p, PROMQL_NODE_STRING, t.pos, t.pos + t.len);
			n->str = promql_literal_string(p, &t);
			return n;
		case T_LPAREN:
			n = new_node(p, PROMQL_NODE_PAREN, t.pos, 0);
			n->expr = parse_expr(p, 1);
			promql_lex_expect(p, T_RPAREN, "paren expression", "\")\"");
			n->pos_end = p->pos;
			return n;
		case T_LBRACE:
			p->have_tok = false;
			/* re-lex from the brace: simplest is to step back */
			p->pos = t.pos;
			p->brace_depth--;
			return parse_vector_selector(p, NULL);
		case T_IDENT:
			{
				PromqlOp	op;

				if (promql_lex_is_word(p, &t, "inf") || promql_lex_is_word(p, &t, "nan"))
				{
					n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
					n->number = promql_lex_is_word(p, &t, "inf") ? INFINITY : NAN;
					return n;
				}
				op = promql_lex_agg_op(p, &t);
				if (op != PROMQL_OP_NONE &&
					(promql_lex_peek(p)->type == T_LPAREN || promql_lex_is_word(p, promql_lex_peek(p), "by") ||
					 promql_lex_is_word(p, promql_lex_peek(p), "without")))
					return parse_aggregate(p, &t, op);
				if (promql_lex_peek(p)->type == T_LPAREN && !t.has_colon)
				{
					const PromqlFunction *f = promql_function_lookup(p->q + t.pos, t.len);

					if (f && f->only_compat &&
						f->only_compat != (p->compat == PROMQL_COMPAT_V3 ? PROMQL_COMPAT_V3 : PROMQL_COMPAT_V2))
						f = NULL;	/* e.g. holt_winters is gone in 3.x */
					if (!f)
						promql_parse_fail(p, t.pos, "unknown function with name \"%.*s\"", t.len, p->q + t.pos);
					n = new_node(p, PROMQL_NODE_CALL, t.pos, 0);
					n->func = f;
					n->args = parse_call_args(p, &n->nargs, "function call");
					n->pos_end = p->pos;
					return n;
				}
				return parse_vector_selector(p, &t);
			}
		default:
			promql_lex_unexpected(p, &t, NULL, NULL);
	}
}

static bool
is_selector_like(const PromqlNode *n)
{
	return n->type == PROMQL_NODE_VECTOR_SELECTOR || n->type == PROMQL_NODE_MATRIX_SELECTOR ||
		n->type == PROMQL_NODE_SUBQUERY;
}

/* The node whose offset/@ a modifier sets (matrix selectors: the inner one). */
static PromqlNode *
modifier_target(PromqlNode *n)
{
	return n->type == PROMQL_NODE_MATRIX_SELECTOR ? n->expr : n;
}

static PromqlNode *
parse_postfix(Parser *p, PromqlNode *n)
{
	for (;;)
	{
		Token	   *t = promql_lex_peek(p);

		if (t->type == T_LBRACKET)
		{
			Token		d,
						c;
			int			start = t->pos;

			promql_lex_next(p);
			d = promql_lex_next(p);
			if (!promql_literal_is_duration(p, &d))
				promql_lex_unexpected(p, &d, "range", "duration");
			c = promql_lex_next(p);
			if (c.type == T_RBRACKET)
			{
				PromqlNode *m;

				if (n->type != PROMQL_NODE_VECTOR_SELECTOR)
					promql_parse_fail(p, n->pos_start, "ranges only allowed for vector selectors");
				/*
				 * 2.42's grammar only rejects a non-zero offset and a literal
				 * @ time here: "x offset 0s [5m]" and "x @ start() [5m]"
				 * parse, the latter as a range pinned to the start.
				 */
				if (n->has_offset && n->offset_ms != 0)
					promql_parse_fail(p, start, "no offset modifiers allowed before range");
				if (n->at_kind == PROMQL_AT_TIME)
					promql_parse_fail(p, start, "no @ modifiers allowed before range");
				m = new_node(p, PROMQL_NODE_MATRIX_SELECTOR, n->pos_start, p->pos);
				m->expr = n;
				m->range_ms = promql_literal_duration_ms(p, &d);
				n = m;
				continue;
			}
			if (c.type == T_COLON)
			{
				PromqlNode *s = new_node(p, PROMQL_NODE_SUBQUERY, n->pos_start, 0);

				deeper(p, start);

				s->expr = n;
				s->range_ms = promql_literal_duration_ms(p, &d);
				c = promql_lex_next(p);
				if (promql_literal_is_duration(p, &c))
				{
					s->step_ms = promql_literal_duration_ms(p, &c);
					c = promql_lex_next(p);
				}
				if (c.type != T_RBRACKET)
					promql_lex_unexpected(p, &c, "subquery selector", "\"]\"");
				s->pos_end = p->pos;
				n = s;
				continue;
			}
			promql_lex_unexpected(p, &c, "range", "\"]\" or \":\"");
		}
		else if (promql_lex_is_word(p, t, "offset"))
		{
			Token		ot = promql_lex_next(p);
			Token		d = promql_lex_next(p);
			bool		neg = false;
			PromqlNode *tgt;

			if (d.type == T_SUB || d.type == T_ADD)
			{
				neg = d.type == T_SUB;
				d = promql_lex_next(p);
			}
			if (!promql_literal_is_duration(p, &d))
				promql_lex_unexpected(p, &d, "offset", "duration");
			if (!is_selector_like(n))
				promql_parse_fail(p, ot.pos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
			tgt = modifier_target(n);
			if (tgt->has_offset)
				promql_parse_fail(p, ot.pos, "offset may not be set multiple times");
			tgt->has_offset = true;
			tgt->offset_ms = promql_literal_duration_ms(p, &d) * (neg ? -1 : 1);
			n->pos_end = p->pos;
		}
		else if (t->type == T_AT)
		{
			Token		at = promql_lex_next(p);
			Token		v = promql_lex_next(p);
			PromqlNode *tgt;
			PromqlAtKind kind = PROMQL_AT_TIME;
			double		ts = 0;

			if (v.type == T_IDENT && (promql_lex_is_word(p, &v, "start") || promql_lex_is_word(p, &v, "end")))
			{
				kind = promql_lex_is_word(p, &v, "start") ? PROMQL_AT_START : PROMQL_AT_END;
				promql_lex_expect(p, T_LPAREN, "@ modifier", "\"(\"");
				promql_lex_expect(p, T_RPAREN, "@ modifier", "\")\"");
			}
			else
			{
				bool		neg = false;

				if (v.type == T_SUB || v.type == T_ADD)
				{
					neg = v.type == T_SUB;
					v = promql_lex_next(p);
				}
				if (v.type == T_NUMBER)
					ts = promql_literal_number(p, p->q + v.pos, v.len, v.pos);
				else if (v.type == T_DURATION && p->compat == PROMQL_COMPAT_V3)
					ts = (double) promql_literal_duration(p, &v) / 1000.0;
				else if (v.type == T_IDENT && (promql_lex_is_word(p, &v, "inf") || promql_lex_is_word(p, &v, "nan")))
					ts = promql_lex_is_word(p, &v, "inf") ? INFINITY : NAN;
				else
					promql_lex_unexpected(p, &v, "@", "timestamp");
				if (neg)
					ts = -ts;
			}
			if (!is_selector_like(n))
				promql_parse_fail(p, at.pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
			tgt = modifier_target(n);
			if (tgt->at_kind != PROMQL_AT_NONE)
				promql_parse_fail(p, at.pos, "@ <timestamp> may not be set multiple times");
			if (kind == PROMQL_AT_TIME)
			{
				/* Prometheus bounds the seconds; we also need the milliseconds to fit */
				if (isinf(ts) || isnan(ts) || fabs(round(ts * 1000.0)) >= 9.2233720368547e18)
					promql_parse_fail(p, at.pos, "timestamp out of bounds for @ modifier: %f", ts);
				tgt->at_ms = (int64_t) round(ts * 1000.0);
			}
			tgt->at_kind = kind;
			n->pos_end = p->pos;
		}
		else
			return n;
	}
}

static PromqlNode *
parse_unary(Parser *p)
{
	Token	   *t = promql_lex_peek(p);

	if (t->type == T_ADD || t->type == T_SUB)
	{
		Token		op = promql_lex_next(p);
		PromqlNode *e = parse_expr(p, 6);
		PromqlNode *n;

		if (e->type == PROMQL_NODE_NUMBER)
		{
			if (op.type == T_SUB)
				e->number = -e->number;
			e->pos_start = op.pos;
			return e;
		}
		n = new_node(p, PROMQL_NODE_UNARY, op.pos, e->pos_end);
		n->op = op.type == T_SUB ? PROMQL_OP_SUB : PROMQL_OP_ADD;
		n->expr = e;
		return n;
	}
	return parse_postfix(p, parse_primary(p));
}

static void
deeper(Parser *p, int pos)
{
	if (++p->depth > PROMQL_MAX_DEPTH)
		promql_parse_fail(p, pos, "expression nested too deeply (more than %d levels)", PROMQL_MAX_DEPTH);
}

static PromqlNode *
parse_expr(Parser *p, int minprec)
{
	int			depth = p->depth;
	PromqlNode *lhs;

	deeper(p, promql_lex_peek(p)->pos);
	lhs = parse_unary(p);

	for (;;)
	{
		Token		t = *promql_lex_peek(p);
		int			prec;
		PromqlOp	op = promql_lex_binary_op(p, &t, &prec);
		PromqlNode *n;

		if (op == PROMQL_OP_NONE || prec < minprec)
		{
			p->depth = depth;
			return lhs;
		}
		deeper(p, t.pos);
		promql_lex_next(p);
		n = new_node(p, PROMQL_NODE_BINARY, lhs->pos_start, 0);
		n->op = op;
		n->lhs = lhs;
		if (promql_lex_is_word(p, promql_lex_peek(p), "bool"))
		{
			promql_lex_next(p);
			n->return_bool = true;
		}
		if (promql_lex_is_word(p, promql_lex_peek(p), "on") || promql_lex_is_word(p, promql_lex_peek(p), "ignoring"))
		{
			n->on = promql_lex_is_word(p, promql_lex_peek(p), "on");
			n->has_matching = true;
			promql_lex_next(p);
			n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
			if (promql_lex_is_word(p, promql_lex_peek(p), "group_left") || promql_lex_is_word(p, promql_lex_peek(p), "group_right"))
			{
				n->card = promql_lex_is_word(p, promql_lex_peek(p), "group_left") ? PROMQL_CARD_MANY_TO_ONE : PROMQL_CARD_ONE_TO_MANY;
				promql_lex_next(p);
				if (promql_lex_peek(p)->type == T_LPAREN)
					n->include = parse_label_list(p, &n->ninclude, "grouping opts");
			}
		}
		else if (promql_lex_is_word(p, promql_lex_peek(p), "group_left") || promql_lex_is_word(p, promql_lex_peek(p), "group_right"))
			promql_lex_unexpected(p, promql_lex_peek(p), "binary expression", NULL);
		n->rhs = parse_expr(p, op == PROMQL_OP_POW ? prec : prec + 1);
		n->pos_end = n->rhs->pos_end;
		lhs = n;
	}
}

PromqlNode *
promql_parse(AlloyArena *arena, const char *query, size_t len, const char **err)
{
	return promql_parse_compat(arena, query, len, PROMQL_COMPAT_V2, err);
}

PromqlNode *
promql_parse_compat(AlloyArena *arena, const char *query, size_t len, int compat,
					const char **err)
{
	Parser		p;
	PromqlNode *volatile root = NULL;

	memset(&p, 0, sizeof(p));
	p.arena = arena;
	p.compat = compat;
	p.q = query;
	p.len = (int) len;
	*err = NULL;
	if (setjmp(p.jb) != 0)
	{
		*err = p.err;
		return NULL;
	}
	if (promql_lex_peek(&p)->type == T_EOF)
		promql_parse_fail(&p, 0, "no expression found in input");
	root = parse_expr(&p, 1);
	if (promql_lex_peek(&p)->type != T_EOF)
		promql_lex_unexpected(&p, promql_lex_peek(&p), NULL, NULL);
	promql_check_ast(&p, root);
	{
		PromqlValueType t = promql_node_type(root);

		if (t != PROMQL_VAL_SCALAR && t != PROMQL_VAL_VECTOR &&
			t != PROMQL_VAL_MATRIX && t != PROMQL_VAL_STRING)
			promql_parse_fail(&p, 0, "expression must have a valid expression type but got %s",
					   promql_value_type_name(t));
	}
	return root;
}
