/*
 * test_read_buffer: the engines of an I/O thread read into one shared buffer, and an
 * engine whose pipe fills up keeps the bytes it has not decoded yet (it takes the
 * buffer over, and the thread reads on into another) while other connections of the
 * thread read on. Public API only.
 */
#include "testutil.h"
#include "zmq.h"

#include <stdint.h>

#define COUNT   5000 /* 5000 frames of 21 bytes: more than one 64 KiB read */
#define WAIT_MS 10000

static void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

/* body: message i of stream tag, 20 bytes. */
static void
body(char *b, char tag, int i)
{
	memset(b, tag, 20);
	memcpy(b + 1, &i, sizeof i);
}

static void
send_all(void *s, char tag)
{
	char b[20];
	for (int i = 0; i < COUNT; i++) {
		body(b, tag, i);
		CHECK_EQ(zmq_send(s, b, sizeof b, 0), 20);
	}
}

/* recv_range: messages from..to-1 of stream tag, in order and intact. */
static void
recv_range(void *s, char tag, int from, int to)
{
	char b[32], want[20];
	for (int i = from; i < to; i++) {
		body(want, tag, i);
		CHECK_EQ(zmq_recv(s, b, sizeof b, 0), 20);
		if (memcmp(b, want, 20) != 0)
			TEST_FAIL("stream %c: message %d is not what was sent", tag, i);
	}
}

static void *
pair_open(void *ctx, int type, int rcvhwm)
{
	void *s = zmq_socket(ctx, type);
	CHECK(s);
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDHWM, 0);
	set_int(s, ZMQ_RCVHWM, rcvhwm);
	return s;
}

static void
connect_to(void *from, void *to)
{
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_bind(to, "tcp://127.0.0.1:*"));
	CHECK_OK(zmq_getsockopt(to, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_OK(zmq_connect(from, ep));
}

/* A connection whose pipe is full holds undecoded input while another connection of
 * the same I/O thread reads a whole stream through the shared buffer; both streams
 * arrive intact and in order. */
static void
test_held_input_survives_other_reads(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1));
	void *push_a = pair_open(ctx, ZMQ_PUSH, 0);
	void *pull_a = pair_open(ctx, ZMQ_PULL, 2); /* fills at once: input stops */
	void *push_b = pair_open(ctx, ZMQ_PUSH, 0);
	void *pull_b = pair_open(ctx, ZMQ_PULL, 0);
	connect_to(push_a, pull_a);
	connect_to(push_b, pull_b);

	send_all(push_a, 'A');
	/* The first message proves A's engine has read; its pipe is full again at
	 * once, with the rest of the read held back. */
	recv_range(pull_a, 'A', 0, 1);
	send_all(push_b, 'B');
	recv_range(pull_b, 'B', 0, COUNT);
	recv_range(pull_a, 'A', 1, COUNT);
	CHECK_OK(zmq_close(push_a));
	CHECK_OK(zmq_close(pull_a));
	CHECK_OK(zmq_close(push_b));
	CHECK_OK(zmq_close(pull_b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {{"held input survives other connections' reads",
                                     test_held_input_survives_other_reads},
                                    {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
