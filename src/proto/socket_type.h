/*
 * socket_type.h: ZMTP's view of socket types: the names sent in the READY command's
 * Socket-Type property and which pairs may talk (RFC 37 and the pattern RFCs).
 */
#ifndef ZINC_PROTO_SOCKET_TYPE_H
#define ZINC_PROTO_SOCKET_TYPE_H

#include <stdbool.h>
#include <stddef.h>

/* socket_type_name: "PAIR", "PUB", ... or NULL for an unknown type. */
const char *socket_type_name(int type);
/* socket_type_compatible: may a socket of type `mine` talk to a peer announcing
 * `peer` (len bytes, not NUL-terminated)? */
bool socket_type_compatible(int mine, const char *peer, size_t len);

#endif
