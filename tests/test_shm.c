/*
 * test_shm.c: the shm:// transport's endpoints and lifetime (issue 6): zmq_has, name
 * syntax, ZMQ_LAST_ENDPOINT, bind/connect in either order, unbind and disconnect,
 * EADDRINUSE (in this process and another), a stale socket file from a SIGKILLed
 * binder, the ring size option, message sizes from 0 B to 64 MiB through a 64 KiB and
 * the default ring, multipart integrity, SNDHWM/RCVHWM, a peer killed with SIGKILL
 * (also half-way through a message larger than the ring) and a new one after it, what a
 * peer sent just before it exited, and that nothing is left behind: no descriptor, no
 * memfd mapping, no /dev/shm entry, no socket file. The socket types between two
 * processes are in test_shm_types.c, hostile ring writers in test_shm_hostile.c.
 *
 * Peers are forked processes (shm_util.h); waits are socket timeouts, zmq_poll, pipes
 * between the processes and monitor events, never sleeps. Under valgrind the counts
 * and sizes shrink.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shm_util.h"

#include "pipe/pipe.h" /* white box: which road a socket's pipe uses */
#include "socket/socket.h"

#define MAX_SIZE   ((size_t)64 << 20)
#define QUICK_SIZE ((size_t)4 << 20)
#define SMALL_RING (64 << 10)
#define DEF_RING   ((size_t)4 << 20)
#define CTL_BYTES  4096

static char ep[64]; /* the case's endpoint, set before the kids are forked */

/* ---------------------------------------------------------------------------- */
/* Endpoints                                                                     */
/* ---------------------------------------------------------------------------- */

static void
has_shm(void)
{
	CHECK_EQ(zmq_has("shm"), 1);
}

static void
bad_names(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	char long_name[80] = "shm://";
	memset(long_name + 6, 'a', 65);
	const char *bad[] = {"shm://", "shm://a/b", "shm://.x", long_name, "shm://a b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_ERR(zmq_bind(s, bad[i]), EINVAL);
		CHECK_ERR(zmq_connect(s, bad[i]), EINVAL);
	}
	long_name[6 + 64] = '\0'; /* 64 characters: the longest name */
	CHECK_OK(zmq_bind(s, long_name));
	char got[128];
	last_endpoint(s, got, sizeof got);
	CHECK_STR(got, long_name);
	CHECK(is_socket_file(shm_file(long_name)));
	sock_close(s);
}

/* pair_exchange: one message each way between two connected PAIRs. */
static void
pair_exchange(void *a, void *b)
{
	send_str(a, "ping", 0);
	recv_str(b, "ping");
	send_str(b, "pong", 0);
	recv_str(a, "pong");
}

static void
bind_connect_one_process(void)
{
	ctx_open();
	void *b = sock_open(ZMQ_PAIR), *c = sock_open(ZMQ_PAIR);
	char got[64];
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_bind(b, ep));
	last_endpoint(b, got, sizeof got);
	CHECK_STR(got, ep);
	CHECK(is_socket_file(shm_file(ep)));
	CHECK_OK(zmq_connect(c, ep));
	last_endpoint(c, got, sizeof got);
	CHECK_STR(got, ep);
	pair_exchange(c, b);
	size_t bytes = 0;
	CHECK_EQ(memfd_maps(&bytes), 2); /* both ends of the connection are here */
	CHECK_EQ(bytes, CTL_BYTES + 2 * DEF_RING);

	/* Connect first: messages queue and flow once the bind appears. */
	void *c2 = sock_open(ZMQ_PAIR), *b2 = sock_open(ZMQ_PAIR);
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_connect(c2, ep));
	send_str(c2, "early", 0);
	CHECK_OK(zmq_bind(b2, ep));
	recv_str(b2, "early");
	pair_exchange(c2, b2);
}

static void
kid_connect_send(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	hear(kid_in, WAIT_MS, 'G');
	CHECK_OK(zmq_connect(s, ep));
	send_str(s, "from kid", 0);
	recv_str(s, "from parent");
}

static void
kid_bind_recv(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	hear(kid_in, WAIT_MS, 'G');
	CHECK_OK(zmq_bind(s, ep));
	recv_str(s, "from parent");
	send_str(s, "from kid", 0);
	/* Linger is 0: closing before the parent has the reply could drop it (with
	 * spinning, while the writing side is still being handed to the ring). */
	hear(kid_in, WAIT_MS, 'D');
}

static void
bind_connect_two_processes(void)
{
	/* Bind first, the kid connects. */
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_connect_send, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_bind(s, ep));
	tell(kids[k].to, 'G');
	recv_str(s, "from kid");
	send_str(s, "from parent", 0);
	kid_reap(k, WAIT_MS);
	ctx_close();

	/* Connect first and send; the kid binds afterwards. */
	shm_new(ep, sizeof ep);
	k = kid_spawn(kid_bind_recv, NULL);
	ctx_open();
	s = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_connect(s, ep));
	send_str(s, "from parent", 0);
	tell(kids[k].to, 'G');
	recv_str(s, "from kid");
	tell(kids[k].to, 'D');
	kid_reap(k, WAIT_MS);
}

static void
unbind_and_rebind(void)
{
	ctx_open();
	void *b = sock_open(ZMQ_PAIR), *c = sock_open(ZMQ_PAIR);
	void *mon = monitor_open(c, ZMQ_EVENT_ALL);
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_bind(b, ep));
	CHECK_OK(zmq_connect(c, ep));
	pair_exchange(c, b);
	CHECK_OK(zmq_unbind(b, ep));
	CHECK(wait_file_gone(shm_file(ep))); /* unbind is asynchronous */
	CHECK_ERR(zmq_unbind(b, ep), ENOENT);
	monitor_until(mon, ZMQ_EVENT_DISCONNECTED); /* unbind closes what it accepted */
	wait_no_memfd();

	/* Reconnect like ipc://: a new binder of the name gets the connection. */
	void *b2 = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_bind(b2, ep));
	pair_exchange(c, b2);
	sock_close(b2);
	CHECK(wait_file_gone(shm_file(ep))); /* close removes it too */
}

/* A binder's monitor names the endpoint by its shm:// URI in every event, LISTENING
 * included (it once showed the rendezvous socket's ipc:// path there). */
static void
binder_events_name_the_uri(void)
{
	ctx_open();
	void *b = sock_open(ZMQ_PAIR), *c = sock_open(ZMQ_PAIR);
	void *mon = monitor_open(b, ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED |
	                                    ZMQ_EVENT_CLOSED);
	char got[512];
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_bind(b, ep));
	monitor_expect(mon, ZMQ_EVENT_LISTENING, NULL, got, sizeof got);
	CHECK_STR(got, ep);
	CHECK_OK(zmq_connect(c, ep));
	monitor_expect(mon, ZMQ_EVENT_ACCEPTED, NULL, got, sizeof got);
	CHECK_STR(got, ep);
	pair_exchange(c, b);
	CHECK_OK(zmq_unbind(b, ep));
	monitor_expect(mon, ZMQ_EVENT_CLOSED, NULL, got, sizeof got);
	CHECK_STR(got, ep);
}

static void
disconnect(void)
{
	ctx_open();
	void *a = sock_open(ZMQ_PULL), *b = sock_open(ZMQ_PULL), *p = sock_open(ZMQ_PUSH);
	void *mon = monitor_open(p, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	char ea[64], eb[64];
	shm_new(ea, sizeof ea);
	shm_new(eb, sizeof eb);
	CHECK_OK(zmq_bind(a, ea));
	CHECK_OK(zmq_bind(b, eb));
	CHECK_OK(zmq_connect(p, ea));
	CHECK_OK(zmq_connect(p, eb));
	monitor_expect(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	monitor_expect(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	CHECK_OK(zmq_disconnect(p, ea));
	CHECK_ERR(zmq_disconnect(p, ea), ENOENT);
	for (uint64_t i = 0; i < 20; i++)
		send_u64(p, i, 0);
	for (uint64_t i = 0; i < 20; i++)
		CHECK_EQ(recv_u64(b), i);
	CHECK(!readable(a, 50));
}

static void
kid_bind_hold(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_bind(s, ep));
	tell(kid_out, 'B');
	hear(kid_in, WAIT_MS * 2, 'Q'); /* a stale-file case kills us here */
}

static void
addr_in_use(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_bind_hold, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PULL), *t = sock_open(ZMQ_PULL);
	hear(kids[k].from, WAIT_MS, 'B');
	CHECK_ERR(zmq_bind(s, ep), EADDRINUSE); /* bound in another process */
	tell(kids[k].to, 'Q');
	kid_reap(k, WAIT_MS);
	CHECK(!is_socket_file(shm_file(ep))); /* the kid's close removed it */
	CHECK_OK(zmq_bind(s, ep));
	CHECK_ERR(zmq_bind(t, ep), EADDRINUSE); /* bound in this process */
	CHECK_ERR(zmq_bind(s, ep), EADDRINUSE); /* and by the same socket */
	void *p = sock_open(ZMQ_PUSH);
	CHECK_OK(zmq_connect(p, ep));
	send_str(p, "still bound", 0);
	recv_str(s, "still bound");
}

static void
stale_file(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_bind_hold, NULL);
	hear(kids[k].from, WAIT_MS, 'B');
	kid_kill(k);
	CHECK(is_socket_file(shm_file(ep))); /* the dead binder's file */
	ctx_open();
	void *s = sock_open(ZMQ_PULL), *p = sock_open(ZMQ_PUSH);
	CHECK_OK(zmq_bind(s, ep));
	CHECK_OK(zmq_connect(p, ep));
	send_str(p, "replaced", 0);
	recv_str(s, "replaced");
}

static void
ring_size_option(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	int v = 0;
	size_t len = sizeof v;
	CHECK_OK(zmq_getsockopt(s, ZINC_SHM_RING_SIZE, &v, &len));
	CHECK_EQ(v, DEF_RING);
	set_int(s, ZINC_SHM_RING_SIZE, SMALL_RING);
	CHECK_OK(zmq_getsockopt(s, ZINC_SHM_RING_SIZE, &v, &len));
	CHECK_EQ(v, SMALL_RING);
	v = 2048;
	CHECK_ERR(zmq_setsockopt(s, ZINC_SHM_RING_SIZE, &v, sizeof v), EINVAL);
	v = 512 << 20;
	CHECK_ERR(zmq_setsockopt(s, ZINC_SHM_RING_SIZE, &v, sizeof v), EINVAL);
	/* zinc.h: "a power of two". */
	v = 5000;
	CHECK_ERR(zmq_setsockopt(s, ZINC_SHM_RING_SIZE, &v, sizeof v), EINVAL);
}

/* ---------------------------------------------------------------------------- */
/* Sizes and multipart                                                           */
/* ---------------------------------------------------------------------------- */

static const size_t sizes[] = {0,
                               1,
                               7,
                               8,
                               9,
                               48,
                               49,
                               255,
                               4088,
                               4096,
                               4097,
                               32760,
                               32768,
                               32769,
                               65536,
                               65537,
                               131072,
                               1u << 20,
                               (1u << 20) + 3,
                               4u << 20,
                               (4u << 20) + 1,
                               16u << 20,
                               64u << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static int ring_opt; /* the kid's ZINC_SHM_RING_SIZE; 0: the default */

static void
kid_sizes(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	if (ring_opt)
		set_int(s, ZINC_SHM_RING_SIZE, ring_opt);
	CHECK_OK(zmq_connect(s, ep));
	for (size_t i = 0; i < NSIZES && sizes[i] <= pat_max; i++)
		send_sized(s, sizes[i], 0);
	for (size_t i = 0; i < NSIZES && sizes[i] <= pat_max; i++)
		recv_sized(s, sizes[i], false);
	tell(kid_out, 'D');
}

static void
sizes_through(int ring)
{
	ring_opt = ring;
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_sizes, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_bind(s, ep));
	for (size_t i = 0; i < NSIZES && sizes[i] <= pat_max; i++)
		recv_sized(s, sizes[i], false);
	size_t bytes = 0;
	CHECK_EQ(memfd_maps(&bytes), 1); /* the ring the kid made, of the size it asked */
	CHECK_EQ(bytes, CTL_BYTES + 2 * (size_t)(ring ? ring : (int)DEF_RING));
	for (size_t i = 0; i < NSIZES && sizes[i] <= pat_max; i++)
		send_sized(s, sizes[i], 0);
	hear(kids[k].from, WAIT_MS * 2, 'D');
	kid_reap(k, WAIT_MS);
}

static void
sizes_small_ring(void)
{
	sizes_through(SMALL_RING);
}

static void
sizes_default_ring(void)
{
	sizes_through(0);
}

#define MP_MSGS 300
static const size_t part_sizes[] = {0, 1, 100, 4000, 20000, 40000, 70000, 300000, 8};
#define NPARTS (sizeof part_sizes / sizeof part_sizes[0])

static size_t
mp_size(int msg, int part)
{
	return part_sizes[(size_t)(msg * 3 + part * 5) % NPARTS];
}

static void
kid_multipart(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open_default(ZMQ_PUSH); /* linger: all of it goes */
	set_int(s, ZINC_SHM_RING_SIZE, SMALL_RING);
	CHECK_OK(zmq_connect(s, ep));
	for (int i = 0; i < MP_MSGS; i++) {
		int parts = 1 + i % 7;
		for (int j = 0; j < parts; j++)
			send_sized(s, mp_size(i, j), j + 1 < parts ? ZMQ_SNDMORE : 0);
	}
	sock_close(s); /* with its linger (ctx_close would set 0) */
}

static void
multipart(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_multipart, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_bind(s, ep));
	for (int i = 0; i < MP_MSGS; i++) {
		int parts = 1 + i % 7;
		for (int j = 0; j < parts; j++)
			recv_sized(s, mp_size(i, j), j + 1 < parts);
	}
	kid_reap(k, WAIT_MS);
}

/* ---------------------------------------------------------------------------- */
/* HWM                                                                           */
/* ---------------------------------------------------------------------------- */

static void
kid_slow_pull(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	set_int(s, ZMQ_RCVHWM, 10);
	CHECK_OK(zmq_bind(s, ep));
	tell(kid_out, 'B');
	hear(kid_in, WAIT_MS * 4, 'R'); /* not reading until then */
	uint64_t n = 0;
	char buf[16];
	for (;;) {
		int r = zmq_recv(s, buf, sizeof buf, 0);
		CHECK(r == 8 || r == 3);
		if (r == 3)
			break;
		uint64_t v;
		memcpy(&v, buf, sizeof v);
		CHECK_EQ(v, n);
		n++;
	}
	tell_u64(kid_out, n);
}

static void
hwm(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_slow_pull, NULL);
	ctx_open();
	void *p = sock_open(ZMQ_PUSH);
	set_int(p, ZMQ_SNDHWM, 10);
	set_int(p, ZINC_SHM_RING_SIZE, SMALL_RING); /* we connect: our ring size */
	void *mon = monitor_open(p, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	hear(kids[k].from, WAIT_MS, 'B');
	CHECK_OK(zmq_connect(p, ep));
	monitor_expect(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	/* Fill: DONTWAIT until EAGAIN, then again whenever the socket becomes writable,
	 * until it stays full. The pipes (10 + 10) and the ring (64 KiB of 16-byte
	 * records) hold at most about 4100 such messages. */
	uint64_t sent = 0;
	int eagain = 0;
	for (;;) {
		if (zmq_send(p, &sent, 8, ZMQ_DONTWAIT) == 8) {
			sent++;
			CHECK(sent < 20000);
			continue;
		}
		CHECK_EQ(errno, EAGAIN);
		eagain++;
		zmq_pollitem_t it = {p, 0, ZMQ_POLLOUT, 0};
		int rc = zmq_poll(&it, 1, 300);
		CHECK(rc >= 0);
		if (rc == 0)
			break; /* full, and stays full */
	}
	CHECK(eagain > 0);
	CHECK(sent >= 10);
	CHECK(sent <= 10 + 10 + SMALL_RING / 16 + 64);
	tell(kids[k].to, 'R');
	send_str(p, "end", 0);
	CHECK_EQ(hear_u64(kids[k].from, WAIT_MS), sent);
	kid_reap(k, WAIT_MS);
}

/* ---------------------------------------------------------------------------- */
/* Dead peers and what is left behind                                            */
/* ---------------------------------------------------------------------------- */

static int
devshm_count(void)
{
	return dir_count("/dev/shm");
}

static void
kid_pair_hello(void *arg)
{
	const char *word = arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	hear(kid_in, WAIT_MS * 2, 'G');
	CHECK_OK(zmq_connect(s, ep));
	send_str(s, word, 0);
	recv_str(s, "bye");
	tell(kid_out, 'D');
	hear(kid_in, WAIT_MS * 2, 'Q'); /* the first kid is killed here */
}

/* wait_no_pipes: runs s's commands (zmq_poll does, as it waits on the socket's
 * mailbox) until s has no pipe left; bounded. White box: the pipe count. */
static void
wait_no_pipes(void *handle)
{
	struct socket *sock = handle;
	long long end = test_now_ms() + WAIT_MS;
	zmq_pollitem_t it = {handle, 0, ZMQ_POLLIN, 0};
	while (sock->pipes.n > 0 && test_now_ms() < end)
		(void)zmq_poll(&it, 1, 10);
	CHECK_EQ(sock->pipes.n, 0);
}

static void
peer_killed_then_new_peer(void)
{
	int fds = fd_count(), shm = devshm_count();
	shm_new(ep, sizeof ep);
	int k1 = kid_spawn(kid_pair_hello, "one"), k2 = kid_spawn(kid_pair_hello, "two");
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	void *mon = monitor_open(s, ZMQ_EVENT_ALL);
	CHECK_OK(zmq_bind(s, ep));
	tell(kids[k1].to, 'G');
	recv_str(s, "one");
	send_str(s, "bye", 0);
	hear(kids[k1].from, WAIT_MS, 'D');
	CHECK_EQ(memfd_maps(NULL), 1);
	kid_kill(k1);
	monitor_until(mon, ZMQ_EVENT_DISCONNECTED);
	wait_no_memfd(); /* the dead peer's ring is gone at once */
	/* A PAIR refuses a second peer while its first pipe lives (libzmq too), and that
	 * pipe ends only after a round trip of commands through the socket's thread: let
	 * it finish before the new peer comes, or the new peer's pipe may be refused and
	 * its message lost (seen under load). */
	wait_no_pipes(s);

	tell(kids[k2].to, 'G');
	recv_str(s, "two");
	send_str(s, "bye", 0);
	hear(kids[k2].from, WAIT_MS, 'D');
	tell(kids[k2].to, 'Q');
	kid_reap(k2, WAIT_MS);
	ctx_close();
	CHECK(!is_socket_file(shm_file(ep)));
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(devshm_count(), shm);
	CHECK_EQ(fd_count(), fds);
}

static void
kid_pull_one(void *arg)
{
	const char *word = arg;
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	hear(kid_in, WAIT_MS * 2, 'G');
	CHECK_OK(zmq_bind(s, ep));
	recv_str(s, word);
	tell(kid_out, 'D');
	hear(kid_in, WAIT_MS * 2, 'Q');
}

/* The connecting side survives its binder's death and reconnects to the next one,
 * which replaces the dead one's socket file. */
static void
binder_killed_then_new_binder(void)
{
	int fds = fd_count();
	shm_new(ep, sizeof ep);
	int k1 = kid_spawn(kid_pull_one, "one"), k2 = kid_spawn(kid_pull_one, "two");
	ctx_open();
	void *p = sock_open(ZMQ_PUSH);
	void *mon = monitor_open(p, ZMQ_EVENT_ALL);
	CHECK_OK(zmq_connect(p, ep));
	send_str(p, "one", 0);
	tell(kids[k1].to, 'G');
	hear(kids[k1].from, WAIT_MS, 'D');
	kid_kill(k1);
	monitor_until(mon, ZMQ_EVENT_DISCONNECTED);
	wait_no_memfd();
	CHECK(is_socket_file(shm_file(ep)));
	send_str(p, "two", 0); /* queued until the next binder */
	tell(kids[k2].to, 'G');
	hear(kids[k2].from, WAIT_MS, 'D');
	tell(kids[k2].to, 'Q');
	kid_reap(k2, WAIT_MS);
	ctx_close();
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(fd_count(), fds);
}

static void
kid_big_then_hold(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	set_int(s, ZINC_SHM_RING_SIZE, SMALL_RING);
	/* Not spinning: a spinning sender writes the ring itself, and its zmq_send of a
	 * message larger than the ring returns only once the reader has taken the rest
	 * (the reader, spinning or not, is what this case is about). */
	set_int(s, ZINC_SHM_SPIN_US, 0);
	CHECK_OK(zmq_connect(s, ep));
	send_sized(s, pat_max, 0);
	tell(kid_out, 'S');
	hear(kid_in, WAIT_MS * 2, 'Q');
}

/* SIGKILL while a message larger than the ring streams: the half-assembled message is
 * dropped with the connection (valgrind sees it freed). */
static void
killed_mid_message(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_big_then_hold, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	void *mon = monitor_open(s, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(s, ep));
	hear(kids[k].from, WAIT_MS, 'S');
	long long end = test_now_ms() + WAIT_MS;
	while (memfd_maps(NULL) == 0 && test_now_ms() < end)
		(void)poll(NULL, 0, 1);
	kid_kill(k);
	monitor_expect(mon, ZMQ_EVENT_DISCONNECTED, NULL, NULL, 0);
	wait_no_memfd();
	CHECK(!readable(s, 20)); /* the partial message is never delivered */
}

static void
nothing_left_one_process(void)
{
	int fds = fd_count(), shm = devshm_count();
	ctx_open();
	const int types[][2] = {
	        {ZMQ_PAIR, ZMQ_PAIR}, {ZMQ_PULL, ZMQ_PUSH}, {ZMQ_REP, ZMQ_REQ}};
	void *bs[3], *c[3];
	char eps[3][64];
	for (int i = 0; i < 3; i++) {
		shm_new(ep, sizeof ep);
		memcpy(eps[i], ep, sizeof ep);
		bs[i] = sock_open(types[i][0]);
		c[i] = sock_open(types[i][1]);
		CHECK_OK(zmq_bind(bs[i], ep));
		CHECK_OK(zmq_connect(c[i], ep));
		send_str(c[i], "x", 0);
		recv_str(bs[i], "x");
	}
	CHECK_EQ(memfd_maps(NULL), 6);
	CHECK(fd_count() > fds);
	ctx_close();
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(devshm_count(), shm);
	CHECK_EQ(fd_count(), fds);
	for (int i = 0; i < 3; i++)
		CHECK(!is_socket_file(shm_file(eps[i])));
}

/* ---------------------------------------------------------------------------- */
/* A peer that exits right after sending                                         */
/* ---------------------------------------------------------------------------- */

static uint64_t tail_n;

static void
kid_send_and_exit(void *arg)
{
	(void)arg;
	ctx_open();
	void *s = sock_open_default(ZMQ_PUSH); /* linger -1: close waits for delivery */
	CHECK_OK(zmq_connect(s, ep));
	for (uint64_t i = 0; i < tail_n; i++)
		send_u64(s, i, 0);
	sock_close(s); /* linger -1; then ctx_term and _exit: all of it must arrive */
}

/* Like ipc://, where the kernel keeps what a dead writer sent, a message that a peer
 * sent before it closed and exited is delivered: its ring outlives it. */
static void
peer_exits_after_send(void)
{
	tail_n = quick ? 20000 : 100000; /* fits the 4 MiB ring plus the pipes */
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_send_and_exit, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	void *mon = monitor_open(s, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(s, ep));
	kid_reap(k, WAIT_MS * 2); /* gone before we read anything */
	uint64_t i = 0;
	for (; i < tail_n; i++) {
		uint64_t v = 0;
		int n = zmq_recv(s, &v, sizeof v, 0);
		if (n < 0)
			TEST_FAIL(
			        "lost %llu of %llu messages sent before the peer exited",
			        (unsigned long long)(tail_n - i),
			        (unsigned long long)tail_n);
		CHECK_EQ(v, i);
	}
	monitor_expect(mon, ZMQ_EVENT_DISCONNECTED, NULL, NULL, 0);
}

/* A dead peer's EOF while our pipe is full must not spin the I/O thread. */
static void
dead_peer_full_pipe_no_spin(void)
{
	tail_n = quick ? 20000 : 100000;
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_send_and_exit, NULL);
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	CHECK_OK(zmq_bind(s, ep));
	kid_reap(k, WAIT_MS * 2);
	/* Measuring windows, not a synchronisation. The I/O thread may still be busy
	 * with what came before when the first starts (valgrind runs it late, and slow);
	 * a spinning thread spins in every window, so one quiet window of three passes.
	 */
	long long cpu = 0, wall = 0;
	for (int w = 0; w < 3; w++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		long long w0 = test_now_ms();
		(void)poll(NULL, 0, 300);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		wall = test_now_ms() - w0;
		cpu = (t1.tv_sec - t0.tv_sec) * 1000 +
		      (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (cpu * 2 <= wall)
			return;
	}
	TEST_FAIL("%lld ms of CPU in %lld ms while idle with a dead peer", cpu, wall);
}

SHM_CASE(has_shm)
SHM_CASE(bad_names)
SHM_CASE(bind_connect_one_process)
SHM_CASE(bind_connect_two_processes)
SHM_CASE(unbind_and_rebind)
SHM_CASE(binder_events_name_the_uri)
SHM_CASE(disconnect)
SHM_CASE(addr_in_use)
SHM_CASE(stale_file)
SHM_CASE(ring_size_option)
SHM_CASE(sizes_small_ring)
SHM_CASE(sizes_default_ring)
SHM_CASE(multipart)
SHM_CASE(hwm)
SHM_CASE(peer_killed_then_new_peer)
SHM_CASE(binder_killed_then_new_binder)
SHM_CASE(killed_mid_message)
SHM_CASE(nothing_left_one_process)
SHM_CASE(peer_exits_after_send)
/* ---------------------------------------------------------------------------- */
/* Spinning: the application thread uses the rings itself                        */
/* ---------------------------------------------------------------------------- */

static int echo_spin; /* the kid's ZINC_SHM_SPIN_US */

static void
kid_echo(void *arg)
{
	int n = *(int *)arg;
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	set_int(s, ZINC_SHM_SPIN_US, echo_spin);
	CHECK_OK(zmq_connect(s, ep));
	char buf[64];
	for (int i = 0; i < n; i++) {
		int len = zmq_recv(s, buf, sizeof buf, 0);
		CHECK(len >= 0);
		CHECK_EQ(zmq_send(s, buf, (size_t)len, 0), len);
	}
	tell(kid_out, 'D');
}

/* the_pipe: the single pipe of a PAIR, and what it uses (white box). */
static struct pipe *
the_pipe(void *handle)
{
	struct socket *s = handle;
	CHECK_EQ(s->pipes.n, 1);
	return s->pipes.items[0];
}

static void
echo_with_spin(int spin, bool writes_direct)
{
	echo_spin = spin;
	int n = 600; /* the road attaches properties 256 references at a time: 3 batches
	              */
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_echo, &n);
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	set_int(s, ZINC_SHM_SPIN_US, spin);
	CHECK_OK(zmq_bind(s, ep));
	for (int i = 0; i < n; i++) {
		char word[16];
		snprintf(word, sizeof word, "w%d", i);
		send_str(s, word, 0);
		zmq_msg_t m;
		zmq_msg_init(&m);
		CHECK_EQ(zmq_msg_recv(&m, s, 0), (int)strlen(word));
		CHECK(memcmp(zmq_msg_data(&m), word, strlen(word)) == 0);
		/* The connection's properties come with messages read either way. */
		const char *type = zmq_msg_gets(&m, "Socket-Type");
		CHECK(type && strcmp(type, "PAIR") == 0);
		zmq_msg_close(&m);
	}
	struct pipe *p = the_pipe(s);
	CHECK(pipe_has_direct(p)); /* the socket's thread reads the ring either way */
	CHECK_EQ(pipe_writes_direct(p), writes_direct);
	hear(kids[k].from, WAIT_MS, 'D');
	kid_reap(k, WAIT_MS);
}

static void
spinning_pair_uses_the_rings_itself(void)
{
	echo_with_spin(200, true);
}

/* Without spinning the socket's thread reads the ring and shares its writing with the
 * I/O thread (pipe/direct.h): never handed over. */
static void
sleeping_pair_shares_the_writing(void)
{
	echo_with_spin(0, false);
}

/* Without spinning a send never waits for the reader, as over any transport: one
 * thread sends more than the ring holds (messages that fill it, a message that must
 * stream, multipart messages whose later parts find the ring full) with DONTWAIT,
 * and only then reads it all, in order, from the other socket. The sender's thread
 * writes what fits into the ring and queues the rest for its I/O thread. */
static void
one_thread_sends_more_than_the_ring_then_reads(void)
{
	ctx_open();
	void *pull = sock_open(ZMQ_PAIR), *push = sock_open(ZMQ_PAIR);
	set_int(push, ZINC_SHM_RING_SIZE, SMALL_RING);
	set_int(push, ZINC_SHM_SPIN_US, 0); /* also in test_shm_spin */
	set_int(pull, ZINC_SHM_SPIN_US, 0);
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_bind(pull, ep));
	CHECK_OK(zmq_connect(push, ep));
	/* Until the sender has taken its road (at a wake-up it may take a while to run
	 * commands: a send runs them at most once a millisecond), then once more, so
	 * that its I/O thread has reached the road's marker. */
	for (int i = 0; !pipe_has_direct(the_pipe(push)); i++) {
		CHECK(i < 1000);
		send_str(push, "x", 0);
		recv_str(pull, "x");
	}
	send_str(push, "x", 0);
	recv_str(pull, "x");
	const size_t small = 1000, big = 3 * SMALL_RING, n = 2 * SMALL_RING / small;
	for (size_t i = 0; i < n; i++)
		send_sized(push, small, ZMQ_DONTWAIT);
	send_sized(push, big, ZMQ_DONTWAIT);
	for (int i = 0; i < 20; i++) {
		send_sized(push, small, ZMQ_DONTWAIT | ZMQ_SNDMORE);
		send_sized(push, 3 * small, ZMQ_DONTWAIT | ZMQ_SNDMORE);
		send_sized(push, 0, ZMQ_DONTWAIT);
	}
	for (size_t i = 0; i < n; i++)
		recv_sized(pull, small, false);
	recv_sized(pull, big, false);
	for (int i = 0; i < 20; i++) {
		recv_sized(pull, small, true);
		recv_sized(pull, 3 * small, true);
		recv_sized(pull, 0, false);
	}
	/* And back to the road once the I/O thread is done. */
	send_str(push, "y", 0);
	recv_str(pull, "y");
	CHECK(pipe_has_direct(the_pipe(push)));
}

/* A spinning sender writes the ring itself: a message too large to go in whole is
 * started only where it fits, so ZMQ_DONTWAIT still means "do not wait". */
static void
spinning_large_send_does_not_block(void)
{
	ctx_open();
	void *pull = sock_open(ZMQ_PULL), *push = sock_open(ZMQ_PUSH);
	set_int(pull, ZINC_SHM_SPIN_US, 100); /* reads only when asked */
	set_int(push, ZINC_SHM_SPIN_US, 100);
	set_int(push, ZINC_SHM_RING_SIZE, SMALL_RING);
	shm_new(ep, sizeof ep);
	CHECK_OK(zmq_bind(pull, ep));
	CHECK_OK(zmq_connect(push, ep));
	/* Small messages until the PUSH writes the ring itself: the road is offered
	 * once the handshake is done, and handed over at the next send after that. */
	for (int i = 0; !pipe_writes_direct(the_pipe(push)); i++) {
		CHECK(i < 1000);
		send_str(push, "x", 0);
		recv_str(pull, "x");
	}
	const size_t big = 40000; /* more than half of the 64 KiB ring: it streams */
	send_sized(push, big, 0);
	CHECK_ERR(zmq_send(push, pattern(big), big, ZMQ_DONTWAIT), EAGAIN);
	recv_sized(pull, big, false);
	send_sized(push, big, 0);
	recv_sized(pull, big, false);
}

SHM_CASE(dead_peer_full_pipe_no_spin)
SHM_CASE(spinning_large_send_does_not_block)
SHM_CASE(spinning_pair_uses_the_rings_itself)
SHM_CASE(sleeping_pair_shares_the_writing)
SHM_CASE(one_thread_sends_more_than_the_ring_then_reads)

static const struct test tests[] = {
        SHM_ENTRY(has_shm),
        SHM_ENTRY(bad_names),
        SHM_ENTRY(bind_connect_one_process),
        SHM_ENTRY(bind_connect_two_processes),
        SHM_ENTRY(unbind_and_rebind),
        SHM_ENTRY(binder_events_name_the_uri),
        SHM_ENTRY(disconnect),
        SHM_ENTRY(addr_in_use),
        SHM_ENTRY(stale_file),
        SHM_ENTRY(ring_size_option),
        SHM_ENTRY(sizes_small_ring),
        SHM_ENTRY(sizes_default_ring),
        SHM_ENTRY(multipart),
        SHM_ENTRY(hwm),
        SHM_ENTRY(peer_killed_then_new_peer),
        SHM_ENTRY(binder_killed_then_new_binder),
        SHM_ENTRY(killed_mid_message),
        SHM_ENTRY(nothing_left_one_process),
        SHM_ENTRY(peer_exits_after_send),
        SHM_ENTRY(dead_peer_full_pipe_no_spin),
        SHM_ENTRY(spinning_pair_uses_the_rings_itself),
        SHM_ENTRY(spinning_large_send_does_not_block),
        SHM_ENTRY(sleeping_pair_shares_the_writing),
        SHM_ENTRY(one_thread_sends_more_than_the_ring_then_reads),
        {NULL, NULL},
};

int
main(int argc, char **argv)
{
	return shm_main(argc, argv, tests, MAX_SIZE, QUICK_SIZE);
}
