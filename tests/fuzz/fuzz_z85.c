/*
 * fuzz_z85.c: libFuzzer target for Z85 (RFC 32) through the public API: zmq_z85_decode
 * of any string into a buffer of exactly strlen * 4 / 5 bytes (ASan sees a byte too
 * many), zmq_z85_encode of any bytes, and zmq_curve_public of any 40-character text.
 * What decodes must encode back to the same text, and what encodes must decode back to
 * the same bytes.
 *
 * Input: the text (up to the first NUL) to decode; the whole input is also encoded
 * (its length cut to a multiple of 4, and once as it is, which must fail).
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_z85
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zmq.h"

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

/* decode_text: text of len characters (no NUL inside) decoded and, if it decodes,
 * encoded back. */
static void
decode_text(const char *text, size_t len)
{
	size_t out = len * 4 / 5;
	uint8_t *bin = malloc(out ? out : 1);
	char *back = malloc(len + 1);
	fuzz_check(bin && back);
	uint8_t *rc = zmq_z85_decode(bin, text);
	/* Only a non-empty multiple of 5 characters can decode. */
	if (rc) {
		fuzz_check(rc == bin && len % 5 == 0 && len > 0);
		fuzz_check(zmq_z85_encode(back, bin, out) == back);
		fuzz_check(strlen(back) == len && memcmp(back, text, len) == 0);
	}
	if (len == 40) {
		char pub[41];
		if (zmq_curve_public(pub, text) == 0)
			fuzz_check(strlen(pub) == 40);
	}
	free(bin);
	free(back);
}

/* encode_bytes: data encoded (size a multiple of 4) and decoded back. */
static void
encode_bytes(const uint8_t *data, size_t size)
{
	size_t n = size - size % 4;
	char *text = malloc(n * 5 / 4 + 1);
	uint8_t *back = malloc(n ? n : 1);
	fuzz_check(text && back);
	fuzz_check(zmq_z85_encode(text, data, n) == text);
	fuzz_check(strlen(text) == n * 5 / 4);
	if (n > 0) /* "" does not decode, as in libzmq */
		fuzz_check(zmq_z85_decode(back, text) == back &&
		           memcmp(back, data, n) == 0);
	if (size % 4)
		fuzz_check(zmq_z85_encode(text, data, size) == NULL);
	free(text);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The text ends at the first NUL, as a C string does. */
	size_t len = 0;
	while (len < size && data[len])
		len++;
	char *text = malloc(len + 1);
	fuzz_check(text);
	memcpy(text, data, len);
	text[len] = '\0';
	decode_text(text, len);
	free(text);
	encode_bytes(data, size);
	return 0;
}
