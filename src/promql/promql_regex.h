/*
 * promql_regex.h: PromQL (RE2 syntax) regular expressions for label matchers.
 *
 * Prometheus anchors every matcher regex at both ends and uses Go's RE2
 * syntax.  We compile with PCRE2 after rejecting what RE2 rejects
 * (backreferences, lookaround, atomic groups, possessive quantifiers, \C...),
 * and recognise patterns that need no regex engine at all (a literal, an
 * alternation of literals, a literal prefix followed by .* or .+), because a
 * label matcher may be run against millions of label values.
 *
 * All memory, including PCRE2's, comes from the caller's hooks, so inside the
 * server an error escaping mid-query leaks nothing.
 */
#ifndef PROMQL_REGEX_H
#define PROMQL_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "promql/promql_arena.h"

typedef struct PromqlRegex PromqlRegex;

/*
 * Compile re (len bytes, not necessarily NUL-terminated).  On error returns
 * NULL and writes a message (Go's wording where practical) into errbuf.
 */
extern PromqlRegex *promql_regex_compile(const char *re, size_t len,
										 const PromqlAllocHooks *hooks,
										 char *errbuf, size_t errlen);

/* Flags of promql_regex_compile_flags. */
#define PROMQL_REGEX_DOTALL		0x01	/* '.' matches '\n' too (Prometheus 3) */

extern PromqlRegex *promql_regex_compile_flags(const char *re, size_t len,
											   const PromqlAllocHooks *hooks, int flags,
											   char *errbuf, size_t errlen);

/* True when the whole of s matches. */
extern bool promql_regex_match(const PromqlRegex *rx, const char *s, size_t len);

/* True when the regex matches the empty string (matters for =~ and !~). */
extern bool promql_regex_matches_empty(const PromqlRegex *rx);

/*
 * When the regex is exactly a set of literal strings (`foo`, `foo|bar`),
 * return their count and fill lits and litlens (owned by rx); else -1.
 * Lets the series catalog look values up directly instead of scanning.
 */
extern int	promql_regex_literals(const PromqlRegex *rx, const char *const **lits,
								  const size_t **litlens);

/* Literal prefix every match must start with (may be empty). */
extern const char *promql_regex_prefix(const PromqlRegex *rx, size_t *len);

/*
 * Run the regex for its capture groups (label_replace).  Fills ovec with
 * start/end byte offsets of up to maxpairs groups (group 0 is the whole
 * match; unset groups get SIZE_MAX) and returns the number of pairs, or -1
 * when s does not match.
 */
extern int	promql_regex_captures(const PromqlRegex *rx, const char *s, size_t len,
								  size_t *ovec, int maxpairs);

/* Number of the named group, or -1. */
extern int	promql_regex_group_number(const PromqlRegex *rx, const char *name, size_t len);

extern void promql_regex_free(PromqlRegex *rx);

#endif							/* PROMQL_REGEX_H */
