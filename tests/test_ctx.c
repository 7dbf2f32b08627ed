/*
 * test_ctx.c: contexts: defaults, options, invalid contexts, the socket limit, the old
 * zmq_init/zmq_term names, contexts without I/O threads, many contexts at once, and
 * termination while other threads still hold sockets. Uses only the public API, so
 * the same file also builds against libzmq to check what libzmq itself does.
 */
#include "testutil.h"
#include "zmq.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
send_str(void *s, const char *str)
{
	CHECK_EQ(zmq_send(s, str, strlen(str), 0), (int)strlen(str));
}

static void
recv_str(void *s, const char *want)
{
	char buf[64];
	int n = zmq_recv(s, buf, sizeof buf - 1, 0);
	CHECK(n >= 0);
	buf[n < 63 ? n : 63] = '\0';
	CHECK_STR(buf, want);
}

/* pair_round_trip: a PAIR pair on endpoint, one message each way, both closed. */
static void
pair_round_trip(void *ctx, const char *endpoint)
{
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(a && b);
	CHECK_OK(zmq_bind(a, endpoint));
	CHECK_OK(zmq_connect(b, endpoint));
	send_str(b, "ping");
	recv_str(a, "ping");
	send_str(a, "pong");
	recv_str(b, "pong");
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
}

static void
test_defaults(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), ZMQ_IO_THREADS_DFLT);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 1);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS), ZMQ_MAX_SOCKETS_DFLT);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS), 1023);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_SOCKET_LIMIT), 65535);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_BLOCKY), 1);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IPV6), 0);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MSG_T_SIZE), 64);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MSG_T_SIZE), (int)sizeof(zmq_msg_t));
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MAX_MSGSZ), INT_MAX);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_THREAD_SCHED_POLICY), ZMQ_THREAD_SCHED_POLICY_DFLT);
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_set_get_round_trip(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	static const struct {
		int option, value;
	} cases[] = {
	        {ZMQ_IO_THREADS, 4},
	        {ZMQ_IO_THREADS, 0},
	        {ZMQ_IO_THREADS, 1},
	        {ZMQ_MAX_SOCKETS, 7},
	        {ZMQ_MAX_SOCKETS, 1},
	        {ZMQ_MAX_SOCKETS, 1023},
	        {ZMQ_IPV6, 1},
	        {ZMQ_IPV6, 0},
	        {ZMQ_BLOCKY, 0},
	        {ZMQ_BLOCKY, 1},
	        {ZMQ_MAX_MSGSZ, 1000},
	        {ZMQ_MAX_MSGSZ, 0},
	        {ZMQ_MAX_MSGSZ, INT_MAX},
	        {ZMQ_THREAD_SCHED_POLICY, 0},
	        {ZMQ_THREAD_NAME_PREFIX, 42},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_OK(zmq_ctx_set(ctx, cases[i].option, cases[i].value));
		CHECK_EQ(zmq_ctx_get(ctx, cases[i].option), cases[i].value);
	}
	/* Booleans read back as 0 or 1 whatever true value was set. */
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IPV6, 5));
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IPV6), 1);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_BLOCKY, 9));
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_BLOCKY), 1);
	/* Write-only options are accepted. */
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, 0));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, 0));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 0));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_bad_options_einval(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	/* Unknown options. */
	CHECK_ERR(zmq_ctx_set(ctx, 9999, 1), EINVAL);
	CHECK_ERR(zmq_ctx_get(ctx, 9999), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, -1, 1), EINVAL);
	CHECK_ERR(zmq_ctx_get(ctx, -1), EINVAL);
	/* Read-only options cannot be set. (ZMQ_SOCKET_LIMIT can't be tested: it
	 * shares the number 3 with ZMQ_THREAD_PRIORITY, which sets; reading 3 gives
	 * the socket limit, in libzmq as here.) */
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_MSG_T_SIZE, 64), EINVAL);
	CHECK_EQ(ZMQ_SOCKET_LIMIT, ZMQ_THREAD_PRIORITY);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, 1));
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_SOCKET_LIMIT), 65535);
	/* Write-only options cannot be read. */
	CHECK_ERR(zmq_ctx_get(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD), EINVAL);
	CHECK_ERR(zmq_ctx_get(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE), EINVAL);
	/* Values out of range. */
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_IO_THREADS, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 0), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, -5), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_MAX_MSGSZ, -1), EINVAL);
	/* A failed set leaves the old value. */
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 1);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS), 1023);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MAX_MSGSZ), INT_MAX);
	CHECK_OK(zmq_ctx_term(ctx));
}

/* libzmq takes no negative value for a flag or a thread option (ctx.cpp: "value >= 0").
 */
static void
test_negative_flags_einval(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_IPV6, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_BLOCKY, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, -1), EINVAL);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, -1), EINVAL);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IPV6), 0);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_BLOCKY), 1);
	CHECK_OK(zmq_ctx_term(ctx));
}

/* libzmq: removing a CPU that was never added is EINVAL. */
static void
test_affinity_remove_unknown_einval(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 3), EINVAL);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, 3));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 3));
	CHECK_ERR(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_REMOVE, 3), EINVAL);
	CHECK_OK(zmq_ctx_term(ctx));
}

/* ZMQ_BLOCKY 0 (libzmq's "don't block ctx_term") gives new sockets ZMQ_LINGER 0. */
static void
test_blocky_zero_sets_default_linger(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	int linger;
	size_t len = sizeof linger;
	void *s = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(s);
	CHECK_OK(zmq_getsockopt(s, ZMQ_LINGER, &linger, &len));
	CHECK_EQ(linger, -1);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_BLOCKY, 0));
	s = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(s);
	len = sizeof linger;
	CHECK_OK(zmq_getsockopt(s, ZMQ_LINGER, &linger, &len));
	CHECK_EQ(linger, 0);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* int_opt: a socket's int option, which must read back. */
static int
int_opt(void *s, int option)
{
	int v = -2;
	size_t len = sizeof v;
	CHECK_OK(zmq_getsockopt(s, option, &v, &len));
	CHECK_EQ(len, sizeof v);
	return v;
}

/* A socket's deprecated ZMQ_IPV4ONLY is the inverse of its ZMQ_IPV6, both ways, and
 * starts from the context's ZMQ_IPV6. libzmq 4.3 still takes it (pyzmq reads it). */
static void
test_socket_ipv4only_inverts_ipv6(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *s = zmq_socket(ctx, ZMQ_PUB);
	CHECK(s);
	CHECK_EQ(int_opt(s, ZMQ_IPV4ONLY), 1);
	int v = 0;
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPV4ONLY, &v, sizeof v));
	CHECK_EQ(int_opt(s, ZMQ_IPV6), 1);
	v = 1;
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPV6, &v, sizeof v));
	CHECK_EQ(int_opt(s, ZMQ_IPV4ONLY), 0);
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPV4ONLY, &v, sizeof v));
	CHECK_EQ(int_opt(s, ZMQ_IPV6), 0);
	v = 2;
	CHECK_ERR(zmq_setsockopt(s, ZMQ_IPV4ONLY, &v, sizeof v), EINVAL);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IPV6, 1));
	s = zmq_socket(ctx, ZMQ_SUB);
	CHECK(s);
	CHECK_EQ(int_opt(s, ZMQ_IPV4ONLY), 0);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* The draft options of libzmq 4.3 that Debian's build (drafts on) reads and writes:
 * ZMQ_ZAP_ENFORCE_DOMAIN (93) and ZMQ_LOOPBACK_FASTPATH (94), off by default, and
 * ZMQ_MULTICAST_LOOP (96), on by default; any nonzero int sets them, as in libzmq.
 * zmq.h leaves drafts out, hence the numbers. */
static void
test_socket_draft_bool_options(void)
{
	static const struct {
		int option, initial;
	} opts[] = {{93, 0}, {94, 0}, {96, 1}};
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	CHECK(s);
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		int v = !opts[i].initial;
		CHECK_EQ(int_opt(s, opts[i].option), opts[i].initial);
		CHECK_OK(zmq_setsockopt(s, opts[i].option, &v, sizeof v));
		CHECK_EQ(int_opt(s, opts[i].option), v);
		v = 0;
		CHECK_OK(zmq_setsockopt(s, opts[i].option, &v, sizeof v));
		v = -2;
		CHECK_OK(zmq_setsockopt(s, opts[i].option, &v, sizeof v));
		CHECK_EQ(int_opt(s, opts[i].option), 1);
		CHECK_ERR(zmq_setsockopt(s, opts[i].option, &v, 2), EINVAL);
	}
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_null_context_efault(void)
{
	CHECK_ERR(zmq_ctx_term(NULL), EFAULT);
	CHECK_ERR(zmq_ctx_destroy(NULL), EFAULT);
	CHECK_ERR(zmq_term(NULL), EFAULT);
	CHECK_ERR(zmq_ctx_shutdown(NULL), EFAULT);
	CHECK_ERR(zmq_ctx_set(NULL, ZMQ_IO_THREADS, 1), EFAULT);
	CHECK_ERR(zmq_ctx_get(NULL, ZMQ_IO_THREADS), EFAULT);
	errno = 0;
	CHECK(zmq_socket(NULL, ZMQ_PAIR) == NULL);
	CHECK_EQ(errno, EFAULT);
}

/* A terminated context's memory is gone, so passing it again is undefined in libzmq
 * too; what both check is a tag, which libzmq and zinc set to 0xdeadbeef on
 * termination. Memory that looks like that (or like nothing) is refused. */
static void
test_dead_or_bogus_context_efault(void)
{
	_Alignas(16) uint32_t dead[64], zero[64];
	for (int i = 0; i < 64; i++) {
		dead[i] = 0xdeadbeefu;
		zero[i] = 0;
	}
	void *bogus[2] = {dead, zero};
	for (int i = 0; i < 2; i++) {
		CHECK_ERR(zmq_ctx_term(bogus[i]), EFAULT);
		CHECK_ERR(zmq_ctx_shutdown(bogus[i]), EFAULT);
		CHECK_ERR(zmq_ctx_set(bogus[i], ZMQ_IO_THREADS, 1), EFAULT);
		CHECK_ERR(zmq_ctx_get(bogus[i], ZMQ_IO_THREADS), EFAULT);
		errno = 0;
		CHECK(zmq_socket(bogus[i], ZMQ_PAIR) == NULL);
		CHECK_EQ(errno, EFAULT);
	}
}

static void
test_shutdown_context_refuses_sockets(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *s = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(s);
	CHECK_OK(zmq_ctx_shutdown(ctx));
	CHECK_OK(zmq_ctx_shutdown(ctx)); /* a second shutdown is harmless */
	errno = 0;
	CHECK(zmq_socket(ctx, ZMQ_PAIR) == NULL);
	CHECK_EQ(errno, ETERM);
	/* The socket sees ETERM; options of the context can still be read. */
	char buf[4];
	CHECK_ERR(zmq_recv(s, buf, sizeof buf, 0), ETERM);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 1);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_shutdown_before_any_socket(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_shutdown(ctx));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_bad_socket_type_einval(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	errno = 0;
	CHECK(zmq_socket(ctx, -1) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(zmq_socket(ctx, 1000) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_max_sockets_emfile(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 3));
	void *s[3];
	for (int i = 0; i < 3; i++) {
		s[i] = zmq_socket(ctx, ZMQ_PAIR);
		CHECK(s[i]);
	}
	errno = 0;
	CHECK(zmq_socket(ctx, ZMQ_PAIR) == NULL);
	CHECK_EQ(errno, EMFILE);
	errno = 0;
	CHECK(zmq_socket(ctx, ZMQ_PUSH) == NULL);
	CHECK_EQ(errno, EMFILE);
	/* The sockets that exist still work. */
	CHECK_OK(zmq_bind(s[0], "inproc://limit"));
	CHECK_OK(zmq_connect(s[1], "inproc://limit"));
	send_str(s[1], "within");
	recv_str(s[0], "within");
	for (int i = 0; i < 3; i++)
		CHECK_OK(zmq_close(s[i]));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_max_sockets_one(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 1));
	void *s = zmq_socket(ctx, ZMQ_PULL);
	CHECK(s);
	errno = 0;
	CHECK(zmq_socket(ctx, ZMQ_PUSH) == NULL);
	CHECK_EQ(errno, EMFILE);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_init_term_aliases(void)
{
	void *ctx = zmq_init(1);
	CHECK(ctx);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 1);
	pair_round_trip(ctx, "inproc://init1");
	CHECK_OK(zmq_term(ctx));

	ctx = zmq_init(0);
	CHECK(ctx);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 0);
	pair_round_trip(ctx, "inproc://init0");
	CHECK_OK(zmq_ctx_destroy(ctx));

	ctx = zmq_init(3);
	CHECK(ctx);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_IO_THREADS), 3);
	CHECK_OK(zmq_term(ctx));

	errno = 0;
	CHECK(zmq_init(-1) == NULL);
	CHECK_EQ(errno, EINVAL);
}

static void
test_no_io_threads_inproc_works(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 0));
	pair_round_trip(ctx, "inproc://noio");
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(push && pull);
	CHECK_OK(zmq_connect(push, "inproc://noio-pp")); /* connect first */
	CHECK_OK(zmq_bind(pull, "inproc://noio-pp"));
	for (int i = 0; i < 100; i++)
		send_str(push, "x");
	for (int i = 0; i < 100; i++)
		recv_str(pull, "x");
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* Each context has its own inproc namespace: the same name binds in every one. */
static void
test_many_contexts(void)
{
	enum { N = 32 };
	void *ctx[N], *a[N], *b[N];
	for (int i = 0; i < N; i++) {
		ctx[i] = zmq_ctx_new();
		CHECK(ctx[i]);
		a[i] = zmq_socket(ctx[i], ZMQ_PAIR);
		b[i] = zmq_socket(ctx[i], ZMQ_PAIR);
		CHECK(a[i] && b[i]);
		CHECK_OK(zmq_bind(a[i], "inproc://same-name"));
		CHECK_OK(zmq_connect(b[i], "inproc://same-name"));
	}
	for (int i = 0; i < N; i++) {
		char msg[16];
		snprintf(msg, sizeof msg, "ctx %d", i);
		send_str(b[i], msg);
	}
	for (int i = 0; i < N; i++) {
		char msg[16];
		snprintf(msg, sizeof msg, "ctx %d", i);
		recv_str(a[i], msg);
	}
	/* Terminate in an order unrelated to creation. */
	for (int i = 0; i < N; i++) {
		int k = (i * 7) % N;
		CHECK_OK(zmq_close(a[k]));
		CHECK_OK(zmq_close(b[k]));
		CHECK_OK(zmq_ctx_term(ctx[k]));
	}
	/* And many short-lived ones, one after another. */
	for (int i = 0; i < 200; i++) {
		void *c = zmq_ctx_new();
		CHECK(c);
		if (i % 4 == 0)
			pair_round_trip(c, "inproc://short");
		CHECK_OK(zmq_ctx_term(c));
	}
}

static void
test_term_without_sockets(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_term(ctx));
	/* Options set but no socket ever made: nothing was started. */
	ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 4));
	CHECK_OK(zmq_ctx_term(ctx));
	/* Sockets made and closed before the term. */
	ctx = zmq_ctx_new();
	CHECK(ctx);
	void *s = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(s);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* A thread that owns two sockets: it answers "go" with "ready", then blocks in recv
 * until zmq_ctx_term makes it fail with ETERM, and only then closes its sockets. */
struct closer {
	void *pair;  /* connected to the main thread's PAIR */
	void *extra; /* a second socket, never used */
	int got_go;
	int recv_errno;
	atomic_int closed;
};

static void *
closer_main(void *arg)
{
	struct closer *c = arg;
	char buf[16];
	int n = zmq_recv(c->pair, buf, sizeof buf, 0);
	c->got_go = n == 2 && memcmp(buf, "go", 2) == 0;
	zmq_send(c->pair, "ready", 5, 0);
	while (zmq_recv(c->pair, buf, sizeof buf, 0) >= 0)
		;
	c->recv_errno = errno;
	/* zmq_ctx_term cannot have returned yet: it waits for these two. */
	atomic_store(&c->closed, 1);
	zmq_close(c->extra);
	zmq_close(c->pair);
	return NULL;
}

static void
test_term_waits_for_sockets_closed_in_another_thread(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *mine = zmq_socket(ctx, ZMQ_PAIR);
	struct closer c = {.pair = zmq_socket(ctx, ZMQ_PAIR),
	                   .extra = zmq_socket(ctx, ZMQ_PULL)};
	atomic_init(&c.closed, 0);
	CHECK(mine && c.pair && c.extra);
	CHECK_OK(zmq_bind(mine, "inproc://closer"));
	CHECK_OK(zmq_connect(c.pair, "inproc://closer"));
	CHECK_OK(zmq_bind(c.extra, "inproc://closer-extra"));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, closer_main, &c), 0);
	send_str(mine, "go");
	recv_str(mine, "ready"); /* the thread is now past "go" and will block */
	int zero = 0;
	CHECK_OK(zmq_setsockopt(mine, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_close(mine));
	CHECK_OK(zmq_ctx_term(ctx));
	CHECK_EQ(atomic_load(&c.closed), 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(c.got_go);
	CHECK_EQ(c.recv_errno, ETERM);
}

/* Closing connected sockets under load: every close ends with a term ack that an I/O
 * thread posts to the closed socket's mailbox, and the reaper frees the socket as
 * soon as it reads that ack, while the I/O thread may still be inside mailbox_send.
 * Under TSan (or a loaded machine) this was a use-after-free of the mailbox; the rule
 * now is that the last one out frees it (src/core/mailbox.h). */
#define CHURN_ROUNDS 8
#define CHURN_PAIRS  8

static void
churn_round(int round)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	int two = 2;
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, two));
	void *pull[CHURN_PAIRS], *push[CHURN_PAIRS];
	char buf[1024];
	memset(buf, 'c', sizeof buf);
	for (int i = 0; i < CHURN_PAIRS; i++) {
		char ep[64];
		size_t len = sizeof ep;
		pull[i] = zmq_socket(ctx, ZMQ_PULL);
		push[i] = zmq_socket(ctx, ZMQ_PUSH);
		CHECK(pull[i] && push[i]);
		CHECK_OK(zmq_bind(pull[i], "tcp://127.0.0.1:*"));
		CHECK_OK(zmq_getsockopt(pull[i], ZMQ_LAST_ENDPOINT, ep, &len));
		CHECK_OK(zmq_connect(push[i], ep));
	}
	for (int i = 0; i < CHURN_PAIRS; i++) {
		/* Messages in flight both ways through the I/O threads at close. */
		for (int m = 0; m < 50; m++)
			if (zmq_send(push[i], buf, sizeof buf, ZMQ_DONTWAIT) < 0)
				CHECK_EQ(errno, EAGAIN);
		CHECK_EQ(zmq_recv(pull[i], buf, sizeof buf, 0), (int)sizeof buf);
	}
	for (int i = 0; i < CHURN_PAIRS; i++) {
		int linger = (i + round) % 2 ? 0 : 20;
		CHECK_OK(zmq_setsockopt(push[i], ZMQ_LINGER, &linger, sizeof linger));
		CHECK_OK(zmq_setsockopt(pull[i], ZMQ_LINGER, &linger, sizeof linger));
		CHECK_OK(zmq_close(i % 2 ? push[i] : pull[i]));
		CHECK_OK(zmq_close(i % 2 ? pull[i] : push[i]));
	}
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_connected_sockets_under_load(void)
{
	for (int round = 0; round < CHURN_ROUNDS; round++)
		churn_round(round);
}

/* zmq_ctx_shutdown from another thread ends a blocking recv here with ETERM. */
static void *
shutdown_main(void *ctx)
{
	zmq_ctx_shutdown(ctx);
	return NULL;
}

static void
test_shutdown_from_another_thread_unblocks_recv(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *s = zmq_socket(ctx, ZMQ_PULL);
	CHECK(s);
	CHECK_OK(zmq_bind(s, "inproc://blocked"));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, shutdown_main, ctx), 0);
	char buf[4];
	CHECK_ERR(zmq_recv(s, buf, sizeof buf, 0), ETERM);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* named_threads: how many of this process's threads have a name that starts with
 * prefix, and whether each of them may run only on CPU 0. */
static int
named_threads(const char *prefix, bool *all_on_cpu0)
{
	DIR *d = opendir("/proc/self/task");
	CHECK(d);
	int n = 0;
	*all_on_cpu0 = true;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], comm[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue; /* the thread ended meanwhile */
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, prefix, strlen(prefix)) != 0)
			continue;
		n++;
		cpu_set_t set;
		CPU_ZERO(&set);
		if (sched_getaffinity((pid_t)atoi(e->d_name), sizeof set, &set) != 0 ||
		    CPU_COUNT(&set) != 1 || !CPU_ISSET(0, &set))
			*all_on_cpu0 = false;
	}
	closedir(d);
	return n;
}

/* The threads name and place themselves as they start (so the application's thread
 * is not held up doing it), hence the wait: there is no event to wait on, only the
 * threads' own state in /proc. */
static void
test_threads_take_name_prefix_and_affinity(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_NAME_PREFIX, 7));
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, 0));
	void *s = zmq_socket(ctx, ZMQ_PAIR); /* starts the threads */
	CHECK(s);
	bool on_cpu0 = false;
	int n = 0;
	long long deadline = test_now_ms() + 10000;
	while ((n = named_threads("7/ZMQbg", &on_cpu0)) < 3 && test_now_ms() < deadline)
		usleep(1000); /* nothing to wait on but /proc: poll it */
	CHECK_EQ(n, 3);       /* the reaper and two I/O threads */
	CHECK(on_cpu0);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
	CHECK_EQ(named_threads("7/ZMQbg", &on_cpu0), 0);
}

static void
test_version_and_has(void)
{
	int major = -1, minor = -1, patch = -1;
	zmq_version(&major, &minor, &patch);
	CHECK_EQ(major, ZMQ_VERSION_MAJOR);
	CHECK_EQ(minor, ZMQ_VERSION_MINOR);
	CHECK_EQ(patch, ZMQ_VERSION_PATCH);
	CHECK_EQ(major, 4);
	CHECK_EQ(minor, 3);
	CHECK_EQ(ZMQ_VERSION, ZMQ_MAKE_VERSION(major, minor, patch));
	/* libzmq 4.3 lists only optional transports and mechanisms here and says 0
	 * for "inproc"; zinc says 1 for every transport it has. */
	CHECK_EQ(zmq_has("inproc"), 1);
	CHECK_EQ(zmq_has("no-such-thing"), 0);
	CHECK_EQ(zmq_has(""), 0);
}

/* Options of one pattern are refused on the others, as by libzmq 4.3 (a PUB takes
 * XPUB's options, a REP ROUTER's, a REQ DEALER's: there one type derives from the
 * other). Every type is tried with every such option. */
static void
test_type_specific_options(void)
{
#define T(t) (1u << (t))
	static const struct {
		int option;
		unsigned types;
	} opts[] = {
	        {ZMQ_REQ_CORRELATE, T(ZMQ_REQ)},
	        {ZMQ_REQ_RELAXED, T(ZMQ_REQ)},
	        {ZMQ_ROUTER_MANDATORY, T(ZMQ_ROUTER) | T(ZMQ_REP)},
	        {ZMQ_ROUTER_HANDOVER, T(ZMQ_ROUTER) | T(ZMQ_REP)},
	        {ZMQ_PROBE_ROUTER,
	         T(ZMQ_ROUTER) | T(ZMQ_REP) | T(ZMQ_DEALER) | T(ZMQ_REQ)},
	        {ZMQ_STREAM_NOTIFY, T(ZMQ_STREAM)},
	        {ZMQ_XPUB_VERBOSE, T(ZMQ_XPUB) | T(ZMQ_PUB)},
	        {ZMQ_XPUB_VERBOSER, T(ZMQ_XPUB) | T(ZMQ_PUB)},
	        {ZMQ_XPUB_NODROP, T(ZMQ_XPUB) | T(ZMQ_PUB)},
	        {ZMQ_XPUB_MANUAL, T(ZMQ_XPUB) | T(ZMQ_PUB)},
	};
#undef T
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	for (int type = ZMQ_PAIR; type <= ZMQ_STREAM; type++) {
		void *s = zmq_socket(ctx, type);
		CHECK(s);
		int one = 1;
		for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
			int rc = zmq_setsockopt(s, opts[i].option, &one, sizeof one);
			if (opts[i].types & (1u << type))
				CHECK_EQ(rc, 0);
			else
				CHECK(rc == -1 && errno == EINVAL);
		}
		int rc = zmq_setsockopt(s, ZMQ_XPUB_WELCOME_MSG, "hi", 2);
		CHECK(type == ZMQ_XPUB || type == ZMQ_PUB ? rc == 0
		                                          : rc == -1 && errno == EINVAL);
		/* and what every type takes */
		CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &one, sizeof one));
		CHECK_OK(zmq_close(s));
	}
	CHECK_OK(zmq_ctx_term(ctx));
}

/* The on/off options of ROUTER, DEALER, REQ and XPUB take any int >= 0 as libzmq's do
 * (nonzero is on; libzmq's test_proxy_hwm sets ZMQ_REQ_CORRELATE to 10 and asserts it
 * works) and refuse a negative one. (ZMQ_ROUTER_RAW is not built: ENOTSUP when on.) */
static void
test_type_switches_take_any_nonnegative_value(void)
{
	static const struct {
		int type, option;
	} sw[] = {
	        {ZMQ_REQ, ZMQ_REQ_CORRELATE},       {ZMQ_REQ, ZMQ_REQ_RELAXED},
	        {ZMQ_REQ, ZMQ_PROBE_ROUTER},        {ZMQ_DEALER, ZMQ_PROBE_ROUTER},
	        {ZMQ_ROUTER, ZMQ_ROUTER_MANDATORY}, {ZMQ_ROUTER, ZMQ_ROUTER_HANDOVER},
	        {ZMQ_ROUTER, ZMQ_PROBE_ROUTER},     {ZMQ_XPUB, ZMQ_XPUB_VERBOSE},
	        {ZMQ_XPUB, ZMQ_XPUB_VERBOSER},      {ZMQ_XPUB, ZMQ_XPUB_NODROP},
	        {ZMQ_XPUB, ZMQ_XPUB_MANUAL},
	};
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++) {
		void *s = zmq_socket(ctx, sw[i].type);
		CHECK(s);
		int ten = 10, zero = 0, minus = -1;
		CHECK_OK(zmq_setsockopt(s, sw[i].option, &ten, sizeof ten));
		CHECK_OK(zmq_setsockopt(s, sw[i].option, &zero, sizeof zero));
		CHECK_ERR(zmq_setsockopt(s, sw[i].option, &minus, sizeof minus), EINVAL);
		CHECK_OK(zmq_close(s));
	}
	/* 10 is on: a relaxed REQ may send again without waiting for the reply. */
	void *req = zmq_socket(ctx, ZMQ_REQ), *rep = zmq_socket(ctx, ZMQ_REP);
	int ten = 10, zero = 0;
	CHECK_OK(zmq_setsockopt(req, ZMQ_REQ_RELAXED, &ten, sizeof ten));
	CHECK_OK(zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_bind(rep, "inproc://switches"));
	CHECK_OK(zmq_connect(req, "inproc://switches"));
	CHECK_EQ(zmq_send(req, "a", 1, 0), 1);
	CHECK_EQ(zmq_send(req, "b", 1, 0), 1);
	CHECK_OK(zmq_close(req));
	CHECK_OK(zmq_close(rep));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {
        {"a new context has libzmq's defaults", test_defaults},
        {"every settable option reads back what was set", test_set_get_round_trip},
        {"unknown options and bad values are EINVAL", test_bad_options_einval},
        {"negative flags and thread options are EINVAL", test_negative_flags_einval},
        {"removing a CPU never added is EINVAL", test_affinity_remove_unknown_einval},
        {"ZMQ_BLOCKY 0 gives new sockets linger 0", test_blocky_zero_sets_default_linger},
        {"a socket's ZMQ_IPV4ONLY is the inverse of its ZMQ_IPV6",
         test_socket_ipv4only_inverts_ipv6},
        {"libzmq's draft bool socket options read back", test_socket_draft_bool_options},
        {"type-specific options are EINVAL on other types", test_type_specific_options},
        {"socket-type switches take any value >= 0",
         test_type_switches_take_any_nonnegative_value},
        {"a NULL context is EFAULT everywhere", test_null_context_efault},
        {"a dead or bogus context is EFAULT everywhere",
         test_dead_or_bogus_context_efault},
        {"a shut-down context refuses new sockets with ETERM",
         test_shutdown_context_refuses_sockets},
        {"shutdown before any socket, then term", test_shutdown_before_any_socket},
        {"an unknown socket type is EINVAL", test_bad_socket_type_einval},
        {"ZMQ_MAX_SOCKETS is enforced with EMFILE", test_max_sockets_emfile},
        {"ZMQ_MAX_SOCKETS 1 allows exactly one socket", test_max_sockets_one},
        {"zmq_init and zmq_term are aliases", test_init_term_aliases},
        {"a context with no I/O thread does inproc", test_no_io_threads_inproc_works},
        {"many contexts live side by side", test_many_contexts},
        {"ctx_term with no sockets returns at once", test_term_without_sockets},
        {"ctx_term waits for sockets another thread closes",
         test_term_waits_for_sockets_closed_in_another_thread},
        {"closing many connected sockets under load, then term",
         test_close_connected_sockets_under_load},
        {"shutdown from another thread unblocks recv with ETERM",
         test_shutdown_from_another_thread_unblocks_recv},
        {"the threads carry the name prefix and the CPU affinity",
         test_threads_take_name_prefix_and_affinity},
        {"zmq_version is 4.3 and zmq_has knows inproc", test_version_and_has},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
