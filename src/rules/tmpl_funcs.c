/*
 * tmpl_funcs.c: the function table of rule templates and Go text/template's
 * own functions among them (comparisons, not, len, index, print, printf,
 * println).  and/or have entries but no body: the executor evaluates them,
 * because they stop at the first deciding argument.  Prometheus's own
 * functions live in tmpl_promfuncs.c.
 *
 * A name missing from this table is refused when the template is parsed.
 */
#include <stdio.h>

#include "rules/rules_int.h"

/* ---- comparisons (Go's eq ne lt le gt ge) ---- */

typedef enum
{
	K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING
} BasicKind;

static BasicKind
basic_kind(const TmplValue *v)
{
	switch (v->kind)
	{
		case TV_BOOL: return K_BOOL;
		case TV_INT: return K_INT;
		case TV_FLOAT: return K_FLOAT;
		case TV_STRING: return K_STRING;
		default: return K_INVALID;
	}
}

static int
str_cmp(const TmplValue *a, const TmplValue *b)
{
	size_t		n = a->slen < b->slen ? a->slen : b->slen;
	int			c = memcmp(a->s, b->s, n);

	return c != 0 ? c : (a->slen > b->slen) - (a->slen < b->slen);
}

/* a == b for basic kinds; false with an error for mixed or invalid kinds. */
static bool
equal(TmplExec *ex, const TmplValue *a, const TmplValue *b, bool *res)
{
	BasicKind	ka = basic_kind(a),
				kb = basic_kind(b);

	if (ka == K_INVALID || kb == K_INVALID)
	{
		if (a->kind == TV_NIL || b->kind == TV_NIL)
		{
			*res = a->kind == b->kind;
			return true;
		}
		return tmpl_error(ex, "error calling eq: invalid type for comparison");
	}
	if (ka != kb)
		return tmpl_error(ex, "error calling eq: incompatible types for comparison");
	switch (ka)
	{
		case K_BOOL: *res = a->b == b->b; break;
		case K_INT: *res = a->i == b->i; break;
		case K_FLOAT: *res = a->f == b->f; break;
		default: *res = str_cmp(a, b) == 0; break;
	}
	return true;
}

static bool
less(TmplExec *ex, const char *fn, const TmplValue *a, const TmplValue *b, bool *res)
{
	BasicKind	ka = basic_kind(a),
				kb = basic_kind(b);

	if (ka == K_INVALID || kb == K_INVALID || ka == K_BOOL || kb == K_BOOL)
		return tmpl_error(ex, "error calling %s: invalid type for comparison", fn);
	if (ka != kb)
		return tmpl_error(ex, "error calling %s: incompatible types for comparison", fn);
	switch (ka)
	{
		case K_INT: *res = a->i < b->i; break;
		case K_FLOAT: *res = a->f < b->f; break;
		default: *res = str_cmp(a, b) < 0; break;
	}
	return true;
}

static bool
fn_eq(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r = false;

	for (int i = 1; i < argc && !r; i++)
		if (!equal(ex, &argv[0], &argv[i], &r))
			return false;
	*res = tmpl_bool(r);
	return true;
}

static bool
fn_ne(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r;

	(void) argc;
	if (!equal(ex, &argv[0], &argv[1], &r))
		return false;
	*res = tmpl_bool(!r);
	return true;
}

static bool
fn_lt(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r;

	(void) argc;
	if (!less(ex, "lt", &argv[0], &argv[1], &r))
		return false;
	*res = tmpl_bool(r);
	return true;
}

static bool
fn_le(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r,
				e;

	(void) argc;
	if (!less(ex, "le", &argv[0], &argv[1], &r))
		return false;
	if (!r && !equal(ex, &argv[0], &argv[1], &e))
		return false;
	*res = tmpl_bool(r || e);
	return true;
}

static bool
fn_gt(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r,
				e = false;

	(void) argc;
	if (!less(ex, "gt", &argv[0], &argv[1], &r))
		return false;
	if (!r && !equal(ex, &argv[0], &argv[1], &e))
		return false;
	*res = tmpl_bool(!r && !e);
	return true;
}

static bool
fn_ge(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	bool		r;

	(void) argc;
	if (!less(ex, "ge", &argv[0], &argv[1], &r))
		return false;
	*res = tmpl_bool(!r);
	return true;
}

/* ---- not, len, index ---- */

static bool
fn_not(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) ex;
	(void) argc;
	*res = tmpl_bool(!tmpl_truth(&argv[0]));
	return true;
}

static bool
fn_len(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	switch (argv[0].kind)
	{
		case TV_STRING: *res = tmpl_int((int64_t) argv[0].slen); return true;
		case TV_MAP: *res = tmpl_int(argv[0].map->n); return true;
		case TV_VECTOR: *res = tmpl_int(argv[0].vec->n); return true;
		case TV_NIL: return tmpl_error(ex, "error calling len: len of nil pointer");
		default: return tmpl_error(ex, "error calling len: len of type %s", tmpl_type_name(&argv[0]));
	}
}

static bool
fn_index(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplValue	cur = argv[0];

	for (int i = 1; i < argc; i++)
	{
		const TmplValue *k = &argv[i];

		if (cur.kind == TV_MAP)
		{
			if (k->kind != TV_STRING)
				return tmpl_error(ex, "error calling index: value has type %s; should be string",
								  tmpl_type_name(k));
			if (!tmpl_field(ex, &cur, k->s, &cur))
				return false;
		}
		else if (cur.kind == TV_VECTOR || cur.kind == TV_STRING)
		{
			int64_t		n = cur.kind == TV_VECTOR ? cur.vec->n : (int64_t) cur.slen;

			if (k->kind != TV_INT)
				return tmpl_error(ex, "error calling index: cannot index slice/array with type %s",
								  tmpl_type_name(k));
			if (k->i < 0 || k->i >= n)
				return tmpl_error(ex, "error calling index: index out of range: %lld", (long long) k->i);
			if (cur.kind == TV_VECTOR)
			{
				const TmplSample *s = &cur.vec->s[k->i];

				memset(&cur, 0, sizeof(cur));
				cur.kind = TV_SAMPLE;
				cur.smp = s;
			}
			else
				cur = tmpl_int((unsigned char) cur.s[k->i]);	/* a byte (uint8) */
		}
		else if (cur.kind == TV_NIL)
			return tmpl_error(ex, "error calling index: index of untyped nil");
		else
			return tmpl_error(ex, "error calling index: can't index item of type %s",
							  tmpl_type_name(&cur));
	}
	*res = cur;
	return true;
}

/* ---- print, printf, println ---- */

static bool
done_text(TmplExec *ex, TmplBuf *b, TmplValue *res)
{
	if (b->overflow)
		return tmpl_error(ex, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
	*res = tmpl_string(NULL, b->data, b->len);
	return true;
}

static bool
fn_print(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplBuf		b;

	tmpl_buf_init(&b, ex->arena);
	tmpl_sprint(&b, argc, argv, false);
	return done_text(ex, &b, res);
}

static bool
fn_println(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplBuf		b;

	tmpl_buf_init(&b, ex->arena);
	tmpl_sprint(&b, argc, argv, true);
	return done_text(ex, &b, res);
}

static bool
fn_printf(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplBuf		b;

	if (argv[0].kind != TV_STRING)
		return tmpl_error(ex, "wrong type for value; expected string; got %s", tmpl_type_name(&argv[0]));
	tmpl_buf_init(&b, ex->arena);
	tmpl_sprintf(&b, argv[0].s, argv[0].slen, argc - 1, argv + 1);
	return done_text(ex, &b, res);
}

/* ---- the table ---- */

static const TmplFuncDef funcs[] = {
	/* Go text/template */
	{"and", NULL, 1, -1},
	{"or", NULL, 1, -1},
	{"not", fn_not, 1, 1},
	{"len", fn_len, 1, 1},
	{"index", fn_index, 1, -1},
	{"eq", fn_eq, 2, -1},
	{"ne", fn_ne, 2, 2},
	{"lt", fn_lt, 2, 2},
	{"le", fn_le, 2, 2},
	{"gt", fn_gt, 2, 2},
	{"ge", fn_ge, 2, 2},
	{"print", fn_print, 0, -1},
	{"printf", fn_printf, 1, -1},
	{"println", fn_println, 0, -1},
	/* Prometheus */
	{"query", tmpl_fn_query, 1, 1},
	{"first", tmpl_fn_first, 1, 1},
	{"label", tmpl_fn_label, 2, 2},
	{"value", tmpl_fn_value, 1, 1},
	{"strvalue", tmpl_fn_strvalue, 1, 1},
	{"sortByLabel", tmpl_fn_sort_by_label, 2, 2},
	{"args", tmpl_fn_args, 0, -1},
	{"humanize", tmpl_fn_humanize, 1, 1},
	{"humanize1024", tmpl_fn_humanize1024, 1, 1},
	{"humanizeDuration", tmpl_fn_humanize_duration, 1, 1},
	{"humanizePercentage", tmpl_fn_humanize_percentage, 1, 1},
	{"humanizeTimestamp", tmpl_fn_humanize_timestamp, 1, 1},
	{"title", tmpl_fn_title, 1, 1},
	{"toUpper", tmpl_fn_to_upper, 1, 1},
	{"toLower", tmpl_fn_to_lower, 1, 1},
	{"match", tmpl_fn_match, 2, 2},
	{"reReplaceAll", tmpl_fn_re_replace_all, 3, 3},
	{"safeHtml", tmpl_fn_safe_html, 1, 1},
	{"stripPort", tmpl_fn_strip_port, 1, 1},
	{"stripDomain", tmpl_fn_strip_domain, 1, 1},
	{"graphLink", tmpl_fn_graph_link, 1, 1},
	{"tableLink", tmpl_fn_table_link, 1, 1},
	{"pathPrefix", tmpl_fn_path_prefix, 0, 0},
	{"externalURL", tmpl_fn_external_url, 0, 0},
	{"parseDuration", tmpl_fn_parse_duration, 1, 1},
	{"toTime", tmpl_fn_to_time, 1, 1},
};

int
tmpl_func_lookup(const char *name, size_t len)
{
	for (int i = 0; i < (int) (sizeof(funcs) / sizeof(funcs[0])); i++)
		if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
			return i;
	return -1;
}

const TmplFuncDef *
tmpl_func(int i)
{
	return &funcs[i];
}
