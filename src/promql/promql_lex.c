/*
 * promql_lex.c: the PromQL lexer, as Prometheus 2.42's: identifiers and
 * keywords, numbers, durations, strings and operators, one token of
 * lookahead, the operators and aggregations tokens spell, and the
 * parser's error exit.
 *
 * Errors are reported as "parse error at char N: msg" (N is 1-based and
 * equal to the column of 2.42's "1:N: parse error" form on one-line
 * queries).  The first error wins; parsing stops there via a longjmp to
 * promql_parse, which is safe because everything lives in the arena.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "promql/promql_int.h"

/* Fail at query offset pos with a message: longjmps to promql_parse. */
void
promql_parse_fail(Parser *p, int pos, const char *fmt,...)
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
			promql_parse_fail(p, t->pos, "unterminated raw string");
		p->pos++;
		return;
	}
	for (;;)
	{
		int			c = peekc(p, 0);

		if (c < 0 || c == '\n')
			promql_parse_fail(p, t->pos, "unterminated quoted string");
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
				promql_parse_fail(p, p->pos, "escape sequence not terminated");
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
				promql_parse_fail(p, p->pos - 2, "unknown escape sequence U+%04X '%c'", e, e);
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
						promql_parse_fail(p, p->pos, "escape sequence not terminated");
					promql_parse_fail(p, p->pos, "illegal character U+%04X '%c' in escape sequence", d, d);
				}
				x = x * base + v;
				p->pos++;
			}
			if (x > max || (x >= 0xD800 && x < 0xE000))
				promql_parse_fail(p, p->pos, "escape sequence is an invalid Unicode code point");
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
			promql_parse_fail(p, t.pos, "bad number or duration syntax: \"%.*s\"",
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
	if (c == ':' && p->brace_depth == 0 && !p->bracket_open)
	{
		/* metric names may start with (or be) a colon */
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
			p->bracket_open = true;
			break;
		case ']':
			t.type = T_RBRACKET;
			p->bracket_open = false;
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
				promql_parse_fail(p, t.pos, "unexpected character after '!': %s",
						   p->pos < p->len ? alloy_arena_sprintf(p->arena, "'%c'", p->q[p->pos]) : "EOF");
			break;
		case '<':
			t.type = accept_set(p, "=") ? T_LTE : T_LSS;
			break;
		case '>':
			t.type = accept_set(p, "=") ? T_GTE : T_GTR;
			break;
		default:
			promql_parse_fail(p, t.pos, "unexpected character: '%c'", c);
	}
	t.len = p->pos - t.pos;
	return t;
}

/* The next token, without consuming it. */
Token *
promql_lex_peek(Parser *p)
{
	if (!p->have_tok)
	{
		p->tok = lex_next(p);
		p->have_tok = true;
	}
	return &p->tok;
}

/* The next token, consumed. */
Token
promql_lex_next(Parser *p)
{
	Token		t = *promql_lex_peek(p);

	p->have_tok = false;
	return t;
}

/* Is t the identifier w (keywords are case-insensitive)? */
bool
promql_lex_is_word(Parser *p, const Token *t, const char *w)
{
	return t->type == T_IDENT && (int) strlen(w) == t->len &&
		strncasecmp(p->q + t->pos, w, t->len) == 0;
}

/* The text of a token, copied into the arena. */
const char *
promql_lex_text(Parser *p, const Token *t)
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

/* Fail on token t: "unexpected <t> in <ctx>, expected <expected>". */
void
promql_lex_unexpected(Parser *p, const Token *t, const char *ctx, const char *expected)
{
	promql_parse_fail(p, t->pos, "unexpected %s%s%s%s%s", tok_desc(p, t),
			   ctx ? " in " : "", ctx ? ctx : "",
			   expected ? ", expected " : "", expected ? expected : "");
}

/* Consume a token of type type, or fail naming what was expected. */
Token
promql_lex_expect(Parser *p, TokType type, const char *ctx, const char *what)
{
	Token		t = promql_lex_next(p);

	if (t.type != type)
		promql_lex_unexpected(p, &t, ctx, what);
	return t;
}

/* ------------------------------------------------- operator tokens */

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

/* The aggregation operator token t names, or PROMQL_OP_NONE. */
PromqlOp
promql_lex_agg_op(Parser *p, const Token *t)
{
	if (t->type != T_IDENT)
		return PROMQL_OP_NONE;
	for (size_t i = 0; i < sizeof(agg_words) / sizeof(agg_words[0]); i++)
		if (promql_lex_is_word(p, t, agg_words[i].word))
			return agg_words[i].op;
	return PROMQL_OP_NONE;
}

/* Binary operator at the token, with its precedence (0 when none). */
PromqlOp
promql_lex_binary_op(Parser *p, const Token *t, int *prec)
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
			if (promql_lex_is_word(p, t, "and"))
				op = PROMQL_OP_LAND;
			else if (promql_lex_is_word(p, t, "or"))
				op = PROMQL_OP_LOR;
			else if (promql_lex_is_word(p, t, "unless"))
				op = PROMQL_OP_LUNLESS;
			else if (promql_lex_is_word(p, t, "atan2"))
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
