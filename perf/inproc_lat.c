/*
 * inproc_lat: round-trip latency over inproc between two threads, as libzmq's tool of
 * the same name: inproc_lat <message-size> <roundtrip-count>. Prints the average
 * one-way latency. Builds against zinc or any libzmq.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

static size_t msg_size;
static int roundtrips;

static void *
echo(void *ctx)
{
	void *s = zmq_socket(ctx, ZMQ_REP);
	if (!s)
		s = zmq_socket(ctx, ZMQ_PAIR);
	int type;
	size_t len = sizeof type;
	zmq_getsockopt(s, ZMQ_TYPE, &type, &len);
	zmq_connect(s, "inproc://lat_test");
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (int i = 0; i < roundtrips; i++) {
		if (zmq_msg_recv(&m, s, 0) != (int)msg_size ||
		    zmq_msg_send(&m, s, 0) < 0) {
			fprintf(stderr, "echo: %s\n", zmq_strerror(zmq_errno()));
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
	if (argc != 3) {
		fprintf(stderr, "usage: inproc_lat <message-size> <roundtrip-count>\n");
		return 1;
	}
	msg_size = (size_t)atol(argv[1]);
	roundtrips = atoi(argv[2]);
	void *ctx = zmq_ctx_new();
	/* REQ/REP where the library has them, PAIR otherwise. */
	void *s = zmq_socket(ctx, ZMQ_REQ);
	int paired = 0;
	if (!s) {
		s = zmq_socket(ctx, ZMQ_PAIR);
		paired = 1;
	}
	zmq_bind(s, "inproc://lat_test");
	(void)paired;
	pthread_t t;
	pthread_create(&t, NULL, echo, ctx);
	zmq_msg_t m;
	zmq_msg_init_size(&m, msg_size);
	memset(zmq_msg_data(&m), 0, msg_size);
	void *watch = zmq_stopwatch_start();
	for (int i = 0; i < roundtrips; i++) {
		if (zmq_msg_send(&m, s, 0) < 0 ||
		    zmq_msg_recv(&m, s, 0) != (int)msg_size) {
			fprintf(stderr, "lat: %s\n", zmq_strerror(zmq_errno()));
			return 1;
		}
	}
	unsigned long elapsed = zmq_stopwatch_stop(watch);
	zmq_msg_close(&m);
	pthread_join(t, NULL);
	zmq_close(s);
	zmq_ctx_term(ctx);
	double latency = (double)elapsed / (roundtrips * 2);
	printf("message size: %zu [B]\n", msg_size);
	printf("roundtrip count: %d\n", roundtrips);
	printf("average latency: %.3f [us]\n", latency);
	return 0;
}
