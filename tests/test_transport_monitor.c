/*
 * test_transport_monitor.c: zmq_socket_monitor events and ZMTP heartbeats over tcp://
 * and ipc://, zinc against zinc in one process, plus a raw ZMTP peer written here (it
 * completes the greeting, sends READY and then stays silent).
 *
 * Events are read in libzmq's two-frame format (transport_util.h: monitor_next).
 * Waits are zmq_poll / poll(2) with a deadline, never sleeps. An argument runs only the
 * cases whose name contains it. Public zmq.h API only; to see what libzmq does:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_transport_monitor.c -lzmq -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "transport_util.h"

#include <poll.h>

#define HB_IVL_MS     100
#define HB_TIMEOUT_MS 300
#define HB_DETECT_MS                                                                     \
	(3000 * ZINC_TEST_SLOWDOWN) /* a silent peer is dropped within this */
#define HB_HEALTHY_MS 1000          /* peers that answer must stay connected this long */

/* expect_ep: the next event is `event` on endpoint ep; returns its value. */
#define expect_ep(mon, event, ep) expect_ep_at(__LINE__, mon, event, ep)

static int
expect_ep_at(int line, void *mon, int event, const char *ep)
{
	int v = -1;
	char got[512];
	int ev = monitor_next(mon, WAIT_MS, &v, got, sizeof got);
	if (ev != event)
		TEST_FAIL("line %d: expected event 0x%x, got 0x%x", line, event, ev);
	CHECK_STR(got, ep);
	return v;
}

/* expect_connected: [CONNECT_DELAYED (EINPROGRESS)] then CONNECTED (an fd) on ep. */
static void
expect_connected(void *mon, const char *ep)
{
	int v = -1;
	char got[512];
	int ev = monitor_next(mon, WAIT_MS, &v, got, sizeof got);
	if (ev == ZMQ_EVENT_CONNECT_DELAYED) {
		CHECK_STR(got, ep);
		CHECK_EQ(v, EINPROGRESS);
		ev = monitor_next(mon, WAIT_MS, &v, got, sizeof got);
	}
	if (ev != ZMQ_EVENT_CONNECTED)
		TEST_FAIL("monitor: expected CONNECTED, got 0x%x", ev);
	CHECK_STR(got, ep);
	CHECK(v >= 0);
}

/* no_event: nothing arrives on mon within ms. */
static void
no_event(void *mon, int ms)
{
	int v;
	char got[512];
	int ev = monitor_next(mon, ms, &v, got, sizeof got);
	if (ev != 0)
		TEST_FAIL("monitor: unexpected event 0x%x (value %d, \"%s\")", ev, v,
		          got);
}

/* poll_with: waits up to ms for mon to be readable while polling s as well, so that s
 * runs its commands meanwhile: in libzmq an accepted connection ends only once its
 * socket has acknowledged the end of the pipe. true when mon became readable. */
static bool
poll_with(void *mon, void *s, int ms)
{
	zmq_pollitem_t items[2] = {{mon, 0, ZMQ_POLLIN, 0}, {s, 0, ZMQ_POLLIN, 0}};
	long long deadline = test_now_ms() + ms;
	for (;;) {
		long long left = deadline - test_now_ms();
		CHECK(zmq_poll(items, 2, left > 0 ? (long)left : 0) >= 0);
		if (items[0].revents & ZMQ_POLLIN)
			return true;
		if (left <= 0)
			return false;
	}
}

/* The whole life of a binder (PULL) and two connecters (PUSH), every event checked in
 * order: the binder's LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED, DISCONNECTED when its
 * peer closes and CLOSED after unbind; the connecters'
 * [CONNECT_DELAYED,] CONNECTED, HANDSHAKE_SUCCEEDED and DISCONNECTED when the binder
 * goes. (A PAIR binder could refuse the second connecter if it came before the binder
 * had let go of the first.) */
static void
test_monitor_events(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_PULL), *c = sock_open(ZMQ_PUSH);
	void *mb = monitor_open(b, ZMQ_EVENT_ALL), *mc = monitor_open(c, ZMQ_EVENT_ALL);
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	CHECK(expect_ep(mb, ZMQ_EVENT_LISTENING, ep) >= 0);

	CHECK_OK(zmq_connect(c, ep));
	expect_connected(mc, ep);
	CHECK_EQ(expect_ep(mc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	CHECK(expect_ep(mb, ZMQ_EVENT_ACCEPTED, ep) >= 0);
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	send_str(c, "up", 0);
	recv_str(b, "up");
	no_event(mb, 0);
	no_event(mc, 0);

	/* The connecter goes: the binder sees its connection end. */
	sock_close(c);
	CHECK(expect_ep(mb, ZMQ_EVENT_DISCONNECTED, ep) >= 0);
	no_event(mb, 50);

	/* A second connecter; then the binder unbinds, which also ends the connections
	 * it accepted: CLOSED on the binder, DISCONNECTED on the connecter. */
	void *c2 = sock_open(ZMQ_PUSH);
	set_int(c2, ZMQ_RECONNECT_IVL, -1); /* no retries to wait for after the end */
	void *mc2 = monitor_open(c2, ZMQ_EVENT_ALL);
	CHECK_OK(zmq_connect(c2, ep));
	expect_connected(mc2, ep);
	CHECK_EQ(expect_ep(mc2, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	CHECK(expect_ep(mb, ZMQ_EVENT_ACCEPTED, ep) >= 0);
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	send_str(c2, "again", 0);
	recv_str(b, "again");
	CHECK_OK(zmq_unbind(b, ep));
	CHECK(expect_ep(mb, ZMQ_EVENT_CLOSED, ep) >= 0);
	CHECK(poll_with(mc2, b, WAIT_MS));
	CHECK(expect_ep(mc2, ZMQ_EVENT_DISCONNECTED, ep) >= 0);
	/* As in libzmq, the connection that the unbind ended is not reported. */
	if (poll_with(mb, b, 50))
		no_event(mb, 0); /* fails, naming the event */
	ctx_close();
}
BOTH(test_monitor_events)

/* Closing a monitored socket: the events of its own ending come before
 * MONITOR_STOPPED, as in libzmq (which stops the monitor when the socket is freed):
 * the binder's CLOSED (the listening fd, the value LISTENING gave) and then
 * MONITOR_STOPPED (0, no endpoint); the socket's own connections are not reported
 * DISCONNECTED. The connecter sees DISCONNECTED, CONNECT_RETRIED (the interval and its
 * jitter), and MONITOR_STOPPED when it closes in turn. */
static void
test_monitor_close_order(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_DEALER), *c = sock_open(ZMQ_DEALER);
	set_int(b, ZMQ_LINGER, 0);
	set_int(c, ZMQ_LINGER, 0);
	set_int(c, ZMQ_RECONNECT_IVL, 200);
	void *mb = monitor_open(b, ZMQ_EVENT_ALL), *mc = monitor_open(c, ZMQ_EVENT_ALL);
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	int lfd = expect_ep(mb, ZMQ_EVENT_LISTENING, ep);
	CHECK(lfd >= 0);
	CHECK_OK(zmq_connect(c, ep));
	expect_connected(mc, ep);
	CHECK_EQ(expect_ep(mc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	CHECK(expect_ep(mb, ZMQ_EVENT_ACCEPTED, ep) >= 0);
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep), 0);
	send_str(c, "ping", 0);
	recv_str(b, "ping");

	sock_close(b);
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_CLOSED, ep), lfd);
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_MONITOR_STOPPED, ""), 0);
	no_event(mb, 50);
	CHECK(expect_ep(mc, ZMQ_EVENT_DISCONNECTED, ep) >= 0);
	/* The interval, plus libzmq's random part of up to one interval. */
	int retry = expect_ep(mc, ZMQ_EVENT_CONNECT_RETRIED, ep);
	CHECK(retry >= 200 && retry < 400);
	sock_close(c);
	/* A retry may have run before the close: ECONNREFUSED-type events are
	 * CONNECT_DELAYED / CLOSED / CONNECT_RETRIED; MONITOR_STOPPED ends it. */
	int v, ev;
	char got[512];
	while ((ev = monitor_next(mc, WAIT_MS, &v, got, sizeof got)) !=
	       ZMQ_EVENT_MONITOR_STOPPED) {
		if (ev != ZMQ_EVENT_CONNECT_DELAYED && ev != ZMQ_EVENT_CLOSED &&
		    ev != ZMQ_EVENT_CONNECT_RETRIED)
			TEST_FAIL(
			        "connecter: unexpected event 0x%x before MONITOR_STOPPED",
			        ev);
	}
	CHECK_EQ(v, 0);
	ctx_close();
}
BOTH(test_monitor_close_order)

/* zmq_socket_monitor(s, NULL, 0) stops monitoring: MONITOR_STOPPED (value 0, no
 * endpoint), then nothing, whatever the socket does. */
static void
test_monitor_stop(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_PULL), *c = sock_open(ZMQ_PUSH);
	void *mb = monitor_open(b, ZMQ_EVENT_ALL);
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	expect_ep(mb, ZMQ_EVENT_LISTENING, ep);
	CHECK_OK(zmq_socket_monitor(b, NULL, 0));
	CHECK_EQ(expect_ep(mb, ZMQ_EVENT_MONITOR_STOPPED, ""), 0);
	CHECK_OK(zmq_connect(c, ep));
	send_str(c, "x", 0);
	recv_str(b, "x");
	CHECK_OK(zmq_unbind(b, ep));
	if (poll_with(mb, b, 100))
		no_event(mb, 0); /* fails, naming the event */
	ctx_close();
}
BOTH(test_monitor_stop)

/* A connection the socket ends itself (zmq_disconnect) is not reported as
 * DISCONNECTED: in libzmq that event means the peer or the network ended it. */
static void
test_monitor_disconnect_silent(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_PULL), *c = sock_open(ZMQ_PUSH);
	void *mc = monitor_open(c, ZMQ_EVENT_ALL);
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(c, ep));
	expect_connected(mc, ep);
	expect_ep(mc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	send_str(c, "x", 0);
	recv_str(b, "x");
	CHECK_OK(zmq_disconnect(c, ep));
	if (poll_with(mc, c, 100))
		no_event(mc, 0); /* fails, naming the event */
	ctx_close();
}
BOTH(test_monitor_disconnect_silent)

/* A connect that fails (nobody listens): as libzmq, [CONNECT_DELAYED,] then CLOSED
 * with the number of the attempt's descriptor, then CONNECT_RETRIED with the
 * interval plus a random part of up to one interval (so that peers cut off together
 * do not all come back together); every retry again. */
static void
test_monitor_failed_connect(enum tr t)
{
	enum { IVL = 50 };
	ctx_open();
	void *c = sock_open(ZMQ_DEALER);
	set_int(c, ZMQ_RECONNECT_IVL, IVL);
	void *mc = monitor_open(c, ZMQ_EVENT_ALL);
	char ep[256];
	ep_unbound(t, ep, sizeof ep);
	CHECK_OK(zmq_connect(c, ep));
	for (int attempt = 0; attempt < 3; attempt++) {
		int v = -1;
		char got[512];
		int ev = monitor_next(mc, WAIT_MS, &v, got, sizeof got);
		if (ev == ZMQ_EVENT_CONNECT_DELAYED)
			ev = monitor_next(mc, WAIT_MS, &v, got, sizeof got);
		if (ev != ZMQ_EVENT_CLOSED)
			TEST_FAIL("attempt %d: expected CLOSED, got 0x%x", attempt, ev);
		CHECK(v >= 0);
		CHECK_STR(got, ep);
		int ivl = expect_ep(mc, ZMQ_EVENT_CONNECT_RETRIED, ep);
		CHECK(ivl >= IVL && ivl < 2 * IVL);
	}
	ctx_close();
}
BOTH(test_monitor_failed_connect)

/* A mask selects the events: with only HANDSHAKE_SUCCEEDED asked for, that is all
 * that comes, on both sides. */
static void
test_monitor_mask(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_PAIR), *c = sock_open(ZMQ_PAIR);
	void *mb = monitor_open(b, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	void *mc = monitor_open(c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(c, ep));
	expect_ep(mc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	expect_ep(mb, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	send_str(c, "x", 0);
	recv_str(b, "x");
	no_event(mb, 0);
	no_event(mc, 0);
	ctx_close();
}
BOTH(test_monitor_mask)

/* ---------------------------------------------------------------------------- */
/* A raw ZMTP peer                                                               */
/* ---------------------------------------------------------------------------- */

/* raw_listen: a plain listening socket on 127.0.0.1:0 or a new unix path. */
static int
raw_listen(enum tr t, char *ep, size_t len)
{
	int fd;
	if (t == TCP) {
		fd = fd_track(socket(AF_INET, SOCK_STREAM, 0));
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t al = sizeof a;
		CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
		CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
		snprintf(ep, len, "tcp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	} else {
		fd = fd_track(socket(AF_UNIX, SOCK_STREAM, 0));
		struct sockaddr_un a;
		memset(&a, 0, sizeof a);
		a.sun_family = AF_UNIX;
		snprintf(a.sun_path, sizeof a.sun_path, "%s/raw%d", tmpdir, ipc_seq++);
		CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
		snprintf(ep, len, "ipc://%s", a.sun_path);
	}
	CHECK_EQ(listen(fd, 4), 0);
	return fd;
}

/* raw_wait: fd is readable within ms. */
static bool
raw_wait(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	int rc = poll(&p, 1, ms);
	CHECK(rc >= 0);
	return rc == 1;
}

static int
raw_accept(int lfd)
{
	CHECK(raw_wait(lfd, WAIT_MS));
	return fd_track(accept(lfd, NULL, NULL));
}

static void
raw_write(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* raw_read: exactly n bytes within WAIT_MS. false on end of stream. */
static bool
raw_read(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	long long deadline = test_now_ms() + WAIT_MS;
	while (n > 0) {
		int left = (int)(deadline - test_now_ms());
		if (left <= 0 || !raw_wait(fd, left))
			TEST_FAIL("raw peer: read timed out");
		ssize_t r = read(fd, p, n);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return false;
		CHECK(r > 0);
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* raw_handshake: our greeting (3.1, NULL, not as-server) and READY (Socket-Type PAIR);
 * reads and checks the peer's greeting. */
static void
raw_handshake(int fd)
{
	uint8_t g[64];
	memset(g, 0, sizeof g);
	g[0] = 0xff;
	g[8] = 1;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 1;
	memcpy(g + 12, "NULL", 4);
	raw_write(fd, g, sizeof g);
	static const uint8_t ready[] = {0x04, 26,  5,   'R', 'E', 'A', 'D', 'Y', 11,  'S',
	                                'o',  'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
	                                0,    0,   0,   4,   'P', 'A', 'I', 'R'};
	raw_write(fd, ready, sizeof ready);
	uint8_t peer[64];
	CHECK(raw_read(fd, peer, sizeof peer));
	CHECK_EQ(peer[0], 0xff);
	CHECK_EQ(peer[9], 0x7f);
	CHECK_EQ(peer[10], 3);
	CHECK(memcmp(peer + 12, "NULL\0", 5) == 0);
}

/* raw_count_pings: reads ZMTP frames until the peer closes; how many were PINGs. */
static int
raw_count_pings(int fd)
{
	int pings = 0;
	uint8_t flags, body[256];
	while (raw_read(fd, &flags, 1)) {
		uint64_t size = 0;
		uint8_t sz[8];
		if (flags & 0x02) {
			CHECK(raw_read(fd, sz, 8));
			for (int i = 0; i < 8; i++)
				size = size << 8 | sz[i];
		} else {
			CHECK(raw_read(fd, sz, 1));
			size = sz[0];
		}
		CHECK(size <= sizeof body);
		if (!raw_read(fd, body, (size_t)size))
			break;
		if ((flags & 0x04) && size >= 5 && memcmp(body, "\4PING", 5) == 0)
			pings++;
	}
	return pings;
}

/* A zinc PAIR with heartbeats (ivl 100, timeout 300) connects to a raw peer that
 * completes the handshake and then says nothing: the PAIR pings, gets no answer and
 * drops the connection (DISCONNECTED), well within HB_DETECT_MS. */
static void
test_heartbeat_silent_peer(enum tr t)
{
	ctx_open();
	char ep[256];
	int lfd = raw_listen(t, ep, sizeof ep);
	void *s = sock_open(ZMQ_PAIR);
	set_int(s, ZMQ_HEARTBEAT_IVL, HB_IVL_MS);
	set_int(s, ZMQ_HEARTBEAT_TIMEOUT, HB_TIMEOUT_MS);
	set_int(s, ZMQ_RECONNECT_IVL, -1);
	void *mon =
	        monitor_open(s, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_connect(s, ep));
	int fd = raw_accept(lfd);
	/* The clock starts before the handshake can end, where the heartbeat starts:
	 * the event may reach this thread late (valgrind), and taking the time when it
	 * is read would shorten the interval bounded from below. */
	long long t0 = test_now_ms();
	raw_handshake(fd);
	expect_ep(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	int v;
	char got[512];
	int ev = monitor_next(mon, HB_DETECT_MS, &v, got, sizeof got);
	long long took = test_now_ms() - t0;
	if (ev != ZMQ_EVENT_DISCONNECTED)
		TEST_FAIL("silent peer not dropped within %d ms (event 0x%x)",
		          HB_DETECT_MS, ev);
	CHECK_STR(got, ep);
	CHECK(took >= HB_TIMEOUT_MS / 2);
	CHECK(raw_count_pings(fd) >= 1); /* its READY, its PINGs, then the end */
	ctx_close();
}
BOTH(test_heartbeat_silent_peer)

/* Two zinc PAIRs with heartbeats on both sides answer each other's PINGs: an idle
 * connection stays up (no DISCONNECTED for HB_HEALTHY_MS) and still carries data. */
static void
test_heartbeat_healthy(enum tr t)
{
	ctx_open();
	void *b = sock_open(ZMQ_PAIR), *c = sock_open(ZMQ_PAIR);
	int ev = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED;
	void *mb = monitor_open(b, ev), *mc = monitor_open(c, ev);
	void *both[2] = {b, c};
	for (int i = 0; i < 2; i++) {
		set_int(both[i], ZMQ_HEARTBEAT_IVL, HB_IVL_MS);
		set_int(both[i], ZMQ_HEARTBEAT_TIMEOUT, HB_TIMEOUT_MS);
	}
	char ep[256];
	bind_fresh(b, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(c, ep));
	expect_ep(mb, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	expect_ep(mc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
	send_str(c, "before", 0);
	recv_str(b, "before");
	/* Idle: neither monitor may report anything for HB_HEALTHY_MS. */
	zmq_pollitem_t items[2] = {{mb, 0, ZMQ_POLLIN, 0}, {mc, 0, ZMQ_POLLIN, 0}};
	long long deadline = test_now_ms() + HB_HEALTHY_MS;
	long long left;
	while ((left = deadline - test_now_ms()) > 0) {
		int rc = zmq_poll(items, 2, (long)left);
		CHECK(rc >= 0);
		if (rc > 0)
			TEST_FAIL("an event on the %s side while idle",
			          items[0].revents ? "binder" : "connecter");
	}
	send_str(b, "after", 0);
	recv_str(c, "after");
	send_str(c, "after", 0);
	recv_str(b, "after");
	ctx_close();
}
BOTH(test_heartbeat_healthy)

/* raw_connect: a plain socket connected to a zinc endpoint (tcp or ipc). */
static int
raw_connect(enum tr t, const char *ep)
{
	int fd;
	if (t == TCP) {
		fd = fd_track(socket(AF_INET, SOCK_STREAM, 0));
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)atoi(strrchr(ep, ':') + 1));
		CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	} else {
		fd = fd_track(socket(AF_UNIX, SOCK_STREAM, 0));
		struct sockaddr_un a;
		memset(&a, 0, sizeof a);
		a.sun_family = AF_UNIX;
		const char *path = ep + strlen("ipc://");
		CHECK(strlen(path) < sizeof a.sun_path);
		memcpy(a.sun_path, path, strlen(path) + 1);
		CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	}
	return fd;
}

/* raw_handshake_as: greeting (version 3.minor, NULL) and a READY of Socket-Type
 * `type`; reads the peer's greeting. */
static void
raw_handshake_as(int fd, int minor, const char *type)
{
	uint8_t g[64] = {0xff,           0,   0,   0,   0,  0, 0, 0, 1, 0x7f, 3,
	                 (uint8_t)minor, 'N', 'U', 'L', 'L'};
	raw_write(fd, g, sizeof g);
	uint8_t ready[64] = {0x04, 0, 5, 'R', 'E', 'A', 'D', 'Y', 11};
	size_t n = 9;
	memcpy(ready + n, "Socket-Type", 11);
	n += 11;
	size_t tl = strlen(type);
	uint8_t len[4] = {0, 0, 0, (uint8_t)tl};
	memcpy(ready + n, len, 4);
	n += 4;
	memcpy(ready + n, type, tl);
	n += tl;
	ready[1] = (uint8_t)(n - 2);
	raw_write(fd, ready, n);
	uint8_t peer[64];
	CHECK(raw_read(fd, peer, sizeof peer));
	CHECK_EQ(peer[0], 0xff);
	CHECK_EQ(peer[10], 3);
}

/* raw_next_command: reads frames until a command whose name is `name`; its body
 * after the name goes to body (up to cap), its length is returned. Fails on EOF. */
static size_t
raw_next_command(int fd, const char *name, uint8_t *body, size_t cap)
{
	size_t nl = strlen(name);
	for (;;) {
		uint8_t flags, sz[8], buf[512];
		CHECK(raw_read(fd, &flags, 1));
		uint64_t size = 0;
		if (flags & 0x02) {
			CHECK(raw_read(fd, sz, 8));
			for (int i = 0; i < 8; i++)
				size = size << 8 | sz[i];
		} else {
			CHECK(raw_read(fd, sz, 1));
			size = sz[0];
		}
		CHECK(size <= sizeof buf);
		CHECK(raw_read(fd, buf, (size_t)size));
		if ((flags & 0x04) && size > nl && buf[0] == nl &&
		    memcmp(buf + 1, name, nl) == 0) {
			size_t n = (size_t)size - 1 - nl;
			CHECK(n <= cap);
			memcpy(body, buf + 1 + nl, n);
			return n;
		}
	}
}

/* ZMQ_HEARTBEAT_TTL is kept in whole deciseconds, as the PING carries it: libzmq
 * divides by 100 (toward zero) and wants 0..65535, and reads back the hundreds. */
static void
test_heartbeat_ttl_option(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_DEALER);
	static const struct {
		int set, get;
	} ok[] = {{0, 0},       {99, 0},  {100, 100},         {150, 100},
	          {1999, 1900}, {-99, 0}, {6553599, 6553500}, {6553500, 6553500}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		set_int(s, ZMQ_HEARTBEAT_TTL, ok[i].set);
		int v = -1;
		size_t len = sizeof v;
		CHECK_OK(zmq_getsockopt(s, ZMQ_HEARTBEAT_TTL, &v, &len));
		CHECK_EQ(v, ok[i].get);
	}
	static const int bad[] = {6553600, -100, INT32_MAX, INT32_MIN};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_ERR(zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &bad[i], sizeof bad[i]),
		          EINVAL);
	ctx_close();
}
ONE(test_heartbeat_ttl_option)

/* A PING carries the TTL in deciseconds, big-endian (1250 ms -> 12); and a PING
 * with a context gets a PONG with that context, cut to 16 bytes. The peer here
 * says ZMTP 3.0: libzmq heartbeats such peers too. */
static void
test_heartbeat_ping_wire(enum tr t)
{
	ctx_open();
	char ep[256];
	int lfd = raw_listen(t, ep, sizeof ep);
	void *s = sock_open(ZMQ_DEALER);
	set_int(s, ZMQ_HEARTBEAT_IVL, 50);
	set_int(s, ZMQ_HEARTBEAT_TTL, 1250);
	set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 60000); /* we may answer slowly */
	CHECK_OK(zmq_connect(s, ep));
	int fd = raw_accept(lfd);
	raw_handshake_as(fd, 0, "ROUTER");
	uint8_t body[64];
	CHECK_EQ(raw_next_command(fd, "PING", body, sizeof body), 2);
	CHECK_EQ(body[0], 0);
	CHECK_EQ(body[1], 12);

	static const uint8_t ping_short[] = {0x04, 10, 4, 'P', 'I', 'N',
	                                     'G',  0,  0, 'L', 'O', 'L'};
	raw_write(fd, ping_short, sizeof ping_short);
	CHECK_EQ(raw_next_command(fd, "PONG", body, sizeof body), 3);
	CHECK(memcmp(body, "LOL", 3) == 0);
	uint8_t ping_long[2 + 5 + 2 + 40] = {0x04, 5 + 2 + 40, 4, 'P', 'I',
	                                     'N',  'G',        0, 0};
	for (int i = 0; i < 40; i++)
		ping_long[9 + i] = (uint8_t)('a' + i % 26);
	raw_write(fd, ping_long, sizeof ping_long);
	CHECK_EQ(raw_next_command(fd, "PONG", body, sizeof body), 16);
	CHECK(memcmp(body, ping_long + 9, 16) == 0);
	ctx_close();
}
BOTH(test_heartbeat_ping_wire)

/* A ROUTER with heartbeats drops a 3.0 peer that completes the handshake and then
 * never answers (libzmq's test_heartbeat_timeout_router). */
static void
test_heartbeat_router_silent_v30(enum tr t)
{
	ctx_open();
	void *r = sock_open(ZMQ_ROUTER);
	set_int(r, ZMQ_HEARTBEAT_IVL, 50);
	void *mon = monitor_open(r, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
	char ep[256];
	bind_fresh(r, t, ep, sizeof ep);
	int fd = raw_connect(t, ep);
	raw_handshake_as(fd, 0, "DEALER");
	expect_ep(mon, ZMQ_EVENT_ACCEPTED, ep);
	int v;
	char got[512];
	int ev = monitor_next(mon, HB_DETECT_MS, &v, got, sizeof got);
	if (ev != ZMQ_EVENT_DISCONNECTED)
		TEST_FAIL("silent 3.0 peer not dropped (event 0x%x)", ev);
	CHECK(raw_count_pings(fd) >= 1);
	ctx_close();
}
BOTH(test_heartbeat_router_silent_v30)

/* The remote TTL: a client whose PINGs say "TTL 100 ms" but come only every 250 ms
 * is dropped by a server that has no heartbeats of its own, for every socket type
 * pair, ROUTER included on either side (libzmq's test_heartbeat_ttl_*). */
static void
test_heartbeat_remote_ttl(enum tr t)
{
	static const int pairs[][2] = {
	        {ZMQ_DEALER, ZMQ_ROUTER}, {ZMQ_ROUTER, ZMQ_DEALER},
	        {ZMQ_ROUTER, ZMQ_ROUTER}, {ZMQ_REQ, ZMQ_REP},
	        {ZMQ_PULL, ZMQ_PUSH},     {ZMQ_SUB, ZMQ_PUB},
	        {ZMQ_XSUB, ZMQ_XPUB},     {ZMQ_PAIR, ZMQ_PAIR},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		ctx_open();
		void *server = sock_open(pairs[i][1]);
		void *client = sock_open(pairs[i][0]);
		set_int(client, ZMQ_HEARTBEAT_TTL, 100);
		set_int(client, ZMQ_HEARTBEAT_IVL, 250);
		set_int(client, ZMQ_RECONNECT_IVL, -1); /* one connection to watch */
		void *mon = monitor_open(server, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
		                                         ZMQ_EVENT_DISCONNECTED);
		char ep[256];
		bind_fresh(server, t, ep, sizeof ep);
		/* The clock starts before the connection can exist: the handshake event
		 * may reach this thread late (valgrind), so taking the time when it is
		 * read would shorten the interval being bounded from below. */
		long long t0 = test_now_ms();
		CHECK_OK(zmq_connect(client, ep));
		expect_ep(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ep);
		int v;
		char got[512];
		int ev = monitor_next(mon, HB_DETECT_MS, &v, got, sizeof got);
		if (ev != ZMQ_EVENT_DISCONNECTED)
			TEST_FAIL("pair %zu: not dropped by the remote TTL (event 0x%x)",
			          i, ev);
		/* The first PING comes at 250 ms, its TTL runs 100 ms after it. */
		CHECK(test_now_ms() - t0 >= 300);
		ctx_close();
	}
}
BOTH(test_heartbeat_remote_ttl)

/* clang-format off */
static const struct test tests[] = {
	BOTH_ENTRIES(test_monitor_events),
	BOTH_ENTRIES(test_monitor_failed_connect),
	BOTH_ENTRIES(test_monitor_stop),
	BOTH_ENTRIES(test_monitor_close_order),
	BOTH_ENTRIES(test_monitor_disconnect_silent),
	BOTH_ENTRIES(test_monitor_mask),
	BOTH_ENTRIES(test_heartbeat_silent_peer),
	BOTH_ENTRIES(test_heartbeat_healthy),
	ONE_ENTRY(test_heartbeat_ttl_option),
	BOTH_ENTRIES(test_heartbeat_ping_wire),
	BOTH_ENTRIES(test_heartbeat_router_silent_v30),
	BOTH_ENTRIES(test_heartbeat_remote_ttl),
	{NULL, NULL},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	return transport_main(argc, argv, tests, 1024, 1024);
}
