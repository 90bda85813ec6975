/*
 * promql_func_label.c: the functions that make label sets: label_replace,
 * label_join, and the labels absent() and absent_over_time() give their
 * answer.
 */
#include <string.h>

#include "promql/promql_int.h"

/*
 * absent()'s labels: the equality matchers of a selector argument. As in
 * Prometheus 2.42 the matchers are applied in order: the first equality
 * matcher of a name sets it, any later matcher of that name (and any
 * non-equality matcher) deletes it, so {a!="x",a="y"} keeps a="y" while
 * {a="y",a!="x"} and {a="y",a="z"} drop a.
 */
PromqlLabels
promql_absent_labels(PromqlEval *ev, PromqlNode *arg)
{
	PromqlLabels out = {0, NULL};
	PromqlNode *vs = NULL;
	const char **has;
	int			nhas = 0;

	/* 2.42 unwraps parentheses around a call's arguments before this */
	arg = promql_unwrap_paren(arg);
	if (arg->type == PROMQL_NODE_VECTOR_SELECTOR)
		vs = arg;
	else if (arg->type == PROMQL_NODE_MATRIX_SELECTOR)
		vs = arg->expr;
	if (!vs)
		return out;
	has = alloy_arena_alloc(ev->arena, sizeof(char *) * (vs->nmatchers + 1));
	for (int i = 0; i < vs->nmatchers; i++)
	{
		const PromqlMatcher *m = &vs->matchers[i];
		bool		seen = false;

		if (strcmp(m->name, "__name__") == 0)
			continue;
		for (int j = 0; j < nhas && !seen; j++)
			seen = strcmp(has[j], m->name) == 0;
		if (m->type == PROMQL_MATCH_EQ && !seen)
		{
			out = promql_labels_set(ev->arena, &out, m->name, m->value);
			has[nhas++] = m->name;
		}
		else
			out = promql_labels_set(ev->arena, &out, m->name, NULL);
	}
	return out;
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static char *
expand_template(PromqlEval *ev, const AlloyRegex *rx, const char *tmpl, const char *src,
				const size_t *ovec, int npairs)
{
	size_t		cap = strlen(tmpl) + strlen(src) * 4 + 16;
	char	   *out = alloy_arena_alloc(ev->arena, cap);
	size_t		o = 0;

	for (const char *p = tmpl; *p;)
	{
		const char *name;
		size_t		nlen;
		int			g = -1;
		bool		braces = false;

		if (*p != '$')
		{
			if (o + 1 >= cap)
			{
				out = alloy_arena_realloc(ev->arena, out, cap, cap * 2);
				cap *= 2;
			}
			out[o++] = *p++;
			continue;
		}
		if (p[1] == '$')
		{
			out[o++] = '$';
			p += 2;
			continue;
		}
		name = p + 1;
		if (*name == '{')
		{
			braces = true;
			name++;
		}
		nlen = 0;
		while (name[nlen] && (name[nlen] == '_' || (name[nlen] >= 'a' && name[nlen] <= 'z') ||
							  (name[nlen] >= 'A' && name[nlen] <= 'Z') ||
							  (name[nlen] >= '0' && name[nlen] <= '9')))
			nlen++;
		if (nlen == 0 || (braces && name[nlen] != '}'))
		{
			/* malformed: copy the '$' literally */
			out[o++] = *p++;
			continue;
		}
		p = name + nlen + (braces ? 1 : 0);
		{
			bool		numeric = true;
			long		num = 0;

			for (size_t i = 0; i < nlen; i++)
			{
				if (name[i] < '0' || name[i] > '9')
				{
					numeric = false;
					break;
				}
				if (num < 100000)
					num = num * 10 + (name[i] - '0');
			}
			if (numeric)
				g = (int) num;
			else
				g = alloy_regex_group_number(rx, name, nlen);
		}
		if (g >= 0 && g < npairs && ovec[2 * g] != (size_t) -1)
		{
			size_t		len = ovec[2 * g + 1] - ovec[2 * g];

			while (o + len + 1 >= cap)
			{
				out = alloy_arena_realloc(ev->arena, out, cap, cap * 2);
				cap *= 2;
			}
			memcpy(out + o, src + ovec[2 * g], len);
			o += len;
		}
	}
	out[o] = '\0';
	return out;
}

/* label_replace(a, dst, replacement, src, regex) */
EvValue
promql_call_label_replace(PromqlEval *ev, PromqlNode *call, EvValue a, int64_t ts)
{
	EvValue		out = promql_vector_value();
	const char *dst = promql_ev_eval(ev, call->args[1], ts).str;
	const char *repl = promql_ev_eval(ev, call->args[2], ts).str;
	const char *src = promql_ev_eval(ev, call->args[3], ts).str;
	const char *re = promql_ev_eval(ev, call->args[4], ts).str;
	char		errbuf[256];
	AlloyAllocHooks rxhooks = alloy_arena_hooks(ev->arena);
	AlloyRegex *rx = alloy_regex_compile(re, strlen(re), &rxhooks, errbuf, sizeof(errbuf));
	size_t		ovec[2 * 32];

	if (!rx)
		promql_ev_error(ev, "invalid regular expression in label_replace(): %s", re);
	if (!alloy_valid_label_name(dst, strlen(dst)))
		promql_ev_error(ev, "invalid destination label name in label_replace(): %s", dst);
	for (int i = 0; i < a.vec.n; i++)
	{
		PromqlSample *s = &a.vec.s[i];
		const char *sv = promql_labels_get(&s->labels, src);
		int			np;
		PromqlLabels m = s->labels;

		if (!sv)
			sv = "";
		np = alloy_regex_captures(rx, sv, strlen(sv), ovec, 32);
		if (np >= 0)
			m = promql_labels_set(ev->arena, &m, dst,
								  expand_template(ev, rx, repl, sv, ovec, np));
		promql_vec_push(ev, &out.vec, m, ts, s->v);
	}
	return out;
}

/* label_join(a, dst, separator, src...) */
EvValue
promql_call_label_join(PromqlEval *ev, PromqlNode *call, EvValue a, int64_t ts)
{
	EvValue		out = promql_vector_value();
	const char *dst = promql_ev_eval(ev, call->args[1], ts).str;
	const char *sep = promql_ev_eval(ev, call->args[2], ts).str;
	int			nsrc = call->nargs - 3;
	const char **srcs = alloy_arena_alloc(ev->arena, sizeof(char *) * (nsrc + 1));

	for (int i = 0; i < nsrc; i++)
	{
		srcs[i] = promql_ev_eval(ev, call->args[3 + i], ts).str;
		if (!alloy_valid_label_name(srcs[i], strlen(srcs[i])))
			promql_ev_error(ev, "invalid source label name in label_join(): %s", srcs[i]);
	}
	if (!alloy_valid_label_name(dst, strlen(dst)))
		promql_ev_error(ev, "invalid destination label name in label_join(): %s", dst);
	for (int i = 0; i < a.vec.n; i++)
	{
		PromqlSample *s = &a.vec.s[i];
		size_t		len = 1;
		char	   *joined,
				   *p;

		for (int j = 0; j < nsrc; j++)
		{
			const char *v = promql_labels_get(&s->labels, srcs[j]);

			len += (v ? strlen(v) : 0) + strlen(sep);
		}
		joined = p = alloy_arena_alloc(ev->arena, len);
		*p = '\0';
		for (int j = 0; j < nsrc; j++)
		{
			const char *v = promql_labels_get(&s->labels, srcs[j]);

			if (j > 0)
				p = stpcpy(p, sep);
			p = stpcpy(p, v ? v : "");
		}
		promql_vec_push(ev, &out.vec, promql_labels_set(ev->arena, &s->labels, dst, joined),
						ts, s->v);
	}
	return out;
}
