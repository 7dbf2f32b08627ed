/*
 * test_inproc.c: PAIR and PUSH/PULL over inproc: exchange, ordering, multipart,
 * bind/connect order, HWM, timeouts, linger, termination and socket migration.
 */
#include "testutil.h"
#include "zmq.h"

#include <pthread.h>
#include <stdint.h>

static void
send_str(void *s, const char *str, int flags)
{
	int n = zmq_send(s, str, strlen(str), flags);
	CHECK_EQ(n, (int)strlen(str));
}

static void
recv_str(void *s, const char *want)
{
	char buf[256];
	int n = zmq_recv(s, buf, sizeof buf - 1, 0);
	CHECK(n >= 0);
	buf[n < 255 ? n : 255] = '\0';
	CHECK_STR(buf, want);
}

static void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

static void
test_pair_bind_first(void)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_bind(a, "inproc://pair"));
	CHECK_OK(zmq_connect(b, "inproc://pair"));
	send_str(b, "hello", 0);
	recv_str(a, "hello");
	send_str(a, "world", 0);
	recv_str(b, "world");
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_pair_connect_first(void)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_connect(b, "inproc://late"));
	send_str(b, "early", 0); /* queued before anyone bound */
	CHECK_OK(zmq_bind(a, "inproc://late"));
	recv_str(a, "early");
	send_str(a, "reply", 0);
	recv_str(b, "reply");
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_push_pull_order(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	set_int(push, ZMQ_SNDHWM, 0); /* before connect: the pipe takes it then */
	CHECK_OK(zmq_bind(pull, "inproc://pp"));
	CHECK_OK(zmq_connect(push, "inproc://pp"));
	for (uint32_t i = 0; i < 100000; i++)
		CHECK_EQ(zmq_send(push, &i, sizeof i, 0), 4);
	for (uint32_t i = 0; i < 100000; i++) {
		uint32_t v;
		CHECK_EQ(zmq_recv(pull, &v, sizeof v, 0), 4);
		CHECK_EQ(v, i);
	}
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_multipart(void)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_bind(a, "inproc://mp"));
	CHECK_OK(zmq_connect(b, "inproc://mp"));
	char big[1000];
	memset(big, 'x', sizeof big);
	send_str(b, "one", ZMQ_SNDMORE);
	CHECK_EQ(zmq_send(b, big, sizeof big, ZMQ_SNDMORE), 1000);
	send_str(b, "three", 0);
	int more;
	size_t len = sizeof more;
	recv_str(a, "one");
	CHECK_OK(zmq_getsockopt(a, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 1);
	zmq_msg_t m;
	zmq_msg_init(&m);
	CHECK_EQ(zmq_msg_recv(&m, a, 0), 1000);
	CHECK(memcmp(zmq_msg_data(&m), big, 1000) == 0);
	CHECK_EQ(zmq_msg_more(&m), 1);
	zmq_msg_close(&m);
	recv_str(a, "three");
	CHECK_OK(zmq_getsockopt(a, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 0);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_zero_copy(void)
{
	/* A heap message crosses inproc without a copy: same data pointer. */
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_bind(a, "inproc://zc"));
	CHECK_OK(zmq_connect(b, "inproc://zc"));
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_size(&m, 4096));
	void *data = zmq_msg_data(&m);
	CHECK_EQ(zmq_msg_send(&m, b, 0), 4096);
	zmq_msg_t r;
	zmq_msg_init(&r);
	CHECK_EQ(zmq_msg_recv(&r, a, 0), 4096);
	CHECK(zmq_msg_data(&r) == data);
	zmq_msg_close(&r);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_hwm_dontwait(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	set_int(push, ZMQ_SNDHWM, 5);
	set_int(pull, ZMQ_RCVHWM, 5);
	CHECK_OK(zmq_bind(pull, "inproc://hwm"));
	CHECK_OK(zmq_connect(push, "inproc://hwm"));
	int sent = 0;
	while (zmq_send(push, "x", 1, ZMQ_DONTWAIT) == 1)
		sent++;
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(sent, 10); /* inproc: sender's SNDHWM plus receiver's RCVHWM */
	for (int i = 0; i < sent; i++)
		CHECK_EQ(zmq_recv(pull, (char[4]){0}, 4, 0), 1);
	/* Room again once the reader caught up, as the writer learns when it asks
	 * (ZMQ_EVENTS, zmq_poll: its credits are commands, which a send runs at most
	 * once a millisecond, as libzmq's does). */
	int ev;
	size_t ev_len = sizeof ev;
	CHECK_OK(zmq_getsockopt(push, ZMQ_EVENTS, &ev, &ev_len));
	CHECK(ev & ZMQ_POLLOUT);
	CHECK_EQ(zmq_send(push, "y", 1, ZMQ_DONTWAIT), 1);
	set_int(push, ZMQ_LINGER, 0);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_timeouts(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	set_int(pull, ZMQ_RCVTIMEO, 50);
	set_int(push, ZMQ_SNDTIMEO, 50);
	CHECK_OK(zmq_bind(pull, "inproc://to"));
	char buf[4];
	CHECK_ERR(zmq_recv(pull, buf, sizeof buf, 0), EAGAIN);
	/* No peer: a PUSH cannot send, and gives up after its timeout. */
	CHECK_ERR(zmq_send(push, "x", 1, 0), EAGAIN);
	CHECK_ERR(zmq_send(push, "x", 1, ZMQ_DONTWAIT), EAGAIN);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_wrong_direction(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	char buf[4];
	CHECK_ERR(zmq_recv(push, buf, sizeof buf, 0), ENOTSUP);
	CHECK_ERR(zmq_send(pull, "x", 1, 0), ENOTSUP);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_delivers_pending(void)
{
	/* Messages sent before close are still delivered (default linger). */
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(pull, "inproc://linger"));
	CHECK_OK(zmq_connect(push, "inproc://linger"));
	for (int i = 0; i < 100; i++)
		CHECK_EQ(zmq_send(push, &i, sizeof i, 0), (int)sizeof i);
	CHECK_OK(zmq_close(push));
	for (int i = 0; i < 100; i++) {
		int v;
		CHECK_EQ(zmq_recv(pull, &v, sizeof v, 0), (int)sizeof v);
		CHECK_EQ(v, i);
	}
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_pending_connect_linger(void)
{
	/* Connect before bind, send, close: with a linger the messages wait for the bind.
	 */
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	set_int(push, ZMQ_LINGER, 10000);
	CHECK_OK(zmq_connect(push, "inproc://later"));
	for (int i = 0; i < 5; i++)
		CHECK_EQ(zmq_send(push, &i, sizeof i, 0), (int)sizeof i);
	CHECK_OK(zmq_close(push));
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(pull, "inproc://later"));
	for (int i = 0; i < 5; i++) {
		int v;
		CHECK_EQ(zmq_recv(pull, &v, sizeof v, 0), (int)sizeof v);
		CHECK_EQ(v, i);
	}
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_linger_zero_drops(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	set_int(push, ZMQ_LINGER, 0);
	CHECK_OK(zmq_connect(push, "inproc://dropped"));
	for (int i = 0; i < 5; i++)
		CHECK_EQ(zmq_send(push, &i, sizeof i, 0), (int)sizeof i);
	CHECK_OK(zmq_close(push));
	/* ctx_term does not wait for a bind that never comes: linger 0 dropped them. */
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_linger_zero_then_bind(void)
{
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	set_int(push, ZMQ_LINGER, 0);
	CHECK_OK(zmq_connect(push, "inproc://dropped2"));
	CHECK_EQ(zmq_send(push, "gone", 4, 0), 4);
	CHECK_OK(zmq_close(push));
	/* The reaper drops the pending connect; wait until the bind shows nothing
	 * arrives. A close is asynchronous, so poll with a timeout, not a sleep. */
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	set_int(pull, ZMQ_RCVTIMEO, 200);
	CHECK_OK(zmq_bind(pull, "inproc://dropped2"));
	char buf[8];
	int rc = zmq_recv(pull, buf, sizeof buf, 0);
	/* Either the drop happened first (EAGAIN) or the bind took the pipe first and
	 * then the message is delivered; what may never happen is a crash or a hang. */
	CHECK(rc == 4 || (rc == -1 && errno == EAGAIN));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

struct term_arg {
	void *sock;
	int rc, err;
};

static void *
blocked_recv(void *arg)
{
	struct term_arg *t = arg;
	char buf[8];
	t->rc = zmq_recv(t->sock, buf, sizeof buf, 0);
	t->err = errno;
	zmq_close(t->sock);
	return NULL;
}

static void
test_term_unblocks_recv(void)
{
	void *ctx = zmq_ctx_new();
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(pull, "inproc://blocked"));
	struct term_arg t = {pull, 0, 0};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, blocked_recv, &t), 0);
	/* ctx_term sends ETERM to the blocked thread, which then closes its socket. */
	CHECK_OK(zmq_ctx_term(ctx));
	pthread_join(th, NULL);
	CHECK_EQ(t.rc, -1);
	CHECK_EQ(t.err, ETERM);
}

static void
test_eterm_after_shutdown(void)
{
	void *ctx = zmq_ctx_new();
	void *pair = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_ctx_shutdown(ctx));
	char buf[4];
	CHECK_ERR(zmq_recv(pair, buf, sizeof buf, 0), ETERM);
	CHECK_ERR(zmq_send(pair, "x", 1, 0), ETERM);
	CHECK(zmq_socket(ctx, ZMQ_PAIR) == NULL);
	CHECK_EQ(errno, ETERM);
	CHECK_OK(zmq_close(pair));
	CHECK_OK(zmq_ctx_term(ctx));
}

struct migrate_arg {
	void *sock;
	int count;
	int ok;
};

static void *
migrate_worker(void *arg)
{
	struct migrate_arg *m = arg;
	m->ok = 1;
	for (int i = 0; i < m->count; i++) {
		int v;
		if (zmq_recv(m->sock, &v, sizeof v, 0) != sizeof v || v != i)
			m->ok = 0;
	}
	return NULL;
}

static void
test_socket_migration(void)
{
	/* A socket used in one thread, handed to another after a full barrier, then
	 * closed by a third: seed 000's one-signaler-per-socket design. The full
	 * barriers are pthread_create and pthread_join (TSan cannot see fences). */
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK_OK(zmq_bind(a, "inproc://migrate"));
	CHECK_OK(zmq_connect(b, "inproc://migrate"));
	for (int round = 0; round < 3; round++) {
		struct migrate_arg m = {a, 1000, 0};
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, migrate_worker, &m), 0);
		for (int i = 0; i < 1000; i++)
			CHECK_EQ(zmq_send(b, &i, sizeof i, 0), (int)sizeof i);
		pthread_join(th, NULL);
		CHECK_EQ(m.ok, 1);
	}
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_fan_in_fan_out(void)
{
	void *ctx = zmq_ctx_new();
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(pull, "inproc://fanin"));
	void *push[4];
	for (int i = 0; i < 4; i++) {
		push[i] = zmq_socket(ctx, ZMQ_PUSH);
		CHECK_OK(zmq_connect(push[i], "inproc://fanin"));
	}
	for (int r = 0; r < 10; r++)
		for (int i = 0; i < 4; i++)
			CHECK_EQ(zmq_send(push[i], &i, sizeof i, 0), (int)sizeof i);
	/* Fair queueing: every sender's messages arrive, in each sender's order. */
	int count[4] = {0};
	for (int k = 0; k < 40; k++) {
		int v;
		CHECK_EQ(zmq_recv(pull, &v, sizeof v, 0), (int)sizeof v);
		CHECK(v >= 0 && v < 4);
		count[v]++;
	}
	for (int i = 0; i < 4; i++)
		CHECK_EQ(count[i], 10);
	for (int i = 0; i < 4; i++)
		CHECK_OK(zmq_close(push[i]));

	/* Load balancing: one PUSH, four PULLs, round robin. */
	void *lbpush = zmq_socket(ctx, ZMQ_PUSH);
	CHECK_OK(zmq_bind(lbpush, "inproc://fanout"));
	void *pulls[4];
	for (int i = 0; i < 4; i++) {
		pulls[i] = zmq_socket(ctx, ZMQ_PULL);
		CHECK_OK(zmq_connect(pulls[i], "inproc://fanout"));
	}
	/* The binder attaches pipes when it processes its commands; a zero-timeout
	 * ZMQ_EVENTS runs them so all four peers are known before sending. */
	int ev;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(lbpush, ZMQ_EVENTS, &ev, &len));
	for (int i = 0; i < 40; i++)
		CHECK_EQ(zmq_send(lbpush, &i, sizeof i, 0), (int)sizeof i);
	for (int i = 0; i < 4; i++) {
		for (int k = 0; k < 10; k++) {
			int v;
			CHECK_EQ(zmq_recv(pulls[i], &v, sizeof v, ZMQ_DONTWAIT),
			         (int)sizeof v);
		}
		CHECK_OK(zmq_close(pulls[i]));
	}
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_close(lbpush));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_unbind_disconnect(void)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PULL), *b = zmq_socket(ctx, ZMQ_PUSH);
	CHECK_OK(zmq_bind(a, "inproc://ud"));
	CHECK_ERR(zmq_bind(b, "inproc://ud"), EADDRINUSE);
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_getsockopt(a, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_STR(ep, "inproc://ud");
	CHECK_OK(zmq_connect(b, "inproc://ud"));
	CHECK_OK(zmq_unbind(a, "inproc://ud"));
	CHECK_ERR(zmq_unbind(a, "inproc://ud"), ENOENT);
	CHECK_OK(zmq_disconnect(b, "inproc://ud"));
	CHECK_ERR(zmq_disconnect(b, "inproc://ud"), ENOENT);
	/* The name is free again. */
	void *c = zmq_socket(ctx, ZMQ_PULL);
	CHECK_OK(zmq_bind(c, "inproc://ud"));
	CHECK_ERR(zmq_bind(c, "foo"), EINVAL);
	CHECK_ERR(zmq_bind(c, "bogus://x"), EPROTONOSUPPORT);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_close(c));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_bad_arguments(void)
{
	CHECK(zmq_socket(NULL, ZMQ_PAIR) == NULL);
	void *ctx = zmq_ctx_new();
	CHECK(zmq_socket(ctx, 99) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_ERR(zmq_close(NULL), ENOTSOCK);
	CHECK_ERR(zmq_send(NULL, "x", 1, 0), ENOTSOCK);
	void *s = zmq_socket(ctx, ZMQ_PAIR);
	int v = 0;
	CHECK_ERR(zmq_setsockopt(s, 9999, &v, sizeof v), EINVAL);
	CHECK_ERR(zmq_setsockopt(s, ZMQ_SNDHWM, &v, 1), EINVAL);
	int type;
	size_t len = sizeof type;
	CHECK_OK(zmq_getsockopt(s, ZMQ_TYPE, &type, &len));
	CHECK_EQ(type, ZMQ_PAIR);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_conflate(void)
{
	/* ZMQ_CONFLATE on a PULL: only the newest of the queued messages is received. */
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	set_int(pull, ZMQ_CONFLATE, 1);
	CHECK_OK(zmq_bind(pull, "inproc://conflate"));
	CHECK_OK(zmq_connect(push, "inproc://conflate"));
	for (int i = 0; i < 10; i++)
		CHECK_EQ(zmq_send(push, &i, sizeof i, 0), (int)sizeof i);
	int v = -1;
	CHECK_EQ(zmq_recv(pull, &v, sizeof v, 0), (int)sizeof v);
	CHECK_EQ(v, 9);
	CHECK_ERR(zmq_recv(pull, &v, sizeof v, ZMQ_DONTWAIT), EAGAIN);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {
        {"conflate keeps only the newest message", test_conflate},
        {"pair exchange, bind first", test_pair_bind_first},
        {"pair exchange, connect first", test_pair_connect_first},
        {"push/pull keeps 100k messages in order", test_push_pull_order},
        {"multipart arrives whole, in order", test_multipart},
        {"inproc does not copy the payload", test_zero_copy},
        {"HWM blocks: EAGAIN with DONTWAIT", test_hwm_dontwait},
        {"send and recv timeouts", test_timeouts},
        {"push cannot recv, pull cannot send", test_wrong_direction},
        {"close delivers pending messages", test_close_delivers_pending},
        {"pending connect lingers until bind", test_close_pending_connect_linger},
        {"linger 0 drops pending messages", test_close_linger_zero_drops},
        {"linger 0 then bind: no crash, no hang", test_close_linger_zero_then_bind},
        {"ctx_term unblocks recv with ETERM", test_term_unblocks_recv},
        {"ETERM after ctx_shutdown", test_eterm_after_shutdown},
        {"socket migrates between threads", test_socket_migration},
        {"fan-in fair queue, fan-out load balance", test_fan_in_fan_out},
        {"unbind and disconnect", test_unbind_disconnect},
        {"bad arguments give the documented errno", test_bad_arguments},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
