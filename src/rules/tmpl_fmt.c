/*
 * tmpl_fmt.c: output text as Go's fmt writes it, for template actions and
 * print/printf/println.
 *
 * What must match Go to the byte: a float64 printed plainly (%v) is the
 * shortest decimal that reads back to the same double, in exponent form
 * when its exponent is below -4 or at least 6 ("1.234567e+06"); NaN and
 * infinities are spelled NaN, +Inf, -Inf; maps print as map[k:v k:v] in key
 * order; a verb that does not fit its operand prints %!v(type=value), a
 * missing operand %!v(MISSING), surplus ones %!(EXTRA type=value, ...).
 * Widths count runes, and the 0 flag pads strings too.  Vectors and samples
 * print as Go prints them at top level except that nested samples show
 * their contents where Go would show pointer addresses.
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
static bool
special_float(TmplBuf *b, double f, bool plus)
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

	if (special_float(b, f, false))
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
static void
fmt_v(TmplBuf *b, const TmplValue *v, bool top)
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
				fmt_v(b, &v->map->vals[i], false);
			}
			tmpl_buf_puts(b, v->kind == TV_MAP ? "]" : "}");
			break;
		case TV_SAMPLE:
			{
				TmplValue	l = {.kind = TV_MAP, .map = &v->smp->labels, .string_map = true};

				tmpl_buf_puts(b, "&{");
				fmt_v(b, &l, false);
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
				fmt_v(b, &s, false);
			}
			tmpl_buf_puts(b, "]");
			break;
	}
	(void) top;
}

/* What an action prints: Fprint of the value, "<no value>" for nothing. */
void
tmpl_fmt_value(TmplBuf *b, const TmplValue *v)
{
	if (v->kind == TV_NIL)
		tmpl_buf_puts(b, "<no value>");
	else
		fmt_v(b, v, true);
}

/* At most prec runes of s (all of it for prec < 0). */
static size_t
rune_prefix(const char *s, size_t len, int prec)
{
	size_t		k = 0;
	int			r = 0;

	if (prec < 0)
		return len;
	while (k < len && (r < prec || ((unsigned char) s[k] & 0xC0) == 0x80))
	{
		if (((unsigned char) s[k] & 0xC0) != 0x80)
			r++;
		k++;
	}
	return k;
}

/* %!verb(type=value); the value keeps the verb's precision, as Go prints it. */
static void
bad_verb(TmplBuf *b, char verb, const TmplValue *v, int prec)
{
	tmpl_buf_printf(b, "%%!%c(", verb);
	if (v->kind == TV_NIL)
		tmpl_buf_puts(b, "<nil>");
	else
	{
		tmpl_buf_puts(b, tmpl_type_name(v));
		tmpl_buf_puts(b, "=");
		if (v->kind == TV_STRING)
			tmpl_buf_put(b, v->s, rune_prefix(v->s, v->slen, prec));
		else if (v->kind == TV_FLOAT && prec >= 0)
			tmpl_fmt_float_g(b, v->f, prec);
		else
			fmt_v(b, v, false);
	}
	tmpl_buf_puts(b, ")");
}

/* A rune as UTF-8 (U+FFFD for what is no valid code point). */
static void
put_rune(TmplBuf *b, int64_t r)
{
	char		u[4];

	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	if (r < 0x80)
	{
		u[0] = (char) r;
		tmpl_buf_put(b, u, 1);
	}
	else if (r < 0x800)
	{
		u[0] = (char) (0xC0 | (r >> 6));
		u[1] = (char) (0x80 | (r & 0x3F));
		tmpl_buf_put(b, u, 2);
	}
	else if (r < 0x10000)
	{
		u[0] = (char) (0xE0 | (r >> 12));
		u[1] = (char) (0x80 | ((r >> 6) & 0x3F));
		u[2] = (char) (0x80 | (r & 0x3F));
		tmpl_buf_put(b, u, 3);
	}
	else
	{
		u[0] = (char) (0xF0 | (r >> 18));
		u[1] = (char) (0x80 | ((r >> 12) & 0x3F));
		u[2] = (char) (0x80 | ((r >> 6) & 0x3F));
		u[3] = (char) (0x80 | (r & 0x3F));
		tmpl_buf_put(b, u, 4);
	}
}

/* Go's strconv.Quote for the bytes of s (valid UTF-8 is kept as it is). */
static void
quote(TmplBuf *b, const char *s, size_t len)
{
	tmpl_buf_puts(b, "\"");
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '"': tmpl_buf_puts(b, "\\\""); break;
			case '\\': tmpl_buf_puts(b, "\\\\"); break;
			case '\a': tmpl_buf_puts(b, "\\a"); break;
			case '\b': tmpl_buf_puts(b, "\\b"); break;
			case '\f': tmpl_buf_puts(b, "\\f"); break;
			case '\n': tmpl_buf_puts(b, "\\n"); break;
			case '\r': tmpl_buf_puts(b, "\\r"); break;
			case '\t': tmpl_buf_puts(b, "\\t"); break;
			case '\v': tmpl_buf_puts(b, "\\v"); break;
			default:
				if (c < 0x20 || c == 0x7f)
					tmpl_buf_printf(b, "\\x%02x", c);
				else
					tmpl_buf_put(b, (const char *) &c, 1);
		}
	}
	tmpl_buf_puts(b, "\"");
}

/* The operand under one verb, unpadded (prec: the verb's precision or -1). */
static void
fmt_verb(TmplBuf *b, char verb, const TmplValue *v, int prec, bool space)
{
	switch (verb)
	{
		case 'T':
			tmpl_buf_puts(b, tmpl_type_name(v));
			return;
		case 'c':
			if (v->kind == TV_INT)
				put_rune(b, v->i);
			else
				bad_verb(b, verb, v, prec);
			return;
		case 'x':
		case 'X':
			if (v->kind == TV_STRING)
			{
				for (size_t i = 0; i < v->slen; i++)
					tmpl_buf_printf(b, verb == 'x' ? "%s%02x" : "%s%02X", space && i > 0 ? " " : "",
									(unsigned char) v->s[i]);
			}
			else
				bad_verb(b, verb, v, prec);
			return;
		case 'v':
			fmt_v(b, v, true);
			return;
		case 's':
			if (v->kind == TV_STRING || v->kind == TV_MAP)
				fmt_v(b, v, true);
			else
				bad_verb(b, verb, v, prec);
			return;
		case 'q':
			if (v->kind == TV_STRING)
				quote(b, v->s, v->slen);
			else if (v->kind == TV_INT && v->i >= 0x20 && v->i < 0x7f)
			{
				/* a printable ASCII rune; Go escapes others, which we do not follow */
				tmpl_buf_puts(b, v->i == '\'' ? "'\\''" : v->i == '\\' ? "'\\\\'" : "'");
				if (v->i != '\'' && v->i != '\\')
				{
					put_rune(b, v->i);
					tmpl_buf_puts(b, "'");
				}
			}
			else
				bad_verb(b, verb, v, prec);
			return;
		case 't':
			if (v->kind == TV_BOOL)
				fmt_v(b, v, true);
			else
				bad_verb(b, verb, v, prec);
			return;
		default:
			bad_verb(b, verb, v, prec);
	}
}

typedef struct Spec
{
	bool		minus,
				plus,
				sharp,
				space,
				zero;
	int			width;			/* -1: none */
	int			prec;			/* -1: none */
} Spec;

/* Pad text (already formatted) to the width in runes. */
static void
pad(TmplBuf *b, const char *s, size_t len, const Spec *sp, bool numeric)
{
	size_t		runes = 0;
	int			fill;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			runes++;
	fill = sp->width > (int) runes ? sp->width - (int) runes : 0;
	if (sp->minus)
	{
		tmpl_buf_put(b, s, len);
		for (int i = 0; i < fill; i++)
			tmpl_buf_puts(b, " ");
		return;
	}
	if (sp->zero && numeric && len > 0 && (s[0] == '-' || s[0] == '+'))
	{
		tmpl_buf_put(b, s, 1);
		s++, len--;
	}
	for (int i = 0; i < fill; i++)
		tmpl_buf_puts(b, sp->zero ? "0" : " ");
	tmpl_buf_put(b, s, len);
}

/* One numeric verb (d x X o b e E f F g G) of a number, into tmp. */
static bool
fmt_number(TmplBuf *t, char verb, const Spec *sp, const TmplValue *v)
{
	char		cfmt[32];
	int			n = 0;

	if (v->kind == TV_INT && strchr("dxXob", verb))
	{
		unsigned long long mag = v->i < 0 ? 0ULL - (unsigned long long) v->i : (unsigned long long) v->i;
		const char *sign = v->i < 0 ? "-" : sp->plus ? "+" : sp->space ? " " : "";
		TmplBuf		d;

		tmpl_buf_init(&d, t->arena);
		if (verb == 'b')
		{
			char		bits[65];
			int			k = 64;

			bits[k] = '\0';
			do
				bits[--k] = (char) ('0' + (mag & 1));
			while ((mag >>= 1) != 0);
			tmpl_buf_puts(&d, bits + k);
		}
		else
			tmpl_buf_printf(&d, verb == 'd' ? "%.*llu" : verb == 'o' ? "%.*llo" : verb == 'x' ? "%.*llx" : "%.*llX",
							sp->prec < 0 ? 1 : sp->prec, mag);
		tmpl_buf_puts(t, sign);
		if (sp->sharp && verb == 'x')
			tmpl_buf_puts(t, "0x");
		else if (sp->sharp && verb == 'X')
			tmpl_buf_puts(t, "0X");
		tmpl_buf_puts(t, d.data);
		return true;
	}
	if (v->kind == TV_FLOAT && strchr("eEfFgG", verb))
	{
		if (special_float(t, v->f, sp->plus))
			return true;
		if ((verb == 'g' || verb == 'G') && sp->prec < 0)
		{
			if (sp->plus && !signbit(v->f))
				tmpl_buf_puts(t, "+");
			else if (sp->space && !signbit(v->f))
				tmpl_buf_puts(t, " ");
			tmpl_fmt_float_g(t, v->f, -1);
			if (verb == 'G')
				for (char *c = t->data; *c; c++)
					if (*c == 'e')
						*c = 'E';
			return true;
		}
		cfmt[n++] = '%';
		if (sp->plus)
			cfmt[n++] = '+';
		if (sp->space)
			cfmt[n++] = ' ';
		if (sp->sharp)
			cfmt[n++] = '#';
		snprintf(cfmt + n, sizeof(cfmt) - (size_t) n, ".%d%c", sp->prec < 0 ? 6 : sp->prec, verb);
		tmpl_buf_printf(t, cfmt, v->f);
		return true;
	}
	return false;
}

/* Go's fmt.Sprintf over template values. */
void
tmpl_sprintf(TmplBuf *b, const char *fmt, size_t fmtlen, int argc, const TmplValue *argv)
{
	int			argi = 0;
	size_t		i = 0;

	while (i < fmtlen)
	{
		Spec		sp = {false, false, false, false, false, -1, -1};
		char		verb;
		TmplBuf		t;

		if (fmt[i] != '%')
		{
			size_t		j = i;

			while (j < fmtlen && fmt[j] != '%')
				j++;
			tmpl_buf_put(b, fmt + i, j - i);
			i = j;
			continue;
		}
		i++;
		for (; i < fmtlen; i++)
		{
			if (fmt[i] == '-') sp.minus = true;
			else if (fmt[i] == '+') sp.plus = true;
			else if (fmt[i] == '#') sp.sharp = true;
			else if (fmt[i] == ' ') sp.space = true;
			else if (fmt[i] == '0') sp.zero = !sp.minus;
			else break;
		}
		/* numbers saturate past any cap, so they cannot overflow */
		while (i < fmtlen && fmt[i] >= '0' && fmt[i] <= '9')
		{
			sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (fmt[i++] - '0');
			if (sp.width > 100000000)
				sp.width = 100000000;
		}
		if (i < fmtlen && fmt[i] == '.')
		{
			sp.prec = 0;
			i++;
			while (i < fmtlen && fmt[i] >= '0' && fmt[i] <= '9')
			{
				sp.prec = sp.prec * 10 + (fmt[i++] - '0');
				if (sp.prec > 100000000)
					sp.prec = 100000000;
			}
		}
		if (sp.width > RULES_TMPL_MAX_OUTPUT || sp.prec > 1000)
		{
			b->overflow = true;
			return;
		}
		if (i >= fmtlen)
		{
			tmpl_buf_puts(b, "%!(NOVERB)");
			break;
		}
		verb = fmt[i++];
		if (verb == '%')
		{
			tmpl_buf_puts(b, "%");
			continue;
		}
		if (argi >= argc)
		{
			tmpl_buf_printf(b, "%%!%c(MISSING)", verb);
			continue;
		}
		tmpl_buf_init(&t, b->arena);
		if (fmt_number(&t, verb, &sp, &argv[argi]))
			pad(b, t.data, t.len, &sp, !isinf(argv[argi].f) && !isnan(argv[argi].f));
		else
		{
			const TmplValue *v = &argv[argi];

			if (v->kind == TV_STRING && sp.prec >= 0 && (verb == 's' || verb == 'v'))
				tmpl_buf_put(&t, v->s, rune_prefix(v->s, v->slen, sp.prec));
			else if (v->kind == TV_FLOAT && verb == 'v')
				fmt_number(&t, 'g', &sp, v);
			else if (v->kind == TV_INT && verb == 'v')
				fmt_number(&t, 'd', &sp, v);
			else
				fmt_verb(&t, verb, v, sp.prec, sp.space);
			pad(b, t.data, t.len, &sp, v->kind == TV_INT || v->kind == TV_FLOAT);
		}
		if (t.overflow)
			b->overflow = true;
		argi++;
	}
	if (argi < argc)
	{
		tmpl_buf_puts(b, "%!(EXTRA ");
		for (int k = argi; k < argc; k++)
		{
			if (k > argi)
				tmpl_buf_puts(b, ", ");
			if (argv[k].kind == TV_NIL)
				tmpl_buf_puts(b, "<nil>");
			else
			{
				tmpl_buf_puts(b, tmpl_type_name(&argv[k]));
				tmpl_buf_puts(b, "=");
				fmt_v(b, &argv[k], false);
			}
		}
		tmpl_buf_puts(b, ")");
	}
}

/* fmt.Sprint (spaces between operands when neither is a string) and Sprintln. */
void
tmpl_sprint(TmplBuf *b, int argc, const TmplValue *argv, bool ln)
{
	for (int i = 0; i < argc; i++)
	{
		if (i > 0 && (ln || (argv[i].kind != TV_STRING && argv[i - 1].kind != TV_STRING)))
			tmpl_buf_puts(b, " ");
		fmt_v(b, &argv[i], true);
	}
	if (ln)
		tmpl_buf_puts(b, "\n");
}
