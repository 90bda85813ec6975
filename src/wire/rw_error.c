/*
 * rw_error.c: the one-line, lower-case messages of RwError, and excerpts of
 * untrusted bytes that are safe to put in them (and so in logs).
 */
#include <stdarg.h>
#include <stdio.h>

#include "wire/wire_int.h"

void
rw_set_error(RwError *err, int status, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	err->http_status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/*
 * Copy untrusted bytes into a message safely: printable ASCII only, at most
 * 48 characters, so a hostile label cannot inject newlines into logs.
 */
const char *
rw_excerpt(const char *s, size_t len, char *buf, size_t bufsize)
{
	size_t		i,
				o = 0;

	for (i = 0; i < len && o + 4 < bufsize && i < 48; i++)
	{
		unsigned char c = (unsigned char) s[i];

		buf[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char) c : '?';
	}
	if (i < len && o + 3 < bufsize)
	{
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

bool
rw_fail_parse(RwError *err, const char *what)
{
	rw_set_error(err, 400, "cannot parse %s protobuf", what);
	return false;
}

bool
rw_fail_nomem(const RwArena *ar, RwError *err)
{
	rw_set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->mem->limit);
	return false;
}
