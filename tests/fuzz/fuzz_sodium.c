/*
 * fuzz_sodium.c: a stand-in for the few libsodium functions zinc calls (CURVE in
 * src/proto/mech/curve.c, key options in src/core/options.c, zmq_curve_* in
 * src/api/zmq_utils.c), linked into the fuzz targets and their replays. Its
 * definitions take the place of the shared library's, so every call zinc makes is the
 * same, with the same arguments, sizes and failure returns; only the arithmetic is
 * cheap. With libsodium a CURVE handshake costs about a dozen X25519 multiplications,
 * which took two thirds of fuzz_mech_server's time and held it near 7000 runs a second;
 * libsodium itself is not what these targets test.
 *
 * What stays true, so zinc's use of the primitives is still checked:
 *   - a key pair's halves belong together: the shared key of (A's public, B's secret)
 *     equals that of (B's public, A's secret), and no other pairing gives it, so a box
 *     made or opened with the wrong key, nonce or length fails its MAC as it would;
 *   - a box is MAC (16 bytes) then ciphertext, opened in place or overlapping as
 *     libsodium allows; an all-zero public key is refused as a low-order point;
 *   - randomness is a counter, reset by fuzz_sodium_reset() at the start of each input,
 *     so an input replays the same (a crash reproduces).
 * What does not: secrecy. The MAC is a keyed hash the fuzzer can learn to match (its
 * compare is instrumented), so it also reaches what a forged box leads to: deeper
 * than a real peer gets for the server's cookie, never shallower.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_sodium.h"

static uint64_t fuzz_rng;

void
fuzz_sodium_reset(void)
{
	fuzz_rng = 0;
}

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

int
sodium_init(void)
{
	return 1; /* "already initialised": no work */
}

void
randombytes_buf(void *const buf, const size_t size)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < size; i++) {
		if (i % 8 == 0)
			fuzz_rng = mix64(fuzz_rng + 0x9e3779b97f4a7c15u);
		b[i] = (uint8_t)(fuzz_rng >> (8 * (i % 8)));
	}
}

void
sodium_memzero(void *const pnt, const size_t len)
{
	volatile uint8_t *p = pnt;
	for (size_t i = 0; i < len; i++)
		p[i] = 0;
}

int
sodium_memcmp(const void *const b1_, const void *const b2_, size_t len)
{
	return memcmp(b1_, b2_, len) == 0 ? 0 : -1;
}

/* The "group": public = secret xor G, shared = public xor secret; symmetric. */
static const uint8_t G[32] = "fuzz-sodium-generator-not-secret";

int
crypto_scalarmult_base(unsigned char *q, const unsigned char *n)
{
	for (int i = 0; i < 32; i++)
		q[i] = n[i] ^ G[i];
	return 0;
}

int
crypto_box_keypair(unsigned char *pk, unsigned char *sk)
{
	randombytes_buf(sk, 32);
	return crypto_scalarmult_base(pk, sk);
}

int
crypto_box_beforenm(unsigned char *k, const unsigned char *pk, const unsigned char *sk)
{
	uint8_t any = 0;
	for (int i = 0; i < 32; i++)
		any |= pk[i];
	if (!any)
		return -1; /* a low-order point */
	for (int i = 0; i < 32; i++)
		k[i] = pk[i] ^ sk[i] ^ G[i];
	return 0;
}

/* seed: the stream's start from the key and the nonce (24 bytes). */
static uint64_t
seed(const uint8_t *k, const uint8_t *n)
{
	uint64_t h = 0x6a09e667f3bcc909u;
	for (int i = 0; i < 32; i++)
		h = mix64(h ^ k[i]);
	for (int i = 0; i < 24; i++)
		h = mix64(h ^ ((uint64_t)n[i] << 8));
	return h;
}

/* stream_xor_from: the stream from byte `from` on (a multiple of 8), xored into d. */
static void
stream_xor_from(uint8_t *d, size_t len, uint64_t s, uint64_t from)
{
	uint64_t w = 0;
	for (size_t i = 0; i < len; i++) {
		uint64_t at = from + i;
		if (i == 0 || at % 8 == 0)
			w = mix64(s + (at & ~(uint64_t)7));
		d[i] ^= (uint8_t)(w >> (8 * (at % 8)));
	}
}

static void
stream_xor(uint8_t *d, size_t len, uint64_t s)
{
	stream_xor_from(d, len, s, 0);
}

static void
mac(uint8_t out[16], const uint8_t *c, size_t len, uint64_t s)
{
	uint64_t a = mix64(s ^ 1), b = mix64(s ^ 2);
	for (size_t i = 0; i < len; i++) {
		a = mix64(a ^ c[i]);
		b = (b ^ c[i]) * 0x100000001b3u;
	}
	a = mix64(a ^ len);
	b = mix64(b ^ len);
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(a >> (8 * i));
		out[8 + i] = (uint8_t)(b >> (8 * i));
	}
}

/* seal / open: MAC then ciphertext; input and output may overlap (memmove first). */
static void
seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n, const uint8_t *k)
{
	uint64_t s = seed(k, n);
	memmove(c + 16, m, mlen);
	stream_xor(c + 16, mlen, s);
	mac(c, c + 16, mlen, s);
}

static int
open_box(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n, const uint8_t *k)
{
	if (clen < 16)
		return -1;
	uint64_t s = seed(k, n);
	uint8_t want[16];
	mac(want, c + 16, clen - 16, s);
	if (memcmp(want, c, 16) != 0)
		return -1;
	memmove(m, c + 16, clen - 16);
	stream_xor(m, clen - 16, s);
	return 0;
}

int
crypto_box_easy_afternm(unsigned char *c, const unsigned char *m, unsigned long long mlen,
                        const unsigned char *n, const unsigned char *k)
{
	seal(c, m, (size_t)mlen, n, k);
	return 0;
}

int
crypto_box_open_easy_afternm(unsigned char *m, const unsigned char *c,
                             unsigned long long clen, const unsigned char *n,
                             const unsigned char *k)
{
	return open_box(m, c, (size_t)clen, n, k);
}

int
crypto_box_easy(unsigned char *c, const unsigned char *m, unsigned long long mlen,
                const unsigned char *n, const unsigned char *pk, const unsigned char *sk)
{
	uint8_t k[32];
	if (crypto_box_beforenm(k, pk, sk) != 0)
		return -1;
	seal(c, m, (size_t)mlen, n, k);
	return 0;
}

int
crypto_box_open_easy(unsigned char *m, const unsigned char *c, unsigned long long clen,
                     const unsigned char *n, const unsigned char *pk,
                     const unsigned char *sk)
{
	uint8_t k[32];
	if (crypto_box_beforenm(k, pk, sk) != 0)
		return -1;
	return open_box(m, c, (size_t)clen, n, k);
}

int
crypto_secretbox_easy(unsigned char *c, const unsigned char *m, unsigned long long mlen,
                      const unsigned char *n, const unsigned char *k)
{
	seal(c, m, (size_t)mlen, n, k);
	return 0;
}

int
crypto_secretbox_open_easy(unsigned char *m, const unsigned char *c,
                           unsigned long long clen, const unsigned char *n,
                           const unsigned char *k)
{
	return open_box(m, c, (size_t)clen, n, k);
}

/* The pieces CURVE's MESSAGE boxes are made of (src/proto/mech/curve_box.c), with the
 * properties those rely on: a subkey from a key and 16 bytes; a stream from a subkey
 * and 8 bytes, the one from block ic on continuing the one from block 0 at byte
 * 64 * ic; a one-time MAC keyed by 32 bytes. */

/* hash_bytes: a 64-bit digest of len bytes, from h. */
static uint64_t
hash_bytes(uint64_t h, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = mix64(h ^ ((uint64_t)b[i] << 16) ^ i);
	return h;
}

int
crypto_core_hsalsa20(unsigned char *out, const unsigned char *in, const unsigned char *k,
                     const unsigned char *c)
{
	(void)c;
	uint64_t h = hash_bytes(hash_bytes(0x3c6ef372fe94f82bu, k, 32), in, 16);
	for (int i = 0; i < 32; i++) {
		if (i % 8 == 0)
			h = mix64(h + (uint64_t)i);
		out[i] = (uint8_t)(h >> (8 * (i % 8)));
	}
	return 0;
}

static uint64_t
stream_seed(const unsigned char *n, const unsigned char *k)
{
	return hash_bytes(hash_bytes(0xa54ff53a5f1d36f1u, k, 32), n, 8);
}

int
crypto_stream_salsa20_xor_ic(unsigned char *c, const unsigned char *m,
                             unsigned long long mlen, const unsigned char *n, uint64_t ic,
                             const unsigned char *k)
{
	memmove(c, m, (size_t)mlen);
	stream_xor_from(c, (size_t)mlen, stream_seed(n, k), ic * 64);
	return 0;
}

int
crypto_stream_salsa20_xor(unsigned char *c, const unsigned char *m,
                          unsigned long long mlen, const unsigned char *n,
                          const unsigned char *k)
{
	return crypto_stream_salsa20_xor_ic(c, m, mlen, n, 0, k);
}

int
crypto_stream_salsa20(unsigned char *c, unsigned long long clen, const unsigned char *n,
                      const unsigned char *k)
{
	memset(c, 0, (size_t)clen);
	return crypto_stream_salsa20_xor_ic(c, c, clen, n, 0, k);
}

int
crypto_onetimeauth_poly1305(unsigned char *out, const unsigned char *in,
                            unsigned long long inlen, const unsigned char *k)
{
	mac(out, in, (size_t)inlen, hash_bytes(0x510e527fade682d1u, k, 32));
	return 0;
}

int
crypto_onetimeauth_poly1305_verify(const unsigned char *h, const unsigned char *in,
                                   unsigned long long inlen, const unsigned char *k)
{
	uint8_t want[16];
	(void)crypto_onetimeauth_poly1305(want, in, inlen, k);
	return memcmp(want, h, 16) == 0 ? 0 : -1; /* instrumented: the fuzzer learns it */
}
