/*
 * curve_box.c: see curve_box.h.
 */
#include "proto/mech/curve_box.h"

#ifdef ZINC_HAVE_CURVE

#include <sodium.h>

/* The stream's first block: the Poly1305 key, then the stream for the first 32 bytes
 * of the message; the rest starts at block 1. */
#define BLOCK0 64

void
curve_box_subkey(uint8_t subkey[CURVE_BOX_KEY], const uint8_t shared[CURVE_BOX_KEY],
                 const char *prefix)
{
	crypto_core_hsalsa20(subkey, (const unsigned char *)prefix, shared, NULL);
}

/* box_xor: out = in xor the stream, block0 being the stream's first block. */
static void
box_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t block0[BLOCK0],
        const uint8_t n8[8], const uint8_t subkey[CURVE_BOX_KEY])
{
	size_t first = len < 32 ? len : 32;
	for (size_t i = 0; i < first; i++)
		out[i] = in[i] ^ block0[32 + i];
	if (len > first)
		crypto_stream_salsa20_xor_ic(out + first, in + first, len - first, n8, 1,
		                             subkey);
}

void
curve_box_seal(uint8_t mac[CURVE_BOX_MAC], uint8_t *c, const uint8_t *m, size_t mlen,
               const uint8_t n8[8], const uint8_t subkey[CURVE_BOX_KEY])
{
	uint8_t block0[BLOCK0];
	crypto_stream_salsa20(block0, sizeof block0, n8, subkey);
	box_xor(c, m, mlen, block0, n8, subkey);
	crypto_onetimeauth_poly1305(mac, c, mlen, block0);
	sodium_memzero(block0, sizeof block0);
}

int
curve_box_open(uint8_t *m, const uint8_t *c, size_t clen,
               const uint8_t mac[CURVE_BOX_MAC], const uint8_t n8[8],
               const uint8_t subkey[CURVE_BOX_KEY])
{
	uint8_t block0[BLOCK0];
	crypto_stream_salsa20(block0, sizeof block0, n8, subkey);
	int rc = crypto_onetimeauth_poly1305_verify(mac, c, clen, block0);
	if (rc == 0)
		box_xor(m, c, clen, block0, n8, subkey);
	sodium_memzero(block0, sizeof block0);
	return rc == 0 ? 0 : -1;
}

#endif
