/*
 * test_interop.c: zinc against the real libzmq (Debian's 4.3.4 through python3-zmq) over
 * tcp:// and ipc://, with zinc binding and with libzmq binding: PAIR exchange, PUSH/PULL
 * both ways with 100k ordered messages, multipart integrity, message sizes from 0 B to
 * 16 MiB, reconnection after the libzmq peer is killed and restarted, and heartbeat
 * timeout against a peer that stops answering (SIGSTOP).
 *
 * The libzmq side is tests/py/peer.py, run as /usr/bin/python3 in its own process with
 * LD_LIBRARY_PATH and LD_PRELOAD removed from its environment, so it loads the system
 * libzmq whatever this program is linked against. The peer prints "READY <endpoint>" on
 * stdout once bound or connected; every wait here reads that pipe or a zinc socket with a
 * deadline, never a sleep (the one exception: without zmq_socket_monitor the heartbeat
 * case must give zinc its detection time before resuming the peer). Closing the peer's
 * stdin tells it the test has everything. Every child is reaped and the temporary ipc
 * directory removed, also when a case fails. Exits 77 (ctest SKIP_RETURN_CODE) when
 * /usr/bin/python3 cannot import zmq.
 *
 * An argument runs only the cases whose name contains it. Under valgrind, or with
 * ZINC_INTEROP_QUICK set, counts and sizes shrink (5000 messages, up to 1 MiB).
 * ZINC_INTEROP_PEER overrides the path of peer.py. Uses the public zmq.h API only, so it
 * also builds against libzmq itself, from the source tree's root:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_interop.c -lzmq -lpthread
 * which checks the test, libzmq against libzmq.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"
#include "zmq.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PYTHON         "/usr/bin/python3"
#define SKIP_CODE      77
#define WAIT_MS        (10000 * ZINC_TEST_SLOWDOWN) /* socket timeouts, READY, peer replies */
#define FINISH_MS      30000 /* a peer's run to exit */
#define HB_IVL_MS      100
#define HB_TIMEOUT_MS  400
#define HB_HEALTHY_MS  1000 /* a peer that answers must stay connected this long */
#define HB_DETECT_MS   3000 /* a silent peer must be dropped within this */
#define MAX_SIZE_FULL  (16u << 20)
#define MAX_SIZE_QUICK (1u << 20)

enum tr { TCP, IPC };
enum side { ZINC_BINDS, LIBZMQ_BINDS };

static const char *const tr_name[] = {"tcp", "ipc"};

/* One spawned peer.py: its pid until reaped (then 0), the read end of its stdout and the
 * write end of its stdin. Closing its stdin tells the peer that the test has received
 * all it sent (see peer_finish). */
struct peer {
	pid_t pid;
	int fd;
	int in_fd;
	size_t len;
	char buf[1024];
	char endpoint[512]; /* from its READY line */
};

#define MAX_PEERS 4
#define MAX_SOCKS 8

/* What a case holds; case_reset() releases all of it, after a failed case too. */
static struct {
	void *ctx;
	void *socks[MAX_SOCKS];
	int nsocks;
	struct peer peers[MAX_PEERS];
	int npeers;
	zmq_msg_t msg;
	int msg_live;
} cs;

static char peer_py[4096];
static char **child_env;
static char tmpdir[64];
static int ipc_seq;
static long n_msgs = 100000;
static size_t max_size = MAX_SIZE_FULL;
static unsigned char *pat; /* pattern(s) is pat + s % 251, s bytes */

static const unsigned sizes[] = {0, 1, 255, 256, 65536, 1u << 20, 16u << 20};

static const unsigned char *
pattern(size_t size)
{
	return pat + size % 251;
}

/* ------------------------------------------------------------------------ */
/* Children                                                                  */
/* ------------------------------------------------------------------------ */

/* make_child_env: environ without LD_LIBRARY_PATH and LD_PRELOAD. */
static char **
make_child_env(void)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) == 0 ||
		    strncmp(environ[i], "LD_PRELOAD=", 11) == 0)
			continue;
		env[k++] = environ[i];
	}
	return env;
}

/* spawn: starts argv[0] with child_env. With io, the child's stdin and stdout are pipes
 * whose other ends (close-on-exec) go to io[0] (write to its stdin) and io[1] (read its
 * stdout); without, both are /dev/null. Returns the pid, or -1 with errno set. */
static pid_t
spawn(char *const argv[], int io[2])
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int rc;
	if (io && pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (io && pipe2(out, O_CLOEXEC) < 0) {
		rc = errno;
		close(in[0]);
		close(in[1]);
		errno = rc;
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	if (io) {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	} else {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	if (!io) {
		if (rc != 0)
			errno = rc;
		return rc != 0 ? -1 : pid;
	}
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		errno = rc;
		return -1;
	}
	io[0] = in[1];
	io[1] = out[0];
	return pid;
}

/* reap: waits up to timeout_ms for pid to exit, then SIGKILLs it. Returns the wait
 * status, or -1 when it had to be killed. Always reaps. */
static int
reap(pid_t pid, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (test_now_ms() >= deadline)
			break;
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* peer_readline: the next line of p's stdout into line (without the newline). Returns 1,
 * 0 at EOF, or -1 when timeout_ms passed first. */
static int
peer_readline(struct peer *p, int timeout_ms, char *line, size_t cap)
{
	long long deadline = test_now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(line, p->buf, c);
			line[c] = '\0';
			p->len -= n + 1;
			memmove(p->buf, nl + 1, p->len);
			return 1;
		}
		if (p->fd < 0)
			return 0;
		long long left = deadline - test_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (p->len == sizeof p->buf) /* a line longer than buf: drop it */
			p->len = 0;
		ssize_t got = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(p->fd);
			p->fd = -1;
			if (p->len && p->buf[p->len - 1] != '\n' &&
			    p->len < sizeof p->buf)
				p->buf[p->len++] = '\n';
			continue;
		}
		p->len += (size_t)got;
	}
}

/* peer_kill: SIGKILLs p (also when stopped), reaps it and closes its pipe. */
static void
peer_kill(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
}

/* peer_finish: closes p's stdin (a sending peer waits for that before it closes its
 * socket, so that the test has everything before the connection goes), reads p's output
 * to EOF, reaps it, and returns its exit code, or -1 when it timed out, was killed or
 * died by a signal. */
static int
peer_finish(struct peer *p, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	char line[256], last[256] = "";
	int r;
	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	while ((r = peer_readline(p, (int)(deadline - test_now_ms()), line,
	                          sizeof line)) > 0)
		snprintf(last, sizeof last, "%s", line);
	if (r < 0) {
		fprintf(stderr, "  peer %d: no exit within %d ms\n", (int)p->pid,
		        timeout_ms);
		peer_kill(p);
		return -1;
	}
	int status = reap(p->pid, (int)(deadline - test_now_ms()) + 1000);
	p->pid = 0;
	if (status < 0 || !WIFEXITED(status)) {
		fprintf(stderr, "  peer: killed or died (%s)\n", last);
		return -1;
	}
	if (WEXITSTATUS(status) != 0)
		fprintf(stderr, "  peer: exit %d (%s)\n", WEXITSTATUS(status), last);
	return WEXITSTATUS(status);
}

/* peer_start: runs peer.py MODE ROLE ENDPOINT ARGS... and waits for its READY line. Fails
 * the case when it cannot start or is not ready within WAIT_MS. */
static struct peer *
peer_start(const char *mode, const char *role, const char *endpoint,
           const char *const *args)
{
	char *argv[32];
	int n = 0;
	CHECK(cs.npeers < MAX_PEERS);
	argv[n++] = PYTHON;
	argv[n++] = peer_py;
	argv[n++] = (char *)mode;
	argv[n++] = "--timeout";
	argv[n++] = "10000";
	argv[n++] = (char *)role;
	argv[n++] = (char *)endpoint;
	for (int i = 0; args && args[i]; i++) {
		CHECK(n < 31);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;

	struct peer *p = &cs.peers[cs.npeers++];
	memset(p, 0, sizeof *p);
	int io[2];
	p->fd = p->in_fd = -1;
	p->pid = spawn(argv, io);
	if (p->pid < 0) {
		p->pid = 0;
		TEST_FAIL("cannot spawn %s: %s", PYTHON, strerror(errno));
	}
	p->in_fd = io[0];
	p->fd = io[1];
	char line[512];
	int r = peer_readline(p, WAIT_MS, line, sizeof line);
	if (r <= 0) {
		int code = peer_finish(p, 1000);
		TEST_FAIL("peer.py %s %s %s: %s (exit %d)", mode, role, endpoint,
		          r < 0 ? "no READY in time" : "exited before READY", code);
	}
	if (strncmp(line, "READY ", 6) != 0)
		TEST_FAIL("peer.py said \"%s\", want READY", line);
	snprintf(p->endpoint, sizeof p->endpoint, "%s", line + 6);
	return p;
}

/* ------------------------------------------------------------------------ */
/* Case state                                                                */
/* ------------------------------------------------------------------------ */

/* case_reset: kills and reaps any peer still running, closes the case's sockets (linger
 * 0), terminates its context and closes its message. Run before and after each case. */
static void
case_reset(void)
{
	for (int i = 0; i < cs.npeers; i++)
		peer_kill(&cs.peers[i]);
	cs.npeers = 0;
	if (cs.msg_live)
		zmq_msg_close(&cs.msg);
	cs.msg_live = 0;
	for (int i = 0; i < cs.nsocks; i++) {
		int zero = 0;
		zmq_setsockopt(cs.socks[i], ZMQ_LINGER, &zero, sizeof zero);
		zmq_close(cs.socks[i]);
	}
	cs.nsocks = 0;
	if (cs.ctx)
		zmq_ctx_term(cs.ctx);
	cs.ctx = NULL;
}

static void
case_begin(void)
{
	case_reset();
	CHECK(cs.ctx = zmq_ctx_new());
	CHECK_OK(zmq_msg_init(&cs.msg));
	cs.msg_live = 1;
}

static void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

/* zsock: a socket of the case's context with linger 0 and WAIT_MS send/recv timeouts;
 * the case only closes it after its peer has confirmed everything it had to receive. */
static void *
zsock(int type)
{
	CHECK(cs.nsocks < MAX_SOCKS);
	void *s = zmq_socket(cs.ctx, type);
	CHECK(s);
	cs.socks[cs.nsocks++] = s;
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	return s;
}

/* bind_endpoint: a fresh endpoint to bind: a wildcard tcp port or a new ipc path. */
static void
bind_endpoint(enum tr t, char *ep, size_t cap)
{
	if (t == TCP)
		snprintf(ep, cap, "tcp://127.0.0.1:*");
	else
		snprintf(ep, cap, "ipc://%s/%d.sock", tmpdir, ipc_seq++);
}

/* link_up: binds s and starts the peer connecting, or starts the peer binding and
 * connects s; returns the ready peer. */
static struct peer *
link_up(enum tr t, enum side b, void *s, const char *role, const char *const *args)
{
	char ep[256];
	bind_endpoint(t, ep, sizeof ep);
	if (b == ZINC_BINDS) {
		size_t len = sizeof ep;
		CHECK_OK(zmq_bind(s, ep));
		CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len));
		return peer_start("--connect", role, ep, args);
	}
	struct peer *p = peer_start("--bind", role, ep, args);
	CHECK_OK(zmq_connect(s, p->endpoint));
	return p;
}

static void
send_buf(void *s, const void *buf, size_t len, int flags)
{
	int n = zmq_send(s, buf, len, flags);
	if (n < 0)
		TEST_FAIL("zmq_send(%zu bytes) failed: %s", len, strerror(errno));
	CHECK_EQ(n, (long long)len);
}

static void
send_str(void *s, const char *str)
{
	send_buf(s, str, strlen(str), 0);
}

/* recv_msg: the next frame into cs.msg; returns its size. */
static size_t
recv_msg(void *s, const char *what)
{
	if (zmq_msg_recv(&cs.msg, s, 0) < 0)
		TEST_FAIL("receiving %s: %s", what, strerror(errno));
	return zmq_msg_size(&cs.msg);
}

static void
recv_str(void *s, const char *want)
{
	size_t n = recv_msg(s, want);
	if (n != strlen(want) || memcmp(zmq_msg_data(&cs.msg), want, n) != 0 ||
	    zmq_msg_more(&cs.msg))
		TEST_FAIL("want \"%s\", got %zu bytes \"%.*s\"", want, n,
		          (int)(n < 64 ? n : 64), (const char *)zmq_msg_data(&cs.msg));
}

static void
put_u64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* end_echo: sends END to a pair-echo peer, receives it back (skipping older echoes when
 * skip_stale) and checks that the peer exits 0. */
static void
end_echo(void *s, struct peer *p, int skip_stale)
{
	send_str(s, "END");
	for (;;) {
		size_t n = recv_msg(s, "END echo");
		if (n == 3 && memcmp(zmq_msg_data(&cs.msg), "END", 3) == 0)
			break;
		if (!skip_stale)
			TEST_FAIL("unexpected %zu-byte message before END echo", n);
	}
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                     */
/* ------------------------------------------------------------------------ */

static void
case_pair(enum tr t, enum side b)
{
	case_begin();
	void *s = zsock(ZMQ_PAIR);
	struct peer *p = link_up(t, b, s, "pair-echo", NULL);
	for (int i = 0; i < 100; i++) {
		char buf[32];
		snprintf(buf, sizeof buf, "ping %d", i);
		send_str(s, buf);
		recv_str(s, buf);
	}
	end_echo(s, p, 0);
	case_reset();
}

static void
case_push_to_pull(enum tr t, enum side b)
{
	case_begin();
	void *s = zsock(ZMQ_PUSH);
	char n[32];
	snprintf(n, sizeof n, "%ld", n_msgs);
	const char *args[] = {n, NULL};
	struct peer *p = link_up(t, b, s, "pull-count", args);
	for (long i = 0; i < n_msgs; i++) {
		unsigned char buf[8];
		put_u64(buf, (uint64_t)i);
		send_buf(s, buf, sizeof buf, 0);
	}
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
	case_reset();
}

static void
case_pull_from_push(enum tr t, enum side b)
{
	case_begin();
	void *s = zsock(ZMQ_PULL);
	char n[32];
	snprintf(n, sizeof n, "%ld", n_msgs);
	const char *args[] = {n, "16", NULL};
	struct peer *p = link_up(t, b, s, "push-seq", args);
	for (long i = 0; i < n_msgs; i++) {
		if (zmq_msg_recv(&cs.msg, s, 0) < 0)
			TEST_FAIL("receiving message %ld of %ld: %s", i, n_msgs,
			          strerror(errno));
		size_t len = zmq_msg_size(&cs.msg);
		const unsigned char *d = zmq_msg_data(&cs.msg);
		if (len != 16 || get_u64(d) != (uint64_t)i || d[15] != (unsigned char)i)
			TEST_FAIL("message %ld: %zu bytes, sequence %llu", i, len,
			          len >= 8 ? (unsigned long long)get_u64(d) : 0ull);
	}
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
	case_reset();
}

/* part_size, part_byte: the shape of part j of multipart message i. */
static size_t
part_size(int i, int j)
{
	if (j == 1 && i % 5 == 0)
		return 0;
	return (size_t)(i * 7 + j * 13) % 300;
}

static unsigned char
part_byte(int i, int j, size_t k)
{
	return (unsigned char)(i + 3 * j + (int)k);
}

static void
case_multipart(enum tr t, enum side b)
{
	enum { N = 200, PARTS = 3 };
	case_begin();
	void *s = zsock(ZMQ_PAIR);
	struct peer *p = link_up(t, b, s, "pair-echo", NULL);
	unsigned char buf[300];
	for (int i = 0; i < N; i++)
		for (int j = 0; j < PARTS; j++) {
			size_t len = part_size(i, j);
			for (size_t k = 0; k < len; k++)
				buf[k] = part_byte(i, j, k);
			send_buf(s, buf, len, j < PARTS - 1 ? ZMQ_SNDMORE : 0);
		}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < PARTS; j++) {
			size_t len = recv_msg(s, "multipart echo");
			const unsigned char *d = zmq_msg_data(&cs.msg);
			if (len != part_size(i, j))
				TEST_FAIL("message %d part %d: %zu bytes, want %zu", i, j,
				          len, part_size(i, j));
			for (size_t k = 0; k < len; k++)
				if (d[k] != part_byte(i, j, k))
					TEST_FAIL("message %d part %d: byte %zu differs",
					          i, j, k);
			CHECK_EQ(zmq_msg_more(&cs.msg), j < PARTS - 1);
		}
	end_echo(s, p, 0);
	case_reset();
}

/* size_args: the sizes up to max_size as decimal strings, NULL-terminated. */
static int
size_args(char strs[][16], const char **args)
{
	int n = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		if (sizes[i] <= max_size) {
			snprintf(strs[n], 16, "%u", sizes[i]);
			args[n] = strs[n];
			n++;
		}
	args[n] = NULL;
	return n;
}

static void
case_sizes_to_libzmq(enum tr t, enum side b)
{
	char strs[8][16];
	const char *args[9];
	int n = size_args(strs, args);
	case_begin();
	void *s = zsock(ZMQ_PUSH);
	struct peer *p = link_up(t, b, s, "pull-sizes", args);
	for (int i = 0; i < n; i++)
		send_buf(s, pattern(sizes[i]), sizes[i], 0);
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
	case_reset();
}

static void
case_sizes_from_libzmq(enum tr t, enum side b)
{
	char strs[8][16];
	const char *args[9];
	int n = size_args(strs, args);
	case_begin();
	void *s = zsock(ZMQ_PULL);
	struct peer *p = link_up(t, b, s, "push-sizes", args);
	for (int i = 0; i < n; i++) {
		size_t len = recv_msg(s, "sized message");
		if (len != sizes[i])
			TEST_FAIL("message %d: %zu bytes, want %u", i, len, sizes[i]);
		if (memcmp(zmq_msg_data(&cs.msg), pattern(len), len) != 0)
			TEST_FAIL("message of %zu bytes: content differs", len);
	}
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
	case_reset();
}

/* wait_event: the next monitor event on mon within timeout_ms, or -1. */
static int
wait_event(void *mon, int timeout_ms)
{
	set_int(mon, ZMQ_RCVTIMEO, timeout_ms);
	if (zmq_msg_recv(&cs.msg, mon, 0) < 0)
		return -1;
	CHECK_EQ(zmq_msg_size(&cs.msg), 6);
	CHECK(zmq_msg_more(&cs.msg));
	uint16_t ev;
	memcpy(&ev, zmq_msg_data(&cs.msg), sizeof ev);
	CHECK(zmq_msg_recv(&cs.msg, mon, 0) >= 0); /* the endpoint */
	return ev;
}

/* case_heartbeat: zinc pings every HB_IVL_MS and gives up after HB_TIMEOUT_MS. A libzmq
 * peer that answers stays connected; once SIGSTOPped it must be dropped within
 * HB_DETECT_MS, seen by zinc's monitor (when zinc has one) and by the peer's own monitor
 * when it runs again. */
static void
case_heartbeat(enum tr t, enum side b)
{
	static int mon_seq;
	char mon_ep[64], line[64];
	case_begin();
	void *s = zsock(ZMQ_PAIR), *mon = NULL;
	set_int(s, ZMQ_HEARTBEAT_IVL, HB_IVL_MS);
	set_int(s, ZMQ_HEARTBEAT_TIMEOUT, HB_TIMEOUT_MS);
	snprintf(mon_ep, sizeof mon_ep, "inproc://interop-monitor-%d", mon_seq++);
	if (zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_DISCONNECTED) == 0) {
		mon = zsock(ZMQ_PAIR);
		CHECK_OK(zmq_connect(mon, mon_ep));
	} else {
		printf("     note: zmq_socket_monitor: %s; skipping the zinc-side "
		       "DISCONNECTED assertion, checking the peer's side only\n",
		       strerror(errno));
	}
	struct peer *p = link_up(t, b, s, "silent", NULL);
	recv_str(s, "HELLO"); /* the handshake is done */

	/* A peer that answers PINGs stays connected. */
	CHECK_EQ(peer_readline(p, HB_HEALTHY_MS, line, sizeof line), -1);
	if (mon)
		CHECK_EQ(wait_event(mon, 0), -1);

	CHECK_OK(kill(p->pid, SIGSTOP));
	long long t0 = test_now_ms();
	if (mon) {
		int ev = wait_event(mon, HB_DETECT_MS);
		long long dt = test_now_ms() - t0;
		if (ev != ZMQ_EVENT_DISCONNECTED)
			TEST_FAIL("no DISCONNECTED event within %d ms of SIGSTOP",
			          HB_DETECT_MS);
		printf("     note: silent peer dropped after %lld ms\n", dt);
	} else {
		struct pollfd none = {.fd = -1};
		while (test_now_ms() - t0 < HB_DETECT_MS)
			poll(&none, 1, (int)(HB_DETECT_MS - (test_now_ms() - t0)));
	}
	CHECK_OK(kill(p->pid, SIGCONT));
	int r = peer_readline(p, WAIT_MS, line, sizeof line);
	if (r <= 0)
		TEST_FAIL("the libzmq peer saw no disconnect (%s)",
		          r < 0 ? "timeout" : "EOF");
	CHECK_STR(line, "DISCONNECTED");
	CHECK_EQ(peer_finish(p, FINISH_MS), 0);
	case_reset();
}

/* case_reconnect: zinc connects to a libzmq PAIR echo peer, which is SIGKILLed and
 * restarted on the same endpoint; zinc reconnects by itself and echoes resume. */
static void
case_reconnect(enum tr t, enum side b)
{
	char ep[sizeof cs.peers[0].endpoint], buf[32];
	(void)b; /* zinc always connects here */
	case_begin();
	void *s = zsock(ZMQ_PAIR);
	set_int(s, ZMQ_RECONNECT_IVL, 20);
	struct peer *p = link_up(t, LIBZMQ_BINDS, s, "pair-echo", NULL);
	snprintf(ep, sizeof ep, "%s", p->endpoint);
	send_str(s, "before");
	recv_str(s, "before");
	peer_kill(p);

	p = peer_start("--bind", "pair-echo", ep, NULL);
	/* Messages sent before zinc notices the old connection died may be lost: retry.
	 */
	set_int(s, ZMQ_RCVTIMEO, 100);
	long long deadline = test_now_ms() + WAIT_MS;
	int resumed = 0;
	for (int k = 0; !resumed && test_now_ms() < deadline; k++) {
		snprintf(buf, sizeof buf, "after %d", k);
		if (zmq_send(s, buf, strlen(buf), ZMQ_DONTWAIT) < 0 && errno != EAGAIN)
			TEST_FAIL("zmq_send: %s", strerror(errno));
		if (zmq_msg_recv(&cs.msg, s, 0) >= 0)
			resumed = zmq_msg_size(&cs.msg) > 6 &&
			          memcmp(zmq_msg_data(&cs.msg), "after ", 6) == 0;
		else if (errno != EAGAIN)
			TEST_FAIL("zmq_msg_recv: %s", strerror(errno));
	}
	if (!resumed)
		TEST_FAIL("no echo from the restarted peer within %d ms", WAIT_MS);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	end_echo(s, p, 1);
	case_reset();
}

/* ------------------------------------------------------------------------ */
/* Table and main                                                            */
/* ------------------------------------------------------------------------ */

#define WRAP(fn, t, b)                                                                   \
	static void fn##_##t##_##b(void)                                                 \
	{                                                                                \
		fn(t, b);                                                                \
	}
#define WRAP_ALL(t, b)                                                                   \
	WRAP(case_pair, t, b)                                                            \
	WRAP(case_push_to_pull, t, b)                                                    \
	WRAP(case_pull_from_push, t, b)                                                  \
	WRAP(case_multipart, t, b)                                                       \
	WRAP(case_sizes_to_libzmq, t, b)                                                 \
	WRAP(case_sizes_from_libzmq, t, b)                                               \
	WRAP(case_heartbeat, t, b)

WRAP_ALL(TCP, ZINC_BINDS)
WRAP_ALL(TCP, LIBZMQ_BINDS)
WRAP_ALL(IPC, ZINC_BINDS)
WRAP_ALL(IPC, LIBZMQ_BINDS)
WRAP(case_reconnect, TCP, LIBZMQ_BINDS)
WRAP(case_reconnect, IPC, LIBZMQ_BINDS)

#define ENTRY(fn, t, b, name)                                                            \
	{                                                                                \
		name, fn##_##t##_##b                                                     \
	}
#define ENTRIES(t, b, prefix)                                                            \
	ENTRY(case_pair, t, b, prefix "PAIR exchange echoes 100 messages"),              \
	        ENTRY(case_push_to_pull, t, b,                                           \
	              prefix "zinc PUSH to libzmq PULL in order"),                       \
	        ENTRY(case_pull_from_push, t, b,                                         \
	              prefix "zinc PULL from libzmq PUSH in order"),                     \
	        ENTRY(case_multipart, t, b, prefix "3-part messages echo intact"),       \
	        ENTRY(case_sizes_to_libzmq, t, b, prefix "0 B to 16 MiB reach libzmq"),  \
	        ENTRY(case_sizes_from_libzmq, t, b,                                      \
	              prefix "0 B to 16 MiB come from libzmq"),                          \
	        ENTRY(case_heartbeat, t, b, prefix "heartbeat drops a SIGSTOPped peer")

static const struct test tests[] = {
        ENTRIES(TCP, ZINC_BINDS, "tcp, zinc binds: "),
        ENTRIES(TCP, LIBZMQ_BINDS, "tcp, libzmq binds: "),
        ENTRIES(IPC, ZINC_BINDS, "ipc, zinc binds: "),
        ENTRIES(IPC, LIBZMQ_BINDS, "ipc, libzmq binds: "),
        ENTRY(case_reconnect, TCP, LIBZMQ_BINDS,
              "tcp: zinc reconnects to a killed and restarted libzmq peer"),
        ENTRY(case_reconnect, IPC, LIBZMQ_BINDS,
              "ipc: zinc reconnects to a killed and restarted libzmq peer"),
        {NULL, NULL}};

/* python_has_zmq: whether /usr/bin/python3 (with the child environment) imports zmq. */
static int
python_has_zmq(void)
{
	char *argv[] = {PYTHON, "-c", "import zmq", NULL};
	if (access(PYTHON, X_OK) != 0)
		return 0;
	pid_t pid = spawn(argv, NULL);
	if (pid < 0)
		return 0;
	int status = reap(pid, 30000);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* find_peer_py: $ZINC_INTEROP_PEER, else ZINC_PEER_PY (set by the build), else
 * py/peer.py beside this source file. */
static int
find_peer_py(void)
{
	const char *env = getenv("ZINC_INTEROP_PEER");
	if (env && *env) {
		snprintf(peer_py, sizeof peer_py, "%s", env);
	} else {
#ifdef ZINC_PEER_PY
		snprintf(peer_py, sizeof peer_py, "%s", ZINC_PEER_PY);
#else
		const char *file = __FILE__, *slash = strrchr(file, '/');
		int dir = slash ? (int)(slash - file + 1) : 0;
		snprintf(peer_py, sizeof peer_py, "%.*spy/peer.py", dir, file);
#endif
	}
	return access(peer_py, R_OK) == 0;
}

/* probe: says up front which transports this library refuses (the cases that use them
 * fail with that error). */
static void
probe(void)
{
	void *ctx = zmq_ctx_new();
	if (!ctx)
		return;
	for (int t = TCP; t <= IPC; t++) {
		char ep[256];
		void *s = zmq_socket(ctx, ZMQ_PAIR);
		if (!s)
			break;
		bind_endpoint((enum tr)t, ep, sizeof ep);
		if (zmq_bind(s, ep) != 0)
			printf("note: zmq_bind(%s) fails: %s; the %s cases will fail\n",
			       ep, strerror(errno), tr_name[t]);
		zmq_close(s);
	}
	zmq_ctx_term(ctx);
}

static void
remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		char path[512];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
				unlink(path);
			}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* main: runs every case, or with an argument only those whose name contains it. */
int
main(int argc, char **argv)
{
	static struct test chosen[sizeof tests / sizeof tests[0]];
	int major, minor, patch;
	zmq_version(&major, &minor, &patch);
	printf("test_interop: this side is ØMQ %d.%d.%d\n", major, minor, patch);
	if (!(child_env = make_child_env()))
		return 1;
	if (!python_has_zmq()) {
		printf("SKIP: %s cannot import zmq (install python3-zmq)\n", PYTHON);
		free(child_env);
		return SKIP_CODE;
	}
	if (!find_peer_py()) {
		fprintf(stderr, "cannot find %s (set ZINC_INTEROP_PEER)\n", peer_py);
		free(child_env);
		return 1;
	}
	const char *preload = getenv("LD_PRELOAD");
	if ((preload && strstr(preload, "vgpreload")) || getenv("ZINC_INTEROP_QUICK")) {
		n_msgs = 5000;
		max_size = MAX_SIZE_QUICK;
		printf("note: quick run (valgrind or ZINC_INTEROP_QUICK): %ld messages, "
		       "sizes up to %zu\n",
		       n_msgs, max_size);
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/zinc-interop-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		free(child_env);
		return 1;
	}
	if (!(pat = malloc(max_size + 251))) {
		remove_tmpdir();
		free(child_env);
		return 1;
	}
	for (size_t i = 0; i < max_size + 251; i++)
		pat[i] = (unsigned char)(i % 251);

	probe();
	long long t0 = test_now_ms();
	size_t n = 0;
	for (const struct test *t = tests; t->name; t++)
		if (argc < 2 || strstr(t->name, argv[1]))
			chosen[n++] = *t;
	int rc = test_main(chosen);
	case_reset();
	printf("test_interop: %.1f s\n", (double)(test_now_ms() - t0) / 1000);
	free(pat);
	free(child_env);
	remove_tmpdir();
	return rc;
}
