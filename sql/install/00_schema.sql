-- alloy install script, part 0: guard and shared functions.
-- The full script is assembled from sql/install/*.sql in name order.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION alloy" to load this file. \quit

-- Everything of alloy lives in this schema; being created by the script, it
-- belongs to the extension and goes away with DROP EXTENSION.
CREATE SCHEMA alloy;

-- Version of the loaded library, so SQL can tell which build answers.
CREATE FUNCTION alloy.version() RETURNS text
AS 'MODULE_PATHNAME', 'alloy_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
