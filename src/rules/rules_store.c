/*
 * rules_store.c: Prometheus rule groups kept in alloy.rule_groups, per
 * tenant and namespace, so they survive restarts and replicate and back up
 * with the database (sql/install/60_rules.sql, docs/rules.md).
 *
 * Text is parsed and checked with the plain-C parser before any row is
 * touched, and each group is stored as the emitter's canonical YAML, so what
 * the table holds always parses again.  The statements run through SPI in
 * the caller's transaction: a namespace is replaced atomically.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "rules/rules.h"

/* Arena blocks from the memory context the arena was made in. */
static void *
store_alloc(void *arg, size_t size)
{
	return MemoryContextAlloc((MemoryContext) arg, size);
}

static void
store_free(void *arg, void *ptr)
{
	(void) arg;
	pfree(ptr);
}

AlloyArena *
rules_store_arena(void)
{
	AlloyAllocHooks hooks;

	hooks.alloc = store_alloc;
	hooks.free = store_free;
	hooks.arg = CurrentMemoryContext;
	return alloy_arena_create(&hooks);
}

static void
store_too_long(const char *what, size_t len)
{
	if (len > RULES_MAX_FILE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is too long", what),
				 errdetail("At most %d bytes are accepted.", RULES_MAX_FILE_BYTES)));
}

/* Insert or replace one checked group. */
static void
store_put_group(AlloyArena *arena, int32_t tenant_id, const char *ns,
				const RulesGroup *g, int position)
{
	const char *err = NULL;
	size_t		len;
	char	   *yaml = rules_emit_group(arena, g, &len, &err);
	Oid			types[6] = {INT4OID, TEXTOID, TEXTOID, INT8OID, TEXTOID, INT4OID};
	Datum		args[6];

	if (yaml == NULL)
		elog(ERROR, "could not write rule group \"%s\": %s", g->name, err ? err : "?");
	args[0] = Int32GetDatum(tenant_id);
	args[1] = CStringGetTextDatum(ns);
	args[2] = CStringGetTextDatum(g->name);
	args[3] = Int64GetDatum(g->interval_ms);
	args[4] = PointerGetDatum(cstring_to_text_with_len(yaml, len));
	args[5] = Int32GetDatum(position);

	/*
	 * position < 0: after the namespace's last group, or where the group
	 * already is when it exists (Mimir replaces a group in place).
	 */
	if (SPI_execute_with_args("INSERT INTO alloy.rule_groups (tenant_id, namespace, name, interval_ms, source, position) "
							  "VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 >= 0 THEN $6 ELSE "
							  "(SELECT coalesce(max(position) + 1, 0) FROM alloy.rule_groups "
							  "WHERE tenant_id = $1 AND namespace = $2) END) "
							  "ON CONFLICT (tenant_id, namespace, name) DO UPDATE "
							  "SET interval_ms = excluded.interval_ms, source = excluded.source, updated = now()",
							  6, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store rule group \"%s\"", g->name);
}

/* Delete a namespace's groups, or one of them (name not NULL); returns the count. */
static int
store_delete(int32_t tenant_id, const char *ns, const char *name)
{
	Oid			types[3] = {INT4OID, TEXTOID, TEXTOID};
	Datum		args[3];
	int			n;

	args[0] = Int32GetDatum(tenant_id);
	args[1] = CStringGetTextDatum(ns);
	args[2] = name ? CStringGetTextDatum(name) : (Datum) 0;
	if (SPI_execute_with_args(name
							  ? "DELETE FROM alloy.rule_groups WHERE tenant_id = $1 AND namespace = $2 AND name = $3"
							  : "DELETE FROM alloy.rule_groups WHERE tenant_id = $1 AND namespace = $2",
							  name ? 3 : 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete rule groups");
	n = (int) SPI_processed;
	return n;
}

int
rules_store_load(int32_t tenant_id, const char *ns, const char *text, size_t len)
{
	AlloyArena *arena;
	RulesFile	file;
	const char *err = NULL;
	int			i;

	store_too_long("rule file", len);
	arena = rules_store_arena();
	if (!rules_parse_file(arena, text, len, &file, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid rule file"),
				 errdetail("%s", err)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	store_delete(tenant_id, ns, NULL);
	for (i = 0; i < file.ngroups; i++)
		store_put_group(arena, tenant_id, ns, &file.groups[i], i);
	SPI_finish();
	alloy_arena_destroy(arena);
	return file.ngroups;
}

void
rules_store_set_group(int32_t tenant_id, const char *ns, const char *text, size_t len)
{
	AlloyArena *arena;
	RulesGroup	group;
	const char *err = NULL;

	store_too_long("rule group", len);
	arena = rules_store_arena();
	if (!rules_parse_group(arena, text, len, &group, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid rule group"),
				 errdetail("%s", err)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	store_put_group(arena, tenant_id, ns, &group, -1);
	SPI_finish();
	alloy_arena_destroy(arena);
}

bool
rules_store_delete_group(int32_t tenant_id, const char *ns, const char *name)
{
	int			n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = store_delete(tenant_id, ns, name);
	SPI_finish();
	return n > 0;
}

int
rules_store_delete_namespace(int32_t tenant_id, const char *ns)
{
	int			n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = store_delete(tenant_id, ns, NULL);
	SPI_finish();
	return n;
}

char *
rules_store_file(int32_t tenant_id, const char *ns)
{
	MemoryContext caller = CurrentMemoryContext;
	AlloyArena *arena = rules_store_arena();
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		args[2];
	RulesFile	file = {0};
	const char *err = NULL;
	size_t		len;
	char	   *yaml;
	char	   *out;
	uint64		i;

	args[0] = Int32GetDatum(tenant_id);
	args[1] = ns ? CStringGetTextDatum(ns) : (Datum) 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(ns
							  ? "SELECT source FROM alloy.rule_groups WHERE tenant_id = $1 AND namespace = $2 "
							  "ORDER BY position, name"
							  : "SELECT source FROM alloy.rule_groups WHERE tenant_id = $1 "
							  "ORDER BY namespace, position, name",
							  ns ? 2 : 1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read rule groups");
	file.ngroups = (int) SPI_processed;
	file.groups = alloy_arena_alloc0(arena, sizeof(RulesGroup) * Max(file.ngroups, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *src = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		/* The stored YAML was checked when stored; a failure here is corruption. */
		if (!rules_parse_group(arena, src, strlen(src), &file.groups[i], &err))
			elog(ERROR, "stored rule group does not parse: %s", err);
	}
	SPI_finish();
	yaml = rules_emit_file(arena, &file, &len, &err);
	if (yaml == NULL)
		elog(ERROR, "could not write rule file: %s", err ? err : "?");
	out = MemoryContextStrdup(caller, yaml);
	alloy_arena_destroy(arena);
	return out;
}
