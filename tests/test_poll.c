/*
 * test_poll.c: zmq_poll over inproc sockets and plain fds, and the ZMQ_FD / ZMQ_EVENTS
 * edge semantics it is built on; and waits (zmq_poll, zmq_proxy, a blocking send or
 * receive) ended by another thread's zmq_close. Public API only, but for one look
 * below it: the cases that close a socket another thread waits on wait until that
 * wait holds the socket (socket_borrow's count) and its thread sleeps, so that the
 * close lands while it waits. No case asserts on elapsed time.
 */
#include <zmq.h>

#include "socket/socket.h"
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* pair_new: a bound socket a and a connected socket b on endpoint ep. */
static void
pair_new(void *ctx, int type_a, int type_b, const char *ep, void **a, void **b)
{
	*a = zmq_socket(ctx, type_a);
	CHECK(*a);
	*b = zmq_socket(ctx, type_b);
	CHECK(*b);
	int zero = 0;
	CHECK_OK(zmq_setsockopt(*a, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(*b, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_bind(*a, ep));
	CHECK_OK(zmq_connect(*b, ep));
}

static void
pollitem_socket(zmq_pollitem_t *it, void *s, short events)
{
	it->socket = s;
	it->fd = -1;
	it->events = events;
	it->revents = -1; /* zmq_poll must clear it */
}

static void
pollitem_fd(zmq_pollitem_t *it, int fd, short events)
{
	it->socket = NULL;
	it->fd = fd;
	it->events = events;
	it->revents = -1;
}

/* recv_all: receives every queued message without blocking; returns how many. */
static int
recv_all(void *s)
{
	char buf[16];
	int n = 0;
	while (zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
		n++;
	CHECK_EQ(errno, EAGAIN);
	return n;
}

static int
events_of(void *s)
{
	int ev = -1;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len));
	CHECK_EQ(len, sizeof ev);
	return ev;
}

static void
test_idle_socket_returns_0(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://idle", &a, &b);
	zmq_pollitem_t it;
	pollitem_socket(&it, b, ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(&it, 1, 0), 0);
	CHECK_EQ(it.revents, 0);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_pollin_after_peer_sends(void)
{
	void *ctx = zmq_ctx_new(), *a, *b, *push, *pull;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://pair", &a, &b);
	pair_new(ctx, ZMQ_PULL, ZMQ_PUSH, "inproc://pipeline", &pull, &push);

	zmq_pollitem_t it;
	pollitem_socket(&it, b, ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(&it, 1, 0), 0);
	CHECK_EQ(zmq_send(a, "hi", 2, 0), 2);
	pollitem_socket(&it, b, ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(&it, 1, 1000), 1);
	CHECK_EQ(it.revents, ZMQ_POLLIN);
	/* Level-triggered: still ready until the message is taken. */
	CHECK_EQ(zmq_poll(&it, 1, 0), 1);
	CHECK_EQ(it.revents, ZMQ_POLLIN);
	CHECK_EQ(recv_all(b), 1);
	CHECK_EQ(zmq_poll(&it, 1, 0), 0);
	CHECK_EQ(it.revents, 0);

	pollitem_socket(&it, pull, ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(&it, 1, 0), 0);
	CHECK_EQ(zmq_send(push, "x", 1, 0), 1);
	pollitem_socket(&it, pull, ZMQ_POLLIN | ZMQ_POLLOUT);
	CHECK_EQ(zmq_poll(&it, 1, 1000), 1);
	CHECK_EQ(it.revents, ZMQ_POLLIN); /* a PULL socket is never writable */
	CHECK_EQ(recv_all(pull), 1);

	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_pollout_on_connected_pair_and_push(void)
{
	void *ctx = zmq_ctx_new(), *a, *b, *push, *pull;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://out-pair", &a, &b);
	pair_new(ctx, ZMQ_PULL, ZMQ_PUSH, "inproc://out-push", &pull, &push);

	zmq_pollitem_t items[3];
	pollitem_socket(&items[0], a, ZMQ_POLLOUT | ZMQ_POLLIN);
	pollitem_socket(&items[1], b, ZMQ_POLLOUT);
	pollitem_socket(&items[2], push, ZMQ_POLLOUT | ZMQ_POLLERR | ZMQ_POLLPRI);
	CHECK_EQ(zmq_poll(items, 3, 1000), 3);
	CHECK_EQ(items[0].revents, ZMQ_POLLOUT);
	CHECK_EQ(items[1].revents, ZMQ_POLLOUT);
	CHECK_EQ(items[2].revents, ZMQ_POLLOUT); /* never POLLERR/POLLPRI on a socket */

	/* A socket asked for nothing reports nothing. */
	pollitem_socket(&items[0], a, 0);
	CHECK_EQ(zmq_poll(items, 1, 0), 0);
	CHECK_EQ(items[0].revents, 0);

	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_mixed_sockets_and_fds(void)
{
	void *ctx = zmq_ctx_new(), *a1, *b1, *a2, *b2;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://mixed-1", &a1, &b1);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://mixed-2", &a2, &b2);
	int p[2];
	CHECK_EQ(pipe(p), 0);

	zmq_pollitem_t items[4];
	pollitem_socket(&items[0], b1, ZMQ_POLLIN);
	pollitem_socket(&items[1], b2, ZMQ_POLLIN);
	pollitem_fd(&items[2], p[0], ZMQ_POLLIN);
	pollitem_socket(&items[3], NULL, 0);
	CHECK_EQ(zmq_poll(items, 3, 0), 0);
	CHECK_EQ(items[0].revents, 0);
	CHECK_EQ(items[1].revents, 0);
	CHECK_EQ(items[2].revents, 0);

	/* Only the fd is ready. */
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(zmq_poll(items, 3, 1000), 1);
	CHECK_EQ(items[0].revents, 0);
	CHECK_EQ(items[1].revents, 0);
	CHECK_EQ(items[2].revents, ZMQ_POLLIN);

	/* The fd and the second socket; the pipe's write end is writable. */
	CHECK_EQ(zmq_send(a2, "y", 1, 0), 1);
	pollitem_fd(&items[3], p[1], ZMQ_POLLOUT);
	CHECK_EQ(zmq_poll(items, 4, 1000), 3);
	CHECK_EQ(items[0].revents, 0);
	CHECK_EQ(items[1].revents, ZMQ_POLLIN);
	CHECK_EQ(items[2].revents, ZMQ_POLLIN);
	CHECK_EQ(items[3].revents, ZMQ_POLLOUT);

	/* Drain both; only the writable end is left. */
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(recv_all(b2), 1);
	CHECK_EQ(zmq_poll(items, 4, 0), 1);
	CHECK_EQ(items[3].revents, ZMQ_POLLOUT);

	/* A hang-up is reported as ZMQ_POLLERR, as libzmq does, even if not asked for. */
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(zmq_poll(items, 3, 1000), 1);
	CHECK_EQ(items[2].revents, ZMQ_POLLERR);
	CHECK_EQ(close(p[0]), 0);

	CHECK_OK(zmq_close(a1));
	CHECK_OK(zmq_close(b1));
	CHECK_OK(zmq_close(a2));
	CHECK_OK(zmq_close(b2));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_more_items_than_the_stack_array(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://many", &a, &b);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(zmq_send(a, "y", 1, 0), 1);

	enum { N = 3 * ZMQ_POLLITEMS_DFLT };
	zmq_pollitem_t items[N];
	for (int i = 0; i < N; i++) {
		if (i % 2)
			pollitem_socket(&items[i], b, ZMQ_POLLIN);
		else
			pollitem_fd(&items[i], p[0], ZMQ_POLLIN);
	}
	CHECK_EQ(zmq_poll(items, N, 1000), N);
	for (int i = 0; i < N; i++)
		CHECK_EQ(items[i].revents, ZMQ_POLLIN);

	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_timeout_with_nothing_ready_returns_0(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PULL, ZMQ_PUSH, "inproc://timeout", &a, &b);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	zmq_pollitem_t items[2];
	pollitem_socket(&items[0], a, ZMQ_POLLIN);
	pollitem_fd(&items[1], p[0], ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(items, 2, 100), 0);
	CHECK_EQ(items[0].revents, 0);
	CHECK_EQ(items[1].revents, 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void *
send_later(void *s)
{
	/* Only so that the main thread is (most likely) already blocked in zmq_poll when
	 * the message arrives; the test passes whichever comes first. */
	usleep(50 * 1000);
	if (zmq_send(s, "wake", 4, 0) != 4)
		return (void *)1;
	return NULL;
}

static void
test_send_from_another_thread_wakes_poll(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://wake", &a, &b);
	/* The sender owns a until it is joined (full barrier), then we close it. */
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, send_later, a), 0);
	zmq_pollitem_t it;
	pollitem_socket(&it, b, ZMQ_POLLIN);
	int rc = zmq_poll(&it, 1, -1);
	void *res;
	CHECK_EQ(pthread_join(t, &res), 0);
	CHECK(res == NULL);
	CHECK_EQ(rc, 1);
	CHECK_EQ(it.revents, ZMQ_POLLIN);
	CHECK_EQ(recv_all(b), 1);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_zmq_fd_and_events_are_edge_triggered(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://edge", &a, &b);
	int fd = -1;
	size_t len = sizeof fd;
	CHECK_OK(zmq_getsockopt(b, ZMQ_FD, &fd, &len));
	CHECK(fd >= 0);

	/* The documented protocol: ask ZMQ_EVENTS, then wait on the fd for the edge. */
	CHECK_EQ(events_of(b) & ZMQ_POLLIN, 0);
	CHECK_EQ(zmq_send(a, "1", 1, 0), 1);
	CHECK_EQ(zmq_send(a, "2", 1, 0), 1);
	CHECK_EQ(zmq_send(a, "3", 1, 0), 1);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 1000), 1);
	CHECK(pfd.revents & POLLIN);
	CHECK(events_of(b) & ZMQ_POLLIN);
	CHECK_EQ(recv_all(b), 3);
	CHECK_EQ(events_of(b) & ZMQ_POLLIN, 0);

	/* The next message makes the fd readable again. */
	CHECK_EQ(zmq_send(a, "4", 1, 0), 1);
	pfd.revents = 0;
	CHECK_EQ(poll(&pfd, 1, 1000), 1);
	CHECK(events_of(b) & ZMQ_POLLIN);
	CHECK_EQ(recv_all(b), 1);
	CHECK_EQ(events_of(b) & ZMQ_POLLIN, 0);

	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* What a job's thread does with its socket, blocking until it returns. */
enum wait_kind { WAIT_POLL, WAIT_RECV, WAIT_SEND, WAIT_PROXY };

struct wait_job {
	enum wait_kind kind;
	void *socket;
	void *backend; /* WAIT_PROXY's, the socket being its frontend */
	int rc;
	int err;
	_Atomic pid_t tid;
	pthread_t thread;
};

static void *
wait_run(void *arg)
{
	struct wait_job *job = arg;
	atomic_store(&job->tid, (pid_t)syscall(SYS_gettid));
	zmq_pollitem_t it = {.socket = job->socket, .events = ZMQ_POLLIN};
	char buf[8] = "x";
	errno = 0;
	switch (job->kind) {
	case WAIT_POLL: job->rc = zmq_poll(&it, 1, -1); break;
	case WAIT_RECV: job->rc = zmq_recv(job->socket, buf, sizeof buf, 0); break;
	case WAIT_SEND: job->rc = zmq_send(job->socket, buf, 1, 0); break;
	case WAIT_PROXY: job->rc = zmq_proxy(job->socket, job->backend, NULL); break;
	}
	job->err = errno;
	return NULL;
}

/* wait_start: job's thread, started. */
static void
wait_start(struct wait_job *job)
{
	CHECK_EQ(pthread_create(&job->thread, NULL, wait_run, job), 0);
}

/* wait_end: joins job's thread; its call must have failed with err. */
static void
wait_end(struct wait_job *job, int err)
{
	CHECK_EQ(pthread_join(job->thread, NULL), 0);
	CHECK_EQ(job->rc, -1);
	CHECK_EQ(job->err, err);
}

static void
test_ctx_shutdown_while_polling_gives_eterm(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://eterm", &a, &b);
	struct wait_job job = {.kind = WAIT_POLL, .socket = b};
	wait_start(&job);
	/* Only so that the poller is (most likely) blocked before the shutdown; ETERM is
	 * the answer either way. */
	usleep(50 * 1000);
	CHECK_OK(zmq_ctx_shutdown(ctx));
	wait_end(&job, ETERM);

	/* Afterwards, polling the other socket fails at once too. */
	zmq_pollitem_t it;
	pollitem_socket(&it, a, ZMQ_POLLIN);
	CHECK_ERR(zmq_poll(&it, 1, -1), ETERM);

	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* thread_sleeping: whether thread tid of this process is asleep (state S in
 * /proc/self/task/<tid>/stat). */
static bool
thread_sleeping(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	CHECK(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
	CHECK(paren && paren[1] == ' ');
	return paren[2] == 'S';
}

/* close_under_wait: once job's thread waits on its socket (it holds it: socket_borrow,
 * and sleeps), closes the socket, as a binding's finalizer does (zeromq4-haskell's):
 * the wait must end with ENOTSOCK (libzmq's zmq_poll's answer), not go on for ever. */
static void
close_under_wait(struct wait_job *job)
{
	struct socket *sock = job->socket;
	while ((atomic_load(&sock->use) & SOCKET_USE_COUNT) == 0 ||
	       !atomic_load(&job->tid) || !thread_sleeping(atomic_load(&job->tid)))
		sched_yield();
	CHECK_OK(zmq_close(job->socket));
	wait_end(job, ENOTSOCK);
}

static void
test_close_from_another_thread_ends_poll_with_enotsock(void)
{
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://closed-under", &a, &b);
	struct wait_job job = {.kind = WAIT_POLL, .socket = b};
	wait_start(&job);
	close_under_wait(&job);
	/* The poll gave the socket to the reaper as it left: the context ends. */
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* close_under_io: a thread blocks in a send or receive on s, and we close s. */
static void
close_under_io(void *s, enum wait_kind kind)
{
	struct wait_job job = {.kind = kind, .socket = s};
	wait_start(&job);
	close_under_wait(&job);
}

static void
test_close_from_another_thread_ends_blocking_io(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	/* A receive with nothing to receive. */
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(pull);
	CHECK_OK(zmq_bind(pull, "inproc://closed-recv"));
	close_under_io(pull, WAIT_RECV);
	/* A send with nowhere to go (no peer: it waits for one). */
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(push);
	int zero = 0;
	CHECK_OK(zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero));
	close_under_io(push, WAIT_SEND);
	/* A request's receive over tcp and ipc, waiting for a reply that does not come:
	 * the receive polls the connection's fd itself (pipe/shortcut.h), which it
	 * must give back to the engine before the reaper ends the connection. */
	const char *eps[] = {"tcp://127.0.0.1:*", "ipc://*"};
	for (int i = 0; i < 2; i++) {
		void *rep = zmq_socket(ctx, ZMQ_REP), *req = zmq_socket(ctx, ZMQ_REQ);
		CHECK(rep && req);
		CHECK_OK(zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero));
		CHECK_OK(zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero));
		CHECK_OK(zmq_bind(rep, eps[i]));
		char ep[256];
		size_t len = sizeof ep;
		CHECK_OK(zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &len));
		CHECK_OK(zmq_connect(req, ep));
		CHECK_EQ(zmq_send(req, "q", 1, 0), 1);
		char buf[8];
		CHECK_EQ(zmq_recv(rep, buf, sizeof buf, 0), 1);
		close_under_io(req, WAIT_RECV);
		CHECK_OK(zmq_close(rep));
	}
	/* All were given to the reaper when their waits left: the context ends. */
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_close_from_another_thread_ends_proxy(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *fe = zmq_socket(ctx, ZMQ_ROUTER), *be = zmq_socket(ctx, ZMQ_DEALER);
	void *client = zmq_socket(ctx, ZMQ_REQ), *worker = zmq_socket(ctx, ZMQ_REP);
	CHECK(fe && be && client && worker);
	CHECK_OK(zmq_bind(fe, "inproc://proxy-fe"));
	CHECK_OK(zmq_bind(be, "inproc://proxy-be"));
	CHECK_OK(zmq_connect(client, "inproc://proxy-fe"));
	CHECK_OK(zmq_connect(worker, "inproc://proxy-be"));
	struct wait_job job = {.kind = WAIT_PROXY, .socket = fe, .backend = be};
	wait_start(&job);
	/* One request through it, so it runs. */
	char buf[8];
	CHECK_EQ(zmq_send(client, "hi", 2, 0), 2);
	CHECK_EQ(zmq_recv(worker, buf, sizeof buf, 0), 2);
	CHECK_EQ(zmq_send(worker, "ho", 2, 0), 2);
	CHECK_EQ(zmq_recv(client, buf, sizeof buf, 0), 2);
	close_under_wait(&job);
	int zero = 0;
	CHECK_OK(zmq_setsockopt(client, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_close(be));
	CHECK_OK(zmq_close(client));
	CHECK_OK(zmq_close(worker));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_no_items(void)
{
	CHECK_EQ(zmq_poll(NULL, 0, 0), 0);
	CHECK_EQ(zmq_poll(NULL, 0, 20), 0);
	zmq_pollitem_t it;
	pollitem_fd(&it, 0, ZMQ_POLLIN);
	CHECK_EQ(zmq_poll(&it, 0, 20), 0);
}

static void
test_bad_arguments(void)
{
	CHECK_ERR(zmq_poll(NULL, 1, 0), EFAULT);
	zmq_pollitem_t it;
	pollitem_fd(&it, 0, ZMQ_POLLIN);
	CHECK_ERR(zmq_poll(&it, -1, 0), EINVAL);

	/* Something that is not a socket, before and after a real one. */
	static uint64_t junk[1024];
	void *ctx = zmq_ctx_new(), *a, *b;
	CHECK(ctx);
	pair_new(ctx, ZMQ_PAIR, ZMQ_PAIR, "inproc://bad", &a, &b);
	zmq_pollitem_t items[2];
	pollitem_socket(&items[0], junk, ZMQ_POLLIN);
	pollitem_socket(&items[1], a, ZMQ_POLLOUT);
	CHECK_ERR(zmq_poll(items, 2, 0), ENOTSOCK);
	pollitem_socket(&items[0], a, ZMQ_POLLOUT);
	pollitem_socket(&items[1], junk, ZMQ_POLLIN);
	CHECK_ERR(zmq_poll(items, 2, -1), ENOTSOCK);
	/* Read-only memory: looked at, never written (a socket's hold is a write). */
	static const uint64_t ro_junk[1024] = {1};
	pollitem_socket(&items[0], (void *)ro_junk, ZMQ_POLLIN);
	CHECK_ERR(zmq_poll(items, 1, 0), ENOTSOCK);
	pollitem_socket(&items[0], a, ZMQ_POLLOUT);
	pollitem_socket(&items[1], (void *)ro_junk, ZMQ_POLLIN);
	CHECK_ERR(zmq_poll(items, 2, 0), ENOTSOCK);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

int
main(void)
{
	static const struct test tests[] = {
	        {"poll with timeout 0 on an idle socket returns 0",
	         test_idle_socket_returns_0},
	        {"poll reports POLLIN after the peer sends",
	         test_pollin_after_peer_sends},
	        {"connected PAIR and PUSH report POLLOUT",
	         test_pollout_on_connected_pair_and_push},
	        {"a mixed set of sockets and fds reports the right items",
	         test_mixed_sockets_and_fds},
	        {"more items than the stack array", test_more_items_than_the_stack_array},
	        {"a timeout with nothing ready returns 0",
	         test_timeout_with_nothing_ready_returns_0},
	        {"a close from another thread ends a poll with ENOTSOCK",
	         test_close_from_another_thread_ends_poll_with_enotsock},
	        {"a close from another thread ends zmq_proxy with ENOTSOCK",
	         test_close_from_another_thread_ends_proxy},
	        {"a close from another thread ends a blocking send or receive",
	         test_close_from_another_thread_ends_blocking_io},
	        {"a send from another thread wakes a poll with timeout -1",
	         test_send_from_another_thread_wakes_poll},
	        {"ZMQ_FD and ZMQ_EVENTS are edge-triggered",
	         test_zmq_fd_and_events_are_edge_triggered},
	        {"ctx shutdown while polling gives ETERM",
	         test_ctx_shutdown_while_polling_gives_eterm},
	        {"no items sleeps for the timeout and returns 0", test_no_items},
	        {"bad arguments: EFAULT, EINVAL, ENOTSOCK (read-only memory too)",
	         test_bad_arguments},
	        {NULL, NULL}};
	return test_main(tests);
}
