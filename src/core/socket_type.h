/*
 * socket_type.h: what the layers below the sockets know about a socket type, all in
 * one `const struct socket_type` record per type. Each record is defined beside its
 * type's ops table in src/socket/<type>.c (so one file says what a ROUTER is), and a
 * socket's options point to it (options.type): a session, an engine or a mechanism
 * tests a trait of the record, never a type number. Adding a socket type is one file
 * with its ops and its record, and one line in src/socket/socket_types.c.
 *
 * Threads: records are constant; any thread may read them.
 */
#ifndef ZINC_CORE_SOCKET_TYPE_H
#define ZINC_CORE_SOCKET_TYPE_H

#include <stdbool.h>
#include <stddef.h>

struct socket_type {
	int number;       /* its ZMQ_* number, as ZMQ_TYPE reports it */
	const char *name; /* ZMTP's Socket-Type ("PAIR", "ROUTER", ...) */
	/* peers: the Socket-Type names it may talk to (RFC 37 and the pattern RFCs),
	 * NULL-terminated; none for a STREAM, which speaks no ZMTP. */
	const char *const *peers;
	/* options: the options only some types take that this one takes (ROUTER's
	 * ZMQ_ROUTER_MANDATORY, ...), 0-terminated; see socket_type_takes_option. */
	const int *options;
	bool sends_routing_id;    /* READY carries Identity: its peers route by it */
	bool pipe_per_connection; /* a pipe per connection, made at the handshake: it
	                           * addresses each peer by routing id (ROUTER, STREAM) */
	bool raw;                 /* no ZMTP: bytes in and out as they come (STREAM) */
	bool subscribes;          /* its messages out are subscriptions (SUB, XSUB):
	                           * ZMTP 3.1 sends them as commands, and a new
	                           * connection needs them all again */
	bool direct_road;         /* may read and write shm:// rings from its own thread
	                           * when spinning: every ZMTP type (its routing,
	                           * filtering and envelopes run on each message as
	                           * ever; only the pipe's hop is replaced), not STREAM */
	bool conflate_on_recv;    /* the socket base applies ZMQ_CONFLATE as it receives
	                           * (PULL, DEALER, PAIR; SUB does its own) */
	bool linger_zero;         /* ZMQ_LINGER defaults to 0, not -1 (SUB, XSUB, as
	                           * in libzmq: a closing subscriber does not wait for
	                           * its subscriptions to reach a peer that may never
	                           * come, and bindings test for that default) */
};

/* socket_type_compatible: may a socket of type `mine` talk to a peer announcing
 * `peer` (len bytes, not NUL-terminated)? */
bool socket_type_compatible(const struct socket_type *mine, const char *peer, size_t len);

#endif
