/*
 * test_shortcut.c: the socket's thread writing a tcp or ipc connection itself while its
 * I/O thread is idle (pipe/shortcut.h, proto/engine_shortcut.c). What must hold
 * whichever road a message takes: every part arrives, whole, in order, with its MORE
 * flags; a message the kernel takes only in part is finished by the I/O thread before
 * anything after it; a connection that ends under a direct write loses no more than
 * the messages in flight, and the socket reconnects. And the other way: a receive
 * that borrows the connection's reading takes only whole messages, leaves commands
 * and the end of the stream to the engine, and gives the reading back. Between the
 * receives of an exchange the reading stays with the socket's thread (kept): whatever
 * that thread does next instead of receiving (zmq_poll, ZMQ_FD, a receive on a socket
 * that gained a second peer, nothing at all) must still see what arrives.
 *
 * The shortcut is taken only by a send that finds the I/O thread idle and the last
 * direct write 20 us or more ago, so the senders here pause now and then
 * (pause_for_shortcut) to make sure both roads are exercised; the pauses are not
 * synchronisation, and the assertions hold without them.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"
#include "transport_util.h"
#include "zmq.h"

#include <poll.h>

#define ROUNDS 600

/* pause_for_shortcut: long enough for the engine to go idle and the shortcut's gap to
 * pass, so that the next send is a direct write. */
static void
pause_for_shortcut(void)
{
	struct timespec ts = {0, 50 * 1000};
	nanosleep(&ts, NULL);
}

/* fill: part `part` of message `seq`, `size` bytes of a pattern both can compute. */
static void
fill(unsigned char *buf, size_t size, int seq, int part)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)(seq * 31 + part * 7 + i);
}

/* shape: the parts and sizes of message seq: 1 to 3 parts, 0 to ~12 KiB each, so that
 * some are too large for the shortcut (8 KiB) and go by the I/O thread. */
static int
shape(int seq, size_t sizes[3])
{
	int parts = 1 + seq % 3;
	for (int p = 0; p < parts; p++)
		sizes[p] = (size_t)((seq * 977 + p * 4099) % 12289);
	if (seq % 5 == 0)
		sizes[0] = 0;
	return parts;
}

static void
send_msg(void *s, int seq)
{
	size_t sizes[3];
	int parts = shape(seq, sizes);
	static unsigned char buf[12289];
	for (int p = 0; p < parts; p++) {
		fill(buf, sizes[p], seq, p);
		CHECK_EQ(zmq_send(s, buf, sizes[p], p + 1 < parts ? ZMQ_SNDMORE : 0),
		         (int)sizes[p]);
	}
}

static void
recv_msg(void *s, int seq)
{
	size_t sizes[3];
	int parts = shape(seq, sizes);
	static unsigned char want[12289];
	for (int p = 0; p < parts; p++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		CHECK_EQ(zmq_msg_recv(&m, s, 0), (int)sizes[p]);
		fill(want, sizes[p], seq, p);
		CHECK(sizes[p] == 0 || memcmp(zmq_msg_data(&m), want, sizes[p]) == 0);
		CHECK_EQ(zmq_msg_more(&m), p + 1 < parts);
		zmq_msg_close(&m);
	}
}

static void *
socket_with_timeout(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	CHECK(s);
	int timeout = 10000 * ZINC_TEST_SLOWDOWN, zero = 0;
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
	CHECK_OK(zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof timeout));
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	return s;
}

/* ping_pong: REQ and REP over `ep`, each request echoed as it came; with heartbeats,
 * the REQ sends a PING every millisecond, which the REP's reads (borrowed by its
 * blocking receives) must leave to its engine, between the messages. */
static void
ping_pong_hb(const char *ep, bool heartbeats)
{
	void *ctx = zmq_ctx_new();
	void *rep = socket_with_timeout(ctx, ZMQ_REP);
	void *req = socket_with_timeout(ctx, ZMQ_REQ);
	if (heartbeats) {
		int ivl = 1, timeout = 5000;
		CHECK_OK(zmq_setsockopt(req, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl));
		CHECK_OK(zmq_setsockopt(req, ZMQ_HEARTBEAT_TIMEOUT, &timeout,
		                        sizeof timeout));
	}
	CHECK_OK(zmq_bind(rep, ep));
	char last[64];
	last_endpoint(rep, last, sizeof last);
	CHECK_OK(zmq_connect(req, last));
	for (int seq = 0; seq < ROUNDS; seq++) {
		if (seq % 4 == 0)
			pause_for_shortcut();
		send_msg(req, seq);
		recv_msg(rep, seq);
		send_msg(rep, seq + 1);
		recv_msg(req, seq + 1);
	}
	CHECK_OK(zmq_close(req));
	CHECK_OK(zmq_close(rep));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
ping_pong(const char *ep)
{
	ping_pong_hb(ep, false);
}

static void
test_ping_pong_heartbeats(void)
{
	ping_pong_hb("tcp://127.0.0.1:*", true);
}

static void
test_ping_pong_ipc(void)
{
	ping_pong("ipc:///tmp/zinc-test-shortcut.ipc");
}

static void
test_ping_pong_tcp(void)
{
	ping_pong("tcp://127.0.0.1:*");
}

/* test_partial_writes: a Unix socket's send buffer of 8 KiB and a receiver that reads
 * only after everything was sent. The engine goes idle once the buffer is half empty
 * (POLLOUT), and a 7000-byte direct write then fits only in part: the rest is left
 * for the I/O thread, and later messages queue behind it. All arrive in order. */
static void
test_partial_writes(void)
{
	void *ctx = zmq_ctx_new();
	void *pull = socket_with_timeout(ctx, ZMQ_PULL);
	void *push = socket_with_timeout(ctx, ZMQ_PUSH);
	int small = 4096, hwm = 2;
	CHECK_OK(zmq_setsockopt(pull, ZMQ_RCVBUF, &small, sizeof small));
	CHECK_OK(zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm));
	CHECK_OK(zmq_setsockopt(push, ZMQ_SNDBUF, &small, sizeof small));
	CHECK_OK(zmq_bind(pull, "ipc:///tmp/zinc-test-shortcut-partial.ipc"));
	CHECK_OK(zmq_connect(push, "ipc:///tmp/zinc-test-shortcut-partial.ipc"));
	/* The connection is up once one message went through. */
	send_msg(push, 0);
	recv_msg(pull, 0);
	enum { N = 300, SIZE = 7000 };
	unsigned char buf[SIZE];
	for (int seq = 1; seq <= N; seq++) {
		pause_for_shortcut();
		fill(buf, SIZE, seq, 0);
		CHECK_EQ(zmq_send(push, buf, SIZE, 0), SIZE);
	}
	for (int seq = 1; seq <= N; seq++) {
		unsigned char want[SIZE];
		fill(want, SIZE, seq, 0);
		CHECK_EQ(zmq_recv(pull, buf, SIZE, 0), SIZE);
		CHECK(memcmp(buf, want, SIZE) == 0);
	}
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* test_peer_restarts: a DEALER sending while its peer's socket closes and another binds
 * the same address: sends never fail or hang, and messages sent once the new peer is
 * connected arrive whole. */
static void
test_peer_restarts(void)
{
	const char *ep = "ipc:///tmp/zinc-test-shortcut-restart.ipc";
	void *ctx = zmq_ctx_new();
	void *dealer = socket_with_timeout(ctx, ZMQ_DEALER);
	CHECK_OK(zmq_connect(dealer, ep));
	for (int round = 0; round < 3; round++) {
		void *router = socket_with_timeout(ctx, ZMQ_ROUTER);
		CHECK_OK(zmq_bind(router, ep));
		/* Until this peer answers, earlier sends may have gone to the last one.
		 */
		for (;;) {
			CHECK_EQ(zmq_send(dealer, "hello", 5, 0), 5);
			zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
			if (zmq_poll(&item, 1, 100) == 1)
				break;
		}
		/* The hellos in flight end with a marker; what follows is the test's. */
		CHECK_EQ(zmq_send(dealer, "synced", 6, 0), 6);
		char id[256], body[16];
		int n;
		do {
			CHECK(zmq_recv(router, id, sizeof id, 0) > 0);
			n = zmq_recv(router, body, sizeof body, 0);
			CHECK(n == 5 || n == 6);
		} while (n != 6);
		for (int seq = 0; seq < 50; seq++) {
			if (seq % 4 == 0)
				pause_for_shortcut();
			send_msg(dealer, seq);
		}
		for (int seq = 0; seq < 50; seq++) {
			CHECK(zmq_recv(router, id, sizeof id, 0) > 0);
			recv_msg(router, seq);
		}
		CHECK_OK(zmq_close(router));
	}
	CHECK_OK(zmq_close(dealer));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* A peer that sends a few messages and closes, while the receiver blocks. */
struct vanishing {
	void *ctx;
	const char *ep;
	bool failed; /* the harness's checks jump, so not in this thread */
};

static void *
vanishing_peer(void *arg)
{
	struct vanishing *v = arg;
	void *push = zmq_socket(v->ctx, ZMQ_PUSH);
	if (!push || zmq_connect(push, v->ep) != 0) {
		v->failed = true;
		return NULL;
	}
	static unsigned char buf[12289];
	for (int seq = 0; seq < 20; seq++) {
		pause_for_shortcut();
		size_t sizes[3];
		int parts = shape(seq, sizes);
		for (int p = 0; p < parts; p++) {
			fill(buf, sizes[p], seq, p);
			if (zmq_send(push, buf, sizes[p],
			             p + 1 < parts ? ZMQ_SNDMORE : 0) != (int)sizes[p])
				v->failed = true;
		}
	}
	/* The receiver has them all only once they left: the default linger waits. The
	 * close may come while the receiver is blocked, or just before. */
	if (zmq_close(push) != 0)
		v->failed = true;
	return NULL;
}

/* test_peer_vanishes: a PULL blocked in zmq_recv (its reading borrowed) sees its only
 * peer close: no crash, no message invented, the wait times out; a new peer's messages
 * arrive. */
static void
test_peer_vanishes(void)
{
	const char *ep = "ipc:///tmp/zinc-test-shortcut-vanish.ipc";
	void *ctx = zmq_ctx_new();
	void *pull = socket_with_timeout(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(pull, ep));
	for (int round = 0; round < 3; round++) {
		struct vanishing v = {ctx, ep, false};
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, vanishing_peer, &v), 0);
		for (int seq = 0; seq < 20; seq++)
			recv_msg(pull, seq);
		CHECK_EQ(pthread_join(t, NULL), 0);
		CHECK(!v.failed);
		int timeout = 200;
		CHECK_OK(zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
		char buf[16];
		CHECK_ERR(zmq_recv(pull, buf, sizeof buf, 0), EAGAIN);
		timeout = 10000 * ZINC_TEST_SLOWDOWN;
		CHECK_OK(zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
	}
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* unbind_then_silence: as libzmq's test_reconnect_ivl: after zmq_unbind returns,
 * nothing more is received from the connections its endpoint accepted, whichever
 * side sends first and however fast (a direct write reaches the peer's kernel at
 * once, and a borrowed read would take it from there). */
static void
unbind_then_silence(const char *bind_ep)
{
	for (int round = 0; round < 20; round++) {
		void *ctx = zmq_ctx_new();
		void *sb = socket_with_timeout(ctx, ZMQ_PAIR);
		void *sc = socket_with_timeout(ctx, ZMQ_PAIR);
		int never = -1, timeout = 100;
		CHECK_OK(zmq_bind(sb, bind_ep));
		char ep[64];
		last_endpoint(sb, ep, sizeof ep);
		CHECK_OK(zmq_setsockopt(sc, ZMQ_RECONNECT_IVL, &never, sizeof never));
		CHECK_OK(zmq_connect(sc, ep));
		char buf[8];
		CHECK_EQ(zmq_send(sc, "ping", 4, 0), 4);
		CHECK_EQ(zmq_recv(sb, buf, sizeof buf, 0), 4);
		CHECK_EQ(zmq_send(sb, "pong", 4, 0), 4);
		CHECK_EQ(zmq_recv(sc, buf, sizeof buf, 0), 4);
		CHECK_OK(zmq_unbind(sb, ep));
		(void)zmq_send(sc, "late", 4, ZMQ_DONTWAIT);
		CHECK_OK(zmq_setsockopt(sb, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
		CHECK_ERR(zmq_recv(sb, buf, sizeof buf, 0), EAGAIN);
		(void)zmq_send(sb, "late", 4, ZMQ_DONTWAIT);
		CHECK_OK(zmq_setsockopt(sc, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
		CHECK_ERR(zmq_recv(sc, buf, sizeof buf, 0), EAGAIN);
		CHECK_OK(zmq_close(sb));
		CHECK_OK(zmq_close(sc));
		CHECK_OK(zmq_ctx_term(ctx));
	}
}

static void
test_unbind_tcp(void)
{
	unbind_then_silence("tcp://127.0.0.1:*");
}

static void
test_unbind_ipc(void)
{
	unbind_then_silence("ipc:///tmp/zinc-test-shortcut-unbind.ipc");
}

/* exchange: a asks, b answers, twice; small enough for the shortcut, so that a's
 * receive, which follows its send, keeps the reading (after a large message the
 * engine reads the next itself: the second time). */
static void
exchange(void *a, void *b)
{
	for (int i = 0; i < 2; i++) {
		char buf[16];
		CHECK_EQ(zmq_send(a, "ask", 3, 0), 3);
		CHECK_EQ(zmq_recv(b, buf, sizeof buf, 0), 3);
		CHECK_EQ(zmq_send(b, "answer", 6, 0), 6);
		CHECK_EQ(zmq_recv(a, buf, sizeof buf, 0), 6);
	}
}

/* A PAIR `a` that asked and was answered a few times over ep: its blocking receives
 * followed its sends, so its connection's reading is kept after the last one (when
 * the shortcut is taken at all; the tests hold either way). */
struct kept {
	void *ctx, *a, *b;
	char ep[64];
};

static void
kept_open(struct kept *k, const char *bind_ep)
{
	k->ctx = zmq_ctx_new();
	k->a = socket_with_timeout(k->ctx, ZMQ_PAIR);
	k->b = socket_with_timeout(k->ctx, ZMQ_PAIR);
	CHECK_OK(zmq_bind(k->b, bind_ep));
	last_endpoint(k->b, k->ep, sizeof k->ep);
	CHECK_OK(zmq_connect(k->a, k->ep));
	for (int seq = 0; seq < 20; seq++) {
		send_msg(k->a, seq);
		recv_msg(k->b, seq);
		send_msg(k->b, seq + 1);
		recv_msg(k->a, seq + 1);
	}
	exchange(k->a, k->b);
}

static void
kept_close(struct kept *k)
{
	if (k->b)
		CHECK_OK(zmq_close(k->b));
	CHECK_OK(zmq_close(k->a));
	CHECK_OK(zmq_ctx_term(k->ctx));
}

/* kept_then_poll: the peer speaks unasked; zmq_poll on the socket sees it. */
static void
kept_then_poll(const char *bind_ep)
{
	struct kept k;
	kept_open(&k, bind_ep);
	for (int seq = 100; seq < 110; seq++) {
		send_msg(k.b, seq);
		zmq_pollitem_t item = {k.a, 0, ZMQ_POLLIN, 0};
		CHECK_EQ(zmq_poll(&item, 1, 10000L * ZINC_TEST_SLOWDOWN), 1);
		recv_msg(k.a, seq);
		exchange(k.a, k.b); /* and the reading kept again */
	}
	kept_close(&k);
}

static void
test_kept_poll_tcp(void)
{
	kept_then_poll("tcp://127.0.0.1:*");
}

static void
test_kept_poll_ipc(void)
{
	kept_then_poll("ipc:///tmp/zinc-test-shortcut-kept.ipc");
}

/* test_kept_fd: an edge-triggered ZMQ_FD user (as pyzmq's asyncio is) is woken for a
 * message that came while the reading was kept. */
static void
test_kept_fd(void)
{
	struct kept k;
	kept_open(&k, "tcp://127.0.0.1:*");
	for (int seq = 100; seq < 110; seq++) {
		send_msg(k.b, seq);
		int fd, events;
		size_t len = sizeof fd;
		CHECK_OK(zmq_getsockopt(k.a, ZMQ_FD, &fd, &len));
		for (;;) {
			len = sizeof events;
			CHECK_OK(zmq_getsockopt(k.a, ZMQ_EVENTS, &events, &len));
			if (events & ZMQ_POLLIN)
				break;
			struct pollfd p = {fd, POLLIN, 0};
			CHECK_EQ(poll(&p, 1, 10000 * ZINC_TEST_SLOWDOWN), 1);
		}
		recv_msg(k.a, seq);
		exchange(k.a, k.b);
	}
	kept_close(&k);
}

/* test_kept_second_peer: the socket gains a second peer; a blocking receive (which
 * no longer borrows) gets what the first peer sent unasked. */
static void
test_kept_second_peer(void)
{
	void *ctx = zmq_ctx_new();
	void *a = socket_with_timeout(ctx, ZMQ_DEALER);
	void *r1 = socket_with_timeout(ctx, ZMQ_DEALER);
	void *r2 = socket_with_timeout(ctx, ZMQ_DEALER);
	char ep1[64], ep2[64];
	CHECK_OK(zmq_bind(r1, "tcp://127.0.0.1:*"));
	last_endpoint(r1, ep1, sizeof ep1);
	CHECK_OK(zmq_bind(r2, "tcp://127.0.0.1:*"));
	last_endpoint(r2, ep2, sizeof ep2);
	CHECK_OK(zmq_connect(a, ep1));
	for (int seq = 0; seq < 20; seq++)
		exchange(a, r1); /* the reading kept */
	CHECK_OK(zmq_connect(a, ep2));
	/* Both peers are attached once r2 has heard from `a` (round-robin). */
	for (int seq = 0;; seq++) {
		CHECK_EQ(zmq_send(a, "x", 1, 0), 1);
		zmq_pollitem_t items[2] = {{r1, 0, ZMQ_POLLIN, 0},
		                           {r2, 0, ZMQ_POLLIN, 0}};
		CHECK(zmq_poll(items, 2, 10000L * ZINC_TEST_SLOWDOWN) > 0);
		char c;
		if (items[0].revents)
			CHECK_EQ(zmq_recv(r1, &c, 1, 0), 1);
		if (items[1].revents) {
			CHECK_EQ(zmq_recv(r2, &c, 1, 0), 1);
			break;
		}
		CHECK(seq < 1000);
	}
	send_msg(r1, 7);
	recv_msg(a, 7);
	send_msg(r2, 8);
	recv_msg(a, 8);
	CHECK_OK(zmq_close(r1));
	CHECK_OK(zmq_close(r2));
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* test_kept_away: the socket's thread does something else entirely (here: waits on
 * another socket) when the peer leaves: the connection's end is still seen, as the
 * monitor's DISCONNECTED says. */
static void
test_kept_away(void)
{
	struct kept k;
	kept_open(&k, "tcp://127.0.0.1:*");
	CHECK_OK(zmq_socket_monitor(k.a, "inproc://kept-mon", ZMQ_EVENT_DISCONNECTED));
	void *mon = zmq_socket(k.ctx, ZMQ_PAIR);
	CHECK(mon);
	CHECK_OK(zmq_connect(mon, "inproc://kept-mon"));
	CHECK_OK(zmq_close(k.b));
	k.b = NULL;
	CHECK_EQ(monitor_next(mon, 10000 * ZINC_TEST_SLOWDOWN, NULL, NULL, 0),
	         ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_close(mon));
	kept_close(&k);
}

/* An echo in its own thread: every message sent back as it came, until "end". */
struct echo {
	void *s;
	bool failed;
};

static void *
echo_peer(void *arg)
{
	struct echo *e = arg;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, e->s, 0) < 0) {
			e->failed = true;
			return NULL;
		}
		bool end =
		        zmq_msg_size(&m) == 3 && memcmp(zmq_msg_data(&m), "end", 3) == 0;
		if (zmq_msg_send(&m, e->s, 0) < 0) {
			zmq_msg_close(&m);
			e->failed = true;
			return NULL;
		}
		if (end)
			return NULL;
	}
}

/* test_two_way_stream: a PAIR that sends and receives with many messages in flight
 * (its receives follow its sends, as in an exchange, but more is always behind the
 * message it reads): every echo comes back, whole and in order. */
static void
test_two_way_stream(void)
{
	void *ctx = zmq_ctx_new();
	void *a = socket_with_timeout(ctx, ZMQ_PAIR);
	struct echo e = {socket_with_timeout(ctx, ZMQ_PAIR), false};
	CHECK_OK(zmq_bind(e.s, "tcp://127.0.0.1:*"));
	char ep[64];
	last_endpoint(e.s, ep, sizeof ep);
	CHECK_OK(zmq_connect(a, ep));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, echo_peer, &e), 0);
	enum { N = 20000, WINDOW = 64 };
	for (int i = 0; i < N + WINDOW; i++) {
		if (i < N)
			CHECK_EQ(zmq_send(a, &i, sizeof i, 0), (int)sizeof i);
		if (i >= WINDOW) {
			int got = -1;
			CHECK_EQ(zmq_recv(a, &got, sizeof got, 0), (int)sizeof got);
			CHECK_EQ(got, i - WINDOW);
		}
	}
	CHECK_EQ(zmq_send(a, "end", 3, 0), 3);
	char buf[8];
	CHECK_EQ(zmq_recv(a, buf, sizeof buf, 0), 3);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(!e.failed);
	CHECK_OK(zmq_close(e.s));
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* A PUSH that streams in bursts with pauses, then sends a few messages far apart. */
struct burster {
	void *s;
	int bursts, per_burst, singles;
};

static void
sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static void *
burst_sender(void *arg)
{
	struct burster *b = arg;
	int seq = 0;
	for (int k = 0; k < b->bursts; k++) {
		for (int i = 0; i < b->per_burst; i++)
			send_msg(b->s, seq++);
		/* Pauses longer than the receive's quiet period, shorter than its
		 * largest: the shape that made a PULL borrow only to hand batches
		 * back. Not synchronisation: any timing must give the same stream. */
		sleep_us(50 + (k % 5) * 60);
	}
	for (int i = 0; i < b->singles; i++) {
		/* Past the raised quiet period's reset (50 ms), so single messages are
		 * read directly again. */
		sleep_us(60 * 1000);
		send_msg(b->s, seq++);
	}
	return NULL;
}

/* test_bursts_then_singles: a PULL fed in bursts with pauses (its waits borrow the
 * reading, wake on a batch, hand it back, and back off), then single messages far
 * apart (read directly again once the back-off has passed): every message arrives,
 * whole and in order, whichever thread read it. */
static void
bursts_then_singles(const char *bind_ep)
{
	void *ctx = zmq_ctx_new();
	void *pull = socket_with_timeout(ctx, ZMQ_PULL);
	struct burster b = {socket_with_timeout(ctx, ZMQ_PUSH), 40, 100, 3};
	CHECK_OK(zmq_bind(pull, bind_ep));
	char ep[64];
	last_endpoint(pull, ep, sizeof ep);
	CHECK_OK(zmq_connect(b.s, ep));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, burst_sender, &b), 0);
	int total = b.bursts * b.per_burst + b.singles;
	for (int seq = 0; seq < total; seq++)
		recv_msg(pull, seq);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_OK(zmq_close(b.s));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_bursts_then_singles_ipc(void)
{
	bursts_then_singles("ipc:///tmp/zinc-test-shortcut-bursts.ipc");
}

static void
test_bursts_then_singles_tcp(void)
{
	bursts_then_singles("tcp://127.0.0.1:*");
}

static const struct test tests[] = {
        {"REQ/REP ping-pong over ipc, every shape", test_ping_pong_ipc},
        {"REQ/REP ping-pong over tcp, every shape", test_ping_pong_tcp},
        {"REQ/REP ping-pong, PINGs between the messages", test_ping_pong_heartbeats},
        {"partial direct writes finished in order", test_partial_writes},
        {"a blocked receiver's peer vanishes", test_peer_vanishes},
        {"a peer that restarts under direct writes", test_peer_restarts},
        {"nothing arrives after zmq_unbind, tcp", test_unbind_tcp},
        {"nothing arrives after zmq_unbind, ipc", test_unbind_ipc},
        {"kept reading: zmq_poll sees what came, tcp", test_kept_poll_tcp},
        {"kept reading: zmq_poll sees what came, ipc", test_kept_poll_ipc},
        {"kept reading: ZMQ_FD is raised for what came", test_kept_fd},
        {"kept reading: a second peer, a blocking receive", test_kept_second_peer},
        {"kept reading: the peer leaves while the thread is away", test_kept_away},
        {"a two-way stream on one pipe, in order", test_two_way_stream},
        {"a PULL fed in bursts, then single messages, ipc", test_bursts_then_singles_ipc},
        {"a PULL fed in bursts, then single messages, tcp", test_bursts_then_singles_tcp},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
