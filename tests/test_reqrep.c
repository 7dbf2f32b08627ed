/*
 * test_reqrep.c: ZMQ_REQ and ZMQ_REP on inproc, ipc and tcp (zinc to zinc): echo with
 * multipart messages, many clients on one server (each gets its own answer), the
 * EFSM rules of both types, REP's envelope handling (kept and sent back, malformed
 * requests dropped), REQ load balancing and taking only its peer's reply, and
 * ZMQ_REQ_CORRELATE / ZMQ_REQ_RELAXED.
 *
 * With --interop it runs instead the cases against the real libzmq (Debian's, through
 * /usr/bin/python3 and tests/py/reqrep_peer.py) over tcp and ipc: zinc REQ against a
 * libzmq REP and libzmq REQ against a zinc REP, each side binding in turn; exit 77
 * (skip) when that python cannot import zmq.
 *
 * Public API only; it also builds against libzmq, from the source tree's root:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_reqrep.c -lzmq -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "reqrep_util.h"

/* The transport wrappers the case tables name. */
/* clang-format off */
#define ON_ALL(fn)                                                                  \
	static void fn##_inproc(void) { fn(INPROC); }                               \
	static void fn##_ipc(void) { fn(IPC); }                                     \
	static void fn##_tcp(void) { fn(TCP); }
#define CASES(name, fn)                                                             \
	{name " (inproc)", fn##_inproc}, {name " (ipc)", fn##_ipc},                 \
	{name " (tcp)", fn##_tcp}
/* clang-format on */

/* serve: one request on rep, answered with "re:" in front of its first part. */
static void
serve(void *rep)
{
	struct frames f;
	recv_frames(rep, &f);
	char first[RR_PART_MAX + 4];
	snprintf(first, sizeof first, "re:%.*s", (int)f.len[0], (const char *)f.data[0]);
	for (int i = 0; i < f.n; i++) {
		int flags = i < f.n - 1 ? ZMQ_SNDMORE : 0;
		if (i == 0)
			sendb(rep, first, strlen(first), flags);
		else
			sendb(rep, f.data[i], f.len[i], flags);
	}
}

static void
req_rep_echo(enum tr t)
{
	char ep[256];
	case_begin();
	void *rep = tsock(ZMQ_REP), *req = tsock(ZMQ_REQ);
	tbind(rep, t, ep, sizeof ep);
	tconnect(req, ep);
	for (int i = 0; i < 20; i++) {
		char buf[32];
		snprintf(buf, sizeof buf, "hello %d", i);
		if (i % 4 == 0) {
			sendv(req, buf, "", "tail", NULL);
			expectv(rep, buf, "", "tail", NULL);
			sendv(rep, "multi", "reply", NULL);
			expectv(req, "multi", "reply", NULL);
		} else {
			sendv(req, buf, NULL);
			serve(rep);
			char want[40];
			snprintf(want, sizeof want, "re:%s", buf);
			expectv(req, want, NULL);
		}
	}
	case_reset();
}
ON_ALL(req_rep_echo)

static void
many_clients_one_server(enum tr t)
{
	enum { N = 10 };
	char ep[256];
	case_begin();
	void *rep = tsock(ZMQ_REP), *req[N];
	tbind(rep, t, ep, sizeof ep);
	for (int i = 0; i < N; i++) {
		req[i] = tsock(ZMQ_REQ);
		tconnect(req[i], ep);
	}
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			char buf[32];
			snprintf(buf, sizeof buf, "client %d round %d", i, round);
			sendv(req[i], buf, NULL);
		}
		for (int i = 0; i < N; i++)
			serve(rep);
		for (int i = 0; i < N; i++) {
			char want[48];
			snprintf(want, sizeof want, "re:client %d round %d", i, round);
			expectv(req[i], want, NULL);
		}
	}
	case_reset();
}
ON_ALL(many_clients_one_server)

static int
events(void *s)
{
	int ev;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len));
	return ev;
}

static void
efsm_rules(enum tr t)
{
	char ep[256], buf[16];
	case_begin();
	void *rep = tsock(ZMQ_REP), *req = tsock(ZMQ_REQ);
	tbind(rep, t, ep, sizeof ep);
	tconnect(req, ep);
	CHECK_ERR(zmq_recv(req, buf, sizeof buf, 0), EFSM); /* nothing asked yet */
	CHECK_ERR(zmq_send(rep, "x", 1, 0), EFSM);          /* nothing to answer */
	sendv(req, "one", NULL);
	CHECK_ERR(zmq_send(req, "two", 3, 0), EFSM); /* waiting for a reply */
	CHECK_EQ(events(req) & ZMQ_POLLOUT, 0);
	expectv(rep, "one", NULL);
	CHECK_ERR(zmq_recv(rep, buf, sizeof buf, 0), EFSM); /* must answer first */
	CHECK_EQ(events(rep) & ZMQ_POLLIN, 0);
	CHECK(events(rep) & ZMQ_POLLOUT);
	sendv(rep, "answer", NULL);
	CHECK_ERR(zmq_send(rep, "again", 5, 0), EFSM); /* answered already */
	CHECK_EQ(events(rep) & ZMQ_POLLOUT, 0);
	expectv(req, "answer", NULL);
	CHECK_ERR(zmq_recv(req, buf, sizeof buf, ZMQ_DONTWAIT), EFSM);
	CHECK(events(req) & ZMQ_POLLOUT);
	/* A request sent in parts is one request. */
	sendb(req, "a", 1, ZMQ_SNDMORE);
	sendb(req, "b", 1, 0);
	expectv(rep, "a", "b", NULL);
	sendv(rep, "ok", NULL);
	expectv(req, "ok", NULL);
	case_reset();
}
ON_ALL(efsm_rules)

static void
rep_keeps_envelope(enum tr t)
{
	char ep[256];
	case_begin();
	void *rep = tsock(ZMQ_REP), *dealer = tsock(ZMQ_DEALER);
	tbind(rep, t, ep, sizeof ep);
	tconnect(dealer, ep);
	sendv(dealer, "hop1", "hop2", "", "body", NULL);
	expectv(rep, "body", NULL);
	sendv(rep, "r1", "r2", NULL);
	expectv(dealer, "hop1", "hop2", "", "r1", "r2", NULL);
	/* The envelope of the next request replaces the last one. */
	sendv(dealer, "", "second", NULL);
	expectv(rep, "second", NULL);
	sendv(rep, "r3", NULL);
	expectv(dealer, "", "r3", NULL);
	case_reset();
}
ON_ALL(rep_keeps_envelope)

static void
rep_drops_requests_without_delimiter(enum tr t)
{
	char ep[256];
	case_begin();
	void *rep = tsock(ZMQ_REP), *dealer = tsock(ZMQ_DEALER);
	tbind(rep, t, ep, sizeof ep);
	tconnect(dealer, ep);
	sendv(dealer, "no delimiter", NULL);
	sendv(dealer, "still", "none", NULL);
	sendv(dealer, "id", "", "good", NULL);
	expectv(rep, "good", NULL);
	sendv(rep, "fine", NULL);
	expectv(dealer, "id", "", "fine", NULL);
	case_reset();
}
ON_ALL(rep_drops_requests_without_delimiter)

/* which: the index of the socket in s[0..n) that has a message within RR_WAIT_MS. */
static int
which(void **s, int n)
{
	zmq_pollitem_t it[8];
	CHECK(n <= 8);
	for (int i = 0; i < n; i++)
		it[i] = (zmq_pollitem_t){s[i], 0, ZMQ_POLLIN, 0};
	int rc = zmq_poll(it, n, RR_WAIT_MS);
	CHECK(rc > 0);
	for (int i = 0; i < n; i++)
		if (it[i].revents & ZMQ_POLLIN)
			return i;
	TEST_FAIL("poll said ready, but no socket is");
}

static void
req_load_balances(enum tr t)
{
	enum { N = 3, ROUNDS = 4 };
	char ep[N][256];
	case_begin();
	void *req = tsock(ZMQ_REQ), *rep[N];
	for (int i = 0; i < N; i++) {
		rep[i] = tsock(ZMQ_REP);
		tbind(rep[i], t, ep[i], sizeof ep[i]);
		tconnect(req, ep[i]);
	}
	int order[N * ROUNDS];
	for (int k = 0; k < N * ROUNDS; k++) {
		sendv(req, "job", NULL);
		int i = order[k] = which(rep, N);
		expectv(rep[i], "job", NULL);
		sendv(rep[i], "done", NULL);
		expectv(req, "done", NULL);
	}
	/* Round robin: every peer once per round, in the same order each round. */
	for (int k = N; k < N * ROUNDS; k++)
		CHECK_EQ(order[k], order[k - N]);
	for (int a = 0; a < N; a++)
		for (int b = a + 1; b < N; b++)
			CHECK(order[a] != order[b]);
	case_reset();
}
ON_ALL(req_load_balances)

/* wait_routable: sends [id, parts...] from a ROUTER with ZMQ_ROUTER_MANDATORY until
 * the peer is known (its connection may still be coming up). */
static void
send_when_routable(void *router, const char *id, const char *a, const char *b)
{
	long long deadline = test_now_ms() + RR_WAIT_MS;
	for (;;) {
		if (zmq_send(router, id, strlen(id), ZMQ_SNDMORE) >= 0)
			break;
		CHECK_EQ(errno, EHOSTUNREACH);
		CHECK(test_now_ms() < deadline);
		test_sleep_ms(5);
	}
	sendb(router, a, strlen(a), ZMQ_SNDMORE);
	sendb(router, b, strlen(b), 0);
}

static void
req_takes_only_its_peers_reply(enum tr t)
{
	char ep[2][256];
	case_begin();
	void *req = tsock(ZMQ_REQ), *router[2];
	set_str(req, ZMQ_ROUTING_ID, "me");
	for (int i = 0; i < 2; i++) {
		router[i] = tsock(ZMQ_ROUTER);
		set_int(router[i], ZMQ_ROUTER_MANDATORY, 1);
		tbind(router[i], t, ep[i], sizeof ep[i]);
		tconnect(req, ep[i]);
	}
	for (int round = 0; round < 2; round++) {
		sendv(req, "question", NULL);
		int i = which(router, 2);
		expectv(router[i], "me", "", "question", NULL);
		send_when_routable(router[1 - i], "me", "", "impostor");
		test_sleep_ms(50); /* let the wrong reply arrive first */
		send_when_routable(router[i], "me", "", "answer");
		expectv(req, "answer", NULL);
	}
	case_reset();
}
ON_ALL(req_takes_only_its_peers_reply)

static void
req_correlate_and_relaxed(enum tr t)
{
	char ep[256];
	struct frames a, b;
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *req = tsock(ZMQ_REQ);
	set_int(req, ZMQ_REQ_CORRELATE, 1);
	set_int(req, ZMQ_REQ_RELAXED, 1);
	set_str(req, ZMQ_ROUTING_ID, "req");
	tbind(router, t, ep, sizeof ep);
	tconnect(req, ep);
	sendv(req, "first", NULL);
	CHECK_EQ(recv_frames(router, &a), 4);
	CHECK(frame_is(&a, 0, "req") && a.len[1] == 4 && frame_is(&a, 2, "") &&
	      frame_is(&a, 3, "first"));
	/* Relaxed: a new request abandons the first one. */
	CHECK(events(req) & ZMQ_POLLOUT);
	sendv(req, "second", NULL);
	CHECK_EQ(recv_frames(router, &b), 4);
	CHECK(b.len[1] == 4 && memcmp(a.data[1], b.data[1], 4) != 0);
	CHECK(frame_is(&b, 2, "") && frame_is(&b, 3, "second"));
	/* The late answer to the first request carries its id: dropped. */
	sendb(router, "req", 3, ZMQ_SNDMORE);
	sendb(router, a.data[1], 4, ZMQ_SNDMORE);
	sendv(router, "", "stale", NULL);
	sendb(router, "req", 3, ZMQ_SNDMORE);
	sendb(router, b.data[1], 4, ZMQ_SNDMORE);
	sendv(router, "", "fresh", NULL);
	expectv(req, "fresh", NULL);
	case_reset();
}
ON_ALL(req_correlate_and_relaxed)

/* A reply already queued when the next request goes (a peer that answered twice) is
 * dropped, not taken for the next request's reply. inproc: both answers are in the
 * pipe when the first is received, so the drop has something to find. */
static void
req_drops_replies_queued_before_a_request(void)
{
	char ep[256];
	struct frames f;
	case_begin();
	void *router = tsock(ZMQ_ROUTER), *req = tsock(ZMQ_REQ);
	set_str(req, ZMQ_ROUTING_ID, "req");
	tbind(router, INPROC, ep, sizeof ep);
	tconnect(req, ep);
	sendv(req, "one", NULL);
	CHECK_EQ(recv_frames(router, &f), 3);
	CHECK(frame_is(&f, 0, "req") && frame_is(&f, 1, "") && frame_is(&f, 2, "one"));
	sendv(router, "req", "", "answer", NULL);
	sendv(router, "req", "", "duplicate", NULL);
	expectv(req, "answer", NULL);
	sendv(req, "two", NULL);
	CHECK_EQ(recv_frames(router, &f), 3);
	CHECK(frame_is(&f, 2, "two"));
	sendv(router, "req", "", "fresh", NULL);
	expectv(req, "fresh", NULL);
	case_reset();
}

static void
options_of_other_types_are_refused(void)
{
	case_begin();
	void *req = tsock(ZMQ_REQ), *rep = tsock(ZMQ_REP);
	int one = 1;
	CHECK_ERR(zmq_setsockopt(req, ZMQ_ROUTER_MANDATORY, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(rep, ZMQ_REQ_CORRELATE, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(rep, ZMQ_REQ_RELAXED, &one, sizeof one), EINVAL);
	set_int(req, ZMQ_PROBE_ROUTER, 1);
	case_reset();
}

static void
reply_to_a_vanished_peer_is_dropped(enum tr t)
{
	char ep[256];
	case_begin();
	void *rep = tsock(ZMQ_REP), *req = tsock(ZMQ_REQ), *req2 = tsock(ZMQ_REQ);
	tbind(rep, t, ep, sizeof ep);
	tconnect(req, ep);
	sendv(req, "bye", NULL);
	expectv(rep, "bye", NULL);
	tsock_close(req);
	sendv(rep, "into the void", NULL); /* never blocks, never fails */
	tconnect(req2, ep);
	sendv(req2, "hi", NULL);
	expectv(rep, "hi", NULL);
	sendv(rep, "hello", NULL);
	expectv(req2, "hello", NULL);
	case_reset();
}
ON_ALL(reply_to_a_vanished_peer_is_dropped)

static const struct test tests[] = {
        CASES("req/rep echo with multipart", req_rep_echo),
        CASES("ten clients, one server, own answers", many_clients_one_server),
        CASES("EFSM: strict alternation on both sides", efsm_rules),
        CASES("rep keeps and returns the envelope", rep_keeps_envelope),
        CASES("rep drops requests without delimiter",
              rep_drops_requests_without_delimiter),
        CASES("req load-balances round robin", req_load_balances),
        CASES("req takes only its peer's reply", req_takes_only_its_peers_reply),
        CASES("req correlate + relaxed drops a stale reply", req_correlate_and_relaxed),
        {"req drops a reply queued before its next request (inproc)",
         req_drops_replies_queued_before_a_request},
        CASES("reply to a vanished peer is dropped", reply_to_a_vanished_peer_is_dropped),
        {"options of other types are EINVAL", options_of_other_types_are_refused},
        {NULL, NULL}};

/* ---- against libzmq ---------------------------------------------------------- */

enum side { ZINC_BINDS, LIBZMQ_BINDS };

/* link_up: binds s and starts the peer connecting, or the other way round. */
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
zinc_req_libzmq_rep(enum tr t, enum side b)
{
	enum { N = 50 };
	const char *args[] = {"50", NULL};
	case_begin();
	void *req = tsock(ZMQ_REQ);
	struct rr_peer *p = link_up(t, b, req, "rep-echo", args);
	for (int i = 0; i < N; i++) {
		char buf[32], want[40];
		snprintf(buf, sizeof buf, "req %d", i);
		snprintf(want, sizeof want, "re:%s", buf);
		if (i % 3 == 0) {
			sendv(req, buf, "part2", NULL);
			expectv(req, want, "part2", NULL);
		} else {
			sendv(req, buf, NULL);
			expectv(req, want, NULL);
		}
	}
	CHECK_EQ(peer_finish(p, NULL, 0), 0);
	case_reset();
}

static void
libzmq_req_zinc_rep(enum tr t, enum side b)
{
	const char *args[] = {"50", NULL};
	case_begin();
	void *rep = tsock(ZMQ_REP);
	struct rr_peer *p = link_up(t, b, rep, "req-client", args);
	for (int i = 0; i < 50; i++)
		serve(rep);
	CHECK_EQ(peer_finish(p, NULL, 0), 0);
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

INTEROP(zinc_req_libzmq_rep)
INTEROP(libzmq_req_zinc_rep)

static const struct test interop_tests[] = {
        INTEROP_CASES("zinc REQ to libzmq REP", zinc_req_libzmq_rep),
        INTEROP_CASES("libzmq REQ to zinc REP", libzmq_req_zinc_rep),
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
