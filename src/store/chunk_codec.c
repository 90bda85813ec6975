/*
 * chunk_codec.c: one entry point for the two sealed chunk encodings.
 *
 * Sealed chunk items carry an encoding byte (store_int.h): Prometheus's XOR
 * chunk, which remote read can send as it is, or alloy's decimal chunk
 * (codec/decchunk.c), which a seal picks when it is smaller. Readers call these
 * instead of a codec, so a third encoding would change this file only.
 */
#include "postgres.h"

#include "codec/codec.h"
#include "store/store_int.h"

int
AlloyChunkCount(uint8 encoding, const uint8 *data, size_t len)
{
	switch (encoding)
	{
		case ALLOY_ENC_XOR:
			return xor_chunk_count(data, len);
		case ALLOY_ENC_DECIMAL:
			return dec_chunk_count(data, len);
		default:
			return 0;
	}
}

int
AlloyChunkDecode(uint8 encoding, const uint8 *data, size_t len,
				 int64 *ts, double *vs, int max)
{
	switch (encoding)
	{
		case ALLOY_ENC_XOR:
			return xor_decode_all(data, len, (int64_t *) ts, vs, max);
		case ALLOY_ENC_DECIMAL:
			return dec_decode_all(data, len, (int64_t *) ts, vs, max);
		default:
			return -1;
	}
}
