/*
 * test_promql_parse.c: the PromQL lexer, parser and type checker.
 *
 * Checks the tree shapes that encode precedence and associativity, the
 * literal forms (numbers, durations, strings), modifiers, keywords used as
 * names, and Prometheus's error messages with their positions.  The printer
 * is checked by round trips: printing a parsed query and parsing it again
 * must print the same text.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promql/promql.h"
#include "unit.h"

static AlloyArena *arena;

static PromqlNode *
parse(const char *q)
{
	const char *err;
	PromqlNode *n = promql_parse(arena, q, strlen(q), &err);

	if (!n)
		printf("# parse of %s failed: %s\n", q, err);
	return n;
}

/* Parse in Prometheus 3 mode; NULL on error. */
static PromqlNode *
parse3(const char *q)
{
	const char *err;

	return promql_parse_compat(arena, q, strlen(q), PROMQL_COMPAT_V3, &err);
}

static const char *
parse_err(const char *q)
{
	const char *err;
	PromqlNode *n = promql_parse(arena, q, strlen(q), &err);

	return n ? "(no error)" : err;
}

static bool
err_has(const char *q, const char *want)
{
	const char *e = parse_err(q);
	bool		ok = strstr(e, want) != NULL;

	if (!ok)
		printf("# %s: got error \"%s\", want \"%s\"\n", q, e, want);
	return ok;
}

static double
num(const char *q)
{
	PromqlNode *n = parse(q);

	return n && n->type == PROMQL_NODE_NUMBER ? n->number : -12345.678;
}

static bool
round_trip(const char *q)
{
	PromqlNode *n = parse(q);
	char	   *s1,
			   *s2;
	PromqlNode *m;

	if (!n)
		return false;
	s1 = promql_node_string(arena, n);
	m = parse(s1);
	if (!m)
		return false;
	s2 = promql_node_string(arena, m);
	if (strcmp(s1, s2) != 0)
		printf("# round trip of %s: %s vs %s\n", q, s1, s2);
	return strcmp(s1, s2) == 0;
}

static bool
duration_is(const char *s, int64_t want)
{
	int64_t		ms;

	return promql_parse_duration(s, strlen(s), &ms) && ms == want;
}

int
main(void)
{
	PromqlNode *n;

	arena = alloy_arena_create(&alloy_malloc_hooks);

	/* numbers */
	CHECK(num("42") == 42, "integer");
	CHECK(num("1.5e3") == 1500, "exponent");
	CHECK(num(".5") == 0.5, "leading dot");
	CHECK(num("0x1F") == 31, "hex");
	CHECK(num("010") == 8, "leading zero is octal, as Go's ParseInt(s, 0, 64)");
	CHECK(isinf(num("Inf")) && num("Inf") > 0, "Inf");
	CHECK(isinf(num("-inf")) && num("-inf") < 0, "-inf folds into the literal");
	CHECK(isnan(num("NaN")), "NaN");
	CHECK(num("-2") == -2, "negative literal");
	CHECK(num("+2") == 2, "unary plus on literal");

	/* durations */
	CHECK(duration_is("5m", 300000), "5m");
	CHECK(duration_is("1h30m", 5400000), "1h30m");
	CHECK(duration_is("1y", 365LL * 86400000), "1y");
	CHECK(duration_is("2w3d", 17LL * 86400000), "2w3d");
	CHECK(duration_is("100ms", 100), "ms");
	CHECK(duration_is("1s500ms", 1500), "s and ms");
	CHECK(!duration_is("1m1h", 0), "units out of order");
	CHECK(!duration_is("1.5h", 0), "fractional");
	CHECK(!duration_is("", 0), "empty");

	/* strings */
	n = parse("\"a\\nb\\\"c\"");
	CHECK(n && n->type == PROMQL_NODE_STRING && strcmp(n->str, "a\nb\"c") == 0, "double-quoted escapes");
	n = parse("'it\\'s'");
	CHECK(n && strcmp(n->str, "it's") == 0, "single-quoted");
	n = parse("`raw\\n`");
	CHECK(n && strcmp(n->str, "raw\\n") == 0, "raw string keeps backslashes");
	n = parse("\"\\u00e9\\x41\\101\"");
	CHECK(n && strcmp(n->str, "\xc3\xa9" "AA") == 0, "unicode, hex and octal escapes");
	CHECK(err_has("\"abc", "unterminated quoted string"), "unterminated");
	CHECK(err_has("\"\\q\"", "unknown escape sequence"), "bad escape");

	/* precedence and associativity */
	n = parse("1 + 2 * 3");
	CHECK(n && n->type == PROMQL_NODE_BINARY && n->op == PROMQL_OP_ADD &&
		  n->rhs->type == PROMQL_NODE_BINARY && n->rhs->op == PROMQL_OP_MUL, "* binds tighter than +");
	n = parse("2 ^ 3 ^ 2");
	CHECK(n && n->op == PROMQL_OP_POW && n->lhs->type == PROMQL_NODE_NUMBER &&
		  n->rhs->type == PROMQL_NODE_BINARY, "^ is right-associative");
	n = parse("1 - 2 - 3");
	CHECK(n && n->op == PROMQL_OP_SUB && n->lhs->type == PROMQL_NODE_BINARY, "- is left-associative");
	n = parse("-2 ^ 2");
	CHECK(n && n->type == PROMQL_NODE_UNARY && n->expr->op == PROMQL_OP_POW, "-a^b is -(a^b)");
	n = parse("-foo * bar");
	CHECK(n && n->type == PROMQL_NODE_BINARY && n->op == PROMQL_OP_MUL &&
		  n->lhs->type == PROMQL_NODE_UNARY, "unary binds like *");
	n = parse("a or b and c");
	CHECK(n && n->op == PROMQL_OP_LOR && n->rhs->op == PROMQL_OP_LAND, "and binds tighter than or");
	n = parse("a > b + 1");
	CHECK(n && n->op == PROMQL_OP_GTR && n->rhs->op == PROMQL_OP_ADD, "comparison below arithmetic");
	n = parse("a atan2 b * c");
	CHECK(n && n->op == PROMQL_OP_MUL && n->lhs->op == PROMQL_OP_ATAN2, "atan2 at * level");
	n = parse("a == bool b");
	CHECK(n && n->return_bool, "bool");
	n = parse("1 < bool 2");
	CHECK(n && promql_node_type(n) == PROMQL_VAL_SCALAR, "scalar comparison with bool");

	/* selectors and modifiers */
	n = parse("foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~\"h\"}");
	CHECK(n && n->type == PROMQL_NODE_VECTOR_SELECTOR && n->nmatchers == 5 &&
		  strcmp(n->matchers[0].name, "__name__") == 0 &&
		  n->matchers[3].type == PROMQL_MATCH_RE && n->matchers[3].rx != NULL, "matchers");
	n = parse("{__name__=~\"foo|bar\"}");
	CHECK(n && n->nmatchers == 1 && n->metric == NULL, "name by regex");
	n = parse("foo{by=\"x\", on=\"y\", offset=\"z\"}");
	CHECK(n && n->nmatchers == 4, "keywords as label names");
	n = parse("sum by (on, offset) (foo)");
	CHECK(n && n->type == PROMQL_NODE_AGGREGATE && n->ngrouping == 2, "keywords in grouping");
	n = parse("foo:bar:rate5m");
	CHECK(n && strcmp(n->metric, "foo:bar:rate5m") == 0, "recording rule name");
	n = parse("foo{a=\"b\",}");
	CHECK(n && n->nmatchers == 2, "trailing comma in matchers");
	n = parse("foo[1h30m]");
	CHECK(n && n->type == PROMQL_NODE_MATRIX_SELECTOR && n->range_ms == 5400000, "range");
	n = parse("foo offset 5m");
	CHECK(n && n->offset_ms == 300000, "offset");
	n = parse("foo offset -5m");
	CHECK(n && n->offset_ms == -300000, "negative offset");
	n = parse("foo[5m] offset 1m");
	CHECK(n && n->type == PROMQL_NODE_MATRIX_SELECTOR && n->expr->offset_ms == 60000, "offset after range");
	n = parse("foo @ 100");
	CHECK(n && n->at_kind == PROMQL_AT_TIME && n->at_ms == 100000, "@ seconds");
	n = parse("foo @ 1.5005");
	CHECK(n && n->at_ms == 1501, "@ rounds to milliseconds");
	n = parse("foo @ -10 offset 1m");
	CHECK(n && n->at_ms == -10000 && n->offset_ms == 60000, "@ negative then offset");
	n = parse("foo offset 1m @ start()");
	CHECK(n && n->at_kind == PROMQL_AT_START, "@ start()");
	n = parse("foo[5m] @ end()");
	CHECK(n && n->expr->at_kind == PROMQL_AT_END, "@ end() on a range");
	n = parse("rate(foo[5m])[30m:1m]");
	CHECK(n && n->type == PROMQL_NODE_SUBQUERY && n->range_ms == 1800000 && n->step_ms == 60000, "subquery");
	/* outside brackets a colon starts a name, even alone (promtool accepts "up - :") */
	n = parse("up - :");
	CHECK(n && n->type == PROMQL_NODE_BINARY && n->rhs->type == PROMQL_NODE_VECTOR_SELECTOR &&
		  strcmp(n->rhs->metric, ":") == 0, "a lone colon is a metric name");
	n = parse(":a");
	CHECK(n && n->type == PROMQL_NODE_VECTOR_SELECTOR && strcmp(n->metric, ":a") == 0,
		  "a name may start with a colon");
	n = parse("foo[5m::]");
	CHECK(n == NULL, "two colons in a subquery range");
	n = parse("foo[5m:]");
	CHECK(n && n->type == PROMQL_NODE_SUBQUERY && n->step_ms == 0, "subquery default step");
	n = parse("(foo)[5m:] offset 1m @ 10");
	CHECK(n && n->type == PROMQL_NODE_SUBQUERY && n->offset_ms == 60000 && n->at_ms == 10000,
		  "subquery of paren with modifiers");
	n = parse("foo # a comment\n + 1");
	CHECK(n && n->type == PROMQL_NODE_BINARY, "comments");

	/* aggregations and calls */
	n = parse("sum(foo) by (a, b)");
	CHECK(n && n->op == PROMQL_AGG_SUM && n->ngrouping == 2 && !n->without, "grouping after");
	n = parse("avg without (a) (foo)");
	CHECK(n && n->without && n->ngrouping == 1, "without before");
	n = parse("topk(3, foo)");
	CHECK(n && n->op == PROMQL_AGG_TOPK && n->param && n->param->number == 3, "topk param");
	n = parse("count_values(\"v\", foo)");
	CHECK(n && n->op == PROMQL_AGG_COUNT_VALUES && n->param->type == PROMQL_NODE_STRING, "count_values");
	n = parse("sum by () (foo)");
	CHECK(n && n->ngrouping == 0, "empty grouping");
	n = parse("label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")");
	CHECK(n && n->type == PROMQL_NODE_CALL && n->nargs == 6, "variadic label_join");
	n = parse("round(foo)");
	CHECK(n && n->nargs == 1, "optional argument omitted");
	n = parse("hour()");
	CHECK(n && n->nargs == 0, "date function without argument");
	n = parse("time()");
	CHECK(n && promql_node_type(n) == PROMQL_VAL_SCALAR, "time() is scalar");
	n = parse("a * on(b) group_left(c) d");
	CHECK(n && n->on && n->ngrouping == 1 && n->card == PROMQL_CARD_MANY_TO_ONE && n->ninclude == 1,
		  "group_left");
	n = parse("a + ignoring(b) group_right d");
	CHECK(n && !n->on && n->card == PROMQL_CARD_ONE_TO_MANY && n->ninclude == 0, "group_right");
	n = parse("a and on() b");
	CHECK(n && n->card == PROMQL_CARD_MANY_TO_MANY, "set operators are many-to-many");
	n = parse("SUM(foo)");
	CHECK(n && n->type == PROMQL_NODE_AGGREGATE, "keywords are case-insensitive");

	/* errors, with Prometheus's wording */
	CHECK(err_has("foo{", "parse error at char"), "position prefix");
	CHECK(err_has("rate(foo)", "expected type range vector in call to function \"rate\", got instant vector"),
		  "argument type");
	CHECK(err_has("1 == 1", "comparisons between scalars must use BOOL modifier"), "bool required");
	CHECK(err_has("foo + bool bar", "bool modifier can only be used on comparison operators"), "bool misuse");
	CHECK(err_has("foo and 1", "set operator \"and\" not allowed in binary scalar expression"), "set op scalar");
	CHECK(err_has("1 + on(a) foo", "vector matching only allowed between instant vectors"), "matching scalar");
	CHECK(err_has("foo and on(a) group_left bar", "no grouping allowed for \"and\" operation"), "set op group");
	CHECK(err_has("a * on(b) group_left(b) c", "must not occur in ON and GROUP clause at once"), "on and group");
	CHECK(err_has("{}", "vector selector must contain at least one non-empty matcher"), "empty selector");
	CHECK(err_has("{a=~\".*\"}", "at least one non-empty matcher"), "only empty-matching matchers");
	CHECK(err_has("foo{__name__=\"bar\"}", "metric name must not be set twice"), "name twice");
	CHECK(err_has("nosuchfn(foo)", "unknown function with name \"nosuchfn\""), "unknown function");
	CHECK(err_has("foo offset 1m offset 2m", "offset may not be set multiple times"), "offset twice");
	CHECK(err_has("foo @ 1 @ 2", "@ <timestamp> may not be set multiple times"), "@ twice");
	CHECK(err_has("(foo + bar) offset 5m",
				  "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
		  "offset on expression");
	CHECK(err_has("foo offset 5m [10m]", "no offset modifiers allowed before range"), "offset before range");
	CHECK(err_has("(foo)[5m]", "ranges only allowed for vector selectors"), "range on paren");
	CHECK(err_has("foo[5m][5m]", "ranges only allowed for vector selectors"), "range twice");
	CHECK(err_has("\"a\" + 1", "binary expression must contain only scalar and instant vector types"), "string operand");
	CHECK(err_has("foo[5m] + 1", "binary expression must contain only scalar and instant vector types"), "range operand");
	CHECK(err_has("-foo[5m]", "unary expression only allowed on expressions of type scalar or instant vector"), "unary range");
	CHECK(err_has("foo[5m][10m:]", "subquery is only allowed on instant vector, got range vector"), "subquery of range");
	CHECK(err_has("sum(foo, bar)", "wrong number of arguments for aggregate expression provided, expected 1, got 2"),
		  "aggregate arity");
	CHECK(err_has("topk(foo)", "wrong number of arguments for aggregate expression provided, expected 2, got 1"),
		  "topk arity");
	CHECK(err_has("sum()", "no arguments for aggregate expression provided"), "aggregate no args");
	CHECK(err_has("topk(\"a\", foo)", "expected type scalar in aggregation parameter, got string"), "topk param type");
	CHECK(err_has("sum(foo[5m])", "expected type instant vector in aggregation expression, got range vector"),
		  "aggregate range");
	CHECK(err_has("abs(foo, bar)", "expected 1 argument(s) in call to \"abs\", got 2"), "call arity");
	CHECK(err_has("round(foo, 1, 2)", "expected at most 2 argument(s) in call to \"round\", got 3"), "at most");
	CHECK(err_has("label_join(foo)", "expected at least 3 argument(s) in call to \"label_join\", got 1"), "at least");
	CHECK(err_has("foo{a=~\"(\"}", "error parsing regexp"), "bad regex");
	CHECK(err_has("foo{a=~\"(a)\\\\1\"}", "invalid escape sequence"), "RE2 rejects backreferences");
	CHECK(err_has("1 +", "unexpected end of input"), "dangling operator");
	CHECK(err_has("", "no expression found in input"), "empty query");
	CHECK(err_has("foo bar", "unexpected identifier \"bar\""), "two selectors");
	CHECK(err_has("5m", "unexpected duration"), "bare duration");
	CHECK(err_has("foo offset 5", "expected duration"), "offset without unit");
	CHECK(err_has("1a", "bad number or duration syntax"), "bad number");
	CHECK(err_has("foo @ Inf", "timestamp out of bounds for @ modifier"), "@ inf");
	CHECK(err_has("foo !! bar", "unexpected character after '!'"), "bad operator");
	{
		const char *e = parse_err("sum(foo) + abs(bar, baz)");

		CHECK(strncmp(e, "parse error at char 12:", 23) == 0, "position of a call error: %s", e);
		e = parse_err("sum(foo) + rate(bar)");
		CHECK(strncmp(e, "parse error at char 17:", 23) == 0, "argument errors point at the argument: %s", e);
	}

	/* nesting is bounded so recursion cannot overflow the stack */
	{
		static char deep[8192];
		int			k = 0;

		for (int i = 0; i < 3000; i++)
			deep[k++] = '(';
		deep[k++] = '1';
		for (int i = 0; i < 3000; i++)
			deep[k++] = ')';
		deep[k] = '\0';
		CHECK(err_has(deep, "nested too deeply"), "deep parens rejected");
		k = 0;
		for (int i = 0; i < 2000; i++)
		{
			deep[k++] = '1';
			deep[k++] = '+';
		}
		deep[k++] = '1';
		deep[k] = '\0';
		CHECK(err_has(deep, "nested too deeply"), "long operator chain rejected");
		k = 0;
		for (int i = 0; i < 200; i++)
			deep[k++] = '(';
		k += sprintf(deep + k, "sum(rate(foo[5m]))");
		for (int i = 0; i < 200; i++)
			deep[k++] = ')';
		deep[k] = '\0';
		CHECK(parse(deep) != NULL, "200 levels accepted");
	}

	/* every 2.42 function resolves (the table is binary-searched) */
	{
		static const char *const names[] = {
			"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
			"avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
			"count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
			"delta", "deriv", "exp", "floor", "histogram_count", "histogram_sum", "histogram_fraction",
			"histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_replace",
			"label_join", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time",
			"minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
			"rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt",
			"stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp",
			"vector", "year"
		};
		int			unknown = 0;

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		{
			char		q[64];

			snprintf(q, sizeof(q), "%s()", names[i]);
			if (strstr(parse_err(q), "unknown function"))
			{
				printf("# %s unknown\n", names[i]);
				unknown++;
			}
		}
		CHECK(unknown == 0, "all 70 functions of 2.42 are known");
	}

	/* 2.x versus 3.x */
	{
		CHECK(err_has("sort_by_label(foo, \"a\")", "unknown function"), "3.x functions unknown in 2.42 mode");
		CHECK(parse3("sort_by_label(foo, \"a\")") != NULL,
			  "3.x functions known in 3.x mode");
		CHECK(parse3("holt_winters(foo[5m], 0.5, 0.5)") == NULL,
			  "holt_winters is gone in 3.x");
		n = parse3("foo[300] offset 60");
		CHECK(n && n->range_ms == 300000 && n->expr->offset_ms == 60000, "3.x: numbers as durations");
		n = parse3("foo @ 1m");
		CHECK(n && n->at_ms == 60000, "3.x: durations as timestamps");
		CHECK(err_has("foo[300]", "expected duration"), "2.42 wants a duration");
		n = parse3("foo{a=~\"x.*\"}");
		CHECK(n && promql_matcher_matches(&n->matchers[1], "x\ny"), "3.x: dot matches newline");
		n = parse("foo{a=~\"x.*\"}");
		CHECK(n && !promql_matcher_matches(&n->matchers[1], "x\ny"), "2.42: dot does not match newline");
	}

	/* printer round trips */
	/* durations print as Prometheus prints them: years and weeks only when exact */
	CHECK(strcmp(promql_node_string(arena, parse("foo[8d]")), "foo[8d]") == 0, "8d stays 8d");
	CHECK(strcmp(promql_node_string(arena, parse("foo[2w]")), "foo[2w]") == 0, "2w");
	CHECK(strcmp(promql_node_string(arena, parse("foo[366d]")), "foo[366d]") == 0, "366d");
	CHECK(strcmp(promql_node_string(arena, parse("foo[1y] offset 1w")), "foo[1y] offset 1w") == 0, "1y, 1w");
	CHECK(strcmp(promql_node_string(arena, parse("foo[90s]")), "foo[1m30s]") == 0, "90s");
	CHECK(round_trip("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1h))"), "rt aggregation");
	CHECK(round_trip("a * on(b) group_left(c) d > bool 3"), "rt matching");
	CHECK(round_trip("max_over_time(deriv(foo[1m])[1h30m:5m] @ 1000)"), "rt subquery");
	CHECK(round_trip("-(1 + 2) ^ 3"), "rt unary");
	CHECK(round_trip("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\\\\n\")"), "rt strings");

	alloy_arena_destroy(arena);
	return unit_finish();
}
