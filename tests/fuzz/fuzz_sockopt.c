/*
 * fuzz_sockopt.c: libFuzzer target for zmq_setsockopt and zmq_getsockopt: any option
 * number with any bytes and any length, on any socket type, followed by a read back of
 * any option into a buffer of any size. The value and the read-back buffer are
 * allocated at exactly the length given, so ASan reports a byte read or written past
 * it (libzmq's 6386bc13: option strings that were not NUL-terminated).
 *
 * Input: byte 0 = the socket type (mod 12: ZMQ_PAIR .. ZMQ_STREAM). Then records:
 *   option (1 byte), length (2 bytes, little-endian, cut to what is left), the value;
 *   then the option read back (1 byte) and its buffer size (1 byte).
 * Every call must succeed or fail with an errno libzmq documents for it.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_sockopt
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zmq.h"

#include "fuzz_ctx.h"

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

/* set_one: zmq_setsockopt with a copy of the value at exactly len bytes. */
static void
set_one(void *s, int option, const uint8_t *val, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	fuzz_check(copy);
	memcpy(copy, val, len);
	int rc = zmq_setsockopt(s, option, len ? copy : NULL, len);
	fuzz_check(rc == 0 || errno == EINVAL || errno == ENOMEM || errno == ENOTSUP ||
	           errno == EFAULT);
	free(copy);
}

/* get_one: zmq_getsockopt into a buffer of exactly cap bytes. */
static void
get_one(void *s, int option, size_t cap)
{
	uint8_t *buf = malloc(cap ? cap : 1);
	fuzz_check(buf);
	size_t len = cap;
	int rc = zmq_getsockopt(s, option, buf, &len);
	if (rc == 0) {
		fuzz_check(len <= cap);
		volatile uint8_t sum =
		        0; /* read it all: ASan sees uninitialised overruns */
		for (size_t i = 0; i < len; i++)
			sum = (uint8_t)(sum + buf[i]);
		(void)sum;
	} else {
		fuzz_check(errno == EINVAL || errno == ENOMEM || errno == EFAULT ||
		           errno == ENOTSUP);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* One context for the process; the input's socket is destroyed (the reaper done
	 * with it) before it returns, so libFuzzer's leak check sees a balanced run
	 * (fuzz_ctx.h). */
	void *ctx = fuzz_ctx();
	fuzz_ctx_mark();
	void *s = zmq_socket(ctx, data[0] % 12);
	fuzz_check(s);
	size_t pos = 1;
	while (pos + 3 <= size) {
		int option = data[pos];
		size_t len = data[pos + 1] | (size_t)data[pos + 2] << 8;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		set_one(s, option, data + pos, len);
		pos += len;
		if (pos + 2 <= size) {
			get_one(s, data[pos], data[pos + 1]);
			pos += 2;
		}
	}
	int linger = 0;
	fuzz_check(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) == 0);
	fuzz_check(zmq_close(s) == 0);
	fuzz_ctx_settle();
	return 0;
}
