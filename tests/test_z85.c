/*
 * test_z85.c: zmq_z85_encode and zmq_z85_decode against ZeroMQ RFC 32, and the CURVE
 * key helpers (zmq_curve_keypair, zmq_curve_public): Z85 keys when built with
 * libsodium (zmq_has("curve")), ENOTSUP without.
 */
#include <zmq.h>

#include "testutil.h"

static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static const uint8_t hello_bytes[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};

static void
test_encode_spec_vector(void)
{
	char out[11];
	memset(out, 'x', sizeof(out));
	CHECK(zmq_z85_encode(out, hello_bytes, 8) == out);
	CHECK_STR(out, "HelloWorld");
}

static void
test_decode_spec_vector(void)
{
	uint8_t out[8];
	CHECK(zmq_z85_decode(out, "HelloWorld") == out);
	CHECK(memcmp(out, hello_bytes, 8) == 0);
}

static void
test_key_round_trip(void)
{
	uint8_t key[32], back[32];
	char text[41];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	memset(text, 'x', sizeof(text));
	CHECK(zmq_z85_encode(text, key, 32) == text);
	CHECK_EQ(strlen(text), 40);
	for (int i = 0; i < 40; i++)
		CHECK(strchr(alphabet, text[i]) != NULL);
	CHECK(zmq_z85_decode(back, text) == back);
	CHECK(memcmp(key, back, 32) == 0);
}

static void
test_all_byte_values_round_trip(void)
{
	uint8_t data[256], back[256];
	char text[321];
	for (int i = 0; i < 256; i++)
		data[i] = (uint8_t)(255 - i);
	CHECK(zmq_z85_encode(text, data, 256) == text);
	CHECK_EQ(strlen(text), 320);
	memset(back, 0, sizeof(back));
	CHECK(zmq_z85_decode(back, text) == back);
	CHECK(memcmp(data, back, 256) == 0);
}

static void
test_extreme_groups(void)
{
	static const uint8_t zeros[4] = {0, 0, 0, 0}, ones[4] = {0xff, 0xff, 0xff, 0xff};
	uint8_t back[4];
	char text[6];
	CHECK_STR(zmq_z85_encode(text, zeros, 4), "00000");
	CHECK_STR(zmq_z85_encode(text, ones, 4), "%nSc0");
	CHECK(zmq_z85_decode(back, "%nSc0") == back);
	CHECK(memcmp(back, ones, 4) == 0);
}

static void
test_empty_input(void)
{
	char text[1] = {'x'};
	uint8_t byte = 0x5a;
	CHECK(zmq_z85_encode(text, hello_bytes, 0) == text);
	CHECK_EQ(text[0], '\0');
	/* libzmq 4.3.4 refuses "" (shorter than one group): EINVAL, dest untouched. */
	errno = 0;
	CHECK(zmq_z85_decode(&byte, "") == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(byte, 0x5a);
}

static void
test_encode_bad_size_is_null(void)
{
	char text[16];
	for (size_t size = 1; size < 8; size++) {
		if (size % 4 == 0)
			continue;
		errno = 0;
		CHECK(zmq_z85_encode(text, hello_bytes, size) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
}

static void
test_decode_bad_length_is_null(void)
{
	static const char *bad[] = {"H", "Hell", "Hello1", "HelloWorl", "HelloWorld!"};
	uint8_t out[16];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xa5, sizeof(out));
		errno = 0;
		CHECK(zmq_z85_decode(out, bad[i]) == NULL);
		CHECK_EQ(errno, EINVAL);
		CHECK_EQ(out[0], 0xa5);
	}
}

/* Every byte value that is not in the alphabet is rejected wherever it stands, and
 * every one that is decodes to its position: this checks the whole decoding table. */
static void
test_decode_checks_every_character(void)
{
	for (int c = 1; c < 256; c++) {
		char text[11] = "HelloWorld";
		uint8_t out[8];
		const char *pos = strchr(alphabet, c);
		text[7] = (char)c;
		memset(out, 0xa5, sizeof(out));
		if (!pos) {
			CHECK(zmq_z85_decode(out, text) == NULL);
			CHECK_EQ(out[0],
			         0xa5); /* the first group was valid: still untouched */
			continue;
		}
		/* "0000" + c is the value of c alone. */
		char group[6] = {'0', '0', '0', '0', (char)c, '\0'};
		CHECK(zmq_z85_decode(out, group) == out);
		CHECK_EQ(out[3], pos - alphabet);
		CHECK_EQ(out[0] | out[1] | out[2], 0);
	}
}

static void
test_decode_group_overflow_is_null(void)
{
	/* "%nSc0" is 2^32 - 1; "%nSc1" is 2^32; "#####" is 85^5 - 1. */
	static const char *bad[] = {"%nSc1", "%nSd0", "#####", "HelloWorld#####"};
	uint8_t out[12];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK(zmq_z85_decode(out, bad[i]) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
}

/* The decoder reads up to the terminator and no further: the input sits at the very
 * end of an exactly sized heap block, so ASan sees any overread. */
static void
test_decode_reads_within_string(void)
{
	char *text = malloc(11);
	uint8_t out[8];
	CHECK(text != NULL);
	memcpy(text, "HelloWorld", 11);
	CHECK(zmq_z85_decode(out, text) == out);
	text[9] = '\0';
	CHECK(zmq_z85_decode(out, text) == NULL);
	free(text);
}

static void
test_null_arguments(void)
{
	char text[11];
	uint8_t out[8];
	CHECK(zmq_z85_encode(NULL, hello_bytes, 8) == NULL);
	CHECK(zmq_z85_encode(text, NULL, 8) == NULL);
	CHECK(zmq_z85_decode(NULL, "HelloWorld") == NULL);
	CHECK(zmq_z85_decode(out, NULL) == NULL);
}

static void
test_curve_key_helpers(void)
{
	char pub[41], sec[41], derived[41];
	if (!zmq_has("curve")) {
		CHECK_ERR(zmq_curve_keypair(pub, sec), ENOTSUP);
		CHECK_ERR(
		        zmq_curve_public(pub, "0000000000000000000000000000000000000000"),
		        ENOTSUP);
		return;
	}
	CHECK_OK(zmq_curve_keypair(pub, sec));
	CHECK_EQ(strlen(pub), 40);
	CHECK_EQ(strlen(sec), 40);
	uint8_t bin[32];
	CHECK(zmq_z85_decode(bin, pub) != NULL);
	CHECK(zmq_z85_decode(bin, sec) != NULL);
	CHECK_OK(zmq_curve_public(derived, sec));
	CHECK_STR(derived, pub);
	/* The CurveZMQ test vector: the secret key's public key. */
	CHECK_OK(zmq_curve_public(derived, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"));
	CHECK_STR(derived, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
	/* Not Z85, or not 40 characters: EINVAL. */
	CHECK_ERR(zmq_curve_public(derived, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh"),
	          EINVAL);
	CHECK_ERR(zmq_curve_public(derived, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh "),
	          EINVAL);
}

static const struct test tests[] = {
        {"encode gives HelloWorld for the spec vector", test_encode_spec_vector},
        {"decode gives the spec vector for HelloWorld", test_decode_spec_vector},
        {"a 32-byte key round trips through 40 characters", test_key_round_trip},
        {"all byte values round trip", test_all_byte_values_round_trip},
        {"zero and all-ones groups encode and decode", test_extreme_groups},
        {"empty input encodes to empty and does not decode", test_empty_input},
        {"encode of a size not a multiple of 4 is NULL", test_encode_bad_size_is_null},
        {"decode of a length not a multiple of 5 is NULL",
         test_decode_bad_length_is_null},
        {"decode checks every character", test_decode_checks_every_character},
        {"decode of a group above 2^32-1 is NULL", test_decode_group_overflow_is_null},
        {"decode reads only within the string", test_decode_reads_within_string},
        {"NULL arguments give NULL", test_null_arguments},
        {"curve key helpers", test_curve_key_helpers},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
