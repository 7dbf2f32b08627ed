/*
 * test_advisories.c: libzmq's security advisories and the hostile inputs behind them
 * (../shared/research/robustness.md §1.3 and §6), each its own case with the liveness
 * pattern of libzmq's fuzzers made stronger: a raw client speaks the hostile bytes
 * (raw_zmtp.h) while an honest zinc client, connected to the same server at the same
 * time, keeps sending and receiving; the server survives, its memory stays bounded,
 * and the honest client still works after. Cases:
 *   - frame sizes that overflow pointer arithmetic (near 2^64, near 2^63; CVE-2019-6250),
 *   - a 64 GiB announced size with nothing after it, several connections held open:
 *     the heap grows by at most the decoder's first buffer each, the RSS not at all,
 *   - a long SUBSCRIBE then CANCEL into XPUB and PUB (16 MiB, the advisory's; the
 *     topic is held once), as a ZMTP 3.1 command and as a ZMTP 3.0 message
 *     (GHSA-qq65-x72m-9wr8): taken as libzmq takes it, delivered while it stands,
 *     gone after, memory back down,
 *   - a valid greeting cut at every length 0..63, then closed,
 *   - READY metadata: lengths past the body, duplicates, a 255-byte name, large
 *     values, many properties; refused or accepted as libzmq 4.3.4 does (checked with
 *     Debian's libzmq through python3-zmq and the same bytes), where zinc is stricter
 *     the comment says why,
 *   - silent peers holding a handshake open while the honest client works, until
 *     ZMQ_HANDSHAKE_IVL ends them (CVE-2020-15166),
 *   - 10^6 messages into a PUB with a subscriber that never reads (memory flat, the
 *     HWM drops, zmq_send never blocks) and a subscriber that reads alongside,
 *   - a subscriber flooding its PUB with data messages (GHSA-4p5v-h92w-6wxw).
 * Under the sanitizers and valgrind the heavy cases scale down (ZINC_TEST_SLOWDOWN,
 * ZINC_TEST_UNDER_VALGRIND); their assertions do not change.
 */
#include "security_util.h"
#include "raw_zmtp.h"
#include "../perf/proc_stats.h"

#include <fcntl.h>

#define MIB                  (1024L * 1024)
#define DECODER_FIRST_BUFFER (8 * MIB) /* ZMTP_EAGER_MAX: what an announcement costs */

static bool under_valgrind;

/* Under ASan freed memory waits in a quarantine (256 MiB by default) and stays
 * resident, so the RSS grows with what is freed; mallinfo2 reads 0 there. The memory
 * bounds of the flood cases are the plain build's to check. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_TRACKS_FREES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_TRACKS_FREES 0
#endif
#endif
#ifndef RSS_TRACKS_FREES
#define RSS_TRACKS_FREES 1
#endif

/* scaled: n for the plain build, less under the sanitizers, least under valgrind. */
static long
scaled(long n, long valgrind_n)
{
	if (under_valgrind || quick)
		return valgrind_n;
	return n / (ZINC_TEST_SLOWDOWN * ZINC_TEST_SLOWDOWN);
}

/* ---- the server, its monitor and the honest client ----------------------------------
 */

struct rig {
	void *srv, *mon; /* the server under attack and its monitor */
	void *honest;    /* the honest client, connected all along */
	int type;        /* ZMQ_ROUTER, ZMQ_XPUB or ZMQ_PUB */
	int seq;         /* the honest client's round trips */
	int subscribers; /* honest SUBs: an XPUB tells only the first "news" */
	char ep[256];
};

/* rig_server: a server of `type` bound on t with a monitor; options before the bind
 * (a listener takes its sockets' options when it binds). */
static void
rig_server(struct rig *r, int type, enum tr t, int handshake_ivl, int sndbuf)
{
	memset(r, 0, sizeof *r);
	ctx_open();
	r->type = type;
	r->srv = sock_open(type);
	if (handshake_ivl >= 0)
		set_int(r->srv, ZMQ_HANDSHAKE_IVL, handshake_ivl);
	if (sndbuf >= 0)
		set_int(r->srv, ZMQ_SNDBUF, sndbuf);
	r->mon = monitor_open(r->srv, ZMQ_EVENT_ALL);
	bind_fresh(r->srv, t, r->ep, sizeof r->ep);
}

/* honest_open: a zinc client of the server, handshake done (its event is taken). A
 * DEALER for a ROUTER, a SUB of "news" for a publisher. */
static void *
honest_open(struct rig *r)
{
	bool pub = r->type != ZMQ_ROUTER;
	void *c = sock_open(pub ? ZMQ_SUB : ZMQ_DEALER);
	if (pub)
		CHECK_OK(zmq_setsockopt(c, ZMQ_SUBSCRIBE, "news", 4));
	else {
		/* Each its own: a ROUTER refuses a second peer with a known id. */
		static int ids;
		char id[16];
		int n = snprintf(id, sizeof id, "honest%d", ids++);
		CHECK_OK(zmq_setsockopt(c, ZMQ_ROUTING_ID, id, (size_t)n));
	}
	CHECK_OK(zmq_connect(c, r->ep));
	sec_expect(r->mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	if (r->type == ZMQ_XPUB && r->subscribers++ == 0) {
		char sub[8];
		CHECK_EQ(zmq_recv(r->srv, sub, sizeof sub, 0), 5);
		CHECK(memcmp(sub, "\1news", 5) == 0);
	}
	return c;
}

/* round_trip: c sends and receives through the server. A DEALER sends a ping and gets
 * the pong back; a SUB gets a "news" publication (sent again until the subscription
 * has reached a PUB: a bounded poll, PUB tells nobody when it has) and sends a
 * subscription (an XPUB shows it; both are cancelled at once). */
static void
round_trip(struct rig *r, void *c)
{
	char want[32], buf[32];
	int n = snprintf(want, sizeof want, "%s-%d",
	                 r->type == ZMQ_ROUTER ? "ping" : "news", r->seq++);
	if (r->type == ZMQ_ROUTER) {
		send_str(c, want, 0);
		int idl = zmq_recv(r->srv, buf, sizeof buf, 0); /* the routing id */
		CHECK(idl > 0 && idl <= (int)sizeof buf);
		recv_str(r->srv, want);
		CHECK_EQ(zmq_send(r->srv, buf, (size_t)idl, ZMQ_SNDMORE), idl);
		send_str(r->srv, want, 0);
		recv_str(c, want);
		return;
	}
	long long end = test_now_ms() + WAIT_MS;
	for (bool got = false; !got;) {
		if (test_now_ms() > end)
			TEST_FAIL("the honest subscriber never got %s", want);
		send_str(r->srv, want, 0);
		while (!got && readable(c, 20)) {
			int k = zmq_recv(c, buf, sizeof buf, 0);
			CHECK(k >= 0);
			got = k == n && memcmp(buf, want, (size_t)n) == 0;
		}
	}
	if (r->type == ZMQ_XPUB) {
		char note[8];
		CHECK_OK(zmq_setsockopt(c, ZMQ_SUBSCRIBE, "more", 4));
		CHECK_EQ(zmq_recv(r->srv, note, sizeof note, 0), 5);
		CHECK(memcmp(note, "\1more", 5) == 0);
		CHECK_OK(zmq_setsockopt(c, ZMQ_UNSUBSCRIBE, "more", 4));
		CHECK_EQ(zmq_recv(r->srv, note, sizeof note, 0), 5);
		CHECK(memcmp(note, "\0more", 5) == 0);
	}
}

/* rig_open: the server and its honest client, which has gone round once. */
static void
rig_open(struct rig *r, int type, enum tr t, int handshake_ivl)
{
	rig_server(r, type, t, handshake_ivl, -1);
	r->honest = honest_open(r);
	round_trip(r, r->honest);
}

/* events_until_disconnect: reads the monitor up to the next DISCONNECTED; the
 * handshake event seen on the way (0: none) and its value. */
static int
events_until_disconnect(void *mon, int *value)
{
	int hs = 0;
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		int left = (int)(end - test_now_ms()), v = 0;
		int ev = monitor_next(mon, left > 0 ? left : 0, &v, NULL, 0);
		if (ev == 0)
			TEST_FAIL("no DISCONNECTED event");
		if (ev == ZMQ_EVENT_DISCONNECTED)
			return hs;
		if (sec_is_handshake_event(ev)) {
			hs = ev;
			*value = v;
		}
	}
}

/* ---- frame sizes that overflow pointer arithmetic (CVE-2019-6250) -------------------
 */

/* After a good handshake, a data frame announcing `size` and 64 KiB of it. A size with
 * the top bit set is not a ZMTP size: the connection ends. Below it, the decoder holds
 * at most its first buffer (it grows with what arrives, never with what is announced)
 * until the peer leaves; libzmq's malloc of that size fails and it closes. Either way
 * the honest client goes on. */
static void
frame_size_overflow(enum tr t)
{
	static const uint64_t sizes[] = {
	        UINT64_MAX,
	        UINT64_MAX - 15,
	        UINT64_MAX - 4095,
	        (uint64_t)1 << 63,
	        ((uint64_t)1 << 63) - 1,
	        ((uint64_t)1 << 63) - 16,
	        ((uint64_t)1 << 62) + 1,
	};
	enum { BODY = 64 * 1024 };
	struct rig r;
	rig_open(&r, ZMQ_ROUTER, t, -1);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int fd = fd_track(raw_connect(r.ep));
		raw_hello(fd, "DEALER", 1);
		sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
		long heap0 = heap_kib();
		uint8_t h[9];
		CHECK_EQ(raw_frame_header(h, false, false, sizes[i]), 9);
		bool sent =
		        raw_send(fd, h, sizeof h) && raw_send(fd, pattern(BODY), BODY);
		/* The honest client's handshake and ping come after these bytes, on the
		 * same I/O thread: when it is through, the frame's header has been read.
		 */
		round_trip(&r, r.honest);
		if (sizes[i] >> 63) {
			CHECK(raw_closed(fd));
		} else {
			CHECK(sent);
			long grown = heap_kib() - heap0;
			if (grown > (DECODER_FIRST_BUFFER + MIB) / 1024)
				TEST_FAIL("size %#llx: the heap grew by %ld KiB",
				          (unsigned long long)sizes[i], grown);
		}
		close(fd);
		cs.nfds--;
		int v;
		(void)events_until_disconnect(r.mon, &v);
		CHECK(!readable(r.srv, 0)); /* nothing of it was delivered */
		round_trip(&r, r.honest);
	}
	void *late = honest_open(&r); /* a new client is served too */
	round_trip(&r, late);
}

/* ---- 64 GiB announced, nothing sent -------------------------------------------------
 */

static void
announced_64gib(enum tr t)
{
	const int conns = (int)scaled(8, 2);
	static const uint8_t h[9] = {0x02, 0, 0, 0, 0x10, 0, 0, 0, 0}; /* 64 GiB */
	struct rig r;
	rig_open(&r, ZMQ_ROUTER, t, -1);
	int fds[8];
	long heap0 = heap_kib(), rss0 = rss_kib();
	for (int i = 0; i < conns; i++) {
		fds[i] = fd_track(raw_connect(r.ep));
		raw_hello(fds[i], "DEALER", 1);
		sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
		CHECK(raw_send(fds[i], h, sizeof h));
		round_trip(&r, r.honest); /* see frame_size_overflow */
	}
	void *late = honest_open(&r);
	round_trip(&r, late);
	long heap = heap_kib() - heap0, rss = rss_kib() - rss0;
	if (heap > conns * (DECODER_FIRST_BUFFER + MIB / 4) / 1024)
		TEST_FAIL("%d connections announcing 64 GiB: the heap grew by %ld KiB",
		          conns, heap);
	/* The first buffers are reserved, not written: the RSS does not see them. */
	if (!under_valgrind && rss > 16 * 1024)
		TEST_FAIL("%d connections announcing 64 GiB: the RSS grew by %ld KiB",
		          conns, rss);
	for (int i = 0; i < conns; i++) {
		struct pollfd p = {fds[i], POLLIN, 0};
		CHECK_EQ(poll(&p, 1, 0), 0); /* held, not closed: it may yet send it */
		close(fds[i]);
		int v;
		(void)events_until_disconnect(r.mon, &v);
	}
	cs.nfds -= conns;
	round_trip(&r, r.honest);
	round_trip(&r, late);
	heap = heap_kib() - heap0;
	if (heap > 2 * 1024)
		TEST_FAIL("after the connections closed the heap is %ld KiB up", heap);
}

/* ---- a 16 MiB subscription, then its cancellation -----------------------------------
 */

enum sub_form { SUB_COMMAND, SUB_MESSAGE };

/* raw_subscribe: (un)subscribes the raw peer to topic, as a ZMTP 3.1 command or a 3.0
 * message (first byte 1 or 0). */
static void
raw_subscribe(int fd, enum sub_form form, bool sub, const void *topic, size_t len)
{
	const char *name = sub ? "\x09SUBSCRIBE"
	                       : "\x06"
	                         "CANCEL";
	size_t hl = form == SUB_COMMAND ? strlen(name) : 1;
	uint8_t h[9];
	CHECK(raw_send(fd, h, raw_frame_header(h, form == SUB_COMMAND, false, hl + len)));
	if (form == SUB_COMMAND)
		CHECK(raw_send(fd, name, hl));
	else
		CHECK(raw_send(fd, sub ? "\1" : "\0", 1));
	CHECK(raw_send(fd, topic, len));
}

/* raw_next: the raw peer's next publication that is not a sync mark ("m<digit>"). */
static size_t
raw_next(int fd, uint8_t *buf, size_t cap)
{
	for (;;) {
		size_t n = raw_read_frame(fd, NULL, buf, cap);
		if (n != 2 || buf[0] != 'm' || buf[1] < '0' || buf[1] > '9')
			return n;
	}
}

/* raw_sync: the raw peer has subscribed to `mark` ("m<digit>") last: publishes
 * it until the peer has one, so that the subscriptions it sent before are in force
 * (a publisher applies a pipe's subscriptions in order). A bounded poll: PUB says
 * nothing when a subscription arrives. */
static void
raw_sync(struct rig *r, int fd, const char *mark)
{
	long long end = test_now_ms() + WAIT_MS;
	size_t len = strlen(mark);
	for (bool got = false; !got;) {
		if (test_now_ms() > end)
			TEST_FAIL("the raw subscriber never got %s", mark);
		send_str(r->srv, mark, 0);
		struct pollfd p = {fd, POLLIN, 0};
		while (!got && poll(&p, 1, 20) == 1) {
			uint8_t buf[16]; /* only marks are on their way now */
			size_t n = raw_read_frame(fd, NULL, buf, sizeof buf);
			got = n == len && memcmp(buf, mark, len) == 0;
		}
	}
}

/* xpub_note: an XPUB shows the subscription (first byte `first`, then topic). */
static void
xpub_note(struct rig *r, int first, const uint8_t *topic, size_t len)
{
	if (r->type != ZMQ_XPUB)
		return;
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_recv(&m, r->srv, 0), (int)(len + 1));
	const uint8_t *d = zmq_msg_data(&m);
	CHECK_EQ(d[0], first);
	CHECK(memcmp(d + 1, topic, len) == 0);
	zmq_msg_close(&m);
}

/* long_subscription: a raw SUB subscribes to a topic of `len` bytes and cancels it.
 * libzmq takes both forms from a 3.x peer, and an XPUB shows both notes. While the
 * subscription stands a publication on the topic reaches the peer; after, it does not
 * (the next thing it gets is the marker published after it). The heap comes back to
 * where it was; while the subscription stands it holds about the topic once. */
static void
long_subscription(int type, enum sub_form form)
{
	/* The advisory's 16 MiB (less under the sanitizers and valgrind;
	 * ZINC_TEST_TOPIC_MIB sets it). zinc's radix trie holds it once, in a few
	 * hundred ms; a trie with a node per byte (libzmq's, zinc's before) held about
	 * 800 MiB and took seconds. */
	const char *mib = getenv("ZINC_TEST_TOPIC_MIB");
	const size_t len =
	        mib ? (size_t)atol(mib) * MIB : (size_t)scaled(16 * MIB, 64 * 1024);
	struct rig r;
	rig_open(&r, type, TCP, -1);
	uint8_t *topic = malloc(len), *buf = malloc(len + 16);
	CHECK(topic && buf);
	for (size_t i = 0; i < len; i++)
		topic[i] = (uint8_t)('a' + i % 26);
	int fd = fd_track(raw_connect(r.ep));
	raw_hello(fd, "SUB", form == SUB_COMMAND ? 1 : 0);
	sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	raw_subscribe(fd, form, true, "m0", 2);
	xpub_note(&r, 1, (const uint8_t *)"m0", 2);
	raw_sync(&r, fd, "m0");
	long heap0 = heap_kib();

	raw_subscribe(fd, form, true, topic, len);
	xpub_note(&r, 1, topic, len);
	raw_subscribe(fd, form, true, "m1", 2); /* behind the subscription */
	xpub_note(&r, 1, (const uint8_t *)"m1", 2);
	raw_sync(&r, fd, "m1");
	long held = heap_kib() - heap0;
	printf("     %s %s: %zu-byte subscription holds %ld KiB\n",
	       type == ZMQ_PUB ? "PUB" : "XPUB",
	       form == SUB_COMMAND ? "command" : "message", len, held);
	/* The trie stores the topic's bytes once, in one node (1.0 byte per byte
	 * measured); libzmq's mtrie has a node per byte, about 48 bytes each. */
	if (held > (long)(2 * len + MIB) / 1024)
		TEST_FAIL("a %zu-byte subscription holds %ld KiB", len, held);
	round_trip(&r, r.honest);
	CHECK_EQ(zmq_send(r.srv, topic, len, 0), (int)len);
	CHECK_EQ(raw_next(fd, buf, len + 16), len);
	CHECK(memcmp(buf, topic, len) == 0);

	raw_subscribe(fd, form, false, topic, len);
	xpub_note(&r, 0, topic, len);
	raw_subscribe(fd, form, true, "m2", 2); /* behind the cancellation */
	xpub_note(&r, 1, (const uint8_t *)"m2", 2);
	raw_sync(&r, fd, "m2");
	CHECK_EQ(zmq_send(r.srv, topic, len, 0), (int)len);
	send_str(r.srv, "m0-end", 0);
	CHECK_EQ(raw_next(fd, buf, len + 16), 6); /* not the topic */
	CHECK(memcmp(buf, "m0-end", 6) == 0);
	round_trip(&r, r.honest);
	long after = heap_kib() - heap0;
	if (after > 256)
		TEST_FAIL("after the cancellation the heap is %ld KiB up", after);
	close(fd);
	cs.nfds--;
	free(topic);
	free(buf);
	for (int i = 0; r.type == ZMQ_XPUB && i < 3; i++) {
		char note[8]; /* an XPUB tells the marks went with the peer */
		CHECK_EQ(zmq_recv(r.srv, note, sizeof note, 0), 3);
		CHECK(note[0] == 0 && note[1] == 'm');
	}
	void *late = honest_open(&r);
	round_trip(&r, late);
}

/* ---- every greeting prefix, then close ----------------------------------------------
 */

static void
greeting_prefixes(enum tr t)
{
	struct rig r;
	rig_open(&r, ZMQ_ROUTER, t, -1);
	uint8_t g[64];
	raw_greeting(g, "NULL", 1);
	for (size_t len = 0; len < 64; len++) {
		int fd = raw_connect(r.ep);
		bool sent = raw_send(fd, g, len);
		close(fd);
		CHECK(sent);
		int v = 0, hs = events_until_disconnect(r.mon, &v);
		if (hs != 0 && hs != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			TEST_FAIL("greeting cut at %zu: handshake event 0x%x (%d)", len,
			          hs, v);
		void *c = honest_open(&r); /* a client after each */
		round_trip(&r, c);
		sock_close(c);
		(void)events_until_disconnect(r.mon, &v);
		round_trip(&r, r.honest);
	}
}

/* ---- READY metadata -----------------------------------------------------------------
 */

enum md_outcome {
	MD_QUIET,  /* refused with no handshake event (DISCONNECTED alone), as libzmq */
	MD_PROTO,  /* refused with HANDSHAKE_FAILED_PROTOCOL, the value given */
	MD_ACCEPT, /* accepted; the peer's message carries the property checked */
};

struct md_case {
	const char *name;
	size_t (*build)(uint8_t *p); /* the properties after Socket-Type DEALER */
	enum md_outcome outcome;
	int value;
	const char *prop; /* MD_ACCEPT: this property of the message ... */
	size_t prop_len;  /* ... has this length and starts "v1" (or is all 'v') */
};

static size_t
md_name_past_body(uint8_t *p)
{
	p[0] = 200;
	memcpy(p + 1, "abc", 3);
	return 4;
}

static size_t
md_value_past_body(uint8_t *p)
{
	return put_prop_n(p, "X-A", "abc", 200, 3);
}

static size_t
md_value_ffffffff(uint8_t *p)
{
	return put_prop_n(p, "X-A", "abc", 0xffffffffu, 3);
}

static size_t
md_name_empty(uint8_t *p)
{
	return put_prop(p, "", "v", 1);
}

static size_t
md_identity_300(uint8_t *p)
{
	static char id[300];
	memset(id, 'i', sizeof id);
	return put_prop(p, "Identity", id, sizeof id);
}

static size_t
md_value_200k(uint8_t *p)
{
	return put_prop_n(p, "X-Big", pattern(200000), 200000, 200000);
}

static size_t
md_dup_type(uint8_t *p)
{
	return put_prop(p, "Socket-Type", "DEALER", 6);
}

static size_t
md_dup_custom(uint8_t *p)
{
	size_t n = put_prop(p, "X-A", "v1", 2);
	return n + put_prop(p + n, "X-A", "v2", 2);
}

static char name255[256];

static size_t
md_name_255(uint8_t *p)
{
	memset(name255, 'N', 255);
	return put_prop(p, name255, "v1", 2);
}

static size_t
md_value_100k(uint8_t *p)
{
	static char v[100000];
	memset(v, 'v', sizeof v);
	return put_prop(p, "X-Big", v, sizeof v);
}

static size_t
md_many(uint8_t *p)
{
	size_t n = 0;
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof name, "X-%d", i);
		n += put_prop(p + n, name, "v1", 2);
	}
	return n;
}

#define PROTO ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL

static const struct md_case md_cases[] = {
        {"name_past_body", md_name_past_body, MD_QUIET, 0, NULL, 0},
        {"value_past_body", md_value_past_body, MD_QUIET, 0, NULL, 0},
        {"value_length_ffffffff", md_value_ffffffff, MD_QUIET, 0, NULL, 0},
        /* libzmq takes an empty name; RFC 37's grammar has 1 to 255 characters. */
        {"name_empty", md_name_empty, MD_QUIET, 0, NULL, 0},
        /* libzmq takes it; RFC 23 caps an Identity at 255 bytes. */
        {"identity_300", md_identity_300, MD_PROTO,
         ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA, NULL, 0},
        /* libzmq takes it; zinc takes no frame over 128 KiB before the handshake is
         * over, so that strangers cannot make it hold more (CVE-2020-15166). */
        {"value_200k", md_value_200k, MD_PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED, NULL,
         0},
        {"duplicate_socket_type", md_dup_type, MD_ACCEPT, 0, "Socket-Type", 6},
        /* The first one counts, as in libzmq (its map keeps the first insert). */
        {"duplicate_property", md_dup_custom, MD_ACCEPT, 0, "X-A", 2},
        {"name_255", md_name_255, MD_ACCEPT, 0, name255, 2},
        {"value_100k", md_value_100k, MD_ACCEPT, 0, "X-Big", 100000},
        {"many_properties", md_many, MD_ACCEPT, 0, "X-99", 2},
};

/* md_check_accepted: the raw peer's message reaches the server with the property. */
static void
md_check_accepted(struct rig *r, int fd, const struct md_case *c)
{
	CHECK(raw_frame(fd, false, false, "hi", 2));
	char id[256];
	CHECK(zmq_recv(r->srv, id, sizeof id, 0) > 0);
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_recv(&m, r->srv, 0), 2);
	const char *v = zmq_msg_gets(&m, c->prop);
	if (!v)
		TEST_FAIL("%s: no property %.20s", c->name, c->prop);
	CHECK_EQ(strlen(v), c->prop_len);
	if (c->prop_len == 2)
		CHECK(strcmp(v, "v1") == 0 || strcmp(v, "DEALER") == 0);
	else if (c->prop_len > 6)
		CHECK(v[0] == 'v' && v[c->prop_len - 1] == 'v');
	else
		CHECK_STR(v, "DEALER");
	zmq_msg_close(&m);
}

static void
md_run(const struct md_case *c, enum tr t)
{
	struct rig r;
	rig_open(&r, ZMQ_ROUTER, t, -1);
	size_t cap = 300000;
	uint8_t *body = malloc(cap);
	CHECK(body);
	memcpy(body, "\5READY", 6);
	size_t n = 6 + put_prop(body + 6, "Socket-Type", "DEALER", 6);
	n += c->build(body + n);
	CHECK(n <= cap);
	int fd = fd_track(raw_connect(r.ep));
	raw_greet_minor(fd, "NULL", 1);
	bool sent = raw_cmd(fd, body, n);
	free(body);
	round_trip(&r, r.honest); /* during */
	if (c->outcome == MD_ACCEPT) {
		CHECK(sent);
		int v = 0, hs = sec_handshake_event(r.mon, WAIT_MS, &v);
		if (hs != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			TEST_FAIL("%s: refused (event 0x%x, 0x%x)", c->name, hs, v);
		md_check_accepted(&r, fd, c);
		close(fd);
		cs.nfds--;
		CHECK_EQ(events_until_disconnect(r.mon, &v), 0);
	} else {
		if (!raw_closed(fd))
			TEST_FAIL("%s: the server kept the connection", c->name);
		close(fd);
		cs.nfds--;
		int v = 0, hs = events_until_disconnect(r.mon, &v);
		int want = c->outcome == MD_PROTO ? PROTO : 0;
		if (hs != want || (want && v != c->value))
			TEST_FAIL("%s: handshake event 0x%x (0x%x), want 0x%x (0x%x)",
			          c->name, hs, v, want, c->value);
	}
	CHECK(!readable(r.srv, 0));
	round_trip(&r, r.honest); /* after */
}

static void
metadata(void)
{
	for (size_t i = 0; i < sizeof md_cases / sizeof md_cases[0]; i++) {
		case_begin(); /* a failure message names the case */
		md_run(&md_cases[i], TCP);
	}
	case_begin();
	md_run(&md_cases[1], IPC);
	md_run(&md_cases[7], IPC);
}

/* ---- silent peers holding the handshake open (CVE-2020-15166) -----------------------
 */

/* Three peers: one sends nothing, one 10 bytes of greeting, one its whole greeting and
 * no READY. The honest client works meanwhile; ZMQ_HANDSHAKE_IVL ends each of them,
 * not before the interval, with HANDSHAKE_FAILED_NO_DETAIL (ETIMEDOUT). The interval
 * must hold several of the honest client's round trips (trips > 1 below): valgrind
 * makes each of them 20-50 times slower, so there it is ten times as long (through
 * ZINC_TEST_SLOWDOWN). */
static void
silent_peers(enum tr t)
{
	const int ivl = 300 * ZINC_TEST_SLOWDOWN;
	struct rig r;
	rig_open(&r, ZMQ_ROUTER, t, ivl);
	uint8_t g[64];
	raw_greeting(g, "NULL", 1);
	int fds[3];
	long long start = test_now_ms();
	for (int i = 0; i < 3; i++) {
		fds[i] = fd_track(raw_connect(r.ep));
		CHECK(raw_send(fds[i], g, i == 0 ? 0 : i == 1 ? 10 : 64));
	}
	int open = 3, trips = 0;
	bool closed[3] = {false, false, false};
	while (open > 0) {
		round_trip(&r, r.honest);
		trips++;
		for (int i = 0; i < 3; i++) {
			struct pollfd p = {fds[i], POLLIN, 0};
			if (closed[i] || poll(&p, 1, 5) == 0)
				continue;
			uint8_t buf[128];
			ssize_t n = recv(fds[i], buf, sizeof buf, 0);
			if (n > 0)
				continue; /* the server's greeting */
			long long took = test_now_ms() - start;
			if (took < ivl - 10)
				TEST_FAIL(
				        "peer %d closed after %lld ms, before the %d ms "
				        "interval",
				        i, took, ivl);
			closed[i] = true;
			open--;
		}
		if (test_now_ms() - start > ivl + WAIT_MS)
			TEST_FAIL("%d silent peers still open after %d ms", open,
			          ivl + WAIT_MS);
	}
	CHECK(trips > 1); /* the honest client went round while they were held */
	for (int i = 0; i < 3; i++)
		sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT);
	round_trip(&r, r.honest);
}

/* ---- a flood into a PUB with a subscriber that never reads ---------------------------
 */

#define FLOOD_SIZE 64 /* past MSG_INLINE_MAX: every queued message holds heap */
#define FLOOD_HWM  1000

/* pub_flood: the PUB's SNDHWM is 1000 and its kernel send buffer small, so the peer
 * that never reads holds at most that many messages (and what the kernel buffers);
 * the rest are dropped, zmq_send never blocks or fails, and the memory is flat: what
 * it is after a tenth of the messages it is after all of them. A zinc SUB read every
 * thousand messages receives alongside, and the end marker. */
static void
pub_flood(void)
{
	const long total = scaled(1000000, 20000);
	struct rig r;
	rig_server(&r, ZMQ_PUB, TCP, -1, 64 * 1024);
	set_int(r.srv, ZMQ_SNDHWM, FLOOD_HWM);
	r.honest = honest_open(&r);
	CHECK_OK(zmq_setsockopt(r.honest, ZMQ_SUBSCRIBE, "", 0));
	round_trip(&r, r.honest);
	int fd = fd_track(raw_connect(r.ep));
	/* A fixed receive buffer: autotuned, loopback's would hold megabytes. */
	int small = 64 * 1024;
	CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
	raw_hello(fd, "SUB", 1);
	sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	raw_subscribe(fd, SUB_COMMAND, true, "", 0);
	raw_sync(&r, fd, "m0");
	while (readable(r.honest, 0)) /* the sync markers */
		CHECK(zmq_recv(r.honest, NULL, 0, 0) >= 0);

	uint8_t msg[FLOOD_SIZE];
	memcpy(msg, pattern(FLOOD_SIZE), FLOOD_SIZE);
	long heap0 = heap_kib(), heap_tenth = 0, rss_tenth = 0, fast = 0;
	long long start = test_now_ms();
	for (long i = 0; i < total; i++) {
		if (i == total / 10) {
			heap_tenth = heap_kib();
			rss_tenth = rss_kib();
		}
		CHECK_EQ(zmq_send(r.srv, msg, sizeof msg, 0), FLOOD_SIZE);
		if (i % 1000 == 999)
			while (zmq_recv(r.honest, NULL, 0, ZMQ_DONTWAIT) >= 0)
				fast++;
	}
	long long took = test_now_ms() - start;
	long heap = heap_kib(), rss = rss_kib();
	printf("     %ld messages in %lld ms; the reader got %ld; heap %+ld KiB "
	       "(%+ld after a tenth), RSS %+ld KiB after a tenth\n",
	       total, took, fast, heap - heap0, heap - heap_tenth, rss - rss_tenth);
	if (heap - heap_tenth > 1024 || heap - heap0 > 8 * 1024)
		TEST_FAIL("the heap grew with the messages: %+ld KiB, %+ld after a tenth",
		          heap - heap0, heap - heap_tenth);
	if (!under_valgrind && RSS_TRACKS_FREES && rss - rss_tenth > 4 * 1024)
		TEST_FAIL("the RSS grew with the messages: %+ld KiB", rss - rss_tenth);

	/* The end marker: sent until the reader has it (its pipe may be full when it
	 * comes: PUB drops it then, as it should). What the reader gets before it
	 * counts too: under valgrind the sending loop can finish before the I/O
	 * threads have run at all, so nothing need arrive during it. */
	long long end = test_now_ms() + WAIT_MS;
	for (bool got = false; !got;) {
		CHECK(test_now_ms() < end);
		send_str(r.srv, "end", 0);
		while (!got && readable(r.honest, 20)) {
			char b[FLOOD_SIZE];
			int n = zmq_recv(r.honest, b, sizeof b, 0);
			got = n == 3;
			fast += n == FLOOD_SIZE;
		}
	}
	CHECK(fast > 0); /* the reader's pipe was never full: it got its share */

	/* The peer that never read now reads what it holds: at most the HWM plus what
	 * the kernel buffers, far fewer than were sent. */
	int rcvbuf = 0;
	socklen_t sl = sizeof rcvbuf;
	CHECK_OK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl));
	long wire = FLOOD_SIZE + 2, held = 0;
	long bound = FLOOD_HWM + (4L * 64 * 1024 + rcvbuf + 2 * 8192) / wire + 100;
	CHECK_OK(fcntl(fd, F_SETFL, O_NONBLOCK));
	uint8_t buf[65536];
	size_t have = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		size_t off = 0;
		while (have - off >= 2 && have - off >= 2 + (size_t)buf[off + 1]) {
			held += buf[off + 1] == FLOOD_SIZE;
			off += 2 + buf[off + 1];
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	printf("     the silent subscriber held %ld messages (bound %ld)\n", held, bound);
	CHECK(held <= bound);
	if (total >= 10 * bound)
		CHECK(held < total / 10);
	round_trip(&r, r.honest);
}

/* ---- a subscriber flooding its PUB with data (GHSA-4p5v-h92w-6wxw) ------------------
 */

/* A PUB has no use for what its subscribers send beyond subscriptions: 10^5 data
 * messages (first byte neither 0 nor 1) leave its memory flat, and its honest
 * subscriber is served all along. */
static void
pub_inbound_flood(void)
{
	const long total = scaled(100000, 5000);
	struct rig r;
	rig_open(&r, ZMQ_PUB, TCP, -1);
	int fd = fd_track(raw_connect(r.ep));
	raw_hello(fd, "SUB", 1);
	sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	uint8_t batch[1000 * (2 + FLOOD_SIZE)];
	for (int i = 0; i < 1000; i++) {
		uint8_t *f = batch + i * (2 + FLOOD_SIZE);
		f[0] = 0;
		f[1] = FLOOD_SIZE;
		memcpy(f + 2, pattern(FLOOD_SIZE), FLOOD_SIZE);
		f[2] = 'x';
	}
	long heap0 = heap_kib();
	for (long i = 0; i < total; i += 1000) {
		CHECK(raw_send(fd, batch, sizeof batch));
		/* The PUB reads its pipes when it runs its commands: ZMQ_EVENTS does, a
		 * send only a millisecond after the last that did (libzmq's rule). */
		int ev;
		size_t ev_len = sizeof ev;
		CHECK_OK(zmq_getsockopt(r.srv, ZMQ_EVENTS, &ev, &ev_len));
		round_trip(&r, r.honest);
	}
	round_trip(&r, r.honest); /* after the flood on the same I/O thread */
	long grown = heap_kib() - heap0;
	if (grown > 2 * 1024)
		TEST_FAIL("%ld data messages into a PUB: the heap grew by %ld KiB", total,
		          grown);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_EQ(poll(&p, 1, 0), 0); /* still connected: data is ignored, as libzmq */
	close(fd);
	cs.nfds--;
}

/* ---- the cases ----------------------------------------------------------------------
 */

BOTH(frame_size_overflow)
BOTH(announced_64gib)
BOTH(greeting_prefixes)
BOTH(silent_peers)
ONE(metadata)
ONE(pub_flood)
ONE(pub_inbound_flood)

static void
xpub_subscribe_command(void)
{
	case_begin();
	long_subscription(ZMQ_XPUB, SUB_COMMAND);
}

static void
xpub_subscribe_message(void)
{
	case_begin();
	long_subscription(ZMQ_XPUB, SUB_MESSAGE);
}

static void
pub_subscribe_command(void)
{
	case_begin();
	long_subscription(ZMQ_PUB, SUB_COMMAND);
}

static void
pub_subscribe_message(void)
{
	case_begin();
	long_subscription(ZMQ_PUB, SUB_MESSAGE);
}

int
main(int argc, char **argv)
{
	under_valgrind = getenv("ZINC_TEST_UNDER_VALGRIND") != NULL;
	static const struct test tests[] = {
	        BOTH_ENTRIES(frame_size_overflow),
	        BOTH_ENTRIES(announced_64gib),
	        {"xpub_subscribe_command", xpub_subscribe_command},
	        {"xpub_subscribe_message", xpub_subscribe_message},
	        {"pub_subscribe_command", pub_subscribe_command},
	        {"pub_subscribe_message", pub_subscribe_message},
	        BOTH_ENTRIES(greeting_prefixes),
	        ONE_ENTRY(metadata),
	        BOTH_ENTRIES(silent_peers),
	        ONE_ENTRY(pub_flood),
	        ONE_ENTRY(pub_inbound_flood),
	        {NULL, NULL},
	};
	return transport_main(argc, argv, tests, 256 * 1024, 256 * 1024);
}
