/*
 * shm_link.h: one shm:// connection's shared memory as a refcounted object: the mapped
 * region, the ring writer and reader, and the two eventfds. The engine (I/O thread)
 * always holds a reference; with spinning on, the socket (any ZMTP type) also gets one
 * as the direct road of their pipe (pipe/direct.h), and then read and write the rings
 * from their own thread. The region stays mapped until both have let go, so neither can
 * touch unmapped memory whatever order they end in.
 *
 * Who uses what: before the hand-over the engine uses the writer and reader; once the
 * road is offered, the socket's thread is the only reader; once `handed` is set, the
 * only writer (pipe/direct.h tells the two-step hand-over: at_marker, ypipe_done). The
 * engine keeps polling `mine` and forwards each wake-up to the pipe (CMD_PIPE_WAKE).
 * `closed` (set by the engine when it ends) and `broken` (set by the socket's thread when
 * the peer broke the protocol; the engine then closes the connection) are the only state
 * both write.
 */
#ifndef ZINC_PROTO_SHM_LINK_H
#define ZINC_PROTO_SHM_LINK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "pipe/direct.h"
#include "pipe/msg.h"
#include "platform/signaler.h"
#include "proto/shm_ring.h"

struct shm_link {
	struct pipe_direct direct; /* the road's ops, for the pipe */
	atomic_uint refs;
	atomic_bool closed;     /* the engine has ended: nothing more will come or go */
	atomic_bool broken;     /* the socket's thread saw the peer break the protocol */
	atomic_bool at_marker;  /* the engine reached the socket end's hand-over marker */
	atomic_bool ypipe_done; /* ... and the socket end stopped writing its pipe */
	atomic_bool handed;     /* the socket's thread writes the ring now */
	struct shm_ring_region region;
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	struct signaler mine; /* raised by the peer: data or room for us */
	struct signaler peer; /* we raise it for the peer */
	struct metadata
	        *meta; /* the connection's properties, for messages read directly */
	bool in_armed, out_armed; /* the socket's thread asked for a wake-up */
};

/* shm_link_new: an empty link (no region, fds -1) with one reference. 0 or -ENOMEM. */
int shm_link_new(struct shm_link **out);
void shm_link_hold(struct shm_link *l);
/* shm_link_rele: drops a reference; the last one unmaps and closes everything. */
void shm_link_rele(struct shm_link *l);
/* shm_link_close: (the engine, as it ends) no more traffic; the road's user reads
 * what is left and lets go. */
void shm_link_close(struct shm_link *l);

#endif
