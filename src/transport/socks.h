/*
 * socks.h: the client side of a SOCKS5 proxy's handshake (RFC 1928), with RFC 1929's
 * username/password sub-negotiation, as libzmq 4.3 offers it with ZMQ_SOCKS_PROXY,
 * ZMQ_SOCKS_USERNAME and ZMQ_SOCKS_PASSWORD. It is pure: no fds, no clock. Whoever
 * holds the connection to the proxy sends what socks_output gives, reads at most
 * socks_input_want bytes at a time and feeds them to socks_input, until socks_done (the
 * connection now reaches the target) or an error. Reading no more than asked matters:
 * the bytes after the proxy's last reply are the target's, and belong to the engine.
 *
 * The exchange: greeting (one method: no authentication, or username/password when a
 * username is set, as libzmq); the proxy's choice; the credentials and their verdict
 * if it chose username/password; CONNECT to the target, whose host is sent as the
 * endpoint names it, never resolved here (IPv4 for a dotted quad, IPv6 for an IPv6
 * address, bracketed or not, otherwise DOMAINNAME); the proxy's reply.
 *
 * Threads: a struct socks belongs to one thread at a time (the I/O thread).
 */
#ifndef ZINC_TRANSPORT_SOCKS_H
#define ZINC_TRANSPORT_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKS_FIELD_MAX 255 /* a name, username or password: one length byte */

enum socks_step {
	SOCKS_SEND_GREETING,
	SOCKS_READ_CHOICE,
	SOCKS_SEND_AUTH,
	SOCKS_READ_AUTH,
	SOCKS_SEND_REQUEST,
	SOCKS_READ_REPLY,
	SOCKS_DONE,
	SOCKS_FAILED,
};

struct socks {
	enum socks_step step;
	int error;      /* why it failed (a negative errno), 0 otherwise */
	int reply;      /* the proxy's REP or RFC 1929 status when it refused, else 0 */
	uint8_t method; /* the method offered: 0x00 none, 0x02 username/password */
	/* The messages to send, built up front; out_done counts the current one's bytes
	 * already written. */
	uint8_t greeting[3];
	uint8_t auth[3 + 2 * SOCKS_FIELD_MAX];
	uint8_t request[4 + 1 + SOCKS_FIELD_MAX + 2];
	size_t auth_len, request_len, out_done;
	/* The proxy's message being read: the longest is a reply naming a domain. */
	uint8_t in[4 + 1 + SOCKS_FIELD_MAX + 2];
	size_t in_len;
};

/* socks_init: prepares the handshake for a CONNECT to target, a tcp endpoint's address
 * part, "host:port" ("[source;]" before it is ignored: the source, if any, belongs to
 * the connection to the proxy). A username of ulen > 0 bytes selects username/password
 * authentication with pass (plen bytes, possibly 0); user and pass may be NULL when
 * their length is 0. Returns 0, or -EINVAL: no port, port 0 or not a number, an empty
 * host or a name longer than 255 bytes, a username or password longer than 255 bytes.
 */
int socks_init(struct socks *s, const char *target, const void *user, size_t ulen,
               const void *pass, size_t plen);

/* socks_output: the bytes to send now (*data points into s), 0 when the handshake waits
 * for the proxy, is done or failed. */
size_t socks_output(const struct socks *s, const uint8_t **data);

/* socks_output_done: n of the bytes socks_output gave were written (n no more than it
 * gave); when all are, the handshake waits for the proxy's answer. */
void socks_output_done(struct socks *s, size_t n);

/* socks_input_want: how many bytes the next read may take: never more than the rest of
 * the proxy's current message. 0 when no input is expected now. */
size_t socks_input_want(const struct socks *s);

/* socks_input: n bytes read from the proxy (n <= socks_input_want). Returns 0 (go on:
 * read more, or send what socks_output now gives, or done), or the failure, after which
 * s stays failed:
 *   -EPROTO        not SOCKS5 (version byte), a method or address type we did not
 *                  offer or know, a reply too long for us, more bytes than asked;
 *   -EOPNOTSUPP    the proxy accepts none of the methods offered (0xFF);
 *   -EACCES        the proxy refused the username and password (s->reply: its status);
 *   -ECONNREFUSED  the proxy did not connect to the target (s->reply: its REP code,
 *                  e.g. 0x05 refused, 0x04 host unreachable). */
int socks_input(struct socks *s, const uint8_t *data, size_t n);

static inline bool
socks_done(const struct socks *s)
{
	return s->step == SOCKS_DONE;
}

#endif
