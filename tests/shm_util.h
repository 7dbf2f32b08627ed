/*
 * shm_util.h: what the shm:// tests share (test_shm.c, test_shm_types.c,
 * test_shm_hostile.c), on top of transport_util.h: fresh shm:// names in a private
 * rendezvous directory made for the run ($XDG_RUNTIME_DIR points there, so parallel
 * runs never meet), peer processes, and the resource counts that show nothing is left
 * behind.
 *
 * Peer processes ("kids") are forked at the start of a case, before the parent makes a
 * context, so that a kid inherits no zinc state (no threads, no descriptors, no heap to
 * be reported by valgrind); a kid that must act later waits for a byte on its pipe. A
 * kid runs a function under its own setjmp, so a failed CHECK in it ends the kid with
 * status 1 (and a hang with the watchdog's 3); it terminates its context and _exits 0
 * otherwise. The parent reaps every kid with a bounded wait (a pidfd), and case
 * begin SIGKILLs and reaps what a failed case left.
 */
#ifndef ZINC_SHM_UTIL_H
#define ZINC_SHM_UTIL_H

#include "transport_util.h"
#include "zinc.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define MAX_KIDS 8

static struct kid {
	pid_t pid;
	int to, from; /* the parent's ends of the pipes to and from the kid */
} kids[MAX_KIDS];
static int nkids;
static int kid_in = -1, kid_out = -1; /* in a kid: its ends of those pipes */
static char rdv_dir[96];              /* $XDG_RUNTIME_DIR for this run */
static int shm_seq;

/* ---------------------------------------------------------------------------- */
/* Names                                                                         */
/* ---------------------------------------------------------------------------- */

/* shm_new: a fresh endpoint "shm://tN" (name only, no pid: the directory is ours). */
static inline void
shm_new(char *ep, size_t len)
{
	snprintf(ep, len, "shm://t%d", shm_seq++);
}

/* shm_file: the rendezvous socket file of an shm:// endpoint. */
static inline const char *
shm_file(const char *ep)
{
	static char path[256];
	CHECK(strncmp(ep, "shm://", 6) == 0);
	snprintf(path, sizeof path, "%s/zinc/%s.sock", rdv_dir, ep + 6);
	return path;
}

/* ---------------------------------------------------------------------------- */
/* Kids                                                                          */
/* ---------------------------------------------------------------------------- */

static inline void
tell(int fd, uint8_t b)
{
	CHECK_EQ(write(fd, &b, 1), 1);
}

/* hear: the next byte from fd within ms, which must be want (-1: any). */
static inline int
hear(int fd, int ms, int want)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		TEST_FAIL("no word from the other process in %d ms", ms);
	uint8_t b;
	if (read(fd, &b, 1) != 1)
		TEST_FAIL("the other process is gone");
	if (want >= 0 && b != want)
		TEST_FAIL("heard %d, expected %d", b, want);
	return b;
}

static inline void
tell_u64(int fd, uint64_t v)
{
	CHECK_EQ(write(fd, &v, sizeof v), (ssize_t)sizeof v);
}

static inline uint64_t
hear_u64(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		TEST_FAIL("no word from the other process in %d ms", ms);
	uint64_t v;
	CHECK_EQ(read(fd, &v, sizeof v),
	         (ssize_t)sizeof v); /* pipe writes <= 4096 are whole */
	return v;
}

/* kid_spawn: forks a kid that runs fn(arg). Returns its index in kids[]. */
static inline int
kid_spawn(void (*fn)(void *), void *arg)
{
	CHECK_EQ(cs.nctxs, 0); /* no zinc state may be inherited */
	CHECK(nkids < MAX_KIDS);
	int p2c[2], c2p[2];
	CHECK_EQ(pipe(p2c), 0);
	CHECK_EQ(pipe(c2p), 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < nkids; i++) {
			close(kids[i].to);
			close(kids[i].from);
		}
		nkids = 0;
		close(p2c[1]);
		close(c2p[0]);
		kid_in = p2c[0];
		kid_out = c2p[1];
		memset(&cs, 0, sizeof cs);
		alarm(case_alarm_s());
		if (setjmp(test_jmp) == 0) {
			fn(arg);
			ctx_close();
			_exit(0);
		}
		fprintf(stderr, "  (in a peer process of %s)\n", test_current);
		_exit(1);
	}
	close(p2c[0]);
	close(c2p[1]);
	kids[nkids].pid = pid;
	kids[nkids].to = p2c[1];
	kids[nkids].from = c2p[0];
	return nkids++;
}

/* kid_wait_status: waits up to ms for kid i to end; its wait status, or -1 when it is
 * still running. */
static inline int
kid_wait_status(int i, int ms)
{
	int st = 0;
	pid_t r;
	/* valgrind 3.19 knows no pidfd_open (and says so): polled there. */
	int pfd = quick ? -1 : (int)syscall(SYS_pidfd_open, kids[i].pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {pfd, POLLIN, 0};
		(void)poll(&p, 1, ms);
		close(pfd);
		r = waitpid(kids[i].pid, &st, WNOHANG);
	} else { /* no pidfd: polled */
		long long end = test_now_ms() + ms;
		while ((r = waitpid(kids[i].pid, &st, WNOHANG)) == 0 &&
		       test_now_ms() < end)
			(void)poll(NULL, 0, 2);
	}
	if (r == 0)
		return -1;
	CHECK(r == kids[i].pid);
	return st;
}

static inline void
kid_forget(int i)
{
	close(kids[i].to);
	close(kids[i].from);
	kids[i].pid = 0;
	kids[i].to = kids[i].from = -1;
}

/* kid_reap: kid i must end within ms with status 0. */
static inline void
kid_reap(int i, int ms)
{
	int st = kid_wait_status(i, ms);
	if (st == -1)
		TEST_FAIL("peer process %d did not end in %d ms", (int)kids[i].pid, ms);
	pid_t pid = kids[i].pid;
	kid_forget(i);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		TEST_FAIL("peer process %d: %s %d", (int)pid,
		          WIFEXITED(st) ? "exit status" : "killed by signal",
		          WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* kid_kill: SIGKILL, then reaped. */
static inline void
kid_kill(int i)
{
	CHECK_EQ(kill(kids[i].pid, SIGKILL), 0);
	int st;
	CHECK(waitpid(kids[i].pid, &st, 0) == kids[i].pid);
	kid_forget(i);
}

static inline void
kids_reset(void)
{
	for (int i = 0; i < nkids; i++) {
		if (kids[i].pid <= 0)
			continue;
		kill(kids[i].pid, SIGKILL);
		waitpid(kids[i].pid, NULL, 0);
		kid_forget(i);
	}
	nkids = 0;
}

static inline void
shm_begin(void)
{
	kids_reset();
	case_begin();
}

#define SHM_CASE(fn)                                                                     \
	static void fn##_case(void)                                                      \
	{                                                                                \
		shm_begin();                                                             \
		fn();                                                                    \
		ctx_close();                                                             \
	}
#define SHM_ENTRY(fn)                                                                    \
	{                                                                                \
#fn, fn##_case                                                           \
	}

/* ---------------------------------------------------------------------------- */
/* Messages                                                                      */
/* ---------------------------------------------------------------------------- */

static inline void
send_u64(void *s, uint64_t v, int flags)
{
	CHECK_EQ(zmq_send(s, &v, sizeof v, flags), (int)sizeof v);
}

static inline uint64_t
recv_u64(void *s)
{
	uint64_t v = 0;
	int n = zmq_recv(s, &v, sizeof v, 0);
	if (n < 0)
		TEST_FAIL("zmq_recv: %s", zmq_strerror(errno));
	CHECK_EQ(n, (int)sizeof v);
	return v;
}

static inline bool
rcvmore(void *s)
{
	int more = 0;
	size_t len = sizeof more;
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len));
	return more != 0;
}

/* send_sized: a size-byte message with the pattern for that size. */
static inline void
send_sized(void *s, size_t size, int flags)
{
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_size(&m, size));
	if (size)
		memcpy(zmq_msg_data(&m), pattern(size), size);
	if (zmq_msg_send(&m, s, flags) != (int)size) {
		int e = errno;
		zmq_msg_close(&m);
		TEST_FAIL("zmq_msg_send of %zu bytes: %s", size, zmq_strerror(e));
	}
}

/* recv_sized: the next message must be size bytes of its pattern, with MORE = more. */
static inline void
recv_sized(void *s, size_t size, bool more)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	int n = zmq_msg_recv(&m, s, 0);
	int e = errno;
	bool ok = n == (int)size && zmq_msg_size(&m) == size &&
	          (size == 0 || memcmp(zmq_msg_data(&m), pattern(size), size) == 0);
	bool m_more = zmq_msg_more(&m) != 0;
	size_t got = zmq_msg_size(&m);
	zmq_msg_close(&m);
	if (n < 0)
		TEST_FAIL("recv of %zu bytes: %s", size, zmq_strerror(e));
	if (!ok)
		TEST_FAIL("expected %zu bytes of pattern, got %zu (or other bytes)", size,
		          got);
	CHECK_EQ(m_more, more);
}

/* ---------------------------------------------------------------------------- */
/* What a process holds                                                          */
/* ---------------------------------------------------------------------------- */

static inline int
dir_count(const char *path)
{
	DIR *d = opendir(path);
	CHECK(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* fd_count: open descriptors (without the one listing them). */
static inline int
fd_count(void)
{
	return dir_count("/proc/self/fd") - 1;
}

/* memfd_maps: mappings of a memfd in this process; *bytes the size of the last. */
static inline int
memfd_maps(size_t *bytes)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (!strstr(line, "memfd:"))
			continue;
		n++;
		if (bytes && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			*bytes = hi - lo;
	}
	fclose(f);
	return n;
}

/* wait_no_memfd: the mappings go with the connection, which the I/O thread ends a
 * moment after the monitor told of it: polled, bounded. */
static inline void
wait_no_memfd(void)
{
	long long end = test_now_ms() + WAIT_MS;
	while (memfd_maps(NULL) > 0 && test_now_ms() < end) {
		/* A socket's thread maps its connections' memory too (the direct road),
		 * and lets an ended one go when it next runs the socket's commands (as
		 * any pipe's queue): ZMQ_EVENTS does that. */
		for (int i = 0; i < cs.nsocks; i++) {
			int ev;
			size_t len = sizeof ev;
			(void)zmq_getsockopt(cs.socks[i].s, ZMQ_EVENTS, &ev, &len);
		}
		(void)poll(NULL, 0, 1);
	}
	CHECK_EQ(memfd_maps(NULL), 0);
}

/* wait_file_gone: a bind's socket file is removed in its I/O thread after zmq_unbind
 * or zmq_close returns, and no event follows the removal: polled, bounded. */
static inline bool
wait_file_gone(const char *path)
{
	long long end = test_now_ms() + WAIT_MS;
	while (access(path, F_OK) == 0 && test_now_ms() < end)
		(void)poll(NULL, 0, 1);
	return access(path, F_OK) != 0;
}

/* monitor_until: skips events until `event` comes (within WAIT_MS in all). */
static inline void
monitor_until(void *m, int event)
{
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		int left = (int)(end - test_now_ms());
		int ev = monitor_next(m, left > 0 ? left : 0, NULL, NULL, 0);
		if (ev == event)
			return;
		if (ev == 0)
			TEST_FAIL("monitor: no event 0x%x in %d ms", event, WAIT_MS);
	}
}

/* ---------------------------------------------------------------------------- */
/* main                                                                          */
/* ---------------------------------------------------------------------------- */

static inline void
rm_rdv_dir(void)
{
	char sub[160];
	snprintf(sub, sizeof sub, "%s/zinc", rdv_dir);
	DIR *d = opendir(sub);
	if (d) {
		struct dirent *de;
		char p[512];
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			fprintf(stderr, "left behind: %s/%s\n", sub, de->d_name);
			snprintf(p, sizeof p, "%s/%s", sub, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(sub);
	rmdir(rdv_dir);
}

static inline int
shm_main(int argc, char **argv, const struct test *tests, size_t max_size,
         size_t quick_max_size)
{
	snprintf(rdv_dir, sizeof rdv_dir, "/tmp/zinc-shmtest-XXXXXX");
	if (!mkdtemp(rdv_dir)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_RUNTIME_DIR", rdv_dir, 1);
	int rc = transport_main(argc, argv, tests, max_size, quick_max_size);
	kids_reset();
	rm_rdv_dir();
	return rc;
}

#endif
