/*
 * xpub.h: the publisher side shared by ZMQ_XPUB (xpub.c) and ZMQ_PUB (pub.c), the way
 * libzmq's pub derives from xpub: PUB is an XPUB that never receives and does not
 * delay its pipes' termination. Only pub.c includes this; everything else reaches
 * either type through its ops table.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#ifndef ZINC_SOCKET_XPUB_H
#define ZINC_SOCKET_XPUB_H

#include "socket/dist.h"
#include "socket/socket.h"
#include "socket/trie.h"

/* A (un)subscription or upstream message waiting for the XPUB application. */
struct xpub_note {
	struct msg msg;
	struct pipe
	        *pipe; /* where it came from (XPUB_MANUAL); NULL once that pipe ended */
};

struct xpub {
	struct socket base;
	struct dist dist;
	struct trie subs;        /* each pipe's subscriptions: what send filters on */
	struct trie manual_subs; /* XPUB_MANUAL: what each pipe asked for */
	struct xpub_note *notes; /* ring of notes for recv */
	uint32_t notes_head, notes_len, notes_cap;
	struct pipe *last_pipe; /* XPUB_MANUAL: the pipe of the last note received */
	bool is_pub;            /* ZMQ_PUB: nothing is queued for recv */
	bool verbose_subs;      /* XPUB_VERBOSE / VERBOSER */
	bool verbose_unsubs;    /* XPUB_VERBOSER */
	bool more_send;         /* sending a multipart message */
};

/* xpub_options: XPUB's own options (0-terminated), which a PUB takes too. */
extern const int xpub_options[];

/* The XPUB members of socket_ops, with their contracts (socket.h). */
int xpub_init(struct socket *s);
void xpub_fini(struct socket *s);
int xpub_attach_pipe(struct socket *s, struct pipe *p);
void xpub_read_activated(struct socket *s, struct pipe *p);
void xpub_write_activated(struct socket *s, struct pipe *p);
void xpub_pipe_terminated(struct socket *s, struct pipe *p);
int xpub_send(struct socket *s, struct msg *m);
void xpub_rollback(struct socket *s);
bool xpub_has_out(struct socket *s);
int xpub_setsockopt(struct socket *s, int option, const void *val, size_t len);

#endif
