/*
 * remote_lat: the measuring half of the latency test, as libzmq's tool of the same name:
 * remote_lat <connect-to> <message-size> <roundtrip-count>. Connects a REQ socket (PAIR
 * where the library has no REQ) to local_lat, sends roundtrip-count messages, waits for
 * each to come back, and prints the average one-way latency: the elapsed time over twice
 * the roundtrip count. As in libzmq's tool, the clock starts right after zmq_connect.
 */
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "remote_lat";

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: remote_lat <connect-to> <message-size> "
		                "<roundtrip-count>\n");
		return 1;
	}
	const char *connect_to = argv[1];
	int msg_size = perf_arg(tool, "message size", argv[2], 0);
	int roundtrips = perf_arg(tool, "roundtrip count", argv[3], 1);

	void *ctx = perf_ctx_new(tool);
	static const int types[] = {ZMQ_REQ, ZMQ_PAIR, -1};
	void *s = perf_socket(tool, ctx, types);
	if (zmq_connect(s, connect_to) != 0)
		perf_die(tool, "zmq_connect");

	zmq_msg_t m;
	if (zmq_msg_init_size(&m, (size_t)msg_size) != 0)
		perf_die(tool, "zmq_msg_init_size");
	memset(zmq_msg_data(&m), 0, (size_t)msg_size);

	void *watch = zmq_stopwatch_start();
	for (int i = 0; i != roundtrips; i++) {
		if (zmq_msg_send(&m, s, 0) < 0)
			perf_die(tool, "zmq_msg_send");
		int n = zmq_msg_recv(&m, s, 0);
		if (n < 0)
			perf_die(tool, "zmq_msg_recv");
		if (n != msg_size) {
			fprintf(stderr, "%s: message of bad size: %d\n", tool, n);
			return 1;
		}
	}
	unsigned long elapsed = zmq_stopwatch_stop(watch);
	zmq_msg_close(&m);

	double latency = (double)elapsed / (roundtrips * 2.0);
	printf("message size: %d [B]\n", msg_size);
	printf("roundtrip count: %d\n", roundtrips);
	printf("average latency: %.3f [us]\n", latency);

	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
