/*
 * promql_parse.c: lexer, recursive-descent parser and type checker for
 * PromQL as of Prometheus 2.42.
 *
 * Prometheus uses a yacc grammar; we use precedence climbing instead, which
 * gives the same trees for the same operator table: or < and/unless <
 * comparisons < +,- < *,/,%,atan2 < ^ (right-associative), unary +/- binding
 * like * (so -a^b is -(a^b)), and the postfix modifiers ([range],
 * [range:step], offset, @) binding tightest.  After parsing, the tree is type
 * checked with Prometheus's rules and messages.
 *
 * Errors are reported as "parse error at char N: msg" (N is 1-based and equal
 * to the column of 2.42's "1:N: parse error" form on one-line queries).  The
 * first error wins; parsing stops there via a longjmp to promql_parse, which
 * is safe because everything lives in the arena.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

typedef enum TokType
{
	T_EOF,
	T_ERROR,
	T_IDENT,					/* identifier or keyword (kw field says which) */
	T_NUMBER,
	T_DURATION,
	T_STRING,
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_LBRACKET,
	T_RBRACKET,
	T_COMMA,
	T_COLON,
	T_AT,
	T_ASSIGN,					/* = */
	T_EQLC,						/* == */
	T_NEQ,
	T_LTE,
	T_LSS,
	T_GTE,
	T_GTR,
	T_EQL_REGEX,
	T_NEQ_REGEX,
	T_ADD,
	T_SUB,
	T_MUL,
	T_DIV,
	T_MOD,
	T_POW
} TokType;

typedef struct Token
{
	TokType		type;
	int			pos;
	int			len;
	bool		has_colon;		/* identifier contains ':' */
} Token;

typedef struct Parser
{
	AlloyArena *arena;
	const char *q;
	int			len;
	int			pos;			/* lexer position */
	int			brace_depth;
	int			depth;			/* bounds the tree depth, see PROMQL_MAX_DEPTH */
	int			compat;			/* PROMQL_COMPAT_V2 or _V3 */
	Token		tok;			/* current lookahead */
	bool		have_tok;
	const char *err;
	jmp_buf		jb;
} Parser;

/*
 * Deepest expression tree accepted.  Parsing, type checking and evaluation
 * recurse over the tree, and inside the server a stack overflow would take
 * the backend down; real queries nest a few dozen levels at most.
 */
#define PROMQL_MAX_DEPTH 1000

static void parse_fail(Parser *p, int pos, const char *fmt,...)
			__attribute__((format(printf, 3, 4), noreturn));

static void deeper(Parser *p, int pos);

static void
parse_fail(Parser *p, int pos, const char *fmt,...)
{
	va_list		ap;
	char		buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->err = alloy_arena_sprintf(p->arena, "parse error at char %d: %s", pos + 1, buf);
	longjmp(p->jb, 1);
}

/* ---------------------------------------------------------------- lexer */

static bool
is_alpha(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum_(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int
peekc(Parser *p, int off)
{
	return p->pos + off < p->len ? (unsigned char) p->q[p->pos + off] : -1;
}

static bool
accept_set(Parser *p, const char *set)
{
	int			c = peekc(p, 0);

	if (c > 0 && strchr(set, c))
	{
		p->pos++;
		return true;
	}
	return false;
}

static void
accept_run(Parser *p, const char *set)
{
	while (accept_set(p, set))
		;
}

/* Prometheus's scanNumber: true when a number ends here. */
static bool
scan_number(Parser *p)
{
	const char *digits = "0123456789";

	if (peekc(p, 0) == '0' && (peekc(p, 1) == 'x' || peekc(p, 1) == 'X'))
	{
		p->pos += 2;
		digits = "0123456789abcdefABCDEF";
	}
	accept_run(p, digits);
	if (accept_set(p, "."))
		accept_run(p, digits);
	if (accept_set(p, "eE"))
	{
		accept_set(p, "+-");
		accept_run(p, "0123456789");
	}
	return !is_alnum_(peekc(p, 0));
}

static bool
accept_remaining_duration(Parser *p)
{
	if (!accept_set(p, "smhdwy"))
		return false;
	accept_set(p, "s");
	while (accept_set(p, "0123456789"))
	{
		accept_run(p, "0123456789");
		if (!accept_set(p, "smhdw"))
			return false;
		accept_set(p, "s");
	}
	return !is_alnum_(peekc(p, 0));
}

static void
lex_string(Parser *p, Token *t, char quote)
{
	p->pos++;
	if (quote == '`')
	{
		while (p->pos < p->len && p->q[p->pos] != '`')
			p->pos++;
		if (p->pos >= p->len)
			parse_fail(p, t->pos, "unterminated raw string");
		p->pos++;
		return;
	}
	for (;;)
	{
		int			c = peekc(p, 0);

		if (c < 0 || c == '\n')
			parse_fail(p, t->pos, "unterminated quoted string");
		p->pos++;
		if (c == quote)
			return;
		if (c == '\\')
		{
			int			e = peekc(p, 0);
			int			n = 0,
						base = 0;
			unsigned long x = 0,
						max = 0;

			if (e < 0)
				parse_fail(p, p->pos, "escape sequence not terminated");
			p->pos++;
			if ((e != 0 && strchr("abfnrtv\\", e)) || e == quote)
				continue;
			if (e >= '0' && e <= '7')
			{
				n = 3;
				base = 8;
				max = 255;
				p->pos--;
			}
			else if (e == 'x')
			{
				n = 2;
				base = 16;
				max = 255;
			}
			else if (e == 'u')
			{
				n = 4;
				base = 16;
				max = 0x10FFFF;
			}
			else if (e == 'U')
			{
				n = 8;
				base = 16;
				max = 0x10FFFF;
			}
			else
				parse_fail(p, p->pos - 2, "unknown escape sequence U+%04X '%c'", e, e);
			while (n-- > 0)
			{
				int			d = peekc(p, 0);
				int			v;

				if (d >= '0' && d <= '9')
					v = d - '0';
				else if (d >= 'a' && d <= 'f')
					v = d - 'a' + 10;
				else if (d >= 'A' && d <= 'F')
					v = d - 'A' + 10;
				else
					v = 16;
				if (v >= base)
				{
					if (d < 0)
						parse_fail(p, p->pos, "escape sequence not terminated");
					parse_fail(p, p->pos, "illegal character U+%04X '%c' in escape sequence", d, d);
				}
				x = x * base + v;
				p->pos++;
			}
			if (x > max || (x >= 0xD800 && x < 0xE000))
				parse_fail(p, p->pos, "escape sequence is an invalid Unicode code point");
		}
	}
}

static Token
lex_next(Parser *p)
{
	Token		t;
	int			c;

	memset(&t, 0, sizeof(t));
	for (;;)
	{
		c = peekc(p, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			p->pos++;
		else if (c == '#')
		{
			while (p->pos < p->len && p->q[p->pos] != '\n')
				p->pos++;
		}
		else
			break;
	}
	t.pos = p->pos;
	if (c < 0)
	{
		t.type = T_EOF;
		return t;
	}
	if (is_digit(c) || (c == '.' && is_digit(peekc(p, 1))))
	{
		if (scan_number(p))
			t.type = T_NUMBER;
		else if (accept_remaining_duration(p))
			t.type = T_DURATION;
		else
		{
			while (is_alnum_(peekc(p, 0)))
				p->pos++;
			parse_fail(p, t.pos, "bad number or duration syntax: \"%.*s\"",
					   p->pos - t.pos, p->q + t.pos);
		}
		t.len = p->pos - t.pos;
		return t;
	}
	if (is_alpha(c))
	{
		while (is_alnum_(peekc(p, 0)) || (p->brace_depth == 0 && peekc(p, 0) == ':'))
		{
			if (peekc(p, 0) == ':')
				t.has_colon = true;
			p->pos++;
		}
		t.type = T_IDENT;
		t.len = p->pos - t.pos;
		return t;
	}
	if (c == ':' && p->brace_depth == 0 && (is_alpha(peekc(p, 1)) || peekc(p, 1) == ':'))
	{
		/* metric names may start with a colon */
		while (is_alnum_(peekc(p, 0)) || peekc(p, 0) == ':')
			p->pos++;
		t.type = T_IDENT;
		t.has_colon = true;
		t.len = p->pos - t.pos;
		return t;
	}
	if (c == '"' || c == '\'' || c == '`')
	{
		lex_string(p, &t, (char) c);
		t.type = T_STRING;
		t.len = p->pos - t.pos;
		return t;
	}
	p->pos++;
	switch (c)
	{
		case '(':
			t.type = T_LPAREN;
			break;
		case ')':
			t.type = T_RPAREN;
			break;
		case '{':
			t.type = T_LBRACE;
			p->brace_depth++;
			break;
		case '}':
			t.type = T_RBRACE;
			if (p->brace_depth > 0)
				p->brace_depth--;
			break;
		case '[':
			t.type = T_LBRACKET;
			break;
		case ']':
			t.type = T_RBRACKET;
			break;
		case ',':
			t.type = T_COMMA;
			break;
		case ':':
			t.type = T_COLON;
			break;
		case '@':
			t.type = T_AT;
			break;
		case '+':
			t.type = T_ADD;
			break;
		case '-':
			t.type = T_SUB;
			break;
		case '*':
			t.type = T_MUL;
			break;
		case '/':
			t.type = T_DIV;
			break;
		case '%':
			t.type = T_MOD;
			break;
		case '^':
			t.type = T_POW;
			break;
		case '=':
			if (accept_set(p, "="))
				t.type = T_EQLC;
			else if (accept_set(p, "~"))
				t.type = T_EQL_REGEX;
			else
				t.type = T_ASSIGN;
			break;
		case '!':
			if (accept_set(p, "="))
				t.type = T_NEQ;
			else if (accept_set(p, "~"))
				t.type = T_NEQ_REGEX;
			else
				parse_fail(p, t.pos, "unexpected character after '!': %s",
						   p->pos < p->len ? alloy_arena_sprintf(p->arena, "'%c'", p->q[p->pos]) : "EOF");
			break;
		case '<':
			t.type = accept_set(p, "=") ? T_LTE : T_LSS;
			break;
		case '>':
			t.type = accept_set(p, "=") ? T_GTE : T_GTR;
			break;
		default:
			parse_fail(p, t.pos, "unexpected character: '%c'", c);
	}
	t.len = p->pos - t.pos;
	return t;
}

static Token *
peek(Parser *p)
{
	if (!p->have_tok)
	{
		p->tok = lex_next(p);
		p->have_tok = true;
	}
	return &p->tok;
}

static Token
next(Parser *p)
{
	Token		t = *peek(p);

	p->have_tok = false;
	return t;
}

static bool
tok_is_word(Parser *p, const Token *t, const char *w)
{
	return t->type == T_IDENT && (int) strlen(w) == t->len &&
		strncasecmp(p->q + t->pos, w, t->len) == 0;
}

static const char *
tok_text(Parser *p, const Token *t)
{
	return alloy_arena_strndup(p->arena, p->q + t->pos, t->len);
}

static const char *
tok_desc(Parser *p, const Token *t)
{
	switch (t->type)
	{
		case T_EOF:
			return "end of input";
		case T_IDENT:
			return alloy_arena_sprintf(p->arena, "identifier \"%.*s\"", t->len, p->q + t->pos);
		case T_NUMBER:
			return alloy_arena_sprintf(p->arena, "number \"%.*s\"", t->len, p->q + t->pos);
		case T_DURATION:
			return alloy_arena_sprintf(p->arena, "duration \"%.*s\"", t->len, p->q + t->pos);
		case T_STRING:
			return alloy_arena_sprintf(p->arena, "string %.*s", t->len, p->q + t->pos);
		default:
			return alloy_arena_sprintf(p->arena, "\"%.*s\"", t->len, p->q + t->pos);
	}
}

static void unexpected(Parser *p, const Token *t, const char *ctx, const char *expected)
			__attribute__((noreturn));

static void
unexpected(Parser *p, const Token *t, const char *ctx, const char *expected)
{
	parse_fail(p, t->pos, "unexpected %s%s%s%s%s", tok_desc(p, t),
			   ctx ? " in " : "", ctx ? ctx : "",
			   expected ? ", expected " : "", expected ? expected : "");
}

static Token
expect(Parser *p, TokType type, const char *ctx, const char *what)
{
	Token		t = next(p);

	if (t.type != type)
		unexpected(p, &t, ctx, what);
	return t;
}

/* ------------------------------------------------------------- literals */

static double
parse_number_text(Parser *p, const char *s, int len, int pos)
{
	char		buf[128];
	char	   *end;
	double		d;

	if (len >= (int) sizeof(buf))
		parse_fail(p, pos, "error parsing number: %.*s", len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "inf") == 0)
		return INFINITY;
	if (strcasecmp(buf, "nan") == 0)
		return NAN;
	/* Go's ParseInt(s, 0, 64) first: hex, and octal for a leading 0 */
	errno = 0;
	{
		long long	v = strtoll(buf, &end, 0);

		if (*end == '\0' && errno == 0 && end != buf)
		{
			/* strtoll also accepts "0x" alone or leading space; Go would not */
			return (double) v;
		}
	}
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || end == buf || (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X') && strchr(buf, '.')))
		parse_fail(p, pos, "error parsing number: strconv.ParseFloat: parsing \"%s\": invalid syntax", buf);
	return d;
}

/* model.ParseDuration: [Ny][Nw][Nd][Nh][Nm][Ns][Nms], units in this order. */
bool
promql_parse_duration(const char *s, size_t len, int64_t *ms)
{
	static const struct
	{
		const char *unit;
		int64_t		ms;
	}			units[] = {
		{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
		{"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000},
		{"s", 1000}, {"ms", 1}
	};
	size_t		i = 0;
	int			next_unit = 0;
	int64_t		total = 0;

	if (len == 1 && s[0] == '0')
	{
		*ms = 0;
		return true;
	}
	if (len == 0)
		return false;
	while (i < len)
	{
		int64_t		n = 0;
		size_t		st = i;
		int			u;
		size_t		ulen;

		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			if (n > INT64_MAX / 10)
				return false;
			n = n * 10 + (s[i] - '0');
			i++;
		}
		if (i == st || i >= len)
			return false;
		ulen = (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') ? 2 : 1;
		for (u = next_unit; u < 7; u++)
			if (strlen(units[u].unit) == ulen && strncmp(units[u].unit, s + i, ulen) == 0)
				break;
		if (u >= 7)
			return false;
		if (n != 0 && units[u].ms > INT64_MAX / n)
			return false;
		total += n * units[u].ms;
		next_unit = u + 1;
		i += ulen;
	}
	*ms = total;
	return true;
}

static int64_t
parse_duration_tok(Parser *p, const Token *t)
{
	int64_t		ms;

	if (!promql_parse_duration(p->q + t->pos, t->len, &ms))
		parse_fail(p, t->pos, "not a valid duration string: \"%.*s\"", t->len, p->q + t->pos);
	return ms;
}

/*
 * Prometheus 3 lets a number (seconds) stand where a duration is expected
 * and the reverse; 2.42 accepts only the exact token type.
 */
static bool
is_duration_tok(Parser *p, const Token *t)
{
	return t->type == T_DURATION || (p->compat == PROMQL_COMPAT_V3 && t->type == T_NUMBER);
}

static int64_t
duration_tok_ms(Parser *p, const Token *t)
{
	double		secs;

	if (t->type == T_DURATION)
	{
		int64_t		ms = parse_duration_tok(p, t);

		/* 2.42's parseDuration: every duration in a query (range, offset, subquery) is > 0 */
		if (ms == 0 && p->compat != PROMQL_COMPAT_V3)
			parse_fail(p, t->pos, "duration must be greater than 0");
		return ms;
	}
	secs = parse_number_text(p, p->q + t->pos, t->len, t->pos);
	if (!(fabs(secs * 1000.0) < 9.2e18))
		parse_fail(p, t->pos, "duration out of range");
	return (int64_t) round(secs * 1000.0);
}

/* strutil.Unquote: decode a lexed string token. */
static const char *
unquote(Parser *p, const Token *t)
{
	const char *s = p->q + t->pos + 1;
	int			n = t->len - 2;
	char	   *out = alloy_arena_alloc(p->arena, n * 2 + 8);
	int			o = 0;
	char		quote = p->q[t->pos];

	if (quote == '`')
		return alloy_arena_strndup(p->arena, s, n);
	for (int i = 0; i < n; i++)
	{
		unsigned long cp;
		int			digits,
					base;
		bool		raw_byte = true;

		if (s[i] != '\\')
		{
			out[o++] = s[i];
			continue;
		}
		i++;
		switch (s[i])
		{
			case 'a':
				out[o++] = '\a';
				continue;
			case 'b':
				out[o++] = '\b';
				continue;
			case 'f':
				out[o++] = '\f';
				continue;
			case 'n':
				out[o++] = '\n';
				continue;
			case 'r':
				out[o++] = '\r';
				continue;
			case 't':
				out[o++] = '\t';
				continue;
			case 'v':
				out[o++] = '\v';
				continue;
			case '\\':
			case '\'':
			case '"':
				out[o++] = s[i];
				continue;
			case 'x':
				digits = 2;
				base = 16;
				i++;
				break;
			case 'u':
				digits = 4;
				base = 16;
				raw_byte = false;
				i++;
				break;
			case 'U':
				digits = 8;
				base = 16;
				raw_byte = false;
				i++;
				break;
			default:
				digits = 3;
				base = 8;
				break;
		}
		cp = 0;
		for (int k = 0; k < digits; k++, i++)
		{
			int			c = s[i];
			int			v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;

			cp = cp * base + v;
		}
		i--;
		if (raw_byte)
			out[o++] = (char) cp;	/* raw byte */
		else
		{
			/* UTF-8 encode a code point */
			if (cp < 0x80)
				out[o++] = (char) cp;
			else if (cp < 0x800)
			{
				out[o++] = (char) (0xC0 | (cp >> 6));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
			else if (cp < 0x10000)
			{
				out[o++] = (char) (0xE0 | (cp >> 12));
				out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
			else
			{
				out[o++] = (char) (0xF0 | (cp >> 18));
				out[o++] = (char) (0x80 | ((cp >> 12) & 0x3F));
				out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (char) (0x80 | (cp & 0x3F));
			}
		}
	}
	out[o] = '\0';
	return out;
}

/* ----------------------------------------------------------------- parser */

static PromqlNode *parse_expr(Parser *p, int minprec);

static PromqlNode *
new_node(Parser *p, PromqlNodeType type, int start, int end)
{
	PromqlNode *n = alloy_arena_alloc0(p->arena, sizeof(PromqlNode));

	n->type = type;
	n->pos_start = start;
	n->pos_end = end;
	return n;
}

static const struct
{
	const char *word;
	PromqlOp	op;
}			agg_words[] = {
	{"sum", PROMQL_AGG_SUM}, {"avg", PROMQL_AGG_AVG}, {"count", PROMQL_AGG_COUNT},
	{"min", PROMQL_AGG_MIN}, {"max", PROMQL_AGG_MAX}, {"group", PROMQL_AGG_GROUP},
	{"stddev", PROMQL_AGG_STDDEV}, {"stdvar", PROMQL_AGG_STDVAR},
	{"topk", PROMQL_AGG_TOPK}, {"bottomk", PROMQL_AGG_BOTTOMK},
	{"count_values", PROMQL_AGG_COUNT_VALUES}, {"quantile", PROMQL_AGG_QUANTILE}
};

static PromqlOp
agg_op(Parser *p, const Token *t)
{
	if (t->type != T_IDENT)
		return PROMQL_OP_NONE;
	for (size_t i = 0; i < sizeof(agg_words) / sizeof(agg_words[0]); i++)
		if (tok_is_word(p, t, agg_words[i].word))
			return agg_words[i].op;
	return PROMQL_OP_NONE;
}

/* Binary operator at the token, with its precedence (0 when none). */
static PromqlOp
binary_op(Parser *p, const Token *t, int *prec)
{
	PromqlOp	op = PROMQL_OP_NONE;

	switch (t->type)
	{
		case T_ADD:
			op = PROMQL_OP_ADD;
			break;
		case T_SUB:
			op = PROMQL_OP_SUB;
			break;
		case T_MUL:
			op = PROMQL_OP_MUL;
			break;
		case T_DIV:
			op = PROMQL_OP_DIV;
			break;
		case T_MOD:
			op = PROMQL_OP_MOD;
			break;
		case T_POW:
			op = PROMQL_OP_POW;
			break;
		case T_EQLC:
			op = PROMQL_OP_EQLC;
			break;
		case T_NEQ:
			op = PROMQL_OP_NEQ;
			break;
		case T_LTE:
			op = PROMQL_OP_LTE;
			break;
		case T_LSS:
			op = PROMQL_OP_LSS;
			break;
		case T_GTE:
			op = PROMQL_OP_GTE;
			break;
		case T_GTR:
			op = PROMQL_OP_GTR;
			break;
		case T_IDENT:
			if (tok_is_word(p, t, "and"))
				op = PROMQL_OP_LAND;
			else if (tok_is_word(p, t, "or"))
				op = PROMQL_OP_LOR;
			else if (tok_is_word(p, t, "unless"))
				op = PROMQL_OP_LUNLESS;
			else if (tok_is_word(p, t, "atan2"))
				op = PROMQL_OP_ATAN2;
			break;
		default:
			break;
	}
	switch (op)
	{
		case PROMQL_OP_LOR:
			*prec = 1;
			break;
		case PROMQL_OP_LAND:
		case PROMQL_OP_LUNLESS:
			*prec = 2;
			break;
		case PROMQL_OP_EQLC:
		case PROMQL_OP_NEQ:
		case PROMQL_OP_LTE:
		case PROMQL_OP_LSS:
		case PROMQL_OP_GTE:
		case PROMQL_OP_GTR:
			*prec = 3;
			break;
		case PROMQL_OP_ADD:
		case PROMQL_OP_SUB:
			*prec = 4;
			break;
		case PROMQL_OP_MUL:
		case PROMQL_OP_DIV:
		case PROMQL_OP_MOD:
		case PROMQL_OP_ATAN2:
			*prec = 5;
			break;
		case PROMQL_OP_POW:
			*prec = 6;
			break;
		default:
			*prec = 0;
	}
	return op;
}

static bool
is_comparison(PromqlOp op)
{
	return op >= PROMQL_OP_EQLC && op <= PROMQL_OP_GTR;
}

static bool
is_set_op(PromqlOp op)
{
	return op == PROMQL_OP_LAND || op == PROMQL_OP_LOR || op == PROMQL_OP_LUNLESS;
}

/* ( label, label, ... ) with keywords allowed as names. */
static const char **
parse_label_list(Parser *p, int *n, const char *ctx)
{
	const char **v = NULL;
	int			cap = 0;

	*n = 0;
	expect(p, T_LPAREN, ctx, "\"(\"");
	for (;;)
	{
		Token		t = next(p);

		if (t.type == T_RPAREN)
			break;
		if (t.type != T_IDENT || t.has_colon)
			unexpected(p, &t, ctx, "label");
		if (*n == cap)
		{
			cap = cap ? cap * 2 : 4;
			v = alloy_arena_realloc(p->arena, v, sizeof(char *) * (*n), sizeof(char *) * cap);
		}
		v[(*n)++] = tok_text(p, &t);
		t = next(p);
		if (t.type == T_RPAREN)
			break;
		if (t.type != T_COMMA)
			unexpected(p, &t, ctx, "\",\" or \")\"");
	}
	return v;
}

static void
add_matcher(Parser *p, PromqlNode *n, PromqlMatchType type, const char *name,
			const char *value, int pos)
{
	PromqlMatcher *m;

	n->matchers = alloy_arena_realloc(p->arena, n->matchers, sizeof(PromqlMatcher) * n->nmatchers,
								 sizeof(PromqlMatcher) * (n->nmatchers + 1));
	m = &n->matchers[n->nmatchers++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->name = name;
	m->value = value;
	if (type == PROMQL_MATCH_RE || type == PROMQL_MATCH_NRE)
	{
		char		errbuf[256];
		AlloyAllocHooks rxhooks = alloy_arena_hooks(p->arena);

		m->rx = alloy_regex_compile_flags(value, strlen(value), &rxhooks,
										   p->compat == PROMQL_COMPAT_V3 ? ALLOY_REGEX_DOTALL : 0,
										   errbuf, sizeof(errbuf));
		if (!m->rx)
			parse_fail(p, pos, "%s", errbuf);
	}
}

/* { name op "value", ... } */
static void
parse_matchers(Parser *p, PromqlNode *n)
{
	expect(p, T_LBRACE, NULL, "\"{\"");
	for (;;)
	{
		Token		t = next(p);
		Token		op,
					val;
		PromqlMatchType mt;

		if (t.type == T_RBRACE)
			break;
		if (t.type != T_IDENT)
			unexpected(p, &t, "label matching", "label matching operator");
		op = next(p);
		switch (op.type)
		{
			case T_ASSIGN:
				mt = PROMQL_MATCH_EQ;
				break;
			case T_NEQ:
				mt = PROMQL_MATCH_NEQ;
				break;
			case T_EQL_REGEX:
				mt = PROMQL_MATCH_RE;
				break;
			case T_NEQ_REGEX:
				mt = PROMQL_MATCH_NRE;
				break;
			default:
				unexpected(p, &op, "label matching", "label matching operator");
		}
		val = next(p);
		if (val.type != T_STRING)
			unexpected(p, &val, "label matching", "string");
		add_matcher(p, n, mt, tok_text(p, &t), unquote(p, &val), t.pos);
		t = next(p);
		if (t.type == T_RBRACE)
		{
			n->pos_end = t.pos + 1;
			break;
		}
		if (t.type != T_COMMA)
			unexpected(p, &t, "label matching", "\",\" or \"}\"");
	}
	n->pos_end = p->pos;
}

static PromqlNode *
parse_vector_selector(Parser *p, const Token *name)
{
	PromqlNode *n = new_node(p, PROMQL_NODE_VECTOR_SELECTOR, name ? name->pos : peek(p)->pos, 0);

	if (name)
	{
		n->metric = tok_text(p, name);
		n->pos_end = name->pos + name->len;
	}
	if (peek(p)->type == T_LBRACE)
		parse_matchers(p, n);
	if (n->metric)
	{
		/* the name becomes a __name__ matcher placed first, as Prometheus does */
		PromqlMatcher *old = n->matchers;
		int			k = n->nmatchers;

		for (int i = 0; i < k; i++)
			if (strcmp(old[i].name, "__name__") == 0)
				parse_fail(p, n->pos_start, "metric name must not be set twice: \"%s\" or \"%s\"",
						   n->metric, old[i].value);
		n->matchers = NULL;
		n->nmatchers = 0;
		add_matcher(p, n, PROMQL_MATCH_EQ, "__name__", n->metric, n->pos_start);
		for (int i = 0; i < k; i++)
		{
			n->matchers = alloy_arena_realloc(p->arena, n->matchers, sizeof(PromqlMatcher) * n->nmatchers,
										 sizeof(PromqlMatcher) * (n->nmatchers + 1));
			n->matchers[n->nmatchers++] = old[i];
		}
	}
	else
	{
		bool		nonempty = false;

		for (int i = 0; i < n->nmatchers; i++)
			if (!promql_matcher_matches(&n->matchers[i], ""))
				nonempty = true;
		if (!nonempty)
			parse_fail(p, n->pos_start, "vector selector must contain at least one non-empty matcher");
	}
	return n;
}

static PromqlNode **
parse_call_args(Parser *p, int *nargs, const char *ctx)
{
	PromqlNode **args = NULL;
	int			cap = 0;

	*nargs = 0;
	expect(p, T_LPAREN, ctx, "\"(\"");
	if (peek(p)->type == T_RPAREN)
	{
		next(p);
		return NULL;
	}
	for (;;)
	{
		Token		t;

		if (*nargs == cap)
		{
			cap = cap ? cap * 2 : 4;
			args = alloy_arena_realloc(p->arena, args, sizeof(PromqlNode *) * (*nargs),
								  sizeof(PromqlNode *) * cap);
		}
		args[(*nargs)++] = parse_expr(p, 1);
		t = next(p);
		if (t.type == T_RPAREN)
			break;
		if (t.type != T_COMMA)
			unexpected(p, &t, ctx, "\",\" or \")\"");
		if (peek(p)->type == T_RPAREN)
		{
			next(p);
			break;
		}
	}
	return args;
}

static PromqlNode *
parse_aggregate(Parser *p, const Token *optok, PromqlOp op)
{
	PromqlNode *n = new_node(p, PROMQL_NODE_AGGREGATE, optok->pos, 0);
	PromqlNode **args;
	int			nargs;
	bool		have_grouping = false;
	int			want;

	n->op = op;
	if (tok_is_word(p, peek(p), "by") || tok_is_word(p, peek(p), "without"))
	{
		n->without = tok_is_word(p, peek(p), "without");
		next(p);
		n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
		have_grouping = true;
	}
	if (peek(p)->type != T_LPAREN)
		unexpected(p, peek(p), "aggregation", "\"(\"");
	args = parse_call_args(p, &nargs, "aggregation");
	n->pos_end = p->pos;
	if (!have_grouping && (tok_is_word(p, peek(p), "by") || tok_is_word(p, peek(p), "without")))
	{
		n->without = tok_is_word(p, peek(p), "without");
		next(p);
		n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
		n->pos_end = p->pos;
	}
	if (nargs == 0)
		parse_fail(p, n->pos_start, "no arguments for aggregate expression provided");
	want = (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK ||
			op == PROMQL_AGG_COUNT_VALUES || op == PROMQL_AGG_QUANTILE) ? 2 : 1;
	if (nargs != want)
		parse_fail(p, n->pos_start,
				   "wrong number of arguments for aggregate expression provided, expected %d, got %d",
				   want, nargs);
	if (want == 2)
	{
		n->param = args[0];
		n->expr = args[1];
	}
	else
		n->expr = args[0];
	return n;
}

static PromqlNode *
parse_primary(Parser *p)
{
	Token		t = next(p);
	PromqlNode *n;

	switch (t.type)
	{
		case T_NUMBER:
			n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
			n->number = parse_number_text(p, p->q + t.pos, t.len, t.pos);
			return n;
		case T_DURATION:
			if (p->compat != PROMQL_COMPAT_V3)
				unexpected(p, &t, NULL, NULL);
			/* Prometheus 3: a duration literal is its number of seconds */
			n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
			n->number = (double) parse_duration_tok(p, &t) / 1000.0;
			return n;
		case T_STRING:
			n = new_node(p, PROMQL_NODE_STRING, t.pos, t.pos + t.len);
			n->str = unquote(p, &t);
			return n;
		case T_LPAREN:
			n = new_node(p, PROMQL_NODE_PAREN, t.pos, 0);
			n->expr = parse_expr(p, 1);
			expect(p, T_RPAREN, "paren expression", "\")\"");
			n->pos_end = p->pos;
			return n;
		case T_LBRACE:
			p->have_tok = false;
			/* re-lex from the brace: simplest is to step back */
			p->pos = t.pos;
			p->brace_depth--;
			return parse_vector_selector(p, NULL);
		case T_IDENT:
			{
				PromqlOp	op;

				if (tok_is_word(p, &t, "inf") || tok_is_word(p, &t, "nan"))
				{
					n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
					n->number = tok_is_word(p, &t, "inf") ? INFINITY : NAN;
					return n;
				}
				op = agg_op(p, &t);
				if (op != PROMQL_OP_NONE &&
					(peek(p)->type == T_LPAREN || tok_is_word(p, peek(p), "by") ||
					 tok_is_word(p, peek(p), "without")))
					return parse_aggregate(p, &t, op);
				if (peek(p)->type == T_LPAREN && !t.has_colon)
				{
					const PromqlFunction *f = promql_function_lookup(p->q + t.pos, t.len);

					if (f && f->only_compat &&
						f->only_compat != (p->compat == PROMQL_COMPAT_V3 ? PROMQL_COMPAT_V3 : PROMQL_COMPAT_V2))
						f = NULL;	/* e.g. holt_winters is gone in 3.x */
					if (!f)
						parse_fail(p, t.pos, "unknown function with name \"%.*s\"", t.len, p->q + t.pos);
					n = new_node(p, PROMQL_NODE_CALL, t.pos, 0);
					n->func = f;
					n->args = parse_call_args(p, &n->nargs, "function call");
					n->pos_end = p->pos;
					return n;
				}
				return parse_vector_selector(p, &t);
			}
		default:
			unexpected(p, &t, NULL, NULL);
	}
}

static bool
is_selector_like(const PromqlNode *n)
{
	return n->type == PROMQL_NODE_VECTOR_SELECTOR || n->type == PROMQL_NODE_MATRIX_SELECTOR ||
		n->type == PROMQL_NODE_SUBQUERY;
}

/* The node whose offset/@ a modifier sets (matrix selectors: the inner one). */
static PromqlNode *
modifier_target(PromqlNode *n)
{
	return n->type == PROMQL_NODE_MATRIX_SELECTOR ? n->expr : n;
}

static PromqlNode *
parse_postfix(Parser *p, PromqlNode *n)
{
	for (;;)
	{
		Token	   *t = peek(p);

		if (t->type == T_LBRACKET)
		{
			Token		d,
						c;
			int			start = t->pos;

			next(p);
			d = next(p);
			if (!is_duration_tok(p, &d))
				unexpected(p, &d, "range", "duration");
			c = next(p);
			if (c.type == T_RBRACKET)
			{
				PromqlNode *m;

				if (n->type != PROMQL_NODE_VECTOR_SELECTOR)
					parse_fail(p, n->pos_start, "ranges only allowed for vector selectors");
				/*
				 * 2.42's grammar only rejects a non-zero offset and a literal
				 * @ time here: "x offset 0s [5m]" and "x @ start() [5m]"
				 * parse, the latter as a range pinned to the start.
				 */
				if (n->has_offset && n->offset_ms != 0)
					parse_fail(p, start, "no offset modifiers allowed before range");
				if (n->at_kind == PROMQL_AT_TIME)
					parse_fail(p, start, "no @ modifiers allowed before range");
				m = new_node(p, PROMQL_NODE_MATRIX_SELECTOR, n->pos_start, p->pos);
				m->expr = n;
				m->range_ms = duration_tok_ms(p, &d);
				n = m;
				continue;
			}
			if (c.type == T_COLON)
			{
				PromqlNode *s = new_node(p, PROMQL_NODE_SUBQUERY, n->pos_start, 0);

				deeper(p, start);

				s->expr = n;
				s->range_ms = duration_tok_ms(p, &d);
				c = next(p);
				if (is_duration_tok(p, &c))
				{
					s->step_ms = duration_tok_ms(p, &c);
					c = next(p);
				}
				if (c.type != T_RBRACKET)
					unexpected(p, &c, "subquery selector", "\"]\"");
				s->pos_end = p->pos;
				n = s;
				continue;
			}
			unexpected(p, &c, "range", "\"]\" or \":\"");
		}
		else if (tok_is_word(p, t, "offset"))
		{
			Token		ot = next(p);
			Token		d = next(p);
			bool		neg = false;
			PromqlNode *tgt;

			if (d.type == T_SUB || d.type == T_ADD)
			{
				neg = d.type == T_SUB;
				d = next(p);
			}
			if (!is_duration_tok(p, &d))
				unexpected(p, &d, "offset", "duration");
			if (!is_selector_like(n))
				parse_fail(p, ot.pos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
			tgt = modifier_target(n);
			if (tgt->has_offset)
				parse_fail(p, ot.pos, "offset may not be set multiple times");
			tgt->has_offset = true;
			tgt->offset_ms = duration_tok_ms(p, &d) * (neg ? -1 : 1);
			n->pos_end = p->pos;
		}
		else if (t->type == T_AT)
		{
			Token		at = next(p);
			Token		v = next(p);
			PromqlNode *tgt;
			PromqlAtKind kind = PROMQL_AT_TIME;
			double		ts = 0;

			if (v.type == T_IDENT && (tok_is_word(p, &v, "start") || tok_is_word(p, &v, "end")))
			{
				kind = tok_is_word(p, &v, "start") ? PROMQL_AT_START : PROMQL_AT_END;
				expect(p, T_LPAREN, "@ modifier", "\"(\"");
				expect(p, T_RPAREN, "@ modifier", "\")\"");
			}
			else
			{
				bool		neg = false;

				if (v.type == T_SUB || v.type == T_ADD)
				{
					neg = v.type == T_SUB;
					v = next(p);
				}
				if (v.type == T_NUMBER)
					ts = parse_number_text(p, p->q + v.pos, v.len, v.pos);
				else if (v.type == T_DURATION && p->compat == PROMQL_COMPAT_V3)
					ts = (double) parse_duration_tok(p, &v) / 1000.0;
				else if (v.type == T_IDENT && (tok_is_word(p, &v, "inf") || tok_is_word(p, &v, "nan")))
					ts = tok_is_word(p, &v, "inf") ? INFINITY : NAN;
				else
					unexpected(p, &v, "@", "timestamp");
				if (neg)
					ts = -ts;
			}
			if (!is_selector_like(n))
				parse_fail(p, at.pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
			tgt = modifier_target(n);
			if (tgt->at_kind != PROMQL_AT_NONE)
				parse_fail(p, at.pos, "@ <timestamp> may not be set multiple times");
			if (kind == PROMQL_AT_TIME)
			{
				/* Prometheus bounds the seconds; we also need the milliseconds to fit */
				if (isinf(ts) || isnan(ts) || fabs(round(ts * 1000.0)) >= 9.2233720368547e18)
					parse_fail(p, at.pos, "timestamp out of bounds for @ modifier: %f", ts);
				tgt->at_ms = (int64_t) round(ts * 1000.0);
			}
			tgt->at_kind = kind;
			n->pos_end = p->pos;
		}
		else
			return n;
	}
}

static PromqlNode *
parse_unary(Parser *p)
{
	Token	   *t = peek(p);

	if (t->type == T_ADD || t->type == T_SUB)
	{
		Token		op = next(p);
		PromqlNode *e = parse_expr(p, 6);
		PromqlNode *n;

		if (e->type == PROMQL_NODE_NUMBER)
		{
			if (op.type == T_SUB)
				e->number = -e->number;
			e->pos_start = op.pos;
			return e;
		}
		n = new_node(p, PROMQL_NODE_UNARY, op.pos, e->pos_end);
		n->op = op.type == T_SUB ? PROMQL_OP_SUB : PROMQL_OP_ADD;
		n->expr = e;
		return n;
	}
	return parse_postfix(p, parse_primary(p));
}

static void
deeper(Parser *p, int pos)
{
	if (++p->depth > PROMQL_MAX_DEPTH)
		parse_fail(p, pos, "expression nested too deeply (more than %d levels)", PROMQL_MAX_DEPTH);
}

static PromqlNode *
parse_expr(Parser *p, int minprec)
{
	int			depth = p->depth;
	PromqlNode *lhs;

	deeper(p, peek(p)->pos);
	lhs = parse_unary(p);

	for (;;)
	{
		Token		t = *peek(p);
		int			prec;
		PromqlOp	op = binary_op(p, &t, &prec);
		PromqlNode *n;

		if (op == PROMQL_OP_NONE || prec < minprec)
		{
			p->depth = depth;
			return lhs;
		}
		deeper(p, t.pos);
		next(p);
		n = new_node(p, PROMQL_NODE_BINARY, lhs->pos_start, 0);
		n->op = op;
		n->lhs = lhs;
		if (tok_is_word(p, peek(p), "bool"))
		{
			next(p);
			n->return_bool = true;
		}
		if (tok_is_word(p, peek(p), "on") || tok_is_word(p, peek(p), "ignoring"))
		{
			n->on = tok_is_word(p, peek(p), "on");
			n->has_matching = true;
			next(p);
			n->grouping = parse_label_list(p, &n->ngrouping, "grouping opts");
			if (tok_is_word(p, peek(p), "group_left") || tok_is_word(p, peek(p), "group_right"))
			{
				n->card = tok_is_word(p, peek(p), "group_left") ? PROMQL_CARD_MANY_TO_ONE : PROMQL_CARD_ONE_TO_MANY;
				next(p);
				if (peek(p)->type == T_LPAREN)
					n->include = parse_label_list(p, &n->ninclude, "grouping opts");
			}
		}
		else if (tok_is_word(p, peek(p), "group_left") || tok_is_word(p, peek(p), "group_right"))
			unexpected(p, peek(p), "binary expression", NULL);
		n->rhs = parse_expr(p, op == PROMQL_OP_POW ? prec : prec + 1);
		n->pos_end = n->rhs->pos_end;
		lhs = n;
	}
}

/* ------------------------------------------------------------ type check */

PromqlValueType
promql_node_type(const PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
			return PROMQL_VAL_SCALAR;
		case PROMQL_NODE_STRING:
			return PROMQL_VAL_STRING;
		case PROMQL_NODE_VECTOR_SELECTOR:
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_MATRIX_SELECTOR:
		case PROMQL_NODE_SUBQUERY:
			return PROMQL_VAL_MATRIX;
		case PROMQL_NODE_CALL:
			return n->func->ret;
		case PROMQL_NODE_AGGREGATE:
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_BINARY:
			if (promql_node_type(n->lhs) == PROMQL_VAL_SCALAR &&
				promql_node_type(n->rhs) == PROMQL_VAL_SCALAR)
				return PROMQL_VAL_SCALAR;
			return PROMQL_VAL_VECTOR;
		case PROMQL_NODE_UNARY:
		case PROMQL_NODE_PAREN:
			return promql_node_type(n->expr);
	}
	return PROMQL_VAL_NONE;
}

const char *
promql_value_type_name(PromqlValueType t)
{
	switch (t)
	{
		case PROMQL_VAL_SCALAR:
			return "scalar";
		case PROMQL_VAL_VECTOR:
			return "instant vector";
		case PROMQL_VAL_MATRIX:
			return "range vector";
		case PROMQL_VAL_STRING:
			return "string";
		default:
			return "none";
	}
}

static void
expect_type(Parser *p, const PromqlNode *n, PromqlValueType want, const char *ctx)
{
	PromqlValueType t = promql_node_type(n);

	if (t != want)
		parse_fail(p, n->pos_start, "expected type %s in %s, got %s",
				   promql_value_type_name(want), ctx, promql_value_type_name(t));
}

static void
check_ast(Parser *p, PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
		case PROMQL_NODE_STRING:
		case PROMQL_NODE_VECTOR_SELECTOR:
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			break;
		case PROMQL_NODE_PAREN:
			check_ast(p, n->expr);
			break;
		case PROMQL_NODE_SUBQUERY:
			check_ast(p, n->expr);
			if (promql_node_type(n->expr) != PROMQL_VAL_VECTOR)
				parse_fail(p, n->pos_start, "subquery is only allowed on instant vector, got %s instead",
						   promql_value_type_name(promql_node_type(n->expr)));
			break;
		case PROMQL_NODE_UNARY:
			check_ast(p, n->expr);
			{
				PromqlValueType t = promql_node_type(n->expr);

				if (t != PROMQL_VAL_SCALAR && t != PROMQL_VAL_VECTOR)
					parse_fail(p, n->pos_start,
							   "unary expression only allowed on expressions of type scalar or instant vector, got \"%s\"",
							   promql_value_type_name(t));
			}
			break;
		case PROMQL_NODE_AGGREGATE:
			check_ast(p, n->expr);
			if (n->param)
				check_ast(p, n->param);
			expect_type(p, n->expr, PROMQL_VAL_VECTOR, "aggregation expression");
			if (n->op == PROMQL_AGG_TOPK || n->op == PROMQL_AGG_BOTTOMK || n->op == PROMQL_AGG_QUANTILE)
				expect_type(p, n->param, PROMQL_VAL_SCALAR, "aggregation parameter");
			if (n->op == PROMQL_AGG_COUNT_VALUES)
				expect_type(p, n->param, PROMQL_VAL_STRING, "aggregation parameter");
			break;
		case PROMQL_NODE_CALL:
			{
				const PromqlFunction *f = n->func;
				const char *ctx = alloy_arena_sprintf(p->arena, "call to function \"%s\"", f->name);

				if (f->variadic == 0)
				{
					if (n->nargs != f->nargtypes)
						parse_fail(p, n->pos_start, "expected %d argument(s) in call to \"%s\", got %d",
								   f->nargtypes, f->name, n->nargs);
				}
				else
				{
					int			na = f->nargtypes - 1;

					if (na > n->nargs)
						parse_fail(p, n->pos_start, "expected at least %d argument(s) in call to \"%s\", got %d",
								   na, f->name, n->nargs);
					if (f->variadic > 0 && na + f->variadic < n->nargs)
						parse_fail(p, n->pos_start, "expected at most %d argument(s) in call to \"%s\", got %d",
								   na + f->variadic, f->name, n->nargs);
				}
				for (int i = 0; i < n->nargs; i++)
				{
					int			k = i;

					check_ast(p, n->args[i]);
					if (k >= f->nargtypes)
					{
						if (f->variadic == 0)
							continue;
						k = f->nargtypes - 1;
					}
					expect_type(p, n->args[i], f->argtypes[k], ctx);
				}
			}
			break;
		case PROMQL_NODE_BINARY:
			{
				PromqlValueType lt,
							rt;

				check_ast(p, n->lhs);
				check_ast(p, n->rhs);
				lt = promql_node_type(n->lhs);
				rt = promql_node_type(n->rhs);
				if (n->return_bool && !is_comparison(n->op))
					parse_fail(p, n->pos_start, "bool modifier can only be used on comparison operators");
				if (is_comparison(n->op) && !n->return_bool &&
					lt == PROMQL_VAL_SCALAR && rt == PROMQL_VAL_SCALAR)
					parse_fail(p, n->pos_start, "comparisons between scalars must use BOOL modifier");
				if (is_set_op(n->op) && n->card == PROMQL_CARD_ONE_TO_ONE)
					n->card = PROMQL_CARD_MANY_TO_MANY;
				for (int i = 0; i < n->ngrouping; i++)
					for (int j = 0; j < n->ninclude; j++)
						if (n->on && strcmp(n->grouping[i], n->include[j]) == 0)
							parse_fail(p, n->pos_start, "label \"%s\" must not occur in ON and GROUP clause at once",
									   n->grouping[i]);
				if (lt != PROMQL_VAL_SCALAR && lt != PROMQL_VAL_VECTOR)
					parse_fail(p, n->lhs->pos_start, "binary expression must contain only scalar and instant vector types");
				if (rt != PROMQL_VAL_SCALAR && rt != PROMQL_VAL_VECTOR)
					parse_fail(p, n->rhs->pos_start, "binary expression must contain only scalar and instant vector types");
				if ((lt != PROMQL_VAL_VECTOR || rt != PROMQL_VAL_VECTOR) && n->has_matching)
				{
					/* as in 2.42, only matching labels are an error: "x * on() 2" parses */
					if (n->ngrouping > 0)
						parse_fail(p, n->pos_start, "vector matching only allowed between instant vectors");
					n->has_matching = false;
				}
				else if (is_set_op(n->op))
				{
					if (n->card == PROMQL_CARD_ONE_TO_MANY || n->card == PROMQL_CARD_MANY_TO_ONE)
						parse_fail(p, n->pos_start, "no grouping allowed for \"%s\" operation",
								   promql_op_name(n->op));
					if (n->card != PROMQL_CARD_MANY_TO_MANY)
						parse_fail(p, n->pos_start, "set operations must always be many-to-many");
				}
				if ((lt == PROMQL_VAL_SCALAR || rt == PROMQL_VAL_SCALAR) && is_set_op(n->op))
					parse_fail(p, n->pos_start, "set operator \"%s\" not allowed in binary scalar expression",
							   promql_op_name(n->op));
			}
			break;
	}
}

PromqlNode *
promql_parse(AlloyArena *arena, const char *query, size_t len, const char **err)
{
	return promql_parse_compat(arena, query, len, PROMQL_COMPAT_V2, err);
}

PromqlNode *
promql_parse_compat(AlloyArena *arena, const char *query, size_t len, int compat,
					const char **err)
{
	Parser		p;
	PromqlNode *volatile root = NULL;

	memset(&p, 0, sizeof(p));
	p.arena = arena;
	p.compat = compat;
	p.q = query;
	p.len = (int) len;
	*err = NULL;
	if (setjmp(p.jb) != 0)
	{
		*err = p.err;
		return NULL;
	}
	if (peek(&p)->type == T_EOF)
		parse_fail(&p, 0, "no expression found in input");
	root = parse_expr(&p, 1);
	if (peek(&p)->type != T_EOF)
		unexpected(&p, peek(&p), NULL, NULL);
	check_ast(&p, root);
	{
		PromqlValueType t = promql_node_type(root);

		if (t != PROMQL_VAL_SCALAR && t != PROMQL_VAL_VECTOR &&
			t != PROMQL_VAL_MATRIX && t != PROMQL_VAL_STRING)
			parse_fail(&p, 0, "expression must have a valid expression type but got %s",
					   promql_value_type_name(t));
	}
	return root;
}

/* --------------------------------------------------------------- printing */

const char *
promql_op_name(PromqlOp op)
{
	static const char *const names[] = {
		"", "or", "and", "unless", "==", "!=", "<=", "<", ">=", ">", "+", "-", "*", "/",
		"%", "atan2", "^", "sum", "avg", "count", "min", "max", "group", "stddev",
		"stdvar", "topk", "bottomk", "count_values", "quantile"
	};

	if ((int) op < 0 || (size_t) op >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[op];
}

typedef struct StrBuf
{
	AlloyArena *arena;
	char	   *s;
	size_t		len,
				cap;
} StrBuf;

static void
sb_add(StrBuf *b, const char *s)
{
	size_t		n = strlen(s);

	if (b->len + n + 1 > b->cap)
	{
		size_t		nc = (b->cap ? b->cap * 2 : 64);

		while (nc < b->len + n + 1)
			nc *= 2;
		b->s = alloy_arena_realloc(b->arena, b->s, b->cap, nc);
		b->cap = nc;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static char *
fmt_duration(AlloyArena *a, int64_t ms)
{
	static const struct
	{
		const char *u;
		int64_t		ms;
	}			units[] = {
		{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
		{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}
	};
	char		buf[128] = "";
	size_t		o = 0;

	if (ms == 0)
		return alloy_arena_strdup(a, "0s");
	if (ms < 0)
	{
		buf[o++] = '-';
		ms = -ms;
	}
	for (int i = 0; i < 7; i++)
		if (ms >= units[i].ms)
		{
			o += snprintf(buf + o, sizeof(buf) - o, "%lld%s", (long long) (ms / units[i].ms), units[i].u);
			ms %= units[i].ms;
		}
	return alloy_arena_strdup(a, buf);
}

static char *
quote_str(AlloyArena *a, const char *s)
{
	StrBuf		b = {a, NULL, 0, 0};

	sb_add(&b, "\"");
	for (; *s; s++)
	{
		char		c[8];

		if (*s == '"' || *s == '\\')
			snprintf(c, sizeof(c), "\\%c", *s);
		else if (*s == '\n')
			snprintf(c, sizeof(c), "\\n");
		else
			snprintf(c, sizeof(c), "%c", *s);
		sb_add(&b, c);
	}
	sb_add(&b, "\"");
	return b.s;
}

static void
print_labels_list(StrBuf *b, const char **v, int n)
{
	sb_add(b, "(");
	for (int i = 0; i < n; i++)
	{
		if (i)
			sb_add(b, ", ");
		sb_add(b, v[i]);
	}
	sb_add(b, ")");
}

static void print_node(StrBuf *b, const PromqlNode *n);

static void
print_modifiers(StrBuf *b, const PromqlNode *n)
{
	if (n->at_kind == PROMQL_AT_TIME)
		sb_add(b, alloy_arena_sprintf(b->arena, " @ %.3f", n->at_ms / 1000.0));
	else if (n->at_kind == PROMQL_AT_START)
		sb_add(b, " @ start()");
	else if (n->at_kind == PROMQL_AT_END)
		sb_add(b, " @ end()");
	if (n->has_offset && n->offset_ms != 0)
		sb_add(b, alloy_arena_sprintf(b->arena, " offset %s", fmt_duration(b->arena, n->offset_ms)));
}

static void
print_selector(StrBuf *b, const PromqlNode *n)
{
	int			printed = 0;

	if (n->metric)
		sb_add(b, n->metric);
	for (int i = 0; i < n->nmatchers; i++)
	{
		const PromqlMatcher *m = &n->matchers[i];
		static const char *const ops[] = {"=", "!=", "=~", "!~"};

		if (n->metric && i == 0 && strcmp(m->name, "__name__") == 0)
			continue;
		sb_add(b, printed ? ", " : "{");
		sb_add(b, m->name);
		sb_add(b, ops[m->type]);
		sb_add(b, quote_str(b->arena, m->value));
		printed++;
	}
	if (printed)
		sb_add(b, "}");
	else if (!n->metric)
		sb_add(b, "{}");
}

static void
print_node(StrBuf *b, const PromqlNode *n)
{
	switch (n->type)
	{
		case PROMQL_NODE_NUMBER:
			if (isnan(n->number))
				sb_add(b, "NaN");
			else if (isinf(n->number))
				sb_add(b, n->number > 0 ? "+Inf" : "-Inf");
			else
				sb_add(b, alloy_arena_sprintf(b->arena, "%.17g", n->number));
			break;
		case PROMQL_NODE_STRING:
			sb_add(b, quote_str(b->arena, n->str));
			break;
		case PROMQL_NODE_VECTOR_SELECTOR:
			print_selector(b, n);
			print_modifiers(b, n);
			break;
		case PROMQL_NODE_MATRIX_SELECTOR:
			print_selector(b, n->expr);
			sb_add(b, alloy_arena_sprintf(b->arena, "[%s]", fmt_duration(b->arena, n->range_ms)));
			print_modifiers(b, n->expr);
			break;
		case PROMQL_NODE_SUBQUERY:
			print_node(b, n->expr);
			sb_add(b, alloy_arena_sprintf(b->arena, "[%s:%s]", fmt_duration(b->arena, n->range_ms),
									 n->step_ms ? fmt_duration(b->arena, n->step_ms) : ""));
			print_modifiers(b, n);
			break;
		case PROMQL_NODE_PAREN:
			sb_add(b, "(");
			print_node(b, n->expr);
			sb_add(b, ")");
			break;
		case PROMQL_NODE_UNARY:
			sb_add(b, promql_op_name(n->op));
			print_node(b, n->expr);
			break;
		case PROMQL_NODE_CALL:
			sb_add(b, n->func->name);
			sb_add(b, "(");
			for (int i = 0; i < n->nargs; i++)
			{
				if (i)
					sb_add(b, ", ");
				print_node(b, n->args[i]);
			}
			sb_add(b, ")");
			break;
		case PROMQL_NODE_AGGREGATE:
			sb_add(b, promql_op_name(n->op));
			if (n->without || n->ngrouping)
			{
				sb_add(b, n->without ? " without " : " by ");
				print_labels_list(b, n->grouping, n->ngrouping);
				sb_add(b, " ");
			}
			sb_add(b, "(");
			if (n->param)
			{
				print_node(b, n->param);
				sb_add(b, ", ");
			}
			print_node(b, n->expr);
			sb_add(b, ")");
			break;
		case PROMQL_NODE_BINARY:
			print_node(b, n->lhs);
			sb_add(b, " ");
			sb_add(b, promql_op_name(n->op));
			if (n->return_bool)
				sb_add(b, " bool");
			if (n->has_matching && (n->on || n->ngrouping))
			{
				sb_add(b, n->on ? " on" : " ignoring");
				print_labels_list(b, n->grouping, n->ngrouping);
			}
			if (n->card == PROMQL_CARD_MANY_TO_ONE || n->card == PROMQL_CARD_ONE_TO_MANY)
			{
				sb_add(b, n->card == PROMQL_CARD_MANY_TO_ONE ? " group_left" : " group_right");
				print_labels_list(b, n->include, n->ninclude);
			}
			sb_add(b, " ");
			print_node(b, n->rhs);
			break;
	}
}

char *
promql_node_string(AlloyArena *arena, const PromqlNode *n)
{
	StrBuf		b = {arena, NULL, 0, 0};

	sb_add(&b, "");
	print_node(&b, n);
	return b.s;
}
