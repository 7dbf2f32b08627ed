/*
 * bench_run.c: one benchmark cell. The bound side (the echo for lat, the receiver for
 * thr) and the connecting side (the measurer for lat, the sender for thr) each run on
 * a thread of their own, each with a context of its own (one shared context for
 * inproc, which needs it), so the two ends meet over the transport as two processes
 * would. The main thread shows the progress line while they run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zinc.h>
#include <zmq.h>

#include "bench.h"
#include "cli.h"

/* A side that waits this long for its peer has lost it: the cell fails, not hangs. */
#define BENCH_STALL_MS 20000

struct cell_run {
	const struct bench_cell *c;
	void *ctx_bound, *ctx_conn;
	void *bound, *conn; /* sockets, each used by its own thread only */
	char endpoint[256];
	atomic_long done; /* round trips or messages so far */
	atomic_int finished;
	double elapsed; /* seconds, measured by the side that measures */
	char error[160];
	pthread_mutex_t lock; /* guards error */
};

static void
fail(struct cell_run *run, const char *what)
{
	pthread_mutex_lock(&run->lock);
	if (!run->error[0]) {
		/* Bounded so the two parts fit the buffer (152 < 160). */
		snprintf(run->error, sizeof run->error, "%.80s: %.70s", what,
		         zmq_strerror(zmq_errno()));
	}
	pthread_mutex_unlock(&run->lock);
}

/* endpoint_for: where the bound side binds (tcp binds port 0 and reads it back). */
static void
endpoint_for(const char *transport, char *out, size_t len)
{
	static int serial;
	serial++;
	if (!strcmp(transport, "tcp"))
		snprintf(out, len, "tcp://127.0.0.1:*");
	else if (!strcmp(transport, "ipc"))
		snprintf(out, len, "ipc://@zinc-bench-%d-%d", (int)getpid(), serial);
	else
		snprintf(out, len, "%s://zinc-bench-%d-%d", transport, (int)getpid(),
		         serial);
}

static void
set_int(void *s, int option, int value)
{
	zmq_setsockopt(s, option, &value, sizeof value);
}

/* make_socket: a socket with the options every cell wants. NULL on failure. */
static void *
make_socket(struct cell_run *run, void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s)
		return NULL;
	set_int(s, ZMQ_RCVTIMEO, BENCH_STALL_MS);
	set_int(s, ZMQ_SNDTIMEO, BENCH_STALL_MS);
	set_int(s, ZMQ_LINGER, BENCH_STALL_MS);
	if (run->c->spin_us > 0)
		set_int(s, ZINC_SHM_SPIN_US, run->c->spin_us);
	return s;
}

/* echo_side: lat's bound side: returns every message it gets. */
static void *
echo_side(void *arg)
{
	struct cell_run *run = arg;
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (long i = 0; i < run->c->count; i++)
		if (zmq_msg_recv(&m, run->bound, 0) < 0 ||
		    zmq_msg_send(&m, run->bound, 0) < 0) {
			fail(run, "echo");
			break;
		}
	zmq_msg_close(&m);
	return NULL;
}

/* measure_side: lat's connecting side: count round trips, timed. */
static void *
measure_side(void *arg)
{
	struct cell_run *run = arg;
	zmq_msg_t m;
	zmq_msg_init_size(&m, run->c->size);
	memset(zmq_msg_data(&m), 0, run->c->size);
	double t0 = cli_now();
	for (long i = 0; i < run->c->count; i++) {
		if (zmq_msg_send(&m, run->conn, 0) < 0 ||
		    zmq_msg_recv(&m, run->conn, 0) < 0) {
			fail(run, "round trip");
			break;
		}
		atomic_store_explicit(&run->done, i + 1, memory_order_relaxed);
	}
	run->elapsed = cli_now() - t0;
	zmq_msg_close(&m);
	atomic_store(&run->finished, 1);
	return NULL;
}

/* receive_side: thr's bound side: times from the first message to the last, as
 * libzmq's local_thr does. */
static void *
receive_side(void *arg)
{
	struct cell_run *run = arg;
	zmq_msg_t m;
	zmq_msg_init(&m);
	double t0 = 0;
	for (long i = 0; i < run->c->count; i++) {
		if (zmq_msg_recv(&m, run->bound, 0) < 0) {
			fail(run, "receive");
			break;
		}
		if (i == 0)
			t0 = cli_now();
		atomic_store_explicit(&run->done, i + 1, memory_order_relaxed);
	}
	run->elapsed = cli_now() - t0;
	zmq_msg_close(&m);
	atomic_store(&run->finished, 1);
	return NULL;
}

/* send_side: thr's connecting side. */
static void *
send_side(void *arg)
{
	struct cell_run *run = arg;
	for (long i = 0; i < run->c->count; i++) {
		zmq_msg_t m;
		zmq_msg_init_size(&m, run->c->size);
		if (zmq_msg_send(&m, run->conn, 0) < 0) {
			zmq_msg_close(&m);
			fail(run, "send");
			break;
		}
	}
	return NULL;
}

/* open_sockets: contexts, the bound socket (bound) and the connecting one. 0 or -1. */
static int
open_sockets(struct cell_run *run)
{
	const struct bench_cell *c = run->c;
	int inproc = !strcmp(c->transport, "inproc");
	int spin_pair = c->spin_us > 0;
	int bt = c->latency ? (spin_pair ? ZMQ_PAIR : ZMQ_REP) : ZMQ_PULL;
	int ct = c->latency ? (spin_pair ? ZMQ_PAIR : ZMQ_REQ) : ZMQ_PUSH;
	run->ctx_bound = zmq_ctx_new();
	run->ctx_conn = inproc ? run->ctx_bound : zmq_ctx_new();
	if (!run->ctx_bound || !run->ctx_conn)
		return fail(run, "zmq_ctx_new"), -1;
	run->bound = make_socket(run, run->ctx_bound, bt);
	run->conn = make_socket(run, run->ctx_conn, ct);
	if (!run->bound || !run->conn)
		return fail(run, "zmq_socket"), -1;
	char ep[256];
	endpoint_for(c->transport, ep, sizeof ep);
	if (zmq_bind(run->bound, ep) != 0)
		return fail(run, ep), -1;
	size_t len = sizeof run->endpoint;
	zmq_getsockopt(run->bound, ZMQ_LAST_ENDPOINT, run->endpoint, &len);
	if (zmq_connect(run->conn, run->endpoint) != 0)
		return fail(run, run->endpoint), -1;
	return 0;
}

static void
close_sockets(struct cell_run *run)
{
	if (run->bound)
		zmq_close(run->bound);
	if (run->conn)
		zmq_close(run->conn);
	if (run->ctx_conn && run->ctx_conn != run->ctx_bound)
		zmq_ctx_term(run->ctx_conn);
	if (run->ctx_bound)
		zmq_ctx_term(run->ctx_bound);
}

/* progress: one line on stderr, redrawn in place, until the cell finishes. */
static void
progress(struct cell_run *run, int show)
{
	const struct bench_cell *c = run->c;
	while (!atomic_load(&run->finished)) {
		/* A display refresh, not synchronisation: the threads are joined after.
		 */
		cli_sleep(0.2);
		if (show)
			fprintf(stderr, "\r  %s %s %zu B: %ld/%ld ", c->transport,
			        c->latency ? "lat" : "thr", c->size,
			        atomic_load_explicit(&run->done, memory_order_relaxed),
			        c->count);
	}
	if (show)
		fprintf(stderr, "\r%60s\r", "");
}

/* run_threads: both sides, the progress line meanwhile, then the figures in r. */
static void
run_threads(struct cell_run *run, struct bench_result *r, int show)
{
	const struct bench_cell *c = run->c;
	pthread_t tb, tc;
	void *(*bound_fn)(void *) = c->latency ? echo_side : receive_side;
	void *(*conn_fn)(void *) = c->latency ? measure_side : send_side;
	if (pthread_create(&tb, NULL, bound_fn, run) != 0) {
		snprintf(r->error, sizeof r->error, "cannot start a thread");
		return;
	}
	if (pthread_create(&tc, NULL, conn_fn, run) != 0) {
		atomic_store(&run->finished, 1);
		snprintf(r->error, sizeof r->error, "cannot start a thread");
		pthread_join(tb, NULL); /* its receive times out */
		return;
	}
	progress(run, show);
	pthread_join(tc, NULL);
	pthread_join(tb, NULL);
	if (run->error[0] || run->elapsed <= 0) {
		snprintf(r->error, sizeof r->error, "%s",
		         run->error[0] ? run->error : "no time");
		return;
	}
	r->ok = 1;
	if (c->latency) {
		r->value = run->elapsed * 1e6 / (2.0 * (double)c->count);
	} else {
		/* The first message starts the clock, so count - 1 were timed. */
		r->value = (double)(c->count > 1 ? c->count - 1 : 1) / run->elapsed;
		r->mbytes = r->value * (double)c->size / 1e6;
	}
}

int
bench_run_cell(const struct bench_cell *c, struct bench_result *r, int show_progress)
{
	memset(r, 0, sizeof *r);
	struct bench_cell actual = *c;
	if (!strcmp(c->transport, "shm") && zmq_has("shm") != 1) {
		/* libzmq has no shm://: its figure is ipc's, as in perf/compare.sh */
		actual.transport = "ipc";
		actual.spin_us = 0;
		snprintf(r->note, sizeof r->note, "ipc: this library has no shm");
	}
	struct cell_run run = {.c = &actual};
	pthread_mutex_init(&run.lock, NULL);
	if (open_sockets(&run) == 0)
		run_threads(&run, r, show_progress);
	else
		snprintf(r->error, sizeof r->error, "%s", run.error);
	close_sockets(&run);
	pthread_mutex_destroy(&run.lock);
	return r->ok ? 0 : -1;
}
