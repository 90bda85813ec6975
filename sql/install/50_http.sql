
-- Credentials for the HTTP API when alloy.http_auth = on: each belongs to
-- one tenant. Secrets are stored as SHA-256 digests only; use long random
-- tokens (alloy.add_credential makes one when none is given).
CREATE TABLE alloy.http_credentials (
	tenant text COLLATE "C" NOT NULL DEFAULT '',
	username text COLLATE "C",
	secret_sha256 text NOT NULL,
	created timestamptz NOT NULL DEFAULT now(),
	UNIQUE (username, secret_sha256)
);
REVOKE ALL ON alloy.http_credentials FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('alloy.http_credentials', '');

-- Add a credential for a tenant ('' or NULL: the default tenant). With a
-- username it is used as HTTP basic auth (username:secret), without one as a
-- bearer token. Returns the secret, generated when not given.
CREATE FUNCTION alloy.add_credential(tenant text, secret text DEFAULT NULL,
                                    username text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
	s text := coalesce(secret, encode(gen_random_uuid()::text::bytea || gen_random_uuid()::text::bytea, 'hex'));
BEGIN
	INSERT INTO alloy.http_credentials (tenant, username, secret_sha256)
	VALUES (coalesce(nullif(tenant, 'default'), ''), username, encode(sha256(convert_to(s, 'UTF8')), 'hex'));
	RETURN s;
END $$;

CREATE FUNCTION alloy.drop_credential(secret text, username text DEFAULT NULL)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
	WITH d AS (DELETE FROM alloy.http_credentials
	           WHERE secret_sha256 = encode(sha256(convert_to(secret, 'UTF8')), 'hex')
	             AND username IS NOT DISTINCT FROM drop_credential.username RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
