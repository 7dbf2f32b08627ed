/*
 * transport.c: the scheme table (transport.h) and the pieces several transports share.
 * Constant data and stateless functions; any thread.
 */
#include "transport/transport.h"
#include "platform/net.h"

#include <stdio.h>
#include <string.h>

/* The transports, one file each. */
extern const struct transport_ops tcp_transport, ipc_transport, shm_transport;

const struct transport_ops transport_inproc = {.scheme = "inproc"};

static const struct transport_ops *const transport_table[] = {
        &tcp_transport,
        &ipc_transport,
        &shm_transport,
        &transport_inproc,
};

const struct transport_ops *
transport_find(const char *scheme, size_t len)
{
	size_t n = sizeof transport_table / sizeof transport_table[0];
	for (size_t i = 0; i < n; i++) {
		const char *name = transport_table[i]->scheme;
		if (strlen(name) == len && memcmp(name, scheme, len) == 0)
			return transport_table[i];
	}
	return NULL;
}

const struct transport_ops *
transport_of_uri(const char *uri)
{
	const char *sep = strstr(uri, "://");
	return sep ? transport_find(uri, (size_t)(sep - uri)) : NULL;
}

void
transport_tcp_opts(const struct options *o, struct zn_tcp_opts *t)
{
	memset(t, 0, sizeof *t);
	t->keepalive = o->tcp_keepalive;
	t->keepalive_cnt = o->tcp_keepalive_cnt;
	t->keepalive_idle = o->tcp_keepalive_idle;
	t->keepalive_intvl = o->tcp_keepalive_intvl;
	t->tos = o->tos;
	t->sndbuf = o->sndbuf;
	t->rcvbuf = o->rcvbuf;
	t->maxrt = o->tcp_maxrt;
	t->bindtodevice = o->bindtodevice.len ? (const char *)o->bindtodevice.data : NULL;
}

void
transport_local_endpoint(const struct transport_bind *b, int fd, char *out, size_t len)
{
	struct zn_sockaddr bound;
	if (zn_local_address(fd, &bound) < 0)
		bound = b->addr;
	if (zn_sockaddr_to_string(&bound, out, len) < 0)
		out[0] = '\0';
}

void
transport_peer_cred(int fd, const struct zn_sockaddr *peer, char *out, size_t len)
{
	(void)peer;
	if (zn_peer_cred_string(fd, out, len) < 0)
		out[0] = '\0';
}

int
transport_stream_engine(struct engine **out, int fd, const struct options *o,
                        const char *peer)
{
	return engine_new(out, fd, o, peer, false);
}
