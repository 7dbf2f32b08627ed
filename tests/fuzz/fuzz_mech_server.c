/*
 * fuzz_mech_server.c: libFuzzer target for the server side of the PLAIN and CURVE
 * handshakes (and NULL with a ZAP domain), driven through mechanism_ops as the engine
 * drives them, with no socket in between. A zinc client mechanism of the same kind
 * plays the honest peer, so the fuzzer gets past CURVE's boxes: the input decides, step
 * by step, whether the server gets the client's next command as it is, cut short or
 * with a byte flipped, or raw bytes of the input; what the ZAP handler answers; and,
 * once both are ready, which messages cross (boxed by the client, or raw).
 *
 * Input: byte 0 = control: bits 0-1 mechanism (0 PLAIN, 1 CURVE, 2 NULL with a ZAP
 * domain, 3 CURVE), bit 2 a ZAP handler is bound, bit 3 answer ZAP 200 at once, bits
 * 4-7 fail the Nth allocation (0: never). Then records: kind (1 byte), length (1 byte),
 * that many bytes; kind % 6:
 *   0 raw bytes to the server: a handshake command, or a message after it
 *   1 the client's next command to the server; 1 byte: cut to (b/256) of it; 2 bytes
 *     or more: byte[1] xored into position byte[0] (mod size)
 *   2 a ZAP reply: frames of (1-byte length, bytes), all but the last with MORE
 *   3 a well-formed ZAP reply whose status is "200" / "300" / "400" / "500" as byte 0
 *     says, the rest its metadata frame
 *   4 a message from the client: encoded (a CURVE box) then decoded by the server
 *   5 raw bytes to the client (its WELCOME / READY / ERROR parsing)
 * The run ends when the server fails, as the connection would; a client that failed
 * (raw bytes confuse it) only stops answering.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 *        cmake --build build-fuzz --target fuzz_mech_server
 * Run:   tests/fuzz/run.sh 60 fuzz_mech_server
 * ctest replays tests/fuzz/corpus/mech_server through the same function built without
 * libFuzzer (fuzz_mech_server_replay). Both use fuzz_sodium.c in libsodium's place
 * (cheap arithmetic, the same calls and failures), and reset its randomness per input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_frames.h"
#include "pipe/msg.h"
#include "platform/alloc.h"
#include "core/socket_type.h"
#include "proto/mech/mechanism.h"
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

/* Fixed secret keys (any 32 bytes do: the public halves are derived from them). */
static const uint8_t server_secret[32] = "fuzz-server-secret-key-32-bytes";
static const uint8_t client_secret[32] = "fuzz-client-secret-key-32-bytes";

/* The host the server's mechanism asks ZAP through: it takes the request (closing its
 * frames, as the pipe would take them) when a handler is "bound". */
struct zap_host {
	bool bound;
	int requests;
};

static int
zap_request(void *arg, struct msg *frames, int n)
{
	struct zap_host *z = arg;
	if (!z->bound)
		return -ECONNREFUSED;
	for (int i = 0; i < n; i++) {
		fuzz_check(i + 1 == n || (frames[i].flags & MSGF_MORE));
		msg_close(&frames[i]);
		msg_init(&frames[i]);
	}
	z->requests++;
	return 0;
}

/* The two socket types of the run, as src/socket/pull.c and push.c describe them. */
static const struct socket_type fuzz_pull = {
        .number = ZMQ_PULL,
        .name = "PULL",
        .peers = (const char *const[]){"PUSH", NULL},
};
static const struct socket_type fuzz_push = {
        .number = ZMQ_PUSH,
        .name = "PUSH",
        .peers = (const char *const[]){"PULL", NULL},
};

static void
blob_set(struct options_blob *b, const void *data, size_t len)
{
	memcpy(b->data, data, len);
	b->len = (uint16_t)len;
}

/* make_options: a PULL server or a PUSH client of mechanism mech. */
static void
make_options(struct options *o, int mech, bool server)
{
	memset(o, 0, sizeof *o);
	o->type = server ? &fuzz_pull : &fuzz_push;
	o->maxmsgsize = -1;
	o->mechanism = mech;
	o->as_server = server && mech != ZMQ_NULL;
	if (mech == ZMQ_NULL && server)
		blob_set(&o->zap_domain, "fuzz", 4);
	if (mech == ZMQ_PLAIN && !server) {
		blob_set(&o->plain_username, "admin", 5);
		blob_set(&o->plain_password, "secret", 6);
	}
	if (mech == ZMQ_CURVE) {
		if (server) {
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
}

/* One side of the connection and the command it has queued for the other. */
struct side {
	struct mechanism *m;
	struct msg out;
	bool has_out;
	/* A message fed (not encoded by the peer) opened after the handshake: with the
	 * libsodium stand-in the fuzzer can forge boxes, and a forged nonce above the
	 * honest peer's makes the honest peer's next message rightly refused. */
	bool took_forged;
};

/* side_live: neither failed, so the run goes on. */
static bool
side_live(const struct side *s)
{
	return s->m->state != MECH_FAILED;
}

/* side_pull: the next command the mechanism sends, when it has none queued. A failed
 * one may leave its ERROR: built as the engine would build it. -ENOMEM ends the run. */
static int
side_pull(struct side *s)
{
	if (s->has_out)
		return 0;
	struct mechanism *m = s->m;
	if (m->state == MECH_FAILED) {
		if (!m->error_out)
			return 0;
		m->error_out = false;
		int rc = m->ops->error ? m->ops->error(m, &s->out)
		                       : mech_error_command(&s->out, m->fail_value);
		s->has_out = rc == 0;
		return 0;
	}
	int rc = m->ops->next(m, &s->out);
	if (rc == 0)
		s->has_out = true;
	return rc == -EAGAIN || rc == -1 ? 0 : rc;
}

/* feed: one command (or, after the handshake, one message) to mechanism m. 0 while
 * the run goes on. */
static int
feed(struct mechanism *m, const uint8_t *body, size_t len)
{
	if (m->state == MECH_FAILED)
		return -1;
	if (m->state == MECH_HANDSHAKING) {
		int rc = m->ops->process(m, body, len);
		return rc == 0 ? 0 : -1;
	}
	if (!m->ops->decode)
		return 0;
	struct msg msg;
	if (msg_init_buffer(&msg, body, len) < 0)
		return -1;
	msg_set_flags(&msg, MSGF_COMMAND);
	int rc = m->ops->decode(m, &msg);
	if (rc == 0) {
		/* What opened is touched whole, so ASan sees any overrun. */
		volatile uint8_t sum = 0;
		const uint8_t *d = msg_data(&msg);
		for (size_t i = 0; i < msg_size(&msg); i++)
			sum = (uint8_t)(sum + d[i]);
		(void)sum;
	}
	msg_close(&msg);
	return rc == 0 ? 0 : -1;
}

/* deliver: the command s has queued goes to the other side, mutated as asked. */
static int
deliver(struct side *s, struct mechanism *to, const uint8_t *mut, size_t mlen)
{
	if (side_pull(s) < 0)
		return -1; /* no memory: the engine would close */
	if (!s->has_out)
		return 0;
	s->has_out = false;
	size_t len = msg_size(&s->out);
	uint8_t *body = msg_data(&s->out);
	if (mlen == 1)
		len = len * mut[0] / 256;
	else if (mlen >= 2 && len > 0)
		body[mut[0] % len] ^= mut[1] ? mut[1] : 1;
	int rc = feed(to, body, len);
	msg_close(&s->out);
	msg_init(&s->out);
	return rc;
}

static int
zap_answer(struct mechanism *m, struct msg *f, int n)
{
	int rc = 0;
	if (m->state == MECH_HANDSHAKING && m->zap_waiting)
		rc = m->ops->zap_reply(m, f, n);
	for (int i = 0; i < n; i++)
		msg_close(&f[i]);
	return rc == -ENOMEM ? -1 : 0;
}

/* zap_status: a well-formed reply. */
static int
zap_status(struct mechanism *m, const char *status, const uint8_t *md, size_t mdlen)
{
	const char *parts[6] = {"", "1.0", "1", status, "OK", "user"};
	struct msg f[7];
	int k = 0;
	for (; k < 6; k++)
		if (msg_init_buffer(&f[k], parts[k], strlen(parts[k])) < 0)
			break;
	if (k == 6 && msg_init_buffer(&f[6], md, mdlen) == 0)
		k = 7;
	for (int i = 0; i < k; i++)
		f[i].flags = i + 1 < k ? MSGF_MORE : 0;
	if (k < 7) {
		for (int i = 0; i < k; i++)
			msg_close(&f[i]);
		return -1;
	}
	return zap_answer(m, f, 7);
}

/* message: the client encodes data, the server decodes it. */
static int
message(struct side *c, struct side *s, const uint8_t *data, size_t len)
{
	if (c->m->state != MECH_READY || s->m->state != MECH_READY)
		return 0;
	struct msg msg;
	if (msg_init_buffer(&msg, data, len) < 0)
		return -1;
	if (len & 1)
		msg_set_flags(&msg, MSGF_MORE);
	int rc = c->m->ops->encode ? c->m->ops->encode(c->m, &msg) : 0;
	if (rc == 0 && s->m->ops->decode) {
		rc = s->m->ops->decode(s->m, &msg);
		/* An honest box opens, and gives back what went in (unless a forged
		 * message moved the nonce on: then refusing it is right). */
		fuzz_check(rc == -ENOMEM || s->took_forged ||
		           (rc == 0 && msg_size(&msg) == len &&
		            (len == 0 || !memcmp(msg_data(&msg), data, len))));
	}
	msg_close(&msg);
	return rc == 0 ? 0 : -1;
}

static void
side_fini(struct side *s)
{
	if (s->has_out)
		msg_close(&s->out);
	if (s->m)
		mechanism_destroy(s->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
#ifdef FUZZ_SODIUM
	fuzz_sodium_reset();
#endif
	uint8_t ctl = data[0];
	static const int mechs[4] = {ZMQ_PLAIN, ZMQ_CURVE, ZMQ_NULL, ZMQ_CURVE};
	int mech = mechs[ctl & 3];
	if (mech == ZMQ_CURVE && !mech_curve_available())
		return 0;
	struct zap_host zh = {.bound = (ctl & 4) != 0};
	struct mech_host host = {zap_request, &zh};
	struct options so, co;
	make_options(&so, mech, true);
	make_options(&co, mech, false);
	struct side s = {0}, c = {0};
	msg_init(&s.out);
	msg_init(&c.out);
	if (mechanism_new(&s.m, &so, "10.0.0.1", &host) < 0 ||
	    mechanism_new(&c.m, &co, "10.0.0.2", &host) < 0)
		goto out;
	/* Armed after setup: the keys and objects are there, the run's own allocations
	 * fail. */
	if (ctl >> 4)
		zn_alloc_fail_after(ctl >> 4, 0);
	size_t pos = 1;
	while (pos + 2 <= size && side_live(&s)) {
		uint8_t kind = data[pos] % 6;
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		const uint8_t *d = data + pos;
		pos += len;
		int rc = 0;
		switch (kind) {
		case 0: {
			bool ready = s.m->state == MECH_READY;
			rc = feed(s.m, d, len);
			s.took_forged = s.took_forged || (ready && rc == 0);
			break;
		}
		case 1: rc = deliver(&c, s.m, d, len); break;
		case 2: {
			struct msg f[10];
			rc = zap_answer(s.m, f, fuzz_frames(f, 10, d, len));
			break;
		}
		case 3: {
			static const char *const st[4] = {"200", "300", "400", "500"};
			rc = zap_status(s.m, st[len ? d[0] & 3 : 0], len ? d + 1 : d,
			                len ? len - 1 : 0);
			break;
		}
		case 4: rc = message(&c, &s, d, len); break;
		default: (void)feed(c.m, d, len); break;
		}
		if (rc < 0)
			break; /* the server failed, or memory did */
		/* The server's answer (WELCOME, READY, ERROR) reaches the client; a
		 * handler told to say yes at once does. */
		if ((ctl & 8) && s.m->zap_waiting && zap_status(s.m, "200", NULL, 0) < 0)
			break;
		if (side_live(&c)) {
			(void)deliver(&s, c.m, NULL, 0);
		} else if (side_pull(&s) == 0 && s.has_out) {
			/* A failed client hears nothing: the command goes nowhere. */
			msg_close(&s.out);
			msg_init(&s.out);
			s.has_out = false;
		}
	}
out:
#ifdef FUZZ_TRACE /* how far an input got: for checking the seeds */
	fprintf(stderr, "server %d (event 0x%x value 0x%x), client %d, zap requests %d\n",
	        s.m ? s.m->state : -1, s.m ? s.m->fail_event : 0,
	        s.m ? s.m->fail_value : 0, c.m ? c.m->state : -1, zh.requests);
#endif
	zn_alloc_fail_after(0, 0);
	side_fini(&s);
	side_fini(&c);
	return 0;
}
