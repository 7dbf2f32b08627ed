/*
 * ipc.c: the ipc:// transport (zmq_ipc(7)): a Unix-domain stream socket named by a
 * path or, with "@name", a Linux abstract name. Endpoints are parsed by address.c,
 * ZMQ_IPC_FILTER_* kept by ipc_filter.c. Stateless; the threads are transport.h's.
 */
#include "transport/address.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdio.h>

static int
ipc_check(const char *spec)
{
	struct zn_sockaddr sa;
	return address_ipc(spec, &sa, NULL);
}

/* ipc_resolve: a connect goes to the literal path, "*" included, as in libzmq. */
static int
ipc_resolve(const char *spec, const struct options *o, struct zn_sockaddr *addr,
            struct zn_sockaddr *src, bool *has_src)
{
	(void)o;
	(void)src;
	*has_src = false;
	return address_ipc(spec, addr, NULL);
}

/* ipc_bind_address: a path, an abstract name, or "*" (a path of our own in a fresh
 * private directory). As libzmq, a socket file left by an earlier run is replaced. */
static int
ipc_bind_address(const char *spec, const struct options *o, struct transport_bind *b)
{
	(void)o;
	int rc = address_ipc(spec, &b->addr, &b->wildcard);
	if (rc < 0)
		return rc;
	if (b->wildcard)
		rc = address_ipc_wildcard(&b->addr, b->dir, sizeof b->dir);
	else if (b->addr.u.un.sun_path[0] != '\0')
		zn_unlink(b->addr.u.un.sun_path);
	if (rc == 0 &&
	    b->addr.u.un.sun_path[0] != '\0') /* abstract names leave no file */
		snprintf(b->path, sizeof b->path, "%s", b->addr.u.un.sun_path);
	return rc;
}

static int
ipc_listen(const struct zn_sockaddr *a, const struct options *o, int *fd)
{
	return zn_listen(a, o->backlog, NULL, fd);
}

static int
ipc_adopt(int fd)
{
	return zn_adopt_listener(fd, false);
}

/* ipc_endpoint: the address as given: getsockname would lose an abstract name's exact
 * length. An adopted socket's name is only known to the OS. */
static void
ipc_endpoint(const struct transport_bind *b, int fd, char *out, size_t len)
{
	if (b->adopted)
		transport_local_endpoint(b, fd, out, len);
	else if (zn_sockaddr_to_string(&b->addr, out, len) < 0)
		out[0] = '\0';
}

static int
ipc_connect(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
            const struct options *o, int *fd)
{
	(void)o;
	return zn_connect(dst, src, NULL, fd);
}

/* ipc_admit: ZMQ_IPC_FILTER_UID/GID/PID on accept; a connecting side checks nothing. */
static bool
ipc_admit(const struct accept_filters *f, int fd, const struct zn_sockaddr *peer)
{
	(void)peer;
	return !f || ipc_filters_allow(f, fd);
}

const struct transport_ops ipc_transport = {
        .scheme = "ipc",
        .check = ipc_check,
        .resolve = ipc_resolve,
        .bind_address = ipc_bind_address,
        .listen = ipc_listen,
        .adopt = ipc_adopt,
        .endpoint = ipc_endpoint,
        .connect = ipc_connect,
        .copy_filters = ipc_filters_copy,
        .admit = ipc_admit,
        .peer_address = transport_peer_cred,
        .engine = transport_stream_engine,
};
