/*
 * test_reconnect_storm: connections that fail over and over.
 *
 * - 1000 PUSH sockets (100 under valgrind) connect with ZMQ_RECONNECT_IVL 1 ms to a tcp
 *   port where nothing listens, each with one message queued; then the port opens and
 *   every message arrives, once.
 * - A raw server accepts, sends its greeting and resets the connection (SO_LINGER 0)
 *   after reading N bytes, for every N from 0 to the end of the client's handshake
 *   (greeting and READY; the server never sends its READY, so the client cannot start
 *   sending messages): the client reconnects after each reset and, when a real
 *   server takes the port, delivers its message. For PUSH and DEALER.
 * - The other way round: raw clients send the first N bytes of a real client's
 *   handshake to a zinc server and reset, for every N; the server then serves a real
 *   client.
 *
 * Each case checks that the process holds as many descriptors after it as before.
 * Public API only.
 */
#include "testutil.h"
#include "zmq.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 20000
#define MAX_REC 512 /* the longest client handshake recorded */

static bool quick; /* under valgrind: fewer sockets */

static void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

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
	return n;
}

/* listen_raw: a listening tcp socket on 127.0.0.1 (port 0: any); *port its port. */
static int
listen_raw(int port, int *out_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	int one = 1;
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(fd, 64), 0);
	socklen_t len = sizeof a;
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*out_port = ntohs(a.sin_port);
	return fd;
}

/* free_port: a port nothing listens on (just bound and closed). */
static int
free_port(void)
{
	int port;
	close(listen_raw(0, &port));
	return port;
}

/* reset_close: closes fd with an RST (SO_LINGER 0). */
static void
reset_close(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

/* read_n: reads exactly n bytes (into buf when not NULL). 0, or -1 on EOF, error or
 * after WAIT_MS without progress. */
static int
read_n(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	uint8_t scratch[256];
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) != 1)
			return -1;
		size_t want = n - got;
		uint8_t *at = buf ? buf + got : scratch;
		if (!buf && want > sizeof scratch)
			want = sizeof scratch;
		ssize_t r = read(fd, at, want);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* accept_one: the next connection on lfd, within WAIT_MS. */
static int
accept_one(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	return fd;
}

/* A NULL-mechanism server greeting, ZMTP 3.1. */
static void
greeting(uint8_t g[64])
{
	memset(g, 0, 64);
	g[0] = 0xff;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 1;
	memcpy(g + 12, "NULL", 4);
}

/* record_handshake: accepts one connection, sends our greeting, and reads the client's
 * greeting and its READY command into rec; returns their length. Resets the
 * connection. */
static size_t
record_handshake(int lfd, uint8_t *rec)
{
	int fd = accept_one(lfd);
	uint8_t g[64];
	greeting(g);
	CHECK_EQ(send(fd, g, sizeof g, MSG_NOSIGNAL), 64);
	CHECK_EQ(read_n(fd, rec, 64 + 2), 0);
	CHECK_EQ(rec[64], 0x04); /* a short command frame: READY */
	size_t len = 64 + 2 + rec[65];
	CHECK(len <= MAX_REC);
	CHECK_EQ(read_n(fd, rec + 66, rec[65]), 0);
	reset_close(fd);
	return len;
}

/* Every queued message of 1000 reconnecting sockets arrives once the port opens. */
static void
test_thousand_reconnecting_sockets_deliver(void)
{
	int n = quick ? 100 : 1000;
	int fds0 = fd_count();
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	CHECK_OK(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 16));
	int port = free_port();
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	void **s = calloc((size_t)n, sizeof *s);
	CHECK(s);
	for (int i = 0; i < n; i++) {
		s[i] = zmq_socket(ctx, ZMQ_PUSH);
		CHECK(s[i]);
		set_int(s[i], ZMQ_LINGER, 0);
		set_int(s[i], ZMQ_RECONNECT_IVL, 1);
		CHECK_OK(zmq_connect(s[i], ep));
		CHECK_EQ(zmq_send(s[i], &i, sizeof i, ZMQ_DONTWAIT), (int)sizeof i);
	}
	/* The storm: every socket fails to connect and retries each millisecond. A
	 * stretch of it, not a synchronisation: nothing is waited for. */
	usleep(quick ? 200000 : 500000);
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(pull);
	set_int(pull, ZMQ_LINGER, 0);
	set_int(pull, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(pull, ZMQ_BACKLOG, 1024);
	CHECK_OK(zmq_bind(pull, ep));
	bool *seen = calloc((size_t)n, 1);
	CHECK(seen);
	for (int i = 0; i < n; i++) {
		int who = -1;
		CHECK_EQ(zmq_recv(pull, &who, sizeof who, 0), (int)sizeof who);
		CHECK(who >= 0 && who < n && !seen[who]);
		seen[who] = true;
	}
	CHECK_ERR(zmq_recv(pull, &n, sizeof n, ZMQ_DONTWAIT), EAGAIN);
	for (int i = 0; i < n; i++)
		CHECK_OK(zmq_close(s[i]));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
	free(s);
	free(seen);
	CHECK_EQ(fd_count(), fds0);
}

/* reset_at_every_offset: a client of type `type` against a raw server that resets at
 * every offset of its handshake, then against a real server on the same port. */
static void
reset_at_every_offset(int type)
{
	int fds0 = fd_count();
	int port;
	int lfd = listen_raw(0, &port);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *c = zmq_socket(ctx, type);
	CHECK(c);
	set_int(c, ZMQ_LINGER, 0);
	set_int(c, ZMQ_RECONNECT_IVL, 1);
	CHECK_OK(zmq_connect(c, ep));
	CHECK_EQ(zmq_send(c, "hello", 5, ZMQ_DONTWAIT), 5);

	uint8_t rec[MAX_REC];
	size_t len = record_handshake(lfd, rec);
	printf("     client handshake %zu bytes: reset after 0..%zu\n", len, len);
	uint8_t g[64];
	greeting(g);
	for (size_t off = 0; off <= len; off++) {
		int fd = accept_one(lfd);
		/* The client may already be gone if it reset first: no check. */
		(void)send(fd, g, sizeof g, MSG_NOSIGNAL);
		uint8_t got[MAX_REC];
		CHECK_EQ(read_n(fd, got, off), 0);
		/* Same client, same handshake, every time. */
		CHECK(memcmp(got, rec, off) == 0);
		reset_close(fd);
	}
	close(lfd);

	void *srv = zmq_socket(ctx, type == ZMQ_PUSH ? ZMQ_PULL : ZMQ_ROUTER);
	CHECK(srv);
	set_int(srv, ZMQ_LINGER, 0);
	set_int(srv, ZMQ_RCVTIMEO, WAIT_MS);
	CHECK_OK(zmq_bind(srv, ep));
	char buf[256];
	if (type != ZMQ_PUSH)
		CHECK(zmq_recv(srv, buf, sizeof buf, 0) > 0); /* the routing id */
	CHECK_EQ(zmq_recv(srv, buf, sizeof buf, 0), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_OK(zmq_close(srv));
	CHECK_OK(zmq_close(c));
	CHECK_OK(zmq_ctx_term(ctx));
	CHECK_EQ(fd_count(), fds0);
}

static void
test_push_survives_reset_at_every_offset(void)
{
	reset_at_every_offset(ZMQ_PUSH);
}

static void
test_dealer_survives_reset_at_every_offset(void)
{
	reset_at_every_offset(ZMQ_DEALER);
}

/* connect_raw: a tcp connection to 127.0.0.1:port. */
static int
connect_raw(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* A zinc server whose clients reset after every prefix of a real handshake (theirs
 * recorded from a zinc PUSH) still serves the next client. */
static void
test_server_survives_clients_reset_at_every_offset(void)
{
	int fds0 = fd_count();
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	/* Record a real client's handshake. */
	int port;
	int lfd = listen_raw(0, &port);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	void *c = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(c);
	set_int(c, ZMQ_LINGER, 0);
	CHECK_OK(zmq_connect(c, ep));
	uint8_t rec[MAX_REC];
	size_t len = record_handshake(lfd, rec);
	CHECK_OK(zmq_close(c));
	close(lfd);

	void *srv = zmq_socket(ctx, ZMQ_PULL);
	CHECK(srv);
	set_int(srv, ZMQ_LINGER, 0);
	set_int(srv, ZMQ_RCVTIMEO, WAIT_MS);
	CHECK_OK(zmq_bind(srv, "tcp://127.0.0.1:*"));
	size_t eplen = sizeof ep;
	CHECK_OK(zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &eplen));
	port = atoi(strrchr(ep, ':') + 1);
	for (size_t off = 0; off <= len; off++) {
		int fd = connect_raw(port);
		CHECK_EQ(send(fd, rec, off, MSG_NOSIGNAL), (ssize_t)off);
		/* Wait for the server's greeting signature where it comes (it answers
		 * whatever we sent), so the reset meets a server mid-handshake. */
		if (off > 0)
			CHECK_EQ(read_n(fd, NULL, 10), 0);
		reset_close(fd);
	}
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	CHECK(push);
	set_int(push, ZMQ_LINGER, 0);
	CHECK_OK(zmq_connect(push, ep));
	CHECK_EQ(zmq_send(push, "hello", 5, 0), 5);
	char buf[16];
	CHECK_EQ(zmq_recv(srv, buf, sizeof buf, 0), 5);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(srv));
	CHECK_OK(zmq_ctx_term(ctx));
	CHECK_EQ(fd_count(), fds0);
}

static const struct test tests[] = {
        {"1000 sockets reconnecting each ms all deliver once the port opens",
         test_thousand_reconnecting_sockets_deliver},
        {"a PUSH reset at every handshake offset reconnects and delivers",
         test_push_survives_reset_at_every_offset},
        {"a DEALER reset at every handshake offset reconnects and delivers",
         test_dealer_survives_reset_at_every_offset},
        {"a server whose clients reset at every handshake offset serves on",
         test_server_survives_clients_reset_at_every_offset},
        {NULL, NULL}};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const char *preload = getenv("LD_PRELOAD");
	quick = preload && strstr(preload, "vgpreload");
	/* 1000 sockets: a mailbox, a connection and an accepted peer each. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return test_main(tests);
}
