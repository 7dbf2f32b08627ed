/*
 * test_iov.c: zmq_sendiov and zmq_recviov, the scatter/gather calls. zmq_sendiov sends
 * the vector as one multi-part message: ZMQ_SNDMORE in its flags applies to every part
 * but the last, so the message is complete when the call returns (libzmq 4.3); it
 * returns the size of the last part. zmq_recviov receives up to *count parts into
 * malloc'd buffers the caller frees, sets *count and returns how many parts it read.
 */
#include <stdlib.h>
#include <sys/uio.h>

#include "testutil.h"
#include "zmq.h"

#define PARTS 10

struct pair {
	void *ctx, *push, *pull;
};

/* pair_open: PUSH connected to PULL over inproc; the PULL end gives up after a second
 * so that a message left incomplete fails the test instead of hanging it. */
static void
pair_open(struct pair *p)
{
	p->ctx = zmq_ctx_new();
	CHECK(p->ctx);
	p->pull = zmq_socket(p->ctx, ZMQ_PULL);
	p->push = zmq_socket(p->ctx, ZMQ_PUSH);
	CHECK(p->pull && p->push);
	int timeout = 1000;
	CHECK_OK(zmq_setsockopt(p->pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
	CHECK_OK(zmq_bind(p->pull, "inproc://iov"));
	CHECK_OK(zmq_connect(p->push, "inproc://iov"));
}

static void
pair_close(struct pair *p)
{
	CHECK_OK(zmq_close(p->push));
	CHECK_OK(zmq_close(p->pull));
	CHECK_OK(zmq_ctx_term(p->ctx));
}

/* send_and_receive: PARTS parts of `size` bytes each, sent with `flags`, must arrive as
 * one message of PARTS parts. */
static void
send_and_receive(struct pair *p, size_t size, int flags)
{
	char buf[PARTS][128];
	struct iovec out[PARTS], in[PARTS];
	for (int i = 0; i < PARTS; i++) {
		memset(buf[i], 'a' + i, size);
		out[i].iov_base = buf[i];
		out[i].iov_len = size;
	}
	CHECK_EQ(zmq_sendiov(p->push, out, PARTS, flags), size);

	size_t count = PARTS;
	CHECK_EQ(zmq_recviov(p->pull, in, &count, 0), PARTS);
	CHECK_EQ(count, PARTS);
	for (int i = 0; i < PARTS; i++) {
		CHECK_EQ(in[i].iov_len, size);
		CHECK(memcmp(in[i].iov_base, buf[i], size) == 0);
		free(in[i].iov_base);
	}
	int more = 1;
	size_t len = sizeof more;
	CHECK_OK(zmq_getsockopt(p->pull, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 0);
}

static void
test_sendiov_completes_the_message(void)
{
	struct pair p;
	pair_open(&p);
	send_and_receive(&p, 100, 0);
	send_and_receive(&p, 10, 0);
	pair_close(&p);
}

/* The hang of libzmq's test_iov: with ZMQ_SNDMORE the last part still ends the message.
 */
static void
test_sendiov_sndmore_still_ends_the_message(void)
{
	struct pair p;
	pair_open(&p);
	send_and_receive(&p, 100, ZMQ_SNDMORE);
	send_and_receive(&p, 10, ZMQ_SNDMORE);
	pair_close(&p);
}

/* recviov stops at *count parts; the rest of the message stays readable. */
static void
test_recviov_stops_at_count(void)
{
	struct pair p;
	pair_open(&p);
	struct iovec out[3] = {{"one", 3}, {"two", 3}, {"three", 5}}, in[2];
	CHECK_EQ(zmq_sendiov(p.push, out, 3, 0), 5);
	size_t count = 2;
	CHECK_EQ(zmq_recviov(p.pull, in, &count, 0), 2);
	CHECK_EQ(count, 2);
	CHECK(in[0].iov_len == 3 && memcmp(in[0].iov_base, "one", 3) == 0);
	CHECK(in[1].iov_len == 3 && memcmp(in[1].iov_base, "two", 3) == 0);
	free(in[0].iov_base);
	free(in[1].iov_base);
	count = 2;
	CHECK_EQ(zmq_recviov(p.pull, in, &count, 0), 1);
	CHECK_EQ(count, 1);
	CHECK(in[0].iov_len == 5 && memcmp(in[0].iov_base, "three", 5) == 0);
	free(in[0].iov_base);
	pair_close(&p);
}

static void
test_iov_errors(void)
{
	struct pair p;
	pair_open(&p);
	struct iovec v[1] = {{"x", 1}};
	size_t count = 1, zero = 0;
	CHECK_ERR(zmq_sendiov(NULL, v, 1, 0), ENOTSOCK);
	CHECK_ERR(zmq_sendiov(p.push, v, 0, 0), EINVAL);
	CHECK_ERR(zmq_sendiov(p.push, NULL, 1, 0), EINVAL);
	CHECK_ERR(zmq_recviov(NULL, v, &count, 0), ENOTSOCK);
	CHECK_ERR(zmq_recviov(p.pull, v, NULL, 0), EINVAL);
	CHECK_ERR(zmq_recviov(p.pull, v, &zero, 0), EINVAL);
	CHECK_ERR(zmq_recviov(p.pull, NULL, &count, 0), EINVAL);
	CHECK_ERR(zmq_recviov(p.pull, v, &count, ZMQ_DONTWAIT), EAGAIN);
	CHECK_EQ(count, 0);
	pair_close(&p);
}

static const struct test tests[] = {
        {"sendiov sends one complete message", test_sendiov_completes_the_message},
        {"sendiov with SNDMORE still ends the message",
         test_sendiov_sndmore_still_ends_the_message},
        {"recviov stops at count", test_recviov_stops_at_count},
        {"iov argument errors", test_iov_errors},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
