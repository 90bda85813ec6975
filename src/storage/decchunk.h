/*
 * decchunk.h: alloy's decimal chunk encoding, the compact alternative to
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
#ifndef ALLOY_DECCHUNK_H
#define ALLOY_DECCHUNK_H

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

#endif							/* ALLOY_DECCHUNK_H */
