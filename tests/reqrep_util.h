/*
 * reqrep_util.h: what test_reqrep.c and test_router.c share: a per-case context whose
 * sockets, threads and libzmq peers are all released by case_reset() (also after a
 * failed case), endpoints on inproc / ipc / tcp, multipart send / receive / expect
 * helpers, and the spawning of tests/py/reqrep_peer.py under /usr/bin/python3 with
 * LD_LIBRARY_PATH and LD_PRELOAD cleared, so the peer runs on the system libzmq.
 *
 * Public zmq.h API only, so both tests also build against libzmq itself.
 */
#ifndef ZINC_TESTS_REQREP_UTIL_H
#define ZINC_TESTS_REQREP_UTIL_H

#include "testutil.h"
#include "zmq.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ZINC_REQREP_PEER_PY
#define ZINC_REQREP_PEER_PY "tests/py/reqrep_peer.py"
#endif

#define RR_PYTHON    "/usr/bin/python3"
#define RR_SKIP      77
#define RR_WAIT_MS   10000 /* socket timeouts and peer output */
#define RR_QUIET_MS  200   /* "nothing arrives" is checked over this long */
#define RR_MAX_SOCKS 64
#define RR_MAX_PEERS 4
#define RR_MAX_PARTS 16
#define RR_PART_MAX  256

enum tr { INPROC, IPC, TCP };
static const char *const tr_name[] = {"inproc", "ipc", "tcp"};

/* A libzmq peer: its pid until reaped (0 after), its stdout (read) and stdin (write). */
struct rr_peer {
	pid_t pid;
	int out_fd, in_fd;
	size_t len;
	char buf[1024];
	char endpoint[320];
};

static struct {
	void *ctx;
	void *socks[RR_MAX_SOCKS];
	int nsocks;
	pthread_t threads[4];
	int nthreads;
	struct rr_peer peers[RR_MAX_PEERS];
	int npeers;
	int seq; /* for endpoint names */
} rr;

/* A received multipart message. */
struct frames {
	int n;
	size_t len[RR_MAX_PARTS];
	unsigned char data[RR_MAX_PARTS][RR_PART_MAX];
};

/* ---- peers ------------------------------------------------------------------ */

static inline char **
rr_child_env(void)
{
	extern char **environ;
	static char *env[512];
	size_t k = 0;
	for (size_t i = 0; environ[i] && k < 511; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) != 0 &&
		    strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

/* rr_spawn: starts argv with pipes to its stdin and stdout. pid or -1. */
static inline pid_t
rr_spawn(char *const argv[], int *in_fd, int *out_fd)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, rr_child_env());
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		return -1;
	}
	*in_fd = in[1];
	*out_fd = out[0];
	return pid;
}

/* rr_python_has_zmq: can /usr/bin/python3 (on the system libzmq) import zmq? */
static inline int
rr_python_has_zmq(void)
{
	char *argv[] = {RR_PYTHON, "-c", "import zmq", NULL};
	int in_fd, out_fd;
	if (access(RR_PYTHON, X_OK) != 0)
		return 0;
	pid_t pid = rr_spawn(argv, &in_fd, &out_fd);
	if (pid < 0)
		return 0;
	close(in_fd);
	close(out_fd);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* peer_readline: the next line of p's output. 1, 0 at EOF, -1 on timeout. */
static inline int
peer_readline(struct rr_peer *p, int timeout_ms, char *line, size_t cap)
{
	long long deadline = test_now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf), c = n < cap - 1 ? n : cap - 1;
			memcpy(line, p->buf, c);
			line[c] = '\0';
			p->len -= n + 1;
			memmove(p->buf, nl + 1, p->len);
			return 1;
		}
		if (p->out_fd < 0)
			return 0;
		long long left = deadline - test_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (p->len == sizeof p->buf)
			p->len = 0; /* an overlong line: drop it */
		ssize_t got = read(p->out_fd, p->buf + p->len, sizeof p->buf - p->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(p->out_fd);
			p->out_fd = -1;
			if (p->len && p->buf[p->len - 1] != '\n' &&
			    p->len < sizeof p->buf)
				p->buf[p->len++] = '\n';
			continue;
		}
		p->len += (size_t)got;
	}
}

static inline void
peer_kill(struct rr_peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->out_fd = p->in_fd = -1;
}

/* peer_start: runs reqrep_peer.py MODE ROLE ENDPOINT ARGS... and waits for READY. */
static inline struct rr_peer *
peer_start(const char *mode, const char *role, const char *endpoint,
           const char *const *args)
{
	char *argv[16];
	int n = 0;
	CHECK(rr.npeers < RR_MAX_PEERS);
	argv[n++] = RR_PYTHON;
	argv[n++] = ZINC_REQREP_PEER_PY;
	argv[n++] = (char *)mode;
	argv[n++] = (char *)role;
	argv[n++] = (char *)endpoint;
	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	struct rr_peer *p = &rr.peers[rr.npeers++];
	memset(p, 0, sizeof *p);
	p->out_fd = p->in_fd = -1;
	p->pid = rr_spawn(argv, &p->in_fd, &p->out_fd);
	if (p->pid < 0) {
		p->pid = 0;
		TEST_FAIL("cannot spawn %s: %s", RR_PYTHON, strerror(errno));
	}
	char line[300];
	int r = peer_readline(p, RR_WAIT_MS, line, sizeof line);
	if (r <= 0 || strncmp(line, "READY ", 6) != 0)
		TEST_FAIL("reqrep_peer.py %s %s: no READY (%s)", role, endpoint,
		          r < 0    ? "timeout"
		          : r == 0 ? "exited"
		                   : line);
	snprintf(p->endpoint, sizeof p->endpoint, "%s", line + 6);
	return p;
}

/* peer_finish: closes p's stdin, reads its output to EOF (the last line into last),
 * reaps it and returns its exit code, or -1 when it timed out or died. */
static inline int
peer_finish(struct rr_peer *p, char *last, size_t cap)
{
	char line[300];
	int r;
	if (last && cap)
		last[0] = '\0';
	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	while ((r = peer_readline(p, 3 * RR_WAIT_MS, line, sizeof line)) > 0)
		if (last)
			snprintf(last, cap, "%s", line);
	if (r < 0) {
		peer_kill(p);
		return -1;
	}
	int status;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the case's context ------------------------------------------------------ */

/* case_reset: kills the peers, closes every socket (linger 0), terminates the context
 * (which ends the threads' blocking calls with ETERM) and joins the threads. */
static inline void
case_reset(void)
{
	for (int i = 0; i < rr.npeers; i++)
		peer_kill(&rr.peers[i]);
	rr.npeers = 0;
	for (int i = 0; i < rr.nsocks; i++) {
		int zero = 0;
		zmq_setsockopt(rr.socks[i], ZMQ_LINGER, &zero, sizeof zero);
		zmq_close(rr.socks[i]);
	}
	rr.nsocks = 0;
	if (rr.ctx)
		zmq_ctx_term(rr.ctx);
	rr.ctx = NULL;
	for (int i = 0; i < rr.nthreads; i++)
		pthread_join(rr.threads[i], NULL);
	rr.nthreads = 0;
}

static inline void
case_begin(void)
{
	case_reset();
	CHECK(rr.ctx = zmq_ctx_new());
}

static inline void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

static inline void
set_str(void *s, int opt, const char *v)
{
	CHECK_OK(zmq_setsockopt(s, opt, v, strlen(v)));
}

/* tsock: a socket of the case with linger 0 and RR_WAIT_MS timeouts. */
static inline void *
tsock(int type)
{
	CHECK(rr.nsocks < RR_MAX_SOCKS);
	void *s = zmq_socket(rr.ctx, type);
	if (!s)
		TEST_FAIL("zmq_socket(%d): %s", type, strerror(errno));
	rr.socks[rr.nsocks++] = s;
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, RR_WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, RR_WAIT_MS);
	return s;
}

/* tsock_close: closes one of the case's sockets now. */
static inline void
tsock_close(void *s)
{
	for (int i = 0; i < rr.nsocks; i++)
		if (rr.socks[i] == s) {
			rr.socks[i] = rr.socks[--rr.nsocks];
			CHECK_OK(zmq_close(s));
			return;
		}
	TEST_FAIL("not a socket of this case");
}

/* tbind: binds s to a fresh endpoint of transport t; ep gets what to connect to. */
static inline void
tbind(void *s, enum tr t, char *ep, size_t cap)
{
	char want[128];
	if (t == INPROC)
		snprintf(want, sizeof want, "inproc://rr-%d-%d", (int)getpid(), rr.seq++);
	else if (t == IPC)
		snprintf(want, sizeof want, "ipc:///tmp/zinc-rr-%d-%d.sock",
		         (int)getpid(), rr.seq++);
	else
		snprintf(want, sizeof want, "tcp://127.0.0.1:*");
	if (zmq_bind(s, want) != 0)
		TEST_FAIL("bind %s: %s", want, strerror(errno));
	size_t len = cap;
	CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len));
}

static inline void
tconnect(void *s, const char *ep)
{
	if (zmq_connect(s, ep) != 0)
		TEST_FAIL("connect %s: %s", ep, strerror(errno));
}

static inline void
tthread(void *(*fn)(void *), void *arg)
{
	CHECK((size_t)rr.nthreads < sizeof rr.threads / sizeof rr.threads[0]);
	CHECK(pthread_create(&rr.threads[rr.nthreads], NULL, fn, arg) == 0);
	rr.nthreads++;
}

/* ---- messages ---------------------------------------------------------------- */

static inline void
sendb(void *s, const void *data, size_t len, int flags)
{
	int n = zmq_send(s, data, len, flags);
	if (n < 0)
		TEST_FAIL("zmq_send(%zu bytes): %s", len, strerror(errno));
	CHECK_EQ(n, (long long)len);
}

/* sendv: sends the NULL-terminated strings as one multipart message. */
static inline void
sendv(void *s, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	for (const char *part = first; part;) {
		const char *next = va_arg(ap, const char *);
		sendb(s, part, strlen(part), next ? ZMQ_SNDMORE : 0);
		part = next;
	}
	va_end(ap);
}

/* recv_frames: one whole message; the case fails on error or more than
 * RR_MAX_PARTS parts. Returns the number of parts. */
static inline int
recv_frames(void *s, struct frames *f)
{
	int more = 1;
	f->n = 0;
	while (more) {
		CHECK(f->n < RR_MAX_PARTS);
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) < 0) {
			int e = errno;
			zmq_msg_close(&m);
			TEST_FAIL("zmq_msg_recv: %s", strerror(e));
		}
		size_t len = zmq_msg_size(&m);
		f->len[f->n] = len;
		memcpy(f->data[f->n], zmq_msg_data(&m),
		       len < RR_PART_MAX ? len : RR_PART_MAX);
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		f->n++;
	}
	return f->n;
}

static inline int
frame_is(const struct frames *f, int i, const char *str)
{
	return i < f->n && f->len[i] == strlen(str) &&
	       memcmp(f->data[i], str, f->len[i]) == 0;
}

/* expectv: receives one message and checks its parts are the given strings. */
static inline void
expectv(void *s, const char *first, ...)
{
	struct frames f;
	recv_frames(s, &f);
	va_list ap;
	va_start(ap, first);
	int i = 0;
	for (const char *part = first; part; part = va_arg(ap, const char *), i++)
		if (!frame_is(&f, i, part)) {
			va_end(ap);
			TEST_FAIL("part %d: want \"%s\", got %s%.*s%s (%d parts)", i,
			          part, i < f.n ? "\"" : "", i < f.n ? (int)f.len[i] : 4,
			          i < f.n ? (const char *)f.data[i] : "none",
			          i < f.n ? "\"" : "", f.n);
		}
	va_end(ap);
	if (f.n != i)
		TEST_FAIL("want %d parts, got %d", i, f.n);
}

/* expect_quiet: nothing arrives on s for RR_QUIET_MS. */
static inline void
expect_quiet(void *s)
{
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	int rc = zmq_poll(&it, 1, RR_QUIET_MS);
	CHECK(rc >= 0);
	if (rc > 0) {
		char buf[64];
		int n = zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT);
		TEST_FAIL("unexpected message of %d bytes \"%.*s\"", n,
		          n > 0 ? (n < 64 ? n : 64) : 0, buf);
	}
}

/* test_sleep_ms: lets asynchronous connections settle where the API has no event to
 * wait for. */
static inline void
test_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
