/*
 * hello.c: the program the package test builds out of tree against an installed zinc,
 * each way a user would (find_package(ZeroMQ), find_package(zinc), pkg-config). It
 * sends one message over inproc and prints what came back and which library ran.
 */
#include <stdio.h>
#include <string.h>

#include <zmq.h>

int
main(void)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	char buf[16] = "";
	if (!ctx || !a || !b || zmq_bind(a, "inproc://hello") != 0 ||
	    zmq_connect(b, "inproc://hello") != 0 || zmq_send(b, "hello", 5, 0) != 5 ||
	    zmq_recv(a, buf, sizeof buf - 1, 0) != 5) {
		fprintf(stderr, "hello: %s\n", zmq_strerror(zmq_errno()));
		return 1;
	}
	int major, minor, patch;
	zmq_version(&major, &minor, &patch);
	/* shm:// is zinc's alone: it tells zinc from the system libzmq. */
	printf("%s from %s %d.%d.%d\n", buf, zmq_has("shm") ? "zinc" : "libzmq", major,
	       minor, patch);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	return 0;
}
