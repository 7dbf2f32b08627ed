/*
 * fuzz_engine.h: the body of the libFuzzer targets that drive a whole ZMTP engine
 * (src/proto/engine*.c) with a hostile peer's bytes: fuzz_engine_server.c (an accepted
 * connection), fuzz_engine_client.c (a connecting one) and fuzz_shm_setup.c (an
 * accepted shm:// connection whose peer sends the SHM set-up command with descriptors
 * of its choosing). Each defines FUZZ_CLIENT and FUZZ_SHM, then includes this file.
 *
 * The engine is real: it reads and writes one end of a Unix socket pair, through a real
 * poller whose rounds this file runs (zn_pollset_wait with no wait, then the handlers,
 * as the I/O thread's loop does), in this thread; one poller serves every input, as an
 * I/O thread's serves every engine, and must be idle again after each. CURVE runs on
 * fuzz_sodium.c (libsodium's arithmetic costs more than the engine's work). What stands
 * in is the session: this
 * file defines the session_* functions the engine calls (so the library's session.o
 * is not linked), with a pipe that takes a budget of messages and then -EAGAIN, a queue
 * of messages to send, a ZAP handler that the input makes answer, and
 * session_engine_failed destroying the engine as the real session does. Timers fire
 * when the input says (deterministic), not by the clock.
 *
 * Everything the engine writes is read back and must be ZMTP: a 64-byte greeting and
 * then frames the zmtp decoder takes (a raw STREAM socket excepted).
 *
 * Input: byte 0 = control: bits 0-2 the socket type (PAIR, DEALER, ROUTER, PULL, SUB,
 * XPUB, STREAM, PUSH); bits 3-4 the mechanism (NULL, NULL with a ZAP domain, PLAIN,
 * CURVE); bit 5 a ZAP handler is bound; bit 6 heartbeats (ivl 100 ms, ttl 300 ms);
 * bit 7 ZMQ_MAXMSGSIZE 64. Byte 1: bits 0-3 fail the Nth allocation after the set-up
 * (0: none), bits 4-5 the pipe's first budget (0, 1, 4, unlimited messages), bit 6
 * (client target) shm:// (this side creates the rings). Then records: kind (1 byte),
 * length (1 byte), that many bytes; kind % 11:
 *   0  the peer writes the bytes
 *   1  the peer writes an honest greeting for our mechanism (byte 0: its minor
 *      version, byte 1: its as-server flag)
 *   2  the peer writes an honest READY (byte 0 bit 0: with an Identity, bit 1: with
 *      an extra property, bit 2: a Socket-Type we do not take)
 *   3  the peer writes one message frame of the bytes (byte 0 bit 0: MORE)
 *   4  the peer shuts down its writing side (EOF)
 *   5  a timer fires, if armed (byte 0 % 4: handshake, heartbeat interval, heartbeat
 *      timeout, heartbeat TTL)
 *   6  the poller reports POLLOUT (the engine writes)
 *   7  the pipe takes byte 0 more messages (255: any number) and the engine resumes
 *   8  the socket queues a message of the bytes (byte 0 bit 0: MORE), and the engine
 *      is told
 *   9  the ZAP handler answers: byte 0 % 4 picks 200 / 300 / 400 / 500, or with bit 2
 *      raw frames of (1-byte length, bytes)
 *   10 (shm) the peer sends the SHM command with descriptors: byte 0 bits 0-1 how
 *      many (0..3), bit 2 a pipe instead of the first eventfd, bit 3 the memfd twice;
 *      byte 1 the ring size (4 KiB << (b % 4)); byte 2 announce another size; byte 3..4
 *      a control-block offset to flip and byte 5 the xor; byte 6 bit 0 with trailing
 *      bytes after the command
 * After each record the poller runs one round.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/options.h"
#include "fuzz_frames.h"
#include "core/poller.h"
#include "core/socket_type.h"
#include "pipe/msg.h"
#include "platform/alloc.h"
#include "platform/shm.h"
#include "proto/engine_impl.h"
#include "proto/mech/mechanism.h"
#include "proto/session.h"
#include "proto/shm_ring.h"
#include "proto/zmtp_codec.h"
#include "zmq.h"
#ifdef FUZZ_SODIUM
#include "fuzz_sodium.h"
#endif

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

/* The socket types, as src/socket/<type>.c describe them. */
static const struct socket_type fuzz_types[8] = {
        {.number = ZMQ_PAIR,
         .name = "PAIR",
         .peers = (const char *const[]){"PAIR", NULL},
         .direct_road = true},
        {.number = ZMQ_DEALER,
         .name = "DEALER",
         .peers = (const char *const[]){"REP", "DEALER", "ROUTER", NULL}},
        {.number = ZMQ_ROUTER,
         .name = "ROUTER",
         .peers = (const char *const[]){"REQ", "DEALER", "ROUTER", NULL},
         .sends_routing_id = true,
         .pipe_per_connection = true},
        {.number = ZMQ_PULL,
         .name = "PULL",
         .peers = (const char *const[]){"PUSH", NULL},
         .direct_road = true},
        {.number = ZMQ_SUB,
         .name = "SUB",
         .peers = (const char *const[]){"PUB", "XPUB", NULL},
         .subscribes = true},
        {.number = ZMQ_XPUB,
         .name = "XPUB",
         .peers = (const char *const[]){"SUB", "XSUB", NULL}},
        {.number = ZMQ_STREAM,
         .name = "STREAM",
         .peers = (const char *const[]){NULL},
         .pipe_per_connection = true,
         .raw = true},
        {.number = ZMQ_PUSH,
         .name = "PUSH",
         .peers = (const char *const[]){"PULL", NULL},
         .direct_road = true},
};

static const uint8_t server_secret[32] = "fuzz-server-secret-key-32-bytes";
static const uint8_t client_secret[32] = "fuzz-client-secret-key-32-bytes";

/* ---- the stand-in session --------------------------------------------------------- */

#define QUEUE_MAX 4

struct session {
	struct engine *e; /* NULL once it failed (and was destroyed) */
	bool active;      /* the connecting side */
	bool ready;
	bool zap_bound;
	int zap_requests;
	int budget; /* messages the pipe takes before -EAGAIN; -1: any */
	struct msg queue[QUEUE_MAX];
	int queued;
};

bool
session_is_active(const struct session *s)
{
	return s->active;
}

int
session_push_msg(struct session *s, struct msg *m)
{
	if (s->budget == 0)
		return -EAGAIN;
	if (s->budget > 0)
		s->budget--;
	/* Touch it whole, so ASan sees an overrun of what the engine built. */
	volatile uint8_t sum = 0;
	const uint8_t *d = msg_data(m);
	for (size_t i = 0; i < msg_size(m); i++)
		sum = (uint8_t)(sum + d[i]);
	(void)sum;
	msg_close(m);
	msg_init(m);
	return 0;
}

int
session_pull_msg(struct session *s, struct msg *m)
{
	if (s->queued == 0)
		return -EAGAIN;
	msg_move(m, &s->queue[0]);
	s->queued--;
	memmove(&s->queue[0], &s->queue[1], (size_t)s->queued * sizeof s->queue[0]);
	return 0;
}

int
session_pull_msg_again(struct session *s, struct msg *m)
{
	return session_pull_msg(s, m); /* the queue has no inactive state */
}

void
session_flush(struct session *s)
{
	(void)s;
}

int
session_offer_direct(struct session *s, struct pipe_direct *d)
{
	(void)s;
	(void)d;
	return -EPIPE; /* the engine keeps the rings */
}

bool
session_in_whole(const struct session *s)
{
	(void)s;
	return true;
}

int
session_offer_shortcut(struct session *s, struct pipe_shortcut *sc)
{
	(void)s;
	(void)sc;
	return -EPIPE; /* the engine keeps its writing */
}

void
session_wake_direct(struct session *s)
{
	(void)s;
}

int
session_push_command(struct session *s, struct msg *m, bool subscribe, const void *topic,
                     size_t len)
{
	/* As the real one: the message form of a SUBSCRIBE / CANCEL. */
	(void)m;
	struct msg sub;
	int rc = msg_init_size(&sub, len + 1);
	if (rc < 0)
		return rc;
	uint8_t *d = msg_data(&sub);
	d[0] = subscribe ? 1 : 0;
	if (len)
		memcpy(d + 1, topic, len);
	rc = session_push_msg(s, &sub);
	if (rc < 0)
		msg_close(&sub);
	return rc;
}

int
session_zap_request(struct session *s, struct msg *frames, int n)
{
	if (!s->zap_bound)
		return -ECONNREFUSED;
	for (int i = 0; i < n; i++) {
		fuzz_check(i + 1 == n || (frames[i].flags & MSGF_MORE));
		msg_close(&frames[i]);
		msg_init(&frames[i]);
	}
	s->zap_requests++;
	return 0;
}

int
session_engine_ready(struct session *s, const void *peer_rid, size_t rid_len)
{
	(void)peer_rid;
	fuzz_check(rid_len <= 255 && !s->ready);
	s->ready = true;
	return 0;
}

void
session_engine_failed(struct session *s, enum engine_end why, bool handshaking,
                      int protocol_error)
{
	(void)why;
	(void)handshaking;
	(void)protocol_error;
	struct engine *e = s->e;
	s->e = NULL;
	engine_destroy(e);
}

bool
session_engine_drained(struct session *s)
{
	(void)s;
	return false; /* never terminating: the engine lives on */
}

struct object *
session_object(struct session *s)
{
	(void)s;
	return NULL; /* asked only for a zero-copy pool, which the fuzzers never turn on
	              */
}

/* ---- the peer ---------------------------------------------------------------------- */

struct peer {
	int fd;
	bool shut;                /* its writing side is shut down */
	uint64_t got;             /* bytes the engine wrote */
	uint8_t greeting[64];     /* the engine's greeting, as read */
	struct zmtp_decoder dec;  /* the engine's frames after it */
	bool raw;                 /* a STREAM engine: no ZMTP to check */
	struct shm_ring_region g; /* shm: the region the peer made and sent */
	bool has_region;
};

static void
peer_write(struct peer *p, const void *d, size_t len)
{
	if (p->shut || len == 0)
		return;
	/* Nonblocking: what does not fit is lost, as if the peer gave up. */
	(void)!write(p->fd, d, len);
}

/* peer_check: the engine's output, decoded: it must be ZMTP. */
static void
peer_check(struct peer *p, const uint8_t *d, size_t n)
{
	while (n > 0 && p->got < 64) {
		p->greeting[p->got] = *d;
		if (p->got == 0)
			fuzz_check(*d == 0xff);
		if (p->got == 10)
			fuzz_check(*d == 3);
		p->got++;
		d++;
		n--;
	}
	while (n > 0) {
		struct msg m;
		msg_init(&m);
		size_t used = 0;
		int rc = zmtp_decoder_feed(&p->dec, d, n, &used, &m);
		d += used;
		n -= used;
		if (rc == -ENOMEM) /* the injected failure hit our decoder: retry */
			continue;
		fuzz_check(rc >= 0);
		if (rc == 1)
			msg_close(&m);
	}
}

/* peer_drain: reads what the engine wrote, closing any descriptor it sent (the shm
 * creator's memfd and eventfds). */
static void
peer_drain(struct peer *p)
{
	uint8_t buf[4096];
	for (;;) {
		int fds[ZN_SHM_FDS_MAX], nfds = 0;
		int n = zn_shm_recv_fds(p->fd, buf, sizeof buf, fds, &nfds);
		if (n <= 0)
			return;
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (!p->raw)
			peer_check(p, buf, (size_t)n);
	}
}

/* ---- steps ------------------------------------------------------------------------ */

/* poll_round: one round of the I/O thread's loop, timers aside. */
static void
poll_round(struct poller *pl, struct session *s)
{
	struct zn_poll_event evs[8];
	int n = zn_pollset_wait(&pl->set, evs, 8, 0);
	for (int i = 0; i < n && s->e; i++) {
		struct poll_handle *h = evs[i].ptr;
		if (h->retired)
			continue;
		if ((evs[i].events & ZN_POLL_IN) && h->ops->in_event)
			h->ops->in_event(h->arg);
		if (h->retired || !s->e)
			continue;
		if ((evs[i].events & ZN_POLL_OUT) && h->ops->out_event)
			h->ops->out_event(h->arg);
	}
}

static void
honest_greeting(struct peer *p, int mech, const uint8_t *d, size_t len)
{
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1};
	if (len > 0)
		g[11] = d[0];
	const char *name = mechanism_name(mech);
	memcpy(g + 12, name, strlen(name));
	g[32] = len > 1 ? d[1] : 0;
	peer_write(p, g, sizeof g);
}

static size_t
put_prop(uint8_t *b, const char *name, const void *val, size_t vlen)
{
	size_t nl = strlen(name);
	b[0] = (uint8_t)nl;
	memcpy(b + 1, name, nl);
	b[1 + nl] = b[2 + nl] = 0;
	b[3 + nl] = (uint8_t)(vlen >> 8);
	b[4 + nl] = (uint8_t)vlen;
	memcpy(b + 5 + nl, val, vlen);
	return 5 + nl + vlen;
}

static void
honest_ready(struct peer *p, const struct socket_type *t, const uint8_t *d, size_t len)
{
	uint8_t f = len ? d[0] : 0;
	uint8_t b[256];
	size_t n = 2;
	memcpy(b + 2, "\x05READY", 6);
	n += 6;
	const char *peer = (f & 4) || !t->peers[0] ? "FOO" : t->peers[0];
	n += put_prop(b + n, "Socket-Type", peer, strlen(peer));
	if (f & 1)
		n += put_prop(b + n, "Identity", "peer", 4);
	if (f & 2)
		n += put_prop(b + n, "X-Extra", "v", 1);
	b[0] = 0x04; /* a short command */
	b[1] = (uint8_t)(n - 2);
	peer_write(p, b, n);
}

static void
peer_frame(struct peer *p, const uint8_t *d, size_t len)
{
	uint8_t b[2 + 255];
	b[0] = len && (d[0] & 1) ? ZMTP_FLAG_MORE : 0;
	b[1] = (uint8_t)len;
	memcpy(b + 2, d, len);
	peer_write(p, b, 2 + len);
}

static void
fire_timer(struct engine *e, uint8_t which)
{
	struct poll_timer *t[4] = {&e->timer_handshake, &e->timer_hb_ivl,
	                           &e->timer_hb_timeout, &e->timer_hb_ttl};
	int id = which % 4;
	if (!poll_timer_armed(t[id]))
		return;
	poller_cancel_timer(e->poller, t[id]); /* as the loop does before it fires */
	t[id]->ops->timer_event(t[id]->arg, t[id]->id);
}

static void
queue_msg(struct session *s, const uint8_t *d, size_t len)
{
	if (s->queued == QUEUE_MAX)
		return;
	struct msg *m = &s->queue[s->queued];
	if (msg_init_buffer(m, d, len) < 0)
		return;
	if (len && (d[0] & 1))
		msg_set_flags(m, MSGF_MORE);
	s->queued++;
	if (s->e)
		engine_restart_output(s->e);
}

static void
zap_answer(struct session *s, const uint8_t *d, size_t len)
{
	struct msg f[8];
	int k;
	uint8_t c = len ? d[0] : 0;
	if (c & 4) {
		k = fuzz_frames(f, 8, d + (len ? 1 : 0), len ? len - 1 : 0);
	} else {
		static const char *const st[4] = {"200", "300", "400", "500"};
		const char *parts[7] = {"", "1.0", "1", st[c & 3], "OK", "user", ""};
		for (k = 0; k < 7; k++) {
			if (msg_init_buffer(&f[k], parts[k], strlen(parts[k])) < 0)
				break;
			if (k > 0)
				f[k - 1].flags = MSGF_MORE;
		}
	}
	if (s->e && k > 0)
		engine_zap_reply(s->e, f, k);
	for (int i = 0; i < k; i++)
		msg_close(&f[i]);
}

#if FUZZ_SHM
/* shm_setup: the SHM command with the descriptors the input picks. */
static void
shm_setup(struct peer *p, const uint8_t *d, size_t len)
{
	uint8_t c[8] = {0};
	memcpy(c, d, len < sizeof c ? len : sizeof c);
	if (!p->has_region) {
		if (shm_ring_region_create(&p->g, SHM_RING_SIZE_MIN << (c[1] % 4)) < 0)
			return;
		p->has_region = true;
	}
	size_t off = ((size_t)c[3] << 8 | c[4]) % SHM_RING_CTL_SIZE;
	((uint8_t *)p->g.base)[off] ^= c[5];
	int ev[2] = {-1, -1};
	int pfd[2] = {-1, -1};
	(void)zn_shm_eventfd_create(&ev[0]);
	(void)zn_shm_eventfd_create(&ev[1]);
	if ((c[0] & 4) && pipe(pfd) == 0) {
		close(ev[0]);
		ev[0] = pfd[0];
	}
	int fds[3] = {p->g.fd, ev[0], ev[1]};
	if (c[0] & 8)
		fds[1] = p->g.fd;
	uint64_t size = p->g.ring_size;
	if (c[2])
		size ^= (uint64_t)c[2] << (c[2] % 56);
	uint8_t b[2 + 4 + 8 + 8];
	b[0] = ZMTP_FLAG_COMMAND;
	b[1] = 12;
	memcpy(b + 2, "\x03SHM", 4);
	for (int i = 0; i < 8; i++)
		b[6 + i] = (uint8_t)(size >> (56 - 8 * i));
	size_t n = 14;
	if (c[6] & 1) {
		memcpy(b + n, "\x00\x01x", 3); /* a frame behind it */
		n += 3;
	}
	if (!p->shut && fds[0] >= 0 && ev[0] >= 0 && ev[1] >= 0)
		(void)zn_shm_send_fds(p->fd, b, n, fds, c[0] & 3);
	for (int i = 0; i < 2; i++)
		if (ev[i] >= 0)
			close(ev[i]);
	if (pfd[1] >= 0)
		close(pfd[1]);
}
#endif

/* ---- the run ----------------------------------------------------------------------- */

static void
blob_set(struct options_blob *b, const void *data, size_t len)
{
	memcpy(b->data, data, len);
	b->len = (uint16_t)len;
}

static int
make_options(struct options *o, uint8_t ctl)
{
	const struct socket_type *t = &fuzz_types[ctl & 7];
	options_init(o, t);
	static const int mechs[4] = {ZMQ_NULL, ZMQ_NULL, ZMQ_PLAIN, ZMQ_CURVE};
	int mech = mechs[(ctl >> 3) & 3];
	if (mech == ZMQ_CURVE && !mech_curve_available())
		return -1;
	o->mechanism = mech;
	o->as_server = !FUZZ_CLIENT && mech != ZMQ_NULL;
	if (((ctl >> 3) & 3) == 1)
		blob_set(&o->zap_domain, "fuzz", 4);
	if (mech == ZMQ_PLAIN && FUZZ_CLIENT) {
		blob_set(&o->plain_username, "admin", 5);
		blob_set(&o->plain_password, "secret", 6);
	}
	if (mech == ZMQ_CURVE) {
		if (!FUZZ_CLIENT) {
			blob_set(&o->curve_secret, server_secret, 32);
		} else {
			/* The public halves, once per process (not the code under test).
			 */
			static uint8_t spub[32], cpub[32];
			static bool derived;
			if (!derived) {
				fuzz_check(mech_curve_public(spub, server_secret) == 0);
				fuzz_check(mech_curve_public(cpub, client_secret) == 0);
				derived = true;
			}
			blob_set(&o->curve_server, spub, 32);
			blob_set(&o->curve_public, cpub, 32);
			blob_set(&o->curve_secret, client_secret, 32);
		}
	}
	if (t->sends_routing_id || t->number == ZMQ_DEALER)
		blob_set(&o->routing_id, "me", 2);
	if (ctl & 64) {
		o->heartbeat_ivl = 100;
		o->heartbeat_ttl = 300;
		o->heartbeat_timeout = 200;
	}
	if (ctl & 128)
		o->maxmsgsize = 64;
	o->shm_ring_size = (int)SHM_RING_SIZE_MIN;
	return 0;
}

static void
step(struct session *s, struct peer *p, const struct options *o, uint8_t kind,
     const uint8_t *d, size_t len)
{
	uint8_t b0 = len ? d[0] : 0;
	switch (kind % 11) {
	case 0: peer_write(p, d, len); break;
	case 1: honest_greeting(p, o->mechanism, d, len); break;
	case 2: honest_ready(p, o->type, d, len); break;
	case 3: peer_frame(p, d, len); break;
	case 4:
		if (!p->shut)
			shutdown(p->fd, SHUT_WR);
		p->shut = true;
		break;
	case 5: fire_timer(s->e, b0); break;
	case 6: (void)engine_write(s->e); break;
	case 7:
		s->budget = b0 == 255 ? -1 : b0;
		engine_restart_input(s->e);
		break;
	case 8: queue_msg(s, d, len); break;
	case 9: zap_answer(s, d, len); break;
	default:
#if FUZZ_SHM
		shm_setup(p, d, len);
#endif
		break;
	}
}

/* fuzz_poller: one poller for the whole process, as an I/O thread has one for all its
 * engines (an epoll instance and a 64 KiB read buffer per input cost more than the
 * engine's work). Each input must leave it as it found it: no fd registered, no timer
 * armed; the handles retired during the input are freed at its end, as the I/O
 * thread's loop frees them after a round. */
static struct poller *
fuzz_poller(void)
{
	static struct poller pl;
	static bool ready;
	if (!ready) {
		fuzz_check(poller_init(&pl) == 0);
		ready = true;
	}
	return &pl;
}

static void
fuzz_poller_idle(struct poller *pl)
{
	while (pl->retired) {
		struct poll_handle *h = pl->retired;
		pl->retired = h->retired_next;
		zn_free(h);
	}
	fuzz_check(pl->timers.root == NULL);
	fuzz_check(atomic_load(&pl->load) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
#ifdef FUZZ_SODIUM
	fuzz_sodium_reset();
#endif
	struct options o;
	if (make_options(&o, data[0]) < 0)
		return 0;
	int sv[2];
	fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	                      sv) == 0);
	struct poller *pl = fuzz_poller();
	static const int budgets[4] = {0, 1, 4, -1};
	struct session s = {.active = FUZZ_CLIENT,
	                    .zap_bound = (data[0] & 32) != 0,
	                    .budget = budgets[(data[1] >> 4) & 3]};
	struct peer p = {.fd = sv[1], .raw = o.type->raw, .g = {.fd = -1}};
	zmtp_decoder_init(&p.dec, -1);
	bool shm = FUZZ_SHM || (FUZZ_CLIENT && (data[1] & 64));
	if (engine_new(&s.e, sv[0], &o, "10.0.0.1", shm) < 0) /* closes sv[0] */
		goto out;
	if (data[1] & 15)
		zn_alloc_fail_after(data[1] & 15, 0);
	engine_plug(s.e, &s, pl);
	peer_drain(&p);
	size_t pos = 2;
	while (pos + 2 <= size && s.e) {
		uint8_t kind = data[pos];
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		step(&s, &p, &o, kind, data + pos, len);
		pos += len;
		if (s.e)
			poll_round(pl, &s);
		peer_drain(&p);
	}
out:
	zn_alloc_fail_after(0, 0);
	if (s.e)
		engine_destroy(s.e);
	for (int i = 0; i < s.queued; i++)
		msg_close(&s.queue[i]);
	fuzz_poller_idle(pl);
	zmtp_decoder_fini(&p.dec);
	if (p.has_region)
		shm_ring_region_fini(&p.g);
	close(sv[1]);
	return 0;
}
