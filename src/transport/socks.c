/*
 * socks.c: see socks.h. The three messages we send are built by socks_init; the
 * proxy's three answers are read into one buffer, whose expected length grows as their
 * fields tell it (a reply's address type and, for a domain, its length byte).
 */
#include "transport/socks.h"
#include "platform/net.h"

#include <errno.h>
#include <string.h>

#define SOCKS_VERSION      0x05
#define SOCKS_AUTH_VERSION 0x01 /* RFC 1929's sub-negotiation */
#define SOCKS_NO_AUTH      0x00
#define SOCKS_USER_PASS    0x02
#define SOCKS_NO_METHOD    0xff
#define SOCKS_CMD_CONNECT  0x01
#define SOCKS_ATYP_IPV4    0x01
#define SOCKS_ATYP_DOMAIN  0x03
#define SOCKS_ATYP_IPV6    0x04

/* socks_parse_port: "1".."65535", digits only; 0 when not a port (0 is none, as in
 * libzmq: a CONNECT to port 0 means nothing). */
static uint16_t
socks_parse_port(const char *p)
{
	unsigned long v = 0;
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return 0;
	}
	return (uint16_t)v;
}

/* socks_put_address: ATYP and DST.ADDR for host (len bytes) at p; the bytes written.
 * A numeric address is sent as one (an IPv6 zone is dropped: it means nothing on the
 * proxy's host); anything else is a name for the proxy to resolve. */
static size_t
socks_put_address(uint8_t *p, const char *host, size_t len)
{
	char text[SOCKS_FIELD_MAX + 1];
	memcpy(text, host, len);
	text[len] = '\0';
	uint8_t ip[16];
	if (zn_ip_literal(text, ip) == 4) {
		p[0] = SOCKS_ATYP_IPV4;
		memcpy(p + 1, ip, 4);
		return 5;
	}
	char *zone = strchr(text, '%');
	if (zone && strchr(text, ':'))
		*zone = '\0';
	if (zn_ip_literal(text, ip) == 16) {
		p[0] = SOCKS_ATYP_IPV6;
		memcpy(p + 1, ip, 16);
		return 17;
	}
	p[0] = SOCKS_ATYP_DOMAIN;
	p[1] = (uint8_t)len;
	memcpy(p + 2, host, len);
	return 2 + len;
}

/* socks_build_request: the CONNECT request for target "[source;]host:port". */
static int
socks_build_request(struct socks *s, const char *target)
{
	const char *semi = strrchr(target, ';');
	if (semi)
		target = semi + 1;
	const char *colon = strrchr(target, ':');
	if (!colon)
		return -EINVAL;
	uint16_t port = socks_parse_port(colon + 1);
	const char *host = target;
	size_t len = (size_t)(colon - target);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (port == 0 || len == 0 || len > SOCKS_FIELD_MAX)
		return -EINVAL;
	uint8_t *p = s->request;
	p[0] = SOCKS_VERSION;
	p[1] = SOCKS_CMD_CONNECT;
	p[2] = 0; /* reserved */
	size_t n = 3 + socks_put_address(p + 3, host, len);
	p[n++] = (uint8_t)(port >> 8);
	p[n++] = (uint8_t)(port & 0xff);
	s->request_len = n;
	return 0;
}

/* socks_build_auth: RFC 1929's request: version, then username and password, each
 * after its length byte. */
static void
socks_build_auth(struct socks *s, const void *user, size_t ulen, const void *pass,
                 size_t plen)
{
	uint8_t *p = s->auth;
	size_t n = 0;
	p[n++] = SOCKS_AUTH_VERSION;
	p[n++] = (uint8_t)ulen;
	memcpy(p + n, user, ulen);
	n += ulen;
	p[n++] = (uint8_t)plen;
	if (plen)
		memcpy(p + n, pass, plen);
	n += plen;
	s->auth_len = n;
}

int
socks_init(struct socks *s, const char *target, const void *user, size_t ulen,
           const void *pass, size_t plen)
{
	memset(s, 0, sizeof *s);
	if (ulen > SOCKS_FIELD_MAX || plen > SOCKS_FIELD_MAX)
		return -EINVAL;
	int rc = socks_build_request(s, target);
	if (rc < 0)
		return rc;
	s->method = ulen ? SOCKS_USER_PASS : SOCKS_NO_AUTH;
	if (ulen)
		socks_build_auth(s, user, ulen, pass, plen);
	s->greeting[0] = SOCKS_VERSION;
	s->greeting[1] = 1; /* one method offered */
	s->greeting[2] = s->method;
	s->step = SOCKS_SEND_GREETING;
	return 0;
}

size_t
socks_output(const struct socks *s, const uint8_t **data)
{
	const uint8_t *msg;
	size_t len;
	switch (s->step) {
	case SOCKS_SEND_GREETING:
		msg = s->greeting;
		len = sizeof s->greeting;
		break;
	case SOCKS_SEND_AUTH:
		msg = s->auth;
		len = s->auth_len;
		break;
	case SOCKS_SEND_REQUEST:
		msg = s->request;
		len = s->request_len;
		break;
	default: *data = NULL; return 0;
	}
	*data = msg + s->out_done;
	return len - s->out_done;
}

void
socks_output_done(struct socks *s, size_t n)
{
	const uint8_t *unused;
	size_t left = socks_output(s, &unused);
	if (n > left)
		n = left; /* a caller's slip must not walk past the message */
	s->out_done += n;
	if (n < left)
		return;
	s->out_done = 0;
	s->in_len = 0;
	if (s->step == SOCKS_SEND_GREETING)
		s->step = SOCKS_READ_CHOICE;
	else if (s->step == SOCKS_SEND_AUTH)
		s->step = SOCKS_READ_AUTH;
	else if (s->step == SOCKS_SEND_REQUEST)
		s->step = SOCKS_READ_REPLY;
}

/* socks_reply_len: the whole reply's length once its first 5 bytes are in (VER REP
 * RSV ATYP and the address's first byte, a domain's length), else 5; 0 for an address
 * type RFC 1928 does not define. */
static size_t
socks_reply_len(const struct socks *s)
{
	if (s->in_len < 5)
		return 5;
	switch (s->in[3]) {
	case SOCKS_ATYP_IPV4: return 4 + 4 + 2;
	case SOCKS_ATYP_IPV6: return 4 + 16 + 2;
	case SOCKS_ATYP_DOMAIN: return 4 + 1 + (size_t)s->in[4] + 2;
	default: return 0;
	}
}

size_t
socks_input_want(const struct socks *s)
{
	switch (s->step) {
	case SOCKS_READ_CHOICE:
	case SOCKS_READ_AUTH: return 2 - s->in_len;
	case SOCKS_READ_REPLY: {
		size_t total = socks_reply_len(s);
		return total > s->in_len ? total - s->in_len : 0;
	}
	default: return 0;
	}
}

static int
socks_fail(struct socks *s, int error, int reply)
{
	s->step = SOCKS_FAILED;
	s->error = error;
	s->reply = reply;
	return error;
}

/* socks_check_choice: the proxy's method selection, once both bytes are in. */
static int
socks_check_choice(struct socks *s)
{
	if (s->in[0] != SOCKS_VERSION)
		return socks_fail(s, -EPROTO, 0);
	if (s->in[1] == SOCKS_NO_METHOD)
		return socks_fail(s, -EOPNOTSUPP, 0);
	if (s->in[1] != s->method)
		return socks_fail(s, -EPROTO, 0); /* one we did not offer */
	s->step = s->method == SOCKS_USER_PASS ? SOCKS_SEND_AUTH : SOCKS_SEND_REQUEST;
	return 0;
}

/* socks_check_auth: RFC 1929's verdict: status 0 is success. */
static int
socks_check_auth(struct socks *s)
{
	if (s->in[0] != SOCKS_AUTH_VERSION)
		return socks_fail(s, -EPROTO, 0);
	if (s->in[1] != 0)
		return socks_fail(s, -EACCES, s->in[1]);
	s->step = SOCKS_SEND_REQUEST;
	return 0;
}

/* socks_check_reply: the reply to CONNECT, checked as far as it has arrived, so that a
 * refusal or garbage ends the handshake without waiting for the rest. Its bound
 * address (BND.ADDR, BND.PORT) is read and ignored, as libzmq does. */
static int
socks_check_reply(struct socks *s)
{
	if (s->in_len >= 1 && s->in[0] != SOCKS_VERSION)
		return socks_fail(s, -EPROTO, 0);
	if (s->in_len >= 2 && s->in[1] != 0)
		return socks_fail(s, -ECONNREFUSED, s->in[1]);
	if (s->in_len >= 3 && s->in[2] != 0)
		return socks_fail(s, -EPROTO,
		                  0); /* RSV must be 0 (RFC 1928; libzmq checks) */
	if (s->in_len >= 4 && s->in[3] != SOCKS_ATYP_IPV4 &&
	    s->in[3] != SOCKS_ATYP_IPV6 && s->in[3] != SOCKS_ATYP_DOMAIN)
		return socks_fail(s, -EPROTO, 0);
	if (s->in_len >= 5 && s->in_len == socks_reply_len(s))
		s->step = SOCKS_DONE;
	return 0;
}

int
socks_input(struct socks *s, const uint8_t *data, size_t n)
{
	if (s->step == SOCKS_FAILED)
		return s->error;
	if (n > socks_input_want(s))
		return socks_fail(s, -EPROTO, 0);
	if (n)
		memcpy(s->in + s->in_len, data, n);
	s->in_len += n;
	switch (s->step) {
	case SOCKS_READ_CHOICE: return s->in_len == 2 ? socks_check_choice(s) : 0;
	case SOCKS_READ_AUTH: return s->in_len == 2 ? socks_check_auth(s) : 0;
	case SOCKS_READ_REPLY: return socks_check_reply(s);
	default: return 0;
	}
}
