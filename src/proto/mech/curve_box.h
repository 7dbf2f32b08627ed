/*
 * curve_box.h: CURVE's MESSAGE boxes (RFC 26), made from a per-connection subkey. A
 * MESSAGE box is crypto_box_easy_afternm's, XSalsa20-Poly1305: HSalsa20 of the nonce's
 * first 16 bytes gives a Salsa20 key, Salsa20 with its last 8 bytes makes the stream,
 * whose first 32 bytes key Poly1305 and the rest encrypt. A MESSAGE nonce's first 16
 * bytes are a constant prefix, so that Salsa20 key is the same for every box of a
 * connection and direction: derived once here (curve_box_subkey), not once a box
 * (callgrind, tcp 64 B over CURVE: 1200 of 5300 instructions a message on each side).
 * The bytes are libsodium's secretbox's, so libzmq opens them and we open its.
 *
 * Only with libsodium (ZINC_HAVE_CURVE).
 */
#ifndef ZINC_PROTO_MECH_CURVE_BOX_H
#define ZINC_PROTO_MECH_CURVE_BOX_H

#include <stddef.h>
#include <stdint.h>

#define CURVE_BOX_KEY 32
#define CURVE_BOX_MAC 16

/* curve_box_subkey: the Salsa20 key of the boxes whose nonces start with the 16 bytes
 * of prefix, under the connection's shared key (crypto_box_beforenm's). */
void curve_box_subkey(uint8_t subkey[CURVE_BOX_KEY], const uint8_t shared[CURVE_BOX_KEY],
                      const char *prefix);

/* curve_box_seal: mlen bytes at m encrypted to c (c may be m), the MAC to mac; n8 is the
 * nonce's last 8 bytes (the short nonce, big-endian). */
void curve_box_seal(uint8_t mac[CURVE_BOX_MAC], uint8_t *c, const uint8_t *m, size_t mlen,
                    const uint8_t n8[8], const uint8_t subkey[CURVE_BOX_KEY]);

/* curve_box_open: clen bytes at c checked against mac, then decrypted to m (m may be
 * c). 0, or -1 when the MAC does not match (m untouched). */
int curve_box_open(uint8_t *m, const uint8_t *c, size_t clen,
                   const uint8_t mac[CURVE_BOX_MAC], const uint8_t n8[8],
                   const uint8_t subkey[CURVE_BOX_KEY]);

#endif
