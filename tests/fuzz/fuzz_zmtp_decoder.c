/*
 * fuzz_zmtp_decoder.c: libFuzzer target for the ZMTP frame decoder and the command and
 * metadata parsers (src/proto/zmtp_codec.c). The first input byte steers how the rest
 * is delivered (chunk sizes, direct reads, an injected allocation failure); the rest is
 * the byte stream a peer would send. Every frame that decodes is re-encoded and decoded
 * again, and must come back the same.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 *        cmake --build build-fuzz --target fuzz_zmtp_decoder
 * Run:   tests/fuzz/run.sh 60 fuzz_zmtp_decoder
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipe/msg.h"
#include "platform/alloc.h"
#include "proto/zmtp_codec.h"

#define FUZZ_MAXMSGSIZE 65536

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

static int
prop_cb(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	size_t *total = arg;
	fuzz_check(nlen >= 1 && nlen <= 255);
	/* Touch every byte so ASan sees any overrun. */
	for (size_t i = 0; i < nlen; i++)
		*total += (uint8_t)name[i];
	for (size_t i = 0; i < vlen; i++)
		*total += val[i];
	return 0;
}

static void
check_command(const struct msg *m)
{
	const char *name;
	const uint8_t *data;
	size_t nlen, dlen, total = 0;
	if (zmtp_command_parse(m, &name, &nlen, &data, &dlen) < 0)
		return;
	fuzz_check(1 + nlen + dlen == msg_size(m));
	(void)zmtp_props_parse(data, dlen, prop_cb, &total);
}

/* round_trip: encodes m and decodes the result; it must match m. */
static void
round_trip(struct msg *m)
{
	static struct zmtp_encoder enc;
	struct msg copy, back;
	size_t size = msg_size(m);
	unsigned flags = msg_flags(m) & (MSGF_MORE | MSGF_COMMAND);

	msg_init(&copy);
	msg_copy(&copy, m);
	zmtp_encoder_init(&enc);
	fuzz_check(zmtp_encoder_space(&enc));
	zmtp_encoder_load(&enc, &copy);

	struct zmtp_decoder dec;
	zmtp_decoder_init(&dec, -1);
	struct iovec iov[ZMTP_SEGS];
	int got = 0;
	msg_init(&back);
	while (!zmtp_encoder_empty(&enc)) {
		int n = zmtp_encoder_iov(&enc, iov, ZMTP_SEGS);
		fuzz_check(n > 0);
		for (int i = 0; i < n; i++) {
			size_t used;
			int rc = zmtp_decoder_feed(&dec, iov[i].iov_base, iov[i].iov_len,
			                           &used, &back);
			if (rc == -ENOMEM)
				goto out; /* an injected failure may still be armed */
			fuzz_check(rc == 0 || rc == 1);
			fuzz_check(used == iov[i].iov_len);
			got += rc;
		}
		zmtp_encoder_written(&enc, zmtp_encoder_pending(&enc));
	}
	fuzz_check(got == 1);
	fuzz_check(msg_size(&back) == size);
	fuzz_check((msg_flags(&back) & (MSGF_MORE | MSGF_COMMAND)) == flags);
	fuzz_check(size == 0 || memcmp(msg_data(&back), msg_data(m), size) == 0);
out:
	msg_close(&back);
	zmtp_decoder_fini(&dec);
	zmtp_encoder_fini(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;

	/* ctl bits 0-2: chunk size class; bit 3: direct reads; bits 4-7: fail the Nth
	 * allocation (0: never). */
	size_t chunk_max = (ctl & 7) == 0 ? SIZE_MAX : ((size_t)1 << (ctl & 7) * 2);
	bool direct = ctl & 8;
	if (ctl >> 4)
		zn_alloc_fail_after(ctl >> 4, 0);

	struct zmtp_decoder d;
	zmtp_decoder_init(&d, FUZZ_MAXMSGSIZE);
	size_t pos = 0;
	int enomem = 0;
	while (pos < size) {
		struct msg m;
		msg_init(&m);
		uint8_t *dbuf;
		size_t dlen;
		int rc;
		if (direct && zmtp_decoder_direct(&d, &dbuf, &dlen)) {
			fuzz_check(dlen >= ZMTP_DIRECT_MIN && dlen <= FUZZ_MAXMSGSIZE);
			size_t k = size - pos < dlen ? size - pos : dlen;
			memcpy(dbuf, data + pos, k);
			pos += k;
			rc = zmtp_decoder_direct_done(&d, k, &m);
			fuzz_check(rc == 0 || rc == 1);
		} else {
			size_t n = size - pos < chunk_max ? size - pos : chunk_max;
			size_t used = 0;
			rc = zmtp_decoder_feed(&d, data + pos, n, &used, &m);
			fuzz_check(used <= n);
			pos += used;
			if (rc == -ENOMEM) {
				fuzz_check(++enomem < 16); /* the hook fails once */
				continue; /* retry: the decoder must cope */
			}
			if (rc < 0) {
				fuzz_check(rc == -EPROTO || rc == -EMSGSIZE);
				/* Sticky. */
				fuzz_check(zmtp_decoder_feed(&d, data, size, &used, &m) ==
				           rc);
				fuzz_check(used == 0);
				break;
			}
			fuzz_check(rc == 1 || used == n);
		}
		if (rc == 1) {
			fuzz_check(msg_size(&m) <= FUZZ_MAXMSGSIZE);
			fuzz_check(!((msg_flags(&m) & MSGF_COMMAND) &&
			             (msg_flags(&m) & MSGF_MORE)));
			if (msg_flags(&m) & MSGF_COMMAND)
				check_command(&m);
			round_trip(&m);
			msg_close(&m);
		}
	}
	zmtp_decoder_fini(&d);
	zn_alloc_fail_after(0, 0);
	return 0;
}
