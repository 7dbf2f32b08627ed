/*
 * accept_filter.h: which peers a bound endpoint lets in. tcp:// has
 * ZMQ_TCP_ACCEPT_FILTER, a list of networks in CIDR notation the peer's address must
 * belong to one of (tcp_filter.c); ipc:// has the deprecated ZMQ_IPC_FILTER_UID, _GID
 * and _PID, sets of credentials one of which the peer process must have (SO_PEERCRED,
 * ipc_filter.c). Empty means everyone, as in libzmq. A socket keeps the filters it was
 * given; each listener takes a copy of its transport's part at bind time, so later
 * changes apply to later binds only (as libzmq's options).
 *
 * Threads: the socket's thread sets and copies; the listener's I/O thread checks its
 * own copy.
 */
#ifndef ZINC_TRANSPORT_ACCEPT_FILTER_H
#define ZINC_TRANSPORT_ACCEPT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/net.h"

/* One ZMQ_TCP_ACCEPT_FILTER entry: a network and the length of its prefix. */
struct tcp_filter {
	bool v6;
	uint8_t bits; /* 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t addr[16];
};

enum ipc_filter_kind { IPC_FILTER_UID, IPC_FILTER_GID, IPC_FILTER_PID, IPC_FILTER_KINDS };

struct accept_filters {
	struct tcp_filter *tcp;
	uint32_t ntcp;
	struct {
		int64_t *ids;
		uint32_t n;
	} ipc[IPC_FILTER_KINDS];
};

/* tcp_filters_set: the ZMQ_TCP_ACCEPT_FILTER value: (NULL, 0) removes every filter;
 * otherwise text of 1..254 bytes, "address" or "address/bits" with a numeric IPv4
 * address (IPv6 too when ipv6, the ZMQ_IPV6 option, as libzmq's resolver), is added.
 * 0, -EINVAL (malformed, bits out of range or empty), -ENOMEM. */
int tcp_filters_set(struct accept_filters *f, const void *val, size_t len, bool ipv6);
/* tcp_filters_allow: whether a peer at this address may connect: no filter, or one
 * whose network holds the address (an IPv4-mapped IPv6 peer counts as IPv4). */
bool tcp_filters_allow(const struct accept_filters *f, const struct zn_sockaddr *peer);
/* tcp_filters_copy: dst (empty) gets src's tcp filters. 0 or -ENOMEM (dst empty). */
int tcp_filters_copy(struct accept_filters *dst, const struct accept_filters *src);
void tcp_filters_fini(struct accept_filters *f);

/* ipc_filters_set: a ZMQ_IPC_FILTER_* value: (NULL, 0) empties that set; otherwise an
 * id of the option's type (uid_t, gid_t, pid_t) is added. 0, -EINVAL, -ENOMEM. */
int ipc_filters_set(struct accept_filters *f, enum ipc_filter_kind k, const void *val,
                    size_t len);
/* ipc_filters_allow: whether the process at the other end of the Unix socket fd may
 * connect: no filter, or its uid is in the uid set, its gid (or a group that lists
 * its user as a member) in the gid set, or its pid in the pid set. May read the user
 * and group databases (as libzmq). An unknown peer is refused when filters exist. */
bool ipc_filters_allow(const struct accept_filters *f, int fd);
/* ipc_filters_copy: dst (empty) gets src's ipc filters. 0 or -ENOMEM (dst empty). */
int ipc_filters_copy(struct accept_filters *dst, const struct accept_filters *src);
void ipc_filters_fini(struct accept_filters *f);

#endif
