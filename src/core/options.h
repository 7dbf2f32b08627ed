/*
 * options.h: a socket's option values and the table that maps each ZMQ_* option number
 * to its field, type and limits, so zmq_setsockopt / zmq_getsockopt are one generic
 * routine instead of a switch per option. Options that act on the socket's state
 * (subscriptions, ZMQ_EVENTS, ...) are handled by the socket before the table.
 *
 * Threads: the socket's owner thread only.
 */
#ifndef ZINC_CORE_OPTIONS_H
#define ZINC_CORE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/socket_type.h"

#define OPTIONS_BLOB_MAX 256

struct options_blob {
	uint16_t len;
	unsigned char data[OPTIONS_BLOB_MAX];
};

struct options {
	const struct socket_type *type; /* the socket's type: never NULL */
	int sndhwm, rcvhwm;
	int linger;
	int sndtimeo, rcvtimeo;
	int reconnect_ivl, reconnect_ivl_max;
	int backlog;
	int rate, recovery_ivl, multicast_hops, multicast_maxtpdu;
	int sndbuf, rcvbuf;
	int ipv6, immediate;
	int tcp_keepalive, tcp_keepalive_cnt, tcp_keepalive_idle, tcp_keepalive_intvl;
	int tcp_maxrt;
	int tos;
	int handshake_ivl;
	int heartbeat_ivl, heartbeat_ttl, heartbeat_timeout;
	int connect_timeout;
	int conflate;
	int mechanism;
	int as_server; /* PLAIN/CURVE/GSSAPI server role */
	int gssapi_plaintext, gssapi_principal_nt, gssapi_service_principal_nt;
	int use_fd;
	int invert_matching;
	int router_mandatory, router_handover, router_raw, probe_router;
	int req_correlate, req_relaxed;
	int xpub_verbose, xpub_verboser, xpub_nodrop, xpub_manual;
	int stream_notify;
	int vmci_connect_timeout;
	int zap_enforce_domain, loopback_fastpath, multicast_loop; /* draft; no effect */
	uint64_t affinity;
	int64_t maxmsgsize;
	uint64_t vmci_buffer_size, vmci_buffer_min_size, vmci_buffer_max_size;
	struct options_blob routing_id;
	struct options_blob connect_routing_id;
	struct options_blob plain_username, plain_password;
	struct options_blob curve_public, curve_secret, curve_server;
	struct options_blob zap_domain;
	struct options_blob socks_proxy;
	struct options_blob socks_username, socks_password; /* draft, as in libzmq 4.3 */
	struct options_blob bindtodevice;
	struct options_blob gssapi_principal, gssapi_service_principal;
	struct options_blob xpub_welcome;
	char last_endpoint[OPTIONS_BLOB_MAX];
	/* zinc's own (include/zinc.h) */
	int shm_ring_size;
	int shm_spin_us;
	int shm_zerocopy;  /* ZINC_SHM_ZEROCOPY: 0 off, else the least body lent */
	int shm_pool_size; /* ZINC_SHM_POOL_SIZE */
};

/* options_pipe_per_connection: does a connecting socket get a new pipe for each
 * connection (made at the handshake, ended with it) rather than one pipe that queues
 * across reconnects? Yes with ZMQ_IMMEDIATE, and for sockets that address peers by
 * routing id, since each connection is a peer of its own. */
static inline int
options_pipe_per_connection(const struct options *o)
{
	return o->immediate || o->type->pipe_per_connection;
}

/* options_raw: do this socket's connections speak no ZMTP, bytes in and out as they
 * come? A STREAM's, and a ROUTER's with ZMQ_ROUTER_RAW (ZMQ_STREAM's deprecated
 * ancestor). */
static inline int
options_raw(const struct options *o)
{
	return o->type->raw || o->router_raw;
}

/* options_init: libzmq's defaults for a socket of this type. */
void options_init(struct options *o, const struct socket_type *type);
/* options_set: 0, -EINVAL (unknown option, bad size or value). */
int options_set(struct options *o, int option, const void *val, size_t len);
/* options_get: 0, -EINVAL. *len is updated to the value's size. */
int options_get(const struct options *o, int option, void *val, size_t *len);

#endif
