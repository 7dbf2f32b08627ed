/*
 * test_oom.c: allocation-failure injection over whole scenarios (seed 003). A scenario
 * creates a context and two inproc sockets, exchanges inline, heap and multipart
 * messages, closes and terminates. It is run once per allocation point n with the nth
 * allocation failing (and, in sticky mode, every one after it): every call must then
 * succeed or fail with ENOMEM, nothing may crash or hang, a multipart message reaches
 * the receiver whole or not at all, and everything created is cleaned up (valgrind and
 * ASan runs of this program must report no leak).
 *
 * Threads: the test's own; the hook also fails allocations made by the context's
 * reaper and I/O threads, so the allocation count of a run may vary by a few.
 */
#include "platform/alloc.h"
#include "testutil.h"
#include "zmq.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OOM_MAX_STEPS 5000 /* a scenario making more allocations than this is a bug */
#define OOM_TIMEO_MS  50   /* bounds every wait on a message that was lost */
#define OOM_MAX_PARTS 3

/* One message of a scenario: its parts' sizes, and how they are built. */
struct oom_msg {
	int nparts;
	size_t size[OOM_MAX_PARTS];
	bool zero_copy; /* zmq_msg_init_size + zmq_msg_send instead of zmq_send */
};

/* Inline (small), heap (large) and 3-part messages, both ways of building them. */
static const struct oom_msg oom_msgs[] = {
        {1, {5}, false},            /* inline, copied in by zmq_send */
        {1, {1000}, false},         /* heap, copied in by zmq_send */
        {1, {4096}, true},          /* heap, zmq_msg_init_size */
        {3, {4, 2000, 4}, false},   /* multipart, part by part */
        {1, {7}, false},            /* inline again after a multipart */
        {3, {3000, 8, 5000}, true}, /* multipart of built messages */
        {1, {6}, true},             /* inline, zmq_msg_init_size */
};
#define OOM_NMSGS ((int)(sizeof oom_msgs / sizeof oom_msgs[0]))

/* A scenario: which sockets, and whether the connect comes before the bind (then the
 * messages wait in a pending pipe until the bind). */
struct oom_scenario {
	const char *name;
	int snd_type, rcv_type;
	bool connect_first;
	int io_threads; /* 0: the default (one) */
};

/* What one run saw. */
struct oom_result {
	int sent; /* messages sent whole, in order: the indices in sent_idx */
	int sent_idx[OOM_NMSGS];
	int received;   /* how many of those arrived (always a prefix) */
	bool exchanged; /* sockets were up: the send/recv phase ran */
	long failures;  /* allocations the hook failed during the run */
};

/* oom_ok: a zinc call that returns -1 on error either succeeded or failed with one of
 * the errors an allocation failure may cause. Returns whether it succeeded. */
#define OOM_OK(call) oom_ok_((call) != -1, #call, __LINE__)

static bool
oom_ok_(bool ok, const char *what, int line)
{
	if (ok)
		return true;
	if (errno != ENOMEM)
		TEST_FAIL("line %d: %s failed with %s, not ENOMEM", line, what,
		          strerror(errno));
	return false;
}

static unsigned char
oom_byte(int msg, int part, size_t i)
{
	return (unsigned char)(msg * 31 + part * 7 + i * 13 + 1);
}

static void
oom_fill(unsigned char *buf, int msg, int part, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = oom_byte(msg, part, i);
}

static void
oom_set_int(void *s, int opt, int v)
{
	/* Socket options allocate nothing; they must always work. */
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

/* oom_send_copy: message k built part by part by zmq_send. A failed part drops the
 * message whole (seed 003), so the caller stops there. Returns whether it was sent. */
static bool
oom_send_copy(void *s, int k)
{
	static unsigned char buf[8192];
	const struct oom_msg *m = &oom_msgs[k];
	for (int p = 0; p < m->nparts; p++) {
		int flags = p + 1 < m->nparts ? ZMQ_SNDMORE : 0;
		oom_fill(buf, k, p, m->size[p]);
		int rc = zmq_send(s, buf, m->size[p], flags);
		if (rc == -1) {
			/* EAGAIN: the peer's end of the pipe could not be attached and
			 * was ended, so nobody takes messages any more. */
			if (errno != EAGAIN)
				OOM_OK(rc);
			else
				CHECK(zn_alloc_failures() > 0);
			return false;
		}
		CHECK_EQ(rc, (int)m->size[p]);
	}
	return true;
}

/* oom_send_zero_copy: message k with every part allocated first (an application
 * cannot take back parts it has sent), then sent by zmq_msg_send. */
static bool
oom_send_zero_copy(void *s, int k)
{
	const struct oom_msg *m = &oom_msgs[k];
	zmq_msg_t parts[OOM_MAX_PARTS];
	int made = 0;
	bool sent = true;
	for (; made < m->nparts; made++) {
		if (!OOM_OK(zmq_msg_init_size(&parts[made], m->size[made]))) {
			sent = false;
			break;
		}
		oom_fill(zmq_msg_data(&parts[made]), k, made, m->size[made]);
	}
	for (int p = 0; sent && p < m->nparts; p++) {
		int flags = p + 1 < m->nparts ? ZMQ_SNDMORE : 0;
		int rc = zmq_msg_send(&parts[p], s, flags);
		if (rc == -1) {
			if (errno != EAGAIN)
				OOM_OK(rc);
			else
				CHECK(zn_alloc_failures() > 0);
			sent = false;
		} else {
			CHECK_EQ(rc, (int)m->size[p]);
		}
	}
	/* Sent parts are empty now; closing them is a no-op. */
	for (int p = 0; p < made; p++)
		CHECK_OK(zmq_msg_close(&parts[p]));
	return sent;
}

/* oom_send_all: sends every message, recording those that went whole. */
static void
oom_send_all(void *s, struct oom_result *r)
{
	for (int k = 0; k < OOM_NMSGS; k++) {
		bool ok = oom_msgs[k].zero_copy ? oom_send_zero_copy(s, k)
		                                : oom_send_copy(s, k);
		if (ok)
			r->sent_idx[r->sent++] = k;
	}
}

/* oom_recv_expect: receives message k whole and checks every byte and flag. Returns
 * false when nothing arrived within the timeout (the message was lost whole). */
static bool
oom_recv_expect(void *s, int k)
{
	const struct oom_msg *m = &oom_msgs[k];
	for (int p = 0; p < m->nparts; p++) {
		zmq_msg_t got;
		CHECK_OK(zmq_msg_init(&got));
		int rc = zmq_msg_recv(&got, s, 0);
		if (rc == -1) {
			CHECK_OK(zmq_msg_close(&got));
			if (errno != EAGAIN)
				TEST_FAIL("recv of message %d part %d: %s", k, p,
				          strerror(errno));
			if (p > 0)
				TEST_FAIL("message %d arrived partially: %d of %d parts",
				          k, p, m->nparts);
			return false;
		}
		if ((size_t)rc != m->size[p] || zmq_msg_more(&got) != (p + 1 < m->nparts))
			TEST_FAIL("expected message %d part %d (%zu bytes, more %d), got "
			          "%d "
			          "bytes, more %d: a partial or foreign message",
			          k, p, m->size[p], p + 1 < m->nparts, rc,
			          zmq_msg_more(&got));
		const unsigned char *d = zmq_msg_data(&got);
		for (size_t i = 0; i < m->size[p]; i++)
			if (d[i] != oom_byte(k, p, i))
				TEST_FAIL("message %d part %d: byte %zu differs", k, p,
				          i);
		CHECK_OK(zmq_msg_close(&got));
	}
	return true;
}

/* oom_recv_all: what arrives must be the sent messages, in order, each whole; a loss
 * (a pipe ended for lack of memory) takes everything after it too, and nothing else
 * may follow. */
static void
oom_recv_all(void *s, struct oom_result *r)
{
	while (r->received < r->sent && oom_recv_expect(s, r->sent_idx[r->received]))
		r->received++;
	char extra[16];
	errno = 0;
	CHECK_EQ(zmq_recv(s, extra, sizeof extra, ZMQ_DONTWAIT), -1);
	CHECK_EQ(errno, EAGAIN);
}

/* oom_exchange: the sockets' part of the scenario. */
static void
oom_exchange(const struct oom_scenario *sc, void *snd, void *rcv, struct oom_result *r)
{
	void *both[2] = {snd, rcv};
	for (int i = 0; i < 2; i++) {
		oom_set_int(both[i], ZMQ_LINGER, 0);
		oom_set_int(both[i], ZMQ_SNDTIMEO, OOM_TIMEO_MS);
		oom_set_int(both[i], ZMQ_RCVTIMEO, OOM_TIMEO_MS);
	}
	if (sc->connect_first) {
		if (!OOM_OK(zmq_connect(snd, "inproc://oom")))
			return;
		oom_send_all(snd, r);
		if (!OOM_OK(zmq_bind(rcv, "inproc://oom"))) {
			/* Never bound: the pending pipe dies with its socket. */
			r->sent = 0;
			return;
		}
	} else {
		if (!OOM_OK(zmq_bind(rcv, "inproc://oom")))
			return;
		if (!OOM_OK(zmq_connect(snd, "inproc://oom")))
			return;
		oom_send_all(snd, r);
	}
	r->exchanged = true;
	oom_recv_all(rcv, r);
}

/* oom_disarm: records how many allocations failed, then disarms the hook (which
 * resets its count). */
static void
oom_disarm(struct oom_result *r)
{
	r->failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
}

/* oom_run: one whole scenario with the hook armed at n. In sticky mode the hook is
 * disarmed before cleanup: command mailboxes wait for memory rather than drop a
 * shutdown command, so a failure that never ends would make the close wait forever. */
static void
oom_run(const struct oom_scenario *sc, long n, bool sticky, struct oom_result *r)
{
	memset(r, 0, sizeof *r);
	zn_alloc_fail_after(n, sticky);
	void *ctx = zmq_ctx_new();
	if (!ctx) {
		if (errno != ENOMEM && errno != EMFILE)
			TEST_FAIL("zmq_ctx_new: %s", strerror(errno));
		oom_disarm(r);
		return;
	}
	if (sc->io_threads)
		CHECK_OK(zmq_ctx_set(ctx, ZMQ_IO_THREADS, sc->io_threads));
	void *snd = zmq_socket(ctx, sc->snd_type);
	if (!snd && errno != ENOMEM && errno != EMFILE)
		TEST_FAIL("zmq_socket: %s", strerror(errno));
	void *rcv = snd ? zmq_socket(ctx, sc->rcv_type) : NULL;
	if (snd && !rcv && errno != ENOMEM && errno != EMFILE)
		TEST_FAIL("zmq_socket: %s", strerror(errno));
	if (snd && rcv)
		oom_exchange(sc, snd, rcv, r);
	if (sticky)
		oom_disarm(r);
	if (rcv)
		CHECK_OK(zmq_close(rcv));
	if (snd)
		CHECK_OK(zmq_close(snd));
	CHECK_OK(zmq_ctx_term(ctx));
	if (!sticky)
		oom_disarm(r);
}

/* oom_fresh_exchange: with the hook disarmed, a new context works as if nothing had
 * happened. */
static void
oom_fresh_exchange(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx);
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(a && b);
	CHECK_OK(zmq_bind(a, "inproc://fresh"));
	CHECK_OK(zmq_connect(b, "inproc://fresh"));
	CHECK_EQ(zmq_send(b, "alive", 5, 0), 5);
	char buf[8];
	CHECK_EQ(zmq_recv(a, buf, sizeof buf, 0), 5);
	CHECK(memcmp(buf, "alive", 5) == 0);
	CHECK_OK(zmq_close(a));
	CHECK_OK(zmq_close(b));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* oom_clean_run: the scenario without any failure delivers everything. */
static void
oom_clean_run(const struct oom_scenario *sc)
{
	struct oom_result r;
	oom_run(sc, 0, false, &r);
	CHECK(r.exchanged);
	CHECK_EQ(r.sent, OOM_NMSGS);
	CHECK_EQ(r.received, OOM_NMSGS);
}

/* oom_sweep: runs the scenario failing at n = 1, 2, 3, ... until runs stop reaching
 * step n, i.e. n is past the scenario's last allocation; such a run must deliver
 * everything. In sticky mode a fresh context must work after every run. Returns the
 * number of allocation points found. */
static long
oom_sweep(const struct oom_scenario *sc, bool sticky)
{
	long n;
	int clean_in_a_row = 0;
	for (n = 1; n < OOM_MAX_STEPS; n++) {
		struct oom_result r;
		oom_run(sc, n, sticky, &r);
		if (r.failures == 0) {
			/* Past the end: the run must have been perfect. */
			CHECK(r.exchanged);
			CHECK_EQ(r.received, OOM_NMSGS);
			/* Other threads make the count vary slightly: be sure. */
			if (++clean_in_a_row == 3)
				break;
		} else {
			clean_in_a_row = 0;
		}
		if (sticky)
			oom_fresh_exchange();
	}
	CHECK(n < OOM_MAX_STEPS);
	return n - 3;
}

static const struct oom_scenario oom_push_pull = {
        .name = "push/pull bind first",
        .snd_type = ZMQ_PUSH,
        .rcv_type = ZMQ_PULL,
};
static const struct oom_scenario oom_pair = {
        .name = "pair bind first",
        .snd_type = ZMQ_PAIR,
        .rcv_type = ZMQ_PAIR,
};
static const struct oom_scenario oom_push_pull_late = {
        .name = "push/pull connect first",
        .snd_type = ZMQ_PUSH,
        .rcv_type = ZMQ_PULL,
        .connect_first = true,
};
static const struct oom_scenario oom_pair_late = {
        .name = "pair connect first",
        .snd_type = ZMQ_PAIR,
        .rcv_type = ZMQ_PAIR,
        .connect_first = true,
};
static const struct oom_scenario oom_pair_3io = {
        .name = "pair, 3 I/O threads",
        .snd_type = ZMQ_PAIR,
        .rcv_type = ZMQ_PAIR,
        .io_threads = 3,
};

static void
oom_sweep_report(const struct oom_scenario *sc, bool sticky)
{
	zn_alloc_fail_after(0, 0);
	oom_clean_run(sc);
	long points = oom_sweep(sc, sticky);
	printf("     %s, %s: %ld allocation points\n", sc->name,
	       sticky ? "sticky" : "one failure", points);
	oom_fresh_exchange();
}

static void
test_push_pull_one_failure(void)
{
	oom_sweep_report(&oom_push_pull, false);
}

static void
test_pair_one_failure(void)
{
	oom_sweep_report(&oom_pair, false);
}

static void
test_push_pull_connect_first_one_failure(void)
{
	oom_sweep_report(&oom_push_pull_late, false);
}

static void
test_pair_connect_first_one_failure(void)
{
	oom_sweep_report(&oom_pair_late, false);
}

static void
test_pair_io_threads_one_failure(void)
{
	oom_sweep_report(&oom_pair_3io, false);
}

static void
test_push_pull_sticky(void)
{
	oom_sweep_report(&oom_push_pull, true);
}

static void
test_pair_connect_first_sticky(void)
{
	oom_sweep_report(&oom_pair_late, true);
}

/* A multipart message whose last part cannot be built is dropped whole; the next
 * message goes through and arrives alone. Deterministic: the failing allocation is
 * the big part's own copy, made in the sending thread. */
static void
test_multipart_failed_last_part_dropped_whole(void)
{
	zn_alloc_fail_after(0, 0);
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
	CHECK(push && pull);
	oom_set_int(pull, ZMQ_RCVTIMEO, 1000);
	oom_set_int(push, ZMQ_LINGER, 0);
	oom_set_int(pull, ZMQ_LINGER, 0);
	CHECK_OK(zmq_bind(pull, "inproc://mp"));
	CHECK_OK(zmq_connect(push, "inproc://mp"));
	char big[2000];
	memset(big, 'b', sizeof big);
	CHECK_EQ(zmq_send(push, "one", 3, ZMQ_SNDMORE), 3);
	CHECK_EQ(zmq_send(push, big, sizeof big, ZMQ_SNDMORE), (int)sizeof big);
	zn_alloc_fail_after(1, 0); /* the third part's heap copy */
	CHECK_ERR(zmq_send(push, big, sizeof big, 0), ENOMEM);
	CHECK_EQ(zn_alloc_failures(), 1);
	zn_alloc_fail_after(0, 0);
	/* The caller starts again from the first part. */
	CHECK_EQ(zmq_send(push, "again", 5, ZMQ_SNDMORE), 5);
	CHECK_EQ(zmq_send(push, "end", 3, 0), 3);
	char buf[16];
	int more;
	size_t len = sizeof more;
	CHECK_EQ(zmq_recv(pull, buf, sizeof buf, 0), 5);
	CHECK(memcmp(buf, "again", 5) == 0);
	CHECK_OK(zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 1);
	CHECK_EQ(zmq_recv(pull, buf, sizeof buf, 0), 3);
	CHECK(memcmp(buf, "end", 3) == 0);
	CHECK_OK(zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 0);
	CHECK_ERR(zmq_recv(pull, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN);
	CHECK_OK(zmq_close(push));
	CHECK_OK(zmq_close(pull));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* zmq_msg_init_size reports ENOMEM and leaves nothing behind; the next one works. */
static void
test_msg_init_size_nomem(void)
{
	zmq_msg_t m;
	zn_alloc_fail_after(1, 0);
	CHECK_ERR(zmq_msg_init_size(&m, 100000), ENOMEM);
	zn_alloc_fail_after(0, 0);
	CHECK_OK(zmq_msg_init_size(&m, 100000));
	CHECK_EQ(zmq_msg_size(&m), 100000);
	CHECK_OK(zmq_msg_close(&m));
	/* Inline messages need no memory at all. */
	zn_alloc_fail_after(1, 1);
	CHECK_OK(zmq_msg_init_size(&m, 8));
	CHECK_OK(zmq_msg_close(&m));
	CHECK_EQ(zn_alloc_failures(), 0);
	zn_alloc_fail_after(0, 0);
}

/* dir_entries: how many entries dir holds, "." and ".." aside. */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* A bind to the ipc wildcard makes a private directory under $TMPDIR before it
 * allocates the endpoint's records; when one of those allocations fails the bind
 * fails with ENOMEM and the directory is gone (it once stayed behind). */
static void
test_ipc_wildcard_bind_nomem_leaves_no_directory(void)
{
	char tmp[] = "/tmp/zinc-oom-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	CHECK(setenv("TMPDIR", tmp, 1) == 0);
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_PULL);
	CHECK(ctx && s);
	int rc = -1;
	for (long n = 1; rc != 0 && n < OOM_MAX_STEPS; n++) {
		zn_alloc_fail_after(n, 0);
		rc = zmq_bind(s, "ipc://*");
		zn_alloc_fail_after(0, 0);
		if (rc < 0) {
			CHECK_EQ(errno, ENOMEM);
			CHECK_EQ(dir_entries(tmp), 0);
		}
	}
	CHECK_OK(rc);
	CHECK_EQ(dir_entries(tmp), 1);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx)); /* the listener has removed its directory */
	CHECK_EQ(dir_entries(tmp), 0);
	CHECK(rmdir(tmp) == 0);
	if (saved)
		CHECK(setenv("TMPDIR", saved, 1) == 0);
	else
		CHECK(unsetenv("TMPDIR") == 0);
	free(saved);
}

static const struct test tests[] = {
        {"zmq_msg_init_size fails cleanly with ENOMEM", test_msg_init_size_nomem},
        {"an ipc wildcard bind that runs out of memory leaves no directory",
         test_ipc_wildcard_bind_nomem_leaves_no_directory},
        {"a multipart whose last part fails is dropped whole",
         test_multipart_failed_last_part_dropped_whole},
        {"push/pull survives a failure at every allocation", test_push_pull_one_failure},
        {"pair survives a failure at every allocation", test_pair_one_failure},
        {"push/pull connect-first survives a failure at every allocation",
         test_push_pull_connect_first_one_failure},
        {"pair connect-first survives a failure at every allocation",
         test_pair_connect_first_one_failure},
        {"a context with 3 I/O threads survives a failure at every allocation",
         test_pair_io_threads_one_failure},
        {"push/pull survives sticky failure from every allocation on",
         test_push_pull_sticky},
        {"pair connect-first survives sticky failure from every allocation on",
         test_pair_connect_first_sticky},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
