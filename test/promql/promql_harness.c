/*
 * promql_harness.c: run Prometheus's PromQL test scripts against alloy's
 * engine without a server.
 *
 * The scripts (load / clear / eval / eval_ordered / eval_fail) are read from
 * the shared folder, never copied into the repository.  Samples go into an
 * in-memory store implementing the PromqlStorage callbacks; each eval runs
 * the way Prometheus 2.42's promql/test.go runs it: the instant query, the
 * same query as a range query around the time (comparing the middle step),
 * and, when the expression allows, the variants with @ pinned to the
 * evaluation time evaluated at other times.  Values compare with the same
 * relative tolerance (1e-6, NaN equals NaN).
 *
 * Usage: promql_harness [--known-failures FILE] [--version NAME] [-v]
 *                       [--cross-check] [--compat 2|3] PATH...
 * --compat 3 evaluates with Prometheus 3 semantics (for the latest scripts,
 * whose format — eval range, expect lines — the harness also reads).
 * PATH is a .test file or a directory of them.  Prints each failure as
 * file:line with expected and got, then "NAME: N passed, M failed, K skipped".
 * With --known-failures (lines "file.test:LINE"), listed failures count as
 * skipped, the exit status is non-zero only for failures not listed, and
 * listed cases that now pass are reported so the list can shrink.
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "promql/promql.h"
#include "promql/promql_int.h"
#include "promql/promql.h"

#define EPSILON 0.000001
#define MIN_NORMAL 2.2250738585072014e-308

/* ------------------------------------------------------------ the store */

typedef struct MemSeries
{
	PromqlLabel *labels;
	int			nlabels;
	int64_t    *t;
	double	   *v;
	size_t		n,
				cap;
} MemSeries;

typedef struct MemStore
{
	MemSeries  *series;
	size_t		n,
				cap;
} MemStore;

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	char	   *p = xmalloc(strlen(s) + 1);

	strcpy(p, s);
	return p;
}

static void
store_clear(MemStore *st)
{
	for (size_t i = 0; i < st->n; i++)
	{
		for (int j = 0; j < st->series[i].nlabels; j++)
		{
			free((void *) st->series[i].labels[j].name);
			free((void *) st->series[i].labels[j].value);
		}
		free(st->series[i].labels);
		free(st->series[i].t);
		free(st->series[i].v);
	}
	free(st->series);
	memset(st, 0, sizeof(*st));
}

static MemSeries *
store_series(MemStore *st, const PromqlLabels *ls)
{
	MemSeries  *s;

	for (size_t i = 0; i < st->n; i++)
	{
		PromqlLabels l = {st->series[i].nlabels, st->series[i].labels};

		if (promql_labels_cmp(&l, ls) == 0)
			return &st->series[i];
	}
	if (st->n == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 16;
		st->series = realloc(st->series, sizeof(MemSeries) * st->cap);
	}
	s = &st->series[st->n++];
	memset(s, 0, sizeof(*s));
	s->nlabels = ls->n;
	s->labels = xmalloc(sizeof(PromqlLabel) * (ls->n + 1));
	for (int i = 0; i < ls->n; i++)
	{
		s->labels[i].name = xstrdup(ls->v[i].name);
		s->labels[i].value = xstrdup(ls->v[i].value);
	}
	return s;
}

/* Append keeping timestamps sorted and unique (a later load overwrites). */
static void
store_add(MemSeries *s, int64_t t, double v)
{
	size_t		i;

	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 64;
		s->t = realloc(s->t, sizeof(int64_t) * s->cap);
		s->v = realloc(s->v, sizeof(double) * s->cap);
	}
	if (s->n == 0 || s->t[s->n - 1] < t)
	{
		s->t[s->n] = t;
		s->v[s->n] = v;
		s->n++;
		return;
	}
	for (i = 0; i < s->n && s->t[i] < t; i++)
		;
	if (i < s->n && s->t[i] == t)
	{
		s->v[i] = v;
		return;
	}
	memmove(s->t + i + 1, s->t + i, sizeof(int64_t) * (s->n - i));
	memmove(s->v + i + 1, s->v + i, sizeof(double) * (s->n - i));
	s->t[i] = t;
	s->v[i] = v;
	s->n++;
}

static bool
mem_select(void *ctx, AlloyArena *arena, const PromqlMatcher *matchers, int nmatchers,
		   int64_t mint, int64_t maxt, PromqlSeriesSet *out, char *errbuf, size_t errlen)
{
	MemStore   *st = ctx;

	(void) errbuf;
	(void) errlen;
	out->n = 0;
	out->series = alloy_arena_alloc(arena, sizeof(PromqlSeries) * (st->n + 1));
	for (size_t i = 0; i < st->n; i++)
	{
		MemSeries  *s = &st->series[i];
		PromqlLabels ls = {s->nlabels, s->labels};
		bool		ok = true;
		size_t		a,
					b;

		for (int j = 0; j < nmatchers && ok; j++)
			ok = promql_matcher_matches(&matchers[j], promql_labels_get(&ls, matchers[j].name));
		if (!ok)
			continue;
		for (a = 0; a < s->n && s->t[a] < mint; a++)
			;
		for (b = a; b < s->n && s->t[b] <= maxt; b++)
			;
		out->series[out->n].labels = ls;
		out->series[out->n].n = b - a;
		out->series[out->n].t = s->t + a;
		out->series[out->n].v = s->v + a;
		out->n++;
	}
	/* storage returns series sorted by labels, as Prometheus's does */
	for (size_t i = 1; i < out->n; i++)
		for (size_t j = i; j > 0 && promql_labels_cmp(&out->series[j].labels, &out->series[j - 1].labels) < 0; j--)
		{
			PromqlSeries t = out->series[j];

			out->series[j] = out->series[j - 1];
			out->series[j - 1] = t;
		}
	return true;
}

/* --------------------------------------------------- series descriptions */

typedef struct SeqValue
{
	bool		omitted;
	double		v;
} SeqValue;

typedef struct SeriesDesc
{
	PromqlLabel labels[64];
	int			nlabels;
	SeqValue   *vals;
	int			nvals,
				capvals;
} SeriesDesc;

static void
sd_push(SeriesDesc *sd, bool omitted, double v)
{
	if (sd->nvals == sd->capvals)
	{
		sd->capvals = sd->capvals ? sd->capvals * 2 : 16;
		sd->vals = realloc(sd->vals, sizeof(SeqValue) * sd->capvals);
	}
	sd->vals[sd->nvals].omitted = omitted;
	sd->vals[sd->nvals].v = v;
	sd->nvals++;
}

static void
skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static double
stale_nan(void)
{
	uint64_t	bits = PROMQL_STALE_NAN_BITS;
	double		d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* A number as the series-description lexer reads it (no hex). */
static bool
parse_seq_number(const char **p, double *out)
{
	const char *s = *p;
	char	   *end;
	double		sign = 1;

	if (*s == '+' || *s == '-')
	{
		sign = *s == '-' ? -1 : 1;
		s++;
	}
	if (strncasecmp(s, "inf", 3) == 0 && !isalnum((unsigned char) s[3]))
	{
		*out = sign * INFINITY;
		*p = s + 3;
		return true;
	}
	if (strncasecmp(s, "nan", 3) == 0 && !isalnum((unsigned char) s[3]))
	{
		*out = NAN;
		*p = s + 3;
		return true;
	}
	if (!(isdigit((unsigned char) *s) || (*s == '.' && isdigit((unsigned char) s[1]))))
		return false;
	/* digits [. digits] [e [+-] digits], stop before 'x' */
	end = (char *) s;
	while (isdigit((unsigned char) *end))
		end++;
	if (*end == '.')
	{
		end++;
		while (isdigit((unsigned char) *end))
			end++;
	}
	if (*end == 'e' || *end == 'E')
	{
		char	   *e = end + 1;

		if (*e == '+' || *e == '-')
			e++;
		if (isdigit((unsigned char) *e))
		{
			while (isdigit((unsigned char) *e))
				e++;
			end = e;
		}
	}
	{
		char		buf[64];
		size_t		n = (size_t) (end - s);

		if (n >= sizeof(buf))
			return false;
		memcpy(buf, s, n);
		buf[n] = '\0';
		*out = sign * strtod(buf, NULL);
	}
	*p = end;
	return true;
}

static bool
parse_quoted(const char **p, char **out)
{
	char		q = **p;
	const char *s = *p + 1;
	char	   *buf = xmalloc(strlen(s) + 1);
	size_t		o = 0;

	while (*s && *s != q)
	{
		if (*s == '\\' && s[1])
		{
			s++;
			switch (*s)
			{
				case 'n':
					buf[o++] = '\n';
					break;
				case 't':
					buf[o++] = '\t';
					break;
				case 'r':
					buf[o++] = '\r';
					break;
				default:
					buf[o++] = *s;
			}
			s++;
			continue;
		}
		buf[o++] = *s++;
	}
	if (*s != q)
	{
		free(buf);
		return false;
	}
	buf[o] = '\0';
	*out = buf;
	*p = s + 1;
	return true;
}

/* metric{l="v",...} followed by values (parser.ParseSeriesDesc). */
static bool
parse_series_desc(const char *line, SeriesDesc *sd, bool values)
{
	const char *p = line;
	bool		braces = false;

	memset(sd, 0, sizeof(*sd));
	skip_ws(&p);
	if (isalpha((unsigned char) *p) || *p == '_' || *p == ':')
	{
		const char *st = p;

		while (isalnum((unsigned char) *p) || *p == '_' || *p == ':')
			p++;
		sd->labels[sd->nlabels].name = xstrdup("__name__");
		sd->labels[sd->nlabels].value = strndup(st, p - st);
		sd->nlabels++;
	}
	if (*p == '{')
	{
		p++;
		braces = true;
		for (;;)
		{
			const char *st;
			char	   *val;

			skip_ws(&p);
			if (*p == '}')
			{
				p++;
				break;
			}
			st = p;
			while (isalnum((unsigned char) *p) || *p == '_')
				p++;
			if (p == st || sd->nlabels >= 63)
				return false;
			sd->labels[sd->nlabels].name = strndup(st, p - st);
			skip_ws(&p);
			if (*p != '=')
				return false;
			p++;
			skip_ws(&p);
			if (*p != '"' && *p != '\'' && *p != '`')
				return false;
			if (!parse_quoted(&p, &val))
				return false;
			sd->labels[sd->nlabels].value = val;
			sd->nlabels++;
			skip_ws(&p);
			if (*p == ',')
				p++;
		}
	}
	if (sd->nlabels == 0 && !braces)
		return false;
	promql_labels_sort(sd->labels, sd->nlabels);
	if (!values)
		return true;
	for (;;)
	{
		double		a,
					b = 0;
		int64_t		times;

		skip_ws(&p);
		if (!*p)
			break;
		if (*p == '_')
		{
			p++;
			if (*p == 'x')
			{
				p++;
				times = strtoll(p, (char **) &p, 10);
				for (int64_t i = 0; i < times; i++)
					sd_push(sd, true, 0);
			}
			else
				sd_push(sd, true, 0);
			continue;
		}
		if (strncmp(p, "stale", 5) == 0)
		{
			p += 5;
			sd_push(sd, false, stale_nan());
			continue;
		}
		if (!parse_seq_number(&p, &a))
			return false;
		if (*p == 'x')
		{
			p++;
			times = strtoll(p, (char **) &p, 10);
			for (int64_t i = 0; i <= times; i++)
				sd_push(sd, false, a);
			continue;
		}
		if (*p == '+' || *p == '-')
		{
			if (!parse_seq_number(&p, &b))
				return false;
			if (*p != 'x')
				return false;
			p++;
			times = strtoll(p, (char **) &p, 10);
			sd_push(sd, false, a);
			for (int64_t i = 1; i <= times; i++)
			{
				a += b;
				sd_push(sd, false, a);
			}
			continue;
		}
		sd_push(sd, false, a);
	}
	return true;
}

static void
sd_free(SeriesDesc *sd)
{
	for (int i = 0; i < sd->nlabels; i++)
	{
		free((void *) sd->labels[i].name);
		free((void *) sd->labels[i].value);
	}
	free(sd->vals);
}

/* ------------------------------------------------------------ comparing */

static bool
almost_equal(double a, double b)
{
	double		diff;

	if (isnan(a) && isnan(b))
		return true;
	if (a == b)
		return true;
	diff = fabs(a - b);
	if (a == 0 || b == 0 || diff < MIN_NORMAL)
		return diff < EPSILON * MIN_NORMAL;
	return diff / (fabs(a) + fabs(b)) < EPSILON;
}

typedef struct Expected
{
	bool		is_string;		/* latest format: expect string "..." */
	const char *string_value;
	bool		scalar;
	double		scalar_value;
	int			n;
	PromqlLabels *labels;
	double	   *vals;
	bool	   *seen;
} Expected;

static char msgbuf[8192];

static void
msg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msgbuf, sizeof(msgbuf), fmt, ap);
	va_end(ap);
}

static char *
fmt_val(double v)
{
	static char bufs[4][64];
	static int	k;
	char	   *b = bufs[k++ & 3];

	snprintf(b, 64, "%.17g", v);
	return b;
}

/* compareResult of promql/test.go */
static bool
compare_vector(AlloyArena *arena, Expected *e, const PromqlSample *s, int n, bool ordered)
{
	for (int i = 0; i < e->n; i++)
		e->seen[i] = false;
	for (int i = 0; i < n; i++)
	{
		int			k = -1;

		for (int j = 0; j < e->n; j++)
			if (promql_labels_cmp(&e->labels[j], &s[i].labels) == 0)
			{
				k = j;
				break;
			}
		if (k < 0)
		{
			msg("unexpected metric %s in result", promql_labels_string(arena, &s[i].labels));
			return false;
		}
		if (ordered && k != i)
		{
			msg("expected metric %s with %s at position %d but was at %d",
				promql_labels_string(arena, &s[i].labels), fmt_val(e->vals[k]), k + 1, i + 1);
			return false;
		}
		if (!almost_equal(e->vals[k], s[i].v))
		{
			msg("expected %s for %s but got %s", fmt_val(e->vals[k]),
				promql_labels_string(arena, &s[i].labels), fmt_val(s[i].v));
			return false;
		}
		e->seen[k] = true;
	}
	for (int j = 0; j < e->n; j++)
		if (!e->seen[j])
		{
			msg("expected metric %s with %s not found", promql_labels_string(arena, &e->labels[j]),
				fmt_val(e->vals[j]));
			return false;
		}
	return true;
}

static bool
compare_result(AlloyArena *arena, Expected *e, const PromqlResult *r, bool ordered)
{
	switch (r->type)
	{
		case PROMQL_VAL_MATRIX:
			msg("received range result on instant evaluation");
			return false;
		case PROMQL_VAL_VECTOR:
			return compare_vector(arena, e, r->vector.s, r->vector.n, ordered);
		case PROMQL_VAL_SCALAR:
			if (!e->scalar)
			{
				if (e->n == 0)
				{
					msg("expected no result but got scalar %s", fmt_val(r->scalar));
					return false;
				}
				msg("expected vector but got scalar %s", fmt_val(r->scalar));
				return false;
			}
			if (!almost_equal(e->scalar_value, r->scalar))
			{
				msg("expected Scalar %s but got %s", fmt_val(e->scalar_value), fmt_val(r->scalar));
				return false;
			}
			return true;
		case PROMQL_VAL_STRING:
			if (e->is_string && strcmp(e->string_value, r->str) == 0)
				return true;
			msg("unexpected string result \"%s\"", r->str);
			return false;
		default:
			msg("unexpected result type %s", promql_value_type_name(r->type));
			return false;
	}
}

/* -------------------------------------------------------------- running */

typedef struct Known
{
	char	  **keys;
	bool	   *hit;
	int			n;
} Known;

typedef struct Totals
{
	int			passed,
				failed,
				skipped,
				unexpected;
} Totals;

static bool verbose;
static int	compat = PROMQL_COMPAT_V2;

static bool
is_known(Known *k, const char *key)
{
	for (int i = 0; i < k->n; i++)
		if (strcmp(k->keys[i], key) == 0)
		{
			k->hit[i] = true;
			return true;
		}
	return false;
}

/* Pin @ to ts on every selector and subquery not inside a subquery. */
static bool
set_at(PromqlNode *n, int64_t ts, bool *unsafe)
{
	if (!n)
		return true;
	switch (n->type)
	{
		case PROMQL_NODE_VECTOR_SELECTOR:
			if (n->at_kind != PROMQL_AT_TIME)
			{
				n->at_kind = PROMQL_AT_TIME;
				n->at_ms = ts;
			}
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			set_at(n->expr, ts, unsafe);
			break;
		case PROMQL_NODE_SUBQUERY:
			if (n->at_kind != PROMQL_AT_TIME)
			{
				n->at_kind = PROMQL_AT_TIME;
				n->at_ms = ts;
			}
			/* the subquery's children keep their own times */
			break;
		case PROMQL_NODE_CALL:
			if (promql_function_at_unsafe(n->func))
				*unsafe = true;
			for (int i = 0; i < n->nargs; i++)
				set_at(n->args[i], ts, unsafe);
			break;
		case PROMQL_NODE_AGGREGATE:
			set_at(n->param, ts, unsafe);
			set_at(n->expr, ts, unsafe);
			break;
		case PROMQL_NODE_BINARY:
			set_at(n->lhs, ts, unsafe);
			set_at(n->rhs, ts, unsafe);
			break;
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			set_at(n->expr, ts, unsafe);
			break;
		default:
			break;
	}
	return true;
}

static bool
find_unsafe(const PromqlNode *n)
{
	if (!n)
		return false;
	switch (n->type)
	{
		case PROMQL_NODE_CALL:
			if (promql_function_at_unsafe(n->func))
				return true;
			for (int i = 0; i < n->nargs; i++)
				if (find_unsafe(n->args[i]))
					return true;
			return false;
		case PROMQL_NODE_AGGREGATE:
			return find_unsafe(n->param) || find_unsafe(n->expr);
		case PROMQL_NODE_BINARY:
			return find_unsafe(n->lhs) || find_unsafe(n->rhs);
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			return find_unsafe(n->expr);
		case PROMQL_NODE_SUBQUERY:
			/* Prometheus stops looking inside a subquery it pinned */
			return false;
		default:
			return false;
	}
}

/*
 * One query the way test.go checks it: instant, then range mode comparing
 * the step at ts.  Returns true on success; msgbuf explains a failure.
 */
static bool
run_one(MemStore *st, const char *expr, bool pin_at, int64_t pin_ts, int64_t ts,
		bool fail, bool ordered, Expected *e)
{
	AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);
	PromqlStorage storage = {st, mem_select};
	PromqlEngineOpts opts;
	PromqlResult res,
				rres;
	const char *err;
	PromqlNode *n;
	bool		ok = false;

	promql_engine_opts_default(&opts);
	opts.max_samples = 10000;
	opts.default_subquery_step_ms = 60000;
	opts.compat = compat;
	n = promql_parse_compat(arena, expr, strlen(expr), compat, &err);
	if (!n)
	{
		msg("parse error: %s", err);
		goto out;
	}
	if (pin_at)
	{
		bool		unsafe = false;

		set_at(n, pin_ts, &unsafe);
	}
	if (!promql_eval(arena, &opts, &storage, n, ts, ts, 0, &res, &err))
	{
		if (fail)
			ok = true;
		else
			msg("error evaluating query: %s", err);
		goto out;
	}
	if (fail)
	{
		msg("expected error evaluating query but got none");
		goto out;
	}
	if (!compare_result(arena, e, &res, ordered))
		goto out;
	if (e->is_string)
	{
		ok = true;				/* strings have no range form */
		goto out;
	}

	/* range mode: [ts-1m, ts+1m] step 1m, compare the middle step */
	n = promql_parse_compat(arena, expr, strlen(expr), compat, &err);
	if (pin_at)
	{
		bool		unsafe = false;

		set_at(n, pin_ts, &unsafe);
	}
	if (!promql_eval(arena, &opts, &storage, n, ts - 60000, ts + 60000, 60000, &rres, &err))
	{
		msg("error evaluating query in range mode: %s", err);
		goto out;
	}
	if (ordered)
	{
		ok = true;
		goto out;
	}
	{
		PromqlSample *v = alloy_arena_alloc(arena, sizeof(PromqlSample) * (rres.matrix.n + 1));
		int			nv = 0;

		for (int i = 0; i < rres.matrix.n; i++)
			for (int j = 0; j < rres.matrix.s[i].n; j++)
				if (rres.matrix.s[i].t[j] == ts)
				{
					v[nv].labels = rres.matrix.s[i].labels;
					v[nv].v = rres.matrix.s[i].v[j];
					nv++;
					break;
				}
		if (res.type == PROMQL_VAL_SCALAR)
		{
			PromqlResult sr;

			memset(&sr, 0, sizeof(sr));
			sr.type = PROMQL_VAL_SCALAR;
			sr.scalar = nv > 0 ? v[0].v : NAN;
			if (!compare_result(arena, e, &sr, false))
			{
				memmove(msgbuf + 12, msgbuf, strlen(msgbuf) + 1);
				memcpy(msgbuf, "range mode: ", 12);
				goto out;
			}
		}
		else if (!compare_vector(arena, e, v, nv, false))
		{
			memmove(msgbuf + 12, msgbuf, strlen(msgbuf) + 1);
			memcpy(msgbuf, "range mode: ", 12);
			goto out;
		}
	}
	ok = true;
out:
	alloy_arena_destroy(arena);
	return ok;
}

/*
 * --cross-check: the range query over [ts-10m, ts+10m] step 1m must give at
 * every step exactly what the instant query gives at that time.  Checks the
 * evaluator's per-query caches (subqueries) against fresh evaluations.
 */
static bool cross_check;

static bool
run_cross_check(MemStore *st, const char *expr, int64_t ts)
{
	AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);
	PromqlStorage storage = {st, mem_select};
	PromqlEngineOpts opts;
	PromqlResult rres;
	const char *err;
	PromqlNode *n;
	bool		ok = true;

	promql_engine_opts_default(&opts);
	opts.compat = compat;
	n = promql_parse_compat(arena, expr, strlen(expr), compat, &err);
	if (!n || promql_node_type(n) == PROMQL_VAL_STRING || promql_node_type(n) == PROMQL_VAL_MATRIX ||
		!promql_eval(arena, &opts, &storage, n, ts - 600000, ts + 600000, 60000, &rres, &err))
	{
		alloy_arena_destroy(arena);
		return true;
	}
	for (int64_t t = ts - 600000; t <= ts + 600000 && ok; t += 60000)
	{
		PromqlResult ires;
		PromqlNode *m = promql_parse_compat(arena, expr, strlen(expr), compat, &err);
		int			found = 0;

		if (!promql_eval(arena, &opts, &storage, m, t, t, 0, &ires, &err))
			continue;			/* errors may depend on the time range */
		for (int i = 0; i < rres.matrix.n; i++)
			for (int j = 0; j < rres.matrix.s[i].n; j++)
				if (rres.matrix.s[i].t[j] == t)
				{
					double		want = NAN;
					bool		have = false;

					found++;
					if (ires.type == PROMQL_VAL_SCALAR)
					{
						want = ires.scalar;
						have = true;
					}
					else
						for (int k = 0; k < ires.vector.n; k++)
							if (promql_labels_cmp(&ires.vector.s[k].labels, &rres.matrix.s[i].labels) == 0)
							{
								want = ires.vector.s[k].v;
								have = true;
							}
					if (!have || !almost_equal(want, rres.matrix.s[i].v[j]))
					{
						msg("cross-check at %lld: range gives %s for %s, instant %s", (long long) t,
							fmt_val(rres.matrix.s[i].v[j]), promql_labels_string(arena, &rres.matrix.s[i].labels),
							have ? fmt_val(want) : "nothing");
						ok = false;
					}
				}
		if (ok && found != (ires.type == PROMQL_VAL_SCALAR ? 1 : ires.vector.n))
		{
			msg("cross-check at %lld: range has %d samples, instant %d", (long long) t, found,
				ires.type == PROMQL_VAL_SCALAR ? 1 : ires.vector.n);
			ok = false;
		}
	}
	alloy_arena_destroy(arena);
	return ok;
}

static bool
run_eval(MemStore *st, const char *expr, int64_t ts, bool fail, bool ordered, Expected *e)
{
	AlloyArena *arena;
	PromqlNode *n;
	const char *err;
	bool		unsafe;

	if (!run_one(st, expr, false, 0, ts, fail, ordered, e))
		return false;
	if (cross_check && !fail && !run_cross_check(st, expr, ts))
		return false;
	/* atModifierTestCases */
	arena = alloy_arena_create(&alloy_malloc_hooks);
	n = promql_parse_compat(arena, expr, strlen(expr), compat, &err);
	unsafe = n ? find_unsafe(n) : true;
	alloy_arena_destroy(arena);
	if (!unsafe)
	{
		int64_t		times[5];
		int			nt;

		if (ts == 0)
		{
			times[0] = -1000;
			times[1] = 0;
			times[2] = 1000;
			nt = 3;
		}
		else
		{
			times[0] = -10 * ts;
			times[1] = 0;
			times[2] = ts / 5;
			times[3] = ts;
			times[4] = 10 * ts;
			nt = 5;
		}
		for (int i = 0; i < nt; i++)
			if (!run_one(st, expr, true, ts, times[i], fail, ordered, e))
			{
				char		tmp[8192];

				snprintf(tmp, sizeof(tmp), "with @ %lld evaluated at %lld: %s",
						 (long long) ts, (long long) times[i], msgbuf);
				strcpy(msgbuf, tmp);
				return false;
			}
	}
	return true;
}

static char *
trim(char *s)
{
	char	   *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* One eval command of either script format. */
typedef struct EvalCmd
{
	char	   *expr;
	bool		range;			/* eval range, or an instant eval expecting a range vector */
	bool		range_query;	/* run as a range query (eval range) */
	int64_t		ts;
	int64_t		start,
				end,
				step;
	bool		fail,
				ordered;
	Expected	e;
	SeqValue  **seqs;			/* per expected series, its values from start by step */
	int		   *nseqs;
	AlloyArena *arena;
} EvalCmd;

static void
free_eval(EvalCmd *c)
{
	if (c->arena)
		alloy_arena_destroy(c->arena);
	c->arena = NULL;
}

static bool
parse_dur(const char *s, int64_t *ms)
{
	return promql_parse_duration(s, strlen(s), ms);
}

/*
 * Parse "eval..." at lines[i] and its expectations; returns the index of
 * the last line consumed.  *why is set when the command must be skipped.
 */
static int
parse_eval(char **lines, int nlines, int i, EvalCmd *c, const char **why)
{
	char	   *l = lines[i];
	char	   *p = l + 4;
	char		mod[16] = "";
	char	   *words[8];

	memset(c, 0, sizeof(*c));
	c->arena = alloy_arena_create(&alloy_malloc_hooks);
	c->e.labels = alloy_arena_alloc(c->arena, sizeof(PromqlLabels) * 1024);
	c->e.vals = alloy_arena_alloc(c->arena, sizeof(double) * 1024);
	c->e.seen = alloy_arena_alloc(c->arena, sizeof(bool) * 1024);
	c->seqs = alloy_arena_alloc(c->arena, sizeof(SeqValue *) * 1024);
	c->nseqs = alloy_arena_alloc(c->arena, sizeof(int) * 1024);
	if (*p == '_')
	{
		int			k = 0;

		p++;
		while (*p && *p != ' ' && k < 15)
			mod[k++] = *p++;
		mod[k] = '\0';
	}
	if (strcmp(mod, "fail") == 0)
		c->fail = true;
	else if (strcmp(mod, "ordered") == 0)
		c->ordered = true;
	else if (mod[0])
		*why = "expects an annotation (warn/info), which alloy does not produce";
	p = trim(p);
	if (strncmp(p, "instant", 7) == 0)
	{
		p = trim(p + 7);
		if (strncmp(p, "at ", 3) == 0)
		{
			char	   *at = trim(p + 3);
			char		save;

			p = at;
			while (*p && *p != ' ')
				p++;
			save = *p;
			*p = '\0';
			if (!parse_dur(at, &c->ts))
				*why = "unparsable eval time";
			*p = save;
			p = trim(p);
		}
		c->expr = alloy_arena_strdup(c->arena, p);
	}
	else if (strncmp(p, "range", 5) == 0)
	{
		/* range from A to B step C expr */
		int			n = 0;

		p = trim(p + 5);
		while (n < 6 && *p)
		{
			words[n++] = p;
			while (*p && *p != ' ')
				p++;
			if (*p)
				*p++ = '\0';
			p = trim(p);
		}
		if (n < 6 || strcmp(words[0], "from") != 0 || strcmp(words[2], "to") != 0 ||
			strcmp(words[4], "step") != 0 || !parse_dur(words[1], &c->start) ||
			!parse_dur(words[3], &c->end) || !parse_dur(words[5], &c->step))
		{
			*why = "unparsable eval range";
			c->expr = alloy_arena_strdup(c->arena, "");
		}
		else
			c->expr = alloy_arena_strdup(c->arena, p);
		c->range = c->range_query = true;
	}
	else
	{
		*why = "unknown eval form";
		c->expr = alloy_arena_strdup(c->arena, p);
	}

	while (i + 1 < nlines && lines[i + 1][0])
	{
		char	   *d = lines[++i];
		SeriesDesc	sd;
		const char *np = d;
		double		v;

		if (strncmp(d, "expected_fail_message", 21) == 0 || strncmp(d, "expected_fail_regexp", 20) == 0)
			break;
		if (strncmp(d, "expect ", 7) == 0)
		{
			char	   *w = trim(d + 7);

			if (strncmp(w, "range vector from ", 18) == 0)
			{
				char		a[64],
							b[64],
							st[64];

				if (sscanf(w, "range vector from %63s to %63s step %63s", a, b, st) == 3 &&
					parse_dur(a, &c->start) && parse_dur(b, &c->end) && parse_dur(st, &c->step))
				{
					c->range = true;
					c->ts = c->end;
				}
				else
					*why = "unparsable expect range vector";
			}
			else if (strncmp(w, "string ", 7) == 0)
			{
				char	   *q = trim(w + 7);
				size_t		n = strlen(q);

				c->e.is_string = true;
				if (n >= 2 && (q[0] == '"' || q[0] == '`'))
					c->e.string_value = alloy_arena_strndup(c->arena, q + 1, n - 2);
				else
					c->e.string_value = alloy_arena_strdup(c->arena, q);
			}
			else if (strncmp(w, "fail", 4) == 0)
				c->fail = true;
			else if (strncmp(w, "ordered", 7) == 0)
				c->ordered = true;
			else if (strncmp(w, "warn", 4) == 0 || strncmp(w, "info", 4) == 0)
				*why = "expects an annotation (warn/info), which alloy does not produce";
			/* no_warn, no_info: alloy never annotates */
			continue;
		}
		if (strstr(d, "{{"))
		{
			*why = "native histogram result";
			continue;
		}
		if (parse_seq_number(&np, &v) && *np == '\0')
		{
			c->e.scalar = true;
			c->e.scalar_value = v;
			continue;
		}
		if (!parse_series_desc(d, &sd, true) || c->e.n >= 1024)
		{
			sd_free(&sd);
			*why = "unparsable expected line";
			continue;
		}
		{
			PromqlLabel *lv = alloy_arena_alloc(c->arena, sizeof(PromqlLabel) * (sd.nlabels + 1));
			int			k = c->e.n++;

			for (int j = 0; j < sd.nlabels; j++)
			{
				lv[j].name = alloy_arena_strdup(c->arena, sd.labels[j].name);
				lv[j].value = alloy_arena_strdup(c->arena, sd.labels[j].value);
			}
			c->e.labels[k].n = sd.nlabels;
			c->e.labels[k].v = lv;
			c->e.vals[k] = sd.nvals > 0 ? sd.vals[0].v : NAN;
			c->seqs[k] = alloy_arena_alloc(c->arena, sizeof(SeqValue) * (sd.nvals + 1));
			memcpy(c->seqs[k], sd.vals, sizeof(SeqValue) * sd.nvals);
			c->nseqs[k] = sd.nvals;
		}
		sd_free(&sd);
	}
	return i;
}

/* Compare a matrix with expected sequences at start + k*step. */
static bool
compare_matrix(AlloyArena *arena, EvalCmd *c, const PromqlMatrix *m)
{
	Expected   *e = &c->e;

	for (int j = 0; j < e->n; j++)
		e->seen[j] = false;
	for (int i = 0; i < m->n; i++)
	{
		const PromqlSeriesOut *s = &m->s[i];
		int			k = -1,
					p = 0;

		for (int j = 0; j < e->n; j++)
			if (promql_labels_cmp(&e->labels[j], &s->labels) == 0)
				k = j;
		if (k < 0)
		{
			msg("unexpected metric %s in result", promql_labels_string(arena, &s->labels));
			return false;
		}
		e->seen[k] = true;
		for (int q = 0; q < c->nseqs[k]; q++)
		{
			int64_t		t = c->start + q * c->step;

			if (c->seqs[k][q].omitted)
				continue;
			if (p >= s->n || s->t[p] != t)
			{
				msg("expected a point at %lld for %s, got %s", (long long) t,
					promql_labels_string(arena, &s->labels),
					p < s->n ? alloy_arena_sprintf(arena, "one at %lld", (long long) s->t[p]) : "none");
				return false;
			}
			if (!almost_equal(c->seqs[k][q].v, s->v[p]))
			{
				msg("expected %s at %lld for %s but got %s", fmt_val(c->seqs[k][q].v), (long long) t,
					promql_labels_string(arena, &s->labels), fmt_val(s->v[p]));
				return false;
			}
			p++;
		}
		if (p != s->n)
		{
			msg("unexpected point at %lld for %s", (long long) s->t[p],
				promql_labels_string(arena, &s->labels));
			return false;
		}
	}
	for (int j = 0; j < e->n; j++)
	{
		bool		any = false;

		for (int q = 0; q < c->nseqs[j]; q++)
			any |= !c->seqs[j][q].omitted;
		if (!e->seen[j] && any)
		{
			msg("expected metric %s not found", promql_labels_string(arena, &e->labels[j]));
			return false;
		}
	}
	return true;
}

/* eval range, and instant evals that expect a range vector or a string. */
static bool
run_range_eval(MemStore *st, EvalCmd *c)
{
	AlloyArena *arena = alloy_arena_create(&alloy_malloc_hooks);
	PromqlStorage storage = {st, mem_select};
	PromqlEngineOpts opts;
	PromqlResult res;
	const char *err;
	PromqlNode *n;
	bool		ok = false;

	promql_engine_opts_default(&opts);
	opts.max_samples = 10000;
	opts.compat = compat;
	n = promql_parse_compat(arena, c->expr, strlen(c->expr), compat, &err);
	if (!n)
	{
		msg("parse error: %s", err);
		goto out;
	}
	if (!promql_eval(arena, &opts, &storage, n, c->range_query ? c->start : c->ts,
					 c->range_query ? c->end : c->ts, c->range_query ? c->step : 0, &res, &err))
	{
		if (c->fail)
			ok = true;
		else
			msg("error evaluating query: %s", err);
		goto out;
	}
	if (c->fail)
	{
		msg("expected error evaluating query but got none");
		goto out;
	}
	if (res.type != PROMQL_VAL_MATRIX)
	{
		msg("expected a range vector, got %s", promql_value_type_name(res.type));
		goto out;
	}
	ok = compare_matrix(arena, c, &res.matrix);
out:
	alloy_arena_destroy(arena);
	return ok;
}

static void
run_file(const char *path, Known *known, Totals *tot)
{
	FILE	   *f = fopen(path, "r");
	char	  **lines = NULL;
	int			nlines = 0,
				cap = 0;
	char		buf[65536];
	MemStore	st;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	bool		nhcb_active = false;
	bool		hist_active = false;	/* native histograms loaded since the last clear */

	memset(&st, 0, sizeof(st));
	if (!f)
	{
		fprintf(stderr, "cannot open %s\n", path);
		tot->failed++;
		tot->unexpected++;
		return;
	}
	while (fgets(buf, sizeof(buf), f))
	{
		char	   *l = trim(buf);

		if (l[0] == '#')
			l[0] = '\0';
		if (nlines == cap)
		{
			cap = cap ? cap * 2 : 256;
			lines = realloc(lines, sizeof(char *) * cap);
		}
		lines[nlines++] = xstrdup(l);
	}
	fclose(f);

	for (int i = 0; i < nlines; i++)
	{
		char	   *l = lines[i];

		if (!*l)
			continue;
		if (strncasecmp(l, "clear", 5) == 0)
		{
			store_clear(&st);
			nhcb_active = false;
			hist_active = false;
			continue;
		}
		if (strncasecmp(l, "load", 4) == 0)
		{
			int64_t		gap;
			char	   *g = trim(l + 4);

			if (strncmp(l, "load_with_nhcb", 14) == 0)
			{
				nhcb_active = true;
				g = trim(l + 14);
			}

			if (!promql_parse_duration(g, strlen(g), &gap))
			{
				fprintf(stdout, "%s:%d: invalid load step %s\n", base, i + 1, g);
				continue;
			}
			while (i + 1 < nlines && lines[i + 1][0])
			{
				SeriesDesc	sd;
				PromqlLabels ls;
				MemSeries  *s;

				i++;
				if (strstr(lines[i], "{{"))
				{
					hist_active = true;
					continue;	/* native histogram samples: not stored by alloy */
				}
				if (!parse_series_desc(lines[i], &sd, true))
				{
					sd_free(&sd);
					fprintf(stdout, "%s:%d: cannot parse series %s\n", base, i + 1, lines[i]);
					continue;
				}
				ls.n = sd.nlabels;
				ls.v = sd.labels;
				s = store_series(&st, &ls);
				for (int k = 0; k < sd.nvals; k++)
					if (!sd.vals[k].omitted)
						store_add(s, gap * k, sd.vals[k].v);
				sd_free(&sd);
			}
			continue;
		}
		if (strncasecmp(l, "eval", 4) == 0)
		{
			EvalCmd		c;
			int			line = i + 1;
			char		key[512];
			bool		ok;
			const char *why = NULL;

			i = parse_eval(lines, nlines, i, &c, &why);
			snprintf(key, sizeof(key), "%s:%d", base, line);
			if (why == NULL && nhcb_active)
				why = "loaded with load_with_nhcb (native histograms)";
			if (why == NULL && hist_active)
				why = "native histogram samples are loaded";
			if (why)
			{
				tot->skipped++;
				if (verbose)
					fprintf(stdout, "skip %s: %s\n", key, why);
				free_eval(&c);
				continue;
			}
			msgbuf[0] = '\0';
			if (c.range)
				ok = run_range_eval(&st, &c);
			else
				ok = run_eval(&st, c.expr, c.ts, c.fail, c.ordered, &c.e);
			if (ok)
			{
				tot->passed++;
				if (verbose)
					fprintf(stdout, "ok %s: %s\n", key, c.expr);
			}
			else
			{
				bool		k = is_known(known, key);

				/* a listed failure counts as skipped, as in test/promql/run-conformance */
				if (k)
					tot->skipped++;
				else
				{
					tot->failed++;
					tot->unexpected++;
				}
				fprintf(stdout, "FAIL %s%s: %s\n    %s\n", key, k ? " (known)" : "", c.expr, msgbuf);
			}
			free_eval(&c);
			continue;
		}
		fprintf(stdout, "%s:%d: invalid command %s\n", base, i + 1, l);
	}
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	store_clear(&st);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
run_path(const char *path, Known *known, Totals *tot)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
	{
		DIR		   *d = opendir(path);
		struct dirent *de;
		char	  **names = NULL;
		int			n = 0;

		while (d && (de = readdir(d)))
		{
			size_t		len = strlen(de->d_name);

			if (len > 5 && strcmp(de->d_name + len - 5, ".test") == 0)
			{
				names = realloc(names, sizeof(char *) * (n + 1));
				names[n] = xmalloc(strlen(path) + len + 2);
				sprintf(names[n], "%s/%s", path, de->d_name);
				n++;
			}
		}
		if (d)
			closedir(d);
		qsort(names, n, sizeof(char *), cmp_str);
		for (int i = 0; i < n; i++)
		{
			run_file(names[i], known, tot);
			free(names[i]);
		}
		free(names);
	}
	else
		run_file(path, known, tot);
}

int
main(int argc, char **argv)
{
	Known		known = {NULL, NULL, 0};
	Totals		tot = {0, 0, 0, 0};
	const char *version = "v2.42";
	bool		have_known = false;
	int			npaths = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc)
		{
			FILE	   *f = fopen(argv[++i], "r");
			char		line[1024];

			have_known = true;
			while (f && fgets(line, sizeof(line), f))
			{
				char	   *l = trim(line);

				if (!*l || *l == '#')
					continue;
				known.keys = realloc(known.keys, sizeof(char *) * (known.n + 1));
				known.hit = realloc(known.hit, sizeof(bool) * (known.n + 1));
				known.keys[known.n] = xstrdup(strtok(l, " \t#"));
				known.hit[known.n] = false;
				known.n++;
			}
			if (f)
				fclose(f);
		}
		else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
			version = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--cross-check") == 0)
			cross_check = true;
		else if (strcmp(argv[i], "--compat") == 0 && i + 1 < argc)
			compat = atoi(argv[++i]) == 3 ? PROMQL_COMPAT_V3 : PROMQL_COMPAT_V2;
	}
	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--known-failures") == 0 || strcmp(argv[i], "--version") == 0 ||
			strcmp(argv[i], "--compat") == 0)
		{
			i++;
			continue;
		}
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--cross-check") == 0)
			continue;
		run_path(argv[i], &known, &tot);
		npaths++;
	}
	if (npaths == 0)
	{
		fprintf(stderr, "usage: %s [--known-failures FILE] [--version NAME] [-v] [--cross-check] [--compat 2|3] PATH...\n", argv[0]);
		return 2;
	}
	if (have_known)
		for (int i = 0; i < known.n; i++)
			if (!known.hit[i])
				fprintf(stdout, "known failure %s now passes (or is gone): remove it from the list\n",
						known.keys[i]);
	printf("%s: %d passed, %d failed, %d skipped\n", version, tot.passed, tot.failed, tot.skipped);
	if (have_known)
		return tot.unexpected > 0 ? 1 : 0;
	return tot.failed > 0 ? 1 : 0;
}
