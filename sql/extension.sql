-- The extension installs into schema alloy and round-trips through DROP/CREATE.
CREATE EXTENSION alloy;
SELECT extname, extversion, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'alloy';
SELECT alloy.version();
DROP EXTENSION alloy;
SELECT count(*) AS alloy_schemas FROM pg_namespace WHERE nspname = 'alloy';
CREATE EXTENSION alloy;
SELECT alloy.version() = extversion AS versions_match FROM pg_extension WHERE extname = 'alloy';
