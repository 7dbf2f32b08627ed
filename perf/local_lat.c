/*
 * local_lat: the echoing half of the latency test, as libzmq's tool of the same name:
 * local_lat <bind-to> <message-size> <roundtrip-count>. Binds a REP socket (PAIR where
 * the library has no REP), then receives and returns roundtrip-count messages. The
 * peer, remote_lat, measures and prints. Builds against zinc or any libzmq.
 */
#include <stdio.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "local_lat";

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr,
		        "usage: local_lat <bind-to> <message-size> <roundtrip-count>\n");
		return 1;
	}
	const char *bind_to = argv[1];
	int msg_size = perf_arg(tool, "message size", argv[2], 0);
	int roundtrips = perf_arg(tool, "roundtrip count", argv[3], 1);

	void *ctx = perf_ctx_new(tool);
	static const int types[] = {ZMQ_REP, ZMQ_PAIR, -1};
	void *s = perf_socket(tool, ctx, types);
	if (zmq_bind(s, bind_to) != 0)
		perf_die(tool, "zmq_bind");

	zmq_msg_t m;
	if (zmq_msg_init(&m) != 0)
		perf_die(tool, "zmq_msg_init");
	for (int i = 0; i != roundtrips; i++) {
		int n = zmq_msg_recv(&m, s, 0);
		if (n < 0)
			perf_die(tool, "zmq_msg_recv");
		if (n != msg_size) {
			fprintf(stderr, "%s: message of bad size: %d\n", tool, n);
			return 1;
		}
		if (zmq_msg_send(&m, s, 0) < 0)
			perf_die(tool, "zmq_msg_send");
	}
	zmq_msg_close(&m);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
