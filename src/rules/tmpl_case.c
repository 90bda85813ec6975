/*
 * tmpl_case.c: case mapping for the template functions toUpper, toLower and
 * title, rune by rune as Go's strings.ToUpper/ToLower/Title map them.
 *
 * The mapping covers the scripts alert labels realistically carry: ASCII,
 * Latin-1, Latin Extended-A, the basic Greek and Cyrillic alphabets.  Other
 * runes are left as they are (Go would consult all of Unicode's tables).
 * Bytes that are not UTF-8 come out as U+FFFD, as strings.Map writes them.
 * title upper-cases a rune that follows a separator: ASCII other than
 * letters, digits and '_', or a Unicode space; other runes are word parts.
 */
#include "rules/rules_int.h"

/* Upper-case of r (0: lower; 1: upper), or r itself when it has none. */
static int32_t
map_rune(int32_t r, bool upper)
{
	if (r < 0x80)
	{
		if (upper && r >= 'a' && r <= 'z')
			return r - 32;
		if (!upper && r >= 'A' && r <= 'Z')
			return r + 32;
		return r;
	}
	if (upper)
	{
		if ((r >= 0xE0 && r <= 0xFE && r != 0xF7) || (r >= 0x3B1 && r <= 0x3CB && r != 0x3C2) ||
			(r >= 0x430 && r <= 0x44F))
			return r - 32;
		if (r == 0xFF)
			return 0x178;
		if (r == 0xB5)
			return 0x39C;
		if (r == 0x3C2)
			return 0x3A3;
		if (r >= 0x450 && r <= 0x45F)
			return r - 80;
		if ((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
			return r & ~1;
		if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
			return (r & 1) ? r : r - 1;
		if (r == 0x17F)
			return 'S';
		return r;
	}
	if ((r >= 0xC0 && r <= 0xDE && r != 0xD7) || (r >= 0x391 && r <= 0x3AB && r != 0x3A2) ||
		(r >= 0x410 && r <= 0x42F))
		return r + 32;
	if (r == 0x178)
		return 0xFF;
	if (r >= 0x400 && r <= 0x40F)
		return r + 80;
	if ((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
		return r | 1;
	if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
		return (r & 1) ? r + 1 : r;
	return r;
}

static bool
unicode_space(int32_t r)
{
	return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) ||
		r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000;
}

/* Decode one rune at s; invalid UTF-8 gives U+FFFD over one byte. */
static int32_t
decode(const unsigned char *s, size_t left, size_t *width)
{
	unsigned char c = s[0];
	int			n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
	int32_t		r;

	*width = 1;
	if (n == 1)
		return c;
	if (n == 0 || (size_t) n > left)
		return 0xFFFD;
	r = c & (0x7F >> n);
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0xFFFD;
		r = (r << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid */
	if ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && r < 0x10000) ||
		r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return 0xFFFD;
	*width = (size_t) n;
	return r;
}

/*
 * Write r as UTF-8 at out (room for 4 bytes) and return its length; what is
 * no code point becomes U+FFFD.
 */
size_t
tmpl_utf8_put(char *out, int32_t r)
{
	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	if (r < 0x80)
	{
		out[0] = (char) r;
		return 1;
	}
	if (r < 0x800)
	{
		out[0] = (char) (0xC0 | (r >> 6));
		out[1] = (char) (0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000)
	{
		out[0] = (char) (0xE0 | (r >> 12));
		out[1] = (char) (0x80 | ((r >> 6) & 0x3F));
		out[2] = (char) (0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (r >> 18));
	out[1] = (char) (0x80 | ((r >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((r >> 6) & 0x3F));
	out[3] = (char) (0x80 | (r & 0x3F));
	return 4;
}

/*
 * Map s: mode 0 title, 1 upper, 2 lower.  Every rune is decoded and
 * written again, which leaves valid text's unmapped runes as they were.
 */
void
tmpl_map_case(TmplBuf *b, const char *s, size_t len, int mode)
{
	const unsigned char *u = (const unsigned char *) s;
	bool		sep = true;
	size_t		i = 0;

	while (i < len)
	{
		size_t		w;
		int32_t		r = decode(u + i, len - i, &w);
		bool		word;

		if (r < 0x80)
			word = (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_';
		else
			word = !unicode_space(r);
		if (mode == 1 || (mode == 0 && sep))
			r = map_rune(r, true);
		else if (mode == 2)
			r = map_rune(r, false);
		{
			char		enc[4];

			tmpl_buf_put(b, enc, tmpl_utf8_put(enc, r));
		}
		sep = !word;
		i += w;
	}
}
