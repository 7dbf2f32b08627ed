/*
 * pattern_lat: one-way latency of a socket pattern, with its distribution:
 *
 *   pattern_lat local|remote <pattern> <endpoint> <message-size> <roundtrip-count>
 *
 * <pattern> is pair (PAIR to PAIR), reqrep (REQ to REP), pushpull (PUSH to PULL and a
 * second PUSH/PULL connection back) or pubsub (PUB to SUB, subscribed to everything,
 * and a second PUB/SUB connection back). "local" binds and echoes every message;
 * "remote" connects, sends <roundtrip-count> messages one at a time, times each round
 * trip with CLOCK_MONOTONIC and prints the one-way latency (half the round trip) as
 * average, p50, p99 and p99.9 in microseconds. The connection back of pushpull and
 * pubsub is the endpoint with "-b" appended (ipc://, shm://) or the next port (tcp://).
 *
 * Before the timed round trips, 1000 untimed ones; for pubsub the remote first sends a
 * probe every 10 ms until one comes back (a subscriber joins late), then a fence it
 * waits for, so no probe is left in flight. ZINC_PERF_OPTS applies (perf_opts.h), e.g.
 * shm_spin_us=1000 for zinc's shm:// spinning, on both sides. The public zmq.h API
 * only: the same source builds against zinc and libzmq (perf/compare.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "pattern_lat";

#define WARMUP 1000

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* back_endpoint: the endpoint of the connection back. */
static void
back_endpoint(const char *ep, char *out, size_t len)
{
	const char *colon = strrchr(ep, ':');
	if (strncmp(ep, "tcp://", 6) == 0 && colon) {
		snprintf(out, len, "%.*s:%d", (int)(colon - ep), ep, atoi(colon + 1) + 1);
		return;
	}
	snprintf(out, len, "%s-b", ep);
}

struct pattern {
	const char *name;
	int out_local, in_local; /* the local side's sending and receiving types */
	int out_remote, in_remote;
	int two; /* two connections: out and in are different sockets */
};

static const struct pattern patterns[] = {
        {"pair", ZMQ_PAIR, ZMQ_PAIR, ZMQ_PAIR, ZMQ_PAIR, 0},
        {"reqrep", ZMQ_REP, ZMQ_REP, ZMQ_REQ, ZMQ_REQ, 0},
        {"pushpull", ZMQ_PUSH, ZMQ_PULL, ZMQ_PUSH, ZMQ_PULL, 1},
        {"pubsub", ZMQ_PUB, ZMQ_SUB, ZMQ_PUB, ZMQ_SUB, 1},
        {NULL, 0, 0, 0, 0, 0},
};

static void *
sock(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s)
		perf_die(tool, "zmq_socket");
	perf_apply(tool, s, 0);
	if (type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
		perf_die(tool, "ZMQ_SUBSCRIBE");
	return s;
}

/* xfer: sends m on s, or receives into m from s. */
static void
xfer(void *s, zmq_msg_t *m, int send)
{
	if ((send ? zmq_msg_send(m, s, 0) : zmq_msg_recv(m, s, 0)) < 0)
		perf_die(tool, send ? "zmq_msg_send" : "zmq_msg_recv");
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* pubsub_join: probes until the subscriber side answers, then a fence. */
static void
pubsub_join(void *out, void *in, zmq_msg_t *m)
{
	zmq_pollitem_t it = {in, 0, ZMQ_POLLIN, 0};
	for (;;) {
		if (zmq_send(out, "P", 1, 0) != 1)
			perf_die(tool, "probe");
		if (zmq_poll(&it, 1, 10) > 0)
			break;
	}
	if (zmq_send(out, "F", 1, 0) != 1)
		perf_die(tool, "fence");
	for (;;) {
		xfer(in, m, 0);
		if (zmq_msg_size(m) == 1 && *(char *)zmq_msg_data(m) == 'F')
			break;
	}
}

int
main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr,
		        "usage: pattern_lat local|remote pair|reqrep|pushpull|pubsub "
		        "<endpoint> <message-size> <roundtrip-count>\n");
		return 1;
	}
	int local = strcmp(argv[1], "local") == 0;
	const struct pattern *p = patterns;
	while (p->name && strcmp(p->name, argv[2]) != 0)
		p++;
	if (!p->name) {
		fprintf(stderr, "%s: unknown pattern %s\n", tool, argv[2]);
		return 1;
	}
	const char *ep = argv[3];
	int size = perf_arg(tool, "message size", argv[4], 2); /* 1 B: probes */
	int n = perf_arg(tool, "roundtrip count", argv[5], 1);
	char ep2[256];
	back_endpoint(ep, ep2, sizeof ep2);

	void *ctx = perf_ctx_new(tool);
	void *out, *in;
	if (local) {
		in = sock(ctx, p->in_local);
		if (zmq_bind(in, ep) != 0)
			perf_die(tool, "zmq_bind");
		out = in;
		if (p->two) {
			out = sock(ctx, p->out_local);
			if (zmq_bind(out, ep2) != 0)
				perf_die(tool, "zmq_bind (back)");
		}
	} else {
		out = sock(ctx, p->out_remote);
		if (zmq_connect(out, ep) != 0)
			perf_die(tool, "zmq_connect");
		in = out;
		if (p->two) {
			in = sock(ctx, p->in_remote);
			if (zmq_connect(in, ep2) != 0)
				perf_die(tool, "zmq_connect (back)");
		}
	}

	zmq_msg_t m;
	zmq_msg_init(&m);
	if (local) {
		/* Echo everything: probes, the fence, the warm-up and the timed rounds.
		 */
		long total = (long)WARMUP + n;
		for (long i = 0; i < total;) {
			xfer(in, &m, 0);
			if (zmq_msg_size(&m) != 1) /* not a probe or the fence */
				i++;
			xfer(out, &m, 1);
		}
	} else {
		if (strcmp(p->name, "pubsub") == 0)
			pubsub_join(out, in, &m);
		int64_t *t = malloc((size_t)n * sizeof *t);
		if (!t) {
			fprintf(stderr, "%s: out of memory\n", tool);
			return 1;
		}
		for (long i = -WARMUP; i < n; i++) {
			zmq_msg_close(&m);
			if (zmq_msg_init_size(&m, (size_t)size) != 0)
				perf_die(tool, "zmq_msg_init_size");
			memset(zmq_msg_data(&m), 'm', (size_t)size);
			int64_t t0 = now_ns();
			xfer(out, &m, 1);
			xfer(in, &m, 0);
			if (i >= 0)
				t[i] = now_ns() - t0;
			if ((int)zmq_msg_size(&m) != size) {
				fprintf(stderr, "%s: message of bad size\n", tool);
				return 1;
			}
		}
		qsort(t, (size_t)n, sizeof *t, cmp_i64);
		double sum = 0;
		for (int i = 0; i < n; i++)
			sum += (double)t[i];
			/* One-way: half the round trip; ns -> us. */
#define OW(v) ((double)(v) / 2000.0)
		printf("pattern: %s\nmessage size: %d [B]\nroundtrip count: %d\n",
		       p->name, size, n);
		printf("average latency: %.3f [us]\n", sum / n / 2000.0);
		printf("p50 latency: %.3f [us]\n", OW(t[n / 2]));
		printf("p99 latency: %.3f [us]\n", OW(t[(long)n * 99 / 100]));
		printf("p99.9 latency: %.3f [us]\n", OW(t[(long)n * 999 / 1000]));
		free(t);
	}
	zmq_msg_close(&m);
	/* The local side's last echo must get out; nothing is left for the remote's. */
	int linger = local ? 1000 : 0;
	zmq_setsockopt(out, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(in, ZMQ_LINGER, &linger, sizeof linger);
	zmq_close(out);
	if (in != out)
		zmq_close(in);
	zmq_ctx_term(ctx);
	return 0;
}
