/*
 * inproc_thr: throughput over inproc from one thread to another, as libzmq's tool of
 * the same name: inproc_thr <message-size> <message-count>.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

static size_t msg_size;
static int msg_count;

static void *
sender(void *ctx)
{
	void *s = zmq_socket(ctx, ZMQ_PUSH);
	zmq_connect(s, "inproc://thr_test");
	for (int i = 0; i < msg_count; i++) {
		zmq_msg_t m;
		zmq_msg_init_size(&m, msg_size);
		if (zmq_msg_send(&m, s, 0) < 0) {
			fprintf(stderr, "send: %s\n", zmq_strerror(zmq_errno()));
			exit(1);
		}
	}
	zmq_close(s);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: inproc_thr <message-size> <message-count>\n");
		return 1;
	}
	msg_size = (size_t)atol(argv[1]);
	msg_count = atoi(argv[2]);
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_PULL);
	zmq_bind(s, "inproc://thr_test");
	pthread_t t;
	pthread_create(&t, NULL, sender, ctx);
	zmq_msg_t m;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, s, 0) != (int)msg_size)
		return 1;
	void *watch = zmq_stopwatch_start();
	for (int i = 1; i < msg_count; i++) {
		if (zmq_msg_recv(&m, s, 0) != (int)msg_size) {
			fprintf(stderr, "recv: %s\n", zmq_strerror(zmq_errno()));
			return 1;
		}
	}
	unsigned long elapsed = zmq_stopwatch_stop(watch);
	if (elapsed == 0)
		elapsed = 1;
	zmq_msg_close(&m);
	pthread_join(t, NULL);
	zmq_close(s);
	zmq_ctx_term(ctx);
	double thr = (double)msg_count / elapsed * 1000000;
	double mbits = thr * msg_size * 8 / 1000000;
	printf("message size: %zu [B]\n", msg_size);
	printf("message count: %d\n", msg_count);
	printf("mean throughput: %d [msg/s]\n", (int)thr);
	printf("mean throughput: %.3f [Mb/s]\n", mbits);
	return 0;
}
