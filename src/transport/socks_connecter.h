/*
 * socks_connecter.h: runs a SOCKS5 handshake (transport/socks.h) over a connection to
 * the proxy, in an I/O thread, without ever blocking: it watches the fd in the thread's
 * poller, writes what the handshake has to send when the fd is writable, reads no more
 * than the handshake asks when it is readable, and reports the outcome once.
 *
 * It knows nothing of sessions: the tcp transport's prelude (tcp.c), for a connect on a
 * socket with ZMQ_SOCKS_PROXY set, hands it the fd once the TCP connection to the proxy
 * is up and gets the fd back, reaching the target, in the done callback.
 *
 * Threads: the I/O thread whose poller it is given, only.
 */
#ifndef ZINC_TRANSPORT_SOCKS_CONNECTER_H
#define ZINC_TRANSPORT_SOCKS_CONNECTER_H

#include <stddef.h>

#include "core/poller.h"

struct socks_connecter;

/* socks_done_fn: the outcome, called once from the I/O thread. rc 0: the connection
 * now reaches the target and fd is the caller's. rc < 0: the handshake failed (the
 * proxy refused, hung up, answered garbage or too late: socks_input's errors, plus
 * -ECONNRESET for an end of stream, -ETIMEDOUT, or the connection's error) and fd is
 * already closed (-1). In both cases the connecter is inert and its owner destroys it,
 * from inside the callback if it likes. */
typedef void (*socks_done_fn)(void *arg, int fd, int rc);

/* What the handshake needs: the target as the endpoint names it ("host:port") and the
 * credentials (ulen 0: no authentication). */
struct socks_params {
	const char *target;
	const void *user, *pass;
	size_t ulen, plen;
	int timeout_ms; /* <= 0: no limit */
};

/* socks_connecter_new: starts the handshake on fd, a connected TCP socket to the proxy,
 * in poller p. On 0 the connecter owns fd until it calls done. Fails with -EINVAL (a
 * target or credentials socks_init refuses) or -ENOMEM; then fd is still the caller's
 * and done is never called. */
int socks_connecter_new(struct socks_connecter **out, struct poller *p, int fd,
                        const struct socks_params *params, socks_done_fn done, void *arg);

/* socks_connecter_destroy: stops watching, closes the fd if still held (a handshake
 * in progress is abandoned without a callback), frees. NULL is ignored. */
void socks_connecter_destroy(struct socks_connecter *c);

#endif
