/*
 * test_rules_template.c: unit tests of the rule template engine
 * (src/rules/tmpl_*.c).
 *
 * The cases of rules_template_cases.h were taken from and are confirmed by
 * Prometheus 2.42's promtool: test/unit/rules_template/mkcases.py turns
 * templates.txt into rules.yml (one annotation per template) and test.yml
 * (the series below, each expected string in exp_annotations), and
 * `promtool test rules test.yml` passes only if Prometheus expands every
 * template to exactly that string.  The alert's data here are the same as
 * there: the sample m{job="j",instance="h:9090"} = 1234.5, and the query
 * callback answers the few queries the cases run as Prometheus would over
 * those series.  Prometheus does not fix the order of a plain selector's
 * samples (promtool gave both orders of `up`), so cases whose output
 * depends on order query sort_desc(up).
 *
 * The refusals (parse time) and execution errors below are our own
 * wording; Prometheus refuses the same templates, at load or expansion.
 */
#include <stdio.h>
#include <string.h>

#include "rules/rules_int.h"
#include "unit.h"
#include "rules_template_cases.h"

static AlloyLabel
lbl(const char *n, const char *v)
{
	AlloyLabel	l = {n, (int) strlen(n), v, (int) strlen(v)};

	return l;
}

static void
add_sample(AlloyArena *a, TmplVector *out, double v, int n, const char *const *kv)
{
	AlloyLabel	ls[8];
	TmplSample *s;

	out->s = alloy_arena_realloc(a, out->s, sizeof(TmplSample) * (size_t) out->n,
								 sizeof(TmplSample) * (size_t) (out->n + 1));
	s = &out->s[out->n++];
	for (int i = 0; i < n; i++)
		ls[i] = lbl(kv[2 * i], kv[2 * i + 1]);
	tmpl_map_from_labels(a, &s->labels, ls, n);
	s->value = v;
}

/* The queries of the cases, answered over the test's three series. */
static bool
fake_query(void *arg, AlloyArena *a, const char *expr, TmplVector *out, char *err, size_t errlen)
{
	static const char *const up_a[] = {"__name__", "up", "instance", "x:1", "job", "a"};
	static const char *const up_b[] = {"__name__", "up", "instance", "y:2", "job", "b"};
	static const char *const m[] = {"__name__", "m", "instance", "h:9090", "job", "j"};

	(void) arg;
	memset(out, 0, sizeof(*out));
	if (strcmp(expr, "up") == 0 || strcmp(expr, "sort_desc(up)") == 0)
	{
		add_sample(a, out, 1, 3, up_a);
		add_sample(a, out, 0, 3, up_b);
	}
	else if (strcmp(expr, "m") == 0)
		add_sample(a, out, 1234.5, 3, m);
	else if (strcmp(expr, "1 + 1") == 0)
		add_sample(a, out, 2, 0, NULL);
	else if (strcmp(expr, "1/0") == 0)
		add_sample(a, out, INFINITY, 0, NULL);
	else if (strcmp(expr, "-1/0") == 0)
		add_sample(a, out, -INFINITY, 0, NULL);
	else if (strcmp(expr, "0/0") == 0)
		add_sample(a, out, NAN, 0, NULL);
	else if (strcmp(expr, "up == 5") == 0)
		;
	else
	{
		snprintf(err, errlen, "unknown test query %s", expr);
		return false;
	}
	return true;
}

static const RulesTemplateQuery query = {fake_query, NULL};

static RulesTemplateData
alert_data(void)
{
	static AlloyLabel labels[3];
	RulesTemplateData d = {0};

	labels[0] = lbl("job", "j");
	labels[1] = lbl("instance", "h:9090");
	labels[2] = lbl("__name__", "m");
	d.labels = labels;
	d.nlabels = 3;
	d.value = 1234.5;
	return d;
}

/* Parse and expand; returns the output, or NULL with the error in err. */
static char *
expand(AlloyArena *a, const char *t, char *err, size_t errlen)
{
	RulesTemplate *tmpl = rules_template_parse(a, t, strlen(t), err, errlen);
	RulesTemplateData d = alert_data();
	char	   *out;

	if (tmpl == NULL)
		return NULL;
	if (!rules_template_expand(a, tmpl, &d, &query, &out, err, errlen))
		return NULL;
	return out;
}

static void
test_confirmed_cases(void)
{
	for (size_t i = 0; i < sizeof(tmpl_cases) / sizeof(tmpl_cases[0]); i++)
	{
		AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
		char		err[256];
		char	   *out = expand(a, tmpl_cases[i].tmpl, err, sizeof(err));

		CHECK(out != NULL && strcmp(out, tmpl_cases[i].want) == 0,
			  "case %zu %s: want [%s] got [%s] (%s)", i, tmpl_cases[i].tmpl,
			  tmpl_cases[i].want, out ? out : "NULL", out ? "" : err);
		alloy_arena_destroy(a);
	}
}

/* Refused when parsed, with a message naming what. */
static void
test_refused(void)
{
	static const struct
	{
		const char *tmpl;
		const char *msg;
	}			cases[] = {
		{"{{ urlquery \"x\" }}", "template: unsupported function \"urlquery\""},
		{"{{ html \"x\" }}", "template: unsupported function \"html\""},
		{"{{ js \"x\" }}", "template: unsupported function \"js\""},
		{"{{ call . }}", "template: unsupported function \"call\""},
		{"{{ slice \"abc\" 1 }}", "template: unsupported function \"slice\""},
		{"{{ toJson . }}", "template: unsupported function \"toJson\""},
		{"{{ nosuch 1 }}", "template: unsupported function \"nosuch\""},
		{"{{ define \"x\" }}a{{ end }}", "template: unsupported action \"define\""},
		{"{{ template \"x\" }}", "template: unsupported action \"template\""},
		{"{{ block \"x\" . }}a{{ end }}", "template: unsupported action \"block\""},
		{"{{ range $labels }}{{ break }}{{ end }}", "template: unsupported action \"break\""},
		{"{{ $nope }}", "template: undefined variable \"$nope\""},
		{"{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}", "template: undefined variable \"$x\""},
		{"{{ if true }}", "template: unexpected EOF"},
		{"{{ end }}", "template: unexpected {{end}}"},
		{"{{ else }}", "template: unexpected {{else}}"},
		{"{{ $value", "template: unclosed action"},
		{"{{ \"abc }}", "template: unterminated quoted string"},
		{"{{ humanize }}", "template: wrong number of args for humanize: want 1 got 0"},
		{"{{ humanize 1 2 }}", "template: wrong number of args for humanize: want 1 got 2"},
		{"{{ 1 | 2 }}", "template: non executable command in pipeline stage 2"},
		{"{{ $value 1 }}", "template: can't give argument to non-function"},
		{"{{ nil }}", "template: nil is not a command"},
		{"{{ (toTime 1).Unix }}", "template: unsupported method on toTime's result"},
		{"{{ \"\\q\" }}", "template: unsupported escape \\q in string"},
		{"{{ \"\\uD800\" }}", "template: escape sequence is invalid Unicode code point"},
		{"{{ 'a' }}", "template: unsupported character constant"},
		{"{{ ( 1 }}", "template: unexpected end of action in command"},
		{"{{/* open }}", "template: unclosed comment"},
		{"{{ /* c */ }}", "template: unexpected character / in action"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
		char		err[256] = "";
		RulesTemplate *t = rules_template_parse(a, cases[i].tmpl, strlen(cases[i].tmpl), err, sizeof(err));

		CHECK(t == NULL && strcmp(err, cases[i].msg) == 0, "refuse %s: got %s [%s]",
			  cases[i].tmpl, t ? "accepted" : "refused", err);
		alloy_arena_destroy(a);
	}
}

/* Parsed, but fail when run, as in Prometheus ("<error expanding template ...>"). */
static void
test_exec_errors(void)
{
	static const char *const cases[] = {
		"{{ humanize \"abc\" }}",
		"{{ query \"up == 5\" | first }}",
		"{{ match \"(\" \"x\" }}",
		"{{ gt $value 1 }}",
		"{{ eq 1 \"1\" }}",
		"{{ .Nope }}",
		"{{ title 5 }}",
		"{{ range 5 }}{{ end }}",
		"{{ index \"abc\" 5 }}",
		"{{ query \"bad\" }}",
		"{{ humanizeTimestamp 1e300 }}",
		"{{ humanizeTimestamp 1e10 }}",	/* promtool: overflows int64 */
		/* promtool (no external URL): nil pointer errors; bad durations */
		"{{ pathPrefix }}",
		"{{ externalURL }}",
		"{{ parseDuration \"1.5s\" }}",
		"{{ parseDuration \"1.5h\" }}",
		"{{ parseDuration \"5\" }}",
		"{{ parseDuration \"\" }}",
		"{{ parseDuration \"1s1h\" }}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
		char		err[256] = "";
		char	   *out = expand(a, cases[i], err, sizeof(err));

		CHECK(out == NULL && err[0] != '\0', "exec error %s: got [%s]", cases[i], out ? out : err);
		alloy_arena_destroy(a);
	}
}

/* The work bounds stop runaway templates. */
static void
test_bounds(void)
{
	AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
	char		err[256];
	char	   *out;
	/* 3 ^ 14 iterations of nested ranges: past the step cap */
	char		t[2048] = "";

	for (int i = 0; i < 14; i++)
		strcat(t, "{{ range $labels }}");
	strcat(t, "x");
	for (int i = 0; i < 14; i++)
		strcat(t, "{{ end }}");
	out = expand(a, t, err, sizeof(err));
	CHECK(out == NULL && strstr(err, "steps") != NULL, "step cap: %s", out ? "ran" : err);

	out = expand(a, "{{ printf \"%999999999s\" \"x\" }}", err, sizeof(err));
	CHECK(out == NULL && strstr(err, "exceeds") != NULL, "width cap: %s", out ? "ran" : err);

	t[0] = '\0';
	for (int i = 0; i < RULES_TMPL_MAX_DEPTH + 1; i++)
		strcat(t, "{{ if 1 }}");
	out = expand(a, t, err, sizeof(err));
	CHECK(out == NULL && strstr(err, "nesting") != NULL, "depth cap: %s", out ? "ran" : err);
	alloy_arena_destroy(a);
}

/* A template parsed once runs many times, with no query callback too. */
static void
test_reuse(void)
{
	AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
	char		err[256];
	const char *src = "{{ $labels.job }}={{ $value | humanize }}";
	RulesTemplate *t = rules_template_parse(a, src, strlen(src), err, sizeof(err));
	RulesTemplateData d = alert_data();
	char	   *out = NULL;

	CHECK(t != NULL, "parse: %s", err);
	for (int i = 0; t && i < 3; i++)
	{
		d.value = 1000.0 * (i + 1);
		CHECK(rules_template_expand(a, t, &d, NULL, &out, err, sizeof(err)), "expand: %s", err);
	}
	CHECK(out && strcmp(out, "j=3k") == 0, "reuse: %s", out ? out : "NULL");
	CHECK(expand(a, "{{ query \"up\" }}", err, sizeof(err)) != NULL, "query with callback");
	{
		const char *q = "{{ query \"up\" }}";
		RulesTemplate *qt = rules_template_parse(a, q, strlen(q), err, sizeof(err));

		CHECK(qt && !rules_template_expand(a, qt, &d, NULL, &out, err, sizeof(err)),
			  "query without a callback fails");
	}
	alloy_arena_destroy(a);
}

int
main(void)
{
	test_confirmed_cases();
	test_refused();
	test_exec_errors();
	test_bounds();
	test_reuse();
	return unit_finish();
}
