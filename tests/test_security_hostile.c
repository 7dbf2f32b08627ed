/*
 * test_security_hostile.c: hostile peers against PLAIN and CURVE servers. A zinc PULL
 * server binds on tcp with a monitor; a raw TCP client speaks the bytes of each case
 * (the CurveZMQ client side is built here from libsodium). Every case checks that
 *   (a) the server ends that connection (the raw client reads EOF or a reset),
 *   (b) its monitor reports the handshake event libzmq 4.3.4 gives for it (the
 *       checks and codes of ../shared/research/security.md, libzmq's curve_server.cpp
 *       and plain_server.cpp), and nothing is delivered,
 *   (c) the server then serves a good zinc client.
 * Cases: HELLO of every wrong size, wrong version or name, a box that does not open;
 * INITIATE short, with a corrupted cookie or box, a cookie from another connection, a
 * vouch that does not open or names another key, metadata longer than its box, a
 * 64 KiB property; commands out of order (before HELLO, twice, while ZAP decides,
 * data before the handshake); after the handshake a replayed or decreasing nonce, a
 * box that does not open, a short MESSAGE, a command that is not MESSAGE; and a
 * pre-authentication flood (frames announcing 1 GiB) that must leave memory flat.
 */
#include "security_util.h"
#include "raw_zmtp.h"
#include "platform/alloc.h"

#include <fcntl.h>

#if __has_include(<sodium.h>)
#include <sodium.h>
#define HAVE_SODIUM 1
#endif

#define ZAP_EP "inproc://zeromq.zap.01"

static size_t
push_props(uint8_t *p)
{
	return put_prop(p, "Socket-Type", "PUSH", 4);
}

/* ---- the server ----------------------------------------------------------------------
 */

struct rig {
	void *server, *mon;
	char ep[256];
	enum sec_mech mech;
};

/* zap_allow: a ZAP handler thread that lets everyone in until its context ends. */
static void *
zap_allow(void *arg)
{
	void *h = arg;
	for (;;) {
		char part[256];
		int more = 1;
		size_t ml = sizeof more;
		char id[8] = "";
		int idlen = 0;
		for (int i = 0; more; i++) {
			int n = zmq_recv(h, part, sizeof part, 0);
			if (n < 0) {
				zmq_close(h);
				return NULL; /* ETERM */
			}
			if (i == 1) {
				idlen = n < (int)sizeof id ? n : (int)sizeof id;
				memcpy(id, part, (size_t)idlen);
			}
			zmq_getsockopt(h, ZMQ_RCVMORE, &more, &ml);
		}
		zmq_send(h, "1.0", 3, ZMQ_SNDMORE);
		zmq_send(h, id, (size_t)idlen, ZMQ_SNDMORE);
		zmq_send(h, "200", 3, ZMQ_SNDMORE);
		zmq_send(h, "OK", 2, ZMQ_SNDMORE);
		zmq_send(h, "user", 4, ZMQ_SNDMORE);
		zmq_send(h, "", 0, 0);
	}
}

/* rig_open: a server of mechanism m; PLAIN gets a handler that allows everyone (it
 * has none to fall back on), CURVE goes on without one, as libzmq. With `silent`, a
 * handler that takes requests and never answers. */
static void
rig_open(struct rig *r, enum sec_mech m, bool silent)
{
	ctx_open();
	r->mech = m;
	if (silent) {
		CHECK_OK(zmq_bind(sock_open(ZMQ_REP), ZAP_EP));
	} else if (m == SEC_PLAIN) {
		void *h = zmq_socket(cs.ctx, ZMQ_REP); /* the thread closes it */
		CHECK(h);
		set_int(h, ZMQ_LINGER, 0);
		CHECK_OK(zmq_bind(h, ZAP_EP));
		thread_start(zap_allow, h);
	}
	r->server = sock_open(ZMQ_PULL);
	sec_make_server(r->server, m);
	r->mon = monitor_open(r->server, ZMQ_EVENT_ALL);
	bind_fresh(r->server, TCP, r->ep, sizeof r->ep);
}

/* rig_good_peer: a well-behaved zinc client gets in and its message through. */
static void
rig_good_peer(struct rig *r)
{
	void *c = sock_open(ZMQ_PUSH);
	sec_make_client(c, r->mech);
	CHECK_OK(zmq_connect(c, r->ep));
	send_str(c, "good", 0);
	sec_expect(r->mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	recv_str(r->server, "good");
	sock_close(c);
}

static void
rig_close(struct rig *r)
{
	(void)r;
	ctx_term_one(cs.ctx); /* wakes the handler thread with ETERM */
	threads_join();
}

/* refused: the raw connection is closed, the event is the expected one and nothing
 * came through. */
static void
refused(struct rig *r, int fd, int event, int value)
{
	if (!raw_closed(fd))
		TEST_FAIL("the server kept the connection");
	close(fd);
	sec_expect(r->mon, event, value);
	CHECK(!readable(r->server, 0));
}

#define PROTO ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL

/* ---- PLAIN ------------------------------------------------------------------------- */

static size_t
plain_hello(uint8_t *b, const char *user, const char *pass)
{
	size_t n = 0, ul = strlen(user), pl = strlen(pass);
	memcpy(b, "\x05HELLO", 6);
	n = 6;
	b[n++] = (uint8_t)ul;
	memcpy(b + n, user, ul);
	n += ul;
	b[n++] = (uint8_t)pl;
	memcpy(b + n, pass, pl);
	return n + pl;
}

/* plain_to_initiate: greeting, HELLO, WELCOME read: the server waits for INITIATE. */
static int
plain_to_initiate(struct rig *r)
{
	int fd = raw_connect(r->ep);
	raw_greet(fd, "PLAIN");
	uint8_t b[600];
	CHECK(raw_cmd(fd, b, plain_hello(b, "admin", "secret")));
	size_t n = raw_read_frame(fd, NULL, b, sizeof b);
	CHECK(n == 8 && memcmp(b, "\x07WELCOME", 8) == 0);
	return fd;
}

static void
plain_hello_sizes(void)
{
	struct rig r;
	rig_open(&r, SEC_PLAIN, false);
	/* No fields; a username longer than the command; a password short by one; one
	 * byte too many. */
	static const struct {
		const char *b;
		size_t n;
	} bad[] = {
	        {"\x05HELLO", 6},
	        {"\x05HELLO\x09"
	         "ad",
	         9},
	        {"\x05HELLO\x05"
	         "admin\x06"
	         "secre",
	         18},
	        {"\x05HELLO\x05"
	         "admin\x06"
	         "secretX",
	         20},
	        {"\x05HELLO\x05"
	         "admin",
	         12},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int fd = raw_connect(r.ep);
		raw_greet(fd, "PLAIN");
		CHECK(raw_cmd(fd, bad[i].b, bad[i].n));
		refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	}
	rig_good_peer(&r);
	rig_close(&r);
}

static void
plain_out_of_order(void)
{
	struct rig r;
	rig_open(&r, SEC_PLAIN, false);
	uint8_t b[600];
	/* INITIATE before HELLO; a misnamed HELLO; HELLO twice. */
	int fd = raw_connect(r.ep);
	raw_greet(fd, "PLAIN");
	CHECK(raw_cmd(fd, "\x08INITIATE", 9));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	fd = raw_connect(r.ep);
	raw_greet(fd, "PLAIN");
	size_t n = plain_hello(b, "admin", "secret");
	b[5] = 'X';
	CHECK(raw_cmd(fd, b, n));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	fd = raw_connect(r.ep);
	raw_greet(fd, "PLAIN");
	CHECK(raw_cmd(fd, "\x09HELLO", 6)); /* a name longer than the command */
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
	fd = plain_to_initiate(&r);
	CHECK(raw_cmd(fd, b, plain_hello(b, "admin", "secret")));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	/* A message before the handshake ended: libzmq hands it to the mechanism,
	 * which finds no command name in it. */
	fd = plain_to_initiate(&r);
	CHECK(raw_frame(fd, false, false, "sneaky", 6));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	rig_good_peer(&r);
	rig_close(&r);
}

static void
plain_bad_metadata(void)
{
	struct rig r;
	rig_open(&r, SEC_PLAIN, false);
	/* A property whose value runs past the command: as NULL and PLAIN do in libzmq,
	 * the connection ends without a handshake event. */
	int fd = plain_to_initiate(&r);
	uint8_t b[64];
	memcpy(b, "\x08INITIATE", 9);
	size_t n = 9 + push_props(b + 9);
	b[9 + 1 + 11 + 3] = 200; /* Socket-Type's length: 200 bytes, 4 are there */
	CHECK(raw_cmd(fd, b, n));
	if (!raw_closed(fd))
		TEST_FAIL("the server kept the connection");
	close(fd);
	int v;
	CHECK_EQ(sec_handshake_event(r.mon, 0, &v), 0);
	CHECK(!readable(r.server, 0));
	rig_good_peer(&r);
	rig_close(&r);
}

/* ---- CURVE: a raw CurveZMQ client ------------------------------------------------- */

#ifdef HAVE_SODIUM

struct curve_cli {
	uint8_t cpub[32], csec[32]; /* C, c */
	uint8_t spub[32];           /* S */
	uint8_t tpub[32], tsec[32]; /* C', c' */
	uint8_t stx[32];            /* S' */
	uint8_t cookie[96];
	uint8_t shared[32]; /* C'/S' */
	uint64_t nonce;     /* the next short nonce */
};

static void
cli_init(struct curve_cli *c)
{
	CHECK(zmq_z85_decode(c->cpub, sec_client_public));
	CHECK(zmq_z85_decode(c->csec, sec_client_secret));
	CHECK(zmq_z85_decode(c->spub, sec_server_public));
	crypto_box_keypair(c->tpub, c->tsec);
	c->nonce = 1;
}

static void
short_nonce(uint8_t n[24], const char *prefix, uint64_t v)
{
	memcpy(n, prefix, 16);
	for (int i = 0; i < 8; i++)
		n[16 + i] = (uint8_t)(v >> (56 - 8 * i));
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* cli_hello: the 200-byte HELLO. */
static void
cli_hello(struct curve_cli *c, uint8_t h[200])
{
	memset(h, 0, 200);
	memcpy(h, "\x05HELLO\x01\x00", 8);
	memcpy(h + 80, c->tpub, 32);
	uint64_t n = c->nonce++;
	put_be64(h + 112, n);
	uint8_t nonce[24], zero[64] = {0};
	short_nonce(nonce, "CurveZMQHELLO---", n);
	CHECK(crypto_box_easy(h + 120, zero, 64, nonce, c->spub, c->tsec) == 0);
}

/* cli_welcome: reads WELCOME and opens S' and the cookie. */
static void
cli_welcome(struct curve_cli *c, int fd)
{
	uint8_t w[168];
	CHECK_EQ(raw_read_frame(fd, NULL, w, sizeof w), 168);
	CHECK(memcmp(w, "\x07WELCOME", 8) == 0);
	uint8_t nonce[24], plain[128];
	memcpy(nonce, "WELCOME-", 8);
	memcpy(nonce + 8, w + 8, 16);
	CHECK(crypto_box_open_easy(plain, w + 24, 144, nonce, c->spub, c->tsec) == 0);
	memcpy(c->stx, plain, 32);
	memcpy(c->cookie, plain + 32, 96);
	CHECK(crypto_box_beforenm(c->shared, c->stx, c->tsec) == 0);
}

/* Ways to spoil an INITIATE. */
enum spoil { SP_NONE, SP_COOKIE, SP_BOX, SP_VOUCH_SIGNER, SP_VOUCH_KEY };

/* cli_initiate: the INITIATE carrying md (mdlen bytes) into a buffer the caller
 * frees; its size in *len. */
static uint8_t *
cli_initiate(struct curve_cli *c, enum spoil sp, const uint8_t *md, size_t mdlen,
             size_t *len)
{
	size_t plen = 32 + 96 + mdlen;
	uint8_t *plain = malloc(plen);
	uint8_t *cmd = malloc(113 + plen + 16);
	CHECK(plain && cmd);
	memcpy(plain, c->cpub, 32);
	/* The vouch: C' and S from c to S'. */
	uint8_t vn[24], vplain[64];
	uint8_t *vouch = plain + 32;
	randombytes_buf(vouch, 16);
	memcpy(vn, "VOUCH---", 8);
	memcpy(vn + 8, vouch, 16);
	memcpy(vplain, c->tpub, 32);
	memcpy(vplain + 32, c->spub, 32);
	if (sp == SP_VOUCH_KEY)
		vplain[0] ^= 1; /* names another transient key */
	uint8_t other_pub[32], other_sec[32];
	crypto_box_keypair(other_pub, other_sec);
	const uint8_t *signer = sp == SP_VOUCH_SIGNER ? other_sec : c->csec;
	CHECK(crypto_box_easy(vouch + 16, vplain, 64, vn, c->stx, signer) == 0);
	memcpy(plain + 128, md, mdlen);
	memcpy(cmd, "\x08INITIATE", 9);
	memcpy(cmd + 9, c->cookie, 96);
	uint64_t n = c->nonce++;
	put_be64(cmd + 105, n);
	uint8_t nonce[24];
	short_nonce(nonce, "CurveZMQINITIATE", n);
	CHECK(crypto_box_easy_afternm(cmd + 113, plain, plen, nonce, c->shared) == 0);
	if (sp == SP_COOKIE)
		cmd[9 + 40] ^= 1;
	if (sp == SP_BOX)
		cmd[113 + 20] ^= 1;
	free(plain);
	*len = 113 + plen + 16;
	return cmd;
}

static bool
cli_send_initiate(struct curve_cli *c, int fd, enum spoil sp)
{
	uint8_t md[64];
	size_t len;
	uint8_t *cmd = cli_initiate(c, sp, md, push_props(md), &len);
	bool ok = raw_cmd(fd, cmd, len);
	free(cmd);
	return ok;
}

/* cli_ready: reads READY and checks it opens. */
static void
cli_ready(struct curve_cli *c, int fd)
{
	uint8_t b[600];
	size_t n = raw_read_frame(fd, NULL, b, sizeof b);
	CHECK(n >= 30 && memcmp(b, "\x05READY", 6) == 0);
	uint8_t nonce[24];
	memcpy(nonce, "CurveZMQREADY---", 16);
	memcpy(nonce + 16, b + 6, 8);
	uint8_t plain[600];
	CHECK(crypto_box_open_easy_afternm(plain, b + 14, n - 14, nonce, c->shared) == 0);
}

/* cli_box: a MESSAGE with nonce n carrying the flags byte (MORE 1, COMMAND 2) and dl
 * bytes of data; its size. */
static size_t
cli_box(struct curve_cli *c, uint64_t n, uint8_t flags, const void *data, size_t dl,
        uint8_t *out)
{
	uint8_t plain[256];
	CHECK(dl < sizeof plain);
	plain[0] = flags;
	memcpy(plain + 1, data, dl);
	memcpy(out, "\x07MESSAGE", 8);
	put_be64(out + 8, n);
	uint8_t nonce[24];
	short_nonce(nonce, "CurveZMQMESSAGEC", n);
	CHECK(crypto_box_easy_afternm(out + 16, plain, 1 + dl, nonce, c->shared) == 0);
	return 16 + 16 + 1 + dl;
}

/* cli_message: a MESSAGE with nonce n carrying the string data; its size. */
static size_t
cli_message(struct curve_cli *c, uint64_t n, const char *data, uint8_t *out)
{
	return cli_box(c, n, 0, data, strlen(data), out);
}

/* curve_to_welcome: greeting and HELLO sent, WELCOME read. */
static int
curve_to_welcome(struct rig *r, struct curve_cli *c)
{
	cli_init(c);
	int fd = raw_connect(r->ep);
	raw_greet(fd, "CURVE");
	uint8_t h[200];
	cli_hello(c, h);
	CHECK(raw_cmd(fd, h, sizeof h));
	cli_welcome(c, fd);
	return fd;
}

/* curve_connected: a whole handshake; the server reports it succeeded. */
static int
curve_connected(struct rig *r, struct curve_cli *c)
{
	int fd = curve_to_welcome(r, c);
	CHECK(cli_send_initiate(c, fd, SP_NONE));
	cli_ready(c, fd);
	sec_expect(r->mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	return fd;
}

static bool
curve_skip(void)
{
	return !zmq_has("curve");
}

static void
curve_hello_sizes(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	static const size_t sizes[] = {6, 7, 8, 100, 199, 201, 255, 256, 1000};
	struct curve_cli c;
	cli_init(&c);
	uint8_t b[1000];
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(b, 0, sizeof b);
		cli_hello(&c, b); /* a real HELLO, cut or padded */
		int fd = raw_connect(r.ep);
		raw_greet(fd, "CURVE");
		CHECK(raw_cmd(fd, b, sizes[i]));
		refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	}
	/* Version 2.0. */
	cli_hello(&c, b);
	b[6] = 2;
	int fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	CHECK(raw_cmd(fd, b, 200));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	/* A misnamed one; a length byte longer than the command. */
	cli_hello(&c, b);
	b[5] = 'X';
	fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	CHECK(raw_cmd(fd, b, 200));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	CHECK(raw_cmd(fd, "\x09HELLO", 6));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
	rig_good_peer(&r);
	rig_close(&r);
}

static void
curve_hello_box(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli c;
	cli_init(&c);
	uint8_t h[200];
	/* A box that does not open: spoiled, or sealed for another server key. */
	cli_hello(&c, h);
	h[150] ^= 1;
	int fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	CHECK(raw_cmd(fd, h, sizeof h));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
	uint8_t other[32], other_sec[32];
	crypto_box_keypair(other, other_sec);
	memcpy(c.spub, other, 32);
	cli_hello(&c, h);
	fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	CHECK(raw_cmd(fd, h, sizeof h));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
	rig_good_peer(&r);
	rig_close(&r);
}

static void
curve_initiate_spoiled(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	static const struct {
		enum spoil sp;
		int code;
	} spoils[] = {
	        {SP_COOKIE, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC},
	        {SP_BOX, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC},
	        {SP_VOUCH_SIGNER, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC},
	        {SP_VOUCH_KEY, ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE},
	};
	struct curve_cli c;
	for (size_t i = 0; i < sizeof spoils / sizeof spoils[0]; i++) {
		int fd = curve_to_welcome(&r, &c);
		CHECK(cli_send_initiate(&c, fd, spoils[i].sp));
		refused(&r, fd, PROTO, spoils[i].code);
	}
	/* Too short by one byte. */
	int fd = curve_to_welcome(&r, &c);
	uint8_t md[64];
	size_t len;
	uint8_t *cmd = cli_initiate(&c, SP_NONE, md, 0, &len);
	CHECK_EQ(len, 257);
	CHECK(raw_cmd(fd, cmd, len - 1));
	free(cmd);
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE);
	rig_good_peer(&r);
	rig_close(&r);
}

/* curve_foreign_cookie: B's INITIATE carries A's cookie (boxed for B's S' so all but
 * the cookie is right): the cookie does not open with B's key. A then finishes with
 * its own cookie. */
static void
curve_foreign_cookie(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli a, b;
	int fa = curve_to_welcome(&r, &a);
	int fb = curve_to_welcome(&r, &b);
	memcpy(b.cookie, a.cookie, 96);
	CHECK(cli_send_initiate(&b, fb, SP_NONE));
	refused(&r, fb, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
	CHECK(cli_send_initiate(&a, fa, SP_NONE));
	cli_ready(&a, fa);
	sec_expect(r.mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	uint8_t m[64];
	CHECK(raw_frame(fa, false, false, m, cli_message(&a, a.nonce++, "from-a", m)));
	recv_str(r.server, "from-a");
	/* The cookie served once: INITIATE again (a stale cookie) is not taken, the box
	 * is not a MESSAGE. */
	CHECK(cli_send_initiate(&a, fa, SP_NONE));
	refused(&r, fa, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	rig_good_peer(&r);
	rig_close(&r);
}

/* curve_metadata: metadata longer than its box, and a 64 KiB property (libzmq's
 * CVE-2019-13132 overflowed the stack here; zinc bounds INITIATE's metadata at 64 KiB
 * and refuses more as a malformed INITIATE). */
static void
curve_metadata(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli c;
	int fd = curve_to_welcome(&r, &c);
	uint8_t md[64];
	size_t mdlen = push_props(md);
	md[1 + 11 + 3] = 200; /* the value claims 200 bytes */
	size_t len;
	uint8_t *cmd = cli_initiate(&c, SP_NONE, md, mdlen, &len);
	CHECK(raw_cmd(fd, cmd, len));
	free(cmd);
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
	size_t big = 65536 + 64;
	uint8_t *bigmd = malloc(big);
	CHECK(bigmd);
	size_t n = push_props(bigmd);
	uint8_t *value = calloc(1, 65536);
	CHECK(value);
	n += put_prop(bigmd + n, "X-Big", value, 65536);
	free(value);
	fd = curve_to_welcome(&r, &c);
	cmd = cli_initiate(&c, SP_NONE, bigmd, n, &len);
	free(bigmd);
	CHECK(raw_cmd(fd, cmd, len));
	free(cmd);
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE);
	rig_good_peer(&r);
	rig_close(&r);
}

static void
curve_out_of_order(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli c;
	cli_init(&c);
	/* INITIATE first. */
	int fd = raw_connect(r.ep);
	raw_greet(fd, "CURVE");
	uint8_t b[300];
	memset(b, 0, sizeof b);
	memcpy(b, "\x08INITIATE", 9);
	CHECK(raw_cmd(fd, b, 257));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	/* HELLO twice. */
	fd = curve_to_welcome(&r, &c);
	cli_hello(&c, b);
	CHECK(raw_cmd(fd, b, 200));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	/* A message where INITIATE should be. */
	fd = curve_to_welcome(&r, &c);
	CHECK(raw_frame(fd, false, false, "sneaky", 6));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	/* A MESSAGE box before READY. */
	fd = curve_to_welcome(&r, &c);
	CHECK(raw_cmd(fd, b, cli_message(&c, 5, "early", b)));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	rig_good_peer(&r);
	rig_close(&r);
}

/* curve_while_zap: commands sent while ZAP decides (a handler that never answers):
 * libzmq's server, waiting for the reply, calls any command unspecified. */
static void
curve_while_zap(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, true);
	struct curve_cli c;
	int fd = curve_to_welcome(&r, &c);
	CHECK(cli_send_initiate(&c, fd, SP_NONE));
	CHECK(cli_send_initiate(&c, fd, SP_NONE));
	refused(&r, fd, PROTO, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
	rig_close(&r);
}

/* curve_after_handshake: MESSAGE boxes that must end the connection: a replayed
 * nonce, a decreasing one, one that does not open, one too short, a command that is
 * not MESSAGE. libzmq reports each as HANDSHAKE_FAILED_PROTOCOL although the
 * handshake had succeeded. */
static void
curve_after_handshake(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli c;
	uint8_t m[64];
	enum { REPLAY, DECREASE, SPOILED, SHORT, NOT_MESSAGE, ONE_BYTE, N_BAD };
	static const int codes[N_BAD] = {
	        ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE,
	        ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE,
	        ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
	        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE,
	        ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
	        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
	};
	for (int bad = 0; bad < N_BAD; bad++) {
		int fd = curve_connected(&r, &c);
		/* One good message first (nonce 5: gaps are allowed). */
		c.nonce = 5;
		CHECK(raw_frame(fd, false, false, m,
		                cli_message(&c, c.nonce++, "ok", m)));
		recv_str(r.server, "ok");
		size_t n;
		switch (bad) {
		case REPLAY: n = cli_message(&c, 5, "again", m); break;
		case DECREASE: n = cli_message(&c, 4, "older", m); break;
		case SPOILED:
			n = cli_message(&c, c.nonce++, "spoiled", m);
			m[20] ^= 1;
			break;
		case SHORT: n = cli_message(&c, c.nonce++, "", m) - 1; break;
		case NOT_MESSAGE:
			n = cli_message(&c, c.nonce++, "x", m);
			memcpy(m, "\x07MESSAGX", 8);
			break;
		default: /* no room for the name its length byte announces */
			m[0] = 7;
			n = 1;
			break;
		}
		CHECK(raw_frame(fd, false, false, m, n));
		refused(&r, fd, PROTO, codes[bad]);
	}
	rig_good_peer(&r);
	rig_close(&r);
}

/* curve_pong_fails: the PONG that answers a peer's PING cannot be boxed (no memory
 * for it): the connection ends rather than leave the peer waiting for an answer that
 * was dropped. The allocations are counted: the PING's frame (56 bytes, the first
 * allocation after the hook is armed) and then the PONG's box (54 bytes; the PING's
 * plaintext and the PONG command fit inline in their messages). */
static void
curve_pong_fails(void)
{
	if (curve_skip())
		return;
	struct rig r;
	rig_open(&r, SEC_CURVE, false);
	struct curve_cli c;
	int fd = curve_connected(&r, &c);
	uint8_t ping[4 + 1 + 2 + 16] = "\x04PING\x00\x00"
	                               "context-16-bytes";
	uint8_t m[128];
	size_t n = cli_box(&c, c.nonce++, 2, ping, sizeof ping, m);
	CHECK_EQ(n, 56);
	zn_alloc_fail_after(2, 0);
	CHECK(raw_frame(fd, false, false, m, n));
	bool closed = raw_closed(fd);
	long failed = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	close(fd);
	CHECK_EQ(failed, 1);
	if (!closed)
		TEST_FAIL("the PONG was dropped and the connection kept");
	rig_good_peer(&r);
	rig_close(&r);
}

#endif /* HAVE_SODIUM */

/* ---- the pre-authentication flood -------------------------------------------------- */

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* flood: FLOOD_CONNS unauthenticated connections each announce a 1 GiB command and
 * send FLOOD_BYTES of it. zinc refuses any frame larger than a handshake command
 * before the handshake is over, so each is closed at its header and the memory they
 * cost stays flat (before, each kept what it had sent: 64 MiB in all). */
#define FLOOD_CONNS 64
#define FLOOD_BYTES (1 << 20)

static void
flood(enum sec_mech m)
{
	if (m == SEC_CURVE && !zmq_has("curve"))
		return;
	struct rig r;
	rig_open(&r, m, false);
	uint8_t *junk = calloc(1, FLOOD_BYTES);
	CHECK(junk);
	long before = rss_kib();
	int closed = 0;
	for (int i = 0; i < FLOOD_CONNS; i++) {
		int fd = raw_connect(r.ep);
		raw_greet(fd, m == SEC_PLAIN ? "PLAIN" : "CURVE");
		uint8_t h[9] = {0x06, 0, 0, 0, 0, 0x40, 0, 0, 0}; /* a 1 GiB command */
		bool sent = raw_send(fd, h, sizeof h) && raw_send(fd, junk, FLOOD_BYTES);
		(void)sent; /* the server may have closed already: that is the point */
		if (raw_closed(fd))
			closed++;
		close(fd);
		int v;
		CHECK_EQ(sec_handshake_event(r.mon, WAIT_MS, &v), PROTO);
	}
	long grown = rss_kib() - before;
	free(junk);
	CHECK_EQ(closed, FLOOD_CONNS);
	if (!quick && grown > 16 * 1024)
		TEST_FAIL("memory grew by %ld KiB during the flood", grown);
	rig_good_peer(&r);
	rig_close(&r);
}

static void
flood_plain(void)
{
	flood(SEC_PLAIN);
}

static void
flood_curve(void)
{
	flood(SEC_CURVE);
}

/* ---- the cases ----------------------------------------------------------------------
 */

ONE(plain_hello_sizes)
ONE(plain_out_of_order)
ONE(plain_bad_metadata)
ONE(flood_plain)
ONE(flood_curve)
#ifdef HAVE_SODIUM
ONE(curve_hello_sizes)
ONE(curve_hello_box)
ONE(curve_initiate_spoiled)
ONE(curve_foreign_cookie)
ONE(curve_metadata)
ONE(curve_out_of_order)
ONE(curve_while_zap)
ONE(curve_after_handshake)
ONE(curve_pong_fails)
#endif

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	        ONE_ENTRY(plain_hello_sizes),
	        ONE_ENTRY(plain_out_of_order),
	        ONE_ENTRY(plain_bad_metadata),
#ifdef HAVE_SODIUM
	        ONE_ENTRY(curve_hello_sizes),
	        ONE_ENTRY(curve_hello_box),
	        ONE_ENTRY(curve_initiate_spoiled),
	        ONE_ENTRY(curve_foreign_cookie),
	        ONE_ENTRY(curve_metadata),
	        ONE_ENTRY(curve_out_of_order),
	        ONE_ENTRY(curve_while_zap),
	        ONE_ENTRY(curve_after_handshake),
	        ONE_ENTRY(curve_pong_fails),
#endif
	        ONE_ENTRY(flood_plain),
	        ONE_ENTRY(flood_curve),
	        {NULL, NULL},
	};
	return transport_main(argc, argv, tests, 1024, 1024);
}
