/*
 * curve.c: the CURVE mechanism (RFC 26 CurveZMQ, byte for byte as libzmq 4.3.4 speaks
 * it). The client proves it knows the server's long-term key S (HELLO), the server
 * answers with its transient key S' and a cookie it can open later without keeping
 * state for the client (WELCOME), the client vouches for its transient key C' with its
 * long-term key C (INITIATE; ZAP then judges C), and the server's READY ends the
 * handshake. Every message afterwards travels in a MESSAGE box keyed by C'/S'.
 *
 * Boxes: the _easy forms of libsodium give MAC+ciphertext, which is exactly what the
 * classic crypto_box leaves after its 16 leading zero bytes: what libzmq puts on the
 * wire. Short nonces are 8-byte big-endian counters (client: HELLO 1, INITIATE 2,
 * MESSAGEs from 3; server: READY 1, MESSAGEs from 2); the peer's MESSAGE nonces must
 * strictly increase (gaps allowed, as libzmq). Secrets live only in this object and
 * are wiped when it goes; the cookie key is wiped as soon as INITIATE came in.
 *
 * Without libsodium (ZINC_HAVE_CURVE undefined) CURVE fails closed.
 */
#include "proto/mech/curve_box.h"
#include "proto/mech/mechanism.h"
#include "proto/zmtp_codec.h"
#include "platform/alloc.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#ifdef ZINC_HAVE_CURVE

#include <sodium.h>

_Static_assert(crypto_box_NONCEBYTES == 24, "CURVE nonces are 24 bytes");
_Static_assert(crypto_box_PUBLICKEYBYTES == 32 && crypto_box_SECRETKEYBYTES == 32,
               "CURVE keys are 32 bytes");
_Static_assert(crypto_box_MACBYTES == 16 && crypto_secretbox_MACBYTES == 16,
               "CURVE boxes add 16 bytes");
_Static_assert(crypto_box_BEFORENMBYTES == 32 && crypto_secretbox_KEYBYTES == 32,
               "CURVE shared keys are 32 bytes");

#define KEY   32
#define MAC   16
#define NONCE 24

/* Command sizes on the wire (name included). */
#define HELLO_SIZE   200
#define WELCOME_SIZE 168
#define INITIATE_MIN 257
#define READY_MIN    30
#define MESSAGE_MIN  33
/* The most INITIATE metadata we accept: our own peers send a few hundred bytes; the
 * bound keeps a stranger's pre-authentication allocation small (CVE-2019-13132 was
 * an unbounded copy here). */
#define INITIATE_META_MAX 65536

enum curve_step {
	/* client */
	CC_SEND_HELLO,
	CC_WAIT_WELCOME,
	CC_SEND_INITIATE,
	CC_WAIT_READY,
	/* server */
	CS_WAIT_HELLO,
	CS_SEND_WELCOME,
	CS_WAIT_INITIATE,
	CS_WAIT_ZAP,
	CS_SEND_READY,
	C_DONE,
};

struct mech_curve {
	struct mechanism base;
	enum curve_step step;
	uint8_t pub[KEY], sec[KEY];       /* our long-term keys (C/c or S/s) */
	uint8_t server[KEY];              /* client: the server's long-term key S */
	uint8_t tx_pub[KEY], tx_sec[KEY]; /* our transient keys (C'/c' or S'/s') */
	uint8_t peer_tx[KEY];             /* the peer's transient key (S' or C') */
	uint8_t peer_key[KEY];            /* server: the client's long-term key C */
	uint8_t shared[KEY];              /* crypto_box_beforenm(peer_tx, tx_sec) */
	/* The MESSAGE boxes' subkeys, one per direction (curve_box.h). */
	uint8_t send_subkey[KEY], recv_subkey[KEY];
	uint8_t cookie_key[KEY]; /* server: until INITIATE */
	uint8_t cookie[96];      /* client: WELCOME's cookie, echoed in INITIATE */
	uint64_t nonce;          /* the next short nonce we send */
	uint64_t peer_nonce;     /* the peer's last short nonce */
	const char *send_prefix; /* our MESSAGE nonce prefix */
	const char *recv_prefix; /* the peer's */
};

#define CURVE_OF(m) ((struct mech_curve *)(m))

static int
curve_crypto_error(struct mechanism *m)
{
	return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
}

/* curve_metadata_failed: properties inside a box that opened but do not parse are
 * INVALID_METADATA for CURVE in libzmq (mech_parse_props fails quietly, as NULL and
 * PLAIN do). Passes rc on. */
static int
curve_metadata_failed(struct mechanism *m, int rc)
{
	if (rc == -1 && m->fail_event == 0) {
		m->fail_event = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
		m->fail_value = ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA;
	}
	return rc;
}

/* curve_next_nonce: takes the next short nonce into *out; -1 once the counter would
 * wrap (RFC 26: never reuse a nonce; the connection ends instead). */
static int
curve_next_nonce(struct mech_curve *c, uint64_t *out)
{
	if (c->nonce == UINT64_MAX)
		return -1;
	*out = c->nonce++;
	return 0;
}

/* short_nonce: a 16-byte prefix and an 8-byte counter. */
static void
short_nonce(uint8_t nonce[NONCE], const char *prefix, uint64_t n)
{
	memcpy(nonce, prefix, 16);
	zmtp_put_be64(nonce + 16, n);
}

/* curve_message_keys: the MESSAGE subkeys, once `shared` is known. */
static void
curve_message_keys(struct mech_curve *c)
{
	curve_box_subkey(c->send_subkey, c->shared, c->send_prefix);
	curve_box_subkey(c->recv_subkey, c->shared, c->recv_prefix);
}

/* long_nonce: an 8-byte prefix and 16 bytes (random, or as received). */
static void
long_nonce(uint8_t nonce[NONCE], const char *prefix, const uint8_t tail[16])
{
	memcpy(nonce, prefix, 8);
	memcpy(nonce + 8, tail, 16);
}

/* curve_command: a command message of `size` bytes (name included) whose payload the
 * caller writes from *payload on. 0 or -ENOMEM. */
static int
curve_command(struct msg *cmd, const char *name, size_t size, uint8_t **payload)
{
	size_t nlen = strlen(name);
	if (msg_init_size(cmd, size) < 0)
		return -ENOMEM;
	uint8_t *p = msg_data(cmd);
	p[0] = (uint8_t)nlen;
	memcpy(p + 1, name, nlen);
	msg_set_flags(cmd, MSGF_COMMAND);
	*payload = p + 1 + nlen;
	return 0;
}

/* ---- client ---------------------------------------------------------------------- */

/* curve_hello: version 1.0, 72 bytes of padding, C', the nonce, and a box of 64 zero
 * bytes from c' to S (only a client that knows S can make it). */
static int
curve_hello(struct mech_curve *c, struct msg *cmd)
{
	struct mechanism *m = &c->base;
	uint64_t n;
	if (curve_next_nonce(c, &n) < 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
	uint8_t zero[64] = {0};
	uint8_t nonce[NONCE];
	uint8_t box[64 + MAC];
	short_nonce(nonce, "CurveZMQHELLO---", n);
	if (crypto_box_easy(box, zero, sizeof zero, nonce, c->server, c->tx_sec) != 0)
		return curve_crypto_error(m); /* a low-order server key */
	uint8_t *p;
	if (curve_command(cmd, "HELLO", HELLO_SIZE, &p) < 0)
		return -ENOMEM;
	p[0] = 1;
	p[1] = 0;
	memset(p + 2, 0, 72);
	memcpy(p + 74, c->tx_pub, KEY);
	zmtp_put_be64(p + 106, n);
	memcpy(p + 114, box, sizeof box);
	return 0;
}

/* curve_client_welcome: opens S'+cookie with S and c'; both a wrong size and a box
 * that does not open are CRYPTOGRAPHIC, as libzmq reports them. */
static int
curve_client_welcome(struct mech_curve *c, const uint8_t *body, size_t len)
{
	struct mechanism *m = &c->base;
	if (len != WELCOME_SIZE)
		return curve_crypto_error(m);
	uint8_t nonce[NONCE];
	uint8_t plain[KEY + 96];
	long_nonce(nonce, "WELCOME-", body + 8);
	if (crypto_box_open_easy(plain, body + 24, sizeof plain + MAC, nonce, c->server,
	                         c->tx_sec) != 0)
		return curve_crypto_error(m);
	memcpy(c->peer_tx, plain, KEY);
	memcpy(c->cookie, plain + KEY, 96);
	sodium_memzero(plain, sizeof plain);
	if (crypto_box_beforenm(c->shared, c->peer_tx, c->tx_sec) != 0)
		return curve_crypto_error(m);
	curve_message_keys(c);
	c->step = CC_SEND_INITIATE;
	return 0;
}

/* curve_vouch: 16 random bytes and a box of C'+S from c to S': the long-term key
 * vouches for the transient one. */
static int
curve_vouch(struct mech_curve *c, uint8_t out[16 + 80])
{
	uint8_t nonce[NONCE];
	uint8_t plain[2 * KEY];
	randombytes_buf(out, 16);
	long_nonce(nonce, "VOUCH---", out);
	memcpy(plain, c->tx_pub, KEY);
	memcpy(plain + KEY, c->server, KEY);
	return crypto_box_easy(out + 16, plain, sizeof plain, nonce, c->peer_tx, c->sec);
}

/* curve_initiate: the cookie, the nonce, and a box (C'/S') of C, the vouch and our
 * properties. */
static int
curve_initiate(struct mech_curve *c, struct msg *cmd)
{
	struct mechanism *m = &c->base;
	uint64_t n;
	if (curve_next_nonce(c, &n) < 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
	uint8_t plain[KEY + 96 + 512];
	memcpy(plain, c->pub, KEY);
	if (curve_vouch(c, plain + KEY) != 0)
		return curve_crypto_error(m); /* a low-order secret key */
	size_t plen = KEY + 96 + mech_write_props(m, plain + KEY + 96, 512);
	uint8_t *p;
	if (curve_command(cmd, "INITIATE", 9 + 96 + 8 + plen + MAC, &p) < 0)
		return -ENOMEM;
	memcpy(p, c->cookie, 96);
	zmtp_put_be64(p + 96, n);
	uint8_t nonce[NONCE];
	short_nonce(nonce, "CurveZMQINITIATE", n);
	crypto_box_easy_afternm(p + 104, plain, plen, nonce, c->shared);
	sodium_memzero(c->cookie, sizeof c->cookie);
	return 0;
}

/* curve_client_ready: opens the server's properties; the handshake is over. */
static int
curve_client_ready(struct mech_curve *c, const uint8_t *body, size_t len)
{
	struct mechanism *m = &c->base;
	if (len < READY_MIN)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY);
	size_t blen = len - 14;
	uint8_t *plain = zn_malloc(blen - MAC + 1); /* +1: never a zero-size request */
	if (!plain)
		return -ENOMEM;
	uint8_t nonce[NONCE];
	short_nonce(nonce, "CurveZMQREADY---", zmtp_get_be64(body + 6));
	int rc;
	if (crypto_box_open_easy_afternm(plain, body + 14, blen, nonce, c->shared) != 0)
		rc = curve_crypto_error(m);
	else
		rc = mech_parse_props(m, plain, blen - MAC);
	zn_free(plain);
	if (rc < 0)
		return curve_metadata_failed(m, rc);
	c->peer_nonce = zmtp_get_be64(body + 6);
	if (mech_finish_meta(m) < 0)
		return -ENOMEM;
	c->step = C_DONE;
	m->state = MECH_READY;
	return 0;
}

/* ---- server ---------------------------------------------------------------------- */

/* curve_server_hello: version 1.0 and a box from C' to S that opens (the padding is
 * not checked, as in libzmq). */
static int
curve_server_hello(struct mech_curve *c, const uint8_t *body, size_t len)
{
	struct mechanism *m = &c->base;
	if (len != HELLO_SIZE || body[6] != 1 || body[7] != 0)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	uint8_t nonce[NONCE];
	uint8_t zero[64];
	short_nonce(nonce, "CurveZMQHELLO---", zmtp_get_be64(body + 112));
	if (crypto_box_open_easy(zero, body + 120, sizeof zero + MAC, nonce, body + 80,
	                         c->sec) != 0)
		return curve_crypto_error(m);
	memcpy(c->peer_tx, body + 80, KEY);
	c->peer_nonce = zmtp_get_be64(body + 112);
	c->step = CS_SEND_WELCOME;
	return 0;
}

/* curve_welcome: a fresh cookie key for this connection; the cookie seals C' and s'
 * so INITIATE can prove it answers this WELCOME; the box carries S' and the cookie
 * from s to C'. */
static int
curve_welcome(struct mech_curve *c, struct msg *cmd)
{
	struct mechanism *m = &c->base;
	uint8_t plain[KEY + 96];
	uint8_t cookie_plain[2 * KEY];
	uint8_t nonce[NONCE];
	randombytes_buf(c->cookie_key, sizeof c->cookie_key);
	memcpy(cookie_plain, c->peer_tx, KEY);
	memcpy(cookie_plain + KEY, c->tx_sec, KEY);
	memcpy(plain, c->tx_pub, KEY);
	uint8_t *cookie = plain + KEY;
	randombytes_buf(cookie, 16);
	long_nonce(nonce, "COOKIE--", cookie);
	crypto_secretbox_easy(cookie + 16, cookie_plain, sizeof cookie_plain, nonce,
	                      c->cookie_key);
	sodium_memzero(cookie_plain, sizeof cookie_plain);
	uint8_t *p;
	if (curve_command(cmd, "WELCOME", WELCOME_SIZE, &p) < 0)
		return -ENOMEM;
	randombytes_buf(p, 16);
	long_nonce(nonce, "WELCOME-", p);
	if (crypto_box_easy(p + 16, plain, sizeof plain, nonce, c->peer_tx, c->sec) !=
	    0) {
		msg_close(cmd);
		return curve_crypto_error(m);
	}
	return 0;
}

/* curve_check_cookie: the cookie opens with our key and holds {C', s'}: this INITIATE
 * answers our WELCOME. The key is wiped either way: it serves once. */
static bool
curve_check_cookie(struct mech_curve *c, const uint8_t *cookie)
{
	uint8_t nonce[NONCE];
	uint8_t plain[2 * KEY], want[2 * KEY];
	long_nonce(nonce, "COOKIE--", cookie);
	int rc = crypto_secretbox_open_easy(plain, cookie + 16, 80, nonce, c->cookie_key);
	sodium_memzero(c->cookie_key, sizeof c->cookie_key);
	memcpy(want, c->peer_tx, KEY);
	memcpy(want + KEY, c->tx_sec, KEY);
	bool ok = rc == 0 && sodium_memcmp(plain, want, sizeof want) == 0;
	sodium_memzero(plain, sizeof plain);
	sodium_memzero(want, sizeof want);
	return ok;
}

/* curve_check_vouch: the vouch opens from C to S' and names C' and S (libzmq checks
 * only C'; S costs nothing and binds the vouch to us). 0, or the protocol error. */
static int
curve_check_vouch(struct mech_curve *c, const uint8_t *vouch)
{
	uint8_t nonce[NONCE];
	uint8_t plain[2 * KEY];
	long_nonce(nonce, "VOUCH---", vouch);
	if (crypto_box_open_easy(plain, vouch + 16, 80, nonce, c->peer_key, c->tx_sec) !=
	    0)
		return ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
	if (sodium_memcmp(plain, c->peer_tx, KEY) != 0 ||
	    sodium_memcmp(plain + KEY, c->pub, KEY) != 0)
		return ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE;
	return 0;
}

/* curve_zap: asks ZAP about C when a domain is set or the domain is not enforced (the
 * default: CURVE consults a bound handler even without a domain, as libzmq). With no
 * handler the connection goes on unless enforcement is on. */
static int
curve_zap(struct mech_curve *c)
{
	struct mechanism *m = &c->base;
	const struct options *o = m->opts;
	if (o->zap_domain.len == 0 && o->zap_enforce_domain) {
		c->step = CS_SEND_READY;
		return 0;
	}
	const void *cred[1] = {c->peer_key};
	size_t cred_len[1] = {KEY};
	int rc = mech_zap_send(m, "CURVE", cred, cred_len, 1);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		c->step = CS_WAIT_ZAP;
		return 0;
	}
	if (o->zap_enforce_domain)
		return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	c->step = CS_SEND_READY;
	return 0;
}

/* curve_open_initiate: the box after the cookie (its size taken from the command's,
 * bounded) opened into a heap buffer the caller frees (and wipes). 0, the protocol
 * error, or -ENOMEM. */
static int
curve_open_initiate(struct mech_curve *c, const uint8_t *body, size_t len, uint8_t **out,
                    size_t *out_len)
{
	size_t blen = len - 113;
	uint8_t *plain = zn_malloc(blen - MAC);
	if (!plain)
		return -ENOMEM;
	uint8_t nonce[NONCE];
	short_nonce(nonce, "CurveZMQINITIATE", zmtp_get_be64(body + 105));
	if (crypto_box_beforenm(c->shared, c->peer_tx, c->tx_sec) != 0 ||
	    crypto_box_open_easy_afternm(plain, body + 113, blen, nonce, c->shared) !=
	            0) {
		zn_free(plain);
		return ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
	}
	curve_message_keys(c);
	*out = plain;
	*out_len = blen - MAC;
	return 0;
}

static int
curve_server_initiate(struct mech_curve *c, const uint8_t *body, size_t len)
{
	struct mechanism *m = &c->base;
	if (len < INITIATE_MIN || len - INITIATE_MIN > INITIATE_META_MAX)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE);
	if (!curve_check_cookie(c, body + 9))
		return curve_crypto_error(m);
	uint8_t *plain;
	size_t plen;
	int rc = curve_open_initiate(c, body, len, &plain, &plen);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return mech_protocol_error(m, rc);
	memcpy(c->peer_key, plain, KEY);
	rc = curve_check_vouch(c, plain + KEY);
	if (rc == 0) {
		rc = mech_parse_props(m, plain + KEY + 96, plen - KEY - 96);
		if (rc < 0)
			rc = curve_metadata_failed(m, rc);
	} else {
		rc = mech_protocol_error(m, rc);
	}
	sodium_memzero(plain, plen);
	zn_free(plain);
	if (rc < 0)
		return rc;
	c->peer_nonce = zmtp_get_be64(body + 105);
	return curve_zap(c);
}

/* curve_ready: the box (C'/S') of our properties; the handshake is over. */
static int
curve_ready(struct mech_curve *c, struct msg *cmd)
{
	struct mechanism *m = &c->base;
	uint64_t n;
	if (curve_next_nonce(c, &n) < 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
	uint8_t props[512];
	size_t plen = mech_write_props(m, props, sizeof props);
	uint8_t *p;
	if (curve_command(cmd, "READY", 6 + 8 + plen + MAC, &p) < 0)
		return -ENOMEM;
	zmtp_put_be64(p, n);
	uint8_t nonce[NONCE];
	short_nonce(nonce, "CurveZMQREADY---", n);
	crypto_box_easy_afternm(p + 8, props, plen, nonce, c->shared);
	if (mech_finish_meta(m) < 0) {
		msg_close(cmd);
		return -ENOMEM;
	}
	c->step = C_DONE;
	m->state = MECH_READY;
	return 0;
}

/* ---- mechanism_ops ----------------------------------------------------------------- */

static int
curve_next(struct mechanism *m, struct msg *cmd)
{
	struct mech_curve *c = CURVE_OF(m);
	if (m->state != MECH_HANDSHAKING)
		return -EAGAIN;
	int rc;
	switch (c->step) {
	case CC_SEND_HELLO:
		if ((rc = curve_hello(c, cmd)) == 0)
			c->step = CC_WAIT_WELCOME;
		return rc;
	case CC_SEND_INITIATE:
		if ((rc = curve_initiate(c, cmd)) == 0)
			c->step = CC_WAIT_READY;
		return rc;
	case CS_SEND_WELCOME:
		if ((rc = curve_welcome(c, cmd)) == 0)
			c->step = CS_WAIT_INITIATE;
		return rc;
	case CS_SEND_READY: return curve_ready(c, cmd);
	default: return -EAGAIN;
	}
}

static int
curve_process(struct mechanism *m, const uint8_t *body, size_t len)
{
	struct mech_curve *c = CURVE_OF(m);
	switch (c->step) {
	case CC_WAIT_WELCOME:
		if (mech_is_command(body, len, "ERROR"))
			return mech_process_error(m, body, len);
		if (!mech_is_command(body, len, "WELCOME"))
			break;
		return curve_client_welcome(c, body, len);
	case CC_WAIT_READY:
		if (mech_is_command(body, len, "ERROR"))
			return mech_process_error(m, body, len);
		if (!mech_is_command(body, len, "READY"))
			break;
		return curve_client_ready(c, body, len);
	case CS_WAIT_HELLO:
		if (mech_check_structure(m, body, len) < 0)
			return -1;
		if (!mech_is_command(body, len, "HELLO"))
			break;
		return curve_server_hello(c, body, len);
	case CS_WAIT_INITIATE:
		if (mech_check_structure(m, body, len) < 0)
			return -1;
		if (!mech_is_command(body, len, "INITIATE"))
			break;
		return curve_server_initiate(c, body, len);
	default:
		/* A server that is not waiting for a command got one. */
		if (m->opts->as_server)
			return mech_protocol_error(m,
			                           ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
		break;
	}
	return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
}

static int
curve_zap_reply(struct mechanism *m, struct msg *frames, int n)
{
	struct mech_curve *c = CURVE_OF(m);
	if (c->step != CS_WAIT_ZAP)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
	int rc = mech_zap_verdict(m, frames, n);
	if (rc == 0)
		c->step = CS_SEND_READY;
	return rc;
}

/* curve_encode: a message (or a command: PING, SUBSCRIBE) becomes a MESSAGE data
 * frame: name, nonce, and the box of flags (MORE 1, COMMAND 2) and data. The box is
 * made in place over the plaintext (libsodium allows the overlap). */
static int
curve_encode(struct mechanism *m, struct msg *msg)
{
	struct mech_curve *c = CURVE_OF(m);
	uint64_t n;
	if (curve_next_nonce(c, &n) < 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
	size_t len = msg_size(msg);
	if (len > SIZE_MAX - MESSAGE_MIN)
		return -ENOMEM;
	struct msg out;
	if (msg_init_size(&out, MESSAGE_MIN + len) < 0)
		return -ENOMEM;
	uint8_t *p = msg_data(&out);
	memcpy(p, "\x07MESSAGE", 8);
	zmtp_put_be64(p + 8, n);
	uint8_t *plain = p + 16 + MAC;
	plain[0] = (uint8_t)(((msg->flags & MSGF_MORE) ? 1 : 0) |
	                     ((msg->flags & MSGF_COMMAND) ? 2 : 0));
	if (len)
		memcpy(plain + 1, msg_data(msg), len);
	uint8_t n8[8];
	zmtp_put_be64(n8, n);
	curve_box_seal(p + 16, plain, plain, 1 + len, n8, c->send_subkey);
	msg_close(msg);
	msg_init(msg);
	msg_move(msg, &out);
	return 0;
}

/* curve_decode: a MESSAGE frame back into the message it carries, its flags from the
 * box. The nonce must be above the last one (no replay). */
static int
curve_decode(struct mechanism *m, struct msg *msg)
{
	struct mech_curve *c = CURVE_OF(m);
	size_t len = msg_size(msg);
	const uint8_t *p = msg_data(msg);
	if (mech_check_structure(m, p, len) < 0)
		return -1;
	if (!mech_is_command(p, len, "MESSAGE"))
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	if (len < MESSAGE_MIN)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE);
	uint64_t n = zmtp_get_be64(p + 8);
	if (n <= c->peer_nonce)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE);
	if (msg_is_shared(msg)) {
		/* Opened in place below: a message shared with others is copied first. */
		struct msg own;
		if (msg_init_buffer(&own, p, len) < 0)
			return -ENOMEM;
		msg_close(msg);
		msg_init(msg);
		msg_move(msg, &own);
	}
	/* The box opens in place (libsodium allows it): flags and data then sit where
	 * the MAC began, and the message's view narrows to the data: no copy of a
	 * large message. */
	uint8_t *box = (uint8_t *)msg_data(msg) + 16;
	/* The short nonce is read again from the message: p is stale after a copy. */
	if (curve_box_open(box + MAC, box + MAC, len - 16 - MAC, box, box - 8,
	                   c->recv_subkey) != 0)
		return curve_crypto_error(m);
	c->peer_nonce = n;
	uint8_t flags = box[MAC];
	int rc = msg_narrow(msg, 16 + MAC + 1, len - MESSAGE_MIN);
	if (rc < 0)
		return rc;
	if (flags & 1)
		msg_set_flags(msg, MSGF_MORE);
	if (flags & 2)
		msg_set_flags(msg, MSGF_COMMAND);
	return 0;
}

static void
curve_destroy(struct mechanism *m)
{
	struct mech_curve *c = CURVE_OF(m);
	mech_fini(m);
	sodium_memzero(c, sizeof *c);
	zn_free(c);
}

static const struct mechanism_ops curve_ops = {
        .name = "CURVE",
        .next = curve_next,
        .process = curve_process,
        .zap_reply = curve_zap_reply,
        .encode = curve_encode,
        .decode = curve_decode,
        .destroy = curve_destroy,
};

/* key_of: an option's key, or 32 zero bytes when it was not set (the handshake then
 * fails on the crypto, as libzmq's does). */
static void
key_of(uint8_t out[KEY], const struct options_blob *b)
{
	if (b->len == KEY)
		memcpy(out, b->data, KEY);
	else
		memset(out, 0, KEY);
}

int
mech_curve_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
               const struct mech_host *host)
{
	if (sodium_init() < 0)
		return -EPROTONOSUPPORT;
	struct mech_curve *c = zn_calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	mech_init(&c->base, &curve_ops, opts, peer_ip, host);
	key_of(c->sec, &opts->curve_secret);
	if (opts->as_server) {
		/* A server may set only its secret key: S follows from s. */
		crypto_scalarmult_base(c->pub, c->sec);
		c->step = CS_WAIT_HELLO;
		c->send_prefix = "CurveZMQMESSAGES";
		c->recv_prefix = "CurveZMQMESSAGEC";
	} else {
		key_of(c->pub, &opts->curve_public);
		key_of(c->server, &opts->curve_server);
		c->step = CC_SEND_HELLO;
		c->send_prefix = "CurveZMQMESSAGEC";
		c->recv_prefix = "CurveZMQMESSAGES";
	}
	crypto_box_keypair(c->tx_pub, c->tx_sec);
	c->nonce = 1;
	*out = &c->base;
	return 0;
}

bool
mech_curve_available(void)
{
	return true;
}

int
mech_curve_keypair(uint8_t pub[32], uint8_t sec[32])
{
	if (sodium_init() < 0)
		return -ENOTSUP;
	return crypto_box_keypair(pub, sec) == 0 ? 0 : -EINVAL;
}

int
mech_curve_public(uint8_t pub[32], const uint8_t sec[32])
{
	if (sodium_init() < 0)
		return -ENOTSUP;
	return crypto_scalarmult_base(pub, sec) == 0 ? 0 : -EINVAL;
}

#else /* !ZINC_HAVE_CURVE: fail closed */

int
mech_curve_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
               const struct mech_host *host)
{
	(void)out;
	(void)opts;
	(void)peer_ip;
	(void)host;
	return -EPROTONOSUPPORT;
}

bool
mech_curve_available(void)
{
	return false;
}

int
mech_curve_keypair(uint8_t pub[32], uint8_t sec[32])
{
	(void)pub;
	(void)sec;
	return -ENOTSUP;
}

int
mech_curve_public(uint8_t pub[32], const uint8_t sec[32])
{
	(void)pub;
	(void)sec;
	return -ENOTSUP;
}

#endif
