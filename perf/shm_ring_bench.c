/*
 * shm_ring_bench.c: the shm:// ring alone (src/proto/shm_ring.h), without sockets,
 * pipes or I/O threads: what the transport can at best deliver on this machine.
 *
 * Throughput: a writer thread sends messages of 64 B, 1 KiB, 64 KiB and 1 MiB (each
 * allocated with msg_init_size, like zmq_msg_init_size in an application) through one
 * ring to a reader thread that takes them out (allocating each) and closes them. A side
 * that must wait either spins, or sleeps at once on its eventfd with the ring's sleeping
 * flags, or spins up to 20 us and then sleeps (a spin budget, as the transport may).
 * Latency: a ping-pong over the two rings of one region; half the round trip.
 * Each figure is the median of five runs: on a shared 2-vCPU machine single runs vary
 * several-fold.
 *
 * usage: shm_ring_bench [ring_size_bytes] [scale]  (scale multiplies the run lengths)
 * Not a test: nothing passes or fails on time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipe/msg.h"
#include "platform/shm.h"
#include "platform/signaler.h"
#include "proto/shm_ring.h"

/* cpu_relax: called on every failed spin; a pause only every 32nd time. In a VM a
 * tight run of PAUSE instructions trips pause-loop exiting (the hypervisor thinks the
 * vCPU waits for a lock and deschedules it), which costs microseconds per exit and
 * made spinning slower than sleeping here; spaced out, PAUSE is harmless. */
static inline void
cpu_relax(void)
{
	static _Thread_local unsigned n;
	if (++n % 32 != 0)
		return;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "shm_ring_bench: %s: %s\n", what, strerror(-rc));
	exit(1);
}

/* One side's waiting: spin for budget_us (-1: forever), then sleep. */
struct side {
	int budget_us;
	struct signaler *mine, *peer;
	uint64_t sleeps, signals;
};

/* A wait: how many attempts so far, since when, and the ring position it began at (a
 * long message makes progress through calls that report nothing complete). */
struct wait {
	unsigned spins;
	double t0;
	uint64_t pos;
};

/* keep_spinning: whether a side that must wait should try again at once. */
static bool
keep_spinning(const struct side *s, struct wait *wt, uint64_t pos)
{
	if (s->budget_us == 0)
		return false;
	cpu_relax();
	if (s->budget_us < 0)
		return true;
	if (wt->spins++ == 0 || pos != wt->pos) {
		wt->spins = 1;
		wt->t0 = now_s();
		wt->pos = pos;
	}
	return wt->spins % 64 != 0 || (now_s() - wt->t0) * 1e6 < s->budget_us;
}

static void
wake_peer(struct side *s, int need)
{
	if (need) {
		signaler_raise(s->peer);
		s->signals++;
	}
}

/* send_msg: writes m (publishing and waiting as needed), then publishes when flush. */
static void
send_msg(struct shm_ring_writer *w, struct side *s, struct msg *m, bool flush)
{
	struct wait wt = {0, 0, 0};
	for (;;) {
		int rc = shm_ring_write_msg(w, m);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			die("write", rc);
		wake_peer(s, shm_ring_publish(w));
		if (keep_spinning(s, &wt, shm_ring_writer_progress(w)))
			continue;
		rc = shm_ring_writer_prepare_sleep(w);
		if (rc < 0)
			die("writer sleep", rc);
		if (rc == 1)
			continue;
		s->sleeps++;
		signaler_wait(s->mine, -1);
		signaler_drain(s->mine);
		shm_ring_writer_end_sleep(w);
	}
	if (flush)
		wake_peer(s, shm_ring_publish(w));
}

/* recv_msg: the next message into m, releasing and waiting as needed. */
static void
recv_msg(struct shm_ring_reader *r, struct side *s, struct msg *m)
{
	struct wait wt = {0, 0, 0};
	for (;;) {
		int rc = shm_ring_read_msg(r, m);
		if (rc == 1)
			return;
		if (rc < 0)
			die("read", rc);
		wake_peer(s, shm_ring_release(r));
		if (keep_spinning(s, &wt, shm_ring_reader_progress(r)))
			continue;
		rc = shm_ring_prepare_sleep(r);
		if (rc < 0)
			die("reader sleep", rc);
		if (rc == 1)
			continue;
		s->sleeps++;
		signaler_wait(s->mine, -1);
		signaler_drain(s->mine);
		shm_ring_end_sleep(r);
	}
}

struct run {
	struct shm_ring_region a, b;
	struct signaler ev_a, ev_b; /* raised to wake a's / b's thread */
	size_t len;
	uint64_t count;
	int budget_us; /* for both sides */
	struct side sa, sb;
	double secs;
};

/* ---- throughput: a (creator) writes ring 0, b reads it ---- */

static void *
thr_writer(void *arg)
{
	struct run *x = arg;
	struct shm_ring_writer w;
	struct msg m;
	shm_ring_writer_init(&w, &x->a);
	for (uint64_t i = 0; i < x->count; i++) {
		if (msg_init_size(&m, x->len) < 0)
			die("msg_init_size", -ENOMEM);
		memcpy(msg_data(&m), &i, sizeof i);
		send_msg(&w, &x->sa, &m, (i & 63) == 63);
		msg_close(&m);
	}
	wake_peer(&x->sa, shm_ring_publish(&w));
	return NULL;
}

static void *
thr_reader(void *arg)
{
	struct run *x = arg;
	struct shm_ring_reader r;
	struct msg m;
	shm_ring_reader_init(&r, &x->b, -1);
	for (uint64_t i = 0; i < x->count; i++) {
		recv_msg(&r, &x->sb, &m);
		uint64_t seq;
		memcpy(&seq, msg_data(&m), sizeof seq);
		if (seq != i || msg_size(&m) != x->len)
			die("out of sequence", -EPROTO);
		msg_close(&m);
		if ((i & 63) == 63)
			wake_peer(&x->sb, shm_ring_release(&r));
	}
	wake_peer(&x->sb, shm_ring_release(&r));
	shm_ring_reader_fini(&r);
	return NULL;
}

/* ---- latency: a sends on ring 0 and waits on ring 1; b echoes ---- */

static void *
lat_ping(void *arg)
{
	struct run *x = arg;
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	struct msg m;
	shm_ring_writer_init(&w, &x->a);
	shm_ring_reader_init(&r, &x->a, -1);
	for (uint64_t i = 0; i < x->count; i++) {
		if (msg_init_size(&m, x->len) < 0)
			die("msg_init_size", -ENOMEM);
		memcpy(msg_data(&m), &i, sizeof i);
		send_msg(&w, &x->sa, &m, true);
		msg_close(&m);
		recv_msg(&r, &x->sa, &m);
		msg_close(&m);
		wake_peer(&x->sa, shm_ring_release(&r));
	}
	shm_ring_reader_fini(&r);
	return NULL;
}

static void *
lat_pong(void *arg)
{
	struct run *x = arg;
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	struct msg m;
	shm_ring_writer_init(&w, &x->b);
	shm_ring_reader_init(&r, &x->b, -1);
	for (uint64_t i = 0; i < x->count; i++) {
		recv_msg(&r, &x->sb, &m);
		wake_peer(&x->sb, shm_ring_release(&r));
		send_msg(&w, &x->sb, &m, true); /* the same message back */
		msg_close(&m);
	}
	shm_ring_reader_fini(&r);
	return NULL;
}

static void
run_case(struct run *x, uint64_t ring_size, void *(*fa)(void *), void *(*fb)(void *))
{
	int rc;
	pthread_t ta, tb;
	if ((rc = shm_ring_region_create(&x->a, ring_size)) < 0)
		die("region", rc);
	int fd = dup(x->a.fd);
	if ((rc = shm_ring_region_attach(&x->b, fd, ring_size)) < 0)
		die("attach", rc);
	if (signaler_init(&x->ev_a) < 0 || signaler_init(&x->ev_b) < 0)
		die("eventfd", -EMFILE);
	int b = x->budget_us;
	x->sa = (struct side){.budget_us = b, .mine = &x->ev_a, .peer = &x->ev_b};
	x->sb = (struct side){.budget_us = b, .mine = &x->ev_b, .peer = &x->ev_a};
	double t0 = now_s();
	pthread_create(&tb, NULL, fb, x);
	pthread_create(&ta, NULL, fa, x);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	x->secs = now_s() - t0;
	signaler_fini(&x->ev_a);
	signaler_fini(&x->ev_b);
	shm_ring_region_fini(&x->b);
	shm_ring_region_fini(&x->a);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define REPS 5

/* median_secs: runs the case REPS times; the median time, and the sleeps of the
 * median run's sides through *x. */
static double
median_secs(struct run *x, uint64_t ring_size, void *(*fa)(void *), void *(*fb)(void *))
{
	double t[REPS];
	for (int i = 0; i < REPS; i++) {
		run_case(x, ring_size, fa, fb);
		t[i] = x->secs;
	}
	qsort(t, REPS, sizeof t[0], cmp_double);
	return t[REPS / 2];
}

#define SLEEPS(side) ((unsigned long long)(side).sleeps)

/* The waiting modes compared. */
static const struct mode {
	const char *name;
	int budget_us;
} modes[] = {{"spin", -1}, {"sleep", 0}, {"spin20", 20}};

int
main(int argc, char **argv)
{
	uint64_t ring_size = SHM_RING_SIZE_DEFAULT;
	if (argc > 1)
		ring_size = strtoull(argv[1], NULL, 0);
	double scale = argc > 2 ? atof(argv[2]) : 1.0;
	static const size_t sizes[] = {64, 1024, 65536, 1 << 20};
	if (!shm_ring_size_valid(ring_size) || scale <= 0) {
		fprintf(stderr, "usage: shm_ring_bench [ring_size_bytes] [scale]\n");
		return 1;
	}
	printf("ring %llu bytes per direction; median of %d runs; "
	       "spin20: spin up to 20 us, then sleep\n",
	       (unsigned long long)ring_size, REPS);
	printf("%-11s %-6s %10s %12s %10s %9s %9s\n", "throughput", "mode", "messages",
	       "msg/s", "MB/s", "w-sleeps", "r-sleeps");
	for (size_t mo = 0; mo < sizeof modes / sizeof modes[0]; mo++) {
		int budget = modes[mo].budget_us;
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			/* 512 MiB or 4 M messages per run, whichever is fewer. */
			uint64_t n = ((uint64_t)512 << 20) / sizes[k];
			if (n > 4000000)
				n = 4000000;
			struct run x = {.len = sizes[k], .budget_us = budget};
			x.count = (uint64_t)((double)n * scale) + 1;
			double secs = median_secs(&x, ring_size, thr_writer, thr_reader);
			double rate = (double)x.count / secs;
			printf("%-11zu %-6s %10llu %12.0f %10.0f %9llu %9llu\n", sizes[k],
			       modes[mo].name, (unsigned long long)x.count, rate,
			       rate * (double)sizes[k] / 1e6, SLEEPS(x.sa), SLEEPS(x.sb));
		}
	}
	printf("%-11s %-6s %10s %12s\n", "latency", "mode", "roundtrips", "one-way us");
	for (size_t mo = 0; mo < sizeof modes / sizeof modes[0]; mo++) {
		int budget = modes[mo].budget_us;
		for (size_t k = 0; k < 3; k++) {
			struct run x = {.len = sizes[k], .budget_us = budget};
			x.count = (uint64_t)((budget ? 1e5 : 1e4) * scale) + 1;
			double secs = median_secs(&x, ring_size, lat_ping, lat_pong);
			double us = secs / (double)x.count / 2 * 1e6;
			printf("%-11zu %-6s %10llu %12.3f\n", sizes[k], modes[mo].name,
			       (unsigned long long)x.count, us);
		}
	}
	return 0;
}
