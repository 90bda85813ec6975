/*
 * tmpl_lex.c: the lexer of rule templates (Go text/template syntax).
 *
 * Outside actions everything up to "{{" is text; "{{- " and " -}}" trim the
 * white space of the neighbouring text (the parser does the trimming, the
 * lexer reports the markers by flagging TT_LEFT/TT_RIGHT tokens with len 1
 * for a trim); a comment (slash-star ... star-slash in braces) comes as a
 * TT_COMMENT carrying its trim markers.  Inside an action it yields
 * identifiers, .fields, $variables, strings (unquoted into the arena),
 * numbers, and the punctuation of pipelines and declarations.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* memmem */
#endif
#include <stdarg.h>
#include <stdio.h>

#include "rules/rules_int.h"

void
tmpl_lex_init(TmplLexer *lx, AlloyArena *arena, const char *src, size_t len,
			  char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->arena = arena;
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->err = err;
	lx->errlen = errlen;
}

static TmplToken lex_error(TmplLexer *lx, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static TmplToken
lex_error(TmplLexer *lx, const char *fmt,...)
{
	TmplToken	t = {TT_ERROR, NULL, 0, lx->line};
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(lx->err, lx->errlen, fmt, ap);
	va_end(ap);
	return t;
}

static TmplToken
tok(TmplLexer *lx, TmplTok type, size_t start)
{
	TmplToken	t = {type, lx->src + start, lx->pos - start, lx->line};

	return t;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alnum(unsigned char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c >= 0x80;
}

static bool
at(const TmplLexer *lx, const char *s)
{
	size_t		n = strlen(s);

	return lx->pos + n <= lx->len && memcmp(lx->src + lx->pos, s, n) == 0;
}

static void
advance(TmplLexer *lx, size_t n)
{
	for (size_t i = 0; i < n && lx->pos < lx->len; i++)
		if (lx->src[lx->pos++] == '\n')
			lx->line++;
}

/* Is there a "{{" comment here (after an optional trim marker)? Skip it. */
static bool
skip_comment(TmplLexer *lx, TmplToken *right, bool *err)
{
	size_t		p = lx->pos;
	const char *end;

	*err = false;
	if (!(p + 2 <= lx->len && memcmp(lx->src + p, "/*", 2) == 0))
		return false;
	end = memmem(lx->src + p + 2, lx->len - p - 2, "*/", 2);
	if (end == NULL)
	{
		*err = true;
		return true;
	}
	advance(lx, (size_t) (end - (lx->src + p)) + 2);
	if (at(lx, " -}}"))
	{
		*right = tok(lx, TT_RIGHT, lx->pos);
		right->len = 1;
		advance(lx, 4);
	}
	else if (at(lx, "}}"))
	{
		*right = tok(lx, TT_RIGHT, lx->pos);
		advance(lx, 2);
	}
	else
		*err = true;
	return true;
}

/* An identifier run, then any further .name parts ($x.a.b, .a.b). */
static void
lex_name_chain(TmplLexer *lx)
{
	for (;;)
	{
		while (lx->pos < lx->len && is_alnum((unsigned char) lx->src[lx->pos]))
			lx->pos++;
		if (lx->pos + 1 < lx->len && lx->src[lx->pos] == '.' &&
			is_alnum((unsigned char) lx->src[lx->pos + 1]))
			lx->pos++;
		else
			return;
	}
}

/* Unquote a "..." string (Go escapes) into the arena. */
static TmplToken
lex_quoted(TmplLexer *lx)
{
	size_t		start = lx->pos;
	char	   *out = alloy_arena_alloc(lx->arena, lx->len - start + 1);
	size_t		n = 0;

	lx->pos++;
	while (lx->pos < lx->len && lx->src[lx->pos] != '"')
	{
		char		c = lx->src[lx->pos++];

		if (c == '\n')
			return lex_error(lx, "template: unterminated quoted string");
		if (c != '\\')
		{
			out[n++] = c;
			continue;
		}
		if (lx->pos >= lx->len)
			break;
		c = lx->src[lx->pos++];
		switch (c)
		{
			case 'n': out[n++] = '\n'; break;
			case 't': out[n++] = '\t'; break;
			case 'r': out[n++] = '\r'; break;
			case 'a': out[n++] = '\a'; break;
			case 'b': out[n++] = '\b'; break;
			case 'f': out[n++] = '\f'; break;
			case 'v': out[n++] = '\v'; break;
			case '\\': out[n++] = '\\'; break;
			case '"': out[n++] = '"'; break;
			case '\'': out[n++] = '\''; break;
			case 'x':
			case 'u':
			case 'U':
				{
					int			nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
					uint32_t	v = 0;

					for (int k = 0; k < nd; k++)
					{
						char		h = lx->pos < lx->len ? lx->src[lx->pos++] : 0;

						if (h >= '0' && h <= '9') v = v * 16 + (uint32_t) (h - '0');
						else if (h >= 'a' && h <= 'f') v = v * 16 + (uint32_t) (h - 'a' + 10);
						else if (h >= 'A' && h <= 'F') v = v * 16 + (uint32_t) (h - 'A' + 10);
						else return lex_error(lx, "template: bad \\%c escape in string", c);
					}
					if (c == 'x')
						out[n++] = (char) v;
					else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
						return lex_error(lx, "template: escape sequence is invalid Unicode code point");
					else
						n += tmpl_utf8_put(out + n, (int32_t) v);
					break;
				}
			case '0': case '1': case '2': case '3':
			case '4': case '5': case '6': case '7':
				{
					unsigned	v = (unsigned) (c - '0');

					for (int k = 0; k < 2; k++)
					{
						char		o = lx->pos < lx->len ? lx->src[lx->pos++] : 0;

						if (o < '0' || o > '7')
							return lex_error(lx, "template: bad octal escape in string");
						v = v * 8 + (unsigned) (o - '0');
					}
					if (v > 255)
						return lex_error(lx, "template: octal escape value > 255");
					out[n++] = (char) v;
					break;
				}
			default:
				return lex_error(lx, "template: unsupported escape \\%c in string", c);
		}
	}
	if (lx->pos >= lx->len)
		return lex_error(lx, "template: unterminated quoted string");
	lx->pos++;
	out[n] = '\0';
	{
		TmplToken	t = {TT_STRING, out, n, lx->line};

		(void) start;
		return t;
	}
}

static TmplToken
lex_number(TmplLexer *lx)
{
	size_t		start = lx->pos;

	if (lx->src[lx->pos] == '+' || lx->src[lx->pos] == '-')
		lx->pos++;
	while (lx->pos < lx->len)
	{
		char		c = lx->src[lx->pos];
		char		prev = lx->src[lx->pos - 1];

		if (is_alnum((unsigned char) c) || c == '.' ||
			((c == '+' || c == '-') && (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P')))
			lx->pos++;
		else
			break;
	}
	return tok(lx, TT_NUMBER, start);
}

/* One token inside an action. */
static TmplToken
lex_action(TmplLexer *lx)
{
	size_t		start;
	char		c;

	while (lx->pos < lx->len && is_space(lx->src[lx->pos]))
	{
		if (at(lx, " -}}") || at(lx, "\t-}}") || at(lx, "\n-}}") || at(lx, "\r-}}"))
		{
			advance(lx, 1);
			start = lx->pos;
			advance(lx, 3);
			lx->in_action = false;
			{
				TmplToken	t = tok(lx, TT_RIGHT, start);

				t.len = 1;
				return t;
			}
		}
		advance(lx, 1);
	}
	start = lx->pos;
	if (lx->pos >= lx->len)
		return lex_error(lx, "template: unclosed action");
	if (at(lx, "}}"))
	{
		advance(lx, 2);
		lx->in_action = false;
		{
			TmplToken	t = tok(lx, TT_RIGHT, start);

			t.len = 0;
			return t;
		}
	}
	c = lx->src[lx->pos];
	switch (c)
	{
		case '|': lx->pos++; return tok(lx, TT_PIPE, start);
		case '(': lx->pos++; lx->paren++; return tok(lx, TT_LPAREN, start);
		case ')':
			if (lx->paren == 0)
				return lex_error(lx, "template: unexpected right paren");
			lx->paren--;
			lx->pos++;
			return tok(lx, TT_RPAREN, start);
		case ',': lx->pos++; return tok(lx, TT_COMMA, start);
		case '=': lx->pos++; return tok(lx, TT_ASSIGN, start);
		case ':':
			if (at(lx, ":="))
			{
				lx->pos += 2;
				return tok(lx, TT_DECLARE, start);
			}
			return lex_error(lx, "template: expected :=");
		case '"':
			return lex_quoted(lx);
		case '`':
			{
				const char *end = memchr(lx->src + lx->pos + 1, '`', lx->len - lx->pos - 1);
				TmplToken	t;

				if (end == NULL)
					return lex_error(lx, "template: unterminated raw quoted string");
				t.type = TT_STRING;
				t.p = lx->src + lx->pos + 1;
				t.len = (size_t) (end - t.p);
				t.line = lx->line;
				advance(lx, t.len + 2);
				t.p = alloy_arena_strndup(lx->arena, t.p, t.len);
				return t;
			}
		case '\'':
			return lex_error(lx, "template: unsupported character constant");
		case '$':
			lx->pos++;
			lex_name_chain(lx);
			return tok(lx, TT_VAR, start);
		case '.':
			if (lx->pos + 1 < lx->len && lx->src[lx->pos + 1] >= '0' && lx->src[lx->pos + 1] <= '9')
				return lex_number(lx);
			lx->pos++;
			if (lx->pos < lx->len && is_alnum((unsigned char) lx->src[lx->pos]))
			{
				lex_name_chain(lx);
				return tok(lx, TT_FIELD, start);
			}
			return tok(lx, TT_DOT, start);
		default:
			break;
	}
	if ((c >= '0' && c <= '9') || c == '+' || c == '-')
		return lex_number(lx);
	if (is_alnum((unsigned char) c))
	{
		TmplToken	t;

		while (lx->pos < lx->len && is_alnum((unsigned char) lx->src[lx->pos]))
			lx->pos++;
		t = tok(lx, TT_IDENT, start);
		if ((t.len == 4 && memcmp(t.p, "true", 4) == 0) || (t.len == 5 && memcmp(t.p, "false", 5) == 0))
			t.type = TT_BOOL;
		else if (t.len == 3 && memcmp(t.p, "nil", 3) == 0)
			t.type = TT_NIL;
		return t;
	}
	return lex_error(lx, "template: unexpected character %c in action", c);
}

/*
 * The next token.  Text tokens are returned untrimmed; the TT_LEFT after a
 * text has len 1 when it carries a trim marker, and so does TT_RIGHT.
 */
TmplToken
tmpl_lex_next(TmplLexer *lx)
{
	for (;;)
	{
		size_t		start = lx->pos;

		if (lx->in_action)
			return lex_action(lx);
		if (lx->pos >= lx->len)
			return tok(lx, TT_EOF, start);
		if (!at(lx, "{{"))
		{
			const char *open = memmem(lx->src + lx->pos, lx->len - lx->pos, "{{", 2);
			size_t		n = open ? (size_t) (open - (lx->src + lx->pos)) : lx->len - lx->pos;
			TmplToken	t = {TT_TEXT, lx->src + start, n, lx->line};

			advance(lx, n);
			return t;
		}
		/* an action opens */
		{
			TmplToken	t = tok(lx, TT_LEFT, start);
			TmplToken	right;
			bool		bad;

			advance(lx, 2);
			t.len = 0;
			if (lx->pos + 1 < lx->len && lx->src[lx->pos] == '-' && is_space(lx->src[lx->pos + 1]))
			{
				t.len = 1;
				advance(lx, 2);
				while (lx->pos < lx->len && is_space(lx->src[lx->pos]))
					advance(lx, 1);
			}
			if (skip_comment(lx, &right, &bad))
			{
				if (bad)
					return lex_error(lx, "template: unclosed comment");
				/* a comment: its trim markers in len (1 left, 2 right) */
				t.type = TT_COMMENT;
				t.len = (t.len ? 1 : 0) | (right.len ? 2 : 0);
				return t;
			}
			lx->in_action = true;
			return t;
		}
	}
}
