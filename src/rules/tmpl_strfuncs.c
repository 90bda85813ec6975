/*
 * tmpl_strfuncs.c: Prometheus's template functions over strings: title,
 * toUpper, toLower, match, reReplaceAll, safeHtml, stripPort.
 *
 * Case mapping is tmpl_case.c's.  match and reReplaceAll
 * search without anchors, as Go's regexp does; reReplaceAll expands $1,
 * ${1}, $name and ${name} in the replacement (a name is the longest run of
 * letters, digits and '_'; an unknown group gives "", and $$ gives $).
 */
#include <stdio.h>

#include "rules/rules_int.h"

#define MAX_GROUPS 32

static bool
map_case(TmplExec *ex, const TmplValue *in, TmplValue *res, int mode)
{
	TmplBuf		b;

	if (!tmpl_want_string(ex, in))
		return false;
	tmpl_buf_init(&b, ex->arena);
	tmpl_map_case(&b, in->s, in->slen, mode);
	if (b.overflow)
		return tmpl_error(ex, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
	*res = tmpl_string(NULL, b.data, b.len);
	return true;
}

bool
tmpl_fn_title(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return map_case(ex, &argv[0], res, 0);
}

bool
tmpl_fn_to_upper(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return map_case(ex, &argv[0], res, 1);
}

bool
tmpl_fn_to_lower(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return map_case(ex, &argv[0], res, 2);
}

bool
tmpl_fn_safe_html(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]))
		return false;
	*res = argv[0];
	return true;
}

static TmplRegex *
compile(TmplExec *ex, const char *fn, const TmplValue *pat)
{
	char		err[256];
	TmplRegex  *rx = tmpl_regex_compile(ex->arena, pat->s, pat->slen, err, sizeof(err));

	if (rx == NULL)
		tmpl_error(ex, "error calling %s: %s", fn, err);
	return rx;
}

bool
tmpl_fn_match(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplRegex  *rx;
	size_t		ov[2];

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]) || !tmpl_want_string(ex, &argv[1]))
		return false;
	if ((rx = compile(ex, "match", &argv[0])) == NULL)
		return false;
	*res = tmpl_bool(tmpl_regex_search(rx, argv[1].s, argv[1].slen, 0, ov, 1) >= 0);
	tmpl_regex_free(rx);
	return true;
}

static bool
name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Append repl with $ references expanded from the match in ov. */
static void
expand(TmplBuf *b, TmplRegex *rx, const char *repl, size_t rlen, const char *src,
	   const size_t *ov, int npairs)
{
	for (size_t i = 0; i < rlen; i++)
	{
		size_t		start,
					end;
		char		name[64];
		int			g = -1;
		bool		digits = true;

		if (repl[i] != '$' || i + 1 >= rlen)
		{
			tmpl_buf_put(b, repl + i, 1);
			continue;
		}
		if (repl[i + 1] == '$')
		{
			tmpl_buf_puts(b, "$");
			i++;
			continue;
		}
		if (repl[i + 1] == '{')
		{
			start = i + 2;
			end = start;
			while (end < rlen && name_byte(repl[end]))
				end++;
			if (end >= rlen || repl[end] != '}' || end == start)
			{
				tmpl_buf_put(b, repl + i, 1);	/* not a reference: a literal $ */
				continue;
			}
			i = end;
		}
		else
		{
			start = i + 1;
			end = start;
			while (end < rlen && name_byte(repl[end]))
				end++;
			if (end == start)
			{
				tmpl_buf_put(b, repl + i, 1);
				continue;
			}
			i = end - 1;
		}
		for (size_t k = start; k < end; k++)
			digits = digits && repl[k] >= '0' && repl[k] <= '9';
		if (digits)
		{
			g = 0;
			for (size_t k = start; k < end && g < 1000000; k++)
				g = g * 10 + (repl[k] - '0');
		}
		else if (end - start < sizeof(name))
		{
			memcpy(name, repl + start, end - start);
			name[end - start] = '\0';
			g = tmpl_regex_group(rx, name);
		}
		if (g >= 0 && g < npairs && ov[2 * g] != SIZE_MAX)
			tmpl_buf_put(b, src + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
}

/* Length of the UTF-8 sequence at s (1 for a byte that starts none). */
static size_t
rune_width(const char *s, size_t left)
{
	unsigned char c = (unsigned char) s[0];
	size_t		w = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

	if (w > left)
		return 1;
	for (size_t k = 1; k < w; k++)
		if (((unsigned char) s[k] & 0xC0) != 0x80)
			return 1;
	return w;
}

/* Go's Regexp.ReplaceAllString(text, repl): pattern, repl, text. */
bool
tmpl_fn_re_replace_all(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplRegex  *rx;
	const char *src;
	size_t		len,
				last = 0,
				pos = 0;
	size_t		ov[2 * MAX_GROUPS];
	TmplBuf		b;

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]) || !tmpl_want_string(ex, &argv[1]) || !tmpl_want_string(ex, &argv[2]))
		return false;
	if ((rx = compile(ex, "reReplaceAll", &argv[0])) == NULL)
		return false;
	src = argv[2].s;
	len = argv[2].slen;
	tmpl_buf_init(&b, ex->arena);
	while (pos <= len)
	{
		int			n = tmpl_regex_search(rx, src, len, pos, ov, MAX_GROUPS);
		size_t		w;

		if (n < 0)
			break;
		if (++ex->steps > RULES_TMPL_MAX_STEPS)
		{
			tmpl_regex_free(rx);
			return tmpl_error(ex, "template exceeds %d steps", RULES_TMPL_MAX_STEPS);
		}
		tmpl_buf_put(&b, src + last, ov[0] - last);
		/* no replacement for an empty match right after the previous match */
		if (ov[1] > last || ov[0] == 0)
			expand(&b, rx, argv[1].s, argv[1].slen, src, ov, n);
		last = ov[1];
		w = pos < len ? rune_width(src + pos, len - pos) : 1;
		if (pos + w > ov[1])
			pos += w;
		else if (pos + 1 > ov[1])
			pos++;
		else
			pos = ov[1];
	}
	tmpl_buf_put(&b, src + last, len - last);
	tmpl_regex_free(rx);
	if (b.overflow)
		return tmpl_error(ex, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
	*res = tmpl_string(NULL, b.data, b.len);
	return true;
}

/*
 * stripPort: the host of net.SplitHostPort(s), or s itself when that fails
 * (no port, too many colons, misplaced brackets).
 */
bool
tmpl_fn_strip_port(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	const char *s;
	size_t		len,
				colon,
				hs,
				he,
				j = 0,
				k = 0;
	const char *c;

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]))
		return false;
	s = argv[0].s;
	len = argv[0].slen;
	*res = argv[0];
	c = NULL;
	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == ':')
		{
			c = s + i - 1;
			break;
		}
	if (c == NULL)
		return true;			/* missing port */
	colon = (size_t) (c - s);
	if (len > 0 && s[0] == '[')
	{
		const char *rb = memchr(s, ']', len);
		size_t		end;

		if (rb == NULL)
			return true;
		end = (size_t) (rb - s);
		if (end + 1 != colon)
			return true;		/* missing port or too many colons */
		hs = 1;
		he = end;
		j = 1;
		k = end + 1;
	}
	else
	{
		hs = 0;
		he = colon;
		if (memchr(s, ':', he) != NULL)
			return true;		/* too many colons */
	}
	if (memchr(s + j, '[', len - j) != NULL || memchr(s + k, ']', len - k) != NULL)
		return true;
	*res = tmpl_string(ex->arena, s + hs, he - hs);
	return true;
}
