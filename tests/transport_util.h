/*
 * transport_util.h: what test_transport.c and test_transport_monitor.c share: the
 * resources a case holds (context, sockets, threads, raw fds) so that the next case can
 * release what a failed one left, fresh tcp:// and ipc:// endpoints, a content pattern,
 * monitor event reading, a watchdog that names a case that hangs, and a main() that runs
 * the cases whose name contains the argument. Public zmq.h API only, so a test also
 * builds against libzmq:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_transport.c -lzmq -lpthread
 */
#ifndef ZINC_TRANSPORT_UTIL_H
#define ZINC_TRANSPORT_UTIL_H

#include "testutil.h"
#include "zinc.h"
#include "zmq.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS                                                                          \
	(5000 * ZINC_TEST_SLOWDOWN) /* socket timeouts and event waits: a bound, never a \
	                               pause */
#define CASE_ALARM_S 30 /* the watchdog: a case that takes this long hangs (scaled) */
#define MAX_SOCKS    16
#define MAX_THREADS  8
#define MAX_FDS      8
#define MAX_CTXS     4

enum tr { TCP, IPC };

/* What a case holds; case_reset() releases all of it, after a failed case too. */
static struct {
	void *ctx; /* where sock_open makes sockets: the last ctx_open'd */
	void *ctxs[MAX_CTXS];
	int nctxs;
	struct {
		void *s, *ctx;
	} socks[MAX_SOCKS];
	int nsocks;
	pthread_t threads[MAX_THREADS];
	int nthreads;
	int fds[MAX_FDS];
	int nfds;
} cs;

static char tmpdir[64];
static int ipc_seq;
static bool quick; /* under valgrind: fewer and smaller messages */
static unsigned char *pat;
static size_t pat_max;

/* pattern: the content of a size-byte message: pat + size % 251, so that sizes differ.
 * At most pat_max bytes (smaller in quick runs, under valgrind). */
static inline const unsigned char *
pattern(size_t size)
{
	CHECK(size <= pat_max);
	return pat + size % 251;
}

static inline void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

/* ctx_open: a new context, where sock_open makes sockets from now on. */
static inline void *
ctx_open(void)
{
	CHECK(cs.nctxs < MAX_CTXS);
	void *c = zmq_ctx_new();
	CHECK(c);
	cs.ctxs[cs.nctxs++] = c;
	cs.ctx = c;
	return c;
}

/* sock_open_default: a socket with libzmq's default options (linger -1) but for the
 * send and receive timeouts, so that nothing waits forever. */
static inline void *
sock_open_default(int type)
{
	CHECK(cs.nsocks < MAX_SOCKS);
	void *s = zmq_socket(cs.ctx, type);
	CHECK(s);
	cs.socks[cs.nsocks].s = s;
	cs.socks[cs.nsocks++].ctx = cs.ctx;
	set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
	set_int(s, ZMQ_SNDTIMEO, WAIT_MS);
	/* ZINC_TEST_SPIN_US: the same cases again with spinning on, where shm://
	 * sockets use their rings from the application thread. */
	const char *spin = getenv("ZINC_TEST_SPIN_US");
	if (spin)
		set_int(s, ZINC_SHM_SPIN_US, atoi(spin));
	return s;
}

/* sock_open: with ZMQ_LINGER 0 as well, so that a failed case cannot block ctx_term. */
static inline void *
sock_open(int type)
{
	void *s = sock_open_default(type);
	set_int(s, ZMQ_LINGER, 0);
	return s;
}

static inline void
sock_close(void *s)
{
	for (int i = 0; i < cs.nsocks; i++) {
		if (cs.socks[i].s == s) {
			cs.socks[i] = cs.socks[--cs.nsocks];
			break;
		}
	}
	CHECK_OK(zmq_close(s));
}

/* ctx_term_one: closes what is left of c's sockets (linger 0) and terminates c. */
static inline void
ctx_term_one(void *c)
{
	for (int i = cs.nsocks - 1; i >= 0; i--) {
		if (i < cs.nsocks && cs.socks[i].ctx == c) {
			void *s = cs.socks[i].s;
			set_int(s, ZMQ_LINGER, 0);
			sock_close(s);
		}
	}
	for (int i = 0; i < cs.nctxs; i++)
		if (cs.ctxs[i] == c)
			cs.ctxs[i] = cs.ctxs[--cs.nctxs];
	if (cs.ctx == c)
		cs.ctx = cs.nctxs ? cs.ctxs[cs.nctxs - 1] : NULL;
	CHECK_OK(zmq_ctx_term(c));
}

/* ctx_close: ends every context of the case. */
static inline void
ctx_close(void)
{
	CHECK_EQ(cs.nthreads, 0);
	while (cs.nctxs > 0)
		ctx_term_one(cs.ctxs[cs.nctxs - 1]);
}

static inline void
thread_start(void *(*fn)(void *), void *arg)
{
	CHECK(cs.nthreads < MAX_THREADS);
	CHECK_EQ(pthread_create(&cs.threads[cs.nthreads], NULL, fn, arg), 0);
	cs.nthreads++;
}

static inline void
threads_join(void)
{
	while (cs.nthreads > 0)
		pthread_join(cs.threads[--cs.nthreads], NULL);
}

static inline int
fd_track(int fd)
{
	CHECK(fd >= 0);
	CHECK(cs.nfds < MAX_FDS);
	cs.fds[cs.nfds++] = fd;
	return fd;
}

/* case_reset: after a failure, wakes the threads (ETERM), joins them, drops every
 * queued message and terminates the context. */
static inline void
case_reset(void)
{
	for (int i = 0; i < cs.nctxs && cs.nthreads > 0; i++)
		zmq_ctx_shutdown(cs.ctxs[i]);
	threads_join();
	int zero = 0;
	for (int i = 0; i < cs.nsocks; i++) {
		zmq_setsockopt(cs.socks[i].s, ZMQ_LINGER, &zero, sizeof zero);
		zmq_close(cs.socks[i].s);
	}
	cs.nsocks = 0;
	for (int i = 0; i < cs.nctxs; i++)
		zmq_ctx_term(cs.ctxs[i]);
	cs.nctxs = 0;
	cs.ctx = NULL;
	for (int i = 0; i < cs.nfds; i++)
		close(cs.fds[i]);
	cs.nfds = 0;
}

static inline void
watchdog(int sig)
{
	(void)sig;
	static const char m[] = "watchdog: the case hangs: ";
	ssize_t r = write(2, m, sizeof m - 1);
	r = write(2, test_current, strlen(test_current));
	r = write(2, "\n", 1);
	(void)r;
	_exit(3);
}

/* case_alarm_s: the watchdog's limit. It names a case that hangs, and must not end
 * one that is only slow: it scales with the sanitizers and valgrind as WAIT_MS does
 * (valgrind.sh still ends a program after 600 s). */
static inline unsigned
case_alarm_s(void)
{
	return CASE_ALARM_S * ZINC_TEST_SLOWDOWN;
}

static inline void
case_begin(void)
{
	case_reset();
	alarm(case_alarm_s());
}

/* ---------------------------------------------------------------------------- */
/* Endpoints                                                                     */
/* ---------------------------------------------------------------------------- */

static inline void
last_endpoint(void *s, char *ep, size_t len)
{
	size_t n = len;
	CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &n));
}

/* ipc_new: a path nobody uses, in this run's directory. */
static inline void
ipc_new(char *ep, size_t len)
{
	snprintf(ep, len, "ipc://%s/s%d", tmpdir, ipc_seq++);
}

/* bind_fresh: binds s to tcp://127.0.0.1:* or to a new ipc path; ep is the result. */
static inline void
bind_fresh(void *s, enum tr t, char *ep, size_t len)
{
	char want[256];
	if (t == TCP)
		snprintf(want, sizeof want, "tcp://127.0.0.1:*");
	else
		ipc_new(want, sizeof want);
	CHECK_OK(zmq_bind(s, want));
	last_endpoint(s, ep, len);
}

/* ep_unbound: an endpoint nobody listens on. For tcp, a port the kernel hands out and
 * is given back at once (an ephemeral port, so no other test picks it on purpose). */
static inline void
ep_unbound(enum tr t, char *ep, size_t len)
{
	if (t == IPC) {
		ipc_new(ep, len);
		return;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	if (rc == 0)
		rc = getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	CHECK_EQ(rc, 0);
	snprintf(ep, len, "tcp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
}

/* ipc_file: the path of an ipc:// endpoint. */
static inline const char *
ipc_file(const char *ep)
{
	CHECK(strncmp(ep, "ipc://", 6) == 0);
	return ep + 6;
}

static inline bool
is_socket_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ---------------------------------------------------------------------------- */
/* Messages                                                                      */
/* ---------------------------------------------------------------------------- */

static inline void
send_str(void *s, const char *str, int flags)
{
	CHECK_EQ(zmq_send(s, str, strlen(str), flags), (int)strlen(str));
}

static inline void
recv_str(void *s, const char *want)
{
	char buf[256];
	int n = zmq_recv(s, buf, sizeof buf - 1, 0);
	if (n < 0)
		TEST_FAIL("zmq_recv (want \"%s\"): %s", want, zmq_strerror(errno));
	buf[n < 255 ? n : 255] = '\0';
	CHECK_STR(buf, want);
}

/* readable: s has a message within ms milliseconds. */
static inline bool
readable(void *s, int ms)
{
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	int rc = zmq_poll(&it, 1, ms);
	CHECK(rc >= 0);
	return rc == 1;
}

/* ---------------------------------------------------------------------------- */
/* Monitor                                                                       */
/* ---------------------------------------------------------------------------- */

/* monitor_open: monitors s; the returned PAIR reads its events. Open it before s binds
 * or connects, so that no event is sent before the reader is there. */
static inline void *
monitor_open(void *s, int events)
{
	static int seq;
	char ep[64];
	snprintf(ep, sizeof ep, "inproc://monitor-%d", seq++);
	CHECK_OK(zmq_socket_monitor(s, ep, events));
	void *m = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_connect(m, ep));
	return m;
}

/* monitor_next: the next event within ms milliseconds, checking libzmq's two-frame
 * format (6 bytes: uint16 event, uint32 value; then the endpoint). 0 when none came. */
static inline int
monitor_next(void *m, int ms, int *value, char *ep, size_t eplen)
{
	if (!readable(m, ms))
		return 0;
	uint8_t head[16];
	int n = zmq_recv(m, head, sizeof head, 0);
	CHECK_EQ(n, 6);
	int more;
	size_t ml = sizeof more;
	CHECK_OK(zmq_getsockopt(m, ZMQ_RCVMORE, &more, &ml));
	CHECK(more);
	uint16_t ev;
	uint32_t v;
	memcpy(&ev, head, sizeof ev);
	memcpy(&v, head + 2, sizeof v);
	char buf[512];
	n = zmq_recv(m, buf, sizeof buf - 1, 0);
	CHECK(n >= 0 && n < (int)sizeof buf);
	buf[n] = '\0';
	CHECK_OK(zmq_getsockopt(m, ZMQ_RCVMORE, &more, &ml));
	CHECK(!more);
	if (value)
		*value = (int)v;
	if (ep)
		snprintf(ep, eplen, "%s", buf);
	return ev;
}

/* monitor_expect: the next event must be `event`, within WAIT_MS. */
static inline void
monitor_expect(void *m, int event, int *value, char *ep, size_t eplen)
{
	int ev = monitor_next(m, WAIT_MS, value, ep, eplen);
	if (ev != event)
		TEST_FAIL("monitor: expected event 0x%x, got 0x%x", event, ev);
}

/* ---------------------------------------------------------------------------- */
/* main                                                                          */
/* ---------------------------------------------------------------------------- */

static inline void
rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *de;
		char p[512];
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* transport_main: runs the cases whose name contains argv[1] (all without one). Under
 * valgrind (or with ZINC_TRANSPORT_QUICK set) `quick` asks for a lighter run, and
 * messages of at most quick_max_size bytes. */
static inline int
transport_main(int argc, char **argv, const struct test *tests, size_t max_size,
               size_t quick_max_size)
{
	const char *preload = getenv("LD_PRELOAD");
	quick = (preload && strstr(preload, "vgpreload")) ||
	        getenv("ZINC_TRANSPORT_QUICK");
	signal(SIGALRM, watchdog);
	signal(SIGPIPE, SIG_IGN); /* the raw peers write to sockets zinc may close */
	snprintf(tmpdir, sizeof tmpdir, "/tmp/zinc-transport-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pat_max = quick && quick_max_size < max_size ? quick_max_size : max_size;
	pat = malloc(pat_max + 251);
	if (!pat)
		return 1;
	for (size_t i = 0; i < pat_max + 251; i++)
		pat[i] = (unsigned char)(i * 7 + (i >> 9));
	static struct test picked[64];
	size_t k = 0;
	for (const struct test *t = tests; t->name && k + 1 < 64; t++)
		if (argc < 2 || strstr(t->name, argv[1]))
			picked[k++] = *t;
	int rc = test_main(picked);
	alarm(0);
	case_reset();
	rm_tmpdir();
	free(pat);
	return rc;
}

/* BOTH(fn) makes fn_tcp and fn_ipc from fn(enum tr); BOTH_ENTRIES(fn) lists them. */
#define BOTH(fn)                                                                         \
	static void fn##_tcp(void)                                                       \
	{                                                                                \
		case_begin();                                                            \
		fn(TCP);                                                                 \
	}                                                                                \
	static void fn##_ipc(void)                                                       \
	{                                                                                \
		case_begin();                                                            \
		fn(IPC);                                                                 \
	}
#define BOTH_ENTRIES(fn)                                                                 \
	{#fn "_tcp", fn##_tcp},                                                          \
	{                                                                                \
#fn "_ipc", fn##_ipc                                                     \
	}
#define ONE(fn)                                                                          \
	static void fn##_case(void)                                                      \
	{                                                                                \
		case_begin();                                                            \
		fn();                                                                    \
	}
#define ONE_ENTRY(fn)                                                                    \
	{                                                                                \
#fn, fn##_case                                                           \
	}

#endif
