/*
 * remote_pub_thr: the sending half of the PUB/SUB throughput test: remote_pub_thr
 * <connect-to> <message-size> <message-count>. Connects to local_sub_thr and publishes
 * message-count messages of message-size bytes, none lost: the socket is an XPUB (a
 * PUB that can receive), so it starts once the subscription has arrived instead of
 * losing the first messages to the slow joiner, and it sets ZMQ_XPUB_NODROP, so it
 * waits at the high-water mark instead of dropping. Every message still goes through
 * the publisher's subscription matching and fan-out. zmq_ctx_term then waits
 * (infinite linger) until all of them are on their way.
 */
#include <stdio.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "remote_pub_thr";

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: remote_pub_thr <connect-to> <message-size> "
		                "<message-count>\n");
		return 1;
	}
	const char *connect_to = argv[1];
	int msg_size = perf_arg(tool, "message size", argv[2], 0);
	int msg_count = perf_arg(tool, "message count", argv[3], 1);

	void *ctx = perf_ctx_new(tool);
	static const int types[] = {ZMQ_XPUB, -1};
	void *s = perf_socket(tool, ctx, types);
	int one = 1;
	if (zmq_setsockopt(s, ZMQ_XPUB_NODROP, &one, sizeof one) != 0)
		perf_die(tool, "ZMQ_XPUB_NODROP");
	if (zmq_connect(s, connect_to) != 0)
		perf_die(tool, "zmq_connect");
	char sub[16];
	if (zmq_recv(s, sub, sizeof sub, 0) < 0)
		perf_die(tool, "zmq_recv (subscription)");

	for (int i = 0; i != msg_count; i++) {
		zmq_msg_t m;
		if (zmq_msg_init_size(&m, (size_t)msg_size) != 0)
			perf_die(tool, "zmq_msg_init_size");
		if (zmq_msg_send(&m, s, 0) < 0)
			perf_die(tool, "zmq_msg_send");
	}

	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
