/*
 * many_peers: many tcp peers on one ROUTER, and what each connection costs in memory.
 *
 *   many_peers <peers> [rounds] [message-size]
 *
 * The process forks: the parent binds one ROUTER on tcp://127.0.0.1 (an ephemeral
 * port), the child opens <peers> DEALER sockets in one context and connects each to it.
 * In every round each DEALER sends one message and the ROUTER answers each sender;
 * every reply must come back to its own DEALER. Both processes raise their soft
 * RLIMIT_NOFILE to the hard limit (the child needs about 2 descriptors per DEALER with
 * zinc, 3 with libzmq; the parent one per connection).
 *
 * Printed: the resident set of each process before the peers and after the last round
 * (/proc/self/statm), divided by the number of peers: the parent's figure is what one
 * accepted connection costs a server (session, engine, pipe), the child's what one
 * DEALER socket with its connection costs a client. The public zmq.h API only, so the
 * same source builds against zinc and against libzmq (perf/many_peers.sh runs both).
 * Exit status 0 when every message came back and, when MANY_PEERS_MAX_KIB is set, both
 * figures are at most that many KiB (ctest many_peers_memory).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "proc_stats.h"

static const char tool[] = "many_peers";

/* over_bound: the figure exceeds MANY_PEERS_MAX_KIB (when set); says so. */
static bool
over_bound(const char *who, double kib)
{
	const char *v = getenv("MANY_PEERS_MAX_KIB");
	if (!v || !*v || kib <= atof(v))
		return false;
	fprintf(stderr, "%s: %s: %.1f KiB per connection, above MANY_PEERS_MAX_KIB=%s\n",
	        tool, who, kib, v);
	return true;
}

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", tool, what, zmq_strerror(errno));
	exit(1);
}

/* raise_nofile: the soft descriptor limit up to the hard one. */
static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
set_int(void *s, int opt, int v)
{
	if (zmq_setsockopt(s, opt, &v, sizeof v) < 0)
		die("zmq_setsockopt");
}

/* server: the parent's ROUTER. Tells the child the endpoint through wfd, answers
 * peers * rounds messages, then prints its figures. */
static int
server(int peers, int rounds, size_t size, int wfd)
{
	void *ctx = zmq_ctx_new();
	if (!ctx)
		die("zmq_ctx_new");
	void *r = zmq_socket(ctx, ZMQ_ROUTER);
	if (!r)
		die("zmq_socket");
	set_int(r, ZMQ_RCVTIMEO, 60000);
	set_int(r, ZMQ_SNDTIMEO, 60000);
	set_int(r, ZMQ_BACKLOG, 1024);
	if (zmq_bind(r, "tcp://127.0.0.1:*") < 0)
		die("zmq_bind");
	char ep[256];
	size_t eplen = sizeof ep;
	if (zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &eplen) < 0)
		die("zmq_getsockopt");
	long rss0 = rss_kib(), heap0 = heap_kib();
	if (write(wfd, ep, strlen(ep) + 1) < 0)
		die("write");
	close(wfd);
	char *body = malloc(size + 1);
	if (!body)
		die("malloc");
	long long t0 = now_ms(), t_first = 0;
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < peers; i++) {
			uint8_t id[256];
			int idlen = zmq_recv(r, id, sizeof id, 0);
			if (idlen < 0)
				die("zmq_recv (routing id)");
			int n = zmq_recv(r, body, size + 1, 0);
			if (n != (int)size) {
				fprintf(stderr, "%s: bad message size %d\n", tool, n);
				return 1;
			}
			if (zmq_send(r, id, (size_t)idlen, ZMQ_SNDMORE) < 0 ||
			    zmq_send(r, body, size, 0) < 0)
				die("zmq_send");
		}
		if (round == 0)
			t_first = now_ms();
	}
	long long t1 = now_ms();
	long rss1 = rss_kib(), heap1 = heap_kib();
	printf("server: %d connections, RSS %ld -> %ld KiB: %.1f KiB per connection "
	       "(heap %.1f KiB)\n",
	       peers, rss0, rss1, (double)(rss1 - rss0) / peers,
	       (double)(heap1 - heap0) / peers);
	printf("server: first round (connect + handshake + 1 message each) %lld ms, "
	       "%d more rounds %lld ms\n",
	       t_first - t0, rounds - 1, t1 - t_first);
	fflush(stdout);
	free(body);
	set_int(r, ZMQ_LINGER, 0);
	zmq_close(r);
	zmq_ctx_term(ctx);
	return over_bound("server", (double)(rss1 - rss0) / peers) ? 1 : 0;
}

/* client: the child's DEALERs, connected to the endpoint read from rfd. */
static int
client(int peers, int rounds, size_t size, int rfd)
{
	char ep[256];
	ssize_t got = 0, n;
	while ((n = read(rfd, ep + got, sizeof ep - 1 - (size_t)got)) > 0)
		got += n;
	ep[got] = '\0';
	close(rfd);
	if (got == 0)
		return 1; /* the server died before it bound */
	void *ctx = zmq_ctx_new();
	if (!ctx)
		die("zmq_ctx_new");
	if (zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, peers + 16) < 0)
		die("zmq_ctx_set(ZMQ_MAX_SOCKETS)");
	/* One socket first, so the context's threads exist before the baseline. */
	void *first = zmq_socket(ctx, ZMQ_DEALER);
	if (!first)
		die("zmq_socket");
	long rss0 = rss_kib(), heap0 = heap_kib();
	void **d = calloc((size_t)peers, sizeof *d);
	char *body = malloc(size + 1);
	if (!d || !body)
		die("malloc");
	memset(body, 'x', size);
	for (int i = 0; i < peers; i++) {
		d[i] = zmq_socket(ctx, ZMQ_DEALER);
		if (!d[i])
			die("zmq_socket");
		set_int(d[i], ZMQ_RCVTIMEO, 60000);
		set_int(d[i], ZMQ_LINGER, 0);
		if (zmq_connect(d[i], ep) < 0)
			die("zmq_connect");
	}
	long rss_sockets = rss_kib();
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < peers; i++) {
			memcpy(body, &i, sizeof i < size ? sizeof i : size);
			if (zmq_send(d[i], body, size, 0) < 0)
				die("zmq_send");
		}
		for (int i = 0; i < peers; i++) {
			int got_n = zmq_recv(d[i], body, size + 1, 0);
			int who = -1;
			memcpy(&who, body, sizeof who < size ? sizeof who : size);
			if (got_n != (int)size || (size >= sizeof who && who != i)) {
				fprintf(stderr,
				        "%s: peer %d: reply %d bytes from %d (%s)\n",
				        tool, i, got_n, who,
				        got_n < 0 ? zmq_strerror(errno) : "");
				return 1;
			}
		}
	}
	long rss1 = rss_kib(), heap1 = heap_kib();
	printf("client: %d DEALERs, RSS %ld -> %ld KiB (%ld after the sockets were "
	       "made): "
	       "%.1f KiB per DEALER and connection (heap %.1f KiB)\n",
	       peers, rss0, rss1, rss_sockets, (double)(rss1 - rss0) / peers,
	       (double)(heap1 - heap0) / peers);
	fflush(stdout);
	for (int i = 0; i < peers; i++)
		zmq_close(d[i]);
	zmq_close(first);
	zmq_ctx_term(ctx);
	free(d);
	free(body);
	return over_bound("client", (double)(rss1 - rss0) / peers) ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s <peers> [rounds] [message-size]\n", tool);
		return 2;
	}
	int peers = atoi(argv[1]);
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	int size = argc > 3 ? atoi(argv[3]) : 64;
	if (peers < 1 || rounds < 1 || size < 0) {
		fprintf(stderr, "%s: bad arguments\n", tool);
		return 2;
	}
	raise_nofile();
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[1]);
		_exit(client(peers, rounds, (size_t)size, p[0]));
	}
	close(p[0]);
	int rc = server(peers, rounds, (size_t)size, p[1]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: the client failed (status %d)\n", tool, status);
		rc = 1;
	}
	return rc;
}
