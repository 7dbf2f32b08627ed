/*
 * test_reqrep_oom.c: allocation-failure injection (seed 003) over REQ/REP and
 * DEALER/ROUTER scenarios on inproc: REQ with ZMQ_REQ_CORRELATE against REP (envelope
 * kept and returned), DEALERs with a 100-byte routing id (a heap message inside the
 * ROUTER) against a ROUTER with ZMQ_ROUTER_HANDOVER and ZMQ_PROBE_ROUTER, a duplicate id
 * taking over, and a multipart reply. Each run fails the nth allocation (once, or from
 * then on in sticky mode): every call must succeed or fail with ENOMEM (a receive may
 * also time out when what it waits for was lost), a send that failed may be retried,
 * nothing crashes or hangs, and valgrind / ASan find no leak. A run whose hook never
 * fired must complete every exchange.
 *
 * zinc only: it reaches the allocation hook in platform/alloc.h.
 */
#include "platform/alloc.h"
#include "testutil.h"
#include "zmq.h"

#include <stdbool.h>

#define MAX_STEPS 5000
#define TIMEO_MS  50
#define EXCHANGES 5

/* ok: a call that returns -1 on error succeeded, or failed with ENOMEM (or EAGAIN for
 * a receive that timed out). Returns whether it succeeded. */
#define OK(call) ok_((call) != -1, #call, __LINE__)

static bool
ok_(bool ok, const char *what, int line)
{
	if (ok)
		return true;
	if (errno != ENOMEM && errno != EAGAIN)
		TEST_FAIL("line %d: %s failed with %s", line, what, strerror(errno));
	return false;
}

/* send_retry: sends the parts as one message, starting over once after ENOMEM. */
static bool
send_retry(void *s, const char *const *parts, int n)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int i;
		for (i = 0; i < n; i++)
			if (!OK(zmq_send(s, parts[i], strlen(parts[i]),
			                 i < n - 1 ? ZMQ_SNDMORE : 0)))
				break;
		if (i == n)
			return true;
	}
	return false;
}

/* recv_is: receives one part and checks it, when it arrives. */
static bool
recv_is(void *s, const char *want, bool more)
{
	char buf[256];
	int n = zmq_recv(s, buf, sizeof buf, 0);
	if (!OK(n))
		return false;
	CHECK_EQ(n, (int)strlen(want));
	CHECK(memcmp(buf, want, (size_t)n) == 0);
	int rcvmore;
	size_t len = sizeof rcvmore;
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &rcvmore, &len));
	CHECK_EQ(rcvmore, more);
	return true;
}

static void *
sock(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s) {
		if (errno != ENOMEM && errno != EMFILE)
			TEST_FAIL("zmq_socket: %s", strerror(errno));
		return NULL;
	}
	int zero = 0, timeo = TIMEO_MS;
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeo, sizeof timeo));
	CHECK_OK(zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeo, sizeof timeo));
	return s;
}

static char long_id[101];

/* req_rep: one round trip; returns whether it completed. A REQ whose request or reply
 * was lost may ask again (ZMQ_REQ_RELAXED); a REP that could not answer must still
 * answer, so *stuck stops the round trips then. */
static bool
req_rep(void *req, void *rep, bool *stuck)
{
	const char *q[] = {"question"}, *a[] = {"answer", "in two"};
	if (*stuck || !send_retry(req, q, 1))
		return false;
	if (!recv_is(rep, "question", false))
		return false;
	if (!send_retry(rep, a, 2)) {
		*stuck = true;
		return false;
	}
	return recv_is(req, "answer", true) && recv_is(req, "in two", false);
}

/* dealer_router: the dealer says hello, the router answers by id. The probe the router
 * sent on attach comes first. */
static bool
dealer_router(void *dealer, void *router, bool *probed)
{
	const char *hello[] = {"hello"}, *back[] = {long_id, "back"};
	if (!send_retry(dealer, hello, 1))
		return false;
	if (!recv_is(router, long_id, true) || !recv_is(router, "hello", false))
		return false;
	if (!send_retry(router, back, 2))
		return false;
	if (!*probed) {
		if (!recv_is(dealer, "", false))
			return false;
		*probed = true;
	}
	return recv_is(dealer, "back", false);
}

struct result {
	int done; /* exchanges completed */
	long failures;
};

static void
run(long n, bool sticky, struct result *r)
{
	memset(r, 0, sizeof *r);
	zn_alloc_fail_after(n, sticky);
	void *ctx = zmq_ctx_new(), *s[5] = {NULL};
	if (!ctx) {
		if (errno != ENOMEM && errno != EMFILE)
			TEST_FAIL("zmq_ctx_new: %s", strerror(errno));
		goto out;
	}
	static const int types[5] = {ZMQ_REQ, ZMQ_REP, ZMQ_DEALER, ZMQ_ROUTER,
	                             ZMQ_DEALER};
	for (int i = 0; i < 5; i++)
		if (!(s[i] = sock(ctx, types[i])))
			goto close;
	void *req = s[0], *rep = s[1], *dealer = s[2], *router = s[3], *twin = s[4];
	int one = 1;
	CHECK_OK(zmq_setsockopt(req, ZMQ_REQ_CORRELATE, &one, sizeof one));
	CHECK_OK(zmq_setsockopt(req, ZMQ_REQ_RELAXED, &one, sizeof one));
	CHECK_OK(zmq_setsockopt(router, ZMQ_ROUTER_HANDOVER, &one, sizeof one));
	CHECK_OK(zmq_setsockopt(router, ZMQ_PROBE_ROUTER, &one, sizeof one));
	CHECK_OK(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, long_id, 100));
	CHECK_OK(zmq_setsockopt(twin, ZMQ_ROUTING_ID, long_id, 100));
	if (!OK(zmq_bind(rep, "inproc://rep")) ||
	    !OK(zmq_bind(router, "inproc://router")) ||
	    !OK(zmq_connect(req, "inproc://rep")) ||
	    !OK(zmq_connect(dealer, "inproc://router")))
		goto close;
	bool probed = false, twin_probed = false, stuck = false;
	for (int i = 0; i < EXCHANGES; i++) {
		r->done += req_rep(req, rep, &stuck);
		r->done += dealer_router(dealer, router, &probed);
	}
	/* The twin takes the id over. */
	if (OK(zmq_connect(twin, "inproc://router")))
		r->done += dealer_router(twin, router, &twin_probed);
close:
	if (sticky) {
		r->failures = zn_alloc_failures();
		zn_alloc_fail_after(0, 0);
	}
	for (int i = 0; i < 5; i++)
		if (s[i])
			CHECK_OK(zmq_close(s[i]));
	if (ctx)
		CHECK_OK(zmq_ctx_term(ctx));
out:
	if (!sticky || !ctx) {
		r->failures = zn_alloc_failures();
		zn_alloc_fail_after(0, 0);
	}
}

static void
sweep(bool sticky)
{
	memset(long_id, 'i', 100);
	struct result r;
	run(0, false, &r);
	CHECK_EQ(r.done, 2 * EXCHANGES + 1);
	long n;
	int clean = 0;
	for (n = 1; n < MAX_STEPS && clean < 3; n++) {
		run(n, sticky, &r);
		if (r.failures == 0) {
			CHECK_EQ(r.done,
			         2 * EXCHANGES + 1); /* past the last allocation */
			clean++;
		} else {
			clean = 0;
		}
	}
	CHECK(n < MAX_STEPS);
	printf("     %s: %ld allocation points\n", sticky ? "sticky" : "one failure",
	       n - 4);
}

static void
one_failure(void)
{
	sweep(false);
}

static void
sticky_failure(void)
{
	sweep(true);
}

static const struct test tests[] = {
        {"req/rep and dealer/router survive any one allocation failure", one_failure},
        {"req/rep and dealer/router survive failing from any point on", sticky_failure},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
