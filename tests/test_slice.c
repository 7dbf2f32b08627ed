/*
 * test_slice: a stream engine that reads a long run of frames lets the messages point
 * into its read buffer (MSG_SLICE, proto/zmtp_codec.c) instead of copying each body
 * out. The buffer must then outlive every such message, never be read into again while
 * one is alive, and a message's bytes must stay its own: these tests hold thousands
 * of received messages across many later reads, write into them, copy them, forward
 * them, and close them after their context has ended.
 */
#include "pipe/msg.h"
#include "platform/rbuf.h"
#include "transport_util.h"

#include "raw_zmtp.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define COUNT 20000 /* 102-byte frames: about 2 MB, 30-odd 64 KiB reads */
#define SIZE  100

/* body_n: message i, n bytes that differ from every other message's. */
static void
body_n(unsigned char *b, int i, size_t n)
{
	for (size_t k = 0; k < n; k++)
		b[k] = (unsigned char)(i * 7 + (int)k);
	memcpy(b, &i, sizeof i);
}

static void
body(unsigned char *b, int i)
{
	body_n(b, i, SIZE);
}

static bool
body_ok_n(zmq_msg_t *m, int i, size_t n)
{
	unsigned char want[1024];
	body_n(want, i, n);
	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), want, n) == 0;
}

static bool
body_ok(zmq_msg_t *m, int i)
{
	return body_ok_n(m, i, SIZE);
}

static void *
open_socket(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	CHECK(s);
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDHWM, 0);
	return s;
}

static void
connect_to(void *from, void *to, const char *transport)
{
	char ep[256];
	size_t len = sizeof ep;
	if (strcmp(transport, "tcp") == 0) {
		CHECK_OK(zmq_bind(to, "tcp://127.0.0.1:*"));
	} else {
		char path[128];
		snprintf(path, sizeof path, "ipc:///tmp/zinc-test-slice-%d-%p",
		         (int)getpid(), to);
		CHECK_OK(zmq_bind(to, path));
	}
	CHECK_OK(zmq_getsockopt(to, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_OK(zmq_connect(from, ep));
}

static void
send_all(void *s)
{
	unsigned char b[SIZE];
	for (int i = 0; i < COUNT; i++) {
		body(b, i);
		CHECK_EQ(zmq_send(s, b, SIZE, 0), SIZE);
	}
}

/* recv_all: every message, held open in msgs[]; the number that are slices. The
 * receiver's high-water mark is small, so its engine stops reading while the sender
 * fills the kernel's buffers, and then reads them in whole 64 KiB runs. */
static int
recv_all(void *s, zmq_msg_t *msgs)
{
	int slices = 0;
	for (int i = 0; i < COUNT; i++) {
		CHECK_OK(zmq_msg_init(&msgs[i]));
		CHECK_EQ(zmq_msg_recv(&msgs[i], s, 0), SIZE);
		if (msg_from_zmq(&msgs[i])->type == MSG_SLICE)
			slices++;
	}
	return slices;
}

static void
check_all(zmq_msg_t *msgs)
{
	for (int i = 0; i < COUNT; i++)
		if (!body_ok(&msgs[i], i))
			TEST_FAIL("message %d changed after it was received", i);
}

static void
close_all(zmq_msg_t *msgs)
{
	for (int i = 0; i < COUNT; i++)
		CHECK_OK(zmq_msg_close(&msgs[i]));
}

/* Every message received in a burst stays intact while thousands more are read after
 * it, over tcp and ipc; most are slices of the read buffers. lift: the receiver's
 * high-water mark is lifted once the kernel holds the flood, so its engine reads on
 * without stopping, each read into the I/O thread's buffer of the moment, which must
 * be a fresh one whenever slices of the last are alive. */
static void
run_held(const char *transport, bool lift)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *push = open_socket(ctx, ZMQ_PUSH);
	void *pull = open_socket(ctx, ZMQ_PULL);
	set_int(pull, ZMQ_RCVHWM, 4);
	set_int(pull, ZMQ_RCVBUF, 1 << 20);
	connect_to(push, pull, transport);
	zmq_msg_t *msgs = calloc(COUNT, sizeof *msgs);
	CHECK(msgs);

	send_all(push);
	if (lift)
		set_int(pull, ZMQ_RCVHWM, 0);
	int slices = recv_all(pull, msgs);
	if (slices < COUNT / 2)
		TEST_FAIL("%s: only %d of %d messages were slices", transport, slices,
		          COUNT);
	check_all(msgs);
	close_all(msgs);
	free(msgs);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_held_tcp(void)
{
	run_held("tcp", false);
}

static void
test_held_unbounded(void)
{
	run_held("tcp", true);
}

static void
test_held_ipc(void)
{
	run_held("ipc", false);
}

/* A slice is not shared until copied; writing into one leaves its neighbours (the next
 * frames of the same buffer) alone; a copy sees the same bytes. The messages then go
 * out again through another connection and arrive intact. The last ones are closed
 * after their context has ended. */
static void
test_write_copy_forward(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *push = open_socket(ctx, ZMQ_PUSH);
	void *pull = open_socket(ctx, ZMQ_PULL);
	void *push2 = open_socket(ctx, ZMQ_PUSH);
	void *pull2 = open_socket(ctx, ZMQ_PULL);
	set_int(pull, ZMQ_RCVHWM, 4);
	set_int(pull, ZMQ_RCVBUF, 1 << 20);
	connect_to(push, pull, "tcp");
	connect_to(push2, pull2, "tcp");
	zmq_msg_t *msgs = calloc(COUNT, sizeof *msgs);
	CHECK(msgs);

	send_all(push);
	CHECK(recv_all(pull, msgs) >= COUNT / 2);
	int first = -1;
	for (int i = 0; i < COUNT - 1 && first < 0; i++)
		if (msg_from_zmq(&msgs[i])->type == MSG_SLICE &&
		    msg_from_zmq(&msgs[i + 1])->type == MSG_SLICE)
			first = i;
	CHECK(first >= 0);

	/* Not shared; written in place, the next frame is untouched. */
	CHECK_EQ(zmq_msg_get(&msgs[first], ZMQ_SHARED), 0);
	memset(zmq_msg_data(&msgs[first]), 0xab, SIZE);
	CHECK(body_ok(&msgs[first + 1], first + 1));
	body(zmq_msg_data(&msgs[first]), first);

	/* A copy shares the bytes, and says so on both sides. */
	zmq_msg_t copy;
	CHECK_OK(zmq_msg_init(&copy));
	CHECK_OK(zmq_msg_copy(&copy, &msgs[first + 1]));
	CHECK_EQ(zmq_msg_get(&copy, ZMQ_SHARED), 1);
	CHECK_EQ(zmq_msg_get(&msgs[first + 1], ZMQ_SHARED), 1);
	CHECK(body_ok(&copy, first + 1));

	/* Forwarded: the first half goes out as they are (each send takes its
	 * message), and arrives intact. */
	for (int i = 0; i < COUNT / 2; i++)
		CHECK_EQ(zmq_msg_send(&msgs[i], push2, 0), SIZE);
	for (int i = 0; i < COUNT / 2; i++) {
		zmq_msg_t m;
		CHECK_OK(zmq_msg_init(&m));
		CHECK_EQ(zmq_msg_recv(&m, pull2, 0), SIZE);
		if (!body_ok(&m, i))
			TEST_FAIL("forwarded message %d is not what was sent", i);
		CHECK_OK(zmq_msg_close(&m));
	}

	/* The rest outlive their sockets and context. */
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_close(push2));
	CHECK_OK(zmq_close(pull2));
	CHECK_OK(zmq_ctx_term(ctx));
	for (int i = COUNT / 2; i < COUNT; i++)
		if (!body_ok(&msgs[i], i))
			TEST_FAIL("message %d changed after its context ended", i);
	CHECK(body_ok(&copy, first + 1));
	CHECK_OK(zmq_msg_close(&copy));
	for (int i = COUNT / 2; i < COUNT; i++)
		CHECK_OK(zmq_msg_close(&msgs[i]));
	free(msgs);
}

/* raw_flood: a PULL without a high-water mark in a new context (*ctx, *pull), and a
 * raw ZMTP peer that writes n frames of size bytes (body_n) to it in one go: its
 * engine reads on without ever stopping. The peer's fd, to close at the end. */
static int
raw_flood(void **ctx, void **pull, int n, size_t size)
{
	*ctx = zmq_ctx_new();
	CHECK(*ctx);
	*pull = open_socket(*ctx, ZMQ_PULL);
	set_int(*pull, ZMQ_RCVHWM, 0);
	set_int(*pull, ZMQ_RCVBUF, 1 << 20);
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_bind(*pull, "tcp://127.0.0.1:*"));
	CHECK_OK(zmq_getsockopt(*pull, ZMQ_LAST_ENDPOINT, ep, &len));
	int fd = raw_connect(ep);
	raw_hello(fd, "PUSH", 1);

	uint8_t h[9];
	size_t hlen = raw_frame_header(h, false, false, size), frame = hlen + size;
	unsigned char *flood = malloc((size_t)n * frame);
	CHECK(flood);
	for (int i = 0; i < n; i++) {
		unsigned char *f = flood + (size_t)i * frame;
		memcpy(f, h, hlen);
		body_n(f + hlen, i, size);
	}
	CHECK(raw_send(fd, flood, (size_t)n * frame));
	free(flood);
	return fd;
}

/* A raw peer floods a receiver without a high-water mark: each read goes into the I/O
 * thread's buffer of the moment, which must be a fresh one whenever slices of the
 * last are alive. */
static void
test_held_raw_flood(void)
{
	void *ctx, *pull;
	int fd = raw_flood(&ctx, &pull, COUNT, SIZE);
	zmq_msg_t *msgs = calloc(COUNT, sizeof *msgs);
	CHECK(msgs);
	int slices = recv_all(pull, msgs);
	CHECK(slices > 0);
	check_all(msgs);
	close_all(msgs);
	free(msgs);
	close(fd);
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* Messages kept from more long reads than STREAM_SLICE_BUFFERS (256) buffers hold:
 * once that many read buffers are alive, reads are copied out again, so what slices
 * keep alive stays bounded (16 MiB) however many messages a program keeps. 30000
 * frames of 1000 bytes: about 460 reads of 64 KiB, all kept. */
static void
test_slices_bounded(void)
{
	enum { N = 30000, BIG = 1000 };
	void *ctx, *pull;
	int fd = raw_flood(&ctx, &pull, N, BIG);
	zmq_msg_t *msgs = calloc(N, sizeof *msgs);
	CHECK(msgs);
	int slices = 0, last_slice = -1;
	for (int i = 0; i < N; i++) {
		CHECK_OK(zmq_msg_init(&msgs[i]));
		CHECK_EQ(zmq_msg_recv(&msgs[i], pull, 0), BIG);
		if (msg_from_zmq(&msgs[i])->type == MSG_SLICE) {
			slices++;
			last_slice = i;
		}
	}
	/* Slices while the bound allowed, copies after it: not one of the last
	 * thousands is a slice, and no more buffers are alive than the bound and the
	 * I/O thread's own. */
	CHECK(slices > 0);
	CHECK(last_slice < N - 5000);
	CHECK(rbuf_live() <= 256 + 2);
	for (int i = 0; i < N; i++)
		if (!body_ok_n(&msgs[i], i, BIG))
			TEST_FAIL("message %d is not what was sent", i);
	for (int i = 0; i < N; i++)
		CHECK_OK(zmq_msg_close(&msgs[i]));
	free(msgs);
	close(fd);
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
	CHECK_EQ(rbuf_live(), 0);
}

static const struct test tests[] = {
        {"messages held across later reads stay intact (tcp)", test_held_tcp},
        {"messages held across later reads stay intact (ipc)", test_held_ipc},
        {"... and while the engine reads on without stopping", test_held_unbounded},
        {"... and when a raw peer floods a receiver without a high-water mark",
         test_held_raw_flood},
        {"a slice written, copied, forwarded, and closed after its context",
         test_write_copy_forward},
        {"what slices keep alive is bounded", test_slices_bounded},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
