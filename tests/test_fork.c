/*
 * test_fork.c: a process that forks while it has a context with running threads and
 * open sockets (libzmq 4.3's test_fork). The child has none of the parent's threads: it
 * closes the sockets it inherited and terminates the inherited context without waiting
 * for them (zmq_ctx_term returns at once), may not make sockets in it (ETERM), and makes
 * a context of its own, which works. The parent's context is untouched: it receives
 * what the child sends, and terminates normally.
 *
 * The child reports with its exit status (it must not return into the test harness);
 * an alarm turns a hang in the child into a failure the parent sees.
 */
#include "testutil.h"
#include "zmq.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MESSAGES 5
#define WAIT_MS  (5000 * ZINC_TEST_SLOWDOWN)

enum child_fail {
	CHILD_OK,
	CHILD_CLOSE,
	CHILD_SOCKET,
	CHILD_TERM,
	CHILD_NEW_CTX,
	CHILD_CONNECT,
	CHILD_SEND,
	CHILD_OWN_TERM,
};

/* child_main: what the forked child does; returns its exit status. */
static int
child_main(void *parent_ctx, void *inherited, const char *ep)
{
	/* A hang here ends the child with SIGALRM; a slow child must not: the bound
	 * scales with the sanitizers, and valgrind (20-50 times slower) gets a minute. */
	alarm(getenv("ZINC_TEST_UNDER_VALGRIND") ? 60 : 10 * ZINC_TEST_SLOWDOWN);
	if (zmq_close(inherited) != 0)
		return CHILD_CLOSE;
	errno = 0;
	if (zmq_socket(parent_ctx, ZMQ_PUSH) != NULL || errno != ETERM)
		return CHILD_SOCKET;
	if (zmq_ctx_term(parent_ctx) != 0)
		return CHILD_TERM;
	void *ctx = zmq_ctx_new();
	void *push = ctx ? zmq_socket(ctx, ZMQ_PUSH) : NULL;
	if (!push)
		return CHILD_NEW_CTX;
	if (zmq_connect(push, ep) != 0)
		return CHILD_CONNECT;
	for (int i = 0; i < MESSAGES; i++)
		if (zmq_send(push, "Hello", 5, 0) != 5)
			return CHILD_SEND;
	if (zmq_close(push) != 0 || zmq_ctx_term(ctx) != 0)
		return CHILD_OWN_TERM;
	return CHILD_OK;
}

/* child_exit: ends the child with status rc through exec rather than exit. The child
 * keeps the copy of the parent's context it inherited (the threads that own it were not
 * copied, so it cannot be freed safely); under valgrind a plain exit would report that
 * copy as a leak of the child, whereas an exec'd program is not leak-checked. */
static _Noreturn void
child_exit(int rc)
{
	char code[8];
	snprintf(code, sizeof code, "%d", rc);
	execl("/bin/sh", "sh", "-c", "exit \"$1\"", "sh", code, (char *)NULL);
	_exit(rc); /* no shell: the status still reaches the parent */
}

static void
test_child_with_its_own_context(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(pull);
	int timeout = WAIT_MS;
	CHECK_OK(zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
	CHECK_OK(zmq_bind(pull, "tcp://127.0.0.1:*"));
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len));
	/* An inproc pair too, so the parent's context has more than the one socket. */
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(a && b);
	CHECK_OK(zmq_bind(a, "inproc://fork"));
	CHECK_OK(zmq_connect(b, "inproc://fork"));

	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child_exit(child_main(ctx, pull, ep));

	char buf[16];
	for (int i = 0; i < MESSAGES; i++) {
		int n = zmq_recv(pull, buf, sizeof buf, 0);
		if (n < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			TEST_FAIL("message %d from the child: %s", i, strerror(errno));
		}
		CHECK_EQ(n, 5);
		CHECK(memcmp(buf, "Hello", 5) == 0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		TEST_FAIL("the child died of signal %d", WTERMSIG(status));
	CHECK_EQ(WEXITSTATUS(status), CHILD_OK);

	/* The parent's context goes on as before. */
	CHECK_EQ(zmq_send(b, "after", 5, 0), 5);
	CHECK_EQ(zmq_recv(a, buf, sizeof buf, 0), 5);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {{"a forked child works with a context of its own",
                                     test_child_with_its_own_context},
                                    {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
