/*
 * stream_ceiling: what the kernel alone moves through a tcp or Unix stream socket, the
 * ceiling of any messaging library that copies through it (zinc's ipc:// and tcp://,
 * libzmq's). No library, no framing, no allocation: the sender writes the same buffer
 * message-size x message-count bytes as one stream, in writes of write-max bytes from
 * one buffer (across message boundaries, as a library's batches go), and the receiver
 * reads into one buffer of message-size bytes (64 KiB at least). Its figure beside
 * local_thr's says how much of a row is the library and how much the kernel's two
 * copies (docs/ARCHITECTURE.md, "seventeenth round"; perf/ceiling.sh runs it).
 *
 *   stream_ceiling recv <tcp://host:port | ipc://path> <message-size> <message-count>
 *   stream_ceiling send <tcp://host:port | ipc://path> <message-size> <message-count>
 *                  [write-max [fresh]]
 *   stream_ceiling echo <tcp://host:port | ipc://path> <message-size> <roundtrip-count>
 *   stream_ceiling ping <tcp://host:port | ipc://path> <message-size> <roundtrip-count>
 *
 * echo and ping are local_lat and remote_lat without a library: ping writes a message,
 * waits for echo to send it back, and prints the average one-way latency (half the
 * round trip) as remote_lat does; both block in read(), so each message costs the
 * receiver one wake-up, the floor of any library that sleeps.
 *
 * recv binds and prints "mean throughput: N [msg/s]" as local_thr does, its clock
 * started at the first byte; send connects (retrying for a second while recv starts).
 * write-max defaults to the message size (one write a message); tcp over loopback is
 * fastest with 65483 (one segment a write), the cap zinc uses (src/platform/net.h).
 * fresh (default 0): the first fresh messages come from pages never used before, one
 * region each, as a library's queue of that many messages (its high-water mark) holds
 * that many bodies before the first comes back to be reused: the cost both libraries
 * pay in perf/compare.sh's 1 MiB rows, where the first 1000 of 3000 bodies are new.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char tool[] = "stream_ceiling";

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", tool, what, strerror(errno));
	exit(1);
}

static long
arg(const char *name, const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min) {
		fprintf(stderr, "%s: bad %s: %s\n", tool, name, s);
		exit(1);
	}
	return v;
}

/* endpoint: fills *ss from "tcp://a.b.c.d:port" or "ipc://path"; its length. */
static socklen_t
endpoint(const char *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strncmp(ep, "ipc://", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		if (strlen(ep + 6) >= sizeof un->sun_path)
			goto bad;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, ep + 6);
		return sizeof *un;
	}
	if (strncmp(ep, "tcp://", 6) == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		char host[64];
		const char *colon = strrchr(ep + 6, ':');
		size_t hl = colon ? (size_t)(colon - (ep + 6)) : 0;
		if (!colon || hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, ep + 6, hl);
		host[hl] = '\0';
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)arg("port", colon + 1, 1));
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		return sizeof *in;
	}
bad:
	fprintf(stderr, "%s: bad endpoint (tcp://a.b.c.d:port or ipc://path): %s\n", tool,
	        ep);
	exit(1);
}

static double
now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* accept_one: binds ep, takes one connection; the path of an ipc:// one in *path, for
 * the caller to remove (NULL for tcp). */
static int
accept_one(const char *ep, const char **path)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint(ep, &ss);
	int l = socket(ss.ss_family, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	*path = NULL;
	if (ss.ss_family == AF_UNIX) {
		*path = ep + 6;
		unlink(*path);
	} else if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
		die("SO_REUSEADDR");
	}
	if (bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 1) != 0)
		die("bind");
	int fd = accept(l, NULL, NULL);
	if (fd < 0)
		die("accept");
	close(l);
	if (ss.ss_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* read_full: reads exactly len bytes into buf; exits if the stream ends first. */
static void
read_full(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: stream ended early\n", tool);
			exit(1);
		}
		buf += n;
		len -= (size_t)n;
	}
}

#define READ_MIN ((size_t)64 * 1024)

static int
receive(const char *ep, size_t size, long count)
{
	const char *path;
	int fd = accept_one(ep, &path);
	/* Reads of 64 KiB at least, as a library's reads of small messages are. */
	size_t cap = size > READ_MIN ? size : READ_MIN;
	char *buf = malloc(cap);
	if (!buf)
		die("malloc");
	memset(buf, 0, cap); /* its pages made now, not in the first reads */
	unsigned long long want = (unsigned long long)size * (unsigned long long)count;
	unsigned long long got = 0;
	double start = 0;
	while (got < want) {
		ssize_t n = read(fd, buf, cap);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "%s: stream ended after %llu of %llu bytes\n",
			        tool, got, want);
			return 1;
		}
		if (got == 0)
			start = now_s();
		got += (unsigned long long)n;
	}
	double elapsed = now_s() - start;
	if (elapsed <= 0)
		elapsed = 1e-6;
	printf("message size: %zu [B]\n", size);
	printf("message count: %ld\n", count);
	printf("mean throughput: %d [msg/s]\n", (int)((double)count / elapsed));
	printf("mean throughput: %.3f [Mb/s]\n", (double)want * 8 / elapsed / 1e6);
	if (path)
		unlink(path);
	free(buf);
	return 0;
}

/* connect_retry: connects to ep, retrying every 10 ms for a second (recv starting). */
static int
connect_retry(const char *ep)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint(ep, &ss);
	for (int tries = 0;; tries++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
			int one = 1;
			if (ss.ss_family == AF_INET)
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				                 sizeof one);
			return fd;
		}
		close(fd);
		if (tries == 100)
			die("connect");
		/* The receiver has not bound yet; nothing to wait on from here. */
		struct timespec t = {0, 10 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
}

/* write_from: writes len bytes of buf to fd, in writes of at most write_max. */
static void
write_from(int fd, const char *buf, unsigned long long len, size_t write_max)
{
	while (len > 0) {
		size_t n = len < write_max ? (size_t)len : write_max;
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		buf += w;
		len -= (unsigned long long)w;
	}
}

static int
send_all(const char *ep, size_t size, long count, size_t write_max, long fresh)
{
	int fd = connect_retry(ep);
	unsigned long long total = (unsigned long long)size * (unsigned long long)count;
	if (fresh > count)
		fresh = count;
	if (fresh > 0) {
		/* Never written: the kernel's copy reads pages it maps from its zero
		 * page, as remote_thr's bodies are. */
		unsigned long long len =
		        (unsigned long long)size * (unsigned long long)fresh;
		char *first = mmap(NULL, len, PROT_READ | PROT_WRITE,
		                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (first == MAP_FAILED)
			die("mmap");
		write_from(fd, first, len, write_max);
		total -= len;
	}
	char *buf = malloc(write_max);
	if (!buf)
		die("malloc");
	memset(buf, 1, write_max);
	while (total > 0) {
		unsigned long long n = total < write_max ? total : write_max;
		write_from(fd, buf, n, write_max);
		total -= n;
	}
	close(fd);
	free(buf);
	return 0;
}

/* The round trips' largest write: one loopback tcp segment (see the top). */
#define LAT_WRITE_MAX 65483

/* echo: local_lat's part: sends back each message of size bytes, count times. */
static int
echo(const char *ep, size_t size, long count)
{
	const char *path;
	int fd = accept_one(ep, &path);
	char *buf = malloc(size);
	if (!buf)
		die("malloc");
	memset(buf, 0, size);
	for (long i = 0; i < count; i++) {
		read_full(fd, buf, size);
		write_from(fd, buf, size, LAT_WRITE_MAX);
	}
	if (path)
		unlink(path);
	free(buf);
	return 0;
}

/* ping: remote_lat's part: count round trips of size bytes, then the average one-way
 * latency (half a round trip), as remote_lat prints it. */
static int
ping(const char *ep, size_t size, long count)
{
	int fd = connect_retry(ep);
	char *buf = malloc(size);
	if (!buf)
		die("malloc");
	memset(buf, 1, size);
	double start = now_s();
	for (long i = 0; i < count; i++) {
		write_from(fd, buf, size, LAT_WRITE_MAX);
		read_full(fd, buf, size);
	}
	double elapsed = now_s() - start;
	printf("message size: %zu [B]\n", size);
	printf("roundtrip count: %ld\n", count);
	printf("average latency: %.3f [us]\n", elapsed * 1e6 / ((double)count * 2.0));
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *role = argc >= 5 ? argv[1] : "";
	bool is_send = strcmp(role, "send") == 0;
	if (argc < 5 || argc > (is_send ? 7 : 5) ||
	    (!is_send && strcmp(role, "recv") && strcmp(role, "echo") &&
	     strcmp(role, "ping"))) {
		fprintf(stderr,
		        "usage: %s recv|echo|ping <endpoint> <message-size> <count>\n"
		        "       %s send <endpoint> <message-size> <count> "
		        "[write-max [fresh]]\n",
		        tool, tool);
		return 1;
	}
	size_t size = (size_t)arg("message size", argv[3], 1);
	long count = arg("count", argv[4], 1);
	if (strcmp(role, "recv") == 0)
		return receive(argv[2], size, count);
	if (strcmp(role, "echo") == 0)
		return echo(argv[2], size, count);
	if (strcmp(role, "ping") == 0)
		return ping(argv[2], size, count);
	size_t write_max = argc >= 6 ? (size_t)arg("write-max", argv[5], 1) : size;
	long fresh = argc == 7 ? arg("fresh", argv[6], 0) : 0;
	return send_all(argv[2], size, count, write_max, fresh);
}
