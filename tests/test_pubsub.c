/*
 * test_pubsub.c: PUB, SUB, XPUB and XSUB over inproc://, ipc:// and tcp:// (zinc with
 * zinc), and over tcp:// against the real libzmq (Debian's 4.3.4 through python3-zmq,
 * tests/py/pubsub_peer.py), zinc binding and libzmq binding, both directions.
 *
 * A subscription takes effect some time after zmq_setsockopt returns (the "slow
 * joiner"), so every case that publishes first waits for it: sync_subs publishes a
 * probe in a loop until each subscriber has one, bounded by a deadline, then a sync
 * message behind which nothing of the probing is left. No case sleeps.
 *
 * Uses the public zmq.h API only, so it also builds against libzmq itself, from the
 * source tree's root:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_pubsub.c -lzmq -lpthread
 * which checks the test's expectations against libzmq. An argument runs only the
 * cases whose name contains it. Exits 77 (ctest SKIP_RETURN_CODE) when everything
 * else passed but /usr/bin/python3 cannot import zmq, so the interop cases could not
 * run. ZINC_PUBSUB_PEER overrides the path of pubsub_peer.py. Cases named "known gap"
 * run only when named or with ZINC_PUBSUB_KNOWN_GAPS set.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"
#include "zmq.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PYTHON    "/usr/bin/python3"
#define SKIP_CODE 77
#define WAIT_MS   (10000 * ZINC_TEST_SLOWDOWN) /* socket timeouts, notes, peer lines */
#define PROBE_MS  10                           /* between two probes of sync_subs */
#define MAX_SOCKS 128

enum tr { INPROC, IPC, TCP };

/* One spawned pubsub_peer.py. */
struct peer {
	pid_t pid;
	int fd;    /* its stdout */
	int in_fd; /* its stdin */
	size_t len;
	char buf[1024];
	char endpoint[512];
};

/* What a case holds; case_reset() releases all of it, after a failed case too. */
static struct {
	void *ctx;
	void *socks[MAX_SOCKS];
	int nsocks;
	struct peer peer;
} cs;

static char peer_py[4096];
static char **child_env;
static bool have_python;
static bool interop_skipped;

/* ------------------------------------------------------------------------ */
/* Sockets and messages                                                      */
/* ------------------------------------------------------------------------ */

static void
set_int(void *s, int option, int v)
{
	CHECK_OK(zmq_setsockopt(s, option, &v, sizeof v));
}

static void *
ctx_get(void)
{
	if (!cs.ctx)
		CHECK((cs.ctx = zmq_ctx_new()) != NULL);
	return cs.ctx;
}

/* sock: a socket of type with linger 0 and WAIT_MS timeouts, closed by case_reset. */
static void *
sock(int type)
{
	CHECK(cs.nsocks < MAX_SOCKS);
	void *s = zmq_socket(ctx_get(), type);
	if (!s)
		TEST_FAIL("zmq_socket(%d): %s", type, strerror(errno));
	cs.socks[cs.nsocks++] = s;
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	return s;
}

static void
sock_close(void *s)
{
	for (int i = 0; i < cs.nsocks; i++)
		if (cs.socks[i] == s) {
			cs.socks[i] = cs.socks[--cs.nsocks];
			break;
		}
	CHECK_OK(zmq_close(s));
}

static void
subscribe(void *s, const char *topic)
{
	CHECK_OK(zmq_setsockopt(s, ZMQ_SUBSCRIBE, topic, strlen(topic)));
}

static void
unsubscribe(void *s, const char *topic)
{
	CHECK_OK(zmq_setsockopt(s, ZMQ_UNSUBSCRIBE, topic, strlen(topic)));
}

/* bind_any: binds s to a fresh endpoint of transport t; ep gets the one to connect to. */
static void
bind_any(void *s, enum tr t, char *ep, size_t cap)
{
	static int seq;
	char want[128];
	switch (t) {
	case INPROC: snprintf(want, sizeof want, "inproc://pubsub-%d", ++seq); break;
	case IPC:
		snprintf(want, sizeof want, "ipc://@zinc-pubsub-%d-%d", (int)getpid(),
		         ++seq);
		break;
	case TCP: snprintf(want, sizeof want, "tcp://127.0.0.1:*"); break;
	}
	if (zmq_bind(s, want) != 0)
		TEST_FAIL("zmq_bind(%s): %s", want, strerror(errno));
	size_t len = cap;
	CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len));
}

/* join: binder binds, connecter connects to it. */
static void
join(void *binder, void *connecter, enum tr t)
{
	char ep[256];
	bind_any(binder, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(connecter, ep));
}

static void
send_mem(void *s, const void *data, size_t len, int flags)
{
	int n = zmq_send(s, data, len, flags);
	if (n != (int)len)
		TEST_FAIL("zmq_send(%.*s): %s", (int)len, (const char *)data,
		          strerror(errno));
}

#define SEND(s, lit)     send_mem((s), (lit), sizeof(lit) - 1, 0)
#define SENDMORE(s, lit) send_mem((s), (lit), sizeof(lit) - 1, ZMQ_SNDMORE)

static void
send_str(void *s, const char *str)
{
	send_mem(s, str, strlen(str), 0);
}

/* recv_buf: the next part into buf (NUL-terminated); its length. Fails on timeout. */
static int
recv_at(void *s, char *buf, size_t cap, int *more, int line)
{
	int n = zmq_recv(s, buf, cap - 1, 0);
	if (n < 0)
		TEST_FAIL("line %d: zmq_recv: %s", line, strerror(errno));
	CHECK(n < (int)cap);
	buf[n] = '\0';
	int m = 0;
	size_t len = sizeof m;
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &m, &len));
	if (more)
		*more = m;
	return n;
}

#define recv_buf(s, buf, cap, more) recv_at((s), (buf), (cap), (more), __LINE__)

/* expect_at: the next part is exactly want, with the MORE flag as said (line: the
 * caller's, for the failure message). */
static void
expect_at(void *s, const void *want, size_t len, int more, int line)
{
	char buf[512];
	int m;
	int n = recv_at(s, buf, sizeof buf, &m, line);
	if ((size_t)n != len || memcmp(buf, want, len) != 0)
		TEST_FAIL(
		        "line %d: received \"%s\" (%d bytes), want \"%.*s\" (%zu bytes)",
		        line, buf, n, (int)len, (const char *)want, len);
	if (m != more)
		TEST_FAIL("line %d: \"%s\": more %d, want %d", line, buf, m, more);
}

#define expect_mem(s, want, len, more) expect_at((s), (want), (len), (more), __LINE__)
#define EXPECT(s, lit)                 expect_mem((s), (lit), sizeof(lit) - 1, 0)
#define EXPECT_MORE(s, lit)            expect_mem((s), (lit), sizeof(lit) - 1, 1)

/* expect_none: nothing is waiting on s now. */
static void
expect_none(void *s)
{
	char buf[64];
	int n = zmq_recv(s, buf, sizeof buf - 1, ZMQ_DONTWAIT);
	if (n >= 0)
		TEST_FAIL("unexpected message \"%.*s\"", n < 63 ? n : 63, buf);
	CHECK_EQ(errno, EAGAIN);
}

/* pump: lets s run its commands (zmq_poll asks it for ZMQ_EVENTS). */
static void
pump(void *s)
{
	zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
	CHECK(zmq_poll(&it, 1, 0) >= 0);
}

/* expect_pumping: like EXPECT on s, polling other meanwhile (see pump). */
static void
expect_pumping(void *s, void *other, const void *want, size_t len)
{
	long long deadline = test_now_ms() + WAIT_MS;
	for (;;) {
		zmq_pollitem_t items[] = {{.socket = s, .events = ZMQ_POLLIN},
		                          {.socket = other, .events = ZMQ_POLLIN}};
		CHECK(zmq_poll(items, 2, PROBE_MS) >= 0);
		if (items[0].revents & ZMQ_POLLIN)
			break;
		if (test_now_ms() > deadline)
			TEST_FAIL("nothing to receive within %d ms", WAIT_MS);
	}
	expect_mem(s, want, len, 0);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * sync_subs: the slow joiner. Publishes "<topic>#probe" for each subscriber still
 * without one every PROBE_MS until each has received its own (bounded by WAIT_MS),
 * reading every subscriber meanwhile,
 * then "<topic>#sync" for each, longest topic first (so no subscriber gets another's
 * sync after its own), and reads every subscriber up to its own sync. Afterwards
 * nothing of this is left to read. Any other message on the way fails the case.
 */
static void
sync_subs(void *pub, int n, void *const *subs, const char *const *topics)
{
	bool got[MAX_SOCKS] = {false};
	char buf[512];
	int left = n;
	long long deadline = test_now_ms() + WAIT_MS;
	CHECK(n <= MAX_SOCKS);
	while (left > 0) {
		if (test_now_ms() > deadline)
			TEST_FAIL("no probe reached %d subscriber(s) within %d ms", left,
			          WAIT_MS);
		for (int i = 0; i < n; i++) {
			if (got[i])
				continue;
			snprintf(buf, sizeof buf, "%s#probe", topics[i]);
			(void)zmq_send(pub, buf, strlen(buf),
			               ZMQ_DONTWAIT); /* NODROP: EAGAIN */
		}
		zmq_pollitem_t items[MAX_SOCKS];
		for (int i = 0; i < n; i++)
			items[i] =
			        (zmq_pollitem_t){.socket = subs[i], .events = ZMQ_POLLIN};
		CHECK(zmq_poll(items, n, PROBE_MS) >= 0);
		for (int i = 0; i < n; i++) {
			/* Drain those already synced too: on a slow machine the probes
			 * for the others would fill their pipes, and the PUB would then
			 * drop their "#sync" below. */
			if (!(items[i].revents & ZMQ_POLLIN))
				continue;
			int k;
			while ((k = zmq_recv(subs[i], buf, sizeof buf - 1,
			                     ZMQ_DONTWAIT)) >= 0) {
				buf[k < (int)sizeof buf - 1 ? k : (int)sizeof buf - 1] =
				        '\0';
				if (!ends_with(buf, "#probe"))
					TEST_FAIL("subscriber %d: unexpected \"%s\" "
					          "before the sync",
					          i, buf);
				char own[512];
				snprintf(own, sizeof own, "%s#probe", topics[i]);
				if (!got[i] && strcmp(buf, own) == 0) {
					got[i] = true;
					left--;
				}
			}
		}
	}
	/* The syncs, longest topic first, once per distinct topic. */
	bool sent[MAX_SOCKS] = {false};
	for (;;) {
		int best = -1;
		for (int i = 0; i < n; i++)
			if (!sent[i] &&
			    (best < 0 || strlen(topics[i]) > strlen(topics[best])))
				best = i;
		if (best < 0)
			break;
		for (int i = 0; i < n; i++)
			sent[i] = sent[i] || strcmp(topics[i], topics[best]) == 0;
		snprintf(buf, sizeof buf, "%s#sync", topics[best]);
		send_str(pub, buf);
	}
	for (int i = 0; i < n; i++) {
		char own[512];
		snprintf(own, sizeof own, "%s#sync", topics[i]);
		for (;;) {
			recv_buf(subs[i], buf, sizeof buf, NULL);
			if (strcmp(buf, own) == 0)
				break;
			if (!ends_with(buf, "#probe") && !ends_with(buf, "#sync"))
				TEST_FAIL("subscriber %d: unexpected \"%s\" in the sync",
				          i, buf);
		}
	}
}

static void
sync_one(void *pub, void *sub, const char *topic)
{
	sync_subs(pub, 1, &sub, &topic);
}

/* ------------------------------------------------------------------------ */
/* The libzmq peer                                                           */
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
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) != 0 &&
		    strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	return env;
}

/* spawn: starts argv with child_env; with io, its stdin and stdout are pipes whose
 * other ends go to io[0] (write) and io[1] (read), else /dev/null. The pid or -1. */
static pid_t
spawn(char *const argv[], int io[2])
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	if (io && pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (io && pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
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
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	if (io) {
		close(in[0]);
		close(out[1]);
		if (rc != 0) {
			close(in[1]);
			close(out[0]);
		} else {
			io[0] = in[1];
			io[1] = out[0];
		}
	}
	return rc != 0 ? -1 : pid;
}

/* reap: waits up to timeout_ms for pid, then SIGKILLs it; the wait status or -1. */
static int
reap(pid_t pid, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if ((r < 0 && errno != EINTR) || test_now_ms() >= deadline)
			break;
		struct timespec ts = {0,
		                      2 * 1000 * 1000}; /* polling a child, not a sync */
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* peer_line: the peer's next stdout line. 1, 0 at EOF, -1 after timeout_ms. */
static int
peer_line(struct peer *p, int timeout_ms, char *line, size_t cap)
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
		if (p->fd < 0)
			return 0;
		long long left = deadline - test_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (p->len == sizeof p->buf)
			p->len = 0;
		ssize_t got = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(p->fd);
			p->fd = -1;
			continue;
		}
		p->len += (size_t)got;
	}
}

static void
peer_kill(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (p->fd >= 0)
		close(p->fd);
	if (p->in_fd >= 0)
		close(p->in_fd);
	memset(p, 0, sizeof *p);
	p->fd = p->in_fd = -1;
}

/* peer_start: runs pubsub_peer.py --bind|--connect ROLE ENDPOINT, waits for READY. */
static struct peer *
peer_start(bool bind, const char *role, const char *endpoint)
{
	struct peer *p = &cs.peer;
	CHECK(p->pid == 0);
	char *argv[] = {PYTHON,       peer_py,          bind ? "--bind" : "--connect",
	                (char *)role, (char *)endpoint, NULL};
	int io[2];
	p->fd = p->in_fd = -1;
	if ((p->pid = spawn(argv, io)) < 0) {
		p->pid = 0;
		TEST_FAIL("cannot spawn %s: %s", PYTHON, strerror(errno));
	}
	p->in_fd = io[0];
	p->fd = io[1];
	char line[512];
	if (peer_line(p, WAIT_MS, line, sizeof line) <= 0 ||
	    strncmp(line, "READY ", 6) != 0)
		TEST_FAIL("pubsub_peer.py %s %s: no READY", role, endpoint);
	snprintf(p->endpoint, sizeof p->endpoint, "%s", line + 6);
	return p;
}

static void
peer_say(struct peer *p, const char *line)
{
	CHECK(write(p->in_fd, line, strlen(line)) == (ssize_t)strlen(line));
}

static void
peer_expect_line(struct peer *p, const char *want)
{
	char line[512];
	int r = peer_line(p, WAIT_MS, line, sizeof line);
	if (r <= 0)
		TEST_FAIL("peer: %s, want \"%s\"", r < 0 ? "no line in time" : "EOF",
		          want);
	if (strcmp(line, want) != 0)
		TEST_FAIL("peer said \"%s\", want \"%s\"", line, want);
}

/* peer_expect_line_pumping: peer_expect_line, polling s meanwhile (see pump). */
static void
peer_expect_line_pumping(struct peer *p, const char *want, void *s)
{
	char line[512];
	long long deadline = test_now_ms() + WAIT_MS;
	int r;
	while ((r = peer_line(p, PROBE_MS, line, sizeof line)) < 0 &&
	       test_now_ms() < deadline)
		pump(s);
	if (r <= 0)
		TEST_FAIL("peer: %s, want \"%s\"", r < 0 ? "no line in time" : "EOF",
		          want);
	if (strcmp(line, want) != 0)
		TEST_FAIL("peer said \"%s\", want \"%s\"", line, want);
}

/* peer_finish: closes the peer's stdin, waits for it; fails unless it exits 0. */
static void
peer_finish(struct peer *p)
{
	close(p->in_fd);
	p->in_fd = -1;
	char line[512];
	while (peer_line(p, WAIT_MS, line, sizeof line) > 0)
		;
	int status = reap(p->pid, WAIT_MS);
	p->pid = 0;
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		TEST_FAIL("pubsub_peer.py failed (status %d)", status);
}

/* interop_ready: false (the case is skipped) when python3-zmq is missing. */
static bool
interop_ready(void)
{
	if (!have_python) {
		interop_skipped = true;
		printf("  skipped: %s cannot import zmq\n", PYTHON);
	}
	return have_python;
}

/* ------------------------------------------------------------------------ */
/* Cases without a transport                                                 */
/* ------------------------------------------------------------------------ */

static void
test_directions_and_events(void)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	char buf[8];
	CHECK_ERR(zmq_recv(pub, buf, sizeof buf, ZMQ_DONTWAIT), ENOTSUP);
	CHECK_ERR(zmq_send(sub, "x", 1, ZMQ_DONTWAIT), ENOTSUP);
	int ev;
	size_t len = sizeof ev;
	CHECK_OK(zmq_getsockopt(pub, ZMQ_EVENTS, &ev, &len));
	CHECK_EQ(ev, ZMQ_POLLOUT); /* a publisher can always send */
	CHECK_OK(zmq_getsockopt(sub, ZMQ_EVENTS, &ev, &len));
	CHECK_EQ(ev, 0);
	CHECK_OK(zmq_send(pub, "nobody", 6, 0)); /* no subscriber: dropped at once */
	void *xpub = sock(ZMQ_XPUB), *xsub = sock(ZMQ_XSUB);
	CHECK_OK(zmq_getsockopt(xsub, ZMQ_EVENTS, &ev, &len));
	CHECK_EQ(ev, ZMQ_POLLOUT);
	CHECK_OK(zmq_getsockopt(xpub, ZMQ_EVENTS, &ev, &len));
	CHECK_EQ(ev, ZMQ_POLLOUT);
	CHECK_ERR(zmq_recv(xpub, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN);
}

static void
test_subscribe_option_belongs_to_sub(void)
{
	void *pub = sock(ZMQ_PUB), *xpub = sock(ZMQ_XPUB), *xsub = sock(ZMQ_XSUB);
	void *sub = sock(ZMQ_SUB);
	CHECK_ERR(zmq_setsockopt(pub, ZMQ_SUBSCRIBE, "A", 1), EINVAL);
	CHECK_ERR(zmq_setsockopt(xpub, ZMQ_SUBSCRIBE, "A", 1), EINVAL); /* not manual */
	CHECK_ERR(zmq_setsockopt(xsub, ZMQ_SUBSCRIBE, "A", 1), EINVAL);
	CHECK_OK(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, NULL, 0));
	CHECK_OK(zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "never", 5)); /* not an error */
	CHECK_OK(zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, NULL, 0));
	set_int(pub, ZMQ_XPUB_NODROP, 1); /* PUB takes the XPUB options, as libzmq */
	set_int(pub, ZMQ_XPUB_VERBOSE, 1);
}

static void
test_null_subscription_receives_everything(void)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	CHECK_OK(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, NULL, 0));
	join(pub, sub, INPROC);
	sync_one(pub, sub, "");
	SEND(pub, "anything");
	EXPECT(sub, "anything");
}

static void
test_xpub_nodrop_says_eagain(void)
{
	void *xpub = sock(ZMQ_XPUB), *sub = sock(ZMQ_SUB);
	set_int(xpub, ZMQ_XPUB_NODROP, 1);
	set_int(xpub, ZMQ_SNDHWM, 5);
	set_int(sub, ZMQ_RCVHWM, 5);
	subscribe(sub, "");
	join(xpub, sub, INPROC);
	sync_one(xpub, sub, "");
	int sent = 0;
	while (zmq_send(xpub, "m", 1, ZMQ_DONTWAIT) == 1) {
		sent++;
		CHECK(sent < 1000);
	}
	CHECK_EQ(errno, EAGAIN);
	CHECK(sent >= 5);
	set_int(xpub, ZMQ_SNDTIMEO, 50);
	CHECK_ERR(zmq_send(xpub, "m", 1, 0), EAGAIN); /* blocks, then gives up */
	for (int i = 0; i < sent; i++)
		EXPECT(sub, "m");
	expect_none(sub);
	set_int(xpub, ZMQ_SNDTIMEO, WAIT_MS);
	SEND(xpub, "again"); /* room again once the subscriber has read */
	EXPECT(sub, "again");
}

static void
test_conflate_keeps_the_newest(void)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	set_int(sub, ZMQ_CONFLATE, 1);
	subscribe(sub, "");
	join(pub, sub, INPROC);
	sync_one(pub, sub, "");
	char buf[16];
	for (int i = 1; i <= 100; i++) {
		snprintf(buf, sizeof buf, "%d", i);
		send_str(pub, buf);
	}
	EXPECT(sub, "100");
	expect_none(sub);
}

static void
test_joining_mid_message_gets_whole_messages(void)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB), *late = sock(ZMQ_SUB);
	char ep[256];
	bind_any(pub, INPROC, ep, sizeof ep);
	subscribe(sub, "");
	CHECK_OK(zmq_connect(sub, ep));
	sync_one(pub, sub, "");
	subscribe(late, "");
	SENDMORE(pub, "one");
	/* The publisher takes the new pipe (and its subscription) in at its next call,
	 * in the middle of this message: the rest of it is not the newcomer's. */
	CHECK_OK(zmq_connect(late, ep));
	SENDMORE(pub, "two");
	SEND(pub, "three");
	EXPECT_MORE(sub, "one");
	EXPECT_MORE(sub, "two");
	EXPECT(sub, "three");
	sync_one(pub, late, ""); /* fails on a stray "two" or "three" */
	SEND(pub, "next");
	EXPECT(late, "next");
}

static void
test_many_subscribers(void)
{
	enum { N = 48, ALL = 8 };
	void *pub = sock(ZMQ_PUB);
	void *subs[N + ALL];
	char topics[N + ALL][16];
	const char *tp[N + ALL];
	char ep[256];
	bind_any(pub, INPROC, ep, sizeof ep);
	for (int i = 0; i < N + ALL; i++) {
		subs[i] = sock(ZMQ_SUB);
		snprintf(topics[i], sizeof topics[i], i < N ? "t%02d" : "", i);
		tp[i] = topics[i];
		subscribe(subs[i], tp[i]);
		CHECK_OK(zmq_connect(subs[i], ep));
	}
	sync_subs(pub, N + ALL, subs, tp);
	for (int round = 0; round < 2; round++) {
		int live = round ? N / 2 : N; /* round 1: every odd subscriber gone */
		for (int i = 0; i < N; i++)
			send_str(pub, topics[i]);
		for (int i = 0; i < N; i++)
			if (!round || i % 2 == 0)
				expect_mem(subs[i], topics[i], strlen(topics[i]), 0);
		for (int k = N; k < N + ALL; k++)
			for (int i = 0; i < N; i++)
				expect_mem(subs[k], topics[i], strlen(topics[i]), 0);
		for (int i = 0; i < N + ALL; i++)
			if (!round || i >= N || i % 2 == 0)
				expect_none(subs[i]);
		(void)live;
		if (round == 0)
			for (int i = 1; i < N; i += 2)
				sock_close(subs[i]);
	}
}

/* The publisher goes away and a new one binds the same tcp endpoint: the subscriber
 * reconnects, and its subscriptions must reach the new publisher (the session's
 * CMD_HICCUP makes the SUB resend them into the pipe it kept across the reconnect). */
static void
test_resubscribe_after_publisher_restart(void)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	char ep[256];
	bind_any(pub, TCP, ep, sizeof ep);
	subscribe(sub, "A");
	CHECK_OK(zmq_connect(sub, ep));
	sync_one(pub, sub, "A");
	sock_close(pub);
	pub = sock(ZMQ_PUB);
	long long deadline = test_now_ms() + WAIT_MS;
	while (zmq_bind(pub, ep) != 0) { /* the old listener may still be closing */
		CHECK(errno == EADDRINUSE && test_now_ms() < deadline);
		zmq_pollitem_t none = {.fd = -1};
		zmq_poll(&none, 0, PROBE_MS);
	}
	sync_one(pub, sub, "A");
	SEND(pub, "A-again");
	EXPECT(sub, "A-again");
}

/* ------------------------------------------------------------------------ */
/* Cases on each transport                                                   */
/* ------------------------------------------------------------------------ */

static void
case_prefix_filtering(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	subscribe(sub, "A");
	join(pub, sub, t);
	sync_one(pub, sub, "A");
	SEND(pub, "A1");
	SEND(pub, "B1");
	SEND(pub, "AB");
	SEND(pub, "");
	SEND(pub, "a");
	SEND(pub, "A-end");
	EXPECT(sub, "A1");
	EXPECT(sub, "AB");
	EXPECT(sub, "A-end");
	expect_none(sub);
}

static void
case_empty_subscription_gets_all(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	subscribe(sub, "");
	join(sub, pub, t); /* the subscriber binds */
	sync_one(pub, sub, "");
	SEND(pub, "x");
	SEND(pub, "");
	SEND(pub, "\0\1binary");
	EXPECT(sub, "x");
	EXPECT(sub, "");
	EXPECT(sub, "\0\1binary");
}

static void
case_unsubscribe_stops_delivery(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	subscribe(sub, "A");
	subscribe(sub, "B");
	join(pub, sub, t);
	sync_one(pub, sub, "B"); /* A went first on the same pipe */
	unsubscribe(sub, "A");
	subscribe(sub, "C");
	sync_one(pub, sub, "C"); /* so the cancel of A is in effect too */
	SEND(pub, "A1");
	SEND(pub, "B1");
	SEND(pub, "C-end");
	EXPECT(sub, "B1");
	EXPECT(sub, "C-end");
	expect_none(sub);
}

static void
case_duplicates_are_counted(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	subscribe(sub, "A");
	subscribe(sub, "A");
	join(pub, sub, t);
	sync_one(pub, sub, "A");
	unsubscribe(sub, "A"); /* one of two */
	subscribe(sub, "Z");
	sync_one(pub, sub, "Z");
	SEND(pub, "A1");
	SEND(pub, "Z-end");
	EXPECT(sub, "A1");
	EXPECT(sub, "Z-end");
	unsubscribe(sub, "A"); /* the last one */
	subscribe(sub, "Y");
	sync_one(pub, sub, "Y");
	SEND(pub, "A2");
	SEND(pub, "Y-end");
	EXPECT(sub, "Y-end");
	expect_none(sub);
}

static void
case_each_subscriber_gets_its_matches(enum tr t)
{
	void *pub = sock(ZMQ_PUB);
	const char *topics[] = {"A", "B", "", "AB"};
	void *subs[4];
	char ep[256];
	bind_any(pub, t, ep, sizeof ep);
	for (int i = 0; i < 4; i++) {
		subs[i] = sock(ZMQ_SUB);
		subscribe(subs[i], topics[i]);
		CHECK_OK(zmq_connect(subs[i], ep));
	}
	sync_subs(pub, 4, subs, topics);
	const char *script[] = {"A1",     "B1",    "C1",    "AB1",
	                        "AB-end", "A-end", "B-end", "end"};
	for (int i = 0; i < 8; i++)
		send_str(pub, script[i]);
	EXPECT(subs[0], "A1");
	EXPECT(subs[0], "AB1");
	EXPECT(subs[0], "AB-end");
	EXPECT(subs[0], "A-end");
	EXPECT(subs[1], "B1");
	EXPECT(subs[1], "B-end");
	for (int i = 0; i < 8; i++)
		expect_mem(subs[2], script[i], strlen(script[i]), 0);
	EXPECT(subs[3], "AB1");
	EXPECT(subs[3], "AB-end");
	for (int i = 0; i < 4; i++)
		expect_none(subs[i]);
}

static void
case_multipart_arrives_whole(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB), *other = sock(ZMQ_SUB);
	char ep[256];
	bind_any(pub, t, ep, sizeof ep);
	subscribe(sub, "M");
	subscribe(other, "N");
	CHECK_OK(zmq_connect(sub, ep));
	CHECK_OK(zmq_connect(other, ep));
	void *subs[] = {sub, other};
	const char *topics[] = {"M", "N"};
	sync_subs(pub, 2, subs, topics);
	SENDMORE(pub, "M");
	SENDMORE(pub, "p2");
	SEND(pub, "p3");
	SENDMORE(pub, "N");
	SEND(pub, "Mx"); /* a later part never counts as a topic */
	SEND(pub, "Mz");
	SENDMORE(pub, "M");
	SENDMORE(pub, "");
	SEND(pub, "last");
	EXPECT_MORE(sub, "M");
	EXPECT_MORE(sub, "p2");
	EXPECT(sub, "p3");
	EXPECT(sub, "Mz");
	EXPECT_MORE(sub, "M");
	EXPECT_MORE(sub, "");
	EXPECT(sub, "last");
	expect_none(sub);
	EXPECT_MORE(other, "N");
	EXPECT(other, "Mx");
	expect_none(other);
}

static void
case_pub_filters_on_its_side(enum tr t)
{
	/* An XSUB does not filter: what it gets is what the PUB chose to send. */
	void *pub = sock(ZMQ_PUB), *xsub = sock(ZMQ_XSUB);
	join(pub, xsub, t);
	SEND(xsub, "\1A");
	sync_one(pub, xsub, "A");
	SEND(pub, "A1");
	SEND(pub, "B1");
	SEND(pub, "A-end");
	EXPECT(xsub, "A1");
	EXPECT(xsub, "A-end");
	SEND(xsub, "\1A"); /* counted by the XSUB: one cancel does not end it */
	SEND(xsub, "\0A");
	SEND(xsub, "\1B");
	sync_one(pub, xsub, "B");
	SEND(pub, "A2");
	SEND(pub, "B-end");
	EXPECT(xsub, "A2");
	EXPECT(xsub, "B-end");
	SEND(xsub, "\0A");
	SEND(xsub, "\1C");
	sync_one(pub, xsub, "C");
	SEND(pub, "A3");
	SEND(pub, "C-end");
	EXPECT(xsub, "C-end");
	expect_none(xsub);
}

static void
case_late_subscriber(enum tr t)
{
	void *pub = sock(ZMQ_PUB);
	char ep[256];
	bind_any(pub, t, ep, sizeof ep);
	for (int i = 0; i < 100; i++)
		SEND(pub, "A-early"); /* nobody listens yet: gone */
	void *sub = sock(ZMQ_SUB);
	subscribe(sub, "A");
	CHECK_OK(zmq_connect(sub, ep));
	sync_one(pub, sub, "A"); /* fails on any "A-early" */
	SEND(pub, "A-now");
	EXPECT(sub, "A-now");
}

/* busy_us: keeps this thread on its CPU for us microseconds, as an application that
 * works between two calls does (no sleep: sleeping would hand the CPU over). */
static void
busy_us(long us)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* A subscription added on a live connection reaches a publisher of this process by
 * the time setsockopt returns: a PUB that publishes right after, with some work in
 * between (what pyzmq's test_log does), loses nothing. The work keeps this thread on
 * its CPU, which is when the I/O thread carrying the subscription used to starve
 * until the next blocking call: most of these were lost, and libzmq loses most of
 * them still (zinc only: zmq_has("shm") tells it).
 * "Reaches" means the subscription waits in the PUB's pipe; the PUB takes it when it
 * runs its commands: when asked for its state (ZMQ_EVENTS, zmq_poll: the even rounds)
 * or on a send a millisecond or so after the last send that ran them (3 M TSC
 * cycles, as libzmq: 1.1 ms at 2.65 GHz; the odd rounds, as pyzmq's first publish). A
 * send sooner than that does not look, in zinc as in libzmq (socket_io.c), so a PUB that
 * publishes within a millisecond of its last send may still drop the message. */
static void
case_subscribe_then_publish_at_once(enum tr t)
{
	if (!zmq_has("shm")) {
		printf("     note: skipped, libzmq has this race (the slow joiner)\n");
		return;
	}
	/* The hand-over is bounded in time (20 ms); valgrind runs one thread at a time,
	 * fifty times slower, so there it only measures valgrind's scheduler. */
	if (getenv("ZINC_TEST_UNDER_VALGRIND")) {
		printf("     note: skipped under valgrind (a timed hand-over)\n");
		return;
	}
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	subscribe(sub, "sync");
	join(pub, sub, t);
	sync_one(pub, sub, "sync");
	/* The hand-over is best effort (sub_handoff): the PUB's side of the connection
	 * must still be read by an I/O thread within the 200 us or 3 ms below, and a
	 * loaded machine (CI: 2 cores, a fuzzer, ctest -j2, the sanitizers) can hold
	 * that thread off its CPU longer. A lost round is counted, not fatal; most
	 * lost is what this case exists to catch (libzmq loses most of them). */
	int lost = 0;
	for (int i = 0; i < 20; i++) {
		char topic[32], buf[64];
		snprintf(topic, sizeof topic, "topic-%d", i);
		subscribe(sub, topic);
		if (i % 2 == 0) {
			busy_us(200);
			int ev;
			size_t ev_len = sizeof ev;
			CHECK_OK(zmq_getsockopt(pub, ZMQ_EVENTS, &ev, &ev_len));
		} else {
			busy_us(3000); /* past the period at any clock over 1 GHz */
		}
		send_str(pub, topic);
		for (;;) {
			zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
			CHECK(zmq_poll(&item, 1, 1000) >= 0);
			if (!(item.revents & ZMQ_POLLIN)) {
				printf("     note: round %d: \"%s\" published right "
				       "after "
				       "subscribing was lost\n",
				       i, topic);
				lost++;
				break;
			}
			recv_buf(sub, buf, sizeof buf, NULL);
			if (strcmp(buf, topic) == 0)
				break;
			/* Only a publication of an earlier round, late, may come first.
			 */
			int j = -1;
			CHECK(sscanf(buf, "topic-%d", &j) == 1 && j >= 0 && j < i);
		}
	}
	if (lost > 4)
		TEST_FAIL("%d of 20 publications right after subscribing were lost",
		          lost);
}

static void
case_pub_drops_at_hwm(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	set_int(pub, ZMQ_SNDHWM, 10);
	set_int(sub, ZMQ_RCVHWM, 10);
	subscribe(sub, "");
	join(pub, sub, t);
	sync_one(pub, sub, "");
	/* Far more than the pipes and the kernel's buffers hold; the subscriber reads
	 * nothing meanwhile. A PUB never blocks: every send succeeds with ZMQ_DONTWAIT
	 * (a send that would wait says EAGAIN instead; timing the loop, as before,
	 * failed whenever valgrind or a busy machine made it slow). */
	enum { N = 20000, SIZE = 1000 };
	static char data[SIZE];
	for (int i = 0; i < N; i++)
		CHECK_EQ(zmq_send(pub, data, SIZE, ZMQ_DONTWAIT), SIZE);
	/* What was queued before the pipes filled arrives: the first within the usual
	 * bound (under valgrind the I/O threads may not have run yet), the rest until
	 * half a second passes without any. */
	int got = 0;
	static char buf[SIZE];
	if (zmq_recv(sub, buf, sizeof buf, 0) == SIZE)
		got++;
	set_int(sub, ZMQ_RCVTIMEO, 500);
	while (zmq_recv(sub, buf, sizeof buf, 0) == SIZE)
		got++;
	CHECK_EQ(errno, EAGAIN);
	CHECK(got > 0);
	CHECK(got < N);
	set_int(sub, ZMQ_RCVTIMEO, WAIT_MS);
	sync_one(pub, sub, ""); /* and it delivers again */
}

static void
case_xpub_sees_subscriptions(enum tr t)
{
	void *xpub = sock(ZMQ_XPUB), *s1 = sock(ZMQ_SUB), *s2 = sock(ZMQ_SUB);
	char ep[256];
	bind_any(xpub, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(s1, ep));
	CHECK_OK(zmq_connect(s2, ep));
	/* Not verbose: the first subscriber of a topic and the last one leaving. A
	 * subscription new to the socket, sent behind, proves nothing came before. */
	subscribe(s1, "A");
	EXPECT(xpub, "\1A");
	subscribe(s2, "A");
	subscribe(s2, "x2");
	EXPECT(xpub, "\1x2");
	unsubscribe(s2, "A");
	subscribe(s2, "y2");
	EXPECT(xpub, "\1y2");
	unsubscribe(s1, "A");
	EXPECT(xpub, "\0A");
	/* Verbose: every subscription, still only the last unsubscription. */
	set_int(xpub, ZMQ_XPUB_VERBOSE, 1);
	subscribe(s1, "B");
	EXPECT(xpub, "\1B");
	subscribe(s2, "B");
	EXPECT(xpub, "\1B");
	unsubscribe(s2, "B");
	subscribe(s2, "z2");
	EXPECT(xpub, "\1z2");
	unsubscribe(s1, "B");
	EXPECT(xpub, "\0B");
	/* Verboser: every unsubscription too. */
	set_int(xpub, ZMQ_XPUB_VERBOSER, 1);
	subscribe(s1, "C");
	EXPECT(xpub, "\1C");
	subscribe(s2, "C");
	EXPECT(xpub, "\1C");
	unsubscribe(s2, "C");
	EXPECT(xpub, "\0C");
	unsubscribe(s1, "C");
	EXPECT(xpub, "\0C");
	expect_none(xpub);
}

static void
case_xpub_sees_a_subscriber_go(enum tr t)
{
	void *xpub = sock(ZMQ_XPUB), *s1 = sock(ZMQ_SUB), *s2 = sock(ZMQ_SUB);
	char ep[256];
	bind_any(xpub, t, ep, sizeof ep);
	subscribe(s1, "T");
	subscribe(s1, "U");
	CHECK_OK(zmq_connect(s1, ep));
	EXPECT(xpub, "\1T");
	EXPECT(xpub, "\1U");
	subscribe(s2, "T");
	subscribe(s2, "V");
	CHECK_OK(zmq_connect(s2, ep));
	EXPECT(xpub, "\1V");
	sock_close(s1);
	EXPECT(xpub, "\0U"); /* T still has s2 */
	sock_close(s2);
	EXPECT(xpub, "\0T");
	EXPECT(xpub, "\0V");
	expect_none(xpub);
}

static void
case_welcome_message(enum tr t)
{
	void *xpub = sock(ZMQ_XPUB);
	CHECK_OK(zmq_setsockopt(xpub, ZMQ_XPUB_WELCOME_MSG, "W-hello", 7));
	set_int(xpub, ZMQ_XPUB_VERBOSE, 1);
	char ep[256];
	bind_any(xpub, t, ep, sizeof ep);
	for (int i = 0; i < 2; i++) {
		void *sub = sock(ZMQ_SUB);
		subscribe(sub, "W");
		CHECK_OK(zmq_connect(sub, ep));
		/* The XPUB attaches a new pipe (and welcomes it) when it next runs its
		 * commands, in libzmq as here: receive the subscription first. */
		EXPECT(xpub, "\1W");
		EXPECT(sub, "W-hello");
	}
}

static void
case_xpub_manual(enum tr t)
{
	void *xpub = sock(ZMQ_XPUB), *xsub = sock(ZMQ_XSUB);
	set_int(xpub, ZMQ_XPUB_MANUAL, 1);
	join(xpub, xsub, t);
	SEND(xsub, "\1A");
	EXPECT(xpub, "\1A"); /* the application decides what A means */
	CHECK_OK(zmq_setsockopt(xpub, ZMQ_SUBSCRIBE, "B", 1));
	SEND(xpub, "A1");
	SEND(xpub, "B1");
	SEND(xpub, "B-end");
	EXPECT(xsub, "B1");
	EXPECT(xsub, "B-end");
	CHECK_OK(zmq_setsockopt(xpub, ZMQ_UNSUBSCRIBE, "B", 1));
	CHECK_OK(zmq_setsockopt(xpub, ZMQ_SUBSCRIBE, "C", 1));
	SEND(xpub, "B2");
	SEND(xpub, "C-end");
	EXPECT(xsub, "C-end");
	SEND(xsub, "\1A"); /* manual: every (un)subscription is shown */
	EXPECT(xpub, "\1A");
	SEND(xsub, "\0A"); /* the XSUB counts: its first cancel of two stays home */
	SEND(xsub, "\0A");
	EXPECT(xpub, "\0A");
	SEND(xsub, "\1Q");
	EXPECT(xpub, "\1Q");
	sock_close(xsub);
	EXPECT(xpub, "\0Q"); /* what the gone pipe still asked for */
	expect_none(xpub);
}

static void
case_invert_matching(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	set_int(pub, ZMQ_INVERT_MATCHING, 1);
	set_int(sub, ZMQ_INVERT_MATCHING, 1);
	subscribe(sub, "A");
	join(pub, sub, t);
	sync_one(pub, sub, "B"); /* B is what an inverted "A" lets through */
	SEND(pub, "A1");
	SEND(pub, "B1");
	SEND(pub, "AB");
	SEND(pub, "C1");
	SEND(pub, "");
	SEND(pub, "B-end");
	EXPECT(sub, "B1");
	EXPECT(sub, "C1");
	EXPECT(sub, "");
	EXPECT(sub, "B-end");
	expect_none(sub);
}

static void
case_xsub_sends_upstream(enum tr t)
{
	void *xpub = sock(ZMQ_XPUB), *xsub = sock(ZMQ_XSUB);
	join(xsub, xpub, t); /* the XSUB binds */
	/* Sent before the connection is up: it goes into the pipe the connection
	 * brings, which the XSUB attaches when it next runs its commands (so does
	 * libzmq): keep polling it meanwhile. */
	SEND(xsub, "\1T");
	expect_pumping(xpub, xsub, "\1T", 2);
	SEND(xsub, "hello");
	SENDMORE(xsub, "x");
	SEND(xsub, "y");
	SEND(xsub, "");
	EXPECT(xpub, "hello");
	EXPECT_MORE(xpub, "x");
	EXPECT(xpub, "y");
	EXPECT(xpub, "");
	SEND(xpub, "T-down");
	EXPECT(xsub, "T-down");
}

static void
case_subscriber_connects_before_bind(enum tr t)
{
	void *pub = sock(ZMQ_PUB), *sub = sock(ZMQ_SUB);
	char ep[128];
	if (t == INPROC)
		snprintf(ep, sizeof ep, "inproc://early-%d", (int)getpid());
	else
		snprintf(ep, sizeof ep, "ipc://@zinc-pubsub-early-%d", (int)getpid());
	subscribe(sub, "A");
	CHECK_OK(zmq_connect(sub, ep));
	subscribe(sub, "B"); /* queued for the publisher to come */
	CHECK_OK(zmq_bind(pub, ep));
	sync_one(pub, sub, "B");
	SEND(pub, "A1");
	SEND(pub, "C1");
	SEND(pub, "B-end");
	EXPECT(sub, "A1");
	EXPECT(sub, "B-end");
}

/* ------------------------------------------------------------------------ */
/* Interop with libzmq over tcp                                              */
/* ------------------------------------------------------------------------ */

/* expect_script: what a subscriber to "A" gets of pubsub_peer.py's SCRIPT, after
 * probes. */
static void
expect_script(void *sub)
{
	char buf[64];
	do
		recv_buf(sub, buf, sizeof buf, NULL);
	while (strcmp(buf, "A#probe") == 0);
	CHECK_STR(buf, "A1");
	EXPECT(sub, "AB");
	EXPECT_MORE(sub, "A");
	EXPECT_MORE(sub, "p2");
	EXPECT(sub, "p3");
	EXPECT(sub, "A-end");
	expect_none(sub);
}

static void
interop_libzmq_pub_to_zinc_sub(bool zinc_binds)
{
	if (!interop_ready())
		return;
	void *sub = sock(ZMQ_SUB);
	subscribe(sub, "A");
	struct peer *p;
	if (zinc_binds) {
		char ep[256];
		bind_any(sub, TCP, ep, sizeof ep);
		p = peer_start(false, "pub", ep);
	} else {
		p = peer_start(true, "pub", "tcp://127.0.0.1:*");
		CHECK_OK(zmq_connect(sub, p->endpoint));
	}
	char buf[64];
	recv_buf(sub, buf, sizeof buf, NULL); /* the first probe: subscribed */
	CHECK_STR(buf, "A#probe");
	peer_say(p, "GO\n");
	expect_script(sub);
	peer_finish(p);
}

static void
interop_zinc_pub_to_libzmq_sub(bool zinc_binds, int type)
{
	if (!interop_ready())
		return;
	void *pub = sock(type);
	struct peer *p;
	if (zinc_binds) {
		char ep[256];
		bind_any(pub, TCP, ep, sizeof ep);
		p = peer_start(false, "sub", ep);
	} else {
		p = peer_start(true, "sub", "tcp://127.0.0.1:*");
		CHECK_OK(zmq_connect(pub, p->endpoint));
	}
	if (type == ZMQ_XPUB)
		EXPECT(pub, "\1A"); /* libzmq's SUBSCRIBE, as an XPUB shows it */
	char line[64];
	long long deadline = test_now_ms() + WAIT_MS;
	for (;;) {
		SEND(pub, "A#probe");
		int r = peer_line(p, PROBE_MS, line, sizeof line);
		if (r > 0) {
			CHECK_STR(line, "SYNC");
			break;
		}
		CHECK(r < 0 && test_now_ms() < deadline);
	}
	SEND(pub, "A1");
	SEND(pub, "B1");
	SEND(pub, "AB");
	SENDMORE(pub, "A");
	SENDMORE(pub, "p2");
	SEND(pub, "p3");
	SENDMORE(pub, "B");
	SEND(pub, "A");
	SEND(pub, "A-end");
	peer_expect_line(p, "OK received");
	peer_finish(p);
}

static void
interop_libzmq_xpub_sees_zinc_subscriptions(bool zinc_binds)
{
	if (!interop_ready())
		return;
	void *sub = sock(ZMQ_SUB);
	struct peer *p;
	subscribe(sub, "A");
	if (zinc_binds) {
		char ep[256];
		bind_any(sub, TCP, ep, sizeof ep);
		p = peer_start(false, "xpub", ep);
	} else {
		p = peer_start(true, "xpub", "tcp://127.0.0.1:*");
		CHECK_OK(zmq_connect(sub, p->endpoint));
	}
	/* A bound SUB attaches the connection's pipe (and sends its subscriptions
	 * into it) when it next runs its commands: keep polling it meanwhile. */
	peer_expect_line_pumping(p, "SUB 41", sub);
	subscribe(sub, "B");
	peer_expect_line(p, "SUB 42");
	unsubscribe(sub, "A");
	peer_expect_line(p, "UNSUB 41");
	subscribe(sub, "");
	peer_expect_line(p, "SUB ");
	peer_finish(p);
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

static void
case_reset(void)
{
	while (cs.nsocks > 0)
		zmq_close(cs.socks[--cs.nsocks]);
	if (cs.peer.pid)
		peer_kill(&cs.peer);
	if (cs.ctx)
		zmq_ctx_term(cs.ctx);
	cs.ctx = NULL;
}

#define ON_EACH(fn)                                                                      \
	static void fn##_inproc(void)                                                    \
	{                                                                                \
		fn(INPROC);                                                              \
	}                                                                                \
	static void fn##_ipc(void)                                                       \
	{                                                                                \
		fn(IPC);                                                                 \
	}                                                                                \
	static void fn##_tcp(void)                                                       \
	{                                                                                \
		fn(TCP);                                                                 \
	}
#define ENTRIES(fn, name)                                                                \
	{name " (inproc)", fn##_inproc}, {name " (ipc)", fn##_ipc},                      \
	{                                                                                \
		name " (tcp)", fn##_tcp                                                  \
	}

ON_EACH(case_prefix_filtering)
ON_EACH(case_empty_subscription_gets_all)
ON_EACH(case_unsubscribe_stops_delivery)
ON_EACH(case_duplicates_are_counted)
ON_EACH(case_each_subscriber_gets_its_matches)
ON_EACH(case_multipart_arrives_whole)
ON_EACH(case_pub_filters_on_its_side)
ON_EACH(case_late_subscriber)
ON_EACH(case_subscribe_then_publish_at_once)
ON_EACH(case_pub_drops_at_hwm)
ON_EACH(case_xpub_sees_subscriptions)
ON_EACH(case_xpub_sees_a_subscriber_go)
ON_EACH(case_welcome_message)
ON_EACH(case_xpub_manual)
ON_EACH(case_invert_matching)
ON_EACH(case_xsub_sends_upstream)

static void
case_early_inproc(void)
{
	case_subscriber_connects_before_bind(INPROC);
}
static void
case_early_ipc(void)
{
	case_subscriber_connects_before_bind(IPC);
}
static void
interop_1(void)
{
	interop_libzmq_pub_to_zinc_sub(true);
}
static void
interop_2(void)
{
	interop_libzmq_pub_to_zinc_sub(false);
}
static void
interop_3(void)
{
	interop_zinc_pub_to_libzmq_sub(true, ZMQ_PUB);
}
static void
interop_4(void)
{
	interop_zinc_pub_to_libzmq_sub(false, ZMQ_PUB);
}
static void
interop_5(void)
{
	interop_zinc_pub_to_libzmq_sub(true, ZMQ_XPUB);
}
static void
interop_6(void)
{
	interop_libzmq_xpub_sees_zinc_subscriptions(true);
}
static void
interop_7(void)
{
	interop_libzmq_xpub_sees_zinc_subscriptions(false);
}

static const struct test tests[] = {
        {"pub cannot recv, sub cannot send; pub always POLLOUT",
         test_directions_and_events},
        {"ZMQ_SUBSCRIBE belongs to SUB (and manual XPUB)",
         test_subscribe_option_belongs_to_sub},
        {"a NULL subscription receives everything",
         test_null_subscription_receives_everything},
        {"xpub_nodrop says EAGAIN at the high-water mark", test_xpub_nodrop_says_eagain},
        {"conflate hands out only the newest message", test_conflate_keeps_the_newest},
        {"56 subscribers, then half of them gone", test_many_subscribers},
        {"a subscriber joining mid-message gets only whole messages",
         test_joining_mid_message_gets_whole_messages},
        ENTRIES(case_prefix_filtering, "a sub gets only what matches its prefix"),
        ENTRIES(case_empty_subscription_gets_all,
                "the empty subscription gets everything"),
        ENTRIES(case_unsubscribe_stops_delivery, "unsubscribe stops delivery"),
        ENTRIES(case_duplicates_are_counted, "duplicate subscriptions are counted"),
        ENTRIES(case_each_subscriber_gets_its_matches,
                "each subscriber gets exactly its matches"),
        ENTRIES(case_multipart_arrives_whole, "multipart messages arrive whole"),
        ENTRIES(case_pub_filters_on_its_side,
                "pub filters on its side (seen by an xsub)"),
        ENTRIES(case_late_subscriber, "a late subscriber gets nothing from before"),
        ENTRIES(case_subscribe_then_publish_at_once,
                "a subscription is with an in-process pub once setsockopt returns"),
        ENTRIES(case_pub_drops_at_hwm, "pub drops at the high-water mark, never blocks"),
        ENTRIES(case_xpub_sees_subscriptions,
                "xpub sees subscriptions: plain, verbose, verboser"),
        ENTRIES(case_xpub_sees_a_subscriber_go,
                "xpub sees the unsubscriptions of a gone sub"),
        ENTRIES(case_welcome_message, "xpub welcomes each new subscriber"),
        ENTRIES(case_xpub_manual, "xpub manual subscriptions for an xsub"),
        ENTRIES(case_invert_matching, "invert matching on pub and sub"),
        ENTRIES(case_xsub_sends_upstream, "xsub sends data upstream to xpub"),
        {"a sub connecting before the bind subscribes (inproc)", case_early_inproc},
        {"a sub connecting before the bind subscribes (ipc)", case_early_ipc},
        {"a sub resubscribes after the publisher restarts (tcp)",
         test_resubscribe_after_publisher_restart},
        {"interop: libzmq pub to zinc sub, zinc binds", interop_1},
        {"interop: libzmq pub to zinc sub, libzmq binds", interop_2},
        {"interop: zinc pub to libzmq sub, zinc binds", interop_3},
        {"interop: zinc pub to libzmq sub, libzmq binds", interop_4},
        {"interop: zinc xpub sees libzmq sub's subscription", interop_5},
        {"interop: libzmq xpub sees zinc sub's (un)subscriptions, zinc binds", interop_6},
        {"interop: libzmq xpub sees zinc sub's (un)subscriptions, libzmq binds",
         interop_7},
        {NULL, NULL},
};

/* python_has_zmq: whether /usr/bin/python3 (with the child environment) imports zmq. */
static bool
python_has_zmq(void)
{
	char *argv[] = {PYTHON, "-c", "import zmq", NULL};
	if (access(PYTHON, X_OK) != 0)
		return false;
	pid_t pid = spawn(argv, NULL);
	if (pid < 0)
		return false;
	int status = reap(pid, 30000);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* find_peer_py: $ZINC_PUBSUB_PEER, else ZINC_PUBSUB_PEER_PY (set by the build), else
 * py/pubsub_peer.py beside this source file. */
static bool
find_peer_py(void)
{
	const char *env = getenv("ZINC_PUBSUB_PEER");
	if (env && *env) {
		snprintf(peer_py, sizeof peer_py, "%s", env);
	} else {
#ifdef ZINC_PUBSUB_PEER_PY
		snprintf(peer_py, sizeof peer_py, "%s", ZINC_PUBSUB_PEER_PY);
#else
		const char *file = __FILE__, *slash = strrchr(file, '/');
		int dir = slash ? (int)(slash - file + 1) : 0;
		snprintf(peer_py, sizeof peer_py, "%.*spy/pubsub_peer.py", dir, file);
#endif
	}
	return access(peer_py, R_OK) == 0;
}

int
main(int argc, char **argv)
{
	int major, minor, patch;
	zmq_version(&major, &minor, &patch);
	printf("test_pubsub: this side is ØMQ %d.%d.%d\n", major, minor, patch);
	signal(SIGPIPE, SIG_IGN);
	if (!(child_env = make_child_env()))
		return 1;
	have_python = python_has_zmq();
	if (have_python && !find_peer_py()) {
		fprintf(stderr, "cannot find %s (set ZINC_PUBSUB_PEER)\n", peer_py);
		free(child_env);
		return 1;
	}
	/* test_main's loop, with each case's cleanup (case_reset) after it, also when
	 * it failed and longjmp'd out. */
	int passed = 0, failed = 0;
	for (const struct test *volatile t = tests; t->name; t++) {
		if (argc >= 2 && !strstr(t->name, argv[1]))
			continue;
		if (argc < 2 && strncmp(t->name, "known gap", 9) == 0 &&
		    !getenv("ZINC_PUBSUB_KNOWN_GAPS")) {
			printf("skip %s\n", t->name);
			continue;
		}
		test_current = t->name;
		cs.peer.fd = cs.peer.in_fd = -1;
		if (setjmp(test_jmp) == 0) {
			t->fn();
			printf("ok   %s\n", t->name);
			passed++;
		} else {
			printf("FAIL %s\n", t->name);
			failed++;
		}
		fflush(stdout);
		case_reset();
	}
	printf("test_pubsub: %d passed, %d failed%s\n", passed, failed,
	       interop_skipped ? ", interop skipped" : "");
	free(child_env);
	if (failed)
		return 1;
	return interop_skipped ? SKIP_CODE : 0;
}
