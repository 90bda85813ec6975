/*
 * http_auth.c: optional authentication of HTTP requests, per tenant.
 *
 * With alloy.http_auth = on, every request but the health checks must carry
 * either HTTP basic credentials or a bearer token that alloy.http_credentials
 * knows. A credential belongs to one tenant, and that tenant is the request's
 * tenant: an X-Scope-OrgID naming another one is refused (403), so a sender
 * can never write into or read from a tenant it holds no secret for.
 *
 * Secrets are stored as SHA-256 digests (alloy.add_credential hashes them);
 * they are meant to be long random tokens, not memorable passwords. Verified
 * credentials are cached in the worker for ALLOY_AUTH_CACHE_SECONDS so steady
 * senders cost no query per request; a dropped credential stops working
 * within that time.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "httpd/httpd_int.h"

#define ALLOY_AUTH_CACHE_SECONDS 10

typedef struct AlloyAuthCacheEntry
{
	char		key[PG_SHA256_DIGEST_STRING_LENGTH + NAMEDATALEN + 2];	/* user:digest */
	char		tenant[NAMEDATALEN * 3];
	bool		valid;
	TimestampTz expires;
} AlloyAuthCacheEntry;

static HTAB *alloy_auth_cache = NULL;

/*
 * Hex SHA-256 of a secret. PostgreSQL's OpenSSL-backed hashing registers its
 * context with the current resource owner, and between transactions the
 * worker has none, so it lends one of its own.
 */
static void
AlloySha256Hex(const char *s, size_t len, char *hex)
{
	static ResourceOwner owner = NULL;
	ResourceOwner save = CurrentResourceOwner;
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (save == NULL)
	{
		if (owner == NULL)
			owner = ResourceOwnerCreate(NULL, "alloy http auth");
		CurrentResourceOwner = owner;
	}
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) s, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	CurrentResourceOwner = save;
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
}

/* Look a credential up in alloy.http_credentials: its tenant, or NULL. */
static char *
AlloyAuthLookup(const char *user, const char *digest_hex)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	char	   *tenant = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = user ? CStringGetTextDatum(user) : (Datum) 0;
	nulls[0] = user ? ' ' : 'n';
	args[1] = CStringGetTextDatum(digest_hex);
	if (SPI_execute_with_args("SELECT tenant FROM alloy.http_credentials "
							  "WHERE secret_sha256 = $2 AND username IS NOT DISTINCT FROM $1",
							  2, types, args, nulls, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "credential lookup failed");
	if (SPI_processed > 0)
	{
		char	   *t = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		tenant = MemoryContextStrdup(cxt, t ? t : "");
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return tenant;
}

static void
AlloyAuthDeny(AlloyHttpResponse *resp, int status, const char *msg)
{
	AlloyHttpJsonError(resp, status, status == 401 ? "unauthorized" : "forbidden", msg);
	if (status == 401)
		AlloyHttpAddHeader(resp, "WWW-Authenticate", "Basic realm=\"alloy\"");
}

/*
 * Check the request's credentials. On success sets the request's tenant and
 * returns true; otherwise answers 401/403 and returns false.
 */
bool
AlloyHttpAuthenticate(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	const char *auth = AlloyHttpHeader(req, "Authorization");
	const char *claimed = AlloyHttpTenant(req);
	char	   *user = NULL;
	const char *secret;
	size_t		secret_len;
	char		digest[PG_SHA256_DIGEST_STRING_LENGTH];
	AlloyAuthCacheEntry *e;
	char		key[sizeof(((AlloyAuthCacheEntry *) 0)->key)];
	bool		found;
	TimestampTz now = GetCurrentTimestamp();

	if (auth == NULL)
	{
		AlloyAuthDeny(resp, 401, "authentication required");
		return false;
	}
	if (pg_strncasecmp(auth, "Bearer ", 7) == 0)
	{
		secret = auth + 7;
		secret_len = strlen(secret);
	}
	else if (pg_strncasecmp(auth, "Basic ", 6) == 0)
	{
		const char *b64 = auth + 6;
		int			len = strlen(b64);
		char	   *dec = palloc(pg_b64_dec_len(len) + 1);
		int			n = pg_b64_decode(b64, len, dec, pg_b64_dec_len(len));
		char	   *colon;

		if (n < 0 || (dec[n] = '\0', colon = strchr(dec, ':')) == NULL)
		{
			AlloyAuthDeny(resp, 401, "malformed basic credentials");
			return false;
		}
		*colon = '\0';
		user = dec;
		secret = colon + 1;
		secret_len = strlen(secret);
		if (strlen(user) >= NAMEDATALEN)
		{
			AlloyAuthDeny(resp, 401, "invalid credentials");
			return false;
		}
	}
	else
	{
		AlloyAuthDeny(resp, 401, "unsupported authorization scheme");
		return false;
	}
	AlloySha256Hex(secret, secret_len, digest);

	if (alloy_auth_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(key);
		ctl.entrysize = sizeof(AlloyAuthCacheEntry);
		ctl.hcxt = TopMemoryContext;
		alloy_auth_cache = hash_create("alloy auth cache", 64, &ctl,
									   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	snprintf(key, sizeof(key), "%s:%s", user ? user : "", digest);
	e = hash_search(alloy_auth_cache, key, HASH_ENTER, &found);
	if (!found || e->expires < now)
	{
		char	   *tenant = AlloyAuthLookup(user, digest);

		e->valid = tenant != NULL;
		strlcpy(e->tenant, tenant ? tenant : "", sizeof(e->tenant));
		e->expires = TimestampTzPlusMilliseconds(now, ALLOY_AUTH_CACHE_SECONDS * 1000);
	}
	if (!e->valid)
	{
		AlloyAuthDeny(resp, 401, "invalid credentials");
		return false;
	}
	if (claimed != NULL && strcmp(claimed, e->tenant) != 0 &&
		!(e->tenant[0] == '\0' && strcmp(claimed, "default") == 0))
	{
		AlloyAuthDeny(resp, 403, psprintf("the credentials do not grant tenant \"%s\"", claimed));
		return false;
	}
	req->auth_tenant = MemoryContextStrdup(req->context, e->tenant);
	return true;
}
