/*
 * tmpl_printf.c: Go's fmt.Sprintf for the template function printf.
 *
 * Verbs real rule files use, with flags (+ - # space 0), widths and
 * precisions: %v %s %d %f %F %e %E %g %G %x %X %o %b %q %t %c %T and %%.
 * Widths count runes and the 0 flag pads strings too, as in Go.  A verb
 * that does not fit its operand prints %!v(type=value), a missing operand
 * %!v(MISSING), surplus ones %!(EXTRA type=value, ...), a lone % at the
 * end %!(NOVERB).  Widths past RULES_TMPL_MAX_OUTPUT and precisions past
 * 1000 stop the expansion as too large rather than allocate.
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
			tmpl_fmt_v(b, v);
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
			tmpl_fmt_v(b, v);
			return;
		case 's':
			if (v->kind == TV_STRING || v->kind == TV_MAP)
				tmpl_fmt_v(b, v);
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
				tmpl_fmt_v(b, v);
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
		if (tmpl_fmt_special(t, v->f, sp->plus))
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
				tmpl_fmt_v(b, &argv[k]);
			}
		}
		tmpl_buf_puts(b, ")");
	}
}

