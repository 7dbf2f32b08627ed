/*
 * test_shm_types.c: every socket type over shm:// between two processes (issue 6): PAIR
 * ping-pong, PUSH/PULL 1M small messages in order, fan-in from three pushers and
 * fan-out to three pullers, PUB/SUB with subscriptions upstream, filtering and
 * unsubscription, XPUB/XSUB with the subscription messages seen by the publisher,
 * REQ/REP in both bind orders, DEALER/ROUTER with routing ids (and a killed DEALER that
 * becomes unroutable while the other goes on). Endpoints, sizes, HWM and dead peers are
 * in test_shm.c.
 *
 * Peers are forked processes (shm_util.h); waits are socket timeouts, zmq_poll, pipes
 * between the processes and monitor events, never sleeps. Under valgrind the counts
 * shrink.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shm_util.h"

static char ep[64]; /* the case's endpoint, set before the kids are forked */

#define KID(i)      ((void *)(intptr_t)(i))
#define KID_NO(arg) ((int)(intptr_t)(arg))

/* ---------------------------------------------------------------------------- */
/* PAIR, PUSH/PULL                                                               */
/* ---------------------------------------------------------------------------- */

static int
pair_rounds(void)
{
	return quick ? 100 : 2000;
}

static void
kid_pair(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_connect(s, ep));
	for (int i = 0; i < pair_rounds(); i++) {
		uint64_t v = recv_u64(s);
		CHECK_EQ(v, (uint64_t)i);
		send_u64(s, v + 1000000, 0);
	}
	hear(kid_in, WAIT_MS, 'D'); /* linger 0: stay until the last reply is in */
}

static void
pair(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_pair, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_bind(s, ep));
	for (int i = 0; i < pair_rounds(); i++) {
		send_u64(s, (uint64_t)i, 0);
		CHECK_EQ(recv_u64(s), (uint64_t)i + 1000000);
	}
	tell(kids[k].to, 'D');
	kid_reap(k, WAIT_MS);
}

static uint64_t stream_n;

static void
kid_push_stream(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open_default(ZMQ_PUSH);
	CHECK_OK(zmq_connect(s, ep));
	for (uint64_t i = 0; i < stream_n; i++)
		send_u64(s, i, 0);
	sock_close(s); /* with linger -1 */
}

static void
push_pull_1m(void)
{
	stream_n = quick ? 50000 : 1000000;
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_push_stream, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_bind(s, ep));
	for (uint64_t i = 0; i < stream_n; i++) {
		uint64_t v = 0;
		int n = zmq_recv(s, &v, sizeof v, 0);
		if (n != 8 || v != i)
			TEST_FAIL("message %llu: %d bytes, value %llu",
			          (unsigned long long)i, n, (unsigned long long)v);
	}
	kid_reap(k, WAIT_MS);
}

#define FAN     3
#define FAN_MSG 16 /* bytes: the kid's number, then a sequence number */

static uint64_t fan_n;

static void
kid_fan_in(void *arg)
{
	ctx_open();
	void *s = sock_open_default(ZMQ_PUSH);
	CHECK_OK(zmq_connect(s, ep));
	uint64_t m[2] = {(uint64_t)KID_NO(arg), 0};
	for (; m[1] < fan_n; m[1]++)
		CHECK_EQ(zmq_send(s, m, sizeof m, 0), FAN_MSG);
	sock_close(s);
}

static void
fan_in(void)
{
	fan_n = quick ? 3000 : 50000;
	shm_new(ep, sizeof ep);
	int k[FAN];
	for (int i = 0; i < FAN; i++)
		k[i] = kid_spawn(kid_fan_in, KID(i));
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_bind(s, ep));
	uint64_t next[FAN] = {0};
	for (uint64_t n = 0; n < FAN * fan_n; n++) {
		uint64_t m[2];
		CHECK_EQ(zmq_recv(s, m, sizeof m, 0), FAN_MSG);
		CHECK(m[0] < FAN);
		CHECK_EQ(m[1], next[m[0]]); /* each pusher's messages in order */
		next[m[0]]++;
	}
	for (int i = 0; i < FAN; i++)
		kid_reap(k[i], WAIT_MS);
}

static void
kid_fan_out(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_connect(s, ep));
	uint64_t count = 0, last = 0;
	for (;;) {
		uint64_t v;
		int n = zmq_recv(s, &v, sizeof v, 0);
		CHECK(n == 8 || n == 3);
		if (n == 3)
			break; /* "end": all that was meant for us came before */
		CHECK(count == 0 || v > last);
		last = v;
		count++;
	}
	tell_u64(kid_out, count);
	hear(kid_in, WAIT_MS * 2, 'Q');
}

static void
fan_out(void)
{
	fan_n = quick ? 3000 : 60000;
	shm_new(ep, sizeof ep);
	int k[FAN];
	for (int i = 0; i < FAN; i++)
		k[i] = kid_spawn(kid_fan_out, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PUSH);
	void *mon = monitor_open(s, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	CHECK_OK(zmq_bind(s, ep));
	for (int i = 0; i < FAN; i++)
		monitor_expect(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	for (uint64_t i = 0; i < fan_n; i++)
		send_u64(s, i, 0);
	/* Each puller reports at its first "end"; send them until all three have. */
	uint64_t count[FAN], total = 0;
	bool told[FAN] = {false};
	int reported = 0;
	long long end = test_now_ms() + WAIT_MS * 2;
	while (reported < FAN) {
		CHECK(test_now_ms() < end);
		send_str(s, "end", 0);
		struct pollfd p[FAN];
		for (int i = 0; i < FAN; i++)
			p[i] = (struct pollfd){kids[k[i]].from, told[i] ? 0 : POLLIN, 0};
		if (poll(p, FAN, 100) <= 0)
			continue;
		for (int i = 0; i < FAN; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			count[i] = hear_u64(kids[k[i]].from, 0);
			told[i] = true;
			reported++;
			total += count[i];
		}
	}
	CHECK_EQ(total, fan_n);
	for (int i = 0; i < FAN; i++) {
		CHECK(count[i] > 0); /* round robin reached every puller */
		tell(kids[k[i]].to, 'Q');
		kid_reap(k[i], WAIT_MS);
	}
}

/* ---------------------------------------------------------------------------- */
/* PUB/SUB, XPUB/XSUB                                                            */
/* ---------------------------------------------------------------------------- */

/* recv_skip: the next message that does not start with skip (probes) must be want. */
static void
recv_skip(void *s, const char *skip, const char *want)
{
	char buf[64];
	for (;;) {
		int n = zmq_recv(s, buf, sizeof buf - 1, 0);
		if (n < 0)
			TEST_FAIL("zmq_recv (want \"%s\"): %s", want,
			          zmq_strerror(errno));
		buf[n < 63 ? n : 63] = '\0';
		if (strncmp(buf, skip, strlen(skip)) != 0)
			break;
	}
	CHECK_STR(buf, want);
}

/* probe_until: publishes probe every 10 ms until the kid says it got one. */
static void
probe_until(void *pub, int k, const char *probe, int word)
{
	long long end = test_now_ms() + WAIT_MS;
	struct pollfd p = {kids[k].from, POLLIN, 0};
	do {
		CHECK(test_now_ms() < end);
		send_str(pub, probe, 0);
	} while (poll(&p, 1, 10) == 0);
	hear(kids[k].from, 0, word);
}

static const char *const topics[] = {"A", "B", "C", "D", "AB", "CA", "BA"};
#define NTOPICS 7

static void
kid_sub(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_SUB);
	CHECK_OK(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "A", 1));
	CHECK_OK(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "C", 1));
	CHECK_OK(zmq_connect(s, ep));
	recv_str(s, "A-probe");
	tell(kid_out, 'S');
	char want[32];
	for (int i = 0; i < 700; i++) {
		const char *t = topics[i % NTOPICS];
		if (t[0] != 'A' && t[0] != 'C')
			continue; /* filtered at the publisher */
		snprintf(want, sizeof want, "%s-%d", t, i);
		recv_skip(s, "A-probe", want);
	}
	recv_str(s, "C-end");
	/* Now C out, B in. */
	CHECK_OK(zmq_setsockopt(s, ZMQ_UNSUBSCRIBE, "C", 1));
	CHECK_OK(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "B", 1));
	recv_skip(s, "A-probe", "B-probe");
	tell(kid_out, 'T');
	recv_skip(s, "B-probe", "B-y");
	recv_str(s, "A-z");
	recv_str(s, "B-end");
}

static void
pub_sub(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_sub, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PUB);
	CHECK_OK(zmq_bind(s, ep));
	probe_until(s, k, "A-probe", 'S');
	char msg[32];
	for (int i = 0; i < 700; i++) {
		snprintf(msg, sizeof msg, "%s-%d", topics[i % NTOPICS], i);
		send_str(s, msg, 0);
	}
	send_str(s, "C-end", 0);
	probe_until(s, k, "B-probe", 'T');
	send_str(s, "C-x", 0); /* unsubscribed: dropped */
	send_str(s, "B-y", 0);
	send_str(s, "A-z", 0);
	send_str(s, "B-end", 0);
	kid_reap(k, WAIT_MS);
}

static void
kid_xsub(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_XSUB);
	CHECK_OK(zmq_connect(s, ep));
	CHECK_EQ(zmq_send(s, "\1topic", 6, 0), 6);
	recv_str(s, "topic-1");
	recv_str(s, "topic-2"); /* "other" was filtered out in between */
	CHECK_EQ(zmq_send(s, "\0topic", 6, 0), 6);
	hear(kid_in, WAIT_MS, 'Q');
}

static void
xpub_xsub(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_xsub, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_XPUB);
	CHECK_OK(zmq_bind(s, ep));
	char buf[16];
	CHECK_EQ(zmq_recv(s, buf, sizeof buf, 0), 6); /* the subscription, upstream */
	CHECK(memcmp(buf, "\1topic", 6) == 0);
	send_str(s, "topic-1", 0);
	send_str(s, "other", 0);
	send_str(s, "topic-2", 0);
	CHECK_EQ(zmq_recv(s, buf, sizeof buf, 0), 6); /* and the unsubscription */
	CHECK(memcmp(buf, "\0topic", 6) == 0);
	tell(kids[k].to, 'Q');
	kid_reap(k, WAIT_MS);
}

/* ---------------------------------------------------------------------------- */
/* REQ/REP, DEALER/ROUTER                                                        */
/* ---------------------------------------------------------------------------- */

static bool kid_binds;

static void
kid_rep(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_REP);
	CHECK_OK(kid_binds ? zmq_bind(s, ep) : zmq_connect(s, ep));
	for (int i = 0; i < pair_rounds(); i++) {
		uint64_t v = recv_u64(s);
		CHECK(rcvmore(s));
		recv_sized(s, (size_t)i % 3000, false);
		send_u64(s, v, ZMQ_SNDMORE);
		send_sized(s, (size_t)i % 5000, 0);
	}
	hear(kid_in, WAIT_MS, 'D'); /* linger 0: stay until the last reply is in */
}

static void
req_rep_order(bool parent_binds)
{
	kid_binds = !parent_binds;
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_rep, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_REQ);
	CHECK_OK(parent_binds ? zmq_bind(s, ep) : zmq_connect(s, ep));
	for (int i = 0; i < pair_rounds(); i++) {
		send_u64(s, (uint64_t)i * 7, ZMQ_SNDMORE);
		send_sized(s, (size_t)i % 3000, 0);
		CHECK_EQ(recv_u64(s), (uint64_t)i * 7);
		CHECK(rcvmore(s));
		recv_sized(s, (size_t)i % 5000, false);
	}
	tell(kids[k].to, 'D');
	kid_reap(k, WAIT_MS);
}

static void
req_rep(void)
{
	req_rep_order(true);
	ctx_close();
	req_rep_order(false);
}

#define DEALERS 2
#define DR_MSGS 200

static void
kid_dealer(void *arg)
{
	int me = KID_NO(arg);
	char id[8];
	snprintf(id, sizeof id, "d%d", me);
	ctx_open();
	void *s = sock_open(ZMQ_DEALER);
	CHECK_OK(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id)));
	CHECK_OK(zmq_connect(s, ep));
	for (uint64_t i = 0; i < DR_MSGS; i++) {
		send_str(s, id, ZMQ_SNDMORE);
		send_u64(s, i, 0);
	}
	for (uint64_t i = 0; i < DR_MSGS; i++) {
		recv_str(s, "re");
		CHECK(rcvmore(s));
		CHECK_EQ(recv_u64(s), i);
		CHECK(!rcvmore(s));
	}
	tell(kid_out, 'D');
	hear(kid_in, WAIT_MS * 2, 'Q'); /* d0 is killed here */
	recv_str(s, "still here");
}

static void
dealer_router(void)
{
	shm_new(ep, sizeof ep);
	int k[DEALERS];
	for (int i = 0; i < DEALERS; i++)
		k[i] = kid_spawn(kid_dealer, KID(i));
	ctx_open();
	void *s = sock_open(ZMQ_ROUTER);
	set_int(s, ZMQ_ROUTER_MANDATORY, 1);
	void *mon = monitor_open(s, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(s, ep));
	uint64_t next[DEALERS] = {0};
	for (int n = 0; n < DEALERS * DR_MSGS; n++) {
		char id[8], body[8];
		int idn = zmq_recv(s, id, sizeof id - 1, 0);
		CHECK(idn == 2 && rcvmore(s));
		id[idn] = '\0';
		CHECK_EQ(zmq_recv(s, body, sizeof body - 1, 0), 2);
		body[2] = '\0';
		CHECK_STR(body, id); /* the routing id is the one the dealer set */
		int who = id[1] - '0';
		CHECK(who >= 0 && who < DEALERS);
		CHECK_EQ(recv_u64(s), next[who]);
		send_str(s, id, ZMQ_SNDMORE);
		send_str(s, "re", ZMQ_SNDMORE);
		send_u64(s, next[who]++, 0);
	}
	for (int i = 0; i < DEALERS; i++)
		hear(kids[k[i]].from, WAIT_MS, 'D');
	CHECK_ERR(zmq_send(s, "zz", 2, ZMQ_SNDMORE), EHOSTUNREACH);

	/* d0 dies: it becomes unroutable, d1 is still served. */
	kid_kill(k[0]);
	monitor_expect(mon, ZMQ_EVENT_DISCONNECTED, NULL, NULL, 0);
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		errno = 0;
		int rc = zmq_send(s, "d0", 2, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		if (rc < 0 && errno == EHOSTUNREACH)
			break;
		CHECK(rc == 2);
		send_str(s, "lost", 0); /* the pipe is not gone yet: complete it */
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 1);
	}
	send_str(s, "d1", ZMQ_SNDMORE);
	send_str(s, "still here", 0);
	tell(kids[k[1]].to, 'Q');
	kid_reap(k[1], WAIT_MS);
}

SHM_CASE(pair)
SHM_CASE(push_pull_1m)
SHM_CASE(fan_in)
SHM_CASE(fan_out)
SHM_CASE(pub_sub)
SHM_CASE(xpub_xsub)
SHM_CASE(req_rep)
SHM_CASE(dealer_router)

static const struct test tests[] = {
        SHM_ENTRY(pair),    SHM_ENTRY(push_pull_1m),  SHM_ENTRY(fan_in),
        SHM_ENTRY(fan_out), SHM_ENTRY(pub_sub),       SHM_ENTRY(xpub_xsub),
        SHM_ENTRY(req_rep), SHM_ENTRY(dealer_router), {NULL, NULL},
};

int
main(int argc, char **argv)
{
	return shm_main(argc, argv, tests, 8192, 8192);
}
