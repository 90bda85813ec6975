/*
 * tmpl_linkfuncs.c: Prometheus's template functions about addresses, links
 * and times: graphLink, tableLink, pathPrefix, externalURL, stripDomain,
 * parseDuration and toTime.
 *
 * graphLink/tableLink build "/graph?g0.expr=<expr>&g0.tab=0|1" with the
 * expression query-escaped as Go's url.QueryEscape does (space as '+',
 * only letters, digits and -_.~ kept).  stripDomain keeps the first label of
 * a host name and any port, but leaves IP addresses alone.  parseDuration
 * takes Prometheus's duration syntax (1y2w3d4h5m6s7ms, units in that order,
 * integers only) and gives seconds.  toTime gives the time as Go prints a
 * time.Time (a string here: methods on it are not supported).  pathPrefix
 * and externalURL read the external URL of the data; without one they fail
 * as Prometheus does with no URL.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "rules/rules_int.h"

static bool
link(TmplExec *ex, const TmplValue *expr, const char *tab, TmplValue *res)
{
	TmplBuf		b;

	if (!tmpl_want_string(ex, expr))
		return false;
	tmpl_buf_init(&b, ex->arena);
	tmpl_buf_puts(&b, "/graph?g0.expr=");
	for (size_t i = 0; i < expr->slen; i++)
	{
		unsigned char c = (unsigned char) expr->s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '_' || c == '.' || c == '~')
			tmpl_buf_put(&b, (const char *) &c, 1);
		else if (c == ' ')
			tmpl_buf_puts(&b, "+");
		else
			tmpl_buf_printf(&b, "%%%02X", c);
	}
	tmpl_buf_puts(&b, "&g0.tab=");
	tmpl_buf_puts(&b, tab);
	if (b.overflow)
		return tmpl_error(ex, "template output exceeds %d bytes", RULES_TMPL_MAX_OUTPUT);
	*res = tmpl_string(NULL, b.data, b.len);
	return true;
}

bool
tmpl_fn_graph_link(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return link(ex, &argv[0], "0", res);
}

bool
tmpl_fn_table_link(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	return link(ex, &argv[0], "1", res);
}

bool
tmpl_fn_external_url(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	(void) argc;
	(void) argv;
	if (ex->external_url == NULL)
		return tmpl_error(ex, "error calling externalURL: runtime error: invalid memory address or nil pointer dereference");
	*res = tmpl_string(NULL, ex->external_url, strlen(ex->external_url));
	return true;
}

/* The path of the external URL: after scheme://host, before ? or #. */
bool
tmpl_fn_path_prefix(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	const char *u = ex->external_url;
	const char *p,
			   *end;

	(void) argc;
	(void) argv;
	if (u == NULL)
		return tmpl_error(ex, "error calling pathPrefix: runtime error: invalid memory address or nil pointer dereference");
	p = strstr(u, "://");
	p = p ? strchr(p + 3, '/') : strchr(u, '/');
	if (p == NULL)
		p = u + strlen(u);
	end = p + strcspn(p, "?#");
	*res = tmpl_string(ex->arena, p, (size_t) (end - p));
	return true;
}

bool
tmpl_fn_strip_domain(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	TmplValue	host;
	const char *h;
	size_t		hl,
				port_at = 0;
	char		ip[64];
	unsigned char buf[16];
	bool		has_port;

	(void) argc;
	if (!tmpl_fn_strip_port(ex, 1, argv, &host))
		return false;
	/* stripPort gives the input back when it has no port to split off */
	has_port = !(host.s == argv[0].s && host.slen == argv[0].slen);
	h = host.s;
	hl = host.slen;
	if (has_port)
		port_at = argv[0].slen - (size_t) (strrchr(argv[0].s, ':') - argv[0].s);
	if (hl < sizeof(ip))
	{
		memcpy(ip, h, hl);
		ip[hl] = '\0';
		if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1)
		{
			*res = argv[0];
			return true;
		}
	}
	{
		const char *dot = memchr(h, '.', hl);
		size_t		first = dot ? (size_t) (dot - h) : hl;
		TmplBuf		b;

		if (!has_port || port_at <= 1)
		{
			*res = tmpl_string(ex->arena, h, first);
			return true;
		}
		tmpl_buf_init(&b, ex->arena);
		if (memchr(h, ':', first))
			tmpl_buf_puts(&b, "[");
		tmpl_buf_put(&b, h, first);
		if (memchr(h, ':', first))
			tmpl_buf_puts(&b, "]");
		tmpl_buf_put(&b, argv[0].s + argv[0].slen - port_at, port_at);
		*res = tmpl_string(NULL, b.data, b.len);
		return true;
	}
}

/* Prometheus's model.ParseDuration, in seconds. */
bool
tmpl_fn_parse_duration(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	static const struct
	{
		const char *unit;
		double		ms;
	}			units[] = {
		{"y", 365.0 * 24 * 3600 * 1000}, {"w", 7.0 * 24 * 3600 * 1000}, {"d", 24.0 * 3600 * 1000},
		{"h", 3600.0 * 1000}, {"m", 60.0 * 1000}, {"s", 1000}, {"ms", 1},
	};
	const char *s;
	size_t		i = 0,
				n;
	int			next_unit = 0;
	double		total = 0;

	(void) argc;
	if (!tmpl_want_string(ex, &argv[0]))
		return false;
	s = argv[0].s;
	n = argv[0].slen;
	if (n == 1 && s[0] == '0')
	{
		*res = tmpl_float(0);
		return true;
	}
	if (n == 0)
		return tmpl_error(ex, "error calling parseDuration: empty duration string");
	while (i < n)
	{
		double		num = 0;
		size_t		start = i;
		int			u;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			num = num * 10 + (s[i++] - '0');
		if (i == start)
			break;
		/* the longest unit that matches: "ms" before "m" */
		for (u = next_unit; u < 7; u++)
		{
			size_t		ul = strlen(units[u].unit);

			if (i + ul <= n && memcmp(s + i, units[u].unit, ul) == 0 &&
				!(u == 4 && i + 1 < n && s[i + 1] == 's'))
				break;
		}
		if (u == 7)
			break;
		i += strlen(units[u].unit);
		total += num * units[u].ms;
		next_unit = u + 1;
		if (i == n)
		{
			if (total > 9223372036854.0 * 1000)
				return tmpl_error(ex, "error calling parseDuration: duration out of range");
			*res = tmpl_float(total / 1000);
			return true;
		}
	}
	return tmpl_error(ex, "error calling parseDuration: not a valid duration string: \"%s\"", s);
}

/* toTime: the time Go's fmt prints for it (see humanizeTimestamp). */
bool
tmpl_fn_to_time(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res)
{
	double		v;

	(void) argc;
	if (!tmpl_to_float(ex, &argv[0], &v))
		return false;
	return tmpl_time_string(ex, "toTime", v, res);
}
