/*
 * zinc.h: zinc's own additions to the libzmq API. Option numbers sit far outside
 * libzmq's range, so they can never collide with a future libzmq option; libzmq itself
 * answers them with EINVAL.
 */
#ifndef ZINC_ZINC_H
#define ZINC_ZINC_H

#include "zmq.h"

/* shm:// (zmq_setsockopt / zmq_getsockopt, int). */

/* ZINC_SHM_RING_SIZE: bytes per direction of the shared-memory ring a connecting
 * socket creates; a power of two from 4096 to 256 MiB (default 4 MiB). Takes effect for
 * connections made after it is set. */
#define ZINC_SHM_RING_SIZE 0x7a6e0001

/* ZINC_SHM_SPIN_US: how long, in microseconds (0 to 1000000), a blocking send or
 * receive on a shm:// connection spins before it sleeps (default 0: sleep at once).
 * Above 0, sockets without CURVE (any type but ZMQ_STREAM) also write the rings only
 * from the application's thread, and a send may wait for room there. See zinc_shm(7). */
#define ZINC_SHM_SPIN_US 0x7a6e0002

/* ZINC_SHM_ZEROCOPY: zero-copy of large messages over shm:// (default 0: off). Above 0,
 * a message of at least that many bytes goes to a peer that sets it too without being
 * copied through the ring: its body lives in its context's shared pool (placed there
 * by zinc_msg_init_shm, or copied there once), and the peer's received message points
 * into it, read-only, until the peer closes it. See zinc_shm(7). */
#define ZINC_SHM_ZEROCOPY 0x7a6e0003

/* ZINC_SHM_POOL_SIZE: bytes of the context's pool of shared bodies (1 MiB to 1 GiB,
 * default 64 MiB), used when this socket is the context's first to need the pool. */
#define ZINC_SHM_POOL_SIZE 0x7a6e0004

/* zinc_msg_init_shm: initialises msg with room for size bytes, in the shared pool of
 * the socket's context when the socket has ZINC_SHM_ZEROCOPY on and the pool has room
 * (else as zmq_msg_init_size), so that sending it over shm:// copies nothing. It is an
 * ordinary message anywhere else. 0, or -1 with errno: ENOTSOCK (not a socket), ENOMEM.
 */
ZMQ_EXPORT int zinc_msg_init_shm(zmq_msg_t *msg, void *socket, size_t size);

#endif
