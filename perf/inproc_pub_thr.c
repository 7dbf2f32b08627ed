/*
 * inproc_pub_thr: PUB/SUB fan-out throughput over inproc, in one process:
 * inproc_pub_thr <message-size> <message-count> [subscribers]. The main thread
 * publishes message-count messages of message-size bytes to `subscribers` SUB sockets
 * (default 2), each in its own thread and subscribed to everything; the throughput is
 * messages published per second, each one delivered to every subscriber. None is lost:
 * the publisher is an XPUB with ZMQ_XPUB_NODROP (it waits at the high-water mark
 * rather than dropping) and starts once every subscription has arrived, so the figure
 * is the fan-out itself: the subscription matching, the copies to each pipe and the
 * subscribers' reads. The clock runs from the first message sent until every
 * subscriber has received the last one. Builds against zinc or any libzmq.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "inproc_pub_thr";
static int msg_size;
static int msg_count;
static void *ctx;

/* subscriber: receives msg_count messages of msg_size bytes, then closes. */
static void *
subscriber(void *arg)
{
	(void)arg;
	void *s = zmq_socket(ctx, ZMQ_SUB);
	if (!s || zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0 ||
	    zmq_connect(s, "inproc://pub_thr") != 0)
		perf_die(tool, "subscriber socket");
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (int i = 0; i < msg_count; i++) {
		int n = zmq_msg_recv(&m, s, 0);
		if (n < 0)
			perf_die(tool, "zmq_msg_recv");
		if (n != msg_size) {
			fprintf(stderr, "%s: message of bad size: %d\n", tool, n);
			exit(1);
		}
	}
	zmq_msg_close(&m);
	zmq_close(s);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: inproc_pub_thr <message-size> <message-count> "
		                "[subscribers]\n");
		return 1;
	}
	msg_size = perf_arg(tool, "message size", argv[1], 0);
	msg_count = perf_arg(tool, "message count", argv[2], 1);
	int subs = argc == 4 ? perf_arg(tool, "subscribers", argv[3], 1) : 2;
	if (subs > 64) {
		fprintf(stderr, "%s: at most 64 subscribers\n", tool);
		return 1;
	}
	ctx = perf_ctx_new(tool);
	void *pub = zmq_socket(ctx, ZMQ_XPUB);
	int one = 1;
	/* VERBOSE: every subscriber's subscription comes up, not only the first. */
	if (!pub || zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &one, sizeof one) != 0 ||
	    zmq_setsockopt(pub, ZMQ_XPUB_VERBOSE, &one, sizeof one) != 0 ||
	    zmq_bind(pub, "inproc://pub_thr") != 0)
		perf_die(tool, "publisher socket");

	pthread_t t[64];
	for (int i = 0; i < subs; i++)
		pthread_create(&t[i], NULL, subscriber, NULL);
	/* One subscription message per subscriber. */
	char sub[16];
	for (int i = 0; i < subs; i++)
		if (zmq_recv(pub, sub, sizeof sub, 0) < 0)
			perf_die(tool, "zmq_recv (subscription)");

	void *watch = zmq_stopwatch_start();
	for (int i = 0; i < msg_count; i++) {
		zmq_msg_t m;
		if (zmq_msg_init_size(&m, (size_t)msg_size) != 0)
			perf_die(tool, "zmq_msg_init_size");
		if (zmq_msg_send(&m, pub, 0) < 0)
			perf_die(tool, "zmq_msg_send");
	}
	for (int i = 0; i < subs; i++)
		pthread_join(t[i], NULL);
	unsigned long elapsed = zmq_stopwatch_stop(watch);
	if (elapsed == 0)
		elapsed = 1;
	zmq_close(pub);
	zmq_ctx_term(ctx);

	double thr = (double)msg_count / (double)elapsed * 1000000.0;
	double mbits = thr * msg_size * 8 / 1000000.0;
	printf("message size: %d [B]\n", msg_size);
	printf("message count: %d\n", msg_count);
	printf("subscribers: %d\n", subs);
	printf("mean throughput: %d [msg/s]\n", (int)thr);
	printf("mean throughput: %.3f [Mb/s]\n", mbits);
	return 0;
}
