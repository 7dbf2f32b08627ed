/*
 * raw_zmtp.h: a raw ZMTP client for the hostile-peer tests (test_security_hostile.c,
 * test_advisories.c): a plain tcp or ipc stream socket that speaks the bytes a case
 * chooses (greeting, frames, commands, properties) and reads what zinc answers. Every
 * read is bounded by WAIT_MS. Include after transport_util.h (security_util.h
 * includes it).
 */
#ifndef ZINC_RAW_ZMTP_H
#define ZINC_RAW_ZMTP_H

#include "transport_util.h"

#include <netinet/tcp.h>

/* raw_connect: a stream socket connected to ep (tcp://127.0.0.1:port or ipc://path),
 * with send and receive timeouts of WAIT_MS. */
static inline int
raw_connect(const char *ep)
{
	int fd;
	if (strncmp(ep, "ipc://", 6) == 0) {
		struct sockaddr_un a;
		memset(&a, 0, sizeof a);
		a.sun_family = AF_UNIX;
		size_t len = strlen(ep + 6);
		if (len >= sizeof a.sun_path)
			TEST_FAIL("ipc path too long: %s", ep);
		memcpy(a.sun_path, ep + 6, len + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(fd >= 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			close(fd);
			TEST_FAIL("connect %s: %s", ep, strerror(errno));
		}
	} else {
		const char *colon = strrchr(ep, ':');
		CHECK(colon);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(fd >= 0);
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)atoi(colon + 1));
		if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			close(fd);
			TEST_FAIL("connect %s: %s", ep, strerror(errno));
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	struct timeval tv = {WAIT_MS / 1000, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* raw_send: all of buf; false when the server has closed (EPIPE, reset). */
static inline bool
raw_send(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static inline void
raw_read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			TEST_FAIL("raw read: %s", r == 0 ? "EOF" : strerror(errno));
		p += r;
		n -= (size_t)r;
	}
}

/* raw_greeting: a 64-byte ZMTP 3.`minor` greeting for mechanism mech, as client. */
static inline void
raw_greeting(uint8_t g[64], const char *mech, int minor)
{
	memset(g, 0, 64);
	g[0] = 0xff;
	g[8] = 1;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = (uint8_t)minor;
	memcpy(g + 12, mech, strlen(mech));
}

/* raw_greet_minor: our greeting (ZMTP 3.minor, mechanism mech, as client), then the
 * server's, which must name the same mechanism. */
static inline void
raw_greet_minor(int fd, const char *mech, int minor)
{
	uint8_t g[64];
	raw_greeting(g, mech, minor);
	CHECK(raw_send(fd, g, sizeof g));
	uint8_t s[64];
	raw_read_all(fd, s, sizeof s);
	CHECK(s[0] == 0xff && s[9] == 0x7f && s[10] == 3);
	CHECK(memcmp(s + 12, mech, strlen(mech)) == 0);
}

/* raw_greet: as raw_greet_minor, speaking ZMTP 3.0. */
static inline void
raw_greet(int fd, const char *mech)
{
	raw_greet_minor(fd, mech, 0);
}

/* raw_frame_header: the header of a frame of n bytes (short or long form) into h;
 * its length. */
static inline size_t
raw_frame_header(uint8_t h[9], bool command, bool more, uint64_t n)
{
	uint8_t flags = (uint8_t)((command ? 4 : 0) | (more ? 1 : 0));
	if (n <= 255) {
		h[0] = flags;
		h[1] = (uint8_t)n;
		return 2;
	}
	h[0] = flags | 2;
	for (int i = 0; i < 8; i++)
		h[1 + i] = (uint8_t)(n >> (56 - 8 * i));
	return 9;
}

/* raw_frame: sends one frame (command or message) of n bytes, short or long form. */
static inline bool
raw_frame(int fd, bool command, bool more, const void *body, size_t n)
{
	uint8_t h[9];
	size_t hl = raw_frame_header(h, command, more, n);
	return raw_send(fd, h, hl) && raw_send(fd, body, n);
}

static inline bool
raw_cmd(int fd, const void *body, size_t n)
{
	return raw_frame(fd, true, false, body, n);
}

/* raw_read_frame: the next frame's body (up to cap bytes kept); its size. */
static inline size_t
raw_read_frame(int fd, uint8_t *flags, uint8_t *buf, size_t cap)
{
	uint8_t f, s8[8];
	raw_read_all(fd, &f, 1);
	size_t n;
	if (f & 2) {
		raw_read_all(fd, s8, 8);
		n = 0;
		for (int i = 0; i < 8; i++)
			n = (n << 8) | s8[i];
	} else {
		raw_read_all(fd, s8, 1);
		n = s8[0];
	}
	CHECK(n <= cap);
	raw_read_all(fd, buf, n);
	if (flags)
		*flags = f;
	return n;
}

/* raw_closed: the server ends the connection within WAIT_MS (whatever it still
 * writes first, an ERROR say, is read and dropped). */
static inline bool
raw_closed(int fd)
{
	long long end = test_now_ms() + WAIT_MS;
	uint8_t buf[4096];
	while (test_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		int left = (int)(end - test_now_ms());
		if (poll(&p, 1, left > 0 ? left : 0) <= 0)
			break;
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return true;
	}
	return false;
}

/* put_prop: a ZMTP property into p, announcing vlen bytes of value and copying
 * vlen_real of them (a lying length when they differ); its length. */
static inline size_t
put_prop_n(uint8_t *p, const char *name, const void *value, uint32_t vlen,
           size_t vlen_real)
{
	size_t nl = strlen(name);
	p[0] = (uint8_t)nl;
	memcpy(p + 1, name, nl);
	p[1 + nl] = (uint8_t)(vlen >> 24);
	p[2 + nl] = (uint8_t)(vlen >> 16);
	p[3 + nl] = (uint8_t)(vlen >> 8);
	p[4 + nl] = (uint8_t)vlen;
	if (vlen_real)
		memcpy(p + 5 + nl, value, vlen_real);
	return 5 + nl + vlen_real;
}

/* put_prop: a ZMTP property into p; its length. */
static inline size_t
put_prop(uint8_t *p, const char *name, const void *value, uint32_t vlen)
{
	return put_prop_n(p, name, value, vlen, vlen);
}

/* raw_hello: a NULL handshake as a ZMTP 3.minor `type` peer, the server's READY read. */
static inline void
raw_hello(int fd, const char *type, int minor)
{
	uint8_t props[64], buf[512], flags;
	raw_greet_minor(fd, "NULL", minor);
	size_t n = put_prop(props, "Socket-Type", type, (uint32_t)strlen(type));
	uint8_t ready[80] = "\5READY";
	memcpy(ready + 6, props, n);
	CHECK(raw_cmd(fd, ready, 6 + n));
	size_t got = raw_read_frame(fd, &flags, buf, sizeof buf);
	CHECK(flags & 4);
	CHECK(got >= 6 && memcmp(buf, "\5READY", 6) == 0);
}

#endif
