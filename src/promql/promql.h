#ifndef ALLOY_PROMQL_PROMQL_H
#define ALLOY_PROMQL_PROMQL_H
/*
 * promql.h: public interface of alloy's PromQL engine (plain C).
 *
 * The engine parses a PromQL 2.42 expression into an AST, plans the time
 * range every selector needs, fetches series through the callbacks of
 * PromqlStorage (below) and evaluates with Prometheus 2.42 semantics.  It makes
 * no PostgreSQL calls: memory comes from a AlloyArena, errors are returned
 * as strings, cancellation is a caller hook.  That is what lets the unit
 * tests, the conformance harness and the fuzzer build it standalone, and the
 * server (query/query.c, for SQL and HTTP) wraps it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* Prometheus's stale marker: a NaN with exactly these bits. */
#define PROMQL_STALE_NAN_BITS	UINT64_C(0x7ff0000000000002)

typedef enum PromqlValueType
{
	PROMQL_VAL_NONE = 0,
	PROMQL_VAL_SCALAR,
	PROMQL_VAL_VECTOR,
	PROMQL_VAL_MATRIX,
	PROMQL_VAL_STRING
} PromqlValueType;

/* One label; a label set is sorted by name, names unique. */
typedef struct PromqlLabel
{
	const char *name;
	const char *value;
} PromqlLabel;

typedef struct PromqlLabels
{
	int			n;
	const PromqlLabel *v;
} PromqlLabels;

typedef enum PromqlMatchType
{
	PROMQL_MATCH_EQ,
	PROMQL_MATCH_NEQ,
	PROMQL_MATCH_RE,
	PROMQL_MATCH_NRE
} PromqlMatchType;

typedef struct PromqlMatcher
{
	PromqlMatchType type;
	const char *name;
	const char *value;
	AlloyRegex *rx;			/* compiled for RE/NRE */
} PromqlMatcher;

/* Does a label value (NULL or "" for a missing label) satisfy m? */
extern bool promql_matcher_matches(const PromqlMatcher *m, const char *value);

/* Token / operator codes used in the AST. */
typedef enum PromqlOp
{
	PROMQL_OP_NONE = 0,
	/* binary, by ascending precedence */
	PROMQL_OP_LOR,
	PROMQL_OP_LAND,
	PROMQL_OP_LUNLESS,
	PROMQL_OP_EQLC,
	PROMQL_OP_NEQ,
	PROMQL_OP_LTE,
	PROMQL_OP_LSS,
	PROMQL_OP_GTE,
	PROMQL_OP_GTR,
	PROMQL_OP_ADD,
	PROMQL_OP_SUB,
	PROMQL_OP_MUL,
	PROMQL_OP_DIV,
	PROMQL_OP_MOD,
	PROMQL_OP_ATAN2,
	PROMQL_OP_POW,
	/* aggregations */
	PROMQL_AGG_SUM,
	PROMQL_AGG_AVG,
	PROMQL_AGG_COUNT,
	PROMQL_AGG_MIN,
	PROMQL_AGG_MAX,
	PROMQL_AGG_GROUP,
	PROMQL_AGG_STDDEV,
	PROMQL_AGG_STDVAR,
	PROMQL_AGG_TOPK,
	PROMQL_AGG_BOTTOMK,
	PROMQL_AGG_COUNT_VALUES,
	PROMQL_AGG_QUANTILE
} PromqlOp;

extern const char *promql_op_name(PromqlOp op);

typedef enum PromqlNodeType
{
	PROMQL_NODE_NUMBER,
	PROMQL_NODE_STRING,
	PROMQL_NODE_VECTOR_SELECTOR,
	PROMQL_NODE_MATRIX_SELECTOR,
	PROMQL_NODE_SUBQUERY,
	PROMQL_NODE_CALL,
	PROMQL_NODE_AGGREGATE,
	PROMQL_NODE_BINARY,
	PROMQL_NODE_UNARY,
	PROMQL_NODE_PAREN
} PromqlNodeType;

typedef enum PromqlAtKind
{
	PROMQL_AT_NONE = 0,
	PROMQL_AT_TIME,				/* @ <timestamp> */
	PROMQL_AT_START,			/* @ start() */
	PROMQL_AT_END				/* @ end() */
} PromqlAtKind;

typedef enum PromqlCard
{
	PROMQL_CARD_ONE_TO_ONE,
	PROMQL_CARD_MANY_TO_ONE,	/* group_left */
	PROMQL_CARD_ONE_TO_MANY,	/* group_right */
	PROMQL_CARD_MANY_TO_MANY	/* set operators */
} PromqlCard;

struct PromqlFunction;
struct PromqlSeriesSet;

typedef struct PromqlNode PromqlNode;

/*
 * One AST node.  A flat struct: each node type uses the fields its comment
 * names; the rest stay zero.
 */
struct PromqlNode
{
	PromqlNodeType type;
	int			pos_start;		/* byte offsets into the query text */
	int			pos_end;

	/* NUMBER */
	double		number;
	/* STRING */
	const char *str;

	/* VECTOR_SELECTOR (MATRIX_SELECTOR and SUBQUERY use offset/at too) */
	const char *metric;			/* name given before the braces, or NULL */
	PromqlMatcher *matchers;
	int			nmatchers;
	int64_t		offset_ms;
	bool		has_offset;
	PromqlAtKind at_kind;
	int64_t		at_ms;
	/* filled by the planner: the series this selector reads */
	struct PromqlSeriesSet *series;
	int64_t		plan_mint;
	int64_t		plan_maxt;
	/* SUBQUERY: evaluator's cache of inner steps (reset by each evaluation) */
	void	   *eval_cache;

	/* MATRIX_SELECTOR (expr = vector selector) and SUBQUERY */
	int64_t		range_ms;
	int64_t		step_ms;		/* SUBQUERY: 0 means the default */

	/* SUBQUERY, PAREN, UNARY (op = ADD/SUB), AGGREGATE operand */
	PromqlNode *expr;

	/* CALL */
	const struct PromqlFunction *func;
	PromqlNode **args;
	int			nargs;

	/* AGGREGATE, BINARY, UNARY */
	PromqlOp	op;
	PromqlNode *param;			/* AGGREGATE: topk's k, quantile's q, ... */
	const char **grouping;		/* AGGREGATE by/without, BINARY on/ignoring */
	int			ngrouping;
	bool		without;		/* AGGREGATE */

	/* BINARY */
	PromqlNode *lhs;
	PromqlNode *rhs;
	bool		return_bool;
	bool		has_matching;	/* on/ignoring/group_x given (or set op) */
	PromqlCard	card;
	bool		on;				/* on(...) rather than ignoring(...) */
	const char **include;		/* group_left/right labels */
	int			ninclude;
};

/* The static type of an expression, as Prometheus's type checker sees it. */
extern PromqlValueType promql_node_type(const PromqlNode *n);
extern const char *promql_value_type_name(PromqlValueType t);

/*
 * Parse a query.  Returns NULL on error with *err set to Prometheus's
 * message ("parse error at char N: ..." or "1:N: parse error: ...").
 */
extern PromqlNode *promql_parse(AlloyArena *arena, const char *query, size_t len,
								const char **err);

/*
 * Which Prometheus the engine imitates where 2.x and 3.x differ: 2 (the
 * default; v2.42) or 3 (left-open range and lookback windows, '.' matching
 * newlines in regexes).
 */
#define PROMQL_COMPAT_V2	2
#define PROMQL_COMPAT_V3	3

extern PromqlNode *promql_parse_compat(AlloyArena *arena, const char *query, size_t len,
									   int compat, const char **err);

/* Parse a duration such as 1h30m (Prometheus's model.ParseDuration). */
extern bool promql_parse_duration(const char *s, size_t len, int64_t *ms);

/* Prometheus's textual form of an expression (for explain and tests). */
extern char *promql_node_string(AlloyArena *arena, const PromqlNode *n);

/* ---- results ---- */

typedef struct PromqlSample
{
	PromqlLabels labels;
	int64_t		t;
	double		v;
} PromqlSample;

typedef struct PromqlVector
{
	int			n;
	int			cap;
	PromqlSample *s;
} PromqlVector;

typedef struct PromqlSeriesOut
{
	PromqlLabels labels;
	int			n;
	int			cap;
	int64_t    *t;
	double	   *v;
} PromqlSeriesOut;

typedef struct PromqlMatrix
{
	int			n;
	int			cap;
	PromqlSeriesOut *s;
} PromqlMatrix;

typedef struct PromqlResult
{
	PromqlValueType type;
	double		scalar;			/* SCALAR */
	int64_t		t;				/* SCALAR/STRING timestamp */
	const char *str;			/* STRING */
	PromqlVector vector;		/* VECTOR */
	PromqlMatrix matrix;		/* MATRIX (also range query results) */
} PromqlResult;

struct PromqlStorage;

typedef struct PromqlEngineOpts
{
	int64_t		lookback_ms;	/* default 5 minutes */
	int64_t		max_samples;	/* 0 = unlimited */
	int64_t		default_subquery_step_ms;	/* 0 = 1 minute */
	int			compat;			/* PROMQL_COMPAT_V2 (0 means that too) or _V3 */
	/* called often in long loops; may longjmp (CHECK_FOR_INTERRUPTS) */
	void		(*interrupt) (void *arg);
	void	   *interrupt_arg;
} PromqlEngineOpts;

extern void promql_engine_opts_default(PromqlEngineOpts *opts);

/*
 * Evaluate an instant query at t (start == end, step 0) or a range query
 * (step > 0).  Range query results are always a matrix (Prometheus turns
 * scalars into a series with no labels).  Returns false with *err set.
 */
extern bool promql_eval(AlloyArena *arena, const PromqlEngineOpts *opts,
						struct PromqlStorage *storage, PromqlNode *expr,
						int64_t start_ms, int64_t end_ms, int64_t step_ms,
						PromqlResult *result, const char **err);

/*
 * The plan: every selector with the time range it reads (after offset, @,
 * lookback, range and subquery windows) and, once fetched, the series count.
 */
extern char *promql_explain(AlloyArena *arena, const PromqlEngineOpts *opts,
							struct PromqlStorage *storage, PromqlNode *expr,
							int64_t start_ms, int64_t end_ms, int64_t step_ms,
							const char **err);

/* Label helpers shared by the engine and its callers. */
extern const char *promql_labels_get(const PromqlLabels *ls, const char *name);
extern int	promql_labels_cmp(const PromqlLabels *a, const PromqlLabels *b);
extern char *promql_labels_string(AlloyArena *arena, const PromqlLabels *ls);
extern void promql_labels_sort(PromqlLabel *v, int n);

/*
 * Storage callbacks: how the PromQL evaluator reads series.
 *
 * The engine never knows where samples live.  The planner computes for every
 * selector the exact [mint, maxt] it needs and calls select() once per
 * selector; the callee returns the matching series with their samples in
 * that window (both ends included), timestamps ascending, stale markers kept
 * bit-exact.  The in-memory store of the tests and alloy's table AM both
 * implement this, so both run the same engine.
 */

#include "promql/promql.h"

typedef struct PromqlSeries
{
	PromqlLabels labels;		/* sorted, __name__ included */
	size_t		n;
	const int64_t *t;			/* milliseconds, ascending, unique */
	const double *v;
} PromqlSeries;

typedef struct PromqlSeriesSet
{
	size_t		n;
	PromqlSeries *series;
} PromqlSeriesSet;

typedef struct PromqlStorage
{
	void	   *ctx;

	/*
	 * Fill *out with every series matching all matchers (allocate from
	 * arena).  Return false and write errbuf on failure.  mint > maxt means
	 * no samples are needed but series still are (not used today).
	 */
	bool		(*select) (void *ctx, AlloyArena *arena,
						   const PromqlMatcher *matchers, int nmatchers,
						   int64_t mint, int64_t maxt,
						   PromqlSeriesSet *out, char *errbuf, size_t errlen);
} PromqlStorage;

#endif							/* ALLOY_PROMQL_PROMQL_H */
