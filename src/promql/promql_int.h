#ifndef ALLOY_PROMQL_PROMQL_INT_H
#define ALLOY_PROMQL_PROMQL_INT_H
/*
 * promql_internal.h: declarations shared by the engine's own files
 * (parser, planner, evaluator, functions).  Callers use promql.h.
 */

#include "promql/promql.h"

/* Function implementations, indexed by this id (see promql_functions.c). */
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


#include <setjmp.h>


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
} PromqlEval;

extern void promql_ev_error(PromqlEval *ev, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));
extern void promql_ev_tick(PromqlEval *ev);
extern void promql_vec_push(PromqlEval *ev, PromqlVector *v, PromqlLabels labels,
							int64_t t, double val);
extern EvValue promql_ev_eval(PromqlEval *ev, PromqlNode *n, int64_t ts);

/* Evaluate a function call at ts (promql_functions.c). */
extern EvValue promql_call(PromqlEval *ev, PromqlNode *call, int64_t ts);

/* Go's sort order helpers for sort(), topk and friends. */
extern void promql_stable_sort(void *base, size_t n, size_t size,
							   int (*cmp) (const void *, const void *));

/* Prometheus's quantile over plain values (sorts vals in place). */
extern double promql_quantile(double q, double *vals, int n);

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

/* ---- from src/promql/promql_labels.h ---- */
/*
 * promql_labels.h: label-set helpers and a labels-keyed hash map used
 * throughout the evaluator (grouping, vector matching, range assembly).
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
