-- alloy install script, part 0: guard and shared functions.
-- The full script is assembled from sql/install/*.sql in name order.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION alloy" to load this file. \quit

-- Version of the loaded library, so SQL can tell which build answers.
CREATE FUNCTION alloy.version() RETURNS text
AS 'MODULE_PATHNAME', 'alloy_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
