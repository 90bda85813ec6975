/*
 * tmpl_printf.c: Go's fmt.Sprintf for the template function printf.
 *
 * Verbs with flags (+ - # space 0), widths and precisions as Go applies
 * them: %v %s %d %f %F %e %E %g %G %x %X %o %b %q %t %c %T and %%.  Widths
 * count runes and the 0 flag pads strings too; integers take leading zeros
 * from a precision or from 0 with a width; maps apply the verb and flags to
 * every key and element.  A verb that does not fit its operand prints
 * %!v(type=value) (the value with the same flags), a missing operand
 * %!v(MISSING), surplus ones %!(EXTRA type=value, ...), a lone % at the end
 * %!(NOVERB).  Not followed: the # flag on floats and %v (Go syntax), %x/%X
 * of floats (hex mantissa), %+q/%#q, %U.  Widths past RULES_TMPL_MAX_OUTPUT
 * and precisions past 1000 stop the expansion as too large rather than
 * allocate.
 */
#include <stdio.h>
#include <stdlib.h>

#include "rules/rules_int.h"

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

/* A rune as UTF-8 (U+FFFD for what is no valid code point). */
static void
put_rune(TmplBuf *b, int64_t r)
{
	char		u[4];

	tmpl_buf_put(b, u, tmpl_utf8_put(u, r < INT32_MIN || r > INT32_MAX ? -1 : (int32_t) r));
}

/*
 * Go's strconv.QuoteRune: invalid code points become U+FFFD, controls get
 * escapes; other runes at or past 0xA0 are taken as printable (Go asks
 * Unicode's tables, which only matters for rare characters).
 */
static void
quote_rune(TmplBuf *b, int64_t r)
{
	static const char named[] = "abtnvfr";

	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	tmpl_buf_puts(b, "'");
	if (r >= 7 && r <= 13)
		tmpl_buf_printf(b, "\\%c", named[r - 7]);
	else if (r < 0x20 || r == 0x7f)
		tmpl_buf_printf(b, "\\x%02x", (unsigned) r);
	else if (r >= 0x80 && r < 0xA0)
		tmpl_buf_printf(b, "\\u%04x", (unsigned) r);
	else
	{
		if (r == '\'' || r == '\\')
			tmpl_buf_puts(b, "\\");
		put_rune(b, r);
	}
	tmpl_buf_puts(b, "'");
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

static void
fill(TmplBuf *b, int n, bool zero)
{
	for (int i = 0; i < n; i++)
		tmpl_buf_puts(b, zero ? "0" : " ");
}

/* Go's fmt.pad: text padded to the width in runes, left or right. */
static void
pad(TmplBuf *b, const char *s, size_t len, const Spec *sp, bool zero)
{
	int			runes = 0;
	int			n;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			runes++;
	n = sp->width > runes ? sp->width - runes : 0;
	if (!sp->minus)
		fill(b, n, zero);
	tmpl_buf_put(b, s, len);
	if (sp->minus)
		fill(b, n, false);
}

static void
pad_str(TmplBuf *b, const char *s, const Spec *sp)
{
	pad(b, s, strlen(s), sp, sp->zero);
}

static void format_arg(TmplBuf *b, char verb, const Spec *sp, const TmplValue *v);

/* %!verb(type=value): the value as %v with the same flags, as Go prints it. */
static void
bad_verb(TmplBuf *b, char verb, const Spec *sp, const TmplValue *v)
{
	tmpl_buf_printf(b, "%%!%c(", verb);
	if (v->kind == TV_NIL)
		tmpl_buf_puts(b, "<nil>");
	else
	{
		tmpl_buf_puts(b, tmpl_type_name(v));
		tmpl_buf_puts(b, "=");
		format_arg(b, 'v', sp, v);
	}
	tmpl_buf_puts(b, ")");
}

/* Go's fmtInteger: precision or zero flag give leading zeros, then prefixes. */
static void
fmt_integer(TmplBuf *b, char verb, const Spec *sp, int64_t val)
{
	unsigned long long u = val < 0 ? 0ULL - (unsigned long long) val : (unsigned long long) val;
	char		digits[80];
	char		out[160];
	int			nd = 0,
				prec = 0,
				k = 0;
	int			base = verb == 'b' ? 2 : verb == 'o' ? 8 : (verb == 'x' || verb == 'X') ? 16 : 10;
	const char *set = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";

	if (sp->prec >= 0)
	{
		prec = sp->prec;
		if (prec == 0 && u == 0)
		{
			fill(b, sp->width, false);
			return;
		}
	}
	else if (sp->zero && sp->width >= 0)
		prec = sp->width - ((val < 0 || sp->plus || sp->space) ? 1 : 0);
	if (prec > 70)
		prec = 70;
	do
		digits[nd++] = set[u % (unsigned) base];
	while ((u /= (unsigned) base) != 0);
	while (nd < prec)
		digits[nd++] = '0';
	if (sp->sharp && base == 8 && digits[nd - 1] != '0')
		digits[nd++] = '0';
	if (val < 0)
		out[k++] = '-';
	else if (sp->plus)
		out[k++] = '+';
	else if (sp->space)
		out[k++] = ' ';
	if (sp->sharp && base == 16)
	{
		out[k++] = '0';
		out[k++] = verb;
	}
	else if (sp->sharp && base == 2)
	{
		out[k++] = '0';
		out[k++] = 'b';
	}
	while (nd > 0)
		out[k++] = digits[--nd];
	pad(b, out, (size_t) k, sp, false);
}

/* Go's fmtFloat for e E f F g G (prec < 0: shortest for g/G, 6 for the rest). */
static void
fmt_float(TmplBuf *b, char verb, const Spec *sp, double f)
{
	TmplBuf		t;
	const char *num;
	char		sign;

	tmpl_buf_init(&t, b->arena);
	if (isnan(f) || isinf(f))
	{
		if (isnan(f))
			tmpl_buf_puts(&t, sp->plus ? "+NaN" : sp->space ? " NaN" : "NaN");
		else
			tmpl_buf_puts(&t, f < 0 ? "-Inf" : sp->space && !sp->plus ? " Inf" : "+Inf");
		pad(b, t.data, t.len, sp, false);
		return;
	}
	if ((verb == 'g' || verb == 'G') && sp->prec < 0)
		tmpl_fmt_float_g(&t, f, -1);
	else if (verb == 'g' || verb == 'G')
		tmpl_fmt_float_g(&t, f, sp->prec);
	else
		tmpl_buf_printf(&t, verb == 'e' ? "%.*e" : verb == 'E' ? "%.*E" : "%.*f",
						sp->prec < 0 ? 6 : sp->prec, f);
	if (verb == 'G')
		for (char *c = t.data; *c; c++)
			if (*c == 'e')
				*c = 'E';
	num = t.data;
	sign = num[0] == '-' ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
	if (num[0] == '-')
		num++;
	if (sign && sp->zero && sp->width > (int) strlen(num) + 1)
	{
		tmpl_buf_put(b, &sign, 1);
		fill(b, sp->width - (int) strlen(num) - 1, true);
		tmpl_buf_puts(b, num);
		return;
	}
	{
		TmplBuf		u;

		tmpl_buf_init(&u, b->arena);
		if (sign)
			tmpl_buf_put(&u, &sign, 1);
		tmpl_buf_puts(&u, num);
		pad(b, u.data, u.len, sp, sp->zero);
	}
}

/* Go's fmtSbx: the bytes of s in hex, at most prec of them. */
static void
fmt_hex_string(TmplBuf *b, char verb, const Spec *sp, const char *s, size_t len)
{
	size_t		n = sp->prec >= 0 && (size_t) sp->prec < len ? (size_t) sp->prec : len;
	int			width = (int) (2 * n);
	const char *set = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";

	if (n == 0)
	{
		fill(b, sp->width, sp->zero);
		return;
	}
	if (sp->space)
		width = (sp->sharp ? width * 2 : width) + (int) n - 1;
	else if (sp->sharp)
		width += 2;
	if (sp->width > width && !sp->minus)
		fill(b, sp->width - width, sp->zero);
	for (size_t i = 0; i < n; i++)
	{
		char		h[2] = {set[(unsigned char) s[i] >> 4], set[(unsigned char) s[i] & 15]};

		if (sp->space && i > 0)
			tmpl_buf_puts(b, " ");
		if (sp->sharp && (sp->space || i == 0))
			tmpl_buf_puts(b, verb == 'X' ? "0X" : "0x");
		tmpl_buf_put(b, h, 2);
	}
	if (sp->width > width && sp->minus)
		fill(b, sp->width - width, false);
}

/* One operand under one verb, padded as Go pads it. */
static void
format_arg(TmplBuf *b, char verb, const Spec *sp, const TmplValue *v)
{
	TmplBuf		t;

	if (verb == 'T')
	{
		const char *name = tmpl_type_name(v);

		pad(b, name, rune_prefix(name, strlen(name), sp->prec), sp, sp->zero);
		return;
	}
	tmpl_buf_init(&t, b->arena);
	switch (v->kind)
	{
		case TV_NIL:
			if (verb != 'v')
				break;
			pad_str(b, "<nil>", sp);
			return;
		case TV_BOOL:
			if (verb != 'v' && verb != 't')
				break;
			pad_str(b, v->b ? "true" : "false", sp);
			return;
		case TV_INT:
			if (verb == 'c')
			{
				put_rune(&t, v->i);
				pad(b, t.data, t.len, sp, sp->zero);
				return;
			}
			if (verb == 'q')
			{
				quote_rune(&t, v->i);
				pad(b, t.data, t.len, sp, sp->zero);
				return;
			}
			if (!strchr("vdboxX", verb))
				break;
			fmt_integer(b, verb == 'v' ? 'd' : verb, sp, v->i);
			return;
		case TV_FLOAT:
			if (!strchr("veEfFgG", verb))
				break;
			fmt_float(b, verb == 'v' ? 'g' : verb == 'F' ? 'f' : verb, sp, v->f);
			return;
		case TV_STRING:
			if (verb == 'x' || verb == 'X')
			{
				fmt_hex_string(b, verb, sp, v->s, v->slen);
				return;
			}
			if (verb == 'q')
			{
				quote(&t, v->s, rune_prefix(v->s, v->slen, sp->prec));
				pad(b, t.data, t.len, sp, sp->zero);
				return;
			}
			if (verb != 'v' && verb != 's')
				break;
			pad(b, v->s, rune_prefix(v->s, v->slen, sp->prec), sp, sp->zero);
			return;
		case TV_MAP:
			/* Go applies the verb and flags to every key and element */
			tmpl_buf_puts(b, "map[");
			for (int i = 0; i < v->map->n; i++)
			{
				TmplValue	k = tmpl_string(NULL, v->map->keys[i], strlen(v->map->keys[i]));

				if (i > 0)
					tmpl_buf_puts(b, " ");
				format_arg(b, verb, sp, &k);
				tmpl_buf_puts(b, ":");
				format_arg(b, verb, sp, &v->map->vals[i]);
			}
			tmpl_buf_puts(b, "]");
			return;
		default:
			tmpl_fmt_v(&t, v);
			pad(b, t.data, t.len, sp, sp->zero);
			return;
	}
	bad_verb(b, verb, sp, v);
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
			if (fmt[i] == '-') sp.minus = true, sp.zero = false;
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
		/* a %+v reads + as "+v" (field names), not as a sign; bad verbs keep it */
		if (verb == 'v')
			sp.plus = false;
		format_arg(b, verb, &sp, &argv[argi]);
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
				tmpl_fmt_v(b, &argv[k]);
			}
		}
		tmpl_buf_puts(b, ")");
	}
}

