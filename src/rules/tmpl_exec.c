/*
 * tmpl_exec.c: expand a parsed rule template over one alert's data.
 *
 * Walks the tree as Go's text/template executes it: dot starts at the alert
 * data (.Labels .ExternalLabels .ExternalURL .Value) and $ is that data too;
 * the preamble Prometheus prepends defines $labels, $externalLabels,
 * $externalURL and $value.  Variables live on a stack that control
 * structures cut back at their end; range sets its variables anew for each
 * element (maps in key order, query results in order).  Every command and
 * range iteration counts a step against RULES_TMPL_MAX_STEPS and the output
 * stops at RULES_TMPL_MAX_OUTPUT bytes, so no template runs unbounded.
 */
#include <stdio.h>

#include "rules/rules_int.h"

typedef struct Var
{
	const char *name;
	TmplValue	val;
} Var;

typedef struct Exec
{
	TmplExec	pub;			/* what the functions see; first member */
	TmplBuf		out;
	Var		   *vars;
	int			nvars;
	int			cap;
} Exec;

static bool walk(Exec *e, const TmplNode *list, const TmplValue *dot);
static bool eval_pipe(Exec *e, const TmplNode *pipe, const TmplValue *dot, TmplValue *res, bool decl);

static bool
step(Exec *e)
{
	if (++e->pub.steps > RULES_TMPL_MAX_STEPS)
		return tmpl_error(&e->pub, "template exceeds %d steps", RULES_TMPL_MAX_STEPS);
	return !e->pub.failed;
}

static void
push_var(Exec *e, const char *name, const TmplValue *v)
{
	if (e->nvars == e->cap)
	{
		int			cap = e->cap ? e->cap * 2 : 16;

		e->vars = alloy_arena_realloc(e->pub.arena, e->vars, sizeof(Var) * (size_t) e->cap,
									  sizeof(Var) * (size_t) cap);
		e->cap = cap;
	}
	e->vars[e->nvars].name = name;
	e->vars[e->nvars].val = *v;
	e->nvars++;
}

static Var *
find_var(Exec *e, const char *name)
{
	for (int i = e->nvars - 1; i >= 0; i--)
		if (strcmp(e->vars[i].name, name) == 0)
			return &e->vars[i];
	return NULL;
}

static bool
fields(Exec *e, TmplValue *v, const TmplNode *n)
{
	for (int i = 0; i < n->nfields; i++)
		if (!tmpl_field(&e->pub, v, n->fields[i], v))
			return false;
	return true;
}

static bool call(Exec *e, const TmplNode *cmd, const TmplValue *dot, const TmplValue *final, TmplValue *res);

/* The value of one operand. */
static bool
operand(Exec *e, const TmplNode *n, const TmplValue *dot, TmplValue *res)
{
	memset(res, 0, sizeof(*res));
	switch (n->type)
	{
		case TN_DOT:
			*res = *dot;
			return true;
		case TN_FIELD:
			*res = *dot;
			return fields(e, res, n);
		case TN_VAR:
			{
				Var		   *v = find_var(e, n->text);

				if (v == NULL)
					return tmpl_error(&e->pub, "template: undefined variable: %s", n->text);
				*res = v->val;
				return fields(e, res, n);
			}
		case TN_CHAIN:
			if (!eval_pipe(e, n->pipe, dot, res, false))
				return false;
			return fields(e, res, n);
		case TN_STRING:
			*res = tmpl_string(NULL, n->text, n->len);
			return true;
		case TN_NUMBER:
			*res = n->is_float ? tmpl_float(n->fval) : tmpl_int(n->ival);
			return true;
		case TN_BOOL:
			*res = tmpl_bool(n->bval);
			return true;
		case TN_NIL:
			res->kind = TV_NIL;	/* an argument; never a command (parse refuses) */
			return true;
		case TN_FUNC:
			{
				/* a function named as an argument is called with no arguments */
				TmplNode	cmd = {.type = TN_CMD, .nkids = 1};
				const TmplNode *kids[1] = {n};

				cmd.kids = (TmplNode **) kids;
				return call(e, &cmd, dot, NULL, res);
			}
		default:
			return tmpl_error(&e->pub, "template: unexpected node");
	}
}

/* A function command: its arguments, then the pipeline's value if any. */
static bool
call(Exec *e, const TmplNode *cmd, const TmplValue *dot, const TmplValue *final, TmplValue *res)
{
	const TmplFuncDef *f = tmpl_func(cmd->kids[0]->func);
	int			argc = cmd->nkids - 1 + (final != NULL);
	TmplValue  *argv;

	if (!step(e))
		return false;
	if (f->fn == NULL)
	{
		/* and / or: stop at the first argument that decides */
		bool		is_and = f->name[0] == 'a';

		for (int i = 0; i < argc; i++)
		{
			if (i < cmd->nkids - 1)
			{
				if (!operand(e, cmd->kids[i + 1], dot, res))
					return false;
			}
			else
				*res = *final;
			if (tmpl_truth(res) != is_and)
				return true;
		}
		return true;
	}
	argv = alloy_arena_alloc(e->pub.arena, sizeof(TmplValue) * (size_t) (argc + 1));
	for (int i = 0; i < cmd->nkids - 1; i++)
		if (!operand(e, cmd->kids[i + 1], dot, &argv[i]))
			return false;
	if (final)
		argv[argc - 1] = *final;
	if (argc < f->minargs || (f->maxargs >= 0 && argc > f->maxargs))
		return tmpl_error(&e->pub, "template: wrong number of args for %s: want %d got %d",
						  f->name, f->minargs, argc);
	memset(res, 0, sizeof(*res));
	return f->fn(&e->pub, argc, argv, res);
}

static bool
eval_pipe(Exec *e, const TmplNode *pipe, const TmplValue *dot, TmplValue *res, bool decl)
{
	TmplValue	val = {.kind = TV_NIL};

	for (int i = 0; i < pipe->nkids; i++)
	{
		const TmplNode *cmd = pipe->kids[i];
		TmplValue	prev = val;

		if (cmd->kids[0]->type == TN_FUNC)
		{
			if (!call(e, cmd, dot, i > 0 ? &prev : NULL, &val))
				return false;
		}
		else
		{
			if (!step(e) || !operand(e, cmd->kids[0], dot, &val))
				return false;
		}
	}
	if (decl)
		for (int i = 0; i < pipe->nvars; i++)
		{
			if (pipe->declare)
				push_var(e, pipe->vars[i], &val);
			else
			{
				Var		   *v = find_var(e, pipe->vars[i]);

				if (v == NULL)
					return tmpl_error(&e->pub, "template: undefined variable: %s", pipe->vars[i]);
				v->val = val;
			}
		}
	*res = val;
	return true;
}

/* One range element: set the loop variables, run the body. */
static bool
range_once(Exec *e, const TmplNode *n, const TmplValue *key, const TmplValue *elem)
{
	int			mark;

	if (!step(e))
		return false;
	if (n->pipe->nvars >= 1)
	{
		Var		   *v = find_var(e, n->pipe->vars[n->pipe->nvars - 1]);

		if (v)
			v->val = *elem;
	}
	if (n->pipe->nvars == 2)
	{
		Var		   *v = find_var(e, n->pipe->vars[0]);

		if (v)
			v->val = *key;
	}
	mark = e->nvars;
	if (!walk(e, n->list, elem))
		return false;
	e->nvars = mark;
	return true;
}

static bool
walk_range(Exec *e, const TmplNode *n, const TmplValue *dot)
{
	TmplValue	val;
	int			count = 0;

	if (!eval_pipe(e, n->pipe, dot, &val, true))
		return false;
	if (val.kind == TV_MAP)
	{
		for (int i = 0; i < val.map->n; i++, count++)
		{
			TmplValue	k = tmpl_string(NULL, val.map->keys[i], strlen(val.map->keys[i]));

			if (!range_once(e, n, &k, &val.map->vals[i]))
				return false;
		}
	}
	else if (val.kind == TV_VECTOR)
	{
		for (int i = 0; i < val.vec->n; i++, count++)
		{
			TmplValue	k = tmpl_int(i);
			TmplValue	s = {.kind = TV_SAMPLE, .smp = &val.vec->s[i]};

			if (!range_once(e, n, &k, &s))
				return false;
		}
	}
	else if (val.kind != TV_NIL)
		return tmpl_error(&e->pub, "template: range can't iterate over %s", tmpl_type_name(&val));
	if (count == 0 && n->elselist)
		return walk(e, n->elselist, dot);
	return true;
}

static bool
walk(Exec *e, const TmplNode *list, const TmplValue *dot)
{
	for (int i = 0; i < list->nkids; i++)
	{
		const TmplNode *n = list->kids[i];
		int			mark = e->nvars;
		TmplValue	val;

		switch (n->type)
		{
			case TN_TEXT:
				tmpl_buf_put(&e->out, n->text, n->len);
				break;
			case TN_ACTION:
				if (!eval_pipe(e, n->pipe, dot, &val, true))
					return false;
				if (n->pipe->nvars == 0)
					tmpl_fmt_value(&e->out, &val);
				mark = e->nvars;	/* a declaration lasts to the end of the list */
				break;
			case TN_IF:
			case TN_WITH:
				if (!eval_pipe(e, n->pipe, dot, &val, true))
					return false;
				if (tmpl_truth(&val))
				{
					if (!walk(e, n->list, n->type == TN_WITH ? &val : dot))
						return false;
				}
				else if (n->elselist && !walk(e, n->elselist, dot))
					return false;
				break;
			case TN_RANGE:
				if (!walk_range(e, n, dot))
					return false;
				break;
			default:
				return tmpl_error(&e->pub, "template: unexpected node in list");
		}
		e->nvars = mark;
		if (e->out.overflow)
			return tmpl_error(&e->pub, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
		if (e->pub.failed)
			return false;
	}
	return true;
}

bool
rules_template_expand(AlloyArena *arena, const RulesTemplate *tmpl, const RulesTemplateData *data,
					  const RulesTemplateQuery *query, char **out, char *err, size_t errlen)
{
	Exec		e;
	TmplMap    *root = alloy_arena_alloc0(arena, sizeof(TmplMap));
	TmplMap    *labels = alloy_arena_alloc0(arena, sizeof(TmplMap));
	TmplMap    *ext = alloy_arena_alloc0(arena, sizeof(TmplMap));
	TmplValue	dot = {.kind = TV_DATA};
	static const char *const keys[] = {"ExternalLabels", "ExternalURL", "Labels", "Value"};

	memset(&e, 0, sizeof(e));
	e.pub.arena = arena;
	e.pub.query = query;
	e.pub.external_url = data->external_url;
	e.pub.err = err;
	e.pub.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	*out = NULL;
	tmpl_buf_init(&e.out, arena);
	tmpl_map_from_labels(arena, labels, data->labels, data->nlabels);
	tmpl_map_from_labels(arena, ext, data->external_labels, data->nexternal);

	/* the data root: its four fields, found by name like a map's keys */
	root->n = 4;
	root->keys = (const char **) keys;
	root->vals = alloy_arena_alloc0(arena, sizeof(TmplValue) * 4);
	root->vals[0].kind = TV_MAP;
	root->vals[0].map = ext;
	root->vals[0].string_map = true;
	root->vals[1] = tmpl_string(NULL, data->external_url ? data->external_url : "",
								data->external_url ? strlen(data->external_url) : 0);
	root->vals[2].kind = TV_MAP;
	root->vals[2].map = labels;
	root->vals[2].string_map = true;
	root->vals[3] = tmpl_float(data->value);
	dot.map = root;

	/* $ and the alerting preamble's variables */
	push_var(&e, "$", &dot);
	push_var(&e, "$labels", &root->vals[2]);
	push_var(&e, "$externalLabels", &root->vals[0]);
	push_var(&e, "$externalURL", &root->vals[1]);
	push_var(&e, "$value", &root->vals[3]);

	if (!walk(&e, tmpl->root, &dot))
		return false;
	*out = e.out.data;
	return true;
}
