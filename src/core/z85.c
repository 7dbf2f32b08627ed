/*
 * z85.c: see z85.h.
 */
#include "core/z85.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char z85_alphabet[85] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* z85_digit: the value of each printable ASCII character from ' ' (32) to DEL (127),
 * 0xff for characters outside the alphabet. tests/test_z85.c checks every entry
 * against z85_alphabet. */
static const uint8_t z85_digit[96] = {
        0xff, 0x44, 0xff, 0x54, 0x53, 0x52, 0x48, 0xff, 0x4b, 0x4c, 0x46, 0x41,
        0xff, 0x3f, 0x3e, 0x45, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x40, 0xff, 0x49, 0x42, 0x4a, 0x47, 0x51, 0x24, 0x25, 0x26,
        0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32,
        0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x4d,
        0xff, 0x4e, 0x43, 0xff, 0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
        0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x4f, 0xff, 0x50, 0xff, 0xff,
};

/* z85_group: decodes the five characters at s into *value. Returns false for a
 * character outside the alphabet or a group worth more than 2^32 - 1. */
static bool
z85_group(const char *s, uint32_t *value)
{
	uint64_t v = 0;
	for (int i = 0; i < 5; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 32 || c > 127 || z85_digit[c - 32] == 0xff)
			return false;
		v = v * 85 + z85_digit[c - 32];
	}
	if (v > UINT32_MAX)
		return false;
	*value = (uint32_t)v;
	return true;
}

int
z85_encode(char *dest, const uint8_t *data, size_t size)
{
	if (size % 4 != 0)
		return -EINVAL;
	char *out = dest;
	for (size_t i = 0; i < size; i += 4) {
		uint32_t v = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
		             (uint32_t)data[i + 2] << 8 | (uint32_t)data[i + 3];
		for (int k = 4; k >= 0; k--) {
			out[k] = z85_alphabet[v % 85];
			v /= 85;
		}
		out += 5;
	}
	*out = '\0';
	return 0;
}

int
z85_decode(uint8_t *dest, const char *text)
{
	size_t len = strlen(text);
	uint32_t v;
	/* "" is refused as libzmq 4.3 refuses it, although it encodes nothing. */
	if (len == 0 || len % 5 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 5)
		if (!z85_group(text + i, &v))
			return -EINVAL;
	for (size_t i = 0, o = 0; i < len; i += 5, o += 4) {
		z85_group(text + i, &v);
		dest[o] = (uint8_t)(v >> 24);
		dest[o + 1] = (uint8_t)(v >> 16);
		dest[o + 2] = (uint8_t)(v >> 8);
		dest[o + 3] = (uint8_t)v;
	}
	return 0;
}
