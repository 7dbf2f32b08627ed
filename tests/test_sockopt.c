/*
 * test_sockopt.c: socket options as libzmq 4.3 reads and writes them: the socket
 * types' switches (any int >= 0), zmq_getsockopt into a buffer wider than the value,
 * ZMQ_SNDHWM / ZMQ_RCVHWM changed while a connection exists, and the batch after which
 * a reader gives the writer its room back (half the HWM).
 *
 * Waits are socket timeouts (WAIT_MS), never sleeps. An argument runs only the cases
 * whose name contains it. Public zmq.h API only; it builds against libzmq too:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_sockopt.c -lzmq -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "transport_util.h"

/* send_until_full: sends empty messages with ZMQ_DONTWAIT until one fails with EAGAIN
 * (at most max); returns how many went. */
static int
send_until_full(void *s, int max)
{
	int n = 0;
	while (n < max && zmq_send(s, NULL, 0, ZMQ_DONTWAIT) == 0)
		n++;
	CHECK(n == max || errno == EAGAIN);
	return n;
}

/* writable: ZMQ_EVENTS has POLLOUT. Asking runs the socket's commands (the reader's
 * credits among them), which a send does at most once a millisecond, as libzmq's:
 * a writer that wants to know whether the reader made room asks, as with zmq_poll. */
static bool
writable(void *s)
{
	int ev;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len));
	return (ev & ZMQ_POLLOUT) != 0;
}

/* recv_all: receives with ZMQ_DONTWAIT until nothing is left; returns how many came. */
static int
recv_all(void *s)
{
	int n = 0;
	while (zmq_recv(s, NULL, 0, ZMQ_DONTWAIT) == 0)
		n++;
	CHECK_EQ(errno, EAGAIN);
	return n;
}

/* ---------------------------------------------------------------------------- */
/* Option values                                                                 */
/* ---------------------------------------------------------------------------- */

/* libzmq's REQ, ROUTER, DEALER and XPUB read their switches as "int >= 0, nonzero is
 * on" (libzmq's test_proxy_hwm sets ZMQ_REQ_CORRELATE to 10); ZMQ_STREAM_NOTIFY stays
 * strictly 0 or 1. */
static void
test_switches_take_non_negative_ints(void)
{
	ctx_open();
	void *req = sock_open(ZMQ_REQ), *router = sock_open(ZMQ_ROUTER);
	void *dealer = sock_open(ZMQ_DEALER), *xpub = sock_open(ZMQ_XPUB);
	void *stream = sock_open(ZMQ_STREAM);
	int minus = -1;
	set_int(req, ZMQ_REQ_CORRELATE, 10);
	set_int(req, ZMQ_REQ_RELAXED, 10);
	CHECK_ERR(zmq_setsockopt(req, ZMQ_REQ_RELAXED, &minus, sizeof minus), EINVAL);
	set_int(router, ZMQ_ROUTER_MANDATORY, 2);
	set_int(router, ZMQ_ROUTER_HANDOVER, 3);
	set_int(dealer, ZMQ_PROBE_ROUTER, 4);
	CHECK_ERR(zmq_setsockopt(dealer, ZMQ_PROBE_ROUTER, &minus, sizeof minus), EINVAL);
	set_int(xpub, ZMQ_XPUB_NODROP, 5);
	int two = 2;
	CHECK_ERR(zmq_setsockopt(stream, ZMQ_STREAM_NOTIFY, &two, sizeof two), EINVAL);

	/* The values took effect: 2 made ROUTER mandatory, 10 made REQ relaxed. */
	CHECK_ERR(zmq_send(router, "nobody", 6, ZMQ_SNDMORE), EHOSTUNREACH);
	CHECK_OK(zmq_bind(router, "inproc://switches"));
	CHECK_OK(zmq_connect(req, "inproc://switches"));
	send_str(req, "first", 0);
	send_str(req, "second", 0); /* strict REQ: EFSM */
	ctx_close();
}
ONE(test_switches_take_non_negative_ints)

/* Each socket type reports its own ZMQ_TYPE, which cannot be set; an option that
 * belongs to some types only is refused with EINVAL by the others, as libzmq 4.3 does
 * (a PUB takes XPUB's, a REP ROUTER's, a REQ DEALER's). */
static void
test_types_take_their_own_options(void)
{
	static const int types[] = {ZMQ_PAIR, ZMQ_PUB,    ZMQ_SUB,    ZMQ_REQ,
	                            ZMQ_REP,  ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PULL,
	                            ZMQ_PUSH, ZMQ_XPUB,   ZMQ_XSUB,   ZMQ_STREAM};
	ctx_open();
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		void *s = sock_open(types[i]);
		int t = -1;
		size_t len = sizeof t;
		CHECK_OK(zmq_getsockopt(s, ZMQ_TYPE, &t, &len));
		CHECK_EQ(t, types[i]);
		CHECK_ERR(zmq_setsockopt(s, ZMQ_TYPE, &t, sizeof t), EINVAL);
		sock_close(s);
	}
	void *pub = sock_open(ZMQ_PUB), *rep = sock_open(ZMQ_REP);
	void *req = sock_open(ZMQ_REQ), *pair = sock_open(ZMQ_PAIR);
	void *sub = sock_open(ZMQ_SUB), *stream = sock_open(ZMQ_STREAM);
	int one = 1;
	set_int(pub, ZMQ_XPUB_VERBOSE, 1);
	set_int(rep, ZMQ_ROUTER_MANDATORY, 1);
	set_int(req, ZMQ_PROBE_ROUTER, 1);
	set_int(stream, ZMQ_STREAM_NOTIFY, 0);
	set_int(pair, ZMQ_LINGER, 0); /* every type's */
	CHECK_ERR(zmq_setsockopt(pair, ZMQ_ROUTER_MANDATORY, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(sub, ZMQ_XPUB_VERBOSE, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(pub, ZMQ_REQ_RELAXED, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(rep, ZMQ_STREAM_NOTIFY, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(stream, ZMQ_PROBE_ROUTER, &one, sizeof one), EINVAL);
	ctx_close();
}
ONE(test_types_take_their_own_options)

/* ZMQ_LINGER's default is -1, but 0 for SUB and XSUB, as libzmq 4.3 (a closing
 * subscriber does not wait to send its subscriptions: ffi-rzmq's specs test it, and a
 * SUB connected to an address nobody listens on would otherwise hold zmq_ctx_term for
 * good). With the context's ZMQ_BLOCKY 0, every type gets 0. */
static void
test_linger_defaults(void)
{
	static const int types[] = {ZMQ_PAIR, ZMQ_PUB,    ZMQ_SUB,    ZMQ_REQ,
	                            ZMQ_REP,  ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PULL,
	                            ZMQ_PUSH, ZMQ_XPUB,   ZMQ_XSUB,   ZMQ_STREAM};
	for (int blocky = 1; blocky >= 0; blocky--) {
		void *c = ctx_open();
		CHECK_OK(zmq_ctx_set(c, ZMQ_BLOCKY, blocky));
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			void *s = sock_open_default(types[i]);
			int linger = 12345;
			size_t len = sizeof linger;
			CHECK_OK(zmq_getsockopt(s, ZMQ_LINGER, &linger, &len));
			bool sub = types[i] == ZMQ_SUB || types[i] == ZMQ_XSUB;
			CHECK_EQ(linger, blocky && !sub ? -1 : 0);
			sock_close(s);
		}
		ctx_close();
	}
	/* The unreachable SUB of ffi-rzmq's nonblocking_recv_spec: zmq_ctx_term returns.
	 */
	ctx_open();
	void *sub = sock_open_default(ZMQ_SUB);
	CHECK_OK(zmq_connect(sub, "tcp://127.0.0.1:1"));
	CHECK_OK(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0));
	sock_close(sub);
	ctx_close();
}
ONE(test_linger_defaults)

/* zmq_getsockopt writes the value and clears the rest of a wider buffer, as libzmq
 * 4.3 (test_getsockopt_memset reads ZMQ_RCVMORE into an int64_t full of 0xff). */
static void
test_getsockopt_clears_wider_buffer(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_SUB);
	static const int opts[] = {ZMQ_RCVMORE, ZMQ_EVENTS, ZMQ_SNDHWM, ZMQ_TYPE};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		int64_t v;
		memset(&v, 0xff, sizeof v);
		size_t len = sizeof v;
		CHECK_OK(zmq_getsockopt(s, opts[i], &v, &len));
		CHECK_EQ(len, sizeof(int));
		int narrow;
		len = sizeof narrow;
		CHECK_OK(zmq_getsockopt(s, opts[i], &narrow, &len));
		CHECK_EQ(v, narrow);
	}
	/* Too small is still EINVAL. */
	char c;
	size_t len = sizeof c;
	CHECK_ERR(zmq_getsockopt(s, ZMQ_RCVMORE, &c, &len), EINVAL);
	CHECK_ERR(zmq_getsockopt(s, ZMQ_SNDHWM, &c, &len), EINVAL);
	ctx_close();
}
ONE(test_getsockopt_clears_wider_buffer)

/* ---------------------------------------------------------------------------- */
/* High-water marks                                                              */
/* ---------------------------------------------------------------------------- */

/* An inproc pipe holds both sides' HWMs (1 + 1). ZMQ_SNDHWM raised to 5 after the
 * connection exists makes it 5 + 1, as libzmq 4.3 (test_sockopt_hwm); connect-then-bind
 * and bind-then-connect build the pipe differently, so both orders. */
static void
hwm_raised_after_connect(bool connect_first)
{
	ctx_open();
	void *push = sock_open(ZMQ_PUSH), *pull = sock_open(ZMQ_PULL);
	set_int(pull, ZMQ_RCVHWM, 1);
	set_int(push, ZMQ_SNDHWM, 1);
	if (connect_first) {
		CHECK_OK(zmq_connect(pull, "inproc://hwm"));
		CHECK_OK(zmq_bind(push, "inproc://hwm"));
	} else {
		CHECK_OK(zmq_bind(push, "inproc://hwm"));
		CHECK_OK(zmq_connect(pull, "inproc://hwm"));
	}
	set_int(push, ZMQ_SNDHWM, 5);
	CHECK_EQ(send_until_full(push, 100), 6);
	ctx_close();
}

static void
test_hwm_raised_after_connect_then_bind(void)
{
	hwm_raised_after_connect(true);
}
ONE(test_hwm_raised_after_connect_then_bind)

static void
test_hwm_raised_after_bind_then_connect(void)
{
	hwm_raised_after_connect(false);
}
ONE(test_hwm_raised_after_bind_then_connect)

/* The receiving side's ZMQ_RCVHWM is its share of the pipe too: raising it on the
 * PULL gives the PUSH (another socket, another thread's view) the room. */
static void
test_rcvhwm_raised_on_the_reader(void)
{
	ctx_open();
	void *push = sock_open(ZMQ_PUSH), *pull = sock_open(ZMQ_PULL);
	set_int(pull, ZMQ_RCVHWM, 1);
	set_int(push, ZMQ_SNDHWM, 1);
	CHECK_OK(zmq_bind(push, "inproc://rcvhwm"));
	CHECK_OK(zmq_connect(pull, "inproc://rcvhwm"));
	CHECK_EQ(send_until_full(push, 100), 2);
	set_int(pull, ZMQ_RCVHWM, 3);
	/* The PUSH learns it from a command (see writable). */
	CHECK(writable(push));
	CHECK_EQ(send_until_full(push, 100), 2);
	CHECK_EQ(recv_all(pull), 4);
	ctx_close();
}
ONE(test_rcvhwm_raised_on_the_reader)

/* A full pipe whose HWM is raised is writable at once, without a read by the peer; a
 * lowered one refuses until the reader catches up, then takes the new HWM. */
static void
test_hwm_change_on_a_full_pipe(void)
{
	ctx_open();
	void *push = sock_open(ZMQ_PUSH), *pull = sock_open(ZMQ_PULL);
	set_int(pull, ZMQ_RCVHWM, 1);
	set_int(push, ZMQ_SNDHWM, 1);
	CHECK_OK(zmq_bind(push, "inproc://full"));
	CHECK_OK(zmq_connect(pull, "inproc://full"));
	CHECK_EQ(send_until_full(push, 100), 2);
	set_int(push, ZMQ_SNDHWM, 5);
	CHECK_EQ(send_until_full(push, 100), 4);
	set_int(push, ZMQ_SNDHWM, 1);
	CHECK_EQ(send_until_full(push, 100), 0);
	CHECK_EQ(recv_all(pull), 6);
	/* Room comes back with a command; a blocking send waits for it. */
	CHECK_OK(zmq_send(push, NULL, 0, 0));
	CHECK_EQ(send_until_full(push, 100), 1);
	CHECK_EQ(recv_all(pull), 2);
	ctx_close();
}
ONE(test_hwm_change_on_a_full_pipe)

/* The pipe of a tcp or ipc connect (a session's, in an I/O thread) takes a new
 * ZMQ_SNDHWM too. Its pipe exists from zmq_connect on and nobody listens yet, so the
 * count is exact: nothing drains it until the PULL binds. */
static void
test_hwm_change_reaches_session_pipes(enum tr t)
{
	ctx_open();
	void *push = sock_open(ZMQ_PUSH), *pull = sock_open(ZMQ_PULL);
	char ep[256];
	ep_unbound(t, ep, sizeof ep);
	set_int(push, ZMQ_SNDHWM, 3);
	CHECK_OK(zmq_connect(push, ep));
	CHECK_EQ(send_until_full(push, 100), 3);
	set_int(push, ZMQ_SNDHWM, 7);
	CHECK_EQ(send_until_full(push, 100), 4);
	set_int(push, ZMQ_SNDHWM, 2);
	CHECK_EQ(send_until_full(push, 100), 0);
	/* What queued is delivered once the PULL is there. */
	CHECK_OK(zmq_bind(pull, ep));
	for (int i = 0; i < 7; i++)
		CHECK_EQ(zmq_recv(pull, NULL, 0, 0), 0);
	ctx_close();
}
BOTH(test_hwm_change_reaches_session_pipes)

/* The reader reports its progress every half HWM, as libzmq 4.3: after the reader
 * took 4000 messages of a 3000 + 3000 pipe, 3000 are reported and the writer has room
 * for 5000 more (test_hwm_pubsub's test_reset_hwm, on inproc). */
static void
test_reader_reports_every_half_hwm(void)
{
	ctx_open();
	void *push = sock_open(ZMQ_PUSH), *pull = sock_open(ZMQ_PULL);
	set_int(push, ZMQ_SNDHWM, 3000);
	set_int(pull, ZMQ_RCVHWM, 3000);
	CHECK_OK(zmq_bind(push, "inproc://lwm"));
	CHECK_OK(zmq_connect(pull, "inproc://lwm"));
	CHECK_EQ(send_until_full(push, 4000), 4000);
	CHECK_EQ(recv_all(pull), 4000);
	CHECK(writable(push));
	CHECK_EQ(send_until_full(push, 6000), 5000);
	ctx_close();
}
ONE(test_reader_reports_every_half_hwm)

/* clang-format off */
static const struct test tests[] = {
	ONE_ENTRY(test_switches_take_non_negative_ints),
	ONE_ENTRY(test_types_take_their_own_options),
	ONE_ENTRY(test_linger_defaults),
	ONE_ENTRY(test_getsockopt_clears_wider_buffer),
	ONE_ENTRY(test_hwm_raised_after_connect_then_bind),
	ONE_ENTRY(test_hwm_raised_after_bind_then_connect),
	ONE_ENTRY(test_rcvhwm_raised_on_the_reader),
	ONE_ENTRY(test_hwm_change_on_a_full_pipe),
	BOTH_ENTRIES(test_hwm_change_reaches_session_pipes),
	ONE_ENTRY(test_reader_reports_every_half_hwm),
	{NULL, NULL},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	return transport_main(argc, argv, tests, 64, 64);
}
