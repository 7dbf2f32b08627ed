/*
 * soak: a long-running mix of everything a service meets, watching its own resident
 * set and descriptor count.
 *
 *   soak <seconds> [report-every-seconds]
 *
 * The process (the one measured) binds servers: a ROUTER and a REP that echo, and a
 * PUB that ticks, each on tcp://, ipc:// and shm:// (shm:// only with zinc; a bind that
 * fails is left out). A thread of its own runs client cycles against them in a loop:
 * a DEALER, a REQ or a SUB is created, connected to one endpoint (the DEALER also
 * disconnects and connects to a second), exchanges a few messages and is closed. Peer
 * processes (this program again, `soak --peer`) run the same cycles, at most
 * MAX_PEERS at a time, and are killed with SIGKILL after a random 0.2-3 s, in the middle
 * of whatever they were doing.
 *
 * Every report interval it prints the elapsed time, RSS (KiB), open descriptors, the
 * cycles and messages of the local client, and the peers started and killed. The
 * baseline is taken after a warm-up (a fifth of the run, at most 30 s); at the end the
 * peers are killed, the servers serve on for a second so dead connections are noticed,
 * and the run fails (exit 1) if the descriptor count is above the baseline's by more
 * than SOAK_FD_SLACK (default 8), if the heap in use (malloc'd, not freed: the leak
 * detector) grew by more than SOAK_HEAP_SLACK_KIB (default 1024) plus 10%, if RSS grew
 * by more than SOAK_RSS_SLACK_KIB (default 16384) plus 10%, or if a local cycle failed
 * (a reply that did not come). RSS gets the wider bound: it also holds what the
 * allocator keeps after a peak (a loaded machine lets more pile up in the pipes for a
 * while), which is not a leak; the heap in use is.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "proc_stats.h"

#define MAX_EP        3 /* tcp, ipc, shm */
#define MAX_PEERS     4
#define WAIT_MS       10000
#define SHM_RING      65536 /* ZINC_SHM_RING_SIZE: small rings, many connections */
#define ZINC_RING_OPT 0x7a6e0001

static const char tool[] = "soak";

struct endpoints {
	char router[MAX_EP][128];
	char rep[MAX_EP][128];
	char pub[MAX_EP][128];
	int nrouter, nrep, npub;
};

static struct endpoints eps;
static atomic_bool stop_clients;
static atomic_long cycles, messages, failures;

static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

static void
set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof v);
}

/* rnd: a small xorshift generator, one state per thread or process. */
static unsigned
rnd(unsigned *state)
{
	unsigned x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x ? x : 1;
}

static void *
client_socket(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s)
		return NULL;
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	set_int(s, ZINC_RING_OPT, SHM_RING); /* EINVAL with libzmq: ignored */
	return s;
}

/* exchange: n messages out and their echoes back (DEALER to ROUTER, REQ to REP). */
static int
exchange(void *s, int n, unsigned *rng)
{
	char out[256], in[256];
	for (int i = 0; i < n; i++) {
		size_t len = 1 + rnd(rng) % sizeof out;
		memset(out, 'a' + i % 26, len);
		if (zmq_send(s, out, len, 0) != (int)len)
			return -1;
		if (zmq_recv(s, in, sizeof in, 0) != (int)len ||
		    memcmp(in, out, len) != 0)
			return -1;
		atomic_fetch_add(&messages, 2);
	}
	return 0;
}

/* client_cycle: one short-lived client: made, connected, used, closed. 0, or -1 when
 * a reply did not come. */
static int
client_cycle(void *ctx, const struct endpoints *e, unsigned *rng)
{
	int rc = 0;
	void *s = NULL;
	switch (rnd(rng) % 3) {
	case 0: {
		s = client_socket(ctx, ZMQ_DEALER);
		const char *a = e->router[rnd(rng) % e->nrouter];
		const char *b = e->router[rnd(rng) % e->nrouter];
		if (!s || zmq_connect(s, a) < 0 || exchange(s, 5, rng) < 0)
			rc = -1;
		else if (zmq_disconnect(s, a) < 0 || zmq_connect(s, b) < 0 ||
		         exchange(s, 5, rng) < 0)
			rc = -1;
		break;
	}
	case 1:
		s = client_socket(ctx, ZMQ_REQ);
		if (!s || zmq_connect(s, e->rep[rnd(rng) % e->nrep]) < 0 ||
		    exchange(s, 10, rng) < 0)
			rc = -1;
		break;
	default: {
		s = client_socket(ctx, ZMQ_SUB);
		char tick[64];
		if (!s || zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) < 0 ||
		    zmq_connect(s, e->pub[rnd(rng) % e->npub]) < 0) {
			rc = -1;
			break;
		}
		for (int i = 0; i < 5 && rc == 0; i++) {
			if (zmq_recv(s, tick, sizeof tick, 0) < 0)
				rc = -1;
			else
				atomic_fetch_add(&messages, 1);
		}
		break;
	}
	}
	if (s)
		zmq_close(s);
	return rc;
}

static void *
local_clients(void *ctx)
{
	unsigned rng = (unsigned)getpid() * 2654435761u;
	while (!atomic_load(&stop_clients)) {
		if (client_cycle(ctx, &eps, &rng) < 0) {
			atomic_fetch_add(&failures, 1);
			fprintf(stderr, "%s: a local client cycle failed: %s\n", tool,
			        zmq_strerror(errno));
		}
		atomic_fetch_add(&cycles, 1);
	}
	return NULL;
}

/* peer_main: `soak --peer KIND:endpoint...`: client cycles until killed. */
static int
peer_main(int argc, char **argv)
{
	struct endpoints e = {0};
	for (int i = 2; i < argc; i++) {
		const char *v = argv[i] + 2;
		switch (argv[i][0]) {
		case 'R': snprintf(e.router[e.nrouter++], 128, "%s", v); break;
		case 'Q': snprintf(e.rep[e.nrep++], 128, "%s", v); break;
		case 'P': snprintf(e.pub[e.npub++], 128, "%s", v); break;
		}
	}
	void *ctx = zmq_ctx_new();
	if (!ctx)
		return 1;
	unsigned rng = (unsigned)getpid() * 2246822519u;
	/* A peer's cycle may fail (its server is busy with others): it is killed
	 * anyway, and only the local client's failures count. */
	for (;;)
		(void)client_cycle(ctx, &e, &rng);
	return 0;
}

/* bind_all: binds s on tcp, ipc and shm; records the endpoints that worked. */
static void
bind_all(void *s, const char *name, char out[][128], int *n, const char *dir)
{
	char want[3][128];
	snprintf(want[0], 128, "tcp://127.0.0.1:*");
	snprintf(want[1], 128, "ipc://%s/%s", dir, name);
	snprintf(want[2], 128, "shm://soak-%d-%s", (int)getpid(), name);
	for (int i = 0; i < 3; i++) {
		if (zmq_bind(s, want[i]) < 0)
			continue;
		size_t len = 128;
		zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, out[*n], &len);
		(*n)++;
	}
	if (*n == 0) {
		fprintf(stderr, "%s: no endpoint of %s could be bound\n", tool, name);
		exit(2);
	}
}

struct peer {
	pid_t pid;
	long long kill_at;
};

static struct peer peers[MAX_PEERS];
static long started, killed;

static void
peer_spawn(struct peer *p, unsigned *rng)
{
	char *argv[3 * MAX_EP + 3];
	char args[3 * MAX_EP][140];
	const struct {
		char kind;
		char (*ep)[128];
		int n;
	} lists[] = {{'R', eps.router, eps.nrouter},
	             {'Q', eps.rep, eps.nrep},
	             {'P', eps.pub, eps.npub}};
	int n = 0, a = 0;
	argv[n++] = (char *)"soak";
	argv[n++] = (char *)"--peer";
	for (int l = 0; l < 3; l++) {
		for (int i = 0; i < lists[l].n; i++) {
			snprintf(args[a], sizeof args[a], "%c:%s", lists[l].kind,
			         lists[l].ep[i]);
			argv[n++] = args[a++];
		}
	}
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (pid > 0) {
		p->pid = pid;
		p->kill_at = now_ms() + 200 + rnd(rng) % 2800;
		started++;
	}
}

static void
peer_kill(struct peer *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
	killed++;
}

/* supervise: kills the peers whose time has come and starts new ones. */
static void
supervise(unsigned *rng, bool spawn)
{
	long long now = now_ms();
	for (int i = 0; i < MAX_PEERS; i++) {
		if (peers[i].pid && now >= peers[i].kill_at)
			peer_kill(&peers[i]);
		if (!peers[i].pid && spawn)
			peer_spawn(&peers[i], rng);
	}
}

/* serve: one round of the servers: echoes what the ROUTER and the REP have, and a
 * tick from the PUB. */
static void
serve(void *router, void *rep, void *pub, long tick)
{
	zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0}, {rep, 0, ZMQ_POLLIN, 0}};
	zmq_poll(items, 2, 10);
	for (int k = 0; k < 64 && (items[0].revents & ZMQ_POLLIN); k++) {
		zmq_msg_t id, body;
		zmq_msg_init(&id);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id);
			zmq_msg_close(&body);
			break;
		}
		zmq_msg_recv(&body, router, 0);
		if (zmq_msg_send(&id, router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
		    zmq_msg_send(&body, router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id);
			zmq_msg_close(&body);
		}
	}
	for (int k = 0; k < 64 && (items[1].revents & ZMQ_POLLIN); k++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, rep, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		if (zmq_msg_send(&m, rep, 0) < 0)
			zmq_msg_close(&m);
	}
	char t[32];
	int n = snprintf(t, sizeof t, "tick %ld", tick);
	zmq_send(pub, t, (size_t)n, ZMQ_DONTWAIT);
}

static void
report(long long t0, long rss, int fds)
{
	printf("%s: t=%5llds rss=%ld KiB heap=%ld KiB fds=%d cycles=%ld msgs=%ld peers "
	       "started=%ld killed=%ld\n",
	       tool, (now_ms() - t0) / 1000, rss, heap_kib(), fds, atomic_load(&cycles),
	       atomic_load(&messages), started, killed);
	fflush(stdout);
}

static long
env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? atol(v) : dflt;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--peer") == 0)
		return peer_main(argc, argv);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s <seconds> [report-every-seconds]\n", tool);
		return 2;
	}
	long secs = atol(argv[1]);
	long every = argc > 2 ? atol(argv[2]) : 10;
	if (secs < 1 || every < 1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	char dir[] = "/tmp/zinc-soak.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	void *ctx = zmq_ctx_new();
	void *router = zmq_socket(ctx, ZMQ_ROUTER);
	void *rep = zmq_socket(ctx, ZMQ_REP);
	void *pub = zmq_socket(ctx, ZMQ_PUB);
	if (!ctx || !router || !rep || !pub)
		return 2;
	set_int(router, ZMQ_LINGER, 0);
	set_int(rep, ZMQ_LINGER, 0);
	set_int(pub, ZMQ_LINGER, 0);
	bind_all(router, "router", eps.router, &eps.nrouter, dir);
	bind_all(rep, "rep", eps.rep, &eps.nrep, dir);
	bind_all(pub, "pub", eps.pub, &eps.npub, dir);

	pthread_t th;
	if (pthread_create(&th, NULL, local_clients, ctx) != 0)
		return 2;
	unsigned rng = (unsigned)getpid();
	long long t0 = now_ms(), end = t0 + secs * 1000;
	long long warm = t0 + (secs / 5 < 30 ? secs / 5 : 30) * 1000, next = t0;
	long rss_base = -1, rss_max = 0, heap_base = -1;
	int fds_base = -1, fds_max = 0;
	long tick = 0;
	while (now_ms() < end) {
		serve(router, rep, pub, tick++);
		supervise(&rng, true);
		if (now_ms() >= next) {
			long rss = rss_kib();
			int fds = fd_count();
			if (rss_base < 0 && now_ms() >= warm) {
				rss_base = rss;
				fds_base = fds;
				heap_base = heap_kib();
			}
			rss_max = rss > rss_max ? rss : rss_max;
			fds_max = fds > fds_max ? fds : fds_max;
			report(t0, rss, fds);
			next += every * 1000;
		}
	}
	/* The end: peers killed, the local client stopped, a second more of serving so
	 * the servers notice every dead connection. */
	for (int i = 0; i < MAX_PEERS; i++)
		if (peers[i].pid)
			peer_kill(&peers[i]);
	atomic_store(&stop_clients, true);
	long long drain = now_ms() + 1000;
	while (now_ms() < drain)
		serve(router, rep, pub,
		      tick++); /* serves the local client's last cycle too */
	pthread_join(th, NULL);
	drain = now_ms() + 1000;
	while (now_ms() < drain)
		serve(router, rep, pub, tick++);
	/* The heap in use is compared with the servers still up, as at the baseline. */
	long rss = rss_kib(), heap = heap_kib();
	int fds = fd_count();
	if (rss_base < 0) {
		rss_base = rss;
		fds_base = fds;
		heap_base = heap;
	}
	report(t0, rss, fds);
	long fd_slack = env_long("SOAK_FD_SLACK", 8);
	long rss_slack = env_long("SOAK_RSS_SLACK_KIB", 16384);
	long heap_slack = env_long("SOAK_HEAP_SLACK_KIB", 1024);
	long rss_bound = rss_base + rss_base / 10 + rss_slack;
	long heap_bound = heap_base + heap_base / 10 + heap_slack;
	printf("%s: baseline rss=%ld KiB heap=%ld KiB fds=%d; end rss=%ld KiB heap=%ld "
	       "KiB "
	       "fds=%d; max rss=%ld KiB fds=%d; bounds rss<=%ld heap<=%ld fds<=%ld; %ld "
	       "local cycle failures\n",
	       tool, rss_base, heap_base, fds_base, rss, heap, fds, rss_max, fds_max,
	       rss_bound, heap_bound, fds_base + fd_slack, atomic_load(&failures));
	zmq_close(router);
	zmq_close(rep);
	zmq_close(pub);
	zmq_ctx_term(ctx);
	rmdir(dir);
	bool ok = fds <= fds_base + fd_slack && rss <= rss_bound && heap <= heap_bound &&
	          atomic_load(&failures) == 0;
	printf("%s: %s\n", tool, ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
