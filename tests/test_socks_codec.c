/*
 * test_socks_codec.c: the SOCKS5 client's state machine (src/transport/socks.c) without any
 * socket: the bytes of the greeting, the credentials and the CONNECT request for each
 * kind of target; the proxy's answers fed whole, byte by byte and in random splits,
 * never read past their end; partial writes; every refusal and malformation a proxy can
 * send, and random garbage, which must end in a failure and never past a buffer.
 */
#include <stdint.h>

#include "testutil.h"

#include "transport/socks.h"

/* A proxy that accepts without authentication and connects: choice, then a reply with
 * an IPv4 bound address. */
static const uint8_t choice_none[] = {5, 0};
static const uint8_t choice_userpass[] = {5, 2};
static const uint8_t auth_ok[] = {1, 0};
static const uint8_t reply_v4[] = {5, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39};
static const uint8_t reply_v6[] = {5, 0, 0, 4, 0, 0, 0, 0, 0, 0,    0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 1, 0x30, 0x39};
static const uint8_t reply_name[] = {5,   0,   0,   3,   9,   'l', 'o',  'c',
                                     'a', 'l', 'h', 'o', 's', 't', 0x30, 0x39};
static const uint8_t reply_empty_name[] = {5, 0, 0, 3, 0, 0x30, 0x39};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* take_output: everything the machine has to send now, written at once. */
static size_t
take_output(struct socks *s, uint8_t *buf, size_t cap)
{
	const uint8_t *d;
	size_t n = socks_output(s, &d);
	CHECK(n <= cap);
	if (n > 0) /* with nothing to send, d may be NULL */
		memcpy(buf, d, n);
	socks_output_done(s, n);
	return n;
}

static void
expect_output(struct socks *s, const uint8_t *want, size_t len)
{
	uint8_t buf[1024];
	size_t n = take_output(s, buf, sizeof buf);
	CHECK_EQ(n, len);
	CHECK(memcmp(buf, want, len) == 0);
}

/* feed: gives msg to the machine in pieces no larger than `chunk` (0: random sizes),
 * each no larger than it asks for, until it failed or took all of msg; returns the
 * last result. */
static int
feed(struct socks *s, const uint8_t *msg, size_t len, size_t chunk)
{
	size_t off = 0;
	int rc = 0;
	while (off < len) {
		size_t want = socks_input_want(s);
		CHECK(want > 0);
		size_t n = chunk ? chunk : 1 + rng() % want;
		if (n > want)
			n = want;
		if (n > len - off)
			n = len - off;
		rc = socks_input(s, msg + off, n);
		off += n;
		if (rc < 0)
			return rc;
	}
	return rc;
}

static void
init_ok(struct socks *s, const char *target)
{
	CHECK_EQ(socks_init(s, target, NULL, 0, NULL, 0), 0);
}

/* ---- what we send ------------------------------------------------------------------ */

static void
test_greeting_offers_no_auth(void)
{
	struct socks s;
	init_ok(&s, "127.0.0.1:5555");
	static const uint8_t g[] = {5, 1, 0};
	expect_output(&s, g, sizeof g);
	CHECK_EQ(socks_input_want(&s), 2);
	const uint8_t *d;
	CHECK_EQ(socks_output(&s, &d), 0); /* nothing more before the proxy answers */
}

static void
test_greeting_offers_userpass_with_username(void)
{
	struct socks s;
	CHECK_EQ(socks_init(&s, "127.0.0.1:5555", "someuser", 8, "pw", 2), 0);
	static const uint8_t g[] = {5, 1, 2};
	expect_output(&s, g, sizeof g);
	CHECK_EQ(feed(&s, choice_userpass, 2, 2), 0);
	static const uint8_t a[] = {1,   8,   's', 'o', 'm', 'e', 'u',
	                            's', 'e', 'r', 2,   'p', 'w'};
	expect_output(&s, a, sizeof a);
	CHECK_EQ(feed(&s, auth_ok, 2, 1), 0);
	static const uint8_t r[] = {5, 1, 0, 1, 127, 0, 0, 1, 0x15, 0xb3};
	expect_output(&s, r, sizeof r);
}

static void
test_empty_password_is_sent_empty(void)
{
	struct socks s;
	CHECK_EQ(socks_init(&s, "127.0.0.1:5555", "u", 1, NULL, 0), 0);
	uint8_t buf[64];
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, choice_userpass, 2, 2), 0);
	static const uint8_t a[] = {1, 1, 'u', 0};
	expect_output(&s, a, sizeof a);
}

/* request_for: the CONNECT request the machine sends for target. */
static size_t
request_for(const char *target, uint8_t *buf, size_t cap)
{
	struct socks s;
	init_ok(&s, target);
	uint8_t g[8];
	take_output(&s, g, sizeof g);
	CHECK_EQ(feed(&s, choice_none, 2, 2), 0);
	return take_output(&s, buf, cap);
}

static void
test_request_ipv4(void)
{
	uint8_t buf[300];
	static const uint8_t r[] = {5, 1, 0, 1, 10, 1, 2, 3, 0x00, 0x50};
	CHECK_EQ(request_for("10.1.2.3:80", buf, sizeof buf), sizeof r);
	CHECK(memcmp(buf, r, sizeof r) == 0);
}

static void
test_request_ipv6_bracketed_and_bare(void)
{
	uint8_t buf[300];
	static const uint8_t r[] = {5, 1, 0, 4, 0, 0, 0, 0, 0, 0,    0,
	                            0, 0, 0, 0, 0, 0, 0, 0, 1, 0x15, 0xb3};
	CHECK_EQ(request_for("[::1]:5555", buf, sizeof buf), sizeof r);
	CHECK(memcmp(buf, r, sizeof r) == 0);
	CHECK_EQ(request_for("::1:5555", buf, sizeof buf), sizeof r);
	CHECK(memcmp(buf, r, sizeof r) == 0);
	/* A zone means nothing to the proxy: the address goes without it. */
	static const uint8_t z[] = {5, 1, 0, 4, 0xfe, 0x80, 0, 0, 0, 0, 0,
	                            0, 0, 0, 0, 0,    0,    0, 0, 1, 0, 80};
	CHECK_EQ(request_for("[fe80::1%lo]:80", buf, sizeof buf), sizeof z);
	CHECK(memcmp(buf, z, sizeof z) == 0);
}

static void
test_request_name_is_not_resolved(void)
{
	uint8_t buf[300];
	static const uint8_t r[] = {5,   1,   0,   3,   10,  'l', 'o', 'c', 'a',
	                            'l', 'h', 'o', 's', 't', '.', 0,   21};
	/* "localhost." would resolve here; the proxy gets the name as written. */
	CHECK_EQ(request_for("localhost.:21", buf, sizeof buf), sizeof r);
	CHECK(memcmp(buf, r, sizeof r) == 0);
	/* Not a dotted quad: a name, for the proxy to make sense of. */
	CHECK_EQ(request_for("127.1:21", buf, sizeof buf), 4 + 1 + 5 + 2);
	CHECK_EQ(buf[3], 3);
}

static void
test_request_ignores_source(void)
{
	uint8_t buf[300];
	static const uint8_t r[] = {5, 1, 0, 1, 10, 1, 2, 3, 0x00, 0x50};
	CHECK_EQ(request_for("127.0.0.1:0;10.1.2.3:80", buf, sizeof buf), sizeof r);
	CHECK(memcmp(buf, r, sizeof r) == 0);
}

static void
test_longest_name_fits(void)
{
	char target[300];
	memset(target, 'a', 255);
	snprintf(target + 255, sizeof target - 255, ":65535");
	uint8_t buf[300];
	CHECK_EQ(request_for(target, buf, sizeof buf), 4 + 1 + 255 + 2);
	CHECK_EQ(buf[4], 255);
	CHECK_EQ(buf[4 + 1 + 255], 0xff);
	CHECK_EQ(buf[4 + 1 + 255 + 1], 0xff);
}

static void
test_bad_targets_and_credentials(void)
{
	struct socks s;
	static const char *bad[] = {"host", "host:", "host:0", "host:65536", "host:8x",
	                            ":80",  "[]:80", "h:-1",   NULL};
	for (int i = 0; bad[i]; i++)
		if (socks_init(&s, bad[i], NULL, 0, NULL, 0) != -EINVAL)
			TEST_FAIL("target \"%s\" accepted", bad[i]);
	char name[300];
	memset(name, 'a', 256);
	snprintf(name + 256, sizeof name - 256, ":80");
	CHECK_EQ(socks_init(&s, name, NULL, 0, NULL, 0), -EINVAL);
	char cred[256];
	memset(cred, 'u', sizeof cred);
	CHECK_EQ(socks_init(&s, "h:1", cred, 256, "p", 1), -EINVAL);
	CHECK_EQ(socks_init(&s, "h:1", "u", 1, cred, 256), -EINVAL);
	CHECK_EQ(socks_init(&s, "h:1", cred, 255, cred, 255), 0);
}

static void
test_partial_writes_resume(void)
{
	struct socks s;
	init_ok(&s, "example.org:443");
	const uint8_t *d;
	CHECK_EQ(socks_output(&s, &d), 3);
	socks_output_done(&s, 1);
	CHECK_EQ(socks_output(&s, &d), 2);
	CHECK_EQ(d[0], 1);
	CHECK_EQ(socks_input_want(&s), 0); /* not before the greeting is out */
	socks_output_done(&s, 2);
	CHECK_EQ(socks_input_want(&s), 2);
	CHECK_EQ(feed(&s, choice_none, 2, 2), 0);
	size_t total = socks_output(&s, &d);
	CHECK_EQ(total, 4 + 1 + 11 + 2);
	for (size_t i = 0; i < total; i++)
		socks_output_done(&s, 1);
	CHECK_EQ(socks_output(&s, &d), 0);
	CHECK_EQ(socks_input_want(&s), 5);
}

/* ---- what the proxy answers -------------------------------------------------------- */

/* to_reply: a machine at the point where it reads the reply to CONNECT. */
static void
to_reply(struct socks *s)
{
	init_ok(s, "127.0.0.1:5555");
	uint8_t buf[300];
	take_output(s, buf, sizeof buf);
	CHECK_EQ(feed(s, choice_none, 2, 2), 0);
	take_output(s, buf, sizeof buf);
}

static void
check_reply_all_splits(const uint8_t *reply, size_t len)
{
	for (size_t chunk = 0; chunk <= len; chunk++) {
		for (int round = 0; round < (chunk ? 1 : 20); round++) {
			struct socks s;
			to_reply(&s);
			CHECK_EQ(feed(&s, reply, len, chunk), 0);
			CHECK(socks_done(&s));
			CHECK_EQ(socks_input_want(&s), 0);
		}
	}
}

static void
test_replies_split_anywhere(void)
{
	check_reply_all_splits(reply_v4, sizeof reply_v4);
	check_reply_all_splits(reply_v6, sizeof reply_v6);
	check_reply_all_splits(reply_name, sizeof reply_name);
	check_reply_all_splits(reply_empty_name, sizeof reply_empty_name);
}

/* The target's first bytes (its ZMTP greeting) may arrive with the reply: the machine
 * asks for the reply's bytes only, whatever is behind them. */
static void
test_reply_never_reads_past_its_end(void)
{
	uint8_t stream[64];
	memcpy(stream, reply_name, sizeof reply_name);
	memset(stream + sizeof reply_name, 0xff, sizeof stream - sizeof reply_name);
	struct socks s;
	to_reply(&s);
	size_t off = 0;
	while (!socks_done(&s)) {
		size_t want = socks_input_want(&s);
		CHECK(want > 0);
		CHECK_EQ(socks_input(&s, stream + off, want), 0);
		off += want;
	}
	CHECK_EQ(off, sizeof reply_name);
}

static void
test_choice_none_acceptable(void)
{
	struct socks s;
	init_ok(&s, "h:1");
	uint8_t buf[64];
	take_output(&s, buf, sizeof buf);
	static const uint8_t no[] = {5, 0xff};
	CHECK_EQ(feed(&s, no, 2, 1), -EOPNOTSUPP);
	const uint8_t *d;
	CHECK_EQ(socks_output(&s, &d), 0);
	CHECK_EQ(socks_input_want(&s), 0);
	CHECK_EQ(socks_input(&s, no, 1), -EOPNOTSUPP); /* stays failed */
}

static void
test_choice_not_offered_or_not_socks5(void)
{
	struct socks s;
	uint8_t buf[64];
	init_ok(&s, "h:1");
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, choice_userpass, 2, 2), -EPROTO); /* we offered none */
	init_ok(&s, "h:1");
	take_output(&s, buf, sizeof buf);
	static const uint8_t v4[] = {4, 0};
	CHECK_EQ(feed(&s, v4, 2, 2), -EPROTO);
	CHECK_EQ(socks_init(&s, "h:1", "u", 1, "p", 1), 0);
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, choice_none, 2, 2), -EPROTO); /* we offered username/password */
}

static void
test_auth_refused(void)
{
	struct socks s;
	uint8_t buf[600];
	CHECK_EQ(socks_init(&s, "h:1", "u", 1, "p", 1), 0);
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, choice_userpass, 2, 2), 0);
	take_output(&s, buf, sizeof buf);
	static const uint8_t denied[] = {1, 1};
	CHECK_EQ(feed(&s, denied, 2, 1), -EACCES);
	CHECK_EQ(s.reply, 1);
	static const uint8_t wrong_version[] = {5, 0};
	CHECK_EQ(socks_init(&s, "h:1", "u", 1, "p", 1), 0);
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, choice_userpass, 2, 2), 0);
	take_output(&s, buf, sizeof buf);
	CHECK_EQ(feed(&s, wrong_version, 2, 2), -EPROTO);
}

static void
test_connect_refused_is_seen_at_once(void)
{
	for (int code = 1; code <= 0xff; code++) {
		struct socks s;
		to_reply(&s);
		uint8_t head[2] = {5, (uint8_t)code};
		/* Two bytes tell: no need to wait for the rest, which a refusing proxy
		 * may never send. */
		CHECK_EQ(feed(&s, head, 2, 1), -ECONNREFUSED);
		CHECK_EQ(s.reply, code);
		CHECK_EQ(socks_input_want(&s), 0);
	}
}

static void
test_reply_malformed(void)
{
	struct socks s;
	static const uint8_t v4[] = {4, 0, 0, 1};
	to_reply(&s);
	CHECK_EQ(feed(&s, v4, 1, 1), -EPROTO);
	static const uint8_t atyp[] = {5, 0, 0, 9};
	to_reply(&s);
	CHECK_EQ(feed(&s, atyp, sizeof atyp, 1), -EPROTO); /* seen at the 4th byte */
	static const uint8_t rsv[] = {5, 0, 1};
	to_reply(&s);
	CHECK_EQ(feed(&s, rsv, sizeof rsv, 1), -EPROTO);
	/* More than asked for is refused, not copied past the buffer. */
	uint8_t big[1024];
	memset(big, 5, sizeof big);
	to_reply(&s);
	CHECK_EQ(socks_input(&s, big, sizeof big), -EPROTO);
	to_reply(&s);
	CHECK_EQ(feed(&s, reply_v4, sizeof reply_v4, 0), 0);
	CHECK(socks_done(&s));
	CHECK_EQ(socks_input(&s, big, 1), -EPROTO); /* nothing expected after the end */
}

/* Random answers at every step: the machine ends failed or done, never asks for more
 * than its buffer, and never takes more than it asked for. */
static void
test_random_garbage(void)
{
	for (int round = 0; round < 20000; round++) {
		struct socks s;
		bool auth = rng() & 1;
		CHECK_EQ(
		        socks_init(&s, "host.example:9", auth ? "u" : NULL, auth, "p", 1),
		        0);
		int steps = 0;
		while (s.step != SOCKS_DONE && s.step != SOCKS_FAILED) {
			CHECK(++steps < 1000);
			uint8_t out[600];
			if (take_output(&s, out, sizeof out))
				continue;
			size_t want = socks_input_want(&s);
			CHECK(want > 0 && want <= sizeof s.in - s.in_len);
			uint8_t in[300];
			size_t n = 1 + rng() % want;
			/* Bias toward plausible bytes so that later steps are reached. */
			for (size_t i = 0; i < n; i++)
				in[i] = (rng() & 3) ? (uint8_t)(rng() % 6)
				                    : (uint8_t)rng();
			int rc = socks_input(&s, in, n);
			CHECK(rc == 0 || rc == s.error);
		}
	}
}

int
main(void)
{
	static const struct test tests[] = {
	        {"greeting offers no authentication", test_greeting_offers_no_auth},
	        {"a username selects username/password",
	         test_greeting_offers_userpass_with_username},
	        {"an empty password is sent empty", test_empty_password_is_sent_empty},
	        {"an IPv4 target is sent as IPv4", test_request_ipv4},
	        {"an IPv6 target is sent as IPv6, bracketed or not",
	         test_request_ipv6_bracketed_and_bare},
	        {"a name is sent unresolved", test_request_name_is_not_resolved},
	        {"the endpoint's source is not the target's",
	         test_request_ignores_source},
	        {"a 255-byte name fits", test_longest_name_fits},
	        {"bad targets and credentials are EINVAL",
	         test_bad_targets_and_credentials},
	        {"partial writes resume", test_partial_writes_resume},
	        {"replies split anywhere are read", test_replies_split_anywhere},
	        {"the reply is never read past its end",
	         test_reply_never_reads_past_its_end},
	        {"no acceptable method is EOPNOTSUPP", test_choice_none_acceptable},
	        {"a method not offered or not SOCKS5 is EPROTO",
	         test_choice_not_offered_or_not_socks5},
	        {"refused credentials are EACCES", test_auth_refused},
	        {"a refused CONNECT is seen at its second byte",
	         test_connect_refused_is_seen_at_once},
	        {"malformed replies are EPROTO", test_reply_malformed},
	        {"random garbage ends in a failure", test_random_garbage},
	        {NULL, NULL},
	};
	return test_main(tests);
}
