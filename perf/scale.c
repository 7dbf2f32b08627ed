/*
 * scale: what a service pays at scale, in one process over tcp://127.0.0.1 (issue 12):
 *
 *   scale pubfan <endpoint> <subscribers> <messages> <message-size>
 *       One PUB, <subscribers> SUBs (subscribed to everything) in a second thread;
 *       once every SUB has a probe, the PUB sends <messages> messages (no HWM on
 *       either side, so none is dropped). Prints the messages delivered per second in
 *       total (messages x subscribers over the time from the first send to the last
 *       receipt).
 *   scale router <endpoint> <dealers> <rounds> <message-size>
 *       One ROUTER echoing in a second thread, <dealers> DEALERs in the main thread; a
 *       round is one message from every DEALER and every reply read. Prints round trips
 *       per second in total.
 *   scale cpu <endpoint> <rate> <milliseconds> <message-size>
 *       PUSH paced at <rate> messages per second (a batch every millisecond, absolute
 *       clock) to a PULL in a second thread, for <milliseconds>. Prints the CPU time
 *       (user + system, every thread of the process, the library's I/O threads
 *       included) per message: what a service that is not saturated pays.
 *
 * Output lines end like the other tools' ("mean throughput: N [msg/s]", "cpu per
 * message: X [us]"), for perf/compare.sh. The public zmq.h API only: the same source
 * builds against zinc and libzmq. RLIMIT_NOFILE is raised to its hard limit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "scale";

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void *
sock(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s)
		perf_die(tool, "zmq_socket");
	int zero = 0;
	zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	perf_apply(tool, s, 0);
	return s;
}

static void
send_buf(void *s, const void *buf, size_t len, int flags)
{
	if (zmq_send(s, buf, len, flags) < 0)
		perf_die(tool, "zmq_send");
}

static int
recv_buf(void *s, void *buf, size_t len, int flags)
{
	int n = zmq_recv(s, buf, len, flags);
	if (n < 0)
		perf_die(tool, "zmq_recv");
	return n;
}

/* ---- pubfan ---- */

struct fan {
	void *ctx;
	const char *ep;
	int subs;
	long msgs;
	int size;
	volatile int joined; /* every SUB has had a probe */
	int64_t last_ns;
};

static void *
fan_receiver(void *arg)
{
	struct fan *f = arg;
	void **s = calloc((size_t)f->subs, sizeof *s);
	zmq_pollitem_t *it = calloc((size_t)f->subs, sizeof *it);
	long *got = calloc((size_t)f->subs, sizeof *got);
	char *probed = calloc((size_t)f->subs, 1);
	char *buf = malloc((size_t)f->size + 1);
	if (!s || !it || !got || !probed || !buf) {
		fprintf(stderr, "%s: out of memory\n", tool);
		exit(1);
	}
	for (int i = 0; i < f->subs; i++) {
		s[i] = sock(f->ctx, ZMQ_SUB);
		if (zmq_setsockopt(s[i], ZMQ_SUBSCRIBE, "", 0) != 0 ||
		    zmq_connect(s[i], f->ep) != 0)
			perf_die(tool, "SUB");
		it[i].socket = s[i];
		it[i].events = ZMQ_POLLIN;
	}
	int nprobed = 0, done = 0;
	while (done < f->subs) {
		if (zmq_poll(it, f->subs, 1000) < 0)
			perf_die(tool, "zmq_poll");
		for (int i = 0; i < f->subs; i++) {
			if (!(it[i].revents & ZMQ_POLLIN))
				continue;
			int n;
			while ((n = zmq_recv(s[i], buf, (size_t)f->size + 1,
			                     ZMQ_DONTWAIT)) >= 0) {
				if (n == 1) { /* a probe */
					if (!probed[i]) {
						probed[i] = 1;
						if (++nprobed == f->subs)
							f->joined = 1;
					}
					continue;
				}
				if (++got[i] == f->msgs)
					done++;
			}
		}
	}
	f->last_ns = now_ns();
	for (int i = 0; i < f->subs; i++)
		zmq_close(s[i]);
	free(s);
	free(it);
	free(got);
	free(probed);
	free(buf);
	return NULL;
}

static int
pubfan(void *ctx, const char *ep, int subs, long msgs, int size)
{
	void *pub = sock(ctx, ZMQ_PUB);
	if (zmq_bind(pub, ep) != 0)
		perf_die(tool, "zmq_bind");
	struct fan f = {ctx, ep, subs, msgs, size, 0, 0};
	pthread_t t;
	if (pthread_create(&t, NULL, fan_receiver, &f) != 0)
		return 1;
	while (!__atomic_load_n(&f.joined, __ATOMIC_ACQUIRE)) {
		send_buf(pub, "P", 1, 0);
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL); /* a probe every 10 ms until all have joined */
	}
	char *buf = calloc(1, (size_t)size);
	int64_t t0 = now_ns();
	for (long i = 0; i < msgs; i++)
		send_buf(pub, buf, (size_t)size, 0);
	pthread_join(t, NULL);
	double secs = (double)(f.last_ns - t0) / 1e9;
	printf("subscribers: %d\nmessages: %ld\n", subs, msgs);
	printf("mean throughput: %.0f [msg/s]\n", (double)msgs * subs / secs);
	free(buf);
	zmq_close(pub);
	return 0;
}

/* ---- router ---- */

struct echo {
	void *ctx;
	const char *ep;
	long total; /* messages to answer */
	volatile int bound;
};

static void *
router_echo(void *arg)
{
	struct echo *e = arg;
	void *r = sock(e->ctx, ZMQ_ROUTER);
	if (zmq_bind(r, e->ep) != 0)
		perf_die(tool, "zmq_bind");
	__atomic_store_n(&e->bound, 1, __ATOMIC_RELEASE);
	char id[256], body[65536];
	for (long i = 0; i < e->total; i++) {
		int idn = recv_buf(r, id, sizeof id, 0);
		int n = recv_buf(r, body, sizeof body, 0);
		send_buf(r, id, (size_t)idn, ZMQ_SNDMORE);
		send_buf(r, body, (size_t)n, 0);
	}
	zmq_close(r);
	return NULL;
}

static int
router(void *ctx, const char *ep, int dealers, long rounds, int size)
{
	struct echo e = {ctx, ep, (long)dealers * (rounds + 1), 0};
	pthread_t t;
	if (pthread_create(&t, NULL, router_echo, &e) != 0)
		return 1;
	while (!__atomic_load_n(&e.bound, __ATOMIC_ACQUIRE))
		sched_yield();
	void **d = calloc((size_t)dealers, sizeof *d);
	char *buf = calloc(1, (size_t)size + 1);
	if (!d || !buf)
		return 1;
	for (int i = 0; i < dealers; i++) {
		d[i] = sock(ctx, ZMQ_DEALER);
		if (zmq_connect(d[i], ep) != 0)
			perf_die(tool, "zmq_connect");
	}
	int64_t t0 = 0;
	for (long r = 0; r <= rounds; r++) {
		if (r == 1)
			t0 = now_ns(); /* round 0 waits for the connections: untimed */
		for (int i = 0; i < dealers; i++)
			send_buf(d[i], buf, (size_t)size, 0);
		for (int i = 0; i < dealers; i++)
			if (recv_buf(d[i], buf, (size_t)size + 1, 0) != size) {
				fprintf(stderr, "%s: reply of bad size\n", tool);
				return 1;
			}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	pthread_join(t, NULL);
	printf("dealers: %d\nrounds: %ld\n", dealers, rounds);
	printf("mean throughput: %.0f [msg/s]\n", (double)dealers * rounds / secs);
	for (int i = 0; i < dealers; i++)
		zmq_close(d[i]);
	free(d);
	free(buf);
	return 0;
}

/* ---- cpu ---- */

struct sink {
	void *ctx;
	const char *ep;
	long total;
	int size;
	volatile int bound;
};

static void *
pull_sink(void *arg)
{
	struct sink *k = arg;
	void *s = sock(k->ctx, ZMQ_PULL);
	if (zmq_bind(s, k->ep) != 0)
		perf_die(tool, "zmq_bind");
	__atomic_store_n(&k->bound, 1, __ATOMIC_RELEASE);
	char *buf = malloc((size_t)k->size + 1);
	for (long i = 0; i < k->total; i++)
		(void)recv_buf(s, buf, (size_t)k->size + 1, 0);
	free(buf);
	zmq_close(s);
	return NULL;
}

static double
cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int
cpu(void *ctx, const char *ep, int rate, long ms, int size)
{
	long per_ms = rate / 1000 > 0 ? rate / 1000 : 1;
	long total = per_ms * ms;
	struct sink k = {ctx, ep, total + 100, size, 0};
	pthread_t t;
	if (pthread_create(&t, NULL, pull_sink, &k) != 0)
		return 1;
	while (!__atomic_load_n(&k.bound, __ATOMIC_ACQUIRE))
		sched_yield();
	void *s = sock(ctx, ZMQ_PUSH);
	if (zmq_connect(s, ep) != 0)
		perf_die(tool, "zmq_connect");
	char *buf = calloc(1, (size_t)size);
	for (int i = 0; i < 100; i++) /* the connection is up before the clock starts */
		send_buf(s, buf, (size_t)size, 0);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	double c0 = cpu_us();
	for (long m = 0; m < ms; m++) {
		for (long i = 0; i < per_ms; i++)
			send_buf(s, buf, (size_t)size, 0);
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	pthread_join(t, NULL);
	double used = cpu_us() - c0;
	printf("rate: %d [msg/s]\nmessages: %ld\n", rate, total);
	printf("cpu per message: %.3f [us]\n", used / (double)total);
	free(buf);
	zmq_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: scale pubfan|router|cpu <endpoint> <n> <count> "
		                "<message-size>\n");
		return 1;
	}
	raise_nofile();
	const char *ep = argv[2];
	int n = perf_arg(tool, "n", argv[3], 1);
	long count = perf_arg(tool, "count", argv[4], 1);
	int size = perf_arg(tool, "message size", argv[5], 2); /* 1 B: probes */
	if (size > 65536) {
		fprintf(stderr, "%s: at most 65536 bytes\n", tool);
		return 1;
	}
	void *ctx = perf_ctx_new(tool);
	int rc;
	if (strcmp(argv[1], "pubfan") == 0)
		rc = pubfan(ctx, ep, n, count, size);
	else if (strcmp(argv[1], "router") == 0)
		rc = router(ctx, ep, n, count, size);
	else if (strcmp(argv[1], "cpu") == 0)
		rc = cpu(ctx, ep, n, count, size);
	else {
		fprintf(stderr, "%s: unknown mode %s\n", tool, argv[1]);
		rc = 1;
	}
	zmq_ctx_term(ctx);
	return rc;
}
