/*
 * test_rules_file.c: rule files (src/rules) against a corpus and promtool.
 *
 * test/unit/rules_file/good/ holds rule files Prometheus accepts (several
 * written in the style of the node-exporter and kubernetes mixins), bad/
 * files it refuses, each with a first line "# expect: <text>" naming a part
 * of our message.  Every file's verdict was checked with Debian's Prometheus
 * 2.42 `promtool check rules FILE` when written (exit status 0 = accepted),
 * and is checked again here at test time when /usr/bin/promtool (or
 * $PROMTOOL) exists: the emitted text of every good file must be accepted by
 * promtool too.  Without promtool those checks are skipped, printed apart
 * and not counted.
 *
 * Round trip: parse -> emit -> parse gives equal structs, and emitting again
 * gives the same text.  The limits that go beyond Prometheus (aliases,
 * depth, size) are our own choice and checked without the oracle.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rules/rules.h"
#include "unit.h"

static const char *promtool;
static int	skipped;

static char *
read_all(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* promtool check rules on a file: 1 accepted, 0 refused, -1 no promtool. */
static int
promtool_accepts(const char *path)
{
	char		cmd[4096];
	int			rc;

	if (!promtool)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' check rules '%s' >/dev/null 2>&1", promtool, path);
	rc = system(cmd);
	return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static int
promtool_accepts_text(const char *text, size_t len)
{
	char		path[] = "/tmp/alloy-rules-XXXXXX.yml";
	int			fd,
				ok;

	if (!promtool)
		return -1;
	fd = mkstemps(path, 4);
	if (fd < 0 || write(fd, text, len) != (ssize_t) len)
		return 0;
	close(fd);
	ok = promtool_accepts(path);
	unlink(path);
	return ok;
}

static void
good_file(AlloyArena *a, const char *path)
{
	size_t		len,
				elen,
				elen2;
	char	   *text = read_all(path, &len);
	const char *err = NULL;
	RulesFile	f,
				f2;
	char	   *out,
			   *out2;
	int			pt;

	CHECK(rules_parse_file(a, text, len, &f, &err), "%s: refused: %s", path, err);
	if (err)
		goto done;
	out = rules_emit_file(a, &f, &elen, &err);
	CHECK(out != NULL, "%s: emit: %s", path, err);
	if (!out)
		goto done;
	CHECK(rules_parse_file(a, out, elen, &f2, &err), "%s: emitted text refused: %s\n%s", path, err, out);
	CHECK(rules_file_equal(&f, &f2), "%s: round trip differs:\n%s", path, out);
	out2 = rules_emit_file(a, &f2, &elen2, &err);
	CHECK(out2 && elen2 == elen && memcmp(out, out2, elen) == 0, "%s: emitting twice differs", path);
	if ((pt = promtool_accepts(path)) < 0)
		skipped += 2;
	else
	{
		CHECK(pt == 1, "%s: promtool refuses a good file", path);
		CHECK(promtool_accepts_text(out, elen) == 1, "%s: promtool refuses the emitted text:\n%s", path, out);
	}
	/* each group alone, as the ruler API sends it, round-trips too */
	for (int i = 0; i < f.ngroups; i++)
	{
		RulesGroup	g;
		char	   *gt = rules_emit_group(a, &f.groups[i], &elen, &err);

		CHECK(gt && rules_parse_group(a, gt, elen, &g, &err) && rules_group_equal(&g, &f.groups[i]),
			  "%s: group %d alone does not round-trip: %s", path, i, err ? err : "");
	}
done:
	free(text);
}

static void
bad_file(AlloyArena *a, const char *path)
{
	size_t		len;
	char	   *text = read_all(path, &len);
	const char *err = NULL;
	char		expect[512] = "";
	RulesFile	f;
	int			pt;

	if (strncmp(text, "# expect: ", 10) == 0)
	{
		size_t		n = strcspn(text + 10, "\n");

		memcpy(expect, text + 10, n < sizeof(expect) - 1 ? n : sizeof(expect) - 1);
	}
	CHECK(expect[0] != '\0', "%s: no # expect: line", path);
	CHECK(!rules_parse_file(a, text, len, &f, &err), "%s: accepted", path);
	CHECK(err && strstr(err, expect), "%s: message \"%s\" lacks \"%s\"", path, err ? err : "", expect);
	if ((pt = promtool_accepts(path)) < 0)
		skipped++;
	else
		CHECK(pt == 0, "%s: promtool accepts a bad file", path);
	free(text);
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *) x, *(char *const *) y);
}

static int
each_file(AlloyArena *a, const char *dir, void (*fn) (AlloyArena *, const char *))
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	   *names[512];
	int			n = 0;

	CHECK(d != NULL, "cannot open %s", dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < 512)
		if (strstr(de->d_name, ".yml"))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t) n, sizeof(char *), name_cmp);
	for (int i = 0; i < n; i++)
	{
		char		path[1024];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fn(a, path);
		alloy_arena_reset(a);
		free(names[i]);
	}
	return n;
}

/* model.ParseDuration and model.Duration.String, by their definition in prometheus/common. */
static void
test_durations(void)
{
	static const struct
	{
		const char *in;
		int64_t		ms;
		const char *canon;		/* NULL: refused */
	}			cases[] = {
		{"0", 0, "0s"}, {"0s", 0, "0s"}, {"90s", 90000, "1m30s"}, {"1m30s", 90000, "1m30s"},
		{"1h30m", 5400000, "1h30m"}, {"7d", 604800000, "1w"}, {"1w1d", 691200000, "8d"},
		{"365d", 31536000000, "1y"}, {"366d", 31622400000, "366d"}, {"1y1d", 31622400000, "366d"},
		{"1500ms", 1500, "1s500ms"}, {"2w", 1209600000, "2w"}, {"60m", 3600000, "1h"},
		{"1h1ms", 3600001, "1h1ms"}, {"292y", 292LL * 31536000000, "292y"},
		{"", 0, NULL}, {"1.5m", 0, NULL}, {"-1m", 0, NULL}, {"1m1h", 0, NULL}, {"5", 0, NULL},
		{"1s1s", 0, NULL}, {"293y", 0, NULL}, {"99999999999999999999s", 0, NULL}, {"1 m", 0, NULL},
		{"1M", 0, NULL}, {"1us", 0, NULL}, {"1ms1s", 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int64_t		ms = -1;
		const char *err = rules_parse_duration(cases[i].in, strlen(cases[i].in), &ms);
		char		buf[64];

		if (cases[i].canon == NULL)
			CHECK(err != NULL, "duration \"%s\" accepted", cases[i].in);
		else
		{
			CHECK(err == NULL && ms == cases[i].ms, "duration \"%s\": %s %lld", cases[i].in,
				  err ? err : "", (long long) ms);
			CHECK(strcmp(rules_format_duration(cases[i].ms, buf), cases[i].canon) == 0,
				  "format %lld: %s, want %s", (long long) cases[i].ms, buf, cases[i].canon);
		}
	}
}

/* Exact messages, the ruler API's one-group form and our own limits. */
static void
test_messages_and_limits(AlloyArena *a)
{
	const char *err = NULL;
	RulesFile	f;
	RulesGroup	g;
	const char *t;
	char	   *big,
			   *deep;
	size_t		n;

	t = "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n  - alert: Y\n    expr: sum(up\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) &&
		  strncmp(err, "line 7: group \"a\", rule 2, \"Y\": could not parse expression: parse error", 71) == 0,
		  "message: %s", err);
	t = "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    foo: 1\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) &&
		  strcmp(err, "line 6: group \"a\", rule 1, \"x\": field foo not found in rule") == 0,
		  "message: %s", err);

	/*
	 * Templates of alerting rules are parsed at load: promtool refuses this
	 * one as "label \"severity\": template: __alert_y:1: unexpected EOF";
	 * functions alloy does not expand (urlquery, which promtool accepts) are
	 * refused too, by design: never a template that fails when the alert fires.
	 * A recording rule's labels are not templates (promtool accepts "{{ x").
	 */
	t = "groups:\n- name: a\n  rules:\n  - alert: y\n    expr: up == 0\n    labels:\n      severity: '{{ if $value }}x'\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) &&
		  strncmp(err, "line 7: ", 8) == 0 &&
		  strstr(err, "group \"a\", rule 1, \"y\": label \"severity\": template: ") != NULL,
		  "label template: %s", err);
	t = "groups:\n- name: a\n  rules:\n  - alert: y\n    expr: up == 0\n    annotations:\n      summary: '{{ $labels.instance | urlquery }}'\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) &&
		  strstr(err, "annotation \"summary\": template: unsupported function \"urlquery\"") != NULL,
		  "unsupported template function: %s", err);
	t = "groups:\n- name: a\n  rules:\n  - alert: y\n    expr: up == 0\n    annotations:\n      summary: '{{ $labels.instance }} is {{ $value | humanize }}'\n";
	CHECK(rules_parse_file(a, t, strlen(t), &f, &err), "good template refused: %s", err);
	t = "groups:\n- name: a\n  rules:\n  - record: r\n    expr: up\n    labels:\n      note: '{{ nonsense'\n";
	CHECK(rules_parse_file(a, t, strlen(t), &f, &err), "recording label taken as a template: %s", err);

	/* yaml.v3's nulls, checked with `promtool test rules` (x="" is no label there) */
	t = "groups:\n- name: a\n  rules:\n  - record: null\n    expr: up\n    labels: {~: 5, x: ~, b: 0x1}\n";
	CHECK(rules_parse_file(a, t, strlen(t), &f, &err) && f.groups[0].rules[0].nlabels == 2 &&
		  strcmp(f.groups[0].rules[0].record, "null") == 0 &&
		  strcmp(f.groups[0].rules[0].labels[0].name, "x") == 0 &&
		  strcmp(f.groups[0].rules[0].labels[0].value, "") == 0 &&
		  strcmp(f.groups[0].rules[0].labels[1].value, "0x1") == 0, "nulls: %s", err ? err : "");

	t = "name: g\ninterval: 90s\nrules:\n- alert: A\n  expr: up == 0\n  for: 120s\n";
	CHECK(rules_parse_group(a, t, strlen(t), &g, &err) && strcmp(g.name, "g") == 0 &&
		  g.interval_ms == 90000 && g.nrules == 1 && g.rules[0].for_ms == 120000 &&
		  g.rules[0].line == 4 && g.rules[0].expr_line == 5, "group: %s", err);
	t = "rules: []\n";
	CHECK(!rules_parse_group(a, t, strlen(t), &g, &err) && strstr(err, "Groupname must not be empty"),
		  "nameless group: %s", err);
	t = "";
	CHECK(!rules_parse_group(a, t, 0, &g, &err), "empty group accepted");

	/* aliases: yaml.v3 expands them (bounded); we refuse them */
	t = "groups:\n- &g {name: a, rules: []}\n- *g\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) && strstr(err, "aliases are not allowed"),
		  "alias: %s", err);
	/* a billion laughs stops at the first alias, before any expansion */
	t = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n";
	CHECK(!rules_parse_file(a, t, strlen(t), &f, &err) && strstr(err, "aliases"), "laughs: %s", err);

	deep = malloc(20000);
	n = 0;
	n += (size_t) sprintf(deep, "groups: ");
	for (int i = 0; i < 5000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	CHECK(!rules_parse_file(a, deep, n, &f, &err) && strstr(err, "nesting deeper"), "deep: %s", err);
	free(deep);

	/* many tiny scalars under the size limit: refused by count, not memory */
	big = malloc(3 * RULES_MAX_NODES + 64);
	n = (size_t) sprintf(big, "groups: [");
	for (int i = 0; i < RULES_MAX_NODES; i++)
		n += (size_t) sprintf(big + n, "a,");
	big[n++] = ']';
	CHECK(n < RULES_MAX_FILE_BYTES && !rules_parse_file(a, big, n, &f, &err) &&
		  strstr(err, "more than 250000 nodes"), "many nodes: %s", err);
	CHECK(a->total < 64 * 1024 * 1024, "many nodes took %zu bytes", a->total);
	if (getenv("RULES_VERBOSE"))
		printf("250000 nodes: %zu bytes of arena\n", a->total);
	free(big);
	alloy_arena_reset(a);

	n = RULES_MAX_FILE_BYTES + 1;
	big = malloc(n);
	memset(big, '#', n);
	CHECK(!rules_parse_file(a, big, n, &f, &err) && strstr(err, "over the limit"), "big: %s", err);
	free(big);
	alloy_arena_reset(a);
}

int
main(void)
{
	AlloyArena *a = alloy_arena_create(&alloy_malloc_hooks);
	const char *pt = getenv("PROMTOOL");
	int			ngood,
				nbad;

	if (!pt || !*pt)
		pt = "/usr/bin/promtool";
	if (access(pt, X_OK) == 0)
		promtool = pt;

	test_durations();
	test_messages_and_limits(a);
	ngood = each_file(a, RULES_CORPUS "/good", good_file);
	nbad = each_file(a, RULES_CORPUS "/bad", bad_file);
	CHECK(ngood >= 5 && nbad >= 30, "corpus too small: %d good, %d bad", ngood, nbad);
	if (skipped)
		printf("skipped %d promtool checks (no promtool at %s)\n", skipped, pt);
	alloy_arena_destroy(a);
	return unit_finish();
}
