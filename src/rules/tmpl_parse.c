/*
 * tmpl_parse.c: parse a rule template into a tree, once, at rule load.
 *
 * The grammar is Go text/template's without template definitions: text,
 * actions with pipelines ($x := cmd | cmd arg ...), if / else if / else,
 * range (with "$i, $v :=" forms) and with, each closed by end.  Whatever
 * Prometheus accepts but this engine does not run (define, template, block,
 * break, continue, character constants, a function outside our table) is
 * refused here with a one-line message, never at execution time.  Variables
 * are checked here too, as Go does: the alerting preamble declares $labels,
 * $externalLabels, $externalURL and $value, and $ is always there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rules/rules_int.h"

#define MAX_VARS 256

typedef struct Parser
{
	TmplLexer	lx;
	AlloyArena *arena;
	TmplToken	cur;			/* current token */
	bool		have_peek;
	TmplToken	peek;
	bool		trim_next;		/* the last action ended with -}} */
	bool		failed;
	char	   *err;
	size_t		errlen;
	int			depth;
	const char *vars[MAX_VARS];
	size_t		varlens[MAX_VARS];
	int			nvars;
} Parser;

static bool perr(Parser *p, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static bool
perr(Parser *p, const char *fmt,...)
{
	va_list		ap;

	if (p->failed)
		return false;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return false;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static TmplToken
raw_next(Parser *p)
{
	TmplToken	t;

	if (p->have_peek)
	{
		p->have_peek = false;
		return p->peek;
	}
	t = tmpl_lex_next(&p->lx);
	if (t.type == TT_ERROR)
		p->failed = true;		/* the lexer wrote the message */
	return t;
}

/*
 * Advance, applying trim markers: a text before "{{- " loses its trailing
 * white space, a text after " -}}" its leading white space; comments are
 * skipped but their markers still trim.
 */
static void
next(Parser *p)
{
	for (;;)
	{
		TmplToken	t = raw_next(p);

		if (t.type == TT_RIGHT && t.len == 1)
			p->trim_next = true;
		else if (t.type == TT_COMMENT)
		{
			p->trim_next = (t.len & 2) != 0;
			continue;
		}
		else if (t.type == TT_TEXT)
		{
			if (p->trim_next)
				while (t.len > 0 && is_space(*t.p))
					t.p++, t.len--;
			p->trim_next = false;
			p->peek = raw_next(p);
			p->have_peek = true;
			if ((p->peek.type == TT_LEFT || p->peek.type == TT_COMMENT) && (p->peek.len & 1))
				while (t.len > 0 && is_space(t.p[t.len - 1]))
					t.len--;
			if (t.len == 0)
				continue;
		}
		else if (t.type != TT_EOF)
			p->trim_next = false;
		p->cur = t;
		return;
	}
}

static TmplNode *
new_node(Parser *p, TmplNodeType type)
{
	TmplNode   *n = alloy_arena_alloc0(p->arena, sizeof(TmplNode));

	n->type = type;
	n->line = p->cur.line;
	return n;
}

static void
add_kid(Parser *p, TmplNode *parent, TmplNode *kid)
{
	if ((parent->nkids & (parent->nkids - 1)) == 0)
	{
		size_t		cap = parent->nkids ? (size_t) parent->nkids * 2 : 4;
		TmplNode  **k = alloy_arena_alloc(p->arena, cap * sizeof(TmplNode *));

		if (parent->nkids)
			memcpy(k, parent->kids, (size_t) parent->nkids * sizeof(TmplNode *));
		parent->kids = k;
	}
	parent->kids[parent->nkids++] = kid;
}

static bool
is_word(const TmplToken *t, const char *w)
{
	return t->type == TT_IDENT && t->len == strlen(w) && memcmp(t->p, w, t->len) == 0;
}

/* Split ".a.b" / "$x.a.b" into the head and field names. */
static void
split_fields(Parser *p, TmplNode *n, const char *s, size_t len, bool head)
{
	size_t		i = 0;

	if (head)
	{
		while (i < len && s[i] != '.')
			i++;
		n->text = alloy_arena_strndup(p->arena, s, i);
		n->len = i;
	}
	while (i < len)
	{
		size_t		j = ++i;

		while (j < len && s[j] != '.')
			j++;
		n->fields = alloy_arena_realloc(p->arena, n->fields, (size_t) n->nfields * sizeof(char *),
										(size_t) (n->nfields + 1) * sizeof(char *));
		n->fields[n->nfields++] = alloy_arena_strndup(p->arena, s + i, j - i);
		i = j;
	}
}

static bool
var_known(Parser *p, const char *s, size_t len)
{
	for (int i = p->nvars - 1; i >= 0; i--)
		if (p->varlens[i] == len && memcmp(p->vars[i], s, len) == 0)
			return true;
	return false;
}

static bool
declare_var(Parser *p, const char *s, size_t len)
{
	if (p->nvars >= MAX_VARS)
		return perr(p, "template: too many variables");
	p->vars[p->nvars] = s;
	p->varlens[p->nvars++] = len;
	return true;
}

static TmplNode *parse_pipeline(Parser *p, bool decl_ok, TmplTok end);

/* A number literal, typed as Go's text/template types it (int or float64). */
static TmplNode *
parse_number(Parser *p)
{
	TmplNode   *n = new_node(p, TN_NUMBER);
	char		buf[64];
	char	   *end;
	size_t		len = p->cur.len;
	bool		hex;

	if (len >= sizeof(buf) || memchr(p->cur.p, '_', len) != NULL)
		return perr(p, "template: unsupported number \"%.*s\"", (int) len, p->cur.p), NULL;
	memcpy(buf, p->cur.p, len);
	buf[len] = '\0';
	hex = strstr(buf, "0x") != NULL || strstr(buf, "0X") != NULL;
	n->is_float = !hex && strpbrk(buf, ".eE") != NULL;
	if (n->is_float)
	{
		n->fval = strtod(buf, &end);
		if (*end != '\0')
			return perr(p, "template: bad number syntax: \"%s\"", buf), NULL;
	}
	else
	{
		n->ival = strtoll(buf, &end, hex ? 16 : 10);
		if (*end != '\0' || (!hex && buf[0] == '0' && len > 1))
			return perr(p, "template: unsupported number \"%s\"", buf), NULL;
		n->fval = (double) n->ival;
	}
	next(p);
	return n;
}

/* One operand: a term and, after a parenthesized pipeline, .fields. */
static TmplNode *
parse_operand(Parser *p)
{
	TmplToken	t = p->cur;
	TmplNode   *n = NULL;

	switch (t.type)
	{
		case TT_IDENT:
			{
				int			f = tmpl_func_lookup(t.p, t.len);

				if (f < 0)
				{
					static const char *const kw[] = {"if", "else", "end", "range", "with", "define",
					"template", "block", "break", "continue", NULL};

					for (int i = 0; kw[i]; i++)
						if (is_word(&t, kw[i]))
							return perr(p, "template: unexpected \"%s\" in operand", kw[i]), NULL;
					return perr(p, "template: unsupported function \"%.*s\"", (int) t.len, t.p), NULL;
				}
				n = new_node(p, TN_FUNC);
				n->text = tmpl_func(f)->name;
				n->func = f;
				next(p);
				return n;
			}
		case TT_DOT:
			n = new_node(p, TN_DOT);
			next(p);
			return n;
		case TT_FIELD:
			n = new_node(p, TN_FIELD);
			split_fields(p, n, t.p, t.len, false);
			next(p);
			return n;
		case TT_VAR:
			n = new_node(p, TN_VAR);
			split_fields(p, n, t.p, t.len, true);
			if (!var_known(p, n->text, n->len))
				return perr(p, "template: undefined variable \"%s\"", n->text), NULL;
			next(p);
			return n;
		case TT_STRING:
			n = new_node(p, TN_STRING);
			n->text = t.p;
			n->len = t.len;
			next(p);
			return n;
		case TT_NUMBER:
			return parse_number(p);
		case TT_BOOL:
			n = new_node(p, TN_BOOL);
			n->bval = t.len == 4;
			next(p);
			return n;
		case TT_NIL:
			n = new_node(p, TN_NIL);
			next(p);
			return n;
		case TT_LPAREN:
			n = new_node(p, TN_CHAIN);
			next(p);
			n->pipe = parse_pipeline(p, false, TT_RPAREN);
			if (n->pipe == NULL)
				return NULL;
			next(p);
			while (p->cur.type == TT_FIELD)
			{
				const TmplNode *last = n->pipe->kids[n->pipe->nkids - 1]->kids[0];

				/* toTime gives the printed time here, not Go's time.Time */
				if (last->type == TN_FUNC && strcmp(last->text, "toTime") == 0)
					return perr(p, "template: unsupported method on toTime's result"), NULL;
				split_fields(p, n, p->cur.p, p->cur.len, false);
				next(p);
			}
			return n;
		default:
			return perr(p, "template: unexpected %s in command",
						t.type == TT_EOF ? "EOF" : "token"), NULL;
	}
}

/* Refuse a call with the wrong number of arguments (extra: the piped value). */
static bool
check_arity(Parser *p, const TmplNode *fn, int nargs)
{
	const TmplFuncDef *f = tmpl_func(fn->func);

	if (nargs < f->minargs || (f->maxargs >= 0 && nargs > f->maxargs))
		return perr(p, "template: wrong number of args for %s: want %s%d got %d", f->name,
					f->maxargs < 0 ? "at least " : "", f->minargs, nargs);
	return true;
}

static TmplNode *
parse_command(Parser *p, TmplTok end)
{
	TmplNode   *cmd = new_node(p, TN_CMD);

	while (p->cur.type != TT_PIPE && p->cur.type != end && !p->failed)
	{
		TmplNode   *op;

		if (p->cur.type == TT_RIGHT || p->cur.type == TT_RPAREN || p->cur.type == TT_EOF)
			return perr(p, "template: unexpected %s in command",
						p->cur.type == TT_RPAREN ? "right paren" : "end of action"), NULL;
		op = parse_operand(p);
		if (op == NULL)
			return NULL;
		if (cmd->nkids > 0 && op->type == TN_FUNC && !check_arity(p, op, 0))
			return NULL;
		add_kid(p, cmd, op);
	}
	if (cmd->nkids == 0)
		return perr(p, "template: missing value for command"), NULL;
	if (cmd->kids[0]->type == TN_NIL)
		return perr(p, "template: nil is not a command"), NULL;
	if (cmd->nkids > 1 && cmd->kids[0]->type != TN_FUNC)
		return perr(p, "template: can't give argument to non-function"), NULL;
	return cmd;
}

/* [$a [, $b] := | =] command { | command } up to the end token. */
static TmplNode *
parse_pipeline(Parser *p, bool decl_ok, TmplTok end)
{
	TmplNode   *pipe = new_node(p, TN_PIPE);

	if (++p->depth > RULES_TMPL_MAX_DEPTH)
		return perr(p, "template: nesting deeper than %d", RULES_TMPL_MAX_DEPTH), NULL;
	if (p->cur.type == TT_VAR)
	{
		/* look ahead for a declaration without consuming the variable */
		TmplToken	v1 = p->cur;
		TmplToken	v2 = {0};

		next(p);
		if (p->cur.type == TT_COMMA && decl_ok)
		{
			next(p);
			if (p->cur.type != TT_VAR)
				return perr(p, "template: expected variable after comma"), NULL;
			v2 = p->cur;
			next(p);
			if (p->cur.type != TT_DECLARE && p->cur.type != TT_ASSIGN)
				return perr(p, "template: expected := after variables"), NULL;
		}
		if (p->cur.type == TT_DECLARE || p->cur.type == TT_ASSIGN)
		{
			bool		declare = p->cur.type == TT_DECLARE;

			if (memchr(v1.p, '.', v1.len) || (v2.p && memchr(v2.p, '.', v2.len)))
				return perr(p, "template: cannot assign to a field"), NULL;
			pipe->vars[0] = alloy_arena_strndup(p->arena, v1.p, v1.len);
			pipe->nvars = 1;
			if (v2.p)
			{
				pipe->vars[1] = alloy_arena_strndup(p->arena, v2.p, v2.len);
				pipe->nvars = 2;
			}
			pipe->declare = declare;
			if (!declare)
				for (int i = 0; i < pipe->nvars; i++)
					if (!var_known(p, pipe->vars[i], strlen(pipe->vars[i])))
						return perr(p, "template: undefined variable \"%s\"", pipe->vars[i]), NULL;
			next(p);
		}
		else
		{
			/* not a declaration: put the variable back as the first operand */
			p->peek = p->cur;
			p->have_peek = true;
			p->cur = v1;
			if (p->peek.type == TT_COMMA)
				return perr(p, "template: unexpected comma"), NULL;
		}
	}
	for (;;)
	{
		TmplNode   *cmd = parse_command(p, end);

		if (cmd == NULL)
			return NULL;
		if (pipe->nkids > 0 && cmd->kids[0]->type != TN_FUNC)
			return perr(p, "template: non executable command in pipeline stage %d", pipe->nkids + 1), NULL;
		if (cmd->kids[0]->type == TN_FUNC &&
			!check_arity(p, cmd->kids[0], cmd->nkids - 1 + (pipe->nkids > 0)))
			return NULL;
		add_kid(p, pipe, cmd);
		if (p->cur.type == end)
			break;
		next(p);				/* the | */
	}
	if (pipe->declare)
		for (int i = 0; i < pipe->nvars; i++)
			if (!declare_var(p, pipe->vars[i], strlen(pipe->vars[i])))
				return NULL;
	p->depth--;
	return pipe;
}

static TmplNode *parse_list(Parser *p, int *stop);

enum
{
	STOP_EOF, STOP_END, STOP_ELSE, STOP_ELSE_IF
};

/* if/range/with: pipeline, list, optional else (or else if), end. */
static TmplNode *
parse_control(Parser *p, TmplNodeType type)
{
	TmplNode   *n = new_node(p, type);
	int			mark = p->nvars;
	int			stop;

	if (++p->depth > RULES_TMPL_MAX_DEPTH)
		return perr(p, "template: nesting deeper than %d", RULES_TMPL_MAX_DEPTH), NULL;
	next(p);
	if (p->cur.type == TT_RIGHT)
		return perr(p, "template: missing value for %s",
					type == TN_IF ? "if" : type == TN_RANGE ? "range" : "with"), NULL;
	n->pipe = parse_pipeline(p, type == TN_RANGE, TT_RIGHT);
	if (n->pipe == NULL)
		return NULL;
	if (n->pipe->nvars == 2 && type != TN_RANGE)
		return perr(p, "template: too many declarations"), NULL;
	next(p);
	n->list = parse_list(p, &stop);
	if (n->list == NULL)
		return NULL;
	if (stop == STOP_ELSE_IF)
	{
		/* else if: an if nested in the else branch that shares our end */
		if (type != TN_IF)
			return perr(p, "template: else if allowed only after if"), NULL;
		n->elselist = new_node(p, TN_LIST);
		{
			TmplNode   *inner = parse_control(p, TN_IF);

			if (inner == NULL)
				return NULL;
			add_kid(p, n->elselist, inner);
		}
	}
	else if (stop == STOP_ELSE)
	{
		n->elselist = parse_list(p, &stop);
		if (n->elselist == NULL)
			return NULL;
		if (stop != STOP_END)
			return perr(p, "template: expected end; found %s", stop == STOP_EOF ? "EOF" : "else"), NULL;
	}
	else if (stop != STOP_END)
		return perr(p, "template: unexpected EOF"), NULL;
	p->nvars = mark;
	p->depth--;
	return n;
}

/*
 * Items up to {{end}}, {{else}} or the end of input; *stop says which.  On
 * STOP_ELSE_IF the current token is the "if" for parse_control to take;
 * otherwise the closing action has been consumed.
 */
static TmplNode *
parse_list(Parser *p, int *stop)
{
	TmplNode   *list = new_node(p, TN_LIST);

	for (;;)
	{
		if (p->failed)
			return NULL;
		if (p->cur.type == TT_EOF)
		{
			*stop = STOP_EOF;
			return list;
		}
		if (p->cur.type == TT_TEXT)
		{
			TmplNode   *t = new_node(p, TN_TEXT);

			t->text = p->cur.p;
			t->len = p->cur.len;
			add_kid(p, list, t);
			next(p);
			continue;
		}
		if (p->cur.type != TT_LEFT)
			return perr(p, "template: unexpected token"), NULL;
		next(p);
		if (is_word(&p->cur, "end"))
		{
			next(p);
			if (p->cur.type != TT_RIGHT)
				return perr(p, "template: unexpected token in end"), NULL;
			next(p);
			*stop = STOP_END;
			return list;
		}
		if (is_word(&p->cur, "else"))
		{
			next(p);
			if (is_word(&p->cur, "if"))
			{
				*stop = STOP_ELSE_IF;
				return list;
			}
			if (p->cur.type != TT_RIGHT)
				return perr(p, "template: unsupported else form"), NULL;
			next(p);
			*stop = STOP_ELSE;
			return list;
		}
		{
			TmplNode   *item;

			if (is_word(&p->cur, "if"))
				item = parse_control(p, TN_IF);
			else if (is_word(&p->cur, "range"))
				item = parse_control(p, TN_RANGE);
			else if (is_word(&p->cur, "with"))
				item = parse_control(p, TN_WITH);
			else if (is_word(&p->cur, "define") || is_word(&p->cur, "template") ||
					 is_word(&p->cur, "block") || is_word(&p->cur, "break") ||
					 is_word(&p->cur, "continue"))
				return perr(p, "template: unsupported action \"%.*s\"", (int) p->cur.len, p->cur.p), NULL;
			else
			{
				item = new_node(p, TN_ACTION);
				item->pipe = parse_pipeline(p, true, TT_RIGHT);
				if (item->pipe == NULL)
					return NULL;
				next(p);
			}
			if (item == NULL)
				return NULL;
			add_kid(p, list, item);
		}
	}
}

RulesTemplate *
rules_template_parse(AlloyArena *arena, const char *text, size_t len, char *err, size_t errlen)
{
	Parser		p;
	RulesTemplate *t;
	int			stop;

	memset(&p, 0, sizeof(p));
	p.arena = arena;
	p.err = err;
	p.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	tmpl_lex_init(&p.lx, arena, text, len, err, errlen);
	/* the alerting preamble's variables, and the root */
	declare_var(&p, "$", 1);
	declare_var(&p, "$labels", 7);
	declare_var(&p, "$externalLabels", 15);
	declare_var(&p, "$externalURL", 12);
	declare_var(&p, "$value", 6);
	next(&p);
	t = alloy_arena_alloc0(arena, sizeof(RulesTemplate));
	t->root = parse_list(&p, &stop);
	if (t->root == NULL || p.failed)
		return NULL;
	if (stop != STOP_EOF)
	{
		perr(&p, "template: unexpected {{%s}}", stop == STOP_END ? "end" : "else");
		return NULL;
	}
	return t;
}
