/*
 * test_shm_hostile.c: a hostile shm:// peer (issue 6, seed 003). A zinc ROUTER binds
 * shm://name with a monitor and a good DEALER of this process connected. A forked raw
 * peer speaks the rendezvous protocol by hand: it connects to the Unix socket, sends
 * the ZMTP greeting and READY (a DEALER with its own Identity), reads zinc's, makes the
 * memfd with the shm_ring API and passes it with the two eventfds in a SHM command
 * (SCM_RIGHTS), exactly as engine_shm.c's creator does. Then, one connection per case,
 * it breaks the protocol: bad set-up (ring size, file kind, seals, control block,
 * descriptors, order), or, after a good "hello" has gone through the ring, scribbles
 * headers, lengths, flags and indices into the shared memory and raises zinc's
 * eventfd.
 *
 * The same cases run against a spinning PULL, which reads the ring from the application
 * thread (pipe/direct.h), with a good PUSH beside the raw peer, and the set-up and
 * read-index cases against a spinning PUSH, which writes it, with a good PULL.
 *
 * Each case checks that zinc drops that connection (monitor DISCONNECTED on the
 * endpoint; the raw peer reads EOF), that the process goes on, and that the ROUTER
 * still serves the good DEALER. At the end the dropped connections have left no memfd
 * mapping and no descriptor. Every wait is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shm_util.h"

#include "platform/net.h"
#include "platform/shm.h"
#include "proto/shm_ring.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define RING   4096 /* the smallest ring: easy to fill */
#define MAXMSG 1000 /* the ROUTER's ZMQ_MAXMSGSIZE */
#define DATA0  SHM_RING_CTL_SIZE

static char ep[64];
/* The zinc socket under attack: a ROUTER (its I/O thread reads and writes the rings),
 * a spinning PULL (its application thread reads them: pipe/direct.h) or a spinning
 * PUSH (its application thread writes them). Set before the kid is forked; the raw
 * peer announces the matching type. */
static int zinc_type = ZMQ_ROUTER;

/* ---------------------------------------------------------------------------- */
/* The raw peer                                                                  */
/* ---------------------------------------------------------------------------- */

struct hostile {
	int sock;
	struct shm_ring_region g;
	struct shm_ring_ctl *ctl;
	uint8_t *ring0; /* ours to write */
	int a, b;       /* we sleep on a; zinc sleeps on b */
	int index;      /* the case: our Identity is "evil<index>" */
};

static void
raw_send(int fd, const void *p, size_t n)
{
	CHECK_EQ(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void
raw_recv(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		struct pollfd q = {fd, POLLIN, 0};
		if (poll(&q, 1, WAIT_MS) != 1)
			TEST_FAIL("raw peer: nothing from zinc");
		ssize_t r = read(fd, (uint8_t *)p + got, n - got);
		if (r <= 0)
			TEST_FAIL("raw peer: zinc closed during the handshake");
		got += (size_t)r;
	}
}

static void
raw_greeting(struct hostile *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = shm_file(ep);
	CHECK(strlen(path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	h->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(h->sock >= 0);
	CHECK_EQ(connect(h->sock, (struct sockaddr *)&sa, sizeof sa), 0);
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	raw_send(h->sock, g, sizeof g);
	raw_recv(h->sock, g, sizeof g);
	CHECK(g[0] == 0xff && g[9] == 0x7f && g[10] == 3);
}

static void
put_prop(uint8_t *b, size_t *n, const char *name, const char *val)
{
	size_t nl = strlen(name), vl = strlen(val);
	b[(*n)++] = (uint8_t)nl;
	memcpy(b + *n, name, nl);
	*n += nl;
	for (int i = 3; i >= 0; i--)
		b[(*n)++] = (uint8_t)(vl >> (8 * i));
	memcpy(b + *n, val, vl);
	*n += vl;
}

static void
raw_ready(struct hostile *h)
{
	uint8_t b[128];
	size_t n = 2;
	char id[16];
	snprintf(id, sizeof id, "evil%d", h->index);
	memcpy(b + n, "\5READY", 6);
	n += 6;
	put_prop(b, &n, "Socket-Type",
	         zinc_type == ZMQ_PULL   ? "PUSH"
	         : zinc_type == ZMQ_PUSH ? "PULL"
	                                 : "DEALER");
	put_prop(b, &n, "Identity", id);
	b[0] = 0x04;
	b[1] = (uint8_t)(n - 2);
	raw_send(h->sock, b, n);
	uint8_t hd[2];
	raw_recv(h->sock, hd, 2); /* zinc's READY: a short command */
	CHECK_EQ(hd[0], 0x04);
	raw_recv(h->sock, b, hd[1]);
	CHECK(memcmp(b, "\5READY", 6) == 0);
}

/* h_make: the memfd (ring size `ring`) and the eventfds, as the creator makes them. */
static void
h_make(struct hostile *h, uint64_t ring)
{
	CHECK_EQ(shm_ring_region_create(&h->g, ring), 0);
	h->ctl = h->g.base;
	h->ring0 = (uint8_t *)h->g.base + DATA0;
	CHECK_EQ(zn_shm_eventfd_create(&h->a), 0);
	CHECK_EQ(zn_shm_eventfd_create(&h->b), 0);
}

/* h_send_shm: the SHM command (flags, size, "\3SHM", 8-byte ring size) with fds. */
static void
h_send_shm(struct hostile *h, uint64_t size, const int *fds, int nfds)
{
	uint8_t cmd[14] = {0x04, 12, 3, 'S', 'H', 'M'};
	for (int i = 0; i < 8; i++)
		cmd[6 + i] = (uint8_t)(size >> (56 - 8 * i));
	CHECK_EQ(zn_shm_send_fds(h->sock, cmd, sizeof cmd, fds, nfds), (int)sizeof cmd);
}

static void
h_setup(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h_send_shm(h, RING, (int[]){h->g.fd, h->a, h->b}, 3);
}

static void
wake(struct hostile *h)
{
	uint64_t one = 1;
	CHECK_EQ(write(h->b, &one, sizeof one), 8);
}

/* word: an 8-byte word at ring offset off, stored as the ring protocol publishes a
 * header (so whatever was written before it is visible with it). */
static void
word(struct hostile *h, uint64_t off, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)(void *)(h->ring0 + off), v,
	                      memory_order_release);
}

/* rec: a record header at ring offset off, published: its payload goes in first. */
static void
rec(struct hostile *h, uint64_t off, uint64_t len, uint32_t flags)
{
	word(h, off, (uint32_t)len | (uint64_t)(flags | SHM_REC_VALID) << 32);
}

/* pub: wakes zinc to look (the ring's headers say what is there). */
static void
pub(struct hostile *h)
{
	wake(h);
}

/* hello: one good message, and wait until zinc has consumed it. */
static void
hello(struct hostile *h, uint64_t at, const char *text)
{
	size_t n = strlen(text);
	CHECK(n <= 8);
	memcpy(h->ring0 + at + 8, text, n);
	rec(h, at, n, 0);
	pub(h);
	long long end = test_now_ms() + WAIT_MS;
	while (atomic_load(&h->ctl->dir[0].read) != at + 16) {
		CHECK(test_now_ms() < end);
		(void)poll(NULL, 0, 1);
	}
}

static void
h_fini(struct hostile *h)
{
	if (h->sock >= 0)
		close(h->sock);
	shm_ring_region_fini(&h->g);
	if (h->a >= 0)
		close(h->a);
	if (h->b >= 0)
		close(h->b);
}

/* ---------------------------------------------------------------------------- */
/* The cases                                                                     */
/* ---------------------------------------------------------------------------- */

#define F_MORE  SHM_REC_MORE
#define F_CMD   SHM_REC_COMMAND
#define F_PAD   SHM_REC_PAD
#define F_FIRST SHM_REC_FRAG_FIRST
#define F_MID   SHM_REC_FRAG_MID
#define F_LAST  SHM_REC_FRAG_LAST

static void
first(struct hostile *h, uint64_t off, uint64_t len, uint32_t flags, uint64_t total)
{
	memcpy(h->ring0 + off + 8, &total, sizeof total);
	rec(h, off, len, F_FIRST | flags);
}

/* After "hello" at 0, zinc reads at 16. */
static void
no_valid_flag(struct hostile *h)
{
	word(h, 16, 5); /* a length, no SHM_REC_VALID */
	pub(h);
}
static void
len_past_end(struct hostile *h)
{
	rec(h, 16, 8000, 0);
	pub(h);
}
static void
len_huge(struct hostile *h)
{
	rec(h, 16, 0xffffffffu, 0);
	pub(h);
}
static void
flag_unknown(struct hostile *h)
{
	rec(h, 16, 0, 0x100);
	pub(h);
}
static void
flag_more_cmd(struct hostile *h)
{
	rec(h, 16, 0, F_MORE | F_CMD);
	pub(h);
}
static void
pad_short(struct hostile *h)
{
	rec(h, 16, 8, F_PAD);
	pub(h);
}
static void
pad_with_more(struct hostile *h)
{
	rec(h, 16, RING - 16 - 8, F_PAD | F_MORE);
	pub(h);
}
static void
mid_alone(struct hostile *h)
{
	rec(h, 16, 8, F_MID);
	pub(h);
}
static void
last_alone(struct hostile *h)
{
	rec(h, 16, 8, F_LAST);
	pub(h);
}
static void
first_total_small(struct hostile *h)
{
	first(h, 16, 8, 0, 8);
	pub(h);
}
static void
first_empty(struct hostile *h)
{
	first(h, 16, 0, 0, 100);
	pub(h);
}
static void
last_wrong_len(struct hostile *h)
{
	first(h, 16, 8, 0, 100);
	rec(h, 40, 50, F_LAST); /* 92 left */
	pub(h);
}
static void
mid_too_long(struct hostile *h)
{
	first(h, 16, 8, 0, 100);
	rec(h, 40, 92, F_MID); /* a MID must leave something for the LAST */
	pub(h);
}
static void
first_twice(struct hostile *h)
{
	first(h, 16, 8, 0, 100);
	first(h, 40, 8, 0, 100);
	pub(h);
}
static void
whole_in_frag(struct hostile *h)
{
	first(h, 16, 8, 0, 100);
	rec(h, 40, 8, 0);
	pub(h);
}
static void
two_kinds(struct hostile *h)
{
	rec(h, 16, 8, F_FIRST | F_MID);
	pub(h);
}
static void
mid_more(struct hostile *h)
{
	first(h, 16, 8, 0, 100);
	rec(h, 40, 8, F_MID | F_MORE);
	pub(h);
}
static void
first_more_cmd(struct hostile *h)
{
	first(h, 16, 8, F_MORE | F_CMD, 100);
	pub(h);
}
static void
whole_too_big(struct hostile *h)
{
	rec(h, 16, MAXMSG + 1, 0);
	pub(h);
}
static void
first_total_huge(struct hostile *h)
{
	first(h, 16, 8, 0, (uint64_t)1 << 62); /* refused before any allocation */
	pub(h);
}
static void
command_bogus(struct hostile *h)
{
	memcpy(h->ring0 + 24, "\5HELLO", 6);
	rec(h, 16, 6, F_CMD);
	pub(h);
}
static void
command_shm_in_ring(struct hostile *h)
{
	memcpy(h->ring0 + 24, "\3SHM\0\0\0\0\0\0\x10\0", 12);
	rec(h, 16, 12, F_CMD);
	pub(h);
}
static void
stream_byte(struct hostile *h)
{
	raw_send(h->sock, "x", 1); /* the stream must stay silent after the switch */
}
static void
storm(struct hostile *h)
{
	for (int i = 0; i < 20000; i++)
		wake(h);
	atomic_store(&h->ctl->dir[0].reader_sleeping, 0xdeadbeef);
	atomic_store(&h->ctl->dir[1].writer_sleeping, 7);
	hello(h, 16, "hello2");   /* still served */
	word(h, 32, 0xffffffffu); /* no SHM_REC_VALID */
	pub(h);
}

/* Set-up cases replace h_setup. */
static void
s_ring_size(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h_send_shm(h, 5000, (int[]){h->g.fd, h->a, h->b}, 3);
}
static void
s_size_mismatch(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h_send_shm(h, RING * 2, (int[]){h->g.fd, h->a, h->b}, 3);
}
static void
s_not_memfd(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	h_send_shm(h, RING, (int[]){p[0], h->a, h->b}, 3);
	close(p[0]);
	close(p[1]);
}
static void
s_two_fds(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h_send_shm(h, RING, (int[]){h->g.fd, h->a}, 2);
}
static void
s_no_fds(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h_send_shm(h, RING, NULL, 0);
}
static void
s_bad_magic(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	h->ctl->magic ^= 1;
	h_send_shm(h, RING, (int[]){h->g.fd, h->a, h->b}, 3);
}
static void
s_unsealed(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	int fd = memfd_create("unsealed", MFD_CLOEXEC);
	CHECK(fd >= 0);
	size_t size = shm_ring_map_size(RING);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	CHECK_EQ(pwrite(fd, h->g.base, DATA0, 0), DATA0); /* a valid control block */
	h_send_shm(h, RING, (int[]){fd, h->a, h->b}, 3);
	close(fd);
}
static void
s_eventfd_pipe(struct hostile *h)
{
	raw_greeting(h);
	raw_ready(h);
	h_make(h, RING);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	h_send_shm(h, RING, (int[]){h->g.fd, h->a, p[1]}, 3);
	close(p[0]);
	close(p[1]);
}
static void
s_before_ready(struct hostile *h)
{
	raw_greeting(h);
	h_make(h, RING);
	h_send_shm(h, RING, (int[]){h->g.fd, h->a, h->b}, 3);
}

static void
s_fds_early(struct hostile *h)
{
	/* Descriptors with the greeting, then three more with the SHM command. */
	h_make(h, RING);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = shm_file(ep);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	h->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(h->sock >= 0);
	CHECK_EQ(connect(h->sock, (struct sockaddr *)&sa, sizeof sa), 0);
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	CHECK_EQ(zn_shm_send_fds(h->sock, g, sizeof g, (int[]){h->g.fd, h->a, h->b}, 3),
	         64);
	raw_recv(h->sock, g, sizeof g);
	raw_ready(h);
	h_send_shm(h, RING, (int[]){h->g.fd, h->a, h->b}, 3);
}

enum kind { SETUP, RINGW, READIDX };

static const struct hcase {
	const char *name;
	enum kind kind;
	void (*fn)(struct hostile *h);
} hcases[] = {
        {"a header without SHM_REC_VALID", RINGW, no_valid_flag},
        {"length past the ring's end", RINGW, len_past_end},
        {"length 2^32-1", RINGW, len_huge},
        {"unknown flag", RINGW, flag_unknown},
        {"MORE and COMMAND", RINGW, flag_more_cmd},
        {"PAD short of the end", RINGW, pad_short},
        {"PAD with MORE", RINGW, pad_with_more},
        {"FRAG_MID alone", RINGW, mid_alone},
        {"FRAG_LAST alone", RINGW, last_alone},
        {"FRAG_FIRST total <= length", RINGW, first_total_small},
        {"FRAG_FIRST empty", RINGW, first_empty},
        {"FRAG_LAST wrong length", RINGW, last_wrong_len},
        {"FRAG_MID to the end", RINGW, mid_too_long},
        {"FRAG_FIRST twice", RINGW, first_twice},
        {"whole record inside fragments", RINGW, whole_in_frag},
        {"FIRST and MID", RINGW, two_kinds},
        {"FRAG_MID with MORE", RINGW, mid_more},
        {"FRAG_FIRST MORE and COMMAND", RINGW, first_more_cmd},
        {"whole message over MAXMSGSIZE", RINGW, whole_too_big},
        {"FRAG_FIRST total 2^62", RINGW, first_total_huge},
        {"unknown command in the ring", RINGW, command_bogus},
        {"SHM command in the ring", RINGW, command_shm_in_ring},
        {"a byte on the stream after the switch", RINGW, stream_byte},
        {"eventfd storm, flags garbage, then a bad header", RINGW, storm},
        {"read index ahead of zinc's writes", READIDX, NULL},
        {"read index unaligned", READIDX, NULL},
        {"ring size not a power of two", SETUP, s_ring_size},
        {"ring size not the file's", SETUP, s_size_mismatch},
        {"a pipe for the memfd", SETUP, s_not_memfd},
        {"two descriptors", SETUP, s_two_fds},
        {"no descriptors", SETUP, s_no_fds},
        {"bad magic", SETUP, s_bad_magic},
        {"memfd without seals", SETUP, s_unsealed},
        {"a pipe for an eventfd", SETUP, s_eventfd_pipe},
        {"SHM before READY", SETUP, s_before_ready},
        {"descriptors with the greeting too", SETUP, s_fds_early},
};
#define NHCASES ((int)(sizeof hcases / sizeof hcases[0]))

static void
kid_hostile(void *arg)
{
	(void)arg;
	for (;;) {
		int i = hear(kid_in, WAIT_MS * 4, -1);
		if (i == 0xff)
			return;
		const struct hcase *c = &hcases[i];
		struct hostile h = {.sock = -1, .a = -1, .b = -1, .index = i};
		h.g.fd = -1;
		if (c->kind == SETUP) {
			c->fn(&h);
		} else {
			h_setup(&h);
			if (c->kind ==
			    READIDX) /* zinc's ring to us: its writer checks it */
				atomic_store(&h.ctl->dir[1].read,
				             strstr(c->name, "unaligned")
				                     ? (uint64_t)4
				                     : (uint64_t)1 << 40);
			if (zinc_type != ZMQ_PUSH) /* a PUSH would never read it */
				hello(&h, 0, "hello");
			if (c->fn)
				c->fn(&h);
		}
		/* zinc must close the connection: EOF (or a reset), whatever came first.
		 */
		long long end = test_now_ms() + WAIT_MS;
		for (;;) {
			struct pollfd q = {h.sock, POLLIN, 0};
			int left = (int)(end - test_now_ms());
			if (left <= 0 || poll(&q, 1, left) != 1)
				TEST_FAIL("case \"%s\": zinc kept the connection",
				          c->name);
			char buf[256];
			if (read(h.sock, buf, sizeof buf) <= 0)
				break;
		}
		h_fini(&h);
		tell(kid_out, 'E');
	}
}

/* ---------------------------------------------------------------------------- */
/* The zinc side                                                                 */
/* ---------------------------------------------------------------------------- */

static void
good_round_trip(void *router, void *dealer)
{
	if (zinc_type == ZMQ_PULL) {
		send_str(dealer, "ping", 0);
		recv_str(router, "ping");
		return;
	}
	if (zinc_type == ZMQ_PUSH) {
		/* The good PULL may still hold the case's 1000-byte messages. */
		send_str(router, "ping", 0);
		char b[8];
		int n;
		while ((n = zmq_recv(dealer, b, sizeof b, 0)) == 1000)
			;
		CHECK_EQ(n, 4);
		CHECK(memcmp(b, "ping", 4) == 0);
		return;
	}
	send_str(dealer, "ping", 0);
	recv_str(router, "good");
	recv_str(router, "ping");
	send_str(router, "good", ZMQ_SNDMORE);
	send_str(router, "pong", 0);
	recv_str(dealer, "pong");
}

/* await_disconnect: the DISCONNECTED event of the case's connection. A socket that
 * reads its rings itself (the direct road: every type but STREAM, without CURVE) finds
 * damage in the ring only when it reads: it tries, and nothing may come. */
static int
await_disconnect(void *r, void *mon, char *where, size_t len)
{
	if (zinc_type == ZMQ_PUSH) {
		/* A spinning PUSH finds a bad read index when it writes to that peer:
		 * it sends (to it and to the good PULL, in turn) until it has. */
		long long end = test_now_ms() + WAIT_MS;
		for (;;) {
			zmq_msg_t m;
			CHECK_OK(zmq_msg_init_size(&m, 1000));
			memcpy(zmq_msg_data(&m), pattern(1000), 1000);
			if (zmq_msg_send(&m, r, ZMQ_DONTWAIT) < 0) {
				CHECK_EQ(errno, EAGAIN);
				zmq_msg_close(&m);
			}
			int ev = monitor_next(mon, 10, NULL, where, len);
			if (ev != 0 || test_now_ms() > end)
				return ev;
		}
	}
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		char b[16];
		CHECK_ERR(zmq_recv(r, b, sizeof b, ZMQ_DONTWAIT), EAGAIN);
		int ev = monitor_next(mon, 10, NULL, where, len);
		if (ev != 0 || test_now_ms() > end)
			return ev;
	}
}

/* read_dry: a socket reading its rings itself gives the space back when a read finds
 * them empty (the peer's hello() waits for that): one that finds nothing. */
static void
read_dry(void *r)
{
	char b[16];
	CHECK_ERR(zmq_recv(r, b, sizeof b, ZMQ_DONTWAIT), EAGAIN);
}

static void
hostile_peers(void)
{
	int fds = fd_count();
	bool pull = zinc_type == ZMQ_PULL, push = zinc_type == ZMQ_PUSH;
	shm_new(ep, sizeof ep);
	int k = kid_spawn(kid_hostile, NULL);
	ctx_open();
	void *r = sock_open(zinc_type);
	int64_t max = MAXMSG;
	CHECK_OK(zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &max, sizeof max));
	if (pull || push)
		set_int(r, ZINC_SHM_SPIN_US, 50);
	void *mon = monitor_open(r, ZMQ_EVENT_DISCONNECTED);
	CHECK_OK(zmq_bind(r, ep));
	void *d = sock_open(pull ? ZMQ_PUSH : push ? ZMQ_PULL : ZMQ_DEALER);
	if (!pull && !push)
		CHECK_OK(zmq_setsockopt(d, ZMQ_ROUTING_ID, "good", 4));
	CHECK_OK(zmq_connect(d, ep));
	good_round_trip(r, d);

	int failed = 0;
	for (int i = 0; i < NHCASES; i++) {
		const struct hcase *c = &hcases[i];
		if (pull && c->kind == READIDX)
			continue; /* a PULL never writes to its peer */
		if (push && c->kind == RINGW)
			continue; /* a PUSH never reads what its peer writes */
		char id[16];
		snprintf(id, sizeof id, "evil%d", i);
		tell(kids[k].to, (uint8_t)i);
		if (c->kind != SETUP && !push) {
			if (!pull)
				recv_str(r, id);
			recv_str(r, "hello");
			read_dry(r);
		}
		if (c->fn == storm) {
			if (!pull)
				recv_str(r, id);
			recv_str(r, "hello2");
			read_dry(r);
		}
		if (c->kind == READIDX && !push) { /* make zinc's writer look at it */
			for (int j = 0; j < 8; j++) {
				send_str(r, id, ZMQ_SNDMORE);
				send_sized(r, 1000, 0);
			}
		}
		char where[512] = "";
		int ev = await_disconnect(r, mon, where, sizeof where);
		if (ev != ZMQ_EVENT_DISCONNECTED) {
			fprintf(stderr, "  case \"%s\": no DISCONNECTED event\n",
			        c->name);
			failed++;
		} else {
			CHECK_STR(where, ep);
		}
		hear(kids[k].from, WAIT_MS * 2, 'E');
		good_round_trip(r, d);
	}
	tell(kids[k].to, 0xff);
	kid_reap(k, WAIT_MS);
	CHECK_EQ(failed, 0);
	/* What is left: the good connection's two mappings (both ends are here). */
	long long end = test_now_ms() + WAIT_MS;
	while (memfd_maps(NULL) > 2 && test_now_ms() < end) {
		int ev;
		size_t len = sizeof ev; /* a spinning socket lets go when it runs */
		CHECK_OK(zmq_getsockopt(r, ZMQ_EVENTS, &ev, &len));
		(void)poll(NULL, 0, 1);
	}
	CHECK_EQ(memfd_maps(NULL), 2);
	ctx_close();
	CHECK_EQ(memfd_maps(NULL), 0);
	CHECK_EQ(fd_count(), fds);
}

static void
hostile_peers_spinning_pull(void)
{
	zinc_type = ZMQ_PULL;
	hostile_peers();
	zinc_type = ZMQ_ROUTER;
}

static void
hostile_peers_spinning_push(void)
{
	zinc_type = ZMQ_PUSH;
	hostile_peers();
	zinc_type = ZMQ_ROUTER;
}

SHM_CASE(hostile_peers)
SHM_CASE(hostile_peers_spinning_pull)
SHM_CASE(hostile_peers_spinning_push)

static const struct test tests[] = {
        SHM_ENTRY(hostile_peers),
        SHM_ENTRY(hostile_peers_spinning_pull),
        SHM_ENTRY(hostile_peers_spinning_push),
        {NULL, NULL},
};

int
main(int argc, char **argv)
{
	return shm_main(argc, argv, tests, 4096, 4096);
}
