#ifndef ALLOY_PROMQL_PROMQL_INT_H
#define ALLOY_PROMQL_PROMQL_INT_H
/*
 * promql_int.h: declarations shared by the engine's own files (lexer,
 * parser, checker, printer, planner, evaluator, functions).  Callers use
 * promql.h.
 */

#include <setjmp.h>
#include <string.h>

#include "promql/promql.h"

/* ---- the function table (promql_func_table.c) ---- */

/* Implementation ids of the functions, switched on by promql_func_*.c. */
enum
{
	F_ABS, F_ABSENT, F_ABSENT_OVER_TIME, F_ACOS, F_ACOSH, F_ASIN, F_ASINH, F_ATAN, F_ATANH,
	F_AVG_OVER_TIME, F_CEIL, F_CHANGES, F_CLAMP, F_CLAMP_MAX, F_CLAMP_MIN, F_COS, F_COSH,
	F_COUNT_OVER_TIME, F_DAYS_IN_MONTH, F_DAY_OF_MONTH, F_DAY_OF_WEEK, F_DAY_OF_YEAR, F_DEG,
	F_DELTA, F_DERIV, F_EXP, F_FLOOR, F_HISTOGRAM_COUNT, F_HISTOGRAM_SUM, F_HISTOGRAM_FRACTION,
	F_HISTOGRAM_QUANTILE, F_HOLT_WINTERS, F_HOUR, F_IDELTA, F_INCREASE, F_IRATE,
	F_LABEL_REPLACE, F_LABEL_JOIN, F_LAST_OVER_TIME, F_LN, F_LOG10, F_LOG2, F_MAX_OVER_TIME,
	F_MIN_OVER_TIME, F_MINUTE, F_MONTH, F_PI, F_PREDICT_LINEAR, F_PRESENT_OVER_TIME,
	F_QUANTILE_OVER_TIME, F_RAD, F_RATE, F_RESETS, F_ROUND, F_SCALAR, F_SGN, F_SIN, F_SINH,
	F_SORT, F_SORT_DESC, F_SQRT, F_STDDEV_OVER_TIME, F_STDVAR_OVER_TIME, F_SUM_OVER_TIME,
	F_TAN, F_TANH, F_TIME, F_TIMESTAMP, F_VECTOR, F_YEAR,
	/* Prometheus 3 only */
	F_FIRST_OVER_TIME, F_MAD_OVER_TIME, F_TS_OF_FIRST_OVER_TIME, F_TS_OF_LAST_OVER_TIME,
	F_TS_OF_MAX_OVER_TIME, F_TS_OF_MIN_OVER_TIME, F_SORT_BY_LABEL, F_SORT_BY_LABEL_DESC
};

typedef struct PromqlFunction
{
	const char *name;
	PromqlValueType argtypes[5];
	int			nargtypes;
	int			variadic;		/* 0: exact; n > 0: up to n optional; -1: unlimited */
	PromqlValueType ret;
	int			id;
	int			only_compat;	/* 0: always; else only in this PROMQL_COMPAT_ mode */
} PromqlFunction;

extern const PromqlFunction *promql_function_lookup(const char *name, size_t len);

/* Functions whose result depends on the evaluation time even with @ args. */
extern bool promql_function_at_unsafe(const PromqlFunction *f);

/* ---- the parser (promql_lex.c, promql_literal.c, promql_parse.c, promql_check.c) ---- */

typedef enum TokType
{
	T_EOF,
	T_ERROR,
	T_IDENT,					/* identifier or keyword (kw field says which) */
	T_NUMBER,
	T_DURATION,
	T_STRING,
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_LBRACKET,
	T_RBRACKET,
	T_COMMA,
	T_COLON,
	T_AT,
	T_ASSIGN,					/* = */
	T_EQLC,						/* == */
	T_NEQ,
	T_LTE,
	T_LSS,
	T_GTE,
	T_GTR,
	T_EQL_REGEX,
	T_NEQ_REGEX,
	T_ADD,
	T_SUB,
	T_MUL,
	T_DIV,
	T_MOD,
	T_POW
} TokType;

typedef struct Token
{
	TokType		type;
	int			pos;
	int			len;
	bool		has_colon;		/* identifier contains ':' */
} Token;

typedef struct Parser
{
	AlloyArena *arena;
	const char *q;
	int			len;
	int			pos;			/* lexer position */
	int			brace_depth;
	bool		bracket_open;	/* inside [...]: ':' is the subquery colon;
								 * outside, it starts a name, as in
								 * Prometheus's lexer */
	int			depth;			/* bounds the tree depth, see PROMQL_MAX_DEPTH */
	int			compat;			/* PROMQL_COMPAT_V2 or _V3 */
	Token		tok;			/* current lookahead */
	bool		have_tok;
	const char *err;
	jmp_buf		jb;
} Parser;

/*
 * Deepest expression tree accepted.  Parsing, type checking and evaluation
 * recurse over the tree, and inside the server a stack overflow would take
 * the backend down; real queries nest a few dozen levels at most.
 */
#define PROMQL_MAX_DEPTH 1000

/* Fail at query offset pos: longjmps to promql_parse with p->err set. */
extern void promql_parse_fail(Parser *p, int pos, const char *fmt,...)
			__attribute__((format(printf, 3, 4), noreturn));

/* promql_lex.c: one token of lookahead */
extern Token *promql_lex_peek(Parser *p);
extern Token promql_lex_next(Parser *p);
extern bool promql_lex_is_word(Parser *p, const Token *t, const char *w);
extern const char *promql_lex_text(Parser *p, const Token *t);
extern void promql_lex_unexpected(Parser *p, const Token *t, const char *ctx,
								  const char *expected) __attribute__((noreturn));
extern Token promql_lex_expect(Parser *p, TokType type, const char *ctx, const char *what);
extern PromqlOp promql_lex_agg_op(Parser *p, const Token *t);
extern PromqlOp promql_lex_binary_op(Parser *p, const Token *t, int *prec);

/* promql_literal.c: values of number, duration and string tokens */
extern double promql_literal_number(Parser *p, const char *s, int len, int pos);
extern int64_t promql_literal_duration(Parser *p, const Token *t);
extern bool promql_literal_is_duration(Parser *p, const Token *t);
extern int64_t promql_literal_duration_ms(Parser *p, const Token *t);
extern const char *promql_literal_string(Parser *p, const Token *t);

/* promql_check.c: type check a parsed tree (fails through promql_parse_fail) */
extern void promql_check_ast(Parser *p, PromqlNode *n);

/* ---- evaluation state and values ---- */

/* A range of points of one series: a matrix selector window or subquery. */
typedef struct EvSeries
{
	PromqlLabels labels;
	int			n;
	const int64_t *t;
	const double *v;
} EvSeries;

typedef struct EvMatrix
{
	int			n;
	EvSeries   *s;
} EvMatrix;

/* The value of one node at one evaluation time. */
typedef struct EvValue
{
	PromqlValueType type;
	double		scalar;
	const char *str;
	PromqlVector vec;
	EvMatrix	mat;
} EvValue;

typedef struct PromqlEval
{
	AlloyArena *arena;			/* allocations of the current step */
	AlloyArena *qarena;		/* allocations that live for the whole query */
	const PromqlEngineOpts *opts;
	PromqlStorage *storage;
	int64_t		start;			/* query range; start == end for instant */
	int64_t		end;
	int64_t		interval;
	int64_t		lookback;
	bool		v3;				/* Prometheus 3 windows: (t - range, t] */
	int64_t		samples;		/* samples held by the current step */
	int64_t		max_samples;
	unsigned	ticks;
	const char *err;
	jmp_buf		jb;

	/*
	 * Evaluates a node at a time; set by promql_eval.c.  The node evaluators
	 * below it reach their operands through this, so evaluation's recursion
	 * does not make the files call each other.
	 */
	EvValue		(*eval_node) (struct PromqlEval *ev, PromqlNode *n, int64_t ts);
} PromqlEval;

/* The value of node n at time ts. */
static inline EvValue
promql_ev_eval(PromqlEval *ev, PromqlNode *n, int64_t ts)
{
	return ev->eval_node(ev, n, ts);
}

/* An empty instant vector. */
static inline EvValue
promql_vector_value(void)
{
	EvValue		r;

	memset(&r, 0, sizeof(r));
	r.type = PROMQL_VAL_VECTOR;
	return r;
}

/* A node without the parentheses around it. */
static inline PromqlNode *
promql_unwrap_paren(PromqlNode *n)
{
	while (n->type == PROMQL_NODE_PAREN)
		n = n->expr;
	return n;
}

/* Is v Prometheus's stale marker (one NaN bit pattern)? */
static inline bool
promql_is_stale(double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == PROMQL_STALE_NAN_BITS;
}

static inline bool
promql_op_is_comparison(PromqlOp op)
{
	return op >= PROMQL_OP_EQLC && op <= PROMQL_OP_GTR;
}

static inline bool
promql_op_is_set(PromqlOp op)
{
	return op == PROMQL_OP_LAND || op == PROMQL_OP_LOR || op == PROMQL_OP_LUNLESS;
}

/*
 * Timestamp arithmetic that saturates instead of overflowing: offsets,
 * ranges and @ times come from the query text and may be huge.
 */
static inline int64_t
promql_ts_sub(int64_t a, int64_t b)
{
	int64_t		r;

	if (__builtin_sub_overflow(a, b, &r))
		return b > 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/* ---- value helpers (promql_value.c) ---- */

extern void promql_ev_error(PromqlEval *ev, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));
extern void promql_ev_tick(PromqlEval *ev);
extern void promql_ev_count_samples(PromqlEval *ev, int64_t n);
extern void promql_vec_push(PromqlEval *ev, PromqlVector *v, PromqlLabels labels,
							int64_t t, double val);
extern void promql_check_unique_labels(PromqlEval *ev, const PromqlVector *v);
extern int64_t promql_at_time(PromqlEval *ev, const PromqlNode *n, int64_t ts);
extern PromqlLabels promql_labels_to_query_arena(PromqlEval *ev, const PromqlLabels *ls);

/* Go's sort order helpers for sort(), topk and friends. */
extern void promql_stable_sort(void *base, size_t n, size_t size,
							   int (*cmp) (const void *, const void *));

/* Prometheus's quantile over plain values (sorts vals in place). */
extern double promql_quantile(double q, double *vals, int n);

/* ---- planner (promql_plan.c) ---- */

typedef struct Planner
{
	PromqlEval *ev;
	bool		fetch;
	char	   *explain;
	size_t		explain_len;
} Planner;

extern void promql_plan_append(Planner *pl, const char *s);
extern void promql_plan_node(Planner *pl, PromqlNode *n, int64_t lo, int64_t hi);

/* ---- node evaluators ---- */

/* promql_select.c */
extern EvValue promql_eval_vector_selector(PromqlEval *ev, PromqlNode *n, int64_t ts);
extern EvValue promql_eval_matrix_selector(PromqlEval *ev, PromqlNode *n, int64_t ts);
extern EvValue promql_eval_subquery(PromqlEval *ev, PromqlNode *n, int64_t ts);

/* promql_binop.c, promql_aggr.c */
extern EvValue promql_eval_binary(PromqlEval *ev, PromqlNode *n, int64_t ts);
extern EvValue promql_eval_aggregate(PromqlEval *ev, PromqlNode *n, int64_t ts);

/* Evaluate a function call at ts (promql_func_call.c). */
extern EvValue promql_call(PromqlEval *ev, PromqlNode *call, int64_t ts);

/* ---- function implementations, by kind (promql_func_*.c) ---- */

extern EvValue promql_call_range(PromqlEval *ev, PromqlNode *call, int64_t ts, int argi);
extern EvValue promql_call_histogram_quantile(PromqlEval *ev, PromqlNode *call, int64_t ts);
extern EvValue promql_call_sort(PromqlEval *ev, PromqlNode *call, EvValue a, int64_t ts);
extern EvValue promql_call_label_replace(PromqlEval *ev, PromqlNode *call, EvValue a,
										 int64_t ts);
extern EvValue promql_call_label_join(PromqlEval *ev, PromqlNode *call, EvValue a,
									  int64_t ts);
extern PromqlLabels promql_absent_labels(PromqlEval *ev, PromqlNode *arg);
extern double promql_func_simple(int id, double v);
extern double promql_func_date(int id, double v);
extern double promql_go_min(double a, double b);
extern double promql_go_max(double a, double b);

/* ---- labels (promql_labels.c) ---- */
/*
 * Label-set helpers and a labels-keyed hash map used throughout the
 * evaluator (grouping, vector matching, range assembly).
 */

extern bool promql_labels_equal(const PromqlLabels *a, const PromqlLabels *b);
extern uint64_t promql_labels_hash(const PromqlLabels *ls);

/* keep: only the listed labels; else all but the listed (and __name__ if drop_name) */
extern PromqlLabels promql_labels_filter(AlloyArena *arena, const PromqlLabels *ls,
										 const char *const *names, int n, bool keep,
										 bool drop_name);
extern PromqlLabels promql_labels_drop_name(AlloyArena *arena, const PromqlLabels *ls);

/* Set name=value; an empty or NULL value removes the label. */
extern PromqlLabels promql_labels_set(AlloyArena *arena, const PromqlLabels *ls,
									  const char *name, const char *value);

typedef struct PromqlLMap
{
	AlloyArena *arena;
	int			cap;
	int			n;
	uint64_t   *hashes;
	PromqlLabels *keys;
	int		   *vals;			/* -1 = empty slot */
	/* promql_lmap_get_at: the slot the pos-th element matched last time */
	int		   *hint;
	int			nhint;
} PromqlLMap;

extern void promql_lmap_init(PromqlLMap *m, AlloyArena *arena, int expected);
extern int	promql_lmap_get(const PromqlLMap *m, uint64_t h, const PromqlLabels *key);
extern void promql_lmap_put(PromqlLMap *m, uint64_t h, const PromqlLabels *key, int val);
extern int	promql_lmap_get_at(PromqlLMap *m, int pos, const PromqlLabels *key, uint64_t *h);
extern void promql_lmap_put_at(PromqlLMap *m, int pos, uint64_t h, const PromqlLabels *key,
							   int val);

#endif							/* ALLOY_PROMQL_PROMQL_INT_H */
