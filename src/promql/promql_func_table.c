/*
 * promql_func_table.c: the PromQL function table: each function's name,
 * argument types, result type and implementation id.
 *
 * The parser looks names up here and the type checker checks calls against
 * it; the implementations (promql_func_*.c) switch on the id.  Keeping the
 * table apart from the implementations lets the parser use it without
 * depending on the evaluator.
 */
#include <string.h>

#include "promql/promql_int.h"

#define S PROMQL_VAL_SCALAR
#define V PROMQL_VAL_VECTOR
#define M PROMQL_VAL_MATRIX
#define STR PROMQL_VAL_STRING

/* Sorted by name for bsearch. */
static const PromqlFunction functions[] = {
	{"abs", {V}, 1, 0, V, F_ABS, 0},
	{"absent", {V}, 1, 0, V, F_ABSENT, 0},
	{"absent_over_time", {M}, 1, 0, V, F_ABSENT_OVER_TIME, 0},
	{"acos", {V}, 1, 0, V, F_ACOS, 0},
	{"acosh", {V}, 1, 0, V, F_ACOSH, 0},
	{"asin", {V}, 1, 0, V, F_ASIN, 0},
	{"asinh", {V}, 1, 0, V, F_ASINH, 0},
	{"atan", {V}, 1, 0, V, F_ATAN, 0},
	{"atanh", {V}, 1, 0, V, F_ATANH, 0},
	{"avg_over_time", {M}, 1, 0, V, F_AVG_OVER_TIME, 0},
	{"ceil", {V}, 1, 0, V, F_CEIL, 0},
	{"changes", {M}, 1, 0, V, F_CHANGES, 0},
	{"clamp", {V, S, S}, 3, 0, V, F_CLAMP, 0},
	{"clamp_max", {V, S}, 2, 0, V, F_CLAMP_MAX, 0},
	{"clamp_min", {V, S}, 2, 0, V, F_CLAMP_MIN, 0},
	{"cos", {V}, 1, 0, V, F_COS, 0},
	{"cosh", {V}, 1, 0, V, F_COSH, 0},
	{"count_over_time", {M}, 1, 0, V, F_COUNT_OVER_TIME, 0},
	{"day_of_month", {V}, 1, 1, V, F_DAY_OF_MONTH, 0},
	{"day_of_week", {V}, 1, 1, V, F_DAY_OF_WEEK, 0},
	{"day_of_year", {V}, 1, 1, V, F_DAY_OF_YEAR, 0},
	{"days_in_month", {V}, 1, 1, V, F_DAYS_IN_MONTH, 0},
	{"deg", {V}, 1, 0, V, F_DEG, 0},
	{"delta", {M}, 1, 0, V, F_DELTA, 0},
	{"deriv", {M}, 1, 0, V, F_DERIV, 0},
	{"double_exponential_smoothing", {M, S, S}, 3, 0, V, F_HOLT_WINTERS, PROMQL_COMPAT_V3},
	{"exp", {V}, 1, 0, V, F_EXP, 0},
	{"first_over_time", {M}, 1, 0, V, F_FIRST_OVER_TIME, PROMQL_COMPAT_V3},
	{"floor", {V}, 1, 0, V, F_FLOOR, 0},
	{"histogram_count", {V}, 1, 0, V, F_HISTOGRAM_COUNT, 0},
	{"histogram_fraction", {S, S, V}, 3, 0, V, F_HISTOGRAM_FRACTION, 0},
	{"histogram_quantile", {S, V}, 2, 0, V, F_HISTOGRAM_QUANTILE, 0},
	{"histogram_sum", {V}, 1, 0, V, F_HISTOGRAM_SUM, 0},
	{"holt_winters", {M, S, S}, 3, 0, V, F_HOLT_WINTERS, PROMQL_COMPAT_V2},
	{"hour", {V}, 1, 1, V, F_HOUR, 0},
	{"idelta", {M}, 1, 0, V, F_IDELTA, 0},
	{"increase", {M}, 1, 0, V, F_INCREASE, 0},
	{"irate", {M}, 1, 0, V, F_IRATE, 0},
	{"label_join", {V, STR, STR, STR}, 4, -1, V, F_LABEL_JOIN, 0},
	{"label_replace", {V, STR, STR, STR, STR}, 5, 0, V, F_LABEL_REPLACE, 0},
	{"last_over_time", {M}, 1, 0, V, F_LAST_OVER_TIME, 0},
	{"ln", {V}, 1, 0, V, F_LN, 0},
	{"log10", {V}, 1, 0, V, F_LOG10, 0},
	{"log2", {V}, 1, 0, V, F_LOG2, 0},
	{"mad_over_time", {M}, 1, 0, V, F_MAD_OVER_TIME, PROMQL_COMPAT_V3},
	{"max_over_time", {M}, 1, 0, V, F_MAX_OVER_TIME, 0},
	{"min_over_time", {M}, 1, 0, V, F_MIN_OVER_TIME, 0},
	{"minute", {V}, 1, 1, V, F_MINUTE, 0},
	{"month", {V}, 1, 1, V, F_MONTH, 0},
	{"pi", {0}, 0, 0, S, F_PI, 0},
	{"predict_linear", {M, S}, 2, 0, V, F_PREDICT_LINEAR, 0},
	{"present_over_time", {M}, 1, 0, V, F_PRESENT_OVER_TIME, 0},
	{"quantile_over_time", {S, M}, 2, 0, V, F_QUANTILE_OVER_TIME, 0},
	{"rad", {V}, 1, 0, V, F_RAD, 0},
	{"rate", {M}, 1, 0, V, F_RATE, 0},
	{"resets", {M}, 1, 0, V, F_RESETS, 0},
	{"round", {V, S}, 2, 1, V, F_ROUND, 0},
	{"scalar", {V}, 1, 0, S, F_SCALAR, 0},
	{"sgn", {V}, 1, 0, V, F_SGN, 0},
	{"sin", {V}, 1, 0, V, F_SIN, 0},
	{"sinh", {V}, 1, 0, V, F_SINH, 0},
	{"sort", {V}, 1, 0, V, F_SORT, 0},
	{"sort_by_label", {V, STR}, 2, -1, V, F_SORT_BY_LABEL, PROMQL_COMPAT_V3},
	{"sort_by_label_desc", {V, STR}, 2, -1, V, F_SORT_BY_LABEL_DESC, PROMQL_COMPAT_V3},
	{"sort_desc", {V}, 1, 0, V, F_SORT_DESC, 0},
	{"sqrt", {V}, 1, 0, V, F_SQRT, 0},
	{"stddev_over_time", {M}, 1, 0, V, F_STDDEV_OVER_TIME, 0},
	{"stdvar_over_time", {M}, 1, 0, V, F_STDVAR_OVER_TIME, 0},
	{"sum_over_time", {M}, 1, 0, V, F_SUM_OVER_TIME, 0},
	{"tan", {V}, 1, 0, V, F_TAN, 0},
	{"tanh", {V}, 1, 0, V, F_TANH, 0},
	{"time", {0}, 0, 0, S, F_TIME, 0},
	{"timestamp", {V}, 1, 0, V, F_TIMESTAMP, 0},
	{"ts_of_first_over_time", {M}, 1, 0, V, F_TS_OF_FIRST_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_last_over_time", {M}, 1, 0, V, F_TS_OF_LAST_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_max_over_time", {M}, 1, 0, V, F_TS_OF_MAX_OVER_TIME, PROMQL_COMPAT_V3},
	{"ts_of_min_over_time", {M}, 1, 0, V, F_TS_OF_MIN_OVER_TIME, PROMQL_COMPAT_V3},
	{"vector", {S}, 1, 0, V, F_VECTOR, 0},
	{"year", {V}, 1, 1, V, F_YEAR, 0},
};

#undef S
#undef V
#undef M
#undef STR

/* The function named name[0..len), or NULL. */
const PromqlFunction *
promql_function_lookup(const char *name, size_t len)
{
	int			lo = 0,
				hi = (int) (sizeof(functions) / sizeof(functions[0])) - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strncmp(functions[mid].name, name, len);

		if (c == 0 && functions[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return &functions[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

bool
promql_function_at_unsafe(const PromqlFunction *f)
{
	return f->id == F_DAYS_IN_MONTH || f->id == F_DAY_OF_MONTH || f->id == F_DAY_OF_WEEK ||
		f->id == F_DAY_OF_YEAR || f->id == F_HOUR || f->id == F_MINUTE || f->id == F_MONTH ||
		f->id == F_YEAR || f->id == F_TIME || f->id == F_PREDICT_LINEAR ||
		f->id == F_TIMESTAMP;
}
