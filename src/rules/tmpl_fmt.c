/*
 * tmpl_fmt.c: output text as Go's fmt prints template values, for actions
 * and print/println (printf is tmpl_printf.c).
 *
 * What must match Go to the byte: a float64 printed plainly (%v) is the
 * shortest decimal that reads back to the same double, in exponent form
 * when its exponent is below -4 or at least 6 ("1.234567e+06"); NaN and
 * infinities are spelled NaN, +Inf, -Inf; maps print as map[k:v k:v] in key
 * order.  Samples print as Go prints a top-level *sample (&{map[...] v});
 * inside a vector Go would show pointer addresses, we show the contents.
 *
 * The buffer stops growing at RULES_TMPL_MAX_OUTPUT bytes and says so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rules/rules_int.h"

void
tmpl_buf_init(TmplBuf *b, AlloyArena *a)
{
	memset(b, 0, sizeof(*b));
	b->arena = a;
	b->cap = 64;
	b->data = alloy_arena_alloc(a, b->cap);
	b->data[0] = '\0';
}

void
tmpl_buf_put(TmplBuf *b, const char *s, size_t len)
{
	if (b->overflow || len > RULES_TMPL_MAX_OUTPUT - b->len)
	{
		b->overflow = true;
		return;
	}
	if (b->len + len + 1 > b->cap)
	{
		size_t		cap = b->cap;

		while (b->len + len + 1 > cap)
			cap *= 2;
		b->data = alloy_arena_realloc(b->arena, b->data, b->cap, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
tmpl_buf_puts(TmplBuf *b, const char *s)
{
	tmpl_buf_put(b, s, strlen(s));
}

void
tmpl_buf_printf(TmplBuf *b, const char *fmt,...)
{
	char		small[256];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n < sizeof(small))
	{
		tmpl_buf_put(b, small, (size_t) n);
		return;
	}
	if ((size_t) n > RULES_TMPL_MAX_OUTPUT)
	{
		b->overflow = true;
		return;
	}
	{
		char	   *big = alloy_arena_alloc(b->arena, (size_t) n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t) n + 1, fmt, ap);
		va_end(ap);
		tmpl_buf_put(b, big, (size_t) n);
	}
}

/* NaN, +Inf, -Inf as Go spells them; false for finite values. */
bool
tmpl_fmt_special(TmplBuf *b, double f, bool plus)
{
	if (isnan(f))
		tmpl_buf_puts(b, plus ? "+NaN" : "NaN");
	else if (isinf(f))
		tmpl_buf_puts(b, f > 0 ? "+Inf" : "-Inf");
	else
		return false;
	return true;
}

/*
 * Go's %g: with prec < 0 the shortest representation that reads back
 * exactly, exponent form when the exponent is < -4 or >= 6 (Go's rule for
 * shortest); with a precision the same as C's %.Ng.
 */
void
tmpl_fmt_float_g(TmplBuf *b, double f, int prec)
{
	char		tmp[64];
	int			nd;
	int			exp;

	if (tmpl_fmt_special(b, f, false))
		return;
	if (prec >= 0)
	{
		tmpl_buf_printf(b, "%.*g", prec, f);
		return;
	}
	if (f == 0)
	{
		tmpl_buf_puts(b, signbit(f) ? "-0" : "0");
		return;
	}
	for (nd = 1; nd <= 17; nd++)
	{
		snprintf(tmp, sizeof(tmp), "%.*e", nd - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	/* trailing zeros of the mantissa are not significant digits */
	exp = atoi(strchr(tmp, 'e') + 1);
	if (exp < -4 || exp >= 6)
	{
		tmpl_buf_puts(b, tmp);
		return;
	}
	tmpl_buf_printf(b, "%.*f", nd - 1 - exp > 0 ? nd - 1 - exp : 0, f);
}

/* A value as %v prints it (Fprint's operands too). */
void
tmpl_fmt_v(TmplBuf *b, const TmplValue *v)
{
	switch (v->kind)
	{
		case TV_NIL:
			tmpl_buf_puts(b, "<nil>");
			break;
		case TV_BOOL:
			tmpl_buf_puts(b, v->b ? "true" : "false");
			break;
		case TV_INT:
			tmpl_buf_printf(b, "%lld", (long long) v->i);
			break;
		case TV_FLOAT:
			tmpl_fmt_float_g(b, v->f, -1);
			break;
		case TV_STRING:
			tmpl_buf_put(b, v->s, v->slen);
			break;
		case TV_MAP:
		case TV_DATA:
			tmpl_buf_puts(b, v->kind == TV_MAP ? "map[" : "{");
			for (int j = 0; j < v->map->n; j++)
			{
				/* the data root prints in its struct's field order */
				static const int data_order[] = {2, 0, 1, 3};
				int			i = v->kind == TV_DATA ? data_order[j] : j;

				if (j > 0)
					tmpl_buf_puts(b, " ");
				if (v->kind == TV_MAP)
				{
					tmpl_buf_puts(b, v->map->keys[i]);
					tmpl_buf_puts(b, ":");
				}
				tmpl_fmt_v(b, &v->map->vals[i]);
			}
			tmpl_buf_puts(b, v->kind == TV_MAP ? "]" : "}");
			break;
		case TV_SAMPLE:
			{
				TmplValue	l = {.kind = TV_MAP, .map = &v->smp->labels, .string_map = true};

				tmpl_buf_puts(b, "&{");
				tmpl_fmt_v(b, &l);
				tmpl_buf_puts(b, " ");
				tmpl_fmt_float_g(b, v->smp->value, -1);
				tmpl_buf_puts(b, "}");
				break;
			}
		case TV_VECTOR:
			tmpl_buf_puts(b, "[");
			for (int i = 0; i < v->vec->n; i++)
			{
				TmplValue	s = {.kind = TV_SAMPLE, .smp = &v->vec->s[i]};

				if (i > 0)
					tmpl_buf_puts(b, " ");
				tmpl_fmt_v(b, &s);
			}
			tmpl_buf_puts(b, "]");
			break;
	}
}

/* What an action prints: Fprint of the value, "<no value>" for nothing. */
void
tmpl_fmt_value(TmplBuf *b, const TmplValue *v)
{
	if (v->kind == TV_NIL)
		tmpl_buf_puts(b, "<no value>");
	else
		tmpl_fmt_v(b, v);
}

/* fmt.Sprint (spaces between operands when neither is a string) and Sprintln. */
void
tmpl_sprint(TmplBuf *b, int argc, const TmplValue *argv, bool ln)
{
	for (int i = 0; i < argc; i++)
	{
		if (i > 0 && (ln || (argv[i].kind != TV_STRING && argv[i - 1].kind != TV_STRING)))
			tmpl_buf_puts(b, " ");
		tmpl_fmt_v(b, &argv[i]);
	}
	if (ln)
		tmpl_buf_puts(b, "\n");
}
