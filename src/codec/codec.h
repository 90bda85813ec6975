#ifndef ALLOY_CODEC_CODEC_H
#define ALLOY_CODEC_CODEC_H

/* ---- XOR chunks (xorchunk.c) ---- */
/*
 * Prometheus-compatible XOR chunk encoding (Gorilla-style).
 *
 * Plain C with no PostgreSQL calls, so the codec builds into unit tests and
 * libFuzzer targets. The byte layout is exactly Prometheus's tsdb/chunkenc XOR
 * chunk: a 2-byte big-endian sample count, then a bit stream with the first
 * timestamp as a signed varint, the first value as 64 raw bits, the second
 * timestamp as an unsigned varint delta, then delta-of-delta timestamps and
 * XOR-compressed values. Keeping the layout identical lets remote read stream
 * stored chunks without re-encoding.
 *
 * Callers own every buffer; nothing here allocates. Every read is bounds
 * checked: a truncated or corrupt chunk ends iteration with an error, never
 * reads past the end.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes. */
#define XOR_OK			0
#define XOR_EFULL		1		/* the buffer cannot hold another sample */
#define XOR_ECORRUPT	2		/* the chunk bytes are not a valid XOR chunk */
#define XOR_ETOOMANY	3		/* the 16-bit sample count would overflow */
#define XOR_EORDER		4		/* the timestamp is before the previous one */

/* Most samples one chunk can hold: the count header is 16 bits. */
#define XOR_MAX_SAMPLES 65535

/*
 * Largest encoding of one sample: a 1111-prefixed 64-bit delta of delta and
 * a new-window value with 64 significant bits (4+64+2+5+6+64 = 145 bits),
 * plus the zero byte Prometheus leaves after a byte-aligned write.
 */
#define XOR_MAX_SAMPLE_BYTES 20
/* The 2-byte header. */
#define XOR_HEADER_BYTES 2

typedef struct XorAppender
{
	uint8_t    *buf;			/* chunk bytes, header included */
	size_t		cap;			/* bytes available in buf */
	size_t		nbits;			/* bits written after the header */
	uint16_t	count;			/* samples so far */
	int64_t		t;				/* last timestamp */
	int64_t		tdelta;			/* last timestamp delta */
	uint64_t	vbits;			/* last value's bits */
	uint8_t		leading;		/* leading zeros of the current XOR window;
								 * 0xff while no window has been written */
	uint8_t		trailing;		/* trailing zeros of the current XOR window */
	bool		pad;			/* a zero byte follows the last bit (see
								 * xorchunk.c: Prometheus's bstream leaves one
								 * after a byte-aligned whole-byte write) */
} XorAppender;

typedef struct XorIterator
{
	const uint8_t *data;		/* chunk bytes, header included */
	size_t		len;
	size_t		bitpos;			/* read position in bits after the header */
	uint16_t	total;			/* samples the header announces */
	uint16_t	read;			/* samples returned so far */
	int64_t		t;
	int64_t		tdelta;
	uint64_t	vbits;
	uint8_t		leading;
	uint8_t		trailing;
	bool		window;			/* a leading/trailing window has been read */
	uint8_t		lastbits;		/* bits of the last value field's payload */
	int			err;			/* sticky XOR_* status */
} XorIterator;

/* Start an empty chunk in buf (cap >= XOR_HEADER_BYTES). */
extern int	xor_appender_init(XorAppender *app, uint8_t *buf, size_t cap);

/*
 * Continue appending to an existing chunk of len bytes held in buf (cap >= len),
 * as Prometheus's appender reopening does: decodes it to recover the state.
 * Returns XOR_ECORRUPT when the chunk does not decode or is not exactly as
 * long as its samples need. Appending after a reopen produces the same bytes
 * as appending everything in one go.
 */
extern int	xor_appender_reopen(XorAppender *app, uint8_t *buf, size_t cap, size_t len);

/*
 * Append one sample. Timestamps must not decrease (callers sort first);
 * equal timestamps are allowed, a decreasing one returns XOR_EORDER. Any
 * int64 timestamps work, even INT64_MIN followed by INT64_MAX.
 * Values are stored bit-exact (NaN payloads such as the stale marker survive).
 * Returns XOR_EFULL when the sample does not fit in cap and XOR_ETOOMANY
 * after 65535 samples; on any error the chunk is left unchanged, so the
 * caller can seal it and start a new one.
 */
extern int	xor_append(XorAppender *app, int64_t t, double v);

/* Bytes of the chunk so far (header included). */
extern size_t xor_appender_bytes(const XorAppender *app);

/* Number of samples a chunk's header announces (0 when len < 2). */
extern uint16_t xor_chunk_count(const uint8_t *data, size_t len);

/* Start iterating a chunk; len < 2 sets it->err to XOR_ECORRUPT. */
extern void xor_iter_init(XorIterator *it, const uint8_t *data, size_t len);

/* Advance to the next sample; false at the end or on error (see it->err). */
extern bool xor_iter_next(XorIterator *it, int64_t *t, double *v);

/*
 * Decode a whole chunk into ts[]/vs[] (room for max samples each).
 * Returns the number of samples, or -1 when the chunk is corrupt or has more
 * than max samples.
 */
extern int	xor_decode_all(const uint8_t *data, size_t len, int64_t *ts, double *vs, int max);

/* ---- decimal chunks (decchunk.c) ---- */
/*
 * alloy's decimal chunk encoding, the compact alternative to
 * Prometheus's XOR chunk for values that are short decimals.
 *
 * Most metric values are integers (bytes, packets, requests) or decimals with
 * a few digits (CPU seconds in 1/100 s, temperatures, load averages). Their
 * float64 bits change almost everywhere from one sample to the next, so XOR
 * compression keeps 4-6 bytes per sample. Written as v = m / 10^d with one
 * exponent d per chunk, the integers m of a counter grow at a nearly constant
 * rate and those of a gauge move by small steps: their deltas (or deltas of
 * deltas) take a few bits. Values that are not exactly such a decimal (NaN and
 * the stale marker, infinities, -0, values needing 17 digits) are stored as
 * raw 64-bit exceptions, so every float64 comes back bit-exact.
 *
 * Layout: a 2-byte big-endian sample count (where an XOR chunk has it), one
 * byte with the exponent d (bits 0-4), the value mode (bit 5: deltas of
 * deltas instead of deltas) and the group size (bit 6: DEC_GROUP_SMALL
 * instead of DEC_GROUP; bit 7 zero), then one bit stream, most significant
 * bit first: the starting state in four variable-width fields, then the
 * samples in groups. A group's header names the bit widths of its timestamp
 * and value residuals (or repeats the previous group's) and its special
 * samples: exceptions, and patches that carry one wide residual apart so it
 * does not widen the group. Then come fixed-width fields, which the decoder
 * reads at computed positions without a per-field prefix, so a group's
 * fields do not depend on each other (docs/storage-decimal.md spells out the
 * fields and why).
 *
 * Plain C with no PostgreSQL calls, so it builds into unit tests and a
 * libFuzzer target. Callers own every buffer; nothing here allocates. Decoding
 * is bounds-checked: corrupt bytes give an error, never a read past the end.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEC_OK			0
#define DEC_EFULL		1		/* the output buffer is too small */
#define DEC_EINVAL		2		/* no samples, or more than DEC_MAX_SAMPLES */

/* Most samples one encoder call takes (the encoder's scratch is on the stack). */
#define DEC_MAX_SAMPLES 1024
/* Largest exponent tried: 10^15 keeps m below 2^53 for values up to ~9. */
#define DEC_MAX_EXP		15
/*
 * Samples per group, chosen per chunk (the last group of a chunk may be
 * shorter): DEC_GROUP normally, DEC_GROUP_SMALL when that saves enough.
 */
#define DEC_GROUP		16
#define DEC_GROUP_SMALL 8
/* Header bytes before the bit stream. */
#define DEC_HEADER_BYTES 3
/*
 * Upper bound of the starting state (four 70-bit fields, 35 bytes) plus one
 * short last group's header and bitmap (30 bits) and the final partial byte.
 */
#define DEC_INIT_BYTES	40
/*
 * Upper bound of one sample: a 64-bit timestamp field and either a 64-bit
 * value field or a 64-bit exception (16 bytes), plus its share of a full
 * group's header and bitmap (at most 22 bits over DEC_GROUP_SMALL samples).
 */
#define DEC_MAX_SAMPLE_BYTES 17

/* Output room that always suffices for n samples. */
#define DEC_MAX_BYTES(n) (DEC_HEADER_BYTES + DEC_INIT_BYTES + \
						  (size_t) (n) * DEC_MAX_SAMPLE_BYTES)

/*
 * Encode n samples (1..DEC_MAX_SAMPLES) into out (cap bytes), choosing the
 * exponent and value mode that give the fewest bits. Any timestamps and any
 * float64 values are accepted. On DEC_OK, *outlen is the chunk's length.
 */
extern int	dec_encode(const int64_t *ts, const double *vs, int n,
					   uint8_t *out, size_t cap, size_t *outlen);

/* Number of samples a chunk's header announces (0 when len < 3). */
extern uint16_t dec_chunk_count(const uint8_t *data, size_t len);

/*
 * Decode a whole chunk into ts[]/vs[] (room for max samples each). Returns
 * the number of samples, or -1 when the chunk is corrupt or has more than
 * max samples.
 */
extern int	dec_decode_all(const uint8_t *data, size_t len, int64_t *ts, double *vs, int max);

#endif							/* ALLOY_CODEC_CODEC_H */
