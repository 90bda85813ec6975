/*
 * tmpl_regex.c: the regular expressions of the template functions match and
 * reReplaceAll, which Prometheus runs with Go's regexp unanchored (a search,
 * not a whole-value match as in label matchers).
 *
 * The pattern is first compiled by base's RE2-compatible wrapper, which
 * refuses what Go's RE2 syntax refuses with Go's wording; then compiled again
 * with PCRE2 unanchored, `$` meaning only the end of text as in RE2, so we
 * can search from an offset the way Go's ReplaceAllString walks the text.
 * Go's leftmost-first semantics are PCRE2's.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>

#include "rules/rules_int.h"

/* Compile pattern; on error a message (Go's wording where base has it). */
TmplRegex *
tmpl_regex_compile(AlloyArena *arena, const char *pat, size_t len, char *err, size_t errlen)
{
	AlloyAllocHooks hooks = alloy_arena_hooks(arena);
	AlloyRegex *check = alloy_regex_compile(pat, len, &hooks, err, errlen);
	TmplRegex  *rx;
	int			code;
	PCRE2_SIZE	off;

	if (check == NULL)
		return NULL;
	alloy_regex_free(check);
	rx = alloy_arena_alloc0(arena, sizeof(TmplRegex));
	rx->code = pcre2_compile((PCRE2_SPTR) pat, len,
							 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
							 PCRE2_NEVER_BACKSLASH_C, &code, &off, NULL);
	if (rx->code == NULL)
	{
		snprintf(err, errlen, "error parsing regexp: invalid pattern `%.*s`", (int) len, pat);
		return NULL;
	}
	rx->md = pcre2_match_data_create_from_pattern(rx->code, NULL);
	return rx;
}

void
tmpl_regex_free(TmplRegex *rx)
{
	if (rx == NULL)
		return;
	pcre2_match_data_free(rx->md);
	pcre2_code_free(rx->code);
}

/*
 * Search s from start; fill ovec (pairs of offsets, SIZE_MAX for unset
 * groups) and return the number of pairs, or -1 for no match.
 */
int
tmpl_regex_search(TmplRegex *rx, const char *s, size_t len, size_t start,
				  size_t *ovec, int maxpairs)
{
	int			rc = pcre2_match(rx->code, (PCRE2_SPTR) s, len, start, 0, rx->md, NULL);
	PCRE2_SIZE *ov;
	uint32_t	n;

	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(rx->md);
	n = pcre2_get_ovector_count(rx->md);
	if ((int) n > maxpairs)
		n = (uint32_t) maxpairs;
	for (uint32_t i = 0; i < n; i++)
	{
		bool		set = i < (uint32_t) rc && ov[2 * i] != PCRE2_UNSET;

		ovec[2 * i] = set ? ov[2 * i] : SIZE_MAX;
		ovec[2 * i + 1] = set ? ov[2 * i + 1] : SIZE_MAX;
	}
	return (int) n;
}

/* Number of the named group, or -1. */
int
tmpl_regex_group(TmplRegex *rx, const char *name)
{
	int			n = pcre2_substring_number_from_name(rx->code, (PCRE2_SPTR) name);

	return n < 0 ? -1 : n;
}
