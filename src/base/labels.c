/*
 * labels.c: Prometheus's rules for label names, metric names and UTF-8, the
 * one place they are written down. Remote-write decoding checks every label
 * of every request with them, so they are table-driven and skip ASCII runs
 * eight bytes at a time; the name rules are inline in base.h.
 */
#include "base/base.h"

/*
 * UTF-8 validity with the same rules as Go's utf8.Valid, which Prometheus
 * applies: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
bool
alloy_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *) str;
	const unsigned char *end = s + len;

	while (s < end)
	{
		unsigned char c;

		while (end - s >= 8)
		{
			uint64_t	w;

			memcpy(&w, s, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			s += 8;
		}
		if (s >= end)
			break;
		c = *s;
		if (c < 0x80)
		{
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
		{
			if (end - s < 2 || (s[1] & 0xc0) != 0x80)
				return false;
			s += 2;
		}
		else if (c >= 0xe0 && c <= 0xef)
		{
			if (end - s < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
				return false;
			if (c == 0xe0 && s[1] < 0xa0)
				return false;	/* overlong */
			if (c == 0xed && s[1] >= 0xa0)
				return false;	/* surrogate */
			s += 3;
		}
		else if (c >= 0xf0 && c <= 0xf4)
		{
			if (end - s < 4 || (s[1] & 0xc0) != 0x80 ||
				(s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
				return false;
			if (c == 0xf0 && s[1] < 0x90)
				return false;	/* overlong */
			if (c == 0xf4 && s[1] >= 0x90)
				return false;	/* above U+10FFFF */
			s += 4;
		}
		else
			return false;
	}
	return true;
}

/*
 * Character classes of Prometheus names, as a constant table (no runtime
 * initialisation, so concurrent callers are safe); see base.h.
 */
const unsigned char alloy_name_class[256] = {
	['a' ... 'z'] = 1 | 2 | 4 | 8,
	['A' ... 'Z'] = 1 | 2 | 4 | 8,
	['_'] = 1 | 2 | 4 | 8,
	['0' ... '9'] = 2 | 8,
	[':'] = 4 | 8,
};
