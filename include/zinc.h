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
 * Above 0, sockets without CURVE (any type but ZMQ_STREAM) also read and write the rings
 * from the application's thread. See zinc_shm(7). */
#define ZINC_SHM_SPIN_US 0x7a6e0002

#endif
