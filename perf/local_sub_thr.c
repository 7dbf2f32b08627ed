/*
 * local_sub_thr: the receiving half of the PUB/SUB throughput test (libzmq ships no
 * such tool; this one mirrors local_thr): local_sub_thr <bind-to> <message-size>
 * <message-count>. Binds a SUB socket subscribed to everything, receives
 * message-count messages from remote_pub_thr and prints the throughput. The clock
 * starts when the first message arrives, so connection setup is not counted.
 */
#include <stdio.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "local_sub_thr";

/* recv_one: receives one message into m; exits unless it has msg_size bytes. */
static void
recv_one(zmq_msg_t *m, void *s, int msg_size)
{
	int n = zmq_msg_recv(m, s, 0);
	if (n < 0)
		perf_die(tool, "zmq_msg_recv");
	if (n != msg_size) {
		fprintf(stderr, "%s: message of bad size: %d\n", tool, n);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: local_sub_thr <bind-to> <message-size> "
		                "<message-count>\n");
		return 1;
	}
	const char *bind_to = argv[1];
	int msg_size = perf_arg(tool, "message size", argv[2], 0);
	int msg_count = perf_arg(tool, "message count", argv[3], 1);

	void *ctx = perf_ctx_new(tool);
	static const int types[] = {ZMQ_SUB, -1};
	void *s = perf_socket(tool, ctx, types);
	if (zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
		perf_die(tool, "ZMQ_SUBSCRIBE");
	if (zmq_bind(s, bind_to) != 0)
		perf_die(tool, "zmq_bind");

	zmq_msg_t m;
	if (zmq_msg_init(&m) != 0)
		perf_die(tool, "zmq_msg_init");
	recv_one(&m, s, msg_size);
	void *watch = zmq_stopwatch_start();
	for (int i = 1; i != msg_count; i++)
		recv_one(&m, s, msg_size);
	unsigned long elapsed = zmq_stopwatch_stop(watch);
	if (elapsed == 0)
		elapsed = 1;
	zmq_msg_close(&m);

	double thr = (double)msg_count / (double)elapsed * 1000000.0;
	double mbits = thr * msg_size * 8 / 1000000.0;
	printf("message size: %d [B]\n", msg_size);
	printf("message count: %d\n", msg_count);
	printf("mean throughput: %d [msg/s]\n", (int)thr);
	printf("mean throughput: %.3f [Mb/s]\n", mbits);

	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
