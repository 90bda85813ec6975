/*
 * json.c: JSON string escaping for the HTTP API.
 *
 * Label values come from remote-write senders and may hold any byte; the
 * output must still be valid JSON, so control characters are escaped and
 * invalid UTF-8 sequences are replaced rather than copied.
 */
#include "postgres.h"

#include "http/json.h"

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static int
AlloyUtf8SeqLen(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	int			n;
	uint32		cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t) n > len)
		return 0;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

void
AlloyJsonStringLen(StringInfo out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	appendStringInfoCharMacro(out, '"');
	while (i < len)
	{
		unsigned char c = p[i];
		int			n;

		switch (c)
		{
			case '"':
				appendBinaryStringInfo(out, "\\\"", 2);
				i++;
				continue;
			case '\\':
				appendBinaryStringInfo(out, "\\\\", 2);
				i++;
				continue;
			case '\n':
				appendBinaryStringInfo(out, "\\n", 2);
				i++;
				continue;
			case '\r':
				appendBinaryStringInfo(out, "\\r", 2);
				i++;
				continue;
			case '\t':
				appendBinaryStringInfo(out, "\\t", 2);
				i++;
				continue;
			default:
				break;
		}
		if (c < 0x20)
		{
			appendStringInfo(out, "\\u%04x", c);
			i++;
			continue;
		}
		n = AlloyUtf8SeqLen(p + i, len - i);
		if (n == 0)
		{
			appendBinaryStringInfo(out, "\xEF\xBF\xBD", 3);
			i++;
			continue;
		}
		appendBinaryStringInfo(out, s + i, n);
		i += n;
	}
	appendStringInfoCharMacro(out, '"');
}

void
AlloyJsonString(StringInfo out, const char *s)
{
	AlloyJsonStringLen(out, s, strlen(s));
}
