/*
 * socket_type.c: see socket_type.h.
 */
#include "proto/socket_type.h"
#include "zmq.h"

#include <string.h>

static const char *const type_names[] = {
        [ZMQ_PAIR] = "PAIR",     [ZMQ_PUB] = "PUB",   [ZMQ_SUB] = "SUB",
        [ZMQ_REQ] = "REQ",       [ZMQ_REP] = "REP",   [ZMQ_DEALER] = "DEALER",
        [ZMQ_ROUTER] = "ROUTER", [ZMQ_PULL] = "PULL", [ZMQ_PUSH] = "PUSH",
        [ZMQ_XPUB] = "XPUB",     [ZMQ_XSUB] = "XSUB", [ZMQ_STREAM] = "STREAM",
};

/* Each type's allowed peers, as a bit set of types. */
#define T(x) (1u << (x))
static const unsigned type_peers[] = {
        [ZMQ_PAIR] = T(ZMQ_PAIR),
        [ZMQ_PUB] = T(ZMQ_SUB) | T(ZMQ_XSUB),
        [ZMQ_SUB] = T(ZMQ_PUB) | T(ZMQ_XPUB),
        [ZMQ_REQ] = T(ZMQ_REP) | T(ZMQ_ROUTER),
        [ZMQ_REP] = T(ZMQ_REQ) | T(ZMQ_DEALER),
        [ZMQ_DEALER] = T(ZMQ_REP) | T(ZMQ_DEALER) | T(ZMQ_ROUTER),
        [ZMQ_ROUTER] = T(ZMQ_REQ) | T(ZMQ_DEALER) | T(ZMQ_ROUTER),
        [ZMQ_PULL] = T(ZMQ_PUSH),
        [ZMQ_PUSH] = T(ZMQ_PULL),
        [ZMQ_XPUB] = T(ZMQ_SUB) | T(ZMQ_XSUB),
        [ZMQ_XSUB] = T(ZMQ_PUB) | T(ZMQ_XPUB),
        [ZMQ_STREAM] = 0,
};

#define NTYPES ((int)(sizeof type_names / sizeof type_names[0]))

const char *
socket_type_name(int type)
{
	if (type < 0 || type >= NTYPES)
		return NULL;
	return type_names[type];
}

bool
socket_type_compatible(int mine, const char *peer, size_t len)
{
	if (mine < 0 || mine >= NTYPES)
		return false;
	for (int t = 0; t < NTYPES; t++) {
		const char *name = type_names[t];
		if (name && strlen(name) == len && memcmp(name, peer, len) == 0)
			return (type_peers[mine] & T(t)) != 0;
	}
	return false;
}
