/*
 * tmpl_value.c: the values a rule template computes with, and how Go's
 * text/template treats them: truth, field access on the alert data, label
 * maps and query samples, and conversion to float as Prometheus's functions
 * convert (float64, int, or a string parsed as a float).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rules/rules_int.h"

bool
tmpl_error(TmplExec *ex, const char *fmt,...)
{
	va_list		ap;

	if (ex->failed)
		return false;
	ex->failed = true;
	va_start(ap, fmt);
	vsnprintf(ex->err, ex->errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* Go's truth: false, zero numbers, nil and empty strings/maps/slices are false. */
bool
tmpl_truth(const TmplValue *v)
{
	switch (v->kind)
	{
		case TV_NIL: return false;
		case TV_BOOL: return v->b;
		case TV_INT: return v->i != 0;
		case TV_FLOAT: return v->f != 0;
		case TV_STRING: return v->slen > 0;
		case TV_MAP: return v->map->n > 0;
		case TV_VECTOR: return v->vec->n > 0;
		case TV_SAMPLE: return v->smp != NULL;
		case TV_DATA: return true;
	}
	return false;
}

/* The Go type name fmt shows in "%!verb(type=value)". */
const char *
tmpl_type_name(const TmplValue *v)
{
	switch (v->kind)
	{
		case TV_NIL: return "<nil>";
		case TV_BOOL: return "bool";
		case TV_INT: return "int";
		case TV_FLOAT: return "float64";
		case TV_STRING: return "string";
		case TV_MAP: return v->string_map ? "map[string]string" : "map[string]interface {}";
		case TV_VECTOR: return "template.queryResult";
		case TV_SAMPLE: return "*template.sample";
		case TV_DATA: return "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";
	}
	return "?";
}

TmplValue
tmpl_string(AlloyArena *a, const char *s, size_t len)
{
	TmplValue	v = {.kind = TV_STRING};

	v.s = a ? alloy_arena_strndup(a, s, len) : s;
	v.slen = len;
	return v;
}

TmplValue
tmpl_float(double f)
{
	TmplValue	v = {.kind = TV_FLOAT, .f = f};

	return v;
}

TmplValue
tmpl_int(int64_t i)
{
	TmplValue	v = {.kind = TV_INT, .i = i};

	return v;
}

TmplValue
tmpl_bool(bool b)
{
	TmplValue	v = {.kind = TV_BOOL, .b = b};

	return v;
}

static int
label_cmp(const void *a, const void *b)
{
	const AlloyLabel *x = a;
	const AlloyLabel *y = b;
	int			n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int			c = memcmp(x->name, y->name, (size_t) n);

	return c != 0 ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* A map[string]string from labels, sorted by name (a repeated name keeps its last value). */
void
tmpl_map_from_labels(AlloyArena *a, TmplMap *m, const AlloyLabel *l, int n)
{
	AlloyLabel *sorted = alloy_arena_alloc(a, sizeof(AlloyLabel) * (size_t) (n + 1));

	if (n > 0)
		memcpy(sorted, l, sizeof(AlloyLabel) * (size_t) n);
	qsort(sorted, (size_t) n, sizeof(AlloyLabel), label_cmp);
	m->keys = alloy_arena_alloc(a, sizeof(char *) * (size_t) (n + 1));
	m->vals = alloy_arena_alloc(a, sizeof(TmplValue) * (size_t) (n + 1));
	m->n = 0;
	for (int i = 0; i < n; i++)
	{
		if (m->n > 0 && label_cmp(&sorted[i], &sorted[i - 1]) == 0)
			m->n--;
		m->keys[m->n] = alloy_arena_strndup(a, sorted[i].name, (size_t) sorted[i].name_len);
		m->vals[m->n] = tmpl_string(a, sorted[i].value, (size_t) sorted[i].value_len);
		m->n++;
	}
}

/* Binary search of a sorted map; NULL when the key is absent. */
const TmplValue *
tmpl_map_get(const TmplMap *m, const char *key, size_t len)
{
	int			lo = 0,
				hi = m->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		size_t		kl = strlen(m->keys[mid]);
		int			c = memcmp(m->keys[mid], key, kl < len ? kl : len);

		if (c == 0)
			c = (kl > len) - (kl < len);
		if (c == 0)
			return &m->vals[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * recv.name, as text/template evaluates it: map keys (a missing key gives
 * the zero value, Prometheus's missingkey=zero), the alert data's fields,
 * a sample's Labels and Value.
 */
bool
tmpl_field(TmplExec *ex, const TmplValue *recvp, const char *name, TmplValue *res)
{
	TmplValue	copy = *recvp;	/* res may be the receiver */
	const TmplValue *recv = &copy;

	memset(res, 0, sizeof(*res));
	switch (recv->kind)
	{
		case TV_MAP:
			{
				const TmplValue *v = tmpl_map_get(recv->map, name, strlen(name));

				if (v)
					*res = *v;
				else if (recv->string_map)
					*res = tmpl_string(NULL, "", 0);
				else
					res->kind = TV_NIL;
				return true;
			}
		case TV_SAMPLE:
			if (strcmp(name, "Labels") == 0)
			{
				res->kind = TV_MAP;
				res->map = &recv->smp->labels;
				res->string_map = true;
				return true;
			}
			if (strcmp(name, "Value") == 0)
			{
				*res = tmpl_float(recv->smp->value);
				return true;
			}
			break;
		case TV_DATA:
			/* the root keeps its parts in a map of four entries */
			{
				const TmplValue *v = tmpl_map_get(recv->map, name, strlen(name));

				if (v)
				{
					*res = *v;
					return true;
				}
			}
			break;
		case TV_NIL:
			return tmpl_error(ex, "template: nil pointer evaluating interface {}.%s", name);
		default:
			break;
	}
	return tmpl_error(ex, "template: can't evaluate field %s in type %s", name, tmpl_type_name(recv));
}

/* Prometheus's convertToFloat: float64, int, or a string parsed as a float. */
bool
tmpl_to_float(TmplExec *ex, const TmplValue *v, double *f)
{
	switch (v->kind)
	{
		case TV_FLOAT:
			*f = v->f;
			return true;
		case TV_INT:
			*f = (double) v->i;
			return true;
		case TV_STRING:
			{
				char	   *end;
				const char *s = v->s;

				/* Go's ParseFloat: no spaces, Inf/NaN spelled its ways */
				if (v->slen == 0 || v->slen != strlen(s) || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
					return tmpl_error(ex, "strconv.ParseFloat: parsing \"%s\": invalid syntax", s);
				*f = strtod(s, &end);
				if (*end != '\0')
					return tmpl_error(ex, "strconv.ParseFloat: parsing \"%s\": invalid syntax", s);
				return true;
			}
		default:
			return tmpl_error(ex, "can't convert %s to float", tmpl_type_name(v));
	}
}

/* A function's string parameter: anything else fails as Go's call does. */
bool
tmpl_want_string(TmplExec *ex, const TmplValue *v)
{
	if (v->kind == TV_STRING)
		return true;
	return tmpl_error(ex, "wrong type for value; expected string; got %s", tmpl_type_name(v));
}
