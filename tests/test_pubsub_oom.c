/*
 * test_pubsub_oom.c: allocation-failure injection (seed 003) over PUB/SUB and
 * XPUB/XSUB on inproc: two subscribers (one to a 60-byte topic, so the trie grows a
 * long chain; one to everything), multipart messages with heap payloads fanned out to
 * both, an unsubscription, an XPUB with a welcome message and verbose notes, and an
 * XSUB subscribing and sending data upstream. Each run fails the nth allocation (once,
 * or from then on in sticky mode): every call must succeed or fail with ENOMEM (a
 * receive may also time out when what it waits for was lost), nothing crashes or
 * hangs, and valgrind / ASan find no leak. A run whose hook never fired must complete
 * every exchange (inproc subscriptions are in effect by the publisher's next call).
 *
 * zinc only: it reaches the allocation hook in platform/alloc.h.
 */
#include "platform/alloc.h"
#include "testutil.h"
#include "zmq.h"

#include <stdbool.h>

#define MAX_STEPS 5000
#define TIMEO_MS  50
#define EXCHANGES 3

#define OK(call) ok_((call) != -1, #call, __LINE__)

/* ok_: the call succeeded, or failed with ENOMEM (EAGAIN: a receive timed out). */
static bool
ok_(bool ok, const char *what, int line)
{
	if (ok)
		return true;
	if (errno != ENOMEM && errno != EAGAIN)
		TEST_FAIL("line %d: %s failed with %s", line, what, strerror(errno));
	return false;
}

static char topic[61];    /* "A" and 59 more bytes */
static char payload[101]; /* a heap message */

/* send_parts: one message of n parts, started over once after ENOMEM. */
static bool
send_parts(void *s, const char *const *parts, int n)
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

/* recv_parts: one message of n parts, each checked. A message equal to skip (if not
 * NULL) coming first is passed over: a late welcome whose wait timed out. */
static bool
recv_parts(void *s, const char *const *parts, int n, const char *skip)
{
	static char buf[256];
	for (int i = 0; i < n; i++) {
		int k = zmq_recv(s, buf, sizeof buf, 0);
		if (i == 0 && skip && k == (int)strlen(skip) &&
		    memcmp(buf, skip, (size_t)k) == 0)
			k = zmq_recv(s, buf, sizeof buf, 0);
		if (!OK(k))
			return false;
		CHECK_EQ(k, (int)strlen(parts[i]));
		CHECK(memcmp(buf, parts[i], (size_t)k) == 0);
		int more;
		size_t len = sizeof more;
		CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len));
		CHECK_EQ(more, i < n - 1);
	}
	return true;
}

static bool
sub(void *s, int option, const char *t)
{
	return OK(zmq_setsockopt(s, option, t, strlen(t)));
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

/* scenario: the exchanges; returns how many completed. */
static int
scenario(void *const *s)
{
	void *pub = s[0], *s1 = s[1], *s2 = s[2], *xpub = s[3], *xsub = s[4];
	int done = 0;
	const char *msg[] = {topic, payload, "end"};
	const char *other[] = {"B", payload};
	int one = 1;
	if (!OK(zmq_setsockopt(xpub, ZMQ_XPUB_VERBOSE, &one, sizeof one)) ||
	    !OK(zmq_setsockopt(xpub, ZMQ_XPUB_WELCOME_MSG, "welcome", 7)) ||
	    !OK(zmq_bind(pub, "inproc://pub")) || !OK(zmq_bind(xpub, "inproc://xpub")) ||
	    !sub(s1, ZMQ_SUBSCRIBE, topic) || !sub(s1, ZMQ_SUBSCRIBE, "Z") ||
	    !sub(s2, ZMQ_SUBSCRIBE, "") || !OK(zmq_connect(s1, "inproc://pub")) ||
	    !OK(zmq_connect(s2, "inproc://pub")) ||
	    !OK(zmq_connect(xsub, "inproc://xpub")))
		return done;
	for (int i = 0; i < EXCHANGES; i++) {
		if (send_parts(pub, msg, 3)) {
			done += recv_parts(s1, msg, 3, NULL);
			done += recv_parts(s2, msg, 3, NULL);
		}
		if (send_parts(pub, other, 2))
			done += recv_parts(s2, other, 2, NULL);
	}
	/* s1 drops it whatever the publisher did. */
	if (sub(s1, ZMQ_UNSUBSCRIBE, topic) && send_parts(pub, msg, 3))
		done += recv_parts(s2, msg, 3, NULL);
	const char *note[] = {"\1T"}, *up[] = {"up", payload}, *down[] = {"T-down"};
	const char *welcome[] = {"welcome"};
	if (send_parts(xsub, note, 1) && recv_parts(xpub, note, 1, NULL)) {
		done++;
		done += recv_parts(xsub, welcome, 1, NULL);
	}
	if (send_parts(xsub, up, 2))
		done += recv_parts(xpub, up, 2, NULL);
	if (send_parts(xpub, down, 1))
		done += recv_parts(xsub, down, 1, "welcome");
	return done;
}

#define ALL_DONE (3 * EXCHANGES + 1 + 2 + 1 + 1)

struct result {
	int done;
	long failures;
};

static void
run(long n, bool sticky, struct result *r)
{
	memset(r, 0, sizeof *r);
	zn_alloc_fail_after(n, sticky);
	void *ctx = zmq_ctx_new(), *s[5] = {NULL};
	static const int types[5] = {ZMQ_PUB, ZMQ_SUB, ZMQ_SUB, ZMQ_XPUB, ZMQ_XSUB};
	if (!ctx) {
		if (errno != ENOMEM && errno != EMFILE)
			TEST_FAIL("zmq_ctx_new: %s", strerror(errno));
		goto out;
	}
	int i;
	for (i = 0; i < 5; i++)
		if (!(s[i] = sock(ctx, types[i])))
			break;
	if (i == 5)
		r->done = scenario(s);
	if (sticky) {
		r->failures = zn_alloc_failures();
		zn_alloc_fail_after(0, 0);
	}
	for (i = 0; i < 5; i++)
		if (s[i])
			CHECK_OK(zmq_close(s[i]));
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
	topic[0] = 'A';
	memset(topic + 1, 't', sizeof topic - 2);
	memset(payload, 'p', sizeof payload - 1);
	struct result r;
	run(0, false, &r);
	CHECK_EQ(r.done, ALL_DONE);
	long n;
	int clean = 0;
	for (n = 1; n < MAX_STEPS && clean < 3; n++) {
		run(n, sticky, &r);
		if (r.failures == 0) {
			CHECK_EQ(r.done, ALL_DONE); /* past the last allocation */
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
        {"pub/sub and xpub/xsub survive any one allocation failure", one_failure},
        {"pub/sub and xpub/xsub survive failing from any point on", sticky_failure},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
