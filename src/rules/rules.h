/*
 * rules.h: the public API of src/rules, Prometheus rule files in plain C.
 *
 * A rule file (what `promtool check rules` reads, and what the Mimir ruler
 * API takes one group at a time) is parsed with libyaml into the structs
 * below, all allocated from one AlloyArena, and checked as Prometheus 2.42's
 * rulefmt checks it; the emitter writes groups back as a rule file in
 * canonical form.  No PostgreSQL calls: unit tests and fuzzers link these
 * files alone (with base/ and promql/ for the expression parser).
 *
 * Deliberate differences from Prometheus 2.42 (yaml.v3):
 *   - YAML aliases are refused (yaml.v3 expands them, with a bound), and so
 *     are nesting deeper than RULES_MAX_DEPTH, more than RULES_MAX_NODES
 *     nodes and input over RULES_MAX_FILE_BYTES, so memory stays bounded;
 *   - the first error found is reported, not all of them;
 *   - an alerting rule's label and annotation templates must parse with
 *     alloy's template engine (rules_int.h), which refuses what it cannot
 *     expand (e.g. urlquery, html, define) where promtool would accept it;
 *   - promtool's lint (duplicate recording rules) is not part of the parse.
 */
#ifndef ALLOY_RULES_RULES_H
#define ALLOY_RULES_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* The largest rule file (or group) accepted, in bytes. */
#define RULES_MAX_FILE_BYTES	(4 * 1024 * 1024)
/* The deepest nesting of YAML collections accepted (a rule file needs 5). */
#define RULES_MAX_DEPTH			32
/*
 * The most YAML nodes (scalars and collections) in one file: about 100 bytes
 * of arena each, so a file of tiny scalars ("[a,a,a,...]") stays near 25 MB.
 * A rule takes about 10 nodes.
 */
#define RULES_MAX_NODES			250000

/* One label or annotation: name and value, with the line of the name. */
typedef struct RulesPair
{
	const char *name;
	const char *value;
	int			line;
} RulesPair;

/* A recording rule (record set) or an alerting rule (alert set). */
typedef struct RulesRule
{
	const char *record;			/* NULL for an alerting rule */
	const char *alert;			/* NULL for a recording rule */
	const char *expr;
	int64_t		for_ms;			/* alerting rules only; 0 = not given */
	int64_t		keep_firing_for_ms; /* alerting rules only; 0 = not given */
	RulesPair  *labels;
	int			nlabels;
	RulesPair  *annotations;	/* alerting rules only */
	int			nannotations;
	int			line;			/* line of the rule's mapping */
	int			expr_line;		/* line of expr's value (0 when absent) */
} RulesRule;

typedef struct RulesGroup
{
	const char *name;
	int64_t		interval_ms;	/* 0 = the global evaluation interval */
	int64_t		limit;			/* 0 = no limit */
	RulesRule  *rules;
	int			nrules;
	int			line;
} RulesGroup;

typedef struct RulesFile
{
	RulesGroup *groups;
	int			ngroups;
} RulesFile;

/*
 * Parse and check a rule file ("groups: [...]").  Returns false with *err set
 * to one line naming the place ("line 5: group \"a\", rule 1, \"x\": could not
 * parse expression: ...").  An empty file is a file of no groups, as in
 * Prometheus.  Everything, the error included, lives in arena.
 */
extern bool rules_parse_file(AlloyArena *arena, const char *text, size_t len,
							 RulesFile *out, const char **err);

/* Parse and check one group ("name: ...\nrules: [...]"), as the Mimir ruler API sends it. */
extern bool rules_parse_group(AlloyArena *arena, const char *text, size_t len,
							  RulesGroup *out, const char **err);

/*
 * Write groups back as a rule file (or one group as a group document) that
 * parses to equal structs.  Returns NUL-terminated text in arena, or NULL
 * with *err set when libyaml fails (it does not for checked input).
 */
extern char *rules_emit_file(AlloyArena *arena, const RulesFile *file, size_t *len,
							 const char **err);
extern char *rules_emit_group(AlloyArena *arena, const RulesGroup *group, size_t *len,
							  const char **err);

/* Are two parsed files (groups) the same, field by field and in order? */
extern bool rules_file_equal(const RulesFile *a, const RulesFile *b);
extern bool rules_group_equal(const RulesGroup *a, const RulesGroup *b);

/*
 * Prometheus durations (model.ParseDuration / model.Duration.String): units
 * y w d h m s ms, largest first, each at most once, no fractions; "0" alone is
 * zero; at most what Go's time.Duration holds.  Parse returns NULL on success
 * or Prometheus's message, a constant ("empty duration string", "duration out
 * of range", or "not a valid duration string", to which Prometheus adds
 * `: "<text>"`).
 */
extern const char *rules_parse_duration(const char *s, size_t len, int64_t *ms);
/* The canonical text of ms into buf (at least 64 bytes): 90000 -> "1m30s". */
extern const char *rules_format_duration(int64_t ms, char *buf);

/* ---- the YAML tree the parser reads (rules_yaml.c), for this folder's files ---- */

typedef enum RulesYamlKind
{
	RULES_YAML_SCALAR,
	RULES_YAML_SEQ,
	RULES_YAML_MAP
} RulesYamlKind;

typedef struct RulesYamlNode RulesYamlNode;
struct RulesYamlNode
{
	RulesYamlKind kind;
	int			line;			/* 1-based */
	int			col;			/* 1-based */
	/* scalars */
	const char *text;
	size_t		len;
	bool		plain;			/* unquoted, so null/int resolution applies */
	const char *tag;			/* explicit tag, or NULL */
	/* collections: items (SEQ), or key, value, key, value... (MAP) */
	RulesYamlNode **items;
	int			nitems;
};

/*
 * Load the first YAML document of text; *root is NULL for an empty stream.
 * Refuses aliases, nesting past RULES_MAX_DEPTH, more than RULES_MAX_NODES
 * nodes, non-scalar and repeated mapping keys, and input over
 * RULES_MAX_FILE_BYTES.
 */
extern bool rules_yaml_load(AlloyArena *arena, const char *text, size_t len,
							RulesYamlNode **root, const char **err);

/* Check a decoded group's rules as rulefmt does (rules_check.c). */
extern bool rules_check_group(AlloyArena *arena, const RulesGroup *g, const char **err);

/*
 * ---- rule groups stored in alloy.rule_groups (rules_store.c) ----
 *
 * Unlike the rest of this header these run inside PostgreSQL (SPI, in the
 * caller's transaction) and raise errors with ereport: a rule file or group
 * that does not parse and check is refused with "invalid rule file" ("invalid
 * rule group") and the parser's message as detail, before anything changes.
 * tenant_id is a tenant that exists (series' AlloyTenantLookup).
 */
/* An arena whose blocks are palloc'd in the current memory context. */
extern AlloyArena *rules_store_arena(void);
/* Replace a namespace's groups with the file's; returns how many were stored. */
extern int	rules_store_load(int32_t tenant_id, const char *ns, const char *text, size_t len);
/* Insert or replace one group (Mimir's ruler); a new one goes last. */
extern void rules_store_set_group(int32_t tenant_id, const char *ns, const char *text, size_t len);
extern bool rules_store_delete_group(int32_t tenant_id, const char *ns, const char *name);
extern int	rules_store_delete_namespace(int32_t tenant_id, const char *ns);
/*
 * The stored groups of a namespace (all of the tenant's when ns is NULL, by
 * namespace then position) as a rule file, palloc'd in the current context.
 */
extern char *rules_store_file(int32_t tenant_id, const char *ns);

#endif							/* ALLOY_RULES_RULES_H */
