/*
 * test_router.c: ZMQ_DEALER and ZMQ_ROUTER on inproc, ipc and tcp (zinc to zinc):
 * routing ids (announced with ZMQ_ROUTING_ID, generated otherwise, named with
 * ZMQ_CONNECT_ROUTING_ID on a connecting ROUTER), unknown peers dropped or refused with
 * ZMQ_ROUTER_MANDATORY (EHOSTUNREACH, EAGAIN when full), duplicate ids with and without
 * ZMQ_ROUTER_HANDOVER, ZMQ_PROBE_ROUTER on both sides, ROUTER fair queueing, DEALER load
 * balancing, and a ROUTER/DEALER broker (a zmq_poll loop) between ten REQ clients and
 * REP workers.
 *
 * With --interop it runs instead the cases against the real libzmq (Debian's, through
 * /usr/bin/python3 and tests/py/reqrep_peer.py) over tcp and ipc: zinc DEALER against
 * a libzmq ROUTER, libzmq DEALER against a zinc ROUTER (routing ids checked on both
 * sides), and the broker with ten zinc REQ clients and ten libzmq REP workers; exit 77
 * (skip) when that python cannot import zmq.
 *
 * Public API only; it also builds against libzmq, from the source tree's root:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_router.c -lzmq -lpthread
 * Cases for zinc's own behaviour beyond libzmq's are built with ZINC_TEST_ZINC.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "reqrep_util.h"

/* clang-format off */
#define ON_ALL(fn)                                                                  \
	static void fn##_inproc(void) { fn(INPROC); }                               \
	static void fn##_ipc(void) { fn(IPC); }                                     \
	static void fn##_tcp(void) { fn(TCP); }
#define CASES(name, fn)                                                             \
	{name " (inproc)", fn##_inproc}, {name " (ipc)", fn##_ipc},                 \
	{name " (tcp)", fn##_tcp}
/* clang-format on */

/* settle: on ipc and tcp, time for messages already sent to reach the receiving
 * socket's pipes (there is no event for "all queued"); inproc is synchronous. */
static void
settle(enum tr t)
{
	if (t != INPROC)
		test_sleep_ms(300);
}

/* send_when_routable: sends [id, part] from a ROUTER with ZMQ_ROUTER_MANDATORY set,
 * retrying while the peer is not known yet (its connection may be coming up). */
static void
send_when_routable(void *router, const char *id, const char *part)
{
	long long deadline = test_now_ms() + RR_WAIT_MS;
	while (zmq_send(router, id, strlen(id), ZMQ_SNDMORE) < 0) {
		CHECK_EQ(errno, EHOSTUNREACH);
		CHECK(test_now_ms() < deadline);
		test_sleep_ms(5);
	}
	sendb(router, part, strlen(part), 0);
}

static void
routing_ids_announced_and_generated(enum tr t)
{
	char ep[256];
	struct frames f;
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *named = tsock(ZMQ_DEALER);
	void *anon[2] = {tsock(ZMQ_DEALER), tsock(ZMQ_DEALER)};
	tbind(router, t, ep, sizeof ep);
	set_str(named, ZMQ_ROUTING_ID, "dealer-1");
	tconnect(named, ep);
	sendv(named, "from named", NULL);
	expectv(router, "dealer-1", "from named", NULL);
	sendv(router, "dealer-1", "to named", NULL);
	expectv(named, "to named", NULL);
	unsigned char ids[2][5];
	for (int i = 0; i < 2; i++) {
		tconnect(anon[i], ep);
		sendv(anon[i], i ? "anon 1" : "anon 0", NULL);
		CHECK_EQ(recv_frames(router, &f), 2);
		CHECK(frame_is(&f, 1, i ? "anon 1" : "anon 0"));
		CHECK_EQ(f.len[0], 5); /* a zero byte and a 32-bit counter */
		CHECK_EQ(f.data[0][0], 0);
		memcpy(ids[i], f.data[0], 5);
	}
	CHECK(memcmp(ids[0], ids[1], 5) != 0);
	for (int i = 1; i >= 0; i--) {
		sendb(router, ids[i], 5, ZMQ_SNDMORE);
		sendv(router, i ? "to anon 1" : "to anon 0", NULL);
		expectv(anon[i], i ? "to anon 1" : "to anon 0", NULL);
	}
	case_reset();
}
ON_ALL(routing_ids_announced_and_generated)

static void
connect_routing_id_names_the_peer(enum tr t)
{
	char ep[256];
	case_begin();
	void *server = tsock(ZMQ_ROUTER), *client = tsock(ZMQ_ROUTER);
	set_str(server, ZMQ_ROUTING_ID, "server");
	set_str(client, ZMQ_ROUTING_ID, "client");
	set_int(client, ZMQ_ROUTER_MANDATORY, 1);
	tbind(server, t, ep, sizeof ep);
	set_str(client, ZMQ_CONNECT_ROUTING_ID, "my-server");
	tconnect(client, ep);
	send_when_routable(client, "my-server", "hello");
	expectv(server, "client", "hello", NULL);
	sendv(server, "client", "back", NULL);
	expectv(client, "my-server", "back", NULL);
	case_reset();
}
ON_ALL(connect_routing_id_names_the_peer)

static void
unknown_peer_dropped_or_unreachable(enum tr t)
{
	char ep[256];
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *dealer = tsock(ZMQ_DEALER);
	set_str(dealer, ZMQ_ROUTING_ID, "known");
	tbind(router, t, ep, sizeof ep);
	tconnect(dealer, ep);
	sendv(dealer, "hi", NULL);
	expectv(router, "known", "hi", NULL);
	/* Dropped without a word by default (and an id frame alone is ignored). */
	sendv(router, "nobody", "lost", NULL);
	sendv(router, "known", NULL);
	sendv(router, "known", "first", NULL);
	expectv(dealer, "first", NULL);
	/* Refused with ZMQ_ROUTER_MANDATORY; the socket stays usable. */
	set_int(router, ZMQ_ROUTER_MANDATORY, 1);
	CHECK_ERR(zmq_send(router, "nobody", 6, ZMQ_SNDMORE), EHOSTUNREACH);
	sendv(router, "known", "second", NULL);
	expectv(dealer, "second", NULL);
	expect_quiet(dealer);
	case_reset();
}
ON_ALL(unknown_peer_dropped_or_unreachable)

static void
full_peer_dropped_or_eagain(enum tr t)
{
	enum { SIZE = 64 * 1024, TRIES = 20000 };
	static char big[SIZE];
	char ep[256];
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *dealer = tsock(ZMQ_DEALER);
	set_int(router, ZMQ_SNDHWM, 1);
	set_int(dealer, ZMQ_RCVHWM, 1);
	set_str(dealer, ZMQ_ROUTING_ID, "slow");
	tbind(router, t, ep, sizeof ep);
	tconnect(dealer, ep);
	sendv(dealer, "hi", NULL);
	expectv(router, "slow", "hi", NULL);
	/* Without ZMQ_ROUTER_MANDATORY a full peer's messages are dropped: no send
	 * fails or blocks. */
	for (int i = 0; i < 200; i++) {
		sendb(router, "slow", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		sendb(router, big, SIZE, ZMQ_DONTWAIT);
	}
	/* With it, the id frame is refused with EAGAIN once the peer is full. */
	set_int(router, ZMQ_ROUTER_MANDATORY, 1);
	int i, rc = 0;
	for (i = 0; i < TRIES; i++) {
		rc = zmq_send(router, "slow", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		if (rc < 0)
			break;
		sendb(router, big, SIZE, ZMQ_DONTWAIT);
	}
	CHECK_EQ(rc, -1);
	CHECK_EQ(errno, EAGAIN);
	int ev;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(router, ZMQ_EVENTS, &ev, &len));
	/* Only inproc is still full for sure: over ipc/tcp the I/O thread may have
	 * moved a message into the kernel meanwhile (it does under valgrind). */
	if (t == INPROC)
		CHECK_EQ(ev & ZMQ_POLLOUT, 0);
	/* Once the peer reads, it is writable again. */
	char buf[16];
	CHECK_OK(zmq_recv(dealer, buf, sizeof buf, 0));
	long long deadline = test_now_ms() + RR_WAIT_MS;
	while (zmq_send(router, "slow", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		CHECK_EQ(errno, EAGAIN);
		CHECK(zmq_recv(dealer, buf, sizeof buf, ZMQ_DONTWAIT) >= 0 ||
		      errno == EAGAIN);
		CHECK(test_now_ms() < deadline);
	}
	sendb(router, "x", 1, 0);
	case_reset();
}
ON_ALL(full_peer_dropped_or_eagain)

static void
duplicate_id_ignored_without_handover(enum tr t)
{
	char ep[256];
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *first = tsock(ZMQ_DEALER);
	void *second = tsock(ZMQ_DEALER);
	set_str(first, ZMQ_ROUTING_ID, "X");
	set_str(second, ZMQ_ROUTING_ID, "X");
	tbind(router, t, ep, sizeof ep);
	tconnect(first, ep);
	sendv(first, "one", NULL);
	expectv(router, "X", "one", NULL);
	tconnect(second, ep);
	sendv(second, "two", NULL);
	expect_quiet(router); /* the newcomer is not heard */
	sendv(router, "X", "to the first", NULL);
	expectv(first, "to the first", NULL);
	expect_quiet(second);
#ifdef ZINC_TEST_ZINC
	/* zinc: once the holder is gone, the waiting peer takes the id, and what it
	 * sent meanwhile is delivered. */
	tsock_close(first);
	expectv(router, "X", "two", NULL);
	sendv(router, "X", "to the second", NULL);
	expectv(second, "to the second", NULL);
#endif
	case_reset();
}
ON_ALL(duplicate_id_ignored_without_handover)

static void
handover_gives_the_id_to_the_newcomer(enum tr t)
{
	char ep[256];
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *first = tsock(ZMQ_DEALER);
	void *second = tsock(ZMQ_DEALER);
	set_int(router, ZMQ_ROUTER_HANDOVER, 1);
	set_str(first, ZMQ_ROUTING_ID, "X");
	set_str(second, ZMQ_ROUTING_ID, "X");
	/* The first one must not come back and take the id again. */
	set_int(first, ZMQ_RECONNECT_IVL, 60000);
	tbind(router, t, ep, sizeof ep);
	tconnect(first, ep);
	sendv(first, "one", NULL);
	expectv(router, "X", "one", NULL);
	tconnect(second, ep);
	sendv(second, "two", NULL);
	expectv(router, "X", "two", NULL);
	sendv(router, "X", "to the newcomer", NULL);
	expectv(second, "to the newcomer", NULL);
	expect_quiet(first);
	case_reset();
}
ON_ALL(handover_gives_the_id_to_the_newcomer)

/* await_in: waits until s has a message, meanwhile polling other too: a socket runs
 * its commands (and attaches new connections, writing ZMQ_PROBE_ROUTER's probe) only
 * when the application calls it, in zinc as in libzmq, for connections whose pipe is
 * made at the handshake (a bound socket, ZMQ_IMMEDIATE). A connecting socket's probe
 * needs no call: see probe_from_a_connecting_router_needs_no_call. */
static void
await_in(void *s, void *other)
{
	long long deadline = test_now_ms() + RR_WAIT_MS;
	for (;;) {
		zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0}, {other, 0, ZMQ_POLLIN, 0}};
		CHECK(zmq_poll(it, 2, 10) >= 0);
		if (it[0].revents & ZMQ_POLLIN)
			return;
		CHECK(test_now_ms() < deadline);
	}
}

static void
probe_router_greets_new_peers(enum tr t)
{
	char ep[256], ep2[256];
	case_begin();
	/* A connecting DEALER announces itself with an empty message. */
	void *router = tsock(ZMQ_ROUTER), *dealer = tsock(ZMQ_DEALER);
	tbind(router, t, ep, sizeof ep);
	set_str(dealer, ZMQ_ROUTING_ID, "prober");
	set_int(dealer, ZMQ_PROBE_ROUTER, 1);
	tconnect(dealer, ep);
	await_in(router, dealer);
	expectv(router, "prober", "", NULL);
	/* A connecting ROUTER too, so the bound one learns whom to talk to. */
	void *server = tsock(ZMQ_ROUTER), *client = tsock(ZMQ_ROUTER);
	set_str(server, ZMQ_ROUTING_ID, "server");
	set_str(client, ZMQ_ROUTING_ID, "client");
	set_int(client, ZMQ_PROBE_ROUTER, 1);
	tbind(server, t, ep2, sizeof ep2);
	tconnect(client, ep2);
	await_in(server, client);
	expectv(server, "client", "", NULL);
	sendv(server, "client", "welcome", NULL);
	expectv(client, "server", "welcome", NULL);
	case_reset();
}
ON_ALL(probe_router_greets_new_peers)

/* A connecting ROUTER's probe leaves without the application calling the socket again
 * (libzmq's test_probe_router): in libzmq its pipe exists from zmq_connect on, so the
 * probe is written there. Here the pipe is made at the handshake, so the session writes
 * the probe for it; the server's blocking receive alone must see it. */
static void
probe_from_a_connecting_router_needs_no_call(enum tr t)
{
	char ep[256];
	case_begin();
	void *server = tsock(ZMQ_ROUTER), *client = tsock(ZMQ_ROUTER);
	tbind(server, t, ep, sizeof ep);
	set_str(client, ZMQ_ROUTING_ID, "X");
	set_int(client, ZMQ_PROBE_ROUTER, 1);
	tconnect(client, ep);
	expectv(server, "X", "", NULL);
	sendv(server, "X", "Hello", NULL);
	struct frames f;
	CHECK_EQ(recv_frames(client, &f), 2);
	CHECK_EQ(f.len[0], 5); /* the server's generated id */
	CHECK(frame_is(&f, 1, "Hello"));
	/* Exactly one probe: the socket did not write a second one at attach. */
	expect_quiet(server);
	case_reset();
}
ON_ALL(probe_from_a_connecting_router_needs_no_call)

/* A ROUTER that names its connection with ZMQ_CONNECT_ROUTING_ID can send to that id
 * right after zmq_connect, before the handshake: the message queues in the pipe, which
 * exists from the connect on as in libzmq (test_connect_rid hung when it was dropped).
 * ZMQ_ROUTER_MANDATORY makes a drop an error instead of a wait. */
static void
named_connect_is_routable_at_once(enum tr t)
{
	char ep[256];
	case_begin();
	void *server = tsock(ZMQ_ROUTER), *client = tsock(ZMQ_ROUTER);
	tbind(server, t, ep, sizeof ep);
	set_str(client, ZMQ_ROUTING_ID, "Y");
	set_int(client, ZMQ_ROUTER_MANDATORY, 1);
	set_str(client, ZMQ_CONNECT_ROUTING_ID, "server");
	tconnect(client, ep);
	sendv(client, "server", "early", NULL);
	expectv(server, "Y", "early", NULL);
	sendv(server, "Y", "ok", NULL);
	expectv(client, "server", "ok", NULL);
	case_reset();
}
ON_ALL(named_connect_is_routable_at_once)

/* The bound side probes too: a ROUTER with ZMQ_PROBE_ROUTER greets every peer that
 * connects, here a DEALER, which receives an empty message. */
static void
probe_router_on_the_bound_side(enum tr t)
{
	char ep[256];
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *dealer = tsock(ZMQ_DEALER);
	set_int(router, ZMQ_PROBE_ROUTER, 1);
	tbind(router, t, ep, sizeof ep);
	tconnect(dealer, ep);
	await_in(dealer, router);
	expectv(dealer, "", NULL);
	case_reset();
}
ON_ALL(probe_router_on_the_bound_side)

static void
router_fair_queues(enum tr t)
{
	enum { N = 4, K = 6 };
	char ep[256];
	struct frames f;
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *d[N];
	tbind(router, t, ep, sizeof ep);
	for (int i = 0; i < N; i++) {
		char id[8];
		snprintf(id, sizeof id, "d%d", i);
		d[i] = tsock(ZMQ_DEALER);
		set_str(d[i], ZMQ_ROUTING_ID, id);
		tconnect(d[i], ep);
		sendv(d[i], "hello", NULL);
		expectv(router, id, "hello", NULL); /* connected */
	}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < K; k++) {
			char buf[16];
			snprintf(buf, sizeof buf, "%d", k);
			sendv(d[i], buf, NULL);
		}
	settle(t);
	/* Asking for the router's state runs its commands (libzmq's and zinc's), so
	 * every peer's pipe is known readable before the first read. A receive runs them
	 * only when it finds nothing (or every 100th call): without this, the router
	 * reads the peers it already knew first, in libzmq as in zinc. */
	int ev;
	size_t ev_len = sizeof ev;
	CHECK_OK(zmq_getsockopt(router, ZMQ_EVENTS, &ev, &ev_len));
	CHECK(ev & ZMQ_POLLIN);
	int from[N * K], next[N] = {0};
	for (int m = 0; m < N * K; m++) {
		CHECK_EQ(recv_frames(router, &f), 2);
		CHECK(f.len[0] == 2 && f.data[0][0] == 'd');
		int i = from[m] = f.data[0][1] - '0';
		CHECK(i >= 0 && i < N);
		char want[16];
		snprintf(want, sizeof want, "%d", next[i]++);
		CHECK(frame_is(&f, 1, want)); /* each peer's messages in order */
	}
	/* Round robin: every N consecutive messages come from N different peers. */
	for (int m = 0; m + N <= N * K; m += N)
		for (int a = m; a < m + N; a++)
			for (int b = a + 1; b < m + N; b++)
				CHECK(from[a] != from[b]);
	case_reset();
}
ON_ALL(router_fair_queues)

static void
dealer_load_balances(enum tr t)
{
	enum { N = 3, K = 5 };
	char ep[N][256];
	case_begin();
	void *dealer = tsock(ZMQ_DEALER), *router[N];
	set_str(dealer, ZMQ_ROUTING_ID, "lb");
	for (int i = 0; i < N; i++) {
		router[i] = tsock(ZMQ_ROUTER);
		tbind(router[i], t, ep[i], sizeof ep[i]);
		tconnect(dealer, ep[i]);
	}
	for (int k = 0; k < N * K; k++)
		sendv(dealer, "work", NULL);
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < K; k++)
			expectv(router[i], "lb", "work", NULL);
		expect_quiet(router[i]);
	}
	/* And fair-queues what comes back. */
	for (int i = 0; i < N; i++)
		sendv(router[i], "lb", "done", NULL);
	for (int i = 0; i < N; i++)
		expectv(dealer, "done", NULL);
	case_reset();
}
ON_ALL(dealer_load_balances)

static void
options_of_other_types_are_refused(void)
{
	case_begin();
	void *dealer = tsock(ZMQ_DEALER), *router = tsock(ZMQ_ROUTER);
	int one = 1;
	CHECK_ERR(zmq_setsockopt(dealer, ZMQ_ROUTER_MANDATORY, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(dealer, ZMQ_ROUTER_HANDOVER, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(dealer, ZMQ_REQ_CORRELATE, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(router, ZMQ_REQ_RELAXED, &one, sizeof one), EINVAL);
	set_int(dealer, ZMQ_PROBE_ROUTER, 1);
	set_int(router, ZMQ_PROBE_ROUTER, 1);
	set_int(router, ZMQ_ROUTER_HANDOVER, 1);
	case_reset();
}

/* ---- the broker -------------------------------------------------------------- */

/* forward: moves one whole message from one socket to the other. -1 on error. */
static int
forward(void *from, void *to)
{
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, from, 0) < 0) {
			zmq_msg_close(&m);
			return -1;
		}
		int more = zmq_msg_more(&m);
		if (zmq_msg_send(&m, to, more ? ZMQ_SNDMORE : 0) < 0) {
			zmq_msg_close(&m);
			return -1;
		}
		if (!more)
			return 0;
	}
}

struct broker {
	void *frontend, *backend; /* the thread's from its start; it closes them */
};

/* broker_run: ROUTER frontend, DEALER backend, both ways, until the context ends. */
static void *
broker_run(void *arg)
{
	struct broker *b = arg;
	zmq_pollitem_t it[2] = {{b->frontend, 0, ZMQ_POLLIN, 0},
	                        {b->backend, 0, ZMQ_POLLIN, 0}};
	while (zmq_poll(it, 2, -1) >= 0) {
		if ((it[0].revents & ZMQ_POLLIN) && forward(b->frontend, b->backend) < 0)
			break;
		if ((it[1].revents & ZMQ_POLLIN) && forward(b->backend, b->frontend) < 0)
			break;
	}
	zmq_close(b->frontend);
	zmq_close(b->backend);
	return NULL;
}

#define WORKERS 10
struct workers {
	void *rep[WORKERS];
	int n;
	int handled[WORKERS]; /* read after the thread is joined */
};

/* workers_run: answers every request on n REP sockets with "w<k>:" + request. */
static void *
workers_run(void *arg)
{
	struct workers *w = arg;
	zmq_pollitem_t it[WORKERS];
	for (int k = 0; k < w->n; k++)
		it[k] = (zmq_pollitem_t){w->rep[k], 0, ZMQ_POLLIN, 0};
	while (zmq_poll(it, w->n, -1) >= 0) {
		for (int k = 0; k < w->n; k++) {
			if (!(it[k].revents & ZMQ_POLLIN))
				continue;
			char req[64], rep[80];
			int n = zmq_recv(w->rep[k], req, sizeof req - 1, 0);
			if (n < 0)
				goto out;
			req[n < (int)sizeof req - 1 ? n : (int)sizeof req - 1] = '\0';
			snprintf(rep, sizeof rep, "w%d:%s", k, req);
			if (zmq_send(w->rep[k], rep, strlen(rep), 0) < 0)
				goto out;
			w->handled[k]++;
		}
	}
out:
	for (int k = 0; k < w->n; k++)
		zmq_close(w->rep[k]);
	return NULL;
}

static struct broker the_broker;
static struct workers the_workers;

/* start_broker: binds the broker's two sockets and starts its thread; fe and be get
 * the endpoints. */
static void
start_broker(enum tr t, char *fe, char *be, size_t cap)
{
	void *f = zmq_socket(rr.ctx, ZMQ_ROUTER), *b = zmq_socket(rr.ctx, ZMQ_DEALER);
	CHECK(f && b);
	int zero = 0;
	zmq_setsockopt(f, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(b, ZMQ_LINGER, &zero, sizeof zero);
	the_broker = (struct broker){f, b};
	if (zmq_bind(f, t == TCP ? "tcp://127.0.0.1:*" : "inproc://broker-front") < 0 ||
	    zmq_bind(b, t == TCP ? "tcp://127.0.0.1:*" : "inproc://broker-back") < 0) {
		zmq_close(f);
		zmq_close(b);
		TEST_FAIL("broker bind: %s", strerror(errno));
	}
	size_t len = cap;
	zmq_getsockopt(f, ZMQ_LAST_ENDPOINT, fe, &len);
	len = cap;
	zmq_getsockopt(b, ZMQ_LAST_ENDPOINT, be, &len);
	tthread(broker_run, &the_broker);
}

enum { CLIENTS = 10, ROUNDS = 10 };

/* run_clients: CLIENTS REQ sockets connected to fe ask ROUNDS rounds of questions;
 * every answer must name its own question. Returns the number asked. */
static int
run_clients(const char *fe)
{
	void *req[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		req[i] = tsock(ZMQ_REQ);
		tconnect(req[i], fe);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < CLIENTS; i++) {
			char q[32];
			snprintf(q, sizeof q, "client %d question %d", i, r);
			sendv(req[i], q, NULL);
		}
		for (int i = 0; i < CLIENTS; i++) {
			struct frames f;
			char q[32];
			snprintf(q, sizeof q, "client %d question %d", i, r);
			CHECK_EQ(recv_frames(req[i], &f), 1);
			const char *colon = memchr(f.data[0], ':', f.len[0]);
			CHECK(f.data[0][0] == 'w' && colon);
			size_t off = (size_t)(colon + 1 - (const char *)f.data[0]);
			if (f.len[0] - off != strlen(q) ||
			    memcmp(colon + 1, q, strlen(q)))
				TEST_FAIL("client %d got \"%.*s\"", i, (int)f.len[0],
				          (const char *)f.data[0]);
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		expect_quiet(req[i]);
	return CLIENTS * ROUNDS;
}

static void
broker_between_req_and_rep(enum tr t)
{
	char fe[256], be[256];
	case_begin();
	start_broker(t, fe, be, sizeof fe);
	memset(&the_workers, 0, sizeof the_workers);
	the_workers.n = 3;
	for (int k = 0; k < the_workers.n; k++) {
		void *s = zmq_socket(rr.ctx, ZMQ_REP);
		CHECK(s);
		int zero = 0;
		zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
		the_workers.rep[k] = s;
		CHECK_OK(zmq_connect(s, be));
	}
	tthread(workers_run, &the_workers);
	int asked = run_clients(fe);
	case_reset(); /* ends both threads */
	int handled = 0;
	for (int k = 0; k < the_workers.n; k++)
		handled += the_workers.handled[k];
	CHECK_EQ(handled, asked); /* each question answered exactly once */
}
static void
broker_inproc(void)
{
	broker_between_req_and_rep(INPROC);
}
static void
broker_tcp(void)
{
	broker_between_req_and_rep(TCP);
}

static const struct test tests[] = {
        CASES("routing ids: announced and generated",
              routing_ids_announced_and_generated),
        CASES("connect routing id names the bound peer",
              connect_routing_id_names_the_peer),
        CASES("unknown peer: dropped, or EHOSTUNREACH if mandatory",
              unknown_peer_dropped_or_unreachable),
        CASES("full peer: dropped, or EAGAIN if mandatory", full_peer_dropped_or_eagain),
        CASES("duplicate id is ignored without handover",
              duplicate_id_ignored_without_handover),
        CASES("handover gives the id to the newcomer",
              handover_gives_the_id_to_the_newcomer),
        CASES("probe router from connecting peers", probe_router_greets_new_peers),
        CASES("a connecting router's probe needs no call",
              probe_from_a_connecting_router_needs_no_call),
        CASES("a named connect is routable at once", named_connect_is_routable_at_once),
        CASES("probe router on the bound side", probe_router_on_the_bound_side),
        CASES("router fair-queues its peers", router_fair_queues),
        CASES("dealer load-balances and fair-queues", dealer_load_balances),
        {"options of other types are EINVAL", options_of_other_types_are_refused},
        {"broker: 10 REQ clients, 3 REP workers (inproc)", broker_inproc},
        {"broker: 10 REQ clients, 3 REP workers (tcp)", broker_tcp},
        {NULL, NULL}};

/* ---- against libzmq ---------------------------------------------------------- */

enum side { ZINC_BINDS, LIBZMQ_BINDS };

static struct rr_peer *
link_up(enum tr t, enum side b, void *s, const char *role, const char *const *args)
{
	char ep[256];
	if (b == ZINC_BINDS) {
		tbind(s, t, ep, sizeof ep);
		return peer_start("--connect", role, ep, args);
	}
	if (t == TCP)
		snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
	else
		snprintf(ep, sizeof ep, "ipc:///tmp/zinc-rr-%d-%d.sock", (int)getpid(),
		         rr.seq++);
	struct rr_peer *p = peer_start("--bind", role, ep, args);
	tconnect(s, p->endpoint);
	return p;
}

static void
zinc_dealer_libzmq_router(enum tr t, enum side b)
{
	enum { N = 30 };
	const char *args[] = {"30", NULL};
	char line[300];
	case_begin();
	void *dealer = tsock(ZMQ_DEALER);
	set_str(dealer, ZMQ_ROUTING_ID, "zinc-dealer");
	struct rr_peer *p = link_up(t, b, dealer, "router-echo", args);
	for (int i = 0; i < N; i++) {
		char buf[32], want[40];
		snprintf(buf, sizeof buf, "msg %d", i);
		snprintf(want, sizeof want, "re:%s", buf);
		if (i % 3 == 0) {
			sendv(dealer, buf, "part2", NULL);
			expectv(dealer, want, "part2", NULL);
		} else {
			sendv(dealer, buf, NULL);
			expectv(dealer, want, NULL);
		}
		if (i == 0) {
			CHECK_EQ(peer_readline(p, RR_WAIT_MS, line, sizeof line), 1);
			CHECK_STR(line, "ID 7a696e632d6465616c6572"); /* "zinc-dealer" */
		}
	}
	CHECK_EQ(peer_finish(p, NULL, 0), 0);
	case_reset();
}

static void
libzmq_dealer_zinc_router(enum tr t, enum side b, const char *id)
{
	enum { N = 30 };
	const char *args[] = {"30", id, NULL};
	case_begin();
	void *router = tsock(ZMQ_ROUTER);
	set_int(router, ZMQ_ROUTER_MANDATORY, 1);
	struct rr_peer *p = link_up(t, b, router, "dealer-client", args);
	unsigned char seen[RR_PART_MAX];
	size_t seen_len = 0;
	for (int i = 0; i < N; i++) {
		struct frames f;
		char want[32], rep[40];
		snprintf(want, sizeof want, "msg %d", i);
		recv_frames(router, &f);
		CHECK_EQ(f.n, i % 3 == 0 ? 3 : 2);
		CHECK(frame_is(&f, 1, want));
		if (strcmp(id, "-") != 0) {
			CHECK(frame_is(&f, 0, id));
		} else if (i == 0) {
			CHECK(f.len[0] == 5 && f.data[0][0] == 0); /* generated */
			memcpy(seen, f.data[0], seen_len = f.len[0]);
		} else {
			CHECK(f.len[0] == seen_len && !memcmp(f.data[0], seen, seen_len));
		}
		snprintf(rep, sizeof rep, "re:%s", want);
		sendb(router, f.data[0], f.len[0], ZMQ_SNDMORE);
		if (f.n == 3)
			sendv(router, rep, "part2", NULL);
		else
			sendv(router, rep, NULL);
	}
	CHECK_EQ(peer_finish(p, NULL, 0), 0);
	case_reset();
}

static void
libzmq_dealer_named(enum tr t, enum side b)
{
	libzmq_dealer_zinc_router(t, b, "py-dealer");
}

static void
libzmq_dealer_anonymous(enum tr t, enum side b)
{
	libzmq_dealer_zinc_router(t, b, "-");
}

/* broker_libzmq_workers: the zinc broker between ten zinc REQ clients and ten libzmq
 * REP workers; the workers report how many requests they answered. */
static void
broker_libzmq_workers(enum tr t, enum side b)
{
	char fe[256], be[256], last[300];
	const char *args[] = {"10", NULL};
	(void)b;
	case_begin();
	start_broker(t, fe, be, sizeof fe);
	struct rr_peer *p = peer_start("--connect", "rep-workers", be, args);
	int asked = run_clients(fe);
	CHECK_EQ(peer_finish(p, last, sizeof last), 0);
	int handled = -1;
	CHECK(sscanf(last, "OK handled %d", &handled) == 1);
	CHECK_EQ(handled, asked); /* each question answered exactly once */
	case_reset();
}

/* clang-format off */
#define INTEROP(fn)                                                                 \
	static void fn##_tcp_zb(void) { fn(TCP, ZINC_BINDS); }                      \
	static void fn##_tcp_lb(void) { fn(TCP, LIBZMQ_BINDS); }                    \
	static void fn##_ipc_zb(void) { fn(IPC, ZINC_BINDS); }                      \
	static void fn##_ipc_lb(void) { fn(IPC, LIBZMQ_BINDS); }
#define INTEROP_CASES(name, fn)                                                     \
	{name " (tcp, zinc binds)", fn##_tcp_zb},                                   \
	{name " (tcp, libzmq binds)", fn##_tcp_lb},                                 \
	{name " (ipc, zinc binds)", fn##_ipc_zb},                                   \
	{name " (ipc, libzmq binds)", fn##_ipc_lb}
/* clang-format on */

INTEROP(zinc_dealer_libzmq_router)
INTEROP(libzmq_dealer_named)
INTEROP(libzmq_dealer_anonymous)

static void
broker_interop(void)
{
	broker_libzmq_workers(TCP, ZINC_BINDS);
}

static const struct test interop_tests[] = {
        INTEROP_CASES("zinc DEALER (named) to libzmq ROUTER", zinc_dealer_libzmq_router),
        INTEROP_CASES("libzmq DEALER (named) to zinc ROUTER", libzmq_dealer_named),
        INTEROP_CASES("libzmq DEALER (anonymous) to zinc ROUTER",
                      libzmq_dealer_anonymous),
        {"broker: 10 zinc REQ clients, 10 libzmq REP workers (tcp)", broker_interop},
        {NULL, NULL}};

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	int rc;
	if (argc > 1 && strcmp(argv[1], "--interop") == 0) {
		if (!rr_python_has_zmq()) {
			printf("skip: %s cannot import zmq\n", RR_PYTHON);
			return RR_SKIP;
		}
		rc = test_main(interop_tests);
	} else {
		rc = test_main(tests);
	}
	case_reset();
	return rc;
}
