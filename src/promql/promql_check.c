/*
 * promql_check.c: the type checker that runs after parsing: value types of
 * nodes, argument counts and types of calls, and the rules on binary
 * operators (bool, vector matching, set operators), with Prometheus
 * 2.42's messages.
 */
#include <string.h>

#include "promql/promql_int.h"

/* The value type node n evaluates to. */
PromqlValueType
promql_node_type(const PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
			return PROMQL_VAL_SCALAR;
		case PROMQL_NODE_STRING:
			return PROMQL_VAL_STRING;
		case PROMQL_NODE_VECTOR_SELECTOR:
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_MATRIX_SELECTOR:
		case PROMQL_NODE_SUBQUERY:
			return PROMQL_VAL_MATRIX;
		case PROMQL_NODE_CALL:
			return n->func->ret;
		case PROMQL_NODE_AGGREGATE:
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_BINARY:
			if (promql_node_type(n->lhs) == PROMQL_VAL_SCALAR &&
				promql_node_type(n->rhs) == PROMQL_VAL_SCALAR)
				return PROMQL_VAL_SCALAR;
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			return promql_node_type(n->expr);
	}
	return PROMQL_VAL_NONE;
}

/* A value type's name as Prometheus prints it in errors. */
const char *
promql_value_type_name(PromqlValueType t)
{
	switch (t)
	{
		case PROMQL_VAL_SCALAR:
			return "scalar";
		case PROMQL_VAL_VECTOR:
			return "instant vector";
		case PROMQL_VAL_MATRIX:
			return "range vector";
		case PROMQL_VAL_STRING:
			return "string";
		default:
			return "none";
	}
}

static void
expect_type(Parser *p, const PromqlNode *n, PromqlValueType want, const char *ctx)
{
	PromqlValueType t = promql_node_type(n);

	if (t != want)
		promql_parse_fail(p, n->pos_start, "expected type %s in %s, got %s",
				   promql_value_type_name(want), ctx, promql_value_type_name(t));
}

/* Type check tree n; the first error fails with Prometheus's message. */
void
promql_check_ast(Parser *p, PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
		case PROMQL_NODE_STRING:
		case PROMQL_NODE_VECTOR_SELECTOR:
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			break;
		case PROMQL_NODE_PAREN:
			promql_check_ast(p, n->expr);
			break;
		case PROMQL_NODE_SUBQUERY:
			promql_check_ast(p, n->expr);
			if (promql_node_type(n->expr) != PROMQL_VAL_VECTOR)
				promql_parse_fail(p, n->pos_start, "subquery is only allowed on instant vector, got %s instead",
						   promql_value_type_name(promql_node_type(n->expr)));
			break;
		case PROMQL_NODE_UNARY:
			promql_check_ast(p, n->expr);
			{
				PromqlValueType t = promql_node_type(n->expr);

				if (t != PROMQL_VAL_SCALAR && t != PROMQL_VAL_VECTOR)
					promql_parse_fail(p, n->pos_start,
							   "unary expression only allowed on expressions of type scalar or instant vector, got \"%s\"",
							   promql_value_type_name(t));
			}
			break;
		case PROMQL_NODE_AGGREGATE:
			promql_check_ast(p, n->expr);
			if (n->param)
				promql_check_ast(p, n->param);
			expect_type(p, n->expr, PROMQL_VAL_VECTOR, "aggregation expression");
			if (n->op == PROMQL_AGG_TOPK || n->op == PROMQL_AGG_BOTTOMK || n->op == PROMQL_AGG_QUANTILE)
				expect_type(p, n->param, PROMQL_VAL_SCALAR, "aggregation parameter");
			if (n->op == PROMQL_AGG_COUNT_VALUES)
				expect_type(p, n->param, PROMQL_VAL_STRING, "aggregation parameter");
			break;
		case PROMQL_NODE_CALL:
			{
				const PromqlFunction *f = n->func;
				const char *ctx = alloy_arena_sprintf(p->arena, "call to function \"%s\"", f->name);

				if (f->variadic == 0)
				{
					if (n->nargs != f->nargtypes)
						promql_parse_fail(p, n->pos_start, "expected %d argument(s) in call to \"%s\", got %d",
								   f->nargtypes, f->name, n->nargs);
				}
				else
				{
					int			na = f->nargtypes - 1;

					if (na > n->nargs)
						promql_parse_fail(p, n->pos_start, "expected at least %d argument(s) in call to \"%s\", got %d",
								   na, f->name, n->nargs);
					if (f->variadic > 0 && na + f->variadic < n->nargs)
						promql_parse_fail(p, n->pos_start, "expected at most %d argument(s) in call to \"%s\", got %d",
								   na + f->variadic, f->name, n->nargs);
				}
				for (int i = 0; i < n->nargs; i++)
				{
					int			k = i;

					promql_check_ast(p, n->args[i]);
					if (k >= f->nargtypes)
					{
						if (f->variadic == 0)
							continue;
						k = f->nargtypes - 1;
					}
					expect_type(p, n->args[i], f->argtypes[k], ctx);
				}
			}
			break;
		case PROMQL_NODE_BINARY:
			{
				PromqlValueType lt,
							rt;

				promql_check_ast(p, n->lhs);
				promql_check_ast(p, n->rhs);
				lt = promql_node_type(n->lhs);
				rt = promql_node_type(n->rhs);
				if (n->return_bool && !promql_op_is_comparison(n->op))
					promql_parse_fail(p, n->pos_start, "bool modifier can only be used on comparison operators");
				if (promql_op_is_comparison(n->op) && !n->return_bool &&
					lt == PROMQL_VAL_SCALAR && rt == PROMQL_VAL_SCALAR)
					promql_parse_fail(p, n->pos_start, "comparisons between scalars must use BOOL modifier");
				if (promql_op_is_set(n->op) && n->card == PROMQL_CARD_ONE_TO_ONE)
					n->card = PROMQL_CARD_MANY_TO_MANY;
				for (int i = 0; i < n->ngrouping; i++)
					for (int j = 0; j < n->ninclude; j++)
						if (n->on && strcmp(n->grouping[i], n->include[j]) == 0)
							promql_parse_fail(p, n->pos_start, "label \"%s\" must not occur in ON and GROUP clause at once",
									   n->grouping[i]);
				if (lt != PROMQL_VAL_SCALAR && lt != PROMQL_VAL_VECTOR)
					promql_parse_fail(p, n->lhs->pos_start, "binary expression must contain only scalar and instant vector types");
				if (rt != PROMQL_VAL_SCALAR && rt != PROMQL_VAL_VECTOR)
					promql_parse_fail(p, n->rhs->pos_start, "binary expression must contain only scalar and instant vector types");
				if ((lt != PROMQL_VAL_VECTOR || rt != PROMQL_VAL_VECTOR) && n->has_matching)
				{
					/* as in 2.42, only matching labels are an error: "x * on() 2" parses */
					if (n->ngrouping > 0)
						promql_parse_fail(p, n->pos_start, "vector matching only allowed between instant vectors");
					n->has_matching = false;
				}
				else if (promql_op_is_set(n->op))
				{
					if (n->card == PROMQL_CARD_ONE_TO_MANY || n->card == PROMQL_CARD_MANY_TO_ONE)
						promql_parse_fail(p, n->pos_start, "no grouping allowed for \"%s\" operation",
								   promql_op_name(n->op));
					if (n->card != PROMQL_CARD_MANY_TO_MANY)
						promql_parse_fail(p, n->pos_start, "set operations must always be many-to-many");
				}
				if ((lt == PROMQL_VAL_SCALAR || rt == PROMQL_VAL_SCALAR) && promql_op_is_set(n->op))
					promql_parse_fail(p, n->pos_start, "set operator \"%s\" not allowed in binary scalar expression",
							   promql_op_name(n->op));
			}
			break;
	}
}
