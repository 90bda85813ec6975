/*
 * test_promql_regex.c: RE2-compatible anchored matching and the literal fast
 * paths of src/base/regex.c.
 */
#include <string.h>

#include "base/base.h"
#include "unit.h"

static int
m(const char *re, const char *s)
{
	char		err[256];
	AlloyRegex *rx = alloy_regex_compile(re, strlen(re), &alloy_malloc_hooks, err, sizeof(err));
	int			r;

	if (!rx)
		return -1;
	r = alloy_regex_match(rx, s, strlen(s)) ? 1 : 0;
	alloy_regex_free(rx);
	return r;
}

static int
compiles(const char *re)
{
	char		err[256];
	AlloyRegex *rx = alloy_regex_compile(re, strlen(re), &alloy_malloc_hooks, err, sizeof(err));

	if (!rx)
		return 0;
	alloy_regex_free(rx);
	return 1;
}

int
main(void)
{
	const char *const *lits;
	const size_t *lens;
	char		err[256];
	AlloyRegex *rx;

	CHECK(m("foo", "foo") == 1, "literal");
	CHECK(m("foo", "foobar") == 0, "anchored end");
	CHECK(m("foo", "xfoo") == 0, "anchored start");
	CHECK(m("foo|bar", "bar") == 1, "alternation");
	CHECK(m("foo|bar", "foobar") == 0, "alternation anchored");
	CHECK(m("a|b|", "") == 1, "empty alternative");
	CHECK(m("foo.*", "foobar") == 1, "prefix");
	CHECK(m("foo.*", "foo") == 1, "prefix empty rest");
	CHECK(m("foo.+", "foo") == 0, "prefix plus");
	CHECK(m("foo.*", "foo\nbar") == 0, "dot excludes newline");
	CHECK(m("10\\.0\\.1\\..*", "10.0.1.5") == 1, "escaped prefix matches");
	CHECK(m("10\\.0\\.1\\..*", "10.0.15") == 0, "escaped dot is literal");
	CHECK(m("a\\.*", "a...") == 1 && m("a\\.*", "ab") == 0, "escaped dot before star is a repeat of dots");
	{
		size_t		plen;
		const char *pre;
		const char *re = "10\\.0\\..*";

		rx = alloy_regex_compile(re, strlen(re), &alloy_malloc_hooks, err, sizeof(err));
		pre = rx ? alloy_regex_prefix(rx, &plen) : "";
		CHECK(rx && plen == 5 && memcmp(pre, "10.0.", 5) == 0, "escaped prefix is known: %.*s", (int) plen, pre);
		if (rx)
			alloy_regex_free(rx);
	}
	CHECK(m("(?s)foo.*", "foo\nbar") == 1, "s flag");
	CHECK(m("f.o$", "foo") == 1, "dollar");
	CHECK(m("f.o$", "foo\n") == 0, "dollar end only");
	CHECK(m("^foo$", "foo") == 1, "explicit anchors");
	CHECK(m("a*?b", "aab") == 1, "non-greedy");
	CHECK(m("(?i)FOO", "foo") == 1, "case insensitive");
	CHECK(m("\\d+", "123") == 1, "digit class");
	CHECK(m("[[:alpha:]]+", "abc") == 1, "posix class");
	CHECK(m("\\pL+", "héllo") == 1, "unicode class");
	CHECK(m("h.llo", "héllo") == 1, "dot matches a code point");
	CHECK(m("a\\.b", "a.b") == 1, "escaped dot literal");
	CHECK(m("a\\.b", "axb") == 0, "escaped dot literal no match");
	CHECK(m("(?P<x>a)b", "ab") == 1, "named group");
	CHECK(m("x{2,3}", "xxx") == 1, "repeat");
	CHECK(m("\\Q.*\\E", ".*") == 1, "quoted");
	CHECK(m("a.*", "a\xff") == 0 || m("a.*", "a\xff") == 1, "invalid utf8 does not crash");

	CHECK(!compiles("(a)\\1"), "backreference rejected");
	CHECK(!compiles("(?=a)"), "lookahead rejected");
	CHECK(!compiles("(?<=a)b"), "lookbehind rejected");
	CHECK(!compiles("(?>a)"), "atomic rejected");
	CHECK(!compiles("a*+"), "possessive rejected");
	CHECK(!compiles("a**"), "nested repetition rejected");
	CHECK(!compiles("\\C"), "\\C rejected");
	CHECK(!compiles("\\Z"), "\\Z rejected");
	CHECK(!compiles("a{1001}"), "repeat count limit");
	CHECK(!compiles("("), "unbalanced paren");
	CHECK(!compiles("*a"), "missing repetition argument");
	CHECK(compiles("a{,5}"), "brace literal");
	CHECK(!compiles("\\"), "trailing backslash");

	rx = alloy_regex_compile("foo|ba\\.r", 9, &alloy_malloc_hooks, err, sizeof(err));
	CHECK(rx != NULL, "compile literals");
	if (rx)
	{
		int			n = alloy_regex_literals(rx, &lits, &lens);

		CHECK(n == 2 && strcmp(lits[1], "ba.r") == 0 && lens[1] == 4, "literal set");
		CHECK(!alloy_regex_matches_empty(rx), "literals do not match empty");
		alloy_regex_free(rx);
	}
	rx = alloy_regex_compile(".*", 2, &alloy_malloc_hooks, err, sizeof(err));
	CHECK(rx && alloy_regex_matches_empty(rx), ".* matches empty");
	if (rx)
		alloy_regex_free(rx);
	rx = alloy_regex_compile("a(b)", 4, &alloy_malloc_hooks, err, sizeof(err));
	CHECK(rx && !alloy_regex_matches_empty(rx) && alloy_regex_literals(rx, &lits, &lens) == -1,
		  "general regex");
	if (rx)
		alloy_regex_free(rx);
	return unit_finish();
}
