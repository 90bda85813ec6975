/*
 * promql_labels.h: label-set helpers and a labels-keyed hash map used
 * throughout the evaluator (grouping, vector matching, range assembly).
 */
#ifndef PROMQL_LABELS_H
#define PROMQL_LABELS_H

#include "promql/promql.h"

extern bool promql_labels_equal(const PromqlLabels *a, const PromqlLabels *b);
extern uint64_t promql_labels_hash(const PromqlLabels *ls);

/* keep: only the listed labels; else all but the listed (and __name__ if drop_name) */
extern PromqlLabels promql_labels_filter(PromqlArena *arena, const PromqlLabels *ls,
										 const char *const *names, int n, bool keep,
										 bool drop_name);
extern PromqlLabels promql_labels_drop_name(PromqlArena *arena, const PromqlLabels *ls);

/* Set name=value; an empty or NULL value removes the label. */
extern PromqlLabels promql_labels_set(PromqlArena *arena, const PromqlLabels *ls,
									  const char *name, const char *value);

typedef struct PromqlLMap
{
	PromqlArena *arena;
	int			cap;
	int			n;
	uint64_t   *hashes;
	PromqlLabels *keys;
	int		   *vals;			/* -1 = empty slot */
	/* promql_lmap_get_at: the slot the pos-th element matched last time */
	int		   *hint;
	int			nhint;
} PromqlLMap;

extern void promql_lmap_init(PromqlLMap *m, PromqlArena *arena, int expected);
extern int	promql_lmap_get(const PromqlLMap *m, uint64_t h, const PromqlLabels *key);
extern void promql_lmap_put(PromqlLMap *m, uint64_t h, const PromqlLabels *key, int val);
extern int	promql_lmap_get_at(PromqlLMap *m, int pos, const PromqlLabels *key, uint64_t *h);
extern void promql_lmap_put_at(PromqlLMap *m, int pos, uint64_t h, const PromqlLabels *key,
							   int val);

#endif							/* PROMQL_LABELS_H */
