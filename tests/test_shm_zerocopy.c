/*
 * test_shm_zerocopy.c: zero-copy large messages over shm:// (ZINC_SHM_ZEROCOPY,
 * zinc_msg_init_shm; issue 12). A received message of at least the threshold points
 * into the sender's pool, mapped read-only ("memfd:zinc-pool", r--s in /proc/self/maps);
 * a message made by zinc_msg_init_shm lives in the pool the sender maps writable (rw-s).
 * The cases: round trips of 1 MiB and sizes around the threshold, multipart, a message
 * held after its connection, its sender and its sender's process are gone, a full pool
 * (the sends copy instead, and lend again once bodies come back), a pool message that
 * also goes to a tcp peer, a receiver that dies holding bodies (they come back to the
 * pool), and hostile peers: one that lends records naming memory outside its pool or
 * before passing it, and one that hands back bogus, repeated and out-of-range names;
 * two contexts with a pool each, terminated in either order while bodies are held; a
 * lender's context terminated while another context holds its bodies.
 * Every case ends with no mapping and no descriptor left.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shm_util.h"

#include "platform/shm.h"
#include "proto/shm_ring.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define ZC_MIN (64 * 1024)
#define MIB    (1024 * 1024)

static char ep[64];

/* pool_map: how addr is mapped when it lies in a pool: 'w' in the writable mapping of
 * our own pool, 'r' in a read-only mapping of a peer's, 0 elsewhere. */
static int
pool_map(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f);
	char line[512];
	int kind = 0;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (!strstr(line, "memfd:zinc-pool"))
			continue;
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (a >= lo && a < hi)
			kind = perms[1] == 'w' ? 'w' : 'r';
	}
	fclose(f);
	return kind;
}

static void
zc_on(void *s)
{
	set_int(s, ZINC_SHM_ZEROCOPY, ZC_MIN);
}

/* pool_msg: a size-byte message from zinc_msg_init_shm, filled with its pattern. */
static void
pool_msg(zmq_msg_t *m, void *s, size_t size)
{
	CHECK_OK(zinc_msg_init_shm(m, s, size));
	memcpy(zmq_msg_data(m), pattern(size), size);
}

static void
send_pool(void *s, size_t size, int flags)
{
	zmq_msg_t m;
	pool_msg(&m, s, size);
	CHECK_EQ(pool_map(zmq_msg_data(&m)), 'w');
	CHECK_EQ(zmq_msg_send(&m, s, flags), (int)size);
}

/* recv_kept: the next message, which must be size bytes of its pattern; its mapping
 * kind (pool_map) is returned and the message left open in *m. */
static int
recv_kept(void *s, zmq_msg_t *m, size_t size)
{
	zmq_msg_init(m);
	int n = zmq_msg_recv(m, s, 0);
	if (n < 0)
		TEST_FAIL("recv of %zu bytes: %s", size, zmq_strerror(errno));
	CHECK_EQ((size_t)n, size);
	CHECK(memcmp(zmq_msg_data(m), pattern(size), size) == 0);
	return pool_map(zmq_msg_data(m));
}

static int
recv_kind(void *s, size_t size)
{
	zmq_msg_t m;
	int kind = recv_kept(s, &m, size);
	zmq_msg_close(&m);
	return kind;
}

/* pair_up: a PUSH (connecting) and a PULL (bound) over a fresh shm:// name, both with
 * zero-copy on, connected and warmed up (the pools are exchanged after the switch, so
 * a small message round trip is not enough: wait until a large one is lent). */
static void
pair_up(void **push, void **pull)
{
	shm_new(ep, sizeof ep);
	*pull = sock_open(ZMQ_PULL);
	zc_on(*pull);
	CHECK_OK(zmq_bind(*pull, ep));
	*push = sock_open(ZMQ_PUSH);
	zc_on(*push);
	CHECK_OK(zmq_connect(*push, ep));
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		send_pool(*push, ZC_MIN, 0);
		if (recv_kind(*pull, ZC_MIN) == 'r')
			break;
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 1);
	}
}

static void
round_trip_one_mib(void)
{
	ctx_open();
	void *push, *pull;
	pair_up(&push, &pull);
	for (int i = 0; i < 20; i++) {
		send_pool(push, MIB, 0);
		CHECK_EQ(recv_kind(pull, MIB), 'r');
	}
	/* A plain message is copied once into the pool, and lent. */
	send_sized(push, MIB, 0);
	CHECK_EQ(recv_kind(pull, MIB), 'r');
	/* Received bodies are read-only. */
	zmq_msg_t m;
	send_pool(push, MIB, 0);
	CHECK_EQ(recv_kept(pull, &m, MIB), 'r');
	CHECK_EQ(zmq_msg_size(&m), (size_t)MIB);
	zmq_msg_close(&m);
}

static void
sizes_around_the_threshold(void)
{
	ctx_open();
	void *push, *pull;
	pair_up(&push, &pull);
	size_t sizes[] = {ZC_MIN - 1, ZC_MIN, ZC_MIN + 1, 4095, 1, 3 * ZC_MIN + 7};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		int want = n >= ZC_MIN ? 'r' : 0;
		send_sized(push, n, 0);
		CHECK_EQ(recv_kind(pull, n), want);
		zmq_msg_t m;
		pool_msg(&m, push, n);
		CHECK_EQ(zmq_msg_send(&m, push, 0), (int)n);
		CHECK_EQ(recv_kind(pull, n), want);
	}
	/* Empty: an ordinary message. */
	zmq_msg_t m;
	CHECK_OK(zinc_msg_init_shm(&m, push, 0));
	CHECK_EQ(zmq_msg_size(&m), (size_t)0);
	CHECK_EQ(zmq_msg_send(&m, push, 0), 0);
	CHECK_EQ(recv_kind(pull, 0), 0);
}

static void
multipart(void)
{
	ctx_open();
	void *push, *pull;
	pair_up(&push, &pull);
	for (int i = 0; i < 10; i++) {
		send_sized(push, 10, ZMQ_SNDMORE);
		send_pool(push, MIB, ZMQ_SNDMORE);
		send_sized(push, 100000, ZMQ_SNDMORE);
		send_pool(push, ZC_MIN, 0);
		zmq_msg_t m;
		CHECK_EQ(recv_kept(pull, &m, 10), 0);
		CHECK(zmq_msg_more(&m));
		zmq_msg_close(&m);
		CHECK_EQ(recv_kept(pull, &m, MIB), 'r');
		CHECK(zmq_msg_more(&m));
		zmq_msg_close(&m);
		CHECK_EQ(recv_kept(pull, &m, 100000), 'r');
		CHECK(zmq_msg_more(&m));
		zmq_msg_close(&m);
		CHECK_EQ(recv_kept(pull, &m, ZC_MIN), 'r');
		CHECK(!zmq_msg_more(&m));
		zmq_msg_close(&m);
	}
}

/* held_after_close: the receiver keeps messages after its socket, its context, the
 * connection and the sender's whole process are gone; the bodies stay readable. */
static void
kid_lender(void *arg)
{
	(void)arg;
	ctx_open();
	void *push = sock_open_default(ZMQ_PUSH);
	zc_on(push);
	CHECK_OK(zmq_connect(push, ep));
	for (;;) {
		int b = hear(kid_in, WAIT_MS * 4, -1);
		if (b == 'q')
			break;
		send_pool(push, b == 'b' ? MIB : ZC_MIN, 0);
	}
}

static void
held_after_close(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_lender, NULL);
	ctx_open();
	void *pull = sock_open(ZMQ_PULL);
	zc_on(pull);
	CHECK_OK(zmq_bind(pull, ep));
	zmq_msg_t held[4];
	int n = 0;
	long long end = test_now_ms() + WAIT_MS;
	while (n < 4) {
		tell(kids[k].to, 'b');
		if (recv_kept(pull, &held[n], MIB) == 'r')
			n++;
		else
			zmq_msg_close(&held[n]);
		CHECK(test_now_ms() < end);
	}
	tell(kids[k].to, 'q');
	kid_reap(k, WAIT_MS); /* its context terminated (linger -1): all sent */
	ctx_close();
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(zmq_msg_size(&held[i]), (size_t)MIB);
		CHECK(memcmp(zmq_msg_data(&held[i]), pattern(MIB), MIB) == 0);
		CHECK_EQ(pool_map(zmq_msg_data(&held[i])), 'r');
		zmq_msg_close(&held[i]);
	}
	CHECK_EQ(memfd_maps(NULL), 0);
}

/* pool_exhaustion: with a 1 MiB pool and the receiver holding what it got, the sender
 * soon finds no room: zinc_msg_init_shm gives an ordinary message and the sends copy
 * through the ring, never failing; once the receiver lets go, the pool lends again. */
static void
pool_exhaustion(void)
{
	ctx_open();
	shm_new(ep, sizeof ep);
	void *pull = sock_open(ZMQ_PULL);
	zc_on(pull);
	CHECK_OK(zmq_bind(pull, ep));
	void *push = sock_open(ZMQ_PUSH);
	zc_on(push);
	set_int(push, ZINC_SHM_POOL_SIZE, MIB);
	CHECK_OK(zmq_connect(push, ep));
	enum { N = 12 };
	zmq_msg_t held[N];
	int lent = 0, copied = 0;
	for (int i = 0; i < N; i++) {
		zmq_msg_t m;
		pool_msg(&m, push, 256 * 1024);
		CHECK_EQ(zmq_msg_send(&m, push, 0), 256 * 1024);
		send_sized(push, 300000, 0); /* copied into the pool when there is room */
		int kind = recv_kept(pull, &held[i], 256 * 1024);
		lent += kind == 'r';
		copied += kind == 0;
		zmq_msg_t x;
		(void)recv_kept(pull, &x, 300000);
		zmq_msg_close(&x);
	}
	CHECK(lent >= 1 && lent <= 4); /* at most 4 of 256 KiB fit a 1 MiB pool */
	CHECK(copied >= N - 4);
	for (int i = 0; i < N; i++)
		zmq_msg_close(&held[i]);
	/* Everything came back: the whole pool lends again. */
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		send_pool(push, MIB, 0);
		if (recv_kind(pull, MIB) == 'r')
			break;
		CHECK(test_now_ms() < end);
	}
}

/* routed_to_tcp: a PUB sends one pool message to an shm:// subscriber (lent), a tcp
 * one and an inproc one (just bytes). */
static void
routed_to_tcp(void)
{
	ctx_open();
	shm_new(ep, sizeof ep);
	void *pub = sock_open(ZMQ_PUB);
	zc_on(pub);
	CHECK_OK(zmq_bind(pub, ep));
	CHECK_OK(zmq_bind(pub, "tcp://127.0.0.1:*"));
	CHECK_OK(zmq_bind(pub, "inproc://zc"));
	char tcp[128];
	size_t len = sizeof tcp;
	CHECK_OK(zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, tcp, &len));
	void *subs[3];
	const char *eps[3] = {ep, tcp, "inproc://zc"};
	for (int i = 0; i < 3; i++) {
		subs[i] = sock_open(ZMQ_SUB);
		zc_on(subs[i]);
		CHECK_OK(zmq_setsockopt(subs[i], ZMQ_SUBSCRIBE, "", 0));
		CHECK_OK(zmq_connect(subs[i], eps[i]));
	}
	/* Until every subscriber hears, and the shm one is lent to. */
	bool heard[3] = {false, false, false};
	int shm_kind = 0;
	long long end = test_now_ms() + WAIT_MS;
	while (!heard[0] || !heard[1] || !heard[2] || shm_kind != 'r') {
		CHECK(test_now_ms() < end);
		send_pool(pub, MIB, 0);
		for (int i = 0; i < 3; i++) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, subs[i], ZMQ_DONTWAIT) == MIB) {
				CHECK(memcmp(zmq_msg_data(&m), pattern(MIB), MIB) == 0);
				heard[i] = true;
				if (i == 0)
					shm_kind = pool_map(zmq_msg_data(&m));
			}
			zmq_msg_close(&m);
		}
		(void)poll(NULL, 0, 5);
	}
}

/* dead_receiver: a receiver that dies holding lent bodies; they come back to the pool
 * once its process has exited (the link ends with them lent and waits as a zombie). */
static void
kid_holder(void *arg)
{
	(void)arg;
	ctx_open();
	void *pull = sock_open_default(ZMQ_PULL);
	zc_on(pull);
	CHECK_OK(zmq_connect(pull, ep));
	static zmq_msg_t held[4];
	for (int n = 0; n < 4;) {
		if (recv_kept(pull, &held[n], 256 * 1024) == 'r')
			n++; /* held until we die */
		else
			zmq_msg_close(
			        &held[n]); /* copied: before the pools were exchanged */
	}
	tell(kid_out, 'H');
	/* Killed meanwhile. Until then the rest is read and dropped: the parent sends
	 * until it hears 'H', and with spinning its sends go straight into the ring, so a
	 * kid that stopped reading could leave one of them blocked (until SNDTIMEO). */
	long long end = test_now_ms() + WAIT_MS * 4;
	while (test_now_ms() < end) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		(void)zmq_msg_recv(&m, pull, 0);
		zmq_msg_close(&m);
	}
}

static void
dead_receiver(void)
{
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_holder, NULL);
	ctx_open();
	void *push = sock_open(ZMQ_PUSH);
	zc_on(push);
	set_int(push, ZINC_SHM_POOL_SIZE, MIB);
	CHECK_OK(zmq_bind(push, ep));
	/* Until the kid holds four lent bodies, which fill the pool. */
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		zmq_msg_t m;
		pool_msg(&m, push, 256 * 1024);
		CHECK_EQ(zmq_msg_send(&m, push, 0), 256 * 1024);
		struct pollfd q = {kids[k].from, POLLIN, 0};
		if (poll(&q, 1, 5) == 1)
			break;
		CHECK(test_now_ms() < end);
	}
	hear(kids[k].from, WAIT_MS, 'H');
	zmq_msg_t m;
	CHECK_OK(zinc_msg_init_shm(&m, push, 256 * 1024));
	CHECK_EQ(pool_map(zmq_msg_data(&m)), 0); /* full */
	zmq_msg_close(&m);
	kid_kill(k);
	end = test_now_ms() + WAIT_MS;
	for (;;) {
		CHECK_OK(zinc_msg_init_shm(&m, push, MIB));
		int kind = pool_map(zmq_msg_data(&m));
		zmq_msg_close(&m);
		if (kind == 'w')
			break;
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 2);
	}
}

/* ---------------------------------------------------------------------------- */
/* Hostile peers                                                                 */
/* ---------------------------------------------------------------------------- */

/* The raw peer connects to zinc's bound socket and speaks the rendezvous protocol by
 * hand (as test_shm_hostile.c does): greeting, READY, the SHM command with the memfd
 * and eventfds; then the pools ('Z' and a memfd) both ways. */
#define RING 65536

struct raw {
	int sock;
	struct shm_ring_region g;
	struct shm_ring_ctl *ctl;
	uint8_t *ring0, *ring1;
	int a, b;
	int pool_fd;
	uint8_t *pool;        /* ours */
	const uint8_t *zpool; /* zinc's, read-only */
	size_t zpool_size;
};

static void
raw_io(int fd, void *p, size_t n, bool in)
{
	for (size_t got = 0; got < n;) {
		struct pollfd q = {fd, in ? POLLIN : POLLOUT, 0};
		if (poll(&q, 1, WAIT_MS) != 1)
			TEST_FAIL("raw peer: stuck");
		ssize_t r =
		        in ? read(fd, (uint8_t *)p + got, n - got)
		           : send(fd, (const uint8_t *)p + got, n - got, MSG_NOSIGNAL);
		if (r <= 0)
			TEST_FAIL("raw peer: zinc closed during the handshake");
		got += (size_t)r;
	}
}

static void
raw_connect(struct raw *h, const char *peer_type, bool send_pool)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = shm_file(ep);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	h->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(h->sock >= 0);
	CHECK_EQ(connect(h->sock, (struct sockaddr *)&sa, sizeof sa), 0);
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	raw_io(h->sock, g, sizeof g, false);
	raw_io(h->sock, g, sizeof g, true);
	uint8_t b[64] = {0x04, 0, 5, 'R', 'E', 'A', 'D', 'Y', 11};
	size_t n = 9;
	memcpy(b + n, "Socket-Type", 11);
	n += 11;
	size_t tl = strlen(peer_type);
	b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = (uint8_t)tl;
	memcpy(b + n, peer_type, tl);
	n += tl;
	b[1] = (uint8_t)(n - 2);
	raw_io(h->sock, b, n, false);
	uint8_t hd[2];
	raw_io(h->sock, hd, 2, true);
	raw_io(h->sock, b, hd[1], true);
	CHECK(memcmp(b, "\5READY", 6) == 0);
	CHECK_EQ(shm_ring_region_create(&h->g, RING), 0);
	h->ctl = h->g.base;
	h->ring0 = (uint8_t *)h->g.base + SHM_RING_CTL_SIZE;
	h->ring1 = h->ring0 + RING;
	CHECK_EQ(zn_shm_eventfd_create(&h->a), 0);
	CHECK_EQ(zn_shm_eventfd_create(&h->b), 0);
	uint8_t cmd[14] = {0x04, 12, 3, 'S', 'H', 'M'};
	for (int i = 0; i < 8; i++)
		cmd[6 + i] = (uint8_t)((uint64_t)RING >> (56 - 8 * i));
	CHECK_EQ(zn_shm_send_fds(h->sock, cmd, sizeof cmd, (int[]){h->g.fd, h->a, h->b},
	                         3),
	         (int)sizeof cmd);
	/* Our pool, then zinc's. */
	void *base;
	CHECK_EQ(zn_shm_pool_create("zinc-pool", MIB, &h->pool_fd, &base), 0);
	h->pool = base;
	if (send_pool)
		CHECK_EQ(zn_shm_send_fds(h->sock, "Z", 1, &h->pool_fd, 1), 1);
	struct pollfd q = {h->sock, POLLIN, 0};
	CHECK_EQ(poll(&q, 1, WAIT_MS), 1);
	uint8_t z;
	int fds[ZN_SHM_FDS_MAX], nfds;
	CHECK_EQ(zn_shm_recv_fds(h->sock, &z, 1, fds, &nfds), 1);
	CHECK_EQ(z, 'Z');
	CHECK_EQ(nfds, 1);
	CHECK_EQ(zn_shm_pool_verify(fds[0], SIZE_MAX, &h->zpool_size), 0);
	/* Sealed: no writable mapping of zinc's pool, and no write(2) to it. */
	CHECK(mmap(NULL, h->zpool_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0) ==
	      MAP_FAILED);
	CHECK(pwrite(fds[0], "x", 1, 0) < 0);
	void *zp;
	CHECK_EQ(zn_shm_map_ro(fds[0], h->zpool_size, &zp), 0);
	h->zpool = zp;
	close(fds[0]);
}

static void
raw_fini(struct raw *h)
{
	close(h->sock);
	shm_ring_region_fini(&h->g);
	close(h->a);
	close(h->b);
	zn_shm_unmap(h->pool, MIB);
	close(h->pool_fd);
	zn_shm_unmap((void *)(uintptr_t)h->zpool, h->zpool_size);
}

static void
raw_wake(struct raw *h)
{
	uint64_t one = 1;
	CHECK_EQ(write(h->b, &one, sizeof one), 8);
}

/* raw_ref: a REF record at ring-0 offset `at`, published as the ring protocol does
 * it: payload, the zero after the record, then the header. */
static void
raw_ref(struct raw *h, uint64_t at, uint32_t flags, uint32_t len, struct shm_ref ref)
{
	uint64_t hd = len | (uint64_t)(flags | SHM_REC_VALID) << 32;
	memcpy(h->ring0 + at + 8, &ref, sizeof ref);
	memset(h->ring0 + at + 32, 0, 8);
	atomic_store_explicit((_Atomic uint64_t *)(void *)(h->ring0 + at), hd,
	                      memory_order_release);
	raw_wake(h);
}

/* A lender's bad records, each on a connection of its own. */
enum { BAD_OFF, BAD_LEN, BAD_OVERFLOW, BAD_ZERO, BAD_SIZE, BAD_COMMAND, BAD_NONE };

static void
kid_bad_lender(void *arg)
{
	(void)arg;
	for (;;) {
		int c = hear(kid_in, WAIT_MS * 4, -1);
		if (c == 0xff)
			return;
		struct raw h;
		/* BAD_NONE lends without passing its pool first. */
		raw_connect(&h, "PUSH", c != BAD_NONE);
		long long end = test_now_ms() + WAIT_MS;
		memcpy(h.pool + 8192, pattern(ZC_MIN), ZC_MIN);
		struct shm_ref good = {.slot = 1, .gen = 1, .off = 8192, .len = ZC_MIN};
		uint64_t at = 0;
		if (c != BAD_NONE) {
			/* zinc mapped our pool: one good loan, which it takes. */
			while (atomic_load(&h.ctl->zc[0].pool_ok) != 1) {
				CHECK(test_now_ms() < end);
				(void)poll(NULL, 0, 1);
			}
			raw_ref(&h, 0, SHM_REC_REF, 24, good);
			hear(kid_in, WAIT_MS, 'g'); /* zinc's application got it */
			at = 32;
		}
		struct shm_ref bad = good;
		uint32_t flags = SHM_REC_REF, len = 24;
		switch (c) {
		case BAD_OFF: bad.off = MIB; break;
		case BAD_LEN: bad.len = MIB - 8191; break;
		case BAD_OVERFLOW:
			bad.off = UINT64_MAX - 10;
			bad.len = 100;
			break;
		case BAD_ZERO: bad.len = 0; break;
		case BAD_SIZE: len = 16; break;
		case BAD_COMMAND: flags |= SHM_REC_COMMAND; break;
		default: break;
		}
		raw_ref(&h, at, flags, len, bad);
		/* zinc must close the connection. */
		for (;;) {
			struct pollfd q = {h.sock, POLLIN, 0};
			if (poll(&q, 1, WAIT_MS) != 1)
				TEST_FAIL("case %d: zinc kept the connection", c);
			char buf[64];
			if (read(h.sock, buf, sizeof buf) <= 0)
				break;
		}
		raw_fini(&h);
		tell(kid_out, 'E');
	}
}

static void
hostile_lender(void)
{
	int fds = fd_count();
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_bad_lender, NULL);
	ctx_open();
	void *pull = sock_open(ZMQ_PULL);
	zc_on(pull);
	void *mon = monitor_open(pull, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(pull, ep));
	for (int c = BAD_OFF; c <= BAD_NONE; c++) {
		tell(kids[k].to, (uint8_t)c);
		if (c != BAD_NONE) {
			zmq_msg_t m;
			CHECK_EQ(recv_kept(pull, &m, ZC_MIN), 'r');
			zmq_msg_close(&m);
			tell(kids[k].to, 'g');
		}
		/* A spinning PULL finds the bad record only when it reads: it tries, and
		 * nothing may come. */
		long long end = test_now_ms() + WAIT_MS;
		for (;;) {
			char b[16];
			CHECK_ERR(zmq_recv(pull, b, sizeof b, ZMQ_DONTWAIT), EAGAIN);
			if (monitor_next(mon, 10, NULL, NULL, 0) ==
			    ZMQ_EVENT_DISCONNECTED)
				break;
			CHECK(test_now_ms() < end);
		}
		hear(kids[k].from, WAIT_MS * 2, 'E');
	}
	tell(kids[k].to, 0xff);
	kid_reap(k, WAIT_MS);
	ctx_close();
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(fd_count(), fds);
}

/* hostile_borrower: zinc lends to a raw PULL that hands back names out of range, of
 * the wrong generation, twice, and then moves its queue index beyond what it could
 * have written. zinc goes on; the good names free their bodies; the rest stay lent
 * until the connection ends, and then (the peer's process alive, but the queue
 * poisoned) until the peer exits. */
static void
kid_bad_borrower(void *arg)
{
	(void)arg;
	struct raw h;
	hear(kid_in, WAIT_MS, 'b'); /* zinc has bound */
	raw_connect(&h, "PULL", true);
	atomic_store(&h.ctl->zc[1].pool_ok, 1); /* we "mapped" zinc's pool */
	tell(kid_out, 'R');
	/* Four REF records of 256 KiB (zinc's pool is 1 MiB: it is now full). */
	struct shm_ref refs[4];
	uint64_t rd = 0;
	int got = 0;
	long long end = test_now_ms() + WAIT_MS * 2;
	while (got < 4) {
		CHECK(test_now_ms() < end);
		/* zinc's writer keeps `write` at what it published, for readers like this
		 * one (its own reader looks at the headers instead). */
		uint64_t w = atomic_load(&h.ctl->dir[1].write);
		while (rd < w && got < 4) {
			uint64_t hd;
			memcpy(&hd, h.ring1 + (rd % RING), 8);
			uint32_t len = (uint32_t)hd, flags = (uint32_t)(hd >> 32);
			if (flags == (SHM_REC_REF | SHM_REC_VALID)) {
				memcpy(&refs[got], h.ring1 + (rd % RING) + 8,
				       sizeof refs[0]);
				CHECK(refs[got].off + refs[got].len <= h.zpool_size);
				CHECK(memcmp(h.zpool + refs[got].off, pattern(256 * 1024),
				             256 * 1024) == 0);
				got++;
			}
			rd += 8 + ((len + 7) & ~7u);
		}
		atomic_store(&h.ctl->dir[1].read, rd);
		(void)poll(NULL, 0, 1);
	}
	struct shm_ring_zc *zc = &h.ctl->zc[1];
	uint64_t w = 0;
	uint64_t names[] = {
	        (uint64_t)1000,                                   /* slot out of range */
	        refs[0].slot | (uint64_t)(refs[0].gen + 7) << 32, /* wrong generation */
	        refs[0].slot | (uint64_t)refs[0].gen << 32,       /* good */
	        refs[0].slot | (uint64_t)refs[0].gen << 32,       /* twice */
	        refs[1].slot | (uint64_t)refs[1].gen << 32,       /* good */
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		atomic_store(&zc->rel[w++ % SHM_ZC_LOANS], names[i]);
	atomic_store(&zc->rel_write, w);
	tell(kid_out, 'G');
	hear(kid_in, WAIT_MS * 4, 'p');
	atomic_store(&zc->rel_write, w + 100000); /* poisoned */
	tell(kid_out, 'P');
	hear(kid_in, WAIT_MS * 4, 'q');
	raw_fini(&h);
}

static void
hostile_borrower(void)
{
	int fds = fd_count();
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_bad_borrower, NULL);
	ctx_open();
	void *push = sock_open(ZMQ_PUSH);
	zc_on(push);
	set_int(push, ZINC_SHM_POOL_SIZE, MIB);
	void *mon = monitor_open(push, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(push, ep));
	tell(kids[k].to, 'b');
	hear(kids[k].from, WAIT_MS, 'R');
	for (int i = 0; i < 4; i++)
		send_pool(push, 256 * 1024, 0);
	hear(kids[k].from, WAIT_MS * 2, 'G');
	/* Two bodies came back: two of 256 KiB fit again, a third does not. */
	zmq_msg_t m[3];
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		CHECK_OK(zinc_msg_init_shm(&m[0], push, 512 * 1024));
		int kind = pool_map(zmq_msg_data(&m[0]));
		if (kind == 'w')
			break;
		zmq_msg_close(&m[0]);
		CHECK(test_now_ms() < end);
		send_sized(push, 10, 0); /* makes the lender look at the returns */
		(void)poll(NULL, 0, 2);
	}
	CHECK_OK(zinc_msg_init_shm(&m[1], push, 4096));
	CHECK_EQ(pool_map(zmq_msg_data(&m[1])), 0);
	zmq_msg_close(&m[0]);
	zmq_msg_close(&m[1]);
	tell(kids[k].to, 'p');
	hear(kids[k].from, WAIT_MS, 'P');
	send_pool(push, 256 * 1024, 0); /* still works */
	tell(kids[k].to, 'q');
	monitor_until(mon, ZMQ_EVENT_DISCONNECTED);
	kid_reap(k, WAIT_MS);
	/* The peer exited: its two bodies (and the last one) come back. */
	end = test_now_ms() + WAIT_MS;
	for (;;) {
		CHECK_OK(zinc_msg_init_shm(&m[2], push, MIB));
		int kind = pool_map(zmq_msg_data(&m[2]));
		zmq_msg_close(&m[2]);
		if (kind == 'w')
			break;
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 2);
	}
	ctx_close();
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(fd_count(), fds);
}

/* pools_mapped: the mappings of pools with perms[1] == w ('w' writable: our own). */
static int
pools_mapped(int w)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char perms[8];
		if (strstr(line, "memfd:zinc-pool") &&
		    sscanf(line, "%*x-%*x %7s", perms) == 1 && perms[1] == w)
			n++;
	}
	fclose(f);
	return n;
}

/* two_contexts: each context has its own pool (no process-wide one): two contexts,
 * each with a zero-copy PUSH/PULL pair, lend from two pools; each is terminated while
 * the application holds messages it received (bodies lent from that context's pool)
 * and one it made there; they stay readable, and everything goes once they are closed,
 * in either order. */
static void
two_contexts_in_order(bool first_first)
{
	void *ctx[2], *push[2], *pull[2];
	zmq_msg_t got[2][3], made[2];
	for (int c = 0; c < 2; c++) {
		ctx_open();
		ctx[c] = cs.ctx;
		pair_up(&push[c], &pull[c]);
	}
	CHECK_EQ(pools_mapped('w'), 2);
	for (int c = 0; c < 2; c++) {
		for (int i = 0; i < 3; i++) {
			send_pool(push[c], MIB, 0);
			CHECK_EQ(recv_kept(pull[c], &got[c][i], MIB), 'r');
		}
		pool_msg(&made[c], push[c], MIB);
	}
	/* The bodies of one context are not in the other's pool. */
	CHECK(zmq_msg_data(&made[0]) != zmq_msg_data(&made[1]));
	for (int k = 0; k < 2; k++) {
		int c = first_first ? k : 1 - k;
		ctx_term_one(ctx[c]);
		for (int i = 0; i < 3; i++) {
			CHECK(memcmp(zmq_msg_data(&got[c][i]), pattern(MIB), MIB) == 0);
			CHECK_EQ(pool_map(zmq_msg_data(&got[c][i])), 'r');
		}
		CHECK(memcmp(zmq_msg_data(&made[c]), pattern(MIB), MIB) == 0);
	}
	/* Let go in the other order than the terminations. */
	for (int k = 0; k < 2; k++) {
		int c = first_first ? 1 - k : k;
		for (int i = 0; i < 3; i++)
			zmq_msg_close(&got[c][i]);
		zmq_msg_close(&made[c]);
		CHECK_EQ(pools_mapped('w'), 1 - k);
	}
	CHECK_EQ(memfd_maps(NULL), 0);
}

static void
two_contexts(void)
{
	two_contexts_in_order(true);
	two_contexts_in_order(false);
}

/* lender_context_gone: a context terminated while bodies it lent are still held (here
 * by another context of the same process, which has no other way of telling it) lets
 * its pool go at once: nothing can be made in it any more, so the ended connection
 * that lent them is not kept waiting for them (it was, for ever: a process whose peer
 * held its bodies past its zmq_ctx_term kept the connection and the pool until it
 * exited). The bodies stay readable through the borrower's own mapping. */
static void
lender_context_gone(void)
{
	shm_new(ep, sizeof ep);
	void *lender = ctx_open();
	void *push = sock_open(ZMQ_PUSH);
	zc_on(push);
	ctx_open();
	void *pull = sock_open(ZMQ_PULL);
	zc_on(pull);
	CHECK_OK(zmq_bind(pull, ep));
	CHECK_OK(zmq_connect(push, ep));
	long long end = test_now_ms() + WAIT_MS;
	for (;;) { /* until the pools are exchanged (as pair_up) */
		send_pool(push, ZC_MIN, 0);
		if (recv_kind(pull, ZC_MIN) == 'r')
			break;
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 1);
	}
	zmq_msg_t held[3];
	for (int i = 0; i < 3; i++) {
		send_pool(push, MIB, 0);
		CHECK_EQ(recv_kept(pull, &held[i], MIB), 'r');
	}
	CHECK_EQ(pools_mapped('w'), 2);
	ctx_term_one(lender);
	CHECK_EQ(pools_mapped('w'), 1); /* the receiving context's own pool */
	for (int i = 0; i < 3; i++) {
		CHECK(memcmp(zmq_msg_data(&held[i]), pattern(MIB), MIB) == 0);
		CHECK_EQ(pool_map(zmq_msg_data(&held[i])), 'r');
		zmq_msg_close(&held[i]);
	}
}

/* not_a_socket: zinc_msg_init_shm checks its arguments. */
static void
bad_arguments(void)
{
	zmq_msg_t m;
	/* Large enough for the socket's tag to be read from it (ASan). */
	static uint64_t junk[1024];
	CHECK_ERR(zinc_msg_init_shm(&m, junk, 10), ENOTSOCK);
	ctx_open();
	void *s = sock_open(ZMQ_PUSH);
	CHECK_ERR(zinc_msg_init_shm(NULL, s, 10), EFAULT);
	/* Zero-copy off: an ordinary message. */
	CHECK_OK(zinc_msg_init_shm(&m, s, MIB));
	CHECK_EQ(pool_map(zmq_msg_data(&m)), 0);
	zmq_msg_close(&m);
}

/* ZC_CASE: as SHM_CASE, and nothing may be left once the context is gone: no
 * mapping (the pool included: every body came back) and no descriptor. */
#define ZC_CASE(fn)                                                                      \
	static void fn##_case(void)                                                      \
	{                                                                                \
		shm_begin();                                                             \
		fn();                                                                    \
		ctx_close();                                                             \
		CHECK_EQ(memfd_maps(NULL), 0);                                           \
	}

ZC_CASE(round_trip_one_mib)
ZC_CASE(sizes_around_the_threshold)
ZC_CASE(multipart)
ZC_CASE(held_after_close)
ZC_CASE(pool_exhaustion)
ZC_CASE(routed_to_tcp)
ZC_CASE(dead_receiver)
ZC_CASE(hostile_lender)
ZC_CASE(hostile_borrower)
ZC_CASE(bad_arguments)
ZC_CASE(two_contexts)
ZC_CASE(lender_context_gone)

static const struct test tests[] = {
        SHM_ENTRY(round_trip_one_mib),
        SHM_ENTRY(sizes_around_the_threshold),
        SHM_ENTRY(multipart),
        SHM_ENTRY(held_after_close),
        SHM_ENTRY(pool_exhaustion),
        SHM_ENTRY(routed_to_tcp),
        SHM_ENTRY(dead_receiver),
        SHM_ENTRY(hostile_lender),
        SHM_ENTRY(hostile_borrower),
        SHM_ENTRY(bad_arguments),
        SHM_ENTRY(two_contexts),
        SHM_ENTRY(lender_context_gone),
        {NULL, NULL},
};

int
main(int argc, char **argv)
{
	return shm_main(argc, argv, tests, 2 * MIB, 2 * MIB);
}
