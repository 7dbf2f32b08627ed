/*
 * test_session_end.c: what a connection delivered before it ended is the socket's. An
 * engine writes the messages of one read into its session's pipe and publishes them
 * (flushes) at the end of that read; when the connection ends in the middle of a read
 * (the peer's ERROR command, a failed allocation), the whole messages before the end
 * must reach the socket, and a message missing its last part must not. A raw TCP peer
 * speaks ZMTP 3.1 (NULL) to a zinc PULL, sending in one write: two messages, the first
 * part of a third, and an ERROR command. The PULL connects (its session keeps the pipe
 * for the next connection) or binds (the pipe ends with the connection).
 */
#include "testutil.h"
#include "zmq.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS (3000 * ZINC_TEST_SLOWDOWN) /* bounds every wait */

/* ---- the raw peer ---- */

struct wire {
	uint8_t b[256];
	size_t n;
};

static void
put(struct wire *w, const void *p, size_t n)
{
	CHECK(w->n + n <= sizeof w->b);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
put_byte(struct wire *w, uint8_t b)
{
	put(w, &b, 1);
}

/* put_hello: a ZMTP 3.1 greeting (NULL) and a READY announcing a PUSH. */
static void
put_hello(struct wire *w)
{
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	static const uint8_t ready[] = {0x04, 26,  5,   'R', 'E', 'A', 'D', 'Y', 11,  'S',
	                                'o',  'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
	                                0,    0,   0,   4,   'P', 'U', 'S', 'H'};
	put(w, g, sizeof g);
	put(w, ready, sizeof ready);
}

/* put_msg: a short message frame of text s, with MORE when more. */
static void
put_msg(struct wire *w, const char *s, bool more)
{
	put_byte(w, more ? 0x01 : 0x00);
	put_byte(w, (uint8_t)strlen(s));
	put(w, s, strlen(s));
}

/* put_error: the ERROR command (RFC 37), which ends the connection. */
static void
put_error(struct wire *w)
{
	static const uint8_t err[] = {0x04, 10,  5, 'E', 'R', 'R',
	                              'O',  'R', 3, 'b', 'y', 'e'};
	put(w, err, sizeof err);
}

static void
raw_send(int fd, const struct wire *w)
{
	size_t off = 0;
	while (off < w->n) {
		ssize_t n = send(fd, w->b + off, w->n - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n > 0);
		off += (size_t)n;
	}
}

static bool
wait_in(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc;
	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR);
	return rc > 0;
}

/* raw_listen: a listening socket on 127.0.0.1; *port is its port. */
static int
raw_listen(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(fd, 4));
	CHECK_OK(getsockname(fd, (struct sockaddr *)&a, &len));
	*port = ntohs(a.sin_port);
	return fd;
}

static int
raw_accept(int lfd)
{
	if (!wait_in(lfd, WAIT_MS))
		TEST_FAIL("zinc did not connect within %d ms", WAIT_MS);
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	return fd;
}

static int
raw_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_OK(connect(fd, (struct sockaddr *)&a, sizeof a));
	return fd;
}

/* ---- the zinc side ---- */

static void *ctx;

static void *
pull_open(void)
{
	void *s = zmq_socket(ctx, ZMQ_PULL);
	int zero = 0, ivl = 10, timeo = WAIT_MS;
	CHECK(s != NULL);
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeo, sizeof timeo));
	return s;
}

/* expect: the next message is the single part want. */
static void
expect(void *s, const char *want)
{
	char buf[16];
	int n = zmq_recv(s, buf, sizeof buf, 0);
	if (n < 0)
		TEST_FAIL("expected \"%s\": %s", want, strerror(errno));
	int more = 0;
	size_t sz = sizeof more;
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz));
	if (n != (int)strlen(want) || memcmp(buf, want, (size_t)n) != 0 || more)
		TEST_FAIL("expected \"%s\", got %d bytes \"%.*s\"%s", want, n,
		          n > 0 ? n : 0, buf, more ? " and more parts" : "");
}

/* send_then_error: the hello, "a", "b", the first part of "c", ERROR: one write. */
static void
send_then_error(int fd)
{
	struct wire w = {.n = 0};
	put_hello(&w);
	put_msg(&w, "a", false);
	put_msg(&w, "b", false);
	put_msg(&w, "c", true);
	put_error(&w);
	raw_send(fd, &w);
}

/* send_one: a fresh connection's hello and the single message s. */
static void
send_one(int fd, const char *s)
{
	struct wire w = {.n = 0};
	put_hello(&w);
	put_msg(&w, s, false);
	raw_send(fd, &w);
}

static void
test_connecting_socket_gets_messages_before_error(void)
{
	int port, lfd = raw_listen(&port);
	char ep[64];
	void *pull = pull_open();
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	int fd = raw_accept(lfd);
	send_then_error(fd);
	/* Before the fix, "a" and "b" waited unpublished in the pipe the session keeps
	 * for its next connection, until that one's first read. */
	expect(pull, "a");
	expect(pull, "b");
	/* The reconnection's first message comes next, alone: the part of "c" was
	 * dropped with the connection that never finished it. */
	int fd2 = raw_accept(lfd);
	send_one(fd2, "d");
	expect(pull, "d");
	CHECK_OK(zmq_close(pull));
	close(fd2);
	close(fd);
	close(lfd);
}

static void
test_bound_socket_gets_messages_before_error(void)
{
	char ep[64];
	size_t len = sizeof ep;
	void *pull = pull_open();
	CHECK_OK(zmq_bind(pull, "tcp://127.0.0.1:*"));
	CHECK_OK(zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len));
	int port = atoi(strrchr(ep, ':') + 1);
	int fd = raw_connect(port);
	send_then_error(fd);
	expect(pull, "a");
	expect(pull, "b");
	int fd2 = raw_connect(port);
	send_one(fd2, "d");
	expect(pull, "d");
	CHECK_OK(zmq_close(pull));
	close(fd2);
	close(fd);
}

/* ---- a session that gives up ---- */

struct term_watch {
	void *ctx;
	int done[2]; /* a byte on done[1] once zmq_ctx_term returned */
};

static void *
term_main(void *arg)
{
	struct term_watch *w = arg;
	zmq_ctx_term(w->ctx);
	ssize_t n = write(w->done[1], "t", 1);
	(void)n;
	return NULL;
}

/* term_within: zmq_ctx_term(c) must return within WAIT_MS. It runs in a thread so that
 * a context that never ends fails the case instead of hanging the test (the thread is
 * then left blocked, and detached, until the process exits). */
static void
term_within(void *c)
{
	static struct term_watch w; /* outlives the case if the thread stays blocked */
	w.ctx = c;
	CHECK_OK(pipe(w.done));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, term_main, &w), 0);
	if (!wait_in(w.done[0], WAIT_MS)) {
		pthread_detach(t);
		TEST_FAIL("zmq_ctx_term still waits after %d ms", WAIT_MS);
	}
	CHECK_EQ(pthread_join(t, NULL), 0);
	close(w.done[0]);
	close(w.done[1]);
}

/* giving_up_open: in its own context (the case terminates it), a PAIR that never
 * reconnects, with the default ZMQ_LINGER (-1: wait for delivery), connected to the
 * raw listener on port, with "a" and "b" queued (the pipe exists from zmq_connect; the
 * engine takes messages only after the handshake). The raw peer accepts the connection
 * and closes it before the greeting: the session gives up, the messages still queued.
 * *c is the context. */
static void *
giving_up_open(int port, void **c)
{
	char ep[64];
	int ivl = -1;
	*c = zmq_ctx_new();
	CHECK(*c != NULL);
	void *pair = zmq_socket(*c, ZMQ_PAIR);
	CHECK(pair != NULL);
	CHECK_OK(zmq_setsockopt(pair, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl));
	CHECK_OK(zmq_socket_monitor(pair, "inproc://giving-up", ZMQ_EVENT_DISCONNECTED));
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pair, ep));
	CHECK_EQ(zmq_send(pair, "a", 1, ZMQ_DONTWAIT), 1);
	CHECK_EQ(zmq_send(pair, "b", 1, ZMQ_DONTWAIT), 1);
	return pair;
}

/* peer_hangs_up: the raw peer accepts and closes at once; returns when the PAIR's
 * session has seen the connection end (ZMQ_EVENT_DISCONNECTED, from monitor mon).
 * Which it reports before it gives up, in the same turn of its I/O thread: what the
 * case does next reaches the session after that. */
static void
peer_hangs_up(int lfd, void *mon)
{
	close(raw_accept(lfd));
	zmq_msg_t ev;
	zmq_msg_init(&ev);
	int timeo = WAIT_MS;
	CHECK_OK(zmq_setsockopt(mon, ZMQ_RCVTIMEO, &timeo, sizeof timeo));
	CHECK(zmq_msg_recv(&ev, mon, 0) == 6);
	uint16_t event;
	memcpy(&event, zmq_msg_data(&ev), sizeof event);
	CHECK_EQ(event, ZMQ_EVENT_DISCONNECTED);
	CHECK(zmq_msg_more(&ev));
	CHECK(zmq_msg_recv(&ev, mon, 0) >= 0); /* the endpoint */
	zmq_msg_close(&ev);
}

static void *
monitor_open(void *c)
{
	void *mon = zmq_socket(c, ZMQ_PAIR);
	CHECK(mon != NULL);
	CHECK_OK(zmq_connect(mon, "inproc://giving-up"));
	return mon;
}

/* wait_not_writable: waits (on ZMQ_FD, as a libzmq application does) until the PAIR
 * has run the session's request to forget its endpoint: its pipe ends and POLLOUT
 * goes. */
static void
wait_not_writable(void *pair)
{
	int fd;
	size_t sz = sizeof fd;
	CHECK_OK(zmq_getsockopt(pair, ZMQ_FD, &fd, &sz));
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		int ev = 0;
		sz = sizeof ev;
		CHECK_OK(zmq_getsockopt(pair, ZMQ_EVENTS, &ev, &sz));
		if (!(ev & ZMQ_POLLOUT))
			return;
		long long left = end - test_now_ms();
		if (left <= 0)
			TEST_FAIL("the PAIR still writes to its ended connection");
		(void)wait_in(fd, (int)left);
	}
}

/* The socket learns that its session gave up (libzmq's test_reconnect_ivl: the PAIR
 * sent into a pipe whose connection had just ended, then ran the session's request to
 * forget the endpoint). Before the fix the session, asked to end with linger -1,
 * waited for an engine to send "a" and "b"; its pipe never ended, so the PAIR refused
 * the pipe of its next zmq_connect, and zmq_ctx_term never returned. */
static void
test_giving_up_session_drops_queue(void)
{
	int port, lfd = raw_listen(&port);
	void *c;
	void *pair = giving_up_open(port, &c);
	void *mon = monitor_open(c);
	peer_hangs_up(lfd, mon);
	wait_not_writable(pair);
	CHECK_OK(zmq_close(mon));
	CHECK_OK(zmq_close(pair));
	term_within(c);
	close(lfd);
}

/* The same, the socket closed first (with linger -1, its session waits to deliver)
 * and the connection lost after. */
static void
test_giving_up_session_drops_queue_at_close(void)
{
	int port, lfd = raw_listen(&port);
	void *c;
	void *pair = giving_up_open(port, &c);
	void *mon = monitor_open(c);
	CHECK_OK(zmq_close(pair));
	peer_hangs_up(lfd, mon);
	CHECK_OK(zmq_close(mon));
	term_within(c);
	close(lfd);
}

/* ---- ZMQ_LINGER at zmq_disconnect and zmq_unbind ---- */

/* 4 MB: far more than the reader's kernel buffer, read buffer and RCVHWM hold, so
 * most of it is still in the PUSH's session when the endpoint ends. */
#define BACKLOG_MSGS 4000
#define BACKLOG_SIZE 1024

static void
set_opt(void *s, int option, int v)
{
	CHECK_OK(zmq_setsockopt(s, option, &v, sizeof v));
}

/* backlog_pair: a PULL in ctx that holds little (RCVHWM 10, a 64 KiB kernel buffer)
 * and a PUSH in its own context *c (no SNDHWM, so no send blocks), one bound and the
 * other connected to it over tcp as push_binds says, with a first message through. */
static void
backlog_pair(bool push_binds, void **c, void **push, void **pull, char *ep, size_t len)
{
	*c = zmq_ctx_new();
	CHECK(*c != NULL);
	*push = zmq_socket(*c, ZMQ_PUSH);
	*pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(*push != NULL && *pull != NULL);
	set_opt(*push, ZMQ_SNDHWM, 0);
	set_opt(*push, ZMQ_SNDBUF, 64 * 1024);
	set_opt(*pull, ZMQ_RCVHWM, 10);
	set_opt(*pull, ZMQ_RCVBUF, 64 * 1024);
	set_opt(*pull, ZMQ_RCVTIMEO, WAIT_MS);
	set_opt(*pull, ZMQ_LINGER, 0);
	void *binder = push_binds ? *push : *pull;
	void *connecter = push_binds ? *pull : *push;
	CHECK_OK(zmq_bind(binder, "tcp://127.0.0.1:*"));
	CHECK_OK(zmq_getsockopt(binder, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_OK(zmq_connect(connecter, ep));
	CHECK_EQ(zmq_send(*push, "first", 5, 0), 5);
	expect(*pull, "first");
	static char body[BACKLOG_SIZE];
	for (int i = 0; i < BACKLOG_MSGS; i++)
		CHECK_EQ(zmq_send(*push, body, sizeof body, 0), BACKLOG_SIZE);
}

/* The endpoint ends with ZMQ_LINGER 0: its session drops the backlog the reader never
 * takes. The linger is set to -1 before the close: the session must have taken the
 * value of zmq_disconnect's moment, or the context never ends (it did: sessions ended
 * by zmq_disconnect and zmq_unbind always waited to deliver). */
static void
linger_at_end(bool push_binds, int linger)
{
	void *c, *push, *pull;
	char ep[64];
	backlog_pair(push_binds, &c, &push, &pull, ep, sizeof ep);
	set_opt(push, ZMQ_LINGER, linger);
	if (push_binds)
		CHECK_OK(zmq_unbind(push, ep));
	else
		CHECK_OK(zmq_disconnect(push, ep));
	set_opt(push, ZMQ_LINGER, -1);
	CHECK_OK(zmq_close(push));
	term_within(c);
	CHECK_OK(zmq_close(pull));
}

static void
test_disconnect_linger_zero_drops(void)
{
	linger_at_end(false, 0);
}

static void
test_disconnect_linger_bounds_wait(void)
{
	linger_at_end(false, 100);
}

static void
test_unbind_linger_zero_drops(void)
{
	linger_at_end(true, 0);
}

/* With ZMQ_LINGER -1 a disconnected session delivers its whole backlog. */
static void
test_disconnect_linger_infinite_delivers(void)
{
	void *c, *push, *pull;
	char ep[64];
	backlog_pair(false, &c, &push, &pull, ep, sizeof ep);
	CHECK_OK(zmq_disconnect(push, ep));
	CHECK_OK(zmq_close(push));
	char buf[BACKLOG_SIZE];
	for (int i = 0; i < BACKLOG_MSGS; i++)
		CHECK_EQ(zmq_recv(pull, buf, sizeof buf, 0), BACKLOG_SIZE);
	term_within(c);
	CHECK_OK(zmq_close(pull));
}

int
main(void)
{
	static const struct test tests[] = {
	        {"a connecting socket gets the whole messages sent before an ERROR",
	         test_connecting_socket_gets_messages_before_error},
	        {"a bound socket gets the whole messages sent before an ERROR",
	         test_bound_socket_gets_messages_before_error},
	        {"a session that gives up drops what was queued for it",
	         test_giving_up_session_drops_queue},
	        {"a session that gives up after its socket closed drops its queue",
	         test_giving_up_session_drops_queue_at_close},
	        {"zmq_disconnect with linger 0 drops the backlog",
	         test_disconnect_linger_zero_drops},
	        {"zmq_disconnect with linger 100 ms waits no longer",
	         test_disconnect_linger_bounds_wait},
	        {"zmq_unbind with linger 0 drops the backlog",
	         test_unbind_linger_zero_drops},
	        {"zmq_disconnect with linger -1 delivers the backlog",
	         test_disconnect_linger_infinite_delivers},
	        {NULL, NULL},
	};
	ctx = zmq_ctx_new();
	CHECK(ctx != NULL);
	int rc = test_main(tests);
	zmq_ctx_term(ctx);
	return rc;
}
