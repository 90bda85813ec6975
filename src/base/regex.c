/*
 * regex.c: RE2-compatible, fully anchored regex matching on PCRE2.
 *
 * Why not a real RE2: it is C++ and not packaged for the server build, while
 * PCRE2 is.  The two agree on the syntax RE2 accepts once we (1) reject the
 * Perl-only constructs up front, (2) wrap the pattern as (?:re) with
 * PCRE2_ANCHORED|PCRE2_ENDANCHORED so the whole value must match, like
 * Prometheus's "^(?:re)$", and (3) use PCRE2_DOLLAR_ENDONLY so `$` means end
 * of text as in Go.  `.` excludes only \n in both by default.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

typedef enum RegexKind
{
	RX_PCRE,					/* general case */
	RX_LITERALS,				/* one of nlits literal strings */
	RX_PREFIX_ANY,				/* prefix then .* (no newline after) */
	RX_PREFIX_SOME				/* prefix then .+ (no newline, >= 1 char) */
} RegexKind;

struct AlloyRegex
{
	AlloyAllocHooks hooks;
	RegexKind	kind;
	int			nlits;
	const char **lits;
	size_t	   *litlens;
	char	   *prefix;
	size_t		prefixlen;
	bool		matches_empty;
	bool		dotall;
	pcre2_general_context *gctx;
	pcre2_compile_context *cctx;
	pcre2_code *code;
	pcre2_match_data *md;
};

static void *
rx_pcre_alloc(size_t size, void *arg)
{
	AlloyAllocHooks *h = arg;

	return h->alloc(h->arg, size);
}

static void
rx_pcre_free(void *ptr, void *arg)
{
	AlloyAllocHooks *h = arg;

	if (ptr)
		h->free(h->arg, ptr);
}

static void rx_error(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void
rx_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static bool
is_meta(char c)
{
	return c == 0 || strchr("\\.+*?()|[]{}^$", c) != NULL;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Parse a {n}, {n,}, {n,m} repeat at re[i] ('{').  Returns the length of the
 * spec, 0 when it is not a repeat (Go then treats '{' as a literal), or -1
 * when a count is above RE2's limit of 1000.
 */
static int
parse_repeat(const char *re, size_t len, size_t i)
{
	size_t		j = i + 1;
	long		n = 0,
				m = -1;
	int			digits = 0;

	while (j < len && re[j] >= '0' && re[j] <= '9')
	{
		if (n <= 100000)
			n = n * 10 + (re[j] - '0');
		j++;
		digits++;
	}
	if (digits == 0 || j >= len)
		return 0;
	if (re[j] == ',')
	{
		j++;
		if (j < len && re[j] >= '0' && re[j] <= '9')
		{
			m = 0;
			while (j < len && re[j] >= '0' && re[j] <= '9')
			{
				if (m <= 100000)
					m = m * 10 + (re[j] - '0');
				j++;
			}
		}
	}
	else
		m = n;
	if (j >= len || re[j] != '}')
		return 0;
	if (n > 1000 || m > 1000 || (m >= 0 && m < n))
		return -1;
	return (int) (j - i + 1);
}

/*
 * Check one escape sequence at re[i] == '\\' against RE2's list; returns its
 * length or 0 when RE2 rejects it.
 */
static size_t
check_escape(const char *re, size_t len, size_t i, bool *in_quote)
{
	unsigned char c;

	if (i + 1 >= len)
		return 0;				/* trailing backslash */
	c = (unsigned char) re[i + 1];
	if (c >= 0x80 || !is_alnum(c))
		return 2;				/* escaped punctuation is a literal */
	switch (c)
	{
		case 'A': case 'b': case 'B': case 'z':
		case 'd': case 'D': case 's': case 'S': case 'w': case 'W':
		case 'a': case 'f': case 't': case 'n': case 'r': case 'v':
			return 2;
		case 'Q':
			*in_quote = true;
			return 2;
		case 'p': case 'P':
			if (i + 2 < len && re[i + 2] == '{')
			{
				const char *e = memchr(re + i + 2, '}', len - i - 2);

				return e ? (size_t) (e - (re + i)) + 1 : 0;
			}
			return i + 2 < len ? 3 : 0;
		case 'x':
			if (i + 2 < len && re[i + 2] == '{')
			{
				const char *e = memchr(re + i + 2, '}', len - i - 2);

				return e ? (size_t) (e - (re + i)) + 1 : 0;
			}
			return i + 3 < len ? 4 : 0;
		case '0':
			{
				size_t		j = i + 2;

				while (j < len && j < i + 4 && re[j] >= '0' && re[j] <= '7')
					j++;
				return j - i;
			}
		case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			{
				/* a single non-zero digit would be a backreference */
				size_t		j = i + 2;

				if (j >= len || re[j] < '0' || re[j] > '7')
					return 0;
				while (j < len && j < i + 4 && re[j] >= '0' && re[j] <= '7')
					j++;
				return j - i;
			}
		default:
			return 0;
	}
}

/*
 * Reject what Go's regexp/syntax rejects but PCRE2 would accept.  Returns
 * false with a message.  PCRE2 itself reports the ordinary syntax errors.
 */
static bool
check_re2_syntax(const char *re, size_t len, char *errbuf, size_t errlen)
{
	size_t		i = 0;
	bool		after_repeat = false;	/* previous item was a quantifier */
	bool		can_repeat = false; /* there is something to repeat */

	while (i < len)
	{
		char		c = re[i];

		if (c == '\\')
		{
			bool		in_quote = false;
			size_t		n = check_escape(re, len, i, &in_quote);

			if (n == 0)
			{
				if (i + 1 >= len)
					rx_error(errbuf, errlen, "error parsing regexp: trailing backslash at end of expression: ``");
				else
					rx_error(errbuf, errlen, "error parsing regexp: invalid escape sequence: `%.*s`",
							 2, re + i);
				return false;
			}
			i += n;
			if (in_quote)
			{
				const char *e = NULL;
				size_t		j;

				for (j = i; j + 1 < len; j++)
					if (re[j] == '\\' && re[j + 1] == 'E')
					{
						e = re + j;
						break;
					}
				i = e ? (size_t) (e - re) + 2 : len;
			}
			after_repeat = false;
			can_repeat = true;
			continue;
		}
		if (c == '[')
		{
			/* skip the class; only escapes inside need checking */
			size_t		j = i + 1;

			if (j < len && re[j] == '^')
				j++;
			if (j < len && re[j] == ']')
				j++;
			while (j < len && re[j] != ']')
			{
				if (re[j] == '[' && j + 1 < len && re[j + 1] == ':')
				{
					const char *e = strstr(re + j, ":]");

					if (e && (size_t) (e - re) < len)
					{
						j = (size_t) (e - re) + 2;
						continue;
					}
				}
				if (re[j] == '\\')
				{
					bool		q = false;
					size_t		n = check_escape(re, len, j, &q);

					if (n == 0 || q ||
						(j + 1 < len && re[j + 1] != 0 && strchr("AbBz", re[j + 1]) != NULL))
					{
						rx_error(errbuf, errlen, "error parsing regexp: invalid escape sequence: `%.*s`",
								 2, re + j);
						return false;
					}
					j += n;
					continue;
				}
				j++;
			}
			if (j >= len)
			{
				rx_error(errbuf, errlen, "error parsing regexp: missing closing ]: `%.*s`",
						 (int) (len - i), re + i);
				return false;
			}
			i = j + 1;
			after_repeat = false;
			can_repeat = true;
			continue;
		}
		if (c == '(')
		{
			if (i + 1 < len && re[i + 1] == '?')
			{
				size_t		j = i + 2;

				if (j < len && re[j] == 'P')
				{
					if (j + 1 < len && re[j + 1] == '<')
					{
						i = j + 2;
						after_repeat = can_repeat = false;
						continue;
					}
					rx_error(errbuf, errlen, "error parsing regexp: invalid named capture: `%.*s`",
							 (int) (len - i), re + i);
					return false;
				}
				while (j < len && re[j] != 0 && strchr("imsU-", re[j]) != NULL)
					j++;
				if (j >= len || (re[j] != ')' && re[j] != ':') || j == i + 2)
				{
					rx_error(errbuf, errlen, "error parsing regexp: invalid or unsupported Perl syntax: `%.*s`",
							 (int) (j + 1 <= len ? j + 1 - i : len - i), re + i);
					return false;
				}
				i = j + 1;
				after_repeat = false;
				can_repeat = (re[j] == ')') ? can_repeat : false;
				continue;
			}
			i++;
			after_repeat = can_repeat = false;
			continue;
		}
		if (c == '*' || c == '+' || c == '?' ||
			(c == '{' && parse_repeat(re, len, i) != 0))
		{
			size_t		n = 1;

			if (c == '{')
			{
				int			r = parse_repeat(re, len, i);

				if (r < 0)
				{
					rx_error(errbuf, errlen, "error parsing regexp: invalid repeat count: `%.*s`",
							 (int) (len - i), re + i);
					return false;
				}
				n = (size_t) r;
			}
			if (after_repeat)
			{
				rx_error(errbuf, errlen, "error parsing regexp: invalid nested repetition operator: `%.*s`",
						 (int) (i + n), re);
				return false;
			}
			if (!can_repeat)
			{
				rx_error(errbuf, errlen, "error parsing regexp: missing argument to repetition operator: `%.*s`",
						 (int) n, re + i);
				return false;
			}
			i += n;
			if (i < len && re[i] == '?')
				i++;			/* non-greedy */
			after_repeat = true;
			continue;
		}
		if (c == '|')
		{
			i++;
			after_repeat = can_repeat = false;
			continue;
		}
		if (c == '^' || c == '$')
		{
			i++;
			after_repeat = false;
			can_repeat = true;
			continue;
		}
		i++;
		after_repeat = false;
		can_repeat = true;
	}
	return true;
}

/* Classify patterns that need no regex engine. */
static void
detect_fast_path(AlloyRegex *rx, const char *re, size_t len)
{
	size_t		i;
	int			nalts = 1;
	bool		plain = true;

	/* literal text possibly with escaped punctuation, split on '|' */
	for (i = 0; i < len; i++)
	{
		char		c = re[i];

		if (c == '\\')
		{
			if (i + 1 < len && !is_alnum((unsigned char) re[i + 1]) &&
				(unsigned char) re[i + 1] < 0x80)
			{
				i++;
				continue;
			}
			plain = false;
			break;
		}
		if (c == '|')
		{
			nalts++;
			continue;
		}
		if (is_meta(c))
		{
			plain = false;
			break;
		}
	}
	if (plain)
	{
		int			k = 0;
		size_t		start = 0;

		rx->lits = rx->hooks.alloc(rx->hooks.arg, sizeof(char *) * nalts);
		rx->litlens = rx->hooks.alloc(rx->hooks.arg, sizeof(size_t) * nalts);
		for (i = 0; i <= len; i++)
		{
			if (i == len || re[i] == '|')
			{
				char	   *s = rx->hooks.alloc(rx->hooks.arg, i - start + 1);
				size_t		n = 0,
							j;

				for (j = start; j < i; j++)
				{
					if (re[j] == '\\')
						j++;
					s[n++] = re[j];
				}
				s[n] = '\0';
				rx->lits[k] = s;
				rx->litlens[k] = n;
				if (n == 0)
					rx->matches_empty = true;
				k++;
				start = i + 1;
			}
			else if (re[i] == '\\')
				i++;
		}
		rx->nlits = k;
		rx->kind = RX_LITERALS;
		return;
	}

	/*
	 * A literal prefix followed by .* or .+; escaped punctuation counts as
	 * literal (10\.0\..*), so IP-address and dotted-name prefixes keep the
	 * fast path and the catalog can use its index for them.
	 */
	if (len >= 2 && re[len - 2] == '.' && (re[len - 1] == '*' || re[len - 1] == '+'))
	{
		char	   *p = rx->hooks.alloc(rx->hooks.arg, len - 1);
		size_t		n = 0;
		bool		ok = true;

		for (i = 0; i + 2 < len; i++)
		{
			char		c = re[i];

			if (c == '\\')
			{
				/* the escaped character must sit before the final .* */
				if (i + 3 >= len || is_alnum((unsigned char) re[i + 1]) ||
					(unsigned char) re[i + 1] >= 0x80)
				{
					ok = false;
					break;
				}
				p[n++] = re[++i];
				continue;
			}
			if (is_meta(c))
			{
				ok = false;
				break;
			}
			p[n++] = c;
		}
		if (ok)
		{
			p[n] = '\0';
			rx->prefix = p;
			rx->prefixlen = n;
			rx->kind = re[len - 1] == '*' ? RX_PREFIX_ANY : RX_PREFIX_SOME;
			rx->matches_empty = (rx->kind == RX_PREFIX_ANY && rx->prefixlen == 0);
			return;
		}
	}
}

AlloyRegex *
alloy_regex_compile(const char *re, size_t len, const AlloyAllocHooks *hooks,
					 char *errbuf, size_t errlen)
{
	return alloy_regex_compile_flags(re, len, hooks, 0, errbuf, errlen);
}

AlloyRegex *
alloy_regex_compile_flags(const char *re, size_t len, const AlloyAllocHooks *hooks,
						   int flags, char *errbuf, size_t errlen)
{
	AlloyRegex *rx;
	char	   *wrapped;
	int			errcode;
	PCRE2_SIZE	erroff;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!check_re2_syntax(re, len, errbuf, errlen))
		return NULL;

	rx = hooks->alloc(hooks->arg, sizeof(AlloyRegex));
	memset(rx, 0, sizeof(*rx));
	rx->hooks = *hooks;
	rx->kind = RX_PCRE;
	rx->dotall = (flags & ALLOY_REGEX_DOTALL) != 0;

	/* PCRE2 memory goes through the same hooks (copied into rx) */
	rx->gctx = pcre2_general_context_create(rx_pcre_alloc, rx_pcre_free, &rx->hooks);
	rx->cctx = pcre2_compile_context_create(rx->gctx);

	wrapped = hooks->alloc(hooks->arg, len + 5);
	memcpy(wrapped, "(?:", 3);
	memcpy(wrapped + 3, re, len);
	wrapped[len + 3] = ')';
	wrapped[len + 4] = '\0';
	rx->code = pcre2_compile((PCRE2_SPTR) wrapped, len + 4,
							 PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF |
							 PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
							 PCRE2_NEVER_BACKSLASH_C | (rx->dotall ? PCRE2_DOTALL : 0),
							 &errcode, &erroff, rx->cctx);
	hooks->free(hooks->arg, wrapped);
	if (rx->code == NULL)
	{
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		rx_error(errbuf, errlen, "error parsing regexp: %s at offset %d: `%.*s`",
				 (char *) msg, (int) (erroff > 3 ? erroff - 3 : 0), (int) len, re);
		alloy_regex_free(rx);
		return NULL;
	}
	rx->md = pcre2_match_data_create_from_pattern(rx->code, rx->gctx);

	detect_fast_path(rx, re, len);
	if (rx->kind == RX_PCRE)
		rx->matches_empty = pcre2_match(rx->code, (PCRE2_SPTR) "", 0, 0, 0, rx->md, NULL) >= 0;
	return rx;
}

bool
alloy_regex_match(const AlloyRegex *rx, const char *s, size_t len)
{
	switch (rx->kind)
	{
		case RX_LITERALS:
			for (int i = 0; i < rx->nlits; i++)
				if (rx->litlens[i] == len && memcmp(rx->lits[i], s, len) == 0)
					return true;
			return false;
		case RX_PREFIX_ANY:
		case RX_PREFIX_SOME:
			if (len < rx->prefixlen || memcmp(s, rx->prefix, rx->prefixlen) != 0)
				return false;
			if (rx->kind == RX_PREFIX_SOME && len == rx->prefixlen)
				return false;
			if (!rx->dotall && memchr(s + rx->prefixlen, '\n', len - rx->prefixlen) != NULL)
				return false;
			/* the rest must be valid UTF-8 for '.' to match it; let PCRE decide if not ASCII */
			for (size_t i = rx->prefixlen; i < len; i++)
				if ((unsigned char) s[i] >= 0x80)
					return pcre2_match(rx->code, (PCRE2_SPTR) s, len, 0, 0, rx->md, NULL) >= 0;
			return true;
		case RX_PCRE:
		default:
			return pcre2_match(rx->code, (PCRE2_SPTR) s, len, 0, 0, rx->md, NULL) >= 0;
	}
}

bool
alloy_regex_matches_empty(const AlloyRegex *rx)
{
	return rx->matches_empty;
}

int
alloy_regex_literals(const AlloyRegex *rx, const char *const **lits, const size_t **litlens)
{
	if (rx->kind != RX_LITERALS)
		return -1;
	*lits = (const char *const *) rx->lits;
	*litlens = rx->litlens;
	return rx->nlits;
}

const char *
alloy_regex_prefix(const AlloyRegex *rx, size_t *len)
{
	if (rx->kind == RX_PREFIX_ANY || rx->kind == RX_PREFIX_SOME)
	{
		*len = rx->prefixlen;
		return rx->prefix;
	}
	if (rx->kind == RX_LITERALS && rx->nlits == 1)
	{
		*len = rx->litlens[0];
		return rx->lits[0];
	}
	*len = 0;
	return "";
}

int
alloy_regex_captures(const AlloyRegex *rx, const char *s, size_t len, size_t *ovec, int maxpairs)
{
	int			rc = pcre2_match(rx->code, (PCRE2_SPTR) s, len, 0, 0, rx->md, NULL);
	PCRE2_SIZE *ov;
	uint32_t	npairs;

	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(rx->md);
	npairs = pcre2_get_ovector_count(rx->md);
	if ((int) npairs > maxpairs)
		npairs = (uint32_t) maxpairs;
	for (uint32_t i = 0; i < npairs; i++)
	{
		if (i < (uint32_t) rc && ov[2 * i] != PCRE2_UNSET)
		{
			ovec[2 * i] = ov[2 * i];
			ovec[2 * i + 1] = ov[2 * i + 1];
		}
		else
			ovec[2 * i] = ovec[2 * i + 1] = (size_t) -1;
	}
	return (int) npairs;
}

int
alloy_regex_group_number(const AlloyRegex *rx, const char *name, size_t len)
{
	char		buf[256];
	int			n;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	n = pcre2_substring_number_from_name(rx->code, (PCRE2_SPTR) buf);
	return n < 0 ? -1 : n;
}

void
alloy_regex_free(AlloyRegex *rx)
{
	AlloyAllocHooks h = rx->hooks;

	if (rx->md)
		pcre2_match_data_free(rx->md);
	if (rx->code)
		pcre2_code_free(rx->code);
	if (rx->cctx)
		pcre2_compile_context_free(rx->cctx);
	if (rx->gctx)
		pcre2_general_context_free(rx->gctx);
	for (int i = 0; i < rx->nlits; i++)
		h.free(h.arg, (void *) rx->lits[i]);
	if (rx->lits)
		h.free(h.arg, rx->lits);
	if (rx->litlens)
		h.free(h.arg, rx->litlens);
	if (rx->prefix)
		h.free(h.arg, rx->prefix);
	h.free(h.arg, rx);
}
