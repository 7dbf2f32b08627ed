/*
 * demo.c: a first look at zinc. Sends a million small messages PUSH -> PULL across two
 * threads over inproc, then plays ping-pong over a PAIR, and prints what it did.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "zmq.h"

#define COUNT  1000000
#define ROUNDS 10000

static void *
puller(void *ctx)
{
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	zmq_connect(pull, "inproc://demo-pipeline");
	char buf[64];
	long bytes = 0;
	for (int i = 0; i < COUNT; i++)
		bytes += zmq_recv(pull, buf, sizeof buf, 0);
	printf("  PULL received %d messages, %ld bytes\n", COUNT, bytes);
	zmq_close(pull);
	return NULL;
}

static void *
ponger(void *ctx)
{
	void *pair = zmq_socket(ctx, ZMQ_PAIR);
	zmq_connect(pair, "inproc://demo-pair");
	char buf[64];
	for (int i = 0; i < ROUNDS; i++) {
		int n = zmq_recv(pair, buf, sizeof buf, 0);
		zmq_send(pair, buf, (size_t)n, 0);
	}
	zmq_close(pair);
	return NULL;
}

int
main(void)
{
	int major, minor, patch;
	zmq_version(&major, &minor, &patch);
	printf("zinc speaking the libzmq %d.%d.%d API\n", major, minor, patch);
	void *ctx = zmq_ctx_new();

	printf("PUSH -> PULL over inproc, %d messages of 32 bytes:\n", COUNT);
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	zmq_bind(push, "inproc://demo-pipeline");
	pthread_t t;
	pthread_create(&t, NULL, puller, ctx);
	char msg[32];
	memset(msg, 'z', sizeof msg);
	void *watch = zmq_stopwatch_start();
	for (int i = 0; i < COUNT; i++)
		zmq_send(push, msg, sizeof msg, 0);
	pthread_join(t, NULL);
	unsigned long us = zmq_stopwatch_stop(watch);
	printf("  %.2f M msg/s\n", us ? COUNT / (double)us : 0.0);
	zmq_close(push);

	printf("PAIR ping-pong over inproc, %d round trips:\n", ROUNDS);
	void *pair = zmq_socket(ctx, ZMQ_PAIR);
	zmq_bind(pair, "inproc://demo-pair");
	pthread_create(&t, NULL, ponger, ctx);
	watch = zmq_stopwatch_start();
	for (int i = 0; i < ROUNDS; i++) {
		zmq_send(pair, "ping", 4, 0);
		zmq_recv(pair, msg, sizeof msg, 0);
	}
	us = zmq_stopwatch_stop(watch);
	pthread_join(t, NULL);
	printf("  %.2f us per round trip\n", us / (double)ROUNDS);
	zmq_close(pair);
	zmq_ctx_term(ctx);
	printf("done: all sockets closed, context terminated\n");
	return 0;
}
