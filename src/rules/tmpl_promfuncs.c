/*
 * tmpl_promfuncs.c: Prometheus's template functions over numbers and query
 * results: query (through the caller's callback), first, label, value,
 * strvalue, sortByLabel, args, and the humanize family.
 *
 * The humanize functions print with Go's "%.4g" after scaling by SI (or
 * binary) prefixes, the way Prometheus's template package does; NaN and
 * infinities print as NaN, +Inf, -Inf.  humanizeTimestamp truncates to the
 * millisecond (Prometheus converts through model.Time) and prints Go's
 * time.Time form "2006-01-02 15:04:05.999999999 -0700 MST" in UTC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rules/rules_int.h"

static bool
text_result(TmplExec *ex, TmplBuf *b, TmplValue *res)
{
	if (b->overflow)
		return tmpl_error(ex, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
	*res = tmpl_string(NULL, b->data, b->len);
	return true;
}

static bool
want_sample(TmplExec *ex, const char *fn, const TmplValue *v)
{
	if (v->kind == TV_SAMPLE)
		return true;
	if (v->kind == TV_NIL)
		return tmpl_error(ex, "error calling %s: runtime error: invalid memory address or nil pointer dereference", fn);
	return tmpl_error(ex, "wrong type for value; expected *template.sample; got %s", tmpl_type_name(v));
}

static bool
want_vector(TmplExec *ex, const TmplValue *v)
{
	if (v->kind == TV_VECTOR)
		return true;
	return tmpl_error(ex, "wrong type for value; expected template.queryResult; got %s", tmpl_type_name(v));
}

bool
tmpl_fn_query(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplVector *vec;
	char		err[256];

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]))
		return false;
	if (ex->query == NULL || ex->query->fn == NULL)
		return tmpl_error(ex, "error calling query: queries are not available here");
	vec = alloy_arena_alloc0(ex->arena, sizeof(TmplVector));
	err[0] = '\0';
	if (!ex->query->fn(ex->query->arg, ex->arena, argv[0].s, vec, err, sizeof(err)))
		return tmpl_error(ex, "error calling query: %s", err);
	memset(res, 0, sizeof(*res));
	res->kind = TV_VECTOR;
	res->vec = vec;
	return true;
}

bool
tmpl_fn_first(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	if (!want_vector(ex, &argv[0]))
		return false;
	if (argv[0].vec->n == 0)
		return tmpl_error(ex, "error calling first: first() called on vector with no elements");
	memset(res, 0, sizeof(*res));
	res->kind = TV_SAMPLE;
	res->smp = &argv[0].vec->s[0];
	return true;
}

static bool
sample_label(TmplExec *ex, const char *fn, const TmplValue *s, const char *name, TmplValue *res)
{
	const TmplValue *v;

	if (!want_sample(ex, fn, s))
		return false;
	v = tmpl_map_get(&s->smp->labels, name, strlen(name));
	*res = v ? *v : tmpl_string(NULL, "", 0);
	return true;
}

bool
tmpl_fn_label(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]))
		return false;
	return sample_label(ex, "label", &argv[1], argv[0].s, res);
}

bool
tmpl_fn_strvalue(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return sample_label(ex, "strvalue", &argv[0], "__value__", res);
}

bool
tmpl_fn_value(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	if (!want_sample(ex, "value", &argv[0]))
		return false;
	*res = tmpl_float(argv[0].smp->value);
	return true;
}

/* sortByLabel: a stable sort of the samples by one label's value. */
bool
tmpl_fn_sort_by_label(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	const TmplVector *in;
	TmplVector *out;
	const char **keys;
	size_t		nlen;

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]) || !want_vector(ex, &argv[1]))
		return false;
	in = argv[1].vec;
	nlen = argv[0].slen;
	out = alloy_arena_alloc0(ex->arena, sizeof(TmplVector));
	out->n = in->n;
	out->s = alloy_arena_alloc(ex->arena, sizeof(TmplSample) * (size_t) (in->n + 1));
	keys = alloy_arena_alloc(ex->arena, sizeof(char *) * (size_t) (in->n + 1));
	/* insertion sort: stable, and vectors in alerts are small */
	for (int i = 0; i < in->n; i++)
	{
		const TmplValue *v = tmpl_map_get(&in->s[i].labels, argv[0].s, nlen);
		const char *k = v ? v->s : "";
		int			j = i;

		if (++ex->steps > RULES_TMPL_MAX_STEPS)
			return tmpl_error(ex, "template exceeds %d steps", RULES_TMPL_MAX_STEPS);
		while (j > 0 && strcmp(keys[j - 1], k) > 0)
		{
			keys[j] = keys[j - 1];
			out->s[j] = out->s[j - 1];
			j--;
		}
		keys[j] = k;
		out->s[j] = in->s[i];
	}
	memset(res, 0, sizeof(*res));
	res->kind = TV_VECTOR;
	res->vec = out;
	return true;
}

/* args: a map of its arguments under the keys arg0, arg1, ... */
bool
tmpl_fn_args(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplMap    *m = alloy_arena_alloc0(ex->arena, sizeof(TmplMap));
	AlloyLabel *names = alloy_arena_alloc(ex->arena, sizeof(AlloyLabel) * (size_t) (argc + 1));

	for (int i = 0; i < argc; i++)
	{
		char	   *k = alloy_arena_sprintf(ex->arena, "arg%d", i);

		names[i].name = k;
		names[i].name_len = (int) strlen(k);
		names[i].value = (const char *) &argv[i];	/* carried through the sort */
		names[i].value_len = 0;
	}
	/* sort keys bytewise (arg10 before arg2), as Go's map printing does */
	for (int i = 1; i < argc; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1].name, names[j].name) > 0; j--)
		{
			AlloyLabel	t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	m->n = argc;
	m->keys = alloy_arena_alloc(ex->arena, sizeof(char *) * (size_t) (argc + 1));
	m->vals = alloy_arena_alloc(ex->arena, sizeof(TmplValue) * (size_t) (argc + 1));
	for (int i = 0; i < argc; i++)
	{
		m->keys[i] = names[i].name;
		m->vals[i] = *(const TmplValue *) names[i].value;
	}
	memset(res, 0, sizeof(*res));
	res->kind = TV_MAP;
	res->map = m;
	return true;
}

/* ---- humanize ---- */

static const char *const si_big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
static const char *const si_small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
static const char *const bin_big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};

static void
g4(TmplBuf *b, double v)
{
	tmpl_fmt_float_g(b, v, 4);
}

/* Divide v by step while |v| >= step, at most 8 times; the last prefix passed. */
static const char *
scale_down(double *v, double step, const char *const *prefixes)
{
	const char *prefix = "";

	for (int i = 0; i < 8 && fabs(*v) >= step; i++)
	{
		prefix = prefixes[i];
		*v /= step;
	}
	return prefix;
}

/* Multiply v by 1000 while |v| < 1, at most 8 times; the last prefix passed. */
static const char *
scale_up(double *v)
{
	const char *prefix = "";

	for (int i = 0; i < 8 && fabs(*v) < 1; i++)
	{
		prefix = si_small[i];
		*v *= 1000;
	}
	return prefix;
}

/* The one argument as a float, and an empty buffer for the answer. */
static bool
number_arg(TmplExec *ex, const TmplValue *argv, double *v, TmplBuf *b)
{
	if (!tmpl_to_float(ex, &argv[0], v))
		return false;
	tmpl_buf_init(b, ex->arena);
	return true;
}

bool
tmpl_fn_humanize(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	const char *prefix = "";
	double		v;
	TmplBuf		b;

	(void) argc;
	if (!number_arg(ex, argv, &v, &b))
		return false;
	if (v != 0 && !isnan(v) && !isinf(v))
		prefix = fabs(v) >= 1 ? scale_down(&v, 1000, si_big) : scale_up(&v);
	g4(&b, v);
	tmpl_buf_puts(&b, prefix);
	return text_result(ex, &b, res);
}

bool
tmpl_fn_humanize1024(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	const char *prefix = "";
	double		v;
	TmplBuf		b;

	(void) argc;
	if (!number_arg(ex, argv, &v, &b))
		return false;
	if (!(fabs(v) <= 1 || isnan(v) || isinf(v)))
		prefix = scale_down(&v, 1024, bin_big);
	g4(&b, v);
	tmpl_buf_puts(&b, prefix);
	return text_result(ex, &b, res);
}

bool
tmpl_fn_humanize_duration(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	double		v;
	TmplBuf		b;

	(void) argc;
	if (!number_arg(ex, argv, &v, &b))
		return false;
	if (isnan(v) || isinf(v))
		g4(&b, v);
	else if (v == 0)
	{
		g4(&b, v);
		tmpl_buf_puts(&b, "s");
	}
	else if (fabs(v) >= 1)
	{
		const char *sign = "";
		int64_t		d,
					secs,
					mins,
					hours,
					days;

		if (v < 0)
		{
			sign = "-";
			v = -v;
		}
		/* Go's int64(v): values past the range saturate on amd64 to MinInt64 */
		d = v >= 9223372036854775807.0 ? INT64_MIN : (int64_t) v;
		secs = d % 60;
		mins = (d / 60) % 60;
		hours = (d / 60 / 60) % 24;
		days = d / 60 / 60 / 24;
		if (days != 0)
			tmpl_buf_printf(&b, "%s%lldd %lldh %lldm %llds", sign, (long long) days,
							(long long) hours, (long long) mins, (long long) secs);
		else if (hours != 0)
			tmpl_buf_printf(&b, "%s%lldh %lldm %llds", sign, (long long) hours,
							(long long) mins, (long long) secs);
		else if (mins != 0)
			tmpl_buf_printf(&b, "%s%lldm %llds", sign, (long long) mins, (long long) secs);
		else
		{
			tmpl_buf_puts(&b, sign);
			g4(&b, v);
			tmpl_buf_puts(&b, "s");
		}
	}
	else
	{
		const char *prefix = scale_up(&v);

		g4(&b, v);
		tmpl_buf_puts(&b, prefix);
		tmpl_buf_puts(&b, "s");
	}
	return text_result(ex, &b, res);
}

bool
tmpl_fn_humanize_percentage(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	double		v;
	TmplBuf		b;

	(void) argc;
	if (!number_arg(ex, argv, &v, &b))
		return false;
	g4(&b, v * 100);
	tmpl_buf_puts(&b, "%");
	return text_result(ex, &b, res);
}

/*
 * Seconds since the epoch as Go prints the time.Time Prometheus makes of
 * them: truncated to the millisecond, UTC, trailing zeros of the fraction
 * dropped.  Past the int64 nanosecond range it fails as Prometheus does;
 * NaN converts as Go's int64(NaN) does on amd64 (the smallest int64).
 */
bool
tmpl_time_string(TmplExec *ex, const char *fn, double v, TmplValue *res)
{
	double		ns = v * 1e9;
	int64_t		ms,
				secs,
				msec;
	time_t		tt;
	struct tm	tm;
	TmplBuf		b;

	if (ns >= 9223372036854775807.0 || ns < -9223372036854775808.0)
	{
		TmplBuf		m;

		tmpl_buf_init(&m, ex->arena);
		tmpl_fmt_float_g(&m, v, -1);
		return tmpl_error(ex, "error calling %s: %s cannot be represented as a nanoseconds timestamp since it overflows int64",
						  fn, m.data);
	}
	ms = isnan(ns) ? INT64_MIN / 1000000 : (int64_t) ns / 1000000;
	secs = ms / 1000;
	msec = ms % 1000;
	if (msec < 0)
	{
		msec += 1000;
		secs--;
	}
	tt = (time_t) secs;
	if (gmtime_r(&tt, &tm) == NULL)
		return tmpl_error(ex, "error calling %s: time out of range", fn);
	tmpl_buf_init(&b, ex->arena);
	tmpl_buf_printf(&b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
					tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (msec != 0)
	{
		char		frac[8];
		int			n;

		n = snprintf(frac, sizeof(frac), ".%03lld", (long long) msec);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		tmpl_buf_puts(&b, frac);
	}
	tmpl_buf_puts(&b, " +0000 UTC");
	return text_result(ex, &b, res);
}

bool
tmpl_fn_humanize_timestamp(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	double		v;
	TmplBuf		b;

	(void) argc;
	if (!number_arg(ex, argv, &v, &b))
		return false;
	if (isnan(v) || isinf(v))
	{
		g4(&b, v);
		return text_result(ex, &b, res);
	}
	return tmpl_time_string(ex, "humanizeTimestamp", v, res);
}
