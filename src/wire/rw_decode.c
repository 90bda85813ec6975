/*
 * rw_decode.c: the entry points of remote-write decoding (see wire.h for the
 * API and docs/ingest-decoding.md for the rules and measurements).
 *
 * Here the Content-Type and Content-Encoding headers are checked, the snappy
 * block is undone into the request's arena (sized from snappy's length
 * header, so nothing is allocated for a body we would refuse) and the
 * protobuf goes to the fast reader of its version (rw_fast_v1.c,
 * rw_fast_v2.c) or, for tests and fuzzing, to the protobuf-c reference
 * decoder (rw_reference.c).
 *
 * Plain C, no PostgreSQL calls: unit tests and libFuzzer link this directly.
 */
#include <snappy-c.h>

#include "wire/wire_int.h"

/* An empty request memory that obtains at most limit bytes; NULL if out of memory. */
static RwArena *
rw_arena_create(const RwAllocator *allocator, size_t limit)
{
	AlloyArena *mem = alloy_arena_create_limited(allocator, limit);
	RwArena    *ar;

	if (mem == NULL)
		return NULL;
	ar = alloy_arena_alloc(mem, sizeof(RwArena));
	if (ar == NULL)
	{
		alloy_arena_destroy(mem);
		return NULL;
	}
	ar->mem = mem;
	ar->scratch = NULL;
	ar->scratch_cap = 0;
	return ar;
}

/* Free everything a decode allocated, ar itself included (it lives in mem). */
static void
rw_arena_destroy(RwArena *ar)
{
	alloy_arena_destroy(ar->mem);
}

/* Decode an uncompressed protobuf of the given version with either reader. */
static bool
decode_into(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
			RwVersion version, bool reference, RwError *err)
{
	req->version = version;
	req->decoded_bytes = len;
	if (reference)
		return version == RW_VERSION_2 ? rw_reference_v2(ar, req, buf, len, err) :
			rw_reference_v1(ar, req, buf, len, err);
	return version == RW_VERSION_2 ? rw_fast_v2(ar, req, buf, len, err) :
		rw_fast_v1(ar, req, buf, len, err);
}

static RwRequest *
new_request(RwArena *ar)
{
	RwRequest  *req = rw_arena_alloc(ar, sizeof(RwRequest));

	if (req != NULL)
	{
		memset(req, 0, sizeof(*req));
		req->priv = ar;
	}
	return req;
}

static RwRequest *
decode_protobuf(const void *buf, size_t len, RwVersion version, bool reference,
				const RwAllocator *allocator, RwError *err)
{
	RwArena    *ar;
	RwRequest  *req;

	if (err)
	{
		err->http_status = 0;
		err->message[0] = '\0';
	}
	if (len > RW_MAX_DECODED)
	{
		rw_set_error(err, 413, "decoded request of %zu bytes exceeds the limit of %zu bytes",
				  len, RW_MAX_DECODED);
		return NULL;
	}
	ar = rw_arena_create(allocator, RW_ARENA_FACTOR * len + RW_ARENA_SLACK);
	if (ar == NULL)
	{
		rw_set_error(err, 413, "out of memory");
		return NULL;
	}
	req = new_request(ar);
	if (req == NULL || !decode_into(ar, req, buf, len, version, reference, err))
	{
		if (req == NULL)
			rw_set_error(err, 413, "out of memory");
		rw_arena_destroy(ar);
		return NULL;
	}
	return req;
}

RwRequest *
rw_decode_protobuf(const void *buf, size_t len, RwVersion version,
				   const RwAllocator *allocator, RwError *err)
{
	return decode_protobuf(buf, len, version, false, allocator, err);
}

RwRequest *
rw_decode_protobuf_reference(const void *buf, size_t len, RwVersion version,
							 const RwAllocator *allocator, RwError *err)
{
	return decode_protobuf(buf, len, version, true, allocator, err);
}

static int
ascii_casecmp_n(const char *a, const char *b, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char ca = (unsigned char) a[i],
					cb = (unsigned char) b[i];

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 1;
	}
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t'))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * Media type application/x-protobuf (case-insensitive), optional parameters;
 * proto=prometheus.WriteRequest or none selects 1.0,
 * proto=io.prometheus.write.v2.Request selects 2.0. A missing header means
 * 1.0, as the 2.0 specification asks receivers to assume.
 */
int
rw_content_type_version(const char *ct)
{
	const char *p,
			   *semi;
	size_t		len;
	int			version = RW_VERSION_1;

	if (ct == NULL)
		return RW_VERSION_1;
	len = strlen(ct);
	trim(&ct, &len);
	if (len == 0)
		return RW_VERSION_1;
	semi = memchr(ct, ';', len);
	{
		const char *mt = ct;
		size_t		mlen = semi ? (size_t) (semi - ct) : len;

		trim(&mt, &mlen);
		if (mlen != strlen(RW_CONTENT_TYPE_V1) ||
			ascii_casecmp_n(mt, RW_CONTENT_TYPE_V1, mlen) != 0)
			return 0;
	}
	p = semi;
	while (p != NULL)
	{
		const char *param = p + 1;
		const char *next = memchr(param, ';', len - (param - ct));
		size_t		plen = next ? (size_t) (next - param) : len - (param - ct);
		const char *eq = memchr(param, '=', plen);

		if (eq != NULL)
		{
			const char *key = param,
					   *val = eq + 1;
			size_t		klen = eq - param,
						vlen = plen - klen - 1;

			trim(&key, &klen);
			trim(&val, &vlen);
			if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"')
			{
				val++;
				vlen -= 2;
			}
			if (klen == 5 && ascii_casecmp_n(key, "proto", 5) == 0)
			{
				if (vlen == 23 && memcmp(val, "prometheus.WriteRequest", 23) == 0)
					version = RW_VERSION_1;
				else if (vlen == 30 && memcmp(val, "io.prometheus.write.v2.Request", 30) == 0)
					version = RW_VERSION_2;
				else
					return 0;
			}
		}
		p = next;
	}
	return version;
}

RwRequest *
rw_decode(const void *body, size_t body_len, const char *content_type,
		  const char *content_encoding, size_t max_bytes,
		  const RwAllocator *allocator, RwError *err)
{
	int			version;
	size_t		ulen;
	RwArena    *ar;
	RwRequest  *req;
	char	   *ubuf;
	char		b1[64];

	if (err)
	{
		err->http_status = 0;
		err->message[0] = '\0';
	}
	version = rw_content_type_version(content_type);
	if (version == 0)
	{
		rw_set_error(err, 415, "unsupported content type \"%s\"; use %s or %s",
				  rw_excerpt(content_type, strlen(content_type), b1, sizeof(b1)),
				  RW_CONTENT_TYPE_V1, RW_CONTENT_TYPE_V2);
		return NULL;
	}
	if (content_encoding != NULL)
	{
		const char *ce = content_encoding;
		size_t		celen = strlen(ce);

		trim(&ce, &celen);
		if (celen != 0 && (celen != 6 || ascii_casecmp_n(ce, "snappy", 6) != 0))
		{
			rw_set_error(err, 415, "unsupported content encoding \"%s\"; only snappy is accepted",
					  rw_excerpt(ce, celen, b1, sizeof(b1)));
			return NULL;
		}
	}
	if (body_len > max_bytes)
	{
		rw_set_error(err, 413, "request body of %zu bytes exceeds the limit of %zu bytes",
				  body_len, max_bytes);
		return NULL;
	}
	/* the length header first: never allocate for a size we would refuse */
	if (snappy_uncompressed_length(body, body_len, &ulen) != SNAPPY_OK)
	{
		rw_set_error(err, 400, "body is not snappy block-compressed data");
		return NULL;
	}
	if (ulen > max_bytes || ulen > RW_MAX_DECODED)
	{
		rw_set_error(err, 413, "decompressed request of %zu bytes exceeds the limit of %zu bytes",
				  ulen, max_bytes < RW_MAX_DECODED ? max_bytes : RW_MAX_DECODED);
		return NULL;
	}
	ar = rw_arena_create(allocator, ulen + RW_ARENA_FACTOR * ulen + RW_ARENA_SLACK);
	if (ar == NULL)
	{
		rw_set_error(err, 413, "out of memory");
		return NULL;
	}
	ubuf = rw_arena_alloc(ar, ulen + 1);
	req = ubuf ? new_request(ar) : NULL;
	if (req == NULL)
	{
		rw_set_error(err, 413, "out of memory");
		rw_arena_destroy(ar);
		return NULL;
	}
	{
		size_t		outlen = ulen;

		if (snappy_uncompress(body, body_len, ubuf, &outlen) != SNAPPY_OK ||
			outlen != ulen)
		{
			rw_set_error(err, 400, "corrupt snappy block-compressed data");
			rw_arena_destroy(ar);
			return NULL;
		}
	}
	if (!decode_into(ar, req, (const uint8_t *) ubuf, ulen, (RwVersion) version, false, err))
	{
		rw_arena_destroy(ar);
		return NULL;
	}
	return req;
}

void
rw_request_free(RwRequest *req)
{
	if (req != NULL && req->priv != NULL)
		rw_arena_destroy((RwArena *) req->priv);
}
