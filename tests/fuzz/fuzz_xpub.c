/*
 * fuzz_xpub.c: libFuzzer target for what subscribers send an XPUB: subscriptions and
 * cancellations in the message form (a first byte 1 or 0, then the topic: what ZMTP 3.0
 * peers send, and what the engine turns ZMTP 3.1 SUBSCRIBE / CANCEL commands into),
 * upstream data, multipart, very long topics, subscribers that leave with their
 * subscriptions, all against the XPUB's options (verbose, verboser, manual, invert
 * matching, nodrop, welcome message), interleaved with the XPUB publishing and reading.
 * Two XSUBs talk to the XPUB over inproc, in this thread: every step is deterministic
 * (the context, shared by all inputs, has no I/O thread; its reaper only frees).
 * The wire form of SUBSCRIBE / CANCEL is fuzzed by fuzz_engine_* with an XPUB.
 *
 * Input: byte 0 = XPUB options: bit 0 VERBOSE, 1 VERBOSER, 2 MANUAL, 3 INVERT_MATCHING,
 * 4 NODROP, 5 a welcome message, 6-7 SNDHWM 1 / 10 / 1000 / default. Then records: kind
 * (1 byte; bit 7 picks the XSUB), length (1 byte), that many bytes; kind & 7:
 *   0 the XSUB sends the bytes (bit 6 of kind: with MORE)
 *   1 the XSUB subscribes to (byte 0 = 1) or cancels (0) a long topic: the rest of the
 *     bytes repeated to length << (bits 3-5 of kind) bytes (up to 32 KiB; a node per
 *     byte: 255 KiB took 1000 times an input's budget; test_trie walks a 1 MiB topic)
 *   2 the XPUB sends the bytes
 *   3 the XPUB reads what it has (up to 8 messages)
 *   4 the XSUB reads what it has (up to 8 messages)
 *   5 ZMQ_SUBSCRIBE (byte 0 odd) or ZMQ_UNSUBSCRIBE on the XPUB with the rest
 *   6 the XSUB disconnects and connects again (its subscriptions go)
 *   7 ZMQ_XPUB_WELCOME_MSG, ZMQ_XPUB_VERBOSE(R) or ZMQ_XPUB_NODROP set again (byte 0)
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_xpub
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

#define EP "inproc://fuzz-xpub"

static void
set_int(void *s, int option, int v)
{
	fuzz_check(zmq_setsockopt(s, option, &v, sizeof v) == 0);
}

/* drain: reads up to 8 messages without waiting; a part read is a whole message's. */
static void
drain(void *s)
{
	uint8_t buf[64];
	for (int i = 0; i < 8; i++) {
		int n = zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT);
		if (n < 0) {
			fuzz_check(errno == EAGAIN);
			return;
		}
	}
}

static void
send_bytes(void *s, const uint8_t *d, size_t len, int flags)
{
	int rc = zmq_send(s, d, len, flags | ZMQ_DONTWAIT);
	fuzz_check(rc == (int)len || (rc < 0 && (errno == EAGAIN || errno == ENOMEM)));
}

/* long_topic: a (un)subscription whose topic is pattern repeated to n bytes. */
static void
long_topic(void *s, bool sub, const uint8_t *pat, size_t plen, size_t n)
{
	uint8_t *m = malloc(n + 1);
	fuzz_check(m);
	m[0] = sub ? 1 : 0;
	for (size_t i = 0; i < n; i++)
		m[1 + i] = plen ? pat[i % plen] : 'a';
	send_bytes(s, m, n + 1, 0);
	free(m);
}

static void
xpub_options(void *pub, uint8_t o)
{
	set_int(pub, ZMQ_XPUB_VERBOSE, o & 1);
	set_int(pub, ZMQ_XPUB_VERBOSER, (o >> 1) & 1);
	set_int(pub, ZMQ_XPUB_MANUAL, (o >> 2) & 1);
	set_int(pub, ZMQ_INVERT_MATCHING, (o >> 3) & 1);
	set_int(pub, ZMQ_XPUB_NODROP, (o >> 4) & 1);
	if (o & 32)
		fuzz_check(zmq_setsockopt(pub, ZMQ_XPUB_WELCOME_MSG, "W", 1) == 0);
	static const int hwm[4] = {1, 10, 1000, 0};
	if (hwm[o >> 6])
		set_int(pub, ZMQ_SNDHWM, hwm[o >> 6]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* One context for the process; this input's sockets are destroyed (the reaper
	 * done with them) before it returns, so libFuzzer's leak check sees a balanced
	 * run (fuzz_ctx.h). */
	void *ctx = fuzz_ctx();
	fuzz_ctx_mark();
	void *pub = zmq_socket(ctx, ZMQ_XPUB);
	void *sub[2] = {zmq_socket(ctx, ZMQ_XSUB), zmq_socket(ctx, ZMQ_XSUB)};
	fuzz_check(pub && sub[0] && sub[1]);
	xpub_options(pub, data[0]);
	fuzz_check(zmq_bind(pub, EP) == 0);
	for (int i = 0; i < 2; i++)
		fuzz_check(zmq_connect(sub[i], EP) == 0);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t kind = data[pos];
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		const uint8_t *d = data + pos;
		pos += len;
		void *s = sub[kind >> 7];
		switch (kind & 7) {
		case 0: send_bytes(s, d, len, (kind & 64) ? ZMQ_SNDMORE : 0); break;
		case 1:
			long_topic(s, len && d[0], len ? d + 1 : d, len ? len - 1 : 0,
			           len * ((size_t)1 << (kind >> 3 & 7)));
			break;
		case 2: send_bytes(pub, d, len, 0); break;
		case 3: drain(pub); break;
		case 4: drain(s); break;
		case 5: {
			int opt = len && (d[0] & 1) ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE;
			int rc = zmq_setsockopt(pub, opt, len ? d + 1 : d,
			                        len ? len - 1 : 0);
			fuzz_check(rc == 0 || errno == EINVAL || errno == ENOMEM);
			break;
		}
		case 6:
			fuzz_check(zmq_disconnect(s, EP) == 0 || errno == ENOENT);
			fuzz_check(zmq_connect(s, EP) == 0);
			break;
		default: {
			int v = len ? d[0] : 0;
			int opts[4] = {ZMQ_XPUB_WELCOME_MSG, ZMQ_XPUB_VERBOSE,
			               ZMQ_XPUB_VERBOSER, ZMQ_XPUB_NODROP};
			int opt = opts[v & 3];
			if (opt == ZMQ_XPUB_WELCOME_MSG)
				fuzz_check(zmq_setsockopt(pub, opt, d, len) == 0);
			else
				set_int(pub, opt, v >> 7);
			break;
		}
		}
	}
	for (int i = 0; i < 2; i++) {
		set_int(sub[i], ZMQ_LINGER, 0);
		fuzz_check(zmq_close(sub[i]) == 0);
	}
	/* The name is free again at once (a close frees it later, in the reaper). */
	fuzz_check(zmq_unbind(pub, EP) == 0);
	set_int(pub, ZMQ_LINGER, 0);
	fuzz_check(zmq_close(pub) == 0);
	fuzz_ctx_settle();
	return 0;
}
