/*
 * test_tcp_large.c: large frames over tcp, which the sending engine writes at most one
 * loopback segment at a time (engine_stream.c, stream_clip) and the receiving one reads
 * straight into the message. A raw ZMTP peer (raw_zmtp.h) sends as a slow peer would:
 * a body in pieces, a small frame right after a large one, a rest in small pieces, a
 * close in the middle of a body. Then zinc to zinc, large and small messages both ways
 * (sizes around the write limit included), over tcp and ipc; and over ipc, the send
 * queue a connection asks of the kernel once it meets a large message
 * (engine_stream.c, stream_grow_queue).
 */
#include "raw_zmtp.h"

#define KIB 1024

/* A pause between two pieces of a body: not a synchronisation (nothing here waits for
 * it), the shape of a slow peer's traffic, so that the receiver has read what came and
 * is waiting for the rest when the next piece arrives. */
#define PIECE_GAP_US 3000

/* begin: a fresh case with its own context. */
static void
begin(void)
{
	case_begin();
	ctx_open();
}

/* pull_with_raw_push: a PULL bound on tcp and a raw PUSH peer connected to it, the
 * NULL handshake done. */
static int
pull_with_raw_push(void **pull)
{
	char ep[256];
	*pull = sock_open(ZMQ_PULL);
	bind_fresh(*pull, TCP, ep, sizeof ep);
	int fd = fd_track(raw_connect(ep));
	raw_hello(fd, "PUSH", 1);
	return fd;
}

/* send_body: the body of a frame whose header was sent, from offset `from` to `to`,
 * in pieces of `piece` bytes with a gap between them. */
static void
send_body(int fd, const unsigned char *body, size_t from, size_t to, size_t piece)
{
	for (size_t off = from; off < to; off += piece) {
		size_t n = to - off < piece ? to - off : piece;
		CHECK(raw_send(fd, body + off, n));
		usleep(PIECE_GAP_US);
	}
}

static void
recv_expect(void *s, size_t size)
{
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_recv(&m, s, 0), (int)size);
	CHECK(memcmp(zmq_msg_data(&m), pattern(size), size) == 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
send_header(int fd, size_t size)
{
	uint8_t h[9];
	size_t hl = raw_frame_header(h, false, false, size);
	CHECK(raw_send(fd, h, hl));
}

/* A body in pieces, then at once a small frame, which must not wait behind it. */
static void
body_in_pieces_then_small(void)
{
	begin();
	void *pull;
	int fd = pull_with_raw_push(&pull);
	size_t big = 600 * KIB;
	send_header(fd, big);
	send_body(fd, pattern(big), 0, big, 50 * KIB);
	recv_expect(pull, big);
	CHECK(raw_frame(fd, false, false, pattern(5), 5));
	recv_expect(pull, 5);
	/* A large frame and a small one in one write. */
	size_t mid = 300 * KIB;
	send_header(fd, mid);
	CHECK(raw_send(fd, pattern(mid), mid));
	CHECK(raw_frame(fd, false, false, pattern(7), 7));
	recv_expect(pull, mid);
	recv_expect(pull, 7);
}

/* The rest of a body comes in many small pieces; two large frames back to back. */
static void
rest_in_small_pieces(void)
{
	begin();
	void *pull;
	int fd = pull_with_raw_push(&pull);
	size_t big = 1024 * KIB;
	send_header(fd, big);
	send_body(fd, pattern(big), 0, 100 * KIB, 100 * KIB);
	send_body(fd, pattern(big), 100 * KIB, big, 20 * KIB);
	recv_expect(pull, big);
	/* Two large frames back to back, the second's header and a little of its
	 * body in the same piece as the end of the first. */
	size_t a = 400 * KIB, b = 500 * KIB;
	send_header(fd, a);
	send_body(fd, pattern(a), 0, a - 1000, 64 * KIB);
	CHECK(raw_send(fd, pattern(a) + a - 1000, 1000));
	send_header(fd, b);
	send_body(fd, pattern(b), 0, b, 30 * KIB);
	recv_expect(pull, a);
	recv_expect(pull, b);
}

/* The peer closes in the middle of a large body: the engine sees it. */
static void
close_mid_body(void)
{
	begin();
	char ep[256];
	void *pull = sock_open(ZMQ_PULL);
	void *mon = monitor_open(pull, ZMQ_EVENT_DISCONNECTED);
	bind_fresh(pull, TCP, ep, sizeof ep);
	int fd = raw_connect(ep);
	raw_hello(fd, "PUSH", 1);
	size_t big = 1024 * KIB;
	send_header(fd, big);
	send_body(fd, pattern(big), 0, 300 * KIB, 100 * KIB);
	close(fd);
	monitor_expect(mon, ZMQ_EVENT_DISCONNECTED, NULL, NULL, 0);
	CHECK(!readable(pull, 0));
}

/* both_ways: zinc to zinc over t, the n sizes sent both ways, then received: in
 * order and whole. */
static void
both_ways(enum tr t, const size_t *sizes, size_t n)
{
	begin();
	char ep[256];
	void *a = sock_open(ZMQ_PAIR), *b = sock_open(ZMQ_PAIR);
	bind_fresh(a, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(b, ep));
	int rounds = quick ? 2 : 20;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++) {
			CHECK_EQ(zmq_send(a, pattern(sizes[i]), sizes[i], 0),
			         (int)sizes[i]);
			CHECK_EQ(zmq_send(b, pattern(sizes[i]), sizes[i], 0),
			         (int)sizes[i]);
		}
		for (size_t i = 0; i < n; i++) {
			recv_expect(b, sizes[i]);
			recv_expect(a, sizes[i]);
		}
	}
}

/* Sizes around tcp's write limit (one loopback segment, 65483 bytes). */
static void
zinc_both_ways(void)
{
	static const size_t sizes[] = {64 * KIB, 5,          200 * KIB, 65483,
	                               65484,    1024 * KIB, 1,         130 * KIB};
	both_ways(TCP, sizes, sizeof sizes / sizeof *sizes);
}

/* Sizes around ipc's write limit (32 KiB), and large enough for the Unix socket's
 * send queue to be grown. */
static void
zinc_both_ways_ipc(void)
{
	static const size_t sizes[] = {64 * KIB, 5,          200 * KIB, 32768,
	                               32769,    1024 * KIB, 1,         700 * KIB};
	both_ways(IPC, sizes, sizeof sizes / sizeof *sizes);
}

/* wmem_max: the most SO_SNDBUF the kernel grants an unprivileged socket. */
static long
wmem_max(void)
{
	long v = 0;
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
	CHECK(f);
	CHECK_EQ(fscanf(f, "%ld", &v), 1);
	fclose(f);
	return v;
}

/* sndbuf_after: `from` sends a message of size bytes to `to`, which answers with one
 * byte; the SO_SNDBUF of from's connection (its ZMQ_SRCFD) once the answer is in, so
 * after the large message went out whole. */
static int
sndbuf_after(void *from, void *to, size_t size)
{
	CHECK_EQ(zmq_send(from, pattern(size), size, 0), (int)size);
	recv_expect(to, size);
	CHECK_EQ(zmq_send(to, pattern(1), 1, 0), 1);
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_recv(&m, from, 0), 1);
	int fd = zmq_msg_get(&m, ZMQ_SRCFD);
	CHECK(fd >= 0);
	CHECK_OK(zmq_msg_close(&m));
	int v = 0;
	socklen_t len = sizeof v;
	CHECK_EQ(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	return v;
}

/* A connection's send queue stays at the kernel's default while its messages fit it
 * twice over, grows to hold two of a 1 MiB message once one is sent (as far as
 * net.core.wmem_max lets it: SO_SNDBUF reports twice what was asked), and is left
 * alone when the application set ZMQ_SNDBUF. */
static void
ipc_queue_grows(void)
{
	begin();
	char ep[256];
	void *a = sock_open(ZMQ_PAIR), *b = sock_open(ZMQ_PAIR);
	bind_fresh(a, IPC, ep, sizeof ep);
	CHECK_OK(zmq_connect(b, ep));
	int before = sndbuf_after(a, b, 1);
	CHECK_EQ(sndbuf_after(a, b, 64 * KIB), before);
	CHECK_EQ(sndbuf_after(a, b, 100 * KIB), before);
	long want = 1024 * KIB < wmem_max() ? 1024 * KIB : wmem_max();
	long grown = 2 * want > before ? 2 * want : before;
	CHECK_EQ(sndbuf_after(a, b, 1024 * KIB), grown);
	CHECK_EQ(sndbuf_after(a, b, 64 * KIB), grown); /* never lowered */

	void *c = sock_open(ZMQ_PAIR), *d = sock_open(ZMQ_PAIR);
	set_int(c, ZMQ_SNDBUF, 100000);
	bind_fresh(c, IPC, ep, sizeof ep);
	CHECK_OK(zmq_connect(d, ep));
	before = sndbuf_after(c, d, 1);
	CHECK_EQ(sndbuf_after(c, d, 1024 * KIB), before);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	        {"body_in_pieces_then_small", body_in_pieces_then_small},
	        {"rest_in_small_pieces", rest_in_small_pieces},
	        {"close_mid_body", close_mid_body},
	        {"zinc_both_ways", zinc_both_ways},
	        {"zinc_both_ways_ipc", zinc_both_ways_ipc},
	        {"ipc_queue_grows", ipc_queue_grows},
	        {NULL, NULL},
	};
	return transport_main(argc, argv, tests, 1024 * KIB, 1024 * KIB);
}
