/*
 * tcp.c: the tcp:// transport (zmq_tcp(7)). Endpoints are parsed by address.c,
 * ZMQ_TCP_ACCEPT_FILTER is kept by tcp_filter.c; this file says how a tcp bind,
 * connect and connection differ from the other transports'. Stateless; the threads are
 * transport.h's.
 */
#include "transport/address.h"
#include "transport/socks_connecter.h"
#include "transport/transport.h"

#include <errno.h>
#include <string.h>

static int
tcp_check(const char *spec)
{
	return address_tcp_check(spec);
}

/* tcp_socks_proxy: the SOCKS5 proxy a connect goes through (ZMQ_SOCKS_PROXY), or
 * NULL. */
static const char *
tcp_socks_proxy(const struct options *o)
{
	return o->socks_proxy.len ? (const char *)o->socks_proxy.data : NULL;
}

/* tcp_resolve: the target, or through a SOCKS5 proxy the proxy, which the prelude
 * then asks for the target (by name: the proxy resolves it). */
static int
tcp_resolve(const char *spec, const struct options *o, struct zn_sockaddr *addr,
            struct zn_sockaddr *src, bool *has_src)
{
	const char *dial = tcp_socks_proxy(o) ? tcp_socks_proxy(o) : spec;
	return address_tcp(dial, false, o->ipv6 != 0, addr, src, has_src);
}

/* tcp_bind_address: "interface:port"; a port "*" or 0 is a wildcard (the OS picks). */
static int
tcp_bind_address(const char *spec, const struct options *o, struct transport_bind *b)
{
	int rc = address_tcp(spec, true, o->ipv6 != 0, &b->addr, NULL, NULL);
	if (rc == 0)
		b->wildcard = zn_sockaddr_port(&b->addr) == 0;
	return rc;
}

static int
tcp_listen(const struct zn_sockaddr *a, const struct options *o, int *fd)
{
	struct zn_tcp_opts t;
	transport_tcp_opts(o, &t);
	return zn_listen(a, o->backlog, &t, fd);
}

static int
tcp_adopt(int fd)
{
	return zn_adopt_listener(fd, true);
}

static int
tcp_connect(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
            const struct options *o, int *fd)
{
	struct zn_tcp_opts t;
	transport_tcp_opts(o, &t);
	return zn_connect(dst, src, &t, fd);
}

/* tcp_prelude: through a SOCKS5 proxy, its handshake (socks_connecter.h), bounded by
 * ZMQ_HANDSHAKE_IVL; otherwise nothing. */
static int
tcp_prelude(void **h, int fd, const char *spec, const struct options *o, struct poller *p,
            transport_done_fn done, void *arg)
{
	if (!tcp_socks_proxy(o))
		return 0;
	struct socks_params params = {
	        .target = spec,
	        .user = o->socks_username.data,
	        .ulen = o->socks_username.len,
	        .pass = o->socks_password.data,
	        .plen = o->socks_password.len,
	        .timeout_ms = o->handshake_ivl,
	};
	struct socks_connecter *sc;
	int rc = socks_connecter_new(&sc, p, fd, &params, done, arg);
	if (rc < 0)
		return rc;
	*h = sc;
	return 1;
}

static void
tcp_prelude_free(void *h)
{
	socks_connecter_destroy(h);
}

static void
tcp_tune(int fd, const struct options *o)
{
	struct zn_tcp_opts t;
	transport_tcp_opts(o, &t);
	(void)zn_tune_tcp(fd, &t); /* best effort, as libzmq */
}

/* tcp_admit: ZMQ_TCP_ACCEPT_FILTER on accept; a connecting side checks nothing. */
static bool
tcp_admit(const struct accept_filters *f, int fd, const struct zn_sockaddr *peer)
{
	(void)fd;
	return !f || tcp_filters_allow(f, peer);
}

/* tcp_peer_address: "tcp://1.2.3.4:5" -> "1.2.3.4" ("[::1]:5" -> "::1"), the
 * Peer-Address libzmq reports: the address alone. */
static void
tcp_peer_address(int fd, const struct zn_sockaddr *peer, char *out, size_t len)
{
	char full[ZN_ADDRSTRLEN];
	(void)fd;
	out[0] = '\0';
	if (zn_sockaddr_to_string(peer, full, sizeof full) < 0)
		return;
	const char *h = strstr(full, "://");
	h = h ? h + 3 : full;
	const char *colon = strrchr(h, ':');
	size_t n = colon ? (size_t)(colon - h) : strlen(h);
	if (n > 1 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

const struct transport_ops tcp_transport = {
        .scheme = "tcp",
        .check = tcp_check,
        .resolve = tcp_resolve,
        .bind_address = tcp_bind_address,
        .listen = tcp_listen,
        .adopt = tcp_adopt,
        .endpoint = transport_local_endpoint,
        .connect = tcp_connect,
        .prelude = tcp_prelude,
        .prelude_free = tcp_prelude_free,
        .tune = tcp_tune,
        .copy_filters = tcp_filters_copy,
        .admit = tcp_admit,
        .peer_address = tcp_peer_address,
        .engine = transport_stream_engine,
};
