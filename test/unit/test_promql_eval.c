/*
 * test_promql_eval.c: evaluator behaviour the conformance scripts do not
 * reach: the storage windows the planner asks for, range-query assembly,
 * stale markers, the sample limit, the interrupt hook, range-query type
 * errors, and explain.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promql/promql.h"
#include "promql/promql.h"
#include "unit.h"

#define NSERIES 3
#define NPOINTS 100

static int64_t T[NPOINTS];
static double V[NSERIES][NPOINTS];
static PromqlLabel L[NSERIES][2];

/* what the last select() calls asked for */
static int	nselects;
static int64_t last_mint,
			last_maxt;

static bool
mem_select(void *ctx, AlloyArena *arena, const PromqlMatcher *m, int nm,
		   int64_t mint, int64_t maxt, PromqlSeriesSet *out, char *errbuf, size_t errlen)
{
	(void) ctx;
	nselects++;
	last_mint = mint;
	last_maxt = maxt;
	for (int j = 0; j < nm; j++)
		if (strcmp(m[j].name, "__name__") == 0 && strcmp(m[j].value, "broken") == 0)
		{
			snprintf(errbuf, errlen, "storage is broken");
			return false;
		}
	out->n = 0;
	out->series = alloy_arena_alloc(arena, sizeof(PromqlSeries) * NSERIES);
	for (int i = 0; i < NSERIES; i++)
	{
		PromqlLabels ls = {2, L[i]};
		bool		ok = true;
		int			a = 0,
					b;

		for (int j = 0; j < nm && ok; j++)
			ok = promql_matcher_matches(&m[j], promql_labels_get(&ls, m[j].name));
		if (!ok)
			continue;
		while (a < NPOINTS && T[a] < mint)
			a++;
		b = a;
		while (b < NPOINTS && T[b] <= maxt)
			b++;
		out->series[out->n].labels = ls;
		out->series[out->n].n = b - a;
		out->series[out->n].t = T + a;
		out->series[out->n].v = V[i] + a;
		out->n++;
	}
	return true;
}

static PromqlStorage storage = {NULL, mem_select};
static AlloyArena *arena;
static int	interrupts;

static void
count_interrupt(void *arg)
{
	(void) arg;
	interrupts++;
}

static bool
run(const char *q, int64_t start, int64_t end, int64_t step, PromqlEngineOpts *opts,
	PromqlResult *res, const char **err)
{
	PromqlEngineOpts def;
	PromqlNode *n = promql_parse(arena, q, strlen(q), err);

	if (!opts)
	{
		promql_engine_opts_default(&def);
		opts = &def;
	}
	if (!n)
		return false;
	return promql_eval(arena, opts, &storage, n, start, end, step, res, err);
}

/*
 * Does the range query q over [start, end] give, at every step, exactly what
 * instant queries at that step give? Range assembly keeps the label sets
 * of one step for the next (by pointer when they outlive the step, copied
 * when they were built in the step's arena), so this catches label sets
 * lost to a step arena's reset as well as series matched to the wrong
 * result row.
 */
static bool
range_matches_instants(const char *q, int64_t start, int64_t end, int64_t step)
{
	PromqlResult res;
	const char *err;
	int			points = 0;

	if (!run(q, start, end, step, NULL, &res, &err))
	{
		printf("# %s: %s\n", q, err);
		return false;
	}
	for (int i = 0; i < res.matrix.n; i++)
		points += res.matrix.s[i].n;
	for (int64_t t = start; t <= end; t += step)
	{
		PromqlResult ires;

		if (!run(q, t, t, 0, NULL, &ires, &err))
			return false;
		for (int j = 0; j < ires.vector.n; j++)
		{
			char	   *want = promql_labels_string(arena, &ires.vector.s[j].labels);
			bool		found = false;

			for (int i = 0; i < res.matrix.n && !found; i++)
			{
				PromqlSeriesOut *o = &res.matrix.s[i];

				if (strcmp(promql_labels_string(arena, &o->labels), want) != 0)
					continue;
				for (int k = 0; k < o->n; k++)
					if (o->t[k] == t && (o->v[k] == ires.vector.s[j].v ||
										 (isnan(o->v[k]) && isnan(ires.vector.s[j].v))))
						found = true;
			}
			if (!found)
			{
				printf("# %s: %s at %lld missing from the range result\n", q, want, (long long) t);
				return false;
			}
			points--;
		}
	}
	if (points != 0)
		printf("# %s: %d points more in the range result\n", q, points);
	return points == 0;
}

int
main(void)
{
	PromqlResult res;
	const char *err;
	PromqlEngineOpts opts;
	uint64_t	stale_bits = PROMQL_STALE_NAN_BITS;
	double		stale;
	bool		ok;

	memcpy(&stale, &stale_bits, sizeof(stale));
	arena = alloy_arena_create(&alloy_malloc_hooks);
	/* three series of foo, one sample every 15s, values i*100 + j */
	for (int j = 0; j < NPOINTS; j++)
		T[j] = (int64_t) j * 15000;
	for (int i = 0; i < NSERIES; i++)
	{
		static char inst[NSERIES][8];

		snprintf(inst[i], sizeof(inst[i]), "i%d", i);
		L[i][0] = (PromqlLabel)
		{
			"__name__", "foo"
		};
		L[i][1] = (PromqlLabel)
		{
			"instance", inst[i]
		};
		for (int j = 0; j < NPOINTS; j++)
			V[i][j] = i * 100 + j;
	}
	/* series i2 goes stale at 750s (sample 50) and stays stale */
	for (int j = 50; j < NPOINTS; j++)
		V[2][j] = stale;

	/* the planner's windows */
	nselects = 0;
	ok = run("foo", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && nselects == 1 && last_mint == 300000 && last_maxt == 600000,
		  "instant selector reads [t - lookback, t]: %lld %lld", (long long) last_mint, (long long) last_maxt);
	ok = run("rate(foo[2m] offset 1m)", 600000, 900000, 60000, NULL, &res, &err);
	CHECK(ok && last_mint == 600000 - 180000 && last_maxt == 900000 - 60000, "range with offset");
	ok = run("max_over_time(foo[1m:15s] @ 300)", 600000, 900000, 60000, NULL, &res, &err);
	CHECK(ok && last_mint == 300000 - 60000 - 300000 && last_maxt == 300000, "subquery pinned by @");

	/* instant vector with staleness */
	ok = run("foo", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_VECTOR && res.vector.n == 3, "three series before staleness");
	ok = run("foo", 750000, 750000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 2, "a stale marker hides the series at once");
	ok = run("count_over_time(foo[1m])", 750000, 750000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3, "range windows skip stale markers but keep earlier samples");

	/* range query assembly */
	ok = run("foo", 600000, 900000, 60000, NULL, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_MATRIX && res.matrix.n == 3, "range query gives a matrix");
	if (ok && res.matrix.n == 3)
	{
		CHECK(strcmp(promql_labels_get(&res.matrix.s[0].labels, "instance"), "i0") == 0 &&
			  strcmp(promql_labels_get(&res.matrix.s[2].labels, "instance"), "i2") == 0,
			  "series sorted by labels");
		CHECK(res.matrix.s[0].n == 6 && res.matrix.s[0].t[0] == 600000 && res.matrix.s[0].t[5] == 900000,
			  "one point per step");
		CHECK(res.matrix.s[0].v[0] == 40, "value at 600s is sample 40");
		CHECK(res.matrix.s[2].n == 3, "stale series ends at 750s");
	}
	ok = run("1 + 1", 0, 120000, 60000, NULL, &res, &err);
	CHECK(ok && res.matrix.n == 1 && res.matrix.s[0].labels.n == 0 && res.matrix.s[0].n == 3 &&
		  res.matrix.s[0].v[2] == 2, "scalar range query is one label-less series");
	ok = run("max_over_time(sum(foo)[2m:30s])", 300000, 1200000, 30000, NULL, &res, &err);
	{
		bool		same = ok;

		for (int64_t t = 300000; same && t <= 1200000; t += 30000)
		{
			PromqlResult ires;
			int			k = (int) ((t - 300000) / 30000);

			same = run("max_over_time(sum(foo)[2m:30s])", t, t, 0, NULL, &ires, &err) &&
				ires.vector.n == 1 && res.matrix.n == 1 && res.matrix.s[0].v[k] == ires.vector.s[0].v;
		}
		CHECK(same, "cached subquery steps agree with instant evaluation");
	}
	{
		static const char *const qs[] = {
			"foo",
			"rate(foo[1m])",
			"label_replace(foo, \"x\", \"$1\", \"instance\", \"i(.*)\")",
			"sort_desc(foo % 7)",
			"-foo",
			"max_over_time(rate(foo[1m])[2m:30s])",
			"max_over_time(label_replace(foo, \"x\", \"$1\", \"instance\", \"i(.*)\")[2m:30s])",
			"sum by (instance) (foo) / on (instance) group_left foo",
			"count_values(\"v\", foo % 3)",
		};

		for (int i = 0; i < (int) (sizeof(qs) / sizeof(qs[0])); i++)
			CHECK(range_matches_instants(qs[i], 300000, 1200000, 30000),
				  "range query equals instant queries step by step: %s", qs[i]);
	}

	/* errors */
	ok = run("foo[5m]", 0, 60000, 60000, NULL, &res, &err);
	CHECK(!ok && strstr(err, "invalid expression type \"range vector\" for range query"), "range query of matrix");
	ok = run("\"x\"", 0, 60000, 60000, NULL, &res, &err);
	CHECK(!ok && strstr(err, "invalid expression type \"string\" for range query"), "range query of string");
	/*
	 * A range query with start == end is still a range query (step > 0):
	 * Prometheus 2.42 answers a matrix and checks the expression type.
	 */
	ok = run("foo", 600000, 600000, 60000, NULL, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_MATRIX && res.matrix.n == 3 && res.matrix.s[0].n == 1,
		  "range query with start == end gives a matrix");
	ok = run("1", 600000, 600000, 60000, NULL, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_MATRIX && res.matrix.n == 1, "scalar range query with start == end");
	ok = run("foo[5m]", 600000, 600000, 60000, NULL, &res, &err);
	CHECK(!ok && strstr(err, "invalid expression type \"range vector\" for range query"),
		  "range query of matrix with start == end");
	ok = run("broken", 0, 0, 0, NULL, &res, &err);
	CHECK(!ok && strcmp(err, "storage is broken") == 0, "storage errors propagate");
	promql_engine_opts_default(&opts);
	opts.max_samples = 100;
	ok = run("foo[10m]", 900000, 900000, 0, &opts, &res, &err);
	CHECK(!ok && strstr(err, "query processing would load too many samples into memory"), "sample limit");
	opts.max_samples = 1000;
	ok = run("foo[10m]", 900000, 900000, 0, &opts, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_MATRIX && res.matrix.n == 3 && res.matrix.s[2].n == 30,
		  "matrix under the limit; the stale series keeps its earlier samples");
	ok = run("foo * on() group_left foo", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "many-to-many matching not allowed"), "duplicate match group");

	/* interrupt hook */
	promql_engine_opts_default(&opts);
	opts.interrupt = count_interrupt;
	interrupts = 0;
	ok = run("sum(rate(foo[1m]))", 0, 1500000, 1000, &opts, &res, &err);
	CHECK(ok && interrupts > 0, "interrupt hook called in long evaluations (%d)", interrupts);

	/* instant results carry the evaluation time; scalars too */
	ok = run("timestamp(foo)", 610000, 610000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && res.vector.s[0].t == 610000 && res.vector.s[0].v == 600,
		  "timestamp() gives the sample time, the result the evaluation time");
	ok = run("scalar(sum(foo))", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.type == PROMQL_VAL_SCALAR && res.scalar == 40 + 140 + 240 && res.t == 600000,
		  "scalar result");

	/* differences found by test/tools/promql_diff.py */
	ok = run("absent(nosuch{instance!=\"a\",instance=\"b\",job=\"x\",job!=\"y\"})", 600000, 600000, 0,
			 NULL, &res, &err);
	CHECK(ok && res.vector.n == 1 && res.vector.s[0].labels.n == 1 &&
		  strcmp(promql_labels_get(&res.vector.s[0].labels, "instance"), "b") == 0,
		  "absent() applies its matchers in order: a later equality sets, a later matcher deletes");
	ok = run("absent(((nosuch{job=\"x\"})))", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 1 && res.vector.s[0].labels.n == 1, "absent() looks through parentheses");
	ok = run("cosh(vector(710))", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 1 && isinf(res.vector.s[0].v) && res.vector.s[0].v > 0,
		  "cosh/sinh overflow where Go's do");
	ok = run("sinh(vector(-710))", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 1 && isinf(res.vector.s[0].v) && res.vector.s[0].v < 0, "sinh(-710) is -Inf");
	ok = run("clamp_max(-foo / 0, NaN)", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && isinf(res.vector.s[0].v) && res.vector.s[0].v < 0,
		  "clamp_max(-Inf, NaN) is -Inf (Go's math.Min)");
	ok = run("clamp_min(foo / 0, NaN)", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && isinf(res.vector.s[0].v) && res.vector.s[0].v > 0,
		  "clamp_min(+Inf, NaN) is +Inf (Go's math.Max)");
	ok = run("clamp_min(foo, NaN)", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && isnan(res.vector.s[0].v), "clamp_min(x, NaN) is NaN");
	ok = run("count_values(\"v\", max(foo) * 0 + 1e300)", 600000, 600000, 0, NULL, &res, &err);
	{
		const char *v = ok && res.vector.n == 1 ? promql_labels_get(&res.vector.s[0].labels, "v") : NULL;

		CHECK(v && strlen(v) == 301 && v[0] == '1' && strspn(v + 1, "0") == 300,
			  "count_values spells 1e300 as a 1 and 300 zeros: %s", v ? v : err);
	}
	ok = run("count_values(\"v\", max(foo) * 0 + 0.000123)", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 1 && strcmp(promql_labels_get(&res.vector.s[0].labels, "v"), "0.000123") == 0,
		  "count_values spells small values without an exponent");
	ok = run("topk(0, foo * on() group_left foo)", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "many-to-many matching not allowed"),
		  "topk with k < 1 still evaluates its vector argument");
	ok = run("bottomk(-1, topk(NaN, foo))", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "overflows int64"), "an inner topk(NaN) fails under an outer k < 1");
	ok = run("foo * on() group_right 2", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && res.vector.s[0].v == 80, "on() without labels is allowed against a scalar");
	ok = run("2 % on() group_left(instance) foo", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3, "on() group_left(x) without matching labels is allowed against a scalar");
	ok = run("foo == on(instance) 10", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "vector matching only allowed between instant vectors"),
		  "on(labels) against a scalar is an error");
	ok = run("count_over_time(foo @ start()[5m])", 600000, 600000, 0, NULL, &res, &err);
	CHECK(ok && res.vector.n == 3 && res.vector.s[0].v == 21, "x @ start()[5m] is a range pinned to the start: %s %d %g", ok ? "" : err, res.vector.n, res.vector.n ? res.vector.s[0].v : -1);
	{
		static const char *const zero[] = {"foo offset 0s", "foo[0m]", "max_over_time(foo[5m:0s])",
		"foo offset -0s", "(foo)[0h:]"};

		for (int i = 0; i < (int) (sizeof(zero) / sizeof(zero[0])); i++)
		{
			ok = run(zero[i], 600000, 600000, 0, NULL, &res, &err);
			CHECK(!ok && strstr(err, "duration must be greater than 0"), "zero duration rejected: %s", zero[i]);
		}
	}
	ok = run("foo offset 1m [5m]", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "no offset modifiers allowed before range"), "a real offset before a range is not");
	ok = run("foo @ 100 [5m]", 600000, 600000, 0, NULL, &res, &err);
	CHECK(!ok && strstr(err, "no @ modifiers allowed before range"), "a literal @ before a range is not");
	{
		/* Prometheus 2.42 on amd64: int64(NaN) is the minimum int64, and Go's time wraps */
		static const struct
		{
			const char *q;
			double		want;
		}			dates[] = {
			{"hour(vector(NaN))", 15},
			{"minute(vector(NaN))", 30},
			{"year(vector(NaN))", 292277026596.0},
			{"month(vector(Inf))", 12},
			{"day_of_month(vector(-Inf))", 4},
			{"days_in_month(vector(NaN))", 31},
			{"day_of_week(vector(NaN))", 0},
			{"day_of_year(vector(NaN))", 339},
			{"year(vector(1e18))", 31688740476.0},
			{"days_in_month(vector(-1e17))", 30},
			{"day_of_week(vector(-1e17))", 4},
			{"day_of_year(vector(951782400))", 60},
			{"day_of_month(vector(951782400))", 29},
			{"month(vector(951868800))", 3},
			{"day_of_week(vector(0))", 4},
			{"year(vector(-62135596801))", 0},
		};

		for (int i = 0; i < (int) (sizeof(dates) / sizeof(dates[0])); i++)
		{
			ok = run(dates[i].q, 600000, 600000, 0, NULL, &res, &err);
			CHECK(ok && res.vector.n == 1 && res.vector.s[0].v == dates[i].want,
				  "%s is %g as in Go: %g", dates[i].q, dates[i].want, ok && res.vector.n ? res.vector.s[0].v : -1);
		}
	}

	/* explain */
	{
		PromqlEngineOpts o;
		PromqlNode *n;
		char	   *plan;

		promql_engine_opts_default(&o);
		n = promql_parse(arena, "sum(rate(foo[5m] offset 1m))", 28, &err);
		plan = n ? promql_explain(arena, &o, &storage, n, 600000, 900000, 60000, &err) : NULL;
		CHECK(plan && strstr(plan, "selector foo offset 1m range 300000ms: time range [240000, 840000], 3 series"),
			  "explain shows selectors and windows: %s", plan ? plan : err);
	}

	alloy_arena_destroy(arena);
	return unit_finish();
}
