/*
 * test_zmtp_codec.c: the ZMTP frame codec (src/proto/zmtp_codec.c): round trips of every
 * frame size fed whole, byte by byte and in random chunks; the direct-read path; the
 * errors a peer can provoke (malformed headers, oversized frames) and allocation
 * failure; the encoder's batching, zero-copy references and partial writes; the command
 * and metadata helpers.
 */
#include <stdint.h>

#include "testutil.h"

#include "pipe/msg.h"
#include "platform/alloc.h"
#include "proto/zmtp_codec.h"

/* ---- helpers ------------------------------------------------------------------------
 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint8_t
pattern(size_t i, unsigned seed)
{
	return (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

static void
fill(struct msg *m, size_t size, unsigned seed, unsigned flags)
{
	CHECK_EQ(msg_init_size(m, size), 0);
	uint8_t *p = msg_data(m);
	for (size_t i = 0; i < size; i++)
		p[i] = pattern(i, seed);
	msg_set_flags(m, flags);
}

static void
check_body(struct msg *m, size_t size, unsigned seed)
{
	CHECK_EQ(msg_size(m), size);
	const uint8_t *p = msg_data(m);
	for (size_t i = 0; i < size; i++)
		if (p[i] != pattern(i, seed))
			TEST_FAIL("body byte %zu of %zu differs", i, size);
}

/* A growable byte string. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		CHECK(q != NULL);
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* ref_frame: the spec's encoding of one frame, written independently of the encoder. */
static void
ref_frame(struct bytes *b, uint8_t flags, size_t size, unsigned seed, bool force_long)
{
	uint8_t hdr[9];
	if (size > 255 || force_long) {
		hdr[0] = flags | ZMTP_FLAG_LONG;
		for (int i = 0; i < 8; i++)
			hdr[1 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
		bytes_add(b, hdr, 9);
	} else {
		hdr[0] = flags;
		hdr[1] = (uint8_t)size;
		bytes_add(b, hdr, 2);
	}
	for (size_t i = 0; i < size; i++) {
		uint8_t c = pattern(i, seed);
		bytes_add(b, &c, 1);
	}
}

/* drain: writes everything pending in e to out, max_write bytes at most per "write"
 * (0: all of it), with random sizes when random_sizes is set. */
static void
drain(struct zmtp_encoder *e, struct bytes *out, size_t max_write, bool random_sizes)
{
	struct iovec iov[ZMTP_SEGS];
	while (!zmtp_encoder_empty(e)) {
		int n = zmtp_encoder_iov(e, iov, ZMTP_SEGS);
		CHECK(n > 0);
		size_t budget = max_write ? max_write : SIZE_MAX;
		if (random_sizes && max_write)
			budget = 1 + rng() % max_write;
		size_t done = 0;
		for (int i = 0; i < n && done < budget; i++) {
			size_t k = iov[i].iov_len;
			if (k > budget - done)
				k = budget - done;
			bytes_add(out, iov[i].iov_base, k);
			done += k;
		}
		zmtp_encoder_written(e, done);
	}
}

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_RANDOM, FEED_DIRECT };

/* decode: decodes the stream; expects n frames of sizes[i] with seeds i and the given
 * flags. */
static void
decode(const struct bytes *in, enum feed_mode mode, const size_t *sizes,
       const unsigned *flags, size_t n)
{
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	size_t pos = 0, got = 0, directs = 0;
	while (pos < in->len) {
		size_t chunk = in->len - pos;
		if (mode == FEED_BYTES)
			chunk = 1;
		if (mode == FEED_RANDOM && chunk > 1)
			chunk = 1 + rng() % (chunk < 70000 ? chunk : 70000);
		uint8_t *dbuf;
		size_t dlen, used;
		struct msg m;
		msg_init(&m);
		int rc;
		if (mode == FEED_DIRECT && zmtp_decoder_direct(&d, &dbuf, &dlen)) {
			CHECK(dlen >= ZMTP_DIRECT_MIN);
			CHECK(dlen <= in->len - pos);
			size_t k = 1 + rng() % dlen; /* a read(2) may return less */
			memcpy(dbuf, in->p + pos, k);
			pos += k;
			directs++;
			rc = zmtp_decoder_direct_done(&d, k, &m);
			CHECK(rc == 0 || rc == 1);
			CHECK(rc == 0 || k == dlen);
		} else {
			if (mode == FEED_DIRECT && chunk > 4096)
				chunk = 4096;
			rc = zmtp_decoder_feed(&d, in->p + pos, chunk, &used, &m);
			CHECK(rc == 0 || rc == 1);
			CHECK(used <= chunk);
			CHECK(rc == 1 || used == chunk);
			pos += used;
		}
		if (rc == 1) {
			CHECK(got < n);
			check_body(&m, sizes[got], (unsigned)got);
			CHECK_EQ(msg_flags(&m), flags[got]);
			msg_close(&m);
			got++;
		}
	}
	CHECK_EQ(got, n);
	if (mode == FEED_DIRECT && in->len > 2 * ZMTP_DIRECT_MIN)
		CHECK(directs > 0);
	zmtp_decoder_fini(&d);
}

static const size_t all_sizes[] = {0, 1, 255, 256, 65536, 1 << 20, 16 << 20};
#define N_SIZES (sizeof(all_sizes) / sizeof(all_sizes[0]))

/* encode_sizes: the encoder's stream for every size, alternating MORE, checked against
 * the reference encoding. */
static void
encode_sizes(struct bytes *out, unsigned *flags)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	struct bytes ref = {0};
	for (size_t i = 0; i < N_SIZES; i++) {
		struct msg m;
		flags[i] = (i % 2) ? MSGF_MORE : 0;
		fill(&m, all_sizes[i], (unsigned)i, flags[i]);
		CHECK(zmtp_encoder_space(e));
		zmtp_encoder_load(e, &m);
		CHECK_EQ(msg_size(&m), 0);
		ref_frame(&ref, (i % 2) ? ZMTP_FLAG_MORE : 0, all_sizes[i], (unsigned)i,
		          false);
	}
	drain(e, out, 0, false);
	zmtp_encoder_fini(e);
	free(e);
	CHECK_EQ(out->len, ref.len);
	CHECK(memcmp(out->p, ref.p, ref.len) == 0);
	free(ref.p);
}

static void
round_trip(enum feed_mode mode)
{
	struct bytes s = {0};
	unsigned flags[N_SIZES];
	encode_sizes(&s, flags);
	decode(&s, mode, all_sizes, flags, N_SIZES);
	free(s.p);
}

/* ---- decoder: round trips -----------------------------------------------------------
 */

static void
test_round_trip_whole(void)
{
	round_trip(FEED_WHOLE);
}

static void
test_round_trip_bytes(void)
{
	round_trip(FEED_BYTES);
}

static void
test_round_trip_random(void)
{
	for (int i = 0; i < 3; i++)
		round_trip(FEED_RANDOM);
}

static void
test_round_trip_direct(void)
{
	round_trip(FEED_DIRECT);
}

static void
test_long_frame_small_size_accepted(void)
{
	struct bytes s = {0};
	ref_frame(&s, ZMTP_FLAG_MORE, 3, 0, true);
	ref_frame(&s, 0, 0, 1, true);
	const size_t sizes[] = {3, 0};
	const unsigned flags[] = {MSGF_MORE, 0};
	decode(&s, FEED_WHOLE, sizes, flags, 2);
	decode(&s, FEED_BYTES, sizes, flags, 2);
	free(s.p);
}

static void
test_multipart_and_commands(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	const size_t sizes[] = {5, 0, 300, 7, 2000, 40};
	const unsigned in_flags[] = {MSGF_MORE,    MSGF_MORE, 0, MSGF_COMMAND | MSGF_MORE,
	                             MSGF_COMMAND, 0};
	const unsigned out_flags[] = {MSGF_MORE,    MSGF_MORE,    0,
	                              MSGF_COMMAND, MSGF_COMMAND, 0};
	for (size_t i = 0; i < 6; i++) {
		struct msg m;
		fill(&m, sizes[i], (unsigned)i, in_flags[i]);
		zmtp_encoder_load(e, &m);
	}
	struct bytes s = {0};
	drain(e, &s, 0, false);
	zmtp_encoder_fini(e);
	free(e);
	/* The command's MORE is dropped on the wire: flags byte 0x04, never 0x05. */
	struct bytes ref = {0};
	const uint8_t wire[] = {0x01, 0x01, 0x00, 0x04, 0x04, 0x00};
	for (size_t i = 0; i < 6; i++)
		ref_frame(&ref, wire[i], sizes[i], (unsigned)i, false);
	CHECK_EQ(s.len, ref.len);
	CHECK(memcmp(s.p, ref.p, s.len) == 0);
	CHECK_EQ(s.p[0], 0x01);
	CHECK_EQ(s.p[9], 0x02); /* 300 bytes: a long message frame */
	decode(&s, FEED_WHOLE, sizes, out_flags, 6);
	decode(&s, FEED_RANDOM, sizes, out_flags, 6);
	free(s.p);
	free(ref.p);
}

/* ---- decoder: direct reads ----------------------------------------------------------
 */

static void
test_direct_read_into_message(void)
{
	struct bytes s = {0};
	const size_t size = 100000;
	ref_frame(&s, 0, size, 3, false);
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	uint8_t *buf;
	size_t len, used;
	struct msg m;
	msg_init(&m);
	CHECK_EQ(zmtp_decoder_direct(&d, &buf, &len), 0); /* between frames */
	CHECK_EQ(zmtp_decoder_feed(&d, s.p, 100, &used, &m), 0);
	CHECK_EQ(used, 100);
	CHECK_EQ(zmtp_decoder_direct(&d, &buf, &len), 1);
	CHECK_EQ(len, s.len - 100);
	CHECK_EQ(zmtp_decoder_direct_done(&d, len + 1, &m), -EINVAL);
	size_t pos = 100;
	/* Direct reads while enough is missing; the tail goes through feed. */
	while (zmtp_decoder_direct(&d, &buf, &len)) {
		size_t k = len < 7777 ? len : 7777;
		memcpy(buf, s.p + pos, k);
		pos += k;
		CHECK_EQ(zmtp_decoder_direct_done(&d, k, &m), 0);
	}
	CHECK(s.len - pos < ZMTP_DIRECT_MIN);
	CHECK_EQ(zmtp_decoder_feed(&d, s.p + pos, s.len - pos, &used, &m), 1);
	CHECK_EQ(used, s.len - pos);
	check_body(&m, size, 3);
	msg_close(&m);
	/* direct_done completing the frame hands it over. */
	msg_init(&m);
	CHECK_EQ(zmtp_decoder_feed(&d, s.p, 9, &used, &m), 0);
	CHECK_EQ(zmtp_decoder_direct(&d, &buf, &len), 1);
	CHECK_EQ(len, size);
	memcpy(buf, s.p + 9, size);
	CHECK_EQ(zmtp_decoder_direct_done(&d, size, &m), 1);
	check_body(&m, size, 3);
	msg_close(&m);
	CHECK_EQ(zmtp_decoder_direct_done(&d, 0, &m), -EINVAL);
	zmtp_decoder_fini(&d);
	free(s.p);
}

/* ---- decoder: errors ----------------------------------------------------------------
 */

static void
expect_feed_error(const uint8_t *bytes, size_t n, int64_t max, int err)
{
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, max);
	struct msg m;
	msg_init(&m);
	size_t used;
	CHECK_EQ(zmtp_decoder_feed(&d, bytes, n, &used, &m), err);
	CHECK(used <= n);
	/* Sticky: nothing more is consumed. */
	CHECK_EQ(zmtp_decoder_feed(&d, bytes, n, &used, &m), err);
	CHECK_EQ(used, 0);
	CHECK_EQ(msg_size(&m), 0);
	zmtp_decoder_fini(&d);
}

static void
test_reserved_flag_bits_eproto(void)
{
	for (int bit = 3; bit < 8; bit++) {
		const uint8_t f[] = {(uint8_t)(1u << bit), 0};
		expect_feed_error(f, sizeof(f), -1, -EPROTO);
	}
	const uint8_t g[] = {0xff, 0};
	expect_feed_error(g, sizeof(g), -1, -EPROTO);
	/* A good frame first, then a bad flags byte. */
	const uint8_t h[] = {0x00, 0x01, 'x', 0x10, 0x00};
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	struct msg m;
	msg_init(&m);
	size_t used;
	CHECK_EQ(zmtp_decoder_feed(&d, h, sizeof(h), &used, &m), 1);
	CHECK_EQ(used, 3);
	msg_close(&m);
	msg_init(&m);
	CHECK_EQ(zmtp_decoder_feed(&d, h + 3, 2, &used, &m), -EPROTO);
	zmtp_decoder_fini(&d);
}

static void
test_command_with_more_eproto(void)
{
	const uint8_t a[] = {0x05, 0x00};
	const uint8_t b[] = {0x07, 0, 0, 0, 0, 0, 0, 0, 0};
	expect_feed_error(a, sizeof(a), -1, -EPROTO);
	expect_feed_error(b, sizeof(b), -1, -EPROTO);
}

static void
test_long_size_top_bit_eproto(void)
{
	const uint8_t a[] = {0x02, 0x80, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t b[] = {0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	expect_feed_error(a, sizeof(a), -1, -EPROTO);
	expect_feed_error(b, sizeof(b), 1000, -EPROTO);
}

static void
test_oversized_emsgsize_without_allocating(void)
{
	const uint8_t big[] = {0x02, 0, 0, 0, 0, 0, 0, 0x10, 0x00}; /* 4096 */
	const uint8_t huge[] = {0x02, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t shrt[] = {0x00, 0xff}; /* 255 */
	const uint8_t cmd[] = {0x06, 0, 0, 0, 0, 0, 0, 0x10, 0x01};
	/* Any allocation from now on fails: -EMSGSIZE (not -ENOMEM) and no attempt at all
	 * prove the size was checked first. */
	zn_alloc_fail_after(1, 1);
	expect_feed_error(big, sizeof(big), 4095, -EMSGSIZE);
	expect_feed_error(huge, sizeof(huge), 1 << 20, -EMSGSIZE);
	expect_feed_error(shrt, sizeof(shrt), 100, -EMSGSIZE);
	expect_feed_error(cmd, sizeof(cmd), 4096, -EMSGSIZE);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(failures, 0);

	/* Exactly the limit is fine. */
	struct bytes s = {0};
	ref_frame(&s, 0, 4096, 0, false);
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, 4096);
	struct msg m;
	msg_init(&m);
	size_t used;
	CHECK_EQ(zmtp_decoder_feed(&d, s.p, s.len, &used, &m), 1);
	check_body(&m, 4096, 0);
	msg_close(&m);
	zmtp_decoder_fini(&d);
	free(s.p);
}

static void
test_enomem_then_retry(void)
{
	struct bytes s = {0};
	ref_frame(&s, ZMTP_FLAG_MORE, 1000, 5, false);
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	struct msg m;
	msg_init(&m);
	size_t used;
	zn_alloc_fail_after(1, 0);
	int rc = zmtp_decoder_feed(&d, s.p, s.len, &used, &m);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK_EQ(failures, 1);
	CHECK_EQ(used, 9); /* the header, nothing of the body */
	CHECK_EQ(msg_size(&m), 0);
	/* Consistent: the next call allocates and carries on. */
	CHECK_EQ(zmtp_decoder_feed(&d, s.p + 9, s.len - 9, &used, &m), 1);
	CHECK_EQ(used, s.len - 9);
	check_body(&m, 1000, 5);
	CHECK_EQ(msg_flags(&m), MSGF_MORE);
	msg_close(&m);
	/* Failing again and giving up: fini leaves nothing behind. */
	zn_alloc_fail_after(1, 1);
	rc = zmtp_decoder_feed(&d, s.p, s.len, &used, &m);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	zmtp_decoder_fini(&d);
	free(s.p);
}

static void
test_small_frames_need_no_allocation(void)
{
	const uint8_t f[] = {0x00, 0x03, 'a', 'b', 'c'};
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	struct msg m;
	msg_init(&m);
	size_t used;
	zn_alloc_fail_after(1, 1);
	int rc = zmtp_decoder_feed(&d, f, sizeof(f), &used, &m);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 1);
	CHECK_EQ(failures, 0);
	CHECK_EQ(msg_size(&m), 3);
	CHECK(memcmp(msg_data(&m), "abc", 3) == 0);
	msg_close(&m);
	zmtp_decoder_fini(&d);
}

static void
test_decoder_fini_releases_partial(void)
{
	struct bytes s = {0};
	ref_frame(&s, 0, 50000, 1, false);
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	struct msg m;
	msg_init(&m);
	size_t used;
	CHECK_EQ(zmtp_decoder_feed(&d, s.p, 20000, &used, &m), 0);
	zmtp_decoder_fini(&d); /* valgrind: the half-built body is freed */
	zmtp_decoder_fini(&d); /* twice is harmless */
	free(s.p);
}

/* ---- encoder ------------------------------------------------------------------------
 */

static void
test_exact_bytes(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	struct msg m;
	CHECK_EQ(msg_init_buffer(&m, "abc", 3), 0);
	msg_set_flags(&m, MSGF_MORE);
	zmtp_encoder_load(e, &m);
	CHECK_EQ(zmtp_command_build(&m, "PING", "\x00\x0a", 2), 0);
	zmtp_encoder_load(e, &m);
	CHECK_EQ(msg_init_size(&m, 256), 0);
	memset(msg_data(&m), 'z', 256);
	zmtp_encoder_load(e, &m);
	struct bytes s = {0};
	drain(e, &s, 0, false);
	const uint8_t want[] = {0x01, 0x03, 'a', 'b', 'c',  0x04, 0x07, 4,
	                        'P',  'I',  'N', 'G', 0x00, 0x0a, 0x02, 0,
	                        0,    0,    0,   0,   0,    0x01, 0x00};
	CHECK_EQ(s.len, sizeof(want) + 256);
	CHECK(memcmp(s.p, want, sizeof(want)) == 0);
	for (size_t i = 0; i < 256; i++)
		CHECK_EQ(s.p[sizeof(want) + i], 'z');
	zmtp_encoder_fini(e);
	free(e);
	free(s.p);
}

static void
test_encoder_batches_small_frames(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	int loaded = 0;
	while (zmtp_encoder_space(e) && loaded < 500) {
		struct msg m;
		fill(&m, 10, (unsigned)loaded, 0);
		zmtp_encoder_load(e, &m);
		loaded++;
	}
	CHECK_EQ(loaded, 500);
	CHECK_EQ(zmtp_encoder_pending(e), 500 * 12);
	struct iovec iov[ZMTP_SEGS];
	CHECK_EQ(zmtp_encoder_iov(e, iov, ZMTP_SEGS), 1);
	CHECK_EQ(iov[0].iov_len, 500 * 12);
	zmtp_encoder_written(e, 500 * 12);
	CHECK(zmtp_encoder_empty(e));
	CHECK_EQ(zmtp_encoder_iov(e, iov, ZMTP_SEGS), 0);
	/* Small bodies up to the batch's capacity: space turns false, nothing is lost. */
	loaded = 0;
	while (zmtp_encoder_space(e)) {
		struct msg m;
		fill(&m, 1000, (unsigned)loaded, 0);
		zmtp_encoder_load(e, &m);
		loaded++;
	}
	CHECK(loaded >= 8);
	CHECK_EQ(zmtp_encoder_pending(e), (size_t)loaded * 1009);
	/* A partial write frees the space in front of what is left for new frames. */
	struct bytes s = {0};
	drain(e, &s, 0, false);
	CHECK_EQ(s.len, (size_t)loaded * 1009);
	for (int i = 0; i < 8; i++) { /* 8 * 1009 bytes: all copied into the batch */
		struct msg m;
		fill(&m, 1000, (unsigned)i, 0);
		zmtp_encoder_load(e, &m);
	}
	struct iovec one[ZMTP_SEGS];
	CHECK_EQ(zmtp_encoder_iov(e, one, ZMTP_SEGS), 1);
	zmtp_encoder_written(e, 8 * 1009 - 100);
	CHECK_EQ(zmtp_encoder_pending(e), 100);
	struct msg m;
	fill(&m, 1000, 0, 0);
	zmtp_encoder_load(e, &m);
	CHECK_EQ(zmtp_encoder_iov(e, one, ZMTP_SEGS), 1); /* the body was copied too */
	CHECK_EQ(one[0].iov_len, 100 + 1009);
	zmtp_encoder_fini(e);
	free(e);
	free(s.p);
}

static int ffn_calls;

static void
count_free(void *data, void *hint)
{
	(void)hint;
	ffn_calls++;
	free(data);
}

static void
test_encoder_references_large_body(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	const size_t size = 65536;
	uint8_t *user = malloc(size);
	CHECK(user != NULL);
	memset(user, 0x5a, size);
	struct msg m;
	ffn_calls = 0;
	CHECK_EQ(msg_init_data(&m, user, size, count_free, NULL), 0);
	zmtp_encoder_load(e, &m);
	CHECK_EQ(msg_size(&m), 0); /* the encoder owns it */
	struct msg h;
	fill(&h, 5000, 2, 0);
	void *heap_data = msg_data(&h);
	zmtp_encoder_load(e, &h);
	struct iovec iov[ZMTP_SEGS];
	CHECK_EQ(zmtp_encoder_iov(e, iov, ZMTP_SEGS), 4);
	CHECK_EQ(iov[0].iov_len, 9);
	CHECK(iov[1].iov_base == user);
	CHECK_EQ(iov[1].iov_len, size);
	CHECK_EQ(iov[2].iov_len, 9);
	CHECK(iov[3].iov_base == heap_data);
	CHECK_EQ(iov[3].iov_len, 5000);
	CHECK_EQ(zmtp_encoder_iov(e, iov, 2), 2); /* max is respected */
	/* Held until its last byte is written. */
	zmtp_encoder_written(e, 9 + size - 1);
	CHECK_EQ(ffn_calls, 0);
	CHECK_EQ(zmtp_encoder_iov(e, iov, ZMTP_SEGS), 3);
	CHECK(iov[0].iov_base == user + size - 1);
	zmtp_encoder_written(e, 1);
	CHECK_EQ(ffn_calls, 1);
	zmtp_encoder_written(e, 9 + 5000);
	CHECK(zmtp_encoder_empty(e));
	zmtp_encoder_fini(e);
	free(e);
}

static void
test_encoder_slots_run_out(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	int loaded = 0;
	while (zmtp_encoder_space(e)) {
		struct msg m;
		fill(&m, 2048, (unsigned)loaded, 0);
		zmtp_encoder_load(e, &m);
		loaded++;
	}
	CHECK_EQ(loaded, ZMTP_SEGS / 2);
	CHECK_EQ(zmtp_encoder_raw(e, "x", 1), -ENOSPC);
	struct iovec iov[ZMTP_SEGS];
	CHECK_EQ(zmtp_encoder_iov(e, iov, ZMTP_SEGS), ZMTP_SEGS);
	zmtp_encoder_written(e, 9 + 2048);
	CHECK(zmtp_encoder_space(e));
	zmtp_encoder_fini(e);
	free(e);
}

static void
test_encoder_raw(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	uint8_t greeting[64];
	for (int i = 0; i < 64; i++)
		greeting[i] = (uint8_t)i;
	CHECK_EQ(zmtp_encoder_raw(e, greeting, 64), 0);
	struct msg m;
	fill(&m, 3000, 1, 0);
	zmtp_encoder_load(e, &m);
	CHECK_EQ(zmtp_encoder_raw(e, "\x04\x01\x01z", 4), 0);
	static uint8_t big[ZMTP_BATCH + 1];
	CHECK_EQ(zmtp_encoder_raw(e, big, sizeof(big)), -ENOSPC);
	CHECK_EQ(zmtp_encoder_raw(e, big, ZMTP_BATCH - 64 - 9 - 4 + 1), -ENOSPC);
	CHECK_EQ(zmtp_encoder_raw(e, big, 0), 0);
	struct bytes s = {0};
	drain(e, &s, 0, false);
	struct bytes ref = {0};
	bytes_add(&ref, greeting, 64);
	ref_frame(&ref, 0, 3000, 1, false);
	bytes_add(&ref, "\x04\x01\x01z", 4);
	CHECK_EQ(s.len, ref.len);
	CHECK(memcmp(s.p, ref.p, s.len) == 0);
	/* Empty again: the whole batch is free. */
	CHECK_EQ(zmtp_encoder_raw(e, big, ZMTP_BATCH), 0);
	zmtp_encoder_fini(e);
	free(e);
	free(s.p);
	free(ref.p);
}

/* The exact stream must come out whatever the write sizes, with frames loaded while
 * earlier ones are only partly written. */
static void
test_partial_writes_exact_stream(void)
{
	static const size_t step_max[] = {1, 2, 3, 7, 13, 1000, 9001, 70000};
	for (size_t v = 0; v < sizeof(step_max) / sizeof(step_max[0]); v++) {
		struct zmtp_encoder *e = malloc(sizeof(*e));
		CHECK(e != NULL);
		zmtp_encoder_init(e);
		struct bytes ref = {0}, out = {0};
		size_t nframes = step_max[v] < 10 ? 300 : 2000;
		size_t i = 0;
		struct iovec iov[ZMTP_SEGS];
		while (i < nframes || !zmtp_encoder_empty(e)) {
			while (i < nframes && zmtp_encoder_space(e) && rng() % 4 != 0) {
				size_t r = rng() % 100, size;
				if (r < 60)
					size = rng() % 64;
				else if (r < 85)
					size = rng() % 1500;
				else if (r < 97)
					size = 1000 + rng() % 20000;
				else
					size = 100000 + rng() % 100000;
				unsigned fl = (rng() % 3 == 0) ? MSGF_MORE : 0;
				if (rng() % 10 == 0)
					fl = MSGF_COMMAND;
				if (rng() % 20 == 0) {
					uint8_t raw[37];
					for (size_t k = 0; k < sizeof(raw); k++)
						raw[k] = (uint8_t)(i + k);
					if (zmtp_encoder_raw(e, raw, sizeof(raw)) == 0)
						bytes_add(&ref, raw, sizeof(raw));
					/* The raw bytes may have taken the room the
					 * header needs: a load requires space. */
					if (!zmtp_encoder_space(e))
						break;
				}
				struct msg m;
				fill(&m, size, (unsigned)i, fl);
				zmtp_encoder_load(e, &m);
				uint8_t wf = (fl & MSGF_COMMAND) ? ZMTP_FLAG_COMMAND
				             : (fl & MSGF_MORE)  ? ZMTP_FLAG_MORE
				                                 : 0;
				ref_frame(&ref, wf, size, (unsigned)i, false);
				i++;
			}
			/* One "writev" of a random size up to step_max. */
			int n = zmtp_encoder_iov(e, iov, ZMTP_SEGS);
			if (n == 0)
				continue;
			size_t budget = 1 + rng() % step_max[v], done = 0;
			for (int k = 0; k < n && done < budget; k++) {
				size_t len = iov[k].iov_len;
				CHECK(len > 0);
				if (len > budget - done)
					len = budget - done;
				bytes_add(&out, iov[k].iov_base, len);
				done += len;
			}
			zmtp_encoder_written(e, done);
		}
		CHECK_EQ(out.len, ref.len);
		CHECK(memcmp(out.p, ref.p, ref.len) == 0);
		zmtp_encoder_fini(e);
		free(e);
		free(ref.p);
		free(out.p);
	}
}

static void
test_encoder_fini_releases_held(void)
{
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	ffn_calls = 0;
	for (int i = 0; i < 4; i++) {
		size_t size = 4096 + (size_t)i;
		uint8_t *user = malloc(size);
		CHECK(user != NULL);
		struct msg m;
		CHECK_EQ(msg_init_data(&m, user, size, count_free, NULL), 0);
		zmtp_encoder_load(e, &m);
		fill(&m, 20000, 1, 0);
		zmtp_encoder_load(e, &m);
		fill(&m, 30, 1, 0);
		zmtp_encoder_load(e, &m);
	}
	zmtp_encoder_written(e, 100); /* part of the first body */
	CHECK_EQ(ffn_calls, 0);
	zmtp_encoder_fini(e); /* valgrind: every held message is closed */
	CHECK_EQ(ffn_calls, 4);
	CHECK(zmtp_encoder_empty(e));
	free(e);
}

/* ---- commands and metadata ----------------------------------------------------------
 */

struct props_seen {
	int n;
	char names[4][32];
	char vals[4][32];
	size_t vlens[4];
};

static int
collect(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	struct props_seen *ps = arg;
	if (ps->n >= 4 || nlen >= 32 || vlen >= 32)
		return -E2BIG;
	memcpy(ps->names[ps->n], name, nlen);
	ps->names[ps->n][nlen] = '\0';
	memcpy(ps->vals[ps->n], val, vlen);
	ps->vals[ps->n][vlen] = '\0';
	ps->vlens[ps->n] = vlen;
	ps->n++;
	return 0;
}

static void
test_ready_command_round_trip(void)
{
	uint8_t props[128];
	size_t n = 0;
	n += zmtp_props_write(props + n, sizeof(props) - n, "Socket-Type", "DEALER", 6);
	n += zmtp_props_write(props + n, sizeof(props) - n, "Identity", "", 0);
	CHECK_EQ(n, 1 + 11 + 4 + 6 + 1 + 8 + 4);
	const uint8_t want[] = {11,  'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p',
	                        'e', 0,   0,   0,   6,   'D', 'E', 'A', 'L', 'E', 'R'};
	CHECK(memcmp(props, want, sizeof(want)) == 0);

	struct msg m;
	CHECK_EQ(zmtp_command_build(&m, "READY", props, n), 0);
	CHECK_EQ(msg_flags(&m), MSGF_COMMAND);
	struct zmtp_encoder *e = malloc(sizeof(*e));
	CHECK(e != NULL);
	zmtp_encoder_init(e);
	zmtp_encoder_load(e, &m);
	struct bytes s = {0};
	drain(e, &s, 0, false);
	zmtp_encoder_fini(e);
	free(e);
	CHECK_EQ(s.p[0], 0x04);
	CHECK_EQ(s.p[1], 1 + 5 + n);

	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	size_t used;
	msg_init(&m);
	CHECK_EQ(zmtp_decoder_feed(&d, s.p, s.len, &used, &m), 1);
	CHECK_EQ(msg_flags(&m), MSGF_COMMAND);
	const char *name;
	size_t nlen, dlen;
	const uint8_t *data;
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen), 0);
	CHECK_EQ(nlen, 5);
	CHECK(memcmp(name, "READY", 5) == 0);
	CHECK_EQ(dlen, n);
	struct props_seen ps = {0};
	CHECK_EQ(zmtp_props_parse(data, dlen, collect, &ps), 0);
	CHECK_EQ(ps.n, 2);
	CHECK_STR(ps.names[0], "Socket-Type");
	CHECK_STR(ps.vals[0], "DEALER");
	CHECK_STR(ps.names[1], "Identity");
	CHECK_EQ(ps.vlens[1], 0);
	msg_close(&m);
	zmtp_decoder_fini(&d);
	free(s.p);
}

static void
test_command_parse_malformed(void)
{
	const char *name;
	size_t nlen, dlen;
	const uint8_t *data;
	struct msg m;
	msg_init(&m);
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen), -EPROTO); /* empty */
	CHECK_EQ(msg_init_buffer(&m, "\x00xyz", 4), 0);
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen),
	         -EPROTO); /* no name */
	msg_close(&m);
	CHECK_EQ(msg_init_buffer(&m, "\x04PIN", 4), 0);
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen), -EPROTO); /* short */
	msg_close(&m);
	CHECK_EQ(msg_init_buffer(&m, "\x04PING", 5), 0);
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen), 0); /* no data: ok */
	CHECK_EQ(nlen, 4);
	CHECK_EQ(dlen, 0);
	msg_close(&m);
	char longname[257];
	memset(longname, 'A', 256);
	longname[256] = '\0';
	CHECK_EQ(zmtp_command_build(&m, longname, NULL, 0), -EINVAL);
	CHECK_EQ(zmtp_command_build(&m, "", NULL, 0), -EINVAL);
	longname[255] = '\0';
	CHECK_EQ(zmtp_command_build(&m, longname, "d", 1), 0); /* 255 is the longest */
	CHECK_EQ(msg_size(&m), 257);
	CHECK_EQ(zmtp_command_parse(&m, &name, &nlen, &data, &dlen), 0);
	CHECK_EQ(nlen, 255);
	CHECK_EQ(dlen, 1);
	msg_close(&m);
	zn_alloc_fail_after(1, 1);
	int rc = zmtp_command_build(&m, "SUBSCRIBE", longname, 255);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK_EQ(msg_size(&m), 0);
}

static int
refuse(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	(void)arg, (void)name, (void)nlen, (void)val, (void)vlen;
	return -ECANCELED;
}

static void
test_props_malformed(void)
{
	uint8_t buf[64];
	size_t n = zmtp_props_write(buf, sizeof(buf), "A", "xy", 2);
	size_t n2 = zmtp_props_write(buf + n, sizeof(buf) - n, "Bb", "", 0);
	CHECK_EQ(n, 8);
	CHECK_EQ(n2, 7);
	/* Every prefix that does not end on a property boundary is truncated. */
	for (size_t cut = 0; cut <= n + n2; cut++) {
		struct props_seen ps = {0};
		int want = (cut == 0 || cut == n || cut == n + n2) ? 0 : -EPROTO;
		CHECK_EQ(zmtp_props_parse(buf, cut, collect, &ps), want);
	}
	const uint8_t zero_name[] = {0, 0, 0, 0, 0};
	CHECK_EQ(zmtp_props_parse(zero_name, sizeof(zero_name), collect,
	                          &(struct props_seen){0}),
	         -EPROTO);
	const uint8_t top_bit[] = {1, 'a', 0x80, 0, 0, 0};
	CHECK_EQ(zmtp_props_parse(top_bit, sizeof(top_bit), collect,
	                          &(struct props_seen){0}),
	         -EPROTO);
	CHECK_EQ(zmtp_props_parse(buf, n + n2, refuse, NULL), -ECANCELED);
	/* Too small: the size needed, nothing written. */
	uint8_t small[4] = {9, 9, 9, 9};
	CHECK_EQ(zmtp_props_write(small, sizeof(small), "Name", "v", 1), 10);
	CHECK(small[0] == 9 && small[3] == 9);
	CHECK_EQ(zmtp_props_write(small, sizeof(small), "", "v", 1), 0);
}

/* A 64 GiB announce with nothing after it (libzmq's fuzzers capped MAXMSGSIZE at 64 MiB
 * for this): with no limit the decoder holds ZMTP_EAGER_MAX bytes, not 64 GiB, and the
 * direct read it offers fits them. Before the fix the whole size was allocated at once
 * (an abort under ASan, 64 GiB of address space otherwise). */
static void
test_huge_announce_allocates_lazily(void)
{
	static const uint8_t hdr[9] = {0x02, 0, 0, 0, 0x10, 0, 0, 0, 0};
	struct zmtp_decoder d;
	zmtp_decoder_init(&d, -1);
	struct msg m;
	msg_init(&m);
	size_t used = 0;
	CHECK_EQ(zmtp_decoder_feed(&d, hdr, sizeof hdr, &used, &m), 0);
	CHECK_EQ(used, sizeof hdr);
	CHECK(msg_size(&d.msg) <= ZMTP_EAGER_MAX);
	uint8_t *buf;
	size_t len;
	CHECK_EQ(zmtp_decoder_direct(&d, &buf, &len), 1);
	CHECK(len <= ZMTP_EAGER_MAX);
	zmtp_decoder_fini(&d);
}

/* A frame past ZMTP_EAGER_MAX grows as it arrives and comes out whole, fed in chunks
 * and by direct reads alike. */
static void
test_large_frame_grows_whole(void)
{
	const size_t size = ZMTP_EAGER_MAX * 2 + 12345;
	uint8_t *body = malloc(size);
	CHECK(body != NULL);
	for (size_t i = 0; i < size; i++)
		body[i] = (uint8_t)(i * 7 + i / 251);
	for (int direct = 0; direct < 2; direct++) {
		struct zmtp_decoder d;
		zmtp_decoder_init(&d, -1);
		uint8_t hdr[9] = {0x02};
		for (int i = 0; i < 8; i++)
			hdr[1 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
		struct msg m;
		msg_init(&m);
		size_t used = 0, pos = 0;
		CHECK_EQ(zmtp_decoder_feed(&d, hdr, sizeof hdr, &used, &m), 0);
		int rc = 0;
		while (rc == 0) {
			uint8_t *buf;
			size_t len;
			if (direct && zmtp_decoder_direct(&d, &buf, &len)) {
				size_t n = len < 100000 ? len : 100000;
				memcpy(buf, body + pos, n);
				pos += n;
				rc = zmtp_decoder_direct_done(&d, n, &m);
			} else {
				size_t n = size - pos < 65536 ? size - pos : 65536;
				rc = zmtp_decoder_feed(&d, body + pos, n, &used, &m);
				pos += used;
			}
		}
		CHECK_EQ(rc, 1);
		CHECK_EQ(pos, size);
		CHECK_EQ(msg_size(&m), size);
		CHECK(memcmp(msg_data(&m), body, size) == 0);
		msg_close(&m);
		zmtp_decoder_fini(&d);
	}
	free(body);
}

static const struct test tests[] = {
        {"a 64 GiB announce allocates lazily", test_huge_announce_allocates_lazily},
        {"a frame past the eager size grows and arrives whole",
         test_large_frame_grows_whole},
        {"every frame size round-trips fed whole", test_round_trip_whole},
        {"every frame size round-trips fed byte by byte", test_round_trip_bytes},
        {"every frame size round-trips fed in random chunks", test_round_trip_random},
        {"every frame size round-trips with direct reads", test_round_trip_direct},
        {"a long frame with a small size is accepted",
         test_long_frame_small_size_accepted},
        {"multipart and command flags survive the round trip",
         test_multipart_and_commands},
        {"a large body is read directly into the message", test_direct_read_into_message},
        {"reserved flag bits fail with EPROTO", test_reserved_flag_bits_eproto},
        {"a command with MORE fails with EPROTO", test_command_with_more_eproto},
        {"a long size with the top bit fails with EPROTO", test_long_size_top_bit_eproto},
        {"an oversized frame fails with EMSGSIZE before allocating",
         test_oversized_emsgsize_without_allocating},
        {"allocation failure gives ENOMEM and a retry succeeds", test_enomem_then_retry},
        {"small frames need no allocation", test_small_frames_need_no_allocation},
        {"decoder fini releases a half-built message",
         test_decoder_fini_releases_partial},
        {"the encoder writes the spec's exact bytes", test_exact_bytes},
        {"the encoder batches small frames into one iovec",
         test_encoder_batches_small_frames},
        {"the encoder references a large body without copying",
         test_encoder_references_large_body},
        {"the encoder has no space when its slots run out", test_encoder_slots_run_out},
        {"raw bytes go out in order and ENOSPC when too big", test_encoder_raw},
        {"partial writes reproduce the exact byte stream",
         test_partial_writes_exact_stream},
        {"encoder fini releases held messages", test_encoder_fini_releases_held},
        {"a READY command with properties round-trips", test_ready_command_round_trip},
        {"malformed command bodies fail with EPROTO", test_command_parse_malformed},
        {"malformed property lists fail with EPROTO", test_props_malformed},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
