/*
 * z85.h: the Z85 codec of ZeroMQ RFC 32 (binary <-> printable text, 4 bytes <-> 5
 * characters). The public zmq_z85_encode / zmq_z85_decode (src/api/zmq_utils.c) and
 * the CURVE key options (core/options.c) both use it.
 *
 * Threads: reentrant; touches only its arguments.
 */
#ifndef ZINC_CORE_Z85_H
#define ZINC_CORE_Z85_H

#include <stddef.h>
#include <stdint.h>

/* z85_encode: writes size * 5 / 4 characters and a terminator to dest. 0, or -EINVAL
 * when size is not a multiple of 4 (dest untouched). */
int z85_encode(char *dest, const uint8_t *data, size_t size);
/* z85_decode: writes strlen(text) * 4 / 5 bytes to dest. 0, or -EINVAL when the length
 * is 0 (as libzmq 4.3) or not a multiple of 5, a character is not in the alphabet or a
 * group overflows 32 bits; on failure dest is untouched. */
int z85_decode(uint8_t *dest, const char *text);

#endif
