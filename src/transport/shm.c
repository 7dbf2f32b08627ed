/*
 * shm.c: the shm:// transport, zinc's own: the greeting and handshake run over a
 * rendezvous Unix socket in a private directory, then the engine moves messages through
 * shared-memory rings (engine_shm.c, shm_ring.c) and the socket only tells the peer's
 * death. Memory is shared, so both sides accept only a process of their own user.
 * Stateless; the threads are transport.h's.
 */
#include "transport/address.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdio.h>

static int
shm_check(const char *spec)
{
	struct zn_sockaddr sa;
	return address_shm(spec, &sa);
}

static int
shm_resolve(const char *spec, const struct options *o, struct zn_sockaddr *addr,
            struct zn_sockaddr *src, bool *has_src)
{
	(void)o;
	(void)src;
	*has_src = false;
	return address_shm(spec, addr);
}

/* shm_bind_address: the rendezvous socket of the name. A live binder keeps its name
 * (-EADDRINUSE); a dead one's file is replaced. */
static int
shm_bind_address(const char *spec, const struct options *o, struct transport_bind *b)
{
	(void)o;
	int rc = address_shm(spec, &b->addr);
	if (rc < 0)
		return rc;
	if (zn_unix_alive(&b->addr) > 0)
		return -EADDRINUSE;
	zn_unlink(b->addr.u.un.sun_path);
	snprintf(b->path, sizeof b->path, "%s", b->addr.u.un.sun_path);
	return 0;
}

static int
shm_listen(const struct zn_sockaddr *a, const struct options *o, int *fd)
{
	return zn_listen(a, o->backlog, NULL, fd);
}

/* shm_endpoint: the URI given, not the rendezvous socket's path. */
static void
shm_endpoint(const struct transport_bind *b, int fd, char *out, size_t len)
{
	(void)fd;
	snprintf(out, len, "%s", b->uri);
}

static int
shm_connect(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
            const struct options *o, int *fd)
{
	(void)o;
	return zn_connect(dst, src, NULL, fd);
}

/* shm_admit: only a process of our own user, on either side (seed 002; the accept
 * filters do not apply). */
static bool
shm_admit(const struct accept_filters *f, int fd, const struct zn_sockaddr *peer)
{
	(void)f;
	(void)peer;
	return zn_peer_same_user(fd);
}

/* shm_engine: after the handshake the engine moves to shared memory. */
static int
shm_engine(struct engine **out, int fd, const struct options *o, const char *peer)
{
	return engine_new(out, fd, o, peer, true);
}

const struct transport_ops shm_transport = {
        .scheme = "shm",
        .check = shm_check,
        .resolve = shm_resolve,
        .bind_address = shm_bind_address,
        .listen = shm_listen,
        .endpoint = shm_endpoint,
        .connect = shm_connect,
        .admit = shm_admit,
        .peer_address = transport_peer_cred,
        .engine = shm_engine,
        .direct_roads = true,
};
