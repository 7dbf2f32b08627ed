/*
 * oom_sweep.c: the failure sweep of issue 11 (SQLite's method). Each scenario of the
 * table below runs once with a hook counting its calls (K), then once for every n in
 * 1..K with call n failing: once (only n), and sticky (n and every call after it). Two
 * hooks (src/platform/fault.h): allocations, and the calls that create descriptors or
 * mappings (socket, accept, eventfd, memfd, mmap, epoll_create). Every run must:
 *   - neither crash, abort nor hang (a watchdog ends a run that takes WATCHDOG_S),
 *   - have every call succeed or fail with ENOMEM / EMFILE (EAGAIN where a bounded
 *     wait ended: what it waited for was lost with the failed call),
 *   - deliver each multipart message whole or not at all, in order, at most once,
 *   - deliver everything when no call failed,
 *   - leave nothing behind: no descriptor, no mapping, no file, and (in an ASan build)
 *     no leak, checked after every run by LeakSanitizer.
 * The failing call may be made by the I/O threads (engine, session, listener,
 * handshake, reconnect): the connection must then fail and be retried, never crash.
 * And a service must come back once memory does: in once mode, after the failure,
 * every scenario that can (all but inproc, whose pipe is not remade, and the linger
 * one, whose sender is gone) must carry messages again: a probe sent (again and again,
 * in case one went into a connection that was ending) on each of its connections
 * must arrive within a clean run's wait. A connection left half-attached (up, but
 * with no pipe), a listener left deaf, a subscription dropped: each fails there.
 *
 * Waits are bounded: a clean run waits up to CLEAN_WAIT_MS for anything it expects (a
 * longer wait is a hang, reported); once a failure has happened, the run's waits share
 * a grace period (--grace, default GRACE_MS), enough for a reconnect, then give up.
 * In sticky mode the hooks are disarmed before the sockets are closed: a command
 * mailbox waits for memory rather than drop a shutdown command.
 *
 *   oom_sweep [--stride S] [--hook alloc|fd|both] [--mode once|sticky|both]
 *             [--only NAME[,NAME...]] [--from N] [--to N] [--grace MS] [--verbose]
 *             [--all]
 *
 * --all: the cases of known_open[] too (open bugs, left out by default so that ctest
 * stays green).
 *
 * Exit status 0 when every run passed; the first failing run is named with the
 * arguments that repeat it. zinc only: it reaches the hooks in platform/fault.h.
 */
#include "platform/alloc.h"
#include "platform/fault.h"
#include "testutil.h"
#include "zmq.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_LSAN 1
#endif
#endif
#ifdef SWEEP_LSAN
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

#define CLEAN_WAIT_MS 10000 /* nothing failed: anything expected comes by then */
#define GRACE_MS      150   /* after a failure: long enough for a reconnect */
#define WATCHDOG_S    60    /* one run taking this long hangs */
#define SLICE_MS      5
#define MAX_PARTS     3
#define PEERS         10 /* the ROUTER scenario's DEALERs */

enum hook { HOOK_ALLOC, HOOK_FD };
static const char *const hook_name[] = {"alloc", "fd"};

/* The run in progress: what the checks and the crash handler name. */
static struct {
	const char *scenario;
	enum hook hook;
	bool sticky;
	long n;
	long long fail_seen_ms; /* first wait that saw a failure; 0: none yet */
	bool complete;          /* the scenario delivered everything */
	bool disarmed;
	bool patient; /* recovering: waits as long as a clean run's */
} run;

static int grace_ms = GRACE_MS;
static bool verbose, all_cases;
static char tmpdir[64];
static int ep_seq;
static atomic_llong watchdog_deadline; /* ms; 0: no run in progress */

static long
failures(void)
{
	return zn_alloc_failures() + zn_fd_failures();
}

static void
arm(enum hook h, long n, bool sticky)
{
	zn_alloc_fail_after(h == HOOK_ALLOC ? n : 0, sticky);
	zn_fd_fail_after(h == HOOK_FD ? n : 0, sticky);
}

/* disarm_for_cleanup: in sticky mode, the hook stops before sockets close; the run's
 * failures are remembered. The watchdog thread does the same when memory has been
 * short for RELIEF_MS (see watchdog): hence the lock. */
static long sticky_failures;
static pthread_mutex_t disarm_lock = PTHREAD_MUTEX_INITIALIZER;

static void
disarm_locked(void)
{
	if (run.sticky && !run.disarmed) {
		sticky_failures = failures();
		run.disarmed = true;
		arm(run.hook, 0, false);
	}
}

static void
disarm_for_cleanup(void)
{
	pthread_mutex_lock(&disarm_lock);
	disarm_locked();
	pthread_mutex_unlock(&disarm_lock);
}

static long
run_failures(void)
{
	pthread_mutex_lock(&disarm_lock);
	long n = run.disarmed ? sticky_failures : failures();
	pthread_mutex_unlock(&disarm_lock);
	return n;
}

/* ---------------------------------------------------------------------------- */
/* Checks                                                                        */
/* ---------------------------------------------------------------------------- */

/* err_allowed: an error a failed call may cause. EAGAIN only from a bounded send or
 * receive (the caller says so). */
static bool
err_allowed(int e, bool eagain)
{
	if (e == ENOMEM || (run.hook == HOOK_FD && (e == EMFILE || e == ENFILE)))
		return true;
	return eagain && e == EAGAIN;
}

/* OK: a zmq_* call returning -1 on error succeeded, or failed as a failed call may
 * make it fail, and only after one did. Returns whether it succeeded. */
#define OK(call)      ok_((call) != -1, false, #call, __LINE__)
#define OK_WAIT(call) ok_((call) != -1, true, #call, __LINE__)

static bool
ok_(bool ok, bool eagain, const char *what, int line)
{
	if (ok)
		return true;
	int e = errno;
	if (!err_allowed(e, eagain))
		TEST_FAIL("line %d: %s failed with %s", line, what, strerror(e));
	if (run_failures() == 0)
		TEST_FAIL("line %d: %s failed with %s, but no call failed", line, what,
		          strerror(e));
	return false;
}

/* SOCK: zmq_socket, NULL after an allowed failure. */
static void *
sock_(void *ctx, int type, int line)
{
	void *s = zmq_socket(ctx, type);
	if (!ok_(s != NULL, false, "zmq_socket", line))
		return NULL;
	int zero = 0, ivl = 5;
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl));
	return s;
}
#define SOCK(ctx, type) sock_(ctx, type, __LINE__)

static void
set_int(void *s, int opt, int v)
{
	CHECK_OK(zmq_setsockopt(s, opt, &v, sizeof v));
}

/* wait_for: polls s for ev. A clean run waits up to CLEAN_WAIT_MS (longer is a hang);
 * after a failure, the run's waits together take at most the grace period. */
static bool
wait_for(void *s, short ev)
{
	long long start = test_now_ms();
	for (;;) {
		zmq_pollitem_t it = {s, 0, ev, 0};
		int rc = zmq_poll(&it, 1, SLICE_MS);
		if (rc > 0)
			return true;
		if (rc < 0 && !OK_WAIT(rc))
			return false;
		long long now = test_now_ms();
		if (run.patient && now - start > CLEAN_WAIT_MS) {
			TEST_FAIL(
			        "the failure is behind, but the connection did not come "
			        "back in %d ms",
			        CLEAN_WAIT_MS);
		} else if (run.patient) {
			continue;
		} else if (run_failures() > 0) {
			if (!run.fail_seen_ms)
				run.fail_seen_ms = now;
			if (now - run.fail_seen_ms >= grace_ms)
				return false;
		} else if (now - start > CLEAN_WAIT_MS) {
			TEST_FAIL("no call failed, and a wait for %s took %d ms",
			          ev == ZMQ_POLLIN ? "input" : "output", CLEAN_WAIT_MS);
		}
	}
}

/* ---------------------------------------------------------------------------- */
/* Messages                                                                      */
/* ---------------------------------------------------------------------------- */

/* A message of the exchange: its parts' sizes (the first part's size tells them
 * apart) and whether it is built with zmq_msg_init_size. */
struct msgdef {
	int nparts;
	size_t size[MAX_PARTS];
	bool zero_copy;
};

static const struct msgdef msgs[] = {
        {1, {5}, false},              /* inline */
        {1, {1000}, false},           /* heap */
        {3, {4, 2000, 4}, false},     /* multipart */
        {1, {7}, true},               /* inline, built */
        {3, {3000, 8, 100000}, true}, /* multipart, one part larger than a read */
        {2, {6, 40}, false},          /* multipart, small */
};
#define NMSGS ((int)(sizeof msgs / sizeof msgs[0]))

static unsigned char
byte_of(int k, int p, size_t i)
{
	return (unsigned char)(k * 31 + p * 7 + i * 13 + 1);
}

static void
fill(unsigned char *b, int k, int p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = byte_of(k, p, i);
}

static bool
matches(const unsigned char *b, size_t n, int k, int p)
{
	if (n != msgs[k].size[p])
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i] != byte_of(k, p, i))
			return false;
	return true;
}

/* send_built: message k from parts built first with zmq_msg_init_size (an
 * application cannot take back parts it has sent, so it allocates them all before
 * sending the first). false: not sent (allowed failure). */
static bool
send_built(void *s, const char *env, int k)
{
	const struct msgdef *m = &msgs[k];
	zmq_msg_t part[MAX_PARTS];
	int made = 0;
	bool sent = true;
	for (; made < m->nparts && sent; made++) {
		if (!OK(zmq_msg_init_size(&part[made], m->size[made])))
			break;
		fill(zmq_msg_data(&part[made]), k, made, m->size[made]);
	}
	sent = made == m->nparts;
	if (sent && env)
		sent = OK_WAIT(zmq_send(s, env, strlen(env), ZMQ_SNDMORE | ZMQ_DONTWAIT));
	for (int p = 0; p < m->nparts && sent; p++)
		sent = OK_WAIT(zmq_msg_send(&part[p], s,
		                            (p + 1 < m->nparts ? ZMQ_SNDMORE : 0) |
		                                    ZMQ_DONTWAIT));
	for (int p = 0; p < made; p++)
		CHECK_OK(zmq_msg_close(&part[p])); /* sent parts are empty */
	return sent;
}

/* send_msg: message k, after an envelope frame if env is not NULL. A part that fails
 * drops the message whole (the next one starts from its first part). */
static bool
send_msg(void *s, const char *env, int k)
{
	static unsigned char buf[100000];
	const struct msgdef *m = &msgs[k];
	if (!wait_for(s, ZMQ_POLLOUT))
		return false;
	if (m->zero_copy)
		return send_built(s, env, k);
	if (env && !OK_WAIT(zmq_send(s, env, strlen(env), ZMQ_SNDMORE | ZMQ_DONTWAIT)))
		return false;
	for (int p = 0; p < m->nparts; p++) {
		int more = p + 1 < m->nparts ? ZMQ_SNDMORE : 0;
		fill(buf, k, p, m->size[p]);
		if (!OK_WAIT(zmq_send(s, buf, m->size[p], more | ZMQ_DONTWAIT)))
			return false;
	}
	return true;
}

/* recv_frame: the next frame, which must be there already when `now` (a later part
 * of a message). Returns its size or -1 (nothing came). */
static int
recv_frame(void *s, zmq_msg_t *f, bool now)
{
	if (!now && !wait_for(s, ZMQ_POLLIN))
		return -1;
	int rc = zmq_msg_recv(f, s, ZMQ_DONTWAIT);
	if (rc == -1 && now)
		TEST_FAIL("a message arrived partially: %s", strerror(errno));
	if (rc == -1)
		OK_WAIT(rc);
	return rc;
}

/* describe_frame: which part of which message a frame is, if any (a diagnosis). */
static void
describe_frame(const unsigned char *b, size_t n)
{
	for (int k = 0; k < NMSGS; k++)
		for (int p = 0; p < msgs[k].nparts; p++)
			if (matches(b, n, k, p))
				fprintf(stderr, "  the frame is part %d of message %d\n",
				        p, k);
}

/* A probe (see await_probe); no part 0 of msgs[] has its size. */
static const char probe_body[10] = "probe-zinc";

static bool
is_probe(zmq_msg_t *f, int rc)
{
	return rc == (int)sizeof probe_body && !zmq_msg_more(f) &&
	       memcmp(zmq_msg_data(f), probe_body, sizeof probe_body) == 0;
}

/* recv_from: the next message, after an envelope frame equal to one of envs[0..nenv)
 * if nenv > 0. It must be whole and one of msgs[next[e]..] for its envelope e:
 * messages may be lost, never reordered or repeated. Returns e (0 without envelopes),
 * -1 when nothing came within the wait, -2 - e for a probe. */
static int
recv_from(void *s, const char *const *envs, int nenv, int *next)
{
	zmq_msg_t f;
	int e = 0;
	CHECK_OK(zmq_msg_init(&f));
	int rc = recv_frame(s, &f, false);
	if (rc < 0) {
		CHECK_OK(zmq_msg_close(&f));
		return -1;
	}
	if (nenv > 0) {
		CHECK(zmq_msg_more(&f));
		while (e < nenv && (rc != (int)strlen(envs[e]) ||
		                    memcmp(zmq_msg_data(&f), envs[e], (size_t)rc) != 0))
			e++;
		if (e == nenv)
			TEST_FAIL("a foreign envelope (%d bytes)", rc);
		rc = recv_frame(s, &f, true);
	}
	if (is_probe(&f, rc)) {
		CHECK_OK(zmq_msg_close(&f));
		return -2 - e;
	}
	int k = next[e];
	while (k < NMSGS && !matches(zmq_msg_data(&f), (size_t)rc, k, 0))
		k++;
	if (k == NMSGS)
		describe_frame(zmq_msg_data(&f), (size_t)rc);
	if (k == NMSGS)
		TEST_FAIL("a foreign, repeated or reordered message (%d bytes, after %d)",
		          rc, next[e]);
	for (int p = 1; p < msgs[k].nparts; p++) {
		CHECK(zmq_msg_more(&f));
		rc = recv_frame(s, &f, true);
		if (!matches(zmq_msg_data(&f), (size_t)rc, k, p))
			TEST_FAIL("message %d part %d differs", k, p);
	}
	CHECK(!zmq_msg_more(&f));
	CHECK_OK(zmq_msg_close(&f));
	next[e] = k + 1;
	return e;
}

/* recv_msg: recv_from with one envelope, or none (env NULL); false: nothing came. */
static bool
recv_msg(void *s, const char *env, int *next)
{
	return recv_from(s, &env, env ? 1 : 0, next) >= 0;
}

/* recovering: once mode, with the failure behind: the run must come back. */
static bool
recovering(void)
{
	return !run.sticky && failures() > 0;
}

#define RESEND_MS                                                                        \
	100 /* a probe again, in case the last went into an ending connection            \
	     */

/* send_probe: a probe from s, after envelope env if not NULL; lost if s cannot take
 * it now (a ROUTER, an XPUB with no such peer yet; a PUSH with no connection). */
static void
send_probe(void *s, const char *env)
{
	if (env && zmq_send(s, env, strlen(env), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		OK_WAIT(-1);
		return;
	}
	if (zmq_send(s, probe_body, sizeof probe_body, ZMQ_DONTWAIT) < 0)
		OK_WAIT(-1); /* with an envelope (ROUTER, XPUB): never, they drop */
}

/* A probe's way: from snd (after envelope snd_env), to rcv, whose messages come
 * after one of envs[0..nenv) (none when nenv is 0), from envelope want. */
struct probe_way {
	void *snd;
	const char *snd_env;
	void *rcv;
	const char *const *envs;
	int nenv, want;
	int *next;                  /* rcv's next message per envelope (recv_from) */
	void (*between)(void *arg); /* called while waiting (reads other sockets) */
	void *arg;
};

/* await_probe: (recovering) the connection comes back: a probe sent along w, again
 * every RESEND_MS, arrives within a clean run's wait; whatever else arrives meanwhile
 * is checked (late messages of the exchange, whole, in order; other probes). */
static void
await_probe(const struct probe_way *w, const char *what)
{
	long long start = test_now_ms(), sent = 0;
	run.patient = true;
	for (;;) {
		long long now = test_now_ms();
		if (now - start > CLEAN_WAIT_MS)
			TEST_FAIL("the failure is behind, but %s did not come back in %d "
			          "ms",
			          what, CLEAN_WAIT_MS);
		if (w->between)
			w->between(w->arg);
		if (now - sent >= RESEND_MS) {
			send_probe(w->snd, w->snd_env);
			sent = now;
		}
		zmq_pollitem_t it = {w->rcv, 0, ZMQ_POLLIN, 0};
		int rc = zmq_poll(&it, 1, SLICE_MS);
		if (rc < 0)
			TEST_FAIL("zmq_poll: %s", strerror(errno));
		if (rc > 0 &&
		    recv_from(w->rcv, w->envs, w->nenv, w->next) == -2 - w->want)
			break;
	}
	run.patient = false;
}

/* probe: (recovering) snd's messages reach rcv again, neither with envelopes. */
static void
probe(void *snd, void *rcv, int *next, const char *what)
{
	if (!recovering())
		return;
	struct probe_way w = {.snd = snd, .rcv = rcv, .next = next};
	await_probe(&w, what);
}

/* exchange_next: every message from snd to rcv (with envelopes when given), rcv's
 * next index in *next (see recv_from); true when all arrived. */
static bool
exchange_next(void *snd, const char *snd_env, void *rcv, const char *rcv_env, int *next)
{
	int sent = 0;
	for (int k = 0; k < NMSGS; k++)
		sent += send_msg(snd, snd_env, k);
	while (*next < NMSGS && recv_msg(rcv, rcv_env, next))
		;
	return sent == NMSGS && *next == NMSGS;
}

/* ---------------------------------------------------------------------------- */
/* Endpoints and the context                                                     */
/* ---------------------------------------------------------------------------- */

enum tr { INPROC, TCP, IPC, SHM };

/* bind_ep: binds s to a fresh endpoint of transport t; *ep is what to connect to. */
static bool
bind_ep(void *s, enum tr t, char *ep, size_t len)
{
	switch (t) {
	case INPROC: snprintf(ep, len, "inproc://e%d", ep_seq++); break;
	case TCP: snprintf(ep, len, "tcp://127.0.0.1:*"); break;
	case IPC: snprintf(ep, len, "ipc://%s/e%d", tmpdir, ep_seq++); break;
	case SHM: snprintf(ep, len, "shm://e%d", ep_seq++); break;
	}
	if (!OK(zmq_bind(s, ep)))
		return false;
	if (t == TCP)
		CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len));
	return true;
}

/* ctx_open: a context, NULL after an allowed failure. */
static void *
ctx_open(void)
{
	void *ctx = zmq_ctx_new();
	ok_(ctx != NULL, false, "zmq_ctx_new", __LINE__);
	return ctx;
}

/* close_all: disarms (sticky mode), closes the sockets given, terminates ctx. */
static void
close_all(void *ctx, void **socks, int n)
{
	disarm_for_cleanup();
	for (int i = 0; i < n; i++)
		if (socks[i])
			CHECK_OK(zmq_close(socks[i]));
	if (ctx)
		CHECK_OK(zmq_ctx_term(ctx));
}

/* ---------------------------------------------------------------------------- */
/* Scenarios                                                                     */
/* ---------------------------------------------------------------------------- */

/* push_pull: bind, connect, every message, close, term over transport t; with
 * connect_first the connect waits (reconnecting) for the bind. */
static void
push_pull(enum tr t, bool connect_first)
{
	void *ctx = ctx_open(), *s[2] = {NULL, NULL};
	char ep[256];
	if (!ctx)
		return;
	if (!(s[0] = SOCK(ctx, ZMQ_PULL)) || !(s[1] = SOCK(ctx, ZMQ_PUSH)))
		goto out;
	if (connect_first) {
		snprintf(ep, sizeof ep, "ipc://%s/e%d", tmpdir, ep_seq++);
		if (!OK(zmq_connect(s[1], ep)) || !OK(zmq_bind(s[0], ep)))
			goto out;
	} else if (!bind_ep(s[0], t, ep, sizeof ep) || !OK(zmq_connect(s[1], ep))) {
		goto out;
	}
	int next = 0;
	run.complete = exchange_next(s[1], NULL, s[0], NULL, &next);
	if (t != INPROC) /* an inproc pipe that could not be attached stays ended */
		probe(s[1], s[0], &next, "the connection");
out:
	close_all(ctx, s, 2);
}

static void
sc_inproc(void)
{
	push_pull(INPROC, false);
}
static void
sc_tcp(void)
{
	push_pull(TCP, false);
}
static void
sc_ipc(void)
{
	push_pull(IPC, false);
}
static void
sc_shm(void)
{
	push_pull(SHM, false);
}
static void
sc_ipc_reconnect(void)
{
	push_pull(IPC, true);
}

/* sc_router: a ROUTER and PEERS DEALERs over tcp: each DEALER sends every message,
 * the ROUTER takes them (a peer's in order, the peers interleaved), then answers each
 * peer by its routing id. */
static void
sc_router(void)
{
	void *ctx = ctx_open(), *s[PEERS + 1] = {NULL};
	char ep[256], idbuf[PEERS][8];
	const char *id[PEERS];
	int sent = 0, got = 0, next[PEERS] = {0}, back[PEERS] = {0};
	bool all = true;
	if (!ctx)
		return;
	if (!(s[0] = SOCK(ctx, ZMQ_ROUTER)) || !bind_ep(s[0], TCP, ep, sizeof ep))
		goto out;
	for (int i = 0; i < PEERS; i++) {
		snprintf(idbuf[i], sizeof idbuf[i], "peer%d", i);
		id[i] = idbuf[i];
		if (!(s[i + 1] = SOCK(ctx, ZMQ_DEALER)))
			goto out;
		CHECK_OK(zmq_setsockopt(s[i + 1], ZMQ_ROUTING_ID, id[i], strlen(id[i])));
		if (!OK(zmq_connect(s[i + 1], ep)))
			goto out;
	}
	for (int i = 0; i < PEERS; i++)
		for (int k = 0; k < NMSGS; k++)
			sent += send_msg(s[i + 1], NULL, k);
	while (got < PEERS * NMSGS && recv_from(s[0], id, PEERS, next) >= 0)
		got++;
	for (int i = 0; i < PEERS; i++)
		all &= exchange_next(s[0], id[i], s[i + 1], NULL, &back[i]);
	run.complete = all && sent == PEERS * NMSGS && got == PEERS * NMSGS;
	for (int i = 0; i < PEERS && recovering(); i++) {
		/* Each peer is heard again, then answered by its id. */
		struct probe_way in = {.snd = s[i + 1],
		                       .rcv = s[0],
		                       .envs = id,
		                       .nenv = PEERS,
		                       .want = i,
		                       .next = next};
		struct probe_way out = {
		        .snd = s[0], .snd_env = id[i], .rcv = s[i + 1], .next = &back[i]};
		await_probe(&in, "a DEALER's connection");
		await_probe(&out, "the ROUTER's way to a DEALER");
	}
out:
	close_all(ctx, s, PEERS + 1);
}

/* sub_message: the topic index of a (un)subscription message "\1topic" / "\0topic"
 * of b (rc bytes), *sub telling which; a foreign one fails the run. */
static int
sub_message(const char *b, int rc, const char *const *topic, int n, bool *sub)
{
	for (int i = 0; i < n; i++)
		if (rc == (int)strlen(topic[i]) + 1 && (b[0] == 1 || b[0] == 0) &&
		    memcmp(b + 1, topic[i], strlen(topic[i])) == 0) {
			*sub = b[0] == 1;
			return i;
		}
	TEST_FAIL("a foreign subscription message (%d bytes)", rc);
}

/* sub_arrives: the XPUB receives a subscription message "\1topic" for one of the
 * topics, in any order (each SUB has its own connection); returns its index or -1.
 * An unsubscription (a SUB's connection that ended, after a failure) is -1 too. */
static int
sub_arrives(void *xpub, const char *const *topic, int n)
{
	char buf[64];
	bool sub;
	if (!wait_for(xpub, ZMQ_POLLIN))
		return -1;
	int rc = zmq_recv(xpub, buf, sizeof buf, ZMQ_DONTWAIT);
	if (!OK_WAIT(rc))
		return -1;
	int i = sub_message(buf, rc, topic, n, &sub);
	if (!sub && run_failures() == 0)
		TEST_FAIL("an unsubscription, but no call failed");
	return sub ? i : -1;
}

static const char *const pub_topic[3] = {"alpha", "beta", "gamma"};

/* pub_drain: (recovering) reads what the XPUB has for its application: each one a
 * (un)subscription of one of the topics. */
static void
pub_drain(void *xpub)
{
	char buf[64];
	bool sub;
	int rc;
	while ((rc = zmq_recv(xpub, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0)
		(void)sub_message(buf, rc, pub_topic, 3, &sub);
	CHECK(errno == EAGAIN);
}

/* sc_pub: an XPUB over tcp with three SUBs; each subscription must arrive at the XPUB
 * before messages on its topic are published, and each SUB gets its topic's. After a
 * failure (once), each SUB's subscription reaches the XPUB again (one lost to the
 * failure must not be lost silently: its connection is made again, and the SUB
 * resends it), and a probe on its topic reaches it. */
static void
sc_pub(void)
{
	void *ctx = ctx_open(), *s[4] = {NULL};
	const char *const *topic = pub_topic;
	char ep[256];
	int next[3] = {0};
	bool all = true;
	if (!ctx)
		return;
	if (!(s[0] = SOCK(ctx, ZMQ_XPUB)) || !bind_ep(s[0], TCP, ep, sizeof ep))
		goto out;
	for (int i = 0; i < 3; i++) {
		if (!(s[i + 1] = SOCK(ctx, ZMQ_SUB)))
			goto out;
		if (!OK(zmq_setsockopt(s[i + 1], ZMQ_SUBSCRIBE, topic[i],
		                       strlen(topic[i]))) ||
		    !OK(zmq_connect(s[i + 1], ep)))
			goto out;
	}
	int arrived = 0;
	for (int i = 0; i < 3; i++) {
		int t = sub_arrives(s[0], topic, 3);
		if (t < 0 || arrived & (1 << t))
			all = false; /* lost, or the XPUB passed a duplicate */
		else
			arrived |= 1 << t;
	}
	for (int i = 0; i < 3 && all; i++)
		all &= exchange_next(s[0], topic[i], s[i + 1], topic[i], &next[i]);
	run.complete = all;
	for (int i = 0; i < 3 && recovering(); i++) {
		struct probe_way w = {.snd = s[0],
		                      .snd_env = topic[i],
		                      .rcv = s[i + 1],
		                      .envs = &topic[i],
		                      .nenv = 1,
		                      .next = &next[i],
		                      .between = pub_drain,
		                      .arg = s[0]};
		await_probe(&w, "a SUB's subscription");
	}
out:
	close_all(ctx, s, 4);
}

/* sc_linger: a PUSH in a context of its own sends over tcp and closes with a linger;
 * zmq_ctx_term returns within it, and what arrived is a whole prefix in order. */
static void
sc_linger(void)
{
	void *ctx = ctx_open(), *ctx2 = NULL, *pull = NULL, *push = NULL;
	char ep[256];
	int sent = 0, next = 0;
	if (!ctx)
		return;
	if (!(pull = SOCK(ctx, ZMQ_PULL)) || !bind_ep(pull, TCP, ep, sizeof ep))
		goto out;
	if (!(ctx2 = ctx_open()) || !(push = SOCK(ctx2, ZMQ_PUSH)))
		goto out;
	set_int(push, ZMQ_LINGER, 2 * grace_ms);
	if (!OK(zmq_connect(push, ep)))
		goto out;
	for (int k = 0; k < NMSGS; k++)
		sent += send_msg(push, NULL, k);
	disarm_for_cleanup();
	CHECK_OK(zmq_close(push));
	push = NULL;
	long long t0 = test_now_ms();
	CHECK_OK(zmq_ctx_term(ctx2));
	ctx2 = NULL;
	if (test_now_ms() - t0 > 2 * grace_ms + 5000 * ZINC_TEST_SLOWDOWN)
		TEST_FAIL("zmq_ctx_term took %lld ms with a linger of %d ms",
		          test_now_ms() - t0, 2 * grace_ms);
	while (next < NMSGS && recv_msg(pull, NULL, &next))
		;
	run.complete = sent == NMSGS && next == NMSGS;
out:
	close_all(ctx2, &push, 1);
	close_all(ctx, &pull, 1);
}

/* read_events: reads the monitor's events (each two frames, whole) for the grace
 * period or until the three of a connection's life came; returns which came. */
static int
read_events(void *mon)
{
	int seen = 0;
	const int want =
	        ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
	while ((seen & want) != want) {
		zmq_msg_t f;
		CHECK_OK(zmq_msg_init(&f));
		int rc = recv_frame(mon, &f, false);
		if (rc < 0) {
			CHECK_OK(zmq_msg_close(&f));
			break;
		}
		CHECK_EQ(rc, 6);
		CHECK(zmq_msg_more(&f));
		uint16_t ev;
		memcpy(&ev, zmq_msg_data(&f), 2);
		seen |= ev;
		rc = recv_frame(mon, &f, true);
		CHECK(!zmq_msg_more(&f));
		CHECK_OK(zmq_msg_close(&f));
	}
	return seen;
}

/* sc_monitor: a tcp PULL with a monitor; its events come whole while a PUSH connects
 * and delivers. */
static void
sc_monitor(void)
{
	void *ctx = ctx_open(), *s[3] = {NULL};
	char ep[256], mon_ep[32];
	bool monitored = false;
	if (!ctx)
		return;
	snprintf(mon_ep, sizeof mon_ep, "inproc://mon%d", ep_seq++);
	if (!(s[0] = SOCK(ctx, ZMQ_PULL)) || !(s[1] = SOCK(ctx, ZMQ_PUSH)) ||
	    !(s[2] = SOCK(ctx, ZMQ_PAIR)))
		goto out;
	if (!OK(zmq_socket_monitor(s[0], mon_ep, ZMQ_EVENT_ALL)))
		goto out;
	monitored = true;
	if (!OK(zmq_connect(s[2], mon_ep)) || !bind_ep(s[0], TCP, ep, sizeof ep) ||
	    !OK(zmq_connect(s[1], ep)))
		goto out;
	int next = 0;
	bool all = exchange_next(s[1], NULL, s[0], NULL, &next);
	int seen = read_events(s[2]);
	run.complete = all && seen == (ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED |
	                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	probe(s[1], s[0], &next, "the monitored connection");
out:
	disarm_for_cleanup();
	if (monitored)
		CHECK_OK(zmq_socket_monitor(s[0], NULL, 0));
	close_all(ctx, s, 3);
}

/* The ZAP handler of the PLAIN scenario: answers every request 200 until stopped. */
static atomic_bool zap_stop;

static void
zap_answer(void *zap)
{
	char frame[8][256];
	int len[8], n = 0, more = 1;
	while (more && n < 8) {
		len[n] = zmq_recv(zap, frame[n], sizeof frame[n], ZMQ_DONTWAIT);
		if (len[n] < 0)
			return; /* a failure took the request; the client retries */
		size_t sz = sizeof more;
		if (zmq_getsockopt(zap, ZMQ_RCVMORE, &more, &sz) < 0)
			return;
		n++;
	}
	if (n < 6)
		return; /* not a request: the client's handshake fails */
	const char *reply[] = {"1.0", NULL, "200", "OK", "user", ""};
	for (int i = 0; i < 6; i++) {
		const void *d = i == 1 ? frame[1] : reply[i];
		size_t l = i == 1 ? (size_t)len[1] : strlen(reply[i]);
		if (zmq_send(zap, d, l, i < 5 ? ZMQ_SNDMORE : 0) < 0)
			return;
	}
}

static void *
zap_thread(void *zap)
{
	while (!atomic_load(&zap_stop)) {
		zmq_pollitem_t it = {zap, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, SLICE_MS) > 0)
			zap_answer(zap);
	}
	return NULL;
}

/* secure_pair: a DEALER server and client of mechanism mech over tcp exchange every
 * message both ways; with PLAIN, a ZAP handler in its own thread says yes. */
enum mech { PLAIN, CURVE };
static const char server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

static void
secure_pair(enum mech mech)
{
	void *ctx = ctx_open(), *s[3] = {NULL};
	char ep[256];
	pthread_t zt;
	bool zap = false;
	if (!ctx)
		return;
	if (mech == PLAIN) {
		if (!(s[2] = SOCK(ctx, ZMQ_REP)) ||
		    !OK(zmq_bind(s[2], "inproc://zeromq.zap.01")))
			goto out;
		atomic_store(&zap_stop, false);
		CHECK(pthread_create(&zt, NULL, zap_thread, s[2]) == 0);
		zap = true;
	}
	if (!(s[0] = SOCK(ctx, ZMQ_DEALER)) || !(s[1] = SOCK(ctx, ZMQ_DEALER)))
		goto out;
	if (mech == PLAIN) {
		set_int(s[0], ZMQ_PLAIN_SERVER, 1);
		CHECK_OK(zmq_setsockopt(s[1], ZMQ_PLAIN_USERNAME, "admin", 5));
		CHECK_OK(zmq_setsockopt(s[1], ZMQ_PLAIN_PASSWORD, "secret", 6));
	} else {
		set_int(s[0], ZMQ_CURVE_SERVER, 1);
		CHECK_OK(zmq_setsockopt(s[0], ZMQ_CURVE_SECRETKEY, server_secret, 40));
		CHECK_OK(zmq_setsockopt(s[1], ZMQ_CURVE_SERVERKEY, server_public, 40));
		CHECK_OK(zmq_setsockopt(s[1], ZMQ_CURVE_PUBLICKEY, client_public, 40));
		CHECK_OK(zmq_setsockopt(s[1], ZMQ_CURVE_SECRETKEY, client_secret, 40));
	}
	if (!bind_ep(s[0], TCP, ep, sizeof ep) || !OK(zmq_connect(s[1], ep)))
		goto out;
	int next[2] = {0, 0};
	run.complete = exchange_next(s[1], NULL, s[0], NULL, &next[0]) &&
	               exchange_next(s[0], NULL, s[1], NULL, &next[1]);
	probe(s[1], s[0], &next[0], "the client's way");
	probe(s[0], s[1], &next[1], "the server's way");
out:
	if (zap) {
		atomic_store(&zap_stop, true);
		CHECK(pthread_join(zt, NULL) == 0);
	}
	close_all(ctx, s, 3);
}

static void
sc_plain(void)
{
	secure_pair(PLAIN);
}
static void
sc_curve(void)
{
	secure_pair(CURVE);
}

struct scenario {
	const char *name;
	void (*fn)(void);
};

static const struct scenario scenarios[] = {
        {"inproc", sc_inproc},
        {"tcp", sc_tcp},
        {"ipc", sc_ipc},
        {"shm", sc_shm},
        {"ipc-reconnect", sc_ipc_reconnect},
        {"router-10", sc_router},
        {"pub-subscriptions", sc_pub},
        {"ctx-term-linger", sc_linger},
        {"monitor", sc_monitor},
        {"plain", sc_plain},
        {"curve", sc_curve},
        {NULL, NULL},
};

/* ---------------------------------------------------------------------------- */
/* What a run leaves behind                                                      */
/* ---------------------------------------------------------------------------- */

/* count_entries: entries of dir whose name starts with prefix ("" for all). */
static int
count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.' &&
		     strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* count_maps: this process's mappings of memfds (shm:// rings). */
static int
count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	CHECK(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

struct residue {
	int fds, maps, files, rdv;
};

static void
residue(struct residue *r)
{
	char rdv[96];
	snprintf(rdv, sizeof rdv, "%s/zinc", tmpdir);
	r->fds = count_entries("/proc/self/fd", "");
	r->maps = count_maps();
	r->files = count_entries(tmpdir, "e");
	r->rdv = count_entries(rdv, "");
}

/* ---------------------------------------------------------------------------- */
/* The driver                                                                    */
/* ---------------------------------------------------------------------------- */

static void
print_run(void)
{
	fprintf(stderr,
	        "oom_sweep: run --only %s --hook %s --mode %s --from %ld --to %ld\n",
	        run.scenario, hook_name[run.hook], run.sticky ? "sticky" : "once", run.n,
	        run.n);
}

static void
on_crash(int sig)
{
	char buf[160];
	int n = snprintf(
	        buf, sizeof buf, "oom_sweep: signal %d in %s, %s hook, %s, n=%ld\n", sig,
	        run.scenario, hook_name[run.hook], run.sticky ? "sticky" : "once", run.n);
	if (n > 0)
		(void)!write(2, buf, (size_t)n);
	signal(sig, SIG_DFL);
	raise(sig);
}

#ifdef SWEEP_LSAN
static void
on_sanitizer_death(void)
{
	print_run();
}
#endif

/* RELIEF_MS: in sticky mode, memory comes back after this long, as it does for a
 * real service. Until then a command mailbox waits for memory rather than drop a
 * command (core/mailbox.c), and when the thread that waits is the one that would
 * drain that mailbox (an I/O thread's command to its own objects), or the
 * application's thread is the one stuck, nothing moves before memory comes back:
 * that is a wait, not a hang, as long as it ends when memory does. */
#define RELIEF_MS 3000

static void *
watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		/* A watchdog polls the clock; nothing to wait on. */
		struct timespec slice = {0, 100 * 1000 * 1000};
		nanosleep(&slice, NULL);
		long long d = atomic_load(&watchdog_deadline), now = test_now_ms();
		if (d && now > d) {
			fprintf(stderr, "oom_sweep: a run hangs (%d s)\n", WATCHDOG_S);
			print_run();
			_exit(3);
		}
		if (d && now > d - WATCHDOG_S * 1000LL + RELIEF_MS) {
			pthread_mutex_lock(&disarm_lock);
			if (atomic_load(&watchdog_deadline) == d) /* still that run */
				disarm_locked();                  /* sticky runs only */
			pthread_mutex_unlock(&disarm_lock);
		}
	}
	return NULL;
}

struct stats {
	long runs, failed_runs, complete_despite, k[2];
};

/* one_run: scenario sc with call n of hook h failing (n = 0: none; LONG_MAX: count).
 * Checks what the run leaves behind; returns the calls counted. */
static long
one_run(const struct scenario *sc, enum hook h, long n, bool sticky, struct stats *st)
{
	struct residue before, after;
	pthread_mutex_lock(&disarm_lock); /* the watchdog's disarm_for_cleanup */
	memset(&run, 0, sizeof run);
	run.scenario = sc->name;
	run.hook = h;
	run.n = n;
	run.sticky = sticky;
	pthread_mutex_unlock(&disarm_lock);
	if (verbose)
		print_run();
	residue(&before);
	pthread_mutex_lock(&disarm_lock);
	atomic_store(&watchdog_deadline, test_now_ms() + WATCHDOG_S * 1000LL);
	arm(h, n, sticky);
	pthread_mutex_unlock(&disarm_lock);
	if (setjmp(test_jmp) != 0) {
		print_run();
		exit(1);
	}
	sc->fn();
	long calls = h == HOOK_ALLOC ? zn_alloc_calls() : zn_fd_calls();
	long failed = run_failures();
	arm(h, 0, false);
	atomic_store(&watchdog_deadline, 0);
	if (failed == 0 && !run.complete)
		TEST_FAIL("no call failed, but the scenario did not deliver everything");
	residue(&after);
	if (after.fds != before.fds || after.maps != before.maps ||
	    after.files != before.files || after.rdv != before.rdv)
		TEST_FAIL("left behind: %d descriptors, %d memfd mappings, %d ipc files, "
		          "%d "
		          "rendezvous files",
		          after.fds - before.fds, after.maps - before.maps,
		          after.files - before.files, after.rdv - before.rdv);
#ifdef SWEEP_LSAN
	if (__lsan_do_recoverable_leak_check())
		TEST_FAIL("LeakSanitizer found a leak");
#endif
	if (st) {
		st->runs++;
		st->failed_runs += failed > 0;
		st->complete_despite += failed > 0 && run.complete;
	}
	return calls;
}

static long stride = 1, from = 1, to = LONG_MAX;

/* Open findings (see the closing note of issue 11): swept only with --all, so that the
 * strided ctest run stays deterministic until they are fixed. None is open now: the
 * leaks of a peer's metadata (sticky; session.c, pipe.c) and the connections that
 * never came back after a failure (once; see the recovery check) are fixed. */
static const struct {
	const char *scenario;
	enum hook hook;
	int modes; /* 1 once, 2 sticky */
	const char *why;
} known_open[] = {
        {NULL, HOOK_ALLOC, 0, NULL},
};

/* known_modes: the modes of sc and h to leave out. */
static int
known_modes(const char *sc, enum hook h)
{
	int m = 0;
	for (size_t i = 0; !all_cases && known_open[i].scenario; i++)
		if (!strcmp(known_open[i].scenario, sc) && known_open[i].hook == h) {
			printf("  (left out: %s %s %s: %s)\n", sc, hook_name[h],
			       known_open[i].modes & 2 ? "sticky" : "once",
			       known_open[i].why);
			m |= known_open[i].modes;
		}
	return m;
}

/* sweep: counts the scenario's calls of hook h, then fails each in turn. */
static void
sweep(const struct scenario *sc, enum hook h, int modes, struct stats *st)
{
	long k = one_run(sc, h, LONG_MAX, false, NULL);
	st->k[h] = k;
	modes &= ~known_modes(sc->name, h);
	for (int m = 0; m < 2; m++) {
		if (!(modes & (1 << m)))
			continue;
		for (long n = from; n <= k && n <= to; n += stride)
			one_run(sc, h, n, m == 1, st);
	}
}

/* name_listed: name is one of the comma-separated names of list. */
static bool
name_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: oom_sweep [--stride S] [--hook alloc|fd|both] "
	        "[--mode once|sticky|both] [--only NAME[,NAME...]] [--from N] [--to N] "
	        "[--grace MS] [--verbose] [--all]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int hooks = 3, modes = 3;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verbose") || !strcmp(a, "--all")) {
			verbose |= !strcmp(a, "--verbose");
			all_cases |= !strcmp(a, "--all");
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--stride"))
			stride = atol(v) > 0 ? atol(v) : 1;
		else if (!strcmp(a, "--from"))
			from = atol(v) > 0 ? atol(v) : 1;
		else if (!strcmp(a, "--to"))
			to = atol(v);
		else if (!strcmp(a, "--grace"))
			grace_ms = atoi(v);
		else if (!strcmp(a, "--only"))
			only = v;
		else if (!strcmp(a, "--hook"))
			hooks = !strcmp(v, "alloc") ? 1 : !strcmp(v, "fd") ? 2 : 3;
		else if (!strcmp(a, "--mode"))
			modes = !strcmp(v, "once") ? 1 : !strcmp(v, "sticky") ? 2 : 3;
		else
			usage();
	}
	if (stride > 1 && from == 1)
		from = 1 +
		       (long)(getpid() % stride); /* each CI run covers other points */
	snprintf(tmpdir, sizeof tmpdir, "/tmp/zinc-oom-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK(setenv("XDG_RUNTIME_DIR", tmpdir, 1) == 0); /* shm:// rendezvous */
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGPIPE, SIG_IGN);
#ifdef SWEEP_LSAN
	__sanitizer_set_death_callback(on_sanitizer_death);
#endif
	pthread_t wd;
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0);
	printf("oom_sweep: stride %ld from %ld, grace %d ms\n", stride, from, grace_ms);
	long total_runs = 0, total_failed = 0;
	for (const struct scenario *sc = scenarios; sc->name; sc++) {
		if (only && !name_listed(only, sc->name))
			continue;
		struct stats st = {0};
		long long t0 = test_now_ms();
		one_run(sc, HOOK_ALLOC, 0, false, NULL); /* clean */
		for (int h = 0; h < 2; h++)
			if (hooks & (1 << h))
				sweep(sc, (enum hook)h, modes, &st);
		printf("%-18s K alloc %5ld, K fd %3ld: %6ld runs, %6ld with a failure "
		       "(%ld delivered all the same), %.1f s\n",
		       sc->name, st.k[0], st.k[1], st.runs, st.failed_runs,
		       st.complete_despite, (double)(test_now_ms() - t0) / 1000);
		fflush(stdout);
		total_runs += st.runs;
		total_failed += st.failed_runs;
	}
	printf("oom_sweep: %ld runs, %ld with a failure injected, all passed\n",
	       total_runs, total_failed);
	char rdv[96];
	snprintf(rdv, sizeof rdv, "%s/zinc", tmpdir);
	rmdir(rdv);
	rmdir(tmpdir);
	return 0;
}
