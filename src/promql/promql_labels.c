/*
 * promql_labels.c: label sets and the label-keyed hash map of the engine.
 *
 * Label sets are immutable arrays sorted by name, allocated in the query
 * arena and shared by pointer; every operation that changes labels builds a
 * new set.  The map keys series and groups by a 64-bit hash of (a subset of)
 * their labels and confirms a hit by comparing the labels, so a hash
 * collision can never merge two series.  Label matchers ({a=~"x"}) are
 * here too: the parser and the storage callbacks both test values with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

const char *
promql_labels_get(const PromqlLabels *ls, const char *name)
{
	int			lo = 0,
				hi = ls->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(ls->v[mid].name, name);

		if (c == 0)
			return ls->v[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

int
promql_labels_cmp(const PromqlLabels *a, const PromqlLabels *b)
{
	int			n = a->n < b->n ? a->n : b->n;

	for (int i = 0; i < n; i++)
	{
		int			c = strcmp(a->v[i].name, b->v[i].name);

		if (c != 0)
			return c;
		c = strcmp(a->v[i].value, b->v[i].value);
		if (c != 0)
			return c;
	}
	return a->n - b->n;
}

bool
promql_labels_equal(const PromqlLabels *a, const PromqlLabels *b)
{
	if (a->n != b->n)
		return false;
	if (a->v == b->v)
		return true;
	return promql_labels_cmp(a, b) == 0;
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const PromqlLabel *) a)->name, ((const PromqlLabel *) b)->name);
}

void
promql_labels_sort(PromqlLabel *v, int n)
{
	if (n > 1)
		qsort(v, n, sizeof(PromqlLabel), label_cmp);
}

char *
promql_labels_string(AlloyArena *arena, const PromqlLabels *ls)
{
	size_t		len = 3;
	char	   *s,
			   *p;

	for (int i = 0; i < ls->n; i++)
		len += strlen(ls->v[i].name) + 2 * strlen(ls->v[i].value) + 6;
	s = p = alloy_arena_alloc(arena, len);
	*p++ = '{';
	for (int i = 0; i < ls->n; i++)
	{
		const char *v;

		if (i)
		{
			*p++ = ',';
			*p++ = ' ';
		}
		p += sprintf(p, "%s=\"", ls->v[i].name);
		for (v = ls->v[i].value; *v; v++)
		{
			if (*v == '"' || *v == '\\')
				*p++ = '\\';
			if (*v == '\n')
			{
				*p++ = '\\';
				*p++ = 'n';
				continue;
			}
			*p++ = *v;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

/* FNV-1a over name and value with separators that cannot occur in UTF-8. */
static uint64_t
hash_add(uint64_t h, const char *s)
{
	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= UINT64_C(0x100000001b3);
	}
	h ^= 0xff;
	h *= UINT64_C(0x100000001b3);
	return h;
}

uint64_t
promql_labels_hash(const PromqlLabels *ls)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (int i = 0; i < ls->n; i++)
	{
		h = hash_add(h, ls->v[i].name);
		h = hash_add(h, ls->v[i].value);
	}
	return h;
}

static bool
in_list(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

PromqlLabels
promql_labels_filter(AlloyArena *arena, const PromqlLabels *ls, const char *const *names,
					 int n, bool keep, bool drop_name)
{
	PromqlLabels out;
	PromqlLabel *v = alloy_arena_alloc(arena, sizeof(PromqlLabel) * (ls->n + 1));
	int			k = 0;

	for (int i = 0; i < ls->n; i++)
	{
		bool		listed = in_list(ls->v[i].name, names, n);

		if (drop_name && strcmp(ls->v[i].name, "__name__") == 0)
			continue;
		if (listed == keep)
			v[k++] = ls->v[i];
	}
	out.n = k;
	out.v = v;
	return out;
}

PromqlLabels
promql_labels_drop_name(AlloyArena *arena, const PromqlLabels *ls)
{
	int			lo = 0,
				hi = ls->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(ls->v[mid].name, "__name__");

		if (c == 0)
		{
			PromqlLabels out;
			PromqlLabel *v;

			/*
			 * Label sets are never changed once built, so with the name
			 * first (the usual place: only names starting with a capital
			 * sort before it) the rest of the array is the answer.
			 */
			if (mid == 0)
				return (PromqlLabels)
				{
					ls->n - 1, ls->v + 1
				};
			v = alloy_arena_alloc(arena, sizeof(PromqlLabel) * ls->n);
			memcpy(v, ls->v, sizeof(PromqlLabel) * mid);
			memcpy(v + mid, ls->v + mid + 1, sizeof(PromqlLabel) * (ls->n - mid - 1));
			out.n = ls->n - 1;
			out.v = v;
			return out;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return *ls;
}

PromqlLabels
promql_labels_set(AlloyArena *arena, const PromqlLabels *ls, const char *name, const char *value)
{
	PromqlLabels out;
	PromqlLabel *v = alloy_arena_alloc(arena, sizeof(PromqlLabel) * (ls->n + 1));
	int			k = 0;
	bool		done = false;

	for (int i = 0; i < ls->n; i++)
	{
		int			c = strcmp(ls->v[i].name, name);

		if (c == 0)
		{
			if (value && *value)
				v[k++] = (PromqlLabel)
				{
					ls->v[i].name, value
				};
			done = true;
			continue;
		}
		if (c > 0 && !done)
		{
			if (value && *value)
				v[k++] = (PromqlLabel)
				{
					name, value
				};
			done = true;
		}
		v[k++] = ls->v[i];
	}
	if (!done && value && *value)
		v[k++] = (PromqlLabel)
	{
		name, value
	};
	out.n = k;
	out.v = v;
	return out;
}

/* ---- map ---- */

void
promql_lmap_init(PromqlLMap *m, AlloyArena *arena, int expected)
{
	int			cap = 16;

	while (cap < expected * 2)
		cap *= 2;
	m->arena = arena;
	m->cap = cap;
	m->n = 0;
	m->hashes = alloy_arena_alloc(arena, sizeof(uint64_t) * cap);
	m->keys = alloy_arena_alloc(arena, sizeof(PromqlLabels) * cap);
	m->vals = alloy_arena_alloc(arena, sizeof(int) * cap);
	for (int i = 0; i < cap; i++)
		m->vals[i] = -1;
	m->hint = NULL;
	m->nhint = 0;
}

static int	lmap_put_slot(PromqlLMap *m, uint64_t h, const PromqlLabels *key, int val);

/* Double the table; slots move, so positional hints are forgotten. */
static void
lmap_grow(PromqlLMap *m)
{
	PromqlLMap n;

	promql_lmap_init(&n, m->arena, m->cap);
	for (int i = 0; i < m->cap; i++)
		if (m->vals[i] >= 0)
			lmap_put_slot(&n, m->hashes[i], &m->keys[i], m->vals[i]);
	n.hint = m->hint;
	n.nhint = m->nhint;
	for (int i = 0; i < n.nhint; i++)
		n.hint[i] = -1;
	*m = n;
}

/* The slot holding key, or -1. */
static int
lmap_find_slot(const PromqlLMap *m, uint64_t h, const PromqlLabels *key)
{
	int			i = (int) (h & (uint64_t) (m->cap - 1));

	while (m->vals[i] >= 0)
	{
		if (m->hashes[i] == h && promql_labels_equal(&m->keys[i], key))
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

int
promql_lmap_get(const PromqlLMap *m, uint64_t h, const PromqlLabels *key)
{
	int			i = lmap_find_slot(m, h, key);

	return i >= 0 ? m->vals[i] : -1;
}

/* Insert or update key; returns its slot. */
static int
lmap_put_slot(PromqlLMap *m, uint64_t h, const PromqlLabels *key, int val)
{
	int			i;

	if ((m->n + 1) * 2 > m->cap)
		lmap_grow(m);
	i = (int) (h & (uint64_t) (m->cap - 1));
	while (m->vals[i] >= 0)
	{
		if (m->hashes[i] == h && promql_labels_equal(&m->keys[i], key))
		{
			m->vals[i] = val;
			return i;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->hashes[i] = h;
	m->keys[i] = *key;
	m->vals[i] = val;
	m->n++;
	return i;
}

void
promql_lmap_put(PromqlLMap *m, uint64_t h, const PromqlLabels *key, int val)
{
	(void) lmap_put_slot(m, h, key, val);
}

static void
lmap_remember(PromqlLMap *m, int pos, int slot)
{
	if (pos >= m->nhint)
	{
		int			n = m->nhint ? m->nhint : 64;

		while (n <= pos)
			n *= 2;
		m->hint = alloy_arena_realloc(m->arena, m->hint, sizeof(int) * m->nhint, sizeof(int) * n);
		for (int i = m->nhint; i < n; i++)
			m->hint[i] = -1;
		m->nhint = n;
	}
	m->hint[pos] = slot;
}

/*
 * promql_lmap_get for the pos-th sample of one step of a range evaluation.
 * Consecutive steps mostly yield the same series in the same order, so the
 * slot that the pos-th sample matched at the previous step is compared
 * first, and only a miss hashes the labels (about a sixth of a subquery's
 * time went to hashing). *h is set on a miss, for promql_lmap_put_at.
 */
int
promql_lmap_get_at(PromqlLMap *m, int pos, const PromqlLabels *key, uint64_t *h)
{
	int			slot;

	if (pos < m->nhint && (slot = m->hint[pos]) >= 0 &&
		promql_labels_equal(&m->keys[slot], key))
		return m->vals[slot];
	*h = promql_labels_hash(key);
	slot = lmap_find_slot(m, *h, key);
	if (slot < 0)
		return -1;
	lmap_remember(m, pos, slot);
	return m->vals[slot];
}

/* promql_lmap_put after a promql_lmap_get_at miss for the pos-th sample. */
void
promql_lmap_put_at(PromqlLMap *m, int pos, uint64_t h, const PromqlLabels *key, int val)
{
	lmap_remember(m, pos, lmap_put_slot(m, h, key, val));
}

/* Does a label value (NULL: the label is absent) satisfy matcher m? */
bool
promql_matcher_matches(const PromqlMatcher *m, const char *value)
{
	if (value == NULL)
		value = "";
	switch (m->type)
	{
		case PROMQL_MATCH_EQ:
			return strcmp(value, m->value) == 0;
		case PROMQL_MATCH_NEQ:
			return strcmp(value, m->value) != 0;
		case PROMQL_MATCH_RE:
			return alloy_regex_match(m->rx, value, strlen(value));
		case PROMQL_MATCH_NRE:
			return !alloy_regex_match(m->rx, value, strlen(value));
	}
	return false;
}
